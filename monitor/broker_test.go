package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
	_ "github.com/danube-console/danube-console/connectors/generator"
	"github.com/danube-console/danube-console/internal/testenv"
)

// fixture is an embedded broker with a client and an admin client reporting to a monitor.
type fixture struct {
	srv   *broker.Server
	m     *Monitor
	c     *client.Client
	admin *client.Admin
}

// quickPolicy redelivers nacked messages at once.
var quickPolicy = broker.FailurePolicy{MaxRedeliveryCount: 10, AckTimeout: 30 * time.Second, Backoff: broker.BackoffFixed, Poison: broker.PoisonDrop}

// start starts a broker (with its admin port), a monitor with o and a client observed by it; everything is
// closed when the test ends.
func start(t *testing.T, o Options, copts ...client.Option) *fixture {
	t.Helper()
	return startWith(t, broker.Options{FailurePolicy: quickPolicy}, o, copts...)
}

// startWith is start with a broker started with bo.
func startWith(t *testing.T, bo broker.Options, o Options, copts ...client.Option) *fixture {
	t.Helper()
	srv := brokertest.Run(t, bo)
	o.ServiceURL, o.AdminURL, o.Embedded = srv.URL(), srv.AdminURL(), true
	m := New(o)
	c, err := client.Connect(context.Background(), srv.URL(), append([]client.Option{client.WithObserver(m)}, copts...)...)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := client.ConnectAdmin(context.Background(), srv.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	m.Attach(c, admin, nil)
	t.Cleanup(func() {
		m.Close()
		admin.Close()
		c.Close()
	})
	return &fixture{srv: srv, m: m, c: c, admin: admin}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls the monitor's snapshot until cond holds.
func eventually(t *testing.T, m *Monitor, what string, cond func(Snapshot) bool) Snapshot {
	t.Helper()
	var s Snapshot
	testenv.Eventually(t, 15*time.Second, func() bool { s = m.Snapshot(); return cond(s) }, "%s", what)
	return s
}

func (f *fixture) producer(t *testing.T, topic, name string, reliable bool) *client.Producer {
	t.Helper()
	d := client.NonReliable
	if reliable {
		d = client.Reliable
	}
	p, err := f.c.NewProducer(ctxT(t), client.ProducerConfig{Topic: topic, Name: name, Dispatch: d})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func (f *fixture) consumer(t *testing.T, topic, sub, name string) *client.Consumer {
	t.Helper()
	cons, err := f.c.Subscribe(ctxT(t), client.ConsumerConfig{Topic: topic, Subscription: sub, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cons.Close(context.Background()) })
	return cons
}

// receive reads n messages from cons.
func receive(t *testing.T, cons *client.Consumer, n int) []*client.Message {
	t.Helper()
	var out []*client.Message
	for range n {
		m, err := cons.Receive(ctxT(t))
		if err != nil {
			t.Fatalf("after %d messages: %v", len(out), err)
		}
		out = append(out, m)
	}
	return out
}

func consumerOf(s Snapshot, stream string) (ConsumerStats, bool) {
	for _, c := range s.Consumers {
		if c.Stream == stream {
			return c, true
		}
	}
	return ConsumerStats{}, false
}

func producerOf(s Snapshot, topic, name string) (ProducerStats, bool) {
	for _, p := range s.Producers {
		if p.Topic == topic && p.Name == name {
			return p, true
		}
	}
	return ProducerStats{}, false
}

// A producer's sends are counted with their bytes, publish latency and per-second series.
func TestProducerCountersAgainstBroker(t *testing.T) {
	clk := newFakeClock()
	f := start(t, Options{Clock: clk.Now})
	p := f.producer(t, "/default/prod", "p1", false)
	bytes := 0
	for i := range 40 {
		payload := []byte(fmt.Sprint("message ", i))
		bytes += len(payload)
		if _, err := p.Send(ctxT(t), payload); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Second)
	s := f.m.Snapshot()
	ps := findProducer(t, s, "/default/prod", "p1")
	if ps.Msgs != 40 || ps.Bytes != uint64(bytes) || ps.Errors != 0 || ps.State != ProducerCreated || ps.ID == 0 || ps.AdHoc {
		t.Fatalf("producer %+v", ps)
	}
	if ps.MsgRate != 40 || ps.ByteRate != float64(bytes) || !slices.Equal(ps.Series, []float64{40}) {
		t.Fatalf("rate %v byte rate %v series %v", ps.MsgRate, ps.ByteRate, ps.Series)
	}
	if l := ps.Publish; l.Count != 40 || l.P50 <= 0 || l.P50 > l.P99 || l.P99 > l.Max {
		t.Fatalf("publish latency %+v", l)
	}
	if !s.Reachable || s.ServiceURL != f.srv.URL() || !s.Embedded || s.AdminURL == "" {
		t.Fatalf("snapshot header %+v", s)
	}
	// A failed send is counted as an error.
	if _, err := p.Send(ctxT(t), make([]byte, broker.DefaultMaxMessageSize+1)); err == nil {
		t.Fatal("an oversized message was accepted")
	}
	s = f.m.Snapshot()
	if ps := findProducer(t, s, "/default/prod", "p1"); ps.Errors != 1 || ps.LastError == "" || s.LastError == "" {
		t.Fatalf("after a failed send: %+v, last error %q", ps, s.LastError)
	}
	p.Close(ctxT(t))
	if ps := findProducer(t, f.m.Snapshot(), "/default/prod", "p1"); ps.State != ProducerClosed {
		t.Fatalf("state %q after Close", ps.State)
	}
}

// A consumer's messages fill its ring in order, with their metadata and end-to-end latency; older ones are
// evicted and, when no Messages call returned them, counted as dropped from view.
func TestConsumerRingAgainstBroker(t *testing.T) {
	f := start(t, Options{RingSize: 10})
	p := f.producer(t, "/default/ring", "p", false)
	cons := f.consumer(t, "/default/ring", "s", "c")
	stream := StreamID("/default/ring", "s", "c")
	send := func(from, to int) {
		for i := from; i < to; i++ {
			if _, err := p.SendWithKey(ctxT(t), "k", []byte(fmt.Sprint("m-", i))); err != nil {
				t.Fatal(err)
			}
		}
		receive(t, cons, to-from)
	}
	send(0, 25)
	s := f.m.Snapshot()
	cs, ok := consumerOf(s, stream)
	if !ok || cs.Received != 25 || cs.State != ConsumerSubscribed || cs.ID == 0 || cs.Name != "c" {
		t.Fatalf("consumer %+v", cs)
	}
	if l := cs.EndToEnd; l.Count != 25 || l.Max <= 0 || l.P50 <= 0 {
		t.Fatalf("end-to-end latency %+v", l)
	}
	if s.Totals.Received != 25 || s.Totals.Shown != 10 || s.Totals.DroppedFromView != 15 || s.Totals.BufferFill != 1 {
		t.Fatalf("totals %+v", s.Totals)
	}
	got, total := f.m.Messages(stream, 3)
	if total != 25 || len(got) != 3 {
		t.Fatalf("Messages: %d, total %d", len(got), total)
	}
	for i, g := range got {
		if string(g.Payload) != fmt.Sprint("m-", 22+i) || g.Seq != uint64(23+i) || g.Topic != "/default/ring" ||
			g.Subscription != "s" || g.Consumer != "c" || g.Key != "k" || !g.HasKey || g.ProducerName != "p" ||
			g.ProducerID == 0 || g.PublishTime.IsZero() || g.ReceivedAt.Before(g.PublishTime) || g.Redelivered {
			t.Fatalf("message %d: %+v", i, g)
		}
	}
	// Ten more evict the ten kept: the three returned are not dropped from view, the seven others are.
	send(25, 35)
	if s := f.m.Snapshot(); s.Totals.DroppedFromView != 22 || s.Totals.Received != 35 {
		t.Fatalf("totals %+v", s.Totals)
	}
	got, total = f.m.Messages(stream, 100)
	if total != 35 || len(got) != 10 || string(got[0].Payload) != "m-25" || string(got[9].Payload) != "m-34" {
		t.Fatalf("Messages: %d, total %d", len(got), total)
	}
}

// Acks and nacks are counted per subscription with their latency; a nacked message delivered again is a
// redelivery; Pending is what was neither acked nor nacked.
func TestAcksNacksAndRedeliveryAgainstBroker(t *testing.T) {
	f := start(t, Options{})
	p := f.producer(t, "/default/acks", "p", true)
	cons := f.consumer(t, "/default/acks", "s", "c")
	for i := range 5 {
		if _, err := p.Send(ctxT(t), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	msgs := receive(t, cons, 5)
	for _, m := range msgs[:3] {
		if err := cons.Ack(ctxT(t), m); err != nil {
			t.Fatal(err)
		}
	}
	if err := cons.Nack(ctxT(t), msgs[3], 0, "again"); err != nil {
		t.Fatal(err)
	}
	again := receive(t, cons, 1)[0]
	if again.ID.Offset != msgs[3].ID.Offset {
		t.Fatalf("redelivered offset %d, want %d", again.ID.Offset, msgs[3].ID.Offset)
	}
	s := f.m.Snapshot()
	sub := findSub(t, s, "/default/acks", "s")
	if sub.Received != 6 || sub.Acked != 3 || sub.Nacked != 1 || sub.Redelivered != 1 || sub.Pending != 2 || sub.AckErrors != 0 {
		t.Fatalf("subscription %+v", sub)
	}
	if l := sub.AckLatency; l.Count != 4 || l.Max <= 0 {
		t.Fatalf("ack latency %+v", l)
	}
	got, _ := f.m.Messages(StreamID("/default/acks", "s", "c"), 1)
	if len(got) != 1 || !got[0].Redelivered || got[0].Offset != again.ID.Offset {
		t.Fatalf("last message %+v", got)
	}
	for _, m := range []*client.Message{msgs[4], again} {
		if err := cons.Ack(ctxT(t), m); err != nil {
			t.Fatal(err)
		}
	}
	if sub := findSub(t, f.m.Snapshot(), "/default/acks", "s"); sub.Pending != 0 || sub.Acked != 5 {
		t.Fatalf("after acking everything: %+v", sub)
	}
}

// Health checks of producers and consumers, connection states and re-creations show up.
func TestHealthAndConnectionsAgainstBroker(t *testing.T) {
	f := start(t, Options{}, client.WithHealthInterval(20*time.Millisecond))
	p := f.producer(t, "/default/health", "hp", false)
	f.consumer(t, "/default/health", "s", "hc")
	s := eventually(t, f.m, "health checks of both", func(s Snapshot) bool {
		return len(s.Health) == 2 && s.Health[0].Status == HealthOK && s.Health[1].Status == HealthOK
	})
	if s.Health[0].Consumer || s.Health[0].Name != "hp" || !s.Health[1].Consumer || s.Health[1].Name != "hc" ||
		s.Health[0].ID == 0 || s.Health[0].At.IsZero() || s.Health[0].RTT <= 0 {
		t.Fatalf("health %+v", s.Health)
	}
	if len(s.Conns) != 1 || s.Conns[0].State != ConnReady || s.Conns[0].Addr == "" || !s.Reachable {
		t.Fatalf("conns %+v reachable %v", s.Conns, s.Reachable)
	}
	// Deleting the topic makes the broker answer CLOSE: the producer is re-created before its next send.
	if err := f.admin.DeleteTopic(ctxT(t), "/default/health"); err != nil {
		t.Fatal(err)
	}
	eventually(t, f.m, "a CLOSE answer", func(s Snapshot) bool { return !s.Health[0].Consumer && s.Health[0].Status == HealthClose })
	if _, err := p.Send(ctxT(t), []byte("x")); err != nil {
		t.Fatal(err)
	}
	s = eventually(t, f.m, "the producer's re-creation", func(s Snapshot) bool { return s.Health[0].Reconnects == 1 })
	if ps := findProducer(t, s, "/default/health", "hp"); ps.State != ProducerRecreated {
		t.Fatalf("producer %+v", ps)
	}
}

// Connectors: state and counters from the runtime, throughput series from the monitor's ticks, and the
// actions delegated to the runtime.
func TestConnectorsAgainstBroker(t *testing.T) {
	clk := newFakeClock()
	f := start(t, Options{Clock: clk.Now})
	if err := f.m.StartConnector("gen"); !errors.Is(err, ErrNoRuntime) {
		t.Fatalf("without a runtime: %v", err)
	}
	rt := connectors.NewRuntime(f.c, connectors.DefaultEnv(), connectors.RuntimeOptions{})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rt.Close(ctx)
	})
	cfg, err := connectors.DefaultEnv().ParseInstance(map[string]any{
		"name": "gen", "kind": "generator", "topic": "/default/gen", "rate": 200.0, "autostart": false,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := rt.Add(cfg); err != nil {
		t.Fatal(err)
	}
	f.m.Attach(f.c, f.admin, rt)
	s := f.m.Snapshot()
	if len(s.Connectors) != 1 || s.Connectors[0].Name != "gen" || s.Connectors[0].State != connectors.StateStopped || len(s.Connectors[0].Series) != 0 {
		t.Fatalf("connectors %+v", s.Connectors)
	}
	f.m.tick() // starts the series
	if err := f.m.StartConnector("gen"); err != nil {
		t.Fatal(err)
	}
	eventually(t, f.m, "the generator running and publishing", func(s Snapshot) bool {
		return s.Connectors[0].State == connectors.StateRunning && s.Connectors[0].Processed > 0
	})
	clk.Advance(time.Second)
	f.m.tick()
	clk.Advance(time.Second)
	s = f.m.Snapshot()
	c := s.Connectors[0]
	if len(c.Series) != 2 || c.Series[1] <= 0 {
		t.Fatalf("series %v after a tick", c.Series)
	}
	if _, ok := producerOf(s, "/default/gen", "gen"); !ok {
		t.Fatalf("the connector's producer is not listed: %+v", s.Producers)
	}
	if err := f.m.StopConnector(ctxT(t), "gen"); err != nil {
		t.Fatal(err)
	}
	if st := f.m.Snapshot().Connectors[0].State; st != connectors.StateStopped {
		t.Fatalf("state %v after StopConnector", st)
	}
	if err := f.m.RestartConnector(ctxT(t), "gen"); err != nil {
		t.Fatal(err)
	}
	eventually(t, f.m, "the restarted generator", func(s Snapshot) bool { return s.Connectors[0].State == connectors.StateRunning })
	if err := f.m.StartConnector("nope"); !errors.Is(err, connectors.ErrUnknownInstance) || err.Error() != "start connector nope: no such connector" {
		t.Fatalf("unknown connector: %v", err) // the name said once
	}
	if err := f.m.RestartConnector(ctxT(t), "nope"); !errors.Is(err, connectors.ErrUnknownInstance) || err.Error() != "restart connector nope: no such connector" {
		t.Fatalf("unknown connector: %v", err)
	}
	if s := f.m.Snapshot(); !strings.Contains(s.LastError, "nope") {
		t.Fatalf("last error %q", s.LastError)
	}
}

// An ad-hoc producer at 50/s is seen by an ad-hoc consumer; names are unique; both stop.
func TestAdHocProducerAndConsumer(t *testing.T) {
	f := start(t, Options{})
	ctx := ctxT(t)
	if err := f.m.StartProducer(ctx, ProducerSpec{Name: "ap", Topic: "/default/adhoc", Rate: 50}); err != nil {
		t.Fatal(err)
	}
	if err := f.m.StartProducer(ctx, ProducerSpec{Name: "ap", Topic: "/default/adhoc", Rate: 50}); !errors.Is(err, ErrExists) {
		t.Fatalf("a second producer ap: %v", err)
	}
	eventually(t, f.m, "the producer's first message", func(s Snapshot) bool {
		p, ok := producerOf(s, "/default/adhoc", "ap")
		return ok && p.Msgs > 0
	})
	if err := f.m.StartConsumer(ctx, ConsumerSpec{Name: "ac", Topic: "/default/adhoc", Subscription: "s", Type: SubscriptionExclusive}); err != nil {
		t.Fatal(err)
	}
	stream := StreamID("/default/adhoc", "s", "ac")
	began := time.Now()
	s := eventually(t, f.m, "50 messages received", func(s Snapshot) bool {
		c, ok := consumerOf(s, stream)
		return ok && c.Received >= 50
	})
	elapsed := time.Since(began)
	c, _ := consumerOf(s, stream)
	p, _ := producerOf(s, "/default/adhoc", "ap")
	if !p.AdHoc || !c.AdHoc || c.Type != SubscriptionExclusive || c.State != ConsumerSubscribed {
		t.Fatalf("producer %+v consumer %+v", p, c)
	}
	if elapsed < 500*time.Millisecond { // 50 at 50/s (with a burst of 5) take about a second
		t.Fatalf("50 messages in %v: faster than the rate", elapsed)
	}
	msgs, _ := f.m.Messages(stream, 1)
	if len(msgs) != 1 || !strings.HasPrefix(string(msgs[0].Payload), `{"seq":`) {
		t.Fatalf("messages %+v", msgs)
	}
	eventually(t, f.m, "the consumer's acks", func(s Snapshot) bool { return findSub(t, s, "/default/adhoc", "s").Acked >= 50 })

	if err := f.m.StopProducer(ctx, "ap"); err != nil {
		t.Fatal(err)
	}
	if err := f.m.StopProducer(ctx, "ap"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stopping ap again: %v", err)
	}
	if p, _ := producerOf(f.m.Snapshot(), "/default/adhoc", "ap"); p.AdHoc || p.State != ProducerClosed {
		t.Fatalf("stopped producer %+v", p)
	}
	// Rate 0: one message, rendered from the template, and the name is free again.
	for _, payload := range []string{`{"n":{{seq}}}`, "verbatim"} {
		if err := f.m.StartProducer(ctx, ProducerSpec{Name: "ap", Topic: "/default/adhoc", Payload: payload, Key: "k1"}); err != nil {
			t.Fatal(err)
		}
	}
	s = eventually(t, f.m, "the two single messages", func(s Snapshot) bool {
		msgs, _ := f.m.Messages(stream, 2)
		return len(msgs) == 2 && string(msgs[1].Payload) == "verbatim"
	})
	msgs, _ = f.m.Messages(stream, 2)
	if string(msgs[0].Payload) != `{"n":0}` || msgs[0].Key != "k1" {
		t.Fatalf("single messages %q %q", msgs[0].Payload, msgs[0].Key)
	}
	if err := f.m.StartProducer(ctx, ProducerSpec{Topic: "/default/adhoc", Payload: "{{nope}}"}); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("a bad template: %v", err)
	}
	if err := f.m.StartProducer(ctx, ProducerSpec{Topic: "/default/adhoc", Rate: -1}); !errors.Is(err, ErrInvalidSpec) {
		t.Fatalf("a negative rate: %v", err)
	}
	if err := f.m.StartConsumer(ctx, ConsumerSpec{Topic: "/default/missing"}); !errors.Is(err, client.ErrTopicNotFound) {
		t.Fatalf("a consumer of a missing topic: %v", err)
	}
	if err := f.m.StopConsumer(ctx, "ac"); err != nil {
		t.Fatal(err)
	}
	if c, _ := consumerOf(f.m.Snapshot(), stream); c.AdHoc || c.State != ConsumerClosed {
		t.Fatalf("stopped consumer %+v", c)
	}
	// Generated names; Close stops what is left.
	if err := f.m.StartProducer(ctx, ProducerSpec{Topic: "/default/adhoc", Rate: 100}); err != nil {
		t.Fatal(err)
	}
	if err := f.m.StartConsumer(ctx, ConsumerSpec{Topic: "/default/adhoc"}); err != nil {
		t.Fatal(err)
	}
	s = f.m.Snapshot()
	if _, ok := producerOf(s, "/default/adhoc", "console-producer-1"); !ok {
		t.Fatalf("no generated producer name: %+v", s.Producers)
	}
	if _, ok := consumerOf(s, StreamID("/default/adhoc", "console-consumer-2", "console-consumer-2")); !ok {
		t.Fatalf("no generated consumer name: %+v", s.Consumers)
	}
	f.m.Close()
	if err := f.m.StartProducer(ctx, ProducerSpec{Topic: "/default/adhoc", Rate: 1}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// A read-only monitor refuses every action that changes state.
func TestReadOnlyRefusesActions(t *testing.T) {
	f := start(t, Options{ReadOnly: true})
	rt := connectors.NewRuntime(f.c, connectors.DefaultEnv(), connectors.RuntimeOptions{})
	t.Cleanup(func() { rt.Close(context.Background()) })
	f.m.Attach(f.c, f.admin, rt)
	ctx := ctxT(t)
	for name, err := range map[string]error{
		"StartConnector":   f.m.StartConnector("gen"),
		"StopConnector":    f.m.StopConnector(ctx, "gen"),
		"RestartConnector": f.m.RestartConnector(ctx, "gen"),
		"StartProducer":    f.m.StartProducer(ctx, ProducerSpec{Topic: "/default/ro", Rate: 1}),
		"StartConsumer":    f.m.StartConsumer(ctx, ConsumerSpec{Topic: "/default/ro", Subscription: "s"}),
	} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s: %v, want ErrReadOnly", name, err)
		}
	}
	s := f.m.Snapshot()
	if !s.ReadOnly || s.LastError != "" || len(s.Producers) != 0 {
		t.Fatalf("snapshot %+v", s)
	}
	// Looking is allowed.
	if err := f.m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
}

// Lookup and Refresh answer from the broker and its admin port, and remember what they found.
func TestLookupAndRefreshAgainstBroker(t *testing.T) {
	f := start(t, Options{})
	ctx := ctxT(t)
	f.producer(t, "/default/look", "p", true)
	f.consumer(t, "/default/look", "sub-b", "c1")
	f.consumer(t, "/default/look", "sub-a", "c2")
	pp, err := f.c.NewProducer(ctx, client.ProducerConfig{Topic: "/default/parted", Partitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pp.Close(context.Background()) })

	lr, err := f.m.Lookup(ctx, "/default/look")
	if err != nil || lr.ResponseType != "connect" || lr.BrokerURL == "" || lr.ConnectURL == "" || lr.Latency <= 0 || len(lr.Partitions) != 0 || lr.At.IsZero() {
		t.Fatalf("lookup: %+v, %v", lr, err)
	}
	lr, err = f.m.Lookup(ctx, "/default/parted")
	want := []string{"/default/parted-part-0", "/default/parted-part-1", "/default/parted-part-2"}
	if err != nil || lr.ResponseType == "failed" || !slices.Equal(lr.Partitions, want) {
		t.Fatalf("partitioned lookup: %+v, %v", lr, err)
	}
	lr, err = f.m.Lookup(ctx, "/default/none")
	if !errors.Is(err, client.ErrTopicNotFound) || lr.ResponseType != "failed" || lr.Err == "" {
		t.Fatalf("lookup of a missing topic: %+v, %v", lr, err)
	}
	for i := range maxLookups {
		f.m.Lookup(ctx, fmt.Sprint("/default/none-", i))
	}
	f.m.Lookup(ctx, "/default/look")
	s := f.m.Snapshot()
	if len(s.Lookups) != maxLookups || s.Lookups[0].Topic != "/default/look" || s.Lookups[1].Topic != fmt.Sprint("/default/none-", maxLookups-1) {
		t.Fatalf("%d lookups, first %+v", len(s.Lookups), s.Lookups[0])
	}

	if err := f.m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	s = f.m.Snapshot()
	if !slices.Contains(s.Namespaces, "default") {
		t.Fatalf("namespaces %v", s.Namespaces)
	}
	var names []string
	for _, tp := range s.Topics {
		names = append(names, tp.Name)
		switch tp.Name {
		case "/default/look":
			if !tp.Reliable || !slices.Equal(tp.Subscriptions, []string{"sub-a", "sub-b"}) || tp.Partitions != 0 || tp.Namespace != "default" {
				t.Fatalf("topic %+v", tp)
			}
		case "/default/parted-part-1":
			if tp.Partitions != 3 || tp.Reliable {
				t.Fatalf("partition %+v", tp)
			}
		}
	}
	if !slices.IsSorted(names) || !slices.Contains(names, "/default/look") || !slices.Contains(names, "/default/parted-part-1") {
		t.Fatalf("topics %v", names)
	}

	// Without an admin client, or a client, the actions say so.
	f.m.Attach(nil, nil, nil)
	if err := f.m.Refresh(ctx); !errors.Is(err, ErrNoAdmin) {
		t.Fatalf("Refresh without admin: %v", err)
	}
	if _, err := f.m.Lookup(ctx, "/default/look"); !errors.Is(err, ErrNoClient) {
		t.Fatalf("Lookup without client: %v", err)
	}
	if err := f.m.StartProducer(ctx, ProducerSpec{Topic: "/default/look", Rate: 1}); !errors.Is(err, ErrNoClient) {
		t.Fatalf("StartProducer without client: %v", err)
	}
}

// Refresh reports an unreachable admin port.
func TestRefreshFailure(t *testing.T) {
	m := newTestMonitor(t, Options{})
	admin, err := client.ConnectAdmin(context.Background(), "127.0.0.1:1",
		client.WithRetry(client.RetryPolicy{MaxRetries: 1, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	m.Attach(nil, admin, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.Refresh(ctx); err == nil {
		t.Fatal("Refresh of an unreachable admin port succeeded")
	}
	if s := m.Snapshot(); s.LastError == "" || s.Reachable {
		t.Fatalf("last error %q reachable %v", s.LastError, s.Reachable)
	}
}

// Refresh pings the broker: a console with nothing open shows it reachable while the admin API at a wrong
// address does not answer (AdminErr says so), and unreachable once the broker stopped; a working admin API
// clears AdminErr.
func TestRefreshPingsTheBroker(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	m := newTestMonitor(t, Options{})
	c, err := client.Connect(context.Background(), srv.URL(), client.WithObserver(m))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	quick := client.WithRetry(client.RetryPolicy{MaxRetries: 1, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	wrong, err := client.ConnectAdmin(context.Background(), "127.0.0.1:1", quick)
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	m.Attach(c, wrong, nil)
	if m.Snapshot().Reachable {
		t.Fatal("reachable before anything answered")
	}
	ctx := ctxT(t)
	if err := m.Refresh(ctx); err == nil || !strings.Contains(err.Error(), "the admin API at http://127.0.0.1:1 does not answer") {
		t.Fatalf("Refresh = %v", err)
	}
	s := m.Snapshot()
	if !s.Reachable || !strings.Contains(s.AdminErr, "the admin API at http://127.0.0.1:1 does not answer") {
		t.Fatalf("reachable %v, admin error %q: want the broker reachable and the admin API not", s.Reachable, s.AdminErr)
	}
	if len(s.Lookups) != 0 {
		t.Errorf("the ping shows as a lookup: %+v", s.Lookups)
	}

	right, err := client.ConnectAdmin(context.Background(), srv.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer right.Close()
	m.Attach(c, right, nil)
	if err := m.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if s := m.Snapshot(); s.AdminErr != "" || !s.Reachable {
		t.Fatalf("after a good refresh: reachable %v, admin error %q", s.Reachable, s.AdminErr)
	}

	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	m.Refresh(rctx)
	if m.Snapshot().Reachable {
		t.Error("reachable after the broker stopped and a ping failed")
	}
}

// A service URL where no broker answers is unreachable even when the admin API answers: the admin API
// does not speak for the broker.
func TestRefreshWrongServiceURL(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	m := newTestMonitor(t, Options{})
	c, err := client.Connect(context.Background(), srv.AdminURL(), client.WithObserver(m)) // not the client port
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	admin, err := client.ConnectAdmin(context.Background(), srv.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.CreateTopic(ctxT(t), "/default/listed", client.TopicOptions{}); err != nil {
		t.Fatal(err)
	}
	m.Attach(c, admin, nil)
	if err := m.Refresh(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if s := m.Snapshot(); s.Reachable || s.AdminErr != "" || len(s.Topics) == 0 {
		t.Errorf("reachable %v, admin error %q, %d topics: want unreachable, the admin API fine", s.Reachable, s.AdminErr, len(s.Topics))
	}
}
