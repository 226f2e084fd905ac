//go:build !linux

package cli

// allowedCPUs: no affinity control here.
func allowedCPUs() []int { return nil }

// pinThread: no affinity control here.
func pinThread(cpu int) (restore func()) { return func() {} }

// hugeBuffer: heap memory here.
func hugeBuffer(n int) (buf []byte, free func()) { return make([]byte, n), func() {} }
