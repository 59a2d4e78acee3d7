package tui

import (
	"context"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/monitor/filter"
	"github.com/danube-console/danube-console/themes"
)

// consumersPane lists the cluster's subscriptions from the brokers' metrics (consumers, messages out, lag,
// redelivery rate), each followed by the console's own consumers of it (marked "console": rate, end-to-end
// latency), and shows the live message stream of the selected console consumer; for a subscription of the
// cluster, its figures, and enter offers to tap its topic. It is made of five components: the consumer list (a cursor over the snapshot's
// consumers), the stream (msgStream), its filter input (filterInput), the message inspector, which takes
// the whole pane while open, and the replayer, which reviews and runs replays of the stream's messages.
// It owns the actions on taps and their messages (consumers_actions.go): it starts and numbers taps,
// stops them, deletes subscriptions, acks, nacks and exports.
//
// enter moves the focus from the list to the stream, where the arrows select a message (which pauses the
// stream), space marks messages, enter inspects the selected one, a and n ack and nack (manual-ack taps), P
// replays (the marked, else the selected, else the filtered messages), y and Y copy the selected
// message's payload and topic@offset; / filters the stream through Backend.Query (a filter only hides
// messages). The filter, selection, marks and pause are each stream's own (msgStream.switchTo). c starts
// a tap (an ad-hoc consumer) with a form, x stops the selected one.
type consumersPane struct {
	cur cursor // the consumer list's selection
	// list is what the list shows, derived when the snapshot changes: the cluster's subscriptions (csubs)
	// and the console's own consumers.
	list     []consRow
	csubs    []clusterSub
	subsFrom from[monitor.SubscriptionRate]
	consFrom fromIdent[monitor.ConsumerStats]
	msgStream
	fin  filterInput
	insp *inspector // the open message inspector, if any

	schemas   map[uint64]string // schema subjects by id, as answered by the backend (the inspector shows them)
	schemaReq map[uint64]bool   // schema ids asked for

	wantStream, wantName string // a tap to select as soon as the snapshot has it
	lastTap              int    // the highest n of the "<prefix>-tap-<n>" names started (for the next tap's name)
	// prefix is the start of this console's tap names, "console-<user>-<4 hex>" (Options.TapPrefix);
	// created holds the subscriptions (subKey) the console's taps created, or are creating: only those are
	// offered for deletion when their tap stops.
	prefix  string
	created map[string]bool
	// saved holds the messages exported (exportKey): their marks are not lost when the console quits.
	saved map[string]bool

	replay replayer // the review and the one running replay
}

func newConsumersPane(t *themes.Theme, prefix string) *consumersPane {
	return &consumersPane{msgStream: newMsgStream(), fin: newFilterInput(t), prefix: prefix, created: map[string]bool{}, saved: map[string]bool{},
		schemas: map[uint64]string{}, schemaReq: map[uint64]bool{}}
}

// restyle applies the theme to the filter input.
func (p *consumersPane) restyle(t *themes.Theme) { p.fin.restyle(t) }

func consumerID(e *env) func(i int) string {
	cs := e.snap.Consumers
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
func (p *consumersPane) streamRows(e *env) int {
	_, sh := consumersLayout(e.bodyHeight(), len(p.list))
	return max(0, sh-3-p.inputLines())
}

// inputLines is the number of lines the filter input takes at the top of the stream box.
func (p *consumersPane) inputLines() int { return pick(p.fin.open, 1, 0) }

// selected returns the selected consumer of the console's own, or nil (a subscription of the cluster, or
// nothing, is selected).
func (p *consumersPane) selected(e *env) *monitor.ConsumerStats {
	p.derive(e)
	i := p.cur.index(len(p.list), p.rowID(e))
	if i < 0 || p.list[i].c < 0 {
		return nil
	}
	return &e.snap.Consumers[p.list[i].c]
}

// want asks the pane to select the tap the console started (stream, name), once the snapshot lists it.
func (p *consumersPane) want(stream, name string) { p.wantStream, p.wantName = stream, name }

// selectTap selects the tap the console started, once the snapshot lists it.
func (p *consumersPane) selectTap(e *env) {
	if p.wantStream == "" && p.wantName == "" {
		return
	}
	cs := e.snap.Consumers
	i := slices.IndexFunc(cs, func(c monitor.ConsumerStats) bool { return c.Stream == p.wantStream })
	if i < 0 {
		i = slices.IndexFunc(cs, func(c monitor.ConsumerStats) bool { return c.AdHoc && c.Name == p.wantName })
	}
	if i < 0 {
		return
	}
	p.cur.idx, p.cur.id = i, consumerID(e)(i)
	p.wantStream, p.wantName = "", ""
}

// pull fetches the visible rows of the selected consumer's stream (when following), or refreshes the
// states of the held rows on screen (when paused), and the inspected message's state.
func (p *consumersPane) pull(e *env) {
	c := p.selected(e)
	stream := ""
	if c != nil {
		stream = c.Stream
	}
	if stream != p.stream {
		p.switchTo(stream, func(s string) bool {
			return slices.ContainsFunc(e.snap.Consumers, func(c monitor.ConsumerStats) bool { return c.Stream == s })
		})
		p.insp = nil
	}
	if c == nil {
		return
	}
	if p.insp != nil {
		p.insp.refresh(e)
	}
	p.msgStream.pull(e, c, p.streamRows(e))
}

// sync derives the list's rows, drops an inspector whose consumer went away and lays out the filter input
// and the inspector.
func (p *consumersPane) sync(e *env) {
	p.derive(e)
	c := p.selected(e)
	if c == nil {
		p.insp = nil
	}
	p.fin.sync(e.w - 2)
	if p.insp != nil {
		p.insp.sync(e, c, p.schemas, e.w, e.bodyHeight())
	}
}

// setFilter applies a filter line: a syntax error is returned and the previous filter kept.
func (p *consumersPane) setFilter(e *env, line string) error {
	f, err := filter.Parse(strings.TrimSpace(line))
	if err != nil {
		return err
	}
	p.filter = f
	p.res = monitor.QueryResult{}
	if p.follow {
		p.pull(e)
	} else {
		p.rehold(e, p.streamRows(e))
	}
	if f == nil {
		e.setStatus(levelInfo, "filter cleared")
	} else {
		e.setStatus(levelInfo, "filter: "+f.String())
	}
	return nil
}

// resume follows the newest messages again.
func (p *consumersPane) resume(e *env) {
	p.follow, p.held, p.off = true, nil, 0
	p.pull(e)
}

func (p *consumersPane) capturing() bool { return p.fin.open }

// input passes a message to the filter input.
func (p *consumersPane) input(msg tea.Msg) tea.Cmd { return p.fin.input(msg) }

// filterKey handles a key while the filter input is open: enter applies, esc cancels.
func (p *consumersPane) filterKey(e *env, msg tea.KeyPressMsg) tea.Cmd {
	cmd, submit, cancel := p.fin.key(e.keys, msg)
	switch {
	case submit:
		if err := p.setFilter(e, p.fin.in.Value()); err != nil {
			p.fin.err = err.Error()
			return nil
		}
		p.closeFilter(e)
	case cancel:
		p.closeFilter(e)
	}
	return cmd
}

func (p *consumersPane) closeFilter(e *env) {
	p.fin.close()
	if p.follow {
		p.pull(e)
	}
}

func (p *consumersPane) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	if p.fin.open {
		return p.filterKey(e, msg)
	}
	if p.insp != nil {
		return p.inspectorKey(e, msg)
	}
	k := e.keys.Consumers
	rows := p.streamRows(e)
	c := p.selected(e)
	switch {
	case matches(msg, k.Filter):
		if c == nil {
			return nil
		}
		return p.fin.openWith(p.filter)
	case matches(msg, k.NewTap):
		topic := ""
		if c != nil {
			topic = c.Topic
		} else if s := p.selectedSub(e); s != nil {
			topic = s.topic
		}
		return p.openTapForm(e, topic)
	case matches(msg, k.StopTap):
		if c == nil {
			if s := p.selectedSub(e); s != nil {
				e.setStatus(levelWarn, clean(s.sub)+" is a subscription of the cluster, not a tap of the console: x stops taps only")
			}
			return nil
		}
		if !c.AdHoc {
			e.setStatus(levelWarn, clean(c.Name)+" is not a tap started from the console: x stops taps only")
			return nil
		}
		return p.stopTap(e, c.Name)
	case matches(msg, k.Open):
		if c == nil {
			// A subscription of the cluster: offer to tap its topic (a subscription of the console's own,
			// so that the tap takes no message from the subscription's consumers).
			switch s := p.selectedSub(e); {
			case s == nil:
			case e.readOnly():
				e.setStatus(levelWarn, "read-only: starting taps is disabled")
			default:
				e.post(openTapFormMsg{topic: s.topic})
			}
			return nil
		}
		if !p.focus {
			// The stream's own selection stays when it is on screen (coming back to a stream).
			p.focus = true
			vis := p.visible(rows)
			if len(vis) > 0 && !slices.ContainsFunc(vis, func(m monitor.Message) bool { return m.Seq == p.sel }) {
				p.sel = vis[len(vis)-1].Seq
			}
			return nil
		}
		return p.inspect(e)
	case matches(msg, k.Follow):
		if p.follow {
			p.pause(e)
			e.setStatus(levelInfo, "stream paused")
		} else {
			p.resume(e)
			e.setStatus(levelInfo, "following stream")
		}
		return nil
	case matches(msg, k.ScrollUp):
		if p.focus {
			p.moveSel(e, rows, -max(1, rows-1), false)
			return nil
		}
		p.pause(e)
		p.off = max(0, min(p.off+max(1, rows-1), len(p.held)-rows))
		return nil
	case matches(msg, k.ScrollDown):
		if p.focus {
			p.moveSel(e, rows, max(1, rows-1), false)
			return nil
		}
		switch {
		case p.follow:
			e.setStatus(levelInfo, "the stream follows the newest messages already (pgup scrolls back)")
		case p.off == 0:
			e.setStatus(levelInfo, "at the newest message held (f follows the stream again)")
		default:
			p.off = max(0, p.off-max(1, rows-1))
		}
		return nil
	case matches(msg, k.Mark):
		if !p.focus || p.sel == 0 {
			e.setStatus(levelInfo, "enter focuses the stream; space then marks the selected message")
			return nil
		}
		p.toggleMark()
		return nil
	case matches(msg, k.Ack):
		return p.ack(e, c, nil)
	case matches(msg, k.Nack):
		return p.nack(e, c, nil)
	case matches(msg, k.Replay):
		return p.replayKey(e, c)
	case matches(msg, k.Copy, k.CopyOffset):
		m, ok := p.selectedMsg()
		if !ok || !p.focus || c == nil {
			e.setStatus(levelWarn, "nothing to copy: select a message first (enter focuses the stream, ↑↓ select)")
			return nil
		}
		if matches(msg, k.CopyOffset) {
			return copyText("the offset "+offsetText(&m), offsetText(&m))
		}
		return copyText("the payload of "+offsetText(&m), string(m.Payload))
	}
	if p.focus {
		n := e.keys.Nav
		switch {
		case matches(msg, n.Up):
			p.moveSel(e, rows, -1, false)
		case matches(msg, n.Down):
			if !p.follow && p.heldIndex(p.sel) == len(p.held)-1 {
				return nil
			}
			p.moveSel(e, rows, 1, false)
		case matches(msg, n.Top):
			p.moveSel(e, rows, 0, true)
		case matches(msg, n.Bottom):
			p.resume(e)
		}
		return nil
	}
	listH, _ := consumersLayout(e.bodyHeight(), len(p.list))
	if p.cur.move(e, msg, len(p.list), listH-3, p.rowID(e)) {
		p.pull(e)
	}
	return nil
}

// replayKey opens the review of a replay (P): of the marked messages, else the selected one, else, with a
// filter on, of every kept message the filter shows; or says why there is nothing to replay.
func (p *consumersPane) replayKey(e *env, c *monitor.ConsumerStats) tea.Cmd {
	if c == nil {
		e.setStatus(levelWarn, "nothing to replay: select a tap of the console (a subscription of the cluster has no stream here)")
		return nil
	}
	msgs, what := p.targets(e)
	if len(msgs) == 0 && p.filter != nil {
		if msgs, what = p.filtered(e), "filtered"; len(msgs) == 0 {
			e.setStatus(levelWarn, "nothing to replay: no kept message matches the filter /"+clean(p.filter.String())+"/")
			return nil
		}
	}
	if len(msgs) == 0 {
		e.setStatus(levelWarn, "nothing to replay: select a message (enter focuses the stream), mark some with space, or filter the stream (/)")
		return nil
	}
	return p.replay.open(e, msgs, what, "")
}

// inspectorKey handles a key while the inspector is open: the inspector moves and scrolls itself; acks,
// nacks and the walk through the stream go through the pane.
func (p *consumersPane) inspectorKey(e *env, msg tea.KeyPressMsg) tea.Cmd {
	k := e.keys.Inspector
	in := p.insp
	switch {
	case matches(msg, k.Next, k.Prev):
		d := pick(matches(msg, k.Next), 1, -1)
		if !in.step(d) {
			// At an end of what the inspector holds: re-read the stream, which may have more.
			if !in.rewindow(p.window(e), d) {
				e.setStatus(levelInfo, pick(d > 0, "this is the newest message", "this is the oldest message kept"))
				return nil
			}
		}
		p.sel = in.cur().Seq
		return p.schemaCmd(e, in.cur().SchemaID)
	case matches(msg, k.Ack):
		m := *in.cur()
		return p.ack(e, p.selected(e), &m)
	case matches(msg, k.Nack):
		m := *in.cur()
		return p.nack(e, p.selected(e), &m)
	case matches(msg, k.CopyOffset):
		return copyText("the offset "+offsetText(in.cur()), offsetText(in.cur()))
	case matches(msg, k.Copy):
		js, err := messageJSON(in.cur())
		if err != nil {
			e.setStatus(levelError, "copy: "+err.Error())
			return nil
		}
		return copyText("the message at "+offsetText(in.cur())+" as JSON", js)
	}
	in.key(e.keys, msg)
	return nil
}

// inspect opens the inspector on the selected message, with the filtered stream to walk through.
func (p *consumersPane) inspect(e *env) tea.Cmd {
	msg, ok := p.selectedMsg()
	if !ok {
		return nil
	}
	p.insp = newInspector(p.stream, p.window(e), msg)
	return p.schemaCmd(e, msg.SchemaID)
}

// schemaCmd asks the backend for a schema's subject once per id (0: no schema).
func (p *consumersPane) schemaCmd(e *env, id uint64) tea.Cmd {
	if id == 0 || p.schemaReq[id] {
		return nil
	}
	p.schemaReq[id] = true
	b, ctx := e.admin, e.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
		defer cancel()
		s, err := b.SchemaSubject(ctx, id)
		return schemaMsg{id: id, subject: s, err: err}
	}
}

// schemaDone keeps a schema's subject for the inspector.
func (p *consumersPane) schemaDone(e *env, msg schemaMsg) {
	if msg.err != nil {
		p.schemas[msg.id] = ""
		e.setStatus(levelWarn, msg.err.Error()) // it names the schema
		return
	}
	p.schemas[msg.id] = msg.subject
}

func (p *consumersPane) view(e *env, w, h int) string {
	c := p.selected(e)
	if p.insp != nil && c != nil {
		return p.insp.view(e, c, p.schemas, w, h)
	}
	st := e.st
	listH, streamH := consumersLayout(h, len(p.list))
	top := st.box(p.title(e), w, listH, !p.focus, st.renderTable(p.table(e, true), w-2, listH-2))
	if c == nil {
		if s := p.selectedSub(e); s != nil {
			return top + "\n" + p.subView(e, s, w, streamH)
		}
	}
	input := ""
	if p.fin.open && c != nil {
		input = p.fin.view(st, w-2)
	}
	return top + "\n" + p.msgStream.view(e, c, input, w, streamH)
}

func (p *consumersPane) tile(e *env, w, h int, focused bool) string {
	st := e.st
	return st.box(p.title(e), w, h, focused, st.renderTable(p.table(e, false), w-2, h-2))
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
func (p *consumersPane) click(e *env, _, y int) {
	if p.insp != nil {
		return
	}
	p.derive(e)
	listH, _ := consumersLayout(e.bodyHeight(), len(p.list))
	if y < listH {
		if i := clickRow(p.cur.index(len(p.list), p.rowID(e)), len(p.list), listH-3, y-2); i >= 0 {
			p.cur.idx, p.cur.id = i, p.rowID(e)(i)
			p.focus = false
			p.pull(e)
		}
		return
	}
	if p.selected(e) == nil {
		return
	}
	rows := p.streamRows(e)
	msgs := p.visible(rows)
	dy := y - listH - 2 - p.inputLines()
	if dy < 0 || dy >= len(msgs) {
		return
	}
	seq := msgs[dy].Seq
	p.pause(e)
	p.focus, p.sel = true, seq
	if i := p.heldIndex(seq); i >= 0 {
		p.ensureVisible(rows, i)
	}
}

// wheel moves the consumer selection over the list, scrolls the stream over the stream, and the payload
// in the inspector.
func (p *consumersPane) wheel(e *env, _, y, delta int) {
	if p.insp != nil {
		p.insp.scroll(delta * 3)
		return
	}
	p.derive(e)
	listH, _ := consumersLayout(e.bodyHeight(), len(p.list))
	if y < listH {
		k := tea.KeyPressMsg{Code: tea.KeyDown}
		if delta < 0 {
			k = tea.KeyPressMsg{Code: tea.KeyUp}
		}
		if p.cur.move(e, k, len(p.list), listH-3, p.rowID(e)) {
			p.focus = false
			p.pull(e)
		}
		return
	}
	rows := p.streamRows(e)
	if delta > 0 && p.follow {
		return
	}
	p.pause(e)
	p.off = max(0, min(p.off-delta*3, len(p.held)-rows))
}

// bindings are the pane's keys, the main ones first (the footer shows those that fit): the list's, the
// stream's once it has the focus, or the inspector's while it is open.
func (p *consumersPane) bindings(k *KeyMap) []Binding {
	if p.insp != nil {
		i := k.Inspector
		return []Binding{i.Next, i.Prev, i.View, i.Copy, i.Ack, i.Nack, i.CopyOffset, i.Close}
	}
	c := k.Consumers
	if len(p.list) == 0 { // nothing to open, filter, stop or settle: only a new tap
		return []Binding{c.NewTap}
	}
	if p.focus {
		return []Binding{c.Open, c.Filter, c.Mark, c.Ack, c.Nack, c.Replay, c.Copy, c.Follow, c.CopyOffset, c.ScrollUp, c.ScrollDown,
			c.NewTap, c.StopTap}
	}
	return []Binding{c.NewTap, c.Open, c.Filter, c.StopTap, c.Follow, c.ScrollUp, c.ScrollDown, c.Mark, c.Ack, c.Nack, c.Replay,
		c.Copy, c.CopyOffset}
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
