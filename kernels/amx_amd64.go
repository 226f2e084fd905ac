//go:build amd64 && !noasm

package kernels

import (
	"sync"
	"unsafe"

	"github.com/klauspost/cpuid/v2"
)

// Intel AMX (Advanced Matrix Extensions): the matrix product of prefill on
// tiles. Facts and encodings: ../shared/reference/amx.md, DESIGN §12.
//
// y [t, rows] = x [t, n] · W^T is computed transposed, yT [rows, t] =
// W · x^T, because that is what lets the weights stay as they are in the
// file: an A tile is 16 weight rows × 32 bf16 values read straight from W
// (rows n*2 bytes apart), a B tile is 32 values of the reduction × 16
// tokens of x in the VNNI pair layout, which Prepare builds once per x.
// The kernel (amxBF16, amx_amd64.s) keeps four accumulator tiles in
// flight (2 A tiles × 2 B tiles = 32 rows × 32 tokens): one chain of
// TDPBF16PS is latency-bound, four reach the unit's throughput.
//
// Loop order, innermost last: panels of amxPanel weight rows (the
// panel's transposed results, amxPanel × tp f32, stay in L2 until they
// are transposed into y); chunks of amxKC values of the reduction (the
// panel's weights for the chunk, amxPanel × amxKC bf16 = 256 KiB, are
// read from memory once and stay in L2 while every token block passes
// over them; each call prefetches its share of the next chunk's); token
// blocks of 32 (their B tiles for the chunk, 32 KiB, are reused by every
// row block of the panel); row blocks of 32, inside the kernel. Partial
// sums of later chunks are loaded into the C tiles and added to.
//
// Tails: tokens are padded to a multiple of 32 with zeros (their results
// are left out); the last rows%32 weight rows are copied into a
// zero-padded block of 32 rows; a reduction length that is not a multiple
// of 32 gets one more step whose A tiles come from a zero-padded copy of
// the last n%32 columns (reading W past n would read the next row, or past
// the end of the mapping for the last).

// Blocking (see above).
const (
	amxKC    = 512 // reduction values per chunk (a multiple of 32)
	amxPanel = 256 // weight rows per panel (a multiple of 32)
)

// amxCfgBF16 is the tile configuration of amxBF16: palette 1, all eight
// tiles 16 rows of 64 bytes (C: 16×16 f32, A: 16×32 bf16, B: 16 pairs ×
// 16 tokens).
var amxCfgBF16 = func() (c [64]byte) {
	c[0] = 1
	for i := 0; i < 8; i++ {
		c[16+2*i] = 64
		c[48+i] = 16
	}
	return c
}()

// amxBF16 is the tile kernel (amx_amd64.s).
//
//go:noescape
func amxBF16(cfg *byte, a *uint16, lda int, astep int, a1 int, ablock int, b *uint16, b1 int, c *float32, ldc int, ksteps int, blocks int, add int, pf *uint16)

// f16ToBF16 rounds n half-precision values (a multiple of 16) to
// bfloat16 (exact in f32, then to nearest even; f16 subnormals, which
// bf16 can hold, are kept).
//
//go:noescape
func f16ToBF16(dst *uint16, src *uint16, n int)

// bf16Pack rounds n floats (a multiple of 16) to bfloat16.
//
//go:noescape
func bf16Pack(dst *uint16, src *float32, n int)

// amxActive is whether the AMX kernels are installed (the feature set in
// use has AMX); set by the installer.
var amxActive bool

// amxPrepare lays x out for amxMatMulBF16 in p.amx when the AMX kernels
// are active and p has enough tokens; otherwise it drops p's layout.
//
// Layout: the bf16 values of x, tokens padded to tp (a multiple of 32)
// and the reduction to kp (a multiple of 32) with zeros, as B tiles: tile
// (j, s) of tokens 16j..16j+15 and reduction values 32s..32s+31 is the
// 512 values at (j*ks+s)*512 (ks = kp/32), its row p holding, for each of
// the 16 tokens, the values 32s+2p and 32s+2p+1. That is a 16×16
// transpose of 32-bit pairs per tile, done by the AVX-512 transpose on
// the row-major bf16 copy of x.
func amxPrepare(p *Prepared) {
	p.amxOn = false
	if !amxActive || p.t < tileTokens {
		return
	}
	t, n := p.t, p.n
	tp := (t + 31) &^ 31
	kp := (n + 31) &^ 31
	if cap(p.amx) < tp*kp {
		p.amx = make([]uint16, tp*kp)
	}
	p.amx = p.amx[:tp*kp]
	// The row-major copy, tokens padded too.
	rb := amxScratch16(tp * kp)
	rm := *rb
	n16 := n &^ 15
	for i := 0; i < t; i++ {
		row := rm[i*kp : (i+1)*kp]
		xr := p.x[i*n : (i+1)*n]
		if n16 > 0 {
			bf16Pack(&row[0], &xr[0], n16)
		}
		for k := n16; k < n; k++ {
			row[k] = FloatToBF16(xr[k])
		}
		clear(row[n:])
	}
	clear(rm[t*kp:])
	// Tile by tile: 16 tokens × kp/2 pairs of rm, transposed, are the
	// ks tiles of that token block, one after the other.
	ks := kp / 32
	for j := 0; j < tp/16; j++ {
		dst := (*float32)(unsafe.Pointer(&p.amx[j*ks*512]))
		src := (*float32)(unsafe.Pointer(&rm[j*16*kp]))
		trAVX512(dst, 16, src, kp/2, ks)
	}
	amxRelease16(rb)
	p.amxOn = true
}

// Scratch of bf16 values (the row-major copy of x, padded weight rows),
// kept across calls like mmPack's.
var (
	amxMu   sync.Mutex
	amxFree []*[]uint16
)

func amxScratch16(n int) *[]uint16 {
	amxMu.Lock()
	for i, b := range amxFree {
		if cap(*b) >= n {
			amxFree = append(amxFree[:i], amxFree[i+1:]...)
			amxMu.Unlock()
			*b = (*b)[:n]
			return b
		}
	}
	amxMu.Unlock()
	b := make([]uint16, n)
	return &b
}

func amxRelease16(b *[]uint16) {
	amxMu.Lock()
	if len(amxFree) < maxScratch {
		amxFree = append(amxFree, b)
	}
	amxMu.Unlock()
}

// amxMatMulBF16 computes y [t, rows] (row stride ldy) = x · w^T on tiles,
// for x laid out by amxPrepare in p.
func amxMatMulBF16(y []float32, ldy int, p *Prepared, w []uint16) { amxMatMul16(y, ldy, p, w, false) }

// amxMatMulF16 is amxMatMulBF16 for half-precision weights: each panel's
// chunk is rounded to bfloat16 (f16ToBF16) into an L2 buffer and the
// tiles read that. The weights lose 3 of their 11 significant bits on
// top of the activations' rounding. Measured on products of 64 tokens,
// 256 rows and n = 4096 N(0,1) activations and N(0,0.02) weights, worst
// error against float64 as a share of the largest |y|: 0.32% for f16
// weights, 0.18% for bf16 ones, within the 1% bound of the logits
// (tiny-llama's F16 fixture, whose weights are bf16-representable: 0.17%
// of the largest logit, as its BF16 twin).
func amxMatMulF16(y []float32, ldy int, p *Prepared, w []uint16) { amxMatMul16(y, ldy, p, w, true) }

// cvt16 copies bf16 weights, or rounds f16 ones to bf16.
func cvt16(dst, src []uint16, f16 bool) {
	if !f16 {
		copy(dst, src)
		return
	}
	for i, v := range src {
		dst[i] = FloatToBF16(F16ToFloat(v))
	}
}

// amxConvStride is the row stride, in values, of the f16 path's converted
// chunk: a chunk plus 32 values, so that its rows do not share L1 sets.
const amxConvStride = amxKC + 32

// amxMatMul16 is the tile product for bf16 weights, or f16 ones rounded to
// bf16 chunk by chunk.
func amxMatMul16(y []float32, ldy int, p *Prepared, w []uint16, f16 bool) {
	t, n := p.t, p.n
	rows := len(w) / n
	if rows == 0 {
		return
	}
	tp := (t + 31) &^ 31
	kp := (n + 31) &^ 31
	ks, kf := kp/32, n/32 // steps in all, and steps read from w itself
	rf := rows &^ 31      // rows in whole blocks of w
	rp := (rows + 31) &^ 31
	// yT's rows are ldt floats apart: tp+16, so that the 16 rows of a C
	// tile do not fall in the same few L1 sets (tp*4 bytes is a multiple
	// of 128; measured 1.3 times as fast as rows tp apart at T=512).
	ldt := tp + 16
	yb := mmPack(min(rp, amxPanel) * ldt)
	yT := *yb
	// The last rows%32 rows, zero-padded to 32 (all kp columns), and the
	// last n%32 columns of every row, zero-padded to 32 (rp rows).
	var padb, tailb *[]uint16
	var pad, tail []uint16
	if rf < rows {
		padb = amxScratch16(32 * kp)
		pad = *padb
		for r := 0; r < 32; r++ {
			d := pad[r*kp : (r+1)*kp]
			if rf+r < rows {
				cvt16(d, w[(rf+r)*n:(rf+r+1)*n], f16)
				clear(d[n:])
			} else {
				clear(d)
			}
		}
	}
	if kf < ks {
		tailb = amxScratch16(rp * 32)
		tail = *tailb
		for r := 0; r < rp; r++ {
			d := tail[r*32 : (r+1)*32]
			if r < rows {
				cvt16(d, w[r*n+kf*32:(r+1)*n], f16)
				clear(d[n-kf*32:])
			} else {
				clear(d)
			}
		}
	}
	var convb *[]uint16
	var conv []uint16
	if f16 {
		convb = amxScratch16(amxPanel * amxConvStride)
		conv = *convb
	}
	cfg := &amxCfgBF16[0]
	ldc := ldt * 4
	b1 := ks * 1024 // bytes from a token block's first B tiles to its second's
	for r0 := 0; r0 < rp; r0 += amxPanel {
		r1 := min(rp, r0+amxPanel)
		// The chunks: [s0, s1) steps of w, then the tail step.
		for s0 := 0; s0 < ks; {
			s1 := min(s0+amxKC/32, kf)
			isTail := s0 >= kf
			if isTail {
				s1 = ks
			}
			add := 0
			if s0 > 0 {
				add = 1
			}
			// Token block j's call prefetches 2 rows per row block of
			// the weights the next chunk (or panel) starts with.
			nr0, ns0 := r0, s1
			if s1 >= kf {
				nr0, ns0 = r0+amxPanel, 0
			}
			per := 2 * (r1 - r0) / 32
			pfAt := func(j int) *uint16 {
				r := nr0 + j*per
				if r+per > rf || isTail {
					return nil
				}
				return &w[r*n+ns0*32]
			}
			// Where the chunk's weights of whole row blocks are read:
			// w itself, or its bf16 rounding.
			wa, lda := func(r int) *uint16 { return &w[r*n+s0*32] }, n*2
			if f16 && !isTail {
				for r := r0; r < min(r1, rf); r++ {
					f16ToBF16(&conv[(r-r0)*amxConvStride], &w[r*n+s0*32], (s1-s0)*32)
				}
				wa, lda = func(r int) *uint16 { return &conv[(r-r0)*amxConvStride] }, amxConvStride*2
				pfAt = func(int) *uint16 { return nil }
			}
			for j := 0; j < tp/32; j++ {
				b := &p.amx[(2*j*ks+s0)*512]
				c := &yT[j*32]
				switch {
				case isTail:
					amxBF16(cfg, &tail[r0*32], 64, 64, 16*64, 32*64, b, b1, c, ldc, 1, (r1-r0)/32, add, nil)
				case r1 <= rf:
					amxBF16(cfg, wa(r0), lda, 64, 16*lda, 32*lda, b, b1, c, ldc, s1-s0, (r1-r0)/32, add, pfAt(j))
				default:
					if rf > r0 {
						amxBF16(cfg, wa(r0), lda, 64, 16*lda, 32*lda, b, b1, c, ldc, s1-s0, (rf-r0)/32, add, nil)
					}
					amxBF16(cfg, &pad[s0*32], kp*2, 64, 32*kp, 64*kp, b, b1, &yT[(rf-r0)*ldt+j*32], ldc, s1-s0, 1, add, nil)
				}
			}
			s0 = s1
		}
		// The panel's results are complete, and in L2.
		mmKernelsAVX512.transpose(y[r0:], ldy, yT, ldt, min(r1, rows)-r0, t)
	}
	mmRelease(yb)
	if convb != nil {
		amxRelease16(convb)
	}
	if padb != nil {
		amxRelease16(padb)
	}
	if tailb != nil {
		amxRelease16(tailb)
	}
}

func init() { installers = append(installers, func(f Features) { installAMX(f.Has(FeatAMX)) }) }

// installAMX turns the AMX kernels on or off: on only when the process
// can use the tiles (amxUsable, cpu_amd64.go) and the CPU has AVX-512
// BF16, which the activations' layout uses (every AMX CPU has it).
func installAMX(on bool) {
	amxActive = on && amxUsable() && cpuid.CPU.Supports(cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL, cpuid.AVX512BF16)
	if amxActive {
		tilePrepare, tileMatMulBF16, tileMatMulF16 = amxPrepare, amxMatMulBF16, amxMatMulF16
		tileMatMulQ8_0, tileMatMulQ4_0, tileMatMulQ5_0 = amxMatMulQ8_0, amxMatMulQ4_0, amxMatMulQ5_0
		tileMatMulQ4_1, tileMatMulQ5_1 = amxMatMulQ4_1, amxMatMulQ5_1
		tileMatMulQ4_K, tileMatMulQ5_K, tileMatMulQ6_K = amxMatMulQ4_K, amxMatMulQ5_K, amxMatMulQ6_K
	} else {
		tilePrepare, tileMatMulBF16, tileMatMulF16 = nil, nil, nil
		tileMatMulQ8_0, tileMatMulQ4_0, tileMatMulQ5_0 = nil, nil, nil
		tileMatMulQ4_1, tileMatMulQ5_1 = nil, nil
		tileMatMulQ4_K, tileMatMulQ5_K, tileMatMulQ6_K = nil, nil, nil
	}
}
