package broker_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/proto/danubepb"
)

func TestMaxSubscriptionsPerTopic(t *testing.T) {
	for _, reliable := range []bool{false, true} {
		w := newWire(t, broker.Options{Policies: broker.Policies{MaxSubscriptionsPerTopic: 2}})
		topic := "/default/max-subs"
		w.mustProducer(topic, "p", reliable)
		w.mustSubscribe(topic, "s1", "c", shared)
		w.mustSubscribe(topic, "s2", "c", shared)
		_, err := w.subscribe(topic, "s3", "c", shared)
		wantStatus(t, err, codes.PermissionDenied, "Not allowed to create the subscription for the topic: "+topic)
		// Existing subscriptions still take new consumers and takeovers.
		w.mustSubscribe(topic, "s1", "c2", shared)
		w.mustSubscribe(topic, "s2", "c", shared)
		info, _ := w.srv.Topic(topic)
		if len(info.Subscriptions) != 2 {
			t.Fatalf("reliable=%v: %d subscriptions, want 2: %+v", reliable, len(info.Subscriptions), info.Subscriptions)
		}
		// The limit is per topic.
		w.mustProducer("/default/max-subs-other", "p", reliable)
		w.mustSubscribe("/default/max-subs-other", "s3", "c", shared)
	}
}

func TestMaxConsumersPerTopic(t *testing.T) {
	for _, reliable := range []bool{false, true} {
		w := newWire(t, broker.Options{Policies: broker.Policies{MaxConsumersPerTopic: 2}})
		topic := "/default/max-cons-topic"
		w.mustProducer(topic, "p", reliable)
		w.mustSubscribe(topic, "s1", "a", shared)
		w.mustSubscribe(topic, "s2", "b", shared)
		_, err := w.subscribe(topic, "s1", "c", shared)
		wantStatusPrefix(t, err, codes.ResourceExhausted, "Consumer limit per topic reached")
		_, err = w.subscribe(topic, "s3", "c", shared) // a new subscription is refused as well
		wantStatusPrefix(t, err, codes.ResourceExhausted, "Consumer limit per topic reached")
		// The refused new subscription was not created.
		info, _ := w.srv.Topic(topic)
		if len(info.Subscriptions) != 2 {
			t.Fatalf("reliable=%v: %d subscriptions after a refusal, want 2: %+v", reliable, len(info.Subscriptions), info.Subscriptions)
		}
		// A takeover by name is not a new consumer.
		w.mustSubscribe(topic, "s1", "a", shared)
	}
}

func TestMaxConsumersPerSubscription(t *testing.T) {
	for _, reliable := range []bool{false, true} {
		w := newWire(t, broker.Options{Policies: broker.Policies{MaxConsumersPerSubscription: 2}})
		topic := "/default/max-cons-sub"
		w.mustProducer(topic, "p", reliable)
		w.mustSubscribe(topic, "s", "a", shared)
		w.mustSubscribe(topic, "s", "b", shared)
		_, err := w.subscribe(topic, "s", "c", shared)
		wantStatusPrefix(t, err, codes.PermissionDenied, "Not able to subscribe to the topic "+topic+" due to")
		w.mustSubscribe(topic, "s", "a", shared)     // takeover
		w.mustSubscribe(topic, "other", "c", shared) // another subscription has its own count
		if si := subInfo(t, w, topic, "s"); si.Consumers != 2 {
			t.Fatalf("reliable=%v: %d consumers, want 2", reliable, si.Consumers)
		}
	}
}

func TestSubscribeEmptyNames(t *testing.T) {
	w := newWire(t, broker.Options{})
	topic := "/default/empty-names"
	w.mustProducer(topic, "p", false)
	_, err := w.subscribe(topic, "", "c", shared)
	wantStatus(t, err, codes.InvalidArgument, "")
	_, err = w.subscribe(topic, "s", "", shared)
	wantStatus(t, err, codes.InvalidArgument, "")
	if info, _ := w.srv.Topic(topic); len(info.Subscriptions) != 0 {
		t.Fatalf("subscriptions created by refused requests: %+v", info.Subscriptions)
	}
}

func TestSubscribeUnknownType(t *testing.T) {
	w := newWire(t, broker.Options{})
	topic := "/default/bad-type"
	w.mustProducer(topic, "p", false)
	for _, typ := range []int32{9, 4, -1} {
		_, err := w.subscribe(topic, "s", "c", danubepb.ConsumerRequest_SubscriptionType(typ))
		wantStatusPrefix(t, err, codes.PermissionDenied, "Not able to subscribe to the topic "+topic+" due to")
	}
	if info, _ := w.srv.Topic(topic); len(info.Subscriptions) != 0 {
		t.Fatalf("subscriptions created by refused requests: %+v", info.Subscriptions)
	}
}

// TestSubscriptionTypeFixedByFirstSubscriber: later requests cannot change a subscription's type.
func TestSubscriptionTypeFixedByFirstSubscriber(t *testing.T) {
	t.Run("exclusive stays exclusive", func(t *testing.T) {
		for _, reliable := range []bool{false, true} {
			w := newWire(t, broker.Options{FailurePolicy: fastPolicy()})
			topic := "/default/fixed-ex"
			p := w.mustProducer(topic, "p", reliable)
			id := w.mustSubscribe(topic, "s", "holder", exclusive)
			s := w.receive(id)
			p.mustSend("first")
			if m := s.next(t); reliable {
				w.ack("s", m)
			}
			for _, typ := range []danubepb.ConsumerRequest_SubscriptionType{shared, failover, keyShared, exclusive} {
				_, err := w.subscribe(topic, "s", "other", typ)
				wantStatus(t, err, codes.PermissionDenied, "Not able to subscribe to the topic "+topic+
					" due to Not allowed to add the Consumer: other, the Exclusive subscription can't be shared with other consumers")
			}
			if si := subInfo(t, w, topic, "s"); si.Type != broker.Exclusive || si.Consumers != 1 {
				t.Fatalf("reliable=%v: subscription %+v", reliable, si)
			}
			// Once the holder has gone, a Shared request is accepted, and the subscription is still Exclusive.
			s.close()
			waitHealth(t, w, id, healthClose)
			id2 := w.mustSubscribe(topic, "s", "other", shared)
			if si := subInfo(t, w, topic, "s"); si.Type != broker.Exclusive {
				t.Fatalf("reliable=%v: type %v after a Shared request, want Exclusive", reliable, si.Type)
			}
			s2 := w.receive(id2)
			p.mustSend("second")
			if m := s2.next(t); string(m.Payload) != "second" {
				t.Fatalf("got %q", m.Payload)
			}
			_, err := w.subscribe(topic, "s", "third", shared)
			wantStatus(t, err, codes.PermissionDenied, "")
		}
	})
	t.Run("shared stays shared", func(t *testing.T) {
		w := newWire(t, broker.Options{})
		topic := "/default/fixed-sh"
		p := w.mustProducer(topic, "p", false)
		a := w.receive(w.mustSubscribe(topic, "s", "a", shared))
		b := w.receive(w.mustSubscribe(topic, "s", "b", exclusive)) // accepted; the type asked is ignored
		c := w.receive(w.mustSubscribe(topic, "s", "c", failover))
		if si := subInfo(t, w, topic, "s"); si.Type != broker.Shared || si.Consumers != 3 {
			t.Fatalf("subscription %+v", si)
		}
		p.mustSend(seq("m", 6)...)
		for i, s := range []*stream{a, b, c} { // still round-robin
			for j := range 2 {
				if m := s.next(t); string(m.Payload) != "m"+uitoa(uint64(i+3*j)) {
					t.Fatalf("consumer %d got %q", i, m.Payload)
				}
			}
		}
		quiet(t, 30*time.Millisecond, a, b, c)
	})
}
