// Package gguf reads and writes GGUF files, llama.cpp's model format
// (versions 2 and 3): a little-endian header (magic, version, tensor and
// metadata counts), typed key/value metadata, tensor infos (name, ggml
// type, dimensions, offset), then the tensor data, each tensor aligned to
// general.alignment (default 32) from the start of the data section.
//
// Files are memory-mapped read-only and tensor data are views of the
// mapping, as with internal/safetensors. Everything in the header is
// validated before any tensor byte is touched: counts, string and array
// lengths against the bytes left, value and ggml types, dimensions (count,
// overflow, whole blocks), offsets (alignment, inside the data section, no
// overlaps), duplicate keys and names. A bad file is a one-line error
// "FILE: what is wrong", never a panic, a fault or an allocation sized by a
// corrupt field.
//
// Models split by gguf-split (name-00001-of-00003.gguf) open from their
// first part; the File then spans all parts.
//
// Dimensions are kept in GGUF's order, ne[0] first: ne[0] is the innermost,
// contiguous dimension, so a PyTorch [out, in] weight has Dims {in, out}.
// TensorInfo.Shape gives the row-major order.
//
// This package imports nothing of gale's but internal/mmap.
package gguf

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"

	"github.com/gale-ai/gale/internal/mmap"
)

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name string
	Type GGMLType
	// Dims is ne in GGUF order: Dims[0] is the contiguous dimension.
	Dims []int64
	// Offset is the tensor's position relative to the start of its part's
	// data section, as stored in the file.
	Offset int64
	// Size is the tensor's byte size.
	Size int64
	// Part is the index of the split file holding the tensor (0 for a file
	// that is not split).
	Part int
}

// Shape returns the dimensions in row-major order (Dims reversed): [out,
// in] for a weight matrix, [rows, cols] with cols contiguous.
func (t *TensorInfo) Shape() []int64 {
	s := slices.Clone(t.Dims)
	slices.Reverse(s)
	return s
}

// Elements returns the number of elements (1 for no dimensions).
func (t *TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Dims {
		n *= d // cannot overflow: checked when the file was read
	}
	return n
}

// RowBytes returns the byte size of one row of Dims[0] elements.
func (t *TensorInfo) RowBytes() int64 {
	tr, _ := t.Type.Traits()
	ne0 := int64(1)
	if len(t.Dims) > 0 {
		ne0 = t.Dims[0]
	}
	return ne0 / tr.BlockElems * tr.BlockBytes
}

// String describes the tensor for messages, e.g.
// `"blk.0.attn_q.weight" Q4_K [256 256]` (Dims, GGUF order).
func (t *TensorInfo) String() string {
	return fmt.Sprintf("%q %s %v", t.Name, t.Type, t.Dims)
}

// Part describes one file of a (possibly split) model.
type Part struct {
	Path      string
	Version   uint32
	Size      int64 // file size in bytes
	Alignment int64
	DataStart int64 // absolute offset of the data section
}

// File is an open GGUF model: one file, or every part of a split model.
type File struct {
	// Path is the path given to Open (the first part of a split model) or
	// the name given to FromBytes; it prefixes errors about the model.
	Path string
	// Version is the format version of the (first) file: 2 or 3.
	Version uint32

	parts   []*part
	kvs     []KV // of the first part
	keys    map[string]int
	tensors []TensorInfo // part by part, each in declaration order
	byName  map[string]int

	mu     sync.Mutex
	closed bool
}

// Open maps the GGUF file at path read-only and validates it. If it is the
// first part of a split model (split.count > 1), the other parts are
// opened too, from the names gguf-split gives them
// (PREFIX-0000i-of-0000N.gguf next to it). Close the File when its tensor
// data are no longer used.
func Open(path string) (*File, error) {
	first, err := openPart(path)
	if err != nil {
		return nil, err
	}
	parts := []*part{first}
	count, no, err := splitKeys(first)
	if err != nil {
		closeParts(parts)
		return nil, err
	}
	if count > 1 || no > 0 {
		prefix, idx, n, ok := splitName(path)
		switch {
		case no != 0:
			closeParts(parts)
			if ok {
				return nil, fmt.Errorf("%s: part %d of a %d-part split model; open the first part, %s", path, no+1, count, splitPath(prefix, 1, n))
			}
			return nil, fmt.Errorf("%s: part %d of a %d-part split model; open the first part", path, no+1, count)
		case !ok:
			closeParts(parts)
			return nil, fmt.Errorf("%s: first part of a %d-part split model, but the name does not end in -00001-of-%05d.gguf, so the other parts cannot be found", path, count, count)
		case idx != 1 || n != int(count):
			closeParts(parts)
			return nil, fmt.Errorf("%s: the name says part %d of %d, the metadata says part 1 of %d", path, idx, n, count)
		}
		for i := 2; i <= int(count); i++ {
			p, err := openPart(splitPath(prefix, i, n))
			if err != nil {
				closeParts(parts)
				return nil, err
			}
			parts = append(parts, p)
		}
	}
	f, err := assemble(path, parts)
	if err != nil {
		closeParts(parts)
		return nil, err
	}
	return f, nil
}

// FromBytes validates data as a complete GGUF file and returns a File whose
// tensor data and metadata values are views into data (no copy; data must
// stay unmodified while the File is used). name prefixes errors. A part of
// a split model is refused: its other parts need Open.
func FromBytes(name string, data []byte) (*File, error) {
	p, err := parse(name, data)
	if err != nil {
		return nil, err
	}
	count, no, err := splitKeys(p)
	if err != nil {
		return nil, err
	}
	if count > 1 || no > 0 {
		return nil, fmt.Errorf("%s: part %d of a %d-part split model; open the parts from files", name, no+1, count)
	}
	return assemble(name, []*part{p})
}

// openPart maps and parses one file.
func openPart(path string) (*part, error) {
	fd, size, err := mmap.OpenRegular(path, "gguf", "GGUF")
	if err != nil {
		return nil, err
	}
	defer fd.Close() // the mapping outlives the descriptor
	if uint64(size) > math.MaxInt {
		return nil, fmt.Errorf("%s: %d bytes is too large to map on this platform", path, size)
	}
	data, unmap, err := mmap.Map(fd, int(size))
	if err != nil {
		return nil, fmt.Errorf("%s: mapping %d bytes: %w", path, size, err)
	}
	p, err := parse(path, data)
	if err != nil {
		if unmap != nil {
			unmap(data)
		}
		return nil, err
	}
	p.unmap = unmap
	return p, nil
}

// splitKeys returns a part's split.count and split.no (1 and 0 when
// absent).
func splitKeys(p *part) (count, no uint64, err error) {
	count, no = 1, 0
	if i, ok := p.keys[KeySplitCount]; ok {
		if count, err = p.kvs[i].Value.AsUint(); err != nil {
			return 0, 0, fmt.Errorf("%s: key %q %w", p.name, KeySplitCount, err)
		}
		if count == 0 || count > math.MaxUint16 {
			return 0, 0, fmt.Errorf("%s: key %q is %d, want 1 to %d", p.name, KeySplitCount, count, math.MaxUint16)
		}
	}
	if i, ok := p.keys[KeySplitNo]; ok {
		if no, err = p.kvs[i].Value.AsUint(); err != nil {
			return 0, 0, fmt.Errorf("%s: key %q %w", p.name, KeySplitNo, err)
		}
		if no >= count {
			return 0, 0, fmt.Errorf("%s: key %q is %d, but %q is %d", p.name, KeySplitNo, no, KeySplitCount, count)
		}
	}
	return count, no, nil
}

// splitRE matches gguf-split's names: PREFIX-%05d-of-%05d.gguf.
var splitRE = regexp.MustCompile(`^(.*)-([0-9]{5})-of-([0-9]{5})\.gguf$`)

// splitName parses a split part's path into its prefix, 1-based index and
// part count.
func splitName(path string) (prefix string, idx, n int, ok bool) {
	m := splitRE.FindStringSubmatch(path)
	if m == nil {
		return "", 0, 0, false
	}
	idx, _ = strconv.Atoi(m[2])
	n, _ = strconv.Atoi(m[3])
	return m[1], idx, n, true
}

// splitPath returns the path of part idx (1-based) of n.
func splitPath(prefix string, idx, n int) string {
	return fmt.Sprintf("%s-%05d-of-%05d.gguf", prefix, idx, n)
}

// SplitPath returns the path gguf-split gives part idx (1-based) of an
// n-part model: SplitPath("dir/m", 1, 3) = "dir/m-00001-of-00003.gguf".
func SplitPath(prefix string, idx, n int) string { return splitPath(prefix, idx, n) }

// assemble joins validated parts into one File, checking the split keys of
// every part and that tensor names are unique across parts.
func assemble(name string, parts []*part) (*File, error) {
	f := &File{
		Path:    name,
		Version: parts[0].version,
		parts:   parts,
		kvs:     parts[0].kvs,
		keys:    parts[0].keys,
		byName:  map[string]int{},
	}
	for i, p := range parts {
		if i > 0 {
			count, no, err := splitKeys(p)
			if err != nil {
				return nil, err
			}
			if count != uint64(len(parts)) || no != uint64(i) {
				return nil, fmt.Errorf("%s: metadata says part %d of %d, expected part %d of %d of %s",
					p.name, no+1, count, i+1, len(parts), filepath.Base(name))
			}
		}
		for _, t := range p.tensors {
			if j, dup := f.byName[t.Name]; dup {
				return nil, fmt.Errorf("%s: tensor %q is also in %s", p.name, t.Name, parts[f.tensors[j].Part].name)
			}
			t.Part = i
			f.byName[t.Name] = len(f.tensors)
			f.tensors = append(f.tensors, t)
		}
	}
	if len(parts) > 1 {
		if n, ok, err := f.Uint(KeySplitTensorsCount); err != nil {
			return nil, err
		} else if ok && n != uint64(len(f.tensors)) {
			return nil, fmt.Errorf("%s: key %q is %d, but the %d parts hold %d tensors", name, KeySplitTensorsCount, n, len(parts), len(f.tensors))
		}
	}
	return f, nil
}

func closeParts(parts []*part) error {
	var errs []error
	for _, p := range parts {
		if p.unmap != nil {
			if err := p.unmap(p.data); err != nil {
				errs = append(errs, fmt.Errorf("%s: unmapping: %w", p.name, err))
			}
			p.unmap = nil
		}
		p.data = nil
	}
	return errors.Join(errs...)
}

// Close unmaps every part. Tensor data and metadata values of the File must
// not be used afterwards. Calling Close again does nothing.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	return closeParts(f.parts)
}

// Parts describes the files of the model, in order (one for a model that
// is not split).
func (f *File) Parts() []Part {
	out := make([]Part, len(f.parts))
	for i, p := range f.parts {
		out[i] = Part{Path: p.name, Version: p.version, Size: int64(len(p.data)), Alignment: p.alignment, DataStart: p.dataStart}
	}
	return out
}

// Alignment returns the data alignment of the (first) file.
func (f *File) Alignment() int64 { return f.parts[0].alignment }

// KVs returns the metadata of the (first) file in file order. For a split
// model that is all of it: the other parts carry only their split.* keys.
func (f *File) KVs() []KV { return slices.Clone(f.kvs) }

// Get returns the value of key.
func (f *File) Get(key string) (Value, bool) {
	i, ok := f.keys[key]
	if !ok {
		return Value{}, false
	}
	return f.kvs[i].Value, true
}

// get decodes key with as. found reports whether the key is present; err
// whether it is present with a type as cannot decode.
func get[T any](f *File, key string, as func(Value) (T, error)) (v T, found bool, err error) {
	val, ok := f.Get(key)
	if !ok {
		return v, false, nil
	}
	if v, err = as(val); err != nil {
		return v, true, fmt.Errorf("%s: key %q %w", f.Path, key, err)
	}
	return v, true, nil
}

// The typed getters below return the value of key decoded as their type,
// with found = false (and no error) when the key is absent, and an error
// "FILE: key "K" is STRING, want ..." when it holds another type. Integer
// getters accept any integer type whose value fits (llama.cpp writes
// counts as UINT32, other writers may not).

// String returns a STRING value.
func (f *File) String(key string) (string, bool, error) { return get(f, key, Value.AsString) }

// Uint returns a non-negative integer value of any integer type.
func (f *File) Uint(key string) (uint64, bool, error) { return get(f, key, Value.AsUint) }

// Int returns an integer value of any integer type that fits an int64.
func (f *File) Int(key string) (int64, bool, error) { return get(f, key, Value.AsInt) }

// Float returns a FLOAT32 or FLOAT64 value (or an integer, converted).
func (f *File) Float(key string) (float64, bool, error) { return get(f, key, Value.AsFloat) }

// Bool returns a BOOL value.
func (f *File) Bool(key string) (bool, bool, error) { return get(f, key, Value.AsBool) }

// Strings returns an ARRAY[STRING] value (copied).
func (f *File) Strings(key string) ([]string, bool, error) { return get(f, key, Value.AsStrings) }

// Float32s returns an array of FLOAT32 (or FLOAT64) values.
func (f *File) Float32s(key string) ([]float32, bool, error) {
	return get(f, key, Value.AsFloat32s)
}

// Int32s returns an array of integers that all fit an int32.
func (f *File) Int32s(key string) ([]int32, bool, error) { return get(f, key, Value.AsInt32s) }

// Tensors returns the tensor infos, part by part, each part in its
// declaration order (which is not alphabetical, nor the same for every
// writer: look tensors up by name).
func (f *File) Tensors() []TensorInfo {
	out := slices.Clone(f.tensors)
	for i := range out {
		out[i].Dims = slices.Clone(out[i].Dims)
	}
	return out
}

// Tensor returns the info of the tensor called name.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	t := f.tensors[i]
	t.Dims = slices.Clone(t.Dims)
	return t, true
}

// TensorData returns the bytes of the tensor called name: a read-only view
// of the mapping (do not write to it), valid until Close. A tensor of a
// type gale does not compute with (IQ*, TQ*, ...) is an error, though the
// file itself is readable.
func (f *File) TensorData(name string) ([]byte, error) {
	i, ok := f.byName[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", f.Path, name)
	}
	t := &f.tensors[i]
	if !t.Type.Supported() {
		return nil, fmt.Errorf("%s: tensor %q: type %s is not supported by gale", f.Path, name, t.Type)
	}
	return f.RawData(t)
}

// RawData returns the bytes of t (a TensorInfo of this File) whatever its
// type, for tools that copy tensors without computing with them.
func (f *File) RawData(t *TensorInfo) ([]byte, error) {
	f.mu.Lock()
	closed := f.closed
	f.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("%s: file is closed", f.Path)
	}
	if t.Part < 0 || t.Part >= len(f.parts) {
		return nil, fmt.Errorf("%s: tensor %q: no part %d", f.Path, t.Name, t.Part)
	}
	if j, ok := f.byName[t.Name]; !ok || f.tensors[j].Offset != t.Offset || f.tensors[j].Size != t.Size || f.tensors[j].Part != t.Part {
		return nil, fmt.Errorf("%s: tensor %q is not one of this file's", f.Path, t.Name)
	}
	p := f.parts[t.Part]
	if t.Size == 0 {
		return []byte{}, nil
	}
	b := p.dataStart + t.Offset
	return p.data[b : b+t.Size : b+t.Size], nil
}
