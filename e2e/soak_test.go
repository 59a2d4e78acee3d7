//go:build soak

package e2e

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/broker/store/disk"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/testenv"
)

// The soak test runs a broker process on a data directory for SOAK_TIME (default 10m; `make soak`) under
// topic, subscription, consumer and producer churn, a steady reliable load whose every acknowledged message is
// recorded, and SIGKILL/SIGTERM restarts every 20–60 s. It checks at the end that nothing acknowledged was
// lost, that an offset never carries two contents, and that meta.log and the broker's memory follow the live
// state rather than the history.

var soakTime = flag.Duration("soak.time", 0, "how long TestSoak runs (default $SOAK_TIME, else 10m)")

const (
	soakSteadyTopics   = 4 // reliable topics whose acknowledged messages are all checked
	soakChurnLive      = 4 // churn topics alive at once; the oldest is deleted beyond this
	soakSendPace       = 5 * time.Millisecond
	soakMetaSlack      = 256 << 10        // meta.log may exceed 4× its live size by this much (the compaction floor)
	soakMetaFactor     = 4                // the store compacts past 4× the live size
	soakRSSFactor      = 2.0              // RSS in the last minute may be at most this × the first minute's
	soakConsumerSettle = 90 * time.Second // how long after the load the broker has to forget closed consumers
)

func soakDuration(t *testing.T) time.Duration {
	if *soakTime > 0 {
		return *soakTime
	}
	if s := os.Getenv("SOAK_TIME"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("SOAK_TIME=%q: want a positive duration such as 10m", s)
		}
		return d
	}
	return 10 * time.Minute
}

// soakStats are the counters the load generators update.
type soakStats struct {
	kills, terms, restarts                   atomic.Int64
	sendAcked, sendFailed, delivered, acks   atomic.Int64
	redelivered                              atomic.Int64
	topicsCreated, topicsDeleted             atomic.Int64
	subsCreated, subsDeleted                 atomic.Int64
	consumersCreated, consumersClosed        atomic.Int64
	consumersRefused, consumerErrs           atomic.Int64
	producersCreated, producersClosed        atomic.Int64
	producerRenames, producerErrs, adminErrs atomic.Int64

	mu       sync.Mutex
	examples []string // a few error examples, for the report
}

func (s *soakStats) note(counter *atomic.Int64, what string, err error) {
	counter.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.examples) < 12 {
		s.examples = append(s.examples, fmt.Sprintf("%s: %v", what, err))
	}
}

// steadyLedger records, per steady topic, what the broker acknowledged to the producer and what was delivered.
type steadyLedger struct {
	mu        sync.Mutex
	acked     []map[string]bool   // per topic: message ids the broker acknowledged
	delivered []map[string]bool   // per topic: message ids delivered
	offsets   []map[uint64]string // per topic: offset → message id
	conflicts []string            // offsets seen with two contents
	nConflict int
	news      chan struct{} // signalled (capacity 1) when a message is delivered for the first time
}

// steadyPayload is the content of message id: the id, then padding derived from it, so that a delivered
// payload can be checked byte for byte.
func steadyPayload(id string) []byte {
	var b bytes.Buffer
	b.WriteString(id)
	b.WriteByte('|')
	c := byte('a' + len(id)%26)
	for b.Len() < 128 {
		b.WriteByte(c)
		c = 'a' + (c-'a'+7)%26
	}
	return b.Bytes()
}

func (l *steadyLedger) deliver(topic int, off uint64, payload []byte) bool {
	id, _, _ := strings.Cut(string(payload), "|")
	l.mu.Lock()
	defer l.mu.Unlock()
	if !bytes.Equal(payload, steadyPayload(id)) {
		l.nConflict++
		if len(l.conflicts) < 5 {
			l.conflicts = append(l.conflicts, fmt.Sprintf("topic %d offset %d: corrupt payload %q", topic, off, payload))
		}
		return false
	}
	if prev, ok := l.offsets[topic][off]; ok {
		if prev != id {
			l.nConflict++
			if len(l.conflicts) < 5 {
				l.conflicts = append(l.conflicts, fmt.Sprintf("topic %d offset %d: %q then %q", topic, off, prev, id))
			}
		}
		return true
	}
	l.offsets[topic][off] = id
	l.delivered[topic][id] = true
	select {
	case l.news <- struct{}{}:
	default:
	}
	return false
}

func (l *steadyLedger) missing() (n int, examples []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.acked {
		for id := range l.acked[i] {
			if !l.delivered[i][id] {
				n++
				if len(examples) < 5 {
					examples = append(examples, id)
				}
			}
		}
	}
	return n, examples
}

// metaStats is meta.log replayed the way the store does: the live records, their size as a fresh compaction
// would write them, and the file's size.
type metaStats struct {
	fileSize  int64
	liveBytes int64
	live      map[string]int64 // key → size of its put record
}

func (m metaStats) count(prefix string) int {
	n := 0
	for k := range m.live {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

// readMeta reads a copy of a live broker's meta.log with the store's own reader (a torn tail is cut, as the
// broker would at a restart), and measures the live records by writing them to a fresh store: its meta.log
// is what a compaction of the live records takes. Each key's share is its key and value plus the average
// framing.
func readMeta(path string) (metaStats, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return metaStats{}, fmt.Errorf("reading %s: %w", path, err)
	}
	st := metaStats{fileSize: int64(len(b)), live: map[string]int64{}}
	tmp, err := os.MkdirTemp("", "soak-meta-")
	if err != nil {
		return st, err
	}
	defer os.RemoveAll(tmp)
	copyDir, freshDir := filepath.Join(tmp, "copy"), filepath.Join(tmp, "fresh")
	if err := os.MkdirAll(copyDir, 0o755); err != nil {
		return st, err
	}
	if err := os.WriteFile(filepath.Join(copyDir, "meta.log"), b, 0o644); err != nil {
		return st, err
	}
	kvs, err := listStore(copyDir)
	if err != nil {
		return st, err
	}
	fresh, err := disk.Open(freshDir, disk.Options{Fsync: disk.FsyncNever})
	if err != nil {
		return st, err
	}
	var payload int64
	for _, kv := range kvs {
		if err := fresh.Meta().Put(kv.Key, kv.Value); err != nil {
			fresh.Close()
			return st, err
		}
		payload += int64(len(kv.Key) + len(kv.Value))
	}
	if err := fresh.Close(); err != nil {
		return st, err
	}
	fi, err := os.Stat(filepath.Join(freshDir, "meta.log"))
	if err != nil {
		return st, err
	}
	st.liveBytes = fi.Size()
	framing := int64(0)
	if len(kvs) > 0 {
		framing = (fi.Size() - payload) / int64(len(kvs))
	}
	for _, kv := range kvs {
		st.live[kv.Key] = int64(len(kv.Key)+len(kv.Value)) + framing
	}
	return st, nil
}

// listStore opens the store in dir and lists every metadata entry.
func listStore(dir string) ([]store.KV, error) {
	st, err := disk.Open(dir, disk.Options{Fsync: disk.FsyncNever})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return st.Meta().List("")
}

// vmRSS reads VmRSS of pid in bytes.
func vmRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the status of %d: %w", pid, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS of %d: %w", pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in the status of %d", pid)
}

// soakSample is one periodic measurement.
type soakSample struct {
	at        time.Duration // since the start
	rss       int64
	meta      int64
	metaLive  int64
	consRecs  int // consumer records in meta.log
	liveTopic int // topics the admin API lists
}

// sleepCtx paces a load generator; it reports false when ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func randDur(lo, hi time.Duration) time.Duration { return lo + rand.N(hi-lo) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
func kib(b int64) string { return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10)) }

func TestSoak(t *testing.T) {
	soak := soakDuration(t)
	if dl, ok := t.Deadline(); ok && time.Until(dl) < soak+5*time.Minute {
		t.Fatalf("go test -timeout leaves %v; the soak needs %v plus 5 minutes for the drain and the checks",
			time.Until(dl).Round(time.Second), soak)
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	// Fixed ports across restarts, so that clients reconnect by themselves.
	port, adminPort := testenv.FreePort(t), testenv.FreePort(t)
	fsyncs := []string{"interval", "always", "never"}
	starts := 0
	start := func() *brokerProcess {
		fsync := fsyncs[starts%len(fsyncs)] // none may lose what it acknowledged
		starts++
		return startBrokerProcess(t, bin, "--port", strconv.Itoa(port), "--admin-port", strconv.Itoa(adminPort),
			"--data-dir", dataDir, "--fsync", fsync, "--log-level", "warn")
	}
	b := start()
	var pid atomic.Int64
	pid.Store(int64(b.cmd.Process.Pid))
	metaPath := filepath.Join(dataDir, "meta.log")

	var st soakStats
	ledger := &steadyLedger{news: make(chan struct{}, 1)}
	for range soakSteadyTopics {
		ledger.acked = append(ledger.acked, map[string]bool{})
		ledger.delivered = append(ledger.delivered, map[string]bool{})
		ledger.offsets = append(ledger.offsets, map[uint64]string{})
	}
	steadyTopic := func(i int) string { return fmt.Sprintf("/default/soak-steady-%d", i) }
	steadyTypes := []client.SubscriptionType{client.Exclusive, client.Shared, client.KeyShared, client.Failover}

	setup, cancelSetup := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelSetup()
	cl, err := client.Connect(setup, fmt.Sprintf("http://127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer cl.Close()
	admin, err := client.ConnectAdmin(setup, fmt.Sprintf("http://127.0.0.1:%d", adminPort))
	if err != nil {
		t.Fatalf("connect admin: %v", err)
	}
	defer admin.Close()
	// The steady topics and their subscriptions exist before anything is published to them, so that every
	// acknowledged message is after the subscription's starting cursor.
	for i := range soakSteadyTopics {
		p, err := cl.NewProducer(setup, client.ProducerConfig{Topic: steadyTopic(i), Name: fmt.Sprintf("steady-%d-p0", i), Dispatch: client.Reliable})
		if err != nil {
			t.Fatalf("creating %s: %v", steadyTopic(i), err)
		}
		c, err := cl.Subscribe(setup, client.ConsumerConfig{Topic: steadyTopic(i), Subscription: "steady", Name: fmt.Sprintf("steady-%d-c", i), Type: steadyTypes[i]})
		if err != nil {
			t.Fatalf("subscribing to %s: %v", steadyTopic(i), err)
		}
		c.Close(setup)
		p.Close(setup)
		st.topicsCreated.Add(1)
		st.subsCreated.Add(1)
	}

	began := time.Now()
	loadEnd := began.Add(soak)
	load, stopLoad := context.WithDeadline(context.Background(), loadEnd)
	defer stopLoad()
	consume, stopConsume := context.WithCancel(context.Background())
	defer stopConsume()
	var loadWG, consumeWG sync.WaitGroup
	t.Cleanup(func() { stopLoad(); stopConsume(); loadWG.Wait(); consumeWG.Wait() }) // also after a t.Fatal
	short := func(d time.Duration) (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), d)
	}

	// Steady consumers: one per steady topic, always the same name, acknowledging everything, until the drain
	// is over. They resubscribe when their consumer fails for good.
	for i := range soakSteadyTopics {
		consumeWG.Go(func() {
			for consume.Err() == nil {
				cctx, cancel := short(30 * time.Second)
				c, err := cl.Subscribe(cctx, client.ConsumerConfig{Topic: steadyTopic(i), Subscription: "steady",
					Name: fmt.Sprintf("steady-%d-c", i), Type: steadyTypes[i]})
				cancel()
				if err != nil {
					st.note(&st.consumerErrs, "steady subscribe", err)
					sleepCtx(consume, 200*time.Millisecond)
					continue
				}
				for {
					m, err := c.Receive(consume)
					if err != nil {
						if consume.Err() == nil {
							st.note(&st.consumerErrs, "steady receive", err)
						}
						break
					}
					st.delivered.Add(1)
					if ledger.deliver(i, m.ID.Offset, m.Payload) {
						st.redelivered.Add(1)
					}
					actx, cancel := short(10 * time.Second)
					if err := m.Ack(actx); err == nil {
						st.acks.Add(1)
					}
					cancel()
				}
				cctx, cancel = short(5 * time.Second)
				c.Close(cctx)
				cancel()
			}
		})
	}

	// Steady producers: one message at a time, each recorded once the broker acknowledged it; the producer is
	// closed and created again every 5–20 s, half the time under the same name, half under a new one.
	for i := range soakSteadyTopics {
		loadWG.Go(func() {
			gen, seq := 0, 0
			for load.Err() == nil {
				name := fmt.Sprintf("steady-%d-p%d", i, gen)
				cctx, cancel := short(30 * time.Second)
				p, err := cl.NewProducer(cctx, client.ProducerConfig{Topic: steadyTopic(i), Name: name, Dispatch: client.Reliable})
				cancel()
				if err != nil {
					st.note(&st.producerErrs, "steady producer", err)
					sleepCtx(load, 200*time.Millisecond)
					continue
				}
				st.producersCreated.Add(1)
				until := time.Now().Add(randDur(5*time.Second, 20*time.Second))
				for load.Err() == nil && time.Now().Before(until) {
					id := fmt.Sprintf("%d#%d", i, seq)
					seq++
					sctx, cancel := short(30 * time.Second)
					_, err := p.Send(sctx, steadyPayload(id))
					cancel()
					if err != nil {
						st.note(&st.sendFailed, "steady send", err)
					} else {
						st.sendAcked.Add(1)
						ledger.mu.Lock()
						ledger.acked[i][id] = true
						ledger.mu.Unlock()
					}
					sleepCtx(load, soakSendPace)
				}
				cctx, cancel = short(10 * time.Second)
				p.Close(cctx)
				cancel()
				st.producersClosed.Add(1)
				if rand.IntN(2) == 0 {
					gen++
					st.producerRenames.Add(1)
				}
			}
		})
	}

	// Consumer churn on the steady topics: per subscription type, consumers with generated names subscribe,
	// receive and acknowledge for 0.1–1 s and close. Most use a long-lived pool subscription of their type;
	// one in five creates a subscription of its own, which the admin API deletes after the consumer closed.
	for ti, typ := range []client.SubscriptionType{client.Shared, client.Exclusive, client.KeyShared} {
		loadWG.Go(func() {
			n := 0
			for load.Err() == nil {
				n++
				topic := steadyTopic(rand.IntN(soakSteadyTopics))
				sub, temp := "pool-"+strings.ToLower(typ.String()), rand.IntN(5) == 0
				if temp {
					sub = fmt.Sprintf("tmp-%d-%d", ti, n)
				}
				cctx, cancel := short(10 * time.Second)
				c, err := cl.Subscribe(cctx, client.ConsumerConfig{Topic: topic, Subscription: sub, Name: fmt.Sprintf("churn-%d-%d-%x", ti, n, rand.Uint32()), Type: typ})
				cancel()
				if err != nil {
					if errors.Is(err, client.ErrSubscriptionTaken) {
						st.consumersRefused.Add(1)
					} else if load.Err() == nil {
						st.note(&st.consumerErrs, "churn subscribe", err)
					}
					sleepCtx(load, 100*time.Millisecond)
					continue
				}
				st.consumersCreated.Add(1)
				if temp {
					st.subsCreated.Add(1)
				}
				rctx, cancel := context.WithTimeout(load, randDur(100*time.Millisecond, time.Second))
				for {
					m, err := c.Receive(rctx)
					if err != nil {
						break
					}
					actx, cancel := short(5 * time.Second)
					if m.Ack(actx) == nil {
						st.acks.Add(1)
					}
					cancel()
				}
				cancel()
				cctx, cancel = short(5 * time.Second)
				c.Close(cctx)
				cancel()
				st.consumersClosed.Add(1)
				if temp {
					// The broker refuses while it still counts the consumer as connected: ask again for 3 s.
					deadline := time.Now().Add(3 * time.Second)
					for {
						actx, cancel := short(5 * time.Second)
						err := admin.Unsubscribe(actx, topic, sub)
						cancel()
						if err == nil {
							st.subsDeleted.Add(1)
							break
						}
						if time.Now().After(deadline) || !sleepCtx(load, 100*time.Millisecond) {
							st.note(&st.adminErrs, "unsubscribe "+sub, err)
							break
						}
					}
				}
				sleepCtx(load, randDur(0, 300*time.Millisecond))
			}
		})
	}

	// Topic churn: topics created by producers (or, one in three, by the admin API), reliable or not, with
	// one or two subscriptions of random types, a few messages, some unsubscribed; beyond soakChurnLive
	// topics the oldest is deleted with the admin API.
	loadWG.Go(func() {
		var live []string
		types := []client.SubscriptionType{client.Shared, client.Exclusive, client.KeyShared, client.Failover}
		for n := 0; load.Err() == nil; n++ {
			topic := fmt.Sprintf("/default/soak-churn-%d", n)
			reliable := n%2 == 0
			dispatch := client.NonReliable
			if reliable {
				dispatch = client.Reliable
			}
			cctx, cancel := short(10 * time.Second)
			if n%3 == 0 {
				if err := admin.CreateTopic(cctx, topic, client.TopicOptions{Reliable: reliable}); err != nil {
					st.note(&st.adminErrs, "create topic", err)
				}
			}
			p, err := cl.NewProducer(cctx, client.ProducerConfig{Topic: topic, Name: "churn-p", Dispatch: dispatch})
			cancel()
			if err != nil {
				if load.Err() == nil {
					st.note(&st.producerErrs, "churn producer", err)
				}
				sleepCtx(load, 200*time.Millisecond)
				continue
			}
			st.producersCreated.Add(1)
			st.topicsCreated.Add(1)
			live = append(live, topic)
			var cons []*client.Consumer
			var subs []string
			for k := range 1 + rand.IntN(2) {
				sub := fmt.Sprintf("s%d", k)
				cctx, cancel := short(10 * time.Second)
				c, err := cl.Subscribe(cctx, client.ConsumerConfig{Topic: topic, Subscription: sub, Type: types[rand.IntN(len(types))]})
				cancel()
				if err != nil {
					if load.Err() == nil {
						st.note(&st.consumerErrs, "churn-topic subscribe", err)
					}
					continue
				}
				st.consumersCreated.Add(1)
				st.subsCreated.Add(1)
				cons = append(cons, c)
				subs = append(subs, sub)
			}
			for range 20 + rand.IntN(80) {
				sctx, cancel := short(10 * time.Second)
				_, err := p.Send(sctx, []byte("churn"))
				cancel()
				if err != nil {
					break
				}
			}
			for _, c := range cons {
				rctx, cancel := context.WithTimeout(load, 300*time.Millisecond)
				for {
					m, err := c.Receive(rctx)
					if err != nil {
						break
					}
					actx, cancel := short(5 * time.Second)
					m.Ack(actx)
					cancel()
				}
				cancel()
				cctx, cancel := short(5 * time.Second)
				c.Close(cctx)
				cancel()
				st.consumersClosed.Add(1)
			}
			cctx, cancel = short(5 * time.Second)
			p.Close(cctx)
			cancel()
			st.producersClosed.Add(1)
			if len(subs) > 0 && rand.IntN(2) == 0 {
				deadline := time.Now().Add(3 * time.Second)
				for {
					actx, cancel := short(5 * time.Second)
					err := admin.Unsubscribe(actx, topic, subs[0])
					cancel()
					if err == nil {
						st.subsDeleted.Add(1)
						break
					}
					if time.Now().After(deadline) || !sleepCtx(load, 100*time.Millisecond) {
						st.note(&st.adminErrs, "unsubscribe churn topic", err)
						break
					}
				}
			}
			for len(live) > soakChurnLive {
				actx, cancel := short(10 * time.Second)
				err := admin.DeleteTopic(actx, live[0])
				cancel()
				// NotFound: a deletion that a kill interrupted after it took effect (the client retried it),
				// or finished at the restart (the topic's log was marked).
				if err != nil && !errors.Is(err, client.ErrTopicNotFound) {
					st.note(&st.adminErrs, "delete topic", err)
					break
				}
				st.topicsDeleted.Add(1)
				live = live[1:]
			}
			sleepCtx(load, randDur(200*time.Millisecond, time.Second))
		}
	})

	// Sampler: RSS every second; meta.log and the admin API's topic count every 5 s.
	var (
		sampleMu sync.Mutex
		samples  []soakSample
	)
	sampling, stopSampling := context.WithCancel(context.Background())
	var samplerWG sync.WaitGroup
	t.Cleanup(func() { stopSampling(); samplerWG.Wait() })
	samplerWG.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		var last soakSample
		for k := 0; ; k++ {
			select {
			case <-sampling.Done():
				return
			case <-tick.C:
			}
			s := soakSample{at: time.Since(began), meta: last.meta, metaLive: last.metaLive, consRecs: last.consRecs, liveTopic: last.liveTopic}
			if rss, err := vmRSS(int(pid.Load())); err == nil {
				s.rss = rss
			}
			if k%5 == 0 {
				if m, err := readMeta(metaPath); err == nil {
					s.meta, s.metaLive, s.consRecs = m.fileSize, m.liveBytes, m.count("/consumers/")
				}
				actx, cancel := short(2 * time.Second)
				if ts, err := admin.Topics(actx, "default"); err == nil {
					s.liveTopic = len(ts)
				}
				cancel()
			}
			last = s
			sampleMu.Lock()
			samples = append(samples, s)
			sampleMu.Unlock()
		}
	})

	// Chaos, in the test goroutine: SIGKILL (one time in four SIGTERM) every 20–60 s, then a restart on the
	// same directory and ports.
	for {
		wait := randDur(20*time.Second, 60*time.Second)
		if time.Until(loadEnd) < wait+5*time.Second {
			break
		}
		if !sleepCtx(load, wait) { // pacing the chaos is the point here
			break
		}
		if rand.IntN(4) == 0 {
			b.stop(t)
			st.terms.Add(1)
		} else {
			b.kill(t)
			st.kills.Add(1)
		}
		b = start()
		pid.Store(int64(b.cmd.Process.Pid))
		st.restarts.Add(1)
	}
	<-load.Done()
	loadWG.Wait()
	stopSampling()
	samplerWG.Wait()

	// A final clean restart, then a drain: every acknowledged message must be delivered.
	b.stop(t)
	st.terms.Add(1)
	b = start()
	pid.Store(int64(b.cmd.Process.Pid))
	st.restarts.Add(1)
	drainStart := time.Now()
	drainLimit := time.NewTimer(2 * time.Minute)
	defer drainLimit.Stop()
	var lost int
	var lostExamples []string
drain:
	for {
		if lost, lostExamples = ledger.missing(); lost == 0 {
			break
		}
		select { // until the next delivery, or the limit, when what is missing is reported below
		case <-ledger.news:
		case <-drainLimit.C:
			lost, lostExamples = ledger.missing()
			break drain
		}
	}
	drain := time.Since(drainStart)

	// The live state: topics and subscriptions the admin API lists, consumers open now (the steady ones).
	liveTopics := map[string]bool{}
	liveSubs := map[string]bool{} // topic + "/" + subscription
	actx, cancel := short(30 * time.Second)
	namespaces, err := admin.Namespaces(actx)
	if err != nil {
		cancel()
		t.Fatalf("listing the namespaces: %v", err)
	}
	var ts []client.TopicInfo
	for _, ns := range namespaces {
		nts, err := admin.Topics(actx, ns)
		if err != nil {
			cancel()
			t.Fatalf("listing the live topics of %s: %v", ns, err)
		}
		ts = append(ts, nts...)
	}
	for _, tp := range ts {
		liveTopics[tp.Name] = true
		subs, err := admin.Subscriptions(actx, tp.Name)
		if err != nil {
			cancel()
			t.Fatalf("listing the subscriptions of %s: %v", tp.Name, err)
		}
		for _, s := range subs {
			liveSubs[tp.Name+"/"+s] = true
		}
	}
	cancel()
	openConsumers := map[string]bool{}
	for i := range soakSteadyTopics {
		openConsumers[steadyTopic(i)+"/steady/"+fmt.Sprintf("steady-%d-c", i)] = true
	}
	// justified sorts meta.log's live records into those the live state accounts for and the others.
	type verdict struct {
		justified, consumers, strayConsumers, strayOther int
		justifiedBytes, strayBytes                       int64
		consumerExamples, otherExamples                  []string
	}
	judge := func(m metaStats) verdict {
		var v verdict
		for k, n := range m.live {
			ok := true
			rest, kind := k, ""
			for _, p := range []string{"/topics/", "/producers/", "/subscriptions/", "/cursors/", "/consumers/"} {
				if r, found := strings.CutPrefix(k, p); found {
					rest, kind = "/"+strings.TrimPrefix(r, "/"), p
				}
			}
			parts := strings.Split(rest, "/") // "", ns, topic, names...
			if kind != "" && len(parts) >= 3 {
				topic := strings.Join(parts[:3], "/")
				switch kind {
				case "/topics/", "/producers/": // producer names are identities kept for the topic's life
					ok = liveTopics[topic]
				case "/subscriptions/", "/cursors/":
					ok = len(parts) >= 4 && liveSubs[topic+"/"+parts[3]]
				case "/consumers/":
					v.consumers++
					ok = len(parts) >= 5 && openConsumers[strings.Join(parts, "/")]
					if !ok {
						v.strayConsumers++
					}
				}
			}
			if ok {
				v.justified++
				v.justifiedBytes += n
				continue
			}
			v.strayBytes += n
			if kind == "/consumers/" {
				if len(v.consumerExamples) < 3 {
					v.consumerExamples = append(v.consumerExamples, k)
				}
				continue
			}
			v.strayOther++
			if len(v.otherExamples) < 3 {
				v.otherExamples = append(v.otherExamples, k)
			}
		}
		return v
	}
	// Closed consumers may take the broker a while to forget: give it soakConsumerSettle.
	var meta metaStats
	var v verdict
	// The broker's janitor changes meta.log on its own schedule and tells nobody: read it once a second.
	settle, cancelSettle := context.WithTimeout(context.Background(), soakConsumerSettle)
	defer cancelSettle()
	for {
		if meta, err = readMeta(metaPath); err != nil {
			t.Fatal(err)
		}
		if v = judge(meta); v.strayConsumers == 0 && v.strayOther == 0 || !sleepCtx(settle, time.Second) {
			break
		}
	}
	finalRSS, err := vmRSS(int(pid.Load()))
	if err != nil {
		t.Fatal(err)
	}
	stopConsume()
	consumeWG.Wait()
	b.stop(t)

	// Figures of the first and last minute of the load.
	sampleMu.Lock()
	var rssFirst, rssLast, metaFirst, metaLast, metaMax, consFirst, consLast int64
	var topicsFirst, topicsLast int
	for _, s := range samples {
		metaMax = max(metaMax, s.meta)
		if s.at < time.Minute {
			rssFirst, metaFirst = max(rssFirst, s.rss), max(metaFirst, s.meta)
			consFirst, topicsFirst = max(consFirst, int64(s.consRecs)), max(topicsFirst, s.liveTopic)
		}
		if s.at >= soak-time.Minute {
			rssLast, metaLast = max(rssLast, s.rss), max(metaLast, s.meta)
			consLast, topicsLast = max(consLast, int64(s.consRecs)), max(topicsLast, s.liveTopic)
		}
	}
	nSamples := len(samples)
	// Per minute: the highest RSS and meta.log size, and the consumer records, to tell a trend from noise.
	var timeline strings.Builder
	for m := time.Duration(0); m < soak; m += time.Minute {
		var rss, size int64
		var recs int
		for _, s := range samples {
			if s.at >= m && s.at < m+time.Minute {
				rss, size, recs = max(rss, s.rss), max(size, s.meta), max(recs, s.consRecs)
			}
		}
		fmt.Fprintf(&timeline, "    minute %2d: RSS %s, meta.log %s, %d consumer records\n", int(m/time.Minute)+1, mib(rss), kib(size), recs)
	}
	sampleMu.Unlock()

	ledger.mu.Lock()
	conflicts, conflictExamples := ledger.nConflict, slices.Clone(ledger.conflicts)
	ledger.mu.Unlock()
	metaBound := soakMetaFactor*v.justifiedBytes + soakMetaSlack

	var r strings.Builder
	fmt.Fprintf(&r, "soak report (%d steady reliable topics, broker on 127.0.0.1, data in %s)\n", soakSteadyTopics, dataDir)
	fmt.Fprintf(&r, "  duration            %v load + %v drain (%d samples)\n", soak, drain.Round(time.Millisecond), nSamples)
	fmt.Fprintf(&r, "  broker              %d SIGKILL, %d SIGTERM, %d restarts\n", st.kills.Load(), st.terms.Load(), st.restarts.Load())
	fmt.Fprintf(&r, "  steady messages     %d acknowledged to producers (%d sends failed), %d delivered (%d again), %d acks, %d lost, %d offset conflicts\n",
		st.sendAcked.Load(), st.sendFailed.Load(), st.delivered.Load(), st.redelivered.Load(), st.acks.Load(), lost, conflicts)
	fmt.Fprintf(&r, "  topics              %d created, %d deleted, %d live at the end\n", st.topicsCreated.Load(), st.topicsDeleted.Load(), len(liveTopics))
	fmt.Fprintf(&r, "  subscriptions       %d created, %d deleted, %d live at the end\n", st.subsCreated.Load(), st.subsDeleted.Load(), len(liveSubs))
	fmt.Fprintf(&r, "  consumers           %d created, %d closed, %d refused (Exclusive taken), %d errors; %d open at the end\n",
		st.consumersCreated.Load(), st.consumersClosed.Load(), st.consumersRefused.Load(), st.consumerErrs.Load(), len(openConsumers))
	fmt.Fprintf(&r, "  producers           %d created, %d closed, %d renamed, %d errors; admin errors %d\n",
		st.producersCreated.Load(), st.producersClosed.Load(), st.producerRenames.Load(), st.producerErrs.Load(), st.adminErrs.Load())
	fmt.Fprintf(&r, "  broker RSS          first minute %s, last minute %s, after the drain %s (max allowed last: %.1f× first)\n",
		mib(rssFirst), mib(rssLast), mib(finalRSS), soakRSSFactor)
	fmt.Fprintf(&r, "  meta.log            first minute %s, last minute %s, max %s, end %s (live records %s; bound 4×%s+256 KiB = %s)\n",
		kib(metaFirst), kib(metaLast), kib(metaMax), kib(meta.fileSize), kib(meta.liveBytes), kib(v.justifiedBytes), kib(metaBound))
	fmt.Fprintf(&r, "  consumer records    first minute %d, last minute %d; live topics first minute %d, last minute %d\n",
		consFirst, consLast, topicsFirst, topicsLast)
	fmt.Fprintf(&r, "  live records at end %d: %d topics, %d producers, %d subscriptions, %d cursors, %d consumers (%d of closed consumers, %d other stray)\n",
		len(meta.live), meta.count("/topics/"), meta.count("/producers/"), meta.count("/subscriptions/"), meta.count("/cursors/"),
		v.consumers, v.strayConsumers, v.strayOther)
	fmt.Fprintf(&r, "  per minute (max):\n%s", timeline.String())
	st.mu.Lock()
	if len(st.examples) > 0 {
		fmt.Fprintf(&r, "  error examples (expected around restarts):\n")
		for _, e := range st.examples {
			fmt.Fprintf(&r, "    %s\n", e)
		}
	}
	st.mu.Unlock()
	t.Log(r.String())
	fmt.Print(r.String())

	if lost > 0 {
		t.Errorf("%d messages acknowledged to a producer were never delivered (after a %v drain), e.g. %v", lost, drain.Round(time.Second), lostExamples)
	}
	if conflicts > 0 {
		t.Errorf("%d offsets delivered with two different contents, e.g. %v", conflicts, conflictExamples)
	}
	if st.sendAcked.Load() < 1000 {
		t.Errorf("only %d steady messages acknowledged: the soak did not exercise the broker", st.sendAcked.Load())
	}
	if soak >= 2*time.Minute && st.kills.Load() == 0 {
		t.Errorf("no SIGKILL in %v", soak)
	}
	for topic := range liveTopics { // the checks of meta.log below see the records the broker keeps
		if _, ok := meta.live["/topics/"+topic]; !ok {
			t.Errorf("meta.log as read has no record of the live topic %s: the reader does not see the broker's metadata", topic)
			break
		}
	}
	if v.strayConsumers > 0 {
		t.Errorf("meta.log keeps %d consumer records of %d closed consumers %v after the load (only %d consumers are open), e.g. %v",
			v.strayConsumers, st.consumersClosed.Load(), soakConsumerSettle, len(openConsumers), v.consumerExamples)
	}
	if v.strayOther > 0 {
		t.Errorf("meta.log keeps %d records of topics or subscriptions that no longer exist, e.g. %v", v.strayOther, v.otherExamples)
	}
	if meta.fileSize > metaBound {
		t.Errorf("meta.log is %d bytes at the end, over 4× the %d bytes the live state needs + 256 KiB (%d)", meta.fileSize, v.justifiedBytes, metaBound)
	}
	if rssFirst > 0 && float64(rssLast) > soakRSSFactor*float64(rssFirst) {
		t.Errorf("broker RSS in the last minute %s is over %.1f× the first minute's %s with the same live state (%d vs %d topics; the broker held %d vs %d consumer records)",
			mib(rssLast), soakRSSFactor, mib(rssFirst), topicsLast, topicsFirst, consLast, consFirst)
	}
}
