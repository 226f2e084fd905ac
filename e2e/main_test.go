package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// galeBin is the binary built by TestMain; repoRoot is the module root.
var galeBin, repoRoot string

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = filepath.Dir(wd)
	tmp, err := os.MkdirTemp("", "gale-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	galeBin = filepath.Join(tmp, "gale")
	if runtime.GOOS == "windows" {
		galeBin += ".exe"
	}
	build := exec.Command("go", "build", "-o", galeBin, "./cmd/gale")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building gale failed: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
	maxRSS         int64 // the child's peak resident set in bytes (0 where unknown)
}

// runOpts configure one run.
type runOpts struct {
	stdin string
	env   []string // added to the environment
	dir   string
	// timeout, when set, replaces runTimeout.
	timeout time.Duration
}

// runTimeout bounds every run: a hang is a failure, not a stuck test.
const runTimeout = 2 * time.Minute

// gale runs the binary with args and no stdin (like `< /dev/null`).
func gale(t *testing.T, args ...string) result {
	t.Helper()
	return galeWith(t, runOpts{}, args...)
}

// galeWith runs the binary with options.
func galeWith(t *testing.T, o runOpts, args ...string) result {
	t.Helper()
	limit := runTimeout
	if o.timeout > 0 {
		limit = o.timeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, galeBin, args...)
	cmd.Stdin = strings.NewReader(o.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(cleanEnv(), o.env...)
	cmd.Dir = o.dir
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("gale %s: still running after %v (hang)", strings.Join(args, " "), limit)
	}
	r := result{stdout: stdout.String(), stderr: stderr.String(), maxRSS: peakRSS(cmd.ProcessState)}
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("gale %s: %v", strings.Join(args, " "), err)
		}
		r.code = ee.ExitCode()
	}
	noStackTrace(t, r, args)
	return r
}

// cleanEnv is the test process's environment without variables that
// would change gale's behaviour behind the tests' back.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GALE_") || strings.HasPrefix(kv, "GOTRACEBACK=") || strings.HasPrefix(kv, "NO_COLOR=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// noStackTrace fails when a Go panic or goroutine dump reached the user.
func noStackTrace(t *testing.T, r result, args []string) {
	t.Helper()
	for _, bad := range []string{"goroutine ", "panic:", "runtime error", ".go:"} {
		if strings.Contains(r.stderr, bad) || strings.Contains(r.stdout, bad) {
			t.Fatalf("gale %s: Go internals reached the user (%q):\nstderr: %s", strings.Join(args, " "), bad, r.stderr)
		}
	}
}

// wantOK fails unless the run succeeded.
func wantOK(t *testing.T, r result, args ...string) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("gale %s: exit %d, want 0\nstderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
}

// wantError checks a failed run: exit code, nothing on stdout, and one
// line "gale: <what>: <why>" on stderr containing every string of mention.
func wantError(t *testing.T, r result, code int, mention ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %q\nstderr: %q", r.code, code, r.stdout, r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("stdout not empty on error: %q", r.stdout)
	}
	msg := strings.TrimSuffix(r.stderr, "\n")
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", r.stderr)
	}
	if !strings.HasPrefix(msg, "gale: ") || strings.Count(msg, ": ") < 2 {
		t.Errorf("error %q is not of the form \"gale: <what>: <why>\"", msg)
	}
	for _, m := range mention {
		if !strings.Contains(msg, m) {
			t.Errorf("error %q does not mention %q", msg, m)
		}
	}
}

// testdata returns the path of a fixture: the tokenizer vectors live in
// testdata/tokenizer, the models' files and references in testdata/models.
func testdata(parts ...string) string {
	area := "models"
	if parts[0] == "mistral-v0.1" {
		area = "tokenizer"
	}
	return filepath.Join(append([]string{repoRoot, "testdata", area}, parts...)...)
}

// storiesDir is the stories260k model directory: the files the binary
// embeds (provenance in model/embedded/README.md).
func storiesDir() string { return filepath.Join(repoRoot, "model", "embedded", "stories260k") }

// reference is stories260k/reference.json (llama2.c run.c outputs).
type reference struct {
	Runs []struct {
		Prompt       string      `json:"prompt"`
		PromptIDs    []int       `json:"prompt_ids"`
		PromptLogits [][]float64 `json:"prompt_logits"`
		GreedyIDs    []int       `json:"greedy_ids"`
		GreedyText   string      `json:"greedy_text"`
	} `json:"runs"`
	Llama2c struct {
		Args     []string `json:"llama2c_run_args"`
		Expected string   `json:"expected_stdout_without_final_newline"`
	} `json:"llama2c_greedy_200"`
}

func loadReference(t *testing.T) *reference {
	t.Helper()
	b, err := os.ReadFile(testdata("stories260k", "reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Runs) < 3 {
		t.Fatalf("reference.json has %d runs", len(r.Runs))
	}
	return &r
}

// run returns the reference run for a prompt.
func (r *reference) run(t *testing.T, prompt string) int {
	t.Helper()
	for i, x := range r.Runs {
		if x.Prompt == prompt {
			return i
		}
	}
	t.Fatalf("reference.json has no run for %q", prompt)
	return -1
}

// idsString renders ids as gale's --tokens / tokenize spell them.
func idsString(ids []int, sep string) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, sep)
}

// copyDir copies the regular files of src into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
