//go:build amd64 && !noasm

package kernels

import "github.com/klauspost/cpuid/v2"

// q32Variants is every feature set, plus the sets with AVX-512 VNNI once
// more with the dot kernels the host does not choose, where it can run
// them: on Zen 4 (q32Zen4) the zmm kernels, elsewhere the ymm E kernels
// Zen 4 runs, so that both stay tested on either kind of host.
func q32Variants(sets []Features) []q32Variant {
	var vs []q32Variant
	for _, f := range sets {
		vs = append(vs, q32Variant{f: f, install: func() error { return SetFeatures(f) }})
		if !f.Has(FeatAVX512|FeatVNNI) || !cpuid.CPU.Supports(cpuid.GFNI, cpuid.AVX512VBMI) {
			continue
		}
		note := " (ymm E dot kernels)"
		if q32Zen4 {
			note = " (zmm dot kernels)"
		}
		vs = append(vs, q32Variant{f: f, note: note, install: func() error {
			if err := SetFeatures(f); err != nil {
				return err
			}
			zen := q32Zen4
			q32Zen4 = !zen
			defer func() { q32Zen4 = zen }()
			installQuant32(f)
			return nil
		}})
	}
	return vs
}
