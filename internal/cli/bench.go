package cli

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gale-ai/gale/model"
)

// benchResult is one row of gale bench, with llama-bench's JSON field
// names where llama-bench has the field.
type benchResult struct {
	Model        string    `json:"model"`
	DType        string    `json:"dtype"`
	SizeBytes    int64     `json:"size_bytes"`
	NParams      int64     `json:"n_params"`
	Threads      int       `json:"threads"`
	Test         string    `json:"test"`
	NPrompt      int       `json:"n_prompt"`
	NGen         int       `json:"n_gen"`
	AvgTS        float64   `json:"avg_ts"`
	StddevTS     float64   `json:"stddev_ts"`
	SamplesTS    []float64 `json:"samples_ts"`
	SamplesNS    []int64   `json:"samples_ns"`
	PeakRSSBytes int64     `json:"peak_rss_bytes"`
	Kernels      string    `json:"kernels"`
	// GBps is, for tg, the weight bytes streamed per second (every decode
	// step reads every weight once), to set beside the memory bandwidth;
	// for mem_read, the measured read bandwidth itself.
	GBps float64 `json:"gbps,omitempty"`
	// GFLOPs is, for pp, the matrix-multiply work done per second (two
	// FLOPs per weight per token; attention not counted).
	GFLOPs float64 `json:"gflops,omitempty"`
}

// benchFlags are bench's flags (llama-bench spelling).
type benchFlags struct {
	models    string
	synthetic string
	dtype     string
	nPrompt   int
	nGen      int
	reps      int
	threads   string
	seed      uint64
	jsonOut   bool
	kv        kvFlags
	memBW     bool
}

func (a *app) newBenchCmd() *cobra.Command {
	var bf benchFlags
	cmd := &cobra.Command{
		Use:   "bench [flags]",
		Short: "Measure prompt processing and generation speed, like llama-bench",
		Long: "bench times prompt processing (pp: one prefill of -p random tokens) and text\n" +
			"generation (tg: -n greedy decode steps from BOS), -r times each, for every model\n" +
			"and thread count, and prints a markdown table (or --json). --synthetic runs\n" +
			"random weights of the published shapes without downloading anything; a model\n" +
			"whose weights do not fit in available memory is skipped with a warning.",
		Example: `  gale bench -m ./Mistral-7B-v0.1 -p 512 -n 128 -r 3 -t 1,2
  gale bench --synthetic mistral-7b,llama-2-13b --dtype bf16 -p 64 -n 16 -r 1`,
		Args: cobra.NoArgs,
		RunE: wrapRun(func(cmd *cobra.Command, args []string) error {
			return a.bench(cmd, &bf)
		}),
	}
	fs := cmd.Flags()
	fs.StringVarP(&bf.models, "model", "m", "", "model directories or GGUF files, comma-separated (default: the embedded model unless --synthetic)")
	fs.StringVar(&bf.synthetic, "synthetic", "", "random-weight models of published shapes, comma-separated: "+strings.Join(model.SyntheticShapes(), ", "))
	fs.StringVar(&bf.dtype, "dtype", "bf16", "weight dtype of synthetic models: f32, bf16 or f16")
	fs.IntVarP(&bf.nPrompt, "n-prompt", "p", 512, "prompt tokens of the pp test (0 = skip)")
	fs.IntVarP(&bf.nGen, "n-gen", "n", 128, "generated tokens of the tg test (0 = skip)")
	fs.IntVarP(&bf.reps, "repetitions", "r", 3, "repetitions of each test")
	fs.StringVarP(&bf.threads, "threads", "t", "", "thread counts to sweep, comma-separated (default: physical cores)")
	fs.Uint64Var(&bf.seed, "seed", 1, "seed of the synthetic weights and the pp prompt")
	fs.BoolVar(&bf.jsonOut, "json", false, "print a JSON array of results")
	bf.kv.register(fs, "f16")
	fs.BoolVar(&bf.memBW, "mem-bw", false, "also measure this machine's memory read bandwidth at each thread count (the decode ceiling)")
	return cmd
}

// benchModel is one model to benchmark, opened lazily so that only one
// is in memory at a time.
type benchModel struct {
	label string
	open  func() (*model.Model, error)
	// fit, when set, checks before opening that the weights fit in memory.
	fit func() (int64, error)
}

func (a *app) bench(cmd *cobra.Command, bf *benchFlags) error {
	if bf.nPrompt < 0 || bf.nGen < 0 {
		return usagef("-p and -n must be >= 0")
	}
	if bf.nPrompt == 0 && bf.nGen == 0 {
		return usagef("nothing to run: -p and -n are both 0")
	}
	if _, err := bf.kv.resolve(); err != nil {
		return err
	}
	if bf.reps < 1 {
		return usagef("invalid argument %d for \"-r, --repetitions\": must be >= 1", bf.reps)
	}
	if _, err := model.ParseFileType(bf.dtype); err != nil {
		return usagef("invalid argument %q for \"--dtype\": %v", bf.dtype, err)
	}
	threads := []int{0}
	if bf.threads != "" {
		threads = threads[:0]
		for _, f := range strings.Split(bf.threads, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				return usagef("invalid argument %q for \"-t, --threads\": want thread counts >= 1, comma-separated", bf.threads)
			}
			threads = append(threads, n)
		}
	}
	var models []benchModel
	for _, p := range splitList(bf.models) {
		models = append(models, benchModel{label: p, open: func() (*model.Model, error) {
			return loadByName(p, model.LoadOptions{})
		}})
	}
	for _, shape := range splitList(bf.synthetic) {
		if _, _, err := model.SyntheticSize(shape, bf.dtype); err != nil {
			return usagef("invalid argument %q for \"--synthetic\": %v", shape, err)
		}
		models = append(models, benchModel{
			label: shape + " (synthetic " + bf.dtype + ")",
			open:  func() (*model.Model, error) { return model.NewSynthetic(shape, bf.dtype, bf.seed) },
			fit: func() (int64, error) {
				_, b, err := model.SyntheticSize(shape, bf.dtype)
				return b, err
			},
		})
	}
	if len(models) == 0 {
		models = append(models, benchModel{label: model.DefaultName, open: func() (*model.Model, error) {
			return model.LoadDefault(model.LoadOptions{})
		}})
	}

	out := bufio.NewWriter(a.stdout)
	defer out.Flush()
	header := false
	printRow := func(r benchResult) {
		if bf.jsonOut {
			return
		}
		// The header comes with the first row: a run whose every model
		// is skipped prints no empty table.
		if !header {
			fmt.Fprintln(out, "| model | params | dtype | size GiB | threads | test | t/s | rate | peak RSS GiB |")
			fmt.Fprintln(out, "| --- | ---: | --- | ---: | ---: | --- | ---: | ---: | ---: |")
			header = true
		}
		rate := ""
		switch {
		case r.GBps > 0:
			rate = fmt.Sprintf("%.1f GB/s", r.GBps)
		case r.GFLOPs > 0:
			rate = fmt.Sprintf("%.0f GFLOP/s", r.GFLOPs)
		}
		ts, params := "", ""
		if r.Test != memReadTest {
			ts = fmt.Sprintf("%.2f ± %.2f", r.AvgTS, r.StddevTS)
			params = humanCount(r.NParams)
		}
		fmt.Fprintf(out, "| %s | %s | %s | %.2f | %d | %s | %s | %s | %.2f |\n",
			r.Model, params, r.DType, float64(r.SizeBytes)/(1<<30), r.Threads, r.Test,
			ts, rate, float64(r.PeakRSSBytes)/(1<<30))
		out.Flush()
	}
	var results []benchResult
	if bf.memBW {
		for _, t := range threads {
			r := memReadBench(t, bf.reps)
			printRow(r)
			results = append(results, r)
		}
	}
	ran := 0
	for _, bm := range models {
		if bm.fit != nil {
			need, err := bm.fit()
			if err != nil {
				return fail("bench", err)
			}
			if ok, avail := fitsInMemory(need); !ok {
				a.warn("skipping %s: its weights need %.2f GiB and only %.2f GiB of memory is available",
					bm.label, gib(need), gib(avail))
				continue
			}
		}
		resetPeakRSS()
		stopSpin := a.spinner("preparing " + bm.label)
		m, err := bm.open()
		stopSpin()
		if err != nil {
			return fail("load model", err)
		}
		if bm.fit == nil {
			if ok, avail := fitsInMemory(m.SizeBytes()); !ok {
				a.warn("skipping %s: its weights take %.2f GiB and only %.2f GiB of memory is available",
					bm.label, gib(m.SizeBytes()), gib(avail))
				m.Close()
				continue
			}
		}
		rows, err := a.benchOne(m, bf, threads, printRow)
		m.Close()
		m = nil
		// Hand a synthetic model's gigabytes back before building the next.
		debug.FreeOSMemory()
		if err != nil {
			return err
		}
		results = append(results, rows...)
		ran++
	}
	if ran == 0 && len(models) > 0 {
		// Every model was skipped (the warnings said why): a failure of
		// the run (exit 1), not of the command line.
		return fail("bench", fmt.Errorf("no model could be run"))
	}
	if bf.jsonOut {
		if results == nil {
			results = []benchResult{}
		}
		out.Flush()
		return a.printJSON(results)
	}
	return nil
}

// gib converts bytes to GiB, the unit of bench's table.
func gib(b int64) float64 { return float64(b) / (1 << 30) }

// benchOne runs every test of one model for every thread count.
func (a *app) benchOne(m *model.Model, bf *benchFlags, threads []int, row func(benchResult)) ([]benchResult, error) {
	var out []benchResult
	dtype := strings.Join(m.DTypes(), "/")
	ctx := max(bf.nPrompt, bf.nGen) + 1
	rng := rand.New(rand.NewPCG(bf.seed, 0x9e3779b97f4a7c15))
	prompt := make([]int, bf.nPrompt)
	for i := range prompt {
		prompt[i] = rng.IntN(m.Config.VocabSize)
	}
	bos := m.Config.BOS
	if bos < 0 || bos >= m.Config.VocabSize {
		bos = 0
	}
	for _, t := range threads {
		f16, _ := bf.kv.resolve() // checked in bench
		sess, err := m.NewSession(model.SessionOptions{Threads: t, CtxSize: ctx, KVF16: f16})
		if err != nil {
			return nil, fail("create session", err)
		}
		// Warm-up: one decode step reads every weight once, so the first
		// timed repetition does not pay for page faults of a mapped file.
		if _, err := sess.Step(bos); err != nil {
			sess.Close()
			return nil, fail("bench", err)
		}
		base := benchResult{
			Model: m.Name, DType: dtype, SizeBytes: m.SizeBytes(), NParams: m.NumParams(),
			Threads: sess.Threads(), Kernels: kernelLevel(),
		}
		type test struct {
			name   string
			nP, nG int
			run    func() error
		}
		var tests []test
		if bf.nPrompt > 0 {
			tests = append(tests, test{fmt.Sprintf("pp%d", bf.nPrompt), bf.nPrompt, 0, func() error {
				sess.Reset()
				_, err := sess.Prefill(prompt)
				return err
			}})
		}
		if bf.nGen > 0 {
			tests = append(tests, test{fmt.Sprintf("tg%d", bf.nGen), 0, bf.nGen, func() error {
				sess.Reset()
				tok := bos
				for i := 0; i < bf.nGen; i++ {
					logits, err := sess.Step(tok)
					if err != nil {
						return err
					}
					tok = model.Argmax(logits)
				}
				return nil
			}})
		}
		for _, tc := range tests {
			r := base
			r.Test, r.NPrompt, r.NGen = tc.name, tc.nP, tc.nG
			n := tc.nP + tc.nG
			// On a terminal, a bar says which test and repetition runs
			// (a 7B pp512 repetition can take a minute); it is cleared
			// before the row is printed.
			update, finish := a.progress(fmt.Sprintf("%s: %s, %d threads, repetition", m.Name, tc.name, sess.Threads()), false)
			for i := 0; i < bf.reps; i++ {
				if update != nil {
					update(int64(i), int64(bf.reps))
				}
				t0 := time.Now()
				if err := tc.run(); err != nil {
					finish()
					sess.Close()
					return nil, fail("bench", err)
				}
				d := time.Since(t0)
				r.SamplesNS = append(r.SamplesNS, d.Nanoseconds())
				r.SamplesTS = append(r.SamplesTS, perSecond(n, d))
			}
			finish()
			r.AvgTS, r.StddevTS = meanStddev(r.SamplesTS)
			if tc.nG > 0 {
				r.GBps = r.AvgTS * float64(m.WeightBytes()) / 1e9
			} else {
				r.GFLOPs = r.AvgTS * 2 * float64(m.WeightParams()) / 1e9
			}
			r.PeakRSSBytes = peakRSS()
			row(r)
			out = append(out, r)
		}
		sess.Close()
	}
	return out, nil
}

// meanStddev returns the mean and the sample standard deviation (0 for a
// single sample), as llama-bench reports them.
func meanStddev(v []float64) (mean, sd float64) {
	if len(v) == 0 {
		return 0, 0
	}
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(v)-1))
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// memoryMargin is kept free beyond a model's weights: the KV cache and
// scratch of a benchmark session, the Go runtime, and the rest of the
// machine. Running closer than this would swap the machine to death.
const memoryMargin = 2 << 30

// fitsInMemory reports whether need bytes of weights fit in the memory
// the kernel says is available (MemAvailable), less a margin. Where
// /proc/meminfo cannot be read it assumes they fit.
func fitsInMemory(need int64) (bool, int64) {
	avail := procField("/proc/meminfo", "MemAvailable:")
	if avail <= 0 {
		return true, 0
	}
	return need+memoryMargin <= avail, avail
}

// peakRSS is the process's peak resident set (VmHWM), 0 where unknown.
func peakRSS() int64 { return procField("/proc/self/status", "VmHWM:") }

// resetPeakRSS restarts the VmHWM high-water mark (Linux >= 4.0) so each
// model's peak is its own; harmless where unsupported.
func resetPeakRSS() {
	if f, err := os.OpenFile("/proc/self/clear_refs", os.O_WRONLY, 0); err == nil {
		_, _ = f.WriteString("5")
		f.Close()
	}
}

// procField reads a "Key:   123 kB" line of a /proc file, in bytes.
func procField(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, key) {
			continue
		}
		f := strings.Fields(line[len(key):])
		if len(f) == 0 {
			return 0
		}
		v, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0
		}
		if len(f) > 1 && strings.EqualFold(f[1], "kB") {
			v *= 1024
		}
		return v
	}
	return 0
}
