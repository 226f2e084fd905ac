package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genMatVec writes mv<Dtype><Level>(y, w, x, n, rows, ldw): for each of rows
// weight rows (ldw elements apart) y[r] = sum over i < n of x[i]*w[r][i].
// n must be a multiple of the lane count; the Go wrapper adds the tail.
// Four rows share each load of x; several accumulators per row hide the FMA
// latency; the weights are prefetched ahead of the hardware prefetcher.
func genMatVec() {
	for _, l := range levels {
		for _, d := range []dtype{f32, bf16, f16} {
			matVec(l, d)
		}
	}
}

// prefetchAhead is how far ahead (bytes) each weight stream is prefetched
// into L1, prefetchFar how far into L2 (which keeps more misses in flight
// than L1's fill buffers). Measured on the target machine, bf16 14336x4096
// from DRAM: T0 alone 512-4096 B at best 15.0-15.4 GB/s; T0 1536 with T1
// 8192 15.7-16.0 GB/s.
var (
	prefetchAhead = 1536
	prefetchFar   = 8192
)

func matVec(l level, d dtype) {
	fname := name("mv"+d.name, l)
	TEXT(fname, NOSPLIT, fmt.Sprintf("func(y *float32, w %s, x *float32, n, rows, ldw int)", d.gotyp))
	Pragma("noescape") // pointers are not retained
	Doc(fname + " computes rows dot products of x with weight rows ldw apart; n is a multiple of the vector width.")
	y := Load(Param("y"), GP64())
	w := Load(Param("w"), GP64())
	x := Load(Param("x"), GP64())
	n := Load(Param("n"), GP64())
	rows := Load(Param("rows"), GP64())
	ldw := Load(Param("ldw"), GP64())
	if d.size == 4 {
		SHLQ(U8(2), ldw)
	} else {
		SHLQ(U8(1), ldw)
	}
	unroll := 4
	if !l.wide {
		unroll = 2
	}
	W := l.lanes
	scaleW := uint8(d.size)
	wbytes := W * d.size // weight bytes per vector

	body := func(nr, u int, ptrs []Register, acc [][]VecVirtual, i Register) {
		xs := make([]VecVirtual, u)
		for k := 0; k < u; k++ {
			xs[k] = l.vec()
			VMOVUPS(Mem{Base: x, Index: i, Scale: 4, Disp: 4 * W * k}, xs[k])
		}
		for r := 0; r < nr; r++ {
			if u > 1 && prefetchAhead > 0 {
				for off := 0; off < u*wbytes; off += 64 {
					PREFETCHT0(Mem{Base: ptrs[r], Index: i, Scale: scaleW, Disp: prefetchAhead + off})
					if prefetchFar > 0 {
						PREFETCHT1(Mem{Base: ptrs[r], Index: i, Scale: scaleW, Disp: prefetchFar + off})
					}
				}
			}
			for k := 0; k < u; k++ {
				m := Mem{Base: ptrs[r], Index: i, Scale: scaleW, Disp: wbytes * k}
				if d == f32 {
					VFMADD231PS(m, xs[k], acc[r][k])
					continue
				}
				t := l.vec()
				loadWidened(l, d, m, t)
				VFMADD231PS(t, xs[k], acc[r][k])
			}
		}
	}

	// block computes nr rows whose weights start at ptrs and whose
	// results go to ys.
	block := func(nr int, lbl string, ptrs []Register, ys []Mem) {
		acc := make([][]VecVirtual, nr)
		for r := range acc {
			acc[r] = make([]VecVirtual, unroll)
			for k := range acc[r] {
				acc[r][k] = l.vec()
				l.zero(acc[r][k])
			}
		}
		i := GP64()
		XORQ(i, i)
		lim := GP64()
		MOVQ(n, lim)
		SUBQ(U32(unroll*W), lim)
		Label(lbl + "_big")
		CMPQ(i, lim)
		JG(LabelRef(lbl + "_one"))
		body(nr, unroll, ptrs, acc, i)
		ADDQ(U32(unroll*W), i)
		JMP(LabelRef(lbl + "_big"))
		Label(lbl + "_one")
		CMPQ(i, n)
		JGE(LabelRef(lbl + "_sum"))
		body(nr, 1, ptrs, acc, i)
		ADDQ(U32(W), i)
		JMP(LabelRef(lbl + "_one"))
		Label(lbl + "_sum")
		for r := 0; r < nr; r++ {
			for k := 1; k < unroll; k++ {
				VADDPS(acc[r][k], acc[r][0], acc[r][0])
			}
			s := reduceLow(l, acc[r][0])
			VMOVSS(s, ys[r])
		}
	}

	// The four rows computed together are q = rows/4 apart (r, r+q,
	// r+2q, r+3q), so each of the four weight streams runs through
	// consecutive rows, contiguous in memory: the prefetches ahead of the
	// end of a row fetch the start of that stream's next row.
	q := GP64()
	MOVQ(rows, q)
	SHRQ(U8(2), q)
	qw := GP64() // q rows of weights, in bytes
	MOVQ(q, qw)
	IMULQ(ldw, qw)
	p1, p2, p3 := GP64(), GP64(), GP64()
	LEAQ(Mem{Base: w, Index: qw, Scale: 1}, p1)
	LEAQ(Mem{Base: p1, Index: qw, Scale: 1}, p2)
	LEAQ(Mem{Base: p2, Index: qw, Scale: 1}, p3)
	qy := GP64() // q results, in bytes
	MOVQ(q, qy)
	SHLQ(U8(2), qy)
	y3 := GP64()
	LEAQ(Mem{Base: y, Index: qy, Scale: 2}, y3)
	ADDQ(qy, y3)
	Label("rows4")
	TESTQ(q, q)
	JZ(LabelRef("rows1"))
	block(4, "r4", []Register{w, p1, p2, p3},
		[]Mem{{Base: y}, {Base: y, Index: qy, Scale: 1}, {Base: y, Index: qy, Scale: 2}, {Base: y3}})
	ADDQ(U8(4), y)
	ADDQ(U8(4), y3)
	ADDQ(ldw, w)
	ADDQ(ldw, p1)
	ADDQ(ldw, p2)
	ADDQ(ldw, p3)
	DECQ(q)
	JMP(LabelRef("rows4"))
	// The rows%4 left over follow the last quarter.
	Label("rows1")
	ANDQ(U8(3), rows)
	Label("rows1loop")
	TESTQ(rows, rows)
	JZ(LabelRef("done"))
	block(1, "r1", []Register{p3}, []Mem{{Base: y3}})
	ADDQ(U8(4), y3)
	ADDQ(ldw, p3)
	DECQ(rows)
	JMP(LabelRef("rows1loop"))
	Label("done")
	VZEROUPPER()
	RET()
}
