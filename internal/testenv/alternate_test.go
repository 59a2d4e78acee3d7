package testenv

import (
	"strings"
	"testing"
	"time"
)

// TestAlternate checks that every operation is run once, shared between the rounds, and that the sides take
// turns at going first.
func TestAlternate(t *testing.T) {
	var order []string
	counts := map[string]int{}
	side := func(name string) func(int) time.Duration {
		return func(n int) time.Duration {
			order = append(order, name)
			counts[name] += n
			return time.Duration(n)
		}
	}
	got := Alternate(10, 4, side("a"), side("b"), side("c"))
	if want := "abccbaabccba"; strings.Join(order, "") != want {
		t.Errorf("order %v, want %s", order, want)
	}
	for i, name := range []string{"a", "b", "c"} {
		if counts[name] != 10 || got[i] != 10 {
			t.Errorf("side %s ran %d operations, timed %v; want 10", name, counts[name], got[i])
		}
	}
}
