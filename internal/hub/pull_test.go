package hub

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// storiesRepo is a safetensors repository holding the embedded
// stories260k files, plus files pull must leave alone.
func storiesRepo(t *testing.T) *fakeRepo {
	st := func(name string) []byte { return fixture(t, "model", "embedded", "stories260k", name) }
	return &fakeRepo{
		commit: commitA,
		refs:   map[string]string{"main": commitA},
		files: map[string][]byte{
			"config.json":              st("config.json"),
			"generation_config.json":   []byte(`{"bos_token_id":1,"eos_token_id":2}`),
			"tokenizer.model":          st("tokenizer.model"),
			"model.safetensors":        st("model.safetensors"),
			"pytorch_model.bin":        []byte("pickled duplicate"),
			"consolidated.safetensors": []byte("native duplicate"),
			"README.md":                []byte("# stories260k\n"),
			".gitattributes":           []byte("*.safetensors filter=lfs\n"),
			"original/params.json":     []byte("{}"),
		},
		lfs: map[string]bool{"model.safetensors": true, "tokenizer.model": true, "pytorch_model.bin": true, "consolidated.safetensors": true},
	}
}

// wantFiles are the files a pull of storiesRepo fetches.
var wantFiles = []string{"config.json", "generation_config.json", "model.safetensors", "tokenizer.model"}

func testClient(f *fakeHub, cache string) *Client {
	return &Client{Endpoint: f.hub.URL, Cache: cache, RetryWait: time.Millisecond}
}

// cacheTree describes a cache directory: every file with its content,
// every symlink with its target, every directory.
func cacheTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "-> " + target
		case d.IsDir():
			out[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = "file " + string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// expectTree is the layout huggingface_hub leaves for files of repo at
// commit, built from the files' bytes: LFS blobs named by sha256, the
// others by git blob sha1, relative links from the snapshot.
func expectTree(repo string, rp *fakeRepo, commit string, files []string, refs ...string) map[string]string {
	dir := "models--" + strings.ReplaceAll(repo, "/", "--")
	out := map[string]string{dir: "dir", dir + "/blobs": "dir", dir + "/snapshots": "dir", dir + "/snapshots/" + commit: "dir"}
	for _, n := range files {
		b := rp.files[n]
		name := gitBlobSHA1(b)
		if rp.lfs[n] {
			name = sha256hex(b)
		}
		out[dir+"/blobs/"+name] = "file " + string(b)
		up := strings.Repeat("../", 2+strings.Count(n, "/"))
		out[dir+"/snapshots/"+commit+"/"+n] = "-> " + up + "blobs/" + name
		for d := filepath.ToSlash(filepath.Dir(n)); d != "."; d = filepath.ToSlash(filepath.Dir(d)) {
			out[dir+"/snapshots/"+commit+"/"+d] = "dir"
		}
	}
	if len(refs) > 0 {
		out[dir+"/refs"] = "dir"
	}
	for _, r := range refs {
		out[dir+"/refs/"+r] = "file " + commit
	}
	return out
}

func diffTrees(t *testing.T, got, want map[string]string) {
	t.Helper()
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	short := func(s string) string {
		if len(s) > 60 {
			return s[:60] + "..."
		}
		return s
	}
	for _, k := range keys {
		if got[k] != want[k] {
			t.Errorf("%s:\n got %q\nwant %q", k, short(got[k]), short(want[k]))
		}
	}
}

func TestPullSafetensors(t *testing.T) {
	f := newFakeHub(t)
	rp := storiesRepo(t)
	f.repos["karpathy/stories260k"] = rp
	cache := t.TempDir()
	c := testClient(f, cache)
	res, err := c.Pull(context.Background(), HFRef{Org: "karpathy", Name: "stories260k"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Files, ",") != strings.Join(wantFiles, ",") {
		t.Errorf("pulled %v, want %v", res.Files, wantFiles)
	}
	diffTrees(t, cacheTree(t, cache), expectTree("karpathy/stories260k", rp, commitA, wantFiles, "main"))
	// The duplicates and extras were never fetched.
	for _, n := range []string{"pytorch_model.bin", "consolidated.safetensors", "README.md", "original/params.json", ".gitattributes"} {
		if r := f.requests("/resolve/", n); len(r) > 0 {
			t.Errorf("%s was requested: %v", n, r)
		}
	}
	// The listing was read page by page.
	if n := len(f.requests("GET hub /api/models/karpathy/stories260k/tree/" + commitA)); n < 3 {
		t.Errorf("tree listing fetched in %d pages, want >= 3", n)
	}
	var total int64
	for _, n := range wantFiles {
		total += int64(len(rp.files[n]))
	}
	if res.Downloaded != total || res.Present != 0 {
		t.Errorf("downloaded %d bytes (%d present), want %d", res.Downloaded, res.Present, total)
	}
	// What pull wrote, -m finds.
	r, err := Resolve("karpathy/stories260k", Dirs{HFCache: cache, Ollama: t.TempDir()})
	if err != nil || r.Path != res.Path || res.Path != filepath.Join(cache, "models--karpathy--stories260k", "snapshots", commitA) {
		t.Errorf("Resolve after pull: %+v, %v; pull said %s", r, err, res.Path)
	}
	// A second pull finds everything in place and fetches no bytes.
	f.clearLog()
	res, err = c.Pull(context.Background(), HFRef{Org: "karpathy", Name: "stories260k"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Downloaded != 0 || res.Present != len(wantFiles) || len(f.requests("GET cdn")) > 0 {
		t.Errorf("second pull: downloaded %d, present %d, CDN requests %v", res.Downloaded, res.Present, f.requests("GET cdn"))
	}
	diffTrees(t, cacheTree(t, cache), expectTree("karpathy/stories260k", rp, commitA, wantFiles, "main"))
}

// A branch that moves: refs/main is rewritten to the new commit and the
// old snapshot stays.
func TestPullBranchMoves(t *testing.T) {
	f := newFakeHub(t)
	rp := storiesRepo(t)
	f.repos["karpathy/stories260k"] = rp
	cache := t.TempDir()
	c := testClient(f, cache)
	if _, err := c.Pull(context.Background(), HFRef{Org: "karpathy", Name: "stories260k"}); err != nil {
		t.Fatal(err)
	}
	rp.commit, rp.refs["main"] = commitB, commitB
	rp.files["config.json"] = append([]byte(nil), rp.files["config.json"]...)
	rp.files["config.json"] = append(rp.files["config.json"], '\n')
	if _, err := c.Pull(context.Background(), HFRef{Org: "karpathy", Name: "stories260k"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(cache, "models--karpathy--stories260k", "refs", "main"))
	if string(b) != commitB {
		t.Errorf("refs/main = %q, want %s", b, commitB)
	}
	for _, c := range []string{commitA, commitB} {
		if _, err := os.Stat(filepath.Join(cache, "models--karpathy--stories260k", "snapshots", c, "config.json")); err != nil {
			t.Errorf("snapshot %s: %v", c, err)
		}
	}
}

func TestPullResumesCutConnection(t *testing.T) {
	f := newFakeHub(t)
	rp := storiesRepo(t)
	f.repos["karpathy/stories260k"] = rp
	sum := sha256hex(rp.files["model.safetensors"])
	const cut = 300000
	f.cutAfter[sum] = cut
	cache := t.TempDir()
	res, err := testClient(f, cache).Pull(context.Background(), HFRef{Org: "karpathy", Name: "stories260k"})
	if err != nil {
		t.Fatal(err)
	}
	gets := f.requests("GET cdn /blob/" + sum)
	if len(gets) != 2 || !strings.Contains(gets[0], `range=""`) || !strings.Contains(gets[1], `range="bytes=300000-"`) {
		t.Errorf("CDN requests %v: want one full GET then one from byte %d", gets, cut)
	}
	if f.cdnGets[sum] != int64(len(rp.files["model.safetensors"])) {
		t.Errorf("CDN sent %d bytes of a %d-byte file", f.cdnGets[sum], len(rp.files["model.safetensors"]))
	}
	_ = res
	diffTrees(t, cacheTree(t, cache), expectTree("karpathy/stories260k", rp, commitA, wantFiles, "main"))
}

// A pull that dies mid-file leaves only an .incomplete blob (no link
// that looks complete); the next pull resumes it with a Range request.
func TestPullResumesAcrossRuns(t *testing.T) {
	f := newFakeHub(t)
	rp := storiesRepo(t)
	f.repos["karpathy/stories260k"] = rp
	model := rp.files["model.safetensors"]
	sum := sha256hex(model)
	const cut = 123457
	f.cutAfter[sum] = cut
	cache := t.TempDir()
	c := testClient(f, cache)
	c.Retries = -1
	_, err := c.Pull(context.Background(), HFRef{Org: "karpathy", Name: "stories260k"})
	if err == nil || !strings.Contains(err.Error(), "model.safetensors") || !strings.Contains(err.Error(), "connection") {
		t.Fatalf("err = %v, want a cut connection on model.safetensors", err)
	}
	repo := filepath.Join(cache, "models--karpathy--stories260k")
	if _, err := os.Lstat(filepath.Join(repo, "blobs", sum)); err == nil {
		t.Error("a blob exists after a cut download")
	}
	if _, err := os.Lstat(filepath.Join(repo, "snapshots", commitA, "model.safetensors")); err == nil {
		t.Error("a snapshot link exists after a cut download")
	}
	if fi, err := os.Stat(filepath.Join(repo, "blobs", sum+".incomplete")); err != nil || fi.Size() != cut {
		t.Fatalf("partial file: %v, %v; want %d bytes", fi, err, cut)
	}
	// Resolving now says the model is incomplete rather than loading it.
	if _, err := Resolve("karpathy/stories260k", Dirs{HFCache: cache, Ollama: t.TempDir()}); err == nil {
		t.Error("Resolve accepted a snapshot without its weights")
	}
	f.clearLog()
	res, err := c.Pull(context.Background(), HFRef{Org: "karpathy", Name: "stories260k"})
	if err != nil {
		t.Fatal(err)
	}
	gets := f.requests("GET cdn /blob/" + sum)
	if len(gets) != 1 || !strings.Contains(gets[0], `range="bytes=123457-"`) {
		t.Errorf("CDN requests %v: want one from byte %d", gets, cut)
	}
	// The rest of the model, and tokenizer.model, which comes after it.
	if want := int64(len(model)) - cut + int64(len(rp.files["tokenizer.model"])); res.Downloaded != want {
		t.Errorf("second run fetched %d bytes, want %d", res.Downloaded, want)
	}
	diffTrees(t, cacheTree(t, cache), expectTree("karpathy/stories260k", rp, commitA, wantFiles, "main"))
}

// A server that ignores Range after a cut sends the whole file again;
// the partial file is restarted, not appended to.
func TestPullServerIgnoresRange(t *testing.T) {
	f := newFakeHub(t)
	rp := storiesRepo(t)
	f.repos["karpathy/stories260k"] = rp
	sum := sha256hex(rp.files["model.safetensors"])
	f.cutAfter[sum] = 5000
	f.noRange[sum] = true
	cache := t.TempDir()
	if _, err := testClient(f, cache).Pull(context.Background(), HFRef{Org: "karpathy", Name: "stories260k"}); err != nil {
		t.Fatal(err)
	}
	diffTrees(t, cacheTree(t, cache), expectTree("karpathy/stories260k", rp, commitA, wantFiles, "main"))
}

func TestPullRejectsWrongSHA256(t *testing.T) {
	f := newFakeHub(t)
	rp := storiesRepo(t)
	f.repos["karpathy/stories260k"] = rp
	sum := sha256hex(rp.files["model.safetensors"])
	f.corrupt[sum] = true
	cache := t.TempDir()
	_, err := testClient(f, cache).Pull(context.Background(), HFRef{Org: "karpathy", Name: "stories260k"})
	if err == nil || !strings.Contains(err.Error(), "sha256 mismatch") || !strings.Contains(err.Error(), sum) {
		t.Fatalf("err = %v, want a sha256 mismatch naming %s", err, sum)
	}
	repo := filepath.Join(cache, "models--karpathy--stories260k")
	for _, p := range []string{filepath.Join("blobs", sum), filepath.Join("blobs", sum+".incomplete"), filepath.Join("snapshots", commitA, "model.safetensors")} {
		if _, err := os.Lstat(filepath.Join(repo, p)); err == nil {
			t.Errorf("%s exists after a rejected download", p)
		}
	}
}

// A git (non-LFS) file is checked against its ETag, the git blob sha1.
func TestChecker(t *testing.T) {
	// Known values: `printf 'hello\n' | git hash-object --stdin` and
	// sha256("abc") from FIPS 180-2.
	h, kind := checker("ce013625030ba8dba906f756967f9e9ca394464a", 6)
	h.Write([]byte("hello\n"))
	if kind != "git sha1" || hex.EncodeToString(h.Sum(nil)) != "ce013625030ba8dba906f756967f9e9ca394464a" {
		t.Errorf("git sha1 of hello: %s %x", kind, h.Sum(nil))
	}
	h, kind = checker("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3)
	h.Write([]byte("abc"))
	if kind != "sha256" || hex.EncodeToString(h.Sum(nil)) != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("sha256 of abc: %x", h.Sum(nil))
	}
	if h, _ := checker("some-opaque-etag", 3); h != nil {
		t.Error("an opaque ETag got a checker")
	}
}

func TestPullCorruptGitFile(t *testing.T) {
	f := newFakeHub(t)
	rp := storiesRepo(t)
	f.repos["karpathy/stories260k"] = rp
	// The hub's ETag for config.json is computed from other bytes than
	// those served: pull must notice.
	good := rp.files["config.json"]
	f.hub.Config.Handler = wrapResolve(f.hub.Config.Handler, "config.json", good)
	_, err := testClient(f, t.TempDir()).Pull(context.Background(), HFRef{Org: "karpathy", Name: "stories260k"})
	if err == nil || !strings.Contains(err.Error(), "git sha1 mismatch") {
		t.Fatalf("err = %v, want a git sha1 mismatch", err)
	}
}

// failingWriter fails with ENOSPC once more than room bytes are written.
type failingWriter struct {
	w    io.Writer
	room int
}

func (f *failingWriter) Write(b []byte) (int, error) {
	if len(b) > f.room {
		n, _ := f.w.Write(b[:f.room])
		f.room = 0
		return n, &os.PathError{Op: "write", Path: "blob", Err: syscall.ENOSPC}
	}
	f.room -= len(b)
	return f.w.Write(b)
}

func TestPullDiskFull(t *testing.T) {
	f := newFakeHub(t)
	rp := storiesRepo(t)
	f.repos["karpathy/stories260k"] = rp
	cache := t.TempDir()
	c := testClient(f, cache)
	c.wrapWriter = func(w io.Writer) io.Writer { return &failingWriter{w: w, room: 100000} }
	_, err := c.Pull(context.Background(), HFRef{Org: "karpathy", Name: "stories260k"})
	if err == nil || !strings.Contains(err.Error(), "no space left on device") || !strings.Contains(err.Error(), "model.safetensors") {
		t.Fatalf("err = %v, want no space left on device for model.safetensors", err)
	}
	if want := "karpathy/stories260k: model.safetensors: write blob: no space left on device"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("err %v does not wrap ENOSPC", err)
	}
	// No retries on a local write error.
	sum := sha256hex(rp.files["model.safetensors"])
	if n := len(f.requests("GET cdn /blob/" + sum)); n != 1 {
		t.Errorf("%d CDN requests after a write error, want 1", n)
	}
	if _, err := os.Lstat(filepath.Join(cache, "models--karpathy--stories260k", "blobs", sum)); err == nil {
		t.Error("blob exists after a failed write")
	}
}

func TestPullAuth(t *testing.T) {
	f := newFakeHub(t)
	rp := storiesRepo(t)
	rp.gated = true
	f.repos["mistralai/gated"] = rp
	cache := t.TempDir()
	c := testClient(f, cache)
	_, err := c.Pull(context.Background(), HFRef{Org: "mistralai", Name: "gated"})
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") || !strings.Contains(err.Error(), "HF_TOKEN") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want one line about HTTP 401 and HF_TOKEN", err)
	}
	c.Token = "secret"
	if _, err := c.Pull(context.Background(), HFRef{Org: "mistralai", Name: "gated"}); err != nil {
		t.Fatal(err)
	}
	// The token went to the hub and never to the CDN.
	if len(f.requests("hub", `auth="Bearer secret"`)) == 0 {
		t.Error("the hub never saw the token")
	}
	for _, r := range f.requests("cdn") {
		if !strings.Contains(r, `auth=""`) {
			t.Errorf("the CDN saw credentials: %s", r)
		}
	}
	diffTrees(t, cacheTree(t, cache), expectTree("mistralai/gated", rp, commitA, wantFiles, "main"))
}

func TestPullNotFound(t *testing.T) {
	f := newFakeHub(t)
	rp := storiesRepo(t)
	f.repos["karpathy/stories260k"] = rp
	c := testClient(f, t.TempDir())
	cases := []struct {
		ref     HFRef
		mention []string
	}{
		{HFRef{Org: "nobody", Name: "nothing"}, []string{"nobody/nothing", "HTTP 404", "Repository not found"}},
		{HFRef{Org: "karpathy", Name: "stories260k", Revision: "nope"}, []string{"HTTP 404", "revision not found"}},
		{HFRef{Org: "karpathy", Name: "stories260k", File: "x.Q4_0.gguf"}, []string{"has no file x.Q4_0.gguf"}},
		{HFRef{Org: "karpathy", Name: "stories260k", Quant: "Q4_0"}, []string{"no GGUF file for quantization Q4_0"}},
	}
	for _, tc := range cases {
		_, err := c.Pull(context.Background(), tc.ref)
		if err == nil {
			t.Errorf("%s: no error", tc.ref)
			continue
		}
		for _, m := range tc.mention {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("%s: error %q does not mention %q", tc.ref, err, m)
			}
		}
	}
	// A file the listing names but resolve does not have: 404 from HEAD.
	f.hub.Config.Handler = hideResolve(f.hub.Config.Handler, "tokenizer.model")
	_, err := c.Pull(context.Background(), HFRef{Org: "karpathy", Name: "stories260k"})
	if err == nil || !strings.Contains(err.Error(), "tokenizer.model: HTTP 404") {
		t.Errorf("err = %v, want HTTP 404 for tokenizer.model", err)
	}
}

func ggufRepo(t *testing.T) *fakeRepo {
	q4 := fixture(t, "testdata", "gguf", "tiny-llama", "Q4_K_M.gguf")
	q8 := fixture(t, "testdata", "gguf", "tiny-llama", "Q8_0.gguf")
	return &fakeRepo{
		commit: commitB,
		refs:   map[string]string{"main": commitB},
		files: map[string][]byte{
			"tiny-llama.Q4_K_M.gguf": q4, "tiny-llama.Q8_0.gguf": q8, "README.md": []byte("# gguf\n"),
		},
		lfs: map[string]bool{"tiny-llama.Q4_K_M.gguf": true, "tiny-llama.Q8_0.gguf": true},
	}
}

func TestPullGGUF(t *testing.T) {
	f := newFakeHub(t)
	rp := ggufRepo(t)
	f.repos["TheBloke/tiny-llama-GGUF"] = rp
	cache := t.TempDir()
	c := testClient(f, cache)
	_, err := c.Pull(context.Background(), HFRef{Org: "TheBloke", Name: "tiny-llama-GGUF"})
	if err == nil || !strings.Contains(err.Error(), "GGUF repository") || !strings.Contains(err.Error(), "tiny-llama.Q8_0.gguf") {
		t.Fatalf("err = %v, want a request for :QUANT listing the files", err)
	}
	res, err := c.Pull(context.Background(), HFRef{Org: "TheBloke", Name: "tiny-llama-GGUF", Quant: "q8_0"})
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(cache, "models--TheBloke--tiny-llama-GGUF", "snapshots", commitB, "tiny-llama.Q8_0.gguf")
	if res.Path != want {
		t.Errorf("path %s, want %s", res.Path, want)
	}
	diffTrees(t, cacheTree(t, cache), expectTree("TheBloke/tiny-llama-GGUF", rp, commitB, []string{"tiny-llama.Q8_0.gguf"}, "main"))
	res, err = c.Pull(context.Background(), HFRef{Org: "TheBloke", Name: "tiny-llama-GGUF", Revision: commitB, File: "tiny-llama.Q4_K_M.gguf"})
	if err != nil {
		t.Fatal(err)
	}
	// Pinned to a commit: no ref is written for it.
	diffTrees(t, cacheTree(t, cache), expectTree("TheBloke/tiny-llama-GGUF", rp, commitB, []string{"tiny-llama.Q4_K_M.gguf", "tiny-llama.Q8_0.gguf"}, "main"))
	r, err := Resolve("TheBloke/tiny-llama-GGUF:Q4_K_M", Dirs{HFCache: cache, Ollama: t.TempDir()})
	if err != nil || r.Path != res.Path {
		t.Errorf("Resolve: %+v %v, want %s", r, err, res.Path)
	}
}

func TestPullRenamedRepoAndNoTree(t *testing.T) {
	f := newFakeHub(t)
	rp := storiesRepo(t)
	f.repos["karpathy/stories260k"] = rp
	f.renamed["karpathy/old-name"] = "karpathy/stories260k"
	f.noTree = true
	cache := t.TempDir()
	res, err := testClient(f, cache).Pull(context.Background(), HFRef{Org: "karpathy", Name: "old-name"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Files, ",") != strings.Join(wantFiles, ",") {
		t.Errorf("pulled %v, want %v", res.Files, wantFiles)
	}
	// Stored under the name asked for, as huggingface_hub does.
	diffTrees(t, cacheTree(t, cache), expectTree("karpathy/old-name", rp, commitA, wantFiles, "main"))
	if len(f.requests("HEAD hub /karpathy/old-name/resolve/")) == 0 || len(f.requests("HEAD hub /karpathy/stories260k/resolve/")) == 0 {
		t.Error("the relative redirect was not followed")
	}
}

func TestSelectFiles(t *testing.T) {
	files := func(names ...string) []RepoFile {
		var out []RepoFile
		for _, n := range names {
			out = append(out, RepoFile{Path: n, Size: 1})
		}
		return out
	}
	names := func(fs []RepoFile) string {
		var s []string
		for _, f := range fs {
			s = append(s, f.Path)
		}
		return strings.Join(s, " ")
	}
	ref := HFRef{Org: "o", Name: "n"}
	// Mistral-7B-v0.1's listing: safetensors shards and .bin duplicates.
	got, err := SelectFiles(files("config.json", "generation_config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
		"model.safetensors.index.json", "pytorch_model-00001-of-00002.bin", "pytorch_model-00002-of-00002.bin", "pytorch_model.bin.index.json",
		"special_tokens_map.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "README.md"), ref)
	want := "config.json generation_config.json model-00001-of-00002.safetensors model-00002-of-00002.safetensors model.safetensors.index.json special_tokens_map.json tokenizer.json tokenizer.model tokenizer_config.json"
	if err != nil || names(got) != want {
		t.Errorf("got %q, %v\nwant %q", names(got), err, want)
	}
	// Mistral-7B-Instruct-v0.3: both layouts; the native duplicate is skipped.
	got, err = SelectFiles(files("config.json", "consolidated.safetensors", "model-00001-of-00003.safetensors", "params.json", "tokenizer.model.v3", "tokenizer.json"), ref)
	if want := "config.json model-00001-of-00003.safetensors tokenizer.json tokenizer.model.v3"; err != nil || names(got) != want {
		t.Errorf("got %q, %v, want %q", names(got), err, want)
	}
	// Native only.
	got, err = SelectFiles(files("consolidated.safetensors", "params.json", "tokenizer.model.v3", "README.md"), ref)
	if want := "consolidated.safetensors params.json tokenizer.model.v3"; err != nil || names(got) != want {
		t.Errorf("got %q, %v, want %q", names(got), err, want)
	}
	// A split GGUF picked by quantization brings all its parts.
	ref.Quant = "Q8_0"
	got, err = SelectFiles(files("Q8_0/m-Q8_0-00002-of-00002.gguf", "Q8_0/m-Q8_0-00001-of-00002.gguf", "m-Q4_0.gguf"), ref)
	if want := "Q8_0/m-Q8_0-00001-of-00002.gguf Q8_0/m-Q8_0-00002-of-00002.gguf"; err != nil || names(got) != want {
		t.Errorf("got %q, %v, want %q", names(got), err, want)
	}
	// .bin only: nothing gale can load.
	if _, err := SelectFiles(files("config.json", "pytorch_model.bin"), HFRef{Org: "o", Name: "n"}); err == nil {
		t.Error("a .bin-only repository was accepted")
	}
	if _, err := SelectFiles(files("../escape.safetensors"), HFRef{Org: "o", Name: "n"}); err == nil {
		t.Error("an unsafe path was accepted")
	}
}

// Two pulls of one file do not write into the same partial file.
func TestPullLocked(t *testing.T) {
	f := newFakeHub(t)
	rp := storiesRepo(t)
	f.repos["karpathy/stories260k"] = rp
	cache := t.TempDir()
	sum := sha256hex(rp.files["model.safetensors"])
	blobs := filepath.Join(cache, "models--karpathy--stories260k", "blobs")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		t.Fatal(err)
	}
	unlock, err := lockFile(filepath.Join(blobs, sum+".lock"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = testClient(f, cache).Pull(context.Background(), HFRef{Org: "karpathy", Name: "stories260k"})
	if err == nil || !strings.Contains(err.Error(), "another download") {
		t.Errorf("err = %v, want the file locked", err)
	}
	unlock()
	if _, err := testClient(f, cache).Pull(context.Background(), HFRef{Org: "karpathy", Name: "stories260k"}); err != nil {
		t.Fatal(err)
	}
	diffTrees(t, cacheTree(t, cache), expectTree("karpathy/stories260k", rp, commitA, wantFiles, "main"))
}

// A download that goes quiet is dropped after IdleTimeout and resumed.
func TestPullResumesStalledDownload(t *testing.T) {
	f := newFakeHub(t)
	rp := storiesRepo(t)
	f.repos["karpathy/stories260k"] = rp
	sum := sha256hex(rp.files["model.safetensors"])
	f.stall[sum] = 200000
	cache := t.TempDir()
	c := testClient(f, cache)
	c.IdleTimeout = 200 * time.Millisecond
	if _, err := c.Pull(context.Background(), HFRef{Org: "karpathy", Name: "stories260k"}); err != nil {
		t.Fatal(err)
	}
	gets := f.requests("GET cdn /blob/" + sum)
	if len(gets) != 2 || !strings.Contains(gets[1], `range="bytes=200000-"`) {
		t.Errorf("CDN requests %v: want a resume from byte 200000", gets)
	}
	diffTrees(t, cacheTree(t, cache), expectTree("karpathy/stories260k", rp, commitA, wantFiles, "main"))
	// Without retries the stall is a one-line error.
	f.stall[sum] = 1000
	c = testClient(f, t.TempDir())
	c.IdleTimeout, c.Retries = 100*time.Millisecond, -1
	_, err := c.Pull(context.Background(), HFRef{Org: "karpathy", Name: "stories260k"})
	if err == nil || !strings.Contains(err.Error(), "no data for 100ms") {
		t.Errorf("err = %v, want no data for 100ms", err)
	}
}
