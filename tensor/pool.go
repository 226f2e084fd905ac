package tensor

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

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
//
// Hand-off is by spinning first and sleeping second. A decode step runs
// about five jobs per layer with little serial work between them; waking a
// goroutine parked in the scheduler costs tens of microseconds on a VM,
// which over ~160 jobs per token left a core idle several percent of the
// time. So a worker that finishes a job watches for the next one, and the
// caller for the end of the current one, for spinTime before parking (see
// parker).
type Pool struct {
	n    int
	stop chan struct{}

	// gen is bumped once per job; a worker starts when it sees it change.
	// pending counts the workers still on the job in flight.
	gen     atomic.Uint64
	pending atomic.Int32
	// workers[w] is where worker w sleeps between jobs, caller where the
	// calling goroutine sleeps until pending reaches 0.
	workers []parker
	caller  parker

	// The job in flight, read by workers after they are woken.
	job   Job
	items int
	grain int
	// dynamic: workers take blocks from next in turn instead of one fixed
	// span each.
	dynamic bool
	next    atomic.Int64

	// panics[w] holds a panic raised by worker w during the job in flight,
	// re-raised on the caller's goroutine so that callers can recover it.
	panics []any
}

// spinTime is how long a worker looks for the next job, and the caller
// for the end of the current one, before going to sleep.
const spinTime = 200 * time.Microsecond

// parker is where one goroutine waits for a condition that others make
// true. The waiter spins first; then it announces that it is parked, looks
// at the condition once more and sleeps on wake. Whoever makes the
// condition true calls unpark, which sends only if it is the one to take
// the parked flag back, so every send meets exactly one receive and the
// channel never holds a token between waits. A wake-up can still be
// stale (an unpark meant for the previous job, arriving late), so wait
// checks the condition again after every one.
type parker struct {
	parked atomic.Bool
	wake   chan struct{}
}

func newParker() parker { return parker{wake: make(chan struct{}, 1)} }

// wait returns true once ready() holds, or false if stop is closed first
// (a nil stop never is).
func (k *parker) wait(ready func() bool, stop <-chan struct{}) bool {
	if spin(ready) {
		return true
	}
	for {
		k.parked.Store(true)
		if ready() && k.parked.CompareAndSwap(true, false) {
			return true
		}
		select {
		case <-k.wake:
		case <-stop:
			return false
		}
		if ready() {
			return true
		}
	}
}

// unpark wakes the waiter if it is parked; call it after making its
// condition true.
func (k *parker) unpark() {
	if k.parked.CompareAndSwap(true, false) {
		k.wake <- struct{}{}
	}
}

// spin polls cond for up to spinTime, yielding the processor now and then
// so that a pool with more threads than cores still makes progress.
func spin(cond func() bool) bool {
	deadline := time.Time{}
	for i := 1; ; i++ {
		if cond() {
			return true
		}
		if i%256 == 0 {
			now := time.Now()
			if deadline.IsZero() {
				deadline = now.Add(spinTime)
			} else if now.After(deadline) {
				return false
			}
			runtime.Gosched()
		}
	}
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
	p := &Pool{n: n, stop: make(chan struct{}), caller: newParker()}
	p.workers = make([]parker, n)
	p.panics = make([]any, n)
	for w := 1; w < n; w++ {
		p.workers[w] = newParker()
		go p.worker(w, p.stop)
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

// worker runs worker w's jobs until stop is closed. stop is passed in,
// not read from p, because Close clears p.stop and may run before a new
// worker goroutine has first been scheduled.
func (p *Pool) worker(w int, stop <-chan struct{}) {
	// Weights are memory-mapped: if the file shrinks under us, touching
	// them raises SIGBUS. Turn that into a panic, which do recovers and
	// Run re-raises, instead of a crash of the whole process.
	debug.SetPanicOnFault(true)
	// seen is the generation of the last job this worker ran. The pool
	// was created at generation 0; a job may already be published by the
	// time this goroutine first runs.
	seen := uint64(0)
	for {
		if !p.workers[w].wait(func() bool { return p.gen.Load() != seen }, stop) {
			return
		}
		seen = p.gen.Load()
		p.do(w)
		if p.pending.Add(-1) == 0 {
			p.caller.unpark()
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
			lo, hi, ok := p.take()
			if !ok {
				return
			}
			p.job.Do(w, lo, hi)
		}
	}
	if lo, hi := p.span(w); lo < hi {
		p.job.Do(w, lo, hi)
	}
}

// take claims the next block of a dynamic job: a share of what remains
// (half of it divided among the workers) rounded down to whole grains, at
// least one grain. Blocks shrink as the job drains (guided scheduling): the
// first ones are large, so a worker streams long runs of weights, and the
// last ones are a grain, so the worker that finishes first waits at most
// one small block for the other.
func (p *Pool) take() (lo, hi int, ok bool) {
	for {
		cur := p.next.Load()
		rem := int64(p.items) - cur
		if rem <= 0 {
			return 0, 0, false
		}
		g := int64(p.grain)
		size := max(g, rem/int64(2*p.n)/g*g)
		end := min(int64(p.items), cur+size)
		if p.next.CompareAndSwap(cur, end) {
			return int(cur), int(end), true
		}
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

// RunDynamic is Run with the items handed out in blocks, each to whichever
// worker is free next; blocks are multiples of grain and shrink to one
// grain towards the end (see take). Memory-bound work uses it: two cores
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
	p.pending.Store(int32(workers - 1))
	p.gen.Add(1)
	for w := 1; w < workers; w++ {
		p.workers[w].unpark()
	}
	p.do(0)
	p.caller.wait(func() bool { return p.pending.Load() == 0 }, nil)
	p.job = nil
	for w, r := range p.panics {
		if r != nil {
			clear(p.panics)
			panic(fmt.Sprintf("worker %d: %v", w, r))
		}
	}
}
