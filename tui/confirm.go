package tui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/themes"
)

// confirmDialog asks before an action that deletes, takes messages from others or changes the cluster, as
// k9s does: it names exactly what will happen, and No is the default (enter on the dialog as it opens, esc
// and n all cancel). y, or enter once Yes is selected, closes it and posts yes to the component that opened
// it; read-only mode refuses that key (changes names the action as the refusal says it).
type confirmDialog struct {
	title   string
	lines   []string // what will happen, one fact a line
	changes string
	yes     tea.Msg
	onYes   bool // Yes is selected
}

// newConfirm returns a confirmation of an action: title names it ("Delete topic /default/orders?"), lines
// say what will happen, changes is the read-only refusal's words, yes the request posted on confirmation.
func newConfirm(title string, lines []string, changes string, yes tea.Msg) *confirmDialog {
	return &confirmDialog{title: title, lines: lines, changes: changes, yes: yes}
}

// confirms reports whether a key press confirms.
func (c *confirmDialog) confirms(k *KeyMap, msg tea.KeyPressMsg) bool {
	return matches(msg, k.Confirm.Yes) || (c.onYes && matches(msg, k.Prompt.Submit))
}

func (c *confirmDialog) confirming(k *KeyMap, msg tea.KeyPressMsg) string {
	return pick(c.confirms(k, msg), c.changes, "")
}

func (c *confirmDialog) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	k := e.keys
	switch {
	case c.confirms(k, msg):
		e.post(closeModalMsg{only: c})
		e.post(c.yes)
	case matches(msg, k.Confirm.No, k.Prompt.Cancel, k.Prompt.Submit):
		e.post(closeModalMsg{only: c})
	case matches(msg, k.Confirm.Toggle):
		c.onYes = !c.onYes
	}
	return nil
}

func (c *confirmDialog) input(tea.Msg) tea.Cmd { return nil }
func (c *confirmDialog) sync(*env)             {}
func (c *confirmDialog) restyle(*themes.Theme) {}

func (c *confirmDialog) view(e *env, w, h int) string {
	st := e.st
	bw := min(w-4, 76)
	iw := bw - 2
	body := make([]string, 0, len(c.lines)+4)
	body = append(body, blank(iw))
	body = st.dialogText(body, iw, c.lines)
	body = append(body, blank(iw), st.buttons(iw, c.onYes, "No", "Yes"))
	body = append(body, st.hintLine(iw, "y", "yes", "n/esc", "no", "←/→", "choose", "enter", "the chosen one"))
	return st.dialog([]seg{{c.title, st.title}}, bw, w, h, body)
}

// dialogText appends a dialog's lines to body, iw cells wide: a line that fits as written (it may align with
// spaces), a longer one wrapped whole over lines rather than cut at the dialog's edge.
func (st *styles) dialogText(body []string, iw int, lines []string) []string {
	for _, l := range lines {
		if textWidth(l) < iw-1 {
			body = append(body, st.textLine(iw, st.text, " "+l))
			continue
		}
		for _, w := range wrapWords(l, iw-2) {
			body = append(body, st.textLine(iw, st.text, " "+w))
		}
	}
	return body
}

// buttons is a dialog's No and Yes buttons, iw cells wide, the chosen one (Yes when onYes) highlighted.
func (st *styles) buttons(iw int, onYes bool, no, yes string) string {
	np, yp := st.selected, st.muted
	if onYes {
		np, yp = st.muted, st.err
	}
	return newLine(iw).space(1).add(np, " "+no+" ").space(2).add(yp, " "+yes+" ").String()
}
