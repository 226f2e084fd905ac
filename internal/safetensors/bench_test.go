package safetensors

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkOpen measures opening (stat, header read and validation, mmap,
// munmap) of the 21-tensor fixture; MB/s counts the header bytes parsed.
func BenchmarkOpen(b *testing.B) {
	b.SetBytes(2152 + 8)
	for b.Loop() {
		f, err := Open(fixtureBF16)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkParseHeader measures header validation alone on a 7B-sized
// header (291 tensors, like Mistral-7B's).
func BenchmarkParseHeader(b *testing.B) {
	var ws []WriteTensor
	for i := range 291 {
		ws = append(ws, WriteTensor{Name: "model.layers." + string(rune('a'+i%26)) + ".x" + string(rune('a'+i/26)) + ".weight", DType: BF16, Shape: []int{4, 4}, Data: make([]byte, 32)})
	}
	hdr, _, err := buildHeader(ws, map[string]string{"format": "pt"})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(hdr)))
	for b.Loop() {
		if _, err := parseHeader("bench", hdr, 291*32); err != nil {
			b.Fatal(err)
		}
	}
}

// fastSource is a Source that costs nothing, so the benchmark measures the
// writer and the file system, not a generator.
type fastSource struct{}

func (fastSource) Read(p []byte) (int, error) { return len(p), nil }

// BenchmarkWriteFileStreamed measures writing a 64 MiB tensor from a Source
// (the path synthetic checkpoints take) to a file in the temp directory.
func BenchmarkWriteFileStreamed(b *testing.B) {
	const n = 64 << 20
	path := filepath.Join(b.TempDir(), "w.safetensors")
	b.SetBytes(n)
	for b.Loop() {
		ws := []WriteTensor{{Name: "w", DType: BF16, Shape: []int{n / 2}, Source: fastSource{}}}
		if err := WriteFile(path, ws, nil); err != nil {
			b.Fatal(err)
		}
	}
	os.Remove(path)
}
