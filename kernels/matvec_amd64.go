//go:build amd64 && !noasm

package kernels

// The Go side of the matrix-vector kernels. The assembly handles the
// largest multiple of the vector width of each row; the few remaining
// elements are added here, which keeps the assembly free of masked tails.

type mvF32Fn func(y *float32, w *float32, x *float32, n, rows, ldw int)
type mvU16Fn func(y *float32, w *uint16, x *float32, n, rows, ldw int)

// dotTail returns the dot product of x with the widened w.
func dotTail(x []float32, w []uint16, widen func(uint16) float32) float32 {
	w = w[:len(x)]
	var s float32
	for i, v := range x {
		s += v * widen(w[i])
	}
	return s
}

// mvU16 runs k over rows of w ldw elements apart and adds the tails.
func mvU16(k mvU16Fn, lanes int, y []float32, w []uint16, x []float32, ldw int, widen func(uint16) float32) {
	n := len(x)
	nm := n &^ (lanes - 1)
	if nm > 0 {
		k(&y[0], &w[0], &x[0], nm, len(y), ldw)
	} else {
		for r := range y {
			y[r] = 0
		}
	}
	if nm < n {
		for r := range y {
			y[r] += dotTail(x[nm:], w[r*ldw+nm:r*ldw+n], widen)
		}
	}
}

// mvF32 is mvU16 for float32 weights.
func mvF32(k mvF32Fn, lanes int, y, w, x []float32, ldw int) {
	n := len(x)
	nm := n &^ (lanes - 1)
	if nm > 0 {
		k(&y[0], &w[0], &x[0], nm, len(y), ldw)
	} else {
		for r := range y {
			y[r] = 0
		}
	}
	if nm < n {
		for r := range y {
			y[r] += dotF32Generic(x[nm:], w[r*ldw+nm:r*ldw+n])
		}
	}
}

func installMatVec(t *table, kf mvF32Fn, kb, kh mvU16Fn, lanes int) {
	t.matVecF32 = func(y, w, x []float32) { mvF32(kf, lanes, y, w, x, len(x)) }
	t.matVecBF16 = func(y []float32, w []uint16, x []float32) { mvU16(kb, lanes, y, w, x, len(x), BF16ToFloat) }
	t.matVecF16 = func(y []float32, w []uint16, x []float32) { mvU16(kh, lanes, y, w, x, len(x), F16ToFloat) }
	t.scores = func(s, q, k []float32, stride int, scale float32) {
		mvF32(kf, lanes, s, k, q, stride)
		for j := range s {
			s[j] *= scale
		}
	}
	t.scoresF16 = func(s, q []float32, k []uint16, stride int, scale float32) {
		mvU16(kh, lanes, s, k, q, stride, F16ToFloat)
		for j := range s {
			s[j] *= scale
		}
	}
}

// The dot products call the assembly directly (not through a function
// value) so that, with the stubs' //go:noescape, the one-element result
// stays on the stack: no allocation per call.

func dotF32AVX2Go(x, w []float32) float32 {
	n := len(x)
	nm := n &^ 7
	var s float32
	if nm > 0 {
		mvF32AVX2(&s, &w[0], &x[0], nm, 1, nm)
	}
	return s + dotF32Generic(x[nm:], w[nm:n])
}

func dotBF16AVX2Go(x []float32, w []uint16) float32 {
	n := len(x)
	nm := n &^ 7
	var s float32
	if nm > 0 {
		mvBF16AVX2(&s, &w[0], &x[0], nm, 1, nm)
	}
	return s + dotTail(x[nm:], w[nm:n], BF16ToFloat)
}

func dotF16AVX2Go(x []float32, w []uint16) float32 {
	n := len(x)
	nm := n &^ 7
	var s float32
	if nm > 0 {
		mvF16AVX2(&s, &w[0], &x[0], nm, 1, nm)
	}
	return s + dotTail(x[nm:], w[nm:n], F16ToFloat)
}

func dotF32AVX512Go(x, w []float32) float32 {
	n := len(x)
	nm := n &^ 15
	var s float32
	if nm > 0 {
		mvF32AVX512(&s, &w[0], &x[0], nm, 1, nm)
	}
	return s + dotF32Generic(x[nm:], w[nm:n])
}

func dotBF16AVX512Go(x []float32, w []uint16) float32 {
	n := len(x)
	nm := n &^ 15
	var s float32
	if nm > 0 {
		mvBF16AVX512(&s, &w[0], &x[0], nm, 1, nm)
	}
	return s + dotTail(x[nm:], w[nm:n], BF16ToFloat)
}

func dotF16AVX512Go(x []float32, w []uint16) float32 {
	n := len(x)
	nm := n &^ 15
	var s float32
	if nm > 0 {
		mvF16AVX512(&s, &w[0], &x[0], nm, 1, nm)
	}
	return s + dotTail(x[nm:], w[nm:n], F16ToFloat)
}

func sumSquaresAVX2Go(x []float32) float32 {
	nm := len(x) &^ 7
	var s float32
	if nm > 0 {
		s = sumSquaresAVX2(&x[0], nm)
	}
	return s + sumSquaresGeneric(x[nm:])
}

func sumSquaresAVX512Go(x []float32) float32 {
	nm := len(x) &^ 15
	var s float32
	if nm > 0 {
		s = sumSquaresAVX512(&x[0], nm)
	}
	return s + sumSquaresGeneric(x[nm:])
}
