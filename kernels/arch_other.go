//go:build noasm || !(amd64 || arm64)

package kernels

// archLevels lists the assembly levels available: none in this build.
func archLevels() []Level { return nil }

// archInstall is never called when archLevels is empty.
func archInstall(l Level, t *table) {}
