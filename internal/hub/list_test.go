package hub

import (
	"os"
	"path/filepath"
	"testing"
)

func TestList(t *testing.T) {
	s := buildStores(t)
	st := func(name string) int64 { return int64(len(fixture(t, "model", "embedded", "stories260k", name))) }
	stories := st("config.json") + st("model.safetensors") + st("tokenizer.model")
	params := int64(len(`{"temperature":0.3,"top_k":7,"num_ctx":128,"stop":["[INST]","</s>"],"seed":42,"num_predict":5,"mirostat":0}`))
	q4, q8 := int64(len(s.q4)), int64(len(s.q8))
	snapA := filepath.Join(s.hfSafe, "snapshots", commitA)
	want := []Entry{
		{Name: "TheBloke/tiny-llama-GGUF:tiny-llama.Q4_K_M.gguf", Store: SourceHF, Size: q4, Path: filepath.Join(s.hfGGUF, "snapshots", commitA, "tiny-llama.Q4_K_M.gguf")},
		{Name: "TheBloke/tiny-llama-GGUF:tiny-llama.Q8_0.gguf", Store: SourceHF, Size: q8, Path: filepath.Join(s.hfGGUF, "snapshots", commitA, "tiny-llama.Q8_0.gguf")},
		{Name: "karpathy/stories260k", Store: SourceHF, Size: stories, Path: snapA},
		{Name: "karpathy/stories260k@v1", Store: SourceHF, Size: st("config.json") + st("model.safetensors"), Path: filepath.Join(s.hfSafe, "snapshots", commitB)},
		{Name: "solo/one-GGUF:sub/one.Q8_0.gguf", Store: SourceHF, Size: q8, Path: filepath.Join(s.dirs.HFCache, "models--solo--one-GGUF", "snapshots", commitA, "sub", "one.Q8_0.gguf")},
		{Name: "example.com:5000/team/tiny:v2", Store: SourceOllama, Size: q4, Path: s.ollamaModelBlob},
		{Name: "oldstyle:latest", Store: SourceOllama, Size: int64(len("GGUF old-style blob")), Path: filepath.Join(s.dirs.Ollama, "blobs", "sha256:"+sha256hex([]byte("GGUF old-style blob")))},
		{Name: "someone/tiny:latest", Store: SourceOllama, Size: q8, Path: filepath.Join(s.dirs.Ollama, "blobs", "sha256-"+sha256hex(s.q8))},
		{Name: "tiny:latest", Store: SourceOllama, Size: q4 + params + int64(len("You are terse.")) + int64(len("[INST] {{ .Prompt }} [/INST]")), Path: s.ollamaModelBlob},
		{Name: "tiny:q8", Store: SourceOllama, Size: q8, Path: filepath.Join(s.dirs.Ollama, "blobs", "sha256-"+sha256hex(s.q8))},
	}
	got, err := List(s.dirs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
		// Every name listed resolves to the listed path.
		r, err := Resolve(got[i].Name, s.dirs)
		if err != nil || r.Path != got[i].Path {
			t.Errorf("Resolve(%q) = %v, %v; listed path %s", got[i].Name, r, err, got[i].Path)
		}
	}
	// A pruned blob shows as a problem; a missing store lists nothing.
	if err := os.Remove(filepath.Join(s.hfGGUF, "blobs", sha256hex(s.q8))); err != nil {
		t.Fatal(err)
	}
	got, _ = List(s.dirs)
	if got[1].Problem == "" {
		t.Errorf("entry with a pruned blob: %+v", got[1])
	}
	if got, err := List(Dirs{HFCache: filepath.Join(t.TempDir(), "none"), Ollama: filepath.Join(t.TempDir(), "none")}); err != nil || len(got) != 0 {
		t.Errorf("empty stores: %v, %v", got, err)
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 999: "999 B", 1000: "1.0 KB", 1044992: "1.0 MB", 4109853248: "4.1 GB", 14483464192: "14.5 GB"} {
		if got := HumanSize(n); got != want {
			t.Errorf("HumanSize(%d) = %q, want %q", n, got, want)
		}
	}
}
