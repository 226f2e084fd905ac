package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"unicode/utf8"
)

// MaxHeaderSize is the largest JSON header accepted, in bytes. It matches the
// reference implementation's limit: a real header for a 7B model is ~30 KB,
// so anything near this is corrupt, and refusing it keeps a bad length field
// from making us allocate gigabytes.
const MaxHeaderSize = 100_000_000

// metadataKey is the reserved header key holding the string->string map.
const metadataKey = "__metadata__"

// entry is one tensor as described by the header, already validated against
// the size of the data section.
type entry struct {
	name       string
	dtype      DType
	shape      []int
	begin, end int64 // relative to the start of the data section
}

// header is a parsed and validated safetensors header.
type header struct {
	dataStart int64 // 8 + N: absolute offset of the data section
	entries   []entry
	metadata  map[string]string
}

// readHeader reads and validates the header of a safetensors file of the
// given size through r. name is used in error messages only. Nothing past
// the header is read, so a corrupt file is rejected before any of its data
// is touched.
func readHeader(name string, size int64, r io.ReaderAt) (*header, error) {
	if size == 0 {
		return nil, fmt.Errorf("%s: empty file (0 bytes), not a safetensors file", name)
	}
	if size < 8 {
		return nil, fmt.Errorf("%s: file is %d bytes, too short to hold the 8-byte header length", name, size)
	}
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("%s: reading header length: %w", name, err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	switch {
	case n < 2:
		return nil, fmt.Errorf("%s: header length %d is too small for a JSON object", name, n)
	case n > MaxHeaderSize:
		return nil, fmt.Errorf("%s: header length %d exceeds the %d-byte limit (corrupt or not a safetensors file)", name, n, MaxHeaderSize)
	case n > uint64(size-8):
		return nil, fmt.Errorf("%s: header length %d exceeds the file (%d bytes after the 8-byte length; truncated?)", name, n, size-8)
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, 8); err != nil {
		return nil, fmt.Errorf("%s: reading %d-byte header: %w", name, n, err)
	}
	return parseHeader(name, buf, size-8-int64(n))
}

// parseHeader validates the JSON header text h of a file whose data section
// is dataSize bytes long.
func parseHeader(name string, h []byte, dataSize int64) (*header, error) {
	if !utf8.Valid(h) {
		return nil, fmt.Errorf("%s: header is not valid UTF-8", name)
	}
	hdr := &header{dataStart: 8 + int64(len(h))}
	seen := make(map[string]bool)
	// Errors about one tensor read "file: tensor "x": what"; errors about
	// the JSON as a whole read "file: header: what".
	var tensorErr error
	err := decodeObject(h, func(key string, raw json.RawMessage) error {
		if seen[key] {
			if key == metadataKey {
				return fmt.Errorf("duplicate %s", metadataKey)
			}
			return fmt.Errorf("duplicate tensor %q", key)
		}
		seen[key] = true
		if key == metadataKey {
			m, err := parseMetadata(raw)
			if err != nil {
				return err
			}
			hdr.metadata = m
			return nil
		}
		e, err := parseEntry(key, raw, dataSize)
		if err != nil {
			tensorErr = fmt.Errorf("%s: tensor %q: %w", name, key, err)
			return tensorErr
		}
		hdr.entries = append(hdr.entries, e)
		return nil
	})
	if err != nil {
		if err == tensorErr {
			return nil, err
		}
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	if hdr.metadata == nil {
		hdr.metadata = map[string]string{}
	}
	// Sort by data offset (ties by end, then name, for a deterministic order)
	// and look for overlaps between neighbours; keeping the furthest end seen
	// so far also catches a tensor nested inside an earlier, longer one.
	sort.Slice(hdr.entries, func(i, j int) bool {
		a, b := &hdr.entries[i], &hdr.entries[j]
		if a.begin != b.begin {
			return a.begin < b.begin
		}
		if a.end != b.end {
			return a.end < b.end
		}
		return a.name < b.name
	})
	var last *entry
	for i := range hdr.entries {
		e := &hdr.entries[i]
		if e.begin == e.end {
			continue // empty tensors occupy no bytes and overlap nothing
		}
		if last != nil && e.begin < last.end {
			return nil, fmt.Errorf("%s: tensor %q: data_offsets [%d %d] overlap tensor %q at [%d %d]",
				name, e.name, e.begin, e.end, last.name, last.begin, last.end)
		}
		if last == nil || e.end > last.end {
			last = e
		}
	}
	return hdr, nil
}

// decodeObject walks the top-level JSON object in data, calling fn for each
// member in order. Unlike json.Unmarshal into a map it sees duplicate keys,
// and it rejects anything but whitespace after the object. encoding/json
// bounds nesting depth itself, so hostile input cannot exhaust the stack.
func decodeObject(data []byte, fn func(key string, raw json.RawMessage) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("malformed JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("malformed JSON: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("malformed JSON: object key is not a string")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("malformed JSON at %q: %w", key, err)
		}
		if err := fn(key, raw); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fmt.Errorf("malformed JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return errors.New("malformed JSON: data after the top-level object")
		}
		return fmt.Errorf("malformed JSON after the top-level object: %w", err)
	}
	return nil
}

// parseMetadata decodes the __metadata__ value: a map of strings, or null.
func parseMetadata(raw json.RawMessage) (map[string]string, error) {
	m := map[string]string{}
	if string(raw) == "null" {
		return m, nil
	}
	if len(raw) == 0 || raw[0] != '{' {
		return nil, fmt.Errorf("%s is not a JSON object", metadataKey)
	}
	err := decodeObject(raw, func(key string, v json.RawMessage) error {
		var s string
		if err := json.Unmarshal(v, &s); err != nil || (len(v) > 0 && v[0] != '"') {
			return fmt.Errorf("%s[%q] is %s, want a string", metadataKey, key, truncate(v))
		}
		m[key] = s
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// parseEntry validates one tensor description against a data section of
// dataSize bytes.
func parseEntry(name string, raw json.RawMessage, dataSize int64) (entry, error) {
	e := entry{name: name}
	if len(raw) == 0 || raw[0] != '{' {
		return e, fmt.Errorf("description is %s, want a JSON object", truncate(raw))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return e, fmt.Errorf("malformed description: %w", err)
	}
	for _, k := range []string{"dtype", "shape", "data_offsets"} {
		if v, ok := fields[k]; !ok || string(v) == "null" {
			return e, fmt.Errorf("missing %q", k)
		}
	}
	var dt string
	if err := json.Unmarshal(fields["dtype"], &dt); err != nil {
		return e, fmt.Errorf("dtype is %s, want a string", truncate(fields["dtype"]))
	}
	e.dtype = DType(dt)
	if isSubByte(e.dtype) {
		return e, fmt.Errorf("sub-byte dtype %q is not supported", dt)
	}
	if !e.dtype.Valid() {
		return e, fmt.Errorf("unknown dtype %q", dt)
	}
	shape, err := parseInts(fields["shape"], -1)
	if err != nil {
		return e, fmt.Errorf("shape: %w", err)
	}
	offs, err := parseInts(fields["data_offsets"], 2)
	if err != nil {
		return e, fmt.Errorf("data_offsets: %w", err)
	}
	// The element count must fit an int and the byte count an int64, or the
	// slice arithmetic below could wrap.
	count := uint64(1)
	e.shape = make([]int, len(shape))
	for i, d := range shape {
		hi, lo := bits.Mul64(count, d)
		if hi != 0 || lo > math.MaxInt/8 || d > math.MaxInt {
			return e, fmt.Errorf("shape %v has too many elements", shape)
		}
		count = lo
		e.shape[i] = int(d)
	}
	need := count * uint64(e.dtype.Size())
	b, end := offs[0], offs[1]
	if b > end {
		return e, fmt.Errorf("data_offsets [%d %d] begin after they end", b, end)
	}
	if end > uint64(dataSize) {
		return e, fmt.Errorf("data_offsets [%d %d] run past the end of the data section (%d bytes; truncated file?)", b, end, dataSize)
	}
	if end-b != need {
		return e, fmt.Errorf("data_offsets [%d %d] need %d bytes for %s %v", b, end, need, e.dtype, e.shape)
	}
	e.begin, e.end = int64(b), int64(end)
	return e, nil
}

// parseInts decodes a JSON array of non-negative integers (no fractions, no
// exponents, no strings), of length want unless want < 0.
func parseInts(raw json.RawMessage, want int) ([]uint64, error) {
	var elems []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &elems) != nil {
		return nil, fmt.Errorf("%s is not a JSON array", truncate(raw))
	}
	if want >= 0 && len(elems) != want {
		return nil, fmt.Errorf("%s has %d entries, want %d", truncate(raw), len(elems), want)
	}
	out := make([]uint64, len(elems))
	for i, el := range elems {
		s := string(bytes.TrimSpace(el))
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			if _, ierr := strconv.ParseInt(s, 10, 64); ierr == nil {
				return nil, fmt.Errorf("entry %d is negative (%s)", i, s)
			}
			return nil, fmt.Errorf("entry %d is %s, want a non-negative integer", i, truncate(el))
		}
		if v > math.MaxInt64 {
			return nil, fmt.Errorf("entry %d (%d) is too large", i, v)
		}
		out[i] = v
	}
	return out, nil
}

// truncate shortens a JSON fragment for an error message.
func truncate(raw []byte) string {
	const max = 40
	if len(raw) > max {
		return string(raw[:max]) + "..."
	}
	return string(raw)
}
