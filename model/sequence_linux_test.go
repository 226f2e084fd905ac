package model

import (
	"testing"
	"unsafe"

	"github.com/gale-ai/gale/internal/mmap"
)

// TestSequencePrefault checks that SequenceOptions.Prefault leaves every
// page of the KV cache mapped, for f16 and f32 caches, by asking the
// kernel (mincore), not the code that touched them. The caches (32 and
// 64 MiB) are fresh heap, whose pages the kernel maps only at a first
// store: the same sequence without Prefault is logged for contrast.
func TestSequencePrefault(t *testing.T) {
	m, err := NewSynthetic("tiny", "f32", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// No sliding window, so that the cache holds the whole context.
	m.Config.SlidingWindow = 0
	m.Config.MaxSeqLen = 1 << 17
	e, err := m.NewEngine(EngineOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, f16 := range []bool{true, false} {
		for _, pre := range []bool{false, true} {
			s, err := e.NewSequence(SequenceOptions{KVF16: f16, Prefault: pre})
			if err != nil {
				t.Fatal(err)
			}
			var arrays [][]byte
			for l := range s.k16 {
				arrays = append(arrays, unsafe.Slice((*byte)(unsafe.Pointer(&s.k16[l][0])), 2*len(s.k16[l])),
					unsafe.Slice((*byte)(unsafe.Pointer(&s.v16[l][0])), 2*len(s.v16[l])))
			}
			for l := range s.k32 {
				arrays = append(arrays, unsafe.Slice((*byte)(unsafe.Pointer(&s.k32[l][0])), 4*len(s.k32[l])),
					unsafe.Slice((*byte)(unsafe.Pointer(&s.v32[l][0])), 4*len(s.v32[l])))
			}
			resident, pages := 0, 0
			for _, a := range arrays {
				r, p, ok := mmap.ResidentPages(a)
				if !ok {
					t.Fatal("mincore failed")
				}
				resident, pages = resident+r, pages+p
			}
			t.Logf("f16 %v, prefault %v: %d of %d pages of %d MiB mapped", f16, pre, resident, pages, s.KVCacheBytes()>>20)
			if pre && resident != pages {
				t.Errorf("f16 %v: Prefault left %d of %d cache pages unmapped", f16, pages-resident, pages)
			}
		}
	}
}
