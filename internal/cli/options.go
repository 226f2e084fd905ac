package cli

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gale-ai/gale/model"
)

// modelFlags are the flags of every command that runs a model.
type modelFlags struct {
	path    string
	check   bool
	threads int
	ctxSize int
	chunk   int
	kvF16   bool
	verbose bool
}

func (f *modelFlags) register(fs *pflag.FlagSet) {
	fs.StringVarP(&f.path, "model", "m", "", "model directory (HF or Mistral native layout); default: the embedded stories260k model")
	fs.BoolVar(&f.check, "check", false, "scan every weight for NaN/Inf while loading")
	fs.IntVarP(&f.threads, "threads", "t", 0, "threads to use (0 = physical cores)")
	fs.IntVarP(&f.ctxSize, "ctx-size", "c", 0, "context size in tokens (0 = the model's)")
	fs.IntVar(&f.chunk, "chunk", 0, "prefill chunk size in tokens (0 = default)")
	fs.BoolVar(&f.kvF16, "kv-f16", false, "store the KV cache as f16 (half the memory)")
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "print load time, seed and speed on stderr")
}

func (f *modelFlags) validate() error {
	if f.threads < 0 {
		return usagef("invalid argument %d for \"-t, --threads\": must be >= 0", f.threads)
	}
	if f.ctxSize < 0 {
		return usagef("invalid argument %d for \"-c, --ctx-size\": must be >= 0", f.ctxSize)
	}
	if f.chunk < 0 {
		return usagef("invalid argument %d for \"--chunk\": must be >= 0", f.chunk)
	}
	return nil
}

func (f *modelFlags) sessionOptions() model.SessionOptions {
	return model.SessionOptions{Threads: f.threads, CtxSize: f.ctxSize, ChunkSize: f.chunk, KVF16: f.kvF16}
}

// loadModel opens the model named by -m (or the embedded one), showing a
// progress bar for the long steps when stderr is a terminal.
func (a *app) loadModel(f *modelFlags) (*model.Model, time.Duration, error) {
	update, finish := a.progress("loading", true)
	opts := model.LoadOptions{Check: f.check, Progress: update}
	t0 := time.Now()
	var m *model.Model
	var err error
	if f.path == "" {
		m, err = model.LoadDefault(opts)
	} else {
		m, err = model.Load(f.path, opts)
	}
	finish()
	if err != nil {
		// Every load error names the checkpoint, even one the model
		// package words without a path (e.g. a tensor missing from a set).
		if msg := err.Error(); !strings.Contains(msg, f.path) && !strings.Contains(msg, filepath.Clean(f.path)) {
			err = fmt.Errorf("%s: %w", f.path, err)
		}
		return nil, 0, fail("load model", err)
	}
	d := time.Since(t0)
	if f.verbose {
		a.infof("gale: loaded %s (%s, %.2f M params) in %.0f ms\n", m.Name, strings.Join(m.DTypes(), "/"),
			float64(m.NumParams())/1e6, ms(d))
	}
	return m, d, nil
}

// promptFlags select where the prompt comes from.
type promptFlags struct {
	prompt   string
	file     string
	tokens   string
	truncate bool
}

func (f *promptFlags) register(fs *pflag.FlagSet, withTokens bool) {
	fs.StringVarP(&f.prompt, "prompt", "p", "", "prompt text (else the arguments, else stdin when it is not a terminal)")
	fs.StringVarP(&f.file, "file", "f", "", "read the prompt from this file")
	if withTokens {
		fs.StringVar(&f.tokens, "tokens", "", "prompt as token ids, e.g. 1,2,3 (no BOS is added)")
	}
	fs.BoolVar(&f.truncate, "truncate", false, "keep the end of a prompt longer than the context instead of failing")
}

// promptInput is a resolved prompt: either text or explicit ids.
type promptInput struct {
	text  string
	ids   []int
	isIDs bool
}

// resolvePrompt picks the prompt source with the precedence of DESIGN.md
// §7: -p, else -f, else --tokens, else positional arguments joined by
// spaces, else stdin when it is not a terminal. Giving more than one
// source is a usage error rather than a silent choice.
func (a *app) resolvePrompt(cmd *cobra.Command, f *promptFlags, args []string) (promptInput, error) {
	var given []string
	if cmd.Flags().Changed("prompt") {
		given = append(given, "-p")
	}
	if cmd.Flags().Changed("file") {
		given = append(given, "-f")
	}
	if cmd.Flags().Lookup("tokens") != nil && cmd.Flags().Changed("tokens") {
		given = append(given, "--tokens")
	}
	if len(args) > 0 {
		given = append(given, "a prompt argument")
	}
	if len(given) > 1 {
		return promptInput{}, usagef("%s and %s are mutually exclusive", given[0], given[1])
	}
	switch {
	case cmd.Flags().Changed("prompt"):
		return promptInput{text: f.prompt}, nil
	case cmd.Flags().Changed("file"):
		b, err := os.ReadFile(f.file)
		if err != nil {
			return promptInput{}, fail("read prompt", err)
		}
		return promptInput{text: trimOneNewline(string(b))}, nil
	case cmd.Flags().Lookup("tokens") != nil && cmd.Flags().Changed("tokens"):
		ids, err := parseIDs(f.tokens)
		if err != nil {
			return promptInput{}, usagef("invalid argument %q for \"--tokens\": %v", f.tokens, err)
		}
		if len(ids) == 0 {
			return promptInput{}, usagef("invalid argument %q for \"--tokens\": no ids", f.tokens)
		}
		return promptInput{ids: ids, isIDs: true}, nil
	case len(args) > 0:
		return promptInput{text: strings.Join(args, " ")}, nil
	case !a.stdinTerm && a.stdin != nil:
		b, err := io.ReadAll(a.stdin)
		if err != nil {
			return promptInput{}, fail("read prompt from stdin", err)
		}
		return promptInput{text: trimOneNewline(string(b))}, nil
	}
	// A terminal and no prompt: start from BOS alone, as llama2.c does.
	return promptInput{}, nil
}

// trimOneNewline drops the single line ending that `echo` and editors add
// (as llama.cpp does for -f), keeping any deliberate blank lines before it.
func trimOneNewline(s string) string {
	if strings.HasSuffix(s, "\r\n") {
		return s[:len(s)-2]
	}
	return strings.TrimSuffix(s, "\n")
}

// parseIDs parses token ids separated by commas and/or white space.
func parseIDs(s string) ([]int, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '[' || r == ']'
	})
	ids := make([]int, 0, len(fields))
	for _, f := range fields {
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a token id", f)
		}
		if v < 0 {
			return nil, fmt.Errorf("token id %d is negative", v)
		}
		ids = append(ids, v)
	}
	return ids, nil
}

// encodePrompt turns a resolved prompt into ids: text gets BOS prepended
// (when the tokenizer has one); explicit ids are used as given.
func encodePrompt(m *model.Model, in promptInput) ([]int, error) {
	if in.isIDs {
		for _, id := range in.ids {
			if id >= m.Config.VocabSize {
				return nil, fmt.Errorf("token id %d out of range (vocabulary has %d)", id, m.Config.VocabSize)
			}
		}
		return in.ids, nil
	}
	if m.Tokenizer == nil {
		return nil, fmt.Errorf("%s has no tokenizer; give the prompt as --tokens", m.Name)
	}
	ids := make([]int, 0, len(in.text)/3+2)
	if bos := m.Tokenizer.BOS(); bos >= 0 {
		ids = append(ids, bos)
	}
	return append(ids, m.Tokenizer.Encode(in.text)...), nil
}

// fitContext checks that a prompt leaves at least minFree positions free
// in a context of ctx (1 for generation: room for one new token; 0 for
// scoring); the policy is the library's (model.FitPrompt).
func fitContext(ids []int, ctx, minFree, keepFree int, truncate bool) ([]int, bool, error) {
	return model.FitPrompt(ids, ctx, minFree, keepFree, truncate)
}

// sampleFlags are generate's and chat's sampling flags, with llama.cpp's
// names and defaults.
type sampleFlags struct {
	maxTokens     int
	temp          float64
	topK          int
	topP          float64
	minP          float64
	repeatPenalty float64
	repeatLastN   int
	seed          int64
	stop          []string
}

func (f *sampleFlags) register(fs *pflag.FlagSet, defaultN int) {
	fs.IntVarP(&f.maxTokens, "max-tokens", "n", defaultN, "tokens to generate (-1 = until end of text or context)")
	fs.Float64Var(&f.temp, "temp", 0.8, "temperature (0 = greedy)")
	fs.IntVar(&f.topK, "top-k", 40, "top-k sampling (0 = off)")
	fs.Float64Var(&f.topP, "top-p", 0.95, "top-p (nucleus) sampling (1 = off)")
	fs.Float64Var(&f.minP, "min-p", 0.05, "min-p sampling (0 = off)")
	fs.Float64Var(&f.repeatPenalty, "repeat-penalty", 1.1, "penalty for repeated tokens (1 = off)")
	fs.IntVar(&f.repeatLastN, "repeat-last-n", 64, "how many recent tokens the penalty looks at (0 = off, -1 = context)")
	fs.Int64VarP(&f.seed, "seed", "s", -1, "random seed (-1 = random; printed with -v)")
	fs.StringArrayVar(&f.stop, "stop", nil, "stop when the text ends with this string (repeatable; not printed)")
}

// validate rejects values no sampler can honour; these are usage errors
// (exit 2) because the command line itself is wrong.
func (f *sampleFlags) validate() error {
	bad := func(name string, v any, why string) error {
		return usagef("invalid argument %v for %q: %s", v, name, why)
	}
	switch {
	case f.maxTokens < -1:
		return bad("-n, --max-tokens", f.maxTokens, "must be >= -1")
	case math.IsNaN(f.temp) || f.temp < 0:
		return bad("--temp", f.temp, "must be >= 0")
	case f.topK < 0:
		return bad("--top-k", f.topK, "must be >= 0")
	case math.IsNaN(f.topP) || f.topP < 0 || f.topP > 1:
		return bad("--top-p", f.topP, "must be in [0, 1]")
	case math.IsNaN(f.minP) || f.minP < 0 || f.minP > 1:
		return bad("--min-p", f.minP, "must be in [0, 1]")
	case math.IsNaN(f.repeatPenalty) || f.repeatPenalty <= 0:
		return bad("--repeat-penalty", f.repeatPenalty, "must be > 0")
	case f.repeatLastN < -1:
		return bad("--repeat-last-n", f.repeatLastN, "must be >= -1")
	case f.seed < -1:
		return bad("-s, --seed", f.seed, "must be >= 0, or -1 for random")
	}
	for _, s := range f.stop {
		if s == "" {
			return bad("--stop", `""`, "must not be empty")
		}
	}
	return nil
}

// resolveSeed returns the seed to use: the given one, or a random one.
func (f *sampleFlags) resolveSeed() uint64 {
	if f.seed >= 0 {
		return uint64(f.seed)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return uint64(time.Now().UnixNano())
	}
	// Keep it below 2^53 so it survives a round trip through JSON tools
	// that read numbers as doubles.
	return binary.LittleEndian.Uint64(b[:]) & (1<<53 - 1)
}

// samplerOptions builds the model's sampler options; ctx resolves
// --repeat-last-n -1.
func (f *sampleFlags) samplerOptions(seed uint64, ctx int) model.SamplerOptions {
	last := f.repeatLastN
	if last == -1 {
		last = ctx
	}
	return model.SamplerOptions{
		Temp:          float32(f.temp),
		TopK:          f.topK,
		TopP:          float32(f.topP),
		MinP:          float32(f.minP),
		RepeatPenalty: float32(f.repeatPenalty),
		RepeatLastN:   last,
		Seed:          seed,
	}
}

// ms converts a duration to milliseconds as a float.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// perSecond returns n/d in units per second (0 when d is 0).
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
