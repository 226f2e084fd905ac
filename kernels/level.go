package kernels

import (
	"fmt"
	"os"
	"strings"
)

// Level is the vector width of a kernel set: the base on which the
// independent extras of a feature set (VNNI, AMX, dotprod) sit.
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

// ParseLevel turns a level name (generic, avx2, avx512, neon) into a Level.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if strings.EqualFold(strings.TrimSpace(s), n) {
			return Level(i), nil
		}
	}
	return Generic, fmt.Errorf("unknown CPU level %q (want generic, avx2, avx512 or neon)", s)
}

// Features is a set of CPU capabilities that kernels may use. The vector
// width (AVX2, AVX-512, NEON) is one part of it; VNNI, AMX and dotprod are
// independent of it, which a single ordered ladder of levels cannot say
// (both hosts of this machine class have VNNI, only some have AMX, and the
// non-VNNI int8 paths must still be testable on a machine with VNNI).
type Features uint32

// The features a set may contain.
const (
	FeatAVX2    Features = 1 << iota // AVX2 + FMA + F16C
	FeatAVX512                       // AVX-512 F, BW and VL (implies FeatAVX2)
	FeatVNNI                         // int8 dot products: AVX512-VNNI with FeatAVX512, AVX-VNNI with FeatAVX2 alone
	FeatAMX                          // AMX tile + bf16 + int8, with the OS permission granted
	FeatNEON                         // arm64 Advanced SIMD
	FeatDotProd                      // arm64 SDOT/UDOT (with FeatNEON)
)

// featNames lists the names of the features in the order String prints them.
var featNames = []struct {
	f    Features
	name string
}{
	{FeatAVX512, "avx512"}, {FeatAVX2, "avx2"}, {FeatNEON, "neon"},
	{FeatVNNI, "vnni"}, {FeatDotProd, "dotprod"}, {FeatAMX, "amx"},
}

// Has reports whether every feature of x is in f.
func (f Features) Has(x Features) bool { return f&x == x }

// Level is the vector width of the set.
func (f Features) Level() Level {
	switch {
	case f.Has(FeatNEON):
		return NEON
	case f.Has(FeatAVX512):
		return AVX512
	case f.Has(FeatAVX2):
		return AVX2
	}
	return Generic
}

// String names the set as `gale version` prints it and GALE_CPU accepts
// it: "avx512+vnni+amx", "avx2", "generic". AVX-512 sets do not repeat
// "avx2", which they always include.
func (f Features) String() string {
	var parts []string
	for _, n := range featNames {
		if n.f == FeatAVX2 && f.Has(FeatAVX512) {
			continue
		}
		if f.Has(n.f) {
			parts = append(parts, n.name)
		}
	}
	if len(parts) == 0 {
		return "generic"
	}
	return strings.Join(parts, "+")
}

// levelFeatures is the vector part of a set at level l.
func levelFeatures(l Level) Features {
	switch l {
	case AVX2:
		return FeatAVX2
	case AVX512:
		return FeatAVX2 | FeatAVX512
	case NEON:
		return FeatNEON
	}
	return 0
}

// valid reports whether f can run on this machine and build: its level is
// available and every extra is available at that level.
func valid(f Features) bool {
	l := f.Level()
	if f != f&(levelFeatures(l)|FeatVNNI|FeatAMX|FeatDotProd) {
		return false // a vector feature of another level (e.g. neon+avx2)
	}
	if l != Generic && !levelAvailable(l) {
		return false
	}
	if f.Has(FeatVNNI) && !archVNNI(l) {
		return false
	}
	if f.Has(FeatAMX) && (l != AVX512 || !archAMX()) {
		return false
	}
	if f.Has(FeatDotProd) && (l != NEON || !archDotProd()) {
		return false
	}
	return true
}

// levelAvailable reports whether the machine runs level l's assembly.
func levelAvailable(l Level) bool {
	for _, a := range archLevels() {
		if a == l {
			return true
		}
	}
	return false
}

// allowed is the GALE_CPU mask: features outside it are never installed,
// not even by a test's SetFeatures.
var allowed = ^Features(0)

// curFeat is the set whose implementations are installed in fn; current
// is its level.
var (
	curFeat Features
	current = Generic
)

// Current reports the vector level in use.
func Current() Level { return current }

// CurrentFeatures reports the feature set in use.
func CurrentFeatures() Features { return curFeat }

// Levels lists the vector levels this machine and build can run, lowest
// first, up to the cap set by GALE_CPU. Generic is always present.
func Levels() []Level {
	out := []Level{Generic}
	for _, l := range archLevels() {
		if allowed.Has(levelFeatures(l)) {
			out = append(out, l)
		}
	}
	return out
}

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

// extras are the features that come and go independently of the level.
var extras = []Features{FeatVNNI, FeatAMX, FeatDotProd}

// best is the largest set at level l within the cap; AMX only when amx is
// true, because tile kernels change bf16 results within a tolerance and the
// callers of SetLevel expect the vector units' exact results.
func best(l Level, amx bool) Features {
	f := levelFeatures(l)
	for _, x := range extras {
		if x == FeatAMX && !amx {
			continue
		}
		if allowed.Has(x) && valid(f|x) {
			f |= x
		}
	}
	return f
}

// FeatureSets lists every feature set a test must run: each level alone,
// each level with each extra it can have, and the best set, within the
// GALE_CPU cap.
func FeatureSets() []Features {
	var out []Features
	seen := map[Features]bool{}
	add := func(f Features) {
		if !seen[f] && valid(f) && allowed.Has(f) {
			seen[f] = true
			out = append(out, f)
		}
	}
	for _, l := range Levels() {
		base := levelFeatures(l)
		add(base)
		for _, x := range extras {
			add(base | x)
		}
		add(best(l, true))
	}
	return out
}

// installers are the extra kernel files' installers: each sets its own
// function variables for the feature set given, so that new kernels need no
// entry in the shared table.
var installers []func(f Features)

// SetFeatures installs the implementations of feature set f. It fails,
// changing nothing, when the machine, the build or the GALE_CPU cap cannot
// run f. It is not safe to call while kernels run on other goroutines;
// tests and start-up use it.
func SetFeatures(f Features) error {
	if !valid(f) || !allowed.Has(f) {
		return fmt.Errorf("CPU feature set %s is not supported on this machine (best here: %s)", f, best(Levels()[len(Levels())-1], true))
	}
	fn = generic
	if f.Level() != Generic {
		archInstall(f, &fn)
	}
	curFeat, current = f, f.Level()
	for _, in := range installers {
		in(f)
	}
	return nil
}

// SetLevel installs the best set at level l without AMX (the vector units'
// exact results); see SetFeatures for sets with extras switched on or off.
func SetLevel(l Level) error {
	if !Supported(l) {
		return fmt.Errorf("CPU level %s is not supported on this machine (have %v)", l, Levels())
	}
	return SetFeatures(best(l, false))
}

// ParseFeatures reads a GALE_CPU value: names separated by commas or
// plus signs. A level name (generic, avx2, avx512, neon) caps the vector
// width and keeps that level's extras except AMX, which must be named;
// "vnni", "amx", "dotprod" add an extra; "-vnni", "-amx", "-dotprod" (or a
// "-" before a level name) take one away. Without a level name the set
// starts from everything the machine has. It returns the mask of allowed
// features (before intersecting with what the machine has).
func ParseFeatures(s string) (Features, error) {
	mask, _, err := parseFeatures(s)
	return mask, err
}

// parseFeatures is ParseFeatures that also returns what s asks for by
// name (a level's vector features, added extras), so that start-up can
// warn when the machine lacks one of them.
func parseFeatures(s string) (mask, named Features, err error) {
	mask = ^Features(0)
	var add, remove Features
	levelSeen := false
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '+' || r == ' ' }) {
		tok = strings.ToLower(tok)
		neg := strings.HasPrefix(tok, "-")
		tok = strings.TrimPrefix(tok, "-")
		if l, err := ParseLevel(tok); err == nil {
			if neg {
				remove |= levelFeatures(l)
				continue
			}
			if levelSeen {
				return 0, 0, fmt.Errorf("%q names two levels", s)
			}
			named |= levelFeatures(l)
			levelSeen = true
			mask = levelFeatures(l) | FeatVNNI | FeatDotProd
			if l == AVX512 {
				mask |= FeatAVX2
			}
			continue
		}
		var x Features
		for _, n := range featNames {
			if n.name == tok && (n.f == FeatVNNI || n.f == FeatAMX || n.f == FeatDotProd) {
				x = n.f
			}
		}
		if x == 0 {
			return 0, 0, fmt.Errorf("unknown CPU feature %q (want generic, avx2, avx512 or neon, and vnni, amx, dotprod, each optionally with a leading -)", tok)
		}
		if neg {
			remove |= x
		} else {
			add |= x
		}
	}
	return (mask | add) &^ remove, named | add, nil
}

// EnvError records a GALE_CPU value that could not be honoured at start-up,
// so that the CLI can warn about it; nil when there was none.
var EnvError error

func init() {
	if v, ok := os.LookupEnv("GALE_CPU"); ok && v != "" {
		mask, named, err := parseFeatures(v)
		if err != nil {
			EnvError = fmt.Errorf("GALE_CPU: %v", err)
		} else {
			allowed = mask
			// A named level or extra the CPU lacks is ignored with a
			// warning: the variable caps, it never raises.
			if got := best(Levels()[len(Levels())-1], true); !got.Has(named) {
				EnvError = fmt.Errorf("GALE_CPU=%s is not available here; using %s", v, got)
			}
		}
	}
	top := Levels()[len(Levels())-1]
	if err := SetFeatures(best(top, true)); err != nil {
		panic(err) // cannot happen: best only returns valid sets
	}
}
