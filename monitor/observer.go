package monitor

import (
	"slices"
	"strings"
	"time"

	"github.com/danube-console/danube-console/client"
)

// The observer methods run on the client's data path. They never block on anything but a short,
// per-producer or per-subscription critical section (the global registry lock only the first time a
// producer or subscription is seen, and for lifecycle events), and allocate nothing per message: a
// received message is copied into a slot of its stream's preallocated ring.

// Inline declares that the monitor's observer methods never block, so that the client calls them directly.
func (m *Monitor) Inline() {}

// OnLookup counts a successful lookup as evidence that the broker is reachable. (The client's own lookups
// are not listed in Snapshot.Lookups: only the console's, see Lookup.)
func (m *Monitor) OnLookup(e client.LookupEvent) {
	if e.Err == nil {
		m.markOK()
	}
}

// OnProducer records a producer's lifecycle: its state and id, its re-creations (HealthStats.Reconnects)
// and its failure (LastError).
func (m *Monitor) OnProducer(e client.ProducerEvent) {
	p := m.producer(e.Topic, e.Name)
	now := m.now()
	p.mu.Lock()
	p.state = producerStateOf(e.Kind)
	if e.ID != 0 {
		p.id = e.ID
	}
	if e.Err != nil {
		p.lastErr = e.Err
	}
	if e.Kind == client.ProducerClosed || e.Kind == client.ProducerFailed {
		p.closedAt = now
	} else {
		p.closedAt = time.Time{}
	}
	p.mu.Unlock()
	switch e.Kind {
	case client.ProducerRecreated:
		m.reconnected(false, e.Topic, e.Name, e.ID)
	case client.ProducerFailed:
		m.setErr(e.Err)
	}
	if e.Kind == client.ProducerClosed || e.Kind == client.ProducerFailed {
		m.stoppedHealth(false, e.Topic, e.Name)
		m.regMu.Lock()
		m.pruneLocked()
		m.regMu.Unlock()
	} else {
		m.liveHealth(false, e.Topic, e.Name)
	}
}

// liveHealth makes the stopped health entry of a producer or consumer that is live again (created or
// subscribed under the same name) wait for its next check: HealthUnknown, as of now.
func (m *Monitor) liveHealth(consumer bool, topic, name string) {
	now := m.now()
	m.mu.Lock()
	if h := m.health[healthKey{consumer, topic, name}]; h != nil && h.Status == HealthStopped {
		h.Status, h.At, h.RTT, h.Err = HealthUnknown, now, 0, ""
	}
	m.mu.Unlock()
}

// stoppedHealth marks the health entry of a producer or consumer that closed or failed HealthStopped, as of
// now: it is no longer checked, and its last answer must not read as a live client's (an OK that ages).
func (m *Monitor) stoppedHealth(consumer bool, topic, name string) {
	now := m.now()
	m.mu.Lock()
	if h := m.health[healthKey{consumer, topic, name}]; h != nil {
		h.Status, h.At, h.RTT = HealthStopped, now, 0
	}
	m.mu.Unlock()
}

// OnSend counts a completed send: messages, bytes, the publish latency and the series for a success; the
// error (also LastError) for a failure.
func (m *Monitor) OnSend(e client.SendEvent) {
	p := m.producer(e.Topic, e.Producer)
	sec := m.now().Unix()
	p.mu.Lock()
	if e.Err != nil {
		p.errors++
		p.lastErr = e.Err
	} else {
		p.msgs++
		p.bytes += uint64(e.Bytes)
		p.series.add(sec, 1)
		p.byteSec.add(sec, uint64(e.Bytes))
		p.pub.add(sec, e.Latency)
	}
	p.mu.Unlock()
	if e.Err != nil {
		m.setErr(e.Err)
	}
}

// OnConsumer records a consumer's lifecycle on one topic or partition: its stream's state and id, its
// re-subscriptions (HealthStats.Reconnects), the error that ended a stream or failed it (LastError).
func (m *Monitor) OnConsumer(e client.ConsumerEvent) {
	now := m.now()
	m.regMu.Lock()
	s := m.subLocked(e.Topic, e.Subscription)
	st := m.streamLocked(s, e.Name)
	s.mu.Lock()
	st.state = consumerStateOf(e.Kind)
	if st.typ == SubscriptionUnknown {
		st.typ = SubscriptionTypeOf(e.Type)
	}
	if e.ID != 0 {
		st.cid = e.ID
	}
	if e.Err != nil {
		st.lastErr = e.Err
	}
	if st.state.Live() {
		st.closedAt = time.Time{}
	} else {
		st.closedAt = now
	}
	if e.Kind == client.ConsumerSubscribed || e.Kind == client.ConsumerResubscribed {
		// A manual-ack ad-hoc consumer keeps its messages pending; another consumer of the same name does
		// not (messages still pending from before stay so).
		t := m.taps[tapKey{e.Subscription, e.Name}]
		if t != nil && !t.covers(e.Topic) {
			t = nil
		}
		st.manual = t != nil
		if t != nil {
			st.ackTimeout = t.ackTimeout
		}
	}
	s.mu.Unlock()
	m.retargetLocked(s)
	if !st.state.Live() {
		m.pruneLocked()
	}
	m.regMu.Unlock()
	if !consumerStateOf(e.Kind).Live() {
		m.stoppedHealth(true, e.Topic, e.Name)
	} else {
		m.liveHealth(true, e.Topic, e.Name)
	}
	if e.Kind == client.ConsumerResubscribed {
		m.reconnected(true, e.Topic, e.Name, e.ID)
	}
	if e.Err != nil {
		m.setErr(e.Err)
	}
}

// OnReceive counts a received message for its subscription and stream (counters, series, end-to-end
// latency, redelivery) and keeps a copy in the stream's ring. On the stream of a manual-ack consumer, the
// message is also kept pending until Ack or Nack; when the broker delivers again a message still pending
// (its ack timeout passed), the older delivery's entry becomes StateExpired and only the newer one is
// pending.
func (m *Monitor) OnReceive(e client.ReceiveEvent) {
	msg := e.Message
	if msg == nil {
		return
	}
	s := m.sub(msg.ID.Topic, msg.Subscription)
	now := m.now()
	sec := now.Unix()
	at := msg.ReceivedAt
	if at.IsZero() {
		at = now
	}
	off := msg.ID.Offset
	n := len(msg.Payload)

	s.mu.Lock()
	s.received++
	again := s.offsets.seen(off)
	if off != 0 {
		s.nonZero = true
	} else if again && !s.nonZero {
		// Offset 0 again: a redelivery on a reliable topic, or just the next message of a non-reliable one.
		again = m.topicReliable(msg.ID.Topic)
	}
	if again {
		s.redelivered++
	}
	st := s.target
	if e.Consumer != "" && e.Consumer != st.name {
		// The consumer is named: count the message for its own stream when it is known (several consumers
		// of one subscription in this process each get theirs).
		if i, ok := slices.BinarySearchFunc(s.streams, e.Consumer, func(x *stream, n string) int { return strings.Compare(x.name, n) }); ok {
			st = s.streams[i]
		}
	}
	st.received++
	st.bytes += uint64(n)
	st.series.add(sec, 1)
	if first, ok := s.delivered(st, off, again, at, now); ok {
		st.redeliv.add(sec, at.Sub(first))
		s.redeliv.add(sec, at.Sub(first))
	} else if pt := msg.PublishTime; !again && pt.UnixMilli() > 0 {
		st.e2e.add(sec, at.Sub(pt)) // end to end is to the first delivery only
	}
	slot := st.ring.push(n)
	*slot = ringSlot{msg: Message{
		Seq:           st.received,
		ReceivedAt:    at,
		PublishTime:   msg.PublishTime,
		Topic:         msg.ID.Topic,
		Offset:        off,
		ProducerID:    msg.ID.ProducerID,
		ProducerName:  msg.ProducerName,
		BrokerAddr:    msg.ID.BrokerAddr,
		Subscription:  msg.Subscription,
		Consumer:      st.name,
		Key:           msg.RoutingKey,
		HasKey:        msg.HasRoutingKey,
		Attributes:    msg.Attributes,
		SchemaID:      msg.SchemaID,
		SchemaVersion: msg.SchemaVersion,
		Payload:       msg.Payload,
		Redelivered:   again,
	}}
	if st.manual {
		m.keepPending(st, slot, msg, again)
	}
	s.mu.Unlock()
}

// keepPending makes the newest message of a manual-ack stream pending. Its sub's mutex is held.
func (m *Monitor) keepPending(st *stream, slot *ringSlot, msg *client.Message, again bool) {
	seq, off := st.received, msg.ID.Offset
	slot.msg.State = StatePending
	if st.ackTimeout > 0 {
		slot.msg.AckDeadline = slot.msg.ReceivedAt.Add(st.ackTimeout)
	}
	if st.pending == nil {
		st.pending = make(map[uint64]*client.Message)
		st.pendingOff = make(map[uint64]uint64)
	}
	if old, ok := st.pendingOff[off]; ok && again {
		if _, still := st.pending[old]; still {
			delete(st.pending, old)
			if sl := st.slot(old); sl != nil {
				sl.msg.State = StateExpired
			}
		}
	}
	st.pending[seq] = msg
	st.pendingOff[off] = seq
}

// OnAck counts a completed ack or nack for its subscription, with its latency; a failure counts as an ack
// error (also LastError).
func (m *Monitor) OnAck(e client.AckEvent) {
	s := m.sub(e.Topic, e.Subscription)
	now := m.now()
	sec, start := now.Unix(), now.Add(-e.Latency)
	s.mu.Lock()
	switch {
	case e.Err != nil:
		s.ackErrors++
	case e.Nack:
		s.nacked++
		s.ack.add(sec, e.Latency)
		s.settled(e.Offset, true, start)
	default:
		s.acked++
		s.ack.add(sec, e.Latency)
		s.settled(e.Offset, false, start)
	}
	s.mu.Unlock()
	if e.Err != nil {
		m.setErr(e.Err)
	}
}

// OnHealth records a producer's or consumer's last health check; an OK answer is evidence that the broker
// is reachable, a failed one is LastError. A check that ends after its client stopped leaves it
// HealthStopped (its answer is not a live client's).
func (m *Monitor) OnHealth(e client.HealthEvent) {
	now := m.now()
	m.mu.Lock()
	h := m.healthLocked(e.Consumer, e.Topic, e.Name)
	if h.Status != HealthStopped {
		h.ID, h.Status, h.At, h.RTT = e.ID, healthStatusOf(e.Status), now, e.RTT
		h.Err = ""
		if e.Err != nil {
			h.Err = e.Err.Error()
		}
	}
	m.mu.Unlock()
	switch {
	case e.Err != nil:
		m.setErr(e.Err)
	case e.Status == client.HealthOK:
		m.markOK()
	}
}

// OnConnState records a connection's new state.
func (m *Monitor) OnConnState(e client.ConnStateEvent) {
	now := m.now()
	state := connStateOf(e.State)
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.conns[e.Addr]
	if c == nil {
		c = &ConnStats{Addr: e.Addr}
		m.conns[e.Addr] = c
	}
	if c.State != state {
		if c.State != ConnUnknown {
			c.Transitions++
		}
		c.State, c.Since = state, now
	}
}

// reconnected counts a producer's re-creation or a consumer's re-subscription.
func (m *Monitor) reconnected(consumer bool, topic, name string, id uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.healthLocked(consumer, topic, name)
	h.Reconnects++
	if id != 0 {
		h.ID = id
	}
}

// healthLocked returns the health entry of a producer or consumer, creating it. m.mu is held.
func (m *Monitor) healthLocked(consumer bool, topic, name string) *HealthStats {
	k := healthKey{consumer, topic, name}
	h := m.health[k]
	if h == nil {
		h = &HealthStats{Consumer: consumer, Topic: topic, Name: name}
		m.health[k] = h
	}
	return h
}
