//go:build amd64 && !noasm

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/cpuid/v2"
)

// TestKVNNISets runs both kernel sets of the VNNI level for Q4_K and
// Q5_K, the one the host takes (kQ4KVNNI, kQ5KVNNI) and the other,
// against the generic product, so that the plain one-row kernels stay
// tested on a GFNI host: quantized rows and raw random blocks, 1-4
// activation rows.
func TestKVNNISets(t *testing.T) {
	if !cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VNNI) {
		t.Skip("no AVX-512 VNNI: the K-quant VNNI kernels cannot run here")
	}
	gfni := cpuid.CPU.Supports(cpuid.GFNI)
	if !gfni {
		t.Log("no GFNI: kQ4K512G and kQ5K512G not run")
	}
	type set struct {
		name string
		ks   *[4]kKernel
	}
	for _, c := range []struct {
		kt    *kType
		plain set
		gf    set
	}{
		{&kTypes[2], set{"kQ4K512V", &kQ4K512V}, set{"kQ4K512G", &kQ4K512G}},
		{&kTypes[3], set{"kQ5K512V", &kQ5K512V}, set{"kQ5K512G", &kQ5K512G}},
	} {
		kt := c.kt
		sets := []set{c.plain}
		if gfni {
			sets = append(sets, c.gf)
		}
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
}
