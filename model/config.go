package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Format says how a checkpoint lays out its attention weights.
type Format int

const (
	// FormatHF is a Hugging Face checkpoint (config.json): q/k rows are
	// permuted so that rotary pairs are (i, i + head_dim/2), "rotate half".
	FormatHF Format = iota
	// FormatNative is Mistral's consolidated layout (params.json), also
	// Meta's: rotary pairs are interleaved, (2i, 2i+1).
	FormatNative
	// FormatGGUF is a GGUF file (llama.cpp's names, llama.* metadata):
	// llama.cpp's converter permutes q/k rows, so rotary pairs are
	// interleaved as in the native layout.
	FormatGGUF
)

// InterleavedRoPE reports whether the checkpoint's q/k rows pair rotary
// dimensions (2i, 2i+1) rather than (i, i + head_dim/2).
func (f Format) InterleavedRoPE() bool { return f == FormatNative || f == FormatGGUF }

// String names the format for messages.
func (f Format) String() string {
	switch f {
	case FormatHF:
		return "hf"
	case FormatNative:
		return "native"
	case FormatGGUF:
		return "gguf"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// Defaults for fields a checkpoint config may leave out. They follow the
// reference implementations, so that a config means the same here as there.
const (
	// DefaultRopeTheta is the rotary base when rope_theta is absent
	// (Llama-2, Mistral 7B v0.1; v0.2+ give 1e6 explicitly).
	DefaultRopeTheta = 10000.0
	// DefaultHFNormEps is transformers' LlamaConfig/MistralConfig default
	// rms_norm_eps. Published checkpoints always give it.
	DefaultHFNormEps = 1e-6
	// DefaultNativeNormEps is the norm_eps of Meta's and Mistral's reference
	// code when params.json omits it.
	DefaultNativeNormEps = 1e-5
	// DefaultLlamaMaxSeqLen is transformers' LlamaConfig default
	// max_position_embeddings.
	DefaultLlamaMaxSeqLen = 2048
	// DefaultMistralMaxSeqLen is used for Mistral configs without a context
	// length (params.json never has one): the 32k context Mistral 7B v0.2+
	// were trained with. With a sliding window the KV cache is bounded by
	// the window anyway.
	DefaultMistralMaxSeqLen = 32768
	// DefaultBOS and DefaultEOS are the SentencePiece ids of <s> and </s> in
	// the Llama and Mistral vocabularies.
	DefaultBOS = 1
	DefaultEOS = 2
)

// Limits Validate enforces. They are far above any real model of the
// families gale runs and exist to turn corrupt configs into errors instead of
// absurd allocations.
const (
	maxDim     = 1 << 20
	maxLayers  = 1000
	maxVocab   = 1 << 24
	maxContext = 1 << 24
)

// Config is the architecture of a checkpoint, from either config.json (HF)
// or params.json (Mistral native).
type Config struct {
	Arch           string  // "llama" or "mistral"
	Format         Format  // FormatHF (config.json) or FormatNative (params.json)
	Dim            int     // hidden_size / dim: width of the residual stream
	NLayers        int     // num_hidden_layers / n_layers
	NHeads         int     // num_attention_heads / n_heads: query heads
	NKVHeads       int     // num_key_value_heads / n_kv_heads (GQA); NHeads when absent
	HeadDim        int     // head_dim when given, else Dim/NHeads
	FFNDim         int     // intermediate_size / hidden_dim
	VocabSize      int     // vocab_size
	NormEps        float64 // rms_norm_eps / norm_eps (defaults: DefaultHFNormEps, DefaultNativeNormEps)
	RopeTheta      float64 // rope_theta (default DefaultRopeTheta)
	SlidingWindow  int     // sliding_window; 0 = full causal attention (absent or null)
	MaxSeqLen      int     // max_position_embeddings (defaults: DefaultLlamaMaxSeqLen, DefaultMistralMaxSeqLen)
	TiedEmbeddings bool    // tie_word_embeddings (native: tied_embeddings): logits use the embedding matrix
	BOS, EOS       int     // bos_token_id / eos_token_id (default 1, 2; the first when eos is a list)
	// EOSIDs are every id that ends a generation when there is more than
	// EOS: eos_token_id when it is a list (config.json,
	// generation_config.json), GGUF's eos and eot. nil means EOS alone.
	EOSIDs []int
	DType  string // torch_dtype (or dtype) as written, informational only
}

// fields is a parsed JSON object with typed, error-reporting accessors.
// A key that is absent or null counts as not given.
type fields struct {
	m    map[string]json.RawMessage
	file string // "config.json" or "params.json", for messages
}

// parseFields decodes the top level of a config file. encoding/json limits
// nesting depth, so hostile input cannot exhaust the stack.
func parseFields(data []byte, file string) (*fields, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("config: %s is not valid UTF-8", file)
	}
	t := bytes.TrimSpace(data)
	if len(t) == 0 || t[0] != '{' {
		return nil, fmt.Errorf("config: %s is not a JSON object", file)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(t, &m); err != nil {
		return nil, fmt.Errorf("config: %s is not valid JSON: %v", file, err)
	}
	return &fields{m: m, file: file}, nil
}

func (f *fields) raw(key string) (json.RawMessage, bool) {
	v, ok := f.m[key]
	if !ok || string(v) == "null" {
		return nil, false
	}
	return v, true
}

// int returns an integer field. Integral floats (4096.0) are accepted, as
// Python's json would load them and the reference code would use them.
func (f *fields) int(key string) (int, bool, error) {
	v, ok := f.raw(key)
	if !ok {
		return 0, false, nil
	}
	s := string(v)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > math.MaxInt32 || n < math.MinInt32 {
			return 0, true, fmt.Errorf("config: %s (%s) is out of range", key, s)
		}
		return int(n), true, nil
	}
	if v[0] == '-' || (v[0] >= '0' && v[0] <= '9') {
		if x, err := strconv.ParseFloat(s, 64); err == nil && x == math.Trunc(x) && math.Abs(x) <= math.MaxInt32 {
			return int(x), true, nil
		}
	}
	return 0, true, fmt.Errorf("config: %s is %s, want an integer", key, short(v))
}

// float returns a numeric field.
func (f *fields) float(key string) (float64, bool, error) {
	v, ok := f.raw(key)
	if !ok {
		return 0, false, nil
	}
	if v[0] == '-' || (v[0] >= '0' && v[0] <= '9') {
		if x, err := strconv.ParseFloat(string(v), 64); err == nil {
			return x, true, nil
		}
	}
	return 0, true, fmt.Errorf("config: %s is %s, want a number", key, short(v))
}

// str returns a string field.
func (f *fields) str(key string) (string, bool, error) {
	v, ok := f.raw(key)
	if !ok {
		return "", false, nil
	}
	var s string
	if v[0] != '"' || json.Unmarshal(v, &s) != nil {
		return "", true, fmt.Errorf("config: %s is %s, want a string", key, short(v))
	}
	return s, true, nil
}

// bool returns a boolean field.
func (f *fields) bool(key string) (bool, bool, error) {
	v, ok := f.raw(key)
	if !ok {
		return false, false, nil
	}
	switch string(v) {
	case "true":
		return true, true, nil
	case "false":
		return false, true, nil
	}
	return false, true, fmt.Errorf("config: %s is %s, want true or false", key, short(v))
}

// positive returns a required integer field that must be > 0.
func (f *fields) positive(key string) (int, error) {
	n, ok, err := f.int(key)
	switch {
	case err != nil:
		return 0, err
	case !ok:
		return 0, fmt.Errorf("config: %s: missing %s", f.file, key)
	case n <= 0:
		return 0, fmt.Errorf("config: %s is %d, want > 0", key, n)
	}
	return n, nil
}

// optPositive returns an optional integer field that must be > 0 when given,
// or def when absent or null.
func (f *fields) optPositive(key string, def int) (int, error) {
	n, ok, err := f.int(key)
	switch {
	case err != nil:
		return 0, err
	case !ok:
		return def, nil
	case n <= 0:
		return 0, fmt.Errorf("config: %s is %d, want > 0", key, n)
	}
	return n, nil
}

// optFloat returns an optional number, def when absent or null.
func (f *fields) optFloat(key string, def float64) (float64, error) {
	x, ok, err := f.float(key)
	if err != nil || !ok {
		return def, err
	}
	return x, nil
}

// short shortens a JSON fragment for an error message.
func short(v []byte) string {
	if len(v) > 40 {
		return string(v[:40]) + "..."
	}
	return string(v)
}

// hfArchs maps the supported HF architecture class names to Config.Arch.
var hfArchs = map[string]string{
	"LlamaForCausalLM":   "llama",
	"MistralForCausalLM": "mistral",
}

// ParseHFConfig parses a Hugging Face config.json of a Llama or Mistral
// model and validates the result. Unknown fields are ignored; features gale
// does not implement (rope scaling, attention or MLP biases, activations
// other than SiLU) are errors rather than silently wrong output.
func ParseHFConfig(data []byte) (Config, error) {
	f, err := parseFields(data, "config.json")
	if err != nil {
		return Config{}, err
	}
	c := Config{Format: FormatHF}

	// architectures decides; model_type must agree with the family if given.
	if v, ok := f.raw("architectures"); ok {
		var archs []string
		if v[0] != '[' || json.Unmarshal(v, &archs) != nil {
			return Config{}, fmt.Errorf("config: architectures is %s, want a list of strings", short(v))
		}
		if len(archs) > 0 {
			a, ok := hfArchs[archs[0]]
			if !ok {
				return Config{}, fmt.Errorf("config: unsupported architecture %q (gale runs LlamaForCausalLM and MistralForCausalLM)", archs[0])
			}
			c.Arch = a
		}
	}
	mt, haveMT, err := f.str("model_type")
	if err != nil {
		return Config{}, err
	}
	if haveMT {
		if mt != "llama" && mt != "mistral" {
			return Config{}, fmt.Errorf("config: unsupported architecture %q (model_type; gale runs llama and mistral)", mt)
		}
		if c.Arch == "" {
			c.Arch = mt
		}
	}
	if c.Arch == "" {
		return Config{}, errors.New("config: config.json: missing architectures and model_type: cannot tell the architecture")
	}

	if act, ok, err := f.str("hidden_act"); err != nil {
		return Config{}, err
	} else if ok && act != "silu" {
		return Config{}, fmt.Errorf("config: hidden_act %q is not supported (only silu)", act)
	}
	if v, ok := f.raw("rope_scaling"); ok {
		return Config{}, fmt.Errorf("config: rope_scaling %s is not supported", short(v))
	}
	for _, k := range []string{"attention_bias", "mlp_bias"} {
		if b, _, err := f.bool(k); err != nil {
			return Config{}, err
		} else if b {
			return Config{}, fmt.Errorf("config: %s true is not supported (gale's layers have no biases)", k)
		}
	}

	if c.Dim, err = f.positive("hidden_size"); err != nil {
		return Config{}, err
	}
	if c.NLayers, err = f.positive("num_hidden_layers"); err != nil {
		return Config{}, err
	}
	if c.NHeads, err = f.positive("num_attention_heads"); err != nil {
		return Config{}, err
	}
	if c.NKVHeads, err = f.optPositive("num_key_value_heads", c.NHeads); err != nil {
		return Config{}, err
	}
	if c.FFNDim, err = f.positive("intermediate_size"); err != nil {
		return Config{}, err
	}
	if c.VocabSize, err = f.positive("vocab_size"); err != nil {
		return Config{}, err
	}
	if c.HeadDim, err = headDim(f, "head_dim", c.Dim, "hidden_size", c.NHeads, "num_attention_heads"); err != nil {
		return Config{}, err
	}
	if c.NormEps, err = f.optFloat("rms_norm_eps", DefaultHFNormEps); err != nil {
		return Config{}, err
	}
	if c.RopeTheta, err = f.optFloat("rope_theta", DefaultRopeTheta); err != nil {
		return Config{}, err
	}
	if c.SlidingWindow, err = window(f); err != nil {
		return Config{}, err
	}
	def := DefaultLlamaMaxSeqLen
	if c.Arch == "mistral" {
		def = DefaultMistralMaxSeqLen
	}
	if c.MaxSeqLen, err = f.optPositive("max_position_embeddings", def); err != nil {
		return Config{}, err
	}
	if c.TiedEmbeddings, _, err = f.bool("tie_word_embeddings"); err != nil {
		return Config{}, err
	}
	if c.BOS, err = tokenID(f, "bos_token_id", DefaultBOS); err != nil {
		return Config{}, err
	}
	if c.EOS, err = tokenID(f, "eos_token_id", DefaultEOS); err != nil {
		return Config{}, err
	}
	if ids, err := tokenIDs(f, "eos_token_id"); err != nil {
		return Config{}, err
	} else if len(ids) > 1 {
		c.EOSIDs = ids
	}
	if c.DType, err = dtype(f, "torch_dtype", "dtype"); err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

// ParseParams parses a Mistral native params.json (dim, n_layers, head_dim,
// hidden_dim, n_heads, n_kv_heads, norm_eps, vocab_size, rope_theta,
// sliding_window) and validates the result. Arch is "mistral" when a
// sliding window is given, else "llama" (the two differ only there). Mixture
// of experts and vision encoders are errors.
func ParseParams(data []byte) (Config, error) {
	f, err := parseFields(data, "params.json")
	if err != nil {
		return Config{}, err
	}
	for _, k := range []string{"moe", "vision_encoder"} {
		if _, ok := f.raw(k); ok {
			return Config{}, fmt.Errorf("config: params.json has %q: not supported (gale runs dense text models)", k)
		}
	}
	if v, ok := f.raw("rope_scaling"); ok {
		return Config{}, fmt.Errorf("config: rope_scaling %s is not supported", short(v))
	}
	c := Config{Format: FormatNative, BOS: DefaultBOS, EOS: DefaultEOS}
	if c.Dim, err = f.positive("dim"); err != nil {
		return Config{}, err
	}
	if c.NLayers, err = f.positive("n_layers"); err != nil {
		return Config{}, err
	}
	if c.NHeads, err = f.positive("n_heads"); err != nil {
		return Config{}, err
	}
	if c.NKVHeads, err = f.optPositive("n_kv_heads", c.NHeads); err != nil {
		return Config{}, err
	}
	if c.FFNDim, err = f.positive("hidden_dim"); err != nil {
		return Config{}, err
	}
	// Meta's Llama params.json say vocab_size -1 (take it from the
	// tokenizer); those checkpoints are .pth files gale cannot read anyway,
	// so the usual positive-value error is the right answer.
	if c.VocabSize, err = f.positive("vocab_size"); err != nil {
		return Config{}, err
	}
	if c.HeadDim, err = headDim(f, "head_dim", c.Dim, "dim", c.NHeads, "n_heads"); err != nil {
		return Config{}, err
	}
	if c.NormEps, err = f.optFloat("norm_eps", DefaultNativeNormEps); err != nil {
		return Config{}, err
	}
	if c.RopeTheta, err = f.optFloat("rope_theta", DefaultRopeTheta); err != nil {
		return Config{}, err
	}
	if c.SlidingWindow, err = window(f); err != nil {
		return Config{}, err
	}
	c.Arch = "llama"
	if _, ok := f.raw("sliding_window"); ok {
		c.Arch = "mistral"
	}
	if c.MaxSeqLen, err = f.optPositive("max_seq_len", DefaultMistralMaxSeqLen); err != nil {
		return Config{}, err
	}
	if c.TiedEmbeddings, _, err = f.bool("tied_embeddings"); err != nil {
		return Config{}, err
	}
	if c.DType, err = dtype(f, "dtype"); err != nil {
		return Config{}, err
	}
	return c, c.Validate()
}

// headDim returns the head_dim field, or dim/heads when it is absent or null
// (which then must divide evenly).
func headDim(f *fields, key string, dim int, dimKey string, heads int, headsKey string) (int, error) {
	hd, ok, err := f.int(key)
	switch {
	case err != nil:
		return 0, err
	case ok && hd <= 0:
		return 0, fmt.Errorf("config: %s is %d, want > 0", key, hd)
	case ok:
		return hd, nil
	case dim%heads != 0:
		return 0, fmt.Errorf("config: %s (%d) is not divisible by %s (%d) and %s is not given", dimKey, dim, headsKey, heads, key)
	}
	return dim / heads, nil
}

// window returns sliding_window: 0 (full attention) when absent or null.
func window(f *fields) (int, error) {
	w, ok, err := f.int("sliding_window")
	switch {
	case err != nil:
		return 0, err
	case ok && w <= 0:
		return 0, fmt.Errorf("config: sliding_window is %d, want > 0 (or null for full attention)", w)
	}
	return w, nil
}

// tokenID returns a token id field that may be an integer or (eos_token_id
// in some HF configs) a list of integers, of which the first is taken.
func tokenID(f *fields, key string, def int) (int, error) {
	v, ok := f.raw(key)
	if !ok {
		return def, nil
	}
	if v[0] == '[' {
		var ids []json.RawMessage
		if json.Unmarshal(v, &ids) != nil {
			return 0, fmt.Errorf("config: %s is %s, want an integer or a list of integers", key, short(v))
		}
		if len(ids) == 0 {
			return def, nil
		}
		sub := &fields{m: map[string]json.RawMessage{key: ids[0]}}
		n, _, err := sub.int(key)
		if err != nil {
			return 0, fmt.Errorf("config: %s is %s, want an integer or a list of integers", key, short(v))
		}
		return n, nil
	}
	n, _, err := f.int(key)
	return n, err
}

// tokenIDs returns every id of a field that may be an integer or a list
// of integers (nil when absent).
func tokenIDs(f *fields, key string) ([]int, error) {
	v, ok := f.raw(key)
	if !ok {
		return nil, nil
	}
	if v[0] != '[' {
		n, _, err := f.int(key)
		return []int{n}, err
	}
	var raw []json.RawMessage
	if json.Unmarshal(v, &raw) != nil {
		return nil, fmt.Errorf("config: %s is %s, want an integer or a list of integers", key, short(v))
	}
	ids := make([]int, 0, len(raw))
	for _, r := range raw {
		sub := &fields{m: map[string]json.RawMessage{key: r}, file: f.file}
		n, ok, err := sub.int(key)
		if err != nil || !ok {
			return nil, fmt.Errorf("config: %s is %s, want an integer or a list of integers", key, short(v))
		}
		ids = append(ids, n)
	}
	return ids, nil
}

// ParseGenerationConfig returns the end-of-text ids of an HF
// generation_config.json (eos_token_id, an integer or a list; nil when
// absent). Instruct models list there the ids that end a turn, which
// config.json may not carry.
func ParseGenerationConfig(data []byte) ([]int, error) {
	f, err := parseFields(data, "generation_config.json")
	if err != nil {
		return nil, err
	}
	return tokenIDs(f, "eos_token_id")
}

// AddEOSIDs adds ids to c.EOSIDs (keeping c.EOS first and no repeats),
// after checking that each is inside the vocabulary.
func (c *Config) AddEOSIDs(ids []int) error {
	if len(c.EOSIDs) == 0 {
		c.EOSIDs = []int{c.EOS}
	}
	for _, id := range ids {
		if id < 0 || id >= c.VocabSize {
			return fmt.Errorf("config: eos_token_id %d is outside the vocabulary (0..%d)", id, c.VocabSize-1)
		}
		if !slices.Contains(c.EOSIDs, id) {
			c.EOSIDs = append(c.EOSIDs, id)
		}
	}
	return nil
}

// dtype returns the first of keys that is given, as a string.
func dtype(f *fields, keys ...string) (string, error) {
	for _, k := range keys {
		s, ok, err := f.str(k)
		if err != nil || ok {
			return s, err
		}
	}
	return "", nil
}

// fieldName returns the config-file spelling of a Config field for c's
// format, so that Validate's messages quote what the user can see.
func (c Config) fieldName(field string) string {
	hf := map[string]string{"Dim": "hidden_size", "NLayers": "num_hidden_layers", "NHeads": "num_attention_heads",
		"NKVHeads": "num_key_value_heads", "HeadDim": "head_dim", "FFNDim": "intermediate_size", "VocabSize": "vocab_size",
		"NormEps": "rms_norm_eps", "RopeTheta": "rope_theta", "SlidingWindow": "sliding_window",
		"MaxSeqLen": "max_position_embeddings", "BOS": "bos_token_id", "EOS": "eos_token_id"}
	native := map[string]string{"Dim": "dim", "NLayers": "n_layers", "NHeads": "n_heads", "NKVHeads": "n_kv_heads",
		"HeadDim": "head_dim", "FFNDim": "hidden_dim", "VocabSize": "vocab_size", "NormEps": "norm_eps",
		"RopeTheta": "rope_theta", "SlidingWindow": "sliding_window", "MaxSeqLen": "max_seq_len",
		"BOS": "bos_token_id", "EOS": "eos_token_id"}
	gguf := map[string]string{"Dim": "llama.embedding_length", "NLayers": "llama.block_count", "NHeads": "llama.attention.head_count",
		"NKVHeads": "llama.attention.head_count_kv", "HeadDim": "llama.attention.key_length", "FFNDim": "llama.feed_forward_length",
		"VocabSize": "llama.vocab_size", "NormEps": "llama.attention.layer_norm_rms_epsilon", "RopeTheta": "llama.rope.freq_base",
		"SlidingWindow": "llama.attention.sliding_window", "MaxSeqLen": "llama.context_length",
		"BOS": "tokenizer.ggml.bos_token_id", "EOS": "tokenizer.ggml.eos_token_id"}
	switch c.Format {
	case FormatNative:
		return native[field]
	case FormatGGUF:
		return gguf[field]
	}
	return hf[field]
}

// Validate checks that the sizes are positive, mutually consistent and
// within sane bounds, so that the loader and the forward pass can trust
// them. Messages use the field names of the config file the Config came
// from.
func (c Config) Validate() error {
	if c.Arch != "llama" && c.Arch != "mistral" {
		return fmt.Errorf("config: unsupported architecture %q", c.Arch)
	}
	if c.Format != FormatHF && c.Format != FormatNative && c.Format != FormatGGUF {
		return fmt.Errorf("config: unknown checkpoint format %v", c.Format)
	}
	n := c.fieldName
	ranges := []struct {
		field  string
		v, max int
	}{
		{"Dim", c.Dim, maxDim}, {"NLayers", c.NLayers, maxLayers}, {"NHeads", c.NHeads, maxDim},
		{"NKVHeads", c.NKVHeads, maxDim}, {"HeadDim", c.HeadDim, maxDim}, {"FFNDim", c.FFNDim, maxDim},
		{"VocabSize", c.VocabSize, maxVocab}, {"MaxSeqLen", c.MaxSeqLen, maxContext},
	}
	for _, r := range ranges {
		if r.v <= 0 {
			return fmt.Errorf("config: %s is %d, want > 0", n(r.field), r.v)
		}
		if r.v > r.max {
			return fmt.Errorf("config: %s (%d) is larger than %d", n(r.field), r.v, r.max)
		}
	}
	if c.NHeads%c.NKVHeads != 0 {
		return fmt.Errorf("config: %s (%d) is not divisible by %s (%d)", n("NHeads"), c.NHeads, n("NKVHeads"), c.NKVHeads)
	}
	if c.HeadDim%2 != 0 {
		return fmt.Errorf("config: %s (%d) is odd; rotary embedding needs pairs", n("HeadDim"), c.HeadDim)
	}
	if c.NHeads*c.HeadDim > maxDim {
		return fmt.Errorf("config: %s x %s (%d x %d) is larger than %d", n("NHeads"), n("HeadDim"), c.NHeads, c.HeadDim, maxDim)
	}
	if c.SlidingWindow < 0 {
		return fmt.Errorf("config: %s is %d, want >= 0", n("SlidingWindow"), c.SlidingWindow)
	}
	if !(c.NormEps > 0 && c.NormEps < 1) {
		return fmt.Errorf("config: %s is %g, want > 0 and < 1", n("NormEps"), c.NormEps)
	}
	if !(c.RopeTheta > 0 && c.RopeTheta <= math.MaxFloat64) {
		return fmt.Errorf("config: %s is %g, want > 0", n("RopeTheta"), c.RopeTheta)
	}
	if c.BOS < 0 || c.BOS >= c.VocabSize {
		return fmt.Errorf("config: %s (%d) is outside the vocabulary (0..%d)", n("BOS"), c.BOS, c.VocabSize-1)
	}
	if c.EOS < 0 || c.EOS >= c.VocabSize {
		return fmt.Errorf("config: %s (%d) is outside the vocabulary (0..%d)", n("EOS"), c.EOS, c.VocabSize-1)
	}
	for _, id := range c.EOSIDs {
		if id < 0 || id >= c.VocabSize {
			return fmt.Errorf("config: %s (%d) is outside the vocabulary (0..%d)", n("EOS"), id, c.VocabSize-1)
		}
	}
	return nil
}
