package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Float32s returns a new []float32 holding the tensor's values converted from
// F32, F16, BF16 or F64. It copies, so it is meant for small tensors
// (reference logits, norms in tests), not for weights the kernels read in
// place.
func (t *Tensor) Float32s() ([]float32, error) {
	n := t.NumElements()
	if len(t.Data) != n*t.DType.Size() {
		return nil, fmt.Errorf("%s: tensor %q: %d bytes for %d %s elements", t.File, t.Name, len(t.Data), n, t.DType)
	}
	out := make([]float32, n)
	d := t.Data
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(d[8*i:])))
		}
	case BF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(d[2*i:])) << 16)
		}
	case F16:
		for i := range out {
			out[i] = f16ToF32(binary.LittleEndian.Uint16(d[2*i:]))
		}
	default:
		return nil, fmt.Errorf("%s: tensor %q: cannot convert %s to float32", t.File, t.Name, t.DType)
	}
	return out, nil
}

// f16ToF32 widens an IEEE 754 binary16 value exactly, including subnormals,
// infinities and NaN payloads. (This package imports nothing of gale's, so it
// carries its own copy of the conversion.)
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | man<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
	case man == 0: // signed zero
		return math.Float32frombits(sign)
	}
	// Subnormal: value = man * 2^-24, exactly representable in float32.
	v := float32(man) * (1.0 / (1 << 24))
	if sign != 0 {
		v = -v
	}
	return v
}
