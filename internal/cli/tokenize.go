package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gale-ai/gale/internal/hub"
	"github.com/gale-ai/gale/model"
	"github.com/gale-ai/gale/tokenizer"
)

// loadTokenizer opens the tokenizer named by -m: a model directory, a
// tokenizer.model / tokenizer.json file, or (empty) the embedded model's.
// Only the tokenizer is read, so tokenizing with a 14 GB checkpoint's
// directory costs nothing.
func (a *app) loadTokenizer(path string) (*tokenizer.Tokenizer, error) {
	if path == "" {
		m, err := model.LoadDefault(model.LoadOptions{})
		if err != nil {
			return nil, fail("load model", err)
		}
		defer m.Close()
		if m.Tokenizer == nil {
			return nil, fail("load tokenizer", errors.New("the embedded model has no tokenizer"))
		}
		return m.Tokenizer, nil
	}
	res, err := hub.Resolve(path, hub.Dirs{})
	if err != nil {
		return nil, fail("load tokenizer", err)
	}
	if res.GGUF || isGGUF(res.Path) {
		// A GGUF file carries its vocabulary among its metadata: read it
		// through the model loader. The model stays mapped until exit, as
		// the tokenizer may refer to the file's strings.
		m, _, err := a.loadModel(&modelFlags{path: path})
		if err != nil {
			return nil, err
		}
		if m.Tokenizer == nil {
			return nil, fail("load tokenizer", fmt.Errorf("%s has no tokenizer", path))
		}
		return m.Tokenizer, nil
	}
	t, err := tokenizer.Load(res.Path)
	if err != nil {
		return nil, fail("load tokenizer", errors.New(dedupePrefixes(plainPathError(err).Error())))
	}
	return t, nil
}

// tokenizeJSON is tokenize's --json output.
type tokenizeJSON struct {
	IDs    []int    `json:"ids"`
	Pieces []string `json:"pieces"`
}

func (a *app) newTokenizeCmd() *cobra.Command {
	var modelPath string
	var bos, jsonOut bool
	cmd := &cobra.Command{
		Use:   "tokenize [flags] [TEXT...]",
		Short: "Print the token ids of a text (the arguments, or all of stdin byte for byte)",
		Example: `  gale tokenize -m ./Mistral-7B-v0.1 "Hello world"
  printf 'two\nlines\n' | gale tokenize --json`,
		RunE: wrapRun(func(cmd *cobra.Command, args []string) error {
			var text string
			if len(args) > 0 {
				text = strings.Join(args, " ")
			} else {
				// Byte for byte, trailing newline included: tokenize
				// shows exactly what the model would see.
				b, err := io.ReadAll(a.stdin)
				if err != nil {
					return fail("read stdin", err)
				}
				text = string(b)
			}
			tok, err := a.loadTokenizer(modelPath)
			if err != nil {
				return err
			}
			var ids []int
			if bos && tok.BOS() >= 0 {
				ids = append(ids, tok.BOS())
			}
			ids = append(ids, tok.Encode(text)...)
			if jsonOut {
				out := tokenizeJSON{IDs: nonNilInts(ids), Pieces: make([]string, len(ids))}
				for i, id := range ids {
					out.Pieces[i] = tok.Piece(id)
				}
				return a.printJSON(out)
			}
			_, err = io.WriteString(a.stdout, joinIDs(ids)+"\n")
			return fail("write output", err)
		}),
	}
	fs := cmd.Flags()
	fs.StringVarP(&modelPath, "model", "m", "", "model directory, GGUF file, tokenizer.model or tokenizer.json (default: the embedded model's)")
	fs.BoolVar(&bos, "bos", false, "prepend the BOS token")
	fs.BoolVar(&jsonOut, "json", false, "print {\"ids\": [...], \"pieces\": [...]}")
	return cmd
}

func (a *app) newDetokenizeCmd() *cobra.Command {
	var modelPath string
	cmd := &cobra.Command{
		Use:   "detokenize [flags] ID...",
		Short: "Print the text of token ids (from the arguments, or stdin)",
		Example: `  gale detokenize 1 15043 3186
  gale tokenize "Hello" | gale detokenize`,
		RunE: wrapRun(func(cmd *cobra.Command, args []string) error {
			src := strings.Join(args, " ")
			if len(args) == 0 {
				if a.stdinTerm {
					return usagef("give token ids as arguments or on stdin")
				}
				b, err := io.ReadAll(a.stdin)
				if err != nil {
					return fail("read stdin", err)
				}
				src = string(b)
			}
			ids, err := parseIDs(src)
			if err != nil {
				return usagef("%v", err)
			}
			tok, err := a.loadTokenizer(modelPath)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if id >= tok.VocabSize() {
					return fail("detokenize", fmt.Errorf("token id %d out of range (vocabulary has %d)", id, tok.VocabSize()))
				}
			}
			text := tok.Decode(ids)
			if a.stdoutTerm && !strings.HasSuffix(text, "\n") {
				text += "\n"
			}
			_, err = io.WriteString(a.stdout, text)
			return fail("write output", err)
		}),
	}
	cmd.Flags().StringVarP(&modelPath, "model", "m", "", "model directory, GGUF file, tokenizer.model or tokenizer.json (default: the embedded model's)")
	return cmd
}
