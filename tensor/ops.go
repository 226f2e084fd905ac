package tensor

import (
	"fmt"

	"github.com/gale-ai/gale/kernels"
)

// rowGrain is the unit in which matrix rows are handed to workers: the
// kernels process rows in blocks of four, and 16 keeps every split on a
// cache-line boundary of the output.
const rowGrain = 16

// Linear computes y = x W^T for t activation rows: x is [t, n], W is
// [rows, n] and y is [t, rows]. It uses the matrix-vector kernel when t is 1
// and the matrix-product kernel otherwise, with the rows of W split among
// the pool's workers so each weight is read once, by one core.
type Linear struct {
	y, x []float32
	t    int
	w    *Tensor
}

// Do runs rows [lo, hi) of the product.
func (l *Linear) Do(_, lo, hi int) {
	n := l.w.Cols()
	rows := l.w.Rows()
	if l.t == 1 {
		y := l.y[lo:hi]
		switch l.w.DType {
		case F32:
			kernels.MatVecF32(y, l.w.f32[lo*n:hi*n], l.x)
		case BF16:
			kernels.MatVecBF16(y, l.w.u16[lo*n:hi*n], l.x)
		case F16:
			kernels.MatVecF16(y, l.w.u16[lo*n:hi*n], l.x)
		}
		return
	}
	y := l.y[lo : (l.t-1)*rows+hi]
	switch l.w.DType {
	case F32:
		kernels.MatMulF32(y, rows, l.x, l.t, l.w.f32[lo*n:hi*n])
	case BF16:
		kernels.MatMulBF16(y, rows, l.x, l.t, l.w.u16[lo*n:hi*n])
	case F16:
		kernels.MatMulF16(y, rows, l.x, l.t, l.w.u16[lo*n:hi*n])
	}
}

// MatMul computes y [t, rows] = x [t, n] · W^T on the pool. lin is the
// caller's reusable job value (so the hot path allocates nothing).
func (p *Pool) MatMul(lin *Linear, y, x []float32, t int, w *Tensor) {
	n, rows := w.Cols(), w.Rows()
	if len(x) != t*n || len(y) != t*rows {
		panic(fmt.Sprintf("tensor: MatMul %s: x has %d values (want %d), y has %d (want %d)", w.Name, len(x), t*n, len(y), t*rows))
	}
	*lin = Linear{y: y, x: x, t: t, w: w}
	if t == 1 {
		// Matrix-vector products stream weights at memory speed: hand
		// rows out in blocks (about 8 per worker) so both cores stay busy
		// to the end of every matrix.
		grain := max(rowGrain, (rows/(8*p.n)+rowGrain-1)/rowGrain*rowGrain)
		p.RunDynamic(rows, grain, lin)
	} else {
		p.Run(rows, rowGrain, lin)
	}
	*lin = Linear{}
}
