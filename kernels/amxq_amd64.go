//go:build amd64 && !noasm

package kernels

import (
	"encoding/binary"
	"unsafe"
)

// Int8 block types on AMX-INT8: TDPBSSD of 16 weight rows × 32 int8 (one
// block of each row) by 32 int8 × 16 tokens, so that each 32-value block
// keeps its own scales: the int32 result of every block is exact, then
// scaled by dw·da in f32 and added to an f32 accumulator by the vector
// units (amxQ8, amx_amd64.s), as ggml's vec_dot does block by block. The
// results equal the vector kernels' up to the float rounding of that
// accumulation (the scale product is rounded to f32 as in ggml, the
// multiply-add is fused).
//
// Q8_0 weights are read in place: a block row is 34 bytes, its quants
// start 2 bytes in, and a tile load takes any row stride, so an A tile is
// 16 rows of 32 bytes from the mapped weights (rows n/32*34 bytes apart).
// Activations (the Q8_0 activation rows of QuantizeActQ8_0) are laid out
// per call as B tiles: a block pair's 64 bytes of quants per token, words
// of 4 interleaved between the pair's two blocks, become 16×16 words
// transposed (tokens across), whose even rows are block 2p's B tile and
// odd rows block 2p+1's (loaded 128 bytes apart); the bias of 128 is
// taken away so that both operands are signed.

// amxCfgQ8 is amxQ8's tile configuration: C 16×16 int32, A 16 rows × 32
// bytes, B 8 rows × 64 bytes.
var amxCfgQ8 = func() (c [64]byte) {
	c[0] = 1
	for i := 0; i < 8; i++ {
		switch {
		case i < 4:
			c[16+2*i], c[48+i] = 64, 16
		case i < 6:
			c[16+2*i], c[48+i] = 32, 16
		default:
			c[16+2*i], c[48+i] = 64, 8
		}
	}
	return c
}()

// amxQ8 is the int8 tile kernel (amx_amd64.s).
//
//go:noescape
func amxQ8(cfg *byte, a *int8, lda int, astep int, b *int8, b1 int, dw *float32, da *float32, acc *float32, scr *int32, nblk int)

// amxActQ is the activations of one int8 tile product laid out as B
// tiles, and their scales.
type amxActQ struct {
	b  []byte    // [token block of 16][pair] 1 KiB tiles, signed
	da []float32 // [token block of 32][block][32 tokens]
	np int       // block pairs per row
}

// amxLayoutAct lays out t activation rows a (ActBytesQ8_0(n) bytes each)
// as B tiles, tokens padded to a multiple of 32 (their scales 0).
func amxLayoutAct(q *amxActQ, a []byte, n, t int) {
	nb, np, ab := n/qk, actPairs(n), ActBytesQ8_0(n)
	tp := (t + 31) &^ 31
	q.np = np
	if need := tp / 16 * np * 1024; cap(q.b) < need {
		q.b = make([]byte, need)
	} else {
		q.b = q.b[:need]
	}
	if need := tp / 32 * nb * 32; cap(q.da) < need {
		q.da = make([]float32, need)
	} else {
		q.da = q.da[:need]
	}
	var tmp []byte
	for j := 0; j < tp/16; j++ {
		dst := (*float32)(unsafe.Pointer(&q.b[j*np*1024]))
		if (j+1)*16 <= t {
			trAVX512(dst, 16, (*float32)(unsafe.Pointer(&a[j*16*ab])), ab/4, np)
			continue
		}
		// The last, partial block of tokens: its quants copied out so
		// that the transpose reads no row past t.
		if tmp == nil {
			tmp = make([]byte, 16*np*64)
		}
		clear(tmp)
		for i := j * 16; i < t; i++ {
			copy(tmp[(i-j*16)*np*64:], a[i*ab:i*ab+np*64])
		}
		trAVX512(dst, 16, (*float32)(unsafe.Pointer(&tmp[0])), np*16, np)
	}
	for i := 0; i+8 <= len(q.b); i += 8 {
		binary.LittleEndian.PutUint64(q.b[i:], binary.LittleEndian.Uint64(q.b[i:])^0x8080808080808080)
	}
	clear(q.da)
	for i := 0; i < t; i++ {
		r := splitAct(a[i*ab:(i+1)*ab], n)
		base := i / 32 * nb * 32
		for k := 0; k < nb; k++ {
			q.da[base+k*32+i%32] = r.d(k)
		}
	}
}

// amxMatMulQ8_0 is MatMulQ8_0 on tiles.
func amxMatMulQ8_0(y []float32, ldy int, w, a []byte, n, t, rows int) {
	var q amxActQ
	amxLayoutAct(&q, a, n, t)
	nb := n / qk
	rb := nb * BlockBytesQ8_0
	tp := (t + 31) &^ 31
	dw := make([]float32, nb*32)
	acc := make([]float32, 32*32)
	scr := make([]int32, 32*32)
	var pad []byte
	for r0 := 0; r0 < rows; r0 += 32 {
		nr := min(32, rows-r0)
		src := w[r0*rb:]
		if nr < 32 {
			// The last rows, zero-padded to 32 (zero scales, zero
			// quants), so that no tile row reads past the weights.
			pad = make([]byte, 32*rb)
			copy(pad, w[r0*rb:(r0+nr)*rb])
			src = pad
		}
		for m := 0; m < 32; m++ {
			for k := 0; k < nb; k++ {
				dw[k*32+m] = f16at(src, m*rb+k*BlockBytesQ8_0)
			}
		}
		for jb := 0; jb < tp/32; jb++ {
			clear(acc)
			amxQ8(&amxCfgQ8[0], (*int8)(unsafe.Pointer(&src[2])), rb, BlockBytesQ8_0,
				(*int8)(unsafe.Pointer(&q.b[2*jb*q.np*1024])), q.np*1024,
				&dw[0], &q.da[jb*nb*32], &acc[0], &scr[0], nb)
			mmKernelsAVX512.transpose(y[jb*32*ldy+r0:], ldy, acc, 32, nr, min(32, t-jb*32))
		}
	}
}
