//go:build !(amd64 || arm64) || noasm

package kernels

// installQuant32 sets the 32-element block matrix products: pure Go on
// this architecture/build.
func installQuant32(f Features) {
	mmQ8_0, mmQ4_0, mmQ4_1, mmQ5_0, mmQ5_1 = matMulQ8_0Generic, matMulQ4_0Generic, matMulQ4_1Generic, matMulQ5_0Generic, matMulQ5_1Generic
}
