package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/internal/testenv"
)

// ackOutcomes records the done calls of asynchronous acks, by payload.
type ackOutcomes struct {
	mu    sync.Mutex
	calls map[string][]error
}

func newAckOutcomes() *ackOutcomes { return &ackOutcomes{calls: map[string][]error{}} }

func (o *ackOutcomes) done(payload string) func(error) {
	return func(err error) {
		o.mu.Lock()
		o.calls[payload] = append(o.calls[payload], err)
		o.mu.Unlock()
	}
}

// count returns how many done calls were made in all.
func (o *ackOutcomes) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, errs := range o.calls {
		n += len(errs)
	}
	return n
}

// ackedAll reports whether the subscription's cursor reached the topic's end: the broker holds every message
// as acknowledged.
func ackedAll(srv *broker.Server, topic, sub string) bool {
	info, ok := srv.Topic(topic)
	if !ok {
		return false
	}
	for _, s := range info.Subscriptions {
		if s.Name == sub {
			return s.Cursor == info.NextOffset && s.InFlight == 0 && s.Waiting == 0
		}
	}
	return false
}

// ackProducer creates a reliable producer, and with it the topic, with the package's producer.
func ackProducer(t *testing.T, c *Client, topic string) *Producer {
	t.Helper()
	p, err := c.NewProducer(ctCtx(t), ProducerConfig{Topic: topic, Name: "ack-producer", Dispatch: Reliable})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// ackPublish publishes n messages "m-0" … with p, asynchronously.
func ackPublish(t *testing.T, p *Producer, n int) {
	t.Helper()
	var failed atomic.Int64
	for i := range n {
		if err := p.SendAsync(ctCtx(t), []byte(fmt.Sprint("m-", i)), func(_ SendResult, err error) {
			if err != nil {
				failed.Add(1)
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctCtx(t)); err != nil || failed.Load() > 0 {
		t.Fatalf("publishing: %v, %d failed", err, failed.Load())
	}
}

// Many acks are in flight at once on one consumer, bounded by its window; each gets exactly one answer and
// the broker counts every message acknowledged.
func TestAckAsyncManyInFlight(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic, n, window = "/default/ack-many", 2000, 32
	c := ctClient(t, srv.URL())
	prod := ackProducer(t, c, topic)
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "n", AckWindow: window})
	ackPublish(t, prod, n)

	out := newAckOutcomes()
	peak := 0
	for range n {
		m := ctNext(t, cons)
		if err := cons.AckAsync(ctCtx(t), m, out.done(string(m.Payload))); err != nil {
			t.Fatalf("AckAsync(%s): %v", m.Payload, err)
		}
		peak = max(peak, cons.AcksInFlight())
	}
	if err := cons.FlushAcks(ctCtx(t)); err != nil {
		t.Fatal(err)
	}
	if got := out.count(); got != n {
		t.Fatalf("%d done calls after FlushAcks, want %d", got, n)
	}
	for p, errs := range out.calls {
		if len(errs) != 1 || errs[0] != nil {
			t.Fatalf("ack of %s answered %v", p, errs)
		}
	}
	if peak < 2 || peak > window {
		t.Fatalf("at most %d acks were in flight at once, want between 2 and the window, %d", peak, window)
	}
	if cons.AcksInFlight() != 0 {
		t.Fatalf("%d acks in flight after FlushAcks", cons.AcksInFlight())
	}
	testenv.Eventually(t, 5*time.Second, func() bool { return ackedAll(srv, topic, "s") },
		"the broker does not count every message acknowledged")
}

// NackAsync shares the window and has the message delivered again.
func TestNackAsyncRedelivers(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{FailurePolicy: broker.FailurePolicy{
		MaxRedeliveryCount: 10, AckTimeout: 30 * time.Second, BaseRedeliveryDelay: 10 * time.Millisecond,
		MaxRedeliveryDelay: 10 * time.Second, Backoff: broker.BackoffFixed, Poison: broker.PoisonDrop,
	}})
	const topic = "/default/nack-async"
	p := ctNewProducer(t, srv, topic, "p", true)
	c := ctClient(t, srv.URL())
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "n"})
	p.send("again")
	m := ctNext(t, cons)
	answered := make(chan error, 1)
	if err := cons.NackAsync(ctCtx(t), m, 0, "later", func(err error) { answered <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-answered; err != nil {
		t.Fatalf("nack answered %v", err)
	}
	again := ctNext(t, cons)
	if string(again.Payload) != "again" || again.ID.Offset != m.ID.Offset {
		t.Fatalf("after the nack got %q@%d, want again@%d", again.Payload, again.ID.Offset, m.ID.Offset)
	}
	if err := cons.AckAsync(ctCtx(t), again, nil); err != nil {
		t.Fatal(err)
	}
	if err := cons.FlushAcks(ctCtx(t)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, func() bool { return ackedAll(srv, topic, "s") }, "the ack after the nack was not counted")
}

// At least once across a broker restart with acks in flight: every ack ends in one answer, nothing is lost,
// and what was not acknowledged is delivered again.
func TestAckAsyncBrokerRestart(t *testing.T) {
	st := store.NewMemory()
	t.Cleanup(func() { st.Close() })
	port := testenv.FreePort(t)
	const topic, n = "/default/ack-restart", 600
	b1 := brokertest.Run(t, broker.Options{Port: port, Store: st})
	c := ctClient(t, b1.URL())
	prod := ackProducer(t, c, topic)
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "durable", AckWindow: 64})
	ackPublish(t, prod, n)

	out := newAckOutcomes()
	received := map[string]int{}
	accepted := 0
	take := func() {
		m := ctNext(t, cons)
		received[string(m.Payload)]++
		if err := cons.AckAsync(context.Background(), m, out.done(string(m.Payload))); err != nil {
			t.Fatalf("AckAsync(%s): %v", m.Payload, err)
		}
		accepted++
	}
	for range n / 3 {
		take()
	}
	ctShutdown(t, b1) // acks in flight now fail over to retries
	b2 := brokertest.Run(t, broker.Options{Port: port, Store: st})
	// Receive until every message was acknowledged at least once.
	acked := func() int {
		out.mu.Lock()
		defer out.mu.Unlock()
		k := 0
		for _, errs := range out.calls {
			if slicesContainsNil(errs) {
				k++
			}
		}
		return k
	}
	for {
		if err := cons.FlushAcks(ctCtx(t)); err != nil {
			t.Fatal(err)
		}
		if acked() == n {
			break
		}
		take()
	}
	if got := out.count(); got != accepted {
		t.Fatalf("%d acks accepted, %d answered", accepted, got)
	}
	for i := range n {
		p := fmt.Sprint("m-", i)
		if received[p] == 0 {
			t.Fatalf("%s was never delivered", p)
		}
	}
	// A message whose first ack failed came again (that is how it ended up acknowledged).
	for p, errs := range out.calls {
		if errs[0] != nil && received[p] < 2 {
			t.Fatalf("the ack of %s failed (%v) but it was not delivered again", p, errs[0])
		}
	}
	testenv.Eventually(t, 5*time.Second, func() bool { return ackedAll(b2, topic, "s") },
		"after the restart the broker does not count every message acknowledged")
}

func slicesContainsNil(errs []error) bool {
	for _, err := range errs {
		if err == nil {
			return true
		}
	}
	return false
}

// Close waits for the acks in flight: when it returns, every one was answered, and the broker counts them.
// Later acks are refused, without a done call.
func TestAckAsyncCloseDrains(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic, n = "/default/ack-close", 500
	c := ctClient(t, srv.URL())
	prod := ackProducer(t, c, topic)
	cons, err := c.Subscribe(ctCtx(t), ConsumerConfig{Topic: topic, Subscription: "s", Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	ackPublish(t, prod, n)
	out := newAckOutcomes()
	var last *Message
	for range n {
		last = ctNext(t, cons)
		if err := cons.AckAsync(ctCtx(t), last, out.done(string(last.Payload))); err != nil {
			t.Fatal(err)
		}
	}
	if err := cons.Close(ctCtx(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := out.count(); got != n {
		t.Fatalf("Close returned with %d of %d acks answered", got, n)
	}
	if !ackedAll(srv, topic, "s") {
		t.Fatal("Close returned before the broker counted every ack")
	}
	called := false
	if err := cons.AckAsync(ctCtx(t), last, func(error) { called = true }); !errors.Is(err, ErrClosed) {
		t.Fatalf("AckAsync after Close: %v, want ErrClosed", err)
	}
	if called {
		t.Fatal("done called for a refused ack")
	}
}

// When Close's context ends before the broker answers, the acks in flight are abandoned: each done gets
// ErrClosed, and Close returns the context's error once their goroutines ended.
func TestAckAsyncCloseAbandons(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic, n = "/default/ack-abandon", 8 // within the broker's dispatch window: no ack needed to take them
	p := ctNewProducer(t, srv, topic, "p", true)
	// Retries that outlast the test: the acks stay in flight while the broker is down.
	c := ctClient(t, srv.URL(), WithRetry(RetryPolicy{MaxRetries: 1000, BaseBackoff: time.Second, MaxBackoff: time.Second}))
	cons, err := c.Subscribe(ctCtx(t), ConsumerConfig{Topic: topic, Subscription: "s", Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []*Message
	for i := range n {
		p.send(fmt.Sprint("m-", i))
		msgs = append(msgs, ctNext(t, cons))
	}
	ctShutdown(t, srv)
	out := newAckOutcomes()
	for _, m := range msgs {
		if err := cons.AckAsync(context.Background(), m, out.done(string(m.Payload))); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := cons.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close with an ended context: %v", err)
	}
	if got := out.count(); got != n {
		t.Fatalf("Close returned with %d of %d acks answered", got, n)
	}
	for p, errs := range out.calls {
		if len(errs) != 1 || !errors.Is(errs[0], ErrClosed) {
			t.Fatalf("abandoned ack of %s answered %v, want ErrClosed", p, errs)
		}
	}
}

// Failures are reported per message: acks before the topic is deleted succeed, those after fail with
// ErrTopicNotFound; messages the consumer did not receive, and bad windows, are refused at once.
func TestAckAsyncFailuresPerMessage(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic, n = "/default/ack-fail", 10
	c := ctClient(t, srv.URL())
	prod := ackProducer(t, c, topic)
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "n"})
	ackPublish(t, prod, n)
	var msgs []*Message
	for range n {
		msgs = append(msgs, ctNext(t, cons))
	}
	out := newAckOutcomes()
	for _, m := range msgs[:n/2] {
		if err := cons.AckAsync(ctCtx(t), m, out.done(string(m.Payload))); err != nil {
			t.Fatal(err)
		}
	}
	if err := cons.FlushAcks(ctCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := prod.Close(ctCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := adminTestAdmin(t, srv).DeleteTopic(ctCtx(t), topic); err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs[n/2:] {
		if err := cons.AckAsync(ctCtx(t), m, out.done(string(m.Payload))); err != nil {
			t.Fatal(err)
		}
	}
	if err := cons.FlushAcks(ctCtx(t)); err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		errs := out.calls[string(m.Payload)]
		switch {
		case len(errs) != 1:
			t.Fatalf("ack of %s answered %d times", m.Payload, len(errs))
		case i < n/2 && errs[0] != nil:
			t.Fatalf("ack of %s before the deletion: %v", m.Payload, errs[0])
		case i >= n/2 && !errors.Is(errs[0], ErrTopicNotFound):
			t.Fatalf("ack of %s after the deletion: %v, want ErrTopicNotFound", m.Payload, errs[0])
		}
	}

	if err := cons.AckAsync(ctCtx(t), nil, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("AckAsync(nil): %v", err)
	}
	if err := cons.NackAsync(ctCtx(t), &Message{ID: MessageID{Topic: "/default/elsewhere"}}, 0, "", nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("NackAsync of a foreign message: %v", err)
	}
	for _, w := range []int{-1, MaxAckWindow + 1} {
		if _, err := c.Subscribe(ctCtx(t), ConsumerConfig{Topic: topic, Subscription: "s2", AckWindow: w}); !errors.Is(err, ErrInvalidConfig) {
			t.Fatalf("an ack window of %d: %v", w, err)
		}
	}
}

// done may call AckAsync (its doc says so): with a full window, the place of the ack whose done runs is free
// by then, so a chain of acks each started from the previous one's done goes through even with a window of 1.
func TestAckAsyncFromDoneWithFullWindow(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic, n = "/default/ack-chain", 3
	c := ctClient(t, srv.URL())
	prod := ackProducer(t, c, topic)
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "n", AckWindow: 1})
	ackPublish(t, prod, n)
	msgs := make([]*Message, n)
	for i := range msgs {
		msgs[i] = ctNext(t, cons)
	}
	ctx := ctCtx(t)
	results := make(chan error, 2*n)
	var chain func(i int) func(error)
	chain = func(i int) func(error) {
		return func(err error) {
			results <- err
			if i+1 < n {
				// Blocks until a place is free: the deadline ends it if this ack's own place is still held.
				if err := cons.AckAsync(ctx, msgs[i+1], chain(i+1)); err != nil {
					results <- fmt.Errorf("AckAsync from done: %w", err)
				}
			}
		}
	}
	if err := cons.AckAsync(ctCtx(t), msgs[0], chain(0)); err != nil {
		t.Fatal(err)
	}
	for range n {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	if err := cons.FlushAcks(ctCtx(t)); err != nil {
		t.Fatal(err)
	}
	if cons.AcksInFlight() != 0 {
		t.Fatalf("%d acks in flight after FlushAcks", cons.AcksInFlight())
	}
	testenv.Eventually(t, 5*time.Second, func() bool { return ackedAll(srv, topic, "s") },
		"the broker does not count every message acknowledged")
}
