package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// Decode converts ids to text as SentencePiece's Decode does: control
// tokens vanish, <unk> prints as " ⁇ ", U+2581 becomes a space, runs of
// byte pieces are reassembled as UTF-8 (each byte that does not form a valid
// character becomes U+FFFD), and the dummy-prefix space is dropped from the
// first piece only. Ids out of range are skipped.
func (t *Tokenizer) Decode(ids []int) string {
	return t.decode(ids, false)
}

// decode is Decode, printing control tokens when special is set.
func (t *Tokenizer) decode(ids []int, special bool) string {
	buf := make([]byte, 0, len(ids)*4)
	var pending []byte
	isBosWS, bosWSSeen := true, false
	for _, id := range ids {
		if id < 0 || id >= len(t.pieces) {
			continue
		}
		if t.types[id] == typeByte {
			// Collect the whole run of byte pieces, then convert it at once.
			pending = append(pending, t.byteVal[id])
			continue
		}
		if len(pending) > 0 {
			buf = appendUTF8(buf, pending)
			pending = pending[:0]
		}
		if bosWSSeen || len(buf) > 0 {
			isBosWS = false
		}
		var s string
		s, bosWSSeen = t.decodePiece(id, isBosWS, special)
		buf = append(buf, s...)
	}
	return string(appendUTF8(buf, pending))
}

// appendUTF8 appends a run of byte-piece bytes as SentencePiece does: valid
// UTF-8 characters as they are, each other byte as U+FFFD.
func appendUTF8(buf, p []byte) []byte {
	for len(p) > 0 {
		r, sz := utf8.DecodeRune(p)
		if r == utf8.RuneError && sz == 1 {
			buf = append(buf, "\uFFFD"...)
		} else {
			buf = append(buf, p[:sz]...)
		}
		p = p[sz:]
	}
	return buf
}

// StreamDecoder turns ids into text one at a time during generation. It
// holds back byte pieces until they complete a UTF-8 character, so it never
// emits a partial sequence, and the concatenation of everything it returns
// equals Decode of all ids.
type StreamDecoder struct {
	t       *Tokenizer
	pending []byte // byte-piece bytes not yet emitted
	// SentencePiece's is_bos_ws / bos_ws_seen: the first non-byte piece may
	// lose its leading U+2581 (the dummy prefix), and only while nothing
	// has been produced yet.
	isBosWS   bool
	bosWSSeen bool
	emitted   bool
	special   bool // print control tokens (DecodeOptions.Special)
}

// NewStreamDecoder starts a decoder at the beginning of a text.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t: t, isBosWS: true}
}

// Add consumes one id and returns the text that became complete with it
// (possibly ""). Ids out of range are ignored.
func (d *StreamDecoder) Add(id int) string {
	t := d.t
	if id < 0 || id >= len(t.pieces) {
		return ""
	}
	if t.types[id] == typeByte {
		d.pending = append(d.pending, t.byteVal[id])
		return d.drain(false)
	}
	var sb strings.Builder
	sb.WriteString(d.drain(true))
	if d.bosWSSeen || d.emitted {
		d.isBosWS = false
	}
	var s string
	s, d.bosWSSeen = t.decodePiece(id, d.isBosWS, d.special)
	sb.WriteString(s)
	if s != "" {
		d.emitted = true
	}
	return sb.String()
}

// Flush returns whatever is still held back; bytes that never completed a
// character come out as U+FFFD, as Decode would print them.
func (d *StreamDecoder) Flush() string {
	return d.drain(true)
}

// drain converts pending bytes to text. Without final it stops at a
// sequence that may still be completed by later bytes.
func (d *StreamDecoder) drain(final bool) string {
	if len(d.pending) == 0 {
		return ""
	}
	n := len(d.pending)
	if !final {
		// Hold back a trailing sequence that later bytes may complete.
		n = 0
		for p := d.pending; len(p) > 0 && utf8.FullRune(p); {
			_, sz := utf8.DecodeRune(p)
			n += sz
			p = p[sz:]
		}
	}
	out := string(appendUTF8(nil, d.pending[:n]))
	d.pending = append(d.pending[:0], d.pending[n:]...)
	if out != "" {
		d.emitted = true
	}
	return out
}

// decodePiece is SentencePiece's DecodeSentencePiece for a non-byte piece:
// it returns the surface text and whether a leading U+2581 was consumed.
// With special, a control token prints as its literal; the text after it
// then keeps its leading space, as in Hugging Face's decode with
// skip_special_tokens=False.
func (t *Tokenizer) decodePiece(id int, isBosWS, special bool) (string, bool) {
	switch t.types[id] {
	case typeControl:
		if special {
			return t.pieces[id], false
		}
		return "", false
	case typeUnknown:
		return t.unkSurface, false
	}
	surf := t.surface[id]
	if isBosWS && (t.addDummyPrefix || t.removeExtraWhitespaces) && strings.HasPrefix(t.pieces[id], spaceSymbol) {
		// The U+2581 became surf[0] == ' '.
		return surf[1:], !t.removeExtraWhitespaces
	}
	return surf, false
}
