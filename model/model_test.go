package model

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gale-ai/gale/internal/safetensors"
	"github.com/gale-ai/gale/kernels"
)

const tinyDir = "../testdata/models/tiny-mistral"

type tinyReference struct {
	Tokens   []int `json:"tokens"`
	Variants map[string]struct {
		Argmax        []int   `json:"argmax"`
		MinTop1Margin float64 `json:"min_top1_margin"`
		GreedyPrompt  []int   `json:"greedy_prompt"`
		Greedy16      []int   `json:"greedy_16"`
	} `json:"variants"`
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// readLogits reads the float64 reference logits (stored as F32 [T, vocab]).
func readLogits(t *testing.T, path string) [][]float32 {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tt, ok := f.Tensor("logits")
	if !ok || tt.DType != "F32" || len(tt.Shape) != 2 {
		t.Fatalf("%s: no F32 [T, vocab] tensor \"logits\"", path)
	}
	rows := make([][]float32, tt.Shape[0])
	for i := range rows {
		rows[i] = make([]float32, tt.Shape[1])
		for j := range rows[i] {
			rows[i][j] = math.Float32frombits(binary.LittleEndian.Uint32(tt.Data[4*(i*tt.Shape[1]+j):]))
		}
	}
	return rows
}

// forEachLevel runs f at every kernel level this machine supports.
func forEachLevel(t *testing.T, f func(t *testing.T)) {
	saved := kernels.CurrentFeatures()
	defer kernels.SetFeatures(saved)
	for _, l := range kernels.Levels() {
		if err := kernels.SetLevel(l); err != nil {
			t.Fatal(err)
		}
		t.Run(l.String(), f)
	}
}

// compareLogits checks got against want within tol (absolute).
func compareLogits(t *testing.T, pos int, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("position %d: %d logits, want %d", pos, len(got), len(want))
	}
	worst, at := 0.0, 0
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > worst || d != d {
			worst, at = d, i
		}
	}
	if !(worst <= tol) {
		t.Fatalf("position %d: logit %d = %v, reference %v (|diff| %.3g > %g)", pos, at, got[at], want[at], worst, tol)
	}
}

// TestTinyMistralLogits checks every layout and dtype of the random Mistral
// model against the float64 reference, through whole-prompt prefill,
// chunked prefill and token-by-token decode, at every kernel level and
// several thread counts. 40 tokens wrap the 8-slot window buffer 5 times.
func TestTinyMistralLogits(t *testing.T) {
	var ref tinyReference
	readJSON(t, filepath.Join(tinyDir, "reference.json"), &ref)
	forEachLevel(t, func(t *testing.T) {
		for _, variant := range []string{"f32", "bf16", "f16", "native"} {
			m, err := Load(filepath.Join(tinyDir, variant), LoadOptions{Check: true})
			if err != nil {
				t.Fatal(err)
			}
			// The native layout stores the bf16 model's weights with
			// interleaved rotary rows; its reference logits are bf16's.
			refVariant := variant
			if variant == "native" {
				refVariant = "bf16"
			}
			want := readLogits(t, filepath.Join(tinyDir, refVariant, "logits.safetensors"))
			for _, threads := range []int{1, 2, 3} {
				for _, chunk := range []int{0, 40, 3, 8, 1} {
					for _, f16 := range []bool{false, true} {
						name := fmt.Sprintf("%s/t%d/chunk%d/kvf16=%v", variant, threads, chunk, f16)
						s, err := m.NewSession(SessionOptions{Threads: threads, ChunkSize: chunk, KVF16: f16})
						if err != nil {
							t.Fatal(err)
						}
						tol := 1e-4
						if f16 {
							tol = 2e-3 // keys and values rounded to 11 significant bits
						}
						t.Run(name, func(t *testing.T) {
							if chunk == 1 {
								for i, tok := range ref.Tokens {
									l, err := s.Step(tok)
									if err != nil {
										t.Fatal(err)
									}
									compareLogits(t, i, l, want[i], tol)
								}
								return
							}
							if err := s.Forward(ref.Tokens, func(i int, l []float32) { compareLogits(t, i, l, want[i], tol) }); err != nil {
								t.Fatal(err)
							}
						})
						s.Close()
					}
				}
			}
			m.Close()
		}
	})
}

// TestTinyMistralAttentionBlocks runs the chunk attention in blocks of a
// few queries, so that a chunk has several of them, each with its own
// range of keys, and with chunks of 12 over the 8-slot window, so that a
// block's cached keys wrap around the end of the buffer.
func TestTinyMistralAttentionBlocks(t *testing.T) {
	var ref tinyReference
	readJSON(t, filepath.Join(tinyDir, "reference.json"), &ref)
	want := readLogits(t, filepath.Join(tinyDir, "f32", "logits.safetensors"))
	m, err := Load(filepath.Join(tinyDir, "f32"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	saved := attnBlockRows
	defer func() { attnBlockRows = saved }()
	forEachLevel(t, func(t *testing.T) {
		for _, rows := range []int{2, 6, 128} { // 1, 3 and 64 queries of the 2-head groups
			attnBlockRows = rows
			for _, chunk := range []int{12, 40} {
				for _, f16 := range []bool{false, true} {
					s, err := m.NewSession(SessionOptions{Threads: 2, ChunkSize: chunk, KVF16: f16})
					if err != nil {
						t.Fatal(err)
					}
					tol := 1e-4
					if f16 {
						tol = 2e-3
					}
					if err := s.Forward(ref.Tokens, func(i int, l []float32) { compareLogits(t, i, l, want[i], tol) }); err != nil {
						t.Fatal(err)
					}
					s.Close()
				}
			}
		}
	})
}

// TestTinyMistralGreedy reproduces the reference's 16 greedy tokens.
func TestTinyMistralGreedy(t *testing.T) {
	var ref tinyReference
	readJSON(t, filepath.Join(tinyDir, "reference.json"), &ref)
	for variant, r := range ref.Variants {
		m, err := Load(filepath.Join(tinyDir, variant), LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := m.NewSession(SessionOptions{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Generate(context.Background(), r.GreedyPrompt, GenerateOptions{MaxTokens: 16})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(res.Tokens) != fmt.Sprint(r.Greedy16) {
			t.Errorf("%s: greedy tokens %v, reference %v", variant, res.Tokens, r.Greedy16)
		}
		// The reference's argmax at every position, from prefill logits.
		s.Reset()
		if err := s.Forward(ref.Tokens, func(i int, l []float32) {
			if a := Argmax(l); a != r.Argmax[i] {
				t.Errorf("%s: position %d: argmax %d, reference %d", variant, i, a, r.Argmax[i])
			}
		}); err != nil {
			t.Fatal(err)
		}
		s.Close()
		m.Close()
	}
}

type storiesReference struct {
	Runs []struct {
		Prompt       string      `json:"prompt"`
		PromptIDs    []int       `json:"prompt_ids"`
		PromptLogits [][]float32 `json:"prompt_logits"`
		GreedyIDs    []int       `json:"greedy_ids"`
		GreedyText   string      `json:"greedy_text"`
	} `json:"runs"`
	Llama2c struct {
		Expected string `json:"expected_stdout_without_final_newline"`
	} `json:"llama2c_greedy_200"`
}

// TestStories260K checks the embedded model against llama2.c's run.c:
// logits at every prompt position, the greedy continuations, and run.c's
// own 200-token greedy story.
func TestStories260K(t *testing.T) {
	var ref storiesReference
	readJSON(t, "../testdata/models/stories260k/reference.json", &ref)
	m, err := LoadDefault(LoadOptions{Check: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	forEachLevel(t, func(t *testing.T) {
		s, err := m.NewSession(SessionOptions{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, run := range ref.Runs {
			ids := append([]int{m.Tokenizer.BOS()}, m.Tokenizer.Encode(run.Prompt)...)
			if run.Prompt == "" {
				ids = ids[:1]
			}
			if fmt.Sprint(ids) != fmt.Sprint(run.PromptIDs) {
				t.Errorf("%q: prompt ids %v, reference %v", run.Prompt, ids, run.PromptIDs)
			}
			s.Reset()
			if err := s.Forward(run.PromptIDs, func(i int, l []float32) { compareLogits(t, i, l, run.PromptLogits[i], 1e-4) }); err != nil {
				t.Fatal(err)
			}
			res, err := s.Generate(context.Background(), run.PromptIDs, GenerateOptions{MaxTokens: len(run.GreedyIDs)})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(res.Tokens) != fmt.Sprint(run.GreedyIDs) {
				t.Errorf("%q: greedy ids\n%v\nreference\n%v", run.Prompt, res.Tokens, run.GreedyIDs)
			}
		}
		res, err := s.Generate(context.Background(), []int{m.Tokenizer.BOS()}, GenerateOptions{MaxTokens: 200})
		if err != nil {
			t.Fatal(err)
		}
		if res.Text != ref.Llama2c.Expected {
			t.Errorf("200-token greedy story differs from llama2.c's:\n%q\nwant\n%q", res.Text, ref.Llama2c.Expected)
		}
	})
}
