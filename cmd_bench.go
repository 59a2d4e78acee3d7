package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/danube-console/danube-console/client"
)

// benchFlags are the flags of "bench".
type benchFlags struct {
	conn       clientFlags
	topic      string
	producers  int
	consumers  int
	size       int
	count      int
	duration   time.Duration
	reliable   bool
	async      bool
	window     int
	partitions int
	json       bool
}

// benchReport is what bench prints (--json prints it as is).
type benchReport struct {
	Topic      string         `json:"topic"`
	Reliable   bool           `json:"reliable"`
	Async      bool           `json:"async"`
	Producers  int            `json:"producers"`
	Consumers  int            `json:"consumers"`
	Size       int            `json:"size"`
	Published  int64          `json:"published"`
	Failed     int64          `json:"failed"`
	Received   int64          `json:"received"`
	Seconds    float64        `json:"seconds"`
	MsgsPerSec float64        `json:"msgs_per_sec"`
	MBPerSec   float64        `json:"mb_per_sec"`
	Publish    latencySummary `json:"publish_latency_us"`
	EndToEnd   latencySummary `json:"end_to_end_latency_us"`

	firstErr error // the first failed send, if any
}

// latencySummary gives percentiles in microseconds.
type latencySummary struct {
	Samples int     `json:"samples"`
	P50     float64 `json:"p50"`
	P95     float64 `json:"p95"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
}

// maxSamples bounds the latencies kept per goroutine.
const maxSamples = 2_000_000

func summarize(d []time.Duration) latencySummary {
	if len(d) == 0 {
		return latencySummary{}
	}
	slices.Sort(d)
	at := func(p float64) float64 { return float64(d[int(float64(len(d)-1)*p)].Nanoseconds()) / 1e3 }
	return latencySummary{Samples: len(d), P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: at(1)}
}

// runBench publishes (and consumes) as fast as it can and reports throughput and latencies.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const name = "bench"
	var f benchFlags
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	f.conn.register(fs)
	fs.StringVarP(&f.topic, "topic", "t", "", "topic to use (default: a new /default/bench-<random>)")
	fs.IntVar(&f.producers, "producers", 1, "concurrent producers")
	fs.IntVar(&f.consumers, "consumers", 1, "consumers on one shared subscription (0: publish only)")
	fs.IntVar(&f.size, "size", 128, "payload size in bytes (at least 8)")
	fs.IntVarP(&f.count, "count", "c", 0, "messages to publish in all (0: run for --duration)")
	fs.DurationVar(&f.duration, "duration", 10*time.Second, "how long to publish when --count is 0")
	fs.BoolVar(&f.reliable, "reliable", false, "use a reliable topic (stored, acknowledged)")
	fs.BoolVar(&f.async, "async", false, "send asynchronously with up to --window messages in flight per producer")
	fs.IntVar(&f.window, "window", 256, "in-flight messages per producer with --async")
	fs.IntVar(&f.partitions, "partitions", 0, "use a topic with this many partitions")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: danube-console bench [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Measures publish throughput and publish and end-to-end latency against a broker. Flags:")
		fs.PrintDefaults()
	}
	if ok, code := parseFlags(fs, args, stderr, name, &f.conn); !ok {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, name, "unexpected argument %q", fs.Arg(0))
	case f.producers < 1 || f.consumers < 0 || f.count < 0 || f.duration <= 0 || f.window < 1 || f.partitions < 0:
		return usageError(stderr, name, "--producers and --window must be at least 1, --duration positive, the others not negative")
	case f.size < 8:
		return usageError(stderr, name, "--size must be at least 8 (the payload carries its send time)")
	}
	if f.topic == "" {
		var b [4]byte
		rand.Read(b[:])
		f.topic = "/default/bench-" + hex.EncodeToString(b[:])
	}
	c, err := f.conn.connect(ctx)
	if err != nil {
		return fail(stderr, name, err)
	}
	defer c.Close()
	rep, err := bench(ctx, c, f)
	if err != nil {
		return fail(stderr, name, err)
	}
	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fail(stderr, name, err)
		}
		return benchResult(stderr, name, rep)
	}
	mode := "sync"
	if f.async {
		mode = fmt.Sprintf("async, window %d", f.window)
	}
	fmt.Fprintf(stdout, "topic %s (%s), %d producer(s) (%s), %d consumer(s), %d-byte payloads\n",
		rep.Topic, map[bool]string{true: "reliable", false: "non-reliable"}[f.reliable], f.producers, mode, f.consumers, f.size)
	fmt.Fprintf(stdout, "published %d in %.2fs: %.0f msgs/s, %.2f MB/s (%d failed)\n", rep.Published, rep.Seconds, rep.MsgsPerSec, rep.MBPerSec, rep.Failed)
	if f.consumers > 0 {
		fmt.Fprintf(stdout, "received  %d\n", rep.Received)
	}
	pr := func(label string, s latencySummary) {
		if s.Samples > 0 {
			fmt.Fprintf(stdout, "%-12s p50 %s  p95 %s  p99 %s  max %s\n", label, us(s.P50), us(s.P95), us(s.P99), us(s.Max))
		}
	}
	pr("publish", rep.Publish)
	pr("end-to-end", rep.EndToEnd)
	return benchResult(stderr, name, rep)
}

// benchResult is the exit code of a bench whose report was printed: 1, with the first failure, when sends
// failed.
func benchResult(stderr io.Writer, name string, rep benchReport) int {
	if rep.Failed == 0 {
		return 0
	}
	return fail(stderr, name, fmt.Errorf("%d of %d sends failed; the first: %w", rep.Failed, rep.Failed+rep.Published, rep.firstErr))
}

func us(v float64) string {
	return (time.Duration(v * 1e3)).Round(time.Microsecond).String()
}

func bench(ctx context.Context, c *client.Client, f benchFlags) (benchReport, error) {
	rep := benchReport{Topic: f.topic, Reliable: f.reliable, Async: f.async, Producers: f.producers, Consumers: f.consumers, Size: f.size}
	dispatch := client.NonReliable
	if f.reliable {
		dispatch = client.Reliable
	}
	// Create the topic (producers create it), then subscribe, then publish: new subscriptions start at the
	// latest message.
	producers := make([]*client.Producer, f.producers)
	for i := range producers {
		p, err := c.NewProducer(ctx, client.ProducerConfig{Topic: f.topic, Name: fmt.Sprintf("bench-%d", i),
			Dispatch: dispatch, Partitions: f.partitions, AsyncWindow: f.window})
		if err != nil {
			return rep, err
		}
		defer p.Close(context.Background())
		producers[i] = p
	}

	var (
		received atomic.Int64
		e2eMu    sync.Mutex
		e2e      []time.Duration
	)
	cctx, stopConsumers := context.WithCancel(ctx)
	defer stopConsumers()
	var cwg sync.WaitGroup
	for i := range f.consumers {
		cons, err := c.Subscribe(ctx, client.ConsumerConfig{Topic: f.topic, Subscription: "bench", Name: fmt.Sprintf("bench-%d", i), Type: client.Shared})
		if err != nil {
			return rep, err
		}
		defer cons.Close(context.Background())
		cwg.Go(func() {
			var local []time.Duration
			defer func() {
				e2eMu.Lock()
				e2e = append(e2e, local...)
				e2eMu.Unlock()
			}()
			for {
				m, err := cons.Receive(cctx)
				if err != nil {
					return
				}
				now := time.Now()
				if len(m.Payload) >= 8 && len(local) < maxSamples {
					local = append(local, now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(m.Payload)))))
				}
				received.Add(1)
				if f.reliable {
					m.Ack(cctx)
				}
			}
		})
	}

	var (
		published, failed atomic.Int64
		pubMu             sync.Mutex
		pub               []time.Duration
		quota             atomic.Int64 // messages left with --count
		errMu             sync.Mutex
		firstErr          error
	)
	failure := func(err error) {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return // interrupted, not failed
		}
		errMu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		errMu.Unlock()
		failed.Add(1)
	}
	quota.Store(int64(f.count))
	deadline := time.Now().Add(f.duration)
	more := func() bool {
		if f.count > 0 {
			return quota.Add(-1) >= 0
		}
		return time.Now().Before(deadline)
	}
	start := time.Now()
	var pwg sync.WaitGroup
	for _, p := range producers {
		pwg.Go(func() {
			var local []time.Duration
			var lmu sync.Mutex
			payload := func() []byte {
				b := make([]byte, f.size)
				binary.BigEndian.PutUint64(b, uint64(time.Now().UnixNano()))
				return b
			}
			for more() && ctx.Err() == nil {
				sendStart := time.Now()
				if !f.async {
					_, err := p.Send(ctx, payload())
					if err != nil {
						failure(err)
						continue
					}
					published.Add(1)
					if len(local) < maxSamples {
						local = append(local, time.Since(sendStart))
					}
					continue
				}
				err := p.SendAsync(ctx, payload(), func(_ client.SendResult, err error) {
					if err != nil {
						failure(err)
						return
					}
					published.Add(1)
					lmu.Lock()
					if len(local) < maxSamples {
						local = append(local, time.Since(sendStart))
					}
					lmu.Unlock()
				})
				if err != nil {
					failure(err)
				}
			}
			if f.async {
				p.Flush(ctx)
			}
			lmu.Lock()
			pubMu.Lock()
			pub = append(pub, local...)
			pubMu.Unlock()
			lmu.Unlock()
		})
	}
	pwg.Wait()
	elapsed := time.Since(start)

	// Give consumers time to catch up with what was published.
	if f.consumers > 0 {
		wait := time.Now().Add(10 * time.Second)
		for received.Load() < published.Load() && time.Now().Before(wait) && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	stopConsumers()
	cwg.Wait()

	rep.Published, rep.Failed, rep.Received = published.Load(), failed.Load(), received.Load()
	errMu.Lock()
	rep.firstErr = firstErr
	errMu.Unlock()
	rep.Seconds = elapsed.Seconds()
	rep.MsgsPerSec = float64(rep.Published) / rep.Seconds
	rep.MBPerSec = rep.MsgsPerSec * float64(f.size) / 1e6
	rep.Publish = summarize(pub)
	rep.EndToEnd = summarize(e2e)
	return rep, nil
}
