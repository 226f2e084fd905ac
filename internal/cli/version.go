package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gale-ai/gale/kernels"
)

// Version and Revision identify the build. `make build` sets them with
// -ldflags "-X github.com/gale-ai/gale/internal/cli.Version=v1.2.3 -X
// ...cli.Revision=<commit>" (from git describe / git rev-parse), which
// works when Go's own VCS stamping is off (-buildvcs=false, or a build
// outside a checkout). Otherwise the module version and the revision Go
// recorded are used.
var (
	Version  = "dev"
	Revision = ""
)

// versionString returns the version line's text: the version, then the
// VCS revision (12 hex digits, "-dirty" when the tree had changes) and
// the commit time when known, so bug reports pin the exact source.
func versionString() string {
	bi, _ := debug.ReadBuildInfo()
	return versionFrom(bi, Version, Revision)
}

// versionFrom is versionString's logic, on given build information.
func versionFrom(bi *debug.BuildInfo, version, revision string) string {
	var vcsRev, vcsTime, dirty string
	if bi != nil {
		if version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version // go install module@version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				vcsRev = s.Value
			case "vcs.time":
				vcsTime = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
	}
	rev := revision
	if rev == "" {
		rev = vcsRev + dirty
	} else {
		vcsTime = ""
	}
	if i := strings.IndexByte(rev, '-'); (i < 0 && len(rev) > 12) || i > 12 {
		if i < 0 {
			rev = rev[:12]
		} else {
			rev = rev[:12] + rev[i:]
		}
	}
	var extra []string
	if rev != "" {
		extra = append(extra, rev)
	}
	if vcsTime != "" {
		extra = append(extra, vcsTime)
	}
	if len(extra) > 0 {
		version += " (" + strings.Join(extra, ", ") + ")"
	}
	return version
}

// kernelLevel names the CPU feature set in use, e.g. "avx512+vnni+amx"
// (GALE_CPU may cap it).
func kernelLevel() string { return kernels.CurrentFeatures().String() }

func (a *app) newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, Go version, platform and kernel level",
		Args:  cobra.NoArgs,
		RunE: wrapRun(func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(a.stdout, "gale %s\ngo: %s\nplatform: %s/%s\nkernels: %s\n",
				versionString(), runtime.Version(), runtime.GOOS, runtime.GOARCH, kernelLevel())
			return fail("write output", err)
		}),
	}
}
