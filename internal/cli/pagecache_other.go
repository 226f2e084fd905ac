//go:build !linux

package cli

// residentBytes cannot tell page-cache residency on this system: no
// warm-up progress bar is shown (the first token just takes longer).
func residentBytes(path string) (resident, size int64, ok bool) { return 0, 0, false }
