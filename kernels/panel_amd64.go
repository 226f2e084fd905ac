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

var panelZ = &panelKernels{{panelG16S, panelG16M}, {panelG32S, panelG32M}}

func init() {
	installers = append(installers, installPanel)
	// level.go's init may already have run SetFeatures (file order).
	installPanel(CurrentFeatures())
}

// installPanel sets the AVX-512 VNNI microkernels when the feature set has
// them (AVX-512 without VNNI, and AVX2, keep the dot-product kernels).
func installPanel(f Features) {
	panelKernel = nil
	if f.Has(FeatAVX512 | FeatVNNI) {
		panelKernel = panelZ
	}
}

// panelAsmKernels is the assembly microkernel set when this machine can
// run it, whatever the feature set in use (for tests); nil otherwise.
func panelAsmKernels() *panelKernels {
	if valid(FeatAVX2 | FeatAVX512 | FeatVNNI) {
		return panelZ
	}
	return nil
}
