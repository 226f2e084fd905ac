package tensor

import (
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/gale-ai/gale/kernels"
)

// floatKernels are the products of the float types, which take f32
// activations: a matrix-vector kernel for one row and the matrix-product
// kernel on activations laid out once (kernels.Prepared) for many.
type floatKernels struct {
	matVec func(y []float32, w *Tensor, lo, hi int, x []float32)
	matMul func(y []float32, ldy int, p *kernels.Prepared, w *Tensor, lo, hi int)
}

func init() {
	register(
		&Type{DType: F32, Name: "F32", BlockElems: 1, BlockBytes: 4,
			Dequantize: func(dst []float32, src []byte) {
				for i := range dst {
					dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
				}
			},
			Quantize: func(dst []byte, src []float32) {
				for i, v := range src {
					binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
				}
			},
			float: &floatKernels{
				matVec: func(y []float32, w *Tensor, lo, hi int, x []float32) {
					n := w.Cols()
					kernels.MatVecF32(y, w.f32[lo*n:hi*n], x)
				},
				matMul: func(y []float32, ldy int, p *kernels.Prepared, w *Tensor, lo, hi int) {
					n := w.Cols()
					kernels.MatMulF32Prepared(y, ldy, p, w.f32[lo*n:hi*n])
				},
			}},
		&Type{DType: F16, Name: "F16", BlockElems: 1, BlockBytes: 2,
			Dequantize: func(dst []float32, src []byte) { kernels.F16ToF32(dst, u16s(src)) },
			Quantize: func(dst []byte, src []float32) {
				for i, v := range src {
					binary.LittleEndian.PutUint16(dst[2*i:], kernels.FloatToF16(v))
				}
			},
			float: &floatKernels{
				matVec: func(y []float32, w *Tensor, lo, hi int, x []float32) {
					n := w.Cols()
					kernels.MatVecF16(y, w.u16[lo*n:hi*n], x)
				},
				matMul: func(y []float32, ldy int, p *kernels.Prepared, w *Tensor, lo, hi int) {
					n := w.Cols()
					kernels.MatMulF16Prepared(y, ldy, p, w.u16[lo*n:hi*n])
				},
			}},
		&Type{DType: BF16, Name: "BF16", BlockElems: 1, BlockBytes: 2,
			Dequantize: func(dst []float32, src []byte) { kernels.BF16ToF32(dst, u16s(src)) },
			Quantize: func(dst []byte, src []float32) {
				for i, v := range src {
					binary.LittleEndian.PutUint16(dst[2*i:], kernels.FloatToBF16(v))
				}
			},
			float: &floatKernels{
				matVec: func(y []float32, w *Tensor, lo, hi int, x []float32) {
					n := w.Cols()
					kernels.MatVecBF16(y, w.u16[lo*n:hi*n], x)
				},
				matMul: func(y []float32, ldy int, p *kernels.Prepared, w *Tensor, lo, hi int) {
					n := w.Cols()
					kernels.MatMulBF16Prepared(y, ldy, p, w.u16[lo*n:hi*n])
				},
			}},
	)
}

// u16s views little-endian bytes as uint16 values: a view when src is
// 2-byte aligned (always for mapped tensors: formats align their data),
// otherwise a copy, so it is for reading only.
func u16s(src []byte) []uint16 {
	if len(src) == 0 {
		return nil
	}
	if uintptr(unsafe.Pointer(&src[0]))%2 == 0 {
		return unsafe.Slice((*uint16)(unsafe.Pointer(&src[0])), len(src)/2)
	}
	out := make([]uint16, len(src)/2)
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(src[2*i:])
	}
	return out
}
