// Package disk is an on-disk implementation of store.Store.
//
// Layout of a store directory:
//
//	LOCK                      advisory lock: one store per directory
//	meta.log                  the metadata key-value space, an append-only log of put/delete records
//	topics/t-<hex of name>/   one directory per topic log (h-<hash>/ with a TOPIC file for very long names)
//	    <20-digit offset>.seg segment files, named by the offset of their first record
//
// Segment files and the metadata file start with a file header naming their format version; every record is
// framed with a marker, its offset, its length and two CRC-32C checksums, one of the header and one of the body
// (record.go). A segment record's body is the protobuf encoding of the danubepb.StreamMessage, whose
// msg_id.topic_offset is the record's offset. Open scans every segment once and builds an in-memory index (4
// bytes per record: its position in its segment, plus 8 for its offset in segments with holes). Recovery keeps
// every intact record: a damaged record is skipped and reading resumes at the next valid one, so a log may have
// holes in its offsets; nothing is deleted (see RecoveryReport). Files of the earlier format (version 1) are
// still read; appends go to new files of the current format. Appends are group-committed: concurrent Appends on
// one topic are written with one write(2) and, depending on the FsyncPolicy, one fsync. A failed write fails
// only its batch; a failed fsync, or a file that cannot be cut back after a failed write, fails the log until
// the store is reopened.
package disk

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/danube-console/danube-console/broker/store"
)

// FsyncPolicy says when an Append (or a metadata change) is made durable with fsync before it returns.
type FsyncPolicy int

const (
	// FsyncInterval, the default, returns right after write(2), like FsyncNever, and a committer fsyncs every
	// file written since its last round once per Options.FsyncInterval: a process crash loses nothing, a
	// machine crash at most the last interval. Appends never wait for the committer.
	FsyncInterval FsyncPolicy = iota
	// FsyncAlways fsyncs every batch of Appends before they return.
	FsyncAlways
	// FsyncNever returns right after write(2); the operating system writes the data back when it likes (and
	// Close fsyncs). A process crash loses nothing, a machine crash may lose recent records.
	FsyncNever
)

// String returns "interval", "always" or "never".
func (p FsyncPolicy) String() string {
	switch p {
	case FsyncInterval:
		return "interval"
	case FsyncAlways:
		return "always"
	case FsyncNever:
		return "never"
	}
	return fmt.Sprintf("FsyncPolicy(%d)", int(p))
}

// ParseFsyncPolicy parses "always", "interval" or "never" (case-insensitively).
func ParseFsyncPolicy(s string) (FsyncPolicy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "always":
		return FsyncAlways, nil
	case "interval":
		return FsyncInterval, nil
	case "never":
		return FsyncNever, nil
	}
	return 0, fmt.Errorf("disk: unknown fsync policy %q (want always, interval or never)", s)
}

// Defaults for zero Options fields.
const (
	DefaultFsyncInterval = 5 * time.Millisecond
	DefaultSegmentBytes  = 64 << 20
	DefaultCacheBytes    = 8 << 20

	maxSegmentBytes        = 1 << 30
	defaultRetentionEvery  = time.Second
	defaultMetaCompactMin  = 256 << 10
	metaCompactFactor      = 4
	maxConcurrentCommits   = 16
	recoveryReadBufferSize = 1 << 20
)

// Options configure a Store. The zero value is valid.
type Options struct {
	// Fsync is the durability policy of Appends and metadata changes.
	Fsync FsyncPolicy
	// FsyncInterval is the group-commit period of FsyncInterval (default 5ms).
	FsyncInterval time.Duration
	// SegmentBytes rolls a topic's segment file once the next batch would make it larger (default 64 MiB, at
	// most 1 GiB). A single batch larger than this is split at record boundaries; a single record larger than
	// this gets a segment of its own.
	SegmentBytes int64
	// RetentionBytes, when positive, keeps at most this many bytes per topic log by deleting its oldest sealed
	// segments (the active segment is never deleted).
	RetentionBytes int64
	// RetentionAge, when positive, deletes sealed segments whose newest record is older than this.
	RetentionAge time.Duration
	// CacheBytes bounds the per-topic cache of the most recently appended messages, from which most reads are
	// served (default 8 MiB; negative disables the cache, so that every read goes to the files). The cache
	// keeps compact records (about 300 bytes for a 256-byte message), and the bound counts what it holds.
	CacheBytes int64
	// Logger receives recovery warnings and I/O errors; nil discards them.
	Logger *slog.Logger
	// OnDelete, when set, is called for every segment deleted by TruncateBefore ("acknowledged"),
	// RetentionBytes ("size") or RetentionAge ("age"), after the file is removed. It is never called under a
	// lock that Append needs, but may be called from several goroutines at once.
	OnDelete func(RetentionEvent)

	// Knobs for the package's own tests and benchmarks.
	now            func() time.Time // clock for RetentionAge
	retentionEvery time.Duration    // period of the retention check
	maxBatch       int              // limit on the Appends in one group commit (0: unlimited)
	metaCompactMin int64            // the metadata file is never compacted below this size
}

// RetentionEvent describes one deleted segment: the offsets it held (inclusive) and its size.
type RetentionEvent struct {
	Topic       string
	FirstOffset uint64
	LastOffset  uint64
	Bytes       int64
	Reason      string // "acknowledged", "size" or "age"
}

// Reasons in RetentionEvent.Reason.
const (
	ReasonAcknowledged = "acknowledged"
	ReasonSize         = "size"
	ReasonAge          = "age"
)

// RecoveryReport is store.RecoveryReport: what Open found damaged and what it did about it.
type RecoveryReport = store.RecoveryReport

// Store is a store.Store kept in a directory. It is safe for concurrent use.
type Store struct {
	dir       string
	topicsDir string
	opts      Options
	log       *slog.Logger
	lock      *os.File
	meta      *metaStore
	commit    *committer // nil unless the policy is FsyncInterval
	recovery  []RecoveryReport

	mu     sync.Mutex
	closed bool
	logs   map[string]*diskLog

	retKick chan struct{}
	quit    chan struct{}
	wg      sync.WaitGroup
}

var _ store.Store = (*Store)(nil)

// ErrLocked: another store (in this process or another) has the directory open.
var ErrLocked = errors.New("disk: the directory is in use by another store")

// Open opens the store in dir, creating the directory if it is missing, and recovers every topic log and the
// metadata: every intact record is kept, damaged ones are skipped or moved aside (never deleted), and each
// damaged part is logged at ERROR level and reported by Recovery. On Unix, a directory another
// store has open is ErrLocked (elsewhere nothing keeps two stores from sharing one).
func Open(dir string, opts Options) (*Store, error) {
	if err := opts.normalize(); err != nil {
		return nil, err
	}
	s := &Store{
		dir:       dir,
		topicsDir: filepath.Join(dir, "topics"),
		opts:      opts,
		log:       opts.Logger,
		logs:      make(map[string]*diskLog),
		retKick:   make(chan struct{}, 1),
		quit:      make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(s.topicsDir, 0o755); err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	lock, err := lockDir(filepath.Join(dir, "LOCK"))
	if err != nil {
		return nil, err
	}
	s.lock = lock
	if opts.Fsync == FsyncInterval {
		s.commit = newCommitter(opts.FsyncInterval)
	}
	if err := s.recover(); err != nil {
		for _, l := range s.logs {
			l.closeFiles(false)
		}
		s.closeFiles()
		return nil, err
	}
	// The reports are not logged here: the broker reports them once, with what it restored on top (Recovery).
	if s.commit != nil {
		s.wg.Go(func() { s.commit.run(s.quit) })
	}
	if opts.RetentionBytes > 0 || opts.RetentionAge > 0 {
		s.wg.Go(s.retentionLoop)
	}
	return s, nil
}

func (o *Options) normalize() error {
	switch o.Fsync {
	case FsyncAlways, FsyncInterval, FsyncNever:
	default:
		return fmt.Errorf("disk: invalid fsync policy %v", o.Fsync)
	}
	if o.FsyncInterval < 0 || o.SegmentBytes < 0 || o.RetentionBytes < 0 || o.RetentionAge < 0 {
		return errors.New("disk: negative option")
	}
	if o.FsyncInterval == 0 {
		o.FsyncInterval = DefaultFsyncInterval
	}
	if o.SegmentBytes == 0 {
		o.SegmentBytes = DefaultSegmentBytes
	}
	o.SegmentBytes = min(o.SegmentBytes, maxSegmentBytes)
	if o.CacheBytes == 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.retentionEvery <= 0 {
		o.retentionEvery = defaultRetentionEvery
	}
	if o.metaCompactMin <= 0 {
		o.metaCompactMin = defaultMetaCompactMin
	}
	return nil
}

// recover opens the metadata and every topic log found in the directory.
func (s *Store) recover() error {
	m, reports, err := openMeta(s, filepath.Join(s.dir, metaFile))
	if err != nil {
		return err
	}
	s.meta = m
	s.recovery = append(s.recovery, reports...)
	entries, err := os.ReadDir(s.topicsDir)
	if err != nil {
		return fmt.Errorf("disk: %w", err)
	}
	var buf []byte // grown to recoveryReadBufferSize as the segments need
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(s.topicsDir, name)
		if strings.HasPrefix(name, trashPrefix) {
			// A DeleteLog that did not finish.
			if err := os.RemoveAll(path); err != nil {
				return fmt.Errorf("disk: removing a deleted log: %w", err)
			}
			continue
		}
		if !e.IsDir() {
			continue
		}
		topic, ok := topicFromDirName(name)
		if !ok && strings.HasPrefix(name, hashPrefix) {
			b, err := os.ReadFile(filepath.Join(path, nameFile))
			if want, _ := topicDirName(string(b)); err == nil && want == name {
				topic, ok = string(b), true
			}
		}
		if !ok {
			s.log.Warn("disk: ignoring an unknown directory among the topic logs", "dir", path)
			continue
		}
		l, reports, err := s.openLog(topic, path, &buf)
		if err != nil {
			return err
		}
		s.logs[topic] = l
		s.recovery = append(s.recovery, reports...)
	}
	return nil
}

// Recovery returns what Open found damaged, one report per damaged region, moved file or missing range.
func (s *Store) Recovery() []RecoveryReport { return slices.Clone(s.recovery) }

// Meta implements store.Store.
func (s *Store) Meta() store.Meta { return s.meta }

// Log implements store.Store. The first call for a topic that has no log creates its directory and first
// segment.
func (s *Store) Log(topic string) (store.Log, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	if l, ok := s.logs[topic]; ok {
		return l, nil
	}
	l, err := s.createLog(topic)
	if err != nil {
		return nil, err
	}
	s.logs[topic] = l
	return l, nil
}

// Topics implements store.Store.
func (s *Store) Topics() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	out := make([]string, 0, len(s.logs))
	for t := range s.logs {
		out = append(out, t)
	}
	slices.Sort(out)
	return out, nil
}

// DeleteLog implements store.Store. The log's directory is renamed away and then removed; a crash in between
// is finished by the next Open. A handle to the deleted log fails with an error wrapping store.ErrClosed.
func (s *Store) DeleteLog(topic string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return store.ErrClosed
	}
	l, ok := s.logs[topic]
	if !ok {
		s.mu.Unlock()
		return nil
	}
	delete(s.logs, topic)
	l.stop(fmt.Errorf("disk: log of topic %q was deleted: %w", topic, store.ErrClosed))
	l.closeFiles(false)
	trash := filepath.Join(s.topicsDir, fmt.Sprintf("%s%d-%s", trashPrefix, time.Now().UnixNano(), filepath.Base(l.dir)))
	err := os.Rename(l.dir, trash)
	if err == nil {
		err = syncDir(s.topicsDir)
	} else {
		trash = l.dir
	}
	s.mu.Unlock()
	if rerr := os.RemoveAll(trash); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("disk: deleting the log of %q: %w", topic, err)
	}
	return nil
}

// Close implements store.Store: it waits for the Appends in progress, fsyncs every file, stops the store's
// goroutines and closes its files. Every method fails with store.ErrClosed afterwards.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	logs := make([]*diskLog, 0, len(s.logs))
	for _, l := range s.logs {
		logs = append(logs, l)
	}
	s.mu.Unlock()
	for _, l := range logs {
		l.stop(store.ErrClosed)
	}
	s.meta.stop()
	close(s.quit) // the committer's last round releases the Appends still waiting for an fsync
	s.wg.Wait()
	var errs []error
	for _, l := range logs {
		errs = append(errs, l.closeFiles(true))
	}
	errs = append(errs, s.closeFiles())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("disk: closing: %w", err)
	}
	return nil
}

// closeFiles closes the metadata file and the directory lock.
func (s *Store) closeFiles() error {
	var errs []error
	if s.meta != nil {
		errs = append(errs, s.meta.close())
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
	}
	return errors.Join(errs...)
}

// retentionLoop enforces RetentionBytes and RetentionAge periodically and after segment rolls.
func (s *Store) retentionLoop() {
	t := time.NewTicker(s.opts.retentionEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.retKick:
		case <-s.quit:
			return
		}
		s.enforceRetention()
	}
}

func (s *Store) kickRetention() {
	if s.opts.RetentionBytes <= 0 && s.opts.RetentionAge <= 0 {
		return
	}
	select {
	case s.retKick <- struct{}{}:
	default:
	}
}

// enforceRetention applies RetentionBytes and RetentionAge to every log once.
func (s *Store) enforceRetention() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	logs := make([]*diskLog, 0, len(s.logs))
	for _, l := range s.logs {
		logs = append(logs, l)
	}
	s.mu.Unlock()
	slices.SortFunc(logs, func(a, b *diskLog) int { return cmp.Compare(a.topic, b.topic) })
	now := s.opts.now()
	for _, l := range logs {
		if err := l.retain(now); err != nil {
			s.log.Error("disk: enforcing retention", "topic", l.topic, "err", err)
		}
	}
}

// deleted reports removed segments.
func (s *Store) deleted(evs []RetentionEvent) {
	for _, ev := range evs {
		s.log.Debug("disk: deleted a segment", "topic", ev.Topic, "first", ev.FirstOffset, "last", ev.LastOffset,
			"bytes", ev.Bytes, "reason", ev.Reason)
		if s.opts.OnDelete != nil {
			s.opts.OnDelete(ev)
		}
	}
}

// committer implements FsyncInterval: it fsyncs every dirty log and the metadata at most once per interval and
// then releases the operations that waited for it.
type committer struct {
	interval time.Duration
	kick     chan struct{}
	mu       sync.Mutex
	dirty    map[syncer]struct{}
	spare    map[syncer]struct{}
}

// syncer is something the committer fsyncs: a topic log or the metadata.
type syncer interface {
	// commit fsyncs what was written so far and releases the operations that waited for it.
	commit()
}

func newCommitter(interval time.Duration) *committer {
	return &committer{
		interval: interval,
		kick:     make(chan struct{}, 1),
		dirty:    make(map[syncer]struct{}),
		spare:    make(map[syncer]struct{}),
	}
}

// markDirty asks for s to be committed in the next round.
func (c *committer) markDirty(s syncer) {
	c.mu.Lock()
	c.dirty[s] = struct{}{}
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *committer) run(quit <-chan struct{}) {
	var last time.Time
	for {
		select {
		case <-c.kick:
		case <-quit:
			c.round()
			return
		}
		if wait := c.interval - time.Since(last); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-quit:
				t.Stop()
				c.round()
				return
			}
		}
		last = time.Now()
		c.round()
	}
}

// round commits everything marked dirty, several syncers at a time.
func (c *committer) round() {
	c.mu.Lock()
	dirty := c.dirty
	c.dirty, c.spare = c.spare, nil
	c.mu.Unlock()
	defer func() {
		clear(dirty)
		c.mu.Lock()
		c.spare = dirty
		c.mu.Unlock()
	}()
	if len(dirty) == 1 {
		for s := range dirty {
			s.commit()
		}
		return
	}
	work := make(chan syncer)
	var wg sync.WaitGroup
	for range min(len(dirty), maxConcurrentCommits) {
		wg.Go(func() {
			for s := range work {
				s.commit()
			}
		})
	}
	for s := range dirty {
		work <- s
	}
	close(work)
	wg.Wait()
}

// fsync flushes a file to stable storage. It is a variable so that the fuzz tests, which are about file
// contents and not about durability, can skip the cost.
var fsync = (*os.File).Sync
