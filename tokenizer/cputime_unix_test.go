//go:build unix

package tokenizer

import "syscall"

// cpuSeconds is the process's user+system CPU time. The benchmarks report
// throughput per CPU second next to wall-clock MB/s because the build
// machine is shared: wall time then measures the neighbours as much as
// the code.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
