package client

import (
	"context"
	"errors"
	"fmt"
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

// SubscriptionType says how a subscription shares its messages among its consumers. The first consumer of a
// subscription fixes its type; the types later consumers ask for are ignored by the broker. The zero value is
// Shared, the official clients' default. The Go values are not the wire values (see wireType).
type SubscriptionType int

// Subscription types.
const (
	// Shared: messages are spread round-robin over the connected consumers. This is the zero value.
	Shared SubscriptionType = 0
	// Exclusive: one consumer receives everything, and a consumer with another name is refused
	// (ErrSubscriptionTaken). A real broker keeps every consumer record, so it refuses other names for ever
	// (for the subscription's lifetime on a reliable topic, until the idle subscription is reaped on a
	// non-reliable one), even after the holder is gone; the embedded broker refuses them only while the
	// holder is connected. Keep a consumer's name across restarts to resume an Exclusive subscription.
	Exclusive SubscriptionType = 1
	// Failover: one consumer receives everything and the others wait. The embedded broker hands the
	// subscription to another connected consumer when the active one leaves; a real broker never promotes
	// another consumer: only the first one ever receives messages.
	Failover SubscriptionType = 2
	// KeyShared: each routing key (the producer name when a message has none) goes to one consumer, chosen
	// among those whose KeyFilters accept it.
	KeyShared SubscriptionType = 3
)

// wireType returns the wire value of danube.ConsumerRequest.SubscriptionType (Exclusive 0, Shared 1,
// Failover 2, KeyShared 3).
func (t SubscriptionType) wireType() danubepb.ConsumerRequest_SubscriptionType {
	switch t {
	case Shared:
		return danubepb.ConsumerRequest_Shared
	case Exclusive:
		return danubepb.ConsumerRequest_Exclusive
	}
	return danubepb.ConsumerRequest_SubscriptionType(t)
}

// subscriptionTypeFromWire reads a wire subscription type (see wireType).
func subscriptionTypeFromWire(w int32) SubscriptionType {
	switch danubepb.ConsumerRequest_SubscriptionType(w) {
	case danubepb.ConsumerRequest_Exclusive:
		return Exclusive
	case danubepb.ConsumerRequest_Shared:
		return Shared
	}
	return SubscriptionType(w)
}

// String returns "Shared", "Exclusive", "Failover", "KeyShared" or "SubscriptionType(n)".
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
	return fmt.Sprintf("SubscriptionType(%d)", int(t))
}

// subscriptionTypeNames are the names ParseSubscriptionType accepts and MarshalText writes, in the
// SubscriptionType's order.
var subscriptionTypeNames = [...]string{Shared: "shared", Exclusive: "exclusive", Failover: "failover", KeyShared: "key-shared"}

// SubscriptionTypeNames returns the names of the subscription types, as MarshalText writes them: "shared",
// "exclusive", "failover", "key-shared". The slice is a copy.
func SubscriptionTypeNames() []string { return append([]string(nil), subscriptionTypeNames[:]...) }

// ErrUnknownSubscriptionType is wrapped by ParseSubscriptionType's error for a name it does not know.
var ErrUnknownSubscriptionType = errors.New("unknown subscription type")

// ParseSubscriptionType reads a subscription type name: "shared", "exclusive", "failover" or "key-shared",
// in any case, with "key_shared", "keyshared" and the String forms ("KeyShared") accepted too. Any other
// name gives an error that wraps ErrUnknownSubscriptionType and lists the valid names.
func ParseSubscriptionType(s string) (SubscriptionType, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.ReplaceAll(n, "_", "-")
	if n == "keyshared" {
		n = "key-shared"
	}
	for t, name := range subscriptionTypeNames {
		if n == name {
			return SubscriptionType(t), nil
		}
	}
	return 0, fmt.Errorf("%w %q: use one of %s", ErrUnknownSubscriptionType, s, strings.Join(subscriptionTypeNames[:], ", "))
}

// MarshalText writes the type's name as ParseSubscriptionType reads it ("key-shared", …); an unknown value
// is an error.
func (t SubscriptionType) MarshalText() ([]byte, error) {
	if t < 0 || int(t) >= len(subscriptionTypeNames) {
		return nil, fmt.Errorf("%w: %d", ErrUnknownSubscriptionType, int(t))
	}
	return []byte(subscriptionTypeNames[t]), nil
}

// UnmarshalText reads a name as ParseSubscriptionType does.
func (t *SubscriptionType) UnmarshalText(b []byte) error {
	v, err := ParseSubscriptionType(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// ConsumerConfig describes a consumer.
type ConsumerConfig struct {
	// Topic is the topic to consume ("/namespace/topic"); for a partitioned topic, every partition is
	// consumed. Required: consumers never create topics.
	Topic string
	// Subscription names the subscription; it is created on first use. Required.
	Subscription string
	// Name identifies the consumer within the subscription (default "consumer-" + random hex). A consumer
	// that subscribes with a name already in use takes that consumer over, so give each process its own
	// name, and keep it across restarts to resume an Exclusive subscription.
	Name string
	// Type is the subscription's type when this consumer creates it (default Shared, as in the official
	// clients).
	Type SubscriptionType
	// KeyFilters, for KeyShared only, restrict the routing keys this consumer accepts: globs where '*'
	// matches any sequence and '?' one byte, matched against the whole key. None accepts every key.
	KeyFilters []string
	// AckWindow is the largest number of AckAsync and NackAsync calls in flight (sent, not yet answered);
	// AckAsync blocks while it is reached. 0 means DefaultAckWindow; at most MaxAckWindow.
	AckWindow int
}

// healthyStream is how long a stream must stay open (when it delivers nothing) for the reconnection backoff
// to start over.
const healthyStream = 5 * time.Second

// topicReturnGrace is how long a consumer keeps subscribing again, with backoff, to a topic its broker says
// does not exist before it fails with ErrTopicNotFound: a broker that restarted without its state knows the
// topic again once a producer re-creates it. (Client.topicGrace holds it, so that tests can shorten it.)
const topicReturnGrace = 30 * time.Second

// releaseWait bounds how long a failed Subscribe keeps the stream it opens to release a partition's consumer
// (see release).
const releaseWait = 200 * time.Millisecond

// Consumer receives the messages of one subscription of a topic, from every partition, on one channel. It
// subscribes again and reopens its streams by itself when the broker ends them, restarts or forgets the
// consumer, until Close or a final error on any partition, which stops the whole consumer (see Receive).
// Delivery is at least once: after a reconnection, messages not yet acknowledged may arrive again. It is
// safe for concurrent use.
type Consumer struct {
	c       *Client
	topic   string
	sub     string
	name    string
	typ     SubscriptionType
	filters []string

	parts   []*topicConsumer // in the broker's partition order
	byTopic map[string]*topicConsumer
	acks    *ackPipe // AckAsync and NackAsync

	ch   chan *Message
	ctx  context.Context // the consumer's lifetime: cancelled by Close or a final failure
	stop context.CancelFunc
	// running counts the goroutines the consumer started; the last one to end closes ch and done.
	running atomic.Int64
	done    chan struct{}

	mu     sync.Mutex
	closed bool
	err    error // the final failure, if any
}

// Subscribe subscribes to cfg.Subscription of cfg.Topic, on every partition of a partitioned topic, and
// starts receiving. It returns only when every partition is subscribed; if one fails, it returns that error
// and nothing is left running. A topic that does not exist is ErrTopicNotFound; an Exclusive subscription
// held by another consumer is ErrSubscriptionTaken. Subscribe calls are retried (with a new lookup, following
// redirects) on Unavailable, DeadlineExceeded and ResourceExhausted. ctx bounds Subscribe only; the consumer
// lives until Close (or the client's Close). When the client is closed meanwhile, the error is ErrClosed.
//
// When some partitions subscribed before another failed, their consumers are released: a stream is opened
// and ended at once, so that the broker counts them as gone (the embedded broker then lets another consumer
// name take an Exclusive subscription of theirs). A real broker keeps their consumer records, though: there,
// an Exclusive subscription such a partial Subscribe created stays bound to cfg.Name, so retry with the same
// name.
func (c *Client) Subscribe(ctx context.Context, cfg ConsumerConfig) (*Consumer, error) {
	if cfg.Topic == "" || cfg.Subscription == "" {
		return nil, fmt.Errorf("%w: a consumer needs a topic and a subscription", ErrInvalidConfig)
	}
	if cfg.Type < Shared || cfg.Type > KeyShared {
		return nil, fmt.Errorf("%w: unknown subscription type %d", ErrInvalidConfig, int(cfg.Type))
	}
	if len(cfg.KeyFilters) > 0 && cfg.Type != KeyShared {
		return nil, fmt.Errorf("%w: key filters need a KeyShared subscription, not %s", ErrInvalidConfig, cfg.Type)
	}
	if cfg.AckWindow < 0 || cfg.AckWindow > MaxAckWindow {
		return nil, fmt.Errorf("%w: the ack window must be between 0 (the default, %d) and %d, not %d", ErrInvalidConfig, DefaultAckWindow, MaxAckWindow, cfg.AckWindow)
	}
	if cfg.AckWindow == 0 {
		cfg.AckWindow = DefaultAckWindow
	}
	if cfg.Name == "" {
		cfg.Name = fmt.Sprintf("consumer-%016x", rand.Uint64())
	}
	// The client's Close ends the calls (and backoffs) of a Subscribe in progress.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.ctx, cancel)()
	cons, err := c.subscribe(ctx, cfg)
	if err != nil && c.isClosed() {
		return nil, fmt.Errorf("subscribe %s to %s: %w", cfg.Subscription, cfg.Topic, ErrClosed)
	}
	return cons, err
}

func (c *Client) subscribe(ctx context.Context, cfg ConsumerConfig) (*Consumer, error) {
	parts, err := c.consumerPartitions(ctx, cfg.Subscription, cfg.Topic)
	if err != nil {
		return nil, err
	}
	cons := &Consumer{
		c: c, topic: cfg.Topic, sub: cfg.Subscription, name: cfg.Name, typ: cfg.Type,
		filters: append([]string(nil), cfg.KeyFilters...),
		byTopic: make(map[string]*topicConsumer, len(parts)),
		ch:      make(chan *Message, c.opts.ReceiveBuffer),
		done:    make(chan struct{}),
	}
	for _, p := range parts {
		tc := &topicConsumer{cons: cons, topic: p}
		cons.parts = append(cons.parts, tc)
		cons.byTopic[p] = tc
	}

	// Subscribe every partition at once; each goroutine writes only its own slot.
	errs := make([]error, len(cons.parts))
	var wg sync.WaitGroup
	for i, tc := range cons.parts {
		wg.Go(func() { errs[i] = tc.subscribe(ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			cons.releaseSubscribed(ctx, errs)
			return nil, err
		}
	}

	cons.ctx, cons.stop = context.WithCancel(c.ctx)
	cons.acks = newAckPipe(c.ctx, cfg.AckWindow)
	cons.mu.Lock()
	defer cons.mu.Unlock()
	if err := c.track(cons); err != nil {
		cons.stop()
		cons.acks.cancel()
		return nil, err
	}
	cons.running.Store(int64(2 * len(cons.parts)))
	for _, tc := range cons.parts {
		go cons.goroutine(tc.receiveLoop)
		go cons.goroutine(tc.healthLoop)
	}
	return cons, nil
}

// releaseSubscribed releases the partitions that subscribed (errs[i] == nil) when others failed.
func (cons *Consumer) releaseSubscribed(ctx context.Context, errs []error) {
	if cons.c.isClosed() {
		return
	}
	var wg sync.WaitGroup
	for i, tc := range cons.parts {
		if errs[i] == nil {
			wg.Go(func() { tc.release(ctx) })
		}
	}
	wg.Wait()
}

// release opens a ReceiveMessages stream for the partition's consumer and ends it, so that the broker marks
// the consumer inactive (a consumer that never opened a stream counts as connected for a while). The stream
// is kept until the broker sends anything or releaseWait passes, so that its request reaches the broker
// before the cancellation does. Failures are ignored: this is best effort.
func (tc *topicConsumer) release(ctx context.Context) {
	c := tc.cons.c
	rt, id := tc.route(), tc.consumerID()
	s, err := c.stubs(rt.connectURL)
	if err != nil {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, releaseWait)
	defer cancel()
	st, err := s.consumer.ReceiveMessages(callCtx(sctx, rt), &danubepb.ReceiveRequest{RequestId: nextRequestID(), ConsumerId: id})
	if err != nil {
		return
	}
	_, _ = st.Header() // returns when the broker answers (headers or the end of the stream) or sctx ends
	cancel()
	c.log.Debug("released the consumer of a failed Subscribe", "topic", tc.topic, "subscription", tc.cons.sub, "consumer", tc.cons.name, "id", id)
}

// goroutine runs f as one of the consumer's goroutines; the last one to end closes the message channel.
func (cons *Consumer) goroutine(f func()) {
	defer func() {
		if cons.running.Add(-1) == 0 {
			close(cons.ch)
			close(cons.done)
		}
	}()
	f()
}

// consumerPartitions lists the partitions to consume: the names the service broker lists for topic that are
// topic itself or its "<topic>-part-N" partitions (the broker's answer is a raw prefix scan, which also
// returns unrelated topics that merely start with the same name). When the service broker lists none, the
// broker a lookup redirects to is asked, for brokers that list only the topics they serve.
func (c *Client) consumerPartitions(ctx context.Context, sub, topic string) ([]string, error) {
	op := "subscribe " + sub + " to " + topic // the operation, named once: the broker's answers name the topic too
	all, err := c.partitions(ctx, topic)
	if err != nil {
		return nil, apiError(op, err)
	}
	parts := partitionsOf(topic, all)
	if len(parts) == 0 {
		for _, probe := range []string{topic, topic + "-part-0"} {
			rt := c.relookup(ctx, probe, c.serviceRoute())
			if rt.connectURL == c.serviceURL {
				continue
			}
			s, err := c.stubs(rt.connectURL)
			if err != nil {
				break
			}
			resp, err := s.discovery.TopicPartitions(ctx, &danubepb.TopicLookupRequest{RequestId: nextRequestID(), Topic: topic})
			if err == nil {
				parts = partitionsOf(topic, resp.GetPartitions())
			}
			break
		}
	}
	if len(parts) == 0 {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", op, ctx.Err())
		}
		return nil, fmt.Errorf("%s: %w", op, ErrTopicNotFound)
	}
	return parts, nil
}

// partitionsOf keeps the names in all that are topic or one of its partitions.
func partitionsOf(topic string, all []string) []string {
	var out []string
	for _, p := range all {
		if p == topic {
			return []string{topic}
		}
		n, ok := strings.CutPrefix(p, topic+"-part-")
		if !ok || n == "" || strings.Trim(n, "0123456789") != "" {
			continue
		}
		out = append(out, p)
	}
	return out
}

// Messages returns the channel on which messages of every partition arrive, in order within a partition. Its
// capacity is the client's receive buffer; when it is full, the consumer stops reading from the broker. It
// is closed after Close, or after a final failure (see Receive); messages still buffered then can be drained
// from it, and those never acknowledged are delivered again by the broker. Messages and Receive read the same
// channel.
func (cons *Consumer) Messages() <-chan *Message { return cons.ch }

// Receive returns the next message, waiting until one arrives or ctx is done (ctx.Err()). After Close it
// returns ErrClosed. When the consumer failed for good (the broker refused it with a final error such as
// ErrUnauthenticated, or the topic stayed gone for topicReturnGrace, 30 s: ErrTopicNotFound), it returns the
// messages still buffered and then that error.
func (cons *Consumer) Receive(ctx context.Context) (*Message, error) {
	cons.mu.Lock()
	closed := cons.closed
	cons.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	select {
	case m, ok := <-cons.ch:
		if !ok {
			return nil, cons.endErr()
		}
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// endErr is why the message channel closed.
func (cons *Consumer) endErr() error {
	cons.mu.Lock()
	defer cons.mu.Unlock()
	if cons.err != nil && !cons.closed {
		return cons.err
	}
	return ErrClosed
}

// Err returns the error the consumer failed with, or nil while it runs and after a plain Close.
func (cons *Consumer) Err() error {
	cons.mu.Lock()
	defer cons.mu.Unlock()
	return cons.err
}

// Ack acknowledges m on this consumer's subscription, through the partition it came from: the broker will
// not deliver it again. m must have been received by this consumer (ErrInvalidConfig otherwise: the ack would
// settle another subscription's message). It works after Close as long as the client is open, so that
// messages taken before Close can still be settled. Acks of non-reliable messages and unknown offsets are
// ignored by the broker.
func (cons *Consumer) Ack(ctx context.Context, m *Message) error {
	tc, err := cons.owner(m)
	if err != nil {
		return err
	}
	return tc.ack(ctx, m)
}

// Nack asks the broker to deliver m again after at least delay (the subscription's failure policy may wait
// longer); reason is recorded with the redelivery. Like Ack, it takes only messages this consumer received
// and works after Close while the client is open. Non-reliable topics ignore it.
func (cons *Consumer) Nack(ctx context.Context, m *Message, delay time.Duration, reason string) error {
	tc, err := cons.owner(m)
	if err != nil {
		return err
	}
	return tc.nack(ctx, m, delay, reason)
}

// owner finds the partition consumer a message belongs to: the one that received it.
func (cons *Consumer) owner(m *Message) (*topicConsumer, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil message", ErrInvalidConfig)
	}
	if m.consumer != nil && m.consumer.cons != cons {
		other := m.consumer.cons
		return nil, fmt.Errorf("%w: the message was received by consumer %s of subscription %s, not by consumer %s of %s; settle it with that consumer (or Message.Ack)",
			ErrInvalidConfig, other.name, other.sub, cons.name, cons.sub)
	}
	tc := cons.byTopic[m.ID.Topic]
	if tc == nil {
		return nil, fmt.Errorf("%w: the message is from %q, which consumer %s of %s does not consume",
			ErrInvalidConfig, m.ID.Topic, cons.name, cons.topic)
	}
	return tc, nil
}

// Close stops the consumer. First it drains the acknowledgements in flight: AckAsync and NackAsync are
// refused from then on (ErrClosed), and Close waits until those accepted before were answered and their done
// returned; when ctx ends first, they are abandoned (their done gets an error matching ErrClosed: those
// messages will be delivered again). Then its streams, health checks and deliveries end, Messages() is
// closed, and Close returns once every goroutine the consumer started has ended, or with ctx.Err() if ctx
// ends first (they end promptly regardless). No other call is made to the broker; it sees the streams end
// and redelivers what was not acknowledged. Calling Close again waits for the drain again and returns nil.
func (cons *Consumer) Close(ctx context.Context) error {
	err := cons.close(ctx)
	cons.c.untrack(cons)
	return err
}

// close implements Close for Client.Close.
func (cons *Consumer) close(ctx context.Context) error {
	cons.mu.Lock()
	first := !cons.closed
	cons.closed = true
	failed := cons.err != nil
	cons.mu.Unlock()
	drainErr := cons.acks.drain(ctx)
	cons.stop()
	select {
	case <-cons.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if drainErr != nil {
		return drainErr
	}
	if first && !failed {
		cons.c.log.Info("consumer closed", "topic", cons.topic, "subscription", cons.sub, "consumer", cons.name)
		if cons.c.obs != nil {
			for _, tc := range cons.parts {
				cons.c.obs.OnConsumer(tc.event(ConsumerClosed, nil))
			}
		}
	}
	return nil
}

// fail ends the consumer for good after a final error on one of its partitions.
func (cons *Consumer) fail(tc *topicConsumer, err error) {
	cons.mu.Lock()
	if cons.closed || cons.err != nil {
		cons.mu.Unlock()
		return
	}
	cons.err = err
	cons.mu.Unlock()
	cons.c.log.Error("consumer failed", "topic", tc.topic, "subscription", cons.sub, "consumer", cons.name, "err", err)
	if cons.c.obs != nil {
		cons.c.obs.OnConsumer(tc.event(ConsumerFailed, err))
	}
	cons.stop()
}

// Topic returns the topic the consumer was created for.
func (cons *Consumer) Topic() string { return cons.topic }

// Subscription returns the subscription's name.
func (cons *Consumer) Subscription() string { return cons.sub }

// Name returns the consumer's name (generated when the config had none).
func (cons *Consumer) Name() string { return cons.name }

// Partitions returns the partitions the consumer receives from: the topic itself when it is not partitioned.
func (cons *Consumer) Partitions() []string {
	out := make([]string, len(cons.parts))
	for i, tc := range cons.parts {
		out[i] = tc.topic
	}
	return out
}

// topicConsumer is a Consumer's subscription on one partition (or the whole non-partitioned topic).
type topicConsumer struct {
	cons  *Consumer
	topic string

	mu           sync.Mutex
	rt           route
	id           uint64
	streamGen    uint64             // counts the streams opened
	streamCancel context.CancelFunc // ends the open stream; nil when there is none
	resub        bool               // a health check answered CLOSE: subscribe again
}

func (tc *topicConsumer) consumerID() uint64 {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.id
}

func (tc *topicConsumer) route() route {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.rt
}

func (tc *topicConsumer) event(kind ConsumerEventKind, err error) ConsumerEvent {
	return ConsumerEvent{Kind: kind, Topic: tc.topic, Subscription: tc.cons.sub, Name: tc.cons.name, Type: tc.cons.typ, ID: tc.consumerID(), Err: err}
}

// subscribe looks the partition up from the service URL (one hop) and subscribes there, retrying retryable
// answers after a new lookup; it adopts the route and the consumer id the broker gives.
func (tc *topicConsumer) subscribe(ctx context.Context) error {
	cons, c := tc.cons, tc.cons.c
	rt := c.relookup(ctx, tc.topic, c.serviceRoute())
	var id uint64
	err := c.opts.Retry.retry(ctx, func(ctx context.Context) error {
		s, err := c.stubs(rt.connectURL)
		if err != nil {
			return err
		}
		resp, err := s.consumer.Subscribe(callCtx(ctx, rt), &danubepb.ConsumerRequest{
			RequestId:        nextRequestID(),
			TopicName:        tc.topic,
			ConsumerName:     cons.name,
			Subscription:     cons.sub,
			SubscriptionType: cons.typ.wireType(),
			KeyFilters:       cons.filters,
		})
		if err != nil {
			return err
		}
		id = resp.GetConsumerId()
		return nil
	}, func(ctx context.Context) { rt = c.relookup(ctx, tc.topic, rt) })
	if err != nil {
		return apiError(fmt.Sprintf("subscribe %s to %s", cons.sub, tc.topic), err)
	}
	tc.mu.Lock()
	tc.rt, tc.id = rt, id
	tc.mu.Unlock()
	return nil
}

// errResubscribe ends a stream that a health check found closed.
var errResubscribe = errors.New("danube: the broker reported the consumer closed")

// receiveLoop keeps a stream open for the partition and delivers its messages until the consumer ends.
// Whenever a stream ends it backs off and opens another; it subscribes again first when the broker forgot
// the consumer (NotFound), a health check answered CLOSE, or reopening kept failing. It stops the consumer
// only on a final error.
func (tc *topicConsumer) receiveLoop() {
	cons, c := tc.cons, tc.cons.c
	ctx := cons.ctx
	c.log.Info("consumer subscribed", "topic", tc.topic, "subscription", cons.sub, "consumer", cons.name, "id", tc.consumerID())
	if c.obs != nil {
		c.obs.OnConsumer(tc.event(ConsumerSubscribed, nil))
	}
	failures := 0           // consecutive unhealthy streams or failed attempts
	resub := false          // subscribe again before the next stream
	var topicGone time.Time // when re-subscribing first found the topic unknown (zero: it did not)
	for {
		if tc.takeResub() {
			resub = true
		}
		if resub {
			err := tc.subscribe(ctx)
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, ErrClosed) { // the client is closing, and closes this consumer
				<-ctx.Done()
				return
			}
			if err != nil && errors.Is(err, ErrTopicNotFound) {
				// A broker that restarted without its state knows the topic again once a producer re-creates
				// it: keep trying for a while.
				if topicGone.IsZero() {
					topicGone = time.Now()
				}
				if time.Since(topicGone) < c.topicGrace {
					c.log.Warn("the broker does not know the topic; subscribing again", "topic", tc.topic, "subscription", cons.sub,
						"consumer", cons.name, "err", err, "for", time.Since(topicGone).Round(time.Millisecond))
					if c.obs != nil {
						c.obs.OnConsumer(tc.event(ConsumerStreamEnded, err))
					}
					if xtime.Sleep(ctx, c.opts.Retry.Backoff(failures)) != nil {
						return
					}
					failures++
					continue
				}
			}
			if err != nil {
				if finalError(err) {
					cons.fail(tc, err)
					return
				}
				c.log.Warn("consumer could not subscribe again; retrying", "topic", tc.topic, "subscription", cons.sub, "consumer", cons.name, "err", err)
				if xtime.Sleep(ctx, c.opts.Retry.Backoff(failures)) != nil {
					return
				}
				failures++
				continue
			}
			resub, topicGone = false, time.Time{}
			c.log.Info("consumer subscribed again", "topic", tc.topic, "subscription", cons.sub, "consumer", cons.name, "id", tc.consumerID())
			if c.obs != nil {
				c.obs.OnConsumer(tc.event(ConsumerResubscribed, nil))
			}
		}

		opened := time.Now()
		n, err := tc.stream(ctx)
		if ctx.Err() != nil {
			return
		}
		if n > 0 || time.Since(opened) >= healthyStream {
			failures = 0
		}
		c.log.Debug("consumer stream ended", "topic", tc.topic, "subscription", cons.sub, "consumer", cons.name, "err", err)
		if c.obs != nil {
			c.obs.OnConsumer(tc.event(ConsumerStreamEnded, apiError("receive "+tc.topic, err)))
		}
		switch {
		case errors.Is(err, ErrClosed): // the client is closing, and closes this consumer
			<-ctx.Done()
			return
		case errors.Is(err, errResubscribe) || tc.takeResub():
			resub = true
		case status.Code(err) == codes.NotFound: // the broker does not know the consumer id (it restarted without it)
			resub = true
		case finalError(err):
			cons.fail(tc, apiError("receive "+tc.topic, err))
			return
		case failures >= c.opts.Retry.MaxRetries:
			resub = true // as the official clients do: the consumer may have moved
		}
		if xtime.Sleep(ctx, c.opts.Retry.Backoff(failures)) != nil {
			return
		}
		failures++
		if !resub {
			rt := c.relookup(ctx, tc.topic, tc.route())
			tc.mu.Lock()
			tc.rt = rt
			tc.mu.Unlock()
		}
	}
}

// takeResub reports and clears a health check's request to subscribe again.
func (tc *topicConsumer) takeResub() bool {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	r := tc.resub
	tc.resub = false
	return r
}

// finalError reports whether err is an answer that retrying cannot change: the client is not allowed, the
// topic is gone or invalid, or the broker cannot serve the request. A taken Exclusive subscription is not
// final: the holder may leave.
func finalError(err error) bool {
	if errors.Is(err, ErrSubscriptionTaken) {
		return false
	}
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied, codes.NotFound, codes.InvalidArgument,
		codes.FailedPrecondition, codes.Unimplemented:
		return true
	}
	return false
}

// stream opens one ReceiveMessages stream and delivers its messages until it ends; it returns how many
// messages it delivered and why it ended (io.EOF for a clean end).
func (tc *topicConsumer) stream(ctx context.Context) (int, error) {
	cons, c := tc.cons, tc.cons.c
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tc.mu.Lock()
	if tc.resub {
		tc.mu.Unlock()
		return 0, errResubscribe
	}
	tc.streamGen++
	tc.streamCancel = cancel
	rt, id := tc.rt, tc.id
	tc.mu.Unlock()
	defer func() {
		tc.mu.Lock()
		tc.streamCancel = nil
		tc.mu.Unlock()
	}()

	s, err := c.stubs(rt.connectURL)
	if err != nil {
		return 0, err
	}
	st, err := s.consumer.ReceiveMessages(callCtx(sctx, rt), &danubepb.ReceiveRequest{RequestId: nextRequestID(), ConsumerId: id})
	if err != nil {
		return 0, tc.streamErr(sctx, err)
	}
	n := 0
	for {
		w, err := st.Recv()
		if err != nil {
			return n, tc.streamErr(sctx, err)
		}
		m := fromWire(w, cons.sub, tc, time.Now())
		if c.obs != nil {
			c.obs.OnReceive(ReceiveEvent{Message: m, Consumer: cons.name})
		}
		// A message already received is delivered even if a health check ends the stream meanwhile.
		select {
		case cons.ch <- m:
			n++
		case <-ctx.Done():
			return n, ctx.Err()
		}
	}
}

// streamErr tells a stream ended by a health check's CLOSE from other ends.
func (tc *topicConsumer) streamErr(sctx context.Context, err error) error {
	if sctx.Err() != nil && tc.cons.ctx.Err() == nil {
		return errResubscribe
	}
	return err
}

// healthLoop checks the partition consumer's health every HealthInterval for the consumer's lifetime. A
// CLOSE answer ends the current stream and makes the receive loop subscribe again.
func (tc *topicConsumer) healthLoop() {
	ctx := tc.cons.ctx
	t := time.NewTicker(tc.cons.c.opts.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		tc.checkHealth(ctx)
	}
}

func (tc *topicConsumer) checkHealth(ctx context.Context) {
	c := tc.cons.c
	tc.mu.Lock()
	rt, id, gen := tc.rt, tc.id, tc.streamGen
	tc.mu.Unlock()
	if id == 0 {
		return
	}
	s, err := c.stubs(rt.connectURL)
	if err != nil {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, max(c.opts.HealthInterval, 2*time.Second))
	start := time.Now()
	resp, err := s.health.HealthCheck(callCtx(cctx, rt), &danubepb.HealthCheckRequest{
		RequestId: nextRequestID(), Client: danubepb.HealthCheckRequest_Consumer, Id: id,
	})
	rtt := time.Since(start)
	cancel()
	if ctx.Err() != nil {
		return
	}
	st := HealthOK
	switch {
	case err != nil:
		st = HealthError
		err = apiError("health check of "+tc.topic, err)
	case resp.GetStatus() == danubepb.HealthCheckResponse_CLOSE:
		st = HealthClose
	}
	if c.obs != nil {
		c.obs.OnHealth(HealthEvent{Consumer: true, Topic: tc.topic, Name: tc.cons.name, ID: id, Status: st, RTT: rtt, Err: err})
	}
	if st != HealthClose {
		return
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	// A stream opened or a subscription made since the check began may already have fixed what CLOSE saw.
	if tc.streamGen != gen || tc.id != id {
		return
	}
	c.log.Info("health check answered CLOSE; subscribing again", "topic", tc.topic, "subscription", tc.cons.sub, "consumer", tc.cons.name, "id", id)
	tc.resub = true
	if tc.streamCancel != nil {
		tc.streamCancel()
	}
}

// ack acknowledges m on the consumer's subscription.
func (tc *topicConsumer) ack(ctx context.Context, m *Message) error {
	return tc.settle(ctx, m, false, 0, "")
}

// nack asks for m to be delivered again after at least delay.
func (tc *topicConsumer) nack(ctx context.Context, m *Message, delay time.Duration, reason string) error {
	return tc.settle(ctx, m, true, delay, reason)
}

// settle sends an Ack or a Nack with the message's own msg_id and request_id and the consumer's own
// subscription name, retrying retryable failures (both are idempotent on the broker).
func (tc *topicConsumer) settle(ctx context.Context, m *Message, nack bool, delay time.Duration, reason string) error {
	c, sub := tc.cons.c, tc.cons.sub
	verb := "ack"
	if nack {
		verb = "nack"
	}
	if m.msgID == nil {
		return fmt.Errorf("%w: %s: the message has no message id", ErrInvalidConfig, verb)
	}
	start := time.Now()
	err := c.opts.Retry.retry(ctx, func(ctx context.Context) error {
		rt := tc.route()
		s, err := c.stubs(rt.connectURL)
		if err != nil {
			return err
		}
		if !nack {
			_, err = s.consumer.Ack(callCtx(ctx, rt), &danubepb.AckRequest{RequestId: m.RequestID, MsgId: m.msgID, SubscriptionName: sub})
			return err
		}
		ms := uint64(0)
		if delay > 0 {
			ms = uint64((delay + time.Millisecond - 1) / time.Millisecond)
		}
		req := &danubepb.NackRequest{RequestId: m.RequestID, MsgId: m.msgID, SubscriptionName: sub, DelayMs: &ms}
		if reason != "" {
			req.Reason = &reason
		}
		_, err = s.consumer.Nack(callCtx(ctx, rt), req)
		return err
	}, nil)
	if err != nil {
		err = apiError(fmt.Sprintf("%s %s offset %d", verb, tc.topic, m.ID.Offset), err)
	}
	if c.obs != nil {
		c.obs.OnAck(AckEvent{Topic: tc.topic, Subscription: sub, Offset: m.ID.Offset, Nack: nack, Latency: time.Since(start), Err: err})
	}
	return err
}
