//go:build amd64 && !noasm

package kernels

import "math"

// The Go side of the element-wise kernels: the assembly does the largest
// multiple of the vector width, the generic code the rest.

// elemSet is one level's element-wise assembly.
type elemSet struct {
	lanes     int
	cvtBF16   func(dst *float32, src *uint16, n int)
	cvtF16    func(dst *float32, src *uint16, n int)
	cvtToF16  func(dst *uint16, src *float32, n int)
	add       func(dst, x *float32, n int)
	scale     func(x *float32, n int, a float32)
	mulScale  func(out, x, w *float32, n int, a float32)
	axpy      func(out, v *float32, n int, a float32)
	axpyF16   func(out *float32, v *uint16, n int, a float32)
	ropeHalf  func(lo, hi, cos, sin *float32, n int)
	ropePairs func(x, cos, sin *float32, n int)
}

var avx2Elem = elemSet{8, cvtBF16AVX2, cvtF16AVX2, cvtToF16AVX2, addAVX2, scaleAVX2,
	mulScaleAVX2, axpyAVX2, axpyF16AVX2, ropeHalfAVX2, ropePairsAVX2}

var avx512Elem = elemSet{16, cvtBF16AVX512, cvtF16AVX512, cvtToF16AVX512, addAVX512, scaleAVX512,
	mulScaleAVX512, axpyAVX512, axpyF16AVX512, ropeHalfAVX512, ropePairsAVX512}

// split returns the length the assembly handles.
func (e *elemSet) split(n int) int { return n &^ (e.lanes - 1) }

func installElem(t *table, e elemSet) {
	t.bf16ToF32 = func(dst []float32, src []uint16) {
		m := e.split(len(dst))
		if m > 0 {
			e.cvtBF16(&dst[0], &src[0], m)
		}
		bf16ToF32Generic(dst[m:], src[m:len(dst)])
	}
	t.f16ToF32 = func(dst []float32, src []uint16) {
		m := e.split(len(dst))
		if m > 0 {
			e.cvtF16(&dst[0], &src[0], m)
		}
		f16ToF32Generic(dst[m:], src[m:len(dst)])
	}
	t.f32ToF16 = func(dst []uint16, src []float32) {
		m := e.split(len(dst))
		if m > 0 {
			e.cvtToF16(&dst[0], &src[0], m)
		}
		f32ToF16Generic(dst[m:], src[m:len(dst)])
	}
	t.add = func(dst, x []float32) {
		m := e.split(len(dst))
		if m > 0 {
			e.add(&dst[0], &x[0], m)
		}
		addGeneric(dst[m:], x[m:len(dst)])
	}
	t.scale = func(x []float32, a float32) {
		m := e.split(len(x))
		if m > 0 {
			e.scale(&x[0], m, a)
		}
		scaleGeneric(x[m:], a)
	}
	t.rmsNorm = func(out, x, w []float32, eps float32) {
		ss := t.sumSquaresFn(x)
		inv := float32(1 / math.Sqrt(float64(ss/float32(len(x))+eps)))
		m := e.split(len(x))
		if m > 0 {
			e.mulScale(&out[0], &x[0], &w[0], m, inv)
		}
		for i := m; i < len(x); i++ {
			out[i] = x[i] * inv * w[i]
		}
	}
	t.weightedSum = func(out, p, v []float32, stride int) {
		d := len(out)
		m := e.split(d)
		for j, pj := range p {
			vj := v[j*stride : j*stride+d]
			if m > 0 {
				e.axpy(&out[0], &vj[0], m, pj)
			}
			for i := m; i < d; i++ {
				out[i] += pj * vj[i]
			}
		}
	}
	t.weightedF16 = func(out, p []float32, v []uint16, stride int) {
		d := len(out)
		m := e.split(d)
		for j, pj := range p {
			vj := v[j*stride : j*stride+d]
			if m > 0 {
				e.axpyF16(&out[0], &vj[0], m, pj)
			}
			for i := m; i < d; i++ {
				out[i] += pj * F16ToFloat(vj[i])
			}
		}
	}
	t.ropeHalf = func(x, cos, sin []float32) {
		h := len(cos)
		m := e.split(h)
		for o := 0; o+2*h <= len(x); o += 2 * h {
			lo, hi := x[o:o+h], x[o+h:o+2*h]
			if m > 0 {
				e.ropeHalf(&lo[0], &hi[0], &cos[0], &sin[0], m)
			}
			for i := m; i < h; i++ {
				a, b := lo[i], hi[i]
				lo[i] = a*cos[i] - b*sin[i]
				hi[i] = a*sin[i] + b*cos[i]
			}
		}
	}
	t.ropePairs = func(x, cos, sin []float32) {
		h := len(cos)
		m := e.split(2*h) / 2 // pairs done by the assembly
		for o := 0; o+2*h <= len(x); o += 2 * h {
			head := x[o : o+2*h]
			if m > 0 {
				e.ropePairs(&head[0], &cos[0], &sin[0], 2*m)
			}
			for i := m; i < h; i++ {
				a, b := head[2*i], head[2*i+1]
				head[2*i] = a*cos[i] - b*sin[i]
				head[2*i+1] = a*sin[i] + b*cos[i]
			}
		}
	}
	// The exp kernels exist in ymm form only (see _gen/elem.go).
	t.softmax = softmaxAVX2Go
	t.swiGLU = func(out, gate, up []float32) {
		m := len(gate) &^ 7
		if m > 0 {
			swiGLUAVX2(&out[0], &gate[0], &up[0], m)
		}
		swiGLUGeneric(out[m:], gate[m:], up[m:len(gate)])
	}
}

func softmaxAVX2Go(x []float32) {
	m8 := len(x) &^ 7
	mx := x[0]
	if m8 > 0 {
		mx = maxAVX2(&x[0], m8)
	}
	for _, v := range x[m8:] {
		if v > mx {
			mx = v
		}
	}
	var s float32
	if m8 > 0 {
		s = expSumAVX2(&x[0], m8, mx)
	}
	for i := m8; i < len(x); i++ {
		e := expf(x[i] - mx)
		x[i] = e
		s += e
	}
	inv := 1 / s
	if m8 > 0 {
		scaleAVX2(&x[0], m8, inv)
	}
	for i := m8; i < len(x); i++ {
		x[i] *= inv
	}
}
