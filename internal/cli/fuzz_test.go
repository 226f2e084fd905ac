package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseIDs: any --tokens / detokenize input either parses to
// non-negative ids that print back to the same list, or is an error;
// never a panic.
func FuzzParseIDs(f *testing.F) {
	for _, s := range []string{"1,2,3", " 1 2\n3 ", "[1, 2]", "", ",", "-1", "1e3", "99999999999999999999", "1,,2", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ids, err := parseIDs(s)
		if err != nil {
			return
		}
		for _, id := range ids {
			if id < 0 {
				t.Fatalf("parseIDs(%q) gave negative id %d", s, id)
			}
		}
		again, err := parseIDs(joinIDs(ids))
		if err != nil || joinIDs(again) != joinIDs(ids) {
			t.Fatalf("parseIDs(%q) = %v does not round-trip (%v, %v)", s, ids, again, err)
		}
	})
}

// FuzzReadMessages: any --messages file is read into valid roles (and
// tool definitions that are JSON objects) or rejected with an error
// naming the file; never a panic.
func FuzzReadMessages(f *testing.F) {
	for _, s := range []string{
		`[{"role":"user","content":"hi"}]`,
		`{"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"}]}`,
		`[]`, `{}`, `null`, `[{"role":"x"}]`, `[{"content":1}]`, "\xff\xfe", `[[[[`,
		`{"messages":[{"role":"user","content":"w"},{"role":"assistant","tool_calls":[{"id":"1","function":{"name":"f","arguments":{"a":1}}}]},{"role":"tool","tool_call_id":"1","content":"2"}],"tools":[{"type":"function"}]}`,
		`{"messages":[{"role":"user","content":"w"}],"tools":[1]}`,
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	n := 0
	f.Fuzz(func(t *testing.T, data []byte) {
		n++
		p := filepath.Join(dir, "m"+strconv.Itoa(n)+".json")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(p)
		a, _, _ := testApp("")
		msgs, tools, err := a.readConversation(p)
		if err != nil {
			if !strings.Contains(err.Error(), filepath.Base(p)) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if len(msgs) == 0 {
			t.Fatal("no messages and no error")
		}
		for _, m := range msgs {
			switch m.Role {
			case "system", "user", "assistant", "tool":
			default:
				t.Fatalf("role %q accepted", m.Role)
			}
		}
		for _, tool := range tools {
			if b := bytes.TrimSpace(tool); len(b) == 0 || b[0] != '{' {
				t.Fatalf("tool %q accepted", tool)
			}
		}
	})
}

// FuzzProcessEscapes: escape processing never panics, never grows the
// text, leaves text without a backslash alone, and turns every "\\\\"
// pair into one backslash (so escaping a string's backslashes and
// processing gives the string back).
func FuzzProcessEscapes(f *testing.F) {
	for _, s := range []string{`a\nb`, `\x4`, `\x4g`, `\xzz`, `\`, `\\`, `\q`, `C:\path\to`, "\xff\\x", `\x41\x42`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := processEscapes(s)
		if len(out) > len(s) {
			t.Fatalf("processEscapes(%q) = %q is longer", s, out)
		}
		if !strings.Contains(s, `\`) && out != s {
			t.Fatalf("processEscapes(%q) = %q changed text without escapes", s, out)
		}
		if back := processEscapes(strings.ReplaceAll(s, `\`, `\\`)); back != s {
			t.Fatalf("escaped %q processes to %q", s, back)
		}
	})
}
