package tui

import (
	"context"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
)

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
	if r.editing {
		body = append(body, st.hintLine(iw, "enter", "replay", "tab/esc", "done editing"))
	} else {
		body = append(body, st.hintLine(iw, "enter/y", "replay", "e/tab", "edit target", "esc/n", "cancel"))
	}
	return st.dialog([]seg{{"Replay", st.title}, {" · review", st.muted}}, bw, w, h, body)
}
