package tokenizer

import (
	"errors"
	"fmt"
)

// Vocab is a SentencePiece-BPE vocabulary as GGUF files carry it, in the
// tokenizer.ggml.* metadata keys. A GGUF reader fills it from the file and
// FromVocab turns it into a Tokenizer; start from LlamaVocab(), which holds
// llama.cpp's defaults for the keys a file may omit.
type Vocab struct {
	// Model is tokenizer.ggml.model. Only "llama" (SentencePiece BPE) is
	// supported; "" is taken as "llama".
	Model string
	// Pieces is tokenizer.ggml.tokens.
	Pieces []string
	// Scores is tokenizer.ggml.scores (merge priorities); nil means all 0.
	Scores []float32
	// Types is tokenizer.ggml.token_type: 1 normal, 2 unknown, 3 control,
	// 4 user-defined, 5 unused, 6 byte. nil means all normal.
	Types []int32
	// BOS, EOS, Unk, Pad are tokenizer.ggml.{bos,eos,unknown,padding}_token_id;
	// -1 when the model has none.
	BOS, EOS, Unk, Pad int
	// AddBOS and AddEOS are tokenizer.ggml.add_bos_token / add_eos_token:
	// whether a prompt starts with BOS (ends with EOS).
	AddBOS, AddEOS bool
	// AddSpacePrefix is tokenizer.ggml.add_space_prefix, SentencePiece's
	// add_dummy_prefix.
	AddSpacePrefix bool
	// RemoveExtraWhitespaces is tokenizer.ggml.remove_extra_whitespaces.
	RemoveExtraWhitespaces bool
}

// LlamaVocab returns a Vocab with llama.cpp's defaults for a "llama"
// tokenizer (llama-vocab.cpp): BOS 1, EOS 2, unknown 0, no padding, BOS
// added, EOS not, a space prefix, white space kept as it is. A GGUF reader
// overrides each field whose key the file has.
func LlamaVocab() Vocab {
	return Vocab{Model: "llama", BOS: 1, EOS: 2, Unk: 0, Pad: -1, AddBOS: true, AddSpacePrefix: true}
}

// FromVocab builds a tokenizer from GGUF vocabulary data. It encodes as
// FromModelProto does for the same pieces (SentencePiece BPE: merges by
// score, byte fallback when the vocabulary has <0xNN> pieces).
func FromVocab(v Vocab) (*Tokenizer, error) {
	if v.Model != "" && v.Model != "llama" {
		return nil, fmt.Errorf("tokenizer: tokenizer.ggml.model %q is not supported (only \"llama\", SentencePiece BPE; e.g. Llama-3's \"gpt2\" byte-level BPE is not)", v.Model)
	}
	n := len(v.Pieces)
	if n == 0 {
		return nil, errors.New("tokenizer: the vocabulary has no tokens (tokenizer.ggml.tokens is empty)")
	}
	if n > maxVocab {
		return nil, fmt.Errorf("tokenizer: the vocabulary has %d tokens, more than %d", n, maxVocab)
	}
	if v.Scores != nil && len(v.Scores) != n {
		return nil, fmt.Errorf("tokenizer: tokenizer.ggml.scores has %d entries for %d tokens", len(v.Scores), n)
	}
	if v.Types != nil && len(v.Types) != n {
		return nil, fmt.Errorf("tokenizer: tokenizer.ggml.token_type has %d entries for %d tokens", len(v.Types), n)
	}
	t := &Tokenizer{
		kind:                   "sentencepiece-bpe",
		addDummyPrefix:         v.AddSpacePrefix,
		removeExtraWhitespaces: v.RemoveExtraWhitespaces,
		escapeWhitespaces:      true,
		unkSurface:             defaultUnkSurface,
		stringMerges:           true,
		addBOS:                 v.AddBOS,
		addEOS:                 v.AddEOS,
		pieces:                 make([]string, n),
		scores:                 make([]float32, n),
		types:                  make([]pieceType, n),
	}
	copy(t.pieces, v.Pieces)
	if v.Scores != nil {
		copy(t.scores, v.Scores)
	}
	for i := range t.types {
		typ := pieceType(typeNormal)
		if v.Types != nil {
			if v.Types[i] < int32(typeNormal) || v.Types[i] > int32(typeByte) {
				return nil, fmt.Errorf("tokenizer: token %d %q has type %d (want 1..6)", i, v.Pieces[i], v.Types[i])
			}
			typ = pieceType(v.Types[i])
		}
		t.types[i] = typ
		if typ == typeByte {
			t.byteFallback = true
		}
	}
	// llama.cpp trusts the unknown id over the type array; a vocabulary
	// whose types mark no UNKNOWN piece still has one there.
	if v.Unk >= n {
		return nil, fmt.Errorf("tokenizer: unknown_token_id %d is out of range (%d tokens)", v.Unk, n)
	}
	if v.Unk >= 0 && v.Types == nil {
		t.types[v.Unk] = typeUnknown
	}
	for _, sp := range []struct {
		name string
		id   int
	}{{"bos_token_id", v.BOS}, {"eos_token_id", v.EOS}, {"padding_token_id", v.Pad}} {
		if sp.id < -1 || sp.id >= n {
			return nil, fmt.Errorf("tokenizer: %s %d is out of range (%d tokens)", sp.name, sp.id, n)
		}
	}
	if err := t.index(); err != nil {
		return nil, err
	}
	if t.unk < 0 {
		return nil, errors.New("tokenizer: the vocabulary has no UNKNOWN token")
	}
	// GGUF names BOS/EOS by id; unlike a ModelProto the id is used even
	// when the piece is not typed CONTROL (some converters mark them
	// USER_DEFINED), since that is what llama.cpp does.
	t.bos, t.eos = v.BOS, v.EOS
	t.buildPairsFromVocab()
	t.finish()
	return t, nil
}

// AddBOS reports whether a prompt should start with BOS (GGUF
// add_bos_token; true for SentencePiece models and tokenizer.json).
func (t *Tokenizer) AddBOS() bool { return t.addBOS && t.bos >= 0 }

// AddEOS reports whether an encoded prompt should end with EOS (GGUF
// add_eos_token; false otherwise).
func (t *Tokenizer) AddEOS() bool { return t.addEOS && t.eos >= 0 }
