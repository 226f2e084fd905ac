//go:build amd64 && !noasm

package kernels

// q32Variants is every feature set, plus, on hosts where the ymm dot
// products replace the zmm ones (q32Zen4), the sets with AVX-512 VNNI once
// more with the zmm kernels, so that those stay tested there too.
func q32Variants(sets []Features) []q32Variant {
	var vs []q32Variant
	for _, f := range sets {
		vs = append(vs, q32Variant{f: f, install: func() error { return SetFeatures(f) }})
		if q32Zen4 && f.Has(FeatAVX512|FeatVNNI) {
			vs = append(vs, q32Variant{f: f, note: " (zmm dot kernels)", install: func() error {
				if err := SetFeatures(f); err != nil {
					return err
				}
				q32Zen4 = false
				defer func() { q32Zen4 = true }()
				installQuant32(f)
				return nil
			}})
		}
	}
	return vs
}
