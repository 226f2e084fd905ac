package model

import (
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/gale-ai/gale/internal/gguf"
	"github.com/gale-ai/gale/tensor"
)

// FileType is a llama-quantize target: a default weight type and the
// mixture rules that choose another type for some tensors.
type FileType struct {
	Name  string       // "Q4_K_M", as llama-quantize spells it
	ID    uint32       // llama_ftype (llama.h), written as general.file_type
	Base  tensor.DType // the type of most matrices
	Quant bool         // a block type, to which the mixture rules apply
}

// FileTypes are the targets gale quantize writes.
var FileTypes = []FileType{
	{"F32", 0, tensor.F32, false}, {"F16", 1, tensor.F16, false}, {"BF16", 32, tensor.BF16, false},
	{"Q8_0", 7, tensor.Q8_0, true},
	{"Q4_0", 2, tensor.Q4_0, true}, {"Q4_1", 3, tensor.Q4_1, true},
	{"Q5_0", 8, tensor.Q5_0, true}, {"Q5_1", 9, tensor.Q5_1, true},
	{"Q2_K", 10, tensor.Q2_K, true},
	{"Q3_K_S", 11, tensor.Q3_K, true}, {"Q3_K_M", 12, tensor.Q3_K, true}, {"Q3_K_L", 13, tensor.Q3_K, true},
	{"Q4_K_S", 14, tensor.Q4_K, true}, {"Q4_K_M", 15, tensor.Q4_K, true},
	{"Q5_K_S", 16, tensor.Q5_K, true}, {"Q5_K_M", 17, tensor.Q5_K, true},
	{"Q6_K", 18, tensor.Q6_K, true},
}

// ParseFileType finds a target by name, in any case ("q4_k_m").
func ParseFileType(s string) (FileType, error) {
	var names []string
	for _, ft := range FileTypes {
		if strings.EqualFold(ft.Name, s) {
			return ft, nil
		}
		names = append(names, strings.ToLower(ft.Name))
	}
	return FileType{}, fmt.Errorf("unknown quantization type %q (want one of %s)", s, strings.Join(names, ", "))
}

// QuantizeOptions tune Quantize.
type QuantizeOptions struct {
	Type FileType
	// Threads quantize rows in parallel (0: every CPU).
	Threads int
	// Progress, when set, sees the bytes of source weights done and the
	// total, after each tensor.
	Progress func(done, total int64, tensor string)
}

// quantTensor is one tensor of the output file.
type quantTensor struct {
	name  string
	src   *tensor.Tensor // the weights, or nil for a norm held as f32
	norm  []float32
	shape []int // row-major [rows, cols]
	typ   tensor.DType
	// permuteHeads, when nonzero, reorders each head's rows from rotate-half
	// to interleaved pairs (llama.cpp's converter permute of q/k).
	permuteHeads int
}

// Quantize writes m as a GGUF file at dst, with the type mixture
// llama-quantize chooses for opts.Type and blocks computed by the
// reference quantizers (no importance matrix), so that llama.cpp loads it
// and its blocks equal llama-quantize's. Tensors are quantized and written
// one at a time: memory stays at one tensor's output.
func Quantize(m *Model, dst string, opts QuantizeOptions) error {
	c := m.Config
	kvs, err := m.ggufMetadata(opts.Type)
	if err != nil {
		return err
	}
	ts := m.quantPlan(opts.Type)
	infos := make([]gguf.TensorInfo, len(ts))
	var total int64
	for i, t := range ts {
		infos[i] = ggufTensorInfo(t.name, t.typ, t.shape)
		if t.src != nil {
			total += t.src.Bytes()
		}
	}
	fw, err := gguf.Create(dst, kvs, infos)
	if err != nil {
		return err
	}
	var done int64
	for _, t := range ts {
		if err := writeQuantTensor(fw.Writer, t, c, opts.Threads); err != nil {
			fw.Abort()
			return fmt.Errorf("%s: tensor %q: %v", dst, t.name, err)
		}
		if t.src != nil {
			done += t.src.Bytes()
		}
		if opts.Progress != nil {
			opts.Progress(done, total, t.name)
		}
	}
	return fw.Close()
}

// ggufTensorInfo declares a tensor of a row-major shape ([rows, cols])
// for the GGUF writer, which wants ne order (cols first).
func ggufTensorInfo(name string, dt tensor.DType, shape []int) gguf.TensorInfo {
	dims := make([]int64, len(shape))
	for j, d := range shape {
		dims[len(shape)-1-j] = int64(d)
	}
	return gguf.TensorInfo{Name: name, Type: gguf.GGMLType(dt), Dims: dims}
}

// quantPlan lists the output tensors in llama-quantize's order (tensors
// outside the blocks first, then block by block, each group by name) with
// the type its mixture gives each.
func (m *Model) quantPlan(ft FileType) []quantTensor {
	c := m.Config
	w := m.w
	var ts []quantTensor
	permute := 0
	if c.Format == FormatHF {
		permute = c.HeadDim
	}
	add := func(name string, t *tensor.Tensor, perm int) {
		ts = append(ts, quantTensor{name: name, src: t, shape: t.Shape, permuteHeads: perm})
	}
	addNorm := func(name string, v []float32) {
		ts = append(ts, quantTensor{name: name, norm: v, shape: []int{len(v)}, typ: tensor.F32})
	}
	if !c.TiedEmbeddings {
		add("output.weight", w.output, 0)
	}
	addNorm("output_norm.weight", w.norm)
	add("token_embd.weight", w.embed, 0)
	for l, lw := range w.layers {
		p := fmt.Sprintf("blk.%d.", l)
		add(p+"attn_k.weight", lw.wk, permute)
		addNorm(p+"attn_norm.weight", lw.attnNorm)
		add(p+"attn_output.weight", lw.wo, 0)
		add(p+"attn_q.weight", lw.wq, permute)
		add(p+"attn_v.weight", lw.wv, 0)
		add(p+"ffn_down.weight", lw.down, 0)
		add(p+"ffn_gate.weight", lw.gate, 0)
		addNorm(p+"ffn_norm.weight", lw.ffnNorm)
		add(p+"ffn_up.weight", lw.up, 0)
	}
	// The mixture counts attn_v and ffn_down tensors in this order, as
	// llama-quantize does.
	n := c.NLayers
	iV, iDown := 0, 0
	for i := range ts {
		t := &ts[i]
		if t.src == nil {
			continue
		}
		typ := ft.Base
		if ft.Quant {
			typ = mixtureType(ft, t.name, t.shape[len(t.shape)-1], c, &iV, &iDown, n)
		}
		t.typ = typ
	}
	return ts
}

// blockFallback is llama-quantize's type for rows that are not whole
// 256-element super-blocks (tensor_type_fallback).
var blockFallback = map[tensor.DType]tensor.DType{
	tensor.Q2_K: tensor.Q4_0, tensor.Q3_K: tensor.Q4_0, tensor.Q4_K: tensor.Q5_0,
	tensor.Q5_K: tensor.Q5_1, tensor.Q6_K: tensor.Q8_0,
}

// useMoreBits is llama-quantize's choice of layers that get more bits in
// the _M mixtures: the first and last eighth, and every third between.
func useMoreBits(i, n int) bool { return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2 }

// mixtureType is llama_tensor_get_type for architecture llama without
// experts: the target's type with its exceptions, then the fallback for
// rows that are not whole blocks.
func mixtureType(ft FileType, name string, cols int, c Config, iV, iDown *int, n int) tensor.DType {
	typ := ft.Base
	gqa := c.NHeads / c.NKVHeads
	switch {
	case name == "output.weight" || name == "token_embd.weight" && c.TiedEmbeddings:
		// A tied embedding is also the output head, and gets its type.
		switch {
		case cols%typ.Type().BlockElems != 0:
			typ = tensor.Q8_0
		case typ != tensor.Q8_0:
			typ = tensor.Q6_K
		}
	case name == "token_embd.weight":
	case strings.HasSuffix(name, "attn_v.weight"):
		i := *iV
		switch ft.Name {
		case "Q2_K":
			typ = tensor.Q3_K
			if gqa >= 4 {
				typ = tensor.Q4_K
			}
		case "Q3_K_M":
			typ = tensor.Q4_K
			if i < 2 {
				typ = tensor.Q5_K
			}
		case "Q3_K_L":
			typ = tensor.Q5_K
		case "Q4_K_M", "Q5_K_M":
			if useMoreBits(i, n) {
				typ = tensor.Q6_K
			}
		case "Q4_K_S":
			if i < 4 {
				typ = tensor.Q5_K
			}
		}
		*iV++
	case strings.HasSuffix(name, "ffn_down.weight"):
		i := *iDown
		switch ft.Name {
		case "Q2_K":
			typ = tensor.Q3_K
		case "Q3_K_M":
			typ = tensor.Q4_K
			if i < n/16 {
				typ = tensor.Q5_K
			}
		case "Q3_K_L":
			typ = tensor.Q5_K
		case "Q4_K_M", "Q5_K_M":
			if useMoreBits(i, n) {
				typ = tensor.Q6_K
			}
		case "Q4_K_S":
			if i < n/8 {
				typ = tensor.Q5_K
			}
		}
		*iDown++
	case strings.HasSuffix(name, "attn_output.weight"):
		switch ft.Name {
		case "Q2_K":
			typ = tensor.Q3_K
		case "Q3_K_M":
			typ = tensor.Q4_K
		case "Q3_K_L":
			typ = tensor.Q5_K
		}
	}
	if blk := typ.Type().BlockElems; cols%blk != 0 {
		if f, ok := blockFallback[typ]; ok {
			typ = f
		}
		if cols%typ.Type().BlockElems != 0 {
			typ = tensor.F16
		}
	}
	return typ
}

// writeQuantTensor converts one tensor's rows (dequantized from the
// source, permuted for GGUF's rotary layout when asked) and writes them,
// a block of rows at a time, quantized in parallel.
func writeQuantTensor(w *gguf.Writer, t quantTensor, c Config, threads int) error {
	typ := t.typ.Type()
	if typ.Quantize == nil {
		return fmt.Errorf("gale cannot write %s", typ.Name)
	}
	if t.src == nil {
		out := make([]byte, typ.RowBytes(len(t.norm)))
		typ.Quantize(out, t.norm)
		_, err := w.Write(out)
		return err
	}
	rows, cols := t.src.Rows(), t.src.Cols()
	rb := typ.RowBytes(cols)
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	const batch = 256
	out := make([]byte, batch*rb)
	bufs := make([][]float32, threads)
	for i := range bufs {
		bufs[i] = make([]float32, cols)
	}
	srcRow := func(r int) int {
		if t.permuteHeads == 0 {
			return r
		}
		// GGUF row h*D + 2i is HF row h*D + i; h*D + 2i+1 is h*D + i + D/2.
		d := t.permuteHeads
		h, j := r/d, r%d
		if j%2 == 0 {
			return h*d + j/2
		}
		return h*d + j/2 + d/2
	}
	for r0 := 0; r0 < rows; r0 += batch {
		r1 := min(r0+batch, rows)
		var wg sync.WaitGroup
		var next sync.Mutex
		cur := r0
		for k := 0; k < threads; k++ {
			wg.Add(1)
			go func(buf []float32) {
				defer wg.Done()
				for {
					next.Lock()
					r := cur
					cur++
					next.Unlock()
					if r >= r1 {
						return
					}
					t.src.Row(buf, srcRow(r))
					typ.Quantize(out[(r-r0)*rb:(r-r0+1)*rb], buf)
				}
			}(bufs[k])
		}
		wg.Wait()
		if _, err := w.Write(out[:(r1-r0)*rb]); err != nil {
			return err
		}
	}
	return nil
}

// ggufMetadata is the metadata of the output file: a GGUF source's own
// keys with the file type updated, as llama-quantize copies them, or the
// keys llama.cpp's converter writes for a safetensors checkpoint.
func (m *Model) ggufMetadata(ft FileType) ([]gguf.KV, error) {
	if gs, ok := m.set.(*ggufStore); ok {
		var kvs []gguf.KV
		seenQV := false
		for _, kv := range gs.f.KVs() {
			switch {
			case kv.Key == "general.file_type":
				kv.Value = gguf.Uint32(ft.ID)
			case kv.Key == "general.quantization_version":
				seenQV = true
			case strings.HasPrefix(kv.Key, "split."):
				continue // the output is one file
			}
			kvs = append(kvs, kv)
		}
		if !hasKey(kvs, "general.file_type") {
			kvs = append(kvs, gguf.KV{Key: "general.file_type", Value: gguf.Uint32(ft.ID)})
		}
		if !seenQV {
			kvs = append(kvs, gguf.KV{Key: "general.quantization_version", Value: gguf.Uint32(2)})
		}
		return kvs, nil
	}
	c := m.Config
	u := func(k string, v int) gguf.KV { return gguf.KV{Key: k, Value: gguf.Uint32(uint32(v))} }
	kvs := []gguf.KV{
		{Key: "general.architecture", Value: gguf.String("llama")},
		{Key: "general.type", Value: gguf.String("model")},
		{Key: "general.name", Value: gguf.String(m.Name)},
		u("llama.block_count", c.NLayers),
		u("llama.context_length", c.MaxSeqLen),
		u("llama.embedding_length", c.Dim),
		u("llama.feed_forward_length", c.FFNDim),
		u("llama.attention.head_count", c.NHeads),
		u("llama.attention.head_count_kv", c.NKVHeads),
		{Key: "llama.rope.freq_base", Value: gguf.Float32(float32(c.RopeTheta))},
		{Key: "llama.attention.layer_norm_rms_epsilon", Value: gguf.Float32(float32(c.NormEps))},
		u("llama.attention.key_length", c.HeadDim),
		u("llama.attention.value_length", c.HeadDim),
		u("general.file_type", int(ft.ID)),
		u("llama.vocab_size", c.VocabSize),
		u("llama.rope.dimension_count", c.HeadDim),
	}
	if c.SlidingWindow > 0 {
		// llama.cpp's converter drops Mistral's window (and its loader
		// ignores this key for llama); gale reads it, so the file keeps
		// the model's own attention.
		kvs = append(kvs, u("llama.attention.sliding_window", c.SlidingWindow))
	}
	if tok := m.Tokenizer; tok != nil {
		v, ok := tok.Vocabulary()
		if !ok {
			return nil, fmt.Errorf("%s: a GGUF file needs a SentencePiece tokenizer (tokenizer.model); this model has a %s one", m.Name, tok.Kind())
		}
		for len(v.Pieces) < c.VocabSize {
			// llama.cpp's converter pads the vocabulary to vocab_size.
			v.Pieces = append(v.Pieces, fmt.Sprintf("[PAD%d]", len(v.Pieces)))
			v.Scores = append(v.Scores, -1000)
			v.Types = append(v.Types, 4)
		}
		kvs = append(kvs,
			gguf.KV{Key: "tokenizer.ggml.model", Value: gguf.String("llama")},
			gguf.KV{Key: "tokenizer.ggml.pre", Value: gguf.String("default")},
			gguf.KV{Key: "tokenizer.ggml.tokens", Value: gguf.StringArray(v.Pieces)},
			gguf.KV{Key: "tokenizer.ggml.scores", Value: gguf.Float32Array(v.Scores)},
			gguf.KV{Key: "tokenizer.ggml.token_type", Value: gguf.Int32Array(v.Types)},
			u("tokenizer.ggml.bos_token_id", v.BOS),
			u("tokenizer.ggml.eos_token_id", v.EOS),
		)
		if v.Unk >= 0 {
			kvs = append(kvs, u("tokenizer.ggml.unknown_token_id", v.Unk))
		}
		kvs = append(kvs,
			gguf.KV{Key: "tokenizer.ggml.add_bos_token", Value: gguf.Bool(v.AddBOS)},
			gguf.KV{Key: "tokenizer.ggml.add_eos_token", Value: gguf.Bool(v.AddEOS)},
		)
	}
	if m.ChatTemplate != "" {
		kvs = append(kvs, gguf.KV{Key: "tokenizer.chat_template", Value: gguf.String(m.ChatTemplate)})
	}
	kvs = append(kvs, u("general.quantization_version", 2))
	return kvs, nil
}

func hasKey(kvs []gguf.KV, key string) bool {
	for _, kv := range kvs {
		if kv.Key == key {
			return true
		}
	}
	return false
}
