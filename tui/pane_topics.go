package tui

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
)

// topicsPane lists namespaces and topics from the admin API and looks topics up: enter or l on a topic, or
// L to type any topic name. R refreshes the list (it also refreshes by itself every few seconds).
type topicsPane struct {
	cur cursor

	in     textinput.Model
	inOpen bool

	pending string         // topic being looked up
	last    *lookupDoneMsg // the latest lookup this console ran
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
	p := &topicsPane{in: textinput.New()}
	p.in.Prompt = "topic› "
	p.in.Placeholder = "/default/my-topic"
	p.in.CharLimit = 256
	p.restyle(t)
	return p
}

// restyle applies the theme to the text input.
func (p *topicsPane) restyle(t *themes.Theme) { styleInput(&p.in, t) }

// lookupWidth is the inner width of the lookup panel on a terminal w cells wide.
func lookupWidth(w int) int {
	if w >= 120 {
		return min(60, w*2/5) - 2
	}
	return w - 2
}

// sync gives the lookup input the width it is drawn at, for its scrolling.
func (p *topicsPane) sync(e *env) { p.in.SetWidth(max(1, lookupWidth(e.w)-10)) }

func topicID(e *env) func(i int) string {
	ts := e.snap.Topics
	return func(i int) string { return ts[i].Name }
}

func (p *topicsPane) capturing() bool { return p.inOpen }

func (p *topicsPane) esc() bool {
	if p.inOpen {
		p.closeInput()
		return true
	}
	return false
}

func (p *topicsPane) closeInput() {
	p.inOpen = false
	p.in.Blur()
	p.in.Reset()
}

// input passes a message to the open text input.
func (p *topicsPane) input(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	p.in, cmd = p.in.Update(msg)
	return cmd
}

func (p *topicsPane) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	k := e.keys.Topics
	if p.inOpen {
		switch msg.String() {
		case "esc":
			p.closeInput()
			return nil
		case "enter":
			topic := strings.TrimSpace(p.in.Value())
			p.closeInput()
			if topic == "" {
				return nil
			}
			return p.lookup(e, topic)
		}
		return p.input(msg)
	}
	switch {
	case matches(msg, k.LookupInput):
		p.inOpen = true
		return p.in.Focus()
	case matches(msg, k.Lookup):
		if t := selectedIn(&p.cur, e.snap.Topics, topicID(e)); t != nil {
			return p.lookup(e, t.Name)
		}
		return nil
	case matches(msg, k.Tap):
		if t := selectedIn(&p.cur, e.snap.Topics, topicID(e)); t != nil {
			e.post(openTapFormMsg{topic: t.Name})
			return nil
		}
		e.post(openTapFormMsg{})
		return nil
	case matches(msg, k.Refresh):
		e.setStatus(levelInfo, "refreshing topics…")
		return refreshCmd(e.ctx, e.snaps, true)
	}
	p.cur.move(e, msg, len(e.snap.Topics), e.bodyHeight()-4, topicID(e))
	return nil
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
		e.setStatus(levelError, "lookup "+msg.topic+": "+msg.err.Error())
	}
	e.post(pullMsg{})
}

func (p *topicsPane) table(e *env, full bool) table {
	st := e.st
	ts := e.snap.Topics
	var cols []column
	if full {
		cols = []column{
			{title: "TOPIC", width: 16, flex: 3, cutL: true},
			{title: "DELIVERY", width: 12, drop: 3},
			{title: "PARTS", width: 5, right: true, drop: 4},
			{title: "BROKER", width: 8, flex: 1, drop: 5},
			{title: "SCHEMA", width: 8, flex: 1, drop: 6},
			{title: "SUBSCRIPTIONS", width: 13, flex: 2, drop: 2},
		}
	} else {
		cols = []column{
			{title: "TOPIC", width: 12, flex: 1, cutL: true},
			{title: "DELIVERY", width: 12, drop: 2},
			{title: "SUBS", width: 4, right: true, drop: 1},
		}
	}
	empty := "no topics (R refreshes)"
	if e := e.snap.AdminErr; e != "" {
		empty = "no topics (--admin-url sets the admin API's address): " + clean(e)
	}
	return table{
		cols:  cols,
		n:     len(ts),
		sel:   p.cur.index(len(ts), topicID(e)),
		focus: full,
		empty: empty,
		row: func(i int, c []cell) {
			t := &ts[i]
			del := txt(st.muted, "non-reliable")
			if t.Reliable {
				del = txt(st.ok, "reliable")
			}
			c[0] = txt(st.text, clean(t.Name))
			c[1] = del
			if !full {
				c[2] = txt(st.text, itoa(len(t.Subscriptions)))
				return
			}
			parts := "-"
			if t.Partitions > 0 {
				parts = itoa(t.Partitions)
			}
			c[2] = txt(st.text, parts)
			c[3] = txt(st.muted, clean(t.BrokerID))
			c[4] = txt(st.muted, clean(t.SchemaSubject))
			subs := ""
			if len(t.Subscriptions) > 0 {
				subs = itoa(len(t.Subscriptions)) + ": " + clean(strings.Join(t.Subscriptions, ", "))
			}
			c[5] = txt(st.accent, subs)
		},
	}
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
	now := e.now
	var out []string
	if p.inOpen {
		in := p.in // drawn from a copy: sync sets the input's own width
		in.SetWidth(max(1, w-10))
		out = append(out, " "+padANSI(in.View(), w-1))
	} else {
		out = append(out, newLine(w).space(1).add(st.key, "l").add(st.muted, " look selected up  ").
			add(st.key, "L").add(st.muted, " any topic  ").add(st.key, "R").add(st.muted, " refresh  ").
			add(st.key, "enter").add(st.muted, " tap").String())
	}
	if p.pending != "" {
		out = append(out, e.st.textLine(w, st.info, "looking up "+clean(p.pending)+" …"))
	}
	res, errText, ok := p.shown(e)
	if !ok {
		return append(out, e.st.textLine(w, st.muted, "no lookup yet"))
	}
	const lw = 11
	kv := func(l, v string, vp paint) { out = append(out, e.st.kv(w, lw, l, v, vp)) }
	kv("topic", clean(res.Topic), st.accent)
	rt := res.ResponseType
	if rt == "" {
		rt = "-"
	}
	rp := st.ok
	switch {
	case rt == "failed" || errText != "" || res.Err != "":
		rp = st.err
	case rt == "redirect":
		rp = st.info
	}
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
		when = " · " + ago(now, res.At) + " ago"
	}
	kv("latency", fmtDur(res.Latency)+when, st.text)

	// Earlier lookups, if there is room.
	if len(e.snap.Lookups) > 1 && len(out)+2 < h {
		out = append(out, e.st.textLine(w, st.header, "recent"))
		for _, r := range e.snap.Lookups {
			if len(out) >= h {
				break
			}
			l := newLine(w).space(1).addFit(st.text, clean(r.Topic), max(8, w-28), false).space(1).
				addFit(pick(r.ResponseType == "failed", st.err, st.muted), r.ResponseType, 8, false).space(1).
				addFit(st.text, fmtDur(r.Latency), 6, true).space(1).
				addFit(st.muted, ago(now, r.At), 6, true)
			out = append(out, l.String())
		}
	}
	if len(out) > h {
		out = out[:h]
	}
	return out
}

func (p *topicsPane) view(e *env, w, h int) string {
	st := e.st
	ts := e.snap.Topics
	title := []seg{{"Topics", st.title}, {" (" + itoa(len(ts)) + ")", st.muted}}
	if ns := e.snap.Namespaces; len(ns) > 0 {
		title = append(title, seg{" · namespaces: " + clean(strings.Join(ns, ", ")), st.muted})
	}
	ltitle := []seg{{"Lookup", st.title}}
	if w >= 120 {
		lw := min(60, w*2/5)
		tw := w - lw
		left := e.st.box(title, tw, h, !p.inOpen, e.st.renderTable(p.table(e, true), tw-2, h-2))
		right := e.st.box(ltitle, lw, h, p.inOpen, p.lookupLines(e, lw-2, h-2))
		return joinColumns(left, right)
	}
	lh := min(11, h/2)
	top := e.st.box(title, w, h-lh, !p.inOpen, e.st.renderTable(p.table(e, true), w-2, h-lh-2))
	return top + "\n" + e.st.box(ltitle, w, lh, p.inOpen, p.lookupLines(e, w-2, lh-2))
}

// click selects the topic under the mouse.
func (p *topicsPane) click(e *env, x, y int) {
	h := e.bodyHeight()
	th := h - min(11, h/2)
	if e.w >= 120 {
		th = h
		if x >= e.w-min(60, e.w*2/5) {
			return
		}
	}
	if y < th {
		clickTable(&p.cur, len(e.snap.Topics), topicID(e), th-3, 2, y)
	}
}

func (p *topicsPane) tile(e *env, w, h int, focused bool) string {
	st := e.st
	title := []seg{{"Topics", st.title}, {" (" + itoa(len(e.snap.Topics)) + ")", st.muted},
		{" · " + itoa(len(e.snap.Namespaces)) + " namespaces", st.muted}}
	return e.st.box(title, w, h, focused, e.st.renderTable(p.table(e, false), w-2, h-2))
}

func (p *topicsPane) bindings(k *KeyMap) []Binding {
	t := k.Topics
	return []Binding{t.Lookup, t.LookupInput, t.Refresh, t.Tap}
}
