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
}

// GenerateResult is what a generation produced and why it stopped.
type GenerateResult struct {
	Tokens         []int  // generated tokens (without the prompt)
	Text           string // their text, cut before a stop string
	PromptTokens   int
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

// Generate resets the session, feeds the prompt and samples tokens until
// EOS, a stop string, MaxTokens, the end of the context, or ctx is
// cancelled. Text is decoded with the model's tokenizer (none: no text).
func (s *Session) Generate(ctx context.Context, prompt []int, opts GenerateOptions) (*GenerateResult, error) {
	if len(prompt) == 0 {
		return nil, fmt.Errorf("generate: empty prompt (give at least the BOS token)")
	}
	if len(prompt) > s.ctx {
		return nil, fmt.Errorf("%w: the prompt has %d tokens, the context holds %d", ErrPromptTooLong, len(prompt), s.ctx)
	}
	s.Reset()
	res := &GenerateResult{PromptTokens: len(prompt)}
	t0 := time.Now()
	logits, err := s.Prefill(prompt)
	if err != nil {
		return nil, err
	}
	res.PromptDuration = time.Since(t0)

	tok := s.m.Tokenizer
	out := &textOut{stop: opts.Stop, emit: opts.OnText}
	var dec interface {
		Add(int) string
		Flush() string
	}
	if tok != nil {
		// Prime the decoder with the prompt so that the first generated
		// piece is decoded as a continuation (its leading space kept);
		// a BOS-only prompt still starts the text afresh.
		d := tok.NewStreamDecoder()
		for _, id := range prompt {
			d.Add(id)
		}
		d.Flush()
		dec = d
	}
	history := append([]int(nil), prompt...)
	sampler := NewSampler(opts.Sampler)
	eos := s.m.EOSIDs()
	t1 := time.Now()
	defer func() { res.GenDuration = time.Since(t1) }()
	for {
		if ctx.Err() != nil {
			res.StopReason = StopInterrupted
			break
		}
		if opts.MaxTokens >= 0 && len(res.Tokens) >= opts.MaxTokens {
			res.StopReason = StopLength
			break
		}
		if opts.IgnoreEOS {
			for _, id := range eos {
				if id < len(logits) {
					logits[id] = float32(math.Inf(-1))
				}
			}
		}
		next := sampler.Sample(logits, history)
		if slices.Contains(eos, next) {
			res.StopReason = StopEOS
			break
		}
		res.Tokens = append(res.Tokens, next)
		history = append(history, next)
		if dec != nil {
			hit, err := out.add(dec.Add(next))
			if err != nil {
				return res, err
			}
			if hit {
				res.StopReason = StopString
				break
			}
		}
		if opts.MaxTokens >= 0 && len(res.Tokens) >= opts.MaxTokens {
			res.StopReason = StopLength
			break
		}
		if s.pos >= s.ctx {
			res.StopReason = StopContext
			break
		}
		if logits, err = s.Step(next); err != nil {
			return res, err
		}
	}
	if dec != nil && res.StopReason != StopString {
		if _, err := out.add(dec.Flush()); err != nil {
			return res, err
		}
		if err := out.flush(); err != nil {
			return res, err
		}
	}
	res.Text = out.text.String()
	return res, nil
}

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
