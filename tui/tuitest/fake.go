// Package tuitest provides a scripted monitor.Backend for the console's tests and demos: a Fake that
// serves a snapshot and message rings set by the test, records the actions called on it and flips
// connector states the way the real monitor does, plus ready-made data sets at a fixed clock.
package tuitest

import (
	"context"
	"errors"
	"fmt"
	"math"
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
		r = slices.Clone(r[len(r)-ringLen:])
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
		return fmt.Errorf("%w: consumer %q", ErrUnknown, name)
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
	var bad []uint64
	settled := 0
	for _, seq := range seqs {
		i := find(r, seq)
		if i < 0 || r[i].State != monitor.StatePending {
			bad = append(bad, seq)
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
	if len(bad) > 0 {
		return fmt.Errorf("tuitest: not pending: %v", bad)
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

// series returns n deterministic values around base, shaped by seed.
func series(n int, base float64, seed int) []float64 {
	s := make([]float64, n)
	for i := range s {
		x := float64(i+seed*7) / 9
		s[i] = math.Round(base * (1 + 0.5*math.Sin(x) + 0.25*math.Sin(x*2.3+float64(seed))))
		if s[i] < 0 {
			s[i] = 0
		}
	}
	return s
}

// payloads are the sample payloads of the scripted streams: JSON, text with control characters, binary,
// non-ASCII text and a long line.
var payloads = [][]byte{
	[]byte(`{"order_id":1001,"customer":"ada","total":42.5,"items":["book","pen"]}`),
	[]byte("line one\nline two\ttabbed\r\n"),
	{0x00, 0x01, 0x02, 0xff, 0xfe, 'a', 'b', 0x1b, '[', '3', '1', 'm', 0x7f},
	[]byte("température 21.5°C — capteur nº 7 ✓"),
	[]byte(strings.Repeat("lorem ipsum dolor sit amet ", 40)),
	[]byte(`{"sensor":"t-17","reading":19.25,"ok":true,"tags":null}`),
}

// Messages returns n deterministic messages of a stream, the last one received at end.
func Messages(topic, sub, consumer string, n int, end time.Time) []monitor.Message {
	msgs := make([]monitor.Message, n)
	for i := range msgs {
		at := end.Add(-time.Duration(n-1-i) * 137 * time.Millisecond)
		part := i % 3
		msgs[i] = monitor.Message{
			Seq:          uint64(i + 1),
			ReceivedAt:   at,
			PublishTime:  at.Add(-3 * time.Millisecond),
			Topic:        fmt.Sprintf("%s-part-%d", topic, part),
			Offset:       uint64(5000 + i/3),
			ProducerID:   7,
			ProducerName: "p-" + consumer,
			BrokerAddr:   "127.0.0.1:6650",
			Subscription: sub,
			Consumer:     consumer,
			Key:          fmt.Sprintf("key-%d", i%17),
			HasKey:       i%4 != 3,
			Payload:      payloads[i%len(payloads)],
			Redelivered:  i%11 == 10,
		}
		if i%2 == 0 {
			msgs[i].Attributes = map[string]string{"trace-id": fmt.Sprintf("t-%04d", i), "content-type": "application/json"}
		}
		if p := i % len(payloads); p == 0 || p == 5 {
			msgs[i].SchemaID, msgs[i].SchemaVersion = 3, 2
		}
	}
	return msgs
}

// ManualStream is the stream of the manual-ack tap of Manual.
var ManualStream = monitor.StreamID("/default/payments", "console-1", "tap-1")

// ManualMessages returns n messages of a manual-ack tap received every 700ms up to end, each due for
// redelivery timeout after it was received: every seventh (from the fourth) acked, every ninth (from the
// sixth) nacked, the others pending.
func ManualMessages(topic, sub, consumer string, n int, end time.Time, timeout time.Duration) []monitor.Message {
	msgs := Messages(topic, sub, consumer, n, end)
	for i := range msgs {
		m := &msgs[i]
		m.ReceivedAt = end.Add(-time.Duration(n-1-i) * 700 * time.Millisecond)
		m.PublishTime = m.ReceivedAt.Add(-2 * time.Millisecond)
		m.Topic = topic
		m.Offset = uint64(700 + i)
		m.Redelivered = false
		m.State = monitor.StatePending
		m.AckDeadline = m.ReceivedAt.Add(timeout)
		switch {
		case i%7 == 3:
			m.State = monitor.StateAcked
		case i%9 == 5:
			m.State = monitor.StateNacked
		}
	}
	return msgs
}

// Manual returns Scripted with a manual-ack tap: "tap-1" on /default/payments, subscription "console-1",
// ack timeout 30s, 40 messages (ManualMessages, the newest received a second before Epoch).
func Manual() *Fake {
	f := Scripted()
	msgs := ManualMessages("/default/payments", "console-1", "tap-1", 40, Epoch.Add(-time.Second), 30*time.Second)
	pending := 0
	for _, m := range msgs {
		if m.State == monitor.StatePending {
			pending++
		}
	}
	f.Update(func(s *monitor.Snapshot) {
		c := monitor.ConsumerStats{Stream: ManualStream, Name: "tap-1", Topic: "/default/payments", Subscription: "console-1",
			Type: monitor.SubscriptionShared, ID: 21, State: monitor.ConsumerSubscribed, AdHoc: true, Received: 40, Rate: 1.4, Series: series(60, 1, 13),
			ManualAck: true, Pending: pending, AckTimeout: 30 * time.Second}
		i := slices.IndexFunc(s.Consumers, func(x monitor.ConsumerStats) bool { return x.Topic > c.Topic })
		s.Consumers = slices.Insert(s.Consumers, i, c)
	})
	f.SetStream(ManualStream, msgs, 40)
	return f
}

// Scripted returns a Fake with a small, representative data set at Epoch: two namespaces, six topics,
// producers, consumers with message rings, subscriptions, health checks, connections, four connectors in
// different states and a few lookups.
func Scripted() *Fake {
	now := Epoch
	lat := func(p50, p99 time.Duration) monitor.Latency {
		return monitor.Latency{Count: 1000, P50: p50, P99: p99, Max: p99 * 2}
	}
	s := monitor.Snapshot{
		Time:       now,
		ServiceURL: "http://127.0.0.1:6650",
		AdminURL:   "http://127.0.0.1:50051",
		Embedded:   true,
		Reachable:  true,
		Namespaces: []string{"default", "iot"},
		Topics: []monitor.TopicStats{
			{Name: "/default/audit", Namespace: "default", Reliable: true, BrokerID: "b1", Subscriptions: []string{"archiver"}},
			{Name: "/default/orders", Namespace: "default", Reliable: true, BrokerID: "b1", Subscriptions: []string{"billing", "shipping"}, Partitions: 3, SchemaSubject: "orders-value"},
			{Name: "/default/payments", Namespace: "default", BrokerID: "b1", Subscriptions: []string{"ledger"}},
			{Name: "/iot/alerts", Namespace: "iot", BrokerID: "b1"},
			{Name: "/iot/sensors", Namespace: "iot", BrokerID: "b1", Subscriptions: []string{"dashboard", "pg-sink"}, Partitions: 2},
			{Name: "/iot/weird\x1b[31mname", Namespace: "iot", BrokerID: "b1"},
		},
		Producers: []monitor.ProducerStats{
			{Name: "audit-writer", Topic: "/default/audit", ID: 1, State: monitor.ProducerCreated, Msgs: 1204, Bytes: 240800, MsgRate: 2, ByteRate: 400, Series: series(120, 2, 1), Publish: lat(640*time.Microsecond, 2100*time.Microsecond)},
			{Name: "order-gen", Topic: "/default/orders-part-0", ID: 2, State: monitor.ProducerCreated, AdHoc: true, Msgs: 482113, Bytes: 91_600_000, MsgRate: 1250, ByteRate: 237_500, Series: series(300, 1250, 2), Publish: lat(850*time.Microsecond, 12*time.Millisecond)},
			{Name: "order-gen", Topic: "/default/orders-part-1", ID: 3, State: monitor.ProducerRecreated, Msgs: 481990, Bytes: 91_500_000, MsgRate: 1190, ByteRate: 226_100, Series: series(300, 1190, 3), Publish: lat(910*time.Microsecond, 14*time.Millisecond), Errors: 3, LastError: "send: broker unavailable (retrying)"},
			{Name: "pay-svc", Topic: "/default/payments", ID: 4, State: monitor.ProducerFailed, Msgs: 77, Bytes: 15400, Errors: 12, Series: series(60, 1, 4), LastError: "producer closed by broker: topic policy violation"},
			{Name: "mqtt-bridge", Topic: "/iot/sensors-part-0", ID: 5, State: monitor.ProducerCreated, Msgs: 9_876_543, Bytes: 1_234_000_000, MsgRate: 23456, ByteRate: 3_400_000, Series: series(300, 23456, 5), Publish: lat(420*time.Microsecond, 3*time.Millisecond)},
		},
		Consumers: []monitor.ConsumerStats{
			{Stream: "s-archiver", Name: "archiver-1", Topic: "/default/audit", Subscription: "archiver", Type: monitor.SubscriptionExclusive, ID: 11, State: monitor.ConsumerSubscribed, Received: 1200, Bytes: 240000, Rate: 2, Series: series(120, 2, 6), EndToEnd: lat(1200*time.Microsecond, 4*time.Millisecond)},
			{Stream: "s-billing", Name: "billing-1", Topic: "/default/orders", Subscription: "billing", Type: monitor.SubscriptionShared, ID: 12, State: monitor.ConsumerSubscribed, Received: 964000, Bytes: 183_000_000, Rate: 2440, Series: series(300, 2440, 7), EndToEnd: lat(2*time.Millisecond, 18*time.Millisecond)},
			{Stream: "s-shipping", Name: "shipping-1", Topic: "/default/orders", Subscription: "shipping", Type: monitor.SubscriptionKeyShared, ID: 13, State: monitor.ConsumerResubscribed, Received: 963100, Bytes: 182_900_000, Rate: 2390, Series: series(300, 2390, 8), EndToEnd: lat(2100*time.Microsecond, 25*time.Millisecond), LastError: "stream reset; resubscribed"},
			{Stream: "s-dashboard", Name: "dash", Topic: "/iot/sensors", Subscription: "dashboard", Type: monitor.SubscriptionFailover, ID: 14, State: monitor.ConsumerSubscribed, Received: 9_870_000, Bytes: 1_233_000_000, Rate: 23400, Series: series(300, 23400, 9), EndToEnd: lat(700*time.Microsecond, 6*time.Millisecond)},
		},
		Subscriptions: []monitor.SubscriptionStats{
			{Topic: "/default/audit", Subscription: "archiver", Received: 1200, Acked: 1200, AckLatency: lat(300*time.Microsecond, 900*time.Microsecond)},
			{Topic: "/default/orders", Subscription: "billing", Received: 964000, Acked: 963950, Pending: 42, Nacked: 8, Redelivered: 8, AckLatency: lat(450*time.Microsecond, 3*time.Millisecond)},
			{Topic: "/default/orders", Subscription: "shipping", Received: 963100, Acked: 962000, Pending: 1100, AckErrors: 2, AckLatency: lat(800*time.Microsecond, 9*time.Millisecond)},
			{Topic: "/iot/sensors", Subscription: "dashboard", Received: 9_870_000, Acked: 9_870_000, AckLatency: lat(200*time.Microsecond, 1*time.Millisecond)},
		},
		Health: []monitor.HealthStats{
			{Consumer: true, Name: "archiver-1", Topic: "/default/audit", ID: 11, Status: monitor.HealthOK, At: now.Add(-2 * time.Second), RTT: 900 * time.Microsecond},
			{Consumer: true, Name: "billing-1", Topic: "/default/orders", ID: 12, Status: monitor.HealthOK, At: now.Add(-1 * time.Second), RTT: 1100 * time.Microsecond},
			{Consumer: true, Name: "shipping-1", Topic: "/default/orders", ID: 13, Status: monitor.HealthClose, At: now.Add(-4 * time.Second), RTT: 2 * time.Millisecond, Reconnects: 1},
			{Name: "order-gen", Topic: "/default/orders-part-0", ID: 2, Status: monitor.HealthOK, At: now.Add(-3 * time.Second), RTT: 800 * time.Microsecond},
			{Name: "pay-svc", Topic: "/default/payments", ID: 4, Status: monitor.HealthError, At: now.Add(-75 * time.Second), Err: "rpc error: code = Unavailable", Reconnects: 4},
		},
		Conns: []monitor.ConnStats{
			{Addr: "127.0.0.1:6650", State: monitor.ConnReady, Since: now.Add(-3723 * time.Second), Transitions: 2},
			{Addr: "127.0.0.1:6651", State: monitor.ConnTransientFailure, Since: now.Add(-12 * time.Second), Transitions: 7},
		},
		Connectors: []monitor.ConnectorStats{
			{ConnectorStatus: monitor.ConnectorStatus{Name: "mqtt-in", Kind: "mqtt", Role: monitor.RoleSource, Topic: "/iot/sensors", Autostart: true,
				State: monitor.ConnectorRunning, Since: now.Add(-3600 * time.Second), Received: 9_877_000, Processed: 9_876_543, Retried: 12, InFlight: 57,
				Batches: 98765, LastBatchSize: 100, BatchLatencyP50: 3 * time.Millisecond, BatchLatencyP99: 11 * time.Millisecond, Throughput: 23456},
				Series: series(300, 23456, 10)},
			{ConnectorStatus: monitor.ConnectorStatus{Name: "orders-pg", Kind: "postgres", Role: monitor.RoleSink, Topic: "/default/orders",
				State: monitor.ConnectorFailed, Since: now.Add(-30 * time.Second), Received: 50210, Processed: 50000,
				Failed: map[monitor.ErrorKind]uint64{monitor.KindFatal: 1, monitor.KindInvalidData: 9}, Retried: 340, Restarts: 3,
				LastError: "connect: dial tcp 127.0.0.1:5432: connection refused", LastErrorKind: monitor.KindFatal, LastErrorAt: now.Add(-30 * time.Second),
				NextRestart: now.Add(8 * time.Second), Origin: "/etc/danube/connectors.toml:14",
				Settings: []monitor.ConnectorSetting{{Key: "subscription", Value: "orders-pg (Shared)"}, {Key: "dsn", Value: "••••••"},
					{Key: "table", Value: "orders"}, {Key: "mode", Value: "upsert"}, {Key: "key_json_path", Value: "$.order_id"},
					{Key: "create_table", Value: "true"}, {Key: "payload_format", Value: "jsonb"}}},
				Series: series(300, 40, 11)},
			{ConnectorStatus: monitor.ConnectorStatus{Name: "audit-jsonl", Kind: "jsonl", Role: monitor.RoleSink, Topic: "/default/audit",
				State: monitor.ConnectorStopped, Since: now.Add(-600 * time.Second), Received: 1200, Processed: 1200}},
			{ConnectorStatus: monitor.ConnectorStatus{Name: "webhook-out", Kind: "webhook", Role: monitor.RoleSink, Topic: "/default/payments",
				State: monitor.ConnectorDegraded, Since: now.Add(-90 * time.Second), Received: 77, Processed: 70, Retried: 21, InFlight: 7,
				LastError: "POST https://hooks.example/pay: 503 Service Unavailable", LastErrorKind: monitor.KindRetryable, LastErrorAt: now.Add(-5 * time.Second),
				Throughput: 0.5},
				Series: series(120, 1, 12)},
		},
		Lookups: []monitor.LookupResult{
			{Topic: "/default/orders", At: now.Add(-20 * time.Second), ResponseType: "connect", BrokerURL: "http://127.0.0.1:6650", ConnectURL: "http://127.0.0.1:6650",
				Partitions: []string{"/default/orders-part-0", "/default/orders-part-1", "/default/orders-part-2"}, Latency: 1800 * time.Microsecond},
			{Topic: "/iot/missing", At: now.Add(-95 * time.Second), ResponseType: "failed", Latency: 900 * time.Microsecond, Err: "topic not found"},
		},
		Totals: monitor.Totals{ReceivedPerSec: 28232, Received: 11_798_300, Shown: 4000, DroppedFromView: 11_794_300, BufferFill: 1, ObserverDropped: 0},
	}
	f := New(s)
	f.SchemaSubjects = map[uint64]string{3: "orders-value"}
	for _, c := range s.Consumers {
		f.SetStream(c.Stream, Messages(c.Topic, c.Subscription, c.Name, 200, now.Add(-time.Second)), c.Received)
	}
	return f
}

// Big returns a Fake with a large data set for benchmarks: 50 producers, 50 consumers with full
// 1000-message rings, 20 connectors, with full series.
func Big() *Fake {
	f := Scripted()
	now := Epoch
	f.Update(func(s *monitor.Snapshot) {
		s.Producers, s.Consumers, s.Subscriptions, s.Health, s.Connectors = nil, nil, nil, nil, nil
		for i := range 50 {
			topic := fmt.Sprintf("/bench/topic-%02d", i)
			s.Topics = append(s.Topics, monitor.TopicStats{Name: topic, Namespace: "bench", Reliable: i%2 == 0, Subscriptions: []string{"sub"}})
			s.Producers = append(s.Producers, monitor.ProducerStats{Name: fmt.Sprintf("p%02d", i), Topic: topic, ID: uint64(i), State: monitor.ProducerCreated,
				Msgs: uint64(i) * 100000, Bytes: uint64(i) * 1e7, MsgRate: float64(i * 100), ByteRate: float64(i * 20000),
				Series: series(monitor.SeriesLen, float64(i*100), i), Publish: monitor.Latency{Count: 10, P50: time.Millisecond, P99: 9 * time.Millisecond}})
			s.Consumers = append(s.Consumers, monitor.ConsumerStats{Stream: fmt.Sprintf("s%02d", i), Name: fmt.Sprintf("c%02d", i), Topic: topic,
				Subscription: "sub", Type: monitor.SubscriptionShared, State: monitor.ConsumerSubscribed, Received: uint64(i) * 1e5, Rate: float64(i * 100),
				Series: series(monitor.SeriesLen, float64(i*100), i+1), EndToEnd: monitor.Latency{Count: 10, P50: 2 * time.Millisecond, P99: 20 * time.Millisecond}})
			s.Subscriptions = append(s.Subscriptions, monitor.SubscriptionStats{Topic: topic, Subscription: "sub", Received: uint64(i) * 1e5, Acked: uint64(i) * 1e5})
			s.Health = append(s.Health, monitor.HealthStats{Name: fmt.Sprintf("p%02d", i), Topic: topic, Status: monitor.HealthOK, At: now.Add(-time.Second), RTT: time.Millisecond})
		}
		for i := range 20 {
			s.Connectors = append(s.Connectors, monitor.ConnectorStats{ConnectorStatus: monitor.ConnectorStatus{Name: fmt.Sprintf("conn-%02d", i), Kind: "generator",
				Role: monitor.RoleSource, State: monitor.ConnectorState(i % 7), Throughput: float64(i * 10), Received: uint64(i) * 1000, Processed: uint64(i) * 990},
				Series: series(monitor.SeriesLen, float64(i*10), i)})
		}
	})
	for i := range 50 {
		f.SetStream(fmt.Sprintf("s%02d", i), Messages(fmt.Sprintf("/bench/topic-%02d", i), "sub", fmt.Sprintf("c%02d", i), 1000, now), uint64(i)*1e5)
	}
	return f
}
