package gguf

import (
	"bytes"
	"slices"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the parser. It must never panic, hang
// or allocate beyond the input's size; whenever it accepts a file, every
// tensor must lie inside the data section with the bytes its type and dims
// need, every value must decode, and writing the file back out with Writer
// must give a file that parses to the same metadata and tensors.
func FuzzParse(f *testing.F) {
	for _, c := range hostileCases {
		f.Add(c.data())
	}
	f.Add(validFile())
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := FromBytes("fuzz", data)
		if err != nil {
			if file != nil {
				t.Fatal("File and error both returned")
			}
			return
		}
		for _, kv := range file.KVs() {
			_ = kv.Value.String()
			switch v := kv.Value; {
			case v.Type() == TypeArray && v.ElemType() == TypeString:
				if s, err := v.AsStrings(); err != nil || len(s) != v.Len() {
					t.Fatalf("%s: %d strings, %v", kv.Key, len(s), err)
				}
			case v.Type() == TypeArray && v.ElemType() == TypeFloat32:
				if _, err := v.AsFloat32s(); err != nil {
					t.Fatalf("%s: %v", kv.Key, err)
				}
			}
		}
		start := file.Parts()[0].DataStart
		ts := file.Tensors()
		for _, ti := range ts {
			n, err := tensorBytes(ti.Type, ti.Dims)
			if err != nil || n != ti.Size {
				t.Fatalf("%v: Size %d, computed %d (%v)", &ti, ti.Size, n, err)
			}
			if start+ti.Offset+ti.Size > int64(len(data)) && ti.Size > 0 {
				t.Fatalf("%v: [%d, +%d) outside %d-byte file", &ti, start+ti.Offset, ti.Size, len(data))
			}
		}
		if file.Alignment() > 1<<16 {
			// A valid file may ask for any power-of-2 alignment that
			// fits a UINT32; rewriting it into memory would pad
			// gigabytes (a fuzzing worker hung on 2^30), so the round
			// trip is for alignments files really use.
			return
		}
		var buf bytes.Buffer
		w, err := NewWriter(&buf, file.KVs(), ts)
		if a, ok := file.Get(KeyAlignment); ok && a.Type() != TypeUint32 {
			// Read leniently, but written only as the UINT32 llama.cpp needs.
			if err == nil {
				t.Fatalf("writer accepted %s %s", KeyAlignment, a.typeName())
			}
			return
		}
		if err != nil {
			t.Fatalf("rewriting an accepted file: %v", err)
		}
		for _, ti := range ts {
			raw, err := file.RawData(&ti)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WriteTensor(ti.Name, raw); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		again, err := FromBytes("rewritten", buf.Bytes())
		if err != nil {
			t.Fatalf("rewritten file rejected: %v", err)
		}
		if !sameKVs(again.KVs(), file.KVs()) {
			t.Fatal("rewritten metadata differ")
		}
		ts2 := again.Tensors()
		if len(ts2) != len(ts) {
			t.Fatalf("rewritten: %d tensors, was %d", len(ts2), len(ts))
		}
		for i, ti := range ts2 {
			a, _ := again.RawData(&ti)
			b, _ := file.RawData(&ts[i])
			if ti.Name != ts[i].Name || ti.Type != ts[i].Type || !slices.Equal(ti.Dims, ts[i].Dims) || !bytes.Equal(a, b) {
				t.Fatalf("rewritten %v, was %v", &ti, &ts[i])
			}
		}
	})
}
