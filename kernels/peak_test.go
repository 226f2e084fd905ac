package kernels

import (
	"math/rand/v2"
	"testing"
)

// tkFeatureSets runs f once per feature set of this machine and restores
// the set in use afterwards.
func tkFeatureSets(t *testing.T, f func(t *testing.T, fs Features)) {
	t.Helper()
	prev := CurrentFeatures()
	defer func() {
		if err := SetFeatures(prev); err != nil {
			t.Fatal(err)
		}
	}()
	for _, fs := range FeatureSets() {
		if err := SetFeatures(fs); err != nil {
			t.Fatal(err)
		}
		t.Run(fs.String(), func(t *testing.T) { f(t, fs) })
	}
}

func TestReadSum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 70100)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	// An independent sum: words assembled from bytes by shifts.
	ref := func(b []byte) uint32 {
		var s uint32
		for i := 0; i+3 < len(b); i += 4 {
			s += uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24
		}
		return s
	}
	tkFeatureSets(t, func(t *testing.T, fs Features) {
		for _, n := range []int{0, 3, 4, 255, 256, 257, 1024, 4099, 65536, 69999} {
			for _, off := range []int{0, 1, 4, 60} {
				b := buf[off : off+n]
				if got, want := ReadSum(b), ref(b); got != want {
					t.Errorf("ReadSum n=%d off=%d = %#x, want %#x", n, off, got, want)
				}
			}
		}
	})
}

func TestRunProbe(t *testing.T) {
	tkFeatureSets(t, func(t *testing.T, fs Features) {
		ran := 0
		for _, p := range Probes() {
			got := RunProbe(p, 10)
			if !ProbeAvailable(p) {
				if got != 0 {
					t.Errorf("%s is not available at %s but did %g ops", p, fs, got)
				}
				continue
			}
			ran++
			if want := 10 * ProbeOpsPerIter(p); got != want || want <= 0 {
				t.Errorf("%s: %g ops, want %g", p, got, want)
			}
		}
		if fs.Level() != Generic && probeAsm && ran == 0 {
			t.Errorf("no probe available at %s", fs)
		}
	})
	if p := Probe(99); p.String() != "Probe(99)" || RunProbe(p, 1) != 0 || ProbeAvailable(p) {
		t.Errorf("an unknown probe must be unavailable")
	}
}

func TestProbeTwins(t *testing.T) {
	// The twins against figures worked out by hand: 12 accumulators
	// each adding 1*0.5 100 times hold 50, and sum to 600.
	if got := fmaTwin(100, 1, 0.5); got != 600 {
		t.Errorf("fmaTwin = %g, want 600", got)
	}
	// bytes (4,3,2,1) u8 times (1,-1,2,-2) s8 = 4-3+4-2 = 3 per dot, 12 per iteration.
	if got := vnniTwin(5, 0x01020304, 0xfe02ff01); got != 3*12*5 {
		t.Errorf("vnniTwin = %d, want %d", got, 3*12*5)
	}
	// (4*1 + 3*-1, 2*2 + 1*-2) = (1, 2); 255*127*2 saturates.
	if got := maddubsTwin(0x01020304, 0xfe02ff01); got != [2]int16{1, 2} {
		t.Errorf("maddubsTwin = %v, want [1 2]", got)
	}
	if got := maddubsTwin(0xffff, 0x7f7f); got[0] != 32767 {
		t.Errorf("maddubsTwin saturation = %v, want 32767", got)
	}
}
