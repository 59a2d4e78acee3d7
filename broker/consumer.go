package broker

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// consumer is one named consumer of a subscription. Its identity is (subscription, name); a Subscribe with a
// name that already exists takes the consumer over and keeps its id.
//
// A consumer is active from Subscribe until its ReceiveMessages stream ends, and again while a new stream is
// open. Messages dispatched to it wait in queue until its stream sends them.
type consumer struct {
	id      uint64
	name    string
	seq     uint64 // join order within the subscription
	sub     *subscription
	filters atomic.Pointer[[]*keyFilter] // compiled when set

	active atomic.Bool

	mu            sync.Mutex
	queue         []*danubepb.StreamMessage
	pushed        uint64        // sequence number of the last message push queued
	taken         uint64        // pushed when a stream last took the queue: messages up to it reached a stream
	gen           uint64        // generation of the stream allowed to serve this consumer
	latest        uint64        // arrival stamp of the latest takeover or stream
	stop          chan struct{} // closed to end the current stream (nil when none is attached)
	notify        chan struct{} // signalled when queue grows; capacity 1
	inactiveSince time.Time
	subscribedAt  time.Time // last Subscribe (or takeover) for this consumer
	removed       bool

	// recMu serialises writes of the consumer's record (persistState), so that the last one written
	// describes the consumer's latest state; storedInactive says the record holds an inactive-since time.
	recMu          sync.Mutex
	storedInactive bool
}

func newConsumer(id uint64, name string, seq uint64, sub *subscription, filters []string) *consumer {
	c := &consumer{id: id, name: name, seq: seq, sub: sub, notify: make(chan struct{}, 1), subscribedAt: time.Now()}
	c.setFilters(filters)
	c.active.Store(true)
	return c
}

// persistState writes the consumer's record with its state now: when it became inactive, or nothing while it
// is connected. A connected consumer whose record says so already is not written again.
func (c *consumer) persistState() {
	c.recMu.Lock()
	defer c.recMu.Unlock()
	c.mu.Lock()
	removed, active, since := c.removed, c.active.Load(), c.inactiveSince
	c.mu.Unlock()
	if removed || (active && !c.storedInactive) {
		return
	}
	m := consumerMeta{ID: c.id, Name: c.name}
	for _, f := range *c.filters.Load() {
		m.Filters = append(m.Filters, f.pattern)
	}
	if !active {
		m.InactiveSinceMs = since.UnixMilli()
	}
	s := c.sub.srv
	if err := s.putJSON(storeKey(keyConsumers, c.sub.topic.name, c.sub.name, c.name), m); err != nil {
		s.log.Error("writing a consumer", "topic", c.sub.topic.name, "subscription", c.sub.name, "consumer", c.name, "err", err)
		return
	}
	c.storedInactive = !active
}

func (c *consumer) setFilters(filters []string) {
	fs := make([]*keyFilter, len(filters))
	for i, f := range filters {
		fs[i] = compileKeyFilter(f)
	}
	c.filters.Store(&fs)
}

// tryPush queues m unless the queue already holds limit messages; it reports whether m was queued.
func (c *consumer) tryPush(m *danubepb.StreamMessage, limit int) bool {
	c.mu.Lock()
	if len(c.queue) >= limit || c.removed {
		c.mu.Unlock()
		return false
	}
	c.queue = append(c.queue, m)
	c.mu.Unlock()
	c.signal()
	return true
}

// push queues m without a limit; reliable dispatch bounds the queue by its window. It returns m's sequence
// number, for hasTaken.
func (c *consumer) push(m *danubepb.StreamMessage) uint64 {
	c.mu.Lock()
	c.queue = append(c.queue, m)
	c.pushed++
	seq := c.pushed
	c.mu.Unlock()
	c.signal()
	return seq
}

// hasTaken reports whether the message push numbered seq has been taken by one of the consumer's streams
// (rather than still waiting in the queue, or discarded from it).
func (c *consumer) hasTaken(seq uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return seq <= c.taken
}

func (c *consumer) signal() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// take removes and returns everything queued, provided the stream of generation gen is still the
// consumer's own; a replaced stream gets nothing.
func (c *consumer) take(gen uint64) []*danubepb.StreamMessage {
	c.mu.Lock()
	if gen != c.gen {
		c.mu.Unlock()
		return nil
	}
	q := c.queue
	c.queue = nil
	c.taken = c.pushed
	c.mu.Unlock()
	return q
}

// discardQueue drops and returns whatever is queued; reliable dispatch redelivers it.
func (c *consumer) discardQueue() []*danubepb.StreamMessage {
	c.mu.Lock()
	q := c.queue
	c.queue = nil
	c.mu.Unlock()
	return q
}

// attach makes a new stream the consumer's only stream: the previous one is told to stop. arrival is the
// order in which the call reached the broker (see Server.stamp): a stream that arrived before the latest
// takeover or stream is refused, so the most recent caller wins however the handlers are scheduled. It
// returns the stream's generation and the channel closed when the stream must end; ok is false when the
// stream was refused.
func (c *consumer) attach(arrival uint64) (gen uint64, stop chan struct{}, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if arrival < c.latest || c.removed {
		return 0, nil, false
	}
	c.latest = arrival
	if c.stop != nil {
		close(c.stop)
	}
	c.gen++
	c.stop = make(chan struct{})
	c.active.Store(true)
	return c.gen, c.stop, true
}

// takeover records a Subscribe with the consumer's name that arrived at arrival: the current stream ends,
// unless it arrived later than the Subscribe, and the consumer counts as connected until the new owner opens
// its stream.
func (c *consumer) takeover(arrival uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.subscribedAt = time.Now()
	if arrival < c.latest {
		return // a newer stream is attached; it stays
	}
	c.latest = arrival
	if c.stop != nil {
		close(c.stop)
		c.stop = nil
	}
	c.gen++
	c.active.Store(true)
}

// detach records that the stream of generation gen has ended. It reports whether that stream was still the
// consumer's own, in which case the consumer is now inactive.
func (c *consumer) detach(gen uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return false
	}
	c.stop = nil
	c.active.Store(false)
	c.inactiveSince = time.Now()
	return true
}

// expireUnattached makes a consumer inactive when it was subscribed (or taken over) more than timeout ago and
// has not opened a stream since; it reports whether it did. A process that subscribes and dies before
// receiving would otherwise hold its subscription for ever.
func (c *consumer) expireUnattached(now time.Time, timeout time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed || c.stop != nil || !c.active.Load() || now.Sub(c.subscribedAt) < timeout {
		return false
	}
	c.active.Store(false)
	c.inactiveSince = now
	return true
}

// endedBy is the status a stream of c ends with when its stop channel closes.
func (c *consumer) endedBy() error {
	c.mu.Lock()
	removed := c.removed
	c.mu.Unlock()
	if removed {
		return errStreamEnded("the consumer was removed (its subscription or topic was deleted, or another consumer took the Exclusive subscription)")
	}
	return errStreamEnded("another stream or a Subscribe with the same consumer name replaced it")
}

// remove ends the consumer for good: its stream stops and nothing more is queued.
func (c *consumer) remove() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeLocked()
}

// removeIfInactive removes the consumer when it has been inactive for at least timeout at now, checking and
// removing at once so that a stream attaching meanwhile keeps it. It returns since when it was inactive.
func (c *consumer) removeIfInactive(now time.Time, timeout time.Duration) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.removed || c.active.Load() || c.stop != nil || c.inactiveSince.IsZero() || now.Sub(c.inactiveSince) < timeout {
		return time.Time{}, false
	}
	c.removeLocked()
	return c.inactiveSince, true
}

func (c *consumer) removeLocked() {
	c.removed = true
	c.queue = nil
	if c.stop != nil {
		close(c.stop)
		c.stop = nil
	}
	c.gen++
	c.active.Store(false)
}

// inactiveFor returns how long the consumer has been inactive (0 while active).
func (c *consumer) inactiveFor(now time.Time) time.Duration {
	if c.active.Load() {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inactiveSince.IsZero() {
		return 0
	}
	return now.Sub(c.inactiveSince)
}
