package hub

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultEndpoint is the public hub, used when $HF_ENDPOINT is unset.
const DefaultEndpoint = "https://huggingface.co"

// Client downloads repositories from a Hugging Face-compatible endpoint
// into the hub cache layout.
type Client struct {
	// Endpoint is the hub's base URL (default $HF_ENDPOINT, else the
	// public hub).
	Endpoint string
	// Token is sent as a bearer token to the endpoint (never to a CDN
	// host it redirects to), for gated and private repositories.
	Token string
	// Cache is the hub cache directory (default: DefaultDirs().HFCache).
	Cache string
	// HTTP is the client to use; nil means one with connect and header
	// timeouts but no overall limit (files are gigabytes).
	HTTP *http.Client
	// Retries is how many times a download cut mid-file is resumed with
	// a Range request before giving up (negative: none; 0: the default 4).
	Retries int
	// RetryWait is the pause before the first resume, doubled after each
	// one (0: one second).
	RetryWait time.Duration
	// OnFile, when set, is called as each file starts downloading; the
	// update it returns is called with bytes done and total, and finish
	// when the file is done. The CLI draws a progress bar with it.
	OnFile func(name string) (update func(done, total int64), finish func())
	// IdleTimeout drops a download that receives nothing for this long,
	// to resume it (0: one minute).
	IdleTimeout time.Duration
	// UserAgent is sent with every request.
	UserAgent string

	// wrapWriter lets tests put a failing writer (a full disk) between
	// the download and the partial file.
	wrapWriter func(io.Writer) io.Writer
}

// NewClient returns a client configured from the environment:
// $HF_ENDPOINT, $HF_TOKEN (or the older $HUGGING_FACE_HUB_TOKEN) and the
// cache of DefaultDirs.
func NewClient() *Client {
	c := &Client{Endpoint: os.Getenv("HF_ENDPOINT"), Token: os.Getenv("HF_TOKEN"), Cache: DefaultDirs().HFCache}
	if c.Token == "" {
		c.Token = os.Getenv("HUGGING_FACE_HUB_TOKEN")
	}
	return c
}

func (c *Client) endpoint() string {
	e := c.Endpoint
	if e == "" {
		e = DefaultEndpoint
	}
	return strings.TrimRight(e, "/")
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   30 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		MaxIdleConnsPerHost:   4,
	}}
}

// RepoFile is one file of a repository listing.
type RepoFile struct {
	Path string
	Size int64 // -1 when the listing did not say
}

// repoInfo is the part of GET /api/models/{repo}/revision/{rev} used.
type repoInfo struct {
	SHA      string `json:"sha"`
	Siblings []struct {
		RFilename string `json:"rfilename"`
		Size      *int64 `json:"size"`
	} `json:"siblings"`
}

// treeEntry is one element of GET /api/models/{repo}/tree/{rev}.
type treeEntry struct {
	Type string `json:"type"`
	Path string `json:"path"`
	Size int64  `json:"size"`
	LFS  *struct {
		Size int64 `json:"size"`
	} `json:"lfs"`
}

// HTTPError is a failed request, with the hub's own error code when it
// sent one (X-Error-Code: RepoNotFound, GatedRepo, EntryNotFound, ...).
type HTTPError struct {
	What   string // what was asked for
	Status int
	Code   string // X-Error-Code
	Msg    string // X-Error-Message or a short body
}

// Error says what failed, the status, and what the status usually means
// on the hub.
func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.What, e.Status)
	switch {
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.Code == "GatedRepo":
		s += " (access denied: the repository is gated or private, or does not exist; set HF_TOKEN or --token with a token that has access)"
	case e.Status == http.StatusNotFound && e.Code == "RevisionNotFound":
		s += " (revision not found)"
	case e.Status == http.StatusNotFound && e.Code == "EntryNotFound":
		s += " (file not found in the repository)"
	case e.Status == http.StatusNotFound:
		s += " (not found)"
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

func httpError(what string, resp *http.Response) error {
	e := &HTTPError{What: what, Status: resp.StatusCode, Code: resp.Header.Get("X-Error-Code"), Msg: resp.Header.Get("X-Error-Message")}
	if e.Msg == "" && resp.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		var j struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &j) == nil && j.Error != "" {
			e.Msg = j.Error
		}
	}
	e.Msg = oneLine(truncate(e.Msg, 200))
	return e
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func (c *Client) newRequest(ctx context.Context, method, u string, auth bool) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, err
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	if auth && c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return req, nil
}

// getJSON fetches an API route into v, following redirects (a renamed
// repository). It returns the response headers for pagination.
func (c *Client) getJSON(ctx context.Context, u, what string, v any) (http.Header, error) {
	req, err := c.newRequest(ctx, http.MethodGet, u, true)
	if err != nil {
		return nil, err
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, httpError(what, resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(v); err != nil {
		return nil, fmt.Errorf("%s: bad JSON from the hub: %v", what, err)
	}
	return resp.Header, nil
}

// escapePath escapes each element of a slash path for a URL.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// Commit asks the hub which commit a revision names
// (GET /api/models/{repo}/revision/{rev}), with the file names of that
// commit.
func (c *Client) Commit(ctx context.Context, ref HFRef) (string, []RepoFile, error) {
	u := fmt.Sprintf("%s/api/models/%s/revision/%s", c.endpoint(), escapePath(ref.Repo()), url.PathEscape(ref.Rev()))
	var info repoInfo
	if _, err := c.getJSON(ctx, u, ref.Repo()+"@"+ref.Rev(), &info); err != nil {
		return "", nil, err
	}
	if !isHex(info.SHA) || len(info.SHA) < 7 || len(info.SHA) > 64 {
		return "", nil, fmt.Errorf("%s@%s: the hub gave no commit hash (sha %q)", ref.Repo(), ref.Rev(), truncate(info.SHA, 80))
	}
	var files []RepoFile
	for _, s := range info.Siblings {
		f := RepoFile{Path: s.RFilename, Size: -1}
		if s.Size != nil {
			f.Size = *s.Size
		}
		files = append(files, f)
	}
	return info.SHA, files, nil
}

// nextLink extracts the rel="next" URL of a Link header (the hub pages
// long tree listings this way).
var nextLink = regexp.MustCompile(`<([^>]+)>\s*;\s*rel="?next"?`)

// ListFiles lists a revision's files with their sizes
// (GET /api/models/{repo}/tree/{rev}?recursive=true, following pages).
func (c *Client) ListFiles(ctx context.Context, repo, rev string) ([]RepoFile, error) {
	u := fmt.Sprintf("%s/api/models/%s/tree/%s?recursive=true", c.endpoint(), escapePath(repo), url.PathEscape(rev))
	var out []RepoFile
	for page := 0; u != ""; page++ {
		if page > 1000 {
			return nil, fmt.Errorf("%s: file listing has more than 1000 pages", repo)
		}
		var entries []treeEntry
		h, err := c.getJSON(ctx, u, repo+" file listing", &entries)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if e.Type != "file" {
				continue
			}
			f := RepoFile{Path: e.Path, Size: e.Size}
			if e.LFS != nil {
				f.Size = e.LFS.Size
			}
			out = append(out, f)
		}
		u = ""
		if m := nextLink.FindStringSubmatch(h.Get("Link")); m != nil {
			next, err := url.Parse(m[1])
			if err != nil {
				return nil, fmt.Errorf("%s: bad next-page link %q", repo, m[1])
			}
			base, _ := url.Parse(c.endpoint())
			u = base.ResolveReference(next).String()
		}
	}
	return out, nil
}

// tokenizerFile reports the tokenizer and special-token files a
// checkpoint directory may carry.
func tokenizerFile(name string) bool {
	return strings.HasPrefix(name, "tokenizer") || name == "special_tokens_map.json" || name == "added_tokens.json"
}

// SelectFiles picks what to download for ref from a repository listing.
// A GGUF file (ref.File) or quantization (ref.Quant) selects that file,
// or all parts of a split one. Otherwise the repository must hold
// safetensors weights: config.json, generation_config.json, the
// tokenizer files, the *.safetensors shards and their index at the top
// level; *.bin, *.pth and consolidated.* (duplicates of the same
// weights) are left out, except that a repository with only Mistral's
// native consolidated.safetensors gets it with params.json.
func SelectFiles(files []RepoFile, ref HFRef) ([]RepoFile, error) {
	var ggufs []string
	byPath := map[string]RepoFile{}
	for _, f := range files {
		if !safeRel(f.Path) {
			return nil, fmt.Errorf("%s: the listing names an unsafe path %q", ref.Repo(), truncate(f.Path, 80))
		}
		byPath[f.Path] = f
		if strings.HasSuffix(strings.ToLower(f.Path), ".gguf") {
			ggufs = append(ggufs, f.Path)
		}
	}
	sort.Strings(ggufs)
	pick := func(names []string) []RepoFile {
		out := make([]RepoFile, len(names))
		for i, n := range names {
			out[i] = byPath[n]
		}
		return out
	}
	shardsOf := func(name string) []string {
		m := shardRE.FindStringIndex(name)
		if m == nil {
			return []string{name}
		}
		var out []string
		for _, g := range ggufs {
			if n := shardRE.FindStringIndex(g); n != nil && g[:n[0]] == name[:m[0]] {
				out = append(out, g)
			}
		}
		return out
	}
	switch {
	case ref.File != "":
		if _, ok := byPath[ref.File]; !ok {
			return nil, fmt.Errorf("%s@%s has no file %s (GGUF files: %s)", ref.Repo(), ref.Rev(), ref.File, listOrNone(ggufs))
		}
		return pick(shardsOf(ref.File)), nil
	case ref.Quant != "":
		var match []string
		for _, g := range ggufs {
			if MatchQuant(g, ref.Quant) {
				match = append(match, g)
			}
		}
		first, ok := pickGGUF(append([]string(nil), match...))
		if !ok {
			if len(match) == 0 {
				return nil, fmt.Errorf("%s@%s has no GGUF file for quantization %s (GGUF files: %s)", ref.Repo(), ref.Rev(), ref.Quant, listOrNone(ggufs))
			}
			return nil, fmt.Errorf("%s: quantization %s matches several files (%s); name one with %s:FILE.gguf", ref.Repo(), ref.Quant, strings.Join(match, ", "), ref.Repo())
		}
		return pick(shardsOf(first)), nil
	}
	var weights, native, extra []string
	for _, f := range files {
		p := f.Path
		if strings.Contains(p, "/") {
			continue
		}
		switch {
		case strings.HasPrefix(p, "consolidated") && (strings.HasSuffix(p, ".safetensors") || strings.HasSuffix(p, ".safetensors.index.json")):
			native = append(native, p)
		case strings.HasSuffix(p, ".safetensors") || strings.HasSuffix(p, ".safetensors.index.json"):
			weights = append(weights, p)
		case p == "config.json" || p == "generation_config.json" || tokenizerFile(p):
			extra = append(extra, p)
		}
	}
	if len(weights) == 0 && len(native) > 0 {
		weights = native
		if _, ok := byPath["params.json"]; ok {
			extra = append(extra, "params.json")
		}
	}
	if len(weights) == 0 {
		if len(ggufs) > 0 {
			return nil, fmt.Errorf("%s is a GGUF repository: name a file or a quantization, e.g. gale pull %s:QUANT (GGUF files: %s)", ref.Repo(), ref.Repo(), strings.Join(ggufs, ", "))
		}
		return nil, fmt.Errorf("%s@%s has no safetensors or GGUF weights gale can load", ref.Repo(), ref.Rev())
	}
	names := append(extra, weights...)
	sort.Strings(names)
	return pick(names), nil
}

// PullResult describes a finished pull.
type PullResult struct {
	Commit     string   // the snapshot
	Snapshot   string   // its directory in the cache
	Path       string   // what -m should load: the snapshot, or the GGUF file in it
	Files      []string // the files of the snapshot that were pulled
	Downloaded int64    // bytes fetched over the network this time
	Present    int      // files that were already in the cache
}

// Pull downloads what SelectFiles picks for ref into the cache, file by
// file, each verified and renamed into blobs/ before its snapshot
// symlink is made, and records the revision in refs/.
func (c *Client) Pull(ctx context.Context, ref HFRef) (*PullResult, error) {
	if c.Cache == "" {
		c.Cache = DefaultDirs().HFCache
	}
	commit, siblings, err := c.Commit(ctx, ref)
	if err != nil {
		return nil, err
	}
	files, err := c.ListFiles(ctx, ref.Repo(), commit)
	if err != nil {
		var he *HTTPError
		if !errors.As(err, &he) || he.Status != http.StatusNotFound || len(siblings) == 0 {
			return nil, err
		}
		// An endpoint without the tree route (some mirrors): the
		// revision's sibling list names the files.
		files = siblings
	}
	sel, err := SelectFiles(files, ref)
	if err != nil {
		return nil, err
	}
	repoDir := filepath.Join(c.Cache, ref.folder())
	res := &PullResult{Commit: commit, Snapshot: filepath.Join(repoDir, "snapshots", commit)}
	for _, f := range sel {
		n, present, err := c.download(ctx, ref, commit, repoDir, f)
		if err != nil {
			return nil, err
		}
		res.Downloaded += n
		if present {
			res.Present++
		}
		res.Files = append(res.Files, f.Path)
	}
	if ref.Rev() != commit {
		refPath := filepath.Join(repoDir, "refs", filepath.FromSlash(ref.Rev()))
		if err := writeAtomic(refPath, []byte(commit)); err != nil {
			return nil, fmt.Errorf("record %s: %w", refPath, err)
		}
	}
	res.Path = res.Snapshot
	if ref.File != "" || ref.Quant != "" {
		res.Path = filepath.Join(res.Snapshot, filepath.FromSlash(res.Files[0]))
	}
	return res, nil
}

// writeAtomic writes a small file through a temporary name and a rename.
func writeAtomic(p string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp := p + ".tmp" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, p)
}

// fileMeta is what the HEAD of resolve/{rev}/{file} says.
type fileMeta struct {
	commit   string
	etag     string // the blob name: sha256 for LFS files, git blob sha1 otherwise
	size     int64  // -1 if unknown
	location string // where to GET the bytes
}

// head asks for a file's metadata without following a redirect to
// another host (the CDN): the hub's headers are on the redirect itself.
// Relative redirects (a renamed repository) are followed.
func (c *Client) head(ctx context.Context, u, what string) (*fileMeta, error) {
	hc := *c.httpClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for hops := 0; ; hops++ {
		req, err := c.newRequest(ctx, http.MethodHead, u, true)
		if err != nil {
			return nil, err
		}
		// Ask for the bytes as they are stored, so Content-Length is the
		// file's size.
		req.Header.Set("Accept-Encoding", "identity")
		resp, err := hc.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
			lu, err := url.Parse(loc)
			if err != nil {
				return nil, fmt.Errorf("%s: bad redirect %q", what, truncate(loc, 100))
			}
			if lu.Host == "" && hops < 8 {
				base, _ := url.Parse(u)
				u = base.ResolveReference(lu).String()
				continue
			}
			base, _ := url.Parse(u)
			loc = base.ResolveReference(lu).String()
		} else if resp.StatusCode != http.StatusOK {
			return nil, httpError(what, resp)
		} else {
			loc = u
		}
		m := &fileMeta{commit: resp.Header.Get("X-Repo-Commit"), location: loc, size: -1}
		m.etag = normalizeETag(resp.Header.Get("X-Linked-Etag"))
		if m.etag == "" {
			m.etag = normalizeETag(resp.Header.Get("ETag"))
		}
		for _, h := range []string{"X-Linked-Size", "Content-Length"} {
			if v := resp.Header.Get(h); v != "" {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
					m.size = n
					break
				}
			}
		}
		if m.etag == "" || !safeRel(m.etag) || strings.Contains(m.etag, "/") || len(m.etag) > 128 {
			return nil, fmt.Errorf("%s: the hub sent no usable ETag (%q), so the file cannot be named or checked", what, truncate(m.etag, 80))
		}
		return m, nil
	}
}

// normalizeETag drops a weak-validator prefix and the quotes.
func normalizeETag(s string) string {
	s = strings.TrimPrefix(strings.TrimSpace(s), "W/")
	return strings.Trim(s, `"`)
}

// download fetches one file into blobs/ and links it from the snapshot.
// It returns the bytes fetched and whether the blob was already there.
func (c *Client) download(ctx context.Context, ref HFRef, commit, repoDir string, f RepoFile) (int64, bool, error) {
	what := ref.Repo() + ": " + f.Path
	u := fmt.Sprintf("%s/%s/resolve/%s/%s", c.endpoint(), escapePath(ref.Repo()), url.PathEscape(commit), escapePath(f.Path))
	meta, err := c.head(ctx, u, what)
	if err != nil {
		return 0, false, err
	}
	if meta.commit != "" && meta.commit != commit {
		return 0, false, fmt.Errorf("%s: the hub served commit %s, asked for %s", what, short(meta.commit), short(commit))
	}
	blobs := filepath.Join(repoDir, "blobs")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return 0, false, fmt.Errorf("%s: %w", what, err)
	}
	blob := filepath.Join(blobs, meta.etag)
	var fetched int64
	present := false
	if fi, err := os.Stat(blob); err == nil && (meta.size < 0 || fi.Size() == meta.size) {
		present = true
	} else {
		if fetched, err = c.fetch(ctx, what, f.Path, meta, blob); err != nil {
			return fetched, false, err
		}
	}
	link := filepath.Join(repoDir, "snapshots", commit, filepath.FromSlash(f.Path))
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return fetched, present, fmt.Errorf("%s: %w", what, err)
	}
	rel, err := filepath.Rel(filepath.Dir(link), blob)
	if err != nil {
		rel = blob
	}
	if err := os.Remove(link); err != nil && !os.IsNotExist(err) {
		return fetched, present, fmt.Errorf("%s: %w", what, err)
	}
	if err := os.Symlink(rel, link); err != nil {
		return fetched, present, fmt.Errorf("%s: link %s: %w", what, link, err)
	}
	return fetched, present, nil
}

// checker verifies a finished file against its ETag: an LFS file's ETag
// is the sha256 of its bytes, a git file's the sha1 of "blob <size>\0"
// and the bytes. Other ETags (some mirrors) are not checked.
func checker(etag string, size int64) (hash.Hash, string) {
	switch {
	case len(etag) == 64 && isHex(etag):
		return sha256.New(), "sha256"
	case len(etag) == 40 && isHex(etag) && size >= 0:
		h := sha1.New()
		fmt.Fprintf(h, "blob %d\x00", size)
		return h, "git sha1"
	}
	return nil, ""
}

// fetch downloads meta.location into blob+".incomplete", resuming from
// what an earlier attempt left there, checks size and hash, and renames
// it to blob. A failed hash removes the partial file: resuming from bad
// bytes would fail forever.
func (c *Client) fetch(ctx context.Context, what, name string, meta *fileMeta, blob string) (int64, error) {
	part := blob + ".incomplete"
	unlock, err := lockFile(blob + ".lock")
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	defer unlock()
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	if meta.size >= 0 && have > meta.size {
		// Longer than the file: not a prefix of it.
		if err := f.Truncate(0); err != nil {
			return 0, fmt.Errorf("%s: %w", what, err)
		}
		have, _ = f.Seek(0, io.SeekStart)
	}
	var update func(done, total int64)
	finish := func() {}
	if c.OnFile != nil {
		update, finish = c.OnFile(name)
	}
	defer finish()

	retries := c.Retries
	if retries == 0 {
		retries = 4
	}
	wait := c.RetryWait
	if wait == 0 {
		wait = time.Second
	}
	// The hash runs over the bytes as they are written; a resumed file's
	// earlier bytes are read back once first.
	size := meta.size
	h, kind := checker(meta.etag, size)
	if h != nil && have > 0 {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return 0, fmt.Errorf("%s: %w", what, err)
		}
		if _, err := io.CopyN(h, f, have); err != nil {
			return 0, fmt.Errorf("%s: read back %s: %w", what, part, err)
		}
	}
	sum := &summer{h: h}
	sum.reset = func() { sum.h, _ = checker(meta.etag, size) }
	var fetched int64
	for attempt := 0; ; attempt++ {
		n, done, err := c.fetchOnce(ctx, what, meta, f, &have, update, sum)
		fetched += n
		if err == nil && done {
			break
		}
		var we *writeError
		if errors.As(err, &we) || ctx.Err() != nil || attempt >= retries || (err != nil && !retryable(err)) {
			if ctx.Err() != nil {
				return fetched, ctx.Err()
			}
			return fetched, err
		}
		select {
		case <-ctx.Done():
			return fetched, ctx.Err()
		case <-time.After(wait << attempt):
		}
	}
	if meta.size >= 0 && have != meta.size {
		return fetched, fmt.Errorf("%s: got %d bytes, the hub said %d", what, have, meta.size)
	}
	if meta.size < 0 && kind == "" {
		// The size was unknown: a git sha1 needs it up front, so hash
		// the finished file now.
		if h, kind = checker(meta.etag, have); h != nil {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return fetched, fmt.Errorf("%s: %w", what, err)
			}
			if _, err := io.Copy(h, f); err != nil {
				return fetched, fmt.Errorf("%s: read back %s: %w", what, part, err)
			}
			sum.h = h
		}
	}
	if h := sum.h; h != nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != meta.etag {
			f.Close()
			f = nil
			os.Remove(part)
			return fetched, fmt.Errorf("%s: %s mismatch: got %s, want %s (partial file removed; run pull again)", what, kind, got, meta.etag)
		}
	}
	if err := f.Sync(); err != nil {
		return fetched, fmt.Errorf("%s: %w", what, &writeError{err})
	}
	if err := f.Close(); err != nil {
		f = nil
		return fetched, fmt.Errorf("%s: %w", what, &writeError{err})
	}
	f = nil
	if err := os.Rename(part, blob); err != nil {
		return fetched, fmt.Errorf("%s: %w", what, err)
	}
	return fetched, nil
}

// summer feeds the running hash of a download; reset starts it over
// when the server restarts the file from byte 0.
type summer struct {
	h     hash.Hash
	reset func()
}

func (s *summer) write(b []byte) {
	if s.h != nil {
		s.h.Write(b)
	}
}

// writeError marks a failure to write the local file (a full disk):
// retrying the download would not help.
type writeError struct{ err error }

// Error is the local write failure.
func (e *writeError) Error() string {
	// An *os.PathError already says "write <file>: ...".
	if msg := e.err.Error(); strings.HasPrefix(msg, "write ") {
		return msg
	}
	return "write: " + e.err.Error()
}

// Unwrap exposes the cause (syscall.ENOSPC for a full disk).
func (e *writeError) Unwrap() error { return e.err }

// retryable reports whether a failed attempt may succeed if resumed: a
// cut connection or a server error, not a refusal.
func retryable(err error) bool {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status >= 500 || he.Status == http.StatusTooManyRequests
	}
	return true
}

// fetchOnce makes one GET from *have onwards and appends to f. done
// reports that the server sent the whole rest of the file.
func (c *Client) fetchOnce(ctx context.Context, what string, meta *fileMeta, f *os.File, have *int64, update func(done, total int64), sum *summer) (int64, bool, error) {
	lu, _ := url.Parse(meta.location)
	eu, _ := url.Parse(c.endpoint())
	// The token goes to the hub only, never to the storage host a
	// redirect names.
	// A connection that goes quiet is dropped after IdleTimeout and the
	// download resumed, instead of hanging forever.
	idle := c.IdleTimeout
	if idle <= 0 {
		idle = 60 * time.Second
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stalled atomic.Bool
	timer := time.AfterFunc(idle, func() { stalled.Store(true); cancel() })
	defer timer.Stop()
	req, err := c.newRequest(rctx, http.MethodGet, meta.location, lu != nil && eu != nil && lu.Host == eu.Host)
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	if *have > 0 {
		if meta.size >= 0 && *have == meta.size {
			return 0, true, nil
		}
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", *have))
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if stalled.Load() && ctx.Err() == nil {
			return 0, false, fmt.Errorf("%s: no answer for %v", what, idle)
		}
		return 0, false, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		// The whole file: start over.
		if *have > 0 {
			if err := f.Truncate(0); err != nil {
				return 0, false, fmt.Errorf("%s: %w", what, &writeError{err})
			}
			*have = 0
			sum.reset()
		}
	case http.StatusPartialContent:
		start, err := contentRangeStart(resp.Header.Get("Content-Range"))
		if err != nil || start != *have {
			return 0, false, fmt.Errorf("%s: the server answered range %d- with %q", what, *have, resp.Header.Get("Content-Range"))
		}
	case http.StatusRequestedRangeNotSatisfiable:
		if meta.size < 0 {
			// Nothing past what we have: take it as complete and let
			// the hash decide.
			return 0, true, nil
		}
		return 0, false, httpError(what, resp)
	default:
		return 0, false, httpError(what, resp)
	}
	if _, err := f.Seek(*have, io.SeekStart); err != nil {
		return 0, false, fmt.Errorf("%s: %w", what, err)
	}
	var w io.Writer = f
	if c.wrapWriter != nil {
		w = c.wrapWriter(w)
	}
	buf := make([]byte, 1<<20)
	var n int64
	for {
		timer.Reset(idle)
		k, rerr := resp.Body.Read(buf)
		if k > 0 {
			if _, err := w.Write(buf[:k]); err != nil {
				// What did reach the file is not hashed; a write error
				// ends the pull, and the next one reads the file back.
				return n, false, fmt.Errorf("%s: %w", what, &writeError{err})
			}
			sum.write(buf[:k])
			n += int64(k)
			*have += int64(k)
			if update != nil {
				update(*have, meta.size)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if stalled.Load() && ctx.Err() == nil {
				return n, false, fmt.Errorf("%s: no data for %v after %d bytes", what, idle, *have)
			}
			return n, false, fmt.Errorf("%s: connection lost after %d bytes: %w", what, *have, rerr)
		}
	}
	if meta.size >= 0 && *have < meta.size {
		return n, false, fmt.Errorf("%s: connection closed after %d of %d bytes", what, *have, meta.size)
	}
	return n, true, nil
}

// contentRangeStart parses "bytes START-END/TOTAL".
func contentRangeStart(s string) (int64, error) {
	s, ok := strings.CutPrefix(strings.TrimSpace(s), "bytes ")
	if !ok {
		return 0, fmt.Errorf("bad Content-Range %q", s)
	}
	a, _, ok := strings.Cut(s, "-")
	if !ok {
		return 0, fmt.Errorf("bad Content-Range %q", s)
	}
	return strconv.ParseInt(a, 10, 64)
}
