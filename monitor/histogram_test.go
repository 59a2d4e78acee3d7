package monitor

import (
	"testing"
	"time"
)

// TestHistogramAllSamples checks the quantiles of a known distribution against the bucket precision, and
// that Merge gives the histogram of all the samples.
func TestHistogramAllSamples(t *testing.T) {
	var a, b, all Histogram
	if a.Count() != 0 || a.Quantile(0.5) != 0 || a.Max() != 0 {
		t.Fatalf("empty histogram: %d %v %v", a.Count(), a.Quantile(0.5), a.Max())
	}
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i) * time.Microsecond
		all.Add(d)
		if i%2 == 0 {
			a.Add(d)
		} else {
			b.Add(d)
		}
	}
	a.Merge(&b)
	for _, h := range []*Histogram{&a, &all} {
		if h.Count() != 1000 || h.Max() != time.Millisecond {
			t.Fatalf("count %d max %v", h.Count(), h.Max())
		}
		for _, c := range []struct {
			q    float64
			want time.Duration
		}{{0.5, 500 * time.Microsecond}, {0.95, 950 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, time.Millisecond}} {
			got := h.Quantile(c.q)
			if diff := float64(got-c.want) / float64(c.want); diff < -0.07 || diff > 0.07 || got > h.Max() {
				t.Errorf("quantile %v: %v, want %v within 7%%", c.q, got, c.want)
			}
		}
	}
	if a != all {
		t.Errorf("merged histogram differs from the histogram of all the samples")
	}
	var neg Histogram
	neg.Add(-time.Second)
	if neg.Count() != 1 || neg.Max() != 0 || neg.Quantile(0.5) != 0 {
		t.Errorf("a negative sample: count %d max %v p50 %v", neg.Count(), neg.Max(), neg.Quantile(0.5))
	}
}
