package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPullProgressOnTerminal: on a terminal, pull draws a progress bar
// per file (named after it, counting bytes) and clears it when done.
func TestPullProgressOnTerminal(t *testing.T) {
	stories := map[string][]byte{
		"config.json":       readFixture(t, storiesDir(), "config.json"),
		"model.safetensors": readFixture(t, storiesDir(), "model.safetensors"),
	}
	h := newMiniHub(t, hubCommit, map[string]map[string][]byte{"karpathy/stories260k": stories})
	h.slow = 30 * time.Millisecond // ~16 chunks: about half a second
	cache := filepath.Join(t.TempDir(), "hub")
	p := startPTY(t, []string{"NO_COLOR=1", "HF_HUB_CACHE=" + cache, "HF_ENDPOINT=" + h.srv.URL, "HF_TOKEN="}, "pull", "karpathy/stories260k")
	off := p.waitFor("model.safetensors", 0)
	p.waitFor("kB/1.0 MB", off)
	if code := p.wait(); code != 0 {
		t.Fatalf("exit %d; terminal:\n%q", code, p.output())
	}
	time.Sleep(100 * time.Millisecond)
	out := p.output()
	if !strings.Contains(out, "%") || !strings.Contains(out, filepath.Join(cache, "models--karpathy--stories260k", "snapshots", hubCommit)) {
		t.Errorf("terminal shows %q: want a bar and the snapshot path", out)
	}
}

// TestPullInterrupted: Ctrl-C during a download exits 130 and leaves only
// an .incomplete file (nothing -m would take for the model); the next
// pull resumes it and the file arrives intact.
func TestPullInterrupted(t *testing.T) {
	model := readFixture(t, storiesDir(), "model.safetensors")
	stories := map[string][]byte{
		"config.json":       readFixture(t, storiesDir(), "config.json"),
		"model.safetensors": model,
		"tokenizer.model":   readFixture(t, storiesDir(), "tokenizer.model"),
	}
	h := newMiniHub(t, hubCommit, map[string]map[string][]byte{"karpathy/stories260k": stories})
	h.slow = 100 * time.Millisecond
	cache := filepath.Join(t.TempDir(), "hub")
	env := []string{"NO_COLOR=1", "HF_HUB_CACHE=" + cache, "HF_ENDPOINT=" + h.srv.URL, "HF_TOKEN="}
	p := startPTY(t, env, "pull", "karpathy/stories260k")
	p.waitFor("model.safetensors  1", 0) // past 10%
	p.send("\x03")
	if code := p.wait(); code != 130 {
		t.Fatalf("exit %d after Ctrl-C, want 130; terminal:\n%q", code, p.output())
	}
	repo := filepath.Join(cache, "models--karpathy--stories260k")
	part := filepath.Join(repo, "blobs", hexSHA256(model)+".incomplete")
	fi, err := os.Stat(part)
	if err != nil || fi.Size() == 0 || fi.Size() >= int64(len(model)) {
		t.Fatalf("partial file %v, %v: want some but not all of %d bytes", fi, err, len(model))
	}
	if _, err := os.Lstat(filepath.Join(repo, "blobs", hexSHA256(model))); err == nil {
		t.Error("a complete-looking blob exists after Ctrl-C")
	}
	if _, err := os.Lstat(filepath.Join(repo, "snapshots", hubCommit, "model.safetensors")); err == nil {
		t.Error("the snapshot links model.safetensors after Ctrl-C")
	}
	h.slow = 0
	r := galeWith(t, runOpts{env: env}, "pull", "karpathy/stories260k")
	wantOK(t, r, "pull (resume)")
	got, err := os.ReadFile(filepath.Join(repo, "snapshots", hubCommit, "model.safetensors"))
	if err != nil || string(got) != string(model) {
		t.Errorf("resumed model.safetensors differs (%v)", err)
	}
	if _, err := os.Stat(part); err == nil {
		t.Error("the .incomplete file is still there")
	}
}
