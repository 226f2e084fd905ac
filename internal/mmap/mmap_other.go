//go:build !unix

package mmap

import (
	"io"
	"os"
)

// Map reads the first size bytes of fd into memory on platforms without
// mmap support in golang.org/x/sys/unix (e.g. Windows): slower to open, same
// results. The release function is nil: the garbage collector frees the
// copy.
func Map(fd *os.File, size int) ([]byte, func([]byte) error, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(fd, 0, int64(size)), data); err != nil {
		return nil, nil, err
	}
	return data, nil, nil
}
