package hub

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Entry is one model of a store, as gale list shows it.
type Entry struct {
	// Name is what -m accepts for it.
	Name string `json:"name"`
	// Store is SourceHF or SourceOllama.
	Store string `json:"store"`
	// Size is the bytes of the model's files (for ollama, of its layers).
	Size int64 `json:"size"`
	// Path is what Resolve would return.
	Path string `json:"path"`
	// Problem is set when the entry cannot be loaded as it is (a blob
	// missing, an interrupted download).
	Problem string `json:"problem,omitempty"`
}

// List lists the models of both stores: every Hugging Face snapshot that
// a ref names (and snapshots no ref names, by commit), one entry per
// GGUF file in a GGUF repository, and every ollama manifest. A store
// that does not exist lists nothing.
func List(d Dirs) ([]Entry, error) {
	d = d.orDefault()
	var out []Entry
	hf, err := listHF(d.HFCache)
	if err != nil {
		return nil, err
	}
	out = append(out, hf...)
	ol, err := listOllama(d.Ollama)
	if err != nil {
		return nil, err
	}
	return append(out, ol...), nil
}

func listHF(cache string) ([]Entry, error) {
	ents, err := os.ReadDir(cache)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("Hugging Face cache %s: %v", cache, err)
	}
	var out []Entry
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), "models--")
		if !ok || !e.IsDir() {
			continue
		}
		org, name, ok := strings.Cut(rest, "--")
		if !ok {
			continue
		}
		repoDir := filepath.Join(cache, e.Name())
		// Which snapshots the refs name, and by which ref.
		byCommit := map[string][]string{}
		for _, r := range listRefs(filepath.Join(repoDir, "refs")) {
			b, err := readSmall(filepath.Join(repoDir, "refs", filepath.FromSlash(r)))
			if err == nil {
				c := strings.TrimSpace(string(b))
				byCommit[c] = append(byCommit[c], r)
			}
		}
		snaps, _ := os.ReadDir(filepath.Join(repoDir, "snapshots"))
		for _, s := range snaps {
			if !s.IsDir() {
				continue
			}
			commit := s.Name()
			refs := byCommit[commit]
			rev := ""
			switch {
			case len(refs) == 0:
				rev = short(commit)
			case !contains(refs, "main"):
				rev = refs[0]
			}
			ref := HFRef{Org: org, Name: name, Revision: rev}
			out = append(out, snapshotEntries(filepath.Join(repoDir, "snapshots", commit), ref)...)
		}
	}
	return out, nil
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// snapshotEntries lists a snapshot: one entry for a checkpoint directory,
// one per GGUF model otherwise.
func snapshotEntries(snap string, ref HFRef) []Entry {
	var files []string
	var ggufs []string
	_ = filepath.WalkDir(snap, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(snap, p)
			rel = filepath.ToSlash(rel)
			files = append(files, rel)
			if strings.HasSuffix(strings.ToLower(rel), ".gguf") {
				ggufs = append(ggufs, rel)
			}
		}
		return nil
	})
	sizeOf := func(names []string) (int64, string) {
		var n int64
		problem := ""
		for _, f := range names {
			fi, err := os.Stat(filepath.Join(snap, filepath.FromSlash(f)))
			if err != nil {
				if problem == "" {
					problem = f + ": blob missing (interrupted download?)"
				}
				continue
			}
			n += fi.Size()
		}
		return n, problem
	}
	_, errCfg := os.Lstat(filepath.Join(snap, "config.json"))
	_, errParams := os.Lstat(filepath.Join(snap, "params.json"))
	if errCfg == nil || errParams == nil || len(ggufs) == 0 {
		size, problem := sizeOf(files)
		if len(files) == 0 {
			problem = "empty snapshot"
		}
		return []Entry{{Name: ref.String(), Store: SourceHF, Size: size, Path: snap, Problem: problem}}
	}
	// Group split GGUF parts under their first part.
	groups := map[string][]string{}
	var firsts []string
	for _, g := range ggufs {
		key := g
		if m := shardRE.FindStringIndex(g); m != nil {
			key = g[:m[0]]
		}
		if _, ok := groups[key]; !ok {
			firsts = append(firsts, key)
		}
		groups[key] = append(groups[key], g)
	}
	sort.Strings(firsts)
	var out []Entry
	for _, k := range firsts {
		parts := groups[k]
		sort.Strings(parts)
		r := ref
		r.File = parts[0]
		size, problem := sizeOf(parts)
		out = append(out, Entry{Name: r.String(), Store: SourceHF, Size: size, Path: filepath.Join(snap, filepath.FromSlash(parts[0])), Problem: problem})
	}
	return out
}

func listOllama(root string) ([]Entry, error) {
	dir := filepath.Join(root, "manifests")
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return nil, nil
	}
	var out []Entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) != 4 {
			return nil
		}
		ref := OllamaRef{Host: parts[0], Namespace: parts[1], Name: parts[2], Tag: parts[3]}
		e := Entry{Name: ref.String(), Store: SourceOllama}
		b, err := readSmall(p)
		if err != nil {
			e.Problem = err.Error()
			out = append(out, e)
			return nil
		}
		m, err := ParseManifest(b)
		if err != nil {
			e.Problem = "bad manifest: " + err.Error()
			out = append(out, e)
			return nil
		}
		for _, l := range m.Layers {
			e.Size += l.Size
			if l.MediaType == MediaModel {
				e.Path = blobPath(root, l.Digest)
				if fi, err := os.Stat(e.Path); err != nil || fi.Size() != l.Size {
					e.Problem = "model blob missing or incomplete"
				}
			}
		}
		if e.Path == "" {
			e.Problem = "no model layer"
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ollama store %s: %v", root, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// HumanSize prints a byte count with decimal units, as ollama list and
// huggingface-cli scan-cache do (4.1 GB).
func HumanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, u := float64(n), 0
	units := []string{"KB", "MB", "GB", "TB", "PB"}
	for v /= unit; v >= unit && u < len(units)-1; u++ {
		v /= unit
	}
	return fmt.Sprintf("%.1f %s", v, units[u])
}

// MarshalEntries renders entries as a JSON array (for list --json).
func MarshalEntries(e []Entry) ([]byte, error) {
	if e == nil {
		e = []Entry{}
	}
	return json.Marshal(e)
}
