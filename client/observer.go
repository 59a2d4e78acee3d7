package client

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Observer sees what the client does. Connect delivers its events through an AsyncObserver (a queue of
// clientObserverQueue events, owned and closed by the Client), so a slow observer never slows the client: when
// the queue is full, events are dropped. An observer that implements InlineObserver is called directly from
// the goroutine that did the work instead. Embed NopObserver to implement only some methods. Events are
// values the observer may keep.
type Observer interface {
	// OnLookup is called after each topic lookup.
	OnLookup(LookupEvent)
	// OnProducer is called when a producer is created, re-created, closed or fails.
	OnProducer(ProducerEvent)
	// OnSend is called after each message send completes, successfully or not.
	OnSend(SendEvent)
	// OnConsumer is called when a consumer subscribes, re-subscribes, loses its stream, is closed or fails.
	OnConsumer(ConsumerEvent)
	// OnReceive is called for each message a consumer receives, before it is handed to the application.
	OnReceive(ReceiveEvent)
	// OnAck is called after each ack or nack completes.
	OnAck(AckEvent)
	// OnHealth is called after each health check of a producer or consumer.
	OnHealth(HealthEvent)
	// OnConnState is called when a connection to a broker changes state.
	OnConnState(ConnStateEvent)
}

// InlineObserver is an Observer whose methods never block and return quickly (they only count, or hand the
// event to a queue of their own without waiting). Connect calls such an observer directly, on the data path,
// instead of through a queue. Inline does nothing: it only declares the promise.
type InlineObserver interface {
	Observer
	// Inline declares that the observer's methods never block.
	Inline()
}

// clientObserverQueue is the capacity of the queue through which a Client delivers events to an observer
// that is not an InlineObserver.
const clientObserverQueue = 8192

// NopObserver implements Observer with methods that do nothing. It is an InlineObserver.
type NopObserver struct{}

// OnLookup does nothing.
func (NopObserver) OnLookup(LookupEvent) {}

// OnProducer does nothing.
func (NopObserver) OnProducer(ProducerEvent) {}

// OnSend does nothing.
func (NopObserver) OnSend(SendEvent) {}

// OnConsumer does nothing.
func (NopObserver) OnConsumer(ConsumerEvent) {}

// OnReceive does nothing.
func (NopObserver) OnReceive(ReceiveEvent) {}

// OnAck does nothing.
func (NopObserver) OnAck(AckEvent) {}

// OnHealth does nothing.
func (NopObserver) OnHealth(HealthEvent) {}

// OnConnState does nothing.
func (NopObserver) OnConnState(ConnStateEvent) {}

// Inline declares that NopObserver never blocks.
func (NopObserver) Inline() {}

// LookupEvent describes a topic lookup.
type LookupEvent struct {
	Topic   string        // the topic looked up
	Result  LookupResult  // the answer (zero but for Latency when Err is set)
	Latency time.Duration // how long the lookup took
	Err     error         // why the lookup failed, or nil
}

// ProducerEventKind says what happened to a producer.
type ProducerEventKind int

// Producer event kinds.
const (
	ProducerCreated ProducerEventKind = iota
	ProducerRecreated
	ProducerClosed
	ProducerFailed
)

var producerEventKinds = [...]string{"created", "recreated", "closed", "failed"}

// String returns "created", "recreated", "closed", "failed" or "ProducerEventKind(n)".
func (k ProducerEventKind) String() string {
	if k >= 0 && int(k) < len(producerEventKinds) {
		return producerEventKinds[k]
	}
	return fmt.Sprintf("ProducerEventKind(%d)", int(k))
}

// ProducerEvent describes a producer's lifecycle; Topic is the partition for partitioned topics.
type ProducerEvent struct {
	Kind  ProducerEventKind // what happened
	Topic string            // the topic or partition
	Name  string            // the producer's name on it
	ID    uint64            // the broker's producer id (0 when unknown)
	Err   error             // why it failed (ProducerFailed), or nil
}

// SendEvent describes one completed send.
type SendEvent struct {
	Topic    string        // the partition the message went to
	Producer string        // the partition producer's name
	Bytes    int           // payload size
	Latency  time.Duration // how long the send took, retries included
	Async    bool          // sent by SendAsync
	Err      error         // why the send failed, or nil
}

// ConsumerEventKind says what happened to a consumer.
type ConsumerEventKind int

// Consumer event kinds.
const (
	ConsumerSubscribed ConsumerEventKind = iota
	ConsumerResubscribed
	ConsumerStreamEnded
	ConsumerClosed
	ConsumerFailed
)

var consumerEventKinds = [...]string{"subscribed", "resubscribed", "stream-ended", "closed", "failed"}

// String returns "subscribed", "resubscribed", "stream-ended", "closed", "failed" or "ConsumerEventKind(n)".
func (k ConsumerEventKind) String() string {
	if k >= 0 && int(k) < len(consumerEventKinds) {
		return consumerEventKinds[k]
	}
	return fmt.Sprintf("ConsumerEventKind(%d)", int(k))
}

// ConsumerEvent describes a consumer's lifecycle; Topic is the partition for partitioned topics.
type ConsumerEvent struct {
	Kind         ConsumerEventKind // what happened
	Topic        string            // the topic or partition
	Subscription string            // the subscription's name
	Name         string            // the consumer's name
	Type         SubscriptionType  // the subscription's type
	ID           uint64            // the broker's consumer id
	Err          error             // why the stream ended or the consumer failed, or nil
}

// ReceiveEvent describes a received message. Message is shared with the application: read it, never change it.
type ReceiveEvent struct {
	Message  *Message // the message, as the application gets it
	Consumer string   // the name of the consumer that received it
}

// AckEvent describes a completed ack or nack.
type AckEvent struct {
	Topic        string        // the partition the message came from
	Subscription string        // the subscription settled
	Offset       uint64        // the message's offset (0 on non-reliable topics)
	Nack         bool          // a nack, not an ack
	Latency      time.Duration // how long the call took, retries included
	Err          error         // why it failed, or nil
}

// HealthStatus is the result of a health check.
type HealthStatus int

// Health statuses.
const (
	HealthOK HealthStatus = iota
	HealthClose
	HealthError
)

var healthStatuses = [...]string{"OK", "CLOSE", "error"}

// String returns "OK", "CLOSE", "error" or "HealthStatus(n)".
func (s HealthStatus) String() string {
	if s >= 0 && int(s) < len(healthStatuses) {
		return healthStatuses[s]
	}
	return fmt.Sprintf("HealthStatus(%d)", int(s))
}

// HealthEvent describes one health check of a producer (Consumer false) or consumer.
type HealthEvent struct {
	Consumer bool          // a consumer's check, not a producer's
	Topic    string        // the topic or partition
	Name     string        // the producer's or consumer's name
	ID       uint64        // its broker id
	Status   HealthStatus  // the answer
	RTT      time.Duration // how long the check took
	Err      error         // why the check failed (HealthError), or nil
}

// ConnState is the state of a connection to a broker.
type ConnState int

// Connection states (those of gRPC).
const (
	ConnIdle ConnState = iota
	ConnConnecting
	ConnReady
	ConnTransientFailure
	ConnShutdown
)

var connStates = [...]string{"idle", "connecting", "ready", "transient-failure", "shutdown"}

// String returns "idle", "connecting", "ready", "transient-failure", "shutdown" or "ConnState(n)".
func (s ConnState) String() string {
	if s >= 0 && int(s) < len(connStates) {
		return connStates[s]
	}
	return fmt.Sprintf("ConnState(%d)", int(s))
}

// ConnStateEvent describes a connection's new state.
type ConnStateEvent struct {
	Addr  string    // the broker's dial address, host:port
	State ConnState // the connection's new state
}

// AsyncObserver delivers events to another observer from its own goroutine through a bounded queue, so that
// a slow observer never slows the client: when the queue is full, or after Close, events are dropped and
// counted. It is an InlineObserver: its methods never block.
type AsyncObserver struct {
	next    Observer
	ch      chan func(Observer)
	dropped atomic.Uint64
	done    chan struct{}
	once    sync.Once
	// mu guards closed and the closing of ch: put holds it shared, so ch is never closed while an event is
	// being queued.
	mu     sync.RWMutex
	closed bool
}

// NewAsyncObserver starts delivering events to next with a queue of size events. Close stops it.
func NewAsyncObserver(next Observer, size int) *AsyncObserver {
	a := &AsyncObserver{next: next, ch: make(chan func(Observer), max(size, 1)), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		for f := range a.ch {
			f(a.next)
		}
	}()
	return a
}

// Dropped returns how many events were dropped because the queue was full or the observer closed.
func (a *AsyncObserver) Dropped() uint64 { return a.dropped.Load() }

// Close delivers the queued events and stops; it returns once they were delivered. Events after Close are
// dropped (and counted). Calling it again waits for the first call.
func (a *AsyncObserver) Close() {
	a.once.Do(func() {
		a.mu.Lock()
		a.closed = true
		close(a.ch)
		a.mu.Unlock()
	})
	<-a.done
}

// Inline declares that the AsyncObserver's methods never block, so that a Client calls it directly.
func (a *AsyncObserver) Inline() {}

func (a *AsyncObserver) put(f func(Observer)) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		a.dropped.Add(1)
		return
	}
	select {
	case a.ch <- f:
	default:
		a.dropped.Add(1)
	}
}

// OnLookup queues the event for the next observer.
func (a *AsyncObserver) OnLookup(e LookupEvent) { a.put(func(o Observer) { o.OnLookup(e) }) }

// OnProducer queues the event for the next observer.
func (a *AsyncObserver) OnProducer(e ProducerEvent) { a.put(func(o Observer) { o.OnProducer(e) }) }

// OnSend queues the event for the next observer.
func (a *AsyncObserver) OnSend(e SendEvent) { a.put(func(o Observer) { o.OnSend(e) }) }

// OnConsumer queues the event for the next observer.
func (a *AsyncObserver) OnConsumer(e ConsumerEvent) { a.put(func(o Observer) { o.OnConsumer(e) }) }

// OnReceive queues the event for the next observer.
func (a *AsyncObserver) OnReceive(e ReceiveEvent) { a.put(func(o Observer) { o.OnReceive(e) }) }

// OnAck queues the event for the next observer.
func (a *AsyncObserver) OnAck(e AckEvent) { a.put(func(o Observer) { o.OnAck(e) }) }

// OnHealth queues the event for the next observer.
func (a *AsyncObserver) OnHealth(e HealthEvent) { a.put(func(o Observer) { o.OnHealth(e) }) }

// OnConnState queues the event for the next observer.
func (a *AsyncObserver) OnConnState(e ConnStateEvent) { a.put(func(o Observer) { o.OnConnState(e) }) }
