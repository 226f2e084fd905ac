package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Rewriting a fixture's tensors (in file order, with its metadata) must
// reproduce the reference implementation's file byte for byte: same JSON
// layout, same space padding, metadata last.
func TestWriteMatchesReferenceFiles(t *testing.T) {
	for _, path := range []string{fixtureBF16, fixtureF16, fixtureLogits, fixtureNative} {
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f := mustOpen(t, path)
		var ws []WriteTensor
		for _, name := range f.Names() {
			x := tensor(t, f, name)
			ws = append(ws, WriteTensor{Name: x.Name, DType: x.DType, Shape: x.Shape, Data: x.Data})
		}
		var got bytes.Buffer
		if err := Write(&got, ws, f.Metadata); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want) {
			n := binary.LittleEndian.Uint64(want)
			t.Errorf("%s: rewritten file differs (%d vs %d bytes)\nwant header %q\ngot  %q", path, got.Len(), len(want),
				want[8:8+n], got.Bytes()[8:min(got.Len(), 8+int(n))])
		}
	}
}

// counter is an endless deterministic byte source for streamed tensors.
type counter struct{ n byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.n
		c.n = c.n*31 + 7
	}
	return len(p), nil
}

func TestWriteFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "rt.safetensors")
	const big = 3<<20 + 5 // streamed through Source, larger than the write buffer
	var want bytes.Buffer
	if _, err := io.CopyN(&want, &counter{}, big); err != nil {
		t.Fatal(err)
	}
	f64 := make([]byte, 8*3)
	for i := range f64 {
		f64[i] = byte(100 + i)
	}
	ws := []WriteTensor{
		{Name: "f64", DType: F64, Shape: []int{3}, Data: f64},
		{Name: "big", DType: U8, Shape: []int{big}, Source: &counter{}},
		{Name: "empty", DType: BF16, Shape: []int{0, 7}},
		{Name: "scalar", DType: I32, Shape: []int{}, Data: []byte{1, 2, 3, 4}},
		{Name: "weird \"name\" <é>", DType: BOOL, Shape: []int{1, 1}, Data: []byte{1}},
	}
	meta := map[string]string{"format": "pt", "note": "line\nbreak \u2581"}
	if err := WriteFile(path, ws, meta); err != nil {
		t.Fatal(err)
	}
	f := mustOpen(t, path)
	if got := f.Names(); !equalStrings(got, []string{"f64", "big", "empty", "scalar", "weird \"name\" <é>"}) {
		t.Errorf("Names = %v", got)
	}
	if len(f.Metadata) != 2 || f.Metadata["note"] != meta["note"] || f.Metadata["format"] != "pt" {
		t.Errorf("Metadata = %q", f.Metadata)
	}
	for _, w := range ws {
		x := tensor(t, f, w.Name)
		data := w.Data
		if w.Source != nil {
			data = want.Bytes()
		}
		if x.DType != w.DType || !slices.Equal(x.Shape, w.Shape) || !bytes.Equal(x.Data, data) {
			t.Errorf("%q: got %v (%d bytes), want %s %v (%d bytes)", w.Name, x, len(x.Data), w.DType, w.Shape, len(data))
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(raw)
	if n%8 != 0 || raw[8+n-1] != ' ' && raw[8+n-1] != '}' {
		t.Errorf("header length %d not padded with spaces to a multiple of 8: %q", n, raw[8+n-8:8+n])
	}
	if x := tensor(t, f, "f64"); x.Offset != int64(8+n) || !x.Aligned() {
		t.Errorf("first tensor at %d (data section at %d), aligned %v", x.Offset, 8+n, x.Aligned())
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != int64(8+n)+24+big+0+4+1 {
		t.Errorf("file size %v, %v", fi.Size(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestWriteErrors(t *testing.T) {
	four := []byte{0, 0, 0, 0}
	cases := []struct {
		name string
		ws   []WriteTensor
		want string
	}{
		{"duplicate", []WriteTensor{{Name: "a", DType: F32, Shape: []int{1}, Data: four}, {Name: "a", DType: F32, Shape: []int{1}, Data: four}}, `duplicate tensor "a"`},
		{"reserved", []WriteTensor{{Name: "__metadata__", DType: F32, Shape: []int{1}, Data: four}}, `"__metadata__" is reserved`},
		{"dtype", []WriteTensor{{Name: "a", DType: "F31", Shape: []int{1}, Data: four}}, `tensor "a": unknown dtype "F31"`},
		{"length", []WriteTensor{{Name: "a", DType: F32, Shape: []int{2}, Data: four}}, `tensor "a": 4 bytes of data, F32 [2] needs 8`},
		{"neither", []WriteTensor{{Name: "a", DType: F32, Shape: []int{1}}}, `tensor "a": 0 bytes of data, F32 [1] needs 4`},
		{"both", []WriteTensor{{Name: "a", DType: F32, Shape: []int{1}, Data: four, Source: bytes.NewReader(four)}}, `tensor "a": give Data or Source, not both`},
		{"negative", []WriteTensor{{Name: "a", DType: F32, Shape: []int{-1}, Data: four}}, `tensor "a": invalid shape [-1]`},
		{"overflow", []WriteTensor{{Name: "a", DType: F32, Shape: []int{math.MaxInt, math.MaxInt, 16}, Data: four}}, `tensor "a": invalid shape`},
		{"short-source", []WriteTensor{{Name: "a", DType: F32, Shape: []int{2}, Source: bytes.NewReader(four)}}, `tensor "a": source gave 4 of 8 bytes`},
		{"failing-source", []WriteTensor{{Name: "a", DType: F32, Shape: []int{2}, Source: io.MultiReader(bytes.NewReader(four), errReader{})}}, `tensor "a": disk on fire`},
	}
	dir := t.TempDir()
	for _, c := range cases {
		err := Write(io.Discard, c.ws, nil)
		checkErr(t, c.name, err, []string{c.want})
		for i := range c.ws { // the readers were drained: rewind them
			if r, ok := c.ws[i].Source.(*bytes.Reader); ok {
				r.Seek(0, io.SeekStart)
			}
		}
		path := filepath.Join(dir, c.name+".safetensors")
		err = WriteFile(path, c.ws, nil)
		checkErr(t, c.name+" (WriteFile)", err, []string{c.want})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed WriteFile left files: %v", entries)
	}
	if err := WriteFile(filepath.Join(dir, "no", "such", "dir.safetensors"), nil, nil); err == nil {
		t.Error("WriteFile into a missing directory: no error")
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

// A writer failing midway must surface its error.
func TestWriteWriterError(t *testing.T) {
	ws := []WriteTensor{{Name: "a", DType: U8, Shape: []int{100}, Data: make([]byte, 100)}}
	var full bytes.Buffer
	if err := Write(&full, ws, nil); err != nil {
		t.Fatal(err)
	}
	for limit := 0; limit < full.Len(); limit += 7 {
		if err := Write(&limitWriter{n: limit}, ws, nil); err == nil {
			t.Errorf("writer failing after %d bytes: no error", limit)
		} else if !strings.Contains(err.Error(), "full") {
			t.Errorf("writer failing after %d bytes: %v", limit, err)
		}
	}
}

type limitWriter struct{ n int }

func (w *limitWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		n := w.n
		w.n = 0
		return n, errors.New("full")
	}
	w.n -= len(p)
	return len(p), nil
}
