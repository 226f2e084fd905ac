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
// Partial sums of later k-chunks are added to y.

type mmF32Fn func(x *float32, ldx int, w *float32, ldw int, y *float32, ldy int, n int, add int)
type mmU16Fn func(x *float32, ldx int, w *uint16, ldw int, y *float32, ldy int, n int, add int)

var (
	mmKC    = 1024 // elements of the reduction per chunk
	mmPanel = 256  // weight rows per L2 panel
)

const mmTok = 6 // tokens per microkernel call

// permuteBF16 copies src into dst with each block of 2*lanes values
// reordered as (even-indexed, odd-indexed), the order in which the bf16
// microkernel widens weight pairs. len(src) is a multiple of 2*lanes.
func permuteBF16(dst, src []float32, lanes int) {
	dst = dst[:len(src)]
	for b := 0; b+2*lanes <= len(src); b += 2 * lanes {
		s := src[b : b+2*lanes]
		d := dst[b : b+2*lanes]
		for j := 0; j < lanes; j++ {
			d[j] = s[2*j]
			d[lanes+j] = s[2*j+1]
		}
	}
}

// mmPack returns a pooled buffer of at least n values of type T.
func mmPack[T float32 | uint16](pool *sync.Pool, n int) *[]T {
	b := pool.Get().(*[]T)
	if cap(*b) < n {
		*b = make([]T, n)
	}
	*b = (*b)[:n]
	return b
}

var (
	poolF32 = sync.Pool{New: func() any { return new([]float32) }}
	poolU16 = sync.Pool{New: func() any { return new([]uint16) }}
)

// packX copies the first nm values of each of the t rows (length n) of x
// into xs chunk by chunk: chunk c (k0 = c*mmKC, length kl) holds token i
// at xs[k0*t+i*kl:][:kl], so that a token block's chunk is one contiguous
// run (no L1 set conflicts between tokens). With lanes > 0 each chunk is
// also permuted for the bfloat16 microkernels (see permuteBF16).
func packX(xs, x []float32, t, n, nm, lanes int) {
	for k0 := 0; k0 < nm; k0 += mmKC {
		kl := min(mmKC, nm-k0)
		for i := 0; i < t; i++ {
			dst := xs[k0*t+i*kl : k0*t+(i+1)*kl]
			src := x[i*n+k0 : i*n+k0+kl]
			if lanes > 0 {
				permuteBF16(dst, src, lanes)
			} else {
				copy(dst, src)
			}
		}
	}
}

// mmBlocks runs the blocked loops over packed x (see packX); pack(r0, r1,
// k0, kl) copies the weight chunk of rows [r0, r1) into the contiguous
// panel buffer (row stride kl), and call(tb, full, x offset, panel row,
// y offset, kl, add) invokes the microkernel for tb tokens and R rows
// (full) or one row.
func mmBlocks(nm, ldy, t, rows, R int, pack func(r0, r1, k0, kl int), call func(tb int, full bool, xo, pr, yo, kl, add int)) {
	for k0 := 0; k0 < nm; k0 += mmKC {
		kl := min(mmKC, nm-k0)
		add := 0
		if k0 > 0 {
			add = 1
		}
		for r0 := 0; r0 < rows; r0 += mmPanel {
			r1 := min(rows, r0+mmPanel)
			pack(r0, r1, k0, kl)
			for t0 := 0; t0 < t; t0 += mmTok {
				tb := min(mmTok, t-t0)
				xo := k0*t + t0*kl
				r := r0
				for ; r+R <= r1; r += R {
					call(tb, true, xo, r-r0, t0*ldy+r, kl, add)
				}
				for ; r < r1; r++ {
					call(tb, false, xo, r-r0, t0*ldy+r, kl, add)
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

func matMulU16(tab *[2][mmTok + 1]mmU16Fn, chunk, R int, permute int,
	y []float32, ldy int, x []float32, t int, w []uint16, widen func(uint16) float32) {
	n := len(x) / t
	rows := len(w) / n
	nm := n - n%chunk
	if nm == 0 || rows == 0 {
		for i := 0; i < t; i++ {
			for r := 0; r < rows; r++ {
				y[i*ldy+r] = 0
			}
		}
		mmTailU16(y, ldy, x, t, w, n, nm, widen)
		return
	}
	xb := mmPack[float32](&poolF32, t*nm)
	xs := *xb
	packX(xs, x, t, n, nm, permute)
	pb := mmPack[uint16](&poolU16, min(rows, mmPanel)*min(nm, mmKC))
	panel := *pb
	mmBlocks(nm, ldy, t, rows, R, func(r0, r1, k0, kl int) {
		for r := r0; r < r1; r++ {
			copy(panel[(r-r0)*kl:(r-r0+1)*kl], w[r*n+k0:r*n+k0+kl])
		}
	}, func(tb int, full bool, xo, pr, yo, kl, add int) {
		k := tab[0][tb]
		if full {
			k = tab[1][tb]
		}
		k(&xs[xo], kl, &panel[pr*kl], kl, &y[yo], ldy, kl, add)
	})
	poolF32.Put(xb)
	poolU16.Put(pb)
	mmTailU16(y, ldy, x, t, w, n, nm, widen)
}

func matMulF32(tab *[2][mmTok + 1]mmF32Fn, chunk, R int, y []float32, ldy int, x []float32, t int, w []float32) {
	n := len(x) / t
	rows := len(w) / n
	nm := n - n%chunk
	if nm > 0 && rows > 0 {
		xb := mmPack[float32](&poolF32, t*nm)
		xs := *xb
		packX(xs, x, t, n, nm, 0)
		pb := mmPack[float32](&poolF32, min(rows, mmPanel)*min(nm, mmKC))
		panel := *pb
		mmBlocks(nm, ldy, t, rows, R, func(r0, r1, k0, kl int) {
			for r := r0; r < r1; r++ {
				copy(panel[(r-r0)*kl:(r-r0+1)*kl], w[r*n+k0:r*n+k0+kl])
			}
		}, func(tb int, full bool, xo, pr, yo, kl, add int) {
			k := tab[0][tb]
			if full {
				k = tab[1][tb]
			}
			k(&xs[xo], kl, &panel[pr*kl], kl, &y[yo], ldy, kl, add)
		})
		poolF32.Put(xb)
		poolF32.Put(pb)
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

func installMatMul(t *table, tf *[2][mmTok + 1]mmF32Fn, tb, th *[2][mmTok + 1]mmU16Fn, lanes, R int) {
	t.matMulF32 = func(y []float32, ldy int, x []float32, n int, w []float32) {
		matMulF32(tf, lanes, R, y, ldy, x, n, w)
	}
	t.matMulBF16 = func(y []float32, ldy int, x []float32, n int, w []uint16) {
		matMulU16(tb, 2*lanes, R, lanes, y, ldy, x, n, w, BF16ToFloat)
	}
	t.matMulF16 = func(y []float32, ldy int, x []float32, n int, w []uint16) {
		matMulU16(th, lanes, R, 0, y, ldy, x, n, w, F16ToFloat)
	}
}
