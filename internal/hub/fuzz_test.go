package hub

import (
	"strings"
	"testing"
)

// FuzzParseManifest: any bytes give a manifest whose layers all have
// sane digests, or an error; never a panic.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:` + strings.Repeat("a", 64) + `","size":5}]}`))
	f.Add([]byte(`{"layers":[{"digest":"sha256:../../etc/passwd","size":1}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseManifest(b)
		if err != nil {
			return
		}
		for _, l := range m.Layers {
			if !digestRE.MatchString(l.Digest) || l.Size < 0 {
				t.Fatalf("accepted layer %+v", l)
			}
			if p := blobPath("/root", l.Digest); !strings.HasPrefix(p, "/root/blobs/sha256-") || strings.Contains(p[len("/root/blobs/"):], "/") {
				t.Fatalf("blob path %s escapes blobs/", p)
			}
		}
	})
}

// FuzzParseParams: a params layer decodes or fails with an error; the
// values it yields are finite.
func FuzzParseParams(f *testing.F) {
	f.Add([]byte(`{"temperature":0.7,"stop":["[INST]"],"num_ctx":"4096","seed":-1}`))
	f.Add([]byte(`{"top_k":1e300}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseParams(b)
		if err != nil {
			return
		}
		if p.Temperature != nil && (*p.Temperature != *p.Temperature) {
			t.Fatal("NaN temperature accepted")
		}
	})
}

// FuzzParseRefs: whatever -m says, the parsed names never yield a path
// that leaves the store it is joined to.
func FuzzParseRefs(f *testing.F) {
	for _, s := range []string{"org/name", "org/name@v1:Q4_K_M", "org/name:dir/x.gguf", "mistral:7b", "host:1/ns/m:t", "a/../b", "m:..", "a/b@refs/pr/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if r, err := ParseHFRef(s); err == nil {
			for _, p := range []string{r.Org, r.Name} {
				if strings.ContainsAny(p, "/\\") || p == "." || p == ".." || strings.Contains(p, "--") {
					t.Fatalf("%q: bad part %q accepted", s, p)
				}
			}
			for _, p := range []string{r.Revision, r.File} {
				if p != "" && !safeRel(p) {
					t.Fatalf("%q: unsafe %q accepted", s, p)
				}
			}
			if back, err := ParseHFRef(r.String()); err != nil || back != r {
				t.Fatalf("%q: round trip %q -> %+v, %v", s, r.String(), back, err)
			}
		}
		if r, err := ParseOllamaRef(s); err == nil {
			for _, p := range []string{r.Host, r.Namespace, r.Name, r.Tag} {
				if p == "" || p == "." || p == ".." || strings.ContainsAny(p, "/\\") {
					t.Fatalf("%q: bad part %q accepted", s, p)
				}
			}
		}
	})
}
