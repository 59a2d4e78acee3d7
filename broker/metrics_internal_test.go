package broker

import (
	"math"
	"testing"
	"time"
)

// TestSummaryWindow checks the summaries' quantiles against exact ones, and that they cover the last 60 s
// (three 20 s buckets) while the sum and count stay cumulative.
func TestSummaryWindow(t *testing.T) {
	var s summary
	sec := int64(time.Second)
	for v := 1; v <= 1000; v++ {
		s.observe(float64(v), 5*sec)
	}
	count, sum, qs := s.snapshot(5 * sec)
	if count != 1000 || sum != 500500 {
		t.Fatalf("count %d sum %v", count, sum)
	}
	exact := map[float64]float64{0: 1, 0.5: 500, 0.9: 900, 0.95: 950, 0.99: 990, 0.999: 999, 1: 1000}
	for q, want := range exact {
		if got := qs[q]; math.Abs(got-want) > 0.011*want {
			t.Errorf("quantile %v = %v, want %v within 1%%", q, got, want)
		}
	}
	if qs[0] != 1 || qs[1] != 1000 {
		t.Errorf("min and max must be exact: %v %v", qs[0], qs[1])
	}

	// 50 s later the first bucket is still in the window; 65 s later it is not.
	s.observe(0, 55*sec)
	if _, _, qs := s.snapshot(55 * sec); qs[0] != 0 || qs[1] != 1000 {
		t.Fatalf("at 55 s: %v", qs)
	}
	count, sum, qs = s.snapshot(65 * sec)
	if count != 1001 || sum != 500500 || qs[0] != 0 || qs[1] != 0 || qs[0.5] != 0 {
		t.Fatalf("at 65 s: count %d sum %v quantiles %v", count, sum, qs)
	}
	// Nothing in the window: the quantiles are 0, the totals stay.
	count, _, qs = s.snapshot(200 * sec)
	if count != 1001 || len(qs) != 7 || qs[0.99] != 0 {
		t.Fatalf("empty window: count %d quantiles %v", count, qs)
	}
	// A bucket reused for a later period starts afresh.
	s.observe(7, 125*sec) // the same bucket as 5 s and 65 s
	if _, _, qs := s.snapshot(125 * sec); qs[0] != 7 || qs[1] != 7 {
		t.Fatalf("reused bucket: %v", qs)
	}
}
