package gguf

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sameKVs reports whether two metadata lists are equal entry by entry,
// type and encoding included.
func sameKVs(a, b []KV) bool {
	return slices.EqualFunc(a, b, func(x, y KV) bool {
		return x.Key == y.Key && x.Value.typ == y.Value.typ && x.Value.elem == y.Value.elem &&
			x.Value.n == y.Value.n && bytes.Equal(x.Value.raw, y.Value.raw)
	})
}

func testKVs() []KV {
	return []KV{
		{"general.architecture", String("llama")},
		{"general.alignment", Uint32(64)},
		{"llama.block_count", Uint32(2)},
		{"llama.rope.freq_base", Float32(10000)},
		{"u8", Uint8(7)}, {"i8", Int8(-7)}, {"u16", Uint16(700)}, {"i16", Int16(-700)},
		{"i32", Int32(-70000)}, {"u64", Uint64(1 << 40)}, {"i64", Int64(-1 << 40)}, {"f64", Float64(0.5)},
		{"add_bos", Bool(true)}, {"add_eos", Bool(false)},
		{"tokenizer.ggml.tokens", StringArray([]string{"<unk>", "<s>", "</s>", "▁a"})},
		{"tokenizer.ggml.scores", Float32Array([]float32{0, 0, 0, -1.25})},
		{"tokenizer.ggml.token_type", Int32Array([]int32{2, 3, 3, 1})},
	}
}

// Writing then reading back gives the same metadata and tensors, with the
// custom alignment applied to every offset.
func TestWriteRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tensors := []TensorInfo{
		{Name: "token_embd.weight", Type: Q4_K, Dims: []int64{256, 3}},
		{Name: "blk.0.attn_norm.weight", Type: F32, Dims: []int64{5}},
		{Name: "empty", Type: F16, Dims: []int64{0, 4}},
		{Name: "blk.0.attn_q.weight", Type: Q8_0, Dims: []int64{64, 3}, Size: 3 * 2 * 34},
		{Name: "iq", Type: IQ4_NL, Dims: []int64{32}},
	}
	data := map[string][]byte{}
	var stream []byte
	for _, ti := range tensors {
		n, err := tensorBytes(ti.Type, ti.Dims)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		data[ti.Name] = b
		stream = append(stream, b...)
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testKVs(), tensors)
	if err != nil {
		t.Fatal(err)
	}
	// Stream the data in uneven chunks that straddle tensor boundaries.
	for len(stream) > 0 {
		k := min(len(stream), 1+rng.IntN(200))
		if n, err := w.Write(stream[:k]); err != nil || n != k {
			t.Fatalf("Write: %d, %v", n, err)
		}
		stream = stream[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := FromBytes("rt.gguf", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || f.Alignment() != 64 || f.Parts()[0].DataStart%64 != 0 || int64(buf.Len())%64 != 0 {
		t.Errorf("version %d alignment %d data at %d, %d bytes", f.Version, f.Alignment(), f.Parts()[0].DataStart, buf.Len())
	}
	if !sameKVs(f.KVs(), testKVs()) {
		t.Errorf("metadata differs after the round trip")
	}
	got := f.Tensors()
	if len(got) != len(tensors) {
		t.Fatalf("%d tensors back, wrote %d", len(got), len(tensors))
	}
	written := w.Tensors()
	for i, ti := range got {
		if ti.Name != tensors[i].Name || ti.Type != tensors[i].Type || !slices.Equal(ti.Dims, tensors[i].Dims) ||
			ti.Offset != written[i].Offset || ti.Size != written[i].Size || ti.Offset%64 != 0 {
			t.Errorf("tensor %d = %+v, wrote %+v", i, ti, written[i])
		}
		raw, err := f.RawData(&ti)
		if err != nil || !bytes.Equal(raw, data[ti.Name]) {
			t.Errorf("%s: data differ (%v)", ti.Name, err)
		}
	}
	// Padding is zeros, and tensors follow each other padded.
	b := buf.Bytes()
	start := f.Parts()[0].DataStart
	for i, ti := range written {
		end := start + ti.Offset + ti.Size
		next := int64(len(b))
		if i+1 < len(written) {
			next = start + written[i+1].Offset
		}
		if next != (end+63)/64*64 {
			t.Errorf("%s ends at %d, next starts at %d", ti.Name, end, next)
		}
		if bytes.ContainsFunc(b[end:next], func(r rune) bool { return r != 0 }) {
			t.Errorf("non-zero padding after %s", ti.Name)
		}
	}
}

func TestWriteTensorOrder(t *testing.T) {
	tensors := []TensorInfo{
		{Name: "a", Type: F32, Dims: []int64{2}},
		{Name: "e", Type: F32, Dims: []int64{0}},
		{Name: "b", Type: F16, Dims: []int64{2}},
	}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, nil, tensors)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"b", make([]byte, 4), `tensor "b" written out of order, next is "a"`},
		{"a", make([]byte, 4), `tensor "a": 4 bytes given, F32 [2] takes 8`},
		{"a", make([]byte, 8), ""},
		{"e", nil, ""},
		{"b", make([]byte, 4), ""},
		{"b", make([]byte, 4), `tensor "b" written after the last tensor`},
	} {
		err := w.WriteTensor(c.name, c.data)
		if (err == nil) != (c.want == "") || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("WriteTensor(%s, %d bytes) = %v, want %q", c.name, len(c.data), err, c.want)
		}
	}
	if err := w.Close(); err != nil {
		t.Error(err)
	}
	if _, err := w.Write([]byte{1}); err == nil || !strings.Contains(err.Error(), "past the last tensor") {
		t.Errorf("extra bytes: %v", err)
	}
	// Close reports a missing tensor.
	w2, _ := NewWriter(&bytes.Buffer{}, nil, tensors)
	w2.Write(make([]byte, 10))
	if err := w2.Close(); err == nil || !strings.Contains(err.Error(), `tensor "b" incomplete: 2 of 4 bytes written`) {
		t.Errorf("incomplete: %v", err)
	}
}

func TestWriterRejects(t *testing.T) {
	for _, c := range []struct {
		kvs     []KV
		tensors []TensorInfo
		want    string
	}{
		{[]KV{{"k", Uint8(1)}, {"k", Uint8(2)}}, nil, `duplicate metadata key "k"`},
		{[]KV{{"k", Value{}}}, nil, `key "k": UINT8 value of 0 bytes`},
		{[]KV{{KeyAlignment, Uint32(24)}}, nil, `is 24, want a power of 2`},
		{[]KV{{KeyAlignment, String("x")}}, nil, `is STRING, want UINT32`},
		{[]KV{{KeyAlignment, Uint64(64)}}, nil, `is UINT64, want UINT32`},
		{nil, []TensorInfo{{Name: "a", Type: F32}, {Name: "a", Type: F32}}, `duplicate tensor "a"`},
		{nil, []TensorInfo{{Name: strings.Repeat("n", 64), Type: F32}}, `longer than the 63`},
		{nil, []TensorInfo{{Name: "q", Type: Q4_0, Dims: []int64{16}}}, `first dimension 16 is not a multiple of Q4_0's block of 32`},
		{nil, []TensorInfo{{Name: "x", Type: GGMLType(5), Dims: []int64{1}}}, `unknown ggml type 5`},
		{nil, []TensorInfo{{Name: "d", Type: F32, Dims: []int64{1, 1, 1, 1, 1}}}, `5 dimensions`},
		{nil, []TensorInfo{{Name: "o", Type: F32, Dims: []int64{1 << 62, 4}}}, `more than 2^63`},
		{nil, []TensorInfo{{Name: "s", Type: F32, Dims: []int64{4}, Size: 15}}, `Size 15, but F32 [4] takes 16 bytes`},
	} {
		_, err := NewWriter(&bytes.Buffer{}, c.kvs, c.tensors)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewWriter = %v, want %q", err, c.want)
		}
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n < len(p) {
		k := w.n
		w.n = 0
		return k, errors.New("disk full")
	}
	w.n -= len(p)
	return len(p), nil
}

// A write error is reported, and sticks.
func TestWriterError(t *testing.T) {
	tensors := []TensorInfo{{Name: "a", Type: F32, Dims: []int64{64}}}
	if _, err := NewWriter(&failWriter{n: 10}, nil, tensors); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("header: %v", err)
	}
	w, err := NewWriter(&failWriter{n: 100}, nil, tensors)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteTensor("a", make([]byte, 256)); err == nil || !strings.Contains(err.Error(), `writing tensor "a": disk full`) {
		t.Errorf("data: %v", err)
	}
	if err := w.Close(); err == nil {
		t.Error("Close after a failed write succeeded")
	}
}

// Create writes to a temporary file and renames it into place only when
// complete.
func TestCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	tensors := []TensorInfo{{Name: "a", Type: F32, Dims: []int64{3}}}
	fw, err := Create(path, testKVs(), tensors)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file visible before Close: %v", err)
	}
	if err := fw.WriteTensor("a", []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	f := mustOpen(t, path)
	if a, err := f.TensorData("a"); err != nil || a[11] != 12 || !sameKVs(f.KVs(), testKVs()) {
		t.Errorf("reopened: %v %v", a, err)
	}
	// An incomplete file never appears, and leaves no temporary behind.
	bad := filepath.Join(dir, "bad.gguf")
	fw, err = Create(bad, nil, tensors)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte{1})
	if err := fw.Close(); err == nil || !strings.HasPrefix(err.Error(), bad+": ") {
		t.Errorf("incomplete Close: %v", err)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("incomplete file exists: %v", err)
	}
	fw, _ = Create(filepath.Join(dir, "aborted.gguf"), nil, tensors)
	fw.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only m.gguf", len(ents))
	}
}

// Tensor data pass straight through: writing a chunk allocates nothing, so
// a model far larger than memory streams through Writer.
func TestWriterStreams(t *testing.T) {
	tensors := []TensorInfo{
		{Name: "big", Type: Q4_0, Dims: []int64{1 << 20, 1 << 10}}, // 576 MiB, never held
		{Name: "tail", Type: F32, Dims: []int64{3}},
	}
	w, err := NewWriter(io.Discard, nil, tensors)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<16)
	if allocs := testing.AllocsPerRun(100, func() { w.Write(chunk) }); allocs != 0 {
		t.Errorf("Write allocates %v times per chunk", allocs)
	}
}

// BenchmarkOpenFixture measures opening (stat, mmap, header parse and
// validation, munmap) a fixture with a 512-token vocabulary.
func BenchmarkOpenFixture(b *testing.B) {
	path := filepath.Join(fixtureDir, "Q4_K_M.gguf")
	for b.Loop() {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
