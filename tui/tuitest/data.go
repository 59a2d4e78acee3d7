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
			{Stream: "s-billing", Name: "billing-1", Topic: "/default/orders", Subscription: "billing", Type: monitor.SubscriptionShared, ID: 12, State: monitor.ConsumerSubscribed, Received: 964000, Bytes: 183_000_000, Rate: 2440, Series: series(300, 2440, 7), EndToEnd: lat(2*time.Millisecond, 18*time.Millisecond)},
			{Stream: "s-shipping", Name: "shipping-1", Topic: "/default/orders", Subscription: "shipping", Type: monitor.SubscriptionKeyShared, ID: 13, State: monitor.ConsumerResubscribed, Received: 963100, Bytes: 182_900_000, Rate: 2390, Series: series(300, 2390, 8), EndToEnd: lat(2100*time.Microsecond, 25*time.Millisecond), LastError: "stream reset; resubscribed"},
			{Stream: "s-dashboard", Name: "dash", Topic: "/iot/sensors", Subscription: "dashboard", Type: monitor.SubscriptionFailover, ID: 14, State: monitor.ConsumerSubscribed, Received: 9_870_000, Bytes: 1_233_000_000, Rate: 23400, Series: series(300, 23400, 9), EndToEnd: lat(700*time.Microsecond, 6*time.Millisecond)},
		},
		Subscriptions: []monitor.SubscriptionStats{
			{Topic: "/default/audit", Subscription: "archiver", Received: 1200, Acked: 1200, AckLatency: lat(300*time.Microsecond, 900*time.Microsecond)},
			{Topic: "/default/orders", Subscription: "billing", Received: 964000, Acked: 963950, Pending: 42, Nacked: 8, Redelivered: 8, AckLatency: lat(450*time.Microsecond, 3*time.Millisecond)},
			{Topic: "/default/orders", Subscription: "shipping", Received: 963100, Acked: 962000, Pending: 1100, AckErrors: 2, AckLatency: lat(800*time.Microsecond, 9*time.Millisecond)},
			{Topic: "/iot/sensors", Subscription: "dashboard", Received: 9_870_000, Acked: 9_870_000, AckLatency: lat(200*time.Microsecond, 1*time.Millisecond)},
		},
		Health: []monitor.HealthStats{
			{Consumer: true, Name: "archiver-1", Topic: "/default/audit", ID: 11, Status: monitor.HealthOK, At: now.Add(-2 * time.Second), RTT: 900 * time.Microsecond},
			{Consumer: true, Name: "billing-1", Topic: "/default/orders", ID: 12, Status: monitor.HealthOK, At: now.Add(-1 * time.Second), RTT: 1100 * time.Microsecond},
			{Consumer: true, Name: "shipping-1", Topic: "/default/orders", ID: 13, Status: monitor.HealthClose, At: now.Add(-4 * time.Second), RTT: 2 * time.Millisecond, Reconnects: 1},
			{Name: "order-gen", Topic: "/default/orders-part-0", ID: 2, Status: monitor.HealthOK, At: now.Add(-3 * time.Second), RTT: 800 * time.Microsecond},
			{Name: "pay-svc", Topic: "/default/payments", ID: 4, Status: monitor.HealthError, At: now.Add(-75 * time.Second), Err: "rpc error: code = Unavailable", Reconnects: 4},
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
