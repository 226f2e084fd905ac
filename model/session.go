package model

import (
	"fmt"
	"math"
)

// SessionOptions size a session's cache and threads.
type SessionOptions struct {
	Threads   int  // worker threads; 0 = physical cores
	CtxSize   int  // maximum positions; 0 = the model's MaxSeqLen
	ChunkSize int  // prefill chunk; 0 = DefaultChunk, capped at the sliding window
	KVF16     bool // store the KV cache as f16, halving its memory
	Prefault  bool // map the cache's pages now (SequenceOptions.Prefault)
}

// DefaultChunk is the prefill chunk size when none is given: large enough
// for the matrix-product kernel to reuse weights well, small enough that
// the chunk's activations stay modest (about 100 MB for Mistral-7B). At
// 512 a 512-token prompt reads the weights once: with AMX tiles the
// products are so fast that reading a 14.5 GB BF16 model twice would cost
// 0.5 s of a 2.5 s pp512.
const DefaultChunk = 512

// Session is one sequence on its own engine: the KV cache, the position,
// the scratch buffers and the worker pool. It is the single-sequence view
// of Engine and Sequence that the CLI and the tests use. A session is used
// by one goroutine at a time.
type Session struct {
	m     *Model
	cfg   Config
	e     *Engine
	seq   *Sequence
	chunk int // prefill chunk size
	batch [1]Chunk
	one   [1]int // Step's token, here so that it does not escape per call
}

// NewSession allocates a session's cache and scratch and starts its worker
// pool. Memory is fixed here: a sliding-window model's cache holds the
// window, however long the generation runs.
func (m *Model) NewSession(opts SessionOptions) (*Session, error) {
	c := m.Config
	ctx := opts.CtxSize
	if ctx <= 0 {
		ctx = c.MaxSeqLen
	}
	if ctx <= 0 {
		return nil, fmt.Errorf("context size must be positive")
	}
	// The default chunk stays within the window; a larger explicit chunk
	// is still exact, because a chunk's queries read its own keys from
	// scratch and only the last slots of them are kept in the cache.
	chunk := opts.ChunkSize
	if chunk <= 0 {
		chunk = DefaultChunk
		if c.SlidingWindow > 0 && chunk > c.SlidingWindow {
			chunk = c.SlidingWindow
		}
	}
	if chunk > ctx {
		chunk = ctx
	}
	e, err := m.NewEngine(EngineOptions{Threads: opts.Threads, MaxRows: chunk})
	if err != nil {
		return nil, err
	}
	seq, err := e.NewSequence(SequenceOptions{CtxSize: ctx, KVF16: opts.KVF16, Prefault: opts.Prefault})
	if err != nil {
		e.Close()
		return nil, err
	}
	return &Session{m: m, cfg: c, e: e, seq: seq, chunk: chunk}, nil
}

// KVCacheBytes is the memory the KV cache takes.
func (s *Session) KVCacheBytes() int64 { return s.seq.KVCacheBytes() }

// Close stops the worker pool.
func (s *Session) Close() { s.e.Close() }

// Reset forgets the sequence; the cache is reused from position 0.
func (s *Session) Reset() { s.seq.Reset() }

// Pos is the number of positions consumed.
func (s *Session) Pos() int { return s.seq.pos }

// CtxSize is the maximum number of positions.
func (s *Session) CtxSize() int { return s.seq.ctx }

// Threads is the number of worker threads.
func (s *Session) Threads() int { return s.e.Threads() }

// Model returns the session's model.
func (s *Session) Model() *Model { return s.m }

// Sequence is the session's sequence (its cache and tokens).
func (s *Session) Sequence() *Sequence { return s.seq }

// ReusePrefix keeps the longest prefix of prompt the cache already holds
// (see Sequence.SharedPrefix) and returns the tokens still to prefill.
func (s *Session) ReusePrefix(prompt []int) []int { return s.seq.ReusePrefix(prompt) }

// Prefill feeds tokens in chunks and returns the logits after the last
// one (a view valid until the next call).
func (s *Session) Prefill(tokens []int) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("prefill: no tokens")
	}
	if err := s.seq.check(tokens); err != nil {
		return nil, err
	}
	var out []float32
	for start := 0; start < len(tokens); start += s.chunk {
		end := min(start+s.chunk, len(tokens))
		mode := LogitsNone
		if end == len(tokens) {
			mode = LogitsLast
		}
		l, err := s.forward(tokens[start:end], mode)
		if err != nil {
			return nil, err
		}
		out = l
	}
	return out, nil
}

// Step feeds one token and returns the logits after it.
func (s *Session) Step(token int) ([]float32, error) {
	s.one[0] = token
	return s.forward(s.one[:], LogitsLast)
}

// Forward feeds tokens in chunks and calls onLogits with the logits after
// every one of them (position Pos()+i for the i-th token).
func (s *Session) Forward(tokens []int, onLogits func(i int, logits []float32)) error {
	if err := s.seq.check(tokens); err != nil {
		return err
	}
	vocab := s.cfg.VocabSize
	for start := 0; start < len(tokens); start += s.chunk {
		end := min(start+s.chunk, len(tokens))
		all, err := s.forward(tokens[start:end], LogitsAll)
		if err != nil {
			return err
		}
		for i := 0; i < end-start; i++ {
			onLogits(start+i, all[i*vocab:(i+1)*vocab])
		}
	}
	return nil
}

// forward runs one chunk through the session's engine.
func (s *Session) forward(tokens []int, mode LogitsMode) ([]float32, error) {
	s.batch[0] = Chunk{Seq: s.seq, Tokens: tokens, Logits: mode}
	out, err := s.e.Forward(s.batch[:])
	s.batch[0] = Chunk{}
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// ScoreResult is the log-likelihood of a token sequence under the model.
type ScoreResult struct {
	Tokens        int     // predicted tokens: len(tokens)-1
	LogLikelihood float64 // sum of ln p(token[i+1] | tokens[:i+1])
	Perplexity    float64 // exp(-LogLikelihood / Tokens)
}

// Score resets the session, runs tokens and sums the log-probability of
// each token after the first given its prefix. onLogits, when set, sees
// the logits at every position.
func (s *Session) Score(tokens []int, onLogits func(i int, logits []float32)) (*ScoreResult, error) {
	if len(tokens) < 2 {
		return nil, fmt.Errorf("score: need at least 2 tokens, have %d", len(tokens))
	}
	s.Reset()
	var ll float64
	err := s.Forward(tokens, func(i int, l []float32) {
		if onLogits != nil {
			onLogits(i, l)
		}
		if i+1 < len(tokens) {
			ll += logSoftmaxAt(l, tokens[i+1])
		}
	})
	if err != nil {
		return nil, err
	}
	n := len(tokens) - 1
	return &ScoreResult{Tokens: n, LogLikelihood: ll, Perplexity: math.Exp(-ll / float64(n))}, nil
}

// logSoftmaxAt is ln softmax(l)[i], computed in float64.
func logSoftmaxAt(l []float32, i int) float64 { return float64(l[i]) - logSumExp(l) }

// logSumExp is ln Σ exp(l), computed in float64 from the largest value
// so that no term overflows.
func logSumExp(l []float32) float64 {
	m := math.Inf(-1)
	for _, v := range l {
		m = math.Max(m, float64(v))
	}
	var sum float64
	for _, v := range l {
		sum += math.Exp(float64(v) - m)
	}
	return m + math.Log(sum)
}
