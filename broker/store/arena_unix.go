//go:build unix

package store

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// madvHugepage is MADV_HUGEPAGE (Linux); elsewhere the advice fails and is ignored.
const madvHugepage = 14

// mapArena returns size bytes of memory outside the Go heap, so that what the memory store keeps counts once in
// the process's resident memory instead of up to twice (the garbage collector lets the heap grow to about twice
// its live size between cycles). Only the pages written to become resident.
//
// An arena of maxChunk bytes is aligned on its size and asks for transparent huge pages: writing fresh memory
// page by page costs a fault per 4 KiB, which on a virtual machine is most of an append's time (about 1 µs per
// 256-byte message here, against 40 ns with huge pages).
//
// The mappings are made and released by address (unix.MmapPtr, unix.MunmapPtr): syscall.Munmap releases only
// a whole mapping that syscall.Mmap returned, and refuses (leaving it mapped) the parts of one that aligning
// an arena cuts.
func mapArena(size int) ([]byte, error) {
	prot, flags := unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE
	if size != maxChunk {
		p, err := unix.MmapPtr(-1, 0, nil, uintptr(size), prot, flags)
		if err != nil {
			return nil, fmt.Errorf("store: reserving %d bytes of memory for messages: %w", size, err)
		}
		return unsafe.Slice((*byte)(p), size), nil
	}
	raw, err := unix.MmapPtr(-1, 0, nil, uintptr(2*size), prot, flags)
	if err != nil {
		return nil, fmt.Errorf("store: reserving %d bytes of memory for messages: %w", 2*size, err)
	}
	skip := (uintptr(size) - uintptr(raw)%uintptr(size)) % uintptr(size)
	if skip > 0 {
		_ = unix.MunmapPtr(raw, skip) // page-aligned parts of our own mapping: cannot fail
	}
	if tail := uintptr(size) - skip; tail > 0 {
		_ = unix.MunmapPtr(unsafe.Add(raw, skip+uintptr(size)), tail)
	}
	b := unsafe.Slice((*byte)(unsafe.Add(raw, skip)), size)
	_ = unix.Madvise(b, madvHugepage) // only advice: without huge pages the arena works the same
	return b, nil
}

// unmapArena gives memory from mapArena back to the system. Nothing may use b afterwards.
func unmapArena(b []byte) {
	// Fails only for a region that mapArena did not return.
	_ = unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(b)), uintptr(cap(b)))
}
