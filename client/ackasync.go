package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultAckWindow is how many AckAsync and NackAsync calls a consumer keeps in flight at once when
// ConsumerConfig.AckWindow is 0.
const DefaultAckWindow = 128

// MaxAckWindow is the largest ConsumerConfig.AckWindow: each ack in flight holds a goroutine.
const MaxAckWindow = 4096

// ackPipe runs a consumer's asynchronous acks and nacks: each accepted one holds a place of slots and runs on
// a goroutine of its own until the broker answered (or its retries ran out); n counts them and idle is
// closed while there are none, so that FlushAcks and Close can wait for them. The pipe owns those
// goroutines: Close waits until they have all ended.
type ackPipe struct {
	// ctx is the acks' lifetime, a child of the client's: cancelled when Close gives up waiting for them.
	ctx    context.Context
	cancel context.CancelFunc
	slots  chan struct{}
	// closing is closed when Close begins: no ack is accepted any more, and those waiting for a place fail.
	closing chan struct{}

	mu     sync.Mutex
	closed bool
	n      int
	idle   chan struct{} // closed while n == 0; replaced when an ack starts after an idle time
}

func newAckPipe(parent context.Context, window int) *ackPipe {
	idle := make(chan struct{})
	close(idle)
	ctx, cancel := context.WithCancel(parent)
	return &ackPipe{ctx: ctx, cancel: cancel, slots: make(chan struct{}, window), closing: make(chan struct{}), idle: idle}
}

// AckAsync acknowledges m like Ack, without waiting for the broker's answer: it returns once the ack is
// accepted, and done, when not nil, is called exactly once with the ack's outcome (nil once the broker
// answered, otherwise the error Ack would have returned). Until done is called with nil the message is not
// acknowledged: after a reconnection, or when the ack fails, the broker may deliver it again (at least once).
// The protocol still carries one Ack call per message; the consumer keeps up to ConsumerConfig.AckWindow of
// them in flight, on the consumer's subscription, through the partition the message came from.
//
// AckAsync blocks while the window is full, until an ack completes, ctx is done (ctx's error), or the
// consumer closes (ErrClosed). When it returns an error, the ack was not accepted and done is not called: m
// not received by this consumer is ErrInvalidConfig, as for Ack; after Close it is ErrClosed (settle messages
// taken before Close with Ack). ctx bounds both the wait for a place and the ack, with its retries.
//
// done runs on a goroutine of the consumer, concurrently with other acks' done, after the ack's window
// place was released; it may call AckAsync and NackAsync, but not FlushAcks or Close (which wait for it).
// Acks in flight complete in any order.
func (cons *Consumer) AckAsync(ctx context.Context, m *Message, done func(error)) error {
	return cons.settleAsync(ctx, m, false, 0, "", done)
}

// NackAsync asks the broker to deliver m again after at least delay, like Nack, without waiting for the
// answer; it shares AckAsync's window and follows its rules (done called exactly once when it returns nil).
func (cons *Consumer) NackAsync(ctx context.Context, m *Message, delay time.Duration, reason string, done func(error)) error {
	return cons.settleAsync(ctx, m, true, delay, reason, done)
}

// FlushAcks waits until every AckAsync and NackAsync accepted before the call has completed and its done
// returned, or until ctx is done (its error is returned). Acks accepted while it waits may be waited for too.
func (cons *Consumer) FlushAcks(ctx context.Context) error {
	p := cons.acks
	p.mu.Lock()
	idle := p.idle
	p.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// AcksInFlight returns how many AckAsync and NackAsync calls hold a place of the window (sent, or being sent,
// and not answered yet); never more than the consumer's AckWindow. Acks answered whose done is still running
// are not counted; FlushAcks waits for them too.
func (cons *Consumer) AcksInFlight() int {
	return len(cons.acks.slots)
}

func (cons *Consumer) settleAsync(ctx context.Context, m *Message, nack bool, delay time.Duration, reason string, done func(error)) error {
	tc, err := cons.owner(m)
	if err != nil {
		return err
	}
	if m.msgID == nil {
		return fmt.Errorf("%w: the message has no message id", ErrInvalidConfig)
	}
	p := cons.acks
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-p.closing:
		return fmt.Errorf("settle %s offset %d asynchronously: %w (settle it with Ack or Nack)", m.ID.Topic, m.ID.Offset, ErrClosed)
	default:
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.closing:
		return fmt.Errorf("settle %s offset %d asynchronously: %w (settle it with Ack or Nack)", m.ID.Topic, m.ID.Offset, ErrClosed)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.slots
		return fmt.Errorf("settle %s offset %d asynchronously: %w (settle it with Ack or Nack)", m.ID.Topic, m.ID.Offset, ErrClosed)
	}
	if p.n == 0 {
		p.idle = make(chan struct{})
	}
	p.n++
	p.mu.Unlock()
	go p.run(ctx, tc, m, nack, delay, reason, done)
	return nil
}

// run sends one accepted ack or nack, releases its place, calls done and counts it as complete.
func (p *ackPipe) run(ctx context.Context, tc *topicConsumer, m *Message, nack bool, delay time.Duration, reason string, done func(error)) {
	var err error
	if ctx.Done() == nil {
		// No deadline or cancellation of its own: the pipe's lifetime bounds the ack.
		err = tc.settle(p.ctx, m, nack, delay, reason)
	} else {
		actx, cancel := context.WithCancel(ctx)
		stop := context.AfterFunc(p.ctx, cancel)
		err = tc.settle(actx, m, nack, delay, reason)
		stop()
		cancel()
	}
	if err != nil && p.ctx.Err() != nil && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("%w: the consumer closed before the broker answered: %w", ErrClosed, err)
	}
	// The place is released before done runs, so that done can start another ack even when the window is
	// full (with a window of 1 it would otherwise wait for its own place); n still counts the ack until done
	// returned, for FlushAcks and Close.
	<-p.slots
	if done != nil {
		done(err)
	}
	p.mu.Lock()
	p.n--
	if p.n == 0 {
		close(p.idle)
	}
	p.mu.Unlock()
}

// drain refuses new acks and waits until those in flight completed, or until ctx is done: then it cancels
// them, waits for their goroutines to end (promptly: they fail with ErrClosed) and returns ctx's error.
func (p *ackPipe) drain(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.closing)
	}
	idle := p.idle
	p.mu.Unlock()
	select {
	case <-idle:
		p.cancel()
		return nil
	case <-ctx.Done():
	}
	p.cancel()
	<-idle
	return ctx.Err()
}
