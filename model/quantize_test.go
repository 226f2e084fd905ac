package model

import (
	"bytes"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gale-ai/gale/internal/gguf"
	"github.com/gale-ai/gale/kernels"
	"github.com/gale-ai/gale/tensor"
)

// TestQuantizeMatchesLlamaQuantize quantizes the tiny-llama HF checkpoint
// and compares every tensor of the written file with the file llama.cpp's
// own tools made from the same checkpoint: the same tensors in the same
// types, blocks byte-identical but for rare rounding ties (one quant off
// by one, or the last bit of a scale, from fused multiply-adds in
// llama.cpp's C); then the written file must load back with logits within
// the tolerance of the fixture's reference.
//
// The source is the HF directory (whose q/k rows gale permutes for GGUF's
// rotary layout) and, for requantizing, the converter's F32.gguf.
func TestQuantizeMatchesLlamaQuantize(t *testing.T) {
	var ref tinyLlamaRef
	readJSON(t, filepath.Join(tinyLlamaDir, "reference.json"), &ref)
	for _, srcName := range []string{"hf", "F32.gguf"} {
		src, err := Load(filepath.Join(tinyLlamaDir, srcName), LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		types := []string{"Q8_0", "Q4_0", "Q4_K_M", "Q6_K", "Q4_1", "Q5_0", "Q5_1", "Q5_K_M", "Q4_K_S", "Q3_K_M", "Q2_K", "F16", "BF16"}
		if srcName != "hf" {
			types = []string{"Q8_0", "Q4_0", "Q4_K_M", "Q6_K"}
		}
		for _, name := range types {
			testQuantizeAs(t, src, srcName, name, &ref)
		}
	}
}

func testQuantizeAs(t *testing.T, src *Model, srcName, name string, ref *tinyLlamaRef) {
	t.Run(srcName+"/"+name, func(t *testing.T) {
		ft, err := ParseFileType(name)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), name+".gguf")
		if err := Quantize(src, out, QuantizeOptions{Type: ft, Threads: 2}); err != nil {
			t.Fatal(err)
		}
		got, err := gguf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		defer got.Close()
		want, err := gguf.Open(filepath.Join(tinyLlamaDir, name+".gguf"))
		if err != nil {
			t.Fatal(err)
		}
		defer want.Close()
		var blocks, same, near int
		for _, wt := range want.Tensors() {
			gt, ok := got.Tensor(wt.Name)
			if !ok {
				t.Errorf("tensor %s missing", wt.Name)
				continue
			}
			if gt.Type != wt.Type || !slices.Equal(gt.Dims, wt.Dims) {
				t.Errorf("%s: %s %v, llama-quantize wrote %s %v", wt.Name, gt.Type, gt.Dims, wt.Type, wt.Dims)
				continue
			}
			gd, _ := got.TensorData(wt.Name)
			wd, _ := want.TensorData(wt.Name)
			typ := tensor.DType(wt.Type).Type()
			bb := typ.BlockBytes
			for off := 0; off+bb <= len(wd); off += bb {
				blocks++
				g, w := gd[off:off+bb], wd[off:off+bb]
				switch {
				case bytes.Equal(g, w):
					same++
				case tieOnly(typ, g, w):
					near++
				default:
					if blocks-same-near <= 3 {
						t.Errorf("%s block %d differs beyond a rounding tie:\n got %x\nwant %x", wt.Name, off/bb, g, w)
					}
				}
			}
		}
		if len(got.Tensors()) != len(want.Tensors()) {
			t.Errorf("%d tensors, llama-quantize wrote %d", len(got.Tensors()), len(want.Tensors()))
		}
		if float64(same) < 0.999*float64(blocks) {
			t.Errorf("%d of %d blocks byte-identical (%d rounding ties): below 99.9%%", same, blocks, near)
		}
		t.Logf("%s: %d of %d blocks byte-identical, %d differ by a rounding tie", name, same, blocks, near)

		// The written file runs like the fixture, on the vector units:
		// ggufTolerance is theirs (TestGGUFLogits covers the tiles).
		saved := kernels.CurrentFeatures()
		defer kernels.SetFeatures(saved)
		if err := kernels.SetLevel(kernels.Current()); err != nil {
			t.Fatal(err)
		}
		m, err := Load(out, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		fr := ref.Files[name]
		wantLogits := readLogits(t, filepath.Join(tinyLlamaDir, name+".logits.safetensors"))
		compareGGUFLogits(t, name+"/written", runLogits(t, m, ref.Tokens, "whole"), wantLogits, fr.Argmax, ggufTolerance(name, fr.LogitAbsMax))
	})
}

// tieOnly reports whether two blocks of typ differ only as a rounding tie
// can make them: their dequantized values differ by at most one
// quantization step of the block somewhere (a quant ±1, or a scale's last
// bit).
func tieOnly(typ *tensor.Type, g, w []byte) bool {
	a := make([]float32, typ.BlockElems)
	b := make([]float32, typ.BlockElems)
	typ.Dequantize(a, g)
	typ.Dequantize(b, w)
	var maxAbs float64
	for _, v := range b {
		maxAbs = max(maxAbs, float64(abs32(v)))
	}
	// One step of the coarsest grid among the block types (2 bits over
	// the block's range) bounds what a single tie can change.
	step := maxAbs / 1.5
	for i := range a {
		if float64(abs32(a[i]-b[i])) > step {
			return false
		}
	}
	return true
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
