//go:build amd64 && !noasm

package kernels

import "syscall"

// Linux's arch_prctl codes for the AMX tile data permission; x/sys/unix
// has no names for them.
const (
	archReqXcompPerm  = 0x1023
	xfeatureXtiledata = 18
)

// requestTileData asks the kernel for this process's permission to use
// the AMX tile data state (ARCH_REQ_XCOMP_PERM).
func requestTileData() bool {
	_, _, errno := syscall.RawSyscall(syscall.SYS_ARCH_PRCTL, archReqXcompPerm, xfeatureXtiledata, 0)
	return errno == 0
}
