//go:build amd64 && !noasm

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// amxNeed skips t when the machine cannot run the AMX kernels, and
// otherwise turns them on for the rest of the test.
func amxNeed(t *testing.T) {
	t.Helper()
	if !amxUsable() {
		t.Skip("amx: not available on this CPU")
	}
	was := amxActive
	installAMX(true)
	t.Cleanup(func() { installAMX(was) })
}

// amxWant is the reference for the tile product: float64 sums of the
// bf16-rounded activations (the tiles' inputs) times the weights, each
// product exact, and the bound for an f32 sum of those products in any
// order (tkDotTol).
func amxWant(x []float32, w []uint16, t, n, rows int) (want, tol []float64) {
	want, tol = make([]float64, t*rows), make([]float64, t*rows)
	xb := make([]float64, len(x))
	for i, v := range x {
		xb[i] = float64(BF16ToFloat(FloatToBF16(v)))
	}
	for i := 0; i < t; i++ {
		for r := 0; r < rows; r++ {
			var s, abs float64
			for k := 0; k < n; k++ {
				p := xb[i*n+k] * tkBF16Value(w[r*n+k])
				s += p
				abs += math.Abs(p)
			}
			want[i*rows+r], tol[i*rows+r] = s, tkDotTol(n, abs)
		}
	}
	return want, tol
}

// amxCheck runs MatMulBF16Prepared on tiles for one shape, all rows at
// once and split in two parts at an odd row as workers would split it,
// into y rows gap elements longer than needed (guarded).
func amxCheck(t *testing.T, r *rand.Rand, tok, rows, n, gap int) {
	t.Helper()
	x := tkF32(r, tok*n, 1)
	w := tkBF16(r, rows*n, 3)
	want, tol := amxWant(x, w, tok, n, rows)
	var p Prepared
	p.Prepare(x, tok)
	if !p.amxOn {
		t.Fatalf("t=%d n=%d: Prepare did not lay x out for the tiles", tok, n)
	}
	ldy := rows + gap
	for _, split := range []int{0, rows / 3 * 2} {
		out := newTkOut((tok-1)*ldy+rows, 2)
		y := out.s()
		if split > 0 {
			MatMulBF16Prepared(y[:(tok-1)*ldy+split], ldy, &p, w[:split*n])
		}
		MatMulBF16Prepared(y[split:], ldy, &p, w[split*n:])
		what := fmt.Sprintf("amx bf16 t=%d rows=%d n=%d split=%d", tok, rows, n, split)
		out.check(t, what, func(i int) bool { return i%ldy >= rows })
		for i := 0; i < tok; i++ {
			for j := 0; j < rows; j++ {
				if d := math.Abs(float64(y[i*ldy+j]) - want[i*rows+j]); !(d <= tol[i*rows+j]) {
					tkClose(t, fmt.Sprintf("%s y[%d][%d]", what, i, j), y[i*ldy+j], want[i*rows+j], tol[i*rows+j])
				}
			}
		}
	}
}

// TestAMXBF16 covers the tails of the tile product: token counts around
// the 32-token blocks (and up to 600, a prefill chunk), row counts around
// the 32-row blocks and the 256-row panels, reduction lengths around the
// 32-value steps and the 512-value chunks.
func TestAMXBF16(t *testing.T) {
	amxNeed(t)
	r := rand.New(rand.NewPCG(21, 22))
	for _, tok := range []int{32, 33, 47, 63, 64, 65, 97} {
		for _, rows := range []int{1, 15, 16, 17, 31, 32, 33, 64, 70} {
			for _, n := range []int{1, 2, 31, 32, 33, 64, 95} {
				amxCheck(t, r, tok, rows, n, (tok+rows+n)%3)
			}
		}
	}
	amxCheck(t, r, 40, 300, 1100, 1) // chunks, panels and every tail
	amxCheck(t, r, 600, 96, 544, 0)  // a long chunk, two reduction chunks
	amxCheck(t, r, 35, 513, 1024, 2) // several panels, whole chunks
	amxCheck(t, r, 599, 33, 4096, 1) // the reduction of Mistral's attention
}

// TestAMXSmallTStaysOnVectors: below tileTokens, Prepare leaves the tiles
// out (decode and small batches keep f32 activations).
func TestAMXSmallTStaysOnVectors(t *testing.T) {
	amxNeed(t)
	var p Prepared
	x := make([]float32, (tileTokens-1)*8)
	p.Prepare(x, tileTokens-1)
	if p.amxOn {
		t.Fatalf("t=%d laid out for tiles", tileTokens-1)
	}
	x = make([]float32, tileTokens*8)
	p.Prepare(x, tileTokens)
	if !p.amxOn {
		t.Fatalf("t=%d not laid out for tiles", tileTokens)
	}
}
