//go:build amd64 && !noasm

#include "textflag.h"

// The panel microkernels (panel.go): 32 weight rows (two row groups of 16
// lanes) × 4 tokens, over ng groups of one panel.
//
// Registers: Z0-Z3 / Z4-Z7 the f32 results of row group 0 / 1 for tokens
// 0-3; Z8-Z11 / Z12-Z15 the group's int32 sums; Z16, Z17 the weight codes
// of one 4-value step; Z18-Z21 the 4 tokens' 4 quants broadcast; Z22, Z23
// the weight scales; Z24, Z25 the sums' start (-128·Σw); Z26, Z27 the
// scale products; Z28, Z29 the minimum terms.
//
// SI walks the panel's group records, DI the token block's quants (16
// bytes per step of 4 values), BX its scales and CX its sums (16 bytes per
// group); DX is y, R8 the byte stride of y, R9 counts groups down.

// STEP is one step of 4 values: 8 VPDPBUSD (u8 quants × s8 codes).
#define STEP(wo, ao) \
	VMOVDQU32 wo(SI), Z16; \
	VMOVDQU32 wo+64(SI), Z17; \
	VPBROADCASTD ao(DI), Z18; \
	VPBROADCASTD ao+4(DI), Z19; \
	VPBROADCASTD ao+8(DI), Z20; \
	VPBROADCASTD ao+12(DI), Z21; \
	VPDPBUSD Z16, Z18, Z8; \
	VPDPBUSD Z16, Z19, Z9; \
	VPDPBUSD Z16, Z20, Z10; \
	VPDPBUSD Z16, Z21, Z11; \
	VPDPBUSD Z17, Z18, Z12; \
	VPDPBUSD Z17, Z19, Z13; \
	VPDPBUSD Z17, Z20, Z14; \
	VPDPBUSD Z17, Z21, Z15

// START loads the group's sum starts (table offset to) into the sums.
#define START(to) \
	VMOVDQU32 to(SI), Z24; \
	VMOVDQU32 to+64(SI), Z25; \
	VMOVDQA32 Z24, Z8; \
	VMOVDQA32 Z24, Z9; \
	VMOVDQA32 Z24, Z10; \
	VMOVDQA32 Z24, Z11; \
	VMOVDQA32 Z25, Z12; \
	VMOVDQA32 Z25, Z13; \
	VMOVDQA32 Z25, Z14; \
	VMOVDQA32 Z25, Z15

// TOKEN scales token i's sums (scale at o(BX)) into its results.
#define TOKEN(o, s0, s1, r0, r1) \
	VMULPS.BCST o(BX), Z22, Z26; \
	VMULPS.BCST o(BX), Z23, Z27; \
	VCVTDQ2PS s0, s0; \
	VCVTDQ2PS s1, s1; \
	VFMADD231PS Z26, s0, r0; \
	VFMADD231PS Z27, s1, r1

// SCALE applies the group's weight scales (table offset tw).
#define SCALE(tw) \
	VMOVUPS tw(SI), Z22; \
	VMOVUPS tw+64(SI), Z23; \
	TOKEN(0, Z8, Z12, Z0, Z4); \
	TOKEN(4, Z9, Z13, Z1, Z5); \
	TOKEN(8, Z10, Z14, Z2, Z6); \
	TOKEN(12, Z11, Z15, Z3, Z7)

// MINIMUM adds the group's minimum terms (table offset tm) times the
// tokens' da·Σq.
#define MINIMUM(tm) \
	VMOVUPS tm(SI), Z28; \
	VMOVUPS tm+64(SI), Z29; \
	VFMADD231PS.BCST 0(CX), Z28, Z0; \
	VFMADD231PS.BCST 0(CX), Z29, Z4; \
	VFMADD231PS.BCST 4(CX), Z28, Z1; \
	VFMADD231PS.BCST 4(CX), Z29, Z5; \
	VFMADD231PS.BCST 8(CX), Z28, Z2; \
	VFMADD231PS.BCST 8(CX), Z29, Z6; \
	VFMADD231PS.BCST 12(CX), Z28, Z3; \
	VFMADD231PS.BCST 12(CX), Z29, Z7

#define PROLOGUE \
	MOVQ w+0(FP), SI; \
	MOVQ a+8(FP), DI; \
	MOVQ as+16(FP), BX; \
	MOVQ asum+24(FP), CX; \
	MOVQ ng+32(FP), R9; \
	MOVQ y+40(FP), DX; \
	MOVQ ldy+48(FP), R8; \
	SHLQ $2, R8; \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7

// NEXT moves to the next group (record of rec bytes, g values).
#define NEXT(rec, g) \
	ADDQ $rec, SI; \
	ADDQ $(4*g), DI; \
	ADDQ $16, BX; \
	ADDQ $16, CX; \
	DECQ R9

#define EPILOGUE \
	VMOVUPS Z0, (DX); \
	VMOVUPS Z4, 64(DX); \
	ADDQ R8, DX; \
	VMOVUPS Z1, (DX); \
	VMOVUPS Z5, 64(DX); \
	ADDQ R8, DX; \
	VMOVUPS Z2, (DX); \
	VMOVUPS Z6, 64(DX); \
	ADDQ R8, DX; \
	VMOVUPS Z3, (DX); \
	VMOVUPS Z7, 64(DX); \
	VZEROUPPER

// func panelG16S(w, a *byte, as, asum *float32, ng int, y *float32, ldy int)
TEXT ·panelG16S(SB), NOSPLIT, $0-56
	PROLOGUE

panelG16S_group:
	START(640)
	STEP(0, 0)
	STEP(128, 16)
	STEP(256, 32)
	STEP(384, 48)
	SCALE(512)
	NEXT(768, 16)
	JNZ panelG16S_group
	EPILOGUE
	RET

// func panelG16M(w, a *byte, as, asum *float32, ng int, y *float32, ldy int)
TEXT ·panelG16M(SB), NOSPLIT, $0-56
	PROLOGUE

panelG16M_group:
	START(640)
	STEP(0, 0)
	STEP(128, 16)
	STEP(256, 32)
	STEP(384, 48)
	SCALE(512)
	MINIMUM(768)
	NEXT(896, 16)
	JNZ panelG16M_group
	EPILOGUE
	RET

// func panelG32S(w, a *byte, as, asum *float32, ng int, y *float32, ldy int)
TEXT ·panelG32S(SB), NOSPLIT, $0-56
	PROLOGUE

panelG32S_group:
	START(1152)
	STEP(0, 0)
	STEP(128, 16)
	STEP(256, 32)
	STEP(384, 48)
	STEP(512, 64)
	STEP(640, 80)
	STEP(768, 96)
	STEP(896, 112)
	SCALE(1024)
	NEXT(1280, 32)
	JNZ panelG32S_group
	EPILOGUE
	RET

// func panelG32M(w, a *byte, as, asum *float32, ng int, y *float32, ldy int)
TEXT ·panelG32M(SB), NOSPLIT, $0-56
	PROLOGUE

panelG32M_group:
	START(1152)
	STEP(0, 0)
	STEP(128, 16)
	STEP(256, 32)
	STEP(384, 48)
	STEP(512, 64)
	STEP(640, 80)
	STEP(768, 96)
	STEP(896, 112)
	SCALE(1024)
	MINIMUM(1280)
	NEXT(1408, 32)
	JNZ panelG32M_group
	EPILOGUE
	RET

// panelIdx are the byte offsets of 16 staged rows (panelStage apart).
DATA panelIdx<>+0(SB)/4, $0
DATA panelIdx<>+4(SB)/4, $256
DATA panelIdx<>+8(SB)/4, $512
DATA panelIdx<>+12(SB)/4, $768
DATA panelIdx<>+16(SB)/4, $1024
DATA panelIdx<>+20(SB)/4, $1280
DATA panelIdx<>+24(SB)/4, $1536
DATA panelIdx<>+28(SB)/4, $1792
DATA panelIdx<>+32(SB)/4, $2048
DATA panelIdx<>+36(SB)/4, $2304
DATA panelIdx<>+40(SB)/4, $2560
DATA panelIdx<>+44(SB)/4, $2816
DATA panelIdx<>+48(SB)/4, $3072
DATA panelIdx<>+52(SB)/4, $3328
DATA panelIdx<>+56(SB)/4, $3584
DATA panelIdx<>+60(SB)/4, $3840
GLOBL panelIdx<>(SB), RODATA|NOPTR, $64

// func panelPackZ(stage, dst *byte, ng, rec, steps int)
//
// For each of ng groups of steps 4-value steps: gathers each step's word
// of the 32 staged rows into the two 64-byte halves of the step's 128
// bytes, sums the codes per row with VPDPBUSD by ones, and stores
// -128·Σ as the group's sum starts.
TEXT ·panelPackZ(SB), NOSPLIT, $0-40
	MOVQ stage+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ ng+16(FP), CX
	MOVQ rec+24(FP), R8
	MOVQ steps+32(FP), R9
	VMOVDQU32 panelIdx<>(SB), Z31
	MOVL $0x01010101, AX
	VPBROADCASTD AX, Z30
	VPXORD Z29, Z29, Z29

pack_group:
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ DI, R10
	MOVQ R9, DX

pack_step:
	KXNORW K1, K1, K1
	VPGATHERDD (SI)(Z31*1), K1, Z0
	KXNORW K2, K2, K2
	VPGATHERDD 4096(SI)(Z31*1), K2, Z1
	VMOVDQU32 Z0, (R10)
	VMOVDQU32 Z1, 64(R10)
	VPDPBUSD Z0, Z30, Z2
	VPDPBUSD Z1, Z30, Z3
	ADDQ $4, SI
	ADDQ $128, R10
	DECQ DX
	JNZ pack_step

	VPSUBD Z2, Z29, Z2
	VPSLLD $7, Z2, Z2
	VPSUBD Z3, Z29, Z3
	VPSLLD $7, Z3, Z3
	VMOVDQU32 Z2, 128(R10)
	VMOVDQU32 Z3, 192(R10)
	ADDQ R8, DI
	DECQ CX
	JNZ pack_group
	VZEROUPPER
	RET

// panelLane are the lane numbers 0-15.
DATA panelLane<>+0(SB)/4, $0
DATA panelLane<>+4(SB)/4, $1
DATA panelLane<>+8(SB)/4, $2
DATA panelLane<>+12(SB)/4, $3
DATA panelLane<>+16(SB)/4, $4
DATA panelLane<>+20(SB)/4, $5
DATA panelLane<>+24(SB)/4, $6
DATA panelLane<>+28(SB)/4, $7
DATA panelLane<>+32(SB)/4, $8
DATA panelLane<>+36(SB)/4, $9
DATA panelLane<>+40(SB)/4, $10
DATA panelLane<>+44(SB)/4, $11
DATA panelLane<>+48(SB)/4, $12
DATA panelLane<>+52(SB)/4, $13
DATA panelLane<>+56(SB)/4, $14
DATA panelLane<>+60(SB)/4, $15
GLOBL panelLane<>(SB), RODATA|NOPTR, $64

// ROWS_SETUP reads the arguments w, rb and nb common to the code and
// table writers: SI rows 0-15 and R11 rows 16-31 (R13 = rb), Z31 the 16
// rows' offsets for gathers, and TRANSX's strides (BX = 3rb, DX = 5rb,
// R8 = 7rb) and bases of rows 8-15 (R9) and 24-31 (R10). ROWS_ADVANCE
// moves the four bases on by bs bytes, one block.
#define ROWS_SETUP \
	MOVQ w+0(FP), SI; \
	MOVQ rb+8(FP), R13; \
	MOVQ nb+16(FP), CX; \
	VPBROADCASTD R13, Z26; \
	VPMULLD panelLane<>(SB), Z26, Z31; \
	MOVQ R13, R11; \
	SHLQ $4, R11; \
	ADDQ SI, R11; \
	LEAQ (R13)(R13*2), BX; \
	LEAQ (R13)(R13*4), DX; \
	LEAQ (BX)(R13*4), R8; \
	LEAQ (SI)(R13*8), R9; \
	LEAQ (R11)(R13*8), R10

#define ROWS_ADVANCE(bs) \
	ADDQ bs, SI; \
	ADDQ bs, R9; \
	ADDQ bs, R11; \
	ADDQ bs, R10

// The code writers read 32 weight rows (rb bytes apart) into the panel's
// layout, lanes being rows: Q4_0, Q8_0, Q4_K, Q5_K and Q6_K with TRANSX;
// Q2_K, Q3_K and the fp16 scales with gathers, Z31 holding the 16 rows'
// offsets of one row group (SI: rows 0-15, R11: rows 16-31), so that one
// VPGATHERDD brings the same 4 bytes of 16 rows into the lanes. DI walks
// the group records.
#define CODES_SETUP \
	ROWS_SETUP; \
	MOVQ dst+24(FP), DI; \
	MOVL $0x01010101, AX; \
	VPBROADCASTD AX, Z30; \
	VPXORD Z29, Z29, Z29; \
	MOVL $0x0f0f0f0f, AX; \
	VPBROADCASTD AX, Z28; \
	MOVL $0x08080808, AX; \
	VPBROADCASTD AX, Z27

// PREFETCH32 asks for the line dist bytes ahead in each of the 32 rows:
// the writers read 32 streams at once, more than the hardware
// prefetchers follow, and without this the code writers waited for
// memory (BenchmarkPanelCrossover: a 4096×4096 Q8_0 panel product of 4
// tokens 5.1 ms, mostly the unpacking of 17.8 MB).
#define PREFETCH1(dist) \
	PREFETCHT0 dist(R12); \
	ADDQ R13, R12

#define PREFETCH32(dist) \
	MOVQ SI, R12; \
	PREFETCH1(dist); PREFETCH1(dist); PREFETCH1(dist); PREFETCH1(dist); \
	PREFETCH1(dist); PREFETCH1(dist); PREFETCH1(dist); PREFETCH1(dist); \
	PREFETCH1(dist); PREFETCH1(dist); PREFETCH1(dist); PREFETCH1(dist); \
	PREFETCH1(dist); PREFETCH1(dist); PREFETCH1(dist); PREFETCH1(dist); \
	PREFETCH1(dist); PREFETCH1(dist); PREFETCH1(dist); PREFETCH1(dist); \
	PREFETCH1(dist); PREFETCH1(dist); PREFETCH1(dist); PREFETCH1(dist); \
	PREFETCH1(dist); PREFETCH1(dist); PREFETCH1(dist); PREFETCH1(dist); \
	PREFETCH1(dist); PREFETCH1(dist); PREFETCH1(dist); PREFETCH1(dist)

// GATHER loads the 4 bytes at off of the 16 rows from base into z.
#define GATHER(off, base, z) \
	KXNORW K1, K1, K1; \
	VPGATHERDD off(base)(Z31*1), K1, z

// F16SCALE stores the 16 rows' fp16 block scale at off (widened) at dst.
#define F16SCALE(off, base, dst) \
	GATHER(off, base, Z3); \
	VPMOVDW Z3, Y3; \
	VCVTPH2PS Y3, Z3; \
	VMOVUPS Z3, dst(DI)

// INIT stores -128·Σ (Z2) at dst and clears Z2.
#define INIT(dst) \
	VPSUBD Z2, Z29, Z2; \
	VPSLLD $7, Z2, Z2; \
	VMOVDQU32 Z2, dst(DI); \
	VPXORD Z2, Z2, Z2

// Q4_0 and Q8_0 read their blocks' codes with plain loads and transpose
// them in registers, not with gathers: on Zen 4 a 16-lane VPGATHERDD
// costs about as much as the rest of a block's unpacking several times
// over (a 32-row × 4096 Q4_0 panel: 10.0 µs with gathers). TRANS16 loads
// 16 bytes at off of the 16 rows of a row group (b0: rows 0-7, b1: rows
// 8-15; R13 = rb, BX = 3rb, DX = 5rb, R8 = 7rb), four rows i, i+4, i+8,
// i+12 to the 128-bit lanes of Z4+i, and transposes the 4×4 words of
// each lane (through Z8-Z11): o0-o3 then hold words 0-3 of the 16 rows,
// lane r row r.
#define TRANSX(off, b0, b1, o0, o1, o2, o3) \
	VMOVDQU off(b0), X4; \
	VINSERTI32X4 $1, off(b0)(R13*4), Z4, Z4; \
	VINSERTI32X4 $2, off(b1), Z4, Z4; \
	VINSERTI32X4 $3, off(b1)(R13*4), Z4, Z4; \
	VMOVDQU off(b0)(R13*1), X5; \
	VINSERTI32X4 $1, off(b0)(DX*1), Z5, Z5; \
	VINSERTI32X4 $2, off(b1)(R13*1), Z5, Z5; \
	VINSERTI32X4 $3, off(b1)(DX*1), Z5, Z5; \
	VMOVDQU off(b0)(R13*2), X6; \
	VINSERTI32X4 $1, off(b0)(BX*2), Z6, Z6; \
	VINSERTI32X4 $2, off(b1)(R13*2), Z6, Z6; \
	VINSERTI32X4 $3, off(b1)(BX*2), Z6, Z6; \
	VMOVDQU off(b0)(BX*1), X7; \
	VINSERTI32X4 $1, off(b0)(R8*1), Z7, Z7; \
	VINSERTI32X4 $2, off(b1)(BX*1), Z7, Z7; \
	VINSERTI32X4 $3, off(b1)(R8*1), Z7, Z7; \
	VPUNPCKLDQ Z5, Z4, Z8; \
	VPUNPCKHDQ Z5, Z4, Z9; \
	VPUNPCKLDQ Z7, Z6, Z10; \
	VPUNPCKHDQ Z7, Z6, Z11; \
	VPUNPCKLQDQ Z10, Z8, o0; \
	VPUNPCKHQDQ Z10, Z8, o1; \
	VPUNPCKLQDQ Z11, Z9, o2; \
	VPUNPCKHQDQ Z11, Z9, o3

// TRANS16 is TRANSX into Z4-Z7.
#define TRANS16(off, b0, b1) TRANSX(off, b0, b1, Z4, Z5, Z6, Z7)

// Q4_0_NIB stores the codes of word z (step j: low nibbles, j+4: high)
// and adds their sums into Z2 and Z12 (two chains).
#define Q4_0_NIB(z, j, h) \
	VPSRLD $4, z, Z1; \
	VPANDD Z28, z, Z0; \
	VPANDD Z28, Z1, Z1; \
	VPSUBB Z27, Z0, Z0; \
	VPSUBB Z27, Z1, Z1; \
	VMOVDQU32 Z0, (j*128+h)(DI); \
	VMOVDQU32 Z1, ((j+4)*128+h)(DI); \
	VPDPBUSD Z0, Z30, Z2; \
	VPDPBUSD Z1, Z30, Z12

// SUMS_INIT stores the row group's sums' starts from Z2 + Z12.
#define SUMS_INIT(dst) \
	VPADDD Z12, Z2, Z2; \
	VPXORD Z12, Z12, Z12; \
	INIT(dst)

// Q4_0 one row group: b0, b1 its block pointers (rows 0-7, 8-15), h its
// half (0/64).
#define Q4_0_HALF(b0, b1, h) \
	TRANS16(2, b0, b1); \
	Q4_0_NIB(Z4, 0, h); \
	Q4_0_NIB(Z5, 1, h); \
	Q4_0_NIB(Z6, 2, h); \
	Q4_0_NIB(Z7, 3, h); \
	F16SCALE(0, b0, 1024+h); \
	SUMS_INIT(1152+h)

// func panelCodesQ4_0(w *byte, rb, nb int, dst *byte)
TEXT ·panelCodesQ4_0(SB), NOSPLIT, $0-32
	CODES_SETUP
	VPXORD Z2, Z2, Z2
	VPXORD Z12, Z12, Z12

q4_0_block:
	PREFETCH32(512)
	Q4_0_HALF(SI, R9, 0)
	Q4_0_HALF(R11, R10, 64)
	ROWS_ADVANCE($18)
	ADDQ $1280, DI
	DECQ CX
	JNZ q4_0_block
	VZEROUPPER
	RET

// Q8_0_4 stores words Z4-Z7 as steps j..j+3 and adds their sums.
#define Q8_0_4(j, h) \
	VMOVDQU32 Z4, (j*128+h)(DI); \
	VMOVDQU32 Z5, ((j+1)*128+h)(DI); \
	VMOVDQU32 Z6, ((j+2)*128+h)(DI); \
	VMOVDQU32 Z7, ((j+3)*128+h)(DI); \
	VPDPBUSD Z4, Z30, Z2; \
	VPDPBUSD Z5, Z30, Z12; \
	VPDPBUSD Z6, Z30, Z2; \
	VPDPBUSD Z7, Z30, Z12

#define Q8_0_HALF(b0, b1, h) \
	TRANS16(2, b0, b1); \
	Q8_0_4(0, h); \
	TRANS16(18, b0, b1); \
	Q8_0_4(4, h); \
	F16SCALE(0, b0, 1024+h); \
	SUMS_INIT(1152+h)

// func panelCodesQ8_0(w *byte, rb, nb int, dst *byte)
TEXT ·panelCodesQ8_0(SB), NOSPLIT, $0-32
	CODES_SETUP
	VPXORD Z2, Z2, Z2
	VPXORD Z12, Z12, Z12

q8_0_block:
	PREFETCH32(512)
	Q8_0_HALF(SI, R9, 0)
	Q8_0_HALF(R11, R10, 64)
	ROWS_ADVANCE($34)
	ADDQ $1280, DI
	DECQ CX
	JNZ q8_0_block
	VZEROUPPER
	RET

// Q4_K: the 32 bytes of quants c (0-3) of a super-block hold groups 2c
// (low nibbles) and 2c+1 (high); records are 1408 bytes; the sums'
// starts are left to panelSumsZ and the tables to Go.
#define Q4_K_WORD(z, c, j, h) \
	VPSRLD $4, z, Z1; \
	VPANDD Z28, z, Z0; \
	VPANDD Z28, Z1, Z1; \
	VMOVDQU32 Z0, ((2*c)*1408+j*128+h)(DI); \
	VMOVDQU32 Z1, ((2*c+1)*1408+j*128+h)(DI)

#define Q4_K_PAIR(c, b0, b1, h) \
	TRANS16(16+32*c, b0, b1); \
	Q4_K_WORD(Z4, c, 0, h); \
	Q4_K_WORD(Z5, c, 1, h); \
	Q4_K_WORD(Z6, c, 2, h); \
	Q4_K_WORD(Z7, c, 3, h); \
	TRANS16(32+32*c, b0, b1); \
	Q4_K_WORD(Z4, c, 4, h); \
	Q4_K_WORD(Z5, c, 5, h); \
	Q4_K_WORD(Z6, c, 6, h); \
	Q4_K_WORD(Z7, c, 7, h)

#define Q4_K_HALF(b0, b1, h) \
	Q4_K_PAIR(0, b0, b1, h); \
	Q4_K_PAIR(1, b0, b1, h); \
	Q4_K_PAIR(2, b0, b1, h); \
	Q4_K_PAIR(3, b0, b1, h)

// func panelCodesQ4_K(w *byte, rb, nb int, dst *byte)
TEXT ·panelCodesQ4_K(SB), NOSPLIT, $0-32
	CODES_SETUP

q4_k_block:
	PREFETCH32(576)
	PREFETCH32(640)
	Q4_K_HALF(SI, R9, 0)
	Q4_K_HALF(R11, R10, 64)
	ROWS_ADVANCE($144)
	ADDQ $(8*1408), DI
	DECQ CX
	JNZ q4_k_block
	VZEROUPPER
	RET

// Q6_K: per half hh (0/1) and 4 values l of 32: the low bits of quarters
// 0/2 in ql[64hh+l], of quarters 1/3 in ql[64hh+32+l], the high 2 bits of
// all four in qh[32hh+l]. Value l is group hh*8 + 2q + l/16, word l%16/4;
// records are 768 bytes. Z27 holds 0x03 bytes, Z25 0x20 (the offset 32).
#define Q6_K_QUAD(hh, l, h, r0, r1, r2) \
	VPANDD Z28, r0, Z4; \
	VPANDD Z27, r2, Z5; \
	VPSLLD $4, Z5, Z5; \
	VPORD Z5, Z4, Z4; \
	VPSUBB Z25, Z4, Z4; \
	VMOVDQU32 Z4, ((hh*8+0+l/16)*768+(l%16/4)*128+h)(DI); \
	VPANDD Z28, r1, Z4; \
	VPSRLD $2, r2, Z5; \
	VPANDD Z27, Z5, Z5; \
	VPSLLD $4, Z5, Z5; \
	VPORD Z5, Z4, Z4; \
	VPSUBB Z25, Z4, Z4; \
	VMOVDQU32 Z4, ((hh*8+2+l/16)*768+(l%16/4)*128+h)(DI); \
	VPSRLD $4, r0, Z4; \
	VPANDD Z28, Z4, Z4; \
	VPSRLD $4, r2, Z5; \
	VPANDD Z27, Z5, Z5; \
	VPSLLD $4, Z5, Z5; \
	VPORD Z5, Z4, Z4; \
	VPSUBB Z25, Z4, Z4; \
	VMOVDQU32 Z4, ((hh*8+4+l/16)*768+(l%16/4)*128+h)(DI); \
	VPSRLD $4, r1, Z4; \
	VPANDD Z28, Z4, Z4; \
	VPSRLD $6, r2, Z5; \
	VPANDD Z27, Z5, Z5; \
	VPSLLD $4, Z5, Z5; \
	VPORD Z5, Z4, Z4; \
	VPSUBB Z25, Z4, Z4; \
	VMOVDQU32 Z4, ((hh*8+6+l/16)*768+(l%16/4)*128+h)(DI)

// Q6_K_P is values 16p..16p+15 of half hh: their ql and qh words
// transposed into Z12-Z23, then four quads.
#define Q6_K_P(hh, p, b0, b1, h) \
	TRANSX(64*hh+16*p, b0, b1, Z12, Z13, Z14, Z15); \
	TRANSX(64*hh+32+16*p, b0, b1, Z16, Z17, Z18, Z19); \
	TRANSX(128+32*hh+16*p, b0, b1, Z20, Z21, Z22, Z23); \
	Q6_K_QUAD(hh, (16*p), h, Z12, Z16, Z20); \
	Q6_K_QUAD(hh, (16*p+4), h, Z13, Z17, Z21); \
	Q6_K_QUAD(hh, (16*p+8), h, Z14, Z18, Z22); \
	Q6_K_QUAD(hh, (16*p+12), h, Z15, Z19, Z23)

#define Q6_K_HH(hh, b0, b1, h) \
	Q6_K_P(hh, 0, b0, b1, h); \
	Q6_K_P(hh, 1, b0, b1, h)

// func panelCodesQ6_K(w *byte, rb, nb int, dst *byte)
TEXT ·panelCodesQ6_K(SB), NOSPLIT, $0-32
	CODES_SETUP
	MOVL $0x03030303, AX
	VPBROADCASTD AX, Z27
	MOVL $0x20202020, AX
	VPBROADCASTD AX, Z25

q6_k_block:
	PREFETCH32(832)
	PREFETCH32(896)
	PREFETCH32(960)
	PREFETCH32(1024)
	Q6_K_HH(0, SI, R9, 0)
	Q6_K_HH(1, SI, R9, 0)
	Q6_K_HH(0, R11, R10, 64)
	Q6_K_HH(1, R11, R10, 64)
	ROWS_ADVANCE($210)
	ADDQ $(16*768), DI
	DECQ CX
	JNZ q6_k_block
	VZEROUPPER
	RET

// func panelSumsZ(dst *byte, ng, rec, steps int)
//
// Stores each group's sum starts, -128·Σcodes per row, from the codes
// already in its record.
TEXT ·panelSumsZ(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ ng+8(FP), CX
	MOVQ rec+16(FP), R8
	MOVQ steps+24(FP), R9
	MOVL $0x01010101, AX
	VPBROADCASTD AX, Z30
	VPXORD Z29, Z29, Z29

sums_group:
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ DI, R10
	MOVQ R9, DX

sums_step:
	VPDPBUSD (R10), Z30, Z2
	VPDPBUSD 64(R10), Z30, Z3
	ADDQ $128, R10
	DECQ DX
	JNZ sums_step
	VPSUBD Z2, Z29, Z2
	VPSLLD $7, Z2, Z2
	VPSUBD Z3, Z29, Z3
	VPSLLD $7, Z3, Z3
	VMOVDQU32 Z2, 128(R10)
	VMOVDQU32 Z3, 192(R10)
	ADDQ R8, DI
	DECQ CX
	JNZ sums_group
	VZEROUPPER
	RET

// Q5_K: Q4_K's nibbles (quants at 48) plus a fifth bit from qh[l] (at 16),
// bit 2c for group 2c and 2c+1 for group 2c+1; q holds the qh word of
// step j, Z27 0x01 bytes.
#define Q5_K_WORD(z, q, c, j, h) \
	VPSRLD $4, z, Z1; \
	VPANDD Z28, z, Z0; \
	VPANDD Z28, Z1, Z1; \
	VPSRLD $(2*c), q, Z4; \
	VPANDD Z27, Z4, Z4; \
	VPSLLD $4, Z4, Z4; \
	VPORD Z4, Z0, Z0; \
	VPSRLD $(2*c+1), q, Z4; \
	VPANDD Z27, Z4, Z4; \
	VPSLLD $4, Z4, Z4; \
	VPORD Z4, Z1, Z1; \
	VMOVDQU32 Z0, ((2*c)*1408+j*128+h)(DI); \
	VMOVDQU32 Z1, ((2*c+1)*1408+j*128+h)(DI)

// Q5_K_C is the words 4p..4p+3 of quants c, the qh words in Z12-Z15.
#define Q5_K_C(c, p, b0, b1, h) \
	TRANSX(48+32*c+16*p, b0, b1, Z16, Z17, Z18, Z19); \
	Q5_K_WORD(Z16, Z12, c, (4*p), h); \
	Q5_K_WORD(Z17, Z13, c, (4*p+1), h); \
	Q5_K_WORD(Z18, Z14, c, (4*p+2), h); \
	Q5_K_WORD(Z19, Z15, c, (4*p+3), h)

#define Q5_K_P(p, b0, b1, h) \
	TRANSX(16+16*p, b0, b1, Z12, Z13, Z14, Z15); \
	Q5_K_C(0, p, b0, b1, h); \
	Q5_K_C(1, p, b0, b1, h); \
	Q5_K_C(2, p, b0, b1, h); \
	Q5_K_C(3, p, b0, b1, h)

#define Q5_K_HALF(b0, b1, h) \
	Q5_K_P(0, b0, b1, h); \
	Q5_K_P(1, b0, b1, h)

// func panelCodesQ5_K(w *byte, rb, nb int, dst *byte)
TEXT ·panelCodesQ5_K(SB), NOSPLIT, $0-32
	CODES_SETUP
	MOVL $0x01010101, AX
	VPBROADCASTD AX, Z27

q5_k_block:
	PREFETCH32(704)
	PREFETCH32(768)
	PREFETCH32(832)
	Q5_K_HALF(SI, R9, 0)
	Q5_K_HALF(R11, R10, 64)
	ROWS_ADVANCE($176)
	ADDQ $(8*1408), DI
	DECQ CX
	JNZ q5_k_block
	VZEROUPPER
	RET

// Q2_K and Q3_K: group g (16 values) of a super-block takes the 2 bits at
// shift 2·(g%8/2) of quants 32·(g/8) + 16·(g%2) + l; Q3_K adds the
// third bit from hmask[16·(g%2) + l], bit 4·(g/8) + g%8/2, and takes 4
// off. So one gathered word serves four groups. Records are 896 (Q2_K,
// with minimum terms) and 768 bytes. Z27 holds 0x03 bytes, Z25 0x01,
// Z24 0x04.
// Q2_K_WORDS gathers step j of the quants of half hf (0/1) of the
// super-block's 128-value half n once and stores its four 2-bit fields,
// groups 8n + 2s + hf for s = 0..3.
#define Q2_K_FIELD(n, hf, s, j, h) \
	VPSRLD $(2*s), Z0, Z1; \
	VPANDD Z27, Z1, Z1; \
	VMOVDQU32 Z1, ((8*n+2*s+hf)*896+j*128+h)(DI)

#define Q2_K_WORDS(n, hf, j, base, h) \
	GATHER(16+32*n+16*hf+4*j, base, Z0); \
	Q2_K_FIELD(n, hf, 0, j, h); \
	Q2_K_FIELD(n, hf, 1, j, h); \
	Q2_K_FIELD(n, hf, 2, j, h); \
	Q2_K_FIELD(n, hf, 3, j, h)

#define Q2_K_HH(n, hf, base, h) \
	Q2_K_WORDS(n, hf, 0, base, h); \
	Q2_K_WORDS(n, hf, 1, base, h); \
	Q2_K_WORDS(n, hf, 2, base, h); \
	Q2_K_WORDS(n, hf, 3, base, h)

#define Q2_K_HALF(base, h) \
	Q2_K_HH(0, 0, base, h); \
	Q2_K_HH(0, 1, base, h); \
	Q2_K_HH(1, 0, base, h); \
	Q2_K_HH(1, 1, base, h)

// func panelCodesQ2_K(w *byte, rb, nb int, dst *byte)
TEXT ·panelCodesQ2_K(SB), NOSPLIT, $0-32
	CODES_SETUP
	MOVL $0x03030303, AX
	VPBROADCASTD AX, Z27

q2_k_block:
	PREFETCH32(640)
	Q2_K_HALF(SI, 0)
	Q2_K_HALF(R11, 64)
	ADDQ $84, SI
	ADDQ $84, R11
	ADDQ $(16*896), DI
	DECQ CX
	JNZ q2_k_block
	VZEROUPPER
	RET

// Q3_K_WORDS: as Q2_K_WORDS, with the third bits of the same 4 values
// gathered once from hmask (Z2): bit 4n + s for field s.
#define Q3_K_FIELD(n, hf, s, j, h) \
	VPSRLD $(2*s), Z0, Z1; \
	VPANDD Z27, Z1, Z1; \
	VPSRLD $(4*n+s), Z2, Z3; \
	VPANDD Z25, Z3, Z3; \
	VPSLLD $2, Z3, Z3; \
	VPORD Z3, Z1, Z1; \
	VPSUBB Z24, Z1, Z1; \
	VMOVDQU32 Z1, ((8*n+2*s+hf)*768+j*128+h)(DI)

#define Q3_K_WORDS(n, hf, j, base, h) \
	GATHER(32+32*n+16*hf+4*j, base, Z0); \
	GATHER(16*hf+4*j, base, Z2); \
	Q3_K_FIELD(n, hf, 0, j, h); \
	Q3_K_FIELD(n, hf, 1, j, h); \
	Q3_K_FIELD(n, hf, 2, j, h); \
	Q3_K_FIELD(n, hf, 3, j, h)

#define Q3_K_HH(n, hf, base, h) \
	Q3_K_WORDS(n, hf, 0, base, h); \
	Q3_K_WORDS(n, hf, 1, base, h); \
	Q3_K_WORDS(n, hf, 2, base, h); \
	Q3_K_WORDS(n, hf, 3, base, h)

#define Q3_K_HALF(base, h) \
	Q3_K_HH(0, 0, base, h); \
	Q3_K_HH(0, 1, base, h); \
	Q3_K_HH(1, 0, base, h); \
	Q3_K_HH(1, 1, base, h)

// func panelCodesQ3_K(w *byte, rb, nb int, dst *byte)
TEXT ·panelCodesQ3_K(SB), NOSPLIT, $0-32
	CODES_SETUP
	MOVL $0x03030303, AX
	VPBROADCASTD AX, Z27
	MOVL $0x01010101, AX
	VPBROADCASTD AX, Z25
	MOVL $0x04040404, AX
	VPBROADCASTD AX, Z24

q3_k_block:
	PREFETCH32(704)
	PREFETCH32(768)
	Q3_K_HALF(SI, 0)
	Q3_K_HALF(R11, 64)
	ADDQ $110, SI
	ADDQ $110, R11
	ADDQ $(16*768), DI
	DECQ CX
	JNZ q3_k_block
	VZEROUPPER
	RET

// The tables of the K-quants' panels, 32 rows at a time: each row group's
// block headers transposed by TRANSX (as the codes), the 6-bit scales and
// minimums unpacked in the lanes, and the products with the block's d and
// dmin rounded as tablesPanelQ45K and tablesPanelQ6_K round them (one
// f32 multiply; the minimum's term negated after). The Go writers did
// this row by row and value by value: at 8 tokens they took most of a
// Q4_K panel product.
#define TABLES_SETUP \
	ROWS_SETUP; \
	MOVL $0x3f, AX; \
	VPBROADCASTD AX, Z24; \
	MOVL $0x0f, AX; \
	VPBROADCASTD AX, Z25; \
	MOVL $0x03, AX; \
	VPBROADCASTD AX, Z26; \
	MOVL $0x80000000, AX; \
	VPBROADCASTD AX, Z27

// KSM_STORE stores the scale (int32 lanes s) times Z16 at so and the
// negated minimum (m) times Z17 at mo.
#define KSM_STORE(s, m, so, mo) \
	VCVTDQ2PS s, s; \
	VMULPS Z16, s, s; \
	VMOVUPS s, so(DI); \
	VCVTDQ2PS m, m; \
	VMULPS Z17, m, m; \
	VXORPS Z27, m, m; \
	VMOVUPS m, mo(DI)

// KSM_LO is groups i (< 4): scale q[i] & 63, minimum q[i+4] & 63.
#define KSM_LO(i, h) \
	VPSRLD $(8*i), Z13, Z0; \
	VPANDD Z24, Z0, Z0; \
	VPSRLD $(8*i), Z14, Z1; \
	VPANDD Z24, Z1, Z1; \
	KSM_STORE(Z0, Z1, (i*1408+1024+h), (i*1408+1280+h))

// KSM_HI is group 4+i: scale q[8+i] & 15 | (q[i] >> 6) << 4, minimum
// q[8+i] >> 4 | (q[4+i] >> 6) << 4.
#define KSM_HI(i, h) \
	VPSRLD $(8*i), Z15, Z0; \
	VPANDD Z25, Z0, Z0; \
	VPSRLD $(8*i+6), Z13, Z2; \
	VPANDD Z26, Z2, Z2; \
	VPSLLD $4, Z2, Z2; \
	VPORD Z2, Z0, Z0; \
	VPSRLD $(8*i+4), Z15, Z1; \
	VPANDD Z25, Z1, Z1; \
	VPSRLD $(8*i+6), Z14, Z2; \
	VPANDD Z26, Z2, Z2; \
	VPSLLD $4, Z2, Z2; \
	VPORD Z2, Z1, Z1; \
	KSM_STORE(Z0, Z1, ((4+i)*1408+1024+h), ((4+i)*1408+1280+h))

#define KSM_HALF(b0, b1, h) \
	TRANSX(0, b0, b1, Z12, Z13, Z14, Z15); \
	VPMOVDW Z12, Y16; \
	VCVTPH2PS Y16, Z16; \
	VPSRLD $16, Z12, Z17; \
	VPMOVDW Z17, Y17; \
	VCVTPH2PS Y17, Z17; \
	KSM_LO(0, h); \
	KSM_LO(1, h); \
	KSM_LO(2, h); \
	KSM_LO(3, h); \
	KSM_HI(0, h); \
	KSM_HI(1, h); \
	KSM_HI(2, h); \
	KSM_HI(3, h)

// func panelTablesQ45K(w *byte, rb, nb, bs int, dst *byte)
//
// Q4_K and Q5_K (bs the block bytes): d, dmin and the 12 bytes of scales
// lead both blocks; records are 1408 bytes, the scales at 1024 and the
// minimum terms at 1280.
TEXT ·panelTablesQ45K(SB), NOSPLIT, $0-40
	TABLES_SETUP
	MOVQ bs+24(FP), R14
	MOVQ dst+32(FP), DI

q45k_block:
	KSM_HALF(SI, R9, 0)
	KSM_HALF(R11, R10, 64)
	ROWS_ADVANCE(R14)
	ADDQ $(8*1408), DI
	DECQ CX
	JNZ q45k_block
	VZEROUPPER
	RET

// Q6K_SC is group 4k+i: the int8 scale byte i of word z times d (Z16),
// at record 4k+i's table (768-byte records, the table at 512).
#define Q6K_SC(z, k, i, h) \
	VPSLLD $(24-8*i), z, Z0; \
	VPSRAD $24, Z0, Z0; \
	VCVTDQ2PS Z0, Z0; \
	VMULPS Z16, Z0, Z0; \
	VMOVUPS Z0, ((4*k+i)*768+512+h)(DI)

#define Q6K_WORD(z, k, h) \
	Q6K_SC(z, k, 0, h); \
	Q6K_SC(z, k, 1, h); \
	Q6K_SC(z, k, 2, h); \
	Q6K_SC(z, k, 3, h)

// Q6K_HALF: the 16 scales at 192 and d at 208 (taken from the word at
// 206, which ends inside the block).
#define Q6K_HALF(b0, b1, h) \
	TRANSX(192, b0, b1, Z12, Z13, Z14, Z15); \
	KXNORW K1, K1, K1; \
	VPGATHERDD 206(b0)(Z31*1), K1, Z16; \
	VPSRLD $16, Z16, Z16; \
	VPMOVDW Z16, Y16; \
	VCVTPH2PS Y16, Z16; \
	Q6K_WORD(Z12, 0, h); \
	Q6K_WORD(Z13, 1, h); \
	Q6K_WORD(Z14, 2, h); \
	Q6K_WORD(Z15, 3, h)

// func panelTablesQ6_K(w *byte, rb, nb int, dst *byte)
TEXT ·panelTablesQ6_K(SB), NOSPLIT, $0-32
	TABLES_SETUP
	MOVQ dst+24(FP), DI

q6k_block:
	Q6K_HALF(SI, R9, 0)
	Q6K_HALF(R11, R10, 64)
	ROWS_ADVANCE($210)
	ADDQ $(16*768), DI
	DECQ CX
	JNZ q6k_block
	VZEROUPPER
	RET
