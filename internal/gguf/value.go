package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ValueType is the type of a metadata value (gguf.h enum gguf_type).
type ValueType uint32

// The metadata value types, with their ids in the file.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7 // one byte, nonzero = true
	TypeString  ValueType = 8 // uint64 length, then the bytes (no NUL)
	TypeArray   ValueType = 9 // element type, uint64 count, elements
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{
	"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
	"BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64",
}

// String returns the gguf name of t ("UINT32"), or "type(N)" if unknown.
func (t ValueType) String() string {
	if uint64(t) < uint64(len(valueTypeNames)) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// valid reports whether t is one of the thirteen value types.
func (t ValueType) valid() bool { return uint64(t) < uint64(len(valueTypeNames)) }

// size returns the encoded size of a scalar of type t, 0 for STRING and
// ARRAY (variable length).
func (t ValueType) size() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// isInteger reports whether t is one of the eight integer types.
func (t ValueType) isInteger() bool {
	switch t {
	case TypeUint8, TypeInt8, TypeUint16, TypeInt16, TypeUint32, TypeInt32, TypeUint64, TypeInt64:
		return true
	}
	return false
}

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// Value is one metadata value: a scalar, a string, or an array of scalars or
// strings. It holds the value's encoding as found in the file (a view into
// the mapping for a parsed file, valid until the File is closed), so a value
// read from one file is written to another byte for byte. The As* methods
// decode it; each accepts the types that losslessly give what it returns.
type Value struct {
	typ  ValueType
	elem ValueType // element type of an ARRAY
	n    int       // element count of an ARRAY
	// raw is the encoding after the type id: a scalar's bytes, a string's
	// bytes without the length, an array's elements without type and count.
	raw []byte
}

// Type returns the value's type (TypeArray for arrays).
func (v Value) Type() ValueType { return v.typ }

// ElemType returns the element type of an array (meaningless otherwise).
func (v Value) ElemType() ValueType { return v.elem }

// Len returns the element count of an array, 0 for other values.
func (v Value) Len() int { return v.n }

// typeName describes the value's type for messages: "UINT32",
// "ARRAY[STRING]".
func (v Value) typeName() string {
	if v.typ == TypeArray {
		return "ARRAY[" + v.elem.String() + "]"
	}
	return v.typ.String()
}

// scalarInt decodes an integer scalar of type t from b. neg reports a
// negative value; u is then its two's complement.
func scalarInt(t ValueType, b []byte) (u uint64, neg bool) {
	switch t {
	case TypeUint8:
		return uint64(b[0]), false
	case TypeInt8:
		x := int64(int8(b[0]))
		return uint64(x), x < 0
	case TypeUint16:
		return uint64(binary.LittleEndian.Uint16(b)), false
	case TypeInt16:
		x := int64(int16(binary.LittleEndian.Uint16(b)))
		return uint64(x), x < 0
	case TypeUint32:
		return uint64(binary.LittleEndian.Uint32(b)), false
	case TypeInt32:
		x := int64(int32(binary.LittleEndian.Uint32(b)))
		return uint64(x), x < 0
	case TypeUint64:
		return binary.LittleEndian.Uint64(b), false
	case TypeInt64:
		x := int64(binary.LittleEndian.Uint64(b))
		return uint64(x), x < 0
	}
	panic("gguf: scalarInt of " + t.String())
}

// AsUint returns an integer value of any of the eight integer types (as
// llama.cpp's loaders accept for counts and ids) that is not negative.
func (v Value) AsUint() (uint64, error) {
	if err := v.check(); err != nil {
		return 0, err
	}
	if !v.typ.isInteger() {
		return 0, fmt.Errorf("is %s, want an unsigned integer", v.typeName())
	}
	u, neg := scalarInt(v.typ, v.raw)
	if neg {
		return 0, fmt.Errorf("is %d, want an unsigned integer", int64(u))
	}
	return u, nil
}

// AsInt returns an integer value of any integer type that fits an int64.
func (v Value) AsInt() (int64, error) {
	if err := v.check(); err != nil {
		return 0, err
	}
	if !v.typ.isInteger() {
		return 0, fmt.Errorf("is %s, want an integer", v.typeName())
	}
	u, neg := scalarInt(v.typ, v.raw)
	if !neg && u > math.MaxInt64 {
		return 0, fmt.Errorf("is %d, too large for an int64", u)
	}
	return int64(u), nil
}

// AsFloat returns a FLOAT32 or FLOAT64 value as a float64 (exactly). An
// integer value is converted too, since a float parameter written as an
// integer (rope.freq_base = 10000) means the same number.
func (v Value) AsFloat() (float64, error) {
	if err := v.check(); err != nil {
		return 0, err
	}
	switch {
	case v.typ == TypeFloat32:
		return float64(math.Float32frombits(binary.LittleEndian.Uint32(v.raw))), nil
	case v.typ == TypeFloat64:
		return math.Float64frombits(binary.LittleEndian.Uint64(v.raw)), nil
	case v.typ.isInteger():
		u, neg := scalarInt(v.typ, v.raw)
		if neg {
			return float64(int64(u)), nil
		}
		return float64(u), nil
	}
	return 0, fmt.Errorf("is %s, want a number", v.typeName())
}

// AsBool returns a BOOL value (any nonzero byte is true, as in gguf.cpp).
func (v Value) AsBool() (bool, error) {
	if err := v.check(); err != nil {
		return false, err
	}
	if v.typ != TypeBool {
		return false, fmt.Errorf("is %s, want BOOL", v.typeName())
	}
	return v.raw[0] != 0, nil
}

// AsString returns a STRING value. The bytes are copied, so the string
// outlives the File.
func (v Value) AsString() (string, error) {
	if err := v.check(); err != nil {
		return "", err
	}
	if v.typ != TypeString {
		return "", fmt.Errorf("is %s, want STRING", v.typeName())
	}
	return string(v.raw), nil
}

// AsStrings returns an array of strings (copied).
func (v Value) AsStrings() ([]string, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	if v.typ != TypeArray || v.elem != TypeString {
		return nil, fmt.Errorf("is %s, want ARRAY[STRING]", v.typeName())
	}
	out := make([]string, v.n)
	b := v.raw
	for i := range out {
		// The lengths were validated when the file was parsed (or the
		// value built), so they lie inside raw.
		n := binary.LittleEndian.Uint64(b)
		out[i] = string(b[8 : 8+n])
		b = b[8+n:]
	}
	return out, nil
}

// AsFloat32s returns an array of FLOAT32 (or FLOAT64, rounded to float32).
func (v Value) AsFloat32s() ([]float32, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	if v.typ != TypeArray || (v.elem != TypeFloat32 && v.elem != TypeFloat64) {
		return nil, fmt.Errorf("is %s, want ARRAY[FLOAT32]", v.typeName())
	}
	out := make([]float32, v.n)
	for i := range out {
		if v.elem == TypeFloat32 {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(v.raw[4*i:]))
		} else {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(v.raw[8*i:])))
		}
	}
	return out, nil
}

// AsInt32s returns an array of any integer type whose elements all fit an
// int32 (token types are INT32, but nothing forbids a writer from using
// another integer type).
func (v Value) AsInt32s() ([]int32, error) {
	if err := v.check(); err != nil {
		return nil, err
	}
	if v.typ != TypeArray || !v.elem.isInteger() {
		return nil, fmt.Errorf("is %s, want an array of integers", v.typeName())
	}
	sz := v.elem.size()
	out := make([]int32, v.n)
	for i := range out {
		u, neg := scalarInt(v.elem, v.raw[i*sz:])
		x := int64(u)
		if (!neg && u > math.MaxInt32) || x < math.MinInt32 {
			if neg {
				return nil, fmt.Errorf("element %d (%d) does not fit an int32", i, x)
			}
			return nil, fmt.Errorf("element %d (%d) does not fit an int32", i, u)
		}
		out[i] = int32(x)
	}
	return out, nil
}

// String describes the value for listings such as `gale info`: a scalar's
// value, a quoted string (shortened when long), or an array's type and
// length with its first elements.
func (v Value) String() string {
	if v.check() != nil {
		return "invalid value"
	}
	switch {
	case v.typ == TypeString:
		return quoteShort(string(v.raw))
	case v.typ == TypeArray:
		var b strings.Builder
		fmt.Fprintf(&b, "%s(%d)", v.typeName(), v.n)
		if v.n > 0 {
			b.WriteString(" [")
			for i, e := range v.elems(4) {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(e.String())
			}
			if v.n > 4 {
				b.WriteString(", ...")
			}
			b.WriteByte(']')
		}
		return b.String()
	case v.typ == TypeBool:
		return strconv.FormatBool(v.raw[0] != 0)
	case v.typ == TypeFloat32 || v.typ == TypeFloat64:
		f, _ := v.AsFloat()
		bits := 64
		if v.typ == TypeFloat32 {
			bits = 32
		}
		return strconv.FormatFloat(f, 'g', -1, bits)
	case v.typ.isInteger():
		u, neg := scalarInt(v.typ, v.raw)
		if neg {
			return strconv.FormatInt(int64(u), 10)
		}
		return strconv.FormatUint(u, 10)
	}
	return v.typ.String()
}

// elems returns the first max elements of an array as scalar Values.
func (v Value) elems(max int) []Value {
	var out []Value
	b := v.raw
	for i := 0; i < v.n && i < max; i++ {
		if v.elem == TypeString {
			n := binary.LittleEndian.Uint64(b)
			out = append(out, Value{typ: TypeString, raw: b[8 : 8+n]})
			b = b[8+n:]
			continue
		}
		sz := v.elem.size()
		out = append(out, Value{typ: v.elem, raw: b[:sz]})
		b = b[sz:]
	}
	return out
}

// quoteShort quotes s, keeping at most 60 bytes of it.
func quoteShort(s string) string {
	const max = 60
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Constructors, for writers. Each returns a Value holding its own encoding.

func scalar(t ValueType, raw []byte) Value { return Value{typ: t, raw: raw} }

// Uint8 returns a UINT8 value.
func Uint8(x uint8) Value { return scalar(TypeUint8, []byte{x}) }

// Int8 returns an INT8 value.
func Int8(x int8) Value { return scalar(TypeInt8, []byte{byte(x)}) }

// Uint16 returns a UINT16 value.
func Uint16(x uint16) Value { return scalar(TypeUint16, binary.LittleEndian.AppendUint16(nil, x)) }

// Int16 returns an INT16 value.
func Int16(x int16) Value {
	return scalar(TypeInt16, binary.LittleEndian.AppendUint16(nil, uint16(x)))
}

// Uint32 returns a UINT32 value.
func Uint32(x uint32) Value { return scalar(TypeUint32, binary.LittleEndian.AppendUint32(nil, x)) }

// Int32 returns an INT32 value.
func Int32(x int32) Value {
	return scalar(TypeInt32, binary.LittleEndian.AppendUint32(nil, uint32(x)))
}

// Uint64 returns a UINT64 value.
func Uint64(x uint64) Value { return scalar(TypeUint64, binary.LittleEndian.AppendUint64(nil, x)) }

// Int64 returns an INT64 value.
func Int64(x int64) Value {
	return scalar(TypeInt64, binary.LittleEndian.AppendUint64(nil, uint64(x)))
}

// Float32 returns a FLOAT32 value.
func Float32(x float32) Value {
	return scalar(TypeFloat32, binary.LittleEndian.AppendUint32(nil, math.Float32bits(x)))
}

// Float64 returns a FLOAT64 value.
func Float64(x float64) Value {
	return scalar(TypeFloat64, binary.LittleEndian.AppendUint64(nil, math.Float64bits(x)))
}

// Bool returns a BOOL value (stored as 1 or 0).
func Bool(x bool) Value {
	if x {
		return scalar(TypeBool, []byte{1})
	}
	return scalar(TypeBool, []byte{0})
}

// String returns a STRING value.
func String(s string) Value { return scalar(TypeString, []byte(s)) }

// StringArray returns an ARRAY[STRING] value (tokenizer.ggml.tokens).
func StringArray(ss []string) Value {
	n := 0
	for _, s := range ss {
		n += 8 + len(s)
	}
	raw := make([]byte, 0, n)
	for _, s := range ss {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(len(s)))
		raw = append(raw, s...)
	}
	return Value{typ: TypeArray, elem: TypeString, n: len(ss), raw: raw}
}

// Float32Array returns an ARRAY[FLOAT32] value (tokenizer.ggml.scores).
func Float32Array(xs []float32) Value {
	raw := make([]byte, 0, 4*len(xs))
	for _, x := range xs {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
	}
	return Value{typ: TypeArray, elem: TypeFloat32, n: len(xs), raw: raw}
}

// Int32Array returns an ARRAY[INT32] value (tokenizer.ggml.token_type).
func Int32Array(xs []int32) Value {
	raw := make([]byte, 0, 4*len(xs))
	for _, x := range xs {
		raw = binary.LittleEndian.AppendUint32(raw, uint32(x))
	}
	return Value{typ: TypeArray, elem: TypeInt32, n: len(xs), raw: raw}
}

// encodedSize returns the bytes the value takes after its type id.
func (v Value) encodedSize() int64 {
	switch v.typ {
	case TypeString:
		return 8 + int64(len(v.raw))
	case TypeArray:
		return 4 + 8 + int64(len(v.raw))
	}
	return int64(len(v.raw))
}

// appendTo appends the value's encoding (type id included) to b.
func (v Value) appendTo(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(v.typ))
	switch v.typ {
	case TypeString:
		b = binary.LittleEndian.AppendUint64(b, uint64(len(v.raw)))
	case TypeArray:
		b = binary.LittleEndian.AppendUint32(b, uint32(v.elem))
		b = binary.LittleEndian.AppendUint64(b, uint64(v.n))
	}
	return append(b, v.raw...)
}

// check reports whether v is a well-formed value. The zero Value is not:
// it is what Get returns for a missing key, and decoding it must not read
// bytes it does not have.
func (v Value) check() error {
	switch {
	case !v.typ.valid():
		return fmt.Errorf("unknown value type %d", uint32(v.typ))
	case v.typ == TypeArray && (v.elem == TypeArray || !v.elem.valid()):
		return fmt.Errorf("bad array element type %s", v.elem)
	case v.typ != TypeArray && v.typ != TypeString && len(v.raw) != v.typ.size():
		return fmt.Errorf("%s value of %d bytes", v.typ, len(v.raw))
	}
	return nil
}
