//go:build unix

package store

import (
	"fmt"
	"syscall"
)

// mapArena returns size bytes of zeroed memory outside the Go heap, so that what the memory store keeps counts
// once in the process's resident memory instead of up to twice (the garbage collector lets the heap grow to
// about twice its live size between cycles). Only the pages written to become resident.
func mapArena(size int) ([]byte, error) {
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("store: reserving %d bytes of memory for messages: %w", size, err)
	}
	return b, nil
}

// unmapArena gives memory from mapArena back to the system. Nothing may use b afterwards.
func unmapArena(b []byte) {
	_ = syscall.Munmap(b) // fails only for a region that mapArena did not return
}
