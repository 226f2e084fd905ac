//go:build arm64 && !noasm

package kernels

// Focused checks of the NEON level against independent float64 loops
// written here (not the generic kernels): every length that exercises the
// 16-, 8- and 4-element loops and the Go tails, slices starting at
// unaligned offsets, and guard values around every output. The element
// conversions (bf16, f16) are checked exhaustively against decoders written
// from the formats' definitions, and the vector exp over its whole range.
// Run on amd64 with: GOARCH=arm64 go test -exec qemu-aarch64-static ./kernels/

import (
	"math"
	"math/rand/v2"
	"testing"
)

// useNEON installs the NEON level for the test and restores the previous
// level afterwards.
func useNEON(t *testing.T) {
	t.Helper()
	prev := Current()
	if err := SetLevel(NEON); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = SetLevel(prev) })
}

const guard = float32(-1234.5)

// guarded returns a slice of n values at offset off inside a larger slice
// whose other elements are guard, and the backing slice, so that writes
// outside the n values can be detected by checkGuards.
func guarded(n, off int) (s, all []float32) {
	all = make([]float32, n+off+5)
	for i := range all {
		all[i] = guard
	}
	return all[off : off+n : off+n], all
}

// checkGuards reports any element of all outside [off, off+n) that is not
// the guard value.
func checkGuards(t *testing.T, all []float32, off, n int, what string) {
	t.Helper()
	for i, v := range all {
		if (i < off || i >= off+n) && v != guard {
			t.Fatalf("%s: element %d outside the output [%d, %d) was overwritten: %v", what, i, off, off+n, v)
		}
	}
}

func randF32(r *rand.Rand, n, off int) []float32 {
	all := make([]float32, n+off)
	for i := range all {
		all[i] = float32(r.NormFloat64())
	}
	return all[off:]
}

// randHalf returns n random finite weights, as the raw bits of bfloat16 or
// IEEE half values (chosen by bf16), at offset off, with their exact
// values as float64.
func randHalf(r *rand.Rand, n, off int, bf16 bool) ([]uint16, []float64) {
	all := make([]uint16, n+off)
	vals := make([]float64, n+off)
	for i := range all {
		v := r.NormFloat64()
		if bf16 {
			all[i] = uint16(math.Float32bits(float32(v)) >> 16) // truncation: any bf16 will do
		} else {
			all[i] = f16Bits(v)
		}
		vals[i] = halfValue(all[i], bf16)
	}
	return all[off:], vals[off:]
}

// f16Bits encodes a float64 of moderate size (normal in half precision, or
// zero) as IEEE half precision by truncation, independently of the package.
func f16Bits(v float64) uint16 {
	var sign uint16
	if v < 0 {
		sign, v = 0x8000, -v
	}
	if v < 1.0/16384 { // below the smallest normal: use zero
		return sign
	}
	if v > 65504 {
		v = 65504
	}
	frac, exp := math.Frexp(v) // v = frac * 2^exp, frac in [0.5, 1)
	mant := uint16((frac*2 - 1) * 1024)
	return sign | uint16(exp-1+15)<<10 | mant
}

// halfValue decodes bfloat16 or IEEE half bits from the definitions of the
// formats: bfloat16 is the top half of a float32; half has 1 sign, 5
// exponent (bias 15) and 10 fraction bits with subnormals.
func halfValue(h uint16, bf16 bool) float64 {
	if bf16 {
		return float64(math.Float32frombits(uint32(h) << 16))
	}
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 31
	m := float64(h & 0x3ff)
	switch {
	case e == 31 && m == 0:
		return math.Inf(int(sign))
	case e == 31:
		return math.NaN()
	case e == 0:
		return sign * math.Ldexp(m, -24)
	default:
		return sign * math.Ldexp(1024+m, e-25)
	}
}

func f64s(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// dot64 returns the exact-ish dot product and the sum of |terms|, which
// scales the float32 rounding error bound.
func dot64(x, w []float64) (s, abs float64) {
	for i := range x {
		s += x[i] * w[i]
		abs += math.Abs(x[i] * w[i])
	}
	return s, abs
}

// dotTol bounds the rounding error of a float32 sum of n products: the
// longest chain of dependent additions in the kernels is about n/4 + 8.
func dotTol(n int, abs float64) float64 {
	return 1.2e-7*float64(n/4+8)*abs + 1e-30
}

func checkClose(t *testing.T, what string, got float32, want, tol float64) {
	t.Helper()
	if d := math.Abs(float64(got) - want); !(d <= tol) {
		t.Fatalf("%s: got %v, want %v (diff %g > tol %g)", what, got, want, d, tol)
	}
}

func TestNEONDot(t *testing.T) {
	useNEON(t)
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 300; n++ {
		off := n % 4
		x := randF32(r, n, off)
		w := randF32(r, n, 3-off)
		want, abs := dot64(f64s(x), f64s(w))
		checkClose(t, "DotF32", DotF32(x, w), want, dotTol(n, abs))
		want, abs = dot64(f64s(x), f64s(x))
		checkClose(t, "SumSquares", SumSquares(x), want, dotTol(n, abs))
		for _, bf := range []bool{true, false} {
			h, hv := randHalf(r, n, 3-off, bf)
			want, abs := dot64(f64s(x), hv)
			if bf {
				checkClose(t, "DotBF16", DotBF16(x, h), want, dotTol(n, abs))
			} else {
				checkClose(t, "DotF16", DotF16(x, h), want, dotTol(n, abs))
			}
		}
	}
}

// lengths covers the empty case, the Go tails alone, and every remainder
// of the 16-, 8- and 4-element loops.
var lengths = []int{0, 1, 3, 4, 5, 7, 8, 12, 15, 16, 17, 20, 31, 33, 64, 100, 129, 300}

// kinds of weights: f32, bf16, f16.
var kinds = []string{"f32", "bf16", "f16"}

// weights returns rows*n random weights of kind k (as f32 or raw bits) and
// their exact values.
func weights(r *rand.Rand, kind string, m, off int) ([]float32, []uint16, []float64) {
	switch kind {
	case "f32":
		w := randF32(r, m, off)
		return w, nil, f64s(w)
	default:
		h, v := randHalf(r, m, off, kind == "bf16")
		return nil, h, v
	}
}

func TestNEONMatVec(t *testing.T) {
	useNEON(t)
	r := rand.New(rand.NewPCG(3, 4))
	for _, kind := range kinds {
		for _, n := range lengths {
			if n == 0 {
				continue
			}
			for rows := 1; rows <= 9; rows++ {
				off := (n + rows) % 4
				x := randF32(r, n, off)
				wf, wh, wv := weights(r, kind, rows*n, 3-off)
				y, all := guarded(rows, off)
				switch kind {
				case "f32":
					MatVecF32(y, wf, x)
				case "bf16":
					MatVecBF16(y, wh, x)
				case "f16":
					MatVecF16(y, wh, x)
				}
				checkGuards(t, all, off, rows, "MatVec"+kind)
				for j := range y {
					want, abs := dot64(f64s(x), wv[j*n:(j+1)*n])
					checkClose(t, "MatVec"+kind, y[j], want, dotTol(n, abs))
				}
			}
		}
	}
}

func TestNEONMatMul(t *testing.T) {
	useNEON(t)
	r := rand.New(rand.NewPCG(5, 6))
	for _, kind := range kinds {
		for _, n := range []int{1, 3, 4, 5, 8, 13, 16, 33, 64} {
			for tok := 1; tok <= 9; tok++ {
				for _, rows := range []int{1, 3, 4, 5, 8, 9} {
					ldy := rows + tok%3 // gaps between output rows hold guards
					off := (n + tok) % 4
					x := randF32(r, tok*n, off)
					wf, wh, wv := weights(r, kind, rows*n, 3-off)
					m := (tok-1)*ldy + rows
					y, all := guarded(m, off)
					switch kind {
					case "f32":
						MatMulF32(y, ldy, x, tok, wf)
					case "bf16":
						MatMulBF16(y, ldy, x, tok, wh)
					case "f16":
						MatMulF16(y, ldy, x, tok, wh)
					}
					checkGuards(t, all, off, m, "MatMul"+kind)
					xv := f64s(x)
					for i := 0; i < tok; i++ {
						for c := 0; c < ldy && i*ldy+c < m; c++ {
							got := y[i*ldy+c]
							if c >= rows {
								if got != guard {
									t.Fatalf("MatMul%s: gap y[%d] overwritten", kind, i*ldy+c)
								}
								continue
							}
							want, abs := dot64(xv[i*n:(i+1)*n], wv[c*n:(c+1)*n])
							checkClose(t, "MatMul"+kind, got, want, dotTol(n, abs))
						}
					}
				}
			}
		}
	}
}

func TestNEONScores(t *testing.T) {
	useNEON(t)
	r := rand.New(rand.NewPCG(7, 8))
	for _, d := range []int{1, 4, 7, 16, 33, 64, 128} {
		for _, ns := range []int{1, 2, 3, 4, 5, 9, 17} {
			stride := d + ns%3
			q := randF32(r, d, ns%4)
			scale := float32(0.125)
			for _, f16 := range []bool{false, true} {
				s, all := guarded(ns, d%4)
				var kv []float64
				if f16 {
					k, v := randHalf(r, (ns-1)*stride+d, 1, false)
					kv = v
					ScoresF16(s, q, k, stride, scale)
				} else {
					k := randF32(r, (ns-1)*stride+d, 2)
					kv = f64s(k)
					Scores(s, q, k, stride, scale)
				}
				checkGuards(t, all, d%4, ns, "Scores")
				for j := range s {
					want, abs := dot64(f64s(q), kv[j*stride:j*stride+d])
					checkClose(t, "Scores", s[j], 0.125*want, 0.125*dotTol(d, abs))
				}
			}
		}
	}
}

func TestNEONWeightedSum(t *testing.T) {
	useNEON(t)
	r := rand.New(rand.NewPCG(9, 10))
	for _, d := range lengths {
		for _, np := range []int{1, 2, 5, 16} {
			stride := d + np%3
			p := randF32(r, np, 1)
			for _, f16 := range []bool{false, true} {
				out, all := guarded(d, np%4)
				init := randF32(r, d, 0)
				copy(out, init)
				var vv []float64
				if f16 {
					v, val := randHalf(r, (np-1)*stride+d, 3, false)
					vv = val
					WeightedSumF16(out, p, v, stride)
				} else {
					v := randF32(r, (np-1)*stride+d, 2)
					vv = f64s(v)
					WeightedSum(out, p, v, stride)
				}
				checkGuards(t, all, np%4, d, "WeightedSum")
				for i := range out {
					want, abs := float64(init[i]), math.Abs(float64(init[i]))
					for j := range p {
						want += float64(p[j]) * vv[j*stride+i]
						abs += math.Abs(float64(p[j]) * vv[j*stride+i])
					}
					checkClose(t, "WeightedSum", out[i], want, 1.2e-7*float64(np+2)*abs)
				}
			}
		}
	}
}

// TestNEONExp checks the vector exp over its whole range, every lane
// position, and the special values, against math.Exp: within 2 ulp where
// the result is normal, and the thresholds of expf (0 below -87.33654, +Inf
// above 88.72283).
func TestNEONExp(t *testing.T) {
	var xs []float32
	for v := -90.0; v <= 90; v += 0.01171875 {
		xs = append(xs, float32(v))
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)), 1e-8, -1e-8, -87.33654, 88.72283,
		math.Nextafter32(-87.33654, 0), math.Nextafter32(88.72283, 0),
		math.Nextafter32(-87.33654, -100), math.Nextafter32(88.72283, 100),
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1000, -1000)
	for len(xs)%4 != 0 {
		xs = append(xs, 0.5)
	}
	got := append([]float32(nil), xs...)
	expSumNEON(&got[0], len(got), 0)
	for i, x := range xs {
		g := got[i]
		switch {
		case x != x:
			if g == g {
				t.Fatalf("exp(NaN) = %v, want NaN", g)
			}
		case x < -87.33654:
			if g != 0 {
				t.Fatalf("exp(%v) = %v, want 0", x, g)
			}
		case x > 88.72283:
			if !math.IsInf(float64(g), 1) {
				t.Fatalf("exp(%v) = %v, want +Inf", x, g)
			}
		default:
			want := math.Exp(float64(x))
			ulp := math.Max(float64(math.Nextafter32(float32(want), float32(math.Inf(1)))-float32(want)), 0x1p-149)
			if math.Abs(float64(g)-want) > 2*ulp {
				t.Fatalf("exp(%v) = %v, want %v (%.2f ulp)", x, g, want, math.Abs(float64(g)-want)/ulp)
			}
		}
	}
}

func TestNEONSoftmax(t *testing.T) {
	useNEON(t)
	r := rand.New(rand.NewPCG(11, 12))
	for n := 1; n <= 300; n++ {
		x := randF32(r, n, n%4)
		for i := range x {
			x[i] *= 8
		}
		if n > 5 {
			x[n/2] = float32(math.Inf(-1)) // a masked position
		}
		in := f64s(x)
		Softmax(x)
		m := math.Inf(-1)
		for _, v := range in {
			m = math.Max(m, v)
		}
		var s float64
		for _, v := range in {
			s += math.Exp(v - m)
		}
		for i, v := range in {
			want := math.Exp(v-m) / s
			checkClose(t, "Softmax", x[i], want, 1e-5*want+1e-38)
		}
	}
}

func TestNEONElementwise(t *testing.T) {
	useNEON(t)
	r := rand.New(rand.NewPCG(13, 14))
	for n := 0; n <= 300; n++ {
		off := n % 4
		x := randF32(r, n, off)
		w := randF32(r, n, 3-off)

		out, all := guarded(n, 3-off)
		RMSNorm(out, x, w, 1e-5)
		checkGuards(t, all, 3-off, n, "RMSNorm")
		if n > 0 {
			ss, _ := dot64(f64s(x), f64s(x))
			inv := 1 / math.Sqrt(ss/float64(n)+1e-5)
			for i := range x {
				want := float64(x[i]) * inv * float64(w[i])
				// the sum of squares' error bound, halved by the square root
				rel := 0.6*1.2e-7*float64(n/4+8) + 5e-7
				checkClose(t, "RMSNorm", out[i], want, rel*math.Abs(want)+1e-30)
			}
		}
		inPlace := append([]float32(nil), x...)
		RMSNorm(inPlace, inPlace, w, 1e-5)
		for i := range x {
			if inPlace[i] != out[i] {
				t.Fatalf("RMSNorm in place differs at %d: %v vs %v", i, inPlace[i], out[i])
			}
		}

		gate := randF32(r, n, off)
		for i := range gate {
			gate[i] *= 10
			switch i % 37 {
			case 5:
				gate[i] = -100 // e^-g overflows: silu is -0
			case 6:
				gate[i] = 100
			case 7:
				gate[i] = 0
			}
		}
		out, all = guarded(n, off)
		SwiGLU(out, gate, w)
		checkGuards(t, all, off, n, "SwiGLU")
		for i, g := range gate {
			want := float64(g) / (1 + math.Exp(-float64(g))) * float64(w[i])
			checkClose(t, "SwiGLU", out[i], want, 1e-6*math.Abs(want)+1e-30)
		}
		aliased := append([]float32(nil), gate...)
		SwiGLU(aliased, aliased, w)
		for i := range aliased {
			if aliased[i] != out[i] {
				t.Fatalf("SwiGLU aliased differs at %d: %v vs %v", i, aliased[i], out[i])
			}
		}

		dst, all := guarded(n, off)
		copy(dst, w)
		Add(dst, x)
		checkGuards(t, all, off, n, "Add")
		for i := range dst {
			if dst[i] != w[i]+x[i] { // one rounding, exact match
				t.Fatalf("Add[%d] = %v, want %v", i, dst[i], w[i]+x[i])
			}
		}
		copy(dst, x)
		Scale(dst, 0.37)
		checkGuards(t, all, off, n, "Scale")
		for i := range dst {
			if dst[i] != x[i]*0.37 {
				t.Fatalf("Scale[%d] = %v, want %v", i, dst[i], x[i]*0.37)
			}
		}
	}
}

func TestNEONSwiGLUSpecials(t *testing.T) {
	useNEON(t)
	gate := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), -89, 89, 0, -0.5, 0.5}
	up := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	out := make([]float32, len(gate))
	SwiGLU(out, gate, up)
	if out[0] == out[0] {
		t.Errorf("silu(NaN) = %v, want NaN", out[0])
	}
	// +Inf / (1 + 0) = +Inf; -Inf / (1 + Inf) is NaN in IEEE arithmetic.
	if !math.IsInf(float64(out[1]), 1) || out[2] == out[2] {
		t.Errorf("silu(+-Inf) = %v, %v; want +Inf, NaN", out[1], out[2])
	}
	if out[3] != 0 {
		t.Errorf("silu(-89)*4 = %v, want 0", out[3])
	}
	checkClose(t, "silu(89)", out[4], 89*5, 1e-5)
	checkClose(t, "silu(-0.5)", out[6], -0.5/(1+math.Exp(0.5))*7, 1e-6)
}

// TestNEONConvert widens every bfloat16 and half value, in one call and at
// an unaligned offset, and compares with the formats' definitions.
func TestNEONConvert(t *testing.T) {
	useNEON(t)
	src := make([]uint16, 1<<16+3)
	for i := range src[3:] {
		src[3+i] = uint16(i)
	}
	for _, bf := range []bool{true, false} {
		dst, all := guarded(1<<16, 1)
		if bf {
			BF16ToF32(dst, src[3:])
		} else {
			F16ToF32(dst, src[3:])
		}
		checkGuards(t, all, 1, 1<<16, "convert")
		for i, g := range dst {
			want := halfValue(uint16(i), bf)
			if bf && math.Float32bits(g) != uint32(i)<<16 {
				t.Fatalf("BF16ToF32(%#04x) = %#08x, want %#08x", i, math.Float32bits(g), uint32(i)<<16)
			}
			if want != want {
				if g == g || math.Signbit(float64(g)) != (i&0x8000 != 0) {
					t.Fatalf("F16ToF32(%#04x) = %v, want a NaN of the same sign", i, g)
				}
				continue
			}
			if float64(g) != want || math.Signbit(float64(g)) != math.Signbit(want) {
				t.Fatalf("widen(%#04x, bf16=%v) = %v, want %v", i, bf, g, want)
			}
		}
		// Short lengths use the 4-element loop and the Go tail.
		for n := 0; n <= 40; n++ {
			d, all := guarded(n, n%4)
			s := src[3+0x3c00 : 3+0x3c00+n]
			if bf {
				BF16ToF32(d, s)
			} else {
				F16ToF32(d, s)
			}
			checkGuards(t, all, n%4, n, "convert")
			for i, g := range d {
				if float64(g) != halfValue(s[i], bf) {
					t.Fatalf("widen n=%d [%d] = %v, want %v", n, i, g, halfValue(s[i], bf))
				}
			}
		}
	}
}
