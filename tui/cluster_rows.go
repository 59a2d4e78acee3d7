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

// brokerRow is one broker as the cluster, health and dashboard views show it: what ListBrokers, its metrics and
// its metrics endpoint say of it, joined by broker id.
type brokerRow struct {
	id    string
	info  *monitor.BrokerInfo    // nil: not in ListBrokers
	met   *monitor.BrokerMetrics // nil: no metrics from it
	src   *monitor.SourceState   // its metrics endpoint, when known
	conns int64                  // producers + consumers of its topics, from the metrics
	// down says why the broker counts as down ("" when it does not): its endpoint fails, or a problem says so.
	down string
}

// brokerRows joins the admin API's brokers (in ListBrokers' order) with the metrics' (by id; brokers only the
// metrics know come next) and the metrics endpoints (matched by the broker id they label their series with,
// or by the broker's metrics address); an endpoint that never answered and matches no broker is a row of its
// own, named "? host:port".
func brokerRows(c *monitor.Cluster) []brokerRow {
	var rows []brokerRow
	at := map[string]int{}
	row := func(id string) int {
		if i, ok := at[id]; ok {
			return i
		}
		at[id] = len(rows)
		rows = append(rows, brokerRow{id: id})
		return len(rows) - 1
	}
	for i := range c.Admin.Brokers {
		rows[row(c.Admin.Brokers[i].ID)].info = &c.Admin.Brokers[i]
	}
	for i := range c.Brokers {
		rows[row(c.Brokers[i].ID)].met = &c.Brokers[i]
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		if s.Kind != sourceMetrics {
			continue
		}
		matched := false
		for j := range rows {
			r := &rows[j]
			if s.Broker == r.id || s.Broker == "" && r.info != nil && r.info.MetricsAddr != "" &&
				strings.Contains(s.URL, "//"+r.info.MetricsAddr+"/") {
				matched, r.src = true, s
				if s.Status == monitor.SourceFailing {
					r.down = "metrics endpoint " + s.URL + ": " + s.Err
				}
			}
		}
		if !matched {
			id := s.Broker // a broker that left the cluster keeps its id; one never answered its endpoint's host
			if id == "" {
				id = "? " + endpointHost(s.URL)
			}
			r := &rows[row(id)]
			r.src = s
			if s.Status == monitor.SourceFailing {
				r.down = "metrics endpoint " + s.URL + ": " + s.Err
			}
		}
	}
	for _, p := range c.Problems {
		if p.Kind == monitor.ProblemBrokerDown && p.Broker != "" {
			if i, ok := at[p.Broker]; ok && rows[i].down == "" {
				rows[i].down = p.Detail
			}
		}
	}
	for _, t := range c.Topics {
		if i, ok := at[t.Broker]; ok {
			rows[i].conns += t.Producers + t.Consumers
		}
	}
	return rows
}

// leader says whether the broker is the cluster's leader (ListBrokers' role, else its metrics).
func (r *brokerRow) leader() bool {
	if r.info != nil && r.info.Role == "Cluster_Leader" {
		return true
	}
	return r.met != nil && r.met.Leader
}

// status is the broker's state as ListBrokers says it ("active", "draining", "drained"; "" when unlisted).
func (r *brokerRow) status() string {
	if r.info == nil {
		return ""
	}
	return r.info.Status
}

// addr is the broker's client URL, or its metrics endpoint's when ListBrokers does not list it.
func (r *brokerRow) addr() string {
	switch {
	case r.info != nil:
		return r.info.Addr
	case r.src != nil:
		return r.src.URL
	}
	return ""
}

// state says whether the broker answers: up when its metrics endpoint is up (else, without an endpoint, when
// ListBrokers calls it active), down when it is known to be down; neither when nothing says.
func (r *brokerRow) state() (up, down bool) {
	if r.down != "" {
		return false, true
	}
	if r.src != nil {
		switch r.src.Status {
		case monitor.SourceUp:
			return true, false
		case monitor.SourceFailing:
			return false, true
		}
	}
	if st := r.status(); st != "" {
		active := strings.EqualFold(st, "active")
		return active, !active
	}
	return false, false
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
