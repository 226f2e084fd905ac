package hub

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Where a resolved model was found.
const (
	SourcePath   = "path"
	SourceHF     = "huggingface"
	SourceOllama = "ollama"
)

// Resolved is what -m named: the path to load and, for ollama models,
// the defaults the model's manifest carries.
type Resolved struct {
	// Path is a checkpoint directory or a GGUF file (an ollama blob has
	// no .gguf suffix; GGUF says whether it is one).
	Path string
	// GGUF reports that Path is a GGUF file (by its name or because ollama
	// stores only GGUF model layers).
	GGUF bool
	// Source is SourcePath, SourceHF or SourceOllama.
	Source string
	// Name is the model's name as the store knows it (org/name@rev:Q4_K_M,
	// mistral:latest), or the path as given.
	Name string
	// Where says in one line where the model was found, for gale info.
	Where string
	// Commit is the Hugging Face snapshot (commit hash), "" otherwise.
	Commit string

	// Params are the ollama params layer's defaults (nil: none).
	Params *Params
	// System is the ollama system layer's text; HasSystem tells an empty
	// system prompt from none.
	System    string
	HasSystem bool
	// Template is the ollama template layer: a Go text/template (see
	// RenderTemplate); "" when there is none.
	Template string
	// Warnings are things the user should hear about (layers gale cannot
	// use).
	Warnings []string
}

// NotFoundError is returned when no store has the model; Looked lists
// the places tried, in order.
type NotFoundError struct {
	Spec   string
	Looked []string
}

// Error lists every place looked in, on one line.
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("model %q not found: looked for %s", e.Spec, strings.Join(e.Looked, "; "))
}

// Resolve turns what -m names into something to load, trying in order:
// an existing file or directory; org/name[@rev][:FILE.gguf|:QUANT] in the
// Hugging Face cache; [host/][namespace/]name[:tag] in ollama's store.
// A name that looks like a path (absolute, ./ or ../, ~/, or a file name
// with a model suffix) is returned as a path even when nothing is there,
// so that the loader's own error names it. Resolve never uses the
// network.
func Resolve(spec string, d Dirs) (*Resolved, error) {
	d = d.orDefault()
	if spec == "" {
		return nil, errors.New("empty model name")
	}
	if strings.HasPrefix(spec, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			spec = filepath.Join(h, spec[2:])
		}
	}
	if _, err := os.Lstat(spec); err == nil || looksLikePath(spec) {
		return &Resolved{Path: spec, Source: SourcePath, Name: spec, Where: "path " + spec, GGUF: isGGUFName(spec)}, nil
	}
	nf := &NotFoundError{Spec: spec, Looked: []string{"a file or directory " + spec}}
	var firstErr error
	if ref, err := ParseHFRef(spec); err == nil {
		res, err := resolveHF(d.HFCache, ref)
		if err == nil {
			res.GGUF = isGGUFName(res.Path)
			return res, nil
		}
		if !errors.Is(err, errNotHere) {
			firstErr = err
		}
		nf.Looked = append(nf.Looked, "Hugging Face cache "+filepath.Join(d.HFCache, ref.folder()))
	}
	if ref, err := ParseOllamaRef(spec); err == nil {
		res, err := resolveOllama(d.Ollama, ref)
		if err == nil {
			res.GGUF = true
			return res, nil
		}
		if !errors.Is(err, errNotHere) {
			if firstErr == nil {
				firstErr = err
			}
		}
		nf.Looked = append(nf.Looked, "ollama store "+ref.manifestPath(d.Ollama))
	}
	// A store that has the model in a broken state says more than "not
	// found".
	if firstErr != nil {
		return nil, firstErr
	}
	if len(nf.Looked) == 1 {
		nf.Looked[0] = "a file or directory " + spec + " (and it is neither org/name nor an ollama name)"
	}
	return nil, nf
}

// looksLikePath reports whether a name can only mean a path.
func looksLikePath(s string) bool {
	if filepath.IsAbs(s) || s == "." || s == ".." || strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") ||
		strings.HasPrefix(s, "~") || strings.ContainsRune(s, filepath.Separator) && filepath.Separator != '/' {
		return true
	}
	if strings.Contains(s, ":") {
		return false
	}
	l := strings.ToLower(s)
	for _, suf := range []string{".gguf", ".safetensors", ".json", ".model", ".bin"} {
		if strings.HasSuffix(l, suf) {
			return true
		}
	}
	// More than one slash is never a Hugging Face name; with no tag it
	// could be host/ns/name for ollama, which is tried first.
	return false
}

func isGGUFName(p string) bool { return strings.HasSuffix(strings.ToLower(p), ".gguf") }
