package broker

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, key string
		want         bool
	}{
		{"eu-*", "eu-west", true},
		{"eu-*", "us-eu-1", false},
		{"a?c", "abc", true},
		{"a?c", "abbc", false},
		{"*", "", true},
		{"", "", true},
		{"", "a", false},
		{"a*", "a*b", true}, // a literal '*' in the key
		{"*x", "*ax", true},
		{"a*c", "a*bc", true},
		{"*a*b*", "xxaxxbxx", true},
		{"*a*b", "xxaxxbxxc", false},
		{"A*", "abc", false}, // case-sensitive
		{"??", "é", true},    // '?' is one byte; é is two
		{"a*?b*c", "axbyc", true},
		{"a*?b*c", "abc", false},
		{"*ab?d*", "xxabxabcdyy", true},
		{"*ab?d", "abcdabcd", true},
		{"a**b", "ab", true},
		{"?*?", "a", false},
		{"?*?", "ab", true},
		{"*aab", "aaab", true}, // the KMP fallback
		{"*a?ab", "aaaab", true},
	} {
		if got := globMatch(tc.pattern, tc.key); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.key, got, tc.want)
		}
	}
}

func TestKeyHashIsTheRealBrokersHash(t *testing.T) {
	// FNV-1a-64 of "" is the offset basis 0xcbf29ce484222325; folded: 0xcbf29ce4 ^ 0x84222325 = 0x4fd0bfc1,
	// then the murmur3 finalizer.
	x := uint32(0x4fd0bfc1)
	x ^= x >> 16
	x *= 0x85ebca6b
	x ^= x >> 13
	x *= 0xc2b2ae35
	x ^= x >> 16
	if got := keyHash(""); got != x {
		t.Fatalf("keyHash(\"\") = %#x, want %#x", got, x)
	}
	if keyHash("a") == keyHash("b") {
		t.Fatal("different keys hash alike")
	}
}

func TestPartitionBase(t *testing.T) {
	for name, want := range map[string]string{
		"/default/t-part-0":  "/default/t",
		"/default/t-part-12": "/default/t",
		"/default/t-part-":   "",
		"/default/t-part-x":  "",
		"/default/t":         "",
	} {
		got, ok := partitionBase(name)
		if got != want || ok != (want != "") {
			t.Errorf("partitionBase(%q) = %q, %v; want %q", name, got, ok, want)
		}
	}
}

// backtrackGlob is the matcher keyFilter replaced (two pointers, backtracking to the last '*'): the reference
// for the differential test and the baseline for the benchmarks. It costs O(len(key) × len(pattern)).
func backtrackGlob(pattern, key string) bool {
	p, k := 0, 0
	star, mark := -1, 0
	for k < len(key) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, k
			p++
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == key[k]):
			p++
			k++
		case star >= 0:
			p = star + 1
			mark++
			k = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// TestKeyFilterAgreesWithBacktracking compares the compiled matcher with the backtracking one on random
// short patterns and keys over a small alphabet, where every kind of overlap occurs; parts longer than 64
// bytes exercise the multi-word automaton.
func TestKeyFilterAgreesWithBacktracking(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gen := func(alphabet string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		return string(b)
	}
	for i := range 200000 {
		pattern := gen("ab?*", r.IntN(8))
		key := gen("ab", r.IntN(12))
		if i%100 == 0 { // long parts
			pattern = gen("ab?", 60+r.IntN(80)) + "*" + gen("ab?", r.IntN(70))
			key = gen("ab", r.IntN(300))
		}
		if got, want := compileKeyFilter(pattern).match(key), backtrackGlob(pattern, key); got != want {
			t.Fatalf("match(%q, %q) = %v, backtracking says %v", pattern, key, got, want)
		}
	}
}

// adversarialFilters are filters of about n bytes that make the backtracking matcher do len(key) ×
// len(filter) work on a key of 'a's: each almost matches at every position and fails on a 'b'. Only
// "matches" matches.
func adversarialFilters(n int) map[string]string {
	return map[string]string{
		"literal":    "*" + strings.Repeat("a", n-3) + "b*",
		"with ?":     "*" + strings.Repeat("a?", (n-3)/2) + "b*",
		"many stars": "*" + strings.Repeat("a*", (n-3)/2) + "b*",
		"anchored":   "a*" + strings.Repeat("a", n-4) + "b*",
		"matches":    "*" + strings.Repeat("a", n-2) + "*",
	}
}

// TestKeyFilterLinear: a 20 KB filter and a 200 KB key (one publish took 5 s with the backtracking matcher)
// are matched in O(len(key)) steps: KMP examines each key byte at most twice, and the Shift-And automaton
// works one word per 64 pattern bytes per key byte.
func TestKeyFilterLinear(t *testing.T) {
	const filterLen, keyLen = 20_000, 200_000
	key := strings.Repeat("a", keyLen)
	for name, pattern := range adversarialFilters(filterLen) {
		f := compileKeyFilter(pattern)
		ok, steps := f.matchSteps(key)
		if want := !strings.Contains(pattern, "b"); ok != want {
			t.Errorf("%s: match = %v, want %v", name, ok, want)
		}
		bound := 2*(keyLen+filterLen) + 1
		if strings.Contains(pattern, "?") {
			bound = keyLen*((filterLen+63)/64) + 2*filterLen
		}
		if steps > bound {
			t.Errorf("%s: %d steps for a %d-byte key and a %d-byte filter, want at most %d", name, steps, keyLen, filterLen, bound)
		}
		t.Logf("%s: %d steps", name, steps)
	}
	// With filters within MaxKeyFilterLength, every kind of filter costs a few steps per key byte.
	for name, pattern := range adversarialFilters(MaxKeyFilterLength) {
		if _, steps := compileKeyFilter(pattern).matchSteps(key); steps > 5*keyLen {
			t.Errorf("%s, %d bytes: %d steps for a %d-byte key", name, len(pattern), steps, keyLen)
		}
	}
}

// The benchmarks match a 2 KB adversarial filter against a 20 KB key, with the compiled matcher and with the
// backtracking baseline. On a 2-core machine: literal 55 µs against 78 ms, with '?' 0.5 ms against 49 ms,
// anchored 54 µs against 87 ms; the gap grows with the filter's and the key's length.
func benchmarkKeyFilter(b *testing.B, match func(pattern, key string) bool) {
	key := strings.Repeat("a", 20_000)
	for name, pattern := range adversarialFilters(2_000) {
		b.Run(strings.ReplaceAll(name, " ", "-"), func(b *testing.B) {
			for b.Loop() {
				match(pattern, key)
			}
		})
	}
}

func BenchmarkKeyFilter(b *testing.B) {
	cache := map[string]*keyFilter{} // filters are compiled once, at Subscribe
	benchmarkKeyFilter(b, func(pattern, key string) bool {
		f := cache[pattern]
		if f == nil {
			f = compileKeyFilter(pattern)
			cache[pattern] = f
		}
		return f.match(key)
	})
}

func BenchmarkKeyFilterBacktrackingBaseline(b *testing.B) {
	benchmarkKeyFilter(b, backtrackGlob)
}
