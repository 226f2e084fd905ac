package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gale-ai/gale/tokenizer"
)

// Built-in templates. The Mistral ones reproduce mistral-common's
// instruct tokenizers (src/mistral_common/tokens/tokenizers/instruct.py):
// mistral-common encodes each text with SentencePiece's dummy prefix,
// which is what " " + text after a control token gives under the
// no-prefix-after-control rule of tokenizer.EncodeSegments.

// builder accumulates template text and contents.
type builder struct{ parts []part }

func (b *builder) tmpl(s string) { b.parts = append(b.parts, part{text: s, trusted: true}) }
func (b *builder) text(s string) { b.parts = append(b.parts, part{text: s}) }

// spText adds s as mistral-common's tokenizer.encode(s) gives it after a
// control token: with its dummy-prefix space, and nothing at all for "".
func (b *builder) spText(s string) {
	if s != "" {
		b.text(" " + s)
	}
}

// mistralTurn is a message after mistral-common's normalization.
type mistralTurn struct {
	role       string
	content    string
	toolCalls  []tokenizer.ToolCall
	toolCallID string
}

// normalizeMistral mirrors mistral-common's InstructRequestNormalizer:
// system messages are pulled out and joined (or, for v7, kept in place),
// consecutive user messages are joined with a blank line, consecutive
// assistant messages likewise with their tool calls concatenated. It then
// checks the role order mistral-common's validator enforces.
func normalizeMistral(msgs []tokenizer.Message, keepSystem bool) (system string, turns []mistralTurn, err error) {
	var sys []string
	for i, m := range msgs {
		switch m.Role {
		case "system":
			if keepSystem {
				turns = append(turns, mistralTurn{role: "system", content: m.Content})
			} else {
				sys = append(sys, m.Content)
			}
			continue
		case "user", "assistant", "tool":
		default:
			return "", nil, fmt.Errorf("chat: message %d: unknown role %q (want system, user, assistant or tool)", i, m.Role)
		}
		if n := len(turns); n > 0 && m.Role != "tool" && turns[n-1].role == m.Role {
			last := &turns[n-1]
			if m.Content != "" {
				if last.content != "" {
					last.content += "\n\n"
				}
				last.content += m.Content
			}
			last.toolCalls = append(last.toolCalls, m.ToolCalls...)
			continue
		}
		turns = append(turns, mistralTurn{role: m.Role, content: m.Content, toolCalls: m.ToolCalls, toolCallID: m.ToolCallID})
	}
	prev := ""
	for i, t := range turns {
		if t.role == "system" {
			continue
		}
		switch {
		case prev == "" && t.role != "user":
			return "", nil, fmt.Errorf("chat: the conversation must start with a user message, not %s", t.role)
		case prev == "user" && t.role == "tool":
			return "", nil, fmt.Errorf("chat: turn %d: a tool message must follow an assistant's tool call", i)
		}
		prev = t.role
	}
	if prev == "" {
		return "", nil, errors.New("chat: no user message")
	}
	return strings.Join(sys, "\n\n"), turns, nil
}

// renderMistralV1 is mistral-common's InstructTokenizerV1 (Mistral-7B
// Instruct v0.1/v0.2): "<s> [INST] user [/INST] answer</s> [INST] ...",
// the system prompt before the first user message. It gives the same ids
// as tokenizer.EncodeChat.
func renderMistralV1(tok *tokenizer.Tokenizer, req *ChatRequest) ([]part, error) {
	if len(req.Tools) > 0 {
		return nil, errors.New("chat: template mistral-v1 has no tool support (use mistral-v3)")
	}
	system, turns, err := normalizeMistral(req.Messages, false)
	if err != nil {
		return nil, err
	}
	var b builder
	b.tmpl(pieceOr(tok, tok.BOS(), "<s>"))
	firstUser := true
	for _, t := range turns {
		switch t.role {
		case "user":
			content := t.content
			if firstUser && system != "" {
				content = system + "\n\n" + content
			}
			firstUser = false
			b.tmpl(" [INST] ")
			b.text(content)
			b.tmpl(" [/INST]")
		case "assistant":
			if len(t.toolCalls) > 0 {
				return nil, errors.New("chat: template mistral-v1 has no tool support (use mistral-v3)")
			}
			if t.content == "" {
				return nil, errors.New("chat: an assistant message has no content")
			}
			b.text(" " + t.content)
			b.tmpl(pieceOr(tok, tok.EOS(), "</s>"))
		case "tool":
			return nil, errors.New("chat: template mistral-v1 has no tool support (use mistral-v3)")
		}
	}
	return b.parts, nil
}

// renderMistralV3 is mistral-common's InstructTokenizerV3 (Mistral-7B
// Instruct v0.3), or with v7 set InstructTokenizerV7:
//
//	<s>[INST] user[/INST] answer</s>[AVAILABLE_TOOLS] [...][/AVAILABLE_TOOLS][INST] system\n\nuser[/INST][TOOL_CALLS] [...]</s>[TOOL_RESULTS] {...}[/TOOL_RESULTS]
//
// v3 puts the system prompt before the last user message; v7 keeps
// system messages in place as [SYSTEM_PROMPT] ... [/SYSTEM_PROMPT] and
// writes tool results as [TOOL_RESULTS] id[TOOL_CONTENT] content[/TOOL_RESULTS].
// Tools go right before the last user message. JSON is written as
// Python's json.dumps(ensure_ascii=False) writes it.
func renderMistralV3(tok *tokenizer.Tokenizer, req *ChatRequest, v7 bool) ([]part, error) {
	name := "mistral-v3"
	need := []string{"[INST]", "[/INST]", "[TOOL_CALLS]", "[AVAILABLE_TOOLS]", "[/AVAILABLE_TOOLS]", "[TOOL_RESULTS]", "[/TOOL_RESULTS]"}
	if v7 {
		name = "mistral-v7"
		need = append(need, "[SYSTEM_PROMPT]", "[/SYSTEM_PROMPT]", "[TOOL_CONTENT]")
	}
	for _, lit := range need {
		if tok.SpecialID(lit) < 0 {
			return nil, fmt.Errorf("chat: template %s needs the control token %s, which this vocabulary lacks", name, lit)
		}
	}
	if tok.BOS() < 0 || tok.EOS() < 0 {
		return nil, fmt.Errorf("chat: template %s needs BOS and EOS tokens", name)
	}
	system, turns, err := normalizeMistral(req.Messages, v7)
	if err != nil {
		return nil, err
	}
	tools, err := mistralTools(req.Tools)
	if err != nil {
		return nil, err
	}
	lastUser := -1
	for i, t := range turns {
		if t.role == "user" {
			lastUser = i
		}
	}
	eos := tok.Piece(tok.EOS())
	var b builder
	b.tmpl(tok.Piece(tok.BOS()))
	for i, t := range turns {
		switch t.role {
		case "system":
			b.tmpl("[SYSTEM_PROMPT]")
			b.spText(t.content)
			b.tmpl("[/SYSTEM_PROMPT]")
		case "user":
			if i == lastUser && len(req.Tools) > 0 {
				b.tmpl("[AVAILABLE_TOOLS]")
				b.spText(pyDumps(tools))
				b.tmpl("[/AVAILABLE_TOOLS]")
			}
			content := t.content
			if i == lastUser && system != "" {
				content = system + "\n\n" + content
			}
			b.tmpl("[INST]")
			b.spText(content)
			b.tmpl("[/INST]")
		case "assistant":
			if !v7 && len(t.toolCalls) > 0 && t.content != "" {
				return nil, errors.New("chat: an assistant message cannot have both content and tool calls")
			}
			content := strings.TrimRight(t.content, " ")
			if content == "" && len(t.toolCalls) == 0 {
				return nil, errors.New("chat: an assistant message has neither content nor tool calls")
			}
			if len(t.toolCalls) == 0 || v7 {
				b.spText(content)
			}
			if len(t.toolCalls) > 0 {
				calls := jsonValue{kind: jsonArray}
				for _, c := range t.toolCalls {
					call := object("name", jsonStr(c.Function.Name), "arguments", parseJSONContent(c.Function.Arguments))
					if c.ID != "" && c.ID != "null" {
						call.set("id", jsonStr(c.ID))
					}
					calls.items = append(calls.items, call)
				}
				b.tmpl("[TOOL_CALLS]")
				b.spText(pyDumps(calls))
			}
			b.tmpl(eos)
		case "tool":
			if t.toolCallID == "" {
				return nil, fmt.Errorf("chat: template %s: a tool message needs its tool_call_id", name)
			}
			b.tmpl("[TOOL_RESULTS]")
			if v7 {
				b.spText(t.toolCallID)
				b.tmpl("[TOOL_CONTENT]")
				b.spText(t.content)
			} else {
				b.spText(pyDumps(object("content", parseJSONContent(t.content), "call_id", jsonStr(t.toolCallID))))
			}
			b.tmpl("[/TOOL_RESULTS]")
		}
	}
	return b.parts, nil
}

// mistralTools re-serializes tool definitions as mistral-common's Tool
// model dumps them: {"type", "function": {"name", "description",
// "parameters"}}, parameters in their own key order.
func mistralTools(raw []json.RawMessage) (jsonValue, error) {
	list := jsonValue{kind: jsonArray}
	for i, r := range raw {
		v, err := parseJSON(r)
		if err != nil {
			return list, fmt.Errorf("chat: tool %d: %w", i, err)
		}
		fn, ok := v.get("function")
		if !ok || fn.kind != jsonObject {
			return list, fmt.Errorf("chat: tool %d has no \"function\" object", i)
		}
		name, _ := fn.get("name")
		if name.kind != jsonString || name.s == "" {
			return list, fmt.Errorf("chat: tool %d has no function name", i)
		}
		desc, ok := fn.get("description")
		if !ok || desc.kind == jsonNull {
			desc = jsonStr("")
		}
		params, ok := fn.get("parameters")
		if !ok || params.kind == jsonNull {
			params = jsonValue{kind: jsonObject}
		}
		typ, ok := v.get("type")
		if !ok || typ.kind != jsonString {
			typ = jsonStr("function")
		}
		list.items = append(list.items, object("type", typ, "function", object("name", name, "description", desc, "parameters", params)))
	}
	return list, nil
}

// renderLlama2 is Meta's Llama-2-chat format as its Hugging Face template
// writes it: "<s>[INST] <<SYS>>\nsystem\n<</SYS>>\n\nuser [/INST] answer </s><s>[INST] ...",
// contents stripped of surrounding white space, roles alternating.
func renderLlama2(tok *tokenizer.Tokenizer, req *ChatRequest) ([]part, error) {
	if len(req.Tools) > 0 {
		return nil, errors.New("chat: template llama2 has no tool support")
	}
	msgs := req.Messages
	system, hasSystem := "", false
	if len(msgs) > 0 && msgs[0].Role == "system" {
		system, hasSystem = msgs[0].Content, true
		msgs = msgs[1:]
	}
	if len(msgs) == 0 {
		return nil, errors.New("chat: no user message")
	}
	bos, eos := pieceOr(tok, tok.BOS(), "<s>"), pieceOr(tok, tok.EOS(), "</s>")
	var b builder
	for i, m := range msgs {
		want := "user"
		if i%2 == 1 {
			want = "assistant"
		}
		if m.Role != want {
			return nil, fmt.Errorf("chat: template llama2: message %d is %q where %q was expected (roles must alternate user/assistant after an optional system message)", i, m.Role, want)
		}
		if want == "user" {
			b.tmpl(bos + "[INST] ")
			if i == 0 && hasSystem {
				b.tmpl("<<SYS>>\n")
				b.text(system)
				b.tmpl("\n<</SYS>>\n\n")
				// The HF template strips system+user as one string.
				b.text(strings.TrimRightFunc(m.Content, isPySpace))
			} else {
				b.text(strings.TrimFunc(m.Content, isPySpace))
			}
			b.tmpl(" [/INST]")
			continue
		}
		b.tmpl(" ")
		b.text(strings.TrimFunc(m.Content, isPySpace))
		b.tmpl(" " + eos)
	}
	return b.parts, nil
}

// isPySpace is Python's str.isspace for the characters str.strip removes.
func isPySpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}
