package cli

import (
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gale-ai/gale/model"
)

func (a *app) newQuantizeCmd() *cobra.Command {
	var mf modelFlags
	var out, typ string
	var names []string
	for _, ft := range model.FileTypes {
		names = append(names, strings.ToLower(ft.Name))
	}
	cmd := &cobra.Command{
		Use:   "quantize -m SRC -o OUT.gguf --type TYPE | quantize SRC OUT.gguf TYPE",
		Short: "Write a model as a GGUF file of a quantized type (llama-quantize's mixtures and reference quantizers)",
		Long: "quantize reads a model (a Hugging Face or Mistral native directory, or a GGUF\n" +
			"file, which is requantized) and writes it as a GGUF file that llama.cpp loads:\n" +
			"its metadata keys, tensor names and rotary layout, the tokenizer and the chat\n" +
			"template. Blocks are computed as llama.cpp's reference quantizers compute them\n" +
			"(no importance matrix), with llama-quantize's type mixture (output.weight as\n" +
			"Q6_K for the 4- and 5-bit types, Q6_K layers of attn_v/ffn_down for the _M\n" +
			"types). Tensors are written one at a time.\n\nTypes: " + strings.Join(names, ", "),
		Args: cobra.MaximumNArgs(3),
		RunE: wrapRun(func(cmd *cobra.Command, args []string) error {
			switch len(args) {
			case 0:
			case 3:
				// llama-quantize's positional form: SRC OUT TYPE.
				if cmd.Flags().Changed("model") || cmd.Flags().Changed("output") || cmd.Flags().Changed("type") {
					return usagef("give the source, output and type either as arguments or as -m, -o and --type, not both")
				}
				mf.path, out, typ = args[0], args[1], args[2]
			default:
				return usagef("quantize takes SRC OUT TYPE as arguments, or -m SRC -o OUT --type TYPE")
			}
			if mf.path == "" {
				return usagef("quantize needs a source model: -m SRC")
			}
			if out == "" {
				return usagef("quantize needs an output file: -o OUT.gguf")
			}
			if typ == "" {
				return usagef("quantize needs a type: --type %s", strings.Join(names, "|"))
			}
			ft, err := model.ParseFileType(typ)
			if err != nil {
				return usagef("%v", err)
			}
			if err := mf.validate(); err != nil {
				return err
			}
			m, _, err := a.loadModel(&mf)
			if err != nil {
				return err
			}
			defer m.Close()
			update, finish := a.progress("quantizing", true)
			t0 := time.Now()
			err = model.Quantize(m, out, model.QuantizeOptions{Type: ft, Threads: mf.threads,
				Progress: func(done, total int64, _ string) {
					if update != nil {
						update(done, total)
					}
				}})
			finish()
			if err != nil {
				return fail("quantize", err)
			}
			size := int64(0)
			if fi, err := os.Stat(out); err == nil {
				size = fi.Size()
			}
			a.infof("wrote %s: %s, %.2f GiB in %.1f s\n", out, ft.Name, float64(size)/(1<<30), time.Since(t0).Seconds())
			return nil
		}),
	}
	fs := cmd.Flags()
	mf.register(fs, "")
	fs.StringVarP(&out, "output", "o", "", "GGUF file to write")
	fs.StringVar(&typ, "type", "", "target type: "+strings.Join(names, ", "))
	return cmd
}
