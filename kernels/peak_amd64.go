//go:build amd64 && !noasm

package kernels

import "unsafe"

// probeAsm: the instruction probes exist in this build.
const probeAsm = true

// The probe loops (peak_amd64.s). The vector ones keep probeAccs
// accumulators and store their sum in out; the AMX ones load A tiles 4,5
// and B tiles 6,7 from tiles (1 KiB each, rows 64 bytes apart), run iters
// rounds of four tile products into C tiles 0-3 and store those in out.

//go:noescape
func fmaPeak512(iters int, x, y float32, out *[16]float32)

//go:noescape
func fmaPeak256(iters int, x, y float32, out *[8]float32)

//go:noescape
func vnniPeak512(iters int, a, b uint32, out *[16]int32)

//go:noescape
func maddubsPeak256(iters int, a, b uint32, out *[16]int16)

//go:noescape
func amxPeakBF16(cfg *byte, tiles *byte, out *byte, iters int)

//go:noescape
func amxPeakInt8(cfg *byte, tiles *byte, out *byte, iters int)

//go:noescape
func readSum512(p *byte, n int) uint32

//go:noescape
func readSum256(p *byte, n int) uint32

// amxPeakCfg is the probes' tile configuration: palette 1, eight tiles of
// 16 rows of 64 bytes.
var amxPeakCfg = func() (c [64]byte) {
	c[0] = 1
	for i := 0; i < 8; i++ {
		c[16+2*i] = 64
		c[48+i] = 16
	}
	return c
}()

func runProbe(p Probe, iters int) {
	switch p {
	case ProbeFMA512:
		var out [16]float32
		fmaPeak512(iters, 1, 0.5, &out)
	case ProbeFMA256:
		var out [8]float32
		fmaPeak256(iters, 1, 0.5, &out)
	case ProbeVNNI512:
		var out [16]int32
		vnniPeak512(iters, 0x01020304, 0x01010101, &out)
	case ProbeMaddubs256:
		var out [16]int16
		maddubsPeak256(iters, 0x01020304, 0x01010101, &out)
	case ProbeAMXBF16, ProbeAMXInt8:
		tiles := make([]byte, 4096)
		out := make([]byte, 4096)
		if p == ProbeAMXBF16 {
			amxPeakBF16(&amxPeakCfg[0], &tiles[0], &out[0], iters)
		} else {
			amxPeakInt8(&amxPeakCfg[0], &tiles[0], &out[0], iters)
		}
	}
}

// readSumAsm runs a vector read loop over the largest multiple of 256
// bytes of b and the twin over the rest.
func readSumAsm(loop func(*byte, int) uint32) func([]byte) uint32 {
	return func(b []byte) uint32 {
		n := len(b) &^ 255
		var s uint32
		if n > 0 {
			s = loop(unsafe.SliceData(b), n)
		}
		return s + readSumGo(b[n:])
	}
}

var (
	readSum512Go = readSumAsm(readSum512)
	readSum256Go = readSumAsm(readSum256)
)

// installPeak sets ReadSum for feature set f.
func installPeak(f Features) {
	switch {
	case f.Has(FeatAVX512):
		readSumFn = readSum512Go
	case f.Has(FeatAVX2):
		readSumFn = readSum256Go
	default:
		readSumFn = readSumGo
	}
}
