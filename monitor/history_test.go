package monitor

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"
)

// histResult is one endpoint's scrape result with the given topics (rates over a 1 s window unless rates
// is false).
func histResult(rates bool, topics ...TopicRate) *scrapeResult {
	for i := range topics {
		if rates {
			topics[i].Window = time.Second
		}
	}
	return &scrapeResult{topics: topics}
}

func nanEq(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) })
}

var nan = math.NaN()

// TestHistoryRecord records scrapes of two endpoints: the partitions of a topic are summed under its base
// name and kept on their own, the cluster total sums everything, a first scrape (no rate window) has lags
// but no rates, a gap is NaN, and the span covered grows with the samples.
func TestHistoryRecord(t *testing.T) {
	h := newHistory(5 * time.Second)
	if h.n != 180 {
		t.Fatalf("points per ring at 5 s: %d", h.n)
	}
	t0 := time.Unix(1_800_000_000, 0)
	if th, covered := h.read("/default/a", time.Minute); covered || th.In != nil || th.Source != "console" {
		t.Fatalf("before any sample: %+v %v", th, covered)
	}
	// The first scrape of each endpoint: no rates yet.
	h.record(t0, []*scrapeResult{
		histResult(false, TopicRate{Topic: "/default/a-part-0", Lag: 3}, TopicRate{Topic: "/default/b", Lag: 1}),
		histResult(false, TopicRate{Topic: "/default/a-part-1", Lag: 4}),
	})
	h.record(t0.Add(5*time.Second), []*scrapeResult{
		histResult(true, TopicRate{Topic: "/default/a-part-0", MsgsInPerSec: 10, MsgsOutPerSec: 8, Lag: 13}, TopicRate{Topic: "/default/b", MsgsInPerSec: 1, Lag: 2}),
		histResult(true, TopicRate{Topic: "/default/a-part-1", MsgsInPerSec: 20, MsgsOutPerSec: 18, Lag: 14}),
	})
	// A scrape missed (t0+10s), then only the second endpoint answers.
	h.record(t0.Add(15*time.Second), []*scrapeResult{
		histResult(true, TopicRate{Topic: "/default/a-part-1", MsgsInPerSec: 2, MsgsOutPerSec: 3, Lag: 13}),
	})
	th, covered := h.read("/default/a", 20*time.Second)
	if !covered || th.Step != 5*time.Second || !th.End.Equal(t0.Add(15*time.Second)) || th.Source != "console" || th.Topic != "/default/a" {
		t.Fatalf("history of /default/a: %+v covered %v", th, covered)
	}
	if !nanEq(th.In, []float64{nan, 30, nan, 2}) || !nanEq(th.Out, []float64{nan, 26, nan, 3}) || !nanEq(th.Lag, []float64{7, 27, nan, 13}) {
		t.Fatalf("/default/a: in %v out %v lag %v", th.In, th.Out, th.Lag)
	}
	th, _ = h.read("/default/a-part-0", 20*time.Second)
	if !nanEq(th.In, []float64{nan, 10, nan, nan}) || !nanEq(th.Lag, []float64{3, 13, nan, nan}) {
		t.Fatalf("/default/a-part-0: in %v lag %v", th.In, th.Lag)
	}
	th, _ = h.read("", 20*time.Second)
	if !nanEq(th.In, []float64{nan, 31, nan, 2}) || !nanEq(th.Lag, []float64{8, 29, nan, 13}) {
		t.Fatalf("cluster: in %v lag %v", th.In, th.Lag)
	}
	// Longer than the samples go back: not covered, the points before the first NaN.
	th, covered = h.read("/default/b", time.Minute)
	if covered || len(th.In) != 12 || !nanEq(th.Lag[8:], []float64{1, 2, nan, nan}) || !math.IsNaN(th.Lag[0]) {
		t.Fatalf("/default/b over a minute: %v covered %v", th.Lag, covered)
	}
	// Longer than a ring: its points only.
	if th, _ = h.read("", time.Hour); len(th.In) != 180 {
		t.Fatalf("an hour: %d points", len(th.In))
	}
	if th, _ = h.read("/default/unknown", 10*time.Second); !nanEq(th.In, []float64{nan, nan}) {
		t.Fatalf("an unknown topic: %+v", th)
	}
}

// TestHistoryWrapsAndForgets goes round the rings many times: the points stay in order, a topic gone for
// longer than the rings go back is forgotten, and the memory is the rings' alone.
func TestHistoryWrapsAndForgets(t *testing.T) {
	h := newHistory(5 * time.Second)
	t0 := time.Unix(1_800_000_000, 0)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 5 * time.Second) }
	for i := range 1000 {
		res := []*scrapeResult{histResult(true, TopicRate{Topic: "/default/a", MsgsInPerSec: float64(i), Lag: int64(i)})}
		if i < 500 {
			res = append(res, histResult(true, TopicRate{Topic: "/default/gone", MsgsInPerSec: 1}))
		}
		h.record(at(i), res)
	}
	th, covered := h.read("/default/a", 20*time.Second)
	if !covered || !nanEq(th.In, []float64{996, 997, 998, 999}) || !th.End.Equal(at(999)) {
		t.Fatalf("after wrapping: %+v", th)
	}
	if _, ok := h.rings["/default/gone"]; ok {
		t.Fatal("a topic gone for longer than the rings is kept")
	}
	if len(h.rings) != 2 || len(h.agg) != 2 {
		t.Fatalf("rings %d, scratch %d", len(h.rings), len(h.agg))
	}
	// A clock that goes back changes nothing.
	h.record(at(10), []*scrapeResult{histResult(true, TopicRate{Topic: "/default/a", MsgsInPerSec: -1})})
	if th, _ := h.read("/default/a", 5*time.Second); th.In[0] != 999 {
		t.Fatalf("after the clock went back: %v", th.In)
	}
}

// TestHistoryMemory records 2,000 topics of 4 partitions: the rings of 180 float32 points are what the
// history holds, whatever the number of scrapes.
func TestHistoryMemory(t *testing.T) {
	h := newHistory(5 * time.Second)
	var topics []TopicRate
	for i := range 2000 {
		for p := range 4 {
			topics = append(topics, TopicRate{Topic: fmt.Sprintf("/default/t%d-part-%d", i, p), MsgsInPerSec: 1})
		}
	}
	res := []*scrapeResult{histResult(true, topics...)}
	t0 := time.Unix(1_800_000_000, 0)
	h.record(t0, res)
	allocs := testing.AllocsPerRun(20, func() {
		t0 = t0.Add(5 * time.Second)
		h.record(t0, res)
	})
	if allocs > 0 {
		t.Errorf("a record of known topics allocates %v times", allocs)
	}
	if len(h.rings) != 2000*5+1 {
		t.Fatalf("%d rings", len(h.rings))
	}
	for _, r := range h.rings {
		if len(r.in) != 180 || cap(r.in) != 180 || len(r.lag) != 180 {
			t.Fatalf("ring of %d/%d points", len(r.in), cap(r.in))
		}
	}
}

func TestBaseTopic(t *testing.T) {
	for in, want := range map[string]string{
		"/default/a-part-0": "/default/a", "/default/a-part-12": "/default/a", "/default/a-part-": "",
		"/default/a-part-x": "", "/default/a": "", "/default/a-part-1-part-2": "/default/a-part-1",
	} {
		if got, ok := baseTopic(in); got != want || ok != (want != "") {
			t.Errorf("baseTopic(%q) = %q, %v", in, got, ok)
		}
	}
}

// TestTopicHistoryFromScrapes runs the monitor's scraper by hand with a fake clock: every successful scrape
// is a sample of TopicHistory, a failed one is not.
func TestTopicHistoryFromScrapes(t *testing.T) {
	srv, body := textServer(t)
	clk := newFakeClock()
	m := newTestMonitor(t, Options{Clock: clk.Now})
	if h := m.TopicHistory("/default/a", time.Minute); h.Source != "" || h.In != nil {
		t.Fatalf("without sources: %+v", h)
	}
	s := newScraper([]string{srv.URL}, false, time.Second, time.Second, clk.Now)
	t.Cleanup(s.hc.CloseIdleConnections)
	m.hist = newHistory(time.Second)
	s.hist, m.scr = m.hist, s
	set := func(text string) { body.Store(&text) }

	set(metricsText(100, 10000, 40, 4000, 50, 2, 60, 100, 200))
	s.poll(t.Context(), s.eps[0])
	clk.Advance(time.Second)
	set(metricsText(300, 30000, 140, 14000, 70, 4, 160, 300, 700))
	s.poll(t.Context(), s.eps[0])
	clk.Advance(time.Second)
	set("not the text format {")
	s.poll(t.Context(), s.eps[0])
	clk.Advance(time.Second)
	set(metricsText(350, 30000, 240, 14000, 70, 4, 100, 300, 700))
	s.poll(t.Context(), s.eps[0])

	h := m.TopicHistory("/default/a", 4*time.Second)
	if h.Source != "console" || !h.End.Equal(clk.Now()) || !nanEq(h.In, []float64{nan, 200, nan, 25}) ||
		!nanEq(h.Out, []float64{nan, 100, nan, 50}) || !nanEq(h.Lag, []float64{60, 160, nan, 100}) {
		t.Fatalf("history: %+v", h)
	}
	if h := m.TopicHistory("", 2*time.Second); !nanEq(h.In, []float64{nan, 25}) {
		t.Fatalf("cluster history: %+v", h)
	}
}
