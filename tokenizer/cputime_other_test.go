//go:build !unix

package tokenizer

// cpuSeconds is unavailable here; the CPU-time metric is then omitted.
func cpuSeconds() float64 { return 0 }
