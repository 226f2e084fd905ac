//go:build amd64 && !noasm

#include "textflag.h"

// Intel AMX tile kernels. Go's assembler has no AMX mnemonics
// (golang/go#61079), so the tile instructions are emitted as bytes; each
// macro below names the instruction in GNU syntax (AT&T operand order) and
// the encodings follow ../../shared/reference/amx.md §4.4 (VEX map 0F38,
// W0, L0; byte 1 0xE2, or 0xC2 / 0x82 when the SIB base / base and index
// are r8-r15).
//
// Every kernel loads its tile configuration on entry and releases the
// tiles before it returns: a goroutine may run on another thread at its
// next call, and a released state costs context switches nothing.
//
// Tile use (both kernels): tmm0-3 accumulators C00 C01 C10 C11 (C[i][j]
// = A_i · B_j), tmm4-5 the two A tiles (16 weight rows each), tmm6-7 the
// two B tiles (16 tokens each).

// ldtilecfg (%rax)
#define LDTILECFG_AX BYTE $0xc4; BYTE $0xe2; BYTE $0x78; BYTE $0x49; BYTE $0x00
// tilerelease
#define TILERELEASE BYTE $0xc4; BYTE $0xe2; BYTE $0x78; BYTE $0x49; BYTE $0xc0

// tilezero %tmm0..3
#define TILEZERO_C BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xc0; \
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xc8; \
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xd0; \
	BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x49; BYTE $0xd8

// tileloadd (%r8,%r9,1),%tmm0; 0x40(%r8,%r9,1),%tmm1;
// (%r12,%r9,1),%tmm2; 0x40(%r12,%r9,1),%tmm3
#define TILELOAD_C BYTE $0xc4; BYTE $0x82; BYTE $0x7b; BYTE $0x4b; BYTE $0x04; BYTE $0x08; \
	BYTE $0xc4; BYTE $0x82; BYTE $0x7b; BYTE $0x4b; BYTE $0x4c; BYTE $0x08; BYTE $0x40; \
	BYTE $0xc4; BYTE $0x82; BYTE $0x7b; BYTE $0x4b; BYTE $0x14; BYTE $0x0c; \
	BYTE $0xc4; BYTE $0x82; BYTE $0x7b; BYTE $0x4b; BYTE $0x5c; BYTE $0x0c; BYTE $0x40

// tilestored %tmm0,(%r8,%r9,1); %tmm1,0x40(%r8,%r9,1);
// %tmm2,(%r12,%r9,1); %tmm3,0x40(%r12,%r9,1)
#define TILESTORE_C BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x04; BYTE $0x08; \
	BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x4c; BYTE $0x08; BYTE $0x40; \
	BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x14; BYTE $0x0c; \
	BYTE $0xc4; BYTE $0x82; BYTE $0x7a; BYTE $0x4b; BYTE $0x5c; BYTE $0x0c; BYTE $0x40

// tileloaddt1 (%rsi,%rdx,1),%tmm4 (the weights: a hint that they are not
// reused from L1, where their rows, n*2 bytes apart, share a few sets)
#define TILELOAD_A0 BYTE $0xc4; BYTE $0xe2; BYTE $0x79; BYTE $0x4b; BYTE $0x24; BYTE $0x16
// tileloaddt1 (%rbx,%rdx,1),%tmm5
#define TILELOAD_A1 BYTE $0xc4; BYTE $0xe2; BYTE $0x79; BYTE $0x4b; BYTE $0x2c; BYTE $0x13
// tileloadd (%rdi,%rcx,1),%tmm6
#define TILELOAD_B0 BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x4b; BYTE $0x34; BYTE $0x0f
// tileloadd (%r10,%rcx,1),%tmm7
#define TILELOAD_B1 BYTE $0xc4; BYTE $0xc2; BYTE $0x7b; BYTE $0x4b; BYTE $0x3c; BYTE $0x0a

// tdpbf16ps %tmm6,%tmm4,%tmm0 (C00 += A0·B0); %tmm7,%tmm4,%tmm1;
// %tmm6,%tmm5,%tmm2; %tmm7,%tmm5,%tmm3
#define TDPBF16PS_00 BYTE $0xc4; BYTE $0xe2; BYTE $0x4a; BYTE $0x5c; BYTE $0xc4
#define TDPBF16PS_01 BYTE $0xc4; BYTE $0xe2; BYTE $0x42; BYTE $0x5c; BYTE $0xcc
#define TDPBF16PS_10 BYTE $0xc4; BYTE $0xe2; BYTE $0x4a; BYTE $0x5c; BYTE $0xd5
#define TDPBF16PS_11 BYTE $0xc4; BYTE $0xe2; BYTE $0x42; BYTE $0x5c; BYTE $0xdd

// PF16(o) prefetches the 16 lines from o(R13) into L2.
#define PF16(o) \
	PREFETCHT1 (o+0)(R13); PREFETCHT1 (o+64)(R13); PREFETCHT1 (o+128)(R13); PREFETCHT1 (o+192)(R13); \
	PREFETCHT1 (o+256)(R13); PREFETCHT1 (o+320)(R13); PREFETCHT1 (o+384)(R13); PREFETCHT1 (o+448)(R13); \
	PREFETCHT1 (o+512)(R13); PREFETCHT1 (o+576)(R13); PREFETCHT1 (o+640)(R13); PREFETCHT1 (o+704)(R13); \
	PREFETCHT1 (o+768)(R13); PREFETCHT1 (o+832)(R13); PREFETCHT1 (o+896)(R13); PREFETCHT1 (o+960)(R13)

// func amxBF16(cfg *byte, a *uint16, lda int, astep int, a1 int, ablock int, b *uint16, b1 int, c *float32, ldc int, ksteps int, blocks int, add int, pf *uint16)
//
// For blocks blocks of 32 weight rows by one block of 32 tokens, over
// ksteps steps of 32 values of the reduction: C [32 rows, 32 tokens] f32
// at c+i*32*ldc for block i (rows ldc bytes apart) is set (add = 0) or
// added to (add != 0)
//
//	C[r][j] += sum over k of A[r][k] * B(j, k)
//
// The A tiles (16 rows of 32 bf16, rows lda bytes apart) of block i and
// step s are at a+i*ablock+s*astep (rows 0-15) and a1 bytes further on
// (rows 16-31): for weights read in place, astep = 64, a1 = 16*lda and
// ablock = 32*lda. The B tiles of tokens 0-15 for step s are the 1 KiB
// at b+s*1024 in the VNNI pair layout (row p: tokens 0..15, each two
// bf16 values for k = 2p, 2p+1), those of tokens 16-31 b1 bytes further
// on.
//
// pf, when not nil, is where weights the caller will need next start
// (the next chunk of the panel's rows, lda bytes apart): at each block
// the kernel prefetches two of those rows' 1 KiB into L2, so that the
// next chunk's first pass does not wait on memory.
TEXT ·amxBF16(SB), NOSPLIT, $0-112
	MOVQ cfg+0(FP), AX
	LDTILECFG_AX
	MOVQ a+8(FP), AX
	MOVQ lda+16(FP), DX
	MOVQ c+64(FP), R8
	MOVQ ldc+72(FP), R9
	MOVQ blocks+88(FP), R11
	MOVQ $64, CX
	TESTQ R11, R11
	JZ   done

block:
	MOVQ pf+104(FP), R13
	TESTQ R13, R13
	JZ   nopf
	PF16(0)
	ADDQ DX, R13
	PF16(0)
	ADDQ DX, R13
	MOVQ R13, pf+104(FP)

nopf:
	MOVQ R9, R12
	SHLQ $4, R12
	ADDQ R8, R12 // C10's rows
	CMPQ add+96(FP), $0
	JNE  load
	TILEZERO_C
	JMP  ready

load:
	TILELOAD_C

ready:
	MOVQ AX, SI
	MOVQ a1+32(FP), BX
	ADDQ SI, BX // A1: rows 16-31
	MOVQ b+48(FP), DI
	MOVQ b1+56(FP), R10
	ADDQ DI, R10
	MOVQ ksteps+80(FP), R13
	TESTQ R13, R13
	JZ   store

step:
	TILELOAD_A0
	TILELOAD_B0
	TILELOAD_B1
	TDPBF16PS_00
	TDPBF16PS_01
	TILELOAD_A1
	TDPBF16PS_10
	TDPBF16PS_11
	ADDQ astep+24(FP), SI
	ADDQ astep+24(FP), BX
	ADDQ $1024, DI
	ADDQ $1024, R10
	DECQ R13
	JNZ  step

store:
	TILESTORE_C
	ADDQ ablock+40(FP), AX // next 32 weight rows
	MOVQ R9, R13
	SHLQ $5, R13
	ADDQ R13, R8 // and their results
	DECQ R11
	JNZ  block

done:
	TILERELEASE
	RET

// func f16ToBF16(dst *uint16, src *uint16, n int)
TEXT ·f16ToBF16(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ   cvtdone

cvtloop:
	VCVTPH2PS (SI), Z0
	// vcvtneps2bf16 %zmm0,%ymm1
	BYTE $0x62; BYTE $0xf2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xc8
	VMOVDQU Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     cvtloop
	VZEROUPPER

cvtdone:
	RET

// func bf16Pack(dst *uint16, src *float32, n int)
//
// dst[i] = src[i] rounded to bfloat16 (VCVTNEPS2BF16: to nearest even,
// subnormals flushed to zero, as TDPBF16PS treats them anyway) for
// i < n, n a multiple of 16.
TEXT ·bf16Pack(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX
	JZ   packdone

packloop:
	VMOVUPS      (SI), Z0
	// vcvtneps2bf16 %zmm0,%ymm1 (no Go mnemonic either)
	BYTE $0x62; BYTE $0xf2; BYTE $0x7e; BYTE $0x48; BYTE $0x72; BYTE $0xc8
	VMOVDQU      Y1, (DI)
	ADDQ         $64, SI
	ADDQ         $32, DI
	DECQ         CX
	JNZ          packloop
	VZEROUPPER

packdone:
	RET

// The int8 kernel's tiles: tmm4-5 A (16 weight rows × 32 int8, rows DX
// bytes apart), tmm6-7 B (8 rows of 16 tokens × 4 int8, rows 128 bytes
// apart: every other row of a block pair's transposed quants).

// tileloadd (%rsi,%rdx,1),%tmm4; tileloadd (%r11,%rdx,1),%tmm5
#define Q_LOAD_A BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x4b; BYTE $0x24; BYTE $0x16; \
	BYTE $0xc4; BYTE $0xc2; BYTE $0x7b; BYTE $0x4b; BYTE $0x2c; BYTE $0x13
// tileloadd (%rdi,%rcx,1),%tmm6; tileloadd (%r10,%rcx,1),%tmm7
#define Q_LOAD_B BYTE $0xc4; BYTE $0xe2; BYTE $0x7b; BYTE $0x4b; BYTE $0x34; BYTE $0x0f; \
	BYTE $0xc4; BYTE $0xc2; BYTE $0x7b; BYTE $0x4b; BYTE $0x3c; BYTE $0x0a
// tdpbssd %tmm6,%tmm4,%tmm0; %tmm7,%tmm4,%tmm1; %tmm6,%tmm5,%tmm2; %tmm7,%tmm5,%tmm3
#define TDPBSSD_4 BYTE $0xc4; BYTE $0xe2; BYTE $0x4b; BYTE $0x5e; BYTE $0xc4; \
	BYTE $0xc4; BYTE $0xe2; BYTE $0x43; BYTE $0x5e; BYTE $0xcc; \
	BYTE $0xc4; BYTE $0xe2; BYTE $0x4b; BYTE $0x5e; BYTE $0xd5; \
	BYTE $0xc4; BYTE $0xe2; BYTE $0x43; BYTE $0x5e; BYTE $0xdd
// tilestored %tmm0,(%r8,%rcx,1); %tmm1,0x40(%r8,%rcx,1);
// %tmm2,0x800(%r8,%rcx,1); %tmm3,0x840(%r8,%rcx,1)
#define Q_STORE_C BYTE $0xc4; BYTE $0xc2; BYTE $0x7a; BYTE $0x4b; BYTE $0x04; BYTE $0x08; \
	BYTE $0xc4; BYTE $0xc2; BYTE $0x7a; BYTE $0x4b; BYTE $0x4c; BYTE $0x08; BYTE $0x40; \
	BYTE $0xc4; BYTE $0xc2; BYTE $0x7a; BYTE $0x4b; BYTE $0x94; BYTE $0x08; BYTE $0x00; BYTE $0x08; BYTE $0x00; BYTE $0x00; \
	BYTE $0xc4; BYTE $0xc2; BYTE $0x7a; BYTE $0x4b; BYTE $0x9c; BYTE $0x08; BYTE $0x40; BYTE $0x08; BYTE $0x00; BYTE $0x00

// SCALE(d, o) adds row o/128 of the block's int32 results (scr: 32 rows
// of 32 tokens) times their scales to acc: acc[m][j] += C[m][j] *
// (dw[m]*da[j]), the scale product rounded to f32 first, as ggml's
// vec_dot does.
#define SCALE(d, o) \
	VBROADCASTSS d(R9), Z2; \
	VMULPS       Z0, Z2, Z3; \
	VMULPS       Z1, Z2, Z4; \
	VCVTDQ2PS    o(R8), Z5; \
	VCVTDQ2PS    (o+64)(R8), Z6; \
	VFMADD213PS  o(AX), Z3, Z5; \
	VFMADD213PS  (o+64)(AX), Z4, Z6; \
	VMOVUPS      Z5, o(AX); \
	VMOVUPS      Z6, (o+64)(AX)

// func amxQ8(cfg *byte, a *int8, lda int, astep int, b *int8, b1 int, dw *float32, da *float32, acc *float32, scr *int32, nblk int)
//
// For one block of 32 weight rows and one of 32 tokens, over nblk blocks
// of 32 values: acc [32 rows][32 tokens] f32 += the int32 dot products of
// each block times dw[blk][row] * da[blk][token] (dw, da: 32 floats per
// block). Block i's A tiles are 16 rows of 32 int8 at a+i*astep, rows lda
// bytes apart, rows 16-31 16*lda further on: Q8_0 weight rows in place
// (astep 34, past the scale) or unpacked ones. Block i's B tiles are rows
// i&1, i&1+2, ... of the 16×16 words at b+(i/2)*1024 (tokens 0-15) and
// b1 bytes further on (tokens 16-31). scr is 4 KiB of scratch for the
// int32 results.
TEXT ·amxQ8(SB), NOSPLIT, $0-88
	MOVQ cfg+0(FP), AX
	LDTILECFG_AX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), DX
	MOVQ dw+48(FP), R9
	MOVQ da+56(FP), R12
	MOVQ acc+64(FP), AX
	MOVQ scr+72(FP), R8
	MOVQ nblk+80(FP), R13
	MOVQ $128, CX
	XORQ BX, BX
	TESTQ R13, R13
	JZ   qdone

qblock:
	TILEZERO_C
	MOVQ DX, R11
	SHLQ $4, R11
	ADDQ SI, R11 // A1: rows 16-31
	Q_LOAD_A
	MOVQ BX, DI
	SHRQ $1, DI
	SHLQ $10, DI
	MOVQ BX, R10
	ANDQ $1, R10
	SHLQ $6, R10
	ADDQ R10, DI
	ADDQ b+32(FP), DI // B0: tokens 0-15
	MOVQ b1+40(FP), R10
	ADDQ DI, R10 // B1: tokens 16-31
	Q_LOAD_B
	TDPBSSD_4
	Q_STORE_C
	VMOVUPS (R12), Z0
	VMOVUPS 64(R12), Z1
	SCALE(0, 0)
	SCALE(4, 128)
	SCALE(8, 256)
	SCALE(12, 384)
	SCALE(16, 512)
	SCALE(20, 640)
	SCALE(24, 768)
	SCALE(28, 896)
	SCALE(32, 1024)
	SCALE(36, 1152)
	SCALE(40, 1280)
	SCALE(44, 1408)
	SCALE(48, 1536)
	SCALE(52, 1664)
	SCALE(56, 1792)
	SCALE(60, 1920)
	SCALE(64, 2048)
	SCALE(68, 2176)
	SCALE(72, 2304)
	SCALE(76, 2432)
	SCALE(80, 2560)
	SCALE(84, 2688)
	SCALE(88, 2816)
	SCALE(92, 2944)
	SCALE(96, 3072)
	SCALE(100, 3200)
	SCALE(104, 3328)
	SCALE(108, 3456)
	SCALE(112, 3584)
	SCALE(116, 3712)
	SCALE(120, 3840)
	SCALE(124, 3968)
	ADDQ astep+24(FP), SI
	ADDQ $128, R9
	ADDQ $128, R12
	INCQ BX
	CMPQ BX, R13
	JLT  qblock
	VZEROUPPER

qdone:
	TILERELEASE
	RET

// SCALEM(d, o) is SCALE plus the weights' minimum term of Q4_1/Q5_1:
// acc[m][j] += m[m] * s[j], the minima 128 bytes after the scales (R9)
// and the activations' s 128 bytes after theirs (Z8, Z9).
#define SCALEM(d, o) \
	VBROADCASTSS d(R9), Z2; \
	VBROADCASTSS (d+128)(R9), Z7; \
	VMULPS       Z0, Z2, Z3; \
	VMULPS       Z1, Z2, Z4; \
	VCVTDQ2PS    o(R8), Z5; \
	VCVTDQ2PS    (o+64)(R8), Z6; \
	VFMADD213PS  o(AX), Z3, Z5; \
	VFMADD213PS  (o+64)(AX), Z4, Z6; \
	VFMADD231PS  Z8, Z7, Z5; \
	VFMADD231PS  Z9, Z7, Z6; \
	VMOVUPS      Z5, o(AX); \
	VMOVUPS      Z6, (o+64)(AX)

// func amxQ8m(cfg *byte, a *int8, lda int, astep int, b *int8, b1 int, dw *float32, da *float32, acc *float32, scr *int32, nblk int)
//
// amxQ8 for weights with a minimum (Q4_1, Q5_1; Q8_1 activations): dw
// holds per block 32 scales then 32 minima, da 32 scales then 32 s
// (fp16(d·Σq)), and each block also adds m[row]*s[token].
TEXT ·amxQ8m(SB), NOSPLIT, $0-88
	MOVQ cfg+0(FP), AX
	LDTILECFG_AX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), DX
	MOVQ dw+48(FP), R9
	MOVQ da+56(FP), R12
	MOVQ acc+64(FP), AX
	MOVQ scr+72(FP), R8
	MOVQ nblk+80(FP), R13
	MOVQ $128, CX
	XORQ BX, BX
	TESTQ R13, R13
	JZ   qmdone

qmblock:
	TILEZERO_C
	MOVQ DX, R11
	SHLQ $4, R11
	ADDQ SI, R11 // A1: rows 16-31
	Q_LOAD_A
	MOVQ BX, DI
	SHRQ $1, DI
	SHLQ $10, DI
	MOVQ BX, R10
	ANDQ $1, R10
	SHLQ $6, R10
	ADDQ R10, DI
	ADDQ b+32(FP), DI // B0: tokens 0-15
	MOVQ b1+40(FP), R10
	ADDQ DI, R10 // B1: tokens 16-31
	Q_LOAD_B
	TDPBSSD_4
	Q_STORE_C
	VMOVUPS (R12), Z0
	VMOVUPS 64(R12), Z1
	VMOVUPS 128(R12), Z8
	VMOVUPS 192(R12), Z9
	SCALEM(0, 0)
	SCALEM(4, 128)
	SCALEM(8, 256)
	SCALEM(12, 384)
	SCALEM(16, 512)
	SCALEM(20, 640)
	SCALEM(24, 768)
	SCALEM(28, 896)
	SCALEM(32, 1024)
	SCALEM(36, 1152)
	SCALEM(40, 1280)
	SCALEM(44, 1408)
	SCALEM(48, 1536)
	SCALEM(52, 1664)
	SCALEM(56, 1792)
	SCALEM(60, 1920)
	SCALEM(64, 2048)
	SCALEM(68, 2176)
	SCALEM(72, 2304)
	SCALEM(76, 2432)
	SCALEM(80, 2560)
	SCALEM(84, 2688)
	SCALEM(88, 2816)
	SCALEM(92, 2944)
	SCALEM(96, 3072)
	SCALEM(100, 3200)
	SCALEM(104, 3328)
	SCALEM(108, 3456)
	SCALEM(112, 3584)
	SCALEM(116, 3712)
	SCALEM(120, 3840)
	SCALEM(124, 3968)
	ADDQ astep+24(FP), SI
	ADDQ $256, R9
	ADDQ $256, R12
	INCQ BX
	CMPQ BX, R13
	JLT  qmblock
	VZEROUPPER

qmdone:
	TILERELEASE
	RET

// func unpackQ4_0(dst *int8, src *byte, nb int)
//
// Unpacks the nb Q4_0 blocks of one weight row (18 bytes each: fp16 d,
// then 16 bytes whose low nibbles are values 0-15 and high nibbles
// 16-31, each biased by 8) into 32 signed bytes per block, block i at
// dst+i*1024 (the A tiles of 32 rows, see amxMatMulQ4_0).
TEXT ·unpackQ4_0(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	TESTQ CX, CX
	JZ   udone
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Y2
	MOVL $0x08080808, AX
	VPBROADCASTD AX, Y3

uloop:
	VMOVDQU     2(SI), X0
	VPSRLW      $4, X0, X1
	VINSERTI128 $1, X1, Y0, Y0
	VPAND       Y2, Y0, Y0
	VPSUBB      Y3, Y0, Y0
	VMOVDQU     Y0, (DI)
	ADDQ        $18, SI
	ADDQ        $1024, DI
	DECQ        CX
	JNZ         uloop
	VZEROUPPER

udone:
	RET

// unpackQ5_0's constants: for output byte j, the byte of qh holding bit j
// (a VPSHUFB index within each 128-bit lane of the broadcast qh), and
// bit j's mask within that byte.
DATA q5idx<>+0(SB)/8, $0x0000000000000000
DATA q5idx<>+8(SB)/8, $0x0101010101010101
DATA q5idx<>+16(SB)/8, $0x0202020202020202
DATA q5idx<>+24(SB)/8, $0x0303030303030303
GLOBL q5idx<>(SB), RODATA|NOPTR, $32
DATA q5bit<>+0(SB)/8, $0x8040201008040201
DATA q5bit<>+8(SB)/8, $0x8040201008040201
DATA q5bit<>+16(SB)/8, $0x8040201008040201
DATA q5bit<>+24(SB)/8, $0x8040201008040201
GLOBL q5bit<>(SB), RODATA|NOPTR, $32

// func unpackQ5_0(dst *int8, src *byte, nb int)
//
// Unpacks the nb Q5_0 blocks of one weight row (22 bytes each: fp16 d,
// 4 bytes qh whose bit j is value j's fifth bit, then 16 bytes of
// nibbles as Q4_0's) into 32 signed bytes per block (q5 - 16), block i
// at dst+i*1024.
TEXT ·unpackQ5_0(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	TESTQ CX, CX
	JZ   u5done
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Y2
	MOVL $0x10101010, AX
	VPBROADCASTD AX, Y3
	VMOVDQU q5idx<>(SB), Y4
	VMOVDQU q5bit<>(SB), Y5

u5loop:
	VPBROADCASTD 2(SI), Y0
	VPSHUFB      Y4, Y0, Y0
	VPAND        Y5, Y0, Y0
	VPCMPEQB     Y5, Y0, Y0 // 0xff where the fifth bit is set
	VPAND        Y3, Y0, Y0 // 16 there
	VMOVDQU      6(SI), X1
	VPSRLW       $4, X1, X6
	VINSERTI128  $1, X6, Y1, Y1
	VPAND        Y2, Y1, Y1
	VPOR         Y0, Y1, Y1
	VPSUBB       Y3, Y1, Y1
	VMOVDQU      Y1, (DI)
	ADDQ         $22, SI
	ADDQ         $1024, DI
	DECQ         CX
	JNZ          u5loop
	VZEROUPPER

u5done:
	RET

// func unpackQ4_1(dst *int8, src *byte, nb int)
//
// unpackQ4_0 for Q4_1 blocks (20 bytes: fp16 d, fp16 m, 16 bytes of
// nibbles, unbiased: values 0-15).
TEXT ·unpackQ4_1(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	TESTQ CX, CX
	JZ   u41done
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Y2

u41loop:
	VMOVDQU     4(SI), X0
	VPSRLW      $4, X0, X1
	VINSERTI128 $1, X1, Y0, Y0
	VPAND       Y2, Y0, Y0
	VMOVDQU     Y0, (DI)
	ADDQ        $20, SI
	ADDQ        $1024, DI
	DECQ        CX
	JNZ         u41loop
	VZEROUPPER

u41done:
	RET

// func unpackQ5_1(dst *int8, src *byte, nb int)
//
// unpackQ5_0 for Q5_1 blocks (24 bytes: fp16 d, fp16 m, 4 bytes qh, 16
// bytes of nibbles; values 0-31, unbiased).
TEXT ·unpackQ5_1(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	TESTQ CX, CX
	JZ   u51done
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Y2
	MOVL $0x10101010, AX
	VPBROADCASTD AX, Y3
	VMOVDQU q5idx<>(SB), Y4
	VMOVDQU q5bit<>(SB), Y5

u51loop:
	VPBROADCASTD 4(SI), Y0
	VPSHUFB      Y4, Y0, Y0
	VPAND        Y5, Y0, Y0
	VPCMPEQB     Y5, Y0, Y0
	VPAND        Y3, Y0, Y0
	VMOVDQU      8(SI), X1
	VPSRLW       $4, X1, X6
	VINSERTI128  $1, X6, Y1, Y1
	VPAND        Y2, Y1, Y1
	VPOR         Y0, Y1, Y1
	VMOVDQU      Y1, (DI)
	ADDQ         $24, SI
	ADDQ         $1024, DI
	DECQ         CX
	JNZ          u51loop
	VZEROUPPER

u51done:
	RET
