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

// figuresText is a broker's metrics text with the series of the problems' figures: schema validation
// failures (two reasons), producer sends (ok and two error codes), retries exhausted (two poison policies),
// authorization denials (two resources), and a subscription's lag.
func figuresText(schemaFails, sendErrs, exhausted, denies, lag float64) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# TYPE danube_schema_validation_failures_total counter\n")
	w("danube_schema_validation_failures_total{broker=\"7\",topic=\"/default/a\",reason=\"payload_invalid\"} %v\n", schemaFails)
	w("danube_schema_validation_failures_total{broker=\"7\",topic=\"/default/a\",reason=\"missing_schema_id\"} %v\n", 2*schemaFails)
	w("# TYPE danube_producer_send_total counter\n")
	w("danube_producer_send_total{broker=\"7\",topic=\"/default/a\",result=\"ok\",error_code=\"OK\"} 1000\n")
	w("danube_producer_send_total{broker=\"7\",topic=\"/default/a\",result=\"error\",error_code=\"InvalidArgument\"} %v\n", sendErrs)
	w("danube_producer_send_total{broker=\"7\",topic=\"/default/a\",result=\"error\",error_code=\"PermissionDenied\"} %v\n", sendErrs)
	w("# TYPE danube_subscription_retry_exhausted_total counter\n")
	w("danube_subscription_retry_exhausted_total{broker=\"7\",topic=\"/default/a\",subscription=\"s\",poison_policy=\"dead_letter\"} %v\n", exhausted)
	w("danube_subscription_retry_exhausted_total{broker=\"7\",topic=\"/default/a\",subscription=\"s\",poison_policy=\"drop\"} 1\n")
	w("# TYPE danube_authz_deny_total counter\n")
	w("danube_authz_deny_total{broker=\"7\",resource=\"topic\",permission=\"produce\"} %v\n", denies)
	w("danube_authz_deny_total{broker=\"7\",resource=\"namespace\",permission=\"lookup\"} 3\n")
	w("# TYPE danube_subscription_lag_messages gauge\n")
	w("danube_subscription_lag_messages{broker=\"7\",topic=\"/default/a\",subscription=\"s\"} %v\n", lag)
	return b.String()
}

// TestScrapeProblemFigures drives polls by hand: the rates of the new counters sum their labels, and the
// lag's growth is followed from scrape to scrape (since the scrape before the first growth, reset when the
// lag stops growing).
func TestScrapeProblemFigures(t *testing.T) {
	srv, body := textServer(t)
	clk := newFakeClock()
	s := newScraper([]string{srv.URL}, false, time.Second, time.Second, clk.Now)
	t.Cleanup(s.hc.CloseIdleConnections)
	poll := func(text string) Cluster {
		t.Helper()
		body.Store(&text)
		s.poll(t.Context(), s.eps[0])
		c, _ := s.cluster()
		if len(c.Subscriptions) != 1 || len(c.Topics) != 1 || len(c.Brokers) != 1 {
			t.Fatalf("rows: %+v", c)
		}
		return c
	}
	t0 := clk.Now()
	c := poll(figuresText(10, 5, 4, 2, 100))
	if sr := c.Subscriptions[0]; !sr.LagGrowingSince.IsZero() || sr.RetryExhaustedPerSec != 0 {
		t.Fatalf("first scrape: %+v", sr)
	}

	clk.Advance(2 * time.Second)
	c = poll(figuresText(20, 9, 10, 6, 150))
	tr, sr, br := c.Topics[0], c.Subscriptions[0], c.Brokers[0]
	if tr.SchemaFailuresPerSec != 15 || tr.ProducerErrorsPerSec != 4 || sr.RetryExhaustedPerSec != 3 || br.AuthzDeniesPerSec != 2 {
		t.Fatalf("rates: topic %+v subscription %+v broker %+v", tr, sr, br)
	}
	if !sr.LagGrowingSince.Equal(t0) || sr.LagGrowingFrom != 100 || sr.Lag != 150 {
		t.Fatalf("growth after one growing scrape: %+v", sr)
	}

	clk.Advance(2 * time.Second)
	c = poll(figuresText(20, 9, 10, 6, 400))
	if sr = c.Subscriptions[0]; !sr.LagGrowingSince.Equal(t0) || sr.LagGrowingFrom != 100 || c.Topics[0].SchemaFailuresPerSec != 0 {
		t.Fatalf("growth after two growing scrapes: %+v", sr)
	}

	clk.Advance(2 * time.Second)
	t3 := clk.Now()
	if sr = poll(figuresText(20, 9, 10, 6, 400)).Subscriptions[0]; !sr.LagGrowingSince.IsZero() || sr.LagGrowingFrom != 0 {
		t.Fatalf("a scrape without growth: %+v", sr)
	}
	clk.Advance(2 * time.Second)
	if sr = poll(figuresText(20, 9, 10, 6, 401)).Subscriptions[0]; !sr.LagGrowingSince.Equal(t3) || sr.LagGrowingFrom != 400 {
		t.Fatalf("growing again: %+v", sr)
	}
	// A failed scrape in between: the growth is measured against the last good one.
	clk.Advance(2 * time.Second)
	body.Store(new("not the text format {"))
	s.poll(t.Context(), s.eps[0])
	clk.Advance(2 * time.Second)
	if sr = poll(figuresText(20, 9, 10, 6, 500)).Subscriptions[0]; !sr.LagGrowingSince.Equal(t3) || sr.LagGrowingFrom != 400 {
		t.Fatalf("after a failed scrape: %+v", sr)
	}
}

// TestScrapeBrokerErrorFigures runs a broker with authentication and a message size limit: a message too
// big is a producer error of its topic, a principal without bindings is denied; the scraped rates show
// both, and the problems name the denials.
func TestScrapeBrokerErrorFigures(t *testing.T) {
	secret := []byte("a secret of the test, long enough for HS256")
	srv := brokertest.Run(t, broker.Options{MetricsAddr: "127.0.0.1:0", JWTSecret: secret, SuperAdmins: []string{"root"},
		Policies: broker.Policies{MaxMessageSize: 16}})
	m := newTestMonitor(t, Options{MetricsURLs: []string{srv.MetricsAddr()}, MetricsInterval: scrapeInterval, MetricsTimeout: 10 * time.Second})
	connectAs := func(who string) *client.Client {
		tok, err := broker.NewToken(secret, who, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.Connect(ctxT(t), srv.URL(), client.WithToken(tok))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	const topic = "/default/limited"
	p, err := connectAs("root").NewProducer(ctxT(t), client.ProducerConfig{Topic: topic, Name: "p"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	if _, err := p.Send(ctxT(t), []byte("small")); err != nil {
		t.Fatal(err)
	}
	eventually(t, m, "the topic scraped", func(s Snapshot) bool { // before its counters grow
		tr, ok := topicRow(s, topic)
		return ok && tr.MsgsIn == 1 && len(s.Cluster.Brokers) == 1
	})
	if _, err := p.Send(ctxT(t), []byte(strings.Repeat("x", 100))); err == nil {
		t.Fatal("a message over the size limit was accepted")
	}
	carol := connectAs("carol")
	if _, err := carol.NewProducer(ctxT(t), client.ProducerConfig{Topic: topic, Name: "carol"}); err == nil {
		t.Fatal("a principal without bindings was let produce")
	}
	var errs, denies bool
	var authz []Problem
	testenv.Eventually(t, 15*time.Second, func() bool {
		s := m.Snapshot()
		tr, _ := topicRow(s, topic)
		errs = errs || tr.ProducerErrorsPerSec > 0
		denies = denies || (len(s.Cluster.Brokers) == 1 && s.Cluster.Brokers[0].AuthzDeniesPerSec > 0)
		for _, p := range s.Cluster.Problems {
			if p.Kind == ProblemAuthzDenials && strings.Contains(p.Detail, "requests/s denied") {
				authz = append(authz, p)
			}
		}
		return errs && denies && len(authz) > 0
	}, "the producer errors (%v), the denials (%v) and their problem", &errs, &denies)
}
