package connectors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/xtime"
)

// sinkRun is one run of a sink: a consumer on the instance's subscription, batches of its messages given
// to Write, and acks (or nacks) sent in flight (the consumer's AckAsync, up to Options.AckWorkers at once)
// once a write succeeded (or failed for good).
//
// Backpressure: the consumer's channel is bounded (the client's receive buffer) and the broker sends a
// reliable subscription no more than its dispatch window of unacknowledged messages; nothing is read from
// the channel while a batch is written or retried, so a slow sink slows its consumption and memory stays
// bounded.
//
// Goroutines: the run's own (Connect, the consume loop, the drain), the consumer's acks in flight (drained
// by its Close) and the health checker, all ended before run returns.
type sinkRun struct {
	i   *instance
	r   *run
	snk Sink
	pol client.RetryPolicy

	// hard is this attempt's share of r.hard (see sourceRun).
	hard  context.Context
	abort context.CancelFunc

	cons    *client.Consumer
	limiter *rate.Limiter
}

func newSinkRun(i *instance, r *run, snk Sink) *sinkRun {
	k := &sinkRun{i: i, r: r, snk: snk, pol: i.retryPolicy(),
		limiter: i.limiter(i.cfg.Batch.MaxMessages)}
	k.hard, k.abort = context.WithCancel(r.hard)
	return k
}

func (k *sinkRun) run() error {
	i, r := k.i, k.r
	defer k.abort()
	defer k.closeSink()
	if err := i.connect(r.soft, k.snk.Connect); err != nil {
		return err
	}
	cons, err := k.subscribe()
	if err != nil {
		return err
	}
	k.cons = cons
	i.markRunning()

	aux, stopAux := context.WithCancel(k.hard)
	var helpers sync.WaitGroup
	if hc, ok := k.snk.(HealthChecker); ok {
		helpers.Go(func() { i.healthLoop(aux, hc) })
	}

	err = k.consume()

	stopAux()
	helpers.Wait()
	// Drain: Close waits for the acks in flight of what was written before the streams end (the broker would
	// otherwise deliver those messages again), for at most AckTimeout.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(k.hard), i.rt.opts.AckTimeout)
	defer cancel()
	if cerr := cons.Close(ctx); cerr != nil {
		i.noteErr(fmt.Errorf("closing the consumer: %w", cerr))
	}
	return err
}

// topicWaitBackoff caps the wait between looks for a topic that does not exist yet, so that a sink
// subscribes soon after a producer created it.
const topicWaitBackoff = time.Second

// subscribe creates the consumer, retrying transient failures (such as a topic that does not exist yet,
// unless create_topic creates it) while the run is not stopped; a subscription Danube refuses for good is a
// Config error.
func (k *sinkRun) subscribe() (*client.Consumer, error) {
	cfg := k.i.cfg
	created := false
	for attempt := 0; ; attempt++ {
		cons, err := k.i.rt.c.Subscribe(k.r.soft, client.ConsumerConfig{Topic: cfg.Topic, Subscription: cfg.Subscription,
			Name: cfg.Name, Type: cfg.SubscriptionType, AckWindow: k.i.rt.opts.AckWorkers})
		if err == nil {
			return cons, nil
		}
		if k.r.soft.Err() != nil {
			return nil, errStopped
		}
		missing := errors.Is(err, client.ErrTopicNotFound)
		if missing && cfg.CreateTopic != "" && !created {
			cerr := k.createTopic()
			switch {
			case cerr == nil:
				created = true
				continue
			case classifySetup(cerr) == KindConfig:
				return nil, ConfigError(fmt.Errorf("create_topic: %w", cerr))
			}
			err = fmt.Errorf("creating the missing topic (create_topic): %w", cerr) // say why it is still missing
		}
		err = fmt.Errorf("subscribe: %w", err)
		if classifySetup(err) == KindConfig {
			return nil, ConfigError(err)
		}
		k.i.noteErr(err)
		k.i.setDegraded(degradedDelivery, err)
		wait := k.pol.Backoff(attempt)
		if missing {
			wait = min(wait, topicWaitBackoff)
		}
		if xtime.Sleep(k.r.soft, wait) != nil {
			return nil, errStopped
		}
	}
}

// createTopic creates the sink's topic with the strategy of create_topic, by opening and closing a
// producer (a topic that exists meanwhile is fine when its strategy matches).
func (k *sinkRun) createTopic() error {
	cfg := k.i.cfg
	dispatch := client.NonReliable
	if cfg.CreateTopic == CreateReliable {
		dispatch = client.Reliable
	}
	ctx, cancel := context.WithTimeout(k.r.soft, k.i.rt.opts.AckTimeout)
	defer cancel()
	p, err := k.i.rt.c.NewProducer(ctx, client.ProducerConfig{Topic: cfg.Topic, Name: cfg.Name + "-create-topic", Dispatch: dispatch})
	if err != nil {
		return err
	}
	return p.Close(context.WithoutCancel(ctx))
}

// consume batches the consumer's messages and writes them until Stop (after writing the pending batch), a
// fatal error, or the end of the consumer.
func (k *sinkRun) consume() error {
	i, soft := k.i, k.r.soft
	bc := i.cfg.Batch
	msgs := k.cons.Messages()
	batch := make([]*client.Message, 0, bc.MaxMessages)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return k.consumerEnded()
			}
			batch = append(batch, m)
		case <-soft.Done():
			return nil
		}
		deadline := time.Now().Add(bc.MaxWait)
		ended := false
	collect:
		for len(batch) < bc.MaxMessages {
			select {
			case m, ok := <-msgs:
				if !ok {
					ended = true
					break collect
				}
				batch = append(batch, m)
				continue
			default:
			}
			wait := time.Until(deadline)
			if bc.MaxIdle > 0 && bc.MaxIdle < wait {
				wait = bc.MaxIdle
			}
			if wait <= 0 {
				break
			}
			timer.Reset(wait)
			select {
			case m, ok := <-msgs:
				timer.Stop()
				if !ok {
					ended = true
					break collect
				}
				batch = append(batch, m)
			case <-timer.C:
				break collect
			case <-soft.Done():
				timer.Stop()
				break collect
			}
		}
		n := len(batch)
		i.m.main.received.Add(uint64(n))
		i.m.inflight.Add(int64(n))
		if err := k.flush(batch); err != nil {
			return err
		}
		clear(batch)
		batch = batch[:0]
		if ended {
			return k.consumerEnded()
		}
		if soft.Err() != nil {
			return nil
		}
	}
}

// consumerEnded is the error of a consumer whose channel closed: it failed for good, or the client closed.
func (k *sinkRun) consumerEnded() error {
	err := k.cons.Err()
	if err == nil {
		err = client.ErrClosed
	}
	return Fatal(fmt.Errorf("the consumer ended: %w", err))
}

// flush writes a batch: what succeeds is acked; per-message InvalidData is nacked at once with its reason;
// Retryable failures are written again with backoff up to max_retries, then nacked with nack_delay; a Fatal
// or Config error ends the run, leaving the messages not written unacknowledged (the broker delivers them
// again). It returns only that error.
func (k *sinkRun) flush(batch []*client.Message) error {
	i, cfg := k.i, k.i.cfg
	main := &i.m.main
	pending := batch
	for attempt := 0; ; attempt++ {
		if k.limiter != nil && k.r.soft.Err() == nil {
			_ = k.limiter.WaitN(k.r.soft, len(pending)) // cancelled by Stop: the drain goes unthrottled
		}
		start := time.Now()
		err := i.call("Write", func() error { return k.snk.Write(k.hard, pending) })
		i.m.observeBatch(len(pending), time.Since(start))
		if err == nil {
			main.processed.Add(uint64(len(pending)))
			for _, m := range pending {
				k.ack(m)
			}
			i.setDegraded(degradedDelivery, nil)
			return nil
		}
		if k.hard.Err() != nil {
			return nil // the drain timed out: leave the rest to be delivered again
		}
		var retry []*client.Message
		var fatal error
		var be *BatchError
		if errors.As(err, &be) && len(be.Failed) > 0 {
			ok := 0
			for idx, m := range pending {
				ferr, failed := be.Failed[idx]
				if !failed {
					k.ack(m)
					ok++
					continue
				}
				if ferr == nil {
					ferr = err
				}
				switch kind := KindOf(ferr); kind {
				case KindInvalidData:
					main.fail(kind, 1)
					k.nack(m, 0, ferr)
				case KindFatal, KindConfig:
					main.fail(kind, 1)
					if fatal == nil {
						fatal = ferr
					}
				default:
					retry = append(retry, m)
				}
			}
			main.processed.Add(uint64(ok))
		} else {
			switch kind := KindOf(err); kind {
			case KindInvalidData:
				main.fail(kind, len(pending))
				i.noteErr(fmt.Errorf("write: %w", err))
				for _, m := range pending {
					k.nack(m, 0, err)
				}
				return nil
			case KindFatal, KindConfig:
				main.fail(kind, len(pending))
				return fmt.Errorf("write: %w", err)
			default:
				retry = pending
			}
		}
		if fatal != nil {
			return fmt.Errorf("write: %w", fatal)
		}
		i.noteErr(fmt.Errorf("write: %w", err))
		if len(retry) == 0 {
			return nil
		}
		if attempt >= cfg.Retry.MaxRetries {
			main.fail(KindRetryable, len(retry))
			for _, m := range retry {
				k.nack(m, cfg.Retry.NackDelay, fmt.Errorf("retries exhausted: %w", err))
			}
			return nil
		}
		main.retried.Add(uint64(len(retry)))
		i.setDegraded(degradedDelivery, err)
		if xtime.Sleep(k.hard, k.pol.Backoff(attempt)) != nil {
			return nil
		}
		if errors.Is(err, ErrNotConnected) {
			if cerr := i.connect(k.hard, k.snk.Connect); cerr != nil {
				if errors.Is(cerr, errStopped) {
					return nil
				}
				return cerr
			}
		}
		pending = retry
	}
}

func (k *sinkRun) ack(m *client.Message) { k.settle(m, false, 0, "") }

func (k *sinkRun) nack(m *client.Message, delay time.Duration, reason error) {
	k.settle(m, true, delay, errText(reason))
}

// settle sends an ack or a nack in flight, each bounded by AckTimeout; it blocks while the consumer's ack
// window is full. A failure is noted, unless the run is being aborted.
func (k *sinkRun) settle(m *client.Message, nack bool, delay time.Duration, reason string) {
	i := k.i
	ctx, cancel := context.WithTimeout(k.hard, i.rt.opts.AckTimeout)
	done := func(err error) {
		cancel()
		i.m.inflight.Add(-1)
		if err != nil && k.hard.Err() == nil {
			i.noteErr(fmt.Errorf("ack: %w", err))
		}
	}
	var err error
	if nack {
		err = k.cons.NackAsync(ctx, m, delay, reason, done)
	} else {
		err = k.cons.AckAsync(ctx, m, done)
	}
	if err != nil {
		done(err)
	}
}

// closeSink calls the sink's Close.
func (k *sinkRun) closeSink() {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(k.hard), k.i.rt.opts.AckTimeout)
	defer cancel()
	if err := k.i.call("Close", func() error { return k.snk.Close(ctx) }); err != nil {
		k.i.noteErr(fmt.Errorf("close: %w", err))
	}
}
