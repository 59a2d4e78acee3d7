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

const tornTopic = "/default/t"

// damageWant is what a damaged log must look like after recovery.
type damageWant struct {
	missing map[uint64]bool // offsets not served
	start   uint64
	next    uint64 // NextOffset after recovery
	// The single report expected from the first Open.
	action  string
	records int64
	first   uint64
	reason  string // substring of its Reason
	// reopen is the action reported again by the next Open ("" for none).
	reopen string
}

func offsetRange(lo, hi uint64) map[uint64]bool {
	m := map[uint64]bool{}
	for o := lo; o < hi; o++ {
		m[o] = true
	}
	return m
}

// writeTorn writes 25 records to /default/t in segments of at most 1 KiB, closes the store and returns the
// segment files and the offsets each starts at.
func writeTorn(t *testing.T, dir string, opts Options) (segs []string, bases []uint64) {
	s := openT(t, dir, opts)
	appendN(t, logT(t, s, tornTopic), tornTopic, 25)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	segs = segmentFiles(t, dir, tornTopic)
	if len(segs) < 3 {
		t.Fatalf("%d segments", len(segs))
	}
	for _, p := range segs {
		base, _ := parseSegmentName(filepath.Base(p))
		bases = append(bases, base)
	}
	return segs, bases
}

func TestDamagedSegments(t *testing.T) {
	last := func(segs []string) string { return segs[len(segs)-1] }
	lastStart := func(t *testing.T, segs []string) int64 {
		s := recordStarts(t, last(segs))
		return s[len(s)-1]
	}
	cases := []struct {
		name   string
		damage func(t *testing.T, segs []string, bases []uint64) damageWant
	}{
		{"TornLastRecordBody", func(t *testing.T, segs []string, _ []uint64) damageWant {
			p := last(segs)
			if err := os.Truncate(p, fileSize(t, p)-3); err != nil {
				t.Fatal(err)
			}
			// Its header is intact: offset 24 is known and never given again.
			return damageWant{missing: offsetRange(24, 25), next: 25, action: store.RecoveryTruncated, records: 1, first: 24, reason: "torn record body"}
		}},
		{"TornLastRecordHeader", func(t *testing.T, segs []string, _ []uint64) damageWant {
			if err := os.Truncate(last(segs), lastStart(t, segs)+5); err != nil {
				t.Fatal(err)
			}
			return damageWant{next: 24, action: store.RecoveryTruncated, records: -1, first: 24, reason: "torn record header"}
		}},
		{"DamagedHeaderOfLastRecord", func(t *testing.T, segs []string, _ []uint64) damageWant {
			flipByte(t, last(segs), lastStart(t, segs)+5)
			return damageWant{next: 24, action: store.RecoveryTruncated, records: -1, first: 24, reason: "damaged record header"}
		}},
		{"DamagedHeaderInTheMiddle", func(t *testing.T, segs []string, _ []uint64) damageWant {
			flipByte(t, segs[0], recordStarts(t, segs[0])[3]+13) // the length field
			return damageWant{missing: offsetRange(3, 4), next: 25, action: store.RecoverySkipped, records: 1, first: 3,
				reason: "damaged record header", reopen: store.RecoverySkipped}
		}},
		{"CorruptBodyInTheMiddle", func(t *testing.T, segs []string, _ []uint64) damageWant {
			flipByte(t, segs[0], recordStarts(t, segs[0])[2]+recHeaderSize+3)
			return damageWant{missing: offsetRange(2, 3), next: 25, action: store.RecoverySkipped, records: 1, first: 2,
				reason: "checksum mismatch", reopen: store.RecoverySkipped}
		}},
		{"CorruptBodyOfLastRecord", func(t *testing.T, segs []string, _ []uint64) damageWant {
			p := last(segs)
			flipByte(t, p, fileSize(t, p)-2)
			return damageWant{missing: offsetRange(24, 25), next: 25, action: store.RecoverySkipped, records: 1, first: 24,
				reason: "checksum mismatch", reopen: store.RecoverySkipped}
		}},
		{"ZeroFilledRegion", func(t *testing.T, segs []string, _ []uint64) damageWant {
			st := recordStarts(t, segs[0])
			zeroBytes(t, segs[0], st[2]+10, st[5]+3)
			return damageWant{missing: offsetRange(2, 6), next: 25, action: store.RecoverySkipped, records: 4, first: 2,
				reason: "damaged record header", reopen: store.RecoverySkipped}
		}},
		{"AppendGarbage", func(t *testing.T, segs []string, _ []uint64) damageWant {
			appendBytes(t, last(segs), []byte("\x05\x00\x00\x00garbage that is not a record"))
			return damageWant{next: 25, action: store.RecoveryTruncated, records: -1, first: 25, reason: "damaged record header"}
		}},
		{"AppendZeros", func(t *testing.T, segs []string, _ []uint64) damageWant {
			appendBytes(t, last(segs), make([]byte, 100))
			return damageWant{next: 25, action: store.RecoveryTruncated, records: -1, first: 25, reason: "damaged record header"}
		}},
		{"AppendTornHugeRecord", func(t *testing.T, segs []string, _ []uint64) damageWant {
			hdr := make([]byte, recHeaderSize)
			putRecHeader(hdr, 25, make([]byte, 1<<20))
			appendBytes(t, last(segs), append(hdr, 1, 2, 3))
			return damageWant{missing: offsetRange(25, 26), next: 26, action: store.RecoveryTruncated, records: 1, first: 25, reason: "torn record body"}
		}},
		{"ValidRecordWithWrongOffset", func(t *testing.T, segs []string, _ []uint64) damageWant {
			// A well-formed record that claims another offset (a copy of the first record).
			b, _ := os.ReadFile(segs[0])
			st := recordStarts(t, segs[0])
			appendBytes(t, last(segs), b[st[0]:st[1]])
			return damageWant{next: 25, action: store.RecoverySkipped, records: 1, first: 0, reason: "carries offset 0", reopen: store.RecoverySkipped}
		}},
		{"MissingMiddleSegment", func(t *testing.T, segs []string, bases []uint64) damageWant {
			if err := os.Remove(segs[1]); err != nil {
				t.Fatal(err)
			}
			return damageWant{missing: offsetRange(bases[1], bases[2]), next: 25, action: store.RecoveryMissing,
				records: int64(bases[2] - bases[1]), first: bases[1], reason: "missing", reopen: store.RecoveryMissing}
		}},
		{"UnreadableMiddleSegment", func(t *testing.T, segs []string, bases []uint64) damageWant {
			overwrite(t, segs[1], 6, []byte{9, 0}) // format version 9
			return damageWant{missing: offsetRange(bases[1], bases[2]), next: 25, action: store.RecoveryMoved,
				records: -1, first: bases[1], reason: "unsupported format version 9"}
		}},
		{"UnreadableLastSegment", func(t *testing.T, segs []string, bases []uint64) damageWant {
			p := last(segs)
			overwrite(t, p, 6, []byte{9, 0})
			// Offsets go on past anything the moved file could have held.
			next := bases[len(bases)-1] + uint64(fileSize(t, p)/minRecordSize) + 1
			return damageWant{missing: offsetRange(bases[len(bases)-1], next), next: next, action: store.RecoveryMoved,
				records: -1, first: bases[len(bases)-1], reason: "unsupported format version 9"}
		}},
		{"UnreadableFirstSegment", func(t *testing.T, segs []string, bases []uint64) damageWant {
			overwrite(t, segs[0], 6, []byte{9, 0})
			return damageWant{start: bases[1], next: 25, action: store.RecoveryMoved, records: -1, first: 0,
				reason: "unsupported format version 9"}
		}},
		{"DamagedFileHeader", func(t *testing.T, segs []string, _ []uint64) damageWant {
			overwrite(t, segs[0], 0, []byte("garbage!"))
			return damageWant{next: 25, action: store.RecoverySkipped, records: 0, first: 0, reason: "damaged record header",
				reopen: store.RecoverySkipped}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Fsync: FsyncNever, SegmentBytes: 1 << 10}
			segs, bases := writeTorn(t, dir, opts)
			want := c.damage(t, segs, bases)

			s := openT(t, dir, opts)
			defer func() { s.Close() }()
			reports := s.Recovery()
			if len(reports) != 1 {
				t.Fatalf("reports %+v, want one", reports)
			}
			r := reports[0]
			if r.Topic != tornTopic || r.Action != want.action || r.Records != want.records || r.FirstOffset != want.first ||
				!strings.Contains(r.Reason, want.reason) {
				t.Fatalf("report %+v, want %s of %d records from %d with %q", r, want.action, want.records, want.first, want.reason)
			}
			if r.Records > 0 && r.LastOffset != r.FirstOffset+uint64(r.Records)-1 {
				t.Fatalf("report %+v: last offset", r)
			}
			if r.MovedTo != "" {
				if _, err := os.Stat(filepath.Join(dir, r.MovedTo)); err != nil {
					t.Fatalf("moved to: %v", err)
				}
			} else if r.Action == store.RecoveryTruncated || r.Action == store.RecoveryMoved {
				t.Fatalf("report %+v has no MovedTo", r)
			}
			l := logT(t, s, tornTopic)
			checkOffsets(t, l, tornTopic, want.start, want.next, want.missing)
			appendN(t, l, tornTopic, 3)
			checkOffsets(t, l, tornTopic, want.start, want.next+3, want.missing)

			s.Close()
			s = openT(t, dir, opts)
			got := s.Recovery()
			if want.reopen == "" && len(got) != 0 || want.reopen != "" && (len(got) != 1 || got[0].Action != want.reopen) {
				t.Fatalf("second open reported %+v, want %q", got, want.reopen)
			}
			checkOffsets(t, logT(t, s, tornTopic), tornTopic, want.start, want.next+3, want.missing)
		})
	}
}

// TestFlippedByteInLargeSegment: one flipped byte in the middle of a segment of 1,000 messages loses one
// message; the report names it, and new messages get offsets past the old highest.
func TestFlippedByteInLargeSegment(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Fsync: FsyncNever}
	s := openT(t, dir, opts)
	appendN(t, logT(t, s, tornTopic), tornTopic, 1000)
	s.Close()
	segs := segmentFiles(t, dir, tornTopic)
	if len(segs) != 1 {
		t.Fatalf("%d segments", len(segs))
	}
	st := recordStarts(t, segs[0])
	flipByte(t, segs[0], st[500]+recHeaderSize+5)

	s = openT(t, dir, opts)
	defer s.Close()
	r := s.Recovery()
	if len(r) != 1 || r[0].Action != store.RecoverySkipped || r[0].Records != 1 || r[0].FirstOffset != 500 || r[0].LastOffset != 500 ||
		r[0].Position != st[500] || r[0].Bytes != st[501]-st[500] {
		t.Fatalf("reports %+v", r)
	}
	l := logT(t, s, tornTopic)
	checkOffsets(t, l, tornTopic, 0, 1000, offsetRange(500, 501))
	appendN(t, l, tornTopic, 5)
	if l.NextOffset() != 1005 {
		t.Fatalf("next %d", l.NextOffset())
	}
}

// TestOldFormatUpgrade: a directory written in format version 1 opens, serves its records, and takes appends
// into a new segment in the current format; the old files are left as they were.
func TestOldFormatUpgrade(t *testing.T) {
	dir := t.TempDir()
	paths := writeV1Log(t, dir, tornTopic, []int{10, 10, 5})
	var before [][]byte
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		before = append(before, b)
	}
	s := openT(t, dir, Options{Fsync: FsyncNever})
	if r := s.Recovery(); len(r) != 0 {
		t.Fatalf("reports %+v", r)
	}
	l := logT(t, s, tornTopic)
	checkLog(t, l, tornTopic, 0, 25)
	appendN(t, l, tornTopic, 3)
	s.Close()

	segs := segmentFiles(t, dir, tornTopic)
	if len(segs) != 4 || filepath.Base(segs[3]) != segmentName(25) {
		t.Fatalf("segments %v", segs)
	}
	for i, p := range paths {
		if b, _ := os.ReadFile(p); !bytes.Equal(b, before[i]) {
			t.Fatalf("%s changed", p)
		}
	}
	if b, _ := os.ReadFile(segs[3]); !bytes.HasPrefix(b, fileHeader(segMagic)) {
		t.Fatalf("new segment starts with %q", b[:min(len(b), 8)])
	}
	s = openT(t, dir, Options{Fsync: FsyncNever})
	defer s.Close()
	if r := s.Recovery(); len(r) != 0 {
		t.Fatalf("reports %+v", r)
	}
	l = logT(t, s, tornTopic)
	checkLog(t, l, tornTopic, 0, 28)
	appendN(t, l, tornTopic, 2)
	checkLog(t, l, tornTopic, 0, 30)
}

// TestOldFormatDamage: a version 1 segment damaged in the middle keeps its records up to the damage; the rest of
// it is moved aside, and the later segments are kept.
func TestOldFormatDamage(t *testing.T) {
	dir := t.TempDir()
	paths := writeV1Log(t, dir, tornTopic, []int{10, 10, 5})
	st := v1RecordStarts(t, paths[0])
	size := fileSize(t, paths[0])
	flipByte(t, paths[0], st[3]+v1HeaderSize+2)
	s := openT(t, dir, Options{Fsync: FsyncNever})
	r := s.Recovery()
	if len(r) != 1 || r[0].Action != store.RecoveryTruncated || r[0].FirstOffset != 3 || r[0].Position != st[3] || r[0].Bytes != size-st[3] {
		t.Fatalf("reports %+v", r)
	}
	if b, err := os.ReadFile(filepath.Join(dir, r[0].MovedTo)); err != nil || int64(len(b)) != size-st[3] {
		t.Fatalf("moved tail: %d bytes, %v", len(b), err)
	}
	l := logT(t, s, tornTopic)
	checkOffsets(t, l, tornTopic, 0, 25, offsetRange(3, 10))
	appendN(t, l, tornTopic, 2)
	s.Close()
	s = openT(t, dir, Options{Fsync: FsyncNever})
	defer s.Close()
	if r := s.Recovery(); len(r) != 0 {
		t.Fatalf("reports %+v", r)
	}
	checkOffsets(t, logT(t, s, tornTopic), tornTopic, 0, 27, offsetRange(3, 10))
}

func TestTornMetadata(t *testing.T) {
	for _, damage := range []string{"truncate", "garbage", "crc", "middle", "middle-header"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir, Options{Fsync: FsyncNever})
			for i := range 5 {
				s.Meta().Put(fmt.Sprintf("/%c", 'a'+i), fmt.Appendf(nil, "%d", i))
			}
			s.Close()
			path := filepath.Join(dir, metaFile)
			st := recordStarts(t, path)
			want := []string{"/a", "/b", "/c", "/d"}
			action, records := store.RecoveryTruncated, int64(-1)
			switch damage {
			case "truncate":
				os.Truncate(path, fileSize(t, path)-1)
				records = 1
			case "garbage":
				appendBytes(t, path, []byte("\x01\x00\x00\x00\x00\x00\x00\x00\x00"))
				want = append(want, "/e")
			case "crc":
				flipByte(t, path, fileSize(t, path)-1)
				action, records = store.RecoverySkipped, 1
			case "middle":
				flipByte(t, path, st[2]+recHeaderSize+1)
				want, action, records = []string{"/a", "/b", "/d", "/e"}, store.RecoverySkipped, 1
			case "middle-header":
				flipByte(t, path, st[1]+2)
				want, action, records = []string{"/a", "/c", "/d", "/e"}, store.RecoverySkipped, 1
			}
			damagedSize := fileSize(t, path)
			s = openT(t, dir, Options{})
			defer func() { s.Close() }()
			r := s.Recovery()
			if len(r) != 1 || r[0].File != metaFile || r[0].Topic != "" || r[0].Action != action || r[0].Records != records ||
				r[0].MovedTo != metaFile+".corrupt" {
				t.Fatalf("reports %+v", r)
			}
			if b, err := os.ReadFile(filepath.Join(dir, r[0].MovedTo)); err != nil || int64(len(b)) != damagedSize {
				t.Fatalf("copy of the damaged file: %d bytes, %v; want %d", len(b), err, damagedSize)
			}
			checkKeys(t, s, want)
			if err := s.Meta().Put("/z", []byte("4")); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s = openT(t, dir, Options{})
			if len(s.Recovery()) != 0 {
				t.Fatal(s.Recovery())
			}
			checkKeys(t, s, append(want, "/z"))
		})
	}
}

// TestOldFormatMetadata: a version 1 meta.log is replayed and rewritten in the current format at once.
func TestOldFormatMetadata(t *testing.T) {
	dir := t.TempDir()
	var b []byte
	b = appendMetaRecordV1(b, opPut, "/a", []byte("1"))
	b = appendMetaRecordV1(b, opPut, "/b", []byte("2"))
	b = appendMetaRecordV1(b, opPut, "/c", []byte("3"))
	b = appendMetaRecordV1(b, opDelete, "/b", nil)
	path := filepath.Join(dir, metaFile)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s := openT(t, dir, Options{})
	if len(s.Recovery()) != 0 {
		t.Fatal(s.Recovery())
	}
	checkKeys(t, s, []string{"/a", "/c"})
	if b, _ := os.ReadFile(path); !bytes.HasPrefix(b, fileHeader(metaMagic)) {
		t.Fatalf("meta.log was not rewritten: %q", b[:min(len(b), 8)])
	}
	s.Meta().Put("/d", []byte("4"))
	s.Close()
	s = openT(t, dir, Options{})
	defer s.Close()
	if len(s.Recovery()) != 0 {
		t.Fatal(s.Recovery())
	}
	checkKeys(t, s, []string{"/a", "/c", "/d"})
	if v, _, _ := s.Meta().Get("/a"); string(v) != "1" {
		t.Fatalf("/a = %q", v)
	}
}

// TestOldFormatMetadataDamage: a damaged version 1 meta.log keeps its records up to the damage; the file is
// copied aside before it is rewritten in the current format.
func TestOldFormatMetadataDamage(t *testing.T) {
	dir := t.TempDir()
	var b []byte
	b = appendMetaRecordV1(b, opPut, "/a", []byte("1"))
	b = appendMetaRecordV1(b, opPut, "/b", []byte("2"))
	cut := len(b)
	b = appendMetaRecordV1(b, opPut, "/c", []byte("3"))
	b[cut+v1HeaderSize+1] ^= 0x5a
	path := filepath.Join(dir, metaFile)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s := openT(t, dir, Options{})
	r := s.Recovery()
	if len(r) != 1 || r[0].Action != store.RecoveryTruncated || r[0].Position != int64(cut) || r[0].FirstOffset != 2 ||
		r[0].MovedTo != metaFile+".corrupt" {
		t.Fatalf("reports %+v", r)
	}
	if saved, err := os.ReadFile(filepath.Join(dir, r[0].MovedTo)); err != nil || !bytes.Equal(saved, b) {
		t.Fatalf("copy of the damaged file: %v", err)
	}
	checkKeys(t, s, []string{"/a", "/b"})
	s.Close()
	s = openT(t, dir, Options{})
	defer s.Close()
	if len(s.Recovery()) != 0 {
		t.Fatal(s.Recovery())
	}
	checkKeys(t, s, []string{"/a", "/b"})
}

func checkKeys(t *testing.T, s *Store, want []string) {
	t.Helper()
	kvs, err := s.Meta().List("")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, kv := range kvs {
		got = append(got, kv.Key)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("metadata keys %v, want %v", got, want)
	}
}

func flipByte(t *testing.T, path string, at int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, at); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x5a
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

func overwrite(t *testing.T, path string, at int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

func zeroBytes(t *testing.T, path string, from, to int64) {
	t.Helper()
	overwrite(t, path, from, make([]byte, to-from))
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}
