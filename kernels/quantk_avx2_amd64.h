// The frame, row-loop and reduction macros the AVX2 K-quant kernels
// share (quantk2_amd64.s, quantk3_amd64.s): assembler macros are per
// file, so they live here and both include it. Same signature and
// registers as the AVX-512 kernels: DI the output, R8 ldy, R12 the weight
// row and SI its current block, DX the activations with R9 bytes between
// rows (R10 and R11 the current block of rows 0 and 1), CX blocks left.

#define PROLOGUE \
	MOVQ y+0(FP), DI \
	MOVQ ldy+8(FP), R8 \
	MOVQ w+16(FP), R12 \
	MOVQ a+40(FP), DX \
	MOVQ as+48(FP), R9

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

#define HSUM(YY, XX, DST) \
	VEXTRACTF128 $1, YY, X9 \
	VADDPS X9, XX, XX \
	VMOVHLPS XX, XX, X9 \
	VADDPS X9, XX, XX \
	VMOVSHDUP XX, X9 \
	VADDSS X9, XX, XX \
	VMOVSS XX, DST
