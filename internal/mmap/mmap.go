// Package mmap maps whole files read-only, for the checkpoint readers
// (internal/safetensors, internal/gguf): tensors stay views of the page
// cache instead of copies in the Go heap, so opening a 14 GB model costs no
// copying and several processes share the pages.
//
// This package imports nothing else from gale.
package mmap
