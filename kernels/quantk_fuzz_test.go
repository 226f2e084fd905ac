package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzMatMulK feeds arbitrary bytes as K-quant weight blocks (any bit
// pattern is a valid block once its f16 scales are finite) to every
// feature set's product and checks it against the pure-Go twin: the
// assembly must agree on quants, scales and mins that the random
// quantizer output of the other tests never produces. Seed corpus in
// testdata/fuzz/FuzzMatMulK.
func FuzzMatMulK(f *testing.F) {
	f.Add(uint8(2), uint8(1), uint8(1), uint64(1), []byte{0x00, 0x3c, 0x00, 0x3c, 0xff, 0xff, 0xff, 0xff})
	f.Add(uint8(4), uint8(3), uint8(5), uint64(2), []byte{0x12, 0x34})
	f.Fuzz(func(t *testing.T, typ, rows, tt uint8, seed uint64, data []byte) {
		kt := &kTypes[int(typ)%len(kTypes)]
		nr, nt, n := 1+int(rows)%5, 1+int(tt)%9, kQK*(1+int(seed%2))
		w := make([]byte, nr*n/kQK*kt.blockBytes)
		r := rand.New(rand.NewPCG(seed, 3))
		for i := range w {
			if len(data) > 0 {
				w[i] = data[i%len(data)] ^ byte(i*7)
			} else {
				w[i] = byte(r.Uint32())
			}
		}
		// Keep the f16 scales finite and of a moderate range, as files
		// have them; everything else stays arbitrary.
		var offs []int
		switch kt.name {
		case "Q2_K":
			offs = []int{80, 82}
		case "Q3_K":
			offs = []int{108}
		case "Q6_K":
			offs = []int{208}
		default:
			offs = []int{0, 2}
		}
		for b := 0; b < len(w); b += kt.blockBytes {
			for _, o := range offs {
				w[b+o+1] = w[b+o+1]&0x83 | 0x20 // exponent 8..11: 2^-7..2^-4
			}
		}
		a := kRandActs(r, nt, n)
		want := make([]float32, nt*nr)
		kt.generic(want, nr, w, a, n, nt)
		abs := kAbsDots(kt, w, a, n, nt)
		prev := CurrentFeatures()
		defer SetFeatures(prev)
		for _, fs := range FeatureSets() {
			if err := SetFeatures(fs); err != nil {
				t.Fatal(err)
			}
			got := make([]float32, nt*nr)
			kt.matMul(got, nr, w, a, n, nt)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-5*abs[i]+1e-30 {
					t.Fatalf("%s %s rows=%d t=%d n=%d: y[%d] = %g, generic %g", kt.name, fs, nr, nt, n, i, got[i], want[i])
				}
			}
		}
	})
}
