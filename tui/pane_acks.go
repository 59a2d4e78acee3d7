package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
)

// acksPane shows what the brokers say of every subscription of the cluster (the broker exports no ack
// counter: it gives the redelivery, nack, ack-timeout and dead-letter rates, the messages pending
// redelivery, those its poison policy blocked, and the lag), then, per subscription of the console's own
// consumers, what was acked, nacked, pending and redelivered, the ack errors and the ack latency. One
// selection runs through both lists, the cluster's first.
type acksPane struct {
	cur      cursor
	subs     []clusterSub // the cluster's subscriptions, derived when the snapshot changes
	subsFrom from[monitor.SubscriptionRate]
	// the cluster's subscriptions' figures, summed
	lag, blocked int64
	redeliv, dlq float64
}

func subscriptionID(e *env) func(i int) string {
	ss := e.snap.Subscriptions
	return func(i int) string { return ss[i].Topic + "\x00" + ss[i].Subscription }
}

// derive sums the cluster's subscriptions when the snapshot's changed.
func (p *acksPane) derive(e *env) {
	if !p.subsFrom.changed(e.snap.Cluster.Subscriptions) {
		return
	}
	p.subs = sumSubs(e.snap.Cluster.Subscriptions)
	p.lag, p.blocked, p.redeliv, p.dlq = 0, 0, 0, 0
	for i := range p.subs {
		p.lag += p.subs[i].lag
		p.blocked += p.subs[i].terminalBlocked
		p.redeliv += p.subs[i].redelivered
		p.dlq += p.subs[i].dlq
	}
}

// n is the number of rows of both lists.
func (p *acksPane) n(e *env) int { return len(p.subs) + len(e.snap.Subscriptions) }

// rowID names row i of both lists: the cluster's subscriptions, then the console's.
func (p *acksPane) rowID(e *env) func(i int) string {
	own := subscriptionID(e)
	return func(i int) string {
		if i < len(p.subs) {
			return "cluster\x00" + p.subs[i].topic + "\x00" + p.subs[i].sub
		}
		return own(i - len(p.subs))
	}
}

// acksLayout splits the pane between the cluster's subscriptions (with the totals line) and the console's.
func acksLayout(h, cluster, own int) (clusterH, ownH int) {
	// Borders, header and totals take four lines.
	if cluster == 0 {
		ownH = max(5, min(own+4, h/2))
	} else {
		ownH = max(5, min(own+4, h*2/5))
	}
	return h - ownH, ownH
}

func (p *acksPane) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	p.derive(e)
	p.cur.move(e, msg, p.n(e), e.bodyHeight()/2, p.rowID(e))
	return nil
}

func (p *acksPane) clusterTable(e *env) table {
	st := e.st
	sel := p.cur.index(p.n(e), p.rowID(e))
	empty := noMetrics(&e.snap.Cluster)
	if empty == "" {
		empty = "no subscriptions in the brokers' metrics"
	}
	return table{
		cols: []column{
			{title: "TOPIC", width: 20, flex: 3, cutM: true, key: true},
			{title: "SUBSCRIPTION", width: 12, flex: 2, key: true},
			{title: "CONS", width: 4, right: true, drop: 6},
			{title: "LAG", width: 7, right: true},
			{title: "REDLV/S", width: 7, right: true},
			{title: "NACK/S", width: 6, right: true, drop: 3},
			{title: "TMOUT/S", width: 7, right: true, drop: 4},
			{title: "DLQ/S", width: 6, right: true, drop: 2},
			{title: "PENDING", width: 7, right: true, drop: 5},
			{title: "BLOCKED", width: 7, right: true, drop: 1},
		},
		n:     len(p.subs),
		sel:   pick(sel < len(p.subs), sel, -1),
		focus: true,
		empty: empty,
		mark:  p.ownMark(e),
		row: func(i int, c []cell) {
			s := &p.subs[i]
			rate := func(v float64, bad paint) cell { return txt(pick(v > 0, bad, st.text), fmtSI(v)) }
			c[0] = txt(st.text, clean(s.topic))
			c[1] = txt(st.accent, clean(s.sub))
			c[2] = txt(pick(s.consumers == 0, st.warn, st.text), fmtInt(s.consumers))
			c[3] = txt(pick(s.lag > 0, st.warn, st.text), fmtInt(s.lag))
			c[4] = rate(s.redelivered, st.warn)
			c[5] = rate(s.nacks, st.warn)
			c[6] = rate(s.ackTimeouts, st.warn)
			c[7] = rate(s.dlq, st.err)
			c[8] = txt(pick(s.pendingRedelivery > 0, st.warn, st.text), fmtInt(s.pendingRedelivery))
			c[9] = txt(pick(s.terminalBlocked > 0, st.err, st.text), fmtInt(s.terminalBlocked))
		},
	}
}

// ownMark marks the cluster's subscriptions the console's own consumers are subscriptions of.
func (p *acksPane) ownMark(e *env) func(i int) bool {
	ss := e.snap.Subscriptions
	return func(i int) bool {
		for j := range ss {
			if ss[j].Subscription == p.subs[i].sub && baseTopic(ss[j].Topic) == p.subs[i].topic {
				return true
			}
		}
		return false
	}
}

func (p *acksPane) table(e *env, full bool) table {
	st := e.st
	ss := e.snap.Subscriptions
	var cols []column
	if full {
		cols = []column{
			{title: "TOPIC", width: 12, flex: 3, cutM: true, key: true},
			{title: "SUBSCRIPTION", width: 12, flex: 2, key: true},
			{title: "RECEIVED", width: 8, right: true, drop: 5},
			{title: "ACKED", width: 7, right: true},
			{title: "NACKED", width: 6, right: true, drop: 3},
			{title: "PENDING", width: 7, right: true},
			{title: "REDELIV", width: 7, right: true, drop: 4},
			{title: "ACK ERR", width: 7, right: true, drop: 2},
			{title: "ACK P50", width: 7, right: true, drop: 6},
			{title: "ACK P99", width: 7, right: true, drop: 1},
			{title: "REDLV WAIT", width: 10, right: true, drop: 7},
		}
	} else {
		cols = []column{
			{title: "SUBSCRIPTION", width: 10, flex: 1, key: true},
			{title: "ACKED", width: 6, right: true},
			{title: "PEND", width: 5, right: true},
			{title: "NACK", width: 5, right: true, drop: 1},
		}
	}
	sel := p.cur.index(p.n(e), p.rowID(e)) - len(p.subs)
	return table{
		cols:  cols,
		n:     len(ss),
		sel:   max(-1, sel),
		focus: full,
		empty: "the console acks nothing" + strings.Join(e.offer(e.keys.Consumers.NewTap, " (c on the consumers pane starts a tap)"), ""),
		row: func(i int, c []cell) {
			s := &ss[i]
			nack := pick(s.Nacked > 0, st.warn, st.text)
			pend := pick(s.Pending > 0, st.warn, st.text)
			if full {
				c[0] = txt(st.text, clean(s.Topic))
				c[1] = txt(st.accent, clean(s.Subscription))
				c[2] = txt(st.text, fmtCount(s.Received))
				c[3] = txt(st.text, fmtCount(s.Acked))
				c[4] = txt(nack, fmtCount(s.Nacked))
				c[5] = txt(pend, fmtInt(s.Pending))
				c[6] = txt(pick(s.Redelivered > 0, st.warn, st.text), fmtCount(s.Redelivered))
				c[7] = txt(pick(s.AckErrors > 0, st.err, st.text), fmtCount(s.AckErrors))
				c[8] = txt(st.text, fmtDur(s.AckLatency.P50))
				c[9] = txt(st.text, fmtDur(s.AckLatency.P99))
				c[10] = redeliveryWait(st, s.Redelivery)
				return
			}
			c[0] = txt(st.accent, clean(s.Subscription))
			c[1] = txt(st.text, fmtCount(s.Acked))
			c[2] = txt(pend, fmtInt(s.Pending))
			c[3] = txt(nack, fmtCount(s.Nacked))
		},
	}
}

func (p *acksPane) view(e *env, w, h int) string {
	st := e.st
	ss := e.snap.Subscriptions
	var acked, nacked, redeliv, ackErr uint64
	var pending int64
	for i := range ss {
		acked += ss[i].Acked
		nacked += ss[i].Nacked
		redeliv += ss[i].Redelivered
		ackErr += ss[i].AckErrors
		pending += ss[i].Pending
	}
	lag, blocked, redelivR, dlq := p.lag, p.blocked, p.redeliv, p.dlq
	clusterH, ownH := acksLayout(h, len(p.subs), len(ss))
	body := st.renderTable(p.clusterTable(e), w-2, clusterH-3)
	for len(body) < clusterH-3 {
		body = append(body, blank(w-2))
	}
	body = append(body, newLine(w-2).space(1).add(st.muted, "lag ").add(pick(lag > 0, st.warn, st.text), fmtInt(lag)).
		add(st.muted, " · redelivered ").add(st.text, fmtRate(redelivR)).
		add(st.muted, " · dead-lettered ").add(pick(dlq > 0, st.err, st.text), fmtRate(dlq)).
		add(st.muted, " · blocked ").add(pick(blocked > 0, st.err, st.text), fmtInt(blocked)).
		add(st.muted, " · ● the console consumes it too").String())
	title := []seg{{"Acks", st.title}, {" · " + plural(len(p.subs), "subscription") + " · " + itoa(len(ss)) + " console", st.muted}}
	top := st.box(title, w, clusterH, true, body)

	own := st.renderTable(p.table(e, true), w-2, ownH-3)
	for len(own) < ownH-3 {
		own = append(own, blank(w-2))
	}
	own = append(own, newLine(w-2).space(1).add(st.muted, "total acked ").add(st.text, fmtCount(acked)).
		add(st.muted, " · nacked ").add(pick(nacked > 0, st.warn, st.text), fmtCount(nacked)).
		add(st.muted, " · pending ").add(pick(pending > 0, st.warn, st.text), fmtInt(pending)).
		add(st.muted, " · redelivered ").add(st.text, fmtCount(redeliv)).
		add(st.muted, " · ack errors ").add(pick(ackErr > 0, st.err, st.text), fmtCount(ackErr)).String())
	otitle := []seg{{"Console acks", st.title}, {" (" + plural(len(ss), "subscription") + ")", st.muted}}
	return top + "\n" + st.box(otitle, w, ownH, false, own)
}

func (p *acksPane) tile(e *env, w, h int, focused bool) string {
	st := e.st
	var pending int64
	for i := range e.snap.Subscriptions {
		pending += e.snap.Subscriptions[i].Pending
	}
	title := []seg{{"Acks", st.title}, {" (" + itoa(len(e.snap.Subscriptions)) + ") ", st.muted},
		{fmtInt(pending) + " pending", pick(pending > 0, st.warn, st.text)}}
	return e.st.box(title, w, h, focused, e.st.renderTable(p.table(e, false), w-2, h-2))
}

func (p *acksPane) capturing() bool { return false }
func (p *acksPane) esc() bool       { return false }

// click selects the subscription under the mouse, in either list.
func (p *acksPane) click(e *env, _, y int) {
	p.derive(e)
	clusterH, ownH := acksLayout(e.bodyHeight(), len(p.subs), len(e.snap.Subscriptions))
	n, id := p.n(e), p.rowID(e)
	sel := p.cur.index(n, id)
	var i int
	if y < clusterH {
		i = clickRow(pick(sel < len(p.subs), sel, -1), len(p.subs), clusterH-4, y-2)
	} else {
		i = clickRow(max(-1, sel-len(p.subs)), len(e.snap.Subscriptions), ownH-4, y-clusterH-2)
		if i >= 0 {
			i += len(p.subs)
		}
	}
	if i >= 0 {
		p.cur.idx, p.cur.id = i, id(i)
	}
}

func (p *acksPane) sync(e *env) { p.derive(e) }

func (p *acksPane) bindings(*KeyMap) []Binding { return nil }

// redeliveryWait is the p99 of how long redelivered messages waited from their first delivery (nack or ack
// timeout; kept apart from the end-to-end latency), or a muted dash when none was redelivered.
func redeliveryWait(st *styles, l monitor.Latency) cell {
	if l.Count == 0 {
		return txt(st.muted, "-")
	}
	return txt(st.warn, fmtDur(l.P99))
}
