package model

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/gale-ai/gale/internal/gguf"
	"github.com/gale-ai/gale/kernels"
)

const tinyLlamaDir = "../testdata/gguf/tiny-llama"

// tinyLlamaRef is the part of tiny-llama/reference.json the tests read.
type tinyLlamaRef struct {
	Tokens []int `json:"tokens"`
	Files  map[string]struct {
		Types       []string `json:"types"`
		Argmax      []int    `json:"argmax"`
		LogitAbsMax float64  `json:"logit_absmax"`
	} `json:"files"`
}

// ggufTolerance is the bound on the logit error of a file:
// float files keep f32 activations and stay within 1e-3; block types
// quantize activations to int8 as llama.cpp does, and stay within 1.5% of
// the largest reference logit.
func ggufTolerance(name string, absmax float64) float64 {
	switch name {
	case "F32", "F16", "BF16":
		return 1e-3
	}
	return 0.015 * absmax
}

// TestGGUFLogits runs every tiny-llama GGUF file written by llama.cpp's
// tools through the whole prompt, in chunks of 7 and token by token, at
// every feature set, against the float64 reference computed from that
// file's own weights (dequantized by gguf-py).
func TestGGUFLogits(t *testing.T) {
	var ref tinyLlamaRef
	readJSON(t, filepath.Join(tinyLlamaDir, "reference.json"), &ref)
	var names []string
	for n := range ref.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	saved := kernels.CurrentFeatures()
	defer kernels.SetFeatures(saved)
	worst := map[string]float64{}
	for _, name := range names {
		fr := ref.Files[name]
		t.Run(name, func(t *testing.T) {
			m, err := Load(filepath.Join(tinyLlamaDir, name+".gguf"), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Config.Format != FormatGGUF || m.Config.NLayers != 2 || m.Config.Dim != 256 || m.Config.TiedEmbeddings {
				t.Fatalf("config %+v", m.Config)
			}
			if got := m.DTypes(); !slices.Equal(got, withoutF32(fr.Types)) && !slices.Equal(got, fr.Types) {
				t.Errorf("matrix types %v, the file has %v", got, fr.Types)
			}
			want := readLogits(t, filepath.Join(tinyLlamaDir, name+".logits.safetensors"))
			tol := ggufTolerance(name, fr.LogitAbsMax)
			for _, fs := range kernels.FeatureSets() {
				tol := tol
				key := name
				if fs.Has(kernels.FeatAMX) && (name == "F32" || name == "F16" || name == "BF16") {
					// Tiles take bf16 activations: the AMX issue's 1% of
					// the largest logit (llama.cpp's bf16 path: 0.2%).
					tol, key = 0.01*fr.LogitAbsMax, name+"+amx"
				}
				if err := kernels.SetFeatures(fs); err != nil {
					t.Fatal(err)
				}
				for _, mode := range []string{"whole", "chunk7", "decode"} {
					got := runLogits(t, m, ref.Tokens, mode)
					e := compareGGUFLogits(t, name+"/"+fs.String()+"/"+mode, got, want, fr.Argmax, tol)
					worst[key] = math.Max(worst[key], e)
				}
			}
		})
	}
	for _, n := range names {
		t.Logf("%-7s worst |logit error| %.5f (tolerance %.5f)", n, worst[n], ggufTolerance(n, ref.Files[n].LogitAbsMax))
		if e, ok := worst[n+"+amx"]; ok {
			t.Logf("%-7s worst |logit error| %.5f with AMX tiles (tolerance %.5f)", n+"+amx", e, 0.01*ref.Files[n].LogitAbsMax)
		}
	}
}

// runLogits returns the logits at every position of tokens, fed as one
// prompt, in chunks of 7 or one token at a time.
func runLogits(t *testing.T, m *Model, tokens []int, mode string) [][]float32 {
	t.Helper()
	opts := SessionOptions{Threads: 2}
	if mode == "chunk7" {
		opts.ChunkSize = 7
	}
	s, err := m.NewSession(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := make([][]float32, len(tokens))
	if mode == "decode" {
		for i, tok := range tokens {
			l, err := s.Step(tok)
			if err != nil {
				t.Fatal(err)
			}
			out[i] = append([]float32(nil), l...)
		}
		return out
	}
	err = s.Forward(tokens, func(i int, l []float32) { out[i] = append([]float32(nil), l...) })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// compareGGUFLogits checks every logit against the reference within tol, and
// the argmax wherever the reference's top-2 margin exceeds tol; it returns
// the largest error.
func compareGGUFLogits(t *testing.T, what string, got, want [][]float32, argmax []int, tol float64) float64 {
	t.Helper()
	worst := 0.0
	for i := range want {
		for j := range want[i] {
			worst = math.Max(worst, math.Abs(float64(got[i][j])-float64(want[i][j])))
		}
		best, second := math.Inf(-1), math.Inf(-1)
		for _, v := range want[i] {
			if float64(v) > best {
				best, second = float64(v), best
			} else if float64(v) > second {
				second = float64(v)
			}
		}
		if best-second > tol && Argmax(got[i]) != argmax[i] {
			t.Errorf("%s: position %d argmax %d, reference %d (margin %.4f)", what, i, Argmax(got[i]), argmax[i], best-second)
		}
	}
	if worst > tol {
		t.Errorf("%s: worst logit error %.5f > %.5f", what, worst, tol)
	}
	return worst
}

func withoutF32(ts []string) []string {
	var out []string
	for _, s := range ts {
		if s != "F32" {
			out = append(out, s)
		}
	}
	return out
}

// TestGGUFTokenizer checks that the tokenizer read from the GGUF metadata
// encodes as the checkpoint's own tokenizer.model does.
func TestGGUFTokenizer(t *testing.T) {
	m, err := Load(filepath.Join(tinyLlamaDir, "F32.gguf"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	hf, err := Load(filepath.Join(tinyLlamaDir, "hf"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer hf.Close()
	if m.Tokenizer == nil {
		t.Fatal("no tokenizer from the GGUF metadata")
	}
	text, err := os.ReadFile("../testdata/tokenizer/french.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Once upon a time, there was a big dog.", "  two  spaces\nand a newline", string(text)} {
		a, b := m.Tokenizer.Encode(s), hf.Tokenizer.Encode(s)
		if !slices.Equal(a, b) {
			t.Errorf("%q: GGUF tokenizer %v, tokenizer.model %v", s, a, b)
		}
	}
}

// TestGGUFEndOfTurn checks that tokenizer.ggml.eot_token_id ends a
// generation as EOS does: the file is the F32 fixture rewritten with the
// key added.
func TestGGUFEndOfTurn(t *testing.T) {
	src, err := gguf.Open(filepath.Join(tinyLlamaDir, "F32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	kvs := append(src.KVs(), gguf.KV{Key: "tokenizer.ggml.eot_token_id", Value: gguf.Uint32(7)})
	out := filepath.Join(t.TempDir(), "eot.gguf")
	fw, err := gguf.Create(out, kvs, src.Tensors())
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range src.Tensors() {
		data, err := src.TensorData(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		if err := fw.WriteTensor(ti.Name, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := Load(out, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := m.EOSIDs(); !slices.Equal(got, []int{2, 7}) {
		t.Errorf("end ids %v, want [2 7]", got)
	}
}
