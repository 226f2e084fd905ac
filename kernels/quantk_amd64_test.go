//go:build amd64 && !noasm

package kernels

import (
	"fmt"
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
					want, abs := kWant(kt, w, a, sh.rows, sh.n, tt)
					for _, s := range sets {
						kCheckProduct(t, fmt.Sprintf("%s raw=%d", s.name, raw), sh.rows, sh.n, tt, want, abs, func(y []float32, ldy int) {
							kDriver(s.ks, kt.blockBytes)(y, ldy, w, a, sh.n, tt)
						})
					}
				}
			}
		}
	}
}
