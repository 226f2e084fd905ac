package model

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gale-ai/gale/tokenizer"
)

// TestTemplateLimits feeds the template engine what a hostile model file
// could carry: each must end in an error, quickly, never a hang or a crash.
func TestTemplateLimits(t *testing.T) {
	tok, err := tokenizer.Load(filepath.Join("..", "testdata", "tokenizer", "mistral-v0.1", "tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	req := ChatRequest{Messages: []tokenizer.Message{{Role: "user", Content: "hi"}}, AddGenerationPrompt: true}
	for name, src := range map[string]string{
		"huge range":      `{% for i in range(1000000000) %}x{% endfor %}`,
		"range step 0":    `{% for i in range(0, 10, 0) %}x{% endfor %}`,
		"recursive macro": `{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}`,
		"raise":           `{{ raise_exception("no system role") }}`,
	} {
		t0 := time.Now()
		ct, err := ParseTemplate(name, src)
		if err == nil {
			_, err = ct.Apply(tok, req)
		}
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if d := time.Since(t0); d > maxRenderTime+time.Second {
			t.Errorf("%s: took %v", name, d)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error on several lines: %q", name, err)
		}
	}
	// A bounded range still works.
	ct, err := ParseTemplate("small range", `{% for i in range(2, 5) %}{{ i }}{% endfor %}[INST] {{ messages[0].content }} [/INST]`)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ct.Apply(tok, req)
	if err != nil || !strings.HasPrefix(p.Text, "234") {
		t.Fatalf("range(2, 5): %q, %v", p.Text, err)
	}
}
