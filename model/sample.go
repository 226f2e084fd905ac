package model

import (
	"math"
	"math/rand/v2"
	"slices"
)

// SamplerOptions choose the next token from logits, in llama.cpp's order:
// repetition penalty, top-k, temperature, top-p, min-p, then a draw.
type SamplerOptions struct {
	Temp          float32 // 0 = greedy (argmax)
	TopK          int     // keep the k most likely tokens; 0 = all
	TopP          float32 // keep the smallest set with this much probability; 0 or 1 = all
	MinP          float32 // drop tokens below MinP times the top probability; 0 = none
	RepeatPenalty float32 // divide positive (multiply negative) logits of recent tokens; 0 or 1 = off
	RepeatLastN   int     // how many recent tokens the penalty looks at
	Seed          uint64
}

// Sampler draws tokens; it owns its random state, so the same seed and
// options give the same tokens.
type Sampler struct {
	o    SamplerOptions
	rng  *rand.Rand
	cand []candidate
	// Reused across calls so that sampling allocates nothing per token.
	probs []float64
	seen  []bool
}

type candidate struct {
	id int
	v  float32 // logit, then probability
}

// NewSampler makes a sampler seeded with o.Seed.
func NewSampler(o SamplerOptions) *Sampler {
	return &Sampler{o: o, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))}
}

// Sample picks a token from logits (which it may modify) given the tokens
// so far (for the repetition penalty).
func (s *Sampler) Sample(logits []float32, history []int) int {
	o := &s.o
	if o.RepeatPenalty > 0 && o.RepeatPenalty != 1 && o.RepeatLastN != 0 {
		recent := history
		if o.RepeatLastN > 0 && len(recent) > o.RepeatLastN {
			recent = recent[len(recent)-o.RepeatLastN:]
		}
		if len(s.seen) < len(logits) {
			s.seen = make([]bool, len(logits))
		}
		for _, t := range recent {
			if t < 0 || t >= len(logits) || s.seen[t] {
				continue
			}
			s.seen[t] = true
			if logits[t] > 0 {
				logits[t] /= o.RepeatPenalty
			} else {
				logits[t] *= o.RepeatPenalty
			}
		}
		for _, t := range recent {
			if t >= 0 && t < len(s.seen) {
				s.seen[t] = false
			}
		}
	}
	if o.Temp <= 0 {
		return Argmax(logits)
	}
	c := s.cand[:0]
	for i, v := range logits {
		c = append(c, candidate{i, v})
	}
	s.cand = c
	// Sorting by logit (ties by id) makes every later filter a prefix.
	slices.SortFunc(c, func(a, b candidate) int {
		switch {
		case a.v > b.v:
			return -1
		case a.v < b.v:
			return 1
		}
		return a.id - b.id
	})
	if o.TopK > 0 && o.TopK < len(c) {
		c = c[:o.TopK]
	}
	// Softmax with temperature, in float64 for a stable normalisation.
	maxv := float64(c[0].v)
	var sum float64
	probs := s.probs[:0]
	for range c {
		probs = append(probs, 0)
	}
	s.probs = probs
	for i := range c {
		probs[i] = math.Exp((float64(c[i].v) - maxv) / float64(o.Temp))
		sum += probs[i]
	}
	for i := range probs {
		probs[i] /= sum
	}
	n := len(c)
	if o.TopP > 0 && o.TopP < 1 {
		var acc float64
		for i := range probs {
			acc += probs[i]
			if acc >= float64(o.TopP) {
				n = i + 1
				break
			}
		}
	}
	if o.MinP > 0 {
		limit := probs[0] * float64(o.MinP)
		for i := 1; i < n; i++ {
			if probs[i] < limit {
				n = i
				break
			}
		}
	}
	var total float64
	for _, p := range probs[:n] {
		total += p
	}
	r := s.rng.Float64() * total
	for i, p := range probs[:n] {
		r -= p
		if r < 0 {
			return c[i].id
		}
	}
	return c[n-1].id
}

// Argmax returns the index of the largest logit (the first on ties): the
// greedy choice.
func Argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
