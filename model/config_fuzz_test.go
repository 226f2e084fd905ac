package model

import (
	"os"
	"path/filepath"
	"testing"
)

// addConfigSeeds adds the fixture configs as fuzz seeds (the committed
// corpus under testdata/fuzz adds broken variants).
func addConfigSeeds(f *testing.F, pattern string) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "config", pattern))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// checkParsed states what a successful parse guarantees to the loader.
func checkParsed(t *testing.T, c Config, err error) {
	if err != nil {
		return
	}
	if verr := c.Validate(); verr != nil {
		t.Fatalf("parse succeeded but Validate fails: %v (%+v)", verr, c)
	}
	if c.NHeads%c.NKVHeads != 0 || c.HeadDim%2 != 0 || c.BOS >= c.VocabSize || c.EOS >= c.VocabSize {
		t.Fatalf("inconsistent config accepted: %+v", c)
	}
}

// FuzzParseHFConfig: arbitrary config.json text must parse or fail cleanly,
// never panic, and anything accepted must be valid.
func FuzzParseHFConfig(f *testing.F) {
	addConfigSeeds(f, "*.config.json")
	f.Add([]byte(`{"model_type":"llama","hidden_size":64,"intermediate_size":128,"num_hidden_layers":1,"num_attention_heads":4,"vocab_size":300,"eos_token_id":[7,2]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseHFConfig(data)
		checkParsed(t, c, err)
		if err == nil && c.Format != FormatHF {
			t.Fatalf("Format = %v", c.Format)
		}
	})
}

// FuzzParseParams: the same for params.json.
func FuzzParseParams(f *testing.F) {
	addConfigSeeds(f, "*.params.json")
	f.Add([]byte(`{"dim":64,"n_layers":1,"hidden_dim":96,"n_heads":2,"vocab_size":10,"sliding_window":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseParams(data)
		checkParsed(t, c, err)
		if err == nil && c.Format != FormatNative {
			t.Fatalf("Format = %v", c.Format)
		}
	})
}
