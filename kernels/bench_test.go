package kernels

// Benchmarks of every kernel at every level, named Benchmark<Kernel>/<level>/<shape>,
// at Mistral-7B shapes. Matrix-vector products report GB/s of weight bytes
// (the decode bound); matrix products GFLOP/s (2*T*rows*n per call).
//
// The matrix-vector weights of one shape are 32-524 MB, which this
// machine's 260 MB L3 partly holds between runs; GALE_BENCH_DRAM=1 rotates
// among enough copies (>= 1 GiB) that every run reads from DRAM. The
// default (one copy) keeps `go test -bench . -benchtime 1x` quick.
// GALE_BENCH_ALL=1 also runs the slow generic matrix products at T=512.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// bkLevels runs f as a sub-benchmark per supported level and restores the
// level in use afterwards.
func bkLevels(b *testing.B, f func(b *testing.B, l Level)) {
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	for _, l := range Levels() {
		if err := SetLevel(l); err != nil {
			b.Fatal(err)
		}
		b.Run(l.String(), func(b *testing.B) { f(b, l) })
	}
}

type bkShape struct{ rows, n int }

func (s bkShape) String() string { return fmt.Sprintf("%dx%d", s.rows, s.n) }

var bkMatVecShapes = []bkShape{{4096, 4096}, {14336, 4096}, {4096, 14336}, {32000, 4096}}

// bkCopies is how many copies of a weight matrix of the given size to
// rotate among.
func bkCopies(bytes int) int {
	if os.Getenv("GALE_BENCH_DRAM") == "" {
		return 1
	}
	return max(2, (1<<30)/bytes+1)
}

// bkFillU16 fills w with bf16/f16 patterns of moderate magnitude (exponent
// bits 0x3c.. in both formats are finite, non-subnormal values).
func bkFillU16(w []uint16) {
	s := uint32(12345)
	for i := range w {
		s = s*1664525 + 1013904223
		w[i] = 0x3800 | uint16(s>>20)&0x87ff
	}
}

func bkFillF32(w []float32) {
	s := uint32(12345)
	for i := range w {
		s = s*1664525 + 1013904223
		w[i] = float32(int32(s>>8)-1<<23) / (1 << 24)
	}
}

// bkMatVec benchmarks one matvec kernel; esize is the weight element
// size; alloc prepares a shape's weight copies (all shapes stay allocated:
// about 1 GB for f32, so that the level loop can be the outer one).
func bkMatVec(b *testing.B, esize int, run func(y []float32, shape bkShape, copyIdx int, x []float32), alloc func(shape bkShape, copies int)) {
	copies := map[bkShape]int{}
	for _, sh := range bkMatVecShapes {
		copies[sh] = bkCopies(sh.rows * sh.n * esize)
		alloc(sh, copies[sh])
	}
	bkLevels(b, func(b *testing.B, l Level) {
		for _, sh := range bkMatVecShapes {
			bytes := sh.rows * sh.n * esize
			x := make([]float32, sh.n)
			bkFillF32(x)
			y := make([]float32, sh.rows)
			b.Run(sh.String(), func(b *testing.B) {
				b.SetBytes(int64(bytes))
				for i := 0; b.Loop(); i++ {
					run(y, sh, i%copies[sh], x)
				}
				b.ReportMetric(float64(bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
			})
		}
	})
}

func BenchmarkMatVecF32(b *testing.B) {
	ws := map[bkShape][][]float32{}
	bkMatVec(b, 4, func(y []float32, sh bkShape, c int, x []float32) { MatVecF32(y, ws[sh][c], x) },
		func(sh bkShape, copies int) {
			for range copies {
				w := make([]float32, sh.rows*sh.n)
				bkFillF32(w)
				ws[sh] = append(ws[sh], w)
			}
		})
}

func bkMatVecU16(b *testing.B, kernel func(y []float32, w []uint16, x []float32)) {
	ws := map[bkShape][][]uint16{}
	bkMatVec(b, 2, func(y []float32, sh bkShape, c int, x []float32) { kernel(y, ws[sh][c], x) },
		func(sh bkShape, copies int) {
			for range copies {
				w := make([]uint16, sh.rows*sh.n)
				bkFillU16(w)
				ws[sh] = append(ws[sh], w)
			}
		})
}

func BenchmarkMatVecBF16(b *testing.B) { bkMatVecU16(b, MatVecBF16) }
func BenchmarkMatVecF16(b *testing.B)  { bkMatVecU16(b, MatVecF16) }

var bkMatMulShapes = []bkShape{{4096, 4096}, {14336, 4096}, {4096, 14336}}

// bkMatMul benchmarks a matrix product at T = 64 and 512 tokens; alloc
// prepares the weights of a shape.
func bkMatMul(b *testing.B, run func(y []float32, x []float32, t int, shape bkShape), alloc func(shape bkShape)) {
	all := os.Getenv("GALE_BENCH_ALL") != ""
	for _, sh := range bkMatMulShapes {
		alloc(sh)
	}
	bkLevels(b, func(b *testing.B, l Level) {
		for _, t := range []int{64, 512} {
			for _, sh := range bkMatMulShapes {
				if l == Generic && (t == 512 || sh.rows*sh.n > 4096*4096) && !all {
					continue // minutes per run in pure Go; GALE_BENCH_ALL=1
				}
				x := make([]float32, t*sh.n)
				bkFillF32(x)
				y := make([]float32, t*sh.rows)
				b.Run(fmt.Sprintf("T%d/%s", t, sh), func(b *testing.B) {
					for b.Loop() {
						run(y, x, t, sh)
					}
					flop := 2 * float64(t) * float64(sh.rows) * float64(sh.n)
					b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	})
}

func BenchmarkMatMulF32(b *testing.B) {
	w := map[bkShape][]float32{}
	bkMatMul(b, func(y, x []float32, t int, sh bkShape) { MatMulF32(y, sh.rows, x, t, w[sh]) },
		func(sh bkShape) { w[sh] = make([]float32, sh.rows*sh.n); bkFillF32(w[sh]) })
}

func BenchmarkMatMulBF16(b *testing.B) {
	w := map[bkShape][]uint16{}
	bkMatMul(b, func(y, x []float32, t int, sh bkShape) { MatMulBF16(y, sh.rows, x, t, w[sh]) },
		func(sh bkShape) { w[sh] = make([]uint16, sh.rows*sh.n); bkFillU16(w[sh]) })
}

func BenchmarkMatMulF16(b *testing.B) {
	w := map[bkShape][]uint16{}
	bkMatMul(b, func(y, x []float32, t int, sh bkShape) { MatMulF16(y, sh.rows, x, t, w[sh]) },
		func(sh bkShape) { w[sh] = make([]uint16, sh.rows*sh.n); bkFillU16(w[sh]) })
}

// bkElem benchmarks an element-wise kernel over n values, reporting the
// bytes it reads and writes per call.
func bkElem(b *testing.B, sizes []int, bytesPer int, run func(n int) func()) {
	bkLevels(b, func(b *testing.B, l Level) {
		for _, n := range sizes {
			f := run(n)
			b.Run(fmt.Sprint(n), func(b *testing.B) {
				b.SetBytes(int64(n * bytesPer))
				for b.Loop() {
					f()
				}
			})
		}
	})
}

func bkVec(n int) []float32 {
	x := make([]float32, n)
	bkFillF32(x)
	return x
}

func BenchmarkDotBF16(b *testing.B) {
	bkElem(b, []int{4096, 14336}, 6, func(n int) func() {
		x, w := bkVec(n), make([]uint16, n)
		bkFillU16(w)
		return func() { DotBF16(x, w) }
	})
}

func BenchmarkSoftmax(b *testing.B) {
	bkElem(b, []int{512, 4096, 32000}, 8, func(n int) func() {
		x := bkVec(n)
		return func() { Softmax(x) }
	})
}

func BenchmarkRMSNorm(b *testing.B) {
	bkElem(b, []int{4096}, 12, func(n int) func() {
		x, w, o := bkVec(n), bkVec(n), make([]float32, n)
		return func() { RMSNorm(o, x, w, 1e-5) }
	})
}

func BenchmarkSwiGLU(b *testing.B) {
	bkElem(b, []int{14336}, 12, func(n int) func() {
		g, u, o := bkVec(n), bkVec(n), make([]float32, n)
		return func() { SwiGLU(o, g, u) }
	})
}

func BenchmarkAdd(b *testing.B) {
	bkElem(b, []int{4096}, 12, func(n int) func() {
		d, x := bkVec(n), bkVec(n)
		return func() { Add(d, x) }
	})
}

func BenchmarkScale(b *testing.B) {
	bkElem(b, []int{4096}, 8, func(n int) func() {
		x := bkVec(n)
		return func() { Scale(x, 1) }
	})
}

func BenchmarkRoPEHalf(b *testing.B) {
	bkElem(b, []int{4096}, 8, func(n int) func() {
		x, c, s := bkVec(n), bkVec(64), bkVec(64)
		return func() { RoPEHalf(x, c, s) }
	})
}

func BenchmarkRoPEPairs(b *testing.B) {
	bkElem(b, []int{4096}, 8, func(n int) func() {
		x, c, s := bkVec(n), bkVec(64), bkVec(64)
		return func() { RoPEPairs(x, c, s) }
	})
}

// Attention over n cached positions of one 128-dim head: scores and the
// weighted sum of values (f32 and f16 caches); bytes are the cache bytes.
func BenchmarkScores(b *testing.B) {
	bkElem(b, []int{512, 4096}, 128*4, func(n int) func() {
		q, k, s := bkVec(128), bkVec(128*n), make([]float32, n)
		return func() { Scores(s, q, k, 128, 0.088) }
	})
}

func BenchmarkScoresF16(b *testing.B) {
	bkElem(b, []int{512, 4096}, 128*2, func(n int) func() {
		q, k, s := bkVec(128), make([]uint16, 128*n), make([]float32, n)
		bkFillU16(k)
		return func() { ScoresF16(s, q, k, 128, 0.088) }
	})
}

func BenchmarkWeightedSum(b *testing.B) {
	bkElem(b, []int{512, 4096}, 128*4, func(n int) func() {
		p, v, o := bkVec(n), bkVec(128*n), make([]float32, 128)
		return func() { WeightedSum(o, p, v, 128) }
	})
}

func BenchmarkWeightedSumF16(b *testing.B) {
	bkElem(b, []int{512, 4096}, 128*2, func(n int) func() {
		p, v, o := bkVec(n), make([]uint16, 128*n), make([]float32, 128)
		bkFillU16(v)
		return func() { WeightedSumF16(o, p, v, 128) }
	})
}

func BenchmarkBF16ToF32(b *testing.B) {
	bkElem(b, []int{4096}, 6, func(n int) func() {
		s, d := make([]uint16, n), make([]float32, n)
		bkFillU16(s)
		return func() { BF16ToF32(d, s) }
	})
}

func BenchmarkF16ToF32(b *testing.B) {
	bkElem(b, []int{4096}, 6, func(n int) func() {
		s, d := make([]uint16, n), make([]float32, n)
		bkFillU16(s)
		return func() { F16ToF32(d, s) }
	})
}

func BenchmarkF32ToF16(b *testing.B) {
	bkElem(b, []int{4096}, 6, func(n int) func() {
		s, d := bkVec(n), make([]uint16, n)
		return func() { F32ToF16(d, s) }
	})
}

// benchTokens is def, or the token counts of GALE_BENCH_TOKENS (a comma
// list), to run a crossover benchmark at a few counts only.
func benchTokens(def []int) []int {
	s := os.Getenv("GALE_BENCH_TOKENS")
	if s == "" {
		return def
	}
	var t []int
	for _, f := range strings.Split(s, ",") {
		if v, err := strconv.Atoi(f); err == nil && v > 0 {
			t = append(t, v)
		}
	}
	return t
}
