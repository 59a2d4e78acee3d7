package bench

import (
	"testing"
	"testing/synctest"
	"time"
)

// TestPacedEndsOnTime checks the pace of --rate in a bubble's time: 8 sends at 4 a second after a burst of 4
// take one second and the ninth ask ends the run at once; with a 2 s deadline the sends stop at the deadline,
// not a turn after it.
func TestPacedEndsOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		quota := 8
		p := paced(t.Context(), func() bool { quota--; return quota >= 0 }, 4, 4, time.Time{})
		start := time.Now()
		for i := range 8 {
			if !p() {
				t.Fatalf("send %d refused", i+1)
			}
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("8 sends at 4 a second after a burst of 4 took %v, want 1s", d)
		}
		if p() || time.Since(start) != time.Second {
			t.Fatalf("the ninth ask: the run ended at %v, want 1s", time.Since(start))
		}
	})
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		deadline := start.Add(2 * time.Second)
		p := paced(t.Context(), func() bool { return time.Now().Before(deadline) }, 4, 4, deadline)
		n := 0
		for p() {
			n++
		}
		if d := time.Since(start); n != 11 || d != 2*time.Second {
			t.Fatalf("%d sends in %v, want 11 (4 at once, then one every 250 ms before 2s) ending at 2s", n, d)
		}
	})
}
