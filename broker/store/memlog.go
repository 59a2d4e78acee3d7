package store

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"sync"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// Chunk sizes of the memory store's arenas: a log's first chunk is small, each next one twice the size of the
// one before up to maxChunk, so that a topic holding a few messages costs little and a long backlog few system
// calls. A record larger than the chunk gets a chunk of its own.
const (
	minChunk = 16 << 10
	maxChunk = 2 << 20
)

// chunk is one arena of records with consecutive offsets, starting at first. It is released whole once
// TruncateBefore passed all of its records.
type chunk struct {
	buf     []byte   // from mapArena
	first   uint64   // offset of the first record
	ends    []uint32 // ends[i] is where the record of offset first+i ends; it starts where the one before ends
	cleanup runtime.Cleanup
}

func newChunk(size int, first uint64) (*chunk, error) {
	buf, err := getArena(size)
	if err != nil {
		return nil, err
	}
	c := &chunk{buf: buf, first: first, ends: make([]uint32, 0, size/512)}
	// A log dropped without Close or DeleteLog still gives its memory back once it is unreachable.
	c.cleanup = runtime.AddCleanup(c, putArena, buf)
	return c, nil
}

func (c *chunk) used() int {
	if len(c.ends) == 0 {
		return 0
	}
	return int(c.ends[len(c.ends)-1])
}

// next is the offset after the chunk's last record.
func (c *chunk) next() uint64 { return c.first + uint64(len(c.ends)) }

// span returns the bytes of the records of offsets from to to (exclusive), both within the chunk.
func (c *chunk) span(from, to uint64) []byte {
	i, j := from-c.first, to-c.first
	start := uint32(0)
	if i > 0 {
		start = c.ends[i-1]
	}
	return c.buf[start:c.ends[j-1]]
}

func (c *chunk) record(off uint64) []byte { return c.span(off, off+1) }

func (c *chunk) release() {
	c.cleanup.Stop()
	putArena(c.buf)
	c.buf, c.ends = nil, nil
}

// memLog keeps each message as a compact record (see memrecord.go) in chunks outside the Go heap; the heap
// holds only 4 bytes per message (its record's end) and the log's interned strings. Offsets base to next-1 are
// readable.
type memLog struct {
	mu      sync.RWMutex
	closed  error // ErrClosed, wrapped, once the store closed or the log was deleted
	base    uint64
	next    uint64
	chunks  []*chunk // in offset order; chunks[0] holds base unless the log is empty
	codec   RecordCodec
	scratch []byte // the header being encoded by Append
}

// errNoMsgID is returned by Append for a message without a MsgId, which the log needs to return its offset.
var errNoMsgID = errors.New("store: the message has no msg_id to carry its offset; set MsgId before appending")

func (l *memLog) Append(msg *danubepb.StreamMessage) (uint64, error) {
	if msg == nil || msg.MsgId == nil {
		return 0, errNoMsgID
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed != nil {
		return 0, l.closed
	}
	l.scratch = l.codec.in.appendHeader(l.scratch[:0], msg)
	size := len(l.scratch) + len(msg.Payload)
	if uint64(size) > math.MaxUint32 {
		return 0, fmt.Errorf("store: a message of %d bytes does not fit in the memory store (at most %d)", size, uint64(math.MaxUint32))
	}
	c, err := l.chunkFor(size)
	if err != nil {
		return 0, err
	}
	at := c.used()
	n := copy(c.buf[at:], l.scratch)
	copy(c.buf[at+n:], msg.Payload)
	c.ends = append(c.ends, uint32(at+size))
	if cap(l.scratch) > 64<<10 {
		l.scratch = nil // do not keep a large message's header buffer
	}
	off := l.next
	l.next++
	msg.MsgId.TopicOffset = off
	return off, nil
}

// chunkFor returns the chunk the next record, of size bytes, goes to, starting a new one when the last is full.
// Caller holds mu.
func (l *memLog) chunkFor(size int) (*chunk, error) {
	last := len(l.chunks) - 1
	// A record's end is kept as a uint32 offset into its chunk: one that would end past it starts a new chunk.
	if c := l.chunks; last >= 0 && len(c[last].buf)-c[last].used() >= size && uint64(c[last].used()+size) <= math.MaxUint32 {
		return l.chunks[last], nil
	}
	want := minChunk
	if last >= 0 {
		want = min(maxChunk, max(minChunk, 2*len(l.chunks[last].buf)))
	}
	if size > want {
		page := os.Getpagesize()
		want = (size + page - 1) / page * page
	}
	c, err := newChunk(want, l.next)
	if err != nil {
		return nil, err
	}
	l.chunks = append(l.chunks, c)
	return c, nil
}

func (l *memLog) Read(from uint64, limit int) ([]*danubepb.StreamMessage, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed != nil {
		return nil, l.closed
	}
	if from < l.base {
		return nil, ErrOffsetTruncated
	}
	if from >= l.next || limit <= 0 {
		return nil, nil
	}
	to := from + min(uint64(limit), l.next-from)
	ci := sort.Search(len(l.chunks), func(i int) bool { return l.chunks[i].first > from }) - 1
	recs := make([][]byte, to-from)
	for i := range recs {
		off := from + uint64(i)
		for off >= l.chunks[ci].next() {
			ci++
		}
		recs[i] = l.chunks[ci].record(off)
	}
	return l.codec.Decode(make([]*danubepb.StreamMessage, 0, len(recs)), recs, from)
}

func (l *memLog) StartOffset() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.base
}

func (l *memLog) NextOffset() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.next
}

func (l *memLog) TruncateBefore(offset uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed != nil {
		return l.closed
	}
	if offset <= l.base {
		return nil
	}
	l.base = min(offset, l.next)
	n := 0
	for n < len(l.chunks) && l.chunks[n].next() <= l.base {
		l.chunks[n].release()
		n++
	}
	clear(l.chunks[:n])
	l.chunks = l.chunks[n:]
	if len(l.chunks) == 0 {
		l.chunks = nil
	}
	return nil
}

// close makes every later call fail with err and gives the log's memory back. Caller does not hold mu.
func (l *memLog) close(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed != nil {
		return
	}
	l.closed = err
	for _, c := range l.chunks {
		c.release()
	}
	l.chunks = nil
}

// arenaBytes returns the bytes of arena memory the log holds, written or not.
func (l *memLog) arenaBytes() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	n := 0
	for _, c := range l.chunks {
		n += len(c.buf)
	}
	return n
}
