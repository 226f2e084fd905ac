package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gale-ai/gale/internal/hub"
)

// resolveModel turns -m into a path to load: a path as given, or a name
// in the Hugging Face cache or ollama's store (internal/hub). It reads
// the disk only; downloading is gale pull's job.
func (a *app) resolveModel(f *modelFlags) (*hub.Resolved, error) {
	res, err := hub.Resolve(f.path, hub.Dirs{})
	if err != nil {
		return nil, err
	}
	for _, w := range res.Warnings {
		a.warn("%s", w)
	}
	if f.verbose && res.Source != hub.SourcePath {
		a.infof("gale: %s found in the %s\n", res.Name, res.Where)
	}
	f.resolved = res
	return res, nil
}

// foundIn says where -m's model was found, for gale info ("" for the
// embedded model).
func (f *modelFlags) foundIn() string {
	if f.resolved == nil {
		if f.path == "" {
			return "embedded"
		}
		return ""
	}
	return f.resolved.Where
}

// applyModelDefaults applies the generation defaults an ollama model
// carries (its params layer) to the flags the command line left alone:
// a flag given wins over the model's value, which wins over gale's
// default. The result is checked like the flags themselves.
func (a *app) applyModelDefaults(cmd *cobra.Command, mf *modelFlags, sf *sampleFlags) error {
	if mf.resolved == nil || mf.resolved.Params == nil {
		return nil
	}
	p := mf.resolved.Params
	fl := cmd.Flags()
	unset := func(name string) bool { return fl.Lookup(name) != nil && !fl.Changed(name) }
	if p.Temperature != nil && unset("temp") {
		sf.temp = *p.Temperature
	}
	if p.TopK != nil && unset("top-k") {
		sf.topK = *p.TopK
	}
	if p.TopP != nil && unset("top-p") {
		sf.topP = *p.TopP
	}
	if p.MinP != nil && unset("min-p") {
		sf.minP = *p.MinP
	}
	if p.RepeatPenalty != nil && unset("repeat-penalty") {
		sf.repeatPenalty = *p.RepeatPenalty
	}
	if p.RepeatLastN != nil && unset("repeat-last-n") {
		sf.repeatLastN = *p.RepeatLastN
	}
	if p.NumPredict != nil && unset("max-tokens") {
		// ollama: -1 = no limit, -2 = fill the context; gale has one
		// spelling for both.
		sf.maxTokens = max(*p.NumPredict, -1)
	}
	if p.Seed != nil && unset("seed") {
		sf.seed = max(*p.Seed, -1)
	}
	if len(p.Stop) > 0 && unset("stop") {
		sf.stop = append([]string(nil), p.Stop...)
	}
	if p.NumCtx != nil && unset("ctx-size") {
		mf.ctxSize = *p.NumCtx
	}
	if p.NumThread != nil && unset("threads") {
		mf.threads = *p.NumThread
	}
	if err := sf.validate(); err != nil {
		return fail("model defaults", fmt.Errorf("%s: params layer: %v", mf.resolved.Name, err))
	}
	if err := mf.validate(); err != nil {
		return fail("model defaults", fmt.Errorf("%s: params layer: %v", mf.resolved.Name, err))
	}
	if mf.verbose && len(p.Ignored) > 0 {
		a.infof("gale: %s: ignoring params gale does not use: %v\n", mf.resolved.Name, p.Ignored)
	}
	return nil
}
