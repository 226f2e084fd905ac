//go:build arm64 && !noasm

#include "textflag.h"

// NEON + dotprod Q4_K, Q5_K and Q6_K products for one activation row:
//
//	func kQ4KNeonDot(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)
//	func kQ6KNeonDot(...same...)
//
// y[r] = dot(weight row r, the activation row a), for the rows weight
// rows rb bytes apart, nb super-blocks each (ldy and as are unused: the
// Go driver calls it once per activation row). Per 32-element sub-block
// two SDOTs give four int32 lanes, scaled by the sub-block's 6-bit scale
// with MLA by element; the mins multiply the activation's 16-sums, added
// in pairs. The scales unpack in general registers (ggml's kmask trick on
// 64 bits) as on amd64.
//
// Go's assembler lacks SDOT, MLA by element, SMULL/SMLAL2, SXTL and FCVTL:
// the macros emit their encodings (register numbers, destination last).

// sdot vd.4s, vn.16b, vm.16b
#define KSDOT(m, n, d) WORD $(0x4E809400 | ((m)<<16) | ((n)<<5) | (d))
// mla vd.4s, vn.4s, vm.s[i]  (m < 16)
#define KMLAE(m, i, n, d) WORD $(0x6F800000 | (((i)&1)<<21) | ((m)<<16) | (((i)>>1)<<11) | ((n)<<5) | (d))
// smull vd.4s, vn.4h, vm.4h
#define KSMULL(m, n, d) WORD $(0x0E60C000 | ((m)<<16) | ((n)<<5) | (d))
// smlal2 vd.4s, vn.8h, vm.8h
#define KSMLAL2(m, n, d) WORD $(0x4E608000 | ((m)<<16) | ((n)<<5) | (d))
// sxtl vd.8h, vn.8b / sxtl2 vd.8h, vn.16b / sxtl vd.4s, vn.4h / sxtl2 vd.4s, vn.8h
#define KSXTL8(n, d) WORD $(0x0F08A400 | ((n)<<5) | (d))
#define KSXTL8H(n, d) WORD $(0x4F08A400 | ((n)<<5) | (d))
#define KSXTL16(n, d) WORD $(0x0F10A400 | ((n)<<5) | (d))
#define KSXTL16H(n, d) WORD $(0x4F10A400 | ((n)<<5) | (d))
// fcvtl vd.4s, vn.4h
#define KFCVTL(n, d) WORD $(0x0E217800 | ((n)<<5) | (d))

// KCHUNK: chunk c of 64 elements: qs at R11 (post-incremented), the
// activations at R9 (post-incremented); sub-blocks 2c and 2c+1 use scale
// lanes SC0 and SC1 of vector SV.
#define KCHUNK(SV, SC0, SC1) \
	VLD1.P 32(R11), [V0.B16, V1.B16] \
	VLD1.P 64(R9), [V4.B16, V5.B16, V6.B16, V7.B16] \
	VAND V31.B16, V0.B16, V2.B16 \
	VAND V31.B16, V1.B16, V3.B16 \
	VUSHR $4, V0.B16, V0.B16 \
	VUSHR $4, V1.B16, V1.B16 \
	VEOR V23.B16, V23.B16, V23.B16 \
	VEOR V24.B16, V24.B16, V24.B16 \
	KSDOT(4, 2, 23) \
	KSDOT(5, 3, 23) \
	KSDOT(6, 0, 24) \
	KSDOT(7, 1, 24) \
	KMLAE(SV, SC0, 23, 22) \
	KMLAE(SV, SC1, 24, 22)

// K6HALF: 128 elements of a Q6_K block, ql at R11 and qh at R12 (both
// post-incremented), activations at R9; H0 is 0 or 2, the first scale
// vector of the half (V16-V19 hold the 16 scales, four per vector). The
// values are rebuilt signed (-32..31) so SDOT takes them directly.
#define K6HALF(H0) \
	VLD1.P 64(R11), [V0.B16, V1.B16, V2.B16, V3.B16] \
	VLD1.P 32(R12), [V4.B16, V5.B16] \
	VLD1.P 64(R9), [V8.B16, V9.B16, V10.B16, V11.B16] \
	VLD1.P 64(R9), [V12.B16, V13.B16, V14.B16, V15.B16] \
	VAND V31.B16, V0.B16, V6.B16 \
	VSHL $4, V4.B16, V7.B16 \
	VAND V28.B16, V7.B16, V7.B16 \
	VORR V7.B16, V6.B16, V6.B16 \
	VSUB V29.B16, V6.B16, V6.B16 \
	VEOR V21.B16, V21.B16, V21.B16 \
	KSDOT(8, 6, 21) \
	KMLAE(16+(H0)+0, 0, 21, 20) \
	VAND V31.B16, V1.B16, V6.B16 \
	VSHL $4, V5.B16, V7.B16 \
	VAND V28.B16, V7.B16, V7.B16 \
	VORR V7.B16, V6.B16, V6.B16 \
	VSUB V29.B16, V6.B16, V6.B16 \
	VEOR V21.B16, V21.B16, V21.B16 \
	KSDOT(9, 6, 21) \
	KMLAE(16+(H0)+0, 1, 21, 20) \
	VAND V31.B16, V2.B16, V6.B16 \
	VSHL $2, V4.B16, V7.B16 \
	VAND V28.B16, V7.B16, V7.B16 \
	VORR V7.B16, V6.B16, V6.B16 \
	VSUB V29.B16, V6.B16, V6.B16 \
	VEOR V21.B16, V21.B16, V21.B16 \
	KSDOT(10, 6, 21) \
	KMLAE(16+(H0)+0, 2, 21, 20) \
	VAND V31.B16, V3.B16, V6.B16 \
	VSHL $2, V5.B16, V7.B16 \
	VAND V28.B16, V7.B16, V7.B16 \
	VORR V7.B16, V6.B16, V6.B16 \
	VSUB V29.B16, V6.B16, V6.B16 \
	VEOR V21.B16, V21.B16, V21.B16 \
	KSDOT(11, 6, 21) \
	KMLAE(16+(H0)+0, 3, 21, 20) \
	VUSHR $4, V0.B16, V6.B16 \
	VAND V28.B16, V4.B16, V7.B16 \
	VORR V7.B16, V6.B16, V6.B16 \
	VSUB V29.B16, V6.B16, V6.B16 \
	VEOR V21.B16, V21.B16, V21.B16 \
	KSDOT(12, 6, 21) \
	KMLAE(16+(H0)+1, 0, 21, 20) \
	VUSHR $4, V1.B16, V6.B16 \
	VAND V28.B16, V5.B16, V7.B16 \
	VORR V7.B16, V6.B16, V6.B16 \
	VSUB V29.B16, V6.B16, V6.B16 \
	VEOR V21.B16, V21.B16, V21.B16 \
	KSDOT(13, 6, 21) \
	KMLAE(16+(H0)+1, 1, 21, 20) \
	VUSHR $4, V2.B16, V6.B16 \
	VUSHR $2, V4.B16, V7.B16 \
	VAND V28.B16, V7.B16, V7.B16 \
	VORR V7.B16, V6.B16, V6.B16 \
	VSUB V29.B16, V6.B16, V6.B16 \
	VEOR V21.B16, V21.B16, V21.B16 \
	KSDOT(14, 6, 21) \
	KMLAE(16+(H0)+1, 2, 21, 20) \
	VUSHR $4, V3.B16, V6.B16 \
	VUSHR $2, V5.B16, V7.B16 \
	VAND V28.B16, V7.B16, V7.B16 \
	VORR V7.B16, V6.B16, V6.B16 \
	VSUB V29.B16, V6.B16, V6.B16 \
	VEOR V21.B16, V21.B16, V21.B16 \
	KSDOT(15, 6, 21) \
	KMLAE(16+(H0)+1, 3, 21, 20)

// K5CHUNK: KCHUNK for Q5_K, with the fifth bits of chunk c taken from
// qh (V25, V26: its 32 bytes) by the shifts LO and HI to bit 4.
#define K5L0 VSHL $4, V25.B16, V8.B16; VSHL $4, V26.B16, V9.B16
#define K5H0 VSHL $3, V25.B16, V8.B16; VSHL $3, V26.B16, V9.B16
#define K5L1 VSHL $2, V25.B16, V8.B16; VSHL $2, V26.B16, V9.B16
#define K5H1 VSHL $1, V25.B16, V8.B16; VSHL $1, V26.B16, V9.B16
#define K5L2 VORR V25.B16, V25.B16, V8.B16; VORR V26.B16, V26.B16, V9.B16
#define K5H2 VUSHR $1, V25.B16, V8.B16; VUSHR $1, V26.B16, V9.B16
#define K5L3 VUSHR $2, V25.B16, V8.B16; VUSHR $2, V26.B16, V9.B16
#define K5H3 VUSHR $3, V25.B16, V8.B16; VUSHR $3, V26.B16, V9.B16

#define K5CHUNK(SV, SC0, SC1, LO, HI) \
	VLD1.P 32(R11), [V0.B16, V1.B16] \
	VLD1.P 64(R9), [V4.B16, V5.B16, V6.B16, V7.B16] \
	VAND V31.B16, V0.B16, V2.B16 \
	VAND V31.B16, V1.B16, V3.B16 \
	VUSHR $4, V0.B16, V0.B16 \
	VUSHR $4, V1.B16, V1.B16 \
	LO \
	VAND V27.B16, V8.B16, V8.B16 \
	VAND V27.B16, V9.B16, V9.B16 \
	VORR V8.B16, V2.B16, V2.B16 \
	VORR V9.B16, V3.B16, V3.B16 \
	HI \
	VAND V27.B16, V8.B16, V8.B16 \
	VAND V27.B16, V9.B16, V9.B16 \
	VORR V8.B16, V0.B16, V0.B16 \
	VORR V9.B16, V1.B16, V1.B16 \
	VEOR V23.B16, V23.B16, V23.B16 \
	VEOR V24.B16, V24.B16, V24.B16 \
	KSDOT(4, 2, 23) \
	KSDOT(5, 3, 23) \
	KSDOT(6, 0, 24) \
	KSDOT(7, 1, 24) \
	KMLAE(SV, SC0, 23, 22) \
	KMLAE(SV, SC1, 24, 22)

TEXT ·kQ4KNeonDot(SB), NOSPLIT, $0-64
	MOVD y+0(FP), R0
	MOVD w+16(FP), R2
	MOVD rb+24(FP), R3
	MOVD rows+32(FP), R4
	MOVD a+40(FP), R5
	MOVD nb+56(FP), R7
	VMOVI $15, V31.B16

rowloop:
	MOVD R2, R8
	MOVD R5, R9
	MOVD R7, R10
	VEOR V30.B16, V30.B16, V30.B16

blockloop:
	MOVD 4(R8), R11
	MOVWU 12(R8), R12
	AND $0x3f3f3f3f3f3f3f3f, R11, R13
	LSR $6, R11, R14
	AND $0x0303030303030303, R14, R14
	LSL $4, R14, R14
	ORR R12<<28, R12, R15
	AND $0x0f0f0f0f0f0f0f0f, R15, R15
	ORR R14, R15, R15
	VMOV R13, V16.D[0]
	VMOV R15, V16.D[1]
	VUSHLL $0, V16.B8, V20.H8
	VUSHLL2 $0, V16.B16, V21.H8
	VUXTL V20.H4, V17.S4
	VUXTL V21.H4, V18.S4
	VUZP2 V21.D2, V20.D2, V19.D2
	VEOR V22.B16, V22.B16, V22.B16
	ADD $16, R8, R11
	KCHUNK(17, 0, 1)
	KCHUNK(17, 2, 3)
	KCHUNK(18, 0, 1)
	KCHUNK(18, 2, 3)
	VLD1 (R9), [V8.H8, V9.H8]
	VADDP V9.H8, V8.H8, V10.H8
	KSMULL(19, 10, 11)
	KSMLAL2(19, 10, 11)
	VADDV V22.S4, V2
	VADDV V11.S4, V3
	VMOV V2.S[0], R12
	SCVTFWS R12, F2
	VMOV V3.S[0], R12
	SCVTFWS R12, F3
	FMOVS 64(R9), F13
	VLD1 (R8), [V12.S2]
	KFCVTL(12, 12)
	VDUP V12.S[1], V14.S4
	FMULS F13, F12, F12
	FMULS F13, F14, F14
	FMULS F12, F2, F2
	FMULS F14, F3, F3
	FSUBS F3, F2, F2
	FADDS F2, F30, F30
	ADD $144, R8
	ADD $128, R9
	SUBS $1, R10
	BNE blockloop

	FMOVS F30, (R0)
	ADD $4, R0
	ADD R3, R2
	SUBS $1, R4
	BNE rowloop
	RET

TEXT ·kQ5KNeonDot(SB), NOSPLIT, $0-64
	MOVD y+0(FP), R0
	MOVD w+16(FP), R2
	MOVD rb+24(FP), R3
	MOVD rows+32(FP), R4
	MOVD a+40(FP), R5
	MOVD nb+56(FP), R7
	VMOVI $15, V31.B16
	VMOVI $16, V27.B16

rowloop:
	MOVD R2, R8
	MOVD R5, R9
	MOVD R7, R10
	VEOR V30.B16, V30.B16, V30.B16

blockloop:
	MOVD 4(R8), R11
	MOVWU 12(R8), R12
	AND $0x3f3f3f3f3f3f3f3f, R11, R13
	LSR $6, R11, R14
	AND $0x0303030303030303, R14, R14
	LSL $4, R14, R14
	ORR R12<<28, R12, R15
	AND $0x0f0f0f0f0f0f0f0f, R15, R15
	ORR R14, R15, R15
	VMOV R13, V16.D[0]
	VMOV R15, V16.D[1]
	VUSHLL $0, V16.B8, V20.H8
	VUSHLL2 $0, V16.B16, V21.H8
	VUXTL V20.H4, V17.S4
	VUXTL V21.H4, V18.S4
	VUZP2 V21.D2, V20.D2, V19.D2
	VEOR V22.B16, V22.B16, V22.B16
	ADD $16, R8, R11
	VLD1.P 32(R11), [V25.B16, V26.B16]
	K5CHUNK(17, 0, 1, K5L0, K5H0)
	K5CHUNK(17, 2, 3, K5L1, K5H1)
	K5CHUNK(18, 0, 1, K5L2, K5H2)
	K5CHUNK(18, 2, 3, K5L3, K5H3)
	VLD1 (R9), [V8.H8, V9.H8]
	VADDP V9.H8, V8.H8, V10.H8
	KSMULL(19, 10, 11)
	KSMLAL2(19, 10, 11)
	VADDV V22.S4, V2
	VADDV V11.S4, V3
	VMOV V2.S[0], R12
	SCVTFWS R12, F2
	VMOV V3.S[0], R12
	SCVTFWS R12, F3
	FMOVS 64(R9), F13
	VLD1 (R8), [V12.S2]
	KFCVTL(12, 12)
	VDUP V12.S[1], V14.S4
	FMULS F13, F12, F12
	FMULS F13, F14, F14
	FMULS F12, F2, F2
	FMULS F14, F3, F3
	FSUBS F3, F2, F2
	FADDS F2, F30, F30
	ADD $176, R8
	ADD $128, R9
	SUBS $1, R10
	BNE blockloop

	FMOVS F30, (R0)
	ADD $4, R0
	ADD R3, R2
	SUBS $1, R4
	BNE rowloop
	RET

TEXT ·kQ6KNeonDot(SB), NOSPLIT, $0-64
	MOVD y+0(FP), R0
	MOVD w+16(FP), R2
	MOVD rb+24(FP), R3
	MOVD rows+32(FP), R4
	MOVD a+40(FP), R5
	MOVD nb+56(FP), R7
	VMOVI $15, V31.B16
	VMOVI $48, V28.B16
	VMOVI $32, V29.B16

rowloop:
	MOVD R2, R8
	MOVD R5, R9
	MOVD R7, R10
	VEOR V30.B16, V30.B16, V30.B16

blockloop:
	ADD $192, R8, R11
	VLD1 (R11), [V27.B16]
	KSXTL8(27, 26)
	KSXTL8H(27, 27)
	KSXTL16(26, 16)
	KSXTL16H(26, 17)
	KSXTL16(27, 18)
	KSXTL16H(27, 19)
	VEOR V20.B16, V20.B16, V20.B16
	MOVD R8, R11
	ADD $128, R8, R12
	K6HALF(0)
	K6HALF(2)
	VADDV V20.S4, V2
	VMOV V2.S[0], R12
	SCVTFWS R12, F2
	MOVHU 208(R8), R12
	VMOV R12, V3.H[0]
	KFCVTL(3, 3)
	FMOVS 64(R9), F13
	FMULS F13, F3, F3
	FMULS F3, F2, F2
	FADDS F2, F30, F30
	ADD $210, R8
	ADD $128, R9
	SUBS $1, R10
	BNE blockloop

	FMOVS F30, (R0)
	ADD $4, R0
	ADD R3, R2
	SUBS $1, R4
	BNE rowloop
	RET
