package cli

import (
	"os"

	"github.com/gale-ai/gale/internal/mmap"
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
	data, unmap, err := mmap.Map(f, int(size))
	if err != nil {
		return 0, size, false
	}
	defer unmap(data)
	pages, _, ok := mmap.ResidentPages(data)
	if !ok {
		return 0, size, false
	}
	return min(int64(pages)*int64(os.Getpagesize()), size), size, true
}
