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
	d := t.NewStreamDecoder()
	var sb strings.Builder
	for _, id := range ids {
		if id < 0 || id >= len(t.pieces) {
			continue
		}
		if t.types[id] == typeByte {
			// One-shot: collect the whole run, then convert it at once.
			d.pending = append(d.pending, t.byteValue(id))
			continue
		}
		sb.WriteString(d.Add(id))
	}
	sb.WriteString(d.Flush())
	return sb.String()
}

// byteValue returns the byte a BYTE piece stands for.
func (t *Tokenizer) byteValue(id int) byte {
	b, _ := pieceToByte(t.pieces[id])
	return b
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
		d.pending = append(d.pending, t.byteValue(id))
		return d.drain(false)
	}
	var sb strings.Builder
	sb.WriteString(d.drain(true))
	if d.bosWSSeen || d.emitted {
		d.isBosWS = false
	}
	var s string
	s, d.bosWSSeen = t.decodePiece(id, d.isBosWS)
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
	var sb strings.Builder
	p := d.pending
	for len(p) > 0 {
		if !final && !utf8.FullRune(p) {
			break
		}
		r, sz := utf8.DecodeRune(p)
		if r == utf8.RuneError && sz == 1 {
			// SentencePiece maps each structurally invalid byte to U+FFFD.
			sb.WriteString("\uFFFD")
		} else {
			sb.Write(p[:sz])
		}
		p = p[sz:]
	}
	d.pending = append(d.pending[:0], p...)
	if sb.Len() > 0 {
		d.emitted = true
	}
	return sb.String()
}

// decodePiece is SentencePiece's DecodeSentencePiece for a non-byte piece:
// it returns the surface text and whether a leading U+2581 was consumed.
func (t *Tokenizer) decodePiece(id int, isBosWS bool) (string, bool) {
	switch t.types[id] {
	case typeControl:
		return "", false
	case typeUnknown:
		return t.unkSurface, false
	}
	piece := t.pieces[id]
	consumed := false
	if isBosWS && (t.addDummyPrefix || t.removeExtraWhitespaces) {
		if strings.HasPrefix(piece, spaceSymbol) {
			piece = piece[len(spaceSymbol):]
			consumed = true
		}
		if t.removeExtraWhitespaces {
			consumed = false
		}
	}
	return strings.ReplaceAll(piece, spaceSymbol, " "), consumed
}
