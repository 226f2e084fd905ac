package e2e

import (
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
