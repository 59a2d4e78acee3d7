package broker_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/store/disk"
	"github.com/danube-console/danube-console/internal/testenv"
)

// promCheck is one PromQL query of the official admin UI (spec §6.3) and what it must return here.
type promCheck struct {
	query string
	check func(model.Value) error
}

// single returns the value of a one-element vector.
func single(v model.Value) (float64, error) {
	vec, ok := v.(model.Vector)
	if !ok || len(vec) != 1 {
		return 0, fmt.Errorf("want one sample, got %v", v)
	}
	return float64(vec[0].Value), nil
}

func equals(want float64) func(model.Value) error {
	return func(v model.Value) error {
		got, err := single(v)
		if err == nil && got != want {
			err = fmt.Errorf("= %v, want %v", got, want)
		}
		return err
	}
}

func positive(v model.Value) error {
	got, err := single(v)
	if err == nil && !(got > 0) {
		err = fmt.Errorf("= %v, want > 0", got)
	}
	return err
}

func empty(v model.Value) error {
	if vec, ok := v.(model.Vector); !ok || len(vec) != 0 {
		return fmt.Errorf("want no data, got %v", v)
	}
	return nil
}

// byLabel checks that the unaggregated vector has the value want for the sample whose label is value.
func byLabel(label, value string, want float64) func(model.Value) error {
	return func(v model.Value) error {
		vec, _ := v.(model.Vector)
		for _, s := range vec {
			if string(s.Metric[model.LabelName(label)]) == value {
				if float64(s.Value) != want {
					return fmt.Errorf("%s=%q: %v, want %v", label, value, s.Value, want)
				}
				return nil
			}
		}
		return fmt.Errorf("no sample with %s=%q in %v", label, value, v)
	}
}

// TestMetricsPromQL scrapes the broker with a real Prometheus server and runs every query the official
// admin UI and its MCP tools send (spec §6.3), checking that each returns the data of a known workload.
func TestMetricsPromQL(t *testing.T) {
	// On disk, every append fsynced: the topic page's reliable section has its flushes.
	ds, err := disk.Open(t.TempDir(), disk.Options{Fsync: disk.FsyncAlways})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds.Close() }) // after the broker's shutdown
	w := newWire(t, broker.Options{MetricsAddr: "127.0.0.1:0", Policies: broker.Policies{MaxMessageSize: 100}, Store: ds})
	const topic = "/default/promql"
	p := w.mustProducer(topic, "p", true)
	s := w.receive(w.mustSubscribe(topic, "s", "c", exclusive))
	consume := func(n int) {
		for range n {
			w.ack("s", s.next(t))
		}
	}
	p.mustSend("m0", "m1", "m2")
	consume(3)
	wantStatus(t, p.send(strings.Repeat("x", 101)), codes.InvalidArgument,
		"Message size 101 exceeds maximum allowed 100 for topic "+topic)

	prom := testenv.NewPrometheus(t, w.srv.MetricsAddr())
	query := func(q string) (model.Value, error) { return prom.Query(ctx(t), q) }
	waitQuery := func(q string, check func(model.Value) error) {
		t.Helper()
		var last error
		testenv.Eventually(t, 60*time.Second, func() bool {
			v, err := query(q)
			if err == nil {
				err = check(v)
			}
			last = err
			return err == nil
		}, "%s: %v\n%s", q, lazy(func() string { return fmt.Sprint(last) }), lazy(prom.Log))
	}
	// The first messages are scraped; three more make the rates positive.
	tq := `{topic="` + topic + `"}`
	waitQuery(`sum(danube_topic_messages_in_total`+tq+`)`, equals(3))
	p.mustSend("m3", "m4", "m5")
	consume(3)
	waitQuery(`sum(danube_consumer_messages_out_total`+tq+`)`, equals(6))
	waitQuery(`sum(danube_subscription_lag_messages`+tq+`)`, equals(0))
	waitQuery(`sum(rate(danube_topic_messages_in_total`+tq+`[1m]))`, positive)

	id := `{broker="` + brokerIDString(w.srv) + `"}`
	checks := []promCheck{
		// Cluster.
		{`count(danube_leader_election_state)`, equals(1)},
		{`sum(danube_broker_topics_owned)`, equals(2)}, // the topic and the events topic
		{`sum(danube_topic_active_producers)`, equals(1)},
		{`sum(danube_topic_active_consumers)`, equals(1)},
		{`sum(danube_topic_active_subscriptions)`, equals(1)},
		{`sum(rate(danube_topic_messages_in_total[1m]))`, positive},
		{`sum(rate(danube_consumer_messages_out_total[1m]))`, positive},
		{`sum(rate(danube_topic_bytes_in_total[1m]))`, positive},
		{`sum(rate(danube_consumer_bytes_out_total[1m]))`, positive},
		{`max(danube_cluster_imbalance_cv)`, equals(0)},
		// Broker.
		{`sum(danube_broker_rpc_total` + id + `)`, positive},
		{`danube_broker_topics_owned` + id, equals(2)},
		{`sum(danube_topic_bytes_in_total` + id + `)`, equals(12)},
		{`sum(danube_consumer_bytes_out_total` + id + `)`, equals(12)},
		{`sum(danube_topic_active_producers` + id + `)`, equals(1)},
		{`sum(danube_topic_active_consumers` + id + `)`, equals(1)},
		{`danube_topic_active_producers` + id, byLabel("topic", topic, 1)},
		{`danube_topic_active_consumers` + id, byLabel("topic", topic, 1)},
		{`danube_topic_active_subscriptions` + id, byLabel("topic", topic, 1)},
		// Topic.
		{`sum(danube_topic_messages_in_total` + tq + `)`, equals(6)},
		{`sum(danube_consumer_messages_out_total` + tq + `)`, equals(6)},
		{`sum(danube_topic_bytes_in_total` + tq + `)`, equals(12)},
		{`sum(danube_consumer_bytes_out_total` + tq + `)`, equals(12)},
		{`sum(danube_topic_active_producers` + tq + `)`, equals(1)},
		{`sum(danube_topic_active_consumers` + tq + `)`, equals(1)},
		{`sum(danube_topic_active_subscriptions` + tq + `)`, equals(1)},
		{`sum(rate(danube_topic_messages_in_total` + tq + `[1m]))`, positive},
		{`sum(rate(danube_consumer_messages_out_total` + tq + `[1m]))`, positive},
		{`sum(danube_producer_send_total{topic="` + topic + `",result="ok"})`, equals(6)},
		{`sum(danube_producer_send_total{topic="` + topic + `",result="error"})`, equals(1)},
		{`sum by (error_code) (danube_producer_send_total{topic="` + topic + `",result="error"})`, byLabel("error_code", "InvalidArgument", 1)},
		{`danube_producer_send_latency_ms{topic="` + topic + `",quantile="0.5"}`, positive},
		{`danube_producer_send_latency_ms{topic="` + topic + `",quantile="0.95"}`, positive},
		{`danube_producer_send_latency_ms{topic="` + topic + `",quantile="0.99"}`, positive},
		// The MCP tools' histogram query: always empty against the real broker too (no buckets).
		{`histogram_quantile(0.95, sum(rate(danube_producer_send_latency_ms_bucket` + tq + `[5m])) by (le))`, empty},
		{`danube_topic_message_size_bytes_sum` + tq, equals(12)},
		{`danube_topic_message_size_bytes_count` + tq, equals(6)},
		{`sum(danube_subscription_lag_messages` + tq + `)`, equals(0)},
		{`sum(danube_wal_append_total` + tq + `)`, equals(6)},
		{`sum(danube_wal_append_bytes_total` + tq + `)`, equals(12)},
		{`sum(danube_wal_flush_total` + tq + `)`, equals(6)},
		{`danube_wal_flush_latency_ms{topic="` + topic + `",quantile="0.5"}`, positive},
		{`danube_wal_flush_latency_ms{topic="` + topic + `",quantile="0.95"}`, positive},
		{`danube_wal_flush_latency_ms{topic="` + topic + `",quantile="0.99"}`, positive},
		// No tiered storage: no uploads, as on a real broker (which never emits these series).
		{`sum(danube_cloud_upload_bytes_total` + tq + `)`, empty},
		{`sum(danube_cloud_upload_objects_total{topic="` + topic + `",result="ok"})`, empty},
		{`sum by (error_code) (rate(danube_producer_send_total{topic="` + topic + `",result="error"}[5m]))`, byLabel("error_code", "InvalidArgument", 0)},
	}
	for _, c := range checks {
		v, err := query(c.query)
		if err == nil {
			err = c.check(v)
		}
		if err != nil {
			t.Errorf("%s: %v", c.query, err)
		}
	}

	// The topic page's series are range queries.
	for _, q := range []string{
		`sum(rate(danube_topic_messages_in_total` + tq + `[1m]))`,
		`sum(rate(danube_consumer_messages_out_total` + tq + `[1m]))`,
		`sum(rate(danube_topic_bytes_in_total` + tq + `[1m]))`,
		`sum(rate(danube_consumer_bytes_out_total` + tq + `[1m]))`,
	} {
		v, err := prom.QueryRange(ctx(t), q, time.Minute, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		m, ok := v.(model.Matrix)
		peak := 0.0
		if ok && len(m) == 1 {
			for _, pt := range m[0].Values {
				peak = max(peak, float64(pt.Value))
			}
		}
		if peak <= 0 {
			t.Errorf("range %s: %v", q, v)
		}
	}
}
