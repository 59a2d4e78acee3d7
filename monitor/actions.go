package monitor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/connectors/payload"
	"github.com/danube-console/danube-console/internal/xtime"
)

// closeTimeout bounds the closing of an ad-hoc producer or consumer.
const closeTimeout = 5 * time.Second

// adhoc is an ad-hoc producer or consumer: the goroutine that runs it, and how to stop it.
type adhoc struct {
	ctx    context.Context // cancelled by StopProducer/StopConsumer and Close
	cancel context.CancelFunc
	done   chan struct{} // closed when it stopped and its client producer or consumer is closed
}

// failed records an action's error as LastError (a refusal in read-only mode is not an error) and returns it.
func (m *Monitor) failed(err error) error {
	if err != nil && !errors.Is(err, ErrReadOnly) {
		m.setErr(err)
	}
	return err
}

// ---- connectors ----

// runtime returns the attached runtime, or an error for action what.
func (m *Monitor) runtime(what string) (*connectors.Runtime, error) {
	if m.opts.ReadOnly {
		return nil, fmt.Errorf("%s: %w", what, ErrReadOnly)
	}
	_, _, rt := m.attached()
	if rt == nil {
		return nil, fmt.Errorf("%s: %w", what, ErrNoRuntime)
	}
	return rt, nil
}

// connectorErr wraps a runtime's error with what failed, which names the connector: the runtime's "no such
// connector" names it too, so it is said once.
func connectorErr(what string, err error) error {
	if errors.Is(err, connectors.ErrUnknownInstance) {
		return fmt.Errorf("%s: %w", what, connectors.ErrUnknownInstance)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// StartConnector starts a connector instance of the attached runtime (connectors.Runtime.Start). It fails
// with ErrReadOnly, ErrNoRuntime, or the runtime's error (connectors.ErrUnknownInstance...), wrapped.
func (m *Monitor) StartConnector(name string) error {
	what := "start connector " + name
	rt, err := m.runtime(what)
	if err == nil {
		if err = rt.Start(name); err != nil {
			err = connectorErr(what, err)
		}
	}
	return m.failed(err)
}

// StopConnector stops a connector instance, draining it within ctx (connectors.Runtime.Stop). Errors as
// StartConnector's, and connectors.ErrDrainTimeout.
func (m *Monitor) StopConnector(ctx context.Context, name string) error {
	what := "stop connector " + name
	rt, err := m.runtime(what)
	if err == nil {
		if err = rt.Stop(ctx, name); err != nil {
			err = connectorErr(what, err)
		}
	}
	return m.failed(err)
}

// RestartConnector stops a connector instance, draining it within ctx, and starts it again
// (connectors.Runtime.Restart). Errors as StopConnector's.
func (m *Monitor) RestartConnector(ctx context.Context, name string) error {
	what := "restart connector " + name
	rt, err := m.runtime(what)
	if err == nil {
		if err = rt.Restart(ctx, name); err != nil {
			err = connectorErr(what, err)
		}
	}
	return m.failed(err)
}

// ---- ad-hoc producers and consumers ----

// reserve registers an ad-hoc producer or consumer name in set (generating one from prefix when name is
// empty) and counts its goroutine in m.wg; release undoes it.
func (m *Monitor) reserve(set map[string]*adhoc, name, prefix string) (string, *adhoc, error) {
	m.amu.Lock()
	defer m.amu.Unlock()
	if m.closed {
		return name, nil, ErrClosed
	}
	if m.c == nil {
		return name, nil, ErrNoClient
	}
	if name == "" {
		for {
			m.names[prefix]++
			name = prefix + strconv.Itoa(m.names[prefix])
			if set[name] == nil {
				break
			}
		}
	}
	if set[name] != nil {
		return name, nil, fmt.Errorf("%w: %q", ErrExists, name)
	}
	a := &adhoc{done: make(chan struct{})}
	a.ctx, a.cancel = context.WithCancel(m.ctx)
	set[name] = a
	m.wg.Add(1)
	return name, a, nil
}

// release ends an ad-hoc producer's or consumer's registration: its name is free again.
func (m *Monitor) release(set map[string]*adhoc, name string, a *adhoc) {
	m.amu.Lock()
	if set[name] == a {
		delete(set, name)
	}
	m.amu.Unlock()
	a.cancel()
	close(a.done)
	m.wg.Done()
}

// stop stops the ad-hoc producer or consumer name of set and waits until it is closed or ctx ends.
func (m *Monitor) stop(ctx context.Context, set map[string]*adhoc, name string) error {
	m.amu.Lock()
	a := set[name]
	if a != nil {
		delete(set, name)
	}
	m.amu.Unlock()
	if a == nil {
		return fmt.Errorf("stop %s: %w", name, ErrNotFound)
	}
	a.cancel()
	select {
	case <-a.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop %s: %w", name, ctx.Err())
	}
}

// withCancel returns ctx, also cancelled when a's context ends.
func withCancel(ctx context.Context, a *adhoc) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(a.ctx, cancel)
	return ctx, func() { stop(); cancel() }
}

// payloads parses spec.Payload as a payload template (the generator connector's templates; verbatim when
// it has no {{...}} actions), or the default {"seq":N,"time":"..."} when empty.
func (m *Monitor) payloads(tmpl string) (*payload.Template, error) {
	if tmpl == "" {
		tmpl = payload.Default
	}
	t, err := payload.Parse(tmpl, m.now)
	if err != nil {
		// text/template's errors start with "template: ", which "payload template" already says.
		return nil, fmt.Errorf("%w: payload template: %s", ErrInvalidSpec, strings.TrimPrefix(err.Error(), "template: "))
	}
	return t, nil
}

// StartProducer creates an ad-hoc producer (named spec.Name, or "console-producer-N") on spec.Topic and
// publishes at spec.Rate messages per second until StopProducer or Close, each payload rendered from
// spec.Payload as the generator connector's template. With Rate 0 it publishes one message, waits for it
// and closes the producer: the send's error is returned. It fails with ErrReadOnly, ErrInvalidSpec,
// ErrExists, ErrNoClient, ErrClosed or the client's error, wrapped; ctx bounds the producer's creation
// (and the single send of Rate 0). Send errors while it runs show in the producer's stats and LastError.
func (m *Monitor) StartProducer(ctx context.Context, spec ProducerSpec) error {
	return m.failed(m.startProducer(ctx, spec))
}

func (m *Monitor) startProducer(ctx context.Context, spec ProducerSpec) error {
	what := fmt.Sprintf("start producer %s on %s", spec.Name, spec.Topic)
	if m.opts.ReadOnly {
		return fmt.Errorf("%s: %w", what, ErrReadOnly)
	}
	if spec.Rate < 0 || math.IsNaN(spec.Rate) || math.IsInf(spec.Rate, 0) {
		return fmt.Errorf("%s: %w: rate %v", what, ErrInvalidSpec, spec.Rate)
	}
	gen, err := m.payloads(spec.Payload)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	name, a, err := m.reserve(m.producers, spec.Name, "console-producer-")
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	what = fmt.Sprintf("start producer %s on %s", name, spec.Topic)
	c, _, _ := m.attached()
	dispatch := client.NonReliable
	if spec.Reliable {
		dispatch = client.Reliable
	}
	cctx, stop := withCancel(ctx, a)
	p, err := c.NewProducer(cctx, client.ProducerConfig{Topic: spec.Topic, Name: name, Dispatch: dispatch})
	stop()
	if err == nil && a.ctx.Err() != nil {
		m.closeProducer(p)
		err = ErrClosed
	}
	if errors.Is(err, ErrClosed) {
		m.release(m.producers, name, a)
		return fmt.Errorf("%s: %w", what, err)
	}
	if err != nil {
		m.release(m.producers, name, a)
		return dispatchHint(err, spec.Reliable) // the client's error names the producer and the topic
	}
	ps := m.producer(spec.Topic, name)
	ps.mu.Lock()
	ps.adHoc = true
	ps.mu.Unlock()

	if spec.Rate == 0 {
		cctx, stop := withCancel(ctx, a)
		err := m.publish(cctx, p, gen, 0, spec.Key)
		stop()
		m.closeProducer(p)
		m.release(m.producers, name, a)
		ps.mu.Lock()
		ps.adHoc = false
		ps.mu.Unlock()
		if err != nil {
			return fmt.Errorf("producer %s: %w", name, err) // the client's error names the topic
		}
		return nil
	}
	m.log.Info("ad-hoc producer started", "producer", name, "topic", spec.Topic, "rate", spec.Rate)
	go func() {
		defer m.release(m.producers, name, a)
		m.runProducer(a.ctx, p, gen, spec.Rate, spec.Key)
		m.closeProducer(p)
		ps.mu.Lock()
		ps.adHoc = false
		ps.mu.Unlock()
		m.log.Info("ad-hoc producer stopped", "producer", name, "topic", spec.Topic)
	}()
	return nil
}

// dispatchHint adds to a producer's creation error what to do when the topic's dispatch strategy is not the
// producer's (client.ErrDispatchMismatch): reliable says what the producer asked for.
func dispatchHint(err error, reliable bool) error {
	if !errors.Is(err, client.ErrDispatchMismatch) {
		return err
	}
	if reliable {
		return fmt.Errorf("%w (the topic is not reliable: start the producer without reliable dispatch)", err)
	}
	return fmt.Errorf("%w (the topic is reliable: start the producer with reliable dispatch)", err)
}

// runProducer publishes at r messages per second until ctx ends or the producer is closed.
func (m *Monitor) runProducer(ctx context.Context, p *client.Producer, gen *payload.Template, r float64, key string) {
	lim := rate.NewLimiter(rate.Limit(r), max(1, int(r/10)))
	for seq := int64(0); lim.Wait(ctx) == nil; seq++ {
		if err := m.publish(ctx, p, gen, seq, key); err != nil && (ctx.Err() != nil || errors.Is(err, client.ErrClosed)) {
			return
		}
	}
}

// publish renders payload seq and sends it. Send errors are recorded by the observer.
func (m *Monitor) publish(ctx context.Context, p *client.Producer, gen *payload.Template, seq int64, key string) error {
	b, err := gen.Render(seq)
	if err != nil {
		m.setErr(fmt.Errorf("producer %s: payload: %w", p.Name(), err))
		return err
	}
	if key != "" {
		_, err = p.SendWithKey(ctx, key, b)
	} else {
		_, err = p.Send(ctx, b)
	}
	return err
}

func (m *Monitor) closeProducer(p *client.Producer) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		m.log.Warn("closing an ad-hoc producer", "producer", p.Name(), "err", err)
	}
}

// StopProducer stops the ad-hoc producer name and closes it, waiting at most until ctx ends (it stops
// regardless). An unknown name is ErrNotFound. It works in read-only mode (there is nothing to stop).
func (m *Monitor) StopProducer(ctx context.Context, name string) error {
	return m.failed(m.stop(ctx, m.producers, name))
}

// StartConsumer subscribes an ad-hoc consumer (named spec.Name, or "console-consumer-N") to
// spec.Subscription (default: its name) of spec.Topic, with spec.Type, and acknowledges every message it
// receives until StopConsumer or Close; the observer keeps them in its streams' rings. It fails with
// ErrReadOnly, ErrExists, ErrNoClient, ErrClosed or the client's error (client.ErrTopicNotFound...),
// wrapped; ctx bounds the subscription.
//
// With spec.ManualAck, the consumer acknowledges nothing: every message it receives stays pending (Message
// State StatePending, ConsumerStats.Pending) until Ack or Nack. The subscription's ack timeout is read once
// from the admin API, when one is attached (else ConsumerStats.AckTimeout and Message.AckDeadline stay
// zero). With MaxPending messages pending, the consumer stops taking messages until some are settled (see
// MaxPending). After StopConsumer, the messages still pending can be settled while the client is open;
// the broker redelivers them meanwhile. The monitor must be the client's observer (client.WithObserver):
// it learns of the messages from it.
func (m *Monitor) StartConsumer(ctx context.Context, spec ConsumerSpec) error {
	return m.failed(m.startConsumer(ctx, spec))
}

func (m *Monitor) startConsumer(ctx context.Context, spec ConsumerSpec) error {
	what := fmt.Sprintf("start consumer %s on %s", spec.Name, spec.Topic)
	if m.opts.ReadOnly {
		return fmt.Errorf("%s: %w", what, ErrReadOnly)
	}
	name, a, err := m.reserve(m.consumers, spec.Name, "console-consumer-")
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	what = fmt.Sprintf("start consumer %s on %s", name, spec.Topic)
	sub := spec.Subscription
	if sub == "" {
		sub = name
	}
	c, admin, _ := m.attached()
	var t *tap
	if spec.ManualAck {
		// Registered before subscribing: the first message is pending already.
		t = &tap{topic: spec.Topic}
		m.regMu.Lock()
		m.taps[tapKey{sub, name}] = t
		m.regMu.Unlock()
	}
	typ, _ := spec.Type.Client() // SubscriptionUnknown: Shared
	cctx, stop := withCancel(ctx, a)
	cons, err := c.Subscribe(cctx, client.ConsumerConfig{Topic: spec.Topic, Subscription: sub, Name: name, Type: typ})
	stop()
	if err == nil && a.ctx.Err() != nil {
		m.closeConsumer(cons)
		err = ErrClosed
	}
	if err != nil {
		m.untap(sub, name, t)
		m.release(m.consumers, name, a)
		if errors.Is(err, ErrClosed) {
			return fmt.Errorf("%s: %w", what, err)
		}
		return err // the client's error names the subscription and the topic
	}
	streams := m.markConsumer(cons, SubscriptionTypeOf(typ), true)
	if t != nil && admin != nil {
		cctx, stop := withCancel(ctx, a)
		pol, _, err := admin.FailurePolicy(cctx, cons.Partitions()[0], sub)
		stop()
		if err != nil {
			m.log.Warn("reading the ack timeout of a manual-ack consumer", "consumer", name, "topic", spec.Topic,
				"subscription", sub, "err", err)
		} else {
			if pol != (client.FailurePolicy{}) { // only reliable topics have one
				for _, part := range cons.Partitions() {
					m.markReliable(part) // so that a redelivery of offset 0 is one
				}
			}
			if pol.AckTimeout > 0 {
				m.setAckTimeout(t, streams, pol.AckTimeout)
			}
		}
	}
	m.log.Info("ad-hoc consumer started", "consumer", name, "topic", spec.Topic, "subscription", sub, "manual-ack", spec.ManualAck)
	go func() {
		defer m.release(m.consumers, name, a)
		if t != nil {
			m.runTap(a.ctx, cons, streams)
		} else {
			m.runConsumer(a.ctx, cons)
		}
		m.closeConsumer(cons)
		m.untap(sub, name, t)
		for _, st := range streams {
			st.sub.mu.Lock()
			st.adHoc = false
			st.sub.mu.Unlock()
		}
		m.log.Info("ad-hoc consumer stopped", "consumer", name, "topic", spec.Topic, "subscription", sub)
	}()
	return nil
}

// markConsumer sets the type and ad-hoc flag of a consumer's streams (one per partition) and returns them.
func (m *Monitor) markConsumer(cons *client.Consumer, typ SubscriptionType, adHoc bool) []*stream {
	var out []*stream
	m.regMu.Lock()
	defer m.regMu.Unlock()
	for _, part := range cons.Partitions() {
		s := m.subLocked(part, cons.Subscription())
		st := m.streamLocked(s, cons.Name())
		s.mu.Lock()
		st.typ, st.adHoc = typ, adHoc
		s.mu.Unlock()
		out = append(out, st)
	}
	return out
}

// runConsumer acknowledges every message, with acks in flight, until ctx ends or the consumer's channel
// closes. The acks are not cut short when ctx ends: closing the consumer waits for them (closeTimeout), so
// that what was taken is acknowledged. Their failures are recorded by the observer.
func (m *Monitor) runConsumer(ctx context.Context, cons *client.Consumer) {
	ackCtx := context.WithoutCancel(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-cons.Messages():
			if !ok {
				return
			}
			if err := cons.AckAsync(ackCtx, msg, nil); err != nil {
				if errors.Is(err, client.ErrClosed) {
					return
				}
				m.log.Warn("an ad-hoc consumer could not acknowledge", "consumer", cons.Name(), "offset", msg.ID.Offset, "err", err)
			}
		}
	}
}

// runTap takes the messages of a manual-ack consumer (the observer made them pending) until ctx ends or the
// consumer's channel closes, pausing while MaxPending of them are pending.
func (m *Monitor) runTap(ctx context.Context, cons *client.Consumer, streams []*stream) {
	for {
		for pendingOf(streams) >= m.maxPending {
			if xtime.Sleep(ctx, tapPoll) != nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case _, ok := <-cons.Messages():
			if !ok {
				return
			}
		}
	}
}

// tapPoll is how often a manual-ack consumer that reached MaxPending checks whether it may go on.
const tapPoll = 50 * time.Millisecond

// pendingOf counts the pending messages of streams.
func pendingOf(streams []*stream) int {
	n := 0
	for _, st := range streams {
		st.sub.mu.Lock()
		n += len(st.pending)
		st.sub.mu.Unlock()
	}
	return n
}

// untap forgets a manual-ack consumer's registration (t nil: none).
func (m *Monitor) untap(sub, name string, t *tap) {
	if t == nil {
		return
	}
	m.regMu.Lock()
	if m.taps[tapKey{sub, name}] == t {
		delete(m.taps, tapKey{sub, name})
	}
	m.regMu.Unlock()
}

// setAckTimeout records a manual-ack consumer's ack timeout, and gives the messages already pending their
// deadline.
func (m *Monitor) setAckTimeout(t *tap, streams []*stream, d time.Duration) {
	m.regMu.Lock()
	t.ackTimeout = d
	m.regMu.Unlock()
	for _, st := range streams {
		st.sub.mu.Lock()
		if st.manual {
			st.ackTimeout = d
		}
		for seq := range st.pending {
			if sl := st.slot(seq); sl != nil && sl.msg.AckDeadline.IsZero() {
				sl.msg.AckDeadline = sl.msg.ReceivedAt.Add(d)
			}
		}
		st.sub.mu.Unlock()
	}
}

func (m *Monitor) closeConsumer(cons *client.Consumer) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := cons.Close(ctx); err != nil {
		m.log.Warn("closing an ad-hoc consumer", "consumer", cons.Name(), "err", err)
	}
}

// StopConsumer stops the ad-hoc consumer name and closes it, waiting at most until ctx ends (it stops
// regardless). An unknown name is ErrNotFound. Its streams stay in the snapshot, closed.
func (m *Monitor) StopConsumer(ctx context.Context, name string) error {
	return m.failed(m.stop(ctx, m.consumers, name))
}

// Unsubscribe deletes subscription sub of topic (of each of its partitions, for a partitioned topic)
// through the admin API, with the messages the broker kept for it. Brokers refuse while a consumer of it is
// connected: stop the tap first (a refusal is asked again for a few seconds, while the broker sees a
// consumer that just closed go). It fails with ErrReadOnly, ErrNoAdmin or the admin client's error
// (client.ErrTopicNotFound...), wrapped.
func (m *Monitor) Unsubscribe(ctx context.Context, topic, sub string) error {
	return m.failed(m.unsubscribe(ctx, topic, sub))
}

func (m *Monitor) unsubscribe(ctx context.Context, topic, sub string) error {
	what := fmt.Sprintf("unsubscribe %s from %s", sub, topic)
	if m.opts.ReadOnly {
		return fmt.Errorf("%s: %w", what, ErrReadOnly)
	}
	c, admin, _ := m.attached()
	if admin == nil {
		return fmt.Errorf("%s: %w", what, ErrNoAdmin)
	}
	targets := []string{topic}
	if c != nil {
		if all, err := c.Partitions(ctx, topic); err == nil {
			if parts := partitionsOf(topic, all); len(parts) > 0 {
				targets = parts
			}
		}
	}
	defer m.markStale(targets...)
	for _, t := range targets {
		if err := unsubscribeSettled(ctx, admin, t, sub); err != nil {
			return err // the client's error names the subscription and the topic or partition
		}
	}
	m.log.Info("subscription deleted", "topic", topic, "subscription", sub)
	return nil
}

// unsubscribeSettle is how long Unsubscribe keeps asking while the broker refuses: a consumer just closed
// (a stopped tap) tells the broker nothing, and the broker counts it connected until it sees its stream end.
const unsubscribeSettle = 3 * time.Second

// unsubscribeSettled deletes a subscription of one topic, asking again every 100 ms while the broker
// refuses, for up to unsubscribeSettle; a topic that does not exist is not asked again.
func unsubscribeSettled(ctx context.Context, admin *client.Admin, topic, sub string) error {
	deadline := time.Now().Add(unsubscribeSettle)
	for {
		err := admin.Unsubscribe(ctx, topic, sub)
		if err == nil || errors.Is(err, client.ErrTopicNotFound) || time.Now().After(deadline) {
			return err
		}
		if xtime.Sleep(ctx, 100*time.Millisecond) != nil {
			return err
		}
	}
}
