//go:build noasm || !(amd64 || arm64)

package kernels

// archLevels lists the assembly levels available: none in this build.
func archLevels() []Level { return nil }

// archInstall is never called when archLevels is empty.
func archInstall(f Features, t *table) {}

// archVNNI: no assembly in this build.
func archVNNI(l Level) bool { return false }

// archAMX: no assembly in this build.
func archAMX() bool { return false }

// archDotProd: no assembly in this build.
func archDotProd() bool { return false }
