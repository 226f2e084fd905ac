package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gale-ai/gale/model"
)

// timingsJSON is the "timings" object of generate --json.
type timingsJSON struct {
	LoadMS        float64 `json:"load_ms"`
	PromptMS      float64 `json:"prompt_ms"`
	GenMS         float64 `json:"gen_ms"`
	PromptTokPerS float64 `json:"prompt_tok_per_s"`
	GenTokPerS    float64 `json:"gen_tok_per_s"`
}

// generateJSON is generate's --json output: one object on stdout.
type generateJSON struct {
	Text         string      `json:"text"`
	Tokens       int         `json:"tokens"` // generated tokens
	IDs          []int       `json:"ids"`    // the generated ids
	PromptTokens int         `json:"prompt_tokens"`
	StopReason   string      `json:"stop_reason"`
	Seed         uint64      `json:"seed"`
	Truncated    bool        `json:"prompt_truncated,omitempty"`
	Timings      timingsJSON `json:"timings"`
}

func (a *app) newGenerateCmd() *cobra.Command {
	var mf modelFlags
	var pf promptFlags
	var sf sampleFlags
	var jsonOut, echo bool
	cmd := &cobra.Command{
		Use:   "generate [flags] [PROMPT...]",
		Short: "Continue a prompt (from -p, -f, --tokens, the arguments or stdin)",
		Example: `  gale generate -m ./Mistral-7B-v0.1 -p "The capital of France is" -n 32
  echo "Once upon a time" | gale generate --temp 0 -n 50
  gale generate --tokens 1,403,407 --json`,
		RunE: wrapRun(func(cmd *cobra.Command, args []string) error {
			if err := mf.validate(); err != nil {
				return err
			}
			if err := sf.validate(); err != nil {
				return err
			}
			in, err := a.resolvePrompt(cmd, &pf, args)
			if err != nil {
				return err
			}
			sf.escapes(&in)
			// Armed before loading, so a Ctrl-C at any point from here on
			// ends the command through the same clean path (exit 130).
			ctx, stop := a.interruptContext(context.Background())
			defer stop()
			m, loadDur, err := a.loadModelCtx(ctx, &mf)
			if err != nil {
				return err
			}
			defer m.Close()
			if err := a.applyModelDefaults(cmd, &mf, &sf); err != nil {
				return err
			}
			return a.generate(ctx, m, loadDur, &mf, &pf, &sf, in, jsonOut, echo)
		}),
	}
	fs := cmd.Flags()
	mf.register(fs, "f16")
	pf.register(fs, true)
	sf.register(fs)
	fs.BoolVar(&jsonOut, "json", false, "print one JSON object (text, tokens, stop_reason, timings, seed) instead of streaming text")
	fs.BoolVar(&echo, "echo", false, "print the prompt before the generated text")
	return cmd
}

func (a *app) generate(ctx context.Context, m *model.Model, loadDur time.Duration, mf *modelFlags, pf *promptFlags, sf *sampleFlags,
	in promptInput, jsonOut, echo bool) error {
	ids, err := encodePrompt(m, in)
	if err != nil {
		return fail("prompt", err)
	}
	if len(ids) == 0 {
		return usagef("empty prompt and the model's tokenizer has no BOS token; give a prompt")
	}
	sess, err := a.newSession(m, mf)
	if err != nil {
		return err
	}
	defer sess.Close()

	// When truncating, leave room for the tokens asked for (at most half
	// the context, a quarter when -n is unbounded).
	ctxSize := sess.CtxSize()
	ids, truncated, err := fitContext(ids, ctxSize, 1, model.GenerateRoom(ctxSize, sf.maxTokens), pf.truncate)
	if err != nil {
		return fail("prompt", err)
	}
	if truncated {
		a.warn("prompt truncated to its last %d tokens to fit the context of %d", len(ids)-1, sess.CtxSize())
	}

	seed := sf.resolveSeed()
	if mf.verbose {
		kv := kvName(mf.sessionOptions().KVF16)
		a.infof("gale: seed %d, %d threads, context %d, KV cache %.1f MiB (%s), kernels %s\n",
			seed, sess.Threads(), sess.CtxSize(), float64(sess.KVCacheBytes())/(1<<20), kv, kernelLevel())
	}
	if echo && !jsonOut {
		var text string
		if in.isIDs || truncated {
			if m.Tokenizer != nil {
				text = m.Tokenizer.Decode(ids)
			}
		} else {
			text = in.text
		}
		if err := writeFlush(a.stdout, text); err != nil {
			return fail("write output", err)
		}
	}

	var wrote strings.Builder
	opts := model.GenerateOptions{
		MaxTokens: sf.maxTokens,
		Sampler:   sf.samplerOptions(seed, sess.CtxSize()),
		Stop:      sf.stop,
		IgnoreEOS: sf.ignoreEOS,
	}
	if !jsonOut {
		opts.OnText = func(s string) error {
			wrote.WriteString(s)
			return writeFlush(a.stdout, s)
		}
	}
	res, err := sess.Generate(ctx, ids, opts)
	if err != nil {
		if res == nil || res.StopReason != model.StopInterrupted {
			if ctx.Err() != nil {
				return errInterrupted
			}
			return fail("generate", err)
		}
	}
	if jsonOut {
		out := generateJSON{
			Text:         res.Text,
			Tokens:       len(res.Tokens),
			IDs:          nonNilInts(res.Tokens),
			PromptTokens: res.PromptTokens,
			StopReason:   res.StopReason,
			Seed:         seed,
			Truncated:    truncated,
			Timings:      makeTimings(loadDur, res),
		}
		if err := a.printJSON(out); err != nil {
			return err
		}
	} else if m.Tokenizer == nil {
		// No tokenizer, no text: the ids are the output.
		if err := writeFlush(a.stdout, joinIDs(res.Tokens)+"\n"); err != nil {
			return fail("write output", err)
		}
	} else if a.stdoutTerm && (wrote.Len() > 0 || echo) && !strings.HasSuffix(wrote.String(), "\n") {
		// Leave the shell prompt on its own line; pipes get the text exactly.
		fmt.Fprintln(a.stdout)
	}
	if mf.verbose {
		a.printTimings(loadDur, res)
	}
	if res.StopReason == model.StopInterrupted {
		return errInterrupted
	}
	return nil
}

func makeTimings(loadDur time.Duration, res *model.GenerateResult) timingsJSON {
	return timingsJSON{
		LoadMS:        round3(ms(loadDur)),
		PromptMS:      round3(ms(res.PromptDuration)),
		GenMS:         round3(ms(res.GenDuration)),
		PromptTokPerS: round3(perSecond(res.PromptTokens, res.PromptDuration)),
		GenTokPerS:    round3(perSecond(len(res.Tokens), res.GenDuration)),
	}
}

// printTimings prints llama-cli style timings on stderr (-v).
func (a *app) printTimings(loadDur time.Duration, res *model.GenerateResult) {
	perTok := func(d time.Duration, n int) float64 {
		if n == 0 {
			return 0
		}
		return ms(d) / float64(n)
	}
	a.infof("\n")
	if loadDur > 0 {
		a.infof("gale: load time        = %10.2f ms\n", ms(loadDur))
	}
	a.infof("gale: prompt eval time = %10.2f ms / %5d tokens (%8.2f ms per token, %8.2f tokens per second)\n",
		ms(res.PromptDuration), res.PromptTokens, perTok(res.PromptDuration, res.PromptTokens),
		perSecond(res.PromptTokens, res.PromptDuration))
	a.infof("gale:        eval time = %10.2f ms / %5d tokens (%8.2f ms per token, %8.2f tokens per second)\n",
		ms(res.GenDuration), len(res.Tokens), perTok(res.GenDuration, len(res.Tokens)),
		perSecond(len(res.Tokens), res.GenDuration))
	a.infof("gale: stop reason: %s\n", res.StopReason)
}

// printJSON writes v as one line of JSON on stdout.
func (a *app) printJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fail("encode JSON", err)
	}
	b = append(b, '\n')
	if _, err := a.stdout.Write(b); err != nil {
		return fail("write output", err)
	}
	return nil
}

func round3(v float64) float64 {
	return float64(int64(v*1000+0.5)) / 1000
}

func nonNilInts(v []int) []int {
	if v == nil {
		return []int{}
	}
	return v
}

// joinIDs renders ids separated by spaces, as tokenize prints them.
func joinIDs(ids []int) string {
	var sb strings.Builder
	for i, id := range ids {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(strconv.Itoa(id))
	}
	return sb.String()
}
