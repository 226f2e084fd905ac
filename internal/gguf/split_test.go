package gguf

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeSplit writes an n-part model under dir the way gguf-split lays it
// out: all metadata in the first part, split.* keys in every part, and
// tensor i (F32 [4], filled with i) in part i%n. edit may change a part's
// keys before it is written.
func writeSplit(t *testing.T, dir string, n, nTensors int, edit func(part int, kvs []KV) []KV) string {
	t.Helper()
	prefix := filepath.Join(dir, "m")
	for p := range n {
		var kvs []KV
		if p == 0 {
			kvs = append(kvs, KV{"general.architecture", String("llama")}, KV{"llama.block_count", Uint32(2)})
		}
		kvs = append(kvs,
			KV{KeySplitNo, Uint16(uint16(p))},
			KV{KeySplitCount, Uint16(uint16(n))},
			KV{KeySplitTensorsCount, Int32(int32(nTensors))})
		if edit != nil {
			kvs = edit(p, kvs)
		}
		var tensors []TensorInfo
		var data [][]byte
		for i := p; i < nTensors; i += n {
			tensors = append(tensors, TensorInfo{Name: "t" + itoa(uint32(i)), Type: F32, Dims: []int64{4}})
			data = append(data, bytes.Repeat([]byte{byte(i)}, 16))
		}
		fw, err := Create(SplitPath(prefix, p+1, n), kvs, tensors)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range data {
			if err := fw.WriteTensor(tensors[i].Name, d); err != nil {
				t.Fatal(err)
			}
		}
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return SplitPath(prefix, 1, n)
}

func TestSplit(t *testing.T) {
	dir := t.TempDir()
	first := writeSplit(t, dir, 3, 7, nil)
	if filepath.Base(first) != "m-00001-of-00003.gguf" {
		t.Fatalf("first part %s", first)
	}
	f := mustOpen(t, first)
	parts := f.Parts()
	if len(parts) != 3 || parts[2].Path != filepath.Join(dir, "m-00003-of-00003.gguf") {
		t.Fatalf("parts %+v", parts)
	}
	if n, ok, err := f.Uint("llama.block_count"); n != 2 || !ok || err != nil {
		t.Errorf("metadata of the first part: %d %v %v", n, ok, err)
	}
	ts := f.Tensors()
	if len(ts) != 7 {
		t.Fatalf("%d tensors, want 7", len(ts))
	}
	for _, ti := range ts {
		i := int(ti.Name[1] - '0')
		if ti.Part != i%3 {
			t.Errorf("%s in part %d, want %d", ti.Name, ti.Part, i%3)
		}
		d, err := f.TensorData(ti.Name)
		if err != nil || !bytes.Equal(d, bytes.Repeat([]byte{byte(i)}, 16)) {
			t.Errorf("%s: %v %v", ti.Name, d, err)
		}
	}
	if err := f.Close(); err != nil {
		t.Error(err)
	}
}

func TestSplitErrors(t *testing.T) {
	t.Run("later part", func(t *testing.T) {
		dir := t.TempDir()
		writeSplit(t, dir, 3, 3, nil)
		_, err := Open(filepath.Join(dir, "m-00002-of-00003.gguf"))
		checkOneLine(t, err, filepath.Join(dir, "m-00002-of-00003.gguf")+": ", "part 2 of a 3-part split model; open the first part, "+filepath.Join(dir, "m-00001-of-00003.gguf"))
	})
	t.Run("missing part", func(t *testing.T) {
		dir := t.TempDir()
		first := writeSplit(t, dir, 3, 3, nil)
		os.Remove(filepath.Join(dir, "m-00003-of-00003.gguf"))
		_, err := Open(first)
		if err == nil || !strings.Contains(err.Error(), "m-00003-of-00003.gguf: no such file") {
			t.Errorf("missing part: %v", err)
		}
	})
	t.Run("renamed first part", func(t *testing.T) {
		dir := t.TempDir()
		first := writeSplit(t, dir, 2, 2, nil)
		renamed := filepath.Join(dir, "model.gguf")
		os.Rename(first, renamed)
		_, err := Open(renamed)
		checkOneLine(t, err, renamed+": ", "first part of a 2-part split model, but the name does not end in -00001-of-00002.gguf")
	})
	t.Run("name disagrees", func(t *testing.T) {
		dir := t.TempDir()
		writeSplit(t, dir, 2, 2, nil)
		odd := filepath.Join(dir, "x-00001-of-00003.gguf")
		os.Rename(filepath.Join(dir, "m-00001-of-00002.gguf"), odd)
		_, err := Open(odd)
		checkOneLine(t, err, odd+": ", "the name says part 1 of 3, the metadata says part 1 of 2")
	})
	t.Run("wrong split.no", func(t *testing.T) {
		dir := t.TempDir()
		first := writeSplit(t, dir, 3, 3, func(p int, kvs []KV) []KV {
			if p == 2 {
				for i := range kvs {
					if kvs[i].Key == KeySplitNo {
						kvs[i].Value = Uint16(1)
					}
				}
			}
			return kvs
		})
		_, err := Open(first)
		checkOneLine(t, err, filepath.Join(dir, "m-00003-of-00003.gguf")+": ", "metadata says part 2 of 3, expected part 3 of 3")
	})
	t.Run("tensor count", func(t *testing.T) {
		dir := t.TempDir()
		first := writeSplit(t, dir, 2, 3, func(p int, kvs []KV) []KV {
			for i := range kvs {
				if kvs[i].Key == KeySplitTensorsCount {
					kvs[i].Value = Int32(4)
				}
			}
			return kvs
		})
		_, err := Open(first)
		checkOneLine(t, err, first+": ", `key "split.tensors.count" is 4, but the 2 parts hold 3 tensors`)
	})
	t.Run("duplicate across parts", func(t *testing.T) {
		dir := t.TempDir()
		first := writeSplit(t, dir, 2, 2, nil)
		// Give part 2 a tensor named like part 1's.
		second := filepath.Join(dir, "m-00002-of-00002.gguf")
		kvs := []KV{{KeySplitNo, Uint16(1)}, {KeySplitCount, Uint16(2)}}
		fw, _ := Create(second, kvs, []TensorInfo{{Name: "t0", Type: F32, Dims: []int64{4}}})
		fw.WriteTensor("t0", make([]byte, 16))
		if err := fw.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := Open(first)
		checkOneLine(t, err, second+": ", `tensor "t0" is also in `+first)
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Open(dir)
		checkOneLine(t, err, dir+": ", "is a directory")
	})
	t.Run("FromBytes of a part", func(t *testing.T) {
		dir := t.TempDir()
		first := writeSplit(t, dir, 2, 2, nil)
		b, _ := os.ReadFile(first)
		_, err := FromBytes("p1", b)
		checkOneLine(t, err, "p1: ", "part 1 of a 2-part split model; open the parts from files")
	})
}
