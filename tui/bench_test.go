package tui

import (
	"testing"

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
