package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// ctSubscription returns the broker's view of a subscription.
func ctSubscription(t *testing.T, srv *broker.Server, topic, sub string) broker.SubscriptionInfo {
	t.Helper()
	info, ok := srv.Topic(topic)
	if !ok {
		t.Fatalf("no topic %s", topic)
	}
	for _, s := range info.Subscriptions {
		if s.Name == sub {
			return s
		}
	}
	t.Fatalf("no subscription %s on %s", sub, topic)
	return broker.SubscriptionInfo{}
}

// The zero ConsumerConfig.Type is Shared, as in the official clients, and the Go types go to the broker as
// their wire values (Exclusive 0, Shared 1, Failover 2, KeyShared 3), and come back from the admin API.
func TestSubscriptionTypeDefaultAndWireValues(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic = "/default/sub-types"
	ctNewProducer(t, srv, topic, "p", true)
	c := ctClient(t, srv.URL())
	a := adminTestAdmin(t, srv)
	for _, tc := range []struct {
		sub  string
		typ  SubscriptionType
		wire broker.SubscriptionType
	}{
		{"default", 0, broker.Shared},
		{"shared", Shared, broker.Shared},
		{"exclusive", Exclusive, broker.Exclusive},
		{"failover", Failover, broker.Failover},
		{"key-shared", KeyShared, broker.KeyShared},
	} {
		ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: tc.sub, Type: tc.typ})
		if got := ctSubscription(t, srv, topic, tc.sub).Type; got != tc.wire {
			t.Errorf("%s: the broker created a %s subscription, want %s", tc.sub, got, tc.wire)
		}
		_, typ, err := a.FailurePolicy(ctCtx(t), topic, tc.sub)
		if err != nil || typ != tc.typ {
			t.Errorf("%s: FailurePolicy type %s, %v; want %s", tc.sub, typ, err, tc.typ)
		}
	}
	if Shared != 0 {
		t.Fatal("the zero SubscriptionType is not Shared")
	}
	for w := int32(-1); w < 6; w++ {
		if got := int32(subscriptionTypeFromWire(w).wireType()); got != w {
			t.Errorf("wire %d read back as %d", w, got)
		}
	}
	if _, err := c.Subscribe(ctCtx(t), ConsumerConfig{Topic: topic, Subscription: "x", Type: -1}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("type -1: %v", err)
	}
}

// A partitioned Subscribe that fails on one partition releases the consumers it made on the others, so
// that (on the embedded broker) another consumer name can then take the Exclusive subscription.
func TestConsumerPartialSubscribeReleasesPartitions(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const base = "/default/partial"
	for i := range 2 {
		ctNewProducer(t, srv, fmt.Sprintf("%s-part-%d", base, i), "p", true)
	}
	// Another process holds part-1 of the Exclusive subscription for a moment.
	raw := brokertest.Dial(t, srv)
	resp, err := raw.Consumer.Subscribe(ctCtx(t), &danubepb.ConsumerRequest{RequestId: 1, TopicName: base + "-part-1",
		ConsumerName: "other", Subscription: "s", SubscriptionType: danubepb.ConsumerRequest_Exclusive})
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(context.Background())
	defer scancel()
	if _, err := raw.Consumer.ReceiveMessages(sctx, &danubepb.ReceiveRequest{ConsumerId: resp.GetConsumerId()}); err != nil {
		t.Fatal(err)
	}

	c := ctClient(t, srv.URL())
	_, err = c.Subscribe(ctCtx(t), ConsumerConfig{Topic: base, Subscription: "s", Name: "first", Type: Exclusive})
	if !errors.Is(err, ErrSubscriptionTaken) {
		t.Fatalf("Subscribe with part-1 taken: %v, want ErrSubscriptionTaken", err)
	}
	// part-0 subscribed "first" before part-1 failed; it was released: the broker counts it as gone.
	testenv.Eventually(t, 2*time.Second, func() bool {
		s := ctSubscription(t, srv, base+"-part-0", "s")
		return s.Consumers == 1 && s.ActiveConsumers == 0
	}, "part-0 after the failed Subscribe: %+v, want one inactive consumer", ctSubscription(t, srv, base+"-part-0", "s"))

	scancel() // the other process leaves
	testenv.Eventually(t, 5*time.Second, func() bool { return ctSubscription(t, srv, base+"-part-1", "s").ActiveConsumers == 0 },
		"the other consumer never left")
	cons, err := c.Subscribe(ctCtx(t), ConsumerConfig{Topic: base, Subscription: "s", Name: "second", Type: Exclusive})
	if err != nil {
		t.Fatalf("Subscribe with another name once both partitions are free: %v", err)
	}
	defer cons.Close(context.Background())
	if len(cons.Partitions()) != 2 {
		t.Fatalf("partitions %v", cons.Partitions())
	}
}

// A consumer's Ack or Nack of a message another consumer received is refused: it would settle the message
// of that offset on the wrong subscription.
func TestConsumerAckOfAnotherConsumersMessage(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic = "/default/foreign-ack"
	p := ctNewProducer(t, srv, topic, "p", true)
	c := ctClient(t, srv.URL())
	c1 := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s1", Name: "a"})
	c2 := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s2", Name: "b"})
	p.send("one")
	m1, m2 := ctNext(t, c1), ctNext(t, c2)
	if err := c2.Ack(ctCtx(t), m1); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("c2.Ack(m1 received on s1) = %v, want ErrInvalidConfig", err)
	}
	if err := c2.Nack(ctCtx(t), m1, 0, "no"); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("c2.Nack(m1 received on s1) = %v, want ErrInvalidConfig", err)
	}
	// Nothing was settled on s2: its message is still in flight.
	if s := ctSubscription(t, srv, topic, "s2"); s.InFlight != 1 {
		t.Fatalf("s2 after the refused ack: %+v", s)
	}
	if err := c1.Ack(ctCtx(t), m1); err != nil {
		t.Fatal(err)
	}
	ctAck(t, m2)
	testenv.Eventually(t, 5*time.Second, func() bool {
		return ctSubscription(t, srv, topic, "s1").InFlight == 0 && ctSubscription(t, srv, topic, "s2").InFlight == 0
	}, "acks not applied")
}

// A failing token provider is a retryable Unavailable, not a final Unauthenticated: a consumer whose
// stream is reopened during the outage survives it and receives again afterwards.
func TestConsumerSurvivesTokenProviderOutage(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	const topic = "/default/token-outage"
	p := ctNewProducer(t, srv, topic, "p", true)
	errTokenService := errors.New("token service: temporarily unavailable")
	var failing atomic.Bool
	tok := func(context.Context) (string, error) {
		if failing.Load() {
			return "", errTokenService
		}
		return "", nil // no token: the broker runs without authentication
	}
	obs := &ctObserver{}
	c := ctClient(t, "http://"+srv.Addr().String(), WithTokenFunc(tok), WithObserver(obs))
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "tk"})
	p.send("one")
	ctAck(t, ctNext(t, cons))

	failing.Store(true)
	// Another Subscribe with the same name takes the stream over: the consumer reopens it during the outage.
	raw := brokertest.Dial(t, srv)
	if _, err := raw.Consumer.Subscribe(ctCtx(t), &danubepb.ConsumerRequest{RequestId: 1, TopicName: topic, ConsumerName: "tk", Subscription: "s"}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, func() bool {
		for _, e := range obs.consumerEvents(ConsumerStreamEnded) {
			if errors.Is(e.Err, ErrUnavailable) { // the token provider's failure, retryable
				return true
			}
		}
		return false
	}, "the consumer never tried to reopen its stream during the outage")
	// The outage outlasts more reopen attempts, each refused as retryable.
	testenv.Eventually(t, 5*time.Second, func() bool {
		n := 0
		for _, e := range obs.consumerEvents(ConsumerStreamEnded) {
			if errors.Is(e.Err, ErrUnavailable) {
				n++
			}
		}
		return n >= 3
	}, "the consumer stopped trying to reopen its stream during the outage")
	failing.Store(false)
	p.send("two")
	if m := ctNext(t, cons); string(m.Payload) != "two" {
		t.Fatalf("after the outage got %q", m.Payload)
	}
	if err := cons.Err(); err != nil {
		t.Fatalf("the consumer failed: %v", err)
	}
	if n := obs.countConsumer(ConsumerFailed); n != 0 {
		t.Fatalf("%d failed events", n)
	}
}

// A broker that restarts without its state does not know the topic until a producer re-creates it: the
// consumer keeps subscribing again (reporting each attempt) and resumes once the topic is back.
func TestConsumerWaitsForTopicToComeBack(t *testing.T) {
	port := testenv.FreePort(t)
	const topic = "/default/comes-back"
	b1 := brokertest.Run(t, broker.Options{Port: port, AdminPort: -1})
	p := ctNewProducer(t, b1, topic, "p", true)
	obs := &ctObserver{}
	c := ctClient(t, b1.URL(), WithObserver(obs))
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s", Name: "patient"})
	p.send("before")
	ctAck(t, ctNext(t, cons))

	ctShutdown(t, b1)
	b2 := brokertest.Run(t, broker.Options{Port: port, AdminPort: -1}) // a fresh store: no topic
	notFound := func() int {
		n := 0
		for _, e := range obs.consumerEvents(ConsumerStreamEnded) {
			if errors.Is(e.Err, ErrTopicNotFound) {
				n++
			}
		}
		return n
	}
	testenv.Eventually(t, 10*time.Second, func() bool { return notFound() >= 3 }, "no re-subscribe attempts reported")
	if err := cons.Err(); err != nil || obs.countConsumer(ConsumerFailed) != 0 {
		t.Fatalf("the consumer failed within the grace period: %v", err)
	}

	p2 := ctNewProducer(t, b2, topic, "p", true) // the producer re-creates the topic
	testenv.Eventually(t, 10*time.Second, func() bool { return obs.countConsumer(ConsumerResubscribed) > 0 }, "never subscribed again")
	p2.send("after")
	if m := ctNext(t, cons); string(m.Payload) != "after" {
		t.Fatalf("after the topic came back got %q", m.Payload)
	}
}

// A topic that stays unknown for the whole grace period fails the consumer with ErrTopicNotFound.
func TestConsumerFailsWhenTopicStaysGone(t *testing.T) {
	port := testenv.FreePort(t)
	const topic = "/default/gone"
	b1 := brokertest.Run(t, broker.Options{Port: port, AdminPort: -1})
	ctNewProducer(t, b1, topic, "p", true)
	obs := &ctObserver{}
	c := ctClient(t, b1.URL(), WithObserver(obs))
	c.topicGrace = 300 * time.Millisecond
	cons := ctSubscribe(t, c, ConsumerConfig{Topic: topic, Subscription: "s"})
	ctShutdown(t, b1)
	st := store.NewMemory()
	t.Cleanup(func() { st.Close() })
	brokertest.Run(t, broker.Options{Port: port, AdminPort: -1, Store: st})
	select {
	case _, ok := <-cons.Messages():
		if ok {
			t.Fatal("unexpected message")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the consumer did not fail after the grace period")
	}
	if _, err := cons.Receive(ctCtx(t)); !errors.Is(err, ErrTopicNotFound) {
		t.Fatalf("Receive: %v, want ErrTopicNotFound", err)
	}
	if failed := obs.consumerEvents(ConsumerFailed); len(failed) != 1 || !errors.Is(failed[0].Err, ErrTopicNotFound) {
		t.Fatalf("failed events %+v", failed)
	}
}

// Consumers subscribing, receiving slowly (a 2-message buffer), and being closed or left to the client,
// while health checks keep answering CLOSE: Client.Close ends everything promptly.
func TestConsumerChaosClientClose(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{AdminPort: -1})
	const base = "/default/consumer-chaos"
	var prods []*ctProducer
	for i := range 3 {
		prods = append(prods, ctNewProducer(t, srv, fmt.Sprintf("%s-part-%d", base, i), "p", true))
	}
	intercept := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err == nil && method == danubepb.HealthCheck_HealthCheck_FullMethodName && rand.IntN(2) == 0 {
			reply.(*danubepb.HealthCheckResponse).Status = danubepb.HealthCheckResponse_CLOSE
		}
		return err
	}
	c, err := Connect(context.Background(), srv.URL(), WithHealthInterval(3*time.Millisecond), WithObserver(NopObserver{}),
		WithReceiveBuffer(2),
		WithRetry(RetryPolicy{MaxRetries: 3, BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}),
		WithDialOptions(grpc.WithChainUnaryInterceptor(intercept)))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var subscribed atomic.Int64
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			prods[i%3].send("m")
			time.Sleep(time.Millisecond) // pacing the load, not a wait
		}
	})
	for k := range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				cons, err := c.Subscribe(context.Background(), ConsumerConfig{Topic: base, Subscription: "s", Name: fmt.Sprint("n", k)})
				if err != nil {
					continue
				}
				subscribed.Add(1)
				for range 5 {
					ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
					m, err := cons.Receive(ctx)
					cancel()
					if err == nil {
						_ = m.Ack(context.Background())
					}
				}
				if rand.IntN(2) == 0 {
					_ = cons.Close(context.Background())
				} // else the client's Close closes it
			}
		})
	}
	// Let the chaos run for a while: enough consumers subscribed, received and closed.
	testenv.Eventually(t, 30*time.Second, func() bool { return subscribed.Load() >= 16 }, "16 subscriptions")
	ctCloseWithin(t, c)
	close(stop)
	wg.Wait()
}
