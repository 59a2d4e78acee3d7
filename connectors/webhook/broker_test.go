package webhook

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
)

// TestThroughBroker runs the source against a real embedded broker, with a minimal stand-in for the
// runtime (Read, publish with the real client, then settle): a 202 means the message is on its topic with
// its attributes, and a message the broker refuses for good gets 422 and never appears.
func TestThroughBroker(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{Policies: broker.Policies{MaxMessageSize: 64}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	producers := map[string]*client.Producer{}
	for _, topic := range []string{"/default/orders", "/default/refunds"} {
		p, err := c.NewProducer(ctx, client.ProducerConfig{Topic: topic, Name: "webhook-" + strings.TrimPrefix(topic, "/default/")})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(context.Background())
		producers[topic] = p
	}
	cons, err := c.Subscribe(ctx, client.ConsumerConfig{Topic: "/default/orders", Subscription: "check"})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close(context.Background())

	s, base := start(t, map[string]any{"headers_to_attributes": []any{"X-Event-Id"}, "max_body_bytes": int64(1024)}, options{})
	// The stand-in runtime.
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			recs, ack, err := s.Read(rctx)
			if err != nil {
				return
			}
			var failure error
			for _, r := range recs {
				if _, err := producers[r.Topic].Send(rctx, r.Payload, client.WithAttributes(r.Attributes)); err != nil {
					failure = connectors.Retryable(err)
					if errors.Is(err, client.ErrMessageTooLarge) {
						failure = connectors.InvalidData(err)
					}
					break
				}
			}
			_ = ack(rctx, failure)
		}
	})
	defer func() { stop(); wg.Wait() }()

	rep := post(t, http.MethodPost, base+"/orders", []byte(`{"id":1}`), map[string]string{"X-Event-Id": "evt-1", "Content-Type": "application/json"})
	if rep.status != 202 || rep.body["topic"] != "/default/orders" {
		t.Fatalf("reply %v", rep)
	}
	select {
	case m := <-cons.Messages():
		want := map[string]string{"x-event-id": "evt-1", "content-type": "application/json", "x-webhook-route": "/orders"}
		if string(m.Payload) != `{"id":1}` || m.ID.Topic != "/default/orders" || len(m.Attributes) != len(want) {
			t.Errorf("message %q on %s with %v", m.Payload, m.ID.Topic, m.Attributes)
		}
		for k, v := range want {
			if m.Attributes[k] != v {
				t.Errorf("attribute %s = %q, want %q", k, m.Attributes[k], v)
			}
		}
		if err := m.Ack(ctx); err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the accepted message never reached the topic")
	}

	rep = post(t, http.MethodPost, base+"/orders", []byte(strings.Repeat("x", 100)), nil)
	if rep.status != 422 || !strings.Contains(rep.body["error"], "exceeds maximum") {
		t.Errorf("a message over the broker's limit: %v, want 422", rep)
	}
	expect(t, "other route", post(t, http.MethodPost, base+"/refunds", []byte("r"), nil), 202, "")
	select {
	case m := <-cons.Messages():
		t.Errorf("unexpected message %q on %s", m.Payload, m.ID.Topic)
	case <-time.After(200 * time.Millisecond):
	}
}
