package model

import (
	"math"

	"github.com/gale-ai/gale/kernels"
)

// attentionJob computes the attention output of every (token, head) pair of
// a chunk. Items are numbered token*nHeads + head so that the pool splits
// them into contiguous runs.
type attentionJob struct {
	s       *Session
	layer   int
	T       int
	q, k, v []float32 // the chunk's rotated queries and keys, and values
	out     []float32
}

// attention runs attentionJob over the chunk on the pool.
func (s *Session) attention(layer, T int, q, k, v, out []float32) {
	s.attnJob = attentionJob{s: s, layer: layer, T: T, q: q, k: k, v: v, out: out}
	s.pool.Run(T*s.cfg.NHeads, 1, &s.attnJob)
	s.attnJob = attentionJob{}
}

// Do handles (token, head) items [lo, hi) on worker w.
//
// The query at position p sees keys at positions j with j <= p and, for a
// sliding window W, p - j < W. Positions before the chunk come from the
// cache (slot = position mod slots, so a run of them may wrap around the
// end of the buffer); positions inside the chunk come from the chunk's own
// keys, which are stored into the cache only after the whole chunk is done.
func (j *attentionJob) Do(w, lo, hi int) {
	s := j.s
	c := &s.cfg
	hd := c.HeadDim
	qDim := c.NHeads * hd
	group := c.NHeads / c.NKVHeads
	scale := float32(1 / math.Sqrt(float64(hd)))
	scores := s.scores[w]
	for item := lo; item < hi; item++ {
		i, h := item/c.NHeads, item%c.NHeads
		p := s.pos + i
		first := 0
		if c.SlidingWindow > 0 {
			first = max(0, p-c.SlidingWindow+1)
		}
		off := (h / group) * hd // this head's KV slice within a cache row
		q := j.q[i*qDim+h*hd : i*qDim+(h+1)*hd]
		out := j.out[i*qDim+h*hd : i*qDim+(h+1)*hd]

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
		kernels.Scores(scores[nc:nc+nk], q, j.k[k0*s.kvDim+off:], s.kvDim, scale)

		probs := scores[:nc+nk]
		kernels.Softmax(probs)
		clear(out)
		s.cacheValues(out, probs[:run1], j.layer, a, off)
		s.cacheValues(out, probs[run1:nc], j.layer, 0, off)
		kernels.WeightedSum(out, probs[nc:], j.v[k0*s.kvDim+off:], s.kvDim)
	}
}

// cacheScores scores q against len(dst) cached keys starting at slot.
func (s *Session) cacheScores(dst, q []float32, layer, slot, off int, scale float32) {
	if len(dst) == 0 {
		return
	}
	at := slot*s.kvDim + off
	if s.k16 != nil {
		kernels.ScoresF16(dst, q, s.k16[layer][at:], s.kvDim, scale)
	} else {
		kernels.Scores(dst, q, s.k32[layer][at:], s.kvDim, scale)
	}
}

// cacheValues adds the cached values from slot on, weighted by p, to out.
func (s *Session) cacheValues(out, p []float32, layer, slot, off int) {
	if len(p) == 0 {
		return
	}
	at := slot*s.kvDim + off
	if s.v16 != nil {
		kernels.WeightedSumF16(out, p, s.v16[layer][at:], s.kvDim)
	} else {
		kernels.WeightedSum(out, p, s.v32[layer][at:], s.kvDim)
	}
}
