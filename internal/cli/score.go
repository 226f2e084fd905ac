package cli

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/spf13/cobra"

	"github.com/gale-ai/gale/internal/safetensors"
)

// scoreJSON is score's --json output.
type scoreJSON struct {
	Tokens        int     `json:"tokens"` // predicted tokens (prompt length - 1)
	LogLikelihood float64 `json:"log_likelihood"`
	Perplexity    float64 `json:"perplexity"`
}

func (a *app) newScoreCmd() *cobra.Command {
	var mf modelFlags
	var pf promptFlags
	var jsonOut bool
	var logitsPath string
	cmd := &cobra.Command{
		Use:   "score [flags] [TEXT...]",
		Short: "Log-likelihood and perplexity of a text under the model",
		Long: "score runs the model over a text (BOS prepended) or --tokens and reports the\n" +
			"log-likelihood of every token after the first and the perplexity.\n" +
			"--logits FILE saves all logits as an F32 safetensors tensor \"logits\" [T, vocab].",
		RunE: wrapRun(func(cmd *cobra.Command, args []string) error {
			if err := mf.validate(); err != nil {
				return err
			}
			in, err := a.resolvePrompt(cmd, &pf, args)
			if err != nil {
				return err
			}
			m, _, err := a.loadModel(&mf)
			if err != nil {
				return err
			}
			defer m.Close()
			ids, err := encodePrompt(m, in)
			if err != nil {
				return fail("prompt", err)
			}
			sess, err := a.newSession(m, &mf)
			if err != nil {
				return err
			}
			defer sess.Close()
			ids, truncated, err := fitContext(ids, sess.CtxSize(), 0, 0, pf.truncate)
			if err != nil {
				return fail("prompt", err)
			}
			if truncated {
				a.warn("text truncated to its last %d tokens to fit the context of %d", len(ids)-1, sess.CtxSize())
			}
			if len(ids) < 2 {
				return fail("score", fmt.Errorf("need at least 2 tokens to score, have %d", len(ids)))
			}
			vocab := m.Config.VocabSize
			var logits []byte
			var onLogits func(i int, l []float32)
			if logitsPath != "" {
				logits = make([]byte, len(ids)*vocab*4)
				onLogits = func(i int, l []float32) {
					if i < 0 || i >= len(ids) {
						return
					}
					row := logits[i*vocab*4 : (i+1)*vocab*4]
					for j := 0; j < vocab && j < len(l); j++ {
						binary.LittleEndian.PutUint32(row[4*j:], math.Float32bits(l[j]))
					}
				}
			}
			stopSpin := a.spinner(fmt.Sprintf("scoring %d tokens", len(ids)))
			res, err := sess.Score(ids, onLogits)
			stopSpin()
			if err != nil {
				return fail("score", err)
			}
			if logitsPath != "" {
				err := safetensors.WriteFile(logitsPath, []safetensors.WriteTensor{{
					Name: "logits", DType: safetensors.F32, Shape: []int{len(ids), vocab}, Data: logits,
				}}, nil)
				if err != nil {
					return fail("write logits", err)
				}
			}
			if jsonOut {
				return a.printJSON(scoreJSON{Tokens: res.Tokens, LogLikelihood: res.LogLikelihood, Perplexity: res.Perplexity})
			}
			fmt.Fprintf(a.stdout, "tokens: %d\nlog-likelihood: %.6f\nperplexity: %.6f\n", res.Tokens, res.LogLikelihood, res.Perplexity)
			return nil
		}),
	}
	fs := cmd.Flags()
	mf.register(fs, "f32")
	pf.register(fs, true)
	fs.BoolVar(&jsonOut, "json", false, "print {\"tokens\", \"log_likelihood\", \"perplexity\"}")
	fs.StringVar(&logitsPath, "logits", "", "write all logits to this safetensors file (tensor \"logits\", F32 [T, vocab])")
	return cmd
}
