package disk

import (
	"bytes"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/danube-console/danube-console/broker/store"
)

// TestUnreadableSegmentMovedAside: a segment file that cannot be opened, or whose reads fail, is moved aside
// like one that holds no valid record, and Open goes on with the others.
func TestUnreadableSegmentMovedAside(t *testing.T) {
	for _, tc := range []struct {
		name, reason string
		open         func(path string) (*os.File, error)
	}{
		{"open error", "permission denied", func(path string) (*os.File, error) {
			return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrPermission}
		}},
		{"read error", "bad file descriptor", func(path string) (*os.File, error) {
			return os.OpenFile(path, os.O_WRONLY, 0) // reads fail
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Fsync: FsyncNever, SegmentBytes: 1 << 10}
			segs, bases := writeTorn(t, dir, opts)
			saved := openForScan
			openForScan = func(path string) (*os.File, error) {
				if path == segs[1] {
					return tc.open(path)
				}
				return saved(path)
			}
			t.Cleanup(func() { openForScan = saved })
			s := openT(t, dir, opts)
			defer s.Close()
			r := s.Recovery()
			if len(r) != 1 || r[0].Action != store.RecoveryMoved || r[0].FirstOffset != bases[1] || r[0].LastOffset != bases[2]-1 ||
				r[0].MovedTo != s.relPath(segs[1])+".corrupt" || !strings.Contains(r[0].Reason, tc.reason) {
				t.Fatalf("reports %+v", r)
			}
			if _, err := os.Stat(segs[1] + ".corrupt"); err != nil {
				t.Fatal(err)
			}
			l := logT(t, s, tornTopic)
			checkOffsets(t, l, tornTopic, 0, 25, offsetRange(bases[1], bases[2]))
			appendN(t, l, tornTopic, 2)
		})
	}
}

// TestDueCompactionFailsAtOpen: a metadata compaction that is only due (the file holds no damage) and fails
// at Open is logged, and Open goes on with the file as it is.
func TestDueCompactionFailsAtOpen(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{Fsync: FsyncNever, metaCompactMin: 1 << 30})
	for i := range 500 {
		if err := s.Meta().Put("/k", bytes.Repeat([]byte{byte(i)}, 100)); err != nil {
			t.Fatal(err)
		}
	}
	s.Meta().Put("/other", []byte("v"))
	s.Close()
	path := filepath.Join(dir, metaFile)
	size := fileSize(t, path)
	// A non-empty directory where compaction writes its temporary file makes it fail.
	if err := os.MkdirAll(filepath.Join(path+".tmp", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	opts := Options{Fsync: FsyncNever, metaCompactMin: 4 << 10, Logger: slog.New(slog.NewTextHandler(&logged, nil))}
	s = openT(t, dir, opts)
	if r := s.Recovery(); len(r) != 0 {
		t.Fatalf("reports %+v", r)
	}
	if !strings.Contains(logged.String(), "compacting the metadata file at open") {
		t.Fatalf("log: %s", logged.String())
	}
	if fileSize(t, path) != size {
		t.Fatal("meta.log changed")
	}
	checkKeys(t, s, []string{"/k", "/other"})
	if err := s.Meta().Put("/new", []byte("v")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.RemoveAll(path + ".tmp"); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir, opts)
	defer s.Close()
	checkKeys(t, s, []string{"/k", "/new", "/other"})
	if v, _, _ := s.Meta().Get("/k"); !bytes.Equal(v, bytes.Repeat([]byte{byte(499 % 256)}, 100)) {
		t.Fatalf("/k = %v", v)
	}
	if fileSize(t, path) >= size {
		t.Fatal("meta.log was not compacted once it could be")
	}
}

// TestManyDamagedRegionsBounded: a segment in which every other record is damaged yields a bounded number of
// reports whose totals are right, and the intact records are all served.
func TestManyDamagedRegionsBounded(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Fsync: FsyncNever}
	s := openT(t, dir, opts)
	const n = 6000
	appendN(t, logT(t, s, tornTopic), tornTopic, n)
	s.Close()
	seg := segmentFiles(t, dir, tornTopic)[0]
	st := recordStarts(t, seg)
	missing := map[uint64]bool{}
	var damagedBytes int64
	for i := 1; i < n-1; i += 2 {
		flipByte(t, seg, st[i]+recHeaderSize+3) // the body: each is skipped exactly
		missing[uint64(i)] = true
		damagedBytes += st[i+1] - st[i]
	}
	// Two damaged records in a row make one region.
	flipByte(t, seg, st[2]+recHeaderSize+3)
	missing[2] = true
	damagedBytes += st[3] - st[2]

	s = openT(t, dir, opts)
	defer s.Close()
	r := s.Recovery()
	if len(r) > maxReportsPerFile {
		t.Fatalf("%d reports", len(r))
	}
	var records, bytes int64
	for _, rep := range r {
		if rep.Action != store.RecoverySkipped || rep.Records < 1 || rep.LastOffset < rep.FirstOffset {
			t.Fatalf("report %+v", rep)
		}
		records += rep.Records
		bytes += rep.Bytes
	}
	if records != int64(len(missing)) || bytes != damagedBytes {
		t.Fatalf("reports count %d records and %d bytes, want %d and %d", records, bytes, len(missing), damagedBytes)
	}
	if r[0].Records != 3 || r[0].FirstOffset != 1 || r[0].LastOffset != 3 || r[0].Position != st[1] || r[0].Bytes != st[4]-st[1] {
		t.Fatalf("first report %+v: the three damaged records in a row are one region", r[0])
	}
	last := r[len(r)-1]
	t.Logf("%d reports; first %+v; last %+v", len(r), r[0], last)
	if last.LastOffset != n-3 || !strings.Contains(last.Reason, "folded") {
		t.Fatalf("last report %+v", last)
	}
	checkOffsets(t, logT(t, s, tornTopic), tornTopic, 0, n, missing)
}

// TestResyncIgnoresEmbeddedFrame: a message whose payload holds a complete valid record with a far-future
// offset does not derail recovery when the header of the record carrying it is damaged: resynchronisation
// does not take the embedded frame for a record, every later record is served and offsets go on from them.
func TestResyncIgnoresEmbeddedFrame(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Fsync: FsyncNever}
	s := openT(t, dir, opts)
	l := logT(t, s, tornTopic)
	appendN(t, l, tornTopic, 5)
	inner := mkMsg(tornTopic, "embedded")
	inner.MsgId.TopicOffset = 1 << 40
	frame, err := appendRecord(nil, inner)
	if err != nil {
		t.Fatal(err)
	}
	carrier := mkMsg(tornTopic, "")
	carrier.Payload, carrier.Attributes = frame, nil
	if _, err := l.Append(carrier); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, tornTopic, 14)
	s.Close()
	seg := segmentFiles(t, dir, tornTopic)[0]
	flipByte(t, seg, recordStarts(t, seg)[5]+5) // the offset field of the record carrying the frame

	s = openT(t, dir, opts)
	defer s.Close()
	r := s.Recovery()
	if len(r) != 1 || r[0].Action != store.RecoverySkipped || r[0].Records != 1 || r[0].FirstOffset != 5 {
		t.Fatalf("reports %+v", r)
	}
	l = logT(t, s, tornTopic)
	checkOffsets(t, l, tornTopic, 0, 20, offsetRange(5, 6))
	appendN(t, l, tornTopic, 2)
	checkOffsets(t, l, tornTopic, 0, 22, offsetRange(5, 6))
}

// TestReadSkipsDamagedBytes: reading a record that a large skipped region follows reads the record, not the
// region.
func TestReadSkipsDamagedBytes(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Fsync: FsyncNever, CacheBytes: -1}
	s := openT(t, dir, opts)
	l := logT(t, s, tornTopic)
	appendN(t, l, tornTopic, 4)
	big := mkMsg(tornTopic, "")
	big.Payload, big.Attributes = make([]byte, 6<<20), nil
	if _, err := l.Append(big); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, tornTopic, 3)
	s.Close()
	seg := segmentFiles(t, dir, tornTopic)[0]
	flipByte(t, seg, recordStarts(t, seg)[4]+recHeaderSize+100) // skipped exactly, 6 MiB

	s = openT(t, dir, opts)
	defer s.Close()
	l = logT(t, s, tornTopic)
	checkOffsets(t, l, tornTopic, 0, 8, offsetRange(4, 5))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		msgs, err := l.Read(3, 1)
		if err != nil || len(msgs) != 1 || string(msgs[0].Payload) != payloadOf(tornTopic, 3) {
			t.Fatalf("Read(3) = %v, %v", msgs, err)
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("10 reads of one small record allocated %d bytes", n)
	}
}

// TestFarOffsetRecordSkipped: a valid record claiming an offset far past the last one, at the end of the last
// segment, is skipped without moving the next offset there, and the records appended after it are served
// after reopening.
func TestFarOffsetRecordSkipped(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Fsync: FsyncNever}
	s := openT(t, dir, opts)
	appendN(t, logT(t, s, tornTopic), tornTopic, 5)
	s.Close()
	far := mkMsg(tornTopic, "far")
	far.MsgId.TopicOffset = 1 << 40
	rec, err := appendRecord(nil, far)
	if err != nil {
		t.Fatal(err)
	}
	appendBytes(t, segmentFiles(t, dir, tornTopic)[0], rec)

	s = openT(t, dir, opts)
	if r := s.Recovery(); len(r) != 1 || r[0].Action != store.RecoverySkipped {
		t.Fatalf("reports %+v", r)
	}
	l := logT(t, s, tornTopic)
	checkOffsets(t, l, tornTopic, 0, 5, nil)
	appendN(t, l, tornTopic, 3)
	s.Close()
	for range 2 {
		s = openT(t, dir, opts)
		checkOffsets(t, logT(t, s, tornTopic), tornTopic, 0, 8, nil)
		s.Close()
	}
}

// TestMetaResyncIgnoresEmbeddedFrame: the metadata equivalent of TestResyncIgnoresEmbeddedFrame: a value
// holding a complete metadata record with a far-future sequence number does not make the later records look
// out of order when the header of the record carrying it is damaged.
func TestMetaResyncIgnoresEmbeddedFrame(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{Fsync: FsyncNever})
	s.Meta().Put("/a", []byte("1"))
	s.Meta().Put("/carrier", appendMetaRecord(nil, 1<<40, opPut, "/far", []byte("x")))
	for _, k := range []string{"/b", "/c", "/d"} {
		s.Meta().Put(k, []byte(k))
	}
	s.Close()
	path := filepath.Join(dir, metaFile)
	flipByte(t, path, recordStarts(t, path)[1]+5) // the sequence number of the carrier's header

	s = openT(t, dir, Options{Fsync: FsyncNever})
	if r := s.Recovery(); len(r) != 1 || r[0].Records != 1 || r[0].FirstOffset != 1 {
		t.Fatalf("reports %+v", r)
	}
	checkKeys(t, s, []string{"/a", "/b", "/c", "/d"})
	s.Meta().Put("/e", nil)
	s.Close()
	s = openT(t, dir, Options{Fsync: FsyncNever})
	defer s.Close()
	checkKeys(t, s, []string{"/a", "/b", "/c", "/d", "/e"})
}
