package kernels

import (
	"fmt"
	"os"
	"strings"
)

// Level is a CPU feature level for which the package has an implementation.
type Level int

// The levels, in increasing order of capability on their architecture.
const (
	Generic Level = iota // pure Go, every platform
	AVX2                 // amd64 with AVX2, FMA and F16C
	AVX512               // amd64 with AVX-512 F, BW and VL (plus the AVX2 set)
	NEON                 // arm64 Advanced SIMD
)

var levelNames = [...]string{Generic: "generic", AVX2: "avx2", AVX512: "avx512", NEON: "neon"}

// String returns the level's name as GALE_CPU spells it.
func (l Level) String() string {
	if l >= 0 && int(l) < len(levelNames) {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel turns a GALE_CPU value into a Level.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Level(i), nil
		}
	}
	return Generic, fmt.Errorf("unknown CPU level %q (want generic, avx2, avx512 or neon)", s)
}

// current is the level whose implementations are installed in fn.
var current = Generic

// Current reports the level in use.
func Current() Level { return current }

// Levels lists the levels this machine and build can run, lowest first,
// up to the cap set by GALE_CPU. Generic is always present.
func Levels() []Level {
	out := []Level{Generic}
	if capped && capLevel == Generic {
		return out
	}
	for _, l := range archLevels() {
		out = append(out, l)
		if capped && l == capLevel {
			break
		}
	}
	return out
}

// capLevel is the GALE_CPU cap, in force when capped is set.
var (
	capLevel Level
	capped   bool
)

// Supported reports whether l can run on this machine and build (within
// the GALE_CPU cap).
func Supported(l Level) bool {
	for _, s := range Levels() {
		if s == l {
			return true
		}
	}
	return false
}

// SetLevel installs the implementations of level l. It fails, changing
// nothing, when the machine or build cannot run l. It is not safe to call
// while kernels run on other goroutines; tests and start-up use it.
func SetLevel(l Level) error {
	if !Supported(l) {
		return fmt.Errorf("CPU level %s is not supported on this machine (have %v)", l, Levels())
	}
	fn = generic
	if l != Generic {
		archInstall(l, &fn)
	}
	current = l
	return nil
}

// best is the highest supported level.
func best() Level {
	ls := Levels()
	return ls[len(ls)-1]
}

// EnvError records a GALE_CPU value that could not be honoured at start-up,
// so that the CLI can warn about it; nil when there was none.
var EnvError error

func init() {
	l := best()
	if v, ok := os.LookupEnv("GALE_CPU"); ok && v != "" {
		want, err := ParseLevel(v)
		switch {
		case err != nil:
			EnvError = fmt.Errorf("GALE_CPU: %v", err)
		case !Supported(want):
			// A cap above (or beside) what the CPU has is ignored: the
			// variable caps, it never raises.
			EnvError = fmt.Errorf("GALE_CPU=%s is not available here; using %s", want, l)
		default:
			// Capping Levels too means nothing, not even a test's
			// SetLevel, runs a level above the cap.
			l, capLevel, capped = want, want, true
		}
	}
	if err := SetLevel(l); err != nil {
		panic(err) // cannot happen: l comes from Levels
	}
}
