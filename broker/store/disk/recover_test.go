package disk

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// damageCase writes 3 segments of records to /default/t, closes the store, damages the files, reopens and
// checks what survived.
type damageCase struct {
	name string
	// damage changes the segment files (oldest first) and returns the number of records expected to survive.
	damage func(t *testing.T, segs []string, counts []int) int
	// reason is a substring of the expected report's reason.
	reason string
}

const tornTopic = "/default/t"

func TestTornWrites(t *testing.T) {
	lastRecordStart := func(t *testing.T, path string) int64 {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var pos, last int64
		for pos < int64(len(b)) {
			last = pos
			pos += headerSize + int64(binary.LittleEndian.Uint32(b[pos:]))
		}
		return last
	}
	total := func(counts []int) int {
		n := 0
		for _, c := range counts {
			n += c
		}
		return n
	}
	cases := []damageCase{
		{"TruncateLastRecordBody", func(t *testing.T, segs []string, counts []int) int {
			last := segs[len(segs)-1]
			if err := os.Truncate(last, fileSize(t, last)-3); err != nil {
				t.Fatal(err)
			}
			return total(counts) - 1
		}, "torn record body"},
		{"TruncateLastRecordHeader", func(t *testing.T, segs []string, counts []int) int {
			last := segs[len(segs)-1]
			if err := os.Truncate(last, lastRecordStart(t, last)+5); err != nil {
				t.Fatal(err)
			}
			return total(counts) - 1
		}, "torn record header"},
		{"CorruptCRC", func(t *testing.T, segs []string, counts []int) int {
			last := segs[len(segs)-1]
			flipByte(t, last, lastRecordStart(t, last)+5)
			return total(counts) - 1
		}, "checksum mismatch"},
		{"CorruptBody", func(t *testing.T, segs []string, counts []int) int {
			last := segs[len(segs)-1]
			flipByte(t, last, fileSize(t, last)-2)
			return total(counts) - 1
		}, "checksum mismatch"},
		{"AppendGarbage", func(t *testing.T, segs []string, counts []int) int {
			appendBytes(t, segs[len(segs)-1], []byte("\x05\x00\x00\x00garbage that is not a record"))
			return total(counts)
		}, "checksum mismatch"},
		{"AppendHugeLength", func(t *testing.T, segs []string, counts []int) int {
			appendBytes(t, segs[len(segs)-1], []byte{0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5})
			return total(counts)
		}, "length out of range"},
		{"AppendZeros", func(t *testing.T, segs []string, counts []int) int {
			appendBytes(t, segs[len(segs)-1], make([]byte, 100))
			return total(counts) // an empty body has a CRC of 0 but no msg_id
		}, "no msg_id"},
		{"CorruptMiddleOfSealedSegment", func(t *testing.T, segs []string, counts []int) int {
			// The third record of the first segment: the first segment is cut there, the others removed.
			b, _ := os.ReadFile(segs[0])
			pos := int64(0)
			for range 2 {
				pos += headerSize + int64(binary.LittleEndian.Uint32(b[pos:]))
			}
			flipByte(t, segs[0], pos+headerSize+3)
			return 2
		}, "removed 2 later segment(s)"},
		{"ValidRecordWithWrongOffset", func(t *testing.T, segs []string, counts []int) int {
			// A well-formed record that claims another offset (a copy of the first record).
			b, _ := os.ReadFile(segs[0])
			n := headerSize + int(binary.LittleEndian.Uint32(b))
			appendBytes(t, segs[len(segs)-1], b[:n])
			return total(counts)
		}, "carries offset 0"},
		{"MissingMiddleSegment", func(t *testing.T, segs []string, counts []int) int {
			if err := os.Remove(segs[1]); err != nil {
				t.Fatal(err)
			}
			return total(counts) // the records before the gap are dropped, but the offsets stay
		}, "missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{Fsync: FsyncNever, SegmentBytes: 1 << 10}
			s := openT(t, dir, opts)
			l := logT(t, s, tornTopic)
			appendN(t, l, tornTopic, 25)
			segs := segmentFiles(t, dir, tornTopic)
			if len(segs) < 3 {
				t.Fatalf("%d segments", len(segs))
			}
			appendN(t, l, tornTopic, 0)
			s.Close()
			segs = segmentFiles(t, dir, tornTopic)
			var counts []int
			for i, p := range segs {
				base, _ := parseSegmentName(filepath.Base(p))
				end := uint64(25)
				if i+1 < len(segs) {
					end, _ = parseSegmentName(filepath.Base(segs[i+1]))
				}
				counts = append(counts, int(end-base))
			}
			keep := c.damage(t, segs, counts)

			s = openT(t, dir, opts)
			defer s.Close()
			reports := s.Recovery()
			if len(reports) != 1 || !strings.Contains(reports[0].Reason, c.reason) || reports[0].Topic != tornTopic {
				t.Fatalf("reports %+v, want one with %q", reports, c.reason)
			}
			l = logT(t, s, tornTopic)
			start := uint64(0)
			if c.name == "MissingMiddleSegment" {
				start = uint64(counts[0] + counts[1])
			}
			checkLog(t, l, tornTopic, start, uint64(keep))
			appendN(t, l, tornTopic, 3)
			checkLog(t, l, tornTopic, start, uint64(keep+3))

			// The repaired log is clean on the next open.
			s.Close()
			s = openT(t, dir, opts)
			if r := s.Recovery(); len(r) != 0 {
				t.Fatalf("second open reported %+v", r)
			}
			checkLog(t, logT(t, s, tornTopic), tornTopic, start, uint64(keep+3))
		})
	}
}

func TestTornMetadata(t *testing.T) {
	for _, damage := range []string{"truncate", "garbage", "crc"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			s := openT(t, dir, Options{Fsync: FsyncNever})
			s.Meta().Put("/a", []byte("1"))
			s.Meta().Put("/b", []byte("2"))
			s.Meta().Put("/c", []byte("3"))
			s.Close()
			path := filepath.Join(dir, metaFile)
			switch damage {
			case "truncate":
				os.Truncate(path, fileSize(t, path)-1)
			case "garbage":
				appendBytes(t, path, []byte("\x01\x00\x00\x00\x00\x00\x00\x00\x00"))
			case "crc":
				flipByte(t, path, fileSize(t, path)-1)
			}
			s = openT(t, dir, Options{})
			defer s.Close()
			r := s.Recovery()
			if len(r) != 1 || r[0].Segment != metaFile || r[0].Topic != "" {
				t.Fatalf("reports %+v", r)
			}
			kvs, _ := s.Meta().List("")
			want := 2
			if damage == "garbage" {
				want = 3
			}
			if len(kvs) != want {
				t.Fatalf("metadata after recovery: %v", kvs)
			}
			if err := s.Meta().Put("/d", []byte("4")); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s = openT(t, dir, Options{})
			if len(s.Recovery()) != 0 {
				t.Fatal(s.Recovery())
			}
			if v, ok, _ := s.Meta().Get("/d"); !ok || !bytes.Equal(v, []byte("4")) {
				t.Fatal("a put after recovery was lost")
			}
		})
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
