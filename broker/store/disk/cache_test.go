package disk

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// TestCacheHoldsWhatItCounts appends 60,000 messages of 256 bytes (with a routing key and attributes) to a
// log whose cache is bounded at 4 MiB, and checks that the heap grew by about what the cache counts (the
// records, one slice each, the segments' offset index), that the cache is compact (over 10,000 messages
// in the 4 MiB), and that what a cached read returns equals what was appended and shares nothing with it.
func TestCacheHoldsWhatItCounts(t *testing.T) {
	const limit, n = 4 << 20, 60000
	s := openT(t, t.TempDir(), Options{Fsync: FsyncNever, CacheBytes: limit})
	t.Cleanup(func() { s.Close() })
	l := logT(t, s, "/default/cache")
	mk := func(i int) *danubepb.StreamMessage {
		key := fmt.Sprintf("customer-%d", i%100)
		payload := make([]byte, 256)
		payload[0], payload[1] = byte(i), byte(i>>8)
		return &danubepb.StreamMessage{RequestId: uint64(i), PublishTime: 1_800_000_000_000 + uint64(i),
			ProducerName: "orders-producer", RoutingKey: &key, Payload: payload,
			Attributes: map[string]string{"source": "checkout", "seq": fmt.Sprint(i)},
			MsgId:      &danubepb.MsgID{ProducerId: 3, TopicName: "/default/cache", BrokerAddr: "http://127.0.0.1:6650"}}
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range n {
		if _, err := l.Append(mk(i)); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	dl := l.(*diskLog)
	dl.mu.RLock()
	cached, counted := len(dl.cache), dl.cacheBytes
	dl.mu.RUnlock()
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	// Besides the cache: 4 bytes of segment index per message, two blocks, and slack for the runtime.
	if bound := counted + 4*n + 2*cacheBlockMax + 1<<20; grew > bound {
		t.Errorf("the heap grew by %d bytes for a cache that counts %d (%d messages); want at most %d", grew, counted, cached, bound)
	}
	if counted > limit || cached < 10000 {
		t.Errorf("the cache holds %d messages in %d bytes (limit %d)", cached, counted, limit)
	}

	from := uint64(n - 500)
	got, err := l.Read(from, 500)
	if err != nil || len(got) != 500 {
		t.Fatalf("Read(%d, 500): %d messages, %v", from, len(got), err)
	}
	for i, m := range got {
		want := mk(int(from) + i)
		want.MsgId.TopicOffset = from + uint64(i)
		if !proto.Equal(m, want) {
			t.Fatalf("offset %d read back as %v, want %v", from+uint64(i), m, want)
		}
		m.Payload[2] = 0xff // a reader's change reaches neither the cache nor another read
		m.Attributes["source"] = "changed"
	}
	again, err := l.Read(from, 500)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range again {
		if m.Payload[2] != 0 || m.Attributes["source"] != "checkout" {
			t.Fatalf("offset %d changed by a reader of an earlier Read: %v", from+uint64(i), m)
		}
	}
}

// TestCacheCountsItsBlocks checks, for records of sizes that fill blocks badly (a little over a quarter and
// a half of the largest block, larger than it), that the heap grows by about what the cache counts.
func TestCacheCountsItsBlocks(t *testing.T) {
	for _, size := range []int{cacheBlockMax/4 + 100, cacheBlockMax/2 + 100, cacheBlockMax + 100} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			const limit = 4 << 20
			s := openT(t, t.TempDir(), Options{Fsync: FsyncNever, CacheBytes: limit, SegmentBytes: 256 << 20})
			t.Cleanup(func() { s.Close() })
			l := logT(t, s, "/default/big")
			n := 3 * limit / size // three times what the cache holds
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for i := range n {
				m := &danubepb.StreamMessage{RequestId: uint64(i), Payload: make([]byte, size),
					MsgId: &danubepb.MsgID{ProducerId: 3, TopicName: "/default/big", BrokerAddr: "http://127.0.0.1:6650"}}
				if _, err := l.Append(m); err != nil {
					t.Fatal(err)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			dl := l.(*diskLog)
			dl.mu.RLock()
			counted := dl.cacheBytes
			dl.mu.RUnlock()
			grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			if counted > limit || grew > counted*11/10+cacheBlockMax+1<<20 {
				t.Errorf("records of %d bytes: the heap grew by %d bytes for a cache that counts %d (limit %d)", size, grew, counted, limit)
			}
		})
	}
}

// TestCacheOfQuietTopics checks that topics with one small message each hold a small block, not a large one:
// 500 of them grow the heap by less than 4 KiB each (the log's own structures included).
func TestCacheOfQuietTopics(t *testing.T) {
	s := openT(t, t.TempDir(), Options{Fsync: FsyncNever})
	t.Cleanup(func() { s.Close() })
	const topics = 500
	logs := make([]any, 0, topics) // kept alive until the heap is measured
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range topics {
		name := fmt.Sprintf("/default/quiet-%d", i)
		l := logT(t, s, name)
		if _, err := l.Append(mkMsg(name, strings.Repeat("x", 100))); err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / topics; per > 4<<10 {
		t.Errorf("a topic with one 100-byte message holds %d bytes of heap", per)
	}
	runtime.KeepAlive(logs)
}
