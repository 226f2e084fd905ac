package tokenizer

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// Encode converts text to token ids exactly as SentencePiece's
// SentencePieceProcessor::Encode does (no BOS/EOS added): normalization
// (spaces to U+2581, dummy prefix, malformed UTF-8 bytes to U+FFFD), BPE
// merges by highest score with ties to the leftmost pair, then byte fallback
// (or <unk>) for symbols outside the vocabulary.
func (t *Tokenizer) Encode(text string) []int {
	return t.encode(text, true)
}

// encode is Encode with the dummy prefix optional: EncodeSegments omits it
// for text that follows a control token, as Hugging Face tokenizers do.
func (t *Tokenizer) encode(text string, prefix bool) []int {
	norm := t.normalize(text, prefix)
	if norm == "" {
		return []int{}
	}
	e := encoder{t: t, out: make([]int, 0, len(norm)/3+4)}
	if (!t.chunking && !t.alwaysBreakSpace) || t.hasUnused {
		e.chunk(norm)
		return e.out
	}
	if t.chunking {
		e.cache = make(map[string]cacheEntry, min(len(norm)/32+16, 1<<14))
	}
	// Cut before every U+2581 that no piece joins to the preceding
	// character; each chunk is then merged independently, with the same
	// result as merging the whole string.
	start := 0
	var prev rune = -1
	for i := 0; i < len(norm); {
		c := norm[i]
		if c < utf8.RuneSelf {
			prev = rune(c)
			i++
			continue
		}
		if c == 0xE2 && i+2 < len(norm) && norm[i+1] == 0x96 && norm[i+2] == 0x81 {
			if i > start && (t.alwaysBreakSpace || !t.noBreakBeforeSpace[prev]) {
				e.chunk(norm[start:i])
				start = i
			}
			prev = '\u2581'
			i += 3
			continue
		}
		r, sz := utf8.DecodeRuneInString(norm[i:])
		prev = r
		i += sz
	}
	e.chunk(norm[start:])
	return e.out
}

// normalize applies the identity normalizer of SentencePiece
// (normalizer.cc Normalize without a charsmap): optional removal of extra
// white space, the dummy prefix, ' ' -> U+2581, and U+FFFD for each byte of
// malformed UTF-8. User-defined pieces are copied as they are.
func (t *Tokenizer) normalize(text string, prefix bool) string {
	if text == "" {
		return ""
	}
	if t.removeExtraWhitespaces {
		text = strings.TrimLeft(text, " ")
		if text == "" {
			return ""
		}
	}
	space := " "
	if t.escapeWhitespaces {
		space = spaceSymbol
	}
	buf := make([]byte, 0, len(text)+len(text)/2+8)
	if prefix && t.addDummyPrefix && !(t.prefixUnlessSpace && (text[0] == ' ' || strings.HasPrefix(text, spaceSymbol))) {
		buf = append(buf, space...)
	}
	isPrevSpace := t.removeExtraWhitespaces
	for i := 0; i < len(text); {
		c := text[i]
		// Fast path: plain ASCII other than a space.
		if c < utf8.RuneSelf && c != ' ' && !t.userFirst[c] {
			buf = append(buf, c)
			isPrevSpace = false
			i++
			continue
		}
		var sp string
		consumed := 0
		if t.userDefined != nil {
			if m := t.matchUserDefined(text[i:]); m > 0 {
				sp, consumed = text[i:i+m], m
			}
		}
		if consumed == 0 {
			if c < utf8.RuneSelf {
				sp, consumed = text[i:i+1], 1
			} else {
				r, sz := utf8.DecodeRuneInString(text[i:])
				if r == utf8.RuneError && sz == 1 {
					sp, consumed = "\uFFFD", 1
				} else {
					sp, consumed = text[i:i+sz], sz
				}
			}
		}
		if isPrevSpace {
			sp = strings.TrimLeft(sp, " ")
		}
		if sp != "" {
			for j := 0; j < len(sp); j++ {
				if sp[j] == ' ' && t.escapeWhitespaces {
					buf = append(buf, spaceSymbol...)
				} else {
					buf = append(buf, sp[j])
				}
			}
			isPrevSpace = sp[len(sp)-1] == ' '
		}
		i += consumed
		if !t.removeExtraWhitespaces {
			isPrevSpace = false
		}
	}
	if t.removeExtraWhitespaces {
		for bytes.HasSuffix(buf, []byte(space)) {
			buf = buf[:len(buf)-len(space)]
		}
	}
	return string(buf)
}

// matchUserDefined returns the length of the longest USER_DEFINED piece
// that prefixes s, or 0.
func (t *Tokenizer) matchUserDefined(s string) int {
	if s == "" {
		return 0
	}
	if !t.userFirst[s[0]] {
		return 0
	}
	for _, p := range t.userDefined[s[0]] {
		if strings.HasPrefix(s, p) {
			return len(p)
		}
	}
	return 0
}

// oneCharLen is SentencePiece's string_util::OneCharLen: the UTF-8 length
// implied by the lead byte.
func oneCharLen(c byte) int {
	return int("\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x02\x02\x03\x04"[c>>4])
}

// symbol is one node of the doubly linked list BPE merges over; [start,
// end) indexes the chunk text. A merged-away symbol has start == end.
type symbol struct {
	start, end int32
	prev, next int32
	id         int32 // mergeable piece id, or -1 when the text is not a piece
	frozen     bool  // user-defined piece: never merged
}

// candidate is a possible merge of symbols left and right into id.
type candidate struct {
	score       float32
	left, right int32
	size        int32
	id          int32
}

type cacheEntry struct{ off, n int32 }

// encoder holds the per-call scratch state of Encode.
type encoder struct {
	t       *Tokenizer
	out     []int
	syms    []symbol
	heap    []candidate
	cache   map[string]cacheEntry
	arena   []int32
	scratch []int32
	rev     map[string][2]string
}

// maxCachedChunk bounds the chunk length kept in the per-call cache: long
// chunks rarely repeat.
const maxCachedChunk = 64

// chunk encodes one independent piece of normalized text and appends its
// ids to e.out.
func (e *encoder) chunk(s string) {
	if e.cache != nil && len(s) <= maxCachedChunk {
		if c, ok := e.cache[s]; ok {
			e.appendIDs(e.arena[c.off : c.off+c.n])
			return
		}
		e.scratch = e.bpe(s, e.scratch[:0])
		off := int32(len(e.arena))
		e.arena = append(e.arena, e.scratch...)
		e.cache[s] = cacheEntry{off: off, n: int32(len(e.scratch))}
		e.appendIDs(e.scratch)
		return
	}
	e.scratch = e.bpe(s, e.scratch[:0])
	e.appendIDs(e.scratch)
}

// appendIDs appends ids to the output. Without byte fallback SentencePiece
// folds a run of unknown pieces into one <unk>.
func (e *encoder) appendIDs(ids []int32) {
	t := e.t
	for _, id := range ids {
		if !t.byteFallback && int(id) == t.unk && len(e.out) > 0 && e.out[len(e.out)-1] == t.unk {
			continue
		}
		e.out = append(e.out, int(id))
	}
}

// bpe runs SentencePiece's BPE (bpe_model.cc Model::Encode) over s and
// appends the resulting ids to out.
func (e *encoder) bpe(s string, out []int32) []int32 {
	t := e.t
	syms := e.syms[:0]
	for i := 0; i < len(s); {
		n := 0
		frozen := false
		if t.userDefined != nil {
			if m := t.matchUserDefined(s[i:]); m > 0 {
				n, frozen = m, true
			}
		}
		if n == 0 {
			n = min(oneCharLen(s[i]), len(s)-i)
		}
		id := int32(-1)
		if frozen {
			id = t.mergeable[s[i:i+n]]
		} else if c := s[i]; c < utf8.RuneSelf {
			id = t.runeID[c]
		} else if r, sz := utf8.DecodeRuneInString(s[i : i+n]); sz == n && r < 0x10000 && r != utf8.RuneError {
			id = t.runeID[r]
		} else if v, ok := t.mergeable[s[i:i+n]]; ok {
			id = v
		}
		k := int32(len(syms))
		syms = append(syms, symbol{start: int32(i), end: int32(i + n), prev: k - 1, next: k + 1, id: id, frozen: frozen})
		i += n
	}
	if len(syms) == 0 {
		return out
	}
	syms[len(syms)-1].next = -1
	e.syms = syms

	if len(syms) <= smallChunk && !t.hasUnused && !t.heapOnly {
		e.mergeSmall(s)
	} else {
		e.mergeHeap(s)
	}
	for i := int32(0); i != -1; i = e.syms[i].next {
		sym := e.syms[i]
		w := s[sym.start:sym.end]
		if sym.id >= 0 {
			oid := t.outID[sym.id]
			if t.types[oid] == typeUnused {
				out = e.resegment(w, out)
			} else {
				out = t.emit(oid, w, out)
			}
			continue
		}
		out = e.resegment(w, out)
	}
	return out
}

// smallChunk is the symbol count up to which mergeSmall's quadratic scan
// beats the heap (typical words have well under 16 characters).
const smallChunk = 16

// mergeSmall performs the same merges as mergeHeap for a short chunk by
// scanning the current adjacent pairs for the best one (highest score,
// leftmost on ties). The heap's valid entries are exactly these pairs, so
// the merge order is identical.
func (e *encoder) mergeSmall(s string) {
	var cand [smallChunk]candidate
	var ok [smallChunk]bool
	syms := e.syms
	for i := 0; i+1 < len(syms); i++ {
		cand[i], ok[i] = e.lookup(s, int32(i), int32(i+1))
	}
	for {
		best := int32(-1)
		for i := int32(0); i != -1; i = syms[i].next {
			if ok[i] && (best < 0 || cand[i].score > cand[best].score) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		l := &syms[best]
		r := &syms[l.next]
		l.end = r.end
		l.id = cand[best].id
		ok[l.next] = false
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = best
		}
		r.end = r.start
		if l.prev >= 0 {
			cand[l.prev], ok[l.prev] = e.lookup(s, l.prev, best)
		}
		if l.next >= 0 {
			cand[best], ok[best] = e.lookup(s, best, l.next)
		} else {
			ok[best] = false
		}
	}
}

// mergeHeap is SentencePiece's merge loop: a priority queue of candidate
// pairs with lazy deletion of stale entries, O(n log n) in the chunk length.
func (e *encoder) mergeHeap(s string) {
	e.heap = e.heap[:0]
	for i := 1; i < len(e.syms); i++ {
		e.maybeAdd(s, int32(i-1), int32(i))
	}
	for len(e.heap) > 0 {
		top := e.pop()
		l, r := &e.syms[top.left], &e.syms[top.right]
		// Stale candidate: one side was merged away or has grown since.
		if l.start == l.end || r.start == r.end || (l.end-l.start)+(r.end-r.start) != top.size {
			continue
		}
		l.end = r.end
		l.id = top.id
		l.next = r.next
		if r.next >= 0 {
			e.syms[r.next].prev = top.left
		}
		r.end = r.start
		e.maybeAdd(s, l.prev, top.left)
		e.maybeAdd(s, top.left, l.next)
	}
}

// lookup returns the merge of adjacent symbols l and r, if they form a
// piece (SentencePiece's MaybeAddNewSymbolPair test).
func (e *encoder) lookup(s string, l, r int32) (candidate, bool) {
	t := e.t
	ls, rs := &e.syms[l], &e.syms[r]
	if ls.frozen || rs.frozen {
		return candidate{}, false
	}
	var m pairMerge
	var ok bool
	if ls.id >= 0 && rs.id >= 0 && !(t.longPieces && rs.end-ls.start > maxPairPiece) {
		m, ok = t.pairs.get(pairKey(ls.id, rs.id))
	} else if t.stringMerges || ls.id >= 0 && rs.id >= 0 {
		var id int32
		id, ok = t.mergeable[s[ls.start:rs.end]]
		if ok {
			m = pairMerge{id: id, score: t.scores[id]}
		}
	}
	if !ok {
		return candidate{}, false
	}
	return candidate{score: m.score, left: l, right: r, size: rs.end - ls.start, id: m.id}, true
}

// maybeAdd pushes the merge of symbols l and r when it forms a piece.
func (e *encoder) maybeAdd(s string, l, r int32) {
	if l < 0 || r < 0 {
		return
	}
	c, ok := e.lookup(s, l, r)
	if !ok {
		return
	}
	e.push(c)
	t := e.t
	if t.hasUnused && t.types[c.id] == typeUnused {
		ls, rs := &e.syms[l], &e.syms[r]
		// Remember how an UNUSED piece was formed so it can be split back.
		if e.rev == nil {
			e.rev = make(map[string][2]string)
		}
		e.rev[s[ls.start:rs.end]] = [2]string{s[ls.start:ls.end], s[rs.start:rs.end]}
	}
}

// resegment splits UNUSED pieces back into the pieces they were merged
// from (SentencePiece's resegment), and maps text to its id.
func (e *encoder) resegment(w string, out []int32) []int32 {
	t := e.t
	id := t.PieceID(w)
	if id < 0 {
		return t.emit(int32(t.unk), w, out)
	}
	if t.types[id] != typeUnused {
		return t.emit(int32(id), w, out)
	}
	p, ok := e.rev[w]
	if !ok {
		return t.emit(int32(id), w, out)
	}
	out = e.resegment(p[0], out)
	return e.resegment(p[1], out)
}

// emit appends id for piece text w, replacing an unknown piece by its
// UTF-8 bytes when byte fallback is on.
//
// A vocabulary without an unknown piece (possible in tokenizer.json) drops
// what it cannot represent, as HF's BPE does without unk_token.
func (t *Tokenizer) emit(id int32, w string, out []int32) []int32 {
	if id < 0 {
		if !t.byteFallback {
			return out
		}
	} else if t.types[id] != typeUnknown || !t.byteFallback {
		return append(out, id)
	}
	for i := 0; i < len(w); i++ {
		b := t.byteID[w[i]]
		if b < 0 {
			b = int32(t.unk)
		}
		if b >= 0 {
			out = append(out, b)
		}
	}
	return out
}

// less orders candidates: higher score first, then the leftmost.
func less(a, b *candidate) bool {
	return a.score > b.score || (a.score == b.score && a.left < b.left)
}

func (e *encoder) push(c candidate) {
	h := append(e.heap, c)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(&h[i], &h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	e.heap = h
}

func (e *encoder) pop() candidate {
	h := e.heap
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(h) {
			break
		}
		m := l
		if r := l + 1; r < len(h) && less(&h[r], &h[l]) {
			m = r
		}
		if !less(&h[m], &h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	e.heap = h
	return top
}
