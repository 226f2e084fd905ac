package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/gale-ai/gale/model"
	"github.com/gale-ai/gale/server"
)

// serveBenchResult is one concurrency level of serve-bench.
type serveBenchResult struct {
	Concurrency    int     `json:"concurrency"`
	AggregateTokS  float64 `json:"aggregate_tok_per_s"` // generated tokens of all streams / wall time
	DecodeTokS     float64 `json:"decode_tok_per_s"`    // generated tokens while all streams decode / that time
	TTFTP50MS      float64 `json:"ttft_p50_ms"`
	TTFTP99MS      float64 `json:"ttft_p99_ms"`
	PerStreamTokS  float64 `json:"per_stream_tok_per_s"` // median over streams, after the first token
	GeneratedToken int     `json:"generated_tokens"`
	WallMS         float64 `json:"wall_ms"`
	ProbeTTFTMS    float64 `json:"probe_ttft_ms,omitempty"` // --ttft-probe: the probe's TTFT with Concurrency-1 others decoding
}

// serveBenchProbe measures the time to first token of a probe-token
// prompt submitted while others streams are decoding (started first, and
// cancelled once the probe has its token).
func serveBenchProbe(srv *server.Server, m *model.Model, others, probe int, rng *rand.Rand) (float64, error) {
	random := func(n int) []int {
		p := make([]int, n)
		for k := range p {
			p[k] = 3 + rng.IntN(m.Config.VocabSize-3)
		}
		return p
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var started sync.WaitGroup
	var wg sync.WaitGroup
	for i := 0; i < others; i++ {
		started.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var once sync.Once
			opts := model.GenerateOptions{MaxTokens: 1 << 20, IgnoreEOS: true}
			srv.Generate(ctx, random(8), opts, func(int) { once.Do(started.Done) })
			once.Do(started.Done)
		}()
	}
	started.Wait()
	t0 := time.Now()
	var first time.Time
	_, err := srv.Generate(context.Background(), random(probe), model.GenerateOptions{MaxTokens: 1, IgnoreEOS: true},
		func(int) { first = time.Now() })
	cancel()
	wg.Wait()
	if err != nil {
		return 0, err
	}
	return ms(first.Sub(t0)), nil
}

func (a *app) newServeBenchCmd() *cobra.Command {
	var mf modelFlags
	var synthetic, dtype, conc, cpuProfile string
	var nPrompt, nGen, probe int
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "serve-bench [flags]",
		Short: "Measure gale serve's continuous batching: N simultaneous streams in process",
		Long: "serve-bench runs, for each concurrency N, N generations submitted at once to\n" +
			"the server's scheduler (in process: the same engine, slots and batching as\n" +
			"gale serve, without HTTP), each a distinct random prompt of -p tokens and -n\n" +
			"generated tokens (EOS ignored), and reports the aggregate generated tok/s,\n" +
			"the decode tok/s while all streams decode, time to first token p50/p99, and\n" +
			"the median per-stream tok/s.",
		Example: `  gale serve-bench --synthetic mistral-7b --dtype bf16 --concurrency 1,4,8 -p 64 -n 32 -t 2`,
		Args:    cobra.NoArgs,
		RunE: wrapRun(func(cmd *cobra.Command, args []string) error {
			if err := mf.validate(); err != nil {
				return err
			}
			var levels []int
			for _, f := range strings.Split(conc, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || n < 1 || n > 256 {
					return usagef("invalid argument %q for \"--concurrency\": want counts 1..256, comma-separated", conc)
				}
				levels = append(levels, n)
			}
			if nPrompt < 1 || nGen < 2 || probe < 0 {
				return usagef("-p must be >= 1, -n >= 2 and --ttft-probe >= 0")
			}
			var m *model.Model
			var err error
			if synthetic != "" {
				if _, _, err := model.SyntheticSize(synthetic, dtype); err != nil {
					return usagef("invalid argument %q for \"--synthetic\": %v", synthetic, err)
				}
				m, err = model.NewSynthetic(synthetic, dtype, 1)
				if err != nil {
					return fail("synthetic model", err)
				}
			} else if m, _, err = a.loadModel(&mf); err != nil {
				return err
			}
			defer m.Close()
			ctx := mf.ctxSize
			if ctx == 0 {
				ctx = max(nPrompt+nGen+1, probe+2)
			}
			// The slots' pages are mapped before the runs, as a long-running
			// server has mapped them by earlier requests; not with -c, whose
			// context (32K positions, 4 GiB a slot) the runs need not fill.
			srv := server.New(server.Options{Parallel: slices.Max(levels), CtxSize: ctx, Threads: mf.threads,
				KVF16: mf.sessionOptions().KVF16, Queue: 256, PrefaultKV: mf.ctxSize == 0})
			if err := srv.Start(m, m.Name); err != nil {
				return fail("serve-bench", err)
			}
			defer srv.Close()
			if !jsonOut {
				fmt.Fprintf(a.stdout, "%s, %d threads, kernels %s, prompt %d, generate %d, KV %.1f MiB per slot\n",
					m.Name, srv.Threads(), kernelLevel(), nPrompt, nGen, float64(srv.SlotKVBytes())/(1<<20))
				fmt.Fprintln(a.stdout, "| streams | aggregate tok/s | decode tok/s | TTFT p50 ms | TTFT p99 ms | per-stream tok/s |")
				fmt.Fprintln(a.stdout, "| ---: | ---: | ---: | ---: | ---: | ---: |")
			}
			var results []serveBenchResult
			rng := rand.New(rand.NewPCG(1, 2))
			// The profile covers the runs only: the synthetic weights'
			// generation would otherwise dominate it.
			var profiler cpuProfiler
			defer profiler.stop()
			if err := profiler.start(cpuProfile); err != nil {
				return fail("serve-bench", err)
			}
			for _, n := range levels {
				r, err := serveBenchRun(srv, m, n, nPrompt, nGen, rng)
				if err != nil {
					return fail("serve-bench", err)
				}
				results = append(results, r)
				if !jsonOut {
					fmt.Fprintf(a.stdout, "| %d | %.2f | %.2f | %.1f | %.1f | %.2f |\n", r.Concurrency, r.AggregateTokS, r.DecodeTokS,
						r.TTFTP50MS, r.TTFTP99MS, r.PerStreamTokS)
				}
			}
			if probe > 0 {
				if !jsonOut {
					fmt.Fprintf(a.stdout, "\n| other streams decoding | TTFT of a %d-token prompt ms | x alone |\n| ---: | ---: | ---: |\n", probe)
				}
				alone := 0.0
				for _, n := range levels {
					d, err := serveBenchProbe(srv, m, n-1, probe, rng)
					if err != nil {
						return fail("serve-bench", err)
					}
					if n == levels[0] {
						alone = d
					}
					results = append(results, serveBenchResult{Concurrency: n, ProbeTTFTMS: d})
					if !jsonOut {
						fmt.Fprintf(a.stdout, "| %d | %.1f | %.2f |\n", n-1, d, d/alone)
					}
				}
			}
			if jsonOut {
				b, _ := json.Marshal(results)
				fmt.Fprintln(a.stdout, string(b))
			}
			return nil
		}),
	}
	fs := cmd.Flags()
	mf.register(fs, "f16")
	fs.StringVar(&synthetic, "synthetic", "", "benchmark a random-weight model of this shape (mistral-7b, llama-2-7b, tiny, ...) instead of -m")
	fs.StringVar(&dtype, "dtype", "bf16", "weight dtype of the synthetic model")
	fs.StringVar(&conc, "concurrency", "1,4,8", "simultaneous streams, comma-separated")
	fs.IntVarP(&nPrompt, "n-prompt", "p", 64, "prompt tokens per stream")
	fs.IntVarP(&nGen, "n-gen", "n", 32, "generated tokens per stream")
	fs.IntVar(&probe, "ttft-probe", 0, "also measure the time to first token of a prompt of this many tokens alone and while N-1 other streams decode")
	fs.BoolVar(&jsonOut, "json", false, "print a JSON array of results")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a pprof CPU profile of the runs to this file (go tool pprof reads it)")
	return cmd
}

// serveBenchRun submits n generations at once and measures them.
func serveBenchRun(srv *server.Server, m *model.Model, n, nPrompt, nGen int, rng *rand.Rand) (serveBenchResult, error) {
	type stream struct {
		first, last time.Time
		times       []time.Time
	}
	streams := make([]stream, n)
	errs := make([]error, n)
	prompts := make([][]int, n)
	for i := range prompts {
		p := make([]int, nPrompt)
		for k := range p {
			p[k] = 3 + rng.IntN(m.Config.VocabSize-3)
		}
		prompts[i] = p
	}
	var wg sync.WaitGroup
	t0 := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := &streams[i]
			st.times = make([]time.Time, 0, nGen)
			opts := model.GenerateOptions{MaxTokens: nGen, IgnoreEOS: true, Sampler: model.SamplerOptions{Temp: 0}}
			_, errs[i] = srv.Generate(context.Background(), prompts[i], opts, func(int) { st.times = append(st.times, time.Now()) })
		}()
	}
	wg.Wait()
	wall := time.Since(t0)
	var ttft, rates []float64
	total := 0
	// The decode window: from the moment every stream has its first
	// token to the moment the first one finishes.
	var allStarted, firstDone time.Time
	for i := range streams {
		if errs[i] != nil {
			return serveBenchResult{}, errs[i]
		}
		ts := streams[i].times
		if len(ts) == 0 {
			return serveBenchResult{}, fmt.Errorf("stream %d generated nothing", i)
		}
		total += len(ts)
		ttft = append(ttft, ms(ts[0].Sub(t0)))
		if len(ts) > 1 {
			rates = append(rates, float64(len(ts)-1)/ts[len(ts)-1].Sub(ts[0]).Seconds())
		}
		if ts[0].After(allStarted) {
			allStarted = ts[0]
		}
		if firstDone.IsZero() || ts[len(ts)-1].Before(firstDone) {
			firstDone = ts[len(ts)-1]
		}
	}
	inWindow := 0
	for i := range streams {
		for _, t := range streams[i].times {
			if t.After(allStarted) && !t.After(firstDone) {
				inWindow++
			}
		}
	}
	r := serveBenchResult{Concurrency: n, GeneratedToken: total, WallMS: ms(wall),
		AggregateTokS: float64(total) / wall.Seconds(),
		TTFTP50MS:     percentile(ttft, 0.5), TTFTP99MS: percentile(ttft, 0.99), PerStreamTokS: percentile(rates, 0.5)}
	if d := firstDone.Sub(allStarted); d > 0 && inWindow > 0 {
		r.DecodeTokS = float64(inWindow) / d.Seconds()
	}
	return r, nil
}

// percentile is the nearest-rank percentile of v.
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}
