package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/ardanlabs/jinja"
)

// Chat prompts embed JSON (tool definitions, tool-call arguments, tool
// results) and must reproduce, byte for byte, what the model was trained
// on: Python's json.dumps output (mistral-common) or a Jinja template's
// tojson. Both keep the key order of the input, which Go maps lose, so
// JSON is held here as an ordered tree.

// jsonKind tags a jsonValue.
type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonInt // an integer literal, kept as its digits (Python ints are unbounded)
	jsonFloat
	jsonString
	jsonArray
	jsonObject
)

// jsonValue is one JSON value with object keys in input order.
type jsonValue struct {
	kind  jsonKind
	b     bool
	num   string // jsonInt: the literal; jsonFloat: unused
	f     float64
	s     string
	items []jsonValue // array items, or object values
	keys  []string    // object keys, parallel to items
}

// maxJSONDepth bounds nesting so hostile input cannot exhaust the stack.
const maxJSONDepth = 200

// parseJSON reads exactly one JSON value (surrounding white space allowed).
func parseJSON(data []byte) (jsonValue, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readJSONValue(dec, 0)
	if err != nil {
		return jsonValue{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return jsonValue{}, errors.New("trailing data after the JSON value")
	}
	return v, nil
}

func readJSONValue(dec *json.Decoder, depth int) (jsonValue, error) {
	if depth > maxJSONDepth {
		return jsonValue{}, errors.New("JSON nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return jsonValue{}, err
	}
	switch x := tok.(type) {
	case nil:
		return jsonValue{kind: jsonNull}, nil
	case bool:
		return jsonValue{kind: jsonBool, b: x}, nil
	case string:
		return jsonValue{kind: jsonString, s: x}, nil
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			if s == "-0" {
				s = "0"
			}
			return jsonValue{kind: jsonInt, num: s}, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return jsonValue{}, err
		}
		return jsonValue{kind: jsonFloat, f: f}, nil
	case json.Delim:
		switch x {
		case '[':
			v := jsonValue{kind: jsonArray}
			for dec.More() {
				item, err := readJSONValue(dec, depth+1)
				if err != nil {
					return jsonValue{}, err
				}
				v.items = append(v.items, item)
			}
			_, err := dec.Token()
			return v, err
		case '{':
			v := jsonValue{kind: jsonObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return jsonValue{}, err
				}
				k, _ := kt.(string)
				item, err := readJSONValue(dec, depth+1)
				if err != nil {
					return jsonValue{}, err
				}
				v.set(k, item)
			}
			_, err := dec.Token()
			return v, err
		}
	}
	return jsonValue{}, fmt.Errorf("unexpected JSON token %v", tok)
}

// set adds or replaces a key. A repeated key keeps its first position and
// its last value, as a Python dict built by json.loads does.
func (v *jsonValue) set(k string, item jsonValue) {
	for i, old := range v.keys {
		if old == k {
			v.items[i] = item
			return
		}
	}
	v.keys = append(v.keys, k)
	v.items = append(v.items, item)
}

// get returns the value of key k of an object.
func (v jsonValue) get(k string) (jsonValue, bool) {
	if v.kind != jsonObject {
		return jsonValue{}, false
	}
	for i, key := range v.keys {
		if key == k {
			return v.items[i], true
		}
	}
	return jsonValue{}, false
}

func jsonStr(s string) jsonValue { return jsonValue{kind: jsonString, s: s} }

// object builds an object from alternating keys and values.
func object(kv ...any) jsonValue {
	v := jsonValue{kind: jsonObject}
	for i := 0; i+1 < len(kv); i += 2 {
		v.set(kv[i].(string), kv[i+1].(jsonValue))
	}
	return v
}

// pyDumps is Python's json.dumps(v, ensure_ascii=False) with the default
// separators (", " and ": ").
func pyDumps(v jsonValue) string {
	var sb strings.Builder
	v.dump(&sb)
	return sb.String()
}

func (v jsonValue) dump(sb *strings.Builder) {
	switch v.kind {
	case jsonNull:
		sb.WriteString("null")
	case jsonBool:
		if v.b {
			sb.WriteString("true")
		} else {
			sb.WriteString("false")
		}
	case jsonInt:
		sb.WriteString(v.num)
	case jsonFloat:
		sb.WriteString(pyFloatRepr(v.f))
	case jsonString:
		pyQuote(sb, v.s)
	case jsonArray:
		sb.WriteByte('[')
		for i, it := range v.items {
			if i > 0 {
				sb.WriteString(", ")
			}
			it.dump(sb)
		}
		sb.WriteByte(']')
	case jsonObject:
		sb.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				sb.WriteString(", ")
			}
			pyQuote(sb, k)
			sb.WriteString(": ")
			v.items[i].dump(sb)
		}
		sb.WriteByte('}')
	}
}

// pyQuote writes s as json.dumps(ensure_ascii=False) does: only '"', '\\'
// and control characters below U+0020 are escaped.
func pyQuote(sb *strings.Builder, s string) {
	sb.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		case '\b':
			sb.WriteString(`\b`)
		case '\f':
			sb.WriteString(`\f`)
		default:
			if c < 0x20 {
				fmt.Fprintf(sb, `\u%04x`, c)
			} else {
				sb.WriteByte(c)
			}
		}
	}
	sb.WriteByte('"')
}

// pyFloatRepr formats f as Python's repr(float): the shortest digits that
// round-trip, in fixed notation when the decimal exponent is in [-4, 16),
// else d.ddde±XX; integral values keep a ".0".
func pyFloatRepr(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case math.IsNaN(f):
		return "NaN"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // [-]d[.ddd]e±XX
	sign := ""
	if e[0] == '-' {
		sign, e = "-", e[1:]
	}
	mant, exps, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(exps)
	digits := strings.Replace(mant, ".", "", 1)
	decpt := exp + 1 // position of the decimal point after the first digit
	if decpt > -4 && decpt <= 16 {
		switch {
		case decpt <= 0:
			return sign + "0." + strings.Repeat("0", -decpt) + digits
		case decpt >= len(digits):
			return sign + digits + strings.Repeat("0", decpt-len(digits)) + ".0"
		default:
			return sign + digits[:decpt] + "." + digits[decpt:]
		}
	}
	m := digits[:1]
	if len(digits) > 1 {
		m += "." + digits[1:]
	}
	es := "+"
	if exp < 0 {
		es, exp = "-", -exp
	}
	return fmt.Sprintf("%s%se%s%02d", sign, m, es, exp)
}

// parseJSONContent is mistral-common's _parse_json_content: the JSON value
// the text holds, or the text itself as a string when it is not JSON.
func parseJSONContent(s string) jsonValue {
	if v, err := parseJSON([]byte(s)); err == nil {
		return v
	}
	return jsonStr(s)
}

// jinjaValue converts the tree for a Jinja template, keeping key order.
func (v jsonValue) jinjaValue() jinja.Value {
	switch v.kind {
	case jsonBool:
		return jinja.NewBool(v.b)
	case jsonInt:
		if n, err := strconv.ParseInt(v.num, 10, 64); err == nil {
			return jinja.NewInt(n)
		}
		f, _ := strconv.ParseFloat(v.num, 64)
		return jinja.NewFloat(f)
	case jsonFloat:
		return jinja.NewFloat(v.f)
	case jsonString:
		return jinja.NewString(v.s)
	case jsonArray:
		items := make([]jinja.Value, len(v.items))
		for i, it := range v.items {
			items[i] = it.jinjaValue()
		}
		return jinja.NewList(items)
	case jsonObject:
		d := jinja.NewDict()
		for i, k := range v.keys {
			d.AsDict().Set(k, v.items[i].jinjaValue())
		}
		return d
	}
	return jinja.None()
}

// markStrings returns v with every string leaf s replaced by mark(s),
// except the values of "type" keys (key is the key v is stored under), and
// the keys of JSON-schema name maps (properties, $defs ...) marked too:
// those are the names a tool's author chose, the other keys are schema
// vocabulary that templates look up.
func (v jsonValue) markStrings(mark func(string) string, key string) jsonValue {
	switch v.kind {
	case jsonString:
		if key != "type" {
			v.s = mark(v.s)
		}
	case jsonArray, jsonObject:
		items := make([]jsonValue, len(v.items))
		for i, it := range v.items {
			k := ""
			if v.kind == jsonObject {
				k = v.keys[i]
			}
			items[i] = it.markStrings(mark, k)
		}
		v.items = items
		if v.kind == jsonObject && schemaNameMaps[key] {
			keys := make([]string, len(v.keys))
			for i, k := range v.keys {
				keys[i] = mark(k)
			}
			v.keys = keys
		}
	}
	return v
}

// schemaNameMaps are the JSON-schema keywords whose object keys are names.
var schemaNameMaps = map[string]bool{"properties": true, "patternProperties": true, "$defs": true, "definitions": true}
