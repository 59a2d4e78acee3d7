package broker_test

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// TestInactiveProducersRemoved: producers with generated names that publish once and go away (every run of
// a command-line producer) are removed after InactiveProducerTimeout, from the topic and from the store; a
// producer that keeps checking its health stays, and a removed name is created again with a new id.
func TestInactiveProducersRemoved(t *testing.T) {
	const timeout = 300 * time.Millisecond
	st := store.NewMemory()
	w := newWire(t, broker.Options{Store: st, InactiveProducerTimeout: timeout})
	const topic = "/default/runs"
	live := w.mustProducer(topic, "live", true)
	stored := func() int {
		kvs, err := st.Meta().List("/producers/")
		if err != nil {
			t.Fatal(err)
		}
		return len(kvs)
	}
	var gone *producer
	for i := range 100 {
		p := w.mustProducer(topic, fmt.Sprintf("run-%d", i), true)
		p.mustSend("once")
		if _, ok, _ := st.Meta().Get("/producers//default/runs/" + p.name); !ok {
			t.Fatalf("no record of the producer %s just created", p.name)
		}
		gone = p
		// The live producer checks its health meanwhile, as Danube clients do every few seconds.
		if w.health(danubepb.HealthCheckRequest_Producer, live.id) != danubepb.HealthCheckResponse_OK {
			t.Fatal("the live producer was closed")
		}
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		if w.health(danubepb.HealthCheckRequest_Producer, live.id) != danubepb.HealthCheckResponse_OK {
			t.Fatal("the live producer was closed")
		}
		info, _ := w.srv.Topic(topic)
		return stored() == 1 && info.Producers == 1
	}, "the producers that went away are still recorded")
	live.mustSend("still here")
	if w.health(danubepb.HealthCheckRequest_Producer, gone.id) != danubepb.HealthCheckResponse_CLOSE {
		t.Fatal("a removed producer's health check does not answer CLOSE")
	}
	wantStatus(t, gone.send("late"), codes.NotFound, "")
	again := w.mustProducer(topic, gone.name, true)
	if again.id == gone.id {
		t.Fatalf("a removed producer came back with its old id %d", gone.id)
	}
	again.mustSend("new run")
}
