// Command gale generates text with Mistral- and Llama-class language models
// on the CPU. All behaviour lives in internal/cli.
package main

import (
	"os"

	"github.com/gale-ai/gale/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
