package monitor

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Direct scraping of the brokers' Prometheus endpoints. Each endpoint has its own goroutine, started by New
// and stopped by Close, that polls it on its interval with a per-request timeout, parses the text format,
// computes the figures of Cluster from this scrape and the previous one, and swaps them in under the
// scraper's lock: a slow or dead endpoint delays nothing but itself, and Snapshot only copies.

// maxMetricsBody bounds the metrics text read from one endpoint.
const maxMetricsBody = 64 << 20

// scraper polls the metrics endpoints and keeps their results.
type scraper struct {
	now      func() time.Time
	interval time.Duration
	timeout  time.Duration
	hc       *http.Client
	hist     *history // records every successful scrape (nil: none)

	mu     sync.Mutex // guards the fields below
	eps    []*endpoint
	gen    uint64 // bumped on every change of an endpoint
	cached Cluster
	cgen   uint64 // gen of cached
	// ctx and wg are the monitor's, given to start, for the endpoints setEndpoints adds later.
	ctx    context.Context
	wg     *sync.WaitGroup
	paused atomic.Bool // Monitor.SetWatching(false): the endpoints are not polled
}

// endpoint is one metrics URL. state, res, stop and left are guarded by the scraper's mu; prev belongs to
// its goroutine.
type endpoint struct {
	state SourceState
	res   *scrapeResult // immutable once stored; nil unless state.Status is SourceUp
	prev  *scrapeSample
	buf   bytes.Buffer       // the last text read; belongs to its goroutine, as prev does
	stop  context.CancelFunc // ends its goroutine
	left  time.Time          // when setEndpoints removed it (zero while it is polled)
}

// leftKeep is how long an endpoint setEndpoints removed stays in the sources, failing with "left the
// cluster", so that the console shows the broker down.
const leftKeep = 5 * time.Minute

// endpointSpec is an endpoint setEndpoints wants: its address and the broker it belongs to.
type endpointSpec struct{ addr, broker string }

// scrapeResult is what one endpoint's last two scrapes say.
type scrapeResult struct {
	broker BrokerMetrics
	topics []TopicRate
	subs   []SubscriptionRate
}

// metricsURL makes a metrics address usable: ListBrokers gives host:port without a scheme, which becomes
// http://host:port/metrics; a URL with a scheme and no path gets /metrics.
func metricsURL(addr string) string {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return addr // the poll reports the error
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/metrics"
	}
	return u.String()
}

// newScraper returns a scraper of urls (nil when there are none and the endpoints are not discovered); start
// starts its goroutines.
func newScraper(urls []string, discover bool, interval, timeout time.Duration, now func() time.Time) *scraper {
	if len(urls) == 0 && !discover {
		return nil
	}
	if interval <= 0 {
		interval = DefaultMetricsInterval
	}
	if timeout <= 0 {
		timeout = min(interval, maxMetricsTimeout)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 1
	s := &scraper{now: now, interval: interval, timeout: timeout, hc: &http.Client{Transport: tr}}
	for _, u := range urls {
		s.eps = append(s.eps, &endpoint{state: SourceState{Kind: "metrics", URL: metricsURL(u), Status: SourcePending, Interval: interval}})
	}
	return s
}

// start runs one goroutine per endpoint in wg until ctx ends (or setEndpoints removes it); each leaves its
// endpoint SourceOff (or failing, when removed).
func (s *scraper) start(ctx context.Context, wg *sync.WaitGroup) {
	s.mu.Lock()
	s.ctx, s.wg = ctx, wg
	for _, ep := range s.eps {
		s.launch(ep)
	}
	s.mu.Unlock()
	wg.Go(func() {
		<-ctx.Done()
		s.hc.CloseIdleConnections()
	})
}

// launch starts ep's goroutine. s.mu is held; the caller makes sure the monitor's wg is not being waited for.
func (s *scraper) launch(ep *endpoint) {
	ctx, cancel := context.WithCancel(s.ctx)
	ep.stop = cancel
	s.wg.Go(func() { s.run(ctx, ep) })
}

// setEndpoints makes want the endpoints polled: it starts those it did not poll, and stops those no longer
// wanted, which stay listed as failing with "left the cluster" for leftKeep (an endpoint wanted again is
// polled afresh). It must not be called once the monitor's wg is being waited for, nor before start.
func (s *scraper) setEndpoints(want []endpointSpec) {
	now := s.now()
	wanted := make(map[string]string, len(want))
	for _, w := range want {
		wanted[metricsURL(w.addr)] = w.broker
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ctx.Err() != nil {
		return
	}
	polled := make(map[string]bool, len(s.eps))
	eps := make([]*endpoint, 0, len(s.eps)+len(want))
	changed := false
	for _, ep := range s.eps {
		u := ep.state.URL
		broker, ok := wanted[u]
		switch {
		case ok && ep.left.IsZero():
			polled[u] = true
			if ep.state.Broker == "" && broker != "" {
				ep.state.Broker, changed = broker, true
			}
			eps = append(eps, ep)
		case ok: // back after it left: polled afresh below
			changed = true
		case ep.left.IsZero():
			ep.stop()
			ep.left, ep.res, changed = now, nil, true
			ep.state.Status, ep.state.Err = SourceFailing, "left the cluster (no longer listed by ListBrokers)"
			if ep.state.Broker != "" {
				ep.state.Err = "broker " + ep.state.Broker + " left the cluster (no longer listed by ListBrokers)"
			}
			eps = append(eps, ep)
		case now.Sub(ep.left) < leftKeep:
			eps = append(eps, ep)
		default:
			changed = true
		}
	}
	for _, w := range want {
		u := metricsURL(w.addr)
		if polled[u] {
			continue
		}
		polled[u] = true
		ep := &endpoint{state: SourceState{Kind: "metrics", URL: u, Status: SourcePending, Interval: s.interval, Broker: w.broker}}
		eps = append(eps, ep)
		s.launch(ep)
		changed = true
	}
	if changed {
		s.eps = eps
		s.gen++
	}
}

// run polls ep every interval until ctx ends.
func (s *scraper) run(ctx context.Context, ep *endpoint) {
	defer func() {
		s.mu.Lock()
		if ep.left.IsZero() { // a removed endpoint keeps saying why
			ep.state.Status, ep.state.Err, ep.res = SourceOff, "", nil
		}
		s.gen++
		s.mu.Unlock()
	}()
	t := time.NewTicker(s.interval)
	defer t.Stop()
	wasPaused := false
	for {
		paused := s.paused.Load()
		if wasPaused && !paused {
			ep.prev = nil // rates start again: none is averaged over the pause
		}
		if wasPaused = paused; !paused {
			s.poll(ctx, ep)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll scrapes ep once and stores the outcome.
func (s *scraper) poll(ctx context.Context, ep *endpoint) {
	cur, err := s.fetch(ctx, ep.state.URL, &ep.buf) // URL never changes: read without the lock
	if ctx.Err() != nil {
		return
	}
	now := s.now()
	if err == nil {
		now = cur.at // Window is the time between two LastOK
	}
	var res *scrapeResult
	if err == nil {
		res = compute(ep.prev, cur, ep.state.URL)
		ep.prev = cur
	}
	if err == nil && s.hist != nil {
		defer s.hist.recordFrom(s, now) // after the unlock below
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ep.left.IsZero() {
		return // removed meanwhile
	}
	s.gen++
	ep.state.LastTry = now
	if err != nil {
		ep.state.Status, ep.state.Err, ep.res = SourceFailing, err.Error(), nil
		return
	}
	ep.state.Status, ep.state.Err, ep.res = SourceUp, "", res
	ep.state.LastOK = now
	if cur.broker != "" { // else keep the id ListBrokers gave
		ep.state.Broker = cur.broker
	}
}

// fetch GETs and parses one endpoint's metrics (read into buf), stamped with the time the answer came.
func (s *scraper) fetch(ctx context.Context, u string, buf *bytes.Buffer) (*scrapeSample, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("metrics %s: %w", u, err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics %s: HTTP %s", u, resp.Status)
	}
	cur, err := parseSample(io.LimitReader(resp.Body, maxMetricsBody), s.now(), buf)
	if err != nil {
		return nil, fmt.Errorf("metrics %s: %w", u, err)
	}
	return cur, nil
}

// cluster returns the endpoints' states and figures, and a number that changes whenever they do. The
// slices are shared and never changed: a change builds new ones.
func (s *scraper) cluster() (Cluster, uint64) {
	if s == nil {
		return Cluster{}, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cgen != s.gen || s.cached.Sources == nil {
		s.cached, s.cgen = s.merge(), s.gen
	}
	return s.cached, s.cgen
}

// merge builds the Cluster of the endpoints' current results. s.mu is held.
func (s *scraper) merge() Cluster {
	var c Cluster
	var topics [][]TopicRate
	var subs [][]SubscriptionRate
	for _, ep := range s.eps {
		c.Sources = append(c.Sources, ep.state)
		if ep.res == nil {
			continue
		}
		c.Brokers = append(c.Brokers, ep.res.broker)
		topics, subs = append(topics, ep.res.topics), append(subs, ep.res.subs)
	}
	slices.SortFunc(c.Brokers, func(a, b BrokerMetrics) int { return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.URL, b.URL)) })
	// Each endpoint's rows are sorted (by compute): merging them is linear.
	c.Topics, c.Subscriptions = mergeSorted(topics, cmpTopicRows), mergeSorted(subs, cmpSubRows)
	return c
}

// mergeSorted merges lists each sorted by cmp into one sorted list (nil when they are all empty).
func mergeSorted[T any](lists [][]T, cmp func(a, b T) int) []T {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	if n == 0 {
		return nil
	}
	out := make([]T, 0, n)
	heads := make([]int, len(lists))
	for len(out) < n {
		best := -1
		for i, l := range lists {
			if heads[i] < len(l) && (best < 0 || cmp(l[heads[i]], lists[best][heads[best]]) < 0) {
				best = i
			}
		}
		out = append(out, lists[best][heads[best]])
		heads[best]++
	}
	return out
}

// cmpTopicRows orders topic rows by topic, then broker; cmpSubRows subscription rows by topic,
// subscription, then broker. They compare a name only when the ones before it are equal (10,000 rows are
// sorted at every scrape).
func cmpTopicRows(a, b TopicRate) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return strings.Compare(a.Broker, b.Broker)
}

func cmpSubRows(a, b SubscriptionRate) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	if c := strings.Compare(a.Subscription, b.Subscription); c != 0 {
		return c
	}
	return strings.Compare(a.Broker, b.Broker)
}

// scrapeSample is one scrape's values, summed over the labels the console does not show.
type scrapeSample struct {
	at     time.Time
	broker string
	topics map[string]*topicSample
	subs   map[subKey]*subSample

	topicsOwned, leader float64
	rpc, rpcErrors      float64
	authzDenies         float64
}

type topicSample struct {
	msgsIn, bytesIn          float64
	producers, consumers     float64
	subscriptions            float64
	latency, size            Quantiles
	latencySum, latencyCount float64
	schemaFailures           float64
	sendErrors               float64
}

type subSample struct {
	msgsOut, bytesOut                      float64
	consumers, lag, pending, blocked       float64
	redeliveries, nacks, ackTimeouts, dlqs float64
	exhausted                              float64
	// growSince is since when the lag has grown at every scrape (zero when it did not grow at the last
	// one), growFrom the lag then; compute sets them from the previous scrape's.
	growSince time.Time
	growFrom  float64
}

// parseSampleGeneral parses the text format into a sample taken at at, with the general parser of
// prometheus/common (see parseSample for the fast one).
func parseSampleGeneral(r io.Reader, at time.Time) (*scrapeSample, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	s := &scrapeSample{at: at, topics: map[string]*topicSample{}, subs: map[subKey]*subSample{}}
	topic := func(m *dto.Metric) *topicSample {
		name := label(m, "topic")
		if name == "" {
			return nil // the bare series every broker exports
		}
		t := s.topics[name]
		if t == nil {
			t = &topicSample{}
			s.topics[name] = t
		}
		return t
	}
	sub := func(m *dto.Metric) *subSample {
		k := subKey{label(m, "topic"), label(m, "subscription")}
		if k.topic == "" || k.sub == "" {
			return nil
		}
		v := s.subs[k]
		if v == nil {
			v = &subSample{}
			s.subs[k] = v
		}
		return v
	}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			if b := label(m, "broker"); b != "" && s.broker == "" {
				s.broker = b
			}
			v := value(m)
			if !finite(v) {
				continue // NaN or ±Inf: nothing known
			}
			switch name {
			case "danube_topic_messages_in_total", "danube_topic_bytes_in_total",
				"danube_topic_active_producers", "danube_topic_active_consumers", "danube_topic_active_subscriptions",
				"danube_producer_send_latency_ms", "danube_topic_message_size_bytes",
				"danube_schema_validation_failures_total", "danube_producer_send_total":
				if t := topic(m); t != nil {
					t.add(name, m, v)
				}
			case "danube_consumer_messages_out_total", "danube_consumer_bytes_out_total",
				"danube_subscription_active_consumers", "danube_subscription_lag_messages",
				"danube_subscription_pending_redelivery", "danube_subscription_terminal_blocked",
				"danube_subscription_redelivery_total", "danube_subscription_nack_total",
				"danube_subscription_ack_timeout_total", "danube_subscription_dlq_total",
				"danube_subscription_retry_exhausted_total":
				if ss := sub(m); ss != nil {
					ss.add(name, v)
				}
			case "danube_broker_topics_owned":
				s.topicsOwned += v
			case "danube_leader_election_state":
				s.leader += v
			case "danube_authz_deny_total":
				s.authzDenies += v
			case "danube_broker_rpc_total":
				s.rpc += v
				if label(m, "result") == "error" {
					s.rpcErrors += v
				}
			}
		}
	}
	return s, nil
}

func (t *topicSample) add(name string, m *dto.Metric, v float64) {
	switch name {
	case "danube_topic_messages_in_total":
		t.msgsIn += v
	case "danube_topic_bytes_in_total":
		t.bytesIn += v
	case "danube_topic_active_producers":
		t.producers += v
	case "danube_topic_active_consumers":
		t.consumers += v
	case "danube_topic_active_subscriptions":
		t.subscriptions += v
	case "danube_producer_send_latency_ms":
		t.latency = quantiles(m.GetSummary())
		t.latencySum, t.latencyCount = m.GetSummary().GetSampleSum(), float64(m.GetSummary().GetSampleCount())
	case "danube_topic_message_size_bytes":
		t.size = quantiles(m.GetSummary())
	case "danube_schema_validation_failures_total":
		t.schemaFailures += v
	case "danube_producer_send_total":
		if label(m, "result") == "error" {
			t.sendErrors += v
		}
	}
}

func (s *subSample) add(name string, v float64) {
	switch name {
	case "danube_consumer_messages_out_total":
		s.msgsOut += v
	case "danube_consumer_bytes_out_total":
		s.bytesOut += v
	case "danube_subscription_active_consumers":
		s.consumers += v
	case "danube_subscription_lag_messages":
		s.lag += v
	case "danube_subscription_pending_redelivery":
		s.pending += v
	case "danube_subscription_terminal_blocked":
		s.blocked += v
	case "danube_subscription_redelivery_total":
		s.redeliveries += v
	case "danube_subscription_nack_total":
		s.nacks += v
	case "danube_subscription_ack_timeout_total":
		s.ackTimeouts += v
	case "danube_subscription_dlq_total":
		s.dlqs += v
	case "danube_subscription_retry_exhausted_total":
		s.exhausted += v
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// value is a counter's, gauge's or untyped series' value (0 for a summary: its figures are read apart).
// finite reports whether a sample's value is a number the console can count with (not NaN nor ±Inf, which the
// text format allows: a gauge stored as an integer would become nonsense).
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return 0
}

func quantiles(s *dto.Summary) Quantiles {
	q := Quantiles{Count: s.GetSampleCount(), Sum: s.GetSampleSum()}
	for _, x := range s.GetQuantile() {
		switch x.GetQuantile() {
		case 0.5:
			q.P50 = x.GetValue()
		case 0.95:
			q.P95 = x.GetValue()
		case 0.99:
			q.P99 = x.GetValue()
		}
	}
	return q
}

// counterRate is a counter's per-second increase from prev to cur over dt seconds; a counter that went down was
// reset (the broker restarted) and counts from 0, as Prometheus' rate does.
func counterRate(prev, cur, dt float64) float64 {
	if dt <= 0 {
		return 0
	}
	return counterDelta(prev, cur) / dt
}

// counterDelta is how much a counter grew from prev to cur; a counter that went down was reset and counts
// from 0.
func counterDelta(prev, cur float64) float64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

// lagGrowth is since when, and from what lag, a subscription's lag has grown at every scrape, given its
// previous scrape's (taken at at) and its lag now: zero when it did not grow since the previous scrape.
func lagGrowth(prev *subSample, lag float64, at time.Time) (time.Time, float64) {
	switch {
	case lag <= prev.lag:
		return time.Time{}, 0
	case prev.growSince.IsZero():
		return at, prev.lag
	}
	return prev.growSince, prev.growFrom
}

// compute returns the figures of cur, with rates over the time since prev (nil: none yet, every rate 0).
// A topic or subscription absent from prev started after it: its counters count from 0.
func compute(prev, cur *scrapeSample, url string) *scrapeResult {
	var dt float64
	var window time.Duration
	if prev != nil && cur.at.After(prev.at) {
		window = cur.at.Sub(prev.at)
		dt = window.Seconds()
	}
	res := &scrapeResult{broker: BrokerMetrics{
		ID: cur.broker, URL: url, Window: window, TopicsOwned: int64(cur.topicsOwned), Leader: cur.leader >= 1,
	}}
	b := &res.broker
	if dt > 0 {
		b.RPCPerSec = counterRate(prev.rpc, cur.rpc, dt)
		b.RPCErrorsPerSec = counterRate(prev.rpcErrors, cur.rpcErrors, dt)
		b.AuthzDeniesPerSec = counterRate(prev.authzDenies, cur.authzDenies, dt)
	}
	topics := make(map[string]*TopicRate, len(cur.topics))
	var latSum, latCnt float64
	for name, t := range cur.topics {
		tr := &TopicRate{
			Broker: cur.broker, Topic: name, Window: window,
			MsgsIn: uint64(t.msgsIn), BytesIn: uint64(t.bytesIn),
			Producers: int64(t.producers), Consumers: int64(t.consumers), Subscriptions: int64(t.subscriptions),
			PublishLatency: t.latency, MessageSize: t.size,
		}
		if dt > 0 {
			var p topicSample
			if pt := prev.topics[name]; pt != nil {
				p = *pt
			}
			tr.MsgsInPerSec = counterRate(p.msgsIn, t.msgsIn, dt)
			tr.BytesInPerSec = counterRate(p.bytesIn, t.bytesIn, dt)
			tr.SchemaFailuresPerSec = counterRate(p.schemaFailures, t.schemaFailures, dt)
			tr.ProducerErrorsPerSec = counterRate(p.sendErrors, t.sendErrors, dt)
			if t.latencyCount >= p.latencyCount {
				latSum += counterDelta(p.latencySum, t.latencySum)
			} else { // the summary was reset: its sum counts from 0 too
				latSum += t.latencySum
			}
			latCnt += counterDelta(p.latencyCount, t.latencyCount)
		}
		topics[name] = tr
	}
	if latCnt > 0 {
		b.PublishLatencyMeanMs = latSum / latCnt
	}
	res.subs = make([]SubscriptionRate, 0, len(cur.subs))
	// The rows are built in order (merge relies on each endpoint's rows being sorted): sorting the keys moves
	// less than sorting the rows.
	keys := make([]subKey, 0, len(cur.subs))
	for k := range cur.subs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b subKey) int {
		if c := strings.Compare(a.topic, b.topic); c != 0 {
			return c
		}
		return strings.Compare(a.sub, b.sub)
	})
	for _, k := range keys {
		s := cur.subs[k]
		sr := SubscriptionRate{
			Broker: cur.broker, Topic: k.topic, Subscription: k.sub, Window: window,
			MsgsOut: uint64(s.msgsOut), BytesOut: uint64(s.bytesOut),
			Consumers: int64(s.consumers), Lag: int64(s.lag), PendingRedelivery: int64(s.pending), TerminalBlocked: int64(s.blocked),
		}
		if dt > 0 {
			var p subSample
			if ps := prev.subs[k]; ps != nil {
				p = *ps
				s.growSince, s.growFrom = lagGrowth(ps, s.lag, prev.at)
			}
			sr.MsgsOutPerSec = counterRate(p.msgsOut, s.msgsOut, dt)
			sr.BytesOutPerSec = counterRate(p.bytesOut, s.bytesOut, dt)
			sr.RedeliveriesPerSec = counterRate(p.redeliveries, s.redeliveries, dt)
			sr.NacksPerSec = counterRate(p.nacks, s.nacks, dt)
			sr.AckTimeoutsPerSec = counterRate(p.ackTimeouts, s.ackTimeouts, dt)
			sr.DLQPerSec = counterRate(p.dlqs, s.dlqs, dt)
			sr.RetryExhaustedPerSec = counterRate(p.exhausted, s.exhausted, dt)
			sr.LagGrowingSince, sr.LagGrowingFrom = s.growSince, int64(s.growFrom)
		}
		res.subs = append(res.subs, sr)
		tr := topics[k.topic]
		if tr == nil { // a subscription's series without its topic's: keep the figures it has
			tr = &TopicRate{Broker: cur.broker, Topic: k.topic, Window: window}
			topics[k.topic] = tr
		}
		tr.MsgsOutPerSec += sr.MsgsOutPerSec
		tr.BytesOutPerSec += sr.BytesOutPerSec
		tr.Lag += sr.Lag
	}
	order := make([]*TopicRate, 0, len(topics))
	for _, tr := range topics {
		order = append(order, tr)
	}
	slices.SortFunc(order, func(a, b *TopicRate) int { return strings.Compare(a.Topic, b.Topic) })
	res.topics = make([]TopicRate, 0, len(topics))
	for _, tr := range order {
		res.topics = append(res.topics, *tr)
		b.MsgsInPerSec += tr.MsgsInPerSec
		b.BytesInPerSec += tr.BytesInPerSec
		b.MsgsOutPerSec += tr.MsgsOutPerSec
		b.BytesOutPerSec += tr.BytesOutPerSec
	}
	return res
}
