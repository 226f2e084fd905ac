package kernels

import (
	"encoding/binary"
	"math"
	"sync"
	"unsafe"
)

// Panel products: the int8 matrix product of prefill on the vector units.
//
// The dot-product kernels (MatMulQ4_0 ...) unpack every weight block again
// for each group of four tokens and reduce across lanes for every block:
// at 512 tokens that is most of their time. A panel product instead
// unpacks 32 weight rows once into a layout the multiply-add instruction
// takes directly (ActPanel's counterpart on the weight side) and runs all
// the chunk's tokens over it, four at a time:
//
//   - lanes are weight rows: one zmm register holds 16 rows × 4 int8 of K,
//     so VPDPBUSD adds four products into each row's int32 and nothing is
//     reduced across lanes;
//   - a group is the span of K that shares one weight scale (32 values for
//     the 32-element types, Q4_K and Q5_K; 16 for Q2_K, Q3_K and Q6_K);
//     each group's int32 sums are exact, then scaled in f32 by the weight
//     scale times the token's activation scale, as ggml's vec_dot does
//     block by block;
//   - VPDPBUSD multiplies unsigned by signed bytes: the activations are
//     made unsigned (a+128, in ActPanel) and the weights are signed codes,
//     so each group's sum starts at -128·Σw (computed when unpacking);
//   - types with a minimum (Q4_1, Q5_1, Q2_K, Q4_K, Q5_K) add m·(da·Σa) per
//     group, Σa coming with the activations (Q8_1's s, Q8_K's bsums).
//
// Weight bytes are read from the mapped file once per product, as by the
// dot-product kernels; the unpacked panel (at most 32 × n codes and the
// group tables) stays in L2 while every token block passes over it.

// panelRows is the number of weight rows one panel holds: two zmm row
// groups of 16.
const panelRows = 32

// panelTokens is the token block of the microkernel; ActPanel pads the
// tokens to a multiple of it.
const panelTokens = 4

// panelMinTokens is the least number of activation rows for which the
// products run on panels: below it the weights' unpacking (once per
// product) costs more than the dot-product kernels' repeated unpacking.
// BenchmarkPanelCrossover (4096×4096, one goroutine, EPYC host): at 8
// tokens panels take 3.0 ms for Q4_0 and 3.5 for Q8_0 against the dot
// kernels' 3.9 and 3.9; at 4 tokens 2.4 and 3.4 against 2.0 and 2.0.
const panelMinTokens = 8

// ActPanel is t activation rows of one activation format (Q8_0, Q8_1 or
// Q8_K), laid out once per product for the panel kernels and shared,
// read-only, by every goroutine that runs a share of the weight rows.
// The zero value is ready to use; Prepare* reuse its buffers.
type ActPanel struct {
	n, t, tp int // values per row, tokens, tokens padded to panelTokens
	format   int // panelQ8_0, panelQ8_1 or panelQ8_K
	// u holds the quants as unsigned bytes (q+128): per block of 4 tokens,
	// per 4 consecutive values of K, the 4 tokens' 4 bytes; s the same
	// quants as signed bytes, for the AVX2 kernels of unsigned codes.
	u, s []byte
	// as32/asum32 and as16/asum16 hold, per block of 4 tokens, per group
	// of 32 (16) values, the 4 tokens' activation scales da and da·Σq.
	// The 16-groups are filled for Q8_K only.
	as32, asum32, as16, asum16 []float32
	// init8 and init128 hold, laid out as as32, the tokens' -8·Σq and
	// -128·Σq of each block (Q8_0 format only): the sums' starts of the
	// few-token kernels, whose Q4_0 and Q8_0 codes are unsigned (stored
	// nibbles, quants plus 128).
	init8, init128 []int32
}

// The activation formats an ActPanel is prepared from.
const (
	panelQ8_0 = iota + 1
	panelQ8_1
	panelQ8_K
)

func (p *ActPanel) reset(n, t, format int) {
	k16 := format == panelQ8_K
	p.n, p.t, p.tp, p.format = n, t, (t+panelTokens-1)/panelTokens*panelTokens, format
	grow := func(b []float32, m int) []float32 {
		if cap(b) < m {
			return make([]float32, m)
		}
		b = b[:m]
		clear(b)
		return b
	}
	if cap(p.u) < p.tp*n {
		p.u, p.s = make([]byte, p.tp*n), make([]byte, p.tp*n)
	}
	p.u, p.s = p.u[:p.tp*n], p.s[:p.tp*n]
	if p.tp > t {
		// Padding tokens: quants 0 (stored as 128), scales 0.
		for i := t * n; i < p.tp*n; i++ {
			p.u[i], p.s[i] = 0x80, 0
		}
	}
	p.as32, p.asum32 = grow(p.as32, p.tp*(n/32)), grow(p.asum32, p.tp*(n/32))
	if format == panelQ8_0 {
		m := p.tp * (n / 32)
		if cap(p.init8) < m {
			p.init8, p.init128 = make([]int32, m), make([]int32, m)
		}
		p.init8, p.init128 = p.init8[:m], p.init128[:m]
		clear(p.init8)
		clear(p.init128)
	}
	if k16 {
		p.as16, p.asum16 = grow(p.as16, p.tp*(n/16)), grow(p.asum16, p.tp*(n/16))
	} else {
		p.as16, p.asum16 = p.as16[:0], p.asum16[:0]
	}
}

// putQuad stores the 4 quants x (as a little-endian word) of values
// 4j..4j+3 of token i, made unsigned, and as they are.
func (p *ActPanel) putQuad(i, j int, x uint32) {
	o := (i/panelTokens*(p.n/4)+j)*16 + i%panelTokens*4
	binary.LittleEndian.PutUint32(p.u[o:], x^0x80808080)
	binary.LittleEndian.PutUint32(p.s[o:], x)
}

// scaleAt is the index of token i's entry for group g (of ng per row).
func scaleAt(i, g, ng int) int { return (i/panelTokens*ng+g)*panelTokens + i%panelTokens }

// PrepareQ8_0 lays out t activation rows a in the Q8_0 activation format
// (QuantizeActQ8_0, ActBytesQ8_0(n) bytes each).
func (p *ActPanel) PrepareQ8_0(a []byte, n, t int) {
	p.BeginQ8_0(n, t)
	p.Rows(a, 0, t)
}

// PrepareQ8_1 lays out t activation rows a in the Q8_1 activation format
// (QuantizeActQ8_1), with each block's s for the weights' minimum.
func (p *ActPanel) PrepareQ8_1(a []byte, n, t int) {
	p.BeginQ8_1(n, t)
	p.Rows(a, 0, t)
}

// PrepareQ8_K lays out t activation rows a in the Q8_K activation format
// (QuantizeActQ8_K, ActBytesQ8_K(n) bytes each).
func (p *ActPanel) PrepareQ8_K(a []byte, n, t int) {
	p.BeginQ8_K(n, t)
	p.Rows(a, 0, t)
}

// BeginQ8_0 readies p for t rows of n values in the Q8_0 activation
// format, to be laid out by Rows (which several goroutines may call for
// disjoint row ranges); BeginQ8_1 and BeginQ8_K the same for theirs.
func (p *ActPanel) BeginQ8_0(n, t int) { p.begin(n, t, panelQ8_0) }

// BeginQ8_1: see BeginQ8_0.
func (p *ActPanel) BeginQ8_1(n, t int) { p.begin(n, t, panelQ8_1) }

// BeginQ8_K: see BeginQ8_0.
func (p *ActPanel) BeginQ8_K(n, t int) { p.begin(n, t, panelQ8_K) }

func (p *ActPanel) begin(n, t, format int) {
	blk := qk
	if format == panelQ8_K {
		blk = kQK
	}
	if n <= 0 || n%blk != 0 || t <= 0 {
		panic("kernels: ActPanel.Begin: n is not a positive multiple of the block or t is not positive")
	}
	p.reset(n, t, format)
}

// Rows lays out activation rows [i0, i1) of the Begin call, a holding all
// t rows in its format.
func (p *ActPanel) Rows(a []byte, i0, i1 int) {
	n := p.n
	ab := ActBytesQ8_0(n)
	if p.format == panelQ8_K {
		ab = ActBytesQ8_K(n)
	}
	if i0 < 0 || i1 > p.t || i0 > i1 || len(a) < p.t*ab {
		panic("kernels: ActPanel.Rows: rows outside the Begin call's, or a too short")
	}
	if p.format == panelQ8_K {
		p.rowsQ8K(a, ab, i0, i1)
		return
	}
	nb := n / qk
	for i := i0; i < i1; i++ {
		if i%panelTokens == 0 && i+panelTokens <= i1 {
			p.rowsGroup(a, ab, i/panelTokens)
			i += panelTokens - 1
			continue
		}
		r := splitAct(a[i*ab:(i+1)*ab], n)
		for b := 0; b < nb; b++ {
			base := actOff(b, 0)
			for j := 0; j < 8; j++ {
				p.putQuad(i, b*8+j, binary.LittleEndian.Uint32(r.qs[base+8*j:]))
			}
			p.putBlockScales(scaleAt(i, b, nb), &r, b)
		}
	}
}

// putBlockScales stores block b of row r's activation scale, and its s
// (Q8_1) or its sums' starts (Q8_0), at scale entry k.
func (p *ActPanel) putBlockScales(k int, r *actRow, b int) {
	p.as32[k] = r.d(b)
	if p.format == panelQ8_1 {
		p.asum32[k] = r.s(b)
	} else {
		sum := int32(binary.LittleEndian.Uint32(r.ss[4*b:]))
		p.init8[k], p.init128[k] = -8*sum, -128*sum
	}
}

// rowsGroup lays out the 4 tokens of panel group g (Q8_0 and Q8_1
// formats), as Rows does token by token: it builds each 16 bytes of the
// panel (the 4 tokens' 4 quants of 4 consecutive values) in two words
// and stores them in order, where putQuad's 4-byte stores go back over
// every line four times. An 8-row decode step lays out every matrix
// input so, and token by token that took ~1 ns a value (8 rows of 4096,
// BenchmarkActPanelRows), a few % of the step.
func (p *ActPanel) rowsGroup(a []byte, ab, g int) {
	n := p.n
	nb := n / qk
	var qs [panelTokens][]byte
	var rs [panelTokens]actRow
	for t := range rs {
		i := g*panelTokens + t
		rs[t] = splitAct(a[i*ab:(i+1)*ab], n)
	}
	u := p.u[g*n*panelTokens:][:n*panelTokens]
	sg := p.s[g*n*panelTokens:][:n*panelTokens]
	const flip = 0x8080808080808080
	for b := 0; b < nb; b++ {
		off := actOff(b, 0) // each row's blocks come in pairs, word by word
		for t := range qs {
			qs[t] = rs[t].qs[off:][:60]
		}
		du, ds := u[b*128:][:128], sg[b*128:][:128]
		for j := 0; j < 8; j++ {
			lo := uint64(binary.LittleEndian.Uint32(qs[0][8*j:])) | uint64(binary.LittleEndian.Uint32(qs[1][8*j:]))<<32
			hi := uint64(binary.LittleEndian.Uint32(qs[2][8*j:])) | uint64(binary.LittleEndian.Uint32(qs[3][8*j:]))<<32
			binary.LittleEndian.PutUint64(ds[16*j:], lo)
			binary.LittleEndian.PutUint64(ds[16*j+8:], hi)
			binary.LittleEndian.PutUint64(du[16*j:], lo^flip)
			binary.LittleEndian.PutUint64(du[16*j+8:], hi^flip)
		}
		k := scaleAt(g*panelTokens, b, nb)
		for t := range rs {
			p.putBlockScales(k+t, &rs[t], b)
		}
	}
}

func (p *ActPanel) rowsQ8K(a []byte, ab, i0, i1 int) {
	n := p.n
	nb := n / kQK
	for i := i0; i < i1; i++ {
		for b := 0; b < nb; b++ {
			blk := a[i*ab+b*kQ8KBytes : i*ab+(b+1)*kQ8KBytes]
			for j := 0; j < kQK/4; j++ {
				p.putQuad(i, b*kQK/4+j, binary.LittleEndian.Uint32(blk[kQ8KQs+4*j:]))
			}
			d := kActD(blk)
			for g := 0; g < 16; g++ {
				k := scaleAt(i, b*16+g, n/16)
				p.as16[k] = d
				p.asum16[k] = d * float32(kActBsum(blk, g))
			}
			for g := 0; g < 8; g++ {
				k := scaleAt(i, b*8+g, n/32)
				p.as32[k] = d
				p.asum32[k] = d * float32(kActBsum(blk, 2*g)+kActBsum(blk, 2*g+1))
			}
		}
	}
}

// The weight side. A panel is, per group g of G values, one record:
//
//	[G/4][32][4]int8 codes   values 4j..4j+3 of each of the 32 rows
//	[32]float32 ws           each row's scale of the group
//	[32]int32 init           -128 times the sum of the row's codes
//	[32]float32 wm           the row's minimum term (types with one)
//
// Rows past the matrix's end are zero (codes, scales and all).

// PanelType is one block type's panel product: how its rows unpack into
// panels, and the microkernel that runs over them.
type PanelType struct {
	name       string
	blockElems int
	blockBytes int
	group      int  // values per group: 16 or 32
	min        bool // the type has a minimum term
	act        int  // the activation format: panelQ8_0, panelQ8_1, panelQ8_K
	// unpack stages the codes of blocks [b0, b1) of one weight row r
	// (< 32), and writes their scales and minimum terms unless tables
	// does.
	unpack func(pw *panelWriter, row []byte, r, b0, b1 int)
	// tables, when set, writes the scales and minimum terms of blocks
	// [b0, b1) of row r (the K-quants, whose scales take decoding);
	// unpack and codes then write codes only.
	tables func(pw *panelWriter, row []byte, r, b0, b1 int)
	// codes, when set (assembly), writes a whole 32-row panel's codes
	// straight from the weights, rows rb bytes apart, and, when tables
	// is nil, the scales and the sums' starts too. Only the assembly
	// kernel set uses it.
	codes func(w *byte, rb, nb int, dst *byte)
	// panelTables, when set (assembly, with codes), writes a whole 32-row
	// panel's tables in place of tables row by row.
	panelTables func(w *byte, rb, nb int, dst *byte)
	// tile is the type's tile product, which takes precedence when set.
	tile *func(y []float32, ldy int, w, a []byte, n, t, rows int)
}

// threshold is the least number of activation rows that take panels in
// the installed kernel set.
func (pt *PanelType) threshold() int {
	if panelKernel != nil {
		if m := panelKernel.minTokens[pt]; m > 0 {
			return m
		}
	}
	return panelMinTokens
}

func (pt *PanelType) recBytes() int { return panelRecBytes(pt.group, pt.min) }

// panelRecBytes is the size of one group record: the codes of group
// values, the scales and sums' starts, and the minimum terms if any.
func panelRecBytes(group int, hasMin bool) int {
	b := group/4*128 + 2*128
	if hasMin {
		b += 128
	}
	return b
}

// Use reports whether the products of t activation rows with this type
// run on panels (or the few-token kernels) in the current feature set;
// otherwise the caller keeps the type's MatMul.
func (pt *PanelType) Use(t int) bool {
	return panelKernel != nil && t >= pt.threshold() && (pt.tile == nil || *pt.tile == nil)
}

// panelWriter writes one panel: the group tables straight into it, the
// codes row by row into a staging area of panelStage values per row, which
// pack then turns into the panel's layout (and the sums' starts).
type panelWriter struct {
	buf   []byte
	rec   int
	g     int // the group's code bytes: G/4*128
	gs    int // values per group
	stage []byte
	g0    int // the first group staged
}

// panelStage is the number of values of each row staged at a time: one
// K-quant super-block, 8 blocks of the 32-element types.
const panelStage = 256

// group stages the 4-code words w of row r in group g (len(w) = G/4) and
// stores the row's scale and minimum term of the group.
func (pw *panelWriter) group(g, r int, w []uint32, ws, wm float32) {
	pw.codes(g, r, w)
	pw.table(g, r, ws, wm)
}

// codes stages the 4-code words w of row r in group g (len(w) = G/4).
func (pw *panelWriter) codes(g, r int, w []uint32) {
	o := r*panelStage + (g-pw.g0)*pw.gs
	st := pw.stage[o : o+4*len(w)]
	for j, x := range w {
		binary.LittleEndian.PutUint32(st[4*j:], x)
	}
}

// table stores row r's scale and minimum term of group g.
func (pw *panelWriter) table(g, r int, ws, wm float32) {
	t := g*pw.rec + pw.g + r*4
	binary.LittleEndian.PutUint32(pw.buf[t:], math.Float32bits(ws))
	if pw.rec > pw.g+256 {
		binary.LittleEndian.PutUint32(pw.buf[t+256:], math.Float32bits(wm))
	}
}

// panelPackGo is the pure-Go pack, the twin of the assembly: groups
// [g0, g0+ng) of the staged codes (panelRows rows of panelStage values)
// into their records, with each row's -128·Σcodes.
func panelPackGo(stage, dst *byte, ng, rec, steps int) {
	st := unsafe.Slice(stage, panelRows*panelStage)
	out := unsafe.Slice(dst, ng*rec)
	for g := 0; g < ng; g++ {
		o := out[g*rec : (g+1)*rec]
		for r := 0; r < panelRows; r++ {
			var sum int32
			for j := 0; j < steps; j++ {
				src := st[r*panelStage+(g*steps+j)*4:]
				copy(o[j*128+r/16*64+r%16*4:][:4], src[:4])
				for _, c := range src[:4] {
					sum += int32(int8(c))
				}
			}
			binary.LittleEndian.PutUint32(o[steps*128+128+4*r:], uint32(-128*sum))
		}
	}
}

// Byte-lane helpers: codes are packed 4 per little-endian word.

// subBytes subtracts c (< 128) from each byte of x, each byte < 128 + c,
// without borrows between bytes; the results are the signed codes.
func subBytes(x uint32, c uint32) uint32 { return ((x | 0x80808080) - c*0x01010101) ^ 0x80808080 }

// spread4 places bit i of a nibble at bit 0 of byte i.
var spread4 = func() (t [16]uint32) {
	for v := range t {
		for i := 0; i < 4; i++ {
			t[v] |= uint32(v>>i&1) << (8 * i)
		}
	}
	return
}()

func unpackPanelQ8_0(pw *panelWriter, row []byte, r, b0, b1 int) {
	var w [8]uint32
	for b := b0; b < b1; b++ {
		blk := row[b*BlockBytesQ8_0 : (b+1)*BlockBytesQ8_0]
		for j := range w {
			w[j] = binary.LittleEndian.Uint32(blk[2+4*j:])
		}
		pw.group(b, r, w[:], f16at(blk, 0), 0)
	}
}

func unpackPanelQ4_0(pw *panelWriter, row []byte, r, b0, b1 int) {
	var w [8]uint32
	for b := b0; b < b1; b++ {
		blk := row[b*BlockBytesQ4_0 : (b+1)*BlockBytesQ4_0]
		for j := 0; j < 4; j++ {
			x := binary.LittleEndian.Uint32(blk[2+4*j:])
			lo, hi := x&0x0f0f0f0f, x>>4&0x0f0f0f0f
			w[j], w[j+4] = subBytes(lo, 8), subBytes(hi, 8)
		}
		pw.group(b, r, w[:], f16at(blk, 0), 0)
	}
}

func unpackPanelQ4_1(pw *panelWriter, row []byte, r, b0, b1 int) {
	var w [8]uint32
	for b := b0; b < b1; b++ {
		blk := row[b*BlockBytesQ4_1 : (b+1)*BlockBytesQ4_1]
		for j := 0; j < 4; j++ {
			x := binary.LittleEndian.Uint32(blk[4+4*j:])
			w[j], w[j+4] = x&0x0f0f0f0f, x>>4&0x0f0f0f0f
		}
		pw.group(b, r, w[:], f16at(blk, 0), f16at(blk, 2))
	}
}

// q5Words are the 5-bit values of a Q5 block as 8 words of 4 codes.
func q5Words(w *[8]uint32, qh uint32, qs []byte) {
	for j := 0; j < 4; j++ {
		x := binary.LittleEndian.Uint32(qs[4*j:])
		w[j] = x&0x0f0f0f0f | spread4[qh>>(4*j)&15]<<4
		w[j+4] = x>>4&0x0f0f0f0f | spread4[qh>>(16+4*j)&15]<<4
	}
}

func unpackPanelQ5_0(pw *panelWriter, row []byte, r, b0, b1 int) {
	var w [8]uint32
	for b := b0; b < b1; b++ {
		blk := row[b*BlockBytesQ5_0 : (b+1)*BlockBytesQ5_0]
		q5Words(&w, binary.LittleEndian.Uint32(blk[2:]), blk[6:22])
		for j := range w {
			w[j] = subBytes(w[j], 16)
		}
		pw.group(b, r, w[:], f16at(blk, 0), 0)
	}
}

func unpackPanelQ5_1(pw *panelWriter, row []byte, r, b0, b1 int) {
	var w [8]uint32
	for b := b0; b < b1; b++ {
		blk := row[b*BlockBytesQ5_1 : (b+1)*BlockBytesQ5_1]
		q5Words(&w, binary.LittleEndian.Uint32(blk[4:]), blk[8:24])
		pw.group(b, r, w[:], f16at(blk, 0), f16at(blk, 2))
	}
}

func unpackPanelQ4_K(pw *panelWriter, row []byte, r, b0, b1 int) {
	var lo, hi [8]uint32
	for b := b0; b < b1; b++ {
		blk := row[b*BlockBytesQ4_K : (b+1)*BlockBytesQ4_K]
		for c := 0; c < 4; c++ {
			q := blk[16+32*c : 16+32*c+32]
			for j := 0; j < 8; j++ {
				x := binary.LittleEndian.Uint32(q[4*j:])
				lo[j], hi[j] = x&0x0f0f0f0f, x>>4&0x0f0f0f0f
			}
			pw.codes(b*8+2*c, r, lo[:])
			pw.codes(b*8+2*c+1, r, hi[:])
		}
	}
}

func unpackPanelQ5_K(pw *panelWriter, row []byte, r, b0, b1 int) {
	var lo, hi [8]uint32
	for b := b0; b < b1; b++ {
		blk := row[b*BlockBytesQ5_K : (b+1)*BlockBytesQ5_K]
		qh := blk[16:48]
		for c := 0; c < 4; c++ {
			q := blk[48+32*c : 48+32*c+32]
			for j := 0; j < 8; j++ {
				x := binary.LittleEndian.Uint32(q[4*j:])
				h := binary.LittleEndian.Uint32(qh[4*j:]) >> (2 * c)
				lo[j] = x&0x0f0f0f0f | (h&0x01010101)<<4
				hi[j] = x>>4&0x0f0f0f0f | (h>>1&0x01010101)<<4
			}
			pw.codes(b*8+2*c, r, lo[:])
			pw.codes(b*8+2*c+1, r, hi[:])
		}
	}
}

// tablesPanelQ4_K writes the scales and minimum terms of Q4_K rows (the
// codes come from panelCodesQ4_K); tablesPanelQ5_K the same for Q5_K,
// whose super-blocks start alike.
func tablesPanelQ4_K(pw *panelWriter, row []byte, r, b0, b1 int) {
	tablesPanelQ45K(pw, row, r, b0, b1, BlockBytesQ4_K)
}

func tablesPanelQ5_K(pw *panelWriter, row []byte, r, b0, b1 int) {
	tablesPanelQ45K(pw, row, r, b0, b1, BlockBytesQ5_K)
}

func tablesPanelQ45K(pw *panelWriter, row []byte, r, b0, b1, bs int) {
	for b := b0; b < b1; b++ {
		blk := row[b*bs : (b+1)*bs]
		d, dmin := kF16(blk[0:]), kF16(blk[2:])
		for j := 0; j < 8; j++ {
			sc, m := kScaleMin(j, blk[4:16])
			pw.table(b*8+j, r, d*float32(sc), -(dmin * float32(m)))
		}
	}
}

// tablesPanelQ6_K writes the scales of Q6_K rows.
func tablesPanelQ6_K(pw *panelWriter, row []byte, r, b0, b1 int) {
	for b := b0; b < b1; b++ {
		blk := row[b*BlockBytesQ6_K : (b+1)*BlockBytesQ6_K]
		d := kF16(blk[208:])
		for g := 0; g < 16; g++ {
			pw.table(b*16+g, r, d*float32(int8(blk[192+g])), 0)
		}
	}
}

// tablesPanelQ2_K writes the scales and minimum terms of Q2_K rows.
func tablesPanelQ2_K(pw *panelWriter, row []byte, r, b0, b1 int) {
	for b := b0; b < b1; b++ {
		blk := row[b*BlockBytesQ2_K : (b+1)*BlockBytesQ2_K]
		d, dmin := kF16(blk[80:]), kF16(blk[82:])
		for g := 0; g < 16; g++ {
			sc := blk[g]
			pw.table(b*16+g, r, d*float32(sc&15), -(dmin * float32(sc>>4)))
		}
	}
}

// tablesPanelQ3_K writes the scales of Q3_K rows.
func tablesPanelQ3_K(pw *panelWriter, row []byte, r, b0, b1 int) {
	for b := b0; b < b1; b++ {
		blk := row[b*BlockBytesQ3_K : (b+1)*BlockBytesQ3_K]
		d := kF16(blk[108:])
		scales := kQ3Scales(blk[96:108])
		for g := 0; g < 16; g++ {
			pw.table(b*16+g, r, d*float32(scales[g]), 0)
		}
	}
}

func unpackPanelQ6_K(pw *panelWriter, row []byte, r, b0, b1 int) {
	var w [4]uint32
	for b := b0; b < b1; b++ {
		blk := row[b*BlockBytesQ6_K : (b+1)*BlockBytesQ6_K]
		for h := 0; h < 2; h++ {
			ql := blk[64*h : 64*h+64]
			qh := blk[128+32*h : 128+32*h+32]
			// Quarter q of the half: values 32q..32q+31, two groups.
			for q := 0; q < 4; q++ {
				for half := 0; half < 2; half++ {
					for j := 0; j < 4; j++ {
						l := 16*half + 4*j
						x := binary.LittleEndian.Uint32(ql[32*(q&1)+l:]) >> (4 * (q >> 1)) & 0x0f0f0f0f
						x |= (binary.LittleEndian.Uint32(qh[l:]) >> (2 * q) & 0x03030303) << 4
						w[j] = subBytes(x, 32)
					}
					pw.codes(b*16+h*8+2*q+half, r, w[:])
				}
			}
		}
	}
}

func unpackPanelQ3_K(pw *panelWriter, row []byte, r, b0, b1 int) {
	var w [4]uint32
	for b := b0; b < b1; b++ {
		blk := row[b*BlockBytesQ3_K : (b+1)*BlockBytesQ3_K]
		hm := blk[0:32]
		g := 0
		for n := 0; n < 2; n++ {
			q := blk[32+32*n : 32+32*n+32]
			for shift := 0; shift < 8; shift += 2 {
				bit := 4*n + shift/2
				for half := 0; half < 2; half++ {
					for j := 0; j < 4; j++ {
						l := 16*half + 4*j
						x := binary.LittleEndian.Uint32(q[l:]) >> shift & 0x03030303
						x |= (binary.LittleEndian.Uint32(hm[l:]) >> bit & 0x01010101) << 2
						w[j] = subBytes(x, 4)
					}
					pw.codes(b*16+g, r, w[:])
					g++
				}
			}
		}
	}
}

func unpackPanelQ2_K(pw *panelWriter, row []byte, r, b0, b1 int) {
	var w [4]uint32
	for b := b0; b < b1; b++ {
		blk := row[b*BlockBytesQ2_K : (b+1)*BlockBytesQ2_K]
		g := 0
		for n := 0; n < 2; n++ {
			q := blk[16+32*n : 16+32*n+32]
			for shift := 0; shift < 8; shift += 2 {
				for half := 0; half < 2; half++ {
					for j := 0; j < 4; j++ {
						w[j] = binary.LittleEndian.Uint32(q[16*half+4*j:]) >> shift & 0x03030303
					}
					pw.codes(b*16+g, r, w[:])
					g++
				}
			}
		}
	}
}

// The panel products of the block types.
var (
	PanelQ8_0 = &PanelType{name: "Q8_0", blockElems: qk, blockBytes: BlockBytesQ8_0, group: 32, act: panelQ8_0, unpack: unpackPanelQ8_0, tile: &tileMatMulQ8_0}
	PanelQ4_0 = &PanelType{name: "Q4_0", blockElems: qk, blockBytes: BlockBytesQ4_0, group: 32, act: panelQ8_0, unpack: unpackPanelQ4_0, tile: &tileMatMulQ4_0}
	PanelQ4_1 = &PanelType{name: "Q4_1", blockElems: qk, blockBytes: BlockBytesQ4_1, group: 32, min: true, act: panelQ8_1, unpack: unpackPanelQ4_1, tile: &tileMatMulQ4_1}
	PanelQ5_0 = &PanelType{name: "Q5_0", blockElems: qk, blockBytes: BlockBytesQ5_0, group: 32, act: panelQ8_0, unpack: unpackPanelQ5_0, tile: &tileMatMulQ5_0}
	PanelQ5_1 = &PanelType{name: "Q5_1", blockElems: qk, blockBytes: BlockBytesQ5_1, group: 32, min: true, act: panelQ8_1, unpack: unpackPanelQ5_1, tile: &tileMatMulQ5_1}
	PanelQ2_K = &PanelType{name: "Q2_K", blockElems: kQK, blockBytes: BlockBytesQ2_K, group: 16, min: true, act: panelQ8_K, unpack: unpackPanelQ2_K, tables: tablesPanelQ2_K}
	PanelQ3_K = &PanelType{name: "Q3_K", blockElems: kQK, blockBytes: BlockBytesQ3_K, group: 16, act: panelQ8_K, unpack: unpackPanelQ3_K, tables: tablesPanelQ3_K}
	PanelQ4_K = &PanelType{name: "Q4_K", blockElems: kQK, blockBytes: BlockBytesQ4_K, group: 32, min: true, act: panelQ8_K, unpack: unpackPanelQ4_K, tables: tablesPanelQ4_K, tile: &tileMatMulQ4_K}
	PanelQ5_K = &PanelType{name: "Q5_K", blockElems: kQK, blockBytes: BlockBytesQ5_K, group: 32, min: true, act: panelQ8_K, unpack: unpackPanelQ5_K, tables: tablesPanelQ5_K, tile: &tileMatMulQ5_K}
	PanelQ6_K = &PanelType{name: "Q6_K", blockElems: kQK, blockBytes: BlockBytesQ6_K, group: 16, act: panelQ8_K, unpack: unpackPanelQ6_K, tables: tablesPanelQ6_K, tile: &tileMatMulQ6_K}
)

// panelKernelFunc computes a 32-row × 4-token block: y[i*ldy+r] for
// i < 4, r < 32, over ng groups of the panel w and the token block's
// quants a, scales as and (for types with a minimum) sums asum.
type panelKernelFunc func(w, a *byte, as, asum *float32, ng int, y *float32, ldy int)

// panelKernels is one implementation of the panel products: the
// microkernels by group size and minimum term ([group 16, group 32][no
// min, min]) and the pack of staged codes (see panelPackGo).
type panelKernels struct {
	k    [2][2]panelKernelFunc
	pack func(stage, dst *byte, ng, rec, steps int)
	// sums stores the sums' starts of ng groups from the codes in
	// their records (after a PanelType's codes); nil without assembly.
	sums func(dst *byte, ng, rec, steps int)
	// byType, when set, picks the microkernel by block type instead of
	// k (the AVX2 kernels depend on the range of the codes), and whether
	// it takes the signed quants (ActPanel's s) rather than the unsigned.
	byType func(pt *PanelType) (k panelKernelFunc, signed bool)
	// stage, when set, gives the code writer of one row into the stage
	// (nb blocks), in place of the type's Go unpack (nil for the types
	// it has none for); for a type without tables it writes the scales
	// too, at tab (the row's entry of the first block's record) rec bytes
	// apart.
	stage func(pt *PanelType) func(row *byte, nb int, dst, tab *byte, rec int)
	// minTokens replaces panelMinTokens for the types whose dot kernels
	// beat these panels for longer (see BenchmarkPanelCrossover), or the
	// few-token kernels take over sooner.
	minTokens map[*PanelType]int
	// few, when set, gives the few-token kernel of a type for p's tokens
	// (at most fewMaxTokens) and the sums' starts it takes, or nil: the
	// product then runs on panels.
	few func(pt *PanelType, p *ActPanel) (fewKernel, []int32)
}

// fewKernel computes y[i*ldy+r] for 16 weight rows r (rb bytes apart from
// w) and the first tokens i of an ActPanel (its signed quants a, token
// blocks tb bytes apart; its scales as and the kernel's sums' starts
// init, token blocks sb bytes apart) over nb blocks, unpacking each block
// of the 16 rows once into registers for all the tokens (few_amd64.s).
// The integer sums and the f32 operations are panelKernelGo's, in the
// same order, which is its pure-Go twin.
type fewKernel func(w *byte, rb int, a *byte, tb int, as *float32, init *int32, sb int, nb int, y *float32, ldy int)

// fewMaxTokens is the most tokens a few-token kernel takes.
const fewMaxTokens = 16

// panelSet is a named microkernel set (for tests).
type panelSet struct {
	name string
	ks   *panelKernels
}

// panelKernel is the installed microkernel set; nil when the feature set
// has none (the products then stay on the dot-product kernels).
var panelKernel *panelKernels

// panelScratch holds the panels and edge outputs of running products,
// one per goroutine at a time.
var panelScratch = sync.Pool{New: func() any { return new(panelBuf) }}

type panelBuf struct {
	w     []byte
	stage [panelRows * panelStage]byte
	y     [panelTokens * panelRows]float32
}

// MatMul multiplies the activation rows of p (prepared from the type's
// activation format) by the weight rows w (n values each), writing
// y[i*ldy+r] for each of p's activation rows i and every row r of w. Use
// must hold.
func (pt *PanelType) MatMul(y []float32, ldy int, w []byte, p *ActPanel, n int) {
	pt.matMul(panelKernel, y, ldy, w, p, n)
}

func (pt *PanelType) matMul(ks *panelKernels, y []float32, ldy int, w []byte, p *ActPanel, n int) {
	if n <= 0 || n%pt.blockElems != 0 || p.n != n || p.format != pt.act {
		panic("kernels: PanelType.MatMul: " + pt.name + ": n does not match the weights or the activations")
	}
	nb := n / pt.blockElems
	rb := nb * pt.blockBytes
	if len(w)%rb != 0 {
		panic("kernels: PanelType.MatMul: " + pt.name + ": len(w) is not a whole number of rows")
	}
	rows := len(w) / rb
	t := p.t
	if rows > 0 && (ldy < rows || len(y) < (t-1)*ldy+rows) {
		panic("kernels: PanelType.MatMul: " + pt.name + ": y too short for t rows of stride ldy")
	}
	if rows == 0 {
		return
	}
	if ks.few != nil {
		if k, init := ks.few(pt, p); k != nil {
			const fr = 16 // rows per kernel call
			for r0 := 0; r0+fr <= rows; r0 += fr {
				k(&w[r0*rb], rb, &p.s[0], n*4, &p.as32[0], &init[0], n/32*16, nb, &y[r0], ldy)
			}
			if r := rows / fr * fr; r < rows {
				pt.panels(ks, y[r:], ldy, w[r*rb:], p, n, nb, rb, rows-r)
			}
			return
		}
	}
	pt.panels(ks, y, ldy, w, p, n, nb, rb, rows)
}

// panels runs the product on panels: rows weight rows of rb bytes (nb
// blocks of n values).
func (pt *PanelType) panels(ks *panelKernels, y []float32, ldy int, w []byte, p *ActPanel, n, nb, rb, rows int) {
	t := p.t
	ng := n / pt.group
	rec := pt.recBytes()
	buf := panelScratch.Get().(*panelBuf)
	defer panelScratch.Put(buf)
	if cap(buf.w) < ng*rec {
		buf.w = make([]byte, ng*rec)
	}
	pw := panelWriter{buf: buf.w[:ng*rec], rec: rec, g: pt.group / 4 * 128, gs: pt.group, stage: buf.stage[:]}
	as, asum := p.as32, p.asum32
	gi := 1
	if pt.group == 16 {
		as, asum, gi = p.as16, p.asum16, 0
	}
	mi := 0
	if pt.min {
		mi = 1
	}
	kern, quants := ks.k[gi][mi], p.u
	if ks.byType != nil {
		var signed bool
		if kern, signed = ks.byType(pt); signed {
			quants = p.s
		}
	}
	step := panelStage / pt.blockElems // blocks staged at a time
	var stage func(row *byte, nb int, dst, tab *byte, rec int)
	if ks.stage != nil {
		stage = ks.stage(pt)
	}
	gsPerBlock := pt.blockElems / pt.group
	for r0 := 0; r0 < rows; r0 += panelRows {
		nr := min(panelRows, rows-r0)
		if nr < panelRows {
			// The rows past the matrix: zero codes, scales and terms.
			clear(pw.buf)
			clear(pw.stage[nr*panelStage:])
		}
		asm := nr == panelRows && pt.codes != nil && ks.sums != nil
		if asm {
			pt.codes(&w[r0*rb], rb, nb, &pw.buf[0])
			if pt.tables != nil {
				if pt.panelTables != nil {
					pt.panelTables(&w[r0*rb], rb, nb, &pw.buf[0])
				} else {
					for r := 0; r < nr; r++ {
						pt.tables(&pw, w[(r0+r)*rb:(r0+r+1)*rb], r, 0, nb)
					}
				}
				ks.sums(&pw.buf[0], ng, rec, pt.group/4)
			}
		} else {
			for b0 := 0; b0 < nb; b0 += step {
				b1 := min(nb, b0+step)
				pw.g0 = b0 * gsPerBlock
				for r := 0; r < nr; r++ {
					row := w[(r0+r)*rb : (r0+r+1)*rb]
					if stage != nil {
						stage(&row[b0*pt.blockBytes], b1-b0, &pw.stage[r*panelStage], &pw.buf[pw.g0*rec+pw.g+4*r], rec)
					} else {
						pt.unpack(&pw, row, r, b0, b1)
					}
					// The tables block by block, all rows: each record's
					// 128-byte table rows fill in turn (row by row over
					// all blocks, each store missed L1: a fifth of a
					// 4-token Q4_K product on Zen 3).
					if pt.tables != nil {
						pt.tables(&pw, row, r, b0, b1)
					}
				}
				ks.pack(&pw.stage[0], &pw.buf[pw.g0*rec], (b1-b0)*gsPerBlock, rec, pt.group/4)
			}
		}
		wp := &pw.buf[0]
		for i := 0; i < t; i += panelTokens {
			a := &quants[i*n]
			s := &as[i*ng]
			sm := s
			if pt.min {
				sm = &asum[i*ng]
			}
			if nr == panelRows && i+panelTokens <= t {
				kern(wp, a, s, sm, ng, &y[i*ldy+r0], ldy)
				continue
			}
			kern(wp, a, s, sm, ng, &buf.y[0], panelRows)
			for k := i; k < min(t, i+panelTokens); k++ {
				copy(y[k*ldy+r0:k*ldy+r0+nr], buf.y[(k-i)*panelRows:])
			}
		}
	}
}

// panelKernelGo is the pure-Go microkernel, the twin of the assembly: the
// same integer sums per group and the same f32 operations in the same
// order (scale product rounded, then one multiply-add).
func panelKernelGo(group int, hasMin bool) panelKernelFunc {
	return func(wp, ap *byte, asp, asump *float32, ng int, yp *float32, ldy int) {
		rec := panelRecBytes(group, hasMin)
		w := unsafe.Slice(wp, ng*rec)
		a := unsafe.Slice(ap, ng*group*panelTokens)
		as := unsafe.Slice(asp, ng*panelTokens)
		asum := unsafe.Slice(asump, ng*panelTokens)
		y := unsafe.Slice(yp, (panelTokens-1)*ldy+panelRows)
		var acc [panelTokens][panelRows]float32
		for g := 0; g < ng; g++ {
			rw := w[g*rec : (g+1)*rec]
			tab := rw[group/4*128:]
			for r := 0; r < panelRows; r++ {
				ws := math.Float32frombits(binary.LittleEndian.Uint32(tab[4*r:]))
				init := int32(binary.LittleEndian.Uint32(tab[128+4*r:]))
				var wm float32
				if hasMin {
					wm = math.Float32frombits(binary.LittleEndian.Uint32(tab[256+4*r:]))
				}
				for i := 0; i < panelTokens; i++ {
					s := init
					for j := 0; j < group/4; j++ {
						for k := 0; k < 4; k++ {
							c := int32(int8(rw[j*128+r/16*64+r%16*4+k]))
							u := int32(a[(g*group/4+j)*16+i*4+k])
							s += c * u
						}
					}
					prod := float32(ws * as[g*panelTokens+i])
					acc[i][r] = float32(math.FMA(float64(s), float64(prod), float64(acc[i][r])))
					if hasMin {
						acc[i][r] = float32(math.FMA(float64(wm), float64(asum[g*panelTokens+i]), float64(acc[i][r])))
					}
				}
			}
		}
		for i := 0; i < panelTokens; i++ {
			copy(y[i*ldy:i*ldy+panelRows], acc[i][:])
		}
	}
}

// panelGo is the pure-Go microkernel set.
var panelGo = &panelKernels{
	k: [2][2]panelKernelFunc{
		{panelKernelGo(16, false), panelKernelGo(16, true)},
		{panelKernelGo(32, false), panelKernelGo(32, true)},
	},
	pack: panelPackGo,
}
