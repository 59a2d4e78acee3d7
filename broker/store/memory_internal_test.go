package store

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// requestMsg builds a message the way the broker receives one: a freshly decoded gRPC request, with its own
// copies of the strings and of the payload.
func requestMsg(i int, payload []byte) *danubepb.StreamMessage {
	return &danubepb.StreamMessage{
		RequestId:    uint64(i),
		PublishTime:  1_765_000_000_000 + uint64(i),
		ProducerName: strings.Clone("producer-1"),
		Payload:      append([]byte(nil), payload...),
		MsgId: &danubepb.MsgID{ProducerId: 1, TopicName: strings.Clone("/default/footprint"),
			BrokerAddr: strings.Clone("127.0.0.1:6650")},
	}
}

func TestMemoryInternsStrings(t *testing.T) {
	m := NewMemory()
	defer m.Close()
	l, _ := m.Log("/default/t")
	for i := range maxInterned + 100 {
		msg := requestMsg(i, []byte("x"))
		msg.Attributes = map[string]string{"unique": strconv.Itoa(i)}
		msg.SubscriptionName = fmt.Sprintf("sub-%d", i) // more distinct values than the table takes
		l.Append(msg)
	}
	a, _ := l.Read(0, 1)
	b, _ := l.Read(maxInterned+99, 1)
	for _, s := range [][2]string{
		{a[0].MsgId.TopicName, b[0].MsgId.TopicName},
		{a[0].MsgId.BrokerAddr, b[0].MsgId.BrokerAddr},
		{a[0].ProducerName, b[0].ProducerName},
	} {
		if s[0] != s[1] || unsafe.StringData(s[0]) != unsafe.StringData(s[1]) {
			t.Errorf("%q and %q are not one shared string", s[0], s[1])
		}
	}
	if b[0].SubscriptionName != fmt.Sprintf("sub-%d", maxInterned+99) || b[0].Attributes["unique"] != strconv.Itoa(maxInterned+99) {
		t.Errorf("past the intern table's limit: subscription %q attributes %v", b[0].SubscriptionName, b[0].Attributes)
	}
	if n := len(l.(*memLog).codec.in.strs); n != maxInterned {
		t.Errorf("the intern table holds %d strings, want its limit %d", n, maxInterned)
	}
}

func TestMemoryReleasesArenas(t *testing.T) {
	m := NewMemory()
	defer m.Close()
	lg, _ := m.Log("/default/t")
	l := lg.(*memLog)
	payload := make([]byte, 256)
	for i := range 20_000 {
		l.Append(requestMsg(i, payload))
	}
	held := l.arenaBytes()
	if held < 20_000*256 {
		t.Fatalf("the log holds %d arena bytes for 20,000 messages of 256 bytes", held)
	}
	l.TruncateBefore(10_000)
	if half := l.arenaBytes(); half >= held*3/4 || half < 10_000*256 {
		t.Fatalf("after trimming half the log it holds %d of %d arena bytes", half, held)
	}
	l.TruncateBefore(20_000)
	if n := l.arenaBytes(); n != 0 {
		t.Fatalf("an emptied log holds %d arena bytes", n)
	}
	l.Append(requestMsg(0, payload))
	if err := m.DeleteLog("/default/t"); err != nil {
		t.Fatal(err)
	}
	if n := l.arenaBytes(); n != 0 {
		t.Fatalf("a deleted log holds %d arena bytes", n)
	}
	if _, err := l.Read(20_000, 1); !errors.Is(err, ErrClosed) || !strings.Contains(err.Error(), "deleted") {
		t.Fatalf("Read of a deleted log: %v", err)
	}
}

// footprint appends n requests of a 256-byte payload to a fresh memory store and returns the live heap it
// added, the arena memory it holds and the growth of the process's resident memory, after a collection.
func footprint(tb testing.TB, n int) (heap, arena, rss int64) {
	m := NewMemory()
	defer m.Close()
	lg, _ := m.Log("/default/footprint")
	payload := make([]byte, 256)
	settle()
	heap0, rss0 := heapInUse(), residentBytes(tb)
	for i := range n {
		if _, err := lg.Append(requestMsg(i, payload)); err != nil {
			tb.Fatal(err)
		}
	}
	heap, rss = heapInUse()-heap0, residentBytes(tb)-rss0
	arena = int64(lg.(*memLog).arenaBytes())
	runtime.KeepAlive(m)
	return heap, arena, rss
}

// settle collects and gives the free heap back to the system, so that resident memory measured next starts
// from the live heap.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
	// Arenas pooled by an earlier measurement are resident already: give them back too, or the next
	// measurement would not see their pages.
	arenaPool.mu.Lock()
	for size, l := range arenaPool.free {
		for _, b := range l {
			unmapArena(b)
		}
		delete(arenaPool.free, size)
	}
	arenaPool.bytes = 0
	arenaPool.mu.Unlock()
}

func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}

// residentBytes returns the process's resident memory (0 where /proc is not there).
func residentBytes(tb testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		tb.Fatalf("/proc/self/statm: %q", b)
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		tb.Fatalf("/proc/self/statm: %v", err)
	}
	return pages * int64(os.Getpagesize())
}

// TestMemoryFootprint holds the memory store to its budget: under 450 bytes per stored 256-byte message
// (heap and arenas, all of the arenas counted as if written), with 200,000 messages.
func TestMemoryFootprint(t *testing.T) {
	const n = 200_000
	heap, arena, _ := footprint(t, n)
	perMsg := float64(heap+arena) / n
	t.Logf("%.0f bytes per message (heap %.1f, arenas %.1f)", perMsg, float64(heap)/n, float64(arena)/n)
	if perMsg >= 450 {
		t.Fatalf("the memory store takes %.0f bytes per 256-byte message (heap %d, arenas %d for %d messages); the budget is 450",
			perMsg, heap, arena, n)
	}
}

// BenchmarkMemoryFootprint reports what the memory store takes per stored 256-byte message with 200,000
// stored: live heap plus arenas, and the growth of the process's resident memory (which includes the garbage
// the requests left and the heap's headroom), next to the same requests kept whole as the store once did.
func BenchmarkMemoryFootprint(b *testing.B) {
	const n = 200_000
	var heap, arena, rss, reqHeap, reqRSS int64
	for b.Loop() {
		heap, arena, rss = footprint(b, n)
		reqHeap, reqRSS = requestsFootprint(b, n)
	}
	b.ReportMetric(float64(heap+arena)/n, "bytes/msg")
	b.ReportMetric(float64(rss)/n, "rss-bytes/msg")
	b.ReportMetric(float64(reqHeap)/n, "requests-bytes/msg")
	b.ReportMetric(float64(reqRSS)/n, "requests-rss-bytes/msg")
	b.ReportMetric(float64(heap+arena)/float64(reqHeap), "ratio-to-requests")
}

// requestsFootprint is the baseline: the decoded requests kept in a slice.
func requestsFootprint(tb testing.TB, n int) (heap, rss int64) {
	payload := make([]byte, 256)
	settle()
	heap0, rss0 := heapInUse(), residentBytes(tb)
	var kept []*danubepb.StreamMessage
	for i := range n {
		kept = append(kept, requestMsg(i, payload))
	}
	heap, rss = heapInUse()-heap0, residentBytes(tb)-rss0
	runtime.KeepAlive(kept)
	return heap, rss
}

// BenchmarkMemoryRead measures what a dispatcher's reads cost now that they decode records: batches of 100
// messages of 256 bytes.
func BenchmarkMemoryRead(b *testing.B) {
	m := NewMemory()
	defer m.Close()
	l, _ := m.Log("/default/read")
	payload := make([]byte, 256)
	const n = 10_000
	for i := range n {
		l.Append(requestMsg(i, payload))
	}
	b.SetBytes(100 * 256)
	off := uint64(0)
	for b.Loop() {
		got, err := l.Read(off, 100)
		if err != nil || len(got) != 100 {
			b.Fatalf("Read(%d) = %d, %v", off, len(got), err)
		}
		off = (off + 100) % n
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/msg")
}
