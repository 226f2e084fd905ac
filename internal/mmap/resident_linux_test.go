package mmap

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestResidentPages counts the pages of a fresh anonymous mapping, which
// the kernel maps only at a first store: none at first, then exactly the
// ones stored into, and over a slice that starts and ends inside pages,
// every page it touches.
func TestResidentPages(t *testing.T) {
	page := os.Getpagesize()
	mem, err := unix.Mmap(-1, 0, 16*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	if r, p, ok := ResidentPages(mem); !ok || r != 0 || p != 16 {
		t.Fatalf("fresh mapping: %d of %d pages resident (ok %v), want 0 of 16", r, p, ok)
	}
	mem[3*page+5], mem[9*page] = 1, 1
	if r, p, ok := ResidentPages(mem); !ok || r != 2 || p != 16 {
		t.Fatalf("after two stores: %d of %d pages resident (ok %v), want 2 of 16", r, p, ok)
	}
	// Pages 3..9 in part: seven pages, two of them stored into.
	if r, p, ok := ResidentPages(mem[3*page+100 : 9*page+1]); !ok || r != 2 || p != 7 {
		t.Fatalf("slice over pages 3-9: %d of %d pages resident (ok %v), want 2 of 7", r, p, ok)
	}
	if r, p, ok := ResidentPages(nil); !ok || r != 0 || p != 0 {
		t.Fatalf("empty slice: %d of %d (ok %v)", r, p, ok)
	}
}
