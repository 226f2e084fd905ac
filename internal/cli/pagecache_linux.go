package cli

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentBytes returns how much of the file at path is in the page
// cache (mincore(2) over a temporary read-only mapping) and its size.
// ok is false when that cannot be told.
func residentBytes(path string) (resident, size int64, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || int64(int(fi.Size())) != fi.Size() {
		return 0, 0, false
	}
	size = fi.Size()
	if size == 0 {
		return 0, 0, true
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return 0, size, false
	}
	defer unix.Munmap(data)
	page := int64(os.Getpagesize())
	vec := make([]byte, (size+page-1)/page)
	// x/sys/unix has no Mincore wrapper on Linux; the call is simple.
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&data[0])), uintptr(len(data)),
		uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		return 0, size, false
	}
	var pages int64
	for _, v := range vec {
		pages += int64(v & 1)
	}
	return min(pages*page, size), size, true
}
