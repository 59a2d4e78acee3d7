package httpsink

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/internal/jsonl"
)

// TestThroughBroker feeds the sink messages received from a real embedded broker on a reliable topic, as
// the runtime does, and checks that the endpoint sees their real topic, offsets, keys and attributes; the
// messages that were delivered are acknowledged, the failed one nacked.
func TestThroughBroker(t *testing.T) {
	srv := brokertest.Run(t, broker.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const topic = "/default/http-sink"
	p, err := c.NewProducer(ctx, client.ProducerConfig{Topic: topic, Dispatch: client.Reliable})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	cons, err := c.Subscribe(ctx, client.ConsumerConfig{Topic: topic, Subscription: "http"})
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close(context.Background())
	for i := range 4 {
		if _, err := p.SendWithKey(ctx, "k"+strconv.Itoa(i), []byte("payload-"+strconv.Itoa(i)), client.WithAttributes(map[string]string{"n": strconv.Itoa(i)})); err != nil {
			t.Fatal(err)
		}
	}
	var batch []*client.Message
	for len(batch) < 4 {
		m, err := cons.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, m)
	}

	// Message mode: the endpoint refuses payload-3.
	e := newEndpoint(t, func(w http.ResponseWriter, _ *http.Request, body []byte) {
		if string(body) == "payload-3" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	s := newSink(t, map[string]any{"url": e.srv.URL}, nil)
	err = s.Write(ctx, batch)
	var be *connectors.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 || connectors.KindOf(be.Failed[3]) != connectors.KindInvalidData {
		t.Fatalf("Write = %v, want message 3 failed as invalid data", err)
	}
	got := map[string]seen{}
	for _, r := range e.requests() {
		got[string(r.body)] = r
	}
	for i, m := range batch {
		r, ok := got["payload-"+strconv.Itoa(i)]
		if !ok {
			t.Fatalf("payload-%d never reached the endpoint", i)
		}
		if r.header.Get("X-Danube-Topic") != topic || r.header.Get("X-Danube-Offset") != strconv.FormatUint(m.ID.Offset, 10) ||
			r.header.Get("X-Danube-Key") != "k"+strconv.Itoa(i) || r.header.Get("X-Danube-Attr-N") != strconv.Itoa(i) {
			t.Errorf("payload-%d: headers %v", i, r.header)
		}
		if uint64(i) != m.ID.Offset {
			t.Errorf("payload-%d has offset %d", i, m.ID.Offset)
		}
		if be.Failed[i] == nil {
			if err := m.Ack(ctx); err != nil {
				t.Error(err)
			}
		} else if err := m.Nack(ctx, 0, be.Failed[i].Error()); err != nil {
			t.Error(err)
		}
	}

	// Batch mode: the array carries what jsonl.FromMessage makes of the real messages.
	eb := newEndpoint(t, nil)
	sb := newSink(t, map[string]any{"url": eb.srv.URL, "mode": "batch"}, nil)
	if err := sb.Write(ctx, batch[:3]); err != nil {
		t.Fatal(err)
	}
	var recs []jsonl.Record
	if reqs := eb.requests(); len(reqs) != 1 || json.Unmarshal(reqs[0].body, &recs) != nil || len(recs) != 3 {
		t.Fatalf("batch requests %+v", reqs)
	}
	for i, r := range recs {
		if r.Topic != topic || r.Offset != uint64(i) || r.Key == nil || *r.Key != "k"+strconv.Itoa(i) || r.Payload == nil || *r.Payload != "payload-"+strconv.Itoa(i) || r.Subscription != "http" {
			t.Errorf("record %d: %+v", i, r)
		}
	}
}
