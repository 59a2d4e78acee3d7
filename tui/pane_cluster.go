package tui

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/danube-console/danube-console/monitor"
)

// clusterPane shows the cluster as its data sources see it: the brokers (ListBrokers joined by id with each
// broker's own metrics), the Raft membership, the load balance, and each data source with its state and
// why it fails. u unloads the selected broker, a activates it, B rebalances the cluster (a dry run first,
// whose proposed moves the confirmation shows); every action asks first and reports to the status bar.
type clusterPane struct {
	cur cursor // the selected broker, by id
}

// Requests the cluster pane serves, and the results of its actions.
type (
	// focusBrokerMsg selects a broker in the cluster pane (the problems pane posts it with showPaneMsg).
	focusBrokerMsg struct{ id string }
	// brokerActionMsg runs a confirmed action on the cluster: verb is "unload" or "activate" (of broker),
	// or "rebalance" (dryRun: only the proposed moves).
	brokerActionMsg struct {
		verb, broker string
		dryRun       bool
	}
	// brokerDoneMsg reports the end of a brokerActionMsg.
	brokerDoneMsg struct {
		brokerActionMsg
		unload    monitor.UnloadResult
		rebalance monitor.RebalanceResult
		err       error
		on        monitor.ClusterAdmin // the backend it ran on
	}
)

func brokerID(rows []brokerRow) func(i int) string { return func(i int) string { return rows[i].id } }

// role is the broker's Raft role in a word.
func (r *brokerRow) role() string {
	if r.info != nil {
		switch r.info.Role {
		case "Cluster_Leader":
			return "leader"
		case "Cluster_Follower":
			return "follower"
		case "", "None":
			return "-"
		}
		return clean(r.info.Role)
	}
	if r.met != nil && r.met.Leader {
		return "leader"
	}
	return "-"
}

// health is the broker's health mark and word.
func (r *brokerRow) health(st *styles) cell {
	switch {
	case r.down != "":
		return txt(st.err, "✗ down")
	case r.info != nil && r.info.Status != "" && r.info.Status != "active":
		return txt(st.warn, "◐ "+clean(r.info.Status))
	case r.met != nil:
		return txt(st.ok, "● up")
	case r.info != nil:
		return txt(st.muted, "○ no metrics")
	}
	return txt(st.warn, "? unlisted")
}

func (p *clusterPane) table(e *env, rows []brokerRow, focus bool) table {
	st := e.st
	idw := 4 // broker ids are u64s: long ones are shown whole up to 20 digits
	for _, r := range rows {
		idw = max(idw, min(20, textWidth(r.id)))
	}
	cols := []column{
		{title: "ID", width: idw, flex: 1, key: true},
		{title: "ROLE", width: 8, drop: 3},
		{title: "STATUS", width: 8, drop: 4},
		{title: "CLIENT ADDR", width: 20, flex: 2, drop: 8},
		{title: "ADMIN ADDR", width: 20, flex: 2, drop: 9},
		{title: "TOPICS", width: 6, right: true, drop: 2},
		{title: "CONNS", width: 5, right: true, drop: 7},
		{title: "RPC/S", width: 6, right: true, drop: 5},
		{title: "IN/S", width: 7, right: true},
		{title: "OUT/S", width: 7, right: true},
		{title: "PUB LAT", width: 7, right: true, drop: 6},
		{title: "HEALTH", width: 11, flex: 1},
	}
	empty := "no brokers known: the admin API (--admin-url) and the metrics endpoints (--metrics-url) tell them"
	return table{
		cols: cols, n: len(rows), sel: p.cur.index(len(rows), brokerID(rows)), focus: focus, empty: empty,
		row: func(i int, c []cell) {
			r := &rows[i]
			c[0] = txt(st.text, clean(r.id))
			c[1] = txt(pick(r.role() == "leader", st.accent, st.text), r.role())
			c[11] = r.health(st)
			if r.info != nil {
				c[2] = txt(pick(r.info.Status == "active", st.ok, st.warn), orDash(clean(r.info.Status)))
				c[3] = txt(st.muted, clean(r.info.Addr))
				c[4] = txt(st.muted, clean(r.info.AdminAddr))
			} else {
				c[2], c[3], c[4] = txt(st.muted, "-"), txt(st.muted, "-"), txt(st.muted, "-")
			}
			if r.met == nil {
				for j := 5; j <= 10; j++ {
					c[j] = txt(st.muted, "-")
				}
				return
			}
			m := r.met
			c[5] = txt(st.text, fmtInt(m.TopicsOwned))
			c[6] = txt(st.text, fmtInt(r.conns))
			rpc := fmtSI(m.RPCPerSec)
			c[7] = txt(pick(m.RPCErrorsPerSec > 0, st.warn, st.text), rpc)
			c[8] = txt(st.text, fmtSI(m.MsgsInPerSec))
			c[9] = txt(st.text, fmtSI(m.MsgsOutPerSec))
			c[10] = txt(st.text, fmtDur(time.Duration(m.PublishLatencyMeanMs*float64(time.Millisecond))))
		},
	}
}

// raftLines draws the Raft membership in w cells: one fact a line, or (condensed) two lines.
func raftLines(e *env, w int, condensed bool) []string {
	st := e.st
	a := &e.snap.Cluster.Admin
	if a.Raft == nil {
		return wrapLines(st, w, st.muted, pick(condensed, "Raft: ", "")+unknownWhy(e, a.RaftErr), 3)
	}
	r := a.Raft
	ids := func(v []uint64) string {
		if len(v) == 0 {
			return "-"
		}
		s := make([]string, len(v))
		for i, id := range v {
			s[i] = strconv.FormatUint(id, 10)
		}
		return strings.Join(s, ", ")
	}
	leader := strconv.FormatUint(r.LeaderID, 10)
	if r.LeaderID == 0 {
		leader = "none"
	}
	if condensed {
		l := newLine(w).space(1).add(st.muted, "Raft leader ").add(pick(r.LeaderID == 0, st.err, st.accent), leader).
			add(st.muted, "  term ").add(st.text, strconv.FormatUint(r.Term, 10)).
			add(st.muted, "  applied ").add(st.text, fmtCount(r.LastApplied)).
			add(st.muted, "  voters ").add(st.text, ids(r.Voters)).
			add(st.muted, "  learners ").add(st.text, ids(r.Learners))
		return []string{l.String()}
	}
	const lw = 12
	self := strconv.FormatUint(r.SelfID, 10)
	if r.RaftAddr != "" {
		self += " (raft " + clean(r.RaftAddr) + ")"
	}
	return []string{
		st.kv(w, lw, "leader", leader, pick(r.LeaderID == 0, st.err, st.accent)),
		st.kv(w, lw, "term", strconv.FormatUint(r.Term, 10), st.text),
		st.kv(w, lw, "last applied", fmtCount(r.LastApplied), st.text),
		st.kv(w, lw, "voters", ids(r.Voters), st.text),
		st.kv(w, lw, "learners", ids(r.Learners), st.text),
		st.kv(w, lw, "answered by", self, st.muted),
	}
}

// unknownWhy says why a part of the admin view is missing: the admin API's reason (a standalone broker has
// no Raft and no balance), no admin source, or no answer yet.
func unknownWhy(e *env, reason string) string {
	switch {
	case reason != "":
		return "standalone / not a cluster: " + clean(reason)
	case !hasSource(e.snap.Cluster.Sources, sourceAdmin):
		return "unknown: no admin source (--admin-url)"
	}
	return "waiting for the admin API's first answer"
}

// wrapLines draws plain text wrapped on at most n lines of w cells (the last one cut).
func wrapLines(st *styles, w int, p paint, s string, n int) []string {
	var out []string
	parts := strings.Split(ansi.Wrap(s, max(8, w-2), ""), "\n")
	for i, l := range parts {
		if i == n-1 && len(parts) > n {
			l = truncate(l+" "+strings.Join(parts[n:], " "), w-2)
		}
		out = append(out, st.textLine(w, p, l))
		if i == n-1 {
			break
		}
	}
	return out
}

// balanceLines draws the balance in w cells: the statistics, then one load bar per broker. labelled names
// it ("balance: …") where no box title of its own does.
func balanceLines(e *env, w int, labelled bool) []string {
	st := e.st
	a := &e.snap.Cluster.Admin
	if a.Balance == nil {
		return wrapLines(st, w, st.muted, pick(labelled, "balance: ", "")+unknownWhy(e, a.BalanceErr), 3)
	}
	b := a.Balance
	f2 := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	head := newLine(w).space(1).add(st.muted, "CV ").add(pick(b.CV > 0.3, st.warn, st.ok), f2(b.CV)).
		add(st.muted, "  mean ").add(st.text, fmtFloat(b.Mean)).
		add(st.muted, "  min ").add(st.text, fmtFloat(b.Min)).
		add(st.muted, "  max ").add(st.text, fmtFloat(b.Max)).
		add(st.muted, "  σ ").add(st.text, fmtFloat(b.StdDev)).
		add(st.muted, "  "+clean(b.Strategy)+", "+plural(b.BrokerCount, "broker"))
	out := []string{head.String()}
	peak := b.Max
	for _, l := range b.Brokers {
		peak = max(peak, l.Load)
	}
	const tail = 30
	idw := 4
	for _, l := range b.Brokers {
		idw = max(idw, min(20, textWidth(l.BrokerID)))
	}
	bw := max(4, min(40, w-idw-tail-3))
	for _, l := range b.Brokers {
		full := 0
		if peak > 0 {
			full = int(l.Load / peak * float64(bw))
		}
		full = max(0, min(bw, full))
		mark, mp := "", st.muted
		switch {
		case l.Overloaded:
			mark, mp = "▲ overloaded", st.warn
		case l.Underloaded:
			mark, mp = "▼ underloaded", st.info
		}
		ln := newLine(w).space(1).addFit(st.text, clean(l.BrokerID), idw, false).space(1).
			add(pick(l.Overloaded, st.warn, st.accent), strings.Repeat("█", full)).add(st.muted, strings.Repeat("░", bw-full)).
			add(st.muted, " load ").add(st.text, fmtFloat(l.Load)).add(st.muted, ", "+plural(l.Topics, "topic")+"  ").add(mp, mark)
		out = append(out, ln.String())
	}
	return out
}

// sourcesTable lists the cluster data sources with their state and why they fail.
func sourcesTable(e *env) table {
	st := e.st
	srcs := e.snap.Cluster.Sources
	bw := 6
	for _, s := range srcs {
		bw = max(bw, min(20, textWidth(s.Broker)))
	}
	return table{
		cols: []column{
			{title: "SOURCE", width: 10},
			{title: "URL", width: 16, flex: 2, cutL: true, key: true},
			{title: "BROKER", width: bw, drop: 3},
			{title: "STATE", width: 9},
			{title: "EVERY", width: 5, right: true, drop: 2},
			{title: "LAST OK", width: 7, right: true, drop: 1},
			{title: "WHY IT FAILS", width: 24, flex: 3, cutL: true}, // the end of an error chain is its cause
		},
		n: len(srcs), sel: -1,
		empty: "no cluster data source: --admin-url, --metrics-url and --prometheus-url add them",
		row: func(i int, c []cell) {
			s := &srcs[i]
			mark, p := sourceMark(st, s.Status)
			c[0] = txt(st.text, clean(s.Kind))
			c[1] = txt(st.muted, clean(s.URL))
			c[2] = txt(st.text, orDash(clean(s.Broker)))
			c[3] = txt(p, mark+" "+s.Status.String())
			c[4] = txt(st.muted, pick(s.Interval > 0, fmtAge(s.Interval), "-"))
			c[5] = txt(st.muted, ago(e.now, s.LastOK))
			c[6] = txt(st.err, clean(s.Err))
		},
	}
}

// clusterLayout lays the pane out in w×h cells: the heights of the brokers box, of the Raft and balance
// box (or row of boxes, when wide) and of the sources box, and the Raft and balance lines. The brokers come
// first, then Raft and the balance, then the sources with what is left (at least 3 lines when possible).
func clusterLayout(e *env, nrows, w, h int) (bh, mh, sh int, rl, bl []string) {
	if w >= 120 {
		rl, bl = raftLines(e, raftWidth-2, false), balanceLines(e, w-raftWidth-2, false)
		mh = max(len(rl), len(bl)) + 2
	} else {
		rl, bl = raftLines(e, w-2, true), balanceLines(e, w-2, true)
		mh = len(rl) + len(bl) + 2
	}
	bh = max(4, nrows+3)
	if over := bh + mh + 3 - h; over > 0 {
		mh -= min(over, mh-3)
	}
	if over := bh + mh + 3 - h; over > 0 {
		bh -= min(over, bh-4)
	}
	return bh, mh, max(0, h-bh-mh), rl, bl
}

// raftWidth is the width of the Raft box on a wide terminal.
const raftWidth = 44

func (p *clusterPane) view(e *env, w, h int) string {
	st := e.st
	c := &e.snap.Cluster
	rows := brokerRows(c)
	title := []seg{{"Brokers", st.title}, {" (" + itoa(len(rows)) + ")", st.muted}}
	if a := c.Admin.Leader; a != "" {
		title = append(title, seg{" · leader " + clean(a), st.muted})
	}
	if hint := e.offer(e.keys.Cluster.Unload, " · u unload · a activate · B rebalance"); hint != nil {
		title = append(title, seg{hint[0], st.muted})
	}
	bh, mh, sh, rl, bl := clusterLayout(e, len(rows), w, h)
	var b strings.Builder
	b.WriteString(st.box(title, w, bh, true, st.renderTable(p.table(e, rows, true), w-2, bh-2)))
	b.WriteByte('\n')
	if w >= 120 {
		left := st.box([]seg{{"Raft", st.title}}, raftWidth, mh, false, rl)
		right := st.box([]seg{{"Balance", st.title}}, w-raftWidth, mh, false, bl)
		b.WriteString(joinColumns(left, right))
	} else {
		b.WriteString(st.box([]seg{{"Raft & balance", st.title}}, w, mh, false, append(rl, bl...)))
	}
	// With room to spare, the selected broker's topics below the sources.
	th := 0
	if sel := selectedIn(&p.cur, rows, brokerID(rows)); sel != nil && sh > 0 {
		if need := len(sourcesLines(e, w-2, sh)) + 2; sh-need >= 6 {
			th, sh = sh-need, need
		}
	}
	if sh > 0 {
		stitle := []seg{{"Sources", st.title}, {" (" + itoa(len(c.Sources)) + ")", st.muted}}
		b.WriteByte('\n')
		b.WriteString(st.box(stitle, w, sh, false, sourcesLines(e, w-2, sh-2)))
	}
	if th > 0 {
		sel := selectedIn(&p.cur, rows, brokerID(rows))
		ts := brokerTopics(c, sel.id)
		ttitle := []seg{{"Broker " + clean(sel.id), st.title}, {" · " + plural(len(ts), "topic") + " in its metrics, busiest first", st.muted}}
		b.WriteByte('\n')
		b.WriteString(st.box(ttitle, w, th, false, st.renderTable(brokerTopicsTable(e, sel, ts), w-2, th-2)))
	}
	return b.String()
}

// brokerTopics returns the topics (and partitions) a broker's metrics report, the busiest first.
func brokerTopics(c *monitor.Cluster, id string) []monitor.TopicRate {
	var out []monitor.TopicRate
	for _, t := range c.Topics {
		if t.Broker == id {
			out = append(out, t)
		}
	}
	slices.SortStableFunc(out, func(a, b monitor.TopicRate) int {
		return cmp.Compare(b.MsgsInPerSec+b.MsgsOutPerSec, a.MsgsInPerSec+a.MsgsOutPerSec)
	})
	return out
}

// brokerTopicsTable lists a broker's topics with their rates, clients, lag and publish latency.
func brokerTopicsTable(e *env, r *brokerRow, ts []monitor.TopicRate) table {
	st := e.st
	empty := "no topics in broker " + clean(r.id) + "'s metrics"
	switch {
	case r.down != "":
		empty = "broker " + clean(r.id) + " is down: " + clean(r.down)
	case r.met == nil:
		empty = "no metrics from broker " + clean(r.id)
	}
	return table{
		cols: []column{
			{title: "TOPIC", width: 20, flex: 1, cutM: true, key: true},
			{title: "IN/S", width: 7, right: true},
			{title: "OUT/S", width: 7, right: true},
			{title: "BYTES IN/S", width: 10, right: true, drop: 3},
			{title: "BYTES OUT/S", width: 11, right: true, drop: 3},
			{title: "PROD", width: 5, right: true, drop: 2},
			{title: "CONS", width: 5, right: true, drop: 2},
			{title: "SUBS", width: 5, right: true, drop: 2},
			{title: "LAG", width: 7, right: true},
			{title: "PUB P99", width: 7, right: true, drop: 1},
		},
		n: len(ts), sel: -1, empty: empty,
		row: func(i int, c []cell) {
			t := &ts[i]
			c[0] = txt(st.text, clean(t.Topic))
			c[1] = txt(st.text, fmtSI(t.MsgsInPerSec))
			c[2] = txt(st.text, fmtSI(t.MsgsOutPerSec))
			c[3] = txt(st.muted, fmtByteRate(t.BytesInPerSec))
			c[4] = txt(st.muted, fmtByteRate(t.BytesOutPerSec))
			c[5] = txt(st.text, fmtInt(t.Producers))
			c[6] = txt(st.text, fmtInt(t.Consumers))
			c[7] = txt(st.text, fmtInt(t.Subscriptions))
			c[8] = txt(pick(t.Lag > 0, st.warn, st.text), fmtInt(t.Lag))
			c[9] = txt(st.muted, fmtDur(time.Duration(t.PublishLatency.P99*float64(time.Millisecond))))
		},
	}
}

// sourcesLines draws the sources table in w×h cells and, when there is room below it, why each failing
// source fails, in full.
func sourcesLines(e *env, w, h int) []string {
	st := e.st
	srcs := e.snap.Cluster.Sources
	out := st.renderTable(sourcesTable(e), w, min(h, max(2, len(srcs)+1)))
	for _, s := range srcs {
		if s.Status != monitor.SourceFailing || s.Err == "" {
			continue
		}
		what := clean(s.Kind + " " + s.URL)
		if s.Broker != "" {
			what += " (broker " + clean(s.Broker) + ")"
		}
		wrapped := strings.Split(ansi.Wrap(what+": "+clean(s.Err), max(8, w-3), ""), "\n")
		if len(out)+1+len(wrapped) > h {
			break
		}
		out = append(out, blank(w))
		for i, l := range wrapped {
			out = append(out, newLine(w).space(1).add(st.err, pick(i == 0, "✗ ", "  ")).add(st.text, l).String())
		}
	}
	return out
}

func (p *clusterPane) tile(e *env, w, h int, focused bool) string {
	st := e.st
	rows := brokerRows(&e.snap.Cluster)
	title := []seg{{"Cluster", st.title}, {" (" + plural(len(rows), "broker") + ")", st.muted}}
	return st.box(title, w, h, focused, st.renderTable(p.table(e, rows, false), w-2, h-2))
}

func (p *clusterPane) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	k := e.keys.Cluster
	rows := brokerRows(&e.snap.Cluster)
	sel := selectedIn(&p.cur, rows, brokerID(rows))
	switch {
	case matches(msg, k.Unload):
		if sel == nil {
			e.setStatus(levelWarn, "no broker to unload")
			return nil
		}
		owned := "its topics"
		if sel.met != nil {
			owned = "its " + plural(int(sel.met.TopicsOwned), "topic")
		}
		e.post(openModalMsg{m: newConfirm("Unload broker "+clean(sel.id)+"?", []string{
			"Broker " + clean(sel.id) + " becomes draining: " + owned + " are unloaded one by one",
			"and taken by the other active brokers; their clients reconnect there.",
			"Once empty it is drained: it gets no new topics until activated (a).",
		}, changesBrokers, brokerActionMsg{verb: "unload", broker: sel.id})})
	case matches(msg, k.Activate):
		if sel == nil {
			e.setStatus(levelWarn, "no broker to activate")
			return nil
		}
		status := "unknown"
		if sel.info != nil {
			status = orDash(clean(sel.info.Status))
		}
		e.post(openModalMsg{m: newConfirm("Activate broker "+clean(sel.id)+"?", []string{
			"Broker " + clean(sel.id) + " (now " + status + ") becomes active: the load manager",
			"may give it new topics. Topics on other brokers stay until a rebalance.",
		}, changesBrokers, brokerActionMsg{verb: "activate", broker: sel.id})})
	case matches(msg, k.Rebalance):
		e.setStatus(levelInfo, "rebalance: dry run…")
		return p.run(e, brokerActionMsg{verb: "rebalance", dryRun: true})
	default:
		p.cur.move(e, msg, len(rows), e.bodyHeight()-4, brokerID(rows))
	}
	return nil
}

// update serves the pane's requests and the results of its actions.
func (p *clusterPane) update(e *env, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case focusBrokerMsg:
		p.cur.id = msg.id
	case brokerActionMsg:
		if !msg.dryRun {
			e.setStatus(levelInfo, msg.verb+pick(msg.broker != "", " broker "+clean(msg.broker), "")+"…")
		}
		return p.run(e, msg)
	case brokerDoneMsg:
		p.done(e, msg)
	}
	return nil
}

// run runs an action on the cluster in a command.
func (p *clusterPane) run(e *env, a brokerActionMsg) tea.Cmd {
	ca, ctx := e.cluster, e.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		d := brokerDoneMsg{brokerActionMsg: a, on: ca}
		switch a.verb {
		case "unload":
			d.unload, d.err = ca.UnloadBroker(ctx, a.broker)
		case "activate":
			d.err = ca.ActivateBroker(ctx, a.broker)
		case "rebalance":
			d.rebalance, d.err = ca.Rebalance(ctx, a.dryRun)
		default:
			d.err = fmt.Errorf("unknown cluster action %q", a.verb)
		}
		return d
	}
}

// done reports an action's result; a dry run of a rebalance opens the confirmation of the real one with
// the moves it proposes.
func (p *clusterPane) done(e *env, d brokerDoneMsg) {
	if d.on != e.cluster {
		return // of the cluster the console left (:cluster): a dry run must not lead to a rebalance of this one
	}
	what := d.verb + pick(d.broker != "", " broker "+clean(d.broker), "")
	if d.dryRun {
		what = "rebalance dry run"
	}
	if d.err != nil {
		e.setStatus(levelError, clean(d.err.Error())) // it names the action and the broker
		return
	}
	switch d.verb {
	case "unload":
		u := d.unload
		s := what + ": " + pick(u.Started, "started", "not started") + ", " + plural(u.Total, "topic") + ": " +
			itoa(u.Succeeded) + " moved, " + itoa(u.Failed) + " failed, " + itoa(u.Pending) + " pending"
		if len(u.FailedTopics) > 0 {
			s += " (" + clean(strings.Join(u.FailedTopics, "; ")) + ")"
		}
		e.setStatus(pick(u.Failed > 0, levelWarn, levelInfo), s)
	case "activate":
		e.setStatus(levelInfo, "broker "+clean(d.broker)+" activated: it takes new topics again")
	case "rebalance":
		r := d.rebalance
		if d.dryRun {
			e.setStatus(levelInfo, "rebalance dry run: "+clean(r.Message))
			e.post(openModalMsg{m: newConfirm("Rebalance the cluster?", rebalanceLines(r), changesRebalance,
				brokerActionMsg{verb: "rebalance"})})
			return
		}
		s := "rebalance: " + clean(r.Message)
		if r.MovesExecuted > 0 {
			s += " (" + plural(r.MovesExecuted, "move") + ")"
		}
		e.setStatus(pick(r.Success, levelInfo, levelWarn), s)
	}
}

// rebalanceLines are the rebalance confirmation's lines: what the dry run said and the moves it proposed.
func rebalanceLines(r monitor.RebalanceResult) []string {
	out := []string{"Dry run: " + clean(r.Message)}
	if len(r.Moves) == 0 {
		out = append(out, "No move proposed.")
	}
	for i, mv := range r.Moves {
		if i == 4 {
			out = append(out, "… and "+plural(len(r.Moves)-4, "more move"))
			break
		}
		s := "move " + clean(mv.Topic) + " from broker " + clean(mv.From) + " to " + clean(mv.To)
		if mv.Reason != "" {
			s += " (" + clean(mv.Reason) + ")"
		}
		out = append(out, s)
	}
	return append(out, "",
		"The leader moves topics one at a time until the cluster is balanced;",
		"the clients of each moved topic reconnect to its new broker.")
}

// click selects the broker under the mouse.
func (p *clusterPane) click(e *env, _, y int) {
	rows := brokerRows(&e.snap.Cluster)
	bh, _, _, _, _ := clusterLayout(e, len(rows), e.w, e.bodyHeight())
	if y < bh-1 {
		clickTable(&p.cur, len(rows), brokerID(rows), bh-3, 2, y)
	}
}

func (p *clusterPane) sync(*env)       {}
func (p *clusterPane) capturing() bool { return false }
func (p *clusterPane) esc() bool       { return false }

func (p *clusterPane) bindings(k *KeyMap) []Binding {
	c := k.Cluster
	return []Binding{c.Unload, c.Activate, c.Rebalance}
}
