package tui

import (
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/tui/tuitest"
)

// viewCases are screens whose drawing depends on state that used to be settled while drawing: the help
// overlay's scroll, the stream's rows and filter input, the inspector's viewport, the modals' inputs, the
// command line, the connector details and the lookup input.
var viewCases = []struct {
	name  string
	fake  func() *tuitest.Fake
	w, h  int
	setup func(t *testing.T, m *Model)
}{
	{"dashboard", tuitest.Scripted, 160, 48, func(*testing.T, *Model) {}},
	{"help-scrolled-past-the-end", tuitest.Scripted, 80, 24, func(_ *testing.T, m *Model) { press(m, "?", "end", "down") }},
	{"topics-lookup-input", tuitest.Scripted, 80, 24, func(_ *testing.T, m *Model) { press(m, "2", "L"); typeText(m, "/iot/sens") }},
	{"producers", tuitest.Scripted, 80, 24, func(_ *testing.T, m *Model) { press(m, "3", "down") }},
	{"stream-paused", tuitest.Scripted, 80, 24, func(_ *testing.T, m *Model) { press(m, "4", "down", "f", "pgup") }},
	{"filter-error", tuitest.Scripted, 120, 30, func(t *testing.T, m *Model) {
		selectConsumer(t, m, "billing-1")
		press(m, "/")
		typeText(m, `$.total >= "x`)
		press(m, "enter")
	}},
	{"inspector-scrolled", tuitest.Scripted, 120, 30, func(t *testing.T, m *Model) {
		selectConsumer(t, m, "billing-1")
		press(m, "enter", "up", "enter", "down", "v")
	}},
	{"manual-stream-marked", tuitest.Manual, 120, 30, func(t *testing.T, m *Model) {
		selectConsumer(t, m, "tap-1")
		press(m, "enter", "g", "space", "down", "space")
	}},
	{"nack-prompt", tuitest.Manual, 80, 24, func(t *testing.T, m *Model) {
		selectConsumer(t, m, "tap-1")
		press(m, "enter", "n")
		typeText(m, "30s")
	}},
	{"replay-review", tuitest.Scripted, 80, 24, func(t *testing.T, m *Model) {
		selectConsumer(t, m, "billing-1")
		press(m, "enter", "P", "e")
	}},
	{"tap-form", tuitest.Scripted, 80, 24, func(_ *testing.T, m *Model) { press(m, "2", "down", "c", "tab", "right") }},
	{"cmdline-completion", tuitest.Scripted, 80, 24, func(_ *testing.T, m *Model) {
		press(m, ":")
		typeText(m, "consume /default/")
		press(m, "tab", "tab")
	}},
	{"cmdline-error", tuitest.Scripted, 80, 24, func(_ *testing.T, m *Model) {
		press(m, ":")
		typeText(m, "replya --filtered")
		press(m, "enter")
	}},
	{"connector-details", tuitest.Scripted, 80, 24, func(_ *testing.T, m *Model) { press(m, "7", "down", "enter", "end") }},
	{"too-small", tuitest.Scripted, 59, 15, func(*testing.T, *Model) {}},
}

// TestViewIsPure: drawing changes nothing. Two frames in a row are the same, and the help overlay's scroll
// was settled by Update, not by drawing.
func TestViewIsPure(t *testing.T) {
	for _, c := range viewCases {
		t.Run(c.name, func(t *testing.T) {
			m := newTest(t, c.fake(), c.w, c.h, "dark")
			c.setup(t, m)
			first := m.View().Content
			if second := m.View().Content; second != first {
				t.Errorf("a second View differs from the first:\n%s\n---\n%s", first, second)
			}
			if m.showHelp && m.helpOff != m.helpMaxOff(m.w, m.bodyHeight()) {
				t.Errorf("help scrolled to %d after end, want %d (clamped by Update)", m.helpOff, m.helpMaxOff(m.w, m.bodyHeight()))
			}
		})
	}
}

// TestViewDoesNotWrite draws the same model from several goroutines at once: under the race detector, any
// write a View makes (to the model, a pane, an input or a viewport) is reported as a data race.
func TestViewDoesNotWrite(t *testing.T) {
	for _, c := range viewCases {
		t.Run(c.name, func(t *testing.T) {
			m := newTest(t, c.fake(), c.w, c.h, "dark")
			c.setup(t, m)
			want := m.View().Content
			var wg sync.WaitGroup
			got := make([]string, 4)
			for i := range got {
				wg.Go(func() { got[i] = m.View().Content })
			}
			wg.Wait()
			for i, g := range got {
				if g != want {
					t.Errorf("concurrent View %d differs", i)
				}
			}
		})
	}
}

// TestQuitDrawsABlankFrame: the first quit, whatever sent it, becomes quittingMsg; the model then draws a
// blank frame on the alternate screen and quits, so that a terminal reflowing the alternate screen on the
// way out (after a resize) has no wide line to push into the scrollback.
func TestQuitDrawsABlankFrame(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 100, 30, "dark")
	if m.View().Content == "" {
		t.Fatal("a blank frame before quitting")
	}
	msg := clearOnQuit(m, tea.QuitMsg{})
	if _, ok := msg.(quittingMsg); !ok {
		t.Fatalf("the first quit became %T, want quittingMsg", msg)
	}
	_, cmd := m.Update(msg)
	if cmd == nil {
		t.Fatal("no quit after quittingMsg")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("quittingMsg does not quit")
	}
	if v := m.View(); v.Content != "" || !v.AltScreen {
		t.Fatalf("the last frame: %q, alt screen %v", v.Content, v.AltScreen)
	}
	if _, ok := clearOnQuit(m, tea.QuitMsg{}).(tea.QuitMsg); !ok {
		t.Fatal("the second quit does not go through")
	}
}
