package model

import (
	"errors"
	"fmt"
	"math"

	"github.com/gale-ai/gale/kernels"
	"github.com/gale-ai/gale/tensor"
)

// EngineOptions size an engine.
type EngineOptions struct {
	Threads int // worker threads; 0 = physical cores
	// MaxRows is the most rows (tokens, over all sequences) one forward
	// pass takes; 0 = DefaultChunk, capped at the sliding window.
	MaxRows int
}

// Engine runs forward passes of one model for several sequences at once.
// It owns the worker pool and the scratch for a batch of rows; each
// Sequence owns its KV cache. In one pass the linear layers see all the
// rows as one [rows, in] matrix, so that every weight is read once for all
// of them (decode is memory-bound: N sequences decoded together cost about
// one pass over the weights), and attention runs per sequence against its
// own cache. An engine is used by one goroutine at a time.
type Engine struct {
	m    *Model
	cfg  Config
	pool *tensor.Pool

	maxRows int
	kvDim   int
	invFreq []float64 // rotary frequencies theta^(-2i/headDim)

	// Scratch, sized for maxRows rows.
	x, xb, xb2 []float32 // [rows, dim]
	q, att     []float32 // [rows, nHeads*headDim]
	k, v       []float32 // [rows, kvDim]
	kv16       []uint16  // [kvDim]: one row rounded to f16 (roundKV)
	hb, hb2    []float32 // [rows, ffn]
	cos, sin   []float32 // [rows, headDim/2]
	logits     []float32 // [rows wanting logits, vocab], grown on demand
	// Attention scratch per worker, grown by NewSequence to the largest
	// sequence: scores for query-by-query attention, attn for blocks.
	scores [][]float32
	attn   []attnScratch
	attnNK int // keys the attn scratch holds

	lin     tensor.Linear
	attnJob attentionJob
	attnBlk attnBlocks
	spans   []span   // the chunks of the pass in flight
	short   []rowRef // rows attended query by query
	outs    [][]float32
	closed  bool
}

// span is one chunk of a forward pass: its sequence and its rows.
type span struct {
	seq    *Sequence
	r0, n  int // first row in the engine's scratch and row count
	logits LogitsMode
}

// rowRef is one row attended query by query: its chunk's span.
type rowRef struct {
	sp *span
	i  int // index within the chunk
}

// LogitsMode says which logits a chunk of a forward pass wants.
type LogitsMode int

// Logits modes.
const (
	LogitsNone LogitsMode = iota // only fill the cache (a prompt chunk before its last)
	LogitsLast                   // the logits after the chunk's last token
	LogitsAll                    // the logits after every token of the chunk
)

// Chunk is one sequence's part of a forward pass: tokens at positions
// Seq.Pos().. Seq.Pos()+len(Tokens)-1.
type Chunk struct {
	Seq    *Sequence
	Tokens []int
	Logits LogitsMode
}

// NewEngine starts an engine's worker pool and allocates its scratch.
func (m *Model) NewEngine(opts EngineOptions) (*Engine, error) {
	c := m.Config
	rows := opts.MaxRows
	if rows <= 0 {
		rows = DefaultChunk
		if c.SlidingWindow > 0 && rows > c.SlidingWindow {
			rows = c.SlidingWindow
		}
	}
	e := &Engine{m: m, cfg: c, maxRows: rows, kvDim: c.NKVHeads * c.HeadDim}
	half := c.HeadDim / 2
	e.invFreq = make([]float64, half)
	for i := range e.invFreq {
		e.invFreq[i] = math.Pow(c.RopeTheta, -float64(2*i)/float64(c.HeadDim))
	}
	qDim := c.NHeads * c.HeadDim
	e.x = make([]float32, rows*c.Dim)
	e.xb = make([]float32, rows*c.Dim)
	e.xb2 = make([]float32, rows*c.Dim)
	e.q = make([]float32, rows*qDim)
	e.att = make([]float32, rows*qDim)
	e.k = make([]float32, rows*e.kvDim)
	e.v = make([]float32, rows*e.kvDim)
	e.kv16 = make([]uint16, e.kvDim)
	e.hb = make([]float32, rows*c.FFNDim)
	e.hb2 = make([]float32, rows*c.FFNDim)
	e.cos = make([]float32, rows*half)
	e.sin = make([]float32, rows*half)
	e.pool = tensor.NewPool(opts.Threads)
	e.scores = make([][]float32, e.pool.Size())
	if rows >= attnMatMulMin {
		e.attn = make([]attnScratch, e.pool.Size())
	}
	return e, nil
}

// roundKV rounds the pass's keys and values to f16 for the sequences
// whose cache holds f16: they read their earlier positions' keys and
// values so rounded, and their own chunk's must be too, or a sequence's
// numbers would depend on how its tokens were cut into passes (a batch of
// sequences cuts them otherwise than a lone run: greedy outputs differed,
// at ~3e-3 in the logprobs of the tiny model).
func (e *Engine) roundKV(k, v []float32) {
	d := e.kvDim
	for i := range e.spans {
		sp := &e.spans[i]
		if sp.seq.k16 == nil {
			continue
		}
		for r := sp.r0; r < sp.r0+sp.n; r++ {
			for _, x := range [][]float32{k[r*d : (r+1)*d], v[r*d : (r+1)*d]} {
				kernels.F32ToF16(e.kv16, x)
				kernels.F16ToF32(x, e.kv16)
			}
		}
	}
}

// Close stops the worker pool. The engine must be idle.
func (e *Engine) Close() {
	if !e.closed {
		e.closed = true
		e.pool.Close()
	}
}

// MaxRows is the most rows one forward pass takes.
func (e *Engine) MaxRows() int { return e.maxRows }

// Threads is the number of worker threads.
func (e *Engine) Threads() int { return e.pool.Size() }

// Model returns the engine's model.
func (e *Engine) Model() *Model { return e.m }

// grow sizes the attention scratch for a sequence of ctx positions and
// slots cache slots: a query sees at most the cache's slots plus a pass's
// own rows.
func (e *Engine) grow(ctx, slots int) {
	chunk := min(e.maxRows, ctx)
	if n := slots + chunk; n > len(e.scores[0]) {
		for i := range e.scores {
			e.scores[i] = make([]float32, n)
		}
	}
	if e.attn == nil {
		return
	}
	if nk := min(ctx, slots+chunk); nk > e.attnNK {
		e.attnNK = nk
		for i := range e.attn {
			e.attn[i] = e.newAttnScratch(nk)
		}
	}
}

// ErrBatch is returned (wrapped) for a forward pass the engine cannot run
// as given: too many rows, a sequence twice, a sequence of another engine.
var ErrBatch = errors.New("invalid batch")

// Forward runs one pass over the chunks, which belong to distinct
// sequences of this engine, and appends their keys and values to the
// sequences' caches. It returns, per chunk, the logits it asked for:
// [vocab] for LogitsLast, [len(Tokens), vocab] for LogitsAll, nil for
// LogitsNone; views valid until the next pass. Nothing changes when it
// returns an error.
func (e *Engine) Forward(chunks []Chunk) ([][]float32, error) {
	rows := 0
	for i, ch := range chunks {
		if ch.Seq == nil || ch.Seq.e != e {
			return nil, fmt.Errorf("%w: chunk %d: the sequence is not this engine's", ErrBatch, i)
		}
		if len(ch.Tokens) == 0 {
			return nil, fmt.Errorf("%w: chunk %d has no tokens", ErrBatch, i)
		}
		for _, prev := range chunks[:i] {
			if prev.Seq == ch.Seq {
				return nil, fmt.Errorf("%w: chunk %d: a sequence appears twice", ErrBatch, i)
			}
		}
		if err := ch.Seq.check(ch.Tokens); err != nil {
			return nil, err
		}
		rows += len(ch.Tokens)
	}
	if rows > e.maxRows {
		return nil, fmt.Errorf("%w: %d rows, the engine takes at most %d per pass", ErrBatch, rows, e.maxRows)
	}
	if rows == 0 {
		return nil, nil
	}
	e.spans = e.spans[:0]
	r := 0
	for _, ch := range chunks {
		e.spans = append(e.spans, span{seq: ch.Seq, r0: r, n: len(ch.Tokens), logits: ch.Logits})
		r += len(ch.Tokens)
	}
	e.forward(chunks, rows)
	return e.outs, nil
}

// forward runs the pass over validated chunks laid out in e.spans.
func (e *Engine) forward(chunks []Chunk, T int) {
	c := &e.cfg
	w := e.m.w
	dim, half := c.Dim, c.HeadDim/2
	qDim := c.NHeads * c.HeadDim
	kvDim := e.kvDim
	eps := float32(c.NormEps)
	x := e.x[:T*dim]
	xb := e.xb[:T*dim]
	xb2 := e.xb2[:T*dim]
	q, att := e.q[:T*qDim], e.att[:T*qDim]
	k, v := e.k[:T*kvDim], e.v[:T*kvDim]
	hb, hb2 := e.hb[:T*c.FFNDim], e.hb2[:T*c.FFNDim]

	for ci, ch := range chunks {
		sp := &e.spans[ci]
		for i, tok := range ch.Tokens {
			r := sp.r0 + i
			w.embed.Row(x[r*dim:(r+1)*dim], tok)
			p := float64(sp.seq.pos + i)
			for j, f := range e.invFreq {
				sn, cs := math.Sincos(p * f)
				e.cos[r*half+j], e.sin[r*half+j] = float32(cs), float32(sn)
			}
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
		e.pool.MatMuls(&e.lin, xb, T, [][]float32{q, k, v}, []*tensor.Tensor{lw.wq, lw.wk, lw.wv})
		for i := 0; i < T; i++ {
			cs, sn := e.cos[i*half:(i+1)*half], e.sin[i*half:(i+1)*half]
			rope(q[i*qDim:(i+1)*qDim], cs, sn)
			rope(k[i*kvDim:(i+1)*kvDim], cs, sn)
		}
		e.roundKV(k, v)
		e.attention(l, q, k, v, att)
		e.pool.MatMul(&e.lin, xb2, att, T, lw.wo)
		kernels.Add(x, xb2)

		// Feed-forward block.
		for i := 0; i < T; i++ {
			kernels.RMSNorm(xb[i*dim:(i+1)*dim], x[i*dim:(i+1)*dim], lw.ffnNorm, eps)
		}
		e.pool.MatMuls(&e.lin, xb, T, [][]float32{hb, hb2}, []*tensor.Tensor{lw.gate, lw.up})
		kernels.SwiGLU(hb, hb, hb2)
		e.pool.MatMul(&e.lin, xb2, hb, T, lw.down)
		kernels.Add(x, xb2)

		for i := range e.spans {
			sp := &e.spans[i]
			sp.seq.storeKV(l, sp.n, k[sp.r0*kvDim:(sp.r0+sp.n)*kvDim], v[sp.r0*kvDim:(sp.r0+sp.n)*kvDim])
		}
	}

	// The head is the largest matrix: run it once for every row that
	// wants logits, gathered into the first rows of xb.
	n := 0
	for _, sp := range e.spans {
		switch sp.logits {
		case LogitsLast:
			last := sp.r0 + sp.n - 1
			kernels.RMSNorm(xb[n*dim:(n+1)*dim], x[last*dim:(last+1)*dim], w.norm, eps)
			n++
		case LogitsAll:
			for i := sp.r0; i < sp.r0+sp.n; i++ {
				kernels.RMSNorm(xb[n*dim:(n+1)*dim], x[i*dim:(i+1)*dim], w.norm, eps)
				n++
			}
		}
	}
	vocab := c.VocabSize
	if len(e.logits) < n*vocab {
		e.logits = make([]float32, n*vocab)
	}
	if n > 0 {
		e.pool.MatMul(&e.lin, e.logits[:n*vocab], xb[:n*dim], n, w.output)
	}
	e.outs = e.outs[:0]
	at := 0
	for i := range e.spans {
		sp := &e.spans[i]
		var out []float32
		switch sp.logits {
		case LogitsLast:
			out = e.logits[at*vocab : (at+1)*vocab : (at+1)*vocab]
			at++
		case LogitsAll:
			out = e.logits[at*vocab : (at+sp.n)*vocab : (at+sp.n)*vocab]
			at += sp.n
		}
		e.outs = append(e.outs, out)
		sp.seq.advance(chunks[i].Tokens)
		sp.seq = nil
	}
}
