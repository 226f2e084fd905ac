package server

import (
	"crypto/rand"
	"encoding/json"
	"strings"

	"github.com/gale-ai/gale/tokenizer"
)

// toolCall is one entry of an answer's tool_calls.
type toolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function toolFunction `json:"function"`
}

type toolFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"` // a JSON object, as a string (OpenAI's shape)
}

// toolCalls reads a Mistral v3 tool-call answer: the control token
// [TOOL_CALLS] first, then a JSON list of {"name", "arguments"} (which
// decodes to the text, the control token dropped). It returns false for
// any other answer, or one whose JSON does not parse: that stays text.
func toolCalls(tok *tokenizer.Tokenizer, tokens []int, text string) ([]toolCall, bool) {
	id := tok.SpecialID("[TOOL_CALLS]")
	if id < 0 || len(tokens) == 0 || tokens[0] != id {
		return nil, false
	}
	var list []struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(text)), &list); err != nil || len(list) == 0 {
		return nil, false
	}
	out := make([]toolCall, 0, len(list))
	for _, c := range list {
		if c.Name == "" {
			return nil, false
		}
		args := strings.TrimSpace(string(c.Arguments))
		if args == "" || args == "null" {
			args = "{}"
		}
		out = append(out, toolCall{ID: toolCallID(), Type: "function", Function: toolFunction{Name: c.Name, Arguments: args}})
	}
	return out, true
}

// toolCallID is a 9-character alphanumeric id, the form Mistral's
// templates require for tool calls.
func toolCallID() string {
	const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b [9]byte
	rand.Read(b[:])
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b[:])
}
