package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// level describes one vector width: avx2 works on ymm registers (8 floats),
// avx512 on zmm (16 floats).
type level struct {
	name  string // suffix of the generated functions
	lanes int    // float32 lanes per vector
	wide  bool   // zmm
}

var (
	avx2   = level{"AVX2", 8, false}
	avx512 = level{"AVX512", 16, true}
	levels = []level{avx2, avx512}
)

// vec allocates a virtual vector register of the level's width.
func (l level) vec() VecVirtual {
	if l.wide {
		return ZMM()
	}
	return YMM()
}

// zero clears a vector register; VXORPS on zmm needs AVX512DQ, which the
// avx512 level does not require, so zmm uses VPXORD.
func (l level) zero(v Register) {
	if l.wide {
		VPXORD(v, v, v)
	} else {
		VXORPS(v, v, v)
	}
}

// dtype is the element type of the weights.
type dtype struct {
	name  string
	size  int    // bytes per element
	gotyp string // Go pointer type of the weight argument
}

var (
	f32  = dtype{"F32", 4, "*float32"}
	bf16 = dtype{"BF16", 2, "*uint16"}
	f16  = dtype{"F16", 2, "*uint16"}
)

// loadWidened loads l.lanes weights of type d from m as float32 into dst
// (avo picks the memory operand's size from the register).
func loadWidened(l level, d dtype, m Mem, dst Register) {
	switch d {
	case f32:
		VMOVUPS(m, dst)
	case bf16:
		// bfloat16 is the high half of a float32: zero-extend each 16-bit
		// value to 32 bits and shift it into the high half.
		VPMOVZXWD(m, dst)
		VPSLLD(U8(16), dst, dst)
	case f16:
		VCVTPH2PS(m, dst)
	}
}

// reduceLow sums the lanes of v into the lowest lane of the returned xmm
// register, with shuffles that also exist in EVEX form (VHADDPS does not,
// and the allocator may hand out X16-X31 at the avx512 level).
func reduceLow(l level, v VecVirtual) VecVirtual {
	var y VecVirtual
	if l.wide {
		y = YMM()
		VEXTRACTF64X4(U8(1), v, y)
		VADDPS(v.AsY(), y, y)
	} else {
		y = v
	}
	x := XMM()
	if l.wide {
		VEXTRACTF32X4(U8(1), y, x) // EVEX: y may be Y16-Y31
	} else {
		VEXTRACTF128(U8(1), y, x)
	}
	VADDPS(y.AsX(), x, x)
	t := XMM()
	VPERMILPS(U8(0x4e), x, t)
	VADDPS(t, x, x)
	VPERMILPS(U8(0xb1), x, t)
	VADDPS(t, x, x)
	return x
}

func name(base string, l level) string { return fmt.Sprintf("%s%s", base, l.name) }
