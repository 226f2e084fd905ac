package model

import (
	"fmt"
	"math"

	"github.com/gale-ai/gale/kernels"
	"github.com/gale-ai/gale/tensor"
)

// SessionOptions size a session's cache and threads.
type SessionOptions struct {
	Threads   int  // worker threads; 0 = physical cores
	CtxSize   int  // maximum positions; 0 = the model's MaxSeqLen
	ChunkSize int  // prefill chunk; 0 = DefaultChunk, capped at the sliding window
	KVF16     bool // store the KV cache as f16, halving its memory
}

// DefaultChunk is the prefill chunk size when none is given: large enough
// for the matrix-product kernel to reuse weights well, small enough that
// the chunk's activations stay modest.
const DefaultChunk = 256

// Session is one sequence being processed: the KV cache, the position, the
// scratch buffers and the worker pool. A session is used by one goroutine
// at a time.
type Session struct {
	m    *Model
	cfg  Config
	pool *tensor.Pool

	ctx   int // maximum positions
	slots int // KV cache slots per layer: the window, or ctx for full attention
	chunk int // prefill chunk size
	pos   int // positions consumed

	kvDim int
	// KV cache per layer: [slots, kvDim], f32 or f16.
	k32, v32 [][]float32
	k16, v16 [][]uint16

	invFreq []float64 // rotary frequencies theta^(-2i/headDim)

	// Scratch, sized for one chunk of tokens.
	x, xb, xb2 []float32 // [chunk, dim]
	q, att     []float32 // [chunk, nHeads*headDim]
	k, v       []float32 // [chunk, kvDim]
	hb, hb2    []float32 // [chunk, ffn]
	cos, sin   []float32 // [chunk, headDim/2]
	logits     []float32 // [vocab] or [chunk, vocab] when all are needed
	scores     [][]float32

	attn []attnScratch // per worker, when chunks are long enough for attnBlocks

	lin     tensor.Linear
	attnJob attentionJob
	attnBlk attnBlocks
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
	slots := ctx
	if c.SlidingWindow > 0 && c.SlidingWindow < ctx {
		slots = c.SlidingWindow
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
	s := &Session{m: m, cfg: c, ctx: ctx, slots: slots, chunk: chunk, kvDim: c.NKVHeads * c.HeadDim}
	s.pool = tensor.NewPool(opts.Threads)
	cache := slots * s.kvDim
	for l := 0; l < c.NLayers; l++ {
		if opts.KVF16 {
			s.k16 = append(s.k16, make([]uint16, cache))
			s.v16 = append(s.v16, make([]uint16, cache))
		} else {
			s.k32 = append(s.k32, make([]float32, cache))
			s.v32 = append(s.v32, make([]float32, cache))
		}
	}
	half := c.HeadDim / 2
	s.invFreq = make([]float64, half)
	for i := range s.invFreq {
		s.invFreq[i] = math.Pow(c.RopeTheta, -float64(2*i)/float64(c.HeadDim))
	}
	qDim := c.NHeads * c.HeadDim
	s.x = make([]float32, chunk*c.Dim)
	s.xb = make([]float32, chunk*c.Dim)
	s.xb2 = make([]float32, chunk*c.Dim)
	s.q = make([]float32, chunk*qDim)
	s.att = make([]float32, chunk*qDim)
	s.k = make([]float32, chunk*s.kvDim)
	s.v = make([]float32, chunk*s.kvDim)
	s.hb = make([]float32, chunk*c.FFNDim)
	s.hb2 = make([]float32, chunk*c.FFNDim)
	s.cos = make([]float32, chunk*half)
	s.sin = make([]float32, chunk*half)
	s.logits = make([]float32, c.VocabSize)
	// A query sees at most the cache's slots plus the chunk's own keys.
	s.scores = make([][]float32, s.pool.Size())
	for i := range s.scores {
		s.scores[i] = make([]float32, slots+chunk)
	}
	if chunk >= attnMatMulMin {
		s.attn = make([]attnScratch, s.pool.Size())
		for i := range s.attn {
			s.attn[i] = s.newAttnScratch()
		}
	}
	return s, nil
}

// KVCacheBytes is the memory the KV cache takes.
func (s *Session) KVCacheBytes() int64 {
	per := int64(4)
	if s.k16 != nil {
		per = 2
	}
	return 2 * int64(s.cfg.NLayers) * int64(s.slots) * int64(s.kvDim) * per
}

// Close stops the worker pool.
func (s *Session) Close() { s.pool.Close() }

// Reset forgets the sequence; the cache is reused from position 0.
func (s *Session) Reset() { s.pos = 0 }

// Pos is the number of positions consumed.
func (s *Session) Pos() int { return s.pos }

// CtxSize is the maximum number of positions.
func (s *Session) CtxSize() int { return s.ctx }

// Threads is the number of worker threads.
func (s *Session) Threads() int { return s.pool.Size() }

// Model returns the session's model.
func (s *Session) Model() *Model { return s.m }

// check validates tokens before any state changes.
func (s *Session) check(tokens []int) error {
	if s.pos+len(tokens) > s.ctx {
		return fmt.Errorf("context full: %d positions used + %d new tokens exceed the context size %d", s.pos, len(tokens), s.ctx)
	}
	for _, t := range tokens {
		if t < 0 || t >= s.cfg.VocabSize {
			return fmt.Errorf("token id %d is outside the vocabulary (0..%d)", t, s.cfg.VocabSize-1)
		}
	}
	return nil
}

// Prefill feeds tokens in chunks and returns the logits after the last
// one (a view valid until the next call).
func (s *Session) Prefill(tokens []int) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("prefill: no tokens")
	}
	if err := s.check(tokens); err != nil {
		return nil, err
	}
	for start := 0; start < len(tokens); start += s.chunk {
		end := min(start+s.chunk, len(tokens))
		s.forward(tokens[start:end], end == len(tokens), nil)
	}
	return s.logits[:s.cfg.VocabSize], nil
}

// Step feeds one token and returns the logits after it.
func (s *Session) Step(token int) ([]float32, error) {
	if err := s.check([]int{token}); err != nil {
		return nil, err
	}
	var one [1]int
	one[0] = token
	s.forward(one[:], true, nil)
	return s.logits[:s.cfg.VocabSize], nil
}

// Forward feeds tokens in chunks and calls onLogits with the logits after
// every one of them (position Pos()+i for the i-th token).
func (s *Session) Forward(tokens []int, onLogits func(i int, logits []float32)) error {
	if err := s.check(tokens); err != nil {
		return err
	}
	for start := 0; start < len(tokens); start += s.chunk {
		end := min(start+s.chunk, len(tokens))
		base := start
		s.forward(tokens[start:end], true, func(i int, l []float32) { onLogits(base+i, l) })
	}
	return nil
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
func logSoftmaxAt(l []float32, i int) float64 {
	m := math.Inf(-1)
	for _, v := range l {
		m = math.Max(m, float64(v))
	}
	var sum float64
	for _, v := range l {
		sum += math.Exp(float64(v) - m)
	}
	return float64(l[i]) - m - math.Log(sum)
}

// forward runs one chunk of tokens at positions pos..pos+T-1 through the
// model, appends their keys and values to the cache and leaves logits: for
// every token via onLogits when it is set, else for the last token in
// s.logits when wantLogits.
func (s *Session) forward(tokens []int, wantLogits bool, onLogits func(i int, l []float32)) {
	c := &s.cfg
	w := s.m.w
	T := len(tokens)
	dim, hd, half := c.Dim, c.HeadDim, c.HeadDim/2
	qDim := c.NHeads * hd
	eps := float32(c.NormEps)
	x := s.x[:T*dim]
	xb := s.xb[:T*dim]
	xb2 := s.xb2[:T*dim]
	q, att := s.q[:T*qDim], s.att[:T*qDim]
	k, v := s.k[:T*s.kvDim], s.v[:T*s.kvDim]
	hb, hb2 := s.hb[:T*c.FFNDim], s.hb2[:T*c.FFNDim]

	for i, tok := range tokens {
		w.embed.Row(x[i*dim:(i+1)*dim], tok)
		p := float64(s.pos + i)
		for j, f := range s.invFreq {
			sn, cs := math.Sincos(p * f)
			s.cos[i*half+j], s.sin[i*half+j] = float32(cs), float32(sn)
		}
	}
	rope := kernels.RoPEHalf
	if c.Format.InterleavedRoPE() {
		rope = kernels.RoPEPairs
	}

	for l := range w.layers {
		lw := &w.layers[l]
		// Attention block.
		for i := 0; i < T; i++ {
			kernels.RMSNorm(xb[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], lw.attnNorm, eps)
		}
		s.pool.MatMuls(&s.lin, xb, T, [][]float32{q, k, v}, []*tensor.Tensor{lw.wq, lw.wk, lw.wv})
		for i := 0; i < T; i++ {
			cs, sn := s.cos[i*half:(i+1)*half], s.sin[i*half:(i+1)*half]
			rope(q[i*qDim:(i+1)*qDim], cs, sn)
			rope(k[i*s.kvDim:(i+1)*s.kvDim], cs, sn)
		}
		s.attention(l, T, q, k, v, att)
		s.pool.MatMul(&s.lin, xb2, att, T, lw.wo)
		kernels.Add(x, xb2)

		// Feed-forward block.
		for i := 0; i < T; i++ {
			kernels.RMSNorm(xb[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], lw.ffnNorm, eps)
		}
		s.pool.MatMuls(&s.lin, xb, T, [][]float32{hb, hb2}, []*tensor.Tensor{lw.gate, lw.up})
		kernels.SwiGLU(hb, hb, hb2)
		s.pool.MatMul(&s.lin, xb2, hb, T, lw.down)
		kernels.Add(x, xb2)

		s.storeKV(l, T, k, v)
	}
	s.pos += T

	switch {
	case onLogits != nil:
		for i := 0; i < T; i++ {
			kernels.RMSNorm(xb[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], w.norm, eps)
		}
		// The head is the largest matrix: run it once for the whole chunk.
		all := make([]float32, T*c.VocabSize)
		s.pool.MatMul(&s.lin, all, xb, T, w.output)
		for i := 0; i < T; i++ {
			onLogits(i, all[i*c.VocabSize:(i+1)*c.VocabSize])
		}
	case wantLogits:
		last := x[(T-1)*dim : T*dim]
		kernels.RMSNorm(xb[:dim], last, w.norm, eps)
		s.pool.MatMul(&s.lin, s.logits, xb[:dim], 1, w.output)
	}
}

// storeKV writes the chunk's keys and values into their cache slots
// (position mod slots), after the chunk's attention has read the old ones.
func (s *Session) storeKV(l, T int, k, v []float32) {
	d := s.kvDim
	for i := 0; i < T; i++ {
		slot := (s.pos + i) % s.slots
		dst := slot * d
		if s.k16 != nil {
			kernels.F32ToF16(s.k16[l][dst:dst+d], k[i*d:(i+1)*d])
			kernels.F32ToF16(s.v16[l][dst:dst+d], v[i*d:(i+1)*d])
		} else {
			copy(s.k32[l][dst:dst+d], k[i*d:(i+1)*d])
			copy(s.v32[l][dst:dst+d], v[i*d:(i+1)*d])
		}
	}
}
