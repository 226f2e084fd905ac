//go:build unix

package hub

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockFile takes an exclusive lock on p (created if needed) without
// waiting, so that two pulls of the same file cannot interleave their
// writes into one partial file. The lock dies with the process, so a
// killed pull never leaves a stale one.
func lockFile(p string) (unlock func(), err error) {
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("another download of this file is running (%s is locked)", p)
		}
		return nil, err
	}
	return func() {
		os.Remove(p)
		f.Close()
	}, nil
}
