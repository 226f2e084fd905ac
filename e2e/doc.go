// Package e2e holds end-to-end tests of the gale command: TestMain builds
// the real binary once with `go build`, and each test runs it as a user
// would (os/exec, pipes, signals) and checks stdout, stderr and the exit
// status against the independent references in testdata/ (see testdata/README.md).
package e2e
