package main

import (
	"fmt"
	"strings"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// The matrix-product microkernels, broadcast (outer-product) form:
// mmF32_<R>x<T><Level>(x, w, ldw, y, ldy, k, add, blocks) computes, for R
// weight rows (ldw floats apart) and a block of T tokens,
//
//	acc[r][j] = sum over i < k of w[r*ldw+i] * x[i*T+j]
//
// and stores it (add == 0) or adds it (add != 0) to y[r*ldy+j]; then does
// the same for the next R rows (w and y R rows further on), blocks times
// in all.
//
// x is the token block packed k-major (for every i its T token values,
// contiguous), so each step of the reduction loads T/lanes vectors of
// tokens, broadcasts one weight per row, and does R*T/lanes FMAs. Every
// accumulator lane is its own token: no horizontal reduction at all, and
// k need not be a multiple of anything. y is the product transposed, a
// row of tokens per weight row; the Go side transposes it once per call
// (and packs x) with the tr kernels, O((T+rows)*n) work against the
// O(T*rows*n) of the product. The weights keep their natural row-major
// layout: the Go side widens (bf16, f16) or copies (f32) them into a
// float32 panel with a padded row stride, as the dot-product kernels that
// these replaced did.
//
// avx512: R=12, T=32: 24 zmm accumulators, 2 of tokens, 2 for broadcasts;
// per step 2 loads, 12 broadcasts, 24 FMAs.
// avx2:   R=6,  T=16: 12 ymm accumulators, 2 of tokens, 2 for broadcasts.
// The kernels for fewer token vectors (T=16 at avx512, 8 at avx2) serve
// the last token block of a call. The mmW<Dtype> variants also fill the
// panel from the weights as they go; the first token block of each panel
// runs them (see matmul_amd64.go).
//
// Measured on the target machine (bf16, one thread, T=512, 4096x4096,
// ratios of interleaved runs because the machine drifts by +-15%): the
// dot-product 4x6 kernels (a vector of partial sums along n per
// accumulator, reduced at the end of every k-chunk) reached 105-133
// GFLOP/s where these reach 125-143, and 160-170 on a panel in cache
// (4x6: 137-146). Other avx512 blocks with 24-28 accumulators (8x3, 6x4,
// 14x2, 10x2, 24x1 with embedded broadcasts) measured within the noise
// of 12x2 on a panel in cache and no better in place. avx2 6x2 against
// the dot-product 2x6: 1.06-1.2 times faster.

// mmShape is a microkernel's block: R rows by V token vectors.
type mmShape struct{ R, V int }

// mmShapeOf returns the level's block.
func mmShapeOf(l level) mmShape {
	if l.wide {
		return mmShape{12, 2}
	}
	return mmShape{6, 2}
}

// mmUnroll is how many reduction steps one loop iteration does.
const mmUnroll = 4

// mmAhead is how many column groups ahead of their use the mmW kernels
// fill the panel. The loads of a group filled one group ahead can still
// find its stores in flight; measured against a separate fill (bf16,
// T=256, 2048x4096): 1 group ahead 1.03 times as fast, 2 groups 1.09,
// 4 groups 1.07.
var mmAhead = 2

func genMatMul() {
	for _, l := range levels {
		sh := mmShapeOf(l)
		for v := 1; v <= sh.V; v++ {
			matMul(l, sh.R, v, nil)
			for _, d := range []dtype{f32, bf16, f16} {
				matMul(l, sh.R, v, &d)
			}
		}
	}
}

func mmName(l level, R, V int) string {
	return fmt.Sprintf("mmF32_%dx%d%s", R, V*l.lanes, l.name)
}

// physical vector register i of the level's width.
func (l level) reg(i int) VecPhysical {
	if l.wide {
		return [...]VecPhysical{Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15,
			Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31}[i]
	}
	return [...]VecPhysical{Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15}[i]
}

// rowAddr addresses row r of a matrix with rows ld bytes apart from
// bases[r/3] = base + 3*(r/3)*ld (x86 addressing scales index by at most
// 8, and 1 and 2 are the ones a single index register covers here).
func rowAddr(bases []Register, ld Register, r, off int) Mem {
	m := Mem{Base: bases[r/3], Disp: off}
	if r%3 != 0 {
		m.Index, m.Scale = ld, uint8(r%3)
	}
	return m
}

// rowBases sets up the base registers of rowAddr for R rows from p.
func rowBases(p, ld Register, R int) []Register {
	bases := []Register{p}
	for b := 3; b < R; b += 3 {
		nb := GP64()
		LEAQ(Mem{Base: bases[len(bases)-1], Index: ld, Scale: 2}, nb)
		ADDQ(ld, nb)
		bases = append(bases, nb)
	}
	return bases
}

func matMul(l level, R, V int, fuse *dtype) {
	fname := mmName(l, R, V)
	sig := "func(x *float32, w *float32, ldw int, y *float32, ldy int, k int, add int, blocks int)"
	doc := fmt.Sprintf("%s is the %d-row, %d-token broadcast-form matrix-product microkernel, run for blocks consecutive blocks of %d rows.",
		fname, R, V*l.lanes, R)
	if fuse != nil {
		fname = fmt.Sprintf("mmW%s_%dx%d%s", fuse.name, R, V*l.lanes, l.name)
		sig = fmt.Sprintf("func(x *float32, w *float32, ldw int, y *float32, ldy int, k int, add int, blocks int, src %s, lds int, groups int)", fuse.gotyp)
		doc = fmt.Sprintf("%s is %s that also fills the panel w from the %s weights src (lds elements apart) as it goes: the first groups*%d columns, %d groups ahead of their use; the panel's other columns must be filled already.",
			fname, mmName(l, R, V), fuse.name, l.lanes, mmAhead)
	}
	TEXT(fname, NOSPLIT, sig)
	Pragma("noescape") // pointers are not retained
	Doc(doc)
	nregs := 16
	if l.wide {
		nregs = 32
	}
	free := nregs - R*V - V // for the broadcasts and the widening
	if fuse != nil {
		free--
	}
	if free < 1 {
		panic("matMul: block needs too many registers")
	}
	vb := 4 * l.lanes // bytes of one vector
	step := V * vb    // bytes of x per reduction step
	G := l.lanes      // columns per fill group
	iters := G / mmUnroll
	if fuse != nil && R != 3*iters {
		panic("matMul: the fill walks three rows per iteration")
	}

	// The row block's pointers live in the argument slots between blocks,
	// which leaves registers for the fill's.
	Label("block")
	{
		// The block's outputs, read or overwritten at the end, are
		// fetched meanwhile: they were last touched a whole k-chunk ago
		// (measured 0-7% faster in place at T=256).
		ldy := Load(Param("ldy"), GP64())
		SHLQ(U8(2), ldy)
		p := Load(Param("y"), GP64())
		for r := 0; r < R; r++ {
			for v := 0; v < V; v++ {
				PREFETCHT0(Mem{Base: p, Disp: v * vb})
			}
			ADDQ(ldy, p)
		}
	}
	x := Load(Param("x"), GP64())
	ldw := Load(Param("ldw"), GP64())
	SHLQ(U8(2), ldw)
	w := Load(Param("w"), GP64())
	ws := rowBases(w, ldw, R)
	k := Load(Param("k"), GP64())

	acc := func(r, v int) VecPhysical { return l.reg(r*V + v) }
	xr := make([]VecPhysical, V)
	for v := range xr {
		xr[v] = l.reg(R*V + v)
	}
	// Two broadcast registers when there is room, so that consecutive
	// rows do not wait on one register's renaming.
	bc := []VecPhysical{l.reg(R*V + V)}
	if free >= 2 {
		bc = append(bc, l.reg(R*V+V+1))
	}
	for r := 0; r < R; r++ {
		for v := 0; v < V; v++ {
			l.zero(acc(r, v))
		}
	}

	// One reduction step: x at xoff bytes, weight column at woff bytes.
	stepAt := func(xoff, woff, i int) {
		for v := 0; v < V; v++ {
			VMOVUPS(Mem{Base: x, Disp: xoff + v*vb}, xr[v])
		}
		for r := 0; r < R; r++ {
			b := bc[(i*R+r)%len(bc)]
			VBROADCASTSS(rowAddr(ws, ldw, r, woff), b)
			for v := 0; v < V; v++ {
				VFMADD231PS(b, xr[v], acc(r, v))
			}
		}
	}
	advance := func(steps int) {
		ADDQ(U32(steps*step), x)
		for _, p := range ws {
			ADDQ(U32(steps*4), p)
		}
	}

	if fuse != nil {
		// The fill: group g+mmAhead's columns of the block's rows are
		// widened into the panel while group g's are used, three rows
		// per loop iteration; the next row block's same columns are
		// prefetched meanwhile, a block ahead of their use (the rows
		// are consecutive, so the last block prefetches the next
		// panel's first).
		d := *fuse
		lds := Load(Param("lds"), GP64())
		if d.size == 4 {
			SHLQ(U8(2), lds)
		} else {
			SHLQ(U8(1), lds)
		}
		ldsR := GP64()
		IMUL3Q(U32(R), lds, ldsR)
		ps := Load(Param("src"), GP64())
		kg := Load(Param("groups"), GP64())
		q := GP64()
		// fill3 widens rows 3i..3i+2 from q into the panel woff bytes
		// from the weight pointers, and moves q three rows on.
		fill3 := func(i, woff int) {
			for j := 0; j < 3; j++ {
				// Physical, clear of the accumulators, tokens and
				// broadcasts: avo's allocator does not know of those.
				v := l.reg(nregs - 1 - j%min(3, nregs-(R*V+V+len(bc))))
				m := Mem{Base: q}
				if j > 0 {
					m.Index, m.Scale = lds, uint8(j)
				}
				loadWidened(l, d, m, v)
				VMOVUPS(v, rowAddr(ws, ldw, 3*i+j, woff))
			}
			LEAQ(Mem{Base: q, Index: lds, Scale: 2}, q)
			ADDQ(lds, q)
		}
		for a := 0; a < mmAhead; a++ {
			// The first groups (or all of them, when there are fewer).
			CMPQ(kg, U8(a))
			JE(LabelRef("prologue"))
			MOVQ(ps, q)
			for i := 0; i < R/3; i++ {
				fill3(i, a*G*4)
			}
			ADDQ(U32(G*d.size), ps)
		}
		Label("prologue")
		SUBQ(U8(mmAhead), kg)
		JLE(LabelRef("filled"))
		Label("group")
		MOVQ(ps, q)
		for u := 0; u < iters; u++ {
			pn := GP64()
			LEAQ(Mem{Base: q, Index: ldsR, Scale: 1}, pn)
			for j := 0; j < 3; j++ {
				m := Mem{Base: pn}
				if j > 0 {
					m.Index, m.Scale = lds, uint8(j)
				}
				PREFETCHT1(m)
			}
			for s := 0; s < mmUnroll; s++ {
				stepAt(s*step, s*4, s)
			}
			fill3(u, mmAhead*G*4-u*mmUnroll*4)
			advance(mmUnroll)
		}
		SUBQ(U32(G), k)
		ADDQ(U32(G*d.size), ps)
		DECQ(kg)
		JNZ(LabelRef("group"))
		Label("filled")
	}

	SUBQ(U8(mmUnroll), k)
	JL(LabelRef("tail"))
	Label("loop")
	for u := 0; u < mmUnroll; u++ {
		stepAt(u*step, u*4, u)
	}
	advance(mmUnroll)
	SUBQ(U8(mmUnroll), k)
	JGE(LabelRef("loop"))
	Label("tail")
	ADDQ(U8(mmUnroll), k)
	JZ(LabelRef("done"))
	Label("one")
	stepAt(0, 0, 0)
	advance(1)
	DECQ(k)
	JNZ(LabelRef("one"))

	Label("done")
	ldy := Load(Param("ldy"), GP64())
	SHLQ(U8(2), ldy)
	y := Load(Param("y"), GP64())
	ys := rowBases(y, ldy, R)
	add := Load(Param("add"), GP64())
	epilogue := func(doAdd bool) {
		for r := 0; r < R; r++ {
			for v := 0; v < V; v++ {
				m := rowAddr(ys, ldy, r, v*vb)
				if doAdd {
					VADDPS(m, acc(r, v), acc(r, v))
				}
				VMOVUPS(acc(r, v), m)
			}
		}
	}
	CMPQ(add, U8(0))
	JNE(LabelRef("accumulate"))
	epilogue(false)
	JMP(LabelRef("next"))
	Label("accumulate")
	epilogue(true)

	Label("next")
	// On to the next R rows of weights, outputs (and fill source).
	next := func(ptr, ld string, size int) {
		d := Load(Param(ld), GP64())
		IMUL3Q(U32(size*R), d, d)
		p := Load(Param(ptr), GP64())
		ADDQ(d, p)
		Store(p, Param(ptr))
	}
	next("w", "ldw", 4)
	next("y", "ldy", 4)
	if fuse != nil {
		next("src", "lds", fuse.size)
	}
	b := Load(Param("blocks"), GP64())
	DECQ(b)
	Store(b, Param("blocks"))
	JNZ(LabelRef("block"))
	VZEROUPPER()
	RET()
}

// genWidenPanel writes wp<Dtype><Level>(dst, ldd, src, lds, k, rows, pfd):
// for each of rows rows, dst[r*ldd+i] = float32(src[r*lds+i]) for i < k (k
// a multiple of the vector width; the Go side does the rest), prefetching
// src + pfd bytes along the way (pfd: some rows ahead).
//
// It brings a panel of weights into the float32 buffer the microkernels
// read. The rows' segments are short (one k-chunk) and far apart, too
// short for the hardware prefetcher to pick each one up in time, so
// without the prefetch the widening waits on one row's misses at a time.
func genWidenPanel() {
	for _, l := range levels {
		for _, d := range []dtype{f32, bf16, f16} {
			widenPanel(l, d)
		}
	}
}

func widenPanel(l level, d dtype) {
	fname := name("wp"+d.name, l)
	TEXT(fname, NOSPLIT, fmt.Sprintf("func(dst *float32, ldd int, src %s, lds int, k int, rows int, pfd int)", d.gotyp))
	Pragma("noescape") // pointers are not retained
	Doc(fname + " widens (or copies) the first k weights of rows rows into a float32 panel, prefetching pfd bytes ahead; k is a multiple of the vector width.")
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd)
	lds := Load(Param("lds"), GP64())
	if d.size == 4 {
		SHLQ(U8(2), lds)
	} else {
		SHLQ(U8(1), lds)
	}
	rows := Load(Param("rows"), GP64())
	pfd := Load(Param("pfd"), GP64())
	W := l.lanes
	sb := W * d.size // source bytes per vector
	Label("row")
	k := Load(Param("k"), GP64())
	i := GP64()
	XORQ(i, i)
	pf := GP64()
	LEAQ(Mem{Base: src, Index: pfd, Scale: 1}, pf)
	one := func(off int) {
		v := l.vec()
		loadWidened(l, d, Mem{Base: src, Index: i, Scale: uint8(d.size), Disp: off * sb}, v)
		VMOVUPS(v, Mem{Base: dst, Index: i, Scale: 4, Disp: off * 4 * W})
	}
	lim := GP64()
	MOVQ(k, lim)
	SUBQ(U32(2*W), lim)
	Label("two")
	CMPQ(i, lim)
	JG(LabelRef("tail"))
	for b := 0; b < 2*sb; b += 64 {
		PREFETCHT0(Mem{Base: pf, Index: i, Scale: uint8(d.size), Disp: b})
	}
	one(0)
	one(1)
	ADDQ(U32(2*W), i)
	JMP(LabelRef("two"))
	Label("tail") // k is a multiple of W: at most one vector is left
	CMPQ(i, k)
	JGE(LabelRef("next"))
	one(0)
	Label("next")
	ADDQ(ldd, dst)
	ADDQ(lds, src)
	DECQ(rows)
	JNZ(LabelRef("row"))
	VZEROUPPER()
	RET()
}

// mmTables returns the Go source of the microkernel tables.
func mmTables() string {
	var b strings.Builder
	b.WriteString("// Code generated by kernels/_gen. DO NOT EDIT.\n\n//go:build amd64 && !noasm\n\npackage kernels\n\n")
	for _, l := range levels {
		sh := mmShapeOf(l)
		fmt.Fprintf(&b, "// mmKernels%s is the %s matrix product: %d-row microkernels for 1..%d token vectors, its transpose and its panel fills.\n",
			l.name, l.name, sh.R, sh.V)
		fmt.Fprintf(&b, "var mmKernels%s = mmKernels{\n\trows: %d, lanes: %d,\n\ttab: []mmFn{nil", l.name, sh.R, l.lanes)
		for v := 1; v <= sh.V; v++ {
			fmt.Fprintf(&b, ", %s", mmName(l, sh.R, v))
		}
		fmt.Fprintf(&b, "},\n\ttr: tr%s, trd: trd%s,\n\twpF32: wpF32%s, wpBF16: wpBF16%s, wpF16: wpF16%s,\n", l.name, l.name, l.name, l.name, l.name)
		for _, d := range []dtype{f32, bf16, f16} {
			fmt.Fprintf(&b, "\ttabW%s: []func(x *float32, w *float32, ldw int, y *float32, ldy int, k int, add int, blocks int, src %s, lds int, groups int){nil", d.name, d.gotyp)
			for v := 1; v <= sh.V; v++ {
				fmt.Fprintf(&b, ", mmW%s_%dx%d%s", d.name, sh.R, v*l.lanes, l.name)
			}
			b.WriteString("},\n")
		}
		b.WriteString("}\n\n")
	}
	return b.String()
}
