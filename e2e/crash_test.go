package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/adminpb"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// crashSeedEnv names the environment variable that replays a run of the crash test: the test logs the seed
// of its random kill moments, and DANUBE_CRASH_SEED=<seed> go test -run TestCrashKeepsEveryAcknowledgedMessage
// ./e2e/ kills at the same moments of each round again.
const crashSeedEnv = "DANUBE_CRASH_SEED"

// crashRand returns the crash test's random source, seeded from $DANUBE_CRASH_SEED or else at random, and
// logs the seed.
func crashRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := rand.Uint64()
	if v := os.Getenv(crashSeedEnv); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatalf("$%s=%q: %v", crashSeedEnv, v, err)
		}
	}
	t.Logf("random seed %d (replay with %s=%d)", seed, crashSeedEnv, seed)
	return rand.New(rand.NewPCG(seed, seed))
}

// TestCrashKeepsEveryAcknowledgedMessage runs the broker as its own process on a data directory, publishes
// reliable messages while a consumer acknowledges them, kills the process with SIGKILL at random moments and
// restarts it, then checks that every message the producer saw acknowledged was delivered at least once, that
// offsets are contiguous, and that the subscription resumed from its cursor rather than from the start.
//
// The kill moments come from a random seed the test logs; set DANUBE_CRASH_SEED to that seed to replay a
// failure with the same moments.
func TestCrashKeepsEveryAcknowledgedMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs broker processes")
	}
	rng := crashRand(t)
	bin := buildBinary(t)
	dataDir := t.TempDir()
	const topic, sub = "/default/crash", "crash-sub"

	var (
		mu        sync.Mutex
		acked     = map[string]bool{}   // payloads the broker acknowledged to the producer
		delivered = map[uint64]string{} // offset → payload seen by the consumer
		next      int                   // next payload number
		meta      = newMetaChurn()
	)
	rounds := 5
	for round := range rounds {
		last := round == rounds-1
		fsync := []string{"interval", "always", "never"}[round%3] // every policy must keep what it acknowledged
		b := startBrokerProcess(t, bin, "--port", "0", "--admin-port", "0", "--data-dir", dataDir, "--fsync", fsync)
		conn, err := grpc.NewClient(strings.TrimPrefix(b.url, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		pc := danubepb.NewProducerServiceClient(conn)
		cc := danubepb.NewConsumerServiceClient(conn)
		prod, err := pc.CreateProducer(ctx, &danubepb.ProducerRequest{ProducerName: "p", TopicName: topic,
			DispatchStrategy: danubepb.DispatchStrategy_Reliable})
		if err != nil {
			t.Fatalf("round %d (fsync %s): CreateProducer: %v", round, fsync, err)
		}
		cons, err := cc.Subscribe(ctx, &danubepb.ConsumerRequest{TopicName: topic, Subscription: sub, ConsumerName: "c",
			SubscriptionType: danubepb.ConsumerRequest_Exclusive})
		if err != nil {
			t.Fatalf("round %d: Subscribe: %v", round, err)
		}
		stream, err := cc.ReceiveMessages(ctx, &danubepb.ReceiveRequest{ConsumerId: cons.ConsumerId})
		if err != nil {
			t.Fatalf("round %d: ReceiveMessages: %v", round, err)
		}
		var wg sync.WaitGroup
		firstOffset := make(chan uint64, 1)
		wg.Go(func() { // consumer: record and ack everything
			for {
				m, err := stream.Recv()
				if err != nil {
					return
				}
				select {
				case firstOffset <- m.MsgId.TopicOffset:
				default:
				}
				mu.Lock()
				delivered[m.MsgId.TopicOffset] = string(m.Payload)
				mu.Unlock()
				if _, err := cc.Ack(ctx, &danubepb.AckRequest{MsgId: m.MsgId, SubscriptionName: sub}); err != nil {
					return
				}
			}
		})
		stopProducing := make(chan struct{})
		wg.Go(func() { // producer: one message at a time, recorded when acknowledged
			for {
				select {
				case <-stopProducing:
					return
				default:
				}
				mu.Lock()
				payload := "m-" + strconv.Itoa(next)
				next++
				mu.Unlock()
				_, err := pc.SendMessage(ctx, &danubepb.StreamMessage{
					MsgId:   &danubepb.MsgID{ProducerId: prod.ProducerId, TopicName: topic},
					Payload: []byte(payload), ProducerName: "p"})
				if err != nil {
					return
				}
				mu.Lock()
				acked[payload] = true
				mu.Unlock()
			}
		})
		aconn := dialBroker(t, adminURLOf(t, b))
		var churn sync.WaitGroup
		grown := make(chan struct{})    // closed once this round has put its share into the metadata
		churnEnd := make(chan error, 1) // why the churn stopped
		churn.Go(func() { churnEnd <- meta.run(ctx, pc, cc, adminpb.NewTopicAdminClient(aconn), stopProducing, grown) })
		if round > 0 {
			select {
			case off := <-firstOffset:
				if off == 0 {
					t.Errorf("round %d: the subscription started again from offset 0 instead of its cursor", round)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: nothing delivered after the restart", round)
			}
		}
		// Once the metadata grew by this round's share and cursors were acknowledged in this round, a kill at
		// a random moment of the next 800 ms.
		select {
		case <-grown:
		case err := <-churnEnd:
			t.Fatalf("round %d: the metadata churn stopped before %d topics: %v", round, metaPerRound, err)
		}
		mu.Lock()
		base := len(delivered)
		mu.Unlock()
		testenv.Eventually(t, 20*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(delivered) >= base+50
		}, "round %d: fewer than 50 messages delivered and acknowledged", round)
		<-time.After(time.Duration(rng.IntN(800)) * time.Millisecond) // the random kill moment, not a wait for an event
		if !last {
			b.kill(t)
		} else {
			// Stop producing, then wait until everything acknowledged has been delivered.
			close(stopProducing)
			var missing []string
			testenv.Eventually(t, 20*time.Second, func() bool {
				mu.Lock()
				defer mu.Unlock()
				missing = missingPayloads(acked, delivered)
				return len(missing) == 0
			}, "acknowledged messages never delivered: %v", examples{&missing})
			churn.Wait()
			meta.check(t, ctx, aconn, pc)
			b.stop(t)
		}
		cancel()
		conn.Close()
		aconn.Close()
		wg.Wait()
		churn.Wait()
	}

	mu.Lock()
	defer mu.Unlock()
	if len(acked) < 100 {
		t.Fatalf("only %d messages acknowledged: the test did not exercise the broker", len(acked))
	}
	// Offsets are contiguous from 0: every offset up to the highest delivered one was delivered.
	var maxOff uint64
	for off := range delivered {
		maxOff = max(maxOff, off)
	}
	for off := uint64(0); off <= maxOff; off++ {
		if _, ok := delivered[off]; !ok {
			t.Fatalf("offset %d missing below the highest delivered offset %d", off, maxOff)
		}
	}
	if meta.bytes < 3*256<<10 { // the metadata is compacted each time it passes 256 KiB (4× its live size)
		t.Fatalf("only %d bytes of names went into the metadata: the test did not grow it through compactions", meta.bytes)
	}
	t.Logf("%d messages acknowledged over %d kills, %d offsets delivered; %d topics made and %d deleted again (%d bytes of names) to grow the metadata",
		len(acked), rounds-1, len(delivered), meta.seq, len(meta.deleted), meta.bytes)
}

// metaPerRound is how many topics each round of the crash test makes (and deletes again) at least, each
// with about 1.6 KB of names: five rounds put three times the compaction threshold into the metadata.
const metaPerRound = 120

// metaProducer is the producer of a topic the crash test makes only to grow the metadata.
type metaProducer struct {
	name string
	id   uint64
}

// metaChurn makes the crash test's metadata grow and shrink: topics with long-named producers and
// subscriptions are created and deleted again, so that meta.log goes through compactions while the broker is
// killed. It remembers what the broker confirmed.
type metaChurn struct {
	mu      sync.Mutex
	live    map[string]metaProducer // topics that exist, with their producer
	deleted map[string]bool         // topics whose deletion the broker confirmed
	seq     int                     // the next topic's number
	bytes   int                     // bytes of names put in the metadata
}

func newMetaChurn() *metaChurn {
	return &metaChurn{live: map[string]metaProducer{}, deleted: map[string]bool{}}
}

// run makes topics until stop is closed or a call fails (the broker was killed), closing grown after
// metaPerRound of them. Each new topic deletes the one made 20 before it.
func (mc *metaChurn) run(ctx context.Context, pc danubepb.ProducerServiceClient, cc danubepb.ConsumerServiceClient,
	ta adminpb.TopicAdminClient, stop <-chan struct{}, grown chan<- struct{}) error {
	for i := 0; ; i++ {
		if i == metaPerRound {
			close(grown)
		}
		select {
		case <-stop:
			return nil
		default:
		}
		mc.mu.Lock()
		k := mc.seq
		mc.seq++
		mc.mu.Unlock()
		topic := "/default/crash-meta-" + strconv.Itoa(k)
		name := "meta-p-" + strconv.Itoa(k) + "-" + strings.Repeat("x", 800)
		p, err := pc.CreateProducer(ctx, &danubepb.ProducerRequest{ProducerName: name, TopicName: topic})
		if err != nil {
			return fmt.Errorf("creating a producer on %s: %w", topic, err)
		}
		mc.mu.Lock()
		mc.live[topic] = metaProducer{name: name, id: p.ProducerId}
		mc.mu.Unlock()
		subName := "meta-s-" + strconv.Itoa(k) + "-" + strings.Repeat("y", 800)
		if _, err = cc.Subscribe(ctx, &danubepb.ConsumerRequest{TopicName: topic, Subscription: subName,
			ConsumerName: "meta-c", SubscriptionType: danubepb.ConsumerRequest_Shared}); err != nil {
			return fmt.Errorf("subscribing to %s: %w", topic, err)
		}
		mc.mu.Lock()
		mc.bytes += len(name) + len(subName)
		mc.mu.Unlock()
		if k < 20 {
			continue
		}
		old := "/default/crash-meta-" + strconv.Itoa(k-20)
		mc.mu.Lock()
		_, known := mc.live[old] // else a kill interrupted its creation: it may not exist
		delete(mc.live, old)     // until the broker answers, it may or may not be deleted
		mc.mu.Unlock()
		if _, err := ta.DeleteTopic(ctx, &adminpb.TopicRequest{Name: old}); err != nil && (known || status.Code(err) != codes.NotFound) {
			return fmt.Errorf("deleting %s: %w", old, err)
		}
		if known {
			mc.mu.Lock()
			mc.deleted[old] = true
			mc.mu.Unlock()
		}
	}
}

// check checks that a restarted broker holds exactly the topics made to grow the metadata: every topic still
// there with its producer's id, none of those deleted. The churn has stopped.
func (mc *metaChurn) check(t *testing.T, ctx context.Context, aconn *grpc.ClientConn, pc danubepb.ProducerServiceClient) {
	t.Helper()
	mc.mu.Lock()
	defer mc.mu.Unlock()
	list, err := adminpb.NewNamespaceAdminClient(aconn).GetNamespaceTopics(ctx, &adminpb.NamespaceRequest{Name: "default"})
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, name := range list.GetTopics() {
		listed["/"+name] = true
	}
	for topic := range mc.deleted {
		if listed[topic] {
			t.Errorf("%s was deleted before a kill and came back", topic)
		}
	}
	for topic, mp := range mc.live {
		if !listed[topic] {
			t.Errorf("%s is missing after the kills", topic)
			continue
		}
		p, err := pc.CreateProducer(ctx, &danubepb.ProducerRequest{ProducerName: mp.name, TopicName: topic})
		if err != nil {
			t.Fatalf("producer of %s after the kills: %v", topic, err)
		}
		if p.ProducerId != mp.id {
			t.Errorf("producer of %s has id %d after the kills, want %d", topic, p.ProducerId, mp.id)
		}
	}
}

func missingPayloads(acked map[string]bool, delivered map[uint64]string) []string {
	seen := make(map[string]bool, len(delivered))
	for _, p := range delivered {
		seen[p] = true
	}
	var out []string
	for p := range acked {
		if !seen[p] {
			out = append(out, p)
		}
	}
	return out
}

// brokerProcess is a `danube-console broker` child process.
type brokerProcess struct {
	cmd      *exec.Cmd
	out, err *syncBuffer
	url      string
}

// startBrokerProcess starts the binary's broker with args and waits for the URL it serves.
func startBrokerProcess(t testing.TB, bin string, args ...string) *brokerProcess {
	t.Helper()
	b := &brokerProcess{cmd: exec.Command(bin, append([]string{"broker"}, args...)...), out: &syncBuffer{}, err: &syncBuffer{}}
	b.cmd.Stdout, b.cmd.Stderr = b.out, b.err
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.cmd.Process.Kill(); b.cmd.Wait() })
	testenv.Eventually(t, 20*time.Second, func() bool { return strings.HasPrefix(b.out.String(), "danube broker serving ") },
		"broker did not start; stdout %q stderr %q", b.out, b.err)
	b.url = strings.Fields(b.out.String())[3]
	return b
}

// examples prints how many payloads *p holds, and the first five.
type examples struct{ p *[]string }

func (e examples) String() string {
	return fmt.Sprintf("%d, e.g. %v", len(*e.p), (*e.p)[:min(5, len(*e.p))])
}

func (b *brokerProcess) kill(t testing.TB) {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	b.cmd.Wait()
}

func (b *brokerProcess) stop(t testing.TB) {
	t.Helper()
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := b.cmd.Wait(); err != nil {
		t.Fatalf("broker exit: %v; stderr %s", err, b.err.String())
	}
}
