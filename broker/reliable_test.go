package broker_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// fastPolicy redelivers quickly so that tests run in milliseconds.
func fastPolicy() broker.FailurePolicy {
	return broker.FailurePolicy{
		MaxRedeliveryCount:  5,
		AckTimeout:          5 * time.Second,
		BaseRedeliveryDelay: 10 * time.Millisecond,
		MaxRedeliveryDelay:  time.Second,
		Backoff:             broker.BackoffFixed,
		Poison:              broker.PoisonBlock,
	}
}

func TestReliableOffsetsAndLatestStart(t *testing.T) {
	w := newWire(t, broker.Options{})
	p := w.mustProducer("/default/rel", "p", true)
	p.mustSend("before-0", "before-1") // offsets 0 and 1, before the subscription exists
	s := w.receive(w.mustSubscribe("/default/rel", "s", "c", exclusive))
	p.mustSend("after-2", "after-3")
	for _, want := range []uint64{2, 3} {
		m := s.next(t)
		if m.MsgId.TopicOffset != want || string(m.Payload) != "after-"+strconv.FormatUint(want, 10) {
			t.Fatalf("got %q offset %d, want offset %d", m.Payload, m.MsgId.TopicOffset, want)
		}
		if m.SubscriptionName != "" || m.ProducerName != "p" || m.MsgId.TopicName != "/default/rel" {
			t.Fatalf("message rewritten: %v", m)
		}
		w.ack("s", m)
	}
	s.none(t, 50*time.Millisecond)
}

func TestReliablePipelinedWindow(t *testing.T) {
	w := newWire(t, broker.Options{MaxUnackedMessages: 4})
	p := w.mustProducer("/default/win", "p", true)
	s := w.receive(w.mustSubscribe("/default/win", "s", "c", exclusive))
	p.mustSend(seq("m", 10)...)
	var got []*danubepb.StreamMessage
	for range 4 {
		got = append(got, s.next(t)) // four without any ack: pipelined, not stop-and-wait
	}
	s.none(t, 50*time.Millisecond) // the window is full
	w.ack("s", got[1])             // an ack out of order frees one slot
	if m := s.next(t); m.MsgId.TopicOffset != 4 {
		t.Fatalf("after one ack got offset %d, want 4", m.MsgId.TopicOffset)
	}
	s.none(t, 50*time.Millisecond)
	info, _ := w.srv.Topic("/default/win")
	if c := info.Subscriptions[0].Cursor; c != 0 {
		t.Fatalf("cursor %d: offset 0 is not acked yet", c)
	}
	w.ack("s", got[0])
	testenv.Eventually(t, 5*time.Second, func() bool {
		info, _ := w.srv.Topic("/default/win")
		return info.Subscriptions[0].Cursor == 2
	}, "cursor did not advance over the contiguous acks 0 and 1")
}

func TestReliableNackRedeliversSameOffset(t *testing.T) {
	pol := fastPolicy()
	pol.BaseRedeliveryDelay = 50 * time.Millisecond
	w := newWire(t, broker.Options{FailurePolicy: pol})
	p := w.mustProducer("/default/nack", "p", true)
	s := w.receive(w.mustSubscribe("/default/nack", "s", "c", shared))
	p.mustSend("payload")
	m := s.next(t)

	// delay = max(policy delay, requested): a requested 0 still waits for the policy's 50 ms.
	start := time.Now()
	w.nack("s", m, 0, "try again")
	again := s.next(t)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("redelivered after %v, before the policy delay", d)
	}
	if again.MsgId.TopicOffset != m.MsgId.TopicOffset || string(again.Payload) != "payload" {
		t.Fatalf("redelivery offset %d payload %q", again.MsgId.TopicOffset, again.Payload)
	}
	// A larger requested delay wins.
	start = time.Now()
	w.nack("s", again, 300*time.Millisecond, "later")
	third := s.next(t)
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("redelivered after %v, before the requested 300ms", d)
	}
	w.ack("s", third)
	// A late nack of an acked message is ignored.
	w.nack("s", third, 0, "late")
	s.none(t, 150*time.Millisecond)
}

func TestReliableAckTimeout(t *testing.T) {
	pol := fastPolicy()
	pol.AckTimeout = 100 * time.Millisecond
	w := newWire(t, broker.Options{FailurePolicy: pol})
	p := w.mustProducer("/default/timeout", "p", true)
	s := w.receive(w.mustSubscribe("/default/timeout", "s", "c", exclusive))
	p.mustSend("slow")
	first := s.next(t)
	start := time.Now()
	second := s.next(t) // never acked: comes back after the ack timeout
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Fatalf("redelivered after %v", d)
	}
	if second.MsgId.TopicOffset != first.MsgId.TopicOffset {
		t.Fatalf("offsets %d and %d", first.MsgId.TopicOffset, second.MsgId.TopicOffset)
	}
	w.ack("s", second)
	s.none(t, 250*time.Millisecond)
}

func TestReliablePoisonBlock(t *testing.T) {
	pol := fastPolicy()
	pol.MaxRedeliveryCount = 2
	w := newWire(t, broker.Options{FailurePolicy: pol})
	p := w.mustProducer("/default/block", "p", true)
	s := w.receive(w.mustSubscribe("/default/block", "s", "c", exclusive))
	p.mustSend("poison")
	var m *danubepb.StreamMessage
	for range 3 { // 1 delivery + 2 redeliveries
		m = s.next(t)
		w.nack("s", m, 0, "bad")
	}
	p.mustSend("next")
	s.none(t, 150*time.Millisecond) // the subscription stalls behind the poisoned message
	w.ack("s", m)                   // acking it by hand releases the subscription
	if n := s.next(t); string(n.Payload) != "next" {
		t.Fatalf("got %q", n.Payload)
	}
}

func TestReliablePoisonDrop(t *testing.T) {
	pol := fastPolicy()
	pol.MaxRedeliveryCount = 1
	pol.Poison = broker.PoisonDrop
	w := newWire(t, broker.Options{FailurePolicy: pol})
	p := w.mustProducer("/default/drop", "p", true)
	s := w.receive(w.mustSubscribe("/default/drop", "s", "c", exclusive))
	p.mustSend("poison", "fine")
	seen := map[string]int{}
	deadline := time.After(5 * time.Second)
	for seen["fine"] == 0 || seen["poison"] < 2 {
		select {
		case m := <-s.C:
			seen[string(m.Payload)]++
			if string(m.Payload) == "poison" {
				w.nack("s", m, 0, "bad")
			} else {
				w.ack("s", m)
			}
		case <-deadline:
			t.Fatalf("seen %v", seen)
		}
	}
	s.none(t, 100*time.Millisecond)
	if seen["poison"] != 2 {
		t.Fatalf("poison delivered %d times, want 2", seen["poison"])
	}
	testenv.Eventually(t, 5*time.Second, func() bool {
		info, _ := w.srv.Topic("/default/drop")
		return info.Subscriptions[0].Cursor == 2
	}, "cursor did not skip the dropped message")
}

func TestReliablePoisonDeadLetter(t *testing.T) {
	pol := fastPolicy()
	pol.MaxRedeliveryCount = 1
	pol.Poison = broker.PoisonDeadLetter
	pol.DeadLetterTopic = "/default/dlq"
	w := newWire(t, broker.Options{FailurePolicy: pol})
	p := w.mustProducer("/default/src", "p", true)
	s := w.receive(w.mustSubscribe("/default/src", "s", "c", exclusive))
	// Subscribe to the dead-letter topic before it receives anything (it is created by a producer here).
	w.mustProducer("/default/dlq", "dlq-watch", true)
	dlq := w.receive(w.mustSubscribe("/default/dlq", "dlq-sub", "d", exclusive))

	p.mustSend("poison")
	m := s.next(t)
	w.nack("s", m, 0, "cannot parse")
	m = s.next(t)
	w.nack("s", m, 0, "cannot parse")
	d := dlq.next(t)
	want := map[string]string{
		"x-original-topic":        "/default/src",
		"x-original-subscription": "s",
		"x-original-topic-offset": "0",
		"x-original-producer-id":  strconv.FormatUint(p.id, 10),
		"x-original-broker-addr":  w.srv.URL(),
		"x-poison-policy":         "dead_letter",
		"x-delivery-attempt":      "2",
		"x-failure-reason":        "cannot parse",
	}
	for k, v := range want {
		if d.Attributes[k] != v {
			t.Errorf("attribute %s = %q, want %q", k, d.Attributes[k], v)
		}
	}
	if string(d.Payload) != "poison" || d.MsgId.TopicName != "/default/dlq" {
		t.Fatalf("dead letter %v", d)
	}
	s.none(t, 100*time.Millisecond)
}

func TestReliableSharedRedeliversToOthersOnDisconnect(t *testing.T) {
	w := newWire(t, broker.Options{FailurePolicy: fastPolicy()})
	p := w.mustProducer("/default/sh", "p", true)
	aID := w.mustSubscribe("/default/sh", "s", "a", shared)
	a := w.receive(aID)
	b := w.receive(w.mustSubscribe("/default/sh", "s", "b", shared))
	// Both streams are open on the broker's side once each received a warm-up message (a stream that is not
	// open yet is skipped by the round robin).
	for gotA, gotB := false, false; !gotA || !gotB; {
		p.mustSend("warm-up")
		select {
		case m := <-a.C:
			gotA = true
			w.ack("s", m)
		case m := <-b.C:
			gotB = true
			w.ack("s", m)
		case <-time.After(5 * time.Second):
			t.Fatal("no warm-up message within 5s")
		}
	}
	for len(a.C)+len(b.C) > 0 {
		select {
		case m := <-a.C:
			w.ack("s", m)
		case m := <-b.C:
			w.ack("s", m)
		}
	}
	p.mustSend(seq("m", 6)...)
	var fromA []*danubepb.StreamMessage
	for range 3 {
		fromA = append(fromA, a.next(t))
	}
	for range 3 {
		w.ack("s", b.next(t))
	}
	a.close() // a never acks; its three messages go to b
	got := map[uint64]bool{}
	for range 3 {
		m := b.next(t)
		got[m.MsgId.TopicOffset] = true
		w.ack("s", m)
	}
	for _, m := range fromA {
		if !got[m.MsgId.TopicOffset] {
			t.Fatalf("offset %d of the gone consumer was not redelivered; got %v", m.MsgId.TopicOffset, got)
		}
	}
}

func TestReliableExclusiveResumesAfterReconnect(t *testing.T) {
	w := newWire(t, broker.Options{FailurePolicy: fastPolicy()})
	p := w.mustProducer("/default/ex", "p", true)
	id := w.mustSubscribe("/default/ex", "s", "c", exclusive)
	s := w.receive(id)
	p.mustSend("a", "b")
	w.ack("s", s.next(t)) // a acked; b delivered but not acked
	s.next(t)
	s.close()
	brokerWaitInactive(t, w, id)
	p.mustSend("c")
	// The same name resubscribes (takeover) and gets b again, then c.
	if id2 := w.mustSubscribe("/default/ex", "s", "c", exclusive); id2 != id {
		t.Fatalf("id changed %d -> %d", id, id2)
	}
	s = w.receive(id)
	if got := []string{string(s.next(t).Payload), string(s.next(t).Payload)}; got[0] != "b" || got[1] != "c" {
		t.Fatalf("after reconnect got %v, want [b c]", got)
	}
}

func TestReliableFailoverPromotes(t *testing.T) {
	w := newWire(t, broker.Options{FailurePolicy: fastPolicy()})
	p := w.mustProducer("/default/rfo", "p", true)
	firstID := w.mustSubscribe("/default/rfo", "s", "first", failover)
	first := w.receive(firstID)
	second := w.receive(w.mustSubscribe("/default/rfo", "s", "second", failover))
	p.mustSend("a", "b")
	w.ack("s", first.next(t))
	first.next(t) // b: delivered, not acked
	second.none(t, 30*time.Millisecond)
	first.close()
	// The standby is promoted and gets b (unacked) and what follows.
	if m := second.next(t); string(m.Payload) != "b" {
		t.Fatalf("promoted standby got %q, want b", m.Payload)
	}
	p.mustSend("c")
	if m := second.next(t); string(m.Payload) != "c" {
		t.Fatalf("got %q", m.Payload)
	}
}

func TestRestartKeepsReliableState(t *testing.T) {
	st := newMemoryStore()
	opts := broker.Options{Store: st, FailurePolicy: fastPolicy(), CursorFlushInterval: time.Millisecond}
	w := newWire(t, opts)
	p := w.mustProducer("/default/durable", "p", true)
	cid := w.mustSubscribe("/default/durable", "s", "c", exclusive)
	s := w.receive(cid)
	p.mustSend("a", "b", "c")
	w.ack("s", s.next(t))
	s.close()
	if err := w.srv.Shutdown(ctx(t)); err != nil {
		t.Fatal(err)
	}

	w2 := newWire(t, opts)
	// The same producer name gets the same id back, and the consumer keeps its id.
	if p2 := w2.mustProducer("/default/durable", "p", true); p2.id != p.id {
		t.Fatalf("producer id %d after restart, want %d", p2.id, p.id)
	}
	s2 := w2.receive(cid)
	if got := []string{string(s2.next(t).Payload), string(s2.next(t).Payload)}; got[0] != "b" || got[1] != "c" {
		t.Fatalf("after restart got %v, want [b c]", got)
	}
}
