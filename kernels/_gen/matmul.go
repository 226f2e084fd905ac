package main

import (
	"fmt"
	"strings"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The matrix-product microkernels: mm<Dtype>_<R>x<T><Level>(x, ldx, w, ldw,
// y, ldy, n, add, blocks) computes, for R weight rows (ldw elements apart)
// and T tokens (ldx elements apart), the R*T dot products over n elements
// and stores them (add == 0) or adds them (add != 0) to y[t*ldy+r]; then
// does the same for the next R rows, blocks times in all.
//
// They are dot-product shaped: every accumulator is a vector of partial
// sums along n, reduced once at the end, so weights are used in their
// natural row-major layout. Each weight vector is loaded once and used
// for all T tokens; each x vector once for all R rows.
// avx512: R=4, T=6: 24 zmm accumulators + 4 weights + 1 x.
// avx2:   R=2, T=6: 12 ymm accumulators + 2 weights + 1 x.
//
// Only float32 weights: the Go side widens bf16/f16 weight panels once per
// call (see matmul_amd64.go). Widening bf16 inside the loop instead (shift
// and mask of the pairs in each 32-bit lane, x permuted to match, 8 ALU
// operations per 48 FMAs) was measured at 121 GFLOP/s against 134 for
// widen-then-f32 at T=512, and software prefetch of the weights at 256-1024
// bytes made no difference.

// mmShape is a microkernel's block: R rows by T tokens.
type mmShape struct{ R, T int }

// mmShapes are the blocks generated per level. The generator also
// supports 3x8 at avx512 (fewer weight loads per FMA, more x loads): it
// measured 135 against 139 GFLOP/s for 4x6 (bf16, T=512, 4096x4096), and
// 3x4 at avx2, 77 against 77 for 2x6.
func mmShapes(l level) []mmShape {
	if l.wide {
		return []mmShape{{4, 6}}
	}
	return []mmShape{{2, 6}}
}

func genMatMul() {
	for _, l := range levels {
		done := map[string]bool{}
		for _, sh := range mmShapes(l) {
			for _, r := range []int{1, sh.R} {
				for t := 1; t <= sh.T; t++ {
					if !done[mmName(l, f32, r, t)] {
						done[mmName(l, f32, r, t)] = true
						matMul(l, f32, r, t)
					}
				}
			}
		}
	}
}

func mmName(l level, d dtype, r, t int) string {
	return fmt.Sprintf("mm%s_%dx%d%s", d.name, r, t, l.name)
}

// physical vector register i of the level's width.
func (l level) reg(i int) VecPhysical {
	if l.wide {
		return [...]VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
			Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}[i]
	}
	return [...]VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}[i]
}

// strided addresses element block t of a matrix whose rows are ld bytes
// apart, from bases b, b3 = b + 3*ld and b6 = b + 6*ld, for t < 8.
func strided(b, b3, b6, ld Register, t, off int) Mem {
	switch t {
	case 0:
		return Mem{Base: b, Disp: off}
	case 1:
		return Mem{Base: b, Index: ld, Scale: 1, Disp: off}
	case 2:
		return Mem{Base: b, Index: ld, Scale: 2, Disp: off}
	case 3:
		return Mem{Base: b3, Disp: off}
	case 4:
		return Mem{Base: b, Index: ld, Scale: 4, Disp: off}
	case 5:
		return Mem{Base: b3, Index: ld, Scale: 2, Disp: off}
	case 6:
		return Mem{Base: b6, Disp: off}
	case 7:
		return Mem{Base: b6, Index: ld, Scale: 1, Disp: off}
	}
	panic("strided: t out of range")
}

func matMul(l level, d dtype, R, T int) {
	fname := mmName(l, d, R, T)
	TEXT(fname, NOSPLIT, fmt.Sprintf("func(x *float32, ldx int, w %s, ldw int, y *float32, ldy int, n int, add int, blocks int)", d.gotyp))
	Pragma("noescape") // pointers are not retained
	Doc(fmt.Sprintf("%s is the %d-row, %d-token matrix-product microkernel, run for blocks consecutive blocks of %d rows.", fname, R, T, R))
	// Per row block: wb and yb advance, everything else is reloaded from
	// the arguments (the loop below uses them up).
	wb := Load(Param("w"), GP64())
	yb := Load(Param("y"), GP64())
	blocks := Load(Param("blocks"), GP64())

	Label("block")
	x := Load(Param("x"), GP64())
	ldx := Load(Param("ldx"), GP64())
	SHLQ(U8(2), ldx)
	x3 := GP64()
	LEAQ(Mem{Base: x, Index: ldx, Scale: 2}, x3)
	ADDQ(ldx, x3)
	var x6 Register
	if T > 6 {
		x6 = GP64()
		LEAQ(Mem{Base: x3, Index: ldx, Scale: 2}, x6)
		ADDQ(ldx, x6)
	}
	w := GP64()
	MOVQ(wb, w)
	ldw := Load(Param("ldw"), GP64())
	if d.size == 4 {
		SHLQ(U8(2), ldw)
	} else {
		SHLQ(U8(1), ldw)
	}
	w3 := GP64()
	LEAQ(Mem{Base: w, Index: ldw, Scale: 2}, w3)
	ADDQ(ldw, w3)
	n := Load(Param("n"), GP64())
	acc := func(t, r int) VecPhysical { return l.reg(t*R + r) }
	var wr [4]VecPhysical
	var xr VecPhysical
	if l.wide {
		wr = [4]VecPhysical{Z24, Z25, Z26, Z27}
		xr = Z28 // Y28 is also the epilogue's temporary
	} else {
		// R*T accumulators in Y0..; at most 12 of them with R <= 3.
		xr = Y14
		wr = [4]VecPhysical{Y12, Y13, Y15}
	}
	for t := 0; t < T; t++ {
		for r := 0; r < R; r++ {
			l.zero(acc(t, r))
		}
	}
	wrow := func(r, off int) Mem { return strided(w, w3, nil, ldw, r, off) }
	vb := 4 * l.lanes // bytes of one float32 vector

	Label("loop")
	fmas := func(xoff int) {
		for t := 0; t < T; t++ {
			VMOVUPS(strided(x, x3, x6, ldx, t, xoff), xr)
			for r := 0; r < R; r++ {
				VFMADD231PS(wr[r], xr, acc(t, r))
			}
		}
	}
	for r := 0; r < R; r++ {
		VMOVUPS(wrow(r, 0), wr[r])
	}
	fmas(0)
	chunk, xstep, wstep := l.lanes, vb, vb
	ADDQ(U32(xstep), x)
	ADDQ(U32(xstep), x3)
	if T > 6 {
		ADDQ(U32(xstep), x6)
	}
	ADDQ(U32(wstep), w)
	ADDQ(U32(wstep), w3)
	SUBQ(U32(chunk), n)
	JG(LabelRef("loop"))

	// Epilogue: reduce and store or add.
	y := yb
	ldy := Load(Param("ldy"), GP64())
	SHLQ(U8(2), ldy)
	y3 := GP64()
	LEAQ(Mem{Base: y, Index: ldy, Scale: 2}, y3)
	ADDQ(ldy, y3)
	var y6 Register
	if T > 6 {
		y6 = GP64()
		LEAQ(Mem{Base: y3, Index: ldy, Scale: 2}, y6)
		ADDQ(ldy, y6)
	}
	add := Load(Param("add"), GP64())
	// Reduce every token's R accumulators into the low lanes of X0 (R=4:
	// X0 = [r0 r1 r2 r3]; R=2: X0 low = [r0 r1]; R=1: X0 low = r0); out
	// is then called to store it.
	reduceToken := func(t int) {
		if l.wide {
			// 512 -> 256 into Y0..Y(R-1); token 0 is already there and
			// after it those registers are free.
			for r := 0; r < R; r++ {
				VEXTRACTF64X4(U8(1), acc(t, r), Y28)
				VADDPS(Y28, acc(t, r).AsY(), l.reg(r).AsY())
			}
		} else if t > 0 {
			for r := 0; r < R; r++ {
				VMOVAPS(acc(t, r), l.reg(r).AsY())
			}
		}
		switch R {
		case 4:
			VHADDPS(Y1, Y0, Y0)
			VHADDPS(Y3, Y2, Y2)
			VHADDPS(Y2, Y0, Y0)
			VEXTRACTF128(U8(1), Y0, X1)
			VADDPS(X1, X0, X0)
		case 3:
			VHADDPS(Y1, Y0, Y0)
			VHADDPS(Y2, Y2, Y2)
			VHADDPS(Y2, Y0, Y0)
			VEXTRACTF128(U8(1), Y0, X1)
			VADDPS(X1, X0, X0)
		case 2:
			VHADDPS(Y1, Y0, Y0)
			VEXTRACTF128(U8(1), Y0, X1)
			VADDPS(X1, X0, X0)
			VHADDPS(X0, X0, X0)
		case 1:
			// X1 is token 1's accumulator here; X15 is free.
			VEXTRACTF128(U8(1), Y0, X15)
			VADDPS(X15, X0, X0)
			VHADDPS(X0, X0, X0)
			VHADDPS(X0, X0, X0)
		}
	}
	// Token 0's accumulators hold Y0..Y(R-1) that the other tokens reduce
	// into, so it goes first.
	epilogue := func(doAdd bool) {
		for t := 0; t < T; t++ {
			reduceToken(t)
			m := strided(y, y3, y6, ldy, t, 0)
			switch R {
			case 4:
				if doAdd {
					VADDPS(m, X0, X0)
				}
				VMOVUPS(X0, m)
			case 3:
				if doAdd {
					VMOVSD(m, X1)
					VINSERTPS(U8(0x20), m.Offset(8), X1, X1)
					VADDPS(X1, X0, X0)
				}
				VMOVSD(X0, m)
				VEXTRACTPS(U8(2), X0, m.Offset(8))
			case 2:
				if doAdd {
					VMOVSD(m, X1)
					VADDPS(X1, X0, X0)
				}
				VMOVSD(X0, m)
			case 1:
				if doAdd {
					VADDSS(m, X0, X0)
				}
				VMOVSS(X0, m)
			}
		}
		JMP(LabelRef("next"))
	}
	CMPQ(add, U8(0))
	JNE(LabelRef("accumulate"))
	epilogue(false)
	Label("accumulate")
	epilogue(true)

	Label("next")
	// Next row block: R rows of weights and R results further on.
	ldw2 := Load(Param("ldw"), GP64())
	IMUL3Q(U32(R*d.size), ldw2, ldw2)
	ADDQ(ldw2, wb)
	ADDQ(U32(4*R), yb)
	DECQ(blocks)
	JNZ(LabelRef("block"))
	VZEROUPPER()
	RET()
}

// mmTables returns the Go source of the microkernel dispatch tables.
func mmTables() string {
	var b strings.Builder
	b.WriteString("// Code generated by kernels/_gen. DO NOT EDIT.\n\n//go:build amd64 && !noasm\n\npackage kernels\n\n")
	for _, l := range levels {
		for _, sh := range mmShapes(l) {
			fmt.Fprintf(&b, "// mmF32Tab%s_%dx%d holds the %s microkernels of the %d-row, %d-token block: [0][t] one row, [1][t] %d rows, t tokens.\n",
				l.name, sh.R, sh.T, l.name, sh.R, sh.T, sh.R)
			fmt.Fprintf(&b, "var mmF32Tab%s_%dx%d = [2][]mmF32Fn{\n", l.name, sh.R, sh.T)
			for _, r := range []int{1, sh.R} {
				b.WriteString("\t{nil")
				for t := 1; t <= sh.T; t++ {
					fmt.Fprintf(&b, ", %s", mmName(l, f32, r, t))
				}
				b.WriteString("},\n")
			}
			b.WriteString("}\n\n")
		}
	}
	return b.String()
}
