package monitor

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/danube-console/danube-console/client"
)

// TestMain fails the package's tests when any goroutine outlives them: every goroutine the monitor starts
// must end with Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a clock tests move by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// newTestMonitor returns a monitor closed when the test ends.
func newTestMonitor(t testing.TB, o Options) *Monitor {
	t.Helper()
	m := New(o)
	t.Cleanup(m.Close)
	return m
}

// msg builds a received message as the client would report it.
func msg(topic, sub string, off uint64, payload string, published time.Time, received time.Time) *client.Message {
	return &client.Message{
		ID:          client.MessageID{ProducerID: 7, Topic: topic, BrokerAddr: "http://b:6650", Offset: off},
		Payload:     []byte(payload),
		PublishTime: published, ProducerName: "p", Subscription: sub, ReceivedAt: received,
		Attributes: map[string]string{"k": "v"}, RoutingKey: "key", HasRoutingKey: true,
	}
}

func subscribe(m *Monitor, topic, sub, name string, id uint64) {
	m.OnConsumer(client.ConsumerEvent{Kind: client.ConsumerSubscribed, Topic: topic, Subscription: sub, Name: name, ID: id})
}

func findConsumer(t testing.TB, s Snapshot, stream string) ConsumerStats {
	t.Helper()
	for _, c := range s.Consumers {
		if c.Stream == stream {
			return c
		}
	}
	t.Fatalf("no consumer stream %q in %+v", stream, s.Consumers)
	return ConsumerStats{}
}

func findSub(t testing.TB, s Snapshot, topic, sub string) SubscriptionStats {
	t.Helper()
	for _, x := range s.Subscriptions {
		if x.Topic == topic && x.Subscription == sub {
			return x
		}
	}
	t.Fatalf("no subscription %s on %s in %+v", sub, topic, s.Subscriptions)
	return SubscriptionStats{}
}

func findProducer(t testing.TB, s Snapshot, topic, name string) ProducerStats {
	t.Helper()
	for _, p := range s.Producers {
		if p.Topic == topic && p.Name == name {
			return p
		}
	}
	t.Fatalf("no producer %s on %s in %+v", name, topic, s.Producers)
	return ProducerStats{}
}

// The series count complete seconds by the monitor's clock: the current second shows once it ends, idle
// seconds are zeros, and a series never holds more than SeriesLen buckets.
func TestSeriesFollowTheClock(t *testing.T) {
	clk := newFakeClock()
	m := newTestMonitor(t, Options{Clock: clk.Now})
	send := func(n int) {
		for range n {
			m.OnSend(client.SendEvent{Topic: "/default/t", Producer: "p", Bytes: 10, Latency: time.Millisecond})
		}
	}
	send(5)
	p := findProducer(t, m.Snapshot(), "/default/t", "p")
	if p.Msgs != 5 || p.Bytes != 50 || p.MsgRate != 0 || len(p.Series) != 0 {
		t.Fatalf("in the first second: %+v", p)
	}
	clk.Advance(time.Second)
	send(3)
	p = findProducer(t, m.Snapshot(), "/default/t", "p")
	if p.MsgRate != 5 || p.ByteRate != 50 || !slices.Equal(p.Series, []float64{5}) {
		t.Fatalf("after one second: rate %v byte rate %v series %v", p.MsgRate, p.ByteRate, p.Series)
	}
	clk.Advance(3 * time.Second)
	p = findProducer(t, m.Snapshot(), "/default/t", "p")
	if p.MsgRate != 0 || p.ByteRate != 0 || !slices.Equal(p.Series, []float64{5, 3, 0, 0}) {
		t.Fatalf("after four seconds: rate %v series %v", p.MsgRate, p.Series)
	}
	clk.Advance(SeriesLen * time.Second)
	send(1)
	clk.Advance(time.Second)
	p = findProducer(t, m.Snapshot(), "/default/t", "p")
	if len(p.Series) != SeriesLen || p.Series[SeriesLen-1] != 1 || p.MsgRate != 1 || slices.Max(p.Series[:SeriesLen-1]) != 0 {
		t.Fatalf("after %d more seconds: len %d rate %v last %v", SeriesLen, len(p.Series), p.MsgRate, p.Series[len(p.Series)-1])
	}
	if p.Msgs != 9 || p.Publish.Count != 1 { // the latency window moved on: only the last sample is in it
		t.Fatalf("counters %d, latency %+v", p.Msgs, p.Publish)
	}
}

// Quantiles are within a bucket's half width (6.25%) of the true values; Max is exact.
func TestHistogramQuantiles(t *testing.T) {
	var h hist
	const sec = 1_000_000
	for i := 1; i <= 1000; i++ {
		h.add(sec, time.Duration(i)*time.Microsecond)
	}
	l := h.summary(sec)
	near := func(got, want time.Duration) bool {
		return math.Abs(float64(got-want)) <= 0.07*float64(want)
	}
	if l.Count != 1000 || !near(l.P50, 500*time.Microsecond) || !near(l.P99, 990*time.Microsecond) || l.Max != time.Millisecond {
		t.Fatalf("summary %+v", l)
	}
	// The next window still shows them; the one after does not.
	if l := h.summary(sec + histWindow); l.Count != 1000 {
		t.Fatalf("next window: %+v", l)
	}
	if l := h.summary(sec + 2*histWindow); l.Count != 0 {
		t.Fatalf("two windows later: %+v", l)
	}
	// Tiny, zero, negative and huge durations are all counted.
	var g hist
	for _, d := range []time.Duration{-5, 0, 3, 15, 16, 17, time.Hour * 1000} {
		g.add(sec, d)
	}
	if l := g.summary(sec); l.Count != 7 || l.Max != 1000*time.Hour || l.P50 != 15 {
		t.Fatalf("edge summary %+v", l)
	}
	for v := uint64(0); v < 1<<20; v += 7 {
		i := bucketOf(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("bucketOf(%d) = %d", v, i)
		}
		if mid := bucketMid(i); float64(max(mid, v)-min(mid, v)) > 0.0625*float64(v)+1 {
			t.Fatalf("bucket %d of %d has middle %d", i, v, mid)
		}
	}
	if bucketOf(math.MaxUint64) != histBuckets-1 {
		t.Fatal("the largest value is not in the last bucket")
	}
}

// The ring keeps the newest RingSize messages, evicts by payload bytes too (keeping at least one), and
// counts as dropped from view what it evicted before a Messages call returned it.
func TestRingEvictionAndDroppedFromView(t *testing.T) {
	m := newTestMonitor(t, Options{RingSize: 4, MaxRingBytes: 100})
	subscribe(m, "/default/r", "s", "c", 1)
	id := StreamID("/default/r", "s", "c")
	now := time.Now()
	for i := range 6 {
		m.OnReceive(client.ReceiveEvent{Message: msg("/default/r", "s", 0, fmt.Sprint("m", i), now, now)})
	}
	got, total := m.Messages(id, 2)
	if total != 6 || len(got) != 2 || string(got[0].Payload) != "m4" || got[1].Seq != 6 || got[1].Consumer != "c" || !got[1].HasKey {
		t.Fatalf("Messages = %+v, %d", got, total)
	}
	s := m.Snapshot()
	if s.Totals.Received != 6 || s.Totals.Shown != 4 || s.Totals.DroppedFromView != 2 || s.Totals.BufferFill != 1 {
		t.Fatalf("totals %+v", s.Totals)
	}
	// Two more: m2 and m3 (never shown) go: 4 dropped; m4 and m5 (shown) stay.
	for i := 6; i < 8; i++ {
		m.OnReceive(client.ReceiveEvent{Message: msg("/default/r", "s", 0, fmt.Sprint("m", i), now, now)})
	}
	if d := m.Snapshot().Totals.DroppedFromView; d != 4 {
		t.Fatalf("dropped %d, want 4", d)
	}
	// A 97-byte payload leaves room for one 2-byte message of the 100 bytes; a 200-byte one is kept alone.
	big := string(make([]byte, 97))
	m.OnReceive(client.ReceiveEvent{Message: msg("/default/r", "s", 0, big, now, now)})
	if got, _ := m.Messages(id, 10); len(got) != 2 || string(got[1].Payload) != big || string(got[0].Payload) != "m7" {
		t.Fatalf("after a big payload: %d messages", len(got))
	}
	if d := m.Snapshot().Totals.DroppedFromView; d != 5 { // m6 was never shown
		t.Fatalf("dropped %d, want 5", d)
	}
	m.OnReceive(client.ReceiveEvent{Message: msg("/default/r", "s", 0, string(make([]byte, 200)), now, now)})
	if got, total := m.Messages(id, 10); len(got) != 1 || total != 10 {
		t.Fatalf("after a huge payload: %d messages, total %d", len(got), total)
	}
	if got, total := m.Messages("nope", 10); got != nil || total != 0 {
		t.Fatal("an unknown stream gave messages")
	}
	if got, total := m.Messages(id, 0); got != nil || total != 10 {
		t.Fatal("max 0 gave messages")
	}
}

// A repeated offset is a redelivery; offset 0 repeated is one only on a topic known to be reliable.
func TestRedeliveryDetection(t *testing.T) {
	m := newTestMonitor(t, Options{})
	subscribe(m, "/default/rel", "s", "c", 1)
	subscribe(m, "/default/nr", "s", "c", 2)
	now := time.Now()
	recv := func(topic string, off uint64) {
		m.OnReceive(client.ReceiveEvent{Message: msg(topic, "s", off, "x", now, now)})
	}
	for _, off := range []uint64{0, 1, 2, 1, 3, 0} {
		recv("/default/rel", off)
	}
	for range 5 {
		recv("/default/nr", 0)
	}
	s := m.Snapshot()
	if r := findSub(t, s, "/default/rel", "s").Redelivered; r != 2 {
		t.Fatalf("reliable topic: %d redelivered, want 2", r)
	}
	if r := findSub(t, s, "/default/nr", "s").Redelivered; r != 0 {
		t.Fatalf("non-reliable topic: %d redelivered, want 0", r)
	}
	got, _ := m.Messages(StreamID("/default/rel", "s", "c"), 10)
	var flags []bool
	for _, g := range got {
		flags = append(flags, g.Redelivered)
	}
	if !slices.Equal(flags, []bool{false, false, false, true, false, true}) {
		t.Fatalf("redelivered flags %v", flags)
	}

	var o offsetSet
	if o.seen(5) || !o.seen(5) {
		t.Fatal("offset 5")
	}
	if o.seen(5+offsetWindow*3) || o.seen(5) {
		t.Fatal("an offset far below the window is not remembered")
	}
	for off := uint64(5 + offsetWindow*3 - offsetWindow + 64); off < 5+offsetWindow*3; off += 1000 {
		if o.seen(off) || !o.seen(off) {
			t.Fatalf("offset %d in the window", off)
		}
	}
}

// Acks, nacks and their failures make Pending; the ack latency counts what succeeded.
func TestAcksAndPending(t *testing.T) {
	clk := newFakeClock()
	m := newTestMonitor(t, Options{Clock: clk.Now})
	subscribe(m, "/default/a", "s", "c", 1)
	now := clk.Now()
	for i := range 5 {
		m.OnReceive(client.ReceiveEvent{Message: msg("/default/a", "s", uint64(i+1), "x", now, now)})
	}
	clk.Advance(time.Second) // the acks' calls start after the deliveries
	m.OnAck(client.AckEvent{Topic: "/default/a", Subscription: "s", Offset: 1, Latency: time.Millisecond})
	m.OnAck(client.AckEvent{Topic: "/default/a", Subscription: "s", Offset: 2, Latency: 3 * time.Millisecond})
	m.OnAck(client.AckEvent{Topic: "/default/a", Subscription: "s", Offset: 3, Nack: true, Latency: time.Millisecond})
	m.OnAck(client.AckEvent{Topic: "/default/a", Subscription: "s", Offset: 4, Err: errors.New("boom")})
	s := m.Snapshot()
	sub := findSub(t, s, "/default/a", "s")
	if sub.Received != 5 || sub.Acked != 2 || sub.Nacked != 1 || sub.AckErrors != 1 || sub.Pending != 2 || sub.AckLatency.Count != 3 || sub.AckLatency.Max != 3*time.Millisecond {
		t.Fatalf("subscription %+v", sub)
	}
	if s.LastError != "boom" || s.LastErrorAt.IsZero() {
		t.Fatalf("last error %q at %v", s.LastError, s.LastErrorAt)
	}
	// Acks of messages never delivered settle nothing; acking the two left settles them.
	for range 10 {
		m.OnAck(client.AckEvent{Topic: "/default/a", Subscription: "s", Offset: 9})
	}
	if p := findSub(t, m.Snapshot(), "/default/a", "s").Pending; p != 2 {
		t.Fatalf("pending %d after acks of messages never delivered, want 2", p)
	}
	for off := uint64(4); off <= 5; off++ {
		m.OnAck(client.AckEvent{Topic: "/default/a", Subscription: "s", Offset: off})
	}
	s = m.Snapshot()
	if p, c := findSub(t, s, "/default/a", "s").Pending, s.Consumers[0].Pending; p != 0 || c != 0 {
		t.Fatalf("pending %d (consumer %d) after settling every message", p, c)
	}
}

// Messages are counted for the only subscribed consumer of their subscription; with several, for the
// SharedConsumers stream; before any, for UnknownConsumer.
func TestConsumerAttribution(t *testing.T) {
	m := newTestMonitor(t, Options{})
	now := time.Now()
	recv := func() { m.OnReceive(client.ReceiveEvent{Message: msg("/default/x", "s", 0, "x", now, now)}) }
	recv()
	subscribe(m, "/default/x", "s", "a", 1)
	recv()
	recv()
	subscribe(m, "/default/x", "s", "b", 2)
	recv()
	m.OnConsumer(client.ConsumerEvent{Kind: client.ConsumerClosed, Topic: "/default/x", Subscription: "s", Name: "a", ID: 1})
	recv()
	s := m.Snapshot()
	var got []string
	for _, c := range s.Consumers {
		got = append(got, fmt.Sprintf("%s=%d/%s", c.Name, c.Received, c.State))
	}
	want := []string{"*=1/", "?=1/", "a=2/closed", "b=1/subscribed"}
	if !slices.Equal(got, want) {
		t.Fatalf("consumers %v, want %v", got, want)
	}
	if sub := findSub(t, s, "/default/x", "s"); sub.Received != 5 {
		t.Fatalf("subscription received %d", sub.Received)
	}
	// Resubscriptions count as reconnects; a failure is the last error.
	m.OnConsumer(client.ConsumerEvent{Kind: client.ConsumerResubscribed, Topic: "/default/x", Subscription: "s", Name: "b", ID: 3})
	m.OnConsumer(client.ConsumerEvent{Kind: client.ConsumerFailed, Topic: "/default/x", Subscription: "s", Name: "b", ID: 3, Err: errors.New("gone")})
	s = m.Snapshot()
	b := findConsumer(t, s, StreamID("/default/x", "s", "b"))
	if b.State != ConsumerFailed || b.ID != 3 || b.LastError != "gone" || s.LastError != "gone" {
		t.Fatalf("consumer b %+v, last error %q", b, s.LastError)
	}
	if len(s.Health) != 1 || !s.Health[0].Consumer || s.Health[0].Reconnects != 1 || s.Health[0].Status != HealthStopped {
		t.Fatalf("health %+v", s.Health)
	}
}

// TestHealthOfStoppedClients: a producer's last check reads OK while it lives; once it is closed the entry
// says stopped (it is no longer checked), not an OK whose age grows.
func TestHealthOfStoppedClients(t *testing.T) {
	clk := newFakeClock()
	m := newTestMonitor(t, Options{Clock: clk.Now})
	m.OnProducer(client.ProducerEvent{Kind: client.ProducerCreated, Topic: "/default/h", Name: "p", ID: 1})
	m.OnHealth(client.HealthEvent{Topic: "/default/h", Name: "p", ID: 1, Status: client.HealthOK})
	if h := m.Snapshot().Health; len(h) != 1 || h[0].Status != HealthOK {
		t.Fatalf("live producer: %+v", h)
	}
	clk.Advance(time.Minute)
	m.OnProducer(client.ProducerEvent{Kind: client.ProducerClosed, Topic: "/default/h", Name: "p", ID: 1})
	if h := m.Snapshot().Health; len(h) != 1 || h[0].Status != HealthStopped || h[0].Status.String() != "stopped" || !h[0].At.Equal(clk.Now()) {
		t.Fatalf("closed producer: %+v", h)
	}
	// A check that ends after the close is not a live client's answer.
	m.OnHealth(client.HealthEvent{Topic: "/default/h", Name: "p", ID: 1, Status: client.HealthOK})
	if h := m.Snapshot().Health; len(h) != 1 || h[0].Status != HealthStopped {
		t.Fatalf("a late check revived the closed producer: %+v", h)
	}
	// A live client sorts before the stopped one; the same name created again waits for its next check.
	m.OnConsumer(client.ConsumerEvent{Kind: client.ConsumerSubscribed, Topic: "/default/h", Subscription: "s", Name: "c", ID: 2})
	m.OnHealth(client.HealthEvent{Consumer: true, Topic: "/default/h", Name: "c", ID: 2, Status: client.HealthOK})
	if h := m.Snapshot().Health; len(h) != 2 || h[0].Name != "c" || h[0].Status != HealthOK || h[1].Status != HealthStopped {
		t.Fatalf("live consumer and stopped producer: %+v", h)
	}
	m.OnProducer(client.ProducerEvent{Kind: client.ProducerCreated, Topic: "/default/h", Name: "p", ID: 3})
	h := m.Snapshot().Health // both live: producers first
	if len(h) != 2 || h[0].Name != "p" || h[0].Status != HealthUnknown {
		t.Fatalf("producer created again: %+v", h)
	}
	m.OnHealth(client.HealthEvent{Topic: "/default/h", Name: "p", ID: 3, Status: client.HealthOK})
	if h := m.Snapshot().Health; h[0].Status != HealthOK || h[0].ID != 3 {
		t.Fatalf("producer created again, checked: %+v", h)
	}
}

// A named consumer's messages go to its own stream, even when several consumers share the subscription.
func TestNamedConsumerAttribution(t *testing.T) {
	m := newTestMonitor(t, Options{})
	now := time.Now()
	subscribe(m, "/default/x", "s", "a", 1)
	subscribe(m, "/default/x", "s", "b", 2)
	for i, name := range []string{"a", "b", "b", "a", "b"} {
		m.OnReceive(client.ReceiveEvent{Message: msg("/default/x", "s", uint64(i+1), "x", now, now), Consumer: name})
	}
	s := m.Snapshot()
	if a, b := findConsumer(t, s, StreamID("/default/x", "s", "a")), findConsumer(t, s, StreamID("/default/x", "s", "b")); a.Received != 2 || b.Received != 3 {
		t.Fatalf("a received %d, b %d; want 2 and 3", a.Received, b.Received)
	}
	if got, _ := m.Messages(StreamID("/default/x", "s", "b"), 10); len(got) != 3 || got[0].Offset != 2 {
		t.Fatalf("b's ring %+v", got)
	}
}

// Closed producers and consumer streams beyond maxClosed are forgotten, oldest first; their counts stay in
// the totals.
func TestClosedEntriesAreBounded(t *testing.T) {
	m := newTestMonitor(t, Options{})
	now := time.Now()
	for i := range maxClosed + 10 {
		name := fmt.Sprint("c", i)
		subscribe(m, "/default/b", "s", name, uint64(i+1))
		m.OnReceive(client.ReceiveEvent{Message: msg("/default/b", "s", 0, "x", now, now)})
		m.OnConsumer(client.ConsumerEvent{Kind: client.ConsumerClosed, Topic: "/default/b", Subscription: "s", Name: name})
		m.OnProducer(client.ProducerEvent{Kind: client.ProducerCreated, Topic: "/default/b", Name: name, ID: 1})
		m.OnSend(client.SendEvent{Topic: "/default/b", Producer: name, Bytes: 1})
		m.OnProducer(client.ProducerEvent{Kind: client.ProducerClosed, Topic: "/default/b", Name: name, ID: 1})
	}
	// A producer closed without sending anything (a sink's topic creation) is not shown.
	m.OnProducer(client.ProducerEvent{Kind: client.ProducerCreated, Topic: "/default/b", Name: "idle", ID: 2})
	m.OnProducer(client.ProducerEvent{Kind: client.ProducerClosed, Topic: "/default/b", Name: "idle", ID: 2})
	s := m.Snapshot()
	// maxClosed closed producers are kept, the idle one among them (not shown).
	if len(s.Producers) != maxClosed-1 || len(s.Consumers) > maxClosed+1 {
		t.Fatalf("%d producers, %d consumers kept", len(s.Producers), len(s.Consumers))
	}
	if s.Totals.Received != maxClosed+10 {
		t.Fatalf("received %d", s.Totals.Received)
	}
	if _, total := m.Messages(StreamID("/default/b", "s", "c0"), 1); total != 0 {
		t.Fatal("the oldest closed stream is still there")
	}
}

// Connection states and health checks: transitions, Reachable.
func TestConnStatesAndReachable(t *testing.T) {
	clk := newFakeClock()
	m := newTestMonitor(t, Options{Clock: clk.Now})
	if m.Snapshot().Reachable {
		t.Fatal("reachable before anything happened")
	}
	for _, st := range []client.ConnState{client.ConnIdle, client.ConnConnecting, client.ConnReady} {
		m.OnConnState(client.ConnStateEvent{Addr: "b:6650", State: st})
	}
	s := m.Snapshot()
	if !s.Reachable || len(s.Conns) != 1 || s.Conns[0].State != ConnReady || s.Conns[0].Transitions != 2 {
		t.Fatalf("conns %+v reachable %v", s.Conns, s.Reachable)
	}
	m.OnConnState(client.ConnStateEvent{Addr: "b:6650", State: client.ConnTransientFailure})
	if m.Snapshot().Reachable {
		t.Fatal("reachable without a ready connection")
	}
	m.OnHealth(client.HealthEvent{Topic: "/default/t", Name: "p", ID: 4, Status: client.HealthOK, RTT: time.Millisecond})
	s = m.Snapshot()
	if !s.Reachable || len(s.Health) != 1 || s.Health[0].Status != HealthOK || s.Health[0].RTT != time.Millisecond || s.Health[0].ID != 4 {
		t.Fatalf("health %+v reachable %v", s.Health, s.Reachable)
	}
	clk.Advance(reachableFor + time.Second)
	if m.Snapshot().Reachable {
		t.Fatal("still reachable long after the last check")
	}
}

// Snapshots are the caller's: changing one changes neither the monitor nor the next snapshot (except Topics
// and Cluster, shared and documented as not to be changed).
func TestSnapshotIsACopy(t *testing.T) {
	clk := newFakeClock()
	m := newTestMonitor(t, Options{Clock: clk.Now})
	subscribe(m, "/default/c", "s", "c", 1)
	now := clk.Now()
	m.OnReceive(client.ReceiveEvent{Message: msg("/default/c", "s", 1, "hello", now, now)})
	m.OnSend(client.SendEvent{Topic: "/default/c", Producer: "p", Bytes: 5})
	m.OnHealth(client.HealthEvent{Topic: "/default/c", Name: "p", Status: client.HealthOK})
	m.OnConnState(client.ConnStateEvent{Addr: "a", State: client.ConnReady})
	m.mu.Lock()
	m.lookups = []LookupResult{{Topic: "/default/c", Partitions: []string{"x"}}}
	m.topics = []TopicStats{{Name: "/default/c", Subscriptions: []string{"s"}}}
	m.namespaces = []string{"default"}
	m.mu.Unlock()
	clk.Advance(time.Second)

	a := m.Snapshot()
	a.Producers[0].Series[0] = 99
	a.Producers[0].Name = "changed"
	a.Consumers[0].Series[0] = 99
	a.Subscriptions[0].Received = 99
	a.Health[0].Status = HealthError
	a.Conns[0].State = ConnShutdown
	a.Lookups[0].Partitions[0] = "changed"
	a.Namespaces[0] = "changed"
	a.Producers = append(a.Producers[:0], ProducerStats{})
	msgs, _ := m.Messages(StreamID("/default/c", "s", "c"), 1)
	msgs[0].Topic = "changed"

	b := m.Snapshot()
	if b.Producers[0].Series[0] != 1 || b.Producers[0].Name != "p" || b.Consumers[0].Series[0] != 1 ||
		b.Subscriptions[0].Received != 1 || b.Health[0].Status != HealthOK || b.Conns[0].State != ConnReady ||
		b.Lookups[0].Partitions[0] != "x" || b.Namespaces[0] != "default" {
		t.Fatalf("a snapshot changed the next one: %+v", b)
	}
	if msgs, _ := m.Messages(StreamID("/default/c", "s", "c"), 1); msgs[0].Topic != "/default/c" {
		t.Fatal("changing Messages' result changed the ring")
	}
	// Series of different rows never share memory.
	b.Producers[0].Series = append(b.Producers[0].Series, 7)
	if c := m.Snapshot(); c.Consumers[0].Series[0] != 1 || len(b.Consumers[0].Series) != 1 || b.Consumers[0].Series[0] != 1 {
		t.Fatal("appending to one series wrote into another")
	}
}

// Many goroutines ingest 200k messages while others take snapshots and read rings: the race detector finds
// nothing, every message is counted, and memory stays bounded by the rings.
func TestConcurrentIngestIsBounded(t *testing.T) {
	const (
		streams   = 16
		writers   = 8
		perWriter = 25_000
		ringSize  = 500
	)
	m := newTestMonitor(t, Options{RingSize: ringSize})
	for i := range streams {
		subscribe(m, fmt.Sprint("/default/t", i), "s", "c", uint64(i+1))
	}
	ingest := func() {
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range perWriter {
					topic := fmt.Sprint("/default/t", (w+i)%streams)
					now := time.Now()
					m.OnReceive(client.ReceiveEvent{Message: &client.Message{
						ID:      client.MessageID{Topic: topic, Offset: uint64(w*perWriter + i + 1)},
						Payload: make([]byte, 100), PublishTime: now.Add(-time.Millisecond), ReceivedAt: now, Subscription: "s",
					}})
					if i%100 == 0 {
						m.OnAck(client.AckEvent{Topic: topic, Subscription: "s", Latency: time.Microsecond})
					}
				}
			})
		}
		stop := make(chan struct{})
		var readers sync.WaitGroup
		for r := range 2 {
			readers.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					s := m.Snapshot()
					if s.Totals.Shown > streams*ringSize {
						t.Errorf("shown %d", s.Totals.Shown)
					}
					m.Messages(StreamID(fmt.Sprint("/default/t", r), "s", "c"), 50)
				}
			})
		}
		wg.Wait()
		close(stop)
		readers.Wait()
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	ingest()
	first := heap()
	ingest()
	second := heap()
	s := m.Snapshot()
	if s.Totals.Received != 2*writers*perWriter || s.Totals.Shown != streams*ringSize {
		t.Fatalf("totals %+v", s.Totals)
	}
	var redelivered uint64
	for _, sub := range s.Subscriptions {
		redelivered += sub.Redelivered
	}
	// The second round repeats every offset; those still in the offset window are redeliveries.
	if redelivered == 0 || redelivered > writers*perWriter {
		t.Fatalf("%d redelivered", redelivered)
	}
	t.Logf("heap after 200k: %d KiB, after 400k: %d KiB", first>>10, second>>10)
	if second > first+4<<20 || second > 64<<20 {
		t.Fatalf("memory grew: %d KiB then %d KiB", first>>10, second>>10)
	}
}

// Pending counts each message once: a redelivery while unsettled (ack timeout) is the same message; a
// redelivery that arrives during the nack's or ack's call leaves the message unsettled (the call settled the
// older delivery); on a non-reliable topic, where every offset is 0, each message counts. End to end counts
// first deliveries only; the redelivery wait is measured from the first delivery.
func TestPendingAndRedeliveryWait(t *testing.T) {
	clk := newFakeClock()
	m := newTestMonitor(t, Options{Clock: clk.Now})
	const topic = "/default/p"
	subscribe(m, topic, "s", "c", 1)
	recv := func(off uint64) {
		now := clk.Now()
		m.OnReceive(client.ReceiveEvent{Message: msg(topic, "s", off, "x", now.Add(-time.Millisecond), now)})
	}
	settle := func(off uint64, nack bool, call time.Duration) {
		m.OnAck(client.AckEvent{Topic: topic, Subscription: "s", Offset: off, Nack: nack, Latency: call})
	}
	pending := func(want int64) {
		t.Helper()
		s := m.Snapshot()
		if sub, c := findSub(t, s, topic, "s"), findConsumer(t, s, StreamID(topic, "s", "c")); sub.Pending != want || int64(c.Pending) != want {
			t.Fatalf("pending: subscription %d, consumer %d, want %d", sub.Pending, c.Pending, want)
		}
	}
	recv(1)
	recv(2)
	clk.Advance(30 * time.Second)
	recv(1) // the ack timeout passed
	pending(2)
	clk.Advance(time.Second)
	settle(1, false, time.Millisecond)
	pending(1)
	// A nack whose redelivery arrives before its answer.
	clk.Advance(time.Second)
	recv(2)
	clk.Advance(time.Millisecond)
	settle(2, true, 2*time.Millisecond)
	pending(1)
	clk.Advance(time.Second)
	settle(2, false, time.Millisecond)
	pending(0)
	// A nack answered first, then the redelivery.
	recv(3)
	clk.Advance(time.Second)
	settle(3, true, time.Millisecond)
	pending(0)
	clk.Advance(4 * time.Second)
	recv(3)
	pending(1)
	c := findConsumer(t, m.Snapshot(), StreamID(topic, "s", "c"))
	if c.EndToEnd.Count != 3 || c.EndToEnd.Max != time.Millisecond {
		t.Fatalf("end to end %+v, want the 3 first deliveries, 1ms each", c.EndToEnd)
	}
	if c.Redelivery.Count != 3 || c.Redelivery.Max != 32*time.Second {
		t.Fatalf("redelivery wait %+v, want 3, longest 32s (offset 2)", c.Redelivery)
	}

	// Closed, the consumer holds nothing: the broker delivers what it did not settle to another.
	m.OnConsumer(client.ConsumerEvent{Kind: client.ConsumerClosed, Topic: topic, Subscription: "s", Name: "c", ID: 1})
	pending(0)

	// A non-reliable topic: offset 0 for every message.
	subscribe(m, "/default/nr", "s", "c", 2)
	for range 3 {
		now := clk.Now()
		m.OnReceive(client.ReceiveEvent{Message: msg("/default/nr", "s", 0, "x", now, now)})
	}
	clk.Advance(time.Second)
	m.OnAck(client.AckEvent{Topic: "/default/nr", Subscription: "s", Latency: time.Millisecond})
	if p := findSub(t, m.Snapshot(), "/default/nr", "s").Pending; p != 2 {
		t.Fatalf("non-reliable pending %d, want 2", p)
	}
}

// A consumer whose acks the monitor never sees keeps its subscription's deliveries bounded: the oldest are
// forgotten, and its pending figure stays below maxDeliveries.
func TestDeliveriesStayBounded(t *testing.T) {
	m := newTestMonitor(t, Options{})
	const topic = "/default/bounded"
	subscribe(m, topic, "s", "c", 1)
	now := time.Now()
	for off := uint64(1); off <= 3*maxDeliveries; off++ {
		m.OnReceive(client.ReceiveEvent{Message: msg(topic, "s", off, "x", now, now)})
	}
	s := m.idx.Load().subs[subKey{topic, "s"}]
	s.mu.Lock()
	n := len(s.deliveries)
	s.mu.Unlock()
	sub := findSub(t, m.Snapshot(), topic, "s")
	if n > maxDeliveries || sub.Pending > maxDeliveries || sub.Pending != int64(n) {
		t.Fatalf("%d deliveries kept, pending %d: want at most %d, the same", n, sub.Pending, maxDeliveries)
	}
}
