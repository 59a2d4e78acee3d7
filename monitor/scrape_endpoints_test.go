package monitor

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danube-console/danube-console/internal/testenv"
)

// setEndpoints starts the endpoints it is given, stops those it no longer is (kept failing as having left
// the cluster for leftKeep, then dropped), and polls afresh an endpoint that comes back.
func TestScraperSetEndpoints(t *testing.T) {
	a, _ := textServer(t)
	b, _ := textServer(t)
	clk := newFakeClock()
	s := newScraper(nil, true, 20*time.Millisecond, 5*time.Second, clk.Now)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	s.start(ctx, &wg)
	status := func() map[string]SourceState {
		c, _ := s.cluster()
		out := map[string]SourceState{}
		for _, src := range c.Sources {
			out[src.Broker] = src
		}
		return out
	}
	s.setEndpoints([]endpointSpec{{a.URL, "1"}, {b.URL, "2"}})
	testenv.Eventually(t, 10*time.Second, func() bool {
		st := status()
		return len(st) == 2 && st["1"].Status == SourceUp && st["2"].Status == SourceUp
	}, "both endpoints up")
	s.setEndpoints([]endpointSpec{{a.URL, "1"}}) // broker 2 left
	st := status()
	if len(st) != 2 || st["2"].Status != SourceFailing || !strings.Contains(st["2"].Err, "broker 2 left the cluster") || st["1"].Status != SourceUp {
		t.Fatalf("after broker 2 left: %+v", st)
	}
	// Its goroutine stopped: later polls of the others do not revive it.
	_, gen := s.cluster()
	testenv.Eventually(t, 10*time.Second, func() bool { _, g := s.cluster(); return g > gen+2 }, "broker 1 polled again")
	if st := status(); st["2"].Status != SourceFailing {
		t.Fatalf("the endpoint that left was polled again: %+v", st["2"])
	}
	// It comes back: polled afresh.
	s.setEndpoints([]endpointSpec{{a.URL, "1"}, {b.URL, "2"}})
	testenv.Eventually(t, 10*time.Second, func() bool { return status()["2"].Status == SourceUp }, "broker 2 back up")
	// It leaves for good: listed for leftKeep, then dropped.
	s.setEndpoints([]endpointSpec{{a.URL, "1"}})
	clk.Advance(leftKeep - time.Second)
	s.setEndpoints([]endpointSpec{{a.URL, "1"}})
	if len(status()) != 2 {
		t.Fatalf("dropped before leftKeep: %+v", status())
	}
	clk.Advance(2 * time.Second)
	s.setEndpoints([]endpointSpec{{a.URL, "1"}})
	if st := status(); len(st) != 1 || st["1"].Status != SourceUp {
		t.Fatalf("after leftKeep: %+v", st)
	}
}
