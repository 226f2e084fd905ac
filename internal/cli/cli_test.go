package cli

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// testApp is an app on buffers, with stdin not a terminal.
func testApp(stdin string) (*app, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &app{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}, &out, &errb
}

// checkOneLine fails unless stderr is exactly one "gale: " line.
func checkOneLine(t *testing.T, stderr string) {
	t.Helper()
	if !strings.HasPrefix(stderr, "gale: ") || strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("stderr %q is not one \"gale: ...\" line", stderr)
	}
}

func TestUsageExitCodes(t *testing.T) {
	cases := [][]string{
		{"generate", "--temp", "-1"},
		{"generate", "--top-p", "2"},
		{"generate", "--top-p", "NaN"},
		{"generate", "--min-p", "1.5"},
		{"generate", "-n", "abc"},
		{"generate", "-n", "-2"},
		{"generate", "--repeat-penalty", "-1"},
		{"generate", "--repeat-last-n", "-7"},
		{"generate", "-s", "-9"},
		{"generate", "--stop", ""},
		{"generate", "-c", "-1"},
		{"generate", "--chunk", "-1"},
		{"generate", "--bogus"},
		{"generate", "-p", "a", "-f", "b"},
		{"generate", "-p", "a", "--tokens", "1"},
		{"generate", "--tokens", "1,-2"},
		{"generate", "--tokens", ","},
		{"score", "-p", "a", "b"},
		{"frobnicate"},
		{"info", "stray"},
		{"bench", "-t", "0"},
		{"bench", "-p", "0", "-n", "0"},
		{"bench", "--dtype", "q4"},
		{"synth", "-o", "x", "--dtype", "int3"},
		{"detokenize", "x1"},
		{"chat", "--system", "s", "--messages", "f", "hello"},
	}
	for _, args := range cases {
		a, out, errb := testApp("")
		if code := a.run(args); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, ExitUsage, errb.String())
			continue
		}
		if out.Len() != 0 {
			t.Errorf("%v: stdout %q", args, out.String())
		}
		checkOneLine(t, errb.String())
	}
}

func TestGuardRecoversPanics(t *testing.T) {
	a, _, errb := testApp("")
	code := a.guard(func() int { panic("boom") })
	if code != ExitFailure || errb.String() != "gale: internal error: boom\n" {
		t.Errorf("guard: code %d stderr %q", code, errb.String())
	}
	a, _, errb = testApp("")
	code = a.guard(func() int {
		var m map[string]int
		m["x"] = 1 // a runtime error, as a bug would raise
		return 0
	})
	if code != ExitFailure || !strings.HasPrefix(errb.String(), "gale: internal error: ") || strings.Count(errb.String(), "\n") != 1 {
		t.Errorf("guard: code %d stderr %q", code, errb.String())
	}
}

func TestReport(t *testing.T) {
	cases := []struct {
		err  error
		code int
		line string
	}{
		{nil, ExitOK, ""},
		{usagef("bad %s", "flag"), ExitUsage, "gale: usage: bad flag\n"},
		{fail("load model", errors.New("x/config.json: missing hidden_size")), ExitFailure, "gale: load model: x/config.json: missing hidden_size\n"},
		{fail("read", errors.New("two\nlines")), ExitFailure, "gale: read: two; lines\n"},
		{fmt.Errorf("wrapped: %w", errInterrupted), ExitInterrupted, ""},
		{errors.New(`unknown command "x" for "gale"`), ExitUsage, "gale: usage: unknown command \"x\" for \"gale\"\n"},
	}
	for _, c := range cases {
		a, _, errb := testApp("")
		if code := a.report(c.err); code != c.code || errb.String() != c.line {
			t.Errorf("report(%v) = %d %q, want %d %q", c.err, code, errb.String(), c.code, c.line)
		}
	}
}

func TestWrapRunClassifies(t *testing.T) {
	cmd := &cobra.Command{Use: "generate"}
	plain := wrapRun(func(*cobra.Command, []string) error { return errors.New("disk full") })
	var re *runError
	if err := plain(cmd, nil); !errors.As(err, &re) || err.Error() != "generate: disk full" {
		t.Errorf("plain error became %#v", err)
	}
	usage := wrapRun(func(*cobra.Command, []string) error { return usagef("no") })
	var ue *usageError
	if err := usage(cmd, nil); !errors.As(err, &ue) {
		t.Errorf("usage error became %#v", err)
	}
}

// promptCmd builds a command with the prompt flags, parsed from args.
func promptCmd(t *testing.T, args ...string) (*cobra.Command, *promptFlags, []string) {
	t.Helper()
	var pf promptFlags
	cmd := &cobra.Command{Use: "x"}
	pf.register(cmd.Flags(), true)
	if err := cmd.Flags().Parse(args); err != nil {
		t.Fatal(err)
	}
	return cmd, &pf, cmd.Flags().Args()
}

func TestResolvePrompt(t *testing.T) {
	file := filepath.Join(t.TempDir(), "p.txt")
	if err := os.WriteFile(file, []byte("from file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args  []string
		stdin string
		term  bool
		want  promptInput
	}{
		{[]string{"-p", "flag text"}, "stdin text", false, promptInput{text: "flag text"}},
		{[]string{"-p", ""}, "stdin text", false, promptInput{text: ""}},
		{[]string{"two", "words"}, "stdin text", false, promptInput{text: "two words"}},
		{[]string{"-f", file}, "", false, promptInput{text: "from file"}},
		{[]string{"--tokens", "1, 2,3"}, "", false, promptInput{ids: []int{1, 2, 3}, isIDs: true}},
		{nil, "piped\r\n", false, promptInput{text: "piped"}},
		{nil, "keep\n\n", false, promptInput{text: "keep\n"}},
		{nil, "ignored: a terminal", true, promptInput{}},
	}
	for _, c := range cases {
		a, _, _ := testApp(c.stdin)
		a.stdinTerm = c.term
		cmd, pf, rest := promptCmd(t, c.args...)
		got, err := a.resolvePrompt(cmd, pf, rest)
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		if got.text != c.want.text || got.isIDs != c.want.isIDs || fmt.Sprint(got.ids) != fmt.Sprint(c.want.ids) {
			t.Errorf("%v stdin %q: got %+v, want %+v", c.args, c.stdin, got, c.want)
		}
	}
	for _, args := range [][]string{{"-p", "a", "b"}, {"-f", file, "--tokens", "1"}, {"-p", "a", "-f", file}} {
		a, _, _ := testApp("")
		cmd, pf, rest := promptCmd(t, args...)
		var ue *usageError
		if _, err := a.resolvePrompt(cmd, pf, rest); !errors.As(err, &ue) {
			t.Errorf("%v: err %v, want a usage error", args, err)
		}
	}
}

func TestFitContext(t *testing.T) {
	ids := make([]int, 100)
	for i := range ids {
		ids[i] = i + 1
	}
	if out, tr, err := fitContext(ids, 128, 1, 16, false); err != nil || tr || len(out) != 100 {
		t.Errorf("fits: %v %v %d", err, tr, len(out))
	}
	if _, _, err := fitContext(ids, 100, 1, 16, false); err == nil {
		t.Errorf("100 tokens in a context of 100 with a token to generate: no error")
	}
	if out, _, err := fitContext(ids, 100, 0, 0, false); err != nil || len(out) != 100 {
		t.Errorf("scoring exactly the context: %v %d", err, len(out))
	}
	// Keep BOS and the last 47 tokens, leaving 16 of 64 free.
	out, tr, err := fitContext(ids, 64, 1, 16, true)
	if err != nil || !tr || len(out) != 48 || out[0] != 1 || out[1] != 100-46 || out[47] != 100 {
		t.Errorf("truncate: %v %v %v", err, tr, out)
	}
	// Scoring truncates to exactly the context.
	out, tr, err = fitContext(ids, 64, 0, 0, true)
	if err != nil || !tr || len(out) != 64 || out[0] != 1 || out[63] != 100 {
		t.Errorf("truncate for scoring: %v %v %v", err, tr, out)
	}
}

func TestParseIDs(t *testing.T) {
	got, err := parseIDs(" 1,2  3\n[4]\t5,")
	if err != nil || fmt.Sprint(got) != "[1 2 3 4 5]" {
		t.Errorf("parseIDs = %v %v", got, err)
	}
	for _, bad := range []string{"1,a", "-1", "1.5", "99999999999999999999999", "1,,2", ",1", "1, ,2", ","} {
		if _, err := parseIDs(bad); err == nil {
			t.Errorf("parseIDs(%q): no error", bad)
		}
	}
}

func TestMeanStddev(t *testing.T) {
	m, sd := meanStddev([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	// Sample standard deviation: sqrt(32/7).
	if m != 5 || math.Abs(sd-math.Sqrt(32.0/7)) > 1e-12 {
		t.Errorf("meanStddev = %v %v", m, sd)
	}
	if m, sd := meanStddev([]float64{3}); m != 3 || sd != 0 {
		t.Errorf("one sample: %v %v", m, sd)
	}
}

func TestProcField(t *testing.T) {
	p := filepath.Join(t.TempDir(), "status")
	os.WriteFile(p, []byte("Name:\tgale\nVmHWM:\t  2048 kB\nMemAvailable:   12 kB\nPlain: 7\n"), 0o644)
	if v := procField(p, "VmHWM:"); v != 2048*1024 {
		t.Errorf("VmHWM = %d", v)
	}
	if v := procField(p, "Plain:"); v != 7 {
		t.Errorf("Plain = %d", v)
	}
	if v := procField(p, "Missing:"); v != 0 {
		t.Errorf("Missing = %d", v)
	}
}

func TestReadMessages(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	a, _, _ := testApp(`[{"role":"user","content":"hi"}]`)
	msgs, err := a.readMessages("-")
	if err != nil || len(msgs) != 1 || msgs[0].Role != "user" || msgs[0].Content != "hi" {
		t.Errorf("stdin: %v %v", msgs, err)
	}
	obj := write("obj.json", `{"messages":[{"role":"system","content":"s"},{"role":"user","content":"u","tool_calls":null}],"tools":[]}`)
	if msgs, err := a.readMessages(obj); err != nil || len(msgs) != 2 {
		t.Errorf("object form: %v %v", msgs, err)
	}
	for _, bad := range []string{`[]`, `{"x":1}`, `[{"role":"robot","content":"x"}]`, `[{"role":"user","content":5}]`, "\xff\xfe", `[` + strings.Repeat("[", 20000)} {
		p := write("bad.json", bad)
		_, err := a.readMessages(p)
		var re *runError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), "bad.json") {
			t.Errorf("%q: err %v, want a runtime error naming the file", bad, err)
		}
	}
}

// TestVersionFrom: the version line from -ldflags values or from what
// the Go toolchain recorded (module version, vcs.* settings).
func TestVersionFrom(t *testing.T) {
	vcs := &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
		{Key: "vcs.time", Value: "2026-12-01T20:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	cases := []struct {
		bi       *debug.BuildInfo
		ver, rev string
		want     string
	}{
		{nil, "dev", "", "dev"},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev", "", "dev"},
		{&debug.BuildInfo{Main: debug.Module{Version: "v0.3.1"}}, "dev", "", "v0.3.1"},
		{vcs, "dev", "", "dev (0123456789ab-dirty, 2026-12-01T20:00:00Z)"},
		{nil, "v1.2.3-4-gabc", "fedcba9876543210fedcba9876543210fedcba98", "v1.2.3-4-gabc (fedcba987654)"},
		{vcs, "v1.2.3", "fedcba9876543210fedcba9876543210fedcba98-dirty", "v1.2.3 (fedcba987654-dirty)"},
	}
	for _, c := range cases {
		if got := versionFrom(c.bi, c.ver, c.rev); got != c.want {
			t.Errorf("versionFrom(%v, %q, %q) = %q, want %q", c.bi != nil, c.ver, c.rev, got, c.want)
		}
	}
}

// TestProcessEscapes: llama.cpp's string_process_escapes rules, written
// out: \n \r \t \' \" \\ and \xHH become characters; \x without two hex
// digits and any other escape stay as typed; a lone final backslash too.
func TestProcessEscapes(t *testing.T) {
	for _, c := range [][2]string{
		{`a\nb`, "a\nb"}, {`\r\t`, "\r\t"}, {`\'\"`, `'"`}, {`\\n`, `\n`}, {`\x41\x6a`, "Aj"},
		{`\x4`, `\x4`}, {`\x4g`, `\x4g`}, {`\q`, `\q`}, {`end\`, `end\`}, {`C:\path`, `C:\path`}, {"plain", "plain"},
	} {
		if got := processEscapes(c[0]); got != c[1] {
			t.Errorf("processEscapes(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}

// TestRewriteShortFlags: llama.cpp's multi-letter short flags become long
// ones for a command that has them, in both spellings, never after "--";
// elsewhere they are left for pflag.
func TestRewriteShortFlags(t *testing.T) {
	a, _, _ := testApp("")
	root := a.newRoot()
	for _, c := range [][2]string{
		{"generate -ctk f32 -ctv=f32 -p x", "generate --cache-type-k f32 --cache-type-v=f32 -p x"},
		{"generate -p x -- -ctk", "generate -p x -- -ctk"},
		{"tokenize -ctk f32", "tokenize -ctk f32"},
		{"generate -np 2", "generate -np 2"},
		{"bench -ctk f32", "bench --cache-type-k f32"},
	} {
		if got := strings.Join(rewriteShortFlags(root, strings.Fields(c[0])), " "); got != c[1] {
			t.Errorf("rewrite %q = %q, want %q", c[0], got, c[1])
		}
	}
}

// TestDedupePrefixes: a path two layers both named appears once.
func TestDedupePrefixes(t *testing.T) {
	for _, c := range [][2]string{
		{"x/tokenizer.model: x/tokenizer.model: tokenizer: bad", "x/tokenizer.model: tokenizer: bad"},
		{"a: b: a: c", "a: b: a: c"},
		{"plain", "plain"},
	} {
		if got := dedupePrefixes(c[0]); got != c[1] {
			t.Errorf("dedupePrefixes(%q) = %q, want %q", c[0], got, c[1])
		}
	}
}

// TestFlagErrorWording: a bad flag value is named as typed, in words.
func TestFlagErrorWording(t *testing.T) {
	for _, c := range [][2]string{
		{"generate -n abc", `invalid value "abc" for -n: not an integer`},
		{"generate --predict=abc", `invalid value "abc" for --predict: not an integer`},
		{"generate --top-p high", `invalid value "high" for --top-p: not a number`},
		{"generate -n 99999999999999999999", `invalid value "99999999999999999999" for -n: out of range`},
	} {
		a, _, errb := testApp("")
		if code := a.run(strings.Fields(c[0])); code != ExitUsage || errb.String() != "gale: usage: "+c[1]+"\n" {
			t.Errorf("%s: exit %d, stderr %q, want %q", c[0], code, errb.String(), c[1])
		}
	}
}
