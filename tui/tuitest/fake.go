// Package tuitest provides a scripted monitor.Backend for the console's tests and demos: a Fake that
// serves a snapshot and message rings set by the test, records the actions called on it and flips
// connector states the way the real monitor does, plus ready-made data sets at a fixed clock.
package tuitest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/monitor/filter"
)

// Epoch is the fixed "now" of the scripted data sets.
var Epoch = time.Date(2026, 3, 14, 15, 4, 5, 0, time.UTC)

// Clock returns Epoch; pass it as the console's Options.Clock.
func Clock() time.Time { return Epoch }

// ErrUnknown is returned by the Fake's actions for names it does not know.
var ErrUnknown = errors.New("tuitest: unknown name")

// Fake is a scripted monitor.Backend. Its fields are guarded by an internal lock: change them with Update.
// All methods are safe for concurrent use.
type Fake struct {
	mu       sync.Mutex
	snap     monitor.Snapshot
	streams  map[string][]monitor.Message
	received map[string]uint64
	calls    []string
	replayed []monitor.Message
	exported []monitor.Message

	// LookupFunc, when set, answers Lookup; otherwise Lookup answers a "connect" to the snapshot's service
	// URL with a fixed latency. Set it before the console runs.
	LookupFunc func(topic string) (monitor.LookupResult, error)
	// ActionErr, when set, is returned by the connector actions (which then change nothing).
	ActionErr error
	// SettleErr, when set, is returned by Ack and Nack (which then change nothing).
	SettleErr error
	// ReplayErr, when set, makes Replay stop with it after sending ReplayFailAt messages.
	ReplayErr    error
	ReplayFailAt int
	// ReplayGate, when set, makes Replay wait for a value on it (or the end of ctx) before each message,
	// so that a test can watch the progress.
	ReplayGate chan struct{}
	// ExportErr, when set, is returned by Export.
	ExportErr error
	// ProduceErr, when set, is returned by Produce and StartConsumer.
	ProduceErr error
	// SchemaSubjects answers SchemaSubject by schema id.
	SchemaSubjects map[uint64]string
	// Details answers DescribeTopic by topic (unknown topics: ErrUnknown); Histories answers TopicHistory by
	// topic ("" is the cluster's); ClusterErr, when set, is returned by the cluster actions (which then
	// record the call and change nothing).
	Details    map[string]monitor.TopicDetail
	Histories  map[string]monitor.TopicHistory
	ClusterErr error
}

var _ monitor.Backend = (*Fake)(nil)

// New returns a Fake serving snap and no messages.
func New(snap monitor.Snapshot) *Fake {
	return &Fake{snap: snap, streams: map[string][]monitor.Message{}, received: map[string]uint64{}}
}

// Update changes the snapshot under the Fake's lock.
func (f *Fake) Update(fn func(s *monitor.Snapshot)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.snap)
}

// SetStream sets a stream's ring (oldest first) and the total ever received on it.
func (f *Fake) SetStream(stream string, msgs []monitor.Message, received uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.streams[stream] = msgs
	f.received[stream] = received
}

// Append adds messages to a stream's ring, dropping the oldest beyond ringLen.
func (f *Fake) Append(stream string, ringLen int, msgs ...monitor.Message) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := append(f.streams[stream], msgs...)
	if len(r) > ringLen {
		// The newest ringLen, in the same array: the next appends fill its spare capacity and append copies
		// the ring only when it grows the array, not at every call (the ring's readers get copies).
		r = r[len(r)-ringLen:]
	}
	f.streams[stream] = r
	f.received[stream] += uint64(len(msgs))
}

// Calls returns the actions called so far, as "Method arg", in order.
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Snapshot returns a copy of the scripted snapshot.
func (f *Fake) Snapshot() monitor.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.snap
	s.Producers = slices.Clone(s.Producers)
	s.Consumers = slices.Clone(s.Consumers)
	s.Subscriptions = slices.Clone(s.Subscriptions)
	s.Topics = slices.Clone(s.Topics)
	s.Namespaces = slices.Clone(s.Namespaces)
	s.Connectors = slices.Clone(s.Connectors)
	s.Health = slices.Clone(s.Health)
	s.Conns = slices.Clone(s.Conns)
	s.Lookups = slices.Clone(s.Lookups)
	return s
}

// Messages returns the newest max messages of a stream, oldest first, and the total received.
func (f *Fake) Messages(stream string, max int) ([]monitor.Message, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.streams[stream]
	if !ok {
		return nil, 0
	}
	if max < len(r) {
		r = r[len(r)-max:]
	}
	return slices.Clone(r), f.received[stream]
}

func (f *Fake) record(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// setConnector sets a connector's state; it reports whether the connector exists.
func (f *Fake) setConnector(name string, s monitor.ConnectorState) bool {
	for i := range f.snap.Connectors {
		if f.snap.Connectors[i].Name == name {
			f.snap.Connectors[i].State = s
			f.snap.Connectors[i].Since = f.snap.Time
			return true
		}
	}
	return false
}

func (f *Fake) act(call, name string, s monitor.ConnectorState) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("%s %s", call, name)
	if f.ActionErr != nil {
		return f.ActionErr
	}
	if !f.setConnector(name, s) {
		return fmt.Errorf("%w: connector %q", ErrUnknown, name)
	}
	return nil
}

// StartConnector records the call and sets the connector running.
func (f *Fake) StartConnector(name string) error {
	return f.act("StartConnector", name, monitor.ConnectorRunning)
}

// StopConnector records the call and sets the connector stopped.
func (f *Fake) StopConnector(_ context.Context, name string) error {
	return f.act("StopConnector", name, monitor.ConnectorStopped)
}

// RestartConnector records the call and sets the connector running.
func (f *Fake) RestartConnector(_ context.Context, name string) error {
	return f.act("RestartConnector", name, monitor.ConnectorRunning)
}

// Unsubscribe records the call as "Unsubscribe TOPIC SUB" and removes the subscription from the
// snapshot's topics. It fails with ProduceErr when set.
func (f *Fake) Unsubscribe(_ context.Context, topic, sub string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Unsubscribe %s %s", topic, sub)
	if f.ProduceErr != nil {
		return f.ProduceErr
	}
	for i := range f.snap.Topics {
		if t := &f.snap.Topics[i]; t.Name == topic {
			t.Subscriptions = slices.DeleteFunc(slices.Clone(t.Subscriptions), func(s string) bool { return s == sub })
		}
	}
	return nil
}

// StartProducer records the call as "StartProducer TOPIC NAME RATE[ key=KEY][ reliable]" and adds the
// producer to the snapshot (ad hoc, created). It fails with ProduceErr when set.
func (f *Fake) StartProducer(_ context.Context, spec monitor.ProducerSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := fmt.Sprintf("StartProducer %s %s %g", spec.Topic, spec.Name, spec.Rate)
	if spec.Key != "" {
		call += " key=" + spec.Key
	}
	if spec.Reliable {
		call += " reliable"
	}
	f.record("%s", call)
	if f.ProduceErr != nil {
		return f.ProduceErr
	}
	f.snap.Producers = append(f.snap.Producers, monitor.ProducerStats{Name: spec.Name, Topic: spec.Topic,
		ID: uint64(200 + len(f.snap.Producers)), State: monitor.ProducerCreated, AdHoc: true})
	return nil
}

// StopProducer records the call as "StopProducer NAME" and marks the producer closed.
func (f *Fake) StopProducer(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("StopProducer %s", name)
	for i := range f.snap.Producers {
		if p := &f.snap.Producers[i]; p.Name == name && p.AdHoc {
			p.State = monitor.ProducerClosed
		}
	}
	return nil
}

// StartConsumer records the call as "StartConsumer TOPIC SUB TYPE NAME[ ManualAck]" and adds the
// consumer to the snapshot (ad hoc, subscribed, with an empty stream StreamID(topic, sub, name)). It fails
// with ProduceErr when set, and for a name already in use.
func (f *Fake) StartConsumer(_ context.Context, spec monitor.ConsumerSpec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := fmt.Sprintf("StartConsumer %s %s %s %s", spec.Topic, spec.Subscription, typeOf(spec.Type), spec.Name)
	if spec.ManualAck {
		call += " ManualAck"
	}
	f.record("%s", call)
	if f.ProduceErr != nil {
		return f.ProduceErr
	}
	for _, c := range f.snap.Consumers {
		if c.AdHoc && c.Name == spec.Name && c.State != monitor.ConsumerClosed {
			return fmt.Errorf("tuitest: consumer %q exists", spec.Name)
		}
	}
	id := monitor.StreamID(spec.Topic, spec.Subscription, spec.Name)
	c := monitor.ConsumerStats{Stream: id, Name: spec.Name, Topic: spec.Topic, Subscription: spec.Subscription,
		Type: typeOf(spec.Type), ID: uint64(100 + len(f.snap.Consumers)), State: monitor.ConsumerSubscribed, AdHoc: true,
		ManualAck: spec.ManualAck}
	if spec.ManualAck {
		c.AckTimeout = 30 * time.Second
	}
	f.snap.Consumers = append(f.snap.Consumers, c)
	sort.SliceStable(f.snap.Consumers, func(i, j int) bool {
		a, b := f.snap.Consumers[i], f.snap.Consumers[j]
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		if a.Subscription != b.Subscription {
			return a.Subscription < b.Subscription
		}
		return a.Name < b.Name
	})
	if _, ok := f.streams[id]; !ok {
		f.streams[id] = nil
	}
	return nil
}

// typeOf is the type a tap gets: the spec's, shared when unknown.
func typeOf(t monitor.SubscriptionType) monitor.SubscriptionType {
	if t == monitor.SubscriptionUnknown {
		return monitor.SubscriptionShared
	}
	return t
}

// StopConsumer records the call and closes the ad-hoc consumer's streams; an unknown name is ErrUnknown.
func (f *Fake) StopConsumer(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("StopConsumer %s", name)
	found := false
	for i := range f.snap.Consumers {
		c := &f.snap.Consumers[i]
		if c.AdHoc && c.Name == name && c.State != monitor.ConsumerClosed {
			c.State, c.AdHoc = monitor.ConsumerClosed, false
			found = true
		}
	}
	if !found {
		return fmt.Errorf("stop %s: %w", name, ErrUnknown) // as the monitor's errors, it names the action once
	}
	return nil
}

// Lookup records the call, answers with LookupFunc (or a fixed "connect") and remembers the result at the
// front of Snapshot.Lookups.
func (f *Fake) Lookup(_ context.Context, topic string) (monitor.LookupResult, error) {
	f.mu.Lock()
	f.record("Lookup %s", topic)
	fn := f.LookupFunc
	url := f.snap.ServiceURL
	at := f.snap.Time
	f.mu.Unlock()
	var res monitor.LookupResult
	var err error
	if fn != nil {
		res, err = fn(topic)
	} else {
		res = monitor.LookupResult{Topic: topic, At: at, ResponseType: "connect", BrokerURL: url, ConnectURL: url,
			Latency: 1200 * time.Microsecond}
	}
	if err != nil {
		res = monitor.LookupResult{Topic: topic, At: at, ResponseType: "failed", Err: err.Error()}
	}
	f.mu.Lock()
	f.snap.Lookups = append([]monitor.LookupResult{res}, f.snap.Lookups...)
	if len(f.snap.Lookups) > 20 {
		f.snap.Lookups = f.snap.Lookups[:20]
	}
	f.mu.Unlock()
	return res, err
}

// Refresh records the call.
func (f *Fake) Refresh(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Refresh")
	return nil
}

// fields are the parts of a message a filter looks at.
func fields(m *monitor.Message) filter.Fields {
	return filter.Fields{Payload: m.Payload, Key: m.Key, HasKey: m.HasKey, Attributes: m.Attributes}
}

// Query returns the newest max messages of a stream that match flt (every one for nil), oldest first, by
// running flt.Match over the whole ring on every call (the real monitor caches verdicts: this is the worst
// case).
func (f *Fake) Query(stream string, flt *filter.Filter, max int) monitor.QueryResult {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.streams[stream]
	res := monitor.QueryResult{Kept: len(r), Total: f.received[stream]}
	var picked []int
	for i := len(r) - 1; i >= 0; i-- {
		if flt != nil && !flt.Match(fields(&r[i])) {
			continue
		}
		res.Matches++
		if len(picked) < max {
			picked = append(picked, i)
		}
	}
	res.Messages = make([]monitor.Message, len(picked))
	for j, i := range picked {
		res.Messages[len(picked)-1-j] = r[i]
	}
	return res
}

// find returns the index of message seq in a ring (ordered by Seq), or -1.
func find(r []monitor.Message, seq uint64) int {
	i := sort.Search(len(r), func(i int) bool { return r[i].Seq >= seq })
	if i < len(r) && r[i].Seq == seq {
		return i
	}
	return -1
}

// Message returns the kept message seq of a stream.
func (f *Fake) Message(stream string, seq uint64) (monitor.Message, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.streams[stream]
	if i := find(r, seq); i >= 0 {
		return r[i], true
	}
	return monitor.Message{}, false
}

// settle records an Ack or Nack and moves the pending messages among seqs to state; the others are an
// error naming them (after the pending ones are settled).
func (f *Fake) settle(call, stream string, seqs []uint64, state monitor.MessageState) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("%s", call)
	if f.SettleErr != nil {
		return f.SettleErr
	}
	if f.snap.ReadOnly {
		return monitor.ErrReadOnly
	}
	r := f.streams[stream]
	var bad []uint64 // offsets, as the monitor's errors name them
	settled := 0
	for _, seq := range seqs {
		i := find(r, seq)
		if i < 0 || r[i].State != monitor.StatePending {
			if i >= 0 {
				bad = append(bad, r[i].Offset)
			}
			continue
		}
		r[i].State = state
		settled++
	}
	for i := range f.snap.Consumers {
		if c := &f.snap.Consumers[i]; c.Stream == stream {
			c.Pending = max(0, c.Pending-settled)
		}
	}
	if len(bad) > 0 || settled < len(seqs) {
		verb, _, _ := strings.Cut(strings.ToLower(call), " ")
		topic, _, _ := strings.Cut(stream, "|")
		return fmt.Errorf("%s %d messages of %s: %w: offsets %v", verb, len(seqs), topic, monitor.ErrNotPending, bad)
	}
	return nil
}

// Ack records "Ack STREAM [SEQ...]" and acks the pending messages among seqs.
func (f *Fake) Ack(_ context.Context, stream string, seqs []uint64) error {
	return f.settle(fmt.Sprintf("Ack %s %v", stream, seqs), stream, seqs, monitor.StateAcked)
}

// Nack records "Nack STREAM [SEQ...] DELAY REASON" and nacks the pending messages among seqs.
func (f *Fake) Nack(_ context.Context, stream string, seqs []uint64, delay time.Duration, reason string) error {
	call := strings.TrimSpace(fmt.Sprintf("Nack %s %v %s %s", stream, seqs, delay, reason))
	return f.settle(call, stream, seqs, monitor.StateNacked)
}

// Replay records "Replay N -> TOPIC" (TOPIC "(own)" for each message's own topic), keeps the messages for
// Replayed, and "sends" them one by one, calling progress after each (waiting on ReplayGate first when
// set). It stops at ReplayErr (after ReplayFailAt messages) or when ctx ends.
func (f *Fake) Replay(ctx context.Context, msgs []monitor.Message, topic string, progress func(done, total int)) (monitor.ReplayResult, error) {
	f.mu.Lock()
	f.record("Replay %d -> %s", len(msgs), cmp(topic, "(own)"))
	f.replayed = slices.Clone(msgs)
	gate, rerr, failAt, ro := f.ReplayGate, f.ReplayErr, f.ReplayFailAt, f.snap.ReadOnly
	f.mu.Unlock()
	var res monitor.ReplayResult
	if ro {
		return res, monitor.ErrReadOnly
	}
	for i := range msgs {
		if gate != nil {
			select {
			case <-gate:
			case <-ctx.Done():
				return res, ctx.Err()
			}
		}
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if rerr != nil && i == failAt {
			return res, rerr
		}
		t := cmp(topic, msgs[i].Topic)
		res.Sent++
		res.Bytes += int64(len(msgs[i].Payload))
		if !slices.Contains(res.Topics, t) {
			res.Topics = append(res.Topics, t)
		}
		if progress != nil {
			progress(i+1, len(msgs))
		}
	}
	return res, nil
}

// cmp returns a, or b when a is empty.
func cmp(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

// Replayed returns the messages of the last Replay.
func (f *Fake) Replayed() []monitor.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.replayed)
}

// Export records "Export PATH N" and keeps the messages for Exported; it writes no file.
func (f *Fake) Export(path string, msgs []monitor.Message) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Export %s %d", path, len(msgs))
	if f.ExportErr != nil {
		return 0, f.ExportErr
	}
	f.exported = slices.Clone(msgs)
	return len(msgs), nil
}

// Exported returns the messages of the last Export.
func (f *Fake) Exported() []monitor.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.exported)
}

// Produce records "Produce TOPIC PAYLOAD".
func (f *Fake) Produce(_ context.Context, topic string, payload []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("Produce %s %s", topic, payload)
	if f.snap.ReadOnly {
		return monitor.ErrReadOnly
	}
	return f.ProduceErr
}

// SchemaSubject records "SchemaSubject ID" and answers from SchemaSubjects.
func (f *Fake) SchemaSubject(_ context.Context, id uint64) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record("SchemaSubject %d", id)
	return f.SchemaSubjects[id], nil
}
