package disk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/proto/danubepb"
)

var policies = []FsyncPolicy{FsyncAlways, FsyncInterval, FsyncNever}

// oddTopics are topic names whose directory names must still be safe and reversible.
var oddTopics = []string{
	"/default/orders",
	"a/b/c",
	"/default/",
	"/ünïcödé/日本語-topic_1",
	"..",
	"",
	"/default/" + strings.Repeat("long-name-", 20),
}

func openT(t testing.TB, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func logT(t testing.TB, s *Store, topic string) store.Log {
	t.Helper()
	l, err := s.Log(topic)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mkMsg(topic, payload string) *danubepb.StreamMessage {
	return &danubepb.StreamMessage{
		RequestId:    7,
		MsgId:        &danubepb.MsgID{ProducerId: 3, TopicName: topic, BrokerAddr: "127.0.0.1:6650"},
		Payload:      []byte(payload),
		PublishTime:  1700000000000,
		ProducerName: "p",
		Attributes:   map[string]string{"k": payload},
	}
}

func payloadOf(topic string, off uint64) string { return fmt.Sprintf("%s#%d", topic, off) }

// appendN appends n messages whose payloads name their expected offsets.
func appendN(t testing.TB, l store.Log, topic string, n int) {
	t.Helper()
	for range n {
		want := l.NextOffset()
		off, err := l.Append(mkMsg(topic, payloadOf(topic, want)))
		if err != nil {
			t.Fatal(err)
		}
		if off != want {
			t.Fatalf("Append to %q returned offset %d, want %d", topic, off, want)
		}
	}
}

// checkLog verifies the offsets and the contents of every stored message.
func checkLog(t testing.TB, l store.Log, topic string, start, next uint64) {
	t.Helper()
	if l.StartOffset() != start || l.NextOffset() != next {
		t.Fatalf("%q: start %d next %d, want %d %d", topic, l.StartOffset(), l.NextOffset(), start, next)
	}
	if start > 0 {
		if _, err := l.Read(start-1, 1); !errors.Is(err, store.ErrOffsetTruncated) {
			t.Fatalf("%q: Read below the start: %v", topic, err)
		}
	}
	for off := start; off < next; {
		got, err := l.Read(off, 7)
		if err != nil {
			t.Fatalf("%q: Read(%d): %v", topic, off, err)
		}
		if len(got) == 0 {
			t.Fatalf("%q: Read(%d) returned nothing before the end %d", topic, off, next)
		}
		for _, m := range got {
			if m.MsgId.TopicOffset != off || string(m.Payload) != payloadOf(topic, off) {
				t.Fatalf("%q: offset %d holds offset %d payload %q", topic, off, m.MsgId.TopicOffset, m.Payload)
			}
			want := mkMsg(topic, payloadOf(topic, off))
			want.MsgId.TopicOffset = off
			if !proto.Equal(m, want) {
				t.Fatalf("%q: offset %d: got %v want %v", topic, off, m, want)
			}
			off++
		}
	}
	if got, err := l.Read(next, 10); err != nil || len(got) != 0 {
		t.Fatalf("%q: Read at the end: %d messages, %v", topic, len(got), err)
	}
}

// segmentFiles returns the segment files of a topic, oldest first.
func segmentFiles(t testing.TB, dir, topic string) []string {
	t.Helper()
	name, _ := topicDirName(topic)
	m, err := filepath.Glob(filepath.Join(dir, "topics", name, "*"+segSuffix))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// reopenWithoutClose opens dir again while s is still open, as a restarted process after a crash would find
// it: whatever s wrote with write(2) is in the files, nothing was flushed or closed. s is closed at cleanup.
func reopenWithoutClose(t testing.TB, s *Store, dir string, opts Options) *Store {
	t.Helper()
	s.lock.Close() // the crashed process's lock dies with it
	s.lock = nil
	t.Cleanup(func() { s.Close() })
	return openT(t, dir, opts)
}

// recordStarts returns the file positions of the records of an undamaged version 2 file.
func recordStarts(t testing.TB, path string) []int64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for pos := int64(fileHeaderSize); pos+recHeaderSize <= int64(len(b)); {
		h, ok := parseRecHeader(b[pos:])
		if !ok {
			t.Fatalf("%s: no record at %d", path, pos)
		}
		out = append(out, pos)
		pos += recHeaderSize + int64(h.size)
	}
	return out
}

// checkOffsets verifies that reading the log from its start returns exactly the offsets from start to next
// that are not in missing, each with its payload, whatever the batch size, and that a Read starting at a
// missing offset returns the next stored one.
func checkOffsets(t testing.TB, l store.Log, topic string, start, next uint64, missing map[uint64]bool) {
	t.Helper()
	if l.StartOffset() != start || l.NextOffset() != next {
		t.Fatalf("%q: start %d next %d, want %d %d", topic, l.StartOffset(), l.NextOffset(), start, next)
	}
	var want []uint64
	for o := start; o < next; o++ {
		if !missing[o] {
			want = append(want, o)
		}
	}
	for _, batch := range []int{1, 7, 1000} {
		var got []uint64
		for from := start; from < next; {
			msgs, err := l.Read(from, batch)
			if err != nil {
				t.Fatalf("%q: Read(%d, %d): %v", topic, from, batch, err)
			}
			if len(msgs) == 0 {
				break
			}
			for _, m := range msgs {
				off := m.MsgId.TopicOffset
				if off < from || string(m.Payload) != payloadOf(topic, off) {
					t.Fatalf("%q: Read(%d) gave offset %d payload %q", topic, from, off, m.Payload)
				}
				want := mkMsg(topic, payloadOf(topic, off))
				want.MsgId.TopicOffset = off
				if !proto.Equal(m, want) {
					t.Fatalf("%q: offset %d: got %v want %v", topic, off, m, want)
				}
				got = append(got, off)
				from = off + 1
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%q: read offsets %v (batch %d), want %v", topic, got, batch, want)
		}
	}
	for o := range missing {
		if o < start || o >= next {
			continue
		}
		msgs, err := l.Read(o, 1)
		if err != nil {
			t.Fatal(err)
		}
		i, _ := slices.BinarySearch(want, o)
		if i < len(want) && (len(msgs) != 1 || msgs[0].MsgId.TopicOffset != want[i]) {
			t.Fatalf("%q: Read(%d) at a hole returned %d messages, want offset %d", topic, o, len(msgs), want[i])
		}
	}
}
