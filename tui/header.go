package tui

import (
	"strings"
	"time"
)

// tabSpan is where a pane's tab sits on the tab line.
type tabSpan struct {
	id     paneID
	x0, x1 int // columns [x0, x1)
	num    string
	label  string
}

// tabLayout places the tabs on a line of width w: " 1 Dashboard  2 Topics ..." with full names when they
// fit, short ones otherwise. Clicks are matched against the same layout.
func tabLayout(w int) []tabSpan {
	names := paneNames
	total := 0
	for _, n := range names {
		total += len(n) + 4
	}
	if total > w {
		names = paneShort
	}
	spans := make([]tabSpan, 0, numPanes)
	x := 0
	for i, n := range names {
		width := len(n) + 4 // " 1 Name "
		spans = append(spans, tabSpan{id: paneID(i), x0: x, x1: x + width, num: string(rune('1' + i)), label: n})
		x += width
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
	// Badges first, so that a long URL is what gets cut.
	var badges []seg
	switch {
	case m.cluster != "": // the current cluster's name ("embedded" for the embedded broker)
		badges = append(badges, seg{" " + truncate(m.cluster, min(24, max(6, m.w/4-4))) + " ", st.badge})
	case s.Embedded:
		badges = append(badges, seg{" embedded ", st.badge})
	default:
		badges = append(badges, seg{" remote ", st.badge})
	}
	if s.Reachable {
		badges = append(badges, seg{"● up", st.ok})
	} else {
		badges = append(badges, seg{"● down", st.err})
	}
	if s.AdminErr != "" {
		badges = append(badges, seg{"admin ✗", st.err}) // the topics pane says why
	}
	if m.readOnly() {
		badges = append(badges, seg{" READ-ONLY ", st.badge})
	}
	bw := 0
	for _, b := range badges {
		bw += textWidth(b.s) + 1
	}
	urlRoom := l.room() - bw - len(clock) - 2
	l.add(st.text, truncate(url, max(8, urlRoom)))
	for _, b := range badges {
		l.space(1).add(b.p, b.s)
	}
	if gap := l.room() - len(clock) - 1; gap > 0 {
		l.space(gap).add(st.muted, clock)
	}
	line1 := l.String()

	t := newLine(m.w)
	for _, sp := range tabLayout(m.w) {
		if sp.id == m.active {
			t.add(st.tabActive, " "+sp.num+" "+sp.label+" ")
			continue
		}
		t.space(1).add(st.tabKey, sp.num).space(1).add(st.muted, sp.label).space(1)
	}
	return line1 + "\n" + t.String()
}

// renderStatus draws the status bar: ingest counters, the last error or message (fading after ~10 s),
// the theme name and the help hint.
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
		l.add(p, truncate(msg, l.room()-rw-1))
	}
	if gap := l.room() - rw; gap > 0 {
		l.add(st.bar, strings.Repeat(" ", gap))
	}
	for _, p := range right {
		l.add(p.p, p.s)
	}
	return l.String()
}

// lastMessage picks what the status bar's message slot shows: the most recent of the console's own
// message and the snapshot's last error, unless it is older than errorFadeAfter.
func (m *Model) lastMessage(now time.Time) (text string, lv level, age time.Duration, ok bool) {
	st := m.status
	if s := m.snap.LastError; s != "" && (st.text == "" || m.snap.LastErrorAt.After(st.at)) {
		st = status{text: s, level: levelError, at: m.snap.LastErrorAt}
	}
	if st.text == "" {
		return "", 0, 0, false
	}
	age = now.Sub(st.at)
	if age >= errorFadeAfter {
		return "", 0, 0, false
	}
	return clean(st.text), st.level, max(0, age), true
}

func pick[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}
