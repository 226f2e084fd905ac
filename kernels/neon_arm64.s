//go:build !noasm

// NEON (Advanced SIMD) kernels for arm64, hand-written in Go's assembler.
//
// Conventions shared by every routine here:
//   - ABI0, leaf, no frame: arguments and results on the stack.
//   - Element counts n are multiples of 4 (possibly 0); the Go wrappers in
//     neon_arm64.go do the remaining 0-3 elements in Go and check bounds.
//   - Single-row loops take 16 floats per iteration into four independent
//     accumulators (to hide FMLA latency), then 4 floats at a time;
//     multi-row kernels (4 rows, 4x4 tokens x rows) keep one or two
//     accumulators per output instead.
//   - V registers are all caller-saved under Go's ABI, so any may be used.
//
// Go's arm64 assembler has no mnemonics for most floating-point vector
// instructions (it has VFMLA/VFMLS but no vector FADD, FMUL, FMAX, FCVTL,
// ...). The macros below emit their encodings with WORD. Their arguments
// are register numbers in Go's operand order, last operand = destination:
// OP(m, n, d) computes Vd = Vn op Vm on four float32 lanes (.4S), like
// VSUB Vm, Vn, Vd does for integers.

#include "textflag.h"

// fadd vd.4s, vn.4s, vm.4s
#define FADD4(m, n, d) WORD $(0x4E20D400 | ((m)<<16) | ((n)<<5) | (d))
// fsub vd.4s, vn.4s, vm.4s  (d = n - m)
#define FSUB4(m, n, d) WORD $(0x4EA0D400 | ((m)<<16) | ((n)<<5) | (d))
// fmul vd.4s, vn.4s, vm.4s
#define FMUL4(m, n, d) WORD $(0x6E20DC00 | ((m)<<16) | ((n)<<5) | (d))
// fdiv vd.4s, vn.4s, vm.4s  (d = n / m)
#define FDIV4(m, n, d) WORD $(0x6E20FC00 | ((m)<<16) | ((n)<<5) | (d))
// fmax vd.4s, vn.4s, vm.4s  (NaN in either operand gives NaN)
#define FMAX4(m, n, d) WORD $(0x4E20F400 | ((m)<<16) | ((n)<<5) | (d))
// fmin vd.4s, vn.4s, vm.4s
#define FMIN4(m, n, d) WORD $(0x4EA0F400 | ((m)<<16) | ((n)<<5) | (d))
// faddp vd.4s, vn.4s, vm.4s  (d = [n0+n1, n2+n3, m0+m1, m2+m3])
#define FADDP4(m, n, d) WORD $(0x6E20D400 | ((m)<<16) | ((n)<<5) | (d))
// fcmgt vd.4s, vn.4s, vm.4s  (lane mask: all ones where n > m)
#define FCMGT4(m, n, d) WORD $(0x6EA0E400 | ((m)<<16) | ((n)<<5) | (d))
// faddp sd, vn.2s  (scalar: d = n0 + n1)
#define FADDPS(n, d) WORD $(0x7E30D800 | ((n)<<5) | (d))
// fmaxv sd, vn.4s  (scalar: d = max of the four lanes)
#define FMAXV4(n, d) WORD $(0x6E30F800 | ((n)<<5) | (d))
// frintm vd.4s, vn.4s  (round toward minus infinity: floor)
#define FRINTM4(n, d) WORD $(0x4E219800 | ((n)<<5) | (d))
// fcvtzs vd.4s, vn.4s  (float to int32, toward zero)
#define FCVTZS4(n, d) WORD $(0x4EA1B800 | ((n)<<5) | (d))
// fcmeq vd.4s, vn.4s, vm.4s  (lane mask: all ones where n == m)
#define FCMEQ4(m, n, d) WORD $(0x4E20E400 | ((m)<<16) | ((n)<<5) | (d))
// fcvtn vd.4h, vn.4s  (narrow to half precision, rounding per FPCR: nearest even)
#define FCVTN(n, d) WORD $(0x0E216800 | ((n)<<5) | (d))
// fcvtn2 vd.8h, vn.4s  (narrow into the high four halves, keeping the low)
#define FCVTN2(n, d) WORD $(0x4E216800 | ((n)<<5) | (d))
// xtn vd.4h, vn.4s  (keep the low 16 bits of each lane)
#define XTN(n, d) WORD $(0x0E612800 | ((n)<<5) | (d))
// xtn2 vd.8h, vn.4s
#define XTN2(n, d) WORD $(0x4E612800 | ((n)<<5) | (d))
// fcvtl vd.4s, vn.4h  (widen the low four halves to float32, exactly)
#define FCVTL(n, d) WORD $(0x0E217800 | ((n)<<5) | (d))
// fcvtl2 vd.4s, vn.8h  (widen the high four halves)
#define FCVTL2(n, d) WORD $(0x4E217800 | ((n)<<5) | (d))

// bfloat16 -> float32 needs each 16-bit value moved to the high half of a
// 32-bit lane (USHLL cannot shift by 16). Interleaving zeros below the
// values does exactly that: zip1 vd.8h, vzero.8h, vsrc.8h gives
// [0, s0, 0, s1, 0, s2, 0, s3], i.e. the lanes s<<16 for the low four
// halves; zip2 does the high four.
#define BF16LO(src, zero, dst) VZIP1 src.H8, zero.H8, dst.H8
#define BF16HI(src, zero, dst) VZIP2 src.H8, zero.H8, dst.H8

// REDUCE4 sums the four lanes of each of the four accumulators a, b, c, d
// into one vector dst = [sum a, sum b, sum c, sum d], using t as scratch
// (dst must differ from c and d, and t from dst).
#define REDUCE4(a, b, c, d, t, dst) \
	FADDP4(b, a, dst) \
	FADDP4(d, c, t)   \
	FADDP4(t, dst, dst)

// ---------------------------------------------------------------------------
// Dot products of one row.

// func dotF32NEON(x, w *float32, n int) float32
TEXT ·dotF32NEON(SB), NOSPLIT, $0-28
	MOVD x+0(FP), R0
	MOVD w+8(FP), R1
	MOVD n+16(FP), R2
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	LSR  $4, R2, R3 // 16-float blocks
	AND  $15, R2, R2
	LSR  $2, R2, R2 // then 4-float blocks
	CBZ  R3, dotf32_tail

dotf32_loop16:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]
	VFMLA  V4.S4, V0.S4, V16.S4
	VFMLA  V5.S4, V1.S4, V17.S4
	VFMLA  V6.S4, V2.S4, V18.S4
	VFMLA  V7.S4, V3.S4, V19.S4
	SUBS   $1, R3
	BNE    dotf32_loop16

dotf32_tail:
	CBZ R2, dotf32_done

dotf32_loop4:
	VLD1.P 16(R0), [V0.S4]
	VLD1.P 16(R1), [V4.S4]
	VFMLA  V4.S4, V0.S4, V16.S4
	SUBS   $1, R2
	BNE    dotf32_loop4

dotf32_done:
	FADD4(17, 16, 16)
	FADD4(19, 18, 18)
	FADD4(18, 16, 16)
	FADDP4(16, 16, 16)
	FADDPS(16, 0)
	FMOVS F0, ret+24(FP)
	RET

// func dotBF16NEON(x *float32, w *uint16, n int) float32
TEXT ·dotBF16NEON(SB), NOSPLIT, $0-28
	MOVD x+0(FP), R0
	MOVD w+8(FP), R1
	MOVD n+16(FP), R2
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	VEOR V31.B16, V31.B16, V31.B16 // zero, for widening
	LSR  $4, R2, R3
	AND  $15, R2, R2
	LSR  $2, R2, R2
	CBZ  R3, dotbf16_tail

dotbf16_loop16:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 32(R1), [V4.H8, V5.H8]
	BF16LO(V4, V31, V6)
	BF16HI(V4, V31, V7)
	BF16LO(V5, V31, V8)
	BF16HI(V5, V31, V9)
	VFMLA  V6.S4, V0.S4, V16.S4
	VFMLA  V7.S4, V1.S4, V17.S4
	VFMLA  V8.S4, V2.S4, V18.S4
	VFMLA  V9.S4, V3.S4, V19.S4
	SUBS   $1, R3
	BNE    dotbf16_loop16

dotbf16_tail:
	CBZ R2, dotbf16_done

dotbf16_loop4:
	VLD1.P 16(R0), [V0.S4]
	VLD1.P 8(R1), [V4.H4]
	BF16LO(V4, V31, V6)
	VFMLA  V6.S4, V0.S4, V16.S4
	SUBS   $1, R2
	BNE    dotbf16_loop4

dotbf16_done:
	FADD4(17, 16, 16)
	FADD4(19, 18, 18)
	FADD4(18, 16, 16)
	FADDP4(16, 16, 16)
	FADDPS(16, 0)
	FMOVS F0, ret+24(FP)
	RET

// func dotF16NEON(x *float32, w *uint16, n int) float32
TEXT ·dotF16NEON(SB), NOSPLIT, $0-28
	MOVD x+0(FP), R0
	MOVD w+8(FP), R1
	MOVD n+16(FP), R2
	VEOR V16.B16, V16.B16, V16.B16
	VEOR V17.B16, V17.B16, V17.B16
	VEOR V18.B16, V18.B16, V18.B16
	VEOR V19.B16, V19.B16, V19.B16
	LSR  $4, R2, R3
	AND  $15, R2, R2
	LSR  $2, R2, R2
	CBZ  R3, dotf16_tail

dotf16_loop16:
	VLD1.P 64(R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 32(R1), [V4.H8, V5.H8]
	FCVTL(4, 6)
	FCVTL2(4, 7)
	FCVTL(5, 8)
	FCVTL2(5, 9)
	VFMLA  V6.S4, V0.S4, V16.S4
	VFMLA  V7.S4, V1.S4, V17.S4
	VFMLA  V8.S4, V2.S4, V18.S4
	VFMLA  V9.S4, V3.S4, V19.S4
	SUBS   $1, R3
	BNE    dotf16_loop16

dotf16_tail:
	CBZ R2, dotf16_done

dotf16_loop4:
	VLD1.P 16(R0), [V0.S4]
	VLD1.P 8(R1), [V4.H4]
	FCVTL(4, 6)
	VFMLA  V6.S4, V0.S4, V16.S4
	SUBS   $1, R2
	BNE    dotf16_loop4

dotf16_done:
	FADD4(17, 16, 16)
	FADD4(19, 18, 18)
	FADD4(18, 16, 16)
	FADDP4(16, 16, 16)
	FADDPS(16, 0)
	FMOVS F0, ret+24(FP)
	RET

// ---------------------------------------------------------------------------
// Four rows at once (matrix-vector products and attention scores): each
// load of x is reused for four weight rows, which lie stride elements
// apart. y[r] = sum_k x[k] * w[r*stride+k] for r = 0..3, written as one
// 4-float store. Two accumulators per row, 8 floats per iteration.

// The macros never touch the argument frame: each function loads its own
// arguments, because go vet checks frame offsets only outside macros.
//
// DOT4PROLOGUE expects R5 = y, R0 = x, R1 = w, R6 = n and R8 = the row
// stride in bytes. It sets R1..R4 = the four rows, R6 = 8-float blocks,
// R7 = trailing 4-float block (0 or 1), and clears the accumulators
// V16..V23.
#define DOT4PROLOGUE \
	ADD  R8, R1, R2                  \
	ADD  R8, R2, R3                  \
	ADD  R8, R3, R4                  \
	AND  $7, R6, R7                  \
	LSR  $2, R7, R7                  \
	LSR  $3, R6, R6                  \
	VEOR V16.B16, V16.B16, V16.B16   \
	VEOR V17.B16, V17.B16, V17.B16   \
	VEOR V18.B16, V18.B16, V18.B16   \
	VEOR V19.B16, V19.B16, V19.B16   \
	VEOR V20.B16, V20.B16, V20.B16   \
	VEOR V21.B16, V21.B16, V21.B16   \
	VEOR V22.B16, V22.B16, V22.B16   \
	VEOR V23.B16, V23.B16, V23.B16

// DOT4FMA8 accumulates x (V0, V1) times the widened rows in V2..V9.
#define DOT4FMA8 \
	VFMLA V2.S4, V0.S4, V16.S4 \
	VFMLA V3.S4, V1.S4, V17.S4 \
	VFMLA V4.S4, V0.S4, V18.S4 \
	VFMLA V5.S4, V1.S4, V19.S4 \
	VFMLA V6.S4, V0.S4, V20.S4 \
	VFMLA V7.S4, V1.S4, V21.S4 \
	VFMLA V8.S4, V0.S4, V22.S4 \
	VFMLA V9.S4, V1.S4, V23.S4

// DOT4FMA4 accumulates x (V0) times the rows in V2, V4, V6, V8.
#define DOT4FMA4 \
	VFMLA V2.S4, V0.S4, V16.S4 \
	VFMLA V4.S4, V0.S4, V18.S4 \
	VFMLA V6.S4, V0.S4, V20.S4 \
	VFMLA V8.S4, V0.S4, V22.S4

// DOT4EPILOGUE folds each row's two accumulators, reduces the four rows
// into V24 = [y0, y1, y2, y3] and stores it at y.
#define DOT4EPILOGUE \
	FADD4(17, 16, 16)                \
	FADD4(19, 18, 18)                \
	FADD4(21, 20, 20)                \
	FADD4(23, 22, 22)                \
	REDUCE4(16, 18, 20, 22, 25, 24)  \
	VST1 [V24.S4], (R5)              \
	RET

// func dot4F32NEON(y, x, w *float32, n, stride int)
TEXT ·dot4F32NEON(SB), NOSPLIT, $0-40
	MOVD y+0(FP), R5
	MOVD x+8(FP), R0
	MOVD w+16(FP), R1
	MOVD n+24(FP), R6
	MOVD stride+32(FP), R8
	LSL  $2, R8, R8 // float32 elements
	DOT4PROLOGUE
	CBZ R6, dot4f32_tail

dot4f32_loop8:
	VLD1.P 32(R0), [V0.S4, V1.S4]
	VLD1.P 32(R1), [V2.S4, V3.S4]
	VLD1.P 32(R2), [V4.S4, V5.S4]
	VLD1.P 32(R3), [V6.S4, V7.S4]
	VLD1.P 32(R4), [V8.S4, V9.S4]
	DOT4FMA8
	SUBS   $1, R6
	BNE    dot4f32_loop8

dot4f32_tail:
	CBZ  R7, dot4f32_done
	VLD1 (R0), [V0.S4]
	VLD1 (R1), [V2.S4]
	VLD1 (R2), [V4.S4]
	VLD1 (R3), [V6.S4]
	VLD1 (R4), [V8.S4]
	DOT4FMA4

dot4f32_done:
	DOT4EPILOGUE

// func dot4BF16NEON(y, x *float32, w *uint16, n, stride int)
TEXT ·dot4BF16NEON(SB), NOSPLIT, $0-40
	MOVD y+0(FP), R5
	MOVD x+8(FP), R0
	MOVD w+16(FP), R1
	MOVD n+24(FP), R6
	MOVD stride+32(FP), R8
	LSL  $1, R8, R8 // uint16 elements
	DOT4PROLOGUE
	VEOR V31.B16, V31.B16, V31.B16
	CBZ  R6, dot4bf16_tail

dot4bf16_loop8:
	VLD1.P 32(R0), [V0.S4, V1.S4]
	VLD1.P 16(R1), [V10.H8]
	VLD1.P 16(R2), [V11.H8]
	VLD1.P 16(R3), [V12.H8]
	VLD1.P 16(R4), [V13.H8]
	BF16LO(V10, V31, V2)
	BF16HI(V10, V31, V3)
	BF16LO(V11, V31, V4)
	BF16HI(V11, V31, V5)
	BF16LO(V12, V31, V6)
	BF16HI(V12, V31, V7)
	BF16LO(V13, V31, V8)
	BF16HI(V13, V31, V9)
	DOT4FMA8
	SUBS   $1, R6
	BNE    dot4bf16_loop8

dot4bf16_tail:
	CBZ  R7, dot4bf16_done
	VLD1 (R0), [V0.S4]
	VLD1 (R1), [V10.H4]
	VLD1 (R2), [V11.H4]
	VLD1 (R3), [V12.H4]
	VLD1 (R4), [V13.H4]
	BF16LO(V10, V31, V2)
	BF16LO(V11, V31, V4)
	BF16LO(V12, V31, V6)
	BF16LO(V13, V31, V8)
	DOT4FMA4

dot4bf16_done:
	DOT4EPILOGUE

// func dot4F16NEON(y, x *float32, w *uint16, n, stride int)
TEXT ·dot4F16NEON(SB), NOSPLIT, $0-40
	MOVD y+0(FP), R5
	MOVD x+8(FP), R0
	MOVD w+16(FP), R1
	MOVD n+24(FP), R6
	MOVD stride+32(FP), R8
	LSL  $1, R8, R8 // uint16 elements
	DOT4PROLOGUE
	CBZ R6, dot4f16_tail

dot4f16_loop8:
	VLD1.P 32(R0), [V0.S4, V1.S4]
	VLD1.P 16(R1), [V10.H8]
	VLD1.P 16(R2), [V11.H8]
	VLD1.P 16(R3), [V12.H8]
	VLD1.P 16(R4), [V13.H8]
	FCVTL(10, 2)
	FCVTL2(10, 3)
	FCVTL(11, 4)
	FCVTL2(11, 5)
	FCVTL(12, 6)
	FCVTL2(12, 7)
	FCVTL(13, 8)
	FCVTL2(13, 9)
	DOT4FMA8
	SUBS   $1, R6
	BNE    dot4f16_loop8

dot4f16_tail:
	CBZ  R7, dot4f16_done
	VLD1 (R0), [V0.S4]
	VLD1 (R1), [V10.H4]
	VLD1 (R2), [V11.H4]
	VLD1 (R3), [V12.H4]
	VLD1 (R4), [V13.H4]
	FCVTL(10, 2)
	FCVTL(11, 4)
	FCVTL(12, 6)
	FCVTL(13, 8)
	DOT4FMA4

dot4f16_done:
	DOT4EPILOGUE

// ---------------------------------------------------------------------------
// Matrix-product microkernel: 4 tokens x 4 weight rows. Each iteration
// loads 4 floats from each of the 4 weight rows (widened once) and from
// each of the 4 token rows, and does 16 FMLAs: every weight load serves 4
// tokens. Accumulator V(16+4i+r) holds token i, row r. x and w rows are
// both ld elements long; n (a multiple of 4, <= ld) of them are summed.
// Result: y[i*ldy + r] for i, r in 0..3.

// MMPROLOGUE expects R9 = y, R10 = ldy, R0 = x, R4 = w, R8 = n,
// R11 = ld and R13 = ld in bytes of a weight row. It sets R0..R3 = token
// rows, R4..R7 = weight rows, R8 = iterations, R10 = y row stride in bytes,
// and clears the sixteen accumulators.
#define MMPROLOGUE \
	LSL  $2, R10, R10                \
	LSR  $2, R8, R8                  \
	LSL  $2, R11, R12                \
	ADD  R12, R0, R1                 \
	ADD  R12, R1, R2                 \
	ADD  R12, R2, R3                 \
	ADD  R13, R4, R5                 \
	ADD  R13, R5, R6                 \
	ADD  R13, R6, R7                 \
	VEOR V16.B16, V16.B16, V16.B16   \
	VEOR V17.B16, V17.B16, V17.B16   \
	VEOR V18.B16, V18.B16, V18.B16   \
	VEOR V19.B16, V19.B16, V19.B16   \
	VEOR V20.B16, V20.B16, V20.B16   \
	VEOR V21.B16, V21.B16, V21.B16   \
	VEOR V22.B16, V22.B16, V22.B16   \
	VEOR V23.B16, V23.B16, V23.B16   \
	VEOR V24.B16, V24.B16, V24.B16   \
	VEOR V25.B16, V25.B16, V25.B16   \
	VEOR V26.B16, V26.B16, V26.B16   \
	VEOR V27.B16, V27.B16, V27.B16   \
	VEOR V28.B16, V28.B16, V28.B16   \
	VEOR V29.B16, V29.B16, V29.B16   \
	VEOR V30.B16, V30.B16, V30.B16   \
	VEOR V31.B16, V31.B16, V31.B16

// MMLOADX loads 4 floats of each token row into V4..V7.
#define MMLOADX \
	VLD1.P 16(R0), [V4.S4] \
	VLD1.P 16(R1), [V5.S4] \
	VLD1.P 16(R2), [V6.S4] \
	VLD1.P 16(R3), [V7.S4]

// MMFMA does the 16 products of tokens V4..V7 with rows V0..V3.
#define MMFMA \
	VFMLA V0.S4, V4.S4, V16.S4 \
	VFMLA V1.S4, V4.S4, V17.S4 \
	VFMLA V2.S4, V4.S4, V18.S4 \
	VFMLA V3.S4, V4.S4, V19.S4 \
	VFMLA V0.S4, V5.S4, V20.S4 \
	VFMLA V1.S4, V5.S4, V21.S4 \
	VFMLA V2.S4, V5.S4, V22.S4 \
	VFMLA V3.S4, V5.S4, V23.S4 \
	VFMLA V0.S4, V6.S4, V24.S4 \
	VFMLA V1.S4, V6.S4, V25.S4 \
	VFMLA V2.S4, V6.S4, V26.S4 \
	VFMLA V3.S4, V6.S4, V27.S4 \
	VFMLA V0.S4, V7.S4, V28.S4 \
	VFMLA V1.S4, V7.S4, V29.S4 \
	VFMLA V2.S4, V7.S4, V30.S4 \
	VFMLA V3.S4, V7.S4, V31.S4

// MMEPILOGUE reduces each token's four row accumulators to one vector of
// four outputs and stores it at y + i*ldy.
#define MMEPILOGUE \
	REDUCE4(16, 17, 18, 19, 9, 8)   \
	VST1 [V8.S4], (R9)              \
	ADD  R10, R9                    \
	REDUCE4(20, 21, 22, 23, 9, 8)   \
	VST1 [V8.S4], (R9)              \
	ADD  R10, R9                    \
	REDUCE4(24, 25, 26, 27, 9, 8)   \
	VST1 [V8.S4], (R9)              \
	ADD  R10, R9                    \
	REDUCE4(28, 29, 30, 31, 9, 8)   \
	VST1 [V8.S4], (R9)              \
	RET

// func mm4x4F32NEON(y *float32, ldy int, x, w *float32, n, ld int)
TEXT ·mm4x4F32NEON(SB), NOSPLIT, $0-48
	MOVD y+0(FP), R9
	MOVD ldy+8(FP), R10
	MOVD x+16(FP), R0
	MOVD w+24(FP), R4
	MOVD n+32(FP), R8
	MOVD ld+40(FP), R11
	LSL  $2, R11, R13 // float32 weights
	MMPROLOGUE
	CBZ R8, mmf32_done

mmf32_loop:
	VLD1.P 16(R4), [V0.S4]
	VLD1.P 16(R5), [V1.S4]
	VLD1.P 16(R6), [V2.S4]
	VLD1.P 16(R7), [V3.S4]
	MMLOADX
	MMFMA
	SUBS $1, R8
	BNE  mmf32_loop

mmf32_done:
	MMEPILOGUE

// func mm4x4BF16NEON(y *float32, ldy int, x *float32, w *uint16, n, ld int)
TEXT ·mm4x4BF16NEON(SB), NOSPLIT, $0-48
	MOVD y+0(FP), R9
	MOVD ldy+8(FP), R10
	MOVD x+16(FP), R0
	MOVD w+24(FP), R4
	MOVD n+32(FP), R8
	MOVD ld+40(FP), R11
	LSL  $1, R11, R13 // uint16 weights
	MMPROLOGUE
	VEOR V14.B16, V14.B16, V14.B16 // zero, for widening
	CBZ  R8, mmbf16_done

mmbf16_loop:
	VLD1.P 8(R4), [V10.H4]
	VLD1.P 8(R5), [V11.H4]
	VLD1.P 8(R6), [V12.H4]
	VLD1.P 8(R7), [V13.H4]
	BF16LO(V10, V14, V0)
	BF16LO(V11, V14, V1)
	BF16LO(V12, V14, V2)
	BF16LO(V13, V14, V3)
	MMLOADX
	MMFMA
	SUBS $1, R8
	BNE  mmbf16_loop

mmbf16_done:
	MMEPILOGUE

// func mm4x4F16NEON(y *float32, ldy int, x *float32, w *uint16, n, ld int)
TEXT ·mm4x4F16NEON(SB), NOSPLIT, $0-48
	MOVD y+0(FP), R9
	MOVD ldy+8(FP), R10
	MOVD x+16(FP), R0
	MOVD w+24(FP), R4
	MOVD n+32(FP), R8
	MOVD ld+40(FP), R11
	LSL  $1, R11, R13 // uint16 weights
	MMPROLOGUE
	CBZ R8, mmf16_done

mmf16_loop:
	VLD1.P 8(R4), [V10.H4]
	VLD1.P 8(R5), [V11.H4]
	VLD1.P 8(R6), [V12.H4]
	VLD1.P 8(R7), [V13.H4]
	FCVTL(10, 0)
	FCVTL(11, 1)
	FCVTL(12, 2)
	FCVTL(13, 3)
	MMLOADX
	MMFMA
	SUBS $1, R8
	BNE  mmf16_loop

mmf16_done:
	MMEPILOGUE

// ---------------------------------------------------------------------------
// out[i] += a * v[i] (one row of a weighted sum of attention values).

// func axpyF32NEON(out, v *float32, n int, a float32)
TEXT ·axpyF32NEON(SB), NOSPLIT, $0-28
	MOVD  out+0(FP), R0
	MOVD  v+8(FP), R1
	MOVD  n+16(FP), R2
	FMOVS a+24(FP), F31
	VDUP  V31.S[0], V31.S4
	LSR   $4, R2, R3
	AND   $15, R2, R2
	LSR   $2, R2, R2
	CBZ   R3, axpyf32_tail

axpyf32_loop16:
	VLD1   (R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]
	VFMLA  V4.S4, V31.S4, V0.S4
	VFMLA  V5.S4, V31.S4, V1.S4
	VFMLA  V6.S4, V31.S4, V2.S4
	VFMLA  V7.S4, V31.S4, V3.S4
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0)
	SUBS   $1, R3
	BNE    axpyf32_loop16

axpyf32_tail:
	CBZ R2, axpyf32_done

axpyf32_loop4:
	VLD1   (R0), [V0.S4]
	VLD1.P 16(R1), [V4.S4]
	VFMLA  V4.S4, V31.S4, V0.S4
	VST1.P [V0.S4], 16(R0)
	SUBS   $1, R2
	BNE    axpyf32_loop4

axpyf32_done:
	RET

// func axpyF16NEON(out *float32, v *uint16, n int, a float32)
TEXT ·axpyF16NEON(SB), NOSPLIT, $0-28
	MOVD  out+0(FP), R0
	MOVD  v+8(FP), R1
	MOVD  n+16(FP), R2
	FMOVS a+24(FP), F31
	VDUP  V31.S[0], V31.S4
	LSR   $4, R2, R3
	AND   $15, R2, R2
	LSR   $2, R2, R2
	CBZ   R3, axpyf16_tail

axpyf16_loop16:
	VLD1   (R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 32(R1), [V8.H8, V9.H8]
	FCVTL(8, 4)
	FCVTL2(8, 5)
	FCVTL(9, 6)
	FCVTL2(9, 7)
	VFMLA  V4.S4, V31.S4, V0.S4
	VFMLA  V5.S4, V31.S4, V1.S4
	VFMLA  V6.S4, V31.S4, V2.S4
	VFMLA  V7.S4, V31.S4, V3.S4
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0)
	SUBS   $1, R3
	BNE    axpyf16_loop16

axpyf16_tail:
	CBZ R2, axpyf16_done

axpyf16_loop4:
	VLD1   (R0), [V0.S4]
	VLD1.P 8(R1), [V8.H4]
	FCVTL(8, 4)
	VFMLA  V4.S4, V31.S4, V0.S4
	VST1.P [V0.S4], 16(R0)
	SUBS   $1, R2
	BNE    axpyf16_loop4

axpyf16_done:
	RET

// Four value rows at once: out[i] += p[0]*v[i] + p[1]*v[stride+i] +
// p[2]*v[2*stride+i] + p[3]*v[3*stride+i], so out is loaded and stored once
// per four rows. Two chains (rows 0 and 2 onto out, rows 1 and 3 onto a
// product) keep consecutive FMLAs independent. n is a multiple of 4.

// AXPY4ARGS expects R0 = out, R1 = v, R5 = n, R6 = stride in bytes and
// R7 = p. It sets R1..R4 = the four rows, V28..V31 = p[0..3] in every lane,
// R5 = 8-float blocks and R8 = trailing 4-float block (0 or 1).
#define AXPY4SETUP \
	ADD    R6, R1, R2          \
	ADD    R6, R2, R3          \
	ADD    R6, R3, R4          \
	VLD1   (R7), [V27.S4]      \
	VDUP   V27.S[0], V28.S4    \
	VDUP   V27.S[1], V29.S4    \
	VDUP   V27.S[2], V30.S4    \
	VDUP   V27.S[3], V31.S4    \
	AND    $7, R5, R8          \
	LSR    $2, R8, R8          \
	LSR    $3, R5, R5

// AXPY4FMA8 adds rows V2:V3, V4:V5, V6:V7, V8:V9 into out V0:V1.
#define AXPY4FMA8 \
	VFMLA V2.S4, V28.S4, V0.S4  \
	VFMLA V3.S4, V28.S4, V1.S4  \
	FMUL4(29, 4, 10)            \
	FMUL4(29, 5, 11)            \
	VFMLA V6.S4, V30.S4, V0.S4  \
	VFMLA V7.S4, V30.S4, V1.S4  \
	VFMLA V8.S4, V31.S4, V10.S4 \
	VFMLA V9.S4, V31.S4, V11.S4 \
	FADD4(10, 0, 0)             \
	FADD4(11, 1, 1)

// AXPY4FMA4 adds rows V2, V4, V6, V8 into out V0.
#define AXPY4FMA4 \
	VFMLA V2.S4, V28.S4, V0.S4  \
	FMUL4(29, 4, 10)            \
	VFMLA V6.S4, V30.S4, V0.S4  \
	VFMLA V8.S4, V31.S4, V10.S4 \
	FADD4(10, 0, 0)

// func axpy4F32NEON(out, v *float32, n, stride int, p *float32)
TEXT ·axpy4F32NEON(SB), NOSPLIT, $0-40
	MOVD out+0(FP), R0
	MOVD v+8(FP), R1
	MOVD n+16(FP), R5
	MOVD stride+24(FP), R6
	LSL  $2, R6, R6 // float32 values
	MOVD p+32(FP), R7
	AXPY4SETUP
	CBZ  R5, axpy4f32_tail

axpy4f32_loop8:
	VLD1   (R0), [V0.S4, V1.S4]
	VLD1.P 32(R1), [V2.S4, V3.S4]
	VLD1.P 32(R2), [V4.S4, V5.S4]
	VLD1.P 32(R3), [V6.S4, V7.S4]
	VLD1.P 32(R4), [V8.S4, V9.S4]
	AXPY4FMA8
	VST1.P [V0.S4, V1.S4], 32(R0)
	SUBS   $1, R5
	BNE    axpy4f32_loop8

axpy4f32_tail:
	CBZ  R8, axpy4f32_done
	VLD1 (R0), [V0.S4]
	VLD1 (R1), [V2.S4]
	VLD1 (R2), [V4.S4]
	VLD1 (R3), [V6.S4]
	VLD1 (R4), [V8.S4]
	AXPY4FMA4
	VST1 [V0.S4], (R0)

axpy4f32_done:
	RET

// func axpy4F16NEON(out *float32, v *uint16, n, stride int, p *float32)
TEXT ·axpy4F16NEON(SB), NOSPLIT, $0-40
	MOVD out+0(FP), R0
	MOVD v+8(FP), R1
	MOVD n+16(FP), R5
	MOVD stride+24(FP), R6
	LSL  $1, R6, R6 // half values
	MOVD p+32(FP), R7
	AXPY4SETUP
	CBZ  R5, axpy4f16_tail

axpy4f16_loop8:
	VLD1   (R0), [V0.S4, V1.S4]
	VLD1.P 16(R1), [V12.H8]
	VLD1.P 16(R2), [V13.H8]
	VLD1.P 16(R3), [V14.H8]
	VLD1.P 16(R4), [V15.H8]
	FCVTL(12, 2)
	FCVTL2(12, 3)
	FCVTL(13, 4)
	FCVTL2(13, 5)
	FCVTL(14, 6)
	FCVTL2(14, 7)
	FCVTL(15, 8)
	FCVTL2(15, 9)
	AXPY4FMA8
	VST1.P [V0.S4, V1.S4], 32(R0)
	SUBS   $1, R5
	BNE    axpy4f16_loop8

axpy4f16_tail:
	CBZ  R8, axpy4f16_done
	VLD1 (R0), [V0.S4]
	VLD1 (R1), [V12.H4]
	VLD1 (R2), [V13.H4]
	VLD1 (R3), [V14.H4]
	VLD1 (R4), [V15.H4]
	FCVTL(12, 2)
	FCVTL(13, 4)
	FCVTL(14, 6)
	FCVTL(15, 8)
	AXPY4FMA4
	VST1 [V0.S4], (R0)

axpy4f16_done:
	RET

// ---------------------------------------------------------------------------
// Element-wise kernels.

// func addNEON(dst, x *float32, n int)
TEXT ·addNEON(SB), NOSPLIT, $0-24
	MOVD dst+0(FP), R0
	MOVD x+8(FP), R1
	MOVD n+16(FP), R2
	LSR  $4, R2, R3
	AND  $15, R2, R2
	LSR  $2, R2, R2
	CBZ  R3, add_tail

add_loop16:
	VLD1   (R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]
	FADD4(4, 0, 0)
	FADD4(5, 1, 1)
	FADD4(6, 2, 2)
	FADD4(7, 3, 3)
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0)
	SUBS   $1, R3
	BNE    add_loop16

add_tail:
	CBZ R2, add_done

add_loop4:
	VLD1   (R0), [V0.S4]
	VLD1.P 16(R1), [V4.S4]
	FADD4(4, 0, 0)
	VST1.P [V0.S4], 16(R0)
	SUBS   $1, R2
	BNE    add_loop4

add_done:
	RET

// func scaleNEON(x *float32, n int, a float32)
TEXT ·scaleNEON(SB), NOSPLIT, $0-20
	MOVD  x+0(FP), R0
	MOVD  n+8(FP), R2
	FMOVS a+16(FP), F31
	VDUP  V31.S[0], V31.S4
	LSR   $4, R2, R3
	AND   $15, R2, R2
	LSR   $2, R2, R2
	CBZ   R3, scale_tail

scale_loop16:
	VLD1   (R0), [V0.S4, V1.S4, V2.S4, V3.S4]
	FMUL4(31, 0, 0)
	FMUL4(31, 1, 1)
	FMUL4(31, 2, 2)
	FMUL4(31, 3, 3)
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0)
	SUBS   $1, R3
	BNE    scale_loop16

scale_tail:
	CBZ R2, scale_done

scale_loop4:
	VLD1   (R0), [V0.S4]
	FMUL4(31, 0, 0)
	VST1.P [V0.S4], 16(R0)
	SUBS   $1, R2
	BNE    scale_loop4

scale_done:
	RET

// func mulScaleNEON(out, x, w *float32, n int, a float32)
// out[i] = x[i] * a * w[i] (the RMSNorm output; out may be x).
TEXT ·mulScaleNEON(SB), NOSPLIT, $0-36
	MOVD  out+0(FP), R0
	MOVD  x+8(FP), R1
	MOVD  w+16(FP), R4
	MOVD  n+24(FP), R2
	FMOVS a+32(FP), F31
	VDUP  V31.S[0], V31.S4
	LSR   $4, R2, R3
	AND   $15, R2, R2
	LSR   $2, R2, R2
	CBZ   R3, mulscale_tail

mulscale_loop16:
	VLD1.P 64(R1), [V0.S4, V1.S4, V2.S4, V3.S4]
	VLD1.P 64(R4), [V4.S4, V5.S4, V6.S4, V7.S4]
	FMUL4(31, 0, 0)
	FMUL4(31, 1, 1)
	FMUL4(31, 2, 2)
	FMUL4(31, 3, 3)
	FMUL4(4, 0, 0)
	FMUL4(5, 1, 1)
	FMUL4(6, 2, 2)
	FMUL4(7, 3, 3)
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0)
	SUBS   $1, R3
	BNE    mulscale_loop16

mulscale_tail:
	CBZ R2, mulscale_done

mulscale_loop4:
	VLD1.P 16(R1), [V0.S4]
	VLD1.P 16(R4), [V4.S4]
	FMUL4(31, 0, 0)
	FMUL4(4, 0, 0)
	VST1.P [V0.S4], 16(R0)
	SUBS   $1, R2
	BNE    mulscale_loop4

mulscale_done:
	RET

// func bf16ToF32NEON(dst *float32, src *uint16, n int)
TEXT ·bf16ToF32NEON(SB), NOSPLIT, $0-24
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD n+16(FP), R2
	VEOR V31.B16, V31.B16, V31.B16
	LSR  $4, R2, R3
	AND  $15, R2, R2
	LSR  $2, R2, R2
	CBZ  R3, bf16cvt_tail

bf16cvt_loop16:
	VLD1.P 32(R1), [V4.H8, V5.H8]
	BF16LO(V4, V31, V0)
	BF16HI(V4, V31, V1)
	BF16LO(V5, V31, V2)
	BF16HI(V5, V31, V3)
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0)
	SUBS   $1, R3
	BNE    bf16cvt_loop16

bf16cvt_tail:
	CBZ R2, bf16cvt_done

bf16cvt_loop4:
	VLD1.P 8(R1), [V4.H4]
	BF16LO(V4, V31, V0)
	VST1.P [V0.S4], 16(R0)
	SUBS   $1, R2
	BNE    bf16cvt_loop4

bf16cvt_done:
	RET

// func f16ToF32NEON(dst *float32, src *uint16, n int)
TEXT ·f16ToF32NEON(SB), NOSPLIT, $0-24
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD n+16(FP), R2
	LSR  $4, R2, R3
	AND  $15, R2, R2
	LSR  $2, R2, R2
	CBZ  R3, f16cvt_tail

f16cvt_loop16:
	VLD1.P 32(R1), [V4.H8, V5.H8]
	FCVTL(4, 0)
	FCVTL2(4, 1)
	FCVTL(5, 2)
	FCVTL2(5, 3)
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R0)
	SUBS   $1, R3
	BNE    f16cvt_loop16

f16cvt_tail:
	CBZ R2, f16cvt_done

f16cvt_loop4:
	VLD1.P 8(R1), [V4.H4]
	FCVTL(4, 0)
	VST1.P [V0.S4], 16(R0)
	SUBS   $1, R2
	BNE    f16cvt_loop4

f16cvt_done:
	RET

// ---------------------------------------------------------------------------
// Vector e^x: the same Cephes polynomial and range reduction as expf in
// convert.go, four lanes at a time.
//
// EXPCONSTS loads the constants into V16..V31 (which the routines using
// EXP4 must leave alone):
//   V16 log2(e)   V17 0.5        V18 ln2 high   V19 ln2 low
//   V20..V25 polynomial coefficients, highest degree first
//   V26 lower limit -87.33654    V27 upper limit 88.72283
//   V28 1.0       V29 +Inf       V30 int32 127 (exponent bias)
//   V31 zero
// The bit patterns are those of the float32 constants in expf.
#define EXPCONSTS \
	MOVW $0x3fb8aa3b, R9; VDUP R9, V16.S4 \
	MOVW $0x3f000000, R9; VDUP R9, V17.S4 \
	MOVW $0x3f318000, R9; VDUP R9, V18.S4 \
	MOVW $0xb95e8083, R9; VDUP R9, V19.S4 \
	MOVW $0x39506967, R9; VDUP R9, V20.S4 \
	MOVW $0x3ab743ce, R9; VDUP R9, V21.S4 \
	MOVW $0x3c088908, R9; VDUP R9, V22.S4 \
	MOVW $0x3d2aa9c1, R9; VDUP R9, V23.S4 \
	MOVW $0x3e2aaaaa, R9; VDUP R9, V24.S4 \
	MOVW $0x3f000000, R9; VDUP R9, V25.S4 \
	MOVW $0xc2aeac4f, R9; VDUP R9, V26.S4 \
	MOVW $0x42b17217, R9; VDUP R9, V27.S4 \
	MOVW $0x3f800000, R9; VDUP R9, V28.S4 \
	MOVW $0x7f800000, R9; VDUP R9, V29.S4 \
	MOVW $127, R9; VDUP R9, V30.S4        \
	VEOR V31.B16, V31.B16, V31.B16

// EXP4 computes V6 = e^V0 lane-wise, using V1..V7 as scratch (V0 is kept).
//   xc = min(max(x, lo), hi)            clamp, so 2^n below stays finite
//   n  = floor(xc*log2e + 0.5)
//   r  = xc - n*ln2hi - n*ln2lo
//   p  = polynomial(r); p = (p*r)*r + r + 1
//   e  = p * 2^n1 * 2^n2 with n1 = floor(n/2), n2 = n - n1, so that each
//        power of two is a normal float32 (n ranges over [-126, 128])
//   lanes with x < lo become 0, with x > hi +Inf; NaN propagates.
#define EXP4 \
	FMAX4(26, 0, 1)                \
	FMIN4(27, 1, 1)                \
	FMUL4(16, 1, 2)                \
	FADD4(17, 2, 2)                \
	FRINTM4(2, 2)                  \
	VMOV   V1.B16, V3.B16          \
	VFMLS  V18.S4, V2.S4, V3.S4    \
	VFMLS  V19.S4, V2.S4, V3.S4    \
	VMOV   V21.B16, V4.B16         \
	VFMLA  V20.S4, V3.S4, V4.S4    \
	VMOV   V22.B16, V5.B16         \
	VFMLA  V4.S4, V3.S4, V5.S4     \
	VMOV   V23.B16, V4.B16         \
	VFMLA  V5.S4, V3.S4, V4.S4     \
	VMOV   V24.B16, V5.B16         \
	VFMLA  V4.S4, V3.S4, V5.S4     \
	VMOV   V25.B16, V4.B16         \
	VFMLA  V5.S4, V3.S4, V4.S4     \
	FMUL4(3, 4, 5)                 \
	VMOV   V3.B16, V6.B16          \
	VFMLA  V5.S4, V3.S4, V6.S4     \
	FADD4(28, 6, 6)                \
	FMUL4(17, 2, 5)                \
	FRINTM4(5, 5)                  \
	FSUB4(5, 2, 2)                 \
	FCVTZS4(5, 5)                  \
	FCVTZS4(2, 2)                  \
	VADD   V30.S4, V5.S4, V5.S4    \
	VADD   V30.S4, V2.S4, V2.S4    \
	VSHL   $23, V5.S4, V5.S4       \
	VSHL   $23, V2.S4, V2.S4       \
	FMUL4(5, 6, 6)                 \
	FMUL4(2, 6, 6)                 \
	FCMGT4(0, 26, 7)               \
	VBIT   V7.B16, V31.B16, V6.B16 \
	FCMGT4(27, 0, 7)               \
	VBIT   V7.B16, V29.B16, V6.B16

// func maxF32NEON(x *float32, n int) float32  (n >= 4)
TEXT ·maxF32NEON(SB), NOSPLIT, $0-20
	MOVD   x+0(FP), R0
	MOVD   n+8(FP), R2
	LSR    $2, R2, R2
	VLD1.P 16(R0), [V16.S4]
	SUBS   $1, R2
	BEQ    max_done

max_loop4:
	VLD1.P 16(R0), [V0.S4]
	FMAX4(0, 16, 16)
	SUBS   $1, R2
	BNE    max_loop4

max_done:
	FMAXV4(16, 0)
	FMOVS F0, ret+16(FP)
	RET

// func expSumNEON(x *float32, n int, m float32) float32
// x[i] = e^(x[i]-m); returns the sum of the new values.
TEXT ·expSumNEON(SB), NOSPLIT, $0-28
	MOVD  x+0(FP), R0
	MOVD  n+8(FP), R2
	FMOVS m+16(FP), F9
	VDUP  V9.S[0], V9.S4
	EXPCONSTS
	VEOR  V8.B16, V8.B16, V8.B16 // running sum
	LSR   $2, R2, R2
	CBZ   R2, expsum_done

expsum_loop4:
	VLD1   (R0), [V0.S4]
	FSUB4(9, 0, 0)
	EXP4
	FADD4(6, 8, 8)
	VST1.P [V6.S4], 16(R0)
	SUBS   $1, R2
	BNE    expsum_loop4

expsum_done:
	FADDP4(8, 8, 8)
	FADDPS(8, 0)
	FMOVS F0, ret+24(FP)
	RET

// func swiGLUNEON(out, gate, up *float32, n int)
// out[i] = gate[i] / (1 + e^-gate[i]) * up[i]; out may alias gate or up.
TEXT ·swiGLUNEON(SB), NOSPLIT, $0-32
	MOVD out+0(FP), R0
	MOVD gate+8(FP), R1
	MOVD up+16(FP), R2
	MOVD n+24(FP), R3
	EXPCONSTS
	LSR  $2, R3, R3
	CBZ  R3, swiglu_done

swiglu_loop4:
	VLD1.P 16(R1), [V9.S4]
	VLD1.P 16(R2), [V10.S4]
	FSUB4(9, 31, 0)   // -g
	EXP4
	FADD4(28, 6, 6)   // 1 + e^-g
	FDIV4(6, 9, 6)    // g / (1 + e^-g)
	FMUL4(10, 6, 6)   // * up
	VST1.P [V6.S4], 16(R0)
	SUBS   $1, R3
	BNE    swiglu_loop4

swiglu_done:
	RET

// ---------------------------------------------------------------------------
// Rotary embedding. Both layouts compute, for pairs (a, b) and angles
// (cos, sin): a' = a*cos - b*sin, b' = a*sin + b*cos.

// ROTATE takes a in V0, b in V1, cos in V2, sin in V3 and leaves a' in V4
// and b' in V5.
#define ROTATE \
	FMUL4(2, 0, 4)              \
	VFMLS V3.S4, V1.S4, V4.S4   \
	FMUL4(3, 0, 5)              \
	VFMLA V2.S4, V1.S4, V5.S4

// func ropeHalfNEON(lo, hi, cos, sin *float32, n int)
// Rotate-half layout: a = lo[i], b = hi[i] (the two halves of a head).
TEXT ·ropeHalfNEON(SB), NOSPLIT, $0-40
	MOVD lo+0(FP), R0
	MOVD hi+8(FP), R1
	MOVD cos+16(FP), R2
	MOVD sin+24(FP), R3
	MOVD n+32(FP), R4
	LSR  $2, R4, R4
	CBZ  R4, ropehalf_done

ropehalf_loop4:
	VLD1   (R0), [V0.S4]
	VLD1   (R1), [V1.S4]
	VLD1.P 16(R2), [V2.S4]
	VLD1.P 16(R3), [V3.S4]
	ROTATE
	VST1.P [V4.S4], 16(R0)
	VST1.P [V5.S4], 16(R1)
	SUBS   $1, R4
	BNE    ropehalf_loop4

ropehalf_done:
	RET

// func ropePairsNEON(x, cos, sin *float32, n int)
// Interleaved layout: a = x[2i], b = x[2i+1]. LD2 de-interleaves four
// pairs into evens (V0) and odds (V1); ST2 interleaves them back.
TEXT ·ropePairsNEON(SB), NOSPLIT, $0-32
	MOVD x+0(FP), R0
	MOVD cos+8(FP), R2
	MOVD sin+16(FP), R3
	MOVD n+24(FP), R4
	LSR  $2, R4, R4
	CBZ  R4, ropepairs_done

ropepairs_loop4:
	VLD2   (R0), [V0.S4, V1.S4]
	VLD1.P 16(R2), [V2.S4]
	VLD1.P 16(R3), [V3.S4]
	ROTATE
	VST2.P [V4.S4, V5.S4], 32(R0)
	SUBS   $1, R4
	BNE    ropepairs_loop4

ropepairs_done:
	RET

// ---------------------------------------------------------------------------
// float32 -> half precision. FCVTN rounds to nearest even, overflows to
// infinity and produces subnormals exactly as FloatToF16; only NaNs differ
// (the hardware keeps payload bits), so NaN lanes are replaced by
// FloatToF16's sign | 0x7e00: computed from the converted value h as
// (h & 0xfe00) | 0x7e00, because a converted NaN already has the exponent
// and quiet bits set.

// F16NANFIX takes the converted halves in V2 and the not-NaN mask of the
// inputs, narrowed to 16-bit lanes, in V5; V30 = 0xfe00, V29 = 0x7e00.
#define F16NANFIX \
	VAND V30.B16, V2.B16, V6.B16  \
	VORR V29.B16, V6.B16, V6.B16  \
	VBIF V5.B16, V6.B16, V2.B16

// func f32ToF16NEON(dst *uint16, src *float32, n int)
TEXT ·f32ToF16NEON(SB), NOSPLIT, $0-24
	MOVD dst+0(FP), R0
	MOVD src+8(FP), R1
	MOVD n+16(FP), R2
	MOVW $0xfe00, R9
	VDUP R9, V30.H8
	MOVW $0x7e00, R9
	VDUP R9, V29.H8
	LSR  $3, R2, R3
	AND  $7, R2, R2
	LSR  $2, R2, R2
	CBZ  R3, f32cvt_tail

f32cvt_loop8:
	VLD1.P 32(R1), [V0.S4, V1.S4]
	FCVTN(0, 2)
	FCVTN2(1, 2)
	FCMEQ4(0, 0, 3)
	FCMEQ4(1, 1, 4)
	XTN(3, 5)
	XTN2(4, 5)
	F16NANFIX
	VST1.P [V2.H8], 16(R0)
	SUBS   $1, R3
	BNE    f32cvt_loop8

f32cvt_tail:
	CBZ R2, f32cvt_done
	VLD1 (R1), [V0.S4]
	FCVTN(0, 2)
	FCMEQ4(0, 0, 3)
	XTN(3, 5)
	F16NANFIX
	VST1 [V2.H4], (R0)

f32cvt_done:
	RET
