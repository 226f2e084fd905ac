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
