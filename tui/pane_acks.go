package tui

import (
	tea "charm.land/bubbletea/v2"
)

// acksPane shows, per subscription, what was acked, nacked, pending and redelivered, the ack errors and the
// ack latency.
type acksPane struct {
	cur cursor
}

func subscriptionID(e *env) func(i int) string {
	ss := e.snap.Subscriptions
	return func(i int) string { return ss[i].Topic + "\x00" + ss[i].Subscription }
}

func (p *acksPane) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	p.cur.move(e, msg, len(e.snap.Subscriptions), e.bodyHeight()-5, subscriptionID(e))
	return nil
}

func (p *acksPane) table(e *env, full bool) table {
	st := e.st
	ss := e.snap.Subscriptions
	var cols []column
	if full {
		cols = []column{
			{title: "TOPIC", width: 12, flex: 3, cutL: true},
			{title: "SUBSCRIPTION", width: 12, flex: 2},
			{title: "RECEIVED", width: 8, right: true, drop: 5},
			{title: "ACKED", width: 7, right: true},
			{title: "NACKED", width: 6, right: true, drop: 3},
			{title: "PENDING", width: 7, right: true},
			{title: "REDELIV", width: 7, right: true, drop: 4},
			{title: "ACK ERR", width: 7, right: true, drop: 2},
			{title: "P50", width: 6, right: true, drop: 6},
			{title: "P99", width: 6, right: true, drop: 1},
		}
	} else {
		cols = []column{
			{title: "SUBSCRIPTION", width: 10, flex: 1},
			{title: "ACKED", width: 6, right: true},
			{title: "PEND", width: 5, right: true},
			{title: "NACK", width: 5, right: true, drop: 1},
		}
	}
	return table{
		cols:  cols,
		n:     len(ss),
		sel:   p.cur.index(len(ss), subscriptionID(e)),
		focus: full,
		empty: "no subscriptions",
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
	body := e.st.renderTable(p.table(e, true), w-2, h-3)
	for len(body) < h-3 {
		body = append(body, blank(w-2))
	}
	foot := newLine(w-2).space(1).add(st.muted, "total acked ").add(st.text, fmtCount(acked)).
		add(st.muted, " · nacked ").add(pick(nacked > 0, st.warn, st.text), fmtCount(nacked)).
		add(st.muted, " · pending ").add(pick(pending > 0, st.warn, st.text), fmtInt(pending)).
		add(st.muted, " · redelivered ").add(st.text, fmtCount(redeliv)).
		add(st.muted, " · ack errors ").add(pick(ackErr > 0, st.err, st.text), fmtCount(ackErr))
	body = append(body, foot.String())
	title := []seg{{"Acks", st.title}, {" (" + itoa(len(ss)) + " subscriptions)", st.muted}}
	return e.st.box(title, w, h, true, body)
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

// click selects the subscription under the mouse.
func (p *acksPane) click(e *env, _, y int) {
	clickTable(&p.cur, len(e.snap.Subscriptions), subscriptionID(e), e.bodyHeight()-4, 2, y)
}
func (p *acksPane) sync(*env) {}

func (p *acksPane) bindings(*KeyMap) []Binding { return nil }
