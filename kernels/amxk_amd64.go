//go:build amd64 && !noasm

package kernels

import (
	"encoding/binary"
	"unsafe"
)

// K-quant weights (Q4_K, Q5_K, Q6_K) on AMX-INT8, through the int8 tile
// kernels of the 32-value block types (amxQ8, amxQ8m): each 32-row panel
// of weights is unpacked once to int8 A tiles, one 32-value "tile block"
// per K step, and the per-sub-block scales and minima go to the kernel's
// f32 scale vectors, so every TDPBSSD result is an exact int32 for one
// sub-block and the scaling happens in f32 as in the 32-block types:
//
//	Q4_K, Q5_K: tile block = one 32-value sub-block (values 0..15 or
//	0..31), scale d·sc, minimum −dmin·m times the activations'
//	d·(sum of the sub-block's 32 quants), from the Q8_K bsums (amxQ8m).
//	Q6_K: its sub-blocks have 16 values, so each 32-value activation
//	block is used by two tile blocks, the first holding sub-block 2c's
//	16 values then 16 zeros, the second 16 zeros then sub-block 2c+1's,
//	each with its own scale d·sc (amxQ8): twice the tile steps, but no
//	per-16 scaling outside the tiles.
//
// The results equal the pure-Go twins (ggml's vec_dot_qX_K_q8_K) up to
// float rounding: ggml scales each super-block's integer sum by d·dy once,
// the tiles scale each sub-block's by (d·sc)·dy.

// amxLayoutActK lays out t Q8_K activation rows a as amxLayoutAct does
// the Q8_0 ones: B tiles in b for nA tile blocks (n/32, or n/16 with dup:
// every 32-value block twice), and per tile block the 32 tokens' scales
// d in da, followed with withS by d·(the block's sum of quants).
func amxLayoutActK(a []byte, n, t int, dup, withS bool) (b []byte, da []float32, bb *[]uint16, dab *[]float32) {
	nA := n / qk
	if dup {
		nA *= 2
	}
	np, ab := nA/2, ActBytesQ8_K(n)
	tp := (t + 31) &^ 31
	bb = amxScratch16(tp / 16 * np * 512)
	b = unsafe.Slice((*byte)(unsafe.Pointer(&(*bb)[0])), tp/16*np*1024)
	sd := 32
	if withS {
		sd = 64
	}
	dab = mmPack(tp / 32 * nA * sd)
	da = *dab
	tmp := make([]byte, 16*np*64)
	for j := 0; j < tp/16; j++ {
		if (j+1)*16 > t {
			clear(tmp)
		}
		for i := j * 16; i < min(t, (j+1)*16); i++ {
			row := a[i*ab : (i+1)*ab]
			out := tmp[(i-j*16)*np*64:]
			for k := 0; k < nA; k++ {
				s := k
				if dup {
					s = k / 2
				}
				q := row[s/8*kQ8KBytes+s%8*32:]
				o := out[k/2*64+k&1*4:]
				for g := 0; g < 8; g++ {
					binary.LittleEndian.PutUint32(o[g*8:], binary.LittleEndian.Uint32(q[g*4:]))
				}
			}
		}
		trAVX512((*float32)(unsafe.Pointer(&b[j*np*1024])), 16, (*float32)(unsafe.Pointer(&tmp[0])), np*16, np)
	}
	clear(da)
	for i := 0; i < t; i++ {
		row := a[i*ab : (i+1)*ab]
		base := i / 32 * nA * sd
		for k := 0; k < nA; k++ {
			s := k
			if dup {
				s = k / 2
			}
			blk := row[s/8*kQ8KBytes:]
			dy := kActD(blk)
			da[base+k*sd+i%32] = dy
			if withS {
				j := s % 8
				sum := kActBsum(blk, 2*j) + kActBsum(blk, 2*j+1)
				da[base+k*sd+32+i%32] = float32(dy * float32(sum))
			}
		}
	}
	return
}

const (
	swarLo4 = 0x0F0F0F0F0F0F0F0F
	swarOne = 0x0101010101010101
)

// unpackQ4K unpacks one Q4_K row's nb super-blocks to int8 tile blocks
// 1 KiB apart (dst[k*1024+e] is value e of sub-block k), eight bytes at a
// time; sc and mn receive the 6-bit scales and minima.
func unpackQ4K(dst []byte, src []byte, nb int, sc, mn []uint8) {
	for i := 0; i < nb; i++ {
		b := src[i*BlockBytesQ4_K : (i+1)*BlockBytesQ4_K]
		for j := 0; j < 8; j++ {
			sc[8*i+j], mn[8*i+j] = kScaleMin(j, b[4:16])
		}
		for c := 0; c < 4; c++ {
			lo := dst[(8*i+2*c)*1024:]
			hi := dst[(8*i+2*c+1)*1024:]
			for l := 0; l < 32; l += 8 {
				x := binary.LittleEndian.Uint64(b[16+32*c+l:])
				binary.LittleEndian.PutUint64(lo[l:], x&swarLo4)
				binary.LittleEndian.PutUint64(hi[l:], x>>4&swarLo4)
			}
		}
	}
}

// unpackQ5K is unpackQ4K for Q5_K: the fifth bits from qh.
func unpackQ5K(dst []byte, src []byte, nb int, sc, mn []uint8) {
	for i := 0; i < nb; i++ {
		b := src[i*BlockBytesQ5_K : (i+1)*BlockBytesQ5_K]
		for j := 0; j < 8; j++ {
			sc[8*i+j], mn[8*i+j] = kScaleMin(j, b[4:16])
		}
		for c := 0; c < 4; c++ {
			lo := dst[(8*i+2*c)*1024:]
			hi := dst[(8*i+2*c+1)*1024:]
			for l := 0; l < 32; l += 8 {
				x := binary.LittleEndian.Uint64(b[48+32*c+l:])
				h := binary.LittleEndian.Uint64(b[16+l:])
				binary.LittleEndian.PutUint64(lo[l:], x&swarLo4|(h>>(2*c)&swarOne)<<4)
				binary.LittleEndian.PutUint64(hi[l:], x>>4&swarLo4|(h>>(2*c+1)&swarOne)<<4)
			}
		}
	}
}

// q6Signed turns eight 6-bit values v (0..63, one a byte) into the int8
// bytes v-32: the low five bits kept, the top three set when bit 5 is
// clear.
func q6Signed(v uint64) uint64 {
	return v&0x1F1F1F1F1F1F1F1F | (^v>>5&swarOne)*0xE0
}

// unpackQ6K unpacks one Q6_K row's nb super-blocks to the duplicated
// tile blocks (16 values then 16 zeros, 16 zeros then 16 values), the
// zero halves left as they are in dst (cleared once by the caller); sc
// receives the 16 int8 scales per super-block.
func unpackQ6K(dst []byte, src []byte, nb int, sc []int8) {
	for i := 0; i < nb; i++ {
		b := src[i*BlockBytesQ6_K : (i+1)*BlockBytesQ6_K]
		for j := 0; j < 16; j++ {
			sc[16*i+j] = int8(b[192+j])
		}
		for h := 0; h < 2; h++ {
			ql := b[64*h:]
			qh := b[128+32*h:]
			for l := 0; l < 32; l += 8 {
				x0 := binary.LittleEndian.Uint64(ql[l:])
				x1 := binary.LittleEndian.Uint64(ql[l+32:])
				hb := binary.LittleEndian.Uint64(qh[l:])
				v := [4]uint64{
					x0&swarLo4 | (hb&0x0303030303030303)<<4,
					x1&swarLo4 | (hb>>2&0x0303030303030303)<<4,
					x0>>4&swarLo4 | (hb>>4&0x0303030303030303)<<4,
					x1>>4&swarLo4 | (hb>>6&0x0303030303030303)<<4,
				}
				// Values 32q+l of the 128-run h: element e = 32q+l of
				// the super-block's half; 32-block c = 4h+q, element
				// l: in tile block 2c (l < 16) or 2c+1 at the same
				// offset.
				for q := 0; q < 4; q++ {
					c := 4*h + q
					k := 2*c + l/16
					binary.LittleEndian.PutUint64(dst[(16*i+k)*1024+l:], q6Signed(v[q]))
				}
			}
		}
	}
}

// amxMatMulK is the K-quant tile product: kind is 4, 5 or 6.
func amxMatMulK(y []float32, ldy int, w, a []byte, n, t, rows, kind int) {
	bs, dup, withMin := BlockBytesQ4_K, false, true
	switch kind {
	case 5:
		bs = BlockBytesQ5_K
	case 6:
		bs, dup, withMin = BlockBytesQ6_K, true, false
	}
	b, da, bb, dab := amxLayoutActK(a, n, t, dup, withMin)
	sd, kern := 32, amxQ8
	if withMin {
		sd, kern = 64, amxQ8m
	}
	nb := n / kQK
	nA := n / qk
	if dup {
		nA *= 2
	}
	np := nA / 2
	rb := nb * bs
	tp := (t + 31) &^ 31
	dwb, accb, scrb := mmPack(nA*sd), mmPack(32*32), mmPack(32*32)
	dw, acc := *dwb, *accb
	scr := (*int32)(unsafe.Pointer(&(*scrb)[0]))
	ub := amxScratch16(nA * 512)
	un := unsafe.Slice((*byte)(unsafe.Pointer(&(*ub)[0])), nA*1024)
	clear(un)
	sc := make([]uint8, nA)
	mn := make([]uint8, nA)
	sc6 := make([]int8, nA)
	for r0 := 0; r0 < rows; r0 += 32 {
		nr := min(32, rows-r0)
		for m := 0; m < 32; m++ {
			if m >= nr {
				// Rows past the weights: zero quants and scales.
				for k := 0; k < nA; k++ {
					clear(un[k*1024+m*32 : k*1024+m*32+32])
					dw[k*sd+m] = 0
					if withMin {
						dw[k*sd+32+m] = 0
					}
				}
				continue
			}
			src := w[(r0+m)*rb : (r0+m+1)*rb]
			switch kind {
			case 4:
				unpackQ4K(un[m*32:], src, nb, sc, mn)
			case 5:
				unpackQ5K(un[m*32:], src, nb, sc, mn)
			case 6:
				unpackQ6K(un[m*32:], src, nb, sc6)
			}
			for i := 0; i < nb; i++ {
				blk := src[i*bs:]
				if kind == 6 {
					d := f16at(blk, 208)
					for j := 0; j < 16; j++ {
						dw[(16*i+j)*sd+m] = float32(d * float32(sc6[16*i+j]))
					}
					continue
				}
				d, dmin := f16at(blk, 0), f16at(blk, 2)
				for j := 0; j < 8; j++ {
					dw[(8*i+j)*sd+m] = float32(d * float32(sc[8*i+j]))
					dw[(8*i+j)*sd+32+m] = -float32(dmin * float32(mn[8*i+j]))
				}
			}
		}
		for jb := 0; jb < tp/32; jb++ {
			clear(acc)
			kern(&amxCfgQ8[0], (*int8)(unsafe.Pointer(&un[0])), 32, 1024, (*int8)(unsafe.Pointer(&b[2*jb*np*1024])), np*1024,
				&dw[0], &da[jb*nA*sd], &acc[0], scr, nA)
			mmKernelsAVX512.transpose(y[jb*32*ldy+r0:], ldy, acc, 32, nr, min(32, t-jb*32))
		}
	}
	amxRelease16(bb)
	mmRelease(dab)
	mmRelease(dwb)
	mmRelease(accb)
	mmRelease(scrb)
	amxRelease16(ub)
}

// amxMatMulQ4_K is MatMulQ4_K on tiles.
func amxMatMulQ4_K(y []float32, ldy int, w, a []byte, n, t, rows int) {
	amxMatMulK(y, ldy, w, a, n, t, rows, 4)
}

// amxMatMulQ5_K is MatMulQ5_K on tiles.
func amxMatMulQ5_K(y []float32, ldy int, w, a []byte, n, t, rows int) {
	amxMatMulK(y, ldy, w, a, n, t, rows, 5)
}

// amxMatMulQ6_K is MatMulQ6_K on tiles.
func amxMatMulQ6_K(y []float32, ldy int, w, a []byte, n, t, rows int) {
	amxMatMulK(y, ldy, w, a, n, t, rows, 6)
}
