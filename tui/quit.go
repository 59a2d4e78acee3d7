package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/themes"
)

// This file holds the question the console asks before it quits when quitting would lose something: the
// subscriptions its taps created (they outlive the console and, on a reliable topic, keep every message for
// ever), the messages delivered to its manual-ack taps that are not acked yet (the broker delivers them
// again to someone else) and the marks of the stream not acted on nor exported. With nothing to lose the
// console quits at once; ctrl+c on the question quits at once, deleting nothing, so two ctrl+c always get
// out. The consumers pane says what would be lost (quitLoss) and deletes the subscriptions.

// subRef names a subscription of a topic (a partitioned topic's, for all its partitions).
type subRef struct{ topic, sub string }

// quitLoss is what quitting now would lose.
type quitLoss struct {
	subs    []subRef // the subscriptions this console's taps created, sorted
	pending int      // messages delivered to manual-ack taps, neither acked nor nacked
	marks   int      // marked messages of the stream not acked, nacked nor exported
}

// empty reports that quitting loses nothing.
func (l quitLoss) empty() bool { return len(l.subs) == 0 && l.pending == 0 && l.marks == 0 }

// Requests of the quit path, which the root serves (the deletion goes to the consumers pane).
type (
	// quitMsg asks the root to quit: at once when there is nothing to lose, else after the question.
	quitMsg struct{}
	// quitNowMsg quits without another question.
	quitNowMsg struct{}
	// quitDeleteMsg deletes the subscriptions this console created (stopping the taps on them first), then
	// quits unless a deletion failed.
	quitDeleteMsg struct{ subs []subRef }
	// quitDeletedMsg is the end of the deletion: the subscriptions deleted (or found gone), and those that
	// could not be deleted with why.
	quitDeletedMsg struct {
		deleted []subRef
		failed  []subFailure
	}
)

// subFailure is a subscription that could not be deleted, and why.
type subFailure struct {
	subRef
	err error
}

// quitDialog is the question before quitting. When the console can delete the subscriptions it created
// (there are some and read-only mode is off) it asks "delete them? [y/N/list]": y deletes them then quits,
// n (and enter, No being the default) quits keeping them, esc stays, l lists them. Otherwise it only warns
// and asks "quit anyway? [y/N]": y quits, n and esc stay. After y it shows the deletion running, and the
// failures if any (the console then stays open).
type quitDialog struct {
	loss   quitLoss
	delete bool // the question offers to delete the subscriptions
	list   bool // the subscriptions are listed
	onYes  bool // Yes is selected
	state  quitState
	failed []subFailure
}

// quitState is where the quit dialog is: asking, deleting, or showing the deletions that failed.
type quitState int

const (
	quitAsking quitState = iota
	quitDeleting
	quitFailed
)

// newQuitDialog returns the question before quitting, losing loss; ro (read-only mode) refuses to delete,
// so the question then only warns.
func newQuitDialog(loss quitLoss, ro bool) *quitDialog {
	return &quitDialog{loss: loss, delete: len(loss.subs) > 0 && !ro}
}

// deleted shows the end of the deletion: the subscriptions that could not be deleted (the ones that were
// are gone from the question).
func (d *quitDialog) deleted(msg quitDeletedMsg) {
	d.state, d.failed = quitFailed, msg.failed
	var left []subRef
	for _, f := range msg.failed {
		left = append(left, f.subRef)
	}
	d.loss.subs = left
}

// deleting reports that the dialog's deletion runs.
func (d *quitDialog) deleting() bool { return d.state == quitDeleting }

// yes reports whether a key press answers yes.
func (d *quitDialog) yes(k *KeyMap, msg tea.KeyPressMsg) bool {
	return d.state == quitAsking && (matches(msg, k.Confirm.Yes) || (d.onYes && matches(msg, k.Prompt.Submit)))
}

func (d *quitDialog) confirming(k *KeyMap, msg tea.KeyPressMsg) string {
	return pick(d.delete && d.yes(k, msg), changesUnsub, "")
}

func (d *quitDialog) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	k := e.keys
	switch d.state {
	case quitDeleting:
		return nil // ctrl+c (the router's) quits at once; the rest waits for the deletion
	case quitFailed:
		if matches(msg, k.Confirm.No, k.Prompt.Cancel, k.Prompt.Submit, k.Global.Quit) {
			e.post(closeModalMsg{only: d})
		}
		return nil
	}
	switch {
	case d.yes(k, msg) && d.delete:
		d.state = quitDeleting
		e.post(quitDeleteMsg{subs: d.loss.subs})
	case d.yes(k, msg):
		e.post(quitNowMsg{})
	case d.delete && matches(msg, k.Confirm.List):
		d.list = !d.list
	case matches(msg, k.Prompt.Cancel):
		e.post(closeModalMsg{only: d})
	case matches(msg, k.Confirm.No, k.Prompt.Submit):
		if d.delete {
			e.post(quitNowMsg{}) // No: quit, keeping them
		} else {
			e.post(closeModalMsg{only: d}) // No: stay
		}
	case matches(msg, k.Confirm.Toggle):
		d.onYes = !d.onYes
	}
	return nil
}

func (d *quitDialog) input(tea.Msg) tea.Cmd { return nil }
func (d *quitDialog) sync(*env)             {}
func (d *quitDialog) restyle(*themes.Theme) {}

// lines says what quitting loses, one fact a line.
func (d *quitDialog) lines() []string {
	l := d.loss
	var out []string
	if n := len(l.subs); n > 0 {
		s := plural(n, "subscription") + " created by this console " + pick(n == 1, "keeps", "keep") + " messages"
		switch {
		case d.delete:
			s += ": delete " + pick(n == 1, "it", "them") + "? [y/N/list]"
		default:
			s += " (read-only: not deleted)"
		}
		out = append(out, s)
	}
	if l.pending > 0 {
		out = append(out, pick(l.pending == 1, "1 message delivered to manual taps is", plural(l.pending, "message")+
			" delivered to manual taps are")+" not acked: quitting lets the broker deliver "+pick(l.pending == 1, "it", "them")+" again")
	}
	if l.marks > 0 {
		out = append(out, plural(l.marks, "marked message")+" not acted on nor exported: the marks are lost")
	}
	if !d.delete {
		out = append(out, "Quit anyway? [y/N]")
	}
	return out
}

func (d *quitDialog) view(e *env, w, h int) string {
	st := e.st
	bw := min(w-4, 84)
	iw := bw - 2
	body := []string{blank(iw)}
	switch d.state {
	case quitDeleting:
		body = append(body, st.textLine(iw, st.text, " deleting "+plural(len(d.loss.subs), "subscription")+"…"), blank(iw),
			st.hintLine(iw, "ctrl+c", "quit at once, deleting no more"))
		return st.dialog([]seg{{"Quit", st.title}}, bw, w, h, body)
	case quitFailed:
		body = append(body, st.textLine(iw, st.err, " "+plural(len(d.failed), "subscription")+" could not be deleted: the console stays open"))
		room := max(1, h-len(body)-4) // the frame, a blank line and the keys below
		for i, f := range d.failed {
			ls := wrapWords(clean(f.topic)+"  "+clean(f.sub)+": "+clean(f.err.Error()), iw-4)
			if room < len(ls)+pick(i < len(d.failed)-1, 1, 0) {
				body = append(body, st.textLine(iw, st.muted, "  … and "+itoa(len(d.failed)-i)+" more"))
				break
			}
			room -= len(ls)
			for j, w := range ls {
				body = append(body, st.textLine(iw, st.text, pick(j == 0, "  ", "    ")+w))
			}
		}
		body = append(body, blank(iw), st.hintLine(iw, "esc", "back to the console", "ctrl+c", "quit now, keeping them"))
		return st.dialog([]seg{{"Quit", st.title}, {" · deletion failed", st.muted}}, bw, w, h, body)
	}
	body = st.dialogText(body, iw, d.lines())
	if d.list {
		body = append(body, blank(iw), st.textLine(iw, st.muted, "  TOPIC / SUBSCRIPTION"))
		// The list takes the rows left once the question, the buttons and the keys are drawn (the frame, a
		// blank line and the buttons' three lines): the rest is counted, not cut off unseen.
		room, subs := max(1, h-len(body)-5), d.loss.subs
		if len(subs) > room {
			subs = subs[:room-1]
		}
		for _, s := range subs {
			body = append(body, st.textLine(iw, st.text, "  "+clean(s.topic)+"  "+clean(s.sub)))
		}
		if n := len(d.loss.subs) - len(subs); n > 0 {
			body = append(body, st.textLine(iw, st.muted, "  … and "+itoa(n)+" more"))
		}
	}
	body = append(body, blank(iw))
	if d.delete {
		them := pick(len(d.loss.subs) == 1, "it", "them")
		body = append(body, st.buttons(iw, d.onYes, "No: keep "+them+", quit", "Yes: delete "+them+", quit"),
			st.hintLine(iw, "y", "delete, quit", "n", "keep, quit", "l", pick(d.list, "hide", "list"), "esc", "stay", "ctrl+c", "quit now"))
	} else {
		body = append(body, st.buttons(iw, d.onYes, "No: stay", "Yes: quit"),
			st.hintLine(iw, "y", "quit", "n/esc", "stay", "←/→", "choose", "ctrl+c", "quit now"))
	}
	return st.dialog([]seg{{"Quit?", st.title}}, bw, w, h, body)
}
