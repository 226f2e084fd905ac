package model

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ardanlabs/jinja"

	"github.com/gale-ai/gale/tokenizer"
)

// A chat template turns a conversation into the prompt the model was
// trained on. It is either the model's own Jinja template (HF
// tokenizer_config.json chat_template, GGUF tokenizer.chat_template) or a
// built-in one (mistral-v1, mistral-v3, mistral-v7, llama2).
//
// Prompt injection: control tokens ([INST], </s>, [TOOL_CALLS] ...) may only
// come from the template itself, never from message contents. A built-in
// template knows which parts of its output are its own; a Jinja template is
// rendered with every message content replaced by a unique sentinel, the
// output is cut at the sentinels, and only the template's own text has its
// control literals parsed into ids. Contents are encoded as plain text.

// ChatRequest is a conversation to render.
type ChatRequest struct {
	Messages []tokenizer.Message
	// Tools are OpenAI-style tool definitions ({"type": "function",
	// "function": {"name", "description", "parameters"}}), each one JSON
	// object.
	Tools []json.RawMessage
	// AddGenerationPrompt asks the template to end with the start of an
	// assistant turn (templates that end user turns with it anyway, such
	// as Mistral's, ignore it).
	AddGenerationPrompt bool
}

// Prompt is a rendered and encoded conversation.
type Prompt struct {
	// IDs are the token ids to feed the model (BOS included when the
	// template renders it, as every built-in does).
	IDs []int
	// Text is the rendered prompt, control tokens as their literals, for
	// --dry-run.
	Text string
}

// ChatTemplate is a loaded chat template; safe for concurrent use.
type ChatTemplate struct {
	// Name is the built-in name, or where a Jinja template came from.
	Name string
	// Source is the Jinja source ("" for built-ins).
	Source string

	tmpl    *jinja.Template
	builtin func(tok *tokenizer.Tokenizer, req *ChatRequest) ([]part, error)
}

// part is a piece of rendered prompt: template text (trusted: its control
// literals become ids) or content (plain text).
type part struct {
	text    string
	trusted bool
}

// builtinTemplates maps names (and aliases) to renderers.
var builtinTemplates = map[string]func(*tokenizer.Tokenizer, *ChatRequest) ([]part, error){
	"mistral-v1": renderMistralV1,
	"mistral-v3": func(tok *tokenizer.Tokenizer, req *ChatRequest) ([]part, error) {
		return renderMistralV3(tok, req, false)
	},
	"mistral-v7": func(tok *tokenizer.Tokenizer, req *ChatRequest) ([]part, error) {
		return renderMistralV3(tok, req, true)
	},
	"llama2": renderLlama2,
}

var templateAliases = map[string]string{
	"mistral": "mistral-v1", "v1": "mistral-v1", "mistral-instruct": "mistral-v1",
	"v3": "mistral-v3", "mistral-v3-tools": "mistral-v3",
	"v7":      "mistral-v7",
	"llama-2": "llama2", "llama2-chat": "llama2", "llama-2-chat": "llama2",
}

// BuiltinTemplates lists the built-in template names.
func BuiltinTemplates() []string {
	names := make([]string, 0, len(builtinTemplates))
	for n := range builtinTemplates {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// BuiltinTemplate returns the built-in template name (or alias), or nil.
func BuiltinTemplate(name string) *ChatTemplate {
	if a, ok := templateAliases[strings.ToLower(name)]; ok {
		name = a
	}
	f, ok := builtinTemplates[strings.ToLower(name)]
	if !ok {
		return nil
	}
	return &ChatTemplate{Name: strings.ToLower(name), builtin: f}
}

// ParseTemplate compiles Jinja chat template source; name says where it
// came from (for messages).
func ParseTemplate(name, source string) (*ChatTemplate, error) {
	if err := checkMacros(source); err != nil {
		return nil, fmt.Errorf("chat template %s: %w", name, err)
	}
	t, err := compileJinja(source)
	if err != nil {
		return nil, fmt.Errorf("chat template %s: %w", name, err)
	}
	return &ChatTemplate{Name: name, Source: source, tmpl: t}, nil
}

// A chat template comes with the model file, so it is untrusted input:
// the Jinja engine has no limits of its own on loops, recursion or time,
// and a panic inside it would take gale down. These bound what a template
// may cost.
const (
	maxRangeItems  = 1 << 16         // elements one range() may produce
	maxRenderTime  = 5 * time.Second // wall time of one rendering
	maxRenderBytes = 16 << 20        // size of a rendered prompt
)

// macroDef finds macro definitions and their bodies.
var macroDef = regexp.MustCompile(`(?s){%-?\s*macro\s+([A-Za-z_][A-Za-z0-9_]*)\s*\((.*?){%-?\s*endmacro`)

// checkMacros refuses a macro that calls itself: the engine recurses
// without a depth limit, and Go's stack overflow cannot be recovered.
func checkMacros(source string) error {
	for _, m := range macroDef.FindAllStringSubmatch(source, -1) {
		if regexp.MustCompile(`\b` + regexp.QuoteMeta(m[1]) + `\s*\(`).MatchString(m[2]) {
			return fmt.Errorf("macro %q calls itself, which gale does not allow in a chat template", m[1])
		}
	}
	return nil
}

// compileJinja compiles a template, turning a panic of the engine into
// an error.
func compileJinja(source string) (t *jinja.Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the template engine failed: %v", r)
		}
	}()
	return jinja.Compile(source)
}

// boundedRange is range() with at most maxRangeItems elements, given to
// every rendering in place of the engine's own.
var boundedRange = jinja.NewCallable("range", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
	var n [3]int64
	if len(args) < 1 || len(args) > 3 {
		return jinja.None(), fmt.Errorf("range takes 1 to 3 arguments, got %d", len(args))
	}
	for i, a := range args {
		if !a.IsInt() {
			return jinja.None(), fmt.Errorf("range: argument %d is not an integer", i+1)
		}
		n[i] = a.AsInt()
	}
	start, stop, step := int64(0), n[0], int64(1)
	if len(args) >= 2 {
		start, stop = n[0], n[1]
	}
	if len(args) == 3 {
		step = n[2]
	}
	if step == 0 {
		return jinja.None(), errors.New("range: step is 0")
	}
	var items []jinja.Value
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		if len(items) == maxRangeItems {
			return jinja.None(), fmt.Errorf("range: more than %d items", maxRangeItems)
		}
		items = append(items, jinja.NewInt(i))
	}
	return jinja.NewList(items), nil
})

// render runs the template with limits: range() bounded, a panic of the
// engine turned into an error, and a time limit after which the rendering
// is abandoned (the goroutine cannot be stopped; gale's commands exit
// on the error, and the server refuses the request).
func (ct *ChatTemplate) render(data map[string]jinja.Value) (string, error) {
	data["range"] = boundedRange
	type result struct {
		s   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: fmt.Errorf("the template engine failed: %v", r)}
			}
		}()
		s, err := ct.tmpl.RenderValues(data)
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return "", fmt.Errorf("chat template %s: %w", ct.Name, r.err)
		}
		if len(r.s) > maxRenderBytes {
			return "", fmt.Errorf("chat template %s: the rendered prompt is %d bytes, more than %d", ct.Name, len(r.s), maxRenderBytes)
		}
		return r.s, nil
	case <-time.After(maxRenderTime):
		return "", fmt.Errorf("chat template %s: rendering took longer than %v", ct.Name, maxRenderTime)
	}
}

// maxTemplateFile bounds what LoadTemplate reads.
const maxTemplateFile = 4 << 20

// LoadTemplate implements --chat-template NAME|FILE: a built-in name
// (BuiltinTemplates, or an alias such as "mistral", "v3", "llama-2"), or a
// file holding Jinja source, or a tokenizer_config.json whose
// chat_template it uses.
func LoadTemplate(nameOrFile string) (*ChatTemplate, error) {
	if t := BuiltinTemplate(nameOrFile); t != nil {
		return t, nil
	}
	st, err := os.Stat(nameOrFile)
	if err != nil {
		return nil, fmt.Errorf("chat template %q is neither a built-in (%s) nor a file", nameOrFile, strings.Join(BuiltinTemplates(), ", "))
	}
	if st.IsDir() {
		src, err := ReadChatTemplate(nameOrFile)
		if err != nil {
			return nil, err
		}
		if src == "" {
			return nil, fmt.Errorf("chat template: %s holds no chat template", nameOrFile)
		}
		return ParseTemplate(nameOrFile, src)
	}
	if st.Size() > maxTemplateFile {
		return nil, fmt.Errorf("chat template %s: %d bytes is too large for a template", nameOrFile, st.Size())
	}
	data, err := os.ReadFile(nameOrFile)
	if err != nil {
		return nil, fmt.Errorf("chat template: %w", err)
	}
	src := string(data)
	if strings.HasSuffix(nameOrFile, ".json") {
		src, err = chatTemplateFromConfig(data)
		if err != nil {
			return nil, fmt.Errorf("chat template %s: %w", nameOrFile, err)
		}
		if src == "" {
			return nil, fmt.Errorf("chat template %s: no chat_template in the file", nameOrFile)
		}
	}
	return ParseTemplate(nameOrFile, src)
}

// ReadChatTemplate returns the chat template of a Hugging Face model
// directory: chat_template.jinja if present, else tokenizer_config.json's
// chat_template; "" when the model has none.
func ReadChatTemplate(dir string) (string, error) {
	if data, err := os.ReadFile(filepath.Join(dir, "chat_template.jinja")); err == nil {
		return string(data), nil
	}
	p := filepath.Join(dir, "tokenizer_config.json")
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("chat template: %w", err)
	}
	src, err := chatTemplateFromConfig(data)
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	return src, nil
}

// chatTemplateFromConfig reads chat_template from a tokenizer_config.json:
// a string, or a list of {"name", "template"} (the one named "default",
// else the first).
func chatTemplateFromConfig(data []byte) (string, error) {
	var cfg struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return "", fmt.Errorf("malformed JSON: %w", err)
	}
	raw := cfg.ChatTemplate
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var list []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		return "", errors.New("chat_template is neither a string nor a list of {name, template}")
	}
	for _, t := range list {
		if t.Name == "default" {
			return t.Template, nil
		}
	}
	if len(list) == 0 {
		return "", nil
	}
	return list[0].Template, nil
}

// TemplateFor picks a model's template: its own Jinja source when it has
// one (modelTemplate: tokenizer_config.json / GGUF tokenizer.chat_template),
// else a built-in chosen from the vocabulary: mistral-v7 when it has
// [SYSTEM_PROMPT] and [TOOL_CONTENT] control tokens, mistral-v3 when it has
// [INST] as a control token, else mistral-v1 (gale's historic default).
func TemplateFor(modelTemplate string, tok *tokenizer.Tokenizer) (*ChatTemplate, error) {
	if strings.TrimSpace(modelTemplate) != "" {
		return ParseTemplate("the model's chat_template", modelTemplate)
	}
	name := "mistral-v1"
	if tok != nil && tok.SpecialID("[INST]") >= 0 {
		name = "mistral-v3"
		if tok.SpecialID("[SYSTEM_PROMPT]") >= 0 && tok.SpecialID("[TOOL_CONTENT]") >= 0 {
			name = "mistral-v7"
		}
	}
	return BuiltinTemplate(name), nil
}

// Apply renders req and encodes it with tok.
func (ct *ChatTemplate) Apply(tok *tokenizer.Tokenizer, req ChatRequest) (*Prompt, error) {
	if len(req.Messages) == 0 {
		return nil, errors.New("chat: no messages")
	}
	var parts []part
	var err error
	if ct.builtin != nil {
		parts, err = ct.builtin(tok, &req)
	} else {
		parts, err = ct.renderJinja(tok, &req)
	}
	if err != nil {
		return nil, err
	}
	var segs []tokenizer.Segment
	var text strings.Builder
	for _, p := range parts {
		text.WriteString(p.text)
		if !p.trusted {
			segs = append(segs, tokenizer.Segment{Text: p.text})
			continue
		}
		for _, s := range tok.SplitSpecial(p.text) {
			if s.Special && ct.builtin == nil && !ct.ownsLiteral(tok, s.Text) {
				// A control literal the template source never writes
				// came from data (tool definitions, ids): keep it text.
				s.Special = false
			}
			segs = append(segs, s)
		}
	}
	ids, err := tok.EncodeSegments(segs)
	if err != nil {
		return nil, fmt.Errorf("chat template %s: %w", ct.Name, err)
	}
	return &Prompt{IDs: ids, Text: text.String()}, nil
}

// ownsLiteral reports whether a control literal can come from the Jinja
// template itself: written in its source, or the BOS/EOS token it is given.
func (ct *ChatTemplate) ownsLiteral(tok *tokenizer.Tokenizer, lit string) bool {
	if strings.Contains(ct.Source, lit) {
		return true
	}
	return (tok.BOS() >= 0 && lit == tok.Piece(tok.BOS())) || (tok.EOS() >= 0 && lit == tok.Piece(tok.EOS()))
}

// ---- Jinja -------------------------------------------------------------

// renderJinja renders twice: with sentinels in place of the untrusted
// strings (message contents and tool-call arguments), which shows where the
// template's own text is, and with the real strings, which is the prompt.
// The real output is then cut into template text and contents by aligning
// it with the sentinel output.
func (ct *ChatTemplate) renderJinja(tok *tokenizer.Tokenizer, req *ChatRequest) ([]part, error) {
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	tag := "GALE" + hex.EncodeToString(nonce[:])
	var values []string // untrusted strings, by sentinel number
	sentinel := func(s string) string {
		values = append(values, s)
		return tag + "x" + strconv.Itoa(len(values)-1) + "xEND"
	}
	withSentinels, err := ct.jinjaData(tok, req, sentinel)
	if err != nil {
		return nil, err
	}
	real, err := ct.jinjaData(tok, req, nil)
	if err != nil {
		return nil, err
	}
	marked, err := ct.render(withSentinels)
	if err != nil {
		return nil, err
	}
	out, err := ct.render(real)
	if err != nil {
		return nil, err
	}
	re := regexp.MustCompile(tag + `x([0-9]+)xEND`)
	locs := re.FindAllStringSubmatchIndex(marked, -1)
	var tmplText []string // template text around the sentinels
	var refs []int        // which value each sentinel stands for
	prev := 0
	for _, l := range locs {
		tmplText = append(tmplText, marked[prev:l[0]])
		n, _ := strconv.Atoi(marked[l[2]:l[3]])
		if n >= len(values) {
			return nil, fmt.Errorf("chat template %s: internal sentinel error", ct.Name)
		}
		refs = append(refs, n)
		prev = l[1]
	}
	tmplText = append(tmplText, marked[prev:])
	parts, ok := align(out, tmplText, refs, values)
	if !ok {
		// The template's text depends on the contents (it parses them as
		// numbers, say), so the outputs do not align. Fall back to
		// finding the untrusted strings in the prompt, in order.
		parts = protectRegions(out, refs, values)
	}
	// Ids and names are printed as they are (templates check their
	// length, compare them): keep control literals inside them text.
	var extras []string
	for _, m := range req.Messages {
		extras = append(extras, m.ToolCallID, m.Name)
		for _, c := range m.ToolCalls {
			extras = append(extras, c.ID, c.Function.Name)
		}
	}
	return demoteExtras(parts, extras), nil
}

// demoteExtras splits trusted parts so that every occurrence of an extra
// string becomes plain text.
func demoteExtras(parts []part, extras []string) []part {
	var out []part
	for _, p := range parts {
		if !p.trusted {
			out = append(out, p)
			continue
		}
		mask := make([]bool, len(p.text))
		hit := false
		for _, e := range extras {
			if e == "" {
				continue
			}
			for i := 0; ; {
				j := strings.Index(p.text[i:], e)
				if j < 0 {
					break
				}
				for k := i + j; k < i+j+len(e); k++ {
					mask[k] = true
				}
				hit = true
				i += j + 1
			}
		}
		if !hit {
			out = append(out, p)
			continue
		}
		out = append(out, maskedParts(p.text, mask)...)
	}
	return out
}

// maskedParts cuts s into runs: masked bytes untrusted, the rest trusted.
func maskedParts(s string, mask []bool) []part {
	var parts []part
	start := 0
	for i := 1; i <= len(s); i++ {
		if i == len(s) || mask[i] != mask[start] {
			parts = append(parts, part{text: s[start:i], trusted: !mask[start]})
			start = i
		}
	}
	return parts
}

// align cuts out into tmplText[0] c0 tmplText[1] c1 ... where each c is a
// form of its value the template may have produced (as is, trimmed, or
// escaped inside a JSON string).
func align(out string, tmplText []string, refs []int, values []string) ([]part, bool) {
	if !strings.HasPrefix(out, tmplText[0]) {
		return nil, false
	}
	parts := []part{{text: tmplText[0], trusted: true}}
	pos := len(tmplText[0])
	for k, ref := range refs {
		next := tmplText[k+1]
		found := false
		for _, cand := range contentForms(values[ref]) {
			if strings.HasPrefix(out[pos:], cand) && strings.HasPrefix(out[pos+len(cand):], next) {
				parts = append(parts, part{text: cand}, part{text: next, trusted: true})
				pos += len(cand) + len(next)
				found = true
				break
			}
		}
		if !found {
			return nil, false
		}
	}
	return parts, pos == len(out)
}

// contentForms lists what a template may print for an untrusted string v.
func contentForms(v string) []string {
	forms := []string{v}
	if t := strings.TrimSpace(v); t != v {
		forms = append(forms, t)
	}
	var sb strings.Builder
	pyQuote(&sb, v)
	if q := sb.String(); q[1:len(q)-1] != v {
		forms = append(forms, q[1:len(q)-1])
	}
	if b, err := json.Marshal(v); err == nil {
		if q := string(b); q[1:len(q)-1] != v && !slices.Contains(forms, q[1:len(q)-1]) {
			forms = append(forms, q[1:len(q)-1])
		}
	}
	return forms
}

// protectRegions marks as plain text the untrusted strings found in out,
// in the order the template printed their sentinels, each searched from
// where the previous one ended; the rest is template text.
func protectRegions(out string, refs []int, values []string) []part {
	if out == "" {
		return nil
	}
	untrusted := make([]bool, len(out))
	pos := 0
	for _, ref := range refs {
		best, bestLen := -1, 0
		for _, f := range contentForms(values[ref]) {
			if f == "" {
				continue
			}
			if j := strings.Index(out[pos:], f); j >= 0 && (best < 0 || j < best || j == best && len(f) > bestLen) {
				best, bestLen = j, len(f)
			}
		}
		if best < 0 {
			continue // dropped or transformed beyond recognition
		}
		for k := pos + best; k < pos+best+bestLen; k++ {
			untrusted[k] = true
		}
		pos += best + bestLen
	}
	return maskedParts(out, untrusted)
}

// jinjaData builds the template's variables. With sentinel set, every
// non-empty message content, tool-call argument string and string in a
// tool definition (but "type" values, which templates compare, and the
// JSON-schema vocabulary: only property names among the keys) is replaced
// by sentinel(value).
func (ct *ChatTemplate) jinjaData(tok *tokenizer.Tokenizer, req *ChatRequest, sentinel func(string) string) (map[string]jinja.Value, error) {
	mark := func(s string) string {
		if sentinel == nil || s == "" {
			return s
		}
		return sentinel(s)
	}
	msgs := make([]jinja.Value, len(req.Messages))
	for i, m := range req.Messages {
		d := jinja.NewDict()
		md := d.AsDict()
		md.Set("role", jinja.NewString(m.Role))
		if m.Content == "" && len(m.ToolCalls) > 0 {
			md.Set("content", jinja.None())
		} else {
			md.Set("content", jinja.NewString(mark(m.Content)))
		}
		if len(m.ToolCalls) > 0 {
			calls := make([]jinja.Value, len(m.ToolCalls))
			for j, c := range m.ToolCalls {
				typ := c.Type
				if typ == "" {
					typ = "function"
				}
				fn := jinja.NewDict()
				fn.AsDict().Set("name", jinja.NewString(c.Function.Name))
				fn.AsDict().Set("arguments", jinja.NewString(mark(c.Function.Arguments)))
				cd := jinja.NewDict()
				cd.AsDict().Set("id", jinja.NewString(c.ID))
				cd.AsDict().Set("type", jinja.NewString(typ))
				cd.AsDict().Set("function", fn)
				calls[j] = cd
			}
			md.Set("tool_calls", jinja.NewList(calls))
		}
		if m.ToolCallID != "" {
			md.Set("tool_call_id", jinja.NewString(m.ToolCallID))
		}
		if m.Name != "" {
			md.Set("name", jinja.NewString(m.Name))
		}
		msgs[i] = d
	}
	data := map[string]jinja.Value{
		"messages":              jinja.NewList(msgs),
		"add_generation_prompt": jinja.NewBool(req.AddGenerationPrompt),
		"bos_token":             jinja.NewString(pieceOr(tok, tok.BOS(), "<s>")),
		"eos_token":             jinja.NewString(pieceOr(tok, tok.EOS(), "</s>")),
	}
	if len(req.Tools) > 0 {
		tools := make([]jinja.Value, len(req.Tools))
		for i, raw := range req.Tools {
			v, err := parseJSON(raw)
			if err != nil {
				return nil, fmt.Errorf("chat: tool %d: %w", i, err)
			}
			if sentinel != nil {
				v = v.markStrings(mark, "")
			}
			tools[i] = v.jinjaValue()
		}
		data["tools"] = jinja.NewList(tools)
	}
	return data, nil
}

func pieceOr(tok *tokenizer.Tokenizer, id int, def string) string {
	if id < 0 {
		return def
	}
	return tok.Piece(id)
}
