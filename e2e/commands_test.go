package e2e

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gale-ai/gale/tokenizer"
)

// vector is one line of mistral-v0.1/vectors.jsonl (SentencePiece 0.1.97).
type vector struct {
	Text    string  `json:"text"`
	IDs     []int   `json:"ids"`
	Decoded *string `json:"decoded"`
}

func loadVectors(t *testing.T, n int) []vector {
	t.Helper()
	f, err := os.Open(testdata("mistral-v0.1", "vectors.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vector
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() && len(out) < n {
		var v vector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestTokenize: gale tokenize with the genuine Mistral tokenizer gives
// SentencePiece's ids, for the text as an argument and byte for byte from
// stdin; detokenize inverts it.
func TestTokenize(t *testing.T) {
	tokModel := testdata("mistral-v0.1", "tokenizer.model")
	r := gale(t, "tokenize", "-m", tokModel, "Hello world")
	wantOK(t, r, "tokenize")
	if r.stdout != "22557 1526\n" {
		t.Errorf("tokenize \"Hello world\" = %q, want \"22557 1526\\n\"", r.stdout)
	}
	r = gale(t, "tokenize", "-m", tokModel, "--bos", "Hello", "world")
	if r.stdout != "1 22557 1526\n" {
		t.Errorf("tokenize --bos = %q", r.stdout)
	}
	for i, v := range loadVectors(t, 40) {
		if v.Text == "" {
			continue
		}
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			r := galeWith(t, runOpts{stdin: v.Text}, "tokenize", "-m", tokModel)
			wantOK(t, r, "tokenize")
			if want := idsString(v.IDs, " ") + "\n"; r.stdout != want {
				t.Errorf("tokenize %q (stdin)\n got: %q\nwant: %q", v.Text, r.stdout, want)
			}
			want := v.Text
			if v.Decoded != nil {
				want = *v.Decoded
			}
			a := append([]string{"detokenize", "-m", tokModel}, strings.Fields(idsString(v.IDs, " "))...)
			r = gale(t, a...)
			wantOK(t, r, a...)
			if r.stdout != want {
				t.Errorf("detokenize %v\n got: %q\nwant: %q", v.IDs, r.stdout, want)
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		r := gale(t, "tokenize", "-m", tokModel, "--json", "Hello world")
		wantOK(t, r, "tokenize")
		var out struct {
			IDs    []int    `json:"ids"`
			Pieces []string `json:"pieces"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
			t.Fatal(err)
		}
		if idsString(out.IDs, " ") != "22557 1526" || strings.Join(out.Pieces, "") != "▁Hello▁world" {
			t.Errorf("json = %s", r.stdout)
		}
	})
	t.Run("model-dir-and-default", func(t *testing.T) {
		// The stories260k tokenizer, from the directory and embedded, gives
		// run.c's prompt ids (reference.json, BOS included).
		ref := loadReference(t)
		run := ref.Runs[ref.run(t, "Once upon a time")]
		want := idsString(run.PromptIDs, " ") + "\n"
		for _, a := range [][]string{
			{"tokenize", "--bos", "-m", storiesDir(), "Once upon a time"},
			{"tokenize", "--bos", "Once upon a time"},
		} {
			r := gale(t, a...)
			wantOK(t, r, a...)
			if r.stdout != want {
				t.Errorf("%v = %q, want %q", a, r.stdout, want)
			}
		}
	})
}

// TestInfo: gale info reports the fixture's config.json values and a
// parameter count computed from the architecture's shapes.
func TestInfo(t *testing.T) {
	a := []string{"info", "-m", storiesDir(), "--json", "--tensors"}
	r := gale(t, a...)
	wantOK(t, r, a...)
	var info map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	// config.json: dim 64, 5 layers, 8 heads, 4 KV heads, ffn 172, vocab
	// 512, context 512, tied; head_dim 8, KV dim 32.
	const dim, layers, ffn, vocab, kvDim = 64, 5, 172, 512, 32
	params := vocab*dim + layers*(2*dim*dim+2*dim*kvDim+3*dim*ffn+2*dim) + dim
	fi, err := os.Stat(filepath.Join(storiesDir(), "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"dim": 64.0, "n_layers": 5.0, "n_heads": 8.0, "n_kv_heads": 4.0, "head_dim": 8.0, "ffn_dim": 172.0,
		"vocab_size": 512.0, "context_length": 512.0, "rope_theta": 10000.0, "tied_embeddings": true,
		"n_params": float64(params), "size_bytes": float64(fi.Size()), "bos_id": 1.0, "eos_id": 2.0,
		"sliding_window": 0.0,
	}
	for k, v := range want {
		if info[k] != v {
			t.Errorf("info %s = %v, want %v", k, info[k], v)
		}
	}
	for _, k := range []string{"architecture", "dtypes", "tokenizer", "kernels", "threads"} {
		if _, ok := info[k]; !ok {
			t.Errorf("info lacks %q", k)
		}
	}
	if tensors, _ := info["tensors"].([]any); len(tensors) != 1+layers*9+1 {
		t.Errorf("--tensors lists %d tensors, want %d", len(tensors), 1+layers*9+1)
	}
	r = gale(t, "info", "-m", storiesDir())
	wantOK(t, r, "info")
	for _, s := range []string{"architecture", "parameters", "F32", "heads / KV heads", "8 / 4", "rope theta", "kernels", "threads"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("info text lacks %q:\n%s", s, r.stdout)
		}
	}
}

// logSoftmax returns log p(token) under logits, in float64.
func logSoftmax(logits []float64, token int) float64 {
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, v)
	}
	var s float64
	for _, v := range logits {
		s += math.Exp(v - m)
	}
	return logits[token] - m - math.Log(s)
}

// TestScore: the log-likelihood and perplexity of a prompt and the saved
// logits agree with run.c's logits in reference.json.
func TestScore(t *testing.T) {
	ref := loadReference(t)
	run := ref.Runs[ref.run(t, "Once upon a time")]
	var ll float64
	for i := 0; i+1 < len(run.PromptIDs); i++ {
		ll += logSoftmax(run.PromptLogits[i], run.PromptIDs[i+1])
	}
	n := len(run.PromptIDs) - 1
	ppl := math.Exp(-ll / float64(n))
	logits := filepath.Join(t.TempDir(), "logits.safetensors")
	a := []string{"score", "-m", storiesDir(), "--json", "--logits", logits, "Once upon a time"}
	r := gale(t, a...)
	wantOK(t, r, a...)
	var out struct {
		Tokens        int     `json:"tokens"`
		LogLikelihood float64 `json:"log_likelihood"`
		Perplexity    float64 `json:"perplexity"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if out.Tokens != n || math.Abs(out.LogLikelihood-ll) > 1e-3 || math.Abs(out.Perplexity-ppl)/ppl > 1e-3 {
		t.Errorf("score = %+v, want tokens %d log_likelihood %.6f perplexity %.6f", out, n, ll, ppl)
	}
	// The logits file: safetensors, tensor "logits", F32 [T, 512].
	b, err := os.ReadFile(logits)
	if err != nil {
		t.Fatal(err)
	}
	hl := binary.LittleEndian.Uint64(b)
	var hdr map[string]struct {
		DType   string  `json:"dtype"`
		Shape   []int   `json:"shape"`
		Offsets []int64 `json:"data_offsets"`
	}
	if err := json.Unmarshal(b[8:8+hl], &hdr); err != nil {
		t.Fatal(err)
	}
	e, ok := hdr["logits"]
	if !ok || e.DType != "F32" || len(e.Shape) != 2 || e.Shape[0] != len(run.PromptIDs) || e.Shape[1] != 512 {
		t.Fatalf("logits header %+v", hdr)
	}
	data := b[8+hl+uint64(e.Offsets[0]) : 8+hl+uint64(e.Offsets[1])]
	for i, row := range run.PromptLogits {
		for j, want := range row {
			got := float64(math.Float32frombits(binary.LittleEndian.Uint32(data[4*(i*512+j):])))
			if math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
				t.Fatalf("logits[%d][%d] = %g, want %g", i, j, got, want)
			}
		}
	}
	// The same from --tokens and from stdin.
	for _, c := range []runOpts{{}, {stdin: "Once upon a time\n"}} {
		a := []string{"score", "-m", storiesDir(), "--json"}
		if c.stdin == "" {
			a = append(a, "--tokens", idsString(run.PromptIDs, ","))
		}
		r := galeWith(t, c, a...)
		wantOK(t, r, a...)
		var o2 struct {
			LogLikelihood float64 `json:"log_likelihood"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &o2); err != nil || math.Abs(o2.LogLikelihood-ll) > 1e-3 {
			t.Errorf("%v: %s (want log_likelihood %.6f)", a, r.stdout, ll)
		}
	}
}

// TestChat: the rendered prompt ids of mistral-common's sample
// conversation are its reference ids; on stories260k, --messages --json
// prints a reply and renders exactly tokenizer.EncodeChat.
func TestChat(t *testing.T) {
	sample := testdata("mistral-v0.1", "chat-sample", "no_tools.sample.json")
	a := []string{"chat", "--dry-run", "-m", testdata("mistral-v0.1", "tokenizer.model"), "--messages", sample}
	r := gale(t, a...)
	wantOK(t, r, a...)
	b, err := os.ReadFile(testdata("mistral-v0.1", "chat-sample", "no_tools.tokens_v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want struct {
		Tokens []int `json:"tokens"`
	}
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(r.stdout); got != idsString(want.Tokens, " ") {
		t.Errorf("chat --dry-run ids\n got: %s\nwant: %s", got, idsString(want.Tokens, " "))
	}

	msgs := []tokenizer.Message{
		{Role: "user", Content: "Tell me a story about a cat."},
		{Role: "assistant", Content: "Once upon a time there was a cat."},
		{Role: "user", Content: "What was its name?"},
	}
	file := filepath.Join(t.TempDir(), "conv.json")
	jb, _ := json.Marshal(msgs)
	if err := os.WriteFile(file, jb, 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(filepath.Join(storiesDir(), "tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	wantIDs, err := tok.EncodeChat(msgs)
	if err != nil {
		t.Fatal(err)
	}
	a = []string{"chat", "--dry-run", "-m", storiesDir(), "--messages", file}
	r = gale(t, a...)
	wantOK(t, r, a...)
	if got := strings.TrimSpace(r.stdout); got != idsString(wantIDs, " ") {
		t.Errorf("stories260k chat ids\n got: %s\nwant: %s", got, idsString(wantIDs, " "))
	}
	for _, o := range []struct {
		opts runOpts
		args []string
	}{
		{runOpts{}, []string{"chat", "-m", storiesDir(), "--messages", file, "--json", "-n", "20", "-s", "7"}},
		{runOpts{stdin: string(jb)}, []string{"chat", "-m", storiesDir(), "--messages", "-", "--json", "-n", "20", "-s", "7"}},
	} {
		r = galeWith(t, o.opts, o.args...)
		wantOK(t, r, o.args...)
		var reply struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &reply); err != nil {
			t.Fatalf("%v\n%s", err, r.stdout)
		}
		if reply.Role != "assistant" || strings.TrimSpace(reply.Content) == "" {
			t.Errorf("reply %+v", reply)
		}
	}
	// Plain text mode prints only the reply.
	a = []string{"chat", "-m", storiesDir(), "--messages", file, "-n", "10", "--temp", "0"}
	r = gale(t, a...)
	wantOK(t, r, a...)
	if strings.TrimSpace(r.stdout) == "" || strings.Contains(r.stdout, "{") {
		t.Errorf("chat reply %q", r.stdout)
	}
	// A plain message on stdin, with a system prompt.
	a = []string{"chat", "-m", storiesDir(), "--system", "You tell stories.", "--json", "-n", "8", "--dry-run"}
	r = galeWith(t, runOpts{stdin: "Tell me a story.\n"}, a...)
	wantOK(t, r, a...)
	sysIDs, err := tok.EncodeChat([]tokenizer.Message{{Role: "system", Content: "You tell stories."}, {Role: "user", Content: "Tell me a story."}})
	if err != nil {
		t.Fatal(err)
	}
	// With --json, --dry-run prints the template, the prompt and the ids.
	var dry struct {
		Template string `json:"template"`
		Prompt   string `json:"prompt"`
		IDs      []int  `json:"ids"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &dry); err != nil {
		t.Fatalf("--dry-run --json: %v\n%s", err, r.stdout)
	}
	if idsString(dry.IDs, " ") != idsString(sysIDs, " ") || dry.Template != "mistral-v1" ||
		dry.Prompt != "<s> [INST] You tell stories.\n\nTell me a story. [/INST]" {
		t.Errorf("--system with stdin: %+v\nwant ids %v", dry, sysIDs)
	}
	// A conversation longer than the context drops its oldest turns and
	// says so on stderr.
	var long []tokenizer.Message
	for i := 0; i < 30; i++ {
		long = append(long, tokenizer.Message{Role: "user", Content: "Tell me about the big red ball and the little cat."},
			tokenizer.Message{Role: "assistant", Content: "The ball was red and the cat was happy."})
	}
	long = append(long, tokenizer.Message{Role: "user", Content: "And then?"})
	jb, _ = json.Marshal(long)
	a = []string{"chat", "-m", storiesDir(), "--messages", "-", "--json", "-n", "16", "-c", "256"}
	r = galeWith(t, runOpts{stdin: string(jb)}, a...)
	wantOK(t, r, a...)
	if !strings.Contains(r.stderr, "dropped") {
		t.Errorf("no notice of dropped turns on stderr: %q", r.stderr)
	}
}

// TestBenchAndSynth: bench runs synthetic and real models and reports
// llama-bench's fields; synth writes a loadable checkpoint.
func TestBenchAndSynth(t *testing.T) {
	a := []string{"bench", "--synthetic", "tiny", "--dtype", "f32", "-p", "16", "-n", "8", "-r", "2", "-t", "1,2", "--json"}
	r := gale(t, a...)
	wantOK(t, r, a...)
	var rows []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4 (2 thread counts x pp16, tg8)", len(rows))
	}
	tests := map[string]bool{}
	for _, row := range rows {
		for _, k := range []string{"model", "dtype", "size_bytes", "n_params", "threads", "test", "n_prompt", "n_gen", "avg_ts", "stddev_ts", "samples_ts", "peak_rss_bytes"} {
			if _, ok := row[k]; !ok {
				t.Errorf("bench row lacks %q: %v", k, row)
			}
		}
		tests[row["test"].(string)] = true
		if s, _ := row["samples_ts"].([]any); len(s) != 2 {
			t.Errorf("samples_ts %v, want 2 samples", row["samples_ts"])
		}
		if v, _ := row["avg_ts"].(float64); v <= 0 {
			t.Errorf("avg_ts %v", row["avg_ts"])
		}
		// tg rows give the weight bytes streamed per second: at most the
		// whole file per token; pp rows the matrix GFLOP/s.
		avg, _ := row["avg_ts"].(float64)
		size, _ := row["size_bytes"].(float64)
		gbps, _ := row["gbps"].(float64)
		gflops, _ := row["gflops"].(float64)
		if row["test"] == "tg8" && (gbps <= 0 || gbps > avg*size/1e9*1.0001) {
			t.Errorf("tg row: gbps %v for %v tok/s of a %v-byte model", gbps, avg, size)
		}
		if row["test"] == "pp16" && gflops <= 0 {
			t.Errorf("pp row: gflops %v", gflops)
		}
	}
	if !tests["pp16"] || !tests["tg8"] {
		t.Errorf("tests %v, want pp16 and tg8", tests)
	}
	a = []string{"bench", "-m", storiesDir(), "-p", "32", "-n", "8", "-r", "1", "-t", "1", "--mem-bw"}
	r = gale(t, a...)
	wantOK(t, r, a...)
	for _, s := range []string{"| model |", "pp32", "tg8", "±", "| memory read |", "mem_read", "GB/s", "GFLOP/s"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("bench table lacks %q:\n%s", s, r.stdout)
		}
	}

	dir := filepath.Join(t.TempDir(), "synth")
	a = []string{"synth", "-o", dir, "--shape", "tiny", "--dtype", "f16", "--seed", "3"}
	r = gale(t, a...)
	wantOK(t, r, a...)
	a = []string{"info", "-m", dir, "--json"}
	r = gale(t, a...)
	wantOK(t, r, a...)
	var info struct {
		DTypes []string `json:"dtypes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil || len(info.DTypes) == 0 || info.DTypes[0] != "F16" {
		t.Errorf("synth f16 info: %s (%v)", r.stdout, err)
	}
	a = []string{"generate", "-m", dir, "--tokens", "1,2,3", "-n", "4", "--json"}
	r = gale(t, a...)
	wantOK(t, r, a...)
}
