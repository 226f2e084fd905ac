package tensor

import (
	"fmt"
	"unsafe"

	"github.com/gale-ai/gale/kernels"
)

// Tensor is a typed view of weight data. Its bytes usually live in a
// read-only memory mapping and are never copied; only data whose start is
// not aligned to the element size is copied once, because the typed slices
// below require alignment.
type Tensor struct {
	Name  string
	DType DType
	Shape []int

	f32 []float32 // set when DType == F32
	u16 []uint16  // set when DType is F16 or BF16
}

// New wraps data (little-endian, as safetensors stores it) as a tensor of
// the given type and shape. It checks that the length matches the shape.
func New(name string, dt DType, shape []int, data []byte) (*Tensor, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("tensor %q: negative dimension in shape %v", name, shape)
		}
		n *= d
	}
	if dt.Size() == 0 {
		return nil, fmt.Errorf("tensor %q: unsupported dtype %v", name, dt)
	}
	if len(data) != n*dt.Size() {
		return nil, fmt.Errorf("tensor %q: %d bytes do not hold %v %v", name, len(data), dt, shape)
	}
	t := &Tensor{Name: name, DType: dt, Shape: append([]int(nil), shape...)}
	if n == 0 {
		return t, nil
	}
	if uintptr(unsafe.Pointer(&data[0]))%uintptr(dt.Size()) != 0 {
		data = append(make([]byte, 0, len(data)+8), data...) // Go's allocator aligns to 8
	}
	p := unsafe.Pointer(&data[0])
	switch dt {
	case F32:
		t.f32 = unsafe.Slice((*float32)(p), n)
	default:
		t.u16 = unsafe.Slice((*uint16)(p), n)
	}
	return t, nil
}

// FromF32 wraps a float32 slice (no copy).
func FromF32(name string, shape []int, v []float32) *Tensor {
	return &Tensor{Name: name, DType: F32, Shape: append([]int(nil), shape...), f32: v}
}

// FromU16 wraps raw BF16 or F16 values (no copy).
func FromU16(name string, dt DType, shape []int, v []uint16) *Tensor {
	return &Tensor{Name: name, DType: dt, Shape: append([]int(nil), shape...), u16: v}
}

// Len is the number of elements.
func (t *Tensor) Len() int {
	if t.DType == F32 {
		return len(t.f32)
	}
	return len(t.u16)
}

// Rows is the first dimension of a matrix (1 for a vector).
func (t *Tensor) Rows() int {
	if len(t.Shape) < 2 {
		return 1
	}
	return t.Shape[0]
}

// Cols is the last dimension.
func (t *Tensor) Cols() int {
	if len(t.Shape) == 0 {
		return 1
	}
	return t.Shape[len(t.Shape)-1]
}

// F32 returns the values of an F32 tensor (nil otherwise).
func (t *Tensor) F32() []float32 { return t.f32 }

// U16 returns the raw 16-bit values of a BF16 or F16 tensor (nil otherwise).
func (t *Tensor) U16() []uint16 { return t.u16 }

// Bytes returns the size of the tensor's data.
func (t *Tensor) Bytes() int64 { return int64(t.Len()) * int64(t.DType.Size()) }

// Row widens row r of a matrix into dst (len(dst) == Cols()).
func (t *Tensor) Row(dst []float32, r int) {
	c := t.Cols()
	switch t.DType {
	case F32:
		copy(dst, t.f32[r*c:(r+1)*c])
	case BF16:
		kernels.BF16ToF32(dst, t.u16[r*c:(r+1)*c])
	case F16:
		kernels.F16ToF32(dst, t.u16[r*c:(r+1)*c])
	}
}

// ToF32 returns all values widened to float32 (a copy for 16-bit types,
// the backing slice for F32).
func (t *Tensor) ToF32() []float32 {
	if t.DType == F32 {
		return t.f32
	}
	out := make([]float32, len(t.u16))
	switch t.DType {
	case BF16:
		kernels.BF16ToF32(out, t.u16)
	case F16:
		kernels.F16ToF32(out, t.u16)
	}
	return out
}
