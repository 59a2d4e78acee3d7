package disk

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/danube-console/danube-console/broker/store"
)

// blockAside creates every ".corrupt" name createAside tries for prefix, so that copying a damaged part
// aside fails.
func blockAside(t *testing.T, prefix string) {
	t.Helper()
	for i := 0; i <= 1000; i++ {
		if err := os.WriteFile(asideName(prefix, i), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func unblockAside(t *testing.T, prefix string) {
	t.Helper()
	for i := 0; i <= 1000; i++ {
		if err := os.Remove(asideName(prefix, i)); err != nil {
			t.Fatal(err)
		}
	}
}

// tornHeader is an intact record header for offset off claiming a body of claimed bytes, followed by only
// written bytes of it.
func tornHeader(off uint64, claimed, written int) []byte {
	body := bytes.Repeat([]byte{0xab}, claimed)
	return appendFramed(nil, off, body)[:recHeaderSize+written]
}

// TestStuckTailTakesNoAppends: a torn record at the end of the last segment whose tail cannot be moved aside
// stays, and appends go to a new segment instead of after it; no acknowledged message is lost and no offset is
// given twice across reopens.
// The claimed body is longer than all that is appended later, or shorter (then the old behaviour, appending
// after the damage, lost offsets 4 to 8 at the next Open and gave them again).
func TestStuckTailTakesNoAppends(t *testing.T) {
	for _, claimed := range []int{2000, 300} {
		t.Run(fmt.Sprint(claimed), func(t *testing.T) { testStuckTail(t, claimed) })
	}
}

func testStuckTail(t *testing.T, claimed int) {
	dir := t.TempDir()
	opts := Options{Fsync: FsyncNever}
	s := openT(t, dir, opts)
	appendN(t, logT(t, s, tornTopic), tornTopic, 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	segs := segmentFiles(t, dir, tornTopic)
	at := fileSize(t, segs[0])
	appendBytes(t, segs[0], tornHeader(3, claimed, 10))
	blockAside(t, fmt.Sprintf("%s.at-%d", segs[0], at))

	s = openT(t, dir, opts)
	r := s.Recovery()
	if len(r) != 1 || r[0].Action != store.RecoverySkipped || r[0].Records != 1 || r[0].FirstOffset != 3 ||
		!strings.Contains(r[0].Reason, "could not move it aside, so it stays") {
		t.Fatalf("reports %+v", r)
	}
	l := logT(t, s, tornTopic)
	missing := offsetRange(3, 4)
	checkOffsets(t, l, tornTopic, 0, 4, missing)
	appendN(t, l, tornTopic, 5) // offsets 4 to 8, acknowledged
	checkOffsets(t, l, tornTopic, 0, 9, missing)
	s.Close()

	next := uint64(9)
	for round := range 3 {
		s = openT(t, dir, opts)
		if r := s.Recovery(); len(r) != 1 || r[0].Action != store.RecoverySkipped || r[0].FirstOffset != 3 {
			t.Fatalf("round %d: reports %+v", round, r)
		}
		l = logT(t, s, tornTopic)
		checkOffsets(t, l, tornTopic, 0, next, missing)
		appendN(t, l, tornTopic, 2)
		next += 2
		checkOffsets(t, l, tornTopic, 0, next, missing)
		s.Close()
	}
	if n := len(segmentFiles(t, dir, tornTopic)); n != 2 {
		t.Fatalf("%d segments, want the damaged one and one new", n)
	}
}

// TestExactSkipNeedsConfirmation: a record whose intact header claims more bytes than it has, followed by
// valid records (as a torn record would be, had anything been appended after it), is not skipped by the length
// it claims when that does not end at a record: the records after it are found and served.
func TestExactSkipNeedsConfirmation(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Fsync: FsyncNever}
	s := openT(t, dir, opts)
	appendN(t, logT(t, s, tornTopic), tornTopic, 3)
	s.Close()
	seg := segmentFiles(t, dir, tornTopic)[0]
	var recs []byte
	for off := uint64(4); off <= 8; off++ {
		m := mkMsg(tornTopic, payloadOf(tornTopic, off))
		m.MsgId.TopicOffset = off
		recs, _ = appendRecord(recs, m)
	}
	// The claimed body ends in the middle of the second appended record.
	claimed := 10 + len(recs)/5 + 7
	appendBytes(t, seg, append(tornHeader(3, claimed, 10), recs...))

	s = openT(t, dir, opts)
	r := s.Recovery()
	if len(r) != 1 || r[0].Action != store.RecoverySkipped || r[0].Records != 1 || r[0].FirstOffset != 3 ||
		r[0].Bytes != recHeaderSize+10 {
		t.Fatalf("reports %+v", r)
	}
	l := logT(t, s, tornTopic)
	checkOffsets(t, l, tornTopic, 0, 9, offsetRange(3, 4))
	appendN(t, l, tornTopic, 2)
	s.Close()
	s = openT(t, dir, opts)
	defer s.Close()
	checkOffsets(t, logT(t, s, tornTopic), tornTopic, 0, 11, offsetRange(3, 4))
}

// TestStuckMetadataTail: a damaged meta.log that cannot be kept aside is not appended to: Open fails with an
// error that says what to do, leaving the file as it was; once the names are free, Open rewrites it and
// nothing is lost across reopens.
func TestStuckMetadataTail(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir, Options{Fsync: FsyncNever})
	for _, k := range []string{"/a", "/b", "/c"} {
		if err := s.Meta().Put(k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	path := filepath.Join(dir, metaFile)
	appendBytes(t, path, tornHeader(3, 2000, 10))
	damaged, _ := os.ReadFile(path)
	blockAside(t, path)

	if s, err := Open(dir, Options{Fsync: FsyncNever}); err == nil {
		s.Close()
		t.Fatal("Open appended after damage it could not keep aside")
	} else if !strings.Contains(err.Error(), "could not be copied aside") {
		t.Fatalf("Open: %v", err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, damaged) {
		t.Fatal("the failed Open changed meta.log")
	}
	unblockAside(t, path)

	s = openT(t, dir, Options{Fsync: FsyncNever})
	if r := s.Recovery(); len(r) != 1 || r[0].Action != store.RecoveryTruncated || r[0].FirstOffset != 3 {
		t.Fatalf("reports %+v", r)
	}
	checkKeys(t, s, []string{"/a", "/b", "/c"})
	want := []string{"/a", "/b", "/c"}
	for _, k := range []string{"/d", "/e"} {
		if err := s.Meta().Put(k, []byte(k)); err != nil {
			t.Fatal(err)
		}
		want = append(want, k)
		s.Close()
		s = openT(t, dir, Options{Fsync: FsyncNever})
		if r := s.Recovery(); len(r) != 0 {
			t.Fatalf("reports %+v", r)
		}
		checkKeys(t, s, want)
	}
	s.Close()
}
