package cli

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// cpuProfiler writes one pprof CPU profile of a command from the first
// timed stretch (bench's run of its first model, after the weights are
// built) to the end. Go's profiler cannot be paused, so the building of
// later models' weights is in it too; it is short next to the runs.
type cpuProfiler struct{ f *os.File }

// start begins profiling into path unless it has begun; an empty path is
// a no-op.
func (p *cpuProfiler) start(path string) error {
	if path == "" || p.f != nil {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("cpu profile: %w", err)
	}
	p.f = f
	return nil
}

// stop ends the profile and closes its file.
func (p *cpuProfiler) stop() {
	if p.f != nil {
		pprof.StopCPUProfile()
		p.f.Close()
		p.f = nil
	}
}
