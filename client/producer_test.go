package client

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// ---- helpers (prefixed prodTest so that they do not clash with the other files' tests) ----

// prodTestCtx is a context for one test, cancelled when it ends.
func prodTestCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// prodTestClient connects a Client to srv and closes it when the test ends.
func prodTestClient(t *testing.T, srv *broker.Server, opts ...Option) *Client {
	t.Helper()
	c, err := Connect(context.Background(), srv.URL(), opts...)
	if err != nil {
		t.Fatalf("Connect(%s): %v", srv.URL(), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// prodTestProducer creates a producer and closes it when the test ends.
func prodTestProducer(t *testing.T, c *Client, cfg ProducerConfig) *Producer {
	t.Helper()
	p, err := c.NewProducer(prodTestCtx(t), cfg)
	if err != nil {
		t.Fatalf("NewProducer(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := p.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// prodTestSub subscribes a raw consumer to topic and streams what it receives, acking each message when
// ack is set. Everything it starts ends with the test.
func prodTestSub(t *testing.T, w brokertest.Clients, topic, sub string, ack bool) <-chan *danubepb.StreamMessage {
	t.Helper()
	resp, err := w.Consumer.Subscribe(context.Background(), &danubepb.ConsumerRequest{TopicName: topic, Subscription: sub,
		ConsumerName: "raw-" + sub, SubscriptionType: danubepb.ConsumerRequest_Exclusive})
	if err != nil {
		t.Fatalf("Subscribe %s/%s: %v", topic, sub, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rs, err := w.Consumer.ReceiveMessages(ctx, &danubepb.ReceiveRequest{ConsumerId: resp.ConsumerId})
	if err != nil {
		cancel()
		t.Fatalf("ReceiveMessages: %v", err)
	}
	out := make(chan *danubepb.StreamMessage, 10000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := rs.Recv()
			if err != nil {
				return
			}
			if ack {
				if _, err := w.Consumer.Ack(ctx, &danubepb.AckRequest{RequestId: m.RequestId, MsgId: m.MsgId, SubscriptionName: sub}); err != nil {
					return
				}
			}
			select {
			case out <- m:
			default:
				t.Errorf("raw consumer of %s: buffer full", topic)
				return
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return out
}

// prodTestRecv takes n messages from ch.
func prodTestRecv(t *testing.T, ch <-chan *danubepb.StreamMessage, n int) []*danubepb.StreamMessage {
	t.Helper()
	var out []*danubepb.StreamMessage
	timeout := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case m := <-ch:
			out = append(out, m)
		case <-timeout:
			t.Fatalf("received %d messages, want %d", len(out), n)
		}
	}
	return out
}

// prodTestNone fails if ch delivers a message within d.
func prodTestNone(t *testing.T, ch <-chan *danubepb.StreamMessage, d time.Duration) {
	t.Helper()
	select {
	case m := <-ch:
		t.Fatalf("unexpected message %q on %s", m.Payload, m.GetMsgId().GetTopicName())
	case <-time.After(d):
	}
}

// prodTestRawID returns the id the broker has for producer name on topic (CreateProducer with an existing
// name answers the existing id).
func prodTestRawID(t *testing.T, w brokertest.Clients, topic, name string, d DispatchStrategy) uint64 {
	t.Helper()
	resp, err := w.Producer.CreateProducer(context.Background(), &danubepb.ProducerRequest{ProducerName: name, TopicName: topic,
		DispatchStrategy: danubepb.DispatchStrategy(d)})
	if err != nil {
		t.Fatalf("raw CreateProducer %s on %s: %v", name, topic, err)
	}
	return resp.ProducerId
}

// prodTestCalls counts (and can hold) the client's calls of one gRPC method, through a unary interceptor.
type prodTestCalls struct {
	method string
	mu     sync.Mutex
	n      int
	errs   []error
	gate   chan struct{} // when not nil, calls wait for it to be closed
	cur    atomic.Int64  // calls in progress
	peak   atomic.Int64
}

func (pc *prodTestCalls) option() Option {
	return WithDialOptions(grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any,
		cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if !strings.HasSuffix(method, "/"+pc.method) {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		n := pc.cur.Add(1)
		defer pc.cur.Add(-1)
		for {
			p := pc.peak.Load()
			if n <= p || pc.peak.CompareAndSwap(p, n) {
				break
			}
		}
		pc.mu.Lock()
		pc.n++
		gate := pc.gate
		pc.mu.Unlock()
		if gate != nil {
			select {
			case <-gate:
			case <-ctx.Done():
				return status.FromContextError(ctx.Err()).Err()
			}
		}
		err := invoker(ctx, method, req, reply, cc, opts...)
		pc.mu.Lock()
		pc.errs = append(pc.errs, err)
		pc.mu.Unlock()
		return err
	}))
}

func (pc *prodTestCalls) count() int {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.n
}

func (pc *prodTestCalls) errList() []error {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return slices.Clone(pc.errs)
}

// prodTestObserver records producer, send and health events.
type prodTestObserver struct {
	NopObserver
	mu       sync.Mutex
	producer []ProducerEvent
	sends    []SendEvent
	health   []HealthEvent
}

// Inline: the recorder only takes a mutex, so the client calls it directly and the tests see events at once.
func (o *prodTestObserver) Inline() {}

func (o *prodTestObserver) OnProducer(e ProducerEvent) {
	o.mu.Lock()
	o.producer = append(o.producer, e)
	o.mu.Unlock()
}

func (o *prodTestObserver) OnSend(e SendEvent) {
	o.mu.Lock()
	o.sends = append(o.sends, e)
	o.mu.Unlock()
}

func (o *prodTestObserver) OnHealth(e HealthEvent) {
	o.mu.Lock()
	o.health = append(o.health, e)
	o.mu.Unlock()
}

func (o *prodTestObserver) producerKinds() []ProducerEventKind {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []ProducerEventKind
	for _, e := range o.producer {
		out = append(out, e.Kind)
	}
	return out
}

func (o *prodTestObserver) sawHealth(s HealthStatus) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range o.health {
		if e.Status == s {
			return true
		}
	}
	return false
}

// prodTestFNV is an independent FNV-1a-64 (the standard library's).
func prodTestFNV(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// ---- tests ----

// The wire fields of a message, as the official Go client sends them, on a non-reliable topic.
func TestProducerWireFieldsNonReliable(t *testing.T) {
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{})
	w := brokertest.Dial(t, srv)
	c := prodTestClient(t, srv)
	topic := "/default/wire"
	p := prodTestProducer(t, c, ProducerConfig{Topic: topic, Name: "wire-prod"})
	if p.Topic() != topic || p.Name() != "wire-prod" || !slices.Equal(p.Partitions(), []string{topic}) {
		t.Fatalf("Topic/Name/Partitions = %q %q %v", p.Topic(), p.Name(), p.Partitions())
	}
	info, ok := srv.Topic(topic)
	if !ok || info.Reliable || info.Producers != 1 {
		t.Fatalf("topic info %+v, %v", info, ok)
	}
	msgs := prodTestSub(t, w, topic, "s", false)
	before := uint64(time.Now().UnixMilli())
	for i := range 3 {
		res, err := p.Send(ctx, []byte(fmt.Sprintf("m%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		if res.RequestID != uint64(i+1) || res.Topic != topic {
			t.Fatalf("send %d: result %+v", i, res)
		}
	}
	after := uint64(time.Now().UnixMilli())
	id := prodTestRawID(t, w, topic, "wire-prod", NonReliable)
	for i, m := range prodTestRecv(t, msgs, 3) {
		mid := m.GetMsgId()
		if string(m.Payload) != fmt.Sprintf("m%d", i) || m.RequestId != uint64(i+1) {
			t.Errorf("message %d: payload %q request id %d", i, m.Payload, m.RequestId)
		}
		if mid.GetProducerId() != id || mid.GetTopicName() != topic || mid.GetBrokerAddr() != srv.URL() || mid.GetTopicOffset() != 0 {
			t.Errorf("message %d: msg_id %v, want producer %d topic %s broker %s offset 0", i, mid, id, topic, srv.URL())
		}
		if m.ProducerName != "wire-prod" || m.SubscriptionName != "" || len(m.Attributes) != 0 {
			t.Errorf("message %d: producer %q subscription %q attributes %v", i, m.ProducerName, m.SubscriptionName, m.Attributes)
		}
		if m.RoutingKey != nil || m.SchemaId != nil || m.SchemaVersion != nil {
			t.Errorf("message %d: unexpected key/schema %v %v %v", i, m.RoutingKey, m.SchemaId, m.SchemaVersion)
		}
		if m.PublishTime < before || m.PublishTime > after {
			t.Errorf("message %d: publish time %d outside [%d, %d]", i, m.PublishTime, before, after)
		}
	}
}

// A reliable producer: offsets assigned by the broker, messages stored, a key, attributes.
func TestProducerReliableKeyAttributes(t *testing.T) {
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{})
	w := brokertest.Dial(t, srv)
	c := prodTestClient(t, srv)
	topic := "/default/rel"
	p := prodTestProducer(t, c, ProducerConfig{Topic: topic, Name: "rel", Dispatch: Reliable, AccessMode: AccessExclusive})
	msgs := prodTestSub(t, w, topic, "s", true)
	attrs := map[string]string{"k": "v", "trace": "abc"}
	if _, err := p.Send(ctx, []byte("a"), WithAttributes(attrs)); err != nil {
		t.Fatal(err)
	}
	attrs["k"] = "changed after the option was made"
	if _, err := p.SendWithKey(ctx, "user-7", []byte("b")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(ctx, []byte("c"), WithKey(""), WithAttributes(map[string]string{"x": "y"})); err != nil {
		t.Fatal(err)
	}
	got := prodTestRecv(t, msgs, 3)
	for i, m := range got {
		if m.GetMsgId().GetTopicOffset() != uint64(i) {
			t.Errorf("message %d: offset %d", i, m.GetMsgId().GetTopicOffset())
		}
	}
	if a := got[0].Attributes; len(a) != 2 || a["k"] != "v" || a["trace"] != "abc" || got[0].RoutingKey != nil {
		t.Errorf("message a: attributes %v key %v", a, got[0].RoutingKey)
	}
	if got[1].RoutingKey == nil || *got[1].RoutingKey != "user-7" || len(got[1].Attributes) != 0 {
		t.Errorf("message b: key %v attributes %v", got[1].RoutingKey, got[1].Attributes)
	}
	if got[2].RoutingKey == nil || *got[2].RoutingKey != "" || got[2].Attributes["x"] != "y" {
		t.Errorf("message c: key %v attributes %v", got[2].RoutingKey, got[2].Attributes)
	}
	info, _ := srv.Topic(topic)
	if !info.Reliable || info.NextOffset != 3 {
		t.Fatalf("topic info %+v", info)
	}
}

// Two producers with the same name share the broker's producer id; the request ids are each producer's own.
func TestProducerSameNameSameID(t *testing.T) {
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{})
	w := brokertest.Dial(t, srv)
	topic := "/default/same"
	p1 := prodTestProducer(t, prodTestClient(t, srv), ProducerConfig{Topic: topic, Name: "twin"})
	p2 := prodTestProducer(t, prodTestClient(t, srv), ProducerConfig{Topic: topic, Name: "twin"})
	msgs := prodTestSub(t, w, topic, "s", false)
	if _, err := p1.Send(ctx, []byte("1")); err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Send(ctx, []byte("2")); err != nil {
		t.Fatal(err)
	}
	got := prodTestRecv(t, msgs, 2)
	if a, b := got[0].GetMsgId().GetProducerId(), got[1].GetMsgId().GetProducerId(); a != b || a == 0 {
		t.Fatalf("producer ids %d and %d, want one id", a, b)
	}
	if info, _ := srv.Topic(topic); info.Producers != 1 {
		t.Fatalf("%d producers on the topic, want 1", info.Producers)
	}
	// A default name is random.
	p3 := prodTestProducer(t, prodTestClient(t, srv), ProducerConfig{Topic: topic})
	if !strings.HasPrefix(p3.Name(), "producer-") || len(p3.Name()) != len("producer-")+16 {
		t.Fatalf("default name %q", p3.Name())
	}
}

// A partitioned producer creates <topic>-part-i with producers <name>-i and sends round-robin from
// partition 0.
func TestProducerPartitionsRoundRobin(t *testing.T) {
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{})
	w := brokertest.Dial(t, srv)
	c := prodTestClient(t, srv)
	topic := "/default/parts"
	p := prodTestProducer(t, c, ProducerConfig{Topic: topic, Name: "pp", Partitions: 3})
	want := []string{topic + "-part-0", topic + "-part-1", topic + "-part-2"}
	if !slices.Equal(p.Partitions(), want) || p.Topic() != topic {
		t.Fatalf("Partitions() = %v, Topic() = %q", p.Partitions(), p.Topic())
	}
	for _, name := range want {
		if info, ok := srv.Topic(name); !ok || info.Producers != 1 {
			t.Fatalf("partition %s: %+v %v", name, info, ok)
		}
	}
	if _, ok := srv.Topic(topic); ok {
		t.Fatalf("the base topic %s exists", topic)
	}
	subs := make([]<-chan *danubepb.StreamMessage, 3)
	for i, name := range want {
		subs[i] = prodTestSub(t, w, name, "s", false)
	}
	for i := range 7 {
		res, err := p.Send(ctx, []byte(fmt.Sprint(i)))
		if err != nil {
			t.Fatal(err)
		}
		if res.Topic != want[i%3] || res.RequestID != uint64(i/3+1) {
			t.Fatalf("send %d: %+v, want %s request %d", i, res, want[i%3], i/3+1)
		}
	}
	for part, ch := range subs {
		n := 2
		if part == 0 {
			n = 3
		}
		for j, m := range prodTestRecv(t, ch, n) {
			if string(m.Payload) != fmt.Sprint(part+3*j) || m.ProducerName != fmt.Sprintf("pp-%d", part) ||
				m.GetMsgId().GetTopicName() != want[part] || m.RequestId != uint64(j+1) {
				t.Errorf("partition %d message %d: payload %q producer %q topic %q request %d", part, j, m.Payload, m.ProducerName,
					m.GetMsgId().GetTopicName(), m.RequestId)
			}
		}
		prodTestNone(t, ch, 20*time.Millisecond)
	}
}

// Keys choose partition FNV-1a-64(key) mod N.
func TestProducerKeyRouting(t *testing.T) {
	// Known FNV-1a-64 values, checked against two implementations.
	for s, h := range map[string]uint64{"": 0xcbf29ce484222325, "a": 0xaf63dc4c8601ec8c, "foobar": 0x85944171f73967e8} {
		if fnv1a64(s) != h || prodTestFNV(s) != h {
			t.Fatalf("FNV-1a-64(%q) = %#x / %#x, want %#x", s, fnv1a64(s), prodTestFNV(s), h)
		}
	}
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{})
	w := brokertest.Dial(t, srv)
	c := prodTestClient(t, srv)
	topic := "/default/keys"
	const n = 4
	p := prodTestProducer(t, c, ProducerConfig{Topic: topic, Name: "kp", Partitions: n})
	subs := make([]<-chan *danubepb.StreamMessage, n)
	for i, name := range p.Partitions() {
		subs[i] = prodTestSub(t, w, name, "s", false)
	}
	keys := []string{"", "a", "foobar", "user-1", "user-2", "user-3", "order-12345", "ключ", "z"}
	perPart := make([][]string, n)
	for _, k := range keys {
		part := int(prodTestFNV(k) % n)
		perPart[part] = append(perPart[part], k)
		res, err := p.SendWithKey(ctx, k, []byte(k))
		if err != nil {
			t.Fatal(err)
		}
		if res.Topic != p.Partitions()[part] {
			t.Fatalf("key %q went to %s, want %s", k, res.Topic, p.Partitions()[part])
		}
	}
	// The round-robin counter is not moved by keyed sends: the next plain send goes to partition 0.
	if res, err := p.Send(ctx, []byte("plain")); err != nil || res.Topic != p.Partitions()[0] {
		t.Fatalf("plain send: %+v %v", res, err)
	}
	perPart[0] = append(perPart[0], "plain")
	for part, ch := range subs {
		for j, m := range prodTestRecv(t, ch, len(perPart[part])) {
			if string(m.Payload) != perPart[part][j] {
				t.Errorf("partition %d message %d: %q, want %q", part, j, m.Payload, perPart[part][j])
			}
			if string(m.Payload) != "plain" && (m.RoutingKey == nil || *m.RoutingKey != perPart[part][j]) {
				t.Errorf("partition %d message %d: routing key %v", part, j, m.RoutingKey)
			}
		}
		prodTestNone(t, ch, 10*time.Millisecond)
	}
}

// A schema subject binds the topic and stamps schema id and version; a pinned version is stamped as pinned.
func TestProducerSchema(t *testing.T) {
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{})
	w := brokertest.Dial(t, srv)
	c := prodTestClient(t, srv)
	reg := c.Schemas()
	v1 := []byte(`{"type":"object","properties":{"a":{"type":"string"}}}`)
	v2 := []byte(`{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}}}`)
	id, ver, _, err := reg.Register(ctx, "orders", "json_schema", v1)
	if err != nil || ver != 1 {
		t.Fatalf("Register v1: %d %d %v", id, ver, err)
	}
	if _, ver, _, err = reg.Register(ctx, "orders", "json_schema", v2); err != nil || ver != 2 {
		t.Fatalf("Register v2: %d %v", ver, err)
	}

	latest := prodTestProducer(t, c, ProducerConfig{Topic: "/default/orders", Name: "latest", SchemaSubject: "orders"})
	pinned := prodTestProducer(t, c, ProducerConfig{Topic: "/default/orders", Name: "pinned", SchemaSubject: "orders", SchemaVersion: 1})
	if info, _ := srv.Topic("/default/orders"); info.SchemaSubject != "orders" {
		t.Fatalf("topic subject %q", info.SchemaSubject)
	}
	msgs := prodTestSub(t, w, "/default/orders", "s", false)
	if _, err := latest.Send(ctx, []byte(`{"a":"x","b":1}`), WithAttributes(map[string]string{"h": "1"})); err != nil {
		t.Fatal(err)
	}
	if _, err := pinned.SendWithKey(ctx, "k", []byte(`{"a":"y"}`)); err != nil {
		t.Fatal(err)
	}
	got := prodTestRecv(t, msgs, 2)
	if m := got[0]; m.SchemaId == nil || *m.SchemaId != id || m.SchemaVersion == nil || *m.SchemaVersion != 2 || m.Attributes["h"] != "1" {
		t.Errorf("latest: schema %v/%v attributes %v, want %d/2", m.SchemaId, m.SchemaVersion, m.Attributes, id)
	}
	if m := got[1]; m.SchemaId == nil || *m.SchemaId != id || m.SchemaVersion == nil || *m.SchemaVersion != 1 || m.GetRoutingKey() != "k" {
		t.Errorf("pinned: schema %v/%v key %v, want %d/1", m.SchemaId, m.SchemaVersion, m.RoutingKey, id)
	}

	// Unknown subject, unknown version, and a topic bound to another subject all match ErrSchema.
	if _, err := c.NewProducer(ctx, ProducerConfig{Topic: "/default/s2", SchemaSubject: "nope"}); !errors.Is(err, ErrSchema) {
		t.Errorf("unknown subject: %v", err)
	}
	if _, err := c.NewProducer(ctx, ProducerConfig{Topic: "/default/s2", SchemaSubject: "orders", SchemaVersion: 9}); !errors.Is(err, ErrSchema) {
		t.Errorf("unknown version: %v", err)
	}
	if _, _, _, err := reg.Register(ctx, "other", "string", nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.NewProducer(ctx, ProducerConfig{Topic: "/default/orders", SchemaSubject: "other"})
	if !errors.Is(err, ErrSchema) || status.Code(err) != codes.FailedPrecondition {
		t.Errorf("other subject: %v", err)
	}
}

// WithSchema stamps one message with a schema id and version instead of the producer's (none here): an
// enforce topic refuses the message without it and takes it with its subject's id, and the consumer
// receives what was stamped.
func TestSendWithSchema(t *testing.T) {
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{})
	w := brokertest.Dial(t, srv)
	c := prodTestClient(t, srv)
	reg := c.Schemas()
	id, _, _, err := reg.Register(ctx, "orders", "json_schema", []byte(`{"type":"object"}`))
	if err != nil {
		t.Fatal(err)
	}
	bound := prodTestProducer(t, c, ProducerConfig{Topic: "/default/orders", Name: "bound", SchemaSubject: "orders"})
	if err := reg.SetValidation(ctx, "/default/orders", "enforce", false); err != nil {
		t.Fatal(err)
	}
	msgs := prodTestSub(t, w, "/default/orders", "s", false)
	plain := prodTestProducer(t, c, ProducerConfig{Topic: "/default/orders", Name: "plain"})
	if _, err := plain.Send(ctx, []byte(`{}`)); !errors.Is(err, ErrPermissionDenied) {
		t.Fatalf("a message without a schema id on an enforce topic: %v, want ErrPermissionDenied", err)
	}
	if _, err := plain.Send(ctx, []byte(`{}`), WithSchema(id, 1)); err != nil {
		t.Fatalf("with the subject's schema id: %v", err)
	}
	if _, err := bound.Send(ctx, []byte(`{}`), WithSchema(id+100, 7)); !errors.Is(err, ErrPermissionDenied) {
		t.Errorf("WithSchema does not override the producer's schema: %v", err)
	}
	if m := prodTestRecv(t, msgs, 1)[0]; m.SchemaId == nil || *m.SchemaId != id || m.SchemaVersion == nil || *m.SchemaVersion != 1 {
		t.Errorf("received schema %v/%v, want %d/1", m.SchemaId, m.SchemaVersion, id)
	}
}

// SendAsync completes every message exactly once; Flush waits for them all.
func TestProducerSendAsync(t *testing.T) {
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{})
	obs := &prodTestObserver{}
	c := prodTestClient(t, srv, WithObserver(obs))
	topic := "/default/async"
	p := prodTestProducer(t, c, ProducerConfig{Topic: topic, Name: "async", Dispatch: Reliable, Partitions: 2, AsyncWindow: 16})
	const n = 500
	var calls [n]atomic.Int32
	var failed atomic.Int32
	reqIDs := make(map[string]map[uint64]bool)
	var mu sync.Mutex
	for i := range n {
		err := p.SendAsync(ctx, []byte(fmt.Sprint(i)), func(res SendResult, err error) {
			calls[i].Add(1)
			if err != nil {
				failed.Add(1)
				return
			}
			mu.Lock()
			if reqIDs[res.Topic] == nil {
				reqIDs[res.Topic] = map[uint64]bool{}
			}
			reqIDs[res.Topic][res.RequestID] = true
			mu.Unlock()
		}, WithAttributes(map[string]string{"i": fmt.Sprint(i)}))
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if got := calls[i].Load(); got != 1 {
			t.Fatalf("message %d: done called %d times", i, got)
		}
	}
	if failed.Load() != 0 {
		t.Fatalf("%d sends failed", failed.Load())
	}
	total := uint64(0)
	for _, name := range p.Partitions() {
		info, _ := srv.Topic(name)
		total += info.NextOffset
		if info.NextOffset != n/2 || len(reqIDs[name]) != n/2 {
			t.Errorf("%s: %d stored, %d request ids", name, info.NextOffset, len(reqIDs[name]))
		}
	}
	if total != n {
		t.Fatalf("%d messages stored, want %d", total, n)
	}
	// Flush with nothing in flight returns at once; so does a second one.
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	obs.mu.Lock()
	async := 0
	for _, e := range obs.sends {
		if e.Async && e.Err == nil {
			async++
		}
	}
	obs.mu.Unlock()
	if async != n {
		t.Fatalf("observer saw %d async sends, want %d", async, n)
	}
	// done may send again (it runs with its window place released).
	var chained atomic.Int32
	finished := make(chan struct{})
	small := prodTestProducer(t, c, ProducerConfig{Topic: "/default/async-chain", AsyncWindow: 1})
	var next func(i int) func(SendResult, error)
	next = func(i int) func(SendResult, error) {
		return func(_ SendResult, err error) {
			if err != nil {
				t.Error(err)
			}
			chained.Add(1)
			if i == 5 {
				close(finished)
				return
			}
			if err := small.SendAsync(ctx, []byte("x"), next(i+1)); err != nil {
				t.Error(err)
			}
		}
	}
	if err := small.SendAsync(ctx, []byte("x"), next(0)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-finished:
	case <-time.After(10 * time.Second):
		t.Fatal("chained async sends did not finish")
	}
	if err := small.Flush(ctx); err != nil || chained.Load() != 6 {
		t.Fatalf("Flush: %v, %d chained", err, chained.Load())
	}
}

// SendAsync blocks while AsyncWindow messages are in flight, until a send completes or its context ends.
func TestProducerAsyncBackpressure(t *testing.T) {
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{})
	calls := &prodTestCalls{method: "SendMessage", gate: make(chan struct{})}
	c := prodTestClient(t, srv, calls.option())
	p := prodTestProducer(t, c, ProducerConfig{Topic: "/default/window", AsyncWindow: 4})
	var done atomic.Int32
	cb := func(_ SendResult, err error) {
		if err != nil {
			t.Error(err)
		}
		done.Add(1)
	}
	for i := range 4 {
		if err := p.SendAsync(ctx, []byte(fmt.Sprint(i)), cb); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 5*time.Second, func() bool { return calls.cur.Load() == 4 }, "4 sends in flight")
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err := p.SendAsync(short, []byte("5th"), cb)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("5th SendAsync with a full window: %v, want DeadlineExceeded", err)
	}
	// A 5th send waits for a place, and gets one when the gate opens.
	accepted := make(chan error, 1)
	go func() { accepted <- p.SendAsync(ctx, []byte("5th"), cb) }()
	select {
	case err := <-accepted:
		t.Fatalf("SendAsync returned %v with a full window", err)
	case <-time.After(50 * time.Millisecond):
	}
	calls.mu.Lock()
	close(calls.gate)
	calls.gate = nil
	calls.mu.Unlock()
	if err := <-accepted; err != nil {
		t.Fatal(err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if done.Load() != 5 || calls.peak.Load() > 4 {
		t.Fatalf("%d done, peak %d in flight", done.Load(), calls.peak.Load())
	}
}

// Close is idempotent, flushes async sends and makes later sends fail with ErrClosed.
func TestProducerClose(t *testing.T) {
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{})
	calls := &prodTestCalls{method: "SendMessage", gate: make(chan struct{})}
	obs := &prodTestObserver{}
	c := prodTestClient(t, srv, calls.option(), WithObserver(obs), WithHealthInterval(10*time.Millisecond))
	p, err := c.NewProducer(ctx, ProducerConfig{Topic: "/default/close", Name: "closing"})
	if err != nil {
		t.Fatal(err)
	}
	var done atomic.Int32
	for range 3 {
		if err := p.SendAsync(ctx, []byte("x"), func(_ SendResult, err error) {
			if err != nil {
				t.Error(err)
			}
			done.Add(1)
		}); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 5*time.Second, func() bool { return obs.sawHealth(HealthOK) }, "a health check")
	closed := make(chan error, 1)
	go func() { closed <- p.Close(ctx) }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v with sends in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	if _, err := p.Send(ctx, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send while closing: %v", err)
	}
	calls.mu.Lock()
	close(calls.gate)
	calls.gate = nil
	calls.mu.Unlock()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if done.Load() != 3 {
		t.Fatalf("%d async sends completed before Close returned", done.Load())
	}
	if err := p.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := p.Send(ctx, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if _, err := p.SendWithKey(ctx, "k", []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("SendWithKey after Close: %v", err)
	}
	if err := p.SendAsync(ctx, []byte("x"), func(SendResult, error) { t.Error("done called for a refused message") }); !errors.Is(err, ErrClosed) {
		t.Fatalf("SendAsync after Close: %v", err)
	}
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	kinds := obs.producerKinds()
	if !slices.Equal(kinds, []ProducerEventKind{ProducerCreated, ProducerClosed}) {
		t.Fatalf("producer events %v", kinds)
	}
	// Health checks stopped with the producer: no new health event arrives.
	obs.mu.Lock()
	nh := len(obs.health)
	obs.mu.Unlock()
	time.Sleep(50 * time.Millisecond) // a quiet period of several health intervals: nothing to wait for
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.health) != nh {
		t.Fatalf("health events: %d at close, %d later", nh, len(obs.health))
	}
}

// A Close whose context ends abandons what is in flight: every done is still called once, with an error,
// and nothing keeps running.
func TestProducerCloseTimeout(t *testing.T) {
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{})
	calls := &prodTestCalls{method: "SendMessage", gate: make(chan struct{})}
	c := prodTestClient(t, srv, calls.option())
	p, err := c.NewProducer(ctx, ProducerConfig{Topic: "/default/close-timeout", AsyncWindow: 2})
	if err != nil {
		t.Fatal(err)
	}
	var errs [2]atomic.Value
	for i := range 2 {
		if err := p.SendAsync(context.Background(), []byte("x"), func(_ SendResult, err error) { errs[i].Store(fmt.Sprint(err)) }); err != nil {
			t.Fatal(err)
		}
	}
	blocked := make(chan error, 1)
	go func() {
		blocked <- p.SendAsync(ctx, []byte("x"), func(SendResult, error) { t.Error("done called for a refused message") })
	}()
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := p.Close(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v, want DeadlineExceeded", err)
	}
	if err := <-blocked; !errors.Is(err, ErrClosed) {
		t.Fatalf("SendAsync blocked by the window during Close: %v, want ErrClosed", err)
	}
	for i := range 2 {
		if s, _ := errs[i].Load().(string); !strings.Contains(s, "closed") {
			t.Errorf("done %d: %q, want an ErrClosed error", i, s)
		}
	}
}

// Closing the client closes its producers.
func TestProducerClosedWithClient(t *testing.T) {
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{})
	c, err := Connect(ctx, srv.URL(), WithHealthInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.NewProducer(ctx, ProducerConfig{Topic: "/default/with-client", Partitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(ctx, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after the client closed: %v", err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.NewProducer(ctx, ProducerConfig{Topic: "/default/with-client"}); err == nil {
		t.Fatal("NewProducer on a closed client succeeded")
	}
}

// Creation errors match the sentinels.
func TestProducerCreateErrors(t *testing.T) {
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{})
	w := brokertest.Dial(t, srv)
	fast := WithRetry(RetryPolicy{MaxRetries: 2, BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	calls := &prodTestCalls{method: "CreateProducer"}
	c := prodTestClient(t, srv, fast, calls.option())

	for _, cfg := range []ProducerConfig{{}, {Topic: "/default/x", Partitions: -1}, {Topic: "/default/x", AsyncWindow: -1},
		{Topic: "/default/x", Dispatch: 7}, {Topic: "/default/x", AccessMode: 3}, {Topic: "/default/x", SchemaVersion: 1}} {
		if _, err := c.NewProducer(ctx, cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v, want ErrInvalidConfig", cfg, err)
		}
	}

	n := calls.count()
	_, err := c.NewProducer(ctx, ProducerConfig{Topic: "/default/bad.name"})
	var ae *APIError
	if !errors.Is(err, ErrInvalidTopic) || !errors.As(err, &ae) || ae.Code != codes.InvalidArgument {
		t.Errorf("invalid topic: %v", err)
	}
	if calls.count()-n != 1 {
		t.Errorf("invalid topic: %d CreateProducer calls, want 1 (not retried)", calls.count()-n)
	}

	n = calls.count()
	_, err = c.NewProducer(ctx, ProducerConfig{Topic: "/nowhere/t"})
	if !errors.Is(err, ErrNamespaceNotFound) || status.Code(err) != codes.Unavailable {
		t.Errorf("missing namespace: %v", err)
	}
	// The broker answers Unavailable, but retrying cannot create the namespace: no retry.
	if calls.count()-n != 1 {
		t.Errorf("missing namespace: %d CreateProducer calls, want 1", calls.count()-n)
	}

	prodTestRawID(t, w, "/default/reliable", "raw", Reliable)
	if _, err = c.NewProducer(ctx, ProducerConfig{Topic: "/default/reliable"}); !errors.Is(err, ErrDispatchMismatch) {
		t.Errorf("dispatch mismatch: %v", err)
	}

	// A partitioned producer over a plain topic's name: partition creation is refused, all or nothing.
	obs := &prodTestObserver{}
	c2 := prodTestClient(t, srv, fast, WithObserver(obs))
	prodTestRawID(t, w, "/default/plain", "raw", NonReliable)
	if _, err = c2.NewProducer(ctx, ProducerConfig{Topic: "/default/plain", Partitions: 2}); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("partitions of a plain topic: %v", err)
	}
	if k := obs.producerKinds(); !slices.Contains(k, ProducerFailed) {
		t.Errorf("producer events %v, want a failure", k)
	}
}

// Authentication: a valid token works, an invalid or missing one gives ErrUnauthenticated.
func TestProducerAuth(t *testing.T) {
	ctx := prodTestCtx(t)
	secret := []byte("producer-test-secret")
	srv := brokertest.Run(t, broker.Options{JWTSecret: secret, SuperAdmins: []string{"alice"}})
	tok, err := broker.NewToken(secret, "alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := prodTestClient(t, srv, WithToken(tok))
	p := prodTestProducer(t, c, ProducerConfig{Topic: "/default/auth"})
	if _, err := p.Send(ctx, []byte("x")); err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string][]Option{"invalid": {WithToken("not-a-jwt")}, "missing": nil} {
		c := prodTestClient(t, srv, opts...)
		_, err := c.NewProducer(ctx, ProducerConfig{Topic: "/default/auth"})
		if !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s token: %v, want ErrUnauthenticated", name, err)
		}
	}
	// A producer whose token stops working fails its sends with ErrUnauthenticated, without retrying.
	var bad atomic.Bool
	c3 := prodTestClient(t, srv, WithTokenFunc(func(context.Context) (string, error) {
		if bad.Load() {
			return "expired", nil
		}
		return tok, nil
	}))
	p3 := prodTestProducer(t, c3, ProducerConfig{Topic: "/default/auth"})
	bad.Store(true)
	if _, err := p3.Send(ctx, []byte("x")); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("send with a bad token: %v", err)
	}
}

// A message larger than the broker accepts fails once with ErrMessageTooLarge; so does one larger than
// the client's own send limit (gRPC's ResourceExhausted, which is otherwise retryable).
func TestProducerMessageTooLarge(t *testing.T) {
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{Policies: broker.Policies{MaxMessageSize: 1024}})
	calls := &prodTestCalls{method: "SendMessage"}
	c := prodTestClient(t, srv, calls.option())
	p := prodTestProducer(t, c, ProducerConfig{Topic: "/default/big"})
	_, err := p.Send(ctx, make([]byte, 2048))
	if !errors.Is(err, ErrMessageTooLarge) || calls.count() != 1 {
		t.Fatalf("2 KiB message: %v after %d calls", err, calls.count())
	}
	if _, err := p.Send(ctx, make([]byte, 1024)); err != nil {
		t.Fatalf("1 KiB message: %v", err)
	}
	errc := make(chan error, 1)
	if err := p.SendAsync(ctx, make([]byte, 4096), func(_ SendResult, err error) { errc <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("async 4 KiB message: %v", err)
	}

	calls2 := &prodTestCalls{method: "SendMessage"}
	c2 := prodTestClient(t, srv, calls2.option(), WithDialOptions(grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(512))))
	p2 := prodTestProducer(t, c2, ProducerConfig{Topic: "/default/big"})
	_, err = p2.Send(ctx, make([]byte, 1000))
	if !errors.Is(err, ErrMessageTooLarge) || status.Code(err) != codes.ResourceExhausted || calls2.count() != 1 {
		t.Fatalf("message over the client's limit: %v (code %v) after %d calls", err, status.Code(err), calls2.count())
	}
}

// A broker restart in the middle of producing on a reliable topic: sends fail while it is down, work again
// after, and every acknowledged message reaches the subscription.
func TestProducerBrokerRestart(t *testing.T) {
	ctx := prodTestCtx(t)
	st := store.NewMemory()
	t.Cleanup(func() { st.Close() })
	srv := brokertest.Run(t, broker.Options{Store: st, AdminPort: -1})
	port := srv.Addr().(*net.TCPAddr).Port
	topic := "/default/restart"
	obs := &prodTestObserver{}
	c := prodTestClient(t, srv, WithObserver(obs), WithHealthInterval(20*time.Millisecond),
		WithRetry(RetryPolicy{MaxRetries: 8, BaseBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}))
	p := prodTestProducer(t, c, ProducerConfig{Topic: topic, Name: "survivor", Dispatch: Reliable})
	w := brokertest.Dial(t, srv)
	first := prodTestSub(t, w, topic, "s", true)

	var mu sync.Mutex
	acked := map[string]bool{}
	var failures atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				payload := fmt.Sprintf("g%d-%d", g, i)
				sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
				_, err := p.Send(sctx, []byte(payload))
				cancel()
				if err != nil {
					failures.Add(1)
					time.Sleep(10 * time.Millisecond) // pacing the load, not a wait
					continue
				}
				mu.Lock()
				acked[payload] = true
				mu.Unlock()
				time.Sleep(2 * time.Millisecond) // pacing the load, not a wait
			}
		})
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	testenv.Eventually(t, 5*time.Second, func() bool { return count() >= 50 }, "50 acknowledged sends")

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	// While the broker is down a send fails (here because its context ends first).
	down, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	if _, err := p.Send(down, []byte("while down")); err == nil {
		t.Fatal("a send succeeded while the broker was down")
	}
	cancel()
	atDown := count()
	time.Sleep(200 * time.Millisecond) // the broker stays down a while, with sends waiting: the scenario, not a wait

	srv2 := brokertest.Run(t, broker.Options{Store: st, Port: port, AdminPort: -1})
	testenv.Eventually(t, 20*time.Second, func() bool { return count() >= atDown+50 }, "50 sends after the restart")
	close(stop)
	wg.Wait()
	if _, err := p.Send(ctx, []byte("after")); err != nil {
		t.Fatalf("send after the restart: %v", err)
	}
	acked["after"] = true

	// The subscription, restored by the new broker, delivers every acknowledged message.
	w2 := brokertest.Dial(t, srv2)
	msgs := prodTestSub(t, w2, topic, "s", true)
	seen := map[string]bool{}
	deadline := time.After(20 * time.Second)
	for missing := len(acked); missing > 0; {
		var m *danubepb.StreamMessage
		select {
		case m = <-first: // delivered (and acked) before the restart
		case m = <-msgs:
		case <-deadline:
			var lost []string
			for k := range acked {
				if !seen[k] {
					lost = append(lost, k)
				}
			}
			t.Fatalf("%d acknowledged messages lost: %v", len(lost), lost[:min(len(lost), 10)])
		}
		if acked[string(m.Payload)] && !seen[string(m.Payload)] {
			missing--
		}
		seen[string(m.Payload)] = true
	}
	t.Logf("%d acknowledged, %d failed sends during the restart, producer events %v", len(acked), failures.Load(), obs.producerKinds())
	if info, _ := srv2.Topic(topic); info.Producers != 1 {
		t.Errorf("%d producers after the restart, want 1", info.Producers)
	}
}

// A broker that restarts without its state no longer knows the producer: the producer re-creates itself
// (same name, new id) and the send goes through.
func TestProducerRecreatedAfterStateLoss(t *testing.T) {
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{AdminPort: -1})
	port := srv.Addr().(*net.TCPAddr).Port
	topic := "/default/amnesia"
	obs := &prodTestObserver{}
	// Health checks too slow to notice: the send itself finds out (NotFound).
	c := prodTestClient(t, srv, WithObserver(obs), WithHealthInterval(time.Hour))
	p := prodTestProducer(t, c, ProducerConfig{Topic: topic, Name: "amnesiac"})
	if _, err := p.Send(ctx, []byte("before")); err != nil {
		t.Fatal(err)
	}
	oldID := p.parts[0].state.Load().id
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := srv.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	srv2 := brokertest.Run(t, broker.Options{Port: port, AdminPort: -1})
	w2 := brokertest.Dial(t, srv2)
	if _, err := p.Send(ctx, []byte("after")); err != nil {
		t.Fatalf("send after a stateless restart: %v", err)
	}
	newID := p.parts[0].state.Load().id
	if newID == oldID || newID != prodTestRawID(t, w2, topic, "amnesiac", NonReliable) {
		t.Fatalf("producer id %d → %d, broker has %d", oldID, newID, prodTestRawID(t, w2, topic, "amnesiac", NonReliable))
	}
	if k := obs.producerKinds(); !slices.Contains(k, ProducerRecreated) {
		t.Fatalf("producer events %v, want a re-creation", k)
	}
}

// A health check answering CLOSE (the topic was deleted) makes the producer re-create itself before the
// next send, which then succeeds at the first try.
func TestProducerHealthCloseRecreates(t *testing.T) {
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{})
	topic := "/default/doomed"
	obs := &prodTestObserver{}
	calls := &prodTestCalls{method: "SendMessage"}
	c := prodTestClient(t, srv, WithObserver(obs), WithHealthInterval(10*time.Millisecond), calls.option())
	p := prodTestProducer(t, c, ProducerConfig{Topic: topic, Name: "phoenix"})
	testenv.Eventually(t, 5*time.Second, func() bool { return obs.sawHealth(HealthOK) }, "a healthy health check")

	conn, err := grpc.NewClient(srv.AdminAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := adminpb.NewTopicAdminClient(conn).DeleteTopic(ctx, &adminpb.TopicRequest{Name: topic}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, func() bool { return obs.sawHealth(HealthClose) }, "a CLOSE health check")
	if _, err := p.Send(ctx, []byte("reborn")); err != nil {
		t.Fatal(err)
	}
	for _, err := range calls.errList() {
		if err != nil {
			t.Errorf("a send failed before the re-creation: %v", err)
		}
	}
	if k := obs.producerKinds(); !slices.Equal(k, []ProducerEventKind{ProducerCreated, ProducerRecreated}) {
		t.Fatalf("producer events %v", k)
	}
	if info, ok := srv.Topic(topic); !ok || info.Producers != 1 {
		t.Fatalf("topic after re-creation: %+v %v", info, ok)
	}
}

// A client connected to broker A produces on broker B, which serves the topic, after A's Redirect.
func TestProducerRedirect(t *testing.T) {
	ctx := prodTestCtx(t)
	b := brokertest.Run(t, broker.Options{})
	a := brokertest.Run(t, broker.Options{Peers: []string{b.URL()}})
	topic := "/default/on-b"
	wb := brokertest.Dial(t, b)
	prodTestRawID(t, wb, topic, "seed", Reliable)
	msgs := prodTestSub(t, wb, topic, "s", true)

	c := prodTestClient(t, a)
	p := prodTestProducer(t, c, ProducerConfig{Topic: topic, Name: "redirected", Dispatch: Reliable})
	res, err := p.Send(ctx, []byte("via A"))
	if err != nil || res.Topic != topic {
		t.Fatalf("Send: %+v %v", res, err)
	}
	if info, ok := b.Topic(topic); !ok || info.Producers != 2 || info.NextOffset != 1 {
		t.Fatalf("topic on B: %+v %v", info, ok)
	}
	if _, ok := a.Topic(topic); ok {
		t.Fatal("broker A serves the topic too")
	}
	m := prodTestRecv(t, msgs, 1)[0]
	if m.GetMsgId().GetBrokerAddr() != b.URL() || m.ProducerName != "redirected" {
		t.Fatalf("message: broker_addr %q producer %q, want %q", m.GetMsgId().GetBrokerAddr(), m.ProducerName, b.URL())
	}
}

// The observer sees every send with its partition, size and outcome.
func TestProducerObserverSends(t *testing.T) {
	ctx := prodTestCtx(t)
	srv := brokertest.Run(t, broker.Options{Policies: broker.Policies{MaxMessageSize: 10}})
	obs := &prodTestObserver{}
	c := prodTestClient(t, srv, WithObserver(obs))
	p := prodTestProducer(t, c, ProducerConfig{Topic: "/default/observed", Name: "o", Partitions: 2})
	if _, err := p.Send(ctx, []byte("12345")); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(ctx, make([]byte, 11)); err == nil {
		t.Fatal("oversized send succeeded")
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.sends) != 2 {
		t.Fatalf("send events %+v", obs.sends)
	}
	e0, e1 := obs.sends[0], obs.sends[1]
	if e0.Topic != "/default/observed-part-0" || e0.Producer != "o-0" || e0.Bytes != 5 || e0.Err != nil || e0.Async || e0.Latency <= 0 {
		t.Errorf("first send event %+v", e0)
	}
	if e1.Topic != "/default/observed-part-1" || e1.Producer != "o-1" || e1.Bytes != 11 || !errors.Is(e1.Err, ErrMessageTooLarge) {
		t.Errorf("second send event %+v", e1)
	}
	created := 0
	for _, e := range obs.producer {
		if e.Kind == ProducerCreated && e.ID != 0 && strings.HasPrefix(e.Name, "o-") {
			created++
		}
	}
	if created != 2 {
		t.Errorf("producer events %+v", obs.producer)
	}
}
