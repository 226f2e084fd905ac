package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genTranspose writes tr<Level>(dst, ldd, src, lds, blocks): blocks
// square transposes of lanes x lanes floats, block b reading rows of src
// (lds floats apart) from column b*lanes and writing rows of dst (ldd
// floats apart) from row b*lanes:
//
//	dst[(b*lanes+c)*ldd+r] = src[r*lds+b*lanes+c] for r, c < lanes.
//
// The matrix product uses it to pack activations k-major and to turn its
// transposed result back (see matmul_amd64.go). That is O((T+rows)*n)
// work against O(T*rows*n) FMAs, but the same copies as scalar Go loops
// took 4-7% of a 4096x4096 bf16 product at T=512, and these about 1.5%.
//
// trd<Level> goes down instead: block b reads rows b*lanes.. of src and
// writes columns b*lanes.. of dst. Either keeps to a few pages on the side
// whose rows are far apart, where the other would touch lanes new pages
// per block (Transpose picks by the strides).
func genTranspose() {
	for _, l := range levels {
		transpose(l, false)
		transpose(l, true)
	}
}

func transpose(l level, down bool) {
	fname := name("tr", l)
	doc := fmt.Sprintf("%s transposes blocks consecutive %dx%d blocks along the rows of src into consecutive row blocks of dst.", fname, l.lanes, l.lanes)
	if down {
		fname = name("trd", l)
		doc = fmt.Sprintf("%s transposes blocks consecutive %dx%d blocks down the columns of src into consecutive column blocks of dst.", fname, l.lanes, l.lanes)
	}
	TEXT(fname, NOSPLIT, "func(dst *float32, ldd int, src *float32, lds int, blocks int)")
	Pragma("noescape") // pointers are not retained
	Doc(doc)
	L := l.lanes
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	ldd := Load(Param("ldd"), GP64())
	SHLQ(U8(2), ldd)
	lds := Load(Param("lds"), GP64())
	SHLQ(U8(2), lds)
	blocks := Load(Param("blocks"), GP64())
	p := GP64()
	Label("block")
	// The rows of a block are visited in order from a pointer p moved
	// on by 3*ld every third row (indexing reaches at most 2*ld).
	rows := func(base, ld Register, n int, each func(r int, m Mem)) {
		MOVQ(base, p)
		for r := 0; r < n; r++ {
			if r > 0 && r%3 == 0 {
				LEAQ(Mem{Base: p, Index: ld, Scale: 2}, p)
				ADDQ(ld, p)
			}
			m := Mem{Base: p}
			if r%3 != 0 {
				m.Index, m.Scale = ld, uint8(r%3)
			}
			each(r, m)
		}
	}
	rs := make([]VecVirtual, L)
	rows(src, lds, L, func(r int, m Mem) {
		rs[r] = l.vec()
		VMOVUPS(m, rs[r])
	})
	// Stage 1: interleave pairs of rows; stage 2: 4x4 transposes within
	// every 128-bit lane. Then s[g*4+c] holds, in 128-bit lane j, rows
	// 4g..4g+3 of column 4j+c.
	t := make([]VecVirtual, L)
	for i := 0; i < L; i += 2 {
		t[i], t[i+1] = l.vec(), l.vec()
		VUNPCKLPS(rs[i+1], rs[i], t[i])
		VUNPCKHPS(rs[i+1], rs[i], t[i+1])
	}
	s := make([]VecVirtual, L)
	for g := 0; g < L; g += 4 {
		for c := 0; c < 4; c++ {
			s[g+c] = l.vec()
		}
		VSHUFPS(U8(0x44), t[g+2], t[g], s[g])
		VSHUFPS(U8(0xee), t[g+2], t[g], s[g+1])
		VSHUFPS(U8(0x44), t[g+3], t[g+1], s[g+2])
		VSHUFPS(U8(0xee), t[g+3], t[g+1], s[g+3])
	}
	out := make([]VecVirtual, L)
	if !l.wide {
		// Columns c and c+4 from the low and high lanes of row groups 0 and 1.
		for c := 0; c < 4; c++ {
			out[c], out[c+4] = l.vec(), l.vec()
			VPERM2F128(U8(0x20), s[4+c], s[c], out[c])
			VPERM2F128(U8(0x31), s[4+c], s[c], out[c+4])
		}
	} else {
		// u[c] = [g0 lane0, g0 lane2, g1 lane0, g1 lane2] of column c
		// (even lanes: columns c and c+8) and u[c+4] the odd lanes
		// (columns c+4 and c+12), for groups 0,1 in u[0..7] and 2,3 in
		// u[8..15]; then the same pairing across the two halves.
		u := make([]VecVirtual, L)
		for h := 0; h < 2; h++ {
			for c := 0; c < 4; c++ {
				a, b := s[8*h+c], s[8*h+4+c]
				u[8*h+c], u[8*h+4+c] = l.vec(), l.vec()
				VSHUFF32X4(U8(0x88), b, a, u[8*h+c])
				VSHUFF32X4(U8(0xdd), b, a, u[8*h+4+c])
			}
		}
		for c := 0; c < 8; c++ {
			out[c], out[c+8] = l.vec(), l.vec()
			VSHUFF32X4(U8(0x88), u[8+c], u[c], out[c])
			VSHUFF32X4(U8(0xdd), u[8+c], u[c], out[c+8])
		}
	}
	rows(dst, ldd, L, func(c int, m Mem) { VMOVUPS(out[c], m) })
	if down {
		ADDQ(U8(4*L), dst)
		MOVQ(lds, p)
		SHLQ(U8(log2(L)), p)
		ADDQ(p, src)
	} else {
		ADDQ(U8(4*L), src)
		MOVQ(ldd, p)
		SHLQ(U8(log2(L)), p)
		ADDQ(p, dst)
	}
	DECQ(blocks)
	JNZ(LabelRef("block"))
	VZEROUPPER()
	RET()
}

func log2(n int) int {
	k := 0
	for 1<<k < n {
		k++
	}
	return k
}
