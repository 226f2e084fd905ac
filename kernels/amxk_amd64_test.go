//go:build amd64 && !noasm

package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// amxKMag is, per (token, row), the sum over all values of the
// magnitudes of the scale term d·sc·q·a and of the minimum term
// dmin·m·a that the tile path and the pure-Go twin round differently:
// the scale of their allowed difference.
func amxKMag(kt *kType, w, a []byte, n, rows, t int) []float64 {
	nb := n / kQK
	rb, ab := nb*kt.blockBytes, ActBytesQ8_K(n)
	scaled := make([]float32, rows*n)
	mins := make([]float64, rows*n)
	w0 := append([]byte(nil), w...)
	if kt.name != "Q6_K" {
		for b := 0; b < rows*nb; b++ {
			blk := w[b*kt.blockBytes:]
			dmin := math.Abs(float64(kF16(blk[2:])))
			for j := 0; j < 8; j++ {
				_, m := kScaleMin(j, blk[4:16])
				for e := 0; e < 32; e++ {
					mins[b*kQK+32*j+e] = dmin * float64(m)
				}
			}
			binary.LittleEndian.PutUint16(w0[b*kt.blockBytes+2:], 0) // dequant without the minimum
		}
	}
	kt.dequant(scaled, w0)
	mag := make([]float64, t*rows)
	for i := 0; i < t; i++ {
		for r := 0; r < rows; r++ {
			var s float64
			for b := 0; b < nb; b++ {
				blk := a[i*ab+b*kQ8KBytes:]
				d := math.Abs(float64(kActD(blk)))
				q := kActQs(blk)
				for e := 0; e < kQK; e++ {
					v := r*rb/kt.blockBytes*kQK + b*kQK + e
					s += (math.Abs(float64(scaled[v])) + mins[v]) * math.Abs(float64(q[e])) * d
				}
			}
			mag[i*rows+r] = s
		}
	}
	return mag
}

// TestAMXK checks the K-quant tile products (Q4_K, Q5_K, Q6_K) against
// the pure-Go twins: bit for bit with unit scales (weights' d and dmin
// and the activations' d all 1, so that every sum is an exact integer),
// and within the float rounding of the per-sub-block scales otherwise,
// over rows around the 16/32-row tiles and token counts around the
// 32-token blocks.
func TestAMXK(t *testing.T) {
	amxNeed(t)
	for i := range kTypes {
		kt := &kTypes[i]
		if kt.name != "Q4_K" && kt.name != "Q5_K" && kt.name != "Q6_K" {
			continue
		}
		t.Run(kt.name, func(t *testing.T) { amxCheckK(t, kt) })
	}
}

func amxCheckK(t *testing.T, kt *kType) {
	r := rand.New(rand.NewPCG(43, 44))
	type shape struct{ n, rows, t int }
	var shapes []shape
	for _, tok := range []int{32, 33, 47, 64, 97} {
		for _, rows := range []int{1, 15, 16, 17, 31, 32, 33, 70} {
			for _, n := range []int{256, 512, 768} {
				shapes = append(shapes, shape{n, rows, tok})
			}
		}
	}
	shapes = append(shapes, shape{4096, 40, 35}, shape{1024, 33, 300})
	for _, sh := range shapes {
		for _, unit := range []bool{true, false} {
			if unit && sh.n > 768 {
				continue // the integer sums must stay below 2^24 to be exact
			}
			w := kRandWeights(r, kt, sh.rows, sh.n)
			a := kRandActs(r, sh.t, sh.n)
			if unit {
				for b := 0; b < len(w)/kt.blockBytes; b++ {
					if kt.name == "Q6_K" {
						binary.LittleEndian.PutUint16(w[b*kt.blockBytes+208:], 0x3c00)
					} else {
						binary.LittleEndian.PutUint16(w[b*kt.blockBytes:], 0x3c00)
						binary.LittleEndian.PutUint16(w[b*kt.blockBytes+2:], 0x3c00)
					}
				}
				for b := 0; b < len(a)/kQ8KBytes; b++ {
					binary.LittleEndian.PutUint32(a[b*kQ8KBytes+kQ8KD:], math.Float32bits(1))
				}
			}
			ldy := sh.rows + 2
			want := make([]float32, sh.t*ldy)
			kt.generic(want, ldy, w, a, sh.n, sh.t)
			mag := amxKMag(kt, w, a, sh.n, sh.rows, sh.t)
			got := make([]float32, sh.t*ldy)
			for i := range got {
				got[i] = -7
			}
			kt.matMul(got, ldy, w, a, sh.n, sh.t)
			what := fmt.Sprintf("amx %s n=%d rows=%d t=%d unit=%v", kt.name, sh.n, sh.rows, sh.t, unit)
			for i := 0; i < sh.t; i++ {
				for j := 0; j < ldy; j++ {
					g, wv := got[i*ldy+j], want[i*ldy+j]
					if j >= sh.rows {
						if g != -7 {
							t.Fatalf("%s: padding y[%d][%d] overwritten: %v", what, i, j, g)
						}
						continue
					}
					// ggml rounds once per super-block lane, the
					// tiles once per sub-block (fused), and the
					// scale products twice.
					tol := 0.0
					if !unit {
						tol = float64(sh.n/16+16) * 0x1p-23 * mag[i*sh.rows+j]
					}
					if d := math.Abs(float64(g - wv)); !(d <= tol) {
						t.Fatalf("%s: y[%d][%d] = %v, generic %v (error %g > %g)", what, i, j, g, wv, d, tol)
					}
				}
			}
		}
	}
}

// BenchmarkMatMulQ4_KAMX: the Q4_K prefill product on tiles against the
// vector kernels (the best set without AMX) in the same run, T = 512,
// 4096×4096, one goroutine; GOP/s counts 2 operations per weight and
// token.
func BenchmarkMatMulQ4_KAMX(b *testing.B) {
	amxOn, ok := amxSet()
	if !ok {
		b.Skip("amx: not available on this CPU")
	}
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	sets := []Features{amxOn}
	for _, f := range FeatureSets() {
		if f.Level() == AVX512 && f.Has(FeatVNNI) && !f.Has(FeatAMX) {
			sets = append(sets, f)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	const tok, n, rows = 512, 4096, 4096
	kt := &kTypes[2]
	w, a := kRandWeights(r, kt, rows, n), kRandActs(r, tok, n)
	y := make([]float32, tok*rows)
	for _, f := range sets {
		if err := SetFeatures(f); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%s/T%d/%dx%d", f, tok, rows, n), func(b *testing.B) {
			for b.Loop() {
				MatMulQ4_K(y, rows, w, a, n, tok)
			}
			ops := 2 * float64(tok) * float64(rows) * float64(n)
			b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
		})
	}
}
