package filetail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/danube-console/danube-console/connectors"
)

// ErrClosed is returned by Connect and Read after Close.
var ErrClosed = errors.New("file-tail: closed")

// fingerprintMax is how many leading bytes of a file its fingerprint covers.
const fingerprintMax = 1024

// chunkSize is how much one read of the file asks for.
const chunkSize = 64 << 10

// Position is a place in a followed file, as saved in the position file (JSON).
type Position struct {
	// Path is the followed path (for information; the file is identified by Dev, Ino and Fingerprint).
	Path string `json:"path"`
	// Dev and Ino are the file's device and inode numbers (0 where the system has none).
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
	// Offset is the byte offset after the last acknowledged line.
	Offset int64 `json:"offset"`
	// Fingerprint is the hex SHA-256 of the file's first FingerprintLen bytes (min(Offset, 1024)); it tells
	// a reused inode from the saved file.
	FingerprintLen int64  `json:"fingerprint_len"`
	Fingerprint    string `json:"fingerprint"`
}

// Source is the file-tail source. It follows the connectors.Source contract: Connect, Read and Close are
// called one at a time; the AckFuncs it returns and Committed may be called from any goroutine.
type Source struct {
	path     string
	posPath  string
	startEnd bool
	poll     time.Duration
	maxLine  int
	batch    int
	log      *slog.Logger

	done      chan struct{} // closed by Close, to wake a waiting Read
	closeOnce sync.Once

	readMu    sync.Mutex // guards the reading state below
	connected bool
	closed    bool
	f         *os.File    // the followed file; nil while path does not exist
	fi        os.FileInfo // f's stat when opened, to recognise it at path
	dev, ino  uint64
	readOff   int64  // offset in f of the next byte to read
	buf       []byte // bytes read from f; buf[0] is at bufOff
	bufOff    int64
	start     int    // buf[:start] is consumed (returned as records)
	fp        string // fingerprint of f's first fingerprintMax bytes, once known
	chunk     []byte

	commitMu     sync.Mutex // guards the commit state below, and orders the writes of the position file
	gen          uint64     // incremented by Connect: acks of batches read before are ignored
	queue        []*inflight
	committed    Position
	hasCommitted bool
}

// inflight is a batch returned by Read and not yet committed.
type inflight struct {
	gen     uint64
	pos     Position
	settled bool
	acked   bool
}

// New builds the source from validated settings; it touches no file (Connect does).
func New(cfg connectors.Config, res connectors.Resources) (*Source, error) {
	path := cfg.String(keyPath)
	if path == "" {
		return nil, connectors.ConfigError(connectors.FieldError{Key: keyPath, Err: errors.New("must not be empty")})
	}
	path = filepath.Clean(path)
	posPath := cfg.String(keyPositionFile)
	if posPath == "" {
		posPath = path + ".pos"
	}
	posPath = filepath.Clean(posPath)
	if posPath == path {
		return nil, connectors.ConfigError(connectors.FieldError{Key: keyPositionFile, Err: errors.New("must not be the followed file")})
	}
	s := &Source{
		path:     path,
		posPath:  posPath,
		startEnd: cfg.String(keyStartAt) == startEnd,
		poll:     cfg.Duration(keyPollInterval),
		maxLine:  int(cfg.Int(keyMaxLineBytes)),
		batch:    int(cfg.Int(keyBatchSize)),
		log:      res.Logger,
		done:     make(chan struct{}),
		chunk:    make([]byte, chunkSize),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("path", path)
	if s.poll <= 0 {
		s.poll = 250 * time.Millisecond
	}
	if s.maxLine <= 0 {
		s.maxLine = 1 << 20
	}
	if s.batch <= 0 {
		s.batch = 100
	}
	return s, nil
}

// PositionFile returns the file the source saves its position in.
func (s *Source) PositionFile() string { return s.posPath }

// Committed returns the last position saved to the position file (by an acknowledgement, or by the first
// Connect with start_at = "end"), or what was loaded from it; false when there is none.
func (s *Source) Committed() (Position, bool) {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	return s.committed, s.hasCommitted
}

// Connect (re)starts reading at the last saved position: batches read before and not yet committed are
// forgotten (their acknowledgements are ignored) and their lines read again. Without a saved position it
// starts as start_at says. A missing file is not an error: Read waits for it. A position file that cannot
// be parsed is a connectors.KindConfig error (delete it to start over); other failures are retryable.
func (s *Source) Connect(ctx context.Context) error {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	return s.connect()
}

// connect implements Connect; s.readMu is held.
func (s *Source) connect() error {
	if s.closed {
		return ErrClosed
	}
	s.closeFile()
	s.connected = false
	if _, err := os.Stat(filepath.Dir(s.posPath)); err != nil {
		return connectors.Retryable(fmt.Errorf("file-tail: the directory of position_file: %w", err))
	}

	s.commitMu.Lock()
	s.gen++
	s.queue = nil
	pos, has := s.committed, s.hasCommitted
	if !has {
		var err error
		pos, has, err = readPosition(s.posPath)
		if err != nil {
			s.commitMu.Unlock()
			return connectors.ConfigError(connectors.FieldError{Key: keyPositionFile, Err: err})
		}
		s.committed, s.hasCommitted = pos, has
	}
	s.commitMu.Unlock()

	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		s.log.Info("file-tail: waiting for the file to appear")
		s.connected = true
		return nil
	}
	if err != nil {
		return connectors.Retryable(fmt.Errorf("file-tail: %w", err))
	}
	fi, err := f.Stat()
	if err == nil {
		err = regular(s.path, fi)
	}
	if err != nil {
		f.Close()
		return connectors.Retryable(fmt.Errorf("file-tail: %w", err))
	}
	var off int64
	switch {
	case has:
		if ok, why := matches(f, fi, pos); ok {
			off = pos.Offset
		} else {
			s.log.Info("file-tail: the file is not the one of the saved position; reading it from the beginning", "reason", why)
		}
	case s.startEnd:
		if off, err = lastLineEnd(f, fi.Size()); err != nil {
			f.Close()
			return connectors.Retryable(fmt.Errorf("file-tail: %w", err))
		}
	}
	s.setFile(f, fi, off)
	s.connected = true
	if !has && s.startEnd {
		// Save the starting point at once: a restart must resume here, not at a later end.
		s.commitMu.Lock()
		defer s.commitMu.Unlock()
		p := s.position(off)
		if err := writePosition(s.posPath, p); err != nil {
			return connectors.Retryable(err)
		}
		s.committed, s.hasCommitted = p, true
	}
	return nil
}

// matches tells whether f is the file of pos, and if not, why.
func matches(f *os.File, fi os.FileInfo, pos Position) (bool, string) {
	dev, ino := fileID(fi)
	switch {
	case dev != pos.Dev || ino != pos.Ino:
		return false, "another inode"
	case fi.Size() < pos.Offset:
		return false, "shorter than the saved offset (truncated)"
	case pos.FingerprintLen > pos.Offset || pos.FingerprintLen < min(pos.Offset, fingerprintMax):
		return false, "invalid fingerprint length"
	}
	fp, err := fingerprint(f, pos.FingerprintLen)
	if err != nil || fp != pos.Fingerprint {
		return false, "other content (a reused inode or a rewritten file)"
	}
	return true, ""
}

// fingerprint returns the hex SHA-256 of f's first n bytes.
func fingerprint(f *os.File, n int64) (string, error) {
	b := make([]byte, n)
	if _, err := f.ReadAt(b, 0); err != nil && !(err == io.EOF && n == 0) {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// lastLineEnd returns the offset after f's last newline before size (0 when there is none), so that a
// start at the end does not begin in the middle of a line being written.
func lastLineEnd(f *os.File, size int64) (int64, error) {
	var chunk [8 << 10]byte
	for end := size; end > 0; {
		start := max(0, end-int64(len(chunk)))
		b := chunk[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// setFile makes f (with stat fi) the followed file, reading from off; s.readMu is held.
func (s *Source) setFile(f *os.File, fi os.FileInfo, off int64) {
	s.closeFile()
	s.f, s.fi = f, fi
	s.dev, s.ino = fileID(fi)
	s.rewind(off)
}

// rewind makes the next read of the followed file start at off, forgetting what was buffered; s.readMu is
// held.
func (s *Source) rewind(off int64) {
	s.readOff, s.bufOff = off, off
	s.buf, s.start = s.buf[:0], 0
	s.fp = ""
}

// closeFile stops following the current file; s.readMu is held.
func (s *Source) closeFile() {
	if s.f != nil {
		s.f.Close()
	}
	s.f, s.fi = nil, nil
	s.buf, s.start = s.buf[:0], 0
}

// Read returns the next complete lines (at most batch_size), waiting poll_interval between looks while there
// are none, and handling rotation and truncation. It returns ctx's error when ctx is cancelled, ErrClosed
// after Close, and retryable errors when the file cannot be read.
func (s *Source) Read(ctx context.Context) ([]connectors.Record, connectors.AckFunc, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	if s.closed {
		return nil, nil, ErrClosed
	}
	if !s.connected {
		if err := s.connect(); err != nil {
			return nil, nil, err
		}
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		recs, err := s.scan()
		if err != nil {
			s.unreadable()
			return nil, nil, connectors.Retryable(fmt.Errorf("file-tail: reading: %w", err))
		}
		if len(recs) > 0 {
			return recs, s.track(s.bufOff + int64(s.start)), nil
		}
		recs, end, again, err := s.follow()
		if err != nil {
			return nil, nil, connectors.Retryable(fmt.Errorf("file-tail: %w", err))
		}
		if len(recs) > 0 {
			return recs, s.track(end), nil
		}
		if again {
			continue
		}
		if timer == nil {
			timer = time.NewTimer(s.poll)
		} else {
			timer.Reset(s.poll)
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-s.done:
			return nil, nil, ErrClosed
		case <-timer.C:
		}
	}
}

// unreadable handles a read error of the followed file: when path no longer names it, the file is dropped,
// so that the next Read follows whatever path names then (a file that cannot be read cannot be drained);
// otherwise the next Read tries it again. s.readMu is held.
func (s *Source) unreadable() {
	if fi, err := os.Stat(s.path); err == nil && s.fi != nil && os.SameFile(fi, s.fi) {
		return
	}
	s.log.Warn("file-tail: the followed file cannot be read and path names another one; following that one")
	s.closeFile()
}

// scan returns the complete lines available in the followed file, at most batch_size; s.readMu is held.
func (s *Source) scan() ([]connectors.Record, error) {
	var recs []connectors.Record
	for len(recs) < s.batch {
		rec, consumed, ok := s.nextLine()
		if ok {
			recs = append(recs, rec)
			continue
		}
		if consumed {
			continue
		}
		if s.f == nil {
			break
		}
		if s.start > 0 { // drop the consumed bytes before reading more
			n := copy(s.buf, s.buf[s.start:])
			s.buf, s.bufOff, s.start = s.buf[:n], s.bufOff+int64(s.start), 0
		}
		n, err := s.f.ReadAt(s.chunk, s.readOff)
		s.buf = append(s.buf, s.chunk[:n]...)
		s.readOff += int64(n)
		if err != nil && err != io.EOF {
			return recs, err
		}
		if n == 0 {
			break
		}
	}
	return recs, nil
}

// nextLine takes the next line from the buffer: ok with a record, consumed without one for a blank line,
// neither when the buffer holds no complete line; s.readMu is held.
func (s *Source) nextLine() (rec connectors.Record, consumed, ok bool) {
	data := s.buf[s.start:]
	window := data[:min(len(data), s.maxLine+2)] // a line of maxLine bytes, "\r" and "\n"
	i := bytes.IndexByte(window, '\n')
	switch {
	case i >= 0 && (i <= s.maxLine || i == s.maxLine+1 && data[s.maxLine] == '\r'):
		line := data[:i]
		s.start += i + 1
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(line) == 0 {
			return rec, true, false
		}
		return connectors.Record{Payload: bytes.Clone(line)}, true, true
	case len(data) > s.maxLine+1 || len(data) == s.maxLine+1 && data[s.maxLine] != '\r':
		// Longer than maxLine (a "\r" at maxLine might still end the line: wait for the next byte).
		s.start += s.maxLine
		return connectors.Record{
			Payload:    bytes.Clone(data[:s.maxLine]),
			Attributes: map[string]string{PartialLineAttribute: "true"},
		}, true, true
	}
	return rec, false, false
}

// follow checks the path when the followed file has no complete line: it opens a file that appeared,
// rereads a truncated file from its start, and on rotation returns the old file's last lines (the
// unterminated one included, with the offset after it) before switching to the new file. again says to scan
// at once; s.readMu is held.
func (s *Source) follow() (recs []connectors.Record, end int64, again bool, err error) {
	fi, err := os.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, false, nil // removed or renamed, not yet recreated: keep following the old file
	}
	if err != nil {
		return nil, 0, false, err
	}
	if s.f != nil && os.SameFile(fi, s.fi) {
		if fi.Size() < s.readOff {
			s.log.Info("file-tail: the file was truncated; reading it from the beginning", "size", fi.Size(), "read", s.readOff)
			s.rewind(0)
			return nil, 0, true, nil
		}
		return nil, 0, false, nil
	}
	if s.f != nil {
		// Rotated: finish the old file first (lines may have been written since the last scan).
		if recs, err := s.scan(); err != nil || len(recs) > 0 {
			return recs, s.bufOff + int64(s.start), false, err
		}
		if rest := s.buf[s.start:]; len(rest) > 0 {
			s.start = len(s.buf)
			end = s.bufOff + int64(s.start)
			if rest = bytes.TrimSuffix(rest, []byte{'\r'}); len(rest) > 0 {
				return []connectors.Record{{Payload: bytes.Clone(rest)}}, end, false, nil
			}
		}
		s.log.Info("file-tail: the file was rotated; following the new one")
	}
	if err := regular(s.path, fi); err != nil {
		return nil, 0, false, err
	}
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, err
	}
	nfi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, false, err
	}
	s.setFile(f, nfi, 0)
	return nil, 0, true, nil
}

// errNotRegular: path names something that is not a regular file (a directory, a device...).
var errNotRegular = errors.New("not a regular file")

// regular reports (errNotRegular) when fi, the stat of path, is not a regular file: only files are followed.
func regular(path string, fi os.FileInfo) error {
	switch {
	case fi.Mode().IsRegular():
		return nil
	case fi.IsDir():
		return fmt.Errorf("%s is a directory: %w", path, errNotRegular)
	}
	return fmt.Errorf("%s (%v): %w", path, fi.Mode().Type(), errNotRegular)
}

// position describes offset end in the followed file; s.readMu is held.
func (s *Source) position(end int64) Position {
	p := Position{Path: s.path, Dev: s.dev, Ino: s.ino, Offset: end, FingerprintLen: min(end, fingerprintMax)}
	if p.FingerprintLen == fingerprintMax && s.fp != "" {
		p.Fingerprint = s.fp
		return p
	}
	fp, err := fingerprint(s.f, p.FingerprintLen)
	if err != nil {
		// The file changed under us (truncated): a position that cannot match makes a restart reread it.
		s.log.Warn("file-tail: fingerprinting", "err", err)
		return p
	}
	p.Fingerprint = fp
	if p.FingerprintLen == fingerprintMax {
		s.fp = fp
	}
	return p
}

// track registers a batch ending at offset end and returns its AckFunc; s.readMu is held.
func (s *Source) track(end int64) connectors.AckFunc {
	b := &inflight{pos: s.position(end)}
	s.commitMu.Lock()
	b.gen = s.gen
	s.queue = append(s.queue, b)
	s.commitMu.Unlock()
	return func(_ context.Context, err error) error { return s.settle(b, err) }
}

// settle records a batch's outcome and saves the position after the acknowledged batches that precede
// every unacknowledged one. A failed batch stops commits until the next Connect, which rereads from the
// last saved position.
func (s *Source) settle(b *inflight, err error) error {
	s.commitMu.Lock()
	defer s.commitMu.Unlock()
	if b.settled || b.gen != s.gen {
		return nil
	}
	b.settled = true
	if err != nil && connectors.KindOf(err) != connectors.KindInvalidData {
		return nil // not all published: not committed, so the lines are read again after a restart
	}
	// Published, or refused for good by Danube (counted and reported by the runtime): commit past them.
	b.acked = true
	var last *Position
	for len(s.queue) > 0 && s.queue[0].acked {
		last = &s.queue[0].pos
		s.queue = s.queue[1:]
	}
	if last == nil {
		return nil
	}
	if err := writePosition(s.posPath, *last); err != nil {
		return connectors.Retryable(err)
	}
	s.committed, s.hasCommitted = *last, true
	return nil
}

// Close stops following the file; later Connect and Read calls return ErrClosed. A Read waiting for data
// returns ErrClosed at once. The saved position is what was acknowledged before.
func (s *Source) Close(context.Context) error {
	s.closeOnce.Do(func() { close(s.done) })
	s.readMu.Lock()
	defer s.readMu.Unlock()
	s.closed = true
	s.closeFile()
	return nil
}

// readPosition reads a position file; false when there is none.
func readPosition(path string) (Position, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Position{}, false, nil
	}
	if err != nil {
		return Position{}, false, err
	}
	var p Position
	if err := json.Unmarshal(b, &p); err != nil {
		return Position{}, false, fmt.Errorf("%s is not a position file (delete it to start over): %w", path, err)
	}
	if p.Offset < 0 || p.FingerprintLen < 0 {
		return Position{}, false, fmt.Errorf("%s holds a negative offset (delete it to start over)", path)
	}
	return p, true, nil
}

// writePosition saves p durably: a temporary file in the same directory, fsynced, renamed over path, and the
// directory fsynced.
func writePosition(path string, p Position) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("file-tail: saving the position: %w", err)
	}
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("file-tail: saving the position: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
