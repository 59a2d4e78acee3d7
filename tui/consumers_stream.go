package tui

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/monitor/filter"
)

// holdMax is how many messages a paused stream keeps to scroll back through.
const holdMax = 1000

// deadlineWarn is how close to its ack deadline a pending message turns red.
const deadlineWarn = 5 * time.Second

// msgStream is the live message stream of the selected consumer: it follows the newest messages, asking
// the backend only for the rows that fit; when paused (f, or scrolling back) it keeps the rows it had and
// lets the user scroll through them. With the focus, the arrows select a message (which pauses it) and
// space marks messages. A filter (Backend.Query) only hides messages. What the user set on a stream (its
// filter, selection, marks and pause: streamView) belongs to that stream: switching to another stream
// keeps it aside, and switching back restores it.
type msgStream struct {
	stream string // the stream the streamView belongs to
	streamView
	focus bool // the stream, not the consumer list, has the focus

	// kept holds the views of the other streams shown before, by stream, until their consumer goes away.
	kept map[string]streamView
}

// streamView is the state of one stream's view.
type streamView struct {
	follow    bool
	rows      []monitor.Message   // the newest messages, when following
	total     uint64              // messages ever received on the stream
	held      []monitor.Message   // messages kept while paused, oldest first
	off       int                 // rows scrolled back from the end of held
	heldTotal uint64              // the stream's total when held last took the new messages
	res       monitor.QueryResult // the counts of the last Query (when filtered)

	sel   uint64 // the selected message's Seq in the stream (0: none)
	marks map[uint64]bool

	filter *filter.Filter
}

func newMsgStream() msgStream {
	return msgStream{streamView: newStreamView(), kept: map[string]streamView{}}
}

// newStreamView is the view of a stream never shown: following, no filter, selection or marks.
func newStreamView() streamView { return streamView{follow: true, marks: map[uint64]bool{}} }

// switchTo shows another stream ("" for none): the current stream's view is kept aside and stream's
// restored (a fresh one the first time); the focus goes back to the list. live, when not nil, reports the
// streams whose consumers still exist: the views of the others are dropped.
func (s *msgStream) switchTo(stream string, live func(stream string) bool) {
	if stream == s.stream {
		return
	}
	if s.stream != "" {
		s.kept[s.stream] = s.streamView
	}
	v, ok := s.kept[stream]
	if !ok || stream == "" {
		v = newStreamView()
	}
	delete(s.kept, stream)
	s.stream, s.streamView, s.focus = stream, v, false
	for k := range s.kept {
		if live != nil && !live(k) {
			delete(s.kept, k)
		}
	}
}

// fetch returns the newest n messages of the stream that pass the filter, and the total received; with a
// filter it keeps the Query's counts for the title.
func (s *msgStream) fetch(e *env, n int) ([]monitor.Message, uint64) {
	if s.filter == nil {
		return e.taps.Messages(s.stream, n)
	}
	s.res = e.taps.Query(s.stream, s.filter, n)
	return s.res.Messages, s.res.Total
}

// pull fetches the rows rows of consumer c's stream (when following), or refreshes the states of the held
// rows on screen (when paused).
func (s *msgStream) pull(e *env, c *monitor.ConsumerStats, rows int) {
	if !s.follow {
		s.refreshHeld(e, c, rows)
		return
	}
	if rows > 0 && !e.tooSmall() {
		s.rows, s.total = s.fetch(e, rows)
		if s.focus && len(s.rows) > 0 {
			s.sel = s.rows[len(s.rows)-1].Seq
		}
	}
}

// refreshHeld updates the ack states of the held rows on screen (a manual-ack tap's messages change state
// when acked, nacked or redelivered) and, when filtered, the match counts.
func (s *msgStream) refreshHeld(e *env, c *monitor.ConsumerStats, rows int) {
	if s.filter != nil {
		s.res = e.taps.Query(s.stream, s.filter, 0)
		s.total = s.res.Total
	} else {
		_, s.total = e.taps.Messages(s.stream, 0)
	}
	// Pausing stops the scrolling, not the stream: while the held rows leave room on screen, the messages
	// that arrive since fill it below them, and nothing moves (what does not fit waits below the fold).
	if rows > 0 && s.off == 0 && len(s.held) < rows && s.total != s.heldTotal {
		s.heldTotal = s.total
		fresh, _ := s.fetch(e, holdMax)
		if len(s.held) > 0 {
			first := s.held[0].Seq
			i := slices.IndexFunc(fresh, func(x monitor.Message) bool { return x.Seq >= first })
			if i < 0 || fresh[0].Seq > first {
				fresh = nil // the held rows left the ring: keep them as they are
			} else {
				fresh = fresh[i:]
			}
		}
		if len(fresh) > len(s.held) {
			s.held, s.off = fresh, max(0, len(fresh)-rows)
			if s.focus && s.sel == 0 {
				s.sel = s.held[0].Seq // the stream was focused before it had a message to select
			}
		}
	}
	if !c.ManualAck {
		return
	}
	end := max(0, len(s.held)-s.off)
	for i := max(0, end-rows); i < end; i++ {
		if msg, ok := e.taps.Message(s.stream, s.held[i].Seq); ok {
			s.held[i].State, s.held[i].AckDeadline = msg.State, msg.AckDeadline
		}
	}
}

// pause stops following, keeping exactly the rows on screen at the bottom of the held window.
func (s *msgStream) pause(e *env) {
	if !s.follow || s.stream == "" {
		return
	}
	s.follow = false
	if len(s.rows) == 0 {
		s.held, s.off = nil, 0
		return
	}
	last := s.rows[len(s.rows)-1].Seq
	held, _ := s.fetch(e, holdMax)
	s.held, s.off = held, 0
	for i := len(held) - 1; i >= 0; i-- {
		if held[i].Seq == last {
			s.off = len(held) - 1 - i
			return
		}
	}
	// The rows on screen are gone from the ring already: keep them as they were.
	s.held = append([]monitor.Message(nil), s.rows...)
}

// rehold re-reads the held window of a paused stream after the filter changed, keeping the selection when
// it still matches.
func (s *msgStream) rehold(e *env, rows int) {
	s.held, _ = s.fetch(e, holdMax)
	s.off = 0
	if i := s.heldIndex(s.sel); i >= 0 {
		s.ensureVisible(rows, i)
	} else if s.focus && len(s.held) > 0 {
		s.sel = s.held[len(s.held)-1].Seq
	}
}

// visible returns the message rows to draw.
func (s *msgStream) visible(rows int) []monitor.Message {
	if s.follow {
		if len(s.rows) > rows {
			return s.rows[len(s.rows)-rows:]
		}
		return s.rows
	}
	end := max(0, len(s.held)-s.off)
	return s.held[max(0, end-rows):end]
}

// heldIndex returns the index of message seq in the held window, or -1.
func (s *msgStream) heldIndex(seq uint64) int {
	for i := len(s.held) - 1; i >= 0; i-- {
		if s.held[i].Seq == seq {
			return i
		}
	}
	return -1
}

// ensureVisible scrolls the held window (rows high) so that held[i] is on screen.
func (s *msgStream) ensureVisible(rows, i int) {
	rows = max(1, rows)
	end := len(s.held) - s.off
	switch {
	case i >= end:
		s.off = len(s.held) - 1 - i
	case i < end-rows:
		s.off = len(s.held) - (i + rows)
	}
	s.off = max(0, min(s.off, len(s.held)-1))
}

// moveSel moves the message selection by delta rows (pausing the stream), or to the first (top) row.
func (s *msgStream) moveSel(e *env, rows, delta int, top bool) {
	s.pause(e)
	if len(s.held) == 0 {
		return
	}
	i := s.heldIndex(s.sel)
	if i < 0 {
		i = max(0, len(s.held)-1-s.off)
	}
	i = max(0, min(i+delta, len(s.held)-1))
	if top {
		i = 0
	}
	s.sel = s.held[i].Seq
	s.ensureVisible(rows, i)
}

// selectedMsg returns the selected message of the stream.
func (s *msgStream) selectedMsg() (monitor.Message, bool) {
	if s.sel == 0 {
		return monitor.Message{}, false
	}
	list := s.held
	if s.follow {
		list = s.rows
	}
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Seq == s.sel {
			return list[i], true
		}
	}
	return monitor.Message{}, false
}

// markedSeqs returns the marked messages' seqs, in order.
func (s *msgStream) markedSeqs() []uint64 {
	out := make([]uint64, 0, len(s.marks))
	for q := range s.marks {
		out = append(out, q)
	}
	slices.Sort(out)
	return out
}

// toggleMark marks or unmarks the selected message.
func (s *msgStream) toggleMark() {
	if s.marks[s.sel] {
		delete(s.marks, s.sel)
	} else {
		s.marks[s.sel] = true
	}
}

// targets returns what an action applies to: the marked messages still kept (in order), else the selected
// one; what describes them for the status bar.
func (s *msgStream) targets(e *env) (msgs []monitor.Message, what string) {
	if len(s.marks) > 0 {
		for _, q := range s.markedSeqs() {
			if msg, ok := e.taps.Message(s.stream, q); ok {
				msgs = append(msgs, msg)
			}
		}
		return msgs, "marked"
	}
	if msg, ok := s.selectedMsg(); ok && s.focus {
		return []monitor.Message{msg}, "selected"
	}
	return nil, ""
}

// filtered returns every kept message the current filter matches (all of them without a filter).
func (s *msgStream) filtered(e *env) []monitor.Message {
	if s.stream == "" {
		return nil
	}
	r := e.taps.Query(s.stream, s.filter, 0)
	if r.Kept == 0 {
		return nil
	}
	return e.taps.Query(s.stream, s.filter, r.Kept).Messages
}

// window returns the messages of the stream the inspector walks through: the kept ones that pass the filter.
func (s *msgStream) window(e *env) []monitor.Message {
	if s.filter == nil {
		list, _ := e.taps.Messages(s.stream, holdMax)
		return list
	}
	return e.taps.Query(s.stream, s.filter, holdMax).Messages
}

// title builds the stream box's title for a box w cells wide: follow state, counts (or matches), marks, the
// manual-ack pending count and ack timeout, then which consumer it is, whose names are cut in the middle
// (the consumer's first) when the title would not fit: their ends tell the console's taps apart.
func (s *msgStream) title(st *styles, c *monitor.ConsumerStats, shown, w int) []seg {
	title := []seg{{"Stream", st.title}}
	if s.follow {
		title = append(title, seg{"  FOLLOW", st.ok})
	} else {
		title = append(title, seg{"  PAUSED", st.warn})
		if s.off > 0 {
			title = append(title, seg{" ↑" + itoa(s.off), st.warn})
		}
	}
	if s.filter != nil {
		title = append(title, seg{"  " + itoa(s.res.Matches) + " of " + itoa(s.res.Kept) + " match", st.info},
			seg{" /" + clean(s.filter.String()) + "/", st.muted})
	} else {
		title = append(title, seg{"  " + itoa(shown) + " of " + fmtCount(s.total), st.muted})
	}
	if n := len(s.marks); n > 0 {
		title = append(title, seg{"  " + itoa(n) + " marked", st.accent})
	}
	if c.ManualAck {
		title = append(title, seg{"  " + itoa(c.Pending) + " pending", pick(c.Pending > 0, st.warn, st.muted)})
		if c.AckTimeout > 0 {
			title = append(title, seg{" · ack timeout " + fmtDur(c.AckTimeout), st.muted})
		}
	}
	room := w - 6 // the corners, the line before the title, and the spaces around it
	for _, t := range title {
		room -= textWidth(t.s)
	}
	whole := []string{clean(c.Topic), clean(c.Subscription), clean(c.Name)}
	names := slices.Clone(whole)
	over := textWidth("  "+strings.Join(names, " · ")) - room
	for _, i := range []int{2, 0, 1} { // the consumer's name first, then the topic, then the subscription
		if over <= 0 {
			break
		}
		n := textWidth(names[i])
		names[i] = cutMiddle(names[i], max(min(n, pick(i == 2, keyMin, 8)), n-over))
		over -= n - textWidth(names[i])
	}
	if over > 0 {
		names = whole // no room even so: the box cuts the end, as for any title
	}
	title = append(title, seg{"  " + strings.Join(names, " · "), st.text})
	if c.Redelivery.Count > 0 {
		// Apart from the end-to-end latency, which is to the first delivery.
		title = append(title, seg{"  redelivered after " + fmtDur(c.Redelivery.P99) + " p99", st.warn})
	}
	return title
}

// view draws the stream of consumer c (nil: none selected) in a w×h box; input, when not empty, is the
// open filter input's line, drawn above the rows.
func (s *msgStream) view(e *env, c *monitor.ConsumerStats, input string, w, h int) string {
	st := e.st
	if c == nil {
		return st.box([]seg{{"Stream", st.title}}, w, h, s.focus, []string{st.textLine(w-2, st.muted, "no consumer selected")})
	}
	rows := max(0, h-3-pick(input != "", 1, 0))
	msgs := s.visible(rows)
	now := e.now
	manual := c.ManualAck
	cols := []column{
		{title: "TIME", width: 12, key: true},
		{title: "PART", width: 6, drop: 4},
		{title: "OFFSET", width: 7, right: true, key: true},
		{title: "KEY", width: 10, drop: 3},
	}
	if manual {
		// The ack state and deadline matter more than the partition and the size.
		cols[1].drop, cols[3].drop = 6, 4
		cols = append(cols, column{title: "STATE", width: 7}, column{title: "ACK IN", width: 6, right: true})
	}
	cols = append(cols, column{title: "SIZE", width: 7, right: true, drop: pick(manual, 5, 2)}, column{title: "PAYLOAD", width: 12, flex: 4})
	sel := -1
	if s.focus {
		for i := range msgs {
			if msgs[i].Seq == s.sel {
				sel = i
			}
		}
	}
	t := table{
		cols:  cols,
		n:     len(msgs),
		sel:   sel,
		focus: s.focus,
		empty: pick(s.filter != nil, "no message matches the filter", "no messages yet"),
		mark:  func(i int) bool { return s.marks[msgs[i].Seq] },
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
			if s.filter != nil {
				pc.hl, pc.hp = s.filter.Highlights(previewPrefix(ms.Payload, w)), st.highlight
			}
			cl[j+1] = pc
		},
	}
	var body []string
	if input != "" {
		body = append(body, input)
	}
	body = append(body, st.renderTable(t, w-2, h-2-len(body))...)
	return st.box(s.title(st, c, len(msgs), w), w, h, s.focus, body)
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
