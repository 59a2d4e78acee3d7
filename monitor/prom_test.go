package monitor

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/testenv"
)

// promInterval is the Prometheus poll interval of these tests.
const promInterval = 200 * time.Millisecond

// promFixture is a broker with its metrics endpoint, a real Prometheus server scraping it, and a client
// (not observed by any monitor).
type promFixture struct {
	srv  *broker.Server
	prom *testenv.Prometheus
	c    *client.Client
}

func startPromFixture(t *testing.T) *promFixture {
	t.Helper()
	srv := brokertest.Run(t, broker.Options{MetricsAddr: "127.0.0.1:0", FailurePolicy: quickPolicy})
	return &promFixture{srv: srv, prom: testenv.NewPrometheus(t, srv.MetricsAddr()), c: connectTo(t, srv)}
}

// publish sends n messages to a reliable topic.
func (f *promFixture) publish(t *testing.T, topic string, n int) {
	t.Helper()
	p, err := f.c.NewProducer(ctxT(t), client.ProducerConfig{Topic: topic, Name: "p", Dispatch: client.Reliable})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	for range n {
		if _, err := p.Send(ctxT(t), []byte("m")); err != nil {
			t.Fatal(err)
		}
	}
}

// promSees waits until the server's answer to q is a one-sample vector for which ok holds.
func (f *promFixture) promSees(t *testing.T, q string, ok func(float64) bool) {
	t.Helper()
	testenv.Eventually(t, 20*time.Second, func() bool {
		v, err := f.prom.Query(ctxT(t), q)
		vec, isVec := v.(model.Vector)
		return err == nil && isVec && len(vec) == 1 && ok(float64(vec[0].Value))
	}, "prometheus answers %s", q)
}

// TestPrometheusHistoryBeforeStart publishes before the monitor exists: the topic's chart, asked of a
// monitor that scrapes the broker and has the Prometheus server, shows that traffic at once (from the
// server, points older than the monitor), while the rows come from the direct scrape; once the console's own
// samples cover a span, that span comes from them.
func TestPrometheusHistoryBeforeStart(t *testing.T) {
	f := startPromFixture(t)
	const topic = "/default/before"
	// Partitions: the base topic's history sums them. A counter's rate needs the series scraped before it
	// grew.
	f.publish(t, topic+"-part-0", 1)
	f.publish(t, topic+"-part-1", 1)
	f.promSees(t, `sum(danube_topic_messages_in_total{topic=~"/default/before-part-.*"})`, func(v float64) bool { return v == 2 })
	f.publish(t, topic+"-part-0", 40)
	f.publish(t, topic+"-part-1", 20)
	f.promSees(t, `sum(danube_topic_messages_in_total{topic=~"/default/before-part-.*"})`, func(v float64) bool { return v == 62 })
	// The traffic is in the server's rates for a few seconds already.
	f.promSees(t, `sum(rate(danube_topic_messages_in_total{topic=~"/default/before-part-.*"}[1m] offset 3s))`, func(v float64) bool { return v > 0 })
	created := time.Now()

	m := newTestMonitor(t, Options{MetricsURLs: []string{f.srv.MetricsAddr()}, MetricsInterval: scrapeInterval,
		PrometheusURL: f.prom.URL(), PrometheusInterval: promInterval})
	var h TopicHistory
	testenv.Eventually(t, 20*time.Second, func() bool {
		h = m.TopicHistory(topic, 2*time.Minute)
		return h.Source == "prometheus"
	}, "the history from prometheus")
	if h.Topic != topic || h.Step != time.Second || len(h.In) != 120 || len(h.Out) != 120 || len(h.Lag) != 120 || h.End.After(time.Now()) {
		t.Fatalf("history: step %v end %v, %d/%d/%d points", h.Step, h.End, len(h.In), len(h.Out), len(h.Lag))
	}
	older := 0
	for i, v := range h.In {
		at := h.End.Add(-time.Duration(len(h.In)-1-i) * h.Step)
		if at.Before(created) && v > 0 {
			older++
		}
	}
	if older == 0 {
		t.Fatalf("no point with traffic before the monitor was created (%v): %v", created, h.In)
	}

	s := eventually(t, m, "the sources up", func(s Snapshot) bool {
		src := s.Cluster.Sources
		return len(src) == 2 && src[0].Status == SourceUp && src[1].Status == SourceUp
	})
	if src := s.Cluster.Sources[1]; src.Kind != "prometheus" || src.URL != f.prom.URL() || src.Interval != promInterval || src.LastOK.IsZero() {
		t.Fatalf("the prometheus source: %+v", src)
	}
	for _, tr := range s.Cluster.Topics {
		if tr.Window == PromRateRange {
			t.Fatalf("a row from prometheus while the endpoint is scraped: %+v", tr)
		}
	}

	// The whole cluster's history, and a span the console's samples cover.
	testenv.Eventually(t, 20*time.Second, func() bool {
		return m.TopicHistory("", time.Minute).Source == "prometheus"
	}, "the cluster's history from prometheus")
	testenv.Eventually(t, 20*time.Second, func() bool {
		h = m.TopicHistory(topic, 3*scrapeInterval)
		return h.Source == "console" && len(h.Lag) == 3 && !math.IsNaN(h.Lag[0]) && !math.IsNaN(h.In[2])
	}, "a short span from the console's samples")
	if h.Step != scrapeInterval || h.In[2] != 0 || h.Lag[2] != 0 {
		t.Fatalf("console history: %+v", h)
	}
}

// TestPrometheusRows has no metrics endpoint: the server's answers are the rows, with the counters, gauges and
// rates the broker exported, Window the rate range.
func TestPrometheusRows(t *testing.T) {
	f := startPromFixture(t)
	const topic = "/default/promrows"
	f.publish(t, topic, 0) // creates the topic
	cons, err := f.c.Subscribe(ctxT(t), client.ConsumerConfig{Topic: topic, Subscription: "s", Name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	f.publish(t, topic, 1) // a counter's rate needs the series scraped before it grew
	f.promSees(t, `sum(danube_topic_messages_in_total{topic="/default/promrows"})`, func(v float64) bool { return v == 1 })
	f.publish(t, topic, 29)
	receiveAcked(t, cons, 10)
	if err := cons.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	f.publish(t, topic, 5)

	m := newTestMonitor(t, Options{PrometheusURL: f.prom.URL(), PrometheusInterval: promInterval})
	var s Snapshot
	testenv.Eventually(t, 20*time.Second, func() bool {
		s = m.Snapshot()
		tr, ok1 := topicRow(s, topic)
		sr, ok2 := subRow(s, topic, "s")
		return ok1 && ok2 && tr.MsgsIn == 35 && sr.Lag == 25 && sr.MsgsOut >= 10 && tr.MsgsInPerSec > 0
	}, "the rows from prometheus (last: %+v)", &s.Cluster)
	tr, _ := topicRow(s, topic)
	sr, _ := subRow(s, topic, "s")
	if tr.Window != PromRateRange || tr.BytesIn != 35 || tr.Producers < 1 || tr.Lag != 25 || tr.Broker == "" ||
		tr.PublishLatency.Count != 35 || tr.MessageSize.P50 != 1 {
		t.Fatalf("topic row: %+v", tr)
	}
	if sr.Consumers != 0 || sr.Window != PromRateRange || sr.Broker != tr.Broker {
		t.Fatalf("subscription row: %+v", sr)
	}
	if len(s.Cluster.Brokers) != 1 || s.Cluster.Brokers[0].ID != tr.Broker || s.Cluster.Brokers[0].TopicsOwned < 1 ||
		s.Cluster.Brokers[0].MsgsInPerSec < tr.MsgsInPerSec {
		t.Fatalf("brokers: %+v", s.Cluster.Brokers)
	}
	if src := s.Cluster.Sources; len(src) != 1 || src[0].Kind != "prometheus" || src[0].Status != SourceUp || src[0].Broker != "" {
		t.Fatalf("sources: %+v", src)
	}
	var found bool
	for _, p := range s.Cluster.Problems {
		found = found || (p.Kind == ProblemNoConsumers && p.Topic == topic && p.Subscription == "s" && p.Detail == "lag 25, 0 consumers")
	}
	if !found {
		t.Fatalf("problems: %+v", s.Cluster.Problems)
	}
}

// TestPrometheusFailing: a server that refuses connections, one that never answers and one that scrapes no
// broker each fail with their reason; Snapshot and TopicHistory never wait for them, and Close ends every
// query.
func TestPrometheusFailing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	m := newTestMonitor(t, Options{PrometheusURL: dead, PrometheusInterval: promInterval})
	s := eventually(t, m, "the dead server fails", func(s Snapshot) bool { return s.Cluster.Sources[0].Status == SourceFailing })
	if !strings.Contains(s.Cluster.Sources[0].Err, "connection refused") || len(s.Cluster.Problems) != 1 ||
		s.Cluster.Problems[0].Kind != ProblemSourceFailing || !strings.Contains(s.Cluster.Problems[0].Detail, dead) {
		t.Fatalf("dead server: %+v", s.Cluster)
	}
	if h := m.TopicHistory("/default/x", time.Hour); h.Source != "" || len(h.In) != 0 {
		t.Fatalf("history without an answer: %+v", h)
	}

	empty := testenv.NewPrometheus(t)
	m = newTestMonitor(t, Options{PrometheusURL: empty.URL(), PrometheusInterval: promInterval})
	s = eventually(t, m, "the server without brokers fails", func(s Snapshot) bool { return s.Cluster.Sources[0].Status == SourceFailing })
	if !strings.Contains(s.Cluster.Sources[0].Err, errNoDanubeSeries.Error()) {
		t.Fatalf("server without brokers: %+v", s.Cluster.Sources)
	}

	var inFlight atomic.Int64
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		_, _ = io.Copy(io.Discard, r.Body) // the server sees the client go only once the body is read
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close)
	slow := New(Options{PrometheusURL: hang.URL, PrometheusInterval: time.Hour}) // one poll, its timeout 5 s
	testenv.Eventually(t, 10*time.Second, func() bool { return inFlight.Load() > 0 }, "the hanging server is asked")
	for range 20 {
		slow.Snapshot()
		slow.TopicHistory("/default/x", time.Hour)
	}
	if inFlight.Load() == 0 {
		t.Fatal("the hanging query ended while Snapshot was called: nothing shows Snapshot did not wait for it")
	}
	if s := slow.Snapshot(); s.Cluster.Sources[0].Status != SourcePending {
		t.Fatalf("while the first poll hangs: %+v", s.Cluster.Sources)
	}
	slow.Close()
	testenv.Eventually(t, 10*time.Second, func() bool { return inFlight.Load() == 0 }, "Close ends the hanging query")
	if s := slow.Snapshot(); s.Cluster.Sources[0].Status != SourceOff {
		t.Fatalf("after Close: %+v", s.Cluster.Sources)
	}
}

func TestTopicSelectorAndStep(t *testing.T) {
	for topic, want := range map[string]string{
		"":             `{topic!=""}`,
		"/default/a.b": `{topic=~"/default/a\\.b(-part-[0-9]+)?"}`,
	} {
		if got := topicSelector(topic); got != want {
			t.Errorf("topicSelector(%q) = %s, want %s", topic, got, want)
		}
	}
	for span, want := range map[time.Duration]time.Duration{
		time.Minute: time.Second, 15 * time.Minute: 3 * time.Second, time.Hour: 12 * time.Second, 24 * time.Hour: 288 * time.Second,
	} {
		if got := historyStep(span); got != want {
			t.Errorf("historyStep(%v) = %v, want %v", span, got, want)
		}
	}
}

// TestPrometheusHistoryCacheBounded asks for more charts than are kept: the least recently used answers go,
// never one being asked, and a full queue of range queries makes TopicHistory ask again later, not wait.
func TestPrometheusHistoryCacheBounded(t *testing.T) {
	clk := newFakeClock()
	p := newPromSource("http://127.0.0.1:1", time.Second, false, clk.Now) // not started: nothing reads the queue
	for i := range 3 * maxPromHistories {
		if _, ok := p.history(fmt.Sprint("/default/t", i), time.Hour); ok {
			t.Fatal("an answer nobody gave")
		}
	}
	running := 0
	for _, e := range p.hist {
		if e.running {
			running++
		}
	}
	if len(p.hist) != maxPromHistories || running != cap(p.reqs) || len(p.reqs) != cap(p.reqs) {
		t.Fatalf("%d answers kept, %d asked, %d queued", len(p.hist), running, len(p.reqs))
	}
	if _, ok := p.hist[histKey{"/default/t0", time.Hour}]; !ok {
		t.Fatal("an answer being asked was forgotten")
	}
	if _, ok := p.hist[histKey{fmt.Sprint("/default/t", 3*maxPromHistories-1), time.Hour}]; !ok {
		t.Fatal("the last one asked was forgotten")
	}
}
