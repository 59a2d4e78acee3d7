package broker_test

import (
	"context"
	"net"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/broker/store/disk"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// The benchmarks measure the broker next to a bare gRPC server that speaks the same protocol and does no work
// (the ceiling for a protocol with one unary call per message), in the same run, and report the ratio. Speed
// targets are ratios, never absolute numbers.

const (
	benchConcurrency = 64
	benchPayload     = 256
)

// relay is the ceiling: SendMessage answers at once and, when a ReceiveMessages stream is open, hands the
// message to it.
type relay struct {
	danubepb.UnimplementedProducerServiceServer
	danubepb.UnimplementedConsumerServiceServer
	ch chan *danubepb.StreamMessage
}

func (r *relay) SendMessage(_ context.Context, m *danubepb.StreamMessage) (*danubepb.MessageResponse, error) {
	if r.ch != nil {
		r.ch <- m
	}
	return &danubepb.MessageResponse{RequestId: m.RequestId}, nil
}

func (r *relay) ReceiveMessages(_ *danubepb.ReceiveRequest, s danubepb.ConsumerService_ReceiveMessagesServer) error {
	for {
		select {
		case m := <-r.ch:
			if err := s.Send(m); err != nil {
				return err
			}
		case <-s.Context().Done():
			return nil
		}
	}
}

func startRelay(b *testing.B, withStream bool) *grpc.ClientConn {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	r := &relay{}
	if withStream {
		r.ch = make(chan *danubepb.StreamMessage, 1024)
	}
	g := grpc.NewServer()
	danubepb.RegisterProducerServiceServer(g, r)
	danubepb.RegisterConsumerServiceServer(g, r)
	go pprof.Do(context.Background(), pprof.Labels("side", "echo"), func(context.Context) { g.Serve(lis) })
	b.Cleanup(g.Stop)
	return benchDial(b, lis.Addr().String())
}

func benchDial(b *testing.B, addr string) *grpc.ClientConn {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return conn
}

// publishAll sends n messages from conc goroutines over conn and returns the elapsed time.
func publishAll(b *testing.B, conn *grpc.ClientConn, n, conc int, mk func() *danubepb.StreamMessage) time.Duration {
	pc := danubepb.NewProducerServiceClient(conn)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			m := mk()
			for next.Add(1) <= int64(n) {
				m.RequestId++
				if _, err := pc.SendMessage(context.Background(), m); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

func benchPublish(b *testing.B, reliable bool) { benchPublishConsume(b, reliable, 0) }

// consume opens n consumers on one shared subscription "bench" of topic, each with its own long-lived
// ReceiveMessages stream read by drain; ackSub set makes them ack every message.
func consume(b *testing.B, cc danubepb.ConsumerServiceClient, topic string, n int, ackSub string) {
	for i := range n {
		cid, err := cc.Subscribe(context.Background(), &danubepb.ConsumerRequest{
			TopicName: topic, Subscription: "bench", ConsumerName: "c" + strconv.Itoa(i),
			SubscriptionType: danubepb.ConsumerRequest_Shared})
		if err != nil {
			b.Fatal(err)
		}
		drain(b, cc, cid.ConsumerId, ackSub, nil)
	}
}

// startPublishTarget starts a broker whose goroutines all carry the profile label side (so that its share of
// a CPU profile can be told apart from the echo's and the clients': go tool pprof -tagfocus side=broker),
// with a producer on a topic and consumers (0: none; a non-reliable topic always gets one, which does not
// ack) holding long-lived streams and, on a reliable topic, acking every message. It returns a connection
// to publish on, warmed up, and the message to publish.
func startPublishTarget(b *testing.B, side string, reliable bool, consumers int) (*grpc.ClientConn, func() *danubepb.StreamMessage) {
	var srv *broker.Server
	pprof.Do(context.Background(), pprof.Labels("side", side), func(context.Context) {
		// The metrics endpoint is on, as in production; every series is counted on the data path regardless.
		srv = brokertest.Run(b, broker.Options{MetricsAddr: "127.0.0.1:0"})
	})
	w := &wire{srv: srv, Clients: brokertest.Dial(b, srv)}
	topic := "/default/bench"
	resp, err := w.Producer.CreateProducer(context.Background(), &danubepb.ProducerRequest{
		ProducerName: "bench", TopicName: topic, DispatchStrategy: strategy(reliable)})
	if err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, benchPayload)
	mk := func() *danubepb.StreamMessage {
		return &danubepb.StreamMessage{
			MsgId:   &danubepb.MsgID{ProducerId: resp.ProducerId, TopicName: topic, BrokerAddr: srv.URL()},
			Payload: payload, ProducerName: "bench", Attributes: map[string]string{},
		}
	}
	switch {
	case !reliable:
		// A subscriber that keeps up, so that the fan-out path is measured, not an early drop.
		consume(b, w.Consumer, topic, max(consumers, 1), "")
	case consumers > 0:
		consume(b, w.Consumer, topic, consumers, "bench")
	}
	conn := benchDial(b, srv.Addr().String())
	publishAll(b, conn, 1000, benchConcurrency, mk) // warm up
	return conn, mk
}

// benchPublishConsume measures publish throughput on a broker started by startPublishTarget next to the
// echo ceiling.
func benchPublishConsume(b *testing.B, reliable bool, consumers int) {
	brokerConn, mk := startPublishTarget(b, "broker", reliable, consumers)
	echo := startRelay(b, false)
	publishAll(b, echo, 1000, benchConcurrency, mk) // warm up

	b.SetBytes(benchPayload)
	b.ResetTimer()
	echoT, brokerT := sideBySide(b,
		func(n int) time.Duration { return publishAll(b, echo, n, benchConcurrency, mk) },
		func(n int) time.Duration { return publishAll(b, brokerConn, n, benchConcurrency, mk) })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/brokerT.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/echoT.Seconds(), "echo-msgs/s")
	b.ReportMetric(echoT.Seconds()/brokerT.Seconds(), "ratio-to-echo")
}

// sideBySide runs b.N operations on two sides in 16 short rounds, alternating which side goes first, so that
// drift and bursts in the machine's load hit both alike and neither always runs on a warmer machine; run
// does n operations on its side and returns how long they took. It returns each side's total time.
func sideBySide(b *testing.B, runA, runB func(n int) time.Duration) (a, c time.Duration) {
	t := testenv.Alternate(b.N, 16, runA, runB)
	return t[0], t[1]
}

// benchConsumers is how many consumers hold long-lived streams in the publish+consume benchmarks.
const benchConsumers = 8

// BenchmarkStreamWorkers: reliable publish at 64 concurrent senders with 8 acking consumers, on the broker
// as it is (side "workers") next to the same broker with GOMAXPROCS stream workers (side "gomaxprocs", the
// count before: the consumers' streams held all of them), in the same run. Profile it to see where the
// difference goes: go test -bench 'StreamWorkers$' -cpuprofile cpu.out ./broker/, then go tool pprof -top
// -tagfocus side=gomaxprocs (or side=workers) cpu.out, and look at runtime.newstack.
func BenchmarkStreamWorkers(b *testing.B) { benchStreamWorkers(b, true, benchConsumers) }

// BenchmarkStreamWorkersNonReliable: the same comparison on a non-reliable topic with one consumer.
func BenchmarkStreamWorkersNonReliable(b *testing.B) { benchStreamWorkers(b, false, 1) }

func benchStreamWorkers(b *testing.B, reliable bool, consumers int) {
	restore := broker.SetStreamWorkers(uint32(runtime.GOMAXPROCS(0)))
	oldConn, oldMk := startPublishTarget(b, "gomaxprocs", reliable, consumers)
	restore()
	newConn, newMk := startPublishTarget(b, "workers", reliable, consumers)

	b.SetBytes(benchPayload)
	b.ResetTimer()
	oldT, newT := sideBySide(b,
		func(n int) time.Duration { return publishAll(b, oldConn, n, benchConcurrency, oldMk) },
		func(n int) time.Duration { return publishAll(b, newConn, n, benchConcurrency, newMk) })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/newT.Seconds(), "msgs/s")
	b.ReportMetric(float64(b.N)/oldT.Seconds(), "gomaxprocs-msgs/s")
	b.ReportMetric(oldT.Seconds()/newT.Seconds(), "ratio-to-gomaxprocs")
}

func strategy(reliable bool) danubepb.DispatchStrategy {
	if reliable {
		return danubepb.DispatchStrategy_Reliable
	}
	return danubepb.DispatchStrategy_NonReliable
}

// drain reads a consumer's stream in the background (acking when sub is set) and sends each message's
// arrival time to got when it is not nil.
func drain(b *testing.B, cc danubepb.ConsumerServiceClient, id uint64, sub string, got chan<- time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	rs, err := cc.ReceiveMessages(ctx, &danubepb.ReceiveRequest{ConsumerId: id})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m, err := rs.Recv()
			if err != nil {
				return
			}
			if got != nil {
				got <- time.Now()
			}
			if sub != "" {
				if _, err := cc.Ack(ctx, &danubepb.AckRequest{MsgId: m.MsgId, SubscriptionName: sub}); err != nil {
					return
				}
			}
		}
	}()
	b.Cleanup(func() { cancel(); <-done })
}

// BenchmarkPublishNonReliable: publish throughput at 64 concurrent senders, next to the echo ceiling.
func BenchmarkPublishNonReliable(b *testing.B) { benchPublish(b, false) }

// BenchmarkPublishReliable: publish throughput of a reliable topic (every message stored before the answer).
func BenchmarkPublishReliable(b *testing.B) { benchPublish(b, true) }

// BenchmarkPublishConsumeReliable: reliable publish throughput at 64 concurrent senders while 8 consumers on
// a shared subscription hold long-lived streams and ack every message (unary calls of their own), next to
// the echo ceiling.
func BenchmarkPublishConsumeReliable(b *testing.B) { benchPublishConsume(b, true, benchConsumers) }

// latencies sends messages one at a time and measures send-to-receive time of each.
func latencies(b *testing.B, n int, send func() error, got <-chan time.Time) []time.Duration {
	out := make([]time.Duration, 0, n)
	if n == 0 {
		return out
	}
	for range n {
		start := time.Now()
		if err := send(); err != nil {
			b.Fatal(err)
		}
		select {
		case at := <-got:
			out = append(out, at.Sub(start))
		case <-time.After(5 * time.Second):
			b.Fatal("message not received")
		}
	}
	slices.Sort(out)
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func pct(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	return float64(d[int(float64(len(d)-1)*p)].Microseconds())
}

func benchLatency(b *testing.B, reliable bool) {
	srv := brokertest.Run(b, broker.Options{})
	w := &wire{srv: srv, Clients: brokertest.Dial(b, srv)}
	topic := "/default/latency"
	resp, err := w.Producer.CreateProducer(context.Background(), &danubepb.ProducerRequest{
		ProducerName: "bench", TopicName: topic, DispatchStrategy: strategy(reliable)})
	if err != nil {
		b.Fatal(err)
	}
	cid, err := w.Consumer.Subscribe(context.Background(), &danubepb.ConsumerRequest{
		TopicName: topic, Subscription: "lat", ConsumerName: "c", SubscriptionType: danubepb.ConsumerRequest_Exclusive})
	if err != nil {
		b.Fatal(err)
	}
	brokerGot := make(chan time.Time, 1)
	ackSub := ""
	if reliable {
		ackSub = "lat"
	}
	drain(b, w.Consumer, cid.ConsumerId, ackSub, brokerGot)
	m := &danubepb.StreamMessage{MsgId: &danubepb.MsgID{ProducerId: resp.ProducerId, TopicName: topic},
		Payload: make([]byte, benchPayload), ProducerName: "bench"}
	brokerSend := func() error {
		m.RequestId++
		m.MsgId.TopicOffset = 0
		_, err := w.Producer.SendMessage(context.Background(), m)
		return err
	}

	relayConn := startRelay(b, true)
	relayGot := make(chan time.Time, 1)
	drain(b, danubepb.NewConsumerServiceClient(relayConn), 0, "", relayGot)
	rp := danubepb.NewProducerServiceClient(relayConn)
	rm := &danubepb.StreamMessage{MsgId: &danubepb.MsgID{}, Payload: make([]byte, benchPayload)}
	relaySend := func() error {
		rm.RequestId++
		_, err := rp.SendMessage(context.Background(), rm)
		return err
	}
	latencies(b, 200, relaySend, relayGot) // warm up
	latencies(b, 200, brokerSend, brokerGot)

	b.ResetTimer()
	var r, l []time.Duration
	const rounds = 4
	for i := range rounds {
		n := b.N/rounds + boolInt(i < b.N%rounds)
		r = append(r, latencies(b, n, relaySend, relayGot)...)
		l = append(l, latencies(b, n, brokerSend, brokerGot)...)
	}
	b.StopTimer()
	slices.Sort(r)
	slices.Sort(l)
	b.ReportMetric(pct(l, 0.5), "p50-µs")
	b.ReportMetric(pct(l, 0.99), "p99-µs")
	b.ReportMetric(pct(r, 0.5), "relay-p50-µs")
	b.ReportMetric(pct(r, 0.99), "relay-p99-µs")
	b.ReportMetric(pct(r, 0.5)/pct(l, 0.5), "p50-ratio-to-relay")
}

// BenchmarkLatencyNonReliable: publish→receive latency, one message at a time, next to a bare relay.
func BenchmarkLatencyNonReliable(b *testing.B) { benchLatency(b, false) }

// BenchmarkLatencyReliable: publish→receive latency on a reliable topic, acking each message.
func BenchmarkLatencyReliable(b *testing.B) { benchLatency(b, true) }

// BenchmarkPublishReliableStores: reliable publish throughput at 64 concurrent senders on the on-disk store
// with each fsync policy, next to the in-memory store, in the same run (alternating rounds).
func BenchmarkPublishReliableStores(b *testing.B) {
	type target struct {
		name string
		conn *grpc.ClientConn
		mk   func() *danubepb.StreamMessage
		took time.Duration
	}
	var targets []*target
	for _, name := range []string{"memory", "never", "interval", "always"} {
		opts := broker.Options{}
		if name != "memory" {
			pol, _ := disk.ParseFsyncPolicy(name)
			st, err := disk.Open(b.TempDir(), disk.Options{Fsync: pol})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { st.Close() })
			opts.Store = st
		}
		srv := brokertest.Run(b, opts)
		conn := benchDial(b, srv.Addr().String())
		resp, err := danubepb.NewProducerServiceClient(conn).CreateProducer(context.Background(), &danubepb.ProducerRequest{
			ProducerName: "bench", TopicName: "/default/bench", DispatchStrategy: danubepb.DispatchStrategy_Reliable})
		if err != nil {
			b.Fatal(err)
		}
		payload := make([]byte, benchPayload)
		mk := func() *danubepb.StreamMessage {
			return &danubepb.StreamMessage{MsgId: &danubepb.MsgID{ProducerId: resp.ProducerId, TopicName: "/default/bench"},
				Payload: payload, ProducerName: "bench"}
		}
		publishAll(b, conn, 1000, benchConcurrency, mk) // warm up
		targets = append(targets, &target{name: name, conn: conn, mk: mk})
	}
	b.SetBytes(benchPayload)
	b.ResetTimer()
	const rounds = 4
	for i := range rounds {
		n := b.N/rounds + boolInt(i < b.N%rounds)
		for _, tg := range targets {
			tg.took += publishAll(b, tg.conn, n, benchConcurrency, tg.mk)
		}
	}
	b.StopTimer()
	mem := targets[0].took
	for _, tg := range targets {
		b.ReportMetric(float64(b.N)/tg.took.Seconds(), tg.name+"-msgs/s")
		if tg.name != "memory" {
			b.ReportMetric(mem.Seconds()/tg.took.Seconds(), tg.name+"-ratio")
		}
	}
}
