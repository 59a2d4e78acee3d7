package jsonlsink

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/internal/jsonl"
)

// ErrClosed is returned (as a connectors.KindFatal error) by Connect and Write after Close.
var ErrClosed = errors.New("jsonl sink: closed")

// openFile opens the sink's file; tests replace it to make opening fail.
var openFile = os.OpenFile

// rotatedTime is the layout of the time in a rotated file's name.
const rotatedTime = "20060102T150405Z"

// Sink is the jsonl sink. Its methods follow the connectors.Sink contract and are safe for concurrent use.
type Sink struct {
	path   string
	rotate int64
	keep   int
	mkdir  bool
	now    func() time.Time
	log    *slog.Logger
	rotRE  *regexp.Regexp // matches the base names of rotated files

	mu     sync.Mutex
	f      *os.File    // nil until Connect, and after a failure (the next Write reopens)
	fi     os.FileInfo // f's stat when opened, to notice the file was moved or deleted
	size   int64       // bytes in f, all of them fsynced
	closed bool
	buf    bytes.Buffer
	enc    *jsonl.Writer // encodes into buf
}

// New builds the sink from validated settings; it touches no file (Connect does).
func New(cfg connectors.Config, res connectors.Resources) (*Sink, error) {
	path := cfg.String(keyPath)
	if path == "" {
		return nil, connectors.ConfigError(connectors.FieldError{Key: keyPath, Err: errors.New("must not be empty")})
	}
	path = filepath.Clean(path)
	s := &Sink{
		path:   path,
		rotate: cfg.Int(keyRotateBytes),
		keep:   int(cfg.Int(keyKeepFiles)),
		mkdir:  cfg.Bool(keyMkdir),
		now:    res.Now,
		log:    res.Logger,
		rotRE:  regexp.MustCompile(`^` + regexp.QuoteMeta(filepath.Base(path)) + `\.(\d{8}T\d{6}Z)\.(\d+)$`),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.enc = jsonl.NewWriter(&s.buf)
	return s, nil
}

// Path returns the file the sink appends to.
func (s *Sink) Path() string { return s.path }

// Connect opens (creating it, and its directory with mkdir) the file for appending. A trailing partial line
// left by a crash in the middle of a write is cut off first: its messages were never acknowledged, so Danube
// delivers them again. Failures are retryable.
func (s *Sink) Connect(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return connectors.Fatal(ErrClosed)
	}
	if s.f != nil {
		return nil
	}
	return s.open()
}

// open opens s.path; s.mu is held.
func (s *Sink) open() error {
	dir := filepath.Dir(s.path)
	if s.mkdir {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return connectors.Retryable(fmt.Errorf("jsonl sink: creating directory: %w", err))
		}
	}
	f, err := openFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !s.mkdir {
			err = fmt.Errorf("%w (set mkdir = true to create the directory)", err)
		}
		return connectors.Retryable(fmt.Errorf("jsonl sink: opening: %w", err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return connectors.Retryable(fmt.Errorf("jsonl sink: opening: %w", err))
	}
	size := fi.Size()
	if fi.Mode().IsRegular() && size > 0 {
		if size, err = cutPartialLine(f, size); err != nil {
			f.Close()
			return connectors.Retryable(fmt.Errorf("jsonl sink: repairing %s: %w", s.path, err))
		}
		if size != fi.Size() {
			s.log.Warn("jsonl sink: cut a partial last line left by an interrupted write", "path", s.path, "bytes", fi.Size()-size)
		}
	}
	syncDir(dir) // make the file's creation durable
	s.f, s.fi, s.size = f, fi, size
	return nil
}

// cutPartialLine truncates f after its last newline when it does not end with one, and returns its size.
func cutPartialLine(f *os.File, size int64) (int64, error) {
	r, err := os.Open(f.Name())
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var chunk [32 << 10]byte
	end := size
	for end > 0 {
		start := max(0, end-int64(len(chunk)))
		b := chunk[:end-start]
		if _, err := r.ReadAt(b, start); err != nil && err != io.EOF {
			return 0, err
		}
		if end == size && b[len(b)-1] == '\n' {
			return size, nil
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			end = start + int64(i) + 1
			break
		}
		end = start
	}
	if err := f.Truncate(end); err != nil {
		return 0, err
	}
	return end, f.Sync()
}

// Write appends the batch, one line per message, and fsyncs before returning nil, so every message it
// acknowledges is on disk. With rotate_bytes, it rotates before a line would take the file past the limit.
// When the file at path was moved or deleted by someone else since the last Write, it starts a new file at
// path rather than appending to one nobody finds there.
// When the file cannot be written, the messages not yet durable fail with retryable errors: the whole batch
// (a plain error) or, when a rotation already made its first messages durable, the rest (a
// *connectors.BatchError); the file is cut back to its last durable size and reopened by the next Write. After
// Close, Write returns ErrClosed as a fatal error.
func (s *Sink) Write(ctx context.Context, batch []*client.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return connectors.Fatal(ErrClosed)
	}
	if len(batch) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.f != nil {
		// Appending to a file that was moved or deleted behind the sink's back would acknowledge messages
		// nobody finds at path (or nobody can find at all): follow the path instead.
		if fi, err := os.Stat(s.path); err != nil || !os.SameFile(fi, s.fi) {
			s.log.Warn("jsonl sink: the file was moved or deleted; reopening the path", "path", s.path)
			s.f.Close()
			s.f = nil
		}
	}
	if s.f == nil {
		if err := s.open(); err != nil {
			return err
		}
	}
	var bad connectors.BatchError // messages that cannot be encoded
	durable := 0                  // batch[:durable] are on disk (or bad)
	s.buf.Reset()
	for i, m := range batch {
		start := s.buf.Len()
		if err := s.enc.Write(jsonl.FromMessage(m)); err != nil {
			s.buf.Truncate(start)
			bad.Fail(i, connectors.InvalidData(fmt.Errorf("jsonl sink: encoding: %w", err)))
			continue
		}
		if s.rotate > 0 && s.size+int64(s.buf.Len()) > s.rotate && s.size+int64(start) > 0 {
			// This line would take the file past the limit: finish the file with the lines before it, then
			// start a new one with it.
			if err := s.flush(s.buf.Bytes()[:start]); err != nil {
				return s.failed(batch, durable, &bad, err)
			}
			durable = i
			if err := s.rotateFile(); err != nil {
				return s.failed(batch, durable, &bad, err)
			}
			line := slices.Clone(s.buf.Bytes()[start:])
			s.buf.Reset()
			s.buf.Write(line)
		}
	}
	if err := s.flush(s.buf.Bytes()); err != nil {
		return s.failed(batch, durable, &bad, err)
	}
	s.buf.Reset()
	if len(bad.Failed) > 0 {
		return &bad
	}
	return nil
}

// flush appends b to the file and fsyncs it. On failure it cuts the file back to its last durable size and
// closes it, so that the next Write starts clean; s.mu is held.
func (s *Sink) flush(b []byte) error {
	if len(b) > 0 {
		if _, err := s.f.Write(b); err != nil {
			s.abandon()
			return fmt.Errorf("jsonl sink: writing %s: %w", s.path, err)
		}
	}
	if err := s.f.Sync(); err != nil {
		s.abandon()
		return fmt.Errorf("jsonl sink: syncing %s: %w", s.path, err)
	}
	s.size += int64(len(b))
	return nil
}

// abandon cuts the file back to the durable size (best effort) and closes it; s.mu is held.
func (s *Sink) abandon() {
	if s.f == nil {
		return
	}
	if err := s.f.Truncate(s.size); err == nil {
		s.f.Sync()
	}
	s.f.Close()
	s.f, s.fi = nil, nil
}

// failed reports an I/O failure: batch[durable:] failed (retryable) unless already marked bad.
func (s *Sink) failed(batch []*client.Message, durable int, bad *connectors.BatchError, err error) error {
	s.buf.Reset()
	err = connectors.Retryable(err)
	if durable == 0 && len(bad.Failed) == 0 {
		return err
	}
	for i := durable; i < len(batch); i++ {
		if _, ok := bad.Failed[i]; !ok {
			bad.Fail(i, err)
		}
	}
	return bad
}

// rotateFile renames the (fsynced) file to its rotated name, opens a new one and deletes the rotated files
// beyond keep_files; s.mu is held.
func (s *Sink) rotateFile() error {
	if err := s.f.Close(); err != nil {
		s.f = nil
		return fmt.Errorf("jsonl sink: closing %s: %w", s.path, err)
	}
	s.f = nil
	stamp := s.now().UTC().Format(rotatedTime)
	// n follows the highest n of this second, so that names sort in rotation order even after prune deleted
	// the first ones.
	n := 1
	files, _ := s.rotatedFiles()
	for _, f := range files {
		if f.stamp == stamp && f.n >= n {
			n = f.n + 1
		}
	}
	var name string
	for ; ; n++ {
		name = fmt.Sprintf("%s.%s.%d", s.path, stamp, n)
		if _, err := os.Lstat(name); errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err := os.Rename(s.path, name); err != nil {
		return fmt.Errorf("jsonl sink: rotating %s: %w", s.path, err)
	}
	if err := s.open(); err != nil { // syncs the directory, making the rename durable too
		return err
	}
	s.log.Info("jsonl sink: rotated", "path", s.path, "to", name)
	s.prune()
	return nil
}

// rotated is a rotated file.
type rotated struct {
	name  string
	stamp string
	n     int
}

// Rotated lists the rotated files of the sink's path, oldest first.
func (s *Sink) Rotated() ([]string, error) {
	files, err := s.rotatedFiles()
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	return names, err
}

func (s *Sink) rotatedFiles() ([]rotated, error) {
	dir := filepath.Dir(s.path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []rotated
	for _, e := range entries {
		m := s.rotRE.FindStringSubmatch(e.Name())
		if m == nil || !e.Type().IsRegular() {
			continue
		}
		n, err := strconv.Atoi(m[2])
		if err != nil {
			continue
		}
		out = append(out, rotated{name: filepath.Join(dir, e.Name()), stamp: m[1], n: n})
	}
	slices.SortFunc(out, func(a, b rotated) int {
		if a.stamp != b.stamp {
			return cmp.Compare(a.stamp, b.stamp)
		}
		return a.n - b.n
	})
	return out, nil
}

// prune deletes the oldest rotated files beyond keep_files; failures are logged, not returned, since the data
// is safe either way.
func (s *Sink) prune() {
	if s.keep <= 0 {
		return
	}
	files, err := s.rotatedFiles()
	if err != nil {
		s.log.Warn("jsonl sink: listing rotated files", "path", s.path, "err", err)
		return
	}
	for len(files) > s.keep {
		if err := os.Remove(files[0].name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("jsonl sink: deleting a rotated file", "file", files[0].name, "err", err)
		}
		files = files[1:]
	}
}

// Close fsyncs and closes the file. Later Connect and Write calls return ErrClosed; closing twice is a
// no-op.
func (s *Sink) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.f == nil {
		return nil
	}
	f := s.f
	s.f = nil
	return errors.Join(f.Sync(), f.Close())
}

// syncDir fsyncs a directory so that a file created or renamed in it survives a crash; best effort (not
// every file system supports it).
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}
