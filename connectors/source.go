package connectors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/xtime"
)

// errAbandoned settles the batches a source had in flight when its drain timed out.
var errAbandoned = errors.New("connectors: stopped before Danube acknowledged every record")

// sourceRun is one run of a source: it reads batches, publishes every record with SendAsync, re-sends
// records Danube refused with a retryable error, and settles the batches in the order they were read,
// each once all its records were acknowledged.
//
// Goroutines: the run's own (Connect, the read loop, the drain), the settler, the retrier and the health
// checker, all ended before run returns; the producers' completion goroutines call done.
type sourceRun struct {
	i   *instance
	r   *run
	src Source
	pol client.RetryPolicy

	// hard is this attempt's share of r.hard: abort cancels it when a drain after a fatal error takes too
	// long (r.hard itself outlives the attempt: the supervisor restarts under it).
	hard  context.Context
	abort context.CancelFunc

	readCtx  context.Context // cancelled by Stop (soft) or a fatal error in the settler
	stopRead context.CancelFunc
	fatalMu  sync.Mutex
	fatal    error // the first fatal error of the settler

	pmu       sync.Mutex
	producers map[string]*client.Producer

	slots   chan struct{}  // a place per record in flight (MaxInFlight)
	settleQ chan *srcBatch // batches in read order, for the settler
	retryQ  chan *pubJob   // records to send again; as many places as slots, so pushing never blocks
	quit    chan struct{}  // ends the retrier
	limiter *rate.Limiter
}

// srcBatch is a batch read from the source, waiting for its records.
type srcBatch struct {
	ack  AckFunc
	n    int
	read time.Time
	left atomic.Int64 // records not yet finished, +1 while the read loop is queueing them
	done chan struct{}
	mu   sync.Mutex
	err  error // the first failure of a record; one that is not InvalidData wins over InvalidData
}

func (b *srcBatch) finish(err error) {
	if err != nil {
		b.mu.Lock()
		if b.err == nil || KindOf(b.err) == KindInvalidData && KindOf(err) != KindInvalidData {
			b.err = err
		}
		b.mu.Unlock()
	}
	if b.left.Add(-1) == 0 {
		close(b.done)
	}
}

func (b *srcBatch) result() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// pubJob is one record on its way to Danube.
type pubJob struct {
	b       *srcBatch
	rec     *Record
	topic   string
	c       *topicCounters
	attempt int
	due     time.Time
}

func newSourceRun(i *instance, r *run, src Source) *sourceRun {
	n := i.rt.opts.MaxInFlight
	s := &sourceRun{i: i, r: r, src: src, pol: i.retryPolicy(), producers: map[string]*client.Producer{},
		slots: make(chan struct{}, n), settleQ: make(chan *srcBatch, n), retryQ: make(chan *pubJob, n), quit: make(chan struct{}),
		limiter: i.limiter(1)}
	s.hard, s.abort = context.WithCancel(r.hard)
	s.readCtx, s.stopRead = context.WithCancel(r.soft)
	return s
}

func (s *sourceRun) run() error {
	i, r := s.i, s.r
	defer s.abort()
	defer s.stopRead()
	defer s.closeSource()
	if err := i.connect(r.soft, s.src.Connect); err != nil {
		return err
	}
	if _, err := s.setupProducer(i.cfg.Topic); err != nil {
		return err
	}
	i.markRunning()

	aux, stopAux := context.WithCancel(s.hard)
	var wg sync.WaitGroup
	settled := make(chan struct{})
	go func() { defer close(settled); s.settler() }()
	wg.Go(s.retrier)
	if hc, ok := s.src.(HealthChecker); ok {
		wg.Go(func() { i.healthLoop(aux, hc) })
	}

	err := s.readLoop()
	if err != nil && !errors.Is(err, errCompleted) {
		// Failing: settle what Danube acknowledges within AckTimeout, abandon the rest.
		t := time.AfterFunc(i.rt.opts.AckTimeout, s.abort)
		defer t.Stop()
	}

	// Drain: every batch read is settled (Danube acknowledged its records, or the drain timed out and they
	// are settled with an error), then the helpers stop and the producers close.
	close(s.settleQ)
	<-settled
	close(s.quit)
	stopAux()
	wg.Wait()
	s.closeProducers()
	for {
		select {
		case j := <-s.retryQ:
			s.finish(j, errAbandoned)
			continue
		default:
		}
		break
	}
	if ferr := s.fatalErr(); ferr != nil {
		return ferr
	}
	return err
}

// readLoop reads and publishes batches until the source ends, Stop is called or a fatal error.
func (s *sourceRun) readLoop() error {
	i := s.i
	attempt := 0
	for {
		if s.readCtx.Err() != nil {
			return nil
		}
		var recs []Record
		var ack AckFunc
		err := i.call("Read", func() (err error) { recs, ack, err = s.src.Read(s.readCtx); return err })
		if len(recs) > 0 || ack != nil {
			s.publish(recs, ack)
		}
		if err == nil {
			attempt = 0
			continue
		}
		if errors.Is(err, ErrEndOfInput) {
			return errCompleted
		}
		if s.readCtx.Err() != nil {
			return nil
		}
		switch KindOf(err) {
		case KindInvalidData:
			i.m.main.fail(KindInvalidData, 1)
			i.noteErr(fmt.Errorf("read: %w", err))
			continue
		case KindFatal, KindConfig:
			return fmt.Errorf("read: %w", err)
		}
		i.noteErr(fmt.Errorf("read: %w", err))
		i.setDegraded(degradedDelivery, err)
		if xtime.Sleep(s.readCtx, s.pol.Backoff(attempt)) != nil {
			return nil
		}
		attempt++
		if errors.Is(err, ErrNotConnected) {
			if cerr := i.connect(s.readCtx, s.src.Connect); cerr != nil {
				if errors.Is(cerr, errStopped) {
					return nil
				}
				return cerr
			}
		}
	}
}

// publish queues a batch for settling and sends its records. It blocks while MaxInFlight records are in
// flight (backpressure) and, unless the run is stopping, while the rate limit says so.
func (s *sourceRun) publish(recs []Record, ack AckFunc) {
	i, hard := s.i, s.hard
	b := &srcBatch{ack: ack, n: len(recs), read: time.Now(), done: make(chan struct{})}
	b.left.Store(int64(len(recs)) + 1)
	select {
	case s.settleQ <- b:
	case <-hard.Done():
		s.callAck(b, errAbandoned)
		return
	}
	main := &i.m.main
	for k := range recs {
		rec := &recs[k]
		j := &pubJob{b: b, rec: rec, topic: i.cfg.Topic, c: main}
		if rec.Topic != "" && rec.Topic != i.cfg.Topic {
			j.topic, j.c = rec.Topic, i.m.counters(rec.Topic)
		}
		j.c.received.Add(1)
		if s.limiter != nil && s.readCtx.Err() == nil {
			_ = s.limiter.Wait(s.readCtx) // cancelled by Stop: the rest of the batch goes out unthrottled
		}
		select {
		case s.slots <- struct{}{}:
		case <-hard.Done():
			b.finish(errAbandoned)
			continue
		}
		i.m.inflight.Add(1)
		s.send(j)
	}
	b.finish(nil)
}

// send hands a record to its producer; the outcome arrives in done.
func (s *sourceRun) send(j *pubJob) {
	p, err := s.producer(j.topic)
	if err != nil {
		s.done(j, err)
		return
	}
	var opts []client.SendOption
	if j.rec.HasKey {
		opts = append(opts, client.WithKey(j.rec.Key))
	}
	if len(j.rec.Attributes) > 0 {
		opts = append(opts, client.WithAttributes(j.rec.Attributes))
	}
	if err := p.SendAsync(s.hard, j.rec.Payload, func(_ client.SendResult, err error) { s.done(j, err) }, opts...); err != nil {
		s.done(j, err)
	}
}

// done handles the outcome of a send, on a producer's completion goroutine (or the sender's): success and
// InvalidData finish the record; a retryable failure queues it for the retrier, unless the run is being
// abandoned.
func (s *sourceRun) done(j *pubJob, err error) {
	i := s.i
	if err == nil {
		j.c.processed.Add(1)
		i.setDegraded(degradedDelivery, nil)
		s.finish(j, nil)
		return
	}
	if classifySend(err) == KindInvalidData || KindOf(err) == KindInvalidData {
		j.c.fail(KindInvalidData, 1)
		err = InvalidData(fmt.Errorf("publish to %s: %w", j.topic, err))
		i.noteErr(err)
		s.finish(j, err)
		return
	}
	if s.hard.Err() != nil {
		s.finish(j, errAbandoned)
		return
	}
	j.c.retried.Add(1)
	i.noteErr(fmt.Errorf("publish to %s (will retry): %w", j.topic, err))
	i.setDegraded(degradedDelivery, err)
	j.due = time.Now().Add(s.pol.Backoff(j.attempt))
	j.attempt++
	s.retryQ <- j // never blocks: j holds one of the slots, and retryQ has a place per slot
}

// finish releases a record's place and counts it in its batch.
func (s *sourceRun) finish(j *pubJob, err error) {
	s.i.m.inflight.Add(-1)
	<-s.slots
	j.b.finish(err)
}

// retrier sends queued records again once their backoff passed, until quit.
func (s *sourceRun) retrier() {
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		var j *pubJob
		select {
		case j = <-s.retryQ:
		case <-s.quit:
			return
		}
		if d := time.Until(j.due); d > 0 {
			t.Reset(d)
			select {
			case <-t.C:
			case <-s.quit:
				t.Stop()
				s.finish(j, errAbandoned)
				return
			}
		}
		s.send(j)
	}
}

// settler settles the batches in the order they were read, each once its records finished, or at once
// with errAbandoned when the drain timed out. It ends when the read loop closed settleQ and everything in
// it is settled.
func (s *sourceRun) settler() {
	for b := range s.settleQ {
		var err error
		select {
		case <-b.done:
			err = b.result()
		case <-s.hard.Done():
			err = errAbandoned
		}
		if b.n > 0 {
			s.i.m.observeBatch(b.n, time.Since(b.read))
		}
		s.callAck(b, err)
	}
}

// callAck settles a batch with its AckFunc. A Fatal or Config error from it (or a panic) ends the run.
func (s *sourceRun) callAck(b *srcBatch, err error) {
	if b.ack == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.hard), s.i.rt.opts.AckTimeout)
	defer cancel()
	aerr := s.i.call("ack", func() error { return b.ack(ctx, err) })
	if aerr == nil {
		return
	}
	aerr = fmt.Errorf("ack: %w", aerr)
	if k := KindOf(aerr); k == KindFatal || k == KindConfig {
		s.fatalMu.Lock()
		if s.fatal == nil {
			s.fatal = aerr
		}
		s.fatalMu.Unlock()
		s.stopRead()
		return
	}
	s.i.noteErr(aerr)
}

func (s *sourceRun) fatalErr() error {
	s.fatalMu.Lock()
	defer s.fatalMu.Unlock()
	return s.fatal
}

// setupProducer creates the producer of the configured topic before the first read, retrying transient
// failures while the run is not stopped; a producer Danube refuses for good (wrong topic, dispatch
// strategy that differs from the topic's) is a Config error.
func (s *sourceRun) setupProducer(topic string) (*client.Producer, error) {
	for attempt := 0; ; attempt++ {
		p, err := s.producer(topic)
		if err == nil {
			return p, nil
		}
		if s.r.soft.Err() != nil {
			return nil, errStopped
		}
		if classifySetup(err) == KindConfig {
			return nil, ConfigError(err)
		}
		s.i.noteErr(err)
		s.i.setDegraded(degradedDelivery, err)
		if xtime.Sleep(s.r.soft, s.pol.Backoff(attempt)) != nil {
			return nil, errStopped
		}
	}
}

// producer returns the producer of topic, creating it (reliable and partitioned as configured).
func (s *sourceRun) producer(topic string) (*client.Producer, error) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if p := s.producers[topic]; p != nil {
		return p, nil
	}
	cfg := client.ProducerConfig{Topic: topic, Name: s.i.cfg.Name, Partitions: s.i.cfg.Partitions, AsyncWindow: cap(s.slots)}
	if s.i.cfg.Ordered {
		cfg.AsyncWindow = 1 // the next send waits for the previous one: the broker sees them in order
	}
	if s.i.cfg.Reliable {
		cfg.Dispatch = client.Reliable
	}
	ctx, cancel := context.WithTimeout(s.hard, time.Minute)
	defer cancel()
	p, err := s.i.rt.c.NewProducer(ctx, cfg)
	if err != nil {
		err = fmt.Errorf("producer for %s: %w", topic, err)
		if classifySetup(err) == KindConfig && topic != s.i.cfg.Topic {
			return nil, InvalidData(err) // a record routed to a topic that cannot take it
		}
		return nil, err
	}
	s.producers[topic] = p
	return p, nil
}

// closeProducers closes the producers; with the drain timed out, what they still hold is abandoned at once.
func (s *sourceRun) closeProducers() {
	s.pmu.Lock()
	ps := s.producers
	s.producers = map[string]*client.Producer{}
	s.pmu.Unlock()
	ctx, cancel := context.WithTimeout(s.hard, s.i.rt.opts.AckTimeout)
	defer cancel()
	for _, p := range ps {
		if err := p.Close(ctx); err != nil && s.hard.Err() == nil {
			s.i.noteErr(fmt.Errorf("closing the producer of %s: %w", p.Topic(), err))
		}
	}
}

// closeSource calls the source's Close.
func (s *sourceRun) closeSource() {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.hard), s.i.rt.opts.AckTimeout)
	defer cancel()
	if err := s.i.call("Close", func() error { return s.src.Close(ctx) }); err != nil {
		s.i.noteErr(fmt.Errorf("close: %w", err))
	}
}
