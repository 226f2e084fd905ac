//go:build amd64 && !noasm

package kernels

import (
	"sync"

	"github.com/klauspost/cpuid/v2"
)

// xgetbv0 returns XCR0 (cpu_amd64.s).
func xgetbv0() (eax, edx uint32)

// amxOnce guards the one permission request a process makes.
var (
	amxOnce sync.Once
	amxOK   bool
)

// amxUsable reports whether AMX tiles can run in this process: the CPU
// has AMX-TILE, AMX-BF16 and AMX-INT8 (CPUID), the OS saves the tile
// state (XCR0 bits 17 and 18), and the kernel granted this process the
// tile data permission (arch_prctl ARCH_REQ_XCOMP_PERM). Without the last,
// the first tile instruction raises SIGILL.
func amxUsable() bool {
	amxOnce.Do(func() {
		if !cpuid.CPU.Supports(cpuid.AMXTILE, cpuid.AMXBF16, cpuid.AMXINT8) {
			return
		}
		if eax, _ := xgetbv0(); eax&(1<<17) == 0 || eax&(1<<18) == 0 {
			return
		}
		amxOK = requestTileData()
	})
	return amxOK
}
