package broker_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/proto/adminpb"
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

// TestLimitNameLengths: topic, namespace, producer, subscription and consumer names longer than their limit are
// refused by every rpc that takes them, with InvalidArgument naming the limit; names at the limit are served.
func TestLimitNameLengths(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	huge := "/default/" + strings.Repeat("t", 3_000_000-len("/default/"))
	wantHuge := "topic name is 3000000 bytes; the limit is 1024"
	_, err := w.Discovery.TopicLookup(ctx(t), &danubepb.TopicLookupRequest{Topic: huge})
	wantStatus(t, err, codes.InvalidArgument, wantHuge)
	_, err = w.Discovery.TopicPartitions(ctx(t), &danubepb.TopicLookupRequest{Topic: huge})
	wantStatus(t, err, codes.InvalidArgument, wantHuge)
	_, err = w.createProducer(huge, "p", true)
	wantStatus(t, err, codes.InvalidArgument, wantHuge)
	_, err = w.subscribe(huge, "s", "c", shared)
	wantStatus(t, err, codes.InvalidArgument, wantHuge)
	_, err = a.Topic.CreateTopic(ctx(t), &adminpb.NewTopicRequest{Name: huge})
	wantStatus(t, err, codes.InvalidArgument, wantHuge)
	_, err = a.Topic.CreatePartitionedTopic(ctx(t), &adminpb.PartitionedTopicRequest{BaseName: huge, Partitions: 2})
	wantStatus(t, err, codes.InvalidArgument, wantHuge)
	if err := broker.ValidateTopicName(huge); !errors.Is(err, broker.ErrInvalidTopicName) {
		t.Fatalf("ValidateTopicName of a 3 MB name: %v", err)
	}

	atLimit := "/default/" + strings.Repeat("t", broker.MaxTopicNameLength-len("/default/"))
	_, err = w.createProducer(atLimit+"x", "p", true)
	wantStatus(t, err, codes.InvalidArgument, "topic name is 1025 bytes; the limit is 1024")
	name := strings.Repeat("n", broker.MaxNameLength)
	p := w.mustProducer(atLimit, name, true)
	_, err = w.createProducer(atLimit, name+"x", true)
	wantStatus(t, err, codes.InvalidArgument, "producer name is 1025 bytes; the limit is 1024")
	_, err = w.subscribe(atLimit, name+"x", "c", shared)
	wantStatus(t, err, codes.InvalidArgument, "subscription name is 1025 bytes; the limit is 1024")
	_, err = w.subscribe(atLimit, "s", name+"x", shared)
	wantStatus(t, err, codes.InvalidArgument, "consumer name is 1025 bytes; the limit is 1024")
	_, err = a.Namespace.CreateNamespace(ctx(t), &adminpb.NamespaceRequest{Name: name + "x"})
	wantStatus(t, err, codes.InvalidArgument, "namespace name is 1025 bytes; the limit is 1024")
	s := w.receive(w.mustSubscribe(atLimit, name, name, shared))
	p.mustSend("fits")
	if m := s.next(t); string(m.Payload) != "fits" {
		t.Fatalf("got %q", m.Payload)
	}
	if info, _ := w.srv.Topic(atLimit); len(info.Subscriptions) != 1 {
		t.Fatalf("subscriptions %+v", info.Subscriptions)
	}
}

// TestLimitMessageFields: a message with too many attributes, attributes too large, or a routing key or
// producer name too long is refused with InvalidArgument naming the limit, and not published.
func TestLimitMessageFields(t *testing.T) {
	w := newWire(t, broker.Options{})
	topic := "/default/msg-limits"
	p := w.mustProducer(topic, "p", false)
	s := w.receive(w.mustSubscribe(topic, "s", "c", shared))
	send := func(edit func(m *danubepb.StreamMessage)) error {
		m := p.message("x")
		edit(m)
		_, err := w.Producer.SendMessage(ctx(t), m)
		return err
	}
	attrs := func(n, size int) map[string]string {
		out := make(map[string]string, n)
		for i := range n {
			k := fmt.Sprintf("k%04d", i)
			out[k] = strings.Repeat("v", size-len(k))
		}
		return out
	}
	cases := []struct {
		name string
		edit func(m *danubepb.StreamMessage)
		want string // "" for accepted
	}{
		{"attributes at the count limit", func(m *danubepb.StreamMessage) { m.Attributes = attrs(broker.MaxAttributes, 8) }, ""},
		{"one attribute too many", func(m *danubepb.StreamMessage) { m.Attributes = attrs(broker.MaxAttributes+1, 8) },
			"the message has 257 attributes; the limit is 256"},
		{"attributes at the size limit", func(m *danubepb.StreamMessage) { m.Attributes = attrs(16, broker.MaxAttributesSize/16) }, ""},
		{"attributes one byte too large", func(m *danubepb.StreamMessage) {
			m.Attributes = attrs(16, broker.MaxAttributesSize/16)
			m.Attributes["k0000"] += "v"
		}, "the message's attribute names and values are 65537 bytes; the limit is 65536"},
		{"routing key at the limit", func(m *danubepb.StreamMessage) {
			k := strings.Repeat("k", broker.MaxRoutingKeyLength)
			m.RoutingKey = &k
		}, ""},
		{"routing key too long", func(m *danubepb.StreamMessage) {
			k := strings.Repeat("k", broker.MaxRoutingKeyLength+1)
			m.RoutingKey = &k
		}, "routing key is 4097 bytes; the limit is 4096"},
		{"producer name too long", func(m *danubepb.StreamMessage) { m.ProducerName = strings.Repeat("p", broker.MaxNameLength+1) },
			"producer name is 1025 bytes; the limit is 1024"},
	}
	accepted := 0
	for _, c := range cases {
		err := send(c.edit)
		if c.want == "" {
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			accepted++
			continue
		}
		wantStatus(t, err, codes.InvalidArgument, c.want)
	}
	for range accepted {
		s.next(t)
	}
	s.none(t, 50*time.Millisecond)
}

// TestLimitKeyFilters: more than MaxKeyFilters filters, or one longer than MaxKeyFilterLength, is refused at
// Subscribe with InvalidArgument naming the limit, and no consumer or subscription is created.
func TestLimitKeyFilters(t *testing.T) {
	w := newWire(t, broker.Options{})
	topic := "/default/filter-limits"
	w.mustProducer(topic, "p", true)
	_, err := w.subscribe(topic, "s", "c", keyShared, seq("f", broker.MaxKeyFilters+1)...)
	wantStatus(t, err, codes.InvalidArgument, "33 key filters given; the limit is 32")
	_, err = w.subscribe(topic, "s", "c", keyShared, "a*", strings.Repeat("*", broker.MaxKeyFilterLength+1))
	wantStatus(t, err, codes.InvalidArgument, "key filter 1 is 257 bytes; the limit is 256")
	if info, _ := w.srv.Topic(topic); len(info.Subscriptions) != 0 {
		t.Fatalf("subscriptions created by refused requests: %+v", info.Subscriptions)
	}
	w.mustSubscribe(topic, "s", "c", keyShared, append(seq("f", broker.MaxKeyFilters-1), strings.Repeat("?", broker.MaxKeyFilterLength))...)
}
