//go:build !noasm

package kernels

import "math"

// Go side of the NEON level: declarations of the assembly routines in
// neon_arm64.s and the wrappers that the table holds. The assembly only
// handles whole groups of 4 elements (4 rows, 4 tokens); the wrappers check
// bounds by re-slicing before taking element addresses, so the assembly
// never reads or writes outside the slices, and finish the last 0-3
// elements in Go.

// Assembly routines. n is a multiple of 4 in every one of them.

//go:noescape
func dotF32NEON(x, w *float32, n int) float32

//go:noescape
func dotBF16NEON(x *float32, w *uint16, n int) float32

//go:noescape
func dotF16NEON(x *float32, w *uint16, n int) float32

// dot4*NEON write y[r] = sum_{k<n} x[k]*w[r*stride+k] for r = 0..3.
//
//go:noescape
func dot4F32NEON(y, x, w *float32, n, stride int)

//go:noescape
func dot4BF16NEON(y, x *float32, w *uint16, n, stride int)

//go:noescape
func dot4F16NEON(y, x *float32, w *uint16, n, stride int)

// mm4x4*NEON write y[i*ldy+r] = sum_{k<n} x[i*ld+k]*w[r*ld+k] for i, r = 0..3.
//
//go:noescape
func mm4x4F32NEON(y *float32, ldy int, x, w *float32, n, ld int)

//go:noescape
func mm4x4BF16NEON(y *float32, ldy int, x *float32, w *uint16, n, ld int)

//go:noescape
func mm4x4F16NEON(y *float32, ldy int, x *float32, w *uint16, n, ld int)

//go:noescape
func axpyF32NEON(out, v *float32, n int, a float32)

//go:noescape
func axpyF16NEON(out *float32, v *uint16, n int, a float32)

// axpy4*NEON do out[i] += sum_{j<4} p[j]*v[j*stride+i] for i < n.
//
//go:noescape
func axpy4F32NEON(out, v *float32, n, stride int, p *float32)

//go:noescape
func axpy4F16NEON(out *float32, v *uint16, n, stride int, p *float32)

//go:noescape
func addNEON(dst, x *float32, n int)

//go:noescape
func scaleNEON(x *float32, n int, a float32)

//go:noescape
func mulScaleNEON(out, x, w *float32, n int, a float32)

//go:noescape
func bf16ToF32NEON(dst *float32, src *uint16, n int)

//go:noescape
func f16ToF32NEON(dst *float32, src *uint16, n int)

// ropeHalfNEON rotates pairs (lo[i], hi[i]); ropePairsNEON pairs
// (x[2i], x[2i+1]); n counts pairs.
//
//go:noescape
func ropeHalfNEON(lo, hi, cos, sin *float32, n int)

//go:noescape
func ropePairsNEON(x, cos, sin *float32, n int)

//go:noescape
func f32ToF16NEON(dst *uint16, src *float32, n int)

// maxF32NEON needs n >= 4.
//
//go:noescape
func maxF32NEON(x *float32, n int) float32

// expSumNEON replaces x[i] by e^(x[i]-m) and returns their sum.
//
//go:noescape
func expSumNEON(x *float32, n int, m float32) float32

//go:noescape
func swiGLUNEON(out, gate, up *float32, n int)

// installNEON puts the NEON wrappers into t: every kernel has a NEON
// version.
func installNEON(t *table) {
	t.dotF32 = dotF32Neon
	t.dotBF16 = dotBF16Neon
	t.dotF16 = dotF16Neon
	t.matVecF32 = matVecF32Neon
	t.matVecBF16 = matVecBF16Neon
	t.matVecF16 = matVecF16Neon
	t.matMulF32 = matMulF32Neon
	t.matMulBF16 = matMulBF16Neon
	t.matMulF16 = matMulF16Neon
	t.scores = scoresNeon
	t.scoresF16 = scoresF16Neon
	t.weightedSum = weightedSumNeon
	t.weightedF16 = weightedSumF16Neon
	t.softmax = softmaxNeon
	t.rmsNorm = rmsNormNeon
	t.swiGLU = swiGLUNeon
	t.add = addNeon
	t.scale = scaleNeon
	t.bf16ToF32 = bf16ToF32Neon
	t.f16ToF32 = f16ToF32Neon
	t.sumSquaresFn = sumSquaresNeon
	t.ropeHalf = ropeHalfNeon
	t.ropePairs = ropePairsNeon
	t.f32ToF16 = f32ToF16Neon
}

// tailDotF32 and friends sum the elements from k on, in Go.
func tailDotF32(x, w []float32, k int) (s float32) {
	for ; k < len(x); k++ {
		s += x[k] * w[k]
	}
	return s
}

func tailDotBF16(x []float32, w []uint16, k int) (s float32) {
	for ; k < len(x); k++ {
		s += x[k] * BF16ToFloat(w[k])
	}
	return s
}

func tailDotF16(x []float32, w []uint16, k int) (s float32) {
	for ; k < len(x); k++ {
		s += x[k] * F16ToFloat(w[k])
	}
	return s
}

func dotF32Neon(x, w []float32) float32 {
	n := len(x)
	if n < 4 {
		return tailDotF32(x, w[:n], 0)
	}
	w = w[:n]
	n4 := n &^ 3
	return dotF32NEON(&x[0], &w[0], n4) + tailDotF32(x, w, n4)
}

func dotBF16Neon(x []float32, w []uint16) float32 {
	n := len(x)
	if n < 4 {
		return tailDotBF16(x, w[:n], 0)
	}
	w = w[:n]
	n4 := n &^ 3
	return dotBF16NEON(&x[0], &w[0], n4) + tailDotBF16(x, w, n4)
}

func dotF16Neon(x []float32, w []uint16) float32 {
	n := len(x)
	if n < 4 {
		return tailDotF16(x, w[:n], 0)
	}
	w = w[:n]
	n4 := n &^ 3
	return dotF16NEON(&x[0], &w[0], n4) + tailDotF16(x, w, n4)
}

func sumSquaresNeon(x []float32) float32 { return dotF32Neon(x, x) }

// rowsF32 computes y[j] = dot(x, w[j*stride : j*stride+len(x)]) for every
// j, four rows per assembly call. It serves MatVec (stride = len(x)) and
// Scores (the key stride).
func rowsF32(y, x, w []float32, stride int) {
	n := len(x)
	if n < 4 {
		for j := range y {
			y[j] = tailDotF32(x, w[j*stride:j*stride+n], 0)
		}
		return
	}
	n4 := n &^ 3
	j := 0
	for ; j+4 <= len(y); j += 4 {
		wj := w[j*stride : 3*stride+j*stride+n] // bounds of all four rows
		dot4F32NEON(&y[j], &x[0], &wj[0], n4, stride)
	}
	for ; j < len(y); j++ {
		y[j] = dotF32NEON(&x[0], &w[j*stride : j*stride+n][0], n4)
	}
	if n4 < n {
		for j := range y {
			y[j] += tailDotF32(x, w[j*stride:j*stride+n], n4)
		}
	}
}

// rowsBF16 is rowsF32 with bfloat16 rows.
func rowsBF16(y, x []float32, w []uint16, stride int) {
	n := len(x)
	if n < 4 {
		for j := range y {
			y[j] = tailDotBF16(x, w[j*stride:j*stride+n], 0)
		}
		return
	}
	n4 := n &^ 3
	j := 0
	for ; j+4 <= len(y); j += 4 {
		wj := w[j*stride : 3*stride+j*stride+n]
		dot4BF16NEON(&y[j], &x[0], &wj[0], n4, stride)
	}
	for ; j < len(y); j++ {
		y[j] = dotBF16NEON(&x[0], &w[j*stride : j*stride+n][0], n4)
	}
	if n4 < n {
		for j := range y {
			y[j] += tailDotBF16(x, w[j*stride:j*stride+n], n4)
		}
	}
}

// rowsF16 is rowsF32 with half-precision rows.
func rowsF16(y, x []float32, w []uint16, stride int) {
	n := len(x)
	if n < 4 {
		for j := range y {
			y[j] = tailDotF16(x, w[j*stride:j*stride+n], 0)
		}
		return
	}
	n4 := n &^ 3
	j := 0
	for ; j+4 <= len(y); j += 4 {
		wj := w[j*stride : 3*stride+j*stride+n]
		dot4F16NEON(&y[j], &x[0], &wj[0], n4, stride)
	}
	for ; j < len(y); j++ {
		y[j] = dotF16NEON(&x[0], &w[j*stride : j*stride+n][0], n4)
	}
	if n4 < n {
		for j := range y {
			y[j] += tailDotF16(x, w[j*stride:j*stride+n], n4)
		}
	}
}

func matVecF32Neon(y, w, x []float32)                     { rowsF32(y, x, w, len(x)) }
func matVecBF16Neon(y []float32, w []uint16, x []float32) { rowsBF16(y, x, w, len(x)) }
func matVecF16Neon(y []float32, w []uint16, x []float32)  { rowsF16(y, x, w, len(x)) }

func scoresNeon(s, q, k []float32, stride int, scale float32) {
	rowsF32(s, q, k, stride)
	for j := range s {
		s[j] *= scale
	}
}

func scoresF16Neon(s, q []float32, k []uint16, stride int, scale float32) {
	rowsF16(s, q, k, stride)
	for j := range s {
		s[j] *= scale
	}
}

// matMul walks the weights in blocks of 4 rows and, while a block is hot
// in cache, runs the 4x4 microkernel (mm) over every whole block of 4
// tokens and the four-row kernel (d4) over the 0-3 leftover tokens; so the
// weights are read from memory once per call whatever t is. Leftover rows
// (nr%4) use single dot products (dot). The assembly sees only the first
// n&^3 columns; the last n%4 products of every output are added in Go
// (tail).
func matMul[W float32 | uint16](y []float32, ldy int, x []float32, t int, w []W,
	mm func(y *float32, ldy int, x *float32, w *W, n, ld int),
	d4 func(y, x *float32, w *W, n, stride int),
	dot func(x []float32, w []W) float32,
	tail func(x []float32, w []W, k int) float32) {
	n := len(x) / t
	nr := len(w) / n
	x = x[:t*n]
	w = w[:nr*n]
	y = y[:(t-1)*ldy+nr]
	n4 := n &^ 3
	t4 := t &^ 3
	if n4 == 0 {
		for i := 0; i < t; i++ {
			for r := 0; r < nr; r++ {
				y[i*ldy+r] = tail(x[i*n:(i+1)*n], w[r*n:(r+1)*n], 0)
			}
		}
		return
	}
	r := 0
	for ; r+4 <= nr; r += 4 {
		wr := w[r*n : (r+4)*n]
		i := 0
		for ; i < t4; i += 4 {
			yi := y[i*ldy+r : (i+3)*ldy+r+4] // bounds of all 16 outputs
			xi := x[i*n : (i+4)*n]
			mm(&yi[0], ldy, &xi[0], &wr[0], n4, n)
		}
		for ; i < t; i++ {
			yi := y[i*ldy+r : i*ldy+r+4]
			d4(&yi[0], &x[i*n], &wr[0], n4, n)
		}
	}
	for ; r < nr; r++ {
		wr := w[r*n : r*n+n4]
		for i := 0; i < t; i++ {
			y[i*ldy+r] = dot(x[i*n:i*n+n4], wr)
		}
	}
	if n4 < n {
		for i := 0; i < t; i++ {
			xi := x[i*n : (i+1)*n]
			for r := 0; r < nr; r++ {
				y[i*ldy+r] += tail(xi, w[r*n:(r+1)*n], n4)
			}
		}
	}
}

func matMulF32Neon(y []float32, ldy int, x []float32, t int, w []float32) {
	matMul(y, ldy, x, t, w, mm4x4F32NEON, dot4F32NEON, dotF32Neon, tailDotF32)
}

func matMulBF16Neon(y []float32, ldy int, x []float32, t int, w []uint16) {
	matMul(y, ldy, x, t, w, mm4x4BF16NEON, dot4BF16NEON, dotBF16Neon, tailDotBF16)
}

func matMulF16Neon(y []float32, ldy int, x []float32, t int, w []uint16) {
	matMul(y, ldy, x, t, w, mm4x4F16NEON, dot4F16NEON, dotF16Neon, tailDotF16)
}

// weightedSumNeon adds four value rows per assembly call (one load and
// store of out per four rows), then the remaining rows one at a time, and
// the last d%4 columns in Go.
func weightedSumNeon(out, p, v []float32, stride int) {
	d := len(out)
	d4 := d &^ 3
	if d4 > 0 {
		j := 0
		for ; j+4 <= len(p); j += 4 {
			vj := v[j*stride : (j+3)*stride+d] // bounds of all four rows
			axpy4F32NEON(&out[0], &vj[0], d4, stride, &p[j])
		}
		for ; j < len(p); j++ {
			axpyF32NEON(&out[0], &v[j*stride : j*stride+d][0], d4, p[j])
		}
	}
	for j, pj := range p {
		vj := v[j*stride : j*stride+d]
		for i := d4; i < d; i++ {
			out[i] += pj * vj[i]
		}
	}
}

// weightedSumF16Neon is weightedSumNeon with half-precision values.
func weightedSumF16Neon(out, p []float32, v []uint16, stride int) {
	d := len(out)
	d4 := d &^ 3
	if d4 > 0 {
		j := 0
		for ; j+4 <= len(p); j += 4 {
			vj := v[j*stride : (j+3)*stride+d]
			axpy4F16NEON(&out[0], &vj[0], d4, stride, &p[j])
		}
		for ; j < len(p); j++ {
			axpyF16NEON(&out[0], &v[j*stride : j*stride+d][0], d4, p[j])
		}
	}
	for j, pj := range p {
		vj := v[j*stride : j*stride+d]
		for i := d4; i < d; i++ {
			out[i] += pj * F16ToFloat(vj[i])
		}
	}
}

func softmaxNeon(x []float32) {
	n := len(x)
	n4 := n &^ 3
	m := x[0]
	if n4 > 0 {
		m = maxF32NEON(&x[0], n4)
	}
	for _, v := range x[n4:] {
		if v > m {
			m = v
		}
	}
	var s float32
	if n4 > 0 {
		s = expSumNEON(&x[0], n4, m)
	}
	for i := n4; i < n; i++ {
		e := expf(x[i] - m)
		x[i] = e
		s += e
	}
	scaleNeon(x, 1/s)
}

func rmsNormNeon(out, x, w []float32, eps float32) {
	n := len(x)
	out = out[:n]
	w = w[:n]
	ss := sumSquaresNeon(x)
	inv := float32(1 / math.Sqrt(float64(ss/float32(n)+eps)))
	n4 := n &^ 3
	if n4 > 0 {
		mulScaleNEON(&out[0], &x[0], &w[0], n4, inv)
	}
	for i := n4; i < n; i++ {
		out[i] = x[i] * inv * w[i]
	}
}

func swiGLUNeon(out, gate, up []float32) {
	n := len(gate)
	up = up[:n]
	out = out[:n]
	n4 := n &^ 3
	if n4 > 0 {
		swiGLUNEON(&out[0], &gate[0], &up[0], n4)
	}
	for i := n4; i < n; i++ {
		g := gate[i]
		out[i] = g / (1 + expf(-g)) * up[i]
	}
}

func addNeon(dst, x []float32) {
	n := len(dst)
	x = x[:n]
	n4 := n &^ 3
	if n4 > 0 {
		addNEON(&dst[0], &x[0], n4)
	}
	for i := n4; i < n; i++ {
		dst[i] += x[i]
	}
}

func scaleNeon(x []float32, a float32) {
	n4 := len(x) &^ 3
	if n4 > 0 {
		scaleNEON(&x[0], n4, a)
	}
	for i := n4; i < len(x); i++ {
		x[i] *= a
	}
}

func bf16ToF32Neon(dst []float32, src []uint16) {
	n := len(dst)
	src = src[:n]
	n4 := n &^ 3
	if n4 > 0 {
		bf16ToF32NEON(&dst[0], &src[0], n4)
	}
	for i := n4; i < n; i++ {
		dst[i] = BF16ToFloat(src[i])
	}
}

func f16ToF32Neon(dst []float32, src []uint16) {
	n := len(dst)
	src = src[:n]
	n4 := n &^ 3
	if n4 > 0 {
		f16ToF32NEON(&dst[0], &src[0], n4)
	}
	for i := n4; i < n; i++ {
		dst[i] = F16ToFloat(src[i])
	}
}

// ropeHalfNeon rotates each head's two halves with the assembly (first
// h&^3 pairs) and Go (the rest).
func ropeHalfNeon(x, cos, sin []float32) {
	h := len(cos)
	sin = sin[:h]
	h4 := h &^ 3
	for o := 0; o+2*h <= len(x); o += 2 * h {
		lo := x[o : o+h]
		hi := x[o+h : o+2*h]
		if h4 > 0 {
			ropeHalfNEON(&lo[0], &hi[0], &cos[0], &sin[0], h4)
		}
		for i := h4; i < h; i++ {
			a, b := lo[i], hi[i]
			lo[i] = a*cos[i] - b*sin[i]
			hi[i] = a*sin[i] + b*cos[i]
		}
	}
}

// ropePairsNeon is ropeHalfNeon for the interleaved layout.
func ropePairsNeon(x, cos, sin []float32) {
	h := len(cos)
	sin = sin[:h]
	h4 := h &^ 3
	for o := 0; o+2*h <= len(x); o += 2 * h {
		head := x[o : o+2*h]
		if h4 > 0 {
			ropePairsNEON(&head[0], &cos[0], &sin[0], h4)
		}
		for i := h4; i < h; i++ {
			a, b := head[2*i], head[2*i+1]
			head[2*i] = a*cos[i] - b*sin[i]
			head[2*i+1] = a*sin[i] + b*cos[i]
		}
	}
}

func f32ToF16Neon(dst []uint16, src []float32) {
	n := len(dst)
	src = src[:n]
	n4 := n &^ 3
	if n4 > 0 {
		f32ToF16NEON(&dst[0], &src[0], n4)
	}
	for i := n4; i < n; i++ {
		dst[i] = FloatToF16(src[i])
	}
}
