package connectors

import (
	"math"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// numKinds is the number of error kinds (KindRetryable … KindConfig).
const numKinds = int(KindConfig) + 1

// topicCounters count the messages of one instance on one topic. Updated with atomics on the data path.
type topicCounters struct {
	received  atomic.Uint64
	processed atomic.Uint64
	retried   atomic.Uint64
	failed    [numKinds]atomic.Uint64
}

func (c *topicCounters) fail(k Kind, n int) {
	if int(k) < 0 || int(k) >= numKinds {
		k = KindRetryable
	}
	c.failed[k].Add(uint64(n))
}

// histogram is a fixed-bucket histogram of int64 observations, safe for concurrent use without locks.
type histogram struct {
	bounds []int64         // inclusive upper bounds, increasing
	counts []atomic.Uint64 // len(bounds)+1, the last is +Inf
	sum    atomic.Int64    // of the observations
	n      atomic.Uint64   // observations
	scale  float64         // exported value = observation * scale (e.g. 1e-9 for nanoseconds → seconds)
	once   sync.Once       // builds the float bounds for Prometheus
	fb     []float64       // bounds * scale
}

func newHistogram(bounds []int64, scale float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]atomic.Uint64, len(bounds)+1), scale: scale}
}

func (h *histogram) observe(v int64) {
	i := sort.Search(len(h.bounds), func(i int) bool { return h.bounds[i] >= v })
	h.counts[i].Add(1)
	h.sum.Add(v)
	h.n.Add(1)
}

// quantile estimates the q-quantile (0 < q < 1) by linear interpolation inside the bucket that holds it;
// 0 without observations.
func (h *histogram) quantile(q float64) int64 {
	counts := make([]uint64, len(h.counts))
	var total uint64
	for i := range h.counts {
		counts[i] = h.counts[i].Load()
		total += counts[i]
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var cum float64
	for i, c := range counts {
		if c == 0 {
			continue
		}
		if cum+float64(c) >= rank {
			lo := int64(0)
			if i > 0 {
				lo = h.bounds[i-1]
			}
			if i == len(h.bounds) { // beyond the last bound: report the last bound
				return h.bounds[len(h.bounds)-1]
			}
			hi := h.bounds[i]
			frac := (rank - cum) / float64(c)
			return lo + int64(frac*float64(hi-lo))
		}
		cum += float64(c)
	}
	return h.bounds[len(h.bounds)-1]
}

// prom returns the cumulative bucket counts, the count and the sum in exported units.
func (h *histogram) prom() (map[float64]uint64, uint64, float64) {
	h.once.Do(func() {
		h.fb = make([]float64, len(h.bounds))
		for i, b := range h.bounds {
			h.fb[i] = float64(b) * h.scale
		}
	})
	buckets := make(map[float64]uint64, len(h.bounds))
	var cum uint64
	for i := range h.bounds {
		cum += h.counts[i].Load()
		buckets[h.fb[i]] = cum
	}
	n := cum + h.counts[len(h.bounds)].Load()
	return buckets, n, float64(h.sum.Load()) * h.scale
}

var (
	batchSizeBounds = []int64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}
	latencyBounds   = func() []int64 {
		var out []int64
		for _, ms := range []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000} {
			out = append(out, int64(ms*float64(time.Millisecond)))
		}
		return out
	}()
)

// instanceMetrics are an instance's counters, kept across its runs.
type instanceMetrics struct {
	topic     string        // the configured topic: the counters in main
	main      topicCounters // messages of the configured topic
	others    sync.Map      // topic → *topicCounters: records a source sent elsewhere (Record.Topic)
	inflight  atomic.Int64  // records published and not yet acknowledged by Danube, or messages received and not yet acked or nacked
	batches   atomic.Uint64 // batches written (sinks) or settled (sources)
	lastBatch atomic.Int64  // size of the last batch
	batchSize *histogram    // messages per batch
	latency   *histogram    // nanoseconds per batch: Write (sinks), Read to settled (sources)
	restarts  atomic.Uint64 // restarts after a failure
	rate      atomic.Uint64 // float64 bits: processed messages per second over the last sample
	prevProc  uint64        // sampler only
	prevAt    time.Time     // sampler only
}

func newInstanceMetrics(topic string) *instanceMetrics {
	return &instanceMetrics{topic: topic, batchSize: newHistogram(batchSizeBounds, 1), latency: newHistogram(latencyBounds, 1e-9)}
}

// counters returns the counters of topic ("" is the configured topic).
func (m *instanceMetrics) counters(topic string) *topicCounters {
	if topic == "" || topic == m.topic {
		return &m.main
	}
	if c, ok := m.others.Load(topic); ok {
		return c.(*topicCounters)
	}
	c, _ := m.others.LoadOrStore(topic, &topicCounters{})
	return c.(*topicCounters)
}

// each calls f for the configured topic, then the others.
func (m *instanceMetrics) each(f func(topic string, c *topicCounters)) {
	f(m.topic, &m.main)
	m.others.Range(func(k, v any) bool {
		f(k.(string), v.(*topicCounters))
		return true
	})
}

func (m *instanceMetrics) observeBatch(n int, d time.Duration) {
	m.batches.Add(1)
	m.lastBatch.Store(int64(n))
	m.batchSize.observe(int64(n))
	m.latency.observe(int64(d))
}

// sample updates the throughput from the processed count; called by the runtime's sampler only.
func (m *instanceMetrics) sample(now time.Time) {
	var proc uint64
	m.each(func(_ string, c *topicCounters) { proc += c.processed.Load() })
	if !m.prevAt.IsZero() {
		if dt := now.Sub(m.prevAt).Seconds(); dt > 0 {
			m.rate.Store(math.Float64bits(float64(proc-m.prevProc) / dt))
		}
	}
	m.prevProc, m.prevAt = proc, now
}

// collector exports a runtime's instances as danube_connector_* Prometheus series.
type collector struct {
	rt *Runtime
}

var (
	promLabels       = []string{"connector", "kind", "topic"}
	descReceived     = prometheus.NewDesc("danube_connector_messages_received_total", "Messages a source read from its outside system, or a sink received from Danube.", promLabels, nil)
	descProcessed    = prometheus.NewDesc("danube_connector_messages_processed_total", "Messages published and acknowledged by Danube (sources) or written to the outside system (sinks).", promLabels, nil)
	descFailed       = prometheus.NewDesc("danube_connector_messages_failed_total", "Messages that failed for good, by error kind (retryable: retries ran out; invalid-data; fatal; config).", append(promLabels[:3:3], "error_kind"), nil)
	descRetried      = prometheus.NewDesc("danube_connector_messages_retried_total", "Message deliveries or publishes tried again after a retryable failure.", promLabels, nil)
	descInflight     = prometheus.NewDesc("danube_connector_inflight_messages", "Messages published and not yet acknowledged by Danube (sources), or received and not yet acked or nacked (sinks).", promLabels, nil)
	descBatches      = prometheus.NewDesc("danube_connector_batches_total", "Batches written (sinks) or settled (sources).", promLabels, nil)
	descBatchSize    = prometheus.NewDesc("danube_connector_batch_size", "Messages per batch.", promLabels, nil)
	descBatchLatency = prometheus.NewDesc("danube_connector_batch_duration_seconds", "Time to write a batch (sinks), or from reading a batch to settling it (sources).", promLabels, nil)
	descState        = prometheus.NewDesc("danube_connector_state", "1 for the instance's current state, 0 for the others.", append(promLabels[:3:3], "state"), nil)
	descRestarts     = prometheus.NewDesc("danube_connector_restarts_total", "Restarts after a crash or a fatal error.", promLabels, nil)
	descLastError    = prometheus.NewDesc("danube_connector_last_error_timestamp_seconds", "When the instance last reported an error (0: never).", promLabels, nil)
	descDropped      = prometheus.NewDesc("danube_connector_events_dropped_total", "Events dropped because a subscriber of the runtime's events fell behind.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReceived, descProcessed, descFailed, descRetried, descInflight, descBatches,
		descBatchSize, descBatchLatency, descState, descRestarts, descLastError, descDropped} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	for _, i := range c.rt.list() {
		m := i.m
		kind := i.cfg.Kind
		m.each(func(topic string, tc *topicCounters) {
			lv := []string{i.cfg.Name, kind, topic}
			ch <- prometheus.MustNewConstMetric(descReceived, prometheus.CounterValue, float64(tc.received.Load()), lv...)
			ch <- prometheus.MustNewConstMetric(descProcessed, prometheus.CounterValue, float64(tc.processed.Load()), lv...)
			ch <- prometheus.MustNewConstMetric(descRetried, prometheus.CounterValue, float64(tc.retried.Load()), lv...)
			for k := range numKinds {
				ch <- prometheus.MustNewConstMetric(descFailed, prometheus.CounterValue, float64(tc.failed[k].Load()), append(lv, Kind(k).String())...)
			}
		})
		lv := []string{i.cfg.Name, kind, m.topic}
		ch <- prometheus.MustNewConstMetric(descInflight, prometheus.GaugeValue, float64(max(m.inflight.Load(), 0)), lv...)
		ch <- prometheus.MustNewConstMetric(descBatches, prometheus.CounterValue, float64(m.batches.Load()), lv...)
		b, n, sum := m.batchSize.prom()
		ch <- prometheus.MustNewConstHistogram(descBatchSize, n, sum, b, lv...)
		b, n, sum = m.latency.prom()
		ch <- prometheus.MustNewConstHistogram(descBatchLatency, n, sum, b, lv...)
		ch <- prometheus.MustNewConstMetric(descRestarts, prometheus.CounterValue, float64(m.restarts.Load()), lv...)
		st := i.status()
		for _, s := range allStates {
			v := 0.0
			if s == st.State {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, v, append(lv, s.String())...)
		}
		var last float64
		if !st.LastErrorAt.IsZero() {
			last = float64(st.LastErrorAt.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(descLastError, prometheus.GaugeValue, last, lv...)
	}
	ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(c.rt.hub.dropped.Load()))
}
