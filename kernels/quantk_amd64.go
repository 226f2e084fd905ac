//go:build amd64 && !noasm

package kernels

import "github.com/klauspost/cpuid/v2"

// The K-quant kernels of quantk_amd64.s (AVX-512) and quantk2_amd64.s
// (AVX2) and their drivers. A
// kernel runs R = 1..4 activation rows against a run of weight rows; the
// driver cuts t into groups of four and, when there is more than one
// group, the weight rows into tiles small enough to stay in L2 while
// every group passes over them.

// kKernel is the signature of every kernel in quantk_amd64.s: y[i*ldy+r]
// (ldy in bytes) for the R activation rows i at a (as bytes apart) and the
// rows weight rows at w (rb bytes apart), nb super-blocks each.
type kKernel func(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ4K512V1(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ4K512V2(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ4K512V3(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ4K512V4(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ4K512G1(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ5K512G1(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ4K512N1(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ4K512N2(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ4K512N3(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ4K512N4(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ6K512V1(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ6K512V2(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ6K512V3(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ6K512V4(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ6K512N1(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ6K512N2(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ6K512N3(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ6K512N4(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ5K512V1(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ5K512V2(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ5K512V3(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ5K512V4(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ5K512N1(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ5K512N2(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ5K512N3(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ5K512N4(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ4K2x1(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ4K2x2(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ4K2x3(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ4K2x4(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ6K2x1(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ6K2x2(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ6K2x3(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ6K2x4(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ2K512V1(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ2K512V2(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ2K512V3(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ2K512V4(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ2K512N1(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ2K512N2(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ2K512N3(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ2K512N4(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ3K512V1(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ3K512V2(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ3K512V3(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ3K512V4(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ3K512N1(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ3K512N2(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ3K512N3(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ3K512N4(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ5K2x1(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ5K2x2(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ5K2x3(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ5K2x4(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

var (
	kQ4K2    = [4]kKernel{kQ4K2x1, kQ4K2x2, kQ4K2x3, kQ4K2x4}
	kQ6K2    = [4]kKernel{kQ6K2x1, kQ6K2x2, kQ6K2x3, kQ6K2x4}
	kQ5K2    = [4]kKernel{kQ5K2x1, kQ5K2x2, kQ5K2x3, kQ5K2x4}
	kQ4K512V = [4]kKernel{kQ4K512V1, kQ4K512V2, kQ4K512V3, kQ4K512V4}
	// kQ4K512G is kQ4K512V with the one-row kernel that splits nibbles
	// with GFNI (kQ4K512G1); the VNNI set takes it where the CPU has GFNI
	// (kQ4KVNNI).
	kQ4K512G = [4]kKernel{kQ4K512G1, kQ4K512V2, kQ4K512V3, kQ4K512V4}
	kQ4K512N = [4]kKernel{kQ4K512N1, kQ4K512N2, kQ4K512N3, kQ4K512N4}
	kQ5K512V = [4]kKernel{kQ5K512V1, kQ5K512V2, kQ5K512V3, kQ5K512V4}
	// kQ5K512G is kQ5K512V with the GFNI one-row kernel (kQ5K512G1).
	kQ5K512G = [4]kKernel{kQ5K512G1, kQ5K512V2, kQ5K512V3, kQ5K512V4}
	kQ5K512N = [4]kKernel{kQ5K512N1, kQ5K512N2, kQ5K512N3, kQ5K512N4}
	kQ2K512V = [4]kKernel{kQ2K512V1, kQ2K512V2, kQ2K512V3, kQ2K512V4}
	kQ2K512N = [4]kKernel{kQ2K512N1, kQ2K512N2, kQ2K512N3, kQ2K512N4}
	kQ3K512V = [4]kKernel{kQ3K512V1, kQ3K512V2, kQ3K512V3, kQ3K512V4}
	kQ3K512N = [4]kKernel{kQ3K512N1, kQ3K512N2, kQ3K512N3, kQ3K512N4}
	kQ6K512V = [4]kKernel{kQ6K512V1, kQ6K512V2, kQ6K512V3, kQ6K512V4}
	kQ6K512N = [4]kKernel{kQ6K512N1, kQ6K512N2, kQ6K512N3, kQ6K512N4}
)

// kTileBytes bounds the weight bytes one tile of rows holds when several
// activation groups pass over it: well inside this machine class's 2 MiB
// L2, with room for the activations.
const kTileBytes = 256 << 10

// kDriver returns the matrix product over the kernels ks (index R-1) for
// weight blocks of blockBytes.
func kDriver(ks *[4]kKernel, blockBytes int) func(y []float32, ldy int, w, a []byte, n, t int) {
	return func(y []float32, ldy int, w, a []byte, n, t int) {
		nb := n / kQK
		rb := nb * blockBytes
		rows := len(w) / rb
		as := ActBytesQ8_K(n)
		tile := rows
		if t > 4 {
			tile = max(1, min(rows, kTileBytes/rb))
		}
		for r0 := 0; r0 < rows; r0 += tile {
			nr := min(tile, rows-r0)
			for i := 0; i < t; i += 4 {
				g := min(4, t-i)
				ks[g-1](&y[i*ldy+r0], uintptr(ldy)*4, &w[r0*rb], uintptr(rb), nr, &a[i*as], uintptr(as), nb)
			}
		}
	}
}

var (
	kMatMulQ4K512V = kDriver(kQ4KVNNI, BlockBytesQ4_K)
	kMatMulQ4K512N = kDriver(&kQ4K512N, BlockBytesQ4_K)
	kMatMulQ5K512V = kDriver(kQ5KVNNI, BlockBytesQ5_K)
	kMatMulQ5K512N = kDriver(&kQ5K512N, BlockBytesQ5_K)
	kMatMulQ4K2    = kDriver(&kQ4K2, BlockBytesQ4_K)
	kMatMulQ6K2    = kDriver(&kQ6K2, BlockBytesQ6_K)
	kMatMulQ5K2    = kDriver(&kQ5K2, BlockBytesQ5_K)
	kMatMulQ2K512V = kDriver(&kQ2K512V, BlockBytesQ2_K)
	kMatMulQ2K512N = kDriver(&kQ2K512N, BlockBytesQ2_K)
	kMatMulQ3K512V = kDriver(&kQ3K512V, BlockBytesQ3_K)
	kMatMulQ3K512N = kDriver(&kQ3K512N, BlockBytesQ3_K)
	kMatMulQ6K512V = kDriver(&kQ6K512V, BlockBytesQ6_K)
	kMatMulQ6K512N = kDriver(&kQ6K512N, BlockBytesQ6_K)
)

// kQ4KVNNI and kQ5KVNNI are the Q4_K and Q5_K kernels of the VNNI set:
// kQ4K512G and kQ5K512G with GFNI, which every AVX-512 VNNI CPU since Ice
// Lake and Zen 4 has (Cascade Lake has not).
var kQ4KVNNI, kQ5KVNNI = func() (*[4]kKernel, *[4]kKernel) {
	if cpuid.CPU.Supports(cpuid.GFNI) {
		return &kQ4K512G, &kQ5K512G
	}
	return &kQ4K512V, &kQ5K512V
}()

func init() {
	installers = append(installers, kInstall)
	// level.go's init may already have run SetFeatures (file order).
	kInstall(CurrentFeatures())
}

// kInstall sets the K-quant products for feature set f: the AVX-512
// kernels (with VNNI when f has it), the AVX2 ones (Q4_K, Q5_K, Q6_K) on
// an AVX2 set (Q2_K, Q3_K in quantk3_amd64.s), the generic twins for the rest.
func kInstall(f Features) {
	kMatMulQ2K, kMatMulQ3K, kMatMulQ4K, kMatMulQ5K, kMatMulQ6K = matMulQ2KGeneric, matMulQ3KGeneric, matMulQ4KGeneric, matMulQ5KGeneric, matMulQ6KGeneric
	quantizeActQ8KFn = quantizeActQ8KGo
	switch {
	case f.Has(FeatAVX512):
		quantizeActQ8KFn = quantizeActQ8K512
	case f.Has(FeatAVX2):
		quantizeActQ8KFn = quantizeActQ8K2
	}
	if !f.Has(FeatAVX2) {
		return
	}
	if !f.Has(FeatAVX512) {
		kMatMulQ2K, kMatMulQ3K, kMatMulQ4K, kMatMulQ5K, kMatMulQ6K = kMatMulQ2K2, kMatMulQ3K2, kMatMulQ4K2, kMatMulQ5K2, kMatMulQ6K2
		return
	}
	if f.Has(FeatVNNI) {
		kMatMulQ2K, kMatMulQ3K, kMatMulQ4K, kMatMulQ5K, kMatMulQ6K = kMatMulQ2K512V, kMatMulQ3K512V, kMatMulQ4KFew, kMatMulQ5KFew, kMatMulQ6K512V
	} else {
		kMatMulQ2K, kMatMulQ3K, kMatMulQ4K, kMatMulQ5K, kMatMulQ6K = kMatMulQ2K512N, kMatMulQ3K512N, kMatMulQ4K512N, kMatMulQ5K512N, kMatMulQ6K512N
	}
}

//go:noescape
func kActQ8K512(x *float32, dst *byte, nb int)

//go:noescape
func kActQ8K2(x *float32, dst *byte, nb int)

// quantizeActQ8KWith is quantizeActQ8KGo on assembly k (quantk_act_amd64.s):
// in a 512-token prefill of a Q4_K_M model the Go loop took 9% of the
// time (pprof of gale bench -p 512 -t 2).
func quantizeActQ8KWith(k func(x *float32, dst *byte, nb int)) func(dst []byte, x []float32) {
	return func(dst []byte, x []float32) {
		if len(x) > 0 {
			k(&x[0], &dst[0], len(x)/kQK)
		}
	}
}

var (
	quantizeActQ8K512 = quantizeActQ8KWith(kActQ8K512)
	quantizeActQ8K2   = quantizeActQ8KWith(kActQ8K2)
)

//go:noescape
func kQ2K2x1(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ2K2x2(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ2K2x3(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ2K2x4(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

// kMatMulQ2K2 is the AVX2 Q2_K product (quantk3_amd64.s).
var kMatMulQ2K2 = kDriver(&[4]kKernel{kQ2K2x1, kQ2K2x2, kQ2K2x3, kQ2K2x4}, BlockBytesQ2_K)

//go:noescape
func kQ3K2x1(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ3K2x2(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ3K2x3(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

//go:noescape
func kQ3K2x4(y *float32, ldy uintptr, w *byte, rb uintptr, rows int, a *byte, as uintptr, nb int)

// kMatMulQ3K2 is the AVX2 Q3_K product (quantk3_amd64.s).
var kMatMulQ3K2 = kDriver(&[4]kKernel{kQ3K2x1, kQ3K2x2, kQ3K2x3, kQ3K2x4}, BlockBytesQ3_K)
