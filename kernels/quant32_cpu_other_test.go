//go:build !linux

package kernels

import "time"

// threadCPU is not measured on this OS: the CPU-time metric is then 0.
func threadCPU() time.Duration { return 0 }
