package all_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/internal/jsonl"
	"github.com/danube-console/danube-console/internal/testenv"
)

// pipelineMessages is how many messages one flow of the pipeline benchmark moves.
const pipelineMessages = 5000

// pipelinePayload is the payload size of both flows.
const pipelinePayload = 200

// BenchmarkPipeline measures generator → broker → jsonl sink through the connector runtime, next to the
// same flow written directly with the client (a producer sending with SendAsync; a consumer that encodes
// each batch of what it has received as JSON lines, appends and fsyncs it, then acks), in the same run
// against the same embedded broker. Each iteration runs both flows of pipelineMessages messages, in
// alternating order; it reports both rates and their ratio (runtime/direct: 1 means the runtime costs
// nothing).
func BenchmarkPipeline(b *testing.B) {
	srv := brokertest.Run(b, broker.Options{AdminPort: -1, MaxUnackedMessages: 1000})
	c, err := client.Connect(context.Background(), srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var runtimeTime, directTime time.Duration
	b.ResetTimer()
	for i := range b.N {
		dir := b.TempDir()
		flows := []func(){
			func() { runtimeTime += runtimeFlow(b, c, dir, fmt.Sprintf("/default/rt-%d", i)) },
			func() { directTime += directFlow(b, c, dir, fmt.Sprintf("/default/direct-%d", i)) },
		}
		if i%2 == 1 {
			flows[0], flows[1] = flows[1], flows[0]
		}
		for _, f := range flows {
			f()
		}
	}
	b.StopTimer()
	n := float64(b.N * pipelineMessages)
	rt, direct := n/runtimeTime.Seconds(), n/directTime.Seconds()
	b.ReportMetric(rt, "runtime-msgs/s")
	b.ReportMetric(direct, "direct-msgs/s")
	b.ReportMetric(rt/direct, "runtime/direct")
}

// runtimeFlow runs a generator and a jsonl sink until the sink wrote every message, and returns the time
// from the generator's start to the last write.
func runtimeFlow(b *testing.B, c *client.Client, dir, topic string) time.Duration {
	env := connectors.DefaultEnv()
	rt := connectors.NewRuntime(c, env, connectors.RuntimeOptions{})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := rt.Close(ctx); err != nil {
			b.Error(err)
		}
	}()
	sink, err := env.ParseInstance(map[string]any{"name": "sink", "kind": "jsonl", "topic": topic,
		"create_topic": "reliable", "path": filepath.Join(dir, "runtime.jsonl")}, nil)
	if err != nil {
		b.Fatal(err)
	}
	gen, err := env.ParseInstance(map[string]any{"name": "gen", "kind": "generator", "topic": topic, "reliable": true,
		"count": pipelineMessages, "payload_size": pipelinePayload, "batch_size": 100, "ordered": false}, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, cfg := range []connectors.InstanceConfig{sink, gen} {
		if err := rt.Add(cfg); err != nil {
			b.Fatal(err)
		}
	}
	if err := rt.Start("sink"); err != nil {
		b.Fatal(err)
	}
	testenv.Eventually(b, time.Minute, func() bool {
		st, _ := rt.Status("sink")
		return st.State == connectors.StateRunning
	}, "the sink is not running")
	start := time.Now()
	if err := rt.Start("gen"); err != nil {
		b.Fatal(err)
	}
	deadline := start.Add(2 * time.Minute)
	for st, _ := rt.Status("sink"); st.Processed < pipelineMessages; st, _ = rt.Status("sink") {
		if time.Now().After(deadline) {
			b.Fatalf("the runtime flow wrote %d of %d in 2 min", st.Processed, pipelineMessages)
		}
		time.Sleep(200 * time.Microsecond) // polls inside the measurement: finer than testenv.Eventually's
	}
	return time.Since(start)
}

// directFlow is the same flow written with the client alone.
func directFlow(b *testing.B, c *client.Client, dir, topic string) time.Duration {
	ctx := context.Background()
	p, err := c.NewProducer(ctx, client.ProducerConfig{Topic: topic, Name: "direct", Dispatch: client.Reliable})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(ctx)
	cons, err := c.Subscribe(ctx, client.ConsumerConfig{Topic: topic, Subscription: "direct", Name: "direct"})
	if err != nil {
		b.Fatal(err)
	}
	defer cons.Close(ctx)
	f, err := os.OpenFile(filepath.Join(dir, "direct.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()

	payload := bytes.Repeat([]byte("x"), pipelinePayload)
	start := time.Now()
	sendErr := make(chan error, 1)
	go func() {
		for range pipelineMessages {
			if err := p.SendAsync(ctx, payload, func(client.SendResult, error) {}); err != nil {
				sendErr <- err
				return
			}
		}
		sendErr <- p.Flush(ctx)
	}()

	// Acks go out from a pool of workers while the next batch is written, as a careful hand-written
	// consumer (and the runtime) does.
	acks := make(chan *client.Message, 200)
	ackErr := make(chan error, 16)
	var workers sync.WaitGroup
	for range 16 {
		workers.Go(func() {
			for m := range acks {
				if err := cons.Ack(ctx, m); err != nil {
					select {
					case ackErr <- err:
					default:
					}
				}
			}
		})
	}
	defer func() {
		close(acks)
		workers.Wait()
	}()

	var buf bytes.Buffer
	enc := jsonl.NewWriter(&buf)
	batch := make([]*client.Message, 0, 100)
	msgs := cons.Messages()
	written := 0
	for written < pipelineMessages {
		batch = append(batch[:0], <-msgs)
	fill:
		for len(batch) < cap(batch) {
			select {
			case m := <-msgs:
				batch = append(batch, m)
			case <-time.After(5 * time.Millisecond):
				break fill
			}
		}
		buf.Reset()
		for _, m := range batch {
			if err := enc.Write(jsonl.FromMessage(m)); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := f.Write(buf.Bytes()); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		for _, m := range batch {
			acks <- m
		}
		written += len(batch)
	}
	d := time.Since(start)
	if err := <-sendErr; err != nil {
		b.Fatal(err)
	}
	select {
	case err := <-ackErr:
		b.Fatal(err)
	default:
	}
	return d
}
