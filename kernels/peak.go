package kernels

import (
	"encoding/binary"
	"fmt"
)

// Throughput probes for gale bench --roofline: tight loops of one
// instruction kind, with enough independent accumulators to hide its
// latency, so that ops per second over a run is the machine's ceiling for
// the kernels that use that instruction. A roofline percentage is only as
// honest as its ceiling: a probe that falls short of what a tuned C loop
// reaches makes every kernel look better than it is.

// Probe names an instruction kind whose peak throughput can be measured.
type Probe int

// The probes. Ops are counted as llama.cpp and the project's C probes
// count them: a multiply-add is two operations (FLOPs for floats).
const (
	ProbeFMA512     Probe = iota // VFMADD231PS zmm: f32 FMA, AVX-512
	ProbeFMA256                  // VFMADD231PS ymm: f32 FMA, AVX2
	ProbeVNNI512                 // VPDPBUSD zmm: u8*s8 dot products into int32 (AVX512-VNNI)
	ProbeMaddubs256              // VPMADDUBSW ymm: u8*s8 pair products into int16 (the AVX2 int8 path)
	ProbeAMXBF16                 // TDPBF16PS on four accumulator tiles
	ProbeAMXInt8                 // TDPBSSD on four accumulator tiles
	numProbes
)

var probeNames = [...]string{
	ProbeFMA512: "fma_zmm", ProbeFMA256: "fma_ymm", ProbeVNNI512: "vnni_zmm",
	ProbeMaddubs256: "maddubs_ymm", ProbeAMXBF16: "amx_bf16", ProbeAMXInt8: "amx_int8",
}

// String is the probe's name as bench prints it.
func (p Probe) String() string {
	if p >= 0 && p < numProbes {
		return probeNames[p]
	}
	return fmt.Sprintf("Probe(%d)", int(p))
}

// Probes lists every probe, available or not.
func Probes() []Probe {
	out := make([]Probe, numProbes)
	for i := range out {
		out[i] = Probe(i)
	}
	return out
}

// Float reports whether the probe counts floating-point operations (FLOP)
// rather than integer ones.
func (p Probe) Float() bool { return p == ProbeFMA512 || p == ProbeFMA256 || p == ProbeAMXBF16 }

// probeNeeds is the feature set a probe's instruction needs.
var probeNeeds = [...]Features{
	ProbeFMA512: FeatAVX512, ProbeFMA256: FeatAVX2, ProbeVNNI512: FeatAVX512 | FeatVNNI,
	ProbeMaddubs256: FeatAVX2, ProbeAMXBF16: FeatAMX, ProbeAMXInt8: FeatAMX,
}

// ProbeAvailable reports whether probe p can run under the feature set in
// use (CurrentFeatures): a GALE_CPU cap that drops a feature drops its
// ceiling too, since no kernel uses that instruction then.
func ProbeAvailable(p Probe) bool {
	return p >= 0 && p < numProbes && probeAsm && CurrentFeatures().Has(probeNeeds[p])
}

// ProbeOpsPerIter is the operations one iteration of probe p's loop does.
func ProbeOpsPerIter(p Probe) float64 {
	switch p {
	case ProbeFMA512:
		return probeAccs * 16 * 2
	case ProbeFMA256:
		return probeAccs * 8 * 2
	case ProbeVNNI512:
		return probeAccs * 64 * 2
	case ProbeMaddubs256:
		return probeAccs * 32 * 2
	case ProbeAMXBF16:
		return 4 * 16 * 16 * 32 * 2
	case ProbeAMXInt8:
		return 4 * 16 * 16 * 64 * 2
	}
	return 0
}

// probeAccs is the number of independent accumulators of the vector
// probes: FMA and VPDPBUSD have a latency of 4-5 cycles at two per cycle,
// so at least ten chains must be in flight.
const probeAccs = 12

// RunProbe runs iters iterations of probe p's loop on the calling thread
// and returns the operations done (iters * ProbeOpsPerIter(p)). It
// returns 0 when the probe is not available.
func RunProbe(p Probe, iters int) float64 {
	if !ProbeAvailable(p) || iters <= 0 {
		return 0
	}
	runProbe(p, iters)
	return float64(iters) * ProbeOpsPerIter(p)
}

// ReadSum returns the sum, modulo 2^32, of b read as little-endian uint32
// words (a trailing partial word is ignored): a pure streaming read at
// the widest vector width in use, the memory-bandwidth probe. Integer
// addition makes the result independent of the order, so the assembly is
// checked exactly against readSumGo.
func ReadSum(b []byte) uint32 { return readSumFn(b) }

// readSumFn is ReadSum's implementation, set by installPeak.
var readSumFn = readSumGo

// readSumGo is ReadSum's pure-Go twin.
func readSumGo(b []byte) uint32 {
	var s uint32
	for i := 0; i+4 <= len(b); i += 4 {
		s += binary.LittleEndian.Uint32(b[i:])
	}
	return s
}

// fmaTwin is the pure-Go twin of the FMA probes: what every lane of the
// summed accumulators holds after iters iterations of acc += x*y.
func fmaTwin(iters int, x, y float32) float32 {
	var accs [probeAccs]float32
	for i := 0; i < iters; i++ {
		for j := range accs {
			accs[j] += x * y
		}
	}
	// The assembly adds the accumulators pairwise in this order.
	return fmaReduce(accs)
}

// fmaReduce sums the accumulators as the probes' epilogue does:
// acc[0]+acc[1], acc[2]+acc[3], ... then the six sums in a row.
func fmaReduce(a [probeAccs]float32) float32 {
	var s float32
	for j := 0; j < probeAccs; j += 2 {
		s += a[j] + a[j+1]
	}
	return s
}

// vnniTwin is the pure-Go twin of the VNNI probe: each int32 lane holds
// iters*probeAccs dot products of the four u8 bytes of a with the four
// s8 bytes of b.
func vnniTwin(iters int, a, b uint32) int32 {
	var d int32
	for k := 0; k < 4; k++ {
		d += int32(uint8(a>>(8*k))) * int32(int8(b>>(8*k)))
	}
	var s int32
	for i := 0; i < iters*probeAccs; i++ {
		s += d
	}
	return s
}

// maddubsTwin is the pure-Go twin of one VPMADDUBSW lane: the saturated
// int16 sum of two u8*s8 products (bytes 0,1 of a and b for the low lane,
// 2,3 for the high one).
func maddubsTwin(a, b uint32) [2]int16 {
	var out [2]int16
	for h := 0; h < 2; h++ {
		p := int32(uint8(a>>(16*h)))*int32(int8(b>>(16*h))) +
			int32(uint8(a>>(16*h+8)))*int32(int8(b>>(16*h+8)))
		out[h] = int16(max(-32768, min(32767, p)))
	}
	return out
}

func init() {
	installers = append(installers, installPeak)
	// level.go's init has already run SetFeatures (file order).
	installPeak(CurrentFeatures())
}
