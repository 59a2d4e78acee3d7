package tui

import (
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
)

// inspector shows one message of a stream in full, over the whole consumers pane: where it comes from
// (topic, offset, producer, broker), its times, key, schema (with the subject, asked of the backend once
// per id), attributes, ack state and deadline for manual-ack taps, and its payload as coloured JSON, text
// or a hex dump (v cycles the views that apply) in a scrolling viewport. n and p (or ] and [) walk through
// the stream without leaving; y copies the message as JSON, Y its topic and offset; esc closes it.
type inspector struct {
	stream string
	msgs   []monitor.Message // the stream (as filtered) when opened, oldest first
	i      int
	pv     payloadView
	views  []payloadView

	vp      viewport.Model
	content string // what the viewport holds: seq, view, width and theme
}

// newInspector opens on msg among msgs (msg is added when the list lacks it).
func newInspector(stream string, msgs []monitor.Message, msg monitor.Message) *inspector {
	in := &inspector{stream: stream, msgs: msgs, vp: viewport.New()}
	in.vp.MouseWheelEnabled = false
	in.i = slices.IndexFunc(msgs, func(x monitor.Message) bool { return x.Seq == msg.Seq })
	if in.i < 0 {
		in.msgs = []monitor.Message{msg}
		in.i = 0
	}
	in.msgs[in.i] = msg
	in.choose()
	return in
}

// cur returns the message shown.
func (in *inspector) cur() *monitor.Message { return &in.msgs[in.i] }

// choose picks the best view of the current message.
func (in *inspector) choose() {
	in.views = payloadViews(in.cur().Payload)
	in.pv = in.views[0]
	in.content = ""
}

// refresh re-reads the current message's state (acks change it) from the backend.
func (in *inspector) refresh(e *env) {
	if msg, ok := e.taps.Message(in.stream, in.cur().Seq); ok {
		c := in.cur()
		c.State, c.AckDeadline, c.Redelivered = msg.State, msg.AckDeadline, msg.Redelivered
	}
}

// step moves to the next (+1) or previous (-1) message it holds; false at an end.
func (in *inspector) step(d int) bool {
	j := in.i + d
	if j < 0 || j >= len(in.msgs) {
		return false
	}
	in.i = j
	in.choose()
	return true
}

// rewindow takes a fresh window of the stream (at an end of the one it holds) and steps in it; false when
// the current message is still at that end.
func (in *inspector) rewindow(list []monitor.Message, d int) bool {
	seq := in.cur().Seq
	if k := slices.IndexFunc(list, func(x monitor.Message) bool { return x.Seq == seq }); k >= 0 {
		in.msgs, in.i = list, k
	}
	return in.step(d)
}

// scroll moves the payload by n lines.
func (in *inspector) scroll(n int) {
	if n < 0 {
		in.vp.ScrollUp(-n)
	} else {
		in.vp.ScrollDown(n)
	}
}

// key scrolls the payload and cycles its views; the pane handles the other inspector keys.
func (in *inspector) key(k *KeyMap, msg tea.KeyPressMsg) {
	n := k.Nav
	switch {
	case matches(msg, k.Inspector.View):
		i := slices.Index(in.views, in.pv)
		in.pv = in.views[(i+1)%len(in.views)]
		in.content = ""
	case matches(msg, n.Up):
		in.vp.ScrollUp(1)
	case matches(msg, n.Down):
		in.vp.ScrollDown(1)
	case matches(msg, n.PageUp):
		in.vp.PageUp()
	case matches(msg, n.PageDown):
		in.vp.PageDown()
	case matches(msg, n.Top):
		in.vp.GotoTop()
	case matches(msg, n.Bottom):
		in.vp.GotoBottom()
	}
}

// metaLines describes the message in w cells: two columns when wide, compact lines when narrow.
func (in *inspector) metaLines(e *env, c *monitor.ConsumerStats, schemas map[uint64]string, w int) []string {
	st := e.st
	ms := in.cur()
	now := e.now
	const lw = 11
	published := "-"
	if !ms.PublishTime.IsZero() {
		published = ms.PublishTime.Format("2006-01-02 15:04:05.000") + " (" + ago(now, ms.PublishTime) + " ago)"
	}
	received := "-"
	if !ms.ReceivedAt.IsZero() {
		received = ms.ReceivedAt.Format("15:04:05.000")
		if !ms.PublishTime.IsZero() {
			received += " (+" + fmtDur(ms.ReceivedAt.Sub(ms.PublishTime)) + ")"
		}
	}
	keyText, keyP := "(none)", st.muted
	if ms.HasKey {
		keyText, keyP = clean(ms.Key), st.accent
	}
	schema := "-"
	if ms.SchemaID != 0 {
		schema = "id " + strconv.FormatUint(ms.SchemaID, 10) + " v" + strconv.FormatUint(uint64(ms.SchemaVersion), 10)
		if subj, ok := schemas[ms.SchemaID]; ok {
			schema += " · " + pick(subj != "", clean(subj), "subject unknown")
		} else {
			schema += " · …"
		}
	}
	state, stateP := "", st.text
	if c != nil && c.ManualAck || ms.State != monitor.StateNone {
		state, stateP = orDash(ms.State.String()), settlePaint(st, ms.State)
		if ms.State == monitor.StatePending && !ms.AckDeadline.IsZero() {
			left := ms.AckDeadline.Sub(now)
			state += " · redelivered in " + fmtAge(left) + " (ack deadline " + ms.AckDeadline.Format("15:04:05") + ")"
			if left < deadlineWarn {
				stateP = st.err
			}
		}
	}
	redeliv := pick(ms.Redelivered, "yes", "no")
	producer := clean(orDash(ms.ProducerName)) + " (id " + strconv.FormatUint(ms.ProducerID, 10) + ")"
	where := clean(ms.Topic) + " @ " + strconv.FormatUint(ms.Offset, 10)

	var out []string
	if w >= 100 {
		cw := (w - 1) / 2
		row := func(l1, v1 string, p1 paint, l2, v2 string, p2 paint) {
			a := e.st.kv(cw, lw, l1, v1, p1)
			b := ""
			if l2 != "" {
				b = e.st.kv(w-cw, lw+1, l2, v2, p2)
			}
			out = append(out, padANSI(a+b, w))
		}
		row("topic", where, st.accent, "consumer", clean(ms.Consumer), st.text)
		row("seq", strconv.FormatUint(ms.Seq, 10), st.text, "subscription", clean(ms.Subscription), st.text)
		row("producer", producer, st.text, "key", keyText, keyP)
		row("broker", clean(orDash(ms.BrokerAddr)), st.text, "schema", schema, st.text)
		row("published", published, st.text, "redelivered", redeliv, pick(ms.Redelivered, st.warn, st.text))
		if state != "" {
			row("received", received, st.text, "state", state, stateP)
		} else {
			row("received", received, st.text, "", "", st.text)
		}
	} else {
		kv := func(l, v string, p paint) { out = append(out, e.st.kv(w, lw, l, v, p)) }
		kv("topic", where+" · seq "+strconv.FormatUint(ms.Seq, 10), st.accent)
		kv("producer", producer+" via "+clean(orDash(ms.BrokerAddr)), st.text)
		kv("published", published, st.text)
		kv("received", received+" by "+clean(ms.Consumer)+" on "+clean(ms.Subscription), st.text)
		out = append(out, newLine(w).space(1).addFit(st.muted, "key", lw, false).space(1).add(keyP, keyText).
			add(st.muted, " · redelivered ").add(pick(ms.Redelivered, st.warn, st.text), redeliv).String())
		kv("schema", schema, st.text)
		if state != "" {
			kv("state", state, stateP)
		}
	}
	// Attributes, sorted, on at most three lines.
	names := make([]string, 0, len(ms.Attributes))
	for n := range ms.Attributes {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		out = append(out, e.st.kv(w, lw, "attributes", "-", st.muted))
		return out
	}
	l := newLine(w).space(1).addFit(st.muted, "attributes", lw, false).space(1)
	lines := 0
	for i, n := range names {
		a := clean(n) + "=" + clean(ms.Attributes[n])
		if l.room() < textWidth(a)+2 && l.w > lw+2 {
			if lines == 2 {
				l.add(st.muted, "… +"+itoa(len(names)-i)+" more")
				break
			}
			out = append(out, l.String())
			lines++
			l = newLine(w).space(lw + 2)
		}
		l.add(st.accent, clean(n)).add(st.muted, "=").add(st.text, clean(ms.Attributes[n])).space(2)
	}
	return append(out, l.String())
}

// layout returns the message's lines above the payload and the payload's height, in a w×h box.
func (in *inspector) layout(e *env, c *monitor.ConsumerStats, schemas map[uint64]string, w, h int) (meta []string, ph int) {
	meta = in.metaLines(e, c, schemas, w-2)
	ph = max(1, h-2-len(meta)-2)
	if h-2 < len(meta)+3 {
		// Too short for everything: the payload keeps at least a few lines.
		meta = meta[:max(0, min(len(meta), h-2-5))]
		ph = max(1, h-2-len(meta)-2)
	}
	return meta, ph
}

// sync sizes the payload's viewport for a w×h box and fills it when the message, its view, the width or
// the theme changed (a new message or view scrolls back to the top).
func (in *inspector) sync(e *env, c *monitor.ConsumerStats, schemas map[uint64]string, w, h int) {
	ms := in.cur()
	iw := w - 2
	_, ph := in.layout(e, c, schemas, w, h)
	key := strconv.FormatUint(ms.Seq, 10) + "|" + in.pv.String() + "|" + itoa(iw) + "|" + e.theme.Name
	in.vp.SetWidth(iw)
	in.vp.SetHeight(ph)
	if key != in.content {
		reset := !strings.HasPrefix(in.content, strconv.FormatUint(ms.Seq, 10)+"|"+in.pv.String()+"|")
		in.content = key
		in.vp.SetContentLines(e.st.payloadLines(ms.Payload, in.pv, iw-1))
		if reset {
			in.vp.GotoTop()
		}
	}
}

// view draws the inspector of consumer c's message in a w×h box. It is pure: sync sized and filled the
// viewport.
func (in *inspector) view(e *env, c *monitor.ConsumerStats, schemas map[uint64]string, w, h int) string {
	st := e.st
	ms := in.cur()
	iw := w - 2
	meta, ph := in.layout(e, c, schemas, w, h)

	// The payload's header: view, size, other views, scroll position.
	hl := newLine(iw).add(st.border, "─ ").add(st.title, "payload").add(st.muted, " · ").add(st.accent, in.pv.String()).
		add(st.muted, " · "+fmtBytes(float64(len(ms.Payload))))
	if len(in.views) > 1 {
		var others []string
		for _, v := range in.views {
			if v != in.pv {
				others = append(others, v.String())
			}
		}
		hl.add(st.muted, " · ").add(st.key, "v").add(st.muted, " "+strings.Join(others, "/"))
	}
	if total := in.vp.TotalLineCount(); total > ph {
		hl.add(st.muted, " · lines "+itoa(in.vp.YOffset()+1)+"-"+itoa(min(total, in.vp.YOffset()+ph))+" of "+itoa(total))
	}
	hl.space(1).add(st.border, strings.Repeat("─", max(0, hl.room())))

	body := append([]string(nil), meta...)
	body = append(body, hl.String())
	for _, l := range strings.Split(in.vp.View(), "\n") {
		body = append(body, " "+padANSI(l, iw-1))
	}
	for len(body) < h-3 {
		body = append(body, blank(iw))
	}
	body = body[:max(0, h-3)]
	k := e.keys.Inspector
	bs := []Binding{k.Next, k.Prev, k.View, k.Copy, k.CopyOffset}
	if c != nil && c.ManualAck {
		bs = append(bs, k.Ack, k.Nack)
	}
	var hints []string
	for _, b := range bs {
		hints = append(hints, e.offer(b, b.Help().Key, b.Help().Desc)...)
	}
	n := e.keys.Nav
	hints = append(hints, n.Up.Help().Key+" "+n.Down.Help().Key+" "+n.PageUp.Help().Key+" "+n.PageDown.Help().Key, "scroll",
		k.Close.Help().Key, k.Close.Help().Desc)
	body = append(body, e.st.hintLine(iw, hints...))

	// Named by its offset, as users know messages (the console's sequence number is only the "seq" field).
	title := []seg{{"Message", st.title}, {" @ offset " + strconv.FormatUint(ms.Offset, 10), st.accent},
		{"  " + itoa(in.i+1) + " of " + itoa(len(in.msgs)), st.muted}}
	if c != nil {
		title = append(title, seg{"  " + clean(c.Topic) + " · " + clean(c.Subscription) + " · " + clean(c.Name), st.text})
	}
	return e.st.box(title, w, h, true, body)
}
