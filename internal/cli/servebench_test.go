package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestServeBench runs serve-bench on the tiny synthetic model at two
// concurrency levels: every stream must generate its -n tokens, and
// --cpuprofile must leave a pprof file (gzip-compressed protobuf).
func TestServeBench(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	a, out, errb := testApp("")
	args := []string{"serve-bench", "--synthetic", "tiny", "--dtype", "q8_0", "--concurrency", "1,3",
		"-p", "4", "-n", "5", "-t", "1", "--json", "--cpuprofile", prof}
	if code := a.run(args); code != 0 {
		t.Fatalf("serve-bench: exit %d\n%s", code, errb.String())
	}
	var rows []serveBenchResult
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("serve-bench --json: %v\n%s", err, out.String())
	}
	if len(rows) != 2 {
		t.Fatalf("%d results, want 2: %+v", len(rows), rows)
	}
	for i, n := range []int{1, 3} {
		r := rows[i]
		if r.Concurrency != n || r.GeneratedToken != 5*n {
			t.Errorf("result %d: concurrency %d, %d tokens; want %d, %d", i, r.Concurrency, r.GeneratedToken, n, 5*n)
		}
		// The decode window of several streams (all started, none done)
		// can be empty on a model this fast; one stream's cannot.
		if r.AggregateTokS <= 0 || r.DecodeTokS < 0 || (n == 1 && r.DecodeTokS <= 0) || r.TTFTP50MS <= 0 || r.TTFTP99MS < r.TTFTP50MS {
			t.Errorf("result %d: figures %+v", i, r)
		}
	}
	b, err := os.ReadFile(prof)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 64 || !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Errorf("cpu profile: %d bytes, starts % x; want a gzip-compressed pprof", len(b), b[:min(len(b), 4)])
	}
}

// TestServeBenchBadFlags: bad values exit non-zero with one error line.
func TestServeBenchBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--synthetic", "tiny", "--concurrency", "0"},
		{"--synthetic", "tiny", "--concurrency", "1,x"},
		{"--synthetic", "tiny", "-n", "1"},
		{"--synthetic", "nosuchmodel"},
		{"--synthetic", "tiny", "-p", "2", "-n", "2", "--cpuprofile", filepath.Join(t.TempDir(), "no", "such", "dir", "p")},
	} {
		a, _, errb := testApp("")
		if code := a.run(append([]string{"serve-bench"}, args...)); code == 0 {
			t.Errorf("serve-bench %v: exit 0", args)
			continue
		}
		checkOneLine(t, errb.String())
	}
}
