// Package safetensors reads and writes the safetensors checkpoint format:
// an 8-byte little-endian header length N, N bytes of JSON describing each
// tensor (dtype, shape, data_offsets relative to the data section) plus an
// optional "__metadata__" string map, then the raw little-endian data.
//
// Files are memory-mapped read-only and tensors are views into the mapping,
// so opening a 14 GB checkpoint costs no copying and the page cache is shared
// between processes. Every header field is validated before any tensor byte
// is touched: a truncated or corrupt file is an error naming the file and the
// tensor, never a SIGBUS or a panic. (Only a file shrunk by another process
// while mapped can still fault on access; no reader short of copying
// everything can prevent that.)
//
// This package imports nothing else from gale.
package safetensors

import (
	"bytes"
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/gale-ai/gale/internal/mmap"
)

// Tensor is one tensor of a file. Data is a view into the file's mapping (or
// into the caller's buffer for FromBytes): it must not be written to, and it
// becomes invalid once the File is closed.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte // len(Data) == NumElements() * DType.Size()
	File  string // path (or FromBytes name) of the file holding the tensor
	// Offset is the absolute byte offset of Data within the file.
	Offset int64
}

// NumElements returns the product of the shape (1 for a scalar).
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Aligned reports whether Data starts at an address that is a multiple of
// the element size, so that it may be reinterpreted as a []uint16, []float32,
// ... in place. Writers that order tensors by decreasing element size (as the
// reference implementation and ours do for typical checkpoints) produce
// aligned tensors, but the format does not require it; callers must copy
// when this is false. Empty tensors are always aligned.
func (t *Tensor) Aligned() bool {
	if len(t.Data) == 0 {
		return true
	}
	sz := uintptr(t.DType.Size())
	return sz != 0 && uintptr(unsafe.Pointer(&t.Data[0]))%sz == 0
}

// String describes the tensor for messages, e.g.
// `"lm_head.weight" BF16 [256 64]`.
func (t *Tensor) String() string {
	return fmt.Sprintf("%q %s %v", t.Name, t.DType, t.Shape)
}

// File is one open safetensors file.
type File struct {
	// Path is the path given to Open (or the name given to FromBytes); it
	// prefixes every error about this file.
	Path string
	// Metadata is the header's "__metadata__" map (empty when absent).
	Metadata map[string]string

	size    int64
	data    []byte // the whole file: the mapping, or the FromBytes buffer
	unmap   func([]byte) error
	tensors map[string]*Tensor
	order   []string // by data offset

	mu     sync.Mutex
	closed bool
}

// Open memory-maps the safetensors file at path read-only and validates its
// header. Close the File when its tensors are no longer used.
func Open(path string) (*File, error) {
	fd, size, err := mmap.OpenRegular(path, "safetensors", "safetensors")
	if err != nil {
		return nil, err
	}
	defer fd.Close() // a mapping stays valid after its descriptor is closed
	hdr, err := readHeader(path, size, fd)
	if err != nil {
		return nil, err
	}
	if uint64(size) > math.MaxInt {
		return nil, fmt.Errorf("%s: %d bytes is too large to map on this platform", path, size)
	}
	data, unmap, err := mmap.Map(fd, int(size))
	if err != nil {
		return nil, fmt.Errorf("%s: mapping %d bytes: %w", path, size, err)
	}
	return newFile(path, size, data, unmap, hdr), nil
}

// FromBytes validates data as a complete safetensors file and returns a File
// whose tensors are views into data (no copy is made; data must stay
// unmodified while the File is used). name is used as the File's Path in
// error messages. It serves checkpoints compiled into the binary.
func FromBytes(name string, data []byte) (*File, error) {
	hdr, err := readHeader(name, int64(len(data)), bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return newFile(name, int64(len(data)), data, nil, hdr), nil
}

// newFile builds the tensor views of a validated header over data.
func newFile(name string, size int64, data []byte, unmap func([]byte) error, hdr *header) *File {
	f := &File{
		Path:     name,
		Metadata: hdr.metadata,
		size:     size,
		data:     data,
		unmap:    unmap,
		tensors:  make(map[string]*Tensor, len(hdr.entries)),
		order:    make([]string, 0, len(hdr.entries)),
	}
	for _, e := range hdr.entries {
		b, end := hdr.dataStart+e.begin, hdr.dataStart+e.end
		f.tensors[e.name] = &Tensor{
			Name:   e.name,
			DType:  e.dtype,
			Shape:  e.shape,
			Data:   data[b:end:end],
			File:   name,
			Offset: b,
		}
		f.order = append(f.order, e.name)
	}
	return f
}

// Tensor returns the tensor called name.
func (f *File) Tensor(name string) (*Tensor, bool) {
	t, ok := f.tensors[name]
	return t, ok
}

// Names returns the tensor names ordered by their position in the file.
func (f *File) Names() []string {
	return append([]string(nil), f.order...)
}

// Len returns the number of tensors.
func (f *File) Len() int { return len(f.order) }

// Size returns the size of the file in bytes.
func (f *File) Size() int64 { return f.size }

// Close unmaps the file. Tensor data of this file must not be used
// afterwards (it would fault). Calling Close again does nothing.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	data := f.data
	f.data = nil
	if f.unmap == nil {
		return nil
	}
	if err := f.unmap(data); err != nil {
		return fmt.Errorf("%s: unmapping: %w", f.Path, err)
	}
	return nil
}
