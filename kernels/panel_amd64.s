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
