//go:build !linux

package mmap

// ResidentPages cannot tell residency on this system: ok is false.
func ResidentPages(b []byte) (resident, pages int, ok bool) { return 0, 0, false }
