package monitor

import (
	"math/bits"
	"time"
)

// Latency histograms are log-linear (HDR-like): durations below 16 ns have a bucket each, and every power of
// two above has 8 buckets, so a bucket is at most 12.5% wide and a quantile, reported as its bucket's
// middle, is within about 6% of the true value. Durations of 2^42 ns (73 min) and more share the last
// bucket; Max is exact.
const (
	histSubBits = 3
	histSub     = 1 << histSubBits
	histMaxBits = 42
	histBuckets = (histMaxBits - histSubBits + 1) * histSub
	// histWindow is how long a histogram window lasts: quantiles cover the current window and the one
	// before, so they describe the last one to two minutes, not the whole session.
	histWindow = 60
)

// bucketOf returns the bucket of a duration in nanoseconds.
func bucketOf(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	v = min(v, 1<<histMaxBits-1)
	e := bits.Len64(v) - histSubBits - 1
	return e*histSub + int(v>>e)
}

// bucketMid returns the middle of a bucket, in nanoseconds.
func bucketMid(i int) uint64 {
	if i < 2*histSub {
		return uint64(i)
	}
	e := i/histSub - 1
	m := uint64(i%histSub + histSub)
	return m<<e + (uint64(1)<<e)/2
}

// histWin is one window of a histogram.
type histWin struct {
	n      uint64
	max    int64
	lo, hi int // the lowest and highest buckets used (when n > 0)
	b      [histBuckets]uint32
}

// emptyWin is an empty window, only ever read.
var emptyWin histWin

// hist is a latency histogram over the last one to two histWindow windows. Its owner's mutex guards it.
type hist struct {
	win       int64 // the window of cur (Unix seconds / histWindow)
	cur, prev histWin
	// The last summary, and what it was computed from: Snapshot asks again and again while nothing changed.
	memo              Latency
	memoWin, memoNow  int64
	memoCur, memoPrev uint64
}

// add records d at second sec.
func (h *hist) add(sec int64, d time.Duration) {
	if w := sec / histWindow; w > h.win {
		if w == h.win+1 {
			h.prev = h.cur
		} else {
			h.prev = histWin{}
		}
		h.cur = histWin{}
		h.win = w
	}
	h.cur.add(d)
}

// add records one sample; a negative duration counts as zero.
func (w *histWin) add(d time.Duration) {
	v := max(int64(d), 0)
	i := bucketOf(uint64(v))
	if w.n == 0 {
		w.lo, w.hi = i, i
	} else {
		w.lo, w.hi = min(w.lo, i), max(w.hi, i)
	}
	w.n++
	w.max = max(w.max, v)
	w.b[i]++
}

// summary returns the count, median, 99th percentile and maximum of the samples of the last one to two
// windows before second now.
func (h *hist) summary(now int64) Latency {
	w := now / histWindow
	a, b := &h.cur, &h.prev
	switch {
	case w <= h.win:
	case w == h.win+1:
		b = &emptyWin
	default:
		return Latency{}
	}
	n := a.n + b.n
	if n == 0 {
		return Latency{}
	}
	if h.memoWin == h.win && h.memoNow == w && h.memoCur == a.n && h.memoPrev == h.prev.n {
		return h.memo
	}
	lo, hi := a.lo, a.hi
	switch {
	case a.n == 0:
		lo, hi = b.lo, b.hi
	case b.n > 0:
		lo, hi = min(lo, b.lo), max(hi, b.hi)
	}
	mx := uint64(max(a.max, b.max))
	q50, q99 := rank(n, 0.50), rank(n, 0.99)
	var p50, p99, seen uint64
	got50 := false
	for i := lo; i <= hi; i++ {
		seen += uint64(a.b[i]) + uint64(b.b[i])
		if !got50 && seen >= q50 {
			p50, got50 = min(bucketMid(i), mx), true
		}
		if seen >= q99 {
			p99 = min(bucketMid(i), mx)
			break
		}
	}
	h.memo = Latency{Count: n, P50: time.Duration(p50), P99: time.Duration(p99), Max: time.Duration(mx)}
	h.memoWin, h.memoNow, h.memoCur, h.memoPrev = h.win, w, a.n, h.prev.n
	return h.memo
}

// rank is the 1-based rank of quantile q among n samples.
func rank(n uint64, q float64) uint64 {
	r := uint64(q*float64(n) + 0.999999)
	return min(max(r, 1), n)
}
