package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gale-ai/gale/model"
	"github.com/gale-ai/gale/tensor"
)

// infoJSON is info's --json output.
type infoJSON struct {
	Name           string            `json:"name"`
	FoundIn        string            `json:"found_in,omitempty"`       // where -m's name was found (internal/hub)
	ModelDefaults  string            `json:"model_defaults,omitempty"` // an ollama model's params and system layers
	Arch           string            `json:"architecture"`
	Format         string            `json:"format"`
	NParams        int64             `json:"n_params"`
	DTypes         []string          `json:"dtypes"`
	TypeMix        []model.TypeCount `json:"type_mix"`
	FileType       string            `json:"file_type,omitempty"`
	SizeBytes      int64             `json:"size_bytes"`
	ContextLength  int               `json:"context_length"`
	SlidingWindow  int               `json:"sliding_window"` // 0 = full attention
	Dim            int               `json:"dim"`
	Layers         int               `json:"n_layers"`
	Heads          int               `json:"n_heads"`
	KVHeads        int               `json:"n_kv_heads"`
	HeadDim        int               `json:"head_dim"`
	FFNDim         int               `json:"ffn_dim"`
	RopeTheta      float64           `json:"rope_theta"`
	NormEps        float64           `json:"norm_eps"`
	VocabSize      int               `json:"vocab_size"`
	TiedEmbeddings bool              `json:"tied_embeddings"`
	Tokenizer      string            `json:"tokenizer"` // kind, or "none"
	BOS            int               `json:"bos_id"`
	EOS            int               `json:"eos_id"`
	BOSPiece       string            `json:"bos_piece,omitempty"`
	EOSPiece       string            `json:"eos_piece,omitempty"`
	Kernels        string            `json:"kernels"`
	Threads        int               `json:"threads"`
	Tensors        []tensorEntry     `json:"tensors,omitempty"`
}

// tensorEntry is one line of info --tensors.
type tensorEntry struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	Bytes int64  `json:"bytes"`
	File  string `json:"file,omitempty"`
}

func (a *app) newInfoCmd() *cobra.Command {
	var mf modelFlags
	var jsonOut, tensors bool
	cmd := &cobra.Command{
		Use:   "info [flags]",
		Short: "Describe a model: shape, dtypes, size, tokenizer, and the kernels and threads that would run it",
		Args:  cobra.NoArgs,
		RunE: wrapRun(func(cmd *cobra.Command, args []string) error {
			if err := mf.validate(); err != nil {
				return err
			}
			m, _, err := a.loadModel(&mf)
			if err != nil {
				return err
			}
			defer m.Close()
			info := describe(m, mf.threads, tensors)
			info.FoundIn = mf.foundIn()
			info.ModelDefaults = mf.defaultsLine()
			if jsonOut {
				return a.printJSON(info)
			}
			a.printInfo(info)
			return nil
		}),
	}
	fs := cmd.Flags()
	fs.StringVarP(&mf.path, "model", "m", "", "model: a directory or .gguf file, org/name[:QUANT] from the Hugging Face cache, or an ollama name[:tag] (default: the embedded stories260k model)")
	fs.BoolVar(&mf.check, "check", false, "scan every weight for NaN/Inf")
	fs.IntVarP(&mf.threads, "threads", "t", 0, "thread count to report (0 = physical cores)")
	mf.registerWindow(fs)
	fs.BoolVar(&tensors, "tensors", false, "list every tensor with dtype and shape")
	fs.BoolVar(&jsonOut, "json", false, "print JSON")
	return cmd
}

func describe(m *model.Model, threads int, withTensors bool) infoJSON {
	c := m.Config
	if threads <= 0 {
		threads = tensor.DefaultThreads()
	}
	info := infoJSON{
		Name: m.Name, Arch: c.Arch, Format: fmt.Sprint(c.Format),
		NParams: m.NumParams(), DTypes: m.DTypes(), TypeMix: m.TypeMix(), FileType: c.DType, SizeBytes: m.SizeBytes(),
		ContextLength: c.MaxSeqLen, SlidingWindow: c.SlidingWindow,
		Dim: c.Dim, Layers: c.NLayers, Heads: c.NHeads, KVHeads: c.NKVHeads, HeadDim: c.HeadDim, FFNDim: c.FFNDim,
		RopeTheta: c.RopeTheta, NormEps: c.NormEps, VocabSize: c.VocabSize, TiedEmbeddings: c.TiedEmbeddings,
		Tokenizer: "none", BOS: c.BOS, EOS: c.EOS,
		Kernels: kernelLevel(), Threads: threads,
	}
	if t := m.Tokenizer; t != nil {
		info.Tokenizer = t.Kind()
		info.BOS, info.EOS = t.BOS(), t.EOS()
		info.BOSPiece, info.EOSPiece = t.Piece(t.BOS()), t.Piece(t.EOS())
	}
	if withTensors {
		for _, t := range m.Tensors() {
			info.Tensors = append(info.Tensors, tensorEntry{Name: t.Name, DType: t.DType, Shape: t.Shape, Bytes: t.Bytes, File: t.File})
		}
	}
	return info
}

func (a *app) printInfo(i infoJSON) {
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	window := "none (full attention)"
	if i.SlidingWindow > 0 {
		window = fmt.Sprint(i.SlidingWindow)
	}
	special := fmt.Sprintf("BOS %d, EOS %d", i.BOS, i.EOS)
	if i.BOSPiece != "" || i.EOSPiece != "" {
		special = fmt.Sprintf("BOS %d %q, EOS %d %q", i.BOS, i.BOSPiece, i.EOS, i.EOSPiece)
	}
	rows := [][2]string{
		{"model", i.Name},
		{"found in", i.FoundIn},
		{"model defaults", i.ModelDefaults},
		{"architecture", i.Arch},
		{"format", i.Format},
		{"parameters", fmt.Sprintf("%d (%s)", i.NParams, humanCount(i.NParams))},
		{"dtype", dtypeLine(i)},
		{"type mix", typeMixLine(i.TypeMix)},
		{"size", fmt.Sprintf("%d bytes (%.2f GiB)", i.SizeBytes, float64(i.SizeBytes)/(1<<30))},
		{"context", fmt.Sprint(i.ContextLength)},
		{"sliding window", window},
		{"dim", fmt.Sprint(i.Dim)},
		{"layers", fmt.Sprint(i.Layers)},
		{"heads / KV heads", fmt.Sprintf("%d / %d", i.Heads, i.KVHeads)},
		{"head dim", fmt.Sprint(i.HeadDim)},
		{"ffn dim", fmt.Sprint(i.FFNDim)},
		{"rope theta", fmt.Sprint(i.RopeTheta)},
		{"norm eps", fmt.Sprint(i.NormEps)},
		{"vocab", fmt.Sprint(i.VocabSize)},
		{"tied embeddings", fmt.Sprint(i.TiedEmbeddings)},
		{"tokenizer", i.Tokenizer},
		{"special tokens", special},
		{"kernels", i.Kernels},
		{"threads", fmt.Sprint(i.Threads)},
	}
	for _, r := range rows {
		if r[0] == "model defaults" && r[1] == "" {
			continue
		}
		fmt.Fprintf(w, "%s:\t%s\n", r[0], r[1])
	}
	w.Flush()
	if len(i.Tensors) > 0 {
		fmt.Fprintln(a.stdout)
		w = tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "tensor\tdtype\tshape\tbytes\tfile")
		for _, t := range i.Tensors {
			fmt.Fprintf(w, "%s\t%s\t%v\t%d\t%s\n", t.Name, t.DType, t.Shape, t.Bytes, t.File)
		}
		w.Flush()
	}
}

// dtypeLine names the matrices' types, and the file type a GGUF records
// (Q4_K_M mixes Q4_K and Q6_K).
func dtypeLine(i infoJSON) string {
	s := strings.Join(i.DTypes, ", ")
	if i.Format == "gguf" && i.FileType != "" {
		s = i.FileType + " (" + s + ")"
	}
	return s
}

// typeMixLine prints the tensor count per type: "Q4_K 193 tensors, F32 65, Q6_K 33".
func typeMixLine(mix []model.TypeCount) string {
	var parts []string
	for k, c := range mix {
		unit := ""
		if k == 0 {
			unit = " tensors"
		}
		parts = append(parts, fmt.Sprintf("%s %d%s", c.DType, c.Count, unit))
	}
	return strings.Join(parts, ", ")
}

// humanCount prints a parameter count the way model cards do (7.24B, 260K).
func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
