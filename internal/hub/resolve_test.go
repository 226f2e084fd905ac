package hub

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// repoRoot is the module root (tests read fixtures from testdata only).
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

func fixture(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{repoRoot(t)}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha256hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// hfTree builds a models--org--name folder the way huggingface_hub does:
// each file a blob named by its sha256 in blobs/, a relative symlink to
// it in snapshots/<commit>/, and refs/<rev> holding the commit.
func hfTree(t *testing.T, cache, repo, commit string, refs []string, files map[string][]byte) string {
	t.Helper()
	dir := filepath.Join(cache, "models--"+strings.ReplaceAll(repo, "/", "--"))
	for name, b := range files {
		blob := filepath.Join(dir, "blobs", sha256hex(b))
		writeFile(t, blob, b)
		link := filepath.Join(dir, "snapshots", commit, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			t.Fatal(err)
		}
		up := strings.Repeat("../", 2+strings.Count(name, "/"))
		if err := os.Symlink(up+"blobs/"+sha256hex(b), link); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range refs {
		writeFile(t, filepath.Join(dir, "refs", r), []byte(commit))
	}
	return dir
}

// ollamaTree writes blobs and a manifest under root and returns the
// manifest path.
func ollamaTree(t *testing.T, root, host, ns, name, tag string, layers map[string][]byte) string {
	t.Helper()
	type layer struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int64  `json:"size"`
	}
	var m struct {
		SchemaVersion int     `json:"schemaVersion"`
		MediaType     string  `json:"mediaType"`
		Config        layer   `json:"config"`
		Layers        []layer `json:"layers"`
	}
	m.SchemaVersion = 2
	m.MediaType = "application/vnd.docker.distribution.manifest.v2+json"
	cfg := []byte(`{"model_format":"gguf","model_family":"llama"}`)
	writeFile(t, filepath.Join(root, "blobs", "sha256-"+sha256hex(cfg)), cfg)
	m.Config = layer{"application/vnd.docker.container.image.v1+json", "sha256:" + sha256hex(cfg), int64(len(cfg))}
	for _, mt := range []string{MediaModel, MediaTemplate, MediaSystem, MediaParams, "application/vnd.ollama.image.license"} {
		b, ok := layers[mt]
		if !ok {
			continue
		}
		writeFile(t, filepath.Join(root, "blobs", "sha256-"+sha256hex(b)), b)
		m.Layers = append(m.Layers, layer{mt, "sha256:" + sha256hex(b), int64(len(b))})
	}
	js, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "manifests", host, ns, name, tag)
	writeFile(t, p, js)
	return p
}

const (
	commitA = "0123456789abcdef0123456789abcdef01234567"
	commitB = "fedcba9876543210fedcba9876543210fedcba98"
)

// stores builds the trees every resolution test uses.
type stores struct {
	dirs            Dirs
	hfSafe, hfGGUF  string // repo folders
	ollamaModelBlob string
	q4, q8          []byte
}

func buildStores(t *testing.T) *stores {
	t.Helper()
	root := t.TempDir()
	s := &stores{dirs: Dirs{HFCache: filepath.Join(root, "hf", "hub"), Ollama: filepath.Join(root, "ollama", "models")}}
	st := func(name string) []byte { return fixture(t, "model", "embedded", "stories260k", name) }
	s.hfSafe = hfTree(t, s.dirs.HFCache, "karpathy/stories260k", commitA, []string{"main"}, map[string][]byte{
		"config.json": st("config.json"), "model.safetensors": st("model.safetensors"), "tokenizer.model": st("tokenizer.model"),
	})
	// A second snapshot of the same repo, reachable by a tag and by hash.
	hfTree(t, s.dirs.HFCache, "karpathy/stories260k", commitB, []string{"v1"}, map[string][]byte{
		"config.json": st("config.json"), "model.safetensors": st("model.safetensors"),
	})
	s.q4 = fixture(t, "testdata", "gguf", "tiny-llama", "Q4_K_M.gguf")
	s.q8 = fixture(t, "testdata", "gguf", "tiny-llama", "Q8_0.gguf")
	s.hfGGUF = hfTree(t, s.dirs.HFCache, "TheBloke/tiny-llama-GGUF", commitA, []string{"main"}, map[string][]byte{
		"tiny-llama.Q4_K_M.gguf": s.q4, "tiny-llama.Q8_0.gguf": s.q8, "README.md": []byte("# tiny\n"),
	})
	hfTree(t, s.dirs.HFCache, "solo/one-GGUF", commitA, []string{"main"}, map[string][]byte{"sub/one.Q8_0.gguf": s.q8})
	params := []byte(`{"temperature":0.3,"top_k":7,"num_ctx":128,"stop":["[INST]","</s>"],"seed":42,"num_predict":5,"mirostat":0}`)
	ollamaTree(t, s.dirs.Ollama, DefaultOllamaHost, "library", "tiny", "latest", map[string][]byte{
		MediaModel: s.q4, MediaParams: params, MediaSystem: []byte("You are terse."), MediaTemplate: []byte("[INST] {{ .Prompt }} [/INST]"),
	})
	ollamaTree(t, s.dirs.Ollama, DefaultOllamaHost, "library", "tiny", "q8", map[string][]byte{MediaModel: s.q8})
	ollamaTree(t, s.dirs.Ollama, DefaultOllamaHost, "someone", "tiny", "latest", map[string][]byte{MediaModel: s.q8})
	ollamaTree(t, s.dirs.Ollama, "example.com:5000", "team", "tiny", "v2", map[string][]byte{MediaModel: s.q4})
	s.ollamaModelBlob = filepath.Join(s.dirs.Ollama, "blobs", "sha256-"+sha256hex(s.q4))
	// An old ollama's blob name, with a colon.
	old := []byte("GGUF old-style blob")
	ollamaTree(t, s.dirs.Ollama, DefaultOllamaHost, "library", "oldstyle", "latest", map[string][]byte{MediaModel: old})
	if err := os.Rename(filepath.Join(s.dirs.Ollama, "blobs", "sha256-"+sha256hex(old)), filepath.Join(s.dirs.Ollama, "blobs", "sha256:"+sha256hex(old))); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestResolveForms(t *testing.T) {
	s := buildStores(t)
	snapA := filepath.Join(s.hfSafe, "snapshots", commitA)
	snapB := filepath.Join(s.hfSafe, "snapshots", commitB)
	ggufSnap := filepath.Join(s.hfGGUF, "snapshots", commitA)
	local := t.TempDir()
	localGGUF := filepath.Join(local, "m.gguf")
	writeFile(t, localGGUF, s.q8)
	q8blob := filepath.Join(s.dirs.Ollama, "blobs", "sha256-"+sha256hex(s.q8))
	cases := []struct {
		spec, path, source string
		gguf               bool
		content            []byte // the bytes the path must lead to (GGUF forms)
	}{
		{local, local, SourcePath, false, nil},
		{localGGUF, localGGUF, SourcePath, true, s.q8},
		{"karpathy/stories260k", snapA, SourceHF, false, nil},
		{"karpathy/stories260k@main", snapA, SourceHF, false, nil},
		{"karpathy/stories260k@v1", snapB, SourceHF, false, nil},
		{"karpathy/stories260k@" + commitB, snapB, SourceHF, false, nil},
		{"karpathy/stories260k@" + commitB[:8], snapB, SourceHF, false, nil},
		{"TheBloke/tiny-llama-GGUF:tiny-llama.Q8_0.gguf", filepath.Join(ggufSnap, "tiny-llama.Q8_0.gguf"), SourceHF, true, s.q8},
		{"TheBloke/tiny-llama-GGUF:Q4_K_M", filepath.Join(ggufSnap, "tiny-llama.Q4_K_M.gguf"), SourceHF, true, s.q4},
		{"TheBloke/tiny-llama-GGUF:q8_0", filepath.Join(ggufSnap, "tiny-llama.Q8_0.gguf"), SourceHF, true, s.q8},
		{"TheBloke/tiny-llama-GGUF@main:Q8_0", filepath.Join(ggufSnap, "tiny-llama.Q8_0.gguf"), SourceHF, true, s.q8},
		{"solo/one-GGUF", filepath.Join(s.dirs.HFCache, "models--solo--one-GGUF", "snapshots", commitA, "sub", "one.Q8_0.gguf"), SourceHF, true, s.q8},
		{"tiny", s.ollamaModelBlob, SourceOllama, true, s.q4},
		{"tiny:latest", s.ollamaModelBlob, SourceOllama, true, s.q4},
		{"tiny:q8", q8blob, SourceOllama, true, s.q8},
		{"library/tiny:q8", q8blob, SourceOllama, true, s.q8},
		{"registry.ollama.ai/library/tiny:latest", s.ollamaModelBlob, SourceOllama, true, s.q4},
		{"someone/tiny", q8blob, SourceOllama, true, s.q8},
		{"example.com:5000/team/tiny:v2", s.ollamaModelBlob, SourceOllama, true, s.q4},
		{"TINY:Latest", s.ollamaModelBlob, SourceOllama, true, s.q4},
		{"oldstyle", filepath.Join(s.dirs.Ollama, "blobs", "sha256:"+sha256hex([]byte("GGUF old-style blob"))), SourceOllama, true, []byte("GGUF old-style blob")},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.spec, "/", "_"), func(t *testing.T) {
			r, err := Resolve(c.spec, s.dirs)
			if err != nil {
				t.Fatal(err)
			}
			if r.Path != c.path || r.Source != c.source || r.GGUF != c.gguf {
				t.Fatalf("got path %s source %s gguf %v\nwant path %s source %s gguf %v", r.Path, r.Source, r.GGUF, c.path, c.source, c.gguf)
			}
			if r.Where == "" || r.Name == "" {
				t.Errorf("Where %q Name %q: want both set", r.Where, r.Name)
			}
			if c.content != nil {
				b, err := os.ReadFile(r.Path)
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != string(c.content) {
					t.Errorf("%s does not hold the expected model bytes", r.Path)
				}
			}
			if c.source == SourceHF && !strings.Contains(r.Where, s.dirs.HFCache) {
				t.Errorf("Where %q does not name the cache", r.Where)
			}
		})
	}
}

func TestResolveOllamaLayers(t *testing.T) {
	s := buildStores(t)
	r, err := Resolve("tiny", s.dirs)
	if err != nil {
		t.Fatal(err)
	}
	p := r.Params
	if p == nil {
		t.Fatal("no params")
	}
	if *p.Temperature != 0.3 || *p.TopK != 7 || *p.NumCtx != 128 || *p.Seed != 42 || *p.NumPredict != 5 ||
		strings.Join(p.Stop, "|") != "[INST]|</s>" || p.TopP != nil || strings.Join(p.Ignored, ",") != "mirostat" {
		t.Errorf("params %+v", p)
	}
	if !r.HasSystem || r.System != "You are terse." || r.Template != "[INST] {{ .Prompt }} [/INST]" {
		t.Errorf("system %q template %q", r.System, r.Template)
	}
	if !strings.Contains(r.Where, "manifests/registry.ollama.ai/library/tiny/latest") {
		t.Errorf("Where %q", r.Where)
	}
	r, err = Resolve("tiny:q8", s.dirs)
	if err != nil {
		t.Fatal(err)
	}
	if r.Params != nil || r.HasSystem || r.Template != "" {
		t.Errorf("tiny:q8 has no params/system/template layers, got %+v", r)
	}
}

func TestResolveErrors(t *testing.T) {
	s := buildStores(t)
	// A broken symlink: the blob of model.safetensors was pruned.
	broken := hfTree(t, s.dirs.HFCache, "org/broken", commitA, []string{"main"}, map[string][]byte{
		"config.json": []byte("{}"), "model.safetensors": []byte("weights"),
	})
	if err := os.Remove(filepath.Join(broken, "blobs", sha256hex([]byte("weights")))); err != nil {
		t.Fatal(err)
	}
	// refs/main names a snapshot that is not there.
	dangling := filepath.Join(s.dirs.HFCache, "models--org--dangling")
	writeFile(t, filepath.Join(dangling, "refs", "main"), []byte(commitB))
	// A manifest without a model layer, one whose model blob is gone, and
	// one whose blob is short.
	ollamaTree(t, s.dirs.Ollama, DefaultOllamaHost, "library", "nomodel", "latest", map[string][]byte{MediaSystem: []byte("hi")})
	ollamaTree(t, s.dirs.Ollama, DefaultOllamaHost, "library", "noblob", "latest", map[string][]byte{MediaModel: []byte("GGUF-gone")})
	if err := os.Remove(filepath.Join(s.dirs.Ollama, "blobs", "sha256-"+sha256hex([]byte("GGUF-gone")))); err != nil {
		t.Fatal(err)
	}
	ollamaTree(t, s.dirs.Ollama, DefaultOllamaHost, "library", "short", "latest", map[string][]byte{MediaModel: []byte("GGUF-short")})
	if err := os.WriteFile(filepath.Join(s.dirs.Ollama, "blobs", "sha256-"+sha256hex([]byte("GGUF-short"))), []byte("GG"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(s.dirs.Ollama, "manifests", DefaultOllamaHost, "library", "garbage", "latest"), []byte("{not json"))
	ollamaTree(t, s.dirs.Ollama, DefaultOllamaHost, "library", "badparams", "latest", map[string][]byte{MediaModel: s.q8, MediaParams: []byte(`{"temperature":"hot"}`)})

	cases := []struct {
		spec    string
		mention []string
	}{
		{"karpathy/stories260k@nope", []string{"revision nope", "refs: main, v1"}},
		{"TheBloke/tiny-llama-GGUF", []string{"2 GGUF files", "tiny-llama.Q4_K_M.gguf", ":QUANT"}},
		{"TheBloke/tiny-llama-GGUF:Q5_K_M", []string{"no GGUF file for quantization Q5_K_M", "tiny-llama.Q8_0.gguf"}},
		{"TheBloke/tiny-llama-GGUF:Q4_K", []string{"no GGUF file for quantization Q4_K"}},
		{"TheBloke/tiny-llama-GGUF:other.gguf", []string{"other.gguf is not in the cache"}},
		{"org/broken", []string{"broken symlink", "model.safetensors", "gale pull org/broken"}},
		{"org/dangling", []string{"commit " + commitB, "missing"}},
		{"tiny:nosuchtag", []string{"no tag nosuchtag", "have: latest, q8"}},
		{"nomodel", []string{"no model layer", MediaModel, MediaSystem}},
		{"noblob", []string{"model blob", "missing"}},
		{"short", []string{"2 bytes", "manifest says 10"}},
		{"garbage", []string{"not a manifest"}},
		{"badparams", []string{"temperature", "not a number"}},
		{"nobody/nothing", []string{`model "nobody/nothing" not found`, "a file or directory nobody/nothing",
			"Hugging Face cache " + filepath.Join(s.dirs.HFCache, "models--nobody--nothing"),
			"ollama store " + filepath.Join(s.dirs.Ollama, "manifests", DefaultOllamaHost, "nobody", "nothing", "latest")}},
		{"nothing", []string{"not found", filepath.Join(s.dirs.Ollama, "manifests", DefaultOllamaHost, "library", "nothing", "latest")}},
		{"a/b/c/d/e", []string{"not found", "neither org/name nor an ollama name"}},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.spec, "/", "_"), func(t *testing.T) {
			r, err := Resolve(c.spec, s.dirs)
			if err == nil {
				t.Fatalf("resolved to %+v, want an error", r)
			}
			msg := err.Error()
			t.Log(msg)
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, m := range c.mention {
				if !strings.Contains(msg, m) {
					t.Errorf("error %q does not mention %q", msg, m)
				}
			}
		})
	}
	var nf *NotFoundError
	if _, err := Resolve("nothing", s.dirs); !errors.As(err, &nf) || len(nf.Looked) != 2 {
		t.Errorf("want a NotFoundError with 2 places, got %v", err)
	}
}

// A path that does not exist stays a path: the loader's error names it.
func TestResolveMissingPath(t *testing.T) {
	s := buildStores(t)
	for _, p := range []string{filepath.Join(t.TempDir(), "nope"), "./nope", "../nope", "nope.gguf"} {
		r, err := Resolve(p, s.dirs)
		if err != nil || r.Source != SourcePath || r.Path != p {
			t.Errorf("%s: got %+v, %v; want it back as a path", p, r, err)
		}
	}
}

func TestDirsFromEnv(t *testing.T) {
	home := func() (string, error) { return "/home/u", nil }
	cases := []struct {
		env        map[string]string
		hf, ollama string
	}{
		{nil, "/home/u/.cache/huggingface/hub", "/home/u/.ollama/models"},
		{map[string]string{"XDG_CACHE_HOME": "/x"}, "/x/huggingface/hub", "/home/u/.ollama/models"},
		{map[string]string{"HF_HOME": "/h", "XDG_CACHE_HOME": "/x"}, "/h/hub", "/home/u/.ollama/models"},
		{map[string]string{"HF_HUB_CACHE": "/c", "HF_HOME": "/h", "OLLAMA_MODELS": "/o"}, "/c", "/o"},
	}
	for _, c := range cases {
		d := dirsFrom(func(k string) string { return c.env[k] }, home)
		if d.HFCache != c.hf || d.Ollama != c.ollama {
			t.Errorf("env %v: got %+v, want %s %s", c.env, d, c.hf, c.ollama)
		}
	}
}

func TestMatchQuant(t *testing.T) {
	cases := []struct {
		file, q string
		want    bool
	}{
		{"mistral-7b-instruct-v0.2.Q4_K_M.gguf", "Q4_K_M", true},
		{"mistral-7b-instruct-v0.2.Q4_K_M.gguf", "q4_k_m", true},
		{"mistral-7b-instruct-v0.2.Q4_K_M.gguf", "Q4_K", false},
		{"mistral-7b-instruct-v0.2.Q4_K_S.gguf", "Q4_K_M", false},
		{"model-IQ4_XS.gguf", "Q4_XS", false},
		{"model-IQ4_XS.gguf", "IQ4_XS", true},
		{"sub/ggml-model-q8_0.gguf", "Q8_0", true},
		{"Q8_0/model-00001-of-00002.gguf", "Q8_0", false},
		{"model.BF16.gguf", "F16", false},
		{"model_F16.gguf", "F16", true},
	}
	for _, c := range cases {
		if got := MatchQuant(c.file, c.q); got != c.want {
			t.Errorf("MatchQuant(%q, %q) = %v, want %v", c.file, c.q, got, c.want)
		}
	}
}

func TestParseRefs(t *testing.T) {
	hf := map[string]HFRef{
		"a/b":               {Org: "a", Name: "b"},
		"a/b@dev":           {Org: "a", Name: "b", Revision: "dev"},
		"a/b@refs/pr/1":     {Org: "a", Name: "b", Revision: "refs/pr/1"},
		"a/b:Q4_K_M":        {Org: "a", Name: "b", Quant: "Q4_K_M"},
		"a/b@v2:dir/x.gguf": {Org: "a", Name: "b", Revision: "v2", File: "dir/x.gguf"},
	}
	for s, want := range hf {
		got, err := ParseHFRef(s)
		if err != nil || got != want {
			t.Errorf("ParseHFRef(%q) = %+v, %v; want %+v", s, got, err, want)
		}
		if got.String() != s {
			t.Errorf("%q prints back as %q", s, got.String())
		}
	}
	for _, s := range []string{"a", "a/b/c", "/b", "a/", "a/b@", "a/b:", "a/b@../x", "a/b:../x.gguf", "a--c/b", "a/..", "a/b:7b-instruct"} {
		if r, err := ParseHFRef(s); err == nil {
			t.Errorf("ParseHFRef(%q) = %+v, want an error", s, r)
		}
	}
	ol := map[string]OllamaRef{
		"m":                     {DefaultOllamaHost, "library", "m", "latest"},
		"m:7b-q4_K_M":           {DefaultOllamaHost, "library", "m", "7b-q4_K_M"},
		"ns/m":                  {DefaultOllamaHost, "ns", "m", "latest"},
		"h.io/ns/m:t":           {"h.io", "ns", "m", "t"},
		"localhost:5000/ns/m":   {"localhost:5000", "ns", "m", "latest"},
		"localhost:5000/ns/m:x": {"localhost:5000", "ns", "m", "x"},
	}
	for s, want := range ol {
		got, err := ParseOllamaRef(s)
		if err != nil || got != want {
			t.Errorf("ParseOllamaRef(%q) = %+v, %v; want %+v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "m:", "a/b/c/d", "../m", "m:../x", "h/../m", "m:a/b"} {
		if r, err := ParseOllamaRef(s); err == nil {
			t.Errorf("ParseOllamaRef(%q) = %+v, want an error", s, r)
		}
	}
}
