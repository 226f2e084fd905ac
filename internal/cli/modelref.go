package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gale-ai/gale/internal/hub"
	"github.com/gale-ai/gale/model"
	"github.com/gale-ai/gale/tokenizer"
)

// resolveModel turns -m into a path to load: a path as given, or a name
// in the Hugging Face cache or ollama's store (internal/hub). It reads
// the disk only; downloading is gale pull's job.
func (a *app) resolveModel(f *modelFlags) (*hub.Resolved, error) {
	res, err := hub.Resolve(f.path, hub.Dirs{})
	if err != nil {
		return nil, err
	}
	for _, w := range res.Warnings {
		a.warn("%s", w)
	}
	if f.verbose && res.Source != hub.SourcePath {
		a.infof("gale: %s found in the %s\n", res.Name, res.Where)
	}
	f.resolved = res
	return res, nil
}

// loadByName loads what a model name resolves to (for bench's list of
// models), naming the model by its store name.
func loadByName(name string, opts model.LoadOptions) (*model.Model, error) {
	res, err := hub.Resolve(name, hub.Dirs{})
	if err != nil {
		return nil, err
	}
	m, err := model.Load(res.Path, opts)
	if err == nil && res.Source != hub.SourcePath {
		m.Name = res.Name
	}
	return m, err
}

// loadPath is what -m's name resolved to (the path as given before
// resolution, or when nothing was resolved).
func (f *modelFlags) loadPath() string {
	if f.resolved != nil {
		return f.resolved.Path
	}
	return f.path
}

// foundIn says where -m's model was found, for gale info ("" for the
// embedded model).
func (f *modelFlags) foundIn() string {
	if f.resolved == nil {
		if f.path == "" {
			return "embedded"
		}
		return ""
	}
	return f.resolved.Where
}

// defaultsLine describes an ollama model's params and system layers on
// one line, for gale info ("" when it has none).
func (f *modelFlags) defaultsLine() string {
	r := f.resolved
	if r == nil {
		return ""
	}
	var parts []string
	if p := r.Params; p != nil {
		add := func(name string, v any) { parts = append(parts, fmt.Sprintf("%s %v", name, v)) }
		if p.Temperature != nil {
			add("temperature", *p.Temperature)
		}
		if p.TopK != nil {
			add("top_k", *p.TopK)
		}
		if p.TopP != nil {
			add("top_p", *p.TopP)
		}
		if p.MinP != nil {
			add("min_p", *p.MinP)
		}
		if p.RepeatPenalty != nil {
			add("repeat_penalty", *p.RepeatPenalty)
		}
		if p.RepeatLastN != nil {
			add("repeat_last_n", *p.RepeatLastN)
		}
		if p.NumPredict != nil {
			add("num_predict", *p.NumPredict)
		}
		if p.NumCtx != nil {
			add("num_ctx", *p.NumCtx)
		}
		if p.NumThread != nil {
			add("num_thread", *p.NumThread)
		}
		if p.Seed != nil {
			add("seed", *p.Seed)
		}
		if len(p.Stop) > 0 {
			add("stop", fmt.Sprintf("%q", p.Stop))
		}
	}
	if r.HasSystem {
		parts = append(parts, "system "+strconv.Quote(truncateRunes(r.System, 60)))
	}
	if r.Template != "" {
		parts = append(parts, "template layer")
	}
	return strings.Join(parts, ", ")
}

// truncateRunes shortens s to at most n runes, marking the cut.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "..."
}

// applyModelDefaults applies the generation defaults an ollama model
// carries (its params layer) to the flags the command line left alone:
// a flag given wins over the model's value, which wins over gale's
// default. The result is checked like the flags themselves.
func (a *app) applyModelDefaults(cmd *cobra.Command, mf *modelFlags, sf *sampleFlags) error {
	if mf.resolved == nil || mf.resolved.Params == nil {
		return nil
	}
	p := mf.resolved.Params
	fl := cmd.Flags()
	unset := func(name string) bool { return fl.Lookup(name) != nil && !fl.Changed(name) }
	if p.Temperature != nil && unset("temp") {
		sf.temp = *p.Temperature
	}
	if p.TopK != nil && unset("top-k") {
		sf.topK = *p.TopK
	}
	if p.TopP != nil && unset("top-p") {
		sf.topP = *p.TopP
	}
	if p.MinP != nil && unset("min-p") {
		sf.minP = *p.MinP
	}
	if p.RepeatPenalty != nil && unset("repeat-penalty") {
		sf.repeatPenalty = *p.RepeatPenalty
	}
	if p.RepeatLastN != nil && unset("repeat-last-n") {
		sf.repeatLastN = *p.RepeatLastN
	}
	if p.NumPredict != nil && unset("max-tokens") {
		// ollama: -1 = no limit, -2 = fill the context; gale has one
		// spelling for both.
		sf.maxTokens = max(*p.NumPredict, -1)
	}
	if p.Seed != nil && unset("seed") {
		sf.seed = max(*p.Seed, -1)
	}
	if len(p.Stop) > 0 && unset("stop") {
		sf.stop = append([]string(nil), p.Stop...)
	}
	if p.NumCtx != nil && unset("ctx-size") {
		mf.ctxSize = *p.NumCtx
	}
	if p.NumThread != nil && unset("threads") {
		mf.threads = *p.NumThread
	}
	if err := sf.validate(); err != nil {
		return fail("model defaults", fmt.Errorf("%s: params layer: %v", mf.resolved.Name, err))
	}
	if err := mf.validate(); err != nil {
		return fail("model defaults", fmt.Errorf("%s: params layer: %v", mf.resolved.Name, err))
	}
	if mf.verbose && len(p.Ignored) > 0 {
		a.infof("gale: %s: ignoring params gale does not use: %v\n", mf.resolved.Name, p.Ignored)
	}
	return nil
}

// msgMarker stands for message i's content while an ollama template
// renders, so that the contents can be encoded as plain text (never as
// control tokens) and only the template's own text is split at control
// literals.
func msgMarker(i int) string { return "\x00gale-msg-" + strconv.Itoa(i) + "\x00" }

// encodeChat renders a conversation for the model: with ollama's
// template layer when ollamaTemplate chose it, else with the chat
// template (the model's own or a built-in).
func (c *chatState) encodeChat(msgs []tokenizer.Message) ([]int, error) {
	if c.ollama != "" {
		return encodeOllamaChat(c.m.Tokenizer, c.ollama, msgs)
	}
	p, err := c.tmpl.Apply(c.m.Tokenizer, model.ChatRequest{Messages: msgs, Tools: c.tools, AddGenerationPrompt: true})
	if err != nil {
		return nil, err
	}
	return p.IDs, nil
}

// ollamaTemplate returns the ollama template layer to chat with: only
// when -m named an ollama model that has one, the model carries no chat
// template of its own (the GGUF's tokenizer.chat_template is preferred),
// and --chat-template was not given.
func ollamaTemplate(r *hub.Resolved, own, flag string) string {
	if r == nil || r.Template == "" || strings.TrimSpace(own) != "" || flag != "" {
		return ""
	}
	return r.Template
}

// encodeOllamaChat renders msgs with an ollama template (a Go
// text/template) and encodes the result: the template's text with its
// control literals ([INST], </s> ...) as their ids, the messages as plain
// text, and BOS first as llama.cpp adds it.
func encodeOllamaChat(tok *tokenizer.Tokenizer, tmpl string, msgs []tokenizer.Message) ([]int, error) {
	marked := make([]hub.Message, len(msgs))
	for i, m := range msgs {
		marked[i] = hub.Message{Role: m.Role, Content: msgMarker(i)}
	}
	text, err := hub.RenderTemplate(tmpl, marked)
	if err != nil {
		return nil, err
	}
	const open = "\x00gale-msg-"
	var segs []tokenizer.Segment
	for text != "" {
		i := strings.Index(text, open)
		if strings.IndexByte(text[:max(i, 0)], 0) >= 0 || i < 0 && strings.IndexByte(text, 0) >= 0 {
			return nil, fmt.Errorf("ollama template: it altered a message's text")
		}
		if i < 0 {
			segs = append(segs, tok.SplitSpecial(text)...)
			break
		}
		segs = append(segs, tok.SplitSpecial(text[:i])...)
		rest := text[i+len(open):]
		j := strings.IndexByte(rest, 0)
		n, err := strconv.Atoi(rest[:max(j, 0)])
		if j < 0 || err != nil || n < 0 || n >= len(msgs) {
			return nil, fmt.Errorf("ollama template: it altered a message's text")
		}
		segs = append(segs, tokenizer.Segment{Text: msgs[n].Content})
		text = rest[j+1:]
	}
	ids, err := tok.EncodeSegments(segs)
	if err != nil {
		return nil, fmt.Errorf("ollama template: %v", err)
	}
	if bos := tok.BOS(); bos >= 0 && (len(ids) == 0 || ids[0] != bos) {
		ids = append([]int{bos}, ids...)
	}
	return ids, nil
}
