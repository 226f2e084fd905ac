//go:build arm64 && !noasm

package kernels

// The arm64 K-quant kernels (quantk_arm64.s): Q4_K, Q5_K and Q6_K with
// NEON and the dotprod extension. The other types, and NEON without dotprod, run the
// generic twins.

//go:noescape
func kQ4KNeonDot(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ5KNeonDot(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ6KNeonDot(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

// kTileBytes bounds the weight bytes of one tile of rows that all the
// activation rows pass over in turn, so that only the first reads them
// from memory.
const kTileBytes = 256 << 10

// kNeonDriver runs a one-row kernel for each activation row, tile by tile
// of weight rows.
func kNeonDriver(k func(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int), blockBytes int) func(y []float32, ldy int, w, a []byte, n, t int) {
	return func(y []float32, ldy int, w, a []byte, n, t int) {
		nb := n / kQK
		rb := nb * blockBytes
		rows := len(w) / rb
		as := ActBytesQ8_K(n)
		tile := rows
		if t > 1 {
			tile = max(1, min(rows, kTileBytes/rb))
		}
		for r0 := 0; r0 < rows; r0 += tile {
			nr := min(tile, rows-r0)
			for i := 0; i < t; i++ {
				k(&y[i*ldy+r0], 0, &w[r0*rb], uintptr(rb), nr, &a[i*as], uintptr(as), nb)
			}
		}
	}
}

var (
	kMatMulQ4KNeonDot = kNeonDriver(kQ4KNeonDot, BlockBytesQ4_K)
	kMatMulQ5KNeonDot = kNeonDriver(kQ5KNeonDot, BlockBytesQ5_K)
	kMatMulQ6KNeonDot = kNeonDriver(kQ6KNeonDot, BlockBytesQ6_K)
)

func init() {
	installers = append(installers, kInstall)
	kInstall(CurrentFeatures())
}

// kInstall sets the K-quant products for feature set f.
func kInstall(f Features) {
	kMatMulQ2K, kMatMulQ3K, kMatMulQ4K, kMatMulQ5K, kMatMulQ6K = matMulQ2KGeneric, matMulQ3KGeneric, matMulQ4KGeneric, matMulQ5KGeneric, matMulQ6KGeneric
	if f.Has(FeatNEON | FeatDotProd) {
		kMatMulQ4K, kMatMulQ5K, kMatMulQ6K = kMatMulQ4KNeonDot, kMatMulQ5KNeonDot, kMatMulQ6KNeonDot
	}
}
