package model

import (
	"bytes"
	"math"
	"path/filepath"
	"testing"
)

// refLogSoftmax is ln softmax of reference logits, in float64.
func refLogSoftmax(l []float32) []float64 {
	out := make([]float64, len(l))
	logSoftmax(out, l)
	return out
}

// TestPerplexityAgainstReference runs llama-perplexity's chunking over the
// 40 fixture tokens twice (two chunks of 40, each starting with the
// fixture's BOS, so each chunk is exactly the reference sequence) and
// compares the result with the perplexity computed here from the float64
// reference logits of the scored half of each chunk.
func TestPerplexityAgainstReference(t *testing.T) {
	var ref tinyReference
	readJSON(t, filepath.Join(tinyDir, "reference.json"), &ref)
	want := readLogits(t, filepath.Join(tinyDir, "f32", "logits.safetensors"))
	m, err := Load(filepath.Join(tinyDir, "f32"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s, err := m.NewSession(SessionOptions{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := len(ref.Tokens)
	toks := append(append([]int(nil), ref.Tokens...), ref.Tokens...)

	// The expected figures, from the reference logits: positions c/2 ..
	// c-2 of each chunk predict the token after them.
	var nll, nll2 float64
	n := 0
	for ch := 0; ch < 2; ch++ {
		for j := c / 2; j < c-1; j++ {
			v := -refLogSoftmax(want[j])[ref.Tokens[j+1]]
			nll += v
			nll2 += v * v
			n++
		}
	}
	mean := nll / float64(n)
	wantPPL := math.Exp(mean)
	wantErr := math.Sqrt((nll2/float64(n)-mean*mean)/float64(n-1)) * wantPPL

	var base bytes.Buffer
	got, err := s.Perplexity(toks, PerplexityOptions{Ctx: c, BOS: ref.Tokens[0], SaveBase: &base})
	if err != nil {
		t.Fatal(err)
	}
	if got.Chunks != 2 || got.Scored != n {
		t.Fatalf("chunks %d scored %d, want 2 and %d", got.Chunks, got.Scored, n)
	}
	if math.Abs(got.PPL-wantPPL)/wantPPL > 1e-4 || math.Abs(got.PPLErr-wantErr)/wantErr > 1e-3 {
		t.Errorf("PPL = %.6f ± %.6f, reference %.6f ± %.6f", got.PPL, got.PPLErr, wantPPL, wantErr)
	}
	t.Logf("PPL = %.6f ± %.6f (reference %.6f ± %.6f)", got.PPL, got.PPLErr, wantPPL, wantErr)

	// The same model against its own base: no divergence beyond the
	// float32 rounding of the saved log-probabilities, every top
	// token agrees, and the base's perplexity is the model's.
	kl, err := s.Perplexity(toks, PerplexityOptions{Ctx: c, BOS: ref.Tokens[0], Base: bytes.NewReader(base.Bytes())})
	if err != nil {
		t.Fatal(err)
	}
	if kl.KL == nil || kl.KL.MeanKLD > 1e-6 || kl.KL.SameTop != 1 || kl.KL.RMSDeltaP > 1e-6 || math.Abs(kl.KL.BasePPL-got.PPL) > 1e-6*got.PPL {
		t.Errorf("self KL: %+v", kl.KL)
	}

	// A base over other tokens is refused, and so is a truncated one.
	other := append([]int(nil), toks...)
	other[5]++
	if _, err := s.Perplexity(other, PerplexityOptions{Ctx: c, Base: bytes.NewReader(base.Bytes())}); err == nil {
		t.Error("a base made from other tokens was accepted")
	}
	if _, err := s.Perplexity(toks, PerplexityOptions{Ctx: c, Base: bytes.NewReader(base.Bytes()[:base.Len()-10])}); err == nil {
		t.Error("a truncated base was accepted")
	}
	if _, err := s.Perplexity(toks[:2*c-1], PerplexityOptions{Ctx: c}); err == nil {
		t.Error("fewer than 2*ctx tokens were accepted")
	}
}

// TestKLDivergenceAgainstReference saves the F32 tiny-llama GGUF's
// log-probabilities as the base and compares the Q4_0 file with it; the
// expected KL divergence, top-token agreement and RMS Δp are computed here
// from the two files' float64 reference logits. gale's own logits differ
// from those references by up to 1.5% of the largest logit, so the
// figures must agree to a matching tolerance, not exactly.
func TestKLDivergenceAgainstReference(t *testing.T) {
	var ref tinyLlamaRef
	readJSON(t, filepath.Join(tinyLlamaDir, "reference.json"), &ref)
	c := len(ref.Tokens)
	toks := append(append([]int(nil), ref.Tokens...), ref.Tokens...)
	baseRef := readLogits(t, filepath.Join(tinyLlamaDir, "F32.logits.safetensors"))
	qRef := readLogits(t, filepath.Join(tinyLlamaDir, "Q4_0.logits.safetensors"))

	var kld, dp2 float64
	same, n := 0, 0
	for ch := 0; ch < 2; ch++ {
		for j := c / 2; j < c-1; j++ {
			lb, lq := refLogSoftmax(baseRef[j]), refLogSoftmax(qRef[j])
			for i := range lb {
				kld += math.Exp(lb[i]) * (lb[i] - lq[i])
			}
			if Argmax(baseRef[j]) == Argmax(qRef[j]) {
				same++
			}
			next := ref.Tokens[j+1]
			d := math.Exp(lq[next]) - math.Exp(lb[next])
			dp2 += d * d
			n++
		}
	}
	wantKLD, wantSame, wantRMS := kld/float64(n), float64(same)/float64(n), math.Sqrt(dp2/float64(n))

	run := func(file string, opts PerplexityOptions) *PerplexityResult {
		m, err := Load(filepath.Join(tinyLlamaDir, file), LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		s, err := m.NewSession(SessionOptions{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		opts.Ctx, opts.BOS = c, ref.Tokens[0]
		res, err := s.Perplexity(toks, opts)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	var base bytes.Buffer
	run("F32.gguf", PerplexityOptions{SaveBase: &base})
	got := run("Q4_0.gguf", PerplexityOptions{Base: bytes.NewReader(base.Bytes())}).KL
	t.Logf("KLD %.6f (reference %.6f), same top %.3f (%.3f), RMS Δp %.5f (%.5f)", got.MeanKLD, wantKLD, got.SameTop, wantSame, got.RMSDeltaP, wantRMS)
	if math.Abs(got.MeanKLD-wantKLD) > 0.05*wantKLD+1e-4 {
		t.Errorf("mean KLD %.6f, reference %.6f", got.MeanKLD, wantKLD)
	}
	if math.Abs(got.SameTop-wantSame) > 1.5/float64(n) {
		t.Errorf("same top %.4f, reference %.4f", got.SameTop, wantSame)
	}
	if math.Abs(got.RMSDeltaP-wantRMS) > 0.1*wantRMS+1e-4 {
		t.Errorf("RMS Δp %.5f, reference %.5f", got.RMSDeltaP, wantRMS)
	}
}
