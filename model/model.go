// Package model loads Mistral- and Llama-family checkpoints and runs them:
// the transformer forward pass, the KV cache, sampling and the generation
// loop. It is a library; the CLI is a thin layer over it.
package model

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/gale-ai/gale/internal/safetensors"
	"github.com/gale-ai/gale/tensor"
	"github.com/gale-ai/gale/tokenizer"
)

// Model is a loaded checkpoint: its configuration, its weights (views of
// the memory-mapped files) and its tokenizer.
type Model struct {
	Config    Config
	Tokenizer *tokenizer.Tokenizer // nil when the checkpoint has none
	Name      string               // directory base name, or a description
	// ChatTemplate is the model's own Jinja chat template
	// (tokenizer_config.json chat_template, GGUF tokenizer.chat_template);
	// empty when it has none.
	ChatTemplate string

	w       *weights
	set     tensorStore // nil for synthetic models
	fileLen int64
}

// tensorStore is what a model's weights are mapped from: a set of
// safetensors files, or one in-memory file for the embedded model.
type tensorStore interface {
	Tensor(name string) (*safetensors.Tensor, bool)
	Names() []string
	Size() int64
	Close() error
}

// LoadOptions tune loading.
type LoadOptions struct {
	// Check scans every weight for NaN and Inf, which costs a full read of
	// the checkpoint; without it weights are only mapped, never read, at load.
	Check bool
	// Progress, when set, is called with bytes done and total during the
	// check scan.
	Progress func(done, total int64)
	// SlidingWindow, when positive, sets the attention window in place of
	// the model's own: for GGUF files of Mistral v0.1, which do not record
	// theirs (llama.cpp runs them with full attention, identical up to
	// 4096 tokens). It applies to every format alike.
	SlidingWindow int
}

// TensorInfo describes one weight tensor for inspection.
type TensorInfo struct {
	Name  string
	DType string
	Shape []int
	Bytes int64
	File  string
}

// tokenizerFiles are the names a checkpoint's tokenizer may have, in order
// of preference: the SentencePiece model is the reference encoding.
var tokenizerFiles = []string{"tokenizer.model", "tokenizer.model.v3", "tokenizer.model.v1", "tokenizer.json"}

// Load opens a checkpoint directory: a Hugging Face directory (config.json
// and model.safetensors or shards) or a Mistral native directory
// (params.json and consolidated.safetensors). A path to a file inside such
// a directory is accepted too. Weights are memory-mapped, not read.
func Load(path string, opts LoadOptions) (*Model, error) {
	dir := path
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, unwrapPathError(err))
	}
	if !fi.IsDir() {
		if isGGUFPath(path) || hasGGUFMagic(path) {
			return loadGGUF(path, opts)
		}
		dir = filepath.Dir(path)
	}
	var cfg Config
	if data, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		if cfg, err = ParseHFConfig(data); err != nil {
			return nil, fmt.Errorf("%s: %v", filepath.Join(dir, "config.json"), err)
		}
	} else if data, err2 := os.ReadFile(filepath.Join(dir, "params.json")); err2 == nil {
		if cfg, err = ParseParams(data); err != nil {
			return nil, fmt.Errorf("%s: %v", filepath.Join(dir, "params.json"), err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %v", filepath.Join(dir, "config.json"), unwrapPathError(err))
	} else {
		return nil, fmt.Errorf("%s: not a model directory: no config.json or params.json", dir)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %v", dir, err)
	}
	set, err := safetensors.OpenDir(dir)
	if err != nil {
		return nil, err
	}
	m := &Model{Config: cfg, Name: filepath.Base(filepath.Clean(dir)), set: set, fileLen: set.Size()}
	if err := m.finish(setSource{set, dir}, opts); err != nil {
		set.Close()
		return nil, err
	}
	for _, name := range tokenizerFiles {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		tok, err := tokenizer.Load(p)
		if err != nil {
			set.Close()
			return nil, fmt.Errorf("%s: %v", p, err)
		}
		if err := m.setTokenizer(tok, p); err != nil {
			set.Close()
			return nil, err
		}
		break
	}
	// The model's own chat template (tokenizer_config.json or
	// chat_template.jinja), for chat, the server and GGUF files written
	// from it.
	src, err := ReadChatTemplate(dir)
	if err != nil {
		set.Close()
		return nil, err
	}
	m.ChatTemplate = src
	return m, nil
}

// hasGGUFMagic reports whether the file starts with "GGUF".
func hasGGUFMagic(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	n, _ := f.Read(b[:])
	return n == 4 && string(b[:]) == "GGUF"
}

// unwrapPathError drops the path an *fs.PathError repeats, since callers
// prefix messages with the path themselves.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// finish binds the weights and optionally checks them.
func (m *Model) finish(src tensorSource, opts LoadOptions) error {
	if opts.SlidingWindow > 0 {
		m.Config.SlidingWindow = opts.SlidingWindow
	}
	w, err := loadWeights(&m.Config, src)
	if err != nil {
		return err
	}
	m.w = w
	if opts.Check {
		var total, done int64
		for _, t := range w.params {
			total += t.Bytes()
		}
		for _, t := range w.params {
			if err := checkFinite(t); err != nil {
				return fmt.Errorf("%s: %v", m.fileOf(t.Name), err)
			}
			done += t.Bytes()
			if opts.Progress != nil {
				opts.Progress(done, total)
			}
		}
	}
	return nil
}

// setTokenizer attaches a tokenizer after checking it fits the model.
func (m *Model) setTokenizer(tok *tokenizer.Tokenizer, path string) error {
	if tok.VocabSize() > m.Config.VocabSize {
		return fmt.Errorf("%s: tokenizer has %d pieces, the model's vocabulary only %d", path, tok.VocabSize(), m.Config.VocabSize)
	}
	m.Tokenizer = tok
	return nil
}

// fileOf names the file holding a tensor, for messages.
func (m *Model) fileOf(name string) string {
	if m.set != nil {
		if t, ok := m.set.Tensor(name); ok {
			return t.File
		}
	}
	return m.Name
}

//go:embed embedded/stories260k/config.json embedded/stories260k/model.safetensors embedded/stories260k/tokenizer.model
var embedded embed.FS

// DefaultName names the embedded model.
const DefaultName = "stories260k (embedded)"

// LoadDefault returns the model compiled into the binary: Karpathy's
// TinyStories 260K-parameter Llama, enough to try every command anywhere.
func LoadDefault(opts LoadOptions) (*Model, error) {
	read := func(name string) []byte {
		b, err := embedded.ReadFile("embedded/stories260k/" + name)
		if err != nil {
			panic(err) // the files are compiled in
		}
		return b
	}
	cfg, err := ParseHFConfig(read("config.json"))
	if err != nil {
		return nil, fmt.Errorf("embedded model: %v", err)
	}
	f, err := safetensors.FromBytes("model.safetensors", read("model.safetensors"))
	if err != nil {
		return nil, fmt.Errorf("embedded model: %v", err)
	}
	m := &Model{Config: cfg, Name: DefaultName, set: f, fileLen: f.Size()}
	if err := m.finish(setSource{f, "embedded model.safetensors"}, opts); err != nil {
		return nil, err
	}
	tok, err := tokenizer.FromModelProto(read("tokenizer.model"))
	if err != nil {
		return nil, fmt.Errorf("embedded model: tokenizer: %v", err)
	}
	if err := m.setTokenizer(tok, "tokenizer.model"); err != nil {
		return nil, err
	}
	return m, nil
}

// Close releases the memory mappings. Sessions must not be used afterwards.
func (m *Model) Close() error {
	if m.set != nil {
		err := m.set.Close()
		m.set = nil
		return err
	}
	return nil
}

// NumParams counts the parameters (a tied embedding once).
func (m *Model) NumParams() int64 {
	var n int64
	for _, t := range m.w.params {
		n += int64(t.Len())
	}
	return n
}

// SizeBytes is the size of the checkpoint's weight data (the files'
// size for a loaded checkpoint).
func (m *Model) SizeBytes() int64 {
	if m.fileLen > 0 {
		return m.fileLen
	}
	var n int64
	for _, t := range m.w.all() {
		n += t.Bytes()
	}
	return n
}

// WeightBytes is the number of bytes of matrices read for one token of
// decode: every layer matrix and the output head, the figure that bounds
// decode speed by memory bandwidth.
func (m *Model) WeightBytes() int64 {
	var n int64
	for _, t := range m.tokenMatrices() {
		n += t.Bytes()
	}
	return n
}

// WeightParams is the number of matrix weights each token is multiplied
// by (WeightBytes in elements): a token costs 2*WeightParams FLOPs of
// matrix products, plus attention.
func (m *Model) WeightParams() int64 {
	var n int64
	for _, t := range m.tokenMatrices() {
		n += int64(t.Len())
	}
	return n
}

// DecodeWeights are the bytes of the matrices one decode step is
// multiplied by (WeightBytes of them, in the order of the model's
// tensors), mapped, not copied: what bench reads with a plain read loop
// beside each decode step, so that a step and a pass over the same bytes
// are timed within the same second of a shared machine's bandwidth.
func (m *Model) DecodeWeights() [][]byte {
	var out [][]byte
	for _, t := range m.tokenMatrices() {
		out = append(out, t.Raw())
	}
	return out
}

// tokenMatrices are the matrices every token is multiplied by: all of them
// but an untied embedding, of which a token reads only its own row.
func (m *Model) tokenMatrices() []*tensor.Tensor {
	var ts []*tensor.Tensor
	for _, t := range m.w.all() {
		if t == m.w.embed && m.w.output != m.w.embed {
			continue
		}
		ts = append(ts, t)
	}
	return ts
}

// DTypes lists the distinct dtypes of the weight matrices.
func (m *Model) DTypes() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range m.w.all() {
		if s := t.DType.String(); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// Tensors lists every tensor of the checkpoint, in file order.
func (m *Model) Tensors() []TensorInfo {
	var out []TensorInfo
	if m.set == nil {
		for _, t := range m.w.params {
			out = append(out, TensorInfo{Name: t.Name, DType: t.DType.String(), Shape: t.Shape, Bytes: t.Bytes()})
		}
		return out
	}
	for _, name := range m.set.Names() {
		t, _ := m.set.Tensor(name)
		out = append(out, TensorInfo{Name: name, DType: string(t.DType), Shape: t.Shape, Bytes: int64(len(t.Data)), File: t.File})
	}
	return out
}

// weightDType is the dtype of the layer matrices (for display).
func (m *Model) weightDType() tensor.DType { return m.w.layers[0].wq.DType }

// TypeCount is how many tensors of a checkpoint have one weight type.
type TypeCount struct {
	DType string `json:"dtype"`
	Count int    `json:"tensors"`
	Bytes int64  `json:"bytes"`
}

// TypeMix counts the checkpoint's tensors by type, the most common first
// (a 7B Q4_K_M GGUF: Q4_K 193, F32 65, Q6_K 33), as llama.cpp's loader
// reports them.
func (m *Model) TypeMix() []TypeCount {
	idx := map[string]int{}
	var out []TypeCount
	for _, t := range m.Tensors() {
		i, ok := idx[t.DType]
		if !ok {
			i = len(out)
			idx[t.DType] = i
			out = append(out, TypeCount{DType: t.DType})
		}
		out[i].Count++
		out[i].Bytes += t.Bytes
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Count > out[j].Count })
	return out
}
