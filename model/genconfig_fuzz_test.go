package model

import "testing"

// FuzzParseGenerationConfig: any generation_config.json gives integer ids
// or an error, never a panic; AddEOSIDs then keeps EOS first, repeats
// out, and rejects ids outside the vocabulary.
func FuzzParseGenerationConfig(f *testing.F) {
	for _, s := range []string{`{"eos_token_id": 2}`, `{"eos_token_id": [2, 32000]}`, `{"eos_token_id": []}`,
		`{"eos_token_id": null}`, `{"eos_token_id": "2"}`, `{"eos_token_id": [2.0, 1e3]}`, `[]`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ids, err := ParseGenerationConfig(data)
		if err != nil {
			return
		}
		c := Config{VocabSize: 1000, EOS: 2}
		if err := c.AddEOSIDs(ids); err != nil {
			for _, id := range ids {
				if id < 0 || id >= c.VocabSize {
					return
				}
			}
			t.Fatalf("AddEOSIDs(%v): %v", ids, err)
		}
		if len(c.EOSIDs) == 0 || c.EOSIDs[0] != 2 {
			t.Fatalf("EOSIDs %v do not start with EOS", c.EOSIDs)
		}
		seen := map[int]bool{}
		for _, id := range c.EOSIDs {
			if seen[id] {
				t.Fatalf("EOSIDs %v repeat %d", c.EOSIDs, id)
			}
			seen[id] = true
		}
	})
}

// TestEOSLists: eos_token_id as a list in config.json sets EOSIDs (EOS is
// the first), and generation_config.json's list adds to it.
func TestEOSLists(t *testing.T) {
	c, err := ParseHFConfig([]byte(`{"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":1,"num_attention_heads":4,
		"vocab_size":300,"eos_token_id":[7,2]}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.EOS != 7 || len(c.EOSIDs) != 2 || c.EOSIDs[1] != 2 {
		t.Fatalf("EOS %d EOSIDs %v", c.EOS, c.EOSIDs)
	}
	ids, err := ParseGenerationConfig([]byte(`{"bos_token_id": 1, "eos_token_id": [2, 9]}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddEOSIDs(ids); err != nil {
		t.Fatal(err)
	}
	if len(c.EOSIDs) != 3 || c.EOSIDs[0] != 7 || c.EOSIDs[1] != 2 || c.EOSIDs[2] != 9 {
		t.Errorf("after generation_config: %v", c.EOSIDs)
	}
	if err := c.AddEOSIDs([]int{300}); err == nil {
		t.Error("id 300 in a vocabulary of 300 accepted")
	}
	if _, err := ParseGenerationConfig([]byte(`{"eos_token_id": [2, "x"]}`)); err == nil {
		t.Error(`eos_token_id [2, "x"] accepted`)
	}
}
