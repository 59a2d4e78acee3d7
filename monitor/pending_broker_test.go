package monitor

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/internal/testenv"
)

// pendingEverywhere returns the pending figures the console shows for one manual-ack stream: the consumer's,
// its subscription's, and the number of its kept messages in StatePending.
func pendingEverywhere(m *Monitor, s Snapshot, topic, sub, stream string) (consumer int, subscription int64, listed int) {
	c, _ := consumerOf(s, stream)
	for _, x := range s.Subscriptions {
		if x.Topic == topic && x.Subscription == sub {
			subscription = x.Pending
		}
	}
	for _, g := range messagesOf(m, stream) {
		if g.State == StatePending {
			listed++
		}
	}
	return c.Pending, subscription, listed
}

// Pending is the messages delivered and neither acked nor nacked, each once: a message the broker delivers again
// because its ack timeout passed is still one, a nacked one leaves until it is back; the consumer, its
// subscription and the stream's list agree. End-to-end latency counts first deliveries only, the redelivery
// wait is apart.
func TestPendingCountsEachMessageOnceAgainstBroker(t *testing.T) {
	policy := quickPolicy
	policy.AckTimeout = 400 * time.Millisecond
	policy.MaxRedeliveryCount = 1000
	f := startWith(t, broker.Options{FailurePolicy: policy}, Options{})
	ctx := ctxT(t)
	const topic, sub, total = "/default/pending", "s", 10
	p := f.producer(t, topic, "p", true)
	if err := f.m.StartConsumer(ctx, ConsumerSpec{Name: "tap", Topic: topic, Subscription: sub, ManualAck: true}); err != nil {
		t.Fatal(err)
	}
	stream := StreamID(topic, sub, "tap")
	for i := range total {
		if _, err := p.Send(ctx, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	agree := func(want int) func(Snapshot) bool {
		return func(s Snapshot) bool {
			c, ss, l := pendingEverywhere(f.m, s, topic, sub, stream)
			return c == want && ss == int64(want) && l == want
		}
	}
	// Every message delivered at least twice (the ack timeout passed): still ten pending, everywhere.
	s := eventually(t, f.m, "every message redelivered, 10 pending everywhere", func(s Snapshot) bool {
		return findSub(t, s, topic, sub).Redelivered >= 2*total && agree(total)(s)
	})
	if ss := findSub(t, s, topic, sub); ss.Received < 3*total || ss.Pending != total {
		t.Fatalf("subscription %+v: want every delivery received, %d pending", ss, total)
	}

	// Nack three, ack four (a message whose ack timeout passed meanwhile is settled by its newer delivery).
	settle := func(nack bool, n int, done map[uint64]bool) {
		t.Helper()
		testenv.Eventually(t, 15*time.Second, func() bool {
			for _, g := range messagesOf(f.m, stream) {
				if len(done) == n {
					return true
				}
				if g.State != StatePending || done[g.Offset] {
					continue
				}
				var err error
				if nack {
					err = f.m.Nack(ctx, stream, []uint64{g.Seq}, 0, "again")
				} else {
					err = f.m.Ack(ctx, stream, []uint64{g.Seq})
				}
				switch {
				case err == nil:
					done[g.Offset] = true
				case !errors.Is(err, ErrNotPending):
					t.Fatal(err)
				}
			}
			return len(done) == n
		}, "%d messages settled", n)
	}
	nacked, acked := map[uint64]bool{}, map[uint64]bool{}
	settle(true, 3, nacked)
	settle(false, 4, acked)
	for off := range acked {
		if nacked[off] {
			t.Fatalf("offset %d both nacked and acked", off)
		}
	}
	// The nacked ones come back: six delivered and unsettled, everywhere.
	eventually(t, f.m, "6 pending everywhere", agree(total-4))

	// Ack the rest: none pending, none counted twice.
	settle(false, total, acked)
	s = eventually(t, f.m, "none pending everywhere, every ack counted", func(s Snapshot) bool {
		return agree(0)(s) && findSub(t, s, topic, sub).Acked >= total
	})
	c, _ := consumerOf(s, stream)
	ss := findSub(t, s, topic, sub)
	if c.EndToEnd.Count != total {
		t.Fatalf("end to end over %d deliveries, want the %d first ones", c.EndToEnd.Count, total)
	}
	if c.Redelivery.Count == 0 || c.Redelivery.Count != ss.Redelivered || ss.Redelivery.Count != ss.Redelivered {
		t.Fatalf("redelivery waits %+v (subscription %+v) for %d redeliveries", c.Redelivery, ss.Redelivery, ss.Redelivered)
	}
	// A redelivery for an ack timeout waited at least that (the end-to-end figure never includes it).
	if c.Redelivery.Max < policy.AckTimeout/2 {
		t.Fatalf("redelivery %+v with an ack timeout of %v", c.Redelivery, policy.AckTimeout)
	}
}
