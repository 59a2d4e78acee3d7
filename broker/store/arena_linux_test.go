package store

import (
	"bufio"
	"fmt"
	"os"
	"testing"
	"unsafe"
)

// mapped reports whether any byte of [addr, addr+size) is mapped in the process, from /proc/self/maps.
func mapped(t *testing.T, addr, size uintptr) bool {
	t.Helper()
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var lo, hi uintptr
		if _, err := fmt.Sscanf(sc.Text(), "%x-%x", &lo, &hi); err != nil {
			t.Fatalf("reading /proc/self/maps: %q: %v", sc.Text(), err)
		}
		if lo < addr+size && addr < hi {
			return true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return false
}

// unmapArena gives every arena back to the system, those of maxChunk bytes (aligned within a larger mapping)
// included: syscall.Munmap refused those, as they do not start or end where a syscall.Mmap did.
func TestArenaUnmapped(t *testing.T) {
	for _, size := range []int{minChunk, maxChunk, 3 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			b, err := mapArena(size)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != size || cap(b) != size {
				t.Fatalf("mapArena(%d) returned len %d cap %d", size, len(b), cap(b))
			}
			clear(b) // every page written: resident
			addr := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
			if size == maxChunk {
				if addr%maxChunk != 0 {
					t.Fatalf("an arena of %d bytes at %#x is not aligned on its size", size, addr)
				}
			}
			if !mapped(t, addr, uintptr(size)) {
				t.Fatalf("the arena at %#x is not in /proc/self/maps", addr)
			}
			unmapArena(b)
			if mapped(t, addr, uintptr(size)) {
				t.Fatalf("the arena of %d bytes at %#x is still mapped after unmapArena", size, addr)
			}
		})
	}
}
