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

// storedConsumers counts the consumer records in the store.
func storedConsumers(t *testing.T, st store.Store) int {
	t.Helper()
	kvs, err := st.Meta().List("/consumers/")
	if err != nil {
		t.Fatal(err)
	}
	return len(kvs)
}

// TestSharedInactiveConsumersRemoved: consumers with generated names that connect and go away are removed
// after InactiveConsumerTimeout, from the subscription and from the store, on every subscription type and
// both kinds of topic; a connected consumer stays and keeps receiving; one that comes back in time keeps its
// id; one that subscribed and never opened its stream goes too.
func TestSharedInactiveConsumersRemoved(t *testing.T) {
	const timeout = 200 * time.Millisecond
	for _, reliable := range []bool{false, true} {
		for _, typ := range []danubepb.ConsumerRequest_SubscriptionType{shared, keyShared, failover, exclusive} {
			name := fmt.Sprintf("reliable=%v %v", reliable, typ)
			st := store.NewMemory()
			w := newWire(t, broker.Options{Store: st, InactiveConsumerTimeout: timeout, StreamWaitTimeout: timeout,
				FailurePolicy: fastPolicy()})
			topic := "/default/removal"
			p := w.mustProducer(topic, "p", reliable)

			// The consumer that stays; on Exclusive and Failover it is the one served.
			liveID := w.mustSubscribe(topic, "s", "live", typ)
			live := w.receive(liveID)
			n := 50
			if typ == exclusive {
				n = 0 // another name is refused while the holder is connected
			}
			for i := range n {
				id := w.mustSubscribe(topic, "s", fmt.Sprintf("gen-%d", i), typ)
				s := w.receive(id)
				s.close()
			}
			if typ == exclusive {
				_, err := w.subscribe(topic, "s", "never-streamed", typ)
				wantStatus(t, err, codes.PermissionDenied, "")
			} else {
				w.mustSubscribe(topic, "s", "never-streamed", typ)
			}
			testenv.Eventually(t, 10*time.Second, func() bool {
				return subInfo(t, w, topic, "s").Consumers == 1 && storedConsumers(t, st) == 1
			}, "%s: %d consumers, %d stored, want 1", name, subInfo(t, w, topic, "s").Consumers, storedConsumers(t, st))
			if got := w.health(danubepb.HealthCheckRequest_Consumer, liveID); got != healthOK {
				t.Fatalf("%s: the live consumer's health is %v", name, got)
			}

			// The live consumer still receives.
			p.mustSend("after")
			m := live.next(t)
			if string(m.Payload) != "after" {
				t.Fatalf("%s: got %q", name, m.Payload)
			}
			if reliable {
				w.ack("s", m)
			}

			// A consumer that goes away and comes back within the timeout keeps its id; once removed, its id is
			// unknown and Subscribe gives it a new one.
			live.close()
			if again := w.mustSubscribe(topic, "s", "live", typ); again != liveID {
				t.Fatalf("%s: a consumer back in time got id %d, want %d", name, again, liveID)
			}
			live = w.receive(liveID)
			live.close()
			waitHealth(t, w, liveID, healthClose)
			testenv.Eventually(t, 10*time.Second, func() bool {
				return subInfo(t, w, topic, "s").Consumers == 0 && storedConsumers(t, st) == 0
			}, "%s: the last consumer was not removed", name)
			rs, err := w.Consumer.ReceiveMessages(ctx(t), &danubepb.ReceiveRequest{ConsumerId: liveID})
			if err == nil {
				_, err = rs.Recv()
			}
			wantStatus(t, err, codes.NotFound, "")
			newID := w.mustSubscribe(topic, "s", "live", typ)
			if newID == liveID {
				t.Fatalf("%s: a removed consumer got its old id back", name)
			}
			if storedConsumers(t, st) != 1 {
				t.Fatalf("%s: %d consumer records after subscribing again", name, storedConsumers(t, st))
			}
			if reliable { // nothing was lost meanwhile
				p.mustSend("later")
				if m := w.receive(newID).next(t); string(m.Payload) != "later" {
					t.Fatalf("%s: got %q", name, m.Payload)
				}
			}
		}
	}
}

// TestSharedInactiveConsumersRemovedAfterRestart: consumers restored from the store count as disconnected
// from the restart, and those that do not come back are removed after InactiveConsumerTimeout.
func TestSharedInactiveConsumersRemovedAfterRestart(t *testing.T) {
	st := store.NewMemory()
	w := newWire(t, broker.Options{Store: st})
	topic := "/default/removal-restart"
	w.mustProducer(topic, "p", true)
	for i := range 5 {
		w.mustSubscribe(topic, "s", fmt.Sprintf("c%d", i), shared)
	}
	if err := w.srv.Shutdown(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if n := storedConsumers(t, st); n != 5 {
		t.Fatalf("%d consumer records before the restart, want 5", n)
	}
	w = newWire(t, broker.Options{Store: st, InactiveConsumerTimeout: 200 * time.Millisecond})
	back := w.mustSubscribe(topic, "s", "c0", shared) // comes back in time
	s := w.receive(back)
	testenv.Eventually(t, 10*time.Second, func() bool {
		return subInfo(t, w, topic, "s").Consumers == 1 && storedConsumers(t, st) == 1
	}, "restored consumers were not removed: %d left, %d stored", subInfo(t, w, topic, "s").Consumers, storedConsumers(t, st))
	s.close()
}
