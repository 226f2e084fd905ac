package cli

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gale-ai/gale/internal/hub"
	"github.com/gale-ai/gale/model"
)

// modelFlags are the flags of every command that runs a model.
type modelFlags struct {
	path    string
	check   bool
	threads int
	ctxSize int
	chunk   int
	window  int // --sliding-window
	kv      kvFlags
	verbose bool
	// warm: the command runs the model, so loading reads uncached
	// weights up front with a progress bar (see warmPageCache); info and
	// tokenize only look at the files.
	warm bool

	resolved *hub.Resolved // what -m named, once loadModel resolved it
}

// register declares the flags; kvDefault is the command's KV cache type
// ("f16" for generate, chat, serve and bench, as llama.cpp; "f32" for
// score and perplexity, which exist to measure exactly; "" for a command
// that keeps no KV cache, e.g. quantize: no -ctk/-ctv flags).
func (f *modelFlags) register(fs *pflag.FlagSet, kvDefault string) {
	f.warm = true
	fs.StringVarP(&f.path, "model", "m", "", "model: a directory or .gguf file, org/name[@rev][:FILE.gguf|:QUANT] from the Hugging Face cache, or an ollama name[:tag]; default: the embedded stories260k model")
	fs.BoolVar(&f.check, "check", false, "scan every weight for NaN/Inf while loading")
	fs.IntVarP(&f.threads, "threads", "t", 0, "threads to use (0 = physical cores)")
	fs.IntVarP(&f.ctxSize, "ctx-size", "c", 0, "context size in tokens (0 = the model's)")
	fs.IntVar(&f.chunk, "chunk", 0, "prefill chunk size in tokens (0 = default)")
	f.registerWindow(fs)
	if kvDefault != "" {
		f.kv.register(fs, kvDefault)
	}
	fs.BoolVarP(&f.verbose, "verbose", "v", false, "print load time, seed and speed on stderr")
}

// registerWindow declares --sliding-window (info, which has flags of its
// own, declares it too, to show the window it would run with).
func (f *modelFlags) registerWindow(fs *pflag.FlagSet) {
	fs.IntVar(&f.window, "sliding-window", 0, "attention window in tokens, for GGUF files of Mistral that record none (0 = the model's own)")
}

// kvFlags choose the KV cache's element type: -ctk/--cache-type-k and
// -ctv/--cache-type-v as llama.cpp spells them, and the older --kv-f16.
type kvFlags struct {
	typeK, typeV string
	f16          bool // --kv-f16
}

func (f *kvFlags) register(fs *pflag.FlagSet, def string) {
	fs.StringVar(&f.typeK, "cache-type-k", def, "KV cache type of K: f16 or f32 (-ctk)")
	fs.StringVar(&f.typeV, "cache-type-v", def, "KV cache type of V: f16 or f32 (-ctv)")
	fs.BoolVar(&f.f16, "kv-f16", false, "the KV cache as f16 (same as -ctk f16 -ctv f16)")
}

// resolve returns whether the cache is f16; gale stores K and V in one
// type, so differing types are a usage error rather than a silent choice.
func (f *kvFlags) resolve() (bool, error) {
	if f.typeK == "" && f.typeV == "" { // a command without the flags (info)
		return false, nil
	}
	for _, v := range [][2]string{{"-ctk, --cache-type-k", f.typeK}, {"-ctv, --cache-type-v", f.typeV}} {
		if v[1] != "f16" && v[1] != "f32" {
			return false, usagef("invalid value %q for %s: want f16 or f32", v[1], v[0])
		}
	}
	if f.typeK != f.typeV {
		return false, usagef("-ctk %s with -ctv %s: gale keeps K and V in one type; give both the same", f.typeK, f.typeV)
	}
	if f.f16 && f.typeK == "f32" {
		return false, usagef("--kv-f16 and -ctk f32 contradict each other")
	}
	return f.f16 || f.typeK == "f16", nil
}

// kvName names the cache type for -v lines.
func kvName(f16 bool) string {
	if f16 {
		return "f16"
	}
	return "f32"
}

func (f *modelFlags) validate() error {
	if _, err := f.kv.resolve(); err != nil {
		return err
	}
	if f.threads < 0 {
		return usagef("invalid argument %d for \"-t, --threads\": must be >= 0", f.threads)
	}
	if f.ctxSize < 0 {
		return usagef("invalid argument %d for \"-c, --ctx-size\": must be >= 0", f.ctxSize)
	}
	if f.chunk < 0 {
		return usagef("invalid argument %d for \"--chunk\": must be >= 0", f.chunk)
	}
	if f.window < 0 {
		return usagef("invalid argument %d for \"--sliding-window\": must be >= 0", f.window)
	}
	return nil
}

func (f *modelFlags) sessionOptions() model.SessionOptions {
	f16, _ := f.kv.resolve() // validate has reported a bad value
	return model.SessionOptions{Threads: f.threads, CtxSize: f.ctxSize, ChunkSize: f.chunk, KVF16: f16}
}

// loadModel opens the model named by -m (or the embedded one), showing a
// progress bar for the long steps when stderr is a terminal.
func (a *app) loadModel(f *modelFlags) (*model.Model, time.Duration, error) {
	return a.loadModelCtx(context.Background(), f)
}

// loadModelCtx is loadModel with a context that interrupts the page-cache
// warm-up (generate arms Ctrl-C before loading).
func (a *app) loadModelCtx(ctx context.Context, f *modelFlags) (*model.Model, time.Duration, error) {
	update, finish := a.progress("loading", true)
	opts := model.LoadOptions{Check: f.check, Progress: update, SlidingWindow: f.window}
	t0 := time.Now()
	var m *model.Model
	var err error
	if f.path == "" {
		m, err = model.LoadDefault(opts)
	} else if res, rerr := a.resolveModel(f); rerr != nil {
		err = rerr
	} else if m, err = model.Load(res.Path, opts); err == nil && res.Source != hub.SourcePath {
		m.Name = res.Name
	}
	finish()
	if err == nil && f.path != "" {
		err = addGenerationConfig(m, f.loadPath())
		if err != nil {
			m.Close()
		}
	}
	if err != nil {
		msg := plainPathError(err).Error()
		// The path may say gguf itself; what counts is the message.
		bare := strings.ReplaceAll(strings.ReplaceAll(msg, f.path, ""), filepath.Dir(f.path), "")
		if isGGUF(f.path) && !strings.Contains(strings.ToLower(bare), "gguf") {
			// Without GGUF support the loader looks for a directory
			// next to the file; say what the file is instead.
			if strings.Contains(msg, "not a model directory") {
				return nil, 0, fail("load model", fmt.Errorf("%s: GGUF files are not supported by this build; give an HF or Mistral model directory", f.path))
			}
			msg = f.path + ": GGUF file: " + strings.TrimPrefix(strings.TrimPrefix(msg, f.path), ": ")
		}
		// Every load error names the checkpoint, even one the model
		// package words without a path (e.g. a tensor missing from a set).
		if !strings.Contains(msg, f.path) && !strings.Contains(msg, filepath.Clean(f.path)) &&
			!(isFile(f.path) && strings.Contains(msg, filepath.Dir(f.path))) {
			msg = f.path + ": " + msg
		}
		return nil, 0, fail("load model", errors.New(dedupePrefixes(msg)))
	}
	if f.warm && !f.check {
		if err := a.warmPageCache(ctx, m); err != nil {
			m.Close()
			return nil, 0, err
		}
	}
	d := time.Since(t0)
	if f.verbose {
		a.infof("gale: loaded %s (%s, %.2f M params) in %.0f ms\n", m.Name, strings.Join(m.DTypes(), "/"),
			float64(m.NumParams())/1e6, ms(d))
	}
	return m, d, nil
}

// newSession opens a session with the model flags, warning (once per
// command) when -c asks for more positions than the model was trained on:
// llama.cpp allows it too, but the text past that point degrades.
func (a *app) newSession(m *model.Model, f *modelFlags) (*model.Session, error) {
	if f.ctxSize > m.Config.MaxSeqLen {
		a.warn("-c %d is larger than the context %s was trained with (%d); text past %d tokens may degrade",
			f.ctxSize, m.Name, m.Config.MaxSeqLen, m.Config.MaxSeqLen)
	}
	sess, err := m.NewSession(f.sessionOptions())
	if err != nil {
		return nil, fail("create session", err)
	}
	return sess, nil
}

// warmMin is how much of a model's files must be missing from the page
// cache before loading reads them with a progress bar: below it, the
// first token's page faults are quick enough to go unexplained.
const warmMin = 64 << 20

// warmPageCache reads the model's files into the page cache with a
// progress bar, when stderr is a terminal and much of them is not cached
// (mincore tells): weights are mapped, not read, at load, so otherwise
// the first token would silently take as long as reading the whole file
// (minutes for a 7B model on a slow disk). Files that do not fit in
// available memory are left alone: reading them would only evict their
// own beginning. The mapping shares the cached pages, so nothing is read
// twice.
func (a *app) warmPageCache(ctx context.Context, m *model.Model) error {
	if !a.stderrTerm {
		return nil
	}
	var files []string
	seen := map[string]bool{}
	for _, t := range m.Tensors() {
		if t.File != "" && !seen[t.File] {
			seen[t.File] = true
			files = append(files, t.File)
		}
	}
	var total, missing int64
	for _, p := range files {
		res, size, ok := residentBytes(p)
		if !ok {
			return nil
		}
		total += size
		missing += size - res
	}
	if missing < warmMin {
		return nil
	}
	if ok, _ := fitsInMemory(total); !ok {
		return nil
	}
	update, finish := a.progress("reading weights", true)
	defer finish()
	buf := make([]byte, 4<<20)
	var done int64
	for _, p := range files {
		fh, err := os.Open(p)
		if err != nil {
			return fail("load model", fmt.Errorf("%s: %v", p, err))
		}
		for {
			if ctx.Err() != nil {
				fh.Close()
				return errInterrupted
			}
			n, err := fh.Read(buf)
			done += int64(n)
			update(done, total)
			if err == io.EOF {
				break
			}
			if err != nil {
				fh.Close()
				return fail("load model", fmt.Errorf("%s: %v", p, err))
			}
		}
		fh.Close()
	}
	return nil
}

// isFile reports whether path names an existing non-directory.
func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}

// isGGUF reports whether path names a GGUF file: by its name, or by the
// "GGUF" magic its first four bytes carry.
func isGGUF(path string) bool {
	if path == "" {
		return false
	}
	if strings.EqualFold(filepath.Ext(path), ".gguf") {
		return true
	}
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	var magic [4]byte
	_, err = io.ReadFull(fh, magic[:])
	return err == nil && string(magic[:]) == "GGUF"
}

// plainPathError rewords Go's "open x: no such file or directory" (an
// *fs.PathError, wherever it sits in the chain) as "x: no such file or
// directory": the operation name is Go's business, not the user's.
func plainPathError(err error) error {
	var pe *fs.PathError
	if err == nil || !errors.As(err, &pe) {
		return err
	}
	msg := strings.Replace(err.Error(), pe.Error(), pe.Path+": "+pe.Err.Error(), 1)
	return errors.New(dedupePrefixes(msg))
}

// dedupePrefixes drops a "part: " that repeats the one before it, as in
// "x/tokenizer.model: x/tokenizer.model: ...", which arises when two
// layers each name the file they failed on.
func dedupePrefixes(msg string) string {
	parts := strings.Split(msg, ": ")
	out := parts[:1]
	for _, p := range parts[1:] {
		if p == out[len(out)-1] {
			continue
		}
		out = append(out, p)
	}
	return strings.Join(out, ": ")
}

// addGenerationConfig adds the end-of-text ids of a model directory's
// generation_config.json, when it has one, to the model's (Instruct
// models list there the ids that end a turn).
func addGenerationConfig(m *model.Model, path string) error {
	dir := path
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		dir = filepath.Dir(path)
	}
	p := filepath.Join(dir, "generation_config.json")
	data, err := os.ReadFile(p)
	if err != nil {
		return nil // absent (or unreadable: it only refines stopping)
	}
	ids, err := model.ParseGenerationConfig(data)
	if err == nil {
		err = m.Config.AddEOSIDs(ids)
	}
	if err != nil {
		return fmt.Errorf("%s: %v", p, err)
	}
	return nil
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
	// typed: the text was typed on the command line (-p or arguments),
	// where escapes are processed; files and stdin are taken as they are.
	typed bool
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
		return promptInput{text: f.prompt, typed: true}, nil
	case cmd.Flags().Changed("file"):
		b, err := os.ReadFile(f.file)
		if err != nil {
			return promptInput{}, fail("read prompt", plainPathError(err))
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
		return promptInput{text: strings.Join(args, " "), typed: true}, nil
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

// processEscapes turns the escapes llama.cpp's -e (its default) turns
// into characters: \n \r \t \' \" \\ and \xHH; any other backslash is
// kept as typed, so Windows paths and regexps survive.
func processEscapes(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '\'', '"', '\\':
			b.WriteByte(s[i])
		case 'x':
			if i+2 < len(s) {
				if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
					b.WriteByte(byte(v))
					i += 2
					break
				}
			}
			b.WriteString(`\x`)
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// trimOneNewline drops the single line ending that `echo` and editors add
// (as llama.cpp does for -f), keeping any deliberate blank lines before it.
func trimOneNewline(s string) string {
	if strings.HasSuffix(s, "\r\n") {
		return s[:len(s)-2]
	}
	return strings.TrimSuffix(s, "\n")
}

// parseIDs parses token ids separated by commas and/or white space;
// brackets count as white space, so JSON and Python lists ("[1, 2, 3]",
// one per line) parse too. An empty item between commas ("1,,2", ",1")
// is an error rather than a silently dropped id; one trailing comma is
// allowed, as in Python.
func parseIDs(s string) ([]int, error) {
	t := strings.Map(func(r rune) rune {
		if r == '[' || r == ']' {
			return ' '
		}
		return r
	}, s)
	if strings.TrimSpace(t) == "" {
		return nil, nil
	}
	parts := strings.Split(t, ",")
	var ids []int
	for i, part := range parts {
		fields := strings.Fields(part)
		if len(fields) == 0 {
			if i > 0 && i == len(parts)-1 {
				break // a trailing comma
			}
			return nil, fmt.Errorf("empty item %d: a comma with no id before it", i+1)
		}
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
	ignoreEOS     bool
	noEscape      bool
}

func (f *sampleFlags) register(fs *pflag.FlagSet) {
	fs.IntVarP(&f.maxTokens, "max-tokens", "n", -1, "tokens to generate (-1 = until end of text or context; also --n-predict, --predict)")
	fs.Float64Var(&f.temp, "temp", 0.8, "temperature (0 = greedy)")
	fs.IntVar(&f.topK, "top-k", 40, "top-k sampling (0 = off)")
	fs.Float64Var(&f.topP, "top-p", 0.95, "top-p (nucleus) sampling (1 = off)")
	fs.Float64Var(&f.minP, "min-p", 0.05, "min-p sampling (0 = off)")
	fs.Float64Var(&f.repeatPenalty, "repeat-penalty", 1.0, "penalty for repeated tokens (1 = off)")
	fs.IntVar(&f.repeatLastN, "repeat-last-n", 64, "how many recent tokens the penalty looks at (0 = off, -1 = context)")
	fs.Int64VarP(&f.seed, "seed", "s", -1, "random seed (-1 = random; printed with -v)")
	fs.StringArrayVarP(&f.stop, "stop", "r", nil, "stop when the text reaches this string (repeatable; not printed; also --reverse-prompt)")
	fs.BoolVar(&f.ignoreEOS, "ignore-eos", false, "never end at the end-of-text token (only -n, --stop or the context end the text)")
	fs.BoolVar(&f.noEscape, "no-escape", false, "take \\n, \\t, \\\\ ... in -p, the arguments and --stop literally")
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

// escapes applies processEscapes to a typed prompt and the stop strings,
// unless --no-escape.
func (f *sampleFlags) escapes(in *promptInput) {
	if f.noEscape {
		return
	}
	if in != nil && in.typed {
		in.text = processEscapes(in.text)
	}
	for i, s := range f.stop {
		f.stop[i] = processEscapes(s)
	}
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
