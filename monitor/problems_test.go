package monitor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/testenv"
)

func problemLines(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%d %d %s|%s|%s: %s\n", p.Severity, p.Kind, p.Broker, p.Topic, p.Subscription, p.Detail)
	}
	return b.String()
}

// TestProblemsRanking builds a cluster with one of every problem (and figures just under the thresholds):
// they come most severe first, then by kind, then by score, each with its numbers.
func TestProblemsRanking(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := &Cluster{
		Sources: []SourceState{
			{Kind: "metrics", URL: "http://b1:9040/metrics", Status: SourceUp, Broker: "1"},
			{Kind: "metrics", URL: "http://b2:9040/metrics", Status: SourceFailing, Err: "connection refused", Broker: "2",
				LastOK: now.Add(-45 * time.Second), LastTry: now},
			{Kind: "metrics", URL: "http://b3:9040/metrics", Status: SourceFailing, Err: "HTTP 500"},
			{Kind: "prometheus", URL: "http://prom:9090", Status: SourceFailing, Err: "deadline exceeded"},
		},
		Admin: AdminView{
			Brokers: []BrokerInfo{{ID: "1"}, {ID: "2"}, {ID: "3", MetricsAddr: "b3:9040"}},
			Balance: &Balance{CV: 0.42, Mean: 10, Min: 4, Max: 18, BrokerCount: 3, Brokers: []BrokerLoad{{BrokerID: "1", Load: 18, Overloaded: true}}},
		},
		Brokers: []BrokerMetrics{{ID: "1", AuthzDeniesPerSec: 2.5, RPCPerSec: 120}},
		Topics: []TopicRate{
			{Broker: "1", Topic: "/default/schema", SchemaFailuresPerSec: 12.5, MsgsInPerSec: 30, ProducerErrorsPerSec: 12.5},
			{Broker: "1", Topic: "/default/fine", MsgsInPerSec: 1000},
		},
		Subscriptions: []SubscriptionRate{
			{Broker: "1", Topic: "/default/blocked", Subscription: "s", TerminalBlocked: 2, Lag: 7, Consumers: 1},
			{Broker: "1", Topic: "/default/growing", Subscription: "s", Lag: 12400, LagGrowingFrom: 9300, LagGrowingSince: now.Add(-70 * time.Second)},
			{Broker: "1", Topic: "/default/young", Subscription: "s", Lag: 500, LagGrowingFrom: 100, LagGrowingSince: now.Add(-30 * time.Second), Consumers: 3},
			{Broker: "1", Topic: "/default/idle", Subscription: "small", Lag: 5},
			{Broker: "1", Topic: "/default/idle", Subscription: "big", Lag: 5000},
			{Broker: "1", Topic: "/default/dlq", Subscription: "s", Consumers: 1, DLQPerSec: 1.5, RetryExhaustedPerSec: 1.5},
			{Broker: "1", Topic: "/default/storm", Subscription: "s", Consumers: 1, RedeliveriesPerSec: 25, AckTimeoutsPerSec: 5, NacksPerSec: 20,
				MsgsOutPerSec: 100, PendingRedelivery: 1200},
			{Broker: "1", Topic: "/default/busy", Subscription: "s", Consumers: 1, RedeliveriesPerSec: 30, MsgsOutPerSec: 1000},
			{Broker: "1", Topic: "/default/few", Subscription: "s", Consumers: 1, RedeliveriesPerSec: 9, MsgsOutPerSec: 9},
		},
	}
	var r problemRanker
	got := problemLines(r.rank(c, [2]uint64{1, 1}, now))
	want := `2 1 2||: metrics endpoint http://b2:9040/metrics failing for 45s: connection refused
2 1 3||: metrics endpoint http://b3:9040/metrics failing: HTTP 500
2 3 1|/default/blocked|s: 2 messages held by the block poison policy, lag 7, 1 consumer
1 2 ||: prometheus source http://prom:9090 failing: deadline exceeded
1 4 1|/default/growing|s: lag 12,400 (+3,100 in 1m10s), 0 consumers
1 5 1|/default/growing|s: lag 12,400, 0 consumers
1 5 1|/default/idle|big: lag 5,000, 0 consumers
1 5 1|/default/idle|small: lag 5, 0 consumers
1 6 1|/default/dlq|s: 1.5 msg/s to the dead-letter topic (1.5/s exhausted their retries)
1 7 1|/default/storm|s: 25 redeliveries/s, 5 ack timeouts/s, 20 nacks/s, of 100 msg/s dispatched; pending 1,200
1 8 1|/default/schema|: 12.5 publishes/s fail schema validation (30/s accepted, 12.5/s send errors)
1 9 1||: 2.5 requests/s denied (of 120 rpc/s)
0 10 1||: load CV 0.42 (above 0.3 is unbalanced), loads 4.0 to 18.0 (mean 10.0) over 3 brokers, overloaded: 1
`
	if got != want {
		t.Fatalf("problems:\n%s\nwant:\n%s", got, want)
	}
}

// TestProblemsSinceAndCache: a problem keeps the time it was first seen while it lasts; the problems are
// computed again only when a source's data changed; a broker that leaves ListBrokers is down.
func TestProblemsSinceAndCache(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	idle := func(lag int64) *Cluster {
		return &Cluster{
			Admin:         AdminView{Brokers: []BrokerInfo{{ID: "1"}, {ID: "2"}}},
			Subscriptions: []SubscriptionRate{{Broker: "1", Topic: "/default/a", Subscription: "s", Lag: lag}},
		}
	}
	var r problemRanker
	ps := r.rank(idle(10), [2]uint64{1, 0}, t0)
	if len(ps) != 1 || !ps[0].Since.Equal(t0) || ps[0].Detail != "lag 10, 0 consumers" {
		t.Fatalf("first: %+v", ps)
	}
	// Nothing changed in the sources (same generations, sources and admin view): the cached problems, even
	// for other rows (which a source could not have changed without a new generation).
	if ps = r.rank(idle(0), [2]uint64{1, 0}, t0.Add(time.Second)); len(ps) != 1 || ps[0].Detail != "lag 10, 0 consumers" {
		t.Fatalf("not cached: %+v", ps)
	}
	ps[0].Detail = "changed by the caller"
	if ps = r.rank(idle(10), [2]uint64{1, 0}, t0); ps[0].Detail != "lag 10, 0 consumers" {
		t.Fatalf("the caller changed the cache: %+v", ps)
	}
	// A new scrape: the same problem with new numbers keeps its Since.
	ps = r.rank(idle(20), [2]uint64{2, 0}, t0.Add(5*time.Second))
	if len(ps) != 1 || !ps[0].Since.Equal(t0) || ps[0].Detail != "lag 20, 0 consumers" {
		t.Fatalf("second: %+v", ps)
	}
	// Gone, then back: a new Since.
	if ps = r.rank(idle(0), [2]uint64{3, 0}, t0.Add(10*time.Second)); len(ps) != 0 {
		t.Fatalf("gone: %+v", ps)
	}
	if ps = r.rank(idle(3), [2]uint64{4, 0}, t0.Add(15*time.Second)); len(ps) != 1 || !ps[0].Since.Equal(t0.Add(15*time.Second)) {
		t.Fatalf("back: %+v", ps)
	}
	// Broker 2 leaves ListBrokers: a change of the admin view alone recomputes.
	c := idle(3)
	c.Admin.Brokers = c.Admin.Brokers[:1]
	ps = r.rank(c, [2]uint64{4, 0}, t0.Add(20*time.Second))
	if len(ps) != 2 || ps[0].Kind != ProblemBrokerDown || ps[0].Broker != "2" ||
		ps[0].Detail != "no longer in ListBrokers (last listed 5s ago: its registration expired)" || ps[1].Kind != ProblemNoConsumers {
		t.Fatalf("broker gone: %+v", ps)
	}
	if ps = r.rank(c, [2]uint64{5, 0}, t0.Add(15*time.Second+brokerGoneFor+time.Second)); len(ps) != 1 || ps[0].Kind != ProblemNoConsumers {
		t.Fatalf("long gone: %+v", ps)
	}
}

func TestThousandsAndPerSec(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 12400: "12,400", -3100: "-3,100", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
	for v, want := range map[float64]string{0: "0", 0.04: "0.04", 0.25: "0.3", 9.96: "10", 12.5: "12.5", 25: "25", 1234.4: "1,234"} {
		if got := perSec(v); got != want {
			t.Errorf("perSec(%v) = %q, want %q", v, got, want)
		}
	}
}

// TestProblemsBroker runs a real broker whose reliable subscriptions block a message after one redelivery:
// nacked twice, a message is held (terminal-blocked, its retries exhausted); once the consumer is closed
// with messages published after it, the subscription has lag and no consumer. The problems say so, most
// severe first, from the scraped metrics alone.
func TestProblemsBroker(t *testing.T) {
	block := broker.FailurePolicy{MaxRedeliveryCount: 1, AckTimeout: 30 * time.Second, Backoff: broker.BackoffFixed, Poison: broker.PoisonBlock}
	srv := brokertest.Run(t, broker.Options{FailurePolicy: block, MetricsAddr: "127.0.0.1:0"})
	// A generous timeout: on a loaded machine a scrape that fails would leave the rates' window unseen.
	m := newTestMonitor(t, Options{MetricsURLs: []string{srv.MetricsAddr()}, MetricsInterval: scrapeInterval, MetricsTimeout: 10 * time.Second})
	c := connectTo(t, srv)
	const topic = "/default/troubled"
	p, err := c.NewProducer(ctxT(t), client.ProducerConfig{Topic: topic, Name: "p", Dispatch: client.Reliable})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	cons, err := c.Subscribe(ctxT(t), client.ConsumerConfig{Topic: topic, Subscription: "s", Name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, m, "the subscription scraped", func(s Snapshot) bool { // before its counters grow
		_, ok := subRow(s, topic, "s")
		return ok
	})
	if _, err := p.Send(ctxT(t), []byte("poison")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		msg, err := cons.Receive(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := cons.Nack(ctxT(t), msg, 0, "cannot process"); err != nil {
			t.Fatal(err)
		}
	}
	exhausted := false
	var sr SubscriptionRate
	testenv.Eventually(t, 15*time.Second, func() bool {
		var ok bool
		sr, ok = subRow(m.Snapshot(), topic, "s")
		exhausted = exhausted || sr.RetryExhaustedPerSec > 0
		return ok && sr.TerminalBlocked == 1 && exhausted
	}, "the message is blocked (last: %+v)", &sr)
	if err := cons.Close(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := p.Send(ctxT(t), []byte("more")); err != nil {
			t.Fatal(err)
		}
	}
	s := eventually(t, m, "the blocked subscription without consumers", func(s Snapshot) bool {
		ps := s.Cluster.Problems
		return len(ps) == 2 && ps[0].Kind == ProblemTerminalBlocked && ps[1].Kind == ProblemNoConsumers && ps[1].Detail == "lag 6, 0 consumers"
	})
	ps := s.Cluster.Problems
	sr, _ = subRow(s, topic, "s")
	if ps[0].Severity != SeverityCritical || ps[0].Topic != topic || ps[0].Subscription != "s" || ps[0].Broker != s.Cluster.Brokers[0].ID ||
		ps[0].Since.IsZero() || ps[0].Detail != "1 message held by the block poison policy, lag 6, 0 consumers" || sr.Lag != 6 {
		t.Fatalf("problems: %s (subscription %+v)", problemLines(ps), sr)
	}
}

// TestProblemsPrometheusBrokerMissing: with the rows from a Prometheus server, a broker ListBrokers gives
// that has no series there is down; with a metrics endpoint scraped, the endpoints say it instead.
func TestProblemsPrometheusBrokerMissing(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c := &Cluster{
		Sources: []SourceState{{Kind: "prometheus", URL: "http://prom:9090", Status: SourceUp}},
		Brokers: []BrokerMetrics{{ID: "1"}},
		Admin:   AdminView{Brokers: []BrokerInfo{{ID: "1"}, {ID: "2"}}},
	}
	var r problemRanker
	ps := r.rank(c, [2]uint64{0, 1}, now)
	if len(ps) != 1 || ps[0].Kind != ProblemBrokerDown || ps[0].Broker != "2" || !strings.Contains(ps[0].Detail, "no series") {
		t.Fatalf("problems: %s", problemLines(ps))
	}
	c.Sources = append([]SourceState{{Kind: "metrics", URL: "http://b1:9040/metrics", Status: SourceUp}}, c.Sources...)
	if ps = r.rank(c, [2]uint64{1, 1}, now); len(ps) != 0 {
		t.Fatalf("with an endpoint scraped: %s", problemLines(ps))
	}
}
