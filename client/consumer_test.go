package client

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
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/danubepb"
)

func TestConsumerConfigErrors(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	ctNewProducer(t, srv, "/default/cfg", "p", false)
	c := ctClient(t, srv.URL())
	ctx := ctCtx(t)
	for _, tc := range []struct {
		name string
		cfg  ConsumerConfig
		want error
	}{
		{"no topic", ConsumerConfig{Subscription: "s"}, ErrInvalidConfig},
		{"no subscription", ConsumerConfig{Topic: "/default/cfg"}, ErrInvalidConfig},
		{"bad type", ConsumerConfig{Topic: "/default/cfg", Subscription: "s", Type: 7}, ErrInvalidConfig},
		{"filters without KeyShared", ConsumerConfig{Topic: "/default/cfg", Subscription: "s", Type: Shared, KeyFilters: []string{"a*"}}, ErrInvalidConfig},
		{"unknown topic", ConsumerConfig{Topic: "/default/nope", Subscription: "s"}, ErrTopicNotFound},
		{"prefix of another topic only", ConsumerConfig{Topic: "/default/cf", Subscription: "s"}, ErrTopicNotFound},
		{"invalid topic", ConsumerConfig{Topic: "no-slashes", Subscription: "s"}, ErrInvalidTopic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cons, err := c.Subscribe(ctx, tc.cfg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Subscribe = %v, %v; want %v", cons, err, tc.want)
			}
		})
	}
}

func TestConsumerDefaults(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	ctNewProducer(t, srv, "/default/defaults", "p", false)
	c := ctClient(t, srv.URL())
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: "/default/defaults", Subscription: "s"})
	if !strings.HasPrefix(cons.Name(), "consumer-") || len(cons.Name()) <= len("consumer-") {
		t.Errorf("default name %q", cons.Name())
	}
	if cons.Topic() != "/default/defaults" || cons.Subscription() != "s" || !slices.Equal(cons.Partitions(), []string{"/default/defaults"}) {
		t.Errorf("Topic %q Subscription %q Partitions %v", cons.Topic(), cons.Subscription(), cons.Partitions())
	}
	if cap(cons.Messages()) != DefaultOptions().ReceiveBuffer {
		t.Errorf("channel capacity %d", cap(cons.Messages()))
	}
	// The zero type is Shared, as in the official clients; the wire values are Exclusive 0, Shared 1.
	var zero ConsumerConfig
	if zero.Type != Shared || Shared.String() != "Shared" || KeyShared.String() != "KeyShared" {
		t.Error("subscription type values")
	}
}

func TestConsumerExclusive(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic = "/default/exclusive"
	p := ctNewProducer(t, srv, topic, "p", true)
	c := ctClient(t, srv.URL())
	a := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "a", Type: Exclusive})

	_, err := c.Subscribe(ctCtx(t), ConsumerConfig{Topic: topic, Subscription: "s", Name: "b", Type: Exclusive})
	if !errors.Is(err, ErrSubscriptionTaken) || !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("second Exclusive consumer: %v, want ErrSubscriptionTaken", err)
	}

	p.send("one")
	m := ctNext(t, a)
	if string(m.Payload) != "one" || m.ID.Topic != topic || m.Subscription != "s" || m.Attributes["k"] != "v" || m.ProducerName != "p" {
		t.Fatalf("message %+v", m)
	}
	ctAck(t, m)

	// Once the holder is gone, another name may take the subscription.
	if err := a.Close(ctCtx(t)); err != nil {
		t.Fatal(err)
	}
	var b *Consumer
	testenv.Eventually(t, 5*time.Second, func() bool {
		b, err = c.Subscribe(ctCtx(t), ConsumerConfig{Topic: topic, Subscription: "s", Name: "b"})
		return err == nil
	}, "b never got the subscription: %v", err)
	t.Cleanup(func() { b.Close(context.Background()) })
	p.send("two")
	if m := ctNext(t, b); string(m.Payload) != "two" {
		t.Fatalf("b got %q", m.Payload)
	}
}

func TestConsumerShared(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic = "/default/shared"
	p := ctNewProducer(t, srv, topic, "p", false)
	c := ctClient(t, srv.URL())
	var cs []*Consumer
	for i := range 3 {
		cs = append(cs, ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: fmt.Sprint("c", i), Type: Shared}))
	}
	const n = 30
	for i := range n {
		p.send(fmt.Sprint("m", i))
	}
	seen := map[string]bool{}
	for _, cons := range cs {
		for range n / len(cs) { // round-robin: an equal share each
			m := ctNext(t, cons)
			if seen[string(m.Payload)] {
				t.Fatalf("%q delivered twice", m.Payload)
			}
			seen[string(m.Payload)] = true
		}
	}
	for _, cons := range cs {
		ctNone(t, cons, 50*time.Millisecond)
	}
}

func TestConsumerFailover(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic = "/default/failover"
	p := ctNewProducer(t, srv, topic, "p", true)
	c := ctClient(t, srv.URL())
	a := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "a", Type: Failover})
	b := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "b", Type: Failover})

	for i := range 3 {
		p.send(fmt.Sprint("a", i))
	}
	for i := range 3 {
		m := ctNext(t, a)
		if string(m.Payload) != fmt.Sprint("a", i) {
			t.Fatalf("active consumer got %q", m.Payload)
		}
		ctAck(t, m)
	}
	ctNone(t, b, 100*time.Millisecond)

	if err := a.Close(ctCtx(t)); err != nil {
		t.Fatal(err)
	}
	p.send("b0")
	if m := ctNext(t, b); string(m.Payload) != "b0" {
		t.Fatalf("standby got %q", m.Payload)
	}
}

func TestConsumerKeyShared(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic = "/default/keyshared"
	p := ctNewProducer(t, srv, topic, "p", true)
	c := ctClient(t, srv.URL())
	red := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "red", Type: KeyShared, KeyFilters: []string{"red-*"}})
	blue := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "blue", Type: KeyShared, KeyFilters: []string{"blue-?"}})

	keys := []string{"red-1", "blue-1", "red-22", "blue-2", "red-", "blue-3"}
	for i, k := range keys {
		p.send(fmt.Sprint("m", i), k)
	}
	got := map[string][]string{}
	for range len(keys) {
		var m *Message
		select {
		case m = <-red.Messages():
			got["red"] = append(got["red"], m.RoutingKey)
		case m = <-blue.Messages():
			got["blue"] = append(got["blue"], m.RoutingKey)
		case <-time.After(10 * time.Second):
			t.Fatalf("timed out; got %v", got)
		}
		if !m.HasRoutingKey {
			t.Fatalf("message without its routing key: %+v", m)
		}
		ctAck(t, m)
	}
	if !slices.Equal(got["red"], []string{"red-1", "red-22", "red-"}) || !slices.Equal(got["blue"], []string{"blue-1", "blue-2", "blue-3"}) {
		t.Fatalf("keys by consumer: %v", got)
	}
}

func TestConsumerPartitions(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic = "/default/parts"
	var ps []*ctProducer
	for i := range 3 {
		ps = append(ps, ctNewProducer(t, srv, fmt.Sprintf("%s-part-%d", topic, i), "p", true))
	}
	// Topics that merely start with the name are not partitions of it.
	ctNewProducer(t, srv, topic+"-extra", "p", true)
	ctNewProducer(t, srv, topic+"y", "p", true)

	c := ctClient(t, srv.URL())
	cfg := ConsumerConfig{Topic: topic, Subscription: "s", Name: "all"}
	cons := ctSubscribe(t, c, cfg)
	want := []string{topic + "-part-0", topic + "-part-1", topic + "-part-2"}
	if !slices.Equal(cons.Partitions(), want) {
		t.Fatalf("Partitions = %v, want %v", cons.Partitions(), want)
	}
	for i, p := range ps {
		p.send(fmt.Sprint("x", i))
		p.send(fmt.Sprint("y", i))
	}
	got := map[string]string{}
	for range 6 {
		m := ctNext(t, cons)
		got[string(m.Payload)] = m.ID.Topic
		if err := cons.Ack(ctCtx(t), m); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		for _, pre := range []string{"x", "y"} {
			if got[fmt.Sprint(pre, i)] != want[i] {
				t.Fatalf("messages by partition: %v", got)
			}
		}
	}
	// The acks reached every partition's subscription: a new consumer with the same name gets nothing again.
	if err := cons.Close(ctCtx(t)); err != nil {
		t.Fatal(err)
	}
	again := ctSubscribe(t, c, cfg)
	ctNone(t, again, 300*time.Millisecond)
	ps[1].send("z")
	if m := ctNext(t, again); string(m.Payload) != "z" || m.ID.Topic != want[1] {
		t.Fatalf("after reconnecting: %q on %s", m.Payload, m.ID.Topic)
	}
}

func TestConsumerSubscribeAllOrNothing(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic = "/default/half"
	for i := range 3 {
		ctNewProducer(t, srv, fmt.Sprintf("%s-part-%d", topic, i), "p", true)
	}
	// Another consumer holds the Exclusive subscription on one partition only.
	raw := brokertest.Dial(t, srv)
	if _, err := raw.Consumer.Subscribe(ctCtx(t), &danubepb.ConsumerRequest{
		RequestId: 1, TopicName: topic + "-part-1", ConsumerName: "holder", Subscription: "s",
	}); err != nil {
		t.Fatal(err)
	}
	obs := &ctObserver{}
	c := ctClient(t, srv.URL(), WithObserver(obs))
	cons, err := c.Subscribe(ctCtx(t), ConsumerConfig{Topic: topic, Subscription: "s", Name: "mine"})
	if !errors.Is(err, ErrSubscriptionTaken) || cons != nil {
		t.Fatalf("Subscribe = %v, %v; want ErrSubscriptionTaken", cons, err)
	}
	c.mu.Lock()
	children := len(c.children)
	c.mu.Unlock()
	if children != 0 || obs.countConsumer(ConsumerSubscribed) != 0 {
		t.Fatalf("a failed Subscribe left %d consumers tracked and %d subscribed events", children, obs.countConsumer(ConsumerSubscribed))
	}
}

func TestConsumerAckNack(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{FailurePolicy: broker.FailurePolicy{
		MaxRedeliveryCount: 10, AckTimeout: 30 * time.Second, BaseRedeliveryDelay: 10 * time.Millisecond,
		MaxRedeliveryDelay: 10 * time.Second, Backoff: broker.BackoffFixed, Poison: broker.PoisonDrop,
	}})
	const topic = "/default/acks"
	p := ctNewProducer(t, srv, topic, "p", true)
	obs := &ctObserver{}
	c := ctClient(t, srv.URL(), WithObserver(obs))
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "n"})

	p.send("first")
	m := ctNext(t, cons)
	const delay = 300 * time.Millisecond
	start := time.Now()
	if err := cons.Nack(ctCtx(t), m, delay, "not now"); err != nil {
		t.Fatal(err)
	}
	again := ctNext(t, cons)
	if waited := time.Since(start); waited < delay {
		t.Errorf("redelivered after %v, before the nack's delay %v", waited, delay)
	}
	if string(again.Payload) != "first" || again.ID.Offset != m.ID.Offset || again.ID.Topic != topic {
		t.Fatalf("redelivery %q@%d, want first@%d", again.Payload, again.ID.Offset, m.ID.Offset)
	}
	if err := again.Ack(ctCtx(t)); err != nil {
		t.Fatal(err)
	}
	p.send("second")
	if m := ctNext(t, cons); string(m.Payload) != "second" {
		t.Fatalf("after the ack got %q", m.Payload)
	} else {
		ctAck(t, m)
	}
	ctNone(t, cons, 100*time.Millisecond)

	obs.mu.Lock()
	acks := append([]AckEvent(nil), obs.acks...)
	obs.mu.Unlock()
	if len(acks) != 3 || !acks[0].Nack || acks[1].Nack || acks[2].Nack || acks[0].Offset != m.ID.Offset ||
		acks[0].Topic != topic || acks[0].Subscription != "s" || acks[0].Err != nil || acks[0].Latency <= 0 {
		t.Fatalf("ack events %+v", acks)
	}

	// A message another consumer's topic delivered is refused.
	other := &Message{ID: MessageID{Topic: "/default/elsewhere"}}
	if err := cons.Ack(ctCtx(t), other); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Ack of a foreign message: %v", err)
	}
	if err := cons.Nack(ctCtx(t), nil, 0, ""); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Nack(nil): %v", err)
	}
}

func TestConsumerClose(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic = "/default/closing"
	p := ctNewProducer(t, srv, topic, "p", true)
	c := ctClient(t, srv.URL())
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "x", Type: Shared})
	p.send("kept")
	m := ctNext(t, cons)
	if err := cons.Close(ctCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := cons.Close(ctCtx(t)); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := cons.Receive(ctCtx(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Receive after Close: %v", err)
	}
	select {
	case _, ok := <-cons.Messages():
		if ok {
			t.Fatal("a message after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Messages() not closed")
	}
	// A message taken before Close can still be settled while the client is open.
	ctAck(t, m)

	// Client.Close closes its consumers.
	c2, err := Connect(ctCtx(t), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	cons2, err := c2.Subscribe(ctCtx(t), ConsumerConfig{Topic: topic, Subscription: "s2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-cons2.Messages(); ok {
		t.Fatal("a message after Client.Close")
	}
	if _, err := cons2.Receive(ctCtx(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Receive after Client.Close: %v", err)
	}
	if err := cons2.Close(ctCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Subscribe(ctCtx(t), ConsumerConfig{Topic: topic, Subscription: "s2"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Subscribe after Client.Close: %v", err)
	}
}

func TestConsumerReceiveContext(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	ctNewProducer(t, srv, "/default/idle", "p", true)
	c := ctClient(t, srv.URL())
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: "/default/idle", Subscription: "s"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := cons.Receive(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Receive with an expiring context: %v", err)
	}
}

func TestConsumerObserver(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic = "/default/observed"
	p := ctNewProducer(t, srv, topic, "p", true)
	obs := &ctObserver{}
	c := ctClient(t, srv.URL(), WithObserver(obs), WithHealthInterval(20*time.Millisecond))
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "watched"})
	p.send("hello")
	m := ctNext(t, cons)
	ctAck(t, m)

	testenv.Eventually(t, 5*time.Second, func() bool { return len(obs.healthEvents(HealthOK)) >= 2 }, "no health checks")
	h := obs.healthEvents(HealthOK)[0]
	id := cons.parts[0].consumerID()
	if !h.Consumer || h.Topic != topic || h.Name != "watched" || h.ID != id || h.Err != nil {
		t.Fatalf("health event %+v (id %d)", h, id)
	}
	obs.mu.Lock()
	recv := append([]ReceiveEvent(nil), obs.receive...)
	acks := append([]AckEvent(nil), obs.acks...)
	obs.mu.Unlock()
	if len(recv) != 1 || recv[0].Message != m {
		t.Fatalf("receive events %+v", recv)
	}
	if len(acks) != 1 || acks[0].Nack || acks[0].Offset != m.ID.Offset {
		t.Fatalf("ack events %+v", acks)
	}
	subs := obs.consumerEvents(ConsumerSubscribed)
	if len(subs) != 1 || subs[0].Topic != topic || subs[0].Subscription != "s" || subs[0].Name != "watched" || subs[0].ID != id {
		t.Fatalf("subscribed events %+v", subs)
	}
	if err := cons.Close(ctCtx(t)); err != nil {
		t.Fatal(err)
	}
	if closed := obs.consumerEvents(ConsumerClosed); len(closed) != 1 || closed[0].ID != id {
		t.Fatalf("closed events %+v", closed)
	}
	// Health checks stop with the consumer: Close returned after every goroutine ended.
	if n := cons.running.Load(); n != 0 {
		t.Fatalf("%d goroutines still running after Close", n)
	}
	if failed := obs.countConsumer(ConsumerFailed); failed != 0 {
		t.Fatalf("%d failed events", failed)
	}
}

func TestConsumerCloseWhileDeliveryBlocked(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic = "/default/backpressure"
	p := ctNewProducer(t, srv, topic, "p", true)
	obs := &ctObserver{}
	c := ctClient(t, srv.URL(), WithObserver(obs), WithReceiveBuffer(1))
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s"})
	for i := range 5 {
		p.send(fmt.Sprint("m", i))
	}
	// One message fills the channel; the next one waits in the receive loop.
	testenv.Eventually(t, 5*time.Second, func() bool {
		obs.mu.Lock()
		defer obs.mu.Unlock()
		return len(cons.Messages()) == 1 && len(obs.receive) >= 2
	}, "the channel never filled up")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := cons.Close(ctx); err != nil {
		t.Fatalf("Close with a blocked delivery: %v", err)
	}
	// The buffered message can still be drained; then the channel ends.
	if m, ok := <-cons.Messages(); !ok || string(m.Payload) != "m0" {
		t.Fatalf("buffered message %v %v", m, ok)
	}
	if _, ok := <-cons.Messages(); ok {
		t.Fatal("more than the buffered message after Close")
	}
}
