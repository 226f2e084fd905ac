//go:build !unix

package hub

// lockFile is a no-op where flock is not available: concurrent pulls of
// one file are then the user's to avoid.
func lockFile(string) (func(), error) { return func() {}, nil }
