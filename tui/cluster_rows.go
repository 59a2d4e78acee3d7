package tui

import (
	"cmp"
	"slices"
	"strings"

	"github.com/danube-console/danube-console/monitor"
)

// This file derives the rows the producers, consumers, acks, health and dashboard views draw from the
// cluster's metrics: topics and subscriptions with their partitions summed under the base topic, and the
// brokers joined from the admin API, their metrics and their sources. The snapshot's cluster slices are
// shared and immutable, so a derivation is redone only when the slice it reads holds other figures (from):
// the views then draw from rows already sorted, and a frame costs what is on screen, not the cluster's
// size.

// from remembers the snapshot slice a derivation was made from.
type from[T comparable] struct {
	s    []T
	seen bool
}

// changed reports whether s holds other figures than the slice the derivation was made from, and
// remembers s. The same slice is answered at once and without a write (a View may ask); another slice
// with the same elements (a monitor may hand out a copy of unchanged figures) is compared element by
// element, which costs far less than a derivation, and is no change.
func (f *from[T]) changed(s []T) bool {
	if f.seen && len(s) == len(f.s) && (len(s) == 0 || &s[0] == &f.s[0]) {
		return false
	}
	same := f.seen && slices.Equal(s, f.s)
	f.s, f.seen = s, true
	return !same
}

// fromIdent is from for slices whose elements cannot be compared (the console's own clients, with their
// series): any other slice is a change.
type fromIdent[T any] struct {
	s    []T
	seen bool
}

func (f *fromIdent[T]) changed(s []T) bool {
	if f.seen && len(s) == len(f.s) && (len(s) == 0 || &s[0] == &f.s[0]) {
		return false
	}
	f.s, f.seen = s, true
	return true
}

// clusterTopic is one topic of the cluster from the brokers' metrics, its partitions summed.
type clusterTopic struct {
	topic      string // the base topic ("/ns/t" for the partitions "/ns/t-part-N")
	partitions int    // partitions seen (0: not partitioned)
	brokers    string // the brokers serving it: "2", or "1,2,3" for partitions spread out

	in, inBytes, out, outBytes float64 // per second
	producers, consumers, subs int64
	lag                        int64
	// p50 and p99 are the publish latency's quantiles in milliseconds: the worst partition's, as
	// quantiles of different partitions cannot be combined.
	p50, p99 float64
	window   bool // some broker has two scrapes of it (its rates are known)
}

// clusterSub is one subscription of a topic of the cluster from the brokers' metrics, its partitions
// summed.
type clusterSub struct {
	topic, sub string // base topic
	partitions int

	consumers, lag, pendingRedelivery, terminalBlocked int64
	out, redelivered, nacks, ackTimeouts, dlq          float64 // per second
}

// sumTopics sums the metrics' topic rows per base topic, sorted by topic.
func sumTopics(ts []monitor.TopicRate) []clusterTopic {
	idx := make(map[string]int, len(ts))
	var out []clusterTopic
	parts := map[string]struct{}{}
	for i := range ts {
		t := &ts[i]
		base := baseTopic(t.Topic)
		j, ok := idx[base]
		if !ok {
			j = len(out)
			idx[base] = j
			out = append(out, clusterTopic{topic: base})
		}
		c := &out[j]
		if base != t.Topic {
			if _, seen := parts[t.Topic]; !seen {
				parts[t.Topic] = struct{}{}
				c.partitions++
			}
		}
		if !containsID(c.brokers, t.Broker) {
			c.brokers = joinID(c.brokers, t.Broker)
		}
		c.in += t.MsgsInPerSec
		c.inBytes += t.BytesInPerSec
		c.out += t.MsgsOutPerSec
		c.outBytes += t.BytesOutPerSec
		c.producers += t.Producers
		c.consumers += t.Consumers
		c.subs = max(c.subs, t.Subscriptions) // every partition has the topic's subscriptions
		c.lag += t.Lag
		c.p50 = max(c.p50, t.PublishLatency.P50)
		c.p99 = max(c.p99, t.PublishLatency.P99)
		c.window = c.window || t.Window > 0
	}
	slices.SortFunc(out, func(a, b clusterTopic) int { return strings.Compare(a.topic, b.topic) })
	return out
}

// sumSubs sums the metrics' subscription rows per base topic and subscription, sorted by both.
func sumSubs(ss []monitor.SubscriptionRate) []clusterSub {
	type key struct{ topic, sub string }
	idx := make(map[key]int, len(ss))
	var out []clusterSub
	for i := range ss {
		s := &ss[i]
		base := baseTopic(s.Topic)
		k := key{base, s.Subscription}
		j, ok := idx[k]
		if !ok {
			j = len(out)
			idx[k] = j
			out = append(out, clusterSub{topic: base, sub: s.Subscription})
		}
		c := &out[j]
		if base != s.Topic {
			c.partitions++
		}
		c.consumers += s.Consumers
		c.lag += s.Lag
		c.pendingRedelivery += s.PendingRedelivery
		c.terminalBlocked += s.TerminalBlocked
		c.out += s.MsgsOutPerSec
		c.redelivered += s.RedeliveriesPerSec
		c.nacks += s.NacksPerSec
		c.ackTimeouts += s.AckTimeoutsPerSec
		c.dlq += s.DLQPerSec
	}
	slices.SortFunc(out, func(a, b clusterSub) int {
		return cmp.Or(strings.Compare(a.topic, b.topic), strings.Compare(a.sub, b.sub))
	})
	return out
}

// containsID reports whether the comma-separated list has id.
func containsID(list, id string) bool {
	for list != "" {
		var x string
		x, list, _ = strings.Cut(list, ",")
		if x == id {
			return true
		}
	}
	return false
}

func joinID(list, id string) string {
	if list == "" {
		return id
	}
	return list + "," + id
}

// brokerRow is one broker as the health and dashboard views show it: the admin API's entry, its metrics
// and the state of its metrics endpoint, joined by broker id.
type brokerRow struct {
	id, role, addr, status string // role and status as ListBrokers says them ("" when it does not list it)
	leader                 bool
	listed                 bool // ListBrokers lists it
	m                      *monitor.BrokerMetrics
	src                    *monitor.SourceState // its metrics endpoint (nil: none configured)
}

// up says whether the broker answers: its metrics endpoint is up, else (no endpoint) ListBrokers calls it
// active. down is the opposite when known; neither when nothing says.
func (b *brokerRow) health() (up, down bool) {
	if b.src != nil {
		switch b.src.Status {
		case monitor.SourceUp:
			return true, false
		case monitor.SourceFailing:
			return false, true
		}
	}
	if b.listed && b.status != "" {
		active := strings.EqualFold(b.status, "active")
		return active, !active
	}
	return false, false
}

// joinBrokers joins the admin API's brokers, the brokers' metrics and the metrics endpoints: the listed
// brokers in ListBrokers' order, then those only the metrics know, then the endpoints that never answered.
func joinBrokers(c *monitor.Cluster) []brokerRow {
	var out []brokerRow
	at := map[string]int{}
	row := func(id string) *brokerRow {
		if i, ok := at[id]; ok {
			return &out[i]
		}
		at[id] = len(out)
		out = append(out, brokerRow{id: id})
		return &out[len(out)-1]
	}
	for i := range c.Admin.Brokers {
		b := &c.Admin.Brokers[i]
		r := row(b.ID)
		r.role, r.addr, r.status, r.listed = b.Role, b.Addr, b.Status, true
		r.leader = c.Admin.Leader == b.ID || strings.Contains(strings.ToLower(b.Role), "leader")
	}
	for i := range c.Brokers {
		m := &c.Brokers[i]
		r := row(m.ID)
		r.m = m
		r.leader = r.leader || m.Leader
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		if s.Kind != "metrics" {
			continue
		}
		if s.Broker == "" { // not answered yet: named by its endpoint
			out = append(out, brokerRow{id: "? " + endpointHost(s.URL), addr: s.URL, src: s})
			continue
		}
		row(s.Broker).src = s
	}
	return out
}

// endpointHost is the host:port of a URL ("10.0.0.9:9040" for "http://10.0.0.9:9040/metrics").
func endpointHost(u string) string {
	if _, rest, ok := strings.Cut(u, "://"); ok {
		u = rest
	}
	host, _, _ := strings.Cut(u, "/")
	return host
}

// metricsSources says what metrics sources the cluster has: whether any is configured and whether one has
// answered.
func metricsSources(c *monitor.Cluster) (configured, answered bool) {
	for i := range c.Sources {
		s := &c.Sources[i]
		if s.Kind == "admin" {
			continue
		}
		configured = true
		answered = answered || !s.LastOK.IsZero()
	}
	return configured, answered
}

// noMetrics is what a view of the cluster's metrics says when it has no rows, or "" when the rows are
// simply empty.
func noMetrics(c *monitor.Cluster) string {
	switch configured, answered := metricsSources(c); {
	case !configured:
		return "no metrics source: --metrics-url or --prometheus-url"
	case !answered:
		return "waiting for the first scrape of the brokers' metrics"
	}
	return ""
}
