package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchCompare: one bench run over the embedded model's files and a
// tiny quantized synthetic model prints one table with a speed-up over
// the slowest model, and the same rows as JSON.
func TestBenchCompare(t *testing.T) {
	a := []string{"bench", "-m", storiesDir(), "--synthetic", "tiny", "--dtype", "q4_0", "-p", "8", "-n", "4", "-r", "1", "-t", "1"}
	r := gale(t, a...)
	wantOK(t, r, a...)
	if strings.Count(r.stdout, "| model |") != 1 {
		t.Errorf("want one table:\n%s", r.stdout)
	}
	for _, s := range []string{"speed-up |", " 1.00x |", "stories260k", "tiny (synthetic)", "Q4_0", "| pp8 |", "| tg4 |"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("bench table lacks %q:\n%s", s, r.stdout)
		}
	}
	a = append(a, "-o", "json")
	r = gale(t, a...)
	wantOK(t, r, a...)
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4 (2 models x pp8, tg4)", len(rows))
	}
	ones := map[string]int{}
	for _, row := range rows {
		s, _ := row["speedup"].(float64)
		if s < 1 {
			t.Errorf("speedup %v < 1: %v", row["speedup"], row)
		}
		if s == 1 {
			ones[row["test"].(string)]++
		}
		for _, k := range []string{"model_type", "model_size", "n_threads", "peak_rss_bytes"} {
			if _, ok := row[k]; !ok {
				t.Errorf("row lacks %q", k)
			}
		}
	}
	// Each test has exactly one slowest model (ties aside, which tok/s
	// of two different models do not produce).
	if ones["pp8"] != 1 || ones["tg4"] != 1 {
		t.Errorf("slowest models per test %v, want one each", ones)
	}
}
