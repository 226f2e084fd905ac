package tokenizer

// TokenType returns the SentencePiece type of id, numbered as GGUF's
// tokenizer.ggml.token_type numbers them (1 normal, 2 unknown, 3 control,
// 4 user-defined, 5 unused, 6 byte); 0 when id is out of range.
func (t *Tokenizer) TokenType(id int) int32 {
	if id < 0 || id >= len(t.types) {
		return 0
	}
	return int32(t.types[id])
}

// Vocabulary returns the tokenizer as GGUF metadata describes one (the
// inverse of FromVocab), for writing GGUF files. Only SentencePiece-BPE
// tokenizers have this form; others report ok false.
func (t *Tokenizer) Vocabulary() (v Vocab, ok bool) {
	if t.kind != "sentencepiece-bpe" {
		return Vocab{}, false
	}
	v = Vocab{Model: "llama", BOS: t.bos, EOS: t.eos, Unk: t.unk, Pad: -1,
		AddBOS: t.addBOS, AddEOS: t.addEOS, AddSpacePrefix: t.addDummyPrefix,
		RemoveExtraWhitespaces: t.removeExtraWhitespaces}
	v.Pieces = append([]string(nil), t.pieces...)
	v.Scores = append([]float32(nil), t.scores...)
	v.Types = make([]int32, len(t.types))
	for i, ty := range t.types {
		v.Types[i] = int32(ty)
	}
	return v, true
}
