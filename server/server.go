// Package server is gale's OpenAI-compatible HTTP server: chat and text
// completions (streamed as server-sent events the way llama-server sends
// them), models, health, tokenize and detokenize, on one Engine shared by
// every request through continuous batching (see scheduler).
package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	rnd "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gale-ai/gale/model"
)

// Options configure a server.
type Options struct {
	Parallel int           // sequence slots (requests decoded together); 0 = 4
	CtxSize  int           // positions per slot; 0 = min(4096, the model's)
	Queue    int           // requests waiting for a slot; 0 = 64
	Threads  int           // engine threads; 0 = physical cores
	KVF16    bool          // f16 KV caches
	APIKey   string        // required as "Authorization: Bearer KEY" when set (not for /health)
	Timeout  time.Duration // bounds a request's total time and each write; 0 = 600 s
	CORS     string        // Access-Control-Allow-Origin value; "" = no CORS
	MaxBody  int64         // request body cap; 0 = 8 MiB
	Log      io.Writer     // access log, one line per request; nil = none
	// PrefaultKV maps every page of the slots' KV caches at Start
	// (model.SequenceOptions.Prefault): for serve-bench, whose slots are
	// sized to its runs.
	PrefaultKV bool
}

// DefaultMaxBody is the request body cap.
const DefaultMaxBody = 8 << 20

// Server answers the HTTP API. It serves /health (503) before Start.
type Server struct {
	opts    Options
	ready   atomic.Bool
	m       *model.Model
	name    string
	e       *model.Engine
	sched   *scheduler
	created int64
	logMu   sync.Mutex
	closed  sync.Once
	// stop is cancelled by CancelRequests: every generation still running
	// ends as if it had reached its length, and its client gets a proper
	// end of answer.
	stop       context.Context
	cancelStop context.CancelFunc
}

// New makes a server that is not ready yet: it answers /health with 503
// until Start.
func New(opts Options) *Server {
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.Queue <= 0 {
		opts.Queue = 64
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 600 * time.Second
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	stop, cancel := context.WithCancel(context.Background())
	return &Server{opts: opts, created: time.Now().Unix(), stop: stop, cancelStop: cancel}
}

// CancelRequests ends every generation in flight (finish_reason
// "length"); new requests are still accepted. A graceful shutdown calls it
// when its grace period is over.
func (s *Server) CancelRequests() { s.cancelStop() }

// Start sets up the engine and one sequence per slot for m and starts the
// scheduler; name is the model id the API reports.
func (s *Server) Start(m *model.Model, name string) error {
	ctx := s.opts.CtxSize
	if ctx <= 0 {
		ctx = min(4096, m.Config.MaxSeqLen)
	}
	e, err := m.NewEngine(model.EngineOptions{Threads: s.opts.Threads})
	if err != nil {
		return err
	}
	if s.opts.Parallel > e.MaxRows() {
		e.Close()
		return fmt.Errorf("--parallel %d exceeds the %d rows of a forward pass", s.opts.Parallel, e.MaxRows())
	}
	var seqs []*model.Sequence
	for i := 0; i < s.opts.Parallel; i++ {
		q, err := e.NewSequence(model.SequenceOptions{CtxSize: ctx, KVF16: s.opts.KVF16, Prefault: s.opts.PrefaultKV})
		if err != nil {
			e.Close()
			return err
		}
		seqs = append(seqs, q)
	}
	s.m, s.name, s.e = m, name, e
	s.opts.CtxSize = ctx
	s.sched = newScheduler(e, seqs, s.opts.Queue)
	go s.sched.run()
	s.ready.Store(true)
	return nil
}

// Generate runs one generation through the scheduler, batched with
// whatever else is running, and returns when it is over; onToken, when
// set, sees every token as it is sampled (on the scheduler's goroutine:
// it must not block). It is the in-process path the HTTP handlers share,
// for benchmarks and embedders; models without a tokenizer work (no text).
func (s *Server) Generate(ctx context.Context, prompt []int, opts model.GenerateOptions, onToken func(tok int)) (*model.GenerateResult, error) {
	if !s.ready.Load() {
		return nil, errors.New("server: not started")
	}
	if err := s.m.CheckPrompt(prompt, s.opts.CtxSize); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.stop, cancel)()
	j := &job{ctx: ctx, prompt: prompt, opts: opts, logprobs: -1, onToken: onToken}
	if err := s.sched.submit(j); err != nil {
		return nil, err
	}
	for {
		if _, final := j.take(); final {
			return j.res, j.err
		}
		<-j.notify
	}
}

// SlotKVBytes is the KV cache memory of one slot (after Start).
func (s *Server) SlotKVBytes() int64 {
	if s.sched == nil {
		return 0
	}
	return s.sched.slots[0].seq.KVCacheBytes()
}

// CtxSize is each slot's context (after Start).
func (s *Server) CtxSize() int { return s.opts.CtxSize }

// Threads is the engine's thread count (after Start).
func (s *Server) Threads() int { return s.e.Threads() }

// Close stops the scheduler (requests still running end as interrupted)
// and the engine. Call it after the HTTP server has shut down.
func (s *Server) Close() {
	s.closed.Do(func() {
		s.cancelStop()
		if s.sched != nil {
			s.sched.close()
			s.e.Close()
		}
	})
}

// Handler is the HTTP API.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// logInfo is what a handler tells the access log.
type logInfo struct{ prompt, completion int }

type logKey struct{}

// statusWriter records the status for the access log; Unwrap lets
// http.ResponseController reach the connection's deadlines and flushes.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	info := &logInfo{}
	r = r.WithContext(context.WithValue(r.Context(), logKey{}, info))
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			if sw.status == 0 {
				s.fail(sw, &apiError{status: 500, typ: "server_error", msg: fmt.Sprintf("internal error: %v", p)})
			}
		}
		s.access(r, sw.status, info, time.Since(t0))
	}()
	s.route(sw, r)
}

// access writes one structured line per request.
func (s *Server) access(r *http.Request, status int, info *logInfo, d time.Duration) {
	if s.opts.Log == nil {
		return
	}
	if status == 0 {
		status = 499 // the client went away before any answer
	}
	s.logMu.Lock()
	fmt.Fprintf(s.opts.Log, "gale: serve: method=%s path=%q status=%d prompt_tokens=%d completion_tokens=%d ms=%.1f remote=%s\n",
		r.Method, r.URL.Path, status, info.prompt, info.completion, ms(d), r.RemoteAddr)
	s.logMu.Unlock()
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if s.opts.CORS != "" {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", s.opts.CORS)
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	path := r.URL.Path
	if path == "/health" {
		if !s.method(w, r, http.MethodGet) {
			return
		}
		if !s.ready.Load() {
			s.fail(w, &apiError{status: 503, typ: "unavailable_error", msg: "Loading model"})
			return
		}
		busy := int(s.sched.busy.Load())
		writeJSON(w, 200, map[string]any{"status": "ok", "slots_idle": s.opts.Parallel - busy,
			"slots_processing": busy, "requests_queued": len(s.sched.queue)})
		return
	}
	if !s.authorized(r) {
		s.fail(w, &apiError{status: 401, typ: "authentication_error", msg: "Invalid API Key"})
		return
	}
	var h func(http.ResponseWriter, *http.Request)
	method := http.MethodPost
	switch path {
	case "/v1/chat/completions", "/chat/completions":
		h = func(w http.ResponseWriter, r *http.Request) { s.completion(w, r, true) }
	case "/v1/completions", "/completions":
		h = func(w http.ResponseWriter, r *http.Request) { s.completion(w, r, false) }
	case "/v1/models", "/models":
		h, method = s.models, http.MethodGet
	case "/tokenize":
		h = s.tokenize
	case "/detokenize":
		h = s.detokenize
	default:
		s.fail(w, &apiError{status: 404, typ: "not_found_error", msg: fmt.Sprintf("no route %s", path)})
		return
	}
	if !s.method(w, r, method) {
		return
	}
	if !s.ready.Load() {
		s.fail(w, &apiError{status: 503, typ: "unavailable_error", msg: "Loading model"})
		return
	}
	if s.m.Tokenizer == nil && path != "/v1/models" && path != "/models" {
		s.fail(w, &apiError{status: 501, typ: "not_supported_error", msg: s.m.Name + " has no tokenizer"})
		return
	}
	h(w, r)
}

func (s *Server) method(w http.ResponseWriter, r *http.Request, want string) bool {
	if r.Method == want || (want == http.MethodGet && r.Method == http.MethodHead) {
		return true
	}
	w.Header().Set("Allow", want)
	s.fail(w, &apiError{status: 405, typ: "invalid_request_error", msg: fmt.Sprintf("%s %s: method not allowed (use %s)", r.Method, r.URL.Path, want)})
	return false
}

// authorized checks the bearer key in constant time.
func (s *Server) authorized(r *http.Request) bool {
	if s.opts.APIKey == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.opts.APIKey)) == 1
}

// fail answers err with OpenAI's error shape.
func (s *Server) fail(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{status: 500, typ: "server_error", msg: err.Error()}
	}
	if ae.status == 503 && ae.typ == "unavailable_error" && ae.msg != "Loading model" {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, ae.status, errorBody(ae))
}

func errorBody(ae *apiError) any {
	return map[string]any{"error": map[string]any{"message": ae.msg, "type": ae.typ, "code": ae.status}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// readBody reads the request body within the cap and the timeout.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(s.opts.Timeout))
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBody))
	rc.SetReadDeadline(time.Time{})
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, &apiError{status: 413, typ: "invalid_request_error", msg: fmt.Sprintf("request body larger than %d bytes", s.opts.MaxBody)}
		}
		return nil, invalid("reading the request body: %v", err)
	}
	return b, nil
}

// newID is a random response id with the given prefix.
func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// timings is llama-server's timings object.
type timings struct {
	CacheN              int     `json:"cache_n"`
	PromptN             int     `json:"prompt_n"`
	PromptMS            float64 `json:"prompt_ms"`
	PromptPerTokenMS    float64 `json:"prompt_per_token_ms"`
	PromptPerSecond     float64 `json:"prompt_per_second"`
	PredictedN          int     `json:"predicted_n"`
	PredictedMS         float64 `json:"predicted_ms"`
	PredictedPerTokenMS float64 `json:"predicted_per_token_ms"`
	PredictedPerSecond  float64 `json:"predicted_per_second"`
}

func (t *timings) fill() {
	per := func(ms float64, n int) (float64, float64) {
		if n == 0 || ms <= 0 {
			return 0, 0
		}
		return ms / float64(n), 1000 * float64(n) / ms
	}
	t.PromptPerTokenMS, t.PromptPerSecond = per(t.PromptMS, t.PromptN)
	t.PredictedPerTokenMS, t.PredictedPerSecond = per(t.PredictedMS, t.PredictedN)
}

// usage is OpenAI's token counts.
type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// tokenText is a token's text for logprobs: its string and its bytes.
type tokenText struct {
	Token string `json:"token"`
	Bytes []int  `json:"bytes"`
}

func newTokenText(s string) tokenText {
	b := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		b[i] = int(s[i])
	}
	return tokenText{Token: s, Bytes: b}
}

func pieceText(m *model.Model, id int) tokenText {
	return newTokenText(strings.ReplaceAll(m.Tokenizer.Piece(id), "\u2581", " "))
}

// tokenLogprob is one token's entry of logprobs.content.
type tokenLogprob struct {
	tokenText
	Logprob float64      `json:"logprob"`
	Top     []topLogprob `json:"top_logprobs"`
}

type topLogprob struct {
	tokenText
	Logprob float64 `json:"logprob"`
}

// finishReason maps a stop reason to OpenAI's.
func finishReason(r string) string {
	switch r {
	case model.StopEOS, model.StopString:
		return "stop"
	}
	return "length"
}

// prepare turns a validated request into a job: the prompt tokens and the
// generation options.
func (s *Server) prepare(req *Request, chat bool) (*job, error) {
	tok := s.m.Tokenizer
	var prompt []int
	switch {
	case chat:
		var tools []json.RawMessage
		if len(req.Tools) > 0 && string(req.Tools) != "null" {
			if err := json.Unmarshal(req.Tools, &tools); err != nil {
				return nil, invalid("\"tools\" must be a list of tool objects")
			}
		}
		ids, err := s.m.EncodeConversation(req.conversation(), tools)
		if err != nil {
			return nil, invalid("chat template: %v", err)
		}
		prompt = ids
	case req.promptIDs != nil:
		for _, id := range req.promptIDs {
			if id < 0 || id >= s.m.Config.VocabSize {
				return nil, invalid("prompt token %d is outside the vocabulary (0..%d)", id, s.m.Config.VocabSize-1)
			}
		}
		prompt = req.promptIDs
	default:
		prompt = tok.Encode(req.prompt)
		if bos := tok.BOS(); bos >= 0 {
			prompt = append([]int{bos}, prompt...)
		}
		if len(prompt) == 0 {
			return nil, invalid("\"prompt\" has no tokens")
		}
	}
	// The prompt and at least one generated token must fit a slot.
	if len(prompt) >= s.opts.CtxSize {
		return nil, invalid("the request exceeds the available context size: the prompt has %d tokens, a slot holds %d", len(prompt), s.opts.CtxSize)
	}
	so := model.SamplerOptions{Temp: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1, RepeatLastN: 64}
	if req.Temperature != nil {
		so.Temp = float32(*req.Temperature)
	}
	if req.TopK != nil {
		so.TopK = *req.TopK
	}
	if req.TopP != nil {
		so.TopP = float32(*req.TopP)
	}
	if req.MinP != nil {
		so.MinP = float32(*req.MinP)
	}
	if req.RepeatPenalty != nil {
		so.RepeatPenalty = float32(*req.RepeatPenalty)
	}
	if req.RepeatLastN != nil {
		so.RepeatLastN = *req.RepeatLastN
		if so.RepeatLastN == -1 {
			so.RepeatLastN = s.opts.CtxSize
		}
	}
	if req.Seed != nil && *req.Seed >= 0 && *req.Seed != math.MaxUint32 {
		so.Seed = uint64(*req.Seed)
	} else {
		so.Seed = rnd.Uint64()
	}
	opts := model.GenerateOptions{MaxTokens: req.maxTokens(), Sampler: so, Stop: req.stops, IgnoreEOS: req.IgnoreEOS}
	if req.PresencePenalty != nil {
		opts.PresencePenalty = float32(*req.PresencePenalty)
	}
	if req.FrequencyPenalty != nil {
		opts.FrequencyPenalty = float32(*req.FrequencyPenalty)
	}
	cache := req.CachePrompt == nil || *req.CachePrompt
	return &job{prompt: prompt, opts: opts, cache: cache, logprobs: req.logprobs}, nil
}

// completion serves /v1/chat/completions (chat) and /v1/completions.
func (s *Server) completion(w http.ResponseWriter, r *http.Request, chat bool) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, err)
		return
	}
	req, err := DecodeRequest(body, chat)
	if err != nil {
		s.fail(w, err)
		return
	}
	if chat && req.Stream && len(req.Tools) > 0 && string(req.Tools) != "null" && s.m.Tokenizer.SpecialID("[TOOL_CALLS]") >= 0 {
		// As llama-server: tool calls are parsed from the whole answer.
		s.fail(w, invalid("Cannot use tools with stream"))
		return
	}
	j, err := s.prepare(req, chat)
	if err != nil {
		s.fail(w, err)
		return
	}
	info := r.Context().Value(logKey{}).(*logInfo)
	info.prompt = len(j.prompt)
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
	defer cancel()
	defer context.AfterFunc(s.stop, cancel)()
	j.ctx = ctx
	if err := s.sched.submit(j); err != nil {
		s.fail(w, &apiError{status: 503, typ: "unavailable_error", msg: err.Error()})
		return
	}
	name := req.Model
	if name == "" {
		name = s.name
	}
	rs := &response{s: s, w: w, rc: http.NewResponseController(w), chat: chat, id: newID("chatcmpl-"),
		created: time.Now().Unix(), model: name, logprobs: j.logprobs >= 0,
		includeUsage: req.StreamOptions != nil && req.StreamOptions.IncludeUsage,
		tools:        len(req.Tools) > 0 && string(req.Tools) != "null"}
	if !chat {
		rs.id = newID("cmpl-")
	}
	if req.Stream {
		rs.stream(r.Context(), j, info)
	} else {
		rs.whole(r.Context(), j, info)
	}
}

// response writes one completion's answer.
type response struct {
	s            *Server
	w            http.ResponseWriter
	rc           *http.ResponseController
	chat         bool
	id           string
	created      int64
	model        string
	logprobs     bool
	includeUsage bool
	tools        bool // the request gave tools: a tool-call answer comes back as tool_calls
}

// wait blocks until the job has news or the client is gone.
func wait(ctx context.Context, j *job) ([]piece, bool, bool) {
	for {
		out, final := j.take()
		if len(out) > 0 || final {
			return out, final, true
		}
		select {
		case <-j.notify:
		case <-ctx.Done():
			return nil, false, false
		}
	}
}

func (rs *response) object(chunk bool) string {
	switch {
	case rs.chat && chunk:
		return "chat.completion.chunk"
	case rs.chat:
		return "chat.completion"
	}
	return "text_completion"
}

func (rs *response) envelope(choices any, chunk bool) map[string]any {
	return map[string]any{"id": rs.id, "object": rs.object(chunk), "created": rs.created, "model": rs.model,
		"system_fingerprint": "gale", "choices": choices}
}

func (rs *response) usageOf(j *job) usage {
	n := 0
	if j.res != nil {
		n = len(j.res.Tokens)
	}
	return usage{PromptTokens: len(j.prompt), CompletionTokens: n, TotalTokens: len(j.prompt) + n}
}

// whole answers a non-streaming request once the job is over.
func (rs *response) whole(ctx context.Context, j *job, info *logInfo) {
	var text strings.Builder
	var lps []tokenLogprob
	for {
		out, final, ok := wait(ctx, j)
		if !ok {
			return // the client went away; the scheduler frees the slot
		}
		for _, p := range out {
			text.WriteString(p.text)
			lps = append(lps, p.lps...)
		}
		if final {
			break
		}
	}
	if j.err != nil {
		rs.s.fail(rs.w, jobError(j.err))
		return
	}
	info.completion = len(j.res.Tokens)
	choice := map[string]any{"index": 0, "finish_reason": finishReason(j.res.StopReason), "logprobs": nil}
	if rs.logprobs {
		choice["logprobs"] = map[string]any{"content": nonNil(lps)}
	}
	if rs.chat {
		msg := map[string]any{"role": "assistant", "content": strings.TrimLeft(text.String(), " ")}
		if calls, ok := toolCalls(rs.s.m.Tokenizer, j.res.Tokens, text.String()); ok && rs.tools {
			msg["content"] = nil
			msg["tool_calls"] = calls
			choice["finish_reason"] = "tool_calls"
		}
		choice["message"] = msg
	} else {
		choice["text"] = text.String()
	}
	env := rs.envelope([]any{choice}, false)
	env["usage"] = rs.usageOf(j)
	env["timings"] = j.tm
	rs.rc.SetWriteDeadline(time.Now().Add(rs.s.opts.Timeout))
	writeJSON(rs.w, 200, env)
}

// jobError is the API error for a job that failed: 503 when the server
// is shutting down before it ran, else 500.
func jobError(err error) *apiError {
	if errors.Is(err, errShutdown) {
		return &apiError{status: 503, typ: "unavailable_error", msg: err.Error()}
	}
	return &apiError{status: 500, typ: "server_error", msg: err.Error()}
}

func nonNil(l []tokenLogprob) []tokenLogprob {
	if l == nil {
		return []tokenLogprob{}
	}
	return l
}

// stream answers as server-sent events in llama-server's chunk sequence:
// for chat, a role chunk first, then one chunk per piece of text, then a
// chunk with an empty delta, the finish reason, usage and timings; then,
// with stream_options.include_usage, OpenAI's usage chunk with no
// choices; then "data: [DONE]".
func (rs *response) stream(ctx context.Context, j *job, info *logInfo) {
	h := rs.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	rs.w.WriteHeader(200)
	first := true
	for {
		out, final, ok := wait(ctx, j)
		if !ok {
			return
		}
		for _, p := range out {
			t := p.text
			if rs.chat && first {
				if !rs.event(rs.envelope([]any{map[string]any{"index": 0, "finish_reason": nil,
					"delta": map[string]any{"role": "assistant", "content": nil}}}, true)) {
					return
				}
				// The answer's first piece carries the space after
				// [/INST]; the reply is the text after it.
				t = strings.TrimLeft(t, " ")
			}
			if t == "" && len(p.lps) == 0 {
				continue
			}
			first = false
			choice := map[string]any{"index": 0, "finish_reason": nil, "logprobs": nil}
			if rs.logprobs {
				choice["logprobs"] = map[string]any{"content": nonNil(p.lps)}
			}
			if rs.chat {
				choice["delta"] = map[string]any{"content": t}
			} else {
				choice["text"] = t
			}
			if !rs.event(rs.envelope([]any{choice}, true)) {
				return
			}
		}
		if final {
			break
		}
	}
	if j.err != nil {
		rs.write("error: " + mustJSON(errorBody(jobError(j.err))) + "\n\n")
		return
	}
	info.completion = len(j.res.Tokens)
	if rs.chat && first {
		rs.event(rs.envelope([]any{map[string]any{"index": 0, "finish_reason": nil,
			"delta": map[string]any{"role": "assistant", "content": nil}}}, true))
	}
	choice := map[string]any{"index": 0, "finish_reason": finishReason(j.res.StopReason), "logprobs": nil}
	if rs.chat {
		choice["delta"] = map[string]any{}
	} else {
		choice["text"] = ""
	}
	env := rs.envelope([]any{choice}, true)
	u := rs.usageOf(j)
	env["usage"] = u
	env["timings"] = j.tm
	if !rs.event(env) {
		return
	}
	if rs.includeUsage {
		env := rs.envelope([]any{}, true)
		env["usage"] = u
		if !rs.event(env) {
			return
		}
	}
	rs.write("data: [DONE]\n\n")
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// event writes one "data: JSON" event.
func (rs *response) event(v any) bool { return rs.write("data: " + mustJSON(v) + "\n\n") }

// write sends s at once, within the per-write deadline.
func (rs *response) write(s string) bool {
	rs.rc.SetWriteDeadline(time.Now().Add(rs.s.opts.Timeout))
	if _, err := io.WriteString(rs.w, s); err != nil {
		return false
	}
	return rs.rc.Flush() == nil
}

// models serves /v1/models.
func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	c := &s.m.Config
	writeJSON(w, 200, map[string]any{"object": "list", "data": []any{map[string]any{
		"id": s.name, "object": "model", "created": s.created, "owned_by": "gale",
		"meta": map[string]any{"n_ctx_train": c.MaxSeqLen, "n_ctx": s.opts.CtxSize, "n_vocab": c.VocabSize,
			"n_params": s.m.NumParams(), "n_embd": c.Dim, "parallel": s.opts.Parallel},
	}}})
}

// tokenize serves /tokenize: {"content", "add_special", "with_pieces"}.
func (s *Server) tokenize(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, err)
		return
	}
	var req struct {
		Content    *string `json:"content"`
		AddSpecial bool    `json:"add_special"`
		WithPieces bool    `json:"with_pieces"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		s.fail(w, invalid("invalid JSON body: %v", jsonError(err)))
		return
	}
	if req.Content == nil {
		s.fail(w, invalid("\"content\" is required"))
		return
	}
	tok := s.m.Tokenizer
	ids := tok.Encode(*req.Content)
	if req.AddSpecial && tok.BOS() >= 0 {
		ids = append([]int{tok.BOS()}, ids...)
	}
	if !req.WithPieces {
		if ids == nil {
			ids = []int{}
		}
		writeJSON(w, 200, map[string]any{"tokens": ids})
		return
	}
	out := make([]map[string]any, len(ids))
	for i, id := range ids {
		out[i] = map[string]any{"id": id, "piece": pieceText(s.m, id).Token}
	}
	writeJSON(w, 200, map[string]any{"tokens": out})
}

// detokenize serves /detokenize: {"tokens": [ids]} → {"content"}.
func (s *Server) detokenize(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.fail(w, err)
		return
	}
	var req struct {
		Tokens []int `json:"tokens"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		s.fail(w, invalid("invalid JSON body: %v", jsonError(err)))
		return
	}
	for _, id := range req.Tokens {
		if id < 0 || id >= s.m.Tokenizer.VocabSize() {
			s.fail(w, invalid("token %d is outside the vocabulary (0..%d)", id, s.m.Tokenizer.VocabSize()-1))
			return
		}
	}
	writeJSON(w, 200, map[string]any{"content": s.m.Tokenizer.Decode(req.Tokens)})
}
