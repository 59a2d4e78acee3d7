package broker_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/danubepb"
)

func TestShutdownAfterFailedRestore(t *testing.T) {
	st := store.NewMemory()
	m := st.Meta()
	for k, v := range map[string]string{
		"/topics//default/t":          `{"name":"/default/t","reliable":true}`,
		"/subscriptions//default/t/a": `{"topic":"/default/t","name":"a","type":0}`,
		"/cursors//default/t/a":       `0`,
		"/subscriptions//default/t/b": `{"topic":"/default/t","name":"b","type":0}`,
		"/cursors//default/t/b":       `not a number`,
	} {
		if err := m.Put(k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := broker.New(broker.Options{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err == nil || !strings.Contains(err.Error(), "cursor") {
		t.Fatalf("Start with a corrupt cursor: %v", err)
	}
	done := make(chan error)
	go func() { done <- srv.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown hangs after a failed Start")
	}
}

func TestShutdownWithAConsumerThatStoppedReading(t *testing.T) {
	w := newWire(t, broker.Options{})
	srv := w.srv
	p := w.mustProducer("/default/stuck", "p", false)
	id := w.mustSubscribe("/default/stuck", "s", "c", shared)
	c, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := w.Consumer.ReceiveMessages(c, &danubepb.ReceiveRequest{ConsumerId: id}); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 1<<20)
	for range 20 { // far more than HTTP/2 flow control lets through to a reader that never reads
		p.mustSend(big)
	}
	start := time.Now()
	done := make(chan struct{})
	go func() {
		srv.Shutdown(context.Background())
		close(done)
	}()
	select {
	case <-done:
		t.Logf("shutdown took %v", time.Since(start))
	case <-time.After(15 * time.Second):
		t.Fatal("Shutdown blocked by a consumer that stopped reading")
	}
}

func TestStartAndShutdownConcurrently(t *testing.T) {
	for range 20 {
		srv, err := broker.New(broker.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() { _ = srv.Start() })
		wg.Go(func() { _ = srv.Shutdown(context.Background()) })
		wg.Wait()
		srv.WaitForShutdown()
		if a := srv.Addr(); a != nil {
			if c, err := net.DialTimeout("tcp", a.String(), 100*time.Millisecond); err == nil {
				c.Close()
				t.Fatal("the port still accepts connections after Shutdown returned")
			}
		}
	}
}

func TestReplacedStreamTakesNothing(t *testing.T) {
	w := newWire(t, broker.Options{})
	p := w.mustProducer("/default/steal", "p", false)
	id := w.mustSubscribe("/default/steal", "s", "c", shared)
	old := w.receive(id)
	p.mustSend("warm-up")
	old.next(t)
	w.mustSubscribe("/default/steal", "s", "c", shared) // takeover by name
	p.mustSend(seq("m", 50)...)                         // queued for the new owner, whose stream is not open yet
	wantStatus(t, old.ended(t), codes.Unavailable, "")
	if n := len(old.C); n != 0 {
		t.Fatalf("the replaced stream took %d messages", n)
	}
	cur := w.receive(id)
	for i := range 50 {
		if m := cur.next(t); string(m.Payload) != "m"+uitoa(uint64(i)) {
			t.Fatalf("message %d: %q", i, m.Payload)
		}
	}
}

func TestReopenedStreamGetsInFlightAtOnce(t *testing.T) {
	pol := fastPolicy()
	pol.AckTimeout = time.Minute
	w := newWire(t, broker.Options{FailurePolicy: pol})
	p := w.mustProducer("/default/reopen", "p", true)
	id := w.mustSubscribe("/default/reopen", "s", "c", exclusive)
	first := w.receive(id)
	p.mustSend("in flight")
	m := first.next(t)
	first.close()
	again := w.receive(id) // reopened at once, as the Rust client does
	got := again.next(t)   // long before the one-minute ack timeout
	if got.MsgId.TopicOffset != m.MsgId.TopicOffset {
		t.Fatalf("got offset %d, want %d", got.MsgId.TopicOffset, m.MsgId.TopicOffset)
	}
}

func TestEnvelopeTooLarge(t *testing.T) {
	w := newWire(t, broker.Options{})
	p := w.mustProducer("/default/envelope", "p", false)
	msg := p.message(strings.Repeat("x", 3_900_000))
	msg.Attributes["big"] = strings.Repeat("y", 1<<20)
	_, err := w.Producer.SendMessage(ctx(t), msg)
	wantStatus(t, err, codes.InvalidArgument, "")
	if !strings.Contains(err.Error(), "(payload, attributes and key) exceeds maximum allowed") {
		t.Fatalf("message: %v", err)
	}
}

func TestDeadLetterNeverLosesOrLoops(t *testing.T) {
	for name, dlq := range map[string]string{"non-reliable dead-letter topic": "/default/dlq-nr", "itself": "/default/dlq-self"} {
		t.Run(name, func(t *testing.T) {
			pol := fastPolicy()
			pol.MaxRedeliveryCount = 0
			pol.Poison = broker.PoisonDeadLetter
			pol.DeadLetterTopic = dlq
			w := newWire(t, broker.Options{FailurePolicy: pol})
			w.mustProducer("/default/dlq-nr", "p", false)
			topic := "/default/dlq-src"
			if dlq == "/default/dlq-self" {
				topic = dlq
			}
			p := w.mustProducer(topic, "p", true)
			s := w.receive(w.mustSubscribe(topic, "s", "c", exclusive))
			p.mustSend("poison")
			w.nack("s", s.next(t), 0, "bad")
			var info broker.TopicInfo
			testenv.Eventually(t, 5*time.Second, func() bool {
				info, _ = w.srv.Topic(topic)
				return info.Subscriptions[0].Waiting == 1
			}, "the poisoned message was not held: %+v", &info)
			if si := info.Subscriptions[0]; si.Cursor != 0 {
				t.Fatalf("the poisoned message was not held: %+v", si)
			}
			if info.NextOffset != 1 {
				t.Fatalf("the topic has %d messages: dead-lettered into itself", info.NextOffset)
			}
			s.none(t, 50*time.Millisecond)
		})
	}
}

func TestConsumerWithoutStreamExpires(t *testing.T) {
	w := newWire(t, broker.Options{StreamWaitTimeout: 100 * time.Millisecond})
	w.mustProducer("/default/nostream", "p", false)
	id := w.mustSubscribe("/default/nostream", "s", "holder", exclusive)
	if st := w.health(danubepb.HealthCheckRequest_Consumer, id); st != danubepb.HealthCheckResponse_OK {
		t.Fatalf("right after Subscribe: %v", st)
	}
	brokerWaitInactive(t, w, id)
	// The holder never opened its stream, so another name may take the Exclusive subscription.
	w.mustSubscribe("/default/nostream", "s", "other", exclusive)
}

func TestSharedRoundRobinSkipsEvenly(t *testing.T) {
	w := newWire(t, broker.Options{})
	p := w.mustProducer("/default/skew", "p", false)
	a := w.receive(w.mustSubscribe("/default/skew", "s", "a", shared))
	bID := w.mustSubscribe("/default/skew", "s", "b", shared)
	b := w.receive(bID)
	c := w.receive(w.mustSubscribe("/default/skew", "s", "c", shared))
	p.mustSend("warm-a", "warm-b", "warm-c") // one each: every stream is attached once they arrive
	a.next(t)
	b.next(t)
	c.next(t)
	b.close()
	brokerWaitInactive(t, w, bID)
	p.mustSend(seq("m", 300)...)
	testenv.Eventually(t, 5*time.Second, func() bool { return len(a.C)+len(c.C) == 300 }, "delivered %d", len(a.C)+len(c.C))
	if len(a.C) != 150 || len(c.C) != 150 {
		t.Fatalf("a got %d, c got %d; want 150 each", len(a.C), len(c.C))
	}
}

func TestTinyIdleTimeout(t *testing.T) {
	w := newWire(t, broker.Options{IdleSubscriptionTimeout: time.Nanosecond})
	p := w.mustProducer("/default/tiny", "p", false)
	// The janitor sweeps every millisecond without panicking, and reaps a subscription the moment its consumer
	// leaves (once its stream was attached: a message went through it).
	s := w.receive(w.mustSubscribe("/default/tiny", "s", "c", shared))
	p.mustSend("attached")
	s.next(t)
	s.close()
	var info broker.TopicInfo
	testenv.Eventually(t, 5*time.Second, func() bool {
		info, _ = w.srv.Topic("/default/tiny")
		return len(info.Subscriptions) == 0
	}, "the idle subscription was not reaped: %+v", &info)
}
