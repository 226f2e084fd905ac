//go:build amd64 && !noasm

#include "textflag.h"

// AVX-512 K-quant matrix-product kernels (Q2_K..Q6_K weights with this
// package's Q8_K activations; layout in quantk.go). Each function runs one
// group of R = 1..4 activation rows against `rows` weight rows:
//
//	func(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)
//
// y[i*ldy+r] (ldy in bytes) = dot(weight row r, activation row i); rb and
// as are the byte strides of weight and activation rows, nb the number of
// super-blocks per row. Every weight super-block is unpacked once into
// registers (4 zmm of 64 unsigned bytes in element order, 4 zmm of
// 16-bit scales) and used for all R activation rows, so that one weight
// row streams from memory once per group.
//
// The products per 64 elements are VPMADDUBSW (weights u8 x activations
// s8 -> pairs in s16, never saturating: 2*63*127 < 32767) followed by
// VPDPWSSD with the sub-block scales (VNNI) or VPMADDWD + VPADDD; the
// integer sum of a super-block is exact, converted to float once and
// scaled by d(weight)*d(activation), as ggml's vec_dot does.
//
// Register use common to all kernels:
//	DI y, R8 ldy, SI weight block, R12 weight row, CX blocks left,
//	DX activation group base, R9 activation row stride,
//	R10 activation block (row 0), R11 = R10 + R9;
//	Z0-Z3 weights, Z4-Z7 scales, Z12-Z15 per-row int sums,
//	Z20-Z23 per-row float sums.

// Software prefetch, per weight block: PFN bytes ahead into L1 and PFF
// bytes ahead into L2. With the weights in DRAM the hardware streamer
// alone left the t=1 kernels near 65% of the read bandwidth, one T0
// distance near 80-90%; the two distances measured 96-100% against
// SumSquares in the same runs (loaded machine, GB per CPU-second; an
// Intel host, at 512 and 4096). On the EPYC (Zen 4) host the far
// distance was short: BenchmarkMatMulQ6_K t=1 from DRAM read 16-18 GB/s
// at 512/4096 and 20-23 at 1024/16384 on one thread (Q4_K 14-16 and
// 16-17), 32 KiB no better; 16 KiB is also what the zmm Q8_0/Q4_0
// kernels' L2 prefetch gained from on Intel.
#define PFN 1024
#define PFF 16384

// Row addresses of the four activation rows of a block.
#define A0 (R10)
#define A1 (R10)(R9*1)
#define A2 (R10)(R9*2)
#define A3 (R11)(R9*2)

// ---------------------------------------------------------------- Q4_K

// Q4_K block: f16 d @0, f16 dmin @2, scales[12] @4, qs[128] @16.
// The 8 scales and 8 mins are unpacked in general registers (ggml's
// kmask trick) into Y8 = s16 [s0..3, m0..3, s4..7, m4..7]; Z9/Z10 hold
// d and dmin broadcast. On Zen 4 (BenchmarkMatMulKL2/Q4_K, t=1, 2026-12-04)
// the block is bound by its vector work, not its loads: removing one part
// at a time (wrong results) took it from 19.8-21.3 GB/s to 22.8-23.4
// without the VPERMWs, 24.7-25.5 without the scale unpack, 23.9-25.9
// without the nibble shifts and masks, 21.2-21.3 without the prefetches.
// Two replacements measured no better: the unpack in one xmm register
// (VPSLLDQ/VPSRLW/VPTERNLOGD), 21.2 against 23.1, and VPSHUFB for VPERMW.
// One that did gain, with GFNI: the nibble split in half the
// instructions (Q4K_NIBBLES_GF, in the one-row kernel kQ4K512G1).
// Q4K_SCALES is the prefetches, the scales spread into Z4-Z7, and the
// codes broadcast into both halves of Z0-Z3; Q4K_NIBBLES or
// Q4K_NIBBLES_GF then splits them, Q4K_D loads d and dmin.
#define Q4K_SCALES \
	PREFETCHT0 PFN(SI) \
	PREFETCHT2 PFF(SI) \
	PREFETCHT0 PFN+64(SI) \
	PREFETCHT2 PFF+64(SI) \
	PREFETCHT0 PFN+128(SI) \
	PREFETCHT2 PFF+128(SI) \
	MOVQ 4(SI), AX \
	MOVQ AX, R14 \
	ANDQ ·kMask3F(SB), R14 \
	SHRQ $6, AX \
	ANDQ ·kMask03(SB), AX \
	SHLQ $4, AX \
	MOVL 12(SI), BX \
	MOVQ BX, R13 \
	SHLQ $28, R13 \
	ORQ R13, BX \
	ANDQ ·kMask0F(SB), BX \
	ORQ AX, BX \
	VMOVQ R14, X8 \
	VPINSRQ $1, BX, X8, X8 \
	VPMOVZXBW X8, Y8 \
	VPERMW Z8, Z11, Z4 \
	VPERMW Z8, Z28, Z5 \
	VPERMW Z8, Z29, Z6 \
	VPERMW Z8, Z30, Z7 \
	VBROADCASTI64X4 16(SI), Z0 \
	VBROADCASTI64X4 48(SI), Z1 \
	VBROADCASTI64X4 80(SI), Z2 \
	VBROADCASTI64X4 112(SI), Z3

// Q4K_NIBBLES splits Q4K_SCALES' broadcast codes: the low nibbles in the
// lower 256 bits of Z0-Z3, the high ones in the upper.
#define Q4K_NIBBLES \
	VPSRLVQ Z25, Z0, Z0 \
	VPSRLVQ Z25, Z1, Z1 \
	VPSRLVQ Z25, Z2, Z2 \
	VPSRLVQ Z25, Z3, Z3 \
	VPANDQ Z24, Z0, Z0 \
	VPANDQ Z24, Z1, Z1 \
	VPANDQ Z24, Z2, Z2 \
	VPANDQ Z24, Z3, Z3

// Q4K_NIBBLES_GF is Q4K_NIBBLES in one GF2P8AFFINEQB a register (GFNI),
// with Z31 the per-qword matrices of kGFNibbles: the lower four keep each
// byte's low nibble, the upper four shift it right by 4.
#define Q4K_NIBBLES_GF \
	VGF2P8AFFINEQB $0, Z31, Z0, Z0 \
	VGF2P8AFFINEQB $0, Z31, Z1, Z1 \
	VGF2P8AFFINEQB $0, Z31, Z2, Z2 \
	VGF2P8AFFINEQB $0, Z31, Z3, Z3

// Q4K_D broadcasts the block's d into Z9 and dmin into Z10.
#define Q4K_D \
	VPBROADCASTD (SI), Y9 \
	VCVTPH2PS Y9, Z10 \
	VSHUFPS $0x00, Z10, Z10, Z9 \
	VSHUFPS $0x55, Z10, Z10, Z10

// Q4K_BLOCK unpacks one Q4_K block into Z0-Z10 (see Q4K_SCALES).
#define Q4K_BLOCK Q4K_SCALES; Q4K_NIBBLES; Q4K_D

// Q4K_ROW_V: one activation row A of a Q4_K (or Q5_K) block with VNNI;
// ACC int sums, MY/MZ the min products (ymm/zmm names of one register),
// F the row's float sums.
#define Q4K_ROW_V(A, ACC, MY, MZ, F) \
	VPMADDUBSW 0 A, Z0, Z26 \
	VPMADDUBSW 64 A, Z1, Z27 \
	VPMADDWD Z4, Z26, ACC \
	VPDPWSSD Z5, Z27, ACC \
	VPMADDUBSW 128 A, Z2, Z26 \
	VPMADDUBSW 192 A, Z3, Z27 \
	VPDPWSSD Z6, Z26, ACC \
	VPDPWSSD Z7, Z27, ACC \
	VPMADDWD 288 A, Y8, MY \
	VCVTDQ2PS ACC, ACC \
	VCVTDQ2PS MZ, MZ \
	VMULPS Z9, ACC, ACC \
	VFNMADD231PS Z10, MZ, ACC \
	VFMADD231PS.BCST 320 A, ACC, F

// Q4K_ROW_N: Q4K_ROW_V without VNNI.
#define Q4K_ROW_N(A, ACC, MY, MZ, F) \
	VPMADDUBSW 0 A, Z0, Z26 \
	VPMADDUBSW 64 A, Z1, Z27 \
	VPMADDWD Z4, Z26, ACC \
	VPMADDWD Z5, Z27, Z27 \
	VPADDD Z27, ACC, ACC \
	VPMADDUBSW 128 A, Z2, Z26 \
	VPMADDUBSW 192 A, Z3, Z27 \
	VPMADDWD Z6, Z26, Z26 \
	VPMADDWD Z7, Z27, Z27 \
	VPADDD Z26, ACC, ACC \
	VPADDD Z27, ACC, ACC \
	VPMADDWD 288 A, Y8, MY \
	VCVTDQ2PS ACC, ACC \
	VCVTDQ2PS MZ, MZ \
	VMULPS Z9, ACC, ACC \
	VFNMADD231PS Z10, MZ, ACC \
	VFMADD231PS.BCST 320 A, ACC, F

// Q2K_ROW_V/N: Q4K_ROW_V/N with the mins over the 16-sums (offset 256);
// ACC int sums, MY/MZ the min products (ymm/zmm names of one register),
// F the row's float sums.
#define Q2K_ROW_V(A, ACC, MY, MZ, F) \
	VPMADDUBSW 0 A, Z0, Z26 \
	VPMADDUBSW 64 A, Z1, Z27 \
	VPMADDWD Z4, Z26, ACC \
	VPDPWSSD Z5, Z27, ACC \
	VPMADDUBSW 128 A, Z2, Z26 \
	VPMADDUBSW 192 A, Z3, Z27 \
	VPDPWSSD Z6, Z26, ACC \
	VPDPWSSD Z7, Z27, ACC \
	VPMADDWD 256 A, Y8, MY \
	VCVTDQ2PS ACC, ACC \
	VCVTDQ2PS MZ, MZ \
	VMULPS Z9, ACC, ACC \
	VFNMADD231PS Z10, MZ, ACC \
	VFMADD231PS.BCST 320 A, ACC, F

// Q2K_ROW_N: Q2K_ROW_V without VNNI.
#define Q2K_ROW_N(A, ACC, MY, MZ, F) \
	VPMADDUBSW 0 A, Z0, Z26 \
	VPMADDUBSW 64 A, Z1, Z27 \
	VPMADDWD Z4, Z26, ACC \
	VPMADDWD Z5, Z27, Z27 \
	VPADDD Z27, ACC, ACC \
	VPMADDUBSW 128 A, Z2, Z26 \
	VPMADDUBSW 192 A, Z3, Z27 \
	VPMADDWD Z6, Z26, Z26 \
	VPMADDWD Z7, Z27, Z27 \
	VPADDD Z26, ACC, ACC \
	VPADDD Z27, ACC, ACC \
	VPMADDWD 256 A, Y8, MY \
	VCVTDQ2PS ACC, ACC \
	VCVTDQ2PS MZ, MZ \
	VMULPS Z9, ACC, ACC \
	VFNMADD231PS Z10, MZ, ACC \
	VFMADD231PS.BCST 320 A, ACC, F

// Constants of the Q4_K kernels: Z24 nibble mask, Z25 shift counts
// (0 for the low 256 bits, 4 for the high), Z11/Z28-Z30 the VPERMW
// indices that spread scales 2c, 2c+1 over 16 lanes each.
#define Q4K_CONSTS \
	VPBROADCASTB ·kByte0F(SB), Z24 \
	VMOVDQU64 ·kShift04(SB), Z25 \
	VMOVDQU64 ·kQ4KPerm+0(SB), Z11 \
	VMOVDQU64 ·kQ4KPerm+64(SB), Z28 \
	VMOVDQU64 ·kQ4KPerm+128(SB), Z29 \
	VMOVDQU64 ·kQ4KPerm+192(SB), Z30

// ---------------------------------------------------------------- Q5_K

// Q5_K block: f16 d @0, f16 dmin @2, scales[12] @4, qh[32] @16,
// qs[128] @48. Scales, mins, d and dmin as Q4_K. The fifth bit of chunk
// c is qh bit 2c (low 32 elements) and 2c+1 (high 32): a per-qword
// rotation by the counts of kQ5KRot brings it to bit 4 of each byte, and
// VPTERNLOGD merges it under the mask 0x10.
#define Q5K_CHUNK(QS, ROT, W) \
	VBROADCASTI64X4 QS(SI), W \
	VPSRLVQ Z25, W, W \
	VPANDQ Z24, W, W \
	VPROLVQ ·kQ5KRot+ROT(SB), Z31, Z26 \
	VPTERNLOGD.BCST $0xF8, ·kDword10(SB), Z26, W

// Q5K_CHUNK_GF is Q5K_CHUNK with GFNI, M the chunk's kQ5KFifth matrices
// (each byte's bit 2c or 2c+1 to bit 4, nothing else) and Z25 those of
// kGFNibbles: three vector instructions where Q5K_CHUNK takes four.
#define Q5K_CHUNK_GF(QS, M, W) \
	VBROADCASTI64X4 QS(SI), W \
	VGF2P8AFFINEQB $0, Z25, W, W \
	VGF2P8AFFINEQB $0, M, Z31, Z26 \
	VPORD Z26, W, W

// Q5K_SCALES is Q4K_SCALES for Q5_K, with qh broadcast into Z31 in
// place of the codes, which Q5K_CHUNKS or Q5K_CHUNKS_GF then unpack.
#define Q5K_SCALES \
	PREFETCHT0 PFN(SI) \
	PREFETCHT2 PFF(SI) \
	PREFETCHT0 PFN+64(SI) \
	PREFETCHT2 PFF+64(SI) \
	PREFETCHT0 PFN+128(SI) \
	PREFETCHT2 PFF+128(SI) \
	MOVQ 4(SI), AX \
	MOVQ AX, R14 \
	ANDQ ·kMask3F(SB), R14 \
	SHRQ $6, AX \
	ANDQ ·kMask03(SB), AX \
	SHLQ $4, AX \
	MOVL 12(SI), BX \
	MOVQ BX, R13 \
	SHLQ $28, R13 \
	ORQ R13, BX \
	ANDQ ·kMask0F(SB), BX \
	ORQ AX, BX \
	VMOVQ R14, X8 \
	VPINSRQ $1, BX, X8, X8 \
	VPMOVZXBW X8, Y8 \
	VPERMW Z8, Z11, Z4 \
	VPERMW Z8, Z28, Z5 \
	VPERMW Z8, Z29, Z6 \
	VPERMW Z8, Z30, Z7 \
	VBROADCASTI64X4 16(SI), Z31

#define Q5K_CHUNKS \
	Q5K_CHUNK(48, 0, Z0) \
	Q5K_CHUNK(80, 64, Z1) \
	Q5K_CHUNK(112, 128, Z2) \
	Q5K_CHUNK(144, 192, Z3)

// Q5K_CHUNKS_GF: the matrices of chunks 0-3 in Z13, Z14, Z15, Z17.
#define Q5K_CHUNKS_GF \
	Q5K_CHUNK_GF(48, Z13, Z0) \
	Q5K_CHUNK_GF(80, Z14, Z1) \
	Q5K_CHUNK_GF(112, Z15, Z2) \
	Q5K_CHUNK_GF(144, Z17, Z3)

#define Q5K_BLOCK Q5K_SCALES; Q5K_CHUNKS; Q4K_D

// ---------------------------------------------------------------- Q6_K

// Q6_K block: ql[128] @0, qh[64] @128, scales[16] (s8) @192, f16 d @208.
// Elements 128h+0..63 are the low nibbles of ql[64h..64h+63] with qh
// bits 0-1 (first 32) and 2-3 (next 32) as bits 4-5; elements
// 128h+64..127 the high nibbles with bits 4-5 and 6-7. The values are
// taken unsigned (0..63); the -32 is folded in as -32*sum(scale*bsum),
// Y9 = -32*scales, multiplied with the activation's 16-sums.
#define Q6K_HALF(QL, QH, W0, W1) \
	VMOVDQU64 QL(SI), Z26 \
	VBROADCASTI64X4 QH(SI), Z27 \
	VPANDQ Z24, Z26, W0 \
	VPSLLVQ Z25, Z27, Z28 \
	VPTERNLOGQ $0xF8, Z19, Z28, W0 \
	VPSRLW $4, Z26, W1 \
	VPSRLVQ Z29, Z27, Z28 \
	VPANDQ Z19, Z28, Z28 \
	VPTERNLOGQ $0xE4, Z24, Z28, W1

#define Q6K_BLOCK \
	PREFETCHT0 PFN(SI) \
	PREFETCHT2 PFF(SI) \
	PREFETCHT0 PFN+64(SI) \
	PREFETCHT2 PFF+64(SI) \
	PREFETCHT0 PFN+128(SI) \
	PREFETCHT2 PFF+128(SI) \
	PREFETCHT0 PFN+192(SI) \
	PREFETCHT2 PFF+192(SI) \
	VPMOVSXBW 192(SI), Y8 \
	VPMULLW Y18, Y8, Y9 \
	VPERMW Z8, Z11, Z4 \
	VPERMW Z8, Z16, Z5 \
	VPERMW Z8, Z17, Z6 \
	VPERMW Z8, Z31, Z7 \
	Q6K_HALF(0, 128, Z0, Z1) \
	Q6K_HALF(64, 160, Z2, Z3) \
	VPBROADCASTW 208(SI), Y10 \
	VCVTPH2PS Y10, Z10

#define Q6K_ROW_V(A, ACC, F) \
	VPMADDUBSW 0 A, Z0, Z26 \
	VPMADDUBSW 64 A, Z1, Z27 \
	VPMADDWD 256 A, Z9, ACC \
	VPDPWSSD Z4, Z26, ACC \
	VPDPWSSD Z5, Z27, ACC \
	VPMADDUBSW 128 A, Z2, Z26 \
	VPMADDUBSW 192 A, Z3, Z27 \
	VPDPWSSD Z6, Z26, ACC \
	VPDPWSSD Z7, Z27, ACC \
	VCVTDQ2PS ACC, ACC \
	VMULPS Z10, ACC, ACC \
	VFMADD231PS.BCST 320 A, ACC, F

#define Q6K_ROW_N(A, ACC, F) \
	VPMADDUBSW 0 A, Z0, Z26 \
	VPMADDUBSW 64 A, Z1, Z27 \
	VPMADDWD 256 A, Z9, ACC \
	VPMADDWD Z4, Z26, Z26 \
	VPMADDWD Z5, Z27, Z27 \
	VPADDD Z26, ACC, ACC \
	VPADDD Z27, ACC, ACC \
	VPMADDUBSW 128 A, Z2, Z26 \
	VPMADDUBSW 192 A, Z3, Z27 \
	VPMADDWD Z6, Z26, Z26 \
	VPMADDWD Z7, Z27, Z27 \
	VPADDD Z26, ACC, ACC \
	VPADDD Z27, ACC, ACC \
	VCVTDQ2PS ACC, ACC \
	VMULPS Z10, ACC, ACC \
	VFMADD231PS.BCST 320 A, ACC, F

// Q6K_CONSTS: Z24 0x0F, Z19 0x30, Z25/Z29 the qh shift counts of the
// first and second 64 of a half, Z11/Z16/Z17/Z31 the scale spreads,
// Y18 sixteen -32s.
#define Q6K_CONSTS \
	VPBROADCASTB ·kByte0F(SB), Z24 \
	VPBROADCASTB ·kByte30(SB), Z19 \
	VMOVDQU64 ·kQ6KShl(SB), Z25 \
	VMOVDQU64 ·kQ6KShr(SB), Z29 \
	VMOVDQU64 ·kQ6KPerm+0(SB), Z11 \
	VMOVDQU64 ·kQ6KPerm+64(SB), Z16 \
	VMOVDQU64 ·kQ6KPerm+128(SB), Z17 \
	VMOVDQU64 ·kQ6KPerm+192(SB), Z31 \
	VPBROADCASTW ·kWordM32(SB), Y18

// ---------------------------------------------------------------- Q3_K

// Q3_K block: hmask[32] @0, qs[64] @32, scales[12] @96, f16 d @108.
// Chunk c (elements 64c..64c+63) is bits 2j of qs[32(c/2)..] for j =
// 2(c%2) (low 32) and j+1 (high 32), with hmask bit 4(c/2)+j as bit 2:
// unsigned 0..7, the -4 folded in through the 16-sums like Q6_K's -32.
// The 16 6-bit scales unpack in general registers (ggml's kmask trick
// on 64 bits) into Y8, minus 32.
#define Q3K_CHUNK(QS, C, W) \
	VBROADCASTI64X4 QS(SI), Z26 \
	VPSRLVQ ·kQ3KShr+C(SB), Z26, W \
	VPANDQ Z24, W, W \
	VPROLVQ ·kQ3KRot+C(SB), Z29, Z27 \
	VPTERNLOGD.BCST $0xF8, ·kDword04(SB), Z27, W

#define Q3K_BLOCK \
	PREFETCHT0 PFN(SI) \
	PREFETCHT2 PFF(SI) \
	PREFETCHT0 PFN+64(SI) \
	PREFETCHT2 PFF+64(SI) \
	MOVQ 96(SI), AX \
	MOVL 104(SI), BX \
	MOVQ BX, R13 \
	SHLQ $30, R13 \
	ORQ R13, BX \
	MOVQ AX, R14 \
	ANDQ ·kMask0F(SB), R14 \
	MOVQ BX, R13 \
	ANDQ ·kMask03(SB), R13 \
	SHLQ $4, R13 \
	ORQ R13, R14 \
	SHRQ $4, AX \
	ANDQ ·kMask0F(SB), AX \
	SHRQ $4, BX \
	ANDQ ·kMask03(SB), BX \
	SHLQ $4, BX \
	ORQ BX, AX \
	VMOVQ R14, X8 \
	VPINSRQ $1, AX, X8, X8 \
	VPMOVZXBW X8, Y8 \
	VPSUBW ·kWords32(SB), Y8, Y8 \
	VPMULLW Y18, Y8, Y9 \
	VPERMW Z8, Z11, Z4 \
	VPERMW Z8, Z16, Z5 \
	VPERMW Z8, Z17, Z6 \
	VPERMW Z8, Z31, Z7 \
	VBROADCASTI64X4 0(SI), Z29 \
	Q3K_CHUNK(32, 0, Z0) \
	Q3K_CHUNK(32, 64, Z1) \
	Q3K_CHUNK(64, 128, Z2) \
	Q3K_CHUNK(64, 192, Z3) \
	VPBROADCASTW 108(SI), Y10 \
	VCVTPH2PS Y10, Z10

// Q3K_CONSTS: Z24 0x03, the Q6_K scale spreads, Y18 sixteen -4s.
#define Q3K_CONSTS \
	VPBROADCASTB ·kByte03(SB), Z24 \
	VMOVDQU64 ·kQ6KPerm+0(SB), Z11 \
	VMOVDQU64 ·kQ6KPerm+64(SB), Z16 \
	VMOVDQU64 ·kQ6KPerm+128(SB), Z17 \
	VMOVDQU64 ·kQ6KPerm+192(SB), Z31 \
	VPBROADCASTW ·kWordM4(SB), Y18

// ---------------------------------------------------------------- Q2_K

// Q2_K block: scales[16] @0 (scale low nibble, min high), qs[64] @16,
// f16 d @80, f16 dmin @82. Chunks as Q3_K without the high bit; the
// scales spread by VPERMW from Y9, the mins (Y8) multiply the 16-sums.
#define Q2K_BLOCK \
	PREFETCHT0 PFN(SI) \
	PREFETCHT2 PFF(SI) \
	PREFETCHT0 PFN+64(SI) \
	PREFETCHT2 PFF+64(SI) \
	VPMOVZXBW 0(SI), Y8 \
	VPAND ·kWords0F(SB), Y8, Y9 \
	VPSRLW $4, Y8, Y8 \
	VPERMW Z9, Z11, Z4 \
	VPERMW Z9, Z28, Z5 \
	VPERMW Z9, Z29, Z6 \
	VPERMW Z9, Z30, Z7 \
	VBROADCASTI64X4 16(SI), Z26 \
	VBROADCASTI64X4 48(SI), Z27 \
	VPSRLVQ ·kQ3KShr+0(SB), Z26, Z0 \
	VPSRLVQ ·kQ3KShr+64(SB), Z26, Z1 \
	VPSRLVQ ·kQ3KShr+0(SB), Z27, Z2 \
	VPSRLVQ ·kQ3KShr+64(SB), Z27, Z3 \
	VPANDQ Z24, Z0, Z0 \
	VPANDQ Z24, Z1, Z1 \
	VPANDQ Z24, Z2, Z2 \
	VPANDQ Z24, Z3, Z3 \
	VPBROADCASTD 80(SI), Y9 \
	VCVTPH2PS Y9, Z10 \
	VSHUFPS $0x00, Z10, Z10, Z9 \
	VSHUFPS $0x55, Z10, Z10, Z10

#define Q2K_CONSTS \
	VPBROADCASTB ·kByte03(SB), Z24 \
	VMOVDQU64 ·kQ6KPerm+0(SB), Z11 \
	VMOVDQU64 ·kQ6KPerm+64(SB), Z28 \
	VMOVDQU64 ·kQ6KPerm+128(SB), Z29 \
	VMOVDQU64 ·kQ6KPerm+192(SB), Z30

// ---------------------------------------------------------- the drivers

// HSUM adds the 16 lanes of Z (names ZZ/YY/XX) and stores the sum at DST.
#define HSUM(ZZ, YY, XX, DST) \
	VEXTRACTF64X4 $1, ZZ, Y0 \
	VADDPS Y0, YY, YY \
	VEXTRACTF32X4 $1, YY, X0 \
	VADDPS X0, XX, XX \
	VMOVHLPS XX, XX, X0 \
	VADDPS X0, XX, XX \
	VMOVSHDUP XX, X0 \
	VADDSS X0, XX, XX \
	VMOVSS XX, DST

#define PROLOGUE \
	MOVQ y+0(FP), DI \
	MOVQ ldy+8(FP), R8 \
	MOVQ w+16(FP), R12 \
	MOVQ a+40(FP), DX \
	MOVQ as+48(FP), R9

// KERNEL(name, consts, block, bbytes, rowsR) is the weight-row loop:
// rowsR zeroes the float sums, runs the rows of a block, and stores.
#define ROWLOOP_HEAD \
	MOVQ R12, SI \
	MOVQ DX, R10 \
	LEAQ (DX)(R9*1), R11 \
	MOVQ nb+56(FP), CX

#define ROWLOOP_TAIL \
	ADDQ rb+24(FP), R12 \
	ADDQ $4, DI \
	DECQ rows+32(FP) \
	JNZ  rowloop \
	VZEROUPPER \
	RET

#define NEXT_BLOCK(bbytes) \
	ADDQ $bbytes, SI \
	ADDQ $384, R10 \
	ADDQ $384, R11 \
	DECQ CX \
	JNZ  blockloop

// ---- Q4_K, VNNI

TEXT ·kQ4K512V1(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
blockloop:
	Q4K_BLOCK
	Q4K_ROW_V(A0, Z12, Y16, Z16, Z20)
	NEXT_BLOCK(144)
	HSUM(Z20, Y20, X20, (DI))
	ROWLOOP_TAIL

TEXT ·kQ4K512V2(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
blockloop:
	Q4K_BLOCK
	Q4K_ROW_V(A0, Z12, Y16, Z16, Z20)
	Q4K_ROW_V(A1, Z13, Y17, Z17, Z21)
	NEXT_BLOCK(144)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	ROWLOOP_TAIL

TEXT ·kQ4K512V3(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
blockloop:
	Q4K_BLOCK
	Q4K_ROW_V(A0, Z12, Y16, Z16, Z20)
	Q4K_ROW_V(A1, Z13, Y17, Z17, Z21)
	Q4K_ROW_V(A2, Z14, Y18, Z18, Z22)
	NEXT_BLOCK(144)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	ROWLOOP_TAIL

TEXT ·kQ4K512V4(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
blockloop:
	Q4K_BLOCK
	Q4K_ROW_V(A0, Z12, Y16, Z16, Z20)
	Q4K_ROW_V(A1, Z13, Y17, Z17, Z21)
	Q4K_ROW_V(A2, Z14, Y18, Z18, Z22)
	Q4K_ROW_V(A3, Z15, Y19, Z19, Z23)
	NEXT_BLOCK(144)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	LEAQ (DI)(R8*2), AX
	HSUM(Z23, Y23, X23, (AX)(R8*1))
	ROWLOOP_TAIL

// kQ4K512G1 is kQ4K512V1 with Q4K_NIBBLES_GF: the decode kernel, whose
// block is bound by its vector instructions (see Q4K_SCALES). On Zen 4
// (BenchmarkMatMulKL2/Q4_K/avx512+vnni/t=1, best of three, three
// alternating rounds, GB per CPU-second) 24.6-25.8 against 20.1-23.6;
// BenchmarkProductVsRead/Q4_K/thr1 (% of the read pass just before)
// 85.3-91.7 against 80.6-85.4; gale bench --mem-bw --synthetic
// mistral-7b --dtype q4_k_m -p 0 -n 32 -r 2 -t 1,2, three alternating
// rounds, one thread 5.18-5.38 tok/s (90-92% of the paired read)
// against 4.57-4.94 (84-88%), two threads 86-96% either way. In Q5_K's
// chunks the nibble split alone measured no gain; with its fifth bits
// by GFNI too it did (kQ5K512G1).
TEXT ·kQ4K512G1(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
	VMOVDQU64 ·kGFNibbles(SB), Z31
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
blockloop:
	Q4K_SCALES
	Q4K_NIBBLES_GF
	Q4K_D
	Q4K_ROW_V(A0, Z12, Y16, Z16, Z20)
	NEXT_BLOCK(144)
	HSUM(Z20, Y20, X20, (DI))
	ROWLOOP_TAIL

// ---- Q4_K, no VNNI

TEXT ·kQ4K512N1(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
blockloop:
	Q4K_BLOCK
	Q4K_ROW_N(A0, Z12, Y16, Z16, Z20)
	NEXT_BLOCK(144)
	HSUM(Z20, Y20, X20, (DI))
	ROWLOOP_TAIL

TEXT ·kQ4K512N2(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
blockloop:
	Q4K_BLOCK
	Q4K_ROW_N(A0, Z12, Y16, Z16, Z20)
	Q4K_ROW_N(A1, Z13, Y17, Z17, Z21)
	NEXT_BLOCK(144)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	ROWLOOP_TAIL

TEXT ·kQ4K512N3(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
blockloop:
	Q4K_BLOCK
	Q4K_ROW_N(A0, Z12, Y16, Z16, Z20)
	Q4K_ROW_N(A1, Z13, Y17, Z17, Z21)
	Q4K_ROW_N(A2, Z14, Y18, Z18, Z22)
	NEXT_BLOCK(144)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	ROWLOOP_TAIL

TEXT ·kQ4K512N4(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
blockloop:
	Q4K_BLOCK
	Q4K_ROW_N(A0, Z12, Y16, Z16, Z20)
	Q4K_ROW_N(A1, Z13, Y17, Z17, Z21)
	Q4K_ROW_N(A2, Z14, Y18, Z18, Z22)
	Q4K_ROW_N(A3, Z15, Y19, Z19, Z23)
	NEXT_BLOCK(144)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	LEAQ (DI)(R8*2), AX
	HSUM(Z23, Y23, X23, (AX)(R8*1))
	ROWLOOP_TAIL

// ---- Q5_K, VNNI

TEXT ·kQ5K512V1(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
blockloop:
	Q5K_BLOCK
	Q4K_ROW_V(A0, Z12, Y16, Z16, Z20)
	NEXT_BLOCK(176)
	HSUM(Z20, Y20, X20, (DI))
	ROWLOOP_TAIL

// kQ5K512G1 is kQ5K512V1 with Q5K_CHUNKS_GF, its matrices in the
// registers this one-row kernel leaves free. On Zen 4, three alternating
// rounds: BenchmarkMatMulKL2/Q5_K/avx512+vnni/t=1 (best of three) 24.7-25.4
// GB per CPU-second against 22.5-23.2, BenchmarkProductVsRead/Q5_K/thr1
// (four rounds) 82.1-92.5% of the read pass against 83.9-86.6 (mean 89.1
// against 84.7), thr2 93-103% either way; gale bench --mem-bw
// --synthetic mistral-7b --dtype q5_k_m -p 0 -n 32 -r 2 -t 1,2, three
// rounds, one thread 4.54-4.59 tok/s (90-92% of the paired read) against
// 4.26-4.48 (85-86%), two threads 87-94% against 83-91%. With the
// matrices as memory operands (the 2-4-row kernels have no registers
// left for them) it read L2 as fast but DRAM no faster, so those keep
// Q5K_CHUNKS.
TEXT ·kQ5K512G1(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
	VMOVDQU64 ·kGFNibbles(SB), Z25
	VMOVDQU64 ·kQ5KFifth+0(SB), Z13
	VMOVDQU64 ·kQ5KFifth+64(SB), Z14
	VMOVDQU64 ·kQ5KFifth+128(SB), Z15
	VMOVDQU64 ·kQ5KFifth+192(SB), Z17
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
blockloop:
	Q5K_SCALES
	Q5K_CHUNKS_GF
	Q4K_D
	Q4K_ROW_V(A0, Z12, Y16, Z16, Z20)
	NEXT_BLOCK(176)
	HSUM(Z20, Y20, X20, (DI))
	ROWLOOP_TAIL

TEXT ·kQ5K512V2(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
blockloop:
	Q5K_BLOCK
	Q4K_ROW_V(A0, Z12, Y16, Z16, Z20)
	Q4K_ROW_V(A1, Z13, Y17, Z17, Z21)
	NEXT_BLOCK(176)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	ROWLOOP_TAIL

TEXT ·kQ5K512V3(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
blockloop:
	Q5K_BLOCK
	Q4K_ROW_V(A0, Z12, Y16, Z16, Z20)
	Q4K_ROW_V(A1, Z13, Y17, Z17, Z21)
	Q4K_ROW_V(A2, Z14, Y18, Z18, Z22)
	NEXT_BLOCK(176)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	ROWLOOP_TAIL

TEXT ·kQ5K512V4(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
blockloop:
	Q5K_BLOCK
	Q4K_ROW_V(A0, Z12, Y16, Z16, Z20)
	Q4K_ROW_V(A1, Z13, Y17, Z17, Z21)
	Q4K_ROW_V(A2, Z14, Y18, Z18, Z22)
	Q4K_ROW_V(A3, Z15, Y19, Z19, Z23)
	NEXT_BLOCK(176)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	LEAQ (DI)(R8*2), AX
	HSUM(Z23, Y23, X23, (AX)(R8*1))
	ROWLOOP_TAIL

// ---- Q5_K, no VNNI

TEXT ·kQ5K512N1(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
blockloop:
	Q5K_BLOCK
	Q4K_ROW_N(A0, Z12, Y16, Z16, Z20)
	NEXT_BLOCK(176)
	HSUM(Z20, Y20, X20, (DI))
	ROWLOOP_TAIL

TEXT ·kQ5K512N2(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
blockloop:
	Q5K_BLOCK
	Q4K_ROW_N(A0, Z12, Y16, Z16, Z20)
	Q4K_ROW_N(A1, Z13, Y17, Z17, Z21)
	NEXT_BLOCK(176)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	ROWLOOP_TAIL

TEXT ·kQ5K512N3(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
blockloop:
	Q5K_BLOCK
	Q4K_ROW_N(A0, Z12, Y16, Z16, Z20)
	Q4K_ROW_N(A1, Z13, Y17, Z17, Z21)
	Q4K_ROW_N(A2, Z14, Y18, Z18, Z22)
	NEXT_BLOCK(176)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	ROWLOOP_TAIL

TEXT ·kQ5K512N4(SB), NOSPLIT, $0-64
	PROLOGUE
	Q4K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
blockloop:
	Q5K_BLOCK
	Q4K_ROW_N(A0, Z12, Y16, Z16, Z20)
	Q4K_ROW_N(A1, Z13, Y17, Z17, Z21)
	Q4K_ROW_N(A2, Z14, Y18, Z18, Z22)
	Q4K_ROW_N(A3, Z15, Y19, Z19, Z23)
	NEXT_BLOCK(176)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	LEAQ (DI)(R8*2), AX
	HSUM(Z23, Y23, X23, (AX)(R8*1))
	ROWLOOP_TAIL

// ---- Q6_K, VNNI

TEXT ·kQ6K512V1(SB), NOSPLIT, $0-64
	PROLOGUE
	Q6K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
blockloop:
	Q6K_BLOCK
	Q6K_ROW_V(A0, Z12, Z20)
	NEXT_BLOCK(210)
	HSUM(Z20, Y20, X20, (DI))
	ROWLOOP_TAIL

TEXT ·kQ6K512V2(SB), NOSPLIT, $0-64
	PROLOGUE
	Q6K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
blockloop:
	Q6K_BLOCK
	Q6K_ROW_V(A0, Z12, Z20)
	Q6K_ROW_V(A1, Z13, Z21)
	NEXT_BLOCK(210)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	ROWLOOP_TAIL

TEXT ·kQ6K512V3(SB), NOSPLIT, $0-64
	PROLOGUE
	Q6K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
blockloop:
	Q6K_BLOCK
	Q6K_ROW_V(A0, Z12, Z20)
	Q6K_ROW_V(A1, Z13, Z21)
	Q6K_ROW_V(A2, Z14, Z22)
	NEXT_BLOCK(210)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	ROWLOOP_TAIL

TEXT ·kQ6K512V4(SB), NOSPLIT, $0-64
	PROLOGUE
	Q6K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
blockloop:
	Q6K_BLOCK
	Q6K_ROW_V(A0, Z12, Z20)
	Q6K_ROW_V(A1, Z13, Z21)
	Q6K_ROW_V(A2, Z14, Z22)
	Q6K_ROW_V(A3, Z15, Z23)
	NEXT_BLOCK(210)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	LEAQ (DI)(R8*2), AX
	HSUM(Z23, Y23, X23, (AX)(R8*1))
	ROWLOOP_TAIL

// ---- Q6_K, no VNNI

TEXT ·kQ6K512N1(SB), NOSPLIT, $0-64
	PROLOGUE
	Q6K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
blockloop:
	Q6K_BLOCK
	Q6K_ROW_N(A0, Z12, Z20)
	NEXT_BLOCK(210)
	HSUM(Z20, Y20, X20, (DI))
	ROWLOOP_TAIL

TEXT ·kQ6K512N2(SB), NOSPLIT, $0-64
	PROLOGUE
	Q6K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
blockloop:
	Q6K_BLOCK
	Q6K_ROW_N(A0, Z12, Z20)
	Q6K_ROW_N(A1, Z13, Z21)
	NEXT_BLOCK(210)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	ROWLOOP_TAIL

TEXT ·kQ6K512N3(SB), NOSPLIT, $0-64
	PROLOGUE
	Q6K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
blockloop:
	Q6K_BLOCK
	Q6K_ROW_N(A0, Z12, Z20)
	Q6K_ROW_N(A1, Z13, Z21)
	Q6K_ROW_N(A2, Z14, Z22)
	NEXT_BLOCK(210)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	ROWLOOP_TAIL

TEXT ·kQ6K512N4(SB), NOSPLIT, $0-64
	PROLOGUE
	Q6K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
blockloop:
	Q6K_BLOCK
	Q6K_ROW_N(A0, Z12, Z20)
	Q6K_ROW_N(A1, Z13, Z21)
	Q6K_ROW_N(A2, Z14, Z22)
	Q6K_ROW_N(A3, Z15, Z23)
	NEXT_BLOCK(210)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	LEAQ (DI)(R8*2), AX
	HSUM(Z23, Y23, X23, (AX)(R8*1))
	ROWLOOP_TAIL

// ---- Q3_K, VNNI

TEXT ·kQ3K512V1(SB), NOSPLIT, $0-64
	PROLOGUE
	Q3K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
blockloop:
	Q3K_BLOCK
	Q6K_ROW_V(A0, Z12, Z20)
	NEXT_BLOCK(110)
	HSUM(Z20, Y20, X20, (DI))
	ROWLOOP_TAIL

TEXT ·kQ3K512V2(SB), NOSPLIT, $0-64
	PROLOGUE
	Q3K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
blockloop:
	Q3K_BLOCK
	Q6K_ROW_V(A0, Z12, Z20)
	Q6K_ROW_V(A1, Z13, Z21)
	NEXT_BLOCK(110)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	ROWLOOP_TAIL

TEXT ·kQ3K512V3(SB), NOSPLIT, $0-64
	PROLOGUE
	Q3K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
blockloop:
	Q3K_BLOCK
	Q6K_ROW_V(A0, Z12, Z20)
	Q6K_ROW_V(A1, Z13, Z21)
	Q6K_ROW_V(A2, Z14, Z22)
	NEXT_BLOCK(110)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	ROWLOOP_TAIL

TEXT ·kQ3K512V4(SB), NOSPLIT, $0-64
	PROLOGUE
	Q3K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
blockloop:
	Q3K_BLOCK
	Q6K_ROW_V(A0, Z12, Z20)
	Q6K_ROW_V(A1, Z13, Z21)
	Q6K_ROW_V(A2, Z14, Z22)
	Q6K_ROW_V(A3, Z15, Z23)
	NEXT_BLOCK(110)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	LEAQ (DI)(R8*2), AX
	HSUM(Z23, Y23, X23, (AX)(R8*1))
	ROWLOOP_TAIL

// ---- Q3_K, no VNNI

TEXT ·kQ3K512N1(SB), NOSPLIT, $0-64
	PROLOGUE
	Q3K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
blockloop:
	Q3K_BLOCK
	Q6K_ROW_N(A0, Z12, Z20)
	NEXT_BLOCK(110)
	HSUM(Z20, Y20, X20, (DI))
	ROWLOOP_TAIL

TEXT ·kQ3K512N2(SB), NOSPLIT, $0-64
	PROLOGUE
	Q3K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
blockloop:
	Q3K_BLOCK
	Q6K_ROW_N(A0, Z12, Z20)
	Q6K_ROW_N(A1, Z13, Z21)
	NEXT_BLOCK(110)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	ROWLOOP_TAIL

TEXT ·kQ3K512N3(SB), NOSPLIT, $0-64
	PROLOGUE
	Q3K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
blockloop:
	Q3K_BLOCK
	Q6K_ROW_N(A0, Z12, Z20)
	Q6K_ROW_N(A1, Z13, Z21)
	Q6K_ROW_N(A2, Z14, Z22)
	NEXT_BLOCK(110)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	ROWLOOP_TAIL

TEXT ·kQ3K512N4(SB), NOSPLIT, $0-64
	PROLOGUE
	Q3K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
blockloop:
	Q3K_BLOCK
	Q6K_ROW_N(A0, Z12, Z20)
	Q6K_ROW_N(A1, Z13, Z21)
	Q6K_ROW_N(A2, Z14, Z22)
	Q6K_ROW_N(A3, Z15, Z23)
	NEXT_BLOCK(110)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	LEAQ (DI)(R8*2), AX
	HSUM(Z23, Y23, X23, (AX)(R8*1))
	ROWLOOP_TAIL

// ---- Q2_K, VNNI

TEXT ·kQ2K512V1(SB), NOSPLIT, $0-64
	PROLOGUE
	Q2K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
blockloop:
	Q2K_BLOCK
	Q2K_ROW_V(A0, Z12, Y16, Z16, Z20)
	NEXT_BLOCK(84)
	HSUM(Z20, Y20, X20, (DI))
	ROWLOOP_TAIL

TEXT ·kQ2K512V2(SB), NOSPLIT, $0-64
	PROLOGUE
	Q2K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
blockloop:
	Q2K_BLOCK
	Q2K_ROW_V(A0, Z12, Y16, Z16, Z20)
	Q2K_ROW_V(A1, Z13, Y17, Z17, Z21)
	NEXT_BLOCK(84)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	ROWLOOP_TAIL

TEXT ·kQ2K512V3(SB), NOSPLIT, $0-64
	PROLOGUE
	Q2K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
blockloop:
	Q2K_BLOCK
	Q2K_ROW_V(A0, Z12, Y16, Z16, Z20)
	Q2K_ROW_V(A1, Z13, Y17, Z17, Z21)
	Q2K_ROW_V(A2, Z14, Y18, Z18, Z22)
	NEXT_BLOCK(84)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	ROWLOOP_TAIL

TEXT ·kQ2K512V4(SB), NOSPLIT, $0-64
	PROLOGUE
	Q2K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
blockloop:
	Q2K_BLOCK
	Q2K_ROW_V(A0, Z12, Y16, Z16, Z20)
	Q2K_ROW_V(A1, Z13, Y17, Z17, Z21)
	Q2K_ROW_V(A2, Z14, Y18, Z18, Z22)
	Q2K_ROW_V(A3, Z15, Y19, Z19, Z23)
	NEXT_BLOCK(84)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	LEAQ (DI)(R8*2), AX
	HSUM(Z23, Y23, X23, (AX)(R8*1))
	ROWLOOP_TAIL

// ---- Q2_K, no VNNI

TEXT ·kQ2K512N1(SB), NOSPLIT, $0-64
	PROLOGUE
	Q2K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
blockloop:
	Q2K_BLOCK
	Q2K_ROW_N(A0, Z12, Y16, Z16, Z20)
	NEXT_BLOCK(84)
	HSUM(Z20, Y20, X20, (DI))
	ROWLOOP_TAIL

TEXT ·kQ2K512N2(SB), NOSPLIT, $0-64
	PROLOGUE
	Q2K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
blockloop:
	Q2K_BLOCK
	Q2K_ROW_N(A0, Z12, Y16, Z16, Z20)
	Q2K_ROW_N(A1, Z13, Y17, Z17, Z21)
	NEXT_BLOCK(84)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	ROWLOOP_TAIL

TEXT ·kQ2K512N3(SB), NOSPLIT, $0-64
	PROLOGUE
	Q2K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
blockloop:
	Q2K_BLOCK
	Q2K_ROW_N(A0, Z12, Y16, Z16, Z20)
	Q2K_ROW_N(A1, Z13, Y17, Z17, Z21)
	Q2K_ROW_N(A2, Z14, Y18, Z18, Z22)
	NEXT_BLOCK(84)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	ROWLOOP_TAIL

TEXT ·kQ2K512N4(SB), NOSPLIT, $0-64
	PROLOGUE
	Q2K_CONSTS
rowloop:
	ROWLOOP_HEAD
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
blockloop:
	Q2K_BLOCK
	Q2K_ROW_N(A0, Z12, Y16, Z16, Z20)
	Q2K_ROW_N(A1, Z13, Y17, Z17, Z21)
	Q2K_ROW_N(A2, Z14, Y18, Z18, Z22)
	Q2K_ROW_N(A3, Z15, Y19, Z19, Z23)
	NEXT_BLOCK(84)
	HSUM(Z20, Y20, X20, (DI))
	HSUM(Z21, Y21, X21, (DI)(R8*1))
	HSUM(Z22, Y22, X22, (DI)(R8*2))
	LEAQ (DI)(R8*2), AX
	HSUM(Z23, Y23, X23, (AX)(R8*1))
	ROWLOOP_TAIL

// ------------------------------------------------------------ constants

DATA ·kMask3F+0(SB)/8, $0x3f3f3f3f3f3f3f3f
GLOBL ·kMask3F(SB), RODATA|NOPTR, $8
DATA ·kMask03+0(SB)/8, $0x0303030303030303
GLOBL ·kMask03(SB), RODATA|NOPTR, $8
DATA ·kMask0F+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL ·kMask0F(SB), RODATA|NOPTR, $8
DATA ·kByte0F+0(SB)/1, $0x0f
GLOBL ·kByte0F(SB), RODATA|NOPTR, $1
DATA ·kByte30+0(SB)/1, $0x30
GLOBL ·kByte30(SB), RODATA|NOPTR, $1
DATA ·kWordM32+0(SB)/2, $0xffe0
GLOBL ·kWordM32(SB), RODATA|NOPTR, $2

// kShift04: qword shift counts 0 (low 256 bits) and 4 (high 256 bits).
DATA ·kShift04+0(SB)/8, $0
DATA ·kShift04+8(SB)/8, $0
DATA ·kShift04+16(SB)/8, $0
DATA ·kShift04+24(SB)/8, $0
DATA ·kShift04+32(SB)/8, $4
DATA ·kShift04+40(SB)/8, $4
DATA ·kShift04+48(SB)/8, $4
DATA ·kShift04+56(SB)/8, $4
GLOBL ·kShift04(SB), RODATA|NOPTR, $64

// kQ6KShl / kQ6KShr: qh shift counts for the first 64 elements of a half
// (left 4 for bits 0-1, left 2 for bits 2-3) and the second 64 (none for
// bits 4-5, right 2 for bits 6-7).
DATA ·kQ6KShl+0(SB)/8, $4
DATA ·kQ6KShl+8(SB)/8, $4
DATA ·kQ6KShl+16(SB)/8, $4
DATA ·kQ6KShl+24(SB)/8, $4
DATA ·kQ6KShl+32(SB)/8, $2
DATA ·kQ6KShl+40(SB)/8, $2
DATA ·kQ6KShl+48(SB)/8, $2
DATA ·kQ6KShl+56(SB)/8, $2
GLOBL ·kQ6KShl(SB), RODATA|NOPTR, $64
DATA ·kQ6KShr+0(SB)/8, $0
DATA ·kQ6KShr+8(SB)/8, $0
DATA ·kQ6KShr+16(SB)/8, $0
DATA ·kQ6KShr+24(SB)/8, $0
DATA ·kQ6KShr+32(SB)/8, $2
DATA ·kQ6KShr+40(SB)/8, $2
DATA ·kQ6KShr+48(SB)/8, $2
DATA ·kQ6KShr+56(SB)/8, $2
GLOBL ·kQ6KShr(SB), RODATA|NOPTR, $64


// kQ4KPerm: VPERMW indices, chunk c: lanes 0-15 scale 2c, 16-31 scale 2c+1
// (positions in Y8 = [s0..3, m0..3, s4..7, m4..7]).
DATA ·kQ4KPerm+0(SB)/2, $0
DATA ·kQ4KPerm+2(SB)/2, $0
DATA ·kQ4KPerm+4(SB)/2, $0
DATA ·kQ4KPerm+6(SB)/2, $0
DATA ·kQ4KPerm+8(SB)/2, $0
DATA ·kQ4KPerm+10(SB)/2, $0
DATA ·kQ4KPerm+12(SB)/2, $0
DATA ·kQ4KPerm+14(SB)/2, $0
DATA ·kQ4KPerm+16(SB)/2, $0
DATA ·kQ4KPerm+18(SB)/2, $0
DATA ·kQ4KPerm+20(SB)/2, $0
DATA ·kQ4KPerm+22(SB)/2, $0
DATA ·kQ4KPerm+24(SB)/2, $0
DATA ·kQ4KPerm+26(SB)/2, $0
DATA ·kQ4KPerm+28(SB)/2, $0
DATA ·kQ4KPerm+30(SB)/2, $0
DATA ·kQ4KPerm+32(SB)/2, $1
DATA ·kQ4KPerm+34(SB)/2, $1
DATA ·kQ4KPerm+36(SB)/2, $1
DATA ·kQ4KPerm+38(SB)/2, $1
DATA ·kQ4KPerm+40(SB)/2, $1
DATA ·kQ4KPerm+42(SB)/2, $1
DATA ·kQ4KPerm+44(SB)/2, $1
DATA ·kQ4KPerm+46(SB)/2, $1
DATA ·kQ4KPerm+48(SB)/2, $1
DATA ·kQ4KPerm+50(SB)/2, $1
DATA ·kQ4KPerm+52(SB)/2, $1
DATA ·kQ4KPerm+54(SB)/2, $1
DATA ·kQ4KPerm+56(SB)/2, $1
DATA ·kQ4KPerm+58(SB)/2, $1
DATA ·kQ4KPerm+60(SB)/2, $1
DATA ·kQ4KPerm+62(SB)/2, $1
DATA ·kQ4KPerm+64(SB)/2, $2
DATA ·kQ4KPerm+66(SB)/2, $2
DATA ·kQ4KPerm+68(SB)/2, $2
DATA ·kQ4KPerm+70(SB)/2, $2
DATA ·kQ4KPerm+72(SB)/2, $2
DATA ·kQ4KPerm+74(SB)/2, $2
DATA ·kQ4KPerm+76(SB)/2, $2
DATA ·kQ4KPerm+78(SB)/2, $2
DATA ·kQ4KPerm+80(SB)/2, $2
DATA ·kQ4KPerm+82(SB)/2, $2
DATA ·kQ4KPerm+84(SB)/2, $2
DATA ·kQ4KPerm+86(SB)/2, $2
DATA ·kQ4KPerm+88(SB)/2, $2
DATA ·kQ4KPerm+90(SB)/2, $2
DATA ·kQ4KPerm+92(SB)/2, $2
DATA ·kQ4KPerm+94(SB)/2, $2
DATA ·kQ4KPerm+96(SB)/2, $3
DATA ·kQ4KPerm+98(SB)/2, $3
DATA ·kQ4KPerm+100(SB)/2, $3
DATA ·kQ4KPerm+102(SB)/2, $3
DATA ·kQ4KPerm+104(SB)/2, $3
DATA ·kQ4KPerm+106(SB)/2, $3
DATA ·kQ4KPerm+108(SB)/2, $3
DATA ·kQ4KPerm+110(SB)/2, $3
DATA ·kQ4KPerm+112(SB)/2, $3
DATA ·kQ4KPerm+114(SB)/2, $3
DATA ·kQ4KPerm+116(SB)/2, $3
DATA ·kQ4KPerm+118(SB)/2, $3
DATA ·kQ4KPerm+120(SB)/2, $3
DATA ·kQ4KPerm+122(SB)/2, $3
DATA ·kQ4KPerm+124(SB)/2, $3
DATA ·kQ4KPerm+126(SB)/2, $3
DATA ·kQ4KPerm+128(SB)/2, $8
DATA ·kQ4KPerm+130(SB)/2, $8
DATA ·kQ4KPerm+132(SB)/2, $8
DATA ·kQ4KPerm+134(SB)/2, $8
DATA ·kQ4KPerm+136(SB)/2, $8
DATA ·kQ4KPerm+138(SB)/2, $8
DATA ·kQ4KPerm+140(SB)/2, $8
DATA ·kQ4KPerm+142(SB)/2, $8
DATA ·kQ4KPerm+144(SB)/2, $8
DATA ·kQ4KPerm+146(SB)/2, $8
DATA ·kQ4KPerm+148(SB)/2, $8
DATA ·kQ4KPerm+150(SB)/2, $8
DATA ·kQ4KPerm+152(SB)/2, $8
DATA ·kQ4KPerm+154(SB)/2, $8
DATA ·kQ4KPerm+156(SB)/2, $8
DATA ·kQ4KPerm+158(SB)/2, $8
DATA ·kQ4KPerm+160(SB)/2, $9
DATA ·kQ4KPerm+162(SB)/2, $9
DATA ·kQ4KPerm+164(SB)/2, $9
DATA ·kQ4KPerm+166(SB)/2, $9
DATA ·kQ4KPerm+168(SB)/2, $9
DATA ·kQ4KPerm+170(SB)/2, $9
DATA ·kQ4KPerm+172(SB)/2, $9
DATA ·kQ4KPerm+174(SB)/2, $9
DATA ·kQ4KPerm+176(SB)/2, $9
DATA ·kQ4KPerm+178(SB)/2, $9
DATA ·kQ4KPerm+180(SB)/2, $9
DATA ·kQ4KPerm+182(SB)/2, $9
DATA ·kQ4KPerm+184(SB)/2, $9
DATA ·kQ4KPerm+186(SB)/2, $9
DATA ·kQ4KPerm+188(SB)/2, $9
DATA ·kQ4KPerm+190(SB)/2, $9
DATA ·kQ4KPerm+192(SB)/2, $10
DATA ·kQ4KPerm+194(SB)/2, $10
DATA ·kQ4KPerm+196(SB)/2, $10
DATA ·kQ4KPerm+198(SB)/2, $10
DATA ·kQ4KPerm+200(SB)/2, $10
DATA ·kQ4KPerm+202(SB)/2, $10
DATA ·kQ4KPerm+204(SB)/2, $10
DATA ·kQ4KPerm+206(SB)/2, $10
DATA ·kQ4KPerm+208(SB)/2, $10
DATA ·kQ4KPerm+210(SB)/2, $10
DATA ·kQ4KPerm+212(SB)/2, $10
DATA ·kQ4KPerm+214(SB)/2, $10
DATA ·kQ4KPerm+216(SB)/2, $10
DATA ·kQ4KPerm+218(SB)/2, $10
DATA ·kQ4KPerm+220(SB)/2, $10
DATA ·kQ4KPerm+222(SB)/2, $10
DATA ·kQ4KPerm+224(SB)/2, $11
DATA ·kQ4KPerm+226(SB)/2, $11
DATA ·kQ4KPerm+228(SB)/2, $11
DATA ·kQ4KPerm+230(SB)/2, $11
DATA ·kQ4KPerm+232(SB)/2, $11
DATA ·kQ4KPerm+234(SB)/2, $11
DATA ·kQ4KPerm+236(SB)/2, $11
DATA ·kQ4KPerm+238(SB)/2, $11
DATA ·kQ4KPerm+240(SB)/2, $11
DATA ·kQ4KPerm+242(SB)/2, $11
DATA ·kQ4KPerm+244(SB)/2, $11
DATA ·kQ4KPerm+246(SB)/2, $11
DATA ·kQ4KPerm+248(SB)/2, $11
DATA ·kQ4KPerm+250(SB)/2, $11
DATA ·kQ4KPerm+252(SB)/2, $11
DATA ·kQ4KPerm+254(SB)/2, $11
GLOBL ·kQ4KPerm(SB), RODATA|NOPTR, $256

DATA ·kGFNibbles+0(SB)/8, $0x0102040800000000
DATA ·kGFNibbles+8(SB)/8, $0x0102040800000000
DATA ·kGFNibbles+16(SB)/8, $0x0102040800000000
DATA ·kGFNibbles+24(SB)/8, $0x0102040800000000
DATA ·kGFNibbles+32(SB)/8, $0x1020408000000000
DATA ·kGFNibbles+40(SB)/8, $0x1020408000000000
DATA ·kGFNibbles+48(SB)/8, $0x1020408000000000
DATA ·kGFNibbles+56(SB)/8, $0x1020408000000000
GLOBL ·kGFNibbles(SB), RODATA|NOPTR, $64

// kQ5KFifth: per chunk c, GF2P8AFFINEQB matrices taking bit 2c (lower
// qwords: the chunk's low 32 elements) or 2c+1 (upper) of each qh byte to
// bit 4 (byte 3 of the matrix, the row of output bit 4), every other
// bit to 0.
DATA ·kQ5KFifth+0(SB)/8, $0x0000000001000000
DATA ·kQ5KFifth+8(SB)/8, $0x0000000001000000
DATA ·kQ5KFifth+16(SB)/8, $0x0000000001000000
DATA ·kQ5KFifth+24(SB)/8, $0x0000000001000000
DATA ·kQ5KFifth+32(SB)/8, $0x0000000002000000
DATA ·kQ5KFifth+40(SB)/8, $0x0000000002000000
DATA ·kQ5KFifth+48(SB)/8, $0x0000000002000000
DATA ·kQ5KFifth+56(SB)/8, $0x0000000002000000
DATA ·kQ5KFifth+64(SB)/8, $0x0000000004000000
DATA ·kQ5KFifth+72(SB)/8, $0x0000000004000000
DATA ·kQ5KFifth+80(SB)/8, $0x0000000004000000
DATA ·kQ5KFifth+88(SB)/8, $0x0000000004000000
DATA ·kQ5KFifth+96(SB)/8, $0x0000000008000000
DATA ·kQ5KFifth+104(SB)/8, $0x0000000008000000
DATA ·kQ5KFifth+112(SB)/8, $0x0000000008000000
DATA ·kQ5KFifth+120(SB)/8, $0x0000000008000000
DATA ·kQ5KFifth+128(SB)/8, $0x0000000010000000
DATA ·kQ5KFifth+136(SB)/8, $0x0000000010000000
DATA ·kQ5KFifth+144(SB)/8, $0x0000000010000000
DATA ·kQ5KFifth+152(SB)/8, $0x0000000010000000
DATA ·kQ5KFifth+160(SB)/8, $0x0000000020000000
DATA ·kQ5KFifth+168(SB)/8, $0x0000000020000000
DATA ·kQ5KFifth+176(SB)/8, $0x0000000020000000
DATA ·kQ5KFifth+184(SB)/8, $0x0000000020000000
DATA ·kQ5KFifth+192(SB)/8, $0x0000000040000000
DATA ·kQ5KFifth+200(SB)/8, $0x0000000040000000
DATA ·kQ5KFifth+208(SB)/8, $0x0000000040000000
DATA ·kQ5KFifth+216(SB)/8, $0x0000000040000000
DATA ·kQ5KFifth+224(SB)/8, $0x0000000080000000
DATA ·kQ5KFifth+232(SB)/8, $0x0000000080000000
DATA ·kQ5KFifth+240(SB)/8, $0x0000000080000000
DATA ·kQ5KFifth+248(SB)/8, $0x0000000080000000
GLOBL ·kQ5KFifth(SB), RODATA|NOPTR, $256

// kQ6KPerm: VPERMW indices, chunk k: lanes 8p..8p+7 scale 4k+p.
DATA ·kQ6KPerm+0(SB)/2, $0
DATA ·kQ6KPerm+2(SB)/2, $0
DATA ·kQ6KPerm+4(SB)/2, $0
DATA ·kQ6KPerm+6(SB)/2, $0
DATA ·kQ6KPerm+8(SB)/2, $0
DATA ·kQ6KPerm+10(SB)/2, $0
DATA ·kQ6KPerm+12(SB)/2, $0
DATA ·kQ6KPerm+14(SB)/2, $0
DATA ·kQ6KPerm+16(SB)/2, $1
DATA ·kQ6KPerm+18(SB)/2, $1
DATA ·kQ6KPerm+20(SB)/2, $1
DATA ·kQ6KPerm+22(SB)/2, $1
DATA ·kQ6KPerm+24(SB)/2, $1
DATA ·kQ6KPerm+26(SB)/2, $1
DATA ·kQ6KPerm+28(SB)/2, $1
DATA ·kQ6KPerm+30(SB)/2, $1
DATA ·kQ6KPerm+32(SB)/2, $2
DATA ·kQ6KPerm+34(SB)/2, $2
DATA ·kQ6KPerm+36(SB)/2, $2
DATA ·kQ6KPerm+38(SB)/2, $2
DATA ·kQ6KPerm+40(SB)/2, $2
DATA ·kQ6KPerm+42(SB)/2, $2
DATA ·kQ6KPerm+44(SB)/2, $2
DATA ·kQ6KPerm+46(SB)/2, $2
DATA ·kQ6KPerm+48(SB)/2, $3
DATA ·kQ6KPerm+50(SB)/2, $3
DATA ·kQ6KPerm+52(SB)/2, $3
DATA ·kQ6KPerm+54(SB)/2, $3
DATA ·kQ6KPerm+56(SB)/2, $3
DATA ·kQ6KPerm+58(SB)/2, $3
DATA ·kQ6KPerm+60(SB)/2, $3
DATA ·kQ6KPerm+62(SB)/2, $3
DATA ·kQ6KPerm+64(SB)/2, $4
DATA ·kQ6KPerm+66(SB)/2, $4
DATA ·kQ6KPerm+68(SB)/2, $4
DATA ·kQ6KPerm+70(SB)/2, $4
DATA ·kQ6KPerm+72(SB)/2, $4
DATA ·kQ6KPerm+74(SB)/2, $4
DATA ·kQ6KPerm+76(SB)/2, $4
DATA ·kQ6KPerm+78(SB)/2, $4
DATA ·kQ6KPerm+80(SB)/2, $5
DATA ·kQ6KPerm+82(SB)/2, $5
DATA ·kQ6KPerm+84(SB)/2, $5
DATA ·kQ6KPerm+86(SB)/2, $5
DATA ·kQ6KPerm+88(SB)/2, $5
DATA ·kQ6KPerm+90(SB)/2, $5
DATA ·kQ6KPerm+92(SB)/2, $5
DATA ·kQ6KPerm+94(SB)/2, $5
DATA ·kQ6KPerm+96(SB)/2, $6
DATA ·kQ6KPerm+98(SB)/2, $6
DATA ·kQ6KPerm+100(SB)/2, $6
DATA ·kQ6KPerm+102(SB)/2, $6
DATA ·kQ6KPerm+104(SB)/2, $6
DATA ·kQ6KPerm+106(SB)/2, $6
DATA ·kQ6KPerm+108(SB)/2, $6
DATA ·kQ6KPerm+110(SB)/2, $6
DATA ·kQ6KPerm+112(SB)/2, $7
DATA ·kQ6KPerm+114(SB)/2, $7
DATA ·kQ6KPerm+116(SB)/2, $7
DATA ·kQ6KPerm+118(SB)/2, $7
DATA ·kQ6KPerm+120(SB)/2, $7
DATA ·kQ6KPerm+122(SB)/2, $7
DATA ·kQ6KPerm+124(SB)/2, $7
DATA ·kQ6KPerm+126(SB)/2, $7
DATA ·kQ6KPerm+128(SB)/2, $8
DATA ·kQ6KPerm+130(SB)/2, $8
DATA ·kQ6KPerm+132(SB)/2, $8
DATA ·kQ6KPerm+134(SB)/2, $8
DATA ·kQ6KPerm+136(SB)/2, $8
DATA ·kQ6KPerm+138(SB)/2, $8
DATA ·kQ6KPerm+140(SB)/2, $8
DATA ·kQ6KPerm+142(SB)/2, $8
DATA ·kQ6KPerm+144(SB)/2, $9
DATA ·kQ6KPerm+146(SB)/2, $9
DATA ·kQ6KPerm+148(SB)/2, $9
DATA ·kQ6KPerm+150(SB)/2, $9
DATA ·kQ6KPerm+152(SB)/2, $9
DATA ·kQ6KPerm+154(SB)/2, $9
DATA ·kQ6KPerm+156(SB)/2, $9
DATA ·kQ6KPerm+158(SB)/2, $9
DATA ·kQ6KPerm+160(SB)/2, $10
DATA ·kQ6KPerm+162(SB)/2, $10
DATA ·kQ6KPerm+164(SB)/2, $10
DATA ·kQ6KPerm+166(SB)/2, $10
DATA ·kQ6KPerm+168(SB)/2, $10
DATA ·kQ6KPerm+170(SB)/2, $10
DATA ·kQ6KPerm+172(SB)/2, $10
DATA ·kQ6KPerm+174(SB)/2, $10
DATA ·kQ6KPerm+176(SB)/2, $11
DATA ·kQ6KPerm+178(SB)/2, $11
DATA ·kQ6KPerm+180(SB)/2, $11
DATA ·kQ6KPerm+182(SB)/2, $11
DATA ·kQ6KPerm+184(SB)/2, $11
DATA ·kQ6KPerm+186(SB)/2, $11
DATA ·kQ6KPerm+188(SB)/2, $11
DATA ·kQ6KPerm+190(SB)/2, $11
DATA ·kQ6KPerm+192(SB)/2, $12
DATA ·kQ6KPerm+194(SB)/2, $12
DATA ·kQ6KPerm+196(SB)/2, $12
DATA ·kQ6KPerm+198(SB)/2, $12
DATA ·kQ6KPerm+200(SB)/2, $12
DATA ·kQ6KPerm+202(SB)/2, $12
DATA ·kQ6KPerm+204(SB)/2, $12
DATA ·kQ6KPerm+206(SB)/2, $12
DATA ·kQ6KPerm+208(SB)/2, $13
DATA ·kQ6KPerm+210(SB)/2, $13
DATA ·kQ6KPerm+212(SB)/2, $13
DATA ·kQ6KPerm+214(SB)/2, $13
DATA ·kQ6KPerm+216(SB)/2, $13
DATA ·kQ6KPerm+218(SB)/2, $13
DATA ·kQ6KPerm+220(SB)/2, $13
DATA ·kQ6KPerm+222(SB)/2, $13
DATA ·kQ6KPerm+224(SB)/2, $14
DATA ·kQ6KPerm+226(SB)/2, $14
DATA ·kQ6KPerm+228(SB)/2, $14
DATA ·kQ6KPerm+230(SB)/2, $14
DATA ·kQ6KPerm+232(SB)/2, $14
DATA ·kQ6KPerm+234(SB)/2, $14
DATA ·kQ6KPerm+236(SB)/2, $14
DATA ·kQ6KPerm+238(SB)/2, $14
DATA ·kQ6KPerm+240(SB)/2, $15
DATA ·kQ6KPerm+242(SB)/2, $15
DATA ·kQ6KPerm+244(SB)/2, $15
DATA ·kQ6KPerm+246(SB)/2, $15
DATA ·kQ6KPerm+248(SB)/2, $15
DATA ·kQ6KPerm+250(SB)/2, $15
DATA ·kQ6KPerm+252(SB)/2, $15
DATA ·kQ6KPerm+254(SB)/2, $15
GLOBL ·kQ6KPerm(SB), RODATA|NOPTR, $256

// kQ5KRot: per-qword left-rotation counts that bring qh bit 2c (low 256
// bits) and 2c+1 (high 256 bits) to bit 4 of each byte, for c = 0..3:
// 4-2c and 3-2c, modulo 64.
DATA ·kQ5KRot+0(SB)/8, $4
DATA ·kQ5KRot+8(SB)/8, $4
DATA ·kQ5KRot+16(SB)/8, $4
DATA ·kQ5KRot+24(SB)/8, $4
DATA ·kQ5KRot+32(SB)/8, $3
DATA ·kQ5KRot+40(SB)/8, $3
DATA ·kQ5KRot+48(SB)/8, $3
DATA ·kQ5KRot+56(SB)/8, $3
DATA ·kQ5KRot+64(SB)/8, $2
DATA ·kQ5KRot+72(SB)/8, $2
DATA ·kQ5KRot+80(SB)/8, $2
DATA ·kQ5KRot+88(SB)/8, $2
DATA ·kQ5KRot+96(SB)/8, $1
DATA ·kQ5KRot+104(SB)/8, $1
DATA ·kQ5KRot+112(SB)/8, $1
DATA ·kQ5KRot+120(SB)/8, $1
DATA ·kQ5KRot+128(SB)/8, $0
DATA ·kQ5KRot+136(SB)/8, $0
DATA ·kQ5KRot+144(SB)/8, $0
DATA ·kQ5KRot+152(SB)/8, $0
DATA ·kQ5KRot+160(SB)/8, $63
DATA ·kQ5KRot+168(SB)/8, $63
DATA ·kQ5KRot+176(SB)/8, $63
DATA ·kQ5KRot+184(SB)/8, $63
DATA ·kQ5KRot+192(SB)/8, $62
DATA ·kQ5KRot+200(SB)/8, $62
DATA ·kQ5KRot+208(SB)/8, $62
DATA ·kQ5KRot+216(SB)/8, $62
DATA ·kQ5KRot+224(SB)/8, $61
DATA ·kQ5KRot+232(SB)/8, $61
DATA ·kQ5KRot+240(SB)/8, $61
DATA ·kQ5KRot+248(SB)/8, $61
GLOBL ·kQ5KRot(SB), RODATA|NOPTR, $256
DATA ·kDword10+0(SB)/4, $0x10101010
GLOBL ·kDword10(SB), RODATA|NOPTR, $4

// Q3_K / Q2_K: qword shift counts that bring bits 2j to 0 for chunk c
// (j = 2(c%2) low, +1 high), and Q3_K's rotations that bring hmask bit
// 4(c/2)+j to bit 2.
DATA ·kQ3KShr+0(SB)/8, $0
DATA ·kQ3KShr+8(SB)/8, $0
DATA ·kQ3KShr+16(SB)/8, $0
DATA ·kQ3KShr+24(SB)/8, $0
DATA ·kQ3KShr+32(SB)/8, $2
DATA ·kQ3KShr+40(SB)/8, $2
DATA ·kQ3KShr+48(SB)/8, $2
DATA ·kQ3KShr+56(SB)/8, $2
DATA ·kQ3KShr+64(SB)/8, $4
DATA ·kQ3KShr+72(SB)/8, $4
DATA ·kQ3KShr+80(SB)/8, $4
DATA ·kQ3KShr+88(SB)/8, $4
DATA ·kQ3KShr+96(SB)/8, $6
DATA ·kQ3KShr+104(SB)/8, $6
DATA ·kQ3KShr+112(SB)/8, $6
DATA ·kQ3KShr+120(SB)/8, $6
DATA ·kQ3KShr+128(SB)/8, $0
DATA ·kQ3KShr+136(SB)/8, $0
DATA ·kQ3KShr+144(SB)/8, $0
DATA ·kQ3KShr+152(SB)/8, $0
DATA ·kQ3KShr+160(SB)/8, $2
DATA ·kQ3KShr+168(SB)/8, $2
DATA ·kQ3KShr+176(SB)/8, $2
DATA ·kQ3KShr+184(SB)/8, $2
DATA ·kQ3KShr+192(SB)/8, $4
DATA ·kQ3KShr+200(SB)/8, $4
DATA ·kQ3KShr+208(SB)/8, $4
DATA ·kQ3KShr+216(SB)/8, $4
DATA ·kQ3KShr+224(SB)/8, $6
DATA ·kQ3KShr+232(SB)/8, $6
DATA ·kQ3KShr+240(SB)/8, $6
DATA ·kQ3KShr+248(SB)/8, $6
GLOBL ·kQ3KShr(SB), RODATA|NOPTR, $256
DATA ·kQ3KRot+0(SB)/8, $2
DATA ·kQ3KRot+8(SB)/8, $2
DATA ·kQ3KRot+16(SB)/8, $2
DATA ·kQ3KRot+24(SB)/8, $2
DATA ·kQ3KRot+32(SB)/8, $1
DATA ·kQ3KRot+40(SB)/8, $1
DATA ·kQ3KRot+48(SB)/8, $1
DATA ·kQ3KRot+56(SB)/8, $1
DATA ·kQ3KRot+64(SB)/8, $0
DATA ·kQ3KRot+72(SB)/8, $0
DATA ·kQ3KRot+80(SB)/8, $0
DATA ·kQ3KRot+88(SB)/8, $0
DATA ·kQ3KRot+96(SB)/8, $63
DATA ·kQ3KRot+104(SB)/8, $63
DATA ·kQ3KRot+112(SB)/8, $63
DATA ·kQ3KRot+120(SB)/8, $63
DATA ·kQ3KRot+128(SB)/8, $62
DATA ·kQ3KRot+136(SB)/8, $62
DATA ·kQ3KRot+144(SB)/8, $62
DATA ·kQ3KRot+152(SB)/8, $62
DATA ·kQ3KRot+160(SB)/8, $61
DATA ·kQ3KRot+168(SB)/8, $61
DATA ·kQ3KRot+176(SB)/8, $61
DATA ·kQ3KRot+184(SB)/8, $61
DATA ·kQ3KRot+192(SB)/8, $60
DATA ·kQ3KRot+200(SB)/8, $60
DATA ·kQ3KRot+208(SB)/8, $60
DATA ·kQ3KRot+216(SB)/8, $60
DATA ·kQ3KRot+224(SB)/8, $59
DATA ·kQ3KRot+232(SB)/8, $59
DATA ·kQ3KRot+240(SB)/8, $59
DATA ·kQ3KRot+248(SB)/8, $59
GLOBL ·kQ3KRot(SB), RODATA|NOPTR, $256
DATA ·kDword04+0(SB)/4, $0x04040404
GLOBL ·kDword04(SB), RODATA|NOPTR, $4
DATA ·kByte03+0(SB)/1, $0x03
GLOBL ·kByte03(SB), RODATA|NOPTR, $1
DATA ·kWordM4+0(SB)/2, $0xfffc
GLOBL ·kWordM4(SB), RODATA|NOPTR, $2
DATA ·kWords32+0(SB)/8, $0x0020002000200020
DATA ·kWords32+8(SB)/8, $0x0020002000200020
DATA ·kWords32+16(SB)/8, $0x0020002000200020
DATA ·kWords32+24(SB)/8, $0x0020002000200020
GLOBL ·kWords32(SB), RODATA|NOPTR, $32
DATA ·kWords0F+0(SB)/8, $0x000f000f000f000f
DATA ·kWords0F+8(SB)/8, $0x000f000f000f000f
DATA ·kWords0F+16(SB)/8, $0x000f000f000f000f
DATA ·kWords0F+24(SB)/8, $0x000f000f000f000f
GLOBL ·kWords0F(SB), RODATA|NOPTR, $32
