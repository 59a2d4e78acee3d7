package tui

import (
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor/filter"
	"github.com/danube-console/danube-console/themes"
)

// filterInput is the stream's filter line: / opens it with the current filter, enter applies (a syntax
// error stays on the line, in red), esc cancels.
type filterInput struct {
	in   textinput.Model
	open bool
	err  string
}

func newFilterInput(t *themes.Theme) filterInput {
	return filterInput{in: newInput(t, "filter› ", `text  key:GLOB  attr:NAME=VALUE  $.path > 1  -negated`)}
}

// restyle applies the theme to the input.
func (f *filterInput) restyle(t *themes.Theme) { styleInput(&f.in, t) }

// openWith opens the line with the current filter in it.
func (f *filterInput) openWith(cur *filter.Filter) tea.Cmd {
	f.open, f.err = true, ""
	f.in.SetValue(cur.String())
	f.in.CursorEnd()
	return f.in.Focus()
}

func (f *filterInput) close() {
	f.open, f.err = false, ""
	f.in.Blur()
}

// input passes a message to the input.
func (f *filterInput) input(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	f.in, cmd = f.in.Update(msg)
	return cmd
}

// key edits the line; it reports submit for enter and cancel for esc, which the stream handles.
func (f *filterInput) key(k *KeyMap, msg tea.KeyPressMsg) (cmd tea.Cmd, submit, cancel bool) {
	switch {
	case matches(msg, k.Prompt.Cancel):
		return nil, false, true
	case matches(msg, k.Prompt.Submit):
		return nil, true, false
	}
	f.err = ""
	return f.input(msg), false, false
}

// widths splits a line of w cells between the input (what its text needs, at least a third of the line)
// and the last syntax error; iw is the input's own width.
func (f *filterInput) widths(w int) (iw, ew int, errText string) {
	if f.err != "" {
		errText = "  ✗ " + clean(f.err)
	}
	need := max(w/3, min(w-1, textWidth(f.in.Value())+textWidth(f.in.Prompt)+3))
	ew = min(textWidth(errText), max(0, w-1-need))
	return max(1, w-ew-textWidth(f.in.Prompt)-3), ew, errText
}

// sync gives the input the width it is drawn at (in a line of w cells), for its scrolling.
func (f *filterInput) sync(w int) {
	if f.open {
		iw, _, _ := f.widths(w)
		f.in.SetWidth(iw)
	}
}

// view draws the open input in w cells, with the last syntax error in red.
func (f *filterInput) view(st *styles, w int) string {
	iw, ew, errText := f.widths(w)
	in := f.in // drawn from a copy: sync sets the input's own width
	in.SetWidth(iw)
	l := " " + padANSI(in.View(), w-1-ew)
	if ew > 0 {
		l += st.err.r(truncate(errText, ew))
	}
	return padANSI(l, w)
}
