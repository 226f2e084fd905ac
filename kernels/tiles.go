package kernels

// Matrix-unit (tile) kernels, such as Intel AMX's, sit beside the vector
// table: they run only for products of many tokens, with activations in
// a layout of their own, so Prepared carries that layout too. An
// architecture's installer sets these when the feature set in use has the
// unit and clears them otherwise.
var (
	// tilePrepare lays out p.x for the tile kernels (setting p.amxOn)
	// when they apply to p; nil when no tile unit is in use.
	tilePrepare func(p *Prepared)
	// tileMatMulBF16 is MatMulBF16Prepared on tiles, for a p laid out
	// by tilePrepare.
	tileMatMulBF16 func(y []float32, ldy int, p *Prepared, w []uint16)
	// tileMatMulF16: the same for MatMulF16Prepared.
	tileMatMulF16 func(y []float32, ldy int, p *Prepared, w []uint16)
	// tileMatMulQ8_0 is MatMulQ8_0 on tiles, used from tileTokens
	// activation rows; nil when no tile unit is in use.
	tileMatMulQ8_0 func(y []float32, ldy int, w, a []byte, n, t, rows int)
	// The same for MatMulQ4_0, MatMulQ5_0, MatMulQ4_1, MatMulQ5_1.
	tileMatMulQ4_0, tileMatMulQ5_0 func(y []float32, ldy int, w, a []byte, n, t, rows int)
	tileMatMulQ4_1, tileMatMulQ5_1 func(y []float32, ldy int, w, a []byte, n, t, rows int)
	// The same for the K-quants MatMulQ4_K, MatMulQ5_K, MatMulQ6_K
	// (Q8_K activations).
	tileMatMulQ4_K, tileMatMulQ5_K, tileMatMulQ6_K func(y []float32, ldy int, w, a []byte, n, t, rows int)
)

// tileTokens is the number of tokens from which a product runs on tiles.
// Below it the product is memory-bound on either unit (the weights are
// streamed once), and the vector kernels keep f32 activations.
const tileTokens = 32
