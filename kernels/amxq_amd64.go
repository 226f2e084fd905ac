//go:build amd64 && !noasm

package kernels

import "unsafe"

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
// odd rows block 2p+1's (loaded 128 bytes apart); both operands are
// signed (TDPBSSD).

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

// unpackQ4_0 unpacks one row's nb Q4_0 blocks to int8, 1 KiB apart.
//
//go:noescape
func unpackQ4_0(dst *int8, src *byte, nb int)

// unpackQ5_0 unpacks one row's nb Q5_0 blocks to int8, 1 KiB apart;
// unpackQ4_1 and unpackQ5_1 the same for Q4_1 and Q5_1 (values kept
// unsigned, 0-15 and 0-31: their minimum is a term of its own).
//
//go:noescape
func unpackQ5_0(dst *int8, src *byte, nb int)

//go:noescape
func unpackQ4_1(dst *int8, src *byte, nb int)

//go:noescape
func unpackQ5_1(dst *int8, src *byte, nb int)

// amxQ8m is amxQ8 with the minimum term of Q4_1/Q5_1 (amx_amd64.s).
//
//go:noescape
func amxQ8m(cfg *byte, a *int8, lda int, astep int, b *int8, b1 int, dw *float32, da *float32, acc *float32, scr *int32, nblk int)

// amxLayoutAct lays out t activation rows a (ActBytesQ8_0(n) bytes each)
// as B tiles in b ([token block of 16][block pair] 1 KiB tiles)
// and their scales in da ([token block of 32][block][32 tokens]), tokens
// padded to a multiple of 32 (their scales 0). It returns the buffers to
// give back.
//
// With withS (Q8_1 activations), da holds per block the 32 tokens' scales
// then their s.
func amxLayoutAct(a []byte, n, t int, withS bool) (b []byte, da []float32, bb *[]uint16, dab *[]float32) {
	nb, np, ab := n/qk, actPairs(n), ActBytesQ8_0(n)
	tp := (t + 31) &^ 31
	bb = amxScratch16(tp / 16 * np * 512)
	b = unsafe.Slice((*byte)(unsafe.Pointer(&(*bb)[0])), tp/16*np*1024)
	sd := 32 // floats per block in da
	if withS {
		sd = 64
	}
	dab = mmPack(tp / 32 * nb * sd)
	da = *dab
	for j := 0; j < tp/16; j++ {
		dst := (*float32)(unsafe.Pointer(&b[j*np*1024]))
		if (j+1)*16 <= t {
			trAVX512(dst, 16, (*float32)(unsafe.Pointer(&a[j*16*ab])), ab/4, np)
			continue
		}
		// The last, partial block of tokens: its quants copied out so
		// that the transpose reads no row past t; the padding tokens'
		// results are dropped.
		tmp := make([]byte, 16*np*64)
		for i := j * 16; i < t; i++ {
			copy(tmp[(i-j*16)*np*64:], a[i*ab:i*ab+np*64])
		}
		trAVX512(dst, 16, (*float32)(unsafe.Pointer(&tmp[0])), np*16, np)
	}
	clear(da)
	for i := 0; i < t; i++ {
		r := splitAct(a[i*ab:(i+1)*ab], n)
		base := i / 32 * nb * sd
		for k := 0; k < nb; k++ {
			da[base+k*sd+i%32] = r.d(k)
			if withS {
				da[base+k*sd+32+i%32] = r.s(k)
			}
		}
	}
	return
}

// amxMatMulQ is the int8 tile product for weights of bytes bytes per
// block whose block scale is the fp16 at the block's start. unpack, when
// not nil, unpacks one weight row's blocks to int8, 1 KiB apart (the A
// tiles of 32 rows, 32 bytes per row); when nil the quants are read in
// place, 2 bytes into each block (Q8_0). withMin selects the types whose
// blocks also carry a minimum (the fp16 after the scale; Q8_1
// activations).
func amxMatMulQ(y []float32, ldy int, w, a []byte, n, t, rows, bytes int, unpack func(dst *int8, src *byte, nb int), withMin bool) {
	b, da, bb, dab := amxLayoutAct(a, n, t, withMin)
	sd, kern := 32, amxQ8
	if withMin {
		sd, kern = 64, amxQ8m
	}
	np := actPairs(n)
	nb := n / qk
	rb := nb * bytes
	tp := (t + 31) &^ 31
	dwb, accb, scrb := mmPack(nb*sd), mmPack(32*32), mmPack(32*32)
	dw, acc := *dwb, *accb
	scr := (*int32)(unsafe.Pointer(&(*scrb)[0]))
	var padb, ub *[]uint16
	var pad, un []byte
	if rows%32 != 0 {
		padb = amxScratch16((32*rb + 1) / 2)
		pad = unsafe.Slice((*byte)(unsafe.Pointer(&(*padb)[0])), 32*rb)
	}
	if unpack != nil {
		ub = amxScratch16(nb * 512)
		un = unsafe.Slice((*byte)(unsafe.Pointer(&(*ub)[0])), nb*1024)
	}
	for r0 := 0; r0 < rows; r0 += 32 {
		nr := min(32, rows-r0)
		src := w[r0*rb:]
		if nr < 32 {
			// The last rows, zero-padded to 32 (zero scales, zero
			// quants), so that no tile row reads past the weights.
			clear(pad)
			copy(pad, w[r0*rb:(r0+nr)*rb])
			src = pad
		}
		for m := 0; m < 32; m++ {
			for k := 0; k < nb; k++ {
				dw[k*sd+m] = f16at(src, m*rb+k*bytes)
				if withMin {
					dw[k*sd+32+m] = f16at(src, m*rb+k*bytes+2)
				}
			}
		}
		A, lda, astep := (*int8)(unsafe.Pointer(&src[2])), rb, bytes
		if unpack != nil {
			for m := 0; m < 32; m++ {
				unpack((*int8)(unsafe.Pointer(&un[m*32])), &src[m*rb], nb)
			}
			A, lda, astep = (*int8)(unsafe.Pointer(&un[0])), 32, 1024
		}
		for jb := 0; jb < tp/32; jb++ {
			clear(acc)
			kern(&amxCfgQ8[0], A, lda, astep, (*int8)(unsafe.Pointer(&b[2*jb*np*1024])), np*1024,
				&dw[0], &da[jb*nb*sd], &acc[0], scr, nb)
			mmKernelsAVX512.transpose(y[jb*32*ldy+r0:], ldy, acc, 32, nr, min(32, t-jb*32))
		}
	}
	amxRelease16(bb)
	mmRelease(dab)
	mmRelease(dwb)
	mmRelease(accb)
	mmRelease(scrb)
	if padb != nil {
		amxRelease16(padb)
	}
	if ub != nil {
		amxRelease16(ub)
	}
}

// amxMatMulQ8_0 is MatMulQ8_0 on tiles.
func amxMatMulQ8_0(y []float32, ldy int, w, a []byte, n, t, rows int) {
	amxMatMulQ(y, ldy, w, a, n, t, rows, BlockBytesQ8_0, nil, false)
}

// amxMatMulQ4_0 is MatMulQ4_0 on tiles: each 32-row block's weights are
// unpacked to int8 once (unpackQ4_0), then used for every token block.
func amxMatMulQ4_0(y []float32, ldy int, w, a []byte, n, t, rows int) {
	amxMatMulQ(y, ldy, w, a, n, t, rows, BlockBytesQ4_0, unpackQ4_0, false)
}

// amxMatMulQ5_0 is MatMulQ5_0 on tiles, unpacked as Q4_0 (unpackQ5_0).
func amxMatMulQ5_0(y []float32, ldy int, w, a []byte, n, t, rows int) {
	amxMatMulQ(y, ldy, w, a, n, t, rows, BlockBytesQ5_0, unpackQ5_0, false)
}

// amxMatMulQ4_1 is MatMulQ4_1 on tiles.
func amxMatMulQ4_1(y []float32, ldy int, w, a []byte, n, t, rows int) {
	amxMatMulQ(y, ldy, w, a, n, t, rows, BlockBytesQ4_1, unpackQ4_1, true)
}

// amxMatMulQ5_1 is MatMulQ5_1 on tiles.
func amxMatMulQ5_1(y []float32, ldy int, w, a []byte, n, t, rows int) {
	amxMatMulQ(y, ldy, w, a, n, t, rows, BlockBytesQ5_1, unpackQ5_1, true)
}
