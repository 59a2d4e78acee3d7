package tui

import (
	"cmp"
	"slices"
	"strings"
	"unsafe"

	"github.com/danube-console/danube-console/monitor"
)

// This file builds the topics list's rows: the admin API's topics joined with the brokers' metrics (summed
// over brokers), partitions grouped under their base topic. The rows are built when the snapshot's data
// changes (in sync), then sorted, filtered and flattened when those settings change; the view draws the
// visible window only.

// topicRow is one row of the topics list: a topic, a partitioned topic's group (the sums of its
// partitions) or one of its partitions.
type topicRow struct {
	name  string // the topic; a group's base topic
	group bool   // a partitioned topic's group row
	child bool   // a partition under its group
	parts []topicRow

	known     bool // the admin API lists it (else it is only in the metrics)
	reliable  bool
	delivery  bool // the delivery is known (from the admin API)
	broker    string
	schema    string
	subs      int
	producers int64
	consumers int64
	lag       int64

	msgsIn, msgsOut, bytesIn, bytesOut float64
	metrics                            bool // the metrics know it
}

// topicCols are the sortable columns of the topics list, in the order the sort key cycles them.
const (
	sortName = iota
	sortIn
	sortOut
	sortBytesIn
	sortBytesOut
	sortProducers
	sortConsumers
	sortSubs
	sortLag
	sortSchema
	sortDelivery
	sortBroker
	numSortCols
)

// sameSlice reports whether two of the cluster's slices hold the same figures: the same backing array (the
// monitor shares them between snapshots while no scrape changed them) or equal elements (when it copies
// them: comparing costs far less than building the rows).
func sameSlice[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	return len(a) == 0 || unsafe.SliceData(a) == unsafe.SliceData(b) || slices.Equal(a, b)
}

// sameTopics reports whether two admin lists hold the same topics with the same figures.
func sameTopics(a, b []monitor.TopicStats) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := &a[i], &b[i]
		if x.Name != y.Name || x.Reliable != y.Reliable || x.BrokerID != y.BrokerID || x.Partitions != y.Partitions ||
			x.SchemaSubject != y.SchemaSubject || !slices.Equal(x.Subscriptions, y.Subscriptions) {
			return false
		}
	}
	return true
}

// buildTopicRows joins the admin list with the metrics and groups the partitions: one row per topic or
// partitioned topic, sorted by name.
func buildTopicRows(s *monitor.Snapshot) []topicRow {
	c := &s.Cluster
	byName := make(map[string]*topicRow, len(s.Topics)+len(c.Topics)/2)
	var order []string
	get := func(name string) *topicRow {
		r := byName[name]
		if r == nil {
			r = &topicRow{name: name}
			byName[name] = r
			order = append(order, name)
		}
		return r
	}
	partitions := map[string]int{} // base topic → partition count the admin API gave
	for i := range s.Topics {
		t := &s.Topics[i]
		r := get(t.Name)
		r.known, r.delivery, r.reliable = true, true, t.Reliable
		r.broker, r.schema, r.subs = t.BrokerID, t.SchemaSubject, len(t.Subscriptions)
		if t.Partitions > 0 {
			partitions[baseTopic(t.Name)] = max(partitions[baseTopic(t.Name)], t.Partitions)
		}
	}
	// The metrics, summed over brokers; the owner is the broker whose figures come last (sorted by id)
	// when the admin API does not say.
	for i := range c.Topics {
		m := &c.Topics[i]
		r := get(m.Topic)
		r.metrics = true
		r.msgsIn += m.MsgsInPerSec
		r.msgsOut += m.MsgsOutPerSec
		r.bytesIn += m.BytesInPerSec
		r.bytesOut += m.BytesOutPerSec
		r.producers += m.Producers
		r.consumers += m.Consumers
		r.lag += m.Lag
		if !r.known {
			r.broker = m.Broker
		}
	}
	// The subscriptions the metrics know (sorted by topic, subscription, broker: count the distinct ones).
	for i := 0; i < len(c.Subscriptions); {
		j := i
		n := 0
		for j < len(c.Subscriptions) && c.Subscriptions[j].Topic == c.Subscriptions[i].Topic {
			if j == i || c.Subscriptions[j].Subscription != c.Subscriptions[j-1].Subscription {
				n++
			}
			j++
		}
		r := get(c.Subscriptions[i].Topic)
		r.subs = max(r.subs, n)
		i = j
	}
	slices.Sort(order)

	// Group the partitions under their base topic.
	out := make([]topicRow, 0, len(order))
	groups := map[string]int{} // base topic → index in out
	for _, name := range order {
		r := byName[name]
		base := baseTopic(name)
		if base == name && partitions[name] == 0 {
			if gi, ok := groups[name]; ok { // a base listed after its partitions (cannot happen sorted, kept safe)
				mergeInto(&out[gi], r)
				continue
			}
			out = append(out, *r)
			groups[name] = len(out) - 1
			continue
		}
		gi, ok := groups[base]
		if !ok {
			out = append(out, topicRow{name: base, group: true})
			gi = len(out) - 1
			groups[base] = gi
		}
		g := &out[gi]
		if !g.group { // the base was listed as a plain topic before its partitions
			base := *g
			*g = topicRow{name: g.name, group: true}
			mergeInto(g, &base)
		}
		if name == base {
			mergeInto(g, r) // the admin API lists the base topic itself with its partition count
			continue
		}
		r.child = true
		g.parts = append(g.parts, *r)
		mergeInto(g, r)
	}
	// Partitions the admin API counts but names nowhere are shown all the same.
	for base, n := range partitions {
		gi, ok := groups[base]
		if !ok {
			continue
		}
		g := &out[gi]
		for k := range n {
			name := base + "-part-" + itoa(k)
			if !slices.ContainsFunc(g.parts, func(r topicRow) bool { return r.name == name }) {
				g.parts = append(g.parts, topicRow{name: name, child: true, known: g.known, delivery: g.delivery,
					reliable: g.reliable, broker: g.broker, schema: g.schema})
			}
		}
		slices.SortFunc(g.parts, func(a, b topicRow) int { return cmpPartition(a.name, b.name) })
	}
	return out
}

// cmpPartition orders partition names by their number ("-part-2" before "-part-10").
func cmpPartition(a, b string) int {
	na, nb := partNumber(a), partNumber(b)
	if c := cmp.Compare(na, nb); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// partNumber is a partition's number (-1 for a topic that is not one).
func partNumber(name string) int {
	i := strings.LastIndex(name, "-part-")
	if i < 0 {
		return -1
	}
	n := 0
	for _, c := range name[i+len("-part-"):] {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// mergeInto adds r's figures to a group row g: sums of the rates, counts and lag; the admin facts of the
// first member that has them.
func mergeInto(g *topicRow, r *topicRow) {
	g.msgsIn += r.msgsIn
	g.msgsOut += r.msgsOut
	g.bytesIn += r.bytesIn
	g.bytesOut += r.bytesOut
	g.producers += r.producers
	g.consumers += r.consumers
	g.lag += r.lag
	g.subs = max(g.subs, r.subs) // every partition has the topic's subscriptions
	g.metrics = g.metrics || r.metrics
	if r.known && !g.known {
		g.known, g.delivery, g.reliable, g.schema = true, r.delivery, r.reliable, r.schema
	}
	if g.broker == "" {
		g.broker = r.broker
	} else if r.broker != "" && !slices.Contains(strings.Split(g.broker, ","), r.broker) {
		g.broker += "," + r.broker // partitions on several brokers
	}
}

// compareRows orders two rows by a column (0 for the name column: listRows breaks ties by name).
func compareRows(a, b *topicRow, col int) int {
	c := 0
	switch col {
	case sortIn:
		c = cmp.Compare(a.msgsIn, b.msgsIn)
	case sortOut:
		c = cmp.Compare(a.msgsOut, b.msgsOut)
	case sortBytesIn:
		c = cmp.Compare(a.bytesIn, b.bytesIn)
	case sortBytesOut:
		c = cmp.Compare(a.bytesOut, b.bytesOut)
	case sortProducers:
		c = cmp.Compare(a.producers, b.producers)
	case sortConsumers:
		c = cmp.Compare(a.consumers, b.consumers)
	case sortSubs:
		c = cmp.Compare(a.subs, b.subs)
	case sortLag:
		c = cmp.Compare(a.lag, b.lag)
	case sortSchema:
		c = strings.Compare(a.schema, b.schema)
	case sortDelivery:
		c = cmp.Compare(deliveryRank(a), deliveryRank(b))
	case sortBroker:
		c = strings.Compare(a.broker, b.broker)
	}
	return c
}

func deliveryRank(r *topicRow) int {
	switch {
	case !r.delivery:
		return 0
	case r.reliable:
		return 2
	}
	return 1
}

// descending reports whether a column sorts descending: the numbers do (the busiest first), the names
// ascend; rev reverses.
func descending(col int, rev bool) bool {
	return (col != sortName && col != sortSchema && col != sortBroker) != rev
}

// listRows sorts, filters and flattens the rows into the list the pane shows: the groups expanded in
// open show their partitions (in partition order) under them. A group matches the filter when its name or
// one of its partitions' does (then its matching partitions show); the filter is a case-insensitive
// substring. The numbers columns sort descending first, the names ascending.
func listRows(rows []topicRow, col int, rev bool, filter string, open map[string]bool) []*topicRow {
	filter = strings.ToLower(filter)
	out := make([]*topicRow, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		if filter == "" || strings.Contains(strings.ToLower(r.name), filter) {
			out = append(out, r)
			continue
		}
		for j := range r.parts {
			if strings.Contains(strings.ToLower(r.parts[j].name), filter) {
				out = append(out, r)
				break
			}
		}
	}
	desc := descending(col, rev)
	slices.SortFunc(out, func(a, b *topicRow) int {
		c := compareRows(a, b, col)
		if desc {
			c = -c
		}
		if c == 0 { // ties by name, ascending whatever the direction (descending when sorting by name)
			c = strings.Compare(a.name, b.name)
			if col == sortName && rev {
				c = -c
			}
		}
		return c
	})
	if len(open) == 0 {
		return out
	}
	flat := make([]*topicRow, 0, len(out))
	for _, r := range out {
		flat = append(flat, r)
		if !r.group || !open[r.name] {
			continue
		}
		nameMatch := filter == "" || strings.Contains(strings.ToLower(r.name), filter)
		for j := range r.parts {
			if nameMatch || strings.Contains(strings.ToLower(r.parts[j].name), filter) {
				flat = append(flat, &r.parts[j])
			}
		}
	}
	return flat
}
