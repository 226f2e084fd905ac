package model

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gale-ai/gale/tokenizer"
)

// This file holds the policy every front end (gale generate, gale chat,
// gale serve) shares: how a prompt is fitted into a context, how a chat
// history is windowed, and how a conversation becomes tokens.

// FitPrompt makes ids fit a context of ctx positions with at least
// minFree of them left to generate. When it does not fit and truncate is
// set, the prompt keeps its first token (BOS) and its last tokens, leaving
// max(keepFree, minFree) positions free; otherwise it is an error wrapping
// ErrPromptTooLong. The bool reports a truncation.
func FitPrompt(ids []int, ctx, minFree, keepFree int, truncate bool) ([]int, bool, error) {
	if len(ids)+minFree <= ctx {
		return ids, false, nil
	}
	if !truncate {
		return nil, false, tooLong(fmt.Sprintf("prompt is %d tokens but the context holds %d (use --truncate to keep its end, or a larger -c)", len(ids), ctx))
	}
	keep := ctx - max(keepFree, minFree)
	if keep < 2 {
		keep = 2
	}
	if keep > ctx {
		return nil, false, tooLong(fmt.Sprintf("the context of %d tokens cannot hold a truncated prompt", ctx))
	}
	out := make([]int, 0, keep)
	out = append(out, ids[0])
	out = append(out, ids[len(ids)-(keep-1):]...)
	return out, true, nil
}

// tooLong is an error with its own message that is ErrPromptTooLong for
// errors.Is: the CLI prints the message as is.
type tooLong string

func (e tooLong) Error() string { return string(e) }
func (e tooLong) Unwrap() error { return ErrPromptTooLong }

// GenerateRoom is how many positions a plain prompt leaves free when it is
// truncated: the tokens asked for, at most half the context, or a quarter
// of it when the generation is unbounded (maxTokens < 0).
func GenerateRoom(ctx, maxTokens int) int {
	if maxTokens >= 0 {
		return min(maxTokens, ctx/2)
	}
	return ctx / 4
}

// ChatRoom is how many positions a chat history leaves free to answer: the
// tokens asked for, or a quarter of the context when that is unbounded or
// more than half of it; at least 1.
func ChatRoom(ctx, maxTokens int) int {
	room := maxTokens
	if room <= 0 || room > ctx/2 {
		room = ctx / 4
	}
	return max(room, 1)
}

// EncodeConversation renders a conversation (and tool definitions, for
// templates that take them) to prompt tokens, ending with the start of the
// assistant's answer. It is the one place front ends get the template
// from: the model's own chat template when it has one, else a built-in
// chosen from the vocabulary (TemplateFor; Mistral v1 [INST] for the
// embedded model).
func (m *Model) EncodeConversation(msgs []tokenizer.Message, tools []json.RawMessage) ([]int, error) {
	if m.Tokenizer == nil {
		return nil, fmt.Errorf("%s has no tokenizer", m.Name)
	}
	ct, err := TemplateFor(m.ChatTemplate, m.Tokenizer)
	if err != nil {
		return nil, err
	}
	p, err := ct.Apply(m.Tokenizer, ChatRequest{Messages: msgs, Tools: tools, AddGenerationPrompt: true})
	if err != nil {
		return nil, err
	}
	return p.IDs, nil
}

// historyTooLong is ErrHistoryTooLong with its own message.
type historyTooLong string

func (e historyTooLong) Error() string { return string(e) }
func (e historyTooLong) Unwrap() error { return ErrHistoryTooLong }

// ErrHistoryTooLong is returned (wrapped) when even the last message alone
// leaves no room to answer.
var ErrHistoryTooLong = errors.New("the last message does not fit the context")

// WindowChat renders msgs with encode, dropping the oldest exchanges (a
// user message and the assistant reply after it; never a leading system
// message or the last message) until the prompt leaves room positions of
// a ctx-position context free. It returns the messages kept, their tokens
// and how many messages were dropped. Dropping shortens the prefix the
// next prompt shares with the cache, so a windowed turn prefills more.
func WindowChat(msgs []tokenizer.Message, ctx, room int, encode func([]tokenizer.Message) ([]int, error)) ([]tokenizer.Message, []int, int, error) {
	dropped := 0
	for {
		ids, err := encode(msgs)
		if err != nil {
			return nil, nil, dropped, err
		}
		if len(ids)+room <= ctx {
			return msgs, ids, dropped, nil
		}
		first := 0
		if msgs[0].Role == "system" {
			first = 1
		}
		n := 1
		if first+1 < len(msgs) && msgs[first+1].Role == "assistant" {
			n = 2
		}
		if first+n >= len(msgs) {
			return nil, nil, dropped, historyTooLong(fmt.Sprintf("the last message alone is %d tokens; the context holds %d (leaving %d to answer)", len(ids), ctx, room))
		}
		msgs = append(msgs[:first:first], msgs[first+n:]...)
		dropped += n
	}
}
