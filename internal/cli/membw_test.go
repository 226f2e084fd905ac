package cli

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gale-ai/gale/kernels"
	"github.com/gale-ai/gale/tensor"
)

// oldReadJob is the bandwidth probe bench had before --roofline: a sum
// of squares through the thread pool over a heap buffer. Kept as a
// benchmark to compare the two probes in one sitting.
type oldReadJob struct {
	buf  []float32
	sink []float32
}

func (j *oldReadJob) Do(w, lo, hi int) { j.sink[w] += kernels.SumSquares(j.buf[lo:hi]) }

// BenchmarkReadBandwidth compares the bandwidth probe (pinned threads,
// one span each, ReadSum) with the former one (pool + SumSquares) on the
// same machine in one run: go test -bench ReadBandwidth ./internal/cli/.
func BenchmarkReadBandwidth(b *testing.B) {
	for _, threads := range []int{1, 2} {
		b.Run("probe/t="+strconv.Itoa(threads), func(b *testing.B) {
			var best float64
			for b.Loop() {
				best = max(best, slices.Max(memReadGBps(threads, 3)))
			}
			b.ReportMetric(best, "GB/s")
		})
		b.Run("pool-sumsquares/t="+strconv.Itoa(threads), func(b *testing.B) {
			buf := make([]float32, memReadBytes/4)
			for i := range buf {
				buf[i] = 1
			}
			pool := tensor.NewPool(threads)
			defer pool.Close()
			job := &oldReadJob{buf: buf, sink: make([]float32, pool.Size())}
			pool.Run(len(buf), 4096, job)
			var best float64
			for b.Loop() {
				for r := 0; r < 3; r++ {
					t0 := time.Now()
					pool.Run(len(buf), 4096, job)
					best = max(best, float64(memReadBytes)/time.Since(t0).Seconds()/1e9)
				}
			}
			b.ReportMetric(best, "GB/s")
		})
	}
}
