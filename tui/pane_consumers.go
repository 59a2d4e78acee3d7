package tui

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/monitor/filter"
)

// holdMax is how many messages a paused stream keeps to scroll back through.
const holdMax = 1000

// deadlineWarn is how close to its ack deadline a pending message turns red.
const deadlineWarn = 5 * time.Second

// consumersPane lists the consumers (rate, end-to-end latency) and shows the live message stream of the
// selected one. The stream follows the newest messages, asking the backend only for the rows that fit; when
// paused (f, or scrolling back) it keeps the rows it had and lets the user scroll through them.
//
// enter moves the focus from the list to the stream, where the arrows select a message (which pauses the
// stream), space marks messages, enter inspects the selected one, a and n ack and nack (manual-ack taps), P
// replays; / filters the stream through Backend.Query (a filter only hides messages). c starts a tap
// (an ad-hoc consumer) with a form, x stops the selected one.
type consumersPane struct {
	cur cursor

	stream    string // the stream rows/held belong to
	follow    bool
	rows      []monitor.Message   // the newest messages, when following
	total     uint64              // messages ever received on the stream
	held      []monitor.Message   // messages kept while paused, oldest first
	off       int                 // rows scrolled back from the end of held
	heldTotal uint64              // the stream's total when held last took the new messages
	res       monitor.QueryResult // the counts of the last Query (when filtered)

	focus bool   // the stream, not the consumer list, has the focus
	sel   uint64 // the selected message's Seq in the stream (0: none)
	marks map[uint64]bool

	filter  *filter.Filter
	fin     textinput.Model
	finOpen bool
	finErr  string

	insp *inspector // the open message inspector, if any

	wantStream, wantName string // a tap to select as soon as the snapshot has it
}

// init prepares the filter input.
func (p *consumersPane) init(m *Model) {
	p.fin = newInput(m, "filter› ", `text  key:GLOB  attr:NAME=VALUE  $.path > 1  -negated`)
}

// restyle applies the theme to the filter input.
func (p *consumersPane) restyle(m *Model) { styleInput(&p.fin, m.theme) }

func consumerID(m *Model) func(i int) string {
	cs := m.snap.Consumers
	return func(i int) string {
		if cs[i].Stream != "" {
			return cs[i].Stream
		}
		return cs[i].Topic + "\x00" + cs[i].Subscription + "\x00" + cs[i].Name
	}
}

// consumersLayout splits the pane's height between the consumer list and the stream.
func consumersLayout(h, n int) (listH, streamH int) {
	listH = max(4, min(n+3, h/2))
	return listH, h - listH
}

// streamRows is the number of message rows the stream box shows.
func (p *consumersPane) streamRows(m *Model) int {
	_, sh := consumersLayout(m.bodyHeight(), len(m.snap.Consumers))
	return max(0, sh-3-p.inputLines())
}

// inputLines is the number of lines the filter input takes at the top of the stream box.
func (p *consumersPane) inputLines() int {
	if p.finOpen {
		return 1
	}
	return 0
}

// selected returns the selected consumer, or nil.
func (p *consumersPane) selected(m *Model) *monitor.ConsumerStats {
	return selectedIn(&p.cur, m.snap.Consumers, consumerID(m))
}

// selectTap selects the tap the console started, once the snapshot lists it.
func (p *consumersPane) selectTap(m *Model) {
	if p.wantStream == "" && p.wantName == "" {
		return
	}
	cs := m.snap.Consumers
	i := slices.IndexFunc(cs, func(c monitor.ConsumerStats) bool { return c.Stream == p.wantStream })
	if i < 0 {
		i = slices.IndexFunc(cs, func(c monitor.ConsumerStats) bool { return c.AdHoc && c.Name == p.wantName })
	}
	if i < 0 {
		return
	}
	p.cur.idx, p.cur.id = i, consumerID(m)(i)
	p.wantStream, p.wantName = "", ""
}

// reset empties the stream state for another stream.
func (p *consumersPane) reset(stream string) {
	p.stream, p.rows, p.held, p.total, p.off, p.follow, p.heldTotal = stream, nil, nil, 0, 0, true, 0
	p.res, p.focus, p.sel, p.insp = monitor.QueryResult{}, false, 0, nil
	clear(p.marks)
}

// fetch returns the newest n messages of the stream that pass the filter, and the total received; with a
// filter it keeps the Query's counts for the title.
func (p *consumersPane) fetch(m *Model, n int) ([]monitor.Message, uint64) {
	if p.filter == nil {
		return m.b.Messages(p.stream, n)
	}
	p.res = m.b.Query(p.stream, p.filter, n)
	return p.res.Messages, p.res.Total
}

// pull fetches the visible rows of the selected stream (when following), or refreshes the states of the
// held rows on screen (when paused).
func (p *consumersPane) pull(m *Model) {
	c := p.selected(m)
	if c == nil {
		p.reset("")
		return
	}
	if c.Stream != p.stream {
		p.reset(c.Stream)
	}
	if p.insp != nil {
		p.insp.refresh(m)
	}
	if !p.follow {
		p.refreshHeld(m, c)
		return
	}
	if n := p.streamRows(m); n > 0 && !m.tooSmall() {
		p.rows, p.total = p.fetch(m, n)
		if p.focus && len(p.rows) > 0 {
			p.sel = p.rows[len(p.rows)-1].Seq
		}
	}
}

// refreshHeld updates the ack states of the held rows on screen (a manual-ack tap's messages change state
// when acked, nacked or redelivered) and, when filtered, the match counts.
func (p *consumersPane) refreshHeld(m *Model, c *monitor.ConsumerStats) {
	if p.filter != nil {
		p.res = m.b.Query(p.stream, p.filter, 0)
		p.total = p.res.Total
	} else {
		_, p.total = m.b.Messages(p.stream, 0)
	}
	// Pausing stops the scrolling, not the stream: while the held rows leave room on screen, the messages
	// that arrive since fill it below them, and nothing moves (what does not fit waits below the fold).
	if rows := p.streamRows(m); rows > 0 && p.off == 0 && len(p.held) < rows && p.total != p.heldTotal {
		p.heldTotal = p.total
		fresh, _ := p.fetch(m, holdMax)
		if len(p.held) > 0 {
			first := p.held[0].Seq
			i := slices.IndexFunc(fresh, func(x monitor.Message) bool { return x.Seq >= first })
			if i < 0 || fresh[0].Seq > first {
				fresh = nil // the held rows left the ring: keep them as they are
			} else {
				fresh = fresh[i:]
			}
		}
		if len(fresh) > len(p.held) {
			p.held, p.off = fresh, max(0, len(fresh)-rows)
			if p.focus && p.sel == 0 {
				p.sel = p.held[0].Seq // the stream was focused before it had a message to select
			}
		}
	}
	if !c.ManualAck {
		return
	}
	end := max(0, len(p.held)-p.off)
	for i := max(0, end-p.streamRows(m)); i < end; i++ {
		if msg, ok := m.b.Message(p.stream, p.held[i].Seq); ok {
			p.held[i].State, p.held[i].AckDeadline = msg.State, msg.AckDeadline
		}
	}
}

// pause stops following, keeping exactly the rows on screen at the bottom of the held window.
func (p *consumersPane) pause(m *Model) {
	if !p.follow || p.stream == "" {
		return
	}
	p.follow = false
	if len(p.rows) == 0 {
		p.held, p.off = nil, 0
		return
	}
	last := p.rows[len(p.rows)-1].Seq
	held, _ := p.fetch(m, holdMax)
	p.held, p.off = held, 0
	for i := len(held) - 1; i >= 0; i-- {
		if held[i].Seq == last {
			p.off = len(held) - 1 - i
			return
		}
	}
	// The rows on screen are gone from the ring already: keep them as they were.
	p.held = append([]monitor.Message(nil), p.rows...)
}

// resume follows the newest messages again.
func (p *consumersPane) resume(m *Model) {
	p.follow, p.held, p.off = true, nil, 0
	p.pull(m)
}

// rehold re-reads the held window after the filter changed, keeping the selection when it still matches.
func (p *consumersPane) rehold(m *Model) {
	if p.follow {
		p.pull(m)
		return
	}
	p.held, _ = p.fetch(m, holdMax)
	p.off = 0
	if i := p.heldIndex(p.sel); i >= 0 {
		p.ensureVisible(m, i)
	} else if p.focus && len(p.held) > 0 {
		p.sel = p.held[len(p.held)-1].Seq
	}
}

// visible returns the message rows to draw.
func (p *consumersPane) visible(rows int) []monitor.Message {
	if p.follow {
		if len(p.rows) > rows {
			return p.rows[len(p.rows)-rows:]
		}
		return p.rows
	}
	end := max(0, len(p.held)-p.off)
	return p.held[max(0, end-rows):end]
}

// heldIndex returns the index of message seq in the held window, or -1.
func (p *consumersPane) heldIndex(seq uint64) int {
	for i := len(p.held) - 1; i >= 0; i-- {
		if p.held[i].Seq == seq {
			return i
		}
	}
	return -1
}

// ensureVisible scrolls the held window so that held[i] is on screen.
func (p *consumersPane) ensureVisible(m *Model, i int) {
	rows := max(1, p.streamRows(m))
	end := len(p.held) - p.off
	switch {
	case i >= end:
		p.off = len(p.held) - 1 - i
	case i < end-rows:
		p.off = len(p.held) - (i + rows)
	}
	p.off = max(0, min(p.off, len(p.held)-1))
}

// moveSel moves the message selection by delta rows (pausing the stream), or to the first (top) row.
func (p *consumersPane) moveSel(m *Model, delta int, top bool) {
	p.pause(m)
	if len(p.held) == 0 {
		return
	}
	i := p.heldIndex(p.sel)
	if i < 0 {
		i = max(0, len(p.held)-1-p.off)
	}
	i = max(0, min(i+delta, len(p.held)-1))
	if top {
		i = 0
	}
	p.sel = p.held[i].Seq
	p.ensureVisible(m, i)
}

// selectedMsg returns the selected message of the stream.
func (p *consumersPane) selectedMsg() (monitor.Message, bool) {
	if p.sel == 0 {
		return monitor.Message{}, false
	}
	list := p.held
	if p.follow {
		list = p.rows
	}
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Seq == p.sel {
			return list[i], true
		}
	}
	return monitor.Message{}, false
}

// markedSeqs returns the marked messages' seqs, in order.
func (p *consumersPane) markedSeqs() []uint64 {
	out := make([]uint64, 0, len(p.marks))
	for s := range p.marks {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// targets returns what an action applies to: the marked messages still kept (in order), else the selected
// one; what describes them for the status bar.
func (p *consumersPane) targets(m *Model) (msgs []monitor.Message, what string) {
	if len(p.marks) > 0 {
		for _, s := range p.markedSeqs() {
			if msg, ok := m.b.Message(p.stream, s); ok {
				msgs = append(msgs, msg)
			}
		}
		return msgs, "marked"
	}
	if msg, ok := p.selectedMsg(); ok && p.focus {
		return []monitor.Message{msg}, "selected"
	}
	return nil, ""
}

// filtered returns every kept message the current filter matches (all of them without a filter).
func (p *consumersPane) filtered(m *Model) []monitor.Message {
	if p.stream == "" {
		return nil
	}
	r := m.b.Query(p.stream, p.filter, 0)
	if r.Kept == 0 {
		return nil
	}
	return m.b.Query(p.stream, p.filter, r.Kept).Messages
}

// setFilter applies a filter line: a syntax error is returned and the previous filter kept.
func (p *consumersPane) setFilter(m *Model, line string) error {
	f, err := filter.Parse(strings.TrimSpace(line))
	if err != nil {
		return err
	}
	p.filter = f
	p.res = monitor.QueryResult{}
	p.rehold(m)
	if f == nil {
		m.setStatus(levelInfo, "filter cleared")
	} else {
		m.setStatus(levelInfo, "filter: "+f.String())
	}
	return nil
}

func (p *consumersPane) capturing() bool { return p.finOpen }

// input passes a message to the filter input.
func (p *consumersPane) input(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	p.fin, cmd = p.fin.Update(msg)
	return cmd
}

// filterKey handles a key while the filter input is open: enter applies, esc cancels.
func (p *consumersPane) filterKey(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys.Prompt
	switch {
	case key.Matches(msg, k.Cancel):
		p.closeFilter(m)
		return nil
	case key.Matches(msg, k.Submit):
		if err := p.setFilter(m, p.fin.Value()); err != nil {
			p.finErr = err.Error()
			return nil
		}
		p.closeFilter(m)
		return nil
	}
	p.finErr = ""
	return p.input(msg)
}

func (p *consumersPane) openFilter() tea.Cmd {
	p.finOpen, p.finErr = true, ""
	p.fin.SetValue(p.filter.String())
	p.fin.CursorEnd()
	return p.fin.Focus()
}

func (p *consumersPane) closeFilter(m *Model) {
	p.finOpen, p.finErr = false, ""
	p.fin.Blur()
	if p.follow {
		p.pull(m)
	}
}

func (p *consumersPane) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	if p.finOpen {
		return p.filterKey(m, msg)
	}
	if p.insp != nil {
		return p.insp.key(m, msg)
	}
	k := m.keys.Consumers
	rows := p.streamRows(m)
	c := p.selected(m)
	switch {
	case key.Matches(msg, k.Filter):
		if c == nil {
			return nil
		}
		return p.openFilter()
	case key.Matches(msg, k.NewTap):
		topic := ""
		if c != nil {
			topic = c.Topic
		}
		return m.openTapForm(topic)
	case key.Matches(msg, k.StopTap):
		if c == nil {
			return nil
		}
		if !c.AdHoc {
			m.setStatus(levelWarn, clean(c.Name)+" is not a tap started from the console: x stops taps only")
			return nil
		}
		return m.stopTap(c.Name)
	case key.Matches(msg, k.Open):
		if c == nil {
			return nil
		}
		if !p.focus {
			p.focus = true
			if vis := p.visible(rows); len(vis) > 0 {
				p.sel = vis[len(vis)-1].Seq
			}
			return nil
		}
		return p.inspect(m)
	case key.Matches(msg, k.Follow):
		if p.follow {
			p.pause(m)
			m.setStatus(levelInfo, "stream paused")
		} else {
			p.resume(m)
			m.setStatus(levelInfo, "following stream")
		}
		return nil
	case key.Matches(msg, k.ScrollUp):
		if p.focus {
			p.moveSel(m, -max(1, rows-1), false)
			return nil
		}
		p.pause(m)
		p.off = max(0, min(p.off+max(1, rows-1), len(p.held)-rows))
		return nil
	case key.Matches(msg, k.ScrollDown):
		if p.focus {
			p.moveSel(m, max(1, rows-1), false)
			return nil
		}
		if !p.follow {
			p.off = max(0, p.off-max(1, rows-1))
		}
		return nil
	case key.Matches(msg, k.Mark):
		if !p.focus || p.sel == 0 {
			m.setStatus(levelInfo, "enter focuses the stream; space then marks the selected message")
			return nil
		}
		if p.marks[p.sel] {
			delete(p.marks, p.sel)
		} else {
			p.marks[p.sel] = true
		}
		return nil
	case key.Matches(msg, k.Ack):
		return p.ack(m, c, nil)
	case key.Matches(msg, k.Nack):
		return p.nack(m, c, nil)
	case key.Matches(msg, k.Replay):
		if m.refuse("replaying messages") {
			return nil
		}
		msgs, what := p.targets(m)
		if len(msgs) == 0 {
			m.setStatus(levelWarn, "nothing to replay: select a message (enter focuses the stream), mark some with space, or use :replay --filtered")
			return nil
		}
		return m.openReplay(msgs, what, "")
	}
	if p.focus {
		n := m.keys.Nav
		switch {
		case key.Matches(msg, n.Up):
			p.moveSel(m, -1, false)
		case key.Matches(msg, n.Down):
			if !p.follow && p.heldIndex(p.sel) == len(p.held)-1 {
				return nil
			}
			p.moveSel(m, 1, false)
		case key.Matches(msg, n.Top):
			p.moveSel(m, 0, true)
		case key.Matches(msg, n.Bottom):
			p.resume(m)
		}
		return nil
	}
	listH, _ := consumersLayout(m.bodyHeight(), len(m.snap.Consumers))
	if p.cur.move(m, msg, len(m.snap.Consumers), listH-3, consumerID(m)) {
		p.pull(m)
	}
	return nil
}

// settleTargets returns the seqs a or n applies to (the marked ones, else the selected one), or explains in
// the status bar why there are none. only, when set, is the one message to settle (from the inspector).
func (p *consumersPane) settleTargets(m *Model, c *monitor.ConsumerStats, verb string, only *monitor.Message) []uint64 {
	if c == nil {
		return nil
	}
	if m.refuse(verb + "ing messages") {
		return nil
	}
	if !c.ManualAck {
		m.setStatus(levelWarn, clean(c.Name)+" acks automatically: "+verb+" works on manual-ack taps (:consume TOPIC --manual)")
		return nil
	}
	if only != nil {
		return []uint64{only.Seq}
	}
	if len(p.marks) > 0 {
		return p.markedSeqs()
	}
	if p.sel != 0 && p.focus {
		return []uint64{p.sel}
	}
	m.setStatus(levelWarn, "nothing to "+verb+": select a message (enter focuses the stream) or mark some with space")
	return nil
}

// ack acks the marked messages, else the selected one (or only).
func (p *consumersPane) ack(m *Model, c *monitor.ConsumerStats, only *monitor.Message) tea.Cmd {
	seqs := p.settleTargets(m, c, "ack", only)
	if len(seqs) == 0 {
		return nil
	}
	m.setStatus(levelInfo, "acking "+plural(len(seqs), "message")+"…")
	return m.settleCmd("ack", p.stream, seqs, 0, "")
}

// nack opens the nack prompt for the marked messages, else the selected one (or only).
func (p *consumersPane) nack(m *Model, c *monitor.ConsumerStats, only *monitor.Message) tea.Cmd {
	seqs := p.settleTargets(m, c, "nack", only)
	if len(seqs) == 0 {
		return nil
	}
	return m.openNack(p.stream, seqs)
}

// inspect opens the inspector on the selected message, with the filtered stream to walk through.
func (p *consumersPane) inspect(m *Model) tea.Cmd {
	msg, ok := p.selectedMsg()
	if !ok {
		return nil
	}
	var list []monitor.Message
	if p.filter == nil {
		list, _ = m.b.Messages(p.stream, holdMax)
	} else {
		list = m.b.Query(p.stream, p.filter, holdMax).Messages
	}
	p.insp = newInspector(p.stream, list, msg)
	return p.insp.opened(m)
}

func (p *consumersPane) table(m *Model, full bool) table {
	st := m.st
	cs := m.snap.Consumers
	var cols []column
	if full {
		cols = []column{
			{title: "TOPIC", width: 12, flex: 3, cutL: true},
			{title: "SUBSCRIPTION", width: 12, flex: 2, drop: 3},
			{title: "NAME", width: 8, flex: 2, drop: 5},
			{title: "TYPE", width: 10, drop: 8},
			{title: "STATE", width: 12, drop: 7},
			{title: "RATE", width: 7, right: true},
			{title: "TREND", width: 10, flex: 1, drop: 4},
			{title: "RECEIVED", width: 8, right: true, drop: 6},
			{title: "E2E P50", width: 7, right: true, drop: 2},
			{title: "E2E P99", width: 7, right: true, drop: 1},
			{title: "ACK", width: 6, right: true, drop: 9},
		}
	} else {
		cols = []column{
			{title: "TOPIC", width: 10, flex: 2, cutL: true},
			{title: "SUB", width: 8, flex: 1, drop: 3},
			{title: "RATE", width: 7, right: true},
			{title: "TREND", width: 8, flex: 1, drop: 2},
			{title: "P99", width: 6, right: true, drop: 1},
		}
	}
	return table{
		cols:  cols,
		n:     len(cs),
		sel:   p.cur.index(len(cs), consumerID(m)),
		focus: full && !p.focus,
		empty: "no consumers (c starts a tap)",
		row: func(i int, c []cell) {
			cn := &cs[i]
			if full {
				c[0] = txt(st.text, clean(cn.Topic))
				c[1] = txt(st.accent, clean(cn.Subscription))
				c[2] = txt(pick(cn.AdHoc, st.accent, st.text), clean(cn.Name))
				c[3] = txt(st.muted, cn.Type.String())
				c[4] = txt(consumerPaint(st, cn.State), cn.State.String())
				c[5] = txt(st.text, fmtSI(cn.Rate))
				c[6] = spk(cn.Series)
				c[7] = txt(st.text, fmtCount(cn.Received))
				c[8] = txt(st.text, fmtDur(cn.EndToEnd.P50))
				c[9] = txt(st.text, fmtDur(cn.EndToEnd.P99))
				c[10] = pick(cn.ManualAck, txt(st.warn, "manual"), txt(st.muted, "auto"))
				return
			}
			c[0] = txt(st.text, clean(cn.Topic))
			c[1] = txt(st.accent, clean(cn.Subscription))
			c[2] = txt(st.text, fmtSI(cn.Rate))
			c[3] = spk(cn.Series)
			c[4] = txt(st.text, fmtDur(cn.EndToEnd.P99))
		},
	}
}

func (p *consumersPane) view(m *Model, w, h int) string {
	if p.insp != nil {
		if p.selected(m) != nil {
			return p.insp.view(m, w, h)
		}
		p.insp = nil
	}
	st := m.st
	cs := m.snap.Consumers
	listH, streamH := consumersLayout(h, len(cs))
	title := []seg{{"Consumers", st.title}, {" (" + itoa(len(cs)) + ")", st.muted}}
	top := m.box(title, w, listH, !p.focus, m.renderTable(p.table(m, true), w-2, listH-2))
	return top + "\n" + p.streamView(m, w, streamH)
}

// streamTitle builds the stream box's title: follow state, counts (or matches), marks, the manual-ack
// pending count and ack timeout, then which consumer it is.
func (p *consumersPane) streamTitle(m *Model, c *monitor.ConsumerStats, shown int) []seg {
	st := m.st
	title := []seg{{"Stream", st.title}}
	if p.follow {
		title = append(title, seg{"  FOLLOW", st.ok})
	} else {
		title = append(title, seg{"  PAUSED", st.warn})
		if p.off > 0 {
			title = append(title, seg{" ↑" + itoa(p.off), st.warn})
		}
	}
	if p.filter != nil {
		title = append(title, seg{"  " + itoa(p.res.Matches) + " of " + itoa(p.res.Kept) + " match", st.info},
			seg{" /" + clean(p.filter.String()) + "/", st.muted})
	} else {
		title = append(title, seg{"  " + itoa(shown) + " of " + fmtCount(p.total), st.muted})
	}
	if n := len(p.marks); n > 0 {
		title = append(title, seg{"  " + itoa(n) + " marked", st.accent})
	}
	if c.ManualAck {
		title = append(title, seg{"  " + itoa(c.Pending) + " pending", pick(c.Pending > 0, st.warn, st.muted)})
		if c.AckTimeout > 0 {
			title = append(title, seg{" · ack timeout " + fmtDur(c.AckTimeout), st.muted})
		}
	}
	return append(title, seg{"  " + clean(c.Topic) + " · " + clean(c.Subscription) + " · " + clean(c.Name), st.text})
}

func (p *consumersPane) streamView(m *Model, w, h int) string {
	st := m.st
	c := p.selected(m)
	if c == nil {
		return m.box([]seg{{"Stream", st.title}}, w, h, p.focus, []string{m.textLine(w-2, st.muted, "no consumer selected")})
	}
	rows := max(0, h-3-p.inputLines())
	msgs := p.visible(rows)
	now := m.now()
	manual := c.ManualAck
	cols := []column{
		{title: "TIME", width: 12},
		{title: "PART", width: 6, drop: 4},
		{title: "OFFSET", width: 7, right: true},
		{title: "KEY", width: 10, drop: 3},
	}
	if manual {
		// The ack state and deadline matter more than the partition and the size.
		cols[1].drop, cols[3].drop = 6, 4
		cols = append(cols, column{title: "STATE", width: 7}, column{title: "ACK IN", width: 6, right: true})
	}
	cols = append(cols, column{title: "SIZE", width: 7, right: true, drop: pick(manual, 5, 2)}, column{title: "PAYLOAD", width: 12, flex: 4})
	sel := -1
	if p.focus {
		for i := range msgs {
			if msgs[i].Seq == p.sel {
				sel = i
			}
		}
	}
	t := table{
		cols:  cols,
		n:     len(msgs),
		sel:   sel,
		focus: p.focus,
		empty: pick(p.filter != nil, "no message matches the filter", "no messages yet"),
		mark:  func(i int) bool { return p.marks[msgs[i].Seq] },
		row: func(i int, cl []cell) {
			ms := &msgs[i]
			cl[0] = txt(st.muted, ms.ReceivedAt.Format("15:04:05.000"))
			cl[1] = txt(st.muted, partition(c.Topic, ms.Topic))
			cl[2] = txt(pick(ms.Redelivered, st.warn, st.text), strconv.FormatUint(ms.Offset, 10))
			if ms.HasKey {
				cl[3] = txt(st.accent, clean(ms.Key))
			} else {
				cl[3] = txt(st.muted, "-")
			}
			j := 4
			if manual {
				cl[4] = txt(settlePaint(st, ms.State), orDash(ms.State.String()))
				cl[5] = deadlineCell(st, ms, now)
				j = 6
			}
			cl[j] = txt(st.text, fmtBytes(float64(len(ms.Payload))))
			pc := cell{raw: ms.Payload, isRaw: true, p: st.text}
			if p.filter != nil {
				pc.hl, pc.hp = p.filter.Highlights(previewPrefix(ms.Payload, w)), st.highlight
			}
			cl[j+1] = pc
		},
	}
	var body []string
	if p.finOpen {
		body = append(body, p.filterLine(m, w-2))
	}
	body = append(body, m.renderTable(t, w-2, h-2-len(body))...)
	return m.box(p.streamTitle(m, c, len(msgs)), w, h, p.focus, body)
}

// filterLine draws the open filter input, with the last syntax error in red.
func (p *consumersPane) filterLine(m *Model, w int) string {
	st := m.st
	errText := ""
	if p.finErr != "" {
		errText = "  ✗ " + clean(p.finErr)
	}
	// The input takes what its text needs (at least a third of the line), the error the rest.
	iw := max(w/3, min(w-1, textWidth(p.fin.Value())+textWidth(p.fin.Prompt)+3))
	ew := min(textWidth(errText), max(0, w-1-iw))
	p.fin.SetWidth(max(1, w-ew-textWidth(p.fin.Prompt)-3))
	l := " " + padANSI(p.fin.View(), w-1-ew)
	if ew > 0 {
		l += st.err.r(truncate(errText, ew))
	}
	return padANSI(l, w)
}

// previewPrefix is the part of a payload a preview of width w cells can show (escaped bytes take at least
// one cell, a rune at most four bytes): highlights are looked for there only.
func previewPrefix(b []byte, w int) []byte {
	if n := 4*w + 64; len(b) > n {
		return b[:n]
	}
	return b
}

// settlePaint colours a manual-ack state.
func settlePaint(st *styles, s monitor.MessageState) paint {
	switch s {
	case monitor.StatePending:
		return st.warn
	case monitor.StateAcked:
		return st.ok
	case monitor.StateNacked:
		return st.err
	}
	return st.muted
}

// deadlineCell shows the time left before a pending message's ack deadline, red under deadlineWarn.
func deadlineCell(st *styles, ms *monitor.Message, now time.Time) cell {
	if ms.State != monitor.StatePending || ms.AckDeadline.IsZero() {
		return txt(st.muted, "-")
	}
	left := ms.AckDeadline.Sub(now)
	return txt(pick(left < deadlineWarn, st.err, st.text), fmtAge(left))
}

func (p *consumersPane) tile(m *Model, w, h int, focused bool) string {
	st := m.st
	var rate float64
	for i := range m.snap.Consumers {
		rate += m.snap.Consumers[i].Rate
	}
	title := []seg{{"Consumers", st.title}, {" (" + itoa(len(m.snap.Consumers)) + ") ", st.muted}, {fmtRate(rate), st.text}}
	return m.box(title, w, h, focused, m.renderTable(p.table(m, false), w-2, h-2))
}

// esc closes the inspector, else moves the focus from the stream back to the list.
func (p *consumersPane) esc() bool {
	switch {
	case p.insp != nil:
		p.insp = nil
		return true
	case p.focus:
		p.focus = false
		return true
	}
	return false
}

// click selects the consumer or the message under the mouse (a message pauses the stream).
func (p *consumersPane) click(m *Model, _, y int) {
	if p.insp != nil {
		return
	}
	cs := m.snap.Consumers
	listH, _ := consumersLayout(m.bodyHeight(), len(cs))
	if y < listH {
		if i := clickRow(p.cur.index(len(cs), consumerID(m)), len(cs), listH-3, y-2); i >= 0 {
			p.cur.idx, p.cur.id = i, consumerID(m)(i)
			p.focus = false
			p.pull(m)
		}
		return
	}
	if p.selected(m) == nil {
		return
	}
	rows := p.streamRows(m)
	msgs := p.visible(rows)
	dy := y - listH - 2 - p.inputLines()
	if dy < 0 || dy >= len(msgs) {
		return
	}
	seq := msgs[dy].Seq
	p.pause(m)
	p.focus, p.sel = true, seq
	if i := p.heldIndex(seq); i >= 0 {
		p.ensureVisible(m, i)
	}
}

// wheel moves the consumer selection over the list, scrolls the stream over the stream, and the payload
// in the inspector.
func (p *consumersPane) wheel(m *Model, _, y, delta int) {
	if p.insp != nil {
		p.insp.scroll(delta * 3)
		return
	}
	listH, _ := consumersLayout(m.bodyHeight(), len(m.snap.Consumers))
	if y < listH {
		k := tea.KeyPressMsg{Code: tea.KeyDown}
		if delta < 0 {
			k = tea.KeyPressMsg{Code: tea.KeyUp}
		}
		if p.cur.move(m, k, len(m.snap.Consumers), listH-3, consumerID(m)) {
			p.focus = false
			p.pull(m)
		}
		return
	}
	rows := p.streamRows(m)
	if delta > 0 && p.follow {
		return
	}
	p.pause(m)
	p.off = max(0, min(p.off-delta*3, len(p.held)-rows))
}

// partition names a message's partition relative to the consumer's topic: "part-1" for
// "/ns/t-part-1" on "/ns/t", "-" for the topic itself, else the message's whole topic.
func partition(topic, msgTopic string) string {
	if msgTopic == topic || msgTopic == "" {
		return "-"
	}
	if rest, ok := strings.CutPrefix(msgTopic, topic); ok && strings.HasPrefix(rest, "-") {
		return clean(rest[1:])
	}
	return clean(msgTopic)
}

// plural formats a count of things: "1 message", "3 messages".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return itoa(n) + " " + what + "s"
}
