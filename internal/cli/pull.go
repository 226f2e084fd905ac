package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gale-ai/gale/internal/hub"
)

func (a *app) newPullCmd() *cobra.Command {
	var token, endpoint string
	cmd := &cobra.Command{
		Use:   "pull org/name[@REV][:FILE.gguf|:QUANT]",
		Short: "Download a model from the Hugging Face hub into its cache (where -m and huggingface-cli find it)",
		Long: "pull lists the repository's files through the hub's API and downloads what gale\n" +
			"needs into the Hugging Face cache ($HF_HUB_CACHE, else $HF_HOME/hub, else\n" +
			"~/.cache/huggingface/hub), in the layout huggingface-cli uses. A safetensors\n" +
			"repository brings config.json, generation_config.json, the tokenizer files and\n" +
			"the *.safetensors weights (not *.bin or consolidated.* duplicates); a GGUF\n" +
			"repository needs a file name or a quantization (org/name:Q4_K_M). Each file is\n" +
			"checked against the hub's sha256 before it is moved into place; an interrupted\n" +
			"download resumes where it stopped. The endpoint is $HF_ENDPOINT (default\n" +
			"https://huggingface.co); gated repositories need $HF_TOKEN or --token.\n" +
			"The path to give -m (or the name itself) is printed on stdout.",
		Example: `  gale pull mistralai/Mistral-7B-Instruct-v0.2
  gale pull TheBloke/Mistral-7B-Instruct-v0.2-GGUF:Q4_K_M
  gale generate -m TheBloke/Mistral-7B-Instruct-v0.2-GGUF:Q4_K_M -p "Hello"`,
		Args: cobra.ExactArgs(1),
		RunE: wrapRun(func(cmd *cobra.Command, args []string) error {
			ref, err := hub.ParseHFRef(args[0])
			if err != nil {
				return usagef("%v (ollama models are fetched with ollama pull; gale -m finds them)", err)
			}
			switch strings.ToLower(os.Getenv("HF_HUB_OFFLINE")) {
			case "1", "true", "yes", "on":
				return fail("pull", fmt.Errorf("HF_HUB_OFFLINE is set: pull needs the network"))
			}
			c := hub.NewClient()
			if cmd.Flags().Changed("token") {
				c.Token = token
			}
			if cmd.Flags().Changed("endpoint") {
				c.Endpoint = endpoint
			}
			c.UserAgent = "gale/" + Version
			if a.stderrTerm {
				c.OnFile = func(name string) (func(done, total int64), func()) {
					update, finish := a.progress(name, true)
					return update, finish
				}
			}
			ctx, stop := a.interruptContext(context.Background())
			defer stop()
			res, err := c.Pull(ctx, ref)
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, context.Canceled) {
					a.infof("gale: pull interrupted; run it again to resume\n")
					return errInterrupted
				}
				return fail("pull", err)
			}
			a.infof("gale: %s: %d files in %s (%s downloaded, %d already present)\n",
				ref, len(res.Files), res.Snapshot, hub.HumanSize(res.Downloaded), res.Present)
			if _, err := fmt.Fprintln(a.stdout, res.Path); err != nil {
				return fail("write output", err)
			}
			return nil
		}),
	}
	cmd.Flags().StringVar(&token, "token", "", "Hugging Face access token (default $HF_TOKEN)")
	cmd.Flags().StringVar(&endpoint, "endpoint", "", "hub endpoint (default $HF_ENDPOINT, else https://huggingface.co)")
	return cmd
}
