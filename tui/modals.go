package tui

import (
	"context"
	"errors"
	"slices"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
)

// This file holds the root's modal stack: opening the tap form, the nack prompt and the replay review
// (components in modal.go and replay.go), and following the one replay that may run.

// openTapForm opens the tap form on a topic (may be empty).
func (m *Model) openTapForm(topic string) tea.Cmd {
	n := m.nextTap()
	f := &tapForm{typ: 1, name: "tap-" + itoa(n)}
	f.topic = newInput(m.theme, "", "/namespace/topic")
	f.topic.SetValue(topic)
	f.topic.CursorEnd()
	f.sub = newInput(m.theme, "", "console-"+itoa(n))
	f.sub.SetValue("console-" + itoa(n))
	f.sub.CursorEnd()
	if topic != "" {
		f.focus = 1
	}
	m.modal = f
	return f.focusField()
}

// openNack opens the nack prompt for messages of a stream.
func (m *Model) openNack(stream string, seqs []uint64) tea.Cmd {
	p := &nackPrompt{stream: stream, seqs: seqs}
	p.delay = newInput(m.theme, "", "0s")
	p.delay.CharLimit = 16
	p.reason = newInput(m.theme, "", "optional")
	p.reason.CharLimit = 256
	m.modal = p
	return p.focusField()
}

// openReplay opens the review of a replay of msgs (what says which they are); topic pre-fills the target.
func (m *Model) openReplay(msgs []monitor.Message, what, topic string) tea.Cmd {
	if m.replaying != nil {
		m.setStatus(levelWarn, "a replay is running already")
		return nil
	}
	m.replays++
	r := &replayModal{id: m.replays, msgs: msgs, what: what}
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
	r.topic = newInput(m.theme, "", "each message's own topic")
	r.topic.CharLimit = 256
	r.topic.SetValue(pick(topic != "", topic, r.own))
	r.topic.CursorEnd()
	m.modal = r
	return nil
}

// replayProgress shows a replay's progress and waits for the next.
func (m *Model) replayProgress(msg replayProgressMsg) tea.Cmd {
	r := m.replaying
	if r == nil || r.id != msg.id {
		return nil
	}
	r.done, r.total = msg.done, msg.total
	return waitReplay(r.prog, r.fin)
}

// replayDone closes the replay's modal and reports in the status bar.
func (m *Model) replayDone(msg replayDoneMsg) {
	if r := m.replaying; r != nil && r.id == msg.id {
		m.replaying = nil
		if m.modal == modal(r) {
			m.modal = nil
		}
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
		m.setStatus(levelInfo, sent)
	case errors.Is(msg.err, context.Canceled):
		m.setStatus(levelWarn, "replay cancelled: "+sent+", "+itoa(msg.total-res.Sent)+" not sent")
	default:
		m.setStatus(levelError, "replay: "+sent+", then: "+msg.err.Error())
	}
}
