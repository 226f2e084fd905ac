//go:build amd64 && !noasm

package kernels

// The microkernels of panel_amd64.s, by group size (16, 32) and minimum
// term (S: none, M: with).

//go:noescape
func panelG16S(w, a *byte, as, asum *float32, ng int, y *float32, ldy int)

//go:noescape
func panelG16M(w, a *byte, as, asum *float32, ng int, y *float32, ldy int)

//go:noescape
func panelG32S(w, a *byte, as, asum *float32, ng int, y *float32, ldy int)

//go:noescape
func panelG32M(w, a *byte, as, asum *float32, ng int, y *float32, ldy int)

//go:noescape
func panelPackZ(stage, dst *byte, ng, rec, steps int)

var panelZ = &panelKernels{
	k:    [2][2]panelKernelFunc{{panelG16S, panelG16M}, {panelG32S, panelG32M}},
	pack: panelPackZ,
	sums: panelSumsZ,
}

func init() {
	// Where the panels overtake the dot kernels on Zen 4, ms panel / dot.
	// With weights from DRAM on two goroutines (BenchmarkPanelCrossover2,
	// 14336×4096, GALE_BENCH_DRAM=1), now that the code writers of Q4_0,
	// Q8_0 and the K-quants transpose loads instead of gathering and the
	// K-quants' tables are assembly too: Q4_0 at 8 tokens (4.2-4.7 /
	// 4.4-4.5), Q8_0 between 8 and 12 (6.2-6.6 / 6.2-6.8 at 8, 7.0-7.6 /
	// 8.4-9.6 at 12), Q4_K between 12 and 16 (6.8-7.3 / 6.3-6.6, 7.5-7.6
	// / 8.2), Q5_K by 16 (11.7 / 12.9), Q6_K near 24 (13.6 / 13.1, 17.3
	// / 21.0 at 32). The types whose panels unpack in Go (~1 ns per
	// weight) only far later (BenchmarkPanelCrossover, 4096×4096, one
	// goroutine): Q5_0 near 48, Q5_1 near 64, Q4_1 near 100 (28.9 / 33.0
	// at 128), Q2_K and Q3_K, whose tables are Go too, near 48 (12.0 /
	// 12.0, 12.7 / 13.5). Measured on Zen 4 only, they stand for every
	// AVX-512 VNNI host (an AMX host's tiles take the types they serve
	// first).
	panelZ.minTokens = map[*PanelType]int{
		PanelQ8_0: 12, PanelQ4_K: 16, PanelQ5_K: 16, PanelQ6_K: 24,
		PanelQ4_1: 96, PanelQ5_0: 48, PanelQ5_1: 64, PanelQ2_K: 48, PanelQ3_K: 48,
	}
	// Zen 5 (q32Zen5: twice Zen 4's VNNI rate per core, and the E dot
	// kernels for Q8_0) takes Q8_0's panels from 8 tokens: 14336×4096,
	// two goroutines, DRAM, ms panel / dot, three runs: at 8 tokens
	// 2.8-3.7 / 4.0-4.2, at 12 3.4-4.1 / 4.9-6.1; the two runs with the
	// dot kernels' 8 KiB prefetch (q32PFE) at 6 2.8-3.1 / 2.8-2.9, at 4
	// 2.1-2.2 / 1.5-1.7. Its other crossovers measured as on Zen 4
	// (Q4_0 8, Q4_K 12-16, Q5_K 12-16, Q6_K 16-24).
	if q32Zen5 {
		panelZ.minTokens[PanelQ8_0] = 8
	}
	// With the few-token kernels (few_amd64.go) Q4_0 and Q8_0 leave the
	// dot kernels sooner: 14336×4096, two goroutines, DRAM
	// (BenchmarkPanelCrossover2, GALE_BENCH_TOKENS=1,2,3,4,6,8), ms few /
	// dot, two runs each. Zen 5: Q4_0 at 2 tokens 1.23 / 1.03 and 0.98 /
	// 0.94, at 3 1.50 / 2.34 and 1.14 / 1.22, at 8 1.62 / 2.79 and 1.43 /
	// 2.62; Q8_0 at 4 2.14 / 2.60 and 1.97 / 1.69, at 6 2.05 / 2.88 and
	// 1.67 / 2.93, at 8 2.22 / 3.61 and 1.62 / 3.44 (one token: the dot
	// kernels' 0.94-0.97 and 1.30-1.58). Zen 4: Q4_0 at 2 2.84 / 2.12, at
	// 3 2.25 / 2.63 and 4.45 / 4.50, at 4 2.59 / 2.59 and 5.19 / 4.57, at
	// 6 2.31 / 3.70 and 3.60 / 6.21, at 8 2.87 / 5.01 and 4.81 / 9.71;
	// Q8_0 at 2 5.92 / 3.51, at 3 4.73 / 3.87 and 4.42 / 6.46, at 4 3.12
	// / 4.00 and 5.72 / 6.30, at 6 3.37 / 4.86 and 4.95 / 6.58, at 8 4.98
	// / 8.37 and 6.10 / 12.36. With their prefetch into L2 there
	// (fewPrefetchL2), two runs: Q4_0 at 1 token 1.66 / 1.41, 1.08 / 1.03,
	// at 2 1.56 / 2.32 and 1.49 / 1.82, at 3 2.03 / 2.62 and 2.03 / 2.92;
	// Q8_0 at 1 2.48 / 2.31, 2.35 / 2.96, at 2 2.36 / 3.26 and 2.60 /
	// 2.70, at 3 2.26 / 4.32 and 2.62 / 3.39: from 2 tokens. One token
	// stays on the dot kernels although the few-token kernels compute it
	// faster from L2 (BenchmarkFewTokens: Q4_0 31 GB/s against 24.5-26,
	// Q8_0 38.5-41.5 against 31-32): in decode (gale bench --mem-bw
	// --synthetic mistral-7b -p 0 -n 32 -r 2 -t 2, alternating builds,
	// 2026-12-04) they read 78-90% of the paired read for Q4_0 against
	// 77-94% with the dot kernels, Q8_0 84-87% against 88-92%. Elsewhere the
	// few-token kernels take the panels' counts as measured before them,
	// unmeasured lower.
	// Q8_0's long rows on Zen 4 took the few-token kernels for one token
	// until 2026-12-05: the one-row dot kernel re-reads a
	// row's activations (1.25 bytes a value) for every weight row, and
	// past ~8K values they no longer stay in L1 beside the streaming
	// weights. From DRAM (BenchmarkMatMulQ8_0, t1, thr1,
	// GALE_BENCH_DRAM=1) it read 4096×14336 at 13.1-15.4 GB/s against
	// 17.7-21.4 for 14336×4096, while from L2 (BenchmarkQ32L2,
	// GALE_Q32_N=4096 / 14336) both ran 33-37; Q4_0's four-row kernel,
	// which loads each activation once for four rows, read the long rows
	// at 24.3-24.6 where its one-row kernel read 12.7-14.6. The few-token
	// kernels load each activation word once for 16 rows. In decode (gale
	// bench --mem-bw --synthetic mistral-7b --dtype q8_0 -p 0 -n 64 -r 2
	// -t 2, three alternating rounds, 2026-12-04, each product timed)
	// Mistral-7B's down projection (n 14336) took 0.61-0.69 of gate+up's
	// time for half its bytes on the dot kernel, 0.54-0.55 on the
	// few-token one (74.2 → 57.1 ms a token in the round whose paired
	// reads matched, 4.40 → 4.89 tok/s); its n = 4096 products ran alike
	// on either (two more rounds, all on the few-token kernels). Since
	// Q8_0's four-row one-token kernel (q32Q8_0R4L), which loads each
	// activation once for four rows, the long rows stay on the dot
	// kernels: four alternating rounds of the same bench at -t 1,2
	// (2026-12-05), long rows on the four-row / few-token kernel, read
	// 94-95 / 90-93% of the paired read on one thread, 95-97 / 86-94% on
	// two; so the rule (one token on the few-token kernels from 8192
	// values) is gone.
	switch {
	case q32Zen4:
		panelZ.minTokens[PanelQ4_0] = 2
		panelZ.minTokens[PanelQ8_0] = 2
	case q32Zen5:
		panelZ.minTokens[PanelQ4_0] = 3
		panelZ.minTokens[PanelQ8_0] = 5
	}
	// Q4_K's few-token kernels (fewk_amd64.go, 8 tokens a pass) beat its
	// panels up to ~48 tokens on Zen 5: BenchmarkPanelCrossover2, ms
	// panel / few, two runs: at 16 6.35 / 2.90 and 5.34 / 2.45, at 32 7.77
	// / 5.39 and 9.48 / 5.15, at 48 7.35 / 7.85 and 7.46 / 9.08, at 64 9.59
	// / 9.63 and 9.61 / 9.84, at 256 30.1 / 49.6 and 29.3 / 32.3. Q5_K's
	// likewise: at 16 5.27 / 3.13 and 4.67 / 3.17, at 32 8.50 / 6.22 and
	// 7.62 / 5.97, at 48 8.31 / 8.87 and 11.21 / 9.68, at 64 11.18 /
	// 12.07 and 10.17 / 12.29. On Zen 4, one run: Q4_K at 16 9.41 / 5.83,
	// at 24 15.3 / 10.4, at 32 10.9 / 7.80, at 48 16.3 / 13.3; Q5_K at 16
	// 7.83 / 6.23, at 24 9.58 / 7.46, at 32 12.0 / 12.2, at 48 16.5 /
	// 16.8.
	if q32Zen4 || q32Zen5 {
		panelZ.minTokens[PanelQ4_K] = 48
		panelZ.minTokens[PanelQ5_K] = 48
	}
	installers = append(installers, installPanel)
	// level.go's init may already have run SetFeatures (file order).
	installPanel(CurrentFeatures())
}

// installPanel sets the AVX-512 VNNI microkernels when the feature set has
// them, the AVX2 ones otherwise (AVX-512 without VNNI included), none
// below AVX2.
func installPanel(f Features) {
	panelKernel = nil
	switch {
	case f.Has(FeatAVX512 | FeatVNNI):
		panelKernel = panelZ
	case f.Has(FeatAVX2):
		panelKernel = panelY
	}
}

// panelAsmKernels is the fastest assembly microkernel set this machine
// can run, whatever the feature set in use (for benchmarks); nil
// otherwise.
func panelAsmKernels() *panelKernels {
	if s := panelAsmSets(); len(s) > 0 {
		return s[0].ks
	}
	return nil
}

// panelAsmSets are the assembly microkernel sets this machine can run,
// fastest first (for tests).
func panelAsmSets() []panelSet {
	var s []panelSet
	if valid(FeatAVX2 | FeatAVX512 | FeatVNNI) {
		s = append(s, panelSet{"avx512vnni", panelZ})
	}
	if valid(FeatAVX2) {
		s = append(s, panelSet{"avx2", panelY})
	}
	return s
}

// The code writers of panel_amd64.s: the codes (and, for Q4_0 and Q8_0,
// which have no tables, the scales and sums' starts) of a whole 32-row panel, nb blocks, rows
// rb bytes apart from w, gathered straight from the weights.

//go:noescape
func panelCodesQ4_0(w *byte, rb, nb int, dst *byte)

//go:noescape
func panelCodesQ8_0(w *byte, rb, nb int, dst *byte)

//go:noescape
func panelCodesQ4_K(w *byte, rb, nb int, dst *byte)

//go:noescape
func panelCodesQ2_K(w *byte, rb, nb int, dst *byte)

//go:noescape
func panelCodesQ3_K(w *byte, rb, nb int, dst *byte)

//go:noescape
func panelCodesQ5_K(w *byte, rb, nb int, dst *byte)

//go:noescape
func panelCodesQ6_K(w *byte, rb, nb int, dst *byte)

// The table writers of panel_amd64.s: a whole 32-row panel's scales and
// minimum terms (Q4_K and Q5_K: bs the block bytes).

//go:noescape
func panelTablesQ45K(w *byte, rb, nb, bs int, dst *byte)

//go:noescape
func panelTablesQ6_K(w *byte, rb, nb int, dst *byte)

// panelSumsZ stores the sums' starts of ng groups from their codes.
//
//go:noescape
func panelSumsZ(dst *byte, ng, rec, steps int)

func init() {
	PanelQ4_0.codes = panelCodesQ4_0
	PanelQ8_0.codes = panelCodesQ8_0
	PanelQ2_K.codes = panelCodesQ2_K
	PanelQ3_K.codes = panelCodesQ3_K
	PanelQ4_K.codes = panelCodesQ4_K
	PanelQ5_K.codes = panelCodesQ5_K
	PanelQ6_K.codes = panelCodesQ6_K
	PanelQ4_K.panelTables = func(w *byte, rb, nb int, dst *byte) { panelTablesQ45K(w, rb, nb, BlockBytesQ4_K, dst) }
	PanelQ5_K.panelTables = func(w *byte, rb, nb int, dst *byte) { panelTablesQ45K(w, rb, nb, BlockBytesQ5_K, dst) }
	PanelQ6_K.panelTables = panelTablesQ6_K
}
