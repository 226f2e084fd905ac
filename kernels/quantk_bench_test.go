package kernels

// Benchmarks of the K-quant matrix products at the Mistral-7B FFN shape
// 14336x4096, named BenchmarkMatMulQ4_K/<features>/t=<t>/thr=<threads>,
// reporting GB/s of weight bytes. Threads split the weight rows as the
// engine's pool does. BenchmarkKMemRead/thr=<threads> is the machine's
// read bandwidth measured the same way (SumSquares over 1 GiB), the
// ceiling of the t=1 figures. GALE_BENCH_DRAM=1 rotates among enough
// weight copies (>= 1 GiB) that every call reads from DRAM, as
// bench_test.go does; the generic twins run only at t <= 2 unless
// GALE_BENCH_ALL is set.

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// kCPUTime is the process's user+system CPU time: on a machine shared
// with other work, bytes per CPU-second is the kernel's own speed, which
// wall-clock GB/s under-reports.
func kCPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var kBenchTs = []int{1, 2, 4, 8, 16, 64}

// kRandBlocks fills w with random K-quant blocks: random bits in every
// quant and scale, finite f16 scales of a moderate size at the offsets
// dOffs of each block.
func kRandBlocks(r *rand.Rand, w []byte, blockBytes int, dOffs []int) {
	for i := 0; i+8 <= len(w); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			w[i+j] = byte(v >> (8 * j))
		}
	}
	for b := 0; b+blockBytes <= len(w); b += blockBytes {
		for _, o := range dOffs {
			w[b+o], w[b+o+1] = byte(r.Uint32()), 0x20|byte(r.IntN(8)) // 2^-7..2^-6 range
		}
	}
}

// kSplit runs f over [0, rows) in threads contiguous parts.
func kSplit(rows, threads int, f func(r0, r1 int)) {
	if threads == 1 {
		f(0, rows)
		return
	}
	var wg sync.WaitGroup
	per := (rows + threads - 1) / threads
	for r0 := 0; r0 < rows; r0 += per {
		wg.Add(1)
		go func(r0 int) {
			defer wg.Done()
			f(r0, min(rows, r0+per))
		}(r0)
	}
	wg.Wait()
}

func kBenchMatMul(b *testing.B, kt *kType, dOffs []int) {
	const rows, n = 14336, 4096
	rb := n / kQK * kt.blockBytes
	bytes := rows * rb
	copies := bkCopies(bytes)
	r := rand.New(rand.NewPCG(9, 10))
	ws := make([][]byte, copies)
	for c := range ws {
		ws[c] = make([]byte, bytes)
		kRandBlocks(r, ws[c], kt.blockBytes, dOffs)
	}
	tmax := kBenchTs[len(kBenchTs)-1]
	a := kRandActs(r, tmax, n)
	y := make([]float32, tmax*rows)
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	for _, f := range FeatureSets() {
		if err := SetFeatures(f); err != nil {
			b.Fatal(err)
		}
		for _, t := range kBenchTs {
			if f == 0 && t > 2 && os.Getenv("GALE_BENCH_ALL") == "" {
				continue
			}
			for _, thr := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/t=%d/thr=%d", f, t, thr), func(b *testing.B) {
					b.SetBytes(int64(bytes))
					c0 := kCPUTime()
					for i := 0; b.Loop(); i++ {
						w := ws[i%copies]
						kSplit(rows, thr, func(r0, r1 int) {
							kt.matMul(y[r0:], rows, w[r0*rb:r1*rb], a, n, t)
						})
					}
					b.ReportMetric(float64(bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
					if c := kCPUTime() - c0; c > 0 {
						b.ReportMetric(float64(bytes)*float64(b.N)*float64(thr)/c.Seconds()/1e9, "GB/cpu-s")
					}
				})
			}
		}
	}
}

func BenchmarkMatMulQ2_K(b *testing.B) { kBenchMatMul(b, &kTypes[0], kDOffs["Q2_K"]) }
func BenchmarkMatMulQ3_K(b *testing.B) { kBenchMatMul(b, &kTypes[1], kDOffs["Q3_K"]) }
func BenchmarkMatMulQ4_K(b *testing.B) { kBenchMatMul(b, &kTypes[2], kDOffs["Q4_K"]) }
func BenchmarkMatMulQ5_K(b *testing.B) { kBenchMatMul(b, &kTypes[3], kDOffs["Q5_K"]) }
func BenchmarkMatMulQ6_K(b *testing.B) { kBenchMatMul(b, &kTypes[4], kDOffs["Q6_K"]) }

// BenchmarkKMemRead measures the read bandwidth that the t=1 products are
// bounded by: SumSquares over 1 GiB, split over the threads like them.
func BenchmarkKMemRead(b *testing.B) {
	buf := make([]float32, (1<<30)/4)
	for i := range buf {
		buf[i] = 1
	}
	for _, thr := range []int{1, 2} {
		b.Run(fmt.Sprintf("thr=%d", thr), func(b *testing.B) {
			b.SetBytes(int64(len(buf) * 4))
			c0 := kCPUTime()
			for b.Loop() {
				kSplit(len(buf), thr, func(r0, r1 int) { SumSquares(buf[r0:r1]) })
			}
			b.ReportMetric(float64(len(buf)*4)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			if c := kCPUTime() - c0; c > 0 {
				b.ReportMetric(float64(len(buf)*4)*float64(b.N)*float64(thr)/c.Seconds()/1e9, "GB/cpu-s")
			}
		})
	}
}

// BenchmarkMatMulKL2 is the compute ceiling of the K-quant products: a
// 512x4096 matrix (1.2-1.7 MB) that stays in L2 across calls, so GB per
// CPU-second is what the kernels manage when memory is not the limit
// (the DRAM benchmarks above reach the read bandwidth only when this is
// comfortably higher).
func BenchmarkMatMulKL2(b *testing.B) {
	const rows, n = 512, 4096
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	r := rand.New(rand.NewPCG(11, 12))
	for i := range kTypes {
		kt := &kTypes[i]
		w := make([]byte, rows*n/kQK*kt.blockBytes)
		kRandBlocks(r, w, kt.blockBytes, kDOffs[kt.name])
		a := kRandActs(r, 8, n)
		y := make([]float32, 8*rows)
		for _, f := range FeatureSets() {
			if f == 0 || f.Has(FeatAMX) {
				continue
			}
			if err := SetFeatures(f); err != nil {
				b.Fatal(err)
			}
			for _, t := range []int{1, 2, 4, 8} {
				b.Run(fmt.Sprintf("%s/%s/t=%d", kt.name, f, t), func(b *testing.B) {
					c0 := kCPUTime()
					for b.Loop() {
						kt.matMul(y, rows, w, a, n, t)
					}
					if c := kCPUTime() - c0; c > 0 {
						b.ReportMetric(float64(len(w))*float64(b.N)/c.Seconds()/1e9, "GB/cpu-s")
					}
				})
			}
		}
	}
}

// kDOffs are the offsets of each type's f16 scales in a block.
var kDOffs = map[string][]int{"Q2_K": {80, 82}, "Q3_K": {108}, "Q4_K": {0, 2}, "Q5_K": {0, 2}, "Q6_K": {208}}

// BenchmarkQuantizeActQ8_K quantizes one 4096-value activation row to
// Q8_K (per K-quant product input), at each feature set.
func BenchmarkQuantizeActQ8_K(b *testing.B) {
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	x := make([]float32, 4096)
	kRandRow(rand.New(rand.NewPCG(7, 8)), x)
	a := make([]byte, ActBytesQ8_K(len(x)))
	for _, f := range FeatureSets() {
		if err := SetFeatures(f); err != nil {
			b.Fatal(err)
		}
		b.Run(f.String(), func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				QuantizeActQ8_K(a, x)
			}
		})
	}
}
