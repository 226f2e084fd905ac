// Command few writes kernels/few_amd64.s and its Go declarations
// (kernels/few_stubs_amd64.go): the AVX-512 VNNI few-token products of
// Q4_0 and Q8_0 weights (this file) and of Q4_K and Q5_K weights
// (q4k.go), the batched decode's matrix products.
//
// A panel product (panel.go) unpacks 32 weight rows into a panel in memory
// and runs the tokens over it four at a time; at 5-16 tokens the writing
// and rereading of the panel costs more than the products. These kernels
// unpack each block of 16 rows into registers instead and run every token
// over it at once: per block of 32 values, 16 row loads and 8 shuffles
// bring the 16 rows' codes into 8 zmm registers (lanes are rows, 4 codes
// each), 16 two-byte loads their fp16 scales, and each token then takes
// 8 VPDPBUSD (unsigned codes × its signed quants, broadcast), a
// conversion, a scale product and a multiply-add into its own
// accumulator. The weight bytes are read once per product, whatever the
// number of tokens.
//
// The codes are the unsigned operand: Q4_0's nibbles as stored (0-15),
// Q8_0's quants plus 128; each token's int32 sum starts at -8·Σq or
// -128·Σq of its block (ActPanel's sums' starts), so the sums are exact,
// Σ(w-8)·q and Σw·q, and the f32 scaling is the panel microkernel's: the
// scale product dw·da rounded, then one multiply-add, block by block. The
// pure-Go twin is the panel product's (panelKernelGo).
//
// At 8 tokens on Zen 5 the kernels are bound by the vector pipes that
// run VPDPBUSD and the float multiplies (64 and 16 of them per block of
// 16 rows), as removing each part in turn showed (L2, BenchmarkFewTokens,
// results wrong on purpose): without the 8 scale products Q4_0 ran 5-13%
// faster; without the 64 broadcast loads (register operands) Q4_0 0-8%,
// Q8_0 17-23%; two chains per token's sum instead of one, nothing (the
// kernel is not latency-bound). From DRAM (BenchmarkPanelCrossover2, two
// goroutines) Q4_0's 8-token product takes 1.02-1.05 ms against the
// one-token dot kernel's 0.94-0.97 and Q8_0's 1.69-1.91 against 1.30-1.58;
// prefetching every other line instead of every line took 1.6-3.1 ms,
// none 1.7-3.6, the 16 rows after the next 2.0-2.6 (Q8_0).
//
// On Zen 4 (2026-12-04, the same benchmark, Q4_0 at 8 tokens, three or
// four alternating rounds, GB/s of weights; the kernel 10.0-11.7) the
// VPDPBUSDs run at the VNNI ceiling's rate and the rest of a block does
// not overlap them: with half of the 64 removed the kernel read
// 16.6-17.5, so each costs 0.28 ns (the ceiling's 466 GOP/s on one
// thread: 0.27) and the other work ~8 ns of a block's ~25. No one part
// of that holds it: without the 12 VINSERTI32X4 loads 12.0-12.4, the 8
// unpacks 10.4-12.2, the shifts and masks 11.4-11.9, the prefetches
// 11.3-11.6, the scale products 10.7-11.1, the fp16 scale gather
// 9.5-11.7, with register operands for the broadcasts 10.2-11.7. Masked
// merging loads (VMOVDQU32 with K1-K3) in place of the inserts, exact,
// read 9.7-11.3. Nor is it the order: a pair of blocks with the second's
// unpacking (into Z16-Z23, scales Z30) spread among the first's tokens,
// exact, read 9.0-9.9 at 8 tokens, 15.0-18.4 at 4 (the kernels 10.0-10.9,
// 16.5-19.4): the other work, it seems, competes with VPDPBUSD for the
// vector pipes rather than waiting on the order. Removed in groups
// (four alternating rounds, 256×4096): the 64 VPDPBUSD with their sums'
// start broadcasts alone take 18.1 ns a block; with the 24 float
// instructions (8 VCVTDQ2PS, 8 VMULPS, 8 VFMADD231PS) 23.1; the whole
// kernel 25.8. Those 88 are the least an exact block of 8 tokens × 16
// rows issues (8 zmm sums, each converted, scaled and added), so the
// kernel runs at 90% of what Zen 4's pipes allow it: ~12.5 GB/s a core.
//
// Run through `go generate` in kernels/ (see few_amd64.go).
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

var (
	out   = flag.String("out", "../few_amd64.s", "assembly output file")
	stubs = flag.String("stubs", "../few_stubs_amd64.go", "Go declarations output file")
)

// maxTokens is the most tokens one kernel takes: 8 registers of codes, one
// accumulator per token, 8 for the scales and temporaries.
const maxTokens = 16

type qtype struct {
	name  string
	bytes int // block bytes
	// unroll is the blocks per loop step: the 16 rows are prefetched once
	// per step, so a step must not pass a cache line (Q4_0: 2 × 18 bytes;
	// Q8_0: 34).
	unroll int
}

var types = []qtype{{"Q4_0", 18, 2}, {"Q8_0", 34, 1}}

var b strings.Builder

func p(format string, args ...any) { fmt.Fprintf(&b, "\t"+format+"\n", args...) }
func label(l string)               { fmt.Fprintf(&b, "%s:\n", l) }

// Registers. General: SI rows 0-7 and R9 rows 8-15 of the current block
// (R13 = rb, BX = 3rb, DX = 5rb, R8 = 7rb: row i is SI or R9 plus one of
// 0, rb, 2rb, 3rb, 4rb, 5rb, 6rb, 7rb); DI the token blocks' quants (R10
// apart, R11 = 3·R10), AX their scales and CX their sums' starts (R12
// apart, R14 = 3·R12); R15 the next 16 rows, for the prefetches. R11
// also gathers the rows' scales.
//
// Vector: Z0-Z7 the block's codes (step j: values 4j..4j+3 of the 16
// rows), Z8-Z23 the tokens' f32 results, Z24-Z27 the tokens' int32 sums
// (and the transposes' temporaries), Z28 the byte mask (0x0f or 0x80),
// Z29 the rows' scales, Z31 the scale product.

// rowAddr is the address of row r (0-15) at off in the current block.
func rowAddr(off, r int) string {
	base := "SI"
	if r >= 8 {
		base, r = "R9", r-8
	}
	idx := [8]string{"", "(R13*1)", "(R13*2)", "(BX*1)", "(R13*4)", "(DX*1)", "(BX*2)", "(R8*1)"}[r]
	return fmt.Sprintf("%d(%s)%s", off, base, idx)
}

// tokAddr is the address of token t's entry at off from base (DI: quants,
// 16 bytes per step of 4 values; AX, CX: scales and sums, 16 bytes per
// block) for token blocks idx apart (R10 / R12) and three apart (R11 /
// R14).
func tokAddr(base string, off, t int) string {
	tb, s := t/4, t%4
	off += 4 * s
	switch tb {
	case 0:
		return fmt.Sprintf("%d(%s)", off, base)
	case 1, 2:
		idx := map[string]string{"DI": "R10", "AX": "R12", "CX": "R12"}[base]
		return fmt.Sprintf("%d(%s)(%s*%d)", off, base, idx, tb)
	default:
		idx := map[string]string{"DI": "R11", "AX": "R14", "CX": "R14"}[base]
		return fmt.Sprintf("%d(%s)(%s*1)", off, base, idx)
	}
}

// trans loads 16 bytes at off of the 16 rows, rows i, i+4, i+8, i+12 into
// the 128-bit lanes of z[i], and transposes the 4×4 words of each lane
// (through Z24-Z27): z[0..3] then hold words 0-3 of the rows, lane r row r.
func trans(off int, z [4]string) {
	for i := 0; i < 4; i++ {
		x := "X" + strings.TrimPrefix(z[i], "Z")
		p("VMOVDQU %s, %s", rowAddr(off, i), x)
		for l := 1; l < 4; l++ {
			p("VINSERTI32X4 $%d, %s, %s, %s", l, rowAddr(off, i+4*l), z[i], z[i])
		}
	}
	p("VPUNPCKLDQ %s, %s, Z24", z[1], z[0])
	p("VPUNPCKHDQ %s, %s, Z25", z[1], z[0])
	p("VPUNPCKLDQ %s, %s, Z26", z[3], z[2])
	p("VPUNPCKHDQ %s, %s, Z27", z[3], z[2])
	p("VPUNPCKLQDQ Z26, Z24, %s", z[0])
	p("VPUNPCKHQDQ Z26, Z24, %s", z[1])
	p("VPUNPCKLQDQ Z27, Z25, %s", z[2])
	p("VPUNPCKHQDQ Z27, Z25, %s", z[3])
}

// block is one block of the 16 rows for nt tokens, prefetching the next
// rows' bytes first when prefetch is set.
func block(ty qtype, nt int, prefetch bool) {
	if prefetch {
		// The next 16 rows follow these in memory: one step's worth of
		// their bytes (the 16 rows' bytes of this step's blocks), line by
		// line, so that DRAM sees one stream in order. (Prefetching along
		// each of the 16 rows instead, 512-4096 bytes ahead, read 10-14
		// GB/s from DRAM on one thread, against 19-20 this way; on Zen 5
		// PREFETCHT0 was steadier than T1 or T2 on two threads; on Zen 4
		// T1 is faster: see prefetchNext.)
		prefetchNext(16 * ty.bytes * ty.unroll)
	}
	switch ty.name {
	case "Q4_0":
		// Word k of a row: bytes 4k..4k+3, whose low nibbles are values
		// 4k..4k+3 (step k) and high nibbles 16+4k.. (step 4+k).
		trans(2, [4]string{"Z0", "Z1", "Z2", "Z3"})
		for k := 0; k < 4; k++ {
			p("VPSRLD $4, Z%d, Z%d", k, 4+k)
			p("VPANDD Z28, Z%d, Z%d", k, k)
			p("VPANDD Z28, Z%d, Z%d", 4+k, 4+k)
		}
	case "Q8_0":
		trans(2, [4]string{"Z0", "Z1", "Z2", "Z3"})
		trans(18, [4]string{"Z4", "Z5", "Z6", "Z7"})
		for k := 0; k < 8; k++ {
			p("VPXORD Z28, Z%d, Z%d", k, k)
		}
	}
	// The rows' fp16 scales: the block's first 2 bytes of each row,
	// gathered in R11, four rows to the register (16-bit loads and
	// shifts), then two moves and an insert bring them over: those integer
	// instructions run beside the vector pipes this kernel saturates,
	// where a 16-lane VPGATHERDD took vector micro-ops worth ~15% of the
	// block's time at 8 tokens (in L2, BenchmarkFewTokens: Q4_0 42.8 →
	// 32-34 µs, Q8_0 45-50 → 39-43). Past 12 tokens R11 is 3·R10 again
	// after them.
	for g := 0; g < 4; g++ {
		p("MOVWQZX %s, R11", rowAddr(0, 4*g+3))
		for r := 4*g + 2; r >= 4*g; r-- {
			p("SHLQ $16, R11")
			p("MOVW %s, R11", rowAddr(0, r))
		}
		x := []string{"X29", "X29", "X24", "X24"}[g]
		if g%2 == 0 {
			p("VMOVQ R11, %s", x)
		} else {
			p("VPINSRQ $1, R11, %s, %s", x, x)
		}
	}
	if nt > 12 {
		p("LEAQ (R10)(R10*2), R11")
	}
	p("VINSERTI32X4 $1, X24, Y29, Y29")
	p("VCVTPH2PS Y29, Z29")
	for t := 0; t < nt; t++ {
		s := fmt.Sprintf("Z%d", 24+t%4)
		p("VPBROADCASTD %s, %s", tokAddr("CX", 0, t), s)
		for j := 0; j < 8; j++ {
			p("VPDPBUSD.BCST %s, Z%d, %s", tokAddr("DI", 16*j, t), j, s)
		}
		p("VCVTDQ2PS %s, %s", s, s)
		p("VMULPS.BCST %s, Z29, Z31", tokAddr("AX", 0, t))
		p("VFMADD231PS Z31, %s, Z%d", s, 8+t)
	}
	p("ADDQ $%d, SI", ty.bytes)
	p("ADDQ $%d, R9", ty.bytes)
	p("ADDQ $128, DI")
	p("ADDQ $16, AX")
	p("ADDQ $16, CX")
}

func kernel(ty qtype, nt int) {
	name := fmt.Sprintf("few%sT%d", ty.name, nt)
	fmt.Fprintf(&b, "// func %s(w *byte, rb int, a *byte, tb int, as *float32, init *int32, sb int, nb int, y *float32, ldy int)\n", name)
	fmt.Fprintf(&b, "TEXT ·%s(SB), NOSPLIT, $0-80\n", name)
	p("MOVQ w+0(FP), SI")
	prefetchFlag()
	p("MOVQ rb+8(FP), R13")
	p("MOVQ a+16(FP), DI")
	p("MOVQ tb+24(FP), R10")
	p("MOVQ as+32(FP), AX")
	p("MOVQ init+40(FP), CX")
	p("MOVQ sb+48(FP), R12")
	p("LEAQ (R10)(R10*2), R11")
	p("LEAQ (R12)(R12*2), R14")
	p("LEAQ (R13)(R13*2), BX")
	p("LEAQ (R13)(R13*4), DX")
	p("LEAQ (BX)(R13*4), R8")
	p("LEAQ (SI)(R13*8), R9")
	mask := map[string]string{"Q4_0": "fewC0F", "Q8_0": "fewC80"}[ty.name]
	p("VPBROADCASTD %s<>(SB), Z28", mask)
	// The loop ends when AX (the scales, 16 bytes a block) reaches the end
	// of the blocks' pairs (kept in nb's slot) or of all the blocks (rb's,
	// rb being in R13 from here on). R15, after the last global access (a
	// dynamic link clobbers it there), walks the next 16 rows.
	p("MOVQ nb+56(FP), R15")
	p("SHLQ $4, R15")
	p("ADDQ AX, R15")
	p("MOVQ R15, rb+8(FP)")
	if ty.unroll == 2 {
		p("MOVQ nb+56(FP), R15")
		p("ANDQ $-2, R15")
		p("SHLQ $4, R15")
		p("ADDQ AX, R15")
		p("MOVQ R15, nb+56(FP)")
	} else {
		p("MOVQ R15, nb+56(FP)")
	}
	p("MOVQ R13, R15")
	p("SHLQ $4, R15")
	p("ADDQ SI, R15")
	for t := 0; t < nt; t++ {
		p("VPXORD Z%d, Z%d, Z%d", 8+t, 8+t, 8+t)
	}
	if ty.unroll == 2 {
		p("CMPQ AX, nb+56(FP)")
		p("JAE %s_tail", name)
		label(name + "_pair")
		block(ty, nt, true)
		block(ty, nt, false)
		p("CMPQ AX, nb+56(FP)")
		p("JB %s_pair", name)
		label(name + "_tail")
		p("CMPQ AX, rb+8(FP)")
		p("JAE %s_done", name)
		block(ty, nt, false)
	} else {
		label(name + "_block")
		block(ty, nt, true)
		p("CMPQ AX, nb+56(FP)")
		p("JB %s_block", name)
	}
	label(name + "_done")
	storeResults(nt, "y+64(FP)", "ldy+72(FP)")
}

// pfLabels numbers prefetchNext's labels, which must be unique in a kernel.
var pfLabels int

// prefetchFlag keeps the Go variable fewPrefetchL2 in w's argument slot
// (w being in SI by then), for prefetchNext. It runs before R15 is set:
// a dynamic link's access to a global clobbers R15.
func prefetchFlag() {
	p("MOVBQZX ·fewPrefetchL2(SB), R15")
	p("MOVQ R15, w+0(FP)")
}

// prefetchNext prefetches step bytes of the next 16 rows at R15, line by
// line, and moves R15 past them: into L1 (PREFETCHT0), or into L2
// (PREFETCHT1) where fewPrefetchL2 is set (see it in few_amd64.go). One
// predictable branch per step picks the hint at run time, so that each
// CPU's choice is kept without a second copy of every kernel.
func prefetchNext(step int) {
	pfLabels++
	l2, done := fmt.Sprintf("pfl2_%d", pfLabels), fmt.Sprintf("pfdone_%d", pfLabels)
	p("CMPQ w+0(FP), $0")
	p("JNE %s", l2)
	for o := 0; o < step; o += 64 {
		p("PREFETCHT0 %d(R15)", o)
	}
	p("JMP %s", done)
	label(l2)
	for o := 0; o < step; o += 64 {
		p("PREFETCHT1 %d(R15)", o)
	}
	label(done)
	p("ADDQ $%d, R15", step)
}

// storeResults stores the nt tokens' results (Z8 on) to y, token rows ldy
// floats apart (y and ldy the arguments' names), and returns.
func storeResults(nt int, y, ldy string) {
	p("MOVQ %s, DI", y)
	p("MOVQ %s, R10", ldy)
	p("SHLQ $2, R10")
	for t := 0; t < nt; t++ {
		p("VMOVUPS Z%d, (DI)", 8+t)
		if t+1 < nt {
			p("ADDQ R10, DI")
		}
	}
	p("VZEROUPPER")
	p("RET")
	b.WriteString("\n")
}

func main() {
	flag.Parse()
	b.WriteString("// Code generated by command: go run ./few (kernels/_gen/few). DO NOT EDIT.\n\n")
	b.WriteString("//go:build amd64 && !noasm\n\n#include \"textflag.h\"\n\n")
	b.WriteString("DATA fewC0F<>+0(SB)/4, $0x0f0f0f0f\nGLOBL fewC0F<>(SB), RODATA|NOPTR, $4\n\n")
	b.WriteString("DATA fewC80<>+0(SB)/4, $0x80808080\nGLOBL fewC80<>(SB), RODATA|NOPTR, $4\n\n")
	var g strings.Builder
	g.WriteString("// Code generated by command: go run ./few (kernels/_gen/few). DO NOT EDIT.\n\n")
	g.WriteString("//go:build amd64 && !noasm\n\npackage kernels\n\n")
	for _, ty := range types {
		for nt := 1; nt <= maxTokens; nt++ {
			kernel(ty, nt)
			fmt.Fprintf(&g, "//go:noescape\nfunc few%sT%d(w *byte, rb int, a *byte, tb int, as *float32, init *int32, sb int, nb int, y *float32, ldy int)\n\n", ty.name, nt)
		}
	}
	for _, k := range []struct {
		name string
		gen  func(int)
	}{{"Q4_K", kernelQ4K}, {"Q5_K", kernelQ5K}} {
		for nt := 1; nt <= q4kMaxTokens; nt++ {
			k.gen(nt)
			fmt.Fprintf(&g, "//go:noescape\nfunc few%sT%d(w *byte, rb int, a *byte, as int, nb int, y *float32, ldy int)\n\n", k.name, nt)
		}
		fmt.Fprintf(&g, "// few%s are the %s few-token kernels by token count (1-%d).\n", k.name, k.name, q4kMaxTokens)
		fmt.Fprintf(&g, "var few%s = [%d]fewKKernel{nil", k.name, q4kMaxTokens+1)
		for nt := 1; nt <= q4kMaxTokens; nt++ {
			fmt.Fprintf(&g, ", few%sT%d", k.name, nt)
		}
		g.WriteString("}\n\n")
	}
	for _, ty := range types {
		fmt.Fprintf(&g, "// few%s are the %s few-token kernels by token count (1-%d).\n", ty.name, ty.name, maxTokens)
		fmt.Fprintf(&g, "var few%s = [%d]fewKernel{nil", ty.name, maxTokens+1)
		for nt := 1; nt <= maxTokens; nt++ {
			fmt.Fprintf(&g, ", few%sT%d", ty.name, nt)
		}
		g.WriteString("}\n\n")
	}
	for _, f := range []struct{ path, text string }{{*out, b.String()}, {*stubs, strings.TrimRight(g.String(), "\n") + "\n"}} {
		if err := os.WriteFile(f.path, []byte(f.text), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
