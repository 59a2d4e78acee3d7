package broker_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// Helpers shared by keyshared_test.go, health_test.go, ack_test.go, limits_test.go and schema_test.go.

// mustSendKey publishes payload with routing key key.
func (p *producer) mustSendKey(payload, key string) {
	p.w.t.Helper()
	if err := p.sendKey(payload, key); err != nil {
		p.w.t.Fatalf("SendMessage(%q, key %q): %v", payload, key, err)
	}
}

// named is a message together with the name of the stream it arrived on.
type named struct {
	from string
	m    *danubepb.StreamMessage
}

// gather reads n messages from any of streams (keyed by a name), calling each (if not nil) as they arrive. It
// fails the test when fewer than n arrive within timeout.
func gather(t *testing.T, streams map[string]*stream, n int, timeout time.Duration, each func(named)) []named {
	t.Helper()
	names := make([]string, 0, len(streams))
	cases := make([]reflect.SelectCase, 0, len(streams)+1)
	for name, s := range streams {
		names = append(names, name)
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(s.C)})
	}
	deadline := time.After(timeout)
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(deadline)})
	var out []named
	for len(out) < n {
		i, v, _ := reflect.Select(cases)
		if i == len(names) {
			t.Fatalf("got %d of %d messages within %v: %v", len(out), n, timeout, describe(out))
		}
		got := named{from: names[i], m: v.Interface().(*danubepb.StreamMessage)}
		out = append(out, got)
		if each != nil {
			each(got)
		}
	}
	return out
}

func describe(ms []named) string {
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.from + ":" + string(m.m.Payload))
	}
	return "[" + b.String() + "]"
}

// quiet asserts that none of streams receives anything within d.
func quiet(t *testing.T, d time.Duration, streams ...*stream) {
	t.Helper()
	deadline := time.After(d)
	for _, s := range streams {
		select {
		case m := <-s.C:
			t.Fatalf("unexpected message %q offset %d", m.Payload, m.MsgId.TopicOffset)
		case <-deadline:
			return
		default:
		}
	}
	<-deadline
	for _, s := range streams {
		select {
		case m := <-s.C:
			t.Fatalf("unexpected message %q offset %d", m.Payload, m.MsgId.TopicOffset)
		default:
		}
	}
}

// subInfo returns the snapshot of one subscription of topic, failing the test when either is missing.
func subInfo(t *testing.T, w *wire, topic, sub string) broker.SubscriptionInfo {
	t.Helper()
	info, ok := w.srv.Topic(topic)
	if !ok {
		t.Fatalf("topic %s not served", topic)
	}
	for _, s := range info.Subscriptions {
		if s.Name == sub {
			return s
		}
	}
	t.Fatalf("topic %s has no subscription %s: %+v", topic, sub, info.Subscriptions)
	return broker.SubscriptionInfo{}
}

// trySubInfo is subInfo for polling: ok is false while the subscription does not exist.
func trySubInfo(w *wire, topic, sub string) (broker.SubscriptionInfo, bool) {
	info, ok := w.srv.Topic(topic)
	if !ok {
		return broker.SubscriptionInfo{}, false
	}
	for _, s := range info.Subscriptions {
		if s.Name == sub {
			return s, true
		}
	}
	return broker.SubscriptionInfo{}, false
}

// waitHealth polls the health of a consumer until it is want.
func waitHealth(t *testing.T, w *wire, id uint64, want danubepb.HealthCheckResponse_ClientStatus) {
	t.Helper()
	var got danubepb.HealthCheckResponse_ClientStatus
	testenv.Eventually(t, 5*time.Second, func() bool {
		got = w.health(danubepb.HealthCheckRequest_Consumer, id)
		return got == want
	}, "consumer %d health %v, want %v", id, &got, want)
}

// wantStatusPrefix fails unless err is a gRPC status with code and a message starting with prefix.
func wantStatusPrefix(t *testing.T, err error, code codes.Code, prefix string) {
	t.Helper()
	st, ok := status.FromError(err)
	if err == nil || !ok {
		t.Fatalf("want status %v %q…, got %v", code, prefix, err)
	}
	if st.Code() != code || !strings.HasPrefix(st.Message(), prefix) {
		t.Fatalf("want status %v %q…, got %v %q", code, prefix, st.Code(), st.Message())
	}
}
