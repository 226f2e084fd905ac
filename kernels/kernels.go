package kernels

import "sync"

// table holds one implementation of every kernel. generic is the pure-Go
// set; an architecture file copies it and overrides what it has assembly
// for, so a level with partial coverage falls back to Go for the rest.
type table struct {
	dotF32  func(x, w []float32) float32
	dotBF16 func(x []float32, w []uint16) float32
	dotF16  func(x []float32, w []uint16) float32

	matVecF32  func(y, w, x []float32)
	matVecBF16 func(y []float32, w []uint16, x []float32)
	matVecF16  func(y []float32, w []uint16, x []float32)

	matMulF32  func(y []float32, ldy int, x []float32, t int, w []float32)
	matMulBF16 func(y []float32, ldy int, x []float32, t int, w []uint16)
	matMulF16  func(y []float32, ldy int, x []float32, t int, w []uint16)

	scores       func(s, q, k []float32, stride int, scale float32)
	scoresF16    func(s, q []float32, k []uint16, stride int, scale float32)
	weightedSum  func(out, p, v []float32, stride int)
	weightedF16  func(out, p []float32, v []uint16, stride int)
	softmax      func(x []float32)
	rmsNorm      func(out, x, w []float32, eps float32)
	swiGLU       func(out, gate, up []float32)
	ropeHalf     func(x, cos, sin []float32)
	ropePairs    func(x, cos, sin []float32)
	add          func(dst, x []float32)
	scale        func(x []float32, a float32)
	bf16ToF32    func(dst []float32, src []uint16)
	f16ToF32     func(dst []float32, src []uint16)
	f32ToF16     func(dst []uint16, src []float32)
	sumSquaresFn func(x []float32) float32
	transpose    func(dst []float32, ldd int, src []float32, lds, rows, cols int)

	// prepare lays out x for the level's matrix-product kernels (nil:
	// they read x as it is); matMul*P run on the result.
	prepare     func(p *Prepared)
	matMulF32P  func(y []float32, ldy int, p *Prepared, w []float32)
	matMulBF16P func(y []float32, ldy int, p *Prepared, w []uint16)
	matMulF16P  func(y []float32, ldy int, p *Prepared, w []uint16)
}

var generic = table{
	dotF32:       dotF32Generic,
	dotBF16:      dotBF16Generic,
	dotF16:       dotF16Generic,
	matVecF32:    matVecF32Generic,
	matVecBF16:   matVecBF16Generic,
	matVecF16:    matVecF16Generic,
	matMulF32:    matMulF32Generic,
	matMulBF16:   matMulBF16Generic,
	matMulF16:    matMulF16Generic,
	scores:       scoresGeneric,
	scoresF16:    scoresF16Generic,
	weightedSum:  weightedSumGeneric,
	weightedF16:  weightedSumF16Generic,
	softmax:      softmaxGeneric,
	rmsNorm:      rmsNormGeneric,
	swiGLU:       swiGLUGeneric,
	ropeHalf:     ropeHalfGeneric,
	ropePairs:    ropePairsGeneric,
	add:          addGeneric,
	scale:        scaleGeneric,
	bf16ToF32:    bf16ToF32Generic,
	f16ToF32:     f16ToF32Generic,
	f32ToF16:     f32ToF16Generic,
	sumSquaresFn: sumSquaresGeneric,
	transpose:    transposeGeneric,
}

// fn is the table in use; SetLevel replaces it.
var fn = generic

// DotF32 returns the dot product of x and w, which must have equal lengths:
//
//	for i := range x { s += x[i] * w[i] }
func DotF32(x, w []float32) float32 {
	if len(x) != len(w) {
		panic("kernels: DotF32 length mismatch")
	}
	return fn.dotF32(x, w)
}

// DotBF16 returns the dot product of x with the bfloat16 vector w:
//
//	for i := range x { s += x[i] * BF16ToFloat(w[i]) }
func DotBF16(x []float32, w []uint16) float32 {
	if len(x) != len(w) {
		panic("kernels: DotBF16 length mismatch")
	}
	return fn.dotBF16(x, w)
}

// DotF16 returns the dot product of x with the IEEE half-precision vector w:
//
//	for i := range x { s += x[i] * F16ToFloat(w[i]) }
func DotF16(x []float32, w []uint16) float32 {
	if len(x) != len(w) {
		panic("kernels: DotF16 length mismatch")
	}
	return fn.dotF16(x, w)
}

// checkMatVec validates the shapes of a matrix-vector product: w holds
// len(y) rows of len(x) values.
func checkMatVec(ny, nw, nx int) {
	if nw != ny*nx {
		panic("kernels: MatVec shape mismatch: len(w) != len(y)*len(x)")
	}
}

// MatVecF32 multiplies the row-major matrix w [len(y), len(x)] by x:
//
//	n := len(x)
//	for r := range y { y[r] = DotF32(x, w[r*n:(r+1)*n]) }
func MatVecF32(y, w, x []float32) {
	checkMatVec(len(y), len(w), len(x))
	if len(y) == 0 {
		return
	}
	fn.matVecF32(y, w, x)
}

// MatVecBF16 is MatVecF32 with bfloat16 weights:
//
//	for r := range y { y[r] = DotBF16(x, w[r*n:(r+1)*n]) }
func MatVecBF16(y []float32, w []uint16, x []float32) {
	checkMatVec(len(y), len(w), len(x))
	if len(y) == 0 {
		return
	}
	fn.matVecBF16(y, w, x)
}

// MatVecF16 is MatVecF32 with half-precision weights:
//
//	for r := range y { y[r] = DotF16(x, w[r*n:(r+1)*n]) }
func MatVecF16(y []float32, w []uint16, x []float32) {
	checkMatVec(len(y), len(w), len(x))
	if len(y) == 0 {
		return
	}
	fn.matVecF16(y, w, x)
}

// checkMatMul validates a matrix product's shapes and returns n and rows.
func checkMatMul(ny, ldy, nx, t, nw int) (n, rows int) {
	if t <= 0 || nx%t != 0 {
		panic("kernels: MatMul: len(x) is not a multiple of t")
	}
	n = nx / t
	if n == 0 || nw%n != 0 {
		panic("kernels: MatMul: len(w) is not a multiple of the row length")
	}
	rows = nw / n
	if ldy < rows || ny < (t-1)*ldy+rows {
		panic("kernels: MatMul: y too short for t rows of stride ldy")
	}
	return n, rows
}

// MatMulF32 multiplies t activation rows x [t, n] by the transpose of the
// weight matrix w [rows, n], writing y [t, rows] with row stride ldy:
//
//	n := len(x) / t; rows := len(w) / n
//	for i := 0; i < t; i++ {
//		for r := 0; r < rows; r++ { y[i*ldy+r] = DotF32(x[i*n:(i+1)*n], w[r*n:(r+1)*n]) }
//	}
//
// Callers split the work by rows (a sub-slice of w and of y) so that each
// weight is loaded once per block of tokens.
func MatMulF32(y []float32, ldy int, x []float32, t int, w []float32) {
	if len(x) == 0 && len(w) == 0 {
		return
	}
	checkMatMul(len(y), ldy, len(x), t, len(w))
	fn.matMulF32(y, ldy, x, t, w)
}

// Prepared is activations x [t, n] laid out once for the matrix-product
// kernels of the level in use, so that the products of one x with several
// weight matrices, or with the rows of one split among workers, share that
// work (the assembly levels pack x k-major by blocks of tokens, O(t*n)
// against the O(t*n*rows) of a product, but a split into blocks of a few
// hundred rows would repeat it for every block). The zero value is ready
// for Prepare; its buffer is kept across calls.
type Prepared struct {
	x      []float32
	t, n   int
	feat   Features
	laid   bool      // packed holds x in the layout of level
	packed []float32 // the level's layout, when it has one
	// amx holds x as bf16 B tiles for the AMX kernels (amx_amd64.go),
	// valid when amxOn is set.
	amx   []uint16
	amxOn bool
	// When the tiles have their layout, the vector one (packed) is only
	// made by the first product that needs it (F32 weights), under lazy:
	// products of one Prepared run on several goroutines at once. A
	// pointer, so that copying a Prepared copies no lock.
	lazy    *sync.Mutex
	pending bool // packed is still to be made (guarded by lazy)
}

// Prepare lays out x [t, n] for the MatMul*Prepared functions, which read
// x (and p) until the next Prepare: x must not change meanwhile.
func (p *Prepared) Prepare(x []float32, t int) {
	if t <= 0 || len(x)%t != 0 || len(x) == 0 {
		panic("kernels: Prepare: len(x) is not a positive multiple of t")
	}
	p.x, p.t, p.n, p.feat, p.laid = x, t, len(x)/t, curFeat, false
	p.amxOn, p.pending = false, false
	if tilePrepare != nil {
		tilePrepare(p)
	}
	if fn.prepare != nil {
		if p.amxOn {
			// BF16 and F16 weights will read the tiles' layout: the
			// serial O(t*n) packing is left to a product that needs it.
			if p.lazy == nil {
				p.lazy = new(sync.Mutex)
			}
			p.pending = true
		} else {
			fn.prepare(p)
			p.laid = true
		}
	}
}

// ready reports whether p's layout is the current level's, making it
// first if Prepare left it for later.
func (p *Prepared) ready() bool {
	if p.feat != curFeat {
		return false
	}
	if p.lazy != nil {
		p.lazy.Lock()
		if p.pending {
			fn.prepare(p)
			p.laid, p.pending = true, false
		}
		p.lazy.Unlock()
	}
	return p.laid
}

// MatMulF32Prepared is MatMulF32(y, ldy, x, t, w) for the x and t of
// p.Prepare. Several calls may share p at once.
func MatMulF32Prepared(y []float32, ldy int, p *Prepared, w []float32) {
	checkMatMul(len(y), ldy, len(p.x), p.t, len(w))
	if !p.ready() {
		fn.matMulF32(y, ldy, p.x, p.t, w)
		return
	}
	fn.matMulF32P(y, ldy, p, w)
}

// MatMulBF16Prepared is MatMulF32Prepared with bfloat16 weights.
func MatMulBF16Prepared(y []float32, ldy int, p *Prepared, w []uint16) {
	checkMatMul(len(y), ldy, len(p.x), p.t, len(w))
	if p.amxOn && tileMatMulBF16 != nil {
		tileMatMulBF16(y, ldy, p, w)
		return
	}
	if !p.ready() {
		fn.matMulBF16(y, ldy, p.x, p.t, w)
		return
	}
	fn.matMulBF16P(y, ldy, p, w)
}

// MatMulF16Prepared is MatMulF32Prepared with half-precision weights.
func MatMulF16Prepared(y []float32, ldy int, p *Prepared, w []uint16) {
	checkMatMul(len(y), ldy, len(p.x), p.t, len(w))
	if p.amxOn && tileMatMulF16 != nil {
		tileMatMulF16(y, ldy, p, w)
		return
	}
	if !p.ready() {
		fn.matMulF16(y, ldy, p.x, p.t, w)
		return
	}
	fn.matMulF16P(y, ldy, p, w)
}

// MatMulBF16 is MatMulF32 with bfloat16 weights.
func MatMulBF16(y []float32, ldy int, x []float32, t int, w []uint16) {
	if len(x) == 0 && len(w) == 0 {
		return
	}
	checkMatMul(len(y), ldy, len(x), t, len(w))
	fn.matMulBF16(y, ldy, x, t, w)
}

// MatMulF16 is MatMulF32 with half-precision weights.
func MatMulF16(y []float32, ldy int, x []float32, t int, w []uint16) {
	if len(x) == 0 && len(w) == 0 {
		return
	}
	checkMatMul(len(y), ldy, len(x), t, len(w))
	fn.matMulF16(y, ldy, x, t, w)
}

// Scores computes scaled dot products of the query q with a run of keys
// stored with stride stride in k (one per element of s):
//
//	for j := range s { s[j] = scale * DotF32(q, k[j*stride:j*stride+len(q)]) }
func Scores(s, q, k []float32, stride int, scale float32) {
	if len(s) == 0 {
		return
	}
	if stride < len(q) || len(k) < (len(s)-1)*stride+len(q) {
		panic("kernels: Scores: k too short")
	}
	fn.scores(s, q, k, stride, scale)
}

// ScoresF16 is Scores with keys stored as half precision.
func ScoresF16(s, q []float32, k []uint16, stride int, scale float32) {
	if len(s) == 0 {
		return
	}
	if stride < len(q) || len(k) < (len(s)-1)*stride+len(q) {
		panic("kernels: ScoresF16: k too short")
	}
	fn.scoresF16(s, q, k, stride, scale)
}

// WeightedSum adds the values v (one row per weight, rows stride apart)
// weighted by p into out:
//
//	for j := range p { for i := range out { out[i] += p[j] * v[j*stride+i] } }
func WeightedSum(out, p, v []float32, stride int) {
	if len(p) == 0 {
		return
	}
	if stride < len(out) || len(v) < (len(p)-1)*stride+len(out) {
		panic("kernels: WeightedSum: v too short")
	}
	fn.weightedSum(out, p, v, stride)
}

// WeightedSumF16 is WeightedSum with values stored as half precision.
func WeightedSumF16(out, p []float32, v []uint16, stride int) {
	if len(p) == 0 {
		return
	}
	if stride < len(out) || len(v) < (len(p)-1)*stride+len(out) {
		panic("kernels: WeightedSumF16: v too short")
	}
	fn.weightedF16(out, p, v, stride)
}

// Softmax replaces x by softmax(x), subtracting the maximum first:
//
//	m := max(x); for i := range x { x[i] = exp(x[i]-m) }; s := sum(x); for i := range x { x[i] /= s }
//
// exp is a polynomial approximation within a few ulp of float32 over the
// range used (arguments <= 0).
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	fn.softmax(x)
}

// RMSNorm writes out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i]; out may be x.
func RMSNorm(out, x, w []float32, eps float32) {
	if len(out) != len(x) || len(w) != len(x) {
		panic("kernels: RMSNorm length mismatch")
	}
	if len(x) == 0 {
		return
	}
	fn.rmsNorm(out, x, w, eps)
}

// SwiGLU writes out[i] = silu(gate[i]) * up[i] with silu(g) = g / (1 + exp(-g));
// out may alias gate or up.
func SwiGLU(out, gate, up []float32) {
	if len(out) != len(gate) || len(up) != len(gate) {
		panic("kernels: SwiGLU length mismatch")
	}
	fn.swiGLU(out, gate, up)
}

// checkRoPE validates that x is whole heads of 2*len(cos) values.
func checkRoPE(nx, nc, ns int) {
	if nc != ns || nc == 0 || nx%(2*nc) != 0 {
		panic("kernels: RoPE: x must be whole heads of 2*len(cos) values")
	}
}

// RoPEHalf rotates every head of x (heads of h = 2*len(cos) values) in the
// rotate-half layout, where dims i and i+h/2 form a pair:
//
//	for each head x[o:o+h], for i := range cos {
//		a, b := x[o+i], x[o+i+h/2]
//		x[o+i], x[o+i+h/2] = a*cos[i]-b*sin[i], a*sin[i]+b*cos[i]
//	}
func RoPEHalf(x, cos, sin []float32) {
	checkRoPE(len(x), len(cos), len(sin))
	fn.ropeHalf(x, cos, sin)
}

// RoPEPairs is RoPEHalf for the interleaved layout, where dims 2i and 2i+1
// form a pair:
//
//	a, b := x[o+2i], x[o+2i+1]
//	x[o+2i], x[o+2i+1] = a*cos[i]-b*sin[i], a*sin[i]+b*cos[i]
func RoPEPairs(x, cos, sin []float32) {
	checkRoPE(len(x), len(cos), len(sin))
	fn.ropePairs(x, cos, sin)
}

// Add does dst[i] += x[i].
func Add(dst, x []float32) {
	if len(dst) != len(x) {
		panic("kernels: Add length mismatch")
	}
	fn.add(dst, x)
}

// Scale does x[i] *= a.
func Scale(x []float32, a float32) { fn.scale(x, a) }

// SumSquares returns the sum of x[i]*x[i].
func SumSquares(x []float32) float32 { return fn.sumSquaresFn(x) }

// BF16ToF32 widens bfloat16 values: dst[i] = BF16ToFloat(src[i]).
func BF16ToF32(dst []float32, src []uint16) {
	if len(dst) != len(src) {
		panic("kernels: BF16ToF32 length mismatch")
	}
	fn.bf16ToF32(dst, src)
}

// F16ToF32 widens half-precision values: dst[i] = F16ToFloat(src[i]),
// except that the assembly levels (F16C, FCVTL) return signalling NaNs
// quieted, as the hardware does.
func F16ToF32(dst []float32, src []uint16) {
	if len(dst) != len(src) {
		panic("kernels: F16ToF32 length mismatch")
	}
	fn.f16ToF32(dst, src)
}

// F32ToF16 narrows to half precision with round-to-nearest-even:
// dst[i] = FloatToF16(src[i]).
func F32ToF16(dst []uint16, src []float32) {
	if len(dst) != len(src) {
		panic("kernels: F32ToF16 length mismatch")
	}
	fn.f32ToF16(dst, src)
}

// Transpose writes the transpose of the rows x cols matrix src (row stride
// lds) into dst (row stride ldd):
//
//	for r := 0; r < rows; r++ { for c := 0; c < cols; c++ { dst[c*ldd+r] = src[r*lds+c] } }
func Transpose(dst []float32, ldd int, src []float32, lds, rows, cols int) {
	if rows == 0 || cols == 0 {
		return
	}
	if rows < 0 || cols < 0 || lds < cols || ldd < rows || len(src) < (rows-1)*lds+cols || len(dst) < (cols-1)*ldd+rows {
		panic("kernels: Transpose: slices too short for the shape")
	}
	fn.transpose(dst, ldd, src, lds, rows, cols)
}
