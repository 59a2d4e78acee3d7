package client

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/internal/testenv"
)

// BenchmarkConsumeAck: reliable consumption with an ack per message, one consumer, the broker's default
// dispatch window (broker.DefaultMaxUnackedMessages unacknowledged messages per subscription): a blocking
// Ack per message next to AckAsync with the default ack window, on the same consumer, alternating rounds.
// Each round first publishes its messages (not timed), then times receiving them all and having every ack
// answered. pipelined-ratio is the AckAsync throughput over the Ack one. On the loopback both are bound by
// the calls' CPU; BenchmarkConsumeAckOverLink shows what pipelining saves between machines.
func BenchmarkConsumeAck(b *testing.B) {
	srv := brokertest.Run(b, broker.Options{AdminPort: -1})
	benchConsumeAck(b, srv.URL())
}

// linkOneWay is the one-way delay of BenchmarkConsumeAckOverLink's link: a round trip of 2 ms, as between
// zones of a cloud region (the runtime's timers make a shorter delay about a millisecond anyway).
const linkOneWay = time.Millisecond

// BenchmarkConsumeAckOverLink is BenchmarkConsumeAck with the client reaching the broker over a link with a
// round trip of 2 ms (testenv.LatencyProxy; the broker advertises the proxy in its lookups, so every call
// takes the link). On the loopback a round trip costs little next to the calls' CPU, which hides what
// pipelining saves; on a network a blocking ack costs the consumer a round trip per message.
func BenchmarkConsumeAckOverLink(b *testing.B) {
	link := testenv.NewLatencyProxy(b, linkOneWay)
	srv := brokertest.Run(b, broker.Options{AdminPort: -1, AdvertisedURL: "http://" + link.Addr()})
	link.Forward(srv.Addr().String())
	benchConsumeAck(b, "http://"+link.Addr())
}

// benchConsumeAck runs BenchmarkConsumeAck's rounds with a client connected to url.
func benchConsumeAck(b *testing.B, url string) {
	c, err := Connect(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	ctx := context.Background()
	const topic = "/default/bench-consume-ack"
	p, err := c.NewProducer(ctx, ProducerConfig{Topic: topic, Name: "bench", Dispatch: Reliable})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Close(context.Background()) })
	cons, err := c.Subscribe(ctx, ConsumerConfig{Topic: topic, Subscription: "bench", Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cons.Close(context.Background()) })
	payload := make([]byte, prodBenchPayload)
	publish := func(n int) {
		for range n {
			if err := p.SendAsync(ctx, payload, nil); err != nil {
				b.Fatal(err)
			}
		}
		if err := p.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	var failed atomic.Int64
	done := func(err error) {
		if err != nil {
			failed.Add(1)
		}
	}
	consume := func(n int, pipelined bool) time.Duration {
		b.StopTimer()
		publish(n)
		b.StartTimer()
		start := time.Now()
		for range n {
			m, err := cons.Receive(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if pipelined {
				err = cons.AckAsync(ctx, m, done)
			} else {
				err = cons.Ack(ctx, m)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if err := cons.FlushAcks(ctx); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	consume(1000, false) // warm up
	consume(1000, true)

	b.SetBytes(prodBenchPayload)
	b.ResetTimer()
	t := testenv.Alternate(b.N, prodBenchRounds,
		func(n int) time.Duration { return consume(n, false) },
		func(n int) time.Duration { return consume(n, true) })
	syncT, pipeT := t[0], t[1]
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d acks failed", failed.Load())
	}
	b.ReportMetric(float64(b.N)/pipeT.Seconds(), "pipelined-msgs/s")
	b.ReportMetric(float64(b.N)/syncT.Seconds(), "sync-msgs/s")
	b.ReportMetric(syncT.Seconds()/pipeT.Seconds(), "pipelined-ratio")
}
