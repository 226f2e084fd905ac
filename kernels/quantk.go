package kernels

// The 256-element "K-quant" super-block types of ggml (Q2_K, Q3_K, Q4_K,
// Q5_K, Q6_K) and their activation format Q8_K: dequantization, llama.cpp's
// reference quantizers and the pure-Go matrix products that are the twins
// of the assembly kernels.
//
// Float arithmetic follows ggml's C expression by expression. Every product
// that the C rounds on its own is written float32(a*b) so that the arm64
// compiler, which may fuse a*b+c into one FMA, rounds it the same way.

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// kQK is the number of weights in one K-quant super-block.
const kQK = 256

// Bytes per 256-element super-block of each K-quant weight type, as ggml
// lays them out (ggml-common.h).
const (
	BlockBytesQ2_K = 84  // u8 scales[16]; u8 qs[64]; f16 d; f16 dmin
	BlockBytesQ3_K = 110 // u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d
	BlockBytesQ4_K = 144 // f16 d; f16 dmin; u8 scales[12]; u8 qs[128]
	BlockBytesQ5_K = 176 // f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]
	BlockBytesQ6_K = 210 // u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d
)

// Layout of one Q8_K activation block in this package (never in files):
// the 256 int8 quants first, so that the kernels' 64-byte loads line up
// with cache lines when the row does; then the 16 int16 sums of 16 quants
// (ggml's bsums); then the 8 int16 sums of 32 quants (what Q4_K/Q5_K mins
// multiply) spread over 16 int16 slots as [0 0 0 0 b0 b1 b2 b3 0 0 0 0 b4
// b5 b6 b7], the order in which the assembly unpacks the mins next to the
// scales, so one VPMADDWD gives the min products; the f32 scale d; padding
// to six cache lines.
const (
	kQ8KQs     = 0
	kQ8KBsums  = 256
	kQ8KBsum32 = 288
	kQ8KD      = 320
	kQ8KBytes  = 384
)

// kBsum32Slot is the int16 slot of the 32-sum j in the spread layout.
func kBsum32Slot(j int) int { return 4 + j + 4*(j/4) }

// ActBytesQ8_K is the size in bytes of one activation row of n elements in
// the Q8_K format that QuantizeActQ8_K writes and the K-quant MatMul
// functions read; n must be a multiple of 256.
func ActBytesQ8_K(n int) int { return n / kQK * kQ8KBytes }

// kNearestInt is ggml's nearest_int: round half to even through the float
// magic number 1.5*2^23, valid for |f| <= 2^22.
func kNearestInt(f float32) int {
	v := f + 12582912
	i := int32(math.Float32bits(v))
	return int(i&0x007fffff) - 0x00400000
}

func kF16(b []byte) float32 { return F16ToFloat(binary.LittleEndian.Uint16(b)) }

func kPutF16(b []byte, f float32) { binary.LittleEndian.PutUint16(b, FloatToF16(f)) }

func kCheckQuant(nDst, nSrc, blockBytes int, name string) int {
	if nSrc%kQK != 0 {
		panic("kernels: " + name + ": length is not a multiple of 256")
	}
	nb := nSrc / kQK
	if nDst != nb*blockBytes {
		panic("kernels: " + name + ": byte length does not match the element count")
	}
	return nb
}

// kScaleMin is ggml's get_scale_min_k4: the 6-bit scale and min of
// sub-block j from the 12 packed bytes q of a Q4_K/Q5_K super-block.
func kScaleMin(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return (q[j+4] & 0xF) | ((q[j-4] >> 6) << 4), (q[j+4] >> 4) | ((q[j] >> 6) << 4)
}

// kQ3Scales unpacks the 16 6-bit scales of a Q3_K super-block (minus 32).
func kQ3Scales(s []byte) (out [16]int8) {
	a0 := binary.LittleEndian.Uint32(s[0:])
	a1 := binary.LittleEndian.Uint32(s[4:])
	tmp := binary.LittleEndian.Uint32(s[8:])
	const m1, m2 = 0x03030303, 0x0f0f0f0f
	var aux [4]uint32
	aux[2] = ((a0 >> 4) & m2) | (((tmp >> 4) & m1) << 4)
	aux[3] = ((a1 >> 4) & m2) | (((tmp >> 6) & m1) << 4)
	aux[0] = (a0 & m2) | (((tmp >> 0) & m1) << 4)
	aux[1] = (a1 & m2) | (((tmp >> 2) & m1) << 4)
	for i := range out {
		out[i] = int8(aux[i/4]>>(8*(i%4))) - 32
	}
	return out
}

// ---------------------------------------------------------------- dequant

// DequantQ2_K writes the values of the Q2_K super-blocks src into dst
// (ggml's dequantize_row_q2_K); len(dst) is a multiple of 256 and src holds
// len(dst)/256 blocks of 84 bytes.
func DequantQ2_K(dst []float32, src []byte) {
	nb := kCheckQuant(len(src), len(dst), BlockBytesQ2_K, "DequantQ2_K")
	for i := 0; i < nb; i++ {
		b := src[i*BlockBytesQ2_K : (i+1)*BlockBytesQ2_K]
		y := dst[i*kQK : (i+1)*kQK]
		d, min := kF16(b[80:]), kF16(b[82:])
		sc := b[0:16]
		is, o := 0, 0
		for n := 0; n < kQK; n += 128 {
			q := b[16+n/4 : 16+n/4+32]
			for shift := uint(0); shift < 8; shift += 2 {
				for h := 0; h < 2; h++ {
					s := sc[is]
					is++
					dl := float32(d * float32(s&0xF))
					ml := float32(min * float32(s>>4))
					for l := 0; l < 16; l++ {
						y[o] = float32(dl*float32((q[16*h+l]>>shift)&3)) - ml
						o++
					}
				}
			}
		}
	}
}

// DequantQ3_K is DequantQ2_K for Q3_K (110-byte blocks; dequantize_row_q3_K).
func DequantQ3_K(dst []float32, src []byte) {
	nb := kCheckQuant(len(src), len(dst), BlockBytesQ3_K, "DequantQ3_K")
	for i := 0; i < nb; i++ {
		b := src[i*BlockBytesQ3_K : (i+1)*BlockBytesQ3_K]
		y := dst[i*kQK : (i+1)*kQK]
		dAll := kF16(b[108:])
		scales := kQ3Scales(b[96:108])
		hm := b[0:32]
		m := uint8(1)
		is, o := 0, 0
		for n := 0; n < kQK; n += 128 {
			q := b[32+n/4 : 32+n/4+32]
			for shift := uint(0); shift < 8; shift += 2 {
				for h := 0; h < 2; h++ {
					dl := float32(dAll * float32(scales[is]))
					is++
					for l := 16 * h; l < 16*h+16; l++ {
						v := int((q[l] >> shift) & 3)
						if hm[l]&m == 0 {
							v -= 4
						}
						y[o] = float32(dl * float32(v))
						o++
					}
				}
				m <<= 1
			}
		}
	}
}

// DequantQ4_K is DequantQ2_K for Q4_K (144-byte blocks; dequantize_row_q4_K).
func DequantQ4_K(dst []float32, src []byte) {
	nb := kCheckQuant(len(src), len(dst), BlockBytesQ4_K, "DequantQ4_K")
	for i := 0; i < nb; i++ {
		b := src[i*BlockBytesQ4_K : (i+1)*BlockBytesQ4_K]
		y := dst[i*kQK : (i+1)*kQK]
		d, min := kF16(b[0:]), kF16(b[2:])
		for c := 0; c < 4; c++ {
			q := b[16+32*c : 16+32*c+32]
			sc, m := kScaleMin(2*c, b[4:16])
			d1, m1 := float32(d*float32(sc)), float32(min*float32(m))
			sc, m = kScaleMin(2*c+1, b[4:16])
			d2, m2 := float32(d*float32(sc)), float32(min*float32(m))
			yc := y[64*c : 64*c+64]
			for l := 0; l < 32; l++ {
				yc[l] = float32(d1*float32(q[l]&0xF)) - m1
				yc[32+l] = float32(d2*float32(q[l]>>4)) - m2
			}
		}
	}
}

// DequantQ5_K is DequantQ2_K for Q5_K (176-byte blocks; dequantize_row_q5_K).
func DequantQ5_K(dst []float32, src []byte) {
	nb := kCheckQuant(len(src), len(dst), BlockBytesQ5_K, "DequantQ5_K")
	for i := 0; i < nb; i++ {
		b := src[i*BlockBytesQ5_K : (i+1)*BlockBytesQ5_K]
		y := dst[i*kQK : (i+1)*kQK]
		d, min := kF16(b[0:]), kF16(b[2:])
		qh := b[16:48]
		u1, u2 := uint8(1), uint8(2)
		for c := 0; c < 4; c++ {
			ql := b[48+32*c : 48+32*c+32]
			sc, m := kScaleMin(2*c, b[4:16])
			d1, m1 := float32(d*float32(sc)), float32(min*float32(m))
			sc, m = kScaleMin(2*c+1, b[4:16])
			d2, m2 := float32(d*float32(sc)), float32(min*float32(m))
			yc := y[64*c : 64*c+64]
			for l := 0; l < 32; l++ {
				lo, hi := ql[l]&0xF, ql[l]>>4
				if qh[l]&u1 != 0 {
					lo += 16
				}
				if qh[l]&u2 != 0 {
					hi += 16
				}
				yc[l] = float32(d1*float32(lo)) - m1
				yc[32+l] = float32(d2*float32(hi)) - m2
			}
			u1 <<= 2
			u2 <<= 2
		}
	}
}

// kQ6Values unpacks the 256 signed 6-bit values (-32..31) of a Q6_K block.
func kQ6Values(b []byte, a *[kQK]int8) {
	for h := 0; h < 2; h++ {
		ql := b[64*h : 64*h+64]
		qh := b[128+32*h : 128+32*h+32]
		o := a[128*h : 128*h+128]
		for l := 0; l < 32; l++ {
			o[l] = int8((ql[l]&0xF)|((qh[l]>>0)&3)<<4) - 32
			o[l+32] = int8((ql[l+32]&0xF)|((qh[l]>>2)&3)<<4) - 32
			o[l+64] = int8((ql[l]>>4)|((qh[l]>>4)&3)<<4) - 32
			o[l+96] = int8((ql[l+32]>>4)|((qh[l]>>6)&3)<<4) - 32
		}
	}
}

// DequantQ6_K is DequantQ2_K for Q6_K (210-byte blocks; dequantize_row_q6_K).
func DequantQ6_K(dst []float32, src []byte) {
	nb := kCheckQuant(len(src), len(dst), BlockBytesQ6_K, "DequantQ6_K")
	var a [kQK]int8
	for i := 0; i < nb; i++ {
		b := src[i*BlockBytesQ6_K : (i+1)*BlockBytesQ6_K]
		y := dst[i*kQK : (i+1)*kQK]
		d := kF16(b[208:])
		kQ6Values(b, &a)
		for e := 0; e < kQK; e++ {
			// Element e has scale (e/128)*8 + (e%128/32)*2 + (e%32)/16,
			// which is e/16 because each 32-run of a half is one l range.
			sc := int8(b[192+e/16])
			y[e] = float32(float32(d*float32(sc)) * float32(a[e]))
		}
	}
}

// ------------------------------------------------------------- quantizers

const kGroupMaxEps = 1e-15

// kMakeQxQuants is ggml's make_qx_quants with rmse_type 1 and no
// importance weights (weights x*x), as Q6_K's reference quantizer uses it.
func kMakeQxQuants(n, nmax int, x []float32, L []int8) float32 {
	var vmax, amax float32
	for i := 0; i < n; i++ {
		ax := float32(math.Abs(float64(x[i])))
		if ax > amax {
			amax, vmax = ax, x[i]
		}
	}
	if amax < kGroupMaxEps {
		for i := 0; i < n; i++ {
			L[i] = 0
		}
		return 0
	}
	clamp := func(l int) int { return max(-nmax, min(nmax-1, l)) }
	iscale := float32(-nmax) / vmax
	var sumlx, suml2 float32
	for i := 0; i < n; i++ {
		l := clamp(kNearestInt(float32(iscale * x[i])))
		L[i] = int8(l + nmax)
		w := float32(x[i] * x[i])
		fl := float32(l)
		sumlx += float32(float32(w*x[i]) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	var scale float32
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := float32(scale * sumlx)
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / vmax
		sumlx, suml2 = 0, 0
		for i := 0; i < n; i++ {
			l := clamp(kNearestInt(float32(iscale * x[i])))
			w := float32(x[i] * x[i])
			fl := float32(l)
			sumlx += float32(float32(w*x[i]) * fl)
			suml2 += float32(float32(w*fl) * fl)
		}
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			for i := 0; i < n; i++ {
				L[i] = int8(nmax + clamp(kNearestInt(float32(iscale*x[i]))))
			}
			scale = sumlx / suml2
			best = float32(scale * sumlx)
		}
	}
	return scale
}

// kMakeQkx2Quants is ggml's make_qkx2_quants: an asymmetric (scale, min)
// fit of n values to 0..nmax by a weighted least-squares search over
// nstep+1 candidate scales. It returns the scale and -min.
func kMakeQkx2Quants(n, nmax int, x, weights []float32, L, Laux []uint8, rmin, rdelta float32, nstep int, useMad bool) (scale, theMin float32) {
	mn, mx := x[0], x[0]
	sumW := weights[0]
	sumX := float32(sumW * x[0])
	for i := 1; i < n; i++ {
		if x[i] < mn {
			mn = x[i]
		}
		if x[i] > mx {
			mx = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if mn > 0 {
		mn = 0
	}
	if mx == mn {
		for i := 0; i < n; i++ {
			L[i] = 0
		}
		return 0, -mn
	}
	errOf := func(diff float32) float32 {
		if useMad {
			return float32(math.Abs(float64(diff)))
		}
		return float32(diff * diff)
	}
	iscale := float32(nmax) / (mx - mn)
	scale = 1 / iscale
	var bestError float32
	for i := 0; i < n; i++ {
		l := kNearestInt(float32(iscale * (x[i] - mn)))
		L[i] = uint8(max(0, min(nmax, l)))
		diff := float32(float32(scale*float32(L[i]))+mn) - x[i]
		bestError += float32(weights[i] * errOf(diff))
	}
	if nstep < 1 {
		return scale, -mn
	}
	for is := 0; is <= nstep; is++ {
		iscale = (float32(rmin+float32(rdelta*float32(is))) + float32(nmax)) / (mx - mn)
		var sumL, sumL2, sumXL float32
		for i := 0; i < n; i++ {
			l := kNearestInt(float32(iscale * (x[i] - mn)))
			l = max(0, min(nmax, l))
			Laux[i] = uint8(l)
			w := weights[i]
			fl := float32(l)
			wl := float32(w * fl)
			sumL += wl
			sumL2 += float32(wl * fl)
			sumXL += float32(wl * x[i])
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var curError float32
			for i := 0; i < n; i++ {
				diff := float32(float32(thisScale*float32(Laux[i]))+thisMin) - x[i]
				curError += float32(weights[i] * errOf(diff))
			}
			if curError < bestError {
				copy(L[:n], Laux[:n])
				bestError = curError
				scale = thisScale
				mn = thisMin
			}
		}
	}
	return scale, -mn
}

// kMakeQ3Quants is ggml's make_q3_quants with do_rmse set: a symmetric fit
// to -nmax..nmax-1 refined coordinate by coordinate; L gets the values
// plus nmax.
func kMakeQ3Quants(n, nmax int, x []float32, L []int8) float32 {
	var vmax, amax float32
	for i := 0; i < n; i++ {
		ax := float32(math.Abs(float64(x[i])))
		if ax > amax {
			amax, vmax = ax, x[i]
		}
	}
	if amax < kGroupMaxEps {
		for i := 0; i < n; i++ {
			L[i] = 0
		}
		return 0
	}
	clamp := func(l int) int { return max(-nmax, min(nmax-1, l)) }
	iscale := float32(-nmax) / vmax
	var sumlx, suml2 float32
	for i := 0; i < n; i++ {
		l := clamp(kNearestInt(float32(iscale * x[i])))
		L[i] = int8(l)
		w := float32(x[i] * x[i])
		fl := float32(l)
		sumlx += float32(float32(w*x[i]) * fl)
		suml2 += float32(float32(w*fl) * fl)
	}
	for itry := 0; itry < 5; itry++ {
		changed := 0
		for i := 0; i < n; i++ {
			w := float32(x[i] * x[i])
			li := float32(L[i])
			slx := sumlx - float32(float32(w*x[i])*li)
			if slx > 0 {
				sl2 := suml2 - float32(float32(w*li)*li)
				newL := clamp(kNearestInt(float32(x[i]*sl2) / slx))
				if newL != int(L[i]) {
					fn := float32(newL)
					slx += float32(float32(w*x[i]) * fn)
					sl2 += float32(float32(w*fn) * fn)
					if sl2 > 0 && float32(float32(slx*slx)*suml2) > float32(float32(sumlx*sumlx)*sl2) {
						L[i] = int8(newL)
						sumlx, suml2 = slx, sl2
						changed++
					}
				}
			}
		}
		if changed == 0 {
			break
		}
	}
	for i := 0; i < n; i++ {
		L[i] += int8(nmax)
	}
	if suml2 > 0 {
		return sumlx / suml2
	}
	return 0
}

func kAbs(f float32) float32 { return float32(math.Abs(float64(f))) }

// QuantizeQ2_K quantizes src (a multiple of 256 values) to Q2_K blocks in
// dst, bit for bit as llama.cpp's quantize_row_q2_K_ref (the path
// llama-quantize takes without an importance matrix).
func QuantizeQ2_K(dst []byte, src []float32) {
	nb := kCheckQuant(len(dst), len(src), BlockBytesQ2_K, "QuantizeQ2_K")
	var L [kQK]uint8
	var Laux [16]uint8
	var weights [16]float32
	var mins, scales [kQK / 16]float32
	const q4scale = 15
	for i := 0; i < nb; i++ {
		x := src[i*kQK : (i+1)*kQK]
		y := dst[i*BlockBytesQ2_K : (i+1)*BlockBytesQ2_K]
		var maxScale, maxMin float32
		for j := 0; j < kQK/16; j++ {
			for l := 0; l < 16; l++ {
				weights[l] = kAbs(x[16*j+l])
			}
			scales[j], mins[j] = kMakeQkx2Quants(16, 3, x[16*j:], weights[:], L[16*j:], Laux[:], -0.5, 0.1, 15, true)
			if scales[j] > maxScale {
				maxScale = scales[j]
			}
			if mins[j] > maxMin {
				maxMin = mins[j]
			}
		}
		sc := y[0:16]
		if maxScale > 0 {
			iscale := q4scale / maxScale
			for j := range sc {
				sc[j] = uint8(kNearestInt(float32(iscale * scales[j])))
			}
			kPutF16(y[80:], maxScale/q4scale)
		} else {
			clear(sc)
			kPutF16(y[80:], 0)
		}
		if maxMin > 0 {
			iscale := q4scale / maxMin
			for j := range sc {
				l := kNearestInt(float32(iscale * mins[j]))
				sc[j] |= uint8(l << 4)
			}
			kPutF16(y[82:], maxMin/q4scale)
		} else {
			kPutF16(y[82:], 0)
		}
		dd, dmin := kF16(y[80:]), kF16(y[82:])
		for j := 0; j < kQK/16; j++ {
			d := float32(dd * float32(sc[j]&0xF))
			if d == 0 {
				continue
			}
			dm := float32(dmin * float32(sc[j]>>4))
			for ii := 0; ii < 16; ii++ {
				l := kNearestInt((x[16*j+ii] + dm) / d)
				L[16*j+ii] = uint8(max(0, min(3, l)))
			}
		}
		kPack2(y[16:80], L[:])
	}
}

// kPack2 packs 256 2-bit values the Q2_K/Q3_K way: byte j/4+l of each
// 128-run holds elements l, l+32, l+64, l+96 at bits 0, 2, 4, 6.
func kPack2(qs []byte, L []uint8) {
	for j := 0; j < kQK; j += 128 {
		for l := 0; l < 32; l++ {
			qs[j/4+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
		}
	}
}

// QuantizeQ3_K is QuantizeQ2_K for Q3_K (quantize_row_q3_K_ref).
func QuantizeQ3_K(dst []byte, src []float32) {
	nb := kCheckQuant(len(dst), len(src), BlockBytesQ3_K, "QuantizeQ3_K")
	var L [kQK]int8
	var scales [kQK / 16]float32
	for i := 0; i < nb; i++ {
		x := src[i*kQK : (i+1)*kQK]
		y := dst[i*BlockBytesQ3_K : (i+1)*BlockBytesQ3_K]
		var maxScale, amax float32
		for j := 0; j < kQK/16; j++ {
			scales[j] = kMakeQ3Quants(16, 4, x[16*j:], L[16*j:])
			if s := kAbs(scales[j]); s > amax {
				amax, maxScale = s, scales[j]
			}
		}
		ys := y[96:108]
		clear(ys)
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := 0; j < kQK/16; j++ {
				l := int8(kNearestInt(float32(iscale * scales[j])))
				l = max(-32, min(31, l)) + 32
				if j < 8 {
					ys[j] = uint8(l) & 0xF
				} else {
					ys[j-8] |= (uint8(l) & 0xF) << 4
				}
				l >>= 4
				ys[j%4+8] |= uint8(l) << (2 * (j / 4))
			}
			kPutF16(y[108:], 1/iscale)
		} else {
			kPutF16(y[108:], 0)
		}
		dd := kF16(y[108:])
		for j := 0; j < kQK/16; j++ {
			var sc int8
			if j < 8 {
				sc = int8(ys[j] & 0xF)
			} else {
				sc = int8(ys[j-8] >> 4)
			}
			sc = (sc | int8(((ys[8+j%4]>>(2*(j/4)))&3)<<4)) - 32
			d := float32(dd * float32(sc))
			if d == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				l := kNearestInt(x[16*j+ii] / d)
				L[16*j+ii] = int8(max(-4, min(3, l)) + 4)
			}
		}
		hm := y[0:32]
		clear(hm)
		m, bit := 0, uint8(1)
		for j := 0; j < kQK; j++ {
			if L[j] > 3 {
				hm[m] |= bit
				L[j] -= 4
			}
			if m++; m == kQK/8 {
				m, bit = 0, bit<<1
			}
		}
		var U [kQK]uint8
		for j := range U {
			U[j] = uint8(L[j])
		}
		kPack2(y[32:96], U[:])
	}
}

// kQuantizeQ45K is the common body of quantize_row_q4_K_ref and
// quantize_row_q5_K_ref: nmax is 15 or 31, and L receives the final
// 0..nmax values, which the caller packs.
func kQuantizeQ45K(y []byte, x []float32, nmax int, rmin, rdelta float32, nstep int, L *[kQK]uint8) {
	var Laux [32]uint8
	var weights [32]float32
	var mins, scales [kQK / 32]float32
	var maxScale, maxMin float32
	for j := 0; j < kQK/32; j++ {
		var sumX2 float32
		for l := 0; l < 32; l++ {
			sumX2 += float32(x[32*j+l] * x[32*j+l])
		}
		avX := float32(math.Sqrt(float64(sumX2 / 32)))
		for l := 0; l < 32; l++ {
			weights[l] = avX + kAbs(x[32*j+l])
		}
		scales[j], mins[j] = kMakeQkx2Quants(32, nmax, x[32*j:], weights[:], L[32*j:], Laux[:], rmin, rdelta, nstep, false)
		if scales[j] > maxScale {
			maxScale = scales[j]
		}
		if mins[j] > maxMin {
			maxMin = mins[j]
		}
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	s := y[4:16]
	for j := 0; j < kQK/32; j++ {
		ls := min(63, uint8(kNearestInt(float32(invScale*scales[j]))))
		lm := min(63, uint8(kNearestInt(float32(invMin*mins[j]))))
		if j < 4 {
			s[j] = ls
			s[j+4] = lm
		} else {
			s[j+4] = (ls & 0xF) | (lm&0xF)<<4
			s[j-4] |= (ls >> 4) << 6
			s[j] |= (lm >> 4) << 6
		}
	}
	kPutF16(y[0:], maxScale/63)
	kPutF16(y[2:], maxMin/63)
	dd, dmin := kF16(y[0:]), kF16(y[2:])
	for j := 0; j < kQK/32; j++ {
		sc, m := kScaleMin(j, s)
		d := float32(dd * float32(sc))
		if d == 0 {
			continue
		}
		dm := float32(dmin * float32(m))
		for ii := 0; ii < 32; ii++ {
			l := kNearestInt((x[32*j+ii] + dm) / d)
			L[32*j+ii] = uint8(max(0, min(nmax, l)))
		}
	}
}

// QuantizeQ4_K is QuantizeQ2_K for Q4_K (quantize_row_q4_K_ref).
func QuantizeQ4_K(dst []byte, src []float32) {
	nb := kCheckQuant(len(dst), len(src), BlockBytesQ4_K, "QuantizeQ4_K")
	var L [kQK]uint8
	for i := 0; i < nb; i++ {
		y := dst[i*BlockBytesQ4_K : (i+1)*BlockBytesQ4_K]
		kQuantizeQ45K(y, src[i*kQK:(i+1)*kQK], 15, -1, 0.1, 20, &L)
		q := y[16:]
		for j := 0; j < kQK; j += 64 {
			for l := 0; l < 32; l++ {
				q[j/2+l] = L[j+l] | L[j+l+32]<<4
			}
		}
	}
}

// QuantizeQ5_K is QuantizeQ2_K for Q5_K (quantize_row_q5_K_ref).
func QuantizeQ5_K(dst []byte, src []float32) {
	nb := kCheckQuant(len(dst), len(src), BlockBytesQ5_K, "QuantizeQ5_K")
	var L [kQK]uint8
	for i := 0; i < nb; i++ {
		y := dst[i*BlockBytesQ5_K : (i+1)*BlockBytesQ5_K]
		kQuantizeQ45K(y, src[i*kQK:(i+1)*kQK], 31, -0.5, 0.1, 15, &L)
		qh, ql := y[16:48], y[48:176]
		clear(qh)
		m1, m2 := uint8(1), uint8(2)
		for n := 0; n < kQK; n += 64 {
			for j := 0; j < 32; j++ {
				l1, l2 := L[n+j], L[n+j+32]
				if l1 > 15 {
					l1 -= 16
					qh[j] |= m1
				}
				if l2 > 15 {
					l2 -= 16
					qh[j] |= m2
				}
				ql[n/2+j] = l1 | l2<<4
			}
			m1 <<= 2
			m2 <<= 2
		}
	}
}

// QuantizeQ6_K is QuantizeQ2_K for Q6_K (quantize_row_q6_K_ref).
func QuantizeQ6_K(dst []byte, src []float32) {
	nb := kCheckQuant(len(dst), len(src), BlockBytesQ6_K, "QuantizeQ6_K")
	var L [kQK]int8
	var scales [kQK / 16]float32
	for i := 0; i < nb; i++ {
		x := src[i*kQK : (i+1)*kQK]
		y := dst[i*BlockBytesQ6_K : (i+1)*BlockBytesQ6_K]
		var maxScale, maxAbs float32
		for ib := 0; ib < kQK/16; ib++ {
			s := kMakeQxQuants(16, 32, x[16*ib:], L[16*ib:])
			scales[ib] = s
			if a := kAbs(s); a > maxAbs {
				maxAbs, maxScale = a, s
			}
		}
		if maxAbs < kGroupMaxEps {
			clear(y)
			continue
		}
		iscale := -128 / maxScale
		kPutF16(y[208:], 1/iscale)
		ys := y[192:208]
		for ib := range ys {
			ys[ib] = uint8(int8(min(127, kNearestInt(float32(iscale*scales[ib])))))
		}
		dd := kF16(y[208:])
		for j := 0; j < kQK/16; j++ {
			d := float32(dd * float32(int8(ys[j])))
			if d == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				l := kNearestInt(x[16*j+ii] / d)
				L[16*j+ii] = int8(max(-32, min(31, l)) + 32)
			}
		}
		for j := 0; j < kQK; j += 128 {
			ql := y[j/2 : j/2+64]
			qh := y[128+j/4 : 128+j/4+32]
			for l := 0; l < 32; l++ {
				q1 := uint8(L[j+l]) & 0xF
				q2 := uint8(L[j+l+32]) & 0xF
				q3 := uint8(L[j+l+64]) & 0xF
				q4 := uint8(L[j+l+96]) & 0xF
				ql[l] = q1 | q3<<4
				ql[l+32] = q2 | q4<<4
				qh[l] = uint8(L[j+l])>>4 | (uint8(L[j+l+32])>>4)<<2 | (uint8(L[j+l+64])>>4)<<4 | (uint8(L[j+l+96])>>4)<<6
			}
		}
	}
}

// ------------------------------------------------------------ activations

// QuantizeActQ8_K quantizes the activation row x (a multiple of 256 values)
// to this package's Q8_K layout in dst (ActBytesQ8_K(len(x)) bytes), with
// the arithmetic of llama.cpp's quantize_row_q8_K_ref, which is also what
// its x86 CPU path runs: per block d = max/-127 of the value with the
// largest magnitude, q = min(127, nearest_int(x * (-127/max))).
func QuantizeActQ8_K(dst []byte, x []float32) {
	if len(x)%kQK != 0 || len(dst) != ActBytesQ8_K(len(x)) {
		panic("kernels: QuantizeActQ8_K: lengths do not match")
	}
	quantizeActQ8KFn(dst, x)
}

// quantizeActQ8KFn is QuantizeActQ8_K's body for the feature set in use
// (kInstall): quantizeActQ8KGo, or its AVX-512 or AVX2 twin.
var quantizeActQ8KFn = quantizeActQ8KGo

// quantizeActQ8KGo is QuantizeActQ8_K in Go, on lengths already checked.
func quantizeActQ8KGo(dst []byte, x []float32) {
	for i := 0; i < len(x)/kQK; i++ {
		xb := x[i*kQK : (i+1)*kQK]
		y := dst[i*kQ8KBytes : (i+1)*kQ8KBytes]
		var vmax, amax float32
		for _, v := range xb {
			if a := kAbs(v); a > amax {
				amax, vmax = a, v
			}
		}
		clear(y)
		if amax == 0 {
			continue
		}
		iscale := -127 / vmax
		for j, v := range xb {
			y[kQ8KQs+j] = uint8(int8(min(127, kNearestInt(float32(iscale*v)))))
		}
		for j := 0; j < 16; j++ {
			s := 0
			for _, q := range y[16*j : 16*j+16] {
				s += int(int8(q))
			}
			binary.LittleEndian.PutUint16(y[kQ8KBsums+2*j:], uint16(int16(s)))
		}
		for j := 0; j < 8; j++ {
			s := int16(binary.LittleEndian.Uint16(y[kQ8KBsums+4*j:])) + int16(binary.LittleEndian.Uint16(y[kQ8KBsums+4*j+2:]))
			binary.LittleEndian.PutUint16(y[kQ8KBsum32+2*kBsum32Slot(j):], uint16(s))
		}
		binary.LittleEndian.PutUint32(y[kQ8KD:], math.Float32bits(1/iscale))
	}
}

// kActQs, kActBsum and kActD read one Q8_K activation block.
func kActQs(a []byte) []int8 {
	q := a[kQ8KQs : kQ8KQs+kQK]
	return unsafe.Slice((*int8)(unsafe.Pointer(&q[0])), kQK)
}

func kActBsum(a []byte, j int) int { return int(int16(binary.LittleEndian.Uint16(a[kQ8KBsums+2*j:]))) }

func kActD(a []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(a[kQ8KD:])) }

// ------------------------------------------------------------ dot products

// The kDot* functions are ggml's scalar ggml_vec_dot_X_q8_K (the
// "generic" versions): integer sums per super-block in eight lanes, each
// lane scaled by d and accumulated in float, the lanes added at the end.

func kDotQ2K(w, a []byte, nb int) float32 {
	var sumf float32
	for i := 0; i < nb; i++ {
		b := w[i*BlockBytesQ2_K:]
		ab := a[i*kQ8KBytes:]
		q8 := kActQs(ab)
		sc := b[0:16]
		summs := 0
		for j := 0; j < 16; j++ {
			summs += kActBsum(ab, j) * int(sc[j]>>4)
		}
		dy := kActD(ab)
		dall := float32(dy * kF16(b[80:]))
		dmin := float32(dy * kF16(b[82:]))
		isum, is := 0, 0
		qo := 0
		for k := 0; k < 2; k++ {
			q2 := b[16+32*k : 16+32*k+32]
			for shift := uint(0); shift < 8; shift += 2 {
				for h := 0; h < 2; h++ {
					d := int(sc[is] & 0xF)
					is++
					isuml := 0
					for l := 16 * h; l < 16*h+16; l++ {
						isuml += int(q8[qo+l]) * int((q2[l]>>shift)&3)
					}
					isum += d * isuml
				}
				qo += 32
			}
		}
		sumf += float32(dall*float32(isum)) - float32(dmin*float32(summs))
	}
	return sumf
}

// kLanes8 accumulates scale*(q8·a) of 16 values into the eight lanes the
// ggml scalar code uses (two passes of 8, added here before scaling:
// the sums are exact integers either way).
func kLanes8(aux *[8]int32, q8, a *[16]int8, scale int32) {
	for l := 0; l < 8; l++ {
		aux[l] += scale * (int32(q8[l])*int32(a[l]) + int32(q8[8+l])*int32(a[8+l]))
	}
}

func kDotQ3K(w, a []byte, nb int) float32 {
	var sums [8]float32
	var aux8 [kQK]int8
	for i := 0; i < nb; i++ {
		b := w[i*BlockBytesQ3_K:]
		ab := a[i*kQ8KBytes:]
		q8 := kActQs(ab)
		hm := (*[32]byte)(b[0:32])
		for j := 0; j < 2; j++ {
			q3 := (*[32]byte)(b[32+32*j : 64+32*j])
			for s := 0; s < 4; s++ {
				sh, bit := uint(2*s), uint(4*j+s)
				o := (*[32]int8)(aux8[128*j+32*s:])
				for l := 0; l < 32; l++ {
					// The value, minus 4 unless the high bit is set.
					o[l] = int8((q3[l]>>sh)&3) + int8((hm[l]>>bit)&1)*4 - 4
				}
			}
		}
		scales := kQ3Scales(b[96:108])
		var aux32 [8]int32
		for j := 0; j < 16; j++ {
			kLanes8(&aux32, (*[16]int8)(q8[16*j:]), (*[16]int8)(aux8[16*j:]), int32(scales[j]))
		}
		d := float32(kF16(b[108:]) * kActD(ab))
		for l := range sums {
			sums[l] += float32(d * float32(aux32[l]))
		}
	}
	var sumf float32
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

// kScalesMinsK4 unpacks the 8 scales and 8 mins of a Q4_K/Q5_K block.
func kScalesMinsK4(s []byte) (sc, mn [8]uint8) {
	for j := 0; j < 8; j++ {
		sc[j], mn[j] = kScaleMin(j, s)
	}
	return sc, mn
}

// kDotQ45K is the dot product of Q4_K (bs = 144) or Q5_K (bs = 176)
// blocks with Q8_K activations.
func kDotQ45K(w, a []byte, nb, bs int) float32 {
	var sums [8]float32
	var aux8 [kQK]int8
	var sumf float32
	for i := 0; i < nb; i++ {
		b := w[i*bs:]
		ab := a[i*kQ8KBytes:]
		q8 := kActQs(ab)
		if bs == BlockBytesQ4_K {
			for c := 0; c < 4; c++ {
				q := b[16+32*c : 16+32*c+32]
				for l := 0; l < 32; l++ {
					aux8[64*c+l] = int8(q[l] & 0xF)
					aux8[64*c+32+l] = int8(q[l] >> 4)
				}
			}
		} else {
			qh := b[16:48]
			m := uint8(1)
			for c := 0; c < 4; c++ {
				q := b[48+32*c : 48+32*c+32]
				for l := 0; l < 32; l++ {
					lo, hi := int8(q[l]&0xF), int8(q[l]>>4)
					if qh[l]&m != 0 {
						lo += 16
					}
					if qh[l]&(m<<1) != 0 {
						hi += 16
					}
					aux8[64*c+l], aux8[64*c+32+l] = lo, hi
				}
				m <<= 2
			}
		}
		sc, mn := kScalesMinsK4(b[4:16])
		sumi := 0
		for j := 0; j < 16; j++ {
			sumi += kActBsum(ab, j) * int(mn[j/2])
		}
		var aux32 [8]int32
		for j := 0; j < 8; j++ {
			kLanes8(&aux32, (*[16]int8)(q8[32*j:]), (*[16]int8)(aux8[32*j:]), int32(sc[j]))
			kLanes8(&aux32, (*[16]int8)(q8[32*j+16:]), (*[16]int8)(aux8[32*j+16:]), int32(sc[j]))
		}
		dy := kActD(ab)
		d := float32(kF16(b[0:]) * dy)
		for l := range sums {
			sums[l] += float32(d * float32(aux32[l]))
		}
		dmin := float32(kF16(b[2:]) * dy)
		sumf -= float32(dmin * float32(sumi))
	}
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

func kDotQ4K(w, a []byte, nb int) float32 { return kDotQ45K(w, a, nb, BlockBytesQ4_K) }
func kDotQ5K(w, a []byte, nb int) float32 { return kDotQ45K(w, a, nb, BlockBytesQ5_K) }

func kDotQ6K(w, a []byte, nb int) float32 {
	var sums [8]float32
	var aux8 [kQK]int8
	for i := 0; i < nb; i++ {
		b := w[i*BlockBytesQ6_K:]
		ab := a[i*kQ8KBytes:]
		q8 := kActQs(ab)
		kQ6Values(b, &aux8)
		var aux32 [8]int32
		for j := 0; j < 16; j++ {
			kLanes8(&aux32, (*[16]int8)(q8[16*j:]), (*[16]int8)(aux8[16*j:]), int32(int8(b[192+j])))
		}
		d := float32(kF16(b[208:]) * kActD(ab))
		for l := range sums {
			sums[l] += float32(d * float32(aux32[l]))
		}
	}
	var sumf float32
	for _, s := range sums {
		sumf += s
	}
	return sumf
}

// ---------------------------------------------------------- matrix product

// kCheckMatMul validates a K-quant matrix product's shapes and returns the
// number of weight rows and super-blocks per row.
func kCheckMatMul(name string, ny, ldy, nw, na, n, t, blockBytes int) (rows, nb int) {
	if n <= 0 || n%kQK != 0 || t <= 0 {
		panic("kernels: " + name + ": n must be a positive multiple of 256 and t positive")
	}
	nb = n / kQK
	rowBytes := nb * blockBytes
	if nw%rowBytes != 0 {
		panic("kernels: " + name + ": len(w) is not a whole number of rows")
	}
	rows = nw / rowBytes
	if na < t*ActBytesQ8_K(n) {
		panic("kernels: " + name + ": a shorter than t activation rows")
	}
	if rows > 0 && (ldy < rows || ny < (t-1)*ldy+rows) {
		panic("kernels: " + name + ": y too short for t rows of stride ldy")
	}
	return rows, nb
}

// kMatMulGeneric is the pure-Go matrix product over one dot function.
func kMatMulGeneric(dot func(w, a []byte, nb int) float32, blockBytes int) func(y []float32, ldy int, w, a []byte, n, t int) {
	return func(y []float32, ldy int, w, a []byte, n, t int) {
		nb := n / kQK
		rb, ab := nb*blockBytes, ActBytesQ8_K(n)
		rows := len(w) / rb
		for i := 0; i < t; i++ {
			ai := a[i*ab : (i+1)*ab]
			for r := 0; r < rows; r++ {
				y[i*ldy+r] = dot(w[r*rb:(r+1)*rb], ai, nb)
			}
		}
	}
}

var (
	matMulQ2KGeneric = kMatMulGeneric(kDotQ2K, BlockBytesQ2_K)
	matMulQ3KGeneric = kMatMulGeneric(kDotQ3K, BlockBytesQ3_K)
	matMulQ4KGeneric = kMatMulGeneric(kDotQ4K, BlockBytesQ4_K)
	matMulQ5KGeneric = kMatMulGeneric(kDotQ5K, BlockBytesQ5_K)
	matMulQ6KGeneric = kMatMulGeneric(kDotQ6K, BlockBytesQ6_K)
)

// The implementations in use; the feature-set installer replaces them.
var (
	kMatMulQ2K = matMulQ2KGeneric
	kMatMulQ3K = matMulQ3KGeneric
	kMatMulQ4K = matMulQ4KGeneric
	kMatMulQ5K = matMulQ5KGeneric
	kMatMulQ6K = matMulQ6KGeneric
)

// MatMulQ4_K multiplies t Q8_K activation rows a (QuantizeActQ8_K of rows of
// n values, ActBytesQ8_K(n) bytes each) by the Q4_K weight matrix w (rows
// of n/256 blocks), writing y[i*ldy+r] = dot(weight row r, activation row
// i) for i < t and every row r of w. The sums are ggml's: integers per
// super-block, scaled in float32.
func MatMulQ4_K(y []float32, ldy int, w, a []byte, n, t int) {
	if rows, _ := kCheckMatMul("MatMulQ4_K", len(y), ldy, len(w), len(a), n, t, BlockBytesQ4_K); rows > 0 && tileMatMulQ4_K != nil && t >= tileTokens {
		tileMatMulQ4_K(y, ldy, w, a, n, t, rows)
	} else if rows > 0 {
		kMatMulQ4K(y, ldy, w, a, n, t)
	}
}

// MatMulQ2_K is MatMulQ4_K for Q2_K weights.
func MatMulQ2_K(y []float32, ldy int, w, a []byte, n, t int) {
	if rows, _ := kCheckMatMul("MatMulQ2_K", len(y), ldy, len(w), len(a), n, t, BlockBytesQ2_K); rows > 0 {
		kMatMulQ2K(y, ldy, w, a, n, t)
	}
}

// MatMulQ3_K is MatMulQ4_K for Q3_K weights.
func MatMulQ3_K(y []float32, ldy int, w, a []byte, n, t int) {
	if rows, _ := kCheckMatMul("MatMulQ3_K", len(y), ldy, len(w), len(a), n, t, BlockBytesQ3_K); rows > 0 {
		kMatMulQ3K(y, ldy, w, a, n, t)
	}
}

// MatMulQ5_K is MatMulQ4_K for Q5_K weights.
func MatMulQ5_K(y []float32, ldy int, w, a []byte, n, t int) {
	if rows, _ := kCheckMatMul("MatMulQ5_K", len(y), ldy, len(w), len(a), n, t, BlockBytesQ5_K); rows > 0 && tileMatMulQ5_K != nil && t >= tileTokens {
		tileMatMulQ5_K(y, ldy, w, a, n, t, rows)
	} else if rows > 0 {
		kMatMulQ5K(y, ldy, w, a, n, t)
	}
}

// MatMulQ6_K is MatMulQ4_K for Q6_K weights.
func MatMulQ6_K(y []float32, ldy int, w, a []byte, n, t int) {
	if rows, _ := kCheckMatMul("MatMulQ6_K", len(y), ldy, len(w), len(a), n, t, BlockBytesQ6_K); rows > 0 && tileMatMulQ6_K != nil && t >= tileTokens {
		tileMatMulQ6_K(y, ldy, w, a, n, t, rows)
	} else if rows > 0 {
		kMatMulQ6K(y, ldy, w, a, n, t)
	}
}
