//go:build arm64 && !noasm

package kernels

// NEON-specific checks that the level-wide suite (kernels_test.go) does not
// make: the vector exp on its own over its whole range, its thresholds and
// special values, softmax over masked (-Inf) positions, SwiGLU of NaN and
// infinities, and F32ToF16's canonical NaN. Expected values come from
// math.Exp in float64 and from the documented behaviour of the scalar
// functions. On amd64 run them with:
//
//	GOARCH=arm64 go test -exec qemu-aarch64-static ./kernels/

import (
	"math"
	"math/rand/v2"
	"testing"
)

// useNEON installs the NEON level for the test and restores the previous
// level afterwards.
func useNEON(t *testing.T) {
	t.Helper()
	prev := CurrentFeatures()
	if err := SetLevel(NEON); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = SetFeatures(prev) })
}

func checkClose(t *testing.T, what string, got float32, want, tol float64) {
	t.Helper()
	if d := math.Abs(float64(got) - want); !(d <= tol) {
		t.Fatalf("%s: got %v, want %v (diff %g > tol %g)", what, got, want, d, tol)
	}
}

// TestNEONExp checks the vector exp over its whole range, every lane
// position, and the special values, against math.Exp: within 2 ulp where
// the result is normal, and the thresholds of expf (0 below -87.33654, +Inf
// above 88.72283).
func TestNEONExp(t *testing.T) {
	var xs []float32
	for v := -90.0; v <= 90; v += 0.01171875 {
		xs = append(xs, float32(v))
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)), 1e-8, -1e-8, -87.33654, 88.72283,
		math.Nextafter32(-87.33654, 0), math.Nextafter32(88.72283, 0),
		math.Nextafter32(-87.33654, -100), math.Nextafter32(88.72283, 100),
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1000, -1000)
	for len(xs)%4 != 0 {
		xs = append(xs, 0.5)
	}
	got := append([]float32(nil), xs...)
	expSumNEON(&got[0], len(got), 0)
	for i, x := range xs {
		g := got[i]
		switch {
		case x != x:
			if g == g {
				t.Fatalf("exp(NaN) = %v, want NaN", g)
			}
		case x < -87.33654:
			if g != 0 {
				t.Fatalf("exp(%v) = %v, want 0", x, g)
			}
		case x > 88.72283:
			if !math.IsInf(float64(g), 1) {
				t.Fatalf("exp(%v) = %v, want +Inf", x, g)
			}
		default:
			want := math.Exp(float64(x))
			ulp := math.Max(float64(math.Nextafter32(float32(want), float32(math.Inf(1)))-float32(want)), 0x1p-149)
			if math.Abs(float64(g)-want) > 2*ulp {
				t.Fatalf("exp(%v) = %v, want %v (%.2f ulp)", x, g, want, math.Abs(float64(g)-want)/ulp)
			}
		}
	}
}

// TestNEONSoftmax: masked positions (-Inf) must come out as exact zeros.
func TestNEONSoftmax(t *testing.T) {
	useNEON(t)
	r := rand.New(rand.NewPCG(11, 12))
	for n := 1; n <= 300; n++ {
		x := make([]float32, n)
		in := make([]float64, n)
		for i := range x {
			x[i] = float32(8 * r.NormFloat64())
			if i%3 == 1 {
				x[i] = float32(math.Inf(-1)) // masked positions, in every lane
			}
			in[i] = float64(x[i])
		}
		Softmax(x)
		m := math.Inf(-1)
		for _, v := range in {
			m = math.Max(m, v)
		}
		var s float64
		for _, v := range in {
			s += math.Exp(v - m)
		}
		for i, v := range in {
			if math.IsInf(v, -1) {
				if x[i] != 0 {
					t.Fatalf("n=%d: masked x[%d] = %v, want 0", n, i, x[i])
				}
				continue
			}
			want := math.Exp(v-m) / s
			checkClose(t, "Softmax", x[i], want, 1e-5*want+1e-38)
		}
	}
}

func TestNEONSwiGLUSpecials(t *testing.T) {
	useNEON(t)
	gate := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), -89, 89, 0, -0.5, 0.5}
	up := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	out := make([]float32, len(gate))
	SwiGLU(out, gate, up)
	if out[0] == out[0] {
		t.Errorf("silu(NaN) = %v, want NaN", out[0])
	}
	// +Inf / (1 + 0) = +Inf; -Inf / (1 + Inf) is NaN in IEEE arithmetic.
	if !math.IsInf(float64(out[1]), 1) || out[2] == out[2] {
		t.Errorf("silu(+-Inf) = %v, %v; want +Inf, NaN", out[1], out[2])
	}
	if out[3] != 0 {
		t.Errorf("silu(-89)*4 = %v, want 0", out[3])
	}
	checkClose(t, "silu(89)", out[4], 89*5, 1e-5)
	checkClose(t, "silu(-0.5)", out[6], -0.5/(1+math.Exp(0.5))*7, 1e-6)
}

// TestNEONF32ToF16NaN: the hardware conversion keeps NaN payload bits;
// F32ToF16 must instead give FloatToF16's quiet NaN, sign | 0x7e00, in
// every lane position of the 8- and 4-element paths and the Go tail.
func TestNEONF32ToF16NaN(t *testing.T) {
	useNEON(t)
	// NaNs at every third position, so that the NaN lanes differ between
	// the low and high halves of each group of 8.
	payloads := []uint32{0x7fc00000, 0x7f800001, 0x7fbfffff, 0x7fffffff, 0x7fc0dead, 0x7f812345, 0x7fc00001}
	var src []float32
	var want []uint16
	for k := 0; k < 27; k++ {
		if k%3 != 0 {
			e := k % 7
			src = append(src, float32(int(1)<<e))
			want = append(want, uint16(0x3c00+e*0x400)) // 2^e: exponent 15+e
			continue
		}
		sign := uint32(k/3%2) << 31
		src = append(src, math.Float32frombits(payloads[k/3%len(payloads)]|sign))
		want = append(want, uint16(sign>>16)|0x7e00)
	}
	for n := 0; n <= len(src); n++ {
		dst := make([]uint16, n+1)
		dst[n] = 0xabcd
		F32ToF16(dst[:n], src[:n])
		for i := 0; i < n; i++ {
			if dst[i] != want[i] {
				t.Fatalf("n=%d: F32ToF16(%#08x) = %#04x, want %#04x", n, math.Float32bits(src[i]), dst[i], want[i])
			}
		}
		if dst[n] != 0xabcd {
			t.Fatalf("n=%d: F32ToF16 wrote past the end", n)
		}
	}
}
