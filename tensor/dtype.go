// Package tensor gives typed views over weight bytes (usually memory-mapped
// safetensors data), the operations the forward pass is made of, and the
// worker pool that spreads them over cores. The arithmetic itself is in
// package kernels.
package tensor

import "fmt"

// DType is the element type of a weight tensor.
type DType int

// The element types the kernels read directly.
const (
	F32 DType = iota
	F16
	BF16
)

// Size is the number of bytes of one element.
func (d DType) Size() int {
	switch d {
	case F32:
		return 4
	case F16, BF16:
		return 2
	}
	return 0
}

// String returns the safetensors spelling of the type.
func (d DType) String() string {
	switch d {
	case F32:
		return "F32"
	case F16:
		return "F16"
	case BF16:
		return "BF16"
	}
	return fmt.Sprintf("DType(%d)", int(d))
}

// ParseDType accepts the safetensors names (F32, F16, BF16) and the
// lower-case spellings used on the command line.
func ParseDType(s string) (DType, error) {
	switch s {
	case "F32", "f32", "float32":
		return F32, nil
	case "F16", "f16", "float16":
		return F16, nil
	case "BF16", "bf16", "bfloat16":
		return BF16, nil
	}
	return F32, fmt.Errorf("unsupported dtype %q (want F32, F16 or BF16)", s)
}
