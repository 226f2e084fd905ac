package tensor

import (
	"fmt"

	"github.com/gale-ai/gale/kernels"
)

// rowGrain is the unit in which matrix rows are handed to workers: 16
// keeps every split on a cache-line boundary of the output. (The matrix
// product kernels work in blocks of 12 rows at avx512, 6 at avx2, 4 on
// arm64; a split inside a block only pads that one block.)
const rowGrain = 16

// matGrain is the block of rows the workers take in turn for a matrix
// product: two panels of the amd64 kernels (a multiple of their 12- and
// 6-row blocks and of rowGrain), about 10 blocks per worker for a 4096-row
// matrix.
//
// Measured on the target machine (Mistral-7B BF16 pp512, 2 threads): with
// a fixed half each, one worker waited for the other 3-6% of the time in
// all (mostly the second for the calling goroutine, whichever half each
// took); in blocks of 480 rows, 2%, and the prefill ran 1.07-1.19 times
// as fast (four interleaved pairs). Blocks that each packed x again were
// slower than fixed halves.
const matGrain = 480

// maxShared is the most weight matrices one Linear job applies to the same
// input (q, k and v).
const maxShared = 3

// Linear computes y = x W^T for t activation rows and up to three weight
// matrices that share the input x [t, n]: each W is [rows, n] and its y is
// [t, rows]. The rows of all the matrices form one range of work items, so
// one pass over the pool (one barrier) covers q, k and v, or gate and up.
// It uses the matrix-vector kernel when t is 1 and the matrix-product
// kernel otherwise.
type Linear struct {
	x    []float32
	t    int
	outs [maxShared]linearOut
	n    int // outputs in use
	// px is x laid out once for the matrix-product kernels when t > 1,
	// shared by every block of rows; its buffer lives as long as the
	// Linear.
	px kernels.Prepared
}

// linearOut is one weight matrix of a Linear job and where its rows start
// in the job's item range.
type linearOut struct {
	y     []float32
	w     *Tensor
	start int
}

// Do runs items [lo, hi) of the job: rows of the matrices in order.
func (l *Linear) Do(_, lo, hi int) {
	for i := 0; i < l.n; i++ {
		o := &l.outs[i]
		rows := o.w.Rows()
		a, b := max(lo, o.start)-o.start, min(hi, o.start+rows)-o.start
		if a < b {
			l.rows(o, a, b)
		}
	}
}

// rows computes rows [lo, hi) of one output.
func (l *Linear) rows(o *linearOut, lo, hi int) {
	n := o.w.Cols()
	rows := o.w.Rows()
	if l.t == 1 {
		y := o.y[lo:hi]
		switch o.w.DType {
		case F32:
			kernels.MatVecF32(y, o.w.f32[lo*n:hi*n], l.x)
		case BF16:
			kernels.MatVecBF16(y, o.w.u16[lo*n:hi*n], l.x)
		case F16:
			kernels.MatVecF16(y, o.w.u16[lo*n:hi*n], l.x)
		}
		return
	}
	y := o.y[lo : (l.t-1)*rows+hi]
	switch o.w.DType {
	case F32:
		kernels.MatMulF32Prepared(y, rows, &l.px, o.w.f32[lo*n:hi*n])
	case BF16:
		kernels.MatMulBF16Prepared(y, rows, &l.px, o.w.u16[lo*n:hi*n])
	case F16:
		kernels.MatMulF16Prepared(y, rows, &l.px, o.w.u16[lo*n:hi*n])
	}
}

// MatMul computes y [t, rows] = x [t, n] · W^T on the pool. lin is the
// caller's reusable job value (so the hot path allocates nothing).
func (p *Pool) MatMul(lin *Linear, y, x []float32, t int, w *Tensor) {
	p.MatMuls(lin, x, t, [][]float32{y}, []*Tensor{w})
}

// MatMuls computes ys[i] = x · ws[i]^T for up to three matrices sharing
// the input x [t, n], in one pass over the pool.
func (p *Pool) MatMuls(lin *Linear, x []float32, t int, ys [][]float32, ws []*Tensor) {
	if len(ys) != len(ws) || len(ws) == 0 || len(ws) > maxShared {
		panic("tensor: MatMuls takes 1 to 3 matrices, one output each")
	}
	*lin = Linear{x: x, t: t, n: len(ws), px: lin.px}
	total := 0
	for i, w := range ws {
		n, rows := w.Cols(), w.Rows()
		if len(x) != t*n || len(ys[i]) != t*rows {
			panic(fmt.Sprintf("tensor: MatMul %s: x has %d values (want %d), y has %d (want %d)", w.Name, len(x), t*n, len(ys[i]), t*rows))
		}
		lin.outs[i] = linearOut{y: ys[i], w: w, start: total}
		total += rows
	}
	if t == 1 {
		// Matrix-vector products stream weights at memory speed: hand
		// rows out in shrinking blocks so both cores stay busy to the
		// end of every pass.
		p.RunDynamic(total, rowGrain, lin)
	} else {
		// Matrix products: x is laid out once, then rows go out in
		// blocks of matGrain to whichever worker is free, so that a
		// core slowed down (by the machine, or by a share of several
		// matrices) does not leave the other waiting at the end.
		lin.px.Prepare(x, t)
		p.RunDynamic(total, matGrain, lin)
	}
	*lin = Linear{px: lin.px}
}
