// Package hub finds models where other tools keep them and downloads new
// ones: the Hugging Face cache layout that huggingface_hub (and so
// huggingface-cli, transformers) uses, ollama's content-addressed store,
// and a downloader that writes the Hugging Face layout so that either
// tool finds the other's files.
//
// Resolving a model name (Resolve) only reads the local disk; the network
// is touched by Pull alone. The package knows nothing about weights: it
// turns a name into a path that package model loads.
package hub

import (
	"os"
	"path/filepath"
)

// Dirs are the two stores' roots. The zero value means "from the
// environment" (see DefaultDirs); tests set both to temporary trees.
type Dirs struct {
	// HFCache is the Hugging Face hub cache: the directory holding
	// models--org--name folders.
	HFCache string
	// Ollama is ollama's models directory: the one holding manifests/
	// and blobs/.
	Ollama string
}

// DefaultDirs reads the locations the way the two tools do:
// $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub,
// else ~/.cache/huggingface/hub; $OLLAMA_MODELS, else ~/.ollama/models.
func DefaultDirs() Dirs {
	return dirsFrom(os.Getenv, os.UserHomeDir)
}

// dirsFrom is DefaultDirs with the environment and home directory given,
// so that the precedence is testable without touching the process's
// environment.
func dirsFrom(getenv func(string) string, home func() (string, error)) Dirs {
	h, err := home()
	if err != nil || h == "" {
		// Without a home directory the relative fallbacks still name a
		// place, and the "looked in" message shows it.
		h = "~"
	}
	var d Dirs
	switch {
	case getenv("HF_HUB_CACHE") != "":
		d.HFCache = getenv("HF_HUB_CACHE")
	case getenv("HUGGINGFACE_HUB_CACHE") != "":
		// The older spelling huggingface_hub still honours.
		d.HFCache = getenv("HUGGINGFACE_HUB_CACHE")
	case getenv("HF_HOME") != "":
		d.HFCache = filepath.Join(getenv("HF_HOME"), "hub")
	case getenv("XDG_CACHE_HOME") != "":
		d.HFCache = filepath.Join(getenv("XDG_CACHE_HOME"), "huggingface", "hub")
	default:
		d.HFCache = filepath.Join(h, ".cache", "huggingface", "hub")
	}
	if v := getenv("OLLAMA_MODELS"); v != "" {
		d.Ollama = v
	} else {
		d.Ollama = filepath.Join(h, ".ollama", "models")
	}
	return d
}

// orDefault fills empty fields from the environment.
func (d Dirs) orDefault() Dirs {
	if d.HFCache != "" && d.Ollama != "" {
		return d
	}
	def := DefaultDirs()
	if d.HFCache == "" {
		d.HFCache = def.HFCache
	}
	if d.Ollama == "" {
		d.Ollama = def.Ollama
	}
	return d
}
