package mmap

import (
	"fmt"
	"os"
)

// OpenRegular opens the file at path for mapping and returns it with its
// size. It stats the path before opening, because opening a FIFO would
// block and a directory or device is never a model, and takes the size
// from the open descriptor, so that what is validated is the file that
// will be mapped, not whatever the path named a moment before. Errors of
// the system are prefixed with prefix ("gguf: ..."); kind names the format
// in the message for a directory ("is a directory, not a GGUF file").
func OpenRegular(path, prefix, kind string) (*os.File, int64, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", prefix, err)
	}
	if st.IsDir() {
		return nil, 0, fmt.Errorf("%s: is a directory, not a %s file", path, kind)
	}
	if !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%s: not a regular file", path)
	}
	fd, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", prefix, err)
	}
	if st, err = fd.Stat(); err != nil {
		fd.Close()
		return nil, 0, fmt.Errorf("%s: %w", prefix, err)
	}
	if !st.Mode().IsRegular() {
		fd.Close()
		return nil, 0, fmt.Errorf("%s: not a regular file", path)
	}
	return fd, st.Size(), nil
}
