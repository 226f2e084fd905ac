// Package kernels holds the loops the inference engine spends its time in:
// dot products and matrix products of f32 activations with F32, BF16 and F16
// weights, the attention pieces, normalisation, activation and rotary
// embedding. Every routine has a pure-Go reference (the "generic" level);
// assembly versions for AVX2, AVX-512 and NEON replace them at start-up when
// the CPU has the features. Nothing above this package knows which one runs.
//
// Implementations are chosen from a feature set (Features): a vector level
// (generic, avx2, avx512, neon) plus independent extras (vnni, amx,
// dotprod). The environment variable GALE_CPU caps it, e.g. "avx512,-vnni",
// "avx2", "-amx" (see ParseFeatures), and tests install sets with
// SetFeatures or SetLevel. It is never raised past what the CPU supports.
// Building with -tags noasm keeps only the generic level.
//
// Conventions: weight matrices are row-major [rows, n] (the safetensors
// layout of a Linear layer's weight), BF16 and F16 values are passed as their
// raw uint16 bit patterns, and all accumulation is in float32. Length
// mismatches are programming errors and panic.
package kernels
