package mmap

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestMap(t *testing.T) {
	want := bytes.Repeat([]byte("gale mmap "), 1000)
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, want, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	data, unmap, err := Map(fd, len(want))
	fd.Close() // the mapping must outlive the descriptor
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, want) {
		t.Fatalf("mapped %d bytes differ from the file's %d", len(data), len(want))
	}
	if unmap != nil {
		if err := unmap(data); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMapEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	data, unmap, err := Map(fd, 0)
	if err != nil || len(data) != 0 {
		t.Fatalf("Map(empty) = %d bytes, %v", len(data), err)
	}
	if unmap != nil {
		if err := unmap(data); err != nil {
			t.Fatal(err)
		}
	}
}
