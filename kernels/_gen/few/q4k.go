package main

import "fmt"

// The Q4_K few-token kernels: 16 weight rows (lanes are rows, as in the
// Q4_0 ones) by up to 8 tokens of Q8_K activations (quantk.go's layout:
// 256 quants, the 32-sums spread at 288 in min order, d at 320; 384
// bytes a super-block). Per super-block a transpose of its first 16 bytes
// gives each row's d, dmin and 12 scale bytes, unpacked into the 8
// sub-block scales (extracted per sub-block) and the 8 mins (paired as
// int16 for VPDPWSSD with the 32-sums); per 64-value chunk two transposes
// give the 32 code bytes, the low nibbles sub-block 2c and the high ones
// 2c+1 (the raw bytes wait on the stack). Each token's sub-block sum is
// 8 VPDPBUSD, times the sub-block's scale (VPMULLD) into its super-block
// int sum; at the super-block's end d·da times that sum, less dmin·da
// times the min products, goes into the token's f32 result: ggml's
// integer sums, scaled in float per super-block.

// Frame (hardware SP offsets).
const (
	kfMins   = 0    // 4 zmm: the min pairs (m0,m1) .. (m6,m7)
	kfD      = 256  // d, f32
	kfDmin   = 320  // dmin, f32
	kfScLo   = 384  // scale bytes 0-3 (sub-blocks 0-3) of each row
	kfScHi   = 448  // sub-blocks 4-7
	kfRaw    = 512  // 8 zmm: a chunk's code bytes
	kfShuf01 = 1024 // VPSHUFB index: bytes 0, 1 of each dword to words
	kfShuf23 = 1088 // bytes 2, 3
	kfC3F    = 1152 // 0x3f3f3f3f
	kfC30    = 1156 // 0x30303030
	kfC10    = 1160 // 0x10101010
	kfQh     = 1216 // Q5_K: 8 zmm, its 32 qh bytes
	kfSize   = 1216
	kfSize5  = 1728
)

// q4kMaxTokens is the most tokens one Q4_K kernel takes: 8 f32 results
// and 8 int sums, with 8 registers of codes.
const q4kMaxTokens = 8

// q4kTok is token t's entry at off of its current activation super-block
// (DI token 0; R10 apart, R11 = 3·R10, R12 = DI + 4·R10).
func q4kTok(t, off int) string {
	base := "DI"
	if t >= 4 {
		base, t = "R12", t-4
	}
	idx := [4]string{"", "(R10*1)", "(R10*2)", "(R11*1)"}[t]
	return fmt.Sprintf("%d(%s)%s", off, base, idx)
}

// q4kSubBlock runs sub-block j (codes in Z0-Z7) for nt tokens.
func q4kSubBlock(j, nt int) {
	sc := kfScLo
	if j >= 4 {
		sc = kfScHi
	}
	p("VPSLLD $%d, %d(SP), Z29", 24-8*(j%4), sc)
	p("VPSRLD $24, Z29, Z29")
	for t := 0; t < nt; t++ {
		s := fmt.Sprintf("Z%d", 24+t%4)
		p("VPXORD %s, %s, %s", s, s, s)
		for k := 0; k < 8; k++ {
			p("VPDPBUSD.BCST %s, Z%d, %s", q4kTok(t, 32*j+4*k), k, s)
		}
		if j == 0 {
			p("VPMULLD Z29, %s, Z%d", s, 16+t)
		} else {
			p("VPMULLD Z29, %s, %s", s, s)
			p("VPADDD %s, Z%d, Z%d", s, 16+t, 16+t)
		}
	}
}

func kernelQ4K(nt int) { kernelQ45K(nt, false) }

func kernelQ5K(nt int) { kernelQ45K(nt, true) }

// kernelQ45K writes the Q4_K kernel for nt tokens, or with q5 the Q5_K
// one: the same but for its block's qh[32] at 16 (the codes at 48), whose
// bits 2c and 2c+1 are the fifth bits of chunk c's two sub-blocks.
func kernelQ45K(nt int, q5 bool) {
	ty, size, qs, bytes := "Q4_K", kfSize, 16, 144
	if q5 {
		ty, size, qs, bytes = "Q5_K", kfSize5, 48, 176
	}
	name := fmt.Sprintf("few%sT%d", ty, nt)
	fmt.Fprintf(&b, "// func %s(w *byte, rb int, a *byte, as int, nb int, y *float32, ldy int)\n", name)
	fmt.Fprintf(&b, "TEXT ·%s(SB), $%d-56\n", name, size)
	p("MOVQ w+0(FP), SI")
	prefetchFlag()
	p("MOVQ rb+8(FP), R13")
	p("MOVQ a+16(FP), DI")
	p("MOVQ as+24(FP), R10")
	p("MOVQ nb+32(FP), CX")
	p("LEAQ (R10)(R10*2), R11")
	p("LEAQ (DI)(R10*4), R12")
	p("LEAQ (R13)(R13*2), BX")
	p("LEAQ (R13)(R13*4), DX")
	p("LEAQ (BX)(R13*4), R8")
	p("LEAQ (SI)(R13*8), R9")
	p("MOVQ R13, R15")
	p("SHLQ $4, R15")
	p("ADDQ SI, R15")
	p("MOVL $0x0f0f0f0f, AX")
	p("VPBROADCASTD AX, Z28")
	p("MOVL $0x3f3f3f3f, %d(SP)", kfC3F)
	p("MOVL $0x30303030, %d(SP)", kfC30)
	if q5 {
		p("MOVL $0x10101010, %d(SP)", kfC10)
	}
	for d := 0; d < 16; d++ {
		l := 4 * (d % 4)
		p("MOVL $0x%08x, %d(SP)", 0x80<<24|(l+1)<<16|0x80<<8|l, kfShuf01+4*d)
		p("MOVL $0x%08x, %d(SP)", 0x80<<24|(l+3)<<16|0x80<<8|(l+2), kfShuf23+4*d)
	}
	for t := 0; t < nt; t++ {
		p("VPXORD Z%d, Z%d, Z%d", 8+t, 8+t, 8+t)
	}
	label(name + "_block")
	// The super-block's head: d | dmin << 16, then the 12 scale bytes.
	trans(0, [4]string{"Z0", "Z1", "Z2", "Z3"})
	p("VPMOVDW Z0, Y29")
	p("VCVTPH2PS Y29, Z29")
	p("VMOVDQU64 Z29, %d(SP)", kfD)
	p("VPSRLD $16, Z0, Z0")
	p("VPMOVDW Z0, Y0")
	p("VCVTPH2PS Y0, Z0")
	p("VMOVDQU64 Z0, %d(SP)", kfDmin)
	// ggml's get_scale_min_k4, four bytes at a time: sub-blocks 0-3 take
	// the low 6 bits of bytes 0-3 (scales) and 4-7 (mins); 4-7 the nibbles
	// of bytes 8-11 with the top 2 bits of bytes 0-3 / 4-7 above them.
	p("VPANDD.BCST %d(SP), Z1, Z4", kfC3F)
	p("VMOVDQU64 Z4, %d(SP)", kfScLo)
	p("VPANDD.BCST %d(SP), Z2, Z5", kfC3F)
	p("VPSRLD $2, Z1, Z6")
	p("VPANDD.BCST %d(SP), Z6, Z6", kfC30)
	p("VPANDD Z28, Z3, Z7")
	p("VPORD Z6, Z7, Z7")
	p("VMOVDQU64 Z7, %d(SP)", kfScHi)
	p("VPSRLD $4, Z3, Z3")
	p("VPANDD Z28, Z3, Z3")
	p("VPSRLD $2, Z2, Z6")
	p("VPANDD.BCST %d(SP), Z6, Z6", kfC30)
	p("VPORD Z6, Z3, Z3")
	for i, m := range []struct {
		src  string
		shuf int
	}{{"Z5", kfShuf01}, {"Z5", kfShuf23}, {"Z3", kfShuf01}, {"Z3", kfShuf23}} {
		p("VPSHUFB %d(SP), %s, Z6", m.shuf, m.src)
		p("VMOVDQU64 Z6, %d(SP)", kfMins+64*i)
	}
	if q5 {
		trans(16, [4]string{"Z0", "Z1", "Z2", "Z3"})
		trans(32, [4]string{"Z4", "Z5", "Z6", "Z7"})
		for k := 0; k < 8; k++ {
			p("VMOVDQU64 Z%d, %d(SP)", k, kfQh+64*k)
		}
	}
	// fifth ORs bit bit of the qh bytes, moved to bit 4, into code k.
	fifth := func(k, bit int) {
		switch sh := 4 - bit; {
		case sh > 0:
			p("VPSLLD $%d, %d(SP), Z24", sh, kfQh+64*k)
		case sh < 0:
			p("VPSRLD $%d, %d(SP), Z24", -sh, kfQh+64*k)
		default:
			p("VMOVDQU64 %d(SP), Z24", kfQh+64*k)
		}
		p("VPANDD.BCST %d(SP), Z24, Z24", kfC10)
		p("VPORD Z24, Z%d, Z%d", k, k)
	}
	for c := 0; c < 4; c++ {
		// The next 16 rows' bytes of this chunk's share (16 × bytes / 4).
		prefetchNext(16 * bytes / 4)
		trans(qs+32*c, [4]string{"Z0", "Z1", "Z2", "Z3"})
		trans(qs+16+32*c, [4]string{"Z4", "Z5", "Z6", "Z7"})
		for k := 0; k < 8; k++ {
			p("VMOVDQU64 Z%d, %d(SP)", k, kfRaw+64*k)
			p("VPANDD Z28, Z%d, Z%d", k, k)
			if q5 {
				fifth(k, 2*c)
			}
		}
		q4kSubBlock(2*c, nt)
		for k := 0; k < 8; k++ {
			p("VPSRLD $4, %d(SP), Z%d", kfRaw+64*k, k)
			p("VPANDD Z28, Z%d, Z%d", k, k)
			if q5 {
				fifth(k, 2*c+1)
			}
		}
		q4kSubBlock(2*c+1, nt)
	}
	for i := 0; i < 4; i++ {
		p("VMOVDQU64 %d(SP), Z%d", kfMins+64*i, i)
	}
	p("VMOVDQU64 %d(SP), Z4", kfD)
	p("VMOVDQU64 %d(SP), Z5", kfDmin)
	for t := 0; t < nt; t++ {
		s := fmt.Sprintf("Z%d", 24+t%4)
		p("VPXORD %s, %s, %s", s, s, s)
		for i, off := range []int{296, 300, 312, 316} {
			p("VPDPWSSD.BCST %s, Z%d, %s", q4kTok(t, off), i, s)
		}
		p("VCVTDQ2PS Z%d, Z%d", 16+t, 16+t)
		p("VCVTDQ2PS %s, %s", s, s)
		p("VMULPS.BCST %s, Z4, Z6", q4kTok(t, 320))
		p("VMULPS.BCST %s, Z5, Z7", q4kTok(t, 320))
		p("VFMADD231PS Z6, Z%d, Z%d", 16+t, 8+t)
		p("VFNMADD231PS Z7, %s, Z%d", s, 8+t)
	}
	p("ADDQ $%d, SI", bytes)
	p("ADDQ $%d, R9", bytes)
	p("ADDQ $384, DI")
	p("ADDQ $384, R12")
	p("DECQ CX")
	p("JNZ %s_block", name)
	storeResults(nt, "y+40(FP)", "ldy+48(FP)")
}
