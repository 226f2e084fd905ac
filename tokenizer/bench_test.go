package tokenizer

import (
	"math/rand"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// syllables build French-looking words absent from french.txt, so that the
// benchmark text keeps a realistic share of words seen for the first time
// (a long natural text keeps meeting new words; a repeated excerpt would
// not).
var syllables = []string{"la", "mou", "tion", "ment", "gré", "bois", "cha", "peau", "ri", "vé", "lan", "dou",
	"seau", "ère", "oir", "quet", "ble", "fran", "çois", "eil", "pré", "son", "gnon", "ville", "teau", "cœur",
	"è", "ail", "ard", "ien", "eux", "ou", "pli", "tre", "cri", "vant", "nou", "bes", "ô", "âge"}

// frenchText returns n bytes of French prose: sentences of
// testdata/tokenizer/french.txt (original text written for this project)
// recombined at random, with about one word in seven replaced by an
// invented one.
func frenchText(tb testing.TB, n int) string {
	tb.Helper()
	data, err := os.ReadFile(td + "french.txt")
	if err != nil {
		tb.Fatal(err)
	}
	var sentences []string
	for _, para := range strings.Split(string(data), "\n") {
		for _, s := range strings.SplitAfter(para, ". ") {
			if s = strings.TrimSpace(s); s != "" {
				sentences = append(sentences, s)
			}
		}
	}
	rng := rand.New(rand.NewSource(42))
	var sb strings.Builder
	for k := 0; sb.Len() < n; k++ {
		words := strings.Fields(sentences[rng.Intn(len(sentences))])
		for i, w := range words {
			if i > 0 && rng.Intn(7) == 0 {
				var nw strings.Builder
				for j := 0; j < 2+rng.Intn(3); j++ {
					nw.WriteString(syllables[rng.Intn(len(syllables))])
				}
				w = nw.String()
			}
			if i > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(w)
		}
		if k%6 == 5 {
			sb.WriteByte('\n')
		} else {
			sb.WriteByte(' ')
		}
	}
	s := sb.String()[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

func BenchmarkEncode(b *testing.B) {
	tok := mistral(b)
	for _, size := range []struct {
		name string
		n    int
	}{{"10KB", 10 << 10}, {"100KB", 100 << 10}, {"1MB", 1 << 20}} {
		text := frenchText(b, size.n)
		b.Run(size.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			var ids []int
			c0 := cpuSeconds()
			for i := 0; i < b.N; i++ {
				ids = tok.Encode(text)
			}
			reportCPU(b, c0, len(text))
			b.ReportMetric(float64(len(text))/float64(len(ids)), "bytes/token")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	tok := mistral(b)
	text := frenchText(b, 1<<20)
	ids := tok.Encode(text)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	c0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		_ = tok.Decode(ids)
	}
	reportCPU(b, c0, len(text))
}

// reportCPU adds "MB/cpu-s": bytes processed per second of process CPU
// time (all threads, so GC work counts too).
func reportCPU(b *testing.B, c0 float64, n int) {
	if c := cpuSeconds() - c0; c > 0 && c0 > 0 {
		b.ReportMetric(float64(n)*float64(b.N)/1e6/c, "MB/cpu-s")
	}
}

func BenchmarkStreamDecode(b *testing.B) {
	tok := mistral(b)
	text := frenchText(b, 100<<10)
	ids := tok.Encode(text)
	b.SetBytes(int64(len(text)))
	c0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		d := tok.NewStreamDecoder()
		for _, id := range ids {
			_ = d.Add(id)
		}
		_ = d.Flush()
	}
	reportCPU(b, c0, len(text))
}

// TestBenchTextRoundTrip keeps the benchmark honest: the generated text
// must round-trip, so the benchmark measures real work on valid input.
func TestBenchTextRoundTrip(t *testing.T) {
	tok := mistral(t)
	text := frenchText(t, 100<<10)
	if got := tok.Decode(tok.Encode(text)); got != text {
		t.Fatal("benchmark text does not round-trip")
	}
}

// BenchmarkEncodeV3 is BenchmarkEncode's 100 KB case on the Mistral v0.3
// vocabulary, whose USER_DEFINED [REFERENCE_DOC_n] pieces turn off chunk
// caching (a greedy user-defined match may reach across a chunk cut).
func BenchmarkEncodeV3(b *testing.B) {
	tok := mistralV3(b)
	text := frenchText(b, 100<<10)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	c0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		_ = tok.Encode(text)
	}
	reportCPU(b, c0, len(text))
}
