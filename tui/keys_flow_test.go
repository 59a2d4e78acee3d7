package tui

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// listSelect gives the consumer list the focus (esc leaves the stream) and selects the consumer named name.
func listSelect(t *testing.T, m *Model, name string) {
	t.Helper()
	press(m, "4")
	if m.consumers.focus {
		press(m, "esc")
	}
	press(m, "g")
	for range len(m.consumers.list) {
		if c := m.consumers.selected(m.env()); c != nil && c.Name == name {
			return
		}
		press(m, "down")
	}
	t.Fatalf("no consumer %s", name)
}

func TestStreamStateIsPerStream(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 120, 40, "dark")
	listSelect(t, m, "billing-1")
	press(m, "/")
	typeText(m, "ada")
	press(m, "enter", "enter", "up", "space", "up")
	p := m.consumers
	sel, marks := p.sel, p.markedSeqs()
	if p.filter.String() != "ada" || len(marks) != 1 || sel == 0 || p.follow {
		t.Fatalf("billing: filter %q, marks %v, sel %d, follow %v", p.filter, marks, sel, p.follow)
	}

	// Another tap: its own state, none yet.
	listSelect(t, m, "shipping-1")
	if p.stream != "s-shipping" || p.filter != nil || len(p.marks) != 0 || !p.follow || p.focus {
		t.Fatalf("shipping: stream %s, filter %q, marks %v, follow %v, focus %v", p.stream, p.filter, p.marks, p.follow, p.focus)
	}
	l := lineWith(screen(m), "Stream")
	if strings.Contains(l, "match") || strings.Contains(l, "marked") || !strings.Contains(l, "shipping-1") {
		t.Errorf("shipping's stream shows billing's filter or marks: %q", l)
	}
	// What is set there stays there.
	press(m, "/")
	typeText(m, "key:key-1*")
	press(m, "enter")

	// Back: billing's filter, selection, marks and pause come back, and enter keeps the selection.
	listSelect(t, m, "billing-1")
	if p.filter.String() != "ada" || !reflect.DeepEqual(p.markedSeqs(), marks) || p.sel != sel || p.follow {
		t.Fatalf("back on billing: filter %q, marks %v (want %v), sel %d (want %d), follow %v", p.filter, p.markedSeqs(), marks, p.sel, sel, p.follow)
	}
	s := screen(m)
	if l := lineWith(s, "Stream"); !strings.Contains(l, "34 of 200 match") || !strings.Contains(l, "1 marked") {
		t.Errorf("billing's title: %q", l)
	}
	press(m, "enter")
	if !p.focus || p.sel != sel {
		t.Errorf("enter on the stream: focus %v, sel %d, want %d", p.focus, p.sel, sel)
	}
	listSelect(t, m, "shipping-1")
	if p.filter.String() != "key:key-1*" {
		t.Errorf("shipping's filter %q", p.filter)
	}

	// A stopped consumer's state is dropped.
	m.b.(*tuitest.Fake).Update(func(s *monitor.Snapshot) { s.Consumers = s.Consumers[1:] }) // archiver-1
	m.Update(tickMsg{})
	p.kept["s-archiver"] = newStreamView()
	listSelect(t, m, "billing-1")
	if _, ok := p.kept["s-archiver"]; ok {
		t.Errorf("the view of a consumer gone is kept")
	}
}

func TestReplayFiltered(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 120, 40, "dark")
	listSelect(t, m, "billing-1")
	press(m, "P")
	if m.modal != nil || !strings.Contains(m.status.text, "nothing to replay: select a message") {
		t.Fatalf("P with nothing: modal %T, status %q", m.modal, m.status.text)
	}
	press(m, "/")
	typeText(m, "ada")
	press(m, "enter", "P")
	r, ok := m.modal.(*replayModal)
	if !ok {
		t.Fatalf("P with a filter: no review (status %q)", m.status.text)
	}
	if len(r.msgs) != 34 || r.what != "filtered" {
		t.Errorf("the review has %d %s messages, want the 34 the filter shows", len(r.msgs), r.what)
	}
	for _, msg := range r.msgs {
		if !strings.Contains(string(msg.Payload), "ada") {
			t.Errorf("offset %d does not match the filter", msg.Offset)
		}
	}
	press(m, "esc", "/", "ctrl+u")
	typeText(m, "nobody-at-all")
	press(m, "enter", "P")
	if m.modal != nil || m.status.text != "nothing to replay: no kept message matches the filter /nobody-at-all/" {
		t.Errorf("P with a filter matching nothing: modal %T, status %q", m.modal, m.status.text)
	}
}

func TestDashboardTap(t *testing.T) {
	m := newTest(t, tuitest.ClusterTraffic(), 160, 48, "dark")
	press(m, "c")
	f, ok := m.modal.(*tapForm)
	if !ok || f.topic.Value() != "" {
		t.Fatalf("c on the throughput tile: modal %T", m.modal)
	}
	press(m, "esc", "l", "l") // the top topics
	press(m, "c")
	if f, ok = m.modal.(*tapForm); !ok || f.topic.Value() != m.dash.topics[0].topic || f.topic.Value() == "" {
		t.Fatalf("c on the top topics: modal %T", m.modal)
	}
	press(m, "esc", "ctrl+o", "c")
	if m.modal != nil || m.status.text != "read-only: starting taps is disabled" {
		t.Errorf("read-only: modal %T, status %q", m.modal, m.status.text)
	}
}

// clipboard runs a copy's command: what it sets with OSC 52, and the status it reports.
func clipboard(t *testing.T, m *Model, cmd tea.Cmd) (osc string) {
	t.Helper()
	if cmd == nil {
		t.Fatalf("no command (status %q)", m.status.text)
	}
	b, ok := cmd().(tea.BatchMsg)
	if !ok {
		t.Fatalf("the copy is not a batch")
	}
	for _, c := range b {
		msg := c()
		if s, ok := msg.(statusMsg); ok {
			m.Update(s)
			continue
		}
		osc = reflect.ValueOf(msg).String() // tea's setClipboardMsg is a string
	}
	return osc
}

func TestCopy(t *testing.T) {
	def := copyFile
	t.Cleanup(func() { copyFile = def })
	copyFile = filepath.Join(t.TempDir(), "copy.txt")
	m := newTest(t, tuitest.Scripted(), 120, 40, "dark")
	listSelect(t, m, "billing-1")
	if cmd := press(m, "y"); cmd != nil || !strings.Contains(m.status.text, "nothing to copy: select a message") {
		t.Fatalf("y without a selection: status %q", m.status.text)
	}
	press(m, "enter", "up")
	sel, _ := m.consumers.selectedMsg()
	got := clipboard(t, m, press(m, "y"))
	if got != string(sel.Payload) {
		t.Errorf("y set %q, want the payload %q", got, sel.Payload)
	}
	if !strings.HasPrefix(sel.Topic, "/default/orders") {
		t.Fatalf("selected %+v", sel)
	}
	want := "copied the payload of " + sel.Topic + "@" + itoa(int(sel.Offset)) + " (" + fmtBytes(float64(len(sel.Payload))) + ") with OSC 52"
	if !strings.HasPrefix(m.status.text, want+" and to "+copyFile) {
		t.Errorf("status %q, want %q and to %s", m.status.text, want, copyFile)
	}
	if b, err := os.ReadFile(copyFile); err != nil || string(b) != string(sel.Payload) {
		t.Errorf("the file has %q (%v)", b, err)
	}
	if got := clipboard(t, m, press(m, "Y")); got != offsetText(&sel) || got != sel.Topic+"@"+itoa(int(sel.Offset)) {
		t.Errorf("Y set %q", got)
	}

	// The inspector copies the message as JSON.
	press(m, "enter")
	js := clipboard(t, m, press(m, "y"))
	for _, part := range []string{`"topic": "` + sel.Topic + `"`, `"offset": ` + itoa(int(sel.Offset)), `"payload": {`, `"subscription": "billing"`} {
		if !strings.Contains(js, part) {
			t.Errorf("the inspector's JSON lacks %s:\n%s", part, js)
		}
	}
	if !strings.Contains(m.status.text, "as JSON") {
		t.Errorf("status %q", m.status.text)
	}
	if got := clipboard(t, m, press(m, "Y")); got != offsetText(&sel) {
		t.Errorf("Y in the inspector set %q", got)
	}

	// Where the file cannot be written, the status says so (OSC 52 went out all the same).
	copyFile = filepath.Join(t.TempDir(), "missing", "copy.txt")
	if got := clipboard(t, m, press(m, "Y")); got != offsetText(&sel) || m.status.level != levelWarn ||
		!strings.Contains(m.status.text, "with OSC 52, but not to a file: open "+copyFile) {
		t.Errorf("a failed file: set %q, status %q", got, m.status.text)
	}
}

func TestMessageJSONPayloads(t *testing.T) {
	for _, c := range []struct {
		payload []byte
		want    string
	}{
		{[]byte(`{"a":1}`), `"payload": {`},
		{[]byte("plain text"), `"payload_text": "plain text"`},
		{[]byte{0xff, 0x00, 0x01}, `"payload_base64": "/wAB"`},
	} {
		js, err := messageJSON(&monitor.Message{Topic: "/t", Payload: c.payload})
		if err != nil || !strings.Contains(js, c.want) {
			t.Errorf("%q: %v\n%s", c.payload, err, js)
		}
	}
}

func TestFooterHints(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 160, 48, "dark")
	press(m, "4")
	wide := lastLine(screen(m))
	for _, h := range []string{"<c> new tap…", "<enter> stream / inspect", "</> filter stream", "<x> stop tap"} {
		if !strings.Contains(wide, h) {
			t.Errorf("160 columns: the footer lacks %q: %q", h, wide)
		}
	}
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	narrow := lastLine(screen(m))
	if !strings.Contains(narrow, "<c> new tap…") || strings.Contains(narrow, "<x> stop tap") {
		t.Errorf("80 columns: want fewer hints, the first ones: %q", narrow)
	}
	// The sub-views' own keys.
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
	press(m, "enter", "up")
	if l := lastLine(screen(m)); !strings.Contains(l, "<space> mark / unmark") {
		t.Errorf("the stream's footer: %q", l)
	}
	press(m, "enter")
	if l := lastLine(screen(m)); !strings.Contains(l, "<n/]> next message") || !strings.Contains(l, "<y> copy as JSON") {
		t.Errorf("the inspector's footer: %q", l)
	}
	// Read-only hides what it refuses.
	press(m, "esc", "esc", "ctrl+o")
	m.status = status{} // a message takes the room first
	if l := lastLine(screen(m)); strings.Contains(l, "<c>") || !strings.Contains(l, "<enter> stream / inspect") {
		t.Errorf("read-only footer: %q", l)
	}
	// With no consumers, only a new tap does anything.
	e := newTest(t, tuitest.New(monitor.Snapshot{Time: tuitest.Epoch}), 160, 48, "dark")
	press(e, "4")
	if l := lastLine(screen(e)); !strings.Contains(l, "<c> new tap…") || strings.Contains(l, "<enter>") || strings.Contains(l, "<x>") {
		t.Errorf("the empty consumers pane's footer: %q", l)
	}
}

// lastLine is the screen's last line (the status bar).
func lastLine(s string) string { return s[strings.LastIndex(s, "\n")+1:] }
