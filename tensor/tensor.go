package tensor

import (
	"fmt"
	"unsafe"
)

// Tensor is a typed view of weight data. Its bytes usually live in a
// read-only memory mapping and are never copied; only float data whose
// start is not aligned to the element size is copied once, because the
// typed slices below require alignment. Block types are read as bytes and
// need no alignment.
type Tensor struct {
	Name  string
	DType DType
	Shape []int

	raw []byte    // the data as stored, for every type
	f32 []float32 // set when DType == F32
	u16 []uint16  // set when DType is F16 or BF16
}

// New wraps data (little-endian, as safetensors and GGUF store it) as a
// tensor of the given type and shape, [rows, cols] for a matrix with rows
// contiguous. It checks the type, that cols is a whole number of blocks,
// and that the length matches the shape.
func New(name string, dt DType, shape []int, data []byte) (*Tensor, error) {
	typ := TypeOf(dt)
	if typ == nil {
		return nil, fmt.Errorf("tensor %q: unsupported dtype %v", name, dt)
	}
	rows, cols := 1, 1
	for i, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("tensor %q: negative dimension in shape %v", name, shape)
		}
		if i == len(shape)-1 {
			cols = d
		} else {
			rows *= d
		}
	}
	if cols%typ.BlockElems != 0 {
		return nil, fmt.Errorf("tensor %q: %v rows of %d elements are not whole %d-element blocks", name, dt, cols, typ.BlockElems)
	}
	if len(data) != rows*typ.RowBytes(cols) {
		return nil, fmt.Errorf("tensor %q: %d bytes do not hold %v %v", name, len(data), dt, shape)
	}
	t := &Tensor{Name: name, DType: dt, Shape: append([]int(nil), shape...)}
	if len(data) == 0 {
		return t, nil
	}
	if typ.Quantized() {
		t.raw = data
		return t, nil
	}
	size := typ.BlockBytes
	if uintptr(unsafe.Pointer(&data[0]))%uintptr(size) != 0 {
		data = append(make([]byte, 0, len(data)+8), data...) // Go's allocator aligns to 8
	}
	t.raw = data
	p := unsafe.Pointer(&data[0])
	switch size {
	case 4:
		t.f32 = unsafe.Slice((*float32)(p), len(data)/4)
	case 2:
		t.u16 = unsafe.Slice((*uint16)(p), len(data)/2)
	}
	return t, nil
}

// FromF32 wraps a float32 slice (no copy).
func FromF32(name string, shape []int, v []float32) *Tensor {
	var raw []byte
	if len(v) > 0 {
		raw = unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
	}
	return &Tensor{Name: name, DType: F32, Shape: append([]int(nil), shape...), f32: v, raw: raw}
}

// FromU16 wraps raw BF16 or F16 values (no copy).
func FromU16(name string, dt DType, shape []int, v []uint16) *Tensor {
	var raw []byte
	if len(v) > 0 {
		raw = unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 2*len(v))
	}
	return &Tensor{Name: name, DType: dt, Shape: append([]int(nil), shape...), u16: v, raw: raw}
}

// Len is the number of elements.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Rows is the product of all dimensions but the last (1 for a vector).
func (t *Tensor) Rows() int {
	if len(t.Shape) < 2 {
		return 1
	}
	return t.Len() / max(t.Cols(), 1)
}

// Cols is the last dimension.
func (t *Tensor) Cols() int {
	if len(t.Shape) == 0 {
		return 1
	}
	return t.Shape[len(t.Shape)-1]
}

// Type is the description of the tensor's weight type.
func (t *Tensor) Type() *Type { return t.DType.Type() }

// F32 returns the values of an F32 tensor (nil otherwise).
func (t *Tensor) F32() []float32 { return t.f32 }

// U16 returns the raw 16-bit values of a BF16 or F16 tensor (nil otherwise).
func (t *Tensor) U16() []uint16 { return t.u16 }

// Raw returns the tensor's bytes as stored (a view of the mapping).
func (t *Tensor) Raw() []byte { return t.raw }

// RowBytes is the size of one row in bytes.
func (t *Tensor) RowBytes() int { return t.Type().RowBytes(t.Cols()) }

// RowData returns the bytes of row r (a view).
func (t *Tensor) RowData(r int) []byte {
	rb := t.RowBytes()
	return t.raw[r*rb : (r+1)*rb]
}

// Bytes returns the size of the tensor's data.
func (t *Tensor) Bytes() int64 { return int64(t.Rows()) * int64(t.RowBytes()) }

// Row widens (dequantizes) row r of a matrix into dst (len(dst) == Cols()).
func (t *Tensor) Row(dst []float32, r int) {
	c := t.Cols()
	switch {
	case t.f32 != nil:
		copy(dst, t.f32[r*c:(r+1)*c])
	default:
		t.Type().Dequantize(dst, t.RowData(r))
	}
}

// ToF32 returns all values widened to float32 (a copy, except for F32
// whose backing slice it returns).
func (t *Tensor) ToF32() []float32 {
	if t.f32 != nil || t.Len() == 0 {
		return t.f32
	}
	out := make([]float32, t.Len())
	t.Type().Dequantize(out, t.raw)
	return out
}

// FirstNonFinite returns the index and value of the first NaN or Inf among
// the tensor's values (dequantized for block types, whose scales can hold
// them), or -1 when every value is finite.
func (t *Tensor) FirstNonFinite() (int, float32) {
	c := t.Cols()
	var buf []float32
	if t.f32 == nil {
		buf = make([]float32, c)
	}
	for r := 0; r < t.Rows(); r++ {
		row := buf
		if t.f32 != nil {
			row = t.f32[r*c : (r+1)*c]
		} else {
			t.Row(row, r)
		}
		for i, v := range row {
			if v-v != 0 { // NaN or ±Inf
				return r*c + i, v
			}
		}
	}
	return -1, 0
}
