package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// GenerateOptions control a generation.
type GenerateOptions struct {
	MaxTokens int            // < 0: until EOS or the end of the context
	Sampler   SamplerOptions // how tokens are drawn
	Stop      []string       // generation ends when the text contains one (it is not emitted)
	// IgnoreEOS keeps generating past the end of text: the end-of-text ids
	// are never drawn (their logits are set to -Inf, as llama.cpp's
	// --ignore-eos does), so only -n, a stop string or the context end it.
	IgnoreEOS bool
	// OnText receives the generated text as it becomes final: whole UTF-8
	// characters, with text held back while it could still start a stop
	// string. Returning an error aborts the generation with that error.
	OnText func(s string) error
	// PresencePenalty and FrequencyPenalty (OpenAI's) lower the logits of
	// generated tokens: by PresencePenalty once, plus FrequencyPenalty
	// per occurrence.
	PresencePenalty, FrequencyPenalty float32
}

// GenerateResult is what a generation produced and why it stopped.
type GenerateResult struct {
	Tokens         []int  // generated tokens (without the prompt)
	Text           string // their text, cut before a stop string
	PromptTokens   int
	ReusedTokens   int    // prompt tokens whose cache was kept from before (not prefilled)
	StopReason     string // StopEOS, StopString, StopLength, StopContext or StopInterrupted
	PromptDuration time.Duration
	GenDuration    time.Duration
}

// Stop reasons: what ended a generation.
const (
	StopEOS         = "eos"         // the model produced an end-of-text id (EOSIDs)
	StopString      = "stop"        // the text reached a stop string
	StopLength      = "length"      // MaxTokens were generated
	StopContext     = "context"     // the context is full (OpenAI's "length")
	StopInterrupted = "interrupted" // ctx was cancelled
)

// Generate feeds the prompt and samples tokens until EOS, a stop string,
// MaxTokens, the end of the context, or ctx is cancelled. Text is decoded
// with the model's tokenizer (none: no text). The session keeps the
// longest prefix of the prompt its cache already holds (ReusePrefix) and
// prefills only the rest, so a chat turn costs its new tokens.
func (s *Session) Generate(ctx context.Context, prompt []int, opts GenerateOptions) (*GenerateResult, error) {
	if err := s.m.CheckPrompt(prompt, s.CtxSize()); err != nil {
		return nil, err
	}
	rest := s.ReusePrefix(prompt)
	g := s.m.NewGenerator(prompt, opts)
	t0 := time.Now()
	logits, err := s.Prefill(rest)
	if err != nil {
		return nil, err
	}
	g.res.PromptDuration = time.Since(t0)
	g.res.ReusedTokens = len(prompt) - len(rest)
	t1 := time.Now()
	defer func() { g.res.GenDuration = time.Since(t1) }()
	for {
		if ctx.Err() != nil {
			return g.Finish(StopInterrupted)
		}
		next, ok, err := g.Next(logits)
		if err != nil || !ok {
			return g.res, err
		}
		if s.Pos() >= s.CtxSize() {
			return g.Finish(StopContext)
		}
		if logits, err = s.Step(next); err != nil {
			return g.res, err
		}
	}
}

// CheckPrompt reports why prompt cannot start a generation in a context
// of ctx positions (ErrPromptTooLong wrapped when it does not fit).
func (m *Model) CheckPrompt(prompt []int, ctx int) error {
	if len(prompt) == 0 {
		return fmt.Errorf("generate: empty prompt (give at least the BOS token)")
	}
	if len(prompt) > ctx {
		return fmt.Errorf("%w: the prompt has %d tokens, the context holds %d", ErrPromptTooLong, len(prompt), ctx)
	}
	return nil
}

// Generator is one generation's sampling and stop state, driven one token
// at a time by whoever runs the forward passes (Session.Generate, or a
// scheduler batching many sequences): the sampler, the token history for
// its penalties, the text decoder and the stop-string watch.
type Generator struct {
	opts    GenerateOptions
	res     *GenerateResult
	sampler *Sampler
	history []int
	out     *textOut
	dec     interface {
		Add(int) string
		Flush() string
	}
	eos    []int // the ids that end the generation (none with IgnoreEOS)
	done   bool
	counts map[int]int // generated token counts, for presence/frequency penalties
}

// NewGenerator starts a generation after prompt.
func (m *Model) NewGenerator(prompt []int, opts GenerateOptions) *Generator {
	g := &Generator{
		opts:    opts,
		res:     &GenerateResult{PromptTokens: len(prompt)},
		sampler: NewSampler(opts.Sampler),
		history: append([]int(nil), prompt...),
		out:     &textOut{stop: opts.Stop, emit: opts.OnText},
		eos:     m.EOSIDs(),
	}
	if tok := m.Tokenizer; tok != nil {
		// Prime the decoder with the prompt so that the first generated
		// piece is decoded as a continuation (its leading space kept);
		// a BOS-only prompt still starts the text afresh.
		d := tok.NewStreamDecoder()
		for _, id := range prompt {
			d.Add(id)
		}
		d.Flush()
		g.dec = d
	}
	return g
}

// Next samples the token after logits (which it may modify). ok is false
// when the generation is over (EOS, a stop string, MaxTokens reached with
// this token or before it): the reason is then in Result().StopReason and
// the held-back text has been flushed; a token returned with ok false
// (stop string, MaxTokens) is part of the result but is not to be fed.
// An error comes from OnText.
func (g *Generator) Next(logits []float32) (token int, ok bool, err error) {
	if g.done {
		return 0, false, nil
	}
	if g.opts.MaxTokens >= 0 && len(g.res.Tokens) >= g.opts.MaxTokens {
		_, err := g.Finish(StopLength)
		return 0, false, err
	}
	g.penalize(logits)
	if g.opts.IgnoreEOS {
		for _, id := range g.eos {
			if id < len(logits) {
				logits[id] = float32(math.Inf(-1))
			}
		}
	}
	next := g.sampler.Sample(logits, g.history)
	if !g.opts.IgnoreEOS && slices.Contains(g.eos, next) {
		_, err := g.Finish(StopEOS)
		return 0, false, err
	}
	g.res.Tokens = append(g.res.Tokens, next)
	g.history = append(g.history, next)
	if g.counts != nil {
		g.counts[next]++
	}
	if g.dec != nil {
		hit, err := g.out.add(g.dec.Add(next))
		if err != nil {
			g.done = true
			g.res.Text = g.out.text.String()
			return next, false, err
		}
		if hit {
			_, err := g.Finish(StopString)
			return next, false, err
		}
	}
	if g.opts.MaxTokens >= 0 && len(g.res.Tokens) >= g.opts.MaxTokens {
		_, err := g.Finish(StopLength)
		return next, false, err
	}
	return next, true, nil
}

// penalize applies OpenAI's presence and frequency penalties to the
// logits of the tokens generated so far.
func (g *Generator) penalize(logits []float32) {
	pp, fp := g.opts.PresencePenalty, g.opts.FrequencyPenalty
	if pp == 0 && fp == 0 {
		return
	}
	if g.counts == nil {
		g.counts = map[int]int{}
		for _, t := range g.res.Tokens {
			g.counts[t]++
		}
	}
	for t, n := range g.counts {
		if t >= 0 && t < len(logits) {
			logits[t] -= pp + fp*float32(n)
		}
	}
}

// Finish ends the generation for reason (unless it is already over),
// flushing the text held back, and returns the result.
func (g *Generator) Finish(reason string) (*GenerateResult, error) {
	if g.done {
		return g.res, nil
	}
	g.done = true
	g.res.StopReason = reason
	var err error
	if g.dec != nil && reason != StopString {
		if _, err = g.out.add(g.dec.Flush()); err == nil {
			err = g.out.flush()
		}
	}
	g.res.Text = g.out.text.String()
	return g.res, err
}

// Done reports whether the generation is over.
func (g *Generator) Done() bool { return g.done }

// Result is what the generation produced so far (final once Done).
func (g *Generator) Result() *GenerateResult { return g.res }

// EOSIDs returns the ids that end a generation: the config's end-of-text
// ids (eos_token_id, which may be a list; GGUF's eos and eot) and the
// tokenizer's </s>, without repeats, in that order.
func (m *Model) EOSIDs() []int {
	var ids []int
	add := func(id int) {
		if id >= 0 && id < m.Config.VocabSize && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	add(m.Config.EOS)
	for _, id := range m.Config.EOSIDs {
		add(id)
	}
	if m.Tokenizer != nil {
		add(m.Tokenizer.EOS())
	}
	return ids
}

// textOut streams generated text while watching for stop strings: text
// that could be the start of a stop string is held back until it is
// known not to be one.
type textOut struct {
	stop    []string
	emit    func(string) error
	text    strings.Builder // everything emitted
	pending string          // decoded but not yet emitted
}

// add appends decoded text; it reports whether a stop string was found, in
// which case the text before it has been emitted and the rest dropped.
func (o *textOut) add(s string) (bool, error) {
	o.pending += s
	cut, found := -1, false
	for _, st := range o.stop {
		if st == "" {
			continue
		}
		if i := strings.Index(o.pending, st); i >= 0 && (cut < 0 || i < cut) {
			cut, found = i, true
		}
	}
	if found {
		err := o.send(o.pending[:cut])
		o.pending = ""
		return true, err
	}
	// Hold back the longest suffix that is a proper prefix of a stop string.
	keep := 0
	for _, st := range o.stop {
		for n := min(len(st)-1, len(o.pending)); n > keep; n-- {
			if strings.HasSuffix(o.pending, st[:n]) {
				keep = n
				break
			}
		}
	}
	ready := o.pending[:len(o.pending)-keep]
	o.pending = o.pending[len(ready):]
	return false, o.send(ready)
}

// flush emits whatever is held back (the generation is over).
func (o *textOut) flush() error {
	s := o.pending
	o.pending = ""
	return o.send(s)
}

func (o *textOut) send(s string) error {
	if s == "" {
		return nil
	}
	o.text.WriteString(s)
	if o.emit != nil {
		if err := o.emit(s); err != nil {
			return err
		}
	}
	return nil
}

// ErrPromptTooLong is returned (wrapped) when a prompt does not fit.
var ErrPromptTooLong = errors.New("prompt longer than the context")
