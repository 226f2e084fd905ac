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

// The code writers read 32 weight rows (rb bytes apart) with gathers: Z31
// holds the 16 rows' offsets of one row group (SI: rows 0-15, R11: rows
// 16-31), so one VPGATHERDD brings the same 4 bytes of 16 rows into the
// lanes, which is the panel's layout. DI walks the group records.
#define CODES_SETUP \
	MOVQ w+0(FP), SI; \
	MOVQ rb+8(FP), AX; \
	MOVQ AX, R13; \
	MOVQ nb+16(FP), CX; \
	MOVQ dst+24(FP), DI; \
	VPBROADCASTD AX, Z26; \
	VPMULLD panelLane<>(SB), Z26, Z31; \
	MOVQ AX, R11; \
	SHLQ $4, R11; \
	ADDQ SI, R11; \
	MOVL $0x01010101, AX; \
	VPBROADCASTD AX, Z30; \
	VPXORD Z29, Z29, Z29; \
	MOVL $0x0f0f0f0f, AX; \
	VPBROADCASTD AX, Z28; \
	MOVL $0x08080808, AX; \
	VPBROADCASTD AX, Z27

// PREFETCH32 asks for the line dist bytes ahead in each of the 32 rows:
// the gathers read 32 streams at once, more than the hardware
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

// Q4_0 one row group: base the group's block pointer, h its half (0/64).
#define Q4_0_WORD(j, base, h) \
	GATHER(2+4*j, base, Z0); \
	VPSRLD $4, Z0, Z1; \
	VPANDD Z28, Z0, Z0; \
	VPANDD Z28, Z1, Z1; \
	VPSUBB Z27, Z0, Z0; \
	VPSUBB Z27, Z1, Z1; \
	VMOVDQU32 Z0, (j*128+h)(DI); \
	VMOVDQU32 Z1, ((j+4)*128+h)(DI); \
	VPDPBUSD Z0, Z30, Z2; \
	VPDPBUSD Z1, Z30, Z2

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

#define Q4_0_HALF(base, h) \
	Q4_0_WORD(0, base, h); \
	Q4_0_WORD(1, base, h); \
	Q4_0_WORD(2, base, h); \
	Q4_0_WORD(3, base, h); \
	F16SCALE(0, base, 1024+h); \
	INIT(1152+h)

// func panelCodesQ4_0(w *byte, rb, nb int, dst *byte)
TEXT ·panelCodesQ4_0(SB), NOSPLIT, $0-32
	CODES_SETUP
	VPXORD Z2, Z2, Z2

q4_0_block:
	PREFETCH32(512)
	Q4_0_HALF(SI, 0)
	Q4_0_HALF(R11, 64)
	ADDQ $18, SI
	ADDQ $18, R11
	ADDQ $1280, DI
	DECQ CX
	JNZ q4_0_block
	VZEROUPPER
	RET

#define Q8_0_WORD(j, base, h) \
	GATHER(2+4*j, base, Z0); \
	VMOVDQU32 Z0, (j*128+h)(DI); \
	VPDPBUSD Z0, Z30, Z2

#define Q8_0_HALF(base, h) \
	Q8_0_WORD(0, base, h); \
	Q8_0_WORD(1, base, h); \
	Q8_0_WORD(2, base, h); \
	Q8_0_WORD(3, base, h); \
	Q8_0_WORD(4, base, h); \
	Q8_0_WORD(5, base, h); \
	Q8_0_WORD(6, base, h); \
	Q8_0_WORD(7, base, h); \
	F16SCALE(0, base, 1024+h); \
	INIT(1152+h)

// func panelCodesQ8_0(w *byte, rb, nb int, dst *byte)
TEXT ·panelCodesQ8_0(SB), NOSPLIT, $0-32
	CODES_SETUP
	VPXORD Z2, Z2, Z2

q8_0_block:
	PREFETCH32(512)
	Q8_0_HALF(SI, 0)
	Q8_0_HALF(R11, 64)
	ADDQ $34, SI
	ADDQ $34, R11
	ADDQ $1280, DI
	DECQ CX
	JNZ q8_0_block
	VZEROUPPER
	RET

// Q4_K: the 32 bytes of quants c (0-3) of a super-block hold groups 2c
// (low nibbles) and 2c+1 (high); records are 1408 bytes; the sums'
// starts are left to panelSumsZ and the tables to Go.
#define Q4_K_WORD(c, j, base, h) \
	GATHER(16+32*c+4*j, base, Z0); \
	VPSRLD $4, Z0, Z1; \
	VPANDD Z28, Z0, Z0; \
	VPANDD Z28, Z1, Z1; \
	VMOVDQU32 Z0, ((2*c)*1408+j*128+h)(DI); \
	VMOVDQU32 Z1, ((2*c+1)*1408+j*128+h)(DI)

#define Q4_K_PAIR(c, base, h) \
	Q4_K_WORD(c, 0, base, h); \
	Q4_K_WORD(c, 1, base, h); \
	Q4_K_WORD(c, 2, base, h); \
	Q4_K_WORD(c, 3, base, h); \
	Q4_K_WORD(c, 4, base, h); \
	Q4_K_WORD(c, 5, base, h); \
	Q4_K_WORD(c, 6, base, h); \
	Q4_K_WORD(c, 7, base, h)

#define Q4_K_HALF(base, h) \
	Q4_K_PAIR(0, base, h); \
	Q4_K_PAIR(1, base, h); \
	Q4_K_PAIR(2, base, h); \
	Q4_K_PAIR(3, base, h)

// func panelCodesQ4_K(w *byte, rb, nb int, dst *byte)
TEXT ·panelCodesQ4_K(SB), NOSPLIT, $0-32
	CODES_SETUP

q4_k_block:
	PREFETCH32(576)
	PREFETCH32(640)
	Q4_K_HALF(SI, 0)
	Q4_K_HALF(R11, 64)
	ADDQ $144, SI
	ADDQ $144, R11
	ADDQ $(8*1408), DI
	DECQ CX
	JNZ q4_k_block
	VZEROUPPER
	RET

// Q6_K: per half hh (0/1) and 4 values l of 32: the low bits of quarters
// 0/2 in ql[64hh+l], of quarters 1/3 in ql[64hh+32+l], the high 2 bits of
// all four in qh[32hh+l]. Value l is group hh*8 + 2q + l/16, word l%16/4;
// records are 768 bytes. Z27 holds 0x03 bytes, Z25 0x20 (the offset 32).
#define Q6_K_QUAD(hh, l, base, h) \
	GATHER(64*hh+l, base, Z0); \
	GATHER(64*hh+32+l, base, Z1); \
	GATHER(128+32*hh+l, base, Z2); \
	VPANDD Z28, Z0, Z4; \
	VPANDD Z27, Z2, Z5; \
	VPSLLD $4, Z5, Z5; \
	VPORD Z5, Z4, Z4; \
	VPSUBB Z25, Z4, Z4; \
	VMOVDQU32 Z4, ((hh*8+0+l/16)*768+(l%16/4)*128+h)(DI); \
	VPANDD Z28, Z1, Z4; \
	VPSRLD $2, Z2, Z5; \
	VPANDD Z27, Z5, Z5; \
	VPSLLD $4, Z5, Z5; \
	VPORD Z5, Z4, Z4; \
	VPSUBB Z25, Z4, Z4; \
	VMOVDQU32 Z4, ((hh*8+2+l/16)*768+(l%16/4)*128+h)(DI); \
	VPSRLD $4, Z0, Z4; \
	VPANDD Z28, Z4, Z4; \
	VPSRLD $4, Z2, Z5; \
	VPANDD Z27, Z5, Z5; \
	VPSLLD $4, Z5, Z5; \
	VPORD Z5, Z4, Z4; \
	VPSUBB Z25, Z4, Z4; \
	VMOVDQU32 Z4, ((hh*8+4+l/16)*768+(l%16/4)*128+h)(DI); \
	VPSRLD $4, Z1, Z4; \
	VPANDD Z28, Z4, Z4; \
	VPSRLD $6, Z2, Z5; \
	VPANDD Z27, Z5, Z5; \
	VPSLLD $4, Z5, Z5; \
	VPORD Z5, Z4, Z4; \
	VPSUBB Z25, Z4, Z4; \
	VMOVDQU32 Z4, ((hh*8+6+l/16)*768+(l%16/4)*128+h)(DI)

#define Q6_K_HH(hh, base, h) \
	Q6_K_QUAD(hh, 0, base, h); \
	Q6_K_QUAD(hh, 4, base, h); \
	Q6_K_QUAD(hh, 8, base, h); \
	Q6_K_QUAD(hh, 12, base, h); \
	Q6_K_QUAD(hh, 16, base, h); \
	Q6_K_QUAD(hh, 20, base, h); \
	Q6_K_QUAD(hh, 24, base, h); \
	Q6_K_QUAD(hh, 28, base, h)

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
	Q6_K_HH(0, SI, 0)
	Q6_K_HH(1, SI, 0)
	Q6_K_HH(0, R11, 64)
	Q6_K_HH(1, R11, 64)
	ADDQ $210, SI
	ADDQ $210, R11
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
// bit 2c for group 2c and 2c+1 for group 2c+1; Z2 holds the qh word of
// step j, Z27 0x01 bytes.
#define Q5_K_WORD(c, j, base, h) \
	GATHER(48+32*c+4*j, base, Z0); \
	VPSRLD $4, Z0, Z1; \
	VPANDD Z28, Z0, Z0; \
	VPANDD Z28, Z1, Z1; \
	VPSRLD $(2*c), Z2, Z4; \
	VPANDD Z27, Z4, Z4; \
	VPSLLD $4, Z4, Z4; \
	VPORD Z4, Z0, Z0; \
	VPSRLD $(2*c+1), Z2, Z4; \
	VPANDD Z27, Z4, Z4; \
	VPSLLD $4, Z4, Z4; \
	VPORD Z4, Z1, Z1; \
	VMOVDQU32 Z0, ((2*c)*1408+j*128+h)(DI); \
	VMOVDQU32 Z1, ((2*c+1)*1408+j*128+h)(DI)

#define Q5_K_STEP(j, base, h) \
	GATHER(16+4*j, base, Z2); \
	Q5_K_WORD(0, j, base, h); \
	Q5_K_WORD(1, j, base, h); \
	Q5_K_WORD(2, j, base, h); \
	Q5_K_WORD(3, j, base, h)

#define Q5_K_HALF(base, h) \
	Q5_K_STEP(0, base, h); \
	Q5_K_STEP(1, base, h); \
	Q5_K_STEP(2, base, h); \
	Q5_K_STEP(3, base, h); \
	Q5_K_STEP(4, base, h); \
	Q5_K_STEP(5, base, h); \
	Q5_K_STEP(6, base, h); \
	Q5_K_STEP(7, base, h)

// func panelCodesQ5_K(w *byte, rb, nb int, dst *byte)
TEXT ·panelCodesQ5_K(SB), NOSPLIT, $0-32
	CODES_SETUP
	MOVL $0x01010101, AX
	VPBROADCASTD AX, Z27

q5_k_block:
	PREFETCH32(704)
	PREFETCH32(768)
	PREFETCH32(832)
	Q5_K_HALF(SI, 0)
	Q5_K_HALF(R11, 64)
	ADDQ $176, SI
	ADDQ $176, R11
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
