package monitor

import (
	"maps"
	"time"
)

// Pending, the one figure every place shows: the messages delivered to a consumer and neither acked nor
// nacked, each counted once however often the broker delivered it. A subscription's deliveries remember,
// by offset, the messages not settled yet (and those nacked, for the wait of their redelivery).

// maxDeliveries is how many offsets a subscription's deliveries keep: beyond, the nacked ones that did not
// come back are forgotten, then, if that is not enough, the older half of the unsettled ones (whose acks the
// monitor does not see: the broker's unacked window, at most 10000 messages, keeps a consumer that acks below).
const maxDeliveries = 1 << 15

// forgetDeliveries makes room in s.deliveries (see maxDeliveries). Its mutex is held.
func (s *subState) forgetDeliveries() {
	maps.DeleteFunc(s.deliveries, func(_ uint64, d delivery) bool { return d.n == 0 })
	if len(s.deliveries) < maxDeliveries*3/4 {
		return
	}
	var hi uint64
	for off := range s.deliveries {
		hi = max(hi, off)
	}
	maps.DeleteFunc(s.deliveries, func(off uint64, d delivery) bool {
		if hi-off < maxDeliveries/2 {
			return false
		}
		d.st.unsettled -= int(d.n)
		return true
	})
}

// delivery is a message delivered to a subscription and not acked yet: n is how many times it is unsettled
// (1 on a reliable topic, however often it is redelivered; on a non-reliable one every message has offset 0
// and each counts), 0 once nacked; first is when it was first delivered (the message's receive time), last
// when the monitor saw its last delivery (its clock), st the stream it was last delivered to.
type delivery struct {
	n           uint32
	first, last time.Time
	st          *stream
}

// pendingCount is the stream's pending messages, the one figure every place shows (ConsumerStats.Pending,
// and summed, SubscriptionStats.Pending): the messages delivered to it and neither acked nor nacked, each
// counted once however often the broker delivered it. A manual-ack stream's are its pending set (the one
// Ack and Nack settle, even after the consumer stopped); another's, its unsettled deliveries while it is
// subscribed. Its sub's mutex is held.
func (st *stream) pendingCount() int {
	switch {
	case st.manual || len(st.pending) > 0:
		return len(st.pending)
	case !st.state.Live():
		return 0 // closed: the broker gives what it did not settle to another consumer
	}
	return max(st.unsettled, 0)
}

// delivered records the delivery of offset off to st, received at time at and seen now (again: off was
// received before) and, when it is a message delivered before (still unsettled, or nacked), returns when it
// was first delivered. A message delivered again while unsettled (its ack timeout passed) is still one
// unsettled message. Its mutex is held.
func (s *subState) delivered(st *stream, off uint64, again bool, at, now time.Time) (first time.Time, redelivery bool) {
	d, ok := s.deliveries[off]
	d.last = now
	if ok && (off != 0 || again) {
		switch {
		case d.n == 0: // nacked, and back
			d.n, d.st = 1, st
			st.unsettled++
		case d.st != st: // delivered to another of the subscription's consumers
			d.st.unsettled--
			st.unsettled++
			d.st = st
		}
		s.deliveries[off] = d
		return d.first, true
	}
	if s.deliveries == nil {
		s.deliveries = make(map[uint64]delivery)
	}
	if !ok && len(s.deliveries) >= maxDeliveries {
		s.forgetDeliveries()
	}
	if !ok {
		d.first = at
	}
	d.n++
	d.st = st
	st.unsettled++
	s.deliveries[off] = d
	return time.Time{}, false
}

// settled records a successful ack (the message leaves deliveries) or nack (it stays, settled, so that its
// redelivery's wait can be measured) of offset off, made by a call that started at start. When the message
// was delivered again during the call (a nack's redelivery can arrive before the nack's answer; an ack
// timeout's before the ack's), the call settled the older delivery and the newer one is unsettled. Its mutex
// is held.
func (s *subState) settled(off uint64, nack bool, start time.Time) {
	d, ok := s.deliveries[off]
	if !ok {
		return
	}
	if d.last.After(start) && d.n > 0 {
		return // delivered again since: the new delivery waits to be settled
	}
	if d.n > 0 {
		d.n--
		d.st.unsettled--
	}
	if d.n == 0 && !nack {
		delete(s.deliveries, off)
		return
	}
	s.deliveries[off] = d
}
