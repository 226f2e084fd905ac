package kernels

// The 32-element block types of ggml (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1): their
// dequantizers, llama.cpp's reference quantizers, the activation formats
// their dot products take (Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1) and
// the matrix products. The bit layouts are ggml's (ggml-common.h); the
// arithmetic follows ggml-quants.c and the scalar vec_dot references of
// ggml-cpu-quants.c in float32, in the same order, so that the pure-Go
// versions here are the twins the assembly is tested against.

import (
	"encoding/binary"
	"math"
)

// Bytes per 32-element block of each weight type.
const (
	BlockBytesQ8_0 = 34 // f16 d; i8 qs[32]
	BlockBytesQ4_0 = 18 // f16 d; u8 qs[16]
	BlockBytesQ4_1 = 20 // f16 d; f16 m; u8 qs[16]
	BlockBytesQ5_0 = 22 // f16 d; u8 qh[4]; u8 qs[16]
	BlockBytesQ5_1 = 24 // f16 d; f16 m; u8 qh[4]; u8 qs[16]
)

// qk is the number of elements of one block of these types.
const qk = 32

// checkBlocks panics unless dst holds len(src)/bytes blocks of 32 values.
func checkBlocks(name string, nvals, nbytes, bytes int) int {
	if nvals%qk != 0 || nbytes != nvals/qk*bytes {
		panic("kernels: " + name + ": length mismatch (want len(bytes) = len(floats)/32*" + itoa(bytes) + ")")
	}
	return nvals / qk
}

// itoa is strconv.Itoa without the import, for panic messages.
func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := v < 0
	if neg {
		v = -v
	}
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

func f16at(b []byte, off int) float32 { return F16ToFloat(binary.LittleEndian.Uint16(b[off:])) }

// DequantQ8_0 expands Q8_0 blocks: dst[32*i+j] = qs[j]*d.
func DequantQ8_0(dst []float32, src []byte) {
	nb := checkBlocks("DequantQ8_0", len(dst), len(src), BlockBytesQ8_0)
	for i := 0; i < nb; i++ {
		b := src[i*BlockBytesQ8_0 : (i+1)*BlockBytesQ8_0]
		d := f16at(b, 0)
		y := dst[i*qk : (i+1)*qk]
		for j := range y {
			y[j] = float32(int8(b[2+j])) * d
		}
	}
}

// DequantQ4_0 expands Q4_0 blocks: the low nibbles are elements 0-15, the
// high nibbles 16-31, each (q-8)*d.
func DequantQ4_0(dst []float32, src []byte) {
	nb := checkBlocks("DequantQ4_0", len(dst), len(src), BlockBytesQ4_0)
	for i := 0; i < nb; i++ {
		b := src[i*BlockBytesQ4_0 : (i+1)*BlockBytesQ4_0]
		d := f16at(b, 0)
		y := dst[i*qk : (i+1)*qk]
		for j := 0; j < 16; j++ {
			q := b[2+j]
			y[j] = float32(int(q&15)-8) * d
			y[j+16] = float32(int(q>>4)-8) * d
		}
	}
}

// DequantQ4_1 expands Q4_1 blocks: q*d + m (two roundings, as ggml's C
// and gguf-py compute it; the explicit conversion keeps Go from fusing).
func DequantQ4_1(dst []float32, src []byte) {
	nb := checkBlocks("DequantQ4_1", len(dst), len(src), BlockBytesQ4_1)
	for i := 0; i < nb; i++ {
		b := src[i*BlockBytesQ4_1 : (i+1)*BlockBytesQ4_1]
		d, m := f16at(b, 0), f16at(b, 2)
		y := dst[i*qk : (i+1)*qk]
		for j := 0; j < 16; j++ {
			q := b[4+j]
			y[j] = float32(float32(q&15)*d) + m
			y[j+16] = float32(float32(q>>4)*d) + m
		}
	}
}

// q5 returns the 5-bit values of elements j and j+16 of a Q5 block from
// its qs byte and its qh word: bit j of qh is element j's fifth bit.
func q5(qs byte, qh uint32, j int) (lo, hi int) {
	lo = int(qs&15) | int((qh>>uint(j))<<4)&0x10
	hi = int(qs>>4) | int(qh>>uint(j+12))&0x10
	return
}

// DequantQ5_0 expands Q5_0 blocks: (q5-16)*d.
func DequantQ5_0(dst []float32, src []byte) {
	nb := checkBlocks("DequantQ5_0", len(dst), len(src), BlockBytesQ5_0)
	for i := 0; i < nb; i++ {
		b := src[i*BlockBytesQ5_0 : (i+1)*BlockBytesQ5_0]
		d := f16at(b, 0)
		qh := binary.LittleEndian.Uint32(b[2:])
		y := dst[i*qk : (i+1)*qk]
		for j := 0; j < 16; j++ {
			lo, hi := q5(b[6+j], qh, j)
			y[j] = float32(lo-16) * d
			y[j+16] = float32(hi-16) * d
		}
	}
}

// DequantQ5_1 expands Q5_1 blocks: q5*d + m.
func DequantQ5_1(dst []float32, src []byte) {
	nb := checkBlocks("DequantQ5_1", len(dst), len(src), BlockBytesQ5_1)
	for i := 0; i < nb; i++ {
		b := src[i*BlockBytesQ5_1 : (i+1)*BlockBytesQ5_1]
		d, m := f16at(b, 0), f16at(b, 2)
		qh := binary.LittleEndian.Uint32(b[4:])
		y := dst[i*qk : (i+1)*qk]
		for j := 0; j < 16; j++ {
			lo, hi := q5(b[8+j], qh, j)
			y[j] = float32(float32(lo)*d) + m
			y[j+16] = float32(float32(hi)*d) + m
		}
	}
}

func putF16(b []byte, f float32) { binary.LittleEndian.PutUint16(b, FloatToF16(f)) }

// absMaxSigned returns the value of largest magnitude (the first one on
// ties) and that magnitude, as quantize_row_q4_0_ref scans for it.
func absMaxSigned(x []float32) (mx, amax float32) {
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, mx = a, v
		}
	}
	return
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// minMax returns the minimum and maximum of x from FLT_MAX/-FLT_MAX
// starts, as the Q4_1/Q5_1 reference quantizers compute them.
func minMax(x []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return
}

// recip is ggml's id = d ? 1/d : 0.
func recip(d float32) float32 {
	if d == 0 {
		return 0
	}
	return 1 / d
}

// QuantizeQ8_0 is quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d)
// with the reciprocal multiplied (roundf rounds half away from zero).
func QuantizeQ8_0(dst []byte, src []float32) {
	nb := checkBlocks("QuantizeQ8_0", len(src), len(dst), BlockBytesQ8_0)
	for i := 0; i < nb; i++ {
		x := src[i*qk : (i+1)*qk]
		b := dst[i*BlockBytesQ8_0 : (i+1)*BlockBytesQ8_0]
		var amax float32
		for _, v := range x {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		id := recip(d)
		putF16(b, d)
		for j, v := range x {
			b[2+j] = byte(int8(math.Round(float64(v * id))))
		}
	}
}

// QuantizeQ4_0 is quantize_row_q4_0_ref: d = max/-8 for the signed value
// of largest magnitude, q = min(15, trunc(x/d + 8.5)).
func QuantizeQ4_0(dst []byte, src []float32) {
	nb := checkBlocks("QuantizeQ4_0", len(src), len(dst), BlockBytesQ4_0)
	for i := 0; i < nb; i++ {
		x := src[i*qk : (i+1)*qk]
		b := dst[i*BlockBytesQ4_0 : (i+1)*BlockBytesQ4_0]
		mx, _ := absMaxSigned(x)
		d := mx / -8
		id := recip(d)
		putF16(b, d)
		for j := 0; j < 16; j++ {
			lo := min(15, int8(float32(x[j]*id)+8.5))
			hi := min(15, int8(float32(x[j+16]*id)+8.5))
			b[2+j] = byte(lo) | byte(hi)<<4
		}
	}
}

// QuantizeQ4_1 is quantize_row_q4_1_ref: d = (max-min)/15, m = min,
// q = min(15, trunc((x-min)/d + 0.5)).
func QuantizeQ4_1(dst []byte, src []float32) {
	nb := checkBlocks("QuantizeQ4_1", len(src), len(dst), BlockBytesQ4_1)
	for i := 0; i < nb; i++ {
		x := src[i*qk : (i+1)*qk]
		b := dst[i*BlockBytesQ4_1 : (i+1)*BlockBytesQ4_1]
		lo, hi := minMax(x)
		d := (hi - lo) / 15
		id := recip(d)
		putF16(b, d)
		putF16(b[2:], lo)
		for j := 0; j < 16; j++ {
			q0 := min(15, int8(float32((x[j]-lo)*id)+0.5))
			q1 := min(15, int8(float32((x[j+16]-lo)*id)+0.5))
			b[4+j] = byte(q0) | byte(q1)<<4
		}
	}
}

// QuantizeQ5_0 is quantize_row_q5_0_ref: d = max/-16, q =
// min(31, trunc(x/d + 16.5)), the fifth bits gathered in qh.
func QuantizeQ5_0(dst []byte, src []float32) {
	nb := checkBlocks("QuantizeQ5_0", len(src), len(dst), BlockBytesQ5_0)
	for i := 0; i < nb; i++ {
		x := src[i*qk : (i+1)*qk]
		b := dst[i*BlockBytesQ5_0 : (i+1)*BlockBytesQ5_0]
		mx, _ := absMaxSigned(x)
		d := mx / -16
		id := recip(d)
		putF16(b, d)
		var qh uint32
		for j := 0; j < 16; j++ {
			q0 := uint8(min(31, int8(float32(x[j]*id)+16.5)))
			q1 := uint8(min(31, int8(float32(x[j+16]*id)+16.5)))
			b[6+j] = q0&15 | (q1&15)<<4
			qh |= uint32(q0>>4&1)<<uint(j) | uint32(q1>>4&1)<<uint(j+16)
		}
		binary.LittleEndian.PutUint32(b[2:], qh)
	}
}

// QuantizeQ5_1 is quantize_row_q5_1_ref: d = (max-min)/31, m = min,
// q = trunc((x-min)/d + 0.5) (the reference has no clamp here).
func QuantizeQ5_1(dst []byte, src []float32) {
	nb := checkBlocks("QuantizeQ5_1", len(src), len(dst), BlockBytesQ5_1)
	for i := 0; i < nb; i++ {
		x := src[i*qk : (i+1)*qk]
		b := dst[i*BlockBytesQ5_1 : (i+1)*BlockBytesQ5_1]
		lo, hi := minMax(x)
		d := (hi - lo) / 31
		id := recip(d)
		putF16(b, d)
		putF16(b[2:], lo)
		var qh uint32
		for j := 0; j < 16; j++ {
			q0 := uint8(float32((x[j]-lo)*id) + 0.5)
			q1 := uint8(float32((x[j+16]-lo)*id) + 0.5)
			b[8+j] = q0&15 | (q1&15)<<4
			qh |= uint32(q0>>4&1)<<uint(j) | uint32(q1>>4&1)<<uint(j+16)
		}
		binary.LittleEndian.PutUint32(b[4:], qh)
	}
}

// Activation rows. Both formats hold, for a row of n = 32*nb values with
// nb rounded up to an even np2 = 2*np (an odd row ends with a zero block
// of scale 0):
//
//	[np][64]int8 qs      the quants of blocks 2p and 2p+1 interleaved by
//	                     4-byte groups (A0 B0 A1 B1 ... A7 B7): SIMD code
//	                     multiplies one register of activations by the
//	                     weights of two blocks unpacked side by side, and
//	                     the int32 lanes of the products then alternate
//	                     between the two blocks
//	[np][16]int32 ls     -8 times the sum of each 4-byte group of qs: the
//	                     lane corrections of weights stored with an
//	                     offset (Σ(q-8)·a = Σq·a + ls; Q5_0 doubles it,
//	                     Q8_0's +128 multiplies it by 16), unsigned q
//	                     being what the u8×s8 instructions multiply
//	[np2]float32 d       each block's scale, the fp16-rounded value
//	                     llama.cpp stores, widened
//	[np2]float32 s       Q8_1: fp16(d·Σq) widened, llama.cpp's s;
//	                     Q8_0: Σq as an int32
//
// so 72 bytes per block. The layout never leaves this package.
const actPairBytes = 144

// actPairs is the number of block pairs of an activation row of n values.
func actPairs(n int) int { return (n/qk + 1) / 2 }

// ActBytesQ8_0 is the size in bytes of one activation row of n values in
// the Q8_0 activation format (n a multiple of 32).
func ActBytesQ8_0(n int) int { return actPairs(n) * actPairBytes }

// ActBytesQ8_1 is the size in bytes of one Q8_1 activation row of n values.
func ActBytesQ8_1(n int) int { return actPairs(n) * actPairBytes }

// actOff is the offset of element j of block i in an activation row.
func actOff(i, j int) int { return i/2*64 + j/4*8 + i&1*4 + j&3 }

// quantizeAct8 quantizes x into one activation row as llama.cpp's x86
// quantize_row_q8_0/q8_1 do: d = amax/127 stored as fp16, id = 127/amax,
// q = round-half-even(x*id). withS selects the Q8_1 s word (fp16(d·Σq))
// over the Q8_0 sum.
func quantizeAct8(dst []byte, x []float32, withS bool) {
	n := len(x)
	if n%qk != 0 || len(dst) != ActBytesQ8_0(n) {
		panic("kernels: QuantizeAct: length mismatch (want len(dst) = ActBytes(len(x)), len(x) a multiple of 32)")
	}
	nb := n / qk
	r := splitAct(dst, n)
	if nb%2 == 1 { // the padding block of an odd row
		i := nb
		for g := 0; g < 8; g++ {
			o := actOff(i, 4*g)
			copy(r.qs[o:o+4], []byte{0, 0, 0, 0})
			binary.LittleEndian.PutUint32(r.ls[4*(i/2*16+2*g+1):], 0)
		}
		binary.LittleEndian.PutUint32(r.ds[4*i:], 0)
		binary.LittleEndian.PutUint32(r.ss[4*i:], 0)
	}
	i0 := 0
	if actAsm != nil && nb >= 2 {
		// Whole pairs in assembly; an odd row's last block below.
		s := 0
		if withS {
			s = 1
		}
		actAsm(&x[0], &dst[0], nb/2, actPairs(n), s)
		i0 = nb &^ 1
	}
	for i := i0; i < nb; i++ {
		xb := x[i*qk : (i+1)*qk : (i+1)*qk]
		var amax float32
		for _, v := range xb {
			amax = max(amax, abs32(v))
		}
		d := amax / 127
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		sum := int32(0)
		for g := 0; g < 8; g++ {
			o := actOff(i, 4*g)
			q := r.qs[o : o+4 : o+4]
			gs := int32(0)
			for k, v := range xb[4*g : 4*g+4 : 4*g+4] {
				// Round half to even: |v·id| <= 127 is far below 2^22,
				// where adding 1.5·2^23 leaves the rounded integer.
				qv := int32(float32(float32(v*id)+12582912) - 12582912)
				q[k] = byte(int8(qv))
				gs += qv
			}
			binary.LittleEndian.PutUint32(r.ls[4*(i/2*16+2*g+i&1):], uint32(-8*gs))
			sum += gs
		}
		binary.LittleEndian.PutUint32(r.ds[4*i:], math.Float32bits(F16ToFloat(FloatToF16(d))))
		if withS {
			s := F16ToFloat(FloatToF16(d * float32(sum)))
			binary.LittleEndian.PutUint32(r.ss[4*i:], math.Float32bits(s))
		} else {
			binary.LittleEndian.PutUint32(r.ss[4*i:], uint32(sum))
		}
	}
}

// QuantizeActQ8_0 quantizes one activation row x (a multiple of 32 values)
// into dst (ActBytesQ8_0(len(x)) bytes) for MatMulQ8_0/Q4_0/Q5_0, with
// llama.cpp's x86 quantize_row_q8_0 rounding (half to even, 127/amax).
func QuantizeActQ8_0(dst []byte, x []float32) { quantizeAct8(dst, x, false) }

// QuantizeActQ8_1 quantizes one activation row for MatMulQ4_1/Q5_1: as
// QuantizeActQ8_0 plus each block's s = fp16(d·Σq), which carries the
// weights' minimum term.
func QuantizeActQ8_1(dst []byte, x []float32) { quantizeAct8(dst, x, true) }

// actRow is one activation row split into its parts.
type actRow struct {
	qs []byte
	ls []byte
	ds []byte
	ss []byte
}

func splitAct(a []byte, n int) actRow {
	np := actPairs(n)
	return actRow{qs: a[:np*64], ls: a[np*64 : np*128], ds: a[np*128 : np*136], ss: a[np*136 : np*144]}
}

func (r actRow) d(i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(r.ds[4*i:])) }
func (r actRow) s(i int) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(r.ss[4*i:])) }

// block returns the 32 quants of block i.
func (r actRow) block(i int) (q [qk]int) {
	for j := range q {
		q[j] = int(int8(r.qs[actOff(i, j)]))
	}
	return
}

// The scalar vec_dot references, one weight row against one activation
// row, float32 in ggml's order.

func dotQ8_0Generic(w []byte, a actRow, nb int) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		b := w[i*BlockBytesQ8_0:]
		q := a.block(i)
		sumi := 0
		for j := 0; j < qk; j++ {
			sumi += int(int8(b[2+j])) * q[j]
		}
		sumf += float32(sumi) * float32(f16at(b, 0)*a.d(i))
	}
	return sumf
}

func dotQ4_0Generic(w []byte, a actRow, nb int) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		b := w[i*BlockBytesQ4_0:]
		q := a.block(i)
		s0, s1 := 0, 0
		for j := 0; j < 16; j++ {
			s0 += (int(b[2+j]&15) - 8) * q[j]
			s1 += (int(b[2+j]>>4) - 8) * q[j+16]
		}
		sumf += float32(float32(s0+s1)*f16at(b, 0)) * a.d(i)
	}
	return sumf
}

func dotQ4_1Generic(w []byte, a actRow, nb int) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		b := w[i*BlockBytesQ4_1:]
		q := a.block(i)
		s0, s1 := 0, 0
		for j := 0; j < 16; j++ {
			s0 += int(b[4+j]&15) * q[j]
			s1 += int(b[4+j]>>4) * q[j+16]
		}
		sumf += float32(float32(f16at(b, 0)*a.d(i))*float32(s0+s1)) + float32(f16at(b, 2)*a.s(i))
	}
	return sumf
}

func dotQ5_0Generic(w []byte, a actRow, nb int) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		b := w[i*BlockBytesQ5_0:]
		qh := binary.LittleEndian.Uint32(b[2:])
		q := a.block(i)
		s0, s1 := 0, 0
		for j := 0; j < 16; j++ {
			lo, hi := q5(b[6+j], qh, j)
			s0 += (lo - 16) * q[j]
			s1 += (hi - 16) * q[j+16]
		}
		sumf += float32(f16at(b, 0)*a.d(i)) * float32(s0+s1)
	}
	return sumf
}

func dotQ5_1Generic(w []byte, a actRow, nb int) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		b := w[i*BlockBytesQ5_1:]
		qh := binary.LittleEndian.Uint32(b[4:])
		q := a.block(i)
		s0, s1 := 0, 0
		for j := 0; j < 16; j++ {
			lo, hi := q5(b[8+j], qh, j)
			s0 += lo * q[j]
			s1 += hi * q[j+16]
		}
		sumf += float32(float32(f16at(b, 0)*a.d(i))*float32(s0+s1)) + float32(f16at(b, 2)*a.s(i))
	}
	return sumf
}

// checkQMatMul validates a quantized matrix product's shapes and returns
// the number of weight rows.
func checkQMatMul(name string, ny, ldy, nw, na, n, t, bytes int) int {
	if n <= 0 || n%qk != 0 || t <= 0 {
		panic("kernels: " + name + ": n must be a positive multiple of 32 and t positive")
	}
	rowBytes := n / qk * bytes
	if nw%rowBytes != 0 {
		panic("kernels: " + name + ": len(w) is not a whole number of weight rows")
	}
	rows := nw / rowBytes
	if na != t*ActBytesQ8_0(n) {
		panic("kernels: " + name + ": len(a) != t*ActBytes(n)")
	}
	if rows > 0 && (ldy < rows || ny < (t-1)*ldy+rows) {
		panic("kernels: " + name + ": y too short for t rows of stride ldy")
	}
	return rows
}

// matMulQGeneric is the reference matrix product on one vec_dot.
func matMulQGeneric(dot func([]byte, actRow, int) float32, bytes int, y []float32, ldy int, w, a []byte, n, t, rows int) {
	nb := n / qk
	ab := ActBytesQ8_0(n)
	for i := 0; i < t; i++ {
		ar := splitAct(a[i*ab:(i+1)*ab], n)
		for r := 0; r < rows; r++ {
			y[i*ldy+r] = dot(w[r*nb*bytes:(r+1)*nb*bytes], ar, nb)
		}
	}
}

func matMulQ8_0Generic(y []float32, ldy int, w, a []byte, n, t, rows int) {
	matMulQGeneric(dotQ8_0Generic, BlockBytesQ8_0, y, ldy, w, a, n, t, rows)
}
func matMulQ4_0Generic(y []float32, ldy int, w, a []byte, n, t, rows int) {
	matMulQGeneric(dotQ4_0Generic, BlockBytesQ4_0, y, ldy, w, a, n, t, rows)
}
func matMulQ4_1Generic(y []float32, ldy int, w, a []byte, n, t, rows int) {
	matMulQGeneric(dotQ4_1Generic, BlockBytesQ4_1, y, ldy, w, a, n, t, rows)
}
func matMulQ5_0Generic(y []float32, ldy int, w, a []byte, n, t, rows int) {
	matMulQGeneric(dotQ5_0Generic, BlockBytesQ5_0, y, ldy, w, a, n, t, rows)
}
func matMulQ5_1Generic(y []float32, ldy int, w, a []byte, n, t, rows int) {
	matMulQGeneric(dotQ5_1Generic, BlockBytesQ5_1, y, ldy, w, a, n, t, rows)
}

// actAsm, when set by installQuant32, quantizes the first pairs whole
// block pairs of an activation row of np pairs (s = 1: Q8_1), exactly as
// quantizeAct8's Go loop does.
var actAsm func(x *float32, a *byte, pairs, np, s int)

// The matrix products in use; installQuant32 sets them for the feature set.
var (
	mmQ8_0 = matMulQ8_0Generic
	mmQ4_0 = matMulQ4_0Generic
	mmQ4_1 = matMulQ4_1Generic
	mmQ5_0 = matMulQ5_0Generic
	mmQ5_1 = matMulQ5_1Generic
)

func init() {
	installers = append(installers, installQuant32)
	// level.go's init may already have run SetFeatures (file order).
	installQuant32(CurrentFeatures())
}

// MatMulQ8_0 multiplies t Q8_0 activation rows a (QuantizeActQ8_0, each
// ActBytesQ8_0(n) bytes) by the Q8_0 weight rows w (each n values,
// n/32*34 bytes): y[i*ldy+r] = dot(weight row r, activation row i).
func MatMulQ8_0(y []float32, ldy int, w []byte, a []byte, n, t int) {
	rows := checkQMatMul("MatMulQ8_0", len(y), ldy, len(w), len(a), n, t, BlockBytesQ8_0)
	if rows > 0 && tileMatMulQ8_0 != nil && t >= tileTokens {
		tileMatMulQ8_0(y, ldy, w, a, n, t, rows)
	} else if rows > 0 {
		mmQ8_0(y, ldy, w, a, n, t, rows)
	}
}

// MatMulQ4_0 is MatMulQ8_0 for Q4_0 weights (Q8_0 activations).
func MatMulQ4_0(y []float32, ldy int, w []byte, a []byte, n, t int) {
	rows := checkQMatMul("MatMulQ4_0", len(y), ldy, len(w), len(a), n, t, BlockBytesQ4_0)
	if rows > 0 && tileMatMulQ4_0 != nil && t >= tileTokens {
		tileMatMulQ4_0(y, ldy, w, a, n, t, rows)
	} else if rows > 0 {
		mmQ4_0(y, ldy, w, a, n, t, rows)
	}
}

// MatMulQ4_1 is MatMulQ8_0 for Q4_1 weights with Q8_1 activations
// (QuantizeActQ8_1): per block d·da·Σq·a + m·s.
func MatMulQ4_1(y []float32, ldy int, w []byte, a []byte, n, t int) {
	rows := checkQMatMul("MatMulQ4_1", len(y), ldy, len(w), len(a), n, t, BlockBytesQ4_1)
	if rows > 0 && tileMatMulQ4_1 != nil && t >= tileTokens {
		tileMatMulQ4_1(y, ldy, w, a, n, t, rows)
	} else if rows > 0 {
		mmQ4_1(y, ldy, w, a, n, t, rows)
	}
}

// MatMulQ5_0 is MatMulQ8_0 for Q5_0 weights (Q8_0 activations).
func MatMulQ5_0(y []float32, ldy int, w []byte, a []byte, n, t int) {
	rows := checkQMatMul("MatMulQ5_0", len(y), ldy, len(w), len(a), n, t, BlockBytesQ5_0)
	if rows > 0 && tileMatMulQ5_0 != nil && t >= tileTokens {
		tileMatMulQ5_0(y, ldy, w, a, n, t, rows)
	} else if rows > 0 {
		mmQ5_0(y, ldy, w, a, n, t, rows)
	}
}

// MatMulQ5_1 is MatMulQ4_1 for Q5_1 weights (Q8_1 activations).
func MatMulQ5_1(y []float32, ldy int, w []byte, a []byte, n, t int) {
	rows := checkQMatMul("MatMulQ5_1", len(y), ldy, len(w), len(a), n, t, BlockBytesQ5_1)
	if rows > 0 && tileMatMulQ5_1 != nil && t >= tileTokens {
		tileMatMulQ5_1(y, ldy, w, a, n, t, rows)
	} else if rows > 0 {
		mmQ5_1(y, ldy, w, a, n, t, rows)
	}
}
