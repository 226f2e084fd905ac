package cli

import (
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
	"github.com/gale-ai/gale/tensor"
)

// benchResult is one row of gale bench, with llama-bench's field names
// (model_type, model_size, n_params, n_threads, n_prompt, n_gen, avg_ts,
// stddev_ts, samples_ts) plus gale's; model, size_bytes and threads are
// kept for the scripts written against earlier versions.
type benchResult struct {
	Model        string    `json:"model"`
	ModelType    string    `json:"model_type"`
	DType        string    `json:"dtype"`
	SizeBytes    int64     `json:"size_bytes"`
	ModelSize    int64     `json:"model_size"`
	NParams      int64     `json:"n_params"`
	Threads      int       `json:"threads"`
	NThreads     int       `json:"n_threads"`
	Test         string    `json:"test"`
	NPrompt      int       `json:"n_prompt"`
	NGen         int       `json:"n_gen"`
	AvgTS        float64   `json:"avg_ts"`
	StddevTS     float64   `json:"stddev_ts"`
	SamplesTS    []float64 `json:"samples_ts"`
	SamplesNS    []int64   `json:"samples_ns"`
	PeakRSSBytes int64     `json:"peak_rss_bytes"`
	Kernels      string    `json:"kernels"`
	// GBps is, for tg, the weight bytes read per second (every decode
	// step reads every matrix once, and one row of an untied embedding),
	// to set beside the memory bandwidth; for mem_read, the measured read
	// bandwidth itself.
	GBps float64 `json:"gbps"`
	// GFLOPs is, for pp, the matrix-multiply work done per second (two
	// operations per weight per token; attention not counted); for a
	// peak_* row, the probe's ceiling (GOP/s for the integer ones).
	GFLOPs float64 `json:"gflops"`
	// PctOfCeiling is the row's rate as a percentage of Ceiling, the
	// ceiling measured in the same run at the same thread count
	// (--roofline, or --mem-bw for tg rows).
	PctOfCeiling float64 `json:"pct_of_ceiling"`
	Ceiling      string  `json:"ceiling,omitempty"`
	// SpeedUp is avg_ts over the slowest model's at the same test and
	// thread count, when the run has more than one model.
	SpeedUp float64 `json:"speedup,omitempty"`
	// WeightBytesPerToken is what a decode step reads (tg's gbps is this
	// times avg_ts).
	WeightBytesPerToken int64 `json:"weight_bytes_per_token,omitempty"`
	// SamplesCeiling are a ceiling row's samples (GB/s, GFLOP/s or GOP/s);
	// the best of them is the ceiling.
	SamplesCeiling []float64 `json:"samples_ceiling,omitempty"`
	// PairedReadGBps is, for tg with the ceilings measured, the read
	// bandwidth of plain read passes over the same weight bytes, one run
	// right after every decode step on the same number of threads, and
	// PctOfPairedRead the decode's gbps as a percentage of it. On a
	// shared host whose bandwidth moves from second to second (this
	// machine class: 26-31 GB/s on two threads, 43-51 in spells), the
	// best pass of the mem_read probe, taken minutes apart, compares a
	// decode with another moment; the paired passes see the same moments.
	PairedReadGBps  float64 `json:"paired_read_gbps,omitempty"`
	PctOfPairedRead float64 `json:"pct_of_paired_read,omitempty"`
	// SamplesPairedRead are the paired read rates of each repetition.
	SamplesPairedRead []float64 `json:"samples_paired_read,omitempty"`

	intOps  bool // a peak row in GOP/s (integer), for the table's unit
	ceilRow bool // a ceiling row, not a model's
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
	output    string
	kv        kvFlags
	memBW     bool
	roofline  bool
	// cpuProfile names a file for a pprof CPU profile from the first
	// model's timed run on (its preparation and the first ceilings are
	// left out).
	cpuProfile string
}

func (a *app) newBenchCmd() *cobra.Command {
	var bf benchFlags
	cmd := &cobra.Command{
		Use:   "bench [flags]",
		Short: "Measure prompt processing and generation speed, like llama-bench",
		Long: "bench times prompt processing (pp: one prefill of -p random tokens) and text\n" +
			"generation (tg: -n greedy decode steps from BOS), -r times each, for every model\n" +
			"and thread count, and prints one table (markdown, or -o json|jsonl|csv). With more\n" +
			"than one model a speed-up column compares each with the slowest. --synthetic runs\n" +
			"random weights of the published shapes without downloading anything, one model\n" +
			"at a time; a model whose weights do not fit in available memory is skipped with\n" +
			"a warning. --roofline first measures this machine's ceilings (read bandwidth,\n" +
			"f32 FMA, int8 dot products, AMX where in use) and gives every row its percentage.\n" +
			"With --roofline or --mem-bw each decode step is followed by a read pass over the\n" +
			"same weights, timed apart (the paired read column): on a shared host whose\n" +
			"bandwidth moves from second to second, it is the ceiling of the same moments.",
		Example: `  gale bench -m ./Mistral-7B-v0.1 -p 512 -n 128 -r 3 -t 1,2
  gale bench -m mistral-7b-q4_0.gguf,llama-2-13b-q4_0.gguf -o csv
  gale bench --roofline --synthetic mistral-7b,llama-2-13b --dtype q4_0,q8_0 -p 512 -n 64 -r 2`,
		Args: cobra.NoArgs,
		RunE: wrapRun(func(cmd *cobra.Command, args []string) error {
			return a.bench(cmd, &bf)
		}),
	}
	fs := cmd.Flags()
	fs.StringVarP(&bf.models, "model", "m", "", "model directories or GGUF files, comma-separated (default: the embedded model unless --synthetic)")
	fs.StringVar(&bf.synthetic, "synthetic", "", "random-weight models of published shapes, comma-separated: "+strings.Join(model.SyntheticShapes(), ", "))
	fs.StringVar(&bf.dtype, "dtype", "bf16", "weight dtypes of synthetic models, comma-separated: f32, bf16, f16 or a quantization type (q4_0, q8_0, q4_k_m ...)")
	fs.IntVarP(&bf.nPrompt, "n-prompt", "p", 512, "prompt tokens of the pp test (0 = skip)")
	fs.IntVarP(&bf.nGen, "n-gen", "n", 128, "generated tokens of the tg test (0 = skip)")
	fs.IntVarP(&bf.reps, "repetitions", "r", 3, "repetitions of each test")
	fs.StringVarP(&bf.threads, "threads", "t", "", "thread counts to sweep, comma-separated (default: physical cores)")
	fs.Uint64Var(&bf.seed, "seed", 1, "seed of the synthetic weights and the pp prompt")
	fs.StringVarP(&bf.output, "output", "o", "md", "output format: md, json, jsonl or csv")
	fs.BoolVar(&bf.jsonOut, "json", false, "print a JSON array of results (-o json)")
	bf.kv.register(fs, "f16")
	fs.BoolVar(&bf.memBW, "mem-bw", false, "also measure this machine's memory read bandwidth at each thread count (the decode ceiling)")
	fs.BoolVar(&bf.roofline, "roofline", false, "measure the machine's ceilings first (read bandwidth, f32 FMA, int8 dot products, AMX) and print each row's percentage of its ceiling")
	fs.StringVar(&bf.cpuProfile, "cpuprofile", "", "write a pprof CPU profile of the timed runs to this file (go tool pprof reads it)")
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
	format := strings.ToLower(bf.output)
	switch format {
	case "md", "json", "jsonl", "csv":
	default:
		return usagef("invalid argument %q for \"-o, --output\": want md, json, jsonl or csv", bf.output)
	}
	if bf.jsonOut {
		if cmd.Flags().Changed("output") && format != "json" {
			return usagef("--json and -o %s contradict each other", bf.output)
		}
		format = "json"
	}
	dtypes := splitList(bf.dtype)
	if len(dtypes) == 0 {
		return usagef("invalid argument %q for \"--dtype\": no dtype given", bf.dtype)
	}
	for _, dt := range dtypes {
		if _, _, err := model.SyntheticSize("tiny", dt); err != nil {
			return usagef("invalid argument %q for \"--dtype\": %v", dt, err)
		}
	}
	threads := []int{tensor.DefaultThreads()}
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
		for _, dt := range dtypes {
			if _, _, err := model.SyntheticSize(shape, dt); err != nil {
				return usagef("invalid argument %q for \"--synthetic\": %v", shape, err)
			}
			models = append(models, benchModel{
				label: shape + " (synthetic " + dt + ")",
				open:  func() (*model.Model, error) { return model.NewSynthetic(shape, dt, bf.seed) },
				fit: func() (int64, error) {
					_, b, err := model.SyntheticSize(shape, dt)
					return b, err
				},
			})
		}
	}
	if len(models) == 0 {
		models = append(models, benchModel{label: model.DefaultName, open: func() (*model.Model, error) {
			return model.LoadDefault(model.LoadOptions{})
		}})
	}

	// The ceilings are measured before the models, with no model in
	// memory, and again after them: on a shared machine the bandwidth
	// and the cores' speed change from minute to minute, and the best of
	// the two sittings keeps a quiet spell of the models' run from
	// showing as more than 100% of a ceiling measured in a busy one.
	var results []benchResult
	var profiler cpuProfiler
	defer profiler.stop()
	ceilOn := bf.memBW || bf.roofline
	measure := func(when string) []benchResult {
		var rows []benchResult
		for _, t := range threads {
			stop := a.spinner(fmt.Sprintf("measuring this machine's ceilings %s, %d threads", when, t))
			r := measureCeilings(t, bf.reps, bf.roofline, func(s string) {
				if t == threads[0] && when == "first" {
					a.infof("gale: note: %s\n", s)
				}
			})
			stop()
			rows = append(rows, r...)
		}
		return rows
	}
	if ceilOn {
		results = measure("first")
	}
	nCeil := len(results)
	ran := 0
	var runErr error
	for i, bm := range models {
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
		prefix := ""
		if len(models) > 1 {
			prefix = fmt.Sprintf("[%d/%d] ", i+1, len(models))
		}
		stopSpin := a.spinner(prefix + "preparing " + bm.label)
		m, err := bm.open()
		stopSpin()
		if err != nil {
			runErr = fail("load model", err)
			break
		}
		if bm.fit == nil {
			if ok, avail := fitsInMemory(m.SizeBytes()); !ok {
				a.warn("skipping %s: its weights take %.2f GiB and only %.2f GiB of memory is available",
					bm.label, gib(m.SizeBytes()), gib(avail))
				m.Close()
				continue
			}
		}
		if err := profiler.start(bf.cpuProfile); err != nil {
			m.Close()
			return fail("bench", err)
		}
		rows, err := a.benchOne(m, bf, threads, ceilOn, prefix)
		m.Close()
		m = nil
		// Hand a synthetic model's gigabytes back before building the next.
		debug.FreeOSMemory()
		results = append(results, rows...)
		if err != nil {
			runErr = err
			break
		}
		ran++
	}
	if ran == 0 && runErr == nil && len(models) > 0 {
		// Every model was skipped (the warnings said why): a failure of
		// the run (exit 1), not of the command line.
		return fail("bench", fmt.Errorf("no model could be run"))
	}
	if ceilOn && ran > 0 {
		mergeCeilings(results[:nCeil], measure("again"))
	}
	applyCeilings(results)
	addSpeedUps(results)
	// What was measured is printed even when a later model failed.
	if err := a.printBench(format, results); err != nil {
		return err
	}
	return runErr
}

// mergeCeilings adds a second sitting's ceiling rows (same thread counts
// and probes, same order) to the first's: the samples of both, the best
// of them as the ceiling.
func mergeCeilings(first, again []benchResult) {
	for i := range first {
		if i >= len(again) || again[i].Test != first[i].Test || again[i].Threads != first[i].Threads {
			return
		}
		f := &first[i]
		f.SamplesCeiling = append(f.SamplesCeiling, again[i].SamplesCeiling...)
		f.GBps = max(f.GBps, again[i].GBps)
		f.GFLOPs = max(f.GFLOPs, again[i].GFLOPs)
	}
}

// applyCeilings sets every model row's percentage of the ceiling it
// names, measured at its thread count; a row whose ceiling was not
// measured (no such probe here) names none.
func applyCeilings(rows []benchResult) {
	type key struct {
		test    string
		threads int
	}
	val := map[key]float64{}
	for _, r := range rows {
		if r.ceilRow {
			val[key{r.Test, r.Threads}] = max(r.GBps, r.GFLOPs)
		}
	}
	for i := range rows {
		r := &rows[i]
		if r.ceilRow || r.Ceiling == "" {
			continue
		}
		c := val[key{r.Ceiling, r.Threads}]
		if c <= 0 {
			r.Ceiling = ""
			continue
		}
		rate := r.GFLOPs
		if r.NGen > 0 {
			rate = r.GBps
		}
		r.PctOfCeiling = 100 * rate / c
	}
}

// addSpeedUps sets each model row's speed-up over the slowest model of
// its test and thread count, when the run has more than one model.
func addSpeedUps(rows []benchResult) {
	type key struct {
		test    string
		threads int
		dtype   string // "" unless the comparison is per dtype
	}
	names := map[string]bool{}
	models := map[string]map[string]bool{} // dtype -> models
	for _, r := range rows {
		if r.ceilRow {
			continue
		}
		names[r.Model+"\x00"+r.DType] = true
		if models[r.DType] == nil {
			models[r.DType] = map[string]bool{}
		}
		models[r.DType][r.Model] = true
	}
	if len(names) < 2 {
		return
	}
	// Several models at each of several dtypes (--synthetic
	// mistral-7b,llama-2-13b --dtype q4_0,q8_0): each row is compared
	// with the slowest model of its own dtype, the Mistral-vs-Llama
	// question; otherwise with the slowest row of its test.
	perDType := len(models) > 1
	for _, m := range models {
		if len(m) < 2 {
			perDType = false
		}
	}
	keyOf := func(r benchResult) key {
		k := key{test: r.Test, threads: r.Threads}
		if perDType {
			k.dtype = r.DType
		}
		return k
	}
	slowest := map[key]float64{}
	for _, r := range rows {
		if r.ceilRow {
			continue
		}
		k := keyOf(r)
		if v, ok := slowest[k]; !ok || r.AvgTS < v {
			slowest[k] = r.AvgTS
		}
	}
	for i := range rows {
		r := &rows[i]
		if r.ceilRow {
			continue
		}
		if v := slowest[keyOf(*r)]; v > 0 {
			r.SpeedUp = r.AvgTS / v
		}
	}
}

// gib converts bytes to GiB, the unit of bench's table.
func gib(b int64) float64 { return float64(b) / (1 << 30) }

// modelTypeLabel is llama-bench's model_type: architecture, size class
// and file type ("llama 7B Q4_0").
func modelTypeLabel(m *model.Model, dtype string) string {
	n := float64(m.NumParams())
	size := ""
	switch {
	case n >= 1e9:
		size = fmt.Sprintf("%.0fB", math.Round(n/1e9))
	case n >= 1e6:
		size = fmt.Sprintf("%.0fM", math.Round(n/1e6))
	default:
		size = fmt.Sprintf("%.0fK", math.Round(n/1e3))
	}
	arch := m.Config.Arch
	if arch == "" {
		arch = "llama"
	}
	return arch + " " + size + " " + dtype
}

// modelDType names a model's weights: its file type (Q4_K_M, Q8_0 ...)
// when it has one, otherwise its tensors' dtypes.
func modelDType(m *model.Model) string {
	if ft, err := model.ParseFileType(m.Config.DType); err == nil && m.Config.DType != "" {
		return ft.Name
	}
	return strings.Join(m.DTypes(), "/")
}

// decodeBytes is what one decode step reads: every tensor once (the norm
// vectors too, which WeightBytes leaves out) except an untied embedding,
// of which a token reads one row. With tied embeddings the embedding is
// the output head and read whole.
func decodeBytes(m *model.Model) int64 {
	var n, embed int64
	var embedRows int
	tied := true
	for _, t := range m.Tensors() {
		switch {
		case t.Name == "token_embd.weight" || strings.HasSuffix(t.Name, "embed_tokens.weight") || t.Name == "tok_embeddings.weight":
			embed = t.Bytes
			if len(t.Shape) > 0 {
				embedRows = t.Shape[0]
			}
			continue
		case t.Name == "output.weight" || t.Name == "lm_head.weight":
			tied = false
		}
		n += t.Bytes
	}
	if tied || embedRows == 0 {
		return n + embed
	}
	return n + embed/int64(embedRows)
}

// benchOne runs every test of one model for every thread count.
func (a *app) benchOne(m *model.Model, bf *benchFlags, threads []int, ceilOn bool, prefix string) ([]benchResult, error) {
	var out []benchResult
	dtype := modelDType(m)
	decode := decodeBytes(m)
	probe, probeOK := ppProbe(m.DTypes())
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
		// The cache is sized to the run and mapped before it (as
		// llama-bench clears its cache), so that no repetition pays the
		// kernel's first-touch faults of its pages.
		sess, err := m.NewSession(model.SessionOptions{Threads: t, CtxSize: ctx, KVF16: f16, Prefault: true})
		if err != nil {
			return out, fail("create session", err)
		}
		// Warm-up: one decode step reads every weight once, so the first
		// timed repetition does not pay for page faults of a mapped file.
		if _, err := sess.Step(bos); err != nil {
			sess.Close()
			return out, fail("bench", err)
		}
		base := benchResult{
			Model: m.Name, ModelType: modelTypeLabel(m, dtype), DType: dtype,
			SizeBytes: m.SizeBytes(), ModelSize: m.SizeBytes(), NParams: m.NumParams(),
			Threads: sess.Threads(), NThreads: sess.Threads(), Kernels: kernelLevel(),
		}
		type test struct {
			name   string
			nP, nG int
			// run runs the test once and returns the time it took
			// (for tg with the paired reads, the decode steps' only).
			run func() (time.Duration, error)
		}
		var tests []test
		if bf.nPrompt > 0 {
			tests = append(tests, test{fmt.Sprintf("pp%d", bf.nPrompt), bf.nPrompt, 0, func() (time.Duration, error) {
				t0 := time.Now()
				sess.Reset()
				_, err := sess.Prefill(prompt)
				return time.Since(t0), err
			}})
		}
		// With the ceilings on, every decode step is followed by one
		// read pass over the same weight bytes on the same number of
		// threads, timed apart (see benchResult.PairedReadGBps).
		var paired pairedRead
		if ceilOn {
			paired.chunks = readChunks(m.DecodeWeights())
		}
		if bf.nGen > 0 {
			tests = append(tests, test{fmt.Sprintf("tg%d", bf.nGen), 0, bf.nGen, func() (time.Duration, error) {
				sess.Reset()
				tok := bos
				var d time.Duration
				for i := 0; i < bf.nGen; i++ {
					t0 := time.Now()
					logits, err := sess.Step(tok)
					if err != nil {
						return d, err
					}
					tok = model.Argmax(logits)
					d += time.Since(t0)
					if paired.chunks != nil {
						paired.read(sess.Threads())
					}
				}
				return d, nil
			}})
		}
		for _, tc := range tests {
			r := base
			r.Test, r.NPrompt, r.NGen = tc.name, tc.nP, tc.nG
			n := tc.nP + tc.nG
			// On a terminal, a bar says which model, test and repetition
			// runs (a 7B pp512 repetition can take a minute); it is
			// cleared before the table is printed.
			update, finish := a.progress(fmt.Sprintf("%s%s: %s, %d threads, repetition", prefix, m.Name+" "+dtype, tc.name, sess.Threads()), false)
			for i := 0; i < bf.reps; i++ {
				if update != nil {
					update(int64(i), int64(bf.reps))
				}
				paired.start()
				d, err := tc.run()
				if err != nil {
					finish()
					sess.Close()
					return out, fail("bench", err)
				}
				if tc.nG > 0 && paired.chunks != nil {
					r.SamplesPairedRead = append(r.SamplesPairedRead, paired.gbps())
				}
				r.SamplesNS = append(r.SamplesNS, d.Nanoseconds())
				r.SamplesTS = append(r.SamplesTS, perSecond(n, d))
			}
			finish()
			r.AvgTS, r.StddevTS = meanStddev(r.SamplesTS)
			// The ceiling is named here and its percentage computed once
			// the ceilings are final (applyCeilings).
			if tc.nG > 0 {
				r.WeightBytesPerToken = decode
				r.GBps = r.AvgTS * float64(decode) / 1e9
				if ceilOn {
					r.Ceiling = memReadTest
				}
				if paired.chunks != nil {
					// Both rates over all repetitions' steps and passes.
					r.PairedReadGBps = paired.total()
					r.PctOfPairedRead = 100 * r.GBps / r.PairedReadGBps
				}
			} else {
				r.GFLOPs = r.AvgTS * 2 * float64(m.WeightParams()) / 1e9
				if ceilOn && bf.roofline && probeOK {
					r.Ceiling = "peak_" + probe.String()
				}
			}
			r.PeakRSSBytes = peakRSS()
			out = append(out, r)
		}
		sess.Close()
	}
	return out, nil
}

// pairedRead times read passes over a model's decode weights, one after
// each decode step of a tg test: per repetition (start, read..., gbps)
// and over the whole test (total).
type pairedRead struct {
	chunks   [][]byte // the weights in readChunk units; nil: off
	bytes    int64    // read in the current repetition
	d        time.Duration
	allBytes int64 // read over all repetitions
	allD     time.Duration
}

// start begins a repetition.
func (p *pairedRead) start() { p.bytes, p.d = 0, 0 }

// read runs one pass on threads threads, pinned, taking chunks as they
// go, as the bandwidth probe does.
func (p *pairedRead) read(threads int) {
	d := readPass(p.chunks, threads, true, true)
	var n int64
	for _, c := range p.chunks {
		n += int64(len(c))
	}
	p.bytes += n
	p.d += d
	p.allBytes += n
	p.allD += d
}

// gbps is the current repetition's read rate.
func (p *pairedRead) gbps() float64 { return rate(p.bytes, p.d) }

// total is the read rate over every pass so far.
func (p *pairedRead) total() float64 { return rate(p.allBytes, p.allD) }

// rate is bytes over d in GB/s (0 for no time).
func rate(bytes int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(bytes) / d.Seconds() / 1e9
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
