package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/gale-ai/gale/kernels"
)

// Version is gale's version string; release builds set it with
// -ldflags "-X github.com/gale-ai/gale/internal/cli.Version=v1.2.3".
var Version = "dev"

// versionString returns Version, with the VCS revision the binary was
// built from when Go recorded one, so bug reports pin the exact source.
func versionString() string {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "-dirty"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" {
			v += " (" + rev + dirty + ")"
		}
	}
	return v
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
