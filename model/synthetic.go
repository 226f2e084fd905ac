package model

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gale-ai/gale/internal/gguf"
	"github.com/gale-ai/gale/internal/safetensors"
	"github.com/gale-ai/gale/kernels"
	"github.com/gale-ai/gale/tensor"
)

// Published shapes for synthetic (random-weight) models: benchmarks and
// load tests need the exact sizes, not the trained values.
var syntheticShapes = map[string]Config{
	"mistral-7b": {Arch: "mistral", Dim: 4096, NLayers: 32, NHeads: 32, NKVHeads: 8, HeadDim: 128, FFNDim: 14336,
		VocabSize: 32000, NormEps: 1e-5, RopeTheta: 10000, SlidingWindow: 4096, MaxSeqLen: 32768, BOS: 1, EOS: 2},
	"llama-2-7b": {Arch: "llama", Dim: 4096, NLayers: 32, NHeads: 32, NKVHeads: 32, HeadDim: 128, FFNDim: 11008,
		VocabSize: 32000, NormEps: 1e-5, RopeTheta: 10000, MaxSeqLen: 4096, BOS: 1, EOS: 2},
	"llama-2-13b": {Arch: "llama", Dim: 5120, NLayers: 40, NHeads: 40, NKVHeads: 40, HeadDim: 128, FFNDim: 13824,
		VocabSize: 32000, NormEps: 1e-5, RopeTheta: 10000, MaxSeqLen: 4096, BOS: 1, EOS: 2},
	// small is a 166M-parameter Llama for load tests that need a file
	// large enough to see memory use, yet quick to write.
	"small": {Arch: "llama", Dim: 1024, NLayers: 8, NHeads: 16, NKVHeads: 4, HeadDim: 64, FFNDim: 2816,
		VocabSize: 32000, NormEps: 1e-5, RopeTheta: 10000, MaxSeqLen: 2048, BOS: 1, EOS: 2},
	"tiny": {Arch: "mistral", Dim: 64, NLayers: 2, NHeads: 4, NKVHeads: 2, HeadDim: 16, FFNDim: 160,
		VocabSize: 512, NormEps: 1e-5, RopeTheta: 10000, SlidingWindow: 16, MaxSeqLen: 1024, BOS: 1, EOS: 2},
}

// SyntheticShapes lists the shape names NewSynthetic accepts.
func SyntheticShapes() []string {
	return []string{"mistral-7b", "llama-2-7b", "llama-2-13b", "small", "tiny"}
}

// syntheticConfig returns a shape's config and the file type of dtype: a
// float type, or a quantization type with llama-quantize's mixture (q4_0,
// q4_k_m ...). A quantized synthetic model uses GGUF's tensor names, so
// that the mixture rules apply to it as to a quantized file.
func syntheticConfig(shape, dtype string) (Config, FileType, error) {
	c, ok := syntheticShapes[shape]
	if !ok {
		return c, FileType{}, fmt.Errorf("unknown synthetic shape %q (want mistral-7b, llama-2-7b, llama-2-13b, small or tiny)", shape)
	}
	ft, err := ParseFileType(dtype)
	if err != nil {
		if f, ok := map[string]string{"float32": "F32", "float16": "F16", "bfloat16": "BF16"}[dtype]; ok {
			ft, err = ParseFileType(f)
		}
	}
	if err != nil {
		return c, FileType{}, fmt.Errorf("unsupported dtype %q (want one of %s)", dtype, fileTypeNames())
	}
	c.DType = ft.Name
	if ft.Quant {
		c.Format = FormatGGUF
	}
	return c, ft, nil
}

// fileTypeNames lists the file types for messages.
func fileTypeNames() string {
	var out []string
	for _, ft := range FileTypes {
		out = append(out, strings.ToLower(ft.Name))
	}
	return strings.Join(out, ", ")
}

// syntheticTypes gives every tensor of a synthetic model its type: F32
// norms, and the matrices the file type's mixture.
func syntheticTypes(c Config, ft FileType) []tensor.DType {
	specs := c.specs()
	out := make([]tensor.DType, len(specs))
	iV, iDown := 0, 0
	for i, sp := range specs {
		switch {
		case len(sp.shape) == 1:
			out[i] = tensor.F32
		case ft.Quant:
			out[i] = mixtureType(ft, sp.name, sp.shape[len(sp.shape)-1], c, &iV, &iDown, c.NLayers)
		default:
			out[i] = ft.Base
		}
	}
	return out
}

// tensorBytes is the size of a tensor of type dt and shape.
func tensorBytes(dt tensor.DType, shape []int) int64 {
	rows := int64(1)
	for _, d := range shape[:len(shape)-1] {
		rows *= int64(d)
	}
	return rows * int64(dt.RowBytes(shape[len(shape)-1]))
}

// SyntheticSize reports the parameter count and weight bytes of a synthetic
// model without allocating it, so callers can check it fits in memory.
func SyntheticSize(shape, dtype string) (params, bytes int64, err error) {
	c, ft, err := syntheticConfig(shape, dtype)
	if err != nil {
		return 0, 0, err
	}
	types := syntheticTypes(c, ft)
	for i, sp := range c.specs() {
		n := int64(1)
		for _, d := range sp.shape {
			n *= int64(d)
		}
		params += n
		bytes += tensorBytes(types[i], sp.shape)
	}
	return params, bytes, nil
}

// fillRandomTensor fills a tensor's bytes with random weights of type dt:
// float types value by value (fillRandom), block types from a pool of
// blocks quantized from random values, picked at random. Speed does not
// depend on the values, and quantizing a 7B model with the K-quant
// search would take minutes; the pool keeps every block a valid one.
func fillRandomTensor(dst []byte, dt tensor.DType, seed uint64, norm bool) {
	typ := dt.Type()
	if !typ.Quantized() {
		for off := 0; off < len(dst); off += randomBlock {
			end := min(off+randomBlock, len(dst))
			fillRandom(dst[off:end], dt, blockSeed(seed, int64(off)), norm)
		}
		return
	}
	const poolBlocks = 1024
	vals := make([]byte, poolBlocks*typ.BlockElems*4)
	fillRandom(vals, tensor.F32, seed, false)
	f := make([]float32, poolBlocks*typ.BlockElems)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(vals[4*i:]))
	}
	pool := make([]byte, poolBlocks*typ.BlockBytes)
	typ.Quantize(pool, f)
	bb := typ.BlockBytes
	state := seed | 1
	for off := 0; off+bb <= len(dst); off += bb {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		k := int(state>>33) % poolBlocks
		copy(dst[off:off+bb], pool[k*bb:(k+1)*bb])
	}
}

// fillRandom writes pseudo-random weights with the spread of a trained
// model's (uniform in +-0.035, standard deviation 0.02), or ones for norm
// vectors. The generator is a per-tensor xorshift so that filling is fast
// and the same seed gives the same model in memory and on disk.
func fillRandom(dst []byte, dt tensor.DType, seed uint64, norm bool) {
	const spread = 0.035
	// A fixed number of streams (not the core count) keeps the values the
	// same on every machine.
	const workers = 8
	n := len(dst) / dt.Size()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func(lo, hi int, state uint64) {
			defer wg.Done()
			state |= 1
			for i := lo; i < hi; i++ {
				var f float32 = 1
				if !norm {
					state ^= state << 13
					state ^= state >> 7
					state ^= state << 17
					f = (float32(state>>40)/(1<<24)*2 - 1) * spread
				}
				switch dt {
				case tensor.F32:
					binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(f))
				case tensor.BF16:
					binary.LittleEndian.PutUint16(dst[2*i:], kernels.FloatToBF16(f))
				case tensor.F16:
					binary.LittleEndian.PutUint16(dst[2*i:], kernels.FloatToF16(f))
				}
			}
		}(lo, hi, seed*0x9e3779b97f4a7c15+uint64(w+1)*0xbf58476d1ce4e5b9)
	}
	wg.Wait()
}

// memSource serves in-memory tensors to loadWeights.
type memSource map[string]*tensor.Tensor

func (m memSource) get(name string) (*tensor.Tensor, string, error) {
	t, ok := m[name]
	if !ok {
		return nil, "", fmt.Errorf("tensor %q is missing", name)
	}
	return t, "", nil
}

// NewSynthetic builds a model of a published shape with random weights in
// memory (no files, no tokenizer), for benchmarks. Norm vectors are F32,
// matrices the requested dtype.
func NewSynthetic(shape, dtype string, seed uint64) (*Model, error) {
	c, ft, err := syntheticConfig(shape, dtype)
	if err != nil {
		return nil, err
	}
	types := syntheticTypes(c, ft)
	src := memSource{}
	for i, sp := range c.specs() {
		et, norm := types[i], len(sp.shape) == 1
		// Generated as WriteSynthetic generates it, so the same seed
		// gives the same weights in memory and on disk.
		buf := make([]byte, tensorBytes(et, sp.shape))
		fillRandomTensor(buf, et, seed+uint64(i), norm)
		t, err := tensor.New(sp.name, et, sp.shape, buf)
		if err != nil {
			return nil, err
		}
		src[sp.name] = t
	}
	m := &Model{Config: c, Name: shape + " (synthetic)"}
	if err := m.finish(src, LoadOptions{}); err != nil {
		return nil, err
	}
	return m, nil
}

// shardBytes is the size above which WriteSynthetic splits the checkpoint
// into shards with an index, as Hugging Face does.
const shardBytes = 5 << 30

// WriteSynthetic writes a Hugging Face checkpoint directory (config.json,
// model.safetensors or shards plus model.safetensors.index.json) of a
// published shape with random weights, generating each tensor as it is
// written so that memory use stays small. progress, when set, sees bytes
// written and the total.
//
// A quantized dtype (q4_0, q4_k_m ...) writes a GGUF file at dir instead,
// with llama-quantize's type mixture, tensor by tensor.
func WriteSynthetic(dir, shape, dtype string, seed uint64, progress func(done, total int64)) error {
	c, ft, err := syntheticConfig(shape, dtype)
	if err != nil {
		return err
	}
	if ft.Quant {
		return writeSyntheticGGUF(dir, shape, c, ft, seed, progress)
	}
	dt := ft.Base
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg := map[string]any{
		"architectures":           []string{map[string]string{"mistral": "MistralForCausalLM", "llama": "LlamaForCausalLM"}[c.Arch]},
		"model_type":              c.Arch,
		"hidden_size":             c.Dim,
		"intermediate_size":       c.FFNDim,
		"num_hidden_layers":       c.NLayers,
		"num_attention_heads":     c.NHeads,
		"num_key_value_heads":     c.NKVHeads,
		"head_dim":                c.HeadDim,
		"vocab_size":              c.VocabSize,
		"max_position_embeddings": c.MaxSeqLen,
		"rms_norm_eps":            c.NormEps,
		"rope_theta":              c.RopeTheta,
		"tie_word_embeddings":     false,
		"bos_token_id":            c.BOS,
		"eos_token_id":            c.EOS,
		"hidden_act":              "silu",
		"torch_dtype":             map[tensor.DType]string{tensor.F32: "float32", tensor.F16: "float16", tensor.BF16: "bfloat16"}[dt],
	}
	if c.SlidingWindow > 0 {
		cfg["sliding_window"] = c.SlidingWindow
	} else {
		cfg["sliding_window"] = nil
	}
	js, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "config.json"), append(js, '\n'), 0o644); err != nil {
		return err
	}

	_, total, _ := SyntheticSize(shape, dtype)
	var shards [][]safetensors.WriteTensor
	var cur []safetensors.WriteTensor
	var curBytes, done int64
	for i, sp := range c.specs() {
		et, norm := dt, len(sp.shape) == 1
		if norm {
			et = tensor.F32
		}
		n := int64(1)
		for _, d := range sp.shape {
			n *= int64(d)
		}
		size := n * int64(et.Size())
		if curBytes > 0 && curBytes+size > shardBytes {
			shards, cur, curBytes = append(shards, cur), nil, 0
		}
		cur = append(cur, safetensors.WriteTensor{Name: sp.name, DType: safetensors.DType(et.String()), Shape: sp.shape,
			Source: &randomReader{size: size, dt: et, seed: seed + uint64(i), norm: norm, onRead: func(k int) {
				done += int64(k)
				if progress != nil {
					progress(done, total)
				}
			}}})
		curBytes += size
	}
	shards = append(shards, cur)
	if len(shards) == 1 {
		return safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), shards[0], map[string]string{"format": "pt"})
	}
	index := map[string]any{"metadata": map[string]any{"total_size": total}}
	wm := map[string]string{}
	for i, sh := range shards {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		for _, t := range sh {
			wm[t.Name] = name
		}
		if err := safetensors.WriteFile(filepath.Join(dir, name), sh, map[string]string{"format": "pt"}); err != nil {
			return err
		}
	}
	index["weight_map"] = wm
	js, _ = json.MarshalIndent(index, "", "  ")
	return os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), append(js, '\n'), 0o644)
}

// randomBlock is the unit of random generation: tensors are filled block
// by block, each block from its own seed, both in memory and on disk.
const randomBlock = 64 << 20

// blockSeed is the seed of the block at byte offset off of a tensor.
func blockSeed(seed uint64, off int64) uint64 { return seed + uint64(off)*31 }

// randomReader produces a tensor's random bytes block by block, so a 14 GB
// checkpoint is written without holding it in memory.
type randomReader struct {
	size, off int64
	dt        tensor.DType
	seed      uint64
	norm      bool
	block     []byte // the current block; reused
	rest      []byte // its unread part
	onRead    func(int)
}

func (r *randomReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if len(r.rest) == 0 {
		n := min(r.size-r.off, randomBlock)
		if int64(cap(r.block)) < n {
			r.block = make([]byte, n)
		}
		r.block = r.block[:n]
		fillRandom(r.block, r.dt, blockSeed(r.seed, r.off), r.norm)
		r.rest = r.block
	}
	n := copy(p, r.rest)
	r.rest = r.rest[n:]
	r.off += int64(n)
	if r.onRead != nil {
		r.onRead(n)
	}
	return n, nil
}

// writeSyntheticGGUF writes a quantized synthetic model as a GGUF file,
// generating each tensor as it is written.
func writeSyntheticGGUF(path, shape string, c Config, ft FileType, seed uint64, progress func(done, total int64)) error {
	m := &Model{Config: c, Name: shape + " (synthetic)"}
	kvs, err := m.ggufMetadata(ft)
	if err != nil {
		return err
	}
	types := syntheticTypes(c, ft)
	specs := c.specs()
	infos := make([]gguf.TensorInfo, len(specs))
	var total int64
	for i, sp := range specs {
		infos[i] = ggufTensorInfo(sp.name, types[i], sp.shape)
		total += tensorBytes(types[i], sp.shape)
	}
	fw, err := gguf.Create(path, kvs, infos)
	if err != nil {
		return err
	}
	var done int64
	for i, sp := range specs {
		buf := make([]byte, tensorBytes(types[i], sp.shape))
		fillRandomTensor(buf, types[i], seed+uint64(i), len(sp.shape) == 1)
		if err := fw.WriteTensor(sp.name, buf); err != nil {
			fw.Abort()
			return err
		}
		done += int64(len(buf))
		if progress != nil {
			progress(done, total)
		}
	}
	return fw.Close()
}
