package tuitest

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/danube-console/danube-console/monitor"
)

// This file holds the ready-made data sets: the scripted console (Scripted), a manual-ack tap (Manual)
// and a big one for benchmarks (Big), at the fixed clock Epoch.

// series returns n deterministic values around base, shaped by seed.
func series(n int, base float64, seed int) []float64 {
	s := make([]float64, n)
	for i := range s {
		x := float64(i+seed*7) / 9
		s[i] = math.Round(base * (1 + 0.5*math.Sin(x) + 0.25*math.Sin(x*2.3+float64(seed))))
		if s[i] < 0 {
			s[i] = 0
		}
	}
	return s
}

// payloads are the sample payloads of the scripted streams: JSON, text with control characters, binary,
// non-ASCII text and a long line.
var payloads = [][]byte{
	[]byte(`{"order_id":1001,"customer":"ada","total":42.5,"items":["book","pen"]}`),
	[]byte("line one\nline two\ttabbed\r\n"),
	{0x00, 0x01, 0x02, 0xff, 0xfe, 'a', 'b', 0x1b, '[', '3', '1', 'm', 0x7f},
	[]byte("température 21.5°C — capteur nº 7 ✓"),
	[]byte(strings.Repeat("lorem ipsum dolor sit amet ", 40)),
	[]byte(`{"sensor":"t-17","reading":19.25,"ok":true,"tags":null}`),
}

// Messages returns n deterministic messages of a stream, the last one received at end.
func Messages(topic, sub, consumer string, n int, end time.Time) []monitor.Message {
	msgs := make([]monitor.Message, n)
	for i := range msgs {
		at := end.Add(-time.Duration(n-1-i) * 137 * time.Millisecond)
		part := i % 3
		msgs[i] = monitor.Message{
			Seq:          uint64(i + 1),
			ReceivedAt:   at,
			PublishTime:  at.Add(-3 * time.Millisecond),
			Topic:        fmt.Sprintf("%s-part-%d", topic, part),
			Offset:       uint64(5000 + i/3),
			ProducerID:   7,
			ProducerName: "p-" + consumer,
			BrokerAddr:   "127.0.0.1:6650",
			Subscription: sub,
			Consumer:     consumer,
			Key:          fmt.Sprintf("key-%d", i%17),
			HasKey:       i%4 != 3,
			Payload:      payloads[i%len(payloads)],
			Redelivered:  i%11 == 10,
		}
		if i%2 == 0 {
			msgs[i].Attributes = map[string]string{"trace-id": fmt.Sprintf("t-%04d", i), "content-type": "application/json"}
		}
		if p := i % len(payloads); p == 0 || p == 5 {
			msgs[i].SchemaID, msgs[i].SchemaVersion = 3, 2
		}
	}
	return msgs
}

// ManualStream is the stream of the manual-ack tap of Manual.
var ManualStream = monitor.StreamID("/default/payments", "console-1", "tap-1")

// ManualMessages returns n messages of a manual-ack tap received every 700ms up to end, each due for
// redelivery timeout after it was received: every seventh (from the fourth) acked, every ninth (from the
// sixth) nacked, the others pending.
func ManualMessages(topic, sub, consumer string, n int, end time.Time, timeout time.Duration) []monitor.Message {
	msgs := Messages(topic, sub, consumer, n, end)
	for i := range msgs {
		m := &msgs[i]
		m.ReceivedAt = end.Add(-time.Duration(n-1-i) * 700 * time.Millisecond)
		m.PublishTime = m.ReceivedAt.Add(-2 * time.Millisecond)
		m.Topic = topic
		m.Offset = uint64(700 + i)
		m.Redelivered = false
		m.State = monitor.StatePending
		m.AckDeadline = m.ReceivedAt.Add(timeout)
		switch {
		case i%7 == 3:
			m.State = monitor.StateAcked
		case i%9 == 5:
			m.State = monitor.StateNacked
		}
	}
	return msgs
}

// Manual returns Scripted with a manual-ack tap: "tap-1" on /default/payments, subscription "console-1",
// ack timeout 30s, 40 messages (ManualMessages, the newest received a second before Epoch).
func Manual() *Fake {
	f := Scripted()
	msgs := ManualMessages("/default/payments", "console-1", "tap-1", 40, Epoch.Add(-time.Second), 30*time.Second)
	pending := 0
	for _, m := range msgs {
		if m.State == monitor.StatePending {
			pending++
		}
	}
	f.Update(func(s *monitor.Snapshot) {
		c := monitor.ConsumerStats{Stream: ManualStream, Name: "tap-1", Topic: "/default/payments", Subscription: "console-1",
			Type: monitor.SubscriptionShared, ID: 21, State: monitor.ConsumerSubscribed, AdHoc: true, Received: 40, Rate: 1.4, Series: series(60, 1, 13),
			ManualAck: true, Pending: pending, AckTimeout: 30 * time.Second}
		i := slices.IndexFunc(s.Consumers, func(x monitor.ConsumerStats) bool { return x.Topic > c.Topic })
		s.Consumers = slices.Insert(s.Consumers, i, c)
		// Its subscription's figures: pending is its consumer's, every delivery is received.
		ss := monitor.SubscriptionStats{Topic: c.Topic, Subscription: c.Subscription, Received: 40, Pending: int64(pending)}
		j := slices.IndexFunc(s.Subscriptions, func(x monitor.SubscriptionStats) bool { return x.Topic > c.Topic })
		s.Subscriptions = slices.Insert(s.Subscriptions, j, ss)
	})
	f.SetStream(ManualStream, msgs, 40)
	return f
}

// Scripted returns a Fake with a small, representative data set at Epoch: two namespaces, six topics,
// producers, consumers with message rings, subscriptions, health checks, connections, four connectors in
// different states and a few lookups.
func Scripted() *Fake {
	now := Epoch
	lat := func(p50, p99 time.Duration) monitor.Latency {
		return monitor.Latency{Count: 1000, P50: p50, P99: p99, Max: p99 * 2}
	}
	s := monitor.Snapshot{
		Time:       now,
		ServiceURL: "http://127.0.0.1:6650",
		AdminURL:   "http://127.0.0.1:50051",
		Embedded:   true,
		Reachable:  true,
		Namespaces: []string{"default", "iot"},
		Topics: []monitor.TopicStats{
			{Name: "/default/audit", Namespace: "default", Reliable: true, BrokerID: "b1", Subscriptions: []string{"archiver"}},
			{Name: "/default/orders", Namespace: "default", Reliable: true, BrokerID: "b1", Subscriptions: []string{"billing", "shipping"}, Partitions: 3, SchemaSubject: "orders-value"},
			{Name: "/default/payments", Namespace: "default", BrokerID: "b1", Subscriptions: []string{"ledger"}},
			{Name: "/iot/alerts", Namespace: "iot", BrokerID: "b1"},
			{Name: "/iot/sensors", Namespace: "iot", BrokerID: "b1", Subscriptions: []string{"dashboard", "pg-sink"}, Partitions: 2},
			{Name: "/iot/weird\x1b[31mname", Namespace: "iot", BrokerID: "b1"},
		},
		Producers: []monitor.ProducerStats{
			{Name: "audit-writer", Topic: "/default/audit", ID: 1, State: monitor.ProducerCreated, Msgs: 1204, Bytes: 240800, MsgRate: 2, ByteRate: 400, Series: series(120, 2, 1), Publish: lat(640*time.Microsecond, 2100*time.Microsecond)},
			{Name: "order-gen", Topic: "/default/orders-part-0", ID: 2, State: monitor.ProducerCreated, AdHoc: true, Msgs: 482113, Bytes: 91_600_000, MsgRate: 1250, ByteRate: 237_500, Series: series(300, 1250, 2), Publish: lat(850*time.Microsecond, 12*time.Millisecond)},
			{Name: "order-gen", Topic: "/default/orders-part-1", ID: 3, State: monitor.ProducerRecreated, Msgs: 481990, Bytes: 91_500_000, MsgRate: 1190, ByteRate: 226_100, Series: series(300, 1190, 3), Publish: lat(910*time.Microsecond, 14*time.Millisecond), Errors: 3, LastError: "send: broker unavailable (retrying)"},
			{Name: "pay-svc", Topic: "/default/payments", ID: 4, State: monitor.ProducerFailed, Msgs: 77, Bytes: 15400, Errors: 12, Series: series(60, 1, 4), LastError: "producer closed by broker: topic policy violation"},
			{Name: "mqtt-bridge", Topic: "/iot/sensors-part-0", ID: 5, State: monitor.ProducerCreated, Msgs: 9_876_543, Bytes: 1_234_000_000, MsgRate: 23456, ByteRate: 3_400_000, Series: series(300, 23456, 5), Publish: lat(420*time.Microsecond, 3*time.Millisecond)},
		},
		Consumers: []monitor.ConsumerStats{
			{Stream: "s-archiver", Name: "archiver-1", Topic: "/default/audit", Subscription: "archiver", Type: monitor.SubscriptionExclusive, ID: 11, State: monitor.ConsumerSubscribed, Received: 1200, Bytes: 240000, Rate: 2, Series: series(120, 2, 6), EndToEnd: lat(1200*time.Microsecond, 4*time.Millisecond)},
			{Stream: "s-billing", Name: "billing-1", Topic: "/default/orders", Subscription: "billing", Type: monitor.SubscriptionShared, ID: 12, State: monitor.ConsumerSubscribed, Received: 964000, Bytes: 183_000_000, Rate: 2440, Series: series(300, 2440, 7), EndToEnd: lat(2*time.Millisecond, 18*time.Millisecond), Redelivery: lat(1200*time.Millisecond, 31*time.Second), Pending: 42},
			{Stream: "s-shipping", Name: "shipping-1", Topic: "/default/orders", Subscription: "shipping", Type: monitor.SubscriptionKeyShared, ID: 13, State: monitor.ConsumerResubscribed, Received: 963100, Bytes: 182_900_000, Rate: 2390, Series: series(300, 2390, 8), EndToEnd: lat(2100*time.Microsecond, 25*time.Millisecond), Pending: 1100, LastError: "stream reset; resubscribed"},
			{Stream: "s-dashboard", Name: "dash", Topic: "/iot/sensors", Subscription: "dashboard", Type: monitor.SubscriptionFailover, ID: 14, State: monitor.ConsumerSubscribed, Received: 9_870_000, Bytes: 1_233_000_000, Rate: 23400, Series: series(300, 23400, 9), EndToEnd: lat(700*time.Microsecond, 6*time.Millisecond)},
		},
		Subscriptions: []monitor.SubscriptionStats{
			{Topic: "/default/audit", Subscription: "archiver", Received: 1200, Acked: 1200, AckLatency: lat(300*time.Microsecond, 900*time.Microsecond)},
			{Topic: "/default/orders", Subscription: "billing", Received: 964000, Acked: 963950, Pending: 42, Nacked: 8, Redelivered: 8, AckLatency: lat(450*time.Microsecond, 3*time.Millisecond), Redelivery: lat(1200*time.Millisecond, 31*time.Second)},
			{Topic: "/default/orders", Subscription: "shipping", Received: 963100, Acked: 962000, Pending: 1100, AckErrors: 2, AckLatency: lat(800*time.Microsecond, 9*time.Millisecond)},
			{Topic: "/iot/sensors", Subscription: "dashboard", Received: 9_870_000, Acked: 9_870_000, AckLatency: lat(200*time.Microsecond, 1*time.Millisecond)},
		},
		Health: []monitor.HealthStats{
			{Consumer: true, Name: "archiver-1", Topic: "/default/audit", ID: 11, Status: monitor.HealthOK, At: now.Add(-2 * time.Second), RTT: 900 * time.Microsecond},
			{Consumer: true, Name: "billing-1", Topic: "/default/orders", ID: 12, Status: monitor.HealthOK, At: now.Add(-1 * time.Second), RTT: 1100 * time.Microsecond},
			{Consumer: true, Name: "shipping-1", Topic: "/default/orders", ID: 13, Status: monitor.HealthClose, At: now.Add(-4 * time.Second), RTT: 2 * time.Millisecond, Reconnects: 1},
			{Name: "order-gen", Topic: "/default/orders-part-0", ID: 2, Status: monitor.HealthOK, At: now.Add(-3 * time.Second), RTT: 800 * time.Microsecond},
			{Name: "order-gen", Topic: "/default/orders-part-1", ID: 3, Status: monitor.HealthError, At: now.Add(-5 * time.Second), Err: "rpc error: code = Unavailable", Reconnects: 1},
			{Name: "pay-svc", Topic: "/default/payments", ID: 4, Status: monitor.HealthStopped, At: now.Add(-75 * time.Second), Reconnects: 4}, // failed: no longer checked
		},
		Conns: []monitor.ConnStats{
			{Addr: "127.0.0.1:6650", State: monitor.ConnReady, Since: now.Add(-3723 * time.Second), Transitions: 2},
			{Addr: "127.0.0.1:6651", State: monitor.ConnTransientFailure, Since: now.Add(-12 * time.Second), Transitions: 7},
		},
		Connectors: []monitor.ConnectorStats{
			{ConnectorStatus: monitor.ConnectorStatus{Name: "mqtt-in", Kind: "mqtt", Role: monitor.RoleSource, Topic: "/iot/sensors", Autostart: true,
				State: monitor.ConnectorRunning, Since: now.Add(-3600 * time.Second), Received: 9_877_000, Processed: 9_876_543, Retried: 12, InFlight: 57,
				Batches: 98765, LastBatchSize: 100, BatchLatencyP50: 3 * time.Millisecond, BatchLatencyP99: 11 * time.Millisecond, Throughput: 23456},
				Series: series(300, 23456, 10)},
			{ConnectorStatus: monitor.ConnectorStatus{Name: "orders-pg", Kind: "postgres", Role: monitor.RoleSink, Topic: "/default/orders",
				State: monitor.ConnectorFailed, Since: now.Add(-30 * time.Second), Received: 50210, Processed: 50000,
				Failed: map[monitor.ErrorKind]uint64{monitor.KindFatal: 1, monitor.KindInvalidData: 9}, Retried: 340, Restarts: 3,
				LastError: "connect: dial tcp 127.0.0.1:5432: connection refused", LastErrorKind: monitor.KindFatal, LastErrorAt: now.Add(-30 * time.Second),
				NextRestart: now.Add(8 * time.Second), Origin: "/etc/danube/connectors.toml:14",
				Settings: []monitor.ConnectorSetting{{Key: "subscription", Value: "orders-pg (Shared)"}, {Key: "dsn", Value: "••••••"},
					{Key: "table", Value: "orders"}, {Key: "mode", Value: "upsert"}, {Key: "key_json_path", Value: "$.order_id"},
					{Key: "create_table", Value: "true"}, {Key: "payload_format", Value: "jsonb"}}},
				Series: series(300, 40, 11)},
			{ConnectorStatus: monitor.ConnectorStatus{Name: "audit-jsonl", Kind: "jsonl", Role: monitor.RoleSink, Topic: "/default/audit",
				State: monitor.ConnectorStopped, Since: now.Add(-600 * time.Second), Received: 1200, Processed: 1200}},
			{ConnectorStatus: monitor.ConnectorStatus{Name: "webhook-out", Kind: "webhook", Role: monitor.RoleSink, Topic: "/default/payments",
				State: monitor.ConnectorDegraded, Since: now.Add(-90 * time.Second), Received: 77, Processed: 70, Retried: 21, InFlight: 7,
				LastError: "POST https://hooks.example/pay: 503 Service Unavailable", LastErrorKind: monitor.KindRetryable, LastErrorAt: now.Add(-5 * time.Second),
				Throughput: 0.5},
				Series: series(120, 1, 12)},
		},
		Lookups: []monitor.LookupResult{
			{Topic: "/default/orders", At: now.Add(-20 * time.Second), ResponseType: "connect", BrokerURL: "http://127.0.0.1:6650", ConnectURL: "http://127.0.0.1:6650",
				Partitions: []string{"/default/orders-part-0", "/default/orders-part-1", "/default/orders-part-2"}, Latency: 1800 * time.Microsecond},
			{Topic: "/iot/missing", At: now.Add(-95 * time.Second), ResponseType: "failed", Latency: 900 * time.Microsecond, Err: "topic not found"},
		},
		Totals: monitor.Totals{ReceivedPerSec: 28232, Received: 11_798_300, Shown: 4000, DroppedFromView: 11_794_300, BufferFill: 1, ObserverDropped: 0},
	}
	f := New(s)
	f.SchemaSubjects = map[uint64]string{3: "orders-value"}
	for _, c := range s.Consumers {
		f.SetStream(c.Stream, Messages(c.Topic, c.Subscription, c.Name, 200, now.Add(-time.Second)), c.Received)
	}
	return f
}

// Big returns a Fake with a large data set for benchmarks: 50 producers, 50 consumers with full
// 1000-message rings, 20 connectors, with full series.
func Big() *Fake {
	f := Scripted()
	now := Epoch
	f.Update(func(s *monitor.Snapshot) {
		s.Producers, s.Consumers, s.Subscriptions, s.Health, s.Connectors = nil, nil, nil, nil, nil
		for i := range 50 {
			topic := fmt.Sprintf("/bench/topic-%02d", i)
			s.Topics = append(s.Topics, monitor.TopicStats{Name: topic, Namespace: "bench", Reliable: i%2 == 0, Subscriptions: []string{"sub"}})
			s.Producers = append(s.Producers, monitor.ProducerStats{Name: fmt.Sprintf("p%02d", i), Topic: topic, ID: uint64(i), State: monitor.ProducerCreated,
				Msgs: uint64(i) * 100000, Bytes: uint64(i) * 1e7, MsgRate: float64(i * 100), ByteRate: float64(i * 20000),
				Series: series(monitor.SeriesLen, float64(i*100), i), Publish: monitor.Latency{Count: 10, P50: time.Millisecond, P99: 9 * time.Millisecond}})
			s.Consumers = append(s.Consumers, monitor.ConsumerStats{Stream: fmt.Sprintf("s%02d", i), Name: fmt.Sprintf("c%02d", i), Topic: topic,
				Subscription: "sub", Type: monitor.SubscriptionShared, State: monitor.ConsumerSubscribed, Received: uint64(i) * 1e5, Rate: float64(i * 100),
				Series: series(monitor.SeriesLen, float64(i*100), i+1), EndToEnd: monitor.Latency{Count: 10, P50: 2 * time.Millisecond, P99: 20 * time.Millisecond}})
			s.Subscriptions = append(s.Subscriptions, monitor.SubscriptionStats{Topic: topic, Subscription: "sub", Received: uint64(i) * 1e5, Acked: uint64(i) * 1e5})
			s.Health = append(s.Health, monitor.HealthStats{Name: fmt.Sprintf("p%02d", i), Topic: topic, Status: monitor.HealthOK, At: now.Add(-time.Second), RTT: time.Millisecond})
		}
		for i := range 20 {
			s.Connectors = append(s.Connectors, monitor.ConnectorStats{ConnectorStatus: monitor.ConnectorStatus{Name: fmt.Sprintf("conn-%02d", i), Kind: "generator",
				Role: monitor.RoleSource, State: monitor.ConnectorState(i % 7), Throughput: float64(i * 10), Received: uint64(i) * 1000, Processed: uint64(i) * 990},
				Series: series(monitor.SeriesLen, float64(i*10), i)})
		}
	})
	for i := range 50 {
		f.SetStream(fmt.Sprintf("s%02d", i), Messages(fmt.Sprintf("/bench/topic-%02d", i), "sub", fmt.Sprintf("c%02d", i), 1000, now), uint64(i)*1e5)
	}
	return f
}

// Cluster returns Scripted's Fake with a remote three-broker cluster as the cluster data sources see it, at
// Epoch: the admin API (brokers 1 to 3, broker 1 the Raft leader, broker 3 draining, an unbalanced load,
// three roles and three bindings, the console connecting as alice), the metrics endpoints of brokers 1 and
// 2 up and broker 3's failing, a failing Prometheus server, per-topic rates (a partitioned topic spread over
// two brokers), subscriptions with lag, and ranked problems.
func Cluster() *Fake {
	f := Scripted()
	now := Epoch
	q := func(p50, p95, p99 float64) monitor.Quantiles {
		return monitor.Quantiles{P50: p50, P95: p95, P99: p99, Count: 1000, Sum: p50 * 1000}
	}
	const win = 5 * time.Second
	c := monitor.Cluster{
		Sources: []monitor.SourceState{
			{Kind: "admin", URL: "http://10.0.0.1:50051", Status: monitor.SourceUp, Interval: 5 * time.Second,
				LastOK: now.Add(-2 * time.Second), LastTry: now.Add(-2 * time.Second)},
			{Kind: "metrics", URL: "http://10.0.0.1:9040/metrics", Status: monitor.SourceUp, Broker: "1", Interval: win,
				LastOK: now.Add(-1 * time.Second), LastTry: now.Add(-1 * time.Second)},
			{Kind: "metrics", URL: "http://10.0.0.2:9040/metrics", Status: monitor.SourceUp, Broker: "2", Interval: win,
				LastOK: now.Add(-3 * time.Second), LastTry: now.Add(-3 * time.Second)},
			{Kind: "metrics", URL: "http://10.0.0.3:9040/metrics", Status: monitor.SourceFailing, Broker: "3", Interval: win,
				Err:    `Get "http://10.0.0.3:9040/metrics": dial tcp 10.0.0.3:9040: connect: connection refused`,
				LastOK: now.Add(-2*time.Minute - 4*time.Second), LastTry: now.Add(-4 * time.Second)},
			{Kind: "prometheus", URL: "http://prometheus.internal:9090", Status: monitor.SourceFailing, Interval: 15 * time.Second,
				Err: "query /api/v1/query_range: 503 Service Unavailable", LastTry: now.Add(-9 * time.Second)},
		},
		Brokers: []monitor.BrokerMetrics{
			{ID: "1", URL: "http://10.0.0.1:9040/metrics", Window: win, TopicsOwned: 9, Leader: true, RPCPerSec: 412, RPCErrorsPerSec: 0.4,
				MsgsInPerSec: 2442, BytesInPerSec: 463_800, MsgsOutPerSec: 4832, BytesOutPerSec: 918_100, PublishLatencyMeanMs: 1.8},
			{ID: "2", URL: "http://10.0.0.2:9040/metrics", Window: win, TopicsOwned: 5, RPCPerSec: 96,
				MsgsInPerSec: 23456, BytesInPerSec: 3_400_000, MsgsOutPerSec: 23400, BytesOutPerSec: 3_390_000, PublishLatencyMeanMs: 0.6},
		},
		Topics: []monitor.TopicRate{
			{Broker: "1", Topic: "/default/audit", Window: win, MsgsInPerSec: 2, BytesInPerSec: 400, MsgsOutPerSec: 2, BytesOutPerSec: 400,
				Producers: 1, Consumers: 1, Subscriptions: 1, PublishLatency: q(0.6, 1.4, 2.1), MessageSize: q(200, 210, 220)},
			{Broker: "1", Topic: "/default/orders-part-0", Window: win, MsgsInPerSec: 1250, BytesInPerSec: 237_500, MsgsOutPerSec: 2480, BytesOutPerSec: 471_200,
				Producers: 1, Consumers: 2, Subscriptions: 2, Lag: 6_242, PublishLatency: q(0.9, 6, 12), MessageSize: q(190, 240, 260)},
			{Broker: "1", Topic: "/default/orders-part-1", Window: win, MsgsInPerSec: 1190, BytesInPerSec: 226_100, MsgsOutPerSec: 2350, BytesOutPerSec: 446_500,
				Producers: 1, Consumers: 2, Subscriptions: 2, Lag: 6_200, PublishLatency: q(0.9, 7, 14), MessageSize: q(190, 240, 260)},
			{Broker: "1", Topic: "/default/payments", Window: win, Producers: 1, Consumers: 1, Subscriptions: 1, Lag: 3},
			{Broker: "2", Topic: "/default/orders-part-2", Window: win, Producers: 0, Consumers: 2, Subscriptions: 2},
			{Broker: "2", Topic: "/iot/sensors-part-0", Window: win, MsgsInPerSec: 23456, BytesInPerSec: 3_400_000, MsgsOutPerSec: 23400, BytesOutPerSec: 3_390_000,
				Producers: 1, Consumers: 1, Subscriptions: 2, Lag: 88_000, PublishLatency: q(0.4, 1.9, 3), MessageSize: q(140, 150, 160)},
		},
		Subscriptions: []monitor.SubscriptionRate{
			{Broker: "1", Topic: "/default/orders-part-0", Subscription: "billing", Window: win, MsgsOutPerSec: 1240, Consumers: 1, Lag: 42, DLQPerSec: 0.4},
			{Broker: "1", Topic: "/default/orders-part-0", Subscription: "shipping", Window: win, MsgsOutPerSec: 1240, Consumers: 1, Lag: 6_200, RedeliveriesPerSec: 3.5},
			{Broker: "1", Topic: "/default/payments", Subscription: "ledger", Window: win, Consumers: 1, Lag: 3, TerminalBlocked: 3},
			{Broker: "2", Topic: "/iot/sensors-part-0", Subscription: "pg-sink", Window: win, Lag: 88_000},
		},
		Admin: monitor.AdminView{
			Brokers: []monitor.BrokerInfo{
				{ID: "1", Addr: "http://10.0.0.1:6650", Role: "Cluster_Leader", AdminAddr: "http://10.0.0.1:50051", MetricsAddr: "10.0.0.1:9040", Status: "active"},
				{ID: "2", Addr: "http://10.0.0.2:6650", Role: "Cluster_Follower", AdminAddr: "http://10.0.0.2:50051", MetricsAddr: "10.0.0.2:9040", Status: "active"},
				{ID: "3", Addr: "http://10.0.0.3:6650", Role: "Cluster_Follower", AdminAddr: "http://10.0.0.3:50051", MetricsAddr: "10.0.0.3:9040", Status: "draining"},
			},
			Leader: "1",
			Raft:   &monitor.RaftStatus{LeaderID: 1, Term: 7, LastApplied: 48_213, Voters: []uint64{1, 2, 3}, SelfID: 1, RaftAddr: "10.0.0.1:7650"},
			Balance: &monitor.Balance{CV: 0.538, Mean: 5.33, Max: 9, Min: 2, StdDev: 2.87, BrokerCount: 3, Strategy: "Fair",
				Brokers: []monitor.BrokerLoad{
					{BrokerID: "3", Load: 2, Topics: 2, Underloaded: true},
					{BrokerID: "2", Load: 5, Topics: 5},
					{BrokerID: "1", Load: 9, Topics: 9, Overloaded: true},
				}},
			Namespaces: []monitor.NamespaceInfo{{Name: "default", Policies: "{}"}, {Name: "iot", Policies: "{}"}},
			Roles: []monitor.Role{
				{Name: "admin", Permissions: []string{"ManageCluster", "ManageBroker", "ManageNamespace", "ManageTopic", "ManageSchema"}, System: true},
				{Name: "console-reader", Permissions: []string{"Lookup", "Consume"}},
				{Name: "producer", Permissions: []string{"Lookup", "Produce"}},
			},
			Bindings: []monitor.Binding{
				{ID: "ops-admin", PrincipalType: "user", PrincipalName: "alice", Roles: []string{"admin"}, Scope: "cluster"},
				{ID: "billing-svc", PrincipalType: "service_account", PrincipalName: "billing", Roles: []string{"console-reader"}, Scope: "namespace", Resource: "default"},
				{ID: "orders-writer", PrincipalType: "service_account", PrincipalName: "order-gen", Roles: []string{"producer"}, Scope: "topic", Resource: "/default/orders"},
			},
			Identity: "alice",
		},
		Problems: []monitor.Problem{
			{Kind: monitor.ProblemBrokerDown, Severity: monitor.SeverityCritical, Broker: "3",
				Detail: "metrics endpoint http://10.0.0.3:9040/metrics: connection refused for 2m4s", Since: now.Add(-2*time.Minute - 4*time.Second)},
			{Kind: monitor.ProblemTerminalBlocked, Severity: monitor.SeverityCritical, Topic: "/default/payments", Subscription: "ledger",
				Detail: "3 messages blocked by the poison policy, lag 3", Since: now.Add(-15 * time.Minute)},
			{Kind: monitor.ProblemLagGrowing, Severity: monitor.SeverityWarning, Topic: "/default/orders", Subscription: "shipping",
				Detail: "lag 12,400 (+3,100 in 1m), 1 consumer, redelivering 3.5/s", Since: now.Add(-90 * time.Second)},
			{Kind: monitor.ProblemNoConsumers, Severity: monitor.SeverityWarning, Topic: "/iot/sensors", Subscription: "pg-sink",
				Detail: "lag 88,000, 0 consumers", Since: now.Add(-6 * time.Minute)},
			{Kind: monitor.ProblemDeadLetters, Severity: monitor.SeverityWarning, Topic: "/default/orders", Subscription: "billing",
				Detail: "0.4 msg/s to the dead-letter topic", Since: now.Add(-3 * time.Minute)},
			{Kind: monitor.ProblemImbalance, Severity: monitor.SeverityWarning,
				Detail: "CV 0.54 (threshold 0.30): broker 1 overloaded (load 9), broker 3 underloaded (load 2)", Since: now.Add(-10 * time.Minute)},
			{Kind: monitor.ProblemSourceFailing, Severity: monitor.SeverityWarning,
				Detail: "prometheus http://prometheus.internal:9090: 503 Service Unavailable", Since: now.Add(-9 * time.Second)},
			{Kind: monitor.ProblemAuthzDenials, Severity: monitor.SeverityInfo, Detail: "0.2 denials/s (topic, Produce)", Since: now.Add(-40 * time.Second)},
		},
	}
	f.Update(func(s *monitor.Snapshot) {
		s.ServiceURL, s.AdminURL, s.Embedded = "http://10.0.0.1:6650", "http://10.0.0.1:50051", false
		s.Cluster = c
	})
	return f
}

// ClusterTraffic returns Scripted (the console's own producers, taps and acks) with the cluster its
// metrics and admin API describe at Epoch: three brokers, broker 3 down (its metrics endpoint refuses
// connections); thirteen topics, among them /default/orders in three partitions spread over brokers 1 and
// 2 and /iot/sensors in two, and three topics whose names differ only at the end; subscriptions with lag,
// one without consumers, one terminal-blocked, one sending to a dead-letter topic; the problems the
// monitor ranks from them; and fifteen minutes of the cluster's traffic for the throughput chart.
func ClusterTraffic() *Fake {
	f := Scripted()
	now := Epoch
	q := func(p50, p99 float64) monitor.Quantiles {
		return monitor.Quantiles{P50: p50, P95: (p50 + p99) / 2, P99: p99, Count: 1000}
	}
	w := 5 * time.Second
	type tp struct {
		broker, topic         string
		in, inB, out, outB    float64
		prod, cons, subs, lag int64
		p50, p99              float64
	}
	topics := []tp{
		{"2", "/analytics/clickstream", 8200, 4_100_000, 8100, 4_050_000, 12, 4, 1, 2400, 1.1, 7.5},
		{"1", "/analytics/sessions", 310, 96_000, 0, 0, 2, 0, 1, 18_500, 0.9, 3.2},
		{"1", "/billing/invoices", 42, 38_000, 42, 38_000, 1, 2, 2, 0, 2.4, 11},
		{"2", "/billing/refunds", 0, 0, 0, 0, 0, 1, 1, 0, 0, 0},
		{"1", "/default/audit", 2, 400, 2, 400, 1, 1, 1, 0, 0.6, 2.1},
		{"1", "/default/orders-eu-north", 120, 24_000, 118, 23_600, 2, 1, 1, 40, 0.8, 4},
		{"2", "/default/orders-eu-west", 460, 92_000, 455, 91_000, 3, 2, 1, 310, 0.9, 5.5},
		{"1", "/default/orders-part-0", 1250, 237_500, 2480, 471_000, 1, 2, 2, 1100, 0.85, 12},
		{"2", "/default/orders-part-1", 1190, 226_100, 2360, 448_000, 1, 2, 2, 980, 0.91, 14},
		{"2", "/default/orders-part-2", 1210, 230_000, 2400, 456_000, 1, 2, 2, 12_400, 0.88, 13},
		{"1", "/default/orders-us-east", 75, 15_000, 75, 15_000, 1, 1, 1, 0, 0.7, 3.1},
		{"1", "/default/payments", 0.5, 100, 0, 0, 1, 0, 1, 77, 1.5, 9},
		{"1", "/iot/alerts", 3, 600, 1, 200, 1, 0, 1, 0, 0.5, 1.8},
		{"1", "/iot/sensors-part-0", 23456, 3_400_000, 23400, 3_390_000, 1, 1, 2, 0, 0.42, 3},
		{"2", "/iot/sensors-part-1", 21000, 3_050_000, 20900, 3_040_000, 1, 1, 2, 150, 0.45, 3.3},
	}
	type sb struct {
		broker, topic, sub                string
		out                               float64
		cons, lag, pend, blocked          int64
		redeliv, nacks, timeouts, dlqRate float64
	}
	subs := []sb{
		{"2", "/analytics/clickstream", "enricher", 8100, 4, 2400, 0, 0, 0, 0, 0, 0},
		{"1", "/analytics/sessions", "warehouse", 0, 0, 18_500, 0, 0, 0, 0, 0, 0},
		{"1", "/billing/invoices", "mailer", 21, 1, 0, 0, 0, 0, 0, 0, 0},
		{"1", "/billing/invoices", "pdf-render", 21, 1, 0, 14, 6, 3.5, 1.2, 2.1, 0.8},
		{"2", "/billing/refunds", "ledger", 0, 1, 0, 0, 0, 0, 0, 0, 0},
		{"1", "/default/audit", "archiver", 2, 1, 0, 0, 0, 0, 0, 0, 0},
		{"1", "/default/orders-eu-north", "billing", 118, 1, 40, 0, 0, 0, 0, 0, 0},
		{"2", "/default/orders-eu-west", "billing", 455, 2, 310, 2, 0, 0.4, 0, 0.1, 0},
		{"1", "/default/orders-part-0", "billing", 1240, 1, 50, 3, 0, 0.2, 0.2, 0, 0},
		{"1", "/default/orders-part-0", "shipping", 1240, 1, 1050, 0, 0, 0, 0, 0, 0},
		{"2", "/default/orders-part-1", "billing", 1180, 1, 40, 1, 0, 0.1, 0.1, 0, 0},
		{"2", "/default/orders-part-1", "shipping", 1180, 1, 940, 0, 0, 0, 0, 0, 0},
		{"2", "/default/orders-part-2", "billing", 1200, 1, 60, 0, 0, 0, 0, 0, 0},
		{"2", "/default/orders-part-2", "shipping", 1200, 1, 12_340, 0, 0, 0, 0, 0, 0},
		{"1", "/default/orders-us-east", "billing", 75, 1, 0, 0, 0, 0, 0, 0, 0},
		{"1", "/default/payments", "ledger", 0, 0, 77, 0, 0, 0, 0, 0, 0},
		{"1", "/iot/alerts", "pager", 1, 0, 0, 0, 0, 0, 0, 0, 0},
		{"1", "/iot/sensors-part-0", "dashboard", 23400, 1, 0, 0, 0, 0, 0, 0, 0},
		{"1", "/iot/sensors-part-0", "pg-sink", 0, 0, 0, 0, 0, 0, 0, 0, 0},
		{"2", "/iot/sensors-part-1", "dashboard", 20900, 1, 150, 0, 0, 0, 0, 0, 0},
		{"2", "/iot/sensors-part-1", "pg-sink", 0, 0, 0, 0, 0, 0, 0, 0, 0},
	}
	var c monitor.Cluster
	for _, t := range topics {
		c.Topics = append(c.Topics, monitor.TopicRate{Broker: t.broker, Topic: t.topic, Window: w, MsgsInPerSec: t.in, BytesInPerSec: t.inB,
			MsgsOutPerSec: t.out, BytesOutPerSec: t.outB, Producers: t.prod, Consumers: t.cons, Subscriptions: t.subs, Lag: t.lag,
			PublishLatency: q(t.p50, t.p99), MessageSize: q(190, 1200)})
	}
	for _, s := range subs {
		c.Subscriptions = append(c.Subscriptions, monitor.SubscriptionRate{Broker: s.broker, Topic: s.topic, Subscription: s.sub, Window: w,
			MsgsOutPerSec: s.out, Consumers: s.cons, Lag: s.lag, PendingRedelivery: s.pend, TerminalBlocked: s.blocked,
			RedeliveriesPerSec: s.redeliv, NacksPerSec: s.nacks, AckTimeoutsPerSec: s.timeouts, DLQPerSec: s.dlqRate})
	}
	for _, id := range []string{"1", "2"} {
		b := monitor.BrokerMetrics{ID: id, URL: "http://10.0.0." + id + ":9040/metrics", Window: w, Leader: id == "1"}
		for _, t := range c.Topics {
			if t.Broker == id {
				b.TopicsOwned++
				b.MsgsInPerSec += t.MsgsInPerSec
				b.BytesInPerSec += t.BytesInPerSec
				b.MsgsOutPerSec += t.MsgsOutPerSec
				b.BytesOutPerSec += t.BytesOutPerSec
			}
		}
		b.RPCPerSec, b.RPCErrorsPerSec, b.PublishLatencyMeanMs = 5200, 0, 0.9
		if id == "2" {
			b.RPCPerSec, b.RPCErrorsPerSec, b.PublishLatencyMeanMs = 3900, 12.5, 1.4
		}
		c.Brokers = append(c.Brokers, b)
	}
	c.Sources = []monitor.SourceState{
		{Kind: "admin", URL: "http://10.0.0.1:50051", Status: monitor.SourceUp, Interval: 5 * time.Second, LastOK: now.Add(-2 * time.Second), LastTry: now.Add(-2 * time.Second)},
		{Kind: "metrics", URL: "http://10.0.0.1:9040/metrics", Status: monitor.SourceUp, Broker: "1", Interval: w, LastOK: now.Add(-time.Second), LastTry: now.Add(-time.Second)},
		{Kind: "metrics", URL: "http://10.0.0.2:9040/metrics", Status: monitor.SourceUp, Broker: "2", Interval: w, LastOK: now.Add(-3 * time.Second), LastTry: now.Add(-3 * time.Second)},
		{Kind: "metrics", URL: "http://10.0.0.3:9040/metrics", Status: monitor.SourceFailing, Broker: "3", Interval: w,
			Err: "dial tcp 10.0.0.3:9040: connect: connection refused", LastOK: now.Add(-95 * time.Second), LastTry: now.Add(-time.Second)},
	}
	c.Admin = monitor.AdminView{
		Brokers: []monitor.BrokerInfo{
			{ID: "1", Addr: "http://10.0.0.1:6650", Role: "Cluster_Leader", AdminAddr: "http://10.0.0.1:50051", MetricsAddr: "10.0.0.1:9040", Status: "active"},
			{ID: "2", Addr: "http://10.0.0.2:6650", Role: "Cluster_Follower", AdminAddr: "http://10.0.0.2:50051", MetricsAddr: "10.0.0.2:9040", Status: "active"},
			{ID: "3", Addr: "http://10.0.0.3:6650", Role: "Cluster_Follower", AdminAddr: "http://10.0.0.3:50051", MetricsAddr: "10.0.0.3:9040", Status: "active"},
		},
		Leader: "1",
	}
	c.Problems = []monitor.Problem{
		{Kind: monitor.ProblemBrokerDown, Severity: monitor.SeverityCritical, Broker: "3", Detail: "metrics endpoint refuses connections for 1m35s", Since: now.Add(-95 * time.Second)},
		{Kind: monitor.ProblemTerminalBlocked, Severity: monitor.SeverityCritical, Topic: "/billing/invoices", Subscription: "pdf-render", Detail: "6 messages blocked by the poison policy", Since: now.Add(-4 * time.Minute)},
		{Kind: monitor.ProblemLagGrowing, Severity: monitor.SeverityWarning, Topic: "/default/orders", Subscription: "shipping", Detail: "lag 14,330 (+3,100 in 1m), 3 consumers", Since: now.Add(-2 * time.Minute)},
		{Kind: monitor.ProblemNoConsumers, Severity: monitor.SeverityWarning, Topic: "/analytics/sessions", Subscription: "warehouse", Detail: "lag 18,500, 0 consumers", Since: now.Add(-11 * time.Minute)},
		{Kind: monitor.ProblemDeadLetters, Severity: monitor.SeverityWarning, Topic: "/billing/invoices", Subscription: "pdf-render", Detail: "0.8 msgs/s to the dead-letter topic", Since: now.Add(-3 * time.Minute)},
		{Kind: monitor.ProblemImbalance, Severity: monitor.SeverityInfo, Detail: "load CV 0.62 (broker 2: 9 topics, broker 3: 0)"},
	}
	const points = 90
	h := monitor.TopicHistory{Step: 10 * time.Second, End: now, Source: "console", In: make([]float64, points), Out: make([]float64, points), Lag: make([]float64, points)}
	in, out := series(points, 50000, 3), series(points, 55000, 4)
	for i := range points {
		h.In[i], h.Out[i], h.Lag[i] = in[i], out[i], float64(20000+i*150)
		if i < 12 {
			h.In[i], h.Out[i], h.Lag[i] = math.NaN(), math.NaN(), math.NaN() // before the console started
		}
	}
	// The last point is what the metrics say now.
	h.In[points-1], h.Out[points-1] = 0, 0
	for _, t := range c.Topics {
		h.In[points-1] += t.MsgsInPerSec
		h.Out[points-1] += t.MsgsOutPerSec
	}
	f.Update(func(s *monitor.Snapshot) { s.Cluster = c })
	f.mu.Lock()
	f.Histories = map[string]monitor.TopicHistory{"": h}
	f.mu.Unlock()
	return f
}

// ClusterBig returns ClusterTraffic with a cluster of 3 brokers, 2,000 topics (every tenth in 4
// partitions) and 10,000 subscriptions in its metrics, for benchmarks.
func ClusterBig() *Fake {
	f := ClusterTraffic()
	f.Update(func(s *monitor.Snapshot) {
		c := s.Cluster
		c.Topics, c.Subscriptions = nil, nil
		for i := range 2000 {
			topic := fmt.Sprintf("/ns-%02d/topic-%04d", i%40, i)
			names := []string{topic}
			if i%10 == 0 {
				names = []string{topic + "-part-0", topic + "-part-1", topic + "-part-2", topic + "-part-3"}
			}
			for j, name := range names {
				broker := fmt.Sprint(1 + (i+j)%3)
				c.Topics = append(c.Topics, monitor.TopicRate{Broker: broker, Topic: name, Window: 5 * time.Second,
					MsgsInPerSec: float64(i%97) * 3, MsgsOutPerSec: float64(i%89) * 3, Producers: int64(1 + i%3), Consumers: int64(i % 5),
					Subscriptions: 5, Lag: int64(i % 1000)})
				for k := range 5 {
					if j > 0 && k > 0 {
						continue // the partitions of every tenth topic: one subscription each beyond the first
					}
					c.Subscriptions = append(c.Subscriptions, monitor.SubscriptionRate{Broker: broker, Topic: name,
						Subscription: fmt.Sprintf("sub-%d", k), Window: 5 * time.Second, MsgsOutPerSec: float64(i%89) * 0.6,
						Consumers: int64(k % 3), Lag: int64((i * (k + 1)) % 5000), RedeliveriesPerSec: float64(k % 2)})
				}
			}
		}
		s.Cluster = c
	})
	return f
}
