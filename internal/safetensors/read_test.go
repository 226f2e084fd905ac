package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The fixtures are the tiny-mistral model of ../../testdata/models/ (see the README
// there). Expected values below were read from them with Python's struct and
// json modules, independently of this package.
const (
	fixtureBF16   = "../../testdata/models/tiny-mistral/bf16/model.safetensors"
	fixtureF16    = "../../testdata/models/tiny-mistral/f16/model.safetensors"
	fixtureNative = "../../testdata/models/tiny-mistral/native/consolidated.safetensors"
	fixtureLogits = "../../testdata/models/tiny-mistral/f16/logits.safetensors"
)

// raw assembles a safetensors file from a header text and a data section.
func raw(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func mustOpen(t *testing.T, path string) *File {
	t.Helper()
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func tensor(t *testing.T, f interface {
	Tensor(string) (*Tensor, bool)
}, name string) *Tensor {
	t.Helper()
	x, ok := f.Tensor(name)
	if !ok {
		t.Fatalf("tensor %q missing", name)
	}
	return x
}

func floats(t *testing.T, x *Tensor) []float32 {
	t.Helper()
	v, err := x.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenFixtureBF16(t *testing.T) {
	f := mustOpen(t, fixtureBF16)
	if f.Size() != 240368 {
		t.Errorf("Size = %d, want 240368", f.Size())
	}
	if f.Len() != 21 {
		t.Errorf("Len = %d, want 21", f.Len())
	}
	if got := f.Metadata["format"]; got != "pt" || len(f.Metadata) != 1 {
		t.Errorf("Metadata = %v, want map[format:pt]", f.Metadata)
	}
	names := f.Names()
	if len(names) != 21 || names[0] != "lm_head.weight" || names[20] != "model.norm.weight" {
		t.Fatalf("Names = %v", names)
	}
	lm := tensor(t, f, "lm_head.weight")
	if lm.DType != BF16 || !slices.Equal(lm.Shape, []int{256, 64}) || lm.NumElements() != 16384 || len(lm.Data) != 32768 {
		t.Errorf("lm_head.weight = %v with %d bytes", lm, len(lm.Data))
	}
	if lm.Offset != 8+2152 || lm.File != fixtureBF16 || !lm.Aligned() {
		t.Errorf("lm_head.weight: Offset %d File %q Aligned %v", lm.Offset, lm.File, lm.Aligned())
	}
	v := floats(t, lm)
	if v[0] != 0.10498046875 || v[1] != 0.04345703125 || v[2] != 0.08154296875 || v[len(v)-1] != -0.359375 {
		t.Errorf("lm_head.weight values %v ... %v", v[:3], v[len(v)-1])
	}
	norm := tensor(t, f, "model.norm.weight")
	v = floats(t, norm)
	if !slices.Equal(norm.Shape, []int{64}) || v[0] != 1.15625 || v[1] != 0.796875 || v[2] != 1.046875 || v[63] != 1.0859375 {
		t.Errorf("model.norm.weight %v values %v ... %v", norm.Shape, v[:3], v[63])
	}
	k := tensor(t, f, "model.layers.1.self_attn.k_proj.weight")
	if k.Offset != 8+2152+213504 || !slices.Equal(k.Shape, []int{32, 64}) {
		t.Errorf("k_proj: %v at %d", k, k.Offset)
	}
	want := []uint16{0xbe29, 0xbe13, 0x3e82, 0x3d2d}
	for i, w := range want {
		if g := binary.LittleEndian.Uint16(k.Data[2*i:]); g != w {
			t.Errorf("k_proj raw[%d] = %#x, want %#x", i, g, w)
		}
	}
	if _, ok := f.Tensor("model.layers.2.self_attn.k_proj.weight"); ok {
		t.Error("found a tensor that is not there")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestOpenFixtureNative(t *testing.T) {
	f := mustOpen(t, fixtureNative)
	if f.Len() != 21 || len(f.Metadata) != 0 {
		t.Fatalf("Len %d Metadata %v", f.Len(), f.Metadata)
	}
	names := f.Names()
	if names[0] != "layers.0.attention.wk.weight" || names[20] != "tok_embeddings.weight" {
		t.Errorf("Names = %v", names)
	}
	v := floats(t, tensor(t, f, "tok_embeddings.weight"))
	if len(v) != 256*64 || v[0] != 0.345703125 || v[1] != 0.8203125 || v[2] != 0.330078125 || v[len(v)-1] != -0.185546875 {
		t.Errorf("tok_embeddings values %v ... %v", v[:3], v[len(v)-1])
	}
	v = floats(t, tensor(t, f, "layers.0.attention.wk.weight"))
	if v[0] != -0.0242919921875 || v[1] != -0.12158203125 || v[2] != -0.06201171875 || v[len(v)-1] != -0.13671875 {
		t.Errorf("wk values %v ... %v", v[:3], v[len(v)-1])
	}
}

func TestOpenFixtureLogits(t *testing.T) {
	f := mustOpen(t, fixtureLogits)
	x := tensor(t, f, "logits")
	if x.DType != F32 || !slices.Equal(x.Shape, []int{40, 256}) {
		t.Fatalf("logits = %v", x)
	}
	v := floats(t, x)
	if v[0] != -1.2121676206588745 || v[1] != 3.558762550354004 || v[2] != 1.9194623231887817 || v[40*256-1] != 0.8714187145233154 {
		t.Errorf("logits %v ... %v", v[:3], v[len(v)-1])
	}
}

// The same random model stored as F16 and BF16 by the fixture generator: the
// F16 decoding must give the BF16 values up to F16 rounding.
func TestFixtureF16MatchesBF16(t *testing.T) {
	a, b := mustOpen(t, fixtureBF16), mustOpen(t, fixtureF16)
	if !equalStrings(a.Names(), b.Names()) {
		t.Fatalf("names differ: %v vs %v", a.Names(), b.Names())
	}
	exact, total := 0, 0
	for _, name := range a.Names() {
		x, y := floats(t, tensor(t, a, name)), floats(t, tensor(t, b, name))
		if tensor(t, b, name).DType != F16 || len(x) != len(y) {
			t.Fatalf("%s: %v vs %v", name, tensor(t, a, name), tensor(t, b, name))
		}
		for i := range x {
			total++
			if x[i] == y[i] {
				exact++
				continue
			}
			// F16 keeps 10 mantissa bits (BF16 has 7), so a difference
			// can only come from F16's smaller exponent range:
			// subnormal spacing 2^-24.
			if d := math.Abs(float64(x[i] - y[i])); d > 0x1p-24 {
				t.Errorf("%s[%d]: bf16 %g f16 %g", name, i, x[i], y[i])
			}
		}
	}
	if total != 119104 || exact < total-10 {
		t.Errorf("%d of %d values equal", exact, total)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// IEEE 754 binary16 values with their exact float32 equivalents.
func TestF16ToF32(t *testing.T) {
	cases := []struct {
		h uint16
		f float32
	}{
		{0x0000, 0}, {0x3c00, 1}, {0xbc00, -1}, {0x4000, 2}, {0x3800, 0.5},
		{0x7bff, 65504}, {0x0400, 0x1p-14}, {0x0001, 0x1p-24}, {0x03ff, 1023 * 0x1p-24},
		{0x8001, -0x1p-24}, {0x3555, 0.333251953125},
		{0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
	}
	for _, c := range cases {
		if g := f16ToF32(c.h); g != c.f {
			t.Errorf("f16ToF32(%#04x) = %g, want %g", c.h, g, c.f)
		}
	}
	if g := f16ToF32(0x8000); g != 0 || !math.Signbit(float64(g)) {
		t.Errorf("f16ToF32(0x8000) = %g, want -0", g)
	}
	if g := f16ToF32(0x7e00); !math.IsNaN(float64(g)) {
		t.Errorf("f16ToF32(0x7e00) = %g, want NaN", g)
	}
}

func TestFromBytesValid(t *testing.T) {
	data := make([]byte, 24)
	for i := range data {
		data[i] = byte(i)
	}
	// A scalar, an empty tensor, a gap (bytes 8..12 unused) and trailing
	// bytes are all legal.
	h := `{"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},` +
		`"e":{"dtype":"BF16","shape":[3,0],"data_offsets":[4,4]},` +
		`"b":{"dtype":"U8","shape":[2,2],"data_offsets":[4,8]},` +
		`"i":{"dtype":"I64","shape":[1],"data_offsets":[12,20],"extra":"ignored"},` +
		`"__metadata__":{"k":"v","a":"<&>"}}`
	f, err := FromBytes("mem", raw(h, data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Names(); !equalStrings(got, []string{"s", "e", "b", "i"}) {
		t.Errorf("Names = %v", got)
	}
	if f.Metadata["k"] != "v" || f.Metadata["a"] != "<&>" {
		t.Errorf("Metadata = %v", f.Metadata)
	}
	s := tensor(t, f, "s")
	if s.NumElements() != 1 || !bytes.Equal(s.Data, []byte{0, 1, 2, 3}) || s.Offset != int64(8+len(h)) {
		t.Errorf("scalar = %v %v at %d", s, s.Data, s.Offset)
	}
	e := tensor(t, f, "e")
	if e.NumElements() != 0 || len(e.Data) != 0 || !e.Aligned() {
		t.Errorf("empty = %v %v", e, e.Data)
	}
	if b := tensor(t, f, "b"); !bytes.Equal(b.Data, []byte{4, 5, 6, 7}) {
		t.Errorf("b = %v", b.Data)
	}
	if i := tensor(t, f, "i"); !bytes.Equal(i.Data, data[12:20]) {
		t.Errorf("i = %v", i.Data)
	}
	if _, err := i64(f).Float32s(); err == nil {
		t.Error("Float32s of I64: no error")
	}

	// The smallest file: an empty header object and no data.
	f, err = FromBytes("empty", raw("{}", nil))
	if err != nil || f.Len() != 0 || f.Size() != 10 {
		t.Fatalf("{}: %v, %v", f, err)
	}
	f, err = FromBytes("null-meta", raw(`{"__metadata__":null}  `, nil))
	if err != nil || f.Len() != 0 || len(f.Metadata) != 0 {
		t.Fatalf("null metadata: %v", err)
	}
}

func i64(f *File) *Tensor { x, _ := f.Tensor("i"); return x }

// Misaligned data must be reported by Aligned, so callers know to copy.
func TestAligned(t *testing.T) {
	h := `{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}}`
	for len(h)%8 != 0 {
		h += " "
	}
	buf := make([]byte, 8+len(h)+9+8)
	// Place the file so that its start is 8-aligned in memory.
	base := buf
	for uintptrOf(base)%8 != 0 {
		base = base[1:]
	}
	file := base[:copy(base, raw(h, make([]byte, 9)))]
	f, err := FromBytes("mis", file)
	if err != nil {
		t.Fatal(err)
	}
	if a := tensor(t, f, "a"); !a.Aligned() {
		t.Error("U8 tensor reported misaligned")
	}
	if b := tensor(t, f, "b"); b.Aligned() || b.Offset != int64(8+len(h)+1) {
		t.Errorf("F32 at data offset 1: Aligned %v Offset %d", b.Aligned(), b.Offset)
	}
}

func TestOpenErrorsOnDisk(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing.safetensors")); err == nil || !strings.Contains(err.Error(), "missing.safetensors") || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
	// Every in-memory error case must give the same error through Open.
	for _, c := range errorCases {
		p := filepath.Join(dir, c.name+".safetensors")
		if err := os.WriteFile(p, c.data(), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Open(p)
		checkErr(t, c.name, err, append([]string{p}, c.want...))
	}
}

// Truncating a real checkpoint anywhere gives an error naming the file, and
// inside the data section one naming the first tensor that no longer fits.
func TestTruncatedFixture(t *testing.T) {
	full, err := os.ReadFile(fixtureBF16)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cases := []struct {
		n    int
		want []string
	}{
		{0, []string{"empty file"}},
		{5, []string{"too short"}},
		{8, []string{"header length 2152 exceeds the file (0 bytes"}},
		{1000, []string{"header length 2152 exceeds the file"}},
		{8 + 2152, []string{`tensor "`, "run past the end of the data section (0 bytes"}},
		{len(full) - 1, []string{`tensor "model.norm.weight": data_offsets [238080 238208] run past the end of the data section (238207 bytes`}},
	}
	for _, c := range cases {
		p := filepath.Join(dir, "trunc.safetensors")
		if err := os.WriteFile(p, full[:c.n], 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Open(p)
		checkErr(t, "truncated", err, append([]string{p}, c.want...))
	}
}

func checkErr(t *testing.T, name string, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", name)
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not contain %q", name, err, w)
		}
	}
}

type errorCase struct {
	name string
	data func() []byte
	want []string // substrings of the error, besides the file name
}

func hdr(h string, dataLen int) func() []byte {
	return func() []byte { return raw(h, make([]byte, dataLen)) }
}

func rawLen(n uint64, rest string) func() []byte {
	return func() []byte {
		b := binary.LittleEndian.AppendUint64(nil, n)
		return append(b, rest...)
	}
}

var errorCases = []errorCase{
	{"empty", func() []byte { return nil }, []string{"empty file (0 bytes)"}},
	{"short", func() []byte { return []byte{2, 0, 0} }, []string{"3 bytes, too short"}},
	{"len-zero", rawLen(0, "{}"), []string{"header length 0 is too small"}},
	{"len-one", rawLen(1, "{}"), []string{"header length 1 is too small"}},
	{"len-past-file", rawLen(100, "{}"), []string{"header length 100 exceeds the file (2 bytes"}},
	{"len-huge", rawLen(1<<62, "{}"), []string{"exceeds the 100000000-byte limit"}},
	{"json-malformed", hdr(`{"a":{"dtype":"F32",`, 0), []string{"header: malformed JSON"}},
	{"json-array", hdr(`[1,2]`, 0), []string{"header: not a JSON object"}},
	{"json-trailing", hdr(`{}{}`, 0), []string{"header: malformed JSON: data after the top-level object"}},
	{"json-trailing-garbage", hdr(`{} x`, 0), []string{"header: malformed JSON"}},
	{"json-nul-padding", hdr("{}\x00\x00", 0), []string{"header: malformed JSON"}},
	{"json-not-utf8", hdr("{\"\xff\":1}", 0), []string{"header is not valid UTF-8"}},
	{"json-deep", func() []byte {
		return raw(`{"a":`+strings.Repeat("[", 200000)+strings.Repeat("]", 200000)+"}", nil)
	}, []string{"header: malformed JSON"}},
	{"duplicate-tensor", hdr(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2),
		[]string{`header: duplicate tensor "w"`}},
	{"duplicate-metadata", hdr(`{"__metadata__":{},"__metadata__":{}}`, 0), []string{"duplicate __metadata__"}},
	{"metadata-not-string", hdr(`{"__metadata__":{"n":1}}`, 0), []string{`__metadata__["n"] is 1, want a string`}},
	{"metadata-not-object", hdr(`{"__metadata__":"x"}`, 0), []string{"__metadata__ is not a JSON object"}},
	{"entry-not-object", hdr(`{"w":[1]}`, 0), []string{`tensor "w": description is [1], want a JSON object`}},
	{"missing-dtype", hdr(`{"w":{"shape":[1],"data_offsets":[0,1]}}`, 1), []string{`tensor "w": missing "dtype"`}},
	{"missing-shape", hdr(`{"w":{"dtype":"U8","shape":null,"data_offsets":[0,1]}}`, 1), []string{`tensor "w": missing "shape"`}},
	{"missing-offsets", hdr(`{"w":{"dtype":"U8","shape":[1]}}`, 1), []string{`tensor "w": missing "data_offsets"`}},
	{"dtype-not-string", hdr(`{"w":{"dtype":4,"shape":[1],"data_offsets":[0,1]}}`, 1), []string{`tensor "w": dtype is 4, want a string`}},
	{"unknown-dtype", hdr(`{"w":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}}`, 16), []string{`tensor "w": unknown dtype "F128"`}},
	{"lowercase-dtype", hdr(`{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}`, 4), []string{`unknown dtype "f32"`}},
	{"sub-byte-dtype", hdr(`{"w":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}}`, 1), []string{`sub-byte dtype "F4" is not supported`}},
	{"shape-negative", hdr(`{"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}}`, 1), []string{`tensor "w": shape: entry 0 is negative (-1)`}},
	{"shape-fraction", hdr(`{"w":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}}`, 1), []string{`shape: entry 0 is 1.5, want a non-negative integer`}},
	{"shape-string", hdr(`{"w":{"dtype":"U8","shape":["1"],"data_offsets":[0,1]}}`, 1), []string{`shape: entry 0 is "1"`}},
	{"shape-not-array", hdr(`{"w":{"dtype":"U8","shape":1,"data_offsets":[0,1]}}`, 1), []string{`shape: 1 is not a JSON array`}},
	{"shape-overflow", hdr(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}`, 4), []string{`has too many elements`}},
	{"shape-huge-entry", hdr(`{"w":{"dtype":"U8","shape":[99999999999999999999],"data_offsets":[0,4]}}`, 4), []string{`shape: entry 0`}},
	{"offsets-three", hdr(`{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}`, 2), []string{`data_offsets: [0,1,2] has 3 entries, want 2`}},
	{"offsets-reversed", hdr(`{"w":{"dtype":"U8","shape":[0],"data_offsets":[3,2]}}`, 4), []string{`data_offsets [3 2] begin after they end`}},
	{"offsets-outside", hdr(`{"w":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`, 4), []string{`tensor "w": data_offsets [2 6] run past the end of the data section (4 bytes`}},
	{"offsets-outside-huge", hdr(`{"w":{"dtype":"U8","shape":[4],"data_offsets":[18446744073709551612,18446744073709551615]}}`, 4), []string{`tensor "w": data_offsets: entry 0`}},
	{"size-mismatch", hdr(`{"model.layers.0.mlp.up_proj.weight":{"dtype":"F32","shape":[10,10],"data_offsets":[0,100]}}`, 400),
		[]string{`: tensor "model.layers.0.mlp.up_proj.weight": data_offsets [0 100] need 400 bytes for F32 [10 10]`}},
	{"overlap", hdr(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12),
		[]string{`tensor "b": data_offsets [4 12] overlap tensor "a" at [0 8]`}},
	{"overlap-nested", hdr(`{"a":{"dtype":"U8","shape":[12],"data_offsets":[0,12]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},"c":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}}`, 12),
		[]string{`overlap tensor "a" at [0 12]`}},
	{"overlap-same", hdr(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"I8","shape":[2],"data_offsets":[0,2]}}`, 2),
		[]string{`tensor "b": data_offsets [0 2] overlap tensor "a" at [0 2]`}},
}

func TestFromBytesErrors(t *testing.T) {
	for _, c := range errorCases {
		_, err := FromBytes("bad.safetensors", c.data())
		checkErr(t, c.name, err, append([]string{"bad.safetensors"}, c.want...))
	}
}
