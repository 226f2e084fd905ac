package tokenizer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// Expected values in these tests come from the fixtures in
// testdata/tokenizer (SentencePiece 0.1.97 output and other projects' test
// tables; see testdata/tokenizer/README.md), never from this package.

const td = "../testdata/tokenizer/"

// storiesDir is the embedded default model, whose tokenizer is llama2.c's
// tok512 as a SentencePiece model (provenance in its README).
const storiesDir = "../model/embedded/stories260k"

// llama2Model is Meta's Llama-2 tokenizer; its license keeps it out of the
// repository, so tests read it from the shared fixtures when present.
const llama2Model = "../../shared/fixtures/peers/llama-2/tokenizer.model"

var (
	mistralOnce sync.Once
	mistralTok  *Tokenizer
	mistralErr  error
)

func mistral(t testing.TB) *Tokenizer {
	t.Helper()
	mistralOnce.Do(func() { mistralTok, mistralErr = Load(td + "mistral-v0.1/tokenizer.model") })
	if mistralErr != nil {
		t.Fatal(mistralErr)
	}
	return mistralTok
}

func llama2(t testing.TB) *Tokenizer {
	t.Helper()
	if _, err := os.Stat(llama2Model); err != nil {
		t.Skipf("Llama-2 tokenizer.model not available (%v)", err)
	}
	tok, err := Load(llama2Model)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type vector struct {
	Text    string  `json:"text"`
	IDs     []int   `json:"ids"`
	Decoded *string `json:"decoded"`
}

func readVectors(t testing.TB) []vector {
	t.Helper()
	f, err := os.Open(td + "mistral-v0.1/vectors.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var v vector
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %d: %v", len(vs)+1, err)
		}
		if v.IDs == nil {
			v.IDs = []int{}
		}
		vs = append(vs, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vs
}

// streamDecode decodes ids one at a time and checks that no output chunk
// ends inside a UTF-8 sequence.
func streamDecode(t *testing.T, tok *Tokenizer, ids []int) string {
	t.Helper()
	d := tok.NewStreamDecoder()
	var sb strings.Builder
	for _, id := range ids {
		s := d.Add(id)
		if !utf8.ValidString(s) {
			t.Errorf("stream chunk %q after id %d is not valid UTF-8", s, id)
		}
		sb.WriteString(s)
	}
	s := d.Flush()
	if !utf8.ValidString(s) {
		t.Errorf("stream flush %q is not valid UTF-8", s)
	}
	sb.WriteString(s)
	return sb.String()
}

func checkVectors(t *testing.T, tok *Tokenizer, vs []vector) {
	t.Helper()
	bad := 0
	for i, v := range vs {
		got := tok.Encode(v.Text)
		if !reflect.DeepEqual(got, v.IDs) {
			bad++
			if bad <= 10 {
				t.Errorf("line %d: Encode(%q)\n got %v\nwant %v", i+1, v.Text, got, v.IDs)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d vectors encode differently", bad, len(vs))
	}
}

func TestMistralVectors(t *testing.T) {
	tok := mistral(t)
	vs := readVectors(t)
	if len(vs) != 644 {
		t.Fatalf("vectors.jsonl has %d lines, want 644", len(vs))
	}
	checkVectors(t, tok, vs)
	for i, v := range vs {
		want := v.Text
		if v.Decoded != nil {
			want = *v.Decoded
		}
		if got := tok.Decode(v.IDs); got != want {
			t.Errorf("line %d: Decode(%v) = %q, want %q", i+1, v.IDs, got, want)
		}
		if got := streamDecode(t, tok, v.IDs); got != want {
			t.Errorf("line %d: stream decode = %q, want %q", i+1, got, want)
		}
	}
}

func TestMistralFacts(t *testing.T) {
	tok := mistral(t)
	if tok.VocabSize() != 32000 || tok.BOS() != 1 || tok.EOS() != 2 || tok.Unk() != 0 {
		t.Errorf("vocab %d bos %d eos %d unk %d, want 32000 1 2 0", tok.VocabSize(), tok.BOS(), tok.EOS(), tok.Unk())
	}
	if tok.Piece(3) != "<0x00>" || tok.Piece(258) != "<0xFF>" || tok.Piece(259) != "▁▁" || tok.Piece(260) != "▁▁▁▁" {
		t.Errorf("pieces 3, 258, 259, 260 = %q %q %q %q", tok.Piece(3), tok.Piece(258), tok.Piece(259), tok.Piece(260))
	}
	if !tok.IsControl(1) || !tok.IsControl(2) || tok.IsControl(0) || tok.IsControl(259) || tok.IsControl(-1) || tok.IsControl(32000) {
		t.Error("IsControl wrong")
	}
	if tok.Piece(-1) != "" || tok.Piece(32000) != "" {
		t.Error("Piece out of range should be empty")
	}
	if tok.Kind() != "sentencepiece-bpe" {
		t.Errorf("Kind = %q", tok.Kind())
	}
	// Control and unknown pieces decode as SentencePiece prints them; ids out
	// of range are skipped.
	if got := tok.Decode([]int{1, 22557, -5, 2, 99999, 0}); got != "Hello ⁇ " {
		t.Errorf("Decode with control/unk/out of range = %q", got)
	}
}

// TestInvalidUTF8 checks malformed input against what SentencePiece's
// normalizer does: each bad byte becomes U+FFFD (the vectors include a
// literal U+FFFD, whose ids are the expected ones here).
func TestInvalidUTF8(t *testing.T) {
	tok := mistral(t)
	repl := tok.Encode("a\uFFFDb")
	for _, s := range []string{"a\xffb", "a\x80b", "a\xc3b", "a\xf0\x9fb"[:2] + "b"} {
		got := tok.Encode(s)
		if !reflect.DeepEqual(got, repl) {
			t.Errorf("Encode(%q) = %v, want %v (as for U+FFFD)", s, got, repl)
		}
	}
	// Each bad byte is its own replacement character, including the bytes
	// of a truncated sequence and of an encoded surrogate.
	for _, s := range []string{"a\xff\xfeb", "a\xf0\x9fb", "a\xed\xa0b"} {
		if a, b := tok.Encode(s), tok.Encode("a\uFFFD\uFFFDb"); !reflect.DeepEqual(a, b) {
			t.Errorf("Encode(%q) = %v, want %v", s, a, b)
		}
	}
}

func TestChatSample(t *testing.T) {
	tok := mistral(t)
	var sample struct {
		Messages []Message `json:"messages"`
	}
	readJSON(t, td+"mistral-v0.1/chat-sample/no_tools.sample.json", &sample)
	var want struct {
		Tokens []int `json:"tokens"`
	}
	readJSON(t, td+"mistral-v0.1/chat-sample/no_tools.tokens_v1.json", &want)
	if len(want.Tokens) != 118 {
		t.Fatalf("fixture has %d tokens", len(want.Tokens))
	}
	got, err := tok.EncodeChat(sample.Messages)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want.Tokens) {
		t.Fatalf("EncodeChat\n got %v\nwant %v", got, want.Tokens)
	}
	text, err := os.ReadFile(td + "mistral-v0.1/chat-sample/no_tools.text_v1.txt")
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, id := range got {
		sb.WriteString(tok.Piece(id))
	}
	if sb.String() != strings.TrimRight(string(text), "\n") {
		t.Errorf("pieces joined = %q\nwant %q", sb.String(), text)
	}
}

// surfaces joins the ids as text the way a chat template renders it:
// pieces with U+2581 as space, byte pieces as their byte, control pieces
// by name.
func surfaces(tok *Tokenizer, ids []int) string {
	var b []byte
	for _, id := range ids {
		if tok.IsByte(id) {
			b = append(b, tok.byteVal[id])
			continue
		}
		b = append(b, strings.ReplaceAll(tok.Piece(id), "▁", " ")...)
	}
	return string(b)
}

func TestChatTemplateLlamaCpp(t *testing.T) {
	tok := mistral(t)
	var f struct {
		Conversation []Message `json:"conversation"`
		Cases        []struct {
			Name           string `json:"name"`
			ExpectedOutput string `json:"expected_output"`
			BOS            string `json:"bos_token"`
		} `json:"cases"`
	}
	readJSON(t, td+"peers/llama.cpp/test-chat-template.mistral.json", &f)
	ids, err := tok.EncodeChat(f.Conversation)
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] != 1 {
		t.Fatalf("first id %d, want BOS", ids[0])
	}
	found := false
	for _, c := range f.Cases {
		// The v1 template (system prompt folded in with a blank line,
		// " [INST] " framing) is what EncodeChat renders.
		if !strings.Contains(c.Name, "'v1' template") {
			continue
		}
		found = true
		if got := surfaces(tok, ids[1:]); got != c.ExpectedOutput {
			t.Errorf("%s:\n got %q\nwant %q", c.Name, got, c.ExpectedOutput)
		}
	}
	if !found {
		t.Fatal("no v1 case in fixture")
	}
}

func TestChatErrors(t *testing.T) {
	tok := mistral(t)
	cases := [][]Message{
		nil,
		{{Role: "system", Content: "s"}},
		{{Role: "assistant", Content: "a"}},
		{{Role: "user", Content: "u"}, {Role: "user", Content: "u"}},
		{{Role: "user", Content: "u"}, {Role: "system", Content: "s"}},
		{{Role: "user", Content: "u"}, {Role: "assistant", Content: "a"}, {Role: "assistant", Content: "a"}},
		{{Role: "robot", Content: "u"}},
	}
	for _, c := range cases {
		if ids, err := tok.EncodeChat(c); err == nil {
			t.Errorf("EncodeChat(%v) = %v, want an error", c, ids)
		} else if !strings.Contains(err.Error(), "chat") {
			t.Errorf("error %q does not say it is about the chat", err)
		}
	}
	// A closing assistant message ends with EOS; a closing user message
	// with [/INST].
	ids, err := tok.EncodeChat([]Message{{Role: "user", Content: "Hi"}, {Role: "assistant", Content: "Hello"}})
	if err != nil {
		t.Fatal(err)
	}
	if ids[len(ids)-1] != tok.EOS() {
		t.Errorf("assistant-final chat does not end with EOS: %v", ids)
	}
	ids, err = tok.EncodeChat([]Message{{Role: "user", Content: "Hi"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(surfaces(tok, ids), " [/INST]") {
		t.Errorf("user-final chat does not end with [/INST]: %q", surfaces(tok, ids))
	}
}

func TestStories260k(t *testing.T) {
	tok, err := Load(storiesDir)
	if err != nil {
		t.Fatal(err)
	}
	if tok.VocabSize() != 512 {
		t.Errorf("vocab %d, want 512", tok.VocabSize())
	}
	var ref struct {
		Runs []struct {
			Prompt    string `json:"prompt"`
			PromptIDs []int  `json:"prompt_ids"`
		} `json:"runs"`
	}
	readJSON(t, "../testdata/models/stories260k/reference.json", &ref)
	if len(ref.Runs) == 0 {
		t.Fatal("no runs")
	}
	for _, r := range ref.Runs {
		got := append([]int{tok.BOS()}, tok.Encode(r.Prompt)...)
		if !reflect.DeepEqual(got, r.PromptIDs) {
			t.Errorf("prompt %q: got %v want %v", r.Prompt, got, r.PromptIDs)
		}
	}
}

func TestMistralTokenizerJS(t *testing.T) {
	tok := mistral(t)
	var f struct {
		Cases []struct {
			Input string `json:"input"`
			IDs   []int  `json:"expected_ids_with_bos"`
		} `json:"cases"`
	}
	readJSON(t, td+"peers/mistral-tokenizer-js/mistral-tokenizer-js.cases.json", &f)
	if len(f.Cases) != 12 {
		t.Fatalf("%d cases", len(f.Cases))
	}
	for _, c := range f.Cases {
		got := append([]int{tok.BOS()}, tok.Encode(c.Input)...)
		if !reflect.DeepEqual(got, c.IDs) {
			t.Errorf("%q: got %v want %v", c.Input, got, c.IDs)
		}
	}
}

func TestSentencePieceReference(t *testing.T) {
	var f struct {
		Models map[string][]struct {
			Input     string   `json:"input"`
			IDs       []int    `json:"ids"`
			Pieces    []string `json:"pieces"`
			Roundtrip bool     `json:"decode_roundtrip"`
		} `json:"models"`
	}
	readJSON(t, td+"peers/sentencepiece-reference.json", &f)
	for name, cases := range f.Models {
		t.Run(name, func(t *testing.T) {
			var tok *Tokenizer
			if strings.HasPrefix(name, "mistral") {
				tok = mistral(t)
			} else {
				tok = llama2(t)
			}
			for _, c := range cases {
				got := tok.Encode(c.Input)
				if c.IDs == nil {
					c.IDs = []int{}
				}
				if !reflect.DeepEqual(got, c.IDs) {
					t.Errorf("%q: got %v want %v", c.Input, got, c.IDs)
				}
				for i, id := range c.IDs {
					if tok.Piece(id) != c.Pieces[i] {
						t.Errorf("%q: Piece(%d) = %q, want %q", c.Input, id, tok.Piece(id), c.Pieces[i])
					}
				}
				if dec := tok.Decode(c.IDs); (dec == c.Input) != c.Roundtrip {
					t.Errorf("%q: Decode = %q, round trip should be %v", c.Input, dec, c.Roundtrip)
				}
			}
		})
	}
}

func TestLlama2Cases(t *testing.T) {
	tok := llama2(t)
	for _, file := range []string{"peers/llama-2/llama2c-test.cases.json", "peers/llama-2/llama-tokenizer-js.cases.json"} {
		var f struct {
			Cases []struct {
				Input string `json:"input"`
				IDs   []int  `json:"expected_ids_with_bos"`
			} `json:"cases"`
		}
		readJSON(t, td+file, &f)
		if len(f.Cases) == 0 {
			t.Fatalf("%s: no cases", file)
		}
		for _, c := range f.Cases {
			got := append([]int{tok.BOS()}, tok.Encode(c.Input)...)
			if !reflect.DeepEqual(got, c.IDs) {
				t.Errorf("%s %q: got %v want %v", file, c.Input, got, c.IDs)
			}
		}
	}
	var old struct {
		Cases []struct {
			Input string `json:"input"`
			IDs   []int  `json:"expected_ids_no_bos"`
		} `json:"cases"`
	}
	readJSON(t, td+"peers/llama.cpp/test-tokenizer-0-llama.cases.json", &old)
	if len(old.Cases) != 40 {
		t.Fatalf("%d llama.cpp cases, want 40", len(old.Cases))
	}
	for _, c := range old.Cases {
		if c.IDs == nil {
			c.IDs = []int{}
		}
		if got := tok.Encode(c.Input); !reflect.DeepEqual(got, c.IDs) {
			t.Errorf("llama.cpp %q: got %v want %v", c.Input, got, c.IDs)
		}
	}
}

// TestLlamaCppVocabVectors runs llama.cpp's ggml-vocab-llama-spm .inp/.out
// pairs. Their GGUF holds the same 32000 pieces and scores as Llama-2's
// tokenizer.model (checked when the fixtures were collected), so that model
// is used instead of parsing GGUF.
func TestLlamaCppVocabVectors(t *testing.T) {
	tok := llama2(t)
	inp, err := os.ReadFile(td + "peers/llama.cpp/ggml-vocab-llama-spm.gguf.inp")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(td + "peers/llama.cpp/ggml-vocab-llama-spm.gguf.out")
	if err != nil {
		t.Fatal(err)
	}
	inputs := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
	if inputs[len(inputs)-1] == "" {
		inputs = inputs[:len(inputs)-1]
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(inputs) != len(lines) || len(inputs) < 40 {
		t.Fatalf("%d inputs, %d outputs", len(inputs), len(lines))
	}
	for i, in := range inputs {
		want := []int{}
		for _, f := range strings.Fields(lines[i]) {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, n)
		}
		if got := tok.Encode(in); !reflect.DeepEqual(got, want) {
			t.Errorf("input %d %q: got %v want %v", i, in, got, want)
		}
	}
}

// TestStreamRandomIDs decodes random id sequences (rich in byte pieces, so
// partial and invalid UTF-8 occur) both ways.
func TestStreamRandomIDs(t *testing.T) {
	tok := mistral(t)
	rng := rand.New(rand.NewSource(1))
	for n := 0; n < 2000; n++ {
		ids := make([]int, rng.Intn(12))
		for i := range ids {
			switch rng.Intn(4) {
			case 0, 1:
				ids[i] = 3 + rng.Intn(256)
			case 2:
				ids[i] = rng.Intn(6)
			default:
				ids[i] = rng.Intn(32000)
			}
		}
		want := tok.Decode(ids)
		if got := streamDecode(t, tok, ids); got != want {
			t.Fatalf("ids %v: stream %q, Decode %q", ids, got, want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	good, err := os.ReadFile(td + "mistral-v0.1/tokenizer.model")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	wantErr := func(what string, err error, substr string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		if !strings.Contains(err.Error(), substr) {
			t.Errorf("%s: error %q does not mention %q", what, err, substr)
		}
	}
	// Truncation anywhere must be an error or, at a field boundary, a
	// smaller but consistent model; never a panic.
	for _, n := range []int{1, 2, 5, 100, 1000, len(good) / 2, len(good) - 1} {
		p := write("trunc.model", good[:n])
		if _, err := Load(p); err == nil && n < 1000 {
			t.Errorf("truncated to %d bytes: no error", n)
		} else if err != nil && !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not name the file", err)
		}
	}
	_, err = Load(write("trunc.model", good[:len(good)-1]))
	wantErr("truncated by one byte", err, "truncated")

	_, err = FromModelProto(nil)
	wantErr("empty", err, "empty")
	_, err = FromModelProto(buildModel(nil, 2))
	wantErr("no pieces", err, "no pieces")
	_, err = FromModelProto(buildModel([]rawPiece{{"<unk>", 0, typeUnknown}, {"a", 0, typeNormal}}, 1))
	wantErr("unigram", err, "UNIGRAM")
	_, err = FromModelProto(buildModel([]rawPiece{{"<unk>", 0, typeUnknown}, {"a", 0, typeNormal}}, 3))
	wantErr("word", err, "only BPE")
	_, err = FromModelProto(buildModel([]rawPiece{{"a", 0, typeNormal}}, 2))
	wantErr("no unk", err, "UNKNOWN")
	_, err = FromModelProto(buildModel([]rawPiece{{"<unk>", 0, typeUnknown}, {"a", 0, typeNormal}, {"a", 0, typeNormal}}, 2))
	wantErr("duplicate", err, "already defined")
	// trainer_spec.bos_id (field 41) = 7 with two pieces.
	bad := buildModel([]rawPiece{{"<unk>", 0, typeUnknown}, {"a", 0, typeNormal}}, 2)
	bad = appendBytesField(bad, 2, []byte{0xc8, 0x02, 7})
	_, err = FromModelProto(bad)
	wantErr("bos out of range", err, "bos_id 7 is out of range")
	_, err = FromModelProto([]byte{0x0a, 0x05, 0x0a, 0x01})
	wantErr("bad length", err, "truncated")
	_, err = Load(filepath.Join(dir, "missing.model"))
	wantErr("missing file", err, "missing.model")
	_, err = Load(dir)
	wantErr("empty dir", err, "no tokenizer.model")

	// tokenizer.json
	js := string(buildJSON(t, mistral(t), false))
	_, err = Load(write("tokenizer.json", []byte(js[:len(js)/2])))
	wantErr("truncated json", err, "tokenizer.json")
	_, err = FromJSON([]byte(`{"model":{"type":"WordPiece","vocab":{"a":0}}}`))
	wantErr("wordpiece", err, "only BPE")
	_, err = FromJSON([]byte(`{"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0.0],["a",-1.5]]}}`))
	wantErr("unigram json", err, "only BPE")
	_, err = FromJSON([]byte(`{"model":{"type":"BPE","vocab":{},"merges":[]}}`))
	wantErr("no vocab", err, "no vocabulary")
	_, err = FromJSON([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":7},"merges":[]}}`))
	wantErr("gap", err, "id 1")
	_, err = FromJSON([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":-1},"merges":[]}}`))
	wantErr("negative id", err, "out of range")
	_, err = FromJSON([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":99999999},"merges":[]}}`))
	wantErr("huge id", err, "out of range")
	_, err = FromJSON([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":["a c"]}}`))
	wantErr("bad merge", err, "missing from the vocabulary")
	_, err = FromJSON([]byte(`{"normalizer":{"type":"NFKC"},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}`))
	wantErr("nfkc", err, "NFKC")
}

// buildModel writes a minimal ModelProto with the given pieces and
// trainer_spec.model_type.
func buildModel(pieces []rawPiece, modelType int) []byte {
	var b []byte
	for _, p := range pieces {
		var pb []byte
		pb = appendBytesField(pb, 1, []byte(p.piece))
		pb = append(pb, 0x15)
		pb = appendFixed32(pb, p.score)
		pb = append(pb, 0x18, byte(p.typ))
		b = appendBytesField(b, 1, pb)
	}
	ts := []byte{0x18, byte(modelType)}
	b = appendBytesField(b, 2, ts)
	return b
}

func appendBytesField(b []byte, num int, v []byte) []byte {
	b = append(b, byte(num<<3|2))
	l := len(v)
	for l >= 0x80 {
		b = append(b, byte(l)|0x80)
		l >>= 7
	}
	b = append(b, byte(l))
	return append(b, v...)
}

func appendFixed32(b []byte, f float32) []byte {
	var x [4]byte
	u := math.Float32bits(f)
	x[0], x[1], x[2], x[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	return append(b, x[:]...)
}

// buildJSON converts a SentencePiece vocabulary into an HF tokenizer.json
// the way HF's converter does for Llama/Mistral: the vocabulary, merges for
// every split of a piece into two pieces ordered by the merged piece's
// score, byte_fallback, and either the legacy Prepend+Replace normalizer or
// a Metaspace pre-tokenizer. It is a format conversion only; the expected
// ids stay those of the SentencePiece vectors.
func buildJSON(t testing.TB, tok *Tokenizer, metaspace bool) []byte {
	t.Helper()
	vocab := make(map[string]int)
	type merge struct {
		a, b  string
		score float32
		id    int
	}
	var merges []merge
	var added []map[string]any
	for id, p := range tok.pieces {
		vocab[p] = id
		switch tok.types[id] {
		case typeControl, typeUnknown:
			added = append(added, map[string]any{"id": id, "content": p, "special": true})
		case typeNormal:
			for k := 1; k < len(p); k++ {
				if !utf8.RuneStart(p[k]) {
					continue
				}
				l, r := p[:k], p[k:]
				if _, ok := tok.mergeable[l]; !ok {
					continue
				}
				if _, ok := tok.mergeable[r]; !ok {
					continue
				}
				merges = append(merges, merge{l, r, tok.scores[id], id})
			}
		}
	}
	// Stable order: by score (highest first), then by id.
	for i := 1; i < len(merges); i++ {
		for j := i; j > 0 && (merges[j].score > merges[j-1].score || merges[j].score == merges[j-1].score && merges[j].id < merges[j-1].id); j-- {
			merges[j], merges[j-1] = merges[j-1], merges[j]
		}
	}
	ms := make([]string, len(merges))
	for i, m := range merges {
		ms[i] = m.a + " " + m.b
	}
	f := map[string]any{
		"version":      "1.0",
		"added_tokens": added,
		"model": map[string]any{
			"type": "BPE", "unk_token": "<unk>", "byte_fallback": true, "fuse_unk": true,
			"vocab": vocab, "merges": ms,
		},
	}
	if metaspace {
		f["normalizer"] = nil
		f["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}
	} else {
		f["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "Prepend", "prepend": "▁"},
			map[string]any{"type": "Replace", "pattern": map[string]string{"String": " "}, "content": "▁"},
		}}
		f["pre_tokenizer"] = nil
	}
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

var (
	jsonOnce sync.Once
	jsonTok  *Tokenizer
	jsonErr  error
)

func mistralJSON(t testing.TB) *Tokenizer {
	t.Helper()
	jsonOnce.Do(func() { jsonTok, jsonErr = FromJSON(buildJSON(t, mistral(t), false)) })
	if jsonErr != nil {
		t.Fatal(jsonErr)
	}
	return jsonTok
}

func TestFromJSONVectors(t *testing.T) {
	tok := mistralJSON(t)
	if tok.Kind() != "hf-bpe" || tok.VocabSize() != 32000 || tok.BOS() != 1 || tok.EOS() != 2 {
		t.Fatalf("kind %q vocab %d bos %d eos %d", tok.Kind(), tok.VocabSize(), tok.BOS(), tok.EOS())
	}
	vs := readVectors(t)
	checkVectors(t, tok, vs)
	for i, v := range vs {
		want := v.Text
		if v.Decoded != nil {
			want = *v.Decoded
		}
		if got := tok.Decode(v.IDs); got != want {
			t.Errorf("line %d: Decode = %q, want %q", i+1, got, want)
		}
	}
	// Load picks tokenizer.json from a directory without tokenizer.model.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), buildJSON(t, mistral(t), false), 0o644); err != nil {
		t.Fatal(err)
	}
	lt, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := lt.Encode("Hello world"); !reflect.DeepEqual(got, []int{22557, 1526}) {
		t.Errorf("Load(dir with tokenizer.json).Encode = %v", got)
	}
}

// TestFromJSONMetaspace: with the newer Metaspace pre-tokenizer
// (prepend_scheme "first") text that does not start with a space encodes as
// SentencePiece does.
func TestFromJSONMetaspace(t *testing.T) {
	tok, err := FromJSON(buildJSON(t, mistral(t), true))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range readVectors(t) {
		if v.Text == "" || v.Text[0] == ' ' || strings.HasPrefix(v.Text, "▁") || !utf8.ValidString(v.Text) {
			continue
		}
		n++
		if got := tok.Encode(v.Text); !reflect.DeepEqual(got, v.IDs) {
			t.Errorf("Encode(%q) = %v, want %v", v.Text, got, v.IDs)
		}
	}
	if n < 500 {
		t.Errorf("only %d vectors checked", n)
	}
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// roundTrips reports whether SentencePiece's decode(encode(s)) == s is
// expected: valid UTF-8 without U+2581 (which decodes to a space).
func roundTrips(s string) bool {
	return utf8.ValidString(s) && !strings.Contains(s, "▁")
}

func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", " ", "Hello world", "  a\n\tb ", "日本語🚀", "a\xffb\xc3", "<s>[INST] x [/INST]</s>", "▁▁x", "\x00\x01"} {
		f.Add(s)
	}
	tok := mistral(f)
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		again := tok.Encode(s)
		if !reflect.DeepEqual(ids, again) {
			t.Fatalf("Encode(%q) not deterministic: %v vs %v", s, ids, again)
		}
		for _, id := range ids {
			if id < 0 || id >= tok.VocabSize() || tok.IsControl(id) {
				t.Fatalf("Encode(%q) produced id %d", s, id)
			}
		}
		dec := tok.Decode(ids)
		if roundTrips(s) && dec != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, dec)
		}
		if got := streamDecode(t, tok, ids); got != dec {
			t.Fatalf("stream decode %q != Decode %q", got, dec)
		}
	})
}

func FuzzFromModelProto(f *testing.F) {
	good, err := os.ReadFile(storiesDir + "/tokenizer.model")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(buildModel([]rawPiece{{"<unk>", 0, typeUnknown}, {"a", 0, typeNormal}, {"b", -1, typeNormal}, {"ab", -2, typeNormal}}, 2))
	f.Add(buildModel([]rawPiece{{"<unk>", 0, typeUnknown}, {"x", 0, typeUnused}, {"<u>", 0, typeUserDefined}}, 2))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := FromModelProto(data)
		if err != nil {
			return
		}
		exercise(t, tok)
	})
}

func FuzzFromJSON(f *testing.F) {
	f.Add([]byte(`{"model":{"type":"BPE","unk_token":"<unk>","byte_fallback":true,"vocab":{"<unk>":0,"<0x61>":1,"▁":2,"b":3,"▁b":4},"merges":["▁ b"]},"normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]},"added_tokens":[{"id":0,"content":"<unk>","special":true}]}`))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b"]]},"pre_tokenizer":{"type":"Metaspace","replacement":"▁","split":true}}`))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := FromJSON(data)
		if err != nil {
			return
		}
		exercise(t, tok)
	})
}

// exercise runs every entry point on a fuzz-built tokenizer: nothing may
// panic, ids must be in range, and streaming must agree with Decode.
func exercise(t *testing.T, tok *Tokenizer) {
	for _, s := range []string{"", "ab ba", " a  b\xff", "<s>\u2581x"} {
		ids := tok.Encode(s)
		for _, id := range ids {
			if id < 0 || id >= tok.VocabSize() {
				t.Fatalf("Encode(%q) produced id %d of %d", s, id, tok.VocabSize())
			}
		}
		if dec, st := tok.Decode(ids), streamDecode(t, tok, ids); dec != st {
			t.Fatalf("stream %q != Decode %q", st, dec)
		}
	}
	all := make([]int, 0, tok.VocabSize()+2)
	for i := -1; i <= tok.VocabSize() && i < 600; i++ {
		all = append(all, i)
	}
	_ = tok.Decode(all)
	_, _ = tok.EncodeChat([]Message{{Role: "user", Content: "a b"}, {Role: "assistant", Content: "b"}})
	_ = tok.Piece(0) + tok.Kind() + fmt.Sprint(tok.BOS(), tok.EOS(), tok.IsControl(0))
}

// TestFastPathsEqualPlainBPE checks the speed-ups (cutting the text into
// chunks, the per-call chunk cache, the quadratic scan for short chunks)
// against SentencePiece's plain algorithm: one heap over the whole string.
func TestFastPathsEqualPlainBPE(t *testing.T) {
	t.Run("v1", func(t *testing.T) { checkFastPaths(t, mistral(t)) })
	// v3 has USER_DEFINED pieces, greedily matched in the chunks.
	t.Run("v3", func(t *testing.T) { checkFastPaths(t, mistralV3(t)) })
}

func checkFastPaths(t *testing.T, fast *Tokenizer) {
	if !fast.chunking {
		t.Fatal("chunking is off")
	}
	plain := *fast
	plain.chunking = false
	plain.heapOnly = true
	texts := []string{frenchText(t, 20<<10)}
	for _, v := range readVectors(t) {
		texts = append(texts, v.Text)
	}
	rng := rand.New(rand.NewSource(7))
	alphabet := []string{" ", "  ", "▁", "a", "b", "e", "s", "t", "é", "日", "🚀", "\n", "\xff", "the", "ing", " of", "[REFERENCE_DOC_1]", "[REFERENCE_DOC_", "[INST]", " [REFERENCE_DOC_12]"}
	for i := 0; i < 500; i++ {
		var sb strings.Builder
		for j := rng.Intn(40); j > 0; j-- {
			sb.WriteString(alphabet[rng.Intn(len(alphabet))])
		}
		texts = append(texts, sb.String())
	}
	for _, s := range texts {
		if a, b := fast.Encode(s), plain.Encode(s); !reflect.DeepEqual(a, b) {
			t.Fatalf("Encode(%q): fast %v, plain %v", s, a, b)
		}
	}
}

// buildModelNorm is buildModel plus byte_fallback and a normalizer_spec
// with the given add_dummy_prefix / remove_extra_whitespaces flags.
func buildModelNorm(pieces []rawPiece, byteFallback, dummy, removeWS bool) []byte {
	b := buildModel(nil, 2)[:0]
	for _, p := range pieces {
		var pb []byte
		pb = appendBytesField(pb, 1, []byte(p.piece))
		pb = append(pb, 0x15)
		pb = appendFixed32(pb, p.score)
		pb = append(pb, 0x18, byte(p.typ))
		b = appendBytesField(b, 1, pb)
	}
	ts := []byte{0x18, 2}
	if byteFallback {
		ts = append(ts, 0x98, 0x02, 1) // field 35, varint
	}
	b = appendBytesField(b, 2, ts)
	ns := appendBytesField(nil, 1, []byte("identity"))
	ns = append(ns, 0x18, boolByte(dummy), 0x20, boolByte(removeWS))
	return appendBytesField(b, 3, ns)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// TestSmallModels checks rules that the real vocabularies do not exercise,
// on hand-built models whose expected ids follow from SentencePiece's
// algorithm by hand.
func TestSmallModels(t *testing.T) {
	// UNUSED pieces may be merged through but are split back (resegment).
	tok, err := FromModelProto(buildModelNorm([]rawPiece{
		{"<unk>", 0, typeUnknown}, {"▁", 0, typeNormal}, {"a", 0, typeNormal}, {"b", 0, typeNormal},
		{"ab", -1, typeUnused}, {"abb", -2, typeNormal}, {"<u>", 0, typeUserDefined},
	}, false, true, false))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		want []int
	}{
		{"ab", []int{1, 2, 3}},       // ▁ a b: "ab" is UNUSED
		{"abb", []int{1, 5}},         // ▁ abb: merged through the UNUSED "ab"
		{"a<u>b", []int{1, 2, 6, 3}}, // user-defined piece kept whole
		{"zzz b", []int{1, 0, 1, 3}}, // no byte fallback: a run of unknowns is one <unk>
		{"z<u>z", []int{1, 0, 6, 0}}, // ... but only a consecutive run
		{"<u", []int{1, 0}},          // "<" and "u": one run of unknowns, never <u>
		{"", []int{}},
	} {
		if got := tok.Encode(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	if got := tok.Decode([]int{1, 2, 0, 6}); got != "a ⁇ <u>" {
		t.Errorf("Decode = %q", got)
	}

	// remove_extra_whitespaces collapses runs and trims; no dummy prefix.
	tok, err = FromModelProto(buildModelNorm([]rawPiece{
		{"<unk>", 0, typeUnknown}, {"▁", 0, typeNormal}, {"a", 0, typeNormal}, {"b", 0, typeNormal},
	}, false, false, true))
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Encode("   a    b  "); !reflect.DeepEqual(got, []int{2, 1, 3}) {
		t.Errorf("remove_extra_whitespaces: Encode = %v, want [2 1 3]", got)
	}
	if got := tok.Encode("    "); len(got) != 0 {
		t.Errorf("all-space input = %v, want []", got)
	}

	// Pieces longer than the pair table's limit merge through the string
	// lookup: 'a' doubled up to 512 bytes, longer pieces scoring higher.
	pieces := []rawPiece{{"<unk>", 0, typeUnknown}, {"▁", 0, typeNormal}}
	for n := 1; n <= 512; n *= 2 {
		pieces = append(pieces, rawPiece{strings.Repeat("a", n), float32(n), typeNormal})
	}
	tok, err = FromModelProto(buildModelNorm(pieces, false, true, false))
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Encode(strings.Repeat("a", 512)); !reflect.DeepEqual(got, []int{1, len(pieces) - 1}) {
		t.Errorf("512 a's = %v, want [1 %d]", got, len(pieces)-1)
	}
	if got := tok.Encode(strings.Repeat("a", 768)); !reflect.DeepEqual(got, []int{1, len(pieces) - 1, len(pieces) - 2}) {
		t.Errorf("768 a's = %v, want [1 %d %d]", got, len(pieces)-1, len(pieces)-2)
	}
}
