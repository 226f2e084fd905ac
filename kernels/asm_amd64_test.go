//go:build amd64 && !noasm

package kernels

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestAsmFeatures checks the generated assembly against the CPU features
// each level promises: avx2 functions may use only AVX, AVX2, FMA and F16C
// (and older) instructions and registers 0-15; avx512 functions add only
// AVX-512 F, BW and VL (no DQ, whose instructions the level does not
// check for). avo writes each function's requirements above its TEXT.
func TestAsmFeatures(t *testing.T) {
	f, err := os.Open("asm_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	base := map[string]bool{"AVX": true, "AVX2": true, "FMA3": true, "F16C": true, "MMX+": true,
		"SSE": true, "SSE2": true, "SSE3": true, "SSSE3": true, "SSE4.1": true, "CMOV": true}
	wide := map[string]bool{"AVX512F": true, "AVX512BW": true, "AVX512VL": true}
	highReg := regexp.MustCompile(`\b([XYZ](1[6-9]|2[0-9]|3[01])|Z[0-9]+|K[1-7])\b`)
	var requires []string
	fn, funcs := "", 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if r, ok := strings.CutPrefix(line, "// Requires: "); ok {
			requires = strings.Split(r, ", ")
			continue
		}
		if strings.HasPrefix(line, "TEXT ·") {
			fn = strings.TrimPrefix(strings.Fields(line)[1], "·")
			fn = strings.TrimSuffix(fn, "(SB),")
			funcs++
			for _, r := range requires {
				switch {
				case base[r]:
				case wide[r] && strings.HasSuffix(fn, "AVX512"):
				default:
					t.Errorf("%s requires %s, which its level does not check for", fn, r)
				}
			}
			requires = nil
			continue
		}
		if strings.HasSuffix(fn, "AVX2") && !strings.HasPrefix(strings.TrimSpace(line), "//") {
			if m := highReg.FindString(line); m != "" {
				t.Errorf("%s uses %s, an AVX-512 register: %q", fn, m, strings.TrimSpace(line))
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if funcs < 20 {
		t.Fatalf("found only %d functions in asm_amd64.s", funcs)
	}
}
