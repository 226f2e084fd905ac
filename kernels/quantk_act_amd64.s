//go:build amd64 && !noasm

#include "textflag.h"

// The Q8_K activation quantizer (QuantizeActQ8_K) with AVX-512 F/BW/VL,
// byte for byte as the Go loop in quantk.go (which is llama.cpp's
// quantize_row_q8_K_ref):
//
//	func kActQ8K512(x *float32, dst *byte, nb int)
//
// Per 256-value block: amax = max |x| (a NaN never wins: VMAXPS returns
// its second source, the running maximum, when either is NaN); the
// block's first value of that magnitude gives vmax (the Go loop keeps
// the first of equal magnitudes, whose sign decides the scale's);
// iscale = -127/vmax; q = min(127, nearest(iscale·x)) with the same
// magic-number rounding (x·iscale, + 1.5·2^23, low 23 bits - 2^22) and
// truncated to int8 as Go's int8 conversion does; the 16-value sums from
// the stored bytes (VPSADBW of q+128, less 16·128), the 32-value sums in
// their spread slots, d = 1/iscale, every other byte 0. A block of zeros
// (amax = 0) is all zero bytes.
//
// Registers: SI x, DI dst, CX blocks left, Z31 the |x| mask, Z30 the
// running maximum, Z29 amax broadcast, Z28 iscale broadcast, Z27 1.5·2^23,
// Z26 0x7fffff, Z25 0x400000, Z24 127, Z23 0x80 bytes, Z22 word ones,
// Z21 2048 dwords, Z0 zero.

DATA kq8kc<>+0(SB)/4, $0x7fffffff
DATA kq8kc<>+4(SB)/4, $0x4b400000
DATA kq8kc<>+8(SB)/4, $0x007fffff
DATA kq8kc<>+12(SB)/4, $0x00400000
DATA kq8kc<>+16(SB)/4, $127
DATA kq8kc<>+20(SB)/4, $0x80808080
DATA kq8kc<>+24(SB)/4, $0x00010001
DATA kq8kc<>+28(SB)/4, $2048
DATA kq8kc<>+32(SB)/4, $0xc2fe0000
DATA kq8kc<>+36(SB)/4, $0x3f800000
GLOBL kq8kc<>(SB), RODATA|NOPTR, $40

// func kActQ8K512(x *float32, dst *byte, nb int)
TEXT ·kActQ8K512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ nb+16(FP), CX
	VPBROADCASTD kq8kc<>+0(SB), Z31
	VPBROADCASTD kq8kc<>+4(SB), Z27
	VPBROADCASTD kq8kc<>+8(SB), Z26
	VPBROADCASTD kq8kc<>+12(SB), Z25
	VPBROADCASTD kq8kc<>+16(SB), Z24
	VPBROADCASTD kq8kc<>+20(SB), Z23
	VPBROADCASTD kq8kc<>+24(SB), Z22
	VPBROADCASTD kq8kc<>+28(SB), Z21
	VPXORD Z0, Z0, Z0

block:
	TESTQ CX, CX
	JZ done
	// amax over the 16 vectors of the block.
	VPXORD Z30, Z30, Z30
	XORQ BX, BX

maxloop:
	VPANDD (SI)(BX*1), Z31, Z1
	VMAXPS Z30, Z1, Z30
	ADDQ $64, BX
	CMPQ BX, $1024
	JB maxloop
	VEXTRACTF64X4 $1, Z30, Y1
	VMAXPS Y30, Y1, Y30
	VEXTRACTF32X4 $1, Y30, X1
	VMAXPS X30, X1, X30
	VPERMILPS $0x4e, X30, X1
	VMAXPS X30, X1, X30
	VPERMILPS $0xb1, X30, X1
	VMAXPS X30, X1, X30
	VBROADCASTSS X30, Z29
	// The block's bytes 256-383 are zero but for the sums and d.
	VMOVDQU64 Z0, 256(DI)
	VMOVDQU64 Z0, 320(DI)
	VXORPS X1, X1, X1
	VUCOMISS X1, X30
	JNE nonzero
	// amax = 0 (or no comparable value): all zero bytes.
	VMOVDQU64 Z0, 0(DI)
	VMOVDQU64 Z0, 64(DI)
	VMOVDQU64 Z0, 128(DI)
	VMOVDQU64 Z0, 192(DI)
	JMP next

nonzero:
	// vmax: the first value whose magnitude is amax.
	XORQ BX, BX

findloop:
	VPANDD (SI)(BX*1), Z31, Z1
	VCMPPS $0, Z29, Z1, K1
	KMOVW K1, AX
	TESTL AX, AX
	JNZ found
	ADDQ $64, BX
	CMPQ BX, $1024
	JB findloop
	// Not reached: some |x| equals amax.
	JMP next

found:
	TZCNTL AX, AX
	SHRQ $2, BX
	ADDQ AX, BX
	VMOVSS (SI)(BX*4), X1
	VMOVSS kq8kc<>+32(SB), X2 // -127
	VDIVSS X1, X2, X2         // iscale = -127/vmax
	VBROADCASTSS X2, Z28
	VMOVSS kq8kc<>+36(SB), X3 // 1
	VDIVSS X2, X3, X3         // d = 1/iscale
	VMOVSS X3, 320(DI)
	// q = min(127, nearest(iscale·x)), stored as int8.
	XORQ BX, BX
	XORQ DX, DX

qloop:
	VMULPS (SI)(BX*1), Z28, Z1
	VADDPS Z27, Z1, Z1
	VPANDD Z26, Z1, Z1
	VPSUBD Z25, Z1, Z1
	VPMINSD Z24, Z1, Z1
	VPMOVDB Z1, (DI)(DX*1)
	ADDQ $64, BX
	ADDQ $16, DX
	CMPQ DX, $256
	JB qloop
	// The 16-value sums, four per 64 stored bytes: Σ(q+128) of each 8
	// bytes (VPSADBW), pairs of them added (VPMADDWD), less 16·128.
	XORQ DX, DX

sumloop:
	VPXORD (DI)(DX*1), Z23, Z1
	VPSADBW Z0, Z1, Z1
	VPMOVQW Z1, X1
	VPMADDWD X22, X1, X1
	VPSUBD X21, X1, X1
	MOVQ DX, BX
	SHRQ $3, BX
	VPMOVDW X1, 256(DI)(BX*1)
	ADDQ $64, DX
	CMPQ DX, $256
	JB sumloop
	// The 32-value sums j = 0-7 in slots 4-7 and 12-15 (kBsum32Slot).
	VMOVDQU 256(DI), Y1
	VPMADDWD Y22, Y1, Y1
	VPMOVDW Y1, X1
	VMOVQ X1, 296(DI)
	VPEXTRQ $1, X1, 312(DI)

next:
	ADDQ $1024, SI
	ADDQ $384, DI
	DECQ CX
	JMP block

done:
	VZEROUPPER
	RET

// kActQ8K2 is kActQ8K512 with AVX2: 8 values per vector; the codes'
// low bytes packed without saturation (masked to 0xff, two unsigned
// packs, one dword permutation), so that they truncate as Go's int8
// conversion does; the 16-value sums per 32 stored bytes by VPSADBW.
//
// Registers: SI x, DI dst, CX blocks left, Y15 the |x| mask, Y14 the
// running maximum, Y13 amax, Y12 iscale, Y11 1.5·2^23, Y10 0x7fffff, Y9
// 0x400000, Y8 127, Y7 0xff dwords, Y6 the dword order, Y5 0x80 bytes,
// Y0 zero.

DATA kq8k2c<>+0(SB)/4, $0x000000ff
DATA kq8k2c<>+4(SB)/4, $0
DATA kq8k2c<>+8(SB)/4, $4
DATA kq8k2c<>+12(SB)/4, $1
DATA kq8k2c<>+16(SB)/4, $5
DATA kq8k2c<>+20(SB)/4, $2
DATA kq8k2c<>+24(SB)/4, $6
DATA kq8k2c<>+28(SB)/4, $3
DATA kq8k2c<>+32(SB)/4, $7
GLOBL kq8k2c<>(SB), RODATA|NOPTR, $36

// KQ8K2_SUMS stores the 16-value sums of the 32 code bytes at off (groups
// off/16 and off/16+1, at 256+off/8) and their 32-value sum at s32.
#define KQ8K2_SUMS(off, s32) \
	VPXOR off(DI), Y5, Y1 \
	VPSADBW Y0, Y1, Y1 \
	VPSHUFD $0x4e, Y1, Y2 \
	VPADDQ Y2, Y1, Y1 \
	VMOVD X1, AX \
	VEXTRACTI128 $1, Y1, X2 \
	VMOVD X2, DX \
	SUBL $2048, AX \
	SUBL $2048, DX \
	MOVW AX, (256+off/8)(DI) \
	MOVW DX, (258+off/8)(DI) \
	ADDL DX, AX \
	MOVW AX, s32(DI)

// KQ8K2_CODES quantizes 32 values at x offset 4*off into the bytes at off.
#define KQ8K2_CODES(off) \
	KQ8K2_Q(4*off, Y1) \
	KQ8K2_Q(4*off+32, Y2) \
	KQ8K2_Q(4*off+64, Y3) \
	KQ8K2_Q(4*off+96, Y4) \
	VPACKUSDW Y2, Y1, Y1 \
	VPACKUSDW Y4, Y3, Y3 \
	VPACKUSWB Y3, Y1, Y1 \
	VPERMD Y1, Y6, Y1 \
	VMOVDQU Y1, off(DI)

// KQ8K2_Q leaves in y the low bytes (as dwords) of min(127, nearest(iscale·x))
// for the 8 values at x offset o.
#define KQ8K2_Q(o, y) \
	VMULPS o(SI), Y12, y \
	VADDPS Y11, y, y \
	VPAND Y10, y, y \
	VPSUBD Y9, y, y \
	VPMINSD Y8, y, y \
	VPAND Y7, y, y

// func kActQ8K2(x *float32, dst *byte, nb int)
TEXT ·kActQ8K2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ nb+16(FP), CX
	VPBROADCASTD kq8kc<>+0(SB), Y15
	VPBROADCASTD kq8kc<>+4(SB), Y11
	VPBROADCASTD kq8kc<>+8(SB), Y10
	VPBROADCASTD kq8kc<>+12(SB), Y9
	VPBROADCASTD kq8kc<>+16(SB), Y8
	VPBROADCASTD kq8k2c<>+0(SB), Y7
	VMOVDQU kq8k2c<>+4(SB), Y6
	VPBROADCASTD kq8kc<>+20(SB), Y5
	VPXOR Y0, Y0, Y0

block2:
	TESTQ CX, CX
	JZ done2
	VPXOR Y14, Y14, Y14
	XORQ BX, BX

maxloop2:
	VPAND (SI)(BX*1), Y15, Y1
	VMAXPS Y14, Y1, Y14
	ADDQ $32, BX
	CMPQ BX, $1024
	JB maxloop2
	VEXTRACTF128 $1, Y14, X1
	VMAXPS X14, X1, X14
	VPERMILPS $0x4e, X14, X1
	VMAXPS X14, X1, X14
	VPERMILPS $0xb1, X14, X1
	VMAXPS X14, X1, X14
	VBROADCASTSS X14, Y13
	VMOVDQU Y0, 256(DI)
	VMOVDQU Y0, 288(DI)
	VMOVDQU Y0, 320(DI)
	VMOVDQU Y0, 352(DI)
	VXORPS X1, X1, X1
	VUCOMISS X1, X14
	JNE nonzero2
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y0, 32(DI)
	VMOVDQU Y0, 64(DI)
	VMOVDQU Y0, 96(DI)
	VMOVDQU Y0, 128(DI)
	VMOVDQU Y0, 160(DI)
	VMOVDQU Y0, 192(DI)
	VMOVDQU Y0, 224(DI)
	JMP next2

nonzero2:
	XORQ BX, BX

findloop2:
	VPAND (SI)(BX*1), Y15, Y1
	VCMPPS $0, Y13, Y1, Y1
	VMOVMSKPS Y1, AX
	TESTL AX, AX
	JNZ found2
	ADDQ $32, BX
	CMPQ BX, $1024
	JB findloop2
	JMP next2

found2:
	BSFL AX, AX
	SHRQ $2, BX
	ADDQ AX, BX
	VMOVSS (SI)(BX*4), X1
	VMOVSS kq8kc<>+32(SB), X2
	VDIVSS X1, X2, X2
	VBROADCASTSS X2, Y12
	VMOVSS kq8kc<>+36(SB), X3
	VDIVSS X2, X3, X3
	VMOVSS X3, 320(DI)
	KQ8K2_CODES(0)
	KQ8K2_CODES(32)
	KQ8K2_CODES(64)
	KQ8K2_CODES(96)
	KQ8K2_CODES(128)
	KQ8K2_CODES(160)
	KQ8K2_CODES(192)
	KQ8K2_CODES(224)
	KQ8K2_SUMS(0, 296)
	KQ8K2_SUMS(32, 298)
	KQ8K2_SUMS(64, 300)
	KQ8K2_SUMS(96, 302)
	KQ8K2_SUMS(128, 312)
	KQ8K2_SUMS(160, 314)
	KQ8K2_SUMS(192, 316)
	KQ8K2_SUMS(224, 318)

next2:
	ADDQ $1024, SI
	ADDQ $384, DI
	DECQ CX
	JMP block2

done2:
	VZEROUPPER
	RET
