package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// panelCase is one block type with its independent reference: the
// pure-Go dot-product matrix product of the same quantized operands.
type panelCase struct {
	pt       *PanelType
	quantize func(dst []byte, src []float32)
	act      func(dst []byte, x []float32)
	actBytes func(n int) int
	prepare  func(p *ActPanel, a []byte, n, t int)
	ref      func(y []float32, ldy int, w, a []byte, n, t, rows int)
}

func kRef(f func(y []float32, ldy int, w, a []byte, n, t int)) func(y []float32, ldy int, w, a []byte, n, t, rows int) {
	return func(y []float32, ldy int, w, a []byte, n, t, _ int) { f(y, ldy, w, a, n, t) }
}

var panelCases = []panelCase{
	{PanelQ8_0, QuantizeQ8_0, QuantizeActQ8_0, ActBytesQ8_0, (*ActPanel).PrepareQ8_0, matMulQ8_0Generic},
	{PanelQ4_0, QuantizeQ4_0, QuantizeActQ8_0, ActBytesQ8_0, (*ActPanel).PrepareQ8_0, matMulQ4_0Generic},
	{PanelQ4_1, QuantizeQ4_1, QuantizeActQ8_1, ActBytesQ8_1, (*ActPanel).PrepareQ8_1, matMulQ4_1Generic},
	{PanelQ5_0, QuantizeQ5_0, QuantizeActQ8_0, ActBytesQ8_0, (*ActPanel).PrepareQ8_0, matMulQ5_0Generic},
	{PanelQ5_1, QuantizeQ5_1, QuantizeActQ8_1, ActBytesQ8_1, (*ActPanel).PrepareQ8_1, matMulQ5_1Generic},
	{PanelQ2_K, QuantizeQ2_K, QuantizeActQ8_K, ActBytesQ8_K, (*ActPanel).PrepareQ8_K, kRef(matMulQ2KGeneric)},
	{PanelQ3_K, QuantizeQ3_K, QuantizeActQ8_K, ActBytesQ8_K, (*ActPanel).PrepareQ8_K, kRef(matMulQ3KGeneric)},
	{PanelQ4_K, QuantizeQ4_K, QuantizeActQ8_K, ActBytesQ8_K, (*ActPanel).PrepareQ8_K, kRef(matMulQ4KGeneric)},
	{PanelQ5_K, QuantizeQ5_K, QuantizeActQ8_K, ActBytesQ8_K, (*ActPanel).PrepareQ8_K, kRef(matMulQ5KGeneric)},
	{PanelQ6_K, QuantizeQ6_K, QuantizeActQ8_K, ActBytesQ8_K, (*ActPanel).PrepareQ8_K, kRef(matMulQ6KGeneric)},
}

// panelInputs quantizes random weights (rows × n) and activations (t × n).
func panelInputs(r *rand.Rand, c panelCase, n, rows, t int) (w, a []byte) {
	x := make([]float32, n)
	w = make([]byte, rows*n/c.pt.blockElems*c.pt.blockBytes)
	rb := len(w) / max(rows, 1)
	for i := 0; i < rows; i++ {
		for j := range x {
			x[j] = float32(r.NormFloat64())
		}
		c.quantize(w[i*rb:(i+1)*rb], x)
	}
	ab := c.actBytes(n)
	a = make([]byte, t*ab)
	for i := 0; i < t; i++ {
		for j := range x {
			x[j] = float32(r.NormFloat64() * 3)
		}
		c.act(a[i*ab:(i+1)*ab], x)
	}
	return w, a
}

// panelTol is the float tolerance of a product over n values: the integer
// sums are exact, only the order of the f32 scaling differs.
func panelTol(n int) float64 { return 2e-5 * math.Sqrt(float64(n)) * 30 }

// TestPanelMatMul checks every block type's panel product, through the
// pure-Go microkernel and the assembly one, against the dot-product
// reference, at odd shapes: rows not a multiple of 32, tokens not a
// multiple of 4, blocks not a multiple of 2, an output stride wider than
// the rows.
func TestPanelMatMul(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	type shape struct{ n, rows, tok int }
	for _, c := range panelCases {
		var shapes []shape
		if c.pt.blockElems == qk {
			shapes = []shape{{32, 1, 1}, {96, 33, 5}, {256, 64, 16}, {160, 70, 13}, {512, 31, 4}}
		} else {
			shapes = []shape{{256, 1, 1}, {256, 33, 5}, {512, 64, 16}, {768, 70, 13}}
		}
		for _, sh := range shapes {
			w, a := panelInputs(r, c, sh.n, sh.rows, sh.tok)
			ldy := sh.rows + 3
			want := make([]float32, sh.tok*ldy)
			c.ref(want, ldy, w, a, sh.n, sh.tok, sh.rows)
			var p ActPanel
			c.prepare(&p, a, sh.n, sh.tok)
			sets := append([]panelSet{{"go", panelGo}}, panelAsmSets()...)
			var goY []float32
			for _, s := range sets {
				y := make([]float32, sh.tok*ldy)
				for i := range y {
					y[i] = 12345 // the gaps between rows stay as they were
				}
				c.pt.matMul(s.ks, y, ldy, w, &p, sh.n)
				for i := 0; i < sh.tok; i++ {
					for j := 0; j < ldy; j++ {
						got, exp := y[i*ldy+j], want[i*ldy+j]
						if j >= sh.rows {
							if got != 12345 {
								t.Fatalf("%s %s n=%d rows=%d t=%d: y[%d][%d] beyond the rows written (%v)", c.pt.name, s.name, sh.n, sh.rows, sh.tok, i, j, got)
							}
							continue
						}
						if d := math.Abs(float64(got - exp)); d > panelTol(sh.n)*max(1, math.Abs(float64(exp))/10) {
							t.Fatalf("%s %s n=%d rows=%d t=%d: y[%d][%d] = %v, reference %v", c.pt.name, s.name, sh.n, sh.rows, sh.tok, i, j, got, exp)
						}
					}
				}
				if s.name == "go" {
					goY = y
					continue
				}
				// The assembly against its twin: the same operations in the
				// same order, so only the twin's float64 FMA's double
				// rounding can differ (an ulp or so).
				for i := range y {
					if d := math.Abs(float64(y[i] - goY[i])); d > 1e-5*max(1, math.Abs(float64(goY[i]))) {
						t.Fatalf("%s %s n=%d rows=%d t=%d: y[%d] = %v, Go twin %v", c.pt.name, s.name, sh.n, sh.rows, sh.tok, i, y[i], goY[i])
					}
				}
			}
		}
	}
	have := map[string]bool{}
	for _, s := range panelAsmSets() {
		have[s.name] = true
	}
	for _, name := range []string{"avx512vnni", "avx2"} {
		if !have[name] {
			t.Logf("SKIP panel assembly %s: this CPU or build lacks it; the Go twin and the other sets were tested", name)
		}
	}
}

// TestPanelUse checks when the products take the panel path: from
// panelMinTokens rows (or the set's threshold), only in feature sets
// with microkernels (AVX2 and up), and never where a tile kernel serves
// the type.
func TestPanelUse(t *testing.T) {
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	for _, f := range FeatureSets() {
		if err := SetFeatures(f); err != nil {
			t.Fatal(err)
		}
		want := f.Has(FeatAVX2) && panelAsmKernels() != nil
		for _, c := range panelCases {
			tiled := c.pt.tile != nil && *c.pt.tile != nil
			min := c.pt.threshold()
			if min < panelMinTokens && !panelFewServes(c.pt, min) {
				t.Errorf("%s: threshold %d below panelMinTokens without few-token kernels", c.pt.name, min)
			}
			if got := c.pt.Use(min); got != (want && !tiled) {
				t.Errorf("%s: %s.Use(%d) = %v, want %v", f, c.pt.name, min, got, want && !tiled)
			}
			if min > 1 && c.pt.Use(min-1) {
				t.Errorf("%s: %s.Use(%d) = true below the threshold", f, c.pt.name, min-1)
			}
		}
	}
}

// panelFewServes reports whether the installed set runs t tokens of pt on
// few-token kernels.
func panelFewServes(pt *PanelType, t int) bool {
	if panelKernel == nil || panelKernel.few == nil || t < 1 {
		return false
	}
	var p ActPanel
	p.reset(pt.blockElems, t, pt.act)
	k, _ := panelKernel.few(pt, &p)
	return k != nil
}

// BenchmarkPanelMatMul: the prefill product of one goroutine on panels
// against the dot-product kernels of the same feature set, 512 tokens;
// GOP/s counts 2 operations per weight and token.
func BenchmarkPanelMatMul(b *testing.B) {
	if panelAsmKernels() == nil {
		b.Skip("panel assembly: this CPU or build has no AVX-512 VNNI")
	}
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	r := rand.New(rand.NewPCG(1, 2))
	const tok = 512
	for _, c := range panelCases {
		if c.pt != PanelQ4_0 && c.pt != PanelQ8_0 && c.pt != PanelQ4_K && c.pt != PanelQ6_K {
			continue
		}
		n, rows := 4096, 256
		w, a := panelInputs(r, c, n, rows, tok)
		y := make([]float32, tok*rows)
		var p ActPanel
		ops := 2 * float64(tok) * float64(rows) * float64(n)
		b.Run(fmt.Sprintf("%s/panel", c.pt.name), func(b *testing.B) {
			c.prepare(&p, a, n, tok)
			for b.Loop() {
				c.pt.matMul(panelAsmKernels(), y, rows, w, &p, n)
			}
			b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
		})
		b.Run(fmt.Sprintf("%s/prepare", c.pt.name), func(b *testing.B) {
			for b.Loop() {
				c.prepare(&p, a, n, tok)
			}
		})
	}
}

// BenchmarkPanelUnpack: one panel of 32 rows × 4096 values; MB/s counts
// the weight bytes read.
func BenchmarkPanelUnpack(b *testing.B) {
	ks := panelAsmKernels()
	if ks == nil {
		ks = panelGo
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range panelCases {
		n := 4096
		w, _ := panelInputs(r, c, n, panelRows, 1)
		var y [panelTokens * panelRows]float32
		var p ActPanel
		p.reset(n, 1, c.pt.act)
		b.Run(c.pt.name, func(b *testing.B) {
			b.SetBytes(int64(len(w)))
			// One token of a panel product: the unpacking and one
			// microkernel call, which is a small part of it.
			for b.Loop() {
				c.pt.matMul(ks, y[:], panelRows, w, &p, n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(panelRows*n), "ns/value")
		})
	}
}

// panelDots is each panel type's dot-product matrix product, which the
// crossover benchmarks set the panels against.
var panelDots = map[*PanelType]func(y []float32, ldy int, w, a []byte, n, t int){
	PanelQ8_0: MatMulQ8_0, PanelQ4_0: MatMulQ4_0, PanelQ4_1: MatMulQ4_1, PanelQ5_0: MatMulQ5_0, PanelQ5_1: MatMulQ5_1,
	PanelQ2_K: MatMulQ2_K, PanelQ3_K: MatMulQ3_K, PanelQ4_K: MatMulQ4_K, PanelQ5_K: MatMulQ5_K, PanelQ6_K: MatMulQ6_K,
}

// BenchmarkPanelCrossover: panels against the dot-product kernels at the
// token counts around panelMinTokens, one goroutine, a 4096×4096 matrix.
func BenchmarkPanelCrossover(b *testing.B) {
	// The feature set in use (GALE_CPU): its panels and its dot kernels.
	ks := panelKernel
	if ks == nil {
		b.Skip("panel assembly: this CPU, build or GALE_CPU has none")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range panelCases {
		mm := panelDots[c.pt]
		if mm == nil {
			continue
		}
		n, rows := 4096, 4096
		for _, tok := range []int{4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192} {
			w, a := panelInputs(r, c, n, rows, tok)
			y := make([]float32, tok*rows)
			var p ActPanel
			b.Run(fmt.Sprintf("%s/t%d/panel", c.pt.name, tok), func(b *testing.B) {
				for b.Loop() {
					c.prepare(&p, a, n, tok)
					c.pt.matMul(ks, y, rows, w, &p, n)
				}
			})
			b.Run(fmt.Sprintf("%s/t%d/dot", c.pt.name, tok), func(b *testing.B) {
				for b.Loop() {
					mm(y, rows, w, a, n, tok)
				}
			})
		}
	}
}

// TestPanelExtremeCodes runs every type's panel products on weight blocks
// filled with one byte pattern (all codes at an end of their range, or
// Q8_0's -128) against activations all at +127 (unsigned 255): the sums
// the AVX2 kernels keep in int16 and the products of Q8_0's sign form are
// then at their largest, and must still match the dot-product reference.
func TestPanelExtremeCodes(t *testing.T) {
	// The fp16 fields (scales, minimums) of each block: set to 1/16.
	f16 := map[string][]int{
		"Q8_0": {0}, "Q4_0": {0}, "Q5_0": {0}, "Q4_1": {0, 2}, "Q5_1": {0, 2},
		"Q2_K": {80, 82}, "Q3_K": {108}, "Q4_K": {0, 2}, "Q5_K": {0, 2}, "Q6_K": {208},
	}
	const n, rows, tok = 512, 40, 8
	x := make([]float32, n)
	for i := range x {
		x[i] = 1
	}
	for _, c := range panelCases {
		ab := c.actBytes(n)
		a := make([]byte, tok*ab)
		for i := 0; i < tok; i++ {
			c.act(a[i*ab:(i+1)*ab], x)
		}
		var p ActPanel
		c.prepare(&p, a, n, tok)
		for _, fill := range []byte{0x00, 0xff, 0x80} {
			w := make([]byte, rows*n/c.pt.blockElems*c.pt.blockBytes)
			for i := range w {
				w[i] = fill
			}
			for o := 0; o < len(w); o += c.pt.blockBytes {
				for _, f := range f16[c.pt.name] {
					w[o+f], w[o+f+1] = 0x00, 0x2c
				}
			}
			want := make([]float32, tok*rows)
			c.ref(want, rows, w, a, n, tok, rows)
			for _, s := range append([]panelSet{{"go", panelGo}}, panelAsmSets()...) {
				y := make([]float32, tok*rows)
				c.pt.matMul(s.ks, y, rows, w, &p, n)
				for i := range y {
					if d := math.Abs(float64(y[i] - want[i])); d > 1e-5*max(1, math.Abs(float64(want[i]))) {
						t.Fatalf("%s %s fill %#x: y[%d] = %v, reference %v", c.pt.name, s.name, fill, i, y[i], want[i])
					}
				}
			}
		}
	}
}

// BenchmarkPanelCrossover2: the crossover where the engine meets it, a
// 14336×4096 product (Mistral-7B's w1) split over two goroutines as the
// pool splits it, from DRAM with GALE_BENCH_DRAM=1 (the weights rotate
// among copies of >= 1 GiB).
func BenchmarkPanelCrossover2(b *testing.B) {
	if panelKernel == nil {
		b.Skip("panel assembly: this CPU, build or GALE_CPU has none")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range panelCases {
		mm := panelDots[c.pt]
		if mm == nil {
			continue
		}
		n, rows := 4096, 14336
		for _, tok := range benchTokens([]int{8, 12, 16, 24, 32}) {
			w0, a := panelInputs(r, c, n, rows, tok)
			copies := bkCopies(len(w0))
			ws := make([][]byte, copies)
			for i := range ws {
				ws[i] = append([]byte(nil), w0...)
			}
			rb := len(w0) / rows
			y := make([]float32, tok*rows)
			var p ActPanel
			half := rows / 2
			b.Run(fmt.Sprintf("%s/t%d/panel", c.pt.name, tok), func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					w := ws[i%copies]
					c.prepare(&p, a, n, tok)
					var wg sync.WaitGroup
					for k := 0; k < 2; k++ {
						wg.Go(func() { c.pt.matMul(panelKernel, y[k*half:], rows, w[k*half*rb:(k+1)*half*rb], &p, n) })
					}
					wg.Wait()
				}
			})
			b.Run(fmt.Sprintf("%s/t%d/dot", c.pt.name, tok), func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					w := ws[i%copies]
					var wg sync.WaitGroup
					for k := 0; k < 2; k++ {
						wg.Go(func() { mm(y[k*half:], rows, w[k*half*rb:(k+1)*half*rb], a, n, tok) })
					}
					wg.Wait()
				}
			})
		}
	}
}

// BenchmarkFewTokens: the batched decode's products of Q4_0 and Q8_0
// weights, 1-16 tokens, one goroutine, on the installed panel set (the
// few-token kernels where it has them) against the dot-product kernels;
// 256×4096 weights stay in L2 (the kernels' compute speed), or rotate
// among copies of >= 1 GiB with GALE_BENCH_DRAM=1. MB/s counts weight
// bytes.
func BenchmarkFewTokens(b *testing.B) {
	if panelKernel == nil {
		b.Skip("panel assembly: this CPU, build or GALE_CPU has none")
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range panelCases {
		if c.pt != PanelQ4_0 && c.pt != PanelQ8_0 {
			continue
		}
		n, rows := 4096, 256
		for _, tok := range []int{1, 2, 3, 4, 5, 6, 8, 12, 16} {
			w0, a := panelInputs(r, c, n, rows, tok)
			copies := bkCopies(len(w0))
			ws := make([][]byte, copies)
			for i := range ws {
				ws[i] = append([]byte(nil), w0...)
			}
			y := make([]float32, tok*rows)
			var p ActPanel
			c.prepare(&p, a, n, tok)
			b.Run(fmt.Sprintf("%s/t%d/few", c.pt.name, tok), func(b *testing.B) {
				b.SetBytes(int64(len(w0)))
				for i := 0; b.Loop(); i++ {
					c.pt.matMul(panelKernel, y, rows, ws[i%copies], &p, n)
				}
			})
			b.Run(fmt.Sprintf("%s/t%d/dot", c.pt.name, tok), func(b *testing.B) {
				b.SetBytes(int64(len(w0)))
				for i := 0; b.Loop(); i++ {
					panelDots[c.pt](y, rows, ws[i%copies], a, n, tok)
				}
			})
		}
	}
}

// TestFewTokens runs the Q4_0 and Q8_0 products at every token count of
// the few-token kernels (1-16, and 17, past them), through every
// assembly set against the Go twin and the dot-product reference: rows
// in whole kernel blocks of 16 and a tail, 1, 2 and 5 blocks (the
// kernels step two Q4_0 blocks at a time).
func TestFewTokens(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, c := range panelCases[:2] {
		for _, n := range []int{32, 64, 160} {
			for tok := 1; tok <= fewMaxTokens+1; tok++ {
				rows := 37
				w, a := panelInputs(r, c, n, rows, tok)
				ldy := rows + 1
				want := make([]float32, tok*ldy)
				c.ref(want, ldy, w, a, n, tok, rows)
				var p ActPanel
				c.prepare(&p, a, n, tok)
				goY := make([]float32, tok*ldy)
				c.pt.matMul(panelGo, goY, ldy, w, &p, n)
				for _, s := range panelAsmSets() {
					y := make([]float32, tok*ldy)
					c.pt.matMul(s.ks, y, ldy, w, &p, n)
					for i := 0; i < tok; i++ {
						for j := 0; j < rows; j++ {
							k := i*ldy + j
							if d := math.Abs(float64(y[k] - goY[k])); d > 1e-5*max(1, math.Abs(float64(goY[k]))) {
								t.Fatalf("%s %s n=%d t=%d: y[%d][%d] = %v, Go twin %v", c.pt.name, s.name, n, tok, i, j, y[k], goY[k])
							}
							if d := math.Abs(float64(y[k] - want[k])); d > panelTol(n)*max(1, math.Abs(float64(want[k]))/10) {
								t.Fatalf("%s %s n=%d t=%d: y[%d][%d] = %v, reference %v", c.pt.name, s.name, n, tok, i, j, y[k], want[k])
							}
						}
					}
				}
			}
		}
	}
	if panelKernel == nil || panelKernel.few == nil {
		t.Logf("SKIP few-token kernels: this CPU, build or GALE_CPU has no AVX-512 VNNI; the panel sets were tested")
	}
}

// TestActPanelRowsRanges: laying out rows four at a time (Rows over
// whole panel groups) gives the panel that laying them out one by one
// does, for the Q8_0 and Q8_1 formats, odd block counts and token counts
// that end in a part group.
func TestActPanelRowsRanges(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for _, c := range []panelCase{panelCases[0], panelCases[2]} {
		for _, n := range []int{96, 160, 4096} {
			for _, tok := range []int{4, 5, 8, 13} {
				_, a := panelInputs(r, c, n, 0, tok)
				var whole, single ActPanel
				c.prepare(&whole, a, n, tok)
				single.begin(n, tok, c.pt.act)
				for i := 0; i < tok; i++ {
					single.Rows(a, i, i+1) // a range of one row never takes the group path
				}
				if fmt.Sprint(whole.u, whole.s, whole.as32, whole.asum32, whole.init8, whole.init128) !=
					fmt.Sprint(single.u, single.s, single.as32, single.asum32, single.init8, single.init128) {
					t.Errorf("%s n=%d t=%d: the panel laid out by groups differs from the one laid out row by row", c.pt.name, n, tok)
				}
			}
		}
	}
}

// BenchmarkActPanelRows: laying out 8 quantized activation rows in a
// panel, as an 8-stream decode step does for every matrix input.
func BenchmarkActPanelRows(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []panelCase{panelCases[1], panelCases[2], panelCases[7]} {
		for _, n := range []int{4096, 14336} {
			const t = 8
			_, a := panelInputs(r, c, n, 0, t)
			var p ActPanel
			b.Run(fmt.Sprintf("%s/n=%d", c.pt.name, n), func(b *testing.B) {
				for b.Loop() {
					c.prepare(&p, a, n, t)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(t*n), "ns/value")
			})
		}
	}
}
