package broker

import "strings"

// Key filters are globs over raw bytes: '*' matches any sequence, '?' exactly one byte, everything else
// itself (case-sensitive, no character classes), and the whole key must match.
//
// A filter is compiled once, when its consumer subscribes, into the parts between its stars. A key matches
// "P0*P1*…*Pk" when P0 matches its start, Pk its end, and P1…Pk-1 occur in order in between; taking each
// middle part at its leftmost occurrence after the previous one is enough (the parts have fixed lengths, so
// an earlier end never leaves less room), so there is no backtracking. A part without '?' is found with
// Knuth–Morris–Pratt, a part with '?' with the bit-parallel Shift-And automaton; each part's search starts
// where the previous one matched, so the key is scanned once. Matching costs O(len(key)) steps for a
// filter without '?', and O(len(key) × ⌈m/64⌉) for one with '?' parts of up to m bytes — with
// MaxKeyFilterLength, at most 4 machine words per key byte. The backtracking matcher this replaces cost
// O(len(key) × len(filter)): 5 s for a 20 KB filter and a 200 KB key.

// keyFilter is a compiled key filter; it is immutable.
type keyFilter struct {
	pattern string
	stars   bool        // the pattern has a '*'; without one, prefix is the whole pattern
	prefix  globPart    // before the first '*': matches the key's start
	suffix  globPart    // after the last '*': matches the key's end
	middle  []*globPart // between stars, non-empty, in order
	minLen  int         // the fewest bytes a matching key has
}

// globPart is a run of pattern bytes without '*'.
type globPart struct {
	s    string
	wild bool // has '?'
	// Without '?': the KMP failure function (fail[i] is the length of the longest proper border of s[:i+1]).
	fail []int32
	// With '?': Shift-And masks. masks[idx[c]] has bit i set when byte c may stand at position i.
	words int
	idx   [256]uint16
	masks [][]uint64
}

// compileKeyFilter compiles pattern.
func compileKeyFilter(pattern string) *keyFilter {
	f := &keyFilter{pattern: pattern}
	parts := strings.Split(pattern, "*")
	f.prefix = newGlobPart(parts[0])
	f.minLen = len(parts[0])
	if len(parts) == 1 {
		return f
	}
	f.stars = true
	last := parts[len(parts)-1]
	f.suffix = newGlobPart(last)
	f.minLen += len(last)
	for _, p := range parts[1 : len(parts)-1] {
		if p != "" {
			g := newGlobPart(p)
			f.middle = append(f.middle, &g)
			f.minLen += len(p)
		}
	}
	return f
}

func newGlobPart(s string) globPart {
	g := globPart{s: s, wild: strings.IndexByte(s, '?') >= 0}
	if !g.wild {
		g.fail = make([]int32, len(s))
		k := int32(0)
		for i := 1; i < len(s); i++ {
			for k > 0 && s[i] != s[k] {
				k = g.fail[k-1]
			}
			if s[i] == s[k] {
				k++
			}
			g.fail[i] = k
		}
		return g
	}
	g.words = (len(s) + 63) / 64
	// Entry 0: the bytes that only '?' accepts; then one entry per distinct byte of s.
	wildMask := make([]uint64, g.words)
	for i := range len(s) {
		if s[i] == '?' {
			wildMask[i/64] |= 1 << (i % 64)
		}
	}
	g.masks = [][]uint64{wildMask}
	for i := range len(s) {
		c := s[i]
		if c == '?' {
			continue
		}
		if g.idx[c] == 0 {
			g.idx[c] = uint16(len(g.masks))
			g.masks = append(g.masks, append([]uint64(nil), wildMask...))
		}
		g.masks[g.idx[c]][i/64] |= 1 << (i % 64)
	}
	return g
}

// matchAt reports whether g matches key at position at (key has room for it); steps counts the bytes compared.
func (g *globPart) matchAt(key string, at int, steps *int) bool {
	*steps += len(g.s)
	for i := range len(g.s) {
		if g.s[i] != '?' && g.s[i] != key[at+i] {
			return false
		}
	}
	return true
}

// find returns the end of g's leftmost occurrence in key[from:to], or -1. steps counts its work: key bytes
// examined, times the words of the automaton for a part with '?'.
func (g *globPart) find(key string, from, to int, steps *int) int {
	m := len(g.s)
	if to-from < m {
		return -1
	}
	if !g.wild {
		k := int32(0)
		for i := from; i < to; i++ {
			*steps++
			for k > 0 && key[i] != g.s[k] {
				k = g.fail[k-1]
				*steps++ // amortised: k falls at most as often as it rose
			}
			if key[i] == g.s[k] {
				k++
			}
			if int(k) == m {
				return i + 1
			}
		}
		return -1
	}
	var buf [4]uint64 // enough for parts of up to MaxKeyFilterLength bytes
	d := buf[:]
	if g.words <= len(buf) {
		d = buf[:g.words]
	} else {
		d = make([]uint64, g.words)
	}
	top, topBit := (m-1)/64, uint64(1)<<((m-1)%64)
	for i := from; i < to; i++ {
		mask := g.masks[g.idx[key[i]]]
		carry := uint64(1) // a match may start at every byte
		for w := range d {
			next := d[w] >> 63
			d[w] = (d[w]<<1 | carry) & mask[w]
			carry = next
		}
		*steps += g.words
		if d[top]&topBit != 0 {
			return i + 1
		}
	}
	return -1
}

// match reports whether key matches the filter in full.
func (f *keyFilter) match(key string) bool {
	ok, _ := f.matchSteps(key)
	return ok
}

// matchSteps is match that also returns the work done (see find), for tests of the algorithm's cost.
func (f *keyFilter) matchSteps(key string) (bool, int) {
	steps := 0
	if !f.stars {
		return len(key) == len(f.prefix.s) && f.prefix.matchAt(key, 0, &steps), steps
	}
	if len(key) < f.minLen {
		return false, steps
	}
	from, to := len(f.prefix.s), len(key)-len(f.suffix.s)
	if !f.prefix.matchAt(key, 0, &steps) || !f.suffix.matchAt(key, to, &steps) {
		return false, steps
	}
	for _, g := range f.middle {
		end := g.find(key, from, to, &steps)
		if end < 0 {
			return false, steps
		}
		from = end
	}
	return true, steps
}

// globMatch reports whether key matches pattern in full (see keyFilter).
func globMatch(pattern, key string) bool {
	return compileKeyFilter(pattern).match(key)
}
