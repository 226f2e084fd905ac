package gguf

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// richFile holds one key of every scalar type, arrays of every element
// type, and tensors of several types, built by hand (v2, to cover it).
func richFile(t *testing.T) []byte {
	t.Helper()
	h := (&hb{}).head(2, 4, 21)
	h.kv("u8", TypeUint8).u8(200)
	h.kv("i8", TypeInt8).u8(0x80) // -128
	h.kv("u16", TypeUint16).u16(65535)
	h.kv("i16", TypeInt16).u16(0xFFFE) // -2
	h.kv("u32", TypeUint32).u32(4000000000)
	h.kv("i32", TypeInt32).u32(0xFFFFFFFF) // -1
	h.kv("f32", TypeFloat32).f32(0.1)
	h.kv("t", TypeBool).u8(1)
	h.kv("f", TypeBool).u8(0)
	h.kv("s", TypeString).str("héllo")
	h.kv("u64", TypeUint64).u64(math.MaxUint64)
	h.kv("i64", TypeInt64).u64(1 << 62)
	h.kv("f64", TypeFloat64).u64(math.Float64bits(0.1))
	h.kv("as", TypeArray).u32(uint32(TypeString)).u64(3).str("<unk>").str("").str("▁the")
	h.kv("af32", TypeArray).u32(uint32(TypeFloat32)).u64(2).f32(-1.5).f32(2)
	h.kv("af64", TypeArray).u32(uint32(TypeFloat64)).u64(1).u64(math.Float64bits(0.25))
	h.kv("ai32", TypeArray).u32(uint32(TypeInt32)).u64(3).u32(2).u32(3).u32(0xFFFFFFFA) // -6
	h.kv("au8", TypeArray).u32(uint32(TypeUint8)).u64(2).u8(6).u8(1)
	h.kv("au32big", TypeArray).u32(uint32(TypeUint32)).u64(1).u32(1 << 31)
	h.kv("ab", TypeArray).u32(uint32(TypeBool)).u64(0)
	h.kv("au64", TypeArray).u32(uint32(TypeUint64)).u64(1).u64(7)
	h.tensor("w", Q8_0, 0, 64, 2)        // 4 blocks of 34 bytes = 136
	h.tensor("iq", IQ2_XXS, 160, 256)    // one 66-byte block
	h.tensor("e", F16, 256, 0, 3)        // empty
	h.tensor("n", BF16, 256, 2, 1, 1, 1) // 4 bytes
	h.pad(32)
	for i := range 260 {
		h.u8(byte(i))
	}
	return h.b
}

func TestValueTypes(t *testing.T) {
	f, err := FromBytes("rich.gguf", richFile(t))
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 2 || len(f.KVs()) != 21 {
		t.Fatalf("version %d, %d keys", f.Version, len(f.KVs()))
	}
	for key, want := range map[string]uint64{"u8": 200, "u16": 65535, "u32": 4000000000, "u64": math.MaxUint64, "i64": 1 << 62} {
		if v, ok, err := f.Uint(key); v != want || !ok || err != nil {
			t.Errorf("Uint(%s) = %d %v %v, want %d", key, v, ok, err, want)
		}
	}
	for key, want := range map[string]int64{"i8": -128, "i16": -2, "i32": -1, "u32": 4000000000, "i64": 1 << 62} {
		if v, ok, err := f.Int(key); v != want || !ok || err != nil {
			t.Errorf("Int(%s) = %d %v %v, want %d", key, v, ok, err, want)
		}
	}
	for key, want := range map[string]float64{"f32": float64(float32(0.1)), "f64": 0.1, "u8": 200, "i8": -128} {
		if v, ok, err := f.Float(key); v != want || !ok || err != nil {
			t.Errorf("Float(%s) = %v %v %v, want %v", key, v, ok, err, want)
		}
	}
	if v, ok, err := f.Bool("t"); !v || !ok || err != nil {
		t.Errorf("Bool(t) = %v %v %v", v, ok, err)
	}
	if v, ok, err := f.Bool("f"); v || !ok || err != nil {
		t.Errorf("Bool(f) = %v %v %v", v, ok, err)
	}
	if v, ok, err := f.String("s"); v != "héllo" || !ok || err != nil {
		t.Errorf("String(s) = %q %v %v", v, ok, err)
	}
	if v, ok, err := f.Strings("as"); !slices.Equal(v, []string{"<unk>", "", "▁the"}) || !ok || err != nil {
		t.Errorf("Strings(as) = %q %v %v", v, ok, err)
	}
	if v, ok, err := f.Float32s("af32"); !slices.Equal(v, []float32{-1.5, 2}) || !ok || err != nil {
		t.Errorf("Float32s(af32) = %v %v %v", v, ok, err)
	}
	if v, ok, err := f.Float32s("af64"); !slices.Equal(v, []float32{0.25}) || !ok || err != nil {
		t.Errorf("Float32s(af64) = %v %v %v", v, ok, err)
	}
	if v, ok, err := f.Int32s("ai32"); !slices.Equal(v, []int32{2, 3, -6}) || !ok || err != nil {
		t.Errorf("Int32s(ai32) = %v %v %v", v, ok, err)
	}
	if v, ok, err := f.Int32s("au8"); !slices.Equal(v, []int32{6, 1}) || !ok || err != nil {
		t.Errorf("Int32s(au8) = %v %v %v", v, ok, err)
	}
	if v, _ := f.Get("ab"); v.Type() != TypeArray || v.ElemType() != TypeBool || v.Len() != 0 {
		t.Errorf("ab = %v %v %d", v.Type(), v.ElemType(), v.Len())
	}
	// Absent keys: not found, no error.
	if _, ok, err := f.Uint("llama.block_count"); ok || err != nil {
		t.Errorf("absent key: %v %v", ok, err)
	}
	// Descriptions for listings.
	for key, want := range map[string]string{
		"i8": "-128", "u64": "18446744073709551615", "f32": "0.1", "t": "true", "s": `"héllo"`,
		"as": `ARRAY[STRING](3) ["<unk>", "", "▁the"]`, "ab": "ARRAY[BOOL](0)", "af32": "ARRAY[FLOAT32](2) [-1.5, 2]",
	} {
		if v, _ := f.Get(key); v.String() != want {
			t.Errorf("%s.String() = %s, want %s", key, v.String(), want)
		}
	}
}

// Typed getters refuse values of the wrong type (or out of range) with a
// one-line error naming the file and the key.
func TestWrongTypes(t *testing.T) {
	f, err := FromBytes("rich.gguf", richFile(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		get  func() error
		want string
	}{
		{func() error { _, _, err := f.Uint("s"); return err }, `key "s" is STRING, want an unsigned integer`},
		{func() error { _, _, err := f.Uint("i32"); return err }, `key "i32" is -1, want an unsigned integer`},
		{func() error { _, _, err := f.Uint("f32"); return err }, `key "f32" is FLOAT32, want an unsigned integer`},
		{func() error { _, _, err := f.Int("u64"); return err }, `key "u64" is 18446744073709551615, too large for an int64`},
		{func() error { _, _, err := f.Int("as"); return err }, `key "as" is ARRAY[STRING], want an integer`},
		{func() error { _, _, err := f.Float("s"); return err }, `key "s" is STRING, want a number`},
		{func() error { _, _, err := f.Bool("u8"); return err }, `key "u8" is UINT8, want BOOL`},
		{func() error { _, _, err := f.String("u32"); return err }, `key "u32" is UINT32, want STRING`},
		{func() error { _, _, err := f.Strings("s"); return err }, `key "s" is STRING, want ARRAY[STRING]`},
		{func() error { _, _, err := f.Strings("ai32"); return err }, `key "ai32" is ARRAY[INT32], want ARRAY[STRING]`},
		{func() error { _, _, err := f.Float32s("ai32"); return err }, `key "ai32" is ARRAY[INT32], want ARRAY[FLOAT32]`},
		{func() error { _, _, err := f.Int32s("as"); return err }, `key "as" is ARRAY[STRING], want an array of integers`},
		{func() error { _, _, err := f.Int32s("au32big"); return err }, `key "au32big" element 0 (2147483648) does not fit an int32`},
	} {
		err := c.get()
		if err == nil {
			t.Errorf("no error, want %q", c.want)
			continue
		}
		checkOneLine(t, err, "rich.gguf: ", c.want)
	}
	// The canonical case of the brief: a count stored as a string.
	h := (&hb{}).head(3, 0, 1)
	h.kv("llama.block_count", TypeString).str("32")
	g, err := FromBytes("m.gguf", h.b)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := g.Uint("llama.block_count"); !ok || err == nil {
		t.Errorf("block_count as STRING: found %v, error %v", ok, err)
	} else {
		checkOneLine(t, err, "m.gguf: ", `key "llama.block_count" is STRING, want an unsigned integer`)
	}
}

// A known type gale does not compute with parses and lists, but its data
// are refused by TensorData (RawData still copies them).
func TestUnsupportedType(t *testing.T) {
	f, err := FromBytes("rich.gguf", richFile(t))
	if err != nil {
		t.Fatal(err)
	}
	iq, ok := f.Tensor("iq")
	if !ok || iq.Type != IQ2_XXS || iq.Size != 66 || iq.Type.Supported() || !iq.Type.Known() {
		t.Fatalf("iq = %+v", iq)
	}
	_, err = f.TensorData("iq")
	if err == nil {
		t.Fatal("IQ2_XXS data handed out")
	}
	checkOneLine(t, err, "rich.gguf: ", `tensor "iq": type IQ2_XXS is not supported by gale`)
	raw, err := f.RawData(&iq)
	if err != nil || len(raw) != 66 || raw[0] != 160 {
		t.Errorf("RawData(iq) = %d bytes starting %v, %v", len(raw), raw[:1], err)
	}
	w, _ := f.TensorData("w")
	if len(w) != 136 || w[0] != 0 || w[135] != 135 {
		t.Errorf("w = %d bytes", len(w))
	}
	e, err := f.TensorData("e")
	if err != nil || len(e) != 0 {
		t.Errorf("empty tensor: %d bytes, %v", len(e), err)
	}
	n, _ := f.Tensor("n")
	if !slices.Equal(n.Shape(), []int64{1, 1, 1, 2}) || n.Elements() != 2 || n.Size != 4 || n.RowBytes() != 4 {
		t.Errorf("n = %+v shape %v", n, n.Shape())
	}
	if _, err := f.TensorData("missing"); err == nil || !strings.Contains(err.Error(), `no tensor "missing"`) {
		t.Errorf("missing tensor: %v", err)
	}
	f.Close()
	if _, err := f.TensorData("w"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("after Close: %v", err)
	}
}

// The type table: ids, names and block layouts of ggml-common.h.
func TestTypeTable(t *testing.T) {
	want := []struct {
		id          GGMLType
		name        string
		elems, size int64
		supported   bool
	}{
		{0, "F32", 1, 4, true}, {1, "F16", 1, 2, true}, {2, "Q4_0", 32, 18, true}, {3, "Q4_1", 32, 20, true},
		{6, "Q5_0", 32, 22, true}, {7, "Q5_1", 32, 24, true}, {8, "Q8_0", 32, 34, true}, {9, "Q8_1", 32, 36, false},
		{10, "Q2_K", 256, 84, true}, {11, "Q3_K", 256, 110, true}, {12, "Q4_K", 256, 144, true},
		{13, "Q5_K", 256, 176, true}, {14, "Q6_K", 256, 210, true}, {15, "Q8_K", 256, 292, false},
		{16, "IQ2_XXS", 256, 66, false}, {17, "IQ2_XS", 256, 74, false}, {18, "IQ3_XXS", 256, 98, false},
		{19, "IQ1_S", 256, 50, false}, {20, "IQ4_NL", 32, 18, false}, {21, "IQ3_S", 256, 110, false},
		{22, "IQ2_S", 256, 82, false}, {23, "IQ4_XS", 256, 136, false}, {24, "I8", 1, 1, false},
		{25, "I16", 1, 2, false}, {26, "I32", 1, 4, false}, {27, "I64", 1, 8, false}, {28, "F64", 1, 8, false},
		{29, "IQ1_M", 256, 56, false}, {30, "BF16", 1, 2, true}, {34, "TQ1_0", 256, 54, false}, {35, "TQ2_0", 256, 66, false},
	}
	if got := Types(); len(got) != len(want) {
		t.Errorf("Types() has %d entries, want %d", len(got), len(want))
	}
	for _, w := range want {
		tr, ok := w.id.Traits()
		if !ok || tr.Name != w.name || tr.BlockElems != w.elems || tr.BlockBytes != w.size || tr.Supported != w.supported || w.id.String() != w.name {
			t.Errorf("type %d = %+v %v, want %+v", w.id, tr, ok, w)
		}
		if id, ok := TypeByName(w.name); !ok || id != w.id {
			t.Errorf("TypeByName(%s) = %d %v", w.name, id, ok)
		}
	}
	for _, id := range []GGMLType{4, 5, 31, 32, 33, 36, 37, 38, 39, 1 << 31} {
		if id.Known() || id.Supported() || id.String() != "type("+itoa(uint32(id))+")" {
			t.Errorf("removed/unknown type %d is known as %s", id, id)
		}
	}
}

func itoa(x uint32) string {
	if x < 10 {
		return string(rune('0' + x))
	}
	return itoa(x/10) + string(rune('0'+x%10))
}

// The zero Value (what Get returns for a missing key) decodes to errors,
// not a panic.
func TestZeroValue(t *testing.T) {
	var v Value
	if _, err := v.AsUint(); err == nil {
		t.Error("AsUint of the zero Value succeeded")
	}
	if _, err := v.AsStrings(); err == nil {
		t.Error("AsStrings of the zero Value succeeded")
	}
	if _, err := v.AsBool(); err == nil {
		t.Error("AsBool of the zero Value succeeded")
	}
	if v.String() != "invalid value" {
		t.Errorf("String() = %q", v.String())
	}
}
