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
	// Zen 4's Q4_0 and Q8_0 dot kernels (q32E) beat panels up to 11 and
	// 15 tokens: BenchmarkPanelCrossover (4096×4096, one goroutine, EPYC
	// host) Q4_0 at 8 tokens 2.4 ms against the panels' 3.3, at 12 3.7
	// against 3.5; Q8_0 at 12 3.4 against 3.7, at 16 4.4 against 4.1.
	if q32Zen4 {
		panelZ.minTokens = map[*PanelType]int{PanelQ4_0: 12, PanelQ8_0: 16}
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
}
