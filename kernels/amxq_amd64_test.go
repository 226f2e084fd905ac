//go:build amd64 && !noasm

package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// amxQ8Inputs returns rows Q8_0 weight rows and t Q8_0 activation rows
// of n random values. With unit set, every scale is 1 (weights' fp16 d
// and activations' d), so that each product is an integer sum, exact in
// f32 while below 2^24: the tile path must then equal the reference bit
// for bit.
func amxQ8Inputs(r *rand.Rand, ty q32Type, n, rows, t int, unit bool) (w, a []byte) {
	nb := n / 32
	w = make([]byte, rows*nb*ty.bytes)
	wf := make([]float32, rows*n)
	for i := range wf {
		wf[i] = float32(r.Float64()*2 - 1)
	}
	ty.quantize(w, wf)
	ab := ActBytesQ8_0(n)
	a = make([]byte, t*ab)
	x := make([]float32, n)
	for i := 0; i < t; i++ {
		for k := range x {
			x[k] = float32(r.Float64()*6 - 3)
		}
		ty.act(a[i*ab:(i+1)*ab], x)
	}
	if unit {
		for b := 0; b < rows*nb; b++ {
			binary.LittleEndian.PutUint16(w[b*ty.bytes:], 0x3c00) // fp16 1.0
			if ty.name == "Q4_1" || ty.name == "Q5_1" {
				binary.LittleEndian.PutUint16(w[b*ty.bytes+2:], 0) // no minimum
			}
		}
		for i := 0; i < t; i++ {
			row := splitAct(a[i*ab:(i+1)*ab], n)
			for k := 0; k < nb; k++ {
				binary.LittleEndian.PutUint32(row.ds[4*k:], math.Float32bits(1))
			}
		}
	}
	return w, a
}

// TestAMXQ checks the Q8_0 and Q4_0 tile products against the pure-Go
// twins (matMulQ8_0Generic, matMulQ4_0Generic): bit for bit with unit scales (the integer parts),
// and within the float rounding of the per-block scale accumulation with
// real scales, over rows around the 16/32-row tiles, odd block counts
// (a zero padding block in the activations) and token counts around the
// 32-token blocks up to a prefill chunk.
func TestAMXQ(t *testing.T) {
	amxNeed(t)
	for _, ty := range q32Types {
		if ty.name != "Q8_0" && ty.name != "Q4_0" && ty.name != "Q5_0" && ty.name != "Q4_1" && ty.name != "Q5_1" {
			continue
		}
		t.Run(ty.name, func(t *testing.T) { amxCheckQ(t, ty) })
	}
}

func amxCheckQ(t *testing.T, ty q32Type) {
	r := rand.New(rand.NewPCG(41, 42))
	type shape struct{ n, rows, t int }
	var shapes []shape
	for _, tok := range []int{32, 33, 47, 64, 97} {
		for _, rows := range []int{1, 15, 16, 17, 31, 32, 33, 70} {
			for _, n := range []int{32, 64, 96, 160} {
				shapes = append(shapes, shape{n, rows, tok})
			}
		}
	}
	shapes = append(shapes, shape{4096, 40, 35}, shape{1024, 33, 600}, shape{256, 256, 40}, shape{256, 768, 40}, shape{768, 256, 40}, shape{256, 32000 / 100, 40})
	for _, sh := range shapes {
		for _, unit := range []bool{true, false} {
			if unit && sh.n > 1024 {
				continue // 127*127*n must stay below 2^24 to be exact
			}
			w, a := amxQ8Inputs(r, ty, sh.n, sh.rows, sh.t, unit)
			ldy := sh.rows + 2
			want := make([]float32, sh.t*ldy)
			ty.generic(want, ldy, w, a, sh.n, sh.t, sh.rows)
			mag := q32Mag(ty, w, a, sh.n, sh.rows, sh.t)
			got := make([]float32, sh.t*ldy)
			for i := range got {
				got[i] = -7
			}
			ty.matmul(got, ldy, w, a, sh.n, sh.t)
			what := fmt.Sprintf("amx %s n=%d rows=%d t=%d unit=%v", ty.name, sh.n, sh.rows, sh.t, unit)
			for i := 0; i < sh.t; i++ {
				for j := 0; j < ldy; j++ {
					g, wv := got[i*ldy+j], want[i*ldy+j]
					if j >= sh.rows {
						if g != -7 {
							t.Fatalf("%s: padding y[%d][%d] overwritten: %v", what, i, j, g)
						}
						continue
					}
					// ggml's order rounds once per block; the tile
					// path fuses the multiply-add: within
					// 2^-23 per block of the magnitudes.
					tol := float32(0)
					if !unit {
						tol = float32(sh.n/32+2) * 0x1p-23 * mag[i*sh.rows+j]
					}
					if d := abs32(g - wv); !(d <= tol) {
						t.Fatalf("%s: y[%d][%d] = %v, generic %v (error %g > %g)", what, i, j, g, wv, d, tol)
					}
				}
			}
		}
	}
}

// BenchmarkMatMulQ8_0AMX: the Q8_0 prefill product on tiles against the
// vector kernels (the best set without AMX) in the same run, T = 512,
// one goroutine; GOP/s counts 2 operations per weight and token.
func BenchmarkMatMulQ8_0AMX(b *testing.B) {
	if _, ok := amxSet(); !ok {
		b.Skip("amx: not available on this CPU")
	}
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	var sets []Features
	for _, f := range FeatureSets() {
		if f.Level() == AVX512 && f.Has(FeatVNNI) {
			sets = append(sets, f)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, sh := range []bkShape{{4096, 4096}, {14336, 4096}} {
		const tok = 512
		w, a := amxQ8Inputs(r, q32Types[0], sh.n, sh.rows, tok, false)
		y := make([]float32, tok*sh.rows)
		for _, f := range sets {
			if err := SetFeatures(f); err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s/T%d/%s", f, tok, sh), func(b *testing.B) {
				cpu0 := amxCPUTime()
				for b.Loop() {
					MatMulQ8_0(y, sh.rows, w, a, sh.n, tok)
				}
				ops := 2 * float64(tok) * float64(sh.rows) * float64(sh.n)
				b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
				b.ReportMetric(ops*float64(b.N)/(amxCPUTime()-cpu0)/1e9, "GOP/cpu-s")
			})
		}
	}
}
