package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/gale-ai/gale/kernels"
	"github.com/gale-ai/gale/tokenizer"
)

// forEachFeatureSet runs f at every CPU feature set this machine has.
func forEachFeatureSet(t *testing.T, f func(t *testing.T)) {
	saved := kernels.CurrentFeatures()
	defer kernels.SetFeatures(saved)
	for _, fs := range kernels.FeatureSets() {
		if err := kernels.SetFeatures(fs); err != nil {
			t.Fatal(err)
		}
		t.Run(fs.String(), f)
	}
}

// relDiff is max |got-want| over the row divided by max |want|.
func relDiff(got, want []float32) float64 {
	var d, m float64
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i])-float64(want[i])))
		m = math.Max(m, math.Abs(float64(want[i])))
		if got[i] != got[i] {
			return math.Inf(1)
		}
	}
	return d / math.Max(m, 1e-30)
}

// batchPlan is one pass of a batched schedule: for each sequence, how
// many of its next tokens the pass takes (0 = not in this pass).
type batchPlan [][]int

// TestEngineBatchEquivalence runs four sequences of the tiny Mistral model
// through one engine, passes mixing prompt chunks of sequences that are
// starting with decode rows of running ones, the sequences at different
// positions and three of them wrapping the 8-slot window ring several
// times; and each sequence alone, through its own engine, with the same
// chunks in the same order. Every logit row must agree within 1e-5
// relative, at every CPU feature set, f32 and f16 caches, f32 and bf16
// weights. Sequence 0 is the fixture's token list, so its batched logits
// are also checked against the float64 reference.
func TestEngineBatchEquivalence(t *testing.T) {
	var ref tinyReference
	readJSON(t, filepath.Join(tinyDir, "reference.json"), &ref)
	toks := ref.Tokens
	seqs := [][]int{
		toks, // 40 tokens
		append(append([]int{}, toks[20:]...), toks[:13]...), // 33
		toks[3:14], // 11
		append(append([]int{}, toks[30:]...), toks...), // 50
	}
	// Per pass, tokens of each sequence: sequence 0 prefills in chunks,
	// 1 starts late, 2 is short and decodes, 3 starts last with one long
	// chunk (over the attention-block threshold) beside decode rows.
	var plan batchPlan
	plan = append(plan, []int{12, 5, 0, 0}, []int{1, 9, 3, 0}, []int{1, 1, 8, 0}, []int{10, 1, 0, 20})
	for i := 0; i < 30; i++ {
		plan = append(plan, []int{1, 1, 0, 1})
	}
	for i := 0; i < 30; i++ {
		plan = append(plan, []int{1, 1, 0, 1})
	}
	forEachFeatureSet(t, func(t *testing.T) {
		for _, variant := range []string{"f32", "bf16"} {
			m, err := Load(filepath.Join(tinyDir, variant), LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := readLogits(t, filepath.Join(tinyDir, variant, "logits.safetensors"))
			for _, f16 := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/kvf16=%v", variant, f16), func(t *testing.T) {
					runBatchPlan(t, m, seqs, plan, f16, want)
				})
			}
			m.Close()
		}
	})
}

func runBatchPlan(t *testing.T, m *Model, seqs [][]int, plan batchPlan, f16 bool, want [][]float32) {
	vocab := m.Config.VocabSize
	e, err := m.NewEngine(EngineOptions{Threads: 2, MaxRows: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// Each sequence alone: its own engine and sequence.
	type solo struct {
		e *Engine
		s *Sequence
	}
	var batched []*Sequence
	var alone []solo
	for range seqs {
		s, err := e.NewSequence(SequenceOptions{KVF16: f16})
		if err != nil {
			t.Fatal(err)
		}
		batched = append(batched, s)
		e1, err := m.NewEngine(EngineOptions{Threads: 2, MaxRows: 64})
		if err != nil {
			t.Fatal(err)
		}
		defer e1.Close()
		s1, err := e1.NewSequence(SequenceOptions{KVF16: f16})
		if err != nil {
			t.Fatal(err)
		}
		alone = append(alone, solo{e1, s1})
	}
	next := make([]int, len(seqs))
	wrapped := 0
	for pi, pass := range plan {
		var chunks []Chunk
		var who []int
		for si, n := range pass {
			n = min(n, len(seqs[si])-next[si])
			if n <= 0 {
				continue
			}
			chunks = append(chunks, Chunk{Seq: batched[si], Tokens: seqs[si][next[si] : next[si]+n], Logits: LogitsAll})
			who = append(who, si)
		}
		if len(chunks) == 0 {
			continue
		}
		// Copy the batched logits: the alone passes below reuse nothing
		// of this engine, but the next batched pass would.
		outs, err := e.Forward(chunks)
		if err != nil {
			t.Fatal(err)
		}
		for ci, si := range who {
			ch := chunks[ci]
			got := append([]float32(nil), outs[ci]...)
			one, err := alone[si].e.Forward([]Chunk{{Seq: alone[si].s, Tokens: ch.Tokens, Logits: LogitsAll}})
			if err != nil {
				t.Fatal(err)
			}
			for i := range ch.Tokens {
				pos := next[si] + i
				g, w := got[i*vocab:(i+1)*vocab], one[0][i*vocab:(i+1)*vocab]
				if d := relDiff(g, w); !(d <= 1e-5) {
					t.Fatalf("pass %d, sequence %d, position %d: batched logits differ from alone by %.3g relative (> 1e-5)", pi, si, pos, d)
				}
				if si == 0 {
					tol := 1e-4
					if f16 {
						tol = 2e-3
					}
					compareLogits(t, pos, g, want[pos], tol)
				}
				if pos >= 8 {
					wrapped |= 1 << si
				}
			}
			next[si] += len(ch.Tokens)
		}
	}
	for si := range seqs {
		if next[si] != len(seqs[si]) || batched[si].Pos() != len(seqs[si]) {
			t.Fatalf("sequence %d: ran %d of %d tokens (Pos %d)", si, next[si], len(seqs[si]), batched[si].Pos())
		}
	}
	if wrapped != 0b1111 {
		t.Fatalf("not every sequence wrapped the window: %b", wrapped)
	}
}

// TestEngineChunkingInvariance: a sequence's logits do not depend on how
// its tokens are cut into passes, with an f16 cache too (the pass's own
// keys are rounded as the cache's are: without that, one chunk and token
// by token differed by 2.3e-4 on the tiny model, against 1e-6 with f32).
func TestEngineChunkingInvariance(t *testing.T) {
	var ref tinyReference
	readJSON(t, filepath.Join(tinyDir, "reference.json"), &ref)
	toks := ref.Tokens
	m, err := Load(filepath.Join(tinyDir, "f32"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, f16 := range []bool{false, true} {
		run := func(step int) []float32 {
			e, err := m.NewEngine(EngineOptions{Threads: 2, MaxRows: 64})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			s, err := e.NewSequence(SequenceOptions{KVF16: f16})
			if err != nil {
				t.Fatal(err)
			}
			var last []float32
			for i := 0; i < len(toks); i += step {
				outs, err := e.Forward([]Chunk{{Seq: s, Tokens: toks[i:min(len(toks), i+step)], Logits: LogitsLast}})
				if err != nil {
					t.Fatal(err)
				}
				last = append(last[:0], outs[0]...)
			}
			return last
		}
		whole := run(len(toks))
		for _, step := range []int{1, 3, 16} {
			if d := relDiff(run(step), whole); !(d <= 1e-5) {
				t.Errorf("kvf16=%v: chunks of %d differ from one chunk by %.3g relative (> 1e-5)", f16, step, d)
			}
		}
	}
}

// TestEngineRejectsBadBatches: a sequence twice, too many rows, another
// engine's sequence, a full context or a bad token id are errors that
// change nothing.
func TestEngineRejectsBadBatches(t *testing.T) {
	m, err := Load(filepath.Join(tinyDir, "f32"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	e, _ := m.NewEngine(EngineOptions{Threads: 1, MaxRows: 8})
	defer e.Close()
	other, _ := m.NewEngine(EngineOptions{Threads: 1, MaxRows: 8})
	defer other.Close()
	a, _ := e.NewSequence(SequenceOptions{CtxSize: 10})
	b, _ := e.NewSequence(SequenceOptions{})
	c, _ := other.NewSequence(SequenceOptions{})
	for name, batch := range map[string][]Chunk{
		"twice":   {{Seq: a, Tokens: []int{1}}, {Seq: a, Tokens: []int{2}}},
		"rows":    {{Seq: a, Tokens: []int{1, 2, 3, 4, 5}}, {Seq: b, Tokens: []int{1, 2, 3, 4}}},
		"other":   {{Seq: c, Tokens: []int{1}}},
		"empty":   {{Seq: a}},
		"token":   {{Seq: b, Tokens: []int{256}}},
		"context": {{Seq: a, Tokens: []int{1, 2, 3, 4, 5, 6, 7, 8}}, {Seq: b, Tokens: []int{1}}},
	} {
		if name == "context" {
			if _, err := e.Forward([]Chunk{{Seq: a, Tokens: []int{1, 2, 3, 4, 5}}}); err != nil {
				t.Fatal(err)
			}
		}
		pa, pb := a.Pos(), b.Pos()
		if _, err := e.Forward(batch); err == nil {
			t.Errorf("%s: no error", name)
		} else if name != "context" && name != "token" && !errors.Is(err, ErrBatch) {
			t.Errorf("%s: %v is not ErrBatch", name, err)
		}
		if a.Pos() != pa || b.Pos() != pb {
			t.Errorf("%s: positions moved", name)
		}
	}
}

// TestSequencePrefixReuse: a prompt sharing a prefix with what the cache
// holds prefills only the rest, and the logits after it equal those of the
// whole prompt run from scratch (up to chunking rounding); on a ring that
// has run past the window, a divergence further back than the ring holds
// reuses nothing.
func TestSequencePrefixReuse(t *testing.T) {
	var ref tinyReference
	readJSON(t, filepath.Join(tinyDir, "reference.json"), &ref)
	want := readLogits(t, filepath.Join(tinyDir, "f32", "logits.safetensors"))
	m, err := Load(filepath.Join(tinyDir, "f32"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession(SessionOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	toks := ref.Tokens
	// Within the window (positions < 8 never overwritten): a prompt that
	// shares 5 tokens with the cache's 6.
	if _, err := s.Prefill(append(append([]int{}, toks[:5]...), 7)); err != nil {
		t.Fatal(err)
	}
	rest := s.ReusePrefix(toks[:7])
	if len(rest) != 2 || s.Pos() != 5 {
		t.Fatalf("reuse within the window: %d tokens to run at position %d, want 2 at 5", len(rest), s.Pos())
	}
	l, err := s.Prefill(rest)
	if err != nil {
		t.Fatal(err)
	}
	compareLogits(t, 6, l, want[6], 1e-4)
	// Past the ring: the cache holds positions 32..39 of 40.
	s.Reset()
	if _, err := s.Prefill(toks); err != nil {
		t.Fatal(err)
	}
	if k := s.Sequence().SharedPrefix(toks[:30]); k != 0 {
		t.Fatalf("prefix of 29 reusable on a ring holding 32..39: %d", k)
	}
	// The same prompt again: only its last token is run.
	rest = s.ReusePrefix(toks)
	if len(rest) != 1 || s.Pos() != 39 {
		t.Fatalf("same prompt: %d tokens to run at %d, want 1 at 39", len(rest), s.Pos())
	}
	if l, err = s.Prefill(rest); err != nil {
		t.Fatal(err)
	}
	compareLogits(t, 39, l, want[39], 1e-4)
	// A full-context cache (no ring) keeps any shared prefix.
	big, err := m.NewSession(SessionOptions{Threads: 1, CtxSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	if _, err := big.Prefill(toks[:8]); err != nil {
		t.Fatal(err)
	}
	if k := big.Sequence().SharedPrefix(append(append([]int{}, toks[:3]...), 9, 9)); k != 3 {
		t.Fatalf("full cache: shared prefix %d, want 3", k)
	}
}

// TestGenerateReusesPrefix: a second generation whose prompt extends the
// first (a chat's next turn) prefills only the new tokens and produces
// the greedy tokens a fresh session produces for the whole prompt.
func TestGenerateReusesPrefix(t *testing.T) {
	m, err := LoadDefault(LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tok := m.Tokenizer
	s, _ := m.NewSession(SessionOptions{Threads: 2})
	defer s.Close()
	fresh, _ := m.NewSession(SessionOptions{Threads: 2})
	defer fresh.Close()
	p1 := append([]int{tok.BOS()}, tok.Encode("Once upon a time, there was a girl")...)
	r1, err := s.Generate(context.Background(), p1, GenerateOptions{MaxTokens: 10})
	if err != nil {
		t.Fatal(err)
	}
	p2 := append(append(append([]int{}, p1...), r1.Tokens...), tok.Encode(" and a dog")...)
	r2, err := s.Generate(context.Background(), p2, GenerateOptions{MaxTokens: 20})
	if err != nil {
		t.Fatal(err)
	}
	// The answer's last token ended the generation (MaxTokens) and was
	// never fed: the cache holds the prompt and the answer less one.
	if want := len(p1) + len(r1.Tokens) - 1; r2.ReusedTokens != want {
		t.Errorf("reused %d tokens, want the %d of the first prompt and answer", r2.ReusedTokens, want)
	}
	r3, err := fresh.Generate(context.Background(), p2, GenerateOptions{MaxTokens: 20})
	if err != nil {
		t.Fatal(err)
	}
	if r3.ReusedTokens != 0 || fmt.Sprint(r2.Tokens) != fmt.Sprint(r3.Tokens) {
		t.Errorf("with reuse %v, fresh %v (reused %d)", r2.Tokens, r3.Tokens, r3.ReusedTokens)
	}
}

// TestChatPolicy: history windowing drops the oldest exchanges but keeps
// the system prompt and the last message; prompt fitting keeps BOS and
// the end.
func TestChatPolicy(t *testing.T) {
	// One token per message, +1 for BOS: lengths are easy to count.
	enc := func(msgs []tokenizer.Message) ([]int, error) {
		ids := []int{1}
		for range msgs {
			ids = append(ids, 7)
		}
		return ids, nil
	}
	msgs := []tokenizer.Message{{Role: "system", Content: "s"}, {Role: "user", Content: "u1"}, {Role: "assistant", Content: "a1"},
		{Role: "user", Content: "u2"}, {Role: "assistant", Content: "a2"}, {Role: "user", Content: "u3"}}
	kept, ids, dropped, err := WindowChat(msgs, 8, 4, enc) // 7 tokens + 4 > 8: drop u1,a1 (5+4 > 8), then u2,a2 (3+4 <= 8)
	if err != nil || dropped != 4 || len(kept) != 2 || kept[0].Content != "s" || kept[1].Content != "u3" || len(ids) != 3 {
		t.Fatalf("WindowChat: kept %v, %d ids, dropped %d, %v", kept, len(ids), dropped, err)
	}
	if _, _, _, err := WindowChat(msgs, 3, 4, enc); !errors.Is(err, ErrHistoryTooLong) {
		t.Fatalf("a last message that cannot fit: %v", err)
	}
	ids = []int{1, 10, 11, 12, 13, 14, 15, 16, 17, 18}
	out, tr, err := FitPrompt(ids, 8, 1, 3, true)
	if err != nil || !tr || fmt.Sprint(out) != "[1 15 16 17 18]" {
		t.Fatalf("FitPrompt: %v %v %v", out, tr, err)
	}
	if _, _, err := FitPrompt(ids, 8, 1, 3, false); !errors.Is(err, ErrPromptTooLong) {
		t.Fatalf("FitPrompt without truncation: %v", err)
	}
	if GenerateRoom(100, -1) != 25 || GenerateRoom(100, 80) != 50 || ChatRoom(100, 0) != 25 || ChatRoom(100, 10) != 10 {
		t.Fatal("room")
	}
}

// BenchmarkEngineDecode is one decode pass of n sequences on the
// embedded model: the time per pass and per row.
func BenchmarkEngineDecode(b *testing.B) {
	m, err := LoadDefault(LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	for _, n := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("seqs=%d", n), func(b *testing.B) {
			e, _ := m.NewEngine(EngineOptions{Threads: 2})
			defer e.Close()
			chunks := make([]Chunk, n)
			for i := range chunks {
				s, _ := e.NewSequence(SequenceOptions{CtxSize: 1 << 20})
				chunks[i] = Chunk{Seq: s, Tokens: []int{1 + i}, Logits: LogitsLast}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := e.Forward(chunks); err != nil {
					b.Fatal(err)
				}
				if i%256 == 255 {
					for _, c := range chunks {
						c.Seq.Reset()
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
		})
	}
}
