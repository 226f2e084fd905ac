package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gale-ai/gale/internal/hub"
	"github.com/gale-ai/gale/model"
	"github.com/gale-ai/gale/tokenizer"
)

// chatFlags are chat's own flags.
type chatFlags struct {
	system   string
	messages string
	jsonOut  bool
	dryRun   bool
	template string // --chat-template NAME|FILE
}

// chatMessageJSON is one message of a --messages file and chat's --json
// output.
type chatMessageJSON struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

func (a *app) newChatCmd() *cobra.Command {
	var mf modelFlags
	var sf sampleFlags
	var cf chatFlags
	var prompt string
	cmd := &cobra.Command{
		Use:   "chat [flags] [MESSAGE...]",
		Short: "Chat with an Instruct model, through its own chat template",
		Long: "On a terminal, chat starts an interactive conversation, with ollama's\n" +
			"commands: type a message and press Enter (\"\"\" begins and ends one of several\n" +
			"lines); /set parameter temperature 0.2 (top_k, top_p, min_p, num_predict,\n" +
			"repeat_penalty, repeat_last_n, seed), /set system TEXT, /show info, /clear,\n" +
			"/? for help; /bye or Ctrl-D quits, Ctrl-C interrupts the current answer. With --messages FILE (or - for stdin), a JSON\n" +
			"array of {\"role\", \"content\"} (or an object with a \"messages\" array), it\n" +
			"prints the assistant's reply to the conversation and exits; so does a message\n" +
			"given with -p, as arguments, or on piped stdin.",
		Example: `  gale chat -m ./Mistral-7B-Instruct-v0.2
  gale chat -m ./Mistral-7B-Instruct-v0.2 --messages conv.json --json
  echo "Write a haiku about Go" | gale chat -m ./Mistral-7B-Instruct-v0.2`,
		RunE: wrapRun(func(cmd *cobra.Command, args []string) error {
			if err := mf.validate(); err != nil {
				return err
			}
			if err := sf.validate(); err != nil {
				return err
			}
			if cmd.Flags().Changed("messages") && (cmd.Flags().Changed("prompt") || len(args) > 0) {
				return usagef("--messages and a message (-p or arguments) are mutually exclusive")
			}
			if cmd.Flags().Changed("prompt") && len(args) > 0 {
				return usagef("-p and a prompt argument are mutually exclusive")
			}
			sf.escapes(nil)
			if !sf.noEscape {
				// Typed text gets llama.cpp's escapes; files and stdin do not.
				prompt = processEscapes(prompt)
				cf.system = processEscapes(cf.system)
				for i := range args {
					args[i] = processEscapes(args[i])
				}
			}
			var msgs []tokenizer.Message
			var tools []json.RawMessage
			interactive := false
			switch {
			case cmd.Flags().Changed("messages"):
				var err error
				if msgs, tools, err = a.readConversation(cf.messages); err != nil {
					return err
				}
			case cmd.Flags().Changed("prompt"):
				msgs = []tokenizer.Message{{Role: "user", Content: prompt}}
			case len(args) > 0:
				msgs = []tokenizer.Message{{Role: "user", Content: strings.Join(args, " ")}}
			case !a.stdinTerm:
				b, err := io.ReadAll(a.stdin)
				if err != nil {
					return fail("read stdin", err)
				}
				text := strings.TrimSpace(string(b))
				if text == "" {
					return usagef("no message: give one with -p, as arguments, on stdin, or with --messages")
				}
				msgs = []tokenizer.Message{{Role: "user", Content: text}}
			default:
				interactive = true
			}
			if cf.system != "" {
				if len(msgs) > 0 && msgs[0].Role == "system" {
					return usagef("--system given but the messages already start with a system message")
				}
				msgs = append([]tokenizer.Message{{Role: "system", Content: cf.system}}, msgs...)
			}
			if cf.dryRun {
				if interactive {
					return usagef("--dry-run needs the conversation from --messages, -p, arguments or stdin")
				}
				return a.chatDryRun(mf.path, cf.template, msgs, tools, cf.jsonOut, mf.verbose)
			}
			if interactive && cf.jsonOut {
				return usagef("--json needs the conversation from --messages, -p, arguments or stdin")
			}
			m, _, err := a.loadModel(&mf)
			if err != nil {
				return err
			}
			defer m.Close()
			if err := a.applyModelDefaults(cmd, &mf, &sf); err != nil {
				return err
			}
			// An ollama model's system prompt, unless one was given.
			if r := mf.resolved; r != nil && r.HasSystem && r.System != "" && !cmd.Flags().Changed("system") && (len(msgs) == 0 || msgs[0].Role != "system") {
				msgs = append([]tokenizer.Message{{Role: "system", Content: r.System}}, msgs...)
			}
			if m.Tokenizer == nil {
				return fail("chat", fmt.Errorf("%s has no tokenizer", m.Name))
			}
			sess, err := a.newSession(m, &mf)
			if err != nil {
				return err
			}
			defer sess.Close()
			seed := sf.resolveSeed()
			if mf.verbose {
				a.infof("gale: seed %d, %d threads, context %d, KV cache %s, kernels %s\n", seed, sess.Threads(), sess.CtxSize(),
					kvName(mf.sessionOptions().KVF16), kernelLevel())
			}
			own, err := modelTemplate(m, mf.loadPath())
			if err != nil {
				return err
			}
			tmpl, err := pickTemplate(cf.template, own, m.Tokenizer)
			if err != nil {
				return err
			}
			ollama := ollamaTemplate(mf.resolved, own, cf.template)
			if mf.verbose {
				name := tmpl.Name
				if ollama != "" {
					name = "from the ollama template layer"
				}
				a.infof("gale: chat template %s\n", name)
			}
			c := &chatState{a: a, m: m, sess: sess, sf: &sf, seed: seed, verbose: mf.verbose, tmpl: tmpl, tools: tools, ollama: ollama}
			if interactive {
				return c.interactive(msgs)
			}
			return c.once(msgs, cf.jsonOut)
		}),
	}
	fs := cmd.Flags()
	mf.register(fs, "f16")
	sf.register(fs)
	fs.StringVarP(&prompt, "prompt", "p", "", "a single user message")
	fs.StringVar(&cf.system, "system", "", "system prompt (prepended to the first user message)")
	fs.StringVar(&cf.messages, "messages", "", "JSON file with the conversation so far (- for stdin)")
	fs.BoolVar(&cf.jsonOut, "json", false, "print {\"role\": \"assistant\", \"content\": ...}")
	fs.BoolVar(&cf.dryRun, "dry-run", false, "print the rendered prompt's token ids and exit (-m may be a tokenizer file; with --json also the prompt text; -v shows it on stderr)")
	fs.StringVar(&cf.template, "chat-template", "", "chat template: a built-in ("+strings.Join(model.BuiltinTemplates(), ", ")+"), a Jinja file, or a tokenizer_config.json (default: the model's own, else a built-in matching its vocabulary)")
	return cmd
}

// readMessages reads a conversation's messages (see readConversation).
func (a *app) readMessages(path string) ([]tokenizer.Message, error) {
	msgs, _, err := a.readConversation(path)
	return msgs, err
}

// readConversation reads a conversation from a file or stdin ("-"): a
// JSON array of messages, or an object holding one under "messages" and
// optionally tool definitions under "tools" (the OpenAI / mistral-common
// request shape). A message has a role (system, user, assistant, tool),
// content, and for tools tool_calls / tool_call_id / name.
func (a *app) readConversation(path string) ([]tokenizer.Message, []json.RawMessage, error) {
	var data []byte
	var err error
	name := path
	if path == "-" {
		name = "stdin"
		data, err = io.ReadAll(a.stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, nil, fail("read messages", plainPathError(err))
	}
	bad := func(format string, args ...any) error {
		return fail("read messages", fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	var list []tokenizer.Message
	var tools []json.RawMessage
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var obj struct {
			Messages []tokenizer.Message `json:"messages"`
			Tools    []json.RawMessage   `json:"tools"`
		}
		if err := json.Unmarshal(trimmed, &obj); err != nil {
			return nil, nil, bad("%v", err)
		}
		if obj.Messages == nil {
			return nil, nil, bad("no \"messages\" array")
		}
		list, tools = obj.Messages, obj.Tools
	} else if err := json.Unmarshal(trimmed, &list); err != nil {
		return nil, nil, bad("want a JSON array of {\"role\", \"content\"}: %v", err)
	}
	if len(list) == 0 {
		return nil, nil, bad("no messages")
	}
	for i, m := range list {
		switch m.Role {
		case "system", "user", "assistant", "tool":
		default:
			return nil, nil, bad("message %d: unknown role %q (want system, user, assistant or tool)", i, m.Role)
		}
	}
	for i, t := range tools {
		if b := bytes.TrimSpace(t); len(b) == 0 || b[0] != '{' {
			return nil, nil, bad("tool %d is not a JSON object", i)
		}
	}
	return list, tools, nil
}

// dryRunJSON is chat --dry-run --json's output.
type dryRunJSON struct {
	Template string `json:"template"`
	Prompt   string `json:"prompt"`
	IDs      []int  `json:"ids"`
}

// chatDryRun prints the ids of the rendered conversation, one line like
// tokenize (with --json also the template's name and the prompt text; -v
// shows those on stderr), so the template can be checked against
// references without running a model; -m may name a tokenizer file.
func (a *app) chatDryRun(path, templateFlag string, msgs []tokenizer.Message, tools []json.RawMessage, jsonOut, verbose bool) error {
	tok, own, err := a.loadChatTokenizer(path)
	if err != nil {
		return err
	}
	tmpl, err := pickTemplate(templateFlag, own, tok)
	if err != nil {
		return err
	}
	p, err := tmpl.Apply(tok, model.ChatRequest{Messages: msgs, Tools: tools, AddGenerationPrompt: true})
	if err != nil {
		return fail("chat template", err)
	}
	if jsonOut {
		return a.printJSON(dryRunJSON{Template: tmpl.Name, Prompt: p.Text, IDs: nonNilInts(p.IDs)})
	}
	if verbose {
		a.infof("gale: chat template %s renders:\n%s\n", tmpl.Name, p.Text)
	}
	_, err = fmt.Fprintln(a.stdout, joinIDs(p.IDs))
	return fail("write output", err)
}

// loadChatTokenizer is loadTokenizer for chat: it also returns the
// model's own chat template (the embedded model's, a GGUF file's
// tokenizer.chat_template, or the chat_template of the directory's
// tokenizer_config.json).
func (a *app) loadChatTokenizer(path string) (*tokenizer.Tokenizer, string, error) {
	// A name from the Hugging Face cache or ollama's store stands for
	// the path it resolves to.
	resolved, gguf := path, false
	if path != "" {
		res, err := hub.Resolve(path, hub.Dirs{})
		if err != nil {
			return nil, "", fail("load tokenizer", err)
		}
		resolved, gguf = res.Path, res.GGUF
	}
	if path == "" || gguf || isGGUF(resolved) {
		m, _, err := a.loadModel(&modelFlags{path: path})
		if err != nil {
			return nil, "", err
		}
		if m.Tokenizer == nil {
			return nil, "", fail("load tokenizer", fmt.Errorf("%s has no tokenizer", m.Name))
		}
		return m.Tokenizer, m.ChatTemplate, nil
	}
	tok, err := a.loadTokenizer(path)
	if err != nil {
		return nil, "", err
	}
	own, err := dirTemplate(resolved)
	return tok, own, err
}

// modelTemplate returns a loaded model's own chat template: the one its
// loader kept (GGUF tokenizer.chat_template, HF tokenizer_config.json),
// else its directory's (path as -m resolved it).
func modelTemplate(m *model.Model, path string) (string, error) {
	if m.ChatTemplate != "" || path == "" {
		return m.ChatTemplate, nil
	}
	return dirTemplate(path)
}

// dirTemplate reads the chat template of a model directory, or of the
// directory holding the given file (tokenizer.model, config.json).
func dirTemplate(path string) (string, error) {
	dir := path
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		dir = filepath.Dir(path)
	}
	src, err := model.ReadChatTemplate(dir)
	if err != nil {
		return "", fail("chat template", err)
	}
	return src, nil
}

// pickTemplate chooses the chat template: --chat-template when given,
// else the model's own (Jinja), else the built-in its vocabulary calls
// for.
func pickTemplate(flag, own string, tok *tokenizer.Tokenizer) (*model.ChatTemplate, error) {
	if flag != "" {
		t, err := model.LoadTemplate(flag)
		if err != nil {
			return nil, usagef("invalid value %q for --chat-template: %v", flag, err)
		}
		return t, nil
	}
	t, err := model.TemplateFor(own, tok)
	if err != nil {
		return nil, fail("chat template", err)
	}
	return t, nil
}

// chatState is a conversation with a loaded model.
type chatState struct {
	a       *app
	m       *model.Model
	sess    *model.Session
	sf      *sampleFlags
	seed    uint64
	verbose bool
	turns   int
	tmpl    *model.ChatTemplate
	tools   []json.RawMessage // tool definitions of a --messages request
	ollama  string            // an ollama template layer to render with instead of tmpl
}

// render encodes the conversation, dropping the oldest exchanges (never
// the system prompt or the last message) until the prompt leaves room to
// answer in the context; it says so on stderr when it drops any.
func (c *chatState) render(msgs []tokenizer.Message) ([]tokenizer.Message, []int, error) {
	ctx := c.sess.CtxSize()
	kept, ids, dropped, err := model.WindowChat(msgs, ctx, model.ChatRoom(ctx, c.sf.maxTokens),
		c.encodeChat)
	if errors.Is(err, model.ErrHistoryTooLong) {
		return nil, nil, fail("chat", err)
	}
	if err != nil {
		return nil, nil, fail("chat template", err)
	}
	if dropped > 0 {
		c.a.warn("conversation outgrew the context of %d tokens: dropped the %d oldest messages", ctx, dropped)
	}
	return kept, ids, nil
}

// reply generates the assistant's answer to msgs, streaming it to stdout
// unless quiet. ctx cancellation ends it early with stop reason
// "interrupted".
func (c *chatState) reply(ctx context.Context, ids []int, quiet bool) (*model.GenerateResult, error) {
	// No Reset: Generate keeps the cache of the prefix this prompt shares
	// with the last one (the conversation so far), so a turn prefills
	// only its new tokens.
	opts := model.GenerateOptions{
		MaxTokens: c.sf.maxTokens,
		Sampler:   c.sf.samplerOptions(c.seed+uint64(c.turns), c.sess.CtxSize()),
		Stop:      c.sf.stop,
		IgnoreEOS: c.sf.ignoreEOS,
	}
	c.turns++
	first := true
	if !quiet {
		opts.OnText = func(s string) error {
			if first {
				// The answer's first piece carries the space after
				// [/INST]; a reader wants the text itself.
				s = strings.TrimLeft(s, " ")
				if s == "" {
					return nil
				}
				first = false
			}
			return writeFlush(c.a.stdout, s)
		}
	}
	res, err := c.sess.Generate(ctx, ids, opts)
	if err != nil && (res == nil || res.StopReason != model.StopInterrupted) {
		if ctx.Err() != nil {
			return nil, errInterrupted
		}
		return nil, fail("generate", err)
	}
	if c.verbose {
		c.a.printTimings(0, res)
	}
	return res, nil
}

// once answers a given conversation and exits.
func (c *chatState) once(msgs []tokenizer.Message, jsonOut bool) error {
	if r := msgs[len(msgs)-1].Role; r != "user" && r != "tool" {
		return fail("chat", errors.New("the last message must be from the user (or a tool's result)"))
	}
	_, ids, err := c.render(msgs)
	if err != nil {
		return err
	}
	ctx, stop := c.a.interruptContext(context.Background())
	defer stop()
	res, err := c.reply(ctx, ids, jsonOut)
	if err != nil {
		return err
	}
	if jsonOut {
		if err := c.a.printJSON(chatMessageJSON{Role: "assistant", Content: strings.TrimSpace(res.Text)}); err != nil {
			return err
		}
	} else if c.a.stdoutTerm {
		fmt.Fprintln(c.a.stdout)
	}
	if res.StopReason == model.StopInterrupted {
		return errInterrupted
	}
	return nil
}

// chatHelp is what /? and /help print (ollama's commands, gale's words).
const chatHelp = `Available commands:
  /set parameter NAME VALUE  set a sampling parameter: temperature, top_k, top_p,
                             min_p, num_predict, repeat_penalty, repeat_last_n, seed
  /set system TEXT           set the system message (kept by /clear)
  /show info                 show the model and the current parameters
  /clear, /reset             forget the conversation
  /bye, /exit                quit (or Ctrl-D)
  /?, /help                  this help
  """                        begin and end a message of several lines
Ctrl-C interrupts the current answer.`

// interactive runs the read-answer loop on a terminal, with ollama's
// commands.
func (c *chatState) interactive(start []tokenizer.Message) error {
	a := c.a
	system := ""
	if len(start) > 0 && start[0].Role == "system" {
		system = start[0].Content
	}
	withSystem := func() []tokenizer.Message {
		if system == "" {
			return nil
		}
		return []tokenizer.Message{{Role: "system", Content: system}}
	}
	history := withSystem()
	marker, more := ">>> ", "... "
	if !a.noColor && a.stdoutTerm {
		marker = "\x1b[1m>>>\x1b[0m "
	}
	fmt.Fprintf(a.stderr, "gale chat with %s: /? for help, /bye or Ctrl-D quits, Ctrl-C interrupts an answer\n", c.m.Name)
	in := bufio.NewReader(a.stdin)
	// readLine shows prompt and reads one line; at the prompt Ctrl-C only
	// reminds how to leave, as ollama does (the handler re-arms itself).
	readLine := func(prompt string) (string, error) {
		var hint func()
		hint = func() {
			fmt.Fprintf(a.stderr, "\n(use /bye or Ctrl-D to quit)\n")
			fmt.Fprint(a.stdout, prompt)
			a.setOnSignal(hint)
		}
		a.setOnSignal(hint)
		defer a.setOnSignal(nil)
		fmt.Fprint(a.stdout, prompt)
		line, err := in.ReadString('\n')
		if err != nil && line != "" {
			err = nil // a last line without a newline still counts
		}
		return strings.TrimRight(line, "\r\n"), err
	}
	for {
		line, err := readLine(marker)
		if err != nil {
			if err == io.EOF {
				fmt.Fprintln(a.stdout)
				return nil
			}
			return fail("read input", err)
		}
		text := strings.TrimSpace(line)
		if strings.HasPrefix(text, `"""`) {
			// A message of several lines, between """ and """ (which may
			// close on the first line, as ollama allows).
			body := strings.TrimPrefix(text, `"""`)
			var lines []string
			for {
				if t := strings.TrimRight(body, " \t"); strings.HasSuffix(t, `"""`) {
					lines = append(lines, strings.TrimSuffix(t, `"""`))
					break
				}
				lines = append(lines, body)
				if body, err = readLine(more); err != nil {
					if err == io.EOF {
						fmt.Fprintln(a.stdout)
						return nil
					}
					return fail("read input", err)
				}
			}
			text = strings.TrimSpace(strings.Join(lines, "\n"))
		} else if strings.HasPrefix(text, "/") {
			quit, reset := c.command(text, &system)
			if quit {
				return nil
			}
			if reset {
				history = withSystem()
			} else if len(history) > 0 && history[0].Role == "system" {
				if system == "" {
					history = history[1:]
				} else {
					history[0].Content = system
				}
			} else if system != "" {
				history = append(withSystem(), history...)
			}
			continue
		}
		if text == "" {
			continue
		}
		history = append(history, tokenizer.Message{Role: "user", Content: text})
		kept, ids, err := c.render(history)
		if err != nil {
			history = history[:len(history)-1]
			a.errorLine("chat", err)
			continue
		}
		history = kept
		ctx, stop := a.interruptContext(context.Background())
		res, err := c.reply(ctx, ids, false)
		stop()
		if err != nil && !errors.Is(err, errInterrupted) {
			return err
		}
		fmt.Fprintln(a.stdout)
		answer := ""
		if res != nil {
			answer = strings.TrimSpace(res.Text)
			if res.StopReason == model.StopInterrupted {
				fmt.Fprintln(a.stderr, "(interrupted)")
			}
		}
		history = append(history, tokenizer.Message{Role: "assistant", Content: answer})
	}
}

// command runs one /command of the REPL. It reports whether to quit and
// whether the conversation is to be forgotten; /set system changes
// *system.
func (c *chatState) command(line string, system *string) (quit, reset bool) {
	a := c.a
	f := strings.Fields(line)
	switch f[0] {
	case "/bye", "/exit", "/quit":
		return true, false
	case "/clear", "/reset":
		fmt.Fprintln(a.stderr, "(conversation cleared)")
		return false, true
	case "/?", "/help":
		fmt.Fprintln(a.stderr, chatHelp)
	case "/set":
		switch {
		case len(f) >= 2 && f[1] == "system":
			// The text as typed after "/set system", quotes around it
			// dropped as ollama does.
			rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "/set"))
			rest = strings.Trim(strings.TrimSpace(strings.TrimPrefix(rest, "system")), `"`)
			*system = rest
			if rest == "" {
				fmt.Fprintln(a.stderr, "(system message cleared)")
			} else {
				fmt.Fprintln(a.stderr, "Set system message.")
			}
		case len(f) == 4 && f[1] == "parameter":
			if err := c.setParameter(f[2], f[3]); err != nil {
				fmt.Fprintf(a.stderr, "error: %v\n", err)
			} else {
				fmt.Fprintf(a.stderr, "Set parameter '%s' to '%s'\n", f[2], f[3])
			}
		case len(f) >= 2 && f[1] == "parameter":
			fmt.Fprintln(a.stderr, "usage: /set parameter NAME VALUE (temperature, top_k, top_p, min_p, num_predict, repeat_penalty, repeat_last_n, seed)")
		default:
			fmt.Fprintln(a.stderr, "usage: /set parameter NAME VALUE, or /set system TEXT")
		}
	case "/show":
		if len(f) == 2 && f[1] == "info" {
			c.showInfo(*system)
		} else {
			fmt.Fprintln(a.stderr, "usage: /show info")
		}
	default:
		fmt.Fprintf(a.stderr, "unknown command %s (try /?)\n", f[0])
	}
	return false, false
}

// setParameter is /set parameter NAME VALUE, with ollama's parameter
// names; a bad value leaves the parameter as it was.
func (c *chatState) setParameter(name, value string) error {
	next := *c.sf
	num := func() (float64, error) {
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %q is not a number", name, value)
		}
		return v, nil
	}
	integer := func() (int64, error) {
		v, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %q is not an integer", name, value)
		}
		return v, nil
	}
	var err error
	var fv float64
	var iv int64
	switch name {
	case "temperature":
		fv, err = num()
		next.temp = fv
	case "top_p":
		fv, err = num()
		next.topP = fv
	case "min_p":
		fv, err = num()
		next.minP = fv
	case "repeat_penalty":
		fv, err = num()
		next.repeatPenalty = fv
	case "top_k":
		iv, err = integer()
		next.topK = int(iv)
	case "num_predict":
		iv, err = integer()
		next.maxTokens = int(iv)
	case "repeat_last_n":
		iv, err = integer()
		next.repeatLastN = int(iv)
	case "seed":
		iv, err = integer()
		next.seed = iv
	default:
		return fmt.Errorf("unknown parameter %q (want temperature, top_k, top_p, min_p, num_predict, repeat_penalty, repeat_last_n or seed)", name)
	}
	if err != nil {
		return err
	}
	if err := next.validate(); err != nil {
		return fmt.Errorf("%s %s: %v", name, value, err)
	}
	*c.sf = next
	if name == "seed" {
		// Replies from here on are those of a run started with -s seed.
		c.seed = next.resolveSeed()
		c.turns = 0
	}
	return nil
}

// showInfo is /show info: the model's shape and the current parameters.
func (c *chatState) showInfo(system string) {
	cfg := c.m.Config
	w := tabwriter.NewWriter(c.a.stderr, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "  Model")
	fmt.Fprintf(w, "    name\t%s\n", c.m.Name)
	fmt.Fprintf(w, "    architecture\t%s\n", cfg.Arch)
	fmt.Fprintf(w, "    parameters\t%s\n", humanCount(c.m.NumParams()))
	fmt.Fprintf(w, "    weights\t%s\n", strings.Join(c.m.DTypes(), "/"))
	fmt.Fprintf(w, "    context length\t%d (trained), %d (this session)\n", cfg.MaxSeqLen, c.sess.CtxSize())
	fmt.Fprintf(w, "    embedding length\t%d\n", cfg.Dim)
	fmt.Fprintln(w, "  Parameters")
	fmt.Fprintf(w, "    temperature\t%g\n", c.sf.temp)
	fmt.Fprintf(w, "    top_k\t%d\n", c.sf.topK)
	fmt.Fprintf(w, "    top_p\t%g\n", c.sf.topP)
	fmt.Fprintf(w, "    min_p\t%g\n", c.sf.minP)
	fmt.Fprintf(w, "    num_predict\t%d\n", c.sf.maxTokens)
	fmt.Fprintf(w, "    repeat_penalty\t%g\n", c.sf.repeatPenalty)
	fmt.Fprintf(w, "    repeat_last_n\t%d\n", c.sf.repeatLastN)
	fmt.Fprintf(w, "    seed\t%d\n", c.seed)
	if system != "" {
		fmt.Fprintln(w, "  System")
		fmt.Fprintf(w, "    %s\n", system)
	}
	w.Flush()
}
