package store_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/proto/danubepb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// fullMsg sets every field a producer can send, including fields this version does not know.
func fullMsg(payload []byte) *danubepb.StreamMessage {
	sid, sver, key := uint64(1<<40+3), uint32(7), ""
	m := &danubepb.StreamMessage{
		RequestId:        1<<63 + 5,
		MsgId:            &danubepb.MsgID{ProducerId: 1<<50 + 1, TopicName: "/default/t", BrokerAddr: "127.0.0.1:6650"},
		Payload:          payload,
		PublishTime:      1_765_000_000_123,
		ProducerName:     "producer-é",
		SubscriptionName: "sub",
		Attributes:       map[string]string{"content-type": "application/json", "empty": "", "ключ": strings.Repeat("v", 300)},
		SchemaId:         &sid,
		SchemaVersion:    &sver,
		RoutingKey:       &key,
	}
	m.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 42))
	m.MsgId.ProtoReflect().SetUnknown(protowire.AppendString(protowire.AppendTag(nil, 77, protowire.BytesType), "x"))
	return m
}

// TestLogKeepsEveryField checks that what Read returns equals what was appended, field for field, for
// messages with every field set, with none, and with payloads from empty to larger than a memory arena.
func TestLogKeepsEveryField(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store.Store) {
		l, _ := s.Log("/default/t")
		big := bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16)
		want := []*danubepb.StreamMessage{
			fullMsg([]byte("hello")),
			{MsgId: &danubepb.MsgID{}},
			fullMsg(big),
			{MsgId: &danubepb.MsgID{TopicName: "/default/t"}, Payload: []byte{}},
			fullMsg(make([]byte, 256)),
		}
		for i, m := range want {
			if off, err := l.Append(proto.Clone(m).(*danubepb.StreamMessage)); err != nil || off != uint64(i) {
				t.Fatalf("Append %d: offset %d, %v", i, off, err)
			}
			m.MsgId.TopicOffset = uint64(i)
		}
		got, err := l.Read(0, 100)
		if err != nil || len(got) != len(want) {
			t.Fatalf("Read = %d messages, %v", len(got), err)
		}
		for i := range want {
			if !proto.Equal(got[i], want[i]) {
				t.Errorf("offset %d: read back\n%v\nwant\n%v", i, trimmed(got[i]), trimmed(want[i]))
			}
		}
	})
}

func trimmed(m *danubepb.StreamMessage) string {
	s := fmt.Sprint(m)
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

// payloadOf is the payload of offset off in TestLogTrimAtScale: its size varies so that records straddle the
// memory store's arenas, and its bytes name the offset.
func payloadOf(off uint64) []byte {
	n := 1 + int(off*7919%2000)
	if off%997 == 0 {
		n = 40 << 10 // larger than a first arena
	}
	return bytes.Repeat([]byte(fmt.Sprintf("%d;", off)), n/len(fmt.Sprintf("%d;", off))+1)[:n]
}

// TestLogTrimAtScale appends many messages while trimming behind them at random points, as acks do, and
// checks every read against the offset it asked for, across trims and arena boundaries.
func TestLogTrimAtScale(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store.Store) {
		l, _ := s.Log("/default/t")
		rng := rand.New(rand.NewPCG(1, 2))
		const n = 30_000
		for off := range uint64(n) {
			m := &danubepb.StreamMessage{MsgId: &danubepb.MsgID{TopicName: "/default/t"}, Payload: payloadOf(off),
				ProducerName: fmt.Sprintf("p%d", off%3)}
			if got, err := l.Append(m); err != nil || got != off {
				t.Fatalf("Append %d: %d, %v", off, got, err)
			}
			if rng.IntN(500) == 0 {
				cut := l.StartOffset() + uint64(rng.IntN(int(off-l.StartOffset()+1)))
				if err := l.TruncateBefore(cut); err != nil {
					t.Fatal(err)
				}
			}
			if rng.IntN(300) == 0 {
				checkRead(t, l, l.StartOffset()+uint64(rng.IntN(int(off-l.StartOffset()+1))), 1+rng.IntN(1000))
			}
		}
		start := l.StartOffset()
		checkRead(t, l, start, n)
		if start > 0 {
			if _, err := l.Read(start-1, 1); !errors.Is(err, store.ErrOffsetTruncated) {
				t.Fatalf("Read below the start %d: %v", start, err)
			}
		}
		if err := l.TruncateBefore(n); err != nil {
			t.Fatal(err)
		}
		if got, err := l.Read(n, 10); err != nil || len(got) != 0 {
			t.Fatalf("Read of an emptied log = %d, %v", len(got), err)
		}
		if off, err := l.Append(msg("after")); err != nil || off != n {
			t.Fatalf("Append after emptying: %d, %v", off, err)
		}
		checkRead(t, l, l.StartOffset(), 10) // whatever a store keeps below n must still read back right
	})
}

// checkRead reads up to max messages from from and checks that they are the next offsets with their payloads.
func checkRead(t *testing.T, l store.Log, from uint64, max int) {
	t.Helper()
	got, err := l.Read(from, max)
	if err != nil {
		t.Fatalf("Read(%d, %d): %v", from, max, err)
	}
	want := min(uint64(max), l.NextOffset()-from)
	if uint64(len(got)) != want {
		t.Fatalf("Read(%d, %d) returned %d messages, want %d", from, max, len(got), want)
	}
	for i, m := range got {
		off := from + uint64(i)
		if m.MsgId.TopicOffset != off {
			t.Fatalf("Read(%d): message %d has offset %d", from, i, m.MsgId.TopicOffset)
		}
		if off == l.NextOffset()-1 && string(m.Payload) == "after" {
			continue
		}
		if !bytes.Equal(m.Payload, payloadOf(off)) || m.ProducerName != fmt.Sprintf("p%d", off%3) {
			t.Fatalf("offset %d: payload %.40q… producer %q", off, m.Payload, m.ProducerName)
		}
	}
}

func TestAppendWithoutMsgID(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store.Store) {
		l, _ := s.Log("/default/t")
		if _, err := l.Append(&danubepb.StreamMessage{Payload: []byte("x")}); err == nil || !strings.Contains(err.Error(), "msg_id") {
			t.Fatalf("Append without MsgId: %v", err)
		}
		if l.NextOffset() != 0 {
			t.Fatal("a refused message took an offset")
		}
	})
}
