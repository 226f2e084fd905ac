package tokenizer

import (
	"fmt"
	"slices"
	"strings"
)

// Control tokens ([INST], </s>, [TOOL_CALLS] ...) have two sources in a
// prompt: the chat template, whose literals must become their ids, and
// everything else (user messages, files, tool results), which must never
// produce them, or a user could forge turns. Encode only ever sees the
// second kind: it never emits a control id. A template's output is first
// cut into Segments, the template's own text split at control literals
// (SplitSpecial) and message contents kept as Text, and EncodeSegments
// turns them into ids.

// Segment is one part of a prompt: plain text to encode, or (Special) the
// literal of a control token to emit as its id.
type Segment struct {
	Text    string
	Special bool
}

// SpecialID returns the id of the control (or unknown) token whose piece is
// exactly s, or -1.
func (t *Tokenizer) SpecialID(s string) int {
	id, ok := t.reserved[s]
	if !ok {
		return -1
	}
	if typ := t.types[id]; typ != typeControl && typ != typeUnknown {
		return -1
	}
	return int(id)
}

// SplitSpecial cuts trusted text (a chat template's output, never user
// input) at the literals of control tokens, longest match first, as
// Hugging Face tokenizers split out special added tokens. The text pieces
// in between come back as plain Segments.
func (t *Tokenizer) SplitSpecial(text string) []Segment {
	var segs []Segment
	start := 0
	for i := 0; i < len(text); {
		m := ""
		for _, lit := range t.specialLits[text[i]] {
			if strings.HasPrefix(text[i:], lit) {
				m = lit
				break
			}
		}
		if m == "" {
			i++
			continue
		}
		if i > start {
			segs = append(segs, Segment{Text: text[start:i]})
		}
		segs = append(segs, Segment{Text: m, Special: true})
		i += len(m)
		start = i
	}
	if start < len(text) {
		segs = append(segs, Segment{Text: text[start:]})
	}
	return segs
}

// EncodeSegments encodes a prompt given as segments. Consecutive text
// segments are joined and encoded as one text (so a template's " [INST] "
// and the message after it merge as they would in one string); a special
// segment becomes its control id, and an unknown literal is an error.
//
// The dummy-prefix space is added only to text at the very start, not to
// text right after a control token: that is what Hugging Face tokenizers
// do with Llama/Mistral vocabularies and what mistral-common's ids match
// (llama.cpp's parse_special inserts a space after every control token,
// which gives 122 ids instead of 118 for mistral-common's v1 sample).
func (t *Tokenizer) EncodeSegments(segs []Segment) ([]int, error) {
	var out []int
	var run strings.Builder
	first, pending := true, false
	flush := func() {
		if pending {
			out = append(out, t.encode(run.String(), first)...)
			run.Reset()
			pending = false
		}
	}
	for _, s := range segs {
		if !s.Special {
			run.WriteString(s.Text)
			pending = true
			continue
		}
		id := t.SpecialID(s.Text)
		if id < 0 {
			return nil, fmt.Errorf("tokenizer: %q is not a control token of this vocabulary", s.Text)
		}
		flush()
		out = append(out, id)
		first = false
	}
	flush()
	if out == nil {
		out = []int{}
	}
	return out, nil
}

// EncodeSpecial encodes trusted text with control literals parsed into
// their ids: EncodeSegments(SplitSpecial(text)). Never use it on user
// input.
func (t *Tokenizer) EncodeSpecial(text string) []int {
	ids, _ := t.EncodeSegments(t.SplitSpecial(text)) // every split-out literal is known
	return ids
}

// indexSpecial builds the literal table SplitSpecial matches against.
func (t *Tokenizer) indexSpecial() {
	t.specialLits = make(map[byte][]string)
	for p, id := range t.reserved {
		if typ := t.types[id]; typ == typeControl || typ == typeUnknown {
			t.specialLits[p[0]] = append(t.specialLits[p[0]], p)
		}
	}
	for k, list := range t.specialLits {
		sortLits(list)
		t.specialLits[k] = list
	}
}

// sortLits orders literals longest first, then by bytes, so matching is
// deterministic.
func sortLits(s []string) {
	slices.SortFunc(s, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
}

// DecodeOptions change how ids become text.
type DecodeOptions struct {
	// Special prints control tokens as their literal ("</s>", "[INST]")
	// instead of hiding them, like llama.cpp's --special.
	Special bool
}

// DecodeWith is Decode with options.
func (t *Tokenizer) DecodeWith(ids []int, o DecodeOptions) string {
	return t.decode(ids, o.Special)
}

// NewStreamDecoderWith is NewStreamDecoder with options.
func (t *Tokenizer) NewStreamDecoderWith(o DecodeOptions) *StreamDecoder {
	d := t.NewStreamDecoder()
	d.special = o.Special
	return d
}
