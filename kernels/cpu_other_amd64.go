//go:build amd64 && !noasm && !linux

package kernels

// requestTileData: gale asks for the AMX permission on Linux only; other
// systems run without tiles.
func requestTileData() bool { return false }
