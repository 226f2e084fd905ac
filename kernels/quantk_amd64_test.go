//go:build amd64 && !noasm

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

// TestQ4KVNNISets runs both Q4_K kernel sets of the VNNI level, the one
// the host takes (kQ4KVNNI) and the other, against the generic product,
// so that the plain one-row kernel stays tested on a GFNI host: quantized
// rows and raw random blocks, 1-4 activation rows.
func TestQ4KVNNISets(t *testing.T) {
	if !cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VNNI) {
		t.Skip("no AVX-512 VNNI: the Q4_K VNNI kernels cannot run here")
	}
	sets := []struct {
		name string
		ks   *[4]kKernel
	}{{"kQ4K512V", &kQ4K512V}}
	if cpuid.CPU.Supports(cpuid.GFNI) {
		sets = append(sets, struct {
			name string
			ks   *[4]kKernel
		}{"kQ4K512G", &kQ4K512G})
	} else {
		t.Log("no GFNI: kQ4K512G not run")
	}
	kt := &kTypes[2]
	r := rand.New(rand.NewPCG(21, 22))
	for _, sh := range []struct{ rows, n int }{{1, 256}, {7, 512}, {13, 1024}, {37, 2048}} {
		for raw := range 2 {
			w := kRandWeights(r, kt, sh.rows, sh.n)
			if raw == 1 {
				kRandBlocks(r, w, kt.blockBytes, kDOffs[kt.name])
			}
			a := kRandActs(r, 4, sh.n)
			for tt := 1; tt <= 4; tt++ {
				ldy := sh.rows + 3
				want := make([]float32, tt*ldy)
				kt.generic(want, ldy, w, a, sh.n, tt)
				abs := kAbsDots(kt, w, a, sh.n, tt)
				for _, s := range sets {
					got := make([]float32, tt*ldy)
					for i := range got {
						got[i] = -7
					}
					kDriver(s.ks, kt.blockBytes)(got, ldy, w, a, sh.n, tt)
					for i := 0; i < tt; i++ {
						for rr := 0; rr < ldy; rr++ {
							g := got[i*ldy+rr]
							if rr >= sh.rows {
								if g != -7 {
									t.Fatalf("%s: wrote y[%d,%d] past the rows", s.name, i, rr)
								}
								continue
							}
							wv := want[i*ldy+rr]
							if math.Abs(float64(g-wv)) > 1e-5*abs[i*sh.rows+rr]+1e-30 || g != g {
								t.Fatalf("%s rows=%d n=%d t=%d raw=%d: y[%d,%d] = %g, generic %g", s.name, sh.rows, sh.n, tt, raw, i, rr, g, wv)
							}
						}
					}
				}
			}
		}
	}
}
