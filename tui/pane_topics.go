package tui

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
)

// topicsPane lists every topic of the cluster: the admin API's list joined with the brokers' metrics
// (msgs/s and bytes/s in and out, producers, consumers, subscriptions, lag, schema, delivery, owner),
// partitions grouped under their base topic (→/← or space expand and collapse them). o cycles the sort
// column and O reverses it; / filters by name. enter opens the topic's detail view (topic_detail.go); n
// creates a topic, D deletes and U unloads the selected one (topic_forms.go), c taps it. l looks the
// selected topic up and L any topic; ctrl+r (a global key) refreshes the list and the open detail (the
// list also refreshes by itself every few seconds).
type topicsPane struct {
	cur cursor

	in     textinput.Model // the lookup input (L)
	inOpen bool

	pending string         // topic being looked up
	last    *lookupDoneMsg // the latest lookup this console ran

	// The list: rows built from the snapshot when its data changes, list the sorted, filtered and
	// flattened view of them.
	rows    []topicRow
	list    []*topicRow
	built   bool
	admin   []monitor.TopicStats       // the admin list the rows were built from
	ctopics []monitor.TopicRate        // and the metrics
	csubs   []monitor.SubscriptionRate // (the snapshot's slices are immutable: kept, never changed)
	relist  bool                       // sort, filter or expansion changed
	sortCol int
	sortRev bool
	open    map[string]bool // expanded groups

	flt     textinput.Model // the name filter (/)
	fltOpen bool

	detail *topicDetail // the open detail view, if any
	// compat is the schema compatibility of the topics described so far (by name), which the list shows
	// next to their subject.
	compat map[string]string
}

// lookupMsg is a request the topics pane serves (from :lookup): look a topic up.
type lookupMsg struct{ topic string }

// lookupDoneMsg reports the end of a lookup.
type lookupDoneMsg struct {
	topic string
	res   monitor.LookupResult
	err   error
}

func newTopicsPane(t *themes.Theme) *topicsPane {
	p := &topicsPane{in: textinput.New(), flt: textinput.New(), open: map[string]bool{}, compat: map[string]string{}}
	p.in.Prompt = "topic› "
	p.in.Placeholder = "/default/my-topic"
	p.in.CharLimit = 256
	p.flt.Prompt = "filter› "
	p.flt.Placeholder = "part of a topic name"
	p.flt.CharLimit = 256
	p.restyle(t)
	return p
}

// restyle applies the theme to the text inputs.
func (p *topicsPane) restyle(t *themes.Theme) {
	styleInput(&p.in, t)
	styleInput(&p.flt, t)
}

// lookupWidth is the inner width of the lookup panel on a terminal w cells wide.
func lookupWidth(w int) int { return w - 2 }

// sync builds the rows when the snapshot's data changed, re-lists them when the sort, the filter or the
// expansion changed, gives the inputs their widths and settles the detail view.
func (p *topicsPane) sync(e *env) {
	p.in.SetWidth(max(1, lookupWidth(e.w)-10))
	p.flt.SetWidth(max(1, e.w-14))
	p.syncRows(e)
	if p.detail != nil {
		p.detail.sync(e)
	}
}

// syncRows rebuilds the rows when the admin list or the metrics changed, and re-lists them when needed.
func (p *topicsPane) syncRows(e *env) {
	c := &e.snap.Cluster
	if !p.built || !sameSlice(p.ctopics, c.Topics) || !sameSlice(p.csubs, c.Subscriptions) || !sameTopics(p.admin, e.snap.Topics) {
		p.rows = buildTopicRows(e.snap)
		p.admin, p.ctopics, p.csubs, p.built, p.relist = e.snap.Topics, c.Topics, c.Subscriptions, true, true
	}
	if p.relist {
		p.list = listRows(p.rows, p.sortCol, p.sortRev, p.filterText(), p.open)
		p.relist = false
	}
}

// filterText is the filter in effect (what the input holds, as typed).
func (p *topicsPane) filterText() string { return strings.TrimSpace(p.flt.Value()) }

func (p *topicsPane) rowID(i int) string { return p.list[i].name }

// selected returns the selected row, or nil when the list is empty.
func (p *topicsPane) selected() *topicRow {
	i := p.cur.index(len(p.list), p.rowID)
	if i < 0 {
		return nil
	}
	return p.list[i]
}

// focusTopicMsg asks the topics pane to select a topic and scroll to it (the problems pane posts it after
// showing the topics pane).
type focusTopicMsg struct{ topic string }

// selectTopic selects a topic (a partition expands its group; a filter that hides it is cleared), scrolled
// into view, and closes the detail view: for the panes and commands that send the user to a topic.
func (p *topicsPane) selectTopic(e *env, name string) {
	p.detail = nil
	p.syncRows(e)
	if base := baseTopic(name); base != name {
		p.open[base] = true
		p.relist = true
	}
	if f := strings.ToLower(p.filterText()); f != "" && !strings.Contains(strings.ToLower(name), f) {
		p.clearFilter()
	}
	p.syncRows(e)
	for i, r := range p.list {
		if r.name == name {
			p.cur.idx, p.cur.id = i, name
			return
		}
	}
	e.setStatus(levelWarn, "topic "+clean(name)+" is not in the list (ctrl+r refreshes it)")
}

func (p *topicsPane) capturing() bool {
	return p.inOpen || p.fltOpen || (p.detail != nil && p.detail.capturing())
}

// refresh describes the open detail's topic again (ctrl+r); the root reloads the list itself.
func (p *topicsPane) refresh(e *env) tea.Cmd {
	if p.detail == nil {
		return nil
	}
	return p.detail.refresh(e)
}

// back leaves the pane's sub-view (the detail, an open input) one level, for q: unlike esc it keeps the
// list's filter, which is no sub-view (q quits from the filtered list).
func (p *topicsPane) back() bool {
	if p.detail == nil && !p.inOpen && !p.fltOpen {
		return false
	}
	return p.esc()
}

func (p *topicsPane) esc() bool {
	switch {
	case p.inOpen:
		p.closeInput()
	case p.fltOpen:
		p.clearFilter()
	case p.detail != nil:
		p.detail = nil
	case p.filterText() != "":
		p.clearFilter()
	default:
		return false
	}
	return true
}

func (p *topicsPane) closeInput() {
	p.inOpen = false
	p.in.Blur()
	p.in.Reset()
}

func (p *topicsPane) clearFilter() {
	p.fltOpen = false
	p.flt.Blur()
	p.flt.Reset()
	p.relist = true
}

// input passes a message to the open text input.
func (p *topicsPane) input(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch {
	case p.inOpen:
		p.in, cmd = p.in.Update(msg)
	case p.fltOpen:
		p.flt, cmd = p.flt.Update(msg)
		p.relist = true
	}
	return cmd
}

func (p *topicsPane) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	k := e.keys.Topics
	switch {
	case p.inOpen:
		return p.lookupKey(e, msg)
	case p.fltOpen:
		switch {
		case matches(msg, e.keys.Prompt.Cancel):
			p.clearFilter()
		case matches(msg, e.keys.Prompt.Submit):
			p.fltOpen = false
			p.flt.Blur()
		default:
			return p.input(msg)
		}
		return nil
	case p.detail != nil:
		return p.detail.key(e, msg)
	}
	r := p.selected()
	switch {
	case matches(msg, k.Open):
		if r != nil {
			return p.openDetail(e, r)
		}
	case matches(msg, k.Filter):
		p.fltOpen = true
		p.flt.CursorEnd()
		return p.flt.Focus()
	case matches(msg, k.Sort):
		p.sortCol = (p.sortCol + 1) % numSortCols
		p.sortRev, p.relist = false, true
	case matches(msg, k.Reverse):
		p.sortRev, p.relist = !p.sortRev, true
	case matches(msg, k.Expand):
		if r != nil && r.group {
			p.open[r.name] = msg.String() != "space" || !p.open[r.name]
			p.relist = true
		}
	case matches(msg, k.Collapse):
		p.collapse(r)
	case matches(msg, k.LookupInput):
		p.inOpen = true
		return p.in.Focus()
	case matches(msg, k.Lookup):
		if r != nil {
			return p.lookup(e, r.name)
		}
	case matches(msg, k.Tap):
		topic := ""
		if r != nil {
			topic = r.name
		}
		e.post(openTapFormMsg{topic: topic})
	case matches(msg, k.Create):
		return openCreateForm(e)
	case matches(msg, k.Delete):
		if r != nil {
			e.post(openModalMsg{m: deleteConfirm(e, r.name, members(r))})
		}
	case matches(msg, k.Unload):
		if r != nil {
			e.post(openModalMsg{m: unloadConfirm(e, r.name, members(r), r.broker)})
		}
	default:
		p.cur.move(e, msg, len(p.list), p.listRows(e), p.rowID)
	}
	return nil
}

// collapse hides the partitions of the selected group, or of the group of the selected partition (which
// the selection moves to).
func (p *topicsPane) collapse(r *topicRow) {
	if r == nil {
		return
	}
	name := r.name
	if r.child {
		name = baseTopic(r.name)
		p.cur.id = name
	}
	if p.open[name] {
		delete(p.open, name)
		p.relist = true
	}
}

// members are the topics a row stands for: a group's partitions, else the topic itself.
func members(r *topicRow) []string {
	if !r.group || len(r.parts) == 0 {
		return []string{r.name}
	}
	out := make([]string, len(r.parts))
	for i := range r.parts {
		out[i] = r.parts[i].name
	}
	return out
}

// lookupKey handles a key while the lookup input is open.
func (p *topicsPane) lookupKey(e *env, msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case matches(msg, e.keys.Prompt.Cancel):
		p.closeInput()
		return nil
	case matches(msg, e.keys.Prompt.Submit):
		topic := strings.TrimSpace(p.in.Value())
		p.closeInput()
		if topic == "" {
			return nil
		}
		return p.lookup(e, topic)
	}
	return p.input(msg)
}

// lookup starts a lookup in a command.
func (p *topicsPane) lookup(e *env, topic string) tea.Cmd {
	p.pending = topic
	b, ctx := e.admin, e.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
		defer cancel()
		res, err := b.Lookup(ctx, topic)
		return lookupDoneMsg{topic: topic, res: res, err: err}
	}
}

func (p *topicsPane) lookupDone(e *env, msg lookupDoneMsg) {
	if p.pending == msg.topic {
		p.pending = ""
	}
	p.last = &msg
	if msg.err != nil {
		e.setStatus(levelError, msg.err.Error()) // it names the lookup and the topic
	}
	e.post(pullMsg{})
}

// lookupShown reports whether the lookup panel is shown: while typing a topic, and once this console ran a
// lookup.
func (p *topicsPane) lookupShown() bool { return p.inOpen || p.pending != "" || p.last != nil }

// lookupHeight is the height of the lookup panel in a pane h lines high (0 when hidden).
func (p *topicsPane) lookupHeight(h int) int {
	if !p.lookupShown() {
		return 0
	}
	return min(11, h/3+1)
}

// listRows is the number of table rows the list shows in the pane (for paging and clicks).
func (p *topicsPane) listRows(e *env) int {
	h := e.bodyHeight()
	return max(1, h-p.lookupHeight(h)-4) // borders, header, hint line
}

// shown returns the lookup to show: the latest one this console ran, else the backend's most recent.
func (p *topicsPane) shown(e *env) (res monitor.LookupResult, err string, ok bool) {
	if p.last != nil {
		res = p.last.res
		if res.Topic == "" {
			res.Topic = p.last.topic
		}
		if p.last.err != nil {
			err = p.last.err.Error()
		}
		return res, err, true
	}
	if len(e.snap.Lookups) > 0 {
		return e.snap.Lookups[0], "", true
	}
	return res, "", false
}

// lookupLines draws the lookup panel's content in w cells and at most h lines.
func (p *topicsPane) lookupLines(e *env, w, h int) []string {
	st := e.st
	var out []string
	if p.inOpen {
		in := p.in // drawn from a copy: sync sets the input's own width
		in.SetWidth(max(1, w-10))
		out = append(out, " "+padANSI(in.View(), w-1))
	}
	if p.pending != "" {
		out = append(out, st.textLine(w, st.info, "looking up "+clean(p.pending)+" …"))
	}
	res, errText, ok := p.shown(e)
	if !ok {
		return append(out, st.textLine(w, st.muted, "no lookup yet"))
	}
	const lw = 11
	kv := func(l, v string, vp paint) { out = append(out, st.kv(w, lw, l, v, vp)) }
	rt := orDash(res.ResponseType)
	rp := st.ok
	switch {
	case rt == "failed" || errText != "" || res.Err != "":
		rp = st.err
	case rt == "redirect":
		rp = st.info
	}
	kv("topic", clean(res.Topic), st.accent)
	kv("response", rt, rp)
	if errText == "" {
		errText = res.Err
	}
	if errText != "" {
		kv("error", clean(errText), st.err)
	}
	kv("broker", orDash(clean(res.BrokerURL)), st.text)
	kv("connect", orDash(clean(res.ConnectURL)), st.text)
	kv("proxy", pick(res.Proxy, "yes", "no"), st.text)
	parts := "-"
	if len(res.Partitions) > 0 {
		parts = itoa(len(res.Partitions)) + ": " + clean(strings.Join(res.Partitions, ", "))
	}
	kv("partitions", parts, st.text)
	when := ""
	if !res.At.IsZero() {
		when = " · " + ago(e.now, res.At) + " ago"
	}
	kv("latency", fmtDur(res.Latency)+when, st.text)
	if len(out) > h {
		out = out[:h]
	}
	return out
}

func (p *topicsPane) view(e *env, w, h int) string {
	if p.detail != nil {
		return p.detail.view(e, w, h)
	}
	st := e.st
	lh := p.lookupHeight(h)
	th := h - lh
	body := st.renderTable(p.table(e, w-2), w-2, th-3)
	for len(body) < th-3 {
		body = append(body, blank(w-2))
	}
	body = append(body, p.hintLine(e, w-2))
	top := st.box(p.title(e), w, th, !p.inOpen, body)
	if lh == 0 {
		return top
	}
	return top + "\n" + st.box([]seg{{"Lookup", st.title}}, w, lh, p.inOpen, p.lookupLines(e, w-2, lh-2))
}

// title is the list's title: the count, the sort and the filter.
func (p *topicsPane) title(e *env) []seg {
	st := e.st
	n := len(p.rows)
	t := []seg{{"Topics", st.title}, {" (" + itoa(n) + ")", st.muted}}
	if p.sortCol != sortName || p.sortRev { // the column may be hidden on a narrow terminal
		t = append(t, seg{" · by " + strings.ToLower(topicColumns[p.sortCol].title) + pick(descending(p.sortCol, p.sortRev), " ▼", " ▲"), st.muted})
	}
	if f := p.filterText(); f != "" {
		t = append(t, seg{" · " + itoa(len(p.list)) + " match " + clean(f), st.accent})
	}
	if ns := e.snap.Namespaces; len(ns) > 0 && e.w >= 120 {
		t = append(t, seg{" · namespaces: " + clean(strings.Join(ns, ", ")), st.muted})
	}
	return t
}

// hintLine is the list's last line: the filter input while it is open, else the keys.
func (p *topicsPane) hintLine(e *env, w int) string {
	if p.fltOpen {
		return " " + inputLine(p.flt, w-1)
	}
	k := &e.keys.Topics
	pairs := []string{"enter", "detail", "/", "filter", "o/O", "sort", "→/←", "partitions"}
	pairs = append(pairs, e.offer(k.Tap, "c", "tap")...)
	pairs = append(pairs, e.offer(k.Create, "n", "create")...)
	pairs = append(pairs, e.offer(k.Delete, "D", "delete")...)
	pairs = append(pairs, e.offer(k.Unload, "U", "unload")...)
	return e.st.hintLine(w, append(pairs, "l/L", "lookup")...)
}

// topicColumns are the list's columns, in sortCol order after the name (the drop order keeps the name and
// the rates at 80 columns).
var topicColumns = [numSortCols]column{
	{title: "TOPIC", width: 24, flex: 3, key: true},
	{title: "IN/s", width: 8, right: true},
	{title: "OUT/s", width: 8, right: true, drop: 1},
	{title: "BYTES IN", width: 10, right: true, drop: 9},
	{title: "BYTES OUT", width: 11, right: true, drop: 10},
	{title: "PROD", width: 6, right: true, drop: 5},
	{title: "CONS", width: 6, right: true, drop: 3},
	{title: "SUBS", width: 6, right: true, drop: 2},
	{title: "LAG", width: 7, right: true},
	{title: "SCHEMA", width: 14, flex: 2, drop: 7},
	{title: "DELIVERY", width: 12, drop: 4},
	{title: "OWNER", width: 8, drop: 6},
}

// table is the list drawn in w cells: the sorted column's title carries ▲ or ▼, names are cut in the
// middle to their column.
func (p *topicsPane) table(e *env, w int) table {
	st := e.st
	cols := topicColumns
	cols[p.sortCol].title += pick(descending(p.sortCol, p.sortRev), " ▼", " ▲")
	ws := layoutColumns(cols[:], w-1)
	empty := "no topics (ctrl+r refreshes" + strings.Join(e.offer(e.keys.Topics.Create, "; n creates one"), "") + ")"
	switch {
	case p.filterText() != "" && len(p.rows) > 0:
		empty = "no topic matches " + clean(p.filterText()) + " (esc clears the filter)"
	case e.snap.AdminErr != "":
		empty = "no topics (--admin-url sets the admin API's address): " + clean(e.snap.AdminErr)
	}
	return table{
		cols:  cols[:],
		n:     len(p.list),
		sel:   p.cur.index(len(p.list), p.rowID),
		focus: true,
		empty: empty,
		row: func(i int, c []cell) {
			r := p.list[i]
			c[0] = txt(st.text, p.rowName(r, ws[0]))
			if r.group {
				c[0].p = st.accent
			}
			rate := func(v float64, f func(float64) string) cell {
				if !r.metrics {
					return txt(st.muted, "-")
				}
				return txt(pick(v > 0, st.text, st.muted), f(v))
			}
			num := func(v int64) cell {
				if !r.metrics {
					return txt(st.muted, "-")
				}
				return txt(pick(v > 0, st.text, st.muted), fmtInt(v))
			}
			c[1], c[2] = rate(r.msgsIn, fmtSI), rate(r.msgsOut, fmtSI)
			c[3], c[4] = rate(r.bytesIn, fmtByteRate), rate(r.bytesOut, fmtByteRate)
			c[5], c[6] = num(r.producers), num(r.consumers)
			c[7] = txt(pick(r.subs > 0, st.text, st.muted), itoa(r.subs))
			c[8] = num(r.lag)
			if r.lag > 0 {
				c[8].p = st.warn
			}
			schema := clean(r.schema)
			if c := p.compat[r.name]; c != "" && schema != "" {
				schema += " (" + clean(c) + ")"
			}
			c[9] = txt(st.muted, orDash(schema))
			switch {
			case !r.delivery:
				c[10] = txt(st.muted, pick(r.known, "-", "metrics only"))
			case r.reliable:
				c[10] = txt(st.ok, "reliable")
			default:
				c[10] = txt(st.muted, "non-reliable")
			}
			c[11] = txt(st.muted, orDash(cutMiddle(clean(r.broker), ws[11]))) // broker ids are long numbers
		},
	}
}

// rowName is the name cell of a row in w cells: a group's marker and partition count, a partition
// indented under it, names cut in the middle.
func (p *topicsPane) rowName(r *topicRow, w int) string {
	switch {
	case r.group:
		mark := pick(p.open[r.name], "▾ ", "▸ ")
		suffix := " [" + itoa(len(r.parts)) + "]"
		return mark + cutMiddle(clean(r.name), w-textWidth(mark+suffix)) + suffix
	case r.child:
		return "   " + cutMiddle(clean(r.name), w-3)
	}
	return "  " + cutMiddle(clean(r.name), w-2)
}

// click selects the topic under the mouse (y in the pane's area).
func (p *topicsPane) click(e *env, x, y int) {
	if p.detail != nil {
		p.detail.click(e, y)
		return
	}
	rows := p.listRows(e)
	if y < rows+2 {
		clickTable(&p.cur, len(p.list), p.rowID, rows, 2, y)
	}
}

// tile is the dashboard's topics tile: the admin list, drawn from the snapshot alone (the pane's rows are
// built only while it is shown).
func (p *topicsPane) tile(e *env, w, h int, focused bool) string {
	st := e.st
	ts := e.snap.Topics
	title := []seg{{"Topics", st.title}, {" (" + itoa(len(ts)) + ")", st.muted},
		{" · " + itoa(len(e.snap.Namespaces)) + " namespaces", st.muted}}
	t := table{
		cols: []column{{title: "TOPIC", width: 12, flex: 1, cutL: true, key: true}, {title: "DELIVERY", width: 12, drop: 2},
			{title: "SUBS", width: 4, right: true, drop: 1}},
		n: len(ts), sel: -1, empty: "no topics",
		row: func(i int, c []cell) {
			t := &ts[i]
			c[0] = txt(st.text, clean(t.Name))
			c[1] = pick(t.Reliable, txt(st.ok, "reliable"), txt(st.muted, "non-reliable"))
			c[2] = txt(st.text, itoa(len(t.Subscriptions)))
		},
	}
	return st.box(title, w, h, focused, st.renderTable(t, w-2, h-2))
}

func (p *topicsPane) bindings(k *KeyMap) []Binding {
	t := k.Topics
	if p.detail != nil {
		return []Binding{t.Span, t.Tap, t.Policy, t.Window, t.Unsubscribe, t.Delete, t.Unload}
	}
	return []Binding{t.Open, t.Filter, t.Sort, t.Reverse, t.Expand, t.Collapse, t.Lookup, t.LookupInput, t.Tap,
		t.Create, t.Delete, t.Unload}
}
