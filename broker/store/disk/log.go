package disk

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// diskLog is the message log of one topic: a list of segment files, the last of which (the active segment)
// receives appends.
//
// Appends are group-committed with leader hand-off: an Append queues itself; if no Append is writing, it
// becomes the leader, takes the whole queue, encodes it, writes it with one write(2) (one per segment when
// the batch crosses a roll), fsyncs it once under FsyncAlways, and then hands leadership to the first Append
// that queued meanwhile. Under FsyncInterval the committer fsyncs the written segments within the interval.
//
// A record becomes visible to Read and NextOffset when its Append is about to return, i.e. after the write,
// and after the fsync under FsyncAlways.
type diskLog struct {
	s     *Store
	topic string
	dir   string

	// Append queue, guarded by qmu.
	qmu     sync.Mutex
	qidle   sync.Cond // signalled when writing becomes false
	queue   []*appendReq
	spare   []*appendReq
	writing bool  // a leader is active
	stopped error // set by stop: every later Append fails with it
	failed  error // set by a failed fsync or a failed cut-back after a failed write: every later Append fails with it

	// Leader state: only the current leader touches these (handed over with the leadership).
	written uint64   // offset the next record gets; records below it are written (maybe not yet visible)
	active  *segment // also read under mu by others; replaced under mu
	wbuf    []byte
	wpos    []uint32
	wmsgs   []*danubepb.StreamMessage
	wdone   []*appendReq

	// delMu is held by TruncateBefore and retention from taking segments out of the log until their files are
	// removed, and taken by stop, so that no stale removal hits a log re-created under the same name.
	delMu sync.Mutex

	// Reader-visible state, guarded by mu.
	mu           sync.RWMutex
	closed       error
	segs         []*segment
	start        atomic.Uint64 // written under mu; read without it by StartOffset and NextOffset
	next         atomic.Uint64
	totalBytes   int64
	cache        [][]byte // the records (cacheCodec's) of offsets cacheStart, cacheStart+1, ... up to written
	cacheStart   uint64
	cacheBytes   int64  // the records' capacities plus cacheEntryOverhead each
	cacheBlock   []byte // where the next records are cut from
	blockLastAt  int    // where the last record cut from cacheBlock starts in it
	blockLastOff uint64 // and its offset
	cacheScratch []byte
	cacheCodec   store.RecordCodec

	// FsyncInterval state, guarded by cmu: segments written since the committer's last round.
	cmu       sync.Mutex
	dirtySegs []*segment

	writes   atomic.Int64 // write(2) calls for appends, for tests
	dirDirty atomic.Bool  // a segment was created without fsyncing the directory (FsyncNever)

	obs atomic.Pointer[observer] // SetObserver's; nil when none
}

// observer boxes a store.LogObserver for an atomic.Pointer.
type observer struct{ o store.LogObserver }

var _ store.Observable = (*diskLog)(nil)

// SetObserver implements store.Observable: o hears of every fsync of appended records (under FsyncAlways
// one per batch, under FsyncInterval one per segment per committer round, and under every policy the fsync
// of a full segment before it is sealed), every segment rotation, and every segment deleted by
// TruncateBefore or retention.
func (l *diskLog) SetObserver(o store.LogObserver) {
	if o == nil {
		l.obs.Store(nil)
		return
	}
	l.obs.Store(&observer{o})
}

// syncSeg fsyncs sg if it has unsynced writes and reports the fsync to the observer.
func (l *diskLog) syncSeg(sg *segment) error {
	if !sg.dirty.Load() {
		return nil
	}
	start := time.Now()
	synced, err := sg.sync()
	if synced && err == nil {
		if o := l.obs.Load(); o != nil {
			o.o.Flushed(time.Since(start))
		}
	}
	return err
}

// The cache keeps recent messages as compact records (the memory store's encoding, with the strings that
// repeat kept once per log). Records are cut from blocks that start at cacheBlockMin and double up to
// cacheBlockMax, so that a quiet topic holds little; a record larger than a quarter of the largest block is
// allocated on its own. Each record counts its capacity plus cacheEntryOverhead: when a block is left for a new
// one, its unused end is added to the capacity of its last record, so the records count every byte of their
// blocks, and the current block's unused end counts against the bound too. A read decodes the records it
// returns into new messages.
const (
	cacheBlockMin      = 1 << 10
	cacheBlockMax      = 64 << 10
	cacheEntryOverhead = 24 // the record's slice in cache
)

// cacheRecord encodes m into the cache's current block (or a block of its own) and returns its record. Caller
// holds mu.
func (l *diskLog) cacheRecord(m *danubepb.StreamMessage) []byte {
	l.cacheScratch = l.cacheCodec.Append(l.cacheScratch[:0], m)
	rec := l.cacheScratch
	if cap(l.cacheScratch) > cacheBlockMax {
		l.cacheScratch = nil // do not keep a large message's buffer
	}
	if len(rec) > cacheBlockMax/4 {
		return bytes.Clone(rec) // its capacity is what was allocated
	}
	if cap(l.cacheBlock)-len(l.cacheBlock) < len(rec) {
		if last := l.blockLastOff; len(l.cacheBlock) > 0 && last >= l.cacheStart && last < l.cacheStart+uint64(len(l.cache)) {
			// The block's unused end goes with its last record.
			i := last - l.cacheStart
			l.cacheBytes += int64(cap(l.cacheBlock) - len(l.cacheBlock))
			l.cache[i] = l.cacheBlock[l.blockLastAt:len(l.cacheBlock):cap(l.cacheBlock)]
		}
		l.cacheBlock = make([]byte, 0, max(len(rec), min(cacheBlockMax, max(cacheBlockMin, 2*cap(l.cacheBlock)))))
	}
	at := len(l.cacheBlock)
	l.cacheBlock = append(l.cacheBlock, rec...)
	l.blockLastAt, l.blockLastOff = at, l.cacheStart+uint64(len(l.cache)) // the offset rec is cached at
	return l.cacheBlock[at:len(l.cacheBlock):len(l.cacheBlock)]
}

// segment is one file of a log. pos, offs, size, lastWrite and sealed are guarded by the log's mu; f by fmu.
type segment struct {
	base      uint64
	path      string
	format    int           // formatV1 or formatV2
	pos       []uint32      // file position of each record, in offset order
	offs      []uint64      // offset of each record; nil while they are base, base+1, ... (no holes)
	ends      map[int]int64 // end of each record followed by skipped bytes, by index (nil when none is)
	size      int64         // where the next record goes (the end of the last complete record, or of skipped bytes)
	lastWrite time.Time
	sealed    bool

	fmu   sync.Mutex
	f     *os.File // nil until opened (sealed segments are opened on first read) and after close
	dead  bool     // closed for good
	dirty atomic.Bool
}

// appendReq is one waiting Append. done receives true when the Append must take over as leader, false when
// it has finished (with err).
type appendReq struct {
	msg  *danubepb.StreamMessage
	off  uint64
	err  error
	done chan bool
}

// add indexes a record at file position pos with offset off, above every offset indexed so far.
func (sg *segment) add(pos uint32, off uint64) {
	if sg.offs == nil && off != sg.base+uint64(len(sg.pos)) {
		sg.offs = make([]uint64, len(sg.pos), cap(sg.pos))
		for i := range sg.offs {
			sg.offs[i] = sg.base + uint64(i)
		}
	}
	sg.pos = append(sg.pos, pos)
	if sg.offs != nil {
		sg.offs = append(sg.offs, off)
	}
}

// setEnd records the end of the i-th record, which skipped bytes follow, so that reads do not read them.
func (sg *segment) setEnd(i int, end int64) {
	if sg.ends == nil {
		sg.ends = map[int]int64{}
	}
	sg.ends[i] = end
}

// offset returns the offset of the i-th record.
func (sg *segment) offset(i int) uint64 {
	if sg.offs != nil {
		return sg.offs[i]
	}
	return sg.base + uint64(i)
}

// end returns one past the offset of the last record (the base when there is none).
func (sg *segment) end() uint64 {
	if n := len(sg.pos); n > 0 {
		return sg.offset(n-1) + 1
	}
	return sg.base
}

// search returns the index of the first record whose offset is at least off.
func (sg *segment) search(off uint64) int {
	if sg.offs != nil {
		i, _ := slices.BinarySearch(sg.offs, off)
		return i
	}
	if off <= sg.base {
		return 0
	}
	return int(min(off-sg.base, uint64(len(sg.pos))))
}

var reqPool = sync.Pool{New: func() any { return &appendReq{done: make(chan bool, 1)} }}

var errNoMsgIDArg = errors.New("disk: Append needs a message with msg_id set")

func newLog(s *Store, topic, dir string) *diskLog {
	l := &diskLog{s: s, topic: topic, dir: dir}
	l.qidle.L = &l.qmu
	return l
}

// createLog creates the directory and first segment of a new topic log. Caller holds s.mu.
func (s *Store) createLog(topic string) (*diskLog, error) {
	name, hashed := topicDirName(topic)
	dir := filepath.Join(s.topicsDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("disk: creating the log of %q: %w", topic, err)
	}
	if hashed {
		if err := writeFileSync(filepath.Join(dir, nameFile), []byte(topic)); err != nil {
			return nil, fmt.Errorf("disk: creating the log of %q: %w", topic, err)
		}
	}
	sg, err := createSegment(dir, 0, s.opts.now())
	if err == nil {
		if err = syncDir(s.topicsDir); err != nil {
			sg.close(false)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("disk: creating the log of %q: %w", topic, err)
	}
	l := newLog(s, topic, dir)
	l.totalBytes = sg.size
	l.segs = []*segment{sg}
	l.active = sg
	return l, nil
}

// createSegment creates the segment file of base in dir with its file header and fsyncs the directory. A file
// that fails half-way is removed (it holds nothing but what this call wrote).
func createSegment(dir string, base uint64, now time.Time) (*segment, error) {
	path := filepath.Join(dir, segmentName(base))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		// Left by an earlier attempt that failed after creating it: reuse it if it holds no record.
		if st, serr := os.Stat(path); serr == nil && st.Mode().IsRegular() && st.Size() <= fileHeaderSize {
			f, err = os.OpenFile(path, os.O_RDWR|os.O_TRUNC, 0)
		}
	}
	if err != nil {
		return nil, err
	}
	if _, err = f.Write(fileHeader(segMagic)); err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	sg := &segment{base: base, path: path, format: formatV2, f: f, size: fileHeaderSize, lastWrite: now}
	sg.dirty.Store(true)
	return sg, nil
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = fsync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Append implements store.Log.
func (l *diskLog) Append(msg *danubepb.StreamMessage) (uint64, error) {
	if msg == nil || msg.MsgId == nil {
		return 0, errNoMsgIDArg
	}
	r := reqPool.Get().(*appendReq)
	r.msg, r.err = msg, nil
	l.qmu.Lock()
	if err := cmp.Or(l.stopped, l.failed); err != nil {
		l.qmu.Unlock()
		reqPool.Put(r)
		return 0, err
	}
	l.queue = append(l.queue, r)
	lead := !l.writing
	l.writing = true
	l.qmu.Unlock()
	for {
		if lead {
			l.lead()
		}
		if lead = <-r.done; !lead {
			break
		}
	}
	off, err := r.off, r.err
	r.msg, r.err = nil, nil
	reqPool.Put(r)
	return off, err
}

// lead writes the queued Appends as one batch and then passes leadership on. The caller is the leader.
func (l *diskLog) lead() {
	// Let the goroutines that are ready to run queue their Appends first: each write(2) costs about as much as
	// encoding tens of records, so a batch of one or two (what the queue holds when the leader is woken right
	// after the last write) spends most of the time in the system call. Gosched returns at once when nothing
	// else is ready, so a lone appender does not wait.
	runtime.Gosched()
	l.qmu.Lock()
	batch := l.queue
	l.queue, l.spare = l.spare[:0], nil
	if mb := l.s.opts.maxBatch; mb > 0 && len(batch) > mb {
		l.queue = append(l.queue, batch[mb:]...)
		batch = batch[:mb]
	}
	failed := l.failed // (a stop lets what was queued before it finish)
	l.qmu.Unlock()

	if failed != nil {
		for _, r := range batch {
			r.err = failed
			r.done <- false
		}
	} else {
		l.process(batch)
	}

	l.qmu.Lock()
	clear(batch)
	l.spare = batch[:0]
	if len(l.queue) > 0 {
		next := l.queue[0]
		l.qmu.Unlock()
		next.done <- true
		return
	}
	l.writing = false
	l.qidle.Broadcast()
	l.qmu.Unlock()
}

// stuckError is a write failure after which the log's file is in an unknown state: an fsync failed (the kernel
// may have dropped the written pages) or a failed write could not be cut back. The log then refuses appends
// until the store is reopened, whose recovery finds out what is on disk.
type stuckError struct{ err error }

func (e *stuckError) Error() string {
	return e.err.Error() + "; writes to this file fail until the store is reopened (restart the broker once the disk is healthy)"
}

func (e *stuckError) Unwrap() error { return e.err }

// fail makes every later Append fail with err.
func (l *diskLog) fail(err error) {
	l.qmu.Lock()
	if l.failed == nil {
		l.failed = err
	}
	l.qmu.Unlock()
	l.s.log.Error("disk: a topic log failed; it refuses appends until the store is reopened", "topic", l.topic, "err", err)
}

// process encodes, writes and (per the policy) fsyncs one batch, then completes its Appends or hands them to
// the committer.
func (l *diskLog) process(batch []*appendReq) {
	opts := &l.s.opts
	buf, pos, msgs, done := l.wbuf[:0], l.wpos[:0], l.wmsgs[:0], l.wdone[:0]
	sg := l.active
	var err error
	rest := 0    // batch[rest:] has not been handled when err is set
	durable := 0 // done[:durable] are written and fsynced (before a roll)
	for i, r := range batch {
		r.off = l.written + uint64(len(msgs))
		r.msg.MsgId.TopicOffset = r.off
		recStart := len(buf)
		var eerr error
		if buf, eerr = appendRecord(buf, r.msg); eerr != nil {
			r.err = eerr
			r.done <- false
			rest = i + 1
			continue
		}
		if sg.size+int64(len(buf)) > opts.SegmentBytes && (recStart > 0 || sg.size > fileHeaderSize) && r.off != sg.base {
			// The record does not fit in the active segment: write what precedes it, then roll.
			if recStart > 0 {
				err = l.writeChunk(sg, buf[:recStart], pos, msgs)
			}
			if err == nil {
				// The sealed segment is fsynced under every policy (once per segment): otherwise a machine
				// crash could keep the new segment and cut the old one.
				if err = l.syncSeg(sg); err != nil {
					err = &stuckError{fmt.Errorf("fsync: %w", err)}
				} else {
					durable = len(done)
				}
			}
			if err == nil {
				err = l.roll()
			}
			if err != nil {
				rest = i
				break
			}
			buf = buf[:copy(buf, buf[recStart:])]
			recStart = 0
			pos, msgs = pos[:0], msgs[:0]
			sg = l.active
		}
		pos = append(pos, uint32(sg.size+int64(recStart)))
		msgs = append(msgs, r.msg)
		done = append(done, r)
		rest = i + 1
	}
	if err == nil && len(msgs) > 0 {
		err = l.writeChunk(sg, buf, pos, msgs)
	}
	if err == nil && opts.Fsync == FsyncAlways && len(done) > 0 {
		if err = l.syncSeg(sg); err != nil {
			err = &stuckError{fmt.Errorf("fsync: %w", err)}
		}
	}
	if cap(buf) > 4<<20 {
		buf = nil
	}
	clear(msgs)
	l.wbuf, l.wpos, l.wmsgs = buf[:0], pos[:0], msgs[:0]
	if err != nil {
		err = fmt.Errorf("disk: appending to %q: %w", l.topic, err)
		if _, stuck := errors.AsType[*stuckError](err); stuck {
			l.fail(err)
			durable = 0
		} else {
			// Only this batch fails (for example on a full disk): the file was cut back to its last good
			// record, and the next Append tries again. The records written before a roll stay, durable.
			l.s.log.Error("disk: appending failed", "topic", l.topic, "err", err)
			l.mu.Lock()
			l.next.Store(l.written)
			l.mu.Unlock()
		}
		for _, r := range done[:durable] {
			r.done <- false
		}
		failed := append(done[durable:], batch[rest:]...)
		for _, r := range failed {
			r.err = err
			r.done <- false
		}
		clear(failed)
		clear(done)
		l.wdone = done[:0]
		return
	}
	if opts.Fsync == FsyncInterval && len(done) > 0 {
		// The committer fsyncs within the interval; the Appends do not wait for it.
		l.cmu.Lock()
		if n := len(l.dirtySegs); n == 0 || l.dirtySegs[n-1] != sg {
			l.dirtySegs = append(l.dirtySegs, sg)
		}
		l.cmu.Unlock()
		l.s.commit.markDirty(l)
	}
	l.mu.Lock()
	l.next.Store(l.written)
	l.mu.Unlock()
	for _, r := range done {
		r.done <- false
	}
	clear(done)
	l.wdone = done[:0]
}

// writeChunk writes encoded records to the end of sg and indexes them (they are not visible yet).
func (l *diskLog) writeChunk(sg *segment, buf []byte, pos []uint32, msgs []*danubepb.StreamMessage) error {
	if n, err := sg.f.WriteAt(buf, sg.size); err != nil {
		// Cut the file back, even when nothing seems written: a failed write may still have extended it.
		if terr := sg.f.Truncate(sg.size); terr != nil {
			return &stuckError{fmt.Errorf("%w (after writing %d bytes; cutting %s back to %d bytes failed: %w)", err, n, sg.path, sg.size, terr)}
		}
		return err
	}
	sg.dirty.Store(true)
	l.writes.Add(1)
	now := l.s.opts.now()
	end := sg.size + int64(len(buf))
	l.mu.Lock()
	if sg.offs == nil && msgs[0].MsgId.TopicOffset == sg.base+uint64(len(sg.pos)) {
		sg.pos = append(sg.pos, pos...)
	} else {
		for i, m := range msgs {
			sg.add(pos[i], m.MsgId.TopicOffset)
		}
	}
	sg.size = end
	sg.lastWrite = now
	l.totalBytes += int64(len(buf))
	if l.s.opts.CacheBytes > 0 {
		for _, m := range msgs {
			rec := l.cacheRecord(m)
			l.cache = append(l.cache, rec)
			l.cacheBytes += int64(cap(rec)) + cacheEntryOverhead
		}
		l.evictLocked(l.s.opts.CacheBytes)
	} else {
		l.cacheStart += uint64(len(msgs))
	}
	overRetention := l.s.opts.RetentionBytes > 0 && l.totalBytes > l.s.opts.RetentionBytes && len(l.segs) > 1
	l.mu.Unlock()
	l.written += uint64(len(msgs))
	if overRetention {
		l.s.kickRetention()
	}
	return nil
}

// evictLocked drops the oldest cached messages until the cache holds at most limit bytes, the current block's
// unused end included. Caller holds mu.
func (l *diskLog) evictLocked(limit int64) {
	n, held := 0, l.cacheBytes+int64(cap(l.cacheBlock)-len(l.cacheBlock))
	for n < len(l.cache) && held > limit {
		held -= int64(cap(l.cache[n])) + cacheEntryOverhead
		n++
	}
	l.dropCacheLocked(n)
}

// dropCacheLocked drops the n oldest cached messages. Caller holds mu.
func (l *diskLog) dropCacheLocked(n int) {
	if n == 0 {
		return
	}
	for _, rec := range l.cache[:n] {
		l.cacheBytes -= int64(cap(rec)) + cacheEntryOverhead
	}
	clear(l.cache[:n])
	l.cache = l.cache[n:]
	l.cacheStart += uint64(n)
	if len(l.cache) == 0 {
		l.cache = nil
		l.cacheBlock = nil // nothing refers to it any more
	}
}

// roll seals the active segment, which the caller fsynced, and starts a new one at written. Called by the
// leader. The new file's directory entry is fsynced under every policy.
func (l *diskLog) roll() error {
	old := l.active
	sg, err := createSegment(l.dir, l.written, l.s.opts.now())
	if err != nil {
		return err
	}
	l.mu.Lock()
	old.sealed = true
	l.segs = append(l.segs, sg)
	l.totalBytes += sg.size
	l.active = sg
	l.mu.Unlock()
	if o := l.obs.Load(); o != nil {
		o.o.Rotated(store.RotateSize)
	}
	l.s.kickRetention()
	return nil
}

// commit is the committer's FsyncInterval round for this log: it fsyncs the segments written since the last
// round.
func (l *diskLog) commit() {
	l.cmu.Lock()
	segs := l.dirtySegs
	l.dirtySegs = nil
	l.cmu.Unlock()
	for _, sg := range segs {
		if err := l.syncSeg(sg); err != nil {
			l.fail(fmt.Errorf("disk: fsync of %q: %w", l.topic, &stuckError{err}))
			return
		}
	}
}

// stop makes later Appends fail with err, waits for the Appends in progress and closes the log for readers.
func (l *diskLog) stop(err error) {
	l.qmu.Lock()
	if l.stopped == nil {
		l.stopped = err
	}
	for l.writing {
		l.qidle.Wait()
	}
	l.qmu.Unlock()
	l.mu.Lock()
	l.closed = err
	l.mu.Unlock()
	// Wait for a truncation that already took its segments out: its files must be gone before the
	// directory can be deleted and a log of the same name created in its place.
	l.delMu.Lock()
	l.delMu.Unlock() //nolint:staticcheck // an empty critical section is the point
}

// closeFiles closes every segment file, fsyncing dirty ones first when sync is set. The log must be stopped.
func (l *diskLog) closeFiles(sync bool) error {
	l.mu.RLock()
	segs := l.segs
	l.mu.RUnlock()
	var errs []error
	for _, sg := range segs {
		errs = append(errs, sg.close(sync))
	}
	if sync && l.dirDirty.Swap(false) {
		errs = append(errs, syncDir(l.dir))
	}
	return errors.Join(errs...)
}

// Read implements store.Log. Offsets that recovery lost are skipped: the messages returned carry their offsets
// in MsgId.TopicOffset, and Read returns nothing only when no message at or above from is stored.
func (l *diskLog) Read(from uint64, max int) ([]*danubepb.StreamMessage, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed != nil {
		return nil, l.closed
	}
	start, next := l.start.Load(), l.next.Load()
	if from < start {
		return nil, store.ErrOffsetTruncated
	}
	if from >= next || max <= 0 {
		return nil, nil
	}
	out := make([]*danubepb.StreamMessage, 0, min(uint64(max), next-from, 4096))
	if from < l.cacheStart {
		var err error
		if out, err = l.readFilesLocked(out, from, min(l.cacheStart, next), max); err != nil {
			return nil, err
		}
		from = l.cacheStart
	}
	if n := min(next-from, uint64(max-len(out))); from < next && n > 0 {
		i := from - l.cacheStart
		return l.cacheCodec.Decode(out, l.cache[i:i+n], from)
	}
	return out, nil
}

const readChunk = 1 << 20

var readBufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// readFilesLocked appends to out, up to limit messages in all, the records with offsets in [from, to) read from
// the segment files. Caller holds mu.RLock.
func (l *diskLog) readFilesLocked(out []*danubepb.StreamMessage, from, to uint64, limit int) ([]*danubepb.StreamMessage, error) {
	bp := readBufPool.Get().(*[]byte)
	defer readBufPool.Put(bp)
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].base > from }) - 1
	for i = max(i, 0); i < len(l.segs) && len(out) < limit; i++ {
		sg := l.segs[i]
		if sg.base >= to {
			break
		}
		j, k := sg.search(from), len(sg.pos)
		if j >= k {
			continue
		}
		f, err := sg.file()
		if err != nil {
			return nil, fmt.Errorf("disk: reading %q: %w", l.topic, err)
		}
		recEnd := func(x int) int64 {
			if e, ok := sg.ends[x]; ok {
				return e // damaged bytes that recovery skipped follow it: they are not read
			}
			if x+1 < len(sg.pos) {
				return int64(sg.pos[x+1])
			}
			return sg.size
		}
		for j < k && len(out) < limit && sg.offset(j) < to {
			startPos := int64(sg.pos[j])
			e := j + 1
			for e < k && e-j < limit-len(out) && sg.offset(e) < to && recEnd(e)-startPos <= readChunk {
				e++
			}
			n := int(recEnd(e-1) - startPos)
			if cap(*bp) < n {
				*bp = make([]byte, n)
			}
			b := (*bp)[:n]
			if _, err := f.ReadAt(b, startPos); err != nil && !(errors.Is(err, io.EOF) && len(b) == n) {
				return nil, fmt.Errorf("disk: reading %s: %w", sg.path, err)
			}
			for x := j; x < e; x++ {
				want := sg.offset(x)
				p, q := int64(sg.pos[x])-startPos, recEnd(x)-startPos
				var m *danubepb.StreamMessage
				if sg.format == formatV1 {
					m, _, err = decodeRecordV1(b[p:q], want)
				} else {
					m, _, err = decodeRecord(b[p:q], want)
				}
				if err != nil {
					return nil, fmt.Errorf("disk: corrupt record at offset %d of %q in %s: %w", want, l.topic, sg.path, err)
				}
				out = append(out, m)
			}
			j = e
		}
	}
	if cap(*bp) > 4<<20 {
		*bp = nil
	}
	return out, nil
}

// StartOffset implements store.Log.
func (l *diskLog) StartOffset() uint64 { return l.start.Load() }

// NextOffset implements store.Log.
func (l *diskLog) NextOffset() uint64 { return l.next.Load() }

// TruncateBefore implements store.Log: it deletes the sealed segments whose records are all below offset.
func (l *diskLog) TruncateBefore(offset uint64) error {
	l.delMu.Lock()
	defer l.delMu.Unlock()
	l.mu.Lock()
	if l.closed != nil {
		l.mu.Unlock()
		return l.closed
	}
	n := 0
	for n+1 < len(l.segs) && l.segs[n+1].base <= offset && l.segs[n].sealed {
		n++
	}
	victims := l.removeLocked(n)
	l.mu.Unlock()
	return l.deleteFiles(victims, ReasonAcknowledged)
}

// retain enforces RetentionAge and RetentionBytes on the sealed segments.
func (l *diskLog) retain(now time.Time) error {
	opts := &l.s.opts
	l.delMu.Lock()
	defer l.delMu.Unlock()
	l.mu.Lock()
	if l.closed != nil {
		l.mu.Unlock()
		return nil
	}
	var byAge, bySize int
	total := l.totalBytes
	for i := 0; i+1 < len(l.segs) && l.segs[i].sealed; i++ {
		sg := l.segs[i]
		if opts.RetentionAge > 0 && now.Sub(sg.lastWrite) > opts.RetentionAge && bySize == 0 {
			byAge++
		} else if opts.RetentionBytes > 0 && total > opts.RetentionBytes {
			bySize++
		} else {
			break
		}
		total -= sg.size
	}
	aged := l.removeLocked(byAge)
	sized := l.removeLocked(bySize)
	l.mu.Unlock()
	return errors.Join(l.deleteFiles(aged, ReasonAge), l.deleteFiles(sized, ReasonSize))
}

// removeLocked takes the n oldest segments out of the log and returns them. Caller holds mu.
func (l *diskLog) removeLocked(n int) []*segment {
	if n == 0 {
		return nil
	}
	victims := append([]*segment(nil), l.segs[:n]...)
	clear(l.segs[:n])
	l.segs = l.segs[n:]
	for _, sg := range victims {
		l.totalBytes -= sg.size
	}
	start := l.segs[0].base
	l.start.Store(start)
	if l.cacheStart < start {
		l.dropCacheLocked(int(min(start-l.cacheStart, uint64(len(l.cache)))))
		l.cacheStart = max(l.cacheStart, start)
	}
	return victims
}

// deleteFiles closes and removes segments taken out of the log and reports them.
func (l *diskLog) deleteFiles(victims []*segment, reason string) error {
	if len(victims) == 0 {
		return nil
	}
	var errs []error
	evs := make([]RetentionEvent, 0, len(victims))
	for _, sg := range victims {
		sg.close(false)
		if err := os.Remove(sg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		last := sg.base
		if end := sg.end(); end > sg.base {
			last = end - 1
		}
		evs = append(evs, RetentionEvent{Topic: l.topic, FirstOffset: sg.base, LastOffset: last, Bytes: sg.size, Reason: reason})
	}
	if o := l.obs.Load(); o != nil && len(evs) > 0 {
		o.o.Deleted(len(evs), reason)
	}
	l.s.deleted(evs)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("disk: deleting segments of %q: %w", l.topic, err)
	}
	return nil
}

// file returns the segment's open file, opening a sealed segment on first use.
func (sg *segment) file() (*os.File, error) {
	sg.fmu.Lock()
	defer sg.fmu.Unlock()
	if sg.f != nil {
		return sg.f, nil
	}
	if sg.dead {
		return nil, store.ErrClosed
	}
	f, err := os.Open(sg.path)
	if err != nil {
		return nil, err
	}
	sg.f = f
	return f, nil
}

// sync fsyncs the segment if it has unsynced writes, and says whether it called fsync.
func (sg *segment) sync() (bool, error) {
	if !sg.dirty.Load() {
		return false, nil
	}
	sg.fmu.Lock()
	defer sg.fmu.Unlock()
	if sg.f == nil || !sg.dirty.Swap(false) {
		return false, nil
	}
	if err := fsync(sg.f); err != nil {
		sg.dirty.Store(true)
		return true, err
	}
	return true, nil
}

// close closes the segment's file for good, fsyncing it first if asked and needed.
func (sg *segment) close(sync bool) error {
	sg.fmu.Lock()
	defer sg.fmu.Unlock()
	sg.dead = true
	if sg.f == nil {
		return nil
	}
	var err error
	if sync && sg.dirty.Swap(false) {
		err = fsync(sg.f)
	}
	if cerr := sg.f.Close(); err == nil {
		err = cerr
	}
	sg.f = nil
	return err
}
