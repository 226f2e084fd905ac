package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// hfFile is the part of a Hugging Face tokenizer.json this package reads.
type hfFile struct {
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Model        struct {
		Type                    string            `json:"type"`
		UnkToken                *string           `json:"unk_token"`
		ByteFallback            bool              `json:"byte_fallback"`
		ContinuingSubwordPrefix *string           `json:"continuing_subword_prefix"`
		EndOfWordSuffix         *string           `json:"end_of_word_suffix"`
		Vocab                   map[string]int    `json:"vocab"`
		Merges                  []json.RawMessage `json:"merges"`
	} `json:"model"`
}

// hfComponent is a normalizer or pre-tokenizer entry.
type hfComponent struct {
	Type           string            `json:"type"`
	Normalizers    []json.RawMessage `json:"normalizers"`
	PreTokenizers  []json.RawMessage `json:"pretokenizers"`
	Prepend        string            `json:"prepend"`
	Pattern        map[string]string `json:"pattern"`
	Content        string            `json:"content"`
	Replacement    string            `json:"replacement"`
	AddPrefixSpace *bool             `json:"add_prefix_space"`
	PrependScheme  string            `json:"prepend_scheme"`
	Split          *bool             `json:"split"`
}

// maxVocab bounds ids read from JSON so a corrupt file cannot make us
// allocate gigabytes.
const maxVocab = 1 << 22

// FromJSON builds a tokenizer from a Hugging Face tokenizer.json of the
// Llama/Mistral kind: a BPE model with byte fallback over U+2581-escaped
// text (Prepend/Replace normalizers or a Metaspace pre-tokenizer). Merges
// are applied by rank (lowest first, ties to the leftmost pair); special
// added tokens are control tokens and are never matched in text.
func FromJSON(data []byte) (*Tokenizer, error) {
	// Check the model type first: other model kinds have a differently
	// shaped vocab and would otherwise fail with a confusing decode error.
	var head struct {
		Model struct {
			Type string `json:"type"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("tokenizer: malformed tokenizer.json: %w", err)
	}
	if head.Model.Type != "" && head.Model.Type != "BPE" {
		return nil, fmt.Errorf("tokenizer: tokenizer.json model type is %q; only BPE is supported", head.Model.Type)
	}
	var f hfFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("tokenizer: malformed tokenizer.json: %w", err)
	}
	if f.Model.Type == "" && f.Model.Merges == nil {
		return nil, errors.New("tokenizer: tokenizer.json has no BPE model (model.type missing and no merges)")
	}
	if (f.Model.ContinuingSubwordPrefix != nil && *f.Model.ContinuingSubwordPrefix != "") ||
		(f.Model.EndOfWordSuffix != nil && *f.Model.EndOfWordSuffix != "") {
		return nil, errors.New("tokenizer: tokenizer.json: continuing_subword_prefix / end_of_word_suffix are not supported")
	}
	if len(f.Model.Vocab) == 0 {
		return nil, errors.New("tokenizer: tokenizer.json has no vocabulary (model.vocab is empty)")
	}
	n := 0
	for p, id := range f.Model.Vocab {
		if id < 0 || id >= maxVocab {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: vocab entry %q has id %d out of range", p, id)
		}
		n = max(n, id+1)
	}
	for _, a := range f.AddedTokens {
		if a.ID < 0 || a.ID >= maxVocab {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: added token %q has id %d out of range", a.Content, a.ID)
		}
		n = max(n, a.ID+1)
	}
	t := &Tokenizer{
		kind:         "hf-bpe",
		addBOS:       true,
		byteFallback: f.Model.ByteFallback,
		unkSurface:   defaultUnkSurface,
		pieces:       make([]string, n),
		scores:       make([]float32, n),
		types:        make([]pieceType, n),
	}
	for p, id := range f.Model.Vocab {
		if t.pieces[id] != "" && t.pieces[id] != p {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: id %d is used by both %q and %q", id, t.pieces[id], p)
		}
		t.pieces[id], t.types[id] = p, typeNormal
		if _, ok := pieceToByte(p); ok && t.byteFallback {
			t.types[id] = typeByte
		}
	}
	unk := ""
	if f.Model.UnkToken != nil {
		unk = *f.Model.UnkToken
	}
	for _, a := range f.AddedTokens {
		if t.pieces[a.ID] != "" && t.pieces[a.ID] != a.Content {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: added token %q has id %d, which the vocabulary gives to %q", a.Content, a.ID, t.pieces[a.ID])
		}
		t.pieces[a.ID] = a.Content
		switch {
		case a.Content == unk:
			t.types[a.ID] = typeUnknown
		case a.Special:
			t.types[a.ID] = typeControl
		default:
			t.types[a.ID] = typeUserDefined
		}
	}
	if unk != "" {
		id, ok := f.Model.Vocab[unk]
		if !ok {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: unk_token %q is not in the vocabulary", unk)
		}
		t.types[id] = typeUnknown
	}
	for id, p := range t.pieces {
		if p == "" {
			return nil, fmt.Errorf("tokenizer: tokenizer.json: id %d has no token (ids must be 0..%d without gaps)", id, n-1)
		}
	}
	if err := t.index(); err != nil {
		return nil, err
	}
	if err := t.readHFMerges(f.Model.Merges); err != nil {
		return nil, err
	}
	if err := t.readHFNormalization(f.Normalizer, f.PreTokenizer); err != nil {
		return nil, err
	}
	t.bos = t.specialID(-1, "<s>")
	t.eos = t.specialID(-1, "</s>")
	t.finish()
	return t, nil
}

// readHFMerges fills the pair table from the merges list ("a b" strings or
// ["a", "b"] pairs); rank r gets score -r so that the SentencePiece-style
// highest-score-first loop applies merges in rank order.
func (t *Tokenizer) readHFMerges(merges []json.RawMessage) error {
	t.pairs = newPairTable(len(merges))
	for rank, raw := range merges {
		var a, b string
		var s string
		var pair []string
		if err := json.Unmarshal(raw, &s); err == nil {
			var ok bool
			a, b, ok = strings.Cut(s, " ")
			if !ok {
				return fmt.Errorf("tokenizer: tokenizer.json: merge %d %q is not two tokens separated by a space", rank, s)
			}
		} else if err := json.Unmarshal(raw, &pair); err == nil && len(pair) == 2 {
			a, b = pair[0], pair[1]
		} else {
			return fmt.Errorf("tokenizer: tokenizer.json: merge %d is neither \"a b\" nor [\"a\", \"b\"]", rank)
		}
		l, ok1 := t.mergeable[a]
		r, ok2 := t.mergeable[b]
		m, ok3 := t.mergeable[a+b]
		if !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("tokenizer: tokenizer.json: merge %d (%q, %q) uses a token missing from the vocabulary", rank, a, b)
		}
		// The first occurrence of a pair holds its rank.
		t.pairs.putIfAbsent(pairKey(l, r), pairMerge{id: m, score: -float32(rank)})
		if t.scores[m] == 0 {
			t.scores[m] = -float32(rank)
		}
	}
	return nil
}

// readHFNormalization maps the normalizer / pre-tokenizer chain onto the
// SentencePiece flags. Anything that is not U+2581 escaping is rejected
// rather than silently ignored.
func (t *Tokenizer) readHFNormalization(norm, pre json.RawMessage) error {
	var walk func(raw json.RawMessage, what string) error
	walk = func(raw json.RawMessage, what string) error {
		if len(raw) == 0 || string(raw) == "null" {
			return nil
		}
		var c hfComponent
		if err := json.Unmarshal(raw, &c); err != nil {
			return fmt.Errorf("tokenizer: tokenizer.json: bad %s: %w", what, err)
		}
		switch c.Type {
		case "Sequence":
			for _, sub := range append(c.Normalizers, c.PreTokenizers...) {
				if err := walk(sub, what); err != nil {
					return err
				}
			}
		case "Prepend":
			if c.Prepend != spaceSymbol {
				return fmt.Errorf("tokenizer: tokenizer.json: %s Prepend %q is not supported (only U+2581)", what, c.Prepend)
			}
			t.addDummyPrefix = true
		case "Replace":
			if c.Pattern["String"] != " " || c.Content != spaceSymbol {
				return fmt.Errorf("tokenizer: tokenizer.json: %s Replace %v -> %q is not supported (only ' ' -> U+2581)", what, c.Pattern, c.Content)
			}
			t.escapeWhitespaces = true
		case "Metaspace":
			if c.Replacement != spaceSymbol {
				return fmt.Errorf("tokenizer: tokenizer.json: Metaspace replacement %q is not supported (only U+2581)", c.Replacement)
			}
			t.escapeWhitespaces = true
			prepend := c.PrependScheme == "always" || c.PrependScheme == "first"
			if c.PrependScheme == "" && (c.AddPrefixSpace == nil || *c.AddPrefixSpace) {
				prepend = true
			}
			if prepend {
				// Metaspace adds U+2581 only when the text does not
				// already start with one.
				t.addDummyPrefix = true
				t.prefixUnlessSpace = true
			}
			t.alwaysBreakSpace = c.Split == nil || *c.Split
		default:
			return fmt.Errorf("tokenizer: tokenizer.json: %s %q is not supported (SentencePiece-style BPE only)", what, c.Type)
		}
		return nil
	}
	if err := walk(norm, "normalizer"); err != nil {
		return err
	}
	return walk(pre, "pre_tokenizer")
}
