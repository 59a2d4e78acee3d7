package tui

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
)

// This file holds the session's events: every message of the status bar (errors, warnings, and the
// actions the user started and their outcomes, which are its info messages) and every error the backend
// reported on its own (Snapshot.LastError: a connector's, a producer's sends, a refresh), with their times.
// The log keeps the last maxEvents; the events view (e, :events) lists them over the panes, newest last,
// and copies the selected one's text (y); each is also written to Options.EventLog, in a command.
//
// The events view is a modal rather than a pane: it is reachable from every pane without leaving it (as
// the help overlay is), the ten number keys are taken by the panes, and esc brings the user back to
// exactly where the event happened.

// maxEvents is how many events the session keeps; older ones are dropped (the log file has them all).
const maxEvents = 1000

// sameEventWithin is how close in time the backend's error and the status message that reports the same
// failure are: within it, the second is the same event, not another.
const sameEventWithin = 3 * time.Second

// event is one entry of the events view.
type event struct {
	id    uint64 // its number in the session, from 1: the selection follows it as older ones are dropped
	at    time.Time
	level level
	text  string
	n     int  // how many times in a row it happened (the last at at)
	snap  bool // the backend's own error (Snapshot.LastError), not a status message
}

// eventLog is the session's events, bounded, and those not yet written to Options.EventLog.
type eventLog struct {
	list      []event
	next      uint64    // the id of the next event - 1
	lastErrAt time.Time // the time of the backend's last error recorded
	unlogged  []event
	w         eventWriter // the events on their way to Options.EventLog
}

// add records an event: the same text at the same level as the last event counts it again; the backend's
// error and the status message that reports it (the same text, close in time) are one event.
func (l *eventLog) add(ev event) {
	ev.text = strings.TrimSpace(ev.text)
	if ev.text == "" {
		return
	}
	for i := len(l.list) - 1; i >= 0 && i >= len(l.list)-8; i-- {
		p := &l.list[i]
		if p.snap != ev.snap && p.text == ev.text && ev.at.Sub(p.at).Abs() <= sameEventWithin {
			return
		}
	}
	if n := len(l.list); n > 0 && l.list[n-1].text == ev.text && l.list[n-1].level == ev.level && l.list[n-1].snap == ev.snap {
		p := &l.list[n-1]
		p.n++
		p.at = ev.at
		l.unlogged = append(l.unlogged, *p)
		return
	}
	l.next++
	ev.id, ev.n = l.next, 1
	if len(l.list) == maxEvents {
		l.list = append(l.list[:0], l.list[1:]...)
	}
	l.list = append(l.list, ev)
	l.unlogged = append(l.unlogged, ev)
}

// fromSnapshot records the backend's last error when it is newer than the last one recorded.
func (l *eventLog) fromSnapshot(s *monitor.Snapshot) {
	if s.LastError == "" || !s.LastErrorAt.After(l.lastErrAt) {
		return
	}
	l.lastErrAt = s.LastErrorAt
	l.add(event{at: s.LastErrorAt, level: levelError, text: clean(s.LastError), snap: true})
}

// flush hands the events not yet written to the log's writer and returns a command that writes them (nil
// when there are none, or no lg): the log file is written off the update loop. The events are queued here, in
// the order they happened, and each command writes everything queued so far under one lock, so the file
// keeps that order whichever command runs first; Run writes what is left when the program ends.
func (l *eventLog) flush(lg *slog.Logger) tea.Cmd {
	if len(l.unlogged) == 0 {
		return nil
	}
	evs := l.unlogged
	l.unlogged = nil
	if lg == nil {
		return nil
	}
	w := &l.w
	w.mu.Lock()
	w.queue = append(w.queue, evs...)
	w.mu.Unlock()
	return func() tea.Msg { w.write(lg); return nil }
}

// eventWriter queues the events for the log file and writes them in order.
type eventWriter struct {
	mu    sync.Mutex // guards queue
	queue []event
	wmu   sync.Mutex // held while writing: one writer at a time, so batches never interleave
}

// write writes every queued event to lg, in order.
func (w *eventWriter) write(lg *slog.Logger) {
	if lg == nil {
		return
	}
	w.wmu.Lock()
	defer w.wmu.Unlock()
	w.mu.Lock()
	evs := w.queue
	w.queue = nil
	w.mu.Unlock()
	h := lg.Handler()
	for _, ev := range evs {
		lv := [...]slog.Level{levelInfo: slog.LevelInfo, levelWarn: slog.LevelWarn, levelError: slog.LevelError}[ev.level]
		if !h.Enabled(context.Background(), lv) {
			continue
		}
		r := slog.NewRecord(ev.at, lv, ev.text, 0)
		r.AddAttrs(slog.String("event", pick(ev.snap, "backend", "console")))
		if ev.n > 1 {
			r.AddAttrs(slog.Int("times", ev.n))
		}
		_ = h.Handle(context.Background(), r)
	}
}

// eventMark is the mark and paint of an event's level: ✗ error, ! warning, · action.
func eventMark(st *styles, lv level) (string, paint) {
	switch lv {
	case levelError:
		return "✗", st.err
	case levelWarn:
		return "!", st.warn
	}
	return "·", st.muted
}

// eventsView is the events modal: the session's events, newest last, one line each, and the selected
// one's whole text below them.
type eventsView struct {
	log *eventLog
	sel uint64 // the selected event's id; 0: the newest, following new ones
}

var _ modal = (*eventsView)(nil)

// selIndex is the selected event's index in the log (the newest when it follows, or its event was
// dropped), -1 when there are none.
func (v *eventsView) selIndex() int {
	n := len(v.log.list)
	if v.sel == 0 {
		return n - 1
	}
	for i := n - 1; i >= 0; i-- {
		if v.log.list[i].id == v.sel {
			return i
		}
	}
	return n - 1
}

// eventDetailLines is how many lines the selected event's whole text has below the list.
const eventDetailLines = 4

// eventsBoxHeight is the height of the events box in a pane area of height h.
func eventsBoxHeight(h int) int { return min(h, max(8, h-2)) }

// eventListHeight is the height of the events table (its header included) in a box of height bh: the box
// also holds its borders, a rule, the selected event's text, a blank and the keys.
func eventListHeight(bh int) int { return max(2, bh-2-1-eventDetailLines-2) }

func (v *eventsView) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	n, g := e.keys.Nav, e.keys.Global
	i, cnt := v.selIndex(), len(v.log.list)
	page := max(1, eventListHeight(eventsBoxHeight(e.bodyHeight()))-2)
	move := v.moveTo
	switch {
	case matches(msg, g.Close, g.Quit, g.Events):
		e.post(closeModalMsg{only: v})
	case matches(msg, n.Up):
		move(i - 1)
	case matches(msg, n.Down):
		move(i + 1)
	case matches(msg, n.PageUp):
		move(i - page)
	case matches(msg, n.PageDown):
		move(i + page)
	case matches(msg, n.Top):
		move(0)
	case matches(msg, n.Bottom):
		move(cnt - 1)
	case matches(msg, e.keys.Events.Copy):
		if i < 0 {
			e.setStatus(levelWarn, "no events to copy yet")
			return nil
		}
		ev := v.log.list[i]
		return copyText("the event's text", ev.at.Format(time.TimeOnly)+" "+ev.text)
	}
	return nil
}

// moveTo selects the event at index i of the log (clamped); the newest follows new events.
func (v *eventsView) moveTo(i int) {
	cnt := len(v.log.list)
	i = max(0, min(i, cnt-1))
	if cnt == 0 || i == cnt-1 {
		v.sel = 0
		return
	}
	v.sel = v.log.list[i].id
}

// wheel moves the selection by delta events (the mouse wheel; negative: up).
func (v *eventsView) wheel(_ *env, _, _, delta int) { v.moveTo(v.selIndex() + delta) }

func (v *eventsView) input(tea.Msg) tea.Cmd                      { return nil }
func (v *eventsView) sync(*env)                                  {}
func (v *eventsView) restyle(*themes.Theme)                      {}
func (v *eventsView) confirming(*KeyMap, tea.KeyPressMsg) string { return "" }

// view draws the events box over the pane area: a table of time, level and text, the selected event's
// whole text wrapped below it, and the keys.
func (v *eventsView) view(e *env, w, h int) string {
	st := e.st
	bw, bh := min(w, max(MinWidth, w-4)), eventsBoxHeight(h)
	inner := bw - 2
	list := v.log.list
	sel := v.selIndex()
	t := table{
		cols: []column{{title: "TIME", width: 8}, {title: "", width: 1}, {title: "EVENT", width: 20, flex: 1}},
		n:    len(list), sel: sel, focus: true,
		empty: "no events yet: errors, warnings and what you do in this session are listed here",
		row: func(i int, c []cell) {
			ev := list[i]
			mark, p := eventMark(st, ev.level)
			text := ev.text
			if ev.n > 1 {
				text += " (×" + itoa(ev.n) + ")"
			}
			c[0], c[1], c[2] = txt(st.muted, ev.at.Format(time.TimeOnly)), txt(p, mark), txt(pick(ev.level == levelInfo, st.text, p), text)
		},
	}
	lh := eventListHeight(bh)
	body := st.renderTable(t, inner, lh)
	for len(body) < lh {
		body = append(body, blank(inner))
	}
	body = append(body, st.border.r(strings.Repeat(st.glyphs.h, inner)))
	var detail []string
	if sel >= 0 {
		ev := list[sel]
		detail = strings.Split(ansi.Wrap(ev.text, max(8, inner-2), ""), "\n")
		if len(detail) > eventDetailLines {
			detail = append(detail[:eventDetailLines-1], truncate(strings.Join(detail[eventDetailLines-1:], " "), inner-2))
		}
	}
	for i := range eventDetailLines {
		l := ""
		if i < len(detail) {
			l = detail[i]
		}
		body = append(body, st.textLine(inner, st.text, l))
	}
	k := e.keys
	body = append(body, blank(inner), st.hintLine(inner, "↑↓ pgup pgdn", "select", k.Events.Copy.Help().Key, "copy",
		k.Global.Close.Help().Key+"/"+k.Global.Events.Help().Key, "close"))

	title := []seg{{"Events", st.title}, {" · " + itoa(len(list)) + pick(len(list) == maxEvents, " (the last "+fmtInt(maxEvents)+")", ""), st.muted}}
	if sel >= 0 {
		title = append(title, seg{" · " + itoa(sel+1) + " of " + itoa(len(list)), st.muted})
	}
	return st.box(title, bw, bh, true, body)
}
