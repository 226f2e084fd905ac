package e2e

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gale-ai/gale/tokenizer"
)

// tinyLlamaRef is the part of testdata/gguf/tiny-llama/reference.json the
// tests read: the prompt and, per file, the largest reference logit.
type tinyLlamaRef struct {
	Tokens []int `json:"tokens"`
	Files  map[string]struct {
		Types       []string `json:"types"`
		LogitAbsMax float64  `json:"logit_absmax"`
	} `json:"files"`
}

func loadTinyLlamaRef(t *testing.T) *tinyLlamaRef {
	t.Helper()
	b, err := os.ReadFile(ggufFixture("reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r tinyLlamaRef
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Tokens) != 40 {
		t.Fatalf("reference.json has %d tokens", len(r.Tokens))
	}
	return &r
}

// readLogitsST reads a [T, V] F32 "logits" tensor from a safetensors file
// (the fixtures' float64 references, stored as F32, and score --logits).
func readLogitsST(t *testing.T, path string) [][]float32 {
	t.Helper()
	hdr, data := readST(t, path)
	e, ok := hdr["logits"]
	if !ok || e.DType != "F32" || len(e.Shape) != 2 {
		t.Fatalf("%s: no F32 [T, V] logits tensor", path)
	}
	rows, cols := int(e.Shape[0]), int(e.Shape[1])
	d := data[e.Offsets[0]:e.Offsets[1]]
	if len(d) != 4*rows*cols {
		t.Fatalf("%s: logits hold %d bytes for [%d %d]", path, len(d), rows, cols)
	}
	out := make([][]float32, rows)
	for i := range out {
		out[i] = make([]float32, cols)
		for j := range out[i] {
			out[i][j] = math.Float32frombits(binary.LittleEndian.Uint32(d[4*(i*cols+j):]))
		}
	}
	return out
}

// maxDiff is the largest |a-b| over two logit tables of the same shape.
func maxDiff(t *testing.T, a, b [][]float32) float64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d rows against %d", len(a), len(b))
	}
	worst := 0.0
	for i := range a {
		if len(a[i]) != len(b[i]) {
			t.Fatalf("row %d: %d columns against %d", i, len(a[i]), len(b[i]))
		}
		for j := range a[i] {
			worst = max(worst, math.Abs(float64(a[i][j])-float64(b[i][j])))
		}
	}
	return worst
}

// quantTolerance is the bound for block-quantized files: 1.5% of
// the largest reference logit (gale quantizes activations to int8 as
// llama.cpp does; the reference keeps them in float64).
func quantTolerance(absmax float64) float64 { return 0.015 * absmax }

// scoreLogits runs `gale score` on the reference prompt and returns the
// logits it saved, and its log-likelihood.
func scoreLogits(t *testing.T, model string, extra ...string) ([][]float32, float64) {
	t.Helper()
	ref := loadTinyLlamaRef(t)
	out := filepath.Join(t.TempDir(), "logits.safetensors")
	a := append([]string{"score", "-m", model, "--json", "--logits", out, "--tokens", idsString(ref.Tokens, ",")}, extra...)
	r := gale(t, a...)
	wantOK(t, r, a...)
	var s struct {
		Tokens        int     `json:"tokens"`
		LogLikelihood float64 `json:"log_likelihood"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if s.Tokens != len(ref.Tokens)-1 {
		t.Fatalf("score counted %d tokens, want %d", s.Tokens, len(ref.Tokens)-1)
	}
	return readLogitsST(t, out), s.LogLikelihood
}

// logSoftmax32 is log p(id) under logits, in float64.
func logSoftmax32(logits []float32, id int) float64 {
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, float64(v))
	}
	var s float64
	for _, v := range logits {
		s += math.Exp(float64(v) - m)
	}
	return float64(logits[id]) - m - math.Log(s)
}

// infoJSON runs `gale info --json` on a model.
func infoJSON(t *testing.T, model string, extra ...string) map[string]any {
	t.Helper()
	a := append([]string{"info", "-m", model, "--json"}, extra...)
	r := gale(t, a...)
	wantOK(t, r, a...)
	var m map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	return m
}

// TestGGUFCommands: every command that takes a model directory takes a
// GGUF file too (issue 9 step 8), here tiny-llama at Q4_0 as llama.cpp's
// tools wrote it, checked against the fixture's float64 reference logits
// and against the same checkpoint's SentencePiece model.
func TestGGUFCommands(t *testing.T) {
	ref := loadTinyLlamaRef(t)
	file := ggufFixture("Q4_0.gguf")
	want := readLogitsST(t, ggufFixture("Q4_0.logits.safetensors"))
	tol := quantTolerance(ref.Files["Q4_0"].LogitAbsMax)
	hfTok, err := tokenizer.Load(ggufFixture("hf", "tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("info", func(t *testing.T) {
		info := infoJSON(t, file)
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		// The shape of tiny-llama/hf/config.json, which the file was
		// converted from.
		for k, v := range map[string]any{"format": "gguf", "architecture": "llama", "dim": 256.0, "n_layers": 2.0,
			"n_heads": 4.0, "n_kv_heads": 4.0, "head_dim": 64.0, "ffn_dim": 512.0, "vocab_size": 512.0,
			"file_type": "Q4_0", "size_bytes": float64(fi.Size()), "tokenizer": "sentencepiece-bpe", "sliding_window": 0.0} {
			if info[k] != v {
				t.Errorf("info %s = %v, want %v", k, info[k], v)
			}
		}
		var types []string
		for _, tc := range info["type_mix"].([]any) {
			types = append(types, tc.(map[string]any)["dtype"].(string))
		}
		wantTypes := slices.Clone(ref.Files["Q4_0"].Types)
		slices.Sort(types)
		slices.Sort(wantTypes)
		if !slices.Equal(types, wantTypes) {
			t.Errorf("type mix %v, the reference lists %v", types, wantTypes)
		}
		r := gale(t, "info", "-m", file)
		wantOK(t, r, "info")
		for _, s := range []string{"format:            gguf", "type mix:          Q4_0 15 tensors", "Q6_K 1"} {
			if !strings.Contains(r.stdout, s) {
				t.Errorf("info lacks %q:\n%s", s, r.stdout)
			}
		}
	})

	t.Run("score", func(t *testing.T) {
		got, ll := scoreLogits(t, file)
		d := maxDiff(t, got, want)
		t.Logf("Q4_0: worst logit error %.4f (tolerance %.4f)", d, tol)
		if d > tol {
			t.Errorf("score logits differ from the reference by %.4f (tolerance %.4f)", d, tol)
		}
		var wantLL float64
		for i := 0; i+1 < len(ref.Tokens); i++ {
			wantLL += logSoftmax32(want[i], ref.Tokens[i+1])
		}
		// Each log-probability moves by at most twice the logit error.
		if math.Abs(ll-wantLL) > 2*tol*float64(len(ref.Tokens)-1) {
			t.Errorf("log-likelihood %.4f, reference %.4f", ll, wantLL)
		}
	})

	t.Run("generate", func(t *testing.T) {
		// Greedy decoding after a prefix whose next token the reference
		// decides by more than twice the tolerance is its argmax.
		tried := 0
		for k := 3; k <= len(ref.Tokens) && tried < 3; k++ {
			row := want[k-1]
			best, second := -1, -1
			for j := range row {
				if best < 0 || row[j] > row[best] {
					best, second = j, best
				} else if second < 0 || row[j] > row[second] {
					second = j
				}
			}
			if float64(row[best]-row[second]) <= 2*tol {
				continue
			}
			tried++
			a := []string{"generate", "-m", file, "--tokens", idsString(ref.Tokens[:k], ","), "-n", "1", "--temp", "0", "--json"}
			r := gale(t, a...)
			wantOK(t, r, a...)
			var out struct {
				IDs []int `json:"ids"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
				t.Fatalf("%v\n%s", err, r.stdout)
			}
			if len(out.IDs) != 1 || out.IDs[0] != best {
				t.Errorf("after %d tokens: generated %v, the reference's argmax is %d", k, out.IDs, best)
			}
		}
		if tried == 0 {
			t.Fatal("no position with a clear reference argmax")
		}
		// A text prompt goes through the file's own tokenizer.
		a := []string{"generate", "-m", file, "-p", "Hello world", "-n", "4", "--json", "-s", "1"}
		r := gale(t, a...)
		wantOK(t, r, a...)
		var out struct {
			PromptTokens int `json:"prompt_tokens"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatalf("%v\n%s", err, r.stdout)
		}
		if n := len(hfTok.Encode("Hello world")) + 1; out.PromptTokens != n {
			t.Errorf("prompt of %d tokens, want %d (BOS and the SentencePiece ids)", out.PromptTokens, n)
		}
	})

	t.Run("tokenize", func(t *testing.T) {
		// The tokenizer built from tokenizer.ggml.* equals the
		// checkpoint's SentencePiece model.
		for _, text := range []string{"Hello world", "  two  spaces\nand a line", "ünïcödé ✓ 🙂", "1234567890"} {
			a := []string{"tokenize", "-m", file, "--json", text}
			r := gale(t, a...)
			wantOK(t, r, a...)
			var out struct {
				IDs []int `json:"ids"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
				t.Fatalf("%v\n%s", err, r.stdout)
			}
			if w := hfTok.Encode(text); !slices.Equal(out.IDs, w) {
				t.Errorf("tokenize %q: %v, tokenizer.model gives %v", text, out.IDs, w)
			}
		}
	})

	t.Run("chat", func(t *testing.T) {
		msgs := []tokenizer.Message{
			{Role: "user", Content: "Tell me a story about a cat."},
			{Role: "assistant", Content: "Once upon a time there was a cat."},
			{Role: "user", Content: "What was its name?"},
		}
		conv := filepath.Join(t.TempDir(), "conv.json")
		jb, _ := json.Marshal(msgs)
		if err := os.WriteFile(conv, jb, 0o644); err != nil {
			t.Fatal(err)
		}
		wantIDs, err := hfTok.EncodeChat(msgs)
		if err != nil {
			t.Fatal(err)
		}
		a := []string{"chat", "--dry-run", "-m", file, "--messages", conv}
		r := gale(t, a...)
		wantOK(t, r, a...)
		if got := strings.TrimSpace(r.stdout); got != idsString(wantIDs, " ") {
			t.Errorf("chat ids\n got: %s\nwant: %s", got, idsString(wantIDs, " "))
		}
		a = []string{"chat", "-m", file, "--messages", conv, "--json", "-n", "4", "-s", "3"}
		r = gale(t, a...)
		wantOK(t, r, a...)
		var reply struct {
			Role string `json:"role"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &reply); err != nil || reply.Role != "assistant" {
			t.Errorf("chat reply %q (%v)", r.stdout, err)
		}
	})

	t.Run("bench", func(t *testing.T) {
		a := []string{"bench", "-m", file, "-p", "8", "-n", "4", "-r", "1", "-t", "1", "--json"}
		r := gale(t, a...)
		wantOK(t, r, a...)
		var rows []map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
			t.Fatalf("%v\n%s", err, r.stdout)
		}
		fi, _ := os.Stat(file)
		if len(rows) != 2 {
			t.Fatalf("%d rows, want pp8 and tg4", len(rows))
		}
		for _, row := range rows {
			if row["size_bytes"] != float64(fi.Size()) || !strings.Contains(row["dtype"].(string), "Q4_0") {
				t.Errorf("bench row %v: want size_bytes %d and dtype Q4_0", row, fi.Size())
			}
			if v, _ := row["avg_ts"].(float64); v <= 0 {
				t.Errorf("bench row %v: avg_ts", row)
			}
		}
	})
}

// TestGGUFSlidingWindow: --sliding-window sets a window on a GGUF file
// that records none: with a window of 4 tokens, the logits of the first 4
// positions (which see the whole prefix either way) are those of full
// attention, bit for bit, and every later position's differ; info shows
// the window.
func TestGGUFSlidingWindow(t *testing.T) {
	file := ggufFixture("Q4_0.gguf")
	if info := infoJSON(t, file); info["sliding_window"] != 0.0 {
		t.Fatalf("the fixture records a window: %v", info["sliding_window"])
	}
	if info := infoJSON(t, file, "--sliding-window", "4"); info["sliding_window"] != 4.0 {
		t.Errorf("info --sliding-window 4: sliding_window %v", info["sliding_window"])
	}
	r := gale(t, "info", "-m", file, "--sliding-window", "4")
	wantOK(t, r, "info")
	if !strings.Contains(r.stdout, "sliding window:    4") {
		t.Errorf("info --sliding-window 4:\n%s", r.stdout)
	}
	// Both in chunks of 4 (a window of 4 prefills no more at once), so
	// that the first positions run the same kernels on the same rows.
	full, _ := scoreLogits(t, file, "--chunk", "4")
	win, _ := scoreLogits(t, file, "--chunk", "4", "--sliding-window", "4")
	least := math.Inf(1)
	for p := range full {
		d := maxDiff(t, full[p:p+1], win[p:p+1])
		if p < 4 && d != 0 {
			t.Errorf("position %d: logits differ by %g with a window of 4, though it sees all %d tokens", p, d, p+1)
		}
		if p >= 4 {
			least = min(least, d)
			if d < 1e-3 {
				t.Errorf("position %d: the window of 4 changed the logits by only %g", p, d)
			}
		}
	}
	t.Logf("window 4 against full attention: every position from 4 on moves a logit by at least %.3f", least)
	wantError(t, gale(t, "generate", "-m", file, "--sliding-window", "-1", "--tokens", "1"), 2, "--sliding-window")
}

// TestGGUFQuantize: both forms of `gale quantize` write the same file,
// whose type mix is llama-quantize's and whose logits are within the
// tolerance of the reference of llama-quantize's file of that type; a GGUF
// source is requantized; usage errors exit 2 writing nothing, runtime
// errors exit 1.
func TestGGUFQuantize(t *testing.T) {
	ref := loadTinyLlamaRef(t)
	hf := ggufFixture("hf")
	dir := t.TempDir()
	a := filepath.Join(dir, "a.gguf")
	b := filepath.Join(dir, "b.gguf")
	args := []string{"quantize", "-m", hf, "-o", a, "--type", "q4_k_m"}
	r := gale(t, args...)
	wantOK(t, r, args...)
	if !strings.Contains(r.stderr, "wrote "+a) || r.stdout != "" {
		t.Errorf("quantize said %q on stderr, %q on stdout", r.stderr, r.stdout)
	}
	args = []string{"quantize", hf, b, "Q4_K_M"}
	wantOK(t, gale(t, args...), args...)
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if len(ab) == 0 || !bytes.Equal(ab, bb) {
		t.Errorf("the -m/-o/--type form wrote %d bytes, the positional form %d, not the same", len(ab), len(bb))
	}
	mix := func(m map[string]any) string {
		js, _ := json.Marshal(m["type_mix"])
		return string(js)
	}
	info := infoJSON(t, a)
	if fix := infoJSON(t, ggufFixture("Q4_K_M.gguf")); mix(info) != mix(fix) || info["file_type"] != "Q4_K_M" {
		t.Errorf("type mix %s (%v), llama-quantize's %s", mix(info), info["file_type"], mix(fix))
	}
	got, _ := scoreLogits(t, a)
	want := readLogitsST(t, ggufFixture("Q4_K_M.logits.safetensors"))
	d, tol := maxDiff(t, got, want), quantTolerance(ref.Files["Q4_K_M"].LogitAbsMax)
	t.Logf("gale quantize q4_k_m: worst logit error %.4f against the Q4_K_M reference (tolerance %.4f)", d, tol)
	if d > tol {
		t.Errorf("the quantized file's logits differ from the Q4_K_M reference by %.4f (tolerance %.4f)", d, tol)
	}

	// Requantizing a GGUF file (F32, as llama.cpp's converter wrote it).
	c := filepath.Join(dir, "c.gguf")
	args = []string{"quantize", ggufFixture("F32.gguf"), c, "q8_0"}
	wantOK(t, gale(t, args...), args...)
	if info, fix := infoJSON(t, c), infoJSON(t, ggufFixture("Q8_0.gguf")); mix(info) != mix(fix) {
		t.Errorf("requantized type mix %s, llama-quantize's %s", mix(info), mix(fix))
	}

	out := filepath.Join(dir, "never.gguf")
	for _, u := range []struct {
		name    string
		args    []string
		mention string
	}{
		{"missing-type", []string{"quantize", "-m", hf, "-o", out}, "needs a type"},
		{"unknown-type", []string{"quantize", "-m", hf, "-o", out, "--type", "q9_9"}, `"q9_9"`},
		{"unknown-type-positional", []string{"quantize", hf, out, "Q9_9"}, `"Q9_9"`},
		{"mixed-m", []string{"quantize", hf, out, "Q4_0", "-m", hf}, "not both"},
		{"mixed-type", []string{"quantize", hf, out, "Q4_0", "--type", "q4_0"}, "not both"},
		{"mixed-o", []string{"quantize", "-o", out, hf, out, "Q4_0"}, "not both"},
		{"two-arguments", []string{"quantize", hf, out}, "SRC OUT TYPE"},
		{"four-arguments", []string{"quantize", hf, out, "Q4_0", "extra"}, "4"},
		{"missing-output", []string{"quantize", "-m", hf, "--type", "q4_0"}, "-o"},
		{"missing-source", []string{"quantize", "-o", out, "--type", "q4_0"}, "-m"},
		{"nothing", []string{"quantize"}, "-m SRC"},
	} {
		t.Run("usage-"+u.name, func(t *testing.T) {
			wantError(t, gale(t, u.args...), 2, u.mention)
		})
	}
	missing := filepath.Join(dir, "nope")
	truncated := filepath.Join(dir, "truncated.gguf")
	if err := os.WriteFile(truncated, ab[:len(ab)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		name    string
		args    []string
		mention string
	}{
		{"missing-source", []string{"quantize", "-m", missing, "-o", out, "--type", "q4_0"}, missing},
		{"truncated-source", []string{"quantize", truncated, out, "Q4_0"}, truncated},
		{"output-in-missing-dir", []string{"quantize", hf, filepath.Join(missing, "x.gguf"), "Q4_0"}, filepath.Join(missing, "x.gguf")},
		{"output-a-directory", []string{"quantize", hf, dir, "Q4_0"}, "is a directory"},
	} {
		t.Run("runtime-"+u.name, func(t *testing.T) {
			wantError(t, gale(t, u.args...), 1, u.mention)
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed quantize left %s behind", out)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("a failed quantize left %s behind", e.Name())
		}
	}
}

// TestGGUFLargeFileMapped: `gale info` on a 165 MB GGUF file (the small
// shape at Q8_0, written by gale synth) maps it and reads only the header:
// its peak RSS stays far below the file size. generate then runs from the
// mapping.
func TestGGUFLargeFileMapped(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 165 MB GGUF file")
	}
	file := filepath.Join(t.TempDir(), "small.gguf")
	a := []string{"synth", "--shape", "small", "--dtype", "q8_0", "-o", file, "--seed", "5"}
	wantOK(t, gale(t, a...), a...)
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() < 150<<20 {
		t.Fatalf("synth wrote %d bytes, want a file of at least 150 MB", fi.Size())
	}
	t0 := time.Now()
	r := gale(t, "info", "-m", file)
	wantOK(t, r, "info")
	t.Logf("gale info on a %d MB GGUF file: %v, peak RSS %d MB", fi.Size()>>20, time.Since(t0).Round(time.Millisecond), r.maxRSS>>20)
	if !strings.Contains(r.stdout, "Q8_0 58 tensors") {
		t.Errorf("info:\n%s", r.stdout)
	}
	if r.maxRSS == 0 {
		t.Skip("no rusage on this platform")
	}
	if r.maxRSS > fi.Size()/4 {
		t.Errorf("gale info on a %d-byte file peaked at %d bytes resident: the weights were read", fi.Size(), r.maxRSS)
	}
	a = []string{"generate", "-m", file, "--tokens", "1,2,3", "-n", "2", "--json"}
	r = gale(t, a...)
	wantOK(t, r, a...)
}
