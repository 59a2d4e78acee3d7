package tui

import (
	"runtime"
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
