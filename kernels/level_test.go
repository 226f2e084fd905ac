package kernels

import (
	"strings"
	"testing"
)

// TestParseFeatures checks the GALE_CPU grammar against sets written out
// by hand.
func TestParseFeatures(t *testing.T) {
	extra := FeatVNNI | FeatDotProd
	cases := []struct {
		in   string
		want Features
	}{
		{"avx2", FeatAVX2 | extra},
		{"avx512", FeatAVX2 | FeatAVX512 | extra},
		{"avx512,-vnni", FeatAVX2 | FeatAVX512 | FeatDotProd},
		{"avx512+vnni+amx", FeatAVX2 | FeatAVX512 | extra | FeatAMX},
		{"generic", extra},
		{"-amx", ^FeatAMX},
		{"AVX512, -VNNI", FeatAVX2 | FeatAVX512 | FeatDotProd},
		{"neon,-dotprod", FeatNEON | FeatVNNI},
	}
	for _, c := range cases {
		got, err := ParseFeatures(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseFeatures(%q) = %v (%b), %v; want %b", c.in, got, got, err, c.want)
		}
	}
	for _, bad := range []string{"avx3", "avx2,avx512", "-foo", "vnni2"} {
		if _, err := ParseFeatures(bad); err == nil {
			t.Errorf("ParseFeatures(%q) accepted", bad)
		}
	}
}

// TestFeatureSets checks that every listed set installs, is named as it
// parses back, and that the sets cover each level with and without its
// extras.
func TestFeatureSets(t *testing.T) {
	saved := CurrentFeatures()
	defer SetFeatures(saved)
	sets := FeatureSets()
	levels := map[Level]bool{}
	for _, f := range sets {
		if err := SetFeatures(f); err != nil {
			t.Fatalf("SetFeatures(%v): %v", f, err)
		}
		if CurrentFeatures() != f || Current() != f.Level() {
			t.Errorf("after SetFeatures(%v): current %v level %v", f, CurrentFeatures(), Current())
		}
		levels[f.Level()] = true
		if f.Has(FeatVNNI) && !sets[0].Has(FeatVNNI) {
			// Some set at the same level must lack VNNI, so that the
			// non-VNNI paths are tested on a machine that has it.
			found := false
			for _, g := range sets {
				if g.Level() == f.Level() && !g.Has(FeatVNNI) {
					found = true
				}
			}
			if !found {
				t.Errorf("no set at level %v without vnni", f.Level())
			}
		}
		back, err := ParseFeatures(f.String())
		if err != nil || back&f != f {
			t.Errorf("%v does not parse back: %v %v", f, back, err)
		}
	}
	for _, l := range Levels() {
		if !levels[l] {
			t.Errorf("level %v has no feature set", l)
		}
	}
	if err := SetFeatures(FeatNEON | FeatAVX2); err == nil {
		t.Error("a set mixing neon and avx2 was accepted")
	}
	t.Logf("feature sets here: %v", sets)
	if !archAMX() {
		t.Log("SKIP amx: not available on this CPU")
	}
	if s := (FeatAVX2 | FeatAVX512 | FeatVNNI | FeatAMX).String(); s != "avx512+vnni+amx" {
		t.Errorf("String = %q", s)
	}
	if !strings.Contains(FeatureSets()[0].String(), "generic") {
		t.Errorf("first set %v is not generic", FeatureSets()[0])
	}
}
