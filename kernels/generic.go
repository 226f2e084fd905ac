package kernels

import "math"

// The pure-Go implementations. They are the reference the assembly is
// tested against and the code that runs with GALE_CPU=generic or -tags
// noasm, so they are written for the compiler: four independent
// accumulators to hide FMA latency, bounds checks hoisted by re-slicing.

func dotF32Generic(x, w []float32) float32 {
	w = w[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * w[i]
		s1 += x[i+1] * w[i+1]
		s2 += x[i+2] * w[i+2]
		s3 += x[i+3] * w[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * w[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func dotBF16Generic(x []float32, w []uint16) float32 {
	w = w[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * math.Float32frombits(uint32(w[i])<<16)
		s1 += x[i+1] * math.Float32frombits(uint32(w[i+1])<<16)
		s2 += x[i+2] * math.Float32frombits(uint32(w[i+2])<<16)
		s3 += x[i+3] * math.Float32frombits(uint32(w[i+3])<<16)
	}
	for ; i < len(x); i++ {
		s0 += x[i] * math.Float32frombits(uint32(w[i])<<16)
	}
	return (s0 + s1) + (s2 + s3)
}

func dotF16Generic(x []float32, w []uint16) float32 {
	w = w[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * F16ToFloat(w[i])
		s1 += x[i+1] * F16ToFloat(w[i+1])
		s2 += x[i+2] * F16ToFloat(w[i+2])
		s3 += x[i+3] * F16ToFloat(w[i+3])
	}
	for ; i < len(x); i++ {
		s0 += x[i] * F16ToFloat(w[i])
	}
	return (s0 + s1) + (s2 + s3)
}

func matVecF32Generic(y, w, x []float32) {
	n := len(x)
	for r := range y {
		y[r] = dotF32Generic(x, w[r*n:(r+1)*n])
	}
}

func matVecBF16Generic(y []float32, w []uint16, x []float32) {
	n := len(x)
	for r := range y {
		y[r] = dotBF16Generic(x, w[r*n:(r+1)*n])
	}
}

func matVecF16Generic(y []float32, w []uint16, x []float32) {
	n := len(x)
	for r := range y {
		y[r] = dotF16Generic(x, w[r*n:(r+1)*n])
	}
}

func matMulF32Generic(y []float32, ldy int, x []float32, t int, w []float32) {
	n := len(x) / t
	rows := len(w) / n
	for r := 0; r < rows; r++ {
		wr := w[r*n : (r+1)*n]
		for i := 0; i < t; i++ {
			y[i*ldy+r] = dotF32Generic(x[i*n:(i+1)*n], wr)
		}
	}
}

// matMulWidened widens each weight row once into a scratch row and reuses
// it for all t tokens, so the conversion cost is paid once per weight.
func matMulWidened(y []float32, ldy int, x []float32, t int, w []uint16, widen func([]float32, []uint16)) {
	n := len(x) / t
	rows := len(w) / n
	row := make([]float32, n)
	for r := 0; r < rows; r++ {
		widen(row, w[r*n:(r+1)*n])
		for i := 0; i < t; i++ {
			y[i*ldy+r] = dotF32Generic(x[i*n:(i+1)*n], row)
		}
	}
}

func matMulBF16Generic(y []float32, ldy int, x []float32, t int, w []uint16) {
	matMulWidened(y, ldy, x, t, w, bf16ToF32Generic)
}

func matMulF16Generic(y []float32, ldy int, x []float32, t int, w []uint16) {
	matMulWidened(y, ldy, x, t, w, f16ToF32Generic)
}

func scoresGeneric(s, q, k []float32, stride int, scale float32) {
	d := len(q)
	for j := range s {
		s[j] = scale * dotF32Generic(q, k[j*stride:j*stride+d])
	}
}

func scoresF16Generic(s, q []float32, k []uint16, stride int, scale float32) {
	d := len(q)
	for j := range s {
		s[j] = scale * dotF16Generic(q, k[j*stride:j*stride+d])
	}
}

func weightedSumGeneric(out, p, v []float32, stride int) {
	d := len(out)
	for j, pj := range p {
		vj := v[j*stride : j*stride+d]
		for i := range out {
			out[i] += pj * vj[i]
		}
	}
}

func weightedSumF16Generic(out, p []float32, v []uint16, stride int) {
	d := len(out)
	for j, pj := range p {
		vj := v[j*stride : j*stride+d]
		for i := range out {
			out[i] += pj * F16ToFloat(vj[i])
		}
	}
}

func softmaxGeneric(x []float32) {
	m := x[0]
	for _, v := range x[1:] {
		if v > m {
			m = v
		}
	}
	var s float32
	for i, v := range x {
		e := expf(v - m)
		x[i] = e
		s += e
	}
	inv := 1 / s
	for i := range x {
		x[i] *= inv
	}
}

func sumSquaresGeneric(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * x[i]
		s1 += x[i+1] * x[i+1]
		s2 += x[i+2] * x[i+2]
		s3 += x[i+3] * x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func rmsNormGeneric(out, x, w []float32, eps float32) {
	ss := sumSquaresGeneric(x)
	inv := float32(1 / math.Sqrt(float64(ss/float32(len(x))+eps)))
	out = out[:len(x)]
	w = w[:len(x)]
	for i, v := range x {
		out[i] = v * inv * w[i]
	}
}

func swiGLUGeneric(out, gate, up []float32) {
	up = up[:len(gate)]
	out = out[:len(gate)]
	for i, g := range gate {
		out[i] = g / (1 + expf(-g)) * up[i]
	}
}

func ropeHalfGeneric(x, cos, sin []float32) {
	h := len(cos)
	for o := 0; o+2*h <= len(x); o += 2 * h {
		lo := x[o : o+h]
		hi := x[o+h : o+2*h]
		for i := range lo {
			a, b := lo[i], hi[i]
			lo[i] = a*cos[i] - b*sin[i]
			hi[i] = a*sin[i] + b*cos[i]
		}
	}
}

func ropePairsGeneric(x, cos, sin []float32) {
	h := len(cos)
	for o := 0; o+2*h <= len(x); o += 2 * h {
		head := x[o : o+2*h]
		for i := range cos {
			a, b := head[2*i], head[2*i+1]
			head[2*i] = a*cos[i] - b*sin[i]
			head[2*i+1] = a*sin[i] + b*cos[i]
		}
	}
}

func addGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i := range dst {
		dst[i] += x[i]
	}
}

func scaleGeneric(x []float32, a float32) {
	for i := range x {
		x[i] *= a
	}
}

func bf16ToF32Generic(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(src[i]) << 16)
	}
}

func f16ToF32Generic(dst []float32, src []uint16) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = F16ToFloat(src[i])
	}
}

func f32ToF16Generic(dst []uint16, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = FloatToF16(src[i])
	}
}

// transposeGeneric goes by 8x8 blocks, so that both sides of a block stay
// in a few cache lines however far apart their rows are.
func transposeGeneric(dst []float32, ldd int, src []float32, lds, rows, cols int) {
	const b = 8
	for r0 := 0; r0 < rows; r0 += b {
		r1 := min(rows, r0+b)
		for c0 := 0; c0 < cols; c0 += b {
			c1 := min(cols, c0+b)
			for c := c0; c < c1; c++ {
				d := dst[c*ldd : c*ldd+r1]
				for r := r0; r < r1; r++ {
					d[r] = src[r*lds+c]
				}
			}
		}
	}
}
