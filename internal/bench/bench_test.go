package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/bench"
)

// TestRunCounts runs the engine in process against an embedded broker, synchronous and asynchronous,
// reliable and not, partitioned or not, and checks its counts: every message published once, every
// published message received when there are consumers, a latency sample per message, and percentiles in
// order.
func TestRunCounts(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	c, err := client.Connect(context.Background(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for _, tc := range []struct {
		name string
		cfg  bench.Config
	}{
		{"sync", bench.Config{Producers: 1, Consumers: 1}},
		{"async-reliable", bench.Config{Producers: 2, Consumers: 2, Reliable: true, Async: true, Window: 32}},
		{"partitions", bench.Config{Producers: 2, Consumers: 1, Partitions: 3}},
		{"publish-only", bench.Config{Producers: 1, Consumers: 0, Async: true, Window: 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Topic, cfg.Size, cfg.Count = "/default/engine-"+tc.name, 32, 300
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rep, err := bench.Run(ctx, c, cfg)
			if err != nil {
				t.Fatal(err)
			}
			wantReceived := int64(0)
			if cfg.Consumers > 0 {
				wantReceived = 300
			}
			if rep.Published != 300 || rep.Failed != 0 || rep.Received != wantReceived || rep.FirstError != nil {
				t.Fatalf("published %d failed %d (%v) received %d, want 300, 0, %d", rep.Published, rep.Failed, rep.FirstError, rep.Received, wantReceived)
			}
			if rep.Delivered != wantReceived || rep.Redelivered != 0 || rep.Lag != 0 || rep.Drained != (cfg.Consumers > 0) ||
				rep.LagAtStop != max(300-rep.DeliveredAtStop, 0)*min(int64(cfg.Consumers), 1) {
				t.Fatalf("delivered %d redelivered %d lag %d (%d at stop) drained %v", rep.Delivered, rep.Redelivered, rep.Lag, rep.LagAtStop, rep.Drained)
			}
			if wantAcked := map[bool]int64{true: wantReceived}[cfg.Reliable]; rep.Acked != wantAcked || rep.AckFailed != 0 {
				t.Fatalf("acked %d (%d failed), want %d", rep.Acked, rep.AckFailed, wantAcked)
			}
			checkLatency(t, "publish", rep.Publish, 300)
			checkLatency(t, "end-to-end", rep.EndToEnd, int(wantReceived))
			if rep.Topic != cfg.Topic || rep.Size != 32 || rep.Seconds <= 0 || rep.MsgsPerSec <= 0 {
				t.Errorf("report %+v", rep)
			}
		})
	}
}

func checkLatency(t *testing.T, name string, l bench.Latency, samples int) {
	t.Helper()
	if l.Samples != samples {
		t.Errorf("%s: %d samples, want %d", name, l.Samples, samples)
	}
	if samples > 0 && !(0 < l.P50 && l.P50 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.Max) {
		t.Errorf("%s: percentiles out of order: %+v", name, l)
	}
}

// TestRunRefusesTinyPayloads: a payload must carry its send time.
func TestRunRefusesTinyPayloads(t *testing.T) {
	if _, err := bench.Run(context.Background(), nil, bench.Config{Topic: "/default/x", Producers: 1, Size: 4, Count: 1}); err == nil {
		t.Fatal("a 4-byte payload was accepted")
	}
}

// TestRunSendFailures: sends the broker refuses are counted, with the first error, not returned.
func TestRunSendFailures(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{Policies: broker.Policies{MaxMessageSize: 100}})
	c, err := client.Connect(context.Background(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rep, err := bench.Run(context.Background(), c, bench.Config{Topic: "/default/too-big", Producers: 1, Size: 101, Count: 5})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Published != 0 || rep.Failed != 5 || rep.FirstError == nil || rep.Publish.Samples != 0 {
		t.Fatalf("published %d failed %d first error %v samples %d, want 0, 5, an error, 0", rep.Published, rep.Failed, rep.FirstError, rep.Publish.Samples)
	}
}

// TestRunAgreesWithBroker: on a reliable run whose consumers drained, what the report says was received is
// what the broker's own counter says it delivered to the subscription, and the broker holds every message as
// acknowledged.
func TestRunAgreesWithBroker(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	c, err := client.Connect(context.Background(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	const topic = "/default/engine-counters"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := bench.Run(ctx, c, bench.Config{Topic: topic, Producers: 2, Consumers: 2, Size: 64, Count: 2000,
		Reliable: true, Async: true, Window: 64})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Drained || rep.Delivered != 2000 {
		t.Fatalf("delivered %d of %d, drained %v", rep.Delivered, rep.Published, rep.Drained)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(srv.Collector())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := -1.0
	for _, f := range families {
		if f.GetName() != "danube_consumer_messages_out_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["topic"] == topic && labels["subscription"] == "bench" {
				out = m.GetCounter().GetValue()
			}
		}
	}
	if out != float64(rep.Received) {
		t.Fatalf("the broker delivered %v messages to the subscription, the report says %d were received", out, rep.Received)
	}
	info, ok := srv.Topic(topic)
	if !ok || len(info.Subscriptions) != 1 || info.Subscriptions[0].Cursor != info.NextOffset {
		t.Fatalf("the broker does not hold every message acknowledged: %+v", info)
	}
	if rep.Acked < rep.Delivered || rep.AckFailed != 0 {
		t.Fatalf("acked %d (%d failed) of %d delivered", rep.Acked, rep.AckFailed, rep.Delivered)
	}
}
