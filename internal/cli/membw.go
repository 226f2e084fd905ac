package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gale-ai/gale/kernels"
)

// The machine's ceilings, measured by bench in the same run as the
// models, so that every pp/tg row can say which fraction of the hardware
// it uses. The hosts of one machine class differ by 10% and more, and a
// noisy neighbour changes them from hour to hour: a ceiling from another
// run, or another host, would make the percentages say nothing.
//
// A ceiling that is too low makes every percentage a flattering lie, so
// the probes are built to reach what a tuned C loop reaches:
//   - read bandwidth: threads pinned to their own CPUs taking 8 MiB
//     chunks as they go (see memReadGBps), the buffer mapped
//     outside the Go heap (see hugeBuffer for why not with huge pages),
//     no work but the loads (the old probe ran an FMA per element
//     through the thread pool), and the widest vector loads
//     (kernels.ReadSum). The best repetition is the ceiling.
//   - instruction peaks: kernels' probe loops (12 independent
//     accumulators), on every thread, timed over ~50 ms.

// memReadTest is the test name of the memory-bandwidth rows of bench.
const memReadTest = "mem_read"

// memReadBytes is the buffer the bandwidth probe streams: well beyond the
// last-level cache (some VMs report hundreds of MB), as the C probe in
// the project's bench notes does with 2 GiB.
var memReadBytes = 2 << 30

// onThreads runs f(i) on n goroutines, each locked to its own OS thread
// and, with pin and where the OS allows, pinned to its own CPU; it
// returns when all are done. ready runs once all have started (the
// caller releases them together from it).
func onThreads(n int, pin bool, ready func(), f func(i int)) {
	var cpus []int
	if pin {
		cpus = allowedCPUs()
	}
	var wg sync.WaitGroup
	var up sync.WaitGroup
	wg.Add(n)
	up.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			restore := func() {}
			if len(cpus) > 0 {
				restore = pinThread(cpus[i%len(cpus)])
			}
			up.Done()
			f(i)
			restore()
		}(i)
	}
	up.Wait()
	if ready != nil {
		ready()
	}
	wg.Wait()
}

// readChunk is the unit of work of the bandwidth probe's threads: large
// enough that each is one long sequential stream for the prefetchers,
// small enough (256 per 2 GiB) that the threads finish together.
const readChunk = 8 << 20

// memReadGBps measures how fast threads CPUs read memory, reps times,
// and returns the samples in GB/s. The buffer is unmapped on return.
//
// The threads are pinned to their own CPUs and take chunks of the buffer
// as they go (an atomic counter). Unpinned, the scheduler left both
// threads on one CPU for whole passes: on this machine class, in one
// sitting, 2 unpinned threads read 13.7-14.6 GB/s, as much as one (14.0),
// and as much as the C OpenMP loop then (14.3), while pinned threads read
// up to 27.2. Dynamic chunks keep a thread whose CPU is busy with another
// process from stretching the pass as a fixed half would. The machine's
// bandwidth moved between 14 and 27 GB/s from minute to minute in that
// sitting (other VMs), hence two sittings and the best sample.
// BenchmarkReadBandwidth compares the variants.
func memReadGBps(threads, reps int) []float64 { return memReadGBpsMode(threads, reps, true, true) }

// memReadGBpsMode is memReadGBps with the thread placement and the work
// split chosen (pinned threads, dynamic chunks or fixed spans).
func memReadGBpsMode(threads, reps int, pin, dynamic bool) []float64 {
	buf, free := hugeBuffer(memReadBytes)
	defer func() {
		free()
		debug.FreeOSMemory()
	}()
	chunks := readChunks([][]byte{buf})
	// Pages are populated by the mapping (or touched here on the heap
	// fallback); one untimed pass then warms page tables and frequencies.
	for j := 0; j < len(buf); j += 4096 {
		buf[j] = 1
	}
	var samples []float64
	for r := -1; r < reps; r++ {
		d := readPass(chunks, threads, pin, dynamic)
		if r >= 0 {
			samples = append(samples, float64(len(buf))/d.Seconds()/1e9)
		}
	}
	return samples
}

// readChunks cuts spans into the probe's units of work, readChunk bytes
// or a span's remainder, in order.
func readChunks(spans [][]byte) [][]byte {
	var out [][]byte
	for _, s := range spans {
		for len(s) > 0 {
			n := min(len(s), readChunk)
			out = append(out, s[:n])
			s = s[n:]
		}
	}
	return out
}

// readPass reads every chunk once with the widest vector loads on
// threads threads (pinned with pin; taking chunks as they go with
// dynamic, fixed contiguous shares otherwise) and returns how long the
// pass took, from the moment all threads had started.
func readPass(chunks [][]byte, threads int, pin, dynamic bool) time.Duration {
	sink := make([]uint32, threads)
	start := make(chan struct{})
	var next atomic.Int64
	var t0 time.Time
	onThreads(threads, pin, func() { t0 = time.Now(); close(start) }, func(i int) {
		<-start
		if !dynamic {
			lo, hi := len(chunks)*i/threads, len(chunks)*(i+1)/threads
			for _, c := range chunks[lo:hi] {
				sink[i] += kernels.ReadSum(c)
			}
			return
		}
		for {
			c := int(next.Add(1) - 1)
			if c >= len(chunks) {
				return
			}
			sink[i] += kernels.ReadSum(chunks[c])
		}
	})
	return time.Since(t0)
}

// probeGops measures probe p on threads CPUs at once, reps times, in
// GFLOP/s (or GOP/s), each sample ~target long.
func probeGops(p kernels.Probe, threads, reps int, target time.Duration) []float64 {
	// Calibrate: iterations that take about target on one thread.
	iters := 1000
	for {
		t0 := time.Now()
		kernels.RunProbe(p, iters)
		d := time.Since(t0)
		if d >= target/8 || iters > 1<<30 {
			iters = int(float64(iters) * float64(target) / float64(max(d, time.Microsecond)))
			break
		}
		iters *= 4
	}
	// The work is handed out in 16 units per thread, taken as the
	// threads go, for the reason memReadGBps gives.
	const units = 16
	unit := max(iters/units, 1)
	var samples []float64
	for r := -1; r < reps; r++ {
		start := make(chan struct{})
		var t0 time.Time
		var next atomic.Int64
		ops := make([]float64, threads)
		onThreads(threads, true, func() { t0 = time.Now(); close(start) }, func(i int) {
			<-start
			for next.Add(1) <= int64(units*threads) {
				ops[i] += kernels.RunProbe(p, unit)
			}
		})
		d := time.Since(t0)
		var total float64
		for _, o := range ops {
			total += o
		}
		if r >= 0 {
			samples = append(samples, total/d.Seconds()/1e9)
		}
	}
	return samples
}

// probeTime is how long one sample of an instruction probe runs (tests
// shorten it).
var probeTime = 50 * time.Millisecond

// probeRowNames names the probe rows of the bench table.
var probeRowNames = map[kernels.Probe]string{
	kernels.ProbeFMA512:     "f32 FMA zmm",
	kernels.ProbeFMA256:     "f32 FMA ymm",
	kernels.ProbeVNNI512:    "int8 VPDPBUSD zmm",
	kernels.ProbeMaddubs256: "int8 VPMADDUBSW ymm",
	kernels.ProbeAMXBF16:    "AMX TDPBF16PS",
	kernels.ProbeAMXInt8:    "AMX TDPBSSD",
}

// measureCeilings measures the read bandwidth and, with probes, every
// instruction peak available under the feature set in use, at threads
// threads, as rows of the table. note reports
// what could not be measured.
func measureCeilings(threads, reps int, probes bool, note func(string)) []benchResult {
	reps = max(reps, 3)
	var rows []benchResult
	row := func(name, test string, samples []float64) benchResult {
		r := benchResult{
			Model: name, ModelType: name, DType: "-", Threads: threads, NThreads: threads,
			Test: test, Kernels: kernelLevel(),
		}
		r.SamplesCeiling, r.ceilRow = samples, true
		return r
	}
	bw := memReadGBps(threads, reps)
	r := row("memory read", memReadTest, bw)
	r.SizeBytes, r.ModelSize = int64(memReadBytes), int64(memReadBytes)
	r.GBps = slices.Max(bw)
	rows = append(rows, r)
	if !probes {
		return rows
	}
	for _, p := range kernels.Probes() {
		if !kernels.ProbeAvailable(p) {
			if p == kernels.ProbeAMXBF16 || p == kernels.ProbeAMXInt8 {
				note(fmt.Sprintf("no %s ceiling: AMX is not in use (kernels %s)", p, kernelLevel()))
			}
			continue
		}
		s := probeGops(p, threads, reps, probeTime)
		r := row(probeRowNames[p], "peak_"+p.String(), s)
		r.GFLOPs = slices.Max(s)
		r.intOps = !p.Float()
		rows = append(rows, r)
	}
	return rows
}

// ppProbe is the instruction whose ceiling a prefill of weights of the
// given dtypes is compared with: the int8 dot products for block types
// (the kernels quantize activations to int8), f32 FMA for float weights;
// AMX's where the feature set in use has it.
func ppProbe(dtypes []string) (kernels.Probe, bool) {
	f := kernels.CurrentFeatures()
	quant, bf16 := false, false
	for _, d := range dtypes {
		switch d {
		case "F32", "F16":
		case "BF16":
			bf16 = true
		default:
			quant = true
		}
	}
	switch {
	case quant && f.Has(kernels.FeatAMX):
		return kernels.ProbeAMXInt8, true
	case quant && f.Has(kernels.FeatAVX512|kernels.FeatVNNI):
		return kernels.ProbeVNNI512, true
	case quant && f.Has(kernels.FeatAVX2):
		return kernels.ProbeMaddubs256, true
	case !quant && bf16 && f.Has(kernels.FeatAMX):
		return kernels.ProbeAMXBF16, true
	case !quant && f.Has(kernels.FeatAVX512):
		return kernels.ProbeFMA512, true
	case !quant && f.Has(kernels.FeatAVX2):
		return kernels.ProbeFMA256, true
	}
	return 0, false
}
