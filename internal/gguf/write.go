package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// Writer streams a GGUF v3 file: NewWriter writes the header, metadata and
// tensor infos at once, then the tensors' data are written in declaration
// order through Write or WriteTensor, each padded with zeros to the
// alignment. Only the header is ever held in memory, so a model of any size
// can be written tensor by tensor (or chunk by chunk).
//
// The layout is llama.cpp's (gguf.cpp and gguf-py's writer): metadata in
// the given order, tensor infos in the given order with offsets back to
// back, data section at the next multiple of the alignment. Given the same
// metadata and tensors, the output is byte for byte the file they write.
type Writer struct {
	w         io.Writer
	tensors   []TensorInfo
	alignment int64
	cur       int   // tensor whose bytes are being written
	done      int64 // bytes of tensors[cur] written so far
	err       error // sticky: the first write error
}

// zeros is the padding source; alignments larger than it are padded in
// several writes.
var zeros [4096]byte

// NewWriter validates kvs and tensors and writes the file's header to w.
// The alignment is general.alignment when kvs holds it, else 32. Of each
// TensorInfo, Name, Type and Dims (GGUF order, ne[0] first) are used; the
// writer assigns Offset, and Size, when nonzero, must equal the size Type
// and Dims give (a check for callers who computed it). Part is ignored.
func NewWriter(w io.Writer, kvs []KV, tensors []TensorInfo) (*Writer, error) {
	wr := &Writer{w: w, alignment: DefaultAlignment}
	hdr, err := wr.header(kvs, tensors)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(hdr); err != nil {
		return nil, fmt.Errorf("gguf: writing header: %w", err)
	}
	wr.skipEmpty()
	return wr, nil
}

// header validates the declaration and encodes everything up to the data
// section, padding included.
func (wr *Writer) header(kvs []KV, tensors []TensorInfo) ([]byte, error) {
	b := []byte(Magic)
	b = binary.LittleEndian.AppendUint32(b, 3)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(tensors)))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(kvs)))
	seen := make(map[string]bool, len(kvs))
	for _, kv := range kvs {
		if seen[kv.Key] {
			return nil, fmt.Errorf("gguf: duplicate metadata key %q", kv.Key)
		}
		seen[kv.Key] = true
		if err := kv.Value.check(); err != nil {
			return nil, fmt.Errorf("gguf: key %q: %w", kv.Key, err)
		}
		if kv.Key == KeyAlignment {
			// Readers are lenient about the type, but llama.cpp's
			// asserts UINT32: a file we write must load there.
			if kv.Value.Type() != TypeUint32 {
				return nil, fmt.Errorf("gguf: key %q is %s, want UINT32", kv.Key, kv.Value.typeName())
			}
			a, _ := kv.Value.AsUint()
			if a == 0 || a&(a-1) != 0 || a > math.MaxUint32 {
				return nil, fmt.Errorf("gguf: key %q is %d, want a power of 2 that fits a UINT32", kv.Key, a)
			}
			wr.alignment = int64(a)
		}
		b = binary.LittleEndian.AppendUint64(b, uint64(len(kv.Key)))
		b = append(b, kv.Key...)
		b = kv.Value.appendTo(b)
	}
	names := make(map[string]bool, len(tensors))
	wr.tensors = make([]TensorInfo, len(tensors))
	var off int64
	for i, t := range tensors {
		switch {
		case names[t.Name]:
			return nil, fmt.Errorf("gguf: duplicate tensor %q", t.Name)
		case len(t.Name) > MaxNameLen:
			return nil, fmt.Errorf("gguf: tensor name %q is %d bytes, longer than the %d ggml allows", t.Name, len(t.Name), MaxNameLen)
		}
		names[t.Name] = true
		size, err := tensorBytes(t.Type, t.Dims)
		if err != nil {
			return nil, fmt.Errorf("gguf: tensor %q: %w", t.Name, err)
		}
		if t.Size != 0 && t.Size != size {
			return nil, fmt.Errorf("gguf: tensor %q: Size %d, but %s %v takes %d bytes", t.Name, t.Size, t.Type, t.Dims, size)
		}
		padded := size + (wr.alignment-size%wr.alignment)%wr.alignment
		if padded < size || off > math.MaxInt64-padded {
			return nil, errors.New("gguf: tensors too large")
		}
		wr.tensors[i] = TensorInfo{Name: t.Name, Type: t.Type, Dims: append([]int64(nil), t.Dims...), Offset: off, Size: size}
		off += padded
		b = binary.LittleEndian.AppendUint64(b, uint64(len(t.Name)))
		b = append(b, t.Name...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(t.Dims)))
		for _, d := range t.Dims {
			b = binary.LittleEndian.AppendUint64(b, uint64(d))
		}
		b = binary.LittleEndian.AppendUint32(b, uint32(t.Type))
		b = binary.LittleEndian.AppendUint64(b, uint64(wr.tensors[i].Offset))
	}
	for int64(len(b))%wr.alignment != 0 {
		b = append(b, 0)
	}
	return b, nil
}

// Tensors returns the declared tensors with the offsets and sizes the
// writer assigned.
func (wr *Writer) Tensors() []TensorInfo {
	out := make([]TensorInfo, len(wr.tensors))
	for i, t := range wr.tensors {
		t.Dims = append([]int64(nil), t.Dims...)
		out[i] = t
	}
	return out
}

// skipEmpty moves past tensors of zero bytes, which have nothing to write.
func (wr *Writer) skipEmpty() {
	for wr.cur < len(wr.tensors) && wr.tensors[wr.cur].Size == 0 {
		wr.cur++
	}
}

// Write appends p to the tensor data: the bytes of the tensors in
// declaration order, without padding (the writer inserts it). p may span
// several tensors or part of one. Writing more than the declared tensors
// hold is an error.
func (wr *Writer) Write(p []byte) (int, error) {
	if wr.err != nil {
		return 0, wr.err
	}
	n := 0
	for len(p) > 0 {
		if wr.cur >= len(wr.tensors) {
			wr.err = fmt.Errorf("gguf: %d bytes written past the last tensor", len(p))
			return n, wr.err
		}
		t := &wr.tensors[wr.cur]
		k := int(min(int64(len(p)), t.Size-wr.done))
		m, err := wr.w.Write(p[:k])
		n += m
		wr.done += int64(m)
		if err != nil {
			wr.err = fmt.Errorf("gguf: writing tensor %q: %w", t.Name, err)
			return n, wr.err
		}
		p = p[k:]
		if wr.done == t.Size {
			if err := wr.pad(t.Size); err != nil {
				wr.err = fmt.Errorf("gguf: writing tensor %q: %w", t.Name, err)
				return n, wr.err
			}
			wr.cur++
			wr.done = 0
			wr.skipEmpty()
		}
	}
	return n, nil
}

// pad writes the zeros that bring a tensor of size bytes to the alignment.
func (wr *Writer) pad(size int64) error {
	for k := (wr.alignment - size%wr.alignment) % wr.alignment; k > 0; {
		c := min(k, int64(len(zeros)))
		if _, err := wr.w.Write(zeros[:c]); err != nil {
			return err
		}
		k -= c
	}
	return nil
}

// WriteTensor writes the whole data of the next tensor, which must be the
// one called name, with exactly its declared size. (Tensors of zero bytes
// need no call; one for them is accepted in any order.)
func (wr *Writer) WriteTensor(name string, data []byte) error {
	if wr.err != nil {
		return wr.err
	}
	if wr.cur >= len(wr.tensors) || wr.tensors[wr.cur].Name != name {
		for _, t := range wr.tensors {
			if t.Name == name && t.Size == 0 && len(data) == 0 {
				return nil
			}
		}
		if wr.cur >= len(wr.tensors) {
			return fmt.Errorf("gguf: tensor %q written after the last tensor", name)
		}
		return fmt.Errorf("gguf: tensor %q written out of order, next is %q", name, wr.tensors[wr.cur].Name)
	}
	t := &wr.tensors[wr.cur]
	switch {
	case wr.done != 0:
		return fmt.Errorf("gguf: tensor %q written while %d bytes of it were already written", name, wr.done)
	case int64(len(data)) != t.Size:
		return fmt.Errorf("gguf: tensor %q: %d bytes given, %s %v takes %d", name, len(data), t.Type, t.Dims, t.Size)
	}
	_, err := wr.Write(data)
	return err
}

// Close checks that every tensor was written in full. It does not close
// the underlying writer.
func (wr *Writer) Close() error {
	if wr.err != nil {
		return wr.err
	}
	if wr.cur < len(wr.tensors) {
		t := &wr.tensors[wr.cur]
		return fmt.Errorf("gguf: tensor %q incomplete: %d of %d bytes written (%d tensors not finished)",
			t.Name, wr.done, t.Size, len(wr.tensors)-wr.cur)
	}
	return nil
}

// FileWriter is a Writer to a file that appears at its path only once
// complete.
type FileWriter struct {
	*Writer
	path string
	tmp  *os.File
	bw   *bufio.Writer
	done bool
}

// Create starts writing a GGUF file at path (see NewWriter). The data go to
// a temporary file in the same directory, renamed to path by Close, so a
// failed or interrupted write never leaves a truncated model behind.
func Create(path string, kvs []KV, tensors []TensorInfo) (*FileWriter, error) {
	// A directory at path would only be found by the final rename, after
	// all the work.
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("%s: is a directory", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		// Name the file asked for, not the temporary one.
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fw := &FileWriter{path: path, tmp: tmp, bw: bufio.NewWriterSize(tmp, 1<<20)}
	if fw.Writer, err = NewWriter(fw.bw, kvs, tensors); err != nil {
		fw.Abort()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return fw, nil
}

// Close checks that every tensor was written, flushes, and renames the
// file into place. On error the temporary file is removed.
func (fw *FileWriter) Close() (err error) {
	if fw.done {
		return nil
	}
	defer func() {
		if err != nil {
			fw.Abort()
			err = fmt.Errorf("%s: %w", fw.path, err)
		}
		fw.done = true
	}()
	if err := fw.Writer.Close(); err != nil {
		return err
	}
	if err := fw.bw.Flush(); err != nil {
		return err
	}
	if err := fw.tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := fw.tmp.Close(); err != nil {
		return err
	}
	return os.Rename(fw.tmp.Name(), fw.path)
}

// Abort abandons the file: the temporary file is removed and path is left
// as it was. It is safe after Close (it then does nothing).
func (fw *FileWriter) Abort() {
	if fw.done {
		return
	}
	fw.done = true
	fw.tmp.Close()
	os.Remove(fw.tmp.Name())
}
