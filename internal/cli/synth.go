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
		Use:   "synth -o DIR|FILE.gguf --shape SHAPE [--dtype bf16|q4_0|q4_k_m|...] [--seed N]",
		Short: "Write a random-weight checkpoint of a published shape (for benchmarks and tests)",
		Long: "synth writes an HF-layout checkpoint directory (config.json, safetensors) with\n" +
			"random weights of the exact shape of a published model (mistral-7b, llama-2-7b,\n" +
			"llama-2-13b), of small (166M parameters, for load tests) or of tiny, so loading\n" +
			"and speed can be measured without downloading real weights. It has no\n" +
			"tokenizer; use --tokens prompts with it. A quantized --dtype (q8_0, q4_0,\n" +
			"q4_k_m ...) writes a GGUF file instead, with llama-quantize's type mixture.",
		Args: cobra.NoArgs,
		RunE: wrapRun(func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return usagef("-o DIR is required")
			}
			ft, err := model.ParseFileType(dtype)
			if err != nil {
				return usagef("invalid argument %q for \"--dtype\": %v", dtype, err)
			}
			if _, _, err := model.SyntheticSize(shape, dtype); err != nil {
				return usagef("invalid argument %q for \"--shape\": %v", shape, err)
			}
			if ft.Quant && !strings.HasSuffix(strings.ToLower(dir), ".gguf") {
				return usagef("a quantized --dtype writes a GGUF file: give -o a name ending in .gguf")
			}
			update, finish := a.progress("writing", true)
			err = model.WriteSynthetic(dir, shape, dtype, seed, update)
			finish()
			return fail("synth", err)
		}),
	}
	fs := cmd.Flags()
	fs.StringVarP(&dir, "output", "o", "", "directory to write (created if missing), or a .gguf file for a quantized --dtype")
	fs.StringVar(&shape, "shape", "tiny", strings.Join(model.SyntheticShapes(), ", "))
	fs.StringVar(&dtype, "dtype", "bf16", "f32, bf16, f16, or a quantization type: q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k_m, q4_k_s, q4_k_m, q5_k_m, q6_k ...")
	fs.Uint64Var(&seed, "seed", 1, "seed of the random weights")
	return cmd
}
