package kernels

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A test-only GGUF reader: just enough of the v3 layout (header, key/value
// pairs skipped, tensor infos, aligned data section) to pull one tensor's
// bytes out of the tiny-llama fixtures. kernels may not import the real
// reader (internal/gguf), which sits above it.

type ggufTensor struct {
	typ  uint32
	dims []uint64
	data []byte
}

type ggufReader struct {
	b   []byte
	off int
	err error
}

func (r *ggufReader) need(n int) []byte {
	if r.err != nil || n < 0 || r.off+n > len(r.b) {
		if r.err == nil {
			r.err = fmt.Errorf("gguf: truncated at %d", r.off)
		}
		return make([]byte, max(n, 0))
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *ggufReader) u32() uint32 { return binary.LittleEndian.Uint32(r.need(4)) }
func (r *ggufReader) u64() uint64 { return binary.LittleEndian.Uint64(r.need(8)) }
func (r *ggufReader) str() string {
	n := r.u64()
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("gguf: string length %d", n)
		return ""
	}
	return string(r.need(int(n)))
}

// skipValue skips one value of GGUF value type vt, returning a uint32
// value when it is one (for general.alignment).
func (r *ggufReader) skipValue(vt uint32) (uint64, bool) {
	sizes := map[uint32]int{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
	switch vt {
	case 8:
		r.str()
	case 9:
		et := r.u32()
		cnt := r.u64()
		if cnt > uint64(len(r.b)) {
			r.err = fmt.Errorf("gguf: array count %d", cnt)
			return 0, false
		}
		for i := uint64(0); i < cnt && r.err == nil; i++ {
			r.skipValue(et)
		}
	default:
		sz, ok := sizes[vt]
		if !ok {
			r.err = fmt.Errorf("gguf: value type %d", vt)
			return 0, false
		}
		b := r.need(sz)
		if sz == 4 {
			return uint64(binary.LittleEndian.Uint32(b)), true
		}
	}
	return 0, false
}

// ggufBlock gives (elements, bytes) per block of the ggml types the tests use.
var ggufBlock = map[uint32][2]int{0: {1, 4}, 2: {32, 18}, 3: {32, 20}, 6: {32, 22}, 7: {32, 24}, 8: {32, 34}}

func readGGUF(t *testing.T, path string) map[string]ggufTensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := &ggufReader{b: b}
	if string(r.need(4)) != "GGUF" || r.u32() != 3 {
		t.Fatalf("%s: not a GGUF v3 file", path)
	}
	nt, nkv := r.u64(), r.u64()
	align := uint64(32)
	for i := uint64(0); i < nkv && r.err == nil; i++ {
		k := r.str()
		v, ok := r.skipValue(r.u32())
		if k == "general.alignment" && ok {
			align = v
		}
	}
	type info struct {
		name string
		ggufTensor
		off uint64
	}
	var infos []info
	for i := uint64(0); i < nt && r.err == nil; i++ {
		var in info
		in.name = r.str()
		nd := r.u32()
		for d := uint32(0); d < nd && d < 4; d++ {
			in.dims = append(in.dims, r.u64())
		}
		in.typ = r.u32()
		in.off = r.u64()
		infos = append(infos, in)
	}
	if r.err != nil {
		t.Fatalf("%s: %v", path, r.err)
	}
	start := (uint64(r.off) + align - 1) / align * align
	out := map[string]ggufTensor{}
	for _, in := range infos {
		bl, ok := ggufBlock[in.typ]
		if !ok {
			continue // a type these tests do not read
		}
		elems := uint64(1)
		for _, d := range in.dims {
			elems *= d
		}
		size := elems / uint64(bl[0]) * uint64(bl[1])
		lo := start + in.off
		if lo+size > uint64(len(b)) {
			t.Fatalf("%s: tensor %s out of the file", path, in.name)
		}
		in.data = b[lo : lo+size]
		out[in.name] = in.ggufTensor
	}
	return out
}

// readSafetensorsF32 reads every F32 tensor of a safetensors file and its
// metadata.
func readSafetensorsF32(t *testing.T, path string) (map[string][]float32, map[string]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b)
	var hdr map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
		t.Fatal(err)
	}
	data := b[8+n:]
	out := map[string][]float32{}
	meta := map[string]string{}
	for k, v := range hdr {
		if k == "__metadata__" {
			if err := json.Unmarshal(v, &meta); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var ti struct {
			Dtype   string
			Shape   []int
			Offsets [2]int `json:"data_offsets"`
		}
		if err := json.Unmarshal(v, &ti); err != nil || ti.Dtype != "F32" {
			t.Fatalf("%s: tensor %s: %v %s", path, k, err, ti.Dtype)
		}
		raw := data[ti.Offsets[0]:ti.Offsets[1]]
		f := make([]float32, len(raw)/4)
		for i := range f {
			f[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		out[k] = f
	}
	return out, meta
}

// q32Type describes one 32-element block type for the table-driven tests.
type q32Type struct {
	name     string
	ggmlType uint32
	bytes    int
	dequant  func([]float32, []byte)
	quantize func([]byte, []float32)
	matmul   func([]float32, int, []byte, []byte, int, int)
	generic  func([]float32, int, []byte, []byte, int, int, int)
	act      func([]byte, []float32)
}

var q32Types = []q32Type{
	{"Q8_0", 8, BlockBytesQ8_0, DequantQ8_0, QuantizeQ8_0, MatMulQ8_0, matMulQ8_0Generic, QuantizeActQ8_0},
	{"Q4_0", 2, BlockBytesQ4_0, DequantQ4_0, QuantizeQ4_0, MatMulQ4_0, matMulQ4_0Generic, QuantizeActQ8_0},
	{"Q4_1", 3, BlockBytesQ4_1, DequantQ4_1, QuantizeQ4_1, MatMulQ4_1, matMulQ4_1Generic, QuantizeActQ8_1},
	{"Q5_0", 6, BlockBytesQ5_0, DequantQ5_0, QuantizeQ5_0, MatMulQ5_0, matMulQ5_0Generic, QuantizeActQ8_0},
	{"Q5_1", 7, BlockBytesQ5_1, DequantQ5_1, QuantizeQ5_1, MatMulQ5_1, matMulQ5_1Generic, QuantizeActQ8_1},
}

const tinyLlama = "../testdata/gguf/tiny-llama"

// TestDequantQ32Fixtures dequantizes the first rows of each type's tensor
// and compares them bit for bit with gguf-py's dequantization.
func TestDequantQ32Fixtures(t *testing.T) {
	for _, ty := range q32Types {
		t.Run(ty.name, func(t *testing.T) {
			ref, meta := readSafetensorsF32(t, filepath.Join(tinyLlama, ty.name+".dequant.safetensors"))
			tensors := readGGUF(t, filepath.Join(tinyLlama, ty.name+".gguf"))
			rows, err := strconv.Atoi(meta["rows"])
			if err != nil {
				t.Fatalf("metadata rows: %v", meta)
			}
			checked := 0
			for name, want := range ref {
				tn, ok := tensors[name]
				if !ok || tn.typ != ty.ggmlType {
					continue // another type of the file (Q6_K output)
				}
				n := int(tn.dims[0])
				if len(want) != rows*n {
					t.Fatalf("%s: %d reference values, want %d rows of %d", name, len(want), rows, n)
				}
				got := make([]float32, rows*n)
				ty.dequant(got, tn.data[:rows*n/32*ty.bytes])
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s[%d] = %v (%08x), gguf-py %v (%08x)", name, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
					}
				}
				checked++
			}
			if checked == 0 {
				t.Fatalf("no %s tensor in the fixture (types %s)", ty.name, meta["types"])
			}
		})
	}
}

// TestQuantizeQ32Fixtures quantizes every tensor of F32.gguf that the
// type's fixture file holds in that type and compares the blocks with
// llama-quantize's (Q8_0: convert_hf_to_gguf's numpy quantizer, which
// divides by d instead of multiplying by 1/d, hence the allowance).
func TestQuantizeQ32Fixtures(t *testing.T) {
	f32 := readGGUF(t, filepath.Join(tinyLlama, "F32.gguf"))
	for _, ty := range q32Types {
		t.Run(ty.name, func(t *testing.T) {
			q := readGGUF(t, filepath.Join(tinyLlama, ty.name+".gguf"))
			blocks, same, tensors := 0, 0, 0
			for name, tn := range q {
				if tn.typ != ty.ggmlType {
					continue
				}
				src, ok := f32[name]
				if !ok || src.typ != 0 {
					t.Fatalf("%s: not an F32 tensor of F32.gguf", name)
				}
				x := make([]float32, len(src.data)/4)
				for i := range x {
					x[i] = math.Float32frombits(binary.LittleEndian.Uint32(src.data[4*i:]))
				}
				got := make([]byte, len(x)/32*ty.bytes)
				ty.quantize(got, x)
				if len(got) != len(tn.data) {
					t.Fatalf("%s: %d bytes, file has %d", name, len(got), len(tn.data))
				}
				for i := 0; i < len(got); i += ty.bytes {
					blocks++
					if string(got[i:i+ty.bytes]) == string(tn.data[i:i+ty.bytes]) {
						same++
					} else if blocks-same <= 3 {
						t.Logf("%s block %d: got % x, file % x", name, i/ty.bytes, got[i:i+ty.bytes], tn.data[i:i+ty.bytes])
					}
				}
				tensors++
			}
			if tensors == 0 {
				t.Fatal("no tensor of this type in the fixture")
			}
			t.Logf("%d tensors, %d/%d blocks identical", tensors, same, blocks)
			if float64(same) < 0.999*float64(blocks) {
				t.Fatalf("only %d of %d blocks identical to the file's", same, blocks)
			}
		})
	}
}

// TestQuantizeQ32RoundTrip checks the quantizers against their own
// definition on inputs made to hit the edges (zero blocks, one large
// value, negative maxima): dequantized values stay within their step.
func TestQuantizeQ32RoundTrip(t *testing.T) {
	const n = 32 * 8
	x := make([]float32, n)
	s := uint32(7)
	for i := range x {
		s = s*1664525 + 1013904223
		x[i] = float32(int32(s>>8)-1<<23) / (1 << 23)
	}
	for j := 0; j < 32; j++ {
		x[j] = 0 // an all-zero block
	}
	x[40] = -9  // a block with a dominant negative value
	x[70] = 100 // and a positive one
	for _, ty := range q32Types {
		q := make([]byte, n/32*ty.bytes)
		ty.quantize(q, x)
		y := make([]float32, n)
		ty.dequant(y, q)
		for b := 0; b < n/32; b++ {
			lo, hi := minMax(x[b*32 : b*32+32])
			amax := max(hi, -lo)
			// Half a step for the min/max types and Q8_0; the symmetric
			// 4/5-bit types clamp the end opposite the maximum's sign
			// (q = 16 -> 15), an error of up to one step there.
			var tol float32
			switch ty.name {
			case "Q8_0":
				tol = 0.51 * amax / 127
			case "Q4_0":
				tol = 1.01 * amax / 8
			case "Q5_0":
				tol = 1.01 * amax / 16
			case "Q4_1":
				tol = 0.51 * (hi - lo) / 15
			case "Q5_1":
				tol = 0.51 * (hi - lo) / 31
			}
			for j := b * 32; j < b*32+32; j++ {
				if e := abs32(y[j] - x[j]); e > tol+2e-3*amax {
					t.Errorf("%s: x[%d]=%v round-trips to %v (allowed error %v)", ty.name, j, x[j], y[j], tol)
				}
			}
		}
	}
}

// TestQuantizeActQ8 checks the activation quantizers' layout and
// rounding: q = round-half-even(x*127/amax), d and s fp16-rounded.
func TestQuantizeActQ8(t *testing.T) {
	x := make([]float32, 64)
	for i := range x {
		x[i] = float32(i-20) / 4
	}
	x[33] = 127.0 / 2 // second block: amax 127/2 -> id 2 exactly
	x[34] = 0.25      // 0.5 -> 0 (half to even)
	x[35] = 0.75      // 1.5 -> 2
	x[36] = -1.25     // -2.5 -> -2
	for i := 37; i < 64; i++ {
		x[i] = 0
	}
	x[32] = 0
	for _, withS := range []bool{false, true} {
		a := make([]byte, ActBytesQ8_0(64))
		if withS {
			QuantizeActQ8_1(a, x)
		} else {
			QuantizeActQ8_0(a, x)
		}
		r := splitAct(a, 64)
		want := []int{0, 127, 0, 2, -2}
		q1 := r.block(1)
		for j, w := range want {
			if got := q1[j]; got != w {
				t.Errorf("withS=%v: q[%d] = %d, want %d", withS, 32+j, got, w)
			}
		}
		if d := r.d(1); d != 0.5 {
			t.Errorf("d = %v, want 0.5", d)
		}
		sum := 0
		for _, q := range q1 {
			sum += q
		}
		if withS {
			if s := r.s(1); s != 0.5*float32(sum) {
				t.Errorf("s = %v, want %v", s, 0.5*float32(sum))
			}
		} else if got := int32(binary.LittleEndian.Uint32(r.ss[4:])); int(got) != sum {
			t.Errorf("sum = %d, want %d", got, sum)
		}
		// Block 0: amax 20/4 -> q = round(x*127/5).
		q0 := r.block(0)
		for j := 0; j < 32; j++ {
			id := float32(127) / 5
			if w := int(math.RoundToEven(float64(x[j] * id))); q0[j] != w {
				t.Errorf("q[%d] = %d, want %d", j, q0[j], w)
			}
		}
	}
}

// TestMatMulQ32Generic checks the reference products against a float64
// dot of the dequantized weights with the dequantized activations: the
// integer dot is exact, so the two agree to float32 rounding.
func TestMatMulQ32Generic(t *testing.T) {
	const n, rows, tt = 96, 5, 3
	for _, ty := range q32Types {
		w, a, x := q32Inputs(ty, n, rows, tt, 3)
		y := make([]float32, tt*rows)
		ty.generic(y, rows, w, a, n, tt, rows)
		wf := make([]float32, rows*n)
		ty.dequant(wf, w)
		for i := 0; i < tt; i++ {
			ar := splitAct(a[i*ActBytesQ8_0(n):], n)
			for r := 0; r < rows; r++ {
				var ref, mag float64
				var blk [32]int
				for j := 0; j < n; j++ {
					if j%32 == 0 {
						blk = ar.block(j / 32)
					}
					av := float64(blk[j%32]) * float64(ar.d(j/32))
					ref += float64(wf[r*n+j]) * av
					mag += math.Abs(float64(wf[r*n+j]) * av)
				}
				if strings.HasSuffix(ty.name, "_1") {
					// The m·s term uses s = fp16(d·Σq): allow its rounding.
					mag += 4 * float64(rows)
				}
				if d := math.Abs(float64(y[i*rows+r]) - ref); d > 1e-3*mag+1e-6 {
					t.Errorf("%s y[%d,%d] = %v, float64 reference %v", ty.name, i, r, y[i*rows+r], ref)
				}
				_ = x
			}
		}
	}
}

// q32Inputs makes rows random weight rows of n values quantized as ty and
// t activation rows quantized in ty's activation format.
func q32Inputs(ty q32Type, n, rows, t int, seed uint32) (w, a []byte, x []float32) {
	s := seed*2654435761 + 1
	rnd := func() float32 {
		s = s*1664525 + 1013904223
		return float32(int32(s>>8)-1<<23) / (1 << 23)
	}
	wf := make([]float32, rows*n)
	for i := range wf {
		wf[i] = rnd()
		if ty.name == "Q4_1" || ty.name == "Q5_1" {
			wf[i] += 0.3 // a non-zero minimum term
		}
	}
	w = make([]byte, rows*n/32*ty.bytes)
	ty.quantize(w, wf)
	ab := ActBytesQ8_0(n)
	a = make([]byte, t*ab)
	x = make([]float32, t*n)
	for i := range x {
		x[i] = rnd() * 3
	}
	for i := 0; i < t; i++ {
		ty.act(a[i*ab:(i+1)*ab], x[i*n:(i+1)*n])
	}
	return
}

// TestMatMulQ32Sets runs every product at every feature set against the
// pure-Go twin, over odd shapes and token counts 1..20 and 64, with a
// row stride wider than the row count.
func TestMatMulQ32Sets(t *testing.T) {
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	shapes := []struct{ n, rows int }{{32, 1}, {64, 3}, {96, 7}, {160, 17}, {256, 6}, {288, 33}, {448, 5}, {1024, 70}}
	ts := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 64}
	sets := FeatureSets()
	for _, ty := range q32Types {
		for si, sh := range shapes {
			for _, tt := range ts {
				if sh.n >= 1024 && tt > 8 && tt != 64 {
					continue // keep the big shape to a few token counts
				}
				w, a, _ := q32Inputs(ty, sh.n, sh.rows, tt, uint32(si*100+tt))
				if tt%5 == 1 {
					// Raw random blocks: every quant pattern (Q8_0's -128,
					// all fifth bits), not only what the quantizer makes.
					q32RawWeights(ty, w, uint32(si*100+tt))
				}
				ldy := sh.rows + 3
				want := make([]float32, tt*ldy)
				for i := range want {
					want[i] = -7
				}
				ty.generic(want, ldy, w, a, sh.n, tt, sh.rows)
				mag := q32Mag(ty, w, a, sh.n, sh.rows, tt)
				got := make([]float32, tt*ldy)
				for _, v := range q32Variants(sets) {
					f := v.f
					if err := v.install(); err != nil {
						t.Fatal(err)
					}
					for i := range got {
						got[i] = -7
					}
					ty.matmul(got, ldy, w, a, sh.n, tt)
					for i := 0; i < tt; i++ {
						for r := 0; r < ldy; r++ {
							g, wv := got[i*ldy+r], want[i*ldy+r]
							tol := 1e-5 * (abs32(wv) + mag[i*sh.rows+min(r, sh.rows-1)])
							if r >= sh.rows {
								tol = 0 // the padding must stay untouched
							}
							if abs32(g-wv) > tol || g != g {
								t.Fatalf("%s%s %s n=%d rows=%d t=%d: y[%d,%d] = %v, generic %v", f, v.note, ty.name, sh.n, sh.rows, tt, i, r, g, wv)
							}
						}
					}
				}
			}
		}
	}
}

// q32Mag returns, per output, the sum of the magnitudes of the products
// the dot adds up (from the dequantized weights and activations): the
// scale of the float rounding the assembly may differ from the twin by.
func q32Mag(ty q32Type, w, a []byte, n, rows, t int) []float32 {
	wf := make([]float32, rows*n)
	ty.dequant(wf, w)
	out := make([]float32, t*rows)
	for i := 0; i < t; i++ {
		ar := splitAct(a[i*ActBytesQ8_0(n):], n)
		for r := 0; r < rows; r++ {
			var m float32
			var blk [32]int
			for j := 0; j < n; j++ {
				if j%32 == 0 {
					blk = ar.block(j / 32)
				}
				m += abs32(wf[r*n+j] * float32(blk[j%32]) * ar.d(j/32))
			}
			out[i*rows+r] = m
		}
	}
	return out
}

// q32RawWeights overwrites w with random bytes, keeping every block's
// fp16 scale (and min) fields finite and moderate.
func q32RawWeights(ty q32Type, w []byte, seed uint32) {
	s := seed*2246822519 + 3
	for i := range w {
		s = s*1664525 + 1013904223
		w[i] = byte(s >> 24)
	}
	for i := 0; i < len(w); i += ty.bytes {
		w[i+1] = 0x20 | w[i+1]&0x83 // |d| in [2^-7, 2^-4)
		if ty.name == "Q4_1" || ty.name == "Q5_1" {
			w[i+3] = 0x20 | w[i+3]&0x83
		}
	}
}

// TestQ32ShapePanics checks that mismatched lengths are refused with a
// panic naming the function, before any kernel reads out of bounds.
func TestQ32ShapePanics(t *testing.T) {
	w := make([]byte, 2*BlockBytesQ4_0*2) // 2 rows of 64
	a := make([]byte, ActBytesQ8_0(64))
	y := make([]float32, 4)
	cases := map[string]func(){
		"n not a multiple of 32": func() { MatMulQ4_0(y, 2, w, a, 48, 1) },
		"w not whole rows":       func() { MatMulQ4_0(y, 2, w[:len(w)-1], a, 64, 1) },
		"a too short":            func() { MatMulQ4_0(y, 2, w, a[:len(a)-1], 64, 1) },
		"y too short":            func() { MatMulQ4_0(y[:1], 2, w, a, 64, 1) },
		"ldy below rows":         func() { MatMulQ4_0(y, 1, w, a, 64, 1) },
		"t zero":                 func() { MatMulQ4_0(y, 2, w, a, 64, 0) },
		"dequant lengths":        func() { DequantQ4_0(make([]float32, 64), w[:BlockBytesQ4_0]) },
		"quantize lengths":       func() { QuantizeQ8_0(make([]byte, 33), make([]float32, 32)) },
		"act lengths":            func() { QuantizeActQ8_0(a[:10], make([]float32, 64)) },
	}
	for name, f := range cases {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("%s: no panic", name)
				} else if !strings.HasPrefix(fmt.Sprint(r), "kernels: ") {
					t.Errorf("%s: panic %v", name, r)
				}
			}()
			f()
		}()
	}
}

// TestQuantizeActSets checks the activation quantizers of every feature
// set byte for byte against the Go loop, on blocks with ties (id = 1:
// x = k + 0.5), zeros, fp16-subnormal scales and odd block counts.
func TestQuantizeActSets(t *testing.T) {
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	for _, n := range []int{32, 64, 96, 160, 4096 + 32} {
		x := make([]float32, n)
		s := uint32(n)
		for i := range x {
			s = s*1664525 + 1013904223
			x[i] = float32(int32(s>>8)-1<<23) / (1 << 20)
		}
		for b := 0; b < n/32; b++ {
			xb := x[b*32 : b*32+32]
			switch b % 4 {
			case 1: // amax 127: id = 1, every x.5 a tie
				for j := range xb {
					xb[j] = float32(int(s>>uint(j%16))%200-100) + 0.5
				}
				xb[7] = -127
			case 2:
				clear(xb)
			case 3:
				for j := range xb {
					xb[j] *= 1e-8
				}
			}
		}
		for _, f := range FeatureSets() {
			if err := SetFeatures(f); err != nil {
				t.Fatal(err)
			}
			for _, act := range []func([]byte, []float32){QuantizeActQ8_0, QuantizeActQ8_1} {
				got := make([]byte, ActBytesQ8_0(n))
				want := make([]byte, ActBytesQ8_0(n))
				for i := range got {
					got[i], want[i] = 0xa5, 0x5a // every byte must be written
				}
				act(got, x)
				saved := actAsm
				actAsm = nil
				act(want, x)
				actAsm = saved
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("%s n=%d: byte %d = %#x, Go %#x", f, n, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// q32Variant is a feature set as the tests install it, with a note naming
// kernels chosen other than by default (q32Variants, per architecture).
type q32Variant struct {
	f       Features
	note    string
	install func() error
}
