//go:build amd64 && !noasm

package kernels

import "github.com/klauspost/cpuid/v2"

// archLevels lists the amd64 levels this CPU (and its OS, which must save
// the wide registers) supports. cpuid checks the OS support via XGETBV.
func archLevels() []Level {
	var ls []Level
	c := cpuid.CPU
	if c.Supports(cpuid.AVX2, cpuid.FMA3, cpuid.F16C) {
		ls = append(ls, AVX2)
		if c.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL) {
			ls = append(ls, AVX512)
		}
	}
	return ls
}

// archInstall overrides the generic entries of t with level l's assembly.
func archInstall(l Level, t *table) {
	installAVX2(t)
	if l >= AVX512 {
		installAVX512(t)
	}
}

// installAVX2 and installAVX512 are filled in by the assembly files; each
// overrides only what it implements.
func installAVX2(t *table)   {}
func installAVX512(t *table) {}
