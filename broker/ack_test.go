package broker_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/danubepb"
)

func ackRaw(w *wire, sub string, id *danubepb.MsgID) (*danubepb.AckResponse, error) {
	return w.Consumer.Ack(ctx(w.t), &danubepb.AckRequest{RequestId: 31, MsgId: id, SubscriptionName: sub})
}

func nackRaw(w *wire, sub string, id *danubepb.MsgID) (*danubepb.NackResponse, error) {
	d := uint64(0)
	return w.Consumer.Nack(ctx(w.t), &danubepb.NackRequest{RequestId: 32, MsgId: id, SubscriptionName: sub, DelayMs: &d})
}

func TestAckNackWithoutMsgID(t *testing.T) {
	w := newWire(t, broker.Options{})
	w.mustProducer("/default/nomsg", "p", true)
	w.mustSubscribe("/default/nomsg", "s", "c", shared)
	_, err := ackRaw(w, "s", nil)
	wantStatus(t, err, codes.InvalidArgument, "")
	_, err = nackRaw(w, "s", nil)
	wantStatus(t, err, codes.InvalidArgument, "")
	// The broker is still serving.
	if _, err := ackRaw(w, "s", &danubepb.MsgID{TopicName: "/default/nomsg", TopicOffset: 0}); err != nil {
		t.Fatalf("Ack after a msg_id-less one: %v", err)
	}
}

func TestAckNackUnknownTopic(t *testing.T) {
	w := newWire(t, broker.Options{})
	id := &danubepb.MsgID{ProducerId: 1, TopicName: "/default/ghost", TopicOffset: 3}
	_, err := ackRaw(w, "s", id)
	wantStatus(t, err, codes.Internal, "Error acknowledging message: Topic /default/ghost not found in registry")
	_, err = nackRaw(w, "s", id)
	wantStatus(t, err, codes.Internal, "Error negatively acknowledging message: Topic /default/ghost not found in registry")
}

func TestAckNackUnknownSubscriptionOnReliableTopic(t *testing.T) {
	w := newWire(t, broker.Options{FailurePolicy: fastPolicy()})
	p := w.mustProducer("/default/nosub", "p", true)
	s := w.receive(w.mustSubscribe("/default/nosub", "s", "c", exclusive))
	p.mustSend("m")
	m := s.next(t)
	_, err := ackRaw(w, "other", m.MsgId)
	wantStatus(t, err, codes.Internal, "Error acknowledging message: Subscription not found")
	_, err = nackRaw(w, "other", m.MsgId)
	wantStatus(t, err, codes.Internal, "Error negatively acknowledging message: Subscription not found")
	// Neither touched the real subscription: the message is still in flight there.
	si := subInfo(t, w, "/default/nosub", "s")
	if si.InFlight != 1 || si.Cursor != 0 {
		t.Fatalf("subscription changed by acks for another one: %+v", si)
	}
	s.none(t, 50*time.Millisecond)
}

// TestAckNackNonReliableIsNoop: Ack and Nack answer OK on a non-reliable topic and change nothing (no
// redelivery).
func TestAckNackNonReliableIsNoop(t *testing.T) {
	w := newWire(t, broker.Options{FailurePolicy: fastPolicy()})
	p := w.mustProducer("/default/nr-ack", "p", false)
	s := w.receive(w.mustSubscribe("/default/nr-ack", "s", "c", shared))
	p.mustSend("m")
	m := s.next(t)
	resp, err := w.Consumer.Ack(ctx(t), &danubepb.AckRequest{RequestId: 77, MsgId: m.MsgId, SubscriptionName: "s"})
	if err != nil || resp.RequestId != 77 {
		t.Fatalf("Ack: %v %v", resp, err)
	}
	d, reason := uint64(0), "x"
	nresp, err := w.Consumer.Nack(ctx(t), &danubepb.NackRequest{RequestId: 78, MsgId: m.MsgId, SubscriptionName: "s",
		DelayMs: &d, Reason: &reason})
	if err != nil || nresp.RequestId != 78 {
		t.Fatalf("Nack: %v %v", nresp, err)
	}
	s.none(t, 100*time.Millisecond) // no redelivery after the nack
	p.mustSend("n")
	if got := s.next(t); string(got.Payload) != "n" {
		t.Fatalf("got %q", got.Payload)
	}
}

// TestAckUnknownOffsetsIgnored: acks and nacks of offsets that are not in flight (never written, already
// acked, or not yet delivered) answer OK and change nothing.
func TestAckUnknownOffsetsIgnored(t *testing.T) {
	w := newWire(t, broker.Options{FailurePolicy: fastPolicy(), MaxUnackedMessages: 1})
	topic := "/default/unknown-off"
	p := w.mustProducer(topic, "p", true)
	s := w.receive(w.mustSubscribe(topic, "s", "c", exclusive))
	p.mustSend("m0", "m1", "m2")
	m0 := s.next(t)
	if m0.MsgId.TopicOffset != 0 {
		t.Fatalf("first offset %d", m0.MsgId.TopicOffset)
	}
	at := func(off uint64) *danubepb.MsgID {
		return &danubepb.MsgID{ProducerId: p.id, TopicName: topic, BrokerAddr: w.srv.URL(), TopicOffset: off}
	}
	for _, off := range []uint64{1, 2, 999} { // 1 and 2 are written but not delivered yet, 999 does not exist
		resp, err := ackRaw(w, "s", at(off))
		if err != nil || resp.RequestId != 31 {
			t.Fatalf("Ack(%d): %v %v", off, resp, err)
		}
		if _, err := nackRaw(w, "s", at(off)); err != nil {
			t.Fatalf("Nack(%d): %v", off, err)
		}
	}
	s.none(t, 100*time.Millisecond) // the window of 1 is still full with m0
	if si := subInfo(t, w, topic, "s"); si.Cursor != 0 || si.InFlight != 1 {
		t.Fatalf("state changed by unknown acks: %+v", si)
	}
	w.ack("s", m0)
	for _, want := range []string{"m1", "m2"} { // both still delivered: their early acks were ignored
		m := s.next(t)
		if string(m.Payload) != want {
			t.Fatalf("got %q, want %q", m.Payload, want)
		}
		w.ack("s", m)
	}
	// A second ack of an acked offset is ignored too.
	w.ack("s", m0)
	testenv.Eventually(t, 5*time.Second, func() bool {
		return subInfo(t, w, topic, "s").Cursor == 3
	}, "cursor did not reach 3")
	s.none(t, 50*time.Millisecond)
}

// TestAckOfUndeliveredMessageIgnored: a message read into the window but not delivered (the Exclusive holder
// is gone) cannot be acked before its delivery.
func TestAckOfUndeliveredMessageIgnored(t *testing.T) {
	w := newWire(t, broker.Options{FailurePolicy: fastPolicy()})
	topic := "/default/undelivered"
	p := w.mustProducer(topic, "p", true)
	id := w.mustSubscribe(topic, "s", "c", exclusive)
	s := w.receive(id)
	p.mustSend("first") // offset 0; receiving it proves the stream reached the broker before it is closed
	w.ack("s", s.next(t))
	s.close()
	waitHealth(t, w, id, healthClose)
	p.mustSend("held") // offset 1
	testenv.Eventually(t, 5*time.Second, func() bool {
		si := subInfo(t, w, topic, "s")
		return si.Waiting == 1 && si.Cursor == 1
	}, "message not waiting for the consumer")
	if _, err := ackRaw(w, "s", &danubepb.MsgID{ProducerId: p.id, TopicName: topic, TopicOffset: 1}); err != nil {
		t.Fatal(err)
	}
	s = w.receive(id)
	m := s.next(t)
	if string(m.Payload) != "held" || m.MsgId.TopicOffset != 1 {
		t.Fatalf("got %q offset %d", m.Payload, m.MsgId.TopicOffset)
	}
}

// TestAckIsPerSubscription: acking in one subscription does not ack the same offset in another.
func TestAckIsPerSubscription(t *testing.T) {
	w := newWire(t, broker.Options{FailurePolicy: fastPolicy()})
	topic := "/default/per-sub"
	p := w.mustProducer(topic, "p", true)
	a := w.receive(w.mustSubscribe(topic, "sa", "a", exclusive))
	b := w.receive(w.mustSubscribe(topic, "sb", "b", exclusive))
	p.mustSend("m")
	ma, mb := a.next(t), b.next(t)
	w.ack("sa", ma)
	testenv.Eventually(t, 5*time.Second, func() bool {
		return subInfo(t, w, topic, "sa").Cursor == 1
	}, "sa did not advance")
	if si := subInfo(t, w, topic, "sb"); si.Cursor != 0 || si.InFlight != 1 {
		t.Fatalf("sb changed by sa's ack: %+v", si)
	}
	w.nack("sb", mb, 0, "again")
	if m := b.next(t); m.MsgId.TopicOffset != 0 {
		t.Fatalf("sb redelivered offset %d", m.MsgId.TopicOffset)
	}
	a.none(t, 50*time.Millisecond)
}

// TestAckBeforeStreamIgnored is the user's scenario: subscribe, do not open the stream, publish 30, ack (and
// nack) offsets 0–29, then open the stream: all 30 are delivered. The first ten were already queued for the
// consumer (it counts as connected from Subscribe; one on KeyShared, whose messages share a key), but none had
// reached a stream, so the acks and nacks are ignored.
func TestAckBeforeStreamIgnored(t *testing.T) {
	for _, typ := range []danubepb.ConsumerRequest_SubscriptionType{shared, exclusive, failover, keyShared} {
		w := newWire(t, broker.Options{})
		topic := "/default/early-acks"
		p := w.mustProducer(topic, "p", true)
		id := w.mustSubscribe(topic, "s", "c", typ)
		p.mustSend(seq("m", 30)...)
		inFlight := broker.DefaultMaxUnackedMessages
		if typ == keyShared {
			inFlight = 1 // one message per key: every message has the producer's name as its key
		}
		testenv.Eventually(t, 5*time.Second, func() bool {
			return subInfo(t, w, topic, "s").InFlight == inFlight
		}, "%v: the window was not handed to the consumer", typ)
		for off := range uint64(30) {
			mid := &danubepb.MsgID{ProducerId: p.id, TopicName: topic, BrokerAddr: w.srv.URL(), TopicOffset: off}
			if _, err := ackRaw(w, "s", mid); err != nil {
				t.Fatalf("%v: Ack(%d): %v", typ, off, err)
			}
			if _, err := nackRaw(w, "s", mid); err != nil {
				t.Fatalf("%v: Nack(%d): %v", typ, off, err)
			}
		}
		if si := subInfo(t, w, topic, "s"); si.Cursor != 0 {
			t.Fatalf("%v: early acks moved the cursor: %+v", typ, si)
		}
		s := w.receive(id)
		for i := range 30 {
			m := s.next(t)
			if string(m.Payload) != "m"+uitoa(uint64(i)) || m.MsgId.TopicOffset != uint64(i) {
				t.Fatalf("%v: message %d is %q at offset %d", typ, i, m.Payload, m.MsgId.TopicOffset)
			}
			w.ack("s", m)
		}
		testenv.Eventually(t, 5*time.Second, func() bool {
			return subInfo(t, w, topic, "s").Cursor == 30
		}, "%v: the cursor did not reach 30", typ)
		s.none(t, 20*time.Millisecond)
	}
}
