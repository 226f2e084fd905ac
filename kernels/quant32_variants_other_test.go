//go:build !amd64 || noasm

package kernels

// q32Variants is every feature set as SetFeatures installs it.
func q32Variants(sets []Features) []q32Variant {
	var vs []q32Variant
	for _, f := range sets {
		vs = append(vs, q32Variant{f: f, install: func() error { return SetFeatures(f) }})
	}
	return vs
}
