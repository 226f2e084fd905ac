package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/gale-ai/gale/model"
)

func (a *app) newSynthCmd() *cobra.Command {
	var dir, shape, dtype string
	var seed uint64
	cmd := &cobra.Command{
		Use:   "synth -o DIR --shape SHAPE [--dtype bf16] [--seed N]",
		Short: "Write a random-weight checkpoint of a published shape (for benchmarks and tests)",
		Long: "synth writes an HF-layout checkpoint directory (config.json, safetensors) with\n" +
			"random weights of the exact shape of a published model (mistral-7b, llama-2-7b,\n" +
			"llama-2-13b), of small (166M parameters, for load tests) or of tiny, so loading\n" +
			"and speed can be measured without downloading real weights. It has no\n" +
			"tokenizer; use --tokens prompts with it.",
		Args: cobra.NoArgs,
		RunE: wrapRun(func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return usagef("-o DIR is required")
			}
			switch dtype {
			case "f32", "bf16", "f16":
			default:
				return usagef("invalid argument %q for \"--dtype\": want f32, bf16 or f16", dtype)
			}
			if _, _, err := model.SyntheticSize(shape, dtype); err != nil {
				return usagef("invalid argument %q for \"--shape\": %v", shape, err)
			}
			update, finish := a.progress("writing", true)
			err := model.WriteSynthetic(dir, shape, dtype, seed, update)
			finish()
			return fail("synth", err)
		}),
	}
	fs := cmd.Flags()
	fs.StringVarP(&dir, "output", "o", "", "directory to write (created if missing)")
	fs.StringVar(&shape, "shape", "tiny", strings.Join(model.SyntheticShapes(), ", "))
	fs.StringVar(&dtype, "dtype", "bf16", "f32, bf16 or f16")
	fs.Uint64Var(&seed, "seed", 1, "seed of the random weights")
	return cmd
}
