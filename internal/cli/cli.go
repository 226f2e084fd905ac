// Package cli implements the gale command line: cobra commands that turn
// flags into model/tokenizer options and print results. It holds no math;
// everything numeric lives in package model and below.
//
// Conventions every command follows (DESIGN.md §7):
//   - stdout carries only the product (generated text, ids, JSON), so that
//     pipes and $(...) work; everything else goes to stderr;
//   - errors are one line, "gale: <what>: <why>", exit 1 for runtime
//     failures and 2 for usage errors;
//   - no Go stack trace reaches the user: panics become "internal error".
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/gale-ai/gale/kernels"
)

// Exit codes. 130 is what a shell reports for a process ended by SIGINT,
// so scripts see the same status whether gale stopped itself cleanly or not.
const (
	ExitOK          = 0
	ExitFailure     = 1
	ExitUsage       = 2
	ExitInterrupted = 130
)

// usageError marks a problem with the command line itself (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef builds a usage error (exit 2).
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// runError is a runtime failure (exit 1): what was being done and why it
// failed, printed as "gale: <what>: <why>".
type runError struct {
	what string
	err  error
}

func (e *runError) Error() string { return e.what + ": " + e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// fail wraps err as a runtime failure of the step named what.
func fail(what string, err error) error {
	if err == nil {
		return nil
	}
	var ue *usageError
	if errors.As(err, &ue) {
		return err
	}
	return &runError{what: what, err: err}
}

// errInterrupted is returned by a command that stopped because of SIGINT
// after doing its cleanup (flushing output); it maps to exit 130.
var errInterrupted = errors.New("interrupted")

// app is one invocation's environment. Commands read and write only
// through it, which lets the unit tests run commands in-process with
// buffers in place of the terminal.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	stdinTerm  bool // stdin is an interactive terminal (never read a prompt from it)
	stdoutTerm bool
	stderrTerm bool // progress bars only then
	noColor    bool // NO_COLOR is set (https://no-color.org)

	// sig delivers SIGINT; nil when signals are not wired (unit tests).
	sig chan os.Signal

	mu       sync.Mutex
	onSignal func() // what the first SIGINT does; nil = exit 130 at once

	args []string // the command line, for naming flags as they were typed
}

// multiLetterShort maps llama.cpp's multi-letter short flags, which pflag
// cannot declare (a single dash takes one letter), to gale's long names.
// rewriteShortFlags applies it before cobra parses; a command that adds
// such a flag adds its line here.
var multiLetterShort = map[string]string{
	"-ctk": "--cache-type-k",
	"-ctv": "--cache-type-v",
	"-np":  "--parallel",
}

// flagAliases are other long names of a flag (llama.cpp's and
// llama-cli's spellings), resolved by pflag's name normalization.
var flagAliases = map[string]string{
	"n-predict":      "max-tokens",
	"predict":        "max-tokens",
	"reverse-prompt": "stop",
}

// rewriteShortFlags replaces multi-letter short flags ("-ctk f16",
// "-ctk=f16") by their long names, only for a command that has the long
// flag (elsewhere "-np" stays pflag's "-n p") and only before "--".
func rewriteShortFlags(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil || cmd == nil {
		return args
	}
	out := make([]string, 0, len(args))
	for i, arg := range args {
		if arg == "--" {
			return append(out, args[i:]...)
		}
		name, value, hasValue := strings.Cut(arg, "=")
		if long, ok := multiLetterShort[name]; ok && cmd.Flags().Lookup(long[2:]) != nil {
			if hasValue {
				arg = long + "=" + value
			} else {
				arg = long
			}
		}
		out = append(out, arg)
	}
	return out
}

// flagError rewords pflag's complaint about a flag's value, which quotes
// Go's strconv ("strconv.ParseInt: parsing \"abc\": invalid syntax"), as
// `invalid value "abc" for -n: not an integer`, naming the flag as typed.
func (a *app) flagError(err error) error {
	var ive *pflag.InvalidValueError
	if !errors.As(err, &ive) {
		return &usageError{msg: err.Error()}
	}
	f := ive.GetFlag()
	why := "invalid"
	switch f.Value.Type() {
	case "int", "int8", "int16", "int32", "int64":
		why = "not an integer"
	case "uint", "uint8", "uint16", "uint32", "uint64":
		why = "not a non-negative integer"
	case "float32", "float64":
		why = "not a number"
	case "bool":
		why = "not true or false"
	case "duration":
		why = "not a duration (e.g. 30s, 5m)"
	}
	if errors.Is(err, strconv.ErrRange) {
		why = "out of range"
	}
	return &usageError{msg: fmt.Sprintf("invalid value %q for %s: %s", ive.GetValue(), a.typedFlagName(f), why)}
}

// typedFlagName names f the way the command line spelled it: "-n" or
// "--max-tokens" (or an alias such as "--predict").
func (a *app) typedFlagName(f *pflag.Flag) string {
	for _, arg := range a.args {
		if arg == "--" {
			break
		}
		name, _, _ := strings.Cut(arg, "=")
		if strings.HasPrefix(name, "--") {
			n := name[2:]
			if n == f.Name || flagAliases[n] == f.Name {
				return name
			}
		} else if f.Shorthand != "" && strings.HasPrefix(name, "-"+f.Shorthand) {
			return "-" + f.Shorthand
		}
	}
	if f.Shorthand != "" {
		return "-" + f.Shorthand
	}
	return "--" + f.Name
}

// Main runs gale with the given arguments (without the program name) on
// the process's standard streams and returns the exit status.
func Main(args []string) int {
	a := &app{
		stdin:      os.Stdin,
		stdout:     os.Stdout,
		stderr:     os.Stderr,
		stdinTerm:  term.IsTerminal(int(os.Stdin.Fd())),
		stdoutTerm: term.IsTerminal(int(os.Stdout.Fd())),
		stderrTerm: term.IsTerminal(int(os.Stderr.Fd())),
		noColor:    os.Getenv("NO_COLOR") != "",
		sig:        make(chan os.Signal, 2),
	}
	signal.Notify(a.sig, os.Interrupt)
	defer signal.Stop(a.sig)
	go a.signalLoop()
	return a.run(args)
}

// signalLoop implements the two-stage Ctrl-C: the first one runs the
// handler the current command armed (stop generating cleanly, or remind
// how to quit); a handler fires once, so a second Ctrl-C before it is
// re-armed, or one with nothing armed, exits at once with 130.
func (a *app) signalLoop() {
	for range a.sig {
		a.mu.Lock()
		h := a.onSignal
		a.onSignal = nil
		a.mu.Unlock()
		if h == nil {
			os.Exit(ExitInterrupted)
		}
		h()
	}
}

// setOnSignal arms what the next SIGINT does while a command runs (nil
// restores "exit at once").
func (a *app) setOnSignal(f func()) {
	a.mu.Lock()
	a.onSignal = f
	a.mu.Unlock()
}

// interruptContext returns a context cancelled by the first SIGINT, for
// commands that can stop cleanly (generate, chat). stop undoes it.
func (a *app) interruptContext(parent context.Context) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	a.setOnSignal(cancel)
	return ctx, func() {
		a.setOnSignal(nil)
		cancel()
	}
}

// run executes one command line and maps its outcome to an exit status.
func (a *app) run(args []string) int {
	return a.guard(func() int {
		if kernels.EnvError != nil {
			a.warn("%v", kernels.EnvError)
		}
		root := a.newRoot()
		args = rewriteShortFlags(root, args)
		a.args = args
		root.SetArgs(args)
		return a.report(root.Execute())
	})
}

// guard runs f, turning a panic into "gale: internal error: ..." and exit
// 1: a user gets one line to paste into a bug report, not a stack dump.
func (a *app) guard(f func() int) (code int) {
	defer func() {
		if r := recover(); r != nil {
			a.errorLine("internal error", fmt.Errorf("%v", r))
			code = ExitFailure
		}
	}()
	// A fault while touching memory (e.g. a mapped file shrunk under us)
	// becomes a recoverable panic on this goroutine instead of a crash.
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	return f()
}

// report prints err (if any) as one line and returns the exit status.
func (a *app) report(err error) int {
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, errInterrupted) {
		return ExitInterrupted
	}
	var re *runError
	if errors.As(err, &re) {
		a.errorLine(re.what, re.err)
		return ExitFailure
	}
	// Everything else, including cobra's own complaints (unknown command
	// or flag, wrong number of arguments), is a usage error.
	if first, rest, ok := strings.Cut(err.Error(), "\n"); ok && strings.HasPrefix(first, "unknown command") {
		// Cobra's "Did you mean this?" list reads as a list, one
		// suggestion a line, after the one-line error.
		a.errorLine("usage", errors.New(first))
		if rest = strings.TrimSpace(rest); rest != "" {
			fmt.Fprintln(a.stderr, rest)
		}
		return ExitUsage
	}
	a.errorLine("usage", err)
	return ExitUsage
}

// errorLine prints "gale: what: why" on a single line.
func (a *app) errorLine(what string, err error) {
	fmt.Fprintf(a.stderr, "gale: %s: %s\n", what, oneLine(err.Error()))
}

// warn prints a one-line warning on stderr.
func (a *app) warn(format string, args ...any) {
	fmt.Fprintf(a.stderr, "gale: warning: %s\n", oneLine(fmt.Sprintf(format, args...)))
}

// infof prints a status line on stderr (used with -v and for notices).
func (a *app) infof(format string, args ...any) {
	fmt.Fprintf(a.stderr, format, args...)
}

// oneLine folds a multi-line message so that every error stays on one
// line, as scripts grepping stderr expect.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\r\n", "; ")
	s = strings.ReplaceAll(s, "\n", "; ")
	return s
}

// newRoot builds the command tree for this invocation.
func (a *app) newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "gale",
		Short: "Run Mistral- and Llama-class language models on the CPU",
		Long: "gale runs Mistral-7B and Llama-2 family models (and the embedded\n" +
			"stories260k demo model) from their published weights, in pure Go.\n" +
			"Generated text goes to stdout; progress, stats and warnings to stderr.",
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		Version:           versionString(),
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return a.flagError(err) })
	root.SetGlobalNormalizationFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if n, ok := flagAliases[name]; ok {
			name = n
		}
		return pflag.NormalizedName(name)
	})
	root.AddCommand(
		a.newGenerateCmd(),
		a.newChatCmd(),
		a.newScoreCmd(),
		a.newPerplexityCmd(),
		a.newQuantizeCmd(),
		a.newTokenizeCmd(),
		a.newDetokenizeCmd(),
		a.newBenchCmd(),
		a.newInfoCmd(),
		a.newPullCmd(),
		a.newListCmd(),
		a.newVersionCmd(),
		a.newSynthCmd(),
		a.newServeCmd(),
		a.newServeBenchCmd(),
	)
	return root
}
