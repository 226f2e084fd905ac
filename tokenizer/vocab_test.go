package tokenizer

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
)

// ggufKV reads the metadata of a GGUF file (v2/v3) into a map: just
// enough of the format for these tests (internal/gguf is the real reader,
// and this package must not depend on it). Arrays of strings come back as
// []string, numeric arrays as []float64, scalars as uint64/int64/float64/
// bool/string.
func ggufKV(t testing.TB, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	need := func(n int) {
		if n < 0 || off+n > len(data) {
			t.Fatalf("%s: truncated at %d", path, off)
		}
	}
	u32 := func() uint32 { need(4); v := binary.LittleEndian.Uint32(data[off:]); off += 4; return v }
	u64 := func() uint64 { need(8); v := binary.LittleEndian.Uint64(data[off:]); off += 8; return v }
	str := func() string { n := int(u64()); need(n); s := string(data[off : off+n]); off += n; return s }
	var scalar func(typ uint32) any
	scalar = func(typ uint32) any {
		switch typ {
		case 0, 1, 7:
			need(1)
			b := data[off]
			off++
			switch typ {
			case 1:
				return int64(int8(b))
			case 7:
				return b != 0
			}
			return uint64(b)
		case 2, 3:
			need(2)
			v := binary.LittleEndian.Uint16(data[off:])
			off += 2
			if typ == 3 {
				return int64(int16(v))
			}
			return uint64(v)
		case 4:
			return uint64(u32())
		case 5:
			return int64(int32(u32()))
		case 6:
			return float64(math.Float32frombits(u32()))
		case 8:
			return str()
		case 10:
			return u64()
		case 11:
			return int64(u64())
		case 12:
			return math.Float64frombits(u64())
		}
		t.Fatalf("%s: value type %d", path, typ)
		return nil
	}
	need(4)
	if string(data[:4]) != "GGUF" {
		t.Fatalf("%s: not GGUF", path)
	}
	off = 4
	if v := u32(); v != 2 && v != 3 {
		t.Fatalf("%s: version %d", path, v)
	}
	u64() // tensor count
	nkv := int(u64())
	kv := make(map[string]any, nkv)
	for range nkv {
		key := str()
		typ := u32()
		if typ != 9 {
			kv[key] = scalar(typ)
			continue
		}
		et, n := u32(), int(u64())
		if et == 8 {
			list := make([]string, n)
			for i := range list {
				list[i] = str()
			}
			kv[key] = list
			continue
		}
		list := make([]float64, n)
		for i := range list {
			switch x := scalar(et).(type) {
			case uint64:
				list[i] = float64(x)
			case int64:
				list[i] = float64(x)
			case float64:
				list[i] = x
			default:
				t.Fatalf("%s: %s: array of type %d", path, key, et)
			}
		}
		kv[key] = list
	}
	return kv
}

// vocabFromGGUF fills a Vocab from GGUF metadata the way a model loader
// is meant to: llama.cpp's defaults, overridden by the keys present.
func vocabFromGGUF(t testing.TB, kv map[string]any) Vocab {
	v := LlamaVocab()
	v.Model, _ = kv["tokenizer.ggml.model"].(string)
	v.Pieces, _ = kv["tokenizer.ggml.tokens"].([]string)
	if s, ok := kv["tokenizer.ggml.scores"].([]float64); ok {
		for _, x := range s {
			v.Scores = append(v.Scores, float32(x))
		}
	}
	if s, ok := kv["tokenizer.ggml.token_type"].([]float64); ok {
		for _, x := range s {
			v.Types = append(v.Types, int32(x))
		}
	}
	id := func(key string, dst *int) {
		switch x := kv[key].(type) {
		case uint64:
			*dst = int(x)
		case int64:
			*dst = int(x)
		}
	}
	id("tokenizer.ggml.bos_token_id", &v.BOS)
	id("tokenizer.ggml.eos_token_id", &v.EOS)
	id("tokenizer.ggml.unknown_token_id", &v.Unk)
	id("tokenizer.ggml.padding_token_id", &v.Pad)
	flag := func(key string, dst *bool) {
		if b, ok := kv[key].(bool); ok {
			*dst = b
		}
	}
	flag("tokenizer.ggml.add_bos_token", &v.AddBOS)
	flag("tokenizer.ggml.add_eos_token", &v.AddEOS)
	flag("tokenizer.ggml.add_space_prefix", &v.AddSpacePrefix)
	flag("tokenizer.ggml.remove_extra_whitespaces", &v.RemoveExtraWhitespaces)
	return v
}

// TestFromVocabTinyLlama builds the tokenizer of the tiny-llama GGUF
// (written by llama.cpp's converter from the stories260k checkpoint) and
// checks it against the SentencePiece model it was converted from, and
// against run.c's prompt ids.
func TestFromVocabTinyLlama(t *testing.T) {
	kv := ggufKV(t, "../testdata/gguf/tiny-llama/F32.gguf")
	gt, err := FromVocab(vocabFromGGUF(t, kv))
	if err != nil {
		t.Fatal(err)
	}
	st, err := Load("../testdata/gguf/tiny-llama/hf/tokenizer.model")
	if err != nil {
		t.Fatal(err)
	}
	if gt.VocabSize() != st.VocabSize() || gt.BOS() != st.BOS() || gt.EOS() != st.EOS() || gt.Unk() != st.Unk() {
		t.Fatalf("gguf vocab %d bos %d eos %d unk %d; model %d %d %d %d",
			gt.VocabSize(), gt.BOS(), gt.EOS(), gt.Unk(), st.VocabSize(), st.BOS(), st.EOS(), st.Unk())
	}
	if !gt.AddBOS() || gt.AddEOS() {
		t.Errorf("AddBOS %v AddEOS %v, want true false (llama.cpp's defaults; the file sets neither)", gt.AddBOS(), gt.AddEOS())
	}
	var ref struct {
		Runs []struct {
			Prompt    string `json:"prompt"`
			PromptIDs []int  `json:"prompt_ids"`
		} `json:"runs"`
	}
	readJSON(t, "../testdata/models/stories260k/reference.json", &ref)
	for _, r := range ref.Runs {
		got := append([]int{gt.BOS()}, gt.Encode(r.Prompt)...)
		if !reflect.DeepEqual(got, r.PromptIDs) {
			t.Errorf("prompt %q: got %v want %v", r.Prompt, got, r.PromptIDs)
		}
	}
	texts := []string{"", " ", "Once upon a time", "  two  spaces ", "Lily's dog\n\tran é ü 日本 🙂", "\x00\x7f", "<s></s><unk>"}
	for _, v := range readVectors(t) {
		texts = append(texts, v.Text)
	}
	for _, s := range texts {
		a, b := gt.Encode(s), st.Encode(s)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%q: gguf %v, tokenizer.model %v", s, a, b)
		}
		if gt.Decode(a) != st.Decode(b) {
			t.Errorf("%q: decodes differ: %q vs %q", s, gt.Decode(a), st.Decode(b))
		}
	}
}

// TestFromVocabLlamaSPM runs llama.cpp's conformance vectors against the
// GGUF they were made for, when that file is in the repository.
func TestFromVocabLlamaSPM(t *testing.T) {
	path := td + "peers/llama.cpp/ggml-vocab-llama-spm.gguf"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("ggml-vocab-llama-spm.gguf not in testdata (%v); its vectors run against Llama-2's tokenizer.model in TestLlamaCppVocabVectors", err)
	}
	tok, err := FromVocab(vocabFromGGUF(t, ggufKV(t, path)))
	if err != nil {
		t.Fatal(err)
	}
	inp, _ := os.ReadFile(path + ".inp")
	out, _ := os.ReadFile(path + ".out")
	inputs := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
	if inputs[len(inputs)-1] == "" {
		inputs = inputs[:len(inputs)-1]
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(inputs) != len(lines) {
		t.Fatalf("%d inputs, %d outputs", len(inputs), len(lines))
	}
	for i, in := range inputs {
		if got := fmt.Sprint(tok.Encode(in)); strings.Trim(got, "[]") != strings.TrimSpace(lines[i]) {
			t.Errorf("input %d %q: got %v want %s", i, in, got, lines[i])
		}
	}
}

func TestFromVocabErrors(t *testing.T) {
	base := func() Vocab {
		v := LlamaVocab()
		v.Pieces = []string{"<unk>", "<s>", "</s>", "a", "b", "ab"}
		v.Types = []int32{2, 3, 3, 1, 1, 1}
		v.Scores = []float32{0, 0, 0, -1, -2, -0.5}
		return v
	}
	v := base()
	v.AddSpacePrefix = false
	tok, err := FromVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	// By hand: "ab" is one piece; "ba" has no merge; "c" is unknown.
	for in, want := range map[string][]int{"ab": {5}, "ba": {4, 3}, "abc": {5, 0}} {
		if got := tok.Encode(in); !reflect.DeepEqual(got, want) {
			t.Errorf("Encode(%q) = %v, want %v", in, got, want)
		}
	}
	cases := []struct {
		name string
		edit func(*Vocab)
		want string
	}{
		{"gpt2", func(v *Vocab) { v.Model = "gpt2" }, `tokenizer.ggml.model "gpt2" is not supported`},
		{"empty", func(v *Vocab) { v.Pieces, v.Types, v.Scores = nil, nil, nil }, "no tokens"},
		{"scores", func(v *Vocab) { v.Scores = v.Scores[:2] }, "scores has 2 entries for 6 tokens"},
		{"types", func(v *Vocab) { v.Types = v.Types[:5] }, "token_type has 5 entries"},
		{"badtype", func(v *Vocab) { v.Types[3] = 9 }, "has type 9"},
		{"bos", func(v *Vocab) { v.BOS = 6 }, "bos_token_id 6 is out of range"},
		{"unk", func(v *Vocab) { v.Unk = 99 }, "unknown_token_id 99 is out of range"},
		{"nounk", func(v *Vocab) { v.Types[0] = 3 }, "no UNKNOWN token"},
		{"dup", func(v *Vocab) { v.Pieces[4] = "a" }, `"a" is already defined`},
		{"byte", func(v *Vocab) { v.Types[3] = 6 }, "not of the form <0xNN>"},
	}
	for _, c := range cases {
		v := base()
		c.edit(&v)
		_, err := FromVocab(v)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}

// TestVocabularyRoundTrip: the GGUF form of a SentencePiece model (what
// gale quantize writes) rebuilds a tokenizer that encodes the same.
func TestVocabularyRoundTrip(t *testing.T) {
	vs := readVectors(t)
	for _, tok := range []*Tokenizer{mistral(t), mistralV3(t)} {
		v, ok := tok.Vocabulary()
		if !ok {
			t.Fatal("no vocabulary form")
		}
		back, err := FromVocab(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range vs[:200] {
			if a, b := tok.Encode(x.Text), back.Encode(x.Text); !reflect.DeepEqual(a, b) {
				t.Fatalf("%q: %v vs %v", x.Text, a, b)
			}
		}
		if tok.SpecialID("[INST]") != back.SpecialID("[INST]") || back.BOS() != tok.BOS() || back.EOS() != tok.EOS() {
			t.Errorf("special ids differ")
		}
	}
}
