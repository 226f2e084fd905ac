package hub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Media types of ollama's manifest layers.
const (
	MediaModel    = "application/vnd.ollama.image.model"
	MediaParams   = "application/vnd.ollama.image.params"
	MediaSystem   = "application/vnd.ollama.image.system"
	MediaTemplate = "application/vnd.ollama.image.template"
	MediaAdapter  = "application/vnd.ollama.image.adapter"
	MediaProject  = "application/vnd.ollama.image.projector"
)

// Ollama's defaults for the parts of a name left out.
const (
	DefaultOllamaHost      = "registry.ollama.ai"
	DefaultOllamaNamespace = "library"
	DefaultOllamaTag       = "latest"
)

// OllamaRef is an ollama model name: [host/][namespace/]name[:tag].
type OllamaRef struct {
	Host, Namespace, Name, Tag string
}

// String is the short form ollama prints: name:tag for the library,
// namespace/name:tag for others on the default registry.
func (r OllamaRef) String() string {
	s := r.Name + ":" + r.Tag
	if r.Namespace != DefaultOllamaNamespace || r.Host != DefaultOllamaHost {
		s = r.Namespace + "/" + s
	}
	if r.Host != DefaultOllamaHost {
		s = r.Host + "/" + s
	}
	return s
}

var (
	ollamaPart = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}$`)
	ollamaHost = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,253}(:[0-9]{1,5})?$`)
)

// ParseOllamaRef parses a name the way ollama does, filling the
// registry, namespace and tag ollama would assume.
func ParseOllamaRef(s string) (OllamaRef, error) {
	r := OllamaRef{Host: DefaultOllamaHost, Namespace: DefaultOllamaNamespace, Tag: DefaultOllamaTag}
	rest := s
	// The tag follows the last colon of the last path element; a colon
	// before a slash is a registry port.
	if i := strings.LastIndexByte(rest, ':'); i > strings.LastIndexByte(rest, '/') {
		r.Tag = rest[i+1:]
		rest = rest[:i]
		if !ollamaPart.MatchString(r.Tag) {
			return r, fmt.Errorf("%q: bad tag %q", s, r.Tag)
		}
	}
	parts := strings.Split(rest, "/")
	switch len(parts) {
	case 1:
		r.Name = parts[0]
	case 2:
		r.Namespace, r.Name = parts[0], parts[1]
	case 3:
		r.Host, r.Namespace, r.Name = parts[0], parts[1], parts[2]
		if !ollamaHost.MatchString(r.Host) || strings.Contains(r.Host, "..") {
			return r, fmt.Errorf("%q: bad registry %q", s, r.Host)
		}
	default:
		return r, fmt.Errorf("%q is not an ollama name (want [host/][namespace/]name[:tag])", s)
	}
	for _, p := range []string{r.Namespace, r.Name} {
		if !ollamaPart.MatchString(p) || strings.Contains(p, "..") {
			return r, fmt.Errorf("%q is not an ollama name: bad part %q", s, p)
		}
	}
	return r, nil
}

// manifestPath is where ollama keeps the manifest of r.
func (r OllamaRef) manifestPath(root string) string {
	return filepath.Join(root, "manifests", r.Host, r.Namespace, r.Name, r.Tag)
}

// Manifest is the part of an ollama (OCI image) manifest gale reads.
type Manifest struct {
	SchemaVersion int     `json:"schemaVersion"`
	MediaType     string  `json:"mediaType"`
	Config        Layer   `json:"config"`
	Layers        []Layer `json:"layers"`
}

// Layer is one blob of a manifest.
type Layer struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

// maxManifest bounds what is read of a manifest, params, system or
// template layer: they are small JSON or text, and a huge one is not a
// manifest.
const maxManifest = 4 << 20

var digestRE = regexp.MustCompile(`^sha256[:-][0-9a-f]{64}$`)

// ParseManifest decodes and checks a manifest: JSON, and every layer
// with a sha256 digest and a non-negative size.
func ParseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a manifest: %v", err)
	}
	for i, l := range m.Layers {
		if !digestRE.MatchString(l.Digest) {
			return nil, fmt.Errorf("layer %d: bad digest %q", i, truncate(l.Digest, 80))
		}
		if l.Size < 0 {
			return nil, fmt.Errorf("layer %d: negative size %d", i, l.Size)
		}
	}
	return &m, nil
}

// blobPath is where ollama stores the blob with this digest:
// blobs/sha256-<hex>.
func blobPath(root, digest string) string {
	p := filepath.Join(root, "blobs", strings.Replace(digest, ":", "-", 1))
	if _, err := os.Lstat(p); err != nil && filepath.Separator == '/' {
		// ollama before 0.1.33 or so kept the colon: blobs/sha256:<hex>.
		if old := filepath.Join(root, "blobs", strings.Replace(digest, "-", ":", 1)); old != p {
			if _, err := os.Lstat(old); err == nil {
				return old
			}
		}
	}
	return p
}

// Params are the generation defaults of an ollama model's params layer
// that gale honours, in ollama's names. A nil field was not set.
type Params struct {
	Temperature   *float64 `json:"temperature,omitempty"`
	TopK          *int     `json:"top_k,omitempty"`
	TopP          *float64 `json:"top_p,omitempty"`
	MinP          *float64 `json:"min_p,omitempty"`
	RepeatPenalty *float64 `json:"repeat_penalty,omitempty"`
	RepeatLastN   *int     `json:"repeat_last_n,omitempty"`
	NumPredict    *int     `json:"num_predict,omitempty"`
	NumCtx        *int     `json:"num_ctx,omitempty"`
	NumThread     *int     `json:"num_thread,omitempty"`
	Seed          *int64   `json:"seed,omitempty"`
	Stop          []string `json:"stop,omitempty"`
	// Ignored lists the keys present that gale has no use for
	// (mirostat, num_gpu, ...), sorted.
	Ignored []string `json:"-"`
}

// ParseParams decodes a params layer. Ollama writes numbers as JSON
// numbers and stop as an array; a number given as a string or a single
// stop string is accepted too. A value of the wrong kind is an error
// naming the key.
func ParseParams(b []byte) (*Params, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("params: not a JSON object: %v", err)
	}
	p := &Params{}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		var err error
		switch k {
		case "temperature":
			p.Temperature, err = jsonFloat(v)
		case "top_p":
			p.TopP, err = jsonFloat(v)
		case "min_p":
			p.MinP, err = jsonFloat(v)
		case "repeat_penalty":
			p.RepeatPenalty, err = jsonFloat(v)
		case "top_k":
			p.TopK, err = jsonInt(v)
		case "repeat_last_n":
			p.RepeatLastN, err = jsonInt(v)
		case "num_predict":
			p.NumPredict, err = jsonInt(v)
		case "num_ctx":
			p.NumCtx, err = jsonInt(v)
		case "num_thread":
			p.NumThread, err = jsonInt(v)
		case "seed":
			var s *int
			if s, err = jsonInt(v); err == nil {
				x := int64(*s)
				p.Seed = &x
			}
		case "stop":
			p.Stop, err = jsonStrings(v)
		default:
			p.Ignored = append(p.Ignored, k)
		}
		if err != nil {
			return nil, fmt.Errorf("params: %s: %v", k, err)
		}
	}
	return p, nil
}

func jsonFloat(v json.RawMessage) (*float64, error) {
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, fmt.Errorf("%s is not a number", truncate(string(v), 40))
		}
		if f, err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
			return nil, fmt.Errorf("%q is not a number", truncate(s, 40))
		}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%v is not a finite number", f)
	}
	return &f, nil
}

func jsonInt(v json.RawMessage) (*int, error) {
	f, err := jsonFloat(v)
	if err != nil {
		return nil, err
	}
	if *f != math.Trunc(*f) || math.Abs(*f) > 1<<31 {
		return nil, fmt.Errorf("%v is not an integer", *f)
	}
	i := int(*f)
	return &i, nil
}

func jsonStrings(v json.RawMessage) ([]string, error) {
	var ss []string
	if err := json.Unmarshal(v, &ss); err == nil {
		return ss, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("%s is not a string or a list of strings", truncate(string(v), 40))
	}
	return []string{s}, nil
}

// findManifest opens r's manifest: the exact path first, then a
// case-insensitive match per directory level, since ollama treats names
// case-insensitively.
func findManifest(root string, r OllamaRef) (string, []byte, error) {
	p := r.manifestPath(root)
	if b, err := readSmall(p); err == nil {
		return p, b, nil
	} else if !os.IsNotExist(err) {
		return p, nil, err
	}
	dir := filepath.Join(root, "manifests")
	for _, part := range []string{r.Host, r.Namespace, r.Name, r.Tag} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return p, nil, os.ErrNotExist
		}
		found := ""
		for _, e := range ents {
			if strings.EqualFold(e.Name(), part) {
				found = e.Name()
				break
			}
		}
		if found == "" {
			return p, nil, os.ErrNotExist
		}
		dir = filepath.Join(dir, found)
	}
	b, err := readSmall(dir)
	return dir, b, err
}

// readSmall reads a file of at most maxManifest bytes.
func readSmall(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s is a directory", p)
	}
	if fi.Size() > maxManifest {
		return nil, fmt.Errorf("%s is %d bytes, too large for a manifest or a text layer", p, fi.Size())
	}
	b := make([]byte, fi.Size())
	n, err := f.ReadAt(b, 0)
	if n == len(b) {
		err = nil
	}
	return b[:n], err
}

// resolveOllama finds r under root. It returns errNotHere (wrapped) when
// there is no manifest for it; every other problem is an error about the
// model.
func resolveOllama(root string, r OllamaRef) (*Resolved, error) {
	mp, b, err := findManifest(root, r)
	if os.IsNotExist(err) {
		// Say which tags exist when the name does but the tag does not.
		tagsDir := filepath.Dir(r.manifestPath(root))
		if ents, err := os.ReadDir(tagsDir); err == nil && len(ents) > 0 {
			var tags []string
			for _, e := range ents {
				tags = append(tags, e.Name())
			}
			return nil, fmt.Errorf("ollama model %s has no tag %s in %s (have: %s)", r.Name, r.Tag, tagsDir, strings.Join(tags, ", "))
		}
		return nil, fmt.Errorf("%s: %w", mp, errNotHere)
	}
	if err != nil {
		return nil, fmt.Errorf("ollama manifest %s: %v", mp, err)
	}
	m, err := ParseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("ollama manifest %s: %v", mp, err)
	}
	res := &Resolved{Source: SourceOllama, Name: r.String(), Where: "ollama store " + root + ", manifest " + mp}
	var model *Layer
	for i := range m.Layers {
		l := &m.Layers[i]
		switch l.MediaType {
		case MediaModel:
			if model != nil {
				return nil, fmt.Errorf("ollama manifest %s: two model layers", mp)
			}
			model = l
		case MediaParams:
			b, err := readLayer(root, l)
			if err != nil {
				return nil, fmt.Errorf("%s: params layer: %v", r, err)
			}
			if res.Params, err = ParseParams(b); err != nil {
				return nil, fmt.Errorf("%s: %s: %v", r, blobPath(root, l.Digest), err)
			}
		case MediaSystem:
			b, err := readLayer(root, l)
			if err != nil {
				return nil, fmt.Errorf("%s: system layer: %v", r, err)
			}
			res.System, res.HasSystem = string(b), true
		case MediaTemplate:
			b, err := readLayer(root, l)
			if err != nil {
				return nil, fmt.Errorf("%s: template layer: %v", r, err)
			}
			res.Template = string(b)
		case MediaAdapter, MediaProject:
			res.Warnings = append(res.Warnings, fmt.Sprintf("%s: ignoring its %s layer (not supported)", r, strings.TrimPrefix(l.MediaType, "application/vnd.ollama.image.")))
		}
	}
	if model == nil {
		var types []string
		for _, l := range m.Layers {
			types = append(types, l.MediaType)
		}
		return nil, fmt.Errorf("ollama manifest %s has no model layer (%s); its layers: %s", mp, MediaModel, listOrNone(types))
	}
	p := blobPath(root, model.Digest)
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("%s: model blob %s is missing (run ollama pull %s)", r, p, r)
	}
	if fi.Size() != model.Size {
		return nil, fmt.Errorf("%s: model blob %s is %d bytes but the manifest says %d (incomplete download?)", r, p, fi.Size(), model.Size)
	}
	res.Path = p
	return res, nil
}

// readLayer reads a small text layer's blob.
func readLayer(root string, l *Layer) ([]byte, error) {
	p := blobPath(root, l.Digest)
	b, err := readSmall(p)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("blob %s is missing", p)
		}
		return nil, err
	}
	return b, nil
}
