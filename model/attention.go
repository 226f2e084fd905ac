package model

import (
	"math"

	"github.com/gale-ai/gale/kernels"
)

// attentionJob computes the attention output of every (row, head) pair of
// the rows attended query by query (e.short), over all the chunks of a
// pass. Items are numbered row*nHeads + head so that the pool splits them
// into contiguous runs.
type attentionJob struct {
	e       *Engine
	layer   int
	q, k, v []float32 // the pass's rotated queries and keys, and values
	out     []float32
}

// attention runs the pass's attention on the pool, every row against its
// own sequence's cache: as matrix products (attnBlocks) for chunks of
// attnMatMulMin rows or more, one chunk at a time, and query by query
// (attentionJob) for the shorter ones, decode rows among them, all in one
// job.
func (e *Engine) attention(layer int, q, k, v, out []float32) {
	c := &e.cfg
	qDim := c.NHeads * c.HeadDim
	e.short = e.short[:0]
	for si := range e.spans {
		sp := &e.spans[si]
		if sp.n >= attnMatMulMin && e.attn != nil {
			tq := e.attnQueries()
			nqb := (sp.n + tq - 1) / tq
			r0, r1 := sp.r0, sp.r0+sp.n
			e.attnBlk = attnBlocks{e: e, s: sp.seq, layer: layer, T: sp.n, tq: tq, nqb: nqb,
				q: q[r0*qDim : r1*qDim], k: k[r0*e.kvDim : r1*e.kvDim], v: v[r0*e.kvDim : r1*e.kvDim], out: out[r0*qDim : r1*qDim]}
			e.pool.RunDynamic(nqb*c.NKVHeads, 1, &e.attnBlk)
			e.attnBlk = attnBlocks{}
			continue
		}
		for i := 0; i < sp.n; i++ {
			e.short = append(e.short, rowRef{sp: sp, i: i})
		}
	}
	if len(e.short) == 0 {
		return
	}
	e.attnJob = attentionJob{e: e, layer: layer, q: q, k: k, v: v, out: out}
	e.pool.Run(len(e.short)*c.NHeads, 1, &e.attnJob)
	e.attnJob = attentionJob{}
}

// attnMatMulMin is the shortest chunk whose attention runs as matrix
// products. Query by query, every query reads all of its keys and values
// from the cache for one head: for a 256-token chunk of Mistral-7B that
// was 10% of prefill time, against about 2% as matrix products.
const attnMatMulMin = 8

// attnBlockRows is how many query rows (queries times the heads of a KV
// group) one block multiplies at once: 4 token blocks of the avx512
// matrix-product kernel, and a scores matrix of 128 rows by the keys. A
// variable for the tests, which make blocks of a few queries.
var attnBlockRows = 128

// attnScratch is one worker's buffers for attnBlocks.
type attnScratch struct {
	k, v []float32 // the block's keys and values [nk, headDim]
	vt   []float32 // the values transposed [headDim, nk]
	q, o []float32 // the block's queries and outputs [rows, headDim]
	s    []float32 // scores, then probabilities [rows, nk]
}

// attnQueries is the number of queries per attnBlocks block.
func (e *Engine) attnQueries() int {
	return max(1, attnBlockRows/(e.cfg.NHeads/e.cfg.NKVHeads))
}

// newAttnScratch sizes one worker's attnBlocks buffers for blocks that see
// at most nk keys.
func (e *Engine) newAttnScratch(nk int) attnScratch {
	c := &e.cfg
	hd := c.HeadDim
	rows := min(e.maxRows, e.attnQueries()) * (c.NHeads / c.NKVHeads)
	return attnScratch{
		k: make([]float32, nk*hd), v: make([]float32, nk*hd), vt: make([]float32, hd*nk),
		q: make([]float32, rows*hd), o: make([]float32, rows*hd), s: make([]float32, rows*nk),
	}
}

// attnBlocks computes one chunk's attention for one KV head and one block
// of tq queries per item, as two matrix products: the scores of the
// block's query rows (each query with every head of the group) against
// all the keys the block sees, S = Q K^T, then, after each row's softmax
// over the keys its own query sees (the others get probability 0), the
// outputs O = P V. Items are numbered so that the blocks with the most
// keys come first: the pool hands them out as workers free up.
type attnBlocks struct {
	e        *Engine
	s        *Sequence
	layer, T int
	tq, nqb  int
	q, k, v  []float32 // the chunk's rows
	out      []float32
}

// Do handles items [lo, hi) on worker w.
func (j *attnBlocks) Do(w, lo, hi int) {
	nkv := j.e.cfg.NKVHeads
	for item := lo; item < hi; item++ {
		j.block(w, item%nkv, j.nqb-1-item/nkv)
	}
}

// block computes KV head g's outputs for the queries of block qb.
func (j *attnBlocks) block(w, g, qb int) {
	s := j.s
	c := &j.e.cfg
	hd := c.HeadDim
	G := c.NHeads / c.NKVHeads
	qDim := c.NHeads * hd
	kvDim := j.e.kvDim
	first := func(p int) int { // the first position the query at p sees
		if c.SlidingWindow > 0 {
			return max(0, p-c.SlidingWindow+1)
		}
		return 0
	}
	i0, i1 := qb*j.tq, min(j.T, (qb+1)*j.tq)
	lo, hi := first(s.pos+i0), s.pos+i1-1 // the positions the block sees
	nk := hi - lo + 1
	sc := &j.e.attn[w]
	K, V := sc.k[:nk*hd], sc.v[:nk*hd]
	off := g * hd

	// Keys and values from the cache: positions lo..s.pos-1, as one or
	// two runs of slots; then the chunk's own, from max(lo, s.pos).
	nc := max(0, s.pos-lo)
	a := lo % s.slots
	run1 := min(nc, s.slots-a)
	s.gatherKV(K[:run1*hd], V[:run1*hd], j.layer, a, off)
	s.gatherKV(K[run1*hd:nc*hd], V[run1*hd:nc*hd], j.layer, 0, off)
	for p := max(lo, s.pos); p <= hi; p++ {
		r, at := p-lo, (p-s.pos)*kvDim+off
		copy(K[r*hd:(r+1)*hd], j.k[at:at+hd])
		copy(V[r*hd:(r+1)*hd], j.v[at:at+hd])
	}
	VT := sc.vt[:hd*nk]
	kernels.Transpose(VT, nk, V, hd, nk, hd)

	// Query rows (i-i0)*G+h for the group's heads g*G+h, which are
	// contiguous in q and in out; the scale goes into the queries.
	rows := (i1 - i0) * G
	Q := sc.q[:rows*hd]
	for i := i0; i < i1; i++ {
		copy(Q[(i-i0)*G*hd:(i-i0+1)*G*hd], j.q[i*qDim+g*G*hd:i*qDim+(g+1)*G*hd])
	}
	kernels.Scale(Q, float32(1/math.Sqrt(float64(hd))))
	S := sc.s[:rows*nk]
	kernels.MatMulF32(S, nk, Q, rows, K)
	for r := 0; r < rows; r++ {
		p := s.pos + i0 + r/G
		a, b := first(p)-lo, p-lo+1
		row := S[r*nk : (r+1)*nk]
		clear(row[:a])
		kernels.Softmax(row[a:b])
		clear(row[b:])
	}
	O := sc.o[:rows*hd]
	kernels.MatMulF32(O, hd, S, rows, VT)
	for i := i0; i < i1; i++ {
		copy(j.out[i*qDim+g*G*hd:i*qDim+(g+1)*G*hd], O[(i-i0)*G*hd:(i-i0+1)*G*hd])
	}
}

// gatherKV copies len(k)/headDim cached keys and values of one KV head
// (offset off within a cache row) from slot on into the rows of k and v.
func (s *Sequence) gatherKV(k, v []float32, layer, slot, off int) {
	hd := s.e.cfg.HeadDim
	kvDim := s.e.kvDim
	for r := 0; r < len(k)/hd; r++ {
		at := (slot+r)*kvDim + off
		if s.k16 != nil {
			kernels.F16ToF32(k[r*hd:(r+1)*hd], s.k16[layer][at:at+hd])
			kernels.F16ToF32(v[r*hd:(r+1)*hd], s.v16[layer][at:at+hd])
		} else {
			copy(k[r*hd:(r+1)*hd], s.k32[layer][at:at+hd])
			copy(v[r*hd:(r+1)*hd], s.v32[layer][at:at+hd])
		}
	}
}

// Do handles (row, head) items [lo, hi) on worker w.
//
// The query at position p sees keys at positions j with j <= p and, for a
// sliding window W, p - j < W. Positions before the chunk come from the
// sequence's cache (slot = position mod slots, so a run of them may wrap
// around the end of the buffer); positions inside the chunk come from the
// chunk's own keys, which are stored into the cache only after the whole
// pass is done.
func (j *attentionJob) Do(w, lo, hi int) {
	e := j.e
	c := &e.cfg
	hd := c.HeadDim
	qDim := c.NHeads * hd
	kvDim := e.kvDim
	group := c.NHeads / c.NKVHeads
	scale := float32(1 / math.Sqrt(float64(hd)))
	scores := e.scores[w]
	for item := lo; item < hi; item++ {
		ref, h := e.short[item/c.NHeads], item%c.NHeads
		s, i := ref.sp.seq, ref.i
		row := ref.sp.r0 + i // the row in the pass
		p := s.pos + i
		first := 0
		if c.SlidingWindow > 0 {
			first = max(0, p-c.SlidingWindow+1)
		}
		off := (h / group) * hd // this head's KV slice within a cache row
		q := j.q[row*qDim+h*hd : row*qDim+(h+1)*hd]
		out := j.out[row*qDim+h*hd : row*qDim+(h+1)*hd]

		// Keys from the cache: positions first..s.pos-1, as one or two runs
		// of consecutive slots.
		nc := max(0, s.pos-first)
		a := first % s.slots
		run1 := min(nc, s.slots-a)
		s.cacheScores(scores[:run1], q, j.layer, a, off, scale)
		s.cacheScores(scores[run1:nc], q, j.layer, 0, off, scale)
		// Keys from the chunk: positions max(first, s.pos)..p.
		k0 := max(first, s.pos) - s.pos
		nk := i - k0 + 1
		at := (ref.sp.r0+k0)*kvDim + off
		kernels.Scores(scores[nc:nc+nk], q, j.k[at:], kvDim, scale)

		probs := scores[:nc+nk]
		kernels.Softmax(probs)
		clear(out)
		s.cacheValues(out, probs[:run1], j.layer, a, off)
		s.cacheValues(out, probs[run1:nc], j.layer, 0, off)
		kernels.WeightedSum(out, probs[nc:], j.v[at:], kvDim)
	}
}

// cacheScores scores q against len(dst) cached keys starting at slot.
func (s *Sequence) cacheScores(dst, q []float32, layer, slot, off int, scale float32) {
	if len(dst) == 0 {
		return
	}
	at := slot*s.e.kvDim + off
	if s.k16 != nil {
		kernels.ScoresF16(dst, q, s.k16[layer][at:], s.e.kvDim, scale)
	} else {
		kernels.Scores(dst, q, s.k32[layer][at:], s.e.kvDim, scale)
	}
}

// cacheValues adds the cached values from slot on, weighted by p, to out.
func (s *Sequence) cacheValues(out, p []float32, layer, slot, off int) {
	if len(p) == 0 {
		return
	}
	at := slot*s.e.kvDim + off
	if s.v16 != nil {
		kernels.WeightedSumF16(out, p, s.v16[layer][at:], s.e.kvDim)
	} else {
		kernels.WeightedSum(out, p, s.v32[layer][at:], s.e.kvDim)
	}
}
