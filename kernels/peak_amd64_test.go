//go:build amd64 && !noasm

package kernels

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// The probe loops must compute what their instruction defines, or they
// would not be measuring that instruction: each is checked against its
// pure-Go twin.

func TestProbeLoopsAsm(t *testing.T) {
	f := CurrentFeatures()
	if !f.Has(FeatAVX2) {
		t.Skip("avx2: not available on this CPU")
	}
	for _, it := range []int{0, 1, 7, 1000} {
		var o8 [8]float32
		fmaPeak256(it, 1, 0.5, &o8)
		for _, v := range o8 {
			if want := fmaTwin(it, 1, 0.5); v != want {
				t.Fatalf("fmaPeak256(%d) lane = %g, want %g", it, v, want)
			}
		}
	}
	a, b := uint32(0x01020304), uint32(0xfe02ff01)
	var m [16]int16
	maddubsPeak256(3, a, b, &m)
	for i := 0; i < 16; i += 2 {
		if w := maddubsTwin(a, b); m[i] != w[0] || m[i+1] != w[1] {
			t.Fatalf("maddubsPeak256 lanes %d,%d = %d,%d, want %v", i, i+1, m[i], m[i+1], w)
		}
	}
	if !f.Has(FeatAVX512) {
		t.Skip("avx512: not available on this CPU")
	}
	for _, it := range []int{0, 1, 7, 1000} {
		var o [16]float32
		fmaPeak512(it, 1, 0.5, &o)
		for _, v := range o {
			if want := fmaTwin(it, 1, 0.5); v != want {
				t.Fatalf("fmaPeak512(%d) lane = %g, want %g", it, v, want)
			}
		}
	}
	if !f.Has(FeatVNNI) {
		t.Skip("vnni: not available on this CPU")
	}
	for _, it := range []int{0, 1, 9} {
		var o [16]int32
		vnniPeak512(it, a, b, &o)
		for _, v := range o {
			if want := vnniTwin(it, a, b); v != want {
				t.Fatalf("vnniPeak512(%d) lane = %d, want %d", it, v, want)
			}
		}
	}
}

func TestProbeAMXAsm(t *testing.T) {
	if !archAMX() {
		t.Skip("amx: not available on this CPU")
	}
	r := rand.New(rand.NewPCG(3, 4))
	tiles := make([]byte, 4096)
	// bf16 tiles: small integers, exact in bf16 and in f32 sums.
	for i := 0; i < 2048; i++ {
		binary.LittleEndian.PutUint16(tiles[2*i:], uint16(math.Float32bits(float32(r.IntN(7)-3))>>16))
	}
	const iters = 5
	out := make([]byte, 4096)
	amxPeakBF16(&amxPeakCfg[0], &tiles[0], &out[0], iters)
	bf := func(tile, row, col int) float64 {
		h := binary.LittleEndian.Uint16(tiles[tile*1024+row*64+2*col:])
		return float64(math.Float32frombits(uint32(h) << 16))
	}
	for c, ab := range [4][2]int{{0, 2}, {0, 3}, {1, 2}, {1, 3}} {
		for m := 0; m < 16; m++ {
			for n := 0; n < 16; n++ {
				var s float64
				for k := 0; k < 16; k++ {
					s += bf(ab[0], m, 2*k)*bf(ab[1], k, 2*n) + bf(ab[0], m, 2*k+1)*bf(ab[1], k, 2*n+1)
				}
				got := math.Float32frombits(binary.LittleEndian.Uint32(out[c*1024+m*64+4*n:]))
				if float64(got) != iters*s {
					t.Fatalf("amx bf16 C%d[%d][%d] = %g, want %g", c, m, n, got, iters*s)
				}
			}
		}
	}
	for i := range tiles {
		tiles[i] = byte(int8(r.IntN(255) - 127))
	}
	amxPeakInt8(&amxPeakCfg[0], &tiles[0], &out[0], iters)
	s8 := func(tile, row, col int) int64 { return int64(int8(tiles[tile*1024+row*64+col])) }
	for c, ab := range [4][2]int{{0, 2}, {0, 3}, {1, 2}, {1, 3}} {
		for m := 0; m < 16; m++ {
			for n := 0; n < 16; n++ {
				var s int64
				for k := 0; k < 16; k++ {
					for i := 0; i < 4; i++ {
						s += s8(ab[0], m, 4*k+i) * s8(ab[1], k, 4*n+i)
					}
				}
				got := int32(binary.LittleEndian.Uint32(out[c*1024+m*64+4*n:]))
				if int64(got) != iters*s {
					t.Fatalf("amx int8 C%d[%d][%d] = %d, want %d", c, m, n, got, iters*s)
				}
			}
		}
	}
}
