package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/danube-console/danube-console/themes"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// newTest returns a model over f at a fixed clock, sized w×h, in the named theme.
func newTest(t testing.TB, f *tuitest.Fake, w, h int, theme string, mod ...func(*Options)) *Model {
	t.Helper()
	th, err := themes.Lookup(theme)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Theme: th, Clock: tuitest.Clock, TapPrefix: "console-test-0a1b"}
	for _, fn := range mod {
		fn(&o)
	}
	m := New(f, o)
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

// namedKeys are the key presses of the names msg.String() reports for keys without text.
var namedKeys = map[string]tea.KeyPressMsg{
	"tab":       {Code: tea.KeyTab},
	"shift+tab": {Code: tea.KeyTab, Mod: tea.ModShift},
	"enter":     {Code: tea.KeyEnter},
	"esc":       {Code: tea.KeyEscape},
	"up":        {Code: tea.KeyUp},
	"down":      {Code: tea.KeyDown},
	"left":      {Code: tea.KeyLeft},
	"right":     {Code: tea.KeyRight},
	"pgup":      {Code: tea.KeyPgUp},
	"pgdown":    {Code: tea.KeyPgDown},
	"home":      {Code: tea.KeyHome},
	"end":       {Code: tea.KeyEnd},
	"space":     {Code: tea.KeySpace, Text: " "},
}

// keyMsg builds the key press that msg.String() reports as s.
func keyMsg(s string) tea.KeyPressMsg {
	if k, ok := namedKeys[s]; ok {
		return k
	}
	if c, ok := strings.CutPrefix(s, "ctrl+"); ok && len(c) == 1 {
		return tea.KeyPressMsg{Code: rune(c[0]), Mod: tea.ModCtrl}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

// runChain runs a command and the commands its messages return, for as long as they are not nil, feeding
// every message back to the model: for chains that end (a replay's progress), never for ticks.
func runChain(t testing.TB, m *Model, cmd tea.Cmd) []tea.Msg {
	t.Helper()
	var msgs []tea.Msg
	for i := 0; cmd != nil; i++ {
		if i > 1000 {
			t.Fatal("the command chain does not end")
		}
		msg := cmd()
		msgs = append(msgs, msg)
		_, cmd = m.Update(msg)
	}
	return msgs
}

// runLine types a command line (without the colon) and runs it with enter, returning enter's command.
func runLine(m *Model, line string) tea.Cmd {
	press(m, ":")
	typeText(m, line)
	return press(m, "enter")
}

// press sends keys to the model and returns the command of the last one.
func press(m *Model, keys ...string) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		_, cmd = m.Update(keyMsg(k))
	}
	return cmd
}

// typeText types text into the model, one key press per rune.
func typeText(m *Model, s string) {
	for _, r := range s {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// run executes a command synchronously and feeds its message (and those of batches) back to the model.
// It must only be given commands that do not sleep (actions, not ticks). The commands the model returns are
// not run (they are ticks), but for the check of a tap's subscription, which is followed by the tap's start.
func run(t testing.TB, m *Model, cmd tea.Cmd) {
	t.Helper()
	feed(t, m, cmd, func(msg tea.Msg) bool { _, ok := msg.(tapCheckMsg); return ok })
}

// drain is run that also runs every command the model returns (none of them may be a tick).
func drain(t testing.TB, m *Model, cmd tea.Cmd) {
	t.Helper()
	feed(t, m, cmd, func(tea.Msg) bool { return true })
}

// feed runs cmd, feeds its messages (and those of batches) to the model, and feeds in turn the commands the
// model returns for the messages follow accepts.
func feed(t testing.TB, m *Model, cmd tea.Cmd, follow func(tea.Msg) bool) {
	t.Helper()
	if cmd == nil {
		return
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		for _, c := range b {
			feed(t, m, c, follow)
		}
		return
	}
	if msg == nil {
		return
	}
	if _, next := m.Update(msg); follow(msg) {
		feed(t, m, next, follow)
	}
}

// screen returns the model's view with the ANSI sequences stripped.
func screen(m *Model) string { return ansi.Strip(m.View().Content) }

// checkFrame verifies the frame has exactly h lines of w cells.
func checkFrame(t testing.TB, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("frame has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if got := ansi.StringWidth(l); got != w {
			t.Errorf("line %d is %d cells wide, want %d: %q", i, got, w, ansi.Strip(l))
		}
	}
}
