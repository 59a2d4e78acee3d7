package tui

import (
	"context"
	"errors"
	"slices"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
)

// replayer runs the consumers pane's replays, one at a time: it opens the review of what would be sent (a
// replayModal, on the root's modal stack), follows the running replay's progress and reports its end.
type replayer struct {
	n       int          // replays reviewed (their ids tell stale progress apart)
	running *replayModal // the running replay, if any
}

// replayStartedMsg tells the replayer that the review r started its replay.
type replayStartedMsg struct{ r *replayModal }

// open opens the review of a replay of msgs (what says which they are); topic pre-fills the target.
func (rp *replayer) open(e *env, msgs []monitor.Message, what, topic string) tea.Cmd {
	if rp.running != nil {
		e.setStatus(levelWarn, "a replay is running already")
		return nil
	}
	rp.n++
	e.post(openModalMsg{m: newReplayModal(e.theme, rp.n, msgs, what, topic)})
	return nil
}

// update follows the replays: their start, progress and end.
func (rp *replayer) update(e *env, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case replayStartedMsg:
		rp.running = msg.r
	case replayProgressMsg:
		r := rp.running
		if r == nil || r.id != msg.id {
			return nil
		}
		r.done, r.total = msg.done, msg.total
		return waitReplay(r.prog, r.fin)
	case replayDoneMsg:
		rp.done(e, msg)
	}
	return nil
}

// done closes the replay's modal and reports in the status bar.
func (rp *replayer) done(e *env, msg replayDoneMsg) {
	if r := rp.running; r != nil && r.id == msg.id {
		rp.running = nil
		e.post(closeModalMsg{only: r})
	}
	res := msg.res
	dest := msg.target
	switch {
	case len(res.Topics) == 1:
		dest = res.Topics[0]
	case len(res.Topics) > 1:
		dest = itoa(len(res.Topics)) + " topics"
	case dest == "":
		dest = "their own topics"
	}
	sent := "replayed " + plural(res.Sent, "message") + " (" + fmtBytes(float64(res.Bytes)) + ") to " + dest
	switch {
	case msg.err == nil:
		e.setStatus(levelInfo, sent)
	case errors.Is(msg.err, context.Canceled):
		e.setStatus(levelWarn, "replay cancelled: "+sent+", "+itoa(msg.total-res.Sent)+" not sent")
	default:
		e.setStatus(levelError, sent+", then: "+msg.err.Error()) // it says which message failed and why
	}
}

// replayModal is the review step before a replay (what would be sent, where, editable target topic), then
// its progress. Nothing is sent before the user confirms; esc while it runs cancels the rest.
type replayModal struct {
	id    int
	msgs  []monitor.Message
	what  string // "marked", "selected", "filtered"
	bytes int64
	keys  int // distinct routing keys
	nokey int // messages without a key
	own   string
	from  []string // the messages' distinct topics

	topic   textinput.Model
	editing bool
	err     string

	running     bool
	target      string
	done, total int
	cancel      context.CancelFunc
	prog        chan replayProgressMsg
	fin         chan replayDoneMsg
}

// Messages of a running replay.
type (
	replayProgressMsg struct{ id, done, total int }
	replayDoneMsg     struct {
		id     int
		target string
		total  int
		res    monitor.ReplayResult
		err    error
	}
)

// newReplayModal returns the review (number id) of a replay of msgs; topic pre-fills the target, else the
// messages' own topic when they share one.
func newReplayModal(t *themes.Theme, id int, msgs []monitor.Message, what, topic string) *replayModal {
	r := &replayModal{id: id, msgs: msgs, what: what}
	keys := map[string]bool{}
	for i := range msgs {
		r.bytes += int64(len(msgs[i].Payload))
		if msgs[i].HasKey {
			keys[msgs[i].Key] = true
		} else {
			r.nokey++
		}
		if t := msgs[i].Topic; !slices.Contains(r.from, t) {
			r.from = append(r.from, t)
		}
	}
	r.keys = len(keys)
	if len(r.from) == 1 {
		r.own = r.from[0]
	}
	r.topic = newInput(t, "", "each message's own topic")
	r.topic.CharLimit = 256
	r.topic.SetValue(pick(topic != "", topic, r.own))
	r.topic.CursorEnd()
	return r
}

func (r *replayModal) confirming(k *KeyMap, msg tea.KeyPressMsg) string {
	if r.running {
		return ""
	}
	if matches(msg, k.Prompt.Submit) || !r.editing && msg.String() == "y" {
		return changesReplay
	}
	return ""
}

func (r *replayModal) restyle(t *themes.Theme) { styleInput(&r.topic, t) }

// replayInputWidth is the width of the target's input in a review over a body w cells wide (its label
// takes 13 cells).
func replayInputWidth(w int) int {
	iw := min(w-4, 76) - 2
	return iw - min(13, max(0, iw))
}

func (r *replayModal) sync(e *env) { setInputWidth(&r.topic, replayInputWidth(e.w)) }

func (r *replayModal) input(msg tea.Msg) tea.Cmd {
	if !r.editing {
		return nil
	}
	var cmd tea.Cmd
	r.topic, cmd = r.topic.Update(msg)
	return cmd
}

func (r *replayModal) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	k := e.keys.Prompt
	if r.running {
		if matches(msg, k.Cancel) && r.cancel != nil {
			r.cancel()
		}
		return nil
	}
	if r.editing {
		switch {
		case matches(msg, k.Submit) && r.intoSource() && r.validTarget():
			r.editing = false
			r.topic.Blur()
			r.err = "the messages go back into the topic they came from, to all its subscribers again: y replays, esc cancels"
			return nil
		case matches(msg, k.Submit):
			return r.confirm(e)
		case matches(msg, k.Cancel), msg.String() == "tab":
			r.editing = false
			r.topic.Blur()
			return nil
		}
		r.err = ""
		return r.input(msg)
	}
	switch s := msg.String(); {
	case matches(msg, k.Submit) && r.intoSource():
		// Into the topic the messages came from, its subscribers get them again: only an explicit y does it.
		r.err = "the messages go back into the topic they came from, to all its subscribers again: y replays, esc cancels"
		return nil
	case matches(msg, k.Submit), s == "y":
		return r.confirm(e)
	case matches(msg, k.Cancel), s == "n":
		e.post(closeModalMsg{})
		e.setStatus(levelInfo, "replay cancelled: nothing sent")
		return nil
	case s == "e", s == "tab":
		r.editing = true
		return r.topic.Focus()
	}
	return nil
}

// validTarget reports whether the target typed is empty (each message's own topic) or a valid topic name.
func (r *replayModal) validTarget() bool {
	t := strings.TrimSpace(r.topic.Value())
	return t == "" || checkTopic(t) == ""
}

// intoSource reports whether the target is a topic the messages came from (none typed: each its own).
func (r *replayModal) intoSource() bool {
	t := strings.TrimSpace(r.topic.Value())
	return t == "" || slices.ContainsFunc(r.from, func(f string) bool { return f == t || baseTopic(f) == t })
}

// confirm checks the target and starts the replay.
func (r *replayModal) confirm(e *env) tea.Cmd {
	topic := strings.TrimSpace(r.topic.Value())
	if topic != "" {
		if bad := checkTopic(topic); bad != "" {
			r.err = bad
			return nil
		}
	}
	r.editing = false
	r.topic.Blur()
	return r.start(e, topic)
}

// start runs the replay in a goroutine: its progress callback keeps only the latest progress in a
// one-slot channel, and a command waiting on it is re-issued after each progress message, so the screen
// follows at its own pace however fast the messages go.
func (r *replayModal) start(e *env, topic string) tea.Cmd {
	ctx, cancel := context.WithCancel(e.ctx)
	r.cancel, r.running, r.target, r.total = cancel, true, topic, len(r.msgs)
	r.prog, r.fin = make(chan replayProgressMsg, 1), make(chan replayDoneMsg, 1)
	e.post(replayStartedMsg{r: r})
	e.setStatus(levelInfo, "replaying "+plural(len(r.msgs), "message")+"…")
	b, msgs, id, prog, fin := e.taps, r.msgs, r.id, r.prog, r.fin
	return func() tea.Msg {
		go func() {
			res, err := b.Replay(ctx, msgs, topic, func(done, total int) {
				select {
				case <-prog:
				default:
				}
				select {
				case prog <- replayProgressMsg{id: id, done: done, total: total}:
				default:
				}
			})
			cancel()
			fin <- replayDoneMsg{id: id, target: topic, total: len(msgs), res: res, err: err}
		}()
		return waitReplay(prog, fin)()
	}
}

// waitReplay waits for the next progress or the end of a replay.
func waitReplay(prog chan replayProgressMsg, fin chan replayDoneMsg) tea.Cmd {
	return func() tea.Msg {
		select {
		case p := <-prog:
			return p
		case d := <-fin:
			return d
		}
	}
}

func (r *replayModal) view(e *env, w, h int) string {
	st := e.st
	bw := min(w-4, 76)
	iw := bw - 2
	const lw = 11
	kv := func(label, value string, p paint) string { return st.kv(iw, lw, label, value, p) }
	body := []string{blank(iw)}
	body = append(body, kv("messages", itoa(len(r.msgs))+" ("+r.what+")", st.text))
	body = append(body, kv("bytes", fmtBytes(float64(r.bytes)), st.text))
	keys := itoa(r.keys) + " distinct"
	if r.nokey > 0 {
		keys += " (" + itoa(r.nokey) + " without a key)"
	}
	body = append(body, kv("keys", keys, st.text))
	if n := len(r.msgs); n > 0 {
		first, last := r.msgs[0].PublishTime, r.msgs[n-1].PublishTime
		span := first.Format("15:04:05.000")
		if n > 1 {
			span += " … " + last.Format("15:04:05.000") + " (" + fmtDur(last.Sub(first)) + ")"
		}
		body = append(body, kv("published", span, st.text))
	}
	from := "-"
	if len(r.from) > 0 {
		from = clean(r.from[0])
		if len(r.from) > 1 {
			from += " and " + itoa(len(r.from)-1) + " more"
		}
	}
	body = append(body, kv("from", from, st.text))
	to := newLine(iw).space(1)
	if r.editing {
		to.add(st.key, "› ").addFit(st.key, "to", lw-2, false).space(1)
	} else {
		to.addFit(st.muted, "to", lw, false).space(1)
	}
	if r.running {
		body = append(body, padANSI(to.sb.String()+st.accent.r(clean(pick(r.target != "", r.target, "each message's own topic"))), iw))
	} else {
		body = append(body, padANSI(to.sb.String()+inputLine(r.topic, iw-to.w), iw))
	}
	body = append(body, blank(iw))
	if r.running {
		bar := max(4, min(40, iw-lw-20))
		frac := 0.0
		if r.total > 0 {
			frac = float64(r.done) / float64(r.total)
		}
		full := int(frac * float64(bar))
		body = append(body, newLine(iw).space(1).addFit(st.muted, "replaying", lw, false).space(1).
			add(st.accent, strings.Repeat("█", full)).add(st.muted, strings.Repeat("░", bar-full)).
			add(st.text, "  "+itoa(r.done)+" of "+itoa(r.total)).String())
		body = append(body, blank(iw), st.hintLine(iw, "esc", "cancel the rest (what was sent stays sent)"))
		return st.dialog([]seg{{"Replay", st.title}, {" · running", st.info}}, bw, w, h, body)
	}
	body = append(body,
		st.textLine(iw, st.muted, "Each message is published again with its key, schema and attributes,"),
		st.textLine(iw, st.muted, "plus "+monitor.AttrReplayedFrom+"=<topic>@<offset>. Nothing is sent yet."))
	if r.err != "" {
		body = append(body, st.textLine(iw, st.err, "✗ "+r.err))
	}
	body = append(body, blank(iw))
	switch {
	case r.editing:
		body = append(body, st.hintLine(iw, "enter", "replay", "tab/esc", "done editing"))
	case r.intoSource():
		body = append(body, st.hintLine(iw, "y", "replay into the topic they came from", "e/tab", "edit target", "esc/n", "cancel"))
	default:
		body = append(body, st.hintLine(iw, "enter/y", "replay", "e/tab", "edit target", "esc/n", "cancel"))
	}
	return st.dialog([]seg{{"Replay", st.title}, {" · review", st.muted}}, bw, w, h, body)
}
