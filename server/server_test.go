package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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
