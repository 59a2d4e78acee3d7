package broker_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/danubepb"
)

func TestSubscribeNeverCreatesTopics(t *testing.T) {
	w := newWire(t, broker.Options{})
	_, err := w.subscribe("/default/ghost", "s", "c", shared)
	wantStatus(t, err, codes.NotFound, "Unable to find the topic: /default/ghost")
	_, err = w.Discovery.TopicLookup(ctx(t), &danubepb.TopicLookupRequest{Topic: "/default/ghost"})
	wantStatus(t, err, codes.NotFound, "")
}

func TestNonReliableFanOut(t *testing.T) {
	w := newWire(t, broker.Options{})
	p := w.mustProducer("/default/fan", "p", false)
	p.mustSend("before any subscription") // dropped: nobody subscribed yet
	a := w.receive(w.mustSubscribe("/default/fan", "sub-a", "a", exclusive))
	b := w.receive(w.mustSubscribe("/default/fan", "sub-b", "b", shared))
	p.mustSend("one", "two")
	for _, s := range []*stream{a, b} {
		for _, want := range []string{"one", "two"} {
			m := s.next(t)
			if string(m.Payload) != want {
				t.Fatalf("got %q, want %q", m.Payload, want)
			}
			// Non-reliable messages keep the producer's offset (0) and an empty subscription name; nothing else
			// is rewritten.
			if m.MsgId.TopicOffset != 0 || m.SubscriptionName != "" || m.ProducerName != "p" ||
				m.MsgId.ProducerId != p.id || m.MsgId.TopicName != "/default/fan" {
				t.Fatalf("message rewritten: %v", m)
			}
		}
	}
	a.none(t, 50*time.Millisecond)
}

func TestNonReliableSharedRoundRobin(t *testing.T) {
	w := newWire(t, broker.Options{})
	p := w.mustProducer("/default/rr", "p", false)
	var streams []*stream
	for _, n := range []string{"c1", "c2", "c3"} {
		streams = append(streams, w.receive(w.mustSubscribe("/default/rr", "s", n, shared)))
	}
	p.mustSend(seq("m", 36)...)
	for i, s := range streams {
		for j := range 12 {
			m := s.next(t)
			if want := "m" + uitoa(uint64(i+3*j)); string(m.Payload) != want {
				t.Fatalf("consumer %d message %d: got %q want %q", i, j, m.Payload, want)
			}
		}
		s.none(t, 20*time.Millisecond)
	}
}

func TestNonReliableExclusive(t *testing.T) {
	w := newWire(t, broker.Options{})
	p := w.mustProducer("/default/excl", "p", false)
	id := w.mustSubscribe("/default/excl", "s", "holder", exclusive)
	s := w.receive(id)
	_, err := w.subscribe("/default/excl", "s", "intruder", exclusive)
	wantStatus(t, err, codes.PermissionDenied, "Not able to subscribe to the topic /default/excl due to Not allowed to add the Consumer: intruder, the Exclusive subscription can't be shared with other consumers")
	// A type asked by a later subscriber is ignored: the subscription stays Exclusive.
	_, err = w.subscribe("/default/excl", "s", "intruder", shared)
	wantStatus(t, err, codes.PermissionDenied, "")
	p.mustSend("hello")
	if m := s.next(t); string(m.Payload) != "hello" {
		t.Fatalf("got %q", m.Payload)
	}
	// Once the holder is gone, another name may take the subscription (the real broker refuses for ever).
	s.close()
	brokerWaitInactive(t, w, id)
	id2 := w.mustSubscribe("/default/excl", "s", "intruder", exclusive)
	if id2 == id {
		t.Fatal("new holder reused the old id")
	}
	if st := w.health(danubepb.HealthCheckRequest_Consumer, id); st != danubepb.HealthCheckResponse_CLOSE {
		t.Fatalf("replaced holder health %v, want CLOSE", st)
	}
	s2 := w.receive(id2)
	p.mustSend("again")
	if m := s2.next(t); string(m.Payload) != "again" {
		t.Fatalf("got %q", m.Payload)
	}
}

func brokerWaitInactive(t *testing.T, w *wire, consumerID uint64) {
	t.Helper()
	testenv.Eventually(t, 5*time.Second, func() bool {
		return w.health(danubepb.HealthCheckRequest_Consumer, consumerID) != danubepb.HealthCheckResponse_OK
	}, "consumer still active after its stream closed")
}

func TestNonReliableFailoverPromotes(t *testing.T) {
	w := newWire(t, broker.Options{})
	p := w.mustProducer("/default/fo", "p", false)
	firstID := w.mustSubscribe("/default/fo", "s", "first", failover)
	first := w.receive(firstID)
	second := w.receive(w.mustSubscribe("/default/fo", "s", "second", failover))
	p.mustSend("a", "b")
	if got := payloads([]*danubepb.StreamMessage{first.next(t), first.next(t)}); got[0] != "a" || got[1] != "b" {
		t.Fatalf("active got %v", got)
	}
	second.none(t, 30*time.Millisecond)
	first.close()
	brokerWaitInactive(t, w, firstID)
	p.mustSend("c")
	if m := second.next(t); string(m.Payload) != "c" {
		t.Fatalf("standby got %q after promotion", m.Payload)
	}
}

func TestTakeoverByName(t *testing.T) {
	w := newWire(t, broker.Options{})
	p := w.mustProducer("/default/take", "p", false)
	id := w.mustSubscribe("/default/take", "s", "same", shared)
	old := w.receive(id)
	p.mustSend("warm-up")
	old.next(t) // the stream is attached
	id2 := w.mustSubscribe("/default/take", "s", "same", shared)
	if id2 != id {
		t.Fatalf("takeover gave a new id %d, want %d", id2, id)
	}
	// The replaced stream ends with Unavailable so that clients reconnect, never with OK.
	wantStatus(t, old.ended(t), codes.Unavailable, "")
	cur := w.receive(id)
	p.mustSend("x")
	if m := cur.next(t); string(m.Payload) != "x" {
		t.Fatalf("got %q", m.Payload)
	}
	// A second ReceiveMessages for the same consumer replaces the first.
	newer := w.receive(id)
	wantStatus(t, cur.ended(t), codes.Unavailable, "")
	p.mustSend("y")
	if m := newer.next(t); string(m.Payload) != "y" {
		t.Fatalf("got %q", m.Payload)
	}
}

func TestReceiveUnknownConsumer(t *testing.T) {
	w := newWire(t, broker.Options{})
	s := w.receive(12345)
	wantStatus(t, s.ended(t), codes.NotFound, "The consumer with the id 12345 does not exist")
}

func TestShutdownEndsStreamsWithUnavailable(t *testing.T) {
	w := newWire(t, broker.Options{})
	p := w.mustProducer("/default/bye", "p", false)
	s := w.receive(w.mustSubscribe("/default/bye", "s", "c", shared))
	p.mustSend("attached")
	s.next(t)
	if err := w.srv.Shutdown(ctx(t)); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, s.ended(t), codes.Unavailable, "")
}

func TestIdleNonReliableSubscriptionReaped(t *testing.T) {
	w := newWire(t, broker.Options{IdleSubscriptionTimeout: 100 * time.Millisecond})
	p := w.mustProducer("/default/idle", "p", false)
	id := w.mustSubscribe("/default/idle", "s", "c", shared)
	s := w.receive(id)
	// A second subscription whose consumer leaves once its stream is attached: its removal proves the
	// janitor swept after more than the idle timeout while the first consumer stayed connected.
	gone := w.receive(w.mustSubscribe("/default/idle", "gone", "c", shared))
	p.mustSend("attached")
	s.next(t)
	gone.next(t)
	gone.close()
	testenv.Eventually(t, 5*time.Second, func() bool {
		info, _ := w.srv.Topic("/default/idle")
		return len(info.Subscriptions) == 1 && info.Subscriptions[0].Name == "s"
	}, "the subscription without a consumer was not reaped")
	if st := w.health(danubepb.HealthCheckRequest_Consumer, id); st != danubepb.HealthCheckResponse_OK {
		t.Fatalf("connected consumer reaped: %v", st)
	}
	s.close()
	testenv.Eventually(t, 5*time.Second, func() bool {
		info, _ := w.srv.Topic("/default/idle")
		return len(info.Subscriptions) == 0
	}, "idle subscription was not reaped")
	// The reaped consumer is unknown now.
	wantStatus(t, w.receive(id).ended(t), codes.NotFound, "")
}
