package kernels

// The kernel test suite: every exported kernel, at every level this machine
// and build can run (Levels), against plain loops written here in float64
// (not the generic implementations, so the generic level is tested too).
//
// Each check covers lengths 0..~300 (every tail size of every vector loop),
// slices starting 0..3 elements past an allocation (unaligned), and guard
// values (a NaN with a recognisable payload) around and between every
// output, which must stay untouched.
//
// Error bounds. Sums of n products accumulated in float32 in any order,
// with or without FMA, are within γ(n)·Σ|x_i·w_i| of the exact value, where
// γ(n) ≈ n·2^-24; tkDotTol uses (n+2)·2^-23, twice that, so the bound holds
// for every summation order the kernels use. Element-wise kernels with a
// fixed number of roundings use a few ulp; exp-based ones 4e-6 relative
// (the polynomial is within ~2 ulp, the rest a few roundings).

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// tkLevels runs f once per supported level, installed with SetLevel, and
// restores the level in use afterwards.
func tkLevels(t *testing.T, f func(t *testing.T, l Level)) {
	t.Helper()
	prev := CurrentFeatures()
	defer func() {
		if err := SetFeatures(prev); err != nil {
			t.Fatal(err)
		}
	}()
	for _, l := range Levels() {
		if err := SetLevel(l); err != nil {
			t.Fatal(err)
		}
		t.Run(l.String(), func(t *testing.T) { f(t, l) })
	}
}

// tkGuardBits is the sentinel written around outputs: a quiet NaN with a
// payload no kernel produces.
const tkGuardBits = 0x7fc0dead

var tkGuard = math.Float32frombits(tkGuardBits)

// tkOut is an output slice of n values starting off elements into a
// buffer whose every other element holds the guard.
type tkOut struct {
	all []float32
	off int
	n   int
}

func newTkOut(n, off int) tkOut {
	all := make([]float32, off+n+7)
	for i := range all {
		all[i] = tkGuard
	}
	return tkOut{all, off, n}
}

// s is the output slice; its capacity ends with it, so a kernel that
// re-slices past len cannot reach the guards through append-like tricks.
func (o tkOut) s() []float32 { return o.all[o.off : o.off+o.n : o.off+o.n] }

// check fails unless every element outside the output (and, when keep is
// non-nil, every output index keep reports true for) still holds the guard.
func (o tkOut) check(t *testing.T, what string, keep func(i int) bool) {
	t.Helper()
	for i, v := range o.all {
		in := i >= o.off && i < o.off+o.n
		if in && (keep == nil || !keep(i-o.off)) {
			continue
		}
		if math.Float32bits(v) != tkGuardBits {
			t.Fatalf("%s: guard at buffer index %d (output starts at %d, length %d) overwritten with %v", what, i, o.off, o.n, v)
		}
	}
}

// tkF32 returns n random values in [-1, 1) starting off elements into a
// fresh allocation.
func tkF32(r *rand.Rand, n, off int) []float32 {
	b := make([]float32, n+off)
	for i := range b {
		b[i] = float32(r.Float64()*2 - 1)
	}
	return b[off:]
}

// tkBF16 returns n random bfloat16 values (finite, magnitudes 2^-8..2^1).
func tkBF16(r *rand.Rand, n, off int) []uint16 {
	b := make([]uint16, n+off)
	for i := range b {
		sign := uint16(r.IntN(2)) << 15
		exp := uint16(127-8+r.IntN(10)) << 7
		b[i] = sign | exp | uint16(r.IntN(128))
	}
	return b[off:]
}

// tkF16 returns n random half-precision values: mostly normal numbers of
// magnitude 2^-8..2^1, with some subnormals and zeros mixed in.
func tkF16(r *rand.Rand, n, off int) []uint16 {
	b := make([]uint16, n+off)
	for i := range b {
		sign := uint16(r.IntN(2)) << 15
		e := 15 - 8 + r.IntN(10)
		if r.IntN(16) == 0 {
			e = 0 // subnormal or zero
		}
		b[i] = sign | uint16(e)<<10 | uint16(r.IntN(1024))
	}
	return b[off:]
}

// tkBF16Value decodes bfloat16 from its definition: the upper 16 bits of
// an IEEE binary32.
func tkBF16Value(h uint16) float64 { return float64(math.Float32frombits(uint32(h) << 16)) }

// tkF16Value decodes IEEE binary16 from its definition.
func tkF16Value(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	switch {
	case e == 0x1f && m == 0:
		return math.Inf(int(sign))
	case e == 0x1f:
		return math.NaN()
	case e == 0:
		return sign * m * math.Ldexp(1, -24)
	}
	return sign * (1 + m/1024) * math.Ldexp(1, e-15)
}

// tkDot is the float64 dot product and the sum of |x_i*w_i|.
func tkDot(x []float32, w func(i int) float64) (s, abs float64) {
	for i, v := range x {
		p := float64(v) * w(i)
		s += p
		abs += math.Abs(p)
	}
	return s, abs
}

// tkDotTol is the bound for a float32 sum of n products whose absolute
// values sum to abs (see the file comment), plus a tiny absolute term for
// sums that cancel to zero.
func tkDotTol(n int, abs float64) float64 {
	return float64(n+2)*math.Ldexp(1, -23)*abs + 1e-30
}

func tkClose(t *testing.T, what string, got float32, want, tol float64) {
	t.Helper()
	if d := math.Abs(float64(got) - want); !(d <= tol) {
		t.Fatalf("%s: got %v, want %v (error %.3g > bound %.3g)", what, got, want, d, tol)
	}
}

// tkKinds are the weight types of the dot/matvec/matmul kernels.
var tkKinds = []string{"f32", "bf16", "f16"}

// tkWeights returns m random weights of the kind, as float32 and uint16
// storage (one is nil), and their exact values.
func tkWeights(r *rand.Rand, kind string, m, off int) ([]float32, []uint16, func(i int) float64) {
	switch kind {
	case "f32":
		w := tkF32(r, m, off)
		return w, nil, func(i int) float64 { return float64(w[i]) }
	case "bf16":
		w := tkBF16(r, m, off)
		return nil, w, func(i int) float64 { return tkBF16Value(w[i]) }
	default:
		w := tkF16(r, m, off)
		return nil, w, func(i int) float64 { return tkF16Value(w[i]) }
	}
}

func TestDot(t *testing.T) {
	tkLevels(t, func(t *testing.T, l Level) {
		r := rand.New(rand.NewPCG(1, 2))
		for _, kind := range tkKinds {
			for n := 0; n <= 300; n++ {
				off := n % 4
				x := tkF32(r, n, (off+1)%4)
				wf, wh, wv := tkWeights(r, kind, n, off)
				var got float32
				switch kind {
				case "f32":
					got = DotF32(x, wf)
				case "bf16":
					got = DotBF16(x, wh)
				default:
					got = DotF16(x, wh)
				}
				want, abs := tkDot(x, wv)
				tkClose(t, fmt.Sprintf("Dot%s n=%d", kind, n), got, want, tkDotTol(n, abs))
			}
		}
		// SumSquares is a dot product of x with itself.
		for n := 0; n <= 300; n++ {
			x := tkF32(r, n, n%4)
			want, abs := tkDot(x, func(i int) float64 { return float64(x[i]) })
			tkClose(t, fmt.Sprintf("SumSquares n=%d", n), SumSquares(x), want, tkDotTol(n, abs))
		}
	})
}

// tkMatVecSizes are the row lengths of the matrix tests: every length up
// to 140 (each tail of the 4x-unrolled 16-lane loop and its 1-vector loop)
// and some longer ones.
func tkMatVecSizes() []int {
	var s []int
	for n := 0; n <= 140; n++ {
		s = append(s, n)
	}
	return append(s, 191, 256, 257, 300)
}

func tkMatVec(kind string, y []float32, wf []float32, wh []uint16, x []float32) {
	switch kind {
	case "f32":
		MatVecF32(y, wf, x)
	case "bf16":
		MatVecBF16(y, wh, x)
	default:
		MatVecF16(y, wh, x)
	}
}

func TestMatVec(t *testing.T) {
	tkLevels(t, func(t *testing.T, l Level) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, kind := range tkKinds {
			for _, rows := range []int{1, 2, 3, 4, 5, 7, 8, 9, 13} {
				for _, n := range tkMatVecSizes() {
					off := (n + rows) % 4
					x := tkF32(r, n, off)
					wf, wh, wv := tkWeights(r, kind, rows*n, (off+2)%4)
					out := newTkOut(rows, (off+3)%4)
					y := out.s()
					tkMatVec(kind, y, wf, wh, x)
					what := fmt.Sprintf("MatVec%s %dx%d", kind, rows, n)
					out.check(t, what, nil)
					for j := 0; j < rows; j++ {
						want, abs := tkDot(x, func(i int) float64 { return wv(j*n + i) })
						tkClose(t, fmt.Sprintf("%s row %d", what, j), y[j], want, tkDotTol(n, abs))
					}
				}
			}
		}
	})
}

func tkMatMul(kind string, y []float32, ldy int, x []float32, tok int, wf []float32, wh []uint16) {
	switch kind {
	case "f32":
		MatMulF32(y, ldy, x, tok, wf)
	case "bf16":
		MatMulBF16(y, ldy, x, tok, wh)
	default:
		MatMulF16(y, ldy, x, tok, wh)
	}
}

// tkPrepared is reused by every tkCheckMatMul, as a caller would reuse
// it, so that its buffer is grown, shrunk and overwritten.
var tkPrepared Prepared

// tkCheckMatMul runs one matrix product of tok tokens, rows rows and
// length n, with y rows gap elements longer than needed (gaps guarded),
// through MatMul* and through MatMul*Prepared: the latter on all the rows
// at once and on two parts of them, as workers would.
func tkCheckMatMul(t *testing.T, r *rand.Rand, kind string, tok, rows, n, gap, off int) {
	t.Helper()
	x := tkF32(r, tok*n, off)
	wf, wh, wv := tkWeights(r, kind, rows*n, (off+1)%4)
	ldy := rows + gap
	want, tol := make([]float64, tok*rows), make([]float64, tok*rows)
	for i := 0; i < tok; i++ {
		for j := 0; j < rows; j++ {
			w, abs := tkDot(x[i*n:(i+1)*n], func(k int) float64 { return wv(j*n + k) })
			want[i*rows+j], tol[i*rows+j] = w, tkDotTol(n, abs)
		}
	}
	tkPrepared.Prepare(x, tok)
	for _, how := range []string{"", "Prepared", "Prepared in two"} {
		out := newTkOut((tok-1)*ldy+rows, (off+2)%4)
		y := out.s()
		switch how {
		case "":
			tkMatMul(kind, y, ldy, x, tok, wf, wh)
		case "Prepared":
			tkMatMulPrepared(kind, y, ldy, &tkPrepared, wf, wh, 0, rows, n)
		default:
			split := rows / 3
			tkMatMulPrepared(kind, y, ldy, &tkPrepared, wf, wh, 0, split, n)
			tkMatMulPrepared(kind, y, ldy, &tkPrepared, wf, wh, split, rows, n)
		}
		what := fmt.Sprintf("MatMul%s%s t=%d rows=%d n=%d ldy=%d", kind, how, tok, rows, n, ldy)
		out.check(t, what, func(i int) bool { return i%ldy >= rows })
		for i := 0; i < tok; i++ {
			for j := 0; j < rows; j++ {
				if d := math.Abs(float64(y[i*ldy+j]) - want[i*rows+j]); !(d <= tol[i*rows+j]) {
					tkClose(t, fmt.Sprintf("%s y[%d][%d]", what, i, j), y[i*ldy+j], want[i*rows+j], tol[i*rows+j])
				}
			}
		}
	}
}

// tkMatMulPrepared computes rows [r0, r1) of the product with p.
func tkMatMulPrepared(kind string, y []float32, ldy int, p *Prepared, wf []float32, wh []uint16, r0, r1, n int) {
	if r0 == r1 {
		return
	}
	ys := y[r0 : (p.t-1)*ldy+r1]
	switch kind {
	case "f32":
		MatMulF32Prepared(ys, ldy, p, wf[r0*n:r1*n])
	case "bf16":
		MatMulBF16Prepared(ys, ldy, p, wh[r0*n:r1*n])
	default:
		MatMulF16Prepared(ys, ldy, p, wh[r0*n:r1*n])
	}
}

// TestPreparedOtherLevel: x prepared at one level and multiplied at
// another gives the right product (the layout is the level's).
func TestPreparedOtherLevel(t *testing.T) {
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	r := rand.New(rand.NewPCG(13, 14))
	const tok, rows, n = 37, 29, 70
	x := tkF32(r, tok*n, 0)
	wf, _, wv := tkWeights(r, "f32", rows*n, 0)
	for _, a := range Levels() {
		for _, b := range Levels() {
			if err := SetLevel(a); err != nil {
				t.Fatal(err)
			}
			var p Prepared
			p.Prepare(x, tok)
			if err := SetLevel(b); err != nil {
				t.Fatal(err)
			}
			y := make([]float32, tok*rows)
			MatMulF32Prepared(y, rows, &p, wf)
			for i := 0; i < tok; i++ {
				for j := 0; j < rows; j++ {
					want, abs := tkDot(x[i*n:(i+1)*n], func(k int) float64 { return wv(j*n + k) })
					tkClose(t, fmt.Sprintf("prepared at %s, used at %s: y[%d][%d]", a, b, i, j), y[i*rows+j], want, tkDotTol(n, abs))
				}
			}
		}
	}
}

func TestMatMul(t *testing.T) {
	tkLevels(t, func(t *testing.T, l Level) {
		r := rand.New(rand.NewPCG(5, 6))
		for _, kind := range tkKinds {
			// Every token count to 13, small row counts, every length to
			// 70 (the tails of the 8/16/32-element vectors and chunks)
			// and some more.
			for tok := 1; tok <= 13; tok++ {
				for _, rows := range []int{1, 2, 3, 4, 5, 6, 9} {
					for n := 1; n <= 70; n += 1 + (tok+rows)%3 {
						tkCheckMatMul(t, r, kind, tok, rows, n, (tok+n)%3, (n+rows)%4)
					}
				}
			}
			for _, n := range []int{96, 128, 255, 256, 300} {
				tkCheckMatMul(t, r, kind, 7, 9, n, 1, n%4)
			}
			// Token counts around the 8/16/32-token blocks of the
			// broadcast kernels and the 8x8/16x16 transposes, row
			// counts around their 6- and 12-row blocks, lengths around
			// the vector width and the 4-step unroll.
			for _, tok := range []int{15, 16, 17, 31, 32, 33, 40, 48, 63, 64, 65} {
				for _, rows := range []int{1, 7, 11, 12, 13, 16, 17, 24, 25} {
					for _, n := range []int{1, 3, 16, 17, 33, 70} {
						tkCheckMatMul(t, r, kind, tok, rows, n, (tok+n)%3, (n+rows)%4)
					}
				}
			}
			// Several k-chunks (n > 512) and row panels (rows > 240),
			// with every tail at once.
			tkCheckMatMul(t, r, kind, 7, 261, 2080, 3, 1)
			tkCheckMatMul(t, r, kind, 70, 253, 1100, 1, 2)
		}
	})
}

// TestTranspose covers every shape to 40x40 (the 8x8 and 16x16 blocks of
// the assembly and every edge around them) with strides longer than the
// rows on both sides, whose gaps must keep their guards.
func TestTranspose(t *testing.T) {
	tkLevels(t, func(t *testing.T, l Level) {
		r := rand.New(rand.NewPCG(11, 12))
		for rows := 0; rows <= 40; rows++ {
			for cols := 0; cols <= 40; cols += 1 + rows%3 {
				lds, ldd := cols+rows%3, rows+cols%4
				src := tkF32(r, max(0, (rows-1)*lds+cols), (rows+cols)%4)
				n := 0
				if cols > 0 {
					n = (cols-1)*ldd + rows
				}
				out := newTkOut(n, rows%4)
				dst := out.s()
				Transpose(dst, ldd, src, lds, rows, cols)
				what := fmt.Sprintf("Transpose %dx%d lds=%d ldd=%d", rows, cols, lds, ldd)
				out.check(t, what, func(i int) bool { return i%ldd >= rows })
				for i := 0; i < rows; i++ {
					for j := 0; j < cols; j++ {
						if dst[j*ldd+i] != src[i*lds+j] {
							t.Fatalf("%s: dst[%d][%d] = %v, src[%d][%d] = %v", what, j, i, dst[j*ldd+i], i, j, src[i*lds+j])
						}
					}
				}
			}
		}
	})
}

func TestScores(t *testing.T) {
	tkLevels(t, func(t *testing.T, l Level) {
		r := rand.New(rand.NewPCG(7, 8))
		for _, f16 := range []bool{false, true} {
			for _, d := range []int{0, 1, 5, 8, 16, 17, 31, 32, 33, 64, 65, 127, 128, 130} {
				for _, nk := range []int{1, 2, 3, 4, 5, 9, 17} {
					stride := d + nk%3
					off := (d + nk) % 4
					q := tkF32(r, d, off)
					m := (nk-1)*stride + d
					scale := float32(0.125)
					out := newTkOut(nk, (off+1)%4)
					s := out.s()
					var kv func(i int) float64
					if f16 {
						k := tkF16(r, m, (off+2)%4)
						kv = func(i int) float64 { return tkF16Value(k[i]) }
						ScoresF16(s, q, k, stride, scale)
					} else {
						k := tkF32(r, m, (off+2)%4)
						kv = func(i int) float64 { return float64(k[i]) }
						Scores(s, q, k, stride, scale)
					}
					what := fmt.Sprintf("Scores f16=%v d=%d keys=%d stride=%d", f16, d, nk, stride)
					out.check(t, what, nil)
					for j := 0; j < nk; j++ {
						want, abs := tkDot(q, func(i int) float64 { return kv(j*stride + i) })
						tkClose(t, fmt.Sprintf("%s key %d", what, j), s[j], 0.125*want, 0.125*tkDotTol(d, abs)+1e-30)
					}
				}
			}
		}
	})
}

func TestWeightedSum(t *testing.T) {
	tkLevels(t, func(t *testing.T, l Level) {
		r := rand.New(rand.NewPCG(9, 10))
		for _, f16 := range []bool{false, true} {
			for _, d := range []int{0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100, 128, 130, 300} {
				for _, np := range []int{1, 2, 3, 5, 11} {
					stride := d + np%3
					off := (d + np) % 4
					p := tkF32(r, np, off)
					m := (np-1)*stride + d
					out := newTkOut(d, (off+1)%4)
					o := out.s()
					init := tkF32(r, d, 0)
					copy(o, init)
					var vv func(i int) float64
					if f16 {
						v := tkF16(r, m, (off+2)%4)
						vv = func(i int) float64 { return tkF16Value(v[i]) }
						WeightedSumF16(o, p, v, stride)
					} else {
						v := tkF32(r, m, (off+2)%4)
						vv = func(i int) float64 { return float64(v[i]) }
						WeightedSum(o, p, v, stride)
					}
					what := fmt.Sprintf("WeightedSum f16=%v d=%d p=%d stride=%d", f16, d, np, stride)
					out.check(t, what, nil)
					for i := 0; i < d; i++ {
						want, abs := float64(init[i]), math.Abs(float64(init[i]))
						for j := 0; j < np; j++ {
							pv := float64(p[j]) * vv(j*stride+i)
							want += pv
							abs += math.Abs(pv)
						}
						tkClose(t, fmt.Sprintf("%s out[%d]", what, i), o[i], want, tkDotTol(np, abs))
					}
				}
			}
		}
	})
}

// tkLengths are the lengths of the element-wise tests: every length to
// 300 would be slow with all levels and kernels, so all to 70 (every tail
// of 8-, 16-, 32- and 64-element loops) and a spread beyond.
func tkLengths() []int {
	var s []int
	for n := 0; n <= 70; n++ {
		s = append(s, n)
	}
	return append(s, 95, 96, 97, 127, 128, 129, 200, 255, 256, 257, 299, 300)
}

func TestSoftmax(t *testing.T) {
	tkLevels(t, func(t *testing.T, l Level) {
		r := rand.New(rand.NewPCG(11, 12))
		for _, n := range tkLengths() {
			for _, spread := range []float64{1, 30, 200} {
				out := newTkOut(n, n%4)
				x := out.s()
				in := make([]float64, n)
				for i := range x {
					x[i] = float32((r.Float64()*2 - 1) * spread)
					in[i] = float64(x[i])
				}
				Softmax(x)
				what := fmt.Sprintf("Softmax n=%d spread=%v", n, spread)
				out.check(t, what, nil)
				tkCheckSoftmax(t, what, x, in)
			}
		}
	})
}

// tkCheckSoftmax compares x = Softmax(in) with a float64 softmax: exp is
// within a few ulp, then a sum of n terms and a division.
func tkCheckSoftmax(t *testing.T, what string, x []float32, in []float64) {
	t.Helper()
	if len(in) == 0 {
		return
	}
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
		tol := want*(4e-6+float64(len(in))*math.Ldexp(1, -23)) + 1e-45
		if want < 1.2e-38 { // float32 subnormal results: absolute bound
			tol = 2e-38
		}
		tkClose(t, fmt.Sprintf("%s x[%d]=%v", what, i, v), x[i], want, tol)
	}
}

func TestRMSNorm(t *testing.T) {
	tkLevels(t, func(t *testing.T, l Level) {
		r := rand.New(rand.NewPCG(13, 14))
		for _, n := range tkLengths() {
			if n == 0 {
				continue
			}
			for _, inPlace := range []bool{false, true} {
				x := tkF32(r, n, n%4)
				w := tkF32(r, n, (n+1)%4)
				xs := append([]float32(nil), x...)
				out := newTkOut(n, (n+2)%4)
				o := out.s()
				if inPlace {
					copy(o, x)
					x = o
				}
				const eps = 1e-5
				RMSNorm(o, x, w, eps)
				what := fmt.Sprintf("RMSNorm n=%d inPlace=%v", n, inPlace)
				out.check(t, what, nil)
				var ss float64
				for _, v := range xs {
					ss += float64(v) * float64(v)
				}
				inv := 1 / math.Sqrt(ss/float64(n)+eps)
				for i, v := range xs {
					want := float64(v) * inv * float64(w[i])
					tkClose(t, fmt.Sprintf("%s [%d]", what, i), o[i], want, math.Abs(want)*(float64(n+8)*math.Ldexp(1, -23))+1e-30)
				}
			}
		}
	})
}

func TestSwiGLU(t *testing.T) {
	tkLevels(t, func(t *testing.T, l Level) {
		r := rand.New(rand.NewPCG(15, 16))
		for _, n := range tkLengths() {
			for _, alias := range []int{0, 1, 2} { // separate out, out=gate, out=up
				g := tkF32(r, n, n%4)
				for i := range g {
					g[i] *= 20 // well into both saturated sides of SiLU
				}
				u := tkF32(r, n, (n+1)%4)
				gs, us := append([]float32(nil), g...), append([]float32(nil), u...)
				out := newTkOut(n, (n+2)%4)
				o := out.s()
				switch alias {
				case 1:
					copy(o, g)
					g = o
				case 2:
					copy(o, u)
					u = o
				}
				SwiGLU(o, g, u)
				what := fmt.Sprintf("SwiGLU n=%d alias=%d", n, alias)
				out.check(t, what, nil)
				tkCheckSwiGLU(t, what, o, gs, us)
			}
		}
		// Extremes: exp(-g) overflows for g << 0 (result -0), vanishes for g >> 0.
		g := []float32{-200, -100, -88, 88, 100, 200, 0}
		u := []float32{1, 1, 1, 1, 1, 1, 1}
		o := make([]float32, len(g))
		SwiGLU(o, g, u)
		for i, gv := range g {
			want := float64(gv) / (1 + math.Exp(-float64(gv)))
			tkClose(t, fmt.Sprintf("SwiGLU(%v)", gv), o[i], want, math.Abs(want)*4e-6+1e-37)
		}
	})
}

// tkCheckSwiGLU compares out with g/(1+e^-g)*u in float64: exp within a
// few ulp, then an add, a division and a multiply.
func tkCheckSwiGLU(t *testing.T, what string, out, g, u []float32) {
	t.Helper()
	for i := range g {
		gv := float64(g[i])
		want := gv / (1 + math.Exp(-gv)) * float64(u[i])
		tkClose(t, fmt.Sprintf("%s g=%v", what, gv), out[i], want, math.Abs(want)*4e-6+1e-37)
	}
}

func TestRoPE(t *testing.T) {
	tkLevels(t, func(t *testing.T, l Level) {
		r := rand.New(rand.NewPCG(17, 18))
		for _, half := range []int{1, 2, 3, 4, 7, 8, 9, 16, 17, 32, 33, 64} {
			for _, heads := range []int{1, 2, 3} {
				for _, pairs := range []bool{false, true} {
					n := 2 * half * heads
					out := newTkOut(n, (half+heads)%4)
					x := out.s()
					copy(x, tkF32(r, n, 0))
					in := append([]float32(nil), x...)
					cos, sin := make([]float32, half), make([]float32, half)
					for i := range cos {
						a := r.Float64() * 2 * math.Pi
						cos[i], sin[i] = float32(math.Cos(a)), float32(math.Sin(a))
					}
					if pairs {
						RoPEPairs(x, cos, sin)
					} else {
						RoPEHalf(x, cos, sin)
					}
					what := fmt.Sprintf("RoPE pairs=%v half=%d heads=%d", pairs, half, heads)
					out.check(t, what, nil)
					for h := 0; h < heads; h++ {
						o := h * 2 * half
						for i := 0; i < half; i++ {
							ia, ib := o+i, o+i+half
							if pairs {
								ia, ib = o+2*i, o+2*i+1
							}
							a, b := float64(in[ia]), float64(in[ib])
							c, s := float64(cos[i]), float64(sin[i])
							tol := (math.Abs(a) + math.Abs(b)) * (math.Abs(c) + math.Abs(s)) * math.Ldexp(1, -22)
							tkClose(t, what+" a", x[ia], a*c-b*s, tol+1e-37)
							tkClose(t, what+" b", x[ib], a*s+b*c, tol+1e-37)
						}
					}
				}
			}
		}
	})
}

func TestAddScale(t *testing.T) {
	tkLevels(t, func(t *testing.T, l Level) {
		r := rand.New(rand.NewPCG(19, 20))
		for _, n := range tkLengths() {
			out := newTkOut(n, n%4)
			d := out.s()
			copy(d, tkF32(r, n, 0))
			d0 := append([]float32(nil), d...)
			x := tkF32(r, n, (n+1)%4)
			Add(d, x)
			out.check(t, fmt.Sprintf("Add n=%d", n), nil)
			for i := range d {
				// One float32 rounding of an exact sum: bit-exact.
				if want := d0[i] + x[i]; d[i] != want {
					t.Fatalf("Add n=%d [%d]: got %v, want %v", n, i, d[i], want)
				}
			}
			a := float32(r.Float64()*4 - 2)
			copy(d0, d)
			Scale(d, a)
			out.check(t, fmt.Sprintf("Scale n=%d", n), nil)
			for i := range d {
				if want := d0[i] * a; d[i] != want {
					t.Fatalf("Scale n=%d [%d]: got %v, want %v", n, i, d[i], want)
				}
			}
		}
	})
}

func TestConvert(t *testing.T) {
	tkLevels(t, func(t *testing.T, l Level) {
		// Every 16-bit pattern, widened as bfloat16 and as half.
		all := make([]uint16, 1<<16)
		for i := range all {
			all[i] = uint16(i)
		}
		for _, off := range []int{0, 1, 3} {
			out := newTkOut(len(all)-off, off)
			BF16ToF32(out.s(), all[off:])
			out.check(t, "BF16ToF32", nil)
			for i, v := range out.s() {
				h := all[off+i]
				if want := math.Float32frombits(uint32(h) << 16); math.Float32bits(v) != math.Float32bits(want) {
					t.Fatalf("BF16ToF32(%#04x) = %#08x, want %#08x", h, math.Float32bits(v), math.Float32bits(want))
				}
			}
			out = newTkOut(len(all)-off, off)
			F16ToF32(out.s(), all[off:])
			out.check(t, "F16ToF32", nil)
			for i, v := range out.s() {
				h := all[off+i]
				want := tkF16Value(h)
				if math.IsNaN(want) {
					// The payload may gain the quiet bit (hardware quiets
					// signalling NaNs); sign and NaN-ness must survive.
					if !math.IsNaN(float64(v)) || math.Signbit(float64(v)) != (h&0x8000 != 0) {
						t.Fatalf("F16ToF32(%#04x) = %#08x, want a NaN with the same sign", h, math.Float32bits(v))
					}
					continue
				}
				if float64(v) != want || math.Signbit(float64(v)) != math.Signbit(want) {
					t.Fatalf("F16ToF32(%#04x) = %v, want %v", h, v, want)
				}
			}
		}
		// Narrowing: every half value, the midpoints between neighbours
		// (ties go to the even one), values just off the midpoints, and
		// values beyond the range.
		var src []float32
		for h := 0; h < 0x7c00; h++ {
			a := tkF16Value(uint16(h))
			b := tkF16Value(uint16(h + 1))
			mid := float32((a + b) / 2)
			src = append(src, float32(a), -float32(a), mid, -mid,
				math.Nextafter32(mid, 0), math.Nextafter32(mid, 1e9))
		}
		src = append(src, 65519, 65520, 1e6, -1e6, float32(math.Inf(1)), float32(math.Inf(-1)), 1e-10, -1e-10)
		for _, off := range []int{0, 2} {
			dstAll := make([]uint16, len(src)+8)
			for i := range dstAll {
				dstAll[i] = 0xdead
			}
			dst := dstAll[off : off+len(src)-off]
			F32ToF16(dst, src[off:])
			for i, v := range dstAll {
				if (i < off || i >= off+len(dst)) && v != 0xdead {
					t.Fatalf("F32ToF16: guard %d overwritten", i)
				}
			}
			for i, h := range dst {
				f := float64(src[off+i])
				if want := tkNearestF16(f); h != want {
					t.Fatalf("F32ToF16(%v) = %#04x (%v), want %#04x (%v)", f, h, tkF16Value(h), want, tkF16Value(want))
				}
			}
		}
		nan := make([]uint16, 1)
		F32ToF16(nan, []float32{float32(math.NaN())})
		if !math.IsNaN(tkF16Value(nan[0])) {
			t.Fatalf("F32ToF16(NaN) = %#04x, not a NaN", nan[0])
		}
	})
}

// tkNearestF16 rounds f to the nearest half value by searching the
// ordered half values (round to nearest, ties to even; beyond the largest
// finite value by half an ulp: infinity).
func tkNearestF16(f float64) uint16 {
	sign := uint16(0)
	if math.Signbit(f) {
		sign, f = 0x8000, -f
	}
	if f >= 65520 {
		return sign | 0x7c00
	}
	lo, hi := 0, 0x7bff // binary search for the largest h with value <= f
	for lo < hi {
		m := (lo + hi + 1) / 2
		if tkF16Value(uint16(m)) <= f {
			lo = m
		} else {
			hi = m - 1
		}
	}
	h := lo
	if h < 0x7bff || f > tkF16Value(0x7bff) {
		a, b := tkF16Value(uint16(h)), tkF16Value(uint16(h+1))
		if f-a > b-f || (f-a == b-f && h&1 == 1) {
			h++
		}
	}
	return sign | uint16(h)
}

// TestLevels checks the level bookkeeping the kernels rely on.
func TestLevels(t *testing.T) {
	ls := Levels()
	if len(ls) == 0 || ls[0] != Generic {
		t.Fatalf("Levels() = %v, want Generic first", ls)
	}
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	for _, l := range ls {
		if err := SetLevel(l); err != nil || Current() != l {
			t.Fatalf("SetLevel(%v): err %v, Current %v", l, err, Current())
		}
	}
	for _, l := range []Level{Generic, AVX2, AVX512, NEON} {
		if !Supported(l) {
			if err := SetLevel(l); err == nil {
				t.Fatalf("SetLevel(%v) succeeded on a machine without it", l)
			}
			if Current() != ls[len(ls)-1] {
				t.Fatalf("failed SetLevel(%v) changed the level to %v", l, Current())
			}
		}
	}
}
