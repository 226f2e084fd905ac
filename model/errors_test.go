package model

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gale-ai/gale/internal/safetensors"
)

// copyTiny copies the bf16 tiny-mistral checkpoint into a temporary
// directory, rewriting its safetensors through edit (nil: unchanged).
func copyTiny(t *testing.T, edit func([]safetensors.WriteTensor) []safetensors.WriteTensor) string {
	t.Helper()
	dir := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join(tinyDir, "bf16", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Open(filepath.Join(tinyDir, "bf16", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ts []safetensors.WriteTensor
	for _, name := range f.Names() {
		tt, _ := f.Tensor(name)
		ts = append(ts, safetensors.WriteTensor{Name: name, DType: tt.DType, Shape: tt.Shape, Data: append([]byte(nil), tt.Data...)})
	}
	if edit != nil {
		ts = edit(ts)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func expectLoadError(t *testing.T, dir string, wants ...string) {
	t.Helper()
	m, err := Load(dir, LoadOptions{Check: true})
	if err == nil {
		m.Close()
		t.Fatalf("Load succeeded, want an error mentioning %q", wants)
	}
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q does not mention %q", err, w)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error is not one line: %q", err)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Run("missing tensor", func(t *testing.T) {
		dir := copyTiny(t, func(ts []safetensors.WriteTensor) []safetensors.WriteTensor {
			var out []safetensors.WriteTensor
			for _, x := range ts {
				if x.Name != "model.layers.1.mlp.up_proj.weight" {
					out = append(out, x)
				}
			}
			return out
		})
		expectLoadError(t, dir, dir, "model.layers.1.mlp.up_proj.weight", "missing")
	})
	t.Run("wrong shape", func(t *testing.T) {
		dir := copyTiny(t, func(ts []safetensors.WriteTensor) []safetensors.WriteTensor {
			for i, x := range ts {
				if x.Name == "model.layers.0.self_attn.k_proj.weight" {
					ts[i].Shape = []int{64, 32} // same bytes, transposed shape
				}
			}
			return ts
		})
		expectLoadError(t, dir, "model.safetensors", "model.layers.0.self_attn.k_proj.weight", "[64 32]", "[32 64]")
	})
	t.Run("unsupported dtype", func(t *testing.T) {
		dir := copyTiny(t, func(ts []safetensors.WriteTensor) []safetensors.WriteTensor {
			for i, x := range ts {
				if x.Name == "lm_head.weight" {
					ts[i].DType = "I16"
				}
			}
			return ts
		})
		expectLoadError(t, dir, "model.safetensors", "lm_head.weight", "I16")
	})
	t.Run("NaN weight with --check", func(t *testing.T) {
		dir := copyTiny(t, func(ts []safetensors.WriteTensor) []safetensors.WriteTensor {
			for i, x := range ts {
				if x.Name == "model.layers.1.mlp.down_proj.weight" {
					ts[i].Data[10], ts[i].Data[11] = 0xc0, 0x7f // bf16 NaN
				}
			}
			return ts
		})
		expectLoadError(t, dir, "model.safetensors", "model.layers.1.mlp.down_proj.weight", "NaN")
		m, err := Load(dir, LoadOptions{}) // without --check the file loads
		if err != nil {
			t.Fatal(err)
		}
		m.Close()
	})
	t.Run("Inf in a layer norm with --check", func(t *testing.T) {
		dir := copyTiny(t, func(ts []safetensors.WriteTensor) []safetensors.WriteTensor {
			for i, x := range ts {
				if x.Name == "model.layers.0.post_attention_layernorm.weight" {
					ts[i].Data[6], ts[i].Data[7] = 0x80, 0x7f // bf16 +Inf
				}
			}
			return ts
		})
		expectLoadError(t, dir, "model.safetensors", "model.layers.0.post_attention_layernorm.weight", "Inf")
	})
	t.Run("missing config", func(t *testing.T) {
		dir := copyTiny(t, nil)
		os.Remove(filepath.Join(dir, "config.json"))
		expectLoadError(t, dir, dir, "no config.json or params.json")
	})
	t.Run("heads not divisible", func(t *testing.T) {
		dir := copyTiny(t, nil)
		cfg, _ := os.ReadFile(filepath.Join(dir, "config.json"))
		cfg = []byte(strings.Replace(string(cfg), `"num_key_value_heads": 2`, `"num_key_value_heads": 3`, 1))
		os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644)
		expectLoadError(t, dir, "config.json", "divisible")
	})
	t.Run("missing directory", func(t *testing.T) {
		expectLoadError(t, filepath.Join(t.TempDir(), "nope"), "nope", "no such file")
	})
	t.Run("tokenizer not a protobuf", func(t *testing.T) {
		dir := copyTiny(t, nil)
		os.WriteFile(filepath.Join(dir, "tokenizer.model"), []byte("{\"this is\": \"json\"}"), 0o644)
		expectLoadError(t, dir, "tokenizer.model")
	})
}

// TestSessionRejectsBadInput: ids outside the vocabulary and prompts
// longer than the context are errors, and leave the session usable.
func TestSessionRejectsBadInput(t *testing.T) {
	m, err := Load(filepath.Join(tinyDir, "f32"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession(SessionOptions{CtxSize: 16, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Prefill([]int{1, 256}); err == nil || !strings.Contains(err.Error(), "256") {
		t.Fatalf("id 256 of a 256-token vocabulary: err = %v", err)
	}
	if _, err := s.Prefill([]int{1, -1}); err == nil {
		t.Fatal("id -1 accepted")
	}
	long := make([]int, 17)
	_, err = s.Generate(context.Background(), long, GenerateOptions{MaxTokens: 1})
	if !errors.Is(err, ErrPromptTooLong) {
		t.Fatalf("17-token prompt with context 16: err = %v", err)
	}
	if s.Pos() != 0 {
		t.Fatalf("rejected input moved the position to %d", s.Pos())
	}
	// Generation stops with "context" when the context is full: 16
	// positions are fed, and the token sampled after the last of them is
	// still returned (it needs no cache slot).
	res, err := s.Generate(context.Background(), []int{1, 2, 3}, GenerateOptions{MaxTokens: -1, Sampler: SamplerOptions{Temp: 1, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if res.StopReason != StopContext && res.StopReason != StopEOS {
		t.Fatalf("stop reason %q", res.StopReason)
	}
	if res.StopReason == StopContext && res.PromptTokens+len(res.Tokens) != 17 {
		t.Fatalf("context 16: prompt %d + generated %d", res.PromptTokens, len(res.Tokens))
	}
}

// TestKVCacheMemory: the cache holds the window for sliding-window models
// (however large the context) and the context otherwise, in f32 or f16.
func TestKVCacheMemory(t *testing.T) {
	tiny, err := Load(filepath.Join(tinyDir, "bf16"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer tiny.Close()
	stories, err := LoadDefault(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		m    *Model
		ctx  int
		f16  bool
		want int64
	}{
		// tiny-mistral: window 8, 2 layers, 2 KV heads of 16.
		{tiny, 128, false, 2 * 2 * 8 * 32 * 4},
		{tiny, 128, true, 2 * 2 * 8 * 32 * 2},
		{tiny, 4, false, 2 * 2 * 4 * 32 * 4}, // a context below the window
		// stories260k: full attention, 5 layers, 4 KV heads of 8.
		{stories, 512, false, 2 * 5 * 512 * 32 * 4},
		{stories, 100, true, 2 * 5 * 100 * 32 * 2},
	} {
		s, err := c.m.NewSession(SessionOptions{CtxSize: c.ctx, KVF16: c.f16, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		if got := s.KVCacheBytes(); got != c.want {
			t.Errorf("%s ctx %d f16 %v: KV cache %d bytes, want %d", c.m.Name, c.ctx, c.f16, got, c.want)
		}
		s.Close()
	}
}

// TestHotPathDoesNotAllocate: a decode step and a sampling draw allocate
// nothing once the session and sampler exist, so generation puts no load
// on the garbage collector however long it runs.
func TestHotPathDoesNotAllocate(t *testing.T) {
	m, err := LoadDefault(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := m.NewSession(SessionOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Prefill([]int{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, func() { s.Step(5) }); n != 0 {
		t.Errorf("Step allocates %v times per token", n)
	}
	logits, _ := s.Step(6)
	sm := NewSampler(SamplerOptions{Temp: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.1, RepeatLastN: 64, Seed: 1})
	history := []int{1, 2, 3, 4, 5}
	sm.Sample(append([]float32(nil), logits...), history)
	work := make([]float32, len(logits))
	if n := testing.AllocsPerRun(20, func() { copy(work, logits); sm.Sample(work, history) }); n != 0 {
		t.Errorf("Sample allocates %v times per token", n)
	}
}
