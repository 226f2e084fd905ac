package hub

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/template"
	"time"
)

// Message is one turn of a conversation for RenderTemplate.
type Message struct {
	Role    string // system, user or assistant
	Content string
}

// templateValues are the variables an ollama template sees.
type templateValues struct {
	System   string
	Prompt   string
	Response string
	Messages []Message
	Tools    []any
}

// templateFuncs are the helpers ollama's templates call besides the
// text/template built-ins.
var templateFuncs = template.FuncMap{
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"currentDate": func() string { return time.Now().Format("2006-01-02") },
}

// ParseTemplate checks an ollama template layer (a Go text/template).
func ParseTemplate(text string) (*template.Template, error) {
	t, err := template.New("ollama").Funcs(templateFuncs).Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("ollama template: %v", err)
	}
	return t, nil
}

// RenderTemplate renders a conversation with an ollama template, the way
// ollama does: a template that uses .Messages sees the whole
// conversation at once (and .System, the system message); an older one
// with only .System, .Prompt and .Response is rendered once per user
// turn with the assistant's answer as .Response, the system prompt on
// the first turn, and the last turn cut right after where .Response
// goes, so that generation continues from there.
func RenderTemplate(text string, msgs []Message) (string, error) {
	t, err := ParseTemplate(text)
	if err != nil {
		return "", err
	}
	var system string
	var turns []Message
	for _, m := range msgs {
		if m.Role == "system" {
			system = m.Content
			continue
		}
		turns = append(turns, m)
	}
	var sb strings.Builder
	if strings.Contains(text, ".Messages") {
		v := templateValues{System: system, Messages: turns}
		for i := len(turns) - 1; i >= 0; i-- {
			if turns[i].Role == "user" {
				v.Prompt = turns[i].Content
				break
			}
		}
		if err := t.Execute(&sb, v); err != nil {
			return "", fmt.Errorf("ollama template: %v", err)
		}
		return sb.String(), nil
	}
	// A marker no conversation contains shows where .Response lands.
	const marker = "\x00gale-response\x00"
	first := true
	for i := 0; i < len(turns); i++ {
		if turns[i].Role != "user" {
			// An assistant turn without a question before it.
			continue
		}
		v := templateValues{Prompt: turns[i].Content}
		if first {
			v.System = system
			first = false
		}
		last := true
		if i+1 < len(turns) && turns[i+1].Role == "assistant" {
			v.Response = turns[i+1].Content
			i++
			last = i+1 >= len(turns)
			if last {
				// The conversation ends with an answer: render it whole.
				last = false
			}
		} else {
			v.Response = marker
		}
		var one strings.Builder
		if err := t.Execute(&one, v); err != nil {
			return "", fmt.Errorf("ollama template: %v", err)
		}
		s := one.String()
		if last {
			if j := strings.Index(s, marker); j >= 0 {
				s = s[:j]
			}
		}
		sb.WriteString(s)
	}
	return sb.String(), nil
}
