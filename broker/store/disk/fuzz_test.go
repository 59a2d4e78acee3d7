package disk

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// FuzzRecordDecode feeds arbitrary bytes to the record decoders: the frame decoder must never panic or read
// past its input, the allocation-free validator used by recovery must accept exactly what proto.Unmarshal
// accepts (and find the same msg_id.topic_offset), and the metadata decoder must round-trip what it accepts.
func FuzzRecordDecode(f *testing.F) {
	m := mkMsg("/default/t", "hello")
	m.MsgId.TopicOffset = 42
	body, _ := proto.Marshal(m)
	f.Add(body)
	f.Add(appendFramed(nil, body))
	f.Add([]byte{})
	f.Add([]byte{0x12, 0x00})                         // an empty msg_id
	f.Add([]byte{0x12, 0x02, 0x28, 0x07})             // msg_id{topic_offset: 7}
	f.Add([]byte{0x2a, 0x02, 0xff, 0xfe})             // producer_name with invalid UTF-8
	f.Add([]byte{0x3a, 0x04, 0x0a, 0x02, 0xc3, 0x28}) // an attributes key with invalid UTF-8
	f.Add([]byte{0x0b, 0x0c})                         // an unknown empty group
	f.Add([]byte{0x0c})                               // a stray end-group
	f.Add(appendMetaRecord(nil, opPut, "/k", []byte("v"))[headerSize:])
	f.Fuzz(func(t *testing.T, data []byte) {
		if body, n, err := decodeFrame(data); err == nil {
			if n != headerSize+len(body) || n > len(data) || checksum(body) != checksum(data[headerSize:n]) {
				t.Fatalf("decodeFrame returned %d bytes, body %d, input %d", n, len(body), len(data))
			}
		}

		var msg danubepb.StreamMessage
		uerr := proto.Unmarshal(data, &msg)
		off, has, verr := scanBody(data)
		if (uerr == nil) != (verr == nil) {
			t.Fatalf("proto.Unmarshal: %v, scanBody: %v", uerr, verr)
		}
		want := uint64(0)
		if uerr == nil {
			if has != (msg.MsgId != nil) || (has && off != msg.MsgId.TopicOffset) {
				t.Fatalf("scanBody = %d %v, message has %v", off, has, msg.MsgId)
			}
			if has {
				want = off
			}
		}
		framed := appendFramed(nil, data)
		got, n, derr := decodeRecord(framed, want)
		cerr := checkBody(data, want)
		if (derr == nil) != (cerr == nil) {
			t.Fatalf("decodeRecord: %v, checkBody: %v", derr, cerr)
		}
		if derr == nil && (n != len(framed) || !proto.Equal(got, &msg)) {
			t.Fatalf("decodeRecord = %v (%d bytes), want %v", got, n, &msg)
		}
		if _, _, err := decodeFrame(framed[:len(framed)-1]); err == nil {
			t.Fatal("a truncated frame decoded")
		}

		if op, key, value, err := decodeMetaBody(data); err == nil {
			re := appendMetaRecord(nil, op, key, value)
			body, _, err := decodeFrame(re)
			if err != nil {
				t.Fatal(err)
			}
			op2, key2, value2, err := decodeMetaBody(body)
			if err != nil || op2 != op || key2 != key || !bytes.Equal(value2, value) {
				t.Fatalf("metadata record did not round-trip: %v %q %q", op2, key2, value2)
			}
		}
	})
}

const fuzzTopic = "/default/fuzz"

// fuzzSegments writes two valid segments of 10 records each and returns the messages.
func fuzzSegments(t *testing.T, dir string) (paths []string, msgs []*danubepb.StreamMessage) {
	name, _ := topicDirName(fuzzTopic)
	tdir := filepath.Join(dir, "topics", name)
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for seg := range 2 {
		var buf []byte
		for i := range 10 {
			off := uint64(seg*10 + i)
			m := mkMsg(fuzzTopic, payloadOf(fuzzTopic, off))
			m.MsgId.TopicOffset = off
			var err error
			if buf, err = appendRecord(buf, m); err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m)
		}
		p := filepath.Join(tdir, segmentName(uint64(seg*10)))
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths, msgs
}

// FuzzSegmentRecovery damages a valid two-segment log (appending data to a segment, overwriting part of it,
// or cutting it and appending) and checks that Open does not fail or panic and serves only valid records with
// contiguous offsets, the original ones unchanged, and that appends continue right after them.
func FuzzSegmentRecovery(f *testing.F) {
	m := mkMsg(fuzzTopic, "x")
	m.MsgId.TopicOffset = 20
	valid, _ := appendRecord(nil, m)
	f.Add([]byte{}, uint32(0), uint8(0))
	f.Add([]byte("garbage"), uint32(0), uint8(1))
	f.Add(valid, uint32(0), uint8(1))         // a valid next record appended to the last segment
	f.Add(valid, uint32(0), uint8(0))         // ... to the first one (wrong offset)
	f.Add([]byte{0x00}, uint32(77), uint8(2)) // one byte overwritten in a sealed segment
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, uint32(0), uint8(3))
	f.Add([]byte{}, uint32(100), uint8(5)) // cut the last segment in the middle of a record
	f.Add([]byte{1, 2, 3}, uint32(1000), uint8(4))
	// Durability is not what this target checks; fsyncs would only slow it down.
	saved := fsync
	fsync = func(*os.File) error { return nil }
	f.Cleanup(func() { fsync = saved })
	f.Fuzz(func(t *testing.T, data []byte, at uint32, mode uint8) {
		dir := t.TempDir()
		paths, orig := fuzzSegments(t, dir)
		path := paths[mode&1]
		before, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var after []byte
		switch (mode >> 1) % 3 {
		case 0: // append
			after = append(bytes.Clone(before), data...)
		case 1: // overwrite
			p := int(at % uint32(len(before)))
			after = bytes.Clone(before)
			for i, b := range data {
				if p+i < len(after) {
					after[p+i] = b
				} else {
					after = append(after, b)
				}
			}
		case 2: // cut and append
			p := int(at % uint32(len(before)+1))
			after = append(bytes.Clone(before[:p]), data...)
		}
		if err := os.WriteFile(path, after, 0o644); err != nil {
			t.Fatal(err)
		}

		opts := Options{Fsync: FsyncNever}
		s, err := Open(dir, opts)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer func() { s.Close() }()
		l, err := s.Log(fuzzTopic)
		if err != nil {
			t.Fatal(err)
		}
		// The start moves only when the first segment lost all its records without the file showing damage
		// (it was cut to nothing): recovery then keeps the second segment and reports the gap.
		start, next := l.StartOffset(), l.NextOffset()
		if start != 0 && (start != 10 || len(s.Recovery()) == 0) {
			t.Fatalf("start %d, reports %+v", start, s.Recovery())
		}
		got, err := l.Read(start, 1000)
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if uint64(len(got)) != next-start {
			t.Fatalf("read %d records from %d, next offset %d", len(got), start, next)
		}
		for i, g := range got {
			off := start + uint64(i)
			if g.MsgId.TopicOffset != off {
				t.Fatalf("record %d has offset %d", off, g.MsgId.TopicOffset)
			}
			if off < uint64(len(orig)) && !proto.Equal(g, orig[off]) {
				t.Fatalf("record %d changed: %v, want %v", off, g, orig[off])
			}
		}
		reports := s.Recovery()
		switch {
		case bytes.Equal(before, after):
			if len(reports) != 0 || next != 20 {
				t.Fatalf("an intact log: next %d, reports %+v", next, reports)
			}
		case mode&1 == 1 && bytes.HasPrefix(before, after):
			// The last segment was only cut: the whole records before the cut survive, and the cut is
			// reported unless it fell on a record boundary (then the log just looks shorter).
			kept, boundary := 0, len(after) == 0
			for pos := 0; pos < len(after); kept++ {
				pos += headerSize + int(binary.LittleEndian.Uint32(before[pos:]))
				if pos > len(after) {
					break
				}
				boundary = pos == len(after)
			}
			if next != uint64(10+kept) || (len(reports) == 0) != boundary {
				t.Fatalf("cut at %d: next %d (want %d), reports %+v", len(after), next, 10+kept, reports)
			}
		case !bytes.HasPrefix(after, before) || mode&1 == 0:
			// An original byte changed, or the first segment grew into the second's offsets.
			if len(reports) == 0 {
				t.Fatalf("damage went unreported: next %d", next)
			}
		default:
			// Bytes appended to the last segment: the originals survive.
			if next < 20 {
				t.Fatalf("next %d", next)
			}
		}

		// Appends continue right after the surviving records, and the repaired log reopens cleanly.
		if off, err := l.Append(mkMsg(fuzzTopic, "new")); err != nil || off != next {
			t.Fatalf("Append = %d, %v; want %d", off, err, next)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if r := s.Recovery(); len(r) != 0 {
			t.Fatalf("second open reported %+v", r)
		}
		l, _ = s.Log(fuzzTopic)
		if l.StartOffset() != start || l.NextOffset() != next+1 {
			t.Fatalf("start %d next %d after reopening, want %d %d", l.StartOffset(), l.NextOffset(), start, next+1)
		}
	})
}
