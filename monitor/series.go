package monitor

// series counts events per second in a ring of SeriesLen one-second buckets indexed by Unix second. It is
// not safe for concurrent use: its owner's mutex guards it. Adding is O(1) (amortised: moving to a new
// second clears the buckets skipped, at most SeriesLen); reading never changes it.
type series struct {
	first int64 // the second the series began (its owner was created): no bucket before it is shown
	last  int64 // the newest second a bucket was opened for
	n     [SeriesLen]uint32
}

func newSeries(sec int64) series { return series{first: sec, last: sec} }

func slot(sec int64) int { return int(uint64(sec) % SeriesLen) }

// add counts v events at second sec. Events older than the ring are dropped.
func (s *series) add(sec int64, v uint64) {
	if sec > s.last {
		if sec-s.last >= SeriesLen {
			s.n = [SeriesLen]uint32{}
		} else {
			for t := s.last + 1; t <= sec; t++ {
				s.n[slot(t)] = 0
			}
		}
		s.last = sec
	} else if sec <= s.last-SeriesLen {
		return
	}
	s.n[slot(sec)] += uint32(v)
}

// at returns the count of second sec (0 when it is not in the ring).
func (s *series) at(sec int64) float64 {
	if sec > s.last || sec <= s.last-SeriesLen || sec < s.first {
		return 0
	}
	return float64(s.n[slot(sec)])
}

// length is how many complete seconds before now the series shows: from its first second, at most SeriesLen.
func (s *series) length(now int64) int {
	return int(max(0, min(SeriesLen, now-s.first)))
}

// fill writes the complete seconds before now, oldest first, into out (of length s.length(now)).
func (s *series) fill(now int64, out []float64) {
	start := now - int64(len(out))
	// Seconds in [lo, hi] are in the ring; the others are zeros.
	lo, hi := max(start, s.first, s.last-SeriesLen+1), min(now-1, s.last)
	clear(out)
	if lo > hi {
		return
	}
	j := slot(lo)
	for i := lo - start; i <= hi-start; i++ {
		out[i] = float64(s.n[j])
		if j++; j == SeriesLen {
			j = 0
		}
	}
}

// arena hands out float64 slices carved from one allocation, so that a snapshot's series cost one
// allocation. Each slice has its own capacity limit: appending to one never writes into another.
type arena struct{ buf []float64 }

func newArena(n int) *arena { return &arena{buf: make([]float64, 0, n)} }

func (a *arena) take(n int) []float64 {
	if n == 0 {
		return []float64{}
	}
	if len(a.buf)+n > cap(a.buf) { // not sized for it (something was added since counting): allocate
		return make([]float64, n)
	}
	i := len(a.buf)
	a.buf = a.buf[:i+n]
	return a.buf[i : i+n : i+n]
}

// seriesOf returns the series' complete seconds before now as a fresh slice from a.
func (a *arena) seriesOf(s *series, now int64) []float64 {
	out := a.take(s.length(now))
	s.fill(now, out)
	return out
}

// secCounter keeps a count for the current second and the one before, for "per second over the last
// second" rates that need no series.
type secCounter struct {
	sec, prevSec int64
	n, prevN     uint64
}

func (c *secCounter) add(sec int64, v uint64) {
	switch {
	case sec == c.sec:
		c.n += v
	case sec > c.sec:
		if sec == c.sec+1 {
			c.prevSec, c.prevN = c.sec, c.n
		} else {
			c.prevSec, c.prevN = 0, 0
		}
		c.sec, c.n = sec, v
	case sec == c.prevSec:
		c.prevN += v
	}
}

// at returns the count of second sec, if it is one of the two kept.
func (c *secCounter) at(sec int64) float64 {
	switch sec {
	case c.sec:
		return float64(c.n)
	case c.prevSec:
		return float64(c.prevN)
	}
	return 0
}
