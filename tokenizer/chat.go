package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Message is one chat turn, in the shape of OpenAI's chat API and of the
// messages chat templates receive. Role is "system", "user", "assistant"
// or "tool". ToolCalls are an assistant's function calls; ToolCallID (and
// Name) tie a "tool" message to the call it answers.
type Message struct {
	Role       string     `json:"role"`
	Content    string     `json:"content"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	Name       string     `json:"name,omitempty"`
}

// ToolCall is one function call of an assistant message.
type ToolCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type,omitempty"`
	Function FunctionCall `json:"function"`
}

// FunctionCall names the function and holds its arguments as JSON text
// (OpenAI sends a string; an object is accepted too and kept as its JSON).
type FunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// UnmarshalJSON accepts "arguments" as a JSON string or as any JSON value.
func (f *FunctionCall) UnmarshalJSON(data []byte) error {
	var raw struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	f.Name = raw.Name
	a := bytes.TrimSpace(raw.Arguments)
	switch {
	case len(a) == 0 || string(a) == "null":
		f.Arguments = ""
	case a[0] == '"':
		return json.Unmarshal(a, &f.Arguments)
	default:
		f.Arguments = string(a)
	}
	return nil
}

// EncodeChat renders a conversation with the Mistral Instruct v1 template
// (Mistral-7B-Instruct v0.1/v0.2, as mistral-common tokenizes it):
//
//	BOS + encode("[INST] " + user + " [/INST]") + encode(answer) + EOS + ...
//
// Each segment is encoded separately, so every one gets its own dummy
// prefix, and BOS/EOS are control ids that text can never produce. An
// optional first system message is prepended to the first user message,
// separated by a blank line, as the HF chat template does. Roles must then
// alternate user/assistant starting with user. A conversation ending with a
// user message ends right after its [/INST] (the generation prompt); one
// ending with an assistant message ends with EOS.
func (t *Tokenizer) EncodeChat(msgs []Message) ([]int, error) {
	if len(msgs) == 0 {
		return nil, errors.New("tokenizer: chat: no messages")
	}
	if t.bos < 0 {
		return nil, errors.New("tokenizer: chat: the vocabulary has no BOS token")
	}
	system, hasSystem := "", false
	if msgs[0].Role == "system" {
		system, hasSystem = msgs[0].Content, true
		msgs = msgs[1:]
		if len(msgs) == 0 {
			return nil, errors.New("tokenizer: chat: a system message needs a user message after it")
		}
	}
	ids := []int{t.bos}
	for i, m := range msgs {
		want := "user"
		if i%2 == 1 {
			want = "assistant"
		}
		if m.Role != want {
			switch m.Role {
			case "system":
				return nil, fmt.Errorf("tokenizer: chat: message %d: a system message is only allowed first", i+boolInt(hasSystem))
			case "user", "assistant":
				return nil, fmt.Errorf("tokenizer: chat: message %d: role %q where %q was expected (roles must alternate user/assistant after the optional system message)", i+boolInt(hasSystem), m.Role, want)
			default:
				return nil, fmt.Errorf("tokenizer: chat: message %d: unknown role %q (want system, user or assistant)", i+boolInt(hasSystem), m.Role)
			}
		}
		if want == "user" {
			content := m.Content
			if i == 0 && hasSystem {
				content = system + "\n\n" + content
			}
			ids = append(ids, t.Encode("[INST] "+content+" [/INST]")...)
			continue
		}
		if t.eos < 0 {
			return nil, errors.New("tokenizer: chat: the vocabulary has no EOS token")
		}
		ids = append(ids, t.Encode(m.Content)...)
		ids = append(ids, t.eos)
	}
	return ids, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
