package tui

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/danube-console/danube-console/monitor"
)

// connectorsPane lists the connector instances with their state, throughput and counters; s starts or
// stops the selected one, r restarts it and enter opens its details. The actions run in commands (Stop and
// Restart with a timeout) and report to the status bar; read-only mode disables them.
type connectorsPane struct {
	cur     cursor
	details bool              // the details view is open
	scroll  int               // the details view's first line
	pending map[string]string // connector name → action in flight ("stopping", ...)
}

// actionDoneMsg reports the end of a connector action.
type actionDoneMsg struct {
	name string
	verb string // start, stop, restart
	err  error
}

func connectorID(e *env) func(i int) string {
	cs := e.snap.Connectors
	return func(i int) string { return cs[i].Name }
}

func (p *connectorsPane) selected(e *env) *monitor.ConnectorStats {
	return selectedIn(&p.cur, e.snap.Connectors, connectorID(e))
}

// startable reports whether s starts (rather than stops) a connector in state s.
func startable(s monitor.ConnectorState) bool {
	return s == monitor.ConnectorStopped || s == monitor.ConnectorFailed || s == monitor.ConnectorCompleted
}

func (p *connectorsPane) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	k := e.keys.Connectors
	c := p.selected(e)
	switch {
	case matches(msg, k.Details):
		if c != nil {
			p.details, p.scroll = !p.details, 0
		}
		return nil
	case matches(msg, k.StartStop, k.Restart):
		if c == nil {
			return nil
		}
		name := c.Name
		if v, busy := p.pending[name]; busy {
			e.setStatus(levelWarn, name+": already "+v)
			return nil
		}
		verb := "restart"
		if matches(msg, k.StartStop) {
			verb = pick(startable(c.State), "start", "stop")
		}
		return p.ask(e, c, verb)
	}
	if p.details {
		n := e.keys.Nav
		page := max(1, e.bodyHeight()-4)
		switch {
		case matches(msg, n.Up):
			p.scroll--
		case matches(msg, n.Down):
			p.scroll++
		case matches(msg, n.PageUp):
			p.scroll -= page
		case matches(msg, n.PageDown):
			p.scroll += page
		case matches(msg, n.Top):
			p.scroll = 0
		case matches(msg, n.Bottom):
			p.scroll = 1 << 30
		}
		most := 0
		if c != nil {
			most = max(0, len(p.detailsLines(e, c, e.w-2))-detailsRows(e.bodyHeight()))
		}
		p.scroll = max(0, min(p.scroll, most))
		return nil
	}
	p.cur.move(e, msg, len(e.snap.Connectors), e.bodyHeight()-6, connectorID(e))
	return nil
}

// connectorMsg is a request the connectors pane serves (from :connector): start, stop or restart (verb)
// the connector called name; confirmed says the user answered yes to stopping or restarting it while it ran.
type connectorMsg struct {
	verb, name string
	confirmed  bool
}

// command serves :connector and the confirmations: a connector with an action in flight refuses another (the
// command fails).
func (p *connectorsPane) command(e *env, msg connectorMsg) tea.Cmd {
	if v, busy := p.pending[msg.name]; busy {
		e.post(cmdFailMsg{err: errors.New(msg.name + ": already " + v)})
		return nil
	}
	if !msg.confirmed {
		for i := range e.snap.Connectors {
			if c := &e.snap.Connectors[i]; c.Name == msg.name {
				return p.ask(e, c, msg.verb)
			}
		}
	}
	return p.act(e, msg.name, msg.verb)
}

// ask starts an action on connector c, or, to stop or restart it while it runs, first asks: its work stops
// (a source publishes nothing, a sink archives nothing, until it runs again).
func (p *connectorsPane) ask(e *env, c *monitor.ConnectorStats, verb string) tea.Cmd {
	if verb == "start" || startable(c.State) {
		return p.act(e, c.Name, verb)
	}
	what := "publishing to"
	if c.Role != monitor.RoleSource {
		what = "consuming from"
	}
	does := clean(c.Name) + " (" + clean(c.Kind) + ") is " + c.State.String() + ", " + what + " " + clean(c.Topic) + "."
	lines := []string{does, "Stopping drains what it has in flight, then it does nothing until started again (s)."}
	title := "Stop connector " + clean(c.Name) + "?"
	if verb == "restart" {
		title = "Restart connector " + clean(c.Name) + "?"
		lines[1] = "It drains what it has in flight, stops, and starts again from its configuration."
	}
	e.post(openModalMsg{m: newConfirm(title, lines, changesConnectors, connectorMsg{verb: verb, name: c.Name, confirmed: true})})
	return nil
}

// act starts a connector action (start, stop, restart) in a command; the row shows it in flight until it
// ends.
func (p *connectorsPane) act(e *env, name, verb string) tea.Cmd {
	p.pending[name] = pick(verb == "stop", "stopping", verb+"ing")
	e.setStatus(levelInfo, p.pending[name]+" "+name+"…")
	return connectorAction(e.ctx, e.conns, name, verb)
}

// connectorAction runs a connector action off the update loop.
func connectorAction(ctx context.Context, b monitor.Connectors, name, verb string) tea.Cmd {
	return func() tea.Msg {
		var err error
		switch verb {
		case "start":
			err = b.StartConnector(name)
		case "stop":
			ctx, cancel := context.WithTimeout(ctx, actionTimeout)
			defer cancel()
			err = b.StopConnector(ctx, name)
		case "restart":
			ctx, cancel := context.WithTimeout(ctx, actionTimeout)
			defer cancel()
			err = b.RestartConnector(ctx, name)
		}
		return actionDoneMsg{name: name, verb: verb, err: err}
	}
}

func (p *connectorsPane) actionDone(e *env, msg actionDoneMsg) {
	delete(p.pending, msg.name)
	if msg.err != nil {
		e.setStatus(levelError, msg.err.Error()) // it names the action and the connector
	} else {
		past := map[string]string{"start": "started", "stop": "stopped", "restart": "restarted"}[msg.verb]
		e.setStatus(levelInfo, past+" "+msg.name)
	}
	e.post(pullMsg{})
}

func connectorStatePaint(st *styles, s monitor.ConnectorState) paint {
	switch s {
	case monitor.ConnectorRunning:
		return st.ok
	case monitor.ConnectorDegraded:
		return st.warn
	case monitor.ConnectorFailed:
		return st.err
	case monitor.ConnectorStarting, monitor.ConnectorStopping:
		return st.info
	}
	return st.muted
}

func failedTotal(f map[monitor.ErrorKind]uint64) uint64 {
	var n uint64
	for _, v := range f {
		n += v
	}
	return n
}

// notStarted reports whether connector c is stopped because the console is read-only: the console starts
// no connector then (not even those it starts by itself), and refuses to start one.
func notStarted(e *env, c *monitor.ConnectorStats) bool {
	return e.snap.ReadOnly && c.State == monitor.ConnectorStopped
}

// notStartedWhy is what a connector notStarted says instead of "stopped".
const notStartedWhy = "not started: read-only"

// connectorState is connector c's state word and its paint: an action on its way ("stopping…"), a
// connector read-only left stopped (notStartedWhy, or short, "not started"), or its state.
func (p *connectorsPane) connectorState(e *env, c *monitor.ConnectorStats, short bool) (string, paint) {
	st := e.st
	if v, ok := p.pending[c.Name]; ok {
		return v + "…", st.info
	}
	if notStarted(e, c) {
		return pick(short, "not started", notStartedWhy), st.muted
	}
	return c.State.String(), connectorStatePaint(st, c.State)
}

// notStartedCount is how many connectors are notStarted.
func notStartedCount(e *env) int {
	n := 0
	for i := range e.snap.Connectors {
		if notStarted(e, &e.snap.Connectors[i]) {
			n++
		}
	}
	return n
}

func (p *connectorsPane) table(e *env, full bool) table {
	st := e.st
	cs := e.snap.Connectors
	now := e.now
	stateW := pick(notStartedCount(e) > 0, len("not started"), 10) // the title says why
	var cols []column
	if full {
		cols = []column{
			{title: "NAME", width: 12, flex: 2, key: true},
			{title: "KIND", width: 10, drop: 6},
			{title: "ROLE", width: 6, drop: 7},
			{title: "STATE", width: stateW},
			{title: "THRPT", width: 7, right: true},
			{title: "TREND", width: 10, flex: 1, drop: 4},
			{title: "RECV", width: 7, right: true, drop: 5},
			{title: "PROC", width: 7, right: true, drop: 3},
			{title: "FAIL", width: 5, right: true, drop: 2},
			{title: "RETRY", width: 5, right: true, drop: 8},
			{title: "INFL", width: 5, right: true, drop: 9},
			{title: "RST", width: 3, right: true, drop: 8},
			{title: "LAST ERROR", width: 14, flex: 3, drop: 1},
		}
	} else {
		cols = []column{
			{title: "NAME", width: 10, flex: 1, key: true},
			{title: "STATE", width: pick(stateW > 10, stateW, 9)},
			{title: "THRPT", width: 7, right: true},
			{title: "TREND", width: 8, flex: 1, drop: 1},
		}
	}
	return table{
		cols:  cols,
		n:     len(cs),
		sel:   p.cur.index(len(cs), connectorID(e)),
		focus: full,
		empty: "no connectors configured",
		row: func(i int, c []cell) {
			cn := &cs[i]
			state, sp := p.connectorState(e, cn, true)
			if !full {
				c[0] = txt(st.accent, clean(cn.Name))
				c[1] = txt(sp, state)
				c[2] = txt(st.text, fmtSI(cn.Throughput))
				c[3] = spk(cn.Series)
				return
			}
			failed := failedTotal(cn.Failed)
			c[0] = txt(st.accent, clean(cn.Name))
			c[1] = txt(st.text, clean(cn.Kind))
			c[2] = txt(st.muted, string(cn.Role))
			c[3] = txt(sp, state)
			c[4] = txt(st.text, fmtSI(cn.Throughput))
			c[5] = spk(cn.Series)
			c[6] = txt(st.text, fmtCount(cn.Received))
			c[7] = txt(st.text, fmtCount(cn.Processed))
			c[8] = txt(pick(failed > 0, st.err, st.text), fmtCount(failed))
			c[9] = txt(pick(cn.Retried > 0, st.warn, st.text), fmtCount(cn.Retried))
			c[10] = txt(st.text, fmtInt(cn.InFlight))
			c[11] = txt(pick(cn.Restarts > 0, st.warn, st.text), fmtCount(cn.Restarts))
			if cn.LastError != "" {
				c[12] = txt(st.err, ago(now, cn.LastErrorAt)+" "+clean(cn.LastError))
			}
		},
	}
}

func (p *connectorsPane) view(e *env, w, h int) string {
	st := e.st
	cs := e.snap.Connectors
	running := 0
	for i := range cs {
		if cs[i].State == monitor.ConnectorRunning || cs[i].State == monitor.ConnectorDegraded {
			running++
		}
	}
	title := []seg{{"Connectors", st.title}, {" (" + itoa(len(cs)) + ") ", st.muted}, {itoa(running) + " running", st.text}}
	if n := notStartedCount(e); n > 0 {
		title = append(title, seg{" · " + itoa(n) + " " + notStartedWhy, st.muted})
	}
	if p.details {
		if c := p.selected(e); c != nil {
			return p.detailsView(e, c, w, h)
		}
	}
	body := e.st.renderTable(p.table(e, true), w-2, h-4)
	for len(body) < h-4 {
		body = append(body, blank(w-2))
	}
	// The selected connector's last error in full, then the actions.
	el := newLine(w - 2).space(1)
	if c := p.selected(e); c != nil && c.LastError != "" {
		el.add(st.muted, clean(c.Name)+" "+ago(e.now, c.LastErrorAt)+" ago: ").add(st.err, clean(c.LastError))
	}
	body = append(body, el.String())
	hint := newLine(w - 2).space(1)
	if e.readOnly() {
		hint.add(st.badge, " READ-ONLY ").add(st.muted, " connector actions are disabled · enter details")
	} else {
		hint.add(st.key, "s").add(st.muted, " start/stop  ").add(st.key, "r").add(st.muted, " restart  ").
			add(st.key, "enter").add(st.muted, " details")
	}
	body = append(body, hint.String())
	return e.st.box(title, w, h, true, body)
}

// detailsRows is how many lines of the details fit above the hint in a pane h rows high.
func detailsRows(h int) int { return h - 3 }

// detailsView shows every field of a connector's status, scrolled by p.scroll, with the hint on the last
// line.
func (p *connectorsPane) detailsView(e *env, c *monitor.ConnectorStats, w, h int) string {
	st := e.st
	iw := w - 2
	lines := p.detailsLines(e, c, iw)
	hint := newLine(iw).space(1).add(st.key, "esc").add(st.muted, " back  ")
	if e.readOnly() {
		hint.add(st.badge, " READ-ONLY ").add(st.muted, " connector actions are disabled")
	} else {
		hint.add(st.key, "s").add(st.muted, " start/stop  ").add(st.key, "r").add(st.muted, " restart")
	}
	title := []seg{{"Connector", st.title}, {" " + clean(c.Name), st.accent}}
	if rows := detailsRows(h); rows > 0 && len(lines) > rows {
		top := min(p.scroll, len(lines)-rows)
		title = append(title, seg{" " + itoa(top+1) + "–" + itoa(top+rows) + " of " + itoa(len(lines)), st.muted})
		lines = lines[top : top+rows]
		hint.add(st.muted, "  ").add(st.key, "↑↓ pgup pgdn").add(st.muted, " scroll")
	} else if len(lines) < rows {
		lines = append(lines, blank(iw))
	}
	return e.st.box(title, w, h, true, append(lines, hint.String()))
}

// detailsLines are the lines of the details view, w cells wide.
func (p *connectorsPane) detailsLines(e *env, c *monitor.ConnectorStats, iw int) []string {
	st := e.st
	now := e.now
	const lw = 16
	kv := func(label, value string, vp paint) string { return e.st.kv(iw, lw, label, value, vp) }
	tm := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Format("2006-01-02 15:04:05") + " (" + ago(now, t) + " ago)"
	}
	state, sp := p.connectorState(e, c, false)
	if _, ok := p.pending[c.Name]; ok {
		state, sp = c.State.String()+" ("+state+")", connectorStatePaint(st, c.State)
	}
	lines := []string{
		kv("name", clean(c.Name), st.accent),
		kv("kind / role", clean(c.Kind)+" / "+string(c.Role), st.text),
		kv("topic", clean(c.Topic), st.text),
		kv("autostart", pick(c.Autostart, "yes", "no"), st.text),
		kv("state", state, sp),
		kv("since", tm(c.Since), st.text),
		kv("throughput", fmtRate(c.Throughput), st.text),
		newLine(iw).space(1).addFit(st.muted, "trend", lw, false).space(1).
			add(st.spark, sparkline(c.Series, max(0, min(60, iw-lw-3)))).String(),
		kv("received", strconv.FormatUint(c.Received, 10), st.text),
		kv("processed", strconv.FormatUint(c.Processed, 10), st.text),
	}
	kinds := make([]monitor.ErrorKind, 0, len(c.Failed))
	for k, n := range c.Failed {
		if n > 0 {
			kinds = append(kinds, k)
		}
	}
	slices.Sort(kinds)
	failed := strconv.FormatUint(failedTotal(c.Failed), 10)
	for i, k := range kinds {
		failed += pick(i == 0, " (", ", ") + k.String() + " " + strconv.FormatUint(c.Failed[k], 10)
		if i == len(kinds)-1 {
			failed += ")"
		}
	}
	lines = append(lines,
		kv("failed", failed, pick(len(kinds) > 0, st.err, st.text)),
		kv("retried", strconv.FormatUint(c.Retried, 10), st.text),
		kv("in flight", strconv.FormatInt(c.InFlight, 10), st.text),
		kv("batches", strconv.FormatUint(c.Batches, 10)+" (last "+strconv.Itoa(c.LastBatchSize)+")", st.text),
		kv("batch latency", "p50 "+fmtDur(c.BatchLatencyP50)+" · p99 "+fmtDur(c.BatchLatencyP99), st.text),
		kv("restarts", strconv.FormatUint(c.Restarts, 10), st.text),
	)
	next := "-"
	if !c.NextRestart.IsZero() {
		next = c.NextRestart.Format("15:04:05") + " (in " + fmtAge(c.NextRestart.Sub(now)) + ")"
	}
	lines = append(lines, kv("next restart", next, st.text))
	if c.LastError != "" {
		lines = append(lines,
			kv("last error", clean(c.LastError), st.err),
			kv("  kind / at", c.LastErrorKind.String()+" / "+tm(c.LastErrorAt), st.text))
	} else {
		lines = append(lines, kv("last error", "-", st.text))
	}
	for _, t := range c.Topics {
		lines = append(lines, kv("  "+clean(t.Topic), "recv "+fmtCount(t.Received)+" · proc "+fmtCount(t.Processed)+
			" · retried "+fmtCount(t.Retried)+" · failed "+fmtCount(failedTotal(t.Failed)), st.text))
	}
	if c.Origin != "" || len(c.Settings) > 0 {
		lines = append(lines, blank(iw), newLine(iw).space(1).add(st.title, "configuration").String())
		slw := lw // the longest key sets the labels' width
		for _, s := range c.Settings {
			slw = max(slw, min(28, ansi.StringWidth(s.Key)))
		}
		if c.Origin != "" {
			lines = append(lines, e.st.kv(iw, slw, "from", clean(c.Origin), st.text))
		}
		for _, s := range c.Settings {
			lines = append(lines, e.st.kv(iw, slw, clean(s.Key), clean(s.Value), st.text))
		}
	}
	return lines
}

func (p *connectorsPane) tile(e *env, w, h int, focused bool) string {
	st := e.st
	cs := e.snap.Connectors
	bad := 0
	for i := range cs {
		if cs[i].State == monitor.ConnectorFailed || cs[i].State == monitor.ConnectorDegraded {
			bad++
		}
	}
	title := []seg{{"Connectors", st.title}, {" (" + itoa(len(cs)) + ")", st.muted}}
	if bad > 0 {
		title = append(title, seg{" " + itoa(bad) + " unhealthy", st.err})
	}
	if notStartedCount(e) > 0 { // the rows say "not started"
		title = append(title, seg{" · read-only", st.muted})
	}
	return e.st.box(title, w, h, focused, e.st.renderTable(p.table(e, false), w-2, h-2))
}

// sync closes the details of a connector that went away.
func (p *connectorsPane) sync(e *env) {
	if p.details && p.selected(e) == nil {
		p.details = false
	}
}

func (p *connectorsPane) capturing() bool { return false }

func (p *connectorsPane) esc() bool {
	if p.details {
		p.details = false
		return true
	}
	return false
}

// click selects the connector under the mouse (in the list, not the details).
func (p *connectorsPane) click(e *env, _, y int) {
	if p.details {
		return
	}
	clickTable(&p.cur, len(e.snap.Connectors), connectorID(e), e.bodyHeight()-5, 2, y)
}

func (p *connectorsPane) bindings(k *KeyMap) []Binding {
	c := k.Connectors
	return []Binding{c.StartStop, c.Restart, c.Details}
}
