package hub

import "testing"

func TestRenderTemplate(t *testing.T) {
	// ollama's mistral templates, old (.Prompt) and new (.Messages); the
	// expected strings are Mistral's [INST] format written out by hand.
	legacy := `[INST] {{ if .System }}{{ .System }} {{ end }}{{ .Prompt }} [/INST]{{ .Response }}`
	messages := `{{- range $i, $_ := .Messages }}
{{- if eq .Role "user" }}
{{- if and (eq (len (slice $.Messages $i)) 1) $.System }}[INST] {{ $.System }}

{{ .Content }}[/INST]
{{- else }}[INST] {{ .Content }}[/INST]
{{- end }}
{{- else if eq .Role "assistant" }} {{ .Content }}</s>
{{- end }}
{{- end }}`
	conv := []Message{{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello."}, {"user", "Why?"}}
	cases := []struct {
		tmpl string
		msgs []Message
		want string
	}{
		{legacy, conv[1:2], "[INST] Hi [/INST]"},
		{legacy, conv[:2], "[INST] Be brief. Hi [/INST]"},
		{legacy, conv, "[INST] Be brief. Hi [/INST]Hello.[INST] Why? [/INST]"},
		{messages, conv, "[INST] Hi[/INST] Hello.</s>[INST] Be brief.\n\nWhy?[/INST]"},
		{messages, conv[1:2], "[INST] Hi[/INST]"},
	}
	for i, c := range cases {
		got, err := RenderTemplate(c.tmpl, c.msgs)
		if err != nil || got != c.want {
			t.Errorf("case %d: got %q, %v\nwant %q", i, got, err, c.want)
		}
	}
	if _, err := RenderTemplate("{{ .Prompt", nil); err == nil {
		t.Error("a broken template rendered")
	}
	if _, err := RenderTemplate("{{ .Nope.Deeper }}", conv); err == nil {
		t.Error("a template using an unknown field rendered")
	}
}
