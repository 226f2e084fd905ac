package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUsageErrors: a wrong command line exits 2 with one line on stderr.
func TestUsageErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "p.txt")
	if err := os.WriteFile(file, []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args    []string
		mention string
	}{
		{[]string{"generate", "--no-such-flag"}, "no-such-flag"},
		{[]string{"generate", "--temp", "-1", "-p", "x"}, "--temp"},
		{[]string{"generate", "--top-p", "2", "-p", "x"}, "--top-p"},
		{[]string{"generate", "--min-p", "-0.5", "-p", "x"}, "--min-p"},
		{[]string{"generate", "--top-k", "-3", "-p", "x"}, "--top-k"},
		{[]string{"generate", "--repeat-penalty", "0", "-p", "x"}, "--repeat-penalty"},
		{[]string{"generate", "-n", "abc", "-p", "x"}, "abc"},
		{[]string{"generate", "-n", "-5", "-p", "x"}, "max-tokens"},
		{[]string{"generate", "-t", "-1", "-p", "x"}, "threads"},
		{[]string{"generate", "-p", "x", "-f", file}, "mutually exclusive"},
		{[]string{"generate", "-p", "x", "--tokens", "1,2"}, "mutually exclusive"},
		{[]string{"generate", "-f", file, "--tokens", "1,2"}, "mutually exclusive"},
		{[]string{"generate", "-p", "x", "more", "words"}, "mutually exclusive"},
		{[]string{"generate", "--tokens", "1,x,3"}, "--tokens"},
		{[]string{"score", "--tokens", ""}, "--tokens"},
		{[]string{"no-such-command"}, "no-such-command"},
		{[]string{"version", "extra"}, "extra"},
		{[]string{"bench", "-r", "0"}, "repetitions"},
		{[]string{"bench", "--synthetic", "gpt-5"}, "gpt-5"},
		{[]string{"synth", "--shape", "tiny"}, "-o"},
		{[]string{"chat", "--messages", file, "-p", "hi"}, "mutually exclusive"},
		{[]string{"detokenize", "1", "two"}, "two"},
		{[]string{"chat"}, "no message"}, // stdin is empty, not a terminal
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, "_"), func(t *testing.T) {
			wantError(t, gale(t, c.args...), 2, c.mention)
		})
	}
}

// TestRuntimeErrors: a command line that is fine but cannot be carried
// out exits 1 with one line naming what failed.
func TestRuntimeErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	garbage := filepath.Join(t.TempDir(), "tokenizer.model")
	if err := os.WriteFile(garbage, []byte("\xff\xff\xff\xff not a protobuf"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args    []string
		mention string
	}{
		{[]string{"generate", "-m", missing, "-p", "x"}, "nope"},
		{[]string{"generate", "-f", missing}, "nope"},
		{[]string{"info", "-m", missing}, "nope"},
		{[]string{"tokenize", "-m", missing, "x"}, "nope"},
		{[]string{"generate", "--tokens", "1,99999"}, "99999"},
		{[]string{"detokenize", "99999"}, "99999"},
		{[]string{"chat", "--messages", missing}, "nope"},
	}
	loop := filepath.Join(t.TempDir(), "loop")
	if err := os.Symlink(loop, loop); err == nil {
		cases = append(cases, struct {
			args    []string
			mention string
		}{[]string{"info", "-m", loop}, "loop"})
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args[:2], "_"), func(t *testing.T) {
			wantError(t, gale(t, c.args...), 1, c.mention)
		})
	}
}

// TestVersion prints the kernel level, and warns about a bad GALE_CPU on
// stderr without failing.
func TestVersion(t *testing.T) {
	r := gale(t, "version")
	wantOK(t, r, "version")
	if !strings.HasPrefix(r.stdout, "gale ") || !strings.Contains(r.stdout, "go: go") || !strings.Contains(r.stdout, "kernels: ") {
		t.Errorf("version output: %q", r.stdout)
	}
	r = galeWith(t, runOpts{env: []string{"GALE_CPU=generic"}}, "version")
	wantOK(t, r, "version")
	if !strings.Contains(r.stdout, "kernels: generic") {
		t.Errorf("GALE_CPU=generic: %q", r.stdout)
	}
	r = galeWith(t, runOpts{env: []string{"GALE_CPU=pentium"}}, "version")
	wantOK(t, r, "version")
	if !strings.Contains(r.stderr, "GALE_CPU") || !strings.HasPrefix(r.stderr, "gale: warning: ") {
		t.Errorf("no warning for GALE_CPU=pentium: %q", r.stderr)
	}
}
