package main

import (
	"math"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The element-wise kernels. Each processes n elements, n a multiple of the
// vector width (the Go wrappers do the tails), two vectors per iteration
// and then one.

func genElem() {
	expConsts()
	for _, l := range levels {
		elemLoop(l, "cvtBF16", "func(dst *float32, src *uint16, n int)",
			"widens bfloat16 to float32.", []string{"dst", "src"}, nil,
			func(m []Mem, _ []Op) {
				v := l.vec()
				loadWidened(l, bf16, m[1], v)
				VMOVUPS(v, m[0])
			}, 4, 2)
		elemLoop(l, "cvtF16", "func(dst *float32, src *uint16, n int)",
			"widens IEEE half precision to float32.", []string{"dst", "src"}, nil,
			func(m []Mem, _ []Op) {
				v := l.vec()
				VCVTPH2PS(m[1], v)
				VMOVUPS(v, m[0])
			}, 4, 2)
		elemLoop(l, "cvtToF16", "func(dst *uint16, src *float32, n int)",
			"narrows float32 to half precision, rounding to nearest even.", []string{"dst", "src"}, nil,
			func(m []Mem, _ []Op) {
				v := l.vec()
				VMOVUPS(m[1], v)
				VCVTPS2PH(U8(0), v, m[0]) // imm 0: round to nearest even
			}, 2, 4)
		elemLoop(l, "add", "func(dst, x *float32, n int)",
			"does dst[i] += x[i].", []string{"dst", "x"}, nil,
			func(m []Mem, _ []Op) {
				v := l.vec()
				VMOVUPS(m[0], v)
				VADDPS(m[1], v, v)
				VMOVUPS(v, m[0])
			}, 4, 4)
		elemLoop(l, "scale", "func(x *float32, n int, a float32)",
			"does x[i] *= a.", []string{"x"}, []string{"a"},
			func(m []Mem, s []Op) {
				v := l.vec()
				VMULPS(m[0], s[0], v)
				VMOVUPS(v, m[0])
			}, 4)
		elemLoop(l, "mulScale", "func(out, x, w *float32, n int, a float32)",
			"does out[i] = x[i] * a * w[i].", []string{"out", "x", "w"}, []string{"a"},
			func(m []Mem, s []Op) {
				v := l.vec()
				VMULPS(m[1], s[0], v)
				VMULPS(m[2], v, v)
				VMOVUPS(v, m[0])
			}, 4, 4, 4)
		elemLoop(l, "axpy", "func(out, v *float32, n int, a float32)",
			"does out[i] += a * v[i].", []string{"out", "v"}, []string{"a"},
			func(m []Mem, s []Op) {
				v := l.vec()
				VMOVUPS(m[0], v)
				VFMADD231PS(m[1], s[0], v)
				VMOVUPS(v, m[0])
			}, 4, 4)
		elemLoop(l, "axpyF16", "func(out *float32, v *uint16, n int, a float32)",
			"does out[i] += a * v[i] with half-precision v.", []string{"out", "v"}, []string{"a"},
			func(m []Mem, s []Op) {
				v, h := l.vec(), l.vec()
				VCVTPH2PS(m[1], h)
				VMOVUPS(m[0], v)
				VFMADD231PS(h, s[0], v)
				VMOVUPS(v, m[0])
			}, 4, 2)
		elemLoop(l, "ropeHalf", "func(lo, hi, cos, sin *float32, n int)",
			"rotates the pairs (lo[i], hi[i]) by the angles with cosines cos and sines sin.",
			[]string{"lo", "hi", "cos", "sin"}, nil,
			func(m []Mem, _ []Op) {
				a, b, c, s, t := l.vec(), l.vec(), l.vec(), l.vec(), l.vec()
				VMOVUPS(m[0], a)
				VMOVUPS(m[1], b)
				VMOVUPS(m[2], c)
				VMOVUPS(m[3], s)
				VMULPS(b, s, t)
				VFMSUB231PS(a, c, t) // a*c - b*s
				VMOVUPS(t, m[0])
				VMULPS(a, s, t)
				VFMADD231PS(b, c, t) // a*s + b*c
				VMOVUPS(t, m[1])
			}, 4, 4, 4, 4)
	}
	ropeConsts()
	for _, l := range levels {
		ropePairsKernel(l)
	}
	// The exp-based kernels use ymm only: their compares and blends have
	// no zmm form without mask registers, and they are a small part of
	// the run time. The avx512 level uses them as they are.
	maxKernel(avx2)
	expSumKernel(avx2)
	swiGLUKernel(avx2)
}

// elemLoop writes an element-wise kernel: ptrs are pointer arguments (with
// element sizes sizes), scalars float32 arguments broadcast to vectors;
// body gets the memory operands of one vector of every pointer.
func elemLoop(l level, base, sig, doc string, ptrs, scalars []string, body func(m []Mem, s []Op), sizes ...int) {
	fname := name(base, l)
	TEXT(fname, NOSPLIT, sig)
	Pragma("noescape") // pointers are not retained
	Doc(fname + " " + doc + " n is a multiple of the vector width.")
	p := make([]Register, len(ptrs))
	for i, a := range ptrs {
		p[i] = Load(Param(a), GP64())
	}
	n := Load(Param("n"), GP64())
	s := make([]Op, len(scalars))
	for i, a := range scalars {
		v := l.vec()
		VBROADCASTSS(Load(Param(a), XMM()), v)
		s[i] = v
	}
	i := GP64()
	XORQ(i, i)
	W := l.lanes
	mem := func(k int) []Mem {
		m := make([]Mem, len(p))
		for j := range p {
			m[j] = Mem{Base: p[j], Index: i, Scale: uint8(sizes[j]), Disp: k * W * sizes[j]}
		}
		return m
	}
	lim := GP64()
	MOVQ(n, lim)
	SUBQ(U32(2*W), lim)
	Label("two")
	CMPQ(i, lim)
	JG(LabelRef("one"))
	body(mem(0), s)
	body(mem(1), s)
	ADDQ(U32(2*W), i)
	JMP(LabelRef("two"))
	Label("one")
	CMPQ(i, n)
	JGE(LabelRef("done"))
	body(mem(0), s)
	ADDQ(U32(W), i)
	JMP(LabelRef("one"))
	Label("done")
	VZEROUPPER()
	RET()
}

// expConsts are the constants of the vector exp (the same Cephes
// polynomial and range reduction as expf in convert.go).
var expTab Mem

const (
	cLog2e = iota
	cHalf
	cLn2Hi
	cLn2Lo
	cP0
	cP1
	cP2
	cP3
	cP4
	cP5
	cOne
	cLo
	cHi
	cInf
	cNegInf
	cBias
	cCount
)

func expConsts() {
	expTab = GLOBL("expconsts", RODATA|NOPTR)
	vals := [cCount]float32{
		cLog2e: 1.44269504088896341, cHalf: 0.5, cLn2Hi: 0.693359375, cLn2Lo: -2.12194440e-4,
		cP0: 1.9875691500e-4, cP1: 1.3981999507e-3, cP2: 8.3334519073e-3,
		cP3: 4.1665795894e-2, cP4: 1.6666665459e-1, cP5: 5.0000001201e-1, cOne: 1,
		cLo: -87.33654, cHi: 88.72283, cInf: float32(math.Inf(1)), cNegInf: float32(math.Inf(-1)),
	}
	for i, v := range vals {
		if i == cBias {
			DATA(4*i, U32(127))
			continue
		}
		DATA(4*i, U32(math.Float32bits(v)))
	}
}

func bc(l level, c int) VecVirtual {
	v := l.vec()
	VBROADCASTSS(expTab.Offset(4*c), v)
	return v
}

// vexp returns exp(x) for the ymm vector x, as expf in convert.go: NaN in,
// NaN out; below -87.33654, 0; above 88.72283, +Inf.
func vexp(l level, x VecVirtual) VecVirtual {
	xc := l.vec()
	// Clamp with x as the second source so that a NaN x passes through.
	VMAXPS(x, bc(l, cLo), xc)
	VMINPS(xc, bc(l, cHi), xc)
	nf := l.vec()
	VMOVAPS(xc, nf)
	VFMADD132PS(bc(l, cLog2e), bc(l, cHalf), nf) // x*log2e + 0.5
	VROUNDPS(U8(9), nf, nf)                      // floor, no precision exception
	r := l.vec()
	VMOVAPS(xc, r)
	VFNMADD231PS(bc(l, cLn2Hi), nf, r) // r = x - n*ln2hi
	VFNMADD231PS(bc(l, cLn2Lo), nf, r) // r -= n*ln2lo
	p := bc(l, cP0)
	for _, c := range []int{cP1, cP2, cP3, cP4, cP5} {
		VFMADD213PS(bc(l, c), r, p) // p = p*r + c
	}
	z := l.vec()
	VMULPS(r, r, z)
	VFMADD213PS(r, z, p) // p = p*r*r + r
	VADDPS(bc(l, cOne), p, p)
	// 2^n as 2^(n>>1) * 2^(n-n>>1): both factors stay normal for n in
	// [-126, 128], so no exponent field overflows.
	ni, n1 := l.vec(), l.vec()
	VCVTPS2DQ(nf, ni)
	VPSRAD(U8(1), ni, n1)
	VPSUBD(n1, ni, ni)
	bias := bc(l, cBias)
	VPADDD(bias, n1, n1)
	VPADDD(bias, ni, ni)
	VPSLLD(U8(23), n1, n1)
	VPSLLD(U8(23), ni, ni)
	VMULPS(n1, p, p)
	VMULPS(ni, p, p)
	// Below the range: 0; above: +Inf (the compares are false for NaN).
	m := l.vec()
	VCMPPS(U8(1), bc(l, cLo), x, m) // x < lo
	VANDNPS(p, m, p)
	VCMPPS(U8(1), x, bc(l, cHi), m) // hi < x
	VBLENDVPS(m, bc(l, cInf), p, p)
	return p
}

// maxKernel: maxAVX2(x, n) returns the largest of x[0:n] (n a positive
// multiple of 8).
func maxKernel(l level) {
	fname := name("max", l)
	TEXT(fname, NOSPLIT, "func(x *float32, n int) float32")
	Pragma("noescape") // pointers are not retained
	Doc(fname + " returns the largest of x[0:n]; n is a positive multiple of the vector width.")
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	m := bc(l, cNegInf)
	i := GP64()
	XORQ(i, i)
	Label("loop")
	VMAXPS(Mem{Base: x, Index: i, Scale: 4}, m, m)
	ADDQ(U32(l.lanes), i)
	CMPQ(i, n)
	JL(LabelRef("loop"))
	h := XMM()
	VEXTRACTF128(U8(1), m, h)
	VMAXPS(m.AsX(), h, h)
	t := XMM()
	VPERMILPS(U8(0x4e), h, t)
	VMAXPS(t, h, h)
	VPERMILPS(U8(0xb1), h, t)
	VMAXPS(t, h, h)
	Store(h, ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// expSumKernel: expSumAVX2(x, n, m) does x[i] = exp(x[i]-m) and returns
// the sum of the results.
func expSumKernel(l level) {
	fname := name("expSum", l)
	TEXT(fname, NOSPLIT, "func(x *float32, n int, m float32) float32")
	Pragma("noescape") // pointers are not retained
	Doc(fname + " does x[i] = exp(x[i]-m) and returns their sum; n is a multiple of the vector width.")
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	mv := l.vec()
	VBROADCASTSS(Load(Param("m"), XMM()), mv)
	s := l.vec()
	l.zero(s)
	i := GP64()
	XORQ(i, i)
	Label("loop")
	CMPQ(i, n)
	JGE(LabelRef("done"))
	v := l.vec()
	VMOVUPS(Mem{Base: x, Index: i, Scale: 4}, v)
	VSUBPS(mv, v, v)
	e := vexp(l, v)
	VMOVUPS(e, Mem{Base: x, Index: i, Scale: 4})
	VADDPS(e, s, s)
	ADDQ(U32(l.lanes), i)
	JMP(LabelRef("loop"))
	Label("done")
	Store(reduceLow(l, s), ReturnIndex(0))
	VZEROUPPER()
	RET()
}

// swiGLUKernel: swiGLUAVX2(out, gate, up, n) does out[i] = gate[i] /
// (1 + exp(-gate[i])) * up[i].
func swiGLUKernel(l level) {
	fname := name("swiGLU", l)
	TEXT(fname, NOSPLIT, "func(out, gate, up *float32, n int)")
	Pragma("noescape") // pointers are not retained
	Doc(fname + " does out[i] = silu(gate[i]) * up[i]; n is a multiple of the vector width.")
	out := Load(Param("out"), GP64())
	gate := Load(Param("gate"), GP64())
	up := Load(Param("up"), GP64())
	n := Load(Param("n"), GP64())
	i := GP64()
	XORQ(i, i)
	Label("loop")
	CMPQ(i, n)
	JGE(LabelRef("done"))
	g := l.vec()
	VMOVUPS(Mem{Base: gate, Index: i, Scale: 4}, g)
	ng := l.vec()
	l.zero(ng)
	VSUBPS(g, ng, ng)
	e := vexp(l, ng)
	VADDPS(bc(l, cOne), e, e)
	VDIVPS(e, g, g) // g / (1 + exp(-g))
	VMULPS(Mem{Base: up, Index: i, Scale: 4}, g, g)
	VMOVUPS(g, Mem{Base: out, Index: i, Scale: 4})
	ADDQ(U32(l.lanes), i)
	JMP(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}

// ropeTab holds the RoPE-pairs constants: the VPERMPS indices that
// duplicate each of 8 values ([0 0 1 1 ... 7 7]) and the sign pattern
// (-0, +0, ...) that negates the even lanes.
var ropeTab Mem

func ropeConsts() {
	ropeTab = GLOBL("ropeconsts", RODATA|NOPTR)
	for i := 0; i < 16; i++ {
		DATA(4*i, U32(i/2))
	}
	for i := 0; i < 16; i++ {
		v := uint32(0)
		if i%2 == 0 {
			v = 0x80000000
		}
		DATA(64+4*i, U32(v))
	}
}

// ropePairsKernel: ropePairs<L>(x, cos, sin, n) rotates the n/2 pairs
// (x[2i], x[2i+1]) by cos[i], sin[i]:
//
//	out = x*[c0 c0 c1 c1 ...] + swap(x)*[-s0 s0 -s1 s1 ...]
//
// with swap exchanging the two values of each pair.
func ropePairsKernel(l level) {
	fname := name("ropePairs", l)
	TEXT(fname, NOSPLIT, "func(x, cos, sin *float32, n int)")
	Pragma("noescape") // pointers are not retained
	Doc(fname + " rotates the pairs (x[2i], x[2i+1]) by cos[i], sin[i]; n (values of x) is a multiple of the vector width.")
	x := Load(Param("x"), GP64())
	c := Load(Param("cos"), GP64())
	sn := Load(Param("sin"), GP64())
	n := Load(Param("n"), GP64())
	idx, sgn := l.vec(), l.vec()
	VMOVUPS(ropeTab, idx)
	VMOVUPS(ropeTab.Offset(64), sgn)
	i := GP64()
	XORQ(i, i)
	Label("loop")
	CMPQ(i, n)
	JGE(LabelRef("done"))
	v, sw, cv, sv, out := l.vec(), l.vec(), l.vec(), l.vec(), l.vec()
	VMOVUPS(Mem{Base: x, Index: i, Scale: 4}, v)
	VPERMILPS(U8(0xb1), v, sw)
	// Half a vector of cos and sin: an xmm (ymm) load zeroes the rest.
	if l.wide {
		VMOVUPS(Mem{Base: c, Index: i, Scale: 2}, cv.AsY())
		VMOVUPS(Mem{Base: sn, Index: i, Scale: 2}, sv.AsY())
	} else {
		VMOVUPS(Mem{Base: c, Index: i, Scale: 2}, cv.AsX())
		VMOVUPS(Mem{Base: sn, Index: i, Scale: 2}, sv.AsX())
	}
	VPERMPS(cv, idx, cv)
	VPERMPS(sv, idx, sv)
	if l.wide {
		VPXORD(sgn, sv, sv)
	} else {
		VXORPS(sgn, sv, sv)
	}
	VMULPS(cv, v, out)
	VFMADD231PS(sv, sw, out)
	VMOVUPS(out, Mem{Base: x, Index: i, Scale: 4})
	ADDQ(U32(l.lanes), i)
	JMP(LabelRef("loop"))
	Label("done")
	VZEROUPPER()
	RET()
}
