package server

import (
	"errors"
	"strings"
	"testing"
)

// TestDecodeRequest: the field forms OpenAI and llama-server accept, and
// the errors, each a 400 invalid_request_error.
func TestDecodeRequest(t *testing.T) {
	ok := []struct {
		body string
		chat bool
		test func(*Request) bool
	}{
		{`{"messages":[{"role":"user","content":"hi"}],"stop":"\n"}`, true, func(r *Request) bool { return len(r.stops) == 1 && r.stops[0] == "\n" }},
		{`{"messages":[{"role":"user","content":"hi"}],"stop":["a","b",""]}`, true, func(r *Request) bool { return len(r.stops) == 2 }},
		{`{"messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}`, true,
			func(r *Request) bool { return r.conversation()[0].Content == "ab" }},
		{`{"messages":[{"role":"user","content":"x"}],"temperature":0}`, true, func(r *Request) bool { return r.Temperature != nil && *r.Temperature == 0 }},
		{`{"messages":[{"role":"user","content":"x"}],"max_tokens":5,"n_predict":7}`, true, func(r *Request) bool { return r.maxTokens() == 7 }},
		{`{"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":3}`, true, func(r *Request) bool { return r.logprobs == 3 }},
		{`{"messages":[{"role":"user","content":"x"}],"unknown_field":{"a":1}}`, true, func(r *Request) bool { return r.logprobs == -1 }},
		{`{"prompt":"once"}`, false, func(r *Request) bool { return r.prompt == "once" && r.maxTokens() == -1 }},
		{`{"prompt":["once"]}`, false, func(r *Request) bool { return r.prompt == "once" }},
		{`{"prompt":[1,2,3],"logprobs":2}`, false, func(r *Request) bool { return len(r.promptIDs) == 3 && r.logprobs == 2 }},
	}
	for _, c := range ok {
		r, err := DecodeRequest([]byte(c.body), c.chat)
		if err != nil {
			t.Errorf("%s: %v", c.body, err)
			continue
		}
		if !c.test(r) {
			t.Errorf("%s: decoded %+v", c.body, r)
		}
	}
	bad := []struct {
		body string
		chat bool
		want string
	}{
		{``, true, "invalid JSON"},
		{`{"messages":`, true, "invalid JSON"},
		{`{"messages":[{"role":"user","content":"x"}]}x`, true, "after the request"},
		{`{"messages":[{"role":"user","content":"x"}],"temperature":"1"}`, true, "temperature"},
		{`{"messages":[{"role":"user","content":"x"}],"temperature":-1}`, true, "temperature"},
		{`{"messages":[{"role":"user","content":"x"}],"n":2}`, true, "Only one"},
		{`{"messages":[{"role":"user","content":"x"}],"top_logprobs":2}`, true, "top_logprobs"},
		{`{"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":99}`, true, "top_logprobs"},
		{`{"messages":[{"role":"user","content":"x"}],"stop":[1]}`, true, "stop"},
		{`{"messages":[{"role":"user","content":"x"}],"max_tokens":-5}`, true, "max_tokens"},
		{`{"messages":[]}`, true, "messages"},
		{`{"messages":[{"role":"tool","content":"x"}]}`, true, "role"},
		{`{"messages":[{"role":"user"}]}`, true, "content"},
		{`{"messages":[{"role":"user","content":"x"},{"role":"assistant","content":"y"}]}`, true, "last message"},
		{`{"prompt":"x"}`, true, "messages"},
		{`{"messages":[{"role":"user","content":"x"}]}`, false, "prompt"},
		{`{"prompt":["a","b"]}`, false, "one prompt"},
		{`{"prompt":[]}`, false, "prompt"},
		{`{"prompt":{"a":1}}`, false, "prompt"},
		{`{"prompt":"x","logprobs":true}`, false, "logprobs"},
	}
	for _, c := range bad {
		_, err := DecodeRequest([]byte(c.body), c.chat)
		var ae *apiError
		if !errors.As(err, &ae) || ae.status != 400 || ae.typ != "invalid_request_error" || !strings.Contains(ae.msg, c.want) {
			t.Errorf("%s: %v, want a 400 mentioning %q", c.body, err, c.want)
		}
	}
}

// FuzzDecodeRequest: any body decodes to a request or a 400, never a
// panic, and a decoded request's derived fields are consistent.
func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"messages":[{"role":"user","content":"hi"}],"stop":["a"],"max_tokens":3}`), true)
	f.Add([]byte(`{"prompt":[1,2,3],"logprobs":2,"stream":true,"stream_options":{"include_usage":true}}`), false)
	f.Fuzz(func(t *testing.T, body []byte, chat bool) {
		r, err := DecodeRequest(body, chat)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != 400 {
				t.Fatalf("error %v is not a 400", err)
			}
			return
		}
		if chat {
			if len(r.Messages) == 0 || len(r.conversation()) != len(r.Messages) {
				t.Fatal("chat request without messages")
			}
		} else if r.prompt == "" && r.promptIDs == nil && string(r.Prompt) != `""` && string(r.Prompt) != `[""]` {
			t.Fatalf("completion request without a prompt: %s", r.Prompt)
		}
		if len(r.stops) > maxStops || r.logprobs > maxTopLogprobs || r.maxTokens() < -1 {
			t.Fatalf("unbounded request: %+v", r)
		}
	})
}
