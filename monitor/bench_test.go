package monitor

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/monitor/filter"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// BenchmarkObserverReceive measures OnReceive on the data path from parallel goroutines: each on its own
// stream (one partition consumer each, as the client calls it), and all on one stream (the worst case: one
// lock shared by every goroutine).
func BenchmarkObserverReceive(b *testing.B) {
	for _, shared := range []bool{false, true} {
		name := "stream-per-goroutine"
		if shared {
			name = "one-stream"
		}
		b.Run(name, func(b *testing.B) { benchObserver(b, shared, false) })
	}
}

// benchObserver feeds the monitor receive events (and, with ack, each message's ack) from parallel
// goroutines over 64 subscribed streams: one stream per goroutine, or all on one when shared.
func benchObserver(b *testing.B, shared, ack bool) {
	m := New(Options{})
	defer m.Close()
	const streams = 64
	for i := range streams {
		subscribe(m, fmt.Sprint("/default/t-part-", i), "s", "c", uint64(i+1))
	}
	var next atomic.Int64
	payload := make([]byte, 128)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		if !shared {
			i = int(next.Add(1)-1) % streams
		}
		now := time.Now()
		topic := fmt.Sprint("/default/t-part-", i)
		msg := &client.Message{
			ID:      client.MessageID{ProducerID: 1, Topic: topic, BrokerAddr: "http://127.0.0.1:6650"},
			Payload: payload, PublishTime: now.Add(-time.Millisecond), ReceivedAt: now, Subscription: "s", ProducerName: "p",
		}
		ev := client.ReceiveEvent{Message: msg}
		ackEv := client.AckEvent{Topic: topic, Subscription: "s"} // no latency: the call starts after the receive
		var off uint64
		for pb.Next() {
			off++
			msg.ID.Offset = off
			m.OnReceive(ev)
			if ack {
				ackEv.Offset = off
				m.OnAck(ackEv)
			}
		}
	})
}

// BenchmarkObserverSend measures OnSend from parallel goroutines, each on its own producer.
func BenchmarkObserverSend(b *testing.B) {
	m := New(Options{})
	defer m.Close()
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ev := client.SendEvent{Topic: "/default/t", Producer: fmt.Sprint("p", next.Add(1)), Bytes: 128, Latency: time.Millisecond}
		for pb.Next() {
			m.OnSend(ev)
		}
	})
}

// BenchmarkSnapshot measures Snapshot with 100 consumer streams whose rings are full (1000 messages each),
// 100 producers and 100 subscriptions, every series (full: 300 s of history) and histogram in use. "idle":
// nothing changed since the last snapshot; "changing": every stream, subscription and producer got an event
// since (outside the timed part), so that every latency summary is computed again.
func BenchmarkSnapshot(b *testing.B) {
	for _, changing := range []bool{false, true} {
		name := "idle"
		if changing {
			name = "changing"
		}
		b.Run(name, func(b *testing.B) { benchmarkSnapshot(b, changing) })
	}
}

func benchmarkSnapshot(b *testing.B, changing bool) {
	clk := newFakeClock()
	m := New(Options{Clock: clk.Now})
	defer m.Close()
	now := time.Now()
	payload := make([]byte, 100)
	for i := range 100 {
		topic := fmt.Sprint("/default/t", i)
		subscribe(m, topic, "s", "c", uint64(i+1))
		for j := range DefaultRingSize {
			m.OnReceive(client.ReceiveEvent{Message: &client.Message{
				ID:      client.MessageID{Topic: topic, Offset: uint64(j + 1)},
				Payload: payload, PublishTime: now.Add(-time.Duration(j) * time.Microsecond), ReceivedAt: now, Subscription: "s",
			}})
			m.OnAck(client.AckEvent{Topic: topic, Subscription: "s", Offset: uint64(j + 1), Latency: time.Duration(j) * time.Microsecond})
		}
		for j := range 100 {
			m.OnSend(client.SendEvent{Topic: topic, Producer: "p", Bytes: 100, Latency: time.Duration(j) * time.Microsecond})
		}
		m.OnHealth(client.HealthEvent{Topic: topic, Name: "p", Status: client.HealthOK})
	}
	clk.Advance(SeriesLen * time.Second)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if changing {
			b.StopTimer()
			for i := range 100 {
				topic := fmt.Sprint("/default/t", i)
				m.OnReceive(client.ReceiveEvent{Message: &client.Message{ID: client.MessageID{Topic: topic}, Payload: payload,
					PublishTime: now, ReceivedAt: now.Add(time.Millisecond), Subscription: "s"}})
				m.OnAck(client.AckEvent{Topic: topic, Subscription: "s", Latency: time.Millisecond})
				m.OnSend(client.SendEvent{Topic: topic, Producer: "p", Bytes: 100, Latency: time.Millisecond})
			}
			b.StartTimer()
		}
		s := m.Snapshot()
		if len(s.Consumers) != 100 || s.Totals.Shown != 100*DefaultRingSize {
			b.Fatalf("%d consumers, %d shown", len(s.Consumers), s.Totals.Shown)
		}
	}
}

// BenchmarkMessages measures reading a screenful of a full ring.
func BenchmarkMessages(b *testing.B) {
	m := New(Options{})
	defer m.Close()
	subscribe(m, "/default/t", "s", "c", 1)
	now := time.Now()
	for j := range DefaultRingSize {
		m.OnReceive(client.ReceiveEvent{Message: &client.Message{ID: client.MessageID{Topic: "/default/t", Offset: uint64(j + 1)}, ReceivedAt: now, Subscription: "s"}})
	}
	id := StreamID("/default/t", "s", "c")
	b.ReportAllocs()
	for b.Loop() {
		if got, _ := m.Messages(id, 50); len(got) != 50 {
			b.Fatal(len(got))
		}
	}
}

// BenchmarkQuery50k measures Query with a JSON path filter on a stream keeping 50,000 messages (JSON
// documents of about 200 bytes, a third of them matching), a page of 200: "first" is a filter's first
// Query (every kept message evaluated), "steady" a later one after 100 new messages (what the console's
// 100 ms refresh costs while messages flow).
func BenchmarkQuery50k(b *testing.B) {
	const kept = 50000
	statuses := []string{"shipped", "pending", "cancelled"}
	var next uint64
	receive := func(m *Monitor, n int) {
		now := time.Now()
		for range n {
			next++
			payload := fmt.Sprintf(`{"id":"order-%06d","customer":{"name":"Ada Lovelace","tier":"gold"},"qty":%d,"price":%d.95,`+
				`"items":[{"sku":"A-1","n":2},{"sku":"B-2","n":1}],"status":"%s","note":"leave at the door"}`,
				next, next%50, next%300, statuses[next%3])
			m.OnReceive(client.ReceiveEvent{Message: &client.Message{
				ID:      client.MessageID{Topic: "/default/t", Offset: next},
				Payload: []byte(payload), ReceivedAt: now, PublishTime: now, Subscription: "s",
				RoutingKey: fmt.Sprint("order-", next), HasRoutingKey: true,
			}})
		}
	}
	for _, expr := range []string{`$.status == shipped`, `$.qty > 10 key:order-*5 lovelace -cancelled`} {
		f, err := filter.Parse(expr)
		if err != nil {
			b.Fatal(err)
		}
		for _, mode := range []string{"first", "steady"} {
			b.Run(mode+"/"+expr, func(b *testing.B) {
				m := New(Options{RingSize: kept, MaxRingBytes: 1 << 30})
				defer m.Close()
				subscribe(m, "/default/t", "s", "c", 1)
				receive(m, kept)
				id := StreamID("/default/t", "s", "c")
				st := m.idx.Load().streams[id]
				m.Query(id, f, 200)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					b.StopTimer()
					if mode == "first" {
						st.sub.mu.Lock()
						st.queries = nil
						st.sub.mu.Unlock()
					} else {
						receive(m, 100)
					}
					b.StartTimer()
					r := m.Query(id, f, 200)
					if r.Kept != kept || r.Matches == 0 {
						b.Fatalf("kept %d, %d matches", r.Kept, r.Matches)
					}
				}
			})
		}
	}
}

// BenchmarkRefresh measures one Refresh against an embedded broker holding 2,000 reliable topics with 5
// subscriptions each (10,000), over real gRPC on loopback: "first" is a monitor's first poll (every topic
// described), "steady" a later one at the console's pace (5 s apart: new topics, changed ones and the
// rotating share are described, about 170 of 2,000).
func BenchmarkRefresh(b *testing.B) {
	const topics, subsPer = 2000, 5
	srv := brokertest.Run(b, broker.Options{})
	w := brokertest.Dial(b, srv)
	ctx := context.Background()
	admin, err := client.ConnectAdmin(ctx, srv.AdminURL())
	if err != nil {
		b.Fatal(err)
	}
	defer admin.Close()
	var req uint64
	for i := range topics {
		topic := fmt.Sprintf("/default/bench-%04d", i)
		if err := admin.CreateTopic(ctx, topic, client.TopicOptions{Reliable: true}); err != nil {
			b.Fatal(err)
		}
		for j := range subsPer {
			req++
			if _, err := w.Consumer.Subscribe(ctx, &danubepb.ConsumerRequest{RequestId: req, TopicName: topic,
				ConsumerName: fmt.Sprint("c", j), Subscription: fmt.Sprint("s", j)}); err != nil {
				b.Fatal(err)
			}
		}
	}
	check := func(m *Monitor) {
		s := m.Snapshot()
		if len(s.Topics) < topics || len(s.Topics[0].Subscriptions) != subsPer {
			b.Fatalf("%d topics, the first with %d subscriptions", len(s.Topics), len(s.Topics[0].Subscriptions))
		}
	}
	b.Run("first", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			m := New(Options{})
			m.Attach(nil, admin, nil)
			b.StartTimer()
			if err := m.Refresh(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			check(m)
			m.Close()
			b.StartTimer()
		}
	})
	b.Run("steady", func(b *testing.B) {
		clk := newFakeClock()
		m := New(Options{Clock: clk.Now})
		defer m.Close()
		m.Attach(nil, admin, nil)
		if err := m.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			clk.Advance(5 * time.Second)
			if err := m.Refresh(ctx); err != nil {
				b.Fatal(err)
			}
		}
		check(m)
	})
}

// BenchmarkSnapshotCluster measures Snapshot of a console watching 2,000 topics with 5 subscriptions each
// (10,000): Snapshot.Topics from the admin API and the metrics' rows in Snapshot.Cluster, which it shares
// rather than copies.
func BenchmarkSnapshotCluster(b *testing.B) {
	m := New(Options{})
	defer m.Close()
	var topics []TopicStats
	res := &scrapeResult{broker: BrokerMetrics{ID: "1"}}
	for i := range 2000 {
		name := fmt.Sprintf("/default/bench-%04d", i)
		t := TopicStats{Name: name, Namespace: "default", Reliable: true, BrokerID: "1"}
		res.topics = append(res.topics, TopicRate{Broker: "1", Topic: name, MsgsInPerSec: 10})
		for j := range 5 {
			t.Subscriptions = append(t.Subscriptions, fmt.Sprint("s", j))
			res.subs = append(res.subs, SubscriptionRate{Broker: "1", Topic: name, Subscription: fmt.Sprint("s", j), Lag: 3})
		}
		topics = append(topics, t)
	}
	m.mu.Lock()
	m.topics = topics
	m.mu.Unlock()
	s := newScraper([]string{"127.0.0.1:1"}, false, time.Hour, time.Second, time.Now) // never started: the rows are set here
	s.eps[0].res, s.eps[0].state.Status = res, SourceUp
	m.scr = s
	b.ReportAllocs()
	for b.Loop() {
		snap := m.Snapshot()
		if len(snap.Topics) != 2000 || len(snap.Cluster.Subscriptions) != 10000 {
			b.Fatalf("%d topics, %d subscription rows", len(snap.Topics), len(snap.Cluster.Subscriptions))
		}
	}
}

// BenchmarkObserverReceiveAck measures a message's receive and ack, as a consumer that acks each message
// has them, on one stream per goroutine.
func BenchmarkObserverReceiveAck(b *testing.B) { benchObserver(b, false, true) }
