//go:build amd64 && !noasm

package kernels

import "github.com/klauspost/cpuid/v2"

// q32Variants is every feature set, plus the sets with AVX-512 VNNI once
// more for each choice of dot kernels the host does not make, where it
// can run them: all zmm kernels (as on Intel) and all ymm E kernels (as
// on Zen 4 and Zen 5), so that every kernel stays tested on any of these
// hosts.
func q32Variants(sets []Features) []q32Variant {
	choices := []struct {
		note string
		set  *q32Set
	}{
		{" (zmm dot kernels)", &q32Z},
		{" (ymm E dot kernels)", &q32E},
		{" (E with four-row decode kernels)", &q32ER},
		{" (E with four-row decode kernels, linear prefetch)", &q32ERL},
	}
	var vs []q32Variant
	for _, f := range sets {
		vs = append(vs, q32Variant{f: f, install: func() error { return SetFeatures(f) }})
		if !f.Has(FeatAVX512|FeatVNNI) || !cpuid.CPU.Supports(cpuid.GFNI, cpuid.AVX512VBMI) {
			continue
		}
		for _, c := range choices {
			if c.set == q32VNNISet {
				continue // the host's own choice: the plain variant above
			}
			vs = append(vs, q32Variant{f: f, note: c.note, install: func() error {
				if err := SetFeatures(f); err != nil {
					return err
				}
				host := q32VNNISet
				q32VNNISet = c.set
				defer func() { q32VNNISet = host }()
				installQuant32(f)
				return nil
			}})
		}
	}
	return vs
}
