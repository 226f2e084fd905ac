package gguf

import (
	"encoding/binary"
	"math"
)

// hb builds GGUF bytes by hand, field by field, so that tests can write
// what Writer refuses to: wrong counts, lengths, types and offsets.
type hb struct{ b []byte }

func (h *hb) u8(x uint8) *hb   { h.b = append(h.b, x); return h }
func (h *hb) u16(x uint16) *hb { h.b = binary.LittleEndian.AppendUint16(h.b, x); return h }
func (h *hb) u32(x uint32) *hb { h.b = binary.LittleEndian.AppendUint32(h.b, x); return h }
func (h *hb) u64(x uint64) *hb { h.b = binary.LittleEndian.AppendUint64(h.b, x); return h }
func (h *hb) f32(x float32) *hb {
	return h.u32(math.Float32bits(x))
}
func (h *hb) str(s string) *hb { h.u64(uint64(len(s))); h.b = append(h.b, s...); return h }
func (h *hb) raw(b []byte) *hb { h.b = append(h.b, b...); return h }

// head writes magic, version and the two counts.
func (h *hb) head(version uint32, nTensors, nKV uint64) *hb {
	h.b = append(h.b, Magic...)
	return h.u32(version).u64(nTensors).u64(nKV)
}

// kv writes a key and its value type; the caller appends the value.
func (h *hb) kv(key string, t ValueType) *hb { return h.str(key).u32(uint32(t)) }

// tensor writes one tensor info.
func (h *hb) tensor(name string, t GGMLType, off uint64, ne ...uint64) *hb {
	h.str(name).u32(uint32(len(ne)))
	for _, d := range ne {
		h.u64(d)
	}
	return h.u32(uint32(t)).u64(off)
}

// pad appends zeros up to a multiple of align.
func (h *hb) pad(align int) *hb {
	for len(h.b)%align != 0 {
		h.b = append(h.b, 0)
	}
	return h
}

// zeros appends n zero bytes.
func (h *hb) zeros(n int) *hb { h.b = append(h.b, make([]byte, n)...); return h }

// validFile is a small well-formed file: two keys, an F32 [8] tensor and a
// Q4_0 [32, 2] tensor (2 blocks of 18 bytes), 32-aligned.
func validFile() []byte {
	h := (&hb{}).head(3, 2, 2)
	h.kv("general.architecture", TypeString).str("llama")
	h.kv("llama.block_count", TypeUint32).u32(2)
	h.tensor("a", F32, 0, 8)
	h.tensor("b", Q4_0, 32, 32, 2)
	h.pad(32)
	for i := range 32 + 36 {
		h.u8(byte(i + 1))
	}
	return h.pad(32).b
}
