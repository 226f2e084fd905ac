//go:build arm64 && !noasm

package kernels

// archLevels: every arm64 CPU has Advanced SIMD (NEON).
func archLevels() []Level { return []Level{NEON} }

// archInstall overrides the generic entries of t with the NEON assembly
// (installNEON in neon_arm64.go).
func archInstall(l Level, t *table) { installNEON(t) }
