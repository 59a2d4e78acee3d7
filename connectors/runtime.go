package connectors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/danube-console/danube-console/client"
)

// Runtime errors. Their texts have no package prefix: the console shows them to the user as they are.
var (
	// ErrUnknownInstance: no instance has that name.
	ErrUnknownInstance = errors.New("no such connector")
	// ErrDuplicateInstance: an instance with that name was already added.
	ErrDuplicateInstance = errors.New("a connector with that name exists")
	// ErrRuntimeClosed: the runtime was closed.
	ErrRuntimeClosed = errors.New("the connector runtime is closed")
	// ErrDrainTimeout: Stop's context ended before the instance drained; what was not settled will be
	// delivered again (at least once).
	ErrDrainTimeout = errors.New("drain timed out")
	// ErrAbandoned: after the drain timed out, the connector still did not return from a call within
	// RuntimeOptions.AbandonAfter (it ignores its context); its goroutine is left behind.
	ErrAbandoned = errors.New("the connector did not stop; abandoned")
	// ErrNotConnected, returned by Read or Write (wrapped or not), makes the runtime call Connect again (with
	// backoff) before the next Read or Write.
	ErrNotConnected = errors.New("not connected")
)

// State is where an instance is in its life.
type State int

// States.
const (
	// StateStopped: not running (never started, or stopped).
	StateStopped State = iota
	// StateStarting: connecting to the outside system and to Danube (retrying transient failures).
	StateStarting
	// StateRunning: moving data.
	StateRunning
	// StateDegraded: running, but its health check fails or deliveries are being retried.
	StateDegraded
	// StateFailed: it failed; InstanceStatus.NextRestart says when it restarts (zero: it does not, e.g. a
	// configuration error).
	StateFailed
	// StateStopping: draining after Stop.
	StateStopping
	// StateCompleted: a source reached the end of its input and everything it read was settled.
	StateCompleted
)

var allStates = []State{StateStopped, StateStarting, StateRunning, StateDegraded, StateFailed, StateStopping, StateCompleted}

func (s State) String() string {
	switch s {
	case StateStopped:
		return "stopped"
	case StateStarting:
		return "starting"
	case StateRunning:
		return "running"
	case StateDegraded:
		return "degraded"
	case StateFailed:
		return "failed"
	case StateStopping:
		return "stopping"
	case StateCompleted:
		return "completed"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// RuntimeOptions configure a Runtime; zero values take the defaults.
type RuntimeOptions struct {
	// Logger receives the runtime's and the connectors' logs (nil: discarded).
	Logger *slog.Logger
	// Clock is the time source for timestamps (default time.Now); timers use real time.
	Clock func() time.Time
	// HealthInterval is how often a HealthChecker is asked, and how long it may take (default 5 s).
	HealthInterval time.Duration
	// RestartBackoff is the wait before the first restart after a crash; it doubles with each consecutive
	// failure, with jitter, up to MaxRestartBackoff (defaults 500 ms and 1 min). An instance that ran for
	// MaxRestartBackoff starts again from RestartBackoff.
	RestartBackoff    time.Duration
	MaxRestartBackoff time.Duration
	// MaxInFlight bounds the records a source has published and Danube has not yet acknowledged (default
	// 1000); when it is reached the source is not read until acknowledgements come back.
	MaxInFlight int
	// AckTimeout bounds a source's AckFunc call and a sink's Danube ack (default 30 s).
	AckTimeout time.Duration
	// AbandonAfter is how long Stop waits, after its context ended and everything was cancelled, for a
	// connector that does not return (default 10 s); Stop then returns ErrAbandoned.
	AbandonAfter time.Duration
	// SampleInterval is how often throughput is computed and EventMetrics published (default 1 s).
	SampleInterval time.Duration
	// EventBuffer is how many droppable events a subscriber may have queued (default 1024).
	EventBuffer int
	// AckWorkers is how many Danube acks and nacks a sink keeps in flight at once: its consumer's ack window
	// (default 16, at most client.MaxAckWindow).
	AckWorkers int
}

func (o RuntimeOptions) withDefaults() RuntimeOptions {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.HealthInterval, 5*time.Second)
	def(&o.RestartBackoff, 500*time.Millisecond)
	def(&o.MaxRestartBackoff, time.Minute)
	def(&o.AckTimeout, 30*time.Second)
	def(&o.AbandonAfter, 10*time.Second)
	def(&o.SampleInterval, time.Second)
	o.MaxRestartBackoff = max(o.MaxRestartBackoff, o.RestartBackoff)
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 1000
	}
	if o.EventBuffer <= 0 {
		o.EventBuffer = defaultEventBuffer
	}
	if o.AckWorkers <= 0 {
		o.AckWorkers = 16
	}
	if o.AckWorkers > client.MaxAckWindow {
		o.AckWorkers = client.MaxAckWindow
	}
	return o
}

// InstanceStatus is a snapshot of one instance.
type InstanceStatus struct {
	Name      string
	Kind      string
	Role      Role
	Topic     string
	Autostart bool
	// State is the current state, entered at Since.
	State State
	Since time.Time
	// Received counts messages read from the outside system (sources) or from Danube (sinks); Processed
	// those published and acknowledged by Danube (sources) or written (sinks).
	Received  uint64
	Processed uint64
	// Failed counts messages that failed for good, by error kind.
	Failed map[Kind]uint64
	// Retried counts publishes or deliveries tried again.
	Retried uint64
	// InFlight counts records published and not yet acknowledged by Danube (sources), or messages received
	// and not yet acked or nacked (sinks).
	InFlight int64
	// Batches counts batches written (sinks) or settled (sources); LastBatchSize is the last one's size.
	Batches       uint64
	LastBatchSize int
	// BatchLatencyP50 and P99 estimate the time to write a batch (sinks) or from reading a batch to settling
	// it (sources).
	BatchLatencyP50 time.Duration
	BatchLatencyP99 time.Duration
	// Throughput is processed messages per second over the last sample interval.
	Throughput float64
	// LastError is the last error reported, of kind LastErrorKind, at LastErrorAt (zero: none).
	LastError     string
	LastErrorKind Kind
	LastErrorAt   time.Time
	// Restarts counts restarts after failures; NextRestart is when the next one is due (zero: none).
	Restarts    uint64
	NextRestart time.Time
	// Topics breaks the counters down by topic when a source published to topics other than Topic.
	Topics []TopicStatus
	// Origin is where the configuration comes from ("file:line"; empty when built in code).
	Origin string
	// Settings are the instance's subscription or publishing settings followed by its kind's settings,
	// secrets masked (Config.Display). The slice is shared between snapshots: do not modify it.
	Settings []Setting
}

// TopicStatus are an instance's counters for one topic.
type TopicStatus struct {
	Topic     string
	Received  uint64
	Processed uint64
	Retried   uint64
	Failed    map[Kind]uint64
}

// Runtime runs connector instances, each under its own supervisor. It talks to Danube only through the
// client it was given, which it does not close. All methods are safe for concurrent use.
type Runtime struct {
	c    *client.Client
	env  *Env
	opts RuntimeOptions
	log  *slog.Logger
	hub  *hub

	ctx    context.Context // the runtime's lifetime: ends the sampler
	cancel context.CancelFunc
	wg     sync.WaitGroup // the sampler and every supervisor

	mu        sync.Mutex
	instances map[string]*instance
	order     []string
	closed    bool
}

// NewRuntime returns a runtime with no instances that creates connectors from env and reaches Danube
// through c. Its sampler goroutine runs until Close.
func NewRuntime(c *client.Client, env *Env, opts RuntimeOptions) *Runtime {
	opts = opts.withDefaults()
	rt := &Runtime{c: c, env: env, opts: opts, log: opts.Logger, hub: newHub(opts.EventBuffer), instances: make(map[string]*instance)}
	rt.ctx, rt.cancel = context.WithCancel(context.Background())
	rt.wg.Go(rt.sampler)
	return rt
}

// Add registers an instance, Stopped. The configuration is checked again (a hand-built InstanceConfig
// gets the defaults of what it leaves zero, and its kind's default settings when Settings was not parsed);
// a problem is a *ConfigErrors. A name already taken is ErrDuplicateInstance.
func (rt *Runtime) Add(cfg InstanceConfig) error {
	cfg, err := rt.check(cfg)
	if err != nil {
		return err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return ErrRuntimeClosed
	}
	if _, dup := rt.instances[cfg.Name]; dup {
		return fmt.Errorf("%w: %q", ErrDuplicateInstance, cfg.Name)
	}
	i := &instance{rt: rt, cfg: cfg, m: newInstanceMetrics(cfg.Topic), state: StateStopped, since: rt.opts.Clock(),
		settings: displaySettings(cfg)}
	if cfg.File != "" {
		i.origin = fmt.Sprintf("%s:%d", cfg.File, cfg.Line)
	}
	i.errLog = rate.Sometimes{First: 3, Interval: time.Second}
	i.resources = Resources{Name: cfg.Name, Logger: rt.log.With("connector", cfg.Name, "kind", cfg.Kind), Now: rt.opts.Clock}
	rt.instances[cfg.Name] = i
	rt.order = append(rt.order, cfg.Name)
	st := i.status()
	rt.hub.publish(Event{Type: EventAdded, Time: rt.opts.Clock(), Name: cfg.Name, Kind: cfg.Kind, Role: cfg.Role, State: StateStopped, Status: &st})
	return nil
}

// displaySettings lists what an instance was configured with, for InstanceStatus.Settings.
func displaySettings(cfg InstanceConfig) []Setting {
	var out []Setting
	add := func(k, v string) { out = append(out, Setting{Key: k, Value: v}) }
	if cfg.Role == RoleSink {
		add("subscription", cfg.Subscription+" ("+cfg.SubscriptionType.String()+")")
		if cfg.CreateTopic != "" && cfg.CreateTopic != CreateNo {
			add("create_topic", cfg.CreateTopic)
		}
	} else {
		add("reliable", strconv.FormatBool(cfg.Reliable))
		if cfg.Partitions > 0 {
			add("partitions", strconv.Itoa(cfg.Partitions))
		}
	}
	if cfg.RateLimit > 0 {
		add("rate_limit", strconv.FormatFloat(cfg.RateLimit, 'f', -1, 64)+"/s")
	}
	return append(out, cfg.Settings.Display()...)
}

// check validates a configuration for Add and fills in what it leaves zero.
func (rt *Runtime) check(cfg InstanceConfig) (InstanceConfig, error) {
	var probs []Problem
	bad := func(key, msg string) {
		probs = append(probs, Problem{File: cfg.File, Line: cfg.Line, Connector: cfg.Name, Key: key, Msg: msg})
	}
	if !namePattern.MatchString(cfg.Name) {
		bad("name", fmt.Sprintf("%q: use letters, digits, '.', '_' and '-', starting with a letter or digit", cfg.Name))
	}
	if err := checkTopic(cfg.Topic); err != nil {
		bad("topic", err.Error())
	}
	info, ok := rt.env.Lookup(cfg.Kind)
	switch {
	case !ok:
		bad("kind", fmt.Sprintf("unknown kind %q", cfg.Kind))
	case cfg.Role != "" && cfg.Role != info.Role:
		bad("kind", fmt.Sprintf("%s is a %s, not a %s", cfg.Kind, info.Role, cfg.Role))
	default:
		cfg.Role = info.Role
		if cfg.Settings.values == nil {
			s, errs := info.Spec.Parse(nil, func(string) (string, bool) { return "", false })
			for _, fe := range errs {
				bad(fe.Key, fe.Err.Error())
			}
			cfg.Settings = s
		}
	}
	if cfg.Partitions < 0 || cfg.RateLimit < 0 || math.IsNaN(cfg.RateLimit) {
		bad("", "partitions and rate_limit must not be negative")
	}
	if cfg.Retry == (RetryConfig{}) {
		cfg.Retry = DefaultRetryConfig()
	}
	if cfg.Retry.MaxRetries < 0 || cfg.Retry.BaseBackoff <= 0 || cfg.Retry.MaxBackoff < cfg.Retry.BaseBackoff || cfg.Retry.NackDelay < 0 {
		bad("retry", "max_retries ≥ 0 and 0 < base_backoff ≤ max_backoff are needed")
	}
	if cfg.Batch == (BatchConfig{}) {
		cfg.Batch = DefaultBatchConfig()
	}
	if cfg.Batch.MaxMessages <= 0 || cfg.Batch.MaxWait <= 0 || cfg.Batch.MaxIdle < 0 {
		bad("batch", "max_messages and max_wait must be positive")
	}
	if cfg.Subscription == "" {
		cfg.Subscription = cfg.Name
	}
	if len(probs) > 0 {
		return cfg, &ConfigErrors{Problems: probs}
	}
	return cfg, nil
}

// Remove stops an instance (as Stop) and removes it.
func (rt *Runtime) Remove(ctx context.Context, name string) error {
	err := rt.Stop(ctx, name)
	if errors.Is(err, ErrUnknownInstance) || errors.Is(err, ErrAbandoned) {
		return err
	}
	rt.mu.Lock()
	i := rt.instances[name]
	delete(rt.instances, name)
	for k, n := range rt.order {
		if n == name {
			rt.order = append(rt.order[:k], rt.order[k+1:]...)
			break
		}
	}
	rt.mu.Unlock()
	if i != nil {
		rt.hub.publish(Event{Type: EventRemoved, Time: rt.opts.Clock(), Name: name, Kind: i.cfg.Kind, Role: i.cfg.Role, State: StateStopped})
	}
	return err
}

func (rt *Runtime) lookup(name string) (*instance, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return nil, ErrRuntimeClosed
	}
	i, ok := rt.instances[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownInstance, name)
	}
	return i, nil
}

// list returns the instances in the order they were added.
func (rt *Runtime) list() []*instance {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := make([]*instance, 0, len(rt.order))
	for _, n := range rt.order {
		out = append(out, rt.instances[n])
	}
	return out
}

// Start starts an instance under its supervisor and returns at once; the instance goes Starting, then
// Running. Starting a running (or starting, or stopping) instance does nothing.
func (rt *Runtime) Start(name string) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.closed {
		return ErrRuntimeClosed
	}
	i, ok := rt.instances[name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownInstance, name)
	}
	i.start() // under rt.mu, so that Close cannot miss it
	return nil
}

// sinkSubscribeWait bounds how long StartSet waits for the sinks' subscriptions before it starts the
// sources.
const sinkSubscribeWait = 5 * time.Second

// StartAutostart starts every instance whose Autostart is set, in StartSet's order.
func (rt *Runtime) StartAutostart() error {
	var names []string
	for _, i := range rt.list() {
		if i.cfg.Autostart {
			names = append(names, i.cfg.Name)
		}
	}
	return rt.StartSet(names...)
}

// StartSet starts the named instances: the sinks first, then, once each has left Starting (it has
// subscribed) or after a few seconds, the sources. A new subscription starts at the latest offset, so a
// sink that subscribed after a source of the same set began publishing would miss the first records.
// Unknown names are errors matching ErrUnknownInstance; the others are started all the same.
func (rt *Runtime) StartSet(names ...string) error {
	events, unsubscribe := rt.Subscribe()
	defer unsubscribe()
	var errs []error
	var sources []string
	waiting := map[string]bool{}
	for _, n := range names {
		i, err := rt.lookup(n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if i.cfg.Role == RoleSource {
			sources = append(sources, n)
			continue
		}
		if err := rt.Start(n); err != nil {
			errs = append(errs, err)
			continue
		}
		waiting[n] = true
	}
	// The state events of the sinks started above are all queued after the subscription.
	for n := range waiting {
		if i, err := rt.lookup(n); err != nil || i.currentState() != StateStarting {
			delete(waiting, n)
		}
	}
	timeout := time.NewTimer(sinkSubscribeWait)
	defer timeout.Stop()
	for len(waiting) > 0 {
		select {
		case ev, ok := <-events:
			if !ok {
				return errors.Join(append(errs, ErrRuntimeClosed)...)
			}
			if ev.Type == EventState && ev.State != StateStarting {
				delete(waiting, ev.Name)
			}
		case <-timeout.C:
			clear(waiting)
		}
	}
	for _, n := range sources {
		errs = append(errs, rt.Start(n))
	}
	return errors.Join(errs...)
}

// Stop stops an instance and drains it: a source stops reading and waits until Danube acknowledged what
// it published and its batches are settled; a sink writes its pending batch and waits for its acks. ctx
// bounds the drain: when it ends, everything is cancelled (what was not settled will be delivered again)
// and Stop returns an error matching ErrDrainTimeout (or ErrAbandoned when the connector does not return
// even then). Stopping a stopped instance does nothing; a Failed one becomes Stopped.
func (rt *Runtime) Stop(ctx context.Context, name string) error {
	i, err := rt.lookup(name)
	if err != nil {
		return err
	}
	return i.stop(ctx)
}

// Restart stops an instance (as Stop, draining within ctx) and starts it again.
func (rt *Runtime) Restart(ctx context.Context, name string) error {
	i, err := rt.lookup(name)
	if err != nil {
		return err
	}
	if err := i.stop(ctx); errors.Is(err, ErrAbandoned) {
		return err
	}
	return rt.Start(name)
}

// Status returns a snapshot of an instance, and whether it exists.
func (rt *Runtime) Status(name string) (InstanceStatus, bool) {
	rt.mu.Lock()
	i, ok := rt.instances[name]
	rt.mu.Unlock()
	if !ok {
		return InstanceStatus{}, false
	}
	return i.status(), true
}

// Snapshot returns a snapshot of every instance, in the order they were added.
func (rt *Runtime) Snapshot() []InstanceStatus {
	list := rt.list()
	out := make([]InstanceStatus, len(list))
	for k, i := range list {
		out[k] = i.status()
	}
	return out
}

// Subscribe returns a channel of the runtime's events and a function that ends the subscription (and
// closes the channel). The runtime never waits for a subscriber: each has a queue where state, added and
// removed events are always kept, and error and metrics events beyond RuntimeOptions.EventBuffer are
// dropped oldest first (counted in danube_connector_events_dropped_total). Close ends every subscription.
func (rt *Runtime) Subscribe() (<-chan Event, func()) { return rt.hub.subscribe() }

// Collector returns a Prometheus collector of the danube_connector_* series of every instance, labelled
// connector, kind and topic.
func (rt *Runtime) Collector() prometheus.Collector { return collector{rt: rt} }

// Close stops every instance (as Stop, all at once, draining within ctx), ends the subscriptions and the
// runtime's goroutines. The runtime cannot be used afterwards. It returns the instances' Stop errors.
func (rt *Runtime) Close(ctx context.Context) error {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return nil
	}
	rt.closed = true
	list := make([]*instance, 0, len(rt.instances))
	for _, n := range rt.order {
		list = append(list, rt.instances[n])
	}
	rt.mu.Unlock()
	errs := make([]error, len(list))
	var wg sync.WaitGroup
	for k, i := range list {
		wg.Go(func() {
			if err := i.stop(ctx); err != nil {
				errs[k] = fmt.Errorf("%s: %w", i.cfg.Name, err)
			}
		})
	}
	wg.Wait()
	rt.cancel()
	abandoned := false
	for _, err := range errs {
		abandoned = abandoned || errors.Is(err, ErrAbandoned)
	}
	if !abandoned {
		rt.wg.Wait()
	}
	rt.hub.close()
	return errors.Join(errs...)
}

// sampler computes throughputs and publishes metrics events until the runtime closes.
func (rt *Runtime) sampler() {
	t := time.NewTicker(rt.opts.SampleInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-rt.ctx.Done():
			return
		}
		now := time.Now()
		active := rt.hub.active()
		for _, i := range rt.list() {
			i.m.sample(now)
			if active {
				st := i.status()
				rt.hub.publish(Event{Type: EventMetrics, Time: rt.opts.Clock(), Name: st.Name, Kind: st.Kind, Role: st.Role, State: st.State, Status: &st})
			}
		}
	}
}
