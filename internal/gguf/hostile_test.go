package gguf

import (
	"math"
	"runtime"
	"strings"
	"testing"
)

// one header with a single key of the given type and value bytes.
func oneKV(key string, t ValueType, value func(*hb)) []byte {
	h := (&hb{}).head(3, 0, 1).kv(key, t)
	value(h)
	return h.b
}

// oneTensor is a file with one tensor info and dataBytes of data.
func oneTensor(name string, t GGMLType, off uint64, dataBytes int, ne ...uint64) []byte {
	h := (&hb{}).head(3, 1, 0).tensor(name, t, off, ne...).pad(32)
	return h.zeros(dataBytes).b
}

type hostileCase struct {
	name string
	data func() []byte
	want string // substring of the error
}

var hostileCases = []hostileCase{
	{"empty", func() []byte { return nil }, "empty file"},
	{"short", func() []byte { return []byte("GG") }, "not a GGUF file"},
	{"bad magic", func() []byte { b := validFile(); copy(b, "GGML"); return b }, `not a GGUF file (starts with "GGML"`},
	{"no version", func() []byte { return []byte("GGUF\x03") }, "truncated: version"},
	{"version 0", func() []byte { return (&hb{}).head(0, 0, 0).b }, "version 0 is not supported"},
	{"version 1", func() []byte { return (&hb{}).head(1, 0, 0).b }, "version 1 is not supported"},
	{"version 4", func() []byte { return (&hb{}).head(4, 0, 0).b }, "version 4 is not supported"},
	{"big-endian", func() []byte {
		b := validFile()
		copy(b[4:], []byte{0, 0, 0, 3})
		return b
	}, "big-endian GGUF file"},
	{"no counts", func() []byte { return []byte("GGUF\x03\x00\x00\x00\x01\x00") }, "truncated: tensor count"},
	{"tensor count absurd", func() []byte { return (&hb{}).head(3, 1<<62, 0).b }, "tensor count 4611686018427387904 exceeds"},
	{"tensor count negative", func() []byte { return (&hb{}).head(3, math.MaxUint64, 0).b }, "exceeds the limit"},
	{"tensor count beyond file", func() []byte { return (&hb{}).head(3, 1000, 0).zeros(100).b }, "1000 tensor infos need at least"},
	{"kv count absurd", func() []byte { return (&hb{}).head(3, 0, 1<<40).b }, "metadata count 1099511627776 exceeds"},
	{"kv count beyond file", func() []byte { return (&hb{}).head(3, 0, 50).zeros(100).b }, "50 metadata entries"},
	{"key length absurd", func() []byte { return (&hb{}).head(3, 0, 1).u64(1 << 60).zeros(16).b }, "is 1152921504606846976 bytes long, past the end"},
	{"key truncated", func() []byte { return (&hb{}).head(3, 0, 1).u64(20).raw([]byte("general.arch")).u8(0).b }, "past the end of the file"},
	{"string value absurd", func() []byte {
		return oneKV("general.name", TypeString, func(h *hb) { h.u64(1 << 60).zeros(8) })
	}, `the value of key "general.name" at offset`},
	{"scalar truncated", func() []byte {
		return oneKV("llama.block_count", TypeUint64, func(h *hb) { h.u32(2) })
	}, `truncated: the value of key "llama.block_count" needs 8 bytes`},
	{"unknown value type", func() []byte {
		return oneKV("k", ValueType(13), func(h *hb) { h.u64(0) })
	}, `key "k" has unknown value type 13`},
	{"array of arrays", func() []byte {
		return oneKV("k", TypeArray, func(h *hb) { h.u32(uint32(TypeArray)).u64(1).u32(uint32(TypeUint8)).u64(1).u8(0) })
	}, `key "k" is an array of arrays`},
	{"array of unknown type", func() []byte {
		return oneKV("k", TypeArray, func(h *hb) { h.u32(99).u64(1).u64(0) })
	}, `array of unknown value type 99`},
	{"array length absurd", func() []byte {
		return oneKV("k", TypeArray, func(h *hb) { h.u32(uint32(TypeUint8)).u64(1 << 60).zeros(8) })
	}, `array "k" at offset 41 has 1152921504606846976 UINT8 elements`},
	{"array length beyond file", func() []byte {
		return oneKV("k", TypeArray, func(h *hb) { h.u32(uint32(TypeFloat32)).u64(3).f32(1).f32(2) })
	}, `has 3 FLOAT32 elements, more than the 8 bytes left`},
	{"string array length absurd", func() []byte {
		return oneKV("tokenizer.ggml.tokens", TypeArray, func(h *hb) { h.u32(uint32(TypeString)).u64(1 << 60).str("a") })
	}, `1152921504606846976 STRING elements`},
	{"string in array absurd", func() []byte {
		return oneKV("tokenizer.ggml.tokens", TypeArray, func(h *hb) {
			h.u32(uint32(TypeString)).u64(2).str("<unk>").u64(1 << 60).zeros(8)
		})
	}, `element 1 of array "tokenizer.ggml.tokens" at offset`},
	{"duplicate key", func() []byte {
		h := (&hb{}).head(3, 0, 2)
		h.kv("general.name", TypeString).str("a")
		h.kv("general.name", TypeString).str("b")
		return h.b
	}, `duplicate metadata key "general.name"`},
	{"alignment not a power of 2", func() []byte {
		return oneKV(KeyAlignment, TypeUint32, func(h *hb) { h.u32(48) })
	}, `key "general.alignment" is 48, want a power of 2`},
	{"alignment zero", func() []byte {
		return oneKV(KeyAlignment, TypeUint32, func(h *hb) { h.u32(0) })
	}, `key "general.alignment" is 0`},
	{"alignment a string", func() []byte {
		return oneKV(KeyAlignment, TypeString, func(h *hb) { h.str("32") })
	}, `key "general.alignment" is STRING, want an unsigned integer`},
	{"tensor name absurd", func() []byte {
		return (&hb{}).head(3, 1, 0).u64(1 << 60).zeros(24).b
	}, `the name of tensor 1 of 1 at offset 24 is 1152921504606846976 bytes long`},
	{"tensor name too long", func() []byte {
		return oneTensor(strings.Repeat("x", 64), F32, 0, 4, 1)
	}, `is 64 bytes, longer than the 63 ggml allows`},
	{"too many dims", func() []byte {
		return oneTensor("t", F32, 0, 4, 1, 1, 1, 1, 1)
	}, `tensor "t": 5 dimensions, at most 4 allowed`},
	{"dims absurd", func() []byte {
		return (&hb{}).head(3, 1, 0).str("t").u32(math.MaxUint32).zeros(40).b
	}, `tensor "t": 4294967295 dimensions`},
	{"negative dim", func() []byte {
		return oneTensor("t", F32, 0, 4, 1, math.MaxUint64)
	}, `tensor "t": dimension 1 is negative (-1)`},
	{"dims overflow elements", func() []byte {
		return oneTensor("t", F32, 0, 4, 1<<32, 1<<32)
	}, `more than 2^63 elements`},
	{"dims overflow bytes", func() []byte {
		return oneTensor("t", F32, 0, 4, 1<<61, 2)
	}, `take more than 2^63 bytes`},
	{"dims truncated", func() []byte {
		return (&hb{}).head(3, 1, 0).str("t").u32(2).u64(4).zeros(4).b
	}, `truncated: dimension 1 of tensor "t"`},
	{"unknown ggml type", func() []byte {
		return oneTensor("t", GGMLType(99), 0, 4, 1)
	}, `tensor "t": unknown ggml type 99`},
	{"removed ggml type", func() []byte {
		return oneTensor("t", GGMLType(4), 0, 18, 32)
	}, `tensor "t": unknown ggml type 4`},
	{"not whole blocks", func() []byte {
		return oneTensor("t", Q4_0, 0, 64, 33)
	}, `first dimension 33 is not a multiple of Q4_0's block of 32 elements`},
	{"not whole K blocks", func() []byte {
		return oneTensor("t", Q4_K, 0, 1024, 128, 2)
	}, `first dimension 128 is not a multiple of Q4_K's block of 256`},
	{"misaligned offset", func() []byte {
		return oneTensor("t", F32, 4, 64, 1)
	}, `tensor "t": data offset 4 is not a multiple of the alignment 32`},
	{"misaligned with custom alignment", func() []byte {
		h := (&hb{}).head(3, 1, 1)
		h.kv(KeyAlignment, TypeUint32).u32(64)
		h.tensor("t", F32, 32, 1).pad(64).zeros(128)
		return h.b
	}, `data offset 32 is not a multiple of the alignment 64`},
	{"offset absurd", func() []byte {
		return oneTensor("t", F32, 1<<63, 4, 1)
	}, `data offset 9223372036854775808 is too large`},
	{"offset outside data", func() []byte {
		return oneTensor("t", F32, 64, 64, 1)
	}, `tensor "t": 4 bytes at data offset 64 run past the end of the data section (64 bytes`},
	{"data truncated", func() []byte {
		b := validFile()
		return b[:len(b)-32]
	}, `tensor "b": 36 bytes at data offset 32 run past the end`},
	{"no data section", func() []byte {
		return (&hb{}).head(3, 1, 0).tensor("t", F32, 0, 1).b
	}, `run past the end of the data section (0 bytes`},
	{"overlap", func() []byte {
		h := (&hb{}).head(3, 2, 0)
		h.tensor("a", F32, 0, 16)
		h.tensor("b", F32, 32, 8)
		return h.pad(32).zeros(96).b
	}, `tensor "b" at data offset 32 overlaps tensor "a" (64 bytes at 0)`},
	{"same offset", func() []byte {
		h := (&hb{}).head(3, 2, 0)
		h.tensor("a", F32, 0, 1)
		h.tensor("b", F32, 0, 1)
		return h.pad(32).zeros(32).b
	}, `overlaps tensor`},
	{"duplicate tensor", func() []byte {
		h := (&hb{}).head(3, 2, 0)
		h.tensor("a", F32, 0, 1)
		h.tensor("a", F32, 32, 1)
		return h.pad(32).zeros(64).b
	}, `duplicate tensor name "a"`},
	{"split part", func() []byte {
		h := (&hb{}).head(3, 0, 2)
		h.kv(KeySplitNo, TypeUint16).u16(1)
		h.kv(KeySplitCount, TypeUint16).u16(3)
		return h.b
	}, `part 2 of a 3-part split model`},
	{"split no past count", func() []byte {
		h := (&hb{}).head(3, 0, 2)
		h.kv(KeySplitNo, TypeUint16).u16(3)
		h.kv(KeySplitCount, TypeUint16).u16(3)
		return h.b
	}, `key "split.no" is 3, but "split.count" is 3`},
	{"split count zero", func() []byte {
		return oneKV(KeySplitCount, TypeUint16, func(h *hb) { h.u16(0) })
	}, `key "split.count" is 0, want 1 to 65535`},
}

// TestHostile checks that each malformed file is refused with a one-line
// error naming the file and the problem.
func TestHostile(t *testing.T) {
	for _, c := range hostileCases {
		t.Run(c.name, func(t *testing.T) {
			f, err := FromBytes("bad.gguf", c.data())
			if err == nil {
				t.Fatalf("accepted: %d tensors, %d keys", len(f.Tensors()), len(f.KVs()))
			}
			checkOneLine(t, err, "bad.gguf: ", c.want)
		})
	}
}

func checkOneLine(t *testing.T, err error, prefix, want string) {
	t.Helper()
	msg := err.Error()
	if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, want) || strings.Contains(msg, "\n") {
		t.Errorf("error %q, want one line starting %q containing %q", msg, prefix, want)
	}
}

// The valid base of the cases parses, so each case fails for its own
// reason.
func TestValidFile(t *testing.T) {
	f, err := FromBytes("ok.gguf", validFile())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := f.TensorData("a")
	b, _ := f.TensorData("b")
	if len(a) != 32 || a[0] != 1 || len(b) != 36 || b[0] != 33 || b[35] != 68 {
		t.Errorf("a = %v, b = %v", a, b)
	}
	if n, ok, err := f.Uint("llama.block_count"); n != 2 || !ok || err != nil {
		t.Errorf("block_count = %d %v %v", n, ok, err)
	}
}

// Cutting a valid file anywhere must give an error, never a panic.
func TestTruncatedEverywhere(t *testing.T) {
	for _, full := range [][]byte{validFile(), richFile(t)} {
		for n := range len(full) {
			// A cut inside the last tensor's padding leaves a valid file.
			f, err := FromBytes("cut.gguf", full[:n])
			if err == nil {
				for _, ti := range f.Tensors() {
					if f.parts[0].dataStart+ti.Offset+ti.Size > int64(n) {
						t.Fatalf("cut at %d accepted with tensor %v outside", n, &ti)
					}
				}
				continue
			}
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "cut.gguf: ") {
				t.Fatalf("cut at %d: %q", n, err)
			}
		}
	}
}

// Counts that the file could just hold must not size allocations: a
// header claiming a million entries over 24 MiB of zeros is refused at its
// second entry (a duplicate empty key or name) having allocated little.
func TestHostileCountsDoNotAllocate(t *testing.T) {
	for _, c := range []struct {
		nt, nkv uint64
		want    string
	}{
		{0, MaxKVs, `duplicate metadata key ""`},
		{MaxTensors, 0, `duplicate tensor name ""`},
	} {
		data := (&hb{}).head(3, c.nt, c.nkv).zeros(24 << 20).b
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := FromBytes("big.gguf", data)
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("%d tensors, %d keys claimed: parsing allocated %d bytes", c.nt, c.nkv, n)
		}
	}
}
