package cli

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gale-ai/gale/server"
)

func (a *app) newServeCmd() *cobra.Command {
	var mf modelFlags
	var host, apiKey, cors string
	var port, parallel, queue int
	var timeout, grace time.Duration
	cmd := &cobra.Command{
		Use:   "serve [flags]",
		Short: "Serve an OpenAI-compatible HTTP API (chat and text completions, streaming)",
		Long: "serve answers POST /v1/chat/completions and /v1/completions (streamed as\n" +
			"server-sent events when \"stream\" is true), GET /v1/models, GET /health,\n" +
			"POST /tokenize and /detokenize. Up to --parallel requests are decoded\n" +
			"together in every forward pass; up to --queue more wait for a slot.\n" +
			"-c is the context of each slot. SIGINT or SIGTERM stops it gracefully.",
		Example: `  gale serve -m ./Mistral-7B-Instruct-v0.2 --port 8080 -np 4
  gale serve --api-key secret --cors http://localhost:3000`,
		Args: cobra.NoArgs,
		RunE: wrapRun(func(cmd *cobra.Command, args []string) error {
			if err := mf.validate(); err != nil {
				return err
			}
			if port < 0 || port > 65535 {
				return usagef("invalid argument %d for \"--port\": must be 0..65535", port)
			}
			if parallel < 1 || parallel > 256 {
				return usagef("invalid argument %d for \"--parallel\": must be 1..256", parallel)
			}
			if queue < 1 {
				return usagef("invalid argument %d for \"--queue\": must be >= 1", queue)
			}
			if grace < 0 {
				return usagef("invalid argument %v for \"--grace\": must be >= 0", grace)
			}
			if timeout <= 0 {
				return usagef("invalid argument %v for \"--timeout\": must be positive", timeout)
			}
			return a.serve(&mf, host, port, grace, server.Options{
				Parallel: parallel, CtxSize: mf.ctxSize, Queue: queue, Threads: mf.threads, KVF16: mf.sessionOptions().KVF16,
				APIKey: apiKey, Timeout: timeout, CORS: cors, Log: a.stderr,
			})
		}),
	}
	fs := cmd.Flags()
	mf.register(fs, "f16")
	fs.StringVar(&host, "host", "127.0.0.1", "address to listen on")
	fs.IntVar(&port, "port", 8080, "port to listen on (0 = any free port, printed at start)")
	fs.IntVar(&parallel, "parallel", 4, "requests decoded together (slots); llama-server's -np")
	fs.IntVar(&queue, "queue", 64, "requests waiting for a slot before the server answers 503")
	fs.StringVar(&apiKey, "api-key", "", "require \"Authorization: Bearer KEY\" (all routes but /health)")
	fs.DurationVar(&timeout, "timeout", 600*time.Second, "bound on a request's total time and on each write")
	fs.DurationVar(&grace, "grace", 10*time.Second, "on SIGINT/SIGTERM, how long requests in flight may run before they are cut short")
	fs.StringVar(&cors, "cors", "", "allow browser requests from this origin (Access-Control-Allow-Origin)")
	return cmd
}

func (a *app) serve(mf *modelFlags, host string, port int, grace time.Duration, opts server.Options) error {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return fail("listen", err)
	}
	srv := server.New(opts)
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       120 * time.Second,
		// Requests derive their contexts from base: cancelling it ends
		// the generations still running after the grace period.
	}
	base, cancelAll := context.WithCancel(context.Background())
	defer cancelAll()
	hs.BaseContext = func(net.Listener) context.Context { return base }
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	a.infof("gale: serve: listening on http://%s (loading the model; /health answers 503 until ready)\n", ln.Addr())

	// SIGINT (through the app's handler) and SIGTERM both stop gracefully.
	stop := make(chan struct{}, 1)
	trigger := func() {
		select {
		case stop <- struct{}{}:
		default:
		}
	}
	a.setOnSignal(trigger)
	defer a.setOnSignal(nil)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	defer signal.Stop(term)
	go func() {
		for range term {
			trigger()
		}
	}()

	m, _, err := a.loadModel(mf)
	if err != nil {
		hs.Close()
		return err
	}
	defer m.Close()
	if err := srv.Start(m, m.Name); err != nil {
		hs.Close()
		return fail("serve", err)
	}
	kv := float64(srv.SlotKVBytes()) / (1 << 20)
	a.infof("gale: serve: %s ready: %d slots x %d positions, KV cache %.1f MiB per slot (%.1f MiB in all), %d threads, kernels %s\n",
		m.Name, opts.Parallel, srv.CtxSize(), kv, kv*float64(opts.Parallel), srv.Threads(), kernelLevel())

	select {
	case err := <-served:
		srv.Close()
		return fail("serve", err)
	case <-stop:
	}
	a.infof("gale: serve: shutting down (requests in flight may run %v more)\n", grace)
	// New connections are refused at once; the requests in flight finish,
	// or after the grace period (or at a second signal) end early with
	// a proper end of answer; then the connections close.
	a.setOnSignal(srv.CancelRequests)
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
		case <-stop:
		case <-finished:
			return
		}
		srv.CancelRequests()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), grace+5*time.Second)
	defer cancel()
	if err := hs.Shutdown(ctx); err != nil {
		cancelAll()
		hs.Close()
	}
	srv.Close()
	a.infof("gale: serve: stopped\n")
	return nil
}
