package safetensors

// DType is a safetensors element type as spelled in the header ("F32",
// "BF16", ...).
type DType string

// The element types of the safetensors format. The sub-byte types F4,
// F6_E2M3 and F6_E3M2 are deliberately absent: a tensor of them has no whole
// number of bytes per element, nothing in gale reads them, and a file using
// them is rejected with an error naming the type.
const (
	BOOL   DType = "BOOL"
	U8     DType = "U8"
	I8     DType = "I8"
	F8E5M2 DType = "F8_E5M2"
	F8E4M3 DType = "F8_E4M3"
	F8E8M0 DType = "F8_E8M0"
	I16    DType = "I16"
	U16    DType = "U16"
	F16    DType = "F16"
	BF16   DType = "BF16"
	I32    DType = "I32"
	U32    DType = "U32"
	F32    DType = "F32"
	F64    DType = "F64"
	I64    DType = "I64"
	U64    DType = "U64"
	C64    DType = "C64"
)

// Size returns the number of bytes per element, or 0 when d is not a type
// this package knows.
func (d DType) Size() int {
	switch d {
	case BOOL, U8, I8, F8E5M2, F8E4M3, F8E8M0:
		return 1
	case I16, U16, F16, BF16:
		return 2
	case I32, U32, F32:
		return 4
	case F64, I64, U64, C64:
		return 8
	}
	return 0
}

// Valid reports whether d is a type this package knows.
func (d DType) Valid() bool { return d.Size() != 0 }

// String returns the header spelling of d.
func (d DType) String() string { return string(d) }

// isSubByte reports whether d is one of the safetensors types packing several
// elements per byte, so that the error for it can say so rather than "unknown".
func isSubByte(d DType) bool {
	switch d {
	case "F4", "F6_E2M3", "F6_E3M2":
		return true
	}
	return false
}
