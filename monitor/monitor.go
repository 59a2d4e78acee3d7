package monitor

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
)

// Errors of the actions; match them with errors.Is (they come wrapped with what failed). Their texts have no
// package prefix: the console shows them to the user as they are, after what failed.
var (
	// ErrReadOnly: the monitor was created ReadOnly, and the action would change state.
	ErrReadOnly = errors.New("read-only: actions that change state are disabled")
	// ErrExists: an ad-hoc producer or consumer with that name is running.
	ErrExists = errors.New("an ad-hoc producer or consumer with that name exists")
	// ErrNotFound: no ad-hoc producer or consumer has that name.
	ErrNotFound = errors.New("no ad-hoc producer or consumer with that name")
	// ErrInvalidSpec: a ProducerSpec or ConsumerSpec cannot be used (bad rate, payload template, ...).
	ErrInvalidSpec = errors.New("invalid spec")
	// ErrNoClient: no Danube client is attached (see Monitor.Attach).
	ErrNoClient = errors.New("no Danube client attached")
	// ErrNoAdmin: no admin client is attached (see Monitor.Attach).
	ErrNoAdmin = errors.New("no admin client attached")
	// ErrNoRuntime: no connector runtime is attached (see Monitor.Attach).
	ErrNoRuntime = errors.New("no connector runtime attached")
	// ErrClosed: the monitor was closed.
	ErrClosed = errors.New("the monitor is closed")
	// ErrNotPending: Ack or Nack named messages that are not waiting to be settled (already settled, not of a
	// manual-ack consumer, or unknown).
	ErrNotPending = errors.New("messages not pending")
)

// Defaults of Options.
const (
	// DefaultRingSize is how many recent messages a consumer stream keeps when Options.RingSize is 0.
	DefaultRingSize = 1000
	// DefaultMaxRingBytes bounds the payload bytes a consumer stream keeps when Options.MaxRingBytes is 0.
	DefaultMaxRingBytes = 8 << 20
	// MaxPending is how many messages a manual-ack consumer (ConsumerSpec.ManualAck) keeps pending before it
	// stops taking more from the client: the client's receive buffer then fills and it stops reading from
	// the broker, which holds the rest. A pending message is never dropped: the count can exceed MaxPending
	// by what the client had buffered. A monitor whose RingSize is smaller uses RingSize, so that pending
	// messages stay in view to be settled.
	MaxPending = 10000
)

const (
	// reachableFor is how long a successful answer from the broker counts as evidence it is reachable, unless
	// a ping failed since: over two of the console's refreshes, each of which pings.
	reachableFor = 12 * time.Second
	// maxLookups is how many console lookups Snapshot.Lookups keeps.
	maxLookups = 20
	// maxClosed is how many closed or failed producers, and as many consumer streams, are kept for display;
	// older ones are forgotten (their counts stay in the totals).
	maxClosed = 128
	// UnknownConsumer names the stream of a subscription that received messages before any of this
	// process's consumers of it was seen.
	UnknownConsumer = "?"
	// SharedConsumers names the stream that receives a subscription's messages while several consumers of
	// this process are subscribed to it on the same topic (or partition): the client's ReceiveEvent does not
	// say which consumer received a message, so they cannot be told apart.
	SharedConsumers = "*"
)

// Options configure a Monitor.
type Options struct {
	// ServiceURL and AdminURL are shown in Snapshot (AdminURL "" when there is no admin API).
	ServiceURL string
	AdminURL   string
	// Embedded says the console started the broker itself.
	Embedded bool
	// ReadOnly disables the actions that change state: they return ErrReadOnly.
	ReadOnly bool
	// Clock is the time source of series, histogram windows and timestamps (default time.Now). Tests use a
	// fixed clock to make series deterministic.
	Clock func() time.Time
	// RingSize is how many recent messages each consumer stream keeps (default DefaultRingSize).
	RingSize int
	// MaxRingBytes bounds the payload bytes each consumer stream keeps (default DefaultMaxRingBytes); the
	// newest message is always kept.
	MaxRingBytes int
	// Logger receives the monitor's logs (nil: discarded).
	Logger *slog.Logger
	// AuditLog receives a JSON object per line for every message Ack or Nack settled or tried to (nil: none):
	// {"time", "action" ("ack" or "nack"), "topic", "subscription", "consumer", "offset", "seq", and for a
	// nack "delay_ms" and "reason"; "error" when the call failed}. Writes are serialized; the monitor never
	// closes it.
	AuditLog io.Writer
	// MetricsURLs are the brokers' Prometheus endpoints to scrape, one per broker (host:port, as ListBrokers
	// gives them, or a URL; no path means /metrics). Each is polled by its own goroutine until Close, and
	// what they say is Snapshot.Cluster; its rates use Clock's time of each answer. None: Cluster stays
	// empty.
	MetricsURLs []string
	// MetricsInterval is how often each endpoint is scraped (default DefaultMetricsInterval); MetricsTimeout
	// bounds one scrape (default the interval, at most 5 s).
	MetricsInterval, MetricsTimeout time.Duration
	// DiscoverMetrics scrapes every broker's metrics address as ListBrokers gives it (a 0.0.0.0, :: or empty
	// host replaced by the admin URL's host), following brokers as they join and leave the cluster at each
	// Refresh. MetricsURLs, when given, win: discovery is then off.
	DiscoverMetrics bool
	// Identity is the principal the console connects as ("" without a token), shown in
	// Snapshot.Cluster.Admin.Identity.
	Identity string
	// PrometheusURL is a Prometheus server scraping the brokers ("http://host:9090"; "" for none), polled
	// every PrometheusInterval (default DefaultPrometheusInterval) by a goroutine of the monitor until Close:
	// its state is the last of Snapshot.Cluster.Sources, its range queries give TopicHistory what the
	// console's own samples do not have, and without MetricsURLs its answers are Cluster's rows (see prom.go).
	PrometheusURL      string
	PrometheusInterval time.Duration
}

// Monitor aggregates the client's and the connector runtime's events into the state the console shows, and
// carries out the console's actions. Create it with New before the client (pass it to client.WithObserver:
// it is an InlineObserver, called on the data path, whose methods never block), then Attach the client,
// the admin client and the runtime. Close stops everything it started. It is safe for concurrent use.
//
// What it keeps: per producer (topic or partition, name), per consumer stream (topic or partition,
// subscription, consumer name) and per subscription (topic or partition, subscription): counters, a
// SeriesLen-second series, latency histograms over the last one to two minutes (publish, end to end, ack),
// and per stream a ring of the last RingSize messages. The client's ReceiveEvent does not name the consumer:
// a message is counted for the only consumer of this process subscribed to its subscription on its topic,
// for the SharedConsumers stream when there are several, and for UnknownConsumer when none was seen.
//
// Totals.DroppedFromView counts messages evicted from a ring before any Messages call returned them: the
// messages the console never had a chance to show. Totals.Received minus Totals.Shown is what was evicted at
// all. Totals.ObserverDropped stays 0: the client calls the monitor inline, so it drops no events.
type Monitor struct {
	opts Options
	now  func() time.Time
	log  *slog.Logger

	idx   atomic.Pointer[index] // read lock-free on the data path; replaced (copy on write) under regMu
	regMu sync.Mutex
	taps  map[tapKey]*tap // manual-ack ad-hoc consumers, by subscription and name; guarded by regMu

	lastErr   atomic.Pointer[errAt]
	unwatched atomic.Bool                          // SetWatching(false)
	lastOK    atomic.Int64                         // Unix nanoseconds of the last successful answer (health, lookup, admin, ping)
	adminErr  atomic.Pointer[string]               // the last admin API failure of Refresh; nil after a success
	recovery  atomic.Pointer[client.StoreRecovery] // the broker's last answer with something to report
	// okSeq and failSeq order the last successful answer and the last ping no broker answered (numbers
	// from evSeq), so that the later one decides even when the clock did not move.
	evSeq, okSeq, failSeq atomic.Uint64
	prunedReceived        atomic.Uint64
	prunedDropped         atomic.Uint64
	reliable              atomic.Pointer[map[string]bool] // topics the admin API says are reliable

	mu         sync.Mutex // guards the fields below
	health     map[healthKey]*HealthStats
	conns      map[string]*ConnStats
	lookups    []LookupResult
	topics     []TopicStats
	namespaces []string
	connSeries map[string]*connSeries
	subjects   map[uint64]string // schema subjects by id (SchemaSubject)

	auditMu sync.Mutex // serializes the audit log's writes

	amu       sync.Mutex // guards the attachments and the ad-hoc producers and consumers
	c         *client.Client
	admin     *client.Admin
	rt        *connectors.Runtime
	rtStop    func()
	producers map[string]*adhoc
	consumers map[string]*adhoc
	names     map[string]int // the last number of each generated name prefix
	closed    bool

	maxPending int // MaxPending (tests lower it)

	scr   *scraper      // the metrics endpoints' scraper; nil without Options.MetricsURLs or DiscoverMetrics
	hist  *history      // the console's samples of the scraper's figures; nil without it
	prom  *promSource   // the Prometheus server; nil without Options.PrometheusURL
	probs problemRanker // Cluster.Problems, computed when a source's data changed

	// The admin source (admin.go, adminview.go): refreshMu serializes Refresh and guards its caches; src is
	// its state and view, immutable once stored; bgRefresh is 0 (idle), 1 (a background Refresh runs) or 2
	// (and another is wanted).
	refreshMu sync.Mutex
	poll      adminPoll
	src       atomic.Pointer[adminSource]
	bgRefresh atomic.Int32
	staleMu   sync.Mutex
	stale     map[string]bool // topics whose subscriptions the console changed: described at the next Refresh
	// ccMu guards cc, the Cluster last built for Snapshot, and what it was built from.
	ccMu   sync.Mutex
	cc     Cluster
	ccScr  uint64
	ccProm uint64
	ccSrc  *adminSource
	ccOK   bool

	ctx    context.Context // the monitor's lifetime
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine the monitor started
}

var (
	_ Backend               = (*Monitor)(nil)
	_ client.InlineObserver = (*Monitor)(nil)
)

// errAt is an error and when it was seen.
type errAt struct {
	err error
	at  time.Time
}

// connSeries is a connector's processed-per-second series, sampled by the monitor's ticker.
type connSeries struct {
	last   uint64
	series series
}

type healthKey struct {
	consumer    bool
	topic, name string
}

type subKey struct{ topic, sub string }

type prodKey struct{ topic, name string }

// index is the registry of producers, subscriptions and streams. It is immutable once published: changes
// copy what they change, so the data path reads it without locks.
type index struct {
	subs     map[subKey]*subState
	subList  []*subState // sorted by topic, subscription
	prods    map[prodKey]*prodState
	prodList []*prodState // sorted by topic, name
	streams  map[string]*stream
}

// prodState is one producer's (on one topic or partition) state.
type prodState struct {
	topic, name string

	mu       sync.Mutex
	id       uint64
	state    ProducerState
	adHoc    bool
	msgs     uint64
	bytes    uint64
	errors   uint64
	series   series
	byteSec  secCounter
	pub      hist
	lastErr  error
	closedAt time.Time // zero while open
}

// subState is one subscription's state on one topic or partition, with its consumer streams. Its mutex
// guards the streams' state too.
type subState struct {
	topic, name string

	mu          sync.Mutex
	streams     []*stream // sorted by name
	target      *stream   // the stream received messages are counted for; never nil
	received    uint64
	acked       uint64
	nacked      uint64
	ackErrors   uint64
	redelivered uint64
	nonZero     bool // an offset other than 0 was received: the topic is reliable
	offsets     offsetSet
	ack         hist
	// deliveries are the messages delivered and not yet acked, by offset (see delivery), with those nacked
	// and not delivered again; redeliv is the wait of the redelivered ones (first delivery to this one).
	deliveries map[uint64]delivery
	redeliv    hist
}

// stream is one consumer's state on one topic or partition, with its ring of recent messages. Its
// subscription's mutex guards it.
type stream struct {
	sub      *subState
	id, name string

	typ      SubscriptionType
	state    ConsumerState
	cid      uint64
	adHoc    bool
	received uint64
	bytes    uint64
	series   series
	e2e      hist // publish to first delivery
	redeliv  hist // first delivery to a redelivery
	ring     ring
	// unsettled counts the deliveries (of the sub's) last made to this stream and not settled yet.
	unsettled int
	lastErr   error
	closedAt  time.Time

	// A manual-ack consumer's stream: manual says new messages stay pending, ackTimeout is the
	// subscription's (0: unknown), pending the messages waiting for Ack or Nack by Seq, and pendingOff the
	// newest pending Seq of each offset (to tell when the broker redelivers a pending message).
	manual     bool
	ackTimeout time.Duration
	pending    map[uint64]*client.Message
	pendingOff map[uint64]uint64

	queries []*queryCache // Query's verdicts, by filter (at most maxQueryCaches)
	useTick uint64        // orders the queries' last uses
}

// tapKey names a manual-ack ad-hoc consumer.
type tapKey struct{ sub, name string }

// tap is a manual-ack ad-hoc consumer: registered before it subscribes, so that its streams keep its
// messages pending from the first one.
type tap struct {
	topic      string        // the consumer's topic: its streams are the topic or its partitions
	ackTimeout time.Duration // the subscription's; guarded by regMu
}

// covers reports whether topic is the tap's topic or one of its partitions.
func (t *tap) covers(topic string) bool {
	return topic == t.topic || strings.HasPrefix(topic, t.topic+"-part-")
}

// firstSeq is the Seq of the oldest kept message (received+1 when none is kept). Its sub's mutex is held.
func (st *stream) firstSeq() uint64 { return st.received - uint64(st.ring.n) + 1 }

// slot returns the ring slot of message seq, or nil when it is not kept. Its sub's mutex is held.
func (st *stream) slot(seq uint64) *ringSlot { return st.ring.bySeq(seq, st.received) }

// New returns a monitor with o and starts its once-a-second ticker; Close stops it.
func New(o Options) *Monitor {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.RingSize <= 0 {
		o.RingSize = DefaultRingSize
	}
	if o.MaxRingBytes <= 0 {
		o.MaxRingBytes = DefaultMaxRingBytes
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Monitor{
		opts: o, now: o.Clock, log: o.Logger,
		health: make(map[healthKey]*HealthStats), conns: make(map[string]*ConnStats), connSeries: make(map[string]*connSeries),
		subjects: make(map[uint64]string), taps: make(map[tapKey]*tap), maxPending: min(MaxPending, o.RingSize), // a pending message stays in view
		producers: make(map[string]*adhoc), consumers: make(map[string]*adhoc), names: make(map[string]int),
	}
	m.idx.Store(&index{subs: map[subKey]*subState{}, prods: map[prodKey]*prodState{}, streams: map[string]*stream{}})
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.wg.Go(m.ticker)
	m.initSource(nil)
	if len(o.MetricsURLs) > 0 {
		o.DiscoverMetrics = false
		m.opts.DiscoverMetrics = false
	}
	if m.scr = newScraper(o.MetricsURLs, o.DiscoverMetrics, o.MetricsInterval, o.MetricsTimeout, o.Clock); m.scr != nil {
		m.hist = newHistory(m.scr.interval)
		m.scr.hist = m.hist
		m.scr.start(m.ctx, &m.wg)
	}
	if m.prom = newPromSource(o.PrometheusURL, o.PrometheusInterval, m.scr == nil, o.Clock); m.prom != nil {
		m.prom.start(m.ctx, &m.wg)
	}
	return m
}

// Attach gives the monitor the client, admin client and connector runtime its actions use (any may be nil:
// the actions that need it then fail with ErrNoClient, ErrNoAdmin or ErrNoRuntime). It replaces what an
// earlier Attach gave. The monitor follows the runtime's events until Close or the next Attach; it never
// closes what it was given. Attach after Close does nothing.
func (m *Monitor) Attach(c *client.Client, admin *client.Admin, rt *connectors.Runtime) {
	m.amu.Lock()
	if m.closed {
		m.amu.Unlock()
		return
	}
	if c != m.c || admin != m.admin {
		// What the previous clients met says nothing of these.
		m.adminErr.Store(nil)
		m.failSeq.Store(0)
	}
	if admin != m.admin || m.src.Load() == nil {
		m.initSource(admin)
	}
	m.c, m.admin = c, admin
	var stop func()
	if rt != m.rt {
		stop, m.rtStop, m.rt = m.rtStop, nil, rt
		if rt != nil {
			m.rtStop = m.watchRuntime(rt)
		}
	}
	m.amu.Unlock()
	if stop != nil {
		stop()
	}
}

// Close stops every goroutine the monitor started: the ad-hoc producers and consumers (which it closes), the
// reader of the runtime's events and the ticker. It does not close the client, admin client or runtime.
// Later actions fail with ErrClosed; the observer methods and Snapshot keep working. Calling it again does
// nothing.
func (m *Monitor) Close() {
	m.amu.Lock()
	if m.closed {
		m.amu.Unlock()
		return
	}
	m.closed = true
	stop := m.rtStop
	m.rtStop = nil
	ads := slices.Collect(maps.Values(m.producers))
	ads = slices.AppendSeq(ads, maps.Values(m.consumers))
	clear(m.producers)
	clear(m.consumers)
	m.amu.Unlock()
	m.cancel() // ends the ticker and every ad-hoc producer and consumer
	if stop != nil {
		stop()
	}
	for _, a := range ads {
		a.cancel()
	}
	m.wg.Wait()
	m.sourceOff()
}

// SetWatching(false) stops the monitor's own polls of the cluster, for a console that shows another
// cluster meanwhile: the metrics endpoints are not scraped and Prometheus is not queried, so the cluster does
// not pay for a view nobody looks at; the admin API is polled only by Refresh, whose callers stop too. The
// console's own producers, taps and connectors go on, and their figures with them. SetWatching(true) polls
// again from the next interval on; the first rates after a pause are not averaged over it. A new monitor
// watches.
func (m *Monitor) SetWatching(on bool) {
	if m.scr != nil {
		m.scr.paused.Store(!on)
	}
	if m.prom != nil {
		m.prom.paused.Store(!on)
	}
	m.unwatched.Store(!on)
}

// Watching reports whether the monitor polls the cluster (see SetWatching).
func (m *Monitor) Watching() bool { return !m.unwatched.Load() }

// attached returns the current attachments.
func (m *Monitor) attached() (*client.Client, *client.Admin, *connectors.Runtime) {
	m.amu.Lock()
	defer m.amu.Unlock()
	return m.c, m.admin, m.rt
}

// setErr records err as the last error seen.
func (m *Monitor) setErr(err error) {
	if err != nil {
		m.lastErr.Store(&errAt{err: err, at: m.now()})
	}
}

// markOK records a successful answer from the broker (evidence it is reachable).
func (m *Monitor) markOK() {
	m.lastOK.Store(m.now().UnixNano())
	m.okSeq.Store(m.evSeq.Add(1))
}

// markFail records a ping no broker answered: the broker is unreachable until it answers again.
func (m *Monitor) markFail() { m.failSeq.Store(m.evSeq.Add(1)) }

// topicReliable reports whether the admin API said topic is reliable.
func (m *Monitor) topicReliable(topic string) bool {
	r := m.reliable.Load()
	return r != nil && (*r)[topic]
}

// markReliable records that topic is reliable (until the next Refresh says otherwise).
func (m *Monitor) markReliable(topic string) {
	for {
		old := m.reliable.Load()
		if old != nil && (*old)[topic] {
			return
		}
		r := map[string]bool{topic: true}
		if old != nil {
			r = maps.Clone(*old)
			r[topic] = true
		}
		if m.reliable.CompareAndSwap(old, &r) {
			return
		}
	}
}

// ---- the registry ----

// clone returns a shallow copy of the index, to change and publish.
func (ix *index) clone() *index { c := *ix; return &c }

// producer returns the state of a producer, creating it.
func (m *Monitor) producer(topic, name string) *prodState {
	if p := m.idx.Load().prods[prodKey{topic, name}]; p != nil {
		return p
	}
	m.regMu.Lock()
	defer m.regMu.Unlock()
	return m.producerLocked(topic, name)
}

func (m *Monitor) producerLocked(topic, name string) *prodState {
	ix := m.idx.Load()
	k := prodKey{topic, name}
	if p := ix.prods[k]; p != nil {
		return p
	}
	p := &prodState{topic: topic, name: name, series: newSeries(m.now().Unix())}
	nix := ix.clone()
	nix.prods, nix.prodList = withAdded(ix.prods, ix.prodList, k, p, cmpProd)
	m.idx.Store(nix)
	return p
}

// withAdded returns copies of an index's map and list (sorted by order) with v added under k: the
// index is copied on write, so its readers keep the old ones.
func withAdded[K comparable, V any](m map[K]V, list []V, k K, v V, order func(a, b V) int) (map[K]V, []V) {
	nm := maps.Clone(m)
	nm[k] = v
	i, _ := slices.BinarySearchFunc(list, v, order)
	return nm, slices.Insert(slices.Clip(list), i, v)
}

func cmpProd(a, b *prodState) int {
	return cmp.Or(strings.Compare(a.topic, b.topic), strings.Compare(a.name, b.name))
}

func cmpSub(a, b *subState) int {
	return cmp.Or(strings.Compare(a.topic, b.topic), strings.Compare(a.name, b.name))
}

// sub returns the state of a subscription, creating it.
func (m *Monitor) sub(topic, name string) *subState {
	if s := m.idx.Load().subs[subKey{topic, name}]; s != nil {
		return s
	}
	m.regMu.Lock()
	defer m.regMu.Unlock()
	return m.subLocked(topic, name)
}

// subLocked returns the state of a subscription, creating it with an UnknownConsumer stream to count
// messages for until a consumer is seen. regMu is held.
func (m *Monitor) subLocked(topic, name string) *subState {
	ix := m.idx.Load()
	k := subKey{topic, name}
	if s := ix.subs[k]; s != nil {
		return s
	}
	s := &subState{topic: topic, name: name}
	nix := ix.clone()
	nix.subs, nix.subList = withAdded(ix.subs, ix.subList, k, s, cmpSub)
	m.idx.Store(nix)
	s.target = m.streamLocked(s, UnknownConsumer)
	return s
}

// streamLocked returns the stream of consumer name of s, creating it. regMu is held, s.mu is not.
func (m *Monitor) streamLocked(s *subState, name string) *stream {
	s.mu.Lock()
	i, found := slices.BinarySearchFunc(s.streams, name, func(st *stream, n string) int { return strings.Compare(st.name, n) })
	if found {
		st := s.streams[i]
		s.mu.Unlock()
		return st
	}
	st := &stream{sub: s, id: StreamID(s.topic, s.name, name), name: name, series: newSeries(m.now().Unix()),
		ring: ring{size: m.opts.RingSize, maxBytes: m.opts.MaxRingBytes}}
	s.streams = slices.Insert(s.streams, i, st)
	s.mu.Unlock()
	ix := m.idx.Load()
	nix := ix.clone()
	nix.streams = maps.Clone(ix.streams)
	nix.streams[st.id] = st
	m.idx.Store(nix)
	return st
}

// StreamID returns the id of the stream of a consumer (ConsumerStats.Stream): "topic|subscription|consumer".
func StreamID(topic, subscription, consumer string) string {
	return topic + "|" + subscription + "|" + consumer
}

// retargetLocked chooses the stream s's messages are counted for: its only live consumer, SharedConsumers
// when there are several, else the one it was (or UnknownConsumer). regMu is held, s.mu is not.
func (m *Monitor) retargetLocked(s *subState) {
	s.mu.Lock()
	var one *stream
	n := 0
	for _, st := range s.streams {
		if st.name != UnknownConsumer && st.name != SharedConsumers && st.state.Live() {
			one = st
			n++
		}
	}
	switch {
	case n == 1:
		s.target = one
	case n > 1 && s.target.name != SharedConsumers:
		s.mu.Unlock()
		shared := m.streamLocked(s, SharedConsumers)
		s.mu.Lock()
		s.target = shared
	}
	s.mu.Unlock()
}

// pruneLocked forgets the oldest closed producers and consumer streams beyond maxClosed. regMu is held.
func (m *Monitor) pruneLocked() {
	ix := m.idx.Load()
	type closedProd struct {
		p  *prodState
		at time.Time
	}
	var cps []closedProd
	for _, p := range ix.prodList {
		p.mu.Lock()
		if !p.closedAt.IsZero() {
			cps = append(cps, closedProd{p, p.closedAt})
		}
		p.mu.Unlock()
	}
	type closedStream struct {
		st *stream
		at time.Time
	}
	var css []closedStream
	for _, s := range ix.subList {
		s.mu.Lock()
		for _, st := range s.streams {
			if !st.closedAt.IsZero() && st != s.target && len(st.pending) == 0 { // pending ones stay settleable
				css = append(css, closedStream{st, st.closedAt})
			}
		}
		s.mu.Unlock()
	}
	if len(cps) <= maxClosed && len(css) <= maxClosed {
		return
	}
	nix := ix.clone()
	if len(cps) > maxClosed {
		slices.SortFunc(cps, func(a, b closedProd) int { return a.at.Compare(b.at) })
		drop := make(map[*prodState]bool)
		nix.prods = maps.Clone(ix.prods)
		for _, c := range cps[:len(cps)-maxClosed] {
			drop[c.p] = true
			delete(nix.prods, prodKey{c.p.topic, c.p.name})
		}
		nix.prodList = slices.DeleteFunc(slices.Clone(ix.prodList), func(p *prodState) bool { return drop[p] })
		m.mu.Lock()
		for p := range drop {
			delete(m.health, healthKey{false, p.topic, p.name})
		}
		m.mu.Unlock()
	}
	if len(css) > maxClosed {
		slices.SortFunc(css, func(a, b closedStream) int { return a.at.Compare(b.at) })
		nix.streams = maps.Clone(ix.streams)
		for _, c := range css[:len(css)-maxClosed] {
			st, s := c.st, c.st.sub
			s.mu.Lock()
			s.streams = slices.DeleteFunc(s.streams, func(x *stream) bool { return x == st })
			m.prunedReceived.Add(st.received)
			m.prunedDropped.Add(st.ring.unshown + st.ring.unshownKept())
			s.mu.Unlock()
			delete(nix.streams, st.id)
			m.mu.Lock()
			if k := (healthKey{true, s.topic, st.name}); m.health[k] != nil && m.health[k].Status == HealthStopped {
				delete(m.health, k) // forgotten with its stream, as a producer's with the producer
			}
			m.mu.Unlock()
		}
	}
	m.idx.Store(nix)
}
