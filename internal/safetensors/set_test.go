package safetensors

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeShards writes files name -> tensors (one byte each) into dir.
func writeShards(t *testing.T, dir string, shards map[string][]string) {
	t.Helper()
	for file, names := range shards {
		var ws []WriteTensor
		for i, n := range names {
			ws = append(ws, WriteTensor{Name: n, DType: U8, Shape: []int{1}, Data: []byte{byte(i + 1)}})
		}
		if err := WriteFile(filepath.Join(dir, file), ws, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func writeIndex(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, IndexFileName)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenIndex(t *testing.T) {
	dir := t.TempDir()
	writeShards(t, dir, map[string][]string{
		"model-00001-of-00002.safetensors": {"a", "b"},
		"model-00002-of-00002.safetensors": {"c", "extra"},
	})
	p := writeIndex(t, dir, `{"metadata": {"total_size": 4, "format": "pt"}, "weight_map": {
		"a": "model-00001-of-00002.safetensors", "c": "model-00002-of-00002.safetensors",
		"b": "model-00001-of-00002.safetensors"}}`)
	s, err := OpenIndex(p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Names(); !equalStrings(got, []string{"a", "b", "c", "extra"}) {
		t.Errorf("Names = %v", got)
	}
	if len(s.Files()) != 2 || s.Size() != s.Files()[0].Size()+s.Files()[1].Size() {
		t.Errorf("Files %d, Size %d", len(s.Files()), s.Size())
	}
	if s.Metadata["total_size"] != "4" || s.Metadata["format"] != "pt" {
		t.Errorf("Metadata = %v", s.Metadata)
	}
	c := tensor(t, s, "c")
	if c.Data[0] != 1 || c.File != filepath.Join(dir, "model-00002-of-00002.safetensors") {
		t.Errorf("c = %v from %s", c.Data, c.File)
	}
	if b := tensor(t, s, "b"); b.Data[0] != 2 {
		t.Errorf("b = %v", b.Data)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestOpenIndexErrors(t *testing.T) {
	dir := t.TempDir()
	writeShards(t, dir, map[string][]string{
		"s1.safetensors": {"a", "b"},
		"s2.safetensors": {"b", "c"}, // b duplicates s1's
		"s3.safetensors": {"d"},
	})
	cases := []struct {
		name, index string
		want        []string
	}{
		{"duplicate across shards", `{"weight_map":{"a":"s1.safetensors","c":"s2.safetensors"}}`,
			[]string{"s2.safetensors", `tensor "b" is also in`, "s1.safetensors"}},
		{"missing shard", `{"weight_map":{"d":"s3.safetensors","x":"s9.safetensors"}}`,
			[]string{"s9.safetensors", "no such file"}},
		{"tensor not in its shard", `{"weight_map":{"d":"s3.safetensors","a":"s3.safetensors"}}`,
			[]string{`tensor "a": not found in its shard`, "s3.safetensors"}},
		{"escape with ..", `{"weight_map":{"d":"../s3.safetensors"}}`,
			[]string{`tensor "d": shard name "../s3.safetensors" must be a plain file name`}},
		{"escape with a directory", `{"weight_map":{"d":"sub/s3.safetensors"}}`,
			[]string{`shard name "sub/s3.safetensors" must be a plain file name`}},
		{"absolute", `{"weight_map":{"d":"/etc/passwd"}}`, []string{`shard name "/etc/passwd"`}},
		{"dot-dot", `{"weight_map":{"d":".."}}`, []string{`shard name ".." is not a file name`}},
		{"empty name", `{"weight_map":{"d":""}}`, []string{`shard name "" is not a file name`}},
		{"duplicate in weight_map", `{"weight_map":{"d":"s3.safetensors","d":"s3.safetensors"}}`,
			[]string{`weight_map: duplicate tensor "d"`}},
		{"shard not a string", `{"weight_map":{"d":3}}`, []string{`tensor "d": shard is 3, want a file name`}},
		{"no weight_map", `{"metadata":{}}`, []string{`no "weight_map"`}},
		{"empty weight_map", `{"weight_map":{}}`, []string{`"weight_map" is empty`}},
		{"weight_map not object", `{"weight_map":[]}`, []string{`"weight_map" is not a JSON object`}},
		{"malformed", `{"weight_map":{"d":"s3.safetensors"`, []string{"malformed JSON"}},
		{"not utf8", "{\"weight_map\":{\"\xff\":\"s3.safetensors\"}}", []string{"not valid UTF-8"}},
	}
	for _, c := range cases {
		p := writeIndex(t, dir, c.index)
		s, err := OpenIndex(p)
		if err == nil {
			s.Close()
		}
		checkErr(t, c.name, err, append([]string{p}, c.want...))
	}
	if _, err := OpenIndex(filepath.Join(dir, "nope.json")); err == nil || !strings.Contains(err.Error(), "nope.json") {
		t.Errorf("missing index: %v", err)
	}
	if _, err := OpenIndex(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("index is a directory: %v", err)
	}
}

func TestOpenSet(t *testing.T) {
	dir := t.TempDir()
	writeShards(t, dir, map[string][]string{"x.safetensors": {"a"}, "y.safetensors": {"b"}, "z.safetensors": {"a"}})
	x, y, z := filepath.Join(dir, "x.safetensors"), filepath.Join(dir, "y.safetensors"), filepath.Join(dir, "z.safetensors")
	s, err := OpenSet(x, y)
	if err != nil {
		t.Fatal(err)
	}
	if !equalStrings(s.Names(), []string{"a", "b"}) {
		t.Errorf("Names = %v", s.Names())
	}
	s.Close()
	_, err = OpenSet(x, y, z)
	checkErr(t, "duplicate", err, []string{z, `tensor "a" is also in ` + x})
	_, err = OpenSet(x, filepath.Join(dir, "missing.safetensors"))
	checkErr(t, "missing", err, []string{"missing.safetensors"})
	if _, err := OpenSet(); err == nil {
		t.Error("OpenSet(): no error")
	}
}

func TestOpenDir(t *testing.T) {
	link := func(dir, src, name string) {
		t.Helper()
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// HF single file, preferred over consolidated.safetensors when both are
	// present (as in some Mistral repositories).
	hf := t.TempDir()
	link(hf, fixtureBF16, SingleFileName)
	link(hf, fixtureNative, ConsolidatedName)
	s, err := OpenDir(hf)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Tensor("model.embed_tokens.weight"); !ok || len(s.Files()) != 1 || s.Metadata["format"] != "pt" {
		t.Errorf("HF dir: files %d, metadata %v", len(s.Files()), s.Metadata)
	}
	s.Close()

	native := t.TempDir()
	link(native, fixtureNative, ConsolidatedName)
	s, err = OpenDir(native)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Tensor("tok_embeddings.weight"); !ok || s.Size() != 240152 {
		t.Errorf("native dir: size %d", s.Size())
	}
	s.Close()

	sharded := t.TempDir()
	writeShards(t, sharded, map[string][]string{"m1.safetensors": {"a"}, "m2.safetensors": {"b"}})
	writeIndex(t, sharded, `{"weight_map":{"a":"m1.safetensors","b":"m2.safetensors"}}`)
	s, err = OpenDir(sharded)
	if err != nil {
		t.Fatal(err)
	}
	if !equalStrings(s.Names(), []string{"a", "b"}) {
		t.Errorf("sharded dir: %v", s.Names())
	}
	s.Close()

	empty := t.TempDir()
	_, err = OpenDir(empty)
	checkErr(t, "empty dir", err, []string{empty, "no safetensors checkpoint", SingleFileName, IndexFileName, ConsolidatedName})
	_, err = OpenDir(filepath.Join(empty, "nope"))
	checkErr(t, "missing dir", err, []string{"nope", "no such file"})
	_, err = OpenDir(filepath.Join(hf, SingleFileName))
	checkErr(t, "file as dir", err, []string{"not a directory"})

	// A corrupt model.safetensors is reported, not skipped for another file.
	bad := t.TempDir()
	link(bad, fixtureNative, ConsolidatedName)
	os.WriteFile(filepath.Join(bad, SingleFileName), []byte("junk"), 0o644)
	_, err = OpenDir(bad)
	checkErr(t, "corrupt", err, []string{SingleFileName, "too short"})
}
