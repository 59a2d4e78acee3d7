package broker

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// SubscriptionType is how a subscription shares messages among its consumers; the numbers are the wire values
// of danube.ConsumerRequest.SubscriptionType.
type SubscriptionType int

// Subscription types.
const (
	// Exclusive: one consumer at a time; another name is refused while the holder is connected.
	Exclusive SubscriptionType = 0
	// Shared: messages are spread round-robin over the connected consumers.
	Shared SubscriptionType = 1
	// Failover: one active consumer gets everything; when it goes away the longest-standing connected
	// consumer takes over.
	Failover SubscriptionType = 2
	// KeyShared: messages with the same key go to the same consumer, chosen by key filters and consistent
	// hashing.
	KeyShared SubscriptionType = 3
)

func (t SubscriptionType) String() string {
	switch t {
	case Exclusive:
		return "Exclusive"
	case Shared:
		return "Shared"
	case Failover:
		return "Failover"
	case KeyShared:
		return "KeyShared"
	}
	return "Unknown"
}

// subscription holds a subscription's consumers and, on reliable topics, its dispatcher state (dispatch.go).
// Non-reliable dispatch reads the consumer snapshot without locks; everything else holds mu.
type subscription struct {
	topic    *topic
	name     string
	typ      SubscriptionType
	reliable bool
	srv      *Server

	mu        sync.Mutex
	consumers []*consumer // in join order
	byName    map[string]*consumer
	nextSeq   uint64
	// lastConnected is when a consumer was last seen active; the idle reaper reads it.
	lastConnected time.Time

	snap     atomic.Pointer[[]*consumer] // copy of consumers for lock-free dispatch
	ring     atomic.Pointer[hashRing]    // KeyShared only
	rr       atomic.Uint64               // Shared round-robin counter
	failover atomic.Pointer[consumer]    // Failover: the consumer currently served

	// dropped counts non-reliable messages that no consumer could take.
	dropped  atomic.Uint64
	counters subscriptionCounters

	d *dispatcher // reliable topics only

	// deleting is set while the subscription is being deleted (see Server.removeSubscription).
	deleting atomic.Bool
}

// consumersChanged republishes the lock-free views after consumers changed. Caller holds s.mu.
func (s *subscription) consumersChanged() {
	cs := append([]*consumer(nil), s.consumers...)
	s.snap.Store(&cs)
	if s.typ == KeyShared {
		r := buildRing(cs)
		s.ring.Store(&r)
	}
	if f := s.failover.Load(); f != nil && s.byName[f.name] != f {
		s.failover.Store(nil)
	}
}

// subscribeResult is what addConsumer decided.
type subscribeResult struct {
	c        *consumer
	takeover bool
	replaced *consumer // an Exclusive holder that was gone and has been replaced
}

// addConsumer attaches a consumer by name, taking over an existing one with the same name. The caller holds
// the topic's lock (for the per-topic consumer limit) and passes the topic's consumer count.
func (s *subscription) addConsumer(name string, filters []string, topicConsumers int, arrival uint64) (subscribeResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.byName[name]; c != nil {
		c.setFilters(filters)
		c.takeover(arrival)
		s.lastConnected = time.Now()
		if s.d != nil {
			s.d.reclaim(c) // in-flight messages go out again at once
		}
		s.consumersChanged()
		return subscribeResult{c: c, takeover: true}, nil
	}
	var res subscribeResult
	if s.typ == Exclusive && len(s.consumers) > 0 {
		holder := s.consumers[0]
		if holder.active.Load() {
			return res, errSubscribe(s.topic.name, "Not allowed to add the Consumer: %s, the Exclusive subscription can't be shared with other consumers", name)
		}
		// The holder is gone; the new name takes the subscription over (the real broker refuses for ever).
		res.replaced = holder
	}
	pol := s.srv.opts.Policies
	if pol.MaxConsumersPerTopic > 0 && topicConsumers >= pol.MaxConsumersPerTopic && res.replaced == nil {
		return res, status.Errorf(codes.ResourceExhausted, "Consumer limit per topic reached for topic %s (%d)", s.topic.name, pol.MaxConsumersPerTopic)
	}
	if pol.MaxConsumersPerSubscription > 0 && len(s.consumers) >= pol.MaxConsumersPerSubscription && res.replaced == nil {
		return res, errSubscribe(s.topic.name, "the subscription %s already has its maximum of %d consumers", s.name, pol.MaxConsumersPerSubscription)
	}
	if res.replaced != nil {
		s.removeConsumerLocked(res.replaced)
	}
	s.nextSeq++
	c := newConsumer(s.srv.newConsumerID(), name, s.nextSeq, s, filters)
	c.latest = arrival
	s.consumers = append(s.consumers, c)
	s.byName[name] = c
	s.lastConnected = time.Now()
	s.consumersChanged()
	if s.d != nil {
		s.d.wake()
	}
	res.c = c
	return res, nil
}

// removeConsumerLocked removes c from the subscription. Caller holds s.mu.
func (s *subscription) removeConsumerLocked(c *consumer) {
	if s.byName[c.name] != c {
		return
	}
	c.remove()
	s.forgetConsumerLocked(c)
}

// removeInactive removes the consumers that have been disconnected for at least timeout (see
// Options.InactiveConsumerTimeout), from memory and from the store. Messages in flight to them are
// reclaimed, and the subscription stays idle since the latest of them left, for the idle-subscription reaper.
func (s *subscription) removeInactive(now time.Time, timeout time.Duration) {
	stale := false
	for _, c := range *s.snap.Load() {
		if !c.active.Load() && c.inactiveFor(now) >= timeout {
			stale = true
			break
		}
	}
	if !stale {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range append([]*consumer(nil), s.consumers...) {
		if s.byName[c.name] != c {
			continue
		}
		if since, ok := c.removeIfInactive(now, timeout); ok {
			if since.After(s.lastConnected) {
				s.lastConnected = since
			}
			s.forgetConsumerLocked(c)
			s.srv.log.Info("consumer removed after being disconnected", "topic", s.topic.name, "subscription", s.name,
				"consumer", c.name, "id", c.id, "since", since)
		}
	}
}

// forgetConsumerLocked drops a consumer that has been marked removed from the subscription, the server's ids
// and the store. Caller holds s.mu.
func (s *subscription) forgetConsumerLocked(c *consumer) {
	delete(s.byName, c.name)
	for i, x := range s.consumers {
		if x == c {
			s.consumers = append(s.consumers[:i:i], s.consumers[i+1:]...)
			break
		}
	}
	if s.d != nil {
		s.d.reclaim(c)
	}
	s.srv.forgetConsumer(c.id)
	c.recMu.Lock() // after a persistState in progress, which the removal then outdates
	if err := s.srv.store.Meta().Delete(storeKey(keyConsumers, s.topic.name, s.name, c.name)); err != nil {
		s.srv.log.Error("deleting a consumer", "topic", s.topic.name, "subscription", s.name, "consumer", c.name, "err", err)
	}
	c.recMu.Unlock()
	s.consumersChanged()
}

// removeAll removes every consumer (the subscription is being deleted or reaped).
func (s *subscription) removeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range append([]*consumer(nil), s.consumers...) {
		s.removeConsumerLocked(c)
	}
}

// activeCount returns how many consumers are connected.
func (s *subscription) activeCount() int {
	n := 0
	for _, c := range *s.snap.Load() {
		if c.active.Load() {
			n++
		}
	}
	return n
}

// idleSince reports when the subscription last had a connected consumer, or the zero time while it has one.
func (s *subscription) idleSince() time.Time {
	if s.activeCount() > 0 {
		return time.Time{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.lastConnected
	for _, c := range s.consumers {
		c.mu.Lock()
		if c.inactiveSince.After(t) {
			t = c.inactiveSince
		}
		c.mu.Unlock()
	}
	return t
}

// activeHolder returns the consumer that an Exclusive or Failover subscription serves now, or nil. Failover
// promotes the longest-standing connected consumer when the served one is gone.
func (s *subscription) activeHolder(cs []*consumer) *consumer {
	if s.typ == Exclusive {
		if len(cs) > 0 && cs[0].active.Load() {
			return cs[0]
		}
		return nil
	}
	if f := s.failover.Load(); f != nil && f.active.Load() {
		return f
	}
	for _, c := range cs {
		if c.active.Load() {
			s.failover.Store(c)
			return c
		}
	}
	return nil
}

// eligible reports whether a KeyShared consumer may be given key now: it accepts the key and is connected or
// has been gone for less than the eviction delay.
func (s *subscription) eligible(c *consumer, key string, now time.Time) bool {
	if !c.acceptsKey(key) {
		return false
	}
	return c.active.Load() || c.inactiveFor(now) < s.srv.opts.KeySharedEviction
}

// messageKey is the KeyShared routing key: the routing key, or the producer name without one.
func messageKey(m *danubepb.StreamMessage) string {
	if m.RoutingKey != nil {
		return *m.RoutingKey
	}
	return m.ProducerName
}

// dispatchNonReliable hands m to one consumer according to the subscription type, without blocking. A
// message that no consumer can take now is counted in dropped.
func (s *subscription) dispatchNonReliable(m *danubepb.StreamMessage) {
	cs := *s.snap.Load()
	limit := s.srv.opts.ConsumerQueue
	switch s.typ {
	case Exclusive, Failover:
		if c := s.activeHolder(cs); c != nil && c.tryPush(m, limit) {
			return
		}
	case Shared:
		// The counter moves once per attempt, so a skipped consumer does not give its turn to its
		// neighbour twice.
		for range len(cs) {
			c := cs[(s.rr.Add(1)-1)%uint64(len(cs))]
			if c.active.Load() && c.tryPush(m, limit) {
				return
			}
		}
	case KeyShared:
		if r := s.ring.Load(); r != nil {
			now := time.Now()
			key := messageKey(m)
			c := r.pick(key, func(c *consumer) bool { return s.eligible(c, key, now) })
			if c != nil && c.active.Load() && c.tryPush(m, limit) {
				return
			}
		}
	}
	s.dropped.Add(1)
}

// serve runs one ReceiveMessages stream for c until the client goes away, a newer stream or a takeover
// replaces it, or the broker shuts down.
func (s *subscription) serve(ctx context.Context, c *consumer, stream danubepb.ConsumerService_ReceiveMessagesServer) error {
	gen, stop, ok := c.attach(arrival(ctx, s.srv))
	if !ok {
		return errStreamEnded("a newer stream or Subscribe for this consumer arrived first")
	}
	c.persistState() // back: a record that says since when it was gone no longer holds
	if s.d != nil {
		// Whatever was in flight to this consumer may have gone to a stream that is gone; send it again here.
		s.mu.Lock()
		s.d.reclaim(c)
		s.mu.Unlock()
		s.d.wake()
	}
	quit := s.srv.quit
	for {
		select {
		case <-stop:
			return c.endedBy()
		default:
		}
		for _, m := range c.take(gen) {
			if err := stream.Send(m); err != nil {
				if c.detach(gen) {
					s.consumerGone(c)
				}
				return err
			}
			s.counters.msgsOut.Add(1)
			s.counters.bytesOut.Add(uint64(len(m.Payload)))
		}
		select {
		case <-c.notify:
		case <-stop:
			return c.endedBy()
		case <-quit:
			return errStreamEnded("the broker is shutting down")
		case <-ctx.Done():
			if c.detach(gen) {
				s.consumerGone(c)
			}
			return status.FromContextError(ctx.Err()).Err()
		}
	}
}

// expireUnattached makes consumers that never opened their stream inactive after the wait timeout.
func (s *subscription) expireUnattached(now time.Time) {
	for _, c := range *s.snap.Load() {
		if c.expireUnattached(now, s.srv.opts.StreamWaitTimeout) {
			s.consumerGone(c)
		}
	}
}

// consumerGone reacts to c's stream ending: reliable messages in flight to it are reclaimed (Shared
// redelivers them elsewhere at once; Exclusive and Failover keep them for the next active consumer).
func (s *subscription) consumerGone(c *consumer) {
	s.mu.Lock()
	if s.d != nil {
		s.d.reclaim(c)
		s.d.wake()
	}
	s.mu.Unlock()
	c.persistState()
}
