package broker_test

import (
	"context"
	"reflect"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// Tests of the admin answers and dead-letter attributes that must match the real Danube broker's, over real
// gRPC.

// TestFailurePolicyBeforeSubscription configures a dead-letter policy before any consumer exists, the way
// people set up a subscription, and checks that the subscription starts with it: stored, listed, kept across a
// restart, applied to redelivery, and gone with the subscription.
func TestFailurePolicyBeforeSubscription(t *testing.T) {
	st := newMemoryStore()
	w, a := newAdminWire(t, broker.Options{Store: st})
	const topic = "/default/early"
	a.mustCreateTopic(t, topic, true)
	a.mustCreateTopic(t, "/default/early-dlq", true)
	pol := &adminpb.SubscriptionFailurePolicy{MaxRedeliveryCount: 1, AckTimeoutMs: 5000, BaseRedeliveryDelayMs: 10,
		MaxRedeliveryDelayMs: 100, BackoffStrategy: adminpb.SubscriptionBackoffStrategy_Fixed,
		PoisonPolicy: adminpb.SubscriptionPoisonPolicy_DeadLetter, DeadLetterTopic: strp("/default/early-dlq")}
	a.setPolicy(t, topic, "s", pol)

	// Stored and listed before the subscription exists, as on the real broker; type 0 without a subscription.
	got, err := a.Topic.GetSubscriptionFailurePolicy(ctx(t), &adminpb.GetSubscriptionFailurePolicyRequest{Topic: topic, Subscription: "s"})
	if err != nil || !proto.Equal(got, &adminpb.GetSubscriptionFailurePolicyResponse{FailurePolicy: pol}) {
		t.Fatalf("GetSubscriptionFailurePolicy before Subscribe = %v %v, want %v", got, err, pol)
	}
	if subs := a.subscriptions(t, topic); !reflect.DeepEqual(subs, []string{"s"}) {
		t.Fatalf("ListSubscriptions with a configured subscription = %q, want [s]", subs)
	}

	// Kept across a restart before the first Subscribe.
	if err := w.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	w, a = newAdminWire(t, broker.Options{Store: st})
	got, err = a.Topic.GetSubscriptionFailurePolicy(ctx(t), &adminpb.GetSubscriptionFailurePolicyRequest{Topic: topic, Subscription: "s"})
	if err != nil || !proto.Equal(got.GetFailurePolicy(), pol) {
		t.Fatalf("GetSubscriptionFailurePolicy after a restart = %v %v, want %v", got, err, pol)
	}

	// The subscription created now starts with the policy: the second failure dead-letters the message.
	dlq := w.receive(w.mustSubscribe("/default/early-dlq", "d", "c", exclusive))
	p := w.mustProducer(topic, "p", true)
	s := w.receive(w.mustSubscribe(topic, "s", "c", shared))
	got, err = a.Topic.GetSubscriptionFailurePolicy(ctx(t), &adminpb.GetSubscriptionFailurePolicyRequest{Topic: topic, Subscription: "s"})
	if err != nil || !proto.Equal(got, &adminpb.GetSubscriptionFailurePolicyResponse{SubscriptionType: 1, FailurePolicy: pol}) {
		t.Fatalf("GetSubscriptionFailurePolicy after Subscribe = %v %v", got, err)
	}
	p.mustSend("bad")
	w.nack("s", s.next(t), 0, "first")
	w.nack("s", s.next(t), 0, "second")
	if d := dlq.next(t); string(d.Payload) != "bad" || d.Attributes["x-failure-reason"] != "second" {
		t.Fatalf("dead letter %q %v", d.Payload, d.Attributes)
	}
	s.none(t, 100*time.Millisecond)

	// Kept with the subscription across a restart.
	if err := w.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	w, a = newAdminWire(t, broker.Options{Store: st})
	got, err = a.Topic.GetSubscriptionFailurePolicy(ctx(t), &adminpb.GetSubscriptionFailurePolicyRequest{Topic: topic, Subscription: "s"})
	if err != nil || !proto.Equal(got, &adminpb.GetSubscriptionFailurePolicyResponse{SubscriptionType: 1, FailurePolicy: pol}) {
		t.Fatalf("GetSubscriptionFailurePolicy after a restart = %v %v", got, err)
	}

	// Unsubscribing forgets it: a new subscription of the same name starts with the broker's policy.
	if _, err := a.Topic.Unsubscribe(ctx(t), &adminpb.SubscriptionRequest{Topic: topic, Subscription: "s"}); err != nil {
		t.Fatalf("Unsubscribe: %v", err)
	}
	if subs := a.subscriptions(t, topic); len(subs) != 0 {
		t.Fatalf("ListSubscriptions after Unsubscribe = %q", subs)
	}
	w.mustSubscribe(topic, "s", "c", exclusive)
	got, err = a.Topic.GetSubscriptionFailurePolicy(ctx(t), &adminpb.GetSubscriptionFailurePolicyRequest{Topic: topic, Subscription: "s"})
	if err != nil || got.GetFailurePolicy().GetPoisonPolicy() != adminpb.SubscriptionPoisonPolicy_Block ||
		got.GetFailurePolicy().GetMaxRedeliveryCount() != 5 {
		t.Fatalf("policy of a new subscription after Unsubscribe = %v %v, want the default", got, err)
	}

	// Deleting the topic forgets configurations of subscriptions that never existed.
	a.setPolicy(t, topic, "never", pol)
	if _, err := a.Topic.DeleteTopic(ctx(t), &adminpb.TopicRequest{Name: topic}); err != nil {
		t.Fatalf("DeleteTopic: %v", err)
	}
	a.mustCreateTopic(t, topic, true)
	got, err = a.Topic.GetSubscriptionFailurePolicy(ctx(t), &adminpb.GetSubscriptionFailurePolicyRequest{Topic: topic, Subscription: "never"})
	if err != nil || got.FailurePolicy != nil {
		t.Fatalf("policy after the topic was deleted and created again = %v %v, want none", got, err)
	}
}

// TestFailurePolicyRealRangeRules checks that a policy the real broker accepts is accepted (there are no range
// checks) and works: an ack timeout of 0 and a base delay above the maximum.
func TestFailurePolicyRealRangeRules(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	const topic = "/default/ranges"
	a.mustCreateTopic(t, topic, true)
	pol := &adminpb.SubscriptionFailurePolicy{MaxRedeliveryCount: 0, AckTimeoutMs: 0, BaseRedeliveryDelayMs: 500,
		MaxRedeliveryDelayMs: 10, PoisonPolicy: adminpb.SubscriptionPoisonPolicy_Drop}
	a.setPolicy(t, topic, "s", pol)
	p := w.mustProducer(topic, "p", true)
	s := w.receive(w.mustSubscribe(topic, "s", "c", exclusive))
	p.mustSend("gone", "next")
	// With no redelivery allowed, the first failure (an ack timeout at once) drops each message: the cursor
	// passes both without an ack, and the subscription goes on.
	testenv.Eventually(t, 10*time.Second, func() bool {
		return subInfo(t, w, topic, "s").Cursor == 2
	}, "the cursor did not pass the dropped messages")
	_ = s // whether a message reaches the stream before its 0 ms ack timeout is a race; the cursor is not
}

// TestDeadLetterAttributesAsTheRealBroker checks every attribute a dead letter carries, with the real values:
// the original attributes kept, the poison-policy label, the failure reason of an ack timeout, and no failure
// reason when the last Nack gave none.
func TestDeadLetterAttributesAsTheRealBroker(t *testing.T) {
	w, a := newAdminWire(t, broker.Options{})
	const topic = "/default/dl-attrs"
	a.mustCreateTopic(t, topic, true)
	a.mustCreateTopic(t, "/default/dl-attrs-dlq", true)
	a.setPolicy(t, topic, "s", &adminpb.SubscriptionFailurePolicy{MaxRedeliveryCount: 0, AckTimeoutMs: 300,
		BaseRedeliveryDelayMs: 10, MaxRedeliveryDelayMs: 10, PoisonPolicy: adminpb.SubscriptionPoisonPolicy_DeadLetter,
		DeadLetterTopic: strp("/default/dl-attrs-dlq")})
	dlq := w.receive(w.mustSubscribe("/default/dl-attrs-dlq", "d", "c", exclusive))
	p := w.mustProducer(topic, "p", true)
	s := w.receive(w.mustSubscribe(topic, "s", "c", exclusive))

	m := p.message("no-reason")
	m.Attributes["app"] = "kept"
	if _, err := w.Producer.SendMessage(ctx(t), m); err != nil {
		t.Fatal(err)
	}
	got := s.next(t)
	if _, err := w.Consumer.Nack(ctx(t), &danubepb.NackRequest{RequestId: got.RequestId, MsgId: got.MsgId, SubscriptionName: "s"}); err != nil {
		t.Fatal(err)
	}
	d := dlq.next(t)
	want := map[string]string{
		"app":                     "kept",
		"x-original-topic":        topic,
		"x-original-subscription": "s",
		"x-original-topic-offset": "0",
		"x-original-producer-id":  strconv.FormatUint(p.id, 10),
		"x-original-broker-addr":  w.srv.URL(),
		"x-poison-policy":         "dead_letter",
		"x-delivery-attempt":      "1",
	}
	if string(d.Payload) != "no-reason" || !reflect.DeepEqual(d.Attributes, want) {
		t.Fatalf("dead letter %q attributes %v, want %v", d.Payload, d.Attributes, want)
	}

	// Not acked in time: the reason is "ack timeout".
	p.mustSend("late")
	if got := s.next(t); string(got.Payload) != "late" {
		t.Fatalf("got %q", got.Payload)
	}
	d = dlq.next(t)
	if string(d.Payload) != "late" || d.Attributes["x-failure-reason"] != "ack timeout" ||
		d.Attributes["x-original-topic-offset"] != "1" || d.Attributes["x-poison-policy"] != "dead_letter" {
		t.Fatalf("dead letter after an ack timeout %q %v", d.Payload, d.Attributes)
	}
}
