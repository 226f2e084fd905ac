package model

import (
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentPages counts the pages of b that the kernel has mapped (mincore),
// over the whole pages b spans.
func residentPages(t *testing.T, b []byte) (resident, pages int) {
	t.Helper()
	page := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	first := (start + page - 1) &^ (page - 1)
	last := (start + uintptr(len(b))) &^ (page - 1)
	if last <= first {
		t.Fatalf("%d bytes span no whole page", len(b))
	}
	vec := make([]byte, (last-first)/page)
	// x/sys/unix has no wrapper for mincore(2).
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, first, last-first, uintptr(unsafe.Pointer(&vec[0])))
	if errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	for _, v := range vec {
		resident += int(v & 1)
	}
	return resident, len(vec)
}

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
				r, p := residentPages(t, a)
				resident, pages = resident+r, pages+p
			}
			t.Logf("f16 %v, prefault %v: %d of %d pages of %d MiB mapped", f16, pre, resident, pages, s.KVCacheBytes()>>20)
			if pre && resident != pages {
				t.Errorf("f16 %v: Prefault left %d of %d cache pages unmapped", f16, pages-resident, pages)
			}
		}
	}
}
