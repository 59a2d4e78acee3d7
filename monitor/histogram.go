package monitor

import "time"

// Histogram is a latency histogram of every sample added, with the buckets of the console's latency
// figures: a quantile is reported as its bucket's middle, within about 6% of the true value, and Max is
// exact. It takes a fixed 1.3 KB however many samples it holds. The zero value is empty and ready to use;
// a Histogram is not safe for concurrent use (give each goroutine its own and Merge them).
type Histogram struct {
	w histWin
}

// Add records one sample; a negative duration counts as zero.
func (h *Histogram) Add(d time.Duration) { h.w.add(d) }

// Merge adds the samples of o to h.
func (h *Histogram) Merge(o *Histogram) {
	a, b := &h.w, &o.w
	if b.n == 0 {
		return
	}
	if a.n == 0 {
		a.lo, a.hi = b.lo, b.hi
	} else {
		a.lo, a.hi = min(a.lo, b.lo), max(a.hi, b.hi)
	}
	for i := b.lo; i <= b.hi; i++ {
		a.b[i] += b.b[i]
	}
	a.n += b.n
	a.max = max(a.max, b.max)
}

// Count returns the number of samples.
func (h *Histogram) Count() uint64 { return h.w.n }

// Max returns the largest sample (0 when there is none).
func (h *Histogram) Max() time.Duration { return time.Duration(h.w.max) }

// Quantile returns the q-quantile of the samples (q in [0, 1]; 0.99 for the 99th percentile), never more
// than Max; 0 when there is no sample.
func (h *Histogram) Quantile(q float64) time.Duration {
	w := &h.w
	if w.n == 0 {
		return 0
	}
	r := rank(w.n, q)
	var seen uint64
	for i := w.lo; i <= w.hi; i++ {
		seen += uint64(w.b[i])
		if seen >= r {
			return time.Duration(min(bucketMid(i), uint64(w.max)))
		}
	}
	return time.Duration(w.max)
}
