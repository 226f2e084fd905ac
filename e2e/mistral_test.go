package e2e

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// tinyMistralRef is tiny-mistral/reference.json (float64 reference).
type tinyMistralRef struct {
	Tokens   []int `json:"tokens"`
	Variants map[string]struct {
		Argmax       []int `json:"argmax"`
		GreedyPrompt []int `json:"greedy_prompt"`
		Greedy16     []int `json:"greedy_16"`
	} `json:"variants"`
}

// TestTinyMistral runs the sliding-window GQA model in both checkpoint
// layouts through the CLI: greedy generation from ids (printed as ids,
// since the model has no tokenizer), per-position argmax of score
// --logits over five windows, and info.
func TestTinyMistral(t *testing.T) {
	b, err := os.ReadFile(testdata("tiny-mistral", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref tinyMistralRef
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	for _, variant := range []string{"bf16", "native"} {
		t.Run(variant, func(t *testing.T) {
			v, ok := ref.Variants[variant]
			if !ok {
				t.Fatalf("reference has no %s", variant)
			}
			dir := testdata("tiny-mistral", variant)
			a := args([]string{"generate", "-m", dir, "--tokens", idsString(v.GreedyPrompt, ","), "-n", "16"}, greedy...)
			r := gale(t, a...)
			wantOK(t, r, a...)
			if want := idsString(v.Greedy16, " ") + "\n"; r.stdout != want {
				t.Errorf("greedy ids\n got: %q\nwant: %q", r.stdout, want)
			}

			logits := filepath.Join(t.TempDir(), "l.safetensors")
			a = []string{"score", "-m", dir, "--json", "--logits", logits, "--chunk", "3", "--tokens", idsString(ref.Tokens, ",")}
			r = gale(t, a...)
			wantOK(t, r, a...)
			var sc struct {
				Tokens int `json:"tokens"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &sc); err != nil || sc.Tokens != len(ref.Tokens)-1 {
				t.Errorf("score: %s (%v)", r.stdout, err)
			}
			lb, err := os.ReadFile(logits)
			if err != nil {
				t.Fatal(err)
			}
			hl := binary.LittleEndian.Uint64(lb)
			data := lb[8+hl:]
			const vocab = 256
			if len(data) != len(ref.Tokens)*vocab*4 {
				t.Fatalf("logits data %d bytes, want %d", len(data), len(ref.Tokens)*vocab*4)
			}
			for i, want := range v.Argmax {
				best, bestV := 0, float32(math.Inf(-1))
				for j := 0; j < vocab; j++ {
					x := math.Float32frombits(binary.LittleEndian.Uint32(data[4*(i*vocab+j):]))
					if x > bestV {
						best, bestV = j, x
					}
				}
				if best != want {
					t.Errorf("position %d: argmax %d, want %d", i, best, want)
				}
			}

			r = gale(t, "info", "-m", dir, "--json")
			wantOK(t, r, "info")
			var info map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
				t.Fatal(err)
			}
			for k, want := range map[string]float64{"sliding_window": 8, "n_heads": 4, "n_kv_heads": 2, "head_dim": 16, "ffn_dim": 160, "vocab_size": 256, "n_layers": 2} {
				if info[k] != want {
					t.Errorf("info %s = %v, want %v", k, info[k], want)
				}
			}
			if info["tokenizer"] != "none" || info["tied_embeddings"] != false {
				t.Errorf("info tokenizer %v tied %v", info["tokenizer"], info["tied_embeddings"])
			}
			// Text needs a tokenizer: a clear error, not a crash.
			wantError(t, gale(t, "generate", "-m", dir, "-p", "hello"), 1, "tokenizer", "--tokens")
		})
	}
}

// TestStopEOS: generation ends at the end-of-sequence token, which is not
// part of the output. The tiny model's config is patched to call its
// third greedy token (reference.json greedy_16[2]) EOS, so greedy decoding
// must stop after the first two.
func TestStopEOS(t *testing.T) {
	b, err := os.ReadFile(testdata("tiny-mistral", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref tinyMistralRef
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	v := ref.Variants["bf16"]
	dir := copyDir(t, testdata("tiny-mistral", "bf16"))
	patchConfig(t, dir, func(c map[string]any) { c["eos_token_id"] = v.Greedy16[2] })
	a := args([]string{"generate", "-m", dir, "--tokens", idsString(v.GreedyPrompt, ","), "-n", "16", "--json"}, greedy...)
	r := gale(t, a...)
	wantOK(t, r, a...)
	var out struct {
		IDs        []int  `json:"ids"`
		Tokens     int    `json:"tokens"`
		StopReason string `json:"stop_reason"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatal(err)
	}
	if out.StopReason != "eos" || idsString(out.IDs, " ") != idsString(v.Greedy16[:2], " ") || out.Tokens != 2 {
		t.Errorf("got ids %v (%d tokens) stop_reason %q, want %v and eos", out.IDs, out.Tokens, out.StopReason, v.Greedy16[:2])
	}
}
