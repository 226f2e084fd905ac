package server

import (
	"encoding/json"
	"testing"

	"github.com/gale-ai/gale/tokenizer"
)

// TestToolCalls reads a Mistral v3 tool-call answer, tokenized with the
// real v3 tokenizer: [TOOL_CALLS] then the JSON list; other answers stay
// text.
func TestToolCalls(t *testing.T) {
	tok, err := tokenizer.Load("../testdata/tokenizer/mistral-v0.3/tokenizer.model.v3")
	if err != nil {
		t.Fatal(err)
	}
	id := tok.SpecialID("[TOOL_CALLS]")
	if id < 0 {
		t.Fatal("the v3 vocabulary has no [TOOL_CALLS] control token")
	}
	body := ` [{"name": "get_weather", "arguments": {"location": "Paris", "unit": "celsius"}}, {"name": "now"}]`
	ids := append([]int{id}, tok.Encode(body)...)
	text := tok.Decode(ids)
	calls, ok := toolCalls(tok, ids, text)
	if !ok || len(calls) != 2 {
		t.Fatalf("decoded %q: %v %v", text, calls, ok)
	}
	var args map[string]string
	if err := json.Unmarshal([]byte(calls[0].Function.Arguments), &args); err != nil || args["location"] != "Paris" || calls[0].Function.Name != "get_weather" {
		t.Errorf("first call %+v", calls[0])
	}
	if calls[1].Function.Arguments != "{}" || len(calls[0].ID) != 9 || calls[0].Type != "function" {
		t.Errorf("calls %+v", calls)
	}
	plain := tok.Encode("Paris is sunny")
	if _, ok := toolCalls(tok, plain, tok.Decode(plain)); ok {
		t.Error("a plain answer read as tool calls")
	}
	broken := append([]int{id}, tok.Encode(` [{"name": `)...)
	if _, ok := toolCalls(tok, broken, tok.Decode(broken)); ok {
		t.Error("unparsable JSON read as tool calls")
	}
}
