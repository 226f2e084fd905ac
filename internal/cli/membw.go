package cli

import (
	"runtime/debug"
	"time"

	"github.com/gale-ai/gale/kernels"
	"github.com/gale-ai/gale/tensor"
)

// memReadTest is the test name of the memory-bandwidth rows of bench.
const memReadTest = "mem_read"

// memReadBytes is the buffer the bandwidth probe streams: well beyond the
// last-level cache (some VMs report hundreds of MB), as the C probe in
// the project's bench notes does with 2 GiB.
const memReadBytes = 2 << 30

// memReadJob sums the squares of a span of the buffer per worker: one
// sequential stream per core, the access pattern of the reference probe.
type memReadJob struct {
	buf  []float32
	sink []float32
}

func (j *memReadJob) Do(w, lo, hi int) {
	j.sink[w] += kernels.SumSquares(j.buf[lo:hi])
}

// memReadBench measures how fast threads cores read memory, reps times:
// the ceiling that decode (which reads every weight once per token) is
// compared with. The buffer is freed before returning.
func memReadBench(threads, reps int) benchResult {
	buf := make([]float32, memReadBytes/4)
	for i := range buf {
		buf[i] = 1 // touch every page, so the timed runs read real memory
	}
	pool := tensor.NewPool(threads)
	defer pool.Close()
	job := &memReadJob{buf: buf, sink: make([]float32, pool.Size())}
	pool.Run(len(buf), 4096, job) // warm-up: page tables, frequencies
	r := benchResult{
		Model: "memory read", DType: "f32", SizeBytes: memReadBytes,
		Threads: pool.Size(), Test: memReadTest, Kernels: kernelLevel(),
	}
	var gbps []float64
	for i := 0; i < reps; i++ {
		t0 := time.Now()
		pool.Run(len(buf), 4096, job)
		d := time.Since(t0)
		r.SamplesNS = append(r.SamplesNS, d.Nanoseconds())
		gbps = append(gbps, float64(memReadBytes)/d.Seconds()/1e9)
	}
	r.GBps, _ = meanStddev(gbps)
	r.PeakRSSBytes = peakRSS()
	job.buf, buf = nil, nil
	debug.FreeOSMemory()
	return r
}
