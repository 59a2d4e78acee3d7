package tui

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/danube-console/danube-console/monitor"
)

// tabSpan is where a pane's tab sits on the tab line.
type tabSpan struct {
	id     paneID
	x0, x1 int // columns [x0, x1)
	num    string
	label  string
}

// tabLayout places the tabs on a line of width w: " 1 Dashboard  2 Topics ..." with full names when they
// fit, short ones otherwise, then without the blank after each name, and on the narrowest terminals with
// only the active tab's name (" 1 2 3 4 Cons 5 …"). Clicks are matched against the same layout.
func tabLayout(w int, active paneID) []tabSpan {
	width := func(names [numPanes]string, pad int) int {
		total := 0
		for _, n := range names {
			total += len(n) + pad
		}
		return total
	}
	names, pad := paneNames, 4 // " 1 Name "
	if width(names, pad) > w {
		names = paneShort
	}
	if width(names, pad) > w {
		pad = 3 // " 1 Name"
	}
	if width(names, pad) > w {
		for i := range names {
			if paneID(i) != active {
				names[i] = ""
			}
		}
	}
	spans := make([]tabSpan, 0, numPanes)
	x := 0
	for i, n := range names {
		sw := len(n) + pad
		if n == "" {
			sw = 2 // " 1"
		}
		spans = append(spans, tabSpan{id: paneID(i), x0: x, x1: x + sw, num: paneKey(paneID(i)), label: n})
		x += sw
	}
	return spans
}

// renderHeader draws the two header lines: product, service URL, badges (the cluster's name first) and clock,
// then the tabs.
func (m *Model) renderHeader() string {
	st := m.st
	s := &m.snap
	l := newLine(m.w)
	l.space(1).add(st.title, "◆ Danube Console").space(2)
	url := clean(s.ServiceURL)
	if url == "" {
		url = "-"
	}
	clock := m.now().Format("15:04:05")
	// Badges first, so that a long URL is what gets cut; condensed when they leave the URL little room.
	badges := m.headerBadges(false)
	urlRoom := l.room() - badgesWidth(badges) - len(clock) - 2
	if urlRoom < min(textWidth(url), 30) {
		badges = m.headerBadges(true)
		urlRoom = l.room() - badgesWidth(badges) - len(clock) - 2
	}
	l.add(st.text, truncate(url, max(8, urlRoom)))
	for _, b := range badges {
		l.space(1).add(b.p, b.s)
	}
	if gap := l.room() - len(clock) - 1; gap > 0 {
		l.space(gap).add(st.muted, clock)
	}
	line1 := l.String()

	t := newLine(m.w)
	for _, sp := range tabLayout(m.w, m.active) {
		trail := max(0, sp.x1-sp.x0-len(sp.label)-3) // the blank after the name, when there is room for it
		if sp.label == "" {
			t.space(1).add(st.tabKey, sp.num)
			continue
		}
		if sp.id == m.active {
			t.add(st.tabActive, " "+sp.num+" "+sp.label+blank(trail))
			continue
		}
		t.space(1).add(st.tabKey, sp.num).space(1).add(st.muted, sp.label).space(trail)
	}
	return line1 + "\n" + t.String()
}

// headerBadges are the header's badges: the deployment, the broker's reachability, each kind of cluster
// data source and read-only mode; condensed, the words are shortened ("emb", "a● m2/3✗ p–").
func (m *Model) headerBadges(condensed bool) []seg {
	st, s := m.st, &m.snap
	var badges []seg
	switch {
	case m.clusterName != "": // the current cluster's name ("embedded" for the embedded broker)
		badges = append(badges, seg{" " + truncate(m.clusterName, min(24, max(6, m.w/4-4))) + " ", st.badge})
	case s.Embedded:
		badges = append(badges, seg{pick(condensed, " emb ", " embedded "), st.badge})
	default:
		badges = append(badges, seg{pick(condensed, " rem ", " remote "), st.badge})
	}
	if s.Reachable {
		badges = append(badges, seg{"● up", st.ok})
	} else {
		badges = append(badges, seg{"● down", st.err})
	}
	if s.AdminErr != "" && !hasSource(s.Cluster.Sources, sourceAdmin) {
		badges = append(badges, seg{pick(condensed, "a✗", "admin ✗"), st.err}) // the topics pane says why
	}
	badges = append(badges, sourceBadges(st, s, condensed)...)
	if m.readOnly() {
		badges = append(badges, seg{pick(condensed, " RO ", " READ-ONLY "), st.badge})
	}
	return badges
}

// badgesWidth is the width of badges drawn with a blank before each.
func badgesWidth(badges []seg) int {
	w := 0
	for _, b := range badges {
		w += textWidth(b.s) + 1
	}
	return w
}

// renderStatus draws the status bar: ingest counters, the last error or message (fading after ~10 s),
// the focused pane's key hints where room is left (footerHints), the theme name and the help hint.
func (m *Model) renderStatus() string {
	st := m.st
	tot := m.snap.Totals
	now := m.now()
	type part struct {
		s string
		p paint
	}
	left := []part{
		{" ↓ ", st.barMuted}, {fmtRate(tot.ReceivedPerSec), st.bar},
		{"  shown ", st.barMuted}, {fmtCount(tot.Shown), st.bar},
		{"  dropped ", st.barMuted}, {fmtCount(tot.DroppedFromView), pick(tot.DroppedFromView > 0, st.barWarn, st.bar)},
		{"  buf ", st.barMuted}, {fmtPct(tot.BufferFill), pick(tot.BufferFill >= 0.9, st.barWarn, st.bar)},
	}
	if tot.ObserverDropped > 0 {
		left = append(left, part{"  lost ", st.barMuted}, part{fmtCount(tot.ObserverDropped), st.barWarn})
	}
	right := []part{{" " + m.theme.Name + " ", st.barMuted}, {"?", st.barKey}, {" help ", st.bar}}
	rw := 0
	for _, p := range right {
		rw += textWidth(p.s)
	}

	l := newLine(m.w)
	for _, p := range left {
		if l.room() <= rw {
			break
		}
		l.add(p.p, truncate(p.s, l.room()-rw))
	}
	if msg, lv, age, ok := m.lastMessage(now); ok && l.room()-rw > 6 {
		p := st.bar
		switch {
		case age >= errorDimAfter:
			p = st.barMuted
		case lv == levelError:
			p = st.barErr
		case lv == levelWarn:
			p = st.barWarn
		}
		prefix := "  "
		if lv == levelError {
			prefix = "  ✗ "
		}
		l.add(st.bar, prefix)
		room := l.room() - rw - 1
		// A message cut by the bar says so, with the key that shows it whole ("… m whole", or "… m" where
		// the bar is narrow).
		key := m.keys.Global.Expand.Help().Key
		word := " whole"
		if room-textWidth(" "+key+word) < 10 {
			word = ""
		}
		more := textWidth(" " + key + word)
		if textWidth(msg) > room && room-more >= 4 && !m.statusOpen {
			l.add(p, truncate(msg, room-more))
			l.add(st.bar, " ").add(st.barKey, key).add(st.bar, word)
		} else {
			l.add(p, truncate(msg, room))
		}
	}
	hints, hw := m.footerHints(l.room() - rw - 2)
	if gap := l.room() - rw - hw; gap > 0 {
		l.add(st.bar, strings.Repeat(" ", gap))
	}
	for _, h := range hints {
		l.add(h.p, h.s)
	}
	for _, p := range right {
		l.add(p.p, p.s)
	}
	return l.String()
}

// lastMessage picks what the status bar's message slot shows: the most recent of the console's own
// message and the snapshot's last error (currentMessage), unless it is older than errorFadeAfter. Faded,
// it is still in the events view.
func (m *Model) lastMessage(now time.Time) (text string, lv level, age time.Duration, ok bool) {
	st := m.currentMessage()
	if st.text == "" {
		return "", 0, 0, false
	}
	age = now.Sub(st.at)
	if age >= errorFadeAfter {
		return "", 0, 0, false
	}
	return clean(st.text), st.level, max(0, age), true
}

// currentMessage is the most recent of the console's own message and the snapshot's last error, faded or
// not.
func (m *Model) currentMessage() status {
	st := m.status
	if s := m.snap.LastError; s != "" && (st.text == "" || m.snap.LastErrorAt.After(st.at)) {
		st = status{text: s, level: levelError, at: m.snap.LastErrorAt}
	}
	return st
}

// expandStatus draws the status bar's message whole over the bottom lines of the pane area (body, w×h):
// wrapped, with its time, at most half the area high, and the keys that fold it or list the events.
func (m *Model) expandStatus(body string, w, h int) string {
	st := m.st
	cur := m.currentMessage()
	text, p, mark := clean(cur.text), st.bar, ""
	switch cur.level {
	case levelError:
		p, mark = st.barErr, "✗ "
	case levelWarn:
		p = st.barWarn
	}
	if text == "" {
		text, p = "no message yet", st.barMuted
	}
	wrapped := strings.Split(ansi.Wrap(mark+text, max(8, w-2), ""), "\n")
	room := max(1, h/2-1)
	if len(wrapped) > room {
		wrapped = append(wrapped[:room-1], truncate(strings.Join(wrapped[room-1:], " "), w-2))
	}
	fill := func(l *line) string { return l.add(st.bar, blank(l.room())).String() } // the bar's paint to the edge
	var out []string
	for _, s := range wrapped {
		out = append(out, fill(newLine(w).add(st.bar, " ").add(p, s)))
	}
	k := m.keys.Global
	hint := newLine(w).add(st.bar, " ")
	if !cur.at.IsZero() {
		hint.add(st.barMuted, cur.at.Format(time.TimeOnly)+"  ")
	}
	hint.add(st.barKey, k.Expand.Help().Key+"/"+k.Close.Help().Key).add(st.barMuted, " fold  ").
		add(st.barKey, k.Events.Help().Key).add(st.barMuted, " all events")
	out = append(out, fill(hint))
	lines := strings.Split(body, "\n")
	start := max(0, len(lines)-len(out))
	copy(lines[start:], out[len(out)-(len(lines)-start):])
	return strings.Join(lines, "\n")
}

func pick[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

// The kinds of cluster data sources (monitor.SourceState.Kind).
const (
	sourceAdmin   = "admin"
	sourceMetrics = "metrics"
	sourceProm    = "prometheus"
)

// hasSource reports whether the sources include one of a kind.
func hasSource(srcs []monitor.SourceState, kind string) bool {
	return slices.ContainsFunc(srcs, func(s monitor.SourceState) bool { return s.Kind == kind })
}

// sourceGroup sums up the sources of one kind: how many there are and in which state.
type sourceGroup struct {
	kind                    string
	n, up, failing, pending int
}

// status is the group's overall state: failing when any fails, pending when any has not answered yet, up
// when all answer, off when none is configured.
func (g sourceGroup) status() monitor.SourceStatus {
	switch {
	case g.failing > 0:
		return monitor.SourceFailing
	case g.pending > 0:
		return monitor.SourcePending
	case g.up > 0:
		return monitor.SourceUp
	}
	return monitor.SourceOff
}

// sourceGroups groups the sources by kind, in the order admin, metrics, prometheus, then any other kind in
// the order met.
func sourceGroups(srcs []monitor.SourceState) []sourceGroup {
	gs := []sourceGroup{{kind: sourceAdmin}, {kind: sourceMetrics}, {kind: sourceProm}}
	for _, s := range srcs {
		i := slices.IndexFunc(gs, func(g sourceGroup) bool { return g.kind == s.Kind })
		if i < 0 {
			gs = append(gs, sourceGroup{kind: s.Kind})
			i = len(gs) - 1
		}
		g := &gs[i]
		g.n++
		switch s.Status {
		case monitor.SourceUp:
			g.up++
		case monitor.SourceFailing:
			g.failing++
		case monitor.SourcePending:
			g.pending++
		}
	}
	return slices.DeleteFunc(gs, func(g sourceGroup) bool { return g.n == 0 })
}

// sourceMark is a source state's mark and paint: ● up, ✗ failing, … pending, – off.
func sourceMark(st *styles, s monitor.SourceStatus) (string, paint) {
	switch s {
	case monitor.SourceUp:
		return "●", st.ok
	case monitor.SourceFailing:
		return "✗", st.err
	case monitor.SourcePending:
		return "…", st.info
	}
	return "–", st.muted
}

// sourceBadges are the header's badges of the cluster data sources, one per kind: "admin ●",
// "metrics 2/3 ✗" (endpoints up of those configured), "prom –"; condensed: "a●", "m2/3✗", "p–". The cluster
// pane says why a source fails.
func sourceBadges(st *styles, s *monitor.Snapshot, condensed bool) []seg {
	var out []seg
	for _, g := range sourceGroups(s.Cluster.Sources) {
		name := g.kind
		if name == sourceProm {
			name = "prom"
		}
		if condensed {
			name = name[:1]
		} else {
			name += " "
		}
		if g.kind == sourceMetrics || g.n > 1 {
			name += strconv.Itoa(g.up) + "/" + strconv.Itoa(g.n) + pick(condensed, "", " ")
		}
		mark, p := sourceMark(st, g.status())
		if g.status() == monitor.SourceFailing && g.up > 0 {
			p = st.warn // some endpoints answer
		}
		out = append(out, seg{name + mark, p})
	}
	return out
}
