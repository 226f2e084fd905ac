package cli

import (
	"bufio"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gale-ai/gale/model"
)

// perplexityJSON is perplexity's --json output.
type perplexityJSON struct {
	Chunks int             `json:"chunks"`
	Ctx    int             `json:"n_ctx"`
	Scored int             `json:"scored_tokens"`
	PPL    float64         `json:"ppl"`
	PPLErr float64         `json:"ppl_stderr"`
	KL     *model.KLResult `json:"kl_divergence,omitempty"`
}

func (a *app) newPerplexityCmd() *cobra.Command {
	var mf modelFlags
	var file, klBase string
	var kl, jsonOut bool
	var chunks int
	cmd := &cobra.Command{
		Use:   "perplexity -f TEXT_FILE [flags]",
		Short: "Perplexity of a text file in context-sized chunks, as llama-perplexity computes it",
		Long: "perplexity cuts the tokenized file into chunks of -c tokens, runs each from an\n" +
			"empty cache (first token replaced by BOS) and scores the second half of every\n" +
			"chunk, so each scored token has at least c/2 tokens of context; it prints the\n" +
			"perplexity and its standard error. It needs at least 2*c tokens.\n\n" +
			"--kl-divergence-base FILE saves the reference model's log-probabilities;\n" +
			"run again with another model, --kl-divergence and the same FILE and -f to\n" +
			"compare it with the reference: mean KL divergence, top-token agreement and\n" +
			"the RMS of the change in the probability of each actual next token.",
		Args: cobra.NoArgs,
		RunE: wrapRun(func(cmd *cobra.Command, args []string) error {
			if err := mf.validate(); err != nil {
				return err
			}
			if file == "" {
				return usagef("perplexity needs a text file: -f FILE")
			}
			if kl && klBase == "" {
				return usagef("--kl-divergence needs --kl-divergence-base FILE (written by an earlier run)")
			}
			// perplexity's -c is the chunk length, 512 unless given (the
			// length llama-perplexity results are usually quoted at); the
			// session's context is made to match it.
			ctx := 512
			if cmd.Flags().Changed("ctx-size") {
				ctx = mf.ctxSize
			}
			if ctx < 4 {
				return usagef("invalid argument %d for \"-c, --ctx-size\": must be at least 4", ctx)
			}
			if chunks < 0 {
				return usagef("invalid argument %d for \"--chunks\": must be >= 0", chunks)
			}
			text, err := os.ReadFile(file)
			if err != nil {
				return fail("read text", err)
			}
			m, _, err := a.loadModel(&mf)
			if err != nil {
				return err
			}
			defer m.Close()
			if m.Tokenizer == nil {
				return fail("perplexity", fmt.Errorf("%s has no tokenizer", m.Name))
			}
			ids, err := encodePrompt(m, promptInput{text: string(text)})
			if err != nil {
				return fail("tokenize", err)
			}
			if ctx > m.Config.MaxSeqLen && m.Config.MaxSeqLen > 0 {
				a.warn("-c %d is larger than the model's trained context of %d", ctx, m.Config.MaxSeqLen)
			}
			so := mf.sessionOptions()
			so.CtxSize = ctx
			sess, err := m.NewSession(so)
			if err != nil {
				return fail("create session", err)
			}
			defer sess.Close()
			opts := model.PerplexityOptions{Ctx: ctx, Chunks: chunks, BOS: m.Tokenizer.BOS()}
			var out *os.File
			var w *bufio.Writer
			switch {
			case kl:
				in, err := os.Open(klBase)
				if err != nil {
					return fail("KL-divergence base", err)
				}
				defer in.Close()
				opts.Base = in
			case klBase != "":
				if out, err = os.Create(klBase); err != nil {
					return fail("KL-divergence base", err)
				}
				w = bufio.NewWriter(out)
				opts.SaveBase = w
			}
			a.infof("perplexity: %d tokens, chunks of %d, scoring the last %d of each\n", len(ids), ctx, ctx-1-ctx/2)
			printed := false
			if !jsonOut {
				opts.OnChunk = func(i, n int, ppl float64) {
					fmt.Fprintf(a.stderr, "[%d]%.4f,", i, ppl)
					printed = true
				}
			}
			res, err := sess.Perplexity(ids, opts)
			if printed {
				fmt.Fprintln(a.stderr)
			}
			if out != nil {
				if err == nil {
					err = w.Flush()
				}
				if cerr := out.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					os.Remove(klBase)
				}
			}
			if err != nil {
				return fail("perplexity", err)
			}
			if jsonOut {
				return a.printJSON(perplexityJSON{Chunks: res.Chunks, Ctx: ctx, Scored: res.Scored, PPL: res.PPL, PPLErr: res.PPLErr, KL: res.KL})
			}
			fmt.Fprintf(a.stdout, "Final estimate: PPL = %.4f +/- %.5f\n", res.PPL, res.PPLErr)
			if k := res.KL; k != nil {
				fmt.Fprintf(a.stdout, "Mean PPL(base) : %10.4f\n", k.BasePPL)
				fmt.Fprintf(a.stdout, "Mean    KLD    : %10.6f ± %10.6f\n", k.MeanKLD, k.KLDErr)
				fmt.Fprintf(a.stdout, "Same top p     : %6.3f ± %5.3f %%\n", 100*k.SameTop, 100*k.SameTopErr)
				fmt.Fprintf(a.stdout, "RMS Δp         : %6.3f ± %5.3f %%\n", 100*k.RMSDeltaP, 100*k.RMSDeltaPErr)
				fmt.Fprintf(a.stdout, "Max Δp         : %6.3f %%\n", 100*k.MaxDeltaP)
			}
			return nil
		}),
	}
	fs := cmd.Flags()
	mf.register(fs, "f32")
	fs.Lookup("ctx-size").Usage = "chunk length in tokens, each evaluated from an empty cache (default 512)"
	fs.StringVarP(&file, "file", "f", "", "text file to score")
	fs.IntVar(&chunks, "chunks", 0, "score at most this many chunks (0 = all)")
	fs.StringVar(&klBase, "kl-divergence-base", "", "file of a reference model's log-probabilities: written, or read with --kl-divergence")
	fs.BoolVar(&kl, "kl-divergence", false, "compare this model with the --kl-divergence-base file")
	fs.BoolVar(&jsonOut, "json", false, "print the result as JSON")
	return cmd
}
