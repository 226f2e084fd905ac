//go:build amd64 && !noasm

package kernels

import "sync"

// The Go side of the matrix product: cache blocking around the generated
// microkernels (mm*_RxT*, see _gen/matmul.go).
//
// Loop order, innermost last: k-chunks of mmKC elements (so that a token
// block's x chunk, 6 x mmKC floats, stays in L1 while it meets every row
// of a panel), panels of mmPanel rows (whose weight chunk stays in L2
// while every token block passes over it), token blocks of 6, row blocks.
// Partial sums of later k-chunks are added to y. Weight panels are copied
// (f32) or widened (bf16, f16) into a contiguous float32 buffer: rows n
// apart would alias in the caches, and widening once per call, against
// T/6 uses of each weight, beats widening in the inner loop (measured:
// 134 against 121 GFLOP/s at T=512 with the best in-loop bf16 kernel).

type mmF32Fn func(x *float32, ldx int, w *float32, ldw int, y *float32, ldy int, n int, add int, blocks int)

// Measured best on the target machine among kc 512-2048, panels 64-256.
const (
	mmKC    = 1024 // elements of the reduction per chunk
	mmPanel = 256  // weight rows per L2 panel
)

// The packed activations and weight panels live in buffers reused across
// calls, so the hot path does not allocate. A plain free list rather than
// a sync.Pool: the pool drops its contents at every other GC, which for
// buffers of many MB means re-allocating them during a long prefill.
var (
	scratchMu   sync.Mutex
	scratchFree []*[]float32
)

// maxScratch bounds the free list: two buffers per concurrent call.
const maxScratch = 16

// mmPack returns a buffer of n floats from the free list (the first one
// large enough, else a new one); mmRelease gives it back.
func mmPack(n int) *[]float32 {
	scratchMu.Lock()
	for i, b := range scratchFree {
		if cap(*b) >= n {
			scratchFree = append(scratchFree[:i], scratchFree[i+1:]...)
			scratchMu.Unlock()
			*b = (*b)[:n]
			return b
		}
	}
	scratchMu.Unlock()
	b := make([]float32, n)
	return &b
}

func mmRelease(b *[]float32) {
	scratchMu.Lock()
	if len(scratchFree) < maxScratch {
		scratchFree = append(scratchFree, b)
	}
	scratchMu.Unlock()
}

// packX copies the first nm values of each of the t rows (length n) of x
// into xs chunk by chunk: chunk c (k0 = c*mmKC, length kl) holds token i
// at xs[k0*t+i*kl:][:kl], so that a token block's chunk is one contiguous
// run (rows n floats apart would put all tokens in the same L1 sets).
func packX(xs, x []float32, t, n, nm int) {
	for k0 := 0; k0 < nm; k0 += mmKC {
		kl := min(mmKC, nm-k0)
		for i := 0; i < t; i++ {
			dst := xs[k0*t+i*kl : k0*t+(i+1)*kl]
			src := x[i*n+k0 : i*n+k0+kl]
			copy(dst, src)
		}
	}
}

// mmBlocks runs the blocked loops over packed x (see packX); pack(r0, r1,
// k0, kl) copies the weight chunk of rows [r0, r1) into the contiguous
// panel buffer (row stride kl), and call(tb, full, x offset, panel row,
// y offset, kl, add, blocks) invokes the microkernel for tb tokens and
// blocks blocks of R rows (full) or of one row.
func mmBlocks(nm, ldy, t, rows, R, tok int, pack func(r0, r1, k0, kl int), call func(tb int, full bool, xo, pr, yo, kl, add, blocks int)) {
	for k0 := 0; k0 < nm; k0 += mmKC {
		kl := min(mmKC, nm-k0)
		add := 0
		if k0 > 0 {
			add = 1
		}
		for r0 := 0; r0 < rows; r0 += mmPanel {
			r1 := min(rows, r0+mmPanel)
			pack(r0, r1, k0, kl)
			for t0 := 0; t0 < t; t0 += tok {
				tb := min(tok, t-t0)
				xo := k0*t + t0*kl
				nb := (r1 - r0) / R
				if nb > 0 {
					call(tb, true, xo, 0, t0*ldy+r0, kl, add, nb)
				}
				if r := r0 + nb*R; r < r1 {
					call(tb, false, xo, r-r0, t0*ldy+r, kl, add, r1-r)
				}
			}
		}
	}
}

// mmTailU16 adds the products over the reduction elements [nm, n) that
// the microkernels leave out (n not a multiple of their chunk).
func mmTailU16(y []float32, ldy int, x []float32, t int, w []uint16, n, nm int, widen func(uint16) float32) {
	if nm == n {
		return
	}
	rows := len(w) / n
	for i := 0; i < t; i++ {
		xi := x[i*n+nm : (i+1)*n]
		for r := 0; r < rows; r++ {
			y[i*ldy+r] += dotTail(xi, w[r*n+nm:(r+1)*n], widen)
		}
	}
}

// mmPanels runs the float32 microkernels over the first nm columns: x is
// packed once, and each block of weight rows is brought into a float32
// panel by fillRow (row r, columns k0..k0+kl, into a panel row), copied
// for F32 weights and widened for BF16/F16 ones.
func mmPanels(tab [2][]mmF32Fn, R int, y []float32, ldy int, x []float32, t, n, nm, rows int,
	fillRow func(panel []float32, r, k0, kl int)) {
	xb := mmPack(t * nm)
	xs := *xb
	packX(xs, x, t, n, nm)
	pb := mmPack(min(rows, mmPanel) * min(nm, mmKC))
	panel := *pb
	mmBlocks(nm, ldy, t, rows, R, len(tab[1])-1, func(r0, r1, k0, kl int) {
		for r := r0; r < r1; r++ {
			fillRow(panel[(r-r0)*kl:(r-r0+1)*kl], r, k0, kl)
		}
	}, func(tb int, full bool, xo, pr, yo, kl, add, blocks int) {
		k := tab[0][tb]
		if full {
			k = tab[1][tb]
		}
		k(&xs[xo], kl, &panel[pr*kl], kl, &y[yo], ldy, kl, add, blocks)
	})
	mmRelease(xb)
	mmRelease(pb)
}

func matMulF32(tab [2][]mmF32Fn, chunk, R int, y []float32, ldy int, x []float32, t int, w []float32) {
	n := len(x) / t
	rows := len(w) / n
	nm := n - n%chunk
	if nm > 0 && rows > 0 {
		mmPanels(tab, R, y, ldy, x, t, n, nm, rows, func(panel []float32, r, k0, kl int) {
			copy(panel, w[r*n+k0:r*n+k0+kl])
		})
	}
	if nm == n {
		return
	}
	for i := 0; i < t; i++ {
		xi := x[i*n+nm : (i+1)*n]
		for r := 0; r < rows; r++ {
			s := dotF32Generic(xi, w[r*n+nm:(r+1)*n])
			if nm == 0 {
				y[i*ldy+r] = s
			} else {
				y[i*ldy+r] += s
			}
		}
	}
}

// matMulWiden is the 16-bit-weight product through the float32
// microkernels: each weight panel chunk is widened once into a float32
// buffer (one conversion per weight per call, against T/6 reuses of it),
// so the inner loop needs no conversion instructions at all.
func matMulWiden(tab [2][]mmF32Fn, chunk, R int, widen func(dst []float32, src []uint16),
	y []float32, ldy int, x []float32, t int, w []uint16, widen1 func(uint16) float32) {
	n := len(x) / t
	rows := len(w) / n
	nm := n - n%chunk
	if nm == 0 || rows == 0 {
		for i := 0; i < t; i++ {
			for r := 0; r < rows; r++ {
				y[i*ldy+r] = 0
			}
		}
		mmTailU16(y, ldy, x, t, w, n, nm, widen1)
		return
	}
	mmPanels(tab, R, y, ldy, x, t, n, nm, rows, func(panel []float32, r, k0, kl int) {
		widen(panel, w[r*n+k0:r*n+k0+kl])
	})
	mmTailU16(y, ldy, x, t, w, n, nm, widen1)
}

func installMatMul(t *table, tf [2][]mmF32Fn, lanes, R int) {
	t.matMulF32 = func(y []float32, ldy int, x []float32, n int, w []float32) {
		matMulF32(tf, lanes, R, y, ldy, x, n, w)
	}
	t.matMulBF16 = func(y []float32, ldy int, x []float32, n int, w []uint16) {
		matMulWiden(tf, lanes, R, t.bf16ToF32, y, ldy, x, n, w, BF16ToFloat)
	}
	t.matMulF16 = func(y []float32, ldy int, x []float32, n int, w []uint16) {
		matMulWiden(tf, lanes, R, t.f16ToF32, y, ldy, x, n, w, F16ToFloat)
	}
}
