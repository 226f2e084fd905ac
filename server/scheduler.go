package server

import (
	"context"
	"errors"
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gale-ai/gale/model"
)

// scheduler runs continuous batching on one engine: its loop admits queued
// jobs into free sequence slots and, in every forward pass, mixes one
// decode row of every generating job with prompt chunks of jobs still
// prefilling, up to the engine's rows per pass. Tokens go to their job as
// soon as they are sampled; a slot is freed when its job ends or its
// client goes away (noticed before the next pass).
type scheduler struct {
	e     *model.Engine
	m     *model.Model
	slots []*slot
	queue chan *job
	stop  chan struct{}
	done  chan struct{}
	clock int64        // bumped per admission, for least-recently-used slots
	busy  atomic.Int32 // slots running a job, for /health

	chunks []model.Chunk
	owners []*job
	copyL  []float32 // logits kept for logprobs (sampling modifies them)
}

// slot is one sequence of the engine and the job it runs, if any.
type slot struct {
	id   int
	seq  *model.Sequence
	job  *job
	used int64
}

// job is one request inside the scheduler.
type job struct {
	ctx      context.Context // the request's: cancelled on disconnect or timeout
	prompt   []int
	opts     model.GenerateOptions
	cache    bool          // keep a shared prompt prefix (cache_prompt)
	logprobs int           // -1 = none
	onToken  func(tok int) // when set, called with every token as it is sampled (scheduler goroutine)

	// Owned by the scheduler goroutine.
	gen       *model.Generator
	slot      *slot
	todo      []int // prompt tokens still to prefill
	next      int   // the sampled token to feed in the next pass
	admitted  time.Time
	firstTok  time.Time
	pendingLP []tokenLogprob // logprobs of tokens whose text is held back
	staged    []piece        // text from the Next in progress

	// Shared with the handler under mu.
	mu     sync.Mutex
	out    []piece
	final  bool
	res    *model.GenerateResult
	err    error
	tm     timings
	notify chan struct{} // capacity 1: "something new"
}

// piece is text to send with the logprobs of the tokens that made it.
type piece struct {
	text string
	lps  []tokenLogprob
}

// errQueueFull and errShutdown are the reasons a job never runs.
var (
	errQueueFull = errors.New("the server is busy: the request queue is full")
	errShutdown  = errors.New("the server is shutting down")
)

func newScheduler(e *model.Engine, seqs []*model.Sequence, queue int) *scheduler {
	s := &scheduler{e: e, m: e.Model(), queue: make(chan *job, queue), stop: make(chan struct{}), done: make(chan struct{})}
	for i, q := range seqs {
		s.slots = append(s.slots, &slot{id: i, seq: q})
	}
	return s
}

// submit queues j, or fails at once when the queue is full.
func (s *scheduler) submit(j *job) error {
	j.notify = make(chan struct{}, 1)
	// Text is staged during a Next and published after it, with the
	// token's logprobs attached (see sample).
	j.opts.OnText = func(t string) error {
		j.staged = append(j.staged, piece{text: t})
		return nil
	}
	select {
	case <-s.stop:
		return errShutdown
	default:
	}
	select {
	case s.queue <- j:
		return nil
	default:
		return errQueueFull
	}
}

func (j *job) poke() {
	select {
	case j.notify <- struct{}{}:
	default:
	}
}

// take returns what the job produced since the last call, and whether it
// is over (then res, err and tm are final).
func (j *job) take() ([]piece, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := j.out
	j.out = nil
	return out, j.final
}

// close stops the loop and fails the jobs still queued or running.
func (s *scheduler) close() {
	close(s.stop)
	<-s.done
}

// run is the scheduler loop.
func (s *scheduler) run() {
	defer close(s.done)
	defer s.drain()
	for {
		active := s.admit()
		if active == 0 {
			select {
			case j := <-s.queue:
				s.place(j)
			case <-s.stop:
				return
			}
			continue
		}
		select {
		case <-s.stop:
			return
		default:
		}
		s.pass()
	}
}

// drain ends every job when the loop stops.
func (s *scheduler) drain() {
	for _, sl := range s.slots {
		if j := sl.job; j != nil {
			res, _ := j.gen.Finish(model.StopInterrupted)
			s.finish(j, res, nil)
		}
	}
	for {
		select {
		case j := <-s.queue:
			s.finishErr(j, errShutdown)
		default:
			return
		}
	}
}

// admit moves queued jobs into free slots and drops jobs whose clients
// have gone; it returns the number of running jobs.
func (s *scheduler) admit() int {
	active := 0
	for _, sl := range s.slots {
		if j := sl.job; j != nil && j.ctx.Err() != nil {
			res, _ := j.gen.Finish(model.StopInterrupted)
			s.finish(j, res, nil)
		}
	}
	for {
		free := false
		for _, sl := range s.slots {
			if sl.job == nil {
				free = true
				break
			}
		}
		if !free {
			break
		}
		select {
		case j := <-s.queue:
			s.place(j)
			continue
		default:
		}
		break
	}
	for _, sl := range s.slots {
		if sl.job != nil {
			active++
		}
	}
	return active
}

// place puts j into the free slot whose cache shares the longest prefix
// with its prompt (the least recently used among equals).
func (s *scheduler) place(j *job) {
	if j.ctx.Err() != nil {
		s.finishErr(j, j.ctx.Err())
		return
	}
	var best *slot
	bestK := -1
	for _, sl := range s.slots {
		if sl.job != nil {
			continue
		}
		k := 0
		if j.cache {
			k = sl.seq.SharedPrefix(j.prompt)
		}
		if k > bestK || (k == bestK && sl.used < best.used) {
			best, bestK = sl, k
		}
	}
	if best == nil { // no free slot: cannot happen, admit checks
		s.finishErr(j, errQueueFull)
		return
	}
	s.clock++
	best.used = s.clock
	best.job = j
	s.busy.Add(1)
	j.slot = best
	if j.cache {
		j.todo = best.seq.ReusePrefix(j.prompt)
	} else {
		best.seq.Reset()
		j.todo = j.prompt
	}
	j.tm.CacheN = len(j.prompt) - len(j.todo)
	j.gen = s.m.NewGenerator(j.prompt, j.opts)
	j.admitted = time.Now()
	j.next = -1
}

// pass runs one forward pass over the running jobs and hands out its
// tokens.
func (s *scheduler) pass() {
	budget := s.e.MaxRows()
	s.chunks, s.owners = s.chunks[:0], s.owners[:0]
	var prefill []*job
	for _, sl := range s.slots {
		j := sl.job
		if j == nil {
			continue
		}
		if len(j.todo) == 0 {
			s.chunks = append(s.chunks, model.Chunk{Seq: sl.seq, Tokens: []int{j.next}, Logits: model.LogitsLast})
			s.owners = append(s.owners, j)
			budget--
		} else {
			prefill = append(prefill, j)
		}
	}
	// Prompt chunks share what the decode rows leave, oldest job first.
	sort.Slice(prefill, func(a, b int) bool { return prefill[a].admitted.Before(prefill[b].admitted) })
	for _, j := range prefill {
		if budget <= 0 {
			break
		}
		n := min(budget, len(j.todo))
		mode := model.LogitsNone
		if n == len(j.todo) {
			mode = model.LogitsLast
		}
		s.chunks = append(s.chunks, model.Chunk{Seq: j.slot.seq, Tokens: j.todo[:n], Logits: mode})
		s.owners = append(s.owners, j)
		budget -= n
	}
	outs, err := s.e.Forward(s.chunks)
	if err != nil {
		// Every chunk was validated when its job was admitted; an error
		// here fails the jobs of this pass rather than the server.
		for _, j := range s.owners {
			res := j.gen.Result()
			s.finish(j, res, err)
		}
		return
	}
	now := time.Now()
	for i, j := range s.owners {
		ch := s.chunks[i]
		if len(j.todo) > 0 {
			j.todo = j.todo[len(ch.Tokens):]
			if len(j.todo) > 0 {
				continue
			}
			j.tm.PromptN = len(j.prompt) - j.tm.CacheN
			j.tm.PromptMS = ms(now.Sub(j.admitted))
			j.firstTok = now
		}
		s.sample(j, outs[i])
	}
}

// sample draws the job's next token from logits and ends the job when the
// generation is over.
func (s *scheduler) sample(j *job, logits []float32) {
	if j.logprobs >= 0 {
		s.copyL = append(s.copyL[:0], logits...)
	}
	before := len(j.gen.Result().Tokens)
	tok, ok, err := j.gen.Next(logits)
	res := j.gen.Result()
	added := len(res.Tokens) > before // tok is part of the answer (also when it ended it)
	if j.logprobs >= 0 && added {
		j.pendingLP = append(j.pendingLP, logprobOf(s.m, s.copyL, tok, j.logprobs))
		// Text out of this call carries the logprobs of every token
		// since the previous piece.
		if n := len(j.staged); n > 0 {
			j.staged[n-1].lps = j.pendingLP
			j.pendingLP = nil
		}
	}
	j.publish()
	if added && j.onToken != nil {
		j.onToken(tok)
	}
	if err != nil || !ok {
		s.finish(j, res, err)
		return
	}
	if j.slot.seq.Pos() >= j.slot.seq.CtxSize() {
		res, err = j.gen.Finish(model.StopContext)
		s.finish(j, res, err)
		return
	}
	j.next = tok
}

// publish hands the staged text to the handler.
func (j *job) publish() {
	if len(j.staged) == 0 {
		return
	}
	j.mu.Lock()
	j.out = append(j.out, j.staged...)
	j.mu.Unlock()
	j.staged = nil
	j.poke()
}

// finish hands the job's result to its handler and frees its slot.
func (s *scheduler) finish(j *job, res *model.GenerateResult, err error) {
	if sl := j.slot; sl != nil {
		sl.job = nil
		j.slot = nil
		s.busy.Add(-1)
	}
	now := time.Now()
	j.publish() // text flushed by Finish
	j.mu.Lock()
	if len(j.pendingLP) > 0 {
		j.out = append(j.out, piece{lps: j.pendingLP})
		j.pendingLP = nil
	}
	j.final, j.res, j.err = true, res, err
	if res != nil {
		j.tm.PredictedN = len(res.Tokens)
	}
	if !j.firstTok.IsZero() {
		j.tm.PredictedMS = ms(now.Sub(j.firstTok))
	} else if !j.admitted.IsZero() {
		j.tm.PromptMS = ms(now.Sub(j.admitted))
	}
	j.tm.fill()
	j.mu.Unlock()
	j.poke()
}

func (s *scheduler) finishErr(j *job, err error) {
	j.mu.Lock()
	j.final, j.err = true, err
	j.mu.Unlock()
	j.poke()
}

// logprobOf is the log-probability of tok under logits and the top n
// alternatives, for the logprobs field.
func logprobOf(m *model.Model, logits []float32, tok, n int) tokenLogprob {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v) - mx)
	}
	lse := mx + math.Log(sum)
	lp := tokenLogprob{tokenText: pieceText(m, tok), Logprob: float64(logits[tok]) - lse}
	if n > 0 {
		idx := make([]int, len(logits))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return logits[idx[a]] > logits[idx[b]] })
		for _, id := range idx[:min(n, len(idx))] {
			lp.Top = append(lp.Top, topLogprob{tokenText: pieceText(m, id), Logprob: float64(logits[id]) - lse})
		}
	}
	return lp
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
