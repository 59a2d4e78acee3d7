package testenv

import "time"

// Alternate runs a benchmark's sides in rounds, for figures compared in one run: n operations are shared
// between the rounds (the first n%rounds rounds get one more), and each round runs every side with its share,
// in order on even rounds and in reverse order on odd ones, so that neither side always runs first (on a warm
// or a cold machine). It returns each side's total time, in the order of sides.
func Alternate(n, rounds int, sides ...func(n int) time.Duration) []time.Duration {
	total := make([]time.Duration, len(sides))
	for i := range rounds {
		share := n / rounds
		if i < n%rounds {
			share++
		}
		for j := range sides {
			if i%2 == 1 {
				j = len(sides) - 1 - j
			}
			total[j] += sides[j](share)
		}
	}
	return total
}
