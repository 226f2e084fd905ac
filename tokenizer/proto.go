package tokenizer

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The SentencePiece ModelProto is read field by field with protowire rather
// than through generated code: only a handful of fields matter for encoding
// and decoding, and a hand-written reader can report exactly which part of a
// damaged file is wrong. Field numbers are those of sentencepiece_model.proto.

// pieceType mirrors ModelProto.SentencePiece.Type.
type pieceType uint8

const (
	typeNormal      pieceType = 1
	typeUnknown     pieceType = 2
	typeControl     pieceType = 3
	typeUserDefined pieceType = 4
	typeUnused      pieceType = 5
	typeByte        pieceType = 6
)

// Trainer model types (TrainerSpec.ModelType).
const (
	modelUnigram = 1
	modelBPE     = 2
	modelWord    = 3
	modelChar    = 4
)

var modelTypeNames = map[int]string{modelUnigram: "UNIGRAM", modelBPE: "BPE", modelWord: "WORD", modelChar: "CHAR"}

// rawPiece is one ModelProto.SentencePiece.
type rawPiece struct {
	piece string
	score float32
	typ   pieceType
}

// rawModel holds the fields of a ModelProto that the tokenizer uses, with
// the proto defaults applied for absent fields.
type rawModel struct {
	pieces []rawPiece

	modelType              int
	vocabSize              int
	byteFallback           bool
	treatWhitespaceSuffix  bool
	unkID, bosID, eosID    int
	padID                  int
	explicitIDs            []namedID // special ids present in the file
	unkSurface             string
	hasUnkSurface          bool
	normalizerName         string
	precompiledCharsmap    []byte
	addDummyPrefix         bool
	removeExtraWhitespaces bool
	escapeWhitespaces      bool
}

// namedID is a trainer_spec special id with its field name.
type namedID struct {
	name string
	id   int
}

// parseModelProto decodes the SentencePiece ModelProto wire format.
func parseModelProto(data []byte) (*rawModel, error) {
	m := &rawModel{
		modelType:              modelUnigram,
		unkID:                  0,
		bosID:                  1,
		eosID:                  2,
		padID:                  -1,
		addDummyPrefix:         true,
		removeExtraWhitespaces: true,
		escapeWhitespaces:      true,
	}
	if len(data) == 0 {
		return nil, errors.New("empty model file")
	}
	err := walkFields(data, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
		switch num {
		case 1: // pieces
			if typ != protowire.BytesType {
				return fmt.Errorf("field pieces has wire type %d", typ)
			}
			p, err := parsePiece(b)
			if err != nil {
				return fmt.Errorf("piece %d: %w", len(m.pieces), err)
			}
			m.pieces = append(m.pieces, p)
		case 2: // trainer_spec
			if typ != protowire.BytesType {
				return fmt.Errorf("field trainer_spec has wire type %d", typ)
			}
			if err := parseTrainerSpec(b, m); err != nil {
				return fmt.Errorf("trainer_spec: %w", err)
			}
		case 3: // normalizer_spec
			if typ != protowire.BytesType {
				return fmt.Errorf("field normalizer_spec has wire type %d", typ)
			}
			if err := parseNormalizerSpec(b, m); err != nil {
				return fmt.Errorf("normalizer_spec: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// walkFields calls fn for every field of a message. v holds varint and
// fixed-size values, b the payload of length-delimited fields.
func walkFields(data []byte, fn func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error) error {
	for off := 0; off < len(data); {
		num, typ, n := protowire.ConsumeTag(data[off:])
		if n < 0 {
			return fmt.Errorf("bad field tag at byte %d: %v", off, protowire.ParseError(n))
		}
		off += n
		var v uint64
		var b []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(data[off:])
		case protowire.Fixed32Type:
			var x uint32
			x, n = protowire.ConsumeFixed32(data[off:])
			v = uint64(x)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(data[off:])
		case protowire.BytesType:
			b, n = protowire.ConsumeBytes(data[off:])
		default:
			n = protowire.ConsumeFieldValue(num, typ, data[off:])
		}
		if n < 0 {
			return fmt.Errorf("field %d at byte %d: %v (truncated or corrupt)", num, off, protowire.ParseError(n))
		}
		off += n
		if err := fn(num, typ, v, b); err != nil {
			return err
		}
	}
	return nil
}

func parsePiece(data []byte) (rawPiece, error) {
	p := rawPiece{typ: typeNormal}
	err := walkFields(data, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
		switch num {
		case 1:
			if typ != protowire.BytesType {
				return fmt.Errorf("piece string has wire type %d", typ)
			}
			p.piece = string(b)
		case 2:
			if typ != protowire.Fixed32Type {
				return fmt.Errorf("score has wire type %d", typ)
			}
			p.score = math.Float32frombits(uint32(v))
		case 3:
			if typ != protowire.VarintType {
				return fmt.Errorf("type has wire type %d", typ)
			}
			if v < 1 || v > 6 {
				return fmt.Errorf("unknown piece type %d", int64(v))
			}
			p.typ = pieceType(v)
		}
		return nil
	})
	return p, err
}

func varintField(name string, typ protowire.Type) error {
	if typ != protowire.VarintType {
		return fmt.Errorf("%s has wire type %d", name, typ)
	}
	return nil
}

func parseTrainerSpec(data []byte, m *rawModel) error {
	return walkFields(data, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
		switch num {
		case 3:
			if err := varintField("model_type", typ); err != nil {
				return err
			}
			m.modelType = int(int32(v))
		case 4:
			if err := varintField("vocab_size", typ); err != nil {
				return err
			}
			m.vocabSize = int(int32(v))
		case 24:
			if err := varintField("treat_whitespace_as_suffix", typ); err != nil {
				return err
			}
			m.treatWhitespaceSuffix = v != 0
		case 35:
			if err := varintField("byte_fallback", typ); err != nil {
				return err
			}
			m.byteFallback = v != 0
		case 40, 41, 42, 43:
			if err := varintField("special id", typ); err != nil {
				return err
			}
			id := int(int32(v))
			names := map[protowire.Number]string{40: "unk_id", 41: "bos_id", 42: "eos_id", 43: "pad_id"}
			m.explicitIDs = append(m.explicitIDs, namedID{names[num], id})
			switch num {
			case 40:
				m.unkID = id
			case 41:
				m.bosID = id
			case 42:
				m.eosID = id
			case 43:
				m.padID = id
			}
		case 44:
			if typ != protowire.BytesType {
				return fmt.Errorf("unk_surface has wire type %d", typ)
			}
			m.unkSurface = string(b)
			m.hasUnkSurface = true
		}
		return nil
	})
}

func parseNormalizerSpec(data []byte, m *rawModel) error {
	return walkFields(data, func(num protowire.Number, typ protowire.Type, v uint64, b []byte) error {
		switch num {
		case 1:
			if typ != protowire.BytesType {
				return fmt.Errorf("name has wire type %d", typ)
			}
			m.normalizerName = string(b)
		case 2:
			if typ != protowire.BytesType {
				return fmt.Errorf("precompiled_charsmap has wire type %d", typ)
			}
			m.precompiledCharsmap = b
		case 3:
			if err := varintField("add_dummy_prefix", typ); err != nil {
				return err
			}
			m.addDummyPrefix = v != 0
		case 4:
			if err := varintField("remove_extra_whitespaces", typ); err != nil {
				return err
			}
			m.removeExtraWhitespaces = v != 0
		case 5:
			if err := varintField("escape_whitespaces", typ); err != nil {
				return err
			}
			m.escapeWhitespaces = v != 0
		}
		return nil
	})
}
