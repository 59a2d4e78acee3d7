// Package bench is the engine of "danube-console bench": producers publish as fast as they can (or as their
// async window allows) while consumers on one shared subscription receive, and the run reports throughput
// and publish and end-to-end latencies. Latencies go into monitor's histograms, so that a run of any length
// takes the same memory; percentiles come from the histograms.
package bench

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/monitor"
)

// MinSize is the smallest payload: a payload carries its send time in its first 8 bytes, for the
// end-to-end latency.
const MinSize = 8

// DefaultDrain bounds how long consumers are given, after the last publish, to receive what was published,
// when Config.Drain is 0.
const DefaultDrain = 10 * time.Second

// Config is what a run does. Topic must be set; Producers at least 1, Size at least MinSize, and Window at
// least 1 with Async.
type Config struct {
	Topic string
	// Producers publish concurrently; Consumers (0: none) receive on one shared subscription "bench".
	Producers, Consumers int
	// Size is the payload size in bytes.
	Size int
	// Count is how many messages are published in all; 0 publishes for Duration instead.
	Count    int
	Duration time.Duration
	// Rate caps the publish rate of all producers together, in messages per second (0: as fast as they can).
	// A run whose consumers do not keep up tells what they delivered meanwhile (Report.DeliveredPerSecPublishing);
	// a run at a lower rate shows the latency of a flow they keep up with.
	Rate float64
	// Reliable uses a reliable topic.
	Reliable bool
	// Async sends with up to Window messages in flight per producer.
	Async  bool
	Window int
	// Partitions > 0 uses a partitioned topic.
	Partitions int
	// Drain bounds how long the consumers are given, once the producers stopped, to receive what was
	// published (0: DefaultDrain). A run whose consumers received everything ends at once.
	Drain time.Duration
	// AckWindow is each consumer's window of acks in flight on a reliable topic (0: the client's default).
	AckWindow int
	// ConsumerClient, when not nil,, is the client the consumers use instead of Run's: with a client (and
	// so a connection) of their own, their acks do not wait behind the producers' sends, as with consumers
	// in another process.
	ConsumerClient *client.Client `json:"-"`
}

// Report is what a run measured. Its JSON form is what "bench --json" prints.
type Report struct {
	Topic     string `json:"topic"`
	Reliable  bool   `json:"reliable"`
	Async     bool   `json:"async"`
	Producers int    `json:"producers"`
	Consumers int    `json:"consumers"`
	Size      int    `json:"size"`
	// RateLimit is Config.Rate (0: none).
	RateLimit float64 `json:"rate_limit,omitempty"`
	Published int64   `json:"published"`
	Failed    int64   `json:"failed"`
	// Received counts every message the consumers received, redeliveries included: the broker's
	// danube_consumer_messages_out_total of the subscription, less what was still on its way when the
	// consumers closed.
	Received int64 `json:"received"`
	// Delivered counts the distinct published messages the consumers received by the end of the run (a
	// redelivery of a reliable message counts once); Redelivered counts the receptions of a message received
	// before.
	Delivered   int64 `json:"delivered"`
	Redelivered int64 `json:"redelivered"`
	// DeliveredAtStop is Delivered when the producers stopped; LagAtStop and Lag are what was published and
	// not yet delivered then and at the end of the run; Drained says whether Lag reached 0 within Drain.
	DeliveredAtStop int64 `json:"delivered_at_stop"`
	LagAtStop       int64 `json:"lag_at_stop"`
	Lag             int64 `json:"lag"`
	Drained         bool  `json:"drained"`
	// DrainSeconds is how long the run waited for the consumers after the producers stopped.
	DrainSeconds float64 `json:"drain_seconds"`
	// Acked and AckFailed count the acknowledgements the broker answered, and those that failed (reliable).
	Acked     int64 `json:"acked"`
	AckFailed int64 `json:"ack_failed"`
	// Seconds is how long the producers published; MsgsPerSec and MBPerSec are the publish rate.
	Seconds    float64 `json:"seconds"`
	MsgsPerSec float64 `json:"msgs_per_sec"`
	MBPerSec   float64 `json:"mb_per_sec"`
	// DeliveredPerSec is the consumers' rate: Delivered over the time they had, Seconds plus DrainSeconds.
	DeliveredPerSec float64 `json:"delivered_per_sec"`
	// DeliveredPerSecPublishing is the consumers' rate while the producers published: DeliveredAtStop over
	// Seconds. When it is below the publish rate the lag grew during the whole run. It is what the consumers
	// managed under that load: with the producers slowed (Rate) they get more of the machine, and keep up
	// with more than this.
	DeliveredPerSecPublishing float64 `json:"delivered_per_sec_publishing"`
	Publish                   Latency `json:"publish_latency_us"`
	// EndToEnd is the time from a message's send to its first reception.
	EndToEnd Latency `json:"end_to_end_latency_us"`

	// FirstError is the first failed send, when Failed > 0.
	FirstError error `json:"-"`
	// FirstAckError is the first failed acknowledgement, when AckFailed > 0.
	FirstAckError error `json:"-"`
}

// Latency summarises latencies in microseconds.
type Latency struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50"`
	P95     float64 `json:"p95"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
}

func summarize(h *monitor.Histogram) Latency {
	if h.Count() == 0 {
		return Latency{}
	}
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	return Latency{Samples: int(h.Count()), P50: us(h.Quantile(0.50)), P95: us(h.Quantile(0.95)),
		P99: us(h.Quantile(0.99)), Max: us(h.Max())}
}

// Run runs a bench with c: it creates the producers (which create the topic), subscribes the consumers,
// publishes, gives the consumers up to Drain to receive what was published, waits for their acks, and
// reports. Sends that fail
// are counted in the report, not returned; the error is for a producer or consumer that cannot be created.
// Cancelling ctx ends the run early, with the report of what was done.
func Run(ctx context.Context, c *client.Client, cfg Config) (Report, error) {
	rep := Report{Topic: cfg.Topic, Reliable: cfg.Reliable, Async: cfg.Async, Producers: cfg.Producers,
		Consumers: cfg.Consumers, Size: cfg.Size, RateLimit: cfg.Rate}
	if cfg.Size < MinSize {
		return rep, fmt.Errorf("bench: a payload of %d bytes cannot carry its send time (%d bytes)", cfg.Size, MinSize)
	}
	if !(cfg.Rate >= 0) || math.IsInf(cfg.Rate, 0) {
		return rep, fmt.Errorf("bench: a publish rate of %g messages per second: want a finite number, not negative (0: no limit)", cfg.Rate)
	}
	// Create the topic (producers create it), then subscribe, then publish: new subscriptions start at the
	// latest message.
	producers, err := newProducers(ctx, c, cfg)
	defer closeAll(producers)
	if err != nil {
		return rep, err
	}
	cctx, stopConsumers := context.WithCancel(ctx)
	defer stopConsumers()
	cc := c
	if cfg.ConsumerClient != nil {
		cc = cfg.ConsumerClient
	}
	recv, err := startConsumers(cctx, ctx, cc, cfg)
	if err != nil {
		stopConsumers()
		recv.wait()
		return rep, err
	}
	pub := publish(ctx, producers, cfg)
	rep.Published = pub.published.Load()
	rep.DeliveredAtStop = recv.delivered.Load()
	var drain time.Duration
	if cfg.Consumers > 0 {
		start := time.Now()
		recv.catchUp(ctx, rep.Published, cmp.Or(cfg.Drain, DefaultDrain))
		drain = time.Since(start)
	}
	stopConsumers()
	e2e := recv.wait()

	rep.Failed, rep.Received = pub.failed.Load(), recv.received.Load()
	rep.Delivered, rep.Redelivered = recv.delivered.Load(), recv.received.Load()-recv.delivered.Load()
	rep.Acked, rep.AckFailed = recv.acked.Load(), recv.ackFailed.Load()
	if e := recv.firstAckErr.Load(); e != nil {
		rep.FirstAckError = *e
	}
	if cfg.Consumers > 0 {
		rep.LagAtStop = max(rep.Published-rep.DeliveredAtStop, 0)
		rep.Lag = max(rep.Published-rep.Delivered, 0)
		rep.Drained = rep.Lag == 0
		rep.DrainSeconds = drain.Seconds()
		rep.DeliveredPerSec = float64(rep.Delivered) / (pub.elapsed + drain).Seconds()
		rep.DeliveredPerSecPublishing = float64(rep.DeliveredAtStop) / pub.elapsed.Seconds()
	}
	rep.FirstError = pub.firstErr
	rep.Seconds = pub.elapsed.Seconds()
	rep.MsgsPerSec = float64(rep.Published) / rep.Seconds
	rep.MBPerSec = rep.MsgsPerSec * float64(cfg.Size) / 1e6
	rep.Publish = summarize(&pub.latency)
	rep.EndToEnd = summarize(e2e)
	return rep, nil
}

func newProducers(ctx context.Context, c *client.Client, cfg Config) ([]*client.Producer, error) {
	dispatch := client.NonReliable
	if cfg.Reliable {
		dispatch = client.Reliable
	}
	producers := make([]*client.Producer, 0, cfg.Producers)
	for i := range cfg.Producers {
		p, err := c.NewProducer(ctx, client.ProducerConfig{Topic: cfg.Topic, Name: fmt.Sprintf("bench-%d", i),
			Dispatch: dispatch, Partitions: cfg.Partitions, AsyncWindow: cfg.Window})
		if err != nil {
			return producers, err
		}
		producers = append(producers, p)
	}
	return producers, nil
}

func closeAll(producers []*client.Producer) {
	for _, p := range producers {
		p.Close(context.Background())
	}
}

// receivers are the consumers of a run.
type receivers struct {
	received, delivered atomic.Int64
	acked, ackFailed    atomic.Int64
	firstAckErr         atomic.Pointer[error] // the first failed acknowledgement
	wg                  sync.WaitGroup
	mu                  sync.Mutex
	e2e                 monitor.Histogram // merged from each consumer's when it ends
	seen                map[client.MessageID]struct{}
	progress            chan struct{} // signalled (without blocking) after each first delivery
	consumers           []*client.Consumer
}

// startConsumers subscribes cfg.Consumers consumers and receives until ctx ends; their acks run under
// ackCtx, so that those in flight when ctx ends are still answered (closing the consumers waits for them).
func startConsumers(ctx, ackCtx context.Context, c *client.Client, cfg Config) (*receivers, error) {
	r := &receivers{progress: make(chan struct{}, 1), seen: map[client.MessageID]struct{}{}}
	for i := range cfg.Consumers {
		cons, err := c.Subscribe(ctx, client.ConsumerConfig{Topic: cfg.Topic, Subscription: "bench",
			Name: fmt.Sprintf("bench-%d", i), Type: client.Shared, AckWindow: cfg.AckWindow})
		if err != nil {
			return r, err
		}
		r.consumers = append(r.consumers, cons)
		r.wg.Go(func() { r.receive(ctx, ackCtx, cons, cfg.Reliable) })
	}
	return r, nil
}

// first reports whether m is the first reception of its message. Only reliable messages are delivered
// again, and only they have offsets.
func (r *receivers) first(m *client.Message, reliable bool) bool {
	if !reliable {
		return true
	}
	id := client.MessageID{Topic: m.ID.Topic, Offset: m.ID.Offset}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.seen[id]; ok {
		return false
	}
	r.seen[id] = struct{}{}
	return true
}

// acknowledged counts an ack's answer.
func (r *receivers) acknowledged(err error) {
	if err != nil {
		r.ackFailed.Add(1)
		r.firstAckErr.CompareAndSwap(nil, &err)
		return
	}
	r.acked.Add(1)
}

func (r *receivers) receive(ctx, ackCtx context.Context, cons *client.Consumer, reliable bool) {
	var local monitor.Histogram
	defer func() {
		r.mu.Lock()
		r.e2e.Merge(&local)
		r.mu.Unlock()
	}()
	for {
		m, err := cons.Receive(ctx)
		if err != nil {
			return
		}
		r.received.Add(1)
		if r.first(m, reliable) {
			if len(m.Payload) >= MinSize {
				local.Add(time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(m.Payload)))))
			}
			r.delivered.Add(1)
			select {
			case r.progress <- struct{}{}:
			default:
			}
		}
		if reliable {
			if err := cons.AckAsync(ackCtx, m, r.acknowledged); err != nil {
				return // ctx ended, or the consumer closed
			}
		}
	}
}

// catchUp waits until the consumers delivered the published messages, for at most limit, or until ctx
// ends.
func (r *receivers) catchUp(ctx context.Context, published int64, limit time.Duration) {
	t := time.NewTimer(limit)
	defer t.Stop()
	for r.delivered.Load() < published {
		select {
		case <-r.progress:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// ackDrain bounds how long closing a consumer waits for its acks in flight.
const ackDrain = 10 * time.Second

// wait waits for the consumers to end (their context was cancelled), closes them (which waits for their
// acks in flight) and returns their end-to-end latencies.
func (r *receivers) wait() *monitor.Histogram {
	r.wg.Wait()
	for _, cons := range r.consumers {
		ctx, cancel := context.WithTimeout(context.Background(), ackDrain)
		cons.Close(ctx)
		cancel()
	}
	return &r.e2e
}

// publishing is what the producers of a run did.
type publishing struct {
	published, failed atomic.Int64
	quota             atomic.Int64 // messages left with Count
	elapsed           time.Duration

	mu       sync.Mutex
	latency  monitor.Histogram // merged from each producer's when it ends
	firstErr error
}

// fail counts a failed send; an interrupted one is not a failure.
func (p *publishing) fail(ctx context.Context, err error) {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return
	}
	p.mu.Lock()
	if p.firstErr == nil {
		p.firstErr = err
	}
	p.mu.Unlock()
	p.failed.Add(1)
}

// publish runs every producer until Count messages were sent or Duration passed, or ctx ends.
func publish(ctx context.Context, producers []*client.Producer, cfg Config) *publishing {
	pub := &publishing{}
	pub.quota.Store(int64(cfg.Count))
	deadline := time.Now().Add(cfg.Duration)
	more := func() bool {
		if cfg.Count > 0 {
			return pub.quota.Add(-1) >= 0
		}
		return time.Now().Before(deadline)
	}
	if cfg.Rate > 0 {
		// One pace for all producers; a burst of one send per producer lets each start at once.
		dl := deadline
		if cfg.Count > 0 {
			dl = time.Time{}
		}
		more = paced(ctx, more, cfg.Rate, len(producers), dl)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, p := range producers {
		wg.Go(func() { pub.run(ctx, p, cfg, more) })
	}
	wg.Wait()
	pub.elapsed = time.Since(start)
	return pub
}

// paced returns more with its true answers spaced out to at most r a second, after a burst of burst. The end
// of the run is checked before waiting for the next turn, and deadline (when not zero) again after it, so that
// the last waits do not lengthen the run; ctx ending answers false.
func paced(ctx context.Context, more func() bool, r float64, burst int, deadline time.Time) func() bool {
	lim := rate.NewLimiter(rate.Limit(r), burst)
	return func() bool {
		return more() && lim.Wait(ctx) == nil && (deadline.IsZero() || time.Now().Before(deadline))
	}
}

// run publishes with one producer while more says so.
func (pub *publishing) run(ctx context.Context, p *client.Producer, cfg Config, more func() bool) {
	var (
		lmu   sync.Mutex // guards local: async callbacks run on the producer's goroutines
		local monitor.Histogram
	)
	payload := func() []byte {
		b := make([]byte, cfg.Size)
		binary.BigEndian.PutUint64(b, uint64(time.Now().UnixNano()))
		return b
	}
	for more() && ctx.Err() == nil {
		sendStart := time.Now()
		if !cfg.Async {
			if _, err := p.Send(ctx, payload()); err != nil {
				pub.fail(ctx, err)
				continue
			}
			pub.published.Add(1)
			local.Add(time.Since(sendStart))
			continue
		}
		err := p.SendAsync(ctx, payload(), func(_ client.SendResult, err error) {
			if err != nil {
				pub.fail(ctx, err)
				return
			}
			pub.published.Add(1)
			lmu.Lock()
			local.Add(time.Since(sendStart))
			lmu.Unlock()
		})
		if err != nil {
			pub.fail(ctx, err)
		}
	}
	if cfg.Async {
		p.Flush(ctx)
	}
	lmu.Lock()
	pub.mu.Lock()
	pub.latency.Merge(&local)
	pub.mu.Unlock()
	lmu.Unlock()
}
