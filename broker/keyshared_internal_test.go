package broker

import "testing"

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
