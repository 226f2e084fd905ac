package tensor

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gale-ai/gale/kernels"
)

// countJob records how often each item was handed out and by which worker.
type countJob struct {
	hits    []atomic.Int32
	workers []atomic.Int32
}

func (c *countJob) Do(w, lo, hi int) {
	c.workers[w].Add(1)
	for i := lo; i < hi; i++ {
		c.hits[i].Add(1)
	}
}

// TestPoolCoversEveryItemOnce runs jobs of many sizes and grains on pools
// of several sizes: every item must be done exactly once, and spans must
// start on multiples of the grain.
func TestPoolCoversEveryItemOnce(t *testing.T) {
	for _, size := range []int{1, 2, 3, 5} {
		p := NewPool(size)
		for _, n := range []int{1, 2, 3, 7, 16, 17, 100, 1000} {
			for _, grain := range []int{1, 4, 16} {
				for rep := 0; rep < 3; rep++ {
					job := &countJob{hits: make([]atomic.Int32, n), workers: make([]atomic.Int32, size)}
					run, mode := p.Run, "Run"
					if rep%2 == 1 {
						run, mode = p.RunDynamic, "RunDynamic"
					}
					run(n, grain, job)
					for i := range job.hits {
						if h := job.hits[i].Load(); h != 1 {
							t.Fatalf("%s: pool %d, n %d, grain %d: item %d done %d times", mode, size, n, grain, i, h)
						}
					}
				}
			}
		}
		p.Close()
	}
}

// sumJob counts the items it was given.
type sumJob struct{ done atomic.Int64 }

func (j *sumJob) Do(_, lo, hi int) { j.done.Add(int64(hi - lo)) }

// TestPoolBackToBackJobs runs thousands of short jobs in a row, as a decode
// step does, with pauses longer than spinTime now and then so that workers
// and caller go through both the spinning and the parked hand-off: every
// job must be complete when Run returns, and none may hang. (Under -race
// this also checks that job fields are handed over with happens-before.)
func TestPoolBackToBackJobs(t *testing.T) {
	for _, size := range []int{2, 3, 4} {
		p := NewPool(size)
		var j sumJob
		for i := 0; i < 3000; i++ {
			if i%100 == 99 {
				time.Sleep(2 * spinTime)
			}
			j.done.Store(0)
			if i%2 == 0 {
				p.RunDynamic(64, 16, &j)
			} else {
				p.Run(64, 16, &j)
			}
			if d := j.done.Load(); d != 64 {
				t.Fatalf("pool %d, job %d: Run returned with %d of 64 items done", size, i, d)
			}
		}
		p.Close()
	}
}

// TestPoolSpansAlignToGrain checks the split directly.
func TestPoolSpansAlignToGrain(t *testing.T) {
	p := &Pool{n: 3, items: 100, grain: 16}
	prev := 0
	for w := 0; w < 3; w++ {
		lo, hi := p.span(w)
		if lo != prev || lo%16 != 0 {
			t.Fatalf("worker %d: span [%d,%d) after %d", w, lo, hi, prev)
		}
		prev = hi
	}
	if prev != 100 {
		t.Fatalf("spans end at %d, want 100", prev)
	}
}

// blockJob records the blocks a job was handed, in order of hand-out.
type blockJob struct {
	mu     sync.Mutex
	blocks [][2]int
}

func (b *blockJob) Do(_, lo, hi int) {
	b.mu.Lock()
	b.blocks = append(b.blocks, [2]int{lo, hi})
	b.mu.Unlock()
}

// TestDynamicBlocksShrinkToGrain checks the guided hand-out of RunDynamic
// on one worker (so the order is deterministic): blocks tile the range,
// start on multiples of the grain, never grow, and end at one grain.
func TestDynamicBlocksShrinkToGrain(t *testing.T) {
	p := &Pool{n: 2, items: 4096, grain: 16}
	var blocks [][2]int
	for {
		lo, hi, ok := p.take()
		if !ok {
			break
		}
		blocks = append(blocks, [2]int{lo, hi})
	}
	prev, prevSize := 0, 4096
	for _, b := range blocks {
		size := b[1] - b[0]
		if b[0] != prev || b[0]%16 != 0 || size < 16 || size > prevSize {
			t.Fatalf("blocks %v: bad block %v", blocks, b)
		}
		prev, prevSize = b[1], size
	}
	if prev != 4096 || prevSize != 16 || blocks[0][1] != 1024 {
		t.Fatalf("blocks %v: want 1024 first, 16 last, ending at 4096", blocks)
	}
	// On a live pool the blocks still tile the range exactly.
	pool := NewPool(2)
	defer pool.Close()
	job := &blockJob{}
	pool.RunDynamic(1000, 16, job)
	covered := 0
	for _, b := range job.blocks {
		covered += b[1] - b[0]
	}
	if covered != 1000 {
		t.Fatalf("blocks %v cover %d items, want 1000", job.blocks, covered)
	}
}

// TestLinearMatchesPlainLoop compares the pooled product for every dtype,
// t = 1 (matrix-vector) and t > 1 (matrix product), with a float64 loop.
func TestLinearMatchesPlainLoop(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, threads := range []int{1, 2, 3} {
		p := NewPool(threads)
		for _, dt := range []DType{F32, BF16, F16} {
			// The last shape is several of the blocks of rows the
			// workers take in turn for a matrix product (matGrain).
			for _, shape := range [][3]int{{1, 37, 5}, {1, 64, 70}, {4, 33, 19}, {9, 128, 48}, {5, 2*matGrain + 37, 21}} {
				tt, rows, n := shape[0], shape[1], shape[2]
				raw := make([]byte, rows*n*dt.Size())
				ref := make([]float64, rows*n)
				for i := range ref {
					f := float32(r.NormFloat64())
					switch dt {
					case F32:
						binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
						ref[i] = float64(f)
					case BF16:
						h := kernels.FloatToBF16(f)
						binary.LittleEndian.PutUint16(raw[2*i:], h)
						ref[i] = float64(kernels.BF16ToFloat(h))
					case F16:
						h := kernels.FloatToF16(f)
						binary.LittleEndian.PutUint16(raw[2*i:], h)
						ref[i] = float64(kernels.F16ToFloat(h))
					}
				}
				w, err := New("w", dt, []int{rows, n}, raw)
				if err != nil {
					t.Fatal(err)
				}
				x := make([]float32, tt*n)
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				y := make([]float32, tt*rows)
				var lin Linear
				p.MatMul(&lin, y, x, tt, w)
				for i := 0; i < tt; i++ {
					for j := 0; j < rows; j++ {
						var want, mag float64
						for k := 0; k < n; k++ {
							want += float64(x[i*n+k]) * ref[j*n+k]
							mag += math.Abs(float64(x[i*n+k]) * ref[j*n+k])
						}
						if d := math.Abs(float64(y[i*rows+j]) - want); d > 1e-5*mag+1e-6 {
							t.Fatalf("%v t=%d %dx%d threads %d: y[%d,%d] = %v, want %v", dt, tt, rows, n, threads, i, j, y[i*rows+j], want)
						}
					}
				}
			}
		}
		p.Close()
	}
}

// TestNewRejectsBadSizes checks the shape/length validation and that
// misaligned data is still read correctly (copied).
func TestNewRejectsBadSizes(t *testing.T) {
	if _, err := New("a", F32, []int{2, 3}, make([]byte, 23)); err == nil {
		t.Fatal("23 bytes accepted for F32 [2 3]")
	}
	if _, err := New("a", F32, []int{-1}, nil); err == nil {
		t.Fatal("negative dimension accepted")
	}
	buf := make([]byte, 13)
	binary.LittleEndian.PutUint32(buf[1:], math.Float32bits(1.5))
	binary.LittleEndian.PutUint32(buf[5:], math.Float32bits(-2))
	binary.LittleEndian.PutUint32(buf[9:], math.Float32bits(3))
	tt, err := New("a", F32, []int{3}, buf[1:])
	if err != nil {
		t.Fatal(err)
	}
	if got := tt.F32(); got[0] != 1.5 || got[1] != -2 || got[2] != 3 {
		t.Fatalf("misaligned data read as %v", got)
	}
}

type panicJob struct{ at int }

func (j *panicJob) Do(_, lo, hi int) {
	if lo <= j.at && j.at < hi {
		panic("boom")
	}
}

// TestPoolReraisesWorkerPanics: a panic on any worker reaches the caller
// (where the CLI turns it into an error), and the pool stays usable.
func TestPoolReraisesWorkerPanics(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	for _, at := range []int{0, 50, 99} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Fatalf("panic at item %d not re-raised", at)
				}
			}()
			p.Run(100, 1, &panicJob{at: at})
		}()
	}
	job := &countJob{hits: make([]atomic.Int32, 10), workers: make([]atomic.Int32, 3)}
	p.Run(10, 1, job)
	for i := range job.hits {
		if job.hits[i].Load() != 1 {
			t.Fatal("pool broken after a panic")
		}
	}
}

// TestMatMulsSharedInput: three matrices of different heights over one
// input, in one pass, each checked against a float64 loop.
func TestMatMulsSharedInput(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 72
	for _, threads := range []int{1, 2, 3} {
		p := NewPool(threads)
		for _, tt := range []int{1, 5} {
			x := make([]float32, tt*n)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			var ws []*Tensor
			var ys [][]float32
			// Blocks of matGrain rows straddle the matrices.
			for _, rows := range []int{matGrain + 120, matGrain - 100, 37} {
				v := make([]float32, rows*n)
				for i := range v {
					v[i] = float32(r.NormFloat64())
				}
				ws = append(ws, FromF32("w", []int{rows, n}, v))
				ys = append(ys, make([]float32, tt*rows))
			}
			var lin Linear
			p.MatMuls(&lin, x, tt, ys, ws)
			for m, w := range ws {
				rows := w.Rows()
				for i := 0; i < tt; i++ {
					for j := 0; j < rows; j++ {
						var want, mag float64
						for k := 0; k < n; k++ {
							want += float64(x[i*n+k]) * float64(w.F32()[j*n+k])
							mag += math.Abs(float64(x[i*n+k]) * float64(w.F32()[j*n+k]))
						}
						if d := math.Abs(float64(ys[m][i*rows+j]) - want); d > 1e-5*mag+1e-6 {
							t.Fatalf("threads %d t %d matrix %d: y[%d,%d] = %v, want %v", threads, tt, m, i, j, ys[m][i*rows+j], want)
						}
					}
				}
			}
		}
		p.Close()
	}
}

// TestPoolCloseBeforeUse closes pools whose workers may not have started
// yet: under -race this once reported Close racing with a worker reading
// the stop channel, and such a worker could wait forever.
func TestPoolCloseBeforeUse(t *testing.T) {
	for i := 0; i < 200; i++ {
		NewPool(4).Close()
	}
}

// TestLinearQuantizedPaths runs Q8_0 and Q4_0 products through the pool
// at 1, 2 and 8 tokens, on rows short and long (where one token may take
// the few-token kernels instead of the dot kernels: kernels'
// PanelType.Use) and a row count that is not a multiple of the few-token
// kernels' 16, and compares each with the type's dot product on the same
// quantized activations, computed apart token by token.
func TestLinearQuantizedPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, dt := range []DType{Q8_0, Q4_0} {
		typ := dt.Type()
		for _, n := range []int{4096, 8192, 14336} {
			const rows = 40
			src := make([]float32, rows*n)
			for i := range src {
				src[i] = float32(r.NormFloat64())
			}
			raw := make([]byte, rows*n/typ.BlockElems*typ.BlockBytes)
			typ.Quantize(raw, src)
			w, err := New("w", dt, []int{rows, n}, raw)
			if err != nil {
				t.Fatal(err)
			}
			for _, tt := range []int{1, 2, 8} {
				x := make([]float32, tt*n)
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				want := make([]float32, tt*rows)
				a := make([]byte, kernels.ActBytesQ8_0(n))
				for i := 0; i < tt; i++ {
					kernels.QuantizeActQ8_0(a, x[i*n:(i+1)*n])
					typ.matMul(want[i*rows:], rows, raw, a, n, 1)
				}
				for _, threads := range []int{1, 2} {
					p := NewPool(threads)
					y := make([]float32, tt*rows)
					var lin Linear
					p.MatMul(&lin, y, x, tt, w)
					p.Close()
					for i := 0; i < tt; i++ {
						for j := 0; j < rows; j++ {
							var mag float64
							for k := 0; k < n; k++ {
								mag += math.Abs(float64(x[i*n+k]) * float64(src[j*n+k]))
							}
							if d := math.Abs(float64(y[i*rows+j] - want[i*rows+j])); d > 1e-5*mag {
								t.Fatalf("%v n=%d t=%d threads %d: y[%d,%d] = %v, the dot product %v", dt, n, tt, threads, i, j, y[i*rows+j], want[i*rows+j])
							}
						}
					}
				}
			}
		}
	}
}
