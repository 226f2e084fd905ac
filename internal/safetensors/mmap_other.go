//go:build !unix

package safetensors

import (
	"io"
	"os"
)

// mapFile reads the whole file on platforms without mmap support in
// golang.org/x/sys/unix (e.g. Windows): slower to open, same results.
func mapFile(fd *os.File, size int) ([]byte, func([]byte) error, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(fd, 0, int64(size)), data); err != nil {
		return nil, nil, err
	}
	return data, nil, nil
}
