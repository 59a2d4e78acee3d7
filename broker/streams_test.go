package broker_test

import (
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/broker"
)

// The tests below open a stream and, without waiting for anything, act on the consumer again over the same
// connection. The broker receives the stream first (HTTP/2 keeps the order of a connection's requests), so
// the later request must win however the broker schedules the two handlers. Each repeats the sequence, since
// a wrong order only shows when the second handler runs before the first.

// TestTakeoverEndsStreamOpenedJustBefore: a Subscribe with the same consumer name ends the stream opened
// just before it, with Unavailable, even when that stream has not been served yet.
func TestTakeoverEndsStreamOpenedJustBefore(t *testing.T) {
	w := newWire(t, broker.Options{})
	topic := "/default/take-early"
	p := w.mustProducer(topic, "p", false)
	for i := range 20 {
		sub := fmt.Sprintf("s%d", i)
		id := w.mustSubscribe(topic, sub, "same", shared)
		old := w.receive(id)
		if again := w.mustSubscribe(topic, sub, "same", shared); again != id {
			t.Fatalf("takeover gave id %d, want %d", again, id)
		}
		wantStatus(t, old.ended(t), codes.Unavailable, "")
		cur := w.receive(id)
		p.mustSend(sub)
		if m := cur.next(t); string(m.Payload) != sub {
			t.Fatalf("got %q", m.Payload)
		}
		cur.close()
	}
}

// TestNewerStreamWinsWhenOpenedBackToBack: of two ReceiveMessages for one consumer sent back to back, the
// second serves the consumer and the first ends with Unavailable.
func TestNewerStreamWinsWhenOpenedBackToBack(t *testing.T) {
	w := newWire(t, broker.Options{})
	topic := "/default/newer-stream"
	p := w.mustProducer(topic, "p", false)
	for i := range 20 {
		sub := fmt.Sprintf("s%d", i)
		id := w.mustSubscribe(topic, sub, "c", shared)
		first := w.receive(id)
		second := w.receive(id)
		wantStatus(t, first.ended(t), codes.Unavailable, "")
		p.mustSend(sub)
		if m := second.next(t); string(m.Payload) != sub {
			t.Fatalf("got %q", m.Payload)
		}
		second.close()
	}
}
