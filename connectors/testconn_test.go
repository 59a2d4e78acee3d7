package connectors_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/internal/testenv"
)

// TestMain fails the package when a goroutine outlives its tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The in-test connectors: "memsource" reads an upstream log (like a file tail that commits its offset only
// after its batches were acknowledged) and "memsink" appends payloads to a downstream list, with hooks that
// make either fail. Instances find their outside system by name in stores.
var stores sync.Map // name → *upstream or *downstream

var storeSeq atomic.Int64

// upstream is the outside system of memsource: an append-only log with a committed offset.
type upstream struct {
	name string
	mu   sync.Mutex
	recs []connectors.Record
	// committed is the offset every record before which was acknowledged by Danube, contiguously.
	committed int
	grew      chan struct{} // closed and replaced when recs grows or ended is set
	ended     bool          // Read returns ErrEndOfInput once everything was read
	broken    bool          // Read fails with a retryable error
	settled   []error       // what each batch was settled with, in order
	connects  int
	// hooks, called without the lock; an error is returned from the call (they may panic).
	newErr  func(n int) error // the factory's n-th call (1-based)
	readErr func() error
	ackErr  func(err error) error
	news    int
}

func newUpstream(t testing.TB) *upstream {
	u := &upstream{name: "up-" + strconv.FormatInt(storeSeq.Add(1), 10), grew: make(chan struct{})}
	stores.Store(u.name, u)
	t.Cleanup(func() { stores.Delete(u.name) })
	return u
}

// emit appends records with these payloads.
func (u *upstream) emit(payloads ...string) {
	u.mu.Lock()
	for _, p := range payloads {
		u.recs = append(u.recs, connectors.Record{Payload: []byte(p)})
	}
	close(u.grew)
	u.grew = make(chan struct{})
	u.mu.Unlock()
}

func (u *upstream) emitRecords(recs ...connectors.Record) {
	u.mu.Lock()
	u.recs = append(u.recs, recs...)
	close(u.grew)
	u.grew = make(chan struct{})
	u.mu.Unlock()
}

func (u *upstream) end() {
	u.mu.Lock()
	u.ended = true
	close(u.grew)
	u.grew = make(chan struct{})
	u.mu.Unlock()
}

func (u *upstream) setBroken(b bool) {
	u.mu.Lock()
	u.broken = b
	u.mu.Unlock()
}

func (u *upstream) committedOffset() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.committed
}

func (u *upstream) settlements() []error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]error(nil), u.settled...)
}

// memSource reads an upstream from its committed offset.
type memSource struct {
	up    *upstream
	batch int
	pos   int // guarded by up.mu
}

func (s *memSource) Connect(context.Context) error {
	s.up.mu.Lock()
	defer s.up.mu.Unlock()
	s.up.connects++
	s.pos = s.up.committed
	return nil
}

func (s *memSource) Read(ctx context.Context) ([]connectors.Record, connectors.AckFunc, error) {
	u := s.up
	if u.readErr != nil {
		if err := u.readErr(); err != nil {
			return nil, nil, err
		}
	}
	for {
		u.mu.Lock()
		if u.broken {
			u.mu.Unlock()
			select {
			case <-time.After(5 * time.Millisecond):
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
			return nil, nil, connectors.Retryable(errors.New("upstream is broken"))
		}
		if s.pos < len(u.recs) {
			start, end := s.pos, min(s.pos+s.batch, len(u.recs))
			recs := append([]connectors.Record(nil), u.recs[start:end]...)
			s.pos = end
			u.mu.Unlock()
			return recs, func(ctx context.Context, err error) error { return s.settle(start, end, err) }, nil
		}
		if u.ended {
			u.mu.Unlock()
			return nil, nil, connectors.ErrEndOfInput
		}
		grew := u.grew
		u.mu.Unlock()
		select {
		case <-grew:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

// settle commits a batch only when it directly follows the committed offset; after a failure it rewinds,
// so that the failed records (and those after them) are read again.
func (s *memSource) settle(start, end int, err error) error {
	u := s.up
	if u.ackErr != nil {
		if aerr := u.ackErr(err); aerr != nil {
			return aerr
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.settled = append(u.settled, err)
	switch {
	case err != nil && connectors.KindOf(err) != connectors.KindInvalidData:
		s.pos = u.committed
	case start == u.committed:
		u.committed = end
	}
	return nil
}

func (s *memSource) Close(context.Context) error { return nil }

// downstream is the outside system of memsink.
type downstream struct {
	name     string
	mu       sync.Mutex
	got      []string       // payloads written, in order, duplicates included
	attempts map[string]int // writes tried per payload
	writes   int
	broken   bool
	failNext int   // the next failNext writes fail with failErr
	failErr  error // default: a retryable error
	gate     chan struct{}
	inWrite  chan struct{} // receives when a Write starts (cap 1)
	health   error
	// perMsg fails single messages: nil means written.
	perMsg func(payload string, attempt int) error
	// hooks, called without the lock.
	newErr     func(n int) error
	connectErr func(n int) error
	writeHook  func(batch []*client.Message) error
	news       int
	connects   int
	maxBatch   int
}

func newDownstream(t testing.TB) *downstream {
	d := &downstream{name: "down-" + strconv.FormatInt(storeSeq.Add(1), 10), attempts: map[string]int{}, inWrite: make(chan struct{}, 1)}
	stores.Store(d.name, d)
	t.Cleanup(func() { stores.Delete(d.name) })
	return d
}

func (d *downstream) payloads() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.got...)
}

// count returns how often each payload was written.
func (d *downstream) count() map[string]int {
	out := map[string]int{}
	for _, p := range d.payloads() {
		out[p]++
	}
	return out
}

// attemptsOf returns how many times p was given to Write.
func (d *downstream) attemptsOf(p string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.attempts[p]
}

func (d *downstream) set(f func(d *downstream)) {
	d.mu.Lock()
	f(d)
	d.mu.Unlock()
}

type memSink struct{ d *downstream }

func (k *memSink) Connect(context.Context) error {
	d := k.d
	d.mu.Lock()
	d.connects++
	n, hook := d.connects, d.connectErr
	d.mu.Unlock()
	if hook != nil {
		return hook(n)
	}
	return nil
}

func (k *memSink) Write(ctx context.Context, batch []*client.Message) error {
	d := k.d
	d.mu.Lock()
	d.writes++
	d.maxBatch = max(d.maxBatch, len(batch))
	gate, hook := d.gate, d.writeHook
	d.mu.Unlock()
	select {
	case d.inWrite <- struct{}{}:
	default:
	}
	if hook != nil {
		if err := hook(batch); err != nil {
			return err
		}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.broken {
		return connectors.Retryable(errors.New("downstream is broken"))
	}
	if d.failNext > 0 {
		d.failNext--
		if d.failErr != nil {
			return d.failErr
		}
		return errors.New("downstream hiccup") // no kind: retryable
	}
	be := &connectors.BatchError{}
	for i, m := range batch {
		p := string(m.Payload)
		d.attempts[p]++
		if d.perMsg != nil {
			if err := d.perMsg(p, d.attempts[p]); err != nil {
				be.Fail(i, err)
				continue
			}
		}
		d.got = append(d.got, p)
	}
	if len(be.Failed) > 0 {
		return be
	}
	return nil
}

func (k *memSink) Health(context.Context) error {
	k.d.mu.Lock()
	defer k.d.mu.Unlock()
	return k.d.health
}

func (k *memSink) Close(context.Context) error { return nil }

// testEnv returns a registry with memsource and memsink.
func testEnv(t testing.TB) *connectors.Env {
	t.Helper()
	env := connectors.NewEnv()
	spec := connectors.Spec{Summary: "test connector", Fields: []connectors.Field{
		{Name: "store", Type: connectors.TypeString, Required: true, Doc: "the outside system's name"},
		{Name: "read_batch", Type: connectors.TypeInt, Default: int64(10), Min: 1, Max: 10000, Doc: "records per Read"},
	}}
	err := env.RegisterSource("memsource", spec, func(cfg connectors.Config, _ connectors.Resources) (connectors.Source, error) {
		v, ok := stores.Load(cfg.String("store"))
		if !ok {
			return nil, connectors.ConfigError(fmt.Errorf("no upstream %q", cfg.String("store")))
		}
		u := v.(*upstream)
		u.mu.Lock()
		u.news++
		n, hook := u.news, u.newErr
		u.mu.Unlock()
		if hook != nil {
			if err := hook(n); err != nil {
				return nil, err
			}
		}
		return &memSource{up: u, batch: int(cfg.Int("read_batch"))}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = env.RegisterSink("memsink", connectors.Spec{Summary: "test sink", Fields: spec.Fields[:1]},
		func(cfg connectors.Config, _ connectors.Resources) (connectors.Sink, error) {
			v, ok := stores.Load(cfg.String("store"))
			if !ok {
				return nil, connectors.ConfigError(fmt.Errorf("no downstream %q", cfg.String("store")))
			}
			d := v.(*downstream)
			d.mu.Lock()
			d.news++
			n, hook := d.news, d.newErr
			d.mu.Unlock()
			if hook != nil {
				if err := hook(n); err != nil {
					return nil, err
				}
			}
			return &memSink{d: d}, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return env
}

// fastPolicy redelivers quickly and never poisons a message within a test.
func fastPolicy() broker.FailurePolicy {
	return broker.FailurePolicy{MaxRedeliveryCount: 1000, AckTimeout: 3 * time.Second, BaseRedeliveryDelay: 20 * time.Millisecond,
		MaxRedeliveryDelay: 500 * time.Millisecond, Backoff: broker.BackoffExponential, Poison: broker.PoisonBlock}
}

// startBroker runs a broker (fast failure policy unless opts has one) and a client of it.
func startBroker(t testing.TB, opts broker.Options) (*broker.Server, *client.Client) {
	t.Helper()
	if opts.FailurePolicy == (broker.FailurePolicy{}) {
		opts.FailurePolicy = fastPolicy()
	}
	if opts.AdminPort == 0 {
		opts.AdminPort = -1
	}
	srv := brokertest.Run(t, opts)
	c, err := client.Connect(context.Background(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return srv, c
}

// newRuntime returns a runtime with short backoffs, closed when the test ends.
// setup starts a broker with bo and a client of it, and returns them with the test connectors' Env and a
// runtime with ro (all closed when the test ends).
func setup(t testing.TB, bo broker.Options, ro connectors.RuntimeOptions) (*broker.Server, *client.Client, *connectors.Env, *connectors.Runtime) {
	t.Helper()
	srv, c := startBroker(t, bo)
	env := testEnv(t)
	return srv, c, env, newRuntime(t, c, env, ro)
}

func newRuntime(t testing.TB, c *client.Client, env *connectors.Env, opts connectors.RuntimeOptions) *connectors.Runtime {
	t.Helper()
	if opts.RestartBackoff == 0 {
		opts.RestartBackoff = 20 * time.Millisecond
	}
	if opts.MaxRestartBackoff == 0 {
		opts.MaxRestartBackoff = 500 * time.Millisecond
	}
	if opts.SampleInterval == 0 {
		opts.SampleInterval = 50 * time.Millisecond
	}
	rt := connectors.NewRuntime(c, env, opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := rt.Close(ctx); err != nil {
			t.Errorf("Runtime.Close: %v", err)
		}
	})
	return rt
}

// add parses a connector table (with fast retries unless given) and adds it.
func add(t testing.TB, rt *connectors.Runtime, env *connectors.Env, table map[string]any) connectors.InstanceConfig {
	t.Helper()
	if _, ok := table["retry"]; !ok {
		retry := map[string]any{"base_backoff": "10ms", "max_backoff": "100ms"}
		if info, _ := env.Lookup(table["kind"].(string)); info.Role == connectors.RoleSink {
			retry["nack_delay"] = "50ms"
		}
		table["retry"] = retry
	}
	cfg, err := env.ParseInstance(table, nil)
	if err != nil {
		t.Fatalf("ParseInstance: %v", err)
	}
	if err := rt.Add(cfg); err != nil {
		t.Fatalf("Add: %v", err)
	}
	return cfg
}

// createTopic makes a reliable topic exist and returns a producer of it.
func createTopic(t testing.TB, c *client.Client, topic string) *client.Producer {
	t.Helper()
	p, err := c.NewProducer(context.Background(), client.ProducerConfig{Topic: topic, Name: "test-feed-" + strconv.FormatInt(storeSeq.Add(1), 10), Dispatch: client.Reliable})
	if err != nil {
		t.Fatalf("creating %s: %v", topic, err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func publish(t testing.TB, p *client.Producer, payloads ...string) {
	t.Helper()
	for _, s := range payloads {
		if _, err := p.Send(context.Background(), []byte(s)); err != nil {
			t.Fatalf("publishing %q: %v", s, err)
		}
	}
}

// received collects what a subscription of a topic receives (acking everything).
type received struct {
	mu   sync.Mutex
	msgs []*client.Message
}

func (r *received) payloads() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.msgs))
	for i, m := range r.msgs {
		out[i] = string(m.Payload)
	}
	return out
}

func (r *received) all() []*client.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*client.Message(nil), r.msgs...)
}

func subscribe(t testing.TB, c *client.Client, topic, sub string) *received {
	t.Helper()
	cons, err := c.Subscribe(context.Background(), client.ConsumerConfig{Topic: topic, Subscription: sub, Name: sub})
	if err != nil {
		t.Fatalf("subscribing to %s: %v", topic, err)
	}
	r := &received{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range cons.Messages() {
			r.mu.Lock()
			r.msgs = append(r.msgs, m)
			r.mu.Unlock()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = m.Ack(ctx)
			cancel()
		}
	}()
	t.Cleanup(func() {
		cons.Close(context.Background())
		<-done
	})
	return r
}

// startRunning starts an instance and waits until it runs (a sink then has its subscription, which starts
// at the latest offset: only what is published after it is delivered).
func startRunning(t testing.TB, rt *connectors.Runtime, name string) {
	t.Helper()
	if err := rt.Start(name); err != nil {
		t.Fatal(err)
	}
	waitState(t, rt, name, connectors.StateRunning)
}

func waitState(t testing.TB, rt *connectors.Runtime, name string, want connectors.State) connectors.InstanceStatus {
	t.Helper()
	var st connectors.InstanceStatus
	testenv.Eventually(t, 10*time.Second, func() bool {
		st, _ = rt.Status(name)
		return st.State == want
	}, "%s %v: last status %+v", name, want, &st)
	return st
}

// seq returns prefix-0 … prefix-(n-1).
func seq(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = prefix + "-" + strconv.Itoa(i)
	}
	return out
}

// missing lists the wanted payloads not in got.
func missing(want []string, got []string) []string {
	have := map[string]bool{}
	for _, g := range got {
		have[g] = true
	}
	var out []string
	for _, w := range want {
		if !have[w] {
			out = append(out, w)
		}
	}
	return out
}

func stopCtx(t testing.TB, rt *connectors.Runtime, name string, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return rt.Stop(ctx, name)
}

// reason adapts a condition that also says why it does not hold yet to testenv.Eventually: pass why.of(cond)
// as the condition and &why as the message's argument, and a wait that times out prints the last reason.
type reason struct{ last string }

func (r *reason) of(cond func() (bool, string)) func() bool {
	return func() bool {
		ok, why := cond()
		r.last = why
		return ok
	}
}

func (r *reason) String() string { return r.last }

// waitDelivery waits until cond holds for the messages of a reliable topic that its subscriptions have
// delivered and not yet seen acknowledged (inFlight) and those waiting for a consumer or a redelivery.
func waitDelivery(t testing.TB, srv *broker.Server, topic, what string, cond func(inFlight, waiting int) bool) {
	t.Helper()
	var info broker.TopicInfo
	testenv.Eventually(t, 10*time.Second, func() bool {
		info, _ = srv.Topic(topic)
		inFlight, waiting := 0, 0
		for _, s := range info.Subscriptions {
			inFlight += s.InFlight
			waiting += s.Waiting
		}
		return cond(inFlight, waiting)
	}, "%s on %s: %+v", what, topic, &info)
}
