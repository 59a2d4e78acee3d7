//go:build !unix

package store

// mapArena returns size bytes of zeroed memory; where memory cannot be mapped it is an ordinary heap slice.
func mapArena(size int) ([]byte, error) { return make([]byte, size), nil }

// unmapArena releases memory from mapArena; a heap slice is left to the garbage collector.
func unmapArena([]byte) {}
