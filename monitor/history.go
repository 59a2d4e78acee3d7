package monitor

import (
	"math"
	"strings"
	"sync"
	"time"
)

// The charts' history. The console keeps its own samples of the metrics endpoints: on every successful
// scrape, per topic (partitions summed under their base topic's name, and each partition on its own) and for
// the whole cluster (topic ""), the messages per second in and out and the lag, in fixed-size rings of
// float32 covering the last HistorySpan (at most maxHistoryPoints points, one per scrape interval): memory
// proportional to the topics, bounded, and nothing allocated per scrape once the topics are known. A
// Prometheus server (prom.go) answers for longer spans, and for the time before the console started.

// HistorySpan is how far back the console's own samples go (when the metrics interval allows it: see
// maxHistoryPoints).
const HistorySpan = 15 * time.Minute

// maxHistoryPoints bounds the points of one ring: with an interval shorter than HistorySpan/maxHistoryPoints
// the console's samples cover maxHistoryPoints intervals only.
const maxHistoryPoints = 900

// history is the console's samples of every topic. Its mutex guards everything.
type history struct {
	step time.Duration
	n    int // points per ring

	mu    sync.Mutex
	rings map[string]*histRing
	first int64               // the slot of the first sample (-1: none yet)
	head  int64               // the slot of the newest sample
	agg   map[string]*histAgg // scratch of record, reused
	res   []*scrapeResult     // scratch of recordFrom, reused
}

// histRing is one topic's samples: slot s is at index s mod n of in, out and lag.
type histRing struct {
	head         int64 // the newest slot written
	in, out, lag []float32
}

// histAgg sums one topic's figures over the endpoints (and partitions) of one record.
type histAgg struct {
	in, out, lag float64
	rates        bool // some figure had a rate window (in and out are known)
	seen         bool // the topic is in this record
}

// newHistory returns the history of samples taken every step.
func newHistory(step time.Duration) *history {
	n := int(min(max(int64(HistorySpan/step), 2), maxHistoryPoints))
	return &history{step: step, n: n, rings: map[string]*histRing{}, agg: map[string]*histAgg{}, first: -1}
}

func (h *history) slot(t time.Time) int64 { return t.UnixNano() / int64(h.step) }

// recordFrom records what the scraper's endpoints that are up say at time at. Records are serialized by
// h.mu, taken before the scraper's so that the later record always holds the later results.
func (h *history) recordFrom(s *scraper, at time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s.mu.Lock()
	h.res = h.res[:0]
	for _, ep := range s.eps {
		if ep.res != nil {
			h.res = append(h.res, ep.res)
		}
	}
	s.mu.Unlock()
	h.recordLocked(at, h.res)
	clear(h.res)
}

// record records results (one per endpoint) as the sample of time at.
func (h *history) record(at time.Time, results []*scrapeResult) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recordLocked(at, results)
}

func (h *history) recordLocked(at time.Time, results []*scrapeResult) {
	k := h.slot(at)
	if k < h.head {
		return // a clock that went back: keep what is newer
	}
	for _, a := range h.agg {
		*a = histAgg{}
	}
	total := h.aggOf("")
	for _, res := range results {
		for i := range res.topics {
			tr := &res.topics[i]
			total.add(tr)
			h.aggOf(tr.Topic).add(tr)
			if base, ok := baseTopic(tr.Topic); ok {
				h.aggOf(base).add(tr)
			}
		}
	}
	if h.first < 0 {
		h.first = k
	}
	h.head = k
	for name, a := range h.agg {
		r := h.rings[name]
		if !a.seen {
			if r == nil || r.head <= k-int64(h.n) {
				delete(h.agg, name) // gone for longer than the rings go back: forget it
				delete(h.rings, name)
			}
			continue
		}
		if r == nil {
			buf := make([]float32, 3*h.n)
			r = &histRing{head: k, in: buf[:h.n:h.n], out: buf[h.n : 2*h.n : 2*h.n], lag: buf[2*h.n:]}
			fillNaN(r.in, r.out, r.lag)
			h.rings[name] = r
		}
		r.write(k, a, h.n)
	}
}

// aggOf returns the scratch sums of name, marked seen in this record.
func (h *history) aggOf(name string) *histAgg {
	a := h.agg[name]
	if a == nil {
		a = &histAgg{}
		h.agg[name] = a
	}
	a.seen = true
	return a
}

func (a *histAgg) add(tr *TopicRate) {
	a.lag += float64(tr.Lag)
	if tr.Window > 0 {
		a.rates = true
		a.in += tr.MsgsInPerSec
		a.out += tr.MsgsOutPerSec
	}
}

// write stores a as slot k, clearing the slots skipped since the last write.
func (r *histRing) write(k int64, a *histAgg, n int) {
	for s := max(r.head+1, k-int64(n)+1); s < k; s++ {
		i := s % int64(n)
		r.in[i], r.out[i], r.lag[i] = nan32, nan32, nan32
	}
	if k > r.head {
		r.head = k
	}
	i := k % int64(n)
	r.in[i], r.out[i], r.lag[i] = nan32, nan32, float32(a.lag)
	if a.rates {
		r.in[i], r.out[i] = float32(a.in), float32(a.out)
	}
}

var nan32 = float32(math.NaN())

func fillNaN(ss ...[]float32) {
	for _, s := range ss {
		for i := range s {
			s[i] = nan32
		}
	}
}

// baseTopic returns the topic a partition ("/ns/t-part-3") belongs to.
func baseTopic(topic string) (string, bool) {
	i := strings.LastIndex(topic, "-part-")
	if i <= 0 || i+len("-part-") == len(topic) {
		return "", false
	}
	for _, c := range topic[i+len("-part-"):] {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return topic[:i], true
}

// read returns topic's samples over the last span (at most the ring's), and whether they cover all of it
// (the console has sampled for at least span).
func (h *history) read(topic string, span time.Duration) (TopicHistory, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	th := TopicHistory{Topic: topic, Step: h.step, Source: "console"}
	if h.first < 0 {
		return th, false
	}
	want := (span + h.step - 1) / h.step
	count := int64(min(want, time.Duration(h.n)))
	th.End = time.Unix(0, h.head*int64(h.step))
	th.In, th.Out, th.Lag = make([]float64, count), make([]float64, count), make([]float64, count)
	r := h.rings[topic]
	for j := range count {
		s := h.head - count + 1 + j
		th.In[j], th.Out[j], th.Lag[j] = math.NaN(), math.NaN(), math.NaN()
		if r == nil || s > r.head || s <= r.head-int64(h.n) || s < h.first {
			continue
		}
		i := s % int64(h.n)
		th.In[j], th.Out[j], th.Lag[j] = float64(r.in[i]), float64(r.out[i]), float64(r.lag[i])
	}
	covered := int64(want) <= count && h.first <= h.head-count+1
	return th, covered
}

// TopicHistory returns topic's traffic over the last span ("" for the whole cluster; span ≤ 0 means
// HistorySpan): see History. It answers from the Prometheus server (Source "prometheus") when one is
// configured, the console's own samples do not cover the span (it is longer than they go back, or the
// console started less than span ago), and the server has answered; the range query that asks it runs in
// the background, started by this call, and its answer is kept for one Prometheus poll interval. Otherwise
// it answers from the console's samples (Source "console"), NaN where none was taken. Without metrics
// endpoints and without Prometheus it returns no points.
func (m *Monitor) TopicHistory(topic string, span time.Duration) TopicHistory {
	if span <= 0 {
		span = HistorySpan
	}
	var local TopicHistory
	covered := false
	if m.hist != nil {
		local, covered = m.hist.read(topic, span)
	}
	if m.prom != nil && !covered {
		if th, ok := m.prom.history(topic, span); ok {
			return th
		}
	}
	if m.hist == nil {
		return TopicHistory{Topic: topic}
	}
	return local
}
