// Package tokenizer implements SentencePiece-compatible BPE tokenization for
// Llama / Mistral checkpoints: it reads a SentencePiece tokenizer.model (or an
// HF tokenizer.json of the same kind), encodes text to ids exactly as the
// SentencePiece library does, decodes ids back to text (one-shot and
// streaming), and renders Mistral Instruct chat prompts.
package tokenizer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// spaceSymbol is U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's visible
// stand-in for a space.
const spaceSymbol = "\u2581"

// defaultUnkSurface is what SentencePiece prints for <unk> (U+2047 between spaces).
const defaultUnkSurface = " \u2047 "

// Tokenizer is a loaded BPE vocabulary with its normalization settings.
// It is safe for concurrent use: Encode and Decode keep their state per call.
type Tokenizer struct {
	kind   string
	pieces []string
	scores []float32
	types  []pieceType

	// mergeable holds the pieces BPE may produce (NORMAL, USER_DEFINED,
	// UNUSED), reserved the others (CONTROL, UNKNOWN, BYTE), exactly the
	// split SentencePiece makes between pieces_ and reserved_id_map_.
	mergeable map[string]int32
	reserved  map[string]int32

	// pairs maps (left id, right id) of two mergeable pieces to the merge
	// they form. For SentencePiece models it is derived from the vocabulary
	// (every split of a piece into two pieces); for tokenizer.json it is the
	// merges list, with score = -rank.
	pairs *pairTable
	// stringMerges allows merging symbols that are not pieces themselves
	// (characters absent from the vocabulary) by looking up the
	// concatenation, as SentencePiece does. False for tokenizer.json, whose
	// merges are only between vocabulary entries.
	stringMerges bool
	// longPieces is set when some piece is longer than maxPairPiece bytes
	// and so is missing from pairs; merges that long are looked up by
	// string.
	longPieces bool

	// outID is the id SentencePiece reports for a mergeable piece: its
	// PieceToId looks in the reserved pieces first.
	outID []int32

	// runeID gives the mergeable id of single-character pieces in the BMP
	// (-1 when absent) so the initial split needs no map lookups.
	runeID []int32

	byteID [256]int32

	// surface is each piece as decoded text (U+2581 -> ' '); byteVal the
	// byte of each BYTE piece.
	surface []string
	byteVal []byte

	unk, bos, eos int
	// addBOS/addEOS: whether a prompt gets BOS/EOS (GGUF add_bos_token /
	// add_eos_token; SentencePiece and tokenizer.json files: BOS only).
	addBOS, addEOS bool
	byteFallback   bool
	hasUnused      bool

	addDummyPrefix         bool
	removeExtraWhitespaces bool
	escapeWhitespaces      bool
	prefixUnlessSpace      bool // HF Metaspace: no dummy prefix when the text starts with a space
	unkSurface             string

	// userDefined lists USER_DEFINED pieces by first byte, longest first,
	// for the greedy whole-symbol match SentencePiece's PrefixMatcher does.
	userDefined map[byte][]string
	userFirst   [256]bool // the first bytes of user-defined pieces
	maxUserLen  int

	// specialLits lists the CONTROL and UNKNOWN pieces by first byte,
	// longest first, for SplitSpecial.
	specialLits map[byte][]string

	// Chunking: BPE merges never cross a position that no piece spans, so
	// the normalized text is cut before a U+2581 whose preceding character
	// never precedes U+2581 inside a piece (noBreakBeforeSpace). Each chunk
	// is merged on its own and cached, which keeps Encode linear in practice.
	chunking           bool
	heapOnly           bool // tests: always use SentencePiece's heap loop
	alwaysBreakSpace   bool
	noBreakBeforeSpace map[rune]bool
}

// pairMerge is the result of merging two adjacent symbols.
type pairMerge struct {
	id    int32
	score float32
}

// maxPairPiece bounds the length of pieces entered in the pair table.
// Real vocabularies stay far below it.
const maxPairPiece = 256

func pairKey(l, r int32) uint64 { return uint64(uint32(l))<<32 | uint64(uint32(r)) }

// Load reads a tokenizer from path: a tokenizer.model (SentencePiece), a
// tokenizer.json (Hugging Face), or a directory holding one of them
// (tokenizer.model, tokenizer.model.v1, tokenizer.model.v3 are preferred
// over tokenizer.json).
func Load(path string) (*Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	if st.IsDir() {
		found := ""
		for _, name := range []string{"tokenizer.model", "tokenizer.model.v1", "tokenizer.model.v3", "tokenizer.json"} {
			p := filepath.Join(path, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				found = p
				break
			}
		}
		if found == "" {
			return nil, fmt.Errorf("tokenizer: %s: no tokenizer.model or tokenizer.json in the directory", path)
		}
		path = found
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	var t *Tokenizer
	if strings.HasSuffix(path, ".json") || looksLikeJSON(data) {
		t, err = FromJSON(data)
	} else {
		t, err = FromModelProto(data)
	}
	if err != nil {
		// The inner error already says "tokenizer: ..."; name the file too.
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// looksLikeJSON reports whether data starts (after white space) with '{',
// which a ModelProto never does (its first byte is a field tag, 0x0a).
func looksLikeJSON(data []byte) bool {
	for _, c := range data {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}

// FromModelProto builds a tokenizer from the bytes of a SentencePiece
// ModelProto (the content of tokenizer.model). Only BPE models are accepted.
func FromModelProto(data []byte) (*Tokenizer, error) {
	m, err := parseModelProto(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: malformed SentencePiece model: %w", err)
	}
	if m.modelType != modelBPE {
		name := modelTypeNames[m.modelType]
		if name == "" {
			name = fmt.Sprintf("type %d", m.modelType)
		}
		return nil, fmt.Errorf("tokenizer: SentencePiece model_type is %s; only BPE models are supported", name)
	}
	if len(m.pieces) == 0 {
		return nil, errors.New("tokenizer: SentencePiece model has no pieces")
	}
	if len(m.precompiledCharsmap) != 0 {
		return nil, fmt.Errorf("tokenizer: normalizer %q uses a precompiled_charsmap, which is not supported (identity normalizers only)", m.normalizerName)
	}
	if m.treatWhitespaceSuffix {
		return nil, errors.New("tokenizer: treat_whitespace_as_suffix models are not supported")
	}
	for _, sp := range m.explicitIDs {
		if sp.id < -1 || sp.id >= len(m.pieces) {
			return nil, fmt.Errorf("tokenizer: trainer_spec.%s %d is out of range (the model has %d pieces)", sp.name, sp.id, len(m.pieces))
		}
	}
	t := &Tokenizer{
		kind:                   "sentencepiece-bpe",
		byteFallback:           m.byteFallback,
		addDummyPrefix:         m.addDummyPrefix,
		removeExtraWhitespaces: m.removeExtraWhitespaces,
		escapeWhitespaces:      m.escapeWhitespaces,
		unkSurface:             defaultUnkSurface,
		stringMerges:           true,
		addBOS:                 true,
	}
	if m.hasUnkSurface {
		t.unkSurface = m.unkSurface
	}
	n := len(m.pieces)
	t.pieces = make([]string, n)
	t.scores = make([]float32, n)
	t.types = make([]pieceType, n)
	for i, p := range m.pieces {
		t.pieces[i], t.scores[i], t.types[i] = p.piece, p.score, p.typ
	}
	if err := t.index(); err != nil {
		return nil, err
	}
	if t.unk < 0 {
		return nil, errors.New("tokenizer: SentencePiece model has no UNKNOWN piece (unk is not defined)")
	}
	// SentencePiece takes bos/eos from the trainer_spec ids when they name a
	// control piece; fall back to the conventional piece names.
	t.bos = t.specialID(m.bosID, "<s>")
	t.eos = t.specialID(m.eosID, "</s>")
	t.buildPairsFromVocab()
	t.finish()
	return t, nil
}

// specialID returns id if it names a CONTROL piece, else the id of the
// control piece named name, else -1.
func (t *Tokenizer) specialID(id int, name string) int {
	if id >= 0 && id < len(t.pieces) && t.types[id] == typeControl {
		return id
	}
	if r, ok := t.reserved[name]; ok && t.types[r] == typeControl {
		return int(r)
	}
	return -1
}

// index builds the piece maps and validates the vocabulary.
func (t *Tokenizer) index() error {
	n := len(t.pieces)
	t.mergeable = make(map[string]int32, n)
	t.reserved = make(map[string]int32)
	t.unk = -1
	for i := range t.byteID {
		t.byteID[i] = -1
	}
	for i, p := range t.pieces {
		typ := t.types[i]
		if p == "" {
			return fmt.Errorf("tokenizer: piece %d is empty", i)
		}
		isNormal := typ == typeNormal || typ == typeUserDefined || typ == typeUnused
		target := t.reserved
		if isNormal {
			target = t.mergeable
		}
		if _, dup := target[p]; dup {
			return fmt.Errorf("tokenizer: piece %d %q is already defined", i, p)
		}
		target[p] = int32(i)
		switch typ {
		case typeUnknown:
			if t.unk >= 0 {
				return fmt.Errorf("tokenizer: piece %d %q: more than one UNKNOWN piece", i, p)
			}
			t.unk = i
		case typeByte:
			b, ok := pieceToByte(p)
			if !ok {
				return fmt.Errorf("tokenizer: BYTE piece %d %q is not of the form <0xNN>", i, p)
			}
			if !t.byteFallback {
				return fmt.Errorf("tokenizer: BYTE piece %d %q present but byte_fallback is off", i, p)
			}
			t.byteID[b] = int32(i)
		case typeUnused:
			t.hasUnused = true
		case typeUserDefined:
			if t.userDefined == nil {
				t.userDefined = make(map[byte][]string)
			}
			t.userDefined[p[0]] = append(t.userDefined[p[0]], p)
			t.userFirst[p[0]] = true
			t.maxUserLen = max(t.maxUserLen, len(p))
		}
	}
	for k, list := range t.userDefined {
		// Longest first, so the first match is the longest one.
		sortByLenDesc(list)
		t.userDefined[k] = list
	}
	return nil
}

func sortByLenDesc(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && len(s[j]) > len(s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// pieceToByte parses "<0xNN>".
func pieceToByte(p string) (byte, bool) {
	if len(p) != 6 || p[0] != '<' || p[1] != '0' || p[2] != 'x' || p[5] != '>' {
		return 0, false
	}
	hi, ok1 := hexVal(p[3])
	lo, ok2 := hexVal(p[4])
	if !ok1 || !ok2 {
		return 0, false
	}
	return hi<<4 | lo, true
}

func hexVal(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// buildPairsFromVocab enumerates, for every mergeable piece, its splits into
// two mergeable pieces. SentencePiece merges two adjacent symbols whenever
// their concatenation is a piece; when both symbols are pieces this table
// answers that question with one integer-keyed lookup.
func (t *Tokenizer) buildPairsFromVocab() {
	t.pairs = newPairTable(len(t.mergeable) * 2)
	for p, id := range t.mergeable {
		if len(p) > maxPairPiece {
			// Enumerating the splits of a long piece costs O(len^2);
			// merges into such pieces use the string lookup instead.
			t.longPieces = true
			continue
		}
		for k := 0; k < len(p); {
			_, sz := utf8.DecodeRuneInString(p[k:])
			k += sz
			if k >= len(p) {
				break
			}
			l, ok1 := t.mergeable[p[:k]]
			r, ok2 := t.mergeable[p[k:]]
			if ok1 && ok2 {
				t.pairs.putIfAbsent(pairKey(l, r), pairMerge{id: id, score: t.scores[id]})
			}
		}
	}
}

// finish computes the derived lookup tables shared by both loaders.
func (t *Tokenizer) finish() {
	n := len(t.pieces)
	t.outID = make([]int32, n)
	for i := range t.outID {
		t.outID[i] = int32(i)
		if r, ok := t.reserved[t.pieces[i]]; ok {
			t.outID[i] = r
		}
	}
	t.surface = make([]string, n)
	t.byteVal = make([]byte, n)
	for i, p := range t.pieces {
		t.surface[i] = strings.ReplaceAll(p, spaceSymbol, " ")
		if t.types[i] == typeByte {
			t.byteVal[i], _ = pieceToByte(p)
		}
	}
	t.runeID = make([]int32, 0x10000)
	for i := range t.runeID {
		t.runeID[i] = -1
	}
	for p, id := range t.mergeable {
		r, sz := utf8.DecodeRuneInString(p)
		if sz == len(p) && r < 0x10000 && !(r == utf8.RuneError && sz == 1) {
			t.runeID[r] = id
		}
	}
	t.noBreakBeforeSpace = make(map[rune]bool)
	for p := range t.mergeable {
		for k := 1; k < len(p); k++ {
			if strings.HasPrefix(p[k:], spaceSymbol) {
				prev, _ := utf8.DecodeLastRuneInString(p[:k])
				t.noBreakBeforeSpace[prev] = true
			}
		}
	}
	// Chunk caching relies on a chunk's encoding depending on its text
	// alone; a greedy user-defined match could reach across a cut, which
	// is always made before a U+2581, unless no user-defined piece holds a
	// space after its first character (Mistral v3's [REFERENCE_DOC_n]).
	t.chunking = t.escapeWhitespaces
	for _, list := range t.userDefined {
		for _, p := range list {
			_, sz := utf8.DecodeRuneInString(p)
			if strings.Contains(p[sz:], spaceSymbol) || strings.Contains(p, " ") {
				t.chunking = false
			}
		}
	}
	t.indexSpecial()
}

// Kind names the tokenizer family, for `gale info`.
func (t *Tokenizer) Kind() string { return t.kind }

// VocabSize is the number of pieces (ids are 0..VocabSize()-1).
func (t *Tokenizer) VocabSize() int { return len(t.pieces) }

// BOS is the beginning-of-sequence id, or -1 when the model has none.
func (t *Tokenizer) BOS() int { return t.bos }

// EOS is the end-of-sequence id, or -1 when the model has none.
func (t *Tokenizer) EOS() int { return t.eos }

// Unk is the id of the unknown piece, or -1 when the model has none.
func (t *Tokenizer) Unk() int { return t.unk }

// Piece returns the raw vocabulary entry for id ("" when out of range).
func (t *Tokenizer) Piece(id int) string {
	if id < 0 || id >= len(t.pieces) {
		return ""
	}
	return t.pieces[id]
}

// Score returns the piece score (merge priority) of id, 0 when out of range.
func (t *Tokenizer) Score(id int) float32 {
	if id < 0 || id >= len(t.scores) {
		return 0
	}
	return t.scores[id]
}

// IsControl reports whether id is a control token (<s>, </s>, ...), which
// decodes to nothing and is never produced by Encode.
func (t *Tokenizer) IsControl(id int) bool {
	return id >= 0 && id < len(t.types) && t.types[id] == typeControl
}

// IsByte reports whether id is a byte-fallback piece <0xNN>.
func (t *Tokenizer) IsByte(id int) bool {
	return id >= 0 && id < len(t.types) && t.types[id] == typeByte
}

// PieceID returns the id of a piece string as SentencePiece's PieceToId
// does (reserved pieces first), or -1 when the vocabulary lacks it.
func (t *Tokenizer) PieceID(piece string) int {
	if id, ok := t.reserved[piece]; ok {
		return int(id)
	}
	if id, ok := t.mergeable[piece]; ok {
		return int(id)
	}
	return -1
}
