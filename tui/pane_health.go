package tui

import (
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
)

// healthPane shows the cluster's brokers first (ListBrokers joined with their metrics and the state of
// their metrics endpoints: up or down, the last scrape's age, rpc and rpc error rates), then every producer's
// and consumer's of the console's own last health check, and the state of the connection to each broker
// address.
type healthPane struct {
	cur       cursor
	brokers   []brokerRow // derived when the snapshot's cluster changes
	adminFrom from[monitor.BrokerInfo]
	mFrom     from[monitor.BrokerMetrics]
	srcFrom   from[monitor.SourceState]
}

// derive joins the brokers when the admin view, the brokers' metrics or the sources changed.
func (p *healthPane) derive(e *env) {
	c := &e.snap.Cluster
	a, m, s := p.adminFrom.changed(c.Admin.Brokers), p.mFrom.changed(c.Brokers), p.srcFrom.changed(c.Sources)
	if !a && !m && !s && p.brokers != nil {
		return
	}
	p.brokers = brokerRows(c)
	if p.brokers == nil {
		p.brokers = []brokerRow{}
	}
}

// brokersHeight is the height of the brokers' box: its rows, at most a third of the pane.
func brokersHeight(h, n int) int { return max(4, min(n+3, h/3)) }

func healthID(e *env) func(i int) string {
	hs := e.snap.Health
	return func(i int) string {
		k := "p"
		if hs[i].Consumer {
			k = "c"
		}
		return k + "\x00" + hs[i].Topic + "\x00" + hs[i].Name + "\x00" + strconv.FormatUint(hs[i].ID, 10)
	}
}

// healthLayout splits the pane between the checks, the broker's store repairs (only when it reported some)
// and the connections.
func healthLayout(h, conns, repairs int) (checksH, repairsH, connsH int) {
	connsH = max(4, min(conns+3, h/3))
	if repairs > 0 {
		repairsH = max(4, min(repairs+3, h/3))
	}
	return h - connsH - repairsH, repairsH, connsH
}

// repairCount is how many store repairs the broker reported.
func repairCount(e *env) int {
	if r := e.snap.StoreRecovery; r != nil {
		return len(r.Reports)
	}
	return 0
}

func (p *healthPane) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	p.derive(e)
	bh := e.bodyHeight() - brokersHeight(e.bodyHeight(), len(p.brokers))
	ch, _, _ := healthLayout(bh, len(e.snap.Conns), repairCount(e))
	p.cur.move(e, msg, len(e.snap.Health), ch-3, healthID(e))
	return nil
}

func healthStatusPaint(st *styles, h *monitor.HealthStats) paint {
	switch h.Status {
	case monitor.HealthOK:
		return st.ok
	case monitor.HealthClose:
		return st.warn
	case monitor.HealthUnknown, monitor.HealthStopped:
		return st.muted
	}
	return st.err
}

func connStatePaint(st *styles, s monitor.ConnState) paint {
	switch s {
	case monitor.ConnReady:
		return st.ok
	case monitor.ConnConnecting:
		return st.warn
	case monitor.ConnTransientFailure:
		return st.err
	}
	return st.muted
}

func (p *healthPane) table(e *env, full bool) table {
	st := e.st
	hs := e.snap.Health
	now := e.now
	var cols []column
	if full {
		cols = []column{
			{title: "KIND", width: 4, drop: 5},
			{title: "TOPIC", width: 12, flex: 3, cutM: true, key: true},
			{title: "NAME", width: 8, flex: 2, key: true},
			{title: "STATUS", width: 7},
			{title: "AGE", width: 6, right: true},
			{title: "RTT", width: 7, right: true},
			{title: "RECONN", width: 6, right: true, drop: 3},
			{title: "ERROR", width: 10, flex: 2, drop: 2},
		}
	} else {
		cols = []column{
			{title: "NAME", width: 10, flex: 1, key: true},
			{title: "TOPIC", width: 8, flex: 1, cutM: true, key: true}, // a partitioned topic's producers share a name
			{title: "STATUS", width: 7},
			{title: "AGE", width: 5, right: true, drop: 2},
			{title: "RTT", width: 6, right: true, drop: 1},
		}
	}
	return table{
		cols:  cols,
		n:     len(hs),
		sel:   p.cur.index(len(hs), healthID(e)),
		focus: full,
		empty: "no health checks yet",
		row: func(i int, c []cell) {
			h := &hs[i]
			status := h.Status.String()
			if status == "" {
				status = "-"
			}
			sp := healthStatusPaint(st, h)
			if full {
				c[0] = txt(st.muted, pick(h.Consumer, "cons", "prod"))
				c[1] = txt(st.text, clean(h.Topic))
				c[2] = txt(st.accent, clean(h.Name))
				c[3] = txt(sp, status)
				c[4] = txt(st.text, ago(now, h.At))
				c[5] = txt(st.text, fmtDur(h.RTT))
				c[6] = txt(pick(h.Reconnects > 0, st.warn, st.text), fmtCount(h.Reconnects))
				c[7] = txt(st.err, clean(h.Err))
				return
			}
			c[0] = txt(st.accent, clean(h.Name))
			c[1] = txt(st.muted, clean(h.Topic))
			c[2] = txt(sp, status)
			c[3] = txt(st.text, ago(now, h.At))
			c[4] = txt(st.text, fmtDur(h.RTT))
		},
	}
}

// brokerState is a broker's state word and its paint: up, down, or what ListBrokers says.
func brokerState(st *styles, b *brokerRow) (string, paint) {
	up, down := b.state()
	switch {
	case up:
		return "up", st.ok
	case down:
		return "down", st.err
	}
	return orDash(clean(b.status())), st.muted
}

// brokersTable lists the brokers; full adds their addresses, endpoints and traffic.
func (p *healthPane) brokersTable(e *env, full bool) table {
	st := e.st
	now := e.now
	cols := []column{
		{title: "BROKER", width: 10, key: true},
		{title: "ROLE", width: 8, drop: 5},
		{title: "STATUS", width: 6},
		{title: "ADDRESS", width: 14, flex: 2, drop: 7},
		{title: "SCRAPED", width: 7, right: true},
		{title: "RPC/S", width: 6, right: true, drop: 4},
		{title: "ERR/S", width: 6, right: true},
		{title: "TOPICS", width: 6, right: true, drop: 3},
		{title: "IN/S", width: 6, right: true, drop: 6},
		{title: "OUT/S", width: 6, right: true, drop: 8},
		{title: "ERROR", width: 12, flex: 3, drop: 2},
	}
	if !full {
		cols = []column{
			{title: "BROKER", width: 10, key: true},
			{title: "STATUS", width: 6},
			{title: "SCRAPED", width: 7, right: true, drop: 3},
			{title: "ERR/S", width: 6, right: true, drop: 2},
			{title: "IN/S", width: 6, right: true, drop: 1},
			{title: "ERROR", width: 10, flex: 1, drop: 4},
		}
	}
	empty := "no brokers: the admin API lists none and no --metrics-url is set"
	return table{
		cols:  cols,
		n:     len(p.brokers),
		sel:   -1,
		empty: empty,
		row: func(i int, c []cell) {
			b := &p.brokers[i]
			state, sp := brokerState(st, b)
			id := clean(b.id) + pick(b.leader(), " ★", "")
			scraped, errS, in, errText := "-", "-", "-", ""
			if b.src != nil {
				scraped = ago(now, b.src.LastOK)
				errText = clean(b.src.Err)
			}
			if b.met != nil {
				errS, in = fmtSI(b.met.RPCErrorsPerSec), fmtSI(b.met.MsgsInPerSec)
			}
			errP := pick(b.met != nil && b.met.RPCErrorsPerSec > 0, st.warn, st.text)
			if !full {
				c[0] = txt(pick(b.leader(), st.accent, st.text), id)
				c[1] = txt(sp, state)
				c[2] = txt(st.text, scraped)
				c[3] = txt(errP, errS)
				c[4] = txt(st.text, in)
				c[5] = txt(st.err, errText)
				return
			}
			role := strings.TrimPrefix(clean(b.role()), "Cluster_")
			c[0] = txt(pick(b.leader(), st.accent, st.text), id)
			c[1] = txt(st.muted, orDash(strings.ToLower(role)))
			c[2] = txt(sp, state)
			c[3] = txt(st.text, orDash(clean(b.addr())))
			c[4] = txt(st.text, scraped)
			c[9] = txt(st.text, "-")
			c[5], c[7], c[8] = txt(st.text, "-"), txt(st.text, "-"), txt(st.text, in)
			if b.met != nil {
				c[5] = txt(st.text, fmtSI(b.met.RPCPerSec))
				c[7] = txt(st.text, fmtInt(b.met.TopicsOwned))
				c[9] = txt(st.text, fmtSI(b.met.MsgsOutPerSec))
			}
			c[6] = txt(errP, errS)
			c[10] = txt(st.err, errText)
		},
	}
}

// brokersTitle is "Brokers (3) 2 up · 1 down".
func (p *healthPane) brokersTitle(e *env) []seg {
	st := e.st
	up, down := 0, 0
	for i := range p.brokers {
		u, d := p.brokers[i].state()
		up += pick(u, 1, 0)
		down += pick(d, 1, 0)
	}
	return []seg{{"Brokers", st.title}, {" (" + itoa(len(p.brokers)) + ") ", st.muted}, {itoa(up) + " up", st.ok},
		{" · ", st.muted}, {itoa(down) + " down", pick(down > 0, st.err, st.muted)}}
}

func (p *healthPane) connsTable(e *env) table {
	st := e.st
	cs := e.snap.Conns
	now := e.now
	return table{
		cols: []column{
			{title: "BROKER ADDRESS", width: 16, flex: 1, key: true},
			{title: "STATE", width: 17},
			{title: "SINCE", width: 7, right: true},
			{title: "TRANSITIONS", width: 11, right: true, drop: 1},
		},
		n:     len(cs),
		sel:   -1,
		empty: "no connections",
		row: func(i int, c []cell) {
			cn := &cs[i]
			c[0] = txt(st.text, clean(cn.Addr))
			c[1] = txt(connStatePaint(st, cn.State), cn.State.String())
			c[2] = txt(st.text, ago(now, cn.Since))
			c[3] = txt(st.text, fmtCount(cn.Transitions))
		},
	}
}

// repairsTable lists what the broker repaired in its data directory at start.
func (p *healthPane) repairsTable(e *env) table {
	st := e.st
	var rs []monitor.RecoveryReport
	if r := e.snap.StoreRecovery; r != nil {
		rs = r.Reports
	}
	return table{
		cols: []column{
			{title: "ACTION", width: 9},
			{title: "TOPIC", width: 12, flex: 2, cutL: true, key: true},
			{title: "MESSAGES", width: 12, flex: 1},
			{title: "FILE", width: 10, flex: 1, cutL: true, drop: 1},
			{title: "REASON", width: 12, flex: 3, drop: 2},
		},
		n:     len(rs),
		sel:   -1,
		empty: "nothing repaired",
		row: func(i int, c []cell) {
			r := &rs[i]
			c[0] = txt(pick(r.Action == "adopted", st.warn, st.err), r.Action)
			c[1] = txt(st.text, clean(pick(r.Topic == "", "(metadata)", r.Topic)))
			msgs := "-"
			switch {
			case r.Records > 0:
				msgs = fmtCount(uint64(r.Records)) + " @ " + strconv.FormatUint(r.FirstOffset, 10) + "-" + strconv.FormatUint(r.LastOffset, 10)
			case r.Records < 0 && r.LastOffset > 0:
				msgs = "? @ " + strconv.FormatUint(r.FirstOffset, 10) + "-" + strconv.FormatUint(r.LastOffset, 10)
			case r.Records < 0:
				msgs = "? from " + strconv.FormatUint(r.FirstOffset, 10)
			}
			c[2] = txt(st.text, msgs)
			c[3] = txt(st.muted, clean(pick(r.MovedTo != "", r.File+" → "+r.MovedTo, r.File)))
			c[4] = txt(st.text, clean(r.Reason))
		},
	}
}

// healthTally counts the checks by outcome: ok, failing (closed by the broker, or an error), waiting for a
// first answer, and of stopped clients; they add up to all the checks.
type healthTally struct{ ok, bad, waiting, stopped int }

func healthCounts(hs []monitor.HealthStats) (t healthTally) {
	for i := range hs {
		switch hs[i].Status {
		case monitor.HealthOK:
			t.ok++
		case monitor.HealthUnknown:
			t.waiting++
		case monitor.HealthStopped:
			t.stopped++
		default:
			t.bad++
		}
	}
	return t
}

// segs is "3 ok · 1 failing", then "· 1 waiting · 2 stopped" when there are such: every check is counted once.
func (t healthTally) segs(st *styles) []seg {
	out := []seg{{itoa(t.ok) + " ok", st.ok}, {" · ", st.muted}, {itoa(t.bad) + " failing", pick(t.bad > 0, st.err, st.muted)}}
	if t.waiting > 0 {
		out = append(out, seg{" · " + itoa(t.waiting) + " waiting", st.muted})
	}
	if t.stopped > 0 {
		out = append(out, seg{" · " + itoa(t.stopped) + " stopped", st.muted})
	}
	return out
}

func (p *healthPane) view(e *env, w, h int) string {
	st := e.st
	hs := e.snap.Health
	repairs := repairCount(e)
	brH := brokersHeight(h, len(p.brokers))
	brokers := st.box(p.brokersTitle(e), w, brH, false, st.renderTable(p.brokersTable(e, true), w-2, brH-2))
	h -= brH
	checksH, repairsH, connsH := healthLayout(h, len(e.snap.Conns), repairs)
	title := append([]seg{{"Console health checks", st.title}, {" (" + itoa(len(hs)) + ") ", st.muted}}, healthCounts(hs).segs(st)...)
	top := brokers + "\n" + e.st.box(title, w, checksH, true, e.st.renderTable(p.table(e, true), w-2, checksH-2))
	if repairs > 0 {
		rec := e.snap.StoreRecovery
		rtitle := []seg{{"Store recovery", st.title}, {" (" + itoa(repairs) + ") ", st.muted},
			{"broker " + clean(rec.BrokerID) + " repaired its data directory when it started " + ago(e.now, rec.StartedAt) + " ago", st.err}}
		top += "\n" + e.st.box(rtitle, w, repairsH, false, e.st.renderTable(p.repairsTable(e), w-2, repairsH-2))
	}
	ctitle := []seg{{"Console connections", st.title}, {" (" + itoa(len(e.snap.Conns)) + ")", st.muted}}
	bottom := e.st.box(ctitle, w, connsH, false, e.st.renderTable(p.connsTable(e), w-2, connsH-2))
	return top + "\n" + bottom
}

// tile shows the brokers (the dashboard's brokers tile), or, when the console knows of none, its own
// clients' health.
func (p *healthPane) tile(e *env, w, h int, focused bool) string {
	st := e.st
	if len(p.brokers) > 0 {
		return st.box(p.brokersTitle(e), w, h, focused, st.renderTable(p.brokersTable(e, false), w-2, h-2))
	}
	ready := 0
	for i := range e.snap.Conns {
		if e.snap.Conns[i].State == monitor.ConnReady {
			ready++
		}
	}
	title := []seg{{"Health", st.title}, {" ", st.muted}}
	if n := repairCount(e); n > 0 { // first: it says more than the rest, and a narrow tile cuts the end
		title = append(title, seg{itoa(n) + " store repairs", st.err}, seg{" · ", st.muted})
	}
	title = append(title, healthCounts(e.snap.Health).segs(st)...)
	title = append(title, seg{" · ", st.muted},
		seg{itoa(ready) + "/" + itoa(len(e.snap.Conns)) + " conns", pick(ready < len(e.snap.Conns), st.warn, st.text)})
	return e.st.box(title, w, h, focused, e.st.renderTable(p.table(e, false), w-2, h-2))
}

func (p *healthPane) capturing() bool { return false }
func (p *healthPane) esc() bool       { return false }

// click selects the health check under the mouse.
func (p *healthPane) click(e *env, _, y int) {
	p.derive(e)
	brH := brokersHeight(e.bodyHeight(), len(p.brokers))
	ch, _, _ := healthLayout(e.bodyHeight()-brH, len(e.snap.Conns), repairCount(e))
	clickTable(&p.cur, len(e.snap.Health), healthID(e), ch-3, 2, y-brH)
}

func (p *healthPane) sync(e *env) { p.derive(e) }

func (p *healthPane) bindings(*KeyMap) []Binding { return nil }
