package broker

import (
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// Reliable dispatch. Each reliable subscription owns a dispatcher goroutine that reads the topic's log into a
// window of at most MaxUnackedMessages messages, hands them to consumers, and tracks acks, nacks, ack
// timeouts and redeliveries. All dispatcher state is guarded by the subscription's mutex; the goroutine only
// decides when to look at it (a publish, an ack, a consumer change, or the next deadline).

// pendingState is where a message in the window stands.
type pendingState uint8

const (
	stReady      pendingState = iota // waiting to be sent
	stInflight                       // sent, waiting for an ack until due
	stDelayed                        // nacked or timed out, to be sent again at due
	stParked                         // KeyShared: no consumer accepts the key now; does not fill the window
	stPoisoned                       // retries exhausted under PoisonBlock: held until acked
	stDeadLetter                     // retries exhausted under PoisonDeadLetter: being republished
	stDone                           // acked or skipped
)

// Key states in a KeyShared delivery scan.
const (
	keyBusy   = 1 // an earlier message with the key is pending
	keyParked = 2 // no consumer accepts the key
)

// maxParked bounds the KeyShared messages held for keys no consumer accepts.
const maxParked = 10000

type pending struct {
	off      uint64
	msg      *danubepb.StreamMessage
	key      string // KeyShared routing key
	state    pendingState
	attempts uint32    // deliveries so far
	c        *consumer // consumer it is in flight to
	qseq     uint64    // its sequence number in c's queue (consumer.push)
	reached  bool      // an earlier delivery reached a consumer's stream
	due      time.Time // ack deadline (in flight), retry time (delayed) or next dead-letter attempt
	reason   string    // last failure
	dlqBusy  bool      // the dispatcher goroutine is republishing it right now
}

type dispatcher struct {
	s      *subscription
	log    store.Log
	window int
	policy FailurePolicy

	win     []*pending // ordered by offset
	byOff   map[uint64]*pending
	readPos uint64
	floor   atomic.Uint64 // every offset below it is acked or skipped: the cursor

	persisted uint64
	lastFlush time.Time
	blocked   map[string]uint8 // scratch for KeyShared ordering: keyBusy or keyParked

	started atomic.Bool
	wakeCh  chan struct{}
	quit    chan struct{}
	done    chan struct{}
}

func newDispatcher(s *subscription, log store.Log, window int, policy FailurePolicy, cursor uint64) *dispatcher {
	d := &dispatcher{
		s: s, log: log, window: window, policy: policy,
		byOff:   make(map[uint64]*pending),
		blocked: make(map[string]uint8),
		wakeCh:  make(chan struct{}, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	cursor = max(cursor, log.StartOffset())
	cursor = min(cursor, log.NextOffset())
	d.readPos = cursor
	d.floor.Store(cursor)
	d.persisted = cursor
	return d
}

// wake asks the goroutine to look at the state again; it never blocks.
func (d *dispatcher) wake() {
	select {
	case d.wakeCh <- struct{}{}:
	default:
	}
}

// start runs the dispatcher goroutine; stop ends it.
func (d *dispatcher) start() {
	if d.started.CompareAndSwap(false, true) {
		d.s.topic.counters.storage.readers.Add(1) // it reads the log from its cursor on: a WAL reader
		go d.run()
	}
}

// stop ends the goroutine after it has written the cursor, and waits for it. Stopping a dispatcher that was
// never started only prevents a later start.
func (d *dispatcher) stop() {
	if d.started.CompareAndSwap(false, true) {
		return // never started; the CAS also keeps it from starting later
	}
	select {
	case <-d.quit:
	default:
		close(d.quit)
	}
	<-d.done
}

func (d *dispatcher) run() {
	defer close(d.done)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		next, dl := d.pump(time.Now())
		for len(dl) > 0 {
			d.deadLetter(dl)
			next, dl = d.pump(time.Now())
		}
		if next.IsZero() {
			t.Stop()
		} else {
			t.Reset(max(time.Until(next), 0))
		}
		select {
		case <-d.wakeCh:
			d.s.srv.metrics.notifier.Add(1)
		case <-t.C:
			d.s.srv.metrics.heartbeats.Add(1)
		case <-d.quit:
			d.s.mu.Lock()
			d.flushCursor(time.Now(), true)
			d.s.mu.Unlock()
			return
		}
	}
}

// pump moves the state forward at time now: expires ack deadlines, makes due retries ready, fills the window
// from the log, delivers what can be delivered and advances the cursor. It returns when it next needs to run
// (zero for "only when woken") and the messages to republish to the dead-letter topic.
func (d *dispatcher) pump(now time.Time) (time.Time, []*pending) {
	s := d.s
	s.mu.Lock()
	defer s.mu.Unlock()

	// Deadlines.
	for _, p := range d.win {
		switch p.state {
		case stInflight:
			if !now.Before(p.due) {
				d.s.counters.ackTimeouts.Add(1)
				d.fail(p, 0, "ack timeout", now)
			}
		case stDelayed:
			if !now.Before(p.due) {
				p.state = stReady
			}
		}
	}
	live, parked, poisoned := d.count()

	// Fill the window and deliver. A message held under PoisonBlock stalls Exclusive, Shared and Failover
	// subscriptions; on KeyShared it only holds back its own key. Delivery can park KeyShared messages, which
	// frees room in the window, so fill again until nothing more can be read.
	next := time.Time{}
	for {
		read := 0
		if !(poisoned && s.typ != KeyShared) && parked < maxParked {
			var err error
			if read, err = d.fill(d.window - live); err != nil {
				s.srv.log.Error("reading the topic log", "topic", s.topic.name, "subscription", s.name, "err", err)
				next = now.Add(time.Second)
			}
		}
		d.deliver(now)
		if read == 0 {
			break
		}
		live, parked, poisoned = d.count()
		if live >= d.window || parked >= maxParked || d.readPos >= d.log.NextOffset() {
			break
		}
	}

	// Advance the cursor over the acked front of the window.
	i := 0
	for i < len(d.win) && d.win[i].state == stDone {
		delete(d.byOff, d.win[i].off)
		d.win[i] = nil
		i++
	}
	d.win = d.win[i:]
	if len(d.win) > 0 {
		d.floor.Store(d.win[0].off)
	} else {
		d.floor.Store(d.readPos)
	}
	if at := d.flushCursor(now, false); !at.IsZero() {
		next = earliest(next, at)
	}

	// When to look again, and what to dead-letter.
	var dl []*pending
	for _, p := range d.win {
		switch p.state {
		case stInflight, stDelayed:
			next = earliest(next, p.due)
		case stDeadLetter:
			if p.dlqBusy {
				continue
			}
			if now.Before(p.due) {
				next = earliest(next, p.due)
				continue
			}
			p.dlqBusy = true
			dl = append(dl, p)
		}
	}
	if s.typ == KeyShared {
		for _, c := range s.consumers {
			if f := c.inactiveFor(now); f > 0 && f < s.srv.opts.KeySharedEviction {
				next = earliest(next, now.Add(s.srv.opts.KeySharedEviction-f))
			}
		}
	}
	return next, dl
}

// count returns how many window entries fill the window (neither done nor parked), how many are parked, and
// whether one is held under PoisonBlock. Caller holds s.mu.
func (d *dispatcher) count() (live, parked int, poisoned bool) {
	for _, p := range d.win {
		switch p.state {
		case stDone:
		case stParked:
			parked++
		default:
			live++
			poisoned = poisoned || p.state == stPoisoned
		}
	}
	return live, parked, poisoned
}

// fill reads up to room messages from the log into the window and returns how many it read. Caller holds s.mu.
func (d *dispatcher) fill(room int) (int, error) {
	s := d.s
	read := 0
	for room > 0 && d.readPos < d.log.NextOffset() {
		end := d.log.NextOffset()
		msgs, err := d.log.Read(d.readPos, room)
		if errors.Is(err, store.ErrOffsetTruncated) {
			start := d.log.StartOffset()
			s.srv.log.Warn("messages removed by retention before delivery", "topic", s.topic.name,
				"subscription", s.name, "from", d.readPos, "to", start)
			d.readPos = start
			continue
		}
		if err != nil {
			return read, err
		}
		if len(msgs) == 0 {
			// The log has a hole (offsets a store's recovery lost) up to where it ended before the Read.
			d.readPos = max(d.readPos, end)
			break
		}
		for _, m := range msgs {
			// A message's offset may be past readPos when the log has a hole: continue after it.
			p := &pending{off: m.MsgId.TopicOffset, msg: m, state: stReady}
			if s.typ == KeyShared {
				p.key = messageKey(m)
			}
			d.win = append(d.win, p)
			d.byOff[p.off] = p
			d.readPos = p.off + 1
			read++
			room--
		}
	}
	return read, nil
}

// deliver sends ready messages in offset order. Caller holds s.mu.
func (d *dispatcher) deliver(now time.Time) {
	s := d.s
	if s.typ == KeyShared {
		// Per-key order: a message is sent only when no earlier message with its key is still pending. When
		// the earliest is parked (no consumer accepts the key), the later ones are parked too, so that they
		// do not fill the window while they wait.
		clear(d.blocked)
		ring := s.ring.Load()
		for _, p := range d.win {
			if p.state == stDone {
				continue
			}
			if p.state == stReady || p.state == stParked {
				switch d.blocked[p.key] {
				case keyParked:
					p.state = stParked
					continue
				case keyBusy:
					continue
				}
				var c *consumer
				if ring != nil {
					c = ring.pick(p.key, func(c *consumer) bool { return s.eligible(c, p.key, now) })
				}
				switch {
				case c == nil:
					p.state = stParked
					d.blocked[p.key] = keyParked
					continue
				case c.active.Load():
					d.send(p, c, now)
				default:
					p.state = stReady // its consumer may come back before eviction
				}
			}
			d.blocked[p.key] = keyBusy
		}
		return
	}
	cs := s.consumers
	for _, p := range d.win {
		if p.state != stReady {
			continue
		}
		var c *consumer
		if s.typ == Shared {
			c = d.nextShared(cs)
		} else {
			c = s.activeHolder(cs)
		}
		if c == nil {
			return
		}
		d.send(p, c, now)
	}
}

// nextShared picks the next connected consumer round-robin, or nil.
func (d *dispatcher) nextShared(cs []*consumer) *consumer {
	for range len(cs) {
		if c := cs[(d.s.rr.Add(1)-1)%uint64(len(cs))]; c.active.Load() {
			return c
		}
	}
	return nil
}

func (d *dispatcher) send(p *pending, c *consumer, now time.Time) {
	if p.attempts > 0 {
		d.s.counters.redeliveries.Add(1)
	}
	p.state = stInflight
	p.c = c
	p.attempts++
	p.due = now.Add(d.policy.AckTimeout)
	p.qseq = c.push(p.msg)
}

// delivered reports whether p has reached a consumer's stream: the delivery in flight has been taken from
// its consumer's queue, or an earlier one was. Acks and nacks count only for such messages. Caller holds s.mu.
func (p *pending) delivered() bool {
	return p.reached || (p.state == stInflight && p.c != nil && p.c.hasTaken(p.qseq))
}

// fail handles a nack or an ack timeout of p: another delivery after the backoff delay, or the poison policy
// once the retries are used up. Caller holds s.mu.
func (d *dispatcher) fail(p *pending, requested time.Duration, reason string, now time.Time) {
	p.reached = p.delivered()
	p.c = nil
	p.reason = reason
	pol := d.policy
	if p.attempts > pol.MaxRedeliveryCount {
		d.s.counters.exhaust(pol.Poison)
		switch pol.Poison {
		case PoisonDrop:
			p.state = stDone
			d.s.srv.log.Warn("dropping a message after its last redelivery", "topic", d.s.topic.name,
				"subscription", d.s.name, "offset", p.off, "attempts", p.attempts, "reason", reason)
		case PoisonDeadLetter:
			if pol.DeadLetterTopic == d.s.topic.name {
				// Republishing into the same topic would loop for ever; hold it as Block does.
				p.state = stPoisoned
				break
			}
			p.state = stDeadLetter
			p.due = now
		default:
			p.state = stPoisoned
			d.s.srv.log.Warn("message retries exhausted; the subscription holds it until it is acked",
				"topic", d.s.topic.name, "subscription", d.s.name, "offset", p.off, "attempts", p.attempts)
		}
		return
	}
	delay := pol.BaseRedeliveryDelay
	if pol.Backoff == BackoffExponential && p.attempts > 1 {
		shift := min(p.attempts-1, 30)
		delay = pol.BaseRedeliveryDelay << shift
		if delay>>shift != pol.BaseRedeliveryDelay { // overflow
			delay = pol.MaxRedeliveryDelay
		}
	}
	delay = max(delay, requested)
	delay = min(delay, pol.MaxRedeliveryDelay)
	p.state = stDelayed
	p.due = now.Add(delay)
}

// ack marks offset done. Acks for unknown offsets, or for messages that have not reached a consumer's stream
// (see pending.delivered), are ignored.
func (s *subscription) ack(offset uint64) {
	d := s.d
	s.mu.Lock()
	p := d.byOff[offset]
	if p != nil && p.state != stDone && p.delivered() {
		p.state = stDone
		p.c = nil
	}
	s.mu.Unlock()
	d.wake()
}

// nack schedules a redelivery of offset after at least delay. Only a message in flight that has reached its
// consumer's stream can be nacked; late, duplicate or early nacks are ignored.
func (s *subscription) nack(offset uint64, delay time.Duration, reason string) {
	d := s.d
	s.mu.Lock()
	if p := d.byOff[offset]; p != nil && p.state == stInflight && p.delivered() {
		s.counters.nacks.Add(1)
		d.fail(p, delay, reason, time.Now())
	}
	s.mu.Unlock()
	d.wake()
}

// reclaim takes back the messages in flight to c (its stream ended, a new stream opened, or it was taken
// over) so they are sent again; the delivery count keeps counting for those that reached a stream. Caller
// holds s.mu.
func (d *dispatcher) reclaim(c *consumer) {
	c.discardQueue()
	for _, p := range d.win {
		if p.c == c && p.state == stInflight {
			taken := c.hasTaken(p.qseq) // also right after consumer.remove emptied the queue
			p.reached = p.reached || taken
			p.state = stReady
			p.c = nil
			if !taken {
				p.attempts-- // it never reached a stream: not a delivery
			}
		}
	}
}

// flushCursor writes the cursor when it moved and the flush interval has passed (or always when force is
// set). It returns when a pending write is due, or zero. Caller holds s.mu.
func (d *dispatcher) flushCursor(now time.Time, force bool) time.Time {
	f := d.floor.Load()
	if f == d.persisted {
		return time.Time{}
	}
	if due := d.lastFlush.Add(d.s.srv.opts.CursorFlushInterval); !force && now.Before(due) {
		return due
	}
	if err := d.s.srv.putCursor(d.s.topic.name, d.s.name, f); err != nil {
		d.s.srv.log.Error("writing a cursor", "topic", d.s.topic.name, "subscription", d.s.name, "err", err)
		return now.Add(time.Second)
	}
	d.persisted = f
	d.lastFlush = now
	return time.Time{}
}

// deadLetter republishes poisoned messages to the dead-letter topic outside the subscription's lock. A
// message whose republish fails stays held and is tried again after the maximum redelivery delay.
func (d *dispatcher) deadLetter(ps []*pending) {
	s := d.s
	s.mu.Lock()
	topic := d.policy.DeadLetterTopic
	s.mu.Unlock()
	for _, p := range ps {
		attrs := map[string]string{
			"x-original-topic":        s.topic.name,
			"x-original-subscription": s.name,
			"x-original-topic-offset": strconv.FormatUint(p.off, 10),
			"x-original-producer-id":  strconv.FormatUint(p.msg.GetMsgId().GetProducerId(), 10),
			"x-original-broker-addr":  p.msg.GetMsgId().GetBrokerAddr(),
			"x-poison-policy":         PoisonDeadLetter.label(),
			"x-delivery-attempt":      strconv.FormatUint(uint64(p.attempts), 10),
		}
		if p.reason != "" { // the real broker leaves it out when the last Nack gave no reason
			attrs["x-failure-reason"] = p.reason
		}
		err := s.srv.publishInternal(topic, p.msg, attrs)
		s.mu.Lock()
		p.dlqBusy = false
		if err != nil {
			s.srv.log.Error("republishing to the dead-letter topic", "topic", s.topic.name, "subscription", s.name,
				"dead_letter_topic", topic, "offset", p.off, "err", err)
			p.due = time.Now().Add(max(d.policy.MaxRedeliveryDelay, time.Second))
		} else if p.state == stDeadLetter {
			p.state = stDone
			s.counters.dl.Add(1)
		}
		s.mu.Unlock()
	}
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
