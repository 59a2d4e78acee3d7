package monitor

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danube-console/danube-console/internal/testenv"
)

func TestMetricsURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:9040":             "http://127.0.0.1:9040/metrics",
		"http://b1:9040":             "http://b1:9040/metrics",
		"http://b1:9040/":            "http://b1:9040/metrics",
		"https://b1:9040/prom/stats": "https://b1:9040/prom/stats",
	} {
		if got := metricsURL(in); got != want {
			t.Errorf("metricsURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// metricsText is a broker's metrics text as broker/metrics.go writes it: the bare series first, then one
// topic with one subscription (in and out counters given), a summary, the rpc counters.
func metricsText(in, inBytes, out, outBytes, rpcOK, rpcErr, lag float64, latCount uint64, latSum float64) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# TYPE danube_topic_messages_in_total counter\n")
	w("danube_topic_messages_in_total{broker=\"7\"} 0\n")
	w("danube_topic_messages_in_total{broker=\"7\",topic=\"/default/a\"} %v\n", in)
	w("# TYPE danube_topic_bytes_in_total counter\n")
	w("danube_topic_bytes_in_total{broker=\"7\",topic=\"/default/a\"} %v\n", inBytes)
	w("# TYPE danube_consumer_messages_out_total counter\n")
	w("danube_consumer_messages_out_total{broker=\"7\",topic=\"/default/a\",subscription=\"s\"} %v\n", out)
	w("# TYPE danube_consumer_bytes_out_total counter\n")
	w("danube_consumer_bytes_out_total{broker=\"7\",topic=\"/default/a\",subscription=\"s\"} %v\n", outBytes)
	w("# TYPE danube_topic_active_producers gauge\n")
	w("danube_topic_active_producers{broker=\"7\",topic=\"/default/a\"} 2\n")
	w("# TYPE danube_topic_active_consumers gauge\n")
	w("danube_topic_active_consumers{broker=\"7\",topic=\"/default/a\"} 1\n")
	w("# TYPE danube_topic_active_subscriptions gauge\n")
	w("danube_topic_active_subscriptions{broker=\"7\",topic=\"/default/a\"} 1\n")
	w("# TYPE danube_subscription_active_consumers gauge\n")
	w("danube_subscription_active_consumers{broker=\"7\",topic=\"/default/a\",subscription=\"s\"} 1\n")
	w("# TYPE danube_subscription_lag_messages gauge\n")
	w("danube_subscription_lag_messages{broker=\"7\",topic=\"/default/a\",subscription=\"s\"} %v\n", lag)
	w("# TYPE danube_subscription_dlq_total counter\n")
	w("danube_subscription_dlq_total{broker=\"7\",topic=\"/default/a\",subscription=\"s\",poison_policy=\"dead_letter\"} 0\n")
	w("# TYPE danube_broker_topics_owned gauge\n")
	w("danube_broker_topics_owned{broker=\"7\"} 1\n")
	w("# TYPE danube_leader_election_state gauge\n")
	w("danube_leader_election_state{broker=\"7\"} 1\n")
	w("# TYPE danube_broker_rpc_total counter\n")
	w("danube_broker_rpc_total{broker=\"7\",service=\"producer\",method=\"send_message\",result=\"ok\"} %v\n", rpcOK)
	w("danube_broker_rpc_total{broker=\"7\",service=\"producer\",method=\"send_message\",result=\"error\"} %v\n", rpcErr)
	w("# TYPE danube_producer_send_latency_ms summary\n")
	w("danube_producer_send_latency_ms{broker=\"7\",topic=\"/default/a\",quantile=\"0.5\"} 1.5\n")
	w("danube_producer_send_latency_ms{broker=\"7\",topic=\"/default/a\",quantile=\"0.95\"} 4\n")
	w("danube_producer_send_latency_ms{broker=\"7\",topic=\"/default/a\",quantile=\"0.99\"} 9\n")
	w("danube_producer_send_latency_ms_sum{broker=\"7\",topic=\"/default/a\"} %v\n", latSum)
	w("danube_producer_send_latency_ms_count{broker=\"7\",topic=\"/default/a\"} %v\n", latCount)
	w("# TYPE danube_topic_message_size_bytes summary\n")
	w("danube_topic_message_size_bytes{broker=\"7\",topic=\"/default/a\",quantile=\"0.5\"} 100\n")
	w("danube_topic_message_size_bytes{broker=\"7\",topic=\"/default/a\",quantile=\"0.99\"} 120\n")
	w("danube_topic_message_size_bytes_sum{broker=\"7\",topic=\"/default/a\"} 0\n")
	w("danube_topic_message_size_bytes_count{broker=\"7\",topic=\"/default/a\"} 0\n")
	return b.String()
}

// textServer serves the text its body holds.
func textServer(t *testing.T) (*httptest.Server, *atomic.Pointer[string]) {
	t.Helper()
	var body atomic.Pointer[string]
	empty := ""
	body.Store(&empty)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(*body.Load()))
	}))
	t.Cleanup(srv.Close)
	return srv, &body
}

// TestScrapeRates drives one endpoint's polls by hand with a fake clock: the first scrape has no rates, the
// next ones the counters' deltas over the clock's step, and a counter that went down counts from 0.
func TestScrapeRates(t *testing.T) {
	srv, body := textServer(t)
	clk := newFakeClock()
	s := newScraper([]string{srv.URL}, false, time.Second, time.Second, clk.Now)
	t.Cleanup(s.hc.CloseIdleConnections)
	ep := s.eps[0]
	set := func(text string) { body.Store(&text) }

	set(metricsText(100, 10000, 40, 4000, 50, 2, 60, 100, 200))
	s.poll(t.Context(), ep)
	c, _ := s.cluster()
	if len(c.Sources) != 1 || c.Sources[0].Status != SourceUp || c.Sources[0].Broker != "7" || c.Sources[0].URL != srv.URL+"/metrics" {
		t.Fatalf("sources after the first scrape: %+v", c.Sources)
	}
	if len(c.Topics) != 1 || len(c.Subscriptions) != 1 || len(c.Brokers) != 1 {
		t.Fatalf("rows after the first scrape: %+v", c)
	}
	tr := c.Topics[0]
	if tr.Window != 0 || tr.MsgsInPerSec != 0 || tr.MsgsIn != 100 || tr.BytesIn != 10000 || tr.Producers != 2 || tr.Consumers != 1 ||
		tr.Subscriptions != 1 || tr.Lag != 60 || tr.PublishLatency != (Quantiles{P50: 1.5, P95: 4, P99: 9, Count: 100, Sum: 200}) ||
		tr.MessageSize.P50 != 100 || tr.MessageSize.P99 != 120 || tr.Topic != "/default/a" || tr.Broker != "7" {
		t.Fatalf("topic after the first scrape: %+v", tr)
	}

	clk.Advance(2 * time.Second)
	set(metricsText(300, 30000, 140, 14000, 70, 4, 160, 300, 700))
	s.poll(t.Context(), ep)
	c, _ = s.cluster()
	tr, sr, br := c.Topics[0], c.Subscriptions[0], c.Brokers[0]
	if tr.Window != 2*time.Second || tr.MsgsInPerSec != 100 || tr.BytesInPerSec != 10000 || tr.MsgsOutPerSec != 50 ||
		tr.BytesOutPerSec != 5000 || tr.Lag != 160 {
		t.Fatalf("topic rates: %+v", tr)
	}
	if sr.MsgsOutPerSec != 50 || sr.BytesOutPerSec != 5000 || sr.Lag != 160 || sr.Consumers != 1 || sr.MsgsOut != 140 || sr.Subscription != "s" {
		t.Fatalf("subscription rates: %+v", sr)
	}
	if br.ID != "7" || br.TopicsOwned != 1 || !br.Leader || br.RPCPerSec != 11 || br.RPCErrorsPerSec != 1 ||
		br.MsgsInPerSec != 100 || br.MsgsOutPerSec != 50 || br.PublishLatencyMeanMs != 2.5 {
		t.Fatalf("broker: %+v", br)
	}

	// The broker restarted: every counter is below its last value.
	clk.Advance(4 * time.Second)
	set(metricsText(40, 4000, 20, 2000, 8, 0, 0, 10, 30))
	s.poll(t.Context(), ep)
	c, _ = s.cluster()
	tr, br = c.Topics[0], c.Brokers[0]
	if tr.Window != 4*time.Second || tr.MsgsInPerSec != 10 || tr.BytesInPerSec != 1000 || tr.MsgsOutPerSec != 5 || br.RPCPerSec != 2 ||
		br.PublishLatencyMeanMs != 3 {
		t.Fatalf("after a counter reset: topic %+v broker %+v", tr, br)
	}

	// A failing poll drops the rows and says why; the next good one has rates over the whole gap.
	set("this is not the text format {")
	clk.Advance(time.Second)
	s.poll(t.Context(), ep)
	c, _ = s.cluster()
	if c.Sources[0].Status != SourceFailing || !strings.Contains(c.Sources[0].Err, "parsing") || len(c.Topics) != 0 || len(c.Brokers) != 0 {
		t.Fatalf("after a bad answer: %+v", c)
	}
	clk.Advance(time.Second)
	set(metricsText(60, 6000, 20, 2000, 8, 0, 0, 10, 30))
	s.poll(t.Context(), ep)
	c, _ = s.cluster()
	if c.Sources[0].Status != SourceUp || c.Sources[0].Err != "" || c.Topics[0].Window != 2*time.Second || c.Topics[0].MsgsInPerSec != 10 {
		t.Fatalf("after recovering: %+v", c)
	}

	// What cluster returns is shared until a source changes, and never changed: a poll builds new slices.
	c2, gen := s.cluster()
	if &c2.Topics[0] != &c.Topics[0] || &c2.Sources[0] != &c.Sources[0] {
		t.Fatal("cluster copied its slices though nothing changed")
	}
	before := c.Sources[0]
	s.poll(t.Context(), ep)
	c3, gen3 := s.cluster()
	if gen3 == gen || &c3.Sources[0] == &c.Sources[0] || c.Sources[0] != before {
		t.Fatalf("a poll changed the slices given out: %+v, then %+v", before, c.Sources[0])
	}
}

// TestScrapeSourceStates runs three endpoints under a monitor: one answers, one never answers, one is
// closed. The two dead ones fail with their reasons, the good one stays up, Snapshot never waits for a
// scrape, and Close turns every source off.
func TestScrapeSourceStates(t *testing.T) {
	good, body := textServer(t)
	text := metricsText(1, 1, 1, 1, 1, 0, 0, 1, 1)
	body.Store(&text)

	release := make(chan struct{})
	var inFlight atomic.Int64 // polls of the hanging endpoint not answered yet
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hang.Close)
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()

	// While the hanging endpoint holds a poll (for as long as it likes: a minute's timeout), Snapshot answers:
	// the poll is still unanswered after the Snapshots returned. Had Snapshot waited for it, the test would
	// hang here instead.
	slow := New(Options{MetricsURLs: []string{good.URL, hang.URL}, MetricsInterval: 20 * time.Millisecond, MetricsTimeout: time.Minute})
	testenv.Eventually(t, 10*time.Second, func() bool { return inFlight.Load() > 0 }, "the hanging endpoint is polled")
	for range 20 {
		slow.Snapshot()
	}
	if inFlight.Load() == 0 {
		t.Fatal("the hanging poll ended while Snapshot was called: nothing shows Snapshot did not wait for it")
	}
	slow.Close()
	testenv.Eventually(t, 10*time.Second, func() bool { return inFlight.Load() == 0 }, "Close ends the hanging poll")

	m := New(Options{MetricsURLs: []string{good.URL, hang.URL, dead}, MetricsInterval: 20 * time.Millisecond, MetricsTimeout: 2 * time.Second})
	closed := false
	t.Cleanup(func() {
		if !closed {
			m.Close()
		}
	})
	s := m.Snapshot()
	if len(s.Cluster.Sources) != 3 || s.Cluster.Sources[1].Kind != "metrics" || s.Cluster.Sources[2].URL != "http://"+dead+"/metrics" {
		t.Fatalf("sources at start: %+v", s.Cluster.Sources)
	}
	s = eventually(t, m, "the dead endpoints fail and the good one is up", func(s Snapshot) bool {
		src := s.Cluster.Sources
		return src[0].Status == SourceUp && src[1].Status == SourceFailing && src[2].Status == SourceFailing
	})
	src := s.Cluster.Sources
	if !strings.Contains(src[1].Err, "deadline exceeded") || !strings.Contains(src[2].Err, "connection refused") {
		t.Fatalf("failure reasons: %q, %q", src[1].Err, src[2].Err)
	}
	if len(s.Cluster.Brokers) != 1 || s.Cluster.Brokers[0].URL != good.URL+"/metrics" || src[0].Err != "" || src[0].LastOK.IsZero() {
		t.Fatalf("the good endpoint: %+v %+v", src[0], s.Cluster.Brokers)
	}

	m.Close()
	closed = true
	s = m.Snapshot()
	for _, src := range s.Cluster.Sources {
		if src.Status != SourceOff {
			t.Fatalf("after Close: %+v", s.Cluster.Sources)
		}
	}
	if len(s.Cluster.Topics) != 0 {
		t.Fatalf("rows after Close: %+v", s.Cluster.Topics)
	}
}

func TestScrapeOff(t *testing.T) {
	m := newTestMonitor(t, Options{})
	if c := m.Snapshot().Cluster; c.Sources != nil || c.Topics != nil {
		t.Fatalf("cluster without metrics URLs: %+v", c)
	}
}
