package hub

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeRepo is one repository of the fake hub.
type fakeRepo struct {
	commit string
	refs   map[string]string // branch or tag -> commit
	files  map[string][]byte
	lfs    map[string]bool // files served from the CDN by sha256
	gated  bool            // needs "Bearer secret"
}

// fakeHub behaves like huggingface.co for what pull uses: the revision
// and tree API routes (paged with Link headers), resolve/{rev}/{file}
// answering HEAD and GET with X-Repo-Commit, ETag, X-Linked-Etag and
// X-Linked-Size, and LFS files redirected to a separate CDN host that
// honours Range. Faults are injected per blob.
type fakeHub struct {
	t        *testing.T
	hub, cdn *httptest.Server
	repos    map[string]*fakeRepo
	renamed  map[string]string // old repo -> new repo (relative redirect)
	pageSize int               // tree entries per page
	noTree   bool              // the tree route answers 404

	mu       sync.Mutex
	log      []string         // "METHOD host path range auth"
	cutAfter map[string]int64 // sha256 -> bytes sent before the connection drops (once)
	corrupt  map[string]bool  // sha256 -> serve flipped bytes
	noRange  map[string]bool  // sha256 -> ignore Range (send 200 and everything)
	stall    map[string]int64 // sha256 -> bytes sent before the server goes quiet (once)
	cdnGets  map[string]int64 // sha256 -> bytes sent in total
}

func gitBlobSHA1(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func newFakeHub(t *testing.T) *fakeHub {
	f := &fakeHub{t: t, repos: map[string]*fakeRepo{}, renamed: map[string]string{}, pageSize: 2,
		cutAfter: map[string]int64{}, corrupt: map[string]bool{}, noRange: map[string]bool{}, cdnGets: map[string]int64{}, stall: map[string]int64{}}
	api := http.NewServeMux()
	api.HandleFunc("GET /api/models/{org}/{name}/revision/{rev}", f.revision)
	api.HandleFunc("GET /api/models/{org}/{name}/tree/{rev}", f.tree)
	files := http.NewServeMux()
	files.HandleFunc("GET /{org}/{name}/resolve/{rev}/{file...}", f.resolve)
	hubMux := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			api.ServeHTTP(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
	f.hub = httptest.NewServer(f.logged("hub", hubMux))
	cdnMux := http.NewServeMux()
	cdnMux.HandleFunc("GET /blob/{sha}", f.blob)
	f.cdn = httptest.NewServer(f.logged("cdn", cdnMux))
	t.Cleanup(func() { f.hub.Close(); f.cdn.Close() })
	return f
}

func (f *fakeHub) logged(host string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.log = append(f.log, fmt.Sprintf("%s %s %s range=%q auth=%q", r.Method, host, r.URL.Path, r.Header.Get("Range"), r.Header.Get("Authorization")))
		f.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// requests returns the log lines containing all of the given strings.
func (f *fakeHub) requests(has ...string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
next:
	for _, l := range f.log {
		for _, h := range has {
			if !strings.Contains(l, h) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

func (f *fakeHub) clearLog() {
	f.mu.Lock()
	f.log = nil
	f.mu.Unlock()
}

// repo looks up the request's repository, answering redirects, 401 and
// 404 as the hub does; nil means the response is written.
func (f *fakeHub) repo(w http.ResponseWriter, r *http.Request) (*fakeRepo, string) {
	name := r.PathValue("org") + "/" + r.PathValue("name")
	if to, ok := f.renamed[name]; ok {
		// A renamed repository: the hub redirects relatively.
		http.Redirect(w, r, strings.Replace(r.URL.RequestURI(), "/"+name+"/", "/"+to+"/", 1), http.StatusTemporaryRedirect)
		return nil, ""
	}
	rp := f.repos[name]
	if rp == nil {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		w.Header().Set("X-Error-Message", "Repository not found")
		http.Error(w, `{"error":"Repository not found"}`, http.StatusNotFound)
		return nil, ""
	}
	if rp.gated && r.Header.Get("Authorization") != "Bearer secret" {
		w.Header().Set("X-Error-Code", "GatedRepo")
		w.Header().Set("X-Error-Message", "Access to model "+name+" is restricted.")
		http.Error(w, `{"error":"gated"}`, http.StatusUnauthorized)
		return nil, ""
	}
	rev := r.PathValue("rev")
	commit := rp.refs[rev]
	if commit == "" && rev == rp.commit {
		commit = rev
	}
	if commit == "" {
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		http.Error(w, `{"error":"Invalid rev id"}`, http.StatusNotFound)
		return nil, ""
	}
	return rp, commit
}

func (f *fakeHub) sortedFiles(rp *fakeRepo) []string {
	var names []string
	for n := range rp.files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (f *fakeHub) revision(w http.ResponseWriter, r *http.Request) {
	rp, commit := f.repo(w, r)
	if rp == nil {
		return
	}
	type sib struct {
		RFilename string `json:"rfilename"`
	}
	out := struct {
		ID       string `json:"id"`
		SHA      string `json:"sha"`
		Siblings []sib  `json:"siblings"`
	}{ID: r.PathValue("org") + "/" + r.PathValue("name"), SHA: commit}
	for _, n := range f.sortedFiles(rp) {
		out.Siblings = append(out.Siblings, sib{n})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (f *fakeHub) tree(w http.ResponseWriter, r *http.Request) {
	if f.noTree {
		http.NotFound(w, r)
		return
	}
	rp, _ := f.repo(w, r)
	if rp == nil {
		return
	}
	if r.URL.Query().Get("recursive") != "true" {
		f.t.Errorf("tree listing without recursive=true: %s", r.URL)
	}
	type lfs struct {
		OID         string `json:"oid"`
		Size        int64  `json:"size"`
		PointerSize int64  `json:"pointerSize"`
	}
	type entry struct {
		Type string `json:"type"`
		OID  string `json:"oid"`
		Size int64  `json:"size"`
		Path string `json:"path"`
		LFS  *lfs   `json:"lfs,omitempty"`
	}
	var all []entry
	dirs := map[string]bool{}
	for _, n := range f.sortedFiles(rp) {
		b := rp.files[n]
		if i := strings.LastIndexByte(n, '/'); i > 0 && !dirs[n[:i]] {
			dirs[n[:i]] = true
			all = append(all, entry{Type: "directory", OID: "0000000000000000000000000000000000000000", Path: n[:i]})
		}
		e := entry{Type: "file", OID: gitBlobSHA1(b), Size: int64(len(b)), Path: n}
		if rp.lfs[n] {
			e.Size = 134 // the pointer file's size
			e.LFS = &lfs{OID: sha256hex(b), Size: int64(len(b)), PointerSize: 134}
		}
		all = append(all, e)
	}
	cursor, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	end := min(cursor+f.pageSize, len(all))
	if end < len(all) {
		next := *r.URL
		q := next.Query()
		q.Set("cursor", strconv.Itoa(end))
		next.RawQuery = q.Encode()
		w.Header().Set("Link", fmt.Sprintf("<%s>; rel=\"next\"", next.String()))
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(all[cursor:end])
}

func (f *fakeHub) resolve(w http.ResponseWriter, r *http.Request) {
	rp, commit := f.repo(w, r)
	if rp == nil {
		return
	}
	name := r.PathValue("file")
	b, ok := rp.files[name]
	w.Header().Set("X-Repo-Commit", commit)
	if !ok {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "Entry not found", http.StatusNotFound)
		return
	}
	if rp.lfs[name] {
		sum := sha256hex(b)
		w.Header().Set("ETag", `"`+gitBlobSHA1([]byte("pointer "+sum))+`"`)
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(b)))
		http.Redirect(w, r, f.cdn.URL+"/blob/"+sum, http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+gitBlobSHA1(b)+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(b)
}

// blob serves LFS content by sha256 with Range support (ServeContent),
// unless a fault is armed for it.
func (f *fakeHub) blob(w http.ResponseWriter, r *http.Request) {
	sum := r.PathValue("sha")
	var b []byte
	for _, rp := range f.repos {
		for n, c := range rp.files {
			if rp.lfs[n] && sha256hex(c) == sum {
				b = c
			}
		}
	}
	if b == nil {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	cut, cutArmed := f.cutAfter[sum]
	delete(f.cutAfter, sum)
	bad := f.corrupt[sum]
	noRange := f.noRange[sum]
	stall, stallArmed := f.stall[sum]
	delete(f.stall, sum)
	f.mu.Unlock()
	if bad {
		c := append([]byte(nil), b...)
		c[len(c)/2] ^= 0xff
		b = c
	}
	if noRange {
		r.Header.Del("Range")
	}
	if cutArmed {
		start := int64(0)
		if rg := r.Header.Get("Range"); rg != "" {
			fmt.Sscanf(rg, "bytes=%d-", &start)
			w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(b)-1, len(b)))
			w.Header().Set("Content-Length", strconv.Itoa(len(b)-int(start)))
			w.WriteHeader(http.StatusPartialContent)
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.WriteHeader(http.StatusOK)
		}
		w.Write(b[start : start+cut])
		w.(http.Flusher).Flush()
		f.count(sum, cut)
		// Drop the connection mid-body, as a flaky network does.
		panic(http.ErrAbortHandler)
	}
	if stallArmed {
		// Send part of the file, then nothing, as a stuck proxy does,
		// until the client gives up (bounded, so a broken client fails
		// the test instead of hanging it).
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusOK)
		w.Write(b[:stall])
		w.(http.Flusher).Flush()
		f.count(sum, stall)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
			f.t.Errorf("the client never gave up on a stalled download")
		}
		return
	}
	cw := &countWriter{ResponseWriter: w}
	http.ServeContent(cw, r, "", time.Time{}, strings.NewReader(string(b)))
	f.count(sum, cw.n)
}

func (f *fakeHub) count(sum string, n int64) {
	f.mu.Lock()
	f.cdnGets[sum] += n
	f.mu.Unlock()
}

type countWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

// wrapResolve serves other bytes than the ETag announces for one
// non-LFS file.
func wrapResolve(h http.Handler, file string, good []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/resolve/"+commitA+"/"+file) {
			w.Header().Set("X-Repo-Commit", commitA)
			w.Header().Set("ETag", `"`+gitBlobSHA1(good)+`"`)
			bad := append([]byte(nil), good...)
			bad[0] ^= 1
			w.Header().Set("Content-Length", strconv.Itoa(len(bad)))
			if r.Method != http.MethodHead {
				w.Write(bad)
			}
			return
		}
		h.ServeHTTP(w, r)
	})
}

// hideResolve answers 404 for one file's resolve URL.
func hideResolve(h http.Handler, file string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/"+file) && strings.Contains(r.URL.Path, "/resolve/") {
			w.Header().Set("X-Error-Code", "EntryNotFound")
			http.Error(w, "Entry not found", http.StatusNotFound)
			return
		}
		h.ServeHTTP(w, r)
	})
}
