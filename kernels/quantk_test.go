package kernels

// Tests of the K-quant types against llama.cpp's own output: the tiny-llama
// GGUF files that llama-quantize wrote from F32.gguf, and the gguf-py
// dequantization of their first rows. The GGUF and safetensors readers
// here are test-only and minimal (kernels imports nothing of ours).

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

const kTinyDir = "../testdata/gguf/tiny-llama"

// ggml type ids (ggml.h) of the types the tests read.
const (
	kGGMLF32 = 0
	kGGMLQ2K = 10
	kGGMLQ3K = 11
	kGGMLQ4K = 12
	kGGMLQ5K = 13
	kGGMLQ6K = 14
)

type kTensor struct {
	typ  uint32
	dims []uint64
	data []byte // from the tensor's offset to the end of the file
}

// kReadGGUF returns the tensors of a GGUF v2/v3 file by name.
func kReadGGUF(t *testing.T, path string) map[string]kTensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := 0
	u32 := func() uint32 { v := binary.LittleEndian.Uint32(b[p:]); p += 4; return v }
	u64 := func() uint64 { v := binary.LittleEndian.Uint64(b[p:]); p += 8; return v }
	str := func() string { n := int(u64()); s := string(b[p : p+n]); p += n; return s }
	if string(b[:4]) != "GGUF" {
		t.Fatalf("%s: not a GGUF file", path)
	}
	p = 4
	u32() // version
	nt, nkv := u64(), u64()
	sizes := map[uint32]int{0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
	align := uint64(32)
	var skip func(typ uint32)
	skip = func(typ uint32) {
		switch typ {
		case 8:
			str()
		case 9:
			et, n := u32(), u64()
			for range n {
				skip(et)
			}
		default:
			p += sizes[typ]
		}
	}
	for range nkv {
		key := str()
		typ := u32()
		if key == "general.alignment" && typ == 4 {
			align = uint64(u32())
			continue
		}
		skip(typ)
	}
	type info struct {
		name string
		kTensor
		off uint64
	}
	var infos []info
	for range nt {
		var in info
		in.name = str()
		nd := u32()
		for range nd {
			in.dims = append(in.dims, u64())
		}
		in.typ = u32()
		in.off = u64()
		infos = append(infos, in)
	}
	base := (uint64(p) + align - 1) / align * align
	out := map[string]kTensor{}
	for _, in := range infos {
		in.data = b[base+in.off:]
		out[in.name] = in.kTensor
	}
	return out
}

// kReadSafetensors returns the F32 tensors and the metadata of a file.
func kReadSafetensors(t *testing.T, path string) (map[string][]float32, map[string]string) {
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
		var e struct {
			Dtype   string `json:"dtype"`
			Offsets []int  `json:"data_offsets"`
		}
		if err := json.Unmarshal(v, &e); err != nil || e.Dtype != "F32" {
			t.Fatalf("%s: %s: unexpected entry %s", path, k, v)
		}
		raw := data[e.Offsets[0]:e.Offsets[1]]
		f := make([]float32, len(raw)/4)
		for i := range f {
			f[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		out[k] = f
	}
	return out, meta
}

type kType struct {
	name       string
	ggml       uint32
	blockBytes int
	dequant    func([]float32, []byte)
	quantize   func([]byte, []float32)
	matMul     func(y []float32, ldy int, w, a []byte, n, t int)
	generic    func(y []float32, ldy int, w, a []byte, n, t int)
}

var kTypes = []kType{
	{"Q2_K", kGGMLQ2K, BlockBytesQ2_K, DequantQ2_K, QuantizeQ2_K, MatMulQ2_K, matMulQ2KGeneric},
	{"Q3_K", kGGMLQ3K, BlockBytesQ3_K, DequantQ3_K, QuantizeQ3_K, MatMulQ3_K, matMulQ3KGeneric},
	{"Q4_K", kGGMLQ4K, BlockBytesQ4_K, DequantQ4_K, QuantizeQ4_K, MatMulQ4_K, matMulQ4KGeneric},
	{"Q5_K", kGGMLQ5K, BlockBytesQ5_K, DequantQ5_K, QuantizeQ5_K, MatMulQ5_K, matMulQ5KGeneric},
	{"Q6_K", kGGMLQ6K, BlockBytesQ6_K, DequantQ6_K, QuantizeQ6_K, MatMulQ6_K, matMulQ6KGeneric},
}

func kTypeOf(ggml uint32) *kType {
	for i := range kTypes {
		if kTypes[i].ggml == ggml {
			return &kTypes[i]
		}
	}
	return nil
}

var kFiles = []string{"Q2_K", "Q3_K_M", "Q4_K_S", "Q4_K_M", "Q5_K_M", "Q6_K"}

// TestDequantKFixtures dequantizes the first rows of every K-quant tensor
// that the fixtures list and compares bit for bit with gguf-py's values.
func TestDequantKFixtures(t *testing.T) {
	seen := map[string]int{}
	for _, f := range kFiles {
		tensors := kReadGGUF(t, filepath.Join(kTinyDir, f+".gguf"))
		want, meta := kReadSafetensors(t, filepath.Join(kTinyDir, f+".dequant.safetensors"))
		rows, _ := strconv.Atoi(meta["rows"])
		for name, w := range want {
			tn, ok := tensors[name]
			if !ok {
				t.Fatalf("%s: no tensor %s", f, name)
			}
			kt := kTypeOf(tn.typ)
			if kt == nil {
				continue
			}
			n := int(tn.dims[0])
			if len(w) != rows*n {
				t.Fatalf("%s %s: %d values, want %d rows of %d", f, name, len(w), rows, n)
			}
			got := make([]float32, len(w))
			kt.dequant(got, tn.data[:len(w)/kQK*kt.blockBytes])
			bad := 0
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(w[i]) {
					if bad < 3 {
						t.Errorf("%s %s (%s) [%d]: got %g, want %g", f, name, kt.name, i, got[i], w[i])
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%s %s (%s): %d of %d values differ", f, name, kt.name, bad, len(got))
			}
			seen[kt.name]++
		}
	}
	for _, kt := range kTypes {
		if seen[kt.name] == 0 {
			t.Errorf("no fixture covers %s", kt.name)
		}
	}
}

// TestQuantizeKFixtures quantizes every K-quant tensor of the fixture
// files from F32.gguf, as llama-quantize did, and compares the blocks.
func TestQuantizeKFixtures(t *testing.T) {
	src := kReadGGUF(t, filepath.Join(kTinyDir, "F32.gguf"))
	type count struct{ same, total int }
	counts := map[string]*count{}
	for _, f := range kFiles {
		tensors := kReadGGUF(t, filepath.Join(kTinyDir, f+".gguf"))
		for name, tn := range tensors {
			kt := kTypeOf(tn.typ)
			if kt == nil {
				continue
			}
			s, ok := src[name]
			if !ok || s.typ != kGGMLF32 {
				t.Fatalf("F32.gguf: no F32 tensor %s", name)
			}
			nel := 1
			for _, d := range tn.dims {
				nel *= int(d)
			}
			x := make([]float32, nel)
			for i := range x {
				x[i] = math.Float32frombits(binary.LittleEndian.Uint32(s.data[4*i:]))
			}
			nb := nel / kQK
			got := make([]byte, nb*kt.blockBytes)
			kt.quantize(got, x)
			want := tn.data[:len(got)]
			c := counts[kt.name]
			if c == nil {
				c = &count{}
				counts[kt.name] = c
			}
			for b := 0; b < nb; b++ {
				g, w := got[b*kt.blockBytes:(b+1)*kt.blockBytes], want[b*kt.blockBytes:(b+1)*kt.blockBytes]
				c.total++
				if string(g) == string(w) {
					c.same++
					continue
				}
				// A block that differs must still decode to nearly the same
				// values: a rounding tie taken the other way moves one
				// scale or quant by one step, never more.
				kCheckNear(t, kt, f+" "+name+" block "+strconv.Itoa(b), g, w, x[b*kQK:(b+1)*kQK])
			}
		}
	}
	for _, kt := range kTypes {
		c := counts[kt.name]
		if c == nil {
			t.Errorf("%s: no fixture tensor", kt.name)
			continue
		}
		t.Logf("%s: %d of %d blocks identical", kt.name, c.same, c.total)
		if c.same*1000 < c.total*999 {
			t.Errorf("%s: only %d of %d blocks identical to llama-quantize's", kt.name, c.same, c.total)
		}
	}
}

// kCheckNear fails unless the two blocks' reconstruction errors of x
// are within 10% (plus a little absolute slack) of each other.
func kCheckNear(t *testing.T, kt *kType, what string, got, want []byte, x []float32) {
	t.Helper()
	g, w := make([]float32, kQK), make([]float32, kQK)
	kt.dequant(g, got)
	kt.dequant(w, want)
	var eg, ew, amax float64
	for i := range x {
		eg += math.Pow(float64(g[i]-x[i]), 2)
		ew += math.Pow(float64(w[i]-x[i]), 2)
		amax = math.Max(amax, math.Abs(float64(x[i])))
	}
	if math.Abs(eg-ew) > 0.1*ew+1e-6*amax*amax {
		t.Errorf("%s (%s): block differs beyond a rounding tie: squared error %g vs llama.cpp's %g", what, kt.name, eg, ew)
	}
}

// kRandRow fills x with values of a spread of magnitudes, with a few
// exact zeros, ties and outliers that exercise the quantizers' edges.
func kRandRow(r *rand.Rand, x []float32) {
	for i := range x {
		switch r.IntN(40) {
		case 0:
			x[i] = 0
		case 1:
			x[i] = float32(r.NormFloat64() * 8)
		default:
			x[i] = float32(r.NormFloat64())
		}
	}
}

// TestQuantizeActQ8K checks the activation quantizer against a direct
// evaluation of its definition.
func TestQuantizeActQ8K(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 3*kQK)
	kRandRow(r, x)
	copy(x[kQK:2*kQK], make([]float32, kQK)) // an all-zero block
	a := make([]byte, ActBytesQ8_K(len(x)))
	QuantizeActQ8_K(a, x)
	for b := 0; b < 3; b++ {
		xb := x[b*kQK : (b+1)*kQK]
		ab := a[b*kQ8KBytes:]
		var amax float64
		for _, v := range xb {
			amax = math.Max(amax, math.Abs(float64(v)))
		}
		d := kActD(ab)
		if amax == 0 {
			if d != 0 {
				t.Fatalf("block %d: zero block has d = %g", b, d)
			}
			continue
		}
		if math.Abs(math.Abs(float64(d))-amax/127) > 1e-6*amax {
			t.Fatalf("block %d: |d| = %g, want %g", b, d, amax/127)
		}
		q := kActQs(ab)
		for j := 0; j < 16; j++ {
			s := 0
			for i := 0; i < 16; i++ {
				v := float64(xb[16*j+i]) / float64(d)
				if math.Abs(v-float64(q[16*j+i])) > 0.5+1e-4 {
					t.Fatalf("block %d [%d]: q = %d for x/d = %g", b, 16*j+i, q[16*j+i], v)
				}
				s += int(q[16*j+i])
			}
			if kActBsum(ab, j) != s {
				t.Fatalf("block %d: bsum %d = %d, want %d", b, j, kActBsum(ab, j), s)
			}
		}
		for j := 0; j < 8; j++ {
			if got := int(int16(binary.LittleEndian.Uint16(ab[kQ8KBsum32+2*kBsum32Slot(j):]))); got != kActBsum(ab, 2*j)+kActBsum(ab, 2*j+1) {
				t.Fatalf("block %d: bsum32 %d = %d", b, j, got)
			}
		}
	}
}

// kRandWeights quantizes random rows into a weight matrix of type kt.
func kRandWeights(r *rand.Rand, kt *kType, rows, n int) []byte {
	x := make([]float32, rows*n)
	kRandRow(r, x)
	w := make([]byte, rows*n/kQK*kt.blockBytes)
	kt.quantize(w, x)
	return w
}

func kRandActs(r *rand.Rand, t, n int) []byte {
	x := make([]float32, t*n)
	kRandRow(r, x)
	a := make([]byte, ActBytesQ8_K(n)*t)
	for i := 0; i < t; i++ {
		QuantizeActQ8_K(a[i*ActBytesQ8_K(n):(i+1)*ActBytesQ8_K(n)], x[i*n:(i+1)*n])
	}
	return a
}

// TestMatMulKGeneric checks the pure-Go products against float64 dot
// products of the dequantized weights and activations.
func TestMatMulKGeneric(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const rows, n, tt = 5, 512, 3
	for i := range kTypes {
		kt := &kTypes[i]
		w := kRandWeights(r, kt, rows, n)
		a := kRandActs(r, tt, n)
		y := make([]float32, tt*rows)
		kt.generic(y, rows, w, a, n, tt)
		wf := make([]float32, rows*n)
		kt.dequant(wf, w)
		for ti := 0; ti < tt; ti++ {
			ab := a[ti*ActBytesQ8_K(n):]
			for r := 0; r < rows; r++ {
				var s, sabs float64
				for b := 0; b < n/kQK; b++ {
					d := float64(kActD(ab[b*kQ8KBytes:]))
					q := kActQs(ab[b*kQ8KBytes:])
					for e := 0; e < kQK; e++ {
						p := float64(wf[r*n+b*kQK+e]) * d * float64(q[e])
						s += p
						sabs += math.Abs(p)
					}
				}
				if got := float64(y[ti*rows+r]); math.Abs(got-s) > 1e-5*sabs+1e-6 {
					t.Errorf("%s: y[%d,%d] = %g, want %g", kt.name, ti, r, got, s)
				}
			}
		}
	}
}

// TestQuantizeKRoundTrip checks that every quantizer reconstructs random
// data to within the precision its bit width allows, a property test
// that covers inputs the fixtures do not (outliers, zeros).
func TestQuantizeKRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	bound := map[string]float64{"Q2_K": 0.6, "Q3_K": 0.35, "Q4_K": 0.15, "Q5_K": 0.08, "Q6_K": 0.04}
	x := make([]float32, 16*kQK)
	kRandRow(r, x)
	copy(x[:kQK], make([]float32, kQK)) // an all-zero block
	for i := range kTypes {
		kt := &kTypes[i]
		q := make([]byte, len(x)/kQK*kt.blockBytes)
		kt.quantize(q, x)
		y := make([]float32, len(x))
		kt.dequant(y, q)
		var e2, x2 float64
		for j := range x {
			e2 += math.Pow(float64(y[j]-x[j]), 2)
			x2 += float64(x[j]) * float64(x[j])
		}
		for j := 0; j < kQK; j++ {
			if y[j] != 0 {
				t.Fatalf("%s: zero block decodes to %g", kt.name, y[j])
			}
		}
		if rel := math.Sqrt(e2 / x2); rel > bound[kt.name] {
			t.Errorf("%s: relative RMS error %.3f > %.3f", kt.name, rel, bound[kt.name])
		} else {
			t.Logf("%s: relative RMS error %.4f", kt.name, rel)
		}
	}
}

func TestMatMulKShapePanics(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"n not multiple", func() { MatMulQ4_K(make([]float32, 1), 1, make([]byte, 144), make([]byte, 384), 128, 1) }},
		{"short a", func() { MatMulQ4_K(make([]float32, 1), 1, make([]byte, 144), make([]byte, 100), 256, 1) }},
		{"short y", func() { MatMulQ6_K(make([]float32, 1), 1, make([]byte, 420), make([]byte, 384), 256, 1) }},
		{"ragged w", func() { MatMulQ5_K(make([]float32, 4), 2, make([]byte, 200), make([]byte, 384), 256, 1) }},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.name)
				}
			}()
			c.f()
		}()
	}
}

var _ = fmt.Sprint

// kAbsDots returns, per (activation row, weight row), the sum of the
// magnitudes of the products of the dequantized values: the scale of the
// float rounding that the kernels may differ by.
func kAbsDots(kt *kType, w, a []byte, n, t int) []float64 {
	rows := len(w) / (n / kQK * kt.blockBytes)
	wf := make([]float32, rows*n)
	kt.dequant(wf, w)
	out := make([]float64, t*rows)
	for i := 0; i < t; i++ {
		ab := a[i*ActBytesQ8_K(n):]
		for r := 0; r < rows; r++ {
			var s float64
			for b := 0; b < n/kQK; b++ {
				d := math.Abs(float64(kActD(ab[b*kQ8KBytes:])))
				q := kActQs(ab[b*kQ8KBytes:])
				for e := 0; e < kQK; e++ {
					s += math.Abs(float64(wf[r*n+b*kQK+e])*float64(q[e])) * d
				}
			}
			out[i*rows+r] = s
		}
	}
	return out
}

// TestMatMulKFeatures runs every K-quant product at every feature set the
// machine has against the pure-Go twin: odd row counts and whole blocks
// of 16 rows (the few-token kernels'), t = 1..20 and 64,
// and a row stride ldy wider than the rows.
func TestMatMulKFeatures(t *testing.T) {
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	r := rand.New(rand.NewPCG(7, 8))
	type shape struct{ rows, n int }
	// Below 16 rows and, for the few-token kernels, whole blocks of 16
	// rows with and without a tail.
	shapes := []shape{{1, 256}, {7, 512}, {13, 1024}, {3, 2048}, {16, 256}, {37, 512}, {48, 1024}}
	ts := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 64}
	for i := range kTypes {
		kt := &kTypes[i]
		for _, sh := range shapes {
			w := kRandWeights(r, kt, sh.rows, sh.n)
			a := kRandActs(r, 64, sh.n)
			for _, tt := range ts {
				kCheckFeatureSets(t, kt, w, a, sh.rows, sh.n, tt)
			}
		}
	}
}

// kCheckFeatureSets runs kt's product of tt activation rows a by the
// weight rows w at every feature set against the generic product (see
// kCheckProduct).
func kCheckFeatureSets(t *testing.T, kt *kType, w, a []byte, rows, n, tt int) {
	t.Helper()
	want, abs := kWant(kt, w, a, rows, n, tt)
	for _, f := range FeatureSets() {
		if err := SetFeatures(f); err != nil {
			t.Fatal(err)
		}
		kCheckProduct(t, kt.name+" "+f.String(), rows, n, tt, want, abs, func(y []float32, ldy int) {
			kt.matMul(y, ldy, w, a, n, tt)
		})
	}
}

// kWant is the generic product of tt activation rows a by the weight rows
// w, into ldy = rows+3, and each dot's absolute scale, for kCheckProduct.
func kWant(kt *kType, w, a []byte, rows, n, tt int) (want []float32, abs []float64) {
	want = make([]float32, tt*(rows+3))
	kt.generic(want, rows+3, w, a, n, tt)
	return want, kAbsDots(kt, w, a, n, tt)
}

// kCheckProduct runs mul, a product of tt activation rows into y with
// ldy = rows+3, and checks it against kWant's want: within 1e-5 of each
// dot's absolute scale abs, no NaN where want has a number, and the gaps
// between result rows untouched.
func kCheckProduct(t *testing.T, name string, rows, n, tt int, want []float32, abs []float64, mul func(y []float32, ldy int)) {
	t.Helper()
	ldy := rows + 3
	got := make([]float32, tt*ldy)
	for j := range got {
		got[j] = -7 // the gaps between rows must stay untouched
	}
	mul(got, ldy)
	for ti := 0; ti < tt; ti++ {
		for rr := 0; rr < ldy; rr++ {
			g := got[ti*ldy+rr]
			if rr >= rows {
				if g != -7 {
					t.Fatalf("%s: wrote y[%d,%d] past the rows", name, ti, rr)
				}
				continue
			}
			wv := want[ti*ldy+rr]
			if math.Abs(float64(g-wv)) > 1e-5*abs[ti*rows+rr]+1e-30 || g != g && wv == wv {
				t.Fatalf("%s rows=%d n=%d t=%d: y[%d,%d] = %g, generic %g (scale %g)", name, rows, n, tt, ti, rr, g, wv, abs[ti*rows+rr])
			}
		}
	}
}

// TestQuantizeActQ8KFeatures checks that QuantizeActQ8_K writes the same
// bytes as its Go loop at every feature set, on blocks that reach every
// branch: random values, zeros, equal magnitudes of both signs (the
// first decides the scale's sign), NaN (never the maximum), ±Inf,
// subnormals, huge values and garbage in the destination.
func TestQuantizeActQ8KFeatures(t *testing.T) {
	prev := CurrentFeatures()
	defer SetFeatures(prev)
	r := rand.New(rand.NewPCG(5, 6))
	const nb = 12
	x := make([]float32, nb*kQK)
	kRandRow(r, x)
	blk := func(b int) []float32 { return x[b*kQK : (b+1)*kQK] }
	clear(blk(1))                       // all zero
	blk(2)[200], blk(2)[7] = -100, 100  // tie: +100 at 7 comes first
	blk(3)[5], blk(3)[250] = -100, 100  // tie: -100 first
	blk(4)[0] = float32(math.NaN())     // NaN is never the maximum,
	blk(4)[240] = float32(math.NaN())   // first, or lane 0 of the last
	blk(4)[248] = float32(math.NaN())   // zmm (240) and ymm (248)
	blk(5)[100] = float32(math.Inf(-1)) // -Inf: a zero scale
	blk(6)[33] = float32(math.Inf(1))   // +Inf
	for i := range blk(7) {             // all NaN: a zero block
		blk(7)[i] = float32(math.NaN())
	}
	for i := range blk(8) { // subnormals only
		blk(8)[i] = math.Float32frombits(uint32(r.IntN(1 << 23)))
	}
	blk(9)[17] = 3e38 // huge
	blk(10)[255] = -1e-30
	blk(11)[128] = -0.0
	for _, f := range FeatureSets() {
		if err := SetFeatures(f); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{kQK, 3 * kQK, nb * kQK} {
			want := make([]byte, ActBytesQ8_K(n))
			quantizeActQ8KGo(want, x[:n])
			got := make([]byte, len(want))
			for i := range got {
				got[i] = byte(r.Uint32())
			}
			QuantizeActQ8_K(got, x[:n])
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s n=%d: byte %d (block %d, offset %d) = %#x, Go %#x", f, n, i, i/kQ8KBytes, i%kQ8KBytes, got[i], want[i])
				}
			}
		}
	}
}
