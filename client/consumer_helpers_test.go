package client

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/proto/danubepb"
	"github.com/danube-console/danube-console/proto/schemapb"
)

// Helpers of the consumer tests; their names start with "ct" to stay clear of the other tests' helpers.

// ctCtx is a context for one test step, cancelled when the test ends.
func ctCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ctFastOptions make retries and gRPC reconnections quick, so that tests that stop brokers stay fast.
func ctFastOptions() []Option {
	return []Option{
		WithRetry(RetryPolicy{MaxRetries: 5, BaseBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}),
		WithDialOptions(grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 200 * time.Millisecond},
			MinConnectTimeout: 2 * time.Second,
		})),
	}
}

// ctClient connects a client to url with fast retries (then opts) and closes it when the test ends.
func ctClient(t *testing.T, url string, opts ...Option) *Client {
	t.Helper()
	c, err := Connect(context.Background(), url, append(ctFastOptions(), opts...)...)
	if err != nil {
		t.Fatalf("Connect(%s): %v", url, err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Client.Close: %v", err)
		}
	})
	return c
}

// ctSubscribe subscribes and closes the consumer when the test ends.
func ctSubscribe(t *testing.T, c *Client, cfg ConsumerConfig) *Consumer {
	t.Helper()
	cons, err := c.Subscribe(ctCtx(t), cfg)
	if err != nil {
		t.Fatalf("Subscribe(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := cons.Close(context.Background()); err != nil {
			t.Errorf("Consumer.Close: %v", err)
		}
	})
	return cons
}

// ctNext waits up to 10 s for the consumer's next message.
func ctNext(t *testing.T, cons *Consumer) *Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := cons.Receive(ctx)
	if err != nil {
		t.Fatalf("Receive on %s/%s: %v", cons.Name(), cons.Subscription(), err)
	}
	return m
}

// ctNone asserts that the consumer receives nothing within d.
func ctNone(t *testing.T, cons *Consumer, d time.Duration) {
	t.Helper()
	select {
	case m, ok := <-cons.Messages():
		if ok {
			t.Fatalf("%s received %q (offset %d) unexpectedly", cons.Name(), m.Payload, m.ID.Offset)
		}
	case <-time.After(d):
	}
}

// ctAck acknowledges m or fails the test.
func ctAck(t *testing.T, m *Message) {
	t.Helper()
	if err := m.Ack(ctCtx(t)); err != nil {
		t.Fatalf("Ack(%s@%d): %v", m.ID.Topic, m.ID.Offset, err)
	}
}

// ctCloseWithin closes c and fails the test when Close does not return within 15 s.
func ctCloseWithin(t *testing.T, c *Client) {
	t.Helper()
	closed := make(chan struct{})
	go func() { c.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(15 * time.Second):
		t.Fatal("Client.Close hung")
	}
}

// ctShutdown stops a broker now (brokertest's cleanup then does nothing).
func ctShutdown(t *testing.T, srv *broker.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// ctDial opens raw gRPC clients of a broker's client port with the given transport credentials (nil: plain
// text); the connection is closed when the test ends.
func ctDial(t *testing.T, srv *broker.Server, creds credentials.TransportCredentials) brokertest.Clients {
	t.Helper()
	if creds == nil {
		return brokertest.Dial(t, srv)
	}
	conn, err := grpc.NewClient(srv.Addr().String(), grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return brokertest.Clients{
		Conn:      conn,
		Producer:  danubepb.NewProducerServiceClient(conn),
		Consumer:  danubepb.NewConsumerServiceClient(conn),
		Discovery: danubepb.NewDiscoveryClient(conn),
		Health:    danubepb.NewHealthCheckClient(conn),
		Schema:    schemapb.NewSchemaRegistryClient(conn),
	}
}

// ctProducer publishes over raw gRPC, independently of the package's own producer.
type ctProducer struct {
	t     *testing.T
	w     brokertest.Clients
	token string // sent as a bearer token when set
	id    uint64
	topic string
	name  string
	url   string
	seq   atomic.Uint64
}

// ctNewProducer creates (and thereby auto-creates the topic of) a raw producer on srv over plain text.
func ctNewProducer(t *testing.T, srv *broker.Server, topic, name string, reliable bool) *ctProducer {
	t.Helper()
	return ctNewProducerOn(t, brokertest.Dial(t, srv), srv.URL(), "", topic, name, reliable)
}

// ctNewProducerOn creates a raw producer over w, sending token when it is not empty.
func ctNewProducerOn(t *testing.T, w brokertest.Clients, url, token, topic, name string, reliable bool) *ctProducer {
	t.Helper()
	p := &ctProducer{t: t, w: w, token: token, topic: topic, name: name, url: url}
	strat := danubepb.DispatchStrategy_NonReliable
	if reliable {
		strat = danubepb.DispatchStrategy_Reliable
	}
	resp, err := w.Producer.CreateProducer(p.ctx(), &danubepb.ProducerRequest{
		RequestId: 1, ProducerName: name, TopicName: topic, DispatchStrategy: strat,
	})
	if err != nil {
		t.Fatalf("CreateProducer(%s, %s): %v", topic, name, err)
	}
	p.id = resp.GetProducerId()
	return p
}

func (p *ctProducer) ctx() context.Context {
	ctx := ctCtx(p.t)
	if p.token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+p.token)
	}
	return ctx
}

// send publishes payload, with a routing key when key is given.
func (p *ctProducer) send(payload string, key ...string) {
	p.t.Helper()
	m := &danubepb.StreamMessage{
		RequestId:    p.seq.Add(1),
		MsgId:        &danubepb.MsgID{ProducerId: p.id, TopicName: p.topic, BrokerAddr: p.url},
		Payload:      []byte(payload),
		PublishTime:  uint64(time.Now().UnixMilli()),
		ProducerName: p.name,
		Attributes:   map[string]string{"k": "v"},
	}
	if len(key) > 0 {
		m.RoutingKey = &key[0]
	}
	if _, err := p.w.Producer.SendMessage(p.ctx(), m); err != nil {
		p.t.Fatalf("SendMessage(%s, %q): %v", p.topic, payload, err)
	}
}

// ctObserver records the events of the consumer tests.
type ctObserver struct {
	NopObserver
	mu       sync.Mutex
	consumer []ConsumerEvent
	receive  []ReceiveEvent
	acks     []AckEvent
	health   []HealthEvent
	lookups  []LookupEvent
}

// Inline: the recorder only takes a mutex, so the client calls it directly and the tests see events at once.
func (o *ctObserver) Inline() {}

func (o *ctObserver) record(f func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f()
}

func (o *ctObserver) OnConsumer(e ConsumerEvent) {
	o.record(func() { o.consumer = append(o.consumer, e) })
}
func (o *ctObserver) OnReceive(e ReceiveEvent) { o.record(func() { o.receive = append(o.receive, e) }) }
func (o *ctObserver) OnAck(e AckEvent)         { o.record(func() { o.acks = append(o.acks, e) }) }
func (o *ctObserver) OnHealth(e HealthEvent)   { o.record(func() { o.health = append(o.health, e) }) }
func (o *ctObserver) OnLookup(e LookupEvent)   { o.record(func() { o.lookups = append(o.lookups, e) }) }

// consumerEvents returns the consumer events of the given kind.
func (o *ctObserver) consumerEvents(kind ConsumerEventKind) []ConsumerEvent {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []ConsumerEvent
	for _, e := range o.consumer {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func (o *ctObserver) countConsumer(kind ConsumerEventKind) int { return len(o.consumerEvents(kind)) }

func (o *ctObserver) healthEvents(st HealthStatus) []HealthEvent {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []HealthEvent
	for _, e := range o.health {
		if e.Status == st {
			out = append(out, e)
		}
	}
	return out
}
