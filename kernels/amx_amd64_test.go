//go:build amd64 && !noasm

package kernels

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/pprof"
	"sync"
	"syscall"
	"testing"
	"time"
)

// amxSet returns the best feature set with AMX this machine (within the
// GALE_CPU cap) can run, or false.
func amxSet() (Features, bool) {
	var best Features
	found := false
	for _, f := range FeatureSets() {
		if f.Has(FeatAMX) {
			best, found = f, true // the list ends with the fullest set
		}
	}
	return best, found
}

// amxNeed skips t when the machine cannot run the AMX kernels (or
// GALE_CPU leaves them out), and otherwise installs the best set with
// AMX for the rest of the test.
func amxNeed(t *testing.T) {
	t.Helper()
	f, ok := amxSet()
	if !ok {
		if amxUsable() {
			t.Skip("amx: switched off by GALE_CPU")
		}
		t.Skip("amx: not available on this CPU")
	}
	was := CurrentFeatures()
	if err := SetFeatures(f); err != nil {
		t.Fatal(err)
	}
	if !amxActive {
		t.Fatalf("%v installed, AMX kernels not active", f)
	}
	t.Cleanup(func() { SetFeatures(was) })
}

// amxWant is the reference for the tile product: float64 sums of the
// bf16-rounded activations (the tiles' inputs) times the weights, each
// product exact, and the bound for an f32 sum of those products in any
// order (tkDotTol).
func amxWant(x []float32, w []uint16, t, n, rows int) (want, tol []float64) {
	return amxWantOf(x, func(i int) float64 { return tkBF16Value(w[i]) }, t, n, rows)
}

// amxWantOf is amxWant for weights of values wv (the tiles' inputs).
func amxWantOf(x []float32, wv func(i int) float64, t, n, rows int) (want, tol []float64) {
	want, tol = make([]float64, t*rows), make([]float64, t*rows)
	xb := make([]float64, len(x))
	for i, v := range x {
		xb[i] = float64(BF16ToFloat(FloatToBF16(v)))
	}
	for i := 0; i < t; i++ {
		for r := 0; r < rows; r++ {
			var s, abs float64
			for k := 0; k < n; k++ {
				p := xb[i*n+k] * wv(r*n+k)
				s += p
				abs += math.Abs(p)
			}
			want[i*rows+r], tol[i*rows+r] = s, tkDotTol(n, abs)
		}
	}
	return want, tol
}

// amxCheck runs MatMulBF16Prepared on tiles for one shape, all rows at
// once and split in two parts at an odd row as workers would split it,
// into y rows gap elements longer than needed (guarded).
func amxCheck(t *testing.T, r *rand.Rand, tok, rows, n, gap int) {
	t.Helper()
	amxCheckKind(t, r, "bf16", tok, rows, n, gap)
	amxCheckKind(t, r, "f16", tok, rows, n, gap)
}

// amxCheckKind is amxCheck for bf16 weights or f16 ones (which the tiles
// read rounded to bf16: the reference rounds them too).
func amxCheckKind(t *testing.T, r *rand.Rand, kind string, tok, rows, n, gap int) {
	t.Helper()
	x := tkF32(r, tok*n, 1)
	var w []uint16
	var want, tol []float64
	mm := MatMulBF16Prepared
	if kind == "bf16" {
		w = tkBF16(r, rows*n, 3)
		want, tol = amxWant(x, w, tok, n, rows)
	} else {
		w = tkF16(r, rows*n, 3)
		want, tol = amxWantOf(x, func(i int) float64 { return float64(BF16ToFloat(FloatToBF16(F16ToFloat(w[i])))) }, tok, n, rows)
		mm = MatMulF16Prepared
	}
	var p Prepared
	p.Prepare(x, tok)
	if !p.amxOn {
		t.Fatalf("t=%d n=%d: Prepare did not lay x out for the tiles", tok, n)
	}
	ldy := rows + gap
	for _, split := range []int{0, rows / 3 * 2} {
		out := newTkOut((tok-1)*ldy+rows, 2)
		y := out.s()
		if split > 0 {
			mm(y[:(tok-1)*ldy+split], ldy, &p, w[:split*n])
		}
		mm(y[split:], ldy, &p, w[split*n:])
		what := fmt.Sprintf("amx %s t=%d rows=%d n=%d split=%d", kind, tok, rows, n, split)
		out.check(t, what, func(i int) bool { return i%ldy >= rows })
		for i := 0; i < tok; i++ {
			for j := 0; j < rows; j++ {
				if d := math.Abs(float64(y[i*ldy+j]) - want[i*rows+j]); !(d <= tol[i*rows+j]) {
					tkClose(t, fmt.Sprintf("%s y[%d][%d]", what, i, j), y[i*ldy+j], want[i*rows+j], tol[i*rows+j])
				}
			}
		}
	}
}

// TestAMXBF16 covers the tails of the tile product, with bf16 and f16
// weights: token counts around
// the 32-token blocks (and up to 600, a prefill chunk), row counts around
// the 32-row blocks and the 256-row panels, reduction lengths around the
// 32-value steps and the 512-value chunks.
func TestAMXBF16(t *testing.T) {
	amxNeed(t)
	r := rand.New(rand.NewPCG(21, 22))
	for _, tok := range []int{32, 33, 47, 63, 64, 65, 97} {
		for _, rows := range []int{1, 15, 16, 17, 31, 32, 33, 64, 70} {
			for _, n := range []int{1, 2, 31, 32, 33, 64, 95} {
				amxCheck(t, r, tok, rows, n, (tok+rows+n)%3)
			}
		}
	}
	amxCheck(t, r, 40, 300, 1100, 1) // chunks, panels and every tail
	amxCheck(t, r, 600, 96, 544, 0)  // a long chunk, two reduction chunks
	amxCheck(t, r, 35, 513, 1024, 2) // several panels, whole chunks
	amxCheck(t, r, 599, 33, 4096, 1) // the reduction of Mistral's attention
}

// TestAMXSmallTStaysOnVectors: below tileTokens, Prepare leaves the tiles
// out (decode and small batches keep f32 activations).
func TestAMXSmallTStaysOnVectors(t *testing.T) {
	amxNeed(t)
	var p Prepared
	x := make([]float32, (tileTokens-1)*8)
	p.Prepare(x, tileTokens-1)
	if p.amxOn {
		t.Fatalf("t=%d laid out for tiles", tileTokens-1)
	}
	x = make([]float32, tileTokens*8)
	p.Prepare(x, tileTokens)
	if !p.amxOn {
		t.Fatalf("t=%d not laid out for tiles", tileTokens)
	}
}

// BenchmarkMatMulBF16AMX: the prefill product on tiles against the
// AVX-512 kernels in the same run, at T = 512 (and 32, 128), on one goroutine
// and on two that take half the rows each (as the pool splits them). x is
// prepared once outside the loop, as one Prepare serves several products.
func BenchmarkMatMulBF16AMX(b *testing.B) {
	amxF, ok := amxSet()
	if !ok {
		b.Skip("amx: not available on this CPU")
	}
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	for _, sh := range []bkShape{{4096, 4096}, {14336, 4096}, {4096, 14336}} {
		w := make([]uint16, sh.rows*sh.n)
		bkFillU16(w)
		for _, t := range []int{32, 128, 512} {
			x := make([]float32, t*sh.n)
			bkFillF32(x)
			y := make([]float32, t*sh.rows)
			for _, unit := range []string{"avx512", "amx"} {
				f := amxF
				if unit == "avx512" {
					f &^= FeatAMX
				}
				if err := SetFeatures(f); err != nil {
					b.Fatal(err)
				}
				var p Prepared
				p.Prepare(x, t)
				for _, threads := range []int{1, 2} {
					b.Run(fmt.Sprintf("%s/T%d/%s/threads%d", unit, t, sh, threads), func(b *testing.B) {
						cpu0 := amxCPUTime()
						for b.Loop() {
							if threads == 1 {
								MatMulBF16Prepared(y, sh.rows, &p, w)
								continue
							}
							half := sh.rows / 64 * 32
							done := make(chan struct{})
							go func() {
								MatMulBF16Prepared(y[half:], sh.rows, &p, w[half*sh.n:])
								close(done)
							}()
							MatMulBF16Prepared(y[:(t-1)*sh.rows+half], sh.rows, &p, w[:half*sh.n])
							<-done
						}
						flop := 2 * float64(t) * float64(sh.rows) * float64(sh.n)
						b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
						// On a shared machine: per second of this
						// process's CPU time, i.e. per busy core.
						b.ReportMetric(flop*float64(b.N)/(amxCPUTime()-cpu0)/1e9, "GFLOP/cpu-s")
					})
				}
			}
		}
	}
}

// BenchmarkPrepareAMX: laying x out (f32 panels and bf16 tiles) per chunk.
func BenchmarkPrepareAMX(b *testing.B) {
	amxF, ok := amxSet()
	if !ok {
		b.Skip("amx: not available on this CPU")
	}
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	if err := SetFeatures(amxF); err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{4096, 14336} {
		x := make([]float32, 512*n)
		bkFillF32(x)
		var p Prepared
		b.Run(fmt.Sprintf("T512/n%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(x) * 4))
			for b.Loop() {
				p.Prepare(x, 512)
			}
		})
	}
}

// TestAMXStress runs tile products from 8 goroutines on 2 threads while
// the garbage collector runs, a goroutine allocates, and a CPU profile
// sends SIGPROF: the tile state is per thread and signals arrive during
// the kernels, so a kernel that kept state across calls or lost it in a
// signal would give wrong results here. Every result must equal, bit for
// bit, the one computed alone beforehand (itself checked against the
// reference).
func TestAMXStress(t *testing.T) {
	amxNeed(t)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	if err := pprof.StartCPUProfile(io.Discard); err == nil {
		defer pprof.StopCPUProfile()
	} // else a profile is running already (go test -cpuprofile): as good
	const workers = 8
	type job struct {
		p    Prepared
		w    []uint16
		want []float32
		tok  int
		rows int
		// int8 jobs (every other one): Q8_0 or Q4_0 weights qw, Q8_0
		// activations qa of n values
		qt     *q32Type
		qw, qa []byte
		n      int
		// K-quant jobs (jobs 5 and 7): Q4_K or Q6_K weights qw, Q8_K
		// activations qa
		kt *kType
	}
	run := func(j *job, y []float32) {
		if j.kt != nil {
			j.kt.matMul(y, j.rows, j.qw, j.qa, j.n, j.tok)
			return
		}
		if j.qt != nil {
			j.qt.matmul(y, j.rows, j.qw, j.qa, j.n, j.tok)
			return
		}
		MatMulBF16Prepared(y, j.rows, &j.p, j.w)
	}
	r := rand.New(rand.NewPCG(31, 32))
	jobs := make([]*job, workers)
	for i := range jobs {
		tok, rows, n := 32+17*i, 33+9*i, 64+32*i
		j := &job{tok: tok, rows: rows, n: n}
		j.want = make([]float32, tok*rows)
		if i == 5 || i == 7 {
			j.kt, j.n = &kTypes[2], 512 // Q4_K
			if i == 7 {
				j.kt = &kTypes[4] // Q6_K
			}
			j.qw, j.qa = kRandWeights(r, j.kt, rows, j.n), kRandActs(r, tok, j.n)
			run(j, j.want)
			ref := make([]float32, tok*rows)
			j.kt.generic(ref, rows, j.qw, j.qa, j.n, tok)
			mag := amxKMag(j.kt, j.qw, j.qa, j.n, rows, tok)
			for k, v := range j.want {
				if d := math.Abs(float64(v - ref[k])); !(d <= 48*0x1p-23*mag[k]) {
					t.Fatalf("stress job %d (%s) y[%d] = %v, generic %v", i, j.kt.name, k, v, ref[k])
				}
			}
			jobs[i] = j
			continue
		}
		if i%2 == 1 {
			j.qt = &q32Types[i/2%2] // Q8_0, Q4_0
			j.qw, j.qa = amxQ8Inputs(r, *j.qt, n, rows, tok, true)
			run(j, j.want)
			ref := make([]float32, tok*rows)
			j.qt.generic(ref, rows, j.qw, j.qa, n, tok, rows)
			for k, v := range j.want {
				if v != ref[k] {
					t.Fatalf("stress job %d (%s) y[%d] = %v, generic %v", i, j.qt.name, k, v, ref[k])
				}
			}
			jobs[i] = j
			continue
		}
		x := tkF32(r, tok*n, 0)
		j.w = tkBF16(r, rows*n, 0)
		j.p.Prepare(x, tok)
		run(j, j.want)
		ref, tol := amxWant(x, j.w, tok, n, rows)
		for k, v := range j.want {
			tkClose(t, fmt.Sprintf("stress job %d y[%d]", i, k), v, ref[k], tol[k])
		}
		jobs[i] = j
	}
	stop := make(chan struct{})
	var garbage sync.WaitGroup
	garbage.Add(1)
	go func() { // GC pressure
		defer garbage.Done()
		var keep [][]byte
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			keep = append(keep, make([]byte, 64<<10))
			if len(keep) > 64 {
				keep = keep[:0]
			}
			if i%200 == 0 {
				runtime.GC()
			}
		}
	}()
	deadline := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	calls := make([]int, workers)
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			y := make([]float32, len(j.want))
			for time.Now().Before(deadline) {
				clear(y)
				run(j, y)
				for k := range y {
					if math.Float32bits(y[k]) != math.Float32bits(j.want[k]) {
						errs <- fmt.Sprintf("job %d call %d: y[%d] = %v, alone %v", i, calls[i], k, y[k], j.want[k])
						return
					}
				}
				calls[i]++
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	close(stop)
	garbage.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	total := 0
	for _, c := range calls {
		total += c
	}
	t.Logf("%d tile products from %d goroutines, no wrong result", total, workers)
}

// amxCPUTime is the CPU time (user + system) this process has used, in
// seconds.
func amxCPUTime() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// TestAMXPreparedF32: with the tiles on, Prepare leaves the vector layout
// to the first product that needs it (F32 weights); products sharing the
// Prepared from several goroutines must each get the f32 result.
func TestAMXPreparedF32(t *testing.T) {
	amxNeed(t)
	r := rand.New(rand.NewPCG(51, 52))
	const tok, rows, n = 40, 70, 96
	x := tkF32(r, tok*n, 0)
	w := tkF32(r, rows*n, 0)
	var p Prepared
	p.Prepare(x, tok)
	if !p.amxOn {
		t.Fatal("no tile layout")
	}
	var wg sync.WaitGroup
	ys := make([][]float32, 4)
	for g := range ys {
		ys[g] = make([]float32, tok*rows)
		wg.Add(1)
		go func() {
			defer wg.Done()
			MatMulF32Prepared(ys[g], rows, &p, w)
		}()
	}
	wg.Wait()
	for g, y := range ys {
		for i := 0; i < tok; i++ {
			for j := 0; j < rows; j++ {
				want, abs := tkDot(x[i*n:(i+1)*n], func(k int) float64 { return float64(w[j*n+k]) })
				tkClose(t, fmt.Sprintf("goroutine %d y[%d][%d]", g, i, j), y[i*rows+j], want, tkDotTol(n, abs))
			}
		}
	}
}
