package monitor

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/testenv"
)

// scrapeInterval is the metrics poll interval of these tests.
const scrapeInterval = 100 * time.Millisecond

// startScraped starts a broker with its metrics endpoint on a free loopback port, a monitor scraping it,
// and a client (not observed by the monitor: its figures must come from the metrics alone).
func startScraped(t *testing.T, bo broker.Options) (*broker.Server, *Monitor, *client.Client) {
	t.Helper()
	bo.MetricsAddr = "127.0.0.1:0"
	srv := brokertest.Run(t, bo)
	m := newTestMonitor(t, Options{MetricsURLs: []string{srv.MetricsAddr()}, MetricsInterval: scrapeInterval})
	return srv, m, connectTo(t, srv)
}

func connectTo(t *testing.T, srv *broker.Server) *client.Client {
	t.Helper()
	c, err := client.Connect(ctxT(t), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// receiveAcked receives n messages from cons, acknowledging each (a reliable subscription's dispatch window
// holds the rest until then).
func receiveAcked(t *testing.T, cons *client.Consumer, n int) {
	t.Helper()
	for i := range n {
		msg, err := cons.Receive(ctxT(t))
		if err != nil {
			t.Fatalf("after %d messages: %v", i, err)
		}
		if err := msg.Ack(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
}

func topicRow(s Snapshot, topic string) (TopicRate, bool) {
	for _, r := range s.Cluster.Topics {
		if r.Topic == topic {
			return r, true
		}
	}
	return TopicRate{}, false
}

func subRow(s Snapshot, topic, sub string) (SubscriptionRate, bool) {
	for _, r := range s.Cluster.Subscriptions {
		if r.Topic == topic && r.Subscription == sub {
			return r, true
		}
	}
	return SubscriptionRate{}, false
}

// rateCheck checks, for every two consecutive scrapes the test sees, that each rate is the counter's
// increase over the window between them (a counter that went down counting from 0).
type rateCheck struct {
	t          *testing.T
	topic, sub string
	at         time.Time // LastOK of the last scrape seen
	in, out    uint64
	pairs      int // consecutive scrapes checked
	movingIn   int // of which with a rate in above 0
	movingOut  int // of which with a rate out above 0
}

func (r *rateCheck) observe(s Snapshot) {
	r.t.Helper()
	if len(s.Cluster.Sources) == 0 || s.Cluster.Sources[0].Status != SourceUp {
		return
	}
	at := s.Cluster.Sources[0].LastOK
	tr, ok1 := topicRow(s, r.topic)
	sr, ok2 := subRow(s, r.topic, r.sub)
	if !ok1 || !ok2 || at.Equal(r.at) {
		return
	}
	if tr.MsgsInPerSec < 0 || sr.MsgsOutPerSec < 0 {
		r.t.Fatalf("negative rate: %+v %+v", tr, sr)
	}
	if !r.at.IsZero() && at.Sub(r.at) == tr.Window {
		delta := func(prev, cur uint64) float64 {
			if cur < prev {
				return float64(cur)
			}
			return float64(cur - prev)
		}
		w := tr.Window.Seconds()
		if math.Abs(tr.MsgsInPerSec*w-delta(r.in, tr.MsgsIn)) > 1e-6 || math.Abs(sr.MsgsOutPerSec*w-delta(r.out, sr.MsgsOut)) > 1e-6 ||
			math.Abs(tr.MsgsOutPerSec-sr.MsgsOutPerSec) > 1e-9 {
			r.t.Fatalf("rates over %v from in %d out %d: topic %+v subscription %+v", tr.Window, r.in, r.out, tr, sr)
		}
		r.pairs++
		if tr.MsgsInPerSec > 0 {
			r.movingIn++
		}
		if sr.MsgsOutPerSec > 0 {
			r.movingOut++
		}
	}
	r.at, r.in, r.out = at, tr.MsgsIn, sr.MsgsOut
}

// waitScrape waits until the monitor has a scrape that ended after now, observing every snapshot.
func waitScrape(t *testing.T, m *Monitor, rc *rateCheck) Snapshot {
	t.Helper()
	after := time.Now()
	var s Snapshot
	testenv.Eventually(t, 15*time.Second, func() bool {
		s = m.Snapshot()
		if rc != nil {
			rc.observe(s)
		}
		return len(s.Cluster.Sources) > 0 && s.Cluster.Sources[0].LastTry.After(after)
	}, "a scrape after %v", after)
	return s
}

// TestScrapeBrokerRates publishes and consumes in rounds, one scrape at least between rounds: the topic's
// and subscription's rates are the counters' deltas, the totals are what was sent, and the rates fall to
// 0 once the traffic stops.
func TestScrapeBrokerRates(t *testing.T) {
	_, m, c := startScraped(t, broker.Options{FailurePolicy: quickPolicy})
	const topic, rounds, per, size = "/default/scraped", 5, 40, 100
	p, err := c.NewProducer(ctxT(t), client.ProducerConfig{Topic: topic, Name: "p", Dispatch: client.Reliable})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	cons, err := c.Subscribe(ctxT(t), client.ConsumerConfig{Topic: topic, Subscription: "s", Name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cons.Close(context.Background()) })

	rc := &rateCheck{t: t, topic: topic, sub: "s"}
	payload := []byte(strings.Repeat("x", size))
	for range rounds {
		// Every message is followed by a look at the snapshot, so that no scrape goes unseen.
		for range per {
			if _, err := p.Send(ctxT(t), payload); err != nil {
				t.Fatal(err)
			}
			rc.observe(m.Snapshot())
		}
		for range per {
			receiveAcked(t, cons, 1)
			rc.observe(m.Snapshot())
		}
		waitScrape(t, m, rc)
	}
	s := eventually(t, m, "the totals and rates settle", func(s Snapshot) bool {
		rc.observe(s)
		tr, ok := topicRow(s, topic)
		return ok && tr.MsgsIn == rounds*per && tr.Window > 0 && tr.MsgsInPerSec == 0 && tr.MsgsOutPerSec == 0
	})
	if rc.pairs < rounds || rc.movingIn == 0 || rc.movingOut == 0 {
		t.Fatalf("checked %d pairs of scrapes, %d with traffic in, %d out", rc.pairs, rc.movingIn, rc.movingOut)
	}
	tr, _ := topicRow(s, topic)
	sr, _ := subRow(s, topic, "s")
	if tr.BytesIn != rounds*per*size || tr.Producers != 1 || tr.Consumers != 1 || tr.Subscriptions != 1 || tr.Lag != 0 ||
		tr.PublishLatency.Count != rounds*per || tr.PublishLatency.P99 <= 0 || tr.MessageSize.P50 < size*0.98 || tr.MessageSize.P50 > size*1.02 {
		t.Fatalf("topic: %+v", tr)
	}
	if sr.MsgsOut != rounds*per || sr.BytesOut != rounds*per*size || sr.Consumers != 1 {
		t.Fatalf("subscription: %+v", sr)
	}
	if len(s.Cluster.Brokers) != 1 || s.Cluster.Brokers[0].TopicsOwned < 1 || s.Cluster.Brokers[0].ID != s.Cluster.Sources[0].Broker ||
		s.Cluster.Brokers[0].ID == "" {
		t.Fatalf("brokers: %+v sources: %+v", s.Cluster.Brokers, s.Cluster.Sources)
	}
}

// TestScrapeBrokerLag stops a subscription's consumer: the lag the metrics show grows with what is
// published meanwhile, and falls back to 0 once a consumer acknowledges it.
func TestScrapeBrokerLag(t *testing.T) {
	_, m, c := startScraped(t, broker.Options{FailurePolicy: quickPolicy})
	const topic = "/default/lagging"
	p, err := c.NewProducer(ctxT(t), client.ProducerConfig{Topic: topic, Name: "p", Dispatch: client.Reliable})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	subscribe := func() *client.Consumer {
		cons, err := c.Subscribe(ctxT(t), client.ConsumerConfig{Topic: topic, Subscription: "s", Name: "c"})
		if err != nil {
			t.Fatal(err)
		}
		return cons
	}
	send := func(n int) {
		for range n {
			if _, err := p.Send(ctxT(t), []byte("m")); err != nil {
				t.Fatal(err)
			}
		}
	}
	consume := func(cons *client.Consumer, n int) {
		receiveAcked(t, cons, n)
	}
	lagIs := func(want int64, consumers int64) {
		t.Helper()
		eventually(t, m, fmt.Sprintf("lag %d with %d consumers", want, consumers), func(s Snapshot) bool {
			sr, ok := subRow(s, topic, "s")
			tr, _ := topicRow(s, topic)
			return ok && sr.Lag == want && tr.Lag == want && sr.Consumers == consumers
		})
	}

	cons := subscribe()
	send(10)
	consume(cons, 10)
	lagIs(0, 1)
	if err := cons.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	send(10)
	lagIs(10, 0)
	send(20)
	lagIs(30, 0)

	cons = subscribe()
	t.Cleanup(func() { cons.Close(context.Background()) })
	consume(cons, 30)
	lagIs(0, 1)
}

// TestScrapeBrokerDiesAndRestarts shuts the broker down: its source goes to failing with the reason, its
// rows go, Snapshot never waits. A new broker on the same metrics address starts its counters from 0: the
// first rates after it are counted from 0, never negative.
func TestScrapeBrokerDiesAndRestarts(t *testing.T) {
	srv, m, c := startScraped(t, broker.Options{})
	const topic = "/default/restarted"
	sendOn := func(c *client.Client, n int) {
		p, err := c.NewProducer(ctxT(t), client.ProducerConfig{Topic: topic, Name: "p"})
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
	sendOn(c, 50)
	eventually(t, m, "the first broker's counter", func(s Snapshot) bool {
		tr, ok := topicRow(s, topic)
		return ok && tr.MsgsIn == 50
	})
	addr := srv.MetricsAddr()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	s := eventually(t, m, "the source fails", func(s Snapshot) bool { return s.Cluster.Sources[0].Status == SourceFailing })
	if !strings.Contains(s.Cluster.Sources[0].Err, "connection refused") || len(s.Cluster.Topics) != 0 || len(s.Cluster.Brokers) != 0 {
		t.Fatalf("after the broker stopped: %+v", s.Cluster)
	}

	srv2 := brokertest.Run(t, broker.Options{MetricsAddr: addr})
	sendOn(connectTo(t, srv2), 5)
	s = eventually(t, m, "the new broker's counter", func(s Snapshot) bool {
		tr, ok := topicRow(s, topic)
		return ok && tr.MsgsIn == 5 && s.Cluster.Sources[0].Status == SourceUp
	})
	tr, _ := topicRow(s, topic)
	if tr.MsgsInPerSec < 0 || tr.Window <= 0 {
		t.Fatalf("after the restart: %+v", tr)
	}
}
