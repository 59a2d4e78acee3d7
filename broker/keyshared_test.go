package broker_test

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/proto/danubepb"
)

// keyOf splits the "key/index" payloads used by the KeyShared tests.
func keyOf(t *testing.T, m *danubepb.StreamMessage) (string, int) {
	t.Helper()
	k, i, ok := strings.Cut(string(m.Payload), "/")
	if !ok {
		t.Fatalf("payload %q is not key/index", m.Payload)
	}
	n, err := strconv.Atoi(i)
	if err != nil {
		t.Fatalf("payload %q: %v", m.Payload, err)
	}
	return k, n
}

func payloadsOf(ms map[string]*danubepb.StreamMessage) []string {
	out := make([]string, 0, len(ms))
	for p := range ms {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// TestKeySharedSameKeySameConsumer sends several messages for each of many keys to three unfiltered
// consumers: every key must stick to one consumer, keep its order, and every consumer must get some keys.
func TestKeySharedSameKeySameConsumer(t *testing.T) {
	for _, reliable := range []bool{false, true} {
		t.Run(fmt.Sprintf("reliable=%v", reliable), func(t *testing.T) {
			w := newWire(t, broker.Options{FailurePolicy: fastPolicy(), MaxUnackedMessages: 100})
			topic := "/default/ks-sticky"
			p := w.mustProducer(topic, "p", reliable)
			streams := map[string]*stream{}
			for _, n := range []string{"c1", "c2", "c3"} {
				streams[n] = w.receive(w.mustSubscribe(topic, "s", n, keyShared))
			}
			const keys, rounds = 60, 3
			for r := range rounds {
				for k := range keys {
					p.mustSendKey(fmt.Sprintf("key-%d/%d", k, r), fmt.Sprintf("key-%d", k))
				}
			}
			owner := map[string]string{}
			last := map[string]int{}
			perConsumer := map[string]map[string]bool{}
			gather(t, streams, keys*rounds, 10*time.Second, func(g named) {
				k, i := keyOf(t, g.m)
				if o, ok := owner[k]; ok && o != g.from {
					t.Fatalf("key %s went to %s and to %s", k, o, g.from)
				}
				owner[k] = g.from
				if prev, ok := last[k]; ok && i != prev+1 || !ok && i != 0 {
					t.Fatalf("key %s: message %d after %d", k, i, prev)
				}
				last[k] = i
				if perConsumer[g.from] == nil {
					perConsumer[g.from] = map[string]bool{}
				}
				perConsumer[g.from][k] = true
				if g.m.RoutingKey == nil || *g.m.RoutingKey != k {
					t.Fatalf("routing_key not passed through: %v", g.m.RoutingKey)
				}
				if reliable {
					w.ack("s", g.m)
				}
			})
			for _, n := range []string{"c1", "c2", "c3"} {
				if len(perConsumer[n]) == 0 {
					t.Fatalf("consumer %s got no key out of %d: %v", n, keys, perConsumer)
				}
			}
			quiet(t, 50*time.Millisecond, streams["c1"], streams["c2"], streams["c3"])
			if si := subInfo(t, w, topic, "s"); si.Dropped != 0 || si.Type != broker.KeyShared {
				t.Fatalf("subscription %+v", si)
			}
		})
	}
}

// TestKeySharedKeyFallsBackToProducerName: without a routing key the producer name is the key.
func TestKeySharedKeyFallsBackToProducerName(t *testing.T) {
	for _, reliable := range []bool{false, true} {
		t.Run(fmt.Sprintf("reliable=%v", reliable), func(t *testing.T) {
			w := newWire(t, broker.Options{FailurePolicy: fastPolicy()})
			topic := "/default/ks-fallback"
			alpha := w.mustProducer(topic, "alpha", reliable)
			beta := w.mustProducer(topic, "beta", reliable)
			a := w.receive(w.mustSubscribe(topic, "s", "ca", keyShared, "alpha"))
			b := w.receive(w.mustSubscribe(topic, "s", "cb", keyShared, "beta"))

			alpha.mustSend("from-alpha")
			beta.mustSend("from-beta")
			alpha.mustSendKey("alpha-keyed-beta", "beta") // the routing key wins over the producer name
			beta.mustSendKey("beta-keyed-alpha", "alpha")

			check := func(s *stream, sub string, want ...string) {
				t.Helper()
				for _, p := range want {
					m := s.next(t)
					if string(m.Payload) != p {
						t.Fatalf("got %q, want %q", m.Payload, p)
					}
					if reliable {
						w.ack(sub, m)
					}
				}
			}
			check(a, "s", "from-alpha", "beta-keyed-alpha")
			check(b, "s", "from-beta", "alpha-keyed-beta")
			quiet(t, 50*time.Millisecond, a, b)
		})
	}
}

// globCase is a key and the consumer whose filters accept it ("" for none).
var globCases = []struct{ key, to string }{
	{"eu-west", "eu"},
	{"eu-", "eu"},       // '*' matches the empty sequence
	{"eu-*-west", "eu"}, // a '*' in the key is matched by the pattern's '*' like any other byte
	{"a?c", "q"},        // so is a '?'
	{"us-eu-1", ""},
	{"EU-west", ""}, // case-sensitive
	{"xeu-west", ""},
	{"abc", "q"},
	{"a-c", "q"},
	{"abbc", ""},
	{"ac", ""},
	{"abcd", ""},
	{"x", "multi"},
	{"xx", ""},
	{"yz", "multi"},
	{"y-any-z", "multi"},
	{"yza", ""},
}

func globConsumers(w *wire, topic string) map[string]*stream {
	return map[string]*stream{
		"eu":    w.receive(w.mustSubscribe(topic, "s", "eu", keyShared, "eu-*")),
		"q":     w.receive(w.mustSubscribe(topic, "s", "q", keyShared, "a?c")),
		"multi": w.receive(w.mustSubscribe(topic, "s", "multi", keyShared, "x", "y*z")),
	}
}

// TestKeySharedGlobFiltersNonReliable checks '*' and '?' against whole keys; a key nobody accepts is
// dropped on a non-reliable topic.
func TestKeySharedGlobFiltersNonReliable(t *testing.T) {
	w := newWire(t, broker.Options{})
	topic := "/default/ks-glob"
	p := w.mustProducer(topic, "p", false)
	streams := globConsumers(w, topic)
	want := map[string][]string{}
	unmatched := 0
	for _, c := range globCases {
		p.mustSendKey(c.key, c.key)
		if c.to == "" {
			unmatched++
		} else {
			want[c.to] = append(want[c.to], c.key)
		}
	}
	got := map[string][]string{}
	gather(t, streams, len(globCases)-unmatched, 5*time.Second, func(g named) {
		got[g.from] = append(got[g.from], string(g.m.Payload))
	})
	quiet(t, 50*time.Millisecond, streams["eu"], streams["q"], streams["multi"])
	for name, keys := range want {
		if strings.Join(got[name], ",") != strings.Join(keys, ",") {
			t.Errorf("consumer %s got %v, want %v", name, got[name], keys)
		}
	}
	if d := subInfo(t, w, topic, "s").Dropped; d != uint64(unmatched) {
		t.Fatalf("dropped %d, want %d (the keys no filter accepts)", d, unmatched)
	}
}

// TestKeySharedGlobFiltersReliable: on a reliable topic the keys nobody accepts are parked, holding the
// cursor, while the accepted ones are delivered.
func TestKeySharedGlobFiltersReliable(t *testing.T) {
	w := newWire(t, broker.Options{FailurePolicy: fastPolicy(), MaxUnackedMessages: 50})
	topic := "/default/ks-glob-rel"
	p := w.mustProducer(topic, "p", true)
	streams := globConsumers(w, topic)
	want := map[string][]string{}
	unmatched, firstUnmatched := 0, -1
	for i, c := range globCases {
		p.mustSendKey(c.key, c.key)
		if c.to == "" {
			unmatched++
			if firstUnmatched < 0 {
				firstUnmatched = i
			}
		} else {
			want[c.to] = append(want[c.to], c.key)
		}
	}
	got := map[string][]string{}
	gather(t, streams, len(globCases)-unmatched, 5*time.Second, func(g named) {
		got[g.from] = append(got[g.from], string(g.m.Payload))
		if g.m.MsgId.TopicOffset >= uint64(len(globCases)) || globCases[g.m.MsgId.TopicOffset].key != string(g.m.Payload) {
			t.Fatalf("%q arrived with offset %d", g.m.Payload, g.m.MsgId.TopicOffset)
		}
		w.ack("s", g.m)
	})
	quiet(t, 50*time.Millisecond, streams["eu"], streams["q"], streams["multi"])
	for name, keys := range want {
		if strings.Join(got[name], ",") != strings.Join(keys, ",") {
			t.Errorf("consumer %s got %v, want %v", name, got[name], keys)
		}
	}
	var si broker.SubscriptionInfo
	testenv.Eventually(t, 5*time.Second, func() bool {
		si = subInfo(t, w, topic, "s")
		return si.InFlight == 0 && si.Waiting == unmatched && si.Cursor == uint64(firstUnmatched)
	}, "want %d parked messages and the cursor held at %d: %+v", unmatched, firstUnmatched, &si)
}

// TestKeySharedUnfilteredEligibleForEveryKey: a consumer without filters takes keys that no filter accepts,
// and shares the keys a filtered consumer accepts.
func TestKeySharedUnfilteredEligibleForEveryKey(t *testing.T) {
	for _, reliable := range []bool{false, true} {
		t.Run(fmt.Sprintf("reliable=%v", reliable), func(t *testing.T) {
			w := newWire(t, broker.Options{FailurePolicy: fastPolicy(), MaxUnackedMessages: 200})
			topic := "/default/ks-unfiltered"
			p := w.mustProducer(topic, "p", reliable)
			streams := map[string]*stream{
				"eu":  w.receive(w.mustSubscribe(topic, "s", "eu", keyShared, "eu-*")),
				"any": w.receive(w.mustSubscribe(topic, "s", "any", keyShared)),
			}
			const n = 60
			for i := range n {
				p.mustSendKey(fmt.Sprintf("us-%d/0", i), fmt.Sprintf("us-%d", i))
				p.mustSendKey(fmt.Sprintf("eu-%d/0", i), fmt.Sprintf("eu-%d", i))
			}
			euKeys := map[string]int{}
			gather(t, streams, 2*n, 10*time.Second, func(g named) {
				k, _ := keyOf(t, g.m)
				if strings.HasPrefix(k, "us-") && g.from != "any" {
					t.Fatalf("key %s went to the filtered consumer %s", k, g.from)
				}
				if strings.HasPrefix(k, "eu-") {
					euKeys[g.from]++
				}
				if reliable {
					w.ack("s", g.m)
				}
			})
			if euKeys["eu"] == 0 || euKeys["any"] == 0 {
				t.Fatalf("the %d eu-* keys were not spread over both eligible consumers: %v", n, euKeys)
			}
			quiet(t, 50*time.Millisecond, streams["eu"], streams["any"])
		})
	}
}

// TestKeySharedReliableOneInFlightPerKey: a key's next message waits for the ack of the previous one, other
// keys go on, and a nack keeps the key's order.
func TestKeySharedReliableOneInFlightPerKey(t *testing.T) {
	w := newWire(t, broker.Options{FailurePolicy: fastPolicy()})
	topic := "/default/ks-inflight"
	p := w.mustProducer(topic, "p", true)
	s := w.receive(w.mustSubscribe(topic, "s", "c", keyShared))
	p.mustSendKey("k1/0", "k1") // offset 0
	p.mustSendKey("k1/1", "k1") // 1
	p.mustSendKey("k2/0", "k2") // 2
	p.mustSendKey("k2/1", "k2") // 3
	p.mustSendKey("k3/0", "k3") // 4

	expect := func(payload string, offset uint64) *danubepb.StreamMessage {
		t.Helper()
		m := s.next(t)
		if string(m.Payload) != payload || m.MsgId.TopicOffset != offset {
			t.Fatalf("got %q offset %d, want %q offset %d", m.Payload, m.MsgId.TopicOffset, payload, offset)
		}
		return m
	}
	k1a := expect("k1/0", 0)
	k2a := expect("k2/0", 2)
	k3a := expect("k3/0", 4)
	s.none(t, 100*time.Millisecond) // k1/1 and k2/1 wait for their keys
	if si := subInfo(t, w, topic, "s"); si.InFlight != 3 || si.Waiting != 2 {
		t.Fatalf("in flight %d waiting %d, want 3 and 2", si.InFlight, si.Waiting)
	}

	w.ack("s", k2a)
	w.ack("s", expect("k2/1", 3))
	w.ack("s", k3a)
	s.none(t, 50*time.Millisecond)

	// A nack of k1/0 with a delay: another key is delivered meanwhile (normally well before the redelivery,
	// but the order of the two is not asserted), and k1/1 still waits behind the redelivered k1/0.
	w.nack("s", k1a, 300*time.Millisecond, "later")
	p.mustSendKey("k4/0", "k4") // 5
	got := map[string]*danubepb.StreamMessage{}
	for range 2 {
		m := s.next(t)
		got[string(m.Payload)] = m
	}
	if got["k4/0"] == nil || got["k4/0"].MsgId.TopicOffset != 5 || got["k1/0"] == nil || got["k1/0"].MsgId.TopicOffset != 0 {
		t.Fatalf("after the nack got %v, want k4/0 (offset 5) and the redelivered k1/0 (offset 0)", payloadsOf(got))
	}
	s.none(t, 50*time.Millisecond) // k1/1 waits for the ack of the redelivered k1/0
	w.ack("s", got["k4/0"])
	w.ack("s", got["k1/0"])
	w.ack("s", expect("k1/1", 1))
	s.none(t, 50*time.Millisecond)
	testenv.Eventually(t, 5*time.Second, func() bool {
		return subInfo(t, w, topic, "s").Cursor == 6
	}, "cursor did not reach 6")
}

// TestKeySharedReliableParkedUntilAcceptingConsumer: messages whose key nobody accepts are held, not
// skipped, and go (in order, one in flight at a time) to the first consumer that subscribes with a filter
// accepting the key.
func TestKeySharedReliableParkedUntilAcceptingConsumer(t *testing.T) {
	w := newWire(t, broker.Options{FailurePolicy: fastPolicy()})
	topic := "/default/ks-parked"
	p := w.mustProducer(topic, "p", true)
	a := w.receive(w.mustSubscribe(topic, "s", "a", keyShared, "a-*"))
	p.mustSendKey("b-1/0", "b-1") // offset 0: nobody accepts b-1
	p.mustSendKey("a-1/0", "a-1") // offset 1
	p.mustSendKey("b-1/1", "b-1") // offset 2
	m := a.next(t)
	if string(m.Payload) != "a-1/0" || m.MsgId.TopicOffset != 1 {
		t.Fatalf("got %q offset %d", m.Payload, m.MsgId.TopicOffset)
	}
	w.ack("s", m)
	a.none(t, 50*time.Millisecond)
	var si broker.SubscriptionInfo
	testenv.Eventually(t, 5*time.Second, func() bool {
		si = subInfo(t, w, topic, "s")
		return si.Cursor == 0 && si.Waiting == 2 && si.InFlight == 0
	}, "b-1 is not held with the cursor at 0: %+v", &si)

	b := w.receive(w.mustSubscribe(topic, "s", "b", keyShared, "b-?"))
	for _, want := range []struct {
		payload string
		offset  uint64
	}{{"b-1/0", 0}, {"b-1/1", 2}} {
		m = b.next(t)
		if string(m.Payload) != want.payload || m.MsgId.TopicOffset != want.offset {
			t.Fatalf("held message arrived as %q offset %d, want %q offset %d", m.Payload, m.MsgId.TopicOffset,
				want.payload, want.offset)
		}
		b.none(t, 30*time.Millisecond)
		w.ack("s", m)
	}
	testenv.Eventually(t, 5*time.Second, func() bool {
		si = subInfo(t, w, topic, "s")
		return si.Cursor == 3 && si.Waiting == 0
	}, "cursor did not pass the delivered held messages: %+v", &si)
	a.none(t, 20*time.Millisecond)
}

// TestKeySharedReliableParkedByTakeoverFilters: a consumer that subscribes again under its name with new
// filters receives the held messages its new filters accept.
func TestKeySharedReliableParkedByTakeoverFilters(t *testing.T) {
	w := newWire(t, broker.Options{FailurePolicy: fastPolicy()})
	topic := "/default/ks-refilter"
	p := w.mustProducer(topic, "p", true)
	id := w.mustSubscribe(topic, "s", "c", keyShared, "a")
	s := w.receive(id)
	p.mustSendKey("b/0", "b")
	s.none(t, 50*time.Millisecond)
	if again := w.mustSubscribe(topic, "s", "c", keyShared, "a", "b"); again != id {
		t.Fatalf("takeover id %d, want %d", again, id)
	}
	s = w.receive(id)
	m := s.next(t)
	if string(m.Payload) != "b/0" || m.MsgId.TopicOffset != 0 {
		t.Fatalf("got %q offset %d", m.Payload, m.MsgId.TopicOffset)
	}
}

// TestKeySharedReliablePoisonHoldsOnlyItsKey: under PoisonBlock a poisoned message holds back its own key
// only, and acking it releases the key.
func TestKeySharedReliablePoisonHoldsOnlyItsKey(t *testing.T) {
	pol := fastPolicy()
	pol.MaxRedeliveryCount = 1
	w := newWire(t, broker.Options{FailurePolicy: pol})
	topic := "/default/ks-poison"
	p := w.mustProducer(topic, "p", true)
	s := w.receive(w.mustSubscribe(topic, "s", "c", keyShared))
	p.mustSendKey("bad/0", "bad") // offset 0
	var m *danubepb.StreamMessage
	for range 2 { // 1 delivery + 1 redelivery
		m = s.next(t)
		if string(m.Payload) != "bad/0" {
			t.Fatalf("got %q", m.Payload)
		}
		w.nack("s", m, 0, "cannot parse")
	}
	p.mustSendKey("bad/1", "bad")   // 1: held behind the poisoned message
	p.mustSendKey("good/0", "good") // 2: flows
	if g := s.next(t); string(g.Payload) != "good/0" {
		t.Fatalf("got %q, want good/0", g.Payload)
	} else {
		w.ack("s", g)
	}
	s.none(t, 100*time.Millisecond)
	w.ack("s", m) // releases the poisoned message and its key
	if n := s.next(t); string(n.Payload) != "bad/1" || n.MsgId.TopicOffset != 1 {
		t.Fatalf("got %q offset %d, want bad/1 offset 1", n.Payload, n.MsgId.TopicOffset)
	} else {
		w.ack("s", n)
	}
	testenv.Eventually(t, 5*time.Second, func() bool {
		return subInfo(t, w, topic, "s").Cursor == 3
	}, "cursor did not reach 3")
}

// TestKeySharedReliableParkedKeyDoesNotFillWindow: many messages of a key nobody accepts must all be
// parked outside the window, so other keys keep flowing; they are delivered in order once a consumer
// accepting the key arrives.
func TestKeySharedReliableParkedKeyDoesNotFillWindow(t *testing.T) {
	w := newWire(t, broker.Options{FailurePolicy: fastPolicy(), MaxUnackedMessages: 3})
	topic := "/default/ks-parked-window"
	p := w.mustProducer(topic, "p", true)
	a := w.receive(w.mustSubscribe(topic, "s", "a", keyShared, "a"))
	for i := range 6 {
		p.mustSendKey(fmt.Sprintf("b/%d", i), "b") // offsets 0-5, nobody accepts "b"
	}
	p.mustSendKey("a/0", "a") // offset 6
	m := a.next(t)
	if string(m.Payload) != "a/0" || m.MsgId.TopicOffset != 6 {
		t.Fatalf("got %q offset %d", m.Payload, m.MsgId.TopicOffset)
	}
	w.ack("s", m)

	b := w.receive(w.mustSubscribe(topic, "s", "b", keyShared, "b"))
	for i := range 6 {
		m := b.next(t)
		if want := fmt.Sprintf("b/%d", i); string(m.Payload) != want || m.MsgId.TopicOffset != uint64(i) {
			t.Fatalf("got %q offset %d, want %q offset %d", m.Payload, m.MsgId.TopicOffset, want, i)
		}
		b.none(t, 20*time.Millisecond) // one in flight per key
		w.ack("s", m)
	}
	testenv.Eventually(t, 5*time.Second, func() bool {
		return subInfo(t, w, topic, "s").Cursor == 7
	}, "cursor did not reach 7")
}

// ownedKeys sends one message for each of n keys and returns, per consumer name, the keys it received.
func ownedKeys(t *testing.T, w *wire, p *producer, streams map[string]*stream, n int, reliable bool) map[string][]string {
	t.Helper()
	for i := range n {
		p.mustSendKey(fmt.Sprintf("key-%d/0", i), fmt.Sprintf("key-%d", i))
	}
	owned := map[string][]string{}
	gather(t, streams, n, 5*time.Second, func(g named) {
		k, _ := keyOf(t, g.m)
		owned[g.from] = append(owned[g.from], k)
		if reliable {
			w.ack("s", g.m)
		}
	})
	for name := range streams {
		sort.Strings(owned[name])
		if len(owned[name]) == 0 {
			t.Fatalf("consumer %s owns none of %d keys", name, n)
		}
	}
	return owned
}

// TestKeySharedReliableEviction: a disconnected consumer keeps its keys for KeySharedEviction, then they
// move (with the message it had not acked) to another consumer; after it subscribes again it gets its keys
// back.
func TestKeySharedReliableEviction(t *testing.T) {
	const eviction = 150 * time.Millisecond
	w := newWire(t, broker.Options{FailurePolicy: fastPolicy(), KeySharedEviction: eviction})
	topic := "/default/ks-evict"
	p := w.mustProducer(topic, "p", true)
	aID := w.mustSubscribe(topic, "s", "a", keyShared)
	a := w.receive(aID)
	b := w.receive(w.mustSubscribe(topic, "s", "b", keyShared))
	owned := ownedKeys(t, w, p, map[string]*stream{"a": a, "b": b}, 60, true)
	key := owned["a"][0]

	p.mustSendKey(key+"/1", key) // to a, never acked
	if m := a.next(t); string(m.Payload) != key+"/1" {
		t.Fatalf("a got %q", m.Payload)
	}
	start := time.Now()
	a.close()
	p.mustSendKey(key+"/2", key)
	m := b.next(t)
	if string(m.Payload) != key+"/1" {
		t.Fatalf("b got %q first, want a's unacked %s/1", m.Payload, key)
	}
	if d := time.Since(start); d < eviction {
		t.Fatalf("a's key moved after %v, before the eviction delay %v", d, eviction)
	}
	b.none(t, 50*time.Millisecond) // key/2 waits for the ack of key/1
	w.ack("s", m)
	m = b.next(t)
	if string(m.Payload) != key+"/2" {
		t.Fatalf("b got %q, want %s/2", m.Payload, key)
	}
	w.ack("s", m)

	// a comes back under the same name: its keys are routed to it again.
	if id := w.mustSubscribe(topic, "s", "a", keyShared); id != aID {
		t.Fatalf("resubscribe gave id %d, want %d", id, aID)
	}
	a = w.receive(aID)
	p.mustSendKey(key+"/3", key)
	if m := a.next(t); string(m.Payload) != key+"/3" {
		t.Fatalf("a got %q after coming back", m.Payload)
	}
	b.none(t, 50*time.Millisecond)
}

// TestKeySharedNonReliableEviction: on a non-reliable topic a disconnected consumer's keys move to another
// consumer once KeySharedEviction has passed.
func TestKeySharedNonReliableEviction(t *testing.T) {
	const eviction = 150 * time.Millisecond
	w := newWire(t, broker.Options{KeySharedEviction: eviction})
	topic := "/default/ks-evict-nr"
	p := w.mustProducer(topic, "p", false)
	aID := w.mustSubscribe(topic, "s", "a", keyShared)
	a := w.receive(aID)
	b := w.receive(w.mustSubscribe(topic, "s", "b", keyShared))
	owned := ownedKeys(t, w, p, map[string]*stream{"a": a, "b": b}, 60, false)
	key := owned["a"][0]

	start := time.Now()
	a.close()
	waitHealth(t, w, aID, danubepb.HealthCheckResponse_CLOSE)
	var moved time.Duration
	i := 0
	testenv.Eventually(t, 5*time.Second, func() bool {
		i++
		p.mustSendKey(fmt.Sprintf("%s/%d", key, i), key)
		select {
		case m := <-b.C:
			if k, _ := keyOf(t, m); k != key {
				t.Fatalf("b got %q", m.Payload)
			}
			moved = time.Since(start)
			return true
		case <-time.After(10 * time.Millisecond):
			return false
		}
	}, "a's key never moved to b")
	if moved < eviction {
		t.Fatalf("a's key moved after %v, before the eviction delay %v", moved, eviction)
	}
}
