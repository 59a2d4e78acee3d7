package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/monitor/filter"
)

// syncBuffer is an audit log tests can read while the monitor writes.
type syncBuffer struct{ testenv.SyncBuffer }

// entries parses the audit log's lines.
func (s *syncBuffer) entries(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSuffix(s.String(), "\n"), "\n") {
		if line == "" {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("audit log line %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

// messagesOf returns every kept message of a stream.
func messagesOf(m *Monitor, stream string) []Message {
	msgs, _ := m.Messages(stream, 1<<20)
	return msgs
}

// A manual-ack tap keeps messages pending with their deadline until Ack or Nack; a nacked message comes back
// as a new pending entry; everything is audited; settling twice is ErrNotPending.
func TestManualAckAgainstBroker(t *testing.T) {
	var audit syncBuffer
	f := start(t, Options{AuditLog: &audit})
	ctx := ctxT(t)
	const topic = "/default/manual"
	p := f.producer(t, topic, "p", true)
	if err := f.m.StartConsumer(ctx, ConsumerSpec{Name: "tap", Topic: topic, Subscription: "s", ManualAck: true}); err != nil {
		t.Fatal(err)
	}
	stream := StreamID(topic, "s", "tap")
	for i := range 3 {
		if _, err := p.SendWithKey(ctx, fmt.Sprint("k", i), []byte(fmt.Sprint(`{"n":`, i, `}`))); err != nil {
			t.Fatal(err)
		}
	}
	s := eventually(t, f.m, "3 pending messages", func(s Snapshot) bool {
		c, ok := consumerOf(s, stream)
		return ok && c.Pending == 3
	})
	cs, _ := consumerOf(s, stream)
	if !cs.ManualAck || cs.AckTimeout != quickPolicy.AckTimeout || cs.Received != 3 || !cs.AdHoc {
		t.Fatalf("consumer %+v", cs)
	}
	msgs := messagesOf(f.m, stream)
	if len(msgs) != 3 {
		t.Fatalf("%d messages", len(msgs))
	}
	for i, g := range msgs {
		if g.State != StatePending || !g.AckDeadline.Equal(g.ReceivedAt.Add(quickPolicy.AckTimeout)) || g.Seq != uint64(i+1) || g.Redelivered {
			t.Fatalf("message %d: %+v", i, g)
		}
	}
	// Nothing was acked behind our back (a quiet period in which an ack could happen: nothing to wait for).
	time.Sleep(100 * time.Millisecond)
	if sub := findSub(t, f.m.Snapshot(), topic, "s"); sub.Acked != 0 || sub.Pending != 3 {
		t.Fatalf("subscription %+v before any Ack", sub)
	}

	if err := f.m.Ack(ctx, stream, []uint64{1}); err != nil {
		t.Fatal(err)
	}
	if g, ok := f.m.Message(stream, 1); !ok || g.State != StateAcked {
		t.Fatalf("after Ack: %+v, %v", g, ok)
	}
	if c, _ := consumerOf(f.m.Snapshot(), stream); c.Pending != 2 {
		t.Fatalf("pending %d after one ack", c.Pending)
	}

	if err := f.m.Nack(ctx, stream, []uint64{2}, 0, "try again"); err != nil {
		t.Fatal(err)
	}
	eventually(t, f.m, "the nacked message back", func(Snapshot) bool { _, ok := f.m.Message(stream, 4); return ok })
	old, _ := f.m.Message(stream, 2)
	again, _ := f.m.Message(stream, 4)
	if old.State != StateNacked || again.State != StatePending || !again.Redelivered || again.Offset != old.Offset ||
		!bytes.Equal(again.Payload, old.Payload) || again.AckDeadline.IsZero() {
		t.Fatalf("nacked %+v, redelivered %+v", old, again)
	}
	if err := f.m.Ack(ctx, stream, []uint64{4, 3}); err != nil {
		t.Fatal(err)
	}
	s = eventually(t, f.m, "every ack counted", func(s Snapshot) bool { return findSub(t, s, topic, "s").Acked == 3 })
	if c, _ := consumerOf(s, stream); c.Pending != 0 {
		t.Fatalf("pending %d after settling everything", c.Pending)
	}
	if sub := findSub(t, s, topic, "s"); sub.Nacked != 1 || sub.Redelivered != 1 || sub.Pending != 0 {
		t.Fatalf("subscription %+v", sub)
	}

	// Settling again, or what does not exist, is ErrNotPending naming the messages by offset, as users know
	// them (the console's sequence numbers are its own); the others are settled.
	err := f.m.Ack(ctx, stream, []uint64{1})
	if !errors.Is(err, ErrNotPending) || err.Error() != "ack 1 message of "+topic+": messages not pending: offset 0 (acked)" {
		t.Fatalf("a second ack: %v", err)
	}
	err = f.m.Nack(ctx, stream, []uint64{3, 99}, time.Second, "x")
	if want := "nack 2 messages of " + topic + ": messages not pending: offset 2 (acked), 1 no longer kept by the console"; !errors.Is(err, ErrNotPending) || err.Error() != want {
		t.Fatalf("nack of settled messages: %v, want %s", err, want)
	}
	if err := f.m.Ack(ctx, "nope", []uint64{1}); !errors.Is(err, ErrNotPending) {
		t.Fatalf("an unknown stream: %v", err)
	}
	if err := f.m.Ack(ctx, stream, nil); err != nil {
		t.Fatalf("acking nothing: %v", err)
	}

	// The audit log has a line per message settled, in order.
	entries := audit.entries(t)
	want := []struct {
		action string
		seq    uint64
	}{{"ack", 1}, {"nack", 2}, {"ack", 4}, {"ack", 3}}
	if len(entries) != len(want) {
		t.Fatalf("%d audit entries: %v", len(entries), entries)
	}
	for i, w := range want {
		e := entries[i]
		g, _ := f.m.Message(stream, w.seq)
		if e["action"] != w.action || e["seq"] != float64(w.seq) || e["offset"] != float64(g.Offset) || e["topic"] != topic ||
			e["subscription"] != "s" || e["consumer"] != "tap" || e["error"] != nil {
			t.Errorf("audit entry %d: %v", i, e)
		}
		if at, err := time.Parse(time.RFC3339Nano, e["time"].(string)); err != nil || time.Since(at) > time.Minute {
			t.Errorf("audit entry %d: time %v (%v)", i, e["time"], err)
		}
		if _, has := e["delay_ms"]; has != (w.action == "nack") {
			t.Errorf("audit entry %d: delay_ms %v", i, e["delay_ms"])
		}
	}
	if e := entries[1]; e["delay_ms"] != float64(0) || e["reason"] != "try again" {
		t.Errorf("nack entry %v", e)
	}

	// Stopping the tap keeps the stream, marked manual-ack; a new tap of another subscription works.
	if err := f.m.StopConsumer(ctx, "tap"); err != nil {
		t.Fatal(err)
	}
	if c, _ := consumerOf(f.m.Snapshot(), stream); !c.ManualAck || c.State != ConsumerClosed {
		t.Fatalf("stopped tap %+v", c)
	}
}

// A message left pending past the ack timeout is delivered again: the older entry expires, the newer one is
// pending, and acking it settles the message.
func TestManualAckExpiryAgainstBroker(t *testing.T) {
	policy := quickPolicy
	policy.AckTimeout = 300 * time.Millisecond
	f := startWith(t, broker.Options{FailurePolicy: policy}, Options{})
	ctx := ctxT(t)
	const topic = "/default/expiry"
	p := f.producer(t, topic, "p", true)
	if err := f.m.StartConsumer(ctx, ConsumerSpec{Name: "tap", Topic: topic, Subscription: "s", ManualAck: true}); err != nil {
		t.Fatal(err)
	}
	stream := StreamID(topic, "s", "tap")
	if _, err := p.Send(ctx, []byte("once")); err != nil {
		t.Fatal(err)
	}
	eventually(t, f.m, "a redelivery", func(Snapshot) bool { _, ok := f.m.Message(stream, 2); return ok })
	first, _ := f.m.Message(stream, 1)
	second, _ := f.m.Message(stream, 2)
	if first.State != StateExpired || second.State != StatePending || !second.Redelivered || second.Offset != first.Offset ||
		!first.AckDeadline.Equal(first.ReceivedAt.Add(policy.AckTimeout)) {
		t.Fatalf("first %+v, second %+v", first, second)
	}
	if c, _ := consumerOf(f.m.Snapshot(), stream); c.Pending != 1 || c.AckTimeout != policy.AckTimeout {
		t.Fatalf("consumer %+v", c)
	}
	if err := f.m.Ack(ctx, stream, []uint64{1}); !errors.Is(err, ErrNotPending) {
		t.Fatalf("acking the expired entry: %v", err)
	}
	if err := f.m.Ack(ctx, stream, []uint64{2}); err != nil {
		t.Fatal(err)
	}
	// Settled: the broker holds nothing unacknowledged, so no more redeliveries.
	var info broker.TopicInfo
	testenv.Eventually(t, 10*time.Second, func() bool {
		info, _ = f.srv.Topic(topic)
		return len(info.Subscriptions) == 1 && info.Subscriptions[0].InFlight == 0 && info.Subscriptions[0].Waiting == 0
	}, "the subscription still holds messages: %+v", &info)
	if c, _ := consumerOf(f.m.Snapshot(), stream); c.Received != 2 || c.Pending != 0 {
		t.Fatalf("after the ack: %+v", c)
	}
}

// A manual-ack tap stops taking messages with maxPending pending, and goes on when they are settled: none
// is lost.
func TestManualAckBackpressureAgainstBroker(t *testing.T) {
	f := startWith(t, broker.Options{FailurePolicy: quickPolicy, MaxUnackedMessages: 1000}, Options{}, client.WithReceiveBuffer(1))
	f.m.maxPending = 5
	ctx := ctxT(t)
	const topic, total = "/default/backpressure", 40
	p := f.producer(t, topic, "p", true)
	if err := f.m.StartConsumer(ctx, ConsumerSpec{Name: "tap", Topic: topic, Subscription: "s", ManualAck: true}); err != nil {
		t.Fatal(err)
	}
	stream := StreamID(topic, "s", "tap")
	for i := range total {
		if _, err := p.Send(ctx, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, f.m, "the tap's first messages", func(s Snapshot) bool { c, _ := consumerOf(s, stream); return c.Pending >= 5 })
	time.Sleep(200 * time.Millisecond) // a quiet period in which more could be taken: nothing to wait for
	// maxPending taken, one in the client's buffer, one waiting to be buffered.
	if c, _ := consumerOf(f.m.Snapshot(), stream); c.Pending > 5+2 {
		t.Fatalf("%d pending with a maximum of 5", c.Pending)
	}
	acked := map[string]bool{}
	testenv.Eventually(t, 15*time.Second, func() bool {
		var seqs []uint64
		for _, g := range messagesOf(f.m, stream) {
			if g.State == StatePending {
				seqs = append(seqs, g.Seq)
				acked[string(g.Payload)] = true
			}
		}
		if err := f.m.Ack(ctx, stream, seqs); err != nil {
			t.Fatal(err)
		}
		return len(acked) == total
	}, "every message acked")
	if c, _ := consumerOf(f.m.Snapshot(), stream); c.Received != total {
		t.Fatalf("%d received, want %d (redeliveries?)", c.Received, total)
	}
}

// sendAll publishes payloads with keys "k<i>" and attributes {"i": "<i>"}.
func sendAll(t *testing.T, p *client.Producer, payloads ...string) {
	t.Helper()
	for i, pl := range payloads {
		if _, err := p.Send(ctxT(t), []byte(pl), client.WithKey(fmt.Sprint("k", i)), client.WithAttributes(map[string]string{"i": fmt.Sprint(i)})); err != nil {
			t.Fatal(err)
		}
	}
}

// Replay re-publishes messages to another topic (with key, attributes and x-replayed-from) or to their own,
// choosing each topic's dispatch strategy with or without the admin API.
func TestReplayAgainstBroker(t *testing.T) {
	f := start(t, Options{})
	ctx := ctxT(t)
	const src, dst = "/default/replay-src", "/default/replay-dst"
	p := f.producer(t, src, "p", true)
	srcCons := f.consumer(t, src, "s", "c")
	sendAll(t, p, "a", "b", "c")
	receive(t, srcCons, 3)
	stream := StreamID(src, "s", "c")
	msgs := messagesOf(f.m, stream)
	if len(msgs) != 3 {
		t.Fatalf("%d messages", len(msgs))
	}
	// A message without a key keeps none.
	msgs[2].HasKey, msgs[2].Key = false, ""

	if err := f.admin.CreateTopic(ctx, dst, client.TopicOptions{Reliable: false}); err != nil {
		t.Fatal(err)
	}
	dstCons := f.consumer(t, dst, "s", "c")
	var calls [][2]int
	res, err := f.m.Replay(ctx, msgs, dst, func(done, total int) { calls = append(calls, [2]int{done, total}) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 3 || res.Bytes != 3 || !slices.Equal(res.Topics, []string{dst}) {
		t.Fatalf("result %+v", res)
	}
	if !slices.Equal(calls, [][2]int{{1, 3}, {2, 3}, {3, 3}}) {
		t.Fatalf("progress %v", calls)
	}
	got := receive(t, dstCons, 3)
	for i, g := range got {
		want := maps.Clone(msgs[i].Attributes)
		want[AttrReplayedFrom] = fmt.Sprintf("%s@%d", src, msgs[i].Offset)
		if string(g.Payload) != string(msgs[i].Payload) || g.HasRoutingKey != msgs[i].HasKey || g.RoutingKey != msgs[i].Key ||
			!maps.Equal(g.Attributes, want) || g.ID.Topic != dst {
			t.Fatalf("replayed %d: %+v (attributes %v), want key %q/%v attributes %v", i, g, g.Attributes, msgs[i].Key, msgs[i].HasKey, want)
		}
	}
	// The kept messages are unchanged.
	for _, g := range messagesOf(f.m, stream) {
		if _, ok := g.Attributes[AttrReplayedFrom]; ok {
			t.Fatalf("Replay changed a kept message's attributes: %v", g.Attributes)
		}
	}

	// To their own topic ("").
	res, err = f.m.Replay(ctx, msgs[:2], "", nil)
	if err != nil || res.Sent != 2 || !slices.Equal(res.Topics, []string{src}) {
		t.Fatalf("replay to the own topic: %+v, %v", res, err)
	}
	back := receive(t, srcCons, 2)
	for i, g := range back {
		if g.Attributes[AttrReplayedFrom] != fmt.Sprintf("%s@%d", src, msgs[i].Offset) || g.ID.Offset <= msgs[2].Offset {
			t.Fatalf("replayed to its own topic: %+v", g)
		}
	}

	// Without the admin API: the dispatch strategy is found by trying; a new topic is created reliable.
	f.m.Attach(f.c, nil, nil)
	if res, err := f.m.Replay(ctx, msgs[:1], dst, nil); err != nil || res.Sent != 1 {
		t.Fatalf("replay to a non-reliable topic without admin: %+v, %v", res, err)
	}
	receive(t, dstCons, 1)
	if res, err := f.m.Replay(ctx, msgs[:1], "/default/replay-new", nil); err != nil || res.Sent != 1 {
		t.Fatalf("replay to a new topic: %+v, %v", res, err)
	}
	if d, err := f.admin.DescribeTopic(ctx, "/default/replay-new"); err != nil || !d.Reliable {
		t.Fatalf("the new topic: %+v, %v", d, err)
	}

	// A failure stops it, with what was sent.
	res, err = f.m.Replay(ctx, msgs, "/nonamespace/x", nil)
	if err == nil || res.Sent != 0 || !errors.Is(err, client.ErrNamespaceNotFound) {
		t.Fatalf("replay to a missing namespace: %+v, %v", res, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if res, err := f.m.Replay(cctx, msgs, dst, nil); !errors.Is(err, context.Canceled) || res.Sent != 0 {
		t.Fatalf("replay with a cancelled context: %+v, %v", res, err)
	}
}

// A replayed message keeps its schema id and version: a topic of the same subject whose validation policy
// is enforce takes it, as it took the original.
func TestReplayKeepsTheSchema(t *testing.T) {
	f := start(t, Options{})
	ctx := ctxT(t)
	const topic = "/default/replay-schema"
	reg := f.c.Schemas()
	id, _, _, err := reg.Register(ctx, "replay-value", "json_schema", []byte(`{"type":"object"}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.c.NewProducer(ctx, client.ProducerConfig{Topic: topic, Name: "p", Dispatch: client.Reliable, SchemaSubject: "replay-value"})
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.SetValidation(ctx, topic, "enforce", false); err != nil {
		t.Fatal(err)
	}
	cons := f.consumer(t, topic, "s", "c")
	sendAll(t, p, `{"a":1}`)
	receive(t, cons, 1)
	msgs := messagesOf(f.m, StreamID(topic, "s", "c"))
	if len(msgs) != 1 || msgs[0].SchemaID != id || msgs[0].SchemaVersion != 1 {
		t.Fatalf("kept %+v, want schema %d/1", msgs, id)
	}
	if res, err := f.m.Replay(ctx, msgs, "", nil); err != nil || res.Sent != 1 {
		t.Fatalf("replay to an enforce topic: %+v, %v", res, err)
	}
	if g := receive(t, cons, 1)[0]; g.SchemaID != id || g.SchemaVersion != 1 {
		t.Errorf("replayed message's schema %v/%v, want %d/1", g.SchemaID, g.SchemaVersion, id)
	}
}

// Produce publishes one message with the topic's dispatch strategy.
func TestProduceAgainstBroker(t *testing.T) {
	f := start(t, Options{})
	ctx := ctxT(t)
	// A new topic is created reliable.
	if err := f.m.Produce(ctx, "/default/prod-new", []byte("first")); err != nil {
		t.Fatal(err)
	}
	if d, err := f.admin.DescribeTopic(ctx, "/default/prod-new"); err != nil || !d.Reliable {
		t.Fatalf("the new topic: %+v, %v", d, err)
	}
	cons := f.consumer(t, "/default/prod-new", "s", "c")
	if err := f.m.Produce(ctx, "/default/prod-new", []byte("second")); err != nil {
		t.Fatal(err)
	}
	if g := receive(t, cons, 1)[0]; string(g.Payload) != "second" {
		t.Fatalf("received %q", g.Payload)
	}
	// A non-reliable topic, with and without the admin API.
	f.producer(t, "/default/prod-nr", "p", false)
	nr := f.consumer(t, "/default/prod-nr", "s", "c")
	if err := f.m.Produce(ctx, "/default/prod-nr", []byte("with admin")); err != nil {
		t.Fatal(err)
	}
	f.m.Attach(f.c, nil, nil)
	if err := f.m.Produce(ctx, "/default/prod-nr", []byte("without admin")); err != nil {
		t.Fatal(err)
	}
	if g := receive(t, nr, 2); string(g[0].Payload) != "with admin" || string(g[1].Payload) != "without admin" {
		t.Fatalf("received %q, %q", g[0].Payload, g[1].Payload)
	}
	// A partitioned topic's base name.
	pp, err := f.c.NewProducer(ctx, client.ProducerConfig{Topic: "/default/prod-parted", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer pp.Close(context.Background())
	parted := f.consumer(t, "/default/prod-parted", "s", "c")
	f.m.Attach(f.c, f.admin, nil)
	if err := f.m.Produce(ctx, "/default/prod-parted", []byte("to a partition")); err != nil {
		t.Fatal(err)
	}
	if g := receive(t, parted, 1)[0]; string(g.Payload) != "to a partition" || !strings.HasPrefix(g.ID.Topic, "/default/prod-parted-part-") {
		t.Fatalf("received %q on %s", g.Payload, g.ID.Topic)
	}
	if err := f.m.Produce(ctx, "/nonamespace/x", []byte("x")); !errors.Is(err, client.ErrNamespaceNotFound) {
		t.Fatalf("a missing namespace: %v", err)
	}
	if s := f.m.Snapshot(); !strings.Contains(s.LastError, "produce: create producer console-produce on /nonamespace/x: ") {
		t.Fatalf("last error %q", s.LastError)
	}
}

// SchemaSubject asks the registry once per id.
func TestSchemaSubjectAgainstBroker(t *testing.T) {
	f := start(t, Options{})
	ctx := ctxT(t)
	id, _, _, err := f.c.Schemas().Register(ctx, "orders-value", "json_schema", []byte(`{"type":"object"}`))
	if err != nil {
		t.Fatal(err)
	}
	if subject, err := f.m.SchemaSubject(ctx, id); err != nil || subject != "orders-value" {
		t.Fatalf("SchemaSubject(%d) = %q, %v", id, subject, err)
	}
	if subject, err := f.m.SchemaSubject(ctx, id+1000); err != nil || subject != "" {
		t.Fatalf("an unknown id: %q, %v", subject, err)
	}
	if subject, err := f.m.SchemaSubject(ctx, 0); err != nil || subject != "" {
		t.Fatalf("id 0: %q, %v", subject, err)
	}
	// Answers are cached; without a registry, the others fail.
	f.m.Attach(nil, nil, nil)
	if subject, err := f.m.SchemaSubject(ctx, id); err != nil || subject != "orders-value" {
		t.Fatalf("cached: %q, %v", subject, err)
	}
	if subject, err := f.m.SchemaSubject(ctx, id+1); !errors.Is(err, ErrNoClient) || subject != "" {
		t.Fatalf("without a registry: %q, %v", subject, err)
	}
	// Through the admin client's registry.
	f.m.Attach(nil, f.admin, nil)
	id2, _, _, err := f.c.Schemas().Register(ctx, "users-value", "string", nil)
	if err != nil {
		t.Fatal(err)
	}
	if subject, err := f.m.SchemaSubject(ctx, id2); err != nil || subject != "users-value" {
		t.Fatalf("through the admin client: %q, %v", subject, err)
	}
}

// Query filters the messages a consumer really received.
func TestQueryAgainstBroker(t *testing.T) {
	f := start(t, Options{})
	const topic = "/default/query"
	p := f.producer(t, topic, "p", false)
	cons := f.consumer(t, topic, "s", "c")
	var payloads []string
	for i := range 30 {
		status := "ok"
		if i%3 == 0 {
			status = "failed"
		}
		payloads = append(payloads, fmt.Sprintf(`{"n":%d,"status":"%s","note":"Order %d"}`, i, status, i))
	}
	payloads = append(payloads, "not json: failed")
	sendAll(t, p, payloads...)
	receive(t, cons, len(payloads))
	stream := StreamID(topic, "s", "c")
	for _, c := range []struct {
		filter  string
		matches int
		last    string // the newest match's payload prefix
	}{
		{"", 31, "not json"},
		{"failed", 11, "not json"},
		{"$.status == failed", 10, `{"n":27,`},
		{"-$.status == failed", 21, "not json"},
		{"$.n >= 25 order", 5, `{"n":29,`},
		{"key:k1*", 11, `{"n":19,`},
		{"attr:i=7", 1, `{"n":7,`},
		{`"order 2" -$.n == 2`, 10, `{"n":29,`},
		{"nothing-matches", 0, ""},
	} {
		flt, err := filter.Parse(c.filter)
		if err != nil {
			t.Fatal(err)
		}
		r := f.m.Query(stream, flt, 3)
		if r.Matches != c.matches || r.Kept != 31 || r.Total != 31 || len(r.Messages) != min(3, c.matches) {
			t.Fatalf("Query(%q): matches %d, kept %d, total %d, %d messages", c.filter, r.Matches, r.Kept, r.Total, len(r.Messages))
		}
		for i, g := range r.Messages {
			if !flt.Match(filter.Fields{Payload: g.Payload, Key: g.Key, HasKey: g.HasKey, Attributes: g.Attributes}) ||
				i > 0 && g.Seq <= r.Messages[i-1].Seq {
				t.Fatalf("Query(%q): message %d %+v", c.filter, i, g)
			}
		}
		if c.matches > 0 && !strings.HasPrefix(string(r.Messages[len(r.Messages)-1].Payload), c.last) {
			t.Fatalf("Query(%q): newest match %q", c.filter, r.Messages[len(r.Messages)-1].Payload)
		}
	}
	// Filtering removed nothing.
	if msgs, total := f.m.Messages(stream, 100); len(msgs) != 31 || total != 31 {
		t.Fatalf("after filtering: %d messages, total %d", len(msgs), total)
	}
}

// A read-only monitor refuses the new actions that change state, and still exports.
func TestReadOnlyRefusesInspectActions(t *testing.T) {
	f := start(t, Options{ReadOnly: true})
	ctx := ctxT(t)
	msgs := []Message{{Topic: "/default/ro", Payload: []byte("x")}}
	_, replayErr := f.m.Replay(ctx, msgs, "", nil)
	for name, err := range map[string]error{
		"Ack":     f.m.Ack(ctx, "s", []uint64{1}),
		"Nack":    f.m.Nack(ctx, "s", []uint64{1}, 0, ""),
		"Replay":  replayErr,
		"Produce": f.m.Produce(ctx, "/default/ro", []byte("x")),
	} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s: %v, want ErrReadOnly", name, err)
		}
	}
	if _, err := f.admin.DescribeTopic(ctx, "/default/ro"); !errors.Is(err, client.ErrTopicNotFound) {
		t.Fatalf("a read-only monitor created the topic: %v", err)
	}
	if n, err := f.m.Export(t.TempDir()+"/x.jsonl", msgs); err != nil || n != 1 {
		t.Fatalf("Export: %d, %v", n, err)
	}
	if s := f.m.Snapshot(); s.LastError != "" {
		t.Fatalf("last error %q", s.LastError)
	}
}

// On a non-reliable topic (every offset 0), a manual-ack tap keeps each message pending: none is taken for
// a redelivery.
func TestManualAckNonReliableAgainstBroker(t *testing.T) {
	f := start(t, Options{})
	ctx := ctxT(t)
	const topic = "/default/manual-nr"
	p := f.producer(t, topic, "p", false)
	if err := f.m.StartConsumer(ctx, ConsumerSpec{Name: "tap", Topic: topic, Subscription: "s", ManualAck: true}); err != nil {
		t.Fatal(err)
	}
	stream := StreamID(topic, "s", "tap")
	sendAll(t, p, "a", "b", "c")
	s := eventually(t, f.m, "3 pending", func(s Snapshot) bool { c, _ := consumerOf(s, stream); return c.Pending == 3 })
	if c, _ := consumerOf(s, stream); c.AckTimeout != 0 || !c.ManualAck {
		t.Fatalf("consumer %+v", c)
	}
	for _, g := range messagesOf(f.m, stream) {
		if g.State != StatePending || g.Redelivered || g.Offset != 0 || !g.AckDeadline.IsZero() {
			t.Fatalf("message %+v", g)
		}
	}
	if err := f.m.Ack(ctx, stream, []uint64{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	for _, g := range messagesOf(f.m, stream) {
		if g.State != StateAcked {
			t.Fatalf("message %+v", g)
		}
	}
}

// Unsubscribe deletes a tap's subscription once the tap stopped (every partition's, for a partitioned
// topic); the broker refuses while the tap is connected; read-only mode refuses it.
func TestUnsubscribeAgainstBroker(t *testing.T) {
	f := start(t, Options{})
	ctx := ctxT(t)
	if err := f.admin.CreateTopic(ctx, "/default/unsub", client.TopicOptions{Reliable: true, Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	if err := f.m.StartConsumer(ctx, ConsumerSpec{Name: "tap-1", Topic: "/default/unsub", Subscription: "keep"}); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Unsubscribe(ctx, "/default/unsub", "keep"); err == nil {
		t.Fatal("Unsubscribe while the tap is connected succeeded")
	}
	if err := f.m.StopConsumer(ctx, "tap-1"); err != nil {
		t.Fatal(err)
	}
	subsOf := func(p string) []string {
		subs, err := f.admin.Subscriptions(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return subs
	}
	for _, p := range []string{"/default/unsub-part-0", "/default/unsub-part-1"} {
		if got := subsOf(p); !slices.Equal(got, []string{"keep"}) {
			t.Fatalf("%s before: subscriptions %q", p, got)
		}
	}
	if err := f.m.Unsubscribe(ctx, "/default/unsub", "keep"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/default/unsub-part-0", "/default/unsub-part-1"} {
		if got := subsOf(p); len(got) != 0 {
			t.Errorf("%s after: subscriptions %q", p, got)
		}
	}

	ro := start(t, Options{ReadOnly: true})
	if err := ro.m.Unsubscribe(ctx, "/default/unsub", "keep"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only: %v", err)
	}
	noAdmin := start(t, Options{})
	noAdmin.m.Attach(noAdmin.c, nil, nil)
	if err := noAdmin.m.Unsubscribe(ctx, "/default/unsub", "keep"); !errors.Is(err, ErrNoAdmin) {
		t.Errorf("no admin: %v", err)
	}
}
