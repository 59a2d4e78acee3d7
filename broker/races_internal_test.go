package broker

import (
	"context"
	"sync"
	"testing"

	"github.com/danube-console/danube-console/broker/store/disk"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// startOnDisk starts a broker (no admin port) on an on-disk store in dir; both are closed when the test ends.
func startOnDisk(t *testing.T, dir string) (*Server, *disk.Store) {
	t.Helper()
	st, err := disk.Open(dir, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Store: st, AdminPort: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Shutdown(context.Background())
		st.Close()
	})
	return s, st
}

// TestDeleteTopicWhileRecreated: a topic deleted while something keeps creating the same name (a producer
// still sending does) is either gone or a complete new topic: stored record present and a working log.
func TestDeleteTopicWhileRecreated(t *testing.T) {
	s, st := startOnDisk(t, t.TempDir())
	const name = "/default/race"
	for i := range 100 {
		if _, _, err := s.createTopic(name, true); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.createTopic(name, true) // Unavailable while the deletion runs
			}
		})
		if err := s.deleteTopic(name); err != nil {
			t.Fatal(err)
		}
		close(stop)
		wg.Wait()
		tp := s.topic(name)
		if tp == nil {
			continue
		}
		_, stored, _ := st.Meta().Get(storeKey(keyTopics, name))
		_, aerr := tp.log.Append(&danubepb.StreamMessage{MsgId: &danubepb.MsgID{TopicName: name}})
		if !stored || aerr != nil || tp.closed.Load() {
			t.Fatalf("iteration %d: re-created topic: stored record %v, append error %v, closed %v", i, stored, aerr, tp.closed.Load())
		}
	}
}

// TestUnsubscribeWhileResubscribed: a subscription deleted while a consumer subscribes again under the same
// name either refuses the deletion, or ends with a new subscription whose records are all stored.
func TestUnsubscribeWhileResubscribed(t *testing.T) {
	s, st := startOnDisk(t, t.TempDir())
	const name = "/default/unsub"
	if _, _, err := s.createTopic(name, true); err != nil {
		t.Fatal(err)
	}
	cs := consumerService{s: s}
	req := &danubepb.ConsumerRequest{TopicName: name, Subscription: "sub", ConsumerName: "c", SubscriptionType: danubepb.ConsumerRequest_Shared}
	disconnect := func() {
		if sub := s.topic(name).subscription("sub"); sub != nil {
			for _, c := range *sub.snap.Load() {
				c.active.Store(false)
			}
		}
	}
	for i := range 100 {
		if _, err := cs.Subscribe(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		disconnect() // so that Unsubscribe is allowed
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				if _, err := cs.Subscribe(context.Background(), req); err == nil {
					return // Unavailable while the deletion runs
				}
			}
		})
		_ = s.unsubscribe(name, "sub") // refused when the Subscribe came first
		wg.Wait()
		sub := s.topic(name).subscription("sub")
		if sub == nil {
			t.Fatalf("iteration %d: the subscription is gone after a successful Subscribe", i)
		}
		_, stored, _ := st.Meta().Get(storeKey(keySubscriptions, name, "sub"))
		_, cursor, _ := st.Meta().Get(storeKey(keyCursors, name, "sub"))
		if !stored || !cursor || sub.deleting.Load() {
			t.Fatalf("iteration %d: served subscription: stored record %v, cursor %v, deleting %v", i, stored, cursor, sub.deleting.Load())
		}
		disconnect()
		if err := s.unsubscribe(name, "sub"); err != nil {
			t.Fatal(err)
		}
	}
}
