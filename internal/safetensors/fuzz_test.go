package safetensors

import (
	"bytes"
	"slices"
	"testing"
)

// FuzzFromBytes feeds arbitrary bytes to the parser. It must never panic or
// hang; whenever it accepts a file, every tensor must lie inside the buffer
// with exactly the bytes its shape and dtype need, and writing the tensors
// back out must give a file that parses to the same tensors.
func FuzzFromBytes(f *testing.F) {
	for _, c := range errorCases {
		f.Add(c.data())
	}
	f.Add(raw("{}", nil))
	f.Add(raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}`, make([]byte, 8)))
	f.Add(raw(`{"s":{"dtype":"BF16","shape":[],"data_offsets":[2,4]},"e":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}  `, make([]byte, 5)))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := FromBytes("fuzz", data)
		if err != nil {
			if file != nil {
				t.Fatal("File and error both returned")
			}
			return
		}
		var ws []WriteTensor
		for _, name := range file.Names() {
			x, ok := file.Tensor(name)
			if !ok {
				t.Fatalf("listed tensor %q missing", name)
			}
			if len(x.Data) != x.NumElements()*x.DType.Size() {
				t.Fatalf("%q: %d bytes for %s %v", name, len(x.Data), x.DType, x.Shape)
			}
			if x.Offset < 10 || x.Offset+int64(len(x.Data)) > int64(len(data)) {
				t.Fatalf("%q: [%d, +%d) outside %d-byte file", name, x.Offset, len(x.Data), len(data))
			}
			ws = append(ws, WriteTensor{Name: name, DType: x.DType, Shape: x.Shape, Data: x.Data})
		}
		var buf bytes.Buffer
		if err := Write(&buf, ws, file.Metadata); err != nil {
			t.Fatalf("rewriting an accepted file: %v", err)
		}
		again, err := FromBytes("rewritten", buf.Bytes())
		if err != nil {
			t.Fatalf("rewritten file rejected: %v", err)
		}
		if !equalStrings(again.Names(), file.Names()) || len(again.Metadata) != len(file.Metadata) {
			t.Fatalf("rewritten: names %v metadata %v, was %v %v", again.Names(), again.Metadata, file.Names(), file.Metadata)
		}
		for k, v := range file.Metadata {
			if again.Metadata[k] != v {
				t.Fatalf("metadata[%q] = %q, was %q", k, again.Metadata[k], v)
			}
		}
		for _, w := range ws {
			x, _ := again.Tensor(w.Name)
			if x == nil || x.DType != w.DType || !slices.Equal(x.Shape, w.Shape) || !bytes.Equal(x.Data, w.Data) {
				t.Fatalf("rewritten %q = %v, was %s %v", w.Name, x, w.DType, w.Shape)
			}
		}
	})
}
