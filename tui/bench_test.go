package tui

import (
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"

	"github.com/danube-console/danube-console/tui/tuitest"
)

// BenchmarkDashboardView measures a dashboard frame at 200×60 over 50 producers, 50 consumers with full
// 1000-message rings and 20 connectors, all with full series. Target: under 5 ms.
func BenchmarkDashboardView(b *testing.B) {
	m := newTest(b, tuitest.Big(), 200, 60, "dark")
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkDashboardClusterView measures a dashboard frame at 200×60 over a cluster of 2,000 topics and
// 10,000 subscriptions: the rankings are derived when the snapshot changes, so a frame draws what is on
// screen only. Target: under 5 ms.
func BenchmarkDashboardClusterView(b *testing.B) {
	f := tuitest.ClusterBig()
	m := newTest(b, f, 200, 60, "dark")
	if n := len(m.snap.Cluster.Subscriptions); n < 10_000 {
		b.Fatalf("%d subscriptions, want 10,000", n)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkDashboardClusterTick measures a tick and a frame of the dashboard at 200×60 when every snapshot
// brings a copy of the same 2,000 topics and 10,000 subscriptions (as a monitor that copies its figures
// does): the copies are compared, not derived again.
func BenchmarkDashboardClusterTick(b *testing.B) {
	f := tuitest.ClusterBig()
	m := newTest(b, f, 200, 60, "dark")
	c := m.snap.Cluster
	copies := [2]monitor.Cluster{c, c}
	for i := range copies {
		copies[i].Topics = slices.Clone(c.Topics)
		copies[i].Subscriptions = slices.Clone(c.Subscriptions)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f.Update(func(s *monitor.Snapshot) { s.Cluster = copies[i%2] })
		i++
		m.Update(tickMsg{})
		_ = m.View()
	}
}

// BenchmarkConsumersView measures the consumers pane with its live stream at 200×60, including the tick
// that pulls the snapshot and the visible messages.
func BenchmarkConsumersView(b *testing.B) {
	m := newTest(b, tuitest.Big(), 200, 60, "dark")
	press(m, "4")
	b.ReportAllocs()
	for b.Loop() {
		m.Update(tickMsg{})
		_ = m.View()
	}
}

// BenchmarkFilteredStream50k measures the consumers pane at 200×60 following a stream of 50,000 kept
// messages through a text filter: each op is a tick (the snapshot, and a Query that runs filter.Match over
// all 50,000 messages, as the fake does not cache verdicts: the worst case) and a View with the matches
// highlighted. Frame budget: ~16 ms; target under 5 ms.
func BenchmarkFilteredStream50k(b *testing.B) {
	f := tuitest.Big()
	f.SetStream("s00", tuitest.Messages("/bench/topic-00", "sub", "c00", 50_000, tuitest.Epoch), 50_000)
	m := newTest(b, f, 200, 60, "dark")
	press(m, "4")
	if err := m.consumers.setFilter(m.env(), "ada"); err != nil {
		b.Fatal(err)
	}
	m.Update(tickMsg{})
	if r := m.consumers.res; r.Kept != 50_000 || r.Matches == 0 {
		b.Fatalf("query: %d of %d match", r.Matches, r.Kept)
	}
	b.ReportAllocs()
	var tick, view time.Duration
	for b.Loop() {
		t0 := time.Now()
		m.Update(tickMsg{})
		t1 := time.Now()
		_ = m.View()
		tick, view = tick+t1.Sub(t0), view+time.Since(t1)
	}
	// The tick is the Query (the backend's cost); the view is the console's.
	b.ReportMetric(float64(tick.Microseconds())/1000/float64(b.N), "tick-ms/op")
	b.ReportMetric(float64(view.Microseconds())/1000/float64(b.N), "view-ms/op")
}

// BenchmarkFilteredStream50kMonitor is BenchmarkFilteredStream50k over the real monitor, whose Query
// remembers its verdicts: after the first, a tick evaluates only the messages received since.
func BenchmarkFilteredStream50kMonitor(b *testing.B) {
	mon := monitor.New(monitor.Options{RingSize: 50_000, MaxRingBytes: 1 << 30})
	defer mon.Close()
	mon.OnConsumer(client.ConsumerEvent{Kind: client.ConsumerSubscribed, Topic: "/default/load", Subscription: "s", Name: "c", ID: 1})
	for i, msg := range tuitest.Messages("/default/load", "s", "c", 50_000, tuitest.Epoch) {
		mon.OnReceive(client.ReceiveEvent{Consumer: "c", Message: &client.Message{
			ID: client.MessageID{Topic: "/default/load", Offset: uint64(i)}, RoutingKey: msg.Key, HasRoutingKey: msg.HasKey, Payload: msg.Payload,
			PublishTime: msg.PublishTime, ReceivedAt: msg.ReceivedAt, Subscription: "s"}})
	}
	m := New(mon, Options{Theme: themes.Default(), Clock: tuitest.Clock})
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
	press(m, "4")
	if err := m.consumers.setFilter(m.env(), "ada"); err != nil {
		b.Fatal(err)
	}
	m.Update(tickMsg{})
	if r := m.consumers.res; r.Kept != 50_000 || r.Matches == 0 {
		b.Fatalf("query: %d of %d match", r.Matches, r.Kept)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Update(tickMsg{})
		_ = m.View()
	}
}

// BenchmarkPanesView renders every pane once per iteration at 200×60.
func BenchmarkPanesView(b *testing.B) {
	m := newTest(b, tuitest.Big(), 200, 60, "dark")
	b.ReportAllocs()
	for b.Loop() {
		for p := range numPanes {
			m.setPane(paneID(p))
			_ = m.View()
		}
	}
}

// BenchmarkIngestWithConsole feeds the real monitor's observer from every CPU while the console model
// pulls a snapshot and renders the consumers pane (with the live stream) at its 100 ms tick, as the running
// console does. It reports the messages ingested per second, the frames rendered per second (10 when the
// screen keeps its tick), and the heap after the run minus before (flat: the rings are bounded).
func BenchmarkIngestWithConsole(b *testing.B) {
	mon := monitor.New(monitor.Options{})
	defer mon.Close()
	mon.OnConsumer(client.ConsumerEvent{Kind: client.ConsumerSubscribed, Topic: "/default/load", Subscription: "s", Name: "c", ID: 1})
	m := New(mon, Options{Theme: themes.Default()})
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 60})
	press(m, "4")

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	stop := make(chan struct{})
	frames := make(chan int)
	go func() {
		n := 0
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				m.Update(tickMsg(now))
				_ = m.View()
				n++
			case <-stop:
				frames <- n
				return
			}
		}
	}()
	payload := []byte(`{"order_id":"6b1f4557-10ba-4a3c-8901-cb4ed7b86fb4","seq":204,"qty":3}`)
	var seq atomic.Uint64
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			off := seq.Add(1)
			now := time.Now()
			mon.OnReceive(client.ReceiveEvent{Consumer: "c", Message: &client.Message{
				ID:      client.MessageID{Topic: "/default/load", Offset: off},
				Payload: payload, PublishTime: now, ReceivedAt: now, Subscription: "s",
			}})
		}
	})
	elapsed := time.Since(start)
	close(stop)
	n := <-frames
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(n)/elapsed.Seconds(), "frames/s")
	b.ReportMetric((float64(after.HeapAlloc)-float64(before.HeapAlloc))/(1<<20), "heap-growth-MB")
}
