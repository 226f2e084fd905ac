package gguf

import "fmt"

// GGMLType is a tensor's element type: ggml's enum ggml_type, as stored in
// a tensor info. Ids 4, 5, 31-33 and 36-38 were removed from ggml and are
// unknown here, like any id past the table.
type GGMLType uint32

// The ggml types (ggml/include/ggml.h). Names follow ggml's spelling so that
// they read as in llama.cpp's tools and file names.
const (
	F32     GGMLType = 0
	F16     GGMLType = 1
	Q4_0    GGMLType = 2
	Q4_1    GGMLType = 3
	Q5_0    GGMLType = 6
	Q5_1    GGMLType = 7
	Q8_0    GGMLType = 8
	Q8_1    GGMLType = 9
	Q2_K    GGMLType = 10
	Q3_K    GGMLType = 11
	Q4_K    GGMLType = 12
	Q5_K    GGMLType = 13
	Q6_K    GGMLType = 14
	Q8_K    GGMLType = 15
	IQ2_XXS GGMLType = 16
	IQ2_XS  GGMLType = 17
	IQ3_XXS GGMLType = 18
	IQ1_S   GGMLType = 19
	IQ4_NL  GGMLType = 20
	IQ3_S   GGMLType = 21
	IQ2_S   GGMLType = 22
	IQ4_XS  GGMLType = 23
	I8      GGMLType = 24
	I16     GGMLType = 25
	I32     GGMLType = 26
	I64     GGMLType = 27
	F64     GGMLType = 28
	IQ1_M   GGMLType = 29
	BF16    GGMLType = 30
	TQ1_0   GGMLType = 34
	TQ2_0   GGMLType = 35
)

// TypeTraits describes how a ggml type lays out its elements: a row of
// ne[0] elements is ne[0]/BlockElems blocks of BlockBytes bytes each.
type TypeTraits struct {
	Name       string
	BlockElems int64 // elements per block (1 for the plain types)
	BlockBytes int64 // bytes per block
	// Supported reports whether gale can compute with tensors of this
	// type. Files holding other known types still parse (so that `gale
	// info` can list them), but their tensors' data is refused.
	Supported bool
}

// typeTable is ggml's type_traits (block sizes from ggml-common.h's
// block_* structs), indexed by id; a zero entry is an unknown id.
var typeTable = [...]TypeTraits{
	F32:     {"F32", 1, 4, true},
	F16:     {"F16", 1, 2, true},
	Q4_0:    {"Q4_0", 32, 18, true},
	Q4_1:    {"Q4_1", 32, 20, true},
	Q5_0:    {"Q5_0", 32, 22, true},
	Q5_1:    {"Q5_1", 32, 24, true},
	Q8_0:    {"Q8_0", 32, 34, true},
	Q8_1:    {"Q8_1", 32, 36, false},
	Q2_K:    {"Q2_K", 256, 84, true},
	Q3_K:    {"Q3_K", 256, 110, true},
	Q4_K:    {"Q4_K", 256, 144, true},
	Q5_K:    {"Q5_K", 256, 176, true},
	Q6_K:    {"Q6_K", 256, 210, true},
	Q8_K:    {"Q8_K", 256, 292, false},
	IQ2_XXS: {"IQ2_XXS", 256, 66, false},
	IQ2_XS:  {"IQ2_XS", 256, 74, false},
	IQ3_XXS: {"IQ3_XXS", 256, 98, false},
	IQ1_S:   {"IQ1_S", 256, 50, false},
	IQ4_NL:  {"IQ4_NL", 32, 18, false},
	IQ3_S:   {"IQ3_S", 256, 110, false},
	IQ2_S:   {"IQ2_S", 256, 82, false},
	IQ4_XS:  {"IQ4_XS", 256, 136, false},
	I8:      {"I8", 1, 1, false},
	I16:     {"I16", 1, 2, false},
	I32:     {"I32", 1, 4, false},
	I64:     {"I64", 1, 8, false},
	F64:     {"F64", 1, 8, false},
	IQ1_M:   {"IQ1_M", 256, 56, false},
	BF16:    {"BF16", 1, 2, true},
	TQ1_0:   {"TQ1_0", 256, 54, false},
	TQ2_0:   {"TQ2_0", 256, 66, false},
}

// Traits returns the layout of t, and false for an unknown id.
func (t GGMLType) Traits() (TypeTraits, bool) {
	if uint64(t) >= uint64(len(typeTable)) || typeTable[t].Name == "" {
		return TypeTraits{}, false
	}
	return typeTable[t], true
}

// Known reports whether t is a ggml type id this package knows the layout
// of (supported by gale or not).
func (t GGMLType) Known() bool {
	_, ok := t.Traits()
	return ok
}

// Supported reports whether gale computes with tensors of type t.
func (t GGMLType) Supported() bool {
	tr, ok := t.Traits()
	return ok && tr.Supported
}

// String returns ggml's name of t ("Q4_K"), or "type(N)" for an unknown id.
func (t GGMLType) String() string {
	if tr, ok := t.Traits(); ok {
		return tr.Name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// TypeByName returns the type called name in ggml's spelling ("Q4_K",
// "BF16"; case matters), for command-line flags.
func TypeByName(name string) (GGMLType, bool) {
	for id, tr := range typeTable {
		if tr.Name != "" && tr.Name == name {
			return GGMLType(id), true
		}
	}
	return 0, false
}

// Types returns every known type id in increasing order.
func Types() []GGMLType {
	var ts []GGMLType
	for id, tr := range typeTable {
		if tr.Name != "" {
			ts = append(ts, GGMLType(id))
		}
	}
	return ts
}
