package gguf

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"unsafe"
)

// The fixtures are llama.cpp's own GGUF files of a 2-layer Llama (see
// ../../testdata/gguf/README.md). Expected values come from reference.json,
// config.json, the HF safetensors checkpoint they were converted from, and
// a dump of the headers made with Python's struct module.
const fixtureDir = "../../testdata/gguf/tiny-llama"

type reference struct {
	Config struct {
		Hidden       int64   `json:"hidden_size"`
		Intermediate int64   `json:"intermediate_size"`
		Layers       int64   `json:"num_hidden_layers"`
		Heads        int64   `json:"num_attention_heads"`
		KVHeads      int64   `json:"num_key_value_heads"`
		HeadDim      int64   `json:"head_dim"`
		Eps          float64 `json:"rms_norm_eps"`
		RopeTheta    float64 `json:"rope_theta"`
		MaxPos       int64   `json:"max_position_embeddings"`
		Vocab        int64   `json:"vocab_size"`
	} `json:"config"`
	Files map[string]struct {
		Types []string `json:"types"`
	} `json:"files"`
}

func loadReference(t *testing.T) *reference {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func fixtures(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(fixtureDir, "*.gguf"))
	if err != nil || len(paths) != 14 {
		t.Fatalf("want the 14 fixture files, found %d (%v)", len(paths), err)
	}
	return paths
}

func mustOpen(t *testing.T, path string) *File {
	t.Helper()
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// llama.cpp's llama_ftype of each fixture (include/llama.h).
var fixtureFileType = map[string]uint64{
	"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9,
	"Q2_K": 10, "Q3_K_M": 12, "Q4_K_S": 14, "Q4_K_M": 15, "Q5_K_M": 17, "Q6_K": 18, "BF16": 32,
}

func TestFixtures(t *testing.T) {
	ref := loadReference(t)
	c := ref.Config
	// The llama-architecture names and ne of gguf.md §1.3, for 2 layers.
	want := map[string][]int64{
		"token_embd.weight":  {c.Hidden, c.Vocab},
		"output_norm.weight": {c.Hidden},
		"output.weight":      {c.Hidden, c.Vocab},
	}
	for l := range c.Layers {
		p := fmt.Sprintf("blk.%d.", l)
		want[p+"attn_norm.weight"] = []int64{c.Hidden}
		want[p+"attn_q.weight"] = []int64{c.Hidden, c.Heads * c.HeadDim}
		want[p+"attn_k.weight"] = []int64{c.Hidden, c.KVHeads * c.HeadDim}
		want[p+"attn_v.weight"] = []int64{c.Hidden, c.KVHeads * c.HeadDim}
		want[p+"attn_output.weight"] = []int64{c.Heads * c.HeadDim, c.Hidden}
		want[p+"ffn_norm.weight"] = []int64{c.Hidden}
		want[p+"ffn_gate.weight"] = []int64{c.Hidden, c.Intermediate}
		want[p+"ffn_up.weight"] = []int64{c.Hidden, c.Intermediate}
		want[p+"ffn_down.weight"] = []int64{c.Intermediate, c.Hidden}
	}
	for _, path := range fixtures(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".gguf")
		t.Run(name, func(t *testing.T) {
			f := mustOpen(t, path)
			st, _ := os.Stat(path)
			if f.Version != 3 || f.Alignment() != 32 || len(f.Parts()) != 1 || f.Parts()[0].Size != st.Size() {
				t.Errorf("version %d alignment %d parts %+v", f.Version, f.Alignment(), f.Parts())
			}
			// Both llama.cpp writers put 25 keys before 21 tensor infos
			// ending at byte 12774 (Python struct dump), so data at 12800.
			if len(f.KVs()) != 25 || f.Parts()[0].DataStart != 12800 {
				t.Errorf("%d keys, data at %d; want 25, 12800", len(f.KVs()), f.Parts()[0].DataStart)
			}
			checkHyperparameters(t, f, ref)
			if ft, ok, err := f.Uint("general.file_type"); err != nil || !ok || ft != fixtureFileType[name] {
				t.Errorf("general.file_type = %d %v %v, want %d", ft, ok, err, fixtureFileType[name])
			}
			ts := f.Tensors()
			if len(ts) != len(want) {
				t.Errorf("%d tensors, want %d", len(ts), len(want))
			}
			types := map[string]bool{}
			for _, ti := range ts {
				ne, ok := want[ti.Name]
				if !ok {
					t.Errorf("unexpected tensor %v", &ti)
					continue
				}
				if !slices.Equal(ti.Dims, ne) {
					t.Errorf("%s: Dims %v, want %v", ti.Name, ti.Dims, ne)
				}
				if shape := ti.Shape(); !slices.Equal(shape, []int64{ne[len(ne)-1], ne[0]}) && len(ne) == 2 {
					t.Errorf("%s: Shape %v for ne %v", ti.Name, shape, ne)
				}
				if strings.HasSuffix(ti.Name, "norm.weight") && ti.Type != F32 {
					t.Errorf("%s: type %s, norms are F32", ti.Name, ti.Type)
				}
				types[ti.Type.String()] = true
				checkView(t, f, ti)
			}
			var got []string
			for ty := range types {
				got = append(got, ty)
			}
			sort.Strings(got)
			wantTypes := slices.Clone(ref.Files[name].Types)
			sort.Strings(wantTypes)
			if !slices.Equal(got, wantTypes) {
				t.Errorf("types %v, reference.json says %v", got, wantTypes)
			}
		})
	}
}

// checkView checks that TensorData is the tensor's bytes in place in the
// mapping: the right length, at DataStart+Offset of the mapped file.
func checkView(t *testing.T, f *File, ti TensorInfo) {
	t.Helper()
	data, err := f.TensorData(ti.Name)
	if err != nil {
		t.Error(err)
		return
	}
	tr, _ := ti.Type.Traits()
	if int64(len(data)) != ti.Size || ti.Size != ti.Elements()/tr.BlockElems*tr.BlockBytes || cap(data) != len(data) {
		t.Errorf("%s: %d bytes (cap %d), Size %d, for %d elements of %s", ti.Name, len(data), cap(data), ti.Size, ti.Elements(), ti.Type)
	}
	p := f.parts[ti.Part]
	base := uintptr(unsafe.Pointer(unsafe.SliceData(p.data)))
	at := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	if at != base+uintptr(p.dataStart+ti.Offset) {
		t.Errorf("%s: data at mapping+%d, want mapping+%d (a copy?)", ti.Name, at-base, p.dataStart+ti.Offset)
	}
	if ti.Offset%f.Alignment() != 0 {
		t.Errorf("%s: offset %d not aligned", ti.Name, ti.Offset)
	}
}

func checkHyperparameters(t *testing.T, f *File, ref *reference) {
	t.Helper()
	c := ref.Config
	if s, ok, err := f.String("general.architecture"); s != "llama" || !ok || err != nil {
		t.Errorf("general.architecture = %q %v %v", s, ok, err)
	}
	for key, want := range map[string]int64{
		"llama.block_count":             c.Layers,
		"llama.context_length":          c.MaxPos,
		"llama.embedding_length":        c.Hidden,
		"llama.feed_forward_length":     c.Intermediate,
		"llama.attention.head_count":    c.Heads,
		"llama.attention.head_count_kv": c.KVHeads,
		"llama.attention.key_length":    c.HeadDim,
		"llama.rope.dimension_count":    c.HeadDim,
		"llama.vocab_size":              c.Vocab,
		"tokenizer.ggml.bos_token_id":   1,
		"tokenizer.ggml.eos_token_id":   2,
		"general.quantization_version":  2,
		"llama.attention.value_length":  c.HeadDim,
	} {
		if v, ok, err := f.Int(key); v != want || !ok || err != nil {
			t.Errorf("%s = %d %v %v, want %d", key, v, ok, err, want)
		}
	}
	// FLOAT32 in the file: the config's float64 rounded to float32.
	for key, want := range map[string]float64{
		"llama.rope.freq_base":                   c.RopeTheta,
		"llama.attention.layer_norm_rms_epsilon": c.Eps,
	} {
		if v, ok, err := f.Float(key); v != float64(float32(want)) || !ok || err != nil {
			t.Errorf("%s = %g %v %v, want float32(%g)", key, v, ok, err, want)
		}
	}
	toks, ok, err := f.Strings("tokenizer.ggml.tokens")
	if err != nil || !ok || int64(len(toks)) != c.Vocab || toks[0] != "<unk>" || toks[1] != "<s>" || toks[2] != "</s>" || toks[3] != "<0x00>" {
		t.Errorf("tokens: %d %v %v %q", len(toks), ok, err, toks[:min(4, len(toks))])
	}
	scores, ok, err := f.Float32s("tokenizer.ggml.scores")
	if err != nil || !ok || int64(len(scores)) != c.Vocab {
		t.Errorf("scores: %d %v %v", len(scores), ok, err)
	}
	tt, ok, err := f.Int32s("tokenizer.ggml.token_type")
	// UNKNOWN, CONTROL, CONTROL, then BYTE tokens (gguf-py constants).
	if err != nil || !ok || int64(len(tt)) != c.Vocab || !slices.Equal(tt[:4], []int32{2, 3, 3, 6}) {
		t.Errorf("token_type: %d %v %v", len(tt), ok, err)
	}
	if _, ok, err := f.String("tokenizer.chat_template"); ok || err != nil {
		t.Errorf("chat_template present (%v) or error %v; the fixtures have none", ok, err)
	}
}

// hfTensor reads one F32 tensor of the HF checkpoint the fixtures were
// converted from, parsing the safetensors header here so that the check
// does not rest on another gale package.
func hfTensor(t *testing.T, name string) ([]int64, []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, "hf", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	var hdr map[string]struct {
		DType   string  `json:"dtype"`
		Shape   []int64 `json:"shape"`
		Offsets []int64 `json:"data_offsets"`
	}
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		t.Fatal(err)
	}
	e, ok := hdr[name]
	if !ok || e.DType != "F32" {
		t.Fatalf("HF tensor %q: %+v", name, e)
	}
	start := 8 + int64(n)
	return e.Shape, b[start+e.Offsets[0] : start+e.Offsets[1]]
}

// The F32 file holds the HF weights unchanged except for the q/k row
// permutation of gguf.md §1.4, and with ne = the HF shape reversed.
func TestFixtureF32MatchesCheckpoint(t *testing.T) {
	f := mustOpen(t, filepath.Join(fixtureDir, "F32.gguf"))
	for gg, hf := range map[string]string{
		"token_embd.weight":      "model.embed_tokens.weight",
		"output.weight":          "lm_head.weight",
		"blk.1.ffn_down.weight":  "model.layers.1.mlp.down_proj.weight",
		"blk.0.attn_v.weight":    "model.layers.0.self_attn.v_proj.weight",
		"blk.0.attn_norm.weight": "model.layers.0.input_layernorm.weight",
	} {
		ti, _ := f.Tensor(gg)
		shape, want := hfTensor(t, hf)
		got, err := f.TensorData(gg)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ti.Shape(), shape) || !bytes.Equal(got, want) {
			t.Errorf("%s: shape %v (HF %v), bytes equal %v", gg, ti.Shape(), shape, bytes.Equal(got, want))
		}
	}
	// attn_q: GGUF row h*D+2i is HF row h*D+i, row h*D+2i+1 is HF row
	// h*D+i+D/2 (D = head_dim = 64, rows of 256 float32).
	const d, rowBytes = 64, 256 * 4
	_, hfq := hfTensor(t, "model.layers.0.self_attn.q_proj.weight")
	q, _ := f.TensorData("blk.0.attn_q.weight")
	for _, c := range []struct{ gguf, hf int }{{0, 0}, {1, d / 2}, {2, 1}, {d + 3, d + d/2 + 1}} {
		if !bytes.Equal(q[c.gguf*rowBytes:][:rowBytes], hfq[c.hf*rowBytes:][:rowBytes]) {
			t.Errorf("attn_q row %d is not HF q_proj row %d", c.gguf, c.hf)
		}
	}
}

// Rewriting a fixture's metadata and tensors with Writer, in the file's
// order, gives the file back byte for byte: the layout is llama.cpp's.
func TestRewriteFixturesByteForByte(t *testing.T) {
	for _, path := range fixtures(t) {
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f := mustOpen(t, path)
		var buf bytes.Buffer
		w, err := NewWriter(&buf, f.KVs(), f.Tensors())
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range f.Tensors() {
			data, err := f.RawData(&ti)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WriteTensor(ti.Name, data); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got := buf.Bytes(); !bytes.Equal(got, want) {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Errorf("%s: rewritten file (%d bytes) differs from the original (%d bytes) at byte %d", filepath.Base(path), len(got), len(want), i)
		}
	}
}
