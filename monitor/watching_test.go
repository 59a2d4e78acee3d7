package monitor

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danube-console/danube-console/internal/testenv"
)

// countingServer answers every request with the metrics text and counts the requests.
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	text := metricsText(100, 10000, 40, 4000, 50, 2, 60, 100, 200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(text))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestSetWatchingStopsPolls checks that a monitor set not to watch neither scrapes its metrics endpoint nor
// queries Prometheus while ten intervals pass (measured by another monitor's scrapes), and polls again once
// it watches.
func TestSetWatchingStopsPolls(t *testing.T) {
	const interval = 20 * time.Millisecond
	metrics, scrapes := countingServer(t)
	prom, queries := countingServer(t) // not a Prometheus: its queries fail, and are counted all the same
	clock, ticks := countingServer(t)
	m := newTestMonitor(t, Options{MetricsURLs: []string{metrics.URL}, MetricsInterval: interval,
		PrometheusURL: prom.URL, PrometheusInterval: interval})
	newTestMonitor(t, Options{MetricsURLs: []string{clock.URL}, MetricsInterval: interval})
	if !m.Watching() {
		t.Fatal("a new monitor does not watch")
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return scrapes.Load() >= 3 && queries.Load() >= 3 }, "the first polls")

	m.SetWatching(false)
	if m.Watching() {
		t.Fatal("Watching after SetWatching(false)")
	}
	// A poll that began before the call may still be under way: wait for one more interval's polls to end.
	t0 := ticks.Load()
	testenv.Eventually(t, 10*time.Second, func() bool { return ticks.Load() >= t0+2 }, "two intervals")
	s0, q0 := scrapes.Load(), queries.Load()
	t0 = ticks.Load()
	testenv.Eventually(t, 10*time.Second, func() bool { return ticks.Load() >= t0+10 }, "ten intervals")
	if s, q := scrapes.Load(), queries.Load(); s != s0 || q != q0 {
		t.Fatalf("over ten intervals unwatched: %d scrapes and %d queries, want none", s-s0, q-q0)
	}

	m.SetWatching(true)
	testenv.Eventually(t, 10*time.Second, func() bool { return scrapes.Load() > s0 && queries.Load() > q0 }, "polls again")
}
