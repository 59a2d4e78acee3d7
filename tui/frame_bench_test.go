//go:build linux

package tui

import (
	"io"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/themes"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// frameSignal counts the writes of a Program's renderer (one per frame) and signals each.
type frameSignal struct {
	mu     sync.Mutex
	writes int
	bytes  int
	wrote  chan struct{}
}

func (w *frameSignal) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes++
	w.bytes += len(p)
	w.mu.Unlock()
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *frameSignal) count() (writes, bytes int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes, w.bytes
}

// cpuTime returns the CPU time (user and system) of the process (syscall.RUSAGE_SELF) or of the calling
// thread (syscall.RUSAGE_THREAD).
func cpuTime(b *testing.B, who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchWholeFrame measures whole frames of a pane at 200×60 over Big's data (50 producers, 50 consumers
// with full 1000-message rings, 20 connectors) that changes between frames as a live monitor's does: before
// each frame, untimed, the data moves on by a tick (tuitest.Churn: every rate, counter, series and latency
// changes, the clock advances 100 ms and the stream s00, the consumers pane's, receives 10 messages). A
// frame (ns/op) is what the running console does for it: the tick that pulls the snapshot, View, and Bubble
// Tea's renderer parsing the view into cells, diffing them with the screen and encoding the changes for a
// true-colour terminal (frameTerm, checked against a real Program by TestFrameTermMatchesProgram), written
// to io.Discard. It reports the parts per frame (tick-ns, view-ns: the string building alone, render-ns),
// the CPU time of the process per frame (cpu-ns/frame: the frame's and the garbage collector's, without the
// Churn's own) and the bytes the terminal receives per frame.
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
	var tick, view, render, churn time.Duration
	bytes0 := term.bytes
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := cpuTime(b, syscall.RUSAGE_SELF)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		c0 := cpuTime(b, syscall.RUSAGE_THREAD)
		ch.Step()
		churn += cpuTime(b, syscall.RUSAGE_THREAD) - c0
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
	cpu := cpuTime(b, syscall.RUSAGE_SELF) - cpu0 - churn
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N) }
	b.ReportMetric(per(cpu), "cpu-ns/frame")
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

// benchProgramFrame measures what a frame costs the running console, as a check of benchWholeFrame: the console runs in a real Bubble
// Tea Program at 200×60 (no input, a true-colour terminal, output counted and discarded), and each op moves
// Big's data on by a tick (tuitest.Churn), sends the tick and waits for the frame the renderer writes for
// it. It reports the CPU time of the whole process per frame (cpu-ns/frame: the Program's event loop, the
// tick, View, the renderer and the garbage collector, without the Churn's own CPU, measured on its thread).
// ns/op is the renderer's 120 Hz ticker, not the frame's cost.
func benchProgramFrame(b *testing.B, keys ...string) {
	const w, h = 200, 60
	f := tuitest.Big()
	ch, err := tuitest.NewChurn(f, 100*time.Millisecond, 10, 1000, "s00")
	if err != nil {
		b.Fatal(err)
	}
	m := New(f, Options{Theme: themes.Default(), Clock: ch.Now, Tick: time.Hour, TapPrefix: "console-test-0a1b"})
	out := &frameSignal{wrote: make(chan struct{}, 1)}
	p := runFrameProgram(b, m, out, w, h)
	for _, k := range keys {
		p.Send(keyMsg(k))
	}
	frame := func() {
		n, _ := out.count()
		p.Send(tickMsg(ch.Now()))
		for {
			if c, _ := out.count(); c > n {
				return
			}
			select {
			case <-out.wrote:
			case <-p.done:
				b.Fatalf("the program ended: %v", p.err)
			case <-time.After(10 * time.Second):
				b.Fatal("no frame 10 s after a tick")
			}
		}
	}
	frame() // the first frame draws the whole screen

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var churn time.Duration
	_, bytes0 := out.count()
	cpu0 := cpuTime(b, syscall.RUSAGE_SELF)
	for b.Loop() {
		t0 := cpuTime(b, syscall.RUSAGE_THREAD)
		ch.Step()
		churn += cpuTime(b, syscall.RUSAGE_THREAD) - t0
		frame()
	}
	cpu := cpuTime(b, syscall.RUSAGE_SELF) - cpu0 - churn
	_, bytes1 := out.count()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/frame")
	b.ReportMetric(float64(bytes1-bytes0)/float64(b.N), "term-B/frame")
}

// BenchmarkDashboardFrameProgram is BenchmarkDashboardFrame in a running Program, in CPU time
// (benchProgramFrame).
func BenchmarkDashboardFrameProgram(b *testing.B) { benchProgramFrame(b) }

// BenchmarkConsumersFrameProgram is BenchmarkConsumersFrame in a running Program, in CPU time
// (benchProgramFrame).
func BenchmarkConsumersFrameProgram(b *testing.B) { benchProgramFrame(b, "4") }
