package e2e

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// GGUF value type ids (ggml/include/gguf.h), as the test's own encoder
// writes them: the test builds its files byte by byte rather than through
// internal/gguf, so that it can write what that package's writer refuses.
const (
	gtUint16 = 2
	gtUint32 = 4
	gtString = 8
	gtArray  = 9
)

// ggml type ids (ggml/include/ggml.h) the cases use.
const (
	ggmlIQ2XXS  = 16
	ggmlUnknown = 99
)

// gKV is one metadata entry as stored: key, value type, value bytes.
type gKV struct {
	key string
	typ uint32
	val []byte
}

// gTensor is one tensor info as stored.
type gTensor struct {
	name string
	dims []uint64
	typ  uint32
	off  uint64
}

// gFile is a GGUF file split into its sections, with the offsets of the
// sections in the file it was read from.
type gFile struct {
	version uint32
	kvs     []gKV
	tensors []gTensor
	data    []byte // the data section
	// kvStart, tiStart and dataStart are where the metadata, the tensor
	// infos and the data begin in the original file; size is its length.
	kvStart, tiStart, dataStart, size int
	// tiAt holds where each tensor info starts in the last encode's bytes.
	tiAt []int
}

// gScalarSize is the byte size of the scalar value types (0 for the
// variable-length string and array).
var gScalarSize = [...]int{1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8}

// readGGUF splits a well-formed GGUF fixture into its parts. It trusts
// its input (a fixture written by llama.cpp) and fails the test on
// anything unexpected.
func readGGUF(t *testing.T, path string) *gFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b[:4]) != "GGUF" {
		t.Fatalf("%s: not a GGUF file", path)
	}
	le := binary.LittleEndian
	g := &gFile{version: le.Uint32(b[4:]), size: len(b)}
	nt, nkv := le.Uint64(b[8:]), le.Uint64(b[16:])
	pos := 24
	str := func() string {
		n := int(le.Uint64(b[pos:]))
		s := string(b[pos+8 : pos+8+n])
		pos += 8 + n
		return s
	}
	var skip func(typ uint32)
	skip = func(typ uint32) {
		switch typ {
		case gtString:
			str()
		case gtArray:
			et, n := le.Uint32(b[pos:]), le.Uint64(b[pos+4:])
			pos += 12
			for range n {
				skip(et)
			}
		default:
			pos += gScalarSize[typ]
		}
	}
	g.kvStart = pos
	alignment := 32
	for range nkv {
		k := str()
		typ := le.Uint32(b[pos:])
		pos += 4
		at := pos
		skip(typ)
		g.kvs = append(g.kvs, gKV{k, typ, b[at:pos]})
		if k == "general.alignment" {
			alignment = int(le.Uint32(b[at:]))
		}
	}
	g.tiStart = pos
	for range nt {
		ti := gTensor{name: str()}
		nd := le.Uint32(b[pos:])
		pos += 4
		for range nd {
			ti.dims = append(ti.dims, le.Uint64(b[pos:]))
			pos += 8
		}
		ti.typ = le.Uint32(b[pos:])
		ti.off = le.Uint64(b[pos+4:])
		pos += 12
		g.tensors = append(g.tensors, ti)
	}
	g.dataStart = (pos + alignment - 1) / alignment * alignment
	g.data = b[g.dataStart:]
	return g
}

// encode writes the file back: the header counts are the entries' counts,
// the data section starts at the next multiple of 32 (the fixtures use the
// default alignment).
func (g *gFile) encode() []byte {
	le := binary.LittleEndian
	b := append([]byte("GGUF"), 0, 0, 0, 0)
	le.PutUint32(b[4:], g.version)
	b = le.AppendUint64(b, uint64(len(g.tensors)))
	b = le.AppendUint64(b, uint64(len(g.kvs)))
	str := func(s string) { b = le.AppendUint64(b, uint64(len(s))); b = append(b, s...) }
	for _, kv := range g.kvs {
		str(kv.key)
		b = le.AppendUint32(b, kv.typ)
		b = append(b, kv.val...)
	}
	g.tiAt = g.tiAt[:0]
	for _, ti := range g.tensors {
		g.tiAt = append(g.tiAt, len(b))
		str(ti.name)
		b = le.AppendUint32(b, uint32(len(ti.dims)))
		for _, d := range ti.dims {
			b = le.AppendUint64(b, d)
		}
		b = le.AppendUint32(b, ti.typ)
		b = le.AppendUint64(b, ti.off)
	}
	for len(b)%32 != 0 {
		b = append(b, 0)
	}
	return append(b, g.data...)
}

// kv returns the entry of key, failing the test when there is none.
func (g *gFile) kv(t *testing.T, key string) *gKV {
	t.Helper()
	for i := range g.kvs {
		if g.kvs[i].key == key {
			return &g.kvs[i]
		}
	}
	t.Fatalf("fixture has no key %q", key)
	return nil
}

// set replaces (or adds) key with a value of type typ.
func (g *gFile) set(key string, typ uint32, val []byte) {
	for i := range g.kvs {
		if g.kvs[i].key == key {
			g.kvs[i] = gKV{key, typ, val}
			return
		}
	}
	g.kvs = append(g.kvs, gKV{key, typ, val})
}

// del removes key.
func (g *gFile) del(t *testing.T, key string) {
	t.Helper()
	for i := range g.kvs {
		if g.kvs[i].key == key {
			g.kvs = append(g.kvs[:i], g.kvs[i+1:]...)
			return
		}
	}
	t.Fatalf("fixture has no key %q", key)
}

// tensor returns the info of the named tensor.
func (g *gFile) tensor(t *testing.T, name string) *gTensor {
	t.Helper()
	for i := range g.tensors {
		if g.tensors[i].name == name {
			return &g.tensors[i]
		}
	}
	t.Fatalf("fixture has no tensor %q", name)
	return nil
}

// Value encoders.
func vU32(x uint32) []byte { return binary.LittleEndian.AppendUint32(nil, x) }
func vStr(s string) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, uint64(len(s))), s...)
}

// ggufFixture is the path of a tiny-llama fixture: the GGUF files
// llama.cpp's converter and llama-quantize wrote, their references, and
// the hf checkpoint they come from.
func ggufFixture(parts ...string) string {
	return filepath.Join(append([]string{repoRoot, "testdata", "gguf", "tiny-llama"}, parts...)...)
}

// hostileRSS bounds the peak memory of a run on a hostile file: the
// fixture is under 1 MB, so anything near this means an allocation sized
// by a corrupt field.
const hostileRSS = 128 << 20

// hostileTimeout bounds a run on a hostile file: a hang is a failure.
const hostileTimeout = 20 * time.Second

// TestHostileGGUF: every malformed GGUF file, run through `gale info` and
// `gale generate`, gives exit 1 and one line on stderr naming the file
// and what is wrong: never a panic, a fault, a hang or a large
// allocation. Each case starts from the valid tiny-llama Q4_0 file and
// breaks one thing.
func TestHostileGGUF(t *testing.T) {
	le := binary.LittleEndian
	orig, err := os.ReadFile(ggufFixture("Q4_0.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	// raw returns a function writing bytes of the original file changed
	// by f; rebuilt one re-encoding the file changed by f.
	raw := func(f func(b []byte) []byte) func(t *testing.T, g *gFile) []byte {
		return func(t *testing.T, g *gFile) []byte { return f(append([]byte(nil), orig...)) }
	}
	rebuilt := func(f func(t *testing.T, g *gFile)) func(t *testing.T, g *gFile) []byte {
		return func(t *testing.T, g *gFile) []byte { f(t, g); return g.encode() }
	}
	const (
		q  = "blk.0.attn_q.weight"
		up = "blk.1.ffn_up.weight"
	)
	cases := []struct {
		name    string
		mention []string // what the error must say besides the file name
		make    func(t *testing.T, g *gFile) []byte
	}{
		// Truncation anywhere.
		{"empty", []string{"empty file"}, raw(func(b []byte) []byte { return nil })},
		{"truncated-in-magic", []string{"not a GGUF file"}, raw(func(b []byte) []byte { return b[:3] })},
		{"truncated-in-header", []string{"truncated", "tensor count"}, raw(func(b []byte) []byte { return b[:12] })},
		{"truncated-in-metadata", []string{"truncated"}, func(t *testing.T, g *gFile) []byte {
			return orig[:g.kvStart+(g.tiStart-g.kvStart)/2]
		}},
		{"truncated-in-vocabulary", []string{"truncated", "tokenizer.ggml.tokens"}, func(t *testing.T, g *gFile) []byte {
			// Inside the token pieces: the longest value of the file.
			off := g.kvStart
			for _, kv := range g.kvs {
				if kv.key == "tokenizer.ggml.tokens" {
					return orig[:off+8+len(kv.key)+4+len(kv.val)/2]
				}
				off += 8 + len(kv.key) + 4 + len(kv.val)
			}
			t.Fatal("no tokenizer.ggml.tokens")
			return nil
		}},
		{"truncated-in-tensor-infos", []string{"truncated"}, func(t *testing.T, g *gFile) []byte {
			return orig[:g.tiStart+(g.dataStart-g.tiStart)/2]
		}},
		{"truncated-before-data", []string{"run past the end of the data section"}, func(t *testing.T, g *gFile) []byte {
			return orig[:g.dataStart]
		}},
		{"truncated-in-data", []string{"run past the end of the data section"}, func(t *testing.T, g *gFile) []byte {
			return orig[:g.dataStart+len(g.data)/2]
		}},
		{"truncated-last-byte", []string{"run past the end of the data section"}, raw(func(b []byte) []byte { return b[:len(b)-1] })},
		// Magic and version.
		{"bad-magic", []string{"not a GGUF file", "GGML"}, raw(func(b []byte) []byte { copy(b, "GGML"); return b })},
		{"version-1", []string{"version 1 is not supported"}, raw(func(b []byte) []byte { le.PutUint32(b[4:], 1); return b })},
		{"version-4", []string{"version 4 is not supported"}, raw(func(b []byte) []byte { le.PutUint32(b[4:], 4); return b })},
		{"version-big-endian", []string{"big-endian"}, raw(func(b []byte) []byte { copy(b[4:], []byte{0, 0, 0, 3}); return b })},
		// Counts beyond the file, and absurd.
		{"tensor-count-beyond-file", []string{"100000 tensor infos need at least"}, raw(func(b []byte) []byte {
			le.PutUint64(b[8:], 100000)
			return b
		})},
		{"tensor-count-absurd", []string{"tensor count 1152921504606846976 exceeds"}, raw(func(b []byte) []byte {
			le.PutUint64(b[8:], 1<<60)
			return b
		})},
		{"kv-count-beyond-file", []string{"500000 metadata entries"}, raw(func(b []byte) []byte {
			le.PutUint64(b[16:], 500000)
			return b
		})},
		{"kv-count-absurd", []string{"metadata count 1152921504606846976 exceeds"}, raw(func(b []byte) []byte {
			le.PutUint64(b[16:], 1<<60)
			return b
		})},
		{"kv-count-too-high", []string{"past the end of the file"}, func(t *testing.T, g *gFile) []byte {
			// One entry more than written: the first tensor info is read
			// as a key, and the bytes run out or stop making sense.
			b := append([]byte(nil), orig...)
			le.PutUint64(b[16:], uint64(len(g.kvs)+1))
			return b
		}},
		// String and array lengths.
		{"key-length-absurd", []string{"1152921504606846976 bytes long, past the end"}, func(t *testing.T, g *gFile) []byte {
			b := append([]byte(nil), orig...)
			le.PutUint64(b[g.kvStart:], 1<<60)
			return b
		}},
		{"string-length-beyond-file", []string{`"general.name"`, "past the end of the file"}, rebuilt(func(t *testing.T, g *gFile) {
			kv := g.kv(t, "general.name")
			le.PutUint64(kv.val, uint64(g.size))
		})},
		{"string-length-absurd", []string{`"general.name"`, "1152921504606846976 bytes long"}, rebuilt(func(t *testing.T, g *gFile) {
			le.PutUint64(g.kv(t, "general.name").val, 1<<60)
		})},
		{"array-length-absurd", []string{`"tokenizer.ggml.scores"`, "1152921504606846976 FLOAT32 elements"}, rebuilt(func(t *testing.T, g *gFile) {
			le.PutUint64(g.kv(t, "tokenizer.ggml.scores").val[4:], 1<<60)
		})},
		{"array-length-beyond-file", []string{`"tokenizer.ggml.scores"`, "16777216 FLOAT32 elements"}, rebuilt(func(t *testing.T, g *gFile) {
			le.PutUint64(g.kv(t, "tokenizer.ggml.scores").val[4:], 1<<24)
		})},
		{"string-array-length-absurd", []string{`"tokenizer.ggml.tokens"`, "1152921504606846976 STRING elements"}, rebuilt(func(t *testing.T, g *gFile) {
			le.PutUint64(g.kv(t, "tokenizer.ggml.tokens").val[4:], 1<<60)
		})},
		{"string-in-array-absurd", []string{`element 0 of array "tokenizer.ggml.tokens"`, "1152921504606846976 bytes long"}, rebuilt(func(t *testing.T, g *gFile) {
			le.PutUint64(g.kv(t, "tokenizer.ggml.tokens").val[12:], 1<<60)
		})},
		{"tensor-name-absurd", []string{"the name of tensor 1 of", "1152921504606846976 bytes long"}, func(t *testing.T, g *gFile) []byte {
			b := append([]byte(nil), orig...)
			le.PutUint64(b[g.tiStart:], 1<<60)
			return b
		}},
		// Value types.
		{"nested-array", []string{`"tokenizer.ggml.scores" is an array of arrays`}, rebuilt(func(t *testing.T, g *gFile) {
			le.PutUint32(g.kv(t, "tokenizer.ggml.scores").val, gtArray)
		})},
		{"unknown-value-type", []string{`"general.name" has unknown value type 13`}, rebuilt(func(t *testing.T, g *gFile) {
			g.kv(t, "general.name").typ = 13
		})},
		{"unknown-array-element-type", []string{`"tokenizer.ggml.scores" is an array of unknown value type 77`}, rebuilt(func(t *testing.T, g *gFile) {
			le.PutUint32(g.kv(t, "tokenizer.ggml.scores").val, 77)
		})},
		// ggml types.
		{"unknown-ggml-type", []string{q, "unknown ggml type 99"}, rebuilt(func(t *testing.T, g *gFile) {
			g.tensor(t, q).typ = ggmlUnknown
		})},
		{"removed-ggml-type", []string{q, "unknown ggml type 4"}, rebuilt(func(t *testing.T, g *gFile) {
			g.tensor(t, q).typ = 4 // Q4_2, removed from ggml
		})},
		{"unsupported-ggml-type", []string{q, "IQ2_XXS", "unsupported"}, rebuilt(func(t *testing.T, g *gFile) {
			// IQ2_XXS blocks of 256 take less room than Q4_0's, so the
			// tensor still fits where it was.
			g.tensor(t, q).typ = ggmlIQ2XXS
		})},
		// Dimensions.
		{"five-dims", []string{q, "5 dimensions, at most 4"}, rebuilt(func(t *testing.T, g *gFile) {
			ti := g.tensor(t, q)
			ti.dims = append(ti.dims, 1, 1, 1)
		})},
		{"dims-absurd", []string{q, "4294967295 dimensions"}, func(t *testing.T, g *gFile) []byte {
			// n_dims follows the name's length and bytes.
			b := g.encode()
			for i, ti := range g.tensors {
				if ti.name == q {
					le.PutUint32(b[g.tiAt[i]+8+len(q):], math.MaxUint32)
					return b
				}
			}
			t.Fatal("no " + q)
			return nil
		}},
		{"dims-overflow", []string{q, "more than 2^63 elements"}, rebuilt(func(t *testing.T, g *gFile) {
			g.tensor(t, q).dims = []uint64{256, 1 << 32, 1 << 32}
		})},
		{"dims-overflow-bytes", []string{"output_norm.weight", "more than 2^63 bytes"}, rebuilt(func(t *testing.T, g *gFile) {
			g.tensor(t, "output_norm.weight").dims = []uint64{1 << 61, 2} // F32: 2^62 elements of 4 bytes
		})},
		{"dim-negative", []string{q, "negative"}, rebuilt(func(t *testing.T, g *gFile) {
			g.tensor(t, q).dims[1] = math.MaxUint64
		})},
		{"dims-not-whole-blocks", []string{q, "first dimension 255 is not a multiple of Q4_0's block of 32"}, rebuilt(func(t *testing.T, g *gFile) {
			g.tensor(t, q).dims = []uint64{255, 256}
		})},
		// Offsets.
		{"offset-misaligned", []string{q, "not a multiple of the alignment 32"}, rebuilt(func(t *testing.T, g *gFile) {
			g.tensor(t, q).off += 16
		})},
		{"offset-outside-data", []string{up, "run past the end of the data section"}, rebuilt(func(t *testing.T, g *gFile) {
			g.tensor(t, up).off = uint64(len(g.data)+4096) &^ 31
		})},
		{"offset-absurd", []string{up, "is too large"}, rebuilt(func(t *testing.T, g *gFile) {
			g.tensor(t, up).off = 1 << 63
		})},
		{"offset-huge-aligned", []string{up, "run past the end of the data section"}, rebuilt(func(t *testing.T, g *gFile) {
			g.tensor(t, up).off = 1<<62 - 32
		})},
		{"overlapping-tensors", []string{"overlaps tensor"}, rebuilt(func(t *testing.T, g *gFile) {
			g.tensor(t, up).off = g.tensor(t, "blk.0.ffn_up.weight").off
		})},
		// Duplicates.
		{"duplicate-key", []string{`duplicate metadata key "general.architecture"`}, rebuilt(func(t *testing.T, g *gFile) {
			g.kvs = append(g.kvs, *g.kv(t, "general.architecture"))
		})},
		{"duplicate-tensor-name", []string{`duplicate tensor name "blk.1.ffn_gate.weight"`}, rebuilt(func(t *testing.T, g *gFile) {
			g.tensor(t, up).name = "blk.1.ffn_gate.weight"
		})},
		{"bad-alignment", []string{`"general.alignment" is 48, want a power of 2`}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("general.alignment", gtUint32, vU32(48))
		})},
		// Metadata missing or of the wrong type.
		{"missing-block-count", []string{"llama.block_count is missing"}, rebuilt(func(t *testing.T, g *gFile) {
			g.del(t, "llama.block_count")
		})},
		{"missing-rms-epsilon", []string{"llama.attention.layer_norm_rms_epsilon is missing"}, rebuilt(func(t *testing.T, g *gFile) {
			g.del(t, "llama.attention.layer_norm_rms_epsilon")
		})},
		{"missing-architecture", []string{"general.architecture is missing"}, rebuilt(func(t *testing.T, g *gFile) {
			g.del(t, "general.architecture")
		})},
		{"missing-layer-tensor", []string{up}, rebuilt(func(t *testing.T, g *gFile) {
			for i := range g.tensors {
				if g.tensors[i].name == up {
					g.tensors = append(g.tensors[:i], g.tensors[i+1:]...)
					return
				}
			}
			t.Fatal("no " + up)
		})},
		{"block-count-a-string", []string{`"llama.block_count" is STRING`}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("llama.block_count", gtString, vStr("2"))
		})},
		{"rms-epsilon-a-string", []string{`"llama.attention.layer_norm_rms_epsilon" is STRING`}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("llama.attention.layer_norm_rms_epsilon", gtString, vStr("1e-5"))
		})},
		{"architecture-a-number", []string{`"general.architecture" is UINT32`}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("general.architecture", gtUint32, vU32(7))
		})},
		{"tokens-not-strings", []string{`"tokenizer.ggml.tokens"`, "FLOAT32"}, rebuilt(func(t *testing.T, g *gFile) {
			// The scores' array (512 FLOAT32) in place of the pieces.
			g.set("tokenizer.ggml.tokens", gtArray, g.kv(t, "tokenizer.ggml.scores").val)
		})},
		{"block-count-absurd", []string{"llama.block_count"}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("llama.block_count", gtUint32, vU32(1<<31))
		})},
		{"head-count-zero", []string{"llama.attention.head_count"}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("llama.attention.head_count", gtUint32, vU32(0))
		})},
		{"bos-outside-vocabulary", []string{"tokenizer.ggml.bos_token_id"}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("tokenizer.ggml.bos_token_id", gtUint32, vU32(100000))
		})},
		// Shapes and what the file describes.
		{"wrong-shape-for-config", []string{"blk.0.ffn_down.weight"}, rebuilt(func(t *testing.T, g *gFile) {
			ti := g.tensor(t, "blk.0.ffn_down.weight")
			ti.dims[0], ti.dims[1] = ti.dims[1], ti.dims[0] // same bytes, transposed
		})},
		{"embedding-length-mismatch", []string{"token_embd.weight"}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("llama.embedding_length", gtUint32, vU32(128))
			g.set("llama.attention.head_count", gtUint32, vU32(2))
			g.set("llama.attention.head_count_kv", gtUint32, vU32(2))
		})},
		{"architecture-qwen2", []string{`architecture "qwen2" is not supported`}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("general.architecture", gtString, vStr("qwen2"))
		})},
		{"mixtral-experts", []string{"llama.expert_count", "not supported"}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("llama.expert_count", gtUint32, vU32(8))
			g.set("llama.expert_used_count", gtUint32, vU32(2))
		})},
		{"tokenizer-gpt2", []string{"gpt2", "not supported"}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("tokenizer.ggml.model", gtString, vStr("gpt2"))
		})},
		// Tokenizer metadata that does not fit together.
		{"scores-shorter-than-tokens", []string{"tokenizer.ggml.scores"}, rebuilt(func(t *testing.T, g *gFile) {
			v := g.kv(t, "tokenizer.ggml.scores")
			le.PutUint64(v.val[4:], 100)
			v.val = v.val[:12+4*100]
		})},
		{"token-types-shorter-than-tokens", []string{"tokenizer.ggml.token_type"}, rebuilt(func(t *testing.T, g *gFile) {
			v := g.kv(t, "tokenizer.ggml.token_type")
			le.PutUint64(v.val[4:], 100)
			v.val = v.val[:12+4*100]
		})},
		{"token-type-unknown", []string{"token 300", "type 99"}, rebuilt(func(t *testing.T, g *gFile) {
			le.PutUint32(g.kv(t, "tokenizer.ggml.token_type").val[12+4*300:], 99)
		})},
		{"tokens-empty", []string{"vocabulary of 0 tokens"}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("tokenizer.ggml.tokens", gtArray, append(vU32(gtString), make([]byte, 8)...))
		})},
		{"vocab-size-mismatch", []string{"token_embd.weight"}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("llama.vocab_size", gtUint32, vU32(1000))
		})},
		{"context-length-huge", []string{"llama.context_length"}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("llama.context_length", gtUint32, vU32(2_000_000_000))
		})},
		{"context-length-zero", []string{"llama.context_length"}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("llama.context_length", gtUint32, vU32(0))
		})},
		{"rope-base-negative", []string{"llama.rope.freq_base"}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("llama.rope.freq_base", 6, vU32(math.Float32bits(-1)))
		})},
		{"rms-epsilon-nan", []string{"llama.attention.layer_norm_rms_epsilon"}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("llama.attention.layer_norm_rms_epsilon", 6, vU32(math.Float32bits(float32(math.NaN()))))
		})},
		{"kv-heads-zero", []string{"llama.attention.head_count_kv"}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("llama.attention.head_count_kv", gtUint32, vU32(0))
		})},
		{"key-length-huge", []string{"head size (1073741824)"}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("llama.attention.key_length", gtUint32, vU32(1<<30))
		})},
		{"embedding-missing", []string{"token_embd.weight"}, rebuilt(func(t *testing.T, g *gFile) {
			g.tensor(t, "token_embd.weight").name = "token_embd.weight.x"
		})},
		{"norm-an-f64", []string{"output_norm.weight"}, rebuilt(func(t *testing.T, g *gFile) {
			ti := g.tensor(t, "output_norm.weight")
			ti.typ = 28 // F64: twice the bytes of the F32 norm, which the layout still holds?
			ti.dims = []uint64{128}
		})},
		{"architecture-with-newline", []string{`"qw\nen2"`}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("general.architecture", gtString, vStr("qw\nen2"))
		})},
		{"tokenizer-model-with-newline", []string{`"llama\n"`}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("tokenizer.ggml.model", gtString, vStr("llama\n"))
		})},
		{"split-part-two", []string{"part 2 of a 3-part split model"}, rebuilt(func(t *testing.T, g *gFile) {
			g.set("split.no", gtUint16, []byte{1, 0})
			g.set("split.count", gtUint16, []byte{3, 0})
		})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			g := readGGUF(t, ggufFixture("Q4_0.gguf"))
			b := c.make(t, g)
			p := filepath.Join(t.TempDir(), "bad.gguf")
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, a := range [][]string{
				{"info", "-m", p},
				{"generate", "-m", p, "--tokens", "1,2", "-n", "1"},
			} {
				r := galeWith(t, runOpts{timeout: hostileTimeout}, a...)
				wantError(t, r, 1, append([]string{p}, c.mention...)...)
				if n := strings.Count(r.stderr, p); n != 1 {
					t.Errorf("gale %s: the error names the file %d times: %q", a[0], n, r.stderr)
				}
				if r.maxRSS > hostileRSS {
					t.Errorf("gale %s: peak RSS %d MB", a[0], r.maxRSS>>20)
				}
			}
		})
	}
}

// TestTruncatedGGUFEverywhere cuts the fixture at points all through its
// header (every 97th byte, and either side of every section boundary) and
// inside the data: `gale info` refuses each cut file with one line naming
// it. (internal/gguf's own test cuts at every byte; this one checks what
// reaches the user through the binary.)
func TestTruncatedGGUFEverywhere(t *testing.T) {
	orig, err := os.ReadFile(ggufFixture("Q4_0.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	g := readGGUF(t, ggufFixture("Q4_0.gguf"))
	cuts := map[int]bool{}
	for n := 0; n < g.dataStart; n += 97 {
		cuts[n] = true
	}
	for _, b := range []int{4, 8, 16, 24, g.kvStart, g.tiStart, g.dataStart, len(orig)} {
		for _, d := range []int{-1, 0, 1} {
			if n := b + d; n >= 0 && n < len(orig) {
				cuts[n] = true
			}
		}
	}
	for i := 1; i < 8; i++ {
		cuts[g.dataStart+i*len(g.data)/8] = true
	}
	dir := t.TempDir()
	for n := range cuts {
		p := filepath.Join(dir, "cut-"+strconv.Itoa(n)+".gguf")
		if err := os.WriteFile(p, orig[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		r := galeWith(t, runOpts{timeout: hostileTimeout}, "info", "-m", p)
		if r.code != 1 || r.stdout != "" || strings.Count(strings.TrimSuffix(r.stderr, "\n"), "\n") != 0 || !strings.Contains(r.stderr, p) {
			t.Errorf("cut at %d of %d bytes: exit %d, stdout %q, stderr %q", n, len(orig), r.code, r.stdout, r.stderr)
		}
		if r.maxRSS > hostileRSS {
			t.Errorf("cut at %d: peak RSS %d MB", n, r.maxRSS>>20)
		}
	}
	t.Logf("%d cuts refused", len(cuts))
}

// TestHostileGGUFEveryCommand: the other commands that open a model
// refuse a bad GGUF file the same way as info and generate.
func TestHostileGGUFEveryCommand(t *testing.T) {
	orig, err := os.ReadFile(ggufFixture("Q4_0.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conv := filepath.Join(dir, "conv.json")
	if err := os.WriteFile(conv, []byte(`[{"role": "user", "content": "Hello"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	g := readGGUF(t, ggufFixture("Q4_0.gguf"))
	g.tensor(t, "blk.1.attn_v.weight").typ = ggmlIQ2XXS
	unsupported := g.encode()
	g = readGGUF(t, ggufFixture("Q4_0.gguf"))
	g.set("tokenizer.ggml.model", gtString, vStr("gpt2"))
	gpt2 := g.encode()
	for _, c := range []struct {
		name    string
		data    []byte
		mention string
	}{
		{"truncated", orig[:len(orig)*2/3], "run past the end of the data section"},
		{"iq2_xxs", unsupported, "IQ2_XXS"},
		{"gpt2", gpt2, "gpt2"},
	} {
		p := filepath.Join(dir, c.name+".gguf")
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, a := range [][]string{
			{"tokenize", "-m", p, "Hello"},
			{"chat", "--dry-run", "-m", p, "--messages", conv},
			{"chat", "-m", p, "--messages", conv, "-n", "1"},
			{"score", "-m", p, "--tokens", "1,2,3"},
			{"perplexity", "-m", p, "-f", conv},
			{"bench", "-m", p, "-p", "4", "-n", "1", "-r", "1"},
			{"quantize", p, filepath.Join(dir, "out.gguf"), "q8_0"},
		} {
			t.Run(c.name+"-"+a[0], func(t *testing.T) {
				r := galeWith(t, runOpts{timeout: hostileTimeout}, a...)
				wantError(t, r, 1, p, c.mention)
			})
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out.gguf")); err == nil {
		t.Error("quantize of a bad file wrote its output")
	}
}
