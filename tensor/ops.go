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
// Float weights take x as it is (through the matrix-vector kernel for one
// row, the matrix-product kernel on x laid out once for more); block types
// take x quantized once per call to their activation format, for one row
// or many, shared by every block of rows and every matrix that wants it.
type Linear struct {
	x    []float32
	t    int
	outs [maxShared]linearOut
	n    int // outputs in use
	// px is x laid out once for the float matrix-product kernels when
	// t > 1; its buffer lives as long as the Linear.
	px kernels.Prepared
	// acts are x quantized to the activation formats of the job's block
	// types (at most one per matrix); the buffers are kept across calls.
	acts [maxShared]actBuf
}

// actBuf is x quantized to one activation format.
type actBuf struct {
	f    *ActFormat
	data []byte
	row  int // bytes per activation row
	// panel is data laid out for the panel products, when one of the
	// job's matrices uses them (paneled says it holds this call's rows).
	panel   kernels.ActPanel
	paneled bool
}

// linearOut is one weight matrix of a Linear job and where its rows start
// in the job's item range.
type linearOut struct {
	y     []float32
	w     *Tensor
	typ   *Type
	a     *actBuf // the quantized x, for block types
	panel bool    // the product runs on panels (a.panel)
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
	rows := o.w.Rows()
	y := o.y[lo : (l.t-1)*rows+hi]
	switch {
	case o.panel:
		rb := o.typ.RowBytes(o.w.Cols())
		o.typ.panel.MatMul(y, rows, o.w.raw[lo*rb:hi*rb], &o.a.panel, o.w.Cols())
	case o.a != nil:
		rb := o.typ.RowBytes(o.w.Cols())
		o.typ.matMul(y, rows, o.w.raw[lo*rb:hi*rb], o.a.data, o.w.Cols(), l.t)
	case l.t == 1:
		o.typ.float.matVec(y, o.w, lo, hi, l.x)
	default:
		o.typ.float.matMul(y, rows, &l.px, o.w, lo, hi)
	}
}

// quantized returns the buffer of x quantized to format f, claiming one
// for this job on first use; actJob quantizes them.
func (l *Linear) quantized(f *ActFormat) *actBuf {
	for i := range l.acts {
		if b := &l.acts[i]; b.f == f && b.row > 0 {
			return b
		}
	}
	for i := range l.acts {
		b := &l.acts[i]
		if b.row != 0 {
			continue
		}
		n := len(l.x) / l.t
		b.f, b.row = f, f.Bytes(n)
		if cap(b.data) < l.t*b.row {
			b.data = make([]byte, l.t*b.row)
		}
		b.data = b.data[:l.t*b.row]
		return b
	}
	panic("tensor: more activation formats than matrices in one Linear")
}

// actJob quantizes rows [lo, hi) of x into every buffer the job claimed,
// and lays them out in the buffers' panels where those are used.
type actJob struct{ l *Linear }

// Do quantizes activation rows [lo, hi).
func (j actJob) Do(_, lo, hi int) {
	l := j.l
	n := len(l.x) / l.t
	for i := range l.acts {
		b := &l.acts[i]
		if b.row == 0 {
			continue
		}
		for r := lo; r < hi; r++ {
			b.f.Quantize(b.data[r*b.row:(r+1)*b.row], l.x[r*n:(r+1)*n])
		}
		if b.paneled {
			b.panel.Rows(b.data, lo, hi)
		}
	}
}

// actGrain is the block of activation rows one worker quantizes at a time.
const actGrain = 4

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
	*lin = Linear{x: x, t: t, n: len(ws), px: lin.px, acts: lin.acts}
	for i := range lin.acts {
		lin.acts[i].row = 0 // keep the buffer, forget the contents
		lin.acts[i].paneled = false
	}
	total := 0
	float := false
	for i, w := range ws {
		n, rows := w.Cols(), w.Rows()
		if len(x) != t*n || len(ys[i]) != t*rows {
			panic(fmt.Sprintf("tensor: MatMul %s: x has %d values (want %d), y has %d (want %d)", w.Name, len(x), t*n, len(ys[i]), t*rows))
		}
		typ := w.Type()
		o := linearOut{y: ys[i], w: w, typ: typ, start: total}
		if typ.Quantized() {
			o.a = lin.quantized(typ.Act)
			if typ.panel != nil && typ.Act.PanelBegin != nil && typ.panel.Use(t) {
				// Laid out once for every worker and every matrix of the
				// job that shares the activations.
				if !o.a.paneled {
					typ.Act.PanelBegin(&o.a.panel, n, t)
					o.a.paneled = true
				}
				o.panel = true
			}
		} else {
			float = true
		}
		lin.outs[i] = o
		total += rows
	}
	// The activations are quantized once for all the matrices, by the
	// workers when there are enough rows to share.
	if t >= 2*actGrain {
		p.Run(t, actGrain, actJob{lin})
	} else {
		actJob{lin}.Do(0, 0, t)
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
		if float {
			lin.px.Prepare(x, t)
		}
		p.RunDynamic(total, matGrain, lin)
	}
	*lin = Linear{px: lin.px, acts: lin.acts}
}
