package client

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// The producer benchmarks measure the client next to a baseline in the same run, alternating rounds so that
// drift in the machine's load hits both sides alike (as broker/bench_test.go does), and report the ratio.

const (
	prodBenchPayload = 256
	prodBenchRounds  = 4
)

// prodBenchSetup starts a broker and a client with a producer on a non-reliable topic without subscribers
// (so that the broker's work per message is small and the client's share shows).
func prodBenchSetup(b *testing.B, topic string) (*broker.Server, *Producer) {
	srv := brokertest.Run(b, broker.Options{AdminPort: -1})
	c, err := Connect(context.Background(), srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	p, err := c.NewProducer(context.Background(), ProducerConfig{Topic: topic, Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close(context.Background()) })
	return srv, p
}

// prodBenchRun sends n messages from conc goroutines with send and returns the elapsed time.
func prodBenchRun(b *testing.B, n, conc int, send func(ctx context.Context, i int) error) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				if err := send(context.Background(), int(i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkSendVsRawStub: the client's synchronous Send next to calling the generated
// ProducerService.SendMessage stub directly with an equivalent message, on the same broker, with 1 and with
// 8 concurrent senders. ratio-to-stub is the client's throughput over the stub's (target ≥ 0.9).
func BenchmarkSendVsRawStub(b *testing.B) {
	for _, conc := range []int{1, 8} {
		b.Run(fmt.Sprintf("senders=%d", conc), func(b *testing.B) {
			topic := "/default/bench-stub"
			srv, p := prodBenchSetup(b, topic)
			conn, err := grpc.NewClient(srv.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { conn.Close() })
			stub := danubepb.NewProducerServiceClient(conn)
			resp, err := stub.CreateProducer(context.Background(), &danubepb.ProducerRequest{ProducerName: "raw", TopicName: topic})
			if err != nil {
				b.Fatal(err)
			}
			payload := make([]byte, prodBenchPayload)
			var reqID atomic.Uint64
			attrs := map[string]string{}
			raw := func(ctx context.Context, _ int) error {
				m := &danubepb.StreamMessage{
					RequestId:    reqID.Add(1),
					MsgId:        &danubepb.MsgID{ProducerId: resp.ProducerId, TopicName: topic, BrokerAddr: srv.URL()},
					Payload:      payload,
					PublishTime:  uint64(time.Now().UnixMilli()),
					ProducerName: "raw",
					Attributes:   attrs,
				}
				_, err := stub.SendMessage(ctx, m)
				return err
			}
			ours := func(ctx context.Context, _ int) error {
				_, err := p.Send(ctx, payload)
				return err
			}
			prodBenchRun(b, 2000, conc, raw) // warm both connections up
			prodBenchRun(b, 2000, conc, ours)

			b.SetBytes(prodBenchPayload)
			b.ResetTimer()
			t := testenv.Alternate(b.N, prodBenchRounds,
				func(n int) time.Duration { return prodBenchRun(b, n, conc, raw) },
				func(n int) time.Duration { return prodBenchRun(b, n, conc, ours) })
			rawT, oursT := t[0], t[1]
			b.StopTimer()
			b.ReportMetric(float64(b.N)/oursT.Seconds(), "msgs/s")
			b.ReportMetric(float64(b.N)/rawT.Seconds(), "stub-msgs/s")
			b.ReportMetric(rawT.Seconds()/oursT.Seconds(), "ratio-to-stub")
		})
	}
}

// BenchmarkAsyncVsSync: SendAsync with the default window (then Flush) next to sequential synchronous Send
// from one goroutine, on the same producer. async-ratio is the async throughput over the sync one (target
// ≥ 3). For reference it also measures the protocol's ceiling on this machine, the generated stub called
// from as many goroutines as the producer has async senders (stub-ceiling-msgs/s), and reports
// ceiling-ratio (that ceiling over sync Send) and async-to-ceiling: with one unary call per message, async
// sending cannot beat the ceiling, so async-ratio is bounded by ceiling-ratio.
func BenchmarkAsyncVsSync(b *testing.B) {
	topic := "/default/bench-async"
	srv, p := prodBenchSetup(b, topic)
	payload := make([]byte, prodBenchPayload)
	conn, err := grpc.NewClient(srv.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	stub := danubepb.NewProducerServiceClient(conn)
	resp, err := stub.CreateProducer(context.Background(), &danubepb.ProducerRequest{ProducerName: "raw", TopicName: topic})
	if err != nil {
		b.Fatal(err)
	}
	var reqID atomic.Uint64
	attrs := map[string]string{}
	ceiling := func(n int) time.Duration {
		return prodBenchRun(b, n, min(DefaultAsyncWindow, maxAsyncSenders), func(ctx context.Context, _ int) error {
			_, err := stub.SendMessage(ctx, &danubepb.StreamMessage{
				RequestId:    reqID.Add(1),
				MsgId:        &danubepb.MsgID{ProducerId: resp.ProducerId, TopicName: topic, BrokerAddr: srv.URL()},
				Payload:      payload,
				PublishTime:  uint64(time.Now().UnixMilli()),
				ProducerName: "raw",
				Attributes:   attrs,
			})
			return err
		})
	}
	var failed atomic.Int64
	done := func(_ SendResult, err error) {
		if err != nil {
			failed.Add(1)
		}
	}
	async := func(n int) time.Duration {
		start := time.Now()
		for range n {
			if err := p.SendAsync(context.Background(), payload, done); err != nil {
				b.Fatal(err)
			}
		}
		if err := p.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	sync := func(n int) time.Duration {
		start := time.Now()
		for range n {
			if _, err := p.Send(context.Background(), payload); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	async(2000) // warm up
	sync(2000)
	ceiling(2000)

	b.SetBytes(prodBenchPayload)
	b.ResetTimer()
	t := testenv.Alternate(b.N, prodBenchRounds, sync, async, ceiling)
	syncT, asyncT, ceilT := t[0], t[1], t[2]
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d async sends failed", failed.Load())
	}
	b.ReportMetric(float64(b.N)/asyncT.Seconds(), "async-msgs/s")
	b.ReportMetric(float64(b.N)/syncT.Seconds(), "sync-msgs/s")
	b.ReportMetric(syncT.Seconds()/asyncT.Seconds(), "async-ratio")
	b.ReportMetric(float64(b.N)/ceilT.Seconds(), "stub-ceiling-msgs/s")
	b.ReportMetric(syncT.Seconds()/ceilT.Seconds(), "ceiling-ratio")
	b.ReportMetric(ceilT.Seconds()/asyncT.Seconds(), "async-to-ceiling")
}
