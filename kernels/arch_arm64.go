//go:build arm64 && !noasm

package kernels

import "golang.org/x/sys/cpu"

// archLevels: every arm64 CPU has Advanced SIMD (NEON).
func archLevels() []Level { return []Level{NEON} }

// archInstall overrides the generic entries of t with the NEON assembly
// (installNEON in neon_arm64.go).
func archInstall(f Features, t *table) { installNEON(t) }

// archVNNI: amd64 only.
func archVNNI(l Level) bool { return false }

// archAMX: amd64 only.
func archAMX() bool { return false }

// archDotProd reports whether the CPU has the SDOT/UDOT instructions.
func archDotProd() bool { return cpu.ARM64.HasASIMDDP }
