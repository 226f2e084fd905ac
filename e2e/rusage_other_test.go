//go:build !unix

package e2e

import "os"

// peakRSS is unknown where the OS gives no rusage.
func peakRSS(*os.ProcessState) int64 { return 0 }
