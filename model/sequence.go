package model

import (
	"fmt"
	"os"

	"github.com/gale-ai/gale/kernels"
)

// SequenceOptions size a sequence's KV cache.
type SequenceOptions struct {
	CtxSize int  // maximum positions; 0 = the model's MaxSeqLen
	KVF16   bool // store the KV cache as f16, halving its memory
	// Prefault touches every page of the cache when it is allocated. The
	// kernel otherwise maps a page at the first store into it: at 8
	// sequences decoding Mistral-7B that is 256 faults a step, ~2% of
	// the step on a VM. A long-running server pays them once per slot;
	// a benchmark, whose caches are sized to the run, would pay them all
	// inside the timing, so benchmarks set this. It commits the whole
	// cache's memory up front, which a default 32K-position context
	// (4 GiB for Mistral-7B) should not.
	Prefault bool
}

// Sequence is one token sequence run on an Engine: its KV cache, its
// position and the tokens the cache holds. A sliding-window model's cache
// is a ring of W slots (position p in slot p mod W), however long the
// sequence runs; other models keep every position.
type Sequence struct {
	e     *Engine
	ctx   int // maximum positions
	slots int // KV cache slots per layer: the window, or ctx for full attention
	pos   int // positions consumed

	// KV cache per layer: [slots, kvDim], f32 or f16.
	k32, v32 [][]float32
	k16, v16 [][]uint16

	tokens []int // the token at every position consumed, for prefix reuse
}

// NewSequence allocates a sequence's KV cache. Memory is fixed here.
func (e *Engine) NewSequence(opts SequenceOptions) (*Sequence, error) {
	c := &e.cfg
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
	// The token list is sized once: appending per step allocates nothing.
	s := &Sequence{e: e, ctx: ctx, slots: slots, tokens: make([]int, 0, ctx)}
	cache := slots * e.kvDim
	for l := 0; l < c.NLayers; l++ {
		if opts.KVF16 {
			s.k16 = append(s.k16, make([]uint16, cache))
			s.v16 = append(s.v16, make([]uint16, cache))
		} else {
			s.k32 = append(s.k32, make([]float32, cache))
			s.v32 = append(s.v32, make([]float32, cache))
		}
	}
	if opts.Prefault {
		s.prefault()
	}
	e.grow(ctx, slots)
	return s, nil
}

// prefault stores a zero into every page of the cache, so that the
// kernel maps them now rather than inside the decode steps.
func (s *Sequence) prefault() {
	for l := range s.k16 {
		touchPages(s.k16[l], 2)
		touchPages(s.v16[l], 2)
	}
	for l := range s.k32 {
		touchPages(s.k32[l], 4)
		touchPages(s.v32[l], 4)
	}
}

// touchPages stores a zero into every page a spans (size bytes an
// element): one element a page from the first, and the last, whose page
// the stride may step over when a does not start at a page.
func touchPages[T uint16 | float32](a []T, size int) {
	if len(a) == 0 {
		return
	}
	for i := 0; i < len(a); i += os.Getpagesize() / size {
		a[i] = 0
	}
	a[len(a)-1] = 0
}

// KVCacheBytes is the memory the KV cache takes.
func (s *Sequence) KVCacheBytes() int64 {
	per := int64(4)
	if s.k16 != nil {
		per = 2
	}
	return 2 * int64(s.e.cfg.NLayers) * int64(s.slots) * int64(s.e.kvDim) * per
}

// Reset forgets the sequence; the cache is reused from position 0.
func (s *Sequence) Reset() {
	s.pos = 0
	s.tokens = s.tokens[:0]
}

// Pos is the number of positions consumed.
func (s *Sequence) Pos() int { return s.pos }

// CtxSize is the maximum number of positions.
func (s *Sequence) CtxSize() int { return s.ctx }

// Tokens are the tokens at positions 0..Pos()-1 (a view; do not modify).
func (s *Sequence) Tokens() []int { return s.tokens }

// check validates tokens before any state changes.
func (s *Sequence) check(tokens []int) error {
	if s.pos+len(tokens) > s.ctx {
		return fmt.Errorf("context full: %d positions used + %d new tokens exceed the context size %d", s.pos, len(tokens), s.ctx)
	}
	vocab := s.e.cfg.VocabSize
	for _, t := range tokens {
		if t < 0 || t >= vocab {
			return fmt.Errorf("token id %d is outside the vocabulary (0..%d)", t, vocab-1)
		}
	}
	return nil
}

// advance records tokens as consumed, after a pass stored their keys.
func (s *Sequence) advance(tokens []int) {
	s.pos += len(tokens)
	s.tokens = append(s.tokens, tokens...)
}

// storeKV writes a chunk's keys and values into their cache slots
// (position mod slots), after the pass's attention has read the old ones.
func (s *Sequence) storeKV(l, T int, k, v []float32) {
	d := s.e.kvDim
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

// SharedPrefix is how many leading tokens of prompt the cache can keep:
// the longest common prefix of prompt and the tokens it holds, less one
// so that at least the prompt's last token is run again (its logits are
// needed). On a ring cache (sliding window shorter than the context) a
// prefix k is usable only while the cache still holds every position the
// query at k sees (k-W+1..k-1); once the sequence has run past the ring,
// that holds only when the prompts diverge at the last position or so,
// and 0 is returned otherwise.
func (s *Sequence) SharedPrefix(prompt []int) int {
	k := 0
	for k < len(s.tokens) && k < len(prompt)-1 && s.tokens[k] == prompt[k] {
		k++
	}
	if k == 0 {
		return 0
	}
	if s.slots < s.ctx && s.pos > s.slots {
		w := s.e.cfg.SlidingWindow
		oldest := max(0, k-w+1) // the first position the query at k sees
		if oldest < s.pos-s.slots {
			return 0
		}
	}
	return k
}

// Rewind forgets the positions from k on (k <= Pos()), keeping the cache
// of positions 0..k-1; see SharedPrefix for when that is valid on a ring.
func (s *Sequence) Rewind(k int) {
	if k < 0 || k > s.pos {
		panic(fmt.Sprintf("model: Rewind(%d) outside 0..%d", k, s.pos))
	}
	s.pos = k
	s.tokens = s.tokens[:k]
}

// ReusePrefix rewinds the sequence to the longest prefix of prompt its
// cache can keep (SharedPrefix) and returns the tokens still to run.
func (s *Sequence) ReusePrefix(prompt []int) []int {
	k := s.SharedPrefix(prompt)
	s.Rewind(k)
	return prompt[k:]
}
