package monitor

import (
	"errors"
	"testing"

	"github.com/danube-console/danube-console/client"
)

func TestStateNames(t *testing.T) {
	for _, c := range []struct {
		got  string
		want string
	}{
		{ProducerUnknown.String(), ""}, {ProducerRecreated.String(), "recreated"}, {ProducerState(9).String(), "ProducerState(9)"},
		{ConsumerStreamEnded.String(), "stream-ended"}, {ConsumerFailed.String(), "failed"},
		{ConnTransientFailure.String(), "transient-failure"}, {ConnUnknown.String(), ""},
		{HealthOK.String(), "OK"}, {HealthClose.String(), "CLOSE"}, {HealthError.String(), "error"},
		{StateNone.String(), ""}, {StateExpired.String(), "expired"},
		{SubscriptionUnknown.String(), ""}, {SubscriptionKeyShared.String(), "key-shared"}, {SubscriptionType(7).String(), "SubscriptionType(7)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	// Every client event maps to a state whose name is the client's own word for it.
	for k := client.ProducerCreated; k <= client.ProducerFailed; k++ {
		if producerStateOf(k).String() != k.String() {
			t.Errorf("producer %v -> %v", k, producerStateOf(k))
		}
	}
	for k := client.ConsumerSubscribed; k <= client.ConsumerFailed; k++ {
		if consumerStateOf(k).String() != k.String() {
			t.Errorf("consumer %v -> %v", k, consumerStateOf(k))
		}
	}
	for s := client.ConnIdle; s <= client.ConnShutdown; s++ {
		if connStateOf(s).String() != s.String() {
			t.Errorf("conn %v -> %v", s, connStateOf(s))
		}
	}
	for s := client.HealthOK; s <= client.HealthError; s++ {
		if healthStatusOf(s).String() != s.String() {
			t.Errorf("health %v -> %v", s, healthStatusOf(s))
		}
	}
}

func TestSubscriptionTypes(t *testing.T) {
	for _, name := range SubscriptionTypeNames() {
		typ, err := ParseSubscriptionType(name)
		if err != nil || typ.String() != name {
			t.Errorf("%q -> %v, %v", name, typ, err)
		}
		ct, ok := typ.Client()
		if !ok || SubscriptionTypeOf(ct) != typ {
			t.Errorf("%v does not round-trip through the client's type (%v)", typ, ct)
		}
	}
	if _, err := ParseSubscriptionType("round-robin"); !errors.Is(err, client.ErrUnknownSubscriptionType) {
		t.Errorf("unknown type: %v", err)
	}
	if ct, ok := SubscriptionUnknown.Client(); ok || ct != client.Shared {
		t.Errorf("unknown type maps to %v, %v", ct, ok)
	}
}
