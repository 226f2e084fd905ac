package model

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gale-ai/gale/internal/gguf"
	"github.com/gale-ai/gale/internal/safetensors"
	"github.com/gale-ai/gale/tokenizer"
)

// isGGUFPath reports whether path names a GGUF file by its extension.
func isGGUFPath(path string) bool { return strings.HasSuffix(strings.ToLower(path), ".gguf") }

// loadGGUF opens a GGUF file (or the first part of a split one) of
// architecture llama: config from the llama.* keys, tokenizer from the
// tokenizer.ggml.* keys, weights as views of the mapping found by name.
func loadGGUF(path string, opts LoadOptions) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	cfg, err := ggufConfig(f)
	if err != nil {
		f.Close()
		return nil, inGGUF(path, err)
	}
	if err := cfg.Validate(); err != nil {
		f.Close()
		return nil, inGGUF(path, err)
	}
	store := newGGUFStore(f)
	m := &Model{Config: cfg, Name: ggufName(f, path), set: store, fileLen: store.Size()}
	if s, ok, err := f.String("tokenizer.chat_template"); err == nil && ok {
		m.ChatTemplate = s
	}
	if err := m.finish(setSource{store, path}, opts); err != nil {
		f.Close()
		return nil, err
	}
	tok, err := ggufTokenizer(f)
	if err != nil {
		f.Close()
		return nil, inGGUF(path, err)
	}
	if tok != nil {
		if err := m.setTokenizer(tok, path); err != nil {
			f.Close()
			return nil, err
		}
	}
	return m, nil
}

// inGGUF prefixes err with the file's path, unless the gguf package's
// typed getters have already done so (their errors name the file), so
// that the message names it once.
func inGGUF(path string, err error) error {
	if strings.HasPrefix(err.Error(), path+": ") {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// ggufName is general.name when the file has one, else the file's name.
func ggufName(f *gguf.File, path string) string {
	if s, ok, err := f.String("general.name"); err == nil && ok && s != "" {
		return s
	}
	base := path[strings.LastIndexByte(path, '/')+1:]
	return strings.TrimSuffix(base, ".gguf")
}

// ggufConfig reads the architecture from the llama.* keys, with
// llama.cpp's defaults (llama-model.cpp) for the optional ones.
func ggufConfig(f *gguf.File) (Config, error) {
	c := Config{Format: FormatGGUF, Arch: "llama"}
	arch, ok, err := f.String("general.architecture")
	if err != nil {
		return c, err
	}
	if !ok {
		return c, errors.New("general.architecture is missing")
	}
	if arch != "llama" {
		return c, fmt.Errorf("architecture %q is not supported (gale runs \"llama\": Llama-2, Mistral)", arch)
	}
	if n, ok, err := f.Uint("llama.expert_count"); err != nil {
		return c, err
	} else if ok && n > 0 {
		return c, fmt.Errorf("a mixture of %d experts (llama.expert_count, e.g. Mixtral) is not supported", n)
	}
	req := func(key string, dst *int) error {
		v, ok, err := f.Uint(key)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%s is missing", key)
		}
		if v > math.MaxInt32 {
			return fmt.Errorf("%s (%d) is out of range", key, v)
		}
		*dst = int(v)
		return nil
	}
	opt := func(key string, dst *int, def int) error {
		v, ok, err := f.Uint(key)
		switch {
		case err != nil:
			return err
		case !ok:
			*dst = def
		case v > math.MaxInt32:
			return fmt.Errorf("%s (%d) is out of range", key, v)
		default:
			*dst = int(v)
		}
		return nil
	}
	for _, r := range []struct {
		key string
		dst *int
	}{
		{"llama.block_count", &c.NLayers}, {"llama.embedding_length", &c.Dim},
		{"llama.feed_forward_length", &c.FFNDim}, {"llama.attention.head_count", &c.NHeads},
	} {
		if err := req(r.key, r.dst); err != nil {
			return c, err
		}
	}
	if err := opt("llama.attention.head_count_kv", &c.NKVHeads, c.NHeads); err != nil {
		return c, err
	}
	if c.NHeads <= 0 {
		return c, errors.New("llama.attention.head_count is 0")
	}
	if err := opt("llama.attention.key_length", &c.HeadDim, c.Dim/c.NHeads); err != nil {
		return c, err
	}
	var rot int
	if err := opt("llama.rope.dimension_count", &rot, c.HeadDim); err != nil {
		return c, err
	}
	if rot != c.HeadDim {
		return c, fmt.Errorf("llama.rope.dimension_count (%d) differs from the head size (%d): partial rotary is not supported", rot, c.HeadDim)
	}
	if err := opt("llama.context_length", &c.MaxSeqLen, DefaultLlamaMaxSeqLen); err != nil {
		return c, err
	}
	if err := opt("llama.attention.sliding_window", &c.SlidingWindow, 0); err != nil {
		return c, err
	}
	eps, ok, err := f.Float("llama.attention.layer_norm_rms_epsilon")
	if err != nil {
		return c, err
	}
	if !ok {
		return c, errors.New("llama.attention.layer_norm_rms_epsilon is missing")
	}
	c.NormEps = eps
	c.RopeTheta = DefaultRopeTheta
	if v, ok, err := f.Float("llama.rope.freq_base"); err != nil {
		return c, err
	} else if ok {
		c.RopeTheta = v
	}
	// The vocabulary: llama.vocab_size when written, else the number of
	// tokenizer pieces, else the embedding's rows.
	if err := opt("llama.vocab_size", &c.VocabSize, 0); err != nil {
		return c, err
	}
	if c.VocabSize == 0 {
		if t, ok := f.Tensor("token_embd.weight"); ok && len(t.Dims) == 2 {
			c.VocabSize = int(min(t.Dims[1], math.MaxInt32))
		}
	}
	if err := opt("tokenizer.ggml.bos_token_id", &c.BOS, DefaultBOS); err != nil {
		return c, err
	}
	if err := opt("tokenizer.ggml.eos_token_id", &c.EOS, DefaultEOS); err != nil {
		return c, err
	}
	// An end-of-turn token (tokenizer.ggml.eot_token_id, eom_token_id)
	// ends a generation as EOS does, as in llama.cpp.
	for _, key := range []string{"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"} {
		if v, ok, err := f.Uint(key); err != nil {
			return c, err
		} else if ok && v <= math.MaxInt32 && int(v) != c.EOS {
			if err := c.AddEOSIDs([]int{int(v)}); err != nil {
				return c, fmt.Errorf("%s: %v", key, err)
			}
		}
	}
	_, hasOutput := f.Tensor("output.weight")
	c.TiedEmbeddings = !hasOutput
	if ft, ok, err := f.Uint("general.file_type"); err == nil && ok {
		c.DType = ggufFileType(ft)
	}
	return c, nil
}

// ggufFileType names a llama_ftype value (llama.h) for display, from the
// same table gale quantize writes general.file_type from.
func ggufFileType(v uint64) string {
	for _, ft := range FileTypes {
		if uint64(ft.ID) == v {
			return ft.Name
		}
	}
	return fmt.Sprintf("ftype %d", v)
}

// ggufTokenizer builds the tokenizer from tokenizer.ggml.*; nil when the
// file carries none.
func ggufTokenizer(f *gguf.File) (*tokenizer.Tokenizer, error) {
	pieces, ok, err := f.Strings("tokenizer.ggml.tokens")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, nil
	}
	v := tokenizer.LlamaVocab()
	v.Pieces = pieces
	if s, ok, err := f.String("tokenizer.ggml.model"); err != nil {
		return nil, err
	} else if ok {
		v.Model = s
	}
	if v.Scores, _, err = f.Float32s("tokenizer.ggml.scores"); err != nil {
		return nil, err
	}
	if v.Types, _, err = f.Int32s("tokenizer.ggml.token_type"); err != nil {
		return nil, err
	}
	for _, k := range []struct {
		key string
		dst *int
	}{
		{"tokenizer.ggml.bos_token_id", &v.BOS}, {"tokenizer.ggml.eos_token_id", &v.EOS},
		{"tokenizer.ggml.unknown_token_id", &v.Unk}, {"tokenizer.ggml.padding_token_id", &v.Pad},
	} {
		if n, ok, err := f.Uint(k.key); err != nil {
			return nil, err
		} else if ok {
			if n >= uint64(len(pieces)) {
				return nil, fmt.Errorf("%s (%d) is outside the vocabulary of %d tokens", k.key, n, len(pieces))
			}
			*k.dst = int(n)
		}
	}
	for _, k := range []struct {
		key string
		dst *bool
	}{
		{"tokenizer.ggml.add_bos_token", &v.AddBOS}, {"tokenizer.ggml.add_eos_token", &v.AddEOS},
		{"tokenizer.ggml.add_space_prefix", &v.AddSpacePrefix},
		{"tokenizer.ggml.remove_extra_whitespaces", &v.RemoveExtraWhitespaces},
	} {
		if b, ok, err := f.Bool(k.key); err != nil {
			return nil, err
		} else if ok {
			*k.dst = b
		}
	}
	return tokenizer.FromVocab(v)
}

// ggufStore serves a GGUF file's tensors through the interface the
// safetensors sets implement, so that loading, --check and `gale info`
// treat both formats alike. Its tensors' DType is the ggml type's name
// (Q4_K, F32 ...), which tensor.ParseDType reads.
type ggufStore struct {
	f     *gguf.File
	names []string
	infos map[string]gguf.TensorInfo
	size  int64
}

func newGGUFStore(f *gguf.File) *ggufStore {
	s := &ggufStore{f: f, infos: map[string]gguf.TensorInfo{}}
	for _, t := range f.Tensors() {
		s.names = append(s.names, t.Name)
		s.infos[t.Name] = t
	}
	for _, p := range f.Parts() {
		s.size += p.Size
	}
	return s
}

// Tensor returns the named tensor as a view of the mapping; a tensor of a
// type gale cannot compute with comes back without data, so that the
// loader names its type in the error.
func (s *ggufStore) Tensor(name string) (*safetensors.Tensor, bool) {
	t, ok := s.infos[name]
	if !ok {
		return nil, false
	}
	shape := make([]int, 0, len(t.Dims))
	for _, d := range t.Shape() {
		shape = append(shape, int(d)) // bounded by the file size: checked at parse
	}
	st := &safetensors.Tensor{Name: name, DType: safetensors.DType(t.Type.String()), Shape: shape, File: s.f.Parts()[t.Part].Path}
	if data, err := s.f.RawData(&t); err == nil {
		st.Data = data
	}
	return st, true
}

// Names lists the tensors in the file's order.
func (s *ggufStore) Names() []string { return s.names }

// Size is the size of the file (all its parts).
func (s *ggufStore) Size() int64 { return s.size }

// Close unmaps the file.
func (s *ggufStore) Close() error { return s.f.Close() }
