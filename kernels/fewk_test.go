package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMatMulKRows16 runs the K-quant products on matrices of whole blocks
// of 16 rows and a tail (the few-token kernels' shapes; TestMatMulKFeatures
// stays below 16 rows) at 1-17 tokens, through every feature set, against
// the generic products.
func TestMatMulKRows16(t *testing.T) {
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	r := rand.New(rand.NewPCG(21, 22))
	for i := range kTypes {
		kt := &kTypes[i]
		for _, sh := range []struct{ rows, n int }{{16, 256}, {37, 512}, {48, 1024}} {
			w := kRandWeights(r, kt, sh.rows, sh.n)
			a := kRandActs(r, 17, sh.n)
			for tt := 1; tt <= 17; tt++ {
				ldy := sh.rows + 2
				want := make([]float32, tt*ldy)
				kt.generic(want, ldy, w, a, sh.n, tt)
				abs := kAbsDots(kt, w, a, sh.n, tt)
				for _, f := range FeatureSets() {
					if err := SetFeatures(f); err != nil {
						t.Fatal(err)
					}
					got := make([]float32, tt*ldy)
					for j := range got {
						got[j] = -7
					}
					kt.matMul(got, ldy, w, a, sh.n, tt)
					for ti := 0; ti < tt; ti++ {
						for rr := 0; rr < ldy; rr++ {
							g := got[ti*ldy+rr]
							if rr >= sh.rows {
								if g != -7 {
									t.Fatalf("%s %s: wrote y[%d,%d] past the rows", kt.name, f, ti, rr)
								}
								continue
							}
							if wv := want[ti*ldy+rr]; math.Abs(float64(g-wv)) > 1e-5*abs[ti*sh.rows+rr]+1e-30 {
								t.Fatalf("%s %s rows=%d n=%d t=%d: y[%d,%d] = %g, generic %g (scale %g)", kt.name, f, sh.rows, sh.n, tt, ti, rr, g, wv, abs[ti*sh.rows+rr])
							}
						}
					}
				}
			}
		}
	}
}
