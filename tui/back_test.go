package tui

import (
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/tui/tuitest"
)

// quits reports whether a key's command quits the program (tea.Quit, alone or in a batch). It must only be
// given the commands of keys that quit or do nothing: it runs them.
func quits(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	switch msg := cmd().(type) {
	case tea.QuitMsg:
		return true
	case tea.BatchMsg:
		return slices.ContainsFunc(msg, quits)
	}
	return false
}

// backStep presses key and checks that it went back one level without quitting: check says where it
// should have landed.
func backStep(t *testing.T, m *Model, key, where string, check func() bool) {
	t.Helper()
	if cmd := press(m, key); cmd != nil {
		t.Fatalf("%s towards %s returned a command (quit?)", key, where)
	}
	if !check() {
		t.Fatalf("%s did not go back to %s:\n%s", key, where, screen(m))
	}
}

// TestQBacksOutOfTheConsumers: q leaves the inspector for the stream, the stream for the consumers list,
// and quits from the list only.
func TestQBacksOutOfTheConsumers(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 120, 40, "dark")
	selectConsumer(t, m, "billing-1")
	press(m, "enter", "enter")
	if m.consumers.insp == nil {
		t.Fatal("enter enter did not open the inspector")
	}
	backStep(t, m, "q", "the stream", func() bool {
		return m.consumers.insp == nil && m.consumers.focus && m.active == paneConsumers
	})
	backStep(t, m, "q", "the consumers list", func() bool {
		return !m.consumers.focus && m.active == paneConsumers && !strings.Contains(screen(m), "Message @ offset")
	})
	if !quits(press(m, "q")) {
		t.Fatal("q on the consumers list did not quit")
	}
}

// TestEscBacksOutOfTheConsumers: esc goes back the same levels as q, then, on a top-level pane, to the
// dashboard (as before), where q quits.
func TestEscBacksOutOfTheConsumers(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 120, 40, "dark")
	selectConsumer(t, m, "billing-1")
	press(m, "enter", "enter")
	backStep(t, m, "esc", "the stream", func() bool { return m.consumers.insp == nil && m.consumers.focus })
	backStep(t, m, "esc", "the consumers list", func() bool { return !m.consumers.focus && m.active == paneConsumers })
	backStep(t, m, "esc", "the dashboard", func() bool { return m.active == paneDashboard })
	if !quits(press(m, "q")) {
		t.Fatal("q on the dashboard did not quit")
	}
}

// TestQBacksOutOfTheTopicDetail: q leaves a topic's detail for the list (which keeps its filter), and
// quits from the filtered list: a committed filter is no sub-view.
func TestQBacksOutOfTheTopicDetail(t *testing.T) {
	f := tuitest.TopicsCluster()
	m := newTest(t, f, 160, 48, "dark")
	press(m, "2", "/")
	typeText(m, "orders")
	press(m, "enter")
	run(t, m, press(m, "enter"))
	if m.topics.detail == nil {
		t.Fatal("enter did not open the detail")
	}
	backStep(t, m, "q", "the topics list", func() bool {
		return m.topics.detail == nil && m.active == paneTopics && m.topics.filterText() == "orders"
	})
	if !quits(press(m, "q")) {
		t.Fatal("q on the filtered topics list did not quit")
	}
}

// TestQBacksOutOfConnectorDetails: q closes a connector's details, then quits.
func TestQBacksOutOfConnectorDetails(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 120, 40, "dark")
	press(m, "7", "enter")
	if !m.connectors.details {
		t.Fatal("enter did not open the details")
	}
	backStep(t, m, "q", "the connectors list", func() bool { return !m.connectors.details && m.active == paneConnectors })
	if !quits(press(m, "q")) {
		t.Fatal("q on the connectors list did not quit")
	}
}

// TestQClosesTheHelp: q closes the help overlay instead of quitting; the next q quits.
func TestQClosesTheHelp(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 120, 40, "dark")
	press(m, "2", "?")
	if !m.showHelp {
		t.Fatal("? did not open the help")
	}
	backStep(t, m, "q", "the topics pane", func() bool { return !m.showHelp && m.active == paneTopics })
	if !quits(press(m, "q")) {
		t.Fatal("q on the topics pane did not quit")
	}
}

// TestQInModalsAndInputs: in a form, a confirmation, the command line and a filter input q is a key of
// theirs (typed, or ignored), never a quit; esc closes them.
func TestQInModalsAndInputs(t *testing.T) {
	f := tuitest.TopicsCluster()
	m := newTest(t, f, 160, 48, "dark")
	press(m, "2", "down", "D") // the delete confirmation
	if m.modal == nil {
		t.Fatal("D did not open the confirmation")
	}
	if cmd := press(m, "q"); cmd != nil || m.modal == nil {
		t.Fatalf("q in the confirmation: command %v, modal %v", cmd != nil, m.modal != nil)
	}
	backStep(t, m, "esc", "the topics list (confirmation closed)", func() bool { return m.modal == nil && m.active == paneTopics })

	press(m, "n") // the create-topic form, its name field focused
	if m.modal == nil {
		t.Fatal("n did not open the create form")
	}
	press(m, "q")
	if m.modal == nil || !strings.Contains(screen(m), "q") {
		t.Fatalf("q in the form did not stay in it:\n%s", screen(m))
	}
	backStep(t, m, "esc", "the topics list (form closed)", func() bool { return m.modal == nil })

	press(m, ":")
	typeText(m, "q")
	if !m.cmd.open || m.cmd.line() != "q" {
		t.Fatalf("q on the command line: open %v, line %q", m.cmd.open, m.cmd.line())
	}
	backStep(t, m, "esc", "the topics list (command line closed)", func() bool { return !m.cmd.open })

	press(m, "/", "q")
	if !m.topics.fltOpen || m.topics.filterText() != "q" {
		t.Fatalf("q in the filter: open %v, text %q", m.topics.fltOpen, m.topics.filterText())
	}
	backStep(t, m, "esc", "the topics list (filter cleared)", func() bool { return !m.topics.fltOpen && m.topics.filterText() == "" })
	if len(f.Calls()) != 0 {
		t.Errorf("calls %q", f.Calls())
	}
}

// TestCtrlCQuitsFromAnywhere: ctrl+c quits from the inspector, the help, a modal, the command line and a
// text input.
func TestCtrlCQuitsFromAnywhere(t *testing.T) {
	cases := []struct {
		name string
		into func(m *Model)
	}{
		{"inspector", func(m *Model) { selectConsumer(t, m, "billing-1"); press(m, "enter", "enter") }},
		{"stream", func(m *Model) { selectConsumer(t, m, "billing-1"); press(m, "enter") }},
		{"help", func(m *Model) { press(m, "?") }},
		{"confirmation", func(m *Model) { press(m, "2", "D") }},
		{"form", func(m *Model) { press(m, "2", "n") }},
		{"command line", func(m *Model) { press(m, ":") }},
		{"filter input", func(m *Model) { press(m, "2", "/") }},
		{"dashboard", func(*Model) {}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newTest(t, tuitest.Scripted(), 120, 40, "dark")
			c.into(m)
			if !quits(press(m, "ctrl+c")) {
				t.Errorf("ctrl+c did not quit from the %s:\n%s", c.name, screen(m))
			}
		})
	}
}

// TestCtrlRRefreshes: ctrl+r reloads the admin view from any pane (the backend's Refresh), says so, and
// leaves read-only off; in a topic's detail it also describes the topic again. R no longer refreshes.
func TestCtrlRRefreshes(t *testing.T) {
	f := tuitest.TopicsCluster()
	m := newTest(t, f, 160, 48, "dark")
	if s := screen(m); !strings.Contains(s, "Dashboard") {
		t.Fatalf("not on the dashboard:\n%s", s)
	}
	run(t, m, press(m, "ctrl+r"))
	if got := f.Calls(); !slices.Equal(got, []string{"Refresh"}) {
		t.Errorf("ctrl+r on the dashboard: calls %q, want Refresh", got)
	}
	if m.status.text != "refreshed" || m.readOnly() {
		t.Errorf("ctrl+r: status %q, read-only %v", m.status.text, m.readOnly())
	}

	press(m, "2", "R")
	if got := f.Calls(); len(got) != 1 {
		t.Errorf("R refreshed: calls %q", got)
	}

	run(t, m, press(m, "down", "down", "enter"))
	n := len(f.Calls())
	cmd := press(m, "ctrl+r")
	if !strings.Contains(screen(m), "describing…") {
		t.Errorf("ctrl+r in the detail shows no loading state:\n%s", screen(m))
	}
	run(t, m, cmd)
	got := f.Calls()[n:]
	slices.Sort(got)
	if !slices.Equal(got, []string{"Refresh", "describe /default/orders"}) {
		t.Errorf("ctrl+r in the detail: calls %q, want Refresh and describe", got)
	}
	if m.topics.detail == nil {
		t.Error("ctrl+r closed the detail")
	}
}

// TestReadOnlyByCommand: :readonly alone turns read-only on for the session, and refuses what changes
// state afterwards.
func TestReadOnlyByCommand(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 120, 40, "dark")
	run(t, m, runLine(m, "readonly"))
	if !m.readOnly() || !strings.Contains(screen(m), "READ-ONLY") {
		t.Fatalf(":readonly did not turn read-only on:\n%s", screen(m))
	}
	press(m, "7")
	if cmd := press(m, "s"); cmd != nil || len(f.Calls()) != 0 {
		t.Errorf("s after :readonly: command %v, calls %q", cmd != nil, f.Calls())
	}
	if !strings.Contains(m.status.text, "read-only") {
		t.Errorf("status %q", m.status.text)
	}
}
