package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// bigState is what TestLargeMetadataSurvivesRestarts creates and expects back.
type bigState struct {
	topics    []string
	producers map[string]uint64 // topic → producer id
}

// bigTopicName is the i-th topic; some names are long.
func bigTopicName(i int) string {
	if i%100 == 7 {
		return fmt.Sprintf("/default/use-%05d-%s", i, strings.Repeat("long-topic-name-", 12))
	}
	return fmt.Sprintf("/default/use-%05d", i)
}

// bigProducerName is the producer of the i-th topic: long names make the metadata grow faster.
func bigProducerName(i int) string {
	return fmt.Sprintf("producer-%05d-%s", i, strings.Repeat("p", 200))
}

// TestLargeMetadataSurvivesRestarts fills a broker's data directory by ordinary use until its metadata is
// megabytes (1,500 reliable topics, each with a producer, a subscription and one message; long names), stops
// the broker with SIGTERM and then with SIGKILL, and checks after each restart that the broker starts and
// restores exactly the same state: the same topics, the same producer ids, and every stored message still
// delivered to its subscription.
func TestLargeMetadataSurvivesRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs broker processes")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	const n = 1500
	args := []string{"--port", "0", "--admin-port", "0", "--data-dir", dir}
	b := startBrokerProcess(t, bin, args...)
	want := bigState{producers: map[string]uint64{}}
	conn := dialBroker(t, b.url)
	pc := danubepb.NewProducerServiceClient(conn)
	cc := danubepb.NewConsumerServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var mu sync.Mutex
	forEach(t, n, func(i int) error {
		topic := bigTopicName(i)
		p, err := pc.CreateProducer(ctx, &danubepb.ProducerRequest{ProducerName: bigProducerName(i), TopicName: topic,
			DispatchStrategy: danubepb.DispatchStrategy_Reliable})
		if err != nil {
			return fmt.Errorf("CreateProducer %s: %w", topic, err)
		}
		if _, err := cc.Subscribe(ctx, &danubepb.ConsumerRequest{TopicName: topic, Subscription: "sub-" + topic,
			ConsumerName: "c", SubscriptionType: danubepb.ConsumerRequest_Exclusive}); err != nil {
			return fmt.Errorf("Subscribe %s: %w", topic, err)
		}
		if _, err := pc.SendMessage(ctx, &danubepb.StreamMessage{MsgId: &danubepb.MsgID{ProducerId: p.ProducerId, TopicName: topic},
			Payload: []byte("payload of " + topic), ProducerName: bigProducerName(i)}); err != nil {
			return fmt.Errorf("SendMessage %s: %w", topic, err)
		}
		mu.Lock()
		want.topics = append(want.topics, topic)
		want.producers[topic] = p.ProducerId
		mu.Unlock()
		return nil
	})
	conn.Close()
	meta, err := os.Stat(filepath.Join(dir, "meta.log"))
	if err != nil {
		t.Fatal(err)
	}
	if meta.Size() < 1<<20 {
		t.Fatalf("meta.log is %d bytes: the test must grow it past 1 MiB", meta.Size())
	}
	t.Logf("meta.log holds %d bytes for %d topics", meta.Size(), n)

	b.stop(t)
	b = startBrokerProcess(t, bin, args...)
	checkBigState(t, b, want, false)
	b.kill(t)
	b = startBrokerProcess(t, bin, args...)
	checkBigState(t, b, want, true)
	b.stop(t)
}

// checkBigState compares a restarted broker's state with want: topics, producer ids, and each topic's one
// message delivered to its subscription (acked in the last check, so that the one before sees it again).
func checkBigState(t *testing.T, b *brokerProcess, want bigState, ack bool) {
	t.Helper()
	conn := dialBroker(t, b.url)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	aconn := dialBroker(t, adminURLOf(t, b))
	defer aconn.Close()
	list, err := adminpb.NewNamespaceAdminClient(aconn).GetNamespaceTopics(ctx, &adminpb.NamespaceRequest{Name: "default"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, name := range list.GetTopics() {
		got["/"+name] = true // the admin API names topics without their leading slash, as the real broker does
	}
	for _, topic := range want.topics {
		if !got[topic] {
			t.Fatalf("topic %s missing after the restart (%d topics listed)", topic, len(got))
		}
	}
	pc := danubepb.NewProducerServiceClient(conn)
	cc := danubepb.NewConsumerServiceClient(conn)
	forEach(t, len(want.topics), func(i int) error {
		topic := bigTopicName(i)
		p, err := pc.CreateProducer(ctx, &danubepb.ProducerRequest{ProducerName: bigProducerName(i), TopicName: topic,
			DispatchStrategy: danubepb.DispatchStrategy_Reliable})
		if err != nil {
			return fmt.Errorf("CreateProducer %s after the restart: %w", topic, err)
		}
		if p.ProducerId != want.producers[topic] {
			return fmt.Errorf("producer of %s has id %d after the restart, want %d", topic, p.ProducerId, want.producers[topic])
		}
		sub := "sub-" + topic
		c, err := cc.Subscribe(ctx, &danubepb.ConsumerRequest{TopicName: topic, Subscription: sub, ConsumerName: "c",
			SubscriptionType: danubepb.ConsumerRequest_Exclusive})
		if err != nil {
			return fmt.Errorf("Subscribe %s after the restart: %w", topic, err)
		}
		sctx, scancel := context.WithCancel(ctx)
		defer scancel()
		stream, err := cc.ReceiveMessages(sctx, &danubepb.ReceiveRequest{ConsumerId: c.ConsumerId})
		if err != nil {
			return fmt.Errorf("ReceiveMessages %s: %w", topic, err)
		}
		m, err := stream.Recv()
		if err != nil {
			return fmt.Errorf("receiving the stored message of %s: %w", topic, err)
		}
		if string(m.Payload) != "payload of "+topic || m.MsgId.TopicOffset != 0 {
			return fmt.Errorf("%s delivered %q at offset %d, want its stored message at 0", topic, m.Payload, m.MsgId.TopicOffset)
		}
		if ack {
			if _, err := cc.Ack(ctx, &danubepb.AckRequest{MsgId: m.MsgId, SubscriptionName: sub}); err != nil {
				return fmt.Errorf("ack on %s: %w", topic, err)
			}
		}
		return nil
	})
}

// forEach runs f(0..n-1) on a few goroutines and fails the test with the first error.
func forEach(t testing.TB, n int, f func(i int) error) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	work := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				if err := f(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}

// adminURLOf returns the admin URL a broker process printed.
func adminURLOf(t testing.TB, b *brokerProcess) string {
	t.Helper()
	m := regexp.MustCompile(`admin API at (\S+)`).FindStringSubmatch(b.out.String())
	if m == nil {
		t.Fatalf("no admin URL in %q", b.out.String())
	}
	return m[1]
}

// dialBroker connects to a broker URL without TLS.
func dialBroker(t testing.TB, url string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(strings.TrimPrefix(url, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	return conn
}
