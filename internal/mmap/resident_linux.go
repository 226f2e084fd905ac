package mmap

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ResidentPages reports how many of the pages that b spans are in memory
// (mincore(2)): for a file mapping, the pages in the page cache; for
// anonymous memory such as the Go heap, the pages the kernel has mapped,
// that is, stored into at least once. ok is false when that cannot be
// told.
func ResidentPages(b []byte) (resident, pages int, ok bool) {
	if len(b) == 0 {
		return 0, 0, true
	}
	page := uintptr(os.Getpagesize())
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	first := start &^ (page - 1) // mincore takes a page-aligned start
	end := start + uintptr(len(b))
	vec := make([]byte, (end-first+page-1)/page)
	// x/sys/unix has no Mincore wrapper on Linux; the call is simple.
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, first, end-first, uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return 0, len(vec), false
	}
	for _, v := range vec {
		resident += int(v & 1)
	}
	return resident, len(vec), true
}
