package client

import (
	"sync"
	"sync/atomic"
	"time"
)

// Observer sees what the client does. The client calls it synchronously from the goroutine that did the work,
// so methods must return quickly and never block; NewAsyncObserver turns any observer into one that does.
// Embed NopObserver to implement only some methods. Events are values the observer may keep.
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

// NopObserver implements Observer with methods that do nothing.
type NopObserver struct{}

func (NopObserver) OnLookup(LookupEvent)       {}
func (NopObserver) OnProducer(ProducerEvent)   {}
func (NopObserver) OnSend(SendEvent)           {}
func (NopObserver) OnConsumer(ConsumerEvent)   {}
func (NopObserver) OnReceive(ReceiveEvent)     {}
func (NopObserver) OnAck(AckEvent)             {}
func (NopObserver) OnHealth(HealthEvent)       {}
func (NopObserver) OnConnState(ConnStateEvent) {}

// LookupEvent describes a topic lookup.
type LookupEvent struct {
	Topic   string
	Result  LookupResult
	Latency time.Duration
	Err     error
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

func (k ProducerEventKind) String() string {
	return [...]string{"created", "recreated", "closed", "failed"}[k]
}

// ProducerEvent describes a producer's lifecycle; Topic is the partition for partitioned topics.
type ProducerEvent struct {
	Kind  ProducerEventKind
	Topic string
	Name  string
	ID    uint64
	Err   error
}

// SendEvent describes one completed send.
type SendEvent struct {
	Topic    string // the partition the message went to
	Producer string
	Bytes    int // payload size
	Latency  time.Duration
	Async    bool
	Err      error
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

func (k ConsumerEventKind) String() string {
	return [...]string{"subscribed", "resubscribed", "stream-ended", "closed", "failed"}[k]
}

// ConsumerEvent describes a consumer's lifecycle; Topic is the partition for partitioned topics.
type ConsumerEvent struct {
	Kind         ConsumerEventKind
	Topic        string
	Subscription string
	Name         string
	ID           uint64
	Err          error
}

// ReceiveEvent describes a received message. Message is shared with the application: read it, never change it.
type ReceiveEvent struct {
	Message *Message
}

// AckEvent describes a completed ack or nack.
type AckEvent struct {
	Topic        string
	Subscription string
	Offset       uint64
	Nack         bool
	Latency      time.Duration
	Err          error
}

// HealthStatus is the result of a health check.
type HealthStatus int

// Health statuses.
const (
	HealthOK HealthStatus = iota
	HealthClose
	HealthError
)

func (s HealthStatus) String() string { return [...]string{"OK", "CLOSE", "error"}[s] }

// HealthEvent describes one health check of a producer (Consumer false) or consumer.
type HealthEvent struct {
	Consumer bool
	Topic    string
	Name     string
	ID       uint64
	Status   HealthStatus
	RTT      time.Duration
	Err      error
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

func (s ConnState) String() string {
	return [...]string{"idle", "connecting", "ready", "transient-failure", "shutdown"}[s]
}

// ConnStateEvent describes a connection's new state.
type ConnStateEvent struct {
	Addr  string
	State ConnState
}

// AsyncObserver delivers events to another observer from its own goroutine through a bounded queue, so that
// a slow observer never slows the client: when the queue is full, events are dropped and counted.
type AsyncObserver struct {
	next    Observer
	ch      chan func(Observer)
	dropped atomic.Uint64
	done    chan struct{}
	once    sync.Once
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

// Dropped returns how many events were dropped because the queue was full.
func (a *AsyncObserver) Dropped() uint64 { return a.dropped.Load() }

// Close delivers the queued events and stops. Events after Close are dropped.
func (a *AsyncObserver) Close() {
	a.once.Do(func() { close(a.ch) })
	<-a.done
}

func (a *AsyncObserver) put(f func(Observer)) {
	defer func() {
		if recover() != nil { // closed
			a.dropped.Add(1)
		}
	}()
	select {
	case a.ch <- f:
	default:
		a.dropped.Add(1)
	}
}

func (a *AsyncObserver) OnLookup(e LookupEvent)     { a.put(func(o Observer) { o.OnLookup(e) }) }
func (a *AsyncObserver) OnProducer(e ProducerEvent) { a.put(func(o Observer) { o.OnProducer(e) }) }
func (a *AsyncObserver) OnSend(e SendEvent)         { a.put(func(o Observer) { o.OnSend(e) }) }
func (a *AsyncObserver) OnConsumer(e ConsumerEvent) { a.put(func(o Observer) { o.OnConsumer(e) }) }
func (a *AsyncObserver) OnReceive(e ReceiveEvent)   { a.put(func(o Observer) { o.OnReceive(e) }) }
func (a *AsyncObserver) OnAck(e AckEvent)           { a.put(func(o Observer) { o.OnAck(e) }) }
func (a *AsyncObserver) OnHealth(e HealthEvent)     { a.put(func(o Observer) { o.OnHealth(e) }) }
func (a *AsyncObserver) OnConnState(e ConnStateEvent) {
	a.put(func(o Observer) { o.OnConnState(e) })
}
