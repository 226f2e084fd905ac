package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// File names OpenDir looks for, in order of preference.
const (
	SingleFileName   = "model.safetensors"
	IndexFileName    = "model.safetensors.index.json"
	ConsolidatedName = "consolidated.safetensors"
)

// maxIndexSize bounds model.safetensors.index.json; real ones are tens of KB.
const maxIndexSize = 64 << 20

// Set is a checkpoint made of one or more safetensors files, looked up by
// tensor name as if it were one file. Tensor names are unique across the set.
type Set struct {
	// Metadata is the index's "metadata" map for a sharded checkpoint (values
	// that are not JSON strings, like total_size, are kept as their JSON
	// text), else the single file's __metadata__.
	Metadata map[string]string

	files   []*File
	tensors map[string]*Tensor
	order   []string // file by file, each by data offset
}

// OpenSet opens the given files as one checkpoint. A tensor name present in
// two files is an error naming both. On error every file opened so far is
// closed again.
func OpenSet(paths ...string) (*Set, error) {
	if len(paths) == 0 {
		return nil, errors.New("safetensors: OpenSet: no files given")
	}
	s := &Set{tensors: map[string]*Tensor{}}
	for _, p := range paths {
		f, err := Open(p)
		if err != nil {
			s.Close()
			return nil, err
		}
		if err := s.add(f); err != nil {
			f.Close()
			s.Close()
			return nil, err
		}
	}
	if len(s.files) == 1 {
		s.Metadata = s.files[0].Metadata
	} else {
		s.Metadata = map[string]string{}
	}
	return s, nil
}

// add appends f to the set, rejecting names already present.
func (s *Set) add(f *File) error {
	for _, name := range f.order {
		if prev, ok := s.tensors[name]; ok {
			return fmt.Errorf("%s: tensor %q is also in %s", f.Path, name, prev.File)
		}
	}
	for _, name := range f.order {
		s.tensors[name] = f.tensors[name]
		s.order = append(s.order, name)
	}
	s.files = append(s.files, f)
	return nil
}

// OpenIndex opens a sharded checkpoint from its model.safetensors.index.json
// ({"metadata": {...}, "weight_map": {tensor: shard file name}}). Shards are
// looked up next to the index and their names may not leave that directory.
// Every tensor the weight map names must be in the shard it names; a shard
// may also hold tensors the map does not list (they are kept).
func OpenIndex(indexPath string) (*Set, error) {
	st, err := os.Stat(indexPath)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", indexPath)
	}
	if st.Size() > maxIndexSize {
		return nil, fmt.Errorf("%s: %d bytes is too large for a shard index", indexPath, st.Size())
	}
	data, err := os.ReadFile(indexPath)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	idx, err := parseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", indexPath, err)
	}
	dir := filepath.Dir(indexPath)
	paths := make([]string, len(idx.shards))
	for i, sh := range idx.shards {
		paths[i] = filepath.Join(dir, sh)
	}
	s, err := OpenSet(paths...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", indexPath, err)
	}
	for _, wm := range idx.weightMap {
		t, ok := s.tensors[wm.tensor]
		want := filepath.Join(dir, wm.shard)
		if !ok || t.File != want {
			s.Close()
			return nil, fmt.Errorf("%s: tensor %q: not found in its shard %s", indexPath, wm.tensor, want)
		}
	}
	s.Metadata = idx.metadata
	return s, nil
}

// index is a parsed model.safetensors.index.json.
type index struct {
	metadata  map[string]string
	weightMap []struct{ tensor, shard string } // in file order
	shards    []string                         // distinct, in order of first mention
}

// parseIndex validates the text of a shard index.
func parseIndex(data []byte) (*index, error) {
	if !utf8.Valid(data) {
		return nil, errors.New("not valid UTF-8")
	}
	idx := &index{metadata: map[string]string{}}
	haveMap := false
	err := decodeObject(data, func(key string, raw json.RawMessage) error {
		switch key {
		case "metadata":
			if string(raw) == "null" {
				return nil
			}
			if len(raw) == 0 || raw[0] != '{' {
				return errors.New(`"metadata" is not a JSON object`)
			}
			return decodeObject(raw, func(k string, v json.RawMessage) error {
				var str string
				if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &str) == nil {
					idx.metadata[k] = str
				} else {
					idx.metadata[k] = string(v)
				}
				return nil
			})
		case "weight_map":
			if haveMap {
				return errors.New(`duplicate "weight_map"`)
			}
			haveMap = true
			if len(raw) == 0 || raw[0] != '{' {
				return errors.New(`"weight_map" is not a JSON object`)
			}
			seenT := map[string]bool{}
			seenS := map[string]bool{}
			return decodeObject(raw, func(tensor string, v json.RawMessage) error {
				if seenT[tensor] {
					return fmt.Errorf("weight_map: duplicate tensor %q", tensor)
				}
				seenT[tensor] = true
				var shard string
				if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &shard) != nil {
					return fmt.Errorf("weight_map: tensor %q: shard is %s, want a file name", tensor, truncate(v))
				}
				if err := checkShardName(shard); err != nil {
					return fmt.Errorf("weight_map: tensor %q: %w", tensor, err)
				}
				idx.weightMap = append(idx.weightMap, struct{ tensor, shard string }{tensor, shard})
				if !seenS[shard] {
					seenS[shard] = true
					idx.shards = append(idx.shards, shard)
				}
				return nil
			})
		}
		return nil // other keys are ignored, as the reference loaders do
	})
	if err != nil {
		return nil, err
	}
	if !haveMap {
		return nil, errors.New(`no "weight_map"`)
	}
	if len(idx.shards) == 0 {
		return nil, errors.New(`"weight_map" is empty`)
	}
	return idx, nil
}

// checkShardName rejects shard names that could reach outside the index's
// directory (a hostile index must not make us open arbitrary files).
func checkShardName(name string) error {
	switch {
	case name == "", name == ".", name == "..":
		return fmt.Errorf("shard name %q is not a file name", name)
	case strings.ContainsAny(name, "/\\\x00"), strings.Contains(name, ".."), filepath.IsAbs(name), filepath.VolumeName(name) != "":
		return fmt.Errorf("shard name %q must be a plain file name in the index's directory", name)
	}
	return nil
}

// OpenDir opens the safetensors checkpoint in dir: model.safetensors if
// present, else the shards named by model.safetensors.index.json, else
// Mistral's native consolidated.safetensors. (Some repositories ship both
// layouts; a caller that wants the native one should OpenSet its path.)
func OpenDir(dir string) (*Set, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	if p := filepath.Join(dir, SingleFileName); exists(p) {
		return OpenSet(p)
	}
	if p := filepath.Join(dir, IndexFileName); exists(p) {
		return OpenIndex(p)
	}
	if p := filepath.Join(dir, ConsolidatedName); exists(p) {
		return OpenSet(p)
	}
	return nil, fmt.Errorf("%s: no safetensors checkpoint (looked for %s, %s and %s)", dir, SingleFileName, IndexFileName, ConsolidatedName)
}

// exists reports whether something is at p (a broken entry still counts, so
// that Open reports why it cannot be used instead of it being skipped).
func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// Tensor returns the tensor called name from whichever file holds it.
func (s *Set) Tensor(name string) (*Tensor, bool) {
	t, ok := s.tensors[name]
	return t, ok
}

// Names returns every tensor name: file by file in the order the files were
// opened, each file's by data offset.
func (s *Set) Names() []string { return append([]string(nil), s.order...) }

// Files returns the files of the set in the order they were opened.
func (s *Set) Files() []*File { return append([]*File(nil), s.files...) }

// Size returns the total size of the files in bytes.
func (s *Set) Size() int64 {
	var n int64
	for _, f := range s.files {
		n += f.Size()
	}
	return n
}

// Close closes every file, returning the first error. Calling it again does
// nothing.
func (s *Set) Close() error {
	var first error
	for _, f := range s.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
