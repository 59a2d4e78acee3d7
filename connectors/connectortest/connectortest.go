// Package connectortest is the conformance suite every connector kind passes: Conformance runs one
// connector against an embedded broker and checks that it starts, moves data, stops with a drain that loses
// nothing, restarts, stays at-least-once under a failure of its outside system and under a broker restart,
// and leaves no goroutine behind once stopped.
//
// A connector package calls it from a test with a Harness that says how to configure the connector, how to
// feed a source (or how to read what a sink delivered), and how to make the outside system fail:
//
//	func TestConformance(t *testing.T) {
//		connectortest.Conformance(t, connectortest.Harness{
//			Kind:      "jsonl",
//			Settings:  func(f *connectortest.Fixture) map[string]any { return map[string]any{"path": f.Dir + "/out.jsonl"} },
//			Delivered: func(f *connectortest.Fixture) ([]string, error) { ... ids read back from the file ... },
//			Break:     func(f *connectortest.Fixture) (func(), error) { ... make the file unwritable ... },
//		})
//	}
package connectortest

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/broker/store"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/internal/testenv"
)

// Fixture is what one sub-test runs against: a broker, a client, a runtime and the instance's names.
type Fixture struct {
	// TB is the sub-test (use it only from the goroutine that called the harness function).
	TB testing.TB
	// BrokerURL is the broker's URL; it stays the same across the broker restart.
	BrokerURL string
	// Client is the client the runtime uses.
	Client *client.Client
	// Runtime runs the instance.
	Runtime *connectors.Runtime
	// Name is the instance's name, Topic its topic (reliable, not partitioned).
	Name  string
	Topic string
	// Dir is an empty directory for the sub-test's files.
	Dir string
	// State is the harness's own: Settings may set it (e.g. to the outside system it started) for Emit,
	// Delivered and Break to use. Settings runs before anything else of the sub-test, so no lock is needed.
	State any
}

// Harness says how to run one connector kind through the suite. Kind, Settings and, for a source, Emit,
// or, for a sink, Delivered are required.
type Harness struct {
	// Env holds the kind (default connectors.DefaultEnv()).
	Env *connectors.Env
	// Kind is the connector kind under test.
	Kind string
	// Settings returns the kind's own keys of the [[connector]] table (the suite sets name, kind, topic,
	// reliable and retry). It is called once per sub-test, before the instance is added.
	Settings func(f *Fixture) map[string]any
	// Configure, when set, adjusts the parsed instance before it is added.
	Configure func(cfg *connectors.InstanceConfig)

	// Emit (sources) makes the outside system offer records carrying ids (write lines to a file, POST
	// requests, publish MQTT messages...). It may block until the source took them (an HTTP caller retries
	// until it is answered 2xx); the suite calls it from a goroutine of its own when it stops or breaks
	// things meanwhile, so it must return when ctx ends. Records the source does not settle successfully
	// must be offered again (re-read from a committed offset, retried by the caller...).
	Emit func(ctx context.Context, f *Fixture, ids []string) error
	// ID (sources) extracts the id from a message the source published (default: the payload as a string).
	ID func(m *client.Message) string

	// Payload (sinks) builds the Danube message the suite publishes for an id (default: the id's bytes).
	Payload func(id string) []byte
	// Delivered (sinks) lists the ids the sink delivered to the outside system so far; duplicates are fine.
	Delivered func(f *Fixture) ([]string, error)

	// Break makes the outside system fail until the returned heal function is called (at most a few
	// seconds later). Without it, the failure sub-test is skipped, saying so.
	Break func(f *Fixture) (heal func(), err error)
	// IgnoreGoroutines lists functions whose goroutines the leak check ignores (goroutines of the outside
	// system the harness runs in-process, such as an embedded server), fully qualified as
	// goleak.IgnoreAnyFunction takes them: a goroutine with one of them anywhere on its stack is ignored.
	IgnoreGoroutines []string
	// Records is how many records each step feeds (default 40); Timeout bounds each wait (default 30 s).
	Records int
	Timeout time.Duration
}

// Conformance runs the suite as sub-tests of t: StartStop, Restart, FailureRecovery and BrokerRestart.
func Conformance(t *testing.T, h Harness) {
	t.Helper()
	if h.Env == nil {
		h.Env = connectors.DefaultEnv()
	}
	info, ok := h.Env.Lookup(h.Kind)
	if !ok {
		t.Fatalf("kind %q is not registered", h.Kind)
	}
	if h.Settings == nil {
		t.Fatal("Harness.Settings is required")
	}
	switch {
	case info.Role == connectors.RoleSource && h.Emit == nil:
		t.Fatal("Harness.Emit is required for a source")
	case info.Role == connectors.RoleSink && h.Delivered == nil:
		t.Fatal("Harness.Delivered is required for a sink")
	}
	if h.Records <= 0 {
		h.Records = 40
	}
	if h.Timeout <= 0 {
		h.Timeout = 30 * time.Second
	}
	if h.ID == nil {
		h.ID = func(m *client.Message) string { return string(m.Payload) }
	}
	if h.Payload == nil {
		h.Payload = func(id string) []byte { return []byte(id) }
	}
	t.Run("StartStop", func(t *testing.T) { testStartStop(t, &h, info.Role) })
	t.Run("Restart", func(t *testing.T) { testRestart(t, &h, info.Role) })
	t.Run("FailureRecovery", func(t *testing.T) {
		if h.Break == nil {
			t.Skip("the harness has no Break: the at-least-once check under a failure of the outside system is not run")
		}
		testFailure(t, &h, info.Role)
	})
	t.Run("BrokerRestart", func(t *testing.T) { testBrokerRestart(t, &h, info.Role) })
}

// testStartStop: data flows; Stop in the middle of the flow drains (nothing in flight, no goroutine left);
// after a new Start, everything fed arrives.
func testStartStop(t *testing.T, h *Harness, role connectors.Role) {
	e := newEnv(t, h, role, false)
	before := goleak.IgnoreCurrent()
	e.start()
	first := ids("a", h.Records)
	e.feed(first)
	e.waitAll(first)

	second := ids("b", h.Records)
	emitted := e.feedAsync(second)
	e.stop()
	st, _ := e.fx.Runtime.Status(e.fx.Name)
	if st.State != connectors.StateStopped {
		t.Errorf("state after Stop = %v, want stopped", st.State)
	}
	if st.InFlight != 0 {
		t.Errorf("in flight after Stop = %d, want 0 (the drain settles everything)", st.InFlight)
	}
	leakCheck(t, before, h.IgnoreGoroutines)

	e.start()
	e.waitAll(append(first, second...))
	e.waitEmitted(emitted)
	e.stop()
}

// testRestart: Restart drains and starts again; data flows before and after; it is not counted as a crash.
func testRestart(t *testing.T, h *Harness, role connectors.Role) {
	e := newEnv(t, h, role, false)
	before := goleak.IgnoreCurrent()
	e.start()
	first := ids("a", h.Records)
	e.feed(first)
	e.waitAll(first)
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	defer cancel()
	if err := e.fx.Runtime.Restart(ctx, e.fx.Name); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	e.waitState(connectors.StateRunning)
	second := ids("b", h.Records)
	e.feed(second)
	e.waitAll(append(first, second...))
	if st, _ := e.fx.Runtime.Status(e.fx.Name); st.Restarts != 0 {
		t.Errorf("restarts = %d after Restart, want 0 (only failures count)", st.Restarts)
	}
	e.stop()
	leakCheck(t, before, h.IgnoreGoroutines)
}

// testFailure: the outside system fails for a while; the instance reports it and retries; once healed,
// everything fed arrives.
func testFailure(t *testing.T, h *Harness, role connectors.Role) {
	e := newEnv(t, h, role, false)
	e.start()
	first := ids("a", h.Records)
	e.feed(first)
	e.waitAll(first)
	heal, err := h.Break(e.fx)
	if err != nil {
		t.Fatalf("Break: %v", err)
	}
	broke := time.Now()
	second := ids("b", h.Records)
	emitted := e.feedAsync(second)
	e.waitFor("the instance to report the failure", func() (bool, string) {
		st, _ := e.fx.Runtime.Status(e.fx.Name)
		return !st.LastErrorAt.Before(broke) && st.LastError != "", fmt.Sprintf("state %v, last error %q at %v", st.State, st.LastError, st.LastErrorAt)
	})
	heal()
	e.waitAll(append(first, second...))
	e.waitEmitted(emitted)
	if role == connectors.RoleSink {
		if st, _ := e.fx.Runtime.Status(e.fx.Name); st.Retried == 0 {
			t.Errorf("retried = 0 after a failure of the outside system")
		}
	}
	e.stop()
}

// testBrokerRestart: the broker stops and starts again (same port, same store) in the middle of the flow;
// everything fed arrives.
func testBrokerRestart(t *testing.T, h *Harness, role connectors.Role) {
	e := newEnv(t, h, role, true)
	e.start()
	first := ids("a", h.Records)
	e.feed(first)
	e.waitAll(first)

	e.restartBroker(func() {
		if role == connectors.RoleSource {
			e.emitted = e.feedAsync(ids("b", h.Records))
		}
	})
	second := ids("b", h.Records)
	if role == connectors.RoleSink {
		e.feed(second)
	}
	e.waitAll(append(first, second...))
	e.waitEmitted(e.emitted)
	e.stop()
}

// probeAttr marks the suite's probe message, which the check consumer does not count.
const probeAttr = "x-conformance-probe"

// env is one sub-test's world.
type env struct {
	t    *testing.T
	h    *Harness
	role connectors.Role
	fx   *Fixture

	st   store.Store
	port int
	mu   sync.Mutex
	srv  *broker.Server

	prod    *client.Producer // sinks: publishes the ids
	seenMu  sync.Mutex
	seen    map[string]int // sources: ids the check consumer received
	probed  bool           // sources: the check consumer received the probe
	emitted chan error     // the broker-restart sub-test's Emit
}

// brokerOptions are the suite's broker settings: a store that survives a restart, a failure policy that
// redelivers quickly and never poisons a message within a test.
func brokerOptions(port int, st store.Store) broker.Options {
	return broker.Options{Port: port, AdminPort: -1, Store: st, MaxUnackedMessages: 100,
		FailurePolicy: broker.FailurePolicy{MaxRedeliveryCount: 1000, AckTimeout: 5 * time.Second, BaseRedeliveryDelay: 50 * time.Millisecond,
			MaxRedeliveryDelay: time.Second, Backoff: broker.BackoffExponential, Poison: broker.PoisonBlock}}
}

func newEnv(t *testing.T, h *Harness, role connectors.Role, fixedPort bool) *env {
	t.Helper()
	e := &env{t: t, h: h, role: role, st: store.NewMemory(), seen: map[string]int{}}
	if fixedPort {
		e.port = testenv.FreePort(t)
	}
	e.srv = brokertest.Run(t, brokerOptions(e.port, e.st))
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	defer cancel()
	c, err := client.Connect(ctx, e.srv.URL())
	if err != nil {
		t.Fatalf("client.Connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	rt := connectors.NewRuntime(c, h.Env, connectors.RuntimeOptions{RestartBackoff: 50 * time.Millisecond,
		MaxRestartBackoff: time.Second, HealthInterval: 200 * time.Millisecond, SampleInterval: 100 * time.Millisecond})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
		defer cancel()
		if err := rt.Close(ctx); err != nil {
			t.Errorf("Runtime.Close: %v", err)
		}
	})
	e.fx = &Fixture{TB: t, BrokerURL: e.srv.URL(), Client: c, Runtime: rt, Name: "conformance-" + h.Kind,
		Topic: "/default/conformance", Dir: t.TempDir()}

	// The topic exists, reliable, before the instance starts: the suite's producer creates it.
	p, err := c.NewProducer(ctx, client.ProducerConfig{Topic: e.fx.Topic, Name: "conformance-feed", Dispatch: client.Reliable})
	if err != nil {
		t.Fatalf("creating the topic: %v", err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	if role == connectors.RoleSink {
		e.prod = p
	} else {
		cons, err := c.Subscribe(ctx, client.ConsumerConfig{Topic: e.fx.Topic, Subscription: "conformance-check", Name: "conformance-check"})
		if err != nil {
			t.Fatalf("subscribing to the topic: %v", err)
		}
		done := make(chan struct{})
		// Acks end with the sub-test: a broker the cleanup already stopped must not keep them retrying.
		ackCtx, stopAcks := context.WithCancel(context.Background())
		go func() {
			defer close(done)
			for m := range cons.Messages() {
				if m.Attributes[probeAttr] != "" {
					e.seenMu.Lock()
					e.probed = true
					e.seenMu.Unlock()
				} else {
					id := h.ID(m)
					e.seenMu.Lock()
					e.seen[id]++
					e.seenMu.Unlock()
				}
				actx, cancel := context.WithTimeout(ackCtx, 5*time.Second)
				_ = m.Ack(actx)
				cancel()
			}
		}()
		t.Cleanup(func() {
			stopAcks()
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			cons.Close(cctx)
			<-done
		})
		// A probe through the check consumer: its stream is open (and its goroutines exist) before the
		// leak check takes its snapshot.
		if _, err := p.Send(ctx, []byte("probe"), client.WithAttributes(map[string]string{probeAttr: "1"})); err != nil {
			t.Fatalf("probing the topic: %v", err)
		}
		e.waitFor("the probe message", func() (bool, string) {
			e.seenMu.Lock()
			defer e.seenMu.Unlock()
			return e.probed, "not received"
		})
	}

	retry := map[string]any{"base_backoff": "20ms", "max_backoff": "200ms"}
	table := map[string]any{"name": e.fx.Name, "kind": h.Kind, "topic": e.fx.Topic, "retry": retry}
	if role == connectors.RoleSource {
		table["reliable"] = true
	} else {
		retry["max_retries"], retry["nack_delay"] = 100, "100ms"
	}
	for k, v := range h.Settings(e.fx) {
		table[k] = v
	}
	cfg, err := h.Env.ParseInstance(table, nil)
	if err != nil {
		t.Fatalf("the instance's configuration:\n%v", err)
	}
	if h.Configure != nil {
		h.Configure(&cfg)
	}
	if err := rt.Add(cfg); err != nil {
		t.Fatalf("Runtime.Add: %v", err)
	}
	return e
}

func (e *env) start() {
	e.t.Helper()
	if err := e.fx.Runtime.Start(e.fx.Name); err != nil {
		e.t.Fatalf("Start: %v", err)
	}
	e.waitState(connectors.StateRunning)
}

func (e *env) stop() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e.h.Timeout)
	defer cancel()
	if err := e.fx.Runtime.Stop(ctx, e.fx.Name); err != nil {
		e.t.Fatalf("Stop: %v", err)
	}
}

// feed offers ids and returns once they were fed (sinks: published; sources: Emit returned).
func (e *env) feed(ids []string) {
	e.t.Helper()
	if err := <-e.feedAsync(ids); err != nil {
		e.t.Fatalf("feeding %d records: %v", len(ids), err)
	}
}

// feedAsync offers ids from a goroutine of its own and returns the channel of its result.
func (e *env) feedAsync(ids []string) chan error {
	out := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 2*e.h.Timeout)
	e.t.Cleanup(cancel)
	go func() {
		defer cancel()
		if e.role == connectors.RoleSource {
			out <- e.h.Emit(ctx, e.fx, ids)
			return
		}
		for _, id := range ids {
			if _, err := e.prod.Send(ctx, e.h.Payload(id)); err != nil {
				out <- fmt.Errorf("publishing %s: %w", id, err)
				return
			}
		}
		out <- nil
	}()
	return out
}

func (e *env) waitEmitted(ch chan error) {
	e.t.Helper()
	if ch == nil {
		return
	}
	select {
	case err := <-ch:
		if err != nil {
			e.t.Fatalf("feeding records: %v", err)
		}
	case <-time.After(e.h.Timeout):
		e.t.Fatal("feeding records did not finish")
	}
}

// delivered returns the ids that reached the other side so far.
func (e *env) delivered() (map[string]int, error) {
	if e.role == connectors.RoleSource {
		e.seenMu.Lock()
		defer e.seenMu.Unlock()
		out := make(map[string]int, len(e.seen))
		for k, v := range e.seen {
			out[k] = v
		}
		return out, nil
	}
	got, err := e.h.Delivered(e.fx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int, len(got))
	for _, id := range got {
		out[id]++
	}
	return out, nil
}

// waitAll waits until every id reached the other side at least once.
func (e *env) waitAll(ids []string) {
	e.t.Helper()
	e.waitFor(fmt.Sprintf("%d records to be delivered", len(ids)), func() (bool, string) {
		got, err := e.delivered()
		if err != nil {
			return false, err.Error()
		}
		var missing []string
		for _, id := range ids {
			if got[id] == 0 {
				missing = append(missing, id)
			}
		}
		st, _ := e.fx.Runtime.Status(e.fx.Name)
		return len(missing) == 0, fmt.Sprintf("%d missing (e.g. %v); instance %v, last error %q", len(missing),
			missing[:min(len(missing), 5)], st.State, st.LastError)
	})
}

func (e *env) waitState(want connectors.State) {
	e.t.Helper()
	e.waitFor("state "+want.String(), func() (bool, string) {
		st, _ := e.fx.Runtime.Status(e.fx.Name)
		return st.State == want, fmt.Sprintf("state %v, last error %q", st.State, st.LastError)
	})
}

func (e *env) waitFor(what string, cond func() (bool, string)) {
	e.t.Helper()
	deadline := time.Now().Add(e.h.Timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %v waiting for %s: %s", e.h.Timeout, what, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// restartBroker shuts the broker down, runs meanwhile, and starts a new one on the same port and store.
func (e *env) restartBroker(meanwhile func()) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e.h.Timeout)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		e.t.Fatalf("broker shutdown: %v", err)
	}
	meanwhile()
	time.Sleep(300 * time.Millisecond)
	var srv *broker.Server
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := broker.New(brokerOptions(e.port, e.st))
		if err != nil {
			e.t.Fatalf("broker.New: %v", err)
		}
		if err = s.Start(); err == nil {
			srv = s
			break
		}
		if time.Now().After(deadline) { // the port may linger for a moment
			e.t.Fatalf("restarting the broker on port %d: %v", e.port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	if !srv.ReadyForConnections(5 * time.Second) {
		e.t.Fatal("the restarted broker is not ready")
	}
	e.mu.Lock()
	e.srv = srv
	e.mu.Unlock()
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + "-" + strconv.Itoa(i)
	}
	return out
}

// benign are the goroutines that are not the instance's, named by a function on their stack (as
// goleak.IgnoreAnyFunction takes it): the embedded broker's and gRPC's server side, the suite's own feeder,
// and the HTTP servers and client connections a harness may run.
var benign = []string{
	"github.com/danube-console/danube-console/broker.(*dispatcher).run",
	"github.com/danube-console/danube-console/broker.(*subscription).serve",
	"google.golang.org/grpc.(*Server).serveStreams",
	"google.golang.org/grpc.(*Server).handleStream",
	"google.golang.org/grpc/internal/transport.(*http2Server).keepalive",
	"github.com/danube-console/danube-console/connectors/connectortest.(*env).feedAsync.func1",
	"net/http.(*persistConn).readLoop",
	"net/http.(*persistConn).writeLoop",
	"net/http.(*conn).serve",
	"net/http.(*Server).Serve",
}

// leakCheck fails t when goroutines started after before was taken (goleak.IgnoreCurrent) are still running
// a few seconds after the instance stopped, except benign ones and those of the harness's ignore list.
func leakCheck(t *testing.T, before goleak.Option, ignore []string) {
	t.Helper()
	opts := []goleak.Option{before}
	for _, f := range slices.Concat(benign, ignore) {
		opts = append(opts, goleak.IgnoreAnyFunction(f))
	}
	var leaks findResult
	testenv.Eventually(t, 5*time.Second, func() bool {
		leaks.err = goleak.Find(opts...)
		return leaks.err == nil
	}, "goroutines left after Stop (Harness.IgnoreGoroutines names the outside system's): %v", &leaks)
}

// findResult shows what goleak.Find last found.
type findResult struct{ err error }

func (r *findResult) String() string {
	if r.err == nil {
		return "none"
	}
	return r.err.Error()
}
