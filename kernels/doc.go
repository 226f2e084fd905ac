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
// With amx (Intel AMX tiles, amx_amd64.go), matrix products of at least 32
// tokens run on tiles: BF16 weights with the activations rounded to
// bfloat16 (once per Prepare), so their results differ from the vector
// units' f32-activation results within bf16 rounding (0.17% of the largest
// logit on the tiny-llama BF16 fixture, llama.cpp 0.19%); GALE_CPU=-amx
// (or avx512) keeps f32 activations. F16 weights run there too, rounded to
// bfloat16 chunk by chunk (0.3% of the largest output on random products,
// against 0.2% for BF16 weights). Q8_0, Q4_0, Q4_1, Q5_0 and Q5_1 weights
// run on int8 tiles with the same results as the vector kernels up to the
// float rounding of the per-block scales; Q4_K, Q5_K and Q6_K too
// (amxk_amd64.go: per-sub-block scales and minima in f32). F32, Q2_K and
// Q3_K weights, and products of fewer tokens, stay on the vector units.
//
// With avx2 and up, products of the block types with at least 8
// activation rows (prefill, batched decode) run as panel products
// (panel.go) where no tile kernel serves the type: 32 weight rows unpacked
// once into int8 codes whose lanes are rows, every token over them with
// VPDPBUSD (avx512+vnni) or VPMADDUBSW summed in int16 over as many steps
// as the codes' range allows (AVX2, panel_avx2_amd64.s), each 32- or
// 16-value group scaled in f32 as ggml does, so the results equal the
// dot-product kernels' up to float rounding. Fewer rows keep the
// dot-product kernels: each kernel set has its measured crossover per
// type (panelZ's and panelY's minTokens: with VNNI Q8_0 from 12 rows,
// Q4_K and Q5_K from 16, Q6_K from 24; the types whose panels unpack in
// Go, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, from 48-256). The VNNI panels' code
// writers transpose plain loads of 16 rows (TRANSX) rather than gather.
// On AMD family 19h (Zen 4, 256-bit AVX-512 units) the 32-element
// types' dot products use ymm kernels with EVEX VPDPBUSD ("E"; Q4_0 and
// Q8_0 take several block pairs per loop iteration), which measured
// faster there than the zmm ones. On family 1Ah (Zen 5, 512-bit units)
// Q8_0 and Q4_0 take the E kernels too, prefetching 8 KiB ahead rather
// than 2 (q32PFE), and the other types the zmm ones; Q8_0's panels start
// at 8 tokens there.
//
// Conventions: weight matrices are row-major [rows, n] (the safetensors
// layout of a Linear layer's weight), BF16 and F16 values are passed as their
// raw uint16 bit patterns, and all accumulation is in float32. Length
// mismatches are programming errors and panic.
package kernels
