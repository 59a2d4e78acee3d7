package connectors

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/xtime"
)

// Reasons an instance is Degraded (bits of instance.degraded).
const (
	degradedHealth   uint32 = 1 << iota // its HealthChecker fails
	degradedDelivery                    // reads, writes or publishes are being retried
)

// errStopped ends a run because Stop was called while it was still starting.
var errStopped = errors.New("connectors: stopped")

// errCompleted ends a source's run at the end of its input, everything settled.
var errCompleted = errors.New("connectors: completed")

// instance is one connector instance and its supervisor.
type instance struct {
	rt        *Runtime
	cfg       InstanceConfig
	m         *instanceMetrics
	resources Resources
	degraded  atomic.Uint32 // degraded* bits; changed under mu, read without it on the data path
	errLog    rate.Sometimes
	origin    string    // InstanceStatus.Origin
	settings  []Setting // InstanceStatus.Settings, never modified

	mu          sync.Mutex
	state       State
	since       time.Time
	lastErr     error
	lastErrKind Kind
	lastErrAt   time.Time
	nextRestart time.Time
	run         *run // the current or last run; nil before the first Start
}

// run is one Start of an instance: the supervisor goroutine and the contexts that stop it.
type run struct {
	soft       context.Context // cancelled by Stop: stop taking new data, drain
	softCancel context.CancelFunc
	hard       context.Context // cancelled when the drain timed out: abandon everything
	hardCancel context.CancelFunc
	done       chan struct{} // closed when the supervisor returned
}

// start launches a supervisor unless one is running. Caller holds rt.mu.
func (i *instance) start() {
	i.mu.Lock()
	defer i.mu.Unlock()
	if r := i.run; r != nil {
		select {
		case <-r.done:
		default:
			return // running, starting or stopping
		}
	}
	r := &run{done: make(chan struct{})}
	r.hard, r.hardCancel = context.WithCancel(context.Background())
	r.soft, r.softCancel = context.WithCancel(r.hard)
	i.run = r
	i.nextRestart = time.Time{}
	i.degraded.Store(0)
	i.setStateLocked(StateStarting, nil)
	i.rt.wg.Go(func() { i.supervise(r) })
}

// stop stops the current run, draining within ctx.
func (i *instance) stop(ctx context.Context) error {
	i.mu.Lock()
	r := i.run
	if r == nil {
		i.mu.Unlock()
		return nil
	}
	select {
	case <-r.done:
		if i.state == StateFailed {
			i.nextRestart = time.Time{}
			i.setStateLocked(StateStopped, nil)
		}
		i.mu.Unlock()
		return nil
	default:
	}
	if i.state != StateStopping {
		i.setStateLocked(StateStopping, nil)
	}
	i.mu.Unlock()
	r.softCancel()
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
	}
	r.hardCancel()
	t := time.NewTimer(i.rt.opts.AbandonAfter)
	defer t.Stop()
	select {
	case <-r.done:
		return fmt.Errorf("%w: %s: %w", ErrDrainTimeout, i.cfg.Name, ctx.Err())
	case <-t.C:
		i.rt.log.Error("a connector did not return after its drain timed out; abandoning its goroutine", "connector", i.cfg.Name)
		return fmt.Errorf("%w: %s", ErrAbandoned, i.cfg.Name)
	}
}

// supervise runs the instance until it is stopped, completes or fails for good, restarting it with
// jittered exponential backoff after every other failure.
func (i *instance) supervise(r *run) {
	defer close(r.done)
	defer r.hardCancel()
	opts := i.rt.opts
	backoff := client.RetryPolicy{BaseBackoff: opts.RestartBackoff, MaxBackoff: opts.MaxRestartBackoff}
	attempt := 0
	for {
		began := time.Now()
		err := i.runOnce(r)
		i.m.inflight.Store(0) // a run owns everything in flight; what it left is delivered again
		if r.soft.Err() != nil || errors.Is(err, errStopped) {
			if err != nil && !errors.Is(err, errStopped) && !errors.Is(err, context.Canceled) {
				i.noteErr(err)
			}
			i.setState(StateStopped, nil)
			return
		}
		if errors.Is(err, errCompleted) || err == nil {
			i.setState(StateCompleted, nil)
			return
		}
		kind := KindOf(err)
		i.noteErrQuiet(err, kind)
		if kind == KindConfig {
			i.rt.log.Error("connector failed: configuration", "connector", i.cfg.Name, "err", err)
			i.setState(StateFailed, err)
			return
		}
		if time.Since(began) >= opts.MaxRestartBackoff {
			attempt = 0
		}
		d := backoff.Backoff(attempt)
		attempt++
		i.m.restarts.Add(1)
		i.rt.log.Warn("connector failed; restarting", "connector", i.cfg.Name, "kind", kind.String(), "err", err, "in", d)
		i.mu.Lock()
		i.nextRestart = i.rt.opts.Clock().Add(d)
		i.setStateLocked(StateFailed, err)
		i.mu.Unlock()
		if xtime.Sleep(r.soft, d) != nil {
			i.setState(StateStopped, nil)
			return
		}
		i.mu.Lock()
		i.nextRestart = time.Time{}
		i.degraded.Store(0)
		i.setStateLocked(StateStarting, nil)
		i.mu.Unlock()
	}
}

// runOnce builds the connector and runs it until it stops, ends or fails.
func (i *instance) runOnce(r *run) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = i.panicErr("runtime", p)
		}
	}()
	src, snk := i.rt.env.factories(i.cfg.Kind)
	switch i.cfg.Role {
	case RoleSource:
		var s Source
		if err := i.call("New", func() (err error) { s, err = src(i.cfg.Settings, i.resources); return err }); err != nil {
			return err
		}
		return newSourceRun(i, r, s).run()
	default:
		var s Sink
		if err := i.call("New", func() (err error) { s, err = snk(i.cfg.Settings, i.resources); return err }); err != nil {
			return err
		}
		return newSinkRun(i, r, s).run()
	}
}

// call runs a connector method, turning a panic into a Fatal error.
func (i *instance) call(what string, f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = i.panicErr(what, p)
		}
	}()
	return f()
}

func (i *instance) panicErr(what string, p any) error {
	i.rt.log.Error("connector panicked", "connector", i.cfg.Name, "in", what, "panic", p, "stack", string(debug.Stack()))
	return Fatal(fmt.Errorf("panic in %s: %v", what, p))
}

// setState changes the state and publishes the change.
func (i *instance) setState(s State, err error) {
	i.mu.Lock()
	i.setStateLocked(s, err)
	i.mu.Unlock()
}

// setStateLocked changes the state (caller holds mu) and publishes the change; the event is queued, never
// waited for, so publishing under the lock keeps an instance's events in order.
func (i *instance) setStateLocked(s State, err error) {
	if i.state == s {
		return
	}
	prev := i.state
	i.state = s
	i.since = i.rt.opts.Clock()
	ev := Event{Type: EventState, Time: i.since, Name: i.cfg.Name, Kind: i.cfg.Kind, Role: i.cfg.Role, State: s, Prev: prev, Err: err}
	if err != nil {
		ev.ErrKind = KindOf(err)
	}
	i.rt.hub.publish(ev)
	i.rt.log.Info("connector state", "connector", i.cfg.Name, "from", prev.String(), "to", s.String())
}

// markRunning moves a starting instance to Running (or Degraded while its health check fails): it is
// connected, so the retries of its connection are over.
func (i *instance) markRunning() {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.degraded.Store(i.degraded.Load() &^ degradedDelivery)
	if i.state == StateStarting {
		if i.degraded.Load() != 0 {
			i.setStateLocked(StateDegraded, nil)
		} else {
			i.setStateLocked(StateRunning, nil)
		}
	}
}

// setDegraded sets (err != nil) or clears one reason to be Degraded. The common case, clearing a reason
// that is not set, costs one atomic load.
func (i *instance) setDegraded(bit uint32, err error) {
	if err == nil && i.degraded.Load()&bit == 0 {
		return
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	d := i.degraded.Load()
	if err != nil {
		d |= bit
	} else {
		d &^= bit
	}
	i.degraded.Store(d)
	switch {
	case i.state == StateRunning && d != 0:
		i.setStateLocked(StateDegraded, err)
	case i.state == StateDegraded && d == 0:
		i.setStateLocked(StateRunning, nil)
	}
}

// noteErr records an error the instance keeps running through, logs it (a few per second at most) and
// publishes it.
func (i *instance) noteErr(err error) {
	kind := KindOf(err)
	i.noteErrQuiet(err, kind)
	i.errLog.Do(func() { i.rt.log.Warn("connector error", "connector", i.cfg.Name, "kind", kind.String(), "err", err) })
	st := i.currentState()
	i.rt.hub.publish(Event{Type: EventError, Time: i.rt.opts.Clock(), Name: i.cfg.Name, Kind: i.cfg.Kind, Role: i.cfg.Role, State: st, Err: err, ErrKind: kind})
}

// noteErrQuiet records an error as the last one without logging or publishing it.
func (i *instance) noteErrQuiet(err error, kind Kind) {
	i.mu.Lock()
	i.lastErr, i.lastErrKind, i.lastErrAt = err, kind, i.rt.opts.Clock()
	i.mu.Unlock()
}

func (i *instance) currentState() State {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.state
}

// status builds a snapshot.
func (i *instance) status() InstanceStatus {
	m := i.m
	st := InstanceStatus{
		Name: i.cfg.Name, Kind: i.cfg.Kind, Role: i.cfg.Role, Topic: i.cfg.Topic, Autostart: i.cfg.Autostart,
		Failed:          make(map[Kind]uint64, numKinds),
		InFlight:        max(m.inflight.Load(), 0),
		Batches:         m.batches.Load(),
		LastBatchSize:   int(m.lastBatch.Load()),
		BatchLatencyP50: time.Duration(m.latency.quantile(0.5)),
		BatchLatencyP99: time.Duration(m.latency.quantile(0.99)),
		Throughput:      math.Float64frombits(m.rate.Load()),
		Restarts:        m.restarts.Load(),
		Origin:          i.origin,
		Settings:        i.settings,
	}
	for k := range numKinds {
		st.Failed[Kind(k)] = 0
	}
	m.each(func(topic string, c *topicCounters) {
		ts := TopicStatus{Topic: topic, Received: c.received.Load(), Processed: c.processed.Load(), Retried: c.retried.Load(),
			Failed: make(map[Kind]uint64, numKinds)}
		for k := range numKinds {
			n := c.failed[k].Load()
			ts.Failed[Kind(k)] = n
			st.Failed[Kind(k)] += n
		}
		st.Received += ts.Received
		st.Processed += ts.Processed
		st.Retried += ts.Retried
		st.Topics = append(st.Topics, ts)
	})
	if len(st.Topics) == 1 {
		st.Topics = nil
	}
	i.mu.Lock()
	st.State, st.Since, st.NextRestart = i.state, i.since, i.nextRestart
	if i.lastErr != nil {
		st.LastError, st.LastErrorKind, st.LastErrorAt = i.lastErr.Error(), i.lastErrKind, i.lastErrAt
	}
	i.mu.Unlock()
	return st
}

// connect calls Connect until it succeeds, retrying transient failures with backoff while ctx lives (the
// instance stays Starting, or becomes Degraded when it was running). Fatal and Config errors end it;
// errStopped when ctx ended.
func (i *instance) connect(ctx context.Context, connect func(context.Context) error) error {
	pol := i.retryPolicy()
	for attempt := 0; ; attempt++ {
		err := i.call("Connect", func() error { return connect(ctx) })
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return errStopped
		}
		if k := KindOf(err); k == KindFatal || k == KindConfig {
			return fmt.Errorf("connect: %w", err)
		}
		i.noteErr(fmt.Errorf("connect: %w", err))
		i.setDegraded(degradedDelivery, err)
		if xtime.Sleep(ctx, pol.Backoff(attempt)) != nil {
			return errStopped
		}
	}
}

// retryPolicy returns the instance's retry backoffs as a client.RetryPolicy (for its Backoff).
func (i *instance) retryPolicy() client.RetryPolicy {
	return client.RetryPolicy{BaseBackoff: i.cfg.Retry.BaseBackoff, MaxBackoff: i.cfg.Retry.MaxBackoff}
}

// healthLoop asks hc every HealthInterval until ctx ends, making the instance Degraded while it fails.
func (i *instance) healthLoop(ctx context.Context, hc HealthChecker) {
	every := i.rt.opts.HealthInterval
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		cctx, cancel := context.WithTimeout(ctx, every)
		err := i.call("Health", func() error { return hc.Health(cctx) })
		cancel()
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			i.noteErr(fmt.Errorf("health check: %w", err))
		}
		i.setDegraded(degradedHealth, err)
	}
}

// limiter returns the instance's rate limiter (nil: no limit), with room for burst messages at once.
func (i *instance) limiter(burst int) *rate.Limiter {
	if i.cfg.RateLimit <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(i.cfg.RateLimit), max(burst, int(math.Ceil(i.cfg.RateLimit/10)), 1))
}

// classifySend gives the kind of a Danube publish failure: size and schema refusals are InvalidData (no
// retry can make the broker take the message); everything else is Retryable, so that nothing is dropped.
func classifySend(err error) Kind {
	if errors.Is(err, client.ErrMessageTooLarge) || errors.Is(err, client.ErrSchema) {
		return KindInvalidData
	}
	return KindRetryable
}

// classifySetup gives the kind of a failure to create a producer or consumer: a wrong topic, a dispatch
// strategy that does not match the topic's, or a refused configuration cannot be fixed by retrying.
func classifySetup(err error) Kind {
	switch {
	case errors.Is(err, client.ErrInvalidTopic), errors.Is(err, client.ErrDispatchMismatch),
		errors.Is(err, client.ErrInvalidConfig), errors.Is(err, client.ErrAlreadyExists):
		return KindConfig
	}
	return KindRetryable
}

// errText shortens an error for a nack reason.
func errText(err error) string {
	s := err.Error()
	if len(s) > 1000 {
		s = s[:1000] + "…"
	}
	return s
}
