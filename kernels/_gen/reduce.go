package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genReduce writes sumSquares<Level>(x, n) = sum of x[i]*x[i] for n a
// multiple of the vector width. One load per vector and four independent
// accumulators: besides RMSNorm, gale bench uses it to measure how fast
// the machine streams memory (one sequential read per core, the shape of
// the reference C probe), so it must not be the bottleneck itself.
func genReduce() {
	for _, l := range levels {
		sumSquares(l)
	}
}

func sumSquares(l level) {
	fname := name("sumSquares", l)
	TEXT(fname, NOSPLIT, "func(x *float32, n int) float32")
	Pragma("noescape") // x is not retained
	Doc(fname + " returns the sum of x[i]*x[i]; n is a multiple of the vector width.")
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	W := l.lanes
	const unroll = 4
	acc := make([]VecVirtual, unroll)
	for k := range acc {
		acc[k] = l.vec()
		l.zero(acc[k])
	}
	i := GP64()
	XORQ(i, i)
	lim := GP64()
	MOVQ(n, lim)
	SUBQ(U32(unroll*W), lim)
	Label("four")
	CMPQ(i, lim)
	JG(LabelRef("one"))
	for k := 0; k < unroll; k++ {
		v := l.vec()
		VMOVUPS(Mem{Base: x, Index: i, Scale: 4, Disp: 4 * W * k}, v)
		VFMADD231PS(v, v, acc[k])
	}
	ADDQ(U32(unroll*W), i)
	JMP(LabelRef("four"))
	Label("one")
	CMPQ(i, n)
	JGE(LabelRef("sum"))
	v := l.vec()
	VMOVUPS(Mem{Base: x, Index: i, Scale: 4}, v)
	VFMADD231PS(v, v, acc[0])
	ADDQ(U32(W), i)
	JMP(LabelRef("one"))
	Label("sum")
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	s := reduceLow(l, acc[0])
	Store(s, ReturnIndex(0))
	VZEROUPPER()
	RET()
}
