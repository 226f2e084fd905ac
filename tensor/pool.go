package tensor

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/klauspost/cpuid/v2"
)

// Job is a piece of parallel work: Do handles items [lo, hi) on the given
// worker (0 <= worker < Pool.Size()). Jobs are passed as pointers to
// long-lived structs so that dispatch allocates nothing.
type Job interface {
	Do(worker, lo, hi int)
}

// Pool is a fixed set of worker goroutines that live as long as the pool.
// The calling goroutine works as worker 0, so a pool of size 1 runs
// everything inline. A Pool runs one Job at a time: Run is not reentrant
// and must not be called from several goroutines at once.
type Pool struct {
	n     int
	start []chan struct{}
	wg    sync.WaitGroup
	stop  chan struct{}

	// The job in flight, read by workers after they are woken.
	job   Job
	items int
	grain int
	// dynamic: workers take grain-sized blocks from next in turn instead
	// of one fixed span each.
	dynamic bool
	next    atomic.Int64

	// panics[w] holds a panic raised by worker w during the job in flight,
	// re-raised on the caller's goroutine so that callers can recover it.
	panics []any
}

// DefaultThreads is the number of physical cores, the thread count that
// keeps every core's load/FMA units busy without hyper-thread contention.
func DefaultThreads() int {
	n := cpuid.CPU.PhysicalCores
	if n <= 0 || n > runtime.NumCPU() {
		n = runtime.NumCPU()
	}
	if n < 1 {
		n = 1
	}
	return n
}

// NewPool starts a pool of n workers (n <= 0 means DefaultThreads).
func NewPool(n int) *Pool {
	if n <= 0 {
		n = DefaultThreads()
	}
	p := &Pool{n: n, stop: make(chan struct{})}
	p.start = make([]chan struct{}, n)
	p.panics = make([]any, n)
	for w := 1; w < n; w++ {
		p.start[w] = make(chan struct{}, 1)
		go p.worker(w)
	}
	return p
}

// Size is the number of workers, the caller included.
func (p *Pool) Size() int { return p.n }

// Close stops the worker goroutines. The pool must be idle.
func (p *Pool) Close() {
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
	}
}

func (p *Pool) worker(w int) {
	// Weights are memory-mapped: if the file shrinks under us, touching
	// them raises SIGBUS. Turn that into a panic, which do recovers and
	// Run re-raises, instead of a crash of the whole process.
	debug.SetPanicOnFault(true)
	stop := p.stop
	for {
		select {
		case <-p.start[w]:
			p.do(w)
			p.wg.Done()
		case <-stop:
			return
		}
	}
}

// do runs worker w's span of the job, catching a panic for Run.
func (p *Pool) do(w int) {
	defer func() {
		if r := recover(); r != nil {
			p.panics[w] = r
		}
	}()
	if p.dynamic {
		for {
			lo := int(p.next.Add(int64(p.grain))) - p.grain
			if lo >= p.items {
				return
			}
			p.job.Do(w, lo, min(lo+p.grain, p.items))
		}
	}
	if lo, hi := p.span(w); lo < hi {
		p.job.Do(w, lo, hi)
	}
}

// span is worker w's contiguous share of the items, in multiples of the
// grain so that kernels see whole row blocks.
func (p *Pool) span(w int) (lo, hi int) {
	blocks := (p.items + p.grain - 1) / p.grain
	b0 := blocks * w / p.n
	b1 := blocks * (w + 1) / p.n
	lo, hi = b0*p.grain, b1*p.grain
	if hi > p.items {
		hi = p.items
	}
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

// Run splits items [0, n) into one contiguous span per worker (multiples of
// grain, the last one shorter) and runs job on all of them, returning when
// every span is done. A panic in any worker is re-raised here, after all
// workers have finished.
func (p *Pool) Run(n, grain int, job Job) { p.run(n, grain, job, false) }

// RunDynamic is Run with the items handed out in grain-sized blocks, each
// to whichever worker is free next. Memory-bound work uses it: two cores
// sharing the memory bus rarely finish equal halves at the same moment,
// and with fixed spans the first one done would sit idle.
func (p *Pool) RunDynamic(n, grain int, job Job) { p.run(n, grain, job, true) }

func (p *Pool) run(n, grain int, job Job, dynamic bool) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	// The caller works too, on mapped weights: see worker.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	workers := p.n
	if (n+grain-1)/grain < 2 || workers == 1 {
		job.Do(0, 0, n)
		return
	}
	p.job, p.items, p.grain, p.dynamic = job, n, grain, dynamic
	p.next.Store(0)
	p.wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		p.start[w] <- struct{}{}
	}
	p.do(0)
	p.wg.Wait()
	p.job = nil
	for w, r := range p.panics {
		if r != nil {
			clear(p.panics)
			panic(fmt.Sprintf("worker %d: %v", w, r))
		}
	}
}
