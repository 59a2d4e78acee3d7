package broker_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/proto/danubepb"
)

const (
	healthOK    = danubepb.HealthCheckResponse_OK
	healthClose = danubepb.HealthCheckResponse_CLOSE
	hcProducer  = danubepb.HealthCheckRequest_Producer
	hcConsumer  = danubepb.HealthCheckRequest_Consumer
)

func TestHealthProducer(t *testing.T) {
	for _, reliable := range []bool{false, true} {
		w := newWire(t, broker.Options{})
		p := w.mustProducer("/default/hp", "p", reliable)
		if st := w.health(hcProducer, p.id); st != healthOK {
			t.Fatalf("reliable=%v: registered producer health %v, want OK", reliable, st)
		}
		p.mustSend("x")
		if st := w.health(hcProducer, p.id); st != healthOK {
			t.Fatalf("reliable=%v: producer health after a send %v, want OK", reliable, st)
		}
		// The same name reconnects to the same, still healthy, producer.
		if again := w.mustProducer("/default/hp", "p", reliable); again.id != p.id || w.health(hcProducer, p.id) != healthOK {
			t.Fatalf("reliable=%v: reconnect id %d (want %d)", reliable, again.id, p.id)
		}
		if st := w.health(hcProducer, p.id+1); st != healthClose {
			t.Fatalf("unknown producer health %v, want CLOSE", st)
		}
		if st := w.health(hcProducer, 0); st != healthClose {
			t.Fatalf("producer id 0 health %v, want CLOSE", st)
		}
	}
}

func TestHealthProducerIDIsNotAConsumerID(t *testing.T) {
	w := newWire(t, broker.Options{})
	p := w.mustProducer("/default/hx", "p", false)
	cid := w.mustSubscribe("/default/hx", "s", "c", shared)
	if st := w.health(hcConsumer, p.id); st != healthClose {
		t.Fatalf("a producer id asked as a consumer: %v, want CLOSE", st)
	}
	if st := w.health(hcProducer, cid); st != healthClose {
		t.Fatalf("a consumer id asked as a producer: %v, want CLOSE", st)
	}
}

func TestHealthConsumerLifecycle(t *testing.T) {
	for _, reliable := range []bool{false, true} {
		w := newWire(t, broker.Options{FailurePolicy: fastPolicy()})
		topic := "/default/hc"
		p := w.mustProducer(topic, "p", reliable)
		id := w.mustSubscribe(topic, "s", "c", shared)
		// A stream cancelled before the broker saw it leaves the consumer connected until the stream wait
		// timeout: a message through the stream says it is attached before the test closes it.
		attached := func(s *stream) { p.mustSend("attached"); s.next(t) }
		// Active right after Subscribe, before any ReceiveMessages.
		if st := w.health(hcConsumer, id); st != healthOK {
			t.Fatalf("reliable=%v: health after Subscribe %v, want OK", reliable, st)
		}
		s := w.receive(id)
		if st := w.health(hcConsumer, id); st != healthOK {
			t.Fatalf("reliable=%v: health while streaming %v, want OK", reliable, st)
		}
		attached(s)
		s.close()
		waitHealth(t, w, id, healthClose)

		// Reconnect by opening a new stream for the same id.
		s = w.receive(id)
		waitHealth(t, w, id, healthOK)
		s.close()
		waitHealth(t, w, id, healthClose)

		// Reconnect by subscribing again with the same name (takeover): OK at once, even before the stream.
		if again := w.mustSubscribe(topic, "s", "c", shared); again != id {
			t.Fatalf("reliable=%v: resubscribe id %d, want %d", reliable, again, id)
		}
		if st := w.health(hcConsumer, id); st != healthOK {
			t.Fatalf("reliable=%v: health after resubscribe %v, want OK", reliable, st)
		}
		s = w.receive(id)
		if st := w.health(hcConsumer, id); st != healthOK {
			t.Fatalf("reliable=%v: health after reconnect %v, want OK", reliable, st)
		}
		attached(s)
		s.close()
		waitHealth(t, w, id, healthClose)
	}
}

// TestHealthReplacedStreamKeepsConsumerHealthy: a stream replaced by a newer one for the same consumer ends,
// but the consumer stays OK because the newer stream serves it.
func TestHealthReplacedStreamKeepsConsumerHealthy(t *testing.T) {
	w := newWire(t, broker.Options{})
	p := w.mustProducer("/default/hr", "p", false)
	id := w.mustSubscribe("/default/hr", "s", "c", shared)
	old := w.receive(id)
	p.mustSend("attached") // received on old: the old stream is attached before the newer one is opened
	if m := old.next(t); string(m.Payload) != "attached" {
		t.Fatalf("got %q", m.Payload)
	}
	cur := w.receive(id)
	wantStatus(t, old.ended(t), codes.Unavailable, "")
	if st := w.health(hcConsumer, id); st != healthOK {
		t.Fatalf("health %v after the old stream ended, want OK", st)
	}
	cur.close()
	waitHealth(t, w, id, healthClose)
}

func TestHealthUnknownConsumer(t *testing.T) {
	w := newWire(t, broker.Options{})
	if st := w.health(hcConsumer, 4242); st != healthClose {
		t.Fatalf("unknown consumer health %v, want CLOSE", st)
	}
	if st := w.health(hcConsumer, 0); st != healthClose {
		t.Fatalf("consumer id 0 health %v, want CLOSE", st)
	}
}

func TestHealthInvalidClientType(t *testing.T) {
	w := newWire(t, broker.Options{})
	p := w.mustProducer("/default/hi", "p", false)
	for _, typ := range []int32{2, 5, -1} {
		_, err := w.Health.HealthCheck(ctx(t), &danubepb.HealthCheckRequest{RequestId: 1,
			Client: danubepb.HealthCheckRequest_ClientType(typ), Id: p.id})
		wantStatus(t, err, codes.InvalidArgument, "Invalid client type")
	}
}
