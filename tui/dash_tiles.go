package tui

import (
	"math"
	"strings"
	"time"

	"github.com/danube-console/danube-console/monitor"
)

// This file draws the dashboard's own tiles: the cluster's throughput chart, the problems, the top topics
// by rate and the subscriptions by lag. Each draws from what the dashboard's sync derived.

// throughputTile charts the cluster's messages in and out per second over the last 15 minutes.
func (d *dashboardPane) throughputTile(e *env, w, h int, focused bool) string {
	st := e.st
	title := []seg{{"Throughput", st.title}}
	switch {
	case math.IsNaN(d.inNow):
	case w < 60: // "Msg/s in 43.9k · out 77.1k"
		title = []seg{{"Msg/s", st.title}, {" in ", st.muted}, {fmtSI(d.inNow), st.accent}, {" · out ", st.muted}, {fmtSI(d.outNow), st.ok}}
	default:
		title = append(title, seg{" · ", st.muted}, seg{"in " + fmtRate(d.inNow), st.accent},
			seg{" · ", st.muted}, seg{"out " + fmtRate(d.outNow), st.ok})
		if d.hist.Source != "" {
			title = append(title, seg{" · " + d.hist.Source, st.muted})
		}
	}
	inner := w - 2
	if math.IsNaN(d.inNow) && math.IsNaN(d.outNow) || len(d.hist.In) == 0 {
		msg := noMetrics(&e.snap.Cluster)
		if msg == "" {
			msg = "fills as the brokers are scraped (or from --prometheus-url)"
		}
		var lines []string
		for _, l := range wrapWords(msg, max(1, inner-1)) {
			lines = append(lines, st.textLine(inner, st.muted, l))
		}
		return st.box(title, w, h, focused, lines)
	}
	span := time.Duration(len(d.hist.In)) * d.hist.Step
	chart := timeChart(st, [][]float64{d.hist.In, d.hist.Out}, []paint{st.accent, st.ok}, span, inner, h-2)
	return st.box(title, w, h, focused, chart)
}

// problemSubject names what a problem is about: "broker 3", "/ns/topic", "/ns/topic sub" (the
// subscription in its own column), or "cluster".
func problemSubject(p *monitor.Problem) string {
	switch {
	case p.Topic != "":
		return clean(p.Topic)
	case p.Broker != "":
		return "broker " + clean(p.Broker)
	}
	return "cluster"
}

// problemsTile lists the problems, most severe first: severity, what, where, and the numbers that show it.
func (d *dashboardPane) problemsTile(e *env, w, h int, focused bool) string {
	st := e.st
	ps := e.snap.Cluster.Problems
	n := d.problemCounts
	title := []seg{{"Problems", st.title}, {" (" + itoa(len(ps)) + ") ", st.muted},
		{itoa(n[monitor.SeverityCritical]) + " critical", pick(n[monitor.SeverityCritical] > 0, st.err, st.muted)},
		{" · ", st.muted}, {plural(n[monitor.SeverityWarning], "warning"), pick(n[monitor.SeverityWarning] > 0, st.warn, st.muted)}}
	empty := "no problems"
	if m := noMetrics(&e.snap.Cluster); m != "" {
		empty = "no problems seen; " + m
	}
	t := table{
		cols: []column{
			{title: " ", width: 1},
			{title: "WHAT", width: 12, key: true}, // one place can have several problems
			{title: "WHERE", width: 12, flex: 1, cutM: true, key: true},
			{title: "SUB", width: 9, key: true},
			{title: "DETAIL", width: 12, flex: 4, drop: 1},
		},
		n:     len(ps),
		sel:   -1,
		empty: empty,
		row: func(i int, c []cell) {
			p := &ps[i]
			mark, sp := severityMark(st, p.Severity)
			c[0] = txt(sp, mark)
			c[1] = txt(sp, problemKind(p.Kind))
			c[2] = txt(st.text, problemSubject(p))
			c[3] = txt(st.accent, clean(p.Subscription))
			c[4] = txt(st.text, clean(p.Detail))
		},
	}
	return st.box(title, w, h, focused, st.renderTable(t, w-2, h-2))
}

// topicsTile ranks the cluster's topics by messages in and out per second.
func (d *dashboardPane) topicsTile(e *env, w, h int, focused bool) string {
	st := e.st
	empty := noMetrics(&e.snap.Cluster)
	if empty == "" {
		empty = "no topics in the brokers' metrics"
	}
	t := table{
		cols: []column{
			{title: "TOPIC", width: 18, flex: 1, cutM: true, key: true},
			{title: "PARTS", width: 5, right: true, drop: 5},
			{title: "IN/S", width: 6, right: true},
			{title: "OUT/S", width: 6, right: true},
			{title: "LAG", width: 6, right: true, drop: 1},
			{title: "PROD", width: 4, right: true, drop: 3},
			{title: "CONS", width: 4, right: true, drop: 2},
			{title: "PUB P99", width: 7, right: true, drop: 4},
		},
		n:     len(d.topics),
		sel:   -1,
		empty: empty,
		row: func(i int, c []cell) {
			t := &d.topics[i]
			c[0] = txt(st.text, clean(t.topic))
			c[1] = txt(st.muted, pick(t.partitions > 0, itoa(t.partitions), "-"))
			c[2] = txt(st.text, fmtSI(t.in))
			c[3] = txt(st.text, fmtSI(t.out))
			c[4] = txt(pick(t.lag > 0, st.warn, st.text), fmtInt(t.lag))
			c[5] = txt(st.text, fmtInt(t.producers))
			c[6] = txt(st.text, fmtInt(t.consumers))
			c[7] = txt(st.text, fmtDur(msDur(t.p99)))
		},
	}
	title := []seg{{"Top topics", st.title}, {" by rate (" + itoa(len(d.topics)) + ")", st.muted}}
	return st.box(title, w, h, focused, st.renderTable(t, w-2, h-2))
}

// lagTile ranks the cluster's subscriptions that lag by their lag.
func (d *dashboardPane) lagTile(e *env, w, h int, focused bool) string {
	st := e.st
	empty := noMetrics(&e.snap.Cluster)
	if empty == "" {
		empty = "no subscription lags"
	}
	t := table{
		cols: []column{
			{title: "TOPIC", width: 16, flex: 2, cutM: true, key: true},
			{title: "SUBSCRIPTION", width: 9, flex: 1, key: true},
			{title: "LAG", width: 6, right: true},
			{title: "CONS", width: 4, right: true, drop: 1},
			{title: "OUT/S", width: 6, right: true, drop: 2},
			{title: "REDLV/S", width: 7, right: true, drop: 3},
		},
		n:     len(d.subs),
		sel:   -1,
		empty: empty,
		row: func(i int, c []cell) {
			s := &d.subs[i]
			c[0] = txt(st.text, clean(s.topic))
			c[1] = txt(st.accent, clean(s.sub))
			c[2] = txt(st.warn, fmtInt(s.lag))
			c[3] = txt(pick(s.consumers == 0, st.err, st.text), fmtInt(s.consumers))
			c[4] = txt(st.text, fmtSI(s.out))
			c[5] = txt(pick(s.redelivered > 0, st.warn, st.text), fmtSI(s.redelivered))
		},
	}
	title := []seg{{"Subscriptions", st.title}, {" by lag (" + itoa(len(d.subs)) + ")", st.muted}}
	return st.box(title, w, h, focused, st.renderTable(t, w-2, h-2))
}

// wrapWords breaks plain text into lines of at most width cells at its spaces (a word longer than a line
// is cut by the line that draws it).
func wrapWords(s string, width int) []string {
	var lines []string
	cur := ""
	for _, w := range strings.Fields(s) {
		switch {
		case cur == "":
			cur = w
		case textWidth(cur)+1+textWidth(w) <= width:
			cur += " " + w
		default:
			lines = append(lines, cur)
			cur = w
		}
	}
	return append(lines, cur)
}
