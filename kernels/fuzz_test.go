package kernels

// Fuzz targets for the kernels' shapes: every level runs each generated
// shape (lengths, row and token counts, strides, slice offsets) against
// the float64 loops of kernels_test.go, with guards around the outputs.
// Run e.g. go test -fuzz FuzzMatMul -fuzztime 10s ./kernels/

import (
	"math/rand/v2"
	"testing"
)

// fzLevels runs f at every supported level without sub-tests (the fuzz
// engine forbids t.Run in some modes), restoring the level afterwards.
func fzLevels(t *testing.T, f func(l Level)) {
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	for _, l := range Levels() {
		if err := SetLevel(l); err != nil {
			t.Fatal(err)
		}
		f(l)
	}
}

func FuzzDot(f *testing.F) {
	for _, n := range []uint16{0, 1, 7, 8, 15, 16, 17, 63, 64, 65, 300} {
		f.Add(n, uint8(n%3), uint8(n%4), uint64(n))
	}
	f.Fuzz(func(t *testing.T, n uint16, kind, off uint8, seed uint64) {
		n %= 2048
		k := tkKinds[int(kind)%3]
		fzLevels(t, func(l Level) {
			r := rand.New(rand.NewPCG(seed, 1))
			x := tkF32(r, int(n), int(off%4))
			wf, wh, wv := tkWeights(r, k, int(n), int(off/4%4))
			var got float32
			switch k {
			case "f32":
				got = DotF32(x, wf)
			case "bf16":
				got = DotBF16(x, wh)
			default:
				got = DotF16(x, wh)
			}
			want, abs := tkDot(x, wv)
			tkClose(t, l.String()+" Dot"+k, got, want, tkDotTol(int(n), abs))
		})
	})
}

func FuzzMatVec(f *testing.F) {
	f.Add(uint16(64), uint8(4), uint8(0), uint8(0), uint64(1))
	f.Add(uint16(33), uint8(7), uint8(1), uint8(3), uint64(2))
	f.Add(uint16(129), uint8(13), uint8(2), uint8(1), uint64(3))
	f.Add(uint16(0), uint8(3), uint8(2), uint8(1), uint64(4))
	f.Fuzz(func(t *testing.T, n uint16, rows, kind, off uint8, seed uint64) {
		n %= 1024
		nr := int(rows%40) + 1
		k := tkKinds[int(kind)%3]
		fzLevels(t, func(l Level) {
			r := rand.New(rand.NewPCG(seed, 2))
			x := tkF32(r, int(n), int(off%4))
			wf, wh, wv := tkWeights(r, k, nr*int(n), int(off/4%4))
			out := newTkOut(nr, int(off/16%4))
			y := out.s()
			tkMatVec(k, y, wf, wh, x)
			out.check(t, l.String()+" MatVec"+k, nil)
			for j := 0; j < nr; j++ {
				want, abs := tkDot(x, func(i int) float64 { return wv(j*int(n) + i) })
				tkClose(t, l.String()+" MatVec"+k, y[j], want, tkDotTol(int(n), abs))
			}
		})
	})
}

func FuzzMatMul(f *testing.F) {
	f.Add(uint16(64), uint8(6), uint8(4), uint8(0), uint8(0), uint8(0), uint64(1))
	f.Add(uint16(33), uint8(7), uint8(5), uint8(1), uint8(2), uint8(3), uint64(2))
	f.Add(uint16(1030), uint8(13), uint8(9), uint8(2), uint8(1), uint8(1), uint64(3))
	f.Fuzz(func(t *testing.T, n uint16, tok, rows, kind, gap, off uint8, seed uint64) {
		nn := int(n%1100) + 1
		nt := int(tok%40) + 1  // past one 32-token block
		nr := int(rows%30) + 1 // past two 12-row blocks
		k := tkKinds[int(kind)%3]
		fzLevels(t, func(l Level) {
			r := rand.New(rand.NewPCG(seed, 3))
			tkCheckMatMul(t, r, k, nt, nr, nn, int(gap%5), int(off%4))
		})
	})
}

func FuzzSoftmax(f *testing.F) {
	f.Add(uint16(5), float32(1), uint64(1))
	f.Add(uint16(300), float32(100), uint64(2))
	f.Add(uint16(17), float32(0), uint64(3))
	f.Fuzz(func(t *testing.T, n uint16, spread float32, seed uint64) {
		n %= 2048
		if !(spread >= 0 && spread <= 1e4) {
			spread = 1
		}
		fzLevels(t, func(l Level) {
			r := rand.New(rand.NewPCG(seed, 4))
			out := newTkOut(int(n), int(seed%4))
			x := out.s()
			in := make([]float64, n)
			for i := range x {
				x[i] = float32((r.Float64()*2 - 1) * float64(spread))
				in[i] = float64(x[i])
			}
			Softmax(x)
			out.check(t, l.String()+" Softmax", nil)
			tkCheckSoftmax(t, l.String()+" Softmax", x, in)
		})
	})
}

func FuzzElementwise(f *testing.F) {
	f.Add(uint16(5), uint8(0), uint64(1))
	f.Add(uint16(77), uint8(1), uint64(2))
	f.Fuzz(func(t *testing.T, n uint16, off uint8, seed uint64) {
		n %= 4096
		fzLevels(t, func(l Level) {
			r := rand.New(rand.NewPCG(seed, 5))
			g := tkF32(r, int(n), int(off%4))
			for i := range g {
				g[i] *= 30
			}
			u := tkF32(r, int(n), int(off/4%4))
			out := newTkOut(int(n), int(off/16%4))
			SwiGLU(out.s(), g, u)
			out.check(t, l.String()+" SwiGLU", nil)
			tkCheckSwiGLU(t, l.String()+" SwiGLU", out.s(), g, u)
		})
	})
}
