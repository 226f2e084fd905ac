package model

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

// The fixture configs are copies of the shared test fixtures (see
// testdata/config/README.md); the expected values below are the numbers
// written in those files and in the fixtures' README.
func readConfig(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/config/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseHFConfigFixtures(t *testing.T) {
	c, err := ParseHFConfig(readConfig(t, "stories260k.config.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Arch: "llama", Format: FormatHF, Dim: 64, NLayers: 5, NHeads: 8, NKVHeads: 4, HeadDim: 8,
		FFNDim: 172, VocabSize: 512, NormEps: 1e-5, RopeTheta: 10000, SlidingWindow: 0, MaxSeqLen: 512,
		TiedEmbeddings: true, BOS: 1, EOS: 2, DType: "float32"}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("stories260k:\n got %+v\nwant %+v", c, want)
	}
	for _, v := range []string{"bf16", "f16", "f32"} {
		c, err := ParseHFConfig(readConfig(t, "tiny-mistral-"+v+".config.json"))
		if err != nil {
			t.Fatal(err)
		}
		want := Config{Arch: "mistral", Format: FormatHF, Dim: 64, NLayers: 2, NHeads: 4, NKVHeads: 2, HeadDim: 16,
			FFNDim: 160, VocabSize: 256, NormEps: 1e-5, RopeTheta: 10000, SlidingWindow: 8, MaxSeqLen: 128,
			TiedEmbeddings: false, BOS: 1, EOS: 2, DType: map[string]string{"bf16": "bfloat16", "f16": "float16", "f32": "float32"}[v]}
		if !reflect.DeepEqual(c, want) {
			t.Errorf("tiny-mistral %s:\n got %+v\nwant %+v", v, c, want)
		}
	}
}

func TestParseParamsFixture(t *testing.T) {
	c, err := ParseParams(readConfig(t, "tiny-mistral-native.params.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Arch: "mistral", Format: FormatNative, Dim: 64, NLayers: 2, NHeads: 4, NKVHeads: 2, HeadDim: 16,
		FFNDim: 160, VocabSize: 256, NormEps: 1e-5, RopeTheta: 10000, SlidingWindow: 8,
		MaxSeqLen: DefaultMistralMaxSeqLen, BOS: 1, EOS: 2}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("native params:\n got %+v\nwant %+v", c, want)
	}
	// The HF and native fixtures describe the same model.
	hf, _ := ParseHFConfig(readConfig(t, "tiny-mistral-bf16.config.json"))
	if hf.Dim != c.Dim || hf.NLayers != c.NLayers || hf.NHeads != c.NHeads || hf.NKVHeads != c.NKVHeads ||
		hf.HeadDim != c.HeadDim || hf.FFNDim != c.FFNDim || hf.VocabSize != c.VocabSize || hf.SlidingWindow != c.SlidingWindow {
		t.Errorf("HF %+v and native %+v disagree", hf, c)
	}
}

// Configs as published with the real checkpoints (abridged to the fields
// that matter), covering null sliding_window, absent head_dim, eos lists and
// the other variations met in the wild.
func TestParseHFConfigPublished(t *testing.T) {
	cases := []struct {
		name, json string
		want       Config
	}{
		{"Mistral-7B-v0.1", `{"architectures":["MistralForCausalLM"],"bos_token_id":1,"eos_token_id":2,"hidden_act":"silu",
			"hidden_size":4096,"initializer_range":0.02,"intermediate_size":14336,"max_position_embeddings":32768,
			"model_type":"mistral","num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,
			"rms_norm_eps":1e-05,"rope_theta":10000.0,"sliding_window":4096,"tie_word_embeddings":false,
			"torch_dtype":"bfloat16","transformers_version":"4.34.0.dev0","use_cache":true,"vocab_size":32000}`,
			Config{Arch: "mistral", Dim: 4096, NLayers: 32, NHeads: 32, NKVHeads: 8, HeadDim: 128, FFNDim: 14336,
				VocabSize: 32000, NormEps: 1e-5, RopeTheta: 10000, SlidingWindow: 4096, MaxSeqLen: 32768, BOS: 1, EOS: 2, DType: "bfloat16"}},
		{"Mistral-7B-Instruct-v0.2", `{"architectures":["MistralForCausalLM"],"attention_dropout":0.0,"bos_token_id":1,
			"eos_token_id":2,"hidden_act":"silu","hidden_size":4096,"intermediate_size":14336,"max_position_embeddings":32768,
			"model_type":"mistral","num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":8,
			"rms_norm_eps":1e-05,"rope_theta":1000000.0,"sliding_window":null,"tie_word_embeddings":false,
			"torch_dtype":"bfloat16","vocab_size":32000}`,
			Config{Arch: "mistral", Dim: 4096, NLayers: 32, NHeads: 32, NKVHeads: 8, HeadDim: 128, FFNDim: 14336,
				VocabSize: 32000, NormEps: 1e-5, RopeTheta: 1e6, MaxSeqLen: 32768, BOS: 1, EOS: 2, DType: "bfloat16"}},
		{"Mistral-7B-v0.3 head_dim null", `{"architectures":["MistralForCausalLM"],"head_dim":null,"hidden_size":4096,
			"intermediate_size":14336,"model_type":"mistral","num_attention_heads":32,"num_hidden_layers":32,
			"num_key_value_heads":8,"rms_norm_eps":1e-05,"rope_theta":1000000.0,"sliding_window":null,"vocab_size":32768}`,
			Config{Arch: "mistral", Dim: 4096, NLayers: 32, NHeads: 32, NKVHeads: 8, HeadDim: 128, FFNDim: 14336,
				VocabSize: 32768, NormEps: 1e-5, RopeTheta: 1e6, MaxSeqLen: DefaultMistralMaxSeqLen, BOS: 1, EOS: 2}},
		{"Llama-2-7b-hf", `{"architectures":["LlamaForCausalLM"],"bos_token_id":1,"eos_token_id":2,"hidden_act":"silu",
			"hidden_size":4096,"initializer_range":0.02,"intermediate_size":11008,"max_position_embeddings":4096,
			"model_type":"llama","num_attention_heads":32,"num_hidden_layers":32,"num_key_value_heads":32,
			"pretraining_tp":1,"rms_norm_eps":1e-05,"rope_scaling":null,"tie_word_embeddings":false,
			"torch_dtype":"float16","transformers_version":"4.31.0.dev0","use_cache":true,"vocab_size":32000}`,
			Config{Arch: "llama", Dim: 4096, NLayers: 32, NHeads: 32, NKVHeads: 32, HeadDim: 128, FFNDim: 11008,
				VocabSize: 32000, NormEps: 1e-5, RopeTheta: 10000, MaxSeqLen: 4096, BOS: 1, EOS: 2, DType: "float16"}},
		{"Llama-2-13b without GQA field", `{"architectures":["LlamaForCausalLM"],"hidden_size":5120,"intermediate_size":13824,
			"max_position_embeddings":4096,"num_attention_heads":40,"num_hidden_layers":40,"rms_norm_eps":1e-05,"vocab_size":32000}`,
			Config{Arch: "llama", Dim: 5120, NLayers: 40, NHeads: 40, NKVHeads: 40, HeadDim: 128, FFNDim: 13824,
				VocabSize: 32000, NormEps: 1e-5, RopeTheta: 10000, MaxSeqLen: 4096, BOS: 1, EOS: 2}},
		{"Mistral-Nemo head_dim", `{"architectures":["MistralForCausalLM"],"head_dim":128,"hidden_size":5120,
			"intermediate_size":14336,"max_position_embeddings":1024000,"model_type":"mistral","num_attention_heads":32,
			"num_hidden_layers":40,"num_key_value_heads":8,"rms_norm_eps":1e-05,"rope_theta":1000000.0,
			"sliding_window":null,"vocab_size":131072,"bos_token_id":1,"eos_token_id":2,"dtype":"bfloat16"}`,
			Config{Arch: "mistral", Dim: 5120, NLayers: 40, NHeads: 32, NKVHeads: 8, HeadDim: 128, FFNDim: 14336,
				VocabSize: 131072, NormEps: 1e-5, RopeTheta: 1e6, MaxSeqLen: 1024000, BOS: 1, EOS: 2, DType: "bfloat16"}},
		{"model_type only, defaults, eos list, integral floats", `{"model_type":"llama","hidden_size":64.0,"intermediate_size":128,
			"num_hidden_layers":1,"num_attention_heads":4,"vocab_size":300,"eos_token_id":[7,2],"bos_token_id":null,
			"tie_word_embeddings":true,"unknown":{"nested":[1,2,{"x":null}]}}`,
			Config{Arch: "llama", Dim: 64, NLayers: 1, NHeads: 4, NKVHeads: 4, HeadDim: 16, FFNDim: 128,
				VocabSize: 300, NormEps: DefaultHFNormEps, RopeTheta: DefaultRopeTheta, MaxSeqLen: DefaultLlamaMaxSeqLen,
				TiedEmbeddings: true, BOS: 1, EOS: 7, EOSIDs: []int{7, 2}}},
	}
	for _, c := range cases {
		got, err := ParseHFConfig([]byte(c.json))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

func TestParseParamsPublished(t *testing.T) {
	cases := []struct {
		name, json string
		want       Config
	}{
		{"Mistral-7B-v0.1", `{"dim":4096,"n_layers":32,"head_dim":128,"hidden_dim":14336,"n_heads":32,"n_kv_heads":8,
			"norm_eps":1e-05,"sliding_window":4096,"vocab_size":32000}`,
			Config{Arch: "mistral", Format: FormatNative, Dim: 4096, NLayers: 32, NHeads: 32, NKVHeads: 8, HeadDim: 128,
				FFNDim: 14336, VocabSize: 32000, NormEps: 1e-5, RopeTheta: 10000, SlidingWindow: 4096,
				MaxSeqLen: DefaultMistralMaxSeqLen, BOS: 1, EOS: 2}},
		{"Mistral-7B-v0.3", `{"dim":4096,"n_layers":32,"head_dim":128,"hidden_dim":14336,"n_heads":32,"n_kv_heads":8,
			"norm_eps":1e-05,"vocab_size":32768,"rope_theta":1000000.0}`,
			Config{Arch: "llama", Format: FormatNative, Dim: 4096, NLayers: 32, NHeads: 32, NKVHeads: 8, HeadDim: 128,
				FFNDim: 14336, VocabSize: 32768, NormEps: 1e-5, RopeTheta: 1e6, MaxSeqLen: DefaultMistralMaxSeqLen, BOS: 1, EOS: 2}},
		{"minimal with null window", `{"dim":64,"n_layers":1,"hidden_dim":96,"n_heads":2,"vocab_size":10,"sliding_window":null,
			"max_seq_len":256,"tied_embeddings":true,"something_new":[1]}`,
			Config{Arch: "llama", Format: FormatNative, Dim: 64, NLayers: 1, NHeads: 2, NKVHeads: 2, HeadDim: 32,
				FFNDim: 96, VocabSize: 10, NormEps: DefaultNativeNormEps, RopeTheta: DefaultRopeTheta, MaxSeqLen: 256,
				TiedEmbeddings: true, BOS: 1, EOS: 2}},
	}
	for _, c := range cases {
		got, err := ParseParams([]byte(c.json))
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, got, c.want)
		}
	}
}

// hfBase is a valid config.json that the error cases below modify.
const hfBase = `"architectures":["MistralForCausalLM"],"hidden_size":64,"intermediate_size":160,"num_hidden_layers":2,
	"num_attention_heads":4,"num_key_value_heads":2,"vocab_size":256`

func TestParseHFConfigErrors(t *testing.T) {
	if _, err := ParseHFConfig([]byte("{" + hfBase + "}")); err != nil {
		t.Fatalf("base config: %v", err)
	}
	cases := []struct{ name, json, want string }{
		{"empty", ``, "config: config.json is not a JSON object"},
		{"array", `[1]`, "config: config.json is not a JSON object"},
		{"malformed", `{"hidden_size":64,`, "config: config.json is not valid JSON"},
		{"trailing", `{"hidden_size":64} x`, "config: config.json is not valid JSON"},
		{"not utf8", "{\"hidden_size\":64,\"x\":\"\xff\"}", "config: config.json is not valid UTF-8"},
		{"deep", `{"x":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`, "config: config.json is not valid JSON"},
		{"unsupported architecture", `{"architectures":["MixtralForCausalLM"],"model_type":"mixtral"}`, `config: unsupported architecture "MixtralForCausalLM"`},
		{"unsupported model_type", `{"model_type":"gemma"}`, `config: unsupported architecture "gemma"`},
		{"model_type disagrees", `{"architectures":["LlamaForCausalLM"],"model_type":"qwen2"}`, `config: unsupported architecture "qwen2"`},
		{"architectures not a list", `{"architectures":"LlamaForCausalLM"}`, `config: architectures is "LlamaForCausalLM", want a list of strings`},
		{"no architecture", `{"hidden_size":64}`, "config: config.json: missing architectures and model_type"},
		{"missing hidden_size", `{"architectures":["LlamaForCausalLM"]}`, "config: config.json: missing hidden_size"},
		{"missing intermediate_size", `{"model_type":"llama","hidden_size":64,"num_hidden_layers":1,"num_attention_heads":4,"vocab_size":9}`,
			"config: config.json: missing intermediate_size"},
		{"missing vocab_size", `{"model_type":"llama","hidden_size":64,"num_hidden_layers":1,"num_attention_heads":4,"intermediate_size":9}`,
			"config: config.json: missing vocab_size"},
		{"null layers", `{` + hfBase + `,"num_hidden_layers":null}`, "config: config.json: missing num_hidden_layers"},
		{"zero heads", `{` + hfBase + `,"num_attention_heads":0}`, "config: num_attention_heads is 0, want > 0"},
		{"negative kv heads", `{` + hfBase + `,"num_key_value_heads":-2}`, "config: num_key_value_heads is -2, want > 0"},
		{"string size", `{` + hfBase + `,"hidden_size":"64"}`, `config: hidden_size is "64", want an integer`},
		{"fractional size", `{` + hfBase + `,"hidden_size":64.5}`, `config: hidden_size is 64.5, want an integer`},
		{"bool size", `{` + hfBase + `,"vocab_size":true}`, `config: vocab_size is true, want an integer`},
		{"huge size", `{` + hfBase + `,"hidden_size":1e300}`, `config: hidden_size is 1e300, want an integer`},
		{"int64 size", `{` + hfBase + `,"hidden_size":9223372036854775807}`, `config: hidden_size (9223372036854775807) is out of range`},
		{"too wide", `{` + hfBase + `,"hidden_size":2097152,"head_dim":16}`, `config: hidden_size (2097152) is larger than 1048576`},
		{"too deep", `{` + hfBase + `,"num_hidden_layers":5000}`, `config: num_hidden_layers (5000) is larger than 1000`},
		{"GQA mismatch", `{` + hfBase + `,"num_attention_heads":32,"num_key_value_heads":5,"head_dim":2}`,
			"config: num_attention_heads (32) is not divisible by num_key_value_heads (5)"},
		{"indivisible head_dim", `{` + hfBase + `,"num_attention_heads":3,"num_key_value_heads":1}`,
			"config: hidden_size (64) is not divisible by num_attention_heads (3) and head_dim is not given"},
		{"odd head_dim", `{` + hfBase + `,"head_dim":15}`, "config: head_dim (15) is odd"},
		{"zero head_dim", `{` + hfBase + `,"head_dim":0}`, "config: head_dim is 0, want > 0"},
		{"negative window", `{` + hfBase + `,"sliding_window":-1}`, "config: sliding_window is -1, want > 0"},
		{"window list", `{` + hfBase + `,"sliding_window":[4096,null]}`, "config: sliding_window is [4096,null], want an integer"},
		{"zero eps", `{` + hfBase + `,"rms_norm_eps":0}`, "config: rms_norm_eps is 0, want > 0 and < 1"},
		{"string eps", `{` + hfBase + `,"rms_norm_eps":"1e-5"}`, `config: rms_norm_eps is "1e-5", want a number`},
		{"negative theta", `{` + hfBase + `,"rope_theta":-10000}`, "config: rope_theta is -10000, want > 0"},
		{"zero context", `{` + hfBase + `,"max_position_embeddings":0}`, "config: max_position_embeddings is 0, want > 0"},
		{"tie not bool", `{` + hfBase + `,"tie_word_embeddings":"false"}`, `config: tie_word_embeddings is "false", want true or false`},
		{"eos outside vocab", `{` + hfBase + `,"eos_token_id":256}`, "config: eos_token_id (256) is outside the vocabulary (0..255)"},
		{"bos negative", `{` + hfBase + `,"bos_token_id":-1}`, "config: bos_token_id (-1) is outside the vocabulary"},
		{"eos list of strings", `{` + hfBase + `,"eos_token_id":["2"]}`, `config: eos_token_id is ["2"], want an integer or a list of integers`},
		{"eos object", `{` + hfBase + `,"eos_token_id":{}}`, `config: eos_token_id is {}, want an integer`},
		{"rope scaling", `{` + hfBase + `,"rope_scaling":{"type":"linear","factor":2.0}}`, `config: rope_scaling {"type":"linear","factor":2.0} is not supported`},
		{"gelu", `{` + hfBase + `,"hidden_act":"gelu"}`, `config: hidden_act "gelu" is not supported`},
		{"bias", `{` + hfBase + `,"attention_bias":true}`, `config: attention_bias true is not supported`},
		{"dtype not string", `{` + hfBase + `,"torch_dtype":16}`, `config: torch_dtype is 16, want a string`},
	}
	for _, c := range cases {
		_, err := ParseHFConfig([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

// paramsBase is a valid params.json that the error cases below modify.
const paramsBase = `"dim":64,"n_layers":2,"hidden_dim":160,"n_heads":4,"n_kv_heads":2,"vocab_size":256`

func TestParseParamsErrors(t *testing.T) {
	if _, err := ParseParams([]byte("{" + paramsBase + "}")); err != nil {
		t.Fatalf("base params: %v", err)
	}
	cases := []struct{ name, json, want string }{
		{"empty", ``, "config: params.json is not a JSON object"},
		{"malformed", `{"dim":`, "config: params.json is not valid JSON"},
		{"not utf8", "{\"dim\":64,\"\xfe\":1}", "config: params.json is not valid UTF-8"},
		{"deep", `{"x":` + strings.Repeat(`{"a":`, 50000) + "1" + strings.Repeat("}", 50000) + `}`, "config: params.json is not valid JSON"},
		{"missing dim", `{"n_layers":2}`, "config: params.json: missing dim"},
		{"missing hidden_dim (Meta layout)", `{"dim":4096,"multiple_of":256,"n_heads":32,"n_layers":32,"norm_eps":1e-05,"vocab_size":-1}`,
			"config: params.json: missing hidden_dim"},
		{"vocab -1", `{` + paramsBase + `,"vocab_size":-1}`, "config: vocab_size is -1, want > 0"},
		{"GQA mismatch", `{` + paramsBase + `,"n_heads":4,"n_kv_heads":3,"head_dim":16}`, "config: n_heads (4) is not divisible by n_kv_heads (3)"},
		{"odd head_dim", `{` + paramsBase + `,"head_dim":7}`, "config: head_dim (7) is odd"},
		{"indivisible", `{` + paramsBase + `,"n_heads":3,"n_kv_heads":1}`, "config: dim (64) is not divisible by n_heads (3) and head_dim is not given"},
		{"zero window", `{` + paramsBase + `,"sliding_window":0}`, "config: sliding_window is 0, want > 0"},
		{"negative eps", `{` + paramsBase + `,"norm_eps":-1e-5}`, "config: norm_eps is -1e-05, want > 0 and < 1"},
		{"zero theta", `{` + paramsBase + `,"rope_theta":0}`, "config: rope_theta is 0, want > 0"},
		{"moe", `{` + paramsBase + `,"moe":{"num_experts":8,"num_experts_per_tok":2}}`, `config: params.json has "moe": not supported`},
		{"vision", `{` + paramsBase + `,"vision_encoder":{}}`, `config: params.json has "vision_encoder": not supported`},
		{"wrong type", `{` + paramsBase + `,"n_layers":[2]}`, "config: n_layers is [2], want an integer"},
		{"too many layers", `{` + paramsBase + `,"n_layers":1001}`, "config: n_layers (1001) is larger than 1000"},
	}
	for _, c := range cases {
		_, err := ParseParams([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	good := Config{Arch: "mistral", Dim: 64, NLayers: 2, NHeads: 4, NKVHeads: 2, HeadDim: 16, FFNDim: 160,
		VocabSize: 256, NormEps: 1e-5, RopeTheta: 10000, MaxSeqLen: 128, BOS: 1, EOS: 2}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"arch", func(c *Config) { c.Arch = "" }, `config: unsupported architecture ""`},
		{"format", func(c *Config) { c.Format = 7 }, "config: unknown checkpoint format Format(7)"},
		{"kv heads", func(c *Config) { c.NKVHeads = 0 }, "config: num_key_value_heads is 0, want > 0"},
		{"kv heads native", func(c *Config) { c.NKVHeads = 0; c.Format = FormatNative }, "config: n_kv_heads is 0, want > 0"},
		{"ffn", func(c *Config) { c.FFNDim = -1 }, "config: intermediate_size is -1, want > 0"},
		{"ffn native", func(c *Config) { c.FFNDim = 1 << 21; c.Format = FormatNative }, "config: hidden_dim (2097152) is larger than 1048576"},
		{"heads x head_dim", func(c *Config) { c.NHeads, c.NKVHeads, c.HeadDim = 1024, 1024, 2048 }, "config: num_attention_heads x head_dim (1024 x 2048) is larger than 1048576"},
		{"window", func(c *Config) { c.SlidingWindow = -3 }, "config: sliding_window is -3, want >= 0"},
		{"eps", func(c *Config) { c.NormEps = 2 }, "config: rms_norm_eps is 2, want > 0 and < 1"},
		{"theta", func(c *Config) { c.RopeTheta = 0 }, "config: rope_theta is 0, want > 0"},
		{"vocab", func(c *Config) { c.VocabSize = 0 }, "config: vocab_size is 0, want > 0"},
		{"bos", func(c *Config) { c.BOS = 256 }, "config: bos_token_id (256) is outside the vocabulary (0..255)"},
		{"context", func(c *Config) { c.MaxSeqLen = 1<<24 + 1 }, "config: max_position_embeddings (16777217) is larger than 16777216"},
	}
	for _, c := range cases {
		cfg := good
		c.mod(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
}
