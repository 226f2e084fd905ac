package tensor

import "github.com/gale-ai/gale/kernels"

// The activation formats of the block types (llama.cpp's vec_dot_type).
var (
	actQ8_0 = &ActFormat{Name: "Q8_0", Bytes: kernels.ActBytesQ8_0, Quantize: kernels.QuantizeActQ8_0, PanelBegin: (*kernels.ActPanel).BeginQ8_0}
	actQ8_1 = &ActFormat{Name: "Q8_1", Bytes: kernels.ActBytesQ8_1, Quantize: kernels.QuantizeActQ8_1, PanelBegin: (*kernels.ActPanel).BeginQ8_1}
	actQ8K  = &ActFormat{Name: "Q8_K", Bytes: kernels.ActBytesQ8_K, Quantize: kernels.QuantizeActQ8_K, PanelBegin: (*kernels.ActPanel).BeginQ8_K}
)

// The block types, with ggml's block sizes (ggml-common.h).
func init() {
	register(
		&Type{DType: Q4_0, Name: "Q4_0", BlockElems: 32, BlockBytes: 18, Act: actQ8_0,
			Dequantize: kernels.DequantQ4_0, Quantize: kernels.QuantizeQ4_0, matMul: kernels.MatMulQ4_0, panel: kernels.PanelQ4_0},
		&Type{DType: Q4_1, Name: "Q4_1", BlockElems: 32, BlockBytes: 20, Act: actQ8_1,
			Dequantize: kernels.DequantQ4_1, Quantize: kernels.QuantizeQ4_1, matMul: kernels.MatMulQ4_1, panel: kernels.PanelQ4_1},
		&Type{DType: Q5_0, Name: "Q5_0", BlockElems: 32, BlockBytes: 22, Act: actQ8_0,
			Dequantize: kernels.DequantQ5_0, Quantize: kernels.QuantizeQ5_0, matMul: kernels.MatMulQ5_0, panel: kernels.PanelQ5_0},
		&Type{DType: Q5_1, Name: "Q5_1", BlockElems: 32, BlockBytes: 24, Act: actQ8_1,
			Dequantize: kernels.DequantQ5_1, Quantize: kernels.QuantizeQ5_1, matMul: kernels.MatMulQ5_1, panel: kernels.PanelQ5_1},
		&Type{DType: Q8_0, Name: "Q8_0", BlockElems: 32, BlockBytes: 34, Act: actQ8_0,
			Dequantize: kernels.DequantQ8_0, Quantize: kernels.QuantizeQ8_0, matMul: kernels.MatMulQ8_0, panel: kernels.PanelQ8_0},
		&Type{DType: Q2_K, Name: "Q2_K", BlockElems: 256, BlockBytes: 84, Act: actQ8K,
			Dequantize: kernels.DequantQ2_K, Quantize: kernels.QuantizeQ2_K, matMul: kernels.MatMulQ2_K, panel: kernels.PanelQ2_K},
		&Type{DType: Q3_K, Name: "Q3_K", BlockElems: 256, BlockBytes: 110, Act: actQ8K,
			Dequantize: kernels.DequantQ3_K, Quantize: kernels.QuantizeQ3_K, matMul: kernels.MatMulQ3_K, panel: kernels.PanelQ3_K},
		&Type{DType: Q4_K, Name: "Q4_K", BlockElems: 256, BlockBytes: 144, Act: actQ8K,
			Dequantize: kernels.DequantQ4_K, Quantize: kernels.QuantizeQ4_K, matMul: kernels.MatMulQ4_K, panel: kernels.PanelQ4_K},
		&Type{DType: Q5_K, Name: "Q5_K", BlockElems: 256, BlockBytes: 176, Act: actQ8K,
			Dequantize: kernels.DequantQ5_K, Quantize: kernels.QuantizeQ5_K, matMul: kernels.MatMulQ5_K, panel: kernels.PanelQ5_K},
		&Type{DType: Q6_K, Name: "Q6_K", BlockElems: 256, BlockBytes: 210, Act: actQ8K,
			Dequantize: kernels.DequantQ6_K, Quantize: kernels.QuantizeQ6_K, matMul: kernels.MatMulQ6_K, panel: kernels.PanelQ6_K},
	)
}
