package connectors

import (
	"sync"
	"sync/atomic"
	"time"
)

// EventType says what an Event reports.
type EventType int

// Event types.
const (
	// EventState: the instance changed state (State, Prev; Err when it failed). Always delivered.
	EventState EventType = iota
	// EventError: the instance reported an error it keeps running through (Err, ErrKind). Dropped, oldest
	// first, when the subscriber falls behind.
	EventError
	// EventMetrics: a periodic snapshot of the instance (Status), once per RuntimeOptions.SampleInterval.
	// Dropped, oldest first, when the subscriber falls behind.
	EventMetrics
	// EventAdded: an instance was added to the runtime (Status). Always delivered.
	EventAdded
	// EventRemoved: an instance was removed from the runtime. Always delivered.
	EventRemoved
)

func (t EventType) String() string {
	switch t {
	case EventState:
		return "state"
	case EventError:
		return "error"
	case EventMetrics:
		return "metrics"
	case EventAdded:
		return "added"
	case EventRemoved:
		return "removed"
	}
	return "EventType(?)"
}

// mustDeliver reports whether events of the type are never dropped for newer ones.
func (t EventType) mustDeliver() bool { return t == EventState || t == EventAdded || t == EventRemoved }

// Event is something that happened to a connector instance, as Runtime.Subscribe delivers it. Events are
// values the subscriber may keep.
type Event struct {
	Type EventType
	Time time.Time
	// Name, Kind and Role identify the instance.
	Name string
	Kind string
	Role Role
	// State is the instance's state after the event; Prev, for EventState, the state it left.
	State State
	Prev  State
	// Err is the error of an EventError, or of an EventState into Failed (nil otherwise); ErrKind its kind.
	Err     error
	ErrKind Kind
	// Status is a snapshot of the instance for EventMetrics and EventAdded (nil otherwise).
	Status *InstanceStatus
}

// Subscription queue bounds: droppable events beyond defaultEventBuffer, and any event beyond
// maxQueuedEvents (a subscriber that never reads), are dropped oldest first.
const (
	defaultEventBuffer = 1024
	maxQueuedEvents    = 16384
)

// hub fans events out to subscribers without ever blocking the publisher.
type hub struct {
	buffer  int
	mu      sync.Mutex
	subs    map[*subscriber]struct{}
	closed  bool
	dropped atomic.Uint64
}

// subscriber is one Subscribe call: a queue the publisher appends to and a forwarding goroutine that owns
// and closes out.
type subscriber struct {
	h         *hub
	mu        sync.Mutex
	queue     []Event
	droppable int // events in queue that may be dropped
	wake      chan struct{}
	quit      chan struct{}
	out       chan Event
	done      chan struct{}
	once      sync.Once
}

func newHub(buffer int) *hub {
	if buffer <= 0 {
		buffer = defaultEventBuffer
	}
	return &hub{buffer: buffer, subs: make(map[*subscriber]struct{})}
}

// subscribe adds a subscriber; on a closed hub its channel is closed at once.
func (h *hub) subscribe() (<-chan Event, func()) {
	s := &subscriber{h: h, wake: make(chan struct{}, 1), quit: make(chan struct{}), out: make(chan Event), done: make(chan struct{})}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		close(s.out)
		close(s.done)
		return s.out, func() {}
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	go s.forward()
	return s.out, s.cancel
}

// active reports whether anyone listens (so that costly events can be skipped).
func (h *hub) active() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs) > 0
}

// publish queues ev for every subscriber; it never blocks.
func (h *hub) publish(ev Event) {
	h.mu.Lock()
	if len(h.subs) == 0 {
		h.mu.Unlock()
		return
	}
	subs := make([]*subscriber, 0, len(h.subs))
	for s := range h.subs {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	for _, s := range subs {
		s.push(ev)
	}
}

// close ends every subscription: their channels close.
func (h *hub) close() {
	h.mu.Lock()
	h.closed = true
	subs := make([]*subscriber, 0, len(h.subs))
	for s := range h.subs {
		subs = append(subs, s)
	}
	h.mu.Unlock()
	for _, s := range subs {
		s.cancel()
	}
}

func (s *subscriber) push(ev Event) {
	s.mu.Lock()
	if !ev.Type.mustDeliver() {
		if s.droppable >= s.h.buffer {
			s.dropFirst(func(e Event) bool { return !e.Type.mustDeliver() })
		}
		s.droppable++
	}
	if len(s.queue) >= maxQueuedEvents {
		s.dropFirst(func(Event) bool { return true })
	}
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// dropFirst removes the oldest queued event that keep says may go. Caller holds s.mu.
func (s *subscriber) dropFirst(match func(Event) bool) {
	for i, e := range s.queue {
		if match(e) {
			if !e.Type.mustDeliver() {
				s.droppable--
			}
			copy(s.queue[i:], s.queue[i+1:])
			s.queue[len(s.queue)-1] = Event{}
			s.queue = s.queue[:len(s.queue)-1]
			s.h.dropped.Add(1)
			return
		}
	}
}

// forward hands queued events to out, in order, until cancelled; then it closes out.
func (s *subscriber) forward() {
	defer close(s.done)
	defer close(s.out)
	for {
		s.mu.Lock()
		for len(s.queue) == 0 {
			s.mu.Unlock()
			select {
			case <-s.wake:
			case <-s.quit:
				return
			}
			s.mu.Lock()
		}
		ev := s.queue[0]
		s.queue[0] = Event{}
		s.queue = s.queue[1:]
		if !ev.Type.mustDeliver() {
			s.droppable--
		}
		s.mu.Unlock()
		select {
		case s.out <- ev:
		case <-s.quit:
			return
		}
	}
}

// cancel ends the subscription: the forwarding goroutine stops and the channel closes.
func (s *subscriber) cancel() {
	s.once.Do(func() {
		s.h.mu.Lock()
		delete(s.h.subs, s)
		s.h.mu.Unlock()
		close(s.quit)
		<-s.done
	})
}
