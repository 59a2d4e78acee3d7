package client

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/internal/xtime"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// DispatchStrategy is how a topic keeps its messages. A producer's strategy must equal the topic's (it is
// fixed by whoever creates the topic); otherwise creation fails with ErrDispatchMismatch.
type DispatchStrategy int

// Dispatch strategies; the numbers are the wire values of danube.DispatchStrategy.
const (
	// NonReliable topics fan messages out in memory to the subscriptions that exist at send time; nothing is
	// stored and messages nobody can take are dropped. It is the default, as in the official clients.
	NonReliable DispatchStrategy = 0
	// Reliable topics store every message before the send is acknowledged; subscriptions are durable and
	// messages are redelivered until acknowledged.
	Reliable DispatchStrategy = 1
)

// String returns "NonReliable", "Reliable" or "DispatchStrategy(n)".
func (d DispatchStrategy) String() string {
	switch d {
	case NonReliable:
		return "NonReliable"
	case Reliable:
		return "Reliable"
	}
	return fmt.Sprintf("DispatchStrategy(%d)", int(d))
}

// AccessMode is a producer's access mode. Brokers store it but, like the real Danube broker, do not enforce
// it: two Exclusive producers of one topic are both accepted.
type AccessMode int

// Access modes; the numbers are the wire values of danube.ProducerAccessMode.
const (
	// AccessShared lets several producers write to the topic (the official clients' only mode).
	AccessShared AccessMode = 0
	// AccessExclusive asks to be the topic's only producer (not enforced by brokers).
	AccessExclusive AccessMode = 1
)

// String returns "Shared", "Exclusive" or "AccessMode(n)".
func (a AccessMode) String() string {
	switch a {
	case AccessShared:
		return "Shared"
	case AccessExclusive:
		return "Exclusive"
	}
	return fmt.Sprintf("AccessMode(%d)", int(a))
}

// DefaultAsyncWindow is how many SendAsync messages may be in flight at once when ProducerConfig.AsyncWindow
// is 0.
const DefaultAsyncWindow = 256

// maxAsyncSenders bounds the goroutines that send a producer's SendAsync messages.
const maxAsyncSenders = 64

// ProducerConfig describes a producer. Only Topic is required.
type ProducerConfig struct {
	// Topic is the topic to write to, "/namespace/topic". It is created (as Dispatch says) when it does not
	// exist, in a namespace that must exist.
	Topic string
	// Name identifies the producer on the broker; default "producer-" followed by 16 random hex digits.
	// Creating a producer with the name of an existing one of the same topic attaches to that producer (the
	// broker returns the same producer id): names are identities, not locks.
	Name string
	// AccessMode is sent to the broker (which does not enforce it).
	AccessMode AccessMode
	// Dispatch must match the topic's strategy when the topic exists.
	Dispatch DispatchStrategy
	// Partitions: 0 writes to Topic itself; N > 0 writes to the N topics "<Topic>-part-0" … "<Topic>-part-(N-1)",
	// creating them, with one partition producer each, named "<Name>-0" … "<Name>-(N-1)", as the official
	// clients do.
	Partitions int
	// SchemaSubject, when set, binds the topic to this registered schema subject (the first producer with a
	// subject binds an unbound topic; a topic bound to another subject refuses the producer with ErrSchema)
	// and stamps every message with the subject's schema id and version.
	SchemaSubject string
	// SchemaVersion pins the version stamped on messages; 0 means the subject's latest version at creation.
	SchemaVersion uint32
	// AsyncWindow is the largest number of SendAsync messages in flight (sent or queued, not yet completed);
	// SendAsync blocks while it is reached. 0 means DefaultAsyncWindow.
	AsyncWindow int
}

// Producer writes messages to a topic, or to the partitions of a partitioned topic. It is safe for
// concurrent use: concurrent Send calls go out concurrently, each on its own unary call.
//
// A producer checks its health with the broker every Options.HealthInterval; when the broker answers CLOSE
// (the topic was unloaded, moved or deleted) or no longer knows the producer (it restarted without its
// state), the producer creates itself again under the same name before the next send. Close stops
// everything the producer started; closing the Client closes its producers.
type Producer struct {
	c         *Client
	topic     string
	name      string
	names     []string // partition topic names
	parts     []*partProducer
	dispatch  DispatchStrategy
	access    AccessMode
	schemaRef *danubepb.SchemaReference
	// schema stamped on every message when hasSchema.
	hasSchema     bool
	schemaID      uint64
	schemaVersion uint32

	rr atomic.Uint64 // round-robin counter of sends without a key

	// ctx is the producer's lifetime: a child of the client's, cancelled by Close. Health checks and
	// asynchronous sends run under it, never under the context given to NewProducer.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // health checks and async senders

	closed    atomic.Bool   // no new sends; set under amu
	closing   chan struct{} // closed with closed
	closeOnce sync.Once
	closeErr  error

	// Asynchronous sends: a slot of slots is held from SendAsync until the send completed; queue feeds the
	// senders and never blocks (it has as many places as slots). The senders hand finished sends to the
	// completion goroutine through completions, which runs their done callbacks in order.
	window      int
	slots       chan struct{}
	queue       chan *asyncJob
	amu         sync.Mutex // guards started, gen and the closed/queue hand-over
	started     bool       // senders and the completion goroutine running
	gen         *flushGen
	completions completionQueue
}

// completionQueue is an unbounded FIFO of finished asynchronous sends whose done is still to be called, fed
// by the senders (which never wait for it) and drained by one completion goroutine. Unbounded, because a
// done may block (e.g. calling SendAsync with a full window) while the senders go on completing sends.
type completionQueue struct {
	mu     sync.Mutex
	jobs   []*asyncJob
	spare  []*asyncJob   // the drained slice, reused
	wake   chan struct{} // capacity 1: jobs were queued or the queue closed
	closed bool          // no job will be queued any more
	done   chan struct{} // closed when the completion goroutine ended
}

// partProducer is the producer of one topic or partition.
type partProducer struct {
	p        *Producer
	topic    string // exact topic or partition name
	name     string // producer name on that topic
	reqIDs   atomic.Uint64
	state    atomic.Pointer[prodState]
	mu       sync.Mutex  // guards inflight
	inflight *recreation // the re-creation in progress, shared by the sends that need it
}

// recreation is one re-creation of a partition producer; done is closed when st or err is set.
type recreation struct {
	done chan struct{}
	st   *prodState
	err  error
}

// prodState is a partition producer's registration on a broker. It is replaced, never changed, except for
// stale.
type prodState struct {
	id    uint64
	r     route
	pc    danubepb.ProducerServiceClient
	hc    danubepb.HealthCheckClient
	stale atomic.Bool // a health check answered CLOSE, or the route changed: re-create before sending
}

// asyncJob is one accepted SendAsync message.
type asyncJob struct {
	ctx     context.Context
	pp      *partProducer
	payload []byte
	o       sendOptions
	done    func(SendResult, error)
	gen     *flushGen
	res     SendResult // the outcome, for the completion goroutine
	err     error
}

// flushGen counts the async sends accepted between two Flush calls. Flush seals the current generation
// and waits until it and every older one have no send left.
type flushGen struct {
	n      int
	sealed bool
	done   chan struct{} // closed when sealed and n == 0
	prev   *flushGen
}

// SendResult describes a completed send.
type SendResult struct {
	// RequestID is the request id the broker echoed: the partition producer's counter (1, 2, 3, …), as in the
	// official Go client. It is not an offset.
	RequestID uint64
	// Topic is the topic or partition the message went to.
	Topic string
}

// SendOption changes one send.
type SendOption func(*sendOptions)

type sendOptions struct {
	key    string
	hasKey bool
	attrs  map[string]string
	// schema stamped on this message instead of the producer's, when hasSchema
	hasSchema     bool
	schemaID      uint64
	schemaVersion uint32
}

// WithKey sets the message's routing key: consumers of a KeyShared subscription receive all messages of a
// key on one consumer, and a partitioned producer sends every message of a key to partition
// FNV-1a-64(key) mod N, as the official clients do (so producers in every language agree).
func WithKey(key string) SendOption {
	return func(o *sendOptions) { o.key, o.hasKey = key, true }
}

// WithAttributes sets the message's attributes (string headers). The map is copied when the option is
// made, so the caller may reuse it.
func WithAttributes(attrs map[string]string) SendOption {
	c := maps.Clone(attrs)
	return func(o *sendOptions) { o.attrs = c }
}

// WithSchema stamps the message with schema id and version instead of the producer's own (if any), as
// when a message is published again as it was: a topic whose validation policy is enforce accepts it when
// the id is its subject's. The producer is not bound to the schema's subject by this.
func WithSchema(id uint64, version uint32) SendOption {
	return func(o *sendOptions) { o.hasSchema, o.schemaID, o.schemaVersion = true, id, version }
}

// emptyAttrs is sent when a message has no attributes (the official Go client sends an empty map). It is
// only ever read.
var emptyAttrs = map[string]string{}

// NewProducer creates a producer on cfg.Topic (or on each of its partitions, concurrently: all of them or
// none). Each partition producer first looks its topic up at the service URL and follows a Redirect or
// Connect answer, then sends CreateProducer, retrying retryable answers after a new lookup. The context
// bounds only the creation; the producer lives until Close or the client's Close.
//
// Errors match ErrInvalidConfig, ErrInvalidTopic, ErrNamespaceNotFound (the real broker answers Unavailable,
// but it is not retried: retrying cannot create a namespace), ErrDispatchMismatch, ErrSchema,
// ErrAlreadyExists (a partitioned topic and a plain topic with the same base name), ErrUnauthenticated,
// ErrPermissionDenied, ErrUnavailable or ErrClosed (also when the client is closed meanwhile); broker answers
// are *APIError values.
func (c *Client) NewProducer(ctx context.Context, cfg ProducerConfig) (*Producer, error) {
	if cfg.Topic == "" {
		return nil, fmt.Errorf("%w: a producer needs a topic", ErrInvalidConfig)
	}
	if cfg.Partitions < 0 {
		return nil, fmt.Errorf("%w: partitions must not be negative", ErrInvalidConfig)
	}
	if cfg.AsyncWindow < 0 {
		return nil, fmt.Errorf("%w: the async window must not be negative", ErrInvalidConfig)
	}
	if cfg.Dispatch != NonReliable && cfg.Dispatch != Reliable {
		return nil, fmt.Errorf("%w: unknown dispatch strategy %d", ErrInvalidConfig, cfg.Dispatch)
	}
	if cfg.AccessMode != AccessShared && cfg.AccessMode != AccessExclusive {
		return nil, fmt.Errorf("%w: unknown access mode %d", ErrInvalidConfig, cfg.AccessMode)
	}
	if cfg.SchemaSubject == "" && cfg.SchemaVersion != 0 {
		return nil, fmt.Errorf("%w: a schema version needs a schema subject", ErrInvalidConfig)
	}
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("producer-%016x", rand.Uint64())
	}
	if cfg.AsyncWindow == 0 {
		cfg.AsyncWindow = DefaultAsyncWindow
	}
	// The client's Close ends the calls (and backoffs) of a NewProducer in progress.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.ctx, cancel)()
	p, err := c.newProducer(ctx, cfg)
	if err != nil && c.isClosed() {
		return nil, fmt.Errorf("create producer %s on %s: %w", cfg.Name, cfg.Topic, ErrClosed)
	}
	return p, err
}

func (c *Client) newProducer(ctx context.Context, cfg ProducerConfig) (*Producer, error) {
	p := &Producer{c: c, topic: cfg.Topic, name: cfg.Name, dispatch: cfg.Dispatch, access: cfg.AccessMode,
		window: cfg.AsyncWindow, closing: make(chan struct{}), gen: &flushGen{done: make(chan struct{})},
		slots: make(chan struct{}, cfg.AsyncWindow), queue: make(chan *asyncJob, cfg.AsyncWindow),
		completions: completionQueue{wake: make(chan struct{}, 1), done: make(chan struct{})}}
	if cfg.SchemaSubject != "" {
		if err := p.resolveSchema(ctx, cfg.SchemaSubject, cfg.SchemaVersion); err != nil {
			return nil, err
		}
	}
	if cfg.Partitions == 0 {
		p.names = []string{cfg.Topic}
		p.parts = []*partProducer{{p: p, topic: cfg.Topic, name: cfg.Name}}
	} else {
		for i := range cfg.Partitions {
			t := fmt.Sprintf("%s-part-%d", cfg.Topic, i)
			p.names = append(p.names, t)
			p.parts = append(p.parts, &partProducer{p: p, topic: t, name: fmt.Sprintf("%s-%d", cfg.Name, i)})
		}
	}
	if err := p.createAll(ctx); err != nil {
		return nil, err
	}

	p.ctx, p.cancel = context.WithCancel(c.ctx)
	if err := c.track(p); err != nil {
		p.cancel()
		return nil, err
	}
	p.amu.Lock()
	if !p.closed.Load() { // the client's Close may already be closing the producer
		for _, pp := range p.parts {
			p.wg.Go(pp.healthLoop)
		}
	}
	p.amu.Unlock()
	return p, nil
}

// resolveSchema finds the schema id and version to stamp on messages, as the official clients do
// (GetLatestSchema, then GetSchema for a pinned version), and the reference sent with CreateProducer.
func (p *Producer) resolveSchema(ctx context.Context, subject string, version uint32) error {
	reg := p.c.Schemas()
	info, err := reg.Latest(ctx, subject)
	if err != nil {
		return schemaError(subject, err)
	}
	ref := &danubepb.SchemaReference{Subject: subject, VersionRef: &danubepb.SchemaReference_UseLatest{UseLatest: true}}
	if version != 0 {
		if info.Version != version {
			v := version
			if info, err = reg.Get(ctx, info.ID, &v); err != nil {
				return schemaError(subject, err)
			}
		}
		ref.VersionRef = &danubepb.SchemaReference_PinnedVersion{PinnedVersion: version}
	}
	p.hasSchema, p.schemaID, p.schemaVersion, p.schemaRef = true, info.ID, info.Version, ref
	return nil
}

// schemaError makes a registry failure match ErrSchema (and keeps the broker's answer).
func schemaError(subject string, err error) error {
	if errors.Is(err, ErrSchema) || errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled) ||
		errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: subject %q: %w", ErrSchema, subject, err)
}

// createAll creates every partition producer, concurrently when there are several; on a failure the others
// are abandoned (no health check was started for them) and the first error is returned.
func (p *Producer) createAll(ctx context.Context) error {
	if len(p.parts) == 1 {
		st, err := p.parts[0].create(ctx, p.c.serviceRoute())
		if err != nil {
			return err
		}
		p.parts[0].state.Store(st)
		return nil
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		first error // the failure that cancelled the others
		wg    sync.WaitGroup
	)
	for _, pp := range p.parts {
		wg.Go(func() {
			st, err := pp.create(cctx, p.c.serviceRoute())
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
				cancel()
				return
			}
			pp.state.Store(st)
		})
	}
	wg.Wait()
	if first != nil && p.c.obs != nil {
		// All or nothing: the partitions created are given up (no health check was started for them).
		for _, pp := range p.parts {
			if st := pp.state.Load(); st != nil {
				p.c.obs.OnProducer(ProducerEvent{Kind: ProducerClosed, Topic: pp.topic, Name: pp.name, ID: st.id})
			}
		}
	}
	return first
}

// create looks the partition up (from start, then from the service URL when start's broker cannot answer)
// and creates its producer there, retrying retryable answers after a new lookup.
func (pp *partProducer) create(ctx context.Context, start route) (*prodState, error) {
	p, c := pp.p, pp.p.c
	r := c.locate(ctx, pp.topic, start)
	req := &danubepb.ProducerRequest{
		RequestId:          nextRequestID(),
		ProducerName:       pp.name,
		TopicName:          pp.topic,
		SchemaRef:          p.schemaRef,
		ProducerAccessMode: danubepb.ProducerAccessMode(p.access),
		DispatchStrategy:   danubepb.DispatchStrategy(p.dispatch),
	}
	var st *prodState
	err := c.opts.Retry.retry(ctx, func(ctx context.Context) error {
		if p.ctx != nil && p.ctx.Err() != nil {
			return ErrClosed
		}
		s, err := c.stubs(r.connectURL)
		if err != nil {
			return err
		}
		resp, err := s.producer.CreateProducer(callCtx(ctx, r), req)
		if err != nil {
			return err
		}
		st = &prodState{id: resp.GetProducerId(), r: r, pc: s.producer, hc: s.health}
		return nil
	}, func(ctx context.Context) { r = c.locate(ctx, pp.topic, r) })
	if err != nil {
		err = apiError("create producer "+pp.name+" on "+pp.topic, err)
		if c.obs != nil {
			c.obs.OnProducer(ProducerEvent{Kind: ProducerFailed, Topic: pp.topic, Name: pp.name, Err: err})
		}
		c.log.Warn("creating a producer failed", "topic", pp.topic, "producer", pp.name, "err", err)
		return nil, err
	}
	kind := ProducerCreated
	if pp.state.Load() != nil {
		kind = ProducerRecreated
	}
	if c.obs != nil {
		c.obs.OnProducer(ProducerEvent{Kind: kind, Topic: pp.topic, Name: pp.name, ID: st.id})
	}
	c.log.Debug("producer "+kind.String(), "topic", pp.topic, "producer", pp.name, "id", st.id, "broker", r.brokerURL)
	return st, nil
}

// recreate replaces old with a new registration (same name, new id) made from start, unless another send
// already did. Concurrent sends share one re-creation: the first runs it under its own context, the others
// wait for its result or until their context ends. If the first one's context ends, a waiter whose context
// is alive runs the re-creation itself.
func (pp *partProducer) recreate(ctx context.Context, old *prodState, start route) (*prodState, error) {
	for {
		pp.mu.Lock()
		if cur := pp.state.Load(); cur != old {
			pp.mu.Unlock()
			return cur, nil
		}
		if rc := pp.inflight; rc != nil {
			pp.mu.Unlock()
			select {
			case <-rc.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("re-create producer %s on %s: %w", pp.name, pp.topic, ctx.Err())
			}
			if rc.err != nil && ctx.Err() == nil && pp.p.ctx.Err() == nil &&
				(errors.Is(rc.err, context.Canceled) || errors.Is(rc.err, context.DeadlineExceeded)) {
				continue // the send that ran it gave up; this one has time left
			}
			return rc.st, rc.err
		}
		rc := &recreation{done: make(chan struct{})}
		pp.inflight = rc
		pp.mu.Unlock()

		rc.st, rc.err = pp.create(ctx, start)
		pp.mu.Lock()
		if rc.err == nil {
			pp.state.Store(rc.st)
		}
		pp.inflight = nil
		pp.mu.Unlock()
		close(rc.done)
		return rc.st, rc.err
	}
}

// healthLoop checks the partition producer's health every HealthInterval until the producer closes. A CLOSE
// answer marks the registration stale, so that the next send re-creates the producer first.
func (pp *partProducer) healthLoop() {
	p, c := pp.p, pp.p.c
	interval := c.opts.HealthInterval
	timeout := min(max(interval, time.Second), 10*time.Second)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
		st := pp.state.Load()
		hctx, cancel := context.WithTimeout(p.ctx, timeout)
		start := time.Now()
		resp, err := st.hc.HealthCheck(callCtx(hctx, st.r), &danubepb.HealthCheckRequest{
			RequestId: nextRequestID(), Client: danubepb.HealthCheckRequest_Producer, Id: st.id})
		rtt := time.Since(start)
		cancel()
		if p.ctx.Err() != nil {
			return
		}
		hs := HealthOK
		switch {
		case err != nil:
			hs = HealthError
			err = apiError("health check of producer "+pp.name+" on "+pp.topic, err)
		case resp.GetStatus() == danubepb.HealthCheckResponse_CLOSE:
			hs = HealthClose
			if !st.stale.Swap(true) {
				c.log.Info("the broker closed the producer; it is re-created before the next send", "topic", pp.topic, "producer", pp.name, "id", st.id)
			}
		}
		if c.obs != nil {
			c.obs.OnHealth(HealthEvent{Topic: pp.topic, Name: pp.name, ID: st.id, Status: hs, RTT: rtt, Err: err})
		}
	}
}

// Topic returns the topic the producer was created for (the base name of a partitioned topic).
func (p *Producer) Topic() string { return p.topic }

// Name returns the producer's name (partition producers are named "<Name>-<i>").
func (p *Producer) Name() string { return p.name }

// Partitions returns the topics the producer writes to: [Topic] for a non-partitioned producer, else the
// partitions in order. The slice is a copy.
func (p *Producer) Partitions() []string { return append([]string(nil), p.names...) }

// pick chooses the partition of a send: the key's FNV-1a-64 hash modulo the partition count when the send
// has a key, else round-robin starting at partition 0, as the official clients do.
func (p *Producer) pick(o *sendOptions) *partProducer {
	n := uint64(len(p.parts))
	if n == 1 {
		return p.parts[0]
	}
	if o.hasKey {
		return p.parts[fnv1a64(o.key)%n]
	}
	return p.parts[(p.rr.Add(1)-1)%n]
}

// fnv1a64 is hash/fnv's New64a of s, without its allocation.
func fnv1a64(s string) uint64 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime64
	}
	return h
}

// Send sends one message and waits until the broker accepted it (on a reliable topic: stored it). The
// payload must not be modified until Send returns.
//
// Retryable answers (Unavailable, DeadlineExceeded, ResourceExhausted other than a size limit) are retried
// within the client's RetryPolicy, looking the topic up again before each retry; when the broker no longer
// knows the producer, or a health check answered CLOSE, the producer is re-created once (same name, new
// id) and the message sent again. Every other answer is final: ErrMessageTooLarge, ErrPermissionDenied
// (e.g. a schema enforcement failure), ErrUnauthenticated... After Close, Send fails with ErrClosed. On
// failure the result's Topic names the partition that was tried.
func (p *Producer) Send(ctx context.Context, payload []byte, opts ...SendOption) (SendResult, error) {
	if p.closed.Load() {
		return SendResult{}, ErrClosed
	}
	var o sendOptions
	for _, f := range opts {
		f(&o)
	}
	return p.pick(&o).send(ctx, payload, &o, false)
}

// SendWithKey is Send with WithKey(key) (given first, so a WithKey in opts wins).
func (p *Producer) SendWithKey(ctx context.Context, key string, payload []byte, opts ...SendOption) (SendResult, error) {
	if p.closed.Load() {
		return SendResult{}, ErrClosed
	}
	o := sendOptions{key: key, hasKey: true}
	for _, f := range opts {
		f(&o)
	}
	return p.pick(&o).send(ctx, payload, &o, false)
}

// SendAsync queues one message and returns once it is accepted; the message is sent like Send (same
// retries) by one of the producer's sender goroutines, and done, when not nil, is called exactly once with
// the result, from a client goroutine, after the send completed. ctx bounds both the wait for a place and
// the send.
//
// At most AsyncWindow messages are in flight: while the window is full SendAsync blocks until a send
// completes, ctx is done (its error is returned and done is not called) or the producer closes (ErrClosed).
// Messages in flight are sent concurrently, so they may reach the broker, and complete, in any order; wait
// for a message's done (or use Send) when order matters. The partition is chosen when SendAsync is called.
//
// done runs on the producer's completion goroutine, one call at a time in the order the sends completed,
// outside the producer's locks and with the message's window place already released. It may call Send and
// SendAsync (even when that blocks for a place: the senders go on meanwhile), but it must not call Flush or
// Close (they wait for done to return); a slow done delays the next ones, not the sends. The payload must
// not be modified until done is called.
func (p *Producer) SendAsync(ctx context.Context, payload []byte, done func(SendResult, error), opts ...SendOption) error {
	if p.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.closing:
		return ErrClosed
	}
	j := &asyncJob{ctx: ctx, payload: payload, done: done}
	for _, f := range opts {
		f(&j.o)
	}
	j.pp = p.pick(&j.o)
	p.amu.Lock()
	if p.closed.Load() {
		p.amu.Unlock()
		<-p.slots
		return ErrClosed
	}
	if !p.started {
		p.started = true
		for range min(p.window, maxAsyncSenders) {
			p.wg.Go(p.sender)
		}
		go p.completer()
	}
	j.gen = p.gen
	j.gen.n++
	p.queue <- j // never blocks: each queued job holds a slot
	p.amu.Unlock()
	return nil
}

// sender sends queued messages until the queue is closed, handing each result to the completion goroutine.
func (p *Producer) sender() {
	for j := range p.queue {
		var res SendResult
		var err error
		switch {
		case p.ctx.Err() != nil:
			err, res.Topic = ErrClosed, j.pp.topic
		case j.ctx.Done() == nil:
			// No deadline or cancellation of its own: the producer's lifetime bounds the send.
			res, err = j.pp.send(p.ctx, j.payload, &j.o, true)
		default:
			ctx, cancel := context.WithCancel(j.ctx)
			stop := context.AfterFunc(p.ctx, cancel)
			res, err = j.pp.send(ctx, j.payload, &j.o, true)
			stop()
			cancel()
		}
		if err != nil && p.ctx.Err() != nil && errors.Is(err, context.Canceled) && !errors.Is(err, ErrClosed) {
			err = errors.Join(ErrClosed, err)
		}
		<-p.slots
		if j.done == nil {
			p.finished(j)
			continue
		}
		j.res, j.err = res, err
		p.completions.push(j)
	}
}

// finished counts an async send as complete for Flush.
func (p *Producer) finished(j *asyncJob) {
	p.amu.Lock()
	g := j.gen
	g.n--
	if g.n == 0 && g.sealed {
		close(g.done)
	}
	p.amu.Unlock()
}

// push queues a finished send for its done callback; it never blocks.
func (q *completionQueue) push(j *asyncJob) {
	q.mu.Lock()
	q.jobs = append(q.jobs, j)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// close says that nothing will be pushed any more: the completion goroutine ends once the queue is empty.
func (q *completionQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// completer calls the done callbacks of finished sends, in order, until the queue is closed and empty.
func (p *Producer) completer() {
	q := &p.completions
	defer close(q.done)
	for {
		q.mu.Lock()
		for len(q.jobs) == 0 && !q.closed {
			q.mu.Unlock()
			<-q.wake
			q.mu.Lock()
		}
		if len(q.jobs) == 0 { // closed and drained
			q.mu.Unlock()
			return
		}
		batch := q.jobs
		q.jobs, q.spare = q.spare[:0], nil
		q.mu.Unlock()
		for i, j := range batch {
			j.done(j.res, j.err)
			p.finished(j)
			batch[i] = nil
		}
		q.mu.Lock()
		q.spare = batch[:0]
		q.mu.Unlock()
	}
}

// Flush waits until every SendAsync message accepted before the call has completed and its done returned,
// or until ctx is done (its error is returned). Messages accepted while Flush waits may be waited for too.
func (p *Producer) Flush(ctx context.Context) error {
	p.amu.Lock()
	g := p.gen
	if g.n == 0 && g.prev == nil {
		p.amu.Unlock()
		return nil
	}
	p.gen = &flushGen{done: make(chan struct{}), prev: g}
	g.sealed = true
	if g.n == 0 {
		close(g.done)
	}
	var chain []chan struct{}
	for x := g; x != nil; x = x.prev {
		chain = append(chain, x.done)
	}
	p.amu.Unlock()
	for _, ch := range chain {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.amu.Lock()
	g.prev = nil // everything older is complete
	p.amu.Unlock()
	return nil
}

// Close flushes the producer's asynchronous sends (waiting at most until ctx is done; what is left is then
// abandoned and completes with ErrClosed), stops its health checks and detaches it from the client. Later
// sends fail with ErrClosed. The broker keeps the producer registered (Danube has no close call), so a new
// producer with the same name gets the same id. Close is idempotent: later calls wait for the first and
// return its result, the flush's error (nil when everything was flushed).
func (p *Producer) Close(ctx context.Context) error {
	p.closeOnce.Do(func() {
		p.closeErr = p.shutdown(ctx)
		p.c.untrack(p)
	})
	return p.closeErr
}

// close lets the client close the producer with itself.
func (p *Producer) close(ctx context.Context) error { return p.Close(ctx) }

func (p *Producer) shutdown(ctx context.Context) error {
	p.amu.Lock()
	p.closed.Store(true)
	close(p.closing)
	started := p.started
	p.amu.Unlock()
	err := p.Flush(ctx)
	p.cancel()
	if started {
		close(p.queue) // no SendAsync can queue any more: closed was set under amu
	}
	p.wg.Wait()
	if started {
		// The senders are done: the last completions are queued. Wait until their done callbacks returned.
		p.completions.close()
		<-p.completions.done
	}
	c := p.c
	for _, pp := range p.parts {
		var id uint64
		if st := pp.state.Load(); st != nil {
			id = st.id
		}
		if c.obs != nil {
			c.obs.OnProducer(ProducerEvent{Kind: ProducerClosed, Topic: pp.topic, Name: pp.name, ID: id})
		}
	}
	c.log.Debug("producer closed", "topic", p.topic, "producer", p.name)
	return err
}

// send sends one message on the partition and reports it to the observer.
func (pp *partProducer) send(ctx context.Context, payload []byte, o *sendOptions, async bool) (SendResult, error) {
	c := pp.p.c
	var start time.Time
	if c.obs != nil {
		start = time.Now()
	}
	reqID, err := pp.sendLoop(ctx, payload, o)
	if c.obs != nil {
		c.obs.OnSend(SendEvent{Topic: pp.topic, Producer: pp.name, Bytes: len(payload), Latency: time.Since(start), Async: async, Err: err})
	}
	return SendResult{RequestID: reqID, Topic: pp.topic}, err
}

// wireMsg allocates a message and its id together.
type wireMsg struct {
	m  danubepb.StreamMessage
	id danubepb.MsgID
}

// sendLoop sends a message, retrying and re-creating the producer as Send documents, and returns the
// broker-echoed request id.
func (pp *partProducer) sendLoop(ctx context.Context, payload []byte, o *sendOptions) (uint64, error) {
	p, c := pp.p, pp.p.c
	w := &wireMsg{}
	m := &w.m
	m.RequestId = pp.reqIDs.Add(1)
	m.MsgId = &w.id
	m.Payload = payload
	m.PublishTime = uint64(time.Now().UnixMilli())
	m.ProducerName = pp.name
	m.Attributes = o.attrs
	if m.Attributes == nil {
		m.Attributes = emptyAttrs
	}
	if o.hasKey {
		m.RoutingKey = &o.key
	}
	switch {
	case o.hasSchema:
		m.SchemaId, m.SchemaVersion = &o.schemaID, &o.schemaVersion
	case p.hasSchema:
		m.SchemaId, m.SchemaVersion = &p.schemaID, &p.schemaVersion
	}
	w.id.TopicName = pp.topic

	pol := c.opts.Retry
	st := pp.state.Load()
	recreated := false
	next := st.r // where to re-create the producer
	for attempt := 0; ; {
		if st.stale.Load() && !recreated {
			recreated = true
			var err error
			if st, err = pp.recreate(ctx, st, next); err != nil {
				return m.RequestId, err
			}
		}
		w.id.ProducerId, w.id.BrokerAddr = st.id, st.r.brokerURL
		resp, err := st.pc.SendMessage(callCtx(ctx, st.r), m)
		if err == nil {
			return resp.GetRequestId(), nil
		}
		if p.ctx.Err() != nil {
			return m.RequestId, errors.Join(ErrClosed, apiError("send to "+pp.topic, err))
		}
		if !recreated && needsRecreate(err) && ctx.Err() == nil {
			c.log.Info("the broker lost the producer; re-creating it", "topic", pp.topic, "producer", pp.name, "err", err)
			st.stale.Store(true)
			continue
		}
		if !retryable(ctx, err) {
			return m.RequestId, apiError("send to "+pp.topic, withCtxErr(ctx, err))
		}
		if attempt >= pol.MaxRetries {
			return m.RequestId, apiError("send to "+pp.topic, errors.Join(err, ErrUnavailable))
		}
		if serr := sleep2(ctx, p.ctx, pol.Backoff(attempt)); serr != nil {
			return m.RequestId, apiError("send to "+pp.topic, errors.Join(err, serr))
		}
		attempt++
		st = pp.state.Load()
		// Look the topic up where it is served, or, when that broker cannot answer (it died), from the
		// service URL: another broker may serve the topic now, and the producer must be created there.
		if r := c.locate(ctx, pp.topic, st.r); r != st.r {
			next = r
			if !st.stale.Swap(true) {
				c.log.Info("the topic moved; re-creating the producer", "topic", pp.topic, "from", st.r.brokerURL, "to", r.brokerURL)
			}
		} else {
			next = st.r
		}
	}
}

// needsRecreate reports a send error that a new registration of the producer cures: the broker does not
// know the producer (it restarted without its state), or the topic is closing (unloaded or moved).
func needsRecreate(err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return false
	}
	e := &APIError{Code: st.Code(), Message: st.Message()}
	return e.Is(ErrProducerNotFound) ||
		(e.Code == codes.PermissionDenied && containsAny(e.Message, "draining or closed", "not found in registry"))
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// sleep2 waits d, or until ctx (its error) or life (ErrClosed) is done.
func sleep2(ctx, life context.Context, d time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(life, cancel)()
	if err := xtime.Sleep(ctx, d); err != nil {
		if life.Err() != nil {
			return ErrClosed
		}
		return err
	}
	return nil
}
