package model

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// rssBytes reads this process's resident set size from /proc.
func rssBytes(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// TestLoadMapsWithoutReading writes a 330 MB checkpoint, loads it and
// checks that loading left resident memory far below the file size: the
// weights are mapped, not read or copied. A few tokens of decode then touch
// every weight, which must work from the mapping.
func TestLoadMapsWithoutReading(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 330 MB checkpoint")
	}
	dir := t.TempDir()
	if err := WriteSynthetic(dir, "small", "bf16", 7, nil); err != nil {
		t.Fatal(err)
	}
	before := rssBytes(t)
	m, err := Load(dir, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	grown := rssBytes(t) - before
	if size := m.SizeBytes(); size < 250<<20 || grown > size/10 {
		t.Fatalf("loading a %d-byte checkpoint grew RSS by %d bytes", size, grown)
	}
	s, err := m.NewSession(SessionOptions{Threads: 2, CtxSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Prefill([]int{1, 100, 200}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Step(300); err != nil {
		t.Fatal(err)
	}
}

// TestSyntheticMatchesWritten checks that the in-memory synthetic model and
// the same shape written to disk and loaded give the same logits, which
// ties the benchmark models to the loading path.
//
// Quantized types are written as GGUF files with llama-quantize's mixture.
func TestSyntheticMatchesWritten(t *testing.T) {
	for _, dt := range []string{"f16", "q8_0", "q4_k_m"} {
		t.Run(dt, func(t *testing.T) { testSyntheticMatchesWritten(t, dt) })
	}
}

func testSyntheticMatchesWritten(t *testing.T, dt string) {
	dir := t.TempDir()
	if dt != "f16" {
		dir = filepath.Join(dir, "m.gguf")
	}
	if err := WriteSynthetic(dir, "tiny", dt, 3, nil); err != nil {
		t.Fatal(err)
	}
	disk, err := Load(dir, LoadOptions{Check: true})
	if err != nil {
		t.Fatal(err)
	}
	defer disk.Close()
	mem, err := NewSynthetic("tiny", dt, 3)
	if err != nil {
		t.Fatal(err)
	}
	if disk.NumParams() != mem.NumParams() {
		t.Fatalf("params: disk %d, memory %d", disk.NumParams(), mem.NumParams())
	}
	if fmt.Sprint(disk.DTypes()) != fmt.Sprint(mem.DTypes()) {
		t.Fatalf("types: disk %v, memory %v", disk.DTypes(), mem.DTypes())
	}
	_, size, _ := SyntheticSize("tiny", dt)
	if dt != "f16" && disk.SizeBytes() < size {
		t.Fatalf("file of %d bytes holds less than the %d of weights SyntheticSize reports", disk.SizeBytes(), size)
	}
	tokens := []int{1, 5, 77, 300, 12, 9, 400, 3, 8, 2, 44, 45, 46, 47, 48, 49, 50, 51, 52}
	var a, b [][]float32
	for _, c := range []struct {
		m   *Model
		out *[][]float32
	}{{disk, &a}, {mem, &b}} {
		s, err := c.m.NewSession(SessionOptions{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Forward(tokens, func(i int, l []float32) { *c.out = append(*c.out, append([]float32(nil), l...)) }); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				t.Fatalf("position %d logit %d: disk %v, memory %v", i, j, a[i][j], b[i][j])
			}
		}
	}
}

// TestLoadGGUFMapsWithoutReading is TestLoadMapsWithoutReading for a GGUF
// file: a 165 MB Q8_0 file of the small shape loads with resident memory
// far below its size (the weights are views of the mapping, not copies:
// only the header, the 32000-piece vocabulary and the tokenizer are
// built), and decoding then runs from the mapping.
func TestLoadGGUFMapsWithoutReading(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 165 MB GGUF file")
	}
	path := filepath.Join(t.TempDir(), "small.gguf")
	if err := WriteSynthetic(path, "small", "q8_0", 7, nil); err != nil {
		t.Fatal(err)
	}
	before := rssBytes(t)
	m, err := Load(path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	grown := rssBytes(t) - before
	t.Logf("loading grew RSS by %.1f MB", float64(grown)/(1<<20))
	if m.Config.Format != FormatGGUF {
		t.Fatalf("format %v, want GGUF", m.Config.Format)
	}
	if size := m.SizeBytes(); size < 150<<20 || grown > size/10 {
		t.Fatalf("loading a %d-byte GGUF file grew RSS by %d bytes", size, grown)
	}
	s, err := m.NewSession(SessionOptions{Threads: 2, CtxSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Prefill([]int{1, 100, 200}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Step(300); err != nil {
		t.Fatal(err)
	}
}
