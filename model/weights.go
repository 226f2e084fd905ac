package model

import (
	"fmt"
	"slices"

	"github.com/gale-ai/gale/tensor"
)

// layerWeights are one transformer block's parameters. Matrices are views
// of the checkpoint's bytes; the norm vectors are small and widened to f32.
type layerWeights struct {
	attnNorm, ffnNorm []float32
	wq, wk, wv, wo    *tensor.Tensor
	gate, up, down    *tensor.Tensor
}

// weights are all of a model's parameters.
type weights struct {
	embed  *tensor.Tensor // [vocab, dim]
	layers []layerWeights
	norm   []float32
	output *tensor.Tensor // [vocab, dim]; the embedding matrix when tied

	// params is every tensor as loaded, norms included, in the order the
	// config implies them (a tied embedding once): what --check scans and
	// the parameter count sums.
	params []*tensor.Tensor
}

// tensorNames are the checkpoint names of one layout's parameters.
type tensorNames struct {
	embed, norm, output            string
	attnNorm, ffnNorm              string // with %d for the layer
	wq, wk, wv, wo, gate, up, down string
}

var hfNames = tensorNames{
	embed: "model.embed_tokens.weight", norm: "model.norm.weight", output: "lm_head.weight",
	attnNorm: "model.layers.%d.input_layernorm.weight", ffnNorm: "model.layers.%d.post_attention_layernorm.weight",
	wq: "model.layers.%d.self_attn.q_proj.weight", wk: "model.layers.%d.self_attn.k_proj.weight",
	wv: "model.layers.%d.self_attn.v_proj.weight", wo: "model.layers.%d.self_attn.o_proj.weight",
	gate: "model.layers.%d.mlp.gate_proj.weight", up: "model.layers.%d.mlp.up_proj.weight",
	down: "model.layers.%d.mlp.down_proj.weight",
}

// nativeNames are Mistral's consolidated (and Meta's) names: w1 is the gate,
// w3 the up projection and w2 the down projection.
var nativeNames = tensorNames{
	embed: "tok_embeddings.weight", norm: "norm.weight", output: "output.weight",
	attnNorm: "layers.%d.attention_norm.weight", ffnNorm: "layers.%d.ffn_norm.weight",
	wq: "layers.%d.attention.wq.weight", wk: "layers.%d.attention.wk.weight",
	wv: "layers.%d.attention.wv.weight", wo: "layers.%d.attention.wo.weight",
	gate: "layers.%d.feed_forward.w1.weight", up: "layers.%d.feed_forward.w3.weight",
	down: "layers.%d.feed_forward.w2.weight",
}

// ggufNames are llama.cpp's names (llama-arch.cpp, LLM_ARCH_LLAMA).
var ggufNames = tensorNames{
	embed: "token_embd.weight", norm: "output_norm.weight", output: "output.weight",
	attnNorm: "blk.%d.attn_norm.weight", ffnNorm: "blk.%d.ffn_norm.weight",
	wq: "blk.%d.attn_q.weight", wk: "blk.%d.attn_k.weight",
	wv: "blk.%d.attn_v.weight", wo: "blk.%d.attn_output.weight",
	gate: "blk.%d.ffn_gate.weight", up: "blk.%d.ffn_up.weight",
	down: "blk.%d.ffn_down.weight",
}

// names are the tensor names of a checkpoint format.
func (f Format) names() tensorNames {
	switch f {
	case FormatNative:
		return nativeNames
	case FormatGGUF:
		return ggufNames
	}
	return hfNames
}

// tensorSpec is a parameter the config implies, with its required shape.
type tensorSpec struct {
	name  string
	shape []int
}

// specs lists every tensor the config implies, in forward-pass order.
func (c *Config) specs() []tensorSpec {
	names := c.Format.names()
	q, kv := c.NHeads*c.HeadDim, c.NKVHeads*c.HeadDim
	s := []tensorSpec{{names.embed, []int{c.VocabSize, c.Dim}}}
	for l := 0; l < c.NLayers; l++ {
		f := func(pat string) string { return fmt.Sprintf(pat, l) }
		s = append(s,
			tensorSpec{f(names.attnNorm), []int{c.Dim}},
			tensorSpec{f(names.wq), []int{q, c.Dim}},
			tensorSpec{f(names.wk), []int{kv, c.Dim}},
			tensorSpec{f(names.wv), []int{kv, c.Dim}},
			tensorSpec{f(names.wo), []int{c.Dim, q}},
			tensorSpec{f(names.ffnNorm), []int{c.Dim}},
			tensorSpec{f(names.gate), []int{c.FFNDim, c.Dim}},
			tensorSpec{f(names.up), []int{c.FFNDim, c.Dim}},
			tensorSpec{f(names.down), []int{c.Dim, c.FFNDim}},
		)
	}
	s = append(s, tensorSpec{names.norm, []int{c.Dim}})
	if !c.TiedEmbeddings {
		s = append(s, tensorSpec{names.output, []int{c.VocabSize, c.Dim}})
	}
	return s
}

// tensorSource is where loadWeights finds tensors by name: a set of
// safetensors files, or the in-memory tensors of a synthetic model.
type tensorSource interface {
	get(name string) (*tensor.Tensor, string, error) // tensor, file it lives in, error
}

// setSource reads tensors from safetensors files; where names the files
// (a directory or a file) in messages about tensors that are absent.
type setSource struct {
	set   tensorStore
	where string
}

func (s setSource) get(name string) (*tensor.Tensor, string, error) {
	st, ok := s.set.Tensor(name)
	if !ok {
		return nil, s.where, fmt.Errorf("tensor %q is missing", name)
	}
	dt, err := tensor.ParseDType(string(st.DType))
	if err != nil {
		return nil, st.File, fmt.Errorf("tensor %q: %v", name, err)
	}
	t, err := tensor.New(name, dt, st.Shape, st.Data)
	return t, st.File, err
}

// loadWeights finds every tensor the config implies and checks its shape.
func loadWeights(c *Config, src tensorSource) (*weights, error) {
	byName := map[string]*tensor.Tensor{}
	var params []*tensor.Tensor
	for _, sp := range c.specs() {
		t, file, err := src.get(sp.name)
		if err != nil {
			if file != "" {
				return nil, fmt.Errorf("%s: %v", file, err)
			}
			return nil, err
		}
		if !slices.Equal(t.Shape, sp.shape) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, the config implies %v", file, sp.name, t.Shape, sp.shape)
		}
		byName[sp.name] = t
		params = append(params, t)
	}
	names := c.Format.names()
	w := &weights{
		embed:  byName[names.embed],
		norm:   byName[names.norm].ToF32(),
		params: params,
	}
	w.output = w.embed
	if !c.TiedEmbeddings {
		w.output = byName[names.output]
	}
	for l := 0; l < c.NLayers; l++ {
		f := func(pat string) *tensor.Tensor { return byName[fmt.Sprintf(pat, l)] }
		w.layers = append(w.layers, layerWeights{
			attnNorm: f(names.attnNorm).ToF32(), ffnNorm: f(names.ffnNorm).ToF32(),
			wq: f(names.wq), wk: f(names.wk), wv: f(names.wv), wo: f(names.wo),
			gate: f(names.gate), up: f(names.up), down: f(names.down),
		})
	}
	return w, nil
}

// all returns every distinct weight matrix (norm vectors excluded).
func (w *weights) all() []*tensor.Tensor {
	out := []*tensor.Tensor{w.embed}
	for _, l := range w.layers {
		out = append(out, l.wq, l.wk, l.wv, l.wo, l.gate, l.up, l.down)
	}
	if w.output != w.embed {
		out = append(out, w.output)
	}
	return out
}

// checkFinite scans a tensor for NaN and Inf, reporting the first one.
func checkFinite(t *tensor.Tensor) error {
	if i, v := t.FirstNonFinite(); i >= 0 {
		return fmt.Errorf("tensor %q: element %d is %v", t.Name, i, v)
	}
	return nil
}
