package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"
)

// Format constants (ggml/include/gguf.h).
const (
	// Magic is the first four bytes of every GGUF file.
	Magic = "GGUF"
	// DefaultAlignment is the data alignment when general.alignment is
	// absent.
	DefaultAlignment = 32
	// MaxDims is the most dimensions a tensor may have (GGML_MAX_DIMS).
	MaxDims = 4
	// MaxNameLen is the longest tensor name in bytes: ggml keeps names in
	// a 64-byte buffer with a terminating NUL (GGML_MAX_NAME).
	MaxNameLen = 63
	// MaxKVs and MaxTensors bound the counts in a header. Real files have
	// tens of keys and at most a few thousand tensors; the bounds keep a
	// corrupt count in a large file from making us allocate without limit
	// for entries that merely fit in the file.
	MaxKVs     = 1 << 20
	MaxTensors = 1 << 20
)

// KeyAlignment is the metadata key holding the data alignment.
const KeyAlignment = "general.alignment"

// Keys of split files (llama.cpp's gguf-split): every part carries them.
const (
	KeySplitNo           = "split.no"            // UINT16, 0-based part index
	KeySplitCount        = "split.count"         // UINT16, number of parts
	KeySplitTensorsCount = "split.tensors.count" // INT32, tensors in all parts
)

// Minimal encodings, for bounding counts before reading: a KV is at least a
// key length, a type and a one-byte value; a tensor info at least a name
// length, n_dims, type and offset.
const (
	minKVBytes     = 8 + 4 + 1
	minTensorBytes = 8 + 4 + 4 + 8
)

// part is one parsed and validated GGUF file.
type part struct {
	name      string // path or FromBytes name: the prefix of its errors
	data      []byte // the whole file
	unmap     func([]byte) error
	version   uint32
	alignment int64
	dataStart int64 // absolute offset of the data section
	kvs       []KV
	keys      map[string]int
	tensors   []TensorInfo // Offset relative to dataStart
}

// reader walks the header with bounds checks; every read past the end is
// an error saying what was being read.
type reader struct {
	name string
	b    []byte
	pos  int64
}

// errorf formats an error about the file: "NAME: what".
func (r *reader) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: %s", r.name, fmt.Sprintf(format, args...))
}

func (r *reader) left() int64 { return int64(len(r.b)) - r.pos }

// what describes the field being read, for errors. It is a function so
// that the description is only formatted when an error needs it: parsing a
// 128k-token vocabulary must not format 128k messages.
type what func() string

// label returns a what for a fixed description.
func label(s string) what { return func() string { return s } }

// take returns the next n bytes, or an error naming what.
func (r *reader) take(n int64, w what) ([]byte, error) {
	if n < 0 || n > r.left() {
		return nil, r.errorf("truncated: %s needs %d bytes at offset %d, the file has %d left", w(), n, r.pos, r.left())
	}
	b := r.b[r.pos : r.pos+n : r.pos+n]
	r.pos += n
	return b, nil
}

func (r *reader) u32(w what) (uint32, error) {
	b, err := r.take(4, w)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (r *reader) u64(w what) (uint64, error) {
	b, err := r.take(8, w)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// str reads a string: a uint64 length, then the bytes (a view). The length
// is checked against what is left before anything is sliced or allocated.
func (r *reader) str(w what) ([]byte, error) {
	at := r.pos
	n, err := r.u64(func() string { return w() + " length" })
	if err != nil {
		return nil, err
	}
	if n > uint64(r.left()) {
		return nil, r.errorf("%s at offset %d is %d bytes long, past the end of the file (%d bytes left)", w(), at, n, r.left())
	}
	return r.take(int64(n), w)
}

// parse validates a whole GGUF file held in data.
func parse(name string, data []byte) (*part, error) {
	r := &reader{name: name, b: data}
	if len(data) == 0 {
		return nil, r.errorf("empty file (0 bytes), not a GGUF file")
	}
	if len(data) < 4 || string(data[:4]) != Magic {
		n := min(len(data), 4)
		return nil, r.errorf("not a GGUF file (starts with %q, want %q)", data[:n], Magic)
	}
	r.pos = 4
	version, err := r.u32(label("version"))
	if err != nil {
		return nil, err
	}
	switch {
	case version == 1:
		return nil, r.errorf("GGUF version 1 is not supported (only 2 and 3; convert the model again with a current llama.cpp)")
	case version&0xFFFF == 0 && version != 0 && bits.ReverseBytes32(version) <= 3:
		// A big-endian writer (gguf-py can produce them) stores 3 as
		// 00 00 00 03, which reads as 50331648 here.
		return nil, r.errorf("big-endian GGUF file (version bytes %x), only little-endian files are supported", data[4:8])
	case version == 0 || version > 3:
		return nil, r.errorf("GGUF version %d is not supported (only 2 and 3)", version)
	}
	p := &part{name: name, data: data, version: version, alignment: DefaultAlignment}
	nt, err := r.u64(label("tensor count"))
	if err != nil {
		return nil, err
	}
	nkv, err := r.u64(label("metadata count"))
	if err != nil {
		return nil, err
	}
	// Both counts are int64 in gguf.h; a value with the top bit set is
	// negative there and absurd here. Bounding them by what the rest of the
	// file could hold rejects a corrupt count before any loop or slice.
	switch {
	case nt > MaxTensors:
		return nil, r.errorf("tensor count %d exceeds the limit of %d", nt, MaxTensors)
	case nkv > MaxKVs:
		return nil, r.errorf("metadata count %d exceeds the limit of %d", nkv, MaxKVs)
	case nkv*minKVBytes+nt*minTensorBytes > uint64(r.left()):
		return nil, r.errorf("truncated: %d metadata entries and %d tensor infos need at least %d bytes, the file has %d left",
			nkv, nt, nkv*minKVBytes+nt*minTensorBytes, r.left())
	}
	// Capacity hints are capped: the counts are only plausible so far, and
	// the entries themselves will show whether they are real.
	p.keys = make(map[string]int, min(nkv, 1024))
	p.kvs = make([]KV, 0, min(nkv, 1024))
	for i := range nkv {
		kv, err := readKV(r, i, nkv)
		if err != nil {
			return nil, err
		}
		if _, dup := p.keys[kv.Key]; dup {
			return nil, r.errorf("duplicate metadata key %q", kv.Key)
		}
		p.keys[kv.Key] = len(p.kvs)
		p.kvs = append(p.kvs, kv)
	}
	if i, ok := p.keys[KeyAlignment]; ok {
		a, err := p.kvs[i].Value.AsUint()
		if err != nil {
			return nil, r.errorf("key %q %s", KeyAlignment, err)
		}
		if a == 0 || a&(a-1) != 0 || a > math.MaxUint32 {
			return nil, r.errorf("key %q is %d, want a power of 2 that fits a UINT32", KeyAlignment, a)
		}
		p.alignment = int64(a)
	}
	p.tensors = make([]TensorInfo, 0, min(nt, 1024))
	names := make(map[string]bool, min(nt, 1024))
	for i := range nt {
		ti, err := readTensorInfo(r, i, nt, p.alignment)
		if err != nil {
			return nil, err
		}
		if names[ti.Name] {
			return nil, r.errorf("duplicate tensor name %q", ti.Name)
		}
		names[ti.Name] = true
		p.tensors = append(p.tensors, ti)
	}
	// The data section starts at the next multiple of the alignment. A file
	// without tensor data may end before the padding.
	p.dataStart = (r.pos + p.alignment - 1) &^ (p.alignment - 1)
	dataSize := max(int64(len(data))-p.dataStart, 0)
	if err := checkLayout(r, p.tensors, dataSize, p.dataStart); err != nil {
		return nil, err
	}
	return p, nil
}

// readKV reads metadata entry i of n.
func readKV(r *reader, i, n uint64) (KV, error) {
	key, err := r.str(func() string { return fmt.Sprintf("the key of metadata entry %d of %d", i+1, n) })
	if err != nil {
		return KV{}, err
	}
	k := string(key)
	t, err := r.u32(func() string { return fmt.Sprintf("the value type of key %q", k) })
	if err != nil {
		return KV{}, err
	}
	v, err := readValue(r, k, ValueType(t))
	if err != nil {
		return KV{}, err
	}
	return KV{Key: k, Value: v}, nil
}

// readValue reads the value of key after its type id t.
func readValue(r *reader, key string, t ValueType) (Value, error) {
	w := func() string { return fmt.Sprintf("the value of key %q", key) }
	switch {
	case !t.valid():
		return Value{}, r.errorf("key %q has unknown value type %d", key, uint32(t))
	case t == TypeString:
		s, err := r.str(w)
		return Value{typ: t, raw: s}, err
	case t != TypeArray:
		b, err := r.take(int64(t.size()), w)
		return Value{typ: t, raw: b}, err
	}
	et, err := r.u32(func() string { return fmt.Sprintf("the element type of key %q", key) })
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	switch {
	case elem == TypeArray:
		return Value{}, r.errorf("key %q is an array of arrays, which GGUF does not allow", key)
	case !elem.valid():
		return Value{}, r.errorf("key %q is an array of unknown value type %d", key, et)
	}
	at := r.pos
	n, err := r.u64(func() string { return fmt.Sprintf("the length of array %q", key) })
	if err != nil {
		return Value{}, err
	}
	// Every element takes at least one byte (eight for a string's length),
	// so a count beyond what is left is corrupt whatever the elements hold.
	minSize := uint64(elem.size())
	if elem == TypeString {
		minSize = 8
	}
	if n > uint64(r.left())/minSize {
		return Value{}, r.errorf("array %q at offset %d has %d %s elements, more than the %d bytes left in the file can hold",
			key, at, n, elem, r.left())
	}
	start := r.pos
	if elem != TypeString {
		if _, err := r.take(int64(n*minSize), w); err != nil {
			return Value{}, err
		}
	} else {
		for j := range n {
			if _, err := r.str(func() string { return fmt.Sprintf("element %d of array %q", j, key) }); err != nil {
				return Value{}, err
			}
		}
	}
	return Value{typ: TypeArray, elem: elem, n: int(n), raw: r.b[start:r.pos:r.pos]}, nil
}

// readTensorInfo reads tensor info i of n and checks it on its own; the
// layout of all tensors together is checkLayout's.
func readTensorInfo(r *reader, i, n uint64, alignment int64) (TensorInfo, error) {
	name, err := r.str(func() string { return fmt.Sprintf("the name of tensor %d of %d", i+1, n) })
	if err != nil {
		return TensorInfo{}, err
	}
	ti := TensorInfo{Name: string(name)}
	if len(name) > MaxNameLen {
		return ti, r.errorf("tensor %d name %q is %d bytes, longer than the %d ggml allows", i+1, quoteShort(ti.Name), len(name), MaxNameLen)
	}
	terr := func(format string, args ...any) error {
		return r.errorf("tensor %q: %s", ti.Name, fmt.Sprintf(format, args...))
	}
	nd, err := r.u32(func() string { return fmt.Sprintf("the dimension count of tensor %q", ti.Name) })
	if err != nil {
		return ti, err
	}
	if nd > MaxDims {
		return ti, terr("%d dimensions, at most %d allowed", nd, MaxDims)
	}
	ti.Dims = make([]int64, nd)
	for d := range ti.Dims {
		x, err := r.u64(func() string { return fmt.Sprintf("dimension %d of tensor %q", d, ti.Name) })
		if err != nil {
			return ti, err
		}
		if x > math.MaxInt64 {
			return ti, terr("dimension %d is negative (%d)", d, int64(x))
		}
		ti.Dims[d] = int64(x)
	}
	t, err := r.u32(func() string { return fmt.Sprintf("the type of tensor %q", ti.Name) })
	if err != nil {
		return ti, err
	}
	ti.Type = GGMLType(t)
	off, err := r.u64(func() string { return fmt.Sprintf("the data offset of tensor %q", ti.Name) })
	if err != nil {
		return ti, err
	}
	if !ti.Type.Known() {
		return ti, terr("unknown ggml type %d", t)
	}
	size, err := tensorBytes(ti.Type, ti.Dims)
	if err != nil {
		return ti, terr("%s", err)
	}
	ti.Size = size
	if off > math.MaxInt64 {
		return ti, terr("data offset %d is too large", off)
	}
	ti.Offset = int64(off)
	if ti.Offset%alignment != 0 {
		return ti, terr("data offset %d is not a multiple of the alignment %d", off, alignment)
	}
	return ti, nil
}

// errTooLarge is returned by tensorBytes for sizes past int64.
var errTooLarge = errors.New("too large")

// tensorBytes returns the byte size of a tensor of type t with dims ne,
// checking that ne[0] is a whole number of blocks and that nothing
// overflows an int64.
func tensorBytes(t GGMLType, ne []int64) (int64, error) {
	tr, ok := t.Traits()
	if !ok {
		return 0, fmt.Errorf("unknown ggml type %d", uint32(t))
	}
	if len(ne) > MaxDims {
		return 0, fmt.Errorf("%d dimensions, at most %d allowed", len(ne), MaxDims)
	}
	elems := uint64(1)
	for d, x := range ne {
		if x < 0 {
			return 0, fmt.Errorf("dimension %d is negative (%d)", d, x)
		}
		hi, lo := bits.Mul64(elems, uint64(x))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("dimensions %v hold more than 2^63 elements", ne)
		}
		elems = lo
	}
	ne0 := int64(1)
	if len(ne) > 0 {
		ne0 = ne[0]
	}
	if ne0%tr.BlockElems != 0 {
		return 0, fmt.Errorf("first dimension %d is not a multiple of %s's block of %d elements", ne0, tr.Name, tr.BlockElems)
	}
	// Size = elements / block elements * block bytes; elems is a multiple
	// of the block since ne[0] is.
	hi, lo := bits.Mul64(elems/uint64(tr.BlockElems), uint64(tr.BlockBytes))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, fmt.Errorf("dimensions %v of %s take more than 2^63 bytes", ne, tr.Name)
	}
	return int64(lo), nil
}

// checkLayout checks that every tensor lies inside a data section of
// dataSize bytes and that no two overlap. (llama.cpp's reader demands
// more: tensors back to back in declaration order, each padded to the
// alignment. Gaps and another order waste nothing we read, so they are
// accepted.)
func checkLayout(r *reader, ts []TensorInfo, dataSize, dataStart int64) error {
	for _, t := range ts {
		if t.Offset > dataSize || t.Size > dataSize-t.Offset {
			return r.errorf("tensor %q: %d bytes at data offset %d run past the end of the data section (%d bytes from offset %d; truncated file?)",
				t.Name, t.Size, t.Offset, dataSize, dataStart)
		}
	}
	idx := make([]int, 0, len(ts))
	for i := range ts {
		if ts[i].Size > 0 { // empty tensors occupy nothing
			idx = append(idx, i)
		}
	}
	sort.Slice(idx, func(a, b int) bool { return ts[idx[a]].Offset < ts[idx[b]].Offset })
	for k := 1; k < len(idx); k++ {
		prev, cur := &ts[idx[k-1]], &ts[idx[k]]
		if cur.Offset < prev.Offset+prev.Size {
			return r.errorf("tensor %q at data offset %d overlaps tensor %q (%d bytes at %d)",
				cur.Name, cur.Offset, prev.Name, prev.Size, prev.Offset)
		}
	}
	return nil
}
