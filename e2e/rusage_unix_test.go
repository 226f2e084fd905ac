//go:build unix

package e2e

import (
	"os"
	"runtime"
	"syscall"
)

// peakRSS is the finished child's peak resident set in bytes, from its
// rusage (ru_maxrss is in kilobytes on Linux, in bytes on macOS).
func peakRSS(ps *os.ProcessState) int64 {
	if ps == nil {
		return 0
	}
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss)
	}
	return int64(ru.Maxrss) << 10
}
