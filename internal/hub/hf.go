package hub

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// HFRef is a Hugging Face model name as -m and pull accept it:
// org/name, optionally @revision (branch, tag or commit), optionally
// :FILE.gguf (a file of the repository) or :QUANT (the GGUF file whose
// name carries that quantization label, e.g. Q4_K_M).
type HFRef struct {
	Org, Name string
	Revision  string // "" = main
	File      string // a path inside the repository, ending in .gguf
	Quant     string // a quantization label such as Q4_K_M
}

// Repo is "org/name".
func (r HFRef) Repo() string { return r.Org + "/" + r.Name }

// Rev is the revision to use: the one given, else main.
func (r HFRef) Rev() string {
	if r.Revision == "" {
		return "main"
	}
	return r.Revision
}

// String spells the reference back the way it is parsed.
func (r HFRef) String() string {
	s := r.Repo()
	if r.Revision != "" {
		s += "@" + r.Revision
	}
	switch {
	case r.File != "":
		s += ":" + r.File
	case r.Quant != "":
		s += ":" + r.Quant
	}
	return s
}

// folder is the cache folder of the repository (huggingface_hub's
// repo_folder_name for a model).
func (r HFRef) folder() string { return "models--" + r.Org + "--" + r.Name }

// hfPart is what the hub accepts in an org or repository name. "--" and
// ".." are refused because the cache folder name joins the parts with
// "--" and a ".." part would escape the cache.
var hfPart = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$`)

// ParseHFRef parses org/name[@rev][:FILE.gguf|:QUANT]. It fails on
// anything else, including names with more or fewer than one slash.
func ParseHFRef(s string) (HFRef, error) {
	var r HFRef
	repo, sel, hasSel := strings.Cut(s, ":")
	repo, rev, hasRev := strings.Cut(repo, "@")
	org, name, ok := strings.Cut(repo, "/")
	if !ok || strings.Contains(name, "/") {
		return r, fmt.Errorf("%q is not a Hugging Face name (want org/name)", s)
	}
	for _, p := range []string{org, name} {
		if !hfPart.MatchString(p) || strings.Contains(p, "--") || strings.Contains(p, "..") || strings.HasSuffix(p, ".") {
			return r, fmt.Errorf("%q is not a Hugging Face name: bad part %q", s, p)
		}
	}
	r.Org, r.Name = org, name
	if hasRev {
		if !safeRel(rev) {
			return r, fmt.Errorf("%q: bad revision %q", s, rev)
		}
		r.Revision = rev
	}
	if hasSel {
		switch {
		case sel == "":
			return r, fmt.Errorf("%q: empty file or quantization after ':'", s)
		case strings.HasSuffix(strings.ToLower(sel), ".gguf"):
			if !safeRel(sel) {
				return r, fmt.Errorf("%q: bad file name %q", s, sel)
			}
			r.File = sel
		case quantLabel.MatchString(sel):
			r.Quant = sel
		default:
			return r, fmt.Errorf("%q: %q is neither a .gguf file name nor a quantization label like Q4_K_M", s, sel)
		}
	}
	return r, nil
}

// quantLabel is the shape of a quantization label as GGUF file names
// carry it (Q4_K_M, Q8_0, IQ4_XS, F16, BF16, ...).
var quantLabel = regexp.MustCompile(`^[A-Za-z0-9]+(_[A-Za-z0-9]+)*$`)

// safeRel reports whether p is a relative slash-separated path that stays
// inside the directory it is joined to: no empty, "." or ".." part, no
// backslash, not absolute.
func safeRel(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || strings.ContainsRune(p, 0) {
		return false
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}

// MatchQuant reports whether a GGUF file name carries the quantization
// label q, case-insensitively and as a whole label: Q4_K matches
// "m.Q4_K.gguf" but not "m.Q4_K_M.gguf"; Q4_K_M does not match
// "m.IQ4_K_M.gguf".
func MatchQuant(file, q string) bool {
	base := strings.ToLower(path.Base(filepath.ToSlash(file)))
	q = strings.ToLower(q)
	if q == "" {
		return false
	}
	for i := 0; ; {
		j := strings.Index(base[i:], q)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(q)
		before := j == 0 || !isAlnum(base[j-1])
		after := end == len(base) || !(isAlnum(base[end]) || base[end] == '_')
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// shardRE matches llama.cpp's split GGUF names: model-00001-of-00003.gguf.
var shardRE = regexp.MustCompile(`(?i)-(\d{5})-of-(\d{5})\.gguf$`)

// pickGGUF chooses among GGUF files (slash paths) the one to load: the
// only one, or the first shard when all are shards of one split model.
// ok is false when the choice is ambiguous.
func pickGGUF(files []string) (string, bool) {
	if len(files) == 1 {
		return files[0], true
	}
	if len(files) == 0 {
		return "", false
	}
	sort.Strings(files)
	stem := ""
	for _, f := range files {
		m := shardRE.FindStringIndex(f)
		if m == nil {
			return "", false
		}
		if s := f[:m[0]]; stem == "" {
			stem = s
		} else if s != stem {
			return "", false
		}
	}
	return files[0], true
}

// isCommit reports whether s looks like a full git commit hash.
func isCommit(s string) bool {
	if len(s) != 40 {
		return false
	}
	return isHex(s)
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// errNotHere means the store does not have the repository or model at
// all (as opposed to having it in a broken state); Resolve then looks
// elsewhere.
var errNotHere = errors.New("not in this store")

// resolveHF finds ref in the cache rooted at cache. It returns errNotHere
// (wrapped) when the repository has no folder there.
func resolveHF(cache string, ref HFRef) (*Resolved, error) {
	repoDir := filepath.Join(cache, ref.folder())
	if fi, err := os.Stat(repoDir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%s: %w", repoDir, errNotHere)
	}
	commit, err := hfCommit(repoDir, ref)
	if err != nil {
		return nil, err
	}
	snap := filepath.Join(repoDir, "snapshots", commit)
	if fi, err := os.Stat(snap); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%s@%s: the cache names commit %s but %s is missing (run gale pull %s)", ref.Repo(), ref.Rev(), commit, snap, ref.Repo())
	}
	res := &Resolved{Source: SourceHF, Name: ref.String(), Commit: commit}
	res.Where = fmt.Sprintf("Hugging Face cache %s, snapshot %s", repoDir, short(commit))
	if ref.Rev() != commit {
		res.Where += " (" + ref.Rev() + ")"
	}
	switch {
	case ref.File != "":
		p := filepath.Join(snap, filepath.FromSlash(ref.File))
		if err := checkLink(p, ref); err != nil {
			return nil, err
		}
		res.Path = p
		return res, nil
	case ref.Quant != "":
		ggufs, err := snapshotGGUFs(snap)
		if err != nil {
			return nil, err
		}
		var match []string
		for _, g := range ggufs {
			if MatchQuant(g, ref.Quant) {
				match = append(match, g)
			}
		}
		pick, ok := pickGGUF(match)
		if !ok {
			if len(match) == 0 {
				return nil, fmt.Errorf("%s: no GGUF file for quantization %s in %s (have: %s)", ref.Repo(), ref.Quant, snap, listOrNone(ggufs))
			}
			return nil, fmt.Errorf("%s: quantization %s matches several files (%s); name one with %s:FILE.gguf", ref.Repo(), ref.Quant, strings.Join(match, ", "), ref.Repo())
		}
		p := filepath.Join(snap, filepath.FromSlash(pick))
		if err := checkLink(p, ref); err != nil {
			return nil, err
		}
		res.Path = p
		return res, nil
	}
	// A whole snapshot: a checkpoint directory, or a GGUF repository
	// holding a single model.
	for _, cfg := range []string{"config.json", "params.json"} {
		if _, err := os.Lstat(filepath.Join(snap, cfg)); err == nil {
			if err := checkDirLinks(snap, ref); err != nil {
				return nil, err
			}
			res.Path = snap
			return res, nil
		}
	}
	ggufs, err := snapshotGGUFs(snap)
	if err != nil {
		return nil, err
	}
	pick, ok := pickGGUF(ggufs)
	if !ok {
		if len(ggufs) == 0 {
			return nil, fmt.Errorf("%s: snapshot %s has neither config.json, params.json nor a .gguf file", ref.Repo(), snap)
		}
		return nil, fmt.Errorf("%s has %d GGUF files in the cache (%s); pick one with %s:QUANT or %s:FILE.gguf", ref.Repo(), len(ggufs), strings.Join(ggufs, ", "), ref.Repo(), ref.Repo())
	}
	p := filepath.Join(snap, filepath.FromSlash(pick))
	if err := checkLink(p, ref); err != nil {
		return nil, err
	}
	res.Path = p
	return res, nil
}

// hfCommit turns the reference's revision into a snapshot name: a ref
// file's content (refs/main holds the commit hash), or the revision
// itself when it names a snapshot, or a unique snapshot starting with a
// short hash.
func hfCommit(repoDir string, ref HFRef) (string, error) {
	rev := ref.Rev()
	b, err := os.ReadFile(filepath.Join(repoDir, "refs", filepath.FromSlash(rev)))
	if err == nil {
		c := strings.TrimSpace(string(b))
		if !safeRel(c) || strings.Contains(c, "/") {
			return "", fmt.Errorf("%s: refs/%s holds %q, not a commit hash", filepath.Join(repoDir), rev, truncate(c, 60))
		}
		return c, nil
	}
	snaps, _ := os.ReadDir(filepath.Join(repoDir, "snapshots"))
	var names, prefixed []string
	for _, s := range snaps {
		if !s.IsDir() {
			continue
		}
		names = append(names, s.Name())
		if s.Name() == rev {
			return rev, nil
		}
		if len(rev) >= 7 && isHex(rev) && strings.HasPrefix(s.Name(), rev) {
			prefixed = append(prefixed, s.Name())
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0], nil
	}
	refs := listRefs(filepath.Join(repoDir, "refs"))
	return "", fmt.Errorf("%s: revision %s is not in the cache %s (refs: %s; snapshots: %s)", ref.Repo(), rev, repoDir, listOrNone(refs), listOrNone(shortAll(names)))
}

// listRefs lists the ref names under dir (slash-separated, e.g. main,
// refs/pr/1).
func listRefs(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if rel, err := filepath.Rel(dir, p); err == nil {
				out = append(out, filepath.ToSlash(rel))
			}
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// snapshotGGUFs lists the .gguf files of a snapshot (slash paths
// relative to it), sorted.
func snapshotGGUFs(snap string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(snap, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(strings.ToLower(d.Name()), ".gguf") {
			rel, err := filepath.Rel(snap, p)
			if err != nil {
				return err
			}
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read snapshot: %w", err)
	}
	sort.Strings(out)
	return out, nil
}

// checkLink reports a missing file or a symlink whose blob is gone (the
// usual state after an interrupted or pruned download) as one line.
func checkLink(p string, ref HFRef) error {
	li, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("%s: %s is not in the cache (%s)", ref.Repo(), filepath.Base(p), p)
	}
	if li.Mode()&os.ModeSymlink == 0 {
		return nil
	}
	if _, err := os.Stat(p); err != nil {
		target, _ := os.Readlink(p)
		return fmt.Errorf("%s: %s is a broken symlink to %s (blob missing; run gale pull %s)", ref.Repo(), p, target, ref.String())
	}
	return nil
}

// checkDirLinks runs checkLink on every entry of a snapshot directory.
func checkDirLinks(dir string, ref HFRef) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%s: %v", dir, err)
	}
	for _, e := range ents {
		if e.Type()&os.ModeSymlink != 0 {
			if err := checkLink(filepath.Join(dir, e.Name()), ref); err != nil {
				return err
			}
		}
	}
	return nil
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

func shortAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = short(x)
	}
	return out
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
