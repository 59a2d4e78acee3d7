package connectors_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/internal/testenv"
)

const topic = "/default/flow"

// TestSinkErrorsThenRecovery: the sink fails its first writes with retryable errors; nothing is lost, the
// retries are counted, nothing is counted as failed.
func TestSinkErrorsThenRecovery(t *testing.T) {
	_, c, env, rt := setup(t, broker.Options{}, connectors.RuntimeOptions{})
	d := newDownstream(t)
	d.set(func(d *downstream) { d.failNext = 3 })
	p := createTopic(t, c, topic)
	add(t, rt, env, map[string]any{"name": "sink", "kind": "memsink", "topic": topic, "store": d.name})
	startRunning(t, rt, "sink") // a new subscription starts at the latest offset
	want := seq("m", 200)
	publish(t, p, want...)
	var why reason
	testenv.Eventually(t, 20*time.Second, why.of(func() (bool, string) {
		m := missing(want, d.payloads())
		return len(m) == 0, fmt.Sprintf("%d missing", len(m))
	}), "every message written: %v", &why)
	st, _ := rt.Status("sink")
	if st.Retried == 0 {
		t.Errorf("retried = 0 after 3 failed writes")
	}
	if n := st.Failed[connectors.KindRetryable]; n != 0 {
		t.Errorf("failed (retryable) = %d, want 0: the retries did not run out", n)
	}
	if st.Processed < 200 || st.Received < 200 {
		t.Errorf("received %d, processed %d, want ≥ 200", st.Received, st.Processed)
	}
	if st.LastError == "" || !strings.Contains(st.LastError, "hiccup") {
		t.Errorf("last error %q, want the write's error", st.LastError)
	}
	if st.State != connectors.StateRunning {
		t.Errorf("state %v after recovery, want running", st.State)
	}
}

// TestRetriesRunOutThenNack: a sink that keeps failing nacks with nack_delay after max_retries; the broker
// redelivers, and once the sink recovers everything is written.
func TestRetriesRunOutThenNack(t *testing.T) {
	_, c, env, rt := setup(t, broker.Options{}, connectors.RuntimeOptions{})
	d := newDownstream(t)
	d.set(func(d *downstream) { d.broken = true })
	p := createTopic(t, c, topic)
	add(t, rt, env, map[string]any{"name": "sink", "kind": "memsink", "topic": topic, "store": d.name,
		"retry": map[string]any{"max_retries": 2, "base_backoff": "5ms", "max_backoff": "10ms", "nack_delay": "50ms"}})
	startRunning(t, rt, "sink") // a new subscription starts at the latest offset
	want := seq("m", 20)
	publish(t, p, want...)
	var why reason
	testenv.Eventually(t, 10*time.Second, why.of(func() (bool, string) {
		st, _ := rt.Status("sink")
		return st.Failed[connectors.KindRetryable] >= 20, fmt.Sprintf("failed %v, state %v", st.Failed, st.State)
	}), "retries to run out: %v", &why)
	if st, _ := rt.Status("sink"); st.State != connectors.StateDegraded {
		t.Errorf("state %v while writes fail, want degraded", st.State)
	}
	d.set(func(d *downstream) { d.broken = false })
	testenv.Eventually(t, 20*time.Second, why.of(func() (bool, string) {
		m := missing(want, d.payloads())
		return len(m) == 0, fmt.Sprintf("%d missing", len(m))
	}), "every message written after the nacks: %v", &why)
	waitState(t, rt, "sink", connectors.StateRunning)
}

// TestPoisonMessageDeadLetter: a message the sink rejects as InvalidData is nacked with the reason at
// once; after the broker's redeliveries it ends on the dead-letter topic with its reason, and the others
// are written.
func TestPoisonMessageDeadLetter(t *testing.T) {
	const dlq = "/default/flow-dlq"
	_, c := startBroker(t, broker.Options{FailurePolicy: broker.FailurePolicy{MaxRedeliveryCount: 2, AckTimeout: 5 * time.Second,
		BaseRedeliveryDelay: 10 * time.Millisecond, MaxRedeliveryDelay: 50 * time.Millisecond, Backoff: broker.BackoffFixed,
		Poison: broker.PoisonDeadLetter, DeadLetterTopic: dlq}})
	env := testEnv(t)
	rt := newRuntime(t, c, env, connectors.RuntimeOptions{})
	d := newDownstream(t)
	d.set(func(d *downstream) {
		d.perMsg = func(p string, _ int) error {
			if p == "poison" {
				return connectors.InvalidData(errors.New("cannot parse record \"poison\""))
			}
			return nil
		}
	})
	p := createTopic(t, c, topic)
	createTopic(t, c, dlq)
	dead := subscribe(t, c, dlq, "dlq-reader")
	add(t, rt, env, map[string]any{"name": "sink", "kind": "memsink", "topic": topic, "store": d.name})
	startRunning(t, rt, "sink") // a new subscription starts at the latest offset
	publish(t, p, "ok-1", "poison", "ok-2")
	testenv.Eventually(t, 10*time.Second, func() bool {
		return len(dead.all()) > 0
	}, "the poison message on the dead-letter topic")
	m := dead.all()[0]
	if string(m.Payload) != "poison" {
		t.Fatalf("dead letter %q, want poison", m.Payload)
	}
	if r := m.Attributes["x-failure-reason"]; !strings.Contains(r, "cannot parse record") {
		t.Errorf("x-failure-reason = %q, want the sink's reason", r)
	}
	if m.Attributes["x-original-topic"] != topic {
		t.Errorf("x-original-topic = %q", m.Attributes["x-original-topic"])
	}
	if got := d.count(); got["ok-1"] != 1 || got["ok-2"] != 1 || got["poison"] != 0 {
		t.Errorf("written %v, want ok-1 and ok-2 once, poison never", got)
	}
	st, _ := rt.Status("sink")
	if st.Failed[connectors.KindInvalidData] < 3 {
		t.Errorf("failed (invalid-data) = %d, want ≥ 3 (one per delivery)", st.Failed[connectors.KindInvalidData])
	}
	if d.attemptsOf("poison") != 3 {
		t.Errorf("the poison message was tried %d times, want 3 (1 delivery + 2 redeliveries)", d.attemptsOf("poison"))
	}
}

// TestPerRecordBatchErrors: a *BatchError acks only the successes; the retryable failure is written again
// alone; the invalid one is nacked; nothing written is delivered twice.
func TestPerRecordBatchErrors(t *testing.T) {
	srv, c := startBroker(t, broker.Options{FailurePolicy: broker.FailurePolicy{MaxRedeliveryCount: 1000, AckTimeout: 500 * time.Millisecond,
		BaseRedeliveryDelay: 10 * time.Millisecond, MaxRedeliveryDelay: 20 * time.Millisecond, Poison: broker.PoisonDrop}})
	env := testEnv(t)
	rt := newRuntime(t, c, env, connectors.RuntimeOptions{})
	d := newDownstream(t)
	var batches sync.Map // first write's batch
	d.set(func(d *downstream) {
		d.perMsg = func(p string, attempt int) error {
			switch {
			case p == "retry-me" && attempt == 1:
				return connectors.Retryable(errors.New("busy"))
			case p == "bad":
				return connectors.InvalidData(errors.New("bad payload"))
			}
			return nil
		}
		d.writeHook = func(b []*client.Message) error {
			batches.LoadOrStore("first", len(b))
			return nil
		}
	})
	p := createTopic(t, c, topic)
	payloads := []string{"a", "retry-me", "b", "bad", "c"}
	add(t, rt, env, map[string]any{"name": "sink", "kind": "memsink", "topic": topic, "store": d.name,
		"batch": map[string]any{"max_wait": "300ms", "max_idle": "100ms"}})
	// The subscription exists (it starts at the latest offset) but nobody consumes while the messages are
	// published: the first batch holds them all.
	startRunning(t, rt, "sink")
	if err := stopCtx(t, rt, "sink", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	publish(t, p, payloads...)
	if err := rt.Start("sink"); err != nil {
		t.Fatal(err)
	}
	var why reason
	testenv.Eventually(t, 10*time.Second, why.of(func() (bool, string) {
		return d.count()["retry-me"] == 1, fmt.Sprint(d.count())
	}), "retry-me written: %v", &why)
	if n, _ := batches.Load("first"); n != len(payloads) {
		t.Fatalf("first batch had %v messages, want %d", n, len(payloads))
	}
	// Every message but the invalid one acknowledged: nothing else can come back.
	waitDelivery(t, srv, topic, "all acknowledged but one", func(inFlight, waiting int) bool { return inFlight+waiting == 1 })
	got := d.count()
	for _, s := range []string{"a", "b", "c", "retry-me"} {
		if got[s] != 1 {
			t.Errorf("%s written %d times, want once (%v)", s, got[s], got)
		}
	}
	if d.attemptsOf("retry-me") != 2 {
		t.Errorf("retry-me tried %d times, want 2", d.attemptsOf("retry-me"))
	}
	st, _ := rt.Status("sink")
	if st.Retried != 1 {
		t.Errorf("retried = %d, want 1 (only the failed message is written again)", st.Retried)
	}
	if st.Failed[connectors.KindInvalidData] == 0 {
		t.Errorf("failed (invalid-data) = 0")
	}
}

// TestBrokerRestartMidFlow: source → broker → sink, the broker restarts (same port, same store) in the
// middle: everything emitted is written.
func TestBrokerRestartMidFlow(t *testing.T) {
	st := store.NewMemory()
	port := testenv.FreePort(t)
	opts := broker.Options{Port: port, Store: st, AdminPort: -1, FailurePolicy: fastPolicy()}
	srv, c, env, rt := setup(t, opts, connectors.RuntimeOptions{})
	u, d := newUpstream(t), newDownstream(t)
	createTopic(t, c, topic)
	add(t, rt, env, map[string]any{"name": "src", "kind": "memsource", "topic": topic, "reliable": true, "store": u.name})
	add(t, rt, env, map[string]any{"name": "sink", "kind": "memsink", "topic": topic, "store": d.name})
	if err := rt.StartAutostart(); err != nil {
		t.Fatal(err)
	}
	waitState(t, rt, "sink", connectors.StateRunning)
	first, second := seq("a", 100), seq("b", 100)
	u.emit(first...)
	var why reason
	testenv.Eventually(t, 10*time.Second, why.of(func() (bool, string) {
		m := missing(first, d.payloads())
		return len(m) == 0, fmt.Sprintf("%d missing", len(m))
	}), "the first half written: %v", &why)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	u.emit(second...) // read while the broker is down: published once it is back
	var srcSt connectors.InstanceStatus
	testenv.Eventually(t, 10*time.Second, func() bool {
		srcSt, _ = rt.Status("src")
		return srcSt.LastError != ""
	}, "the source did not notice the broker is down: %+v", &srcSt)
	srv2, err := broker.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, why.of(func() (bool, string) {
		err := srv2.Start()
		return err == nil, fmt.Sprint(err)
	}), "the broker to restart on its port: %v", &why)
	t.Cleanup(func() { srv2.Shutdown(context.Background()) })

	all := append(first, second...)
	testenv.Eventually(t, 60*time.Second, why.of(func() (bool, string) {
		m := missing(all, d.payloads())
		ss, _ := rt.Status("src")
		ks, _ := rt.Status("sink")
		return len(m) == 0, fmt.Sprintf("%d missing; source %v (%q), sink %v (%q)", len(m), ss.State, ss.LastError, ks.State, ks.LastError)
	}), "everything written after the restart: %v", &why)
	if got := u.committedOffset(); got != len(all) {
		t.Errorf("source committed %d, want %d", got, len(all))
	}
}

// TestStopMidBatch: Stop while a batch is being collected writes and acks it before returning; Stop while
// a Write is in progress waits for it.
func TestStopMidBatch(t *testing.T) {
	srv, c, env, rt := setup(t, broker.Options{}, connectors.RuntimeOptions{})
	d := newDownstream(t)
	p := createTopic(t, c, topic)
	add(t, rt, env, map[string]any{"name": "sink", "kind": "memsink", "topic": topic, "store": d.name,
		"batch": map[string]any{"max_messages": 1000, "max_wait": "1h", "max_idle": "0s"}})
	if err := rt.Start("sink"); err != nil {
		t.Fatal(err)
	}
	waitState(t, rt, "sink", connectors.StateRunning)
	want := seq("m", 10) // within the reliable window: all delivered to the pending batch
	publish(t, p, want...)
	// Nothing is written until the batch is full or an hour passed: wait until the consumer holds them all.
	waitDelivery(t, srv, topic, "10 delivered", func(inFlight, _ int) bool { return inFlight == 10 })
	// From the client's buffer to the pending batch is the one hop with no sign to wait for.
	time.Sleep(50 * time.Millisecond)
	if n := len(d.payloads()); n != 0 {
		t.Fatalf("%d written before Stop, want 0 (the batch waits)", n)
	}
	if err := stopCtx(t, rt, "sink", 10*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if m := missing(want, d.payloads()); len(m) > 0 {
		t.Fatalf("after Stop, %d of the pending batch were not written: %v", len(m), m)
	}
	st, _ := rt.Status("sink")
	if st.State != connectors.StateStopped || st.InFlight != 0 || st.Processed != 10 {
		t.Errorf("after Stop: state %v, in flight %d, processed %d; want stopped, 0, 10", st.State, st.InFlight, st.Processed)
	}

	// A Write in progress: Stop waits for it (and its acks); nothing comes back after a restart.
	gate := make(chan struct{})
	d.set(func(d *downstream) { d.gate = gate })
	if err := rt.Start("sink"); err != nil {
		t.Fatal(err)
	}
	more := seq("n", 5)
	publish(t, p, more...)
	// Stop as soon as the batch (an hour long) is there: it is flushed, and its Write blocks on the gate.
	waitDelivery(t, srv, topic, "5 delivered", func(inFlight, _ int) bool { return inFlight == 5 })
	time.Sleep(50 * time.Millisecond) // from the client's buffer to the pending batch: no sign to wait for
	stopped := make(chan error, 1)
	go func() { stopped <- stopCtx(t, rt, "sink", 10*time.Second) }()
	select {
	case <-d.inWrite:
	case <-time.After(5 * time.Second):
		t.Fatal("no Write started")
	}
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a Write was in progress", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(gate)
	if err := <-stopped; err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if m := missing(more, d.payloads()); len(m) > 0 {
		t.Fatalf("the batch in Write when Stop was called lost %v", m)
	}
	d.set(func(d *downstream) { d.gate = nil })
	if err := rt.Start("sink"); err != nil {
		t.Fatal(err)
	}
	waitState(t, rt, "sink", connectors.StateRunning)
	// Every message acknowledged: nothing can come back.
	waitDelivery(t, srv, topic, "all acknowledged", func(inFlight, waiting int) bool { return inFlight+waiting == 0 })
	if got := d.count(); got["n-0"] != 1 || got["m-0"] != 1 {
		t.Errorf("messages written before Stop came back: %v", got)
	}
}

// TestStopDrainTimeout: a Write that never finishes is abandoned when Stop's context ends; its messages
// are not acked and come back after a restart.
func TestStopDrainTimeout(t *testing.T) {
	_, c, env, rt := setup(t, broker.Options{}, connectors.RuntimeOptions{})
	d := newDownstream(t)
	gate := make(chan struct{})
	d.set(func(d *downstream) { d.gate = gate })
	p := createTopic(t, c, topic)
	add(t, rt, env, map[string]any{"name": "sink", "kind": "memsink", "topic": topic, "store": d.name})
	startRunning(t, rt, "sink") // a new subscription starts at the latest offset
	publish(t, p, "x")
	<-d.inWrite
	err := stopCtx(t, rt, "sink", 100*time.Millisecond)
	if !errors.Is(err, connectors.ErrDrainTimeout) {
		t.Fatalf("Stop = %v, want ErrDrainTimeout", err)
	}
	if st, _ := rt.Status("sink"); st.State != connectors.StateStopped {
		t.Errorf("state %v, want stopped", st.State)
	}
	d.set(func(d *downstream) { d.gate = nil })
	close(gate)
	if err := rt.Start("sink"); err != nil {
		t.Fatal(err)
	}
	var why reason
	testenv.Eventually(t, 10*time.Second, why.of(func() (bool, string) {
		return d.count()["x"] == 1, fmt.Sprint(d.count())
	}), "x written after the restart: %v", &why)
}

// TestSourceStopMidFlow: stopping a source settles what it published; the upstream commits exactly what
// Danube acknowledged, and a restart publishes the rest.
func TestSourceStopMidFlow(t *testing.T) {
	_, c, env, rt := setup(t, broker.Options{}, connectors.RuntimeOptions{MaxInFlight: 50})
	u := newUpstream(t)
	createTopic(t, c, topic)
	got := subscribe(t, c, topic, "check")
	add(t, rt, env, map[string]any{"name": "src", "kind": "memsource", "topic": topic, "reliable": true, "store": u.name, "read_batch": 25})
	all := seq("r", 2000)
	u.emit(all...)
	if err := rt.Start("src"); err != nil {
		t.Fatal(err)
	}
	var why reason
	testenv.Eventually(t, 10*time.Second, why.of(func() (bool, string) {
		st, _ := rt.Status("src")
		return st.Processed > 100, fmt.Sprint(st.Processed)
	}), "some records published: %v", &why)
	if err := stopCtx(t, rt, "src", 10*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	st, _ := rt.Status("src")
	if st.InFlight != 0 {
		t.Errorf("in flight after Stop = %d", st.InFlight)
	}
	committed := u.committedOffset()
	for _, err := range u.settlements() {
		if err != nil {
			t.Errorf("a batch was settled with %v during a graceful stop", err)
		}
	}
	testenv.Eventually(t, 10*time.Second, why.of(func() (bool, string) {
		m := missing(all[:committed], got.payloads())
		return len(m) == 0, fmt.Sprintf("%d of %d committed records missing", len(m), committed)
	}), "the committed records on the topic: %v", &why)
	if committed == len(all) {
		t.Logf("the source published everything before Stop; the mid-flow part of the test did not happen")
	}
	if err := rt.Start("src"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 20*time.Second, why.of(func() (bool, string) {
		m := missing(all, got.payloads())
		return len(m) == 0, fmt.Sprintf("%d missing", len(m))
	}), "everything published after the restart: %v", &why)
}

// TestSourceInvalidRecord: a record Danube refuses for good (too large) settles its batch with an
// InvalidData error, is counted as failed, and the source goes on.
func TestSourceInvalidRecord(t *testing.T) {
	_, c, env, rt := setup(t, broker.Options{Policies: broker.Policies{MaxMessageSize: 1024}}, connectors.RuntimeOptions{})
	u := newUpstream(t)
	createTopic(t, c, topic)
	got := subscribe(t, c, topic, "check")
	add(t, rt, env, map[string]any{"name": "src", "kind": "memsource", "topic": topic, "reliable": true, "store": u.name, "read_batch": 1})
	if err := rt.Start("src"); err != nil {
		t.Fatal(err)
	}
	u.emit("small-1", strings.Repeat("x", 4096), "small-2")
	var why reason
	testenv.Eventually(t, 10*time.Second, why.of(func() (bool, string) {
		m := missing([]string{"small-1", "small-2"}, got.payloads())
		return len(m) == 0, fmt.Sprint(m)
	}), "the small records: %v", &why)
	testenv.Eventually(t, 5*time.Second, why.of(func() (bool, string) {
		return len(u.settlements()) == 3, fmt.Sprint(u.settlements())
	}), "three settlements: %v", &why)
	s := u.settlements()
	if s[0] != nil || s[2] != nil || connectors.KindOf(s[1]) != connectors.KindInvalidData || !errors.Is(s[1], client.ErrMessageTooLarge) {
		t.Errorf("settlements %v, want nil, an InvalidData ErrMessageTooLarge, nil", s)
	}
	st, _ := rt.Status("src")
	if st.Failed[connectors.KindInvalidData] != 1 {
		t.Errorf("failed (invalid-data) = %d, want 1", st.Failed[connectors.KindInvalidData])
	}
}

// TestFatalRestartsWithBackoff: a Fatal error (and a panic) restarts the instance with growing, jittered
// delays and counts the restarts; it then runs.
func TestFatalRestartsWithBackoff(t *testing.T) {
	_, c, env, rt := setup(t, broker.Options{}, connectors.RuntimeOptions{RestartBackoff: 40 * time.Millisecond, MaxRestartBackoff: time.Second})
	events, cancel := rt.Subscribe()
	defer cancel()
	u := newUpstream(t)
	var reads atomic.Int64
	u.readErr = func() error {
		switch reads.Add(1) {
		case 1, 2:
			return connectors.Fatal(errors.New("lost the upstream"))
		case 3:
			panic("connector bug")
		}
		return nil
	}
	createTopic(t, c, topic)
	got := subscribe(t, c, topic, "check")
	add(t, rt, env, map[string]any{"name": "src", "kind": "memsource", "topic": topic, "reliable": true, "store": u.name})
	if err := rt.Start("src"); err != nil {
		t.Fatal(err)
	}
	u.emit("after")
	testenv.Eventually(t, 10*time.Second, func() bool {
		return slices.Contains(got.payloads(), "after")
	}, "the record after the restarts")
	st, _ := rt.Status("src")
	if st.Restarts != 3 {
		t.Errorf("restarts = %d, want 3", st.Restarts)
	}
	if st.State != connectors.StateRunning {
		t.Errorf("state %v, want running", st.State)
	}
	var failedAt []time.Time
	var reasons []string
	for len(failedAt) < 3 {
		select {
		case ev := <-events:
			if ev.Type == connectors.EventState && ev.State == connectors.StateFailed {
				failedAt = append(failedAt, ev.Time)
				reasons = append(reasons, fmt.Sprint(ev.Err))
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d Failed events", len(failedAt))
		}
	}
	if !strings.Contains(reasons[0], "lost the upstream") || !strings.Contains(reasons[2], "panic") {
		t.Errorf("failure reasons %q", reasons)
	}
	// Waits are drawn from [d/2, d] with d = 40 ms, 80 ms: the gaps grow from ≥ 20 ms to ≥ 40 ms.
	if g1, g2 := failedAt[1].Sub(failedAt[0]), failedAt[2].Sub(failedAt[1]); g1 < 20*time.Millisecond || g2 < 40*time.Millisecond {
		t.Errorf("gaps between restarts %v and %v, want ≥ 20 ms and ≥ 40 ms", g1, g2)
	}
}

// TestIsolation: an instance that keeps crashing does not affect another one.
func TestIsolation(t *testing.T) {
	_, c, env, rt := setup(t, broker.Options{}, connectors.RuntimeOptions{RestartBackoff: 5 * time.Millisecond, MaxRestartBackoff: 20 * time.Millisecond})
	bad, good := newDownstream(t), newDownstream(t)
	bad.set(func(d *downstream) {
		d.connectErr = func(n int) error {
			if n%2 == 0 {
				panic("connect exploded")
			}
			return connectors.Fatal(errors.New("cannot connect"))
		}
	})
	p := createTopic(t, c, topic)
	add(t, rt, env, map[string]any{"name": "bad", "kind": "memsink", "topic": topic, "store": bad.name})
	add(t, rt, env, map[string]any{"name": "good", "kind": "memsink", "topic": topic, "store": good.name})
	if err := rt.StartAutostart(); err != nil {
		t.Fatal(err)
	}
	waitState(t, rt, "good", connectors.StateRunning)
	want := seq("m", 300)
	publish(t, p, want...)
	var why reason
	testenv.Eventually(t, 10*time.Second, why.of(func() (bool, string) {
		m := missing(want, good.payloads())
		return len(m) == 0, fmt.Sprintf("%d missing", len(m))
	}), "the good sink to write everything: %v", &why)
	st, _ := rt.Status("bad")
	if st.Restarts < 3 {
		t.Errorf("the bad instance restarted %d times, want several", st.Restarts)
	}
	if gs, _ := rt.Status("good"); gs.State != connectors.StateRunning || gs.Restarts != 0 {
		t.Errorf("good: state %v, restarts %d", gs.State, gs.Restarts)
	}
}

// TestConfigErrorFailsWithoutRestart: a Config error from the constructor (or Connect) leaves the instance
// Failed with the reason, and it is not restarted.
func TestConfigErrorFailsWithoutRestart(t *testing.T) {
	_, _, env, rt := setup(t, broker.Options{}, connectors.RuntimeOptions{RestartBackoff: time.Millisecond})
	u, d := newUpstream(t), newDownstream(t)
	u.newErr = func(int) error { return connectors.ConfigError(errors.New("path is a directory")) }
	d.set(func(d *downstream) {
		d.connectErr = func(int) error { return connectors.ConfigError(errors.New("table does not exist")) }
	})
	add(t, rt, env, map[string]any{"name": "src", "kind": "memsource", "topic": topic, "store": u.name})
	add(t, rt, env, map[string]any{"name": "sink", "kind": "memsink", "topic": topic, "store": d.name})
	if err := rt.StartAutostart(); err != nil {
		t.Fatal(err)
	}
	for name, reason := range map[string]string{"src": "path is a directory", "sink": "table does not exist"} {
		st := waitState(t, rt, name, connectors.StateFailed)
		time.Sleep(50 * time.Millisecond) // a quiet period of 50 restart backoffs: nothing to wait for
		st, _ = rt.Status(name)
		if st.State != connectors.StateFailed || st.Restarts != 0 || !st.NextRestart.IsZero() {
			t.Errorf("%s: state %v, restarts %d, next restart %v; want failed for good", name, st.State, st.Restarts, st.NextRestart)
		}
		if !strings.Contains(st.LastError, reason) || st.LastErrorKind != connectors.KindConfig {
			t.Errorf("%s: last error %q (%v), want %q (config)", name, st.LastError, st.LastErrorKind, reason)
		}
	}
	if u.news != 1 {
		t.Errorf("the source was built %d times, want 1", u.news)
	}
	if err := stopCtx(t, rt, "src", time.Second); err != nil {
		t.Fatal(err)
	}
	if st, _ := rt.Status("src"); st.State != connectors.StateStopped {
		t.Errorf("Stop of a failed instance: state %v, want stopped", st.State)
	}
}

// TestCompleted: a source that reaches the end of its input settles everything and completes.
func TestCompleted(t *testing.T) {
	_, c, env, rt := setup(t, broker.Options{}, connectors.RuntimeOptions{})
	u := newUpstream(t)
	createTopic(t, c, topic)
	got := subscribe(t, c, topic, "check")
	add(t, rt, env, map[string]any{"name": "src", "kind": "memsource", "topic": topic, "reliable": true, "store": u.name})
	want := seq("r", 95)
	u.emit(want...)
	u.end()
	if err := rt.Start("src"); err != nil {
		t.Fatal(err)
	}
	waitState(t, rt, "src", connectors.StateCompleted)
	if got := u.committedOffset(); got != len(want) {
		t.Errorf("committed %d at completion, want %d", got, len(want))
	}
	var why reason
	testenv.Eventually(t, 5*time.Second, why.of(func() (bool, string) {
		m := missing(want, got.payloads())
		return len(m) == 0, fmt.Sprint(len(m))
	}), "every record on the topic: %v", &why)
	st, _ := rt.Status("src")
	if st.Batches != 10 || st.Processed != 95 || st.LastBatchSize != 5 {
		t.Errorf("batches %d, processed %d, last batch %d; want 10, 95, 5", st.Batches, st.Processed, st.LastBatchSize)
	}
}

// TestRecordRouting: a record's Topic, Key and Attributes are published as given, and counted per topic.
func TestRecordRouting(t *testing.T) {
	_, c, env, rt := setup(t, broker.Options{}, connectors.RuntimeOptions{})
	u := newUpstream(t)
	createTopic(t, c, topic)
	createTopic(t, c, "/default/other")
	main := subscribe(t, c, topic, "check")
	other := subscribe(t, c, "/default/other", "check")
	add(t, rt, env, map[string]any{"name": "src", "kind": "memsource", "topic": topic, "reliable": true, "store": u.name})
	if err := rt.Start("src"); err != nil {
		t.Fatal(err)
	}
	u.emitRecords(connectors.Record{Payload: []byte("plain")},
		connectors.Record{Payload: []byte("routed"), Topic: "/default/other", Key: "k1", HasKey: true, Attributes: map[string]string{"a": "1"}})
	var why reason
	testenv.Eventually(t, 10*time.Second, why.of(func() (bool, string) {
		// The consumer may see a record before the publish's completion was counted.
		st, _ := rt.Status("src")
		return len(main.all()) == 1 && len(other.all()) == 1 && st.Processed == 2, fmt.Sprintf("processed %d", st.Processed)
	}), "both records, received and counted: %v", &why)
	m := other.all()[0]
	if !m.HasRoutingKey || m.RoutingKey != "k1" || m.Attributes["a"] != "1" {
		t.Errorf("routed message: key %q (%v), attributes %v", m.RoutingKey, m.HasRoutingKey, m.Attributes)
	}
	st, _ := rt.Status("src")
	if len(st.Topics) != 2 || st.Processed != 2 {
		t.Fatalf("topics %+v, processed %d", st.Topics, st.Processed)
	}
	for _, ts := range st.Topics {
		if ts.Processed != 1 {
			t.Errorf("topic %s processed %d, want 1", ts.Topic, ts.Processed)
		}
	}
}

// TestRateLimit: rate_limit caps the messages per second.
func TestRateLimit(t *testing.T) {
	_, c, env, rt := setup(t, broker.Options{}, connectors.RuntimeOptions{})
	u := newUpstream(t)
	createTopic(t, c, topic)
	add(t, rt, env, map[string]any{"name": "src", "kind": "memsource", "topic": topic, "reliable": true, "store": u.name, "rate_limit": 50})
	u.emit(seq("r", 40)...)
	start := time.Now()
	if err := rt.Start("src"); err != nil {
		t.Fatal(err)
	}
	var why reason
	testenv.Eventually(t, 10*time.Second, why.of(func() (bool, string) {
		st, _ := rt.Status("src")
		return st.Processed == 40, fmt.Sprint(st.Processed)
	}), "40 records: %v", &why)
	// 40 records at 50/s with a burst of 5: at least (40-5)/50 s.
	if d := time.Since(start); d < 600*time.Millisecond {
		t.Errorf("40 records at 50/s took %v", d)
	}
}

// TestSlowSinkBackpressure: a slow sink slows its consumption: the messages it holds stay bounded.
func TestSlowSinkBackpressure(t *testing.T) {
	_, c, env, rt := setup(t, broker.Options{MaxUnackedMessages: 1000}, connectors.RuntimeOptions{})
	d := newDownstream(t)
	d.set(func(d *downstream) {
		d.writeHook = func([]*client.Message) error { time.Sleep(20 * time.Millisecond); return nil } // a slow sink
	})
	p := createTopic(t, c, topic)
	add(t, rt, env, map[string]any{"name": "sink", "kind": "memsink", "topic": topic, "store": d.name,
		"batch": map[string]any{"max_messages": 10}})
	startRunning(t, rt, "sink") // a new subscription starts at the latest offset
	want := seq("m", 500)
	publish(t, p, want...)
	var peak int64
	var why reason
	testenv.Eventually(t, 20*time.Second, why.of(func() (bool, string) {
		st, _ := rt.Status("sink")
		peak = max(peak, st.InFlight)
		m := missing(want, d.payloads())
		return len(m) == 0, fmt.Sprintf("%d missing", len(m))
	}), "everything written: %v", &why)
	// In flight: the batch being written plus the acks queued (2 × max_messages).
	if peak > 30 {
		t.Errorf("peak in flight %d, want ≤ 30", peak)
	}
	if d.maxBatch > 10 {
		t.Errorf("a batch of %d, want ≤ max_messages 10", d.maxBatch)
	}
}

// TestHealthDegraded: a failing health check makes the instance Degraded until it passes.
func TestHealthDegraded(t *testing.T) {
	_, c, env, rt := setup(t, broker.Options{}, connectors.RuntimeOptions{HealthInterval: 20 * time.Millisecond})
	d := newDownstream(t)
	createTopic(t, c, topic)
	add(t, rt, env, map[string]any{"name": "sink", "kind": "memsink", "topic": topic, "store": d.name})
	if err := rt.Start("sink"); err != nil {
		t.Fatal(err)
	}
	waitState(t, rt, "sink", connectors.StateRunning)
	d.set(func(d *downstream) { d.health = errors.New("disk full") })
	st := waitState(t, rt, "sink", connectors.StateDegraded)
	if !strings.Contains(st.LastError, "disk full") {
		t.Errorf("last error %q", st.LastError)
	}
	d.set(func(d *downstream) { d.health = nil })
	waitState(t, rt, "sink", connectors.StateRunning)
}

// TestSinkWaitsForTopic: a sink whose topic does not exist yet stays Starting and subscribes once it does.
func TestSinkWaitsForTopic(t *testing.T) {
	_, c, env, rt := setup(t, broker.Options{}, connectors.RuntimeOptions{})
	d := newDownstream(t)
	add(t, rt, env, map[string]any{"name": "sink", "kind": "memsink", "topic": topic, "store": d.name})
	if err := rt.Start("sink"); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 5*time.Second, func() bool {
		st, _ := rt.Status("sink")
		return st.LastError != ""
	}, "the sink never tried to subscribe")
	if st, _ := rt.Status("sink"); st.State != connectors.StateStarting || !strings.Contains(st.LastError, "not found") {
		t.Errorf("before the topic exists: state %v, last error %q", st.State, st.LastError)
	}
	p := createTopic(t, c, topic)
	waitState(t, rt, "sink", connectors.StateRunning)
	publish(t, p, "x")
	testenv.Eventually(t, 5*time.Second, func() bool { return d.count()["x"] == 1 }, "x written")
}

// TestRuntimeAPI: names, duplicates, unknown instances, idempotent Start and Stop, Close.
func TestRuntimeAPI(t *testing.T) {
	_, c := startBroker(t, broker.Options{})
	env := testEnv(t)
	rt := connectors.NewRuntime(c, env, connectors.RuntimeOptions{})
	d := newDownstream(t)
	createTopic(t, c, topic)
	cfg := add(t, rt, env, map[string]any{"name": "sink", "kind": "memsink", "topic": topic, "store": d.name, "autostart": false})
	if err := rt.Add(cfg); !errors.Is(err, connectors.ErrDuplicateInstance) {
		t.Errorf("Add twice = %v", err)
	}
	if err := rt.Start("nope"); !errors.Is(err, connectors.ErrUnknownInstance) {
		t.Errorf("Start(nope) = %v", err)
	}
	if _, ok := rt.Status("nope"); ok {
		t.Error("Status(nope) found something")
	}
	if err := rt.Add(connectors.InstanceConfig{Name: "x y", Kind: "memsink", Topic: "nope"}); connectors.KindOf(err) != connectors.KindConfig ||
		!strings.Contains(err.Error(), "name") || !strings.Contains(err.Error(), "topic") || !strings.Contains(err.Error(), "store: required") {
		t.Errorf("Add(bad) = %v", err)
	}
	if err := rt.StartAutostart(); err != nil {
		t.Fatal(err)
	}
	if st, _ := rt.Status("sink"); st.State != connectors.StateStopped {
		t.Errorf("autostart = false started it: %v", st.State)
	}
	for range 2 {
		if err := rt.Start("sink"); err != nil {
			t.Fatal(err)
		}
	}
	waitState(t, rt, "sink", connectors.StateRunning)
	if snap := rt.Snapshot(); len(snap) != 1 || snap[0].Name != "sink" || snap[0].Role != connectors.RoleSink || snap[0].Topic != topic {
		t.Errorf("Snapshot = %+v", snap)
	}
	if st, _ := rt.Status("sink"); st.Origin != "" || len(st.Settings) == 0 ||
		st.Settings[0] != (connectors.Setting{Key: "subscription", Value: "sink (Shared)"}) || st.Settings[len(st.Settings)-1].Key != "store" {
		t.Errorf("origin %q, settings %q: want no origin, the subscription, then the kind's settings", st.Origin, st.Settings)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events, stop := rt.Subscribe()
	defer stop()
	if err := rt.Remove(ctx, "sink"); err != nil {
		t.Fatal(err)
	}
	var types []connectors.EventType
	for len(types) < 3 {
		ev := <-events
		if ev.Type != connectors.EventMetrics {
			types = append(types, ev.Type)
		}
	}
	if !slices.Equal(types, []connectors.EventType{connectors.EventState, connectors.EventState, connectors.EventRemoved}) {
		t.Errorf("events on Remove: %v", types)
	}
	if err := rt.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-events; ok {
		// drain what was queued before the close
		for range events {
		}
	}
	if err := rt.Start("sink"); !errors.Is(err, connectors.ErrRuntimeClosed) {
		t.Errorf("Start after Close = %v", err)
	}
}

// TestPrometheus: the collector exports the danube_connector_* series with connector, kind and topic labels.
func TestPrometheus(t *testing.T) {
	_, c, env, rt := setup(t, broker.Options{}, connectors.RuntimeOptions{})
	d := newDownstream(t)
	d.set(func(d *downstream) { d.failNext = 1 })
	p := createTopic(t, c, topic)
	add(t, rt, env, map[string]any{"name": "sink", "kind": "memsink", "topic": topic, "store": d.name})
	startRunning(t, rt, "sink") // a new subscription starts at the latest offset
	publish(t, p, seq("m", 10)...)
	testenv.Eventually(t, 10*time.Second, func() bool { return len(d.payloads()) == 10 }, "10 written")
	// The write that failed made the sink degraded; the next one that succeeds makes it running again, just
	// after Write returned.
	waitState(t, rt, "sink", connectors.StateRunning)
	reg := prometheus.NewRegistry()
	if err := reg.Register(rt.Collector()); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if mf.GetName() != "danube_connector_events_dropped_total" &&
				(labels["connector"] != "sink" || labels["kind"] != "memsink" || labels["topic"] != topic) {
				t.Errorf("%s has labels %v", mf.GetName(), labels)
			}
			key := mf.GetName()
			if s := labels["state"]; s != "" {
				key += "{" + s + "}"
			}
			if s := labels["error_kind"]; s != "" {
				key += "{" + s + "}"
			}
			switch {
			case m.GetCounter() != nil:
				values[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				values[key] = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				values[key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	for k, want := range map[string]float64{
		"danube_connector_messages_received_total":             10,
		"danube_connector_messages_processed_total":            10,
		"danube_connector_state{running}":                      1,
		"danube_connector_state{failed}":                       0,
		"danube_connector_messages_failed_total{invalid-data}": 0,
	} {
		if values[k] != want {
			t.Errorf("%s = %v, want %v", k, values[k], want)
		}
	}
	for _, k := range []string{"danube_connector_messages_retried_total", "danube_connector_batch_size",
		"danube_connector_batch_duration_seconds", "danube_connector_batches_total", "danube_connector_last_error_timestamp_seconds"} {
		if values[k] <= 0 {
			t.Errorf("%s = %v, want > 0", k, values[k])
		}
	}
	if _, ok := values["danube_connector_inflight_messages"]; !ok {
		t.Error("no danube_connector_inflight_messages")
	}
}

// TestSinkCreatesTopic: with create_topic, a sink whose topic does not exist creates it with the strategy
// asked for and subscribes at once, so that it misses nothing published afterwards.
func TestSinkCreatesTopic(t *testing.T) {
	_, c, env, rt := setup(t, broker.Options{}, connectors.RuntimeOptions{})
	d := newDownstream(t)
	add(t, rt, env, map[string]any{"name": "sink", "kind": "memsink", "topic": topic, "store": d.name, "create_topic": "reliable"})
	startRunning(t, rt, "sink")
	ctx := context.Background()
	if _, err := c.NewProducer(ctx, client.ProducerConfig{Topic: topic, Name: "nr", Dispatch: client.NonReliable}); !errors.Is(err, client.ErrDispatchMismatch) {
		t.Fatalf("a non-reliable producer on the created topic: %v, want ErrDispatchMismatch (it was created reliable)", err)
	}
	p := createTopic(t, c, topic)
	publish(t, p, "first")
	var why reason
	testenv.Eventually(t, 5*time.Second, why.of(func() (bool, string) { return d.count()["first"] == 1, fmt.Sprint(d.count()) }), "first written: %v", &why)
}

// TestSourceKeepsOrder: by default a source's records reach the topic in the order they were read.
func TestSourceKeepsOrder(t *testing.T) {
	_, c, env, rt := setup(t, broker.Options{}, connectors.RuntimeOptions{})
	u := newUpstream(t)
	createTopic(t, c, topic)
	got := subscribe(t, c, topic, "check")
	add(t, rt, env, map[string]any{"name": "src", "kind": "memsource", "topic": topic, "reliable": true, "store": u.name, "read_batch": 50})
	startRunning(t, rt, "src")
	want := seq("m", 300)
	u.emit(want...)
	var why reason
	testenv.Eventually(t, 10*time.Second, why.of(func() (bool, string) {
		return len(got.payloads()) >= len(want), fmt.Sprintf("%d of %d", len(got.payloads()), len(want))
	}), "every record: %v", &why)
	if p := got.payloads(); !slices.Equal(p, want) {
		t.Errorf("records arrived out of order: %v", p[:min(len(p), 20)])
	}
}

// TestStartSetStartsSinksFirst: StartSet starts the sources only once the sinks of the set left Starting,
// whatever order the names come in, so a sink subscribing to a new topic misses none of the first records;
// an unknown name is an error that does not keep the others from starting.
func TestStartSetStartsSinksFirst(t *testing.T) {
	_, c, env, rt := setup(t, broker.Options{}, connectors.RuntimeOptions{})
	u, d := newUpstream(t), newDownstream(t)
	createTopic(t, c, topic)
	d.set(func(d *downstream) {
		d.connectErr = func(int) error { time.Sleep(300 * time.Millisecond); return nil } // a slow subscription: the scenario
	})
	add(t, rt, env, map[string]any{"name": "src", "kind": "memsource", "topic": topic, "reliable": true, "store": u.name, "autostart": false})
	add(t, rt, env, map[string]any{"name": "sink", "kind": "memsink", "topic": topic, "store": d.name, "autostart": false})
	events, unsubscribe := rt.Subscribe()
	defer unsubscribe()
	err := rt.StartSet("src", "nope", "sink")
	if !errors.Is(err, connectors.ErrUnknownInstance) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("StartSet = %v, want the unknown instance named", err)
	}
	var order []string
	timeout := time.After(10 * time.Second)
	for len(order) < 4 {
		select {
		case ev := <-events:
			if ev.Type == connectors.EventState {
				order = append(order, ev.Name+" "+ev.State.String())
			}
		case <-timeout:
			t.Fatalf("state changes after 10 s: %q", order)
		}
	}
	want := []string{"sink starting", "sink running", "src starting", "src running"}
	if !slices.Equal(order, want) {
		t.Errorf("state changes %q, want %q", order, want)
	}
	want1 := seq("s", 50)
	u.emit(want1...)
	var why reason
	testenv.Eventually(t, 10*time.Second, why.of(func() (bool, string) {
		m := missing(want1, d.payloads())
		return len(m) == 0, fmt.Sprintf("%d missing", len(m))
	}), "every record written: %v", &why)
}
