//go:build unix

package mmap

import (
	"os"

	"golang.org/x/sys/unix"
)

// Map maps the first size bytes of fd read-only and shared, so the pages
// come from (and stay in) the page cache rather than being copied into our
// heap. It returns the bytes and the function that releases them (nil when
// there is nothing to release, as for size 0). The mapping stays valid after
// fd is closed; writing to the returned slice faults.
func Map(fd *os.File, size int) ([]byte, func([]byte) error, error) {
	if size == 0 {
		return nil, nil, nil
	}
	data, err := unix.Mmap(int(fd.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, unix.Munmap, nil
}
