package kernels

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// Benchmarks of the 32-element block products on 7B-shaped matrices
// (14336x4096 and 4096x14336) at t = 1..64 tokens, on 1 and 2 threads
// (rows split in halves). The GB/s metric is the weight bytes streamed;
// for t = 1 (decode) compare it with `gale bench --mem-bw`. With
// GALE_BENCH_DRAM=1 the weights rotate among >= 1 GiB of copies so that
// every run reads DRAM, not the L3 that holds a single copy.

var bkQ32Shapes = []bkShape{{14336, 4096}, {4096, 14336}}

// bkQ32Sets is the feature sets to benchmark: the best, plus avx2 and
// every other set with GALE_BENCH_ALL=1 (generic only then).
func bkQ32Sets() []Features {
	all := os.Getenv("GALE_BENCH_ALL") != ""
	sets := FeatureSets()
	var out []Features
	for _, f := range sets {
		if f == 0 && !all {
			continue
		}
		if all || f == sets[len(sets)-1] || f == FeatAVX2 {
			out = append(out, f)
		}
	}
	return out
}

func bkQ32(b *testing.B, ty q32Type, ts []int) {
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	for _, sh := range bkQ32Shapes {
		bytes := sh.rows * sh.n / 32 * ty.bytes
		copies := bkCopies(bytes)
		ws := make([][]byte, copies)
		s := uint32(99)
		for c := range ws {
			w := make([]byte, bytes)
			for i := range w {
				s = s*1664525 + 1013904223
				w[i] = byte(s >> 24)
			}
			for i := 0; i < len(w); i += ty.bytes { // finite scales
				w[i], w[i+1] = 0x00, 0x2c
				if ty.name == "Q4_1" || ty.name == "Q5_1" {
					w[i+2], w[i+3] = 0x00, 0xac
				}
			}
			ws[c] = w
		}
		for _, f := range bkQ32Sets() {
			if err := SetFeatures(f); err != nil {
				b.Fatal(err)
			}
			for _, t := range ts {
				x := make([]float32, t*sh.n)
				bkFillF32(x)
				ab := ActBytesQ8_0(sh.n)
				a := make([]byte, t*ab)
				for i := 0; i < t; i++ {
					ty.act(a[i*ab:(i+1)*ab], x[i*sh.n:(i+1)*sh.n])
				}
				y := make([]float32, t*sh.rows)
				for _, threads := range []int{1, 2} {
					b.Run(fmt.Sprintf("%s/%s/t%d/thr%d", f, sh, t, threads), func(b *testing.B) {
						b.SetBytes(int64(bytes))
						half := sh.rows / threads
						rb := sh.n / 32 * ty.bytes
						runtime.LockOSThread()
						defer runtime.UnlockOSThread()
						c0 := threadCPU()
						for i := 0; b.Loop(); i++ {
							w := ws[i%copies]
							if threads == 1 {
								ty.matmul(y, sh.rows, w, a, sh.n, t)
								continue
							}
							var wg sync.WaitGroup
							for k := 0; k < threads; k++ {
								r0, r1 := k*half, (k+1)*half
								if k == threads-1 {
									r1 = sh.rows
								}
								wg.Go(func() { ty.matmul(y[r0:], sh.rows, w[r0*rb:r1*rb], a, sh.n, t) })
							}
							wg.Wait()
						}
						b.ReportMetric(float64(bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
						// On one thread: the bytes per second of CPU time the
						// benchmark got (equal to GB/s on an idle machine).
						if c := threadCPU() - c0; c > 0 && threads == 1 {
							b.ReportMetric(float64(bytes)*float64(b.N)/c.Seconds()/1e9, "cpuGB/s")
						}
					})
				}
			}
		}
	}
}

var bkQ32T = []int{1, 2, 4, 8, 16, 64}

func BenchmarkMatMulQ4_0(b *testing.B) { bkQ32(b, q32Types[1], bkQ32T) }
func BenchmarkMatMulQ8_0(b *testing.B) { bkQ32(b, q32Types[0], bkQ32T) }

// The other types at the same token counts (decode, batched decode, prefill).
func BenchmarkMatMulQ4_1(b *testing.B) { bkQ32(b, q32Types[2], bkQ32T) }
func BenchmarkMatMulQ5_0(b *testing.B) { bkQ32(b, q32Types[3], bkQ32T) }
func BenchmarkMatMulQ5_1(b *testing.B) { bkQ32(b, q32Types[4], bkQ32T) }

// BenchmarkQ32L2 runs the t=1 products on a 256x4096 matrix that stays in
// L2 (but Q8_0's, see below): the kernels' compute speed, apart from
// memory (GALE_Q32_N sets the row length, 1 MiB/N rows, and GALE_Q32_ROWS
// the rows, e.g. 4 for L1). Q8_0's 256 rows are 1.06 MiB, more than Zen 4's
// 1 MiB L2: there take GALE_Q32_N=4096 GALE_Q32_ROWS=128 (on Zen 4 on
// 2026-12-04 Q8_0 read 32.5-36.9 GB/s with 128 rows, 28.6-31.5 with 256,
// 37 from L1; Q4_0 24.6-26.0, 22.7-22.9 and 23.8-23.9: its one-token
// kernels are bound by their instructions, not by where the weights are).
func BenchmarkQ32L2(b *testing.B) {
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	n, rows := 4096, 256
	if v := os.Getenv("GALE_Q32_N"); v != "" {
		fmt.Sscan(v, &n)
		rows = 1 << 20 / n
		if v := os.Getenv("GALE_Q32_ROWS"); v != "" {
			fmt.Sscan(v, &rows)
		}
	}
	for _, ty := range q32Types {
		w, a, _ := q32Inputs(ty, n, rows, 1, 5)
		y := make([]float32, rows)
		for _, f := range bkQ32Sets() {
			if err := SetFeatures(f); err != nil {
				b.Fatal(err)
			}
			b.Run(ty.name+"/"+f.String(), func(b *testing.B) {
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				b.SetBytes(int64(len(w)))
				c0 := threadCPU()
				for b.Loop() {
					ty.matmul(y, rows, w, a, n, 1)
				}
				if c := threadCPU() - c0; c > 0 {
					b.ReportMetric(float64(len(w))*float64(b.N)/c.Seconds()/1e9, "cpuGB/s")
				}
			})
		}
	}
}

// BenchmarkQ32MemRead streams 32 MiB slices of a buffer (>= 1 GiB with
// GALE_BENCH_DRAM=1) through the sum-of-squares kernel: the read
// bandwidth, wall and CPU time, to set the products' GB/s against in the
// same run.
func BenchmarkQ32MemRead(b *testing.B) {
	const slice = 32 << 20 / 4
	copies := bkCopies(slice * 4)
	buf := make([]float32, slice*copies)
	bkFillF32(buf)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.SetBytes(slice * 4)
	var sink float32
	c0 := threadCPU()
	for i := 0; b.Loop(); i++ {
		k := i % copies
		sink += fn.sumSquaresFn(buf[k*slice : (k+1)*slice])
	}
	b.ReportMetric(float64(slice*4)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	if c := threadCPU() - c0; c > 0 {
		b.ReportMetric(float64(slice*4)*float64(b.N)/c.Seconds()/1e9, "cpuGB/s")
	}
	_ = sink
}

// BenchmarkQuantizeActQ8_0 quantizes one 4096-value activation row (per
// matrix product input at decode).
func BenchmarkQuantizeActQ8_0(b *testing.B) {
	x := make([]float32, 4096)
	bkFillF32(x)
	a := make([]byte, ActBytesQ8_0(len(x)))
	b.SetBytes(int64(4 * len(x)))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0 := threadCPU()
	for b.Loop() {
		QuantizeActQ8_0(a, x)
	}
	if c := threadCPU() - c0; c > 0 {
		b.ReportMetric(float64(c.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkProductVsRead measures the one-token products of the five
// 32-element types, Q4_K, Q5_K and Q6_K against the read bandwidth of
// the same moment: each iteration reads a 1 GiB buffer of weight rows with ReadSum (the
// `gale bench` probe's loop) and then runs the product over it, both
// split over thr goroutines. On the VMs of this machine class the read
// bandwidth moves between sittings and within one (on the Zen 5 host
// single 1 GiB passes on 2 threads read 35-40 GB/s most of the time and
// 60-70 in spells), so a product is set against the pass just before it
// rather than the best pass of a run. Metrics: read and product GB/s
// (means of the iterations' rates), product/read as a percentage per
// iteration (mean), and that percentage over the iterations whose read
// pass was in the fastest quarter. They say whether the kernel keeps up
// with memory when memory is fast, which a best-pass ceiling cannot.
func BenchmarkProductVsRead(b *testing.B) {
	const n = 4096
	type product struct {
		name string
		rb   int // bytes per weight row
		// prepare fills w with finite blocks and returns the product of
		// rows [r0, r1) with one activation row.
		prepare func(w []byte) func(y []float32, w []byte, r0, r1 int)
	}
	var ps []product
	for _, ty := range q32Types {
		ps = append(ps, product{ty.name, n / 32 * ty.bytes, func(w []byte) func([]float32, []byte, int, int) {
			for i := 0; i < len(w); i += ty.bytes {
				// Finite scales (and Q4_1/Q5_1's mins; elsewhere the
				// bytes 2-3 are quants or fifth bits, which any value is).
				w[i], w[i+1], w[i+2], w[i+3] = 0x00, 0x2c, 0x00, 0x2c
			}
			x := make([]float32, n)
			bkFillF32(x)
			a := make([]byte, ActBytesQ8_0(n))
			ty.act(a, x)
			rb := n / 32 * ty.bytes
			return func(y []float32, w []byte, r0, r1 int) {
				ty.matmul(y[r0:], len(y), w[r0*rb:r1*rb], a, n, 1)
			}
		}})
	}
	for i := 2; i < 5; i++ {
		kt := &kTypes[i]
		ps = append(ps, product{kt.name, n / kQK * kt.blockBytes, func(w []byte) func([]float32, []byte, int, int) {
			r := rand.New(rand.NewPCG(3, 4))
			kRandBlocks(r, w, kt.blockBytes, kDOffs[kt.name])
			a := kRandActs(r, 1, n)
			rb := n / kQK * kt.blockBytes
			return func(y []float32, w []byte, r0, r1 int) {
				kt.matMul(y[r0:], len(y), w[r0*rb:r1*rb], a, n, 1)
			}
		}})
	}
	for _, pr := range ps {
		rows := (1 << 30) / pr.rb
		w := make([]byte, rows*pr.rb)
		s := uint32(7)
		for i := range w {
			s = s*1664525 + 1013904223
			w[i] = byte(s >> 24)
		}
		run := pr.prepare(w)
		y := make([]float32, rows)
		for _, thr := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/thr%d", pr.name, thr), func(b *testing.B) {
				split := func(f func(r0, r1 int)) time.Duration {
					t0 := time.Now()
					kSplit(rows, thr, f)
					return time.Since(t0)
				}
				sinks := make([]uint32, rows)
				type pass struct{ read, prod float64 }
				var passes []pass
				for b.Loop() {
					dr := split(func(r0, r1 int) { sinks[r0] += ReadSum(w[r0*pr.rb : r1*pr.rb]) })
					dp := split(func(r0, r1 int) { run(y, w, r0, r1) })
					passes = append(passes, pass{float64(len(w)) / dr.Seconds() / 1e9, float64(len(w)) / dp.Seconds() / 1e9})
				}
				var rs, prs, pct float64
				for _, p := range passes {
					rs += p.read
					prs += p.prod
					pct += 100 * p.prod / p.read
				}
				k := float64(len(passes))
				b.ReportMetric(rs/k, "read-GB/s")
				b.ReportMetric(prs/k, "product-GB/s")
				b.ReportMetric(pct/k, "%-of-read")
				slices.SortFunc(passes, func(p, q pass) int { return cmp.Compare(q.read, p.read) })
				top := passes[:max(1, len(passes)/4)]
				pct = 0
				for _, p := range top {
					pct += 100 * p.prod / p.read
				}
				b.ReportMetric(pct/float64(len(top)), "%-of-fast-read")
			})
		}
	}
}
