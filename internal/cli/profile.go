package cli

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// cpuProfiler writes one pprof CPU profile over several timed stretches
// of a command (bench's runs of each model, not the building of their
// weights). Go's profiler cannot be paused, so pause only remembers that
// the next start must not reopen the file: the stretches in between are
// short next to the runs.
type cpuProfiler struct {
	f       *os.File
	running bool
}

// start begins (or resumes) profiling into path; an empty path is a no-op.
func (p *cpuProfiler) start(path string) error {
	if path == "" || p.running {
		return nil
	}
	if p.f == nil {
		f, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("cpu profile: %w", err)
		}
		p.f = f
	}
	p.running = true
	return nil
}

// pause marks the end of a timed stretch.
func (p *cpuProfiler) pause() { p.running = false }

// stop ends the profile and closes its file.
func (p *cpuProfiler) stop() {
	if p.f != nil {
		pprof.StopCPUProfile()
		p.f.Close()
		p.f = nil
	}
}
