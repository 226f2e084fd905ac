package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/gale-ai/gale/tokenizer"
)

// Request is a decoded /v1/chat/completions or /v1/completions body.
// Optional numbers are pointers so that an explicit 0 (temperature 0 is
// greedy) differs from an absent field. Unknown fields are ignored, as
// OpenAI clients send many.
type Request struct {
	Model            string          `json:"model"`
	Messages         []Message       `json:"messages"`
	Prompt           json.RawMessage `json:"prompt"`
	MaxTokens        *int            `json:"max_tokens"`
	NPredict         *int            `json:"n_predict"` // llama-server's; wins over max_tokens
	Temperature      *float64        `json:"temperature"`
	TopP             *float64        `json:"top_p"`
	TopK             *int            `json:"top_k"`
	MinP             *float64        `json:"min_p"`
	RepeatPenalty    *float64        `json:"repeat_penalty"`
	RepeatLastN      *int            `json:"repeat_last_n"`
	PresencePenalty  *float64        `json:"presence_penalty"`
	FrequencyPenalty *float64        `json:"frequency_penalty"`
	Stop             json.RawMessage `json:"stop"` // string or list of strings
	Seed             *int64          `json:"seed"`
	Stream           bool            `json:"stream"`
	StreamOptions    *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Logprobs    json.RawMessage `json:"logprobs"` // bool (chat) or int (completions)
	TopLogprobs *int            `json:"top_logprobs"`
	N           *int            `json:"n"`
	IgnoreEOS   bool            `json:"ignore_eos"`
	CachePrompt *bool           `json:"cache_prompt"`
	Tools       json.RawMessage `json:"tools"`

	// Decoded from the raw fields by Validate.
	stops     []string
	promptIDs []int  // a prompt given as token ids
	prompt    string // a prompt given as text
	logprobs  int    // top alternatives to report per token; -1 = no logprobs
}

// Message is one chat message; content is a string or a list of parts of
// which the text ones count.
type Message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	Name    string          `json:"name"`
}

// apiError is an error answered with OpenAI's shape and an HTTP status.
type apiError struct {
	status int
	typ    string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func invalid(format string, args ...any) *apiError {
	return &apiError{status: 400, typ: "invalid_request_error", msg: fmt.Sprintf(format, args...)}
}

// maxStops and maxStopLen bound the stop strings, whose prefixes are
// checked against the text after every token.
const (
	maxStops   = 16
	maxStopLen = 256
)

// DecodeRequest parses and validates a request body for a chat
// (chat=true) or completion endpoint. Every problem is an *apiError with
// status 400; it never panics on any input.
func DecodeRequest(body []byte, chat bool) (*Request, error) {
	var r Request
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&r); err != nil {
		return nil, invalid("invalid JSON body: %v", jsonError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, invalid("invalid JSON body: data after the request object")
	}
	if err := r.validate(chat); err != nil {
		return nil, err
	}
	return &r, nil
}

// jsonError words a decoding error without Go type names.
func jsonError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("field %q has the wrong type (%s)", te.Field, te.Value)
		}
		return fmt.Sprintf("want a JSON object, got %s", te.Value)
	}
	return err.Error()
}

func (r *Request) validate(chat bool) error {
	if r.N != nil && *r.N != 1 {
		return invalid("Only one completion choice is allowed (n must be 1)")
	}
	checkF := func(name string, v *float64, lo, hi float64) error {
		if v != nil && (math.IsNaN(*v) || *v < lo || *v > hi) {
			return invalid("%s must be between %g and %g", name, lo, hi)
		}
		return nil
	}
	for _, c := range []struct {
		name   string
		v      *float64
		lo, hi float64
	}{
		{"temperature", r.Temperature, 0, 100}, {"top_p", r.TopP, 0, 1}, {"min_p", r.MinP, 0, 1},
		{"repeat_penalty", r.RepeatPenalty, 0, 100}, {"presence_penalty", r.PresencePenalty, -2, 2},
		{"frequency_penalty", r.FrequencyPenalty, -2, 2},
	} {
		if err := checkF(c.name, c.v, c.lo, c.hi); err != nil {
			return err
		}
	}
	if r.TopK != nil && *r.TopK < 0 {
		return invalid("top_k must be >= 0")
	}
	if r.RepeatLastN != nil && *r.RepeatLastN < -1 {
		return invalid("repeat_last_n must be >= -1")
	}
	for _, p := range []struct {
		name string
		v    *int
	}{{"max_tokens", r.MaxTokens}, {"n_predict", r.NPredict}} {
		if p.v != nil && *p.v < -1 {
			return invalid("%s must be >= -1", p.name)
		}
	}
	var err error
	if r.stops, err = decodeStop(r.Stop); err != nil {
		return err
	}
	if r.logprobs, err = decodeLogprobs(r.Logprobs, r.TopLogprobs, chat); err != nil {
		return err
	}
	if chat {
		if r.Prompt != nil {
			return invalid("chat completions take \"messages\", not \"prompt\"")
		}
		if len(r.Messages) == 0 {
			return invalid("\"messages\" is required and must not be empty")
		}
		for i, m := range r.Messages {
			switch m.Role {
			case "system", "user", "assistant":
			default:
				return invalid("messages[%d]: unknown role %q (want system, user or assistant)", i, m.Role)
			}
			if _, err := m.text(); err != nil {
				return invalid("messages[%d].content: %v", i, err)
			}
		}
		if r.Messages[len(r.Messages)-1].Role != "user" {
			return invalid("the last message must be from the user")
		}
		return nil
	}
	if r.Messages != nil {
		return invalid("completions take \"prompt\", not \"messages\"")
	}
	return r.decodePrompt()
}

// decodeStop reads stop: null, a string, or a list of strings.
func decodeStop(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		list = []string{one}
	} else if err := json.Unmarshal(raw, &list); err != nil {
		return nil, invalid("\"stop\" must be a string or a list of strings")
	}
	if len(list) > maxStops {
		return nil, invalid("at most %d stop strings", maxStops)
	}
	var out []string
	for _, s := range list {
		if len(s) > maxStopLen {
			return nil, invalid("a stop string is at most %d bytes", maxStopLen)
		}
		if s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// maxTopLogprobs is OpenAI's limit on alternatives per token.
const maxTopLogprobs = 20

// decodeLogprobs reads logprobs (chat: bool with top_logprobs; completions:
// an int, the alternatives per token) into -1 (off) or the alternatives.
func decodeLogprobs(raw json.RawMessage, top *int, chat bool) (int, error) {
	if len(raw) == 0 || string(raw) == "null" {
		if top != nil && chat {
			return 0, invalid("top_logprobs needs logprobs: true")
		}
		return -1, nil
	}
	if chat {
		var on bool
		if err := json.Unmarshal(raw, &on); err != nil {
			return 0, invalid("\"logprobs\" must be a boolean")
		}
		if !on {
			return -1, nil
		}
		n := 0
		if top != nil {
			n = *top
		}
		if n < 0 || n > maxTopLogprobs {
			return 0, invalid("top_logprobs must be between 0 and %d", maxTopLogprobs)
		}
		return n, nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, invalid("\"logprobs\" must be an integer")
	}
	if n < 0 || n > maxTopLogprobs {
		return 0, invalid("logprobs must be between 0 and %d", maxTopLogprobs)
	}
	return n, nil
}

// decodePrompt reads prompt: a string, a list of one string, or a list of
// token ids.
func (r *Request) decodePrompt() error {
	if len(r.Prompt) == 0 || string(r.Prompt) == "null" {
		return invalid("\"prompt\" is required")
	}
	var s string
	if err := json.Unmarshal(r.Prompt, &s); err == nil {
		r.prompt = s
		return nil
	}
	var list []string
	if err := json.Unmarshal(r.Prompt, &list); err == nil {
		if len(list) != 1 {
			return invalid("only one prompt per request is supported (got %d)", len(list))
		}
		r.prompt = list[0]
		return nil
	}
	var ids []int
	if err := json.Unmarshal(r.Prompt, &ids); err == nil {
		if len(ids) == 0 {
			return invalid("\"prompt\" has no tokens")
		}
		r.promptIDs = ids
		return nil
	}
	return invalid("\"prompt\" must be a string, a list of one string, or a list of token ids")
}

// text is the message's content: a string, or the text parts of a list.
func (m *Message) text() (string, error) {
	if len(m.Content) == 0 || string(m.Content) == "null" {
		return "", errors.New("missing")
	}
	var s string
	if err := json.Unmarshal(m.Content, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(m.Content, &parts); err != nil {
		return "", errors.New("must be a string or a list of content parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			return "", fmt.Errorf("content part type %q is not supported (only text)", p.Type)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// conversation converts the validated messages for the chat template.
func (r *Request) conversation() []tokenizer.Message {
	out := make([]tokenizer.Message, len(r.Messages))
	for i, m := range r.Messages {
		t, _ := m.text()
		out[i] = tokenizer.Message{Role: m.Role, Content: t}
	}
	return out
}

// maxTokens is the generation limit asked for: n_predict, else max_tokens,
// else -1 (until EOS or the end of the context).
func (r *Request) maxTokens() int {
	switch {
	case r.NPredict != nil:
		return *r.NPredict
	case r.MaxTokens != nil:
		return *r.MaxTokens
	}
	return -1
}
