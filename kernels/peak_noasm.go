//go:build !amd64 || noasm

package kernels

// probeAsm: no instruction probes on this architecture/build (the
// ceilings of gale bench are then the memory bandwidth only).
const probeAsm = false

func runProbe(p Probe, iters int) {}

// installPeak sets ReadSum: pure Go here.
func installPeak(f Features) { readSumFn = readSumGo }
