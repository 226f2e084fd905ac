package model

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// PerplexityOptions tune Perplexity.
type PerplexityOptions struct {
	// Ctx is the chunk length in tokens (llama-perplexity's -c).
	Ctx int
	// Chunks caps the number of chunks (0: every whole chunk of the text).
	Chunks int
	// BOS, when >= 0, replaces the first token of every chunk, as
	// llama-perplexity does for models that add BOS.
	BOS int
	// OnChunk, when set, sees the running perplexity after each chunk.
	OnChunk func(chunk, chunks int, ppl float64)
	// SaveBase, when set, receives the log-probabilities of every scored
	// position (--kl-divergence-base), to compare another model against.
	SaveBase io.Writer
	// Base, when set, is a file written through SaveBase by a reference
	// model over the same tokens; Perplexity then also computes the KL
	// divergence from it (--kl-divergence).
	Base io.Reader
}

// PerplexityResult is llama-perplexity's estimate and, against a base,
// its KL-divergence statistics.
type PerplexityResult struct {
	Chunks int     // chunks evaluated
	Scored int     // tokens scored (the second half of every chunk)
	NLL    float64 // mean negative log-likelihood of a scored token
	PPL    float64 // exp(NLL)
	PPLErr float64 // standard error of PPL
	KL     *KLResult
}

// KLResult compares a model's next-token distributions with a base
// model's at the same positions.
type KLResult struct {
	MeanKLD, KLDErr float64 // mean KL(base || model) and its standard error
	SameTop         float64 // share of positions whose argmax agrees
	SameTopErr      float64
	RMSDeltaP       float64 // RMS of p(token) - p_base(token)
	RMSDeltaPErr    float64
	MaxDeltaP       float64
	BasePPL         float64 // the base model's perplexity over the same tokens
}

// klMagic starts a KL-divergence base file: "galekld1", then n_ctx,
// n_vocab, chunks and scored positions per chunk as uint32, the tokens of
// all chunks as int32, then per scored position n_vocab float32
// log-probabilities (llama.cpp stores them compressed to 16 bits; gale
// keeps float32 so that the comparison is exact to f32).
const klMagic = "galekld1"

// Perplexity scores tokens as llama-perplexity does: the text is cut into
// whole chunks of opts.Ctx tokens, each evaluated from an empty cache (its
// first token replaced by BOS when opts.BOS >= 0), and only the second
// half of each chunk is scored, so that every scored token has at least
// Ctx/2 tokens of context. It needs at least 2*Ctx tokens.
func (s *Session) Perplexity(tokens []int, opts PerplexityOptions) (*PerplexityResult, error) {
	c := opts.Ctx
	if c < 4 {
		return nil, fmt.Errorf("the context must be at least 4 tokens, have %d", c)
	}
	if c > s.CtxSize() {
		return nil, fmt.Errorf("a context of %d exceeds the session's %d", c, s.CtxSize())
	}
	if len(tokens) < 2*c {
		return nil, fmt.Errorf("need at least %d tokens for a context of %d, the text has %d", 2*c, c, len(tokens))
	}
	chunks := len(tokens) / c
	if opts.Chunks > 0 && opts.Chunks < chunks {
		chunks = opts.Chunks
	}
	vocab := s.cfg.VocabSize
	first := c / 2
	perChunk := c - 1 - first

	var base *bufio.Reader
	var save *bufio.Writer
	if opts.SaveBase != nil {
		save = bufio.NewWriterSize(opts.SaveBase, 1<<20)
		hdr := []byte(klMagic)
		for _, v := range []int{c, vocab, chunks, perChunk} {
			hdr = binary.LittleEndian.AppendUint32(hdr, uint32(v))
		}
		for _, t := range tokens[:chunks*c] {
			hdr = binary.LittleEndian.AppendUint32(hdr, uint32(int32(t)))
		}
		if _, err := save.Write(hdr); err != nil {
			return nil, fmt.Errorf("write KL-divergence base: %v", err)
		}
	}
	if opts.Base != nil {
		base = bufio.NewReaderSize(opts.Base, 1<<20)
		if err := checkKLBase(base, c, vocab, chunks, perChunk, tokens); err != nil {
			return nil, err
		}
	}

	var nll, nll2 float64
	var kl klAccum
	count := 0
	logp := make([]float64, vocab)
	baseLogp := make([]float64, vocab)
	row := make([]byte, 4*vocab)
	chunk := make([]int, c)
	var ioErr error
	for ch := 0; ch < chunks; ch++ {
		copy(chunk, tokens[ch*c:(ch+1)*c])
		if opts.BOS >= 0 {
			chunk[0] = opts.BOS
		}
		s.Reset()
		err := s.Forward(chunk, func(j int, l []float32) {
			if j < first || j >= c-1 || ioErr != nil {
				return
			}
			next := tokens[ch*c+j+1]
			logSoftmax(logp, l)
			v := -logp[next]
			nll += v
			nll2 += v * v
			count++
			if save != nil {
				for i, lp := range logp {
					binary.LittleEndian.PutUint32(row[4*i:], math.Float32bits(float32(lp)))
				}
				if _, err := save.Write(row); err != nil {
					ioErr = fmt.Errorf("write KL-divergence base: %v", err)
				}
			}
			if base != nil {
				if _, err := io.ReadFull(base, row); err != nil {
					ioErr = fmt.Errorf("KL-divergence base: %v", truncatedErr(err))
					return
				}
				for i := range baseLogp {
					baseLogp[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(row[4*i:])))
				}
				kl.add(logp, baseLogp, next)
			}
		})
		if err != nil {
			return nil, err
		}
		if ioErr != nil {
			return nil, ioErr
		}
		if opts.OnChunk != nil {
			opts.OnChunk(ch+1, chunks, math.Exp(nll/float64(count)))
		}
	}
	if save != nil {
		if err := save.Flush(); err != nil {
			return nil, fmt.Errorf("write KL-divergence base: %v", err)
		}
	}
	res := &PerplexityResult{Chunks: chunks, Scored: count}
	res.NLL = nll / float64(count)
	res.PPL = math.Exp(res.NLL)
	// The standard error of the mean log-likelihood, carried to the
	// perplexity to first order (as llama-perplexity reports it).
	if v := nll2/float64(count) - res.NLL*res.NLL; v > 0 && count > 1 {
		res.PPLErr = math.Sqrt(v/float64(count-1)) * res.PPL
	}
	if base != nil {
		res.KL = kl.result()
	}
	return res, nil
}

// checkKLBase reads a base file's header and checks that it was made over
// the same tokens with the same chunking and vocabulary.
func checkKLBase(r *bufio.Reader, c, vocab, chunks, perChunk int, tokens []int) error {
	hdr := make([]byte, len(klMagic)+16)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return fmt.Errorf("KL-divergence base: %v", truncatedErr(err))
	}
	if string(hdr[:len(klMagic)]) != klMagic {
		return errors.New("KL-divergence base: not a file written by gale perplexity --kl-divergence-base")
	}
	got := make([]int, 4)
	for i := range got {
		got[i] = int(binary.LittleEndian.Uint32(hdr[len(klMagic)+4*i:]))
	}
	if got[0] != c || got[1] != vocab || got[2] != chunks || got[3] != perChunk {
		return fmt.Errorf("KL-divergence base: made with context %d, vocabulary %d, %d chunks; this run has context %d, vocabulary %d, %d chunks", got[0], got[1], got[2], c, vocab, chunks)
	}
	buf := make([]byte, 4)
	for i, t := range tokens[:chunks*c] {
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("KL-divergence base: %v", truncatedErr(err))
		}
		if int(int32(binary.LittleEndian.Uint32(buf))) != t {
			return fmt.Errorf("KL-divergence base: token %d differs: the base was made from another text or tokenizer", i)
		}
	}
	return nil
}

func truncatedErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("file is truncated")
	}
	return err
}

// logSoftmax writes ln softmax(l) into dst, in float64.
func logSoftmax(dst []float64, l []float32) {
	lse := logSumExp(l)
	for i, v := range l {
		dst[i] = float64(v) - lse
	}
}

// klAccum sums the per-position statistics of a KL-divergence run.
type klAccum struct {
	n                   int
	kld, kld2           float64
	same                int
	dp, dp2, dp4, maxDP float64
	baseNLL             float64
}

// add compares one position: logp and base are log-probabilities over the
// vocabulary, tok the token that followed.
func (a *klAccum) add(logp, base []float64, tok int) {
	var kld float64
	top, baseTop := 0, 0
	for i := range logp {
		if logp[i] > logp[top] {
			top = i
		}
		if base[i] > base[baseTop] {
			baseTop = i
		}
		pb := math.Exp(base[i])
		if pb > 0 {
			kld += pb * (base[i] - logp[i])
		}
	}
	a.n++
	a.kld += kld
	a.kld2 += kld * kld
	if top == baseTop {
		a.same++
	}
	dp := math.Exp(logp[tok]) - math.Exp(base[tok])
	a.dp += dp
	a.dp2 += dp * dp
	a.dp4 += dp * dp * dp * dp
	a.maxDP = math.Max(a.maxDP, math.Abs(dp))
	a.baseNLL -= base[tok]
}

// result turns the sums into means with standard errors.
func (a *klAccum) result() *KLResult {
	n := float64(a.n)
	r := &KLResult{MeanKLD: a.kld / n, MaxDeltaP: a.maxDP, BasePPL: math.Exp(a.baseNLL / n)}
	if a.n > 1 {
		r.KLDErr = math.Sqrt(math.Max(a.kld2/n-r.MeanKLD*r.MeanKLD, 0) / (n - 1))
	}
	p := float64(a.same) / n
	r.SameTop = p
	if a.n > 1 {
		r.SameTopErr = math.Sqrt(p * (1 - p) / (n - 1))
	}
	ms := a.dp2 / n
	r.RMSDeltaP = math.Sqrt(ms)
	if a.n > 1 && r.RMSDeltaP > 0 {
		// Error of the mean square, carried through the square root.
		r.RMSDeltaPErr = math.Sqrt(math.Max(a.dp4/n-ms*ms, 0)/(n-1)) / (2 * r.RMSDeltaP)
	}
	return r
}
