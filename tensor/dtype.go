// Package tensor gives typed views over weight bytes (usually memory-mapped
// safetensors or GGUF data), the operations the forward pass is made of, and
// the worker pool that spreads them over cores. The arithmetic itself is in
// package kernels.
package tensor

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gale-ai/gale/kernels"
)

// DType is the element type of a weight tensor: a float type or one of
// ggml's block types. Its value is ggml's type id (ggml.h enum ggml_type),
// so a GGUF tensor's type field converts directly.
type DType int

// The weight types gale reads. Everything about each one lives in its
// Type description (types below), not in switches over DType.
const (
	F32  DType = 0
	F16  DType = 1
	Q4_0 DType = 2
	Q4_1 DType = 3
	Q5_0 DType = 6
	Q5_1 DType = 7
	Q8_0 DType = 8
	Q2_K DType = 10
	Q3_K DType = 11
	Q4_K DType = 12
	Q5_K DType = 13
	Q6_K DType = 14
	BF16 DType = 30
)

// Type describes one weight type as data, in the spirit of ggml's
// type_traits: its layout, how to turn it into floats and back, and which
// kernels compute with it. Adding a type means adding one of these (and
// its kernels); nothing above this package switches on types.
type Type struct {
	DType      DType
	Name       string // as ggml and safetensors spell it: "Q4_K", "BF16"
	BlockElems int    // elements per block (1 for float types)
	BlockBytes int    // bytes per block

	// Dequantize widens whole blocks: len(dst) = len(src)/BlockBytes*BlockElems.
	Dequantize func(dst []float32, src []byte)
	// Quantize is the reference quantizer (llama.cpp's, without an
	// importance matrix), whole blocks; nil when gale cannot write the type.
	Quantize func(dst []byte, src []float32)

	// Act is the activation format the type's products take; nil for the
	// float types, whose kernels read f32 activations.
	Act *ActFormat
	// matMul is the product of quantized rows with Act-quantized
	// activations (see kernels.MatMulQ4_0).
	matMul func(y []float32, ldy int, w, a []byte, n, t int)
	// panel is the type's panel product for prefill (nil: none), taking
	// activations laid out by an ActPanel (Act.PanelBegin).
	panel *kernels.PanelType
	// float are the kernels of the float types.
	float *floatKernels
}

// ActFormat is a format activations are quantized to before they meet a
// quantized weight (llama.cpp's vec_dot_type): Q8_0 for the 32-element
// types, Q8_1 for those with a min, Q8_K for the K-quants.
type ActFormat struct {
	Name     string
	Bytes    func(n int) int               // bytes of one row of n activations
	Quantize func(dst []byte, x []float32) // one row
	// PanelBegin readies a kernels.ActPanel for t rows of n values in
	// this format (its Rows then lays them out) for the panel products.
	PanelBegin func(p *kernels.ActPanel, n, t int)
}

// RowBytes is the size of a row of n elements (n a multiple of BlockElems).
func (t *Type) RowBytes(n int) int { return n / t.BlockElems * t.BlockBytes }

// Quantized reports whether the type is a block type (not F32/F16/BF16).
func (t *Type) Quantized() bool { return t.Act != nil }

// types holds every description, by DType.
var types = map[DType]*Type{}

// register adds descriptions to the table (called from the files that
// define them).
func register(ts ...*Type) {
	for _, t := range ts {
		types[t.DType] = t
	}
}

// TypeOf returns the description of d, or nil when gale does not read it.
func TypeOf(d DType) *Type { return types[d] }

// Types lists every known weight type, ordered by ggml id.
func Types() []*Type {
	out := make([]*Type, 0, len(types))
	for _, t := range types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DType < out[j].DType })
	return out
}

// Type returns d's description; it panics for an unknown type, which
// New and ParseDType never hand out.
func (d DType) Type() *Type {
	t := types[d]
	if t == nil {
		panic(fmt.Sprintf("tensor: unknown weight type %d", int(d)))
	}
	return t
}

// Known reports whether gale reads d.
func (d DType) Known() bool { return types[d] != nil }

// Size is the number of bytes of one element of a float type, 0 for block
// types (whose elements have no byte size of their own: see RowBytes).
func (d DType) Size() int {
	if t := types[d]; t != nil && t.BlockElems == 1 {
		return t.BlockBytes
	}
	return 0
}

// RowBytes is the size of a row of n elements of type d.
func (d DType) RowBytes(n int) int { return d.Type().RowBytes(n) }

// String returns the ggml/safetensors spelling of the type.
func (d DType) String() string {
	if t := types[d]; t != nil {
		return t.Name
	}
	return fmt.Sprintf("DType(%d)", int(d))
}

// ParseDType accepts the type names in any case (F32, bf16, q4_k) and the
// long float spellings (float32, float16, bfloat16).
func ParseDType(s string) (DType, error) {
	switch strings.ToLower(s) {
	case "float32":
		return F32, nil
	case "float16":
		return F16, nil
	case "bfloat16":
		return BF16, nil
	}
	for _, t := range Types() {
		if strings.EqualFold(t.Name, s) {
			return t.DType, nil
		}
	}
	var names []string
	for _, t := range Types() {
		names = append(names, t.Name)
	}
	return F32, fmt.Errorf("unsupported dtype %q (want one of %s)", s, strings.Join(names, ", "))
}
