package broker

import (
	"slices"
	"strconv"
)

// Key-shared routing: a consumer is eligible for a key when it has no filters or one of its filters matches
// the key; among eligible consumers a consistent-hash ring with ringReplicas virtual nodes per consumer picks
// one, so a key keeps its consumer while the set of consumers does not change.

const ringReplicas = 100

// keyHash is the real broker's hash: FNV-1a-64, XOR-folded to 32 bits, then the murmur3 finalizer.
func keyHash(s string) uint32 {
	const (
		offset64 = 14695981039346656037
		prime64  = 1099511628211
	)
	h := uint64(offset64)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= prime64
	}
	x := uint32(h ^ (h >> 32))
	x ^= x >> 16
	x *= 0x85ebca6b
	x ^= x >> 13
	x *= 0xc2b2ae35
	x ^= x >> 16
	return x
}

type ringNode struct {
	hash uint32
	c    *consumer
}

// hashRing is immutable once built; subscriptions swap in a new one when their consumers change.
type hashRing []ringNode

func buildRing(cs []*consumer) hashRing {
	r := make(hashRing, 0, len(cs)*ringReplicas)
	for _, c := range cs {
		id := strconv.FormatUint(c.id, 10)
		for i := range ringReplicas {
			r = append(r, ringNode{hash: keyHash(id + "-" + strconv.Itoa(i)), c: c})
		}
	}
	slices.SortFunc(r, func(a, b ringNode) int {
		if a.hash != b.hash {
			return int(int64(a.hash) - int64(b.hash))
		}
		return int(int64(a.c.seq) - int64(b.c.seq))
	})
	return r
}

// pick returns the consumer that owns key among those for which ok returns true, or nil when none does.
func (r hashRing) pick(key string, ok func(*consumer) bool) *consumer {
	if len(r) == 0 {
		return nil
	}
	h := keyHash(key)
	start, _ := slices.BinarySearchFunc(r, h, func(n ringNode, h uint32) int {
		switch {
		case n.hash < h:
			return -1
		case n.hash > h:
			return 1
		}
		return 0
	})
	var tried *consumer // consecutive nodes often share a consumer; skip repeated checks
	for i := range len(r) {
		c := r[(start+i)%len(r)].c
		if c == tried {
			continue
		}
		if ok(c) {
			return c
		}
		tried = c
	}
	return nil
}

// acceptsKey reports whether c's key filters let it receive key.
func (c *consumer) acceptsKey(key string) bool {
	fs := c.filters.Load()
	if fs == nil || len(*fs) == 0 {
		return true
	}
	for _, f := range *fs {
		if f.match(key) {
			return true
		}
	}
	return false
}
