package broker

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// Validation policies for messages on a topic bound to a schema subject.
const (
	ValidationNone    = "none"
	ValidationWarn    = "warn"
	ValidationEnforce = "enforce"
)

// topicMeta is what the store keeps about a topic.
type topicMeta struct {
	Name              string `json:"name"`
	Reliable          bool   `json:"reliable"`
	SchemaSubject     string `json:"schema_subject,omitempty"`
	ValidationPolicy  string `json:"validation_policy,omitempty"`
	PayloadValidation bool   `json:"payload_validation,omitempty"`
	// Adopted marks a topic restored from a log the metadata did not know: its subscriptions were lost, so
	// new subscriptions start at the oldest stored message instead of the latest, and their consumers get
	// again what they may not have acknowledged.
	Adopted bool `json:"adopted,omitempty"`
}

// topic is one topic (or one partition of a partitioned topic) served by this broker.
type topic struct {
	srv      *Server
	name     string
	ns       string
	reliable bool
	log      store.Log // reliable topics only

	mu        sync.RWMutex
	meta      topicMeta
	producers map[string]*producer
	subs      map[string]*subscription
	// closed is set when the topic is being deleted; it stays in the server's map until the deletion is done,
	// so that nobody creates the name again in the meantime.
	closed atomic.Bool

	subsSnap atomic.Pointer[[]*subscription]
	counters topicCounters
	// trimMu keeps trim from running between a new subscription reading its starting offset and joining
	// subsSnap.
	trimMu sync.RWMutex
}

// producer is a registered producer. The same name on the same topic always maps to the same producer.
type producer struct {
	id         uint64
	name       string
	topic      *topic
	accessMode int32
	closed     atomic.Bool
	seen       atomic.Int64 // Server.clock when the producer last sent, was checked or was created (or the broker started)
}

// touch records that the producer's client is alive. The clock is coarse, so the store is rare.
func (p *producer) touch(now int64) {
	if p.seen.Load() != now {
		p.seen.Store(now)
	}
}

// producerMeta is what the store keeps about a producer.
type producerMeta struct {
	Topic      string `json:"topic"`
	Name       string `json:"name"`
	ID         uint64 `json:"id"`
	AccessMode int32  `json:"access_mode"`
}

func newTopic(srv *Server, m topicMeta, log store.Log) *topic {
	t := &topic{
		srv: srv, name: m.Name, ns: namespaceOf(m.Name), reliable: m.Reliable, log: log, meta: m,
		producers: make(map[string]*producer),
		subs:      make(map[string]*subscription),
	}
	if t.meta.ValidationPolicy == "" {
		t.meta.ValidationPolicy = ValidationWarn
	}
	t.subsSnap.Store(&[]*subscription{})
	if t.reliable {
		t.observeLog()
	}
	return t
}

// subsChanged republishes the subscription snapshot. Caller holds t.mu.
func (t *topic) subsChanged() {
	ss := make([]*subscription, 0, len(t.subs))
	for _, s := range t.subs {
		if !s.deleting.Load() {
			ss = append(ss, s)
		}
	}
	t.subsSnap.Store(&ss)
}

// publish stores (reliable) or fans out (non-reliable) one message. The message belongs to the topic
// afterwards.
func (t *topic) publish(m *danubepb.StreamMessage) error {
	if t.reliable {
		if _, err := t.log.Append(m); err != nil {
			return err
		}
		for _, s := range *t.subsSnap.Load() {
			s.d.wake()
		}
	} else {
		for _, s := range *t.subsSnap.Load() {
			s.dispatchNonReliable(m)
		}
	}
	t.counters.msgsIn.Add(1)
	t.counters.bytesIn.Add(uint64(len(m.Payload)))
	return nil
}

// trim removes the messages every subscription has acknowledged from a reliable topic's log (all of them
// when it has no subscription: new subscriptions start at the latest offset).
func (t *topic) trim() {
	t.trimMu.Lock()
	defer t.trimMu.Unlock()
	floor := t.log.NextOffset()
	for _, s := range *t.subsSnap.Load() {
		floor = min(floor, s.d.floor.Load())
	}
	if err := t.log.TruncateBefore(floor); err != nil {
		t.srv.log.Error("trimming a topic log", "topic", t.name, "err", err)
	}
}

// consumerCount returns the number of consumers on all subscriptions. Caller holds t.mu.
func (t *topic) consumerCount() int {
	n := 0
	for _, s := range t.subs {
		n += len(*s.snap.Load())
	}
	return n
}

// subscription returns the named subscription or nil.
func (t *topic) subscription(name string) *subscription {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.subs[name]
}

// schemaConfig returns the topic's schema binding.
func (t *topic) schemaConfig() topicMeta {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.meta
}

// storeKey joins a key prefix, a topic name and optional escaped names.
func storeKey(prefix, topic string, names ...string) string {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(topic)
	for _, n := range names {
		b.WriteByte('/')
		b.WriteString(escapeKey(n))
	}
	return b.String()
}

// escapeKey makes a name safe as one key segment (no '/').
func escapeKey(s string) string {
	if !strings.ContainsAny(s, "/%") {
		return s
	}
	return strings.NewReplacer("%", "%25", "/", "%2F").Replace(s)
}
