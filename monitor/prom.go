package monitor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// A Prometheus server as a cluster data source (Options.PrometheusURL), queried with its HTTP API the way the
// official admin UI does (spec §6.3). A goroutine owned by the monitor polls it every PrometheusInterval,
// each query with its own timeout; its SourceState is the last of Cluster.Sources. When no metrics endpoint
// is scraped directly (no Options.MetricsURLs) its answers are the rows of Cluster, grouped by broker, topic
// and subscription like the scraped ones; what differs:
//   - Window is the rate range of the queries (PromRateRange, as the admin UI's rate(...[1m])), not the time
//     between two polls, and the rates are Prometheus' (extrapolated over that range);
//   - the totals and gauges are summed over the series Prometheus has (instance and job labels included);
//   - LagGrowingSince compares the lag of consecutive polls of the server.
//
// A second goroutine runs the range queries of the charts' history (TopicHistory), one at a time, so that a
// slow server never delays the polls, nor a poll the charts. Neither ever blocks Snapshot or another source.

// DefaultPrometheusInterval is how often the Prometheus server is polled when Options.PrometheusInterval is 0.
const DefaultPrometheusInterval = 15 * time.Second

// PromRateRange is the range of the rates asked of a Prometheus server (the admin UI's [1m]).
const PromRateRange = time.Minute

// promTimeout bounds one query (the polls do not overlap: a slow one delays the next).
const promTimeout = 5 * time.Second

// maxPromPoints bounds the points of a range query: the step is chosen so that a span has at most this many.
const maxPromPoints = 300

// maxPromHistories bounds the range answers kept (by topic and span); the oldest goes first.
const maxPromHistories = 64

// promParallel is how many of a poll's instant queries run at once.
const promParallel = 4

// errNoDanubeSeries: the server answers but has no broker series.
var errNoDanubeSeries = errors.New("no Danube broker series (is the server scraping the brokers' metrics endpoints?)")

// promSource polls a Prometheus server.
type promSource struct {
	api      promv1.API
	hc       *http.Client
	now      func() time.Time
	interval time.Duration
	timeout  time.Duration
	rows     bool // its answers are Cluster's rows (no metrics endpoint is scraped)

	mu    sync.Mutex // guards the fields below
	state SourceState
	res   *scrapeResult // the rows of the last good poll (one broker field per broker: brokers)
	bros  []BrokerMetrics
	gen   uint64 // bumped on every change of state or res
	hist  map[histKey]*promHist
	tick  uint64 // orders the histories' uses

	reqs  chan histKey                 // range queries to run; never blocks the sender
	grows map[promSubKey]lagGrowthMark // belongs to the poller

	paused atomic.Bool // Monitor.SetWatching(false): Prometheus is not queried
}

type histKey struct {
	topic string
	span  time.Duration
}

type promSubKey struct{ broker, topic, sub string }

type lagGrowthMark struct {
	lag, from float64
	since     time.Time
}

// promHist is one range answer, kept for one poll interval.
type promHist struct {
	h        TopicHistory
	ok       bool      // h holds an answer
	at       time.Time // when it was asked (zero: never)
	running  bool      // a query for it is queued or running
	lastUsed uint64
}

// newPromSource returns the source of the server at u (nil when u is ""); start starts its goroutines. A URL
// the client refuses makes a source that stays failing with the reason.
func newPromSource(u string, interval time.Duration, rows bool, now func() time.Time) *promSource {
	if u == "" {
		return nil
	}
	if interval <= 0 {
		interval = DefaultPrometheusInterval
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = promParallel
	p := &promSource{
		hc: &http.Client{Transport: tr}, now: now, interval: interval, timeout: promTimeout, rows: rows,
		state: SourceState{Kind: "prometheus", URL: u, Status: SourcePending, Interval: interval},
		hist:  map[histKey]*promHist{}, reqs: make(chan histKey, 16), grows: map[promSubKey]lagGrowthMark{},
	}
	c, err := api.NewClient(api.Config{Address: u, Client: p.hc})
	if err != nil {
		p.state.Status, p.state.Err = SourceFailing, fmt.Sprintf("prometheus %s: %v", u, err)
		return p
	}
	p.api = promv1.NewAPI(c)
	return p
}

// start runs the poller and the range queries' goroutine in wg until ctx ends; the source is then off.
func (p *promSource) start(ctx context.Context, wg *sync.WaitGroup) {
	if p.api == nil {
		return
	}
	wg.Go(func() {
		defer func() {
			p.mu.Lock()
			p.state.Status, p.state.Err, p.res, p.bros = SourceOff, "", nil, nil
			p.gen++
			p.mu.Unlock()
			p.hc.CloseIdleConnections()
		}()
		t := time.NewTicker(p.interval)
		defer t.Stop()
		for {
			if !p.paused.Load() {
				p.poll(ctx)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case k := <-p.reqs:
				p.runHistory(ctx, k)
			}
		}
	})
}

// generation changes whenever what addTo adds changes.
func (p *promSource) generation() uint64 {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gen
}

// addTo appends the source's state to c.Sources and, when it gives the rows, its rows (copies).
func (p *promSource) addTo(c *Cluster) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c.Sources = append(c.Sources, p.state)
	if p.res == nil {
		return
	}
	c.Brokers = append(c.Brokers, p.bros...)
	c.Topics = append(c.Topics, p.res.topics...)
	c.Subscriptions = append(c.Subscriptions, p.res.subs...)
}

// poll asks the server once and stores the outcome.
func (p *promSource) poll(ctx context.Context) {
	var bros []BrokerMetrics
	var res *scrapeResult
	err := p.checkUp(ctx)
	if err == nil && p.rows {
		bros, res, err = p.queryRows(ctx)
	}
	if ctx.Err() != nil {
		return
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gen++
	p.state.LastTry = now
	if err != nil {
		p.state.Status, p.state.Err, p.res, p.bros = SourceFailing, err.Error(), nil, nil
		return
	}
	p.state.Status, p.state.Err, p.state.LastOK = SourceUp, "", now
	p.res, p.bros = res, bros // Broker stays "": the server's series are of every broker
}

// query runs one instant query with the source's timeout.
func (p *promSource) query(ctx context.Context, q string) (model.Vector, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	v, _, _, err := p.api.Query(ctx, q, time.Time{}, promv1.WithTimeout(p.timeout))
	if err != nil {
		return nil, fmt.Errorf("prometheus %s: %s: %w", p.state.URL, q, err)
	}
	vec, ok := v.(model.Vector)
	if !ok {
		return nil, fmt.Errorf("prometheus %s: %s: answered a %s, not an instant vector", p.state.URL, q, v.Type())
	}
	return vec, nil
}

// checkUp asks for the cluster's broker count (the admin UI's `count(danube_leader_election_state)`): the
// server must answer, and have series of Danube brokers.
func (p *promSource) checkUp(ctx context.Context) error {
	vec, err := p.query(ctx, "count(danube_leader_election_state)")
	if err != nil {
		return err
	}
	if len(vec) == 0 || vec[0].Value == 0 {
		return fmt.Errorf("prometheus %s: %w", p.state.URL, errNoDanubeSeries)
	}
	return nil
}

// promRows accumulates a poll's answers.
type promRows struct {
	topics  map[[2]string]*TopicRate // by broker, topic
	subs    map[promSubKey]*SubscriptionRate
	brokers map[string]*BrokerMetrics
	latency map[[2]string]*[2]float64 // rate of the latency summary's sum and count by broker, topic
}

// promQuery is one instant query and where its answer goes.
type promQuery struct {
	q     string
	apply func(r *promRows, m model.Metric, v float64)
}

func rateBy(by, series string) string {
	return fmt.Sprintf("sum by (%s) (rate(%s[%s]))", by, series, model.Duration(PromRateRange))
}

func sumBy(by, series string) string { return fmt.Sprintf("sum by (%s) (%s)", by, series) }

const (
	byTopic  = "broker, topic"
	bySub    = "broker, topic, subscription"
	byBroker = "broker"
)

func topicQ(q string, set func(t *TopicRate, v float64)) promQuery {
	return promQuery{q, func(r *promRows, m model.Metric, v float64) {
		if t := r.topic(m); t != nil {
			set(t, v)
		}
	}}
}

func subQ(q string, set func(s *SubscriptionRate, v float64)) promQuery {
	return promQuery{q, func(r *promRows, m model.Metric, v float64) {
		if s := r.sub(m); s != nil {
			set(s, v)
		}
	}}
}

func brokerQ(q string, set func(b *BrokerMetrics, v float64)) promQuery {
	return promQuery{q, func(r *promRows, m model.Metric, v float64) { set(r.broker(string(m["broker"])), v) }}
}

// quantileQ asks the quantiles of a summary's series and stores each in its field of get's Quantiles.
func quantileQ(series string, get func(t *TopicRate) *Quantiles) promQuery {
	q := fmt.Sprintf(`max by (broker, topic, quantile) (%s{topic!="",quantile=~"0.5|0.95|0.99"})`, series)
	return promQuery{q, func(r *promRows, m model.Metric, v float64) {
		t := r.topic(m)
		if t == nil {
			return
		}
		switch qs := get(t); m["quantile"] {
		case "0.5":
			qs.P50 = v
		case "0.95":
			qs.P95 = v
		case "0.99":
			qs.P99 = v
		}
	}}
}

// promRowQueries are the queries of Cluster's rows: the admin UI's (spec §6.3), grouped by broker, topic and
// subscription instead of asked topic by topic.
var promRowQueries = []promQuery{
	topicQ(rateBy(byTopic, `danube_topic_messages_in_total{topic!=""}`), func(t *TopicRate, v float64) { t.MsgsInPerSec = v }),
	topicQ(rateBy(byTopic, `danube_topic_bytes_in_total{topic!=""}`), func(t *TopicRate, v float64) { t.BytesInPerSec = v }),
	topicQ(sumBy(byTopic, `danube_topic_messages_in_total{topic!=""}`), func(t *TopicRate, v float64) { t.MsgsIn = uint64(v) }),
	topicQ(sumBy(byTopic, `danube_topic_bytes_in_total{topic!=""}`), func(t *TopicRate, v float64) { t.BytesIn = uint64(v) }),
	topicQ(sumBy(byTopic, `danube_topic_active_producers{topic!=""}`), func(t *TopicRate, v float64) { t.Producers = int64(v) }),
	topicQ(sumBy(byTopic, `danube_topic_active_consumers{topic!=""}`), func(t *TopicRate, v float64) { t.Consumers = int64(v) }),
	topicQ(sumBy(byTopic, `danube_topic_active_subscriptions{topic!=""}`), func(t *TopicRate, v float64) { t.Subscriptions = int64(v) }),
	topicQ(rateBy(byTopic, `danube_schema_validation_failures_total{topic!=""}`), func(t *TopicRate, v float64) { t.SchemaFailuresPerSec = v }),
	topicQ(rateBy(byTopic, `danube_producer_send_total{topic!="",result="error"}`), func(t *TopicRate, v float64) { t.ProducerErrorsPerSec = v }),
	quantileQ("danube_producer_send_latency_ms", func(t *TopicRate) *Quantiles { return &t.PublishLatency }),
	quantileQ("danube_topic_message_size_bytes", func(t *TopicRate) *Quantiles { return &t.MessageSize }),
	topicQ(sumBy(byTopic, `danube_producer_send_latency_ms_count{topic!=""}`), func(t *TopicRate, v float64) { t.PublishLatency.Count = uint64(v) }),
	topicQ(sumBy(byTopic, `danube_producer_send_latency_ms_sum{topic!=""}`), func(t *TopicRate, v float64) { t.PublishLatency.Sum = v }),
	topicQ(sumBy(byTopic, `danube_topic_message_size_bytes_count{topic!=""}`), func(t *TopicRate, v float64) { t.MessageSize.Count = uint64(v) }),
	topicQ(sumBy(byTopic, `danube_topic_message_size_bytes_sum{topic!=""}`), func(t *TopicRate, v float64) { t.MessageSize.Sum = v }),
	{rateBy(byTopic, `danube_producer_send_latency_ms_sum{topic!=""}`), func(r *promRows, m model.Metric, v float64) { r.latencyOf(m)[0] = v }},
	{rateBy(byTopic, `danube_producer_send_latency_ms_count{topic!=""}`), func(r *promRows, m model.Metric, v float64) { r.latencyOf(m)[1] = v }},

	subQ(rateBy(bySub, `danube_consumer_messages_out_total{subscription!=""}`), func(s *SubscriptionRate, v float64) { s.MsgsOutPerSec = v }),
	subQ(rateBy(bySub, `danube_consumer_bytes_out_total{subscription!=""}`), func(s *SubscriptionRate, v float64) { s.BytesOutPerSec = v }),
	subQ(sumBy(bySub, `danube_consumer_messages_out_total{subscription!=""}`), func(s *SubscriptionRate, v float64) { s.MsgsOut = uint64(v) }),
	subQ(sumBy(bySub, `danube_consumer_bytes_out_total{subscription!=""}`), func(s *SubscriptionRate, v float64) { s.BytesOut = uint64(v) }),
	subQ(sumBy(bySub, `danube_subscription_active_consumers{subscription!=""}`), func(s *SubscriptionRate, v float64) { s.Consumers = int64(v) }),
	subQ(sumBy(bySub, `danube_subscription_lag_messages{subscription!=""}`), func(s *SubscriptionRate, v float64) { s.Lag = int64(v) }),
	subQ(sumBy(bySub, `danube_subscription_pending_redelivery{subscription!=""}`), func(s *SubscriptionRate, v float64) { s.PendingRedelivery = int64(v) }),
	subQ(sumBy(bySub, `danube_subscription_terminal_blocked{subscription!=""}`), func(s *SubscriptionRate, v float64) { s.TerminalBlocked = int64(v) }),
	subQ(rateBy(bySub, `danube_subscription_redelivery_total{subscription!=""}`), func(s *SubscriptionRate, v float64) { s.RedeliveriesPerSec = v }),
	subQ(rateBy(bySub, `danube_subscription_nack_total{subscription!=""}`), func(s *SubscriptionRate, v float64) { s.NacksPerSec = v }),
	subQ(rateBy(bySub, `danube_subscription_ack_timeout_total{subscription!=""}`), func(s *SubscriptionRate, v float64) { s.AckTimeoutsPerSec = v }),
	subQ(rateBy(bySub, `danube_subscription_dlq_total{subscription!=""}`), func(s *SubscriptionRate, v float64) { s.DLQPerSec = v }),
	subQ(rateBy(bySub, `danube_subscription_retry_exhausted_total{subscription!=""}`), func(s *SubscriptionRate, v float64) { s.RetryExhaustedPerSec = v }),

	brokerQ(sumBy(byBroker, `danube_broker_topics_owned`), func(b *BrokerMetrics, v float64) { b.TopicsOwned = int64(v) }),
	brokerQ(sumBy(byBroker, `danube_leader_election_state`), func(b *BrokerMetrics, v float64) { b.Leader = v >= 1 }),
	brokerQ(rateBy(byBroker, `danube_broker_rpc_total`), func(b *BrokerMetrics, v float64) { b.RPCPerSec = v }),
	brokerQ(rateBy(byBroker, `danube_broker_rpc_total{result="error"}`), func(b *BrokerMetrics, v float64) { b.RPCErrorsPerSec = v }),
	brokerQ(rateBy(byBroker, `danube_authz_deny_total`), func(b *BrokerMetrics, v float64) { b.AuthzDeniesPerSec = v }),
}

func (r *promRows) topic(m model.Metric) *TopicRate {
	k := [2]string{string(m["broker"]), string(m["topic"])}
	if k[1] == "" {
		return nil
	}
	t := r.topics[k]
	if t == nil {
		t = &TopicRate{Broker: k[0], Topic: k[1], Window: PromRateRange}
		r.topics[k] = t
	}
	return t
}

func (r *promRows) sub(m model.Metric) *SubscriptionRate {
	k := promSubKey{string(m["broker"]), string(m["topic"]), string(m["subscription"])}
	if k.topic == "" || k.sub == "" {
		return nil
	}
	s := r.subs[k]
	if s == nil {
		s = &SubscriptionRate{Broker: k.broker, Topic: k.topic, Subscription: k.sub, Window: PromRateRange}
		r.subs[k] = s
	}
	return s
}

func (r *promRows) broker(id string) *BrokerMetrics {
	b := r.brokers[id]
	if b == nil {
		b = &BrokerMetrics{ID: id, Window: PromRateRange}
		r.brokers[id] = b
	}
	return b
}

func (r *promRows) latencyOf(m model.Metric) *[2]float64 {
	k := [2]string{string(m["broker"]), string(m["topic"])}
	l := r.latency[k]
	if l == nil {
		l = &[2]float64{}
		r.latency[k] = l
	}
	return l
}

// queryRows runs promRowQueries, promParallel at a time, and builds the rows from their answers; the first
// query that fails fails the poll.
func (p *promSource) queryRows(ctx context.Context) ([]BrokerMetrics, *scrapeResult, error) {
	answers := make([]model.Vector, len(promRowQueries))
	errs := make([]error, len(promRowQueries))
	sem := make(chan struct{}, promParallel)
	var wg sync.WaitGroup
	for i, q := range promRowQueries {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			answers[i], errs[i] = p.query(ctx, q.q)
		})
	}
	wg.Wait()
	if err := firstErr(errs); err != nil {
		return nil, nil, err
	}
	r := &promRows{topics: map[[2]string]*TopicRate{}, subs: map[promSubKey]*SubscriptionRate{},
		brokers: map[string]*BrokerMetrics{}, latency: map[[2]string]*[2]float64{}}
	for i, q := range promRowQueries {
		for _, s := range answers[i] {
			if v := float64(s.Value); finite(v) {
				q.apply(r, s.Metric, v)
			}
		}
	}
	bros, res := p.buildRows(r)
	return bros, res, nil
}

func firstErr(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// buildRows sorts the rows, sums the topics' figures into their brokers' and the subscriptions' into their
// topics', and follows each subscription's lag growth from the previous poll.
func (p *promSource) buildRows(r *promRows) ([]BrokerMetrics, *scrapeResult) {
	res := &scrapeResult{}
	grows := make(map[promSubKey]lagGrowthMark, len(r.subs))
	for k, s := range r.subs {
		g := lagGrowthMark{lag: float64(s.Lag)}
		if prev, ok := p.grows[k]; ok && g.lag > prev.lag {
			g.since, g.from = prev.since, prev.from
			if g.since.IsZero() {
				g.since, g.from = p.state.LastOK, prev.lag
			}
		}
		grows[k] = g
		s.LagGrowingSince, s.LagGrowingFrom = g.since, int64(g.from)
		res.subs = append(res.subs, *s)
		t := r.topic(model.Metric{"broker": model.LabelValue(k.broker), "topic": model.LabelValue(k.topic)})
		t.MsgsOutPerSec += s.MsgsOutPerSec
		t.BytesOutPerSec += s.BytesOutPerSec
		t.Lag += s.Lag
	}
	p.grows = grows
	latency := map[string]*[2]float64{}
	for k, t := range r.topics {
		res.topics = append(res.topics, *t)
		b := r.broker(k[0])
		b.MsgsInPerSec += t.MsgsInPerSec
		b.BytesInPerSec += t.BytesInPerSec
		b.MsgsOutPerSec += t.MsgsOutPerSec
		b.BytesOutPerSec += t.BytesOutPerSec
		if l := r.latency[k]; l != nil {
			bl := latency[k[0]]
			if bl == nil {
				bl = &[2]float64{}
				latency[k[0]] = bl
			}
			bl[0], bl[1] = bl[0]+l[0], bl[1]+l[1]
		}
	}
	bros := make([]BrokerMetrics, 0, len(r.brokers))
	for id, b := range r.brokers {
		if l := latency[id]; l != nil && l[1] > 0 {
			b.PublishLatencyMeanMs = l[0] / l[1]
		}
		bros = append(bros, *b)
	}
	slices.SortFunc(bros, func(a, b BrokerMetrics) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(res.topics, cmpTopicRows)
	slices.SortFunc(res.subs, cmpSubRows)
	return bros, res
}

// ---- the charts' history ----

// history returns the kept range answer of (topic, span), and queues a range query for it when there is
// none or it is older than one poll interval. It never blocks.
func (p *promSource) history(topic string, span time.Duration) (TopicHistory, bool) {
	if p.api == nil {
		return TopicHistory{}, false
	}
	k := histKey{topic, span}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tick++
	e := p.hist[k]
	if e == nil {
		if len(p.hist) >= maxPromHistories {
			p.evictLocked()
		}
		e = &promHist{}
		p.hist[k] = e
	}
	e.lastUsed = p.tick
	if !e.running && (e.at.IsZero() || p.now().Sub(e.at) >= p.interval) {
		select {
		case p.reqs <- k:
			e.running, e.at = true, p.now()
		default: // the queue is full: asked again at the next call
		}
	}
	if !e.ok {
		return TopicHistory{}, false
	}
	h := e.h
	h.In, h.Out, h.Lag = slices.Clone(h.In), slices.Clone(h.Out), slices.Clone(h.Lag)
	return h, true
}

// evictLocked forgets the least recently used answer that is not being asked. p.mu is held.
func (p *promSource) evictLocked() {
	var old histKey
	found := false
	for k, e := range p.hist {
		if !e.running && (!found || e.lastUsed < p.hist[old].lastUsed) {
			old, found = k, true
		}
	}
	if found {
		delete(p.hist, old)
	}
}

// historyStep is the step of a range query over span: whole seconds, at most maxPromPoints points.
func historyStep(span time.Duration) time.Duration {
	step := (span + maxPromPoints - 1) / maxPromPoints
	return max(step.Round(time.Second), time.Second)
}

// topicSelector selects topic's series, and its partitions' ("" selects every topic).
func topicSelector(topic string) string {
	if topic == "" {
		return `{topic!=""}`
	}
	return "{topic=~" + strconv.Quote(regexp.QuoteMeta(topic)+"(-part-[0-9]+)?") + "}"
}

// runHistory asks the server for (k.topic, k.span) and keeps the answer (a failure keeps the previous one).
func (p *promSource) runHistory(ctx context.Context, k histKey) {
	h, err := p.queryHistory(ctx, k.topic, k.span)
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.hist[k]
	if e == nil {
		return
	}
	e.running = false
	if err != nil {
		return // the state shows the polls' failures; the chart keeps what it had
	}
	e.h, e.ok = h, true
}

// queryHistory runs the range queries of one topic's history: the admin UI's series (spec §6.3).
func (p *promSource) queryHistory(ctx context.Context, topic string, span time.Duration) (TopicHistory, error) {
	step := historyStep(span)
	n := int(span / step)
	end := p.now().Truncate(step)
	start := end.Add(-time.Duration(n-1) * step)
	sel := topicSelector(topic)
	rr := model.Duration(PromRateRange)
	h := TopicHistory{Topic: topic, Step: step, End: end, Source: "prometheus"}
	for _, q := range []struct {
		q   string
		dst *[]float64
	}{
		{fmt.Sprintf("sum(rate(danube_topic_messages_in_total%s[%s]))", sel, rr), &h.In},
		{fmt.Sprintf("sum(rate(danube_consumer_messages_out_total%s[%s]))", sel, rr), &h.Out},
		{fmt.Sprintf("sum(danube_subscription_lag_messages%s)", sel), &h.Lag},
	} {
		pts := make([]float64, n)
		for i := range pts {
			pts[i] = math.NaN()
		}
		qctx, cancel := context.WithTimeout(ctx, p.timeout)
		v, _, _, err := p.api.QueryRange(qctx, q.q, promv1.Range{Start: start, End: end, Step: step}, promv1.WithTimeout(p.timeout))
		cancel()
		if err != nil {
			return h, fmt.Errorf("prometheus %s: %s: %w", p.state.URL, q.q, err)
		}
		if mat, ok := v.(model.Matrix); ok {
			for _, ss := range mat {
				for _, sp := range ss.Values {
					if i := int(sp.Timestamp.Time().Sub(start) / step); i >= 0 && i < n && finite(float64(sp.Value)) {
						pts[i] = float64(sp.Value)
					}
				}
			}
		}
		*q.dst = pts
	}
	return h, nil
}
