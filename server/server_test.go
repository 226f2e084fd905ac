package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gale-ai/gale/model"
)

func startTest(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	m, err := model.LoadDefault(model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := New(opts)
	if err := s.Start(m, "stories"); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Close()
		m.Close()
	})
	return s, ts
}

// TestHealthWhileLoading: before Start, /health and every route answer
// 503 with the error shape.
func TestHealthWhileLoading(t *testing.T) {
	s := New(Options{})
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for _, path := range []string{"/health", "/v1/models"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || !strings.Contains(string(b), `"type":"unavailable_error"`) || !strings.Contains(string(b), "Loading model") {
			t.Errorf("%s while loading: %d %s", path, resp.StatusCode, b)
		}
	}
}

// TestNoGoroutineGrowth runs a load of concurrent requests, streamed and
// not, some abandoned mid-stream, and checks that the goroutine count
// comes back to where it was.
func TestNoGoroutineGrowth(t *testing.T) {
	_, ts := startTest(t, Options{Parallel: 4, CtxSize: 4096})
	tr := &http.Transport{}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch i % 3 {
			case 0: // whole answer
				body := fmt.Sprintf(`{"prompt":"Once upon a time %d","max_tokens":16}`, i)
				resp, err := client.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			case 1: // stream to the end
				body := `{"messages":[{"role":"user","content":"Hi"}],"max_tokens":16,"stream":true}`
				resp, err := client.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !strings.HasSuffix(string(b), "data: [DONE]\n\n") {
					errs <- fmt.Errorf("stream without [DONE]: %q", b)
				}
			case 2: // abandoned mid-stream
				ctx, cancel := context.WithCancel(context.Background())
				req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/completions",
					strings.NewReader(`{"prompt":"The dog","stream":true,"ignore_eos":true,"max_tokens":3000}`))
				resp, err := client.Do(req)
				if err != nil {
					cancel()
					errs <- err
					return
				}
				bufio.NewReader(resp.Body).ReadString('\n')
				cancel()
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	tr.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for {
		now := runtime.NumGoroutine()
		if now <= before {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before the load, %d after:\n%s", before, now, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGreedyMatchesGenerate: a greedy completion through the scheduler
// (batched with other requests) is the text Session.Generate produces.
func TestGreedyMatchesGenerate(t *testing.T) {
	_, ts := startTest(t, Options{Parallel: 3})
	m, err := model.LoadDefault(model.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	sess, err := m.NewSession(model.SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	prompts := []string{"Once upon a time", "The bird sang", "Tim and his mom"}
	want := make([]string, len(prompts))
	for i, p := range prompts {
		ids := append([]int{m.Tokenizer.BOS()}, m.Tokenizer.Encode(p)...)
		res, err := sess.Generate(context.Background(), ids, model.GenerateOptions{MaxTokens: 30, Stop: []string{"."}})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = res.Text
	}
	var wg sync.WaitGroup
	got := make([]string, len(prompts))
	for i, p := range prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"prompt":%q,"max_tokens":30,"temperature":0,"stop":"."}`, p)
			resp, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var r struct {
				Choices []struct {
					Text         string `json:"text"`
					FinishReason string `json:"finish_reason"`
				} `json:"choices"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || len(r.Choices) != 1 {
				t.Errorf("%q: %v", p, err)
				return
			}
			got[i] = r.Choices[0].Text
		}()
	}
	wg.Wait()
	for i := range prompts {
		if got[i] != want[i] {
			t.Errorf("%q: served %q, Generate %q", prompts[i], got[i], want[i])
		}
	}
}

// TestTokenizeDetokenize: /tokenize gives the ids llama2.c's reference
// has for its prompts (BOS with add_special), /detokenize the text back;
// bad bodies and ids are 400s.
func TestTokenizeDetokenize(t *testing.T) {
	_, ts := startTest(t, Options{Parallel: 1})
	var ref struct {
		Runs []struct {
			Prompt    string `json:"prompt"`
			PromptIDs []int  `json:"prompt_ids"`
		} `json:"runs"`
	}
	b, err := os.ReadFile("../testdata/models/stories260k/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	call := func(path, body string) (int, string) {
		resp, err := http.Post(ts.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	for _, run := range ref.Runs {
		if run.Prompt == "" {
			continue
		}
		code, out := call("/tokenize", fmt.Sprintf(`{"content":%q,"add_special":true}`, run.Prompt))
		var tk struct {
			Tokens []int `json:"tokens"`
		}
		if code != 200 || json.Unmarshal([]byte(out), &tk) != nil || fmt.Sprint(tk.Tokens) != fmt.Sprint(run.PromptIDs) {
			t.Errorf("tokenize %q: %d %s, want %v", run.Prompt, code, out, run.PromptIDs)
		}
		ids, _ := json.Marshal(run.PromptIDs[1:])
		code, out = call("/detokenize", fmt.Sprintf(`{"tokens":%s}`, ids))
		var dt struct {
			Content string `json:"content"`
		}
		if code != 200 || json.Unmarshal([]byte(out), &dt) != nil || strings.TrimSpace(dt.Content) != run.Prompt {
			t.Errorf("detokenize %v: %d %s, want %q", run.PromptIDs[1:], code, out, run.Prompt)
		}
	}
	code, out := call("/tokenize", `{"content":"Once","with_pieces":true}`)
	if code != 200 || !strings.Contains(out, `"piece":`) || !strings.Contains(out, `"id":`) {
		t.Errorf("with_pieces: %d %s", code, out)
	}
	for path, body := range map[string]string{"/tokenize": `{"content":5}`, "/detokenize": `{"tokens":[100000]}`} {
		if code, out := call(path, body); code != 400 || !strings.Contains(out, "invalid_request_error") {
			t.Errorf("%s %s: %d %s", path, body, code, out)
		}
	}
}

// TestRequestTimeout: --timeout ends a long generation with
// finish_reason "length" and frees the slot.
func TestRequestTimeout(t *testing.T) {
	_, ts := startTest(t, Options{Parallel: 1, CtxSize: 1 << 16, Timeout: 300 * time.Millisecond})
	t0 := time.Now()
	resp, err := http.Post(ts.URL+"/v1/completions", "application/json",
		strings.NewReader(`{"prompt":"Once","ignore_eos":true,"max_tokens":60000}`))
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Choices []struct {
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
	}
	err = json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if err != nil || len(r.Choices) != 1 || r.Choices[0].FinishReason != "length" || r.Usage.CompletionTokens >= 60000 {
		t.Fatalf("timed-out request: %+v %v", r, err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("timeout of 300 ms took %v", d)
	}
	resp, err = http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"Once","max_tokens":3}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("next request: %v %v", resp, err)
	}
	resp.Body.Close()
}
