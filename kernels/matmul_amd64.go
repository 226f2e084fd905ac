//go:build amd64 && !noasm

package kernels

import "sync"

// The Go side of the matrix product: cache blocking around the generated
// broadcast-form microkernels (mmF32_RxT*, see _gen/matmul.go).
//
// The microkernels compute y transposed, yT [rows, tp], from x packed
// k-major by token blocks, so a call packs x chunk by chunk, runs the
// kernels, and transposes yT into y panel by panel in the last k-chunk,
// while the panel's results are still in L2 (from L3 at the end of the
// call, the transpose took twice as long). Loop order, innermost
// last: k-chunks of mmKC elements (x's chunk, tp x mmKC floats, is packed
// once per chunk and stays in L2), panels of mmPanel rows (whose weight
// chunk is widened or copied into a float32 buffer, by the first token
// block's kernel as it goes, and stays in L2 while every token block
// passes over it), token blocks, row blocks (each row block reads the
// token block's x chunk, 128 bytes per k at avx512, and its 12 weight
// rows). Partial sums of later k-chunks are added to yT. The panel's rows are mmKC+16 floats apart: rows a multiple of
// 4 KiB apart would put the 12 rows a kernel reads in the same L1 sets.
// The panel's last rows are zero when rows is not a multiple of the
// kernel's, and x's last tokens when t is not a multiple of the vector
// width; yT has room for both and the transpose leaves them out.

// mmFn is a microkernel: blocks blocks of rows rows by one token block.
type mmFn func(x *float32, w *float32, ldw int, y *float32, ldy int, k int, add int, blocks int)

// trFn transposes blocks lanes x lanes blocks (see _gen/transpose.go).
type trFn func(dst *float32, ldd int, src *float32, lds int, blocks int)

// mmKernels is one level's set of matrix-product kernels.
type mmKernels struct {
	rows   int    // weight rows per microkernel block
	lanes  int    // float32 lanes per vector
	tab    []mmFn // [v]: the microkernel for v token vectors
	tr     trFn   // along the rows of src
	trd    trFn   // down its columns
	wpF32  func(dst *float32, ldd int, src *float32, lds int, k int, rows int, pfd int)
	wpBF16 func(dst *float32, ldd int, src *uint16, lds int, k int, rows int, pfd int)
	wpF16  func(dst *float32, ldd int, src *uint16, lds int, k int, rows int, pfd int)
	// [v]: the microkernels for v token vectors that fill the panel
	tabWF32  []func(x *float32, w *float32, ldw int, y *float32, ldy int, k int, add int, blocks int, src *float32, lds int, groups int)
	tabWBF16 []func(x *float32, w *float32, ldw int, y *float32, ldy int, k int, add int, blocks int, src *uint16, lds int, groups int)
	tabWF16  []func(x *float32, w *float32, ldw int, y *float32, ldy int, k int, add int, blocks int, src *uint16, lds int, groups int)
}

// Measured on the target machine (bf16, T=256 and 512) among kc 128, 256
// and 512 with panels of 120-480 rows: all within the noise of one
// another except kc 128 (about 5% slower), although at 512 a token
// block's x chunk (64 KiB at avx512) no longer fits L1. 240 rows is a
// multiple of both levels' block rows.
const (
	mmKC    = 512 // elements of the reduction per chunk
	mmPanel = 240 // weight rows per L2 panel
)

// mmPrefetchRows is how many rows ahead the wp kernels prefetch (4 to 16
// measured alike).
const mmPrefetchRows = 8

// The packed activations, weight panels and transposed results live in
// buffers reused across calls, so the hot path does not allocate. A plain
// free list rather than a sync.Pool: the pool drops its contents at every
// other GC, which for buffers of many MB means re-allocating them during
// a long prefill.
var (
	scratchMu   sync.Mutex
	scratchFree []*[]float32
)

// maxScratch bounds the free list: three buffers per concurrent call.
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

// packX packs columns [k0, k0+kl) of the t rows (length n) of x into xs,
// token block by token block: the block of tokens t0.. (tb of them, or
// fewer for the last; w = their number rounded up to whole vectors) at
// xs[t0*kl:], k-major: value i of its token j at [i*w+j]. Tokens past t
// are zero: their lanes never mix with the others' and their results are
// left out, but stale bits there could be NaNs or subnormals, which can
// cost the FMAs microcode assists.
func (mk *mmKernels) packX(xs, x []float32, t, n, k0, kl, tb int) {
	L := mk.lanes
	for t0 := 0; t0 < t; t0 += tb {
		nt := min(tb, t-t0)
		w := (nt + L - 1) / L * L
		blk := xs[t0*kl : t0*kl+kl*w]
		mk.transpose(blk, w, x[t0*n+k0:], n, nt, kl)
		for i := 0; i < kl; i++ {
			clear(blk[i*w+nt : (i+1)*w])
		}
	}
}

// transpose is Transpose: whole lanes x lanes blocks by the tr kernels,
// the edges in Go. The blocks go along the rows of src when the rows of
// dst are the closer (ldd <= lds), else down its columns: either way the
// side whose rows are far apart sees the same few pages block after
// block. (The matrix product's result into y rows 4096 floats apart:
// 0.12-0.14 s going along against 0.05-0.08 going down, in profiles of
// 4096x4096 bf16 products at T=256 that spend 3.4-3.6 s in the kernel.)
func (mk *mmKernels) transpose(dst []float32, ldd int, src []float32, lds, rows, cols int) {
	L := mk.lanes
	rf, cf := rows-rows%L, cols-cols%L
	if rf > 0 && cf > 0 {
		if ldd <= lds {
			for r := 0; r < rf; r += L {
				mk.tr(&dst[r], ldd, &src[r*lds], lds, cf/L)
			}
		} else {
			for c := 0; c < cf; c += L {
				mk.trd(&dst[c*ldd], ldd, &src[c], lds, rf/L)
			}
		}
	}
	for r := 0; r < rows; r++ {
		c0 := cf
		if r >= rf {
			c0 = 0
		}
		for c, v := range src[r*lds+c0 : r*lds+cols] {
			dst[(c0+c)*ldd+r] = v
		}
	}
}

// matMul computes y [t, rows] (row stride ldy) = x [t, n] times the
// transpose of the weights [rows, n]. fill(panel, ldp, r0, r1, k0, c0, c1)
// brings the weights of rows [r0, r1), columns k0+c0..k0+c1 into columns
// c0..c1 of panel (row stride ldp) as float32; fused(v, ...) runs the
// microkernel for v token vectors that also fills the first groups*lanes
// columns of the panel as it goes (the mmW kernels), for the rows from r0
// and the columns from k0.
//
// Each panel is filled by the first token block's kernel: the fill's
// loads are then in flight while that kernel computes, where a separate
// fill waits on memory with nothing else to do (in place, bf16, T=256,
// 2048x4096 from DRAM: 1.09 times as fast as filling first with the
// prefetching wp kernels, themselves a little faster than the plain
// widening). Only whole row blocks and column groups go through it;
// fill does the rest first.
func (mk *mmKernels) matMul(y []float32, ldy int, x, px []float32, t, n, rows int,
	fill func(panel []float32, ldp, r0, r1, k0, c0, c1 int),
	fused func(v int, x, panel *float32, ldp int, y *float32, ldy, kl, add, blocks, r0, k0, groups int)) {
	if rows == 0 {
		return
	}
	L, R := mk.lanes, mk.rows
	V := len(mk.tab) - 1
	tb := V * L               // tokens per full block
	tp := (t + L - 1) / L * L // tokens rounded up to whole vectors
	rp := (rows + R - 1) / R * R
	P := min(mmPanel, rp)
	kc := min(n, mmKC)
	ldp := kc + 16
	yb, pb := mmPack(rp*tp), mmPack(P*ldp)
	yT, panel := *yb, *pb
	var xb *[]float32
	if px == nil {
		xb = mmPack(tp * kc)
	}
	for k0 := 0; k0 < n; k0 += kc {
		kl := min(kc, n-k0)
		var xs []float32
		if px != nil {
			xs = px[k0*tp:] // see prepare
		} else {
			xs = *xb
			mk.packX(xs, x, t, n, k0, kl, tb)
		}
		add := 0
		if k0 > 0 {
			add = 1
		}
		kf := kl - kl%L // columns in whole fill groups
		for r0 := 0; r0 < rows; r0 += P {
			r1 := min(rows, r0+P)
			nb := (r1 - r0 + R - 1) / R
			full := (r1 - r0) / R // whole row blocks
			for r := r1 - r0; r < nb*R; r++ {
				clear(panel[r*ldp : r*ldp+kl])
			}
			t0 := 0
			if full == 0 || kf == 0 {
				fill(panel, ldp, r0, r1, k0, 0, kl)
			} else {
				rf := r0 + full*R
				if kf < kl {
					fill(panel, ldp, r0, rf, k0, kf, kl)
				}
				if rf < r1 {
					fill(panel[full*R*ldp:], ldp, rf, r1, k0, 0, kl)
				}
				v := (min(tb, t) + L - 1) / L
				fused(v, &xs[0], &panel[0], ldp, &yT[r0*tp], tp, kl, add, full, r0, k0, kf/L)
				if full < nb {
					mk.tab[v](&xs[0], &panel[full*R*ldp], ldp, &yT[rf*tp], tp, kl, add, 1)
				}
				t0 = tb
			}
			for ; t0 < t; t0 += tb {
				v := (min(tb, t-t0) + L - 1) / L
				mk.tab[v](&xs[t0*kl], &panel[0], ldp, &yT[r0*tp+t0], tp, kl, add, nb)
			}
			if k0+kl == n {
				// The panel's results are complete, and in L2.
				mk.transpose(y[r0:], ldy, yT[r0*tp:], tp, r1-r0, t)
			}
		}
	}
	mmRelease(yb)
	if xb != nil {
		mmRelease(xb)
	}
	mmRelease(pb)
}

// prepare packs all of p.x's k-chunks as matMul does one at a time,
// chunk k0 at p.packed[k0*tp:].
func (mk *mmKernels) prepare(p *Prepared) {
	L := mk.lanes
	tp := (p.t + L - 1) / L * L
	if cap(p.packed) < tp*p.n {
		p.packed = make([]float32, tp*p.n)
	}
	p.packed = p.packed[:tp*p.n]
	kc := min(p.n, mmKC)
	for k0 := 0; k0 < p.n; k0 += kc {
		mk.packX(p.packed[k0*tp:], p.x, p.t, p.n, k0, min(kc, p.n-k0), (len(mk.tab)-1)*L)
	}
}

// mmFill is the panel fill of weights w [rows, n] (see matMul): the
// assembly wp widens or copies the whole vectors of every row, widen1
// the columns left over; size is the weights' element size.
func mmFill[W float32 | uint16](mk *mmKernels, wp func(dst *float32, ldd int, src *W, lds int, k int, rows int, pfd int),
	widen1 func(dst []float32, src []W), w []W, n, size int, panel []float32, ldp, r0, r1, k0, c0, c1 int) {
	m := (c1 - c0) - (c1-c0)%mk.lanes
	if m > 0 {
		wp(&panel[c0], ldp, &w[r0*n+k0+c0], n, m, r1-r0, mmPrefetchRows*n*size)
	}
	if c0+m < c1 {
		for r := r0; r < r1; r++ {
			p := (r - r0) * ldp
			widen1(panel[p+c0+m:p+c1], w[r*n+k0+c0+m:r*n+k0+c1])
		}
	}
}

// mmWeights runs matMul for weights w of element type W (px: x prepared,
// or nil).
func mmWeights[W float32 | uint16](mk *mmKernels, y []float32, ldy int, x, px []float32, t int, w []W, size int,
	wp func(dst *float32, ldd int, src *W, lds int, k int, rows int, pfd int),
	tabW []func(x *float32, w *float32, ldw int, y *float32, ldy int, k int, add int, blocks int, src *W, lds int, groups int),
	widen1 func(dst []float32, src []W)) {
	n := len(x) / t
	mk.matMul(y, ldy, x, px, t, n, len(w)/n, func(panel []float32, ldp, r0, r1, k0, c0, c1 int) {
		mmFill(mk, wp, widen1, w, n, size, panel, ldp, r0, r1, k0, c0, c1)
	}, func(v int, x, panel *float32, ldp int, y *float32, ldy, kl, add, blocks, r0, k0, groups int) {
		tabW[v](x, panel, ldp, y, ldy, kl, add, blocks, &w[r0*n+k0], n, groups)
	})
}

func copyF32(dst, src []float32) { copy(dst, src) }

func installMatMul(t *table, mk *mmKernels) {
	t.matMulF32 = func(y []float32, ldy int, x []float32, tt int, w []float32) {
		mmWeights(mk, y, ldy, x, nil, tt, w, 4, mk.wpF32, mk.tabWF32, copyF32)
	}
	t.matMulBF16 = func(y []float32, ldy int, x []float32, tt int, w []uint16) {
		mmWeights(mk, y, ldy, x, nil, tt, w, 2, mk.wpBF16, mk.tabWBF16, bf16ToF32Generic)
	}
	t.matMulF16 = func(y []float32, ldy int, x []float32, tt int, w []uint16) {
		mmWeights(mk, y, ldy, x, nil, tt, w, 2, mk.wpF16, mk.tabWF16, f16ToF32Generic)
	}
	t.prepare = mk.prepare
	t.matMulF32P = func(y []float32, ldy int, p *Prepared, w []float32) {
		mmWeights(mk, y, ldy, p.x, p.packed, p.t, w, 4, mk.wpF32, mk.tabWF32, copyF32)
	}
	t.matMulBF16P = func(y []float32, ldy int, p *Prepared, w []uint16) {
		mmWeights(mk, y, ldy, p.x, p.packed, p.t, w, 2, mk.wpBF16, mk.tabWBF16, bf16ToF32Generic)
	}
	t.matMulF16P = func(y []float32, ldy int, p *Prepared, w []uint16) {
		mmWeights(mk, y, ldy, p.x, p.packed, p.t, w, 2, mk.wpF16, mk.tabWF16, f16ToF32Generic)
	}
	t.transpose = mk.transpose
}
