//go:build !amd64 || noasm

package kernels

// panelAsmKernels: no assembly microkernels on this architecture or
// build; the panel products stay unused (panelKernel is nil) and the
// tests run the Go twin alone.
func panelAsmKernels() *panelKernels { return nil }

// panelAsmSets: none on this architecture or build.
func panelAsmSets() []panelSet { return nil }
