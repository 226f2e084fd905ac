package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gale-ai/gale/internal/hub"
)

func (a *app) newListCmd() *cobra.Command {
	var jsonOut, paths bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the models in the Hugging Face cache and ollama's store, with their sizes",
		Long: "list shows every model -m can name from the Hugging Face cache ($HF_HUB_CACHE,\n" +
			"else $HF_HOME/hub, else ~/.cache/huggingface/hub) and ollama's store\n" +
			"($OLLAMA_MODELS, else ~/.ollama/models): the name to give -m, its size and\n" +
			"the store. Sizes are in decimal units, as ollama list prints them.",
		Args: cobra.NoArgs,
		RunE: wrapRun(func(cmd *cobra.Command, args []string) error {
			d := hub.DefaultDirs()
			ents, err := hub.List(d)
			if err != nil {
				return fail("list", err)
			}
			if jsonOut {
				b, err := hub.MarshalEntries(ents)
				if err != nil {
					return fail("encode JSON", err)
				}
				if _, err := a.stdout.Write(append(b, '\n')); err != nil {
					return fail("write output", err)
				}
				return nil
			}
			if len(ents) == 0 {
				a.infof("gale: no models in %s or %s\n", d.HFCache, d.Ollama)
				return nil
			}
			w := tabwriter.NewWriter(a.stdout, 0, 0, 3, ' ', 0)
			header := "NAME\tSIZE\tSTORE\tNOTE"
			if paths {
				header += "\tPATH"
			}
			fmt.Fprintln(w, header)
			for _, e := range ents {
				note := "-"
				if e.Problem != "" {
					note = "incomplete: " + e.Problem
				}
				line := fmt.Sprintf("%s\t%s\t%s\t%s", e.Name, hub.HumanSize(e.Size), e.Store, note)
				if paths {
					line += "\t" + e.Path
				}
				fmt.Fprintln(w, line)
			}
			if err := w.Flush(); err != nil {
				return fail("write output", err)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print a JSON array of {name, store, size, path, problem}")
	cmd.Flags().BoolVar(&paths, "paths", false, "add the path each name resolves to")
	return cmd
}
