package tui

import (
	"strings"

	"github.com/danube-console/danube-console/monitor"
)

// This file holds the consumers pane's list: its rows (the cluster's subscriptions from the brokers'
// metrics, each followed by the console's own consumers of it), their table, and what the stream's place
// shows for a subscription of the cluster.

// consRow is a row of the consumer list: a subscription of the cluster (cs ≥ 0), or one of the console's
// own consumers (c ≥ 0).
type consRow struct{ cs, c int }

// derive settles the list's rows when the snapshot's subscriptions or consumers changed: each subscription
// of the cluster followed by the console's own consumers of it, then the console's consumers of
// subscriptions the metrics do not show.
func (p *consumersPane) derive(e *env) {
	subsChanged := p.subsFrom.changed(e.snap.Cluster.Subscriptions)
	if !p.consFrom.changed(e.snap.Consumers) && !subsChanged {
		return
	}
	if subsChanged {
		p.csubs = sumSubs(e.snap.Cluster.Subscriptions)
	}
	cs := e.snap.Consumers
	type key struct{ topic, sub string }
	at := make(map[key]int, len(p.csubs))
	for i := range p.csubs {
		at[key{p.csubs[i].topic, p.csubs[i].sub}] = i
	}
	own := make([][]int, len(p.csubs))
	used := make([]bool, len(cs))
	for j := range cs {
		if i, ok := at[key{baseTopic(cs[j].Topic), cs[j].Subscription}]; ok {
			own[i] = append(own[i], j)
			used[j] = true
		}
	}
	p.list = make([]consRow, 0, len(p.csubs)+len(cs))
	for i := range p.csubs {
		p.list = append(p.list, consRow{cs: i, c: -1})
		for _, j := range own[i] {
			p.list = append(p.list, consRow{cs: -1, c: j})
		}
	}
	for j := range cs {
		if !used[j] {
			p.list = append(p.list, consRow{cs: -1, c: j})
		}
	}
}

// rowID names row i for the cursor: a console consumer by its stream, a subscription of the cluster by
// its topic and name.
func (p *consumersPane) rowID(e *env) func(i int) string {
	own := consumerID(e)
	return func(i int) string {
		if r := p.list[i]; r.c >= 0 {
			return own(r.c)
		}
		s := &p.csubs[p.list[i].cs]
		return "cluster\x00" + s.topic + "\x00" + s.sub
	}
}

// sharedSub reports whether two of the console's consumers share a subscription: their rows then differ
// only by the consumer's name, which becomes a key column.
func sharedSub(cs []monitor.ConsumerStats) bool {
	seen := map[string]bool{}
	for _, c := range cs {
		k := c.Topic + "\x00" + c.Subscription
		if seen[k] {
			return true
		}
		seen[k] = true
	}
	return false
}

// selectedSub returns the selected subscription of the cluster, or nil (a console consumer, or nothing, is
// selected).
func (p *consumersPane) selectedSub(e *env) *clusterSub {
	p.derive(e)
	i := p.cur.index(len(p.list), p.rowID(e))
	if i < 0 || p.list[i].cs < 0 {
		return nil
	}
	return &p.csubs[p.list[i].cs]
}

func (p *consumersPane) table(e *env, full bool) table {
	st := e.st
	cs := e.snap.Consumers
	var cols []column
	if full {
		cols = []column{
			{title: "TOPIC", width: 18, flex: 3, cutM: true, key: true},
			{title: "SUBSCRIPTION", width: 16, flex: 2, key: true},
			{title: "SOURCE", width: 7, key: true},                                            // the cluster's subscription, or the console's consumer of it
			{title: "CONSUMERS", width: 16, flex: 1, cutM: true, drop: 5, key: sharedSub(cs)}, // taps' names differ at their end
			{title: "TYPE", width: 10, drop: 10},
			{title: "STATE", width: 12, drop: 9},
			{title: "MSG/S", width: 7, right: true},
			{title: "LAG", width: 7, right: true},
			{title: "REDLV/S", width: 7, right: true, drop: 4},
			{title: "TREND", width: 8, flex: 1, drop: 6},
			{title: "RECEIVED", width: 8, right: true, drop: 8},
			{title: "E2E P50", width: 7, right: true, drop: 7},
			{title: "E2E P99", width: 7, right: true, drop: 3},
			{title: "REDLV WAIT", width: 10, right: true, drop: 12},
			{title: "ACK", width: 6, right: true, drop: 11},
		}
	} else {
		cols = []column{
			{title: "TOPIC", width: 10, flex: 2, cutM: true, key: true},
			{title: "SUB", width: 8, flex: 1, key: true},
			{title: "MSG/S", width: 7, right: true},
			{title: "LAG", width: 6, right: true, drop: 1},
		}
	}
	tap := strings.Join(e.offer(e.keys.Consumers.NewTap, "c starts a tap"), "")
	empty := "no consumers" + pick(tap != "", " ("+tap+")", "")
	if m := noMetrics(&e.snap.Cluster); m != "" {
		empty = m + pick(tap != "", "; "+tap, "")
	}
	return table{
		cols:  cols,
		n:     len(p.list),
		sel:   p.cur.index(len(p.list), p.rowID(e)),
		focus: full && !p.focus,
		empty: empty,
		row: func(i int, c []cell) {
			r := p.list[i]
			if r.cs >= 0 {
				s := &p.csubs[r.cs]
				c[0] = txt(st.text, clean(s.topic))
				c[1] = txt(st.accent, clean(s.sub))
				lag := txt(pick(s.lag > 0 && s.consumers == 0, st.warn, st.text), fmtInt(s.lag))
				if !full {
					c[2] = txt(st.text, fmtSI(s.out))
					c[3] = lag
					return
				}
				c[2] = txt(st.muted, "cluster")
				c[3] = txt(pick(s.consumers == 0, st.warn, st.text), fmtInt(s.consumers))
				c[6] = txt(st.text, fmtSI(s.out))
				c[7] = lag
				c[8] = txt(pick(s.redelivered > 0, st.warn, st.text), fmtSI(s.redelivered))
				return
			}
			cn := &cs[r.c]
			c[0] = txt(st.text, clean(cn.Topic))
			c[1] = txt(st.accent, clean(cn.Subscription))
			if !full {
				c[2] = txt(st.text, fmtSI(cn.Rate))
				c[3] = txt(st.muted, "-")
				return
			}
			c[2] = txt(st.accent, "console")
			c[3] = txt(pick(cn.AdHoc, st.accent, st.text), clean(cn.Name))
			c[4] = txt(st.muted, cn.Type.String())
			c[5] = txt(consumerPaint(st, cn.State), cn.State.String())
			c[6] = txt(st.text, fmtSI(cn.Rate))
			c[7] = txt(st.muted, "-")
			c[8] = txt(st.muted, "-")
			c[9] = spk(cn.Series)
			c[10] = txt(st.text, fmtCount(cn.Received))
			c[11] = txt(st.text, fmtDur(cn.EndToEnd.P50))
			c[12] = txt(st.text, fmtDur(cn.EndToEnd.P99))
			c[13] = redeliveryWait(st, cn.Redelivery)
			c[14] = pick(cn.ManualAck, txt(st.warn, "manual"), txt(st.muted, "auto"))
		},
	}
}

// title is "Consumers · 21 subscriptions · 4 console".
func (p *consumersPane) title(e *env) []seg {
	st := e.st
	return []seg{{"Consumers", st.title}, {" · " + plural(len(p.csubs), "subscription") + " · " + itoa(len(e.snap.Consumers)) + " console", st.muted}}
}

// subView is what the stream's place shows for a subscription of the cluster: its figures from the
// brokers' metrics, and how to see its messages.
func (p *consumersPane) subView(e *env, s *clusterSub, w, h int) string {
	st := e.st
	lw := 20
	lines := []string{
		st.kv(w-2, lw, "consumers", fmtInt(s.consumers), pick(s.consumers == 0 && s.lag > 0, st.warn, st.text)),
		st.kv(w-2, lw, "dispatched", fmtRate(s.out), st.text),
		st.kv(w-2, lw, "lag", fmtInt(s.lag)+" messages", pick(s.lag > 0, st.warn, st.text)),
		st.kv(w-2, lw, "redelivered", fmtRate(s.redelivered)+" · nacked "+fmtRate(s.nacks)+" · ack timeouts "+fmtRate(s.ackTimeouts), st.text),
		st.kv(w-2, lw, "dead-lettered", fmtRate(s.dlq), pick(s.dlq > 0, st.err, st.text)),
		st.kv(w-2, lw, "pending redelivery", fmtInt(s.pendingRedelivery), st.text),
		st.kv(w-2, lw, "terminal-blocked", fmtInt(s.terminalBlocked), pick(s.terminalBlocked > 0, st.err, st.text)),
	}
	if s.partitions > 0 {
		lines = append(lines, st.kv(w-2, lw, "partitions", itoa(s.partitions)+" (figures summed)", st.muted))
	}
	if !e.readOnly() { // enter taps the topic, which read-only refuses
		lines = append(lines, blank(w-2), newLine(w-2).space(1).add(st.key, "enter").
			add(st.muted, " taps "+clean(s.topic)+" with a subscription of the console's own (the tap takes nothing from "+clean(s.sub)+")").String())
	}
	title := []seg{{clean(s.sub), st.title}, {" on " + clean(s.topic) + " · from the brokers' metrics", st.muted}}
	return st.box(title, w, h, false, lines)
}
