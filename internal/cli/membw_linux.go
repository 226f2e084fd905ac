//go:build linux

package cli

import (
	"golang.org/x/sys/unix"
)

// allowedCPUs lists the CPUs this process may run on.
func allowedCPUs() []int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil
	}
	var out []int
	for i := 0; i < len(set)*64; i++ {
		if set.IsSet(i) {
			out = append(out, i)
		}
	}
	return out
}

// pinThread binds the calling OS thread (locked by the caller) to cpu and
// returns a function restoring its previous affinity.
func pinThread(cpu int) (restore func()) {
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return func() {}
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return func() {}
	}
	return func() { _ = unix.SchedSetaffinity(0, &old) }
}

// hugeBuffer maps n bytes of anonymous memory outside the Go heap, so
// that it is returned to the OS the moment the probe ends. It does not
// ask for transparent huge pages (MADV_HUGEPAGE): on this machine class,
// busy with other processes, faulting 2 GiB of huge pages in stalled in
// direct compaction for 10 s (compact_stall in /proc/vmstat) with the
// same bandwidth within noise, and the C loop the ceiling is checked
// against reaches 29 GB/s on 4 KiB pages. Where the mapping fails it
// falls back to the heap. MAP_POPULATE faults the pages in inside the
// kernel, in one go, much faster than half a million first touches.
func hugeBuffer(n int) (buf []byte, free func()) {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return make([]byte, n), func() {}
	}
	return b, func() { _ = unix.Munmap(b) }
}
