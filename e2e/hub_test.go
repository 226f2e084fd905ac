package e2e

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// miniHub is a Hugging Face-compatible endpoint for one commit of some
// repositories: the revision and tree API routes, resolve/{rev}/{file}
// with the hub's headers, LFS files redirected to /cdn/{sha256} and
// served with Range support. (internal/hub's tests have the full fake
// with faults; this one is what the binary talks to.)
type miniHub struct {
	srv    *httptest.Server
	commit string
	repos  map[string]map[string][]byte // repo -> file -> bytes
	lfs    func(name string) bool
	slow   time.Duration   // pause per 64 KiB of CDN body (to watch a progress bar)
	gated  map[string]bool // repositories that need "Bearer secret"
}

func hexSHA256(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

func gitSHA1(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func newMiniHub(t *testing.T, commit string, repos map[string]map[string][]byte) *miniHub {
	h := &miniHub{commit: commit, repos: repos, lfs: func(n string) bool {
		return strings.HasSuffix(n, ".safetensors") || strings.HasSuffix(n, ".gguf") || strings.HasSuffix(n, ".model")
	}}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *miniHub) serve(w http.ResponseWriter, r *http.Request) {
	p := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(p) >= 2 && p[0] != "cdn" {
		repo := p[0] + "/" + p[1]
		if p[0] == "api" && len(p) >= 4 {
			repo = p[2] + "/" + p[3]
		}
		if h.gated[repo] && r.Header.Get("Authorization") != "Bearer secret" {
			w.Header().Set("X-Error-Code", "GatedRepo")
			http.Error(w, `{"error":"Access to model `+repo+` is restricted."}`, http.StatusUnauthorized)
			return
		}
	}
	switch {
	case len(p) == 2 && p[0] == "cdn":
		for _, files := range h.repos {
			for _, b := range files {
				if hexSHA256(b) == p[1] {
					var out http.ResponseWriter = w
					if h.slow > 0 {
						out = &slowWriter{w, h.slow}
					}
					http.ServeContent(out, r, "", time.Time{}, strings.NewReader(string(b)))
					return
				}
			}
		}
		http.NotFound(w, r)
	case len(p) == 6 && p[0] == "api" && p[1] == "models" && (p[4] == "revision" || p[4] == "tree"):
		files, ok := h.repos[p[2]+"/"+p[3]]
		if !ok || (p[5] != "main" && p[5] != h.commit) {
			w.Header().Set("X-Error-Code", "RepoNotFound")
			http.Error(w, `{"error":"Repository not found"}`, http.StatusNotFound)
			return
		}
		var names []string
		for n := range files {
			names = append(names, n)
		}
		sort.Strings(names)
		w.Header().Set("Content-Type", "application/json")
		if p[4] == "revision" {
			var sib []map[string]string
			for _, n := range names {
				sib = append(sib, map[string]string{"rfilename": n})
			}
			json.NewEncoder(w).Encode(map[string]any{"id": p[2] + "/" + p[3], "sha": h.commit, "siblings": sib})
			return
		}
		var tree []map[string]any
		for _, n := range names {
			e := map[string]any{"type": "file", "path": n, "oid": gitSHA1(files[n]), "size": len(files[n])}
			if h.lfs(n) {
				e["lfs"] = map[string]any{"oid": hexSHA256(files[n]), "size": len(files[n]), "pointerSize": 134}
				e["size"] = 134
			}
			tree = append(tree, e)
		}
		json.NewEncoder(w).Encode(tree)
	case len(p) >= 5 && p[2] == "resolve":
		files := h.repos[p[0]+"/"+p[1]]
		name := strings.Join(p[4:], "/")
		b, ok := files[name]
		w.Header().Set("X-Repo-Commit", h.commit)
		if !ok {
			w.Header().Set("X-Error-Code", "EntryNotFound")
			http.Error(w, "Entry not found", http.StatusNotFound)
			return
		}
		if h.lfs(name) {
			w.Header().Set("X-Linked-Etag", `"`+hexSHA256(b)+`"`)
			w.Header().Set("X-Linked-Size", strconv.Itoa(len(b)))
			http.Redirect(w, r, h.srv.URL+"/cdn/"+hexSHA256(b), http.StatusFound)
			return
		}
		w.Header().Set("ETag", `"`+gitSHA1(b)+`"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		if r.Method != http.MethodHead {
			w.Write(b)
		}
	default:
		http.NotFound(w, r)
	}
}

// slowWriter paces a response body.
type slowWriter struct {
	http.ResponseWriter
	pause time.Duration
}

func (s *slowWriter) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		k := min(len(b), 64<<10)
		m, err := s.ResponseWriter.Write(b[:k])
		n += m
		if err != nil {
			return n, err
		}
		s.ResponseWriter.(http.Flusher).Flush()
		time.Sleep(s.pause)
		b = b[k:]
	}
	return n, nil
}

func readFixture(t *testing.T, p ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeOllamaModel writes blobs and a manifest into an ollama store.
func writeOllamaModel(t *testing.T, root, name, tag string, layers [][2]string, blobs map[string][]byte) {
	t.Helper()
	var ls []map[string]any
	for _, l := range layers {
		b := blobs[l[1]]
		p := filepath.Join(root, "blobs", "sha256-"+hexSHA256(b))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		ls = append(ls, map[string]any{"mediaType": l[0], "digest": "sha256:" + hexSHA256(b), "size": len(b)})
	}
	m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "layers": ls})
	p := filepath.Join(root, "manifests", "registry.ollama.ai", "library", name, tag)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, m, 0o644); err != nil {
		t.Fatal(err)
	}
}

const hubCommit = "5c1ab5a0a3f6c2f8d1e2b3a4c5d6e7f809182736"

// TestPullThenGenerate: gale pull fetches a safetensors repository (the
// embedded stories260k files) and a GGUF quantization from a local
// hub, and -m then names them the way the hub does.
func TestPullThenGenerate(t *testing.T) {
	stories := map[string][]byte{
		"config.json":       readFixture(t, storiesDir(), "config.json"),
		"model.safetensors": readFixture(t, storiesDir(), "model.safetensors"),
		"tokenizer.model":   readFixture(t, storiesDir(), "tokenizer.model"),
		"pytorch_model.bin": []byte("a pickled duplicate gale must not fetch"),
		"README.md":         []byte("# stories260k\n"),
	}
	gguf := map[string][]byte{
		"tiny-llama.F16.gguf":  readFixture(t, repoRoot, "testdata", "gguf", "tiny-llama", "F16.gguf"),
		"tiny-llama.BF16.gguf": readFixture(t, repoRoot, "testdata", "gguf", "tiny-llama", "BF16.gguf"),
	}
	h := newMiniHub(t, hubCommit, map[string]map[string][]byte{"karpathy/stories260k": stories, "gale-test/tiny-llama-GGUF": gguf})
	cache := filepath.Join(t.TempDir(), "hub")
	ollama := filepath.Join(t.TempDir(), "ollama")
	env := []string{"HF_HUB_CACHE=" + cache, "HF_ENDPOINT=" + h.srv.URL, "OLLAMA_MODELS=" + ollama, "HF_TOKEN="}
	run := func(a ...string) result {
		t.Helper()
		return galeWith(t, runOpts{env: env}, a...)
	}

	r := run("pull", "karpathy/stories260k")
	wantOK(t, r, "pull")
	snap := filepath.Join(cache, "models--karpathy--stories260k", "snapshots", hubCommit)
	if r.stdout != snap+"\n" {
		t.Errorf("pull printed %q, want the snapshot %s", r.stdout, snap)
	}
	// Off a terminal: one summary line, no progress bar.
	if !strings.Contains(r.stderr, "3 files") || strings.Count(r.stderr, "\n") != 1 || strings.Contains(r.stderr, "\r") {
		t.Errorf("pull stderr %q, want one summary line", r.stderr)
	}
	for n, b := range stories {
		got, err := os.ReadFile(filepath.Join(snap, n))
		want := n != "pytorch_model.bin" && n != "README.md"
		if want && (err != nil || string(got) != string(b)) {
			t.Errorf("%s: not pulled intact (%v)", n, err)
		}
		if !want && err == nil {
			t.Errorf("%s was pulled", n)
		}
	}
	if b, err := os.ReadFile(filepath.Join(cache, "models--karpathy--stories260k", "refs", "main")); err != nil || string(b) != hubCommit {
		t.Errorf("refs/main = %q, %v", b, err)
	}

	// The pulled model generates llama2.c's greedy text.
	ref := loadReference(t)
	run0 := ref.Runs[ref.run(t, "Once upon a time")]
	a := args([]string{"generate", "-m", "karpathy/stories260k", "-p", "Once upon a time", "-n", strconv.Itoa(len(run0.GreedyIDs))}, greedy...)
	r = run(a...)
	wantOK(t, r, a...)
	if r.stdout != run0.GreedyText {
		t.Errorf("generate -m karpathy/stories260k:\n got %q\nwant %q", r.stdout, run0.GreedyText)
	}
	r = run("generate", "-m", "karpathy/stories260k", "-n", "4", "--temp", "0", "-p", "Once")
	wantOK(t, r, "generate -n 4")
	if r.stdout == "" {
		t.Error("generate -n 4 printed nothing")
	}

	// tokenize takes names too (the snapshot's tokenizer.model).
	a = []string{"tokenize", "-m", "karpathy/stories260k", "Once upon a time"}
	r = run(a...)
	wantOK(t, r, a...)
	if want := idsString(run0.PromptIDs[1:], " ") + "\n"; r.stdout != want {
		t.Errorf("tokenize -m karpathy/stories260k: %q, want %q", r.stdout, want)
	}
	wantError(t, galeWith(t, runOpts{env: append(env, "HF_HUB_OFFLINE=1")}, "pull", "karpathy/stories260k"), 1, "HF_HUB_OFFLINE")
	// chat --dry-run renders with the snapshot's tokenizer as with the directory's.
	byName := run("chat", "--dry-run", "-m", "karpathy/stories260k", "-p", "Hi")
	wantOK(t, byName, "chat --dry-run -m karpathy/stories260k")
	if byDir := run("chat", "--dry-run", "-m", storiesDir(), "-p", "Hi"); byName.stdout != byDir.stdout || byName.stdout == "" {
		t.Errorf("chat --dry-run by name %q, by directory %q", byName.stdout, byDir.stdout)
	}

	// bench takes names too.
	r = run("bench", "-m", "karpathy/stories260k", "-p", "8", "-n", "4", "-r", "1", "-t", "1")
	wantOK(t, r, "bench -m karpathy/stories260k")
	if !strings.Contains(r.stdout, "karpathy/stories260k") {
		t.Errorf("bench table does not name the model:\n%s", r.stdout)
	}

	// info says where the model was found.
	r = run("info", "-m", "karpathy/stories260k@main")
	wantOK(t, r, "info")
	if !strings.Contains(r.stdout, "found in:") || !strings.Contains(r.stdout, "Hugging Face cache "+filepath.Join(cache, "models--karpathy--stories260k")) ||
		!strings.Contains(r.stdout, "karpathy/stories260k@main") {
		t.Errorf("info:\n%s", r.stdout)
	}

	// A GGUF repository needs a quantization; with one, -m loads it.
	wantError(t, run("pull", "gale-test/tiny-llama-GGUF"), 1, "GGUF repository", ":QUANT", "tiny-llama.F16.gguf")
	r = run("pull", "gale-test/tiny-llama-GGUF:F16")
	wantOK(t, r, "pull :F16")
	f16 := filepath.Join(cache, "models--gale-test--tiny-llama-GGUF", "snapshots", hubCommit, "tiny-llama.F16.gguf")
	if r.stdout != f16+"\n" {
		t.Errorf("pull :F16 printed %q, want %s", r.stdout, f16)
	}
	byName = run("generate", "-m", "gale-test/tiny-llama-GGUF:F16", "--tokens", "1,60,22", "-n", "6", "--temp", "0", "--json")
	wantOK(t, byName, "generate gguf by name")
	byPath := run("generate", "-m", filepath.Join(repoRoot, "testdata", "gguf", "tiny-llama", "F16.gguf"), "--tokens", "1,60,22", "-n", "6", "--temp", "0", "--json")
	wantOK(t, byPath, "generate gguf by path")
	if ids(t, byName.stdout) != ids(t, byPath.stdout) {
		t.Errorf("by name %s, by path %s", byName.stdout, byPath.stdout)
	}

	// Not on the hub, and not anywhere locally.
	wantError(t, run("pull", "nobody/nothing"), 1, "nobody/nothing", "404")
	wantError(t, run("generate", "-m", "nobody/nothing", "-p", "x"), 1, "not found", "looked for", filepath.Join(cache, "models--nobody--nothing"), filepath.Join(ollama, "manifests"))
	wantError(t, run("pull", "just-a-name"), 2, "org/name")

	// An ollama model beside them; gale list shows both stores.
	writeOllamaModel(t, ollama, "tiny", "latest",
		[][2]string{{"application/vnd.ollama.image.model", "gguf"}, {"application/vnd.ollama.image.params", "params"}},
		map[string][]byte{"gguf": gguf["tiny-llama.BF16.gguf"], "params": []byte(`{"num_predict":3,"seed":42,"temperature":0,"num_ctx":64}`)})
	r = run("list")
	wantOK(t, r, "list")
	t.Logf("gale list:\n%s", r.stdout)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	wantLines := [][]string{
		{"NAME", "SIZE", "STORE", "NOTE"},
		{"gale-test/tiny-llama-GGUF:tiny-llama.F16.gguf", "3.2", "MB", "huggingface", "-"},
		{"karpathy/stories260k", "1.1", "MB", "huggingface", "-"},
		{"tiny:latest", "3.2", "MB", "ollama", "-"},
	}
	if len(lines) != len(wantLines) {
		t.Fatalf("list has %d lines, want %d:\n%s", len(lines), len(wantLines), r.stdout)
	}
	for i, w := range wantLines {
		if got := strings.Fields(lines[i]); strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("list line %d: %q, want %q", i, lines[i], strings.Join(w, " "))
		}
	}
	r = run("list", "--json")
	wantOK(t, r, "list --json")
	var ents []struct {
		Name string `json:"name"`
		Size int64  `json:"size"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &ents); err != nil || len(ents) != 3 {
		t.Fatalf("list --json: %s (%v)", r.stdout, err)
	}
	storiesSize := int64(len(stories["config.json"]) + len(stories["model.safetensors"]) + len(stories["tokenizer.model"]))
	if ents[1].Size != storiesSize || ents[0].Size != int64(len(gguf["tiny-llama.F16.gguf"])) {
		t.Errorf("sizes %+v, want %d and %d", ents, len(gguf["tiny-llama.F16.gguf"]), storiesSize)
	}

	// The ollama model's params are gale's defaults for it; flags win.
	var out struct {
		Tokens int    `json:"tokens"`
		Seed   uint64 `json:"seed"`
	}
	r = run("generate", "-m", "tiny", "--tokens", "1,60", "--json")
	wantOK(t, r, "generate -m tiny")
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Tokens != 3 || out.Seed != 42 {
		t.Errorf("ollama params not applied: %s (%v)", r.stdout, err)
	}
	r = run("generate", "-m", "tiny:latest", "--tokens", "1,60", "--json", "-n", "5", "-s", "7")
	wantOK(t, r, "generate -m tiny -n 5 -s 7")
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || out.Tokens != 5 || out.Seed != 7 {
		t.Errorf("flags did not override the params: %s (%v)", r.stdout, err)
	}
	r = run("generate", "-m", "tiny", "--tokens", "1,60", "-v", "-n", "1")
	wantOK(t, r, "generate -m tiny -v")
	if !strings.Contains(r.stderr, "context 64") || !strings.Contains(r.stderr, "ollama store") {
		t.Errorf("num_ctx not applied or source not shown:\n%s", r.stderr)
	}
	r = run("info", "-m", "tiny")
	wantOK(t, r, "info -m tiny")
	if v := infoRow(r.stdout, "model defaults"); v != "temperature 0, num_predict 3, num_ctx 64, seed 42" {
		t.Errorf("info -m tiny: model defaults %q\n%s", v, r.stdout)
	}
	if v := infoRow(r.stdout, "found in"); !strings.HasPrefix(v, "ollama store "+ollama+", manifest ") {
		t.Errorf("info -m tiny: found in %q", v)
	}
	wantError(t, run("generate", "-m", "tiny:nosuchtag", "-p", "x"), 1, "no tag nosuchtag", "latest")
}

// ids extracts the generated ids of generate --json.
func ids(t *testing.T, s string) string {
	t.Helper()
	var out struct {
		IDs []int `json:"ids"`
	}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return fmt.Sprint(out.IDs)
}

// TestOllamaChatLayers: chat with an ollama model uses its system layer
// (unless --system is given) and, the GGUF having no chat template of its
// own, its template layer.
func TestOllamaChatLayers(t *testing.T) {
	ollama := filepath.Join(t.TempDir(), "ollama")
	gguf := readFixture(t, repoRoot, "testdata", "gguf", "tiny-llama", "F16.gguf")
	writeOllamaModel(t, ollama, "tiny-chat", "latest",
		[][2]string{{"application/vnd.ollama.image.model", "gguf"}, {"application/vnd.ollama.image.template", "tmpl"}, {"application/vnd.ollama.image.system", "sys"}},
		map[string][]byte{"gguf": gguf, "tmpl": []byte("[INST] {{ if .System }}{{ .System }} {{ end }}{{ .Prompt }} [/INST]"), "sys": []byte("You are terse.")})
	env := []string{"OLLAMA_MODELS=" + ollama, "HF_HUB_CACHE=" + filepath.Join(t.TempDir(), "hf")}
	tok := filepath.Join(repoRoot, "testdata", "gguf", "tiny-llama", "hf", "tokenizer.model")
	promptTokens := func(stderr string) int {
		for _, l := range strings.Split(stderr, "\n") {
			if i := strings.Index(l, "prompt eval time"); i >= 0 {
				f := strings.Fields(l[strings.Index(l, "/")+1:])
				n, err := strconv.Atoi(f[0])
				if err == nil {
					return n
				}
			}
		}
		t.Fatalf("no prompt eval line in %q", stderr)
		return 0
	}
	for _, c := range []struct {
		flags []string
		text  string
	}{
		{nil, "[INST] You are terse. Hi [/INST]"},
		{[]string{"--system", "Answer in French."}, "[INST] Answer in French. Hi [/INST]"},
	} {
		a := append([]string{"chat", "-m", "tiny-chat", "-p", "Hi", "-n", "1", "--temp", "0", "-v"}, c.flags...)
		r := galeWith(t, runOpts{env: env}, a...)
		wantOK(t, r, a...)
		want := gale(t, "tokenize", "-m", tok, "--bos", c.text)
		wantOK(t, want, "tokenize")
		if n := len(strings.Fields(want.stdout)); promptTokens(r.stderr) != n {
			t.Errorf("%v: prompt of %d tokens, want %d (%q)", c.flags, promptTokens(r.stderr), n, c.text)
		}
	}
}

// infoRow returns the value of one "key:   value" row of gale info.
func infoRow(out, key string) string {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestPullToken: a gated repository answers 401 until a token is given,
// by --token or $HF_TOKEN.
func TestPullToken(t *testing.T) {
	files := map[string][]byte{
		"config.json":       readFixture(t, storiesDir(), "config.json"),
		"model.safetensors": readFixture(t, storiesDir(), "model.safetensors"),
	}
	h := newMiniHub(t, hubCommit, map[string]map[string][]byte{"mistralai/gated": files})
	h.gated = map[string]bool{"mistralai/gated": true}
	env := func(extra ...string) []string {
		return append([]string{"HF_HUB_CACHE=" + filepath.Join(t.TempDir(), "hub"), "HF_ENDPOINT=" + h.srv.URL, "HF_TOKEN="}, extra...)
	}
	wantError(t, galeWith(t, runOpts{env: env()}, "pull", "mistralai/gated"), 1, "HTTP 401", "HF_TOKEN", "restricted")
	wantError(t, galeWith(t, runOpts{env: env()}, "pull", "mistralai/gated", "--token", "wrong"), 1, "HTTP 401")
	r := galeWith(t, runOpts{env: env()}, "pull", "mistralai/gated", "--token", "secret")
	wantOK(t, r, "pull --token")
	r = galeWith(t, runOpts{env: env("HF_TOKEN=secret")}, "pull", "mistralai/gated")
	wantOK(t, r, "pull with HF_TOKEN")
}
