//go:build amd64 && !noasm

package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkAMXKernel runs the bf16 tile kernel alone on data that stays
// in cache, in shapes around those of the product's calls (weight row
// stride lda bytes, ks steps, blocks row blocks, result rows ldc bytes
// apart, tb token blocks): what the kernel reaches without memory, as a
// ceiling for BenchmarkMatMulBF16AMX. GFLOP/cpu-s divides by this
// process's CPU time, steadier than GFLOP/s on a shared machine.
func BenchmarkAMXKernel(b *testing.B) {
	if _, ok := amxSet(); !ok {
		b.Skip("amx: not available on this CPU")
	}
	type cs struct{ lda, ks, blocks, ldc, tb int }
	for _, c := range []cs{{64, 16, 1, 128, 1}, {8192, 16, 1, 128, 1}, {8192, 16, 8, 128, 1}, {8192, 16, 8, 2048, 1}, {8192, 16, 8, 2048, 16}, {8192, 128, 8, 2048, 16}, {8192, 16, 1, 2048, 16}, {8192, 16, 8, 2048 + 64, 16}, {8192, 16, 8, 2048 + 128, 1}, {8192 + 64, 16, 8, 2048 + 64, 16}} {
		a := make([]uint16, (c.blocks*32+32)*c.lda/2+c.ks*32)
		bb := make([]uint16, c.tb*2*c.ks*512)
		cc := make([]float32, (c.blocks*32+32)*c.ldc/4)
		bkFillU16(a)
		bkFillU16(bb)
		b.Run(fmt.Sprintf("lda%d/ks%d/blocks%d/ldc%d/tb%d", c.lda, c.ks, c.blocks, c.ldc, c.tb), func(b *testing.B) {
			cpu0 := amxCPUTime()
			for b.Loop() {
				for j := 0; j < c.tb; j++ {
					amxBF16(&amxCfgBF16[0], &a[0], c.lda, 64, 16*c.lda, 32*c.lda, &bb[j*2*c.ks*512], c.ks*1024, &cc[(j*32)%(c.ldc/4)], c.ldc, c.ks, c.blocks, 1, nil)
				}
			}
			flop := 2.0 * 32 * 32 * 32 * float64(c.ks*c.blocks*c.tb)
			b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			b.ReportMetric(flop*float64(b.N)/(amxCPUTime()-cpu0)/1e9, "GFLOP/cpu-s")
		})
	}
}
