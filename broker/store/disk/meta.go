package disk

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/danube-console/danube-console/broker/store"
)

// The metadata space is kept in memory and in an append-only file: a file header ("DNMETA", version 2) and
// framed records (record.go) whose offset is the record's sequence number in the file and whose body is
//
//	[op byte][uvarint key length][key][value]
//
// with op put, delete or delete-prefix (no value for the last two). Open replays it, skipping damaged records;
// when the file grows past metaCompactFactor times the size of the live entries it is rewritten (to a
// temporary file, fsynced, renamed over the old one, directory fsynced). A file of format version 1 (no file
// header, version 1 frames) is replayed and at once rewritten in the current format; a damaged file is first
// copied to "meta.log.corrupt" (or hard-linked under that name when the copy fails) and then rewritten
// without the damage. Nothing is ever appended after damage: when the file can be neither kept aside nor
// rewritten, Open fails with an error saying what to free.

const metaFile = "meta.log"

const (
	opPut          = 1
	opDelete       = 2
	opDeletePrefix = 3
)

type metaStore struct {
	s    *Store
	path string

	mu     sync.Mutex
	closed bool
	failed error
	kv     map[string][]byte
	f      *os.File
	size   int64  // bytes of complete records in the file
	seq    uint64 // sequence number of the next record in the file
	live   int64  // bytes the live entries take as put records
	wseq   uint64
	synced uint64 // the writes up to synced are fsynced

	syncMu sync.Mutex // serializes fsyncs and compaction; taken before mu
}

var _ store.Meta = (*metaStore)(nil)

func putRecordSize(key string, value []byte) int64 {
	return int64(recHeaderSize + 1 + binary.PutUvarint(make([]byte, binary.MaxVarintLen64), uint64(len(key))) + len(key) + len(value))
}

func appendMetaRecord(buf []byte, seq uint64, op byte, key string, value []byte) []byte {
	body := make([]byte, 0, 1+binary.MaxVarintLen64+len(key)+len(value))
	body = append(body, op)
	body = binary.AppendUvarint(body, uint64(len(key)))
	body = append(body, key...)
	body = append(body, value...)
	return appendFramed(buf, seq, body)
}

// decodeMetaBody parses a metadata record body.
func decodeMetaBody(body []byte) (op byte, key string, value []byte, err error) {
	if len(body) == 0 {
		return 0, "", nil, errors.New("empty metadata record")
	}
	op = body[0]
	n, w := binary.Uvarint(body[1:])
	if w <= 0 || n > uint64(len(body)-1-w) {
		return 0, "", nil, errors.New("bad key length in metadata record")
	}
	key = string(body[1+w : 1+w+int(n)])
	value = body[1+w+int(n):]
	switch op {
	case opPut:
	case opDelete, opDeletePrefix:
		if len(value) != 0 {
			return 0, "", nil, errors.New("metadata delete record with a value")
		}
	default:
		return 0, "", nil, fmt.Errorf("unknown metadata operation %d", op)
	}
	return op, key, value, nil
}

// openMeta replays the metadata file. Damaged records are skipped (the damaged file is copied aside first, then
// rewritten); a file of format version 1 is rewritten in the current format.
func openMeta(s *Store, path string) (*metaStore, []RecoveryReport, error) {
	m := &metaStore{s: s, path: path, kv: make(map[string][]byte)}
	os.Remove(path + ".tmp") // an interrupted compaction
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("disk: %w", err)
	}
	m.f = f
	fail := func(err error) (*metaStore, []RecoveryReport, error) {
		f.Close()
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return fail(fmt.Errorf("disk: %w", err))
	}
	fileSize := st.Size()
	w := newWindow(f, fileSize, nil)
	head, err := w.peek(0, fileHeaderSize)
	if err != nil {
		return fail(fmt.Errorf("disk: reading %s: %w", path, err))
	}
	format, rewrite := formatV2, false
	d := &damage{format: formatV2}
	if v, ok := parseFileHeader(head, metaMagic); ok {
		if v != formatV2 {
			d.add(region{at: 0, end: fileHeaderSize, prev: 0, reason: fmt.Errorf("unsupported format version %d", v)})
		}
		err = m.scanV2(w, fileHeaderSize, d)
	} else if len(head) < fileHeaderSize && bytes.HasPrefix(fileHeader(metaMagic), head) {
		// A new file, or one whose header was never completely written: nothing was stored in it.
		if _, err := f.WriteAt(fileHeader(metaMagic), 0); err != nil {
			return fail(fmt.Errorf("disk: writing %s: %w", path, err))
		}
		if err := errors.Join(fsync(f), syncDir(filepath.Dir(path))); err != nil {
			return fail(fmt.Errorf("disk: %w", err))
		}
		m.size = fileHeaderSize
	} else if _, _, _, _, ok := firstMetaV1(w); ok {
		format, rewrite, d.format = formatV1, true, formatV1
		err = m.scanV1(w, d)
	} else {
		// Neither format's file header: a damaged header, or garbage.
		err = m.scanV2(w, 0, d)
	}
	if err != nil {
		var ioErr *ioError
		if errors.As(err, &ioErr) {
			err = ioErr.err
		}
		return fail(fmt.Errorf("disk: reading %s: %w", path, err))
	}
	var reports []RecoveryReport
	if d.found {
		// The damaged file is kept aside and rewritten from its intact records: nothing is ever appended
		// after damage, which a later Open could not tell from the records appended after it.
		moved, err := keepAside(path, fileSize)
		if err != nil {
			return fail(fmt.Errorf("disk: %s is damaged and could not be copied aside before it is rewritten (free some space, or remove old %s.*corrupt files, and open again): %w", path, path, err))
		}
		reports = d.reports()
		if d.tail != nil {
			rep := d.tail.report(0, format)
			rep.Action = store.RecoveryTruncated
			reports = append(reports, rep)
		}
		for i := range reports {
			reports[i].File, reports[i].MovedTo = metaFile, s.relPath(moved)
		}
		rewrite = true
	}
	if rewrite {
		if err := m.compactLocked(); err != nil {
			return fail(fmt.Errorf("disk: %s must be rewritten (it is damaged or in an old format) and could not be (free some space and open again): %w", path, err))
		}
	} else if m.needsCompaction() {
		// Only due, not needed: the file is sound as it is, and the next write tries again.
		if err := m.compactLocked(); err != nil {
			s.log.Error("disk: compacting the metadata file at open", "err", err)
		}
	}
	return m, reports, nil
}

// keepAside preserves the damaged file at path (size bytes) before it is rewritten: it copies it into a new
// ".corrupt" file, or, when that fails (a full disk), links it under such a name, which needs no space.
func keepAside(path string, size int64) (string, error) {
	moved, cerr := copyAside(path, path, 0, size)
	if cerr == nil {
		return moved, nil
	}
	for i := 0; i <= 1000; i++ {
		name := asideName(path, i)
		err := os.Link(path, name)
		if err == nil {
			if err := syncDir(filepath.Dir(path)); err != nil {
				return "", errors.Join(cerr, err)
			}
			return name, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", errors.Join(cerr, err)
		}
	}
	return "", cerr
}

// scanV2 replays the version 2 records of the metadata file from pos on and adds the damaged regions to d.
func (m *metaStore) scanV2(w *window, pos int64, d *damage) error {
	var lo uint64
	check := func(_ int64, seq uint64, body []byte) error {
		if seq < lo {
			return fmt.Errorf("record carries sequence number %d, expected at least %d", seq, lo)
		}
		_, _, _, err := decodeMetaBody(body)
		return err
	}
	m.size = w.size
	accept := func(pos int64, seq uint64, n int, body []byte) {
		op, key, value, _ := decodeMetaBody(body)
		m.apply(op, key, bytes.Clone(value)) // value aliases the reader's buffer, which the next read reuses
		lo = seq + 1
	}
	var seen uint64 // one past the highest sequence number of a skipped record with a plausible header
	onRegion := func(r region) {
		if r.known {
			seen = max(seen, r.hdr.off+1)
		}
		if r.tail {
			m.size = r.at
		}
		d.add(r)
	}
	if err := scanV2(w, pos, 0, check, accept, onRegion); err != nil {
		return err
	}
	m.seq = max(lo, seen)
	return nil
}

// firstMetaV1 decodes the first record of a version 1 metadata file.
func firstMetaV1(w *window) (op byte, key string, value []byte, n int, ok bool) {
	b, err := w.peek(0, v1HeaderSize)
	if err != nil || len(b) < v1HeaderSize {
		return 0, "", nil, 0, false
	}
	size := binary.LittleEndian.Uint32(b)
	if size > maxBody || int64(size)+v1HeaderSize > w.size {
		return 0, "", nil, 0, false
	}
	if b, err = w.peek(0, v1HeaderSize+int(size)); err != nil {
		return 0, "", nil, 0, false
	}
	body, n, err := decodeFrameV1(b)
	if err != nil {
		return 0, "", nil, 0, false
	}
	op, key, value, err = decodeMetaBody(body)
	return op, key, value, n, err == nil
}

// scanV1 replays a version 1 metadata file, stopping at its first damaged record.
func (m *metaStore) scanV1(w *window, d *damage) error {
	var pos int64
	var count uint64
	for pos < w.size {
		b, err := w.peek(pos, v1HeaderSize)
		if err != nil {
			return err
		}
		if len(b) >= v1HeaderSize {
			if size := binary.LittleEndian.Uint32(b); size <= maxBody && int64(size)+v1HeaderSize <= w.size-pos {
				if b, err = w.peek(pos, v1HeaderSize+int(size)); err != nil {
					return err
				}
			}
		}
		body, n, derr := decodeFrameV1(b)
		var op byte
		var key string
		var value []byte
		if derr == nil {
			op, key, value, derr = decodeMetaBody(body)
		}
		if derr != nil {
			r := region{at: pos, end: w.size, tail: true, reason: derr}
			if count > 0 {
				r.prev, r.hasPrev = count-1, true
			}
			m.size = pos
			d.add(r)
			return nil
		}
		m.apply(op, key, bytes.Clone(value)) // value aliases the reader's buffer, which the next read reuses
		pos += int64(n)
		count++
	}
	m.size = pos
	return nil
}

// apply changes the in-memory map. The value is owned by the map afterwards. Caller holds mu (or is Open).
func (m *metaStore) apply(op byte, key string, value []byte) {
	switch op {
	case opPut:
		if old, ok := m.kv[key]; ok {
			m.live -= putRecordSize(key, old)
		}
		m.kv[key] = value
		m.live += putRecordSize(key, value)
	case opDelete:
		if old, ok := m.kv[key]; ok {
			m.live -= putRecordSize(key, old)
			delete(m.kv, key)
		}
	case opDeletePrefix:
		for k, v := range m.kv {
			if strings.HasPrefix(k, key) {
				m.live -= putRecordSize(k, v)
				delete(m.kv, k)
			}
		}
	}
}

func (m *metaStore) needsCompaction() bool {
	return m.size > m.s.opts.metaCompactMin && m.size > metaCompactFactor*m.live
}

// Put implements store.Meta.
func (m *metaStore) Put(key string, value []byte) error {
	return m.write(opPut, key, append([]byte{}, value...))
}

// Delete implements store.Meta.
func (m *metaStore) Delete(key string) error { return m.write(opDelete, key, nil) }

// DeletePrefix implements store.Meta.
func (m *metaStore) DeletePrefix(prefix string) error { return m.write(opDeletePrefix, prefix, nil) }

// write logs and applies one change, then waits for it to be durable under the fsync policy. A delete that
// changes nothing writes nothing (but still waits for earlier changes to be durable).
func (m *metaStore) write(op byte, key string, value []byte) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return store.ErrClosed
	}
	if m.failed != nil {
		err := m.failed
		m.mu.Unlock()
		return err
	}
	if op == opPut || m.changes(op, key) {
		rec := appendMetaRecord(nil, m.seq, op, key, value)
		if n, err := m.f.WriteAt(rec, m.size); err != nil {
			// Only this change fails (for example on a full disk); the next one tries again. The file is cut
			// back even when nothing seems written: a failed write may still have extended it.
			if terr := m.f.Truncate(m.size); terr != nil {
				m.failed = fmt.Errorf("disk: metadata file: %w", &stuckError{fmt.Errorf("%w (after writing %d bytes; cutting them off failed: %w)", err, n, terr)})
			}
			m.mu.Unlock()
			return fmt.Errorf("disk: writing metadata: %w", err)
		}
		m.size += int64(len(rec))
		m.seq++
		m.wseq++
		m.apply(op, key, value)
	}
	seq := m.wseq
	compact := m.needsCompaction()
	dirty := m.s.opts.Fsync == FsyncInterval && m.synced < seq
	m.mu.Unlock()
	if dirty {
		m.s.commit.markDirty(m)
	}
	if compact {
		if err := m.compact(); err != nil {
			m.s.log.Error("disk: compacting the metadata file", "err", err)
		}
	}
	if m.s.opts.Fsync == FsyncAlways {
		return m.syncTo(seq)
	}
	return nil
}

// changes reports whether a delete would remove anything. Caller holds mu.
func (m *metaStore) changes(op byte, key string) bool {
	if op == opDelete {
		_, ok := m.kv[key]
		return ok
	}
	for k := range m.kv {
		if strings.HasPrefix(k, key) {
			return true
		}
	}
	return false
}

// syncTo makes the writes up to seq durable, sharing one fsync among concurrent callers.
func (m *metaStore) syncTo(seq uint64) error {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	_, err := m.syncLocked(seq)
	return err
}

// syncLocked fsyncs the file if writes up to seq are not durable yet and returns what the fsync covered.
// Caller holds syncMu.
func (m *metaStore) syncLocked(seq uint64) (uint64, error) {
	m.mu.Lock()
	f, upto, synced := m.f, m.wseq, m.synced
	m.mu.Unlock()
	if synced >= seq || f == nil {
		return synced, nil
	}
	if err := fsync(f); err != nil {
		err = fmt.Errorf("disk: fsync of the metadata file: %w", &stuckError{err})
		m.mu.Lock()
		if m.failed == nil {
			m.failed = err
		}
		m.mu.Unlock()
		return synced, err
	}
	m.mu.Lock()
	m.synced = max(m.synced, upto)
	m.mu.Unlock()
	return upto, nil
}

// commit is the committer's FsyncInterval round for the metadata.
func (m *metaStore) commit() {
	m.syncMu.Lock()
	m.mu.Lock()
	seq := m.wseq
	m.mu.Unlock()
	if _, err := m.syncLocked(seq); err != nil {
		m.s.log.Error("disk: fsync of the metadata", "err", err)
	}
	m.syncMu.Unlock()
}

// compact rewrites the file with only the live entries.
func (m *metaStore) compact() error {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed || m.f == nil || !m.needsCompaction() {
		return nil
	}
	return m.compactLocked()
}

// compactLocked does the rewrite. Caller holds syncMu and mu (or is Open).
func (m *metaStore) compactLocked() error {
	tmp := m.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("disk: compacting metadata: %w", err)
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("disk: compacting metadata: %w", err)
	}
	keys := make([]string, 0, len(m.kv))
	for k := range m.kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w := bufio.NewWriterSize(f, 256<<10)
	if _, err := w.Write(fileHeader(metaMagic)); err != nil {
		return fail(err)
	}
	size := int64(fileHeaderSize)
	var rec []byte
	for i, k := range keys {
		rec = appendMetaRecord(rec[:0], uint64(i), opPut, k, m.kv[k])
		if _, err := w.Write(rec); err != nil {
			return fail(err)
		}
		size += int64(len(rec))
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	if err := fsync(f); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, m.path); err != nil {
		return fail(err)
	}
	if err := syncDir(filepath.Dir(m.path)); err != nil {
		// The rename happened; the new file is the metadata file now, whatever the directory says.
		m.s.log.Error("disk: fsync of the store directory after compacting metadata", "err", err)
	}
	m.f.Close()
	m.f = f
	m.size = size
	m.seq = uint64(len(keys))
	m.synced = m.wseq
	return nil
}

// Get implements store.Meta.
func (m *metaStore) Get(key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, false, store.ErrClosed
	}
	v, ok := m.kv[key]
	if !ok {
		return nil, false, nil
	}
	return append([]byte{}, v...), true, nil
}

// List implements store.Meta.
func (m *metaStore) List(prefix string) ([]store.KV, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, store.ErrClosed
	}
	var out []store.KV
	for k, v := range m.kv {
		if strings.HasPrefix(k, prefix) {
			out = append(out, store.KV{Key: k, Value: append([]byte{}, v...)})
		}
	}
	slices.SortFunc(out, func(a, b store.KV) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// stop makes every later call fail with store.ErrClosed.
func (m *metaStore) stop() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
}

// close fsyncs and closes the file. The committer must have stopped.
func (m *metaStore) close() error {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	if m.f == nil {
		return nil
	}
	var err error
	if m.synced < m.wseq {
		err = fsync(m.f)
	}
	if cerr := m.f.Close(); err == nil {
		err = cerr
	}
	m.f = nil
	return err
}
