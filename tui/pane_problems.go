package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/danube-console/danube-console/monitor"
)

// problemsPane lists what an operator must look at first, as the monitor ranks it from every source (most
// severe first): the severity, the kind, what it is about, the numbers that show it, since when, and where
// enter goes (the topics pane on the topic, the cluster pane on the broker, the security pane for denials).
// The selected problem's numbers are shown in full below the list.
type problemsPane struct {
	cur cursor // the selected problem, by identity
}

// problemID is a problem's identity: its kind and what it is about.
func problemID(ps []monitor.Problem) func(i int) string {
	return func(i int) string {
		p := &ps[i]
		return itoa(int(p.Kind)) + "\x00" + p.Broker + "\x00" + p.Topic + "\x00" + p.Subscription
	}
}

// problemKind names a kind of problem.
func problemKind(k monitor.ProblemKind) string {
	switch k {
	case monitor.ProblemBrokerDown:
		return "broker down"
	case monitor.ProblemSourceFailing:
		return "source failing"
	case monitor.ProblemTerminalBlocked:
		return "blocked"
	case monitor.ProblemLagGrowing:
		return "lag growing"
	case monitor.ProblemNoConsumers:
		return "no consumers"
	case monitor.ProblemDeadLetters:
		return "dead letters"
	case monitor.ProblemRedeliveryStorm:
		return "redeliveries"
	case monitor.ProblemSchemaFailures:
		return "schema errors"
	case monitor.ProblemAuthzDenials:
		return "authz denials"
	case monitor.ProblemImbalance:
		return "imbalance"
	}
	return "problem"
}

// severityMark is a severity's mark and paint.
func severityMark(st *styles, s monitor.Severity) (string, paint) {
	switch s {
	case monitor.SeverityCritical:
		return "✗", st.err
	case monitor.SeverityWarning:
		return "▲", st.warn
	}
	return "·", st.info
}

// severityWord names a severity.
func severityWord(s monitor.Severity) string {
	switch s {
	case monitor.SeverityCritical:
		return "critical"
	case monitor.SeverityWarning:
		return "warning"
	}
	return "info"
}

// problemWhat names what a problem is about: "broker 3", "/default/orders · shipping", "cluster".
func problemWhat(p *monitor.Problem) string {
	var parts []string
	if p.Broker != "" {
		parts = append(parts, "broker "+p.Broker)
	}
	if p.Topic != "" {
		parts = append(parts, p.Topic)
	}
	if p.Subscription != "" {
		parts = append(parts, p.Subscription)
	}
	if len(parts) == 0 {
		return "cluster"
	}
	return clean(strings.Join(parts, " · "))
}

// problemTarget is the pane a problem points to.
func problemTarget(p *monitor.Problem) paneID {
	switch {
	case p.Kind == monitor.ProblemAuthzDenials:
		return paneSecurity
	case p.Topic != "" && p.Kind != monitor.ProblemBrokerDown:
		return paneTopics
	}
	return paneCluster
}

func (p *problemsPane) table(e *env, full bool) table {
	st := e.st
	ps := e.snap.Cluster.Problems
	cols := []column{
		{title: "!", width: 1},
		{title: "KIND", width: 14, key: true}, // one place can have several problems
		{title: "WHAT", width: 20, flex: 1, cutM: true, key: true},
		{title: "DETAIL", width: 16, flex: 3, drop: 2},
		{title: "SINCE", width: 6, right: true, drop: 1},
		{title: "ENTER", width: 10, drop: 4},
	}
	if !full {
		cols[3].drop = 5
	}
	return table{
		cols: cols, n: len(ps), sel: p.cur.index(len(ps), problemID(ps)), focus: full, empty: noProblems(e),
		row: func(i int, c []cell) {
			pr := &ps[i]
			mark, mp := severityMark(st, pr.Severity)
			c[0] = txt(mp, mark)
			c[1] = txt(mp, problemKind(pr.Kind))
			c[2] = txt(st.text, problemWhat(pr))
			c[3] = txt(st.muted, clean(pr.Detail))
			c[4] = txt(st.muted, ago(e.now, pr.Since))
			t := problemTarget(pr)
			c[5] = txt(st.key, paneKey(t)+" "+strings.ToLower(paneNames[t]))
		},
	}
}

// noProblems says there are no problems, and which sources were checked.
func noProblems(e *env) string {
	gs := sourceGroups(e.snap.Cluster.Sources)
	if len(gs) == 0 {
		return "no problems known: no cluster data source is configured (--admin-url, --metrics-url, --prometheus-url)"
	}
	var parts []string
	for _, g := range gs {
		s := g.kind + " " + g.status().String()
		if g.n > 1 {
			s = g.kind + " " + itoa(g.up) + "/" + itoa(g.n) + " up"
		}
		parts = append(parts, s)
	}
	return "no problems · checked: " + strings.Join(parts, ", ")
}

// detailLines draws the selected problem in full in w cells.
func (p *problemsPane) detailLines(e *env, w int) []string {
	st := e.st
	ps := e.snap.Cluster.Problems
	pr := selectedIn(&p.cur, ps, problemID(ps))
	if pr == nil {
		return []string{st.textLine(w, st.muted, "nothing selected")}
	}
	const lw = 7
	mark, mp := severityMark(st, pr.Severity)
	since := "-"
	if !pr.Since.IsZero() {
		since = pr.Since.Format("15:04:05") + " (" + ago(e.now, pr.Since) + " ago)"
	}
	t := problemTarget(pr)
	out := []string{
		newLine(w).space(1).addFit(st.muted, "what", lw, false).space(1).add(mp, mark+" "+severityWord(pr.Severity)+" "+problemKind(pr.Kind)+": ").
			add(st.text, problemWhat(pr)).String(),
	}
	// The detail wrapped on up to three lines, the last cut.
	lines := strings.Split(ansi.Wrap(clean(pr.Detail), max(8, w-lw-2), ""), "\n")
	for i, l := range lines {
		if i == 2 && len(lines) > 3 {
			l += " " + strings.Join(lines[3:], " ")
		}
		out = append(out, st.kv(w, lw, pick(i == 0, "detail", ""), l, st.text))
		if i == 2 {
			break
		}
	}
	out = append(out, st.kv(w, lw, "since", since, st.text))
	out = append(out, newLine(w).space(1).addFit(st.muted, "enter", lw, false).space(1).
		add(st.key, paneKey(t)+" "+paneNames[t]).add(st.muted, pick(pr.Topic != "" && t == paneTopics, " on "+clean(pr.Topic), "")).String())
	return out
}

func (p *problemsPane) view(e *env, w, h int) string {
	st := e.st
	ps := e.snap.Cluster.Problems
	title := []seg{{"Problems", st.title}, {" (" + itoa(len(ps)) + ")", st.muted}, {" · enter goes to it", st.muted}}
	dh := min(7, max(0, h-6))
	if len(ps) == 0 {
		dh = 0
	}
	top := st.box(title, w, h-dh, true, st.renderTable(p.table(e, true), w-2, h-dh-2))
	if dh == 0 {
		return top
	}
	return top + "\n" + st.box([]seg{{"Selected", st.title}}, w, dh, false, p.detailLines(e, w-2))
}

func (p *problemsPane) tile(e *env, w, h int, focused bool) string {
	st := e.st
	title := []seg{{"Problems", st.title}, {" (" + itoa(len(e.snap.Cluster.Problems)) + ")", st.muted}}
	return st.box(title, w, h, focused, st.renderTable(p.table(e, false), w-2, h-2))
}

func (p *problemsPane) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	ps := e.snap.Cluster.Problems
	if matches(msg, e.keys.Problems.Go) {
		pr := selectedIn(&p.cur, ps, problemID(ps))
		if pr == nil {
			return nil
		}
		t := problemTarget(pr)
		e.post(showPaneMsg{id: t})
		switch t {
		case paneTopics:
			e.post(focusTopicMsg{topic: pr.Topic})
		case paneCluster:
			if pr.Broker != "" {
				e.post(focusBrokerMsg{id: pr.Broker})
			}
		}
		return nil
	}
	p.cur.move(e, msg, len(ps), e.bodyHeight()-10, problemID(ps))
	return nil
}

// click selects the problem under the mouse.
func (p *problemsPane) click(e *env, _, y int) {
	ps := e.snap.Cluster.Problems
	h := e.bodyHeight()
	th := h - min(7, max(0, h-6))
	if y < th-1 {
		clickTable(&p.cur, len(ps), problemID(ps), th-3, 2, y)
	}
}

func (p *problemsPane) sync(*env)       {}
func (p *problemsPane) capturing() bool { return false }
func (p *problemsPane) esc() bool       { return false }

func (p *problemsPane) bindings(k *KeyMap) []Binding { return []Binding{k.Problems.Go} }
