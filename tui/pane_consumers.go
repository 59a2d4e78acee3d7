package tui

import (
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
)

// holdMax is how many messages a paused stream keeps to scroll back through.
const holdMax = 1000

// consumersPane lists the consumers (rate, end-to-end latency) and shows the live message stream of the
// selected one. The stream follows the newest messages, asking the backend only for the rows that fit; when
// paused (f, or scrolling back) it keeps the rows it had and lets the user scroll through them.
type consumersPane struct {
	cur cursor

	stream string // the stream rows/held belong to
	follow bool
	rows   []monitor.Message // the newest messages, when following
	total  uint64            // messages ever received on the stream
	held   []monitor.Message // messages kept while paused, oldest first
	off    int               // rows scrolled back from the end of held
}

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
	return max(0, sh-3)
}

// selected returns the selected consumer, or nil.
func (p *consumersPane) selected(m *Model) *monitor.ConsumerStats {
	cs := m.snap.Consumers
	i := p.cur.index(len(cs), consumerID(m))
	if i < 0 {
		return nil
	}
	return &cs[i]
}

// pull fetches the visible rows of the selected stream (when following).
func (p *consumersPane) pull(m *Model) {
	c := p.selected(m)
	if c == nil {
		p.stream, p.rows, p.held, p.total, p.off, p.follow = "", nil, nil, 0, 0, true
		return
	}
	if c.Stream != p.stream {
		p.stream, p.rows, p.held, p.total, p.off, p.follow = c.Stream, nil, nil, 0, 0, true
	}
	if !p.follow {
		return
	}
	if n := p.streamRows(m); n > 0 && !m.tooSmall() {
		p.rows, p.total = m.b.Messages(c.Stream, n)
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
	held, _ := m.b.Messages(p.stream, holdMax)
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

func (p *consumersPane) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys.Consumers
	rows := p.streamRows(m)
	switch {
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
		p.pause(m)
		p.off = max(0, min(p.off+max(1, rows-1), len(p.held)-rows))
		return nil
	case key.Matches(msg, k.ScrollDown):
		if !p.follow {
			p.off = max(0, p.off-max(1, rows-1))
		}
		return nil
	}
	listH, _ := consumersLayout(m.bodyHeight(), len(m.snap.Consumers))
	if p.cur.move(m, msg, len(m.snap.Consumers), listH-3, consumerID(m)) {
		p.pull(m)
	}
	return nil
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
		focus: full,
		empty: "no consumers",
		row: func(i int, c []cell) {
			cn := &cs[i]
			if full {
				c[0] = txt(st.text, clean(cn.Topic))
				c[1] = txt(st.accent, clean(cn.Subscription))
				c[2] = txt(st.text, clean(cn.Name))
				c[3] = txt(st.muted, cn.Type)
				c[4] = txt(stateColor(st, cn.State), cn.State)
				c[5] = txt(st.text, fmtSI(cn.Rate))
				c[6] = spk(cn.Series)
				c[7] = txt(st.text, fmtCount(cn.Received))
				c[8] = txt(st.text, fmtDur(cn.EndToEnd.P50))
				c[9] = txt(st.text, fmtDur(cn.EndToEnd.P99))
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
	st := m.st
	cs := m.snap.Consumers
	listH, streamH := consumersLayout(h, len(cs))
	title := []seg{{"Consumers", st.title}, {" (" + itoa(len(cs)) + ")", st.muted}}
	top := m.box(title, w, listH, false, m.renderTable(p.table(m, true), w-2, listH-2))
	return top + "\n" + p.streamView(m, w, streamH)
}

func (p *consumersPane) streamView(m *Model, w, h int) string {
	st := m.st
	c := p.selected(m)
	title := []seg{{"Stream", st.title}}
	if c == nil {
		return m.box(title, w, h, true, []string{m.textLine(w-2, st.muted, "no consumer selected")})
	}
	rows := max(0, h-3)
	msgs := p.visible(rows)
	title = append(title, seg{" " + clean(c.Topic) + " · " + clean(c.Subscription) + " · " + clean(c.Name), st.text})
	if p.follow {
		title = append(title, seg{"  FOLLOW", st.ok})
	} else {
		title = append(title, seg{"  PAUSED", st.warn})
		if p.off > 0 {
			title = append(title, seg{" ↑" + itoa(p.off), st.warn})
		}
	}
	title = append(title, seg{"  " + itoa(len(msgs)) + " of " + fmtCount(p.total), st.muted})
	t := table{
		cols: []column{
			{title: "TIME", width: 12},
			{title: "PART", width: 6, drop: 4},
			{title: "OFFSET", width: 7, right: true},
			{title: "KEY", width: 10, drop: 3},
			{title: "SIZE", width: 7, right: true, drop: 2},
			{title: "PAYLOAD", width: 12, flex: 4},
		},
		n:     len(msgs),
		sel:   -1,
		empty: "no messages yet",
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
			cl[4] = txt(st.text, fmtBytes(float64(len(ms.Payload))))
			cl[5] = cell{raw: ms.Payload, isRaw: true, p: st.text}
		},
	}
	return m.box(title, w, h, true, m.renderTable(t, w-2, h-2))
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

func (p *consumersPane) capturing() bool { return false }
func (p *consumersPane) esc() bool       { return false }

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
