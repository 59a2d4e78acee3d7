package disk

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// FuzzRecordDecode feeds arbitrary bytes to the record decoders: the frame decoders of both formats must never
// panic or read past their input, the allocation-free offset reader used by recovery must accept everything
// proto.Unmarshal accepts (and find the same msg_id.topic_offset), and the metadata decoder must round-trip
// what it accepts.
func FuzzRecordDecode(f *testing.F) {
	m := mkMsg("/default/t", "hello")
	m.MsgId.TopicOffset = 42
	body, _ := proto.Marshal(m)
	f.Add(body)
	f.Add(appendFramed(nil, 42, body))
	f.Add(appendFramedV1(nil, body))
	f.Add([]byte{})
	f.Add([]byte{0x12, 0x00})                         // an empty msg_id
	f.Add([]byte{0x12, 0x02, 0x28, 0x07})             // msg_id{topic_offset: 7}
	f.Add([]byte{0x2a, 0x02, 0xff, 0xfe})             // producer_name with invalid UTF-8
	f.Add([]byte{0x3a, 0x04, 0x0a, 0x02, 0xc3, 0x28}) // an attributes key with invalid UTF-8
	f.Add([]byte{0x0b, 0x0c})                         // an unknown empty group
	f.Add([]byte{0x0c})                               // a stray end-group
	f.Add(appendMetaRecord(nil, 0, opPut, "/k", []byte("v"))[recHeaderSize:])
	f.Fuzz(func(t *testing.T, data []byte) {
		if off, body, n, err := decodeFrame(data); err == nil {
			if n != recHeaderSize+len(body) || n > len(data) || checksum(body) != checksum(data[recHeaderSize:n]) {
				t.Fatalf("decodeFrame returned %d bytes, body %d, input %d", n, len(body), len(data))
			}
			if re := appendFramed(nil, off, body); !bytes.Equal(re, data[:n]) {
				t.Fatalf("decodeFrame accepted a frame that does not re-encode the same")
			}
		}
		if body, n, err := decodeFrameV1(data); err == nil {
			if n != v1HeaderSize+len(body) || n > len(data) {
				t.Fatalf("decodeFrameV1 returned %d bytes, body %d, input %d", n, len(body), len(data))
			}
		}

		var msg danubepb.StreamMessage
		uerr := proto.Unmarshal(data, &msg)
		off, has, verr := scanBody(data)
		if uerr == nil && verr != nil {
			t.Fatalf("proto.Unmarshal accepts what scanBody rejects: %v", verr)
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
		cerr := checkBody(data, want)
		for _, v1 := range []bool{false, true} {
			var framed []byte
			var got *danubepb.StreamMessage
			var n int
			var derr error
			if v1 {
				framed = appendFramedV1(nil, data)
				got, n, derr = decodeRecordV1(framed, want)
			} else {
				framed = appendFramed(nil, want, data)
				got, n, derr = decodeRecord(framed, want)
				if _, _, err := decodeRecord(framed, want+1); err == nil {
					t.Fatal("decodeRecord accepted a record of another offset")
				}
			}
			if derr == nil && cerr != nil {
				t.Fatalf("decodeRecord (v1 %v) accepts what checkBody rejects: %v", v1, cerr)
			}
			if derr == nil && (n != len(framed) || !proto.Equal(got, &msg)) {
				t.Fatalf("decodeRecord = %v (%d bytes), want %v", got, n, &msg)
			}
			if _, _, err := decodeFrameV1(framed[:len(framed)-1]); err == nil && v1 {
				t.Fatal("a truncated frame decoded")
			}
			if _, _, _, err := decodeFrame(framed[:len(framed)-1]); err == nil && !v1 {
				t.Fatal("a truncated frame decoded")
			}
		}

		if op, key, value, err := decodeMetaBody(data); err == nil {
			re := appendMetaRecord(nil, 9, op, key, value)
			seq, body, _, err := decodeFrame(re)
			if err != nil || seq != 9 {
				t.Fatal(seq, err)
			}
			op2, key2, value2, err := decodeMetaBody(body)
			if err != nil || op2 != op || key2 != key || !bytes.Equal(value2, value) {
				t.Fatalf("metadata record did not round-trip: %v %q %q", op2, key2, value2)
			}
		}
	})
}

const fuzzTopic = "/default/fuzz"

// fuzzSegments writes two valid segments of 10 records each and returns the messages and the file position of
// each record in its file.
func fuzzSegments(t *testing.T, dir string) (paths []string, msgs []*danubepb.StreamMessage, spans [][2]int) {
	name, _ := topicDirName(fuzzTopic)
	tdir := filepath.Join(dir, "topics", name)
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		t.Fatal(err)
	}
	for seg := range 2 {
		buf := fileHeader(segMagic)
		for i := range 10 {
			off := uint64(seg*10 + i)
			m := mkMsg(fuzzTopic, payloadOf(fuzzTopic, off))
			m.MsgId.TopicOffset = off
			start := len(buf)
			var err error
			if buf, err = appendRecord(buf, m); err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m)
			spans = append(spans, [2]int{start, len(buf)})
		}
		p := filepath.Join(tdir, segmentName(uint64(seg*10)))
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths, msgs, spans
}

// readAll reads every stored message of l.
func readAll(t *testing.T, l store.Log) []*danubepb.StreamMessage {
	got, err := l.Read(l.StartOffset(), 1<<20)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return got
}

// FuzzSegmentRecovery damages a valid two-segment log (appending data to a segment, overwriting part of it, or
// cutting it and appending) and checks that Open does not fail or panic; serves only valid records, in
// increasing offset order, the original ones unchanged; serves every original record whose bytes are intact;
// reports every damage; never lowers the next offset below a record it serves; and that appends continue at
// the next offset and the log reopens to the same state.
func FuzzSegmentRecovery(f *testing.F) {
	m := mkMsg(fuzzTopic, "x")
	m.MsgId.TopicOffset = 20
	valid, _ := appendRecord(nil, m)
	f.Add([]byte{}, uint32(0), uint8(0))
	f.Add([]byte("garbage"), uint32(0), uint8(1))
	f.Add(valid, uint32(0), uint8(1))         // a valid next record appended to the last segment
	f.Add(valid, uint32(0), uint8(0))         // ... to the first one (offset out of its range)
	f.Add([]byte{0x00}, uint32(77), uint8(2)) // one byte overwritten in a sealed segment
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, uint32(0), uint8(3))
	f.Add([]byte{}, uint32(100), uint8(5)) // cut the last segment in the middle of a record
	f.Add([]byte{1, 2, 3}, uint32(1000), uint8(4))
	f.Add(make([]byte, 300), uint32(200), uint8(2)) // zeros over several records of a sealed segment
	f.Add([]byte{9}, uint32(6), uint8(2))           // an unknown format version
	// A torn record whose intact header claims more than the file holds, then more than what follows it.
	f.Add(tornHeader(20, 2000, 10), uint32(0), uint8(1))
	f.Add(append(tornHeader(20, 40, 10), valid...), uint32(0), uint8(1))
	far := mkMsg(fuzzTopic, "far")
	far.MsgId.TopicOffset = 1 << 40
	farRec, _ := appendRecord(nil, far)
	f.Add(farRec, uint32(0), uint8(1)) // a valid record with an offset far past the last one
	// Durability is not what this target checks; fsyncs would only slow it down.
	saved := fsync
	fsync = func(*os.File) error { return nil }
	f.Cleanup(func() { fsync = saved })
	f.Fuzz(func(t *testing.T, data []byte, at uint32, mode uint8) {
		dir := t.TempDir()
		paths, orig, spans := fuzzSegments(t, dir)
		which := int(mode & 1)
		path := paths[which]
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
		reports := s.Recovery()
		start, next := l.StartOffset(), l.NextOffset()
		if start != 0 && (start != 10 || len(reports) == 0) {
			t.Fatalf("start %d, reports %+v", start, reports)
		}
		got := readAll(t, l)
		served := map[uint64]bool{}
		for i, g := range got {
			off := g.MsgId.TopicOffset
			if i > 0 && off <= got[i-1].MsgId.TopicOffset || off < start || off >= next {
				t.Fatalf("record %d has offset %d (start %d, next %d)", i, off, start, next)
			}
			if off < uint64(len(orig)) && !proto.Equal(g, orig[off]) {
				t.Fatalf("record %d changed: %v, want %v", off, g, orig[off])
			}
			served[off] = true
		}
		// Every original record whose bytes are intact in place is served (unless its whole segment was
		// moved aside).
		for off := range uint64(20) {
			sp := spans[off]
			intact := int(off/10) != which || (len(after) >= sp[1] && bytes.Equal(after[sp[0]:sp[1]], before[sp[0]:sp[1]]))
			if intact && !served[off] && !(off < 10 && start == 10) && !movedAside(reports, int(off/10)) {
				t.Fatalf("intact record %d not served; reports %+v", off, reports)
			}
		}
		switch {
		case bytes.Equal(before, after):
			if len(reports) != 0 || next != 20 {
				t.Fatalf("an intact log: next %d, reports %+v", next, reports)
			}
		case which == 1 && bytes.HasPrefix(before, after):
			// The last segment was only cut: the whole records before the cut survive, and the cut is
			// reported unless it fell on a record boundary (then the log just looks shorter).
			kept, boundary := 0, len(after) <= fileHeaderSize
			for _, sp := range spans[10:] {
				if sp[1] <= len(after) {
					kept++
				}
				boundary = boundary || sp[1] == len(after)
			}
			if len(got) != 10+kept || (next != uint64(10+kept) && next != uint64(10+kept+1)) || (len(reports) == 0) != boundary {
				t.Fatalf("cut at %d: served %d, next %d (want %d), reports %+v", len(after), len(got), next, 10+kept, reports)
			}
		case !bytes.HasPrefix(after, before):
			// An original byte changed.
			if len(reports) == 0 {
				t.Fatalf("damage went unreported: next %d", next)
			}
		default:
			// Bytes appended: the originals survive.
			if next < 20 {
				t.Fatalf("next %d", next)
			}
		}

		// Appends continue at the next offset, and the log reopens to the same state, reporting again only
		// damage that stays in place.
		if off, err := l.Append(mkMsg(fuzzTopic, "new")); err != nil || off != next {
			t.Fatalf("Append = %d, %v; want %d", off, err, next)
		}
		got = readAll(t, l)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range s.Recovery() {
			if r.Action != store.RecoverySkipped && r.Action != store.RecoveryMissing {
				t.Fatalf("second open reported %+v", r)
			}
		}
		l, _ = s.Log(fuzzTopic)
		if l.StartOffset() != start || l.NextOffset() != next+1 {
			t.Fatalf("start %d next %d after reopening, want %d %d", l.StartOffset(), l.NextOffset(), start, next+1)
		}
		if again := readAll(t, l); !slices.EqualFunc(again, got, func(a, b *danubepb.StreamMessage) bool { return proto.Equal(a, b) }) {
			t.Fatalf("reopened log serves %d records, before %d", len(again), len(got))
		}
	})
}

func movedAside(reports []RecoveryReport, seg int) bool {
	for _, r := range reports {
		if r.Action == store.RecoveryMoved && filepath.Base(r.File) == segmentName(uint64(seg*10)) {
			return true
		}
	}
	return false
}

// FuzzMetaRecovery opens a store whose meta.log holds arbitrary bytes: Open must not fail or panic, and a
// reopened store must hold what the first one held (plus a put made in between) and report nothing.
func FuzzMetaRecovery(f *testing.F) {
	var v2 []byte
	v2 = append(v2, fileHeader(metaMagic)...)
	v2 = appendMetaRecord(v2, 0, opPut, "/a", []byte("1"))
	v2 = appendMetaRecord(v2, 1, opPut, "/b", []byte("2"))
	v2 = appendMetaRecord(v2, 2, opDelete, "/a", nil)
	v2 = appendMetaRecord(v2, 3, opDeletePrefix, "/c", nil)
	var v1 []byte
	v1 = appendMetaRecordV1(v1, opPut, "/a", []byte("1"))
	v1 = appendMetaRecordV1(v1, opPut, "/b", []byte("2"))
	f.Add([]byte{})
	f.Add(v2)
	f.Add(v1)
	f.Add(v2[:len(v2)-3])
	f.Add(append(bytes.Clone(v2[:40]), v2[50:]...))
	f.Add(fileHeader(metaMagic)[:5])
	f.Add(append(bytes.Clone(v2), tornHeader(4, 2000, 10)...))
	f.Add(appendMetaRecord(bytes.Clone(v2), 1<<40, opPut, "/far", nil))
	saved := fsync
	fsync = func(*os.File) error { return nil }
	f.Cleanup(func() { fsync = saved })
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, metaFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(dir, Options{Fsync: FsyncNever})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer func() { s.Close() }()
		kvs, err := s.Meta().List("")
		if err != nil {
			t.Fatal(err)
		}
		const extra = "\xff/fuzz-extra"
		if err := s.Meta().Put(extra, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = Open(dir, Options{Fsync: FsyncNever})
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		if r := s.Recovery(); len(r) != 0 {
			t.Fatalf("second open reported %+v", r)
		}
		again, err := s.Meta().List("")
		if err != nil {
			t.Fatal(err)
		}
		want := slices.DeleteFunc(slices.Clone(kvs), func(kv store.KV) bool { return kv.Key == extra })
		want = append(want, store.KV{Key: extra, Value: []byte("x")})
		slices.SortFunc(want, func(a, b store.KV) int { return bytes.Compare([]byte(a.Key), []byte(b.Key)) })
		if !slices.EqualFunc(again, want, func(a, b store.KV) bool { return a.Key == b.Key && bytes.Equal(a.Value, b.Value) }) {
			t.Fatalf("reopened metadata %v, want %v", again, want)
		}
	})
}
