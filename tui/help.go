package tui

// renderHelp draws the help overlay, generated from the key map and the command table, centred in a w×h
// area and scrolled by Model.helpOff (which sync keeps in range). In read-only mode the keys and commands
// that change state are dimmed and marked "(read-only)". It is pure.
func (m *Model) renderHelp(w, h int) string {
	st := m.st
	body, bw := m.helpBody(w)
	bh := min(len(body)+2, h)
	title := []seg{{"Help", st.title}, {" · keys", st.muted}}
	if rows := bh - 2; len(body) > rows {
		// Scroll: the last lines stay reachable with ↓/pgdn.
		total := len(body)
		off := max(0, min(m.helpOff, total-rows))
		body = body[off : off+rows]
		title = append(title, seg{" · ↑↓ lines " + itoa(off+1) + "-" + itoa(off+rows) + " of " + itoa(total), st.muted})
	}
	box := st.box(title, bw+2, bh, true, body)
	return center(box, w, h)
}

// helpMaxOff is how far the help overlay scrolls in a w×h area.
func (m *Model) helpMaxOff(w, h int) int {
	body, _ := m.helpBody(w)
	return max(0, len(body)-(min(len(body)+2, h)-2))
}

// helpBody returns the help overlay's lines for a w-wide area and their width.
func (m *Model) helpBody(w int) (body []string, bw int) {
	st := m.st
	secs := m.keys.helpSections()
	cmds := helpSection{title: "Commands (:)"}
	for _, c := range m.cmd.cmds {
		cmds.bindings = append(cmds.bindings, c.binding())
	}
	secs = append(secs, cmds)
	ro := m.readOnly()

	// Each section is a column: its title, then "key  description" lines.
	type col struct {
		lines []seg2
		width int
	}
	var cols []col
	for _, s := range secs {
		kw := 0
		for _, b := range s.bindings {
			kw = max(kw, textWidth(b.Help().Key))
		}
		c := col{lines: []seg2{{a: seg{s.title, st.title}}}}
		c.width = textWidth(s.title)
		for _, b := range s.bindings {
			hk := b.Help()
			desc, kp, dp := hk.Desc, st.key, st.text
			if b.Mutates() && ro {
				desc, kp, dp = desc+" (read-only)", st.muted, st.muted
			}
			c.lines = append(c.lines, seg2{a: seg{fit(hk.Key, kw, false), kp}, b: seg{"  " + desc, dp}})
			c.width = max(c.width, kw+2+textWidth(desc))
		}
		cols = append(cols, c)
	}

	// Lay the columns out in as many rows of columns as the width needs.
	const gap = 4
	inner := min(w-4, 110)
	var rows [][]col
	var cur []col
	cw := 0
	for _, c := range cols {
		if len(cur) > 0 && cw+gap+c.width > inner {
			rows = append(rows, cur)
			cur, cw = nil, 0
		}
		if len(cur) > 0 {
			cw += gap
		}
		cur = append(cur, c)
		cw += c.width
	}
	rows = append(rows, cur)

	for _, r := range rows {
		rw := 0
		for i, c := range r {
			if i > 0 {
				rw += gap
			}
			rw += c.width
		}
		bw = max(bw, rw)
	}
	bw = min(bw+2, inner) // one blank each side
	for ri, r := range rows {
		if ri > 0 {
			body = append(body, blank(bw))
		}
		n := 0
		for _, c := range r {
			n = max(n, len(c.lines))
		}
		for i := range n {
			l := newLine(bw).space(1)
			for ci, c := range r {
				if ci > 0 {
					l.space(gap)
				}
				start := l.w
				if i < len(c.lines) {
					s := c.lines[i]
					l.add(s.a.p, s.a.s).add(s.b.p, s.b.s)
				}
				l.space(c.width - (l.w - start))
			}
			body = append(body, l.String())
		}
	}
	body = append(body, blank(bw))
	note := "theme " + m.theme.Name + " (t cycles) · esc or ? closes"
	if ro {
		note = "read-only: actions that change state are disabled · " + note
	}
	body = append(body, newLine(bw).space(1).add(st.muted, note).String())
	return body, bw
}

// seg2 is a pair of segments drawn one after the other.
type seg2 struct{ a, b seg }

// footerHints returns the status bar's key hints in at most room cells, and their width: the focused
// pane's main keys as k9s shows them ("<c> new tap…  <enter> stream / inspect …"), from its bindings in
// effect (the sub-view's: the stream's, the inspector's, a topic's detail), in their order, as many as
// fit. In read-only mode the keys read-only refuses are left out. None while the help, a dialog or a
// text input has the keys: they show their own.
func (m *Model) footerHints(room int) ([]seg, int) {
	p := m.panes[m.active]
	if m.showHelp || m.modal != nil || m.cmd.open || p.capturing() {
		return nil, 0
	}
	st, ro := m.st, m.readOnly()
	var out []seg
	w := 0
	for _, b := range p.bindings(&m.keys) {
		if b.Mutates() && ro {
			continue
		}
		h := b.Help()
		k, d := "<"+h.Key+">", " "+h.Desc+"  "
		bw := textWidth(k) + textWidth(d)
		if w+bw > room {
			break
		}
		out = append(out, seg{k, st.barKey}, seg{d, st.bar})
		w += bw
	}
	return out, w
}
