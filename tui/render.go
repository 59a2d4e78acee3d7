package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// This file holds the drawing primitives: a line builder that keeps track of its width, boxes with titles
// in their top border, and tables that fit their columns to the width and render only the visible rows.

// seg is a piece of plain text with its paint.
type seg struct {
	s string
	p paint
}

// line builds one row of exactly max cells out of painted plain segments.
type line struct {
	sb  strings.Builder
	w   int
	max int
}

func newLine(width int) *line {
	l := &line{max: max(0, width)}
	l.sb.Grow(width * 2)
	return l
}

// add appends plain text in a paint, cut to the room left.
func (l *line) add(p paint, s string) *line {
	room := l.max - l.w
	if room <= 0 || s == "" {
		return l
	}
	w := textWidth(s)
	if w > room {
		s = ansi.Truncate(s, room, "…")
		w = textWidth(s)
	}
	l.sb.WriteString(p.r(s))
	l.w += w
	return l
}

// addFit appends plain text in a paint fitted (cut and padded) to exactly w cells.
func (l *line) addFit(p paint, s string, w int, right bool) *line {
	w = min(w, l.max-l.w)
	if w <= 0 {
		return l
	}
	l.sb.WriteString(p.r(fit(s, w, right)))
	l.w += w
	return l
}

// addPainted appends already painted text of display width sw, padded to w cells; the caller makes sure
// sw <= w and w fits.
func (l *line) addPainted(s string, w int) *line {
	w = min(w, l.max-l.w)
	if w <= 0 {
		return l
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		s, sw = ansi.Truncate(s, w, ""), w
	}
	l.sb.WriteString(s)
	l.w += sw
	return l.space(w - sw)
}

// space appends n blanks.
func (l *line) space(n int) *line {
	n = min(n, l.max-l.w)
	if n > 0 {
		l.sb.WriteString(strings.Repeat(" ", n))
		l.w += n
	}
	return l
}

// room is the number of cells left.
func (l *line) room() int { return l.max - l.w }

// String pads the line to its width and returns it.
func (l *line) String() string {
	l.space(l.max - l.w)
	return l.sb.String()
}

// padANSI pads or cuts an already styled string to exactly w cells.
func padANSI(s string, w int) string {
	sw := ansi.StringWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, "")
		sw = ansi.StringWidth(s)
	}
	if sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}

// blank returns w spaces.
func blank(w int) string { return strings.Repeat(" ", max(0, w)) }

// box draws a w×h rounded box whose top border carries the title segments. body holds the inner lines,
// each exactly w-2 cells wide; missing lines are blank and extra ones are dropped.
func (st *styles) box(title []seg, w, h int, focused bool, body []string) string {
	if w < 2 || h < 2 {
		return strings.Repeat(blank(w)+"\n", max(0, h-1)) + blank(w)
	}
	bp, g := st.border, st.glyphs
	if focused {
		bp, g = st.borderFocused, st.focusGlyphs
	}
	inner := w - 2
	var b strings.Builder
	b.Grow((w + 8) * h * 2)

	// Top border: ╭─ Title (3) ──────╮
	top := newLine(inner)
	if inner >= 4 && len(title) > 0 {
		top.add(bp, g.h).space(1)
		for _, t := range title {
			if top.room() <= 2 {
				break
			}
			top.add(t.p, truncate(t.s, top.room()-2))
		}
		top.space(1)
	}
	b.WriteString(bp.r(g.tl))
	b.WriteString(top.sb.String())
	b.WriteString(bp.r(strings.Repeat(g.h, top.room()) + g.tr))
	b.WriteByte('\n')

	side := bp.r(g.v)
	empty := blank(inner)
	for i := range h - 2 {
		b.WriteString(side)
		if i < len(body) {
			b.WriteString(body[i])
		} else {
			b.WriteString(empty)
		}
		b.WriteString(side)
		b.WriteByte('\n')
	}
	b.WriteString(bp.r(g.bl + strings.Repeat(g.h, inner) + g.br))
	return b.String()
}

// column describes a table column.
type column struct {
	title string
	width int  // minimum width
	flex  int  // weight in sharing out spare width (0: fixed)
	right bool // right-aligned (numbers)
	drop  int  // 0: always shown; otherwise columns with the highest drop go first when the table is too wide
	cutL  bool // cut long values on the left ("…ers-part-1"), keeping their distinctive end
	cutM  bool // cut long names in the middle, keeping the namespace and the end ("/default/…rders-eu-west")
	// key marks a column that tells the rows apart (a name, a topic, a subscription): it is never dropped,
	// it is cut in the middle unless cutL says otherwise, and when its values do not fit, the droppable
	// columns (trends, secondary numbers) go first, up to keyWant cells of it.
	key bool
}

// keyMin and keyWant bound the key columns' widths: a key column narrower than keyMin cells (or than its
// values, when shorter), or one that shows two different rows the same, makes droppable columns go, and
// then gets the spare width first, up to keyWant cells (longer names are cut in the middle).
const (
	keyMin  = 12
	keyWant = 32
)

// cell is one table cell: plain text and its paint, or a sparkline of spark.
type cell struct {
	s     string
	p     paint
	spark []float64
	isSpk bool
	raw   []byte // bytes previewed with escapeBytes to the column's width
	isRaw bool
	hl    [][2]int // byte ranges of raw to paint with hp (filter matches)
	hp    paint
}

// table is a table to render: its columns, row count and a function filling the cells of row i.
type table struct {
	cols  []column
	n     int
	row   func(i int, c []cell)
	sel   int  // selected row, -1: none
	focus bool // show the selection
	empty string
	// mark, when set, reports whether row i is marked: a marked row shows ● in its leading blank.
	mark func(i int) bool
}

const colGap = 2

// layoutColumns picks the columns that fit in width and their widths (0 for a dropped column).
func layoutColumns(cols []column, width int) []int { return layoutKeyed(cols, width, nil, nil) }

// layoutKeyed is layoutColumns for rows whose key columns' widest values are want (by column; nil: unknown)
// and, when given, same reports whether the key columns at widths ws show two different rows the same.
// Columns with the highest drop go until the others fit; the spare width goes to the key columns first (up
// to their values, at most keyWant), the rest by flex. When a key column is still narrower than keyMin (or
// its values) or rows look the same, droppable columns that are not keys go, highest drop first, until
// that is no longer so or none is left.
func layoutKeyed(cols []column, width int, want []int, same func(ws []int) bool) []int {
	shown := make([]bool, len(cols))
	total := -colGap
	for i, c := range cols {
		shown[i] = true
		total += c.width + colGap
	}
	dropOne := func() bool {
		worst := -1
		for i, c := range cols {
			if shown[i] && c.drop > 0 && !c.key && (worst < 0 || c.drop >= cols[worst].drop) {
				worst = i
			}
		}
		if worst < 0 {
			return false
		}
		shown[worst] = false
		total -= cols[worst].width + colGap
		return true
	}
	for total > width && dropOne() {
	}
	bad := func(ws []int) bool {
		for i, c := range cols {
			if c.key && ws[i] > 0 && i < len(want) && ws[i] < min(want[i], keyMin) {
				return true
			}
		}
		return same != nil && same(ws)
	}
	ws := shareWidth(cols, shown, width-total, nil)
	cut := false
	for i, c := range cols {
		cut = cut || (c.key && ws[i] > 0 && ws[i] < need(cols, want, i))
	}
	if !cut && !bad(ws) {
		return ws // every name whole: the flex layout
	}
	for {
		ws = shareWidth(cols, shown, width-total, want)
		if !bad(ws) || !dropOne() {
			return ws
		}
	}
}

// need is how wide key column i would like to be, from its widest value want[i].
func need(cols []column, want []int, i int) int {
	if !cols[i].key || i >= len(want) {
		return 0
	}
	return min(want[i], keyWant)
}

// shareWidth gives the shown columns their width and shares spare: to the key columns up to their need
// first when want is given, then by flex.
func shareWidth(cols []column, shown []bool, spare int, want []int) []int {
	ws := make([]int, len(cols))
	flex := 0
	for i, c := range cols {
		if shown[i] {
			ws[i] = c.width
			flex += c.flex
		}
	}
	for _, upTo := range []int{keyMin, keyWant} { // every key column to keyMin first, then to keyWant
		for i := range cols {
			if shown[i] && spare > 0 {
				add := min(spare, max(0, min(need(cols, want, i), upTo)-ws[i]))
				ws[i] += add
				spare -= add
			}
		}
	}
	if spare > 0 && flex > 0 {
		last := -1
		given := 0
		for i, c := range cols {
			if shown[i] && c.flex > 0 {
				add := spare * c.flex / flex
				ws[i] += add
				given += add
				last = i
			}
		}
		ws[last] += spare - given
	}
	return ws
}

// render draws the table in w×h cells: a header line and the rows that fit, scrolled so that the selection
// stays visible. It returns the lines, each exactly w cells wide.
func (st *styles) renderTable(t table, w, h int) []string {
	if h <= 0 || w <= 0 {
		return nil
	}
	// The visible rows' cells first: the key columns' widths depend on their values.
	rows := h - 1
	off := 0
	if t.sel >= rows {
		off = t.sel - rows + 1
	}
	nc := len(t.cols)
	flat := make([]cell, max(0, min(t.n, off+rows)-off)*nc)
	cells := make([][]cell, 0, len(flat)/max(nc, 1))
	want := make([]int, nc)
	for i := off; i < t.n && i < off+rows; i++ {
		cl := flat[(i-off)*nc : (i-off+1)*nc : (i-off+1)*nc]
		t.row(i, cl)
		for j, c := range t.cols {
			if c.key {
				want[j] = max(want[j], textWidth(cl[j].s))
			}
		}
		cells = append(cells, cl)
	}
	ws := layoutKeyed(t.cols, w-1, want, func(ws []int) bool {
		for j, c := range t.cols {
			if c.key && ws[j] > 0 && want[j] > ws[j] {
				return keysLookAlike(t.cols, ws, cells) // only a cut value can look like another
			}
		}
		return false
	})
	if tableRendered != nil {
		tableRendered(t, ws, cells)
	}
	out := make([]string, 0, h)

	hl := newLine(w).space(1)
	first := true
	for i, c := range t.cols {
		if ws[i] == 0 {
			continue
		}
		if !first {
			hl.space(colGap)
		}
		first = false
		hl.addFit(st.header, c.title, ws[i], c.right)
	}
	out = append(out, hl.String())
	if t.n == 0 {
		if rows > 0 && t.empty != "" {
			out = append(out, newLine(w).space(1).add(st.muted, t.empty).String())
		}
		return out
	}
	for k, cells := range cells {
		i := off + k
		selected := t.focus && i == t.sel
		l := newLine(w)
		if t.mark != nil && t.mark(i) {
			l.add(pick(selected, paint{}, st.accent), "●")
		} else {
			l.space(1)
		}
		first := true
		for j, c := range t.cols {
			if ws[j] == 0 {
				continue
			}
			if !first {
				l.space(colGap)
			}
			first = false
			cl := cells[j]
			p := cl.p
			if selected {
				p = paint{}
			}
			if cl.isRaw {
				if len(cl.hl) > 0 && !selected {
					l.addPainted(previewHL(cl.raw, ws[j], cl.hl, p, cl.hp), ws[j])
					continue
				}
				l.addFit(p, escapeBytes(cl.raw, ws[j]), ws[j], false)
				continue
			}
			if cl.isSpk {
				if !selected {
					p = st.spark
				}
				l.addFit(p, sparkline(cl.spark, ws[j]), ws[j], true)
				continue
			}
			if c.cutL {
				l.addFit(p, cutLeft(cl.s, ws[j]), ws[j], c.right)
				continue
			}
			if c.cutM || c.key {
				l.addFit(p, cutMiddle(cl.s, ws[j]), ws[j], c.right)
				continue
			}
			l.addFit(p, cl.s, ws[j], c.right)
		}
		s := l.String()
		if selected {
			s = st.selected.r(s)
		}
		out = append(out, s)
	}
	return out
}

// keysLookAlike reports whether two rows with different key values show the same at widths ws.
func keysLookAlike(cols []column, ws []int, rows [][]cell) bool {
	if len(rows) < 2 {
		return false
	}
	shownAs := make(map[string]string, len(rows))
	var full, shown strings.Builder
	for _, r := range rows {
		full.Reset()
		shown.Reset()
		for j, c := range cols {
			if !c.key || ws[j] == 0 {
				continue
			}
			full.WriteString(r[j].s)
			full.WriteByte(0)
			shown.WriteString(keyCell(c, r[j].s, ws[j]))
			shown.WriteByte(0)
		}
		if f, ok := shownAs[shown.String()]; ok && f != full.String() {
			return true
		}
		shownAs[shown.String()] = full.String()
	}
	return false
}

// keyCell is how a key column's value shows in w cells.
func keyCell(c column, s string, w int) string {
	if c.cutL {
		return cutLeft(s, w)
	}
	return cutMiddle(s, w)
}

// tableRendered, when set (by tests), is called with each table renderTable draws, its columns' widths and
// the cells of its visible rows.
var tableRendered func(t table, ws []int, cells [][]cell)

// tableOffset is the first row renderTable shows of a table with the selection at sel and rows lines for
// rows.
func tableOffset(sel, rows int) int {
	if sel >= rows {
		return sel - rows + 1
	}
	return 0
}

// clickRow returns the row of a table of n rows (selection at sel, rows lines for rows) drawn at line dy
// of its row area, or -1.
func clickRow(sel, n, rows, dy int) int {
	if dy < 0 || dy >= rows {
		return -1
	}
	i := tableOffset(sel, rows) + dy
	if i >= n {
		return -1
	}
	return i
}

// clickTable selects the row of a pane's table under line y of the pane, the table's rows starting at
// line top.
func clickTable(cur *cursor, n int, id func(int) string, rows, top, y int) {
	if i := clickRow(cur.index(n, id), n, rows, y-top); i >= 0 {
		cur.idx, cur.id = i, id(i)
	}
}

// spk is a sparkline cell.
func spk(series []float64) cell { return cell{spark: series, isSpk: true} }

// txt is a plain text cell in a paint.
func txt(p paint, s string) cell { return cell{s: s, p: p} }

// kv renders "label value" lines for detail views: the label muted and padded to lw cells.
func (st *styles) kv(w, lw int, label, value string, vp paint) string {
	return newLine(w).space(1).addFit(st.muted, label, lw, false).space(1).add(vp, value).String()
}

// textLine renders a plain line in a paint, fitted to w cells with one leading blank.
func (st *styles) textLine(w int, p paint, s string) string {
	return newLine(w).space(1).add(p, s).String()
}

// center places an already styled block in the middle of a w×h area.
func center(block string, w, h int) string {
	lines := strings.Split(block, "\n")
	bw := 0
	for _, l := range lines {
		bw = max(bw, ansi.StringWidth(l))
	}
	bw = min(bw, w)
	left := max(0, (w-bw)/2)
	top := max(0, (h-len(lines))/2)
	var b strings.Builder
	for i := range h {
		if i > 0 {
			b.WriteByte('\n')
		}
		j := i - top
		if j < 0 || j >= len(lines) {
			b.WriteString(blank(w))
			continue
		}
		b.WriteString(blank(left))
		b.WriteString(padANSI(lines[j], w-left))
	}
	return b.String()
}

// selIndex finds the row whose identity is sel among n rows (id gives row i's identity); a missing
// identity gives the nearest valid index to fallback.
func selIndex(n int, id func(i int) string, sel string, fallback int) int {
	if n == 0 {
		return -1
	}
	if sel != "" {
		for i := range n {
			if id(i) == sel {
				return i
			}
		}
	}
	return max(0, min(fallback, n-1))
}

// cursor is a list selection kept by identity (so that it survives refreshes that reorder or add rows),
// with the last index as a fallback when the selected row disappears.
type cursor struct {
	id  string
	idx int
}

// selectedIn returns the element of list the cursor selects (id names list[i]), or nil when list is empty.
func selectedIn[T any](c *cursor, list []T, id func(i int) string) *T {
	i := c.index(len(list), id)
	if i < 0 {
		return nil
	}
	return &list[i]
}

// index resolves the selection among n rows.
func (c *cursor) index(n int, id func(i int) string) int {
	return selIndex(n, id, c.id, c.idx)
}

// move handles the navigation keys for a list of n rows (page rows a page) and reports whether the key
// was one of them.
func (c *cursor) move(e *env, msg tea.KeyPressMsg, n, page int, id func(i int) string) bool {
	k := e.keys.Nav
	i := c.index(n, id)
	switch {
	case matches(msg, k.Up):
		i--
	case matches(msg, k.Down):
		i++
	case matches(msg, k.PageUp):
		i -= max(1, page)
	case matches(msg, k.PageDown):
		i += max(1, page)
	case matches(msg, k.Top):
		i = 0
	case matches(msg, k.Bottom):
		i = n - 1
	default:
		return false
	}
	if n == 0 {
		return true
	}
	i = max(0, min(i, n-1))
	c.idx, c.id = i, id(i)
	return true
}

// joinColumns puts two blocks of equal height side by side.
func joinColumns(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var sb strings.Builder
	for i := range al {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(al[i])
		if i < len(bl) {
			sb.WriteString(bl[i])
		}
	}
	return sb.String()
}
