package broker_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// wire drives a broker through its gRPC API the way the official clients do.
type wire struct {
	t   *testing.T
	srv *broker.Server
	brokertest.Clients
	reqID atomic.Uint64
}

func newWire(t *testing.T, opts broker.Options) *wire {
	t.Helper()
	srv := brokertest.Run(t, opts)
	return &wire{t: t, srv: srv, Clients: brokertest.Dial(t, srv)}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

type producer struct {
	w     *wire
	id    uint64
	topic string
	name  string
	seq   atomic.Uint64
}

func (w *wire) createProducer(topic, name string, reliable bool) (*producer, error) {
	strat := danubepb.DispatchStrategy_NonReliable
	if reliable {
		strat = danubepb.DispatchStrategy_Reliable
	}
	resp, err := w.Producer.CreateProducer(ctx(w.t), &danubepb.ProducerRequest{
		RequestId: w.reqID.Add(1), ProducerName: name, TopicName: topic, DispatchStrategy: strat,
	})
	if err != nil {
		return nil, err
	}
	return &producer{w: w, id: resp.ProducerId, topic: topic, name: name}, nil
}

func (w *wire) mustProducer(topic, name string, reliable bool) *producer {
	w.t.Helper()
	p, err := w.createProducer(topic, name, reliable)
	if err != nil {
		w.t.Fatalf("CreateProducer(%s, %s): %v", topic, name, err)
	}
	return p
}

func (p *producer) message(payload string) *danubepb.StreamMessage {
	return &danubepb.StreamMessage{
		RequestId:    p.seq.Add(1),
		MsgId:        &danubepb.MsgID{ProducerId: p.id, TopicName: p.topic, BrokerAddr: p.w.srv.URL()},
		Payload:      []byte(payload),
		PublishTime:  uint64(time.Now().UnixMilli()),
		ProducerName: p.name,
		Attributes:   map[string]string{},
	}
}

func (p *producer) send(payload string) error {
	_, err := p.w.Producer.SendMessage(ctx(p.w.t), p.message(payload))
	return err
}

func (p *producer) sendKey(payload, key string) error {
	m := p.message(payload)
	m.RoutingKey = &key
	_, err := p.w.Producer.SendMessage(ctx(p.w.t), m)
	return err
}

func (p *producer) mustSend(payloads ...string) {
	p.w.t.Helper()
	for _, s := range payloads {
		if err := p.send(s); err != nil {
			p.w.t.Fatalf("SendMessage(%q): %v", s, err)
		}
	}
}

func (w *wire) subscribe(topic, sub, name string, typ danubepb.ConsumerRequest_SubscriptionType, filters ...string) (uint64, error) {
	resp, err := w.Consumer.Subscribe(ctx(w.t), &danubepb.ConsumerRequest{
		RequestId: w.reqID.Add(1), TopicName: topic, ConsumerName: name, Subscription: sub,
		SubscriptionType: typ, KeyFilters: filters,
	})
	if err != nil {
		return 0, err
	}
	return resp.ConsumerId, nil
}

func (w *wire) mustSubscribe(topic, sub, name string, typ danubepb.ConsumerRequest_SubscriptionType, filters ...string) uint64 {
	w.t.Helper()
	id, err := w.subscribe(topic, sub, name, typ, filters...)
	if err != nil {
		w.t.Fatalf("Subscribe(%s, %s, %s): %v", topic, sub, name, err)
	}
	return id
}

// stream is an open ReceiveMessages call whose messages arrive on C.
type stream struct {
	C      chan *danubepb.StreamMessage
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	err    error
}

func (w *wire) receive(consumerID uint64) *stream {
	w.t.Helper()
	c, cancel := context.WithCancel(context.Background())
	rs, err := w.Consumer.ReceiveMessages(c, &danubepb.ReceiveRequest{RequestId: w.reqID.Add(1), ConsumerId: consumerID})
	if err != nil {
		cancel()
		w.t.Fatalf("ReceiveMessages(%d): %v", consumerID, err)
	}
	s := &stream{C: make(chan *danubepb.StreamMessage, 10000), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			m, err := rs.Recv()
			if err != nil {
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
				return
			}
			s.C <- m
		}
	}()
	w.t.Cleanup(s.close)
	return s
}

func (s *stream) close() {
	s.cancel()
	<-s.done
}

// ended waits for the stream to end and returns its final error.
func (s *stream) ended(t *testing.T) error {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("stream did not end")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// next waits up to 5 s for a message.
func (s *stream) next(t *testing.T) *danubepb.StreamMessage {
	t.Helper()
	select {
	case m := <-s.C:
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
		return nil
	}
}

// none asserts that no message arrives within d.
func (s *stream) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case m := <-s.C:
		t.Fatalf("unexpected message %q offset %d", m.Payload, m.MsgId.TopicOffset)
	case <-time.After(d):
	}
}

func (w *wire) ack(sub string, m *danubepb.StreamMessage) {
	w.t.Helper()
	if _, err := w.Consumer.Ack(ctx(w.t), &danubepb.AckRequest{RequestId: m.RequestId, MsgId: m.MsgId, SubscriptionName: sub}); err != nil {
		w.t.Fatalf("Ack: %v", err)
	}
}

func (w *wire) nack(sub string, m *danubepb.StreamMessage, delay time.Duration, reason string) {
	w.t.Helper()
	ms := uint64(delay / time.Millisecond)
	if _, err := w.Consumer.Nack(ctx(w.t), &danubepb.NackRequest{RequestId: m.RequestId, MsgId: m.MsgId,
		SubscriptionName: sub, DelayMs: &ms, Reason: &reason}); err != nil {
		w.t.Fatalf("Nack: %v", err)
	}
}

func (w *wire) health(client danubepb.HealthCheckRequest_ClientType, id uint64) danubepb.HealthCheckResponse_ClientStatus {
	w.t.Helper()
	resp, err := w.Health.HealthCheck(ctx(w.t), &danubepb.HealthCheckRequest{RequestId: w.reqID.Add(1), Client: client, Id: id})
	if err != nil {
		w.t.Fatalf("HealthCheck: %v", err)
	}
	return resp.Status
}

// wantStatus fails unless err is a gRPC status with code and exactly msg (msg "" skips the text check).
func wantStatus(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || err == nil {
		t.Fatalf("want status %v %q, got %v", code, msg, err)
	}
	if st.Code() != code || (msg != "" && st.Message() != msg) {
		t.Fatalf("want status %v %q, got %v %q", code, msg, st.Code(), st.Message())
	}
}

func payloads(ms []*danubepb.StreamMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m.Payload)
	}
	return out
}

func seq(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

func newMemoryStore() *store.Memory { return store.NewMemory() }

func statusCode(err error) codes.Code { return status.Code(err) }
