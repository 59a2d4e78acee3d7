package store

import "sync"

// maxPooled is how much released arena memory the process keeps for reuse instead of giving it back to the
// system. A topic whose consumers keep up empties its log over and over; mapping fresh memory each time costs
// a page fault per 4 KiB written (most of an append's time on a virtual machine), reusing it costs nothing.
const maxPooled = 16 << 20

// arenaPool keeps released arenas of the standard chunk sizes, resident, for the next chunks of any log.
var arenaPool struct {
	mu    sync.Mutex
	bytes int
	free  map[int][][]byte // by size
}

// getArena returns an arena of size bytes, reused when one is pooled. Its contents are undefined: the log
// reads only what it wrote.
func getArena(size int) ([]byte, error) {
	arenaPool.mu.Lock()
	if l := arenaPool.free[size]; len(l) > 0 {
		b := l[len(l)-1]
		l[len(l)-1] = nil
		arenaPool.free[size] = l[:len(l)-1]
		arenaPool.bytes -= size
		arenaPool.mu.Unlock()
		return b, nil
	}
	arenaPool.mu.Unlock()
	return mapArena(size)
}

// putArena pools b for reuse, or gives it back to the system when it is not of a standard size or the pool
// is full. Nothing may use b afterwards.
func putArena(b []byte) {
	size := len(b)
	if size >= minChunk && size <= maxChunk && size&(size-1) == 0 {
		arenaPool.mu.Lock()
		if arenaPool.bytes+size <= maxPooled {
			if arenaPool.free == nil {
				arenaPool.free = make(map[int][][]byte)
			}
			arenaPool.free[size] = append(arenaPool.free[size], b)
			arenaPool.bytes += size
			arenaPool.mu.Unlock()
			return
		}
		arenaPool.mu.Unlock()
	}
	unmapArena(b)
}
