package tui

import (
	"io"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/themes"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// benchWholeFrame measures whole frames of a pane at 200×60 over Big's data (50 producers, 50 consumers
// with full 1000-message rings, 20 connectors) that changes between frames as a live monitor's does: before
// each frame, untimed, the data moves on by a tick (tuitest.Churn: every rate, counter, series and latency
// changes, the clock advances 100 ms and the stream s00, the consumers pane's, receives 10 messages). A
// frame (ns/op) is what the running console does for it: the tick that pulls the snapshot, View, and Bubble
// Tea's renderer parsing the view into cells, diffing them with the screen and encoding the changes for a
// true-colour terminal (frameTerm, checked against a real Program by TestFrameTermMatchesProgram), written
// to io.Discard. It reports the parts per frame (tick-ns, view-ns: the string building alone, render-ns)
// and the bytes the terminal receives per frame.
func benchWholeFrame(b *testing.B, keys ...string) {
	const w, h = 200, 60
	f := tuitest.Big()
	ch, err := tuitest.NewChurn(f, 100*time.Millisecond, 10, 1000, "s00")
	if err != nil {
		b.Fatal(err)
	}
	m := New(f, Options{Theme: themes.Default(), Clock: ch.Now, TapPrefix: "console-test-0a1b"})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	press(m, keys...)
	term := newFrameTerm(w, h, io.Discard)
	if _, err := term.draw(m.View().Content); err != nil {
		b.Fatal(err)
	}
	var tick, view, render time.Duration
	bytes0 := term.bytes
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		ch.Step()
		b.StartTimer()
		t0 := time.Now()
		m.Update(tickMsg(ch.Now()))
		t1 := time.Now()
		content := m.View().Content
		t2 := time.Now()
		n, err := term.draw(content)
		t3 := time.Now()
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatal("the frame drew nothing: the data did not change")
		}
		tick, view, render = tick+t1.Sub(t0), view+t2.Sub(t1), render+t3.Sub(t2)
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	b.ReportMetric(per(tick), "tick-ns/frame")
	b.ReportMetric(per(view), "view-ns/frame")
	b.ReportMetric(per(render), "render-ns/frame")
	b.ReportMetric(float64(term.bytes-bytes0)/float64(b.N), "term-B/frame")
}

// BenchmarkDashboardFrame measures the whole frame of the dashboard at 200×60 with data changing every
// frame (benchWholeFrame). Target: under 5 ms.
func BenchmarkDashboardFrame(b *testing.B) { benchWholeFrame(b) }

// BenchmarkConsumersFrame measures the whole frame of the consumers pane with its live stream at 200×60,
// with data changing every frame and 10 new messages in the stream (benchWholeFrame). Target: under 5 ms.
func BenchmarkConsumersFrame(b *testing.B) { benchWholeFrame(b, "4") }
