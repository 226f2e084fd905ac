package cli

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gale-ai/gale/kernels"
	"github.com/gale-ai/gale/model"
)

// Bench tests run tiny models for a few tokens: they check what is
// printed and how the figures relate, never how fast anything is.

// smallCeilings shrinks the ceiling probes for the duration of a test.
func smallCeilings(t *testing.T) {
	t.Helper()
	b, p := memReadBytes, probeTime
	memReadBytes, probeTime = 32<<20, 2*time.Millisecond
	t.Cleanup(func() { memReadBytes, probeTime = b, p })
}

// runBench runs gale bench in-process and returns stdout; it fails the
// test unless the exit code is 0.
func runBench(t *testing.T, args ...string) string {
	t.Helper()
	a, out, errb := testApp("")
	if code := a.run(append([]string{"bench"}, args...)); code != 0 {
		t.Fatalf("bench %v: exit %d\n%s", args, code, errb.String())
	}
	return out.String()
}

func benchJSON(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	var rows []map[string]any
	out := runBench(t, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("bench -o json: %v\n%s", err, out)
	}
	return rows
}

// llamaBenchFields are llama-bench's field names and gale's additions
// that every model row must carry.
var llamaBenchFields = []string{"model_type", "model_size", "n_params", "n_threads", "n_prompt", "n_gen",
	"avg_ts", "stddev_ts", "samples_ts", "gbps", "gflops", "pct_of_ceiling", "peak_rss_bytes"}

func num(t *testing.T, row map[string]any, k string) float64 {
	t.Helper()
	v, ok := row[k].(float64)
	if !ok {
		t.Fatalf("row field %q = %v, not a number: %v", k, row[k], row)
	}
	return v
}

func TestBenchOutputFormats(t *testing.T) {
	args := []string{"--synthetic", "tiny", "--dtype", "q8_0", "-p", "8", "-n", "4", "-r", "1", "-t", "1"}
	rows := benchJSON(t, args...)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2 (pp8, tg4)", len(rows))
	}
	for _, row := range rows {
		for _, k := range llamaBenchFields {
			if _, ok := row[k]; !ok {
				t.Errorf("json row lacks %q: %v", k, row)
			}
		}
		if s, _ := row["samples_ts"].([]any); len(s) != 1 {
			t.Errorf("samples_ts %v, want 1 sample", row["samples_ts"])
		}
		if !strings.Contains(row["model_type"].(string), "Q8_0") || row["dtype"] != "Q8_0" {
			t.Errorf("model_type %q dtype %q, want Q8_0", row["model_type"], row["dtype"])
		}
		if num(t, row, "peak_rss_bytes") <= 0 {
			t.Errorf("peak_rss_bytes %v", row["peak_rss_bytes"])
		}
	}
	// --json is -o json.
	var old []map[string]any
	if err := json.Unmarshal([]byte(runBench(t, append(args, "--json")...)), &old); err != nil || len(old) != 2 {
		t.Errorf("--json: %v, %d rows", err, len(old))
	}

	// jsonl: one object per line, the same fields.
	out := runBench(t, append(args, "-o", "jsonl")...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("jsonl: %d lines, want 2:\n%s", len(lines), out)
	}
	for _, l := range lines {
		var row map[string]any
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatalf("jsonl line %q: %v", l, err)
		}
		for _, k := range llamaBenchFields {
			if _, ok := row[k]; !ok {
				t.Errorf("jsonl row lacks %q", k)
			}
		}
	}

	// csv: a header of the field names, then one record per row.
	out = runBench(t, append(args, "-o", "csv")...)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v\n%s", err, out)
	}
	if len(recs) != 3 {
		t.Fatalf("csv: %d records, want a header and 2 rows:\n%s", len(recs), out)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, k := range llamaBenchFields {
		if _, ok := col[k]; !ok {
			t.Errorf("csv header lacks %q: %v", k, recs[0])
		}
	}
	for _, rec := range recs[1:] {
		if v, err := strconv.ParseFloat(rec[col["avg_ts"]], 64); err != nil || v <= 0 {
			t.Errorf("csv avg_ts %q", rec[col["avg_ts"]])
		}
		if rec[col["n_threads"]] != "1" {
			t.Errorf("csv n_threads %q, want 1", rec[col["n_threads"]])
		}
	}

	// md: the table.
	out = runBench(t, args...)
	for _, s := range []string{"| model |", "| pp8 |", "| tg4 |", "±", "Q8_0"} {
		if !strings.Contains(out, s) {
			t.Errorf("md table lacks %q:\n%s", s, out)
		}
	}
}

func TestBenchBadOutput(t *testing.T) {
	for _, args := range [][]string{
		{"-o", "xml"},
		{"--json", "-o", "csv"},
		{"--synthetic", "tiny", "--dtype", "q4_0,q3"},
		{"--synthetic", "tiny", "--dtype", ","},
	} {
		a, out, errb := testApp("")
		if code := a.run(append([]string{"bench"}, args...)); code != ExitUsage {
			t.Errorf("bench %v: exit %d, want %d (%s)", args, code, ExitUsage, errb.String())
		}
		if out.Len() != 0 {
			t.Errorf("bench %v: stdout %q", args, out.String())
		}
		checkOneLine(t, errb.String())
	}
}

func TestBenchSpeedUp(t *testing.T) {
	// The embedded model, a tiny quantized synthetic one and a tiny F32
	// one: one table, a speed-up per row over the slowest model at the
	// same test and thread count.
	args := []string{"--synthetic", "tiny", "--dtype", "q4_0,f32", "-p", "8", "-n", "4", "-r", "1", "-t", "1"}
	// -m with the embedded model's own files is not available in-process;
	// the embedded model joins as the default only without -m/--synthetic,
	// so compare the synthetic dtypes here and the embedded one in e2e.
	rows := benchJSON(t, args...)
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	slowest := map[string]float64{}
	for _, r := range rows {
		k := r["test"].(string)
		if v, ok := slowest[k]; !ok || num(t, r, "avg_ts") < v {
			slowest[k] = num(t, r, "avg_ts")
		}
	}
	dtypes := map[string]bool{}
	for _, r := range rows {
		dtypes[r["dtype"].(string)] = true
		want := num(t, r, "avg_ts") / slowest[r["test"].(string)]
		if got := num(t, r, "speedup"); math.Abs(got-want) > 1e-9*want || got < 1 {
			t.Errorf("%s %s: speedup %v, want %v", r["dtype"], r["test"], got, want)
		}
	}
	if !dtypes["Q4_0"] || !dtypes["F32"] {
		t.Errorf("dtypes %v, want Q4_0 and F32", dtypes)
	}
	out := runBench(t, args...)
	if !strings.Contains(out, "speed-up |") || !strings.Contains(out, " 1.00x |") {
		t.Errorf("md table lacks the speed-up column:\n%s", out)
	}
	// Two models at each of two dtypes: each compared with the slower
	// model of its own dtype.
	rows = benchJSON(t, "--synthetic", "tiny,small", "--dtype", "q4_0,q8_0", "-p", "8", "-n", "0", "-r", "1", "-t", "1")
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	slow := map[string]float64{}
	for _, r := range rows {
		k := r["dtype"].(string)
		if v, ok := slow[k]; !ok || num(t, r, "avg_ts") < v {
			slow[k] = num(t, r, "avg_ts")
		}
	}
	for _, r := range rows {
		want := num(t, r, "avg_ts") / slow[r["dtype"].(string)]
		if got := num(t, r, "speedup"); math.Abs(got-want) > 1e-9*want {
			t.Errorf("%s %s: speedup %v, want %v (per dtype)", r["model"], r["dtype"], got, want)
		}
	}
	// One model: no speed-up column.
	if out := runBench(t, "--synthetic", "tiny", "--dtype", "q4_k_m", "-p", "8", "-n", "4", "-r", "1", "-t", "1"); strings.Contains(out, "speed-up") || !strings.Contains(out, "Q4_K_M") {
		t.Errorf("one model's table:\n%s", out)
	}
}

func TestBenchRoofline(t *testing.T) {
	smallCeilings(t)
	rows := benchJSON(t, "--roofline", "--synthetic", "tiny", "--dtype", "q4_0,bf16", "-p", "8", "-n", "4", "-r", "2", "-t", "1,2")
	ceil := map[string]float64{} // test@threads -> value
	models := 0
	for _, r := range rows {
		test := r["test"].(string)
		key := test + "@" + strconv.Itoa(int(num(t, r, "n_threads")))
		switch {
		case test == "mem_read":
			ceil[key] = num(t, r, "gbps")
		case strings.HasPrefix(test, "peak_"):
			ceil[key] = num(t, r, "gflops")
		}
		if s, _ := r["samples_ceiling"].([]any); ceil[key] > 0 && len(s) < 3 {
			t.Errorf("%s: %d ceiling samples, want >= 3", key, len(s))
		}
	}
	for _, th := range []string{"1", "2"} {
		if ceil["mem_read@"+th] <= 0 {
			t.Errorf("no mem_read ceiling at %s threads: %v", th, ceil)
		}
		for _, p := range kernels.Probes() {
			if kernels.ProbeAvailable(p) && ceil["peak_"+p.String()+"@"+th] <= 0 {
				t.Errorf("no %s ceiling at %s threads: %v", p, th, ceil)
			}
		}
	}
	for _, r := range rows {
		test := r["test"].(string)
		if test == "mem_read" || strings.HasPrefix(test, "peak_") {
			continue
		}
		models++
		th := strconv.Itoa(int(num(t, r, "n_threads")))
		name, _ := r["ceiling"].(string)
		var rate float64
		if strings.HasPrefix(test, "tg") {
			rate = num(t, r, "gbps")
			if name != "mem_read" {
				t.Errorf("tg row's ceiling %q, want mem_read", name)
			}
		} else {
			rate = num(t, r, "gflops")
			want := map[bool]string{true: "peak_", false: "peak_fma"}[r["dtype"] == "Q4_0"]
			if !strings.HasPrefix(name, want) && !(r["dtype"] == "BF16" && name == "peak_amx_bf16") {
				t.Errorf("%s pp row's ceiling %q", r["dtype"], name)
			}
		}
		c := ceil[name+"@"+th]
		if c <= 0 {
			if name == "" && !kernels.ProbeAvailable(kernels.ProbeFMA256) {
				continue // a pure-Go build measures no instruction ceiling
			}
			t.Fatalf("%s %s: ceiling %q not measured", r["dtype"], test, name)
		}
		if got, want := num(t, r, "pct_of_ceiling"), 100*rate/c; math.Abs(got-want) > 1e-9*want || got <= 0 {
			t.Errorf("%s %s: pct_of_ceiling %v, want %v", r["dtype"], test, got, want)
		}
		// tg rows are paired with read passes over the same weights,
		// one per repetition's samples; pp rows are not.
		paired, _ := r["paired_read_gbps"].(float64)
		samples, _ := r["samples_paired_read"].([]any)
		if !strings.HasPrefix(test, "tg") {
			if paired != 0 || len(samples) != 0 {
				t.Errorf("%s %s: a pp row with paired reads %v %v", r["dtype"], test, paired, samples)
			}
			continue
		}
		if paired <= 0 || len(samples) != 2 {
			t.Fatalf("%s %s: paired read %v GB/s, samples %v (want > 0, 2 of them)", r["dtype"], test, paired, samples)
		}
		lo, hi := math.Inf(1), 0.0
		for _, v := range samples {
			lo, hi = min(lo, v.(float64)), max(hi, v.(float64))
		}
		if paired < lo*(1-1e-9) || paired > hi*(1+1e-9) {
			t.Errorf("%s %s: paired read %v outside its repetitions' %v", r["dtype"], test, paired, samples)
		}
		if got, want := num(t, r, "pct_of_paired_read"), 100*rate/paired; math.Abs(got-want) > 1e-9*want {
			t.Errorf("%s %s: pct_of_paired_read %v, want %v", r["dtype"], test, got, want)
		}
	}
	if models != 8 {
		t.Errorf("%d model rows, want 8 (2 dtypes x 2 thread counts x pp, tg)", models)
	}
	out := runBench(t, "--roofline", "--synthetic", "tiny", "--dtype", "q8_0", "-p", "8", "-n", "4", "-r", "1", "-t", "1")
	for _, s := range []string{"| memory read |", "mem_read", "% of ceiling", "ceiling |", "% of mem_read |", "GB/s", "| paired read (% of it) |"} {
		if !strings.Contains(out, s) {
			t.Errorf("roofline table lacks %q:\n%s", s, out)
		}
	}
}

// TestDecodeBytes: a decode step reads every matrix but the embedding,
// and one row of it, counted here from the tensor list.
func TestDecodeBytes(t *testing.T) {
	m, err := model.NewSynthetic("tiny", "q4_0", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var want int64
	found := false
	for _, ti := range m.Tensors() {
		if ti.Name == "token_embd.weight" {
			want += ti.Bytes / int64(ti.Shape[0])
			found = true
			continue
		}
		want += ti.Bytes
	}
	if !found {
		t.Fatalf("no token_embd.weight in %v", m.Tensors())
	}
	if got := decodeBytes(m); got != want {
		t.Errorf("decodeBytes = %d, want %d", got, want)
	}
	// The paired read passes cover the matrices of that (not the norm
	// vectors), each a view of the model's own bytes.
	var mats, paired int64
	for _, ti := range m.Tensors() {
		if len(ti.Shape) == 2 && ti.Name != "token_embd.weight" {
			mats += ti.Bytes
		}
	}
	for _, b := range m.DecodeWeights() {
		paired += int64(len(b))
	}
	if paired != mats || mats == 0 {
		t.Errorf("DecodeWeights cover %d bytes, the matrices but the embedding %d", paired, mats)
	}
	// The tg row's gbps is that times tok/s.
	rows := benchJSON(t, "--synthetic", "tiny", "--dtype", "q4_0", "-p", "0", "-n", "4", "-r", "1", "-t", "1")
	if len(rows) != 1 {
		t.Fatalf("%d rows", len(rows))
	}
	if g, w := num(t, rows[0], "gbps"), num(t, rows[0], "avg_ts")*float64(want)/1e9; math.Abs(g-w) > 1e-9*w {
		t.Errorf("gbps %v, want %v", g, w)
	}
}
