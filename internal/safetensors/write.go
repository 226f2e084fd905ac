package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// WriteTensor is one tensor to write. One of Data and Source supplies its
// bytes (little-endian, row-major): Data holds them all, Source streams them
// so that a multi-gigabyte checkpoint never has to sit in memory. With
// neither, the tensor must be empty. Exactly the tensor's byte size is read
// from Source; it may hold more (an endless random generator, say).
type WriteTensor struct {
	Name   string
	DType  DType
	Shape  []int
	Data   []byte
	Source io.Reader
}

// Write writes a safetensors file holding tensors, in the order given and
// packed back to back, with metadata (may be nil) as "__metadata__". As in
// the reference implementation, the JSON header is padded with spaces to a
// multiple of 8 bytes, so the data section starts 8-aligned; a tensor is
// aligned to its element size when the ones before it add up to a multiple
// of it (e.g. list larger element types first).
func Write(w io.Writer, tensors []WriteTensor, metadata map[string]string) error {
	hdr, sizes, err := buildHeader(tensors, metadata)
	if err != nil {
		return err
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hdr)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	for i, t := range tensors {
		if t.Source == nil {
			if _, err := w.Write(t.Data); err != nil {
				return err
			}
			continue
		}
		n, err := io.CopyN(w, t.Source, sizes[i])
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("safetensors: tensor %q: source gave %d of %d bytes", t.Name, n, sizes[i])
			}
			return fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
		}
	}
	return nil
}

// buildHeader validates tensors and returns the padded JSON header and each
// tensor's byte size.
func buildHeader(tensors []WriteTensor, metadata map[string]string) ([]byte, []int64, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	sep := func() {
		if !first {
			b.WriteByte(',')
		}
		first = false
	}
	seen := make(map[string]bool, len(tensors))
	sizes := make([]int64, len(tensors))
	var off int64
	for i, t := range tensors {
		switch {
		case t.Name == metadataKey:
			return nil, nil, fmt.Errorf("safetensors: tensor name %q is reserved", t.Name)
		case seen[t.Name]:
			return nil, nil, fmt.Errorf("safetensors: duplicate tensor %q", t.Name)
		case !t.DType.Valid():
			return nil, nil, fmt.Errorf("safetensors: tensor %q: unknown dtype %q", t.Name, t.DType)
		case t.Data != nil && t.Source != nil:
			return nil, nil, fmt.Errorf("safetensors: tensor %q: give Data or Source, not both", t.Name)
		}
		seen[t.Name] = true
		n := t.size()
		if n < 0 {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: invalid shape %v", t.Name, t.Shape)
		}
		if t.Source == nil && int64(len(t.Data)) != n {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %d bytes of data, %s %v needs %d", t.Name, len(t.Data), t.DType, t.Shape, n)
		}
		if off > math.MaxInt64-n {
			return nil, nil, errors.New("safetensors: tensors too large")
		}
		sizes[i] = n
		sep()
		writeJSONString(&b, t.Name)
		b.WriteString(`:{"dtype":`)
		writeJSONString(&b, string(t.DType))
		b.WriteString(`,"shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(d))
		}
		b.WriteString(`],"data_offsets":[`)
		b.WriteString(strconv.FormatInt(off, 10))
		b.WriteByte(',')
		off += n
		b.WriteString(strconv.FormatInt(off, 10))
		b.WriteString("]}")
	}
	// The reference implementation writes __metadata__ after the tensors;
	// doing the same makes our files byte-identical to its for equal input.
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys) // deterministic output
		sep()
		b.WriteString(`"` + metadataKey + `":{`)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(&b, k)
			b.WriteByte(':')
			writeJSONString(&b, metadata[k])
		}
		b.WriteByte('}')
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	if b.Len() > MaxHeaderSize {
		return nil, nil, fmt.Errorf("safetensors: header of %d bytes exceeds the %d-byte limit", b.Len(), MaxHeaderSize)
	}
	return b.Bytes(), sizes, nil
}

// size returns the byte size of t, or -1 for a negative or overflowing shape.
func (t *WriteTensor) size() int64 {
	n := uint64(t.DType.Size())
	for _, d := range t.Shape {
		if d < 0 {
			return -1
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return -1
		}
		n = lo
	}
	return int64(n)
}

// writeJSONString writes s as a JSON string, without the HTML escaping of
// <, > and & that json.Marshal adds (the reference writer does not escape
// them). Encoding a string cannot fail.
func writeJSONString(b *bytes.Buffer, s string) {
	var q bytes.Buffer
	enc := json.NewEncoder(&q)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	b.Write(bytes.TrimSuffix(q.Bytes(), []byte("\n")))
}

// WriteFile writes a safetensors file at path (see Write). The file is
// written under a temporary name in the same directory and renamed into
// place when complete, so a failed or interrupted write never leaves a
// truncated checkpoint behind.
func WriteFile(path string, tensors []WriteTensor, metadata map[string]string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err := Write(bw, tensors, metadata); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}
