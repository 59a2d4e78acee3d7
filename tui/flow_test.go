package tui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// lineWith returns the first screen line containing s, or "".
func lineWith(screen, s string) string {
	for l := range strings.SplitSeq(screen, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

func TestNavigation(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 100, 30, "dark")
	if m.active != paneDashboard {
		t.Fatalf("starts on pane %d, want the dashboard", m.active)
	}
	for i, title := range []string{"", "Topics (6)", "Producers · 0 topics · 5 console", "Consumers · 0 subscriptions · 4 console", "Console acks (4 subscriptions)", "Console health checks (6)", "Connectors (4)",
		"Brokers (0)", "Problems (0)", "Roles (0)"} {
		if i == 0 {
			continue
		}
		press(m, paneKey(paneID(i)))
		if m.active != paneID(i) {
			t.Fatalf("key %d: active pane %d", i+1, m.active)
		}
		if s := screen(m); !strings.Contains(s, title) {
			t.Errorf("pane %d does not show %q:\n%s", i+1, title, s)
		}
	}
	press(m, "tab")
	if m.active != paneDashboard {
		t.Errorf("tab after the last pane: %d, want the dashboard", m.active)
	}
	press(m, "tab", "tab")
	if m.active != paneProducers {
		t.Errorf("tab twice: %d, want producers", m.active)
	}
	press(m, "shift+tab", "shift+tab", "shift+tab")
	if m.active != paneSecurity {
		t.Errorf("shift+tab thrice: %d, want security", m.active)
	}
	press(m, "esc")
	if m.active != paneDashboard {
		t.Errorf("esc: %d, want the dashboard", m.active)
	}
	// Dashboard tiles: right, down, enter opens the focused tile.
	press(m, "right", "down", "enter") // two tiles a row: Problems, then the subscriptions by lag below it
	if m.active != paneConsumers {
		t.Errorf("right, down, enter on the dashboard: %d, want consumers", m.active)
	}
	// A click on a tab switches panes.
	for _, sp := range tabLayout(m.w, m.active) {
		if sp.id == paneHealth {
			m.Update(tea.MouseClickMsg{X: sp.x0 + 2, Y: 1, Button: tea.MouseLeft})
		}
	}
	if m.active != paneHealth {
		t.Errorf("click on the Health tab: %d, want health", m.active)
	}
	press(m, "5")
	// The wheel moves the selection of the focused list.
	m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelDown})
	if m.acks.cur.idx != 1 {
		t.Errorf("wheel down: selection %d, want 1", m.acks.cur.idx)
	}
}

func TestSelectionKeptByIdentity(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 100, 30, "dark")
	press(m, "7", "down") // orders-pg
	f.Update(func(s *monitor.Snapshot) {
		// A new connector sorts first: the selection must stay on orders-pg.
		s.Connectors = append([]monitor.ConnectorStats{{ConnectorStatus: monitor.ConnectorStatus{Name: "aaa"}}}, s.Connectors...)
	})
	m.Update(tickMsg{})
	if c := m.connectors.selected(m.env()); c == nil || c.Name != "orders-pg" {
		t.Fatalf("selected %v after a refresh, want orders-pg", c)
	}
}

func TestHelpOverlay(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 80, 24, "dark")
	press(m, "?")
	s := screen(m)
	if !strings.Contains(s, "Help · keys") || !strings.Contains(s, "go to pane") {
		t.Fatalf("? does not show the help:\n%s", s)
	}
	// The help scrolls when it does not fit.
	if strings.Contains(s, "start / stop") {
		t.Fatalf("the connector keys fit in 80×24: make this test's help longer")
	}
	press(m, "G")
	if s := screen(m); !strings.Contains(s, ":quit") || !strings.Contains(s, "esc or ? closes") {
		t.Errorf("end does not scroll the help to its end:\n%s", s)
	}
	press(m, "g")
	if s := screen(m); !strings.Contains(s, "go to pane") {
		t.Errorf("home does not scroll the help back:\n%s", s)
	}
	press(m, "3") // pane keys do nothing while the help is open
	if m.active != paneDashboard {
		t.Errorf("a number key switched panes under the help")
	}
	press(m, "esc")
	if strings.Contains(screen(m), "Help · keys") {
		t.Errorf("esc does not close the help")
	}
	press(m, "?", "?")
	if strings.Contains(screen(m), "Help · keys") {
		t.Errorf("? does not toggle the help")
	}
}

func TestConnectorStopStart(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 120, 30, "dark")
	press(m, "7") // mqtt-in, running, is selected
	if cmd := press(m, "s"); cmd != nil || !strings.Contains(screen(m), "Stop connector mqtt-in?") {
		t.Fatalf("s on a running connector does not ask first:\n%s", screen(m))
	}
	press(m, "enter") // No is the default
	if got := f.Calls(); len(got) != 0 || m.modal != nil {
		t.Fatalf("enter on the question: calls %q, modal %T", got, m.modal)
	}
	press(m, "s")
	cmd := press(m, "y")
	if cmd == nil {
		t.Fatal("yes to the stop returned no command")
	}
	if l := lineWith(screen(m), "mqtt-in"); !strings.Contains(l, "stopping…") {
		t.Errorf("while stopping the row reads %q", l)
	}
	run(t, m, cmd)
	if got := f.Calls(); !slices.Equal(got, []string{"StopConnector mqtt-in"}) {
		t.Fatalf("calls %q, want StopConnector mqtt-in", got)
	}
	s := screen(m)
	if l := lineWith(s, "mqtt-in"); !strings.Contains(l, "stopped") {
		t.Errorf("after the stop the row reads %q", l)
	}
	if !strings.Contains(s, "stopped mqtt-in") {
		t.Errorf("the status bar does not report the stop:\n%s", s)
	}

	run(t, m, press(m, "s"))
	if got := f.Calls(); !slices.Equal(got, []string{"StopConnector mqtt-in", "StartConnector mqtt-in"}) {
		t.Fatalf("calls %q, want a start after the stop", got)
	}
	if l := lineWith(screen(m), "mqtt-in"); !strings.Contains(l, "running") {
		t.Errorf("after the start the row reads %q", l)
	}

	// r restarts; a failed action lands in the status bar.
	// The backend's error names the action (monitor.Backend's contract): the console shows it as it is.
	f.ActionErr = errors.New("restart connector mqtt-in: drain timed out")
	press(m, "r")
	run(t, m, press(m, "y"))
	if s := screen(m); !strings.Contains(s, "✗ restart connector mqtt-in: drain timed out ") {
		t.Errorf("the restart error is not in the status bar:\n%s", s)
	}
}

func TestConnectorReadOnly(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 120, 30, "dark", func(o *Options) { o.ReadOnly = true })
	if !strings.Contains(screen(m), "READ-ONLY") {
		t.Errorf("no READ-ONLY badge")
	}
	press(m, "7")
	if cmd := press(m, "s"); cmd != nil {
		t.Errorf("s in read-only mode returned a command")
	}
	if cmd := press(m, "r"); cmd != nil {
		t.Errorf("r in read-only mode returned a command")
	}
	if len(f.Calls()) != 0 {
		t.Errorf("read-only mode called %q", f.Calls())
	}
	if s := screen(m); !strings.Contains(s, "read-only: starting, stopping") {
		t.Errorf("the status bar does not say why:\n%s", s)
	}
}

func TestConnectorDetails(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 100, 40, "dark")
	press(m, "7", "down", "enter")
	s := screen(m)
	for _, want := range []string{"Connector orders-pg", "invalid-data 9, fatal 1", "next restart", "15:04:13 (in 8s)"} {
		if !strings.Contains(s, want) {
			t.Errorf("details lack %q:\n%s", want, s)
		}
	}
	press(m, "esc")
	if m.active != paneConnectors || strings.Contains(screen(m), "next restart") {
		t.Errorf("esc does not close the details back to the list")
	}
}

func TestThemeCycle(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 80, 24, "dark")
	if l := lineWith(screen(m), "? help"); !strings.Contains(l, "dark") {
		t.Fatalf("status bar does not name the theme: %q", l)
	}
	before := m.View().Content
	press(m, "t")
	if m.theme.Name != "light" {
		t.Fatalf("t: theme %q, want light", m.theme.Name)
	}
	if l := lineWith(screen(m), "? help"); !strings.Contains(l, "light") {
		t.Errorf("status bar after t: %q", l)
	}
	if m.View().Content == before {
		t.Errorf("the colours did not change")
	}
	press(m, "t", "t", "t", "t")
	if m.theme.Name != "dark" {
		t.Errorf("five t: theme %q, want dark again", m.theme.Name)
	}
}

func TestTooSmall(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 80, 24, "dark")
	m.Update(tea.WindowSizeMsg{Width: 70, Height: 10})
	if s := screen(m); !strings.Contains(s, "terminal too small: need at least 60×16, have 70×10") {
		t.Fatalf("no too-small message:\n%s", s)
	}
	m.Update(tea.WindowSizeMsg{Width: 50, Height: 10})
	s := screen(m)
	if !strings.Contains(s, "terminal too small") || !strings.Contains(s, "need at least 60×16, have 50×10") {
		t.Fatalf("no too-small message:\n%s", s)
	}
	checkFrame(t, m.View().Content, 50, 10)
	m.Update(tea.WindowSizeMsg{Width: 60, Height: 16})
	checkFrame(t, m.View().Content, 60, 16)
	if strings.Contains(screen(m), "too small") {
		t.Errorf("60×16 is big enough")
	}
}

// TestAnySize renders every pane at many sizes and checks that the frame always fills the screen exactly.
func TestAnySize(t *testing.T) {
	f := tuitest.Scripted()
	for _, w := range []int{1, 20, 60, 61, 79, 97, 120, 149, 150, 233} {
		for _, h := range []int{1, 5, 16, 17, 24, 33, 61} {
			m := newTest(t, f, w, h, "dark")
			for p := range numPanes {
				press(m, paneKey(paneID(p)))
				checkFrame(t, m.View().Content, w, h)
				press(m, "?")
				checkFrame(t, m.View().Content, w, h)
				press(m, "?")
			}
			press(m, "7", "enter")
			checkFrame(t, m.View().Content, w, h)
			// The stream, the inspector in every view, the modals and the command line.
			mm := newTest(t, tuitest.Manual(), w, h, "dark")
			press(mm, "4", "down", "down", "down", "enter", "space")
			checkFrame(t, mm.View().Content, w, h)
			press(mm, "n")
			checkFrame(t, mm.View().Content, w, h)
			press(mm, "esc", "P")
			checkFrame(t, mm.View().Content, w, h)
			press(mm, "esc", "/")
			typeText(mm, "$.x >")
			press(mm, "enter")
			checkFrame(t, mm.View().Content, w, h)
			press(mm, "esc", "enter")
			for range 3 {
				checkFrame(t, mm.View().Content, w, h)
				press(mm, "v")
			}
			press(mm, "esc", "c")
			checkFrame(t, mm.View().Content, w, h)
			press(mm, "esc", ":")
			typeText(mm, "th")
			press(mm, "tab", "tab")
			checkFrame(t, mm.View().Content, w, h)
		}
	}
}

func TestLookupInput(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 100, 30, "dark")
	press(m, "2", "L")
	typeText(m, "/iot/sensors")
	if m.active != paneTopics {
		t.Fatalf("typing into the lookup input switched panes")
	}
	cmd := press(m, "enter")
	if s := screen(m); !strings.Contains(s, "looking up /iot/sensors") {
		t.Errorf("no pending lookup shown:\n%s", s)
	}
	run(t, m, cmd)
	if got := f.Calls(); !slices.Contains(got, "Lookup /iot/sensors") {
		t.Fatalf("calls %q, want Lookup /iot/sensors", got)
	}
	s := screen(m)
	if l := lineWith(s, "topic       "); !strings.Contains(l, "/iot/sensors") {
		t.Errorf("lookup result topic line %q", l)
	}
	if l := lineWith(s, "response"); !strings.Contains(l, "connect") {
		t.Errorf("lookup result response line %q", l)
	}
	if l := lineWith(s, "latency"); !strings.Contains(l, "1.2ms") {
		t.Errorf("lookup result latency line %q", l)
	}

	// l on the selected topic looks it up; an error goes to the status bar.
	f.LookupFunc = func(string) (monitor.LookupResult, error) {
		return monitor.LookupResult{}, errors.New("lookup /default/orders: topic not found")
	}
	press(m, "down")
	run(t, m, press(m, "l"))
	if got := f.Calls(); got[len(got)-1] != "Lookup /default/orders" {
		t.Errorf("l looked up %q, want /default/orders", got[len(got)-1])
	}
	if s := screen(m); m.status.text != "lookup /default/orders: topic not found" || !strings.Contains(s, "✗ lookup /default/orders: ") {
		t.Errorf("lookup error not in the status bar (once): %q\n%s", m.status.text, s)
	}

	// esc closes the input without a lookup.
	n := len(f.Calls())
	press(m, "L")
	typeText(m, "/x")
	press(m, "esc")
	if m.topics.inOpen || len(f.Calls()) != n {
		t.Errorf("esc did not cancel the input")
	}
}

func TestStreamFollowPause(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 100, 30, "dark")
	press(m, "4", "down") // billing-1
	if !strings.Contains(screen(m), "FOLLOW") {
		t.Fatalf("stream does not follow by default")
	}
	last := func() string {
		rows := m.consumers.visible(m.consumers.streamRows(m.env()))
		return rows[len(rows)-1].ReceivedAt.Format("15:04:05.000")
	}
	before := last()
	press(m, "f")
	if !strings.Contains(screen(m), "PAUSED") {
		t.Fatalf("f does not pause")
	}
	more := tuitest.Messages("/default/orders", "billing", "billing-1", 3, tuitest.Epoch)
	for i := range more {
		more[i].Seq = 1000 + uint64(i)
	}
	f.Append("s-billing", 1000, more...)
	m.Update(tickMsg{})
	if got := last(); got != before {
		t.Errorf("paused stream changed: last row %s, want %s", got, before)
	}
	press(m, "pgup")
	if m.consumers.off == 0 {
		t.Errorf("pgup did not scroll back")
	}
	press(m, "pgdown", "pgdown")
	if m.consumers.off != 0 {
		t.Errorf("pgdown did not scroll forward to the end")
	}
	press(m, "f")
	if !strings.Contains(screen(m), "FOLLOW") {
		t.Fatalf("f does not resume")
	}
	if got := last(); got != "15:04:05.000" {
		t.Errorf("after resuming the last row is %s, want the new message at 15:04:05.000", got)
	}
	// Following asks only for the visible rows.
	if got, want := len(m.consumers.rows), m.consumers.streamRows(m.env()); got != want {
		t.Errorf("fetched %d rows, want the %d visible", got, want)
	}
}

// TestPausedStreamFillsItsRoom: a paused stream that does not fill the screen shows the messages that
// arrive below the held ones, without moving them or the selection; once the screen is full it stays still.
func TestPausedStreamFillsItsRoom(t *testing.T) {
	f := tuitest.Scripted()
	msgs := func(from, n int) []monitor.Message {
		out := tuitest.Messages("/default/orders", "billing", "billing-1", n, tuitest.Epoch)
		for i := range out {
			out[i].Seq = uint64(from + i)
		}
		return out
	}
	f.SetStream("s-billing", msgs(1, 2), 2)
	m := newTest(t, f, 100, 30, "dark")
	press(m, "4", "down", "enter", "up") // the stream: select the first message, which pauses it
	seqs := func() []uint64 {
		var out []uint64
		for _, r := range m.consumers.visible(m.consumers.streamRows(m.env())) {
			out = append(out, r.Seq)
		}
		return out
	}
	if !strings.Contains(screen(m), "PAUSED") || m.consumers.sel != 1 || !slices.Equal(seqs(), []uint64{1, 2}) {
		t.Fatalf("paused %v, selected %d, rows %v", strings.Contains(screen(m), "PAUSED"), m.consumers.sel, seqs())
	}
	f.Append("s-billing", 1000, msgs(3, 2)...)
	m.Update(tickMsg{})
	if got := seqs(); !slices.Equal(got, []uint64{1, 2, 3, 4}) || m.consumers.sel != 1 || !strings.Contains(screen(m), "PAUSED") {
		t.Errorf("after two arrivals: rows %v, selected %d; want 1..4 with 1 selected, still paused", got, m.consumers.sel)
	}
	rows := m.consumers.streamRows(m.env())
	f.Append("s-billing", 1000, msgs(5, rows)...)
	m.Update(tickMsg{})
	full := seqs()
	if len(full) != rows || full[0] != 1 {
		t.Fatalf("a full screen: rows %v, want %d rows from 1", full, rows)
	}
	f.Append("s-billing", 1000, msgs(5+rows, 3)...)
	m.Update(tickMsg{})
	if got := seqs(); !slices.Equal(got, full) {
		t.Errorf("a full paused screen moved: %v, want %v", got, full)
	}
}

func TestErrorFades(t *testing.T) {
	f := tuitest.Scripted()
	now := tuitest.Epoch
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	m := newTest(t, f, 100, 30, "dark", func(o *Options) { o.Clock = clock })
	f.Update(func(s *monitor.Snapshot) {
		s.LastError, s.LastErrorAt = "ack: stream closed", tuitest.Epoch.Add(-2*time.Second)
	})
	m.Update(tickMsg{})
	if l := lineWith(screen(m), "? help"); !strings.Contains(l, "✗ ack: stream closed") {
		t.Fatalf("status bar lacks the last error: %q", l)
	}
	mu.Lock()
	now = now.Add(7 * time.Second)
	mu.Unlock()
	if l := lineWith(screen(m), "? help"); !strings.Contains(l, "ack: stream closed") {
		t.Errorf("the error faded too early: %q", l)
	}
	mu.Lock()
	now = now.Add(2 * time.Second)
	mu.Unlock()
	if l := lineWith(screen(m), "? help"); strings.Contains(l, "ack: stream closed") {
		t.Errorf("the error did not fade after 10 s: %q", l)
	}
}

func TestPayloadPreview(t *testing.T) {
	cases := []struct {
		in    string
		width int
		want  string
	}{
		{"hello", 10, "hello"},
		{"a\nb\tc\r", 20, `a\nb\tc\r`},
		{"\x00\x1b[31m", 20, `\x00\x1b[31m`},
		{"\xff\xfeok", 20, `\xff\xfeok`},
		{"héllo ✓", 20, "héllo ✓"},
		{"0123456789", 5, "0123…"},
		{"\x00\x00\x00", 6, `\x00…`},
		{"日本語テキスト", 7, "日本語…"},
		{"\u2028x", 20, `\xe2\x80\xa8x`},
	}
	for _, c := range cases {
		got := escapeBytes([]byte(c.in), c.width)
		if got != c.want {
			t.Errorf("escapeBytes(%q, %d) = %q, want %q", c.in, c.width, got, c.want)
		}
		if w := textWidth(got); w > c.width {
			t.Errorf("escapeBytes(%q, %d) is %d cells wide", c.in, c.width, w)
		}
	}
}

func TestUnits(t *testing.T) {
	cases := []struct{ got, want string }{
		{fmtRate(0), "0/s"},
		{fmtRate(3.5), "3.5/s"},
		{fmtRate(1234), "1.2k/s"},
		{fmtRate(999999), "1.0M/s"},
		{fmtByteRate(3_400_000), "3.4 MB/s"},
		{fmtBytes(512), "512 B"},
		{fmtDur(850 * time.Microsecond), "850µs"},
		{fmtDur(12 * time.Millisecond), "12ms"},
		{fmtDur(1500 * time.Microsecond), "1.5ms"},
		{fmtDur(0), "-"},
		{fmtAge(3723 * time.Second), "1h2m"},
		{fmtCount(99999), "99999"},
		{fmtCount(123456), "123k"},
		{sparkline([]float64{0, 1, 2, 3, 4, 5, 6, 7}, 8), "▁▂▃▄▅▆▇█"},
		{sparkline([]float64{7, 7}, 4), "  ██"},
		{sparkline([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9}, 3), "▆▇█"},
		{cutLeft("/default/orders-part-1", 10), "…rs-part-1"},
		{partition("/default/orders", "/default/orders-part-2"), "part-2"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: got %q, want %q", i, c.got, c.want)
		}
	}
}

// TestProgram runs the console in a real Bubble Tea program (teatest): it stops a connector with s (and y to
// the question) and quits with q.
func TestProgram(t *testing.T) {
	f := tuitest.Scripted()
	done := make(chan struct{}, 1)
	filter := func(_ tea.Model, msg tea.Msg) tea.Msg {
		if _, ok := msg.(actionDoneMsg); ok {
			done <- struct{}{}
		}
		return msg
	}
	m := New(f, Options{Clock: tuitest.Clock})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 30),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii), tea.WithFilter(filter)))
	tm.Send(keyMsg("7"))
	tm.Send(keyMsg("s"))
	tm.Send(keyMsg("y")) // yes to the question: stop a running connector?
	<-done               // the stop completed (go test's -timeout catches a hang)
	tm.Send(keyMsg("q"))
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	if got := f.Calls(); !slices.Contains(got, "StopConnector mqtt-in") {
		t.Fatalf("calls %q", got)
	}
	if l := lineWith(screen(final), "mqtt-in"); !strings.Contains(l, "stopped") {
		t.Errorf("final row %q, want stopped", l)
	}
	testenv.Eventually(t, 5*time.Second, func() bool { return slices.Contains(f.Calls(), "Refresh") }, "the first refresh")
}

// TestRunContext checks that cancelling the context ends Run without an error.
func TestRunContext(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	out := &firstWrite{started: make(chan struct{})}
	go func() { errc <- Run(ctx, tuitest.Scripted(), Options{Input: pr, Output: out}) }()
	<-out.started // the program runs: it drew its first frame
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run after cancel: %v", err)
	}
}

// firstWrite is an output that closes started on its first write.
type firstWrite struct {
	once    sync.Once
	started chan struct{}
}

func (w *firstWrite) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.started) })
	return len(p), nil
}

// TestEveryTheme renders every pane in every built-in theme and in the colourless one.
func TestEveryTheme(t *testing.T) {
	names := append(themes.Names(), "plain")
	for _, n := range names {
		m := newTest(t, tuitest.Scripted(), 100, 30, n)
		for p := range numPanes {
			press(m, paneKey(paneID(p)))
			checkFrame(t, m.View().Content, 100, 30)
		}
		if n == "plain" {
			if v := m.View(); v.BackgroundColor != nil {
				t.Errorf("the plain theme sets the terminal background")
			}
		}
	}
}

// ---- taps, manual acks, replay, filters, the command line (issue 7) ----

// selectConsumer selects the consumer named name on the consumers pane (the list has the focus).
func selectConsumer(t *testing.T, m *Model, name string) {
	t.Helper()
	press(m, "4", "g")
	for range len(m.snap.Consumers) {
		if c := m.consumers.selected(m.env()); c != nil && c.Name == name {
			return
		}
		press(m, "down")
	}
	t.Fatalf("no consumer %s", name)
}

// streamSeqs returns the seqs of the stream rows on screen.
func streamSeqs(m *Model) []uint64 {
	var out []uint64
	for _, r := range m.consumers.visible(m.consumers.streamRows(m.env())) {
		out = append(out, r.Seq)
	}
	return out
}

func TestTapCommand(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 120, 40, "dark")
	run(t, m, runLine(m, "consume /default/orders audit-x key-shared --manual"))
	// A subscription named is checked first (the topic described): audit-x does not exist, the tap creates it.
	if got := f.Calls(); !slices.Equal(got, []string{"describe /default/orders", "StartConsumer /default/orders audit-x key-shared console-test-0a1b-tap-1 ManualAck"}) {
		t.Fatalf("calls %q", got)
	}
	if m.active != paneConsumers {
		t.Fatalf("the tap did not switch to the consumers pane (%d)", m.active)
	}
	c := m.consumers.selected(m.env())
	if want := monitor.StreamID("/default/orders", "audit-x", "console-test-0a1b-tap-1"); c == nil || c.Stream != want {
		t.Fatalf("selected %+v, want the tap's stream %s", c, want)
	}
	if st := m.status.text; st != "tapping /default/orders as console-test-0a1b-tap-1 (audit-x, key-shared, manual ack)" {
		t.Errorf("status %q", st)
	}
	s := screen(m)
	if !strings.Contains(lineWith(s, "Stream"), "0 pending · ack timeout 30s") {
		t.Errorf("the stream title lacks the manual-ack counts: %q", lineWith(s, "Stream"))
	}

	// Defaults: the console's own subscription, shared, auto-ack; :tap is an alias; several taps at once,
	// each of a console's taps on one topic on a subscription of its own.
	run(t, m, runLine(m, "tap /default/audit"))
	if got := f.Calls(); got[len(got)-1] != "StartConsumer /default/audit console-test-0a1b shared console-test-0a1b-tap-2" {
		t.Fatalf("calls %q", got)
	}
	if c := m.consumers.selected(m.env()); c == nil || c.Name != "console-test-0a1b-tap-2" {
		t.Fatalf("selected %+v, want console-test-0a1b-tap-2", c)
	}
	run(t, m, runLine(m, "tap /default/audit"))
	if got := f.Calls(); got[len(got)-1] != "StartConsumer /default/audit console-test-0a1b-2 shared console-test-0a1b-tap-3" {
		t.Fatalf("a second tap on the topic: calls %q", got)
	}
	if n := len(liveTaps(m.env())); n != 3 {
		t.Errorf("%d taps running, want 3", n)
	}

	// Errors stay in the command line.
	press(m, ":")
	typeText(m, "consume /default/orders s1 sideways")
	if cmd := press(m, "enter"); cmd != nil || !m.cmd.open || !strings.Contains(m.cmd.err, "unknown type sideways") {
		t.Errorf("a bad type: open %v, err %q", m.cmd.open, m.cmd.err)
	}
	press(m, "esc")

	// A failing start lands in the status bar.
	f.ProduceErr = errors.New("subscribe console-test-0a1b to /default/nope: broker unavailable")
	run(t, m, runLine(m, "consume /default/nope"))
	if m.status.text != f.ProduceErr.Error() {
		t.Errorf("status %q, want the backend's error as it is", m.status.text)
	}
	// A topic that does not exist: what to do, not the client's chain of errors.
	f.ProduceErr = fmt.Errorf("start consumer tap-3 on /default/nope: subscribe /default/nope: %w", client.ErrTopicNotFound)
	run(t, m, runLine(m, "consume /default/nope"))
	if want := "tap /default/nope: no such topic; publish to it first (consumers never create topics)"; m.status.text != want {
		t.Errorf("status %q, want %q", m.status.text, want)
	}
}

func TestTapForm(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 120, 40, "dark")
	press(m, "2", "down", "c") // /default/orders
	if _, ok := m.modal.(*tapForm); !ok {
		t.Fatalf("c on a topic did not open the tap form")
	}
	s := screen(m)
	if !strings.Contains(s, "Tap a topic") || !strings.Contains(lineWith(s, "topic    "), "/default/orders") {
		t.Fatalf("the form does not show the topic:\n%s", s)
	}
	// subscription (focused first when the topic is given) → type: → failover → manual: yes.
	press(m, "tab", "right", "tab", "space")
	run(t, m, press(m, "enter"))
	if got := f.Calls(); !slices.Equal(got, []string{"StartConsumer /default/orders console-test-0a1b failover console-test-0a1b-tap-1 ManualAck"}) {
		t.Fatalf("calls %q", got)
	}
	if m.modal != nil || m.active != paneConsumers {
		t.Errorf("the form stayed open or the pane did not switch")
	}

	// c on the consumers pane opens it on the selected consumer's topic; esc cancels it.
	press(m, "c")
	fm, ok := m.modal.(*tapForm)
	if !ok || fm.topic.Value() != "/default/orders" || fm.name != "console-test-0a1b-tap-2" {
		t.Fatalf("c: modal %T", m.modal)
	}
	press(m, "esc")
	if m.modal != nil || len(f.Calls()) != 1 {
		t.Errorf("esc did not cancel the form")
	}
	// A bad topic is refused in the form.
	press(m, "c", "shift+tab", "ctrl+u")
	typeText(m, "orders")
	press(m, "enter")
	if fm := m.modal.(*tapForm); fm.err != "a topic is /namespace/name" {
		t.Errorf("form error %q", fm.err)
	}
}

func TestStopTap(t *testing.T) {
	f := tuitest.Manual()
	m := newTest(t, f, 120, 40, "dark")
	selectConsumer(t, m, "billing-1")
	if cmd := press(m, "x"); cmd != nil {
		t.Errorf("x on a consumer that is not a tap returned a command")
	}
	if s := screen(m); !strings.Contains(s, "not a tap started from the console") {
		t.Errorf("no reason in the status bar:\n%s", s)
	}
	selectConsumer(t, m, "tap-1")
	run(t, m, press(m, "x"))
	if got := f.Calls(); !slices.Equal(got, []string{"StopConsumer tap-1"}) {
		t.Fatalf("calls %q", got)
	}
	if s := screen(m); !strings.Contains(s, "stopped tap-1") {
		t.Errorf("no stop message:\n%s", s)
	}
	// :stop NAME; an unknown one reports the backend's error.
	run(t, m, runLine(m, "stop tap-9"))
	if s := screen(m); !strings.Contains(s, "✗ stop tap-9: tuitest: unknown name ") {
		t.Errorf("no error for an unknown tap:\n%s", s)
	}
}

func TestManualAck(t *testing.T) {
	f := tuitest.Manual()
	m := newTest(t, f, 120, 40, "dark")
	selectConsumer(t, m, "tap-1")
	press(m, "enter") // the stream takes the focus, on the newest message (40)
	if m.consumers.sel != 40 {
		t.Fatalf("selected seq %d, want 40", m.consumers.sel)
	}
	press(m, "space", "up", "up", "space") // 40 and 38 (39 is acked already)
	s := screen(m)
	if !strings.Contains(lineWith(s, "Stream"), "2 marked") || !strings.Contains(lineWith(s, "Stream"), "30 pending · ack timeout 30s") {
		t.Errorf("stream title %q", lineWith(s, "Stream"))
	}
	if !strings.Contains(lineWith(s, "     739  "), "pending") || !strings.Contains(lineWith(s, "     739  "), "29s") {
		t.Errorf("row 739: %q, want pending and 29s left", lineWith(s, "     739  "))
	}
	cmd := press(m, "a")
	if cmd == nil {
		t.Fatal("a returned no command")
	}
	run(t, m, cmd)
	if got := f.Calls(); !slices.Equal(got, []string{"Ack " + tuitest.ManualStream + " [38 40]"}) {
		t.Fatalf("calls %q", got)
	}
	s = screen(m)
	if !strings.Contains(s, "acked 2 messages") {
		t.Errorf("no ack message:\n%s", s)
	}
	if strings.Contains(lineWith(s, "Stream"), "marked") || !strings.Contains(lineWith(s, "Stream"), "28 pending") {
		t.Errorf("after the ack the title reads %q", lineWith(s, "Stream"))
	}
	if l := lineWith(s, "     739  "); !strings.Contains(l, "acked") {
		t.Errorf("row 739 after the ack: %q", l)
	}

	// Acking what is not pending is an error naming them.
	press(m, "down") // 39, acked
	run(t, m, press(m, "a"))
	if s := screen(m); !strings.HasPrefix(m.status.text, "ack 1 messages of /default/payments: messages not pending: offsets [") ||
		!strings.Contains(s, "✗ ack 1 messages of /default/payments") {
		t.Errorf("no error for a settled message: %q\n%s", m.status.text, s)
	}

	// Not a manual-ack tap: a explains.
	selectConsumer(t, m, "billing-1")
	press(m, "enter")
	if cmd := press(m, "a"); cmd != nil {
		t.Errorf("a on an auto-ack consumer returned a command")
	}
	if s := screen(m); !strings.Contains(s, "acks automatically") {
		t.Errorf("no reason in the status bar:\n%s", s)
	}
}

func TestNackPrompt(t *testing.T) {
	f := tuitest.Manual()
	m := newTest(t, f, 120, 40, "dark")
	selectConsumer(t, m, "tap-1")
	press(m, "enter", "up", "up") // 38
	press(m, "n")
	if _, ok := m.modal.(*nackPrompt); !ok {
		t.Fatalf("n did not open the nack prompt")
	}
	typeText(m, "soon")
	press(m, "enter")
	if p := m.modal.(*nackPrompt); !strings.Contains(p.err, "the delay is a duration") || len(f.Calls()) != 0 {
		t.Fatalf("a bad delay: err %q, calls %q", p.err, f.Calls())
	}
	press(m, "ctrl+u")
	typeText(m, "5s")
	press(m, "tab")
	typeText(m, "poison pill")
	run(t, m, press(m, "enter"))
	if got := f.Calls(); !slices.Equal(got, []string{"Nack " + tuitest.ManualStream + " [38] 5s poison pill"}) {
		t.Fatalf("calls %q", got)
	}
	if s := screen(m); !strings.Contains(s, "nacked 1 message (redelivery after 5s): poison pill") {
		t.Errorf("no nack message:\n%s", s)
	}
	if l := lineWith(screen(m), "     737  "); !strings.Contains(l, "nacked") {
		t.Errorf("row 737 after the nack: %q", l)
	}
	// esc cancels; an empty delay is 0.
	press(m, "up", "n", "esc")
	if m.modal != nil || len(f.Calls()) != 1 {
		t.Errorf("esc did not cancel the prompt")
	}
	run(t, m, press(m, "n", "enter"))
	if got := f.Calls(); got[len(got)-1] != "Nack "+tuitest.ManualStream+" [37] 0s" {
		t.Errorf("calls %q", got)
	}
}

func TestReplayReview(t *testing.T) {
	f := tuitest.Scripted()
	f.ReplayGate = make(chan struct{})
	m := newTest(t, f, 120, 40, "dark")
	selectConsumer(t, m, "billing-1")
	press(m, "enter", "space", "up", "space") // seqs 200 and 199
	press(m, "P")
	r, ok := m.modal.(*replayModal)
	if !ok {
		t.Fatalf("P did not open the review")
	}
	s := screen(m)
	for _, want := range []string{"Replay · review", "messages    2 (marked)", "bytes       96 B", "keys        1 distinct (1 without a key)", "Nothing is sent yet"} {
		if !strings.Contains(s, want) {
			t.Errorf("the review lacks %q:\n%s", want, s)
		}
	}
	// The two messages are on two partitions: the default target is each one's own topic.
	if r.topic.Value() != "" {
		t.Errorf("default target %q, want each message's own topic", r.topic.Value())
	}
	// Into the topics they came from (the default), enter sends nothing and says what y would do.
	if cmd := press(m, "enter"); cmd != nil || len(f.Calls()) != 0 || !strings.Contains(screen(m), "back into the topic they came from") {
		t.Fatalf("enter replayed into the source topics: calls %q\n%s", f.Calls(), screen(m))
	}
	// Cancelling sends nothing.
	press(m, "esc")
	if m.modal != nil || len(f.Calls()) != 0 {
		t.Fatalf("esc: modal %T, calls %q", m.modal, f.Calls())
	}
	if s := screen(m); !strings.Contains(s, "replay cancelled: nothing sent") {
		t.Errorf("no cancel message:\n%s", s)
	}

	// Edit the target, confirm, watch the progress.
	press(m, "P", "e")
	typeText(m, "/default/x")
	cmd := press(m, "enter")
	if cmd == nil {
		t.Fatal("enter did not start the replay")
	}
	go func() { f.ReplayGate <- struct{}{} }()
	msg := cmd()
	if p, ok := msg.(replayProgressMsg); !ok || p.done != 1 || p.total != 2 {
		t.Fatalf("first message %#v, want progress 1 of 2", msg)
	}
	_, cmd = m.Update(msg)
	if s := screen(m); !strings.Contains(s, "1 of 2") || !strings.Contains(s, "Replay · running") {
		t.Errorf("no progress shown:\n%s", s)
	}
	go func() { f.ReplayGate <- struct{}{} }()
	runChain(t, m, cmd)
	if got := f.Calls(); !slices.Equal(got, []string{"Replay 2 -> /default/x"}) {
		t.Fatalf("calls %q", got)
	}
	var seqs []uint64
	for _, msg := range f.Replayed() {
		seqs = append(seqs, msg.Seq)
	}
	if !slices.Equal(seqs, []uint64{199, 200}) {
		t.Errorf("replayed seqs %v, want the marked 199 and 200", seqs)
	}
	if m.modal != nil {
		t.Errorf("the modal stayed open")
	}
	if s := screen(m); !strings.Contains(s, "replayed 2 messages (96 B) to /default/x") {
		t.Errorf("no result in the status bar:\n%s", s)
	}

	// :replay --filtered replays what the filter matches, to the topic given.
	f.ReplayGate = nil
	run(t, m, runLine(m, "filter ada"))
	if cmd := runLine(m, "replay /default/y --filtered"); cmd != nil || m.modal == nil {
		t.Fatalf(":replay --filtered did not open the review")
	}
	if s := screen(m); !strings.Contains(s, "messages    34 (filtered)") || !strings.Contains(lineWith(s, " to "), "/default/y") {
		t.Errorf("the filtered review:\n%s", s)
	}
	runChain(t, m, press(m, "y"))
	if got := f.Calls(); got[len(got)-1] != "Replay 34 -> /default/y" {
		t.Errorf("calls %q", got)
	}
}

func TestReplayCancelWhileRunning(t *testing.T) {
	f := tuitest.Scripted()
	f.ReplayGate = make(chan struct{})
	m := newTest(t, f, 120, 40, "dark")
	selectConsumer(t, m, "billing-1")
	press(m, "enter", "space", "up", "space", "up", "space", "P")
	cmd := press(m, "y")
	go func() { f.ReplayGate <- struct{}{} }()
	msg := cmd()
	_, cmd = m.Update(msg)
	press(m, "esc") // cancels the rest
	runChain(t, m, cmd)
	if st := m.status.text; !strings.HasPrefix(st, "replay cancelled: replayed 1 message") || !strings.HasSuffix(st, "2 not sent") {
		t.Errorf("status %q", st)
	}
}

func TestFilterStream(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 120, 40, "dark")
	selectConsumer(t, m, "billing-1")
	before := len(streamSeqs(m))
	press(m, "/")
	typeText(m, "ada")
	press(m, "enter")
	if m.consumers.fin.open {
		t.Fatal("enter did not close the filter input")
	}
	rows := m.consumers.visible(m.consumers.streamRows(m.env()))
	if len(rows) == 0 || len(rows) > before {
		t.Fatalf("%d rows with the filter (%d without)", len(rows), before)
	}
	for _, r := range rows {
		if !strings.Contains(string(r.Payload), "ada") {
			t.Errorf("row %d does not match: %q", r.Seq, r.Payload)
		}
	}
	if l := lineWith(screen(m), "Stream"); !strings.Contains(l, "34 of 200 match") {
		t.Errorf("stream title %q, want 34 of 200 match", l)
	}

	// A syntax error stays in the input, in its line, and keeps the filter.
	press(m, "/", "ctrl+u")
	typeText(m, "$.total >")
	press(m, "enter")
	if !m.consumers.fin.open || m.consumers.filter.String() != "ada" {
		t.Fatalf("after a syntax error: open %v, filter %q", m.consumers.fin.open, m.consumers.filter)
	}
	if l := lineWith(screen(m), "filter›"); !strings.Contains(l, "✗ filter: syntax error") {
		t.Errorf("the input line lacks the error: %q", l)
	}
	// esc cancels the edit.
	press(m, "esc")
	if m.consumers.fin.open || m.consumers.filter.String() != "ada" {
		t.Errorf("esc: open %v, filter %q", m.consumers.fin.open, m.consumers.filter)
	}
	// Terms combine: key glob, negation, JSON paths.
	press(m, "/", "ctrl+u")
	typeText(m, "$.total > 40 -key:key-1*")
	press(m, "enter")
	for _, r := range m.consumers.visible(m.consumers.streamRows(m.env())) {
		if !strings.Contains(string(r.Payload), `"total":42.5`) || strings.HasPrefix(r.Key, "key-1") && r.HasKey {
			t.Errorf("row %d (key %q) should not match", r.Seq, r.Key)
		}
	}
	// An empty filter clears it; the stream was never changed.
	press(m, "/", "ctrl+u", "enter")
	if m.consumers.filter != nil || len(streamSeqs(m)) != before {
		t.Errorf("empty filter: %q, %d rows (want %d)", m.consumers.filter, len(streamSeqs(m)), before)
	}
	if s := screen(m); !strings.Contains(s, "filter cleared") {
		t.Errorf("no message for the cleared filter")
	}
}

func TestCommandHistory(t *testing.T) {
	hist := t.TempDir() + "/history"
	f := tuitest.Scripted()
	m := newTest(t, f, 100, 30, "dark", func(o *Options) { o.HistoryFile = hist })
	runLine(m, "theme light")
	runLine(m, "theme dark")
	runLine(m, "theme dark") // consecutive duplicates are kept once
	press(m, ":")
	typeText(m, "look")
	press(m, "up")
	if v := m.cmd.in.Value(); v != "theme dark" {
		t.Fatalf("up: %q", v)
	}
	press(m, "up", "up")
	if v := m.cmd.in.Value(); v != "theme light" {
		t.Fatalf("up ×3: %q", v)
	}
	press(m, "down")
	if v := m.cmd.in.Value(); v != "theme dark" {
		t.Fatalf("down: %q", v)
	}
	press(m, "down")
	if v := m.cmd.in.Value(); v != "look" {
		t.Fatalf("down past the newest: %q, want the line being typed", v)
	}
	press(m, "esc")
	// The file keeps them for the next session.
	m2 := newTest(t, f, 100, 30, "dark", func(o *Options) { o.HistoryFile = hist })
	press(m2, ":", "up")
	if v := m2.cmd.in.Value(); v != "theme dark" {
		t.Errorf("history of a new session: %q", v)
	}
}

func TestCommandCompletion(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 100, 30, "dark")
	press(m, ":")
	typeText(m, "con")
	press(m, "tab")
	if v := m.cmd.in.Value(); v != "consume" {
		t.Fatalf("tab: %q", v)
	}
	if l := lineWith(screen(m), "[consume]"); !strings.Contains(l, "connector") {
		t.Errorf("the candidates are not shown: %q", l)
	}
	press(m, "tab")
	if v := m.cmd.in.Value(); v != "connector" {
		t.Fatalf("tab tab: %q", v)
	}
	press(m, "tab", "shift+tab")
	if v := m.cmd.in.Value(); v != "connector" {
		t.Fatalf("tab back: %q", v)
	}
	// Arguments: the connector's verbs, then its names.
	typeText(m, " st")
	press(m, "tab")
	if v := m.cmd.in.Value(); v != "connector start" {
		t.Fatalf("verb: %q", v)
	}
	press(m, "tab")
	if v := m.cmd.in.Value(); v != "connector stop" {
		t.Fatalf("verb cycled: %q", v)
	}
	typeText(m, " or")
	press(m, "tab")
	if v := m.cmd.in.Value(); v != "connector stop orders-pg " {
		t.Fatalf("a single candidate completes with a space: %q", v)
	}
	press(m, "esc")
	// Topics, types and flags for :consume.
	press(m, ":")
	typeText(m, "consume /default/o")
	press(m, "tab")
	if v := m.cmd.in.Value(); v != "consume /default/orders " {
		t.Fatalf("topic: %q", v)
	}
	press(m, "tab")
	if v := m.cmd.in.Value(); v != "consume /default/orders console-test-0a1b" {
		t.Fatalf("subscription: %q", v)
	}
	press(m, "tab")
	if v := m.cmd.in.Value(); v != "consume /default/orders billing" {
		t.Fatalf("subscription cycled: %q", v)
	}
	typeText(m, " key")
	press(m, "tab")
	typeText(m, "--m")
	press(m, "tab")
	if v := m.cmd.in.Value(); v != "consume /default/orders billing key-shared --manual " {
		t.Fatalf("type and flag: %q", v)
	}
	press(m, "esc")
	// Themes.
	press(m, ":")
	typeText(m, "theme dr")
	press(m, "tab", "enter")
	if m.theme.Name != "dracula" {
		t.Errorf(":theme dr<tab>: theme %q", m.theme.Name)
	}
}

func TestUnknownCommand(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 100, 30, "dark")
	press(m, ":")
	typeText(m, "lokup /default/orders")
	if cmd := press(m, "enter"); cmd != nil {
		t.Errorf("an unknown command returned a command")
	}
	if !m.cmd.open {
		t.Fatal("the command line closed on an error")
	}
	if l := lineWith(screen(m), "lokup"); !strings.Contains(l, `✗ unknown command "lokup" — did you mean :lookup?`) {
		t.Errorf("command line %q", l)
	}
	// Typing clears the error; :q quits.
	press(m, "esc")
	if cmd := runLine(m, "q"); cmd == nil {
		t.Errorf(":q did not quit")
	}
	// :lookup runs a lookup on the topics pane.
	f := tuitest.Scripted()
	m = newTest(t, f, 100, 30, "dark")
	run(t, m, runLine(m, "lookup /iot/sensors"))
	if m.active != paneTopics || !slices.Equal(f.Calls(), []string{"Lookup /iot/sensors"}) {
		t.Errorf(":lookup: pane %d, calls %q", m.active, f.Calls())
	}
}

func TestProduceAndExport(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 120, 40, "dark")
	run(t, m, runLine(m, "produce /default/orders hello   world"))
	if got := f.Calls(); !slices.Equal(got, []string{"Produce /default/orders hello   world"}) {
		t.Fatalf("calls %q", got)
	}
	if s := screen(m); !strings.Contains(s, "produced 1 message (13 B) to /default/orders") {
		t.Errorf("no produce message:\n%s", s)
	}
	selectConsumer(t, m, "billing-1")
	press(m, "enter", "space", "up", "up", "space")
	run(t, m, runLine(m, "export /tmp/out.jsonl"))
	if got := f.Calls(); got[len(got)-1] != "Export /tmp/out.jsonl 2" {
		t.Fatalf("calls %q", got)
	}
	if s := screen(m); !strings.Contains(s, "exported 2 messages to /tmp/out.jsonl") {
		t.Errorf("no export message:\n%s", s)
	}
	run(t, m, runLine(m, "filter ada"))
	run(t, m, runLine(m, "export /tmp/f.jsonl --filtered"))
	if got := f.Calls(); got[len(got)-1] != "Export /tmp/f.jsonl 34" {
		t.Fatalf("calls %q", got)
	}
	f.ExportErr = errors.New("export 2 messages to /root/x: permission denied")
	run(t, m, runLine(m, "export /root/x --marked"))
	if s := screen(m); !strings.Contains(s, "✗ export 2 messages to /root/x: permission denied ") {
		t.Errorf("no export error:\n%s", s)
	}
}

func TestReadOnlyBlocks(t *testing.T) {
	f := tuitest.Manual()
	m := newTest(t, f, 120, 40, "dark", func(o *Options) { o.ReadOnly = true })
	selectConsumer(t, m, "tap-1")
	press(m, "enter", "space")
	for _, k := range []string{"a", "n", "P", "c"} {
		if cmd := press(m, k); cmd != nil || m.modal != nil {
			t.Errorf("%s in read-only mode: command %v, modal %T", k, cmd != nil, m.modal)
		}
		if s := screen(m); !strings.Contains(s, "read-only: ") || !strings.Contains(s, "is disabled") {
			t.Errorf("%s: no reason in the status bar:\n%s", k, s)
		}
	}
	for _, line := range []string{"produce /default/x hi", "connector stop mqtt-in", "consume /default/x", "replay"} {
		if cmd := runLine(m, line); cmd != nil {
			t.Errorf(":%s in read-only mode returned a command", line)
		}
		if !strings.Contains(m.cmd.err, "read-only: :") {
			t.Errorf(":%s: command line error %q", line, m.cmd.err)
		}
		press(m, "esc")
	}
	press(m, "2", "c")
	if m.modal != nil {
		t.Errorf("c on a topic opened the tap form in read-only mode")
	}
	if len(f.Calls()) != 0 {
		t.Errorf("read-only mode called %q", f.Calls())
	}
	// Stopping a tap only releases the console's own consumer: allowed.
	selectConsumer(t, m, "tap-1")
	run(t, m, press(m, "x"))
	if got := f.Calls(); !slices.Equal(got, []string{"StopConsumer tap-1"}) {
		t.Errorf("calls %q", got)
	}
}

func TestReadOnlyAtRuntime(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 120, 40, "dark")
	if strings.Contains(screen(m), "READ-ONLY") {
		t.Fatal("read-only from the start")
	}
	press(m, "ctrl+o")
	if s := screen(m); !strings.Contains(s, "READ-ONLY") || !strings.HasSuffix(m.status.text, "for the rest of the session") {
		t.Fatalf("ctrl+o did not turn read-only on:\n%s", s)
	}
	press(m, "ctrl+o")
	runLine(m, "readonly")
	if !m.readOnly() {
		t.Fatal("read-only was turned off")
	}
	press(m, "7")
	if cmd := press(m, "s"); cmd != nil {
		t.Errorf("s after ctrl+o returned a command")
	}
	// The help shows the disabled keys and commands dimmed.
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 48})
	press(m, "?")
	s := screen(m)
	press(m, "G") // the commands are at the end of the help, which scrolls
	s += screen(m)
	for _, want := range []string{`start / stop \(read-only\)`, `:produce +publish one message \(read-only\)`,
		`:unsubscribe +delete a subscription and its kept messages \(read-only\)`, `look topic up`} {
		if !regexp.MustCompile(want).MatchString(s) {
			t.Errorf("help lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "look topic up (read-only)") {
		t.Errorf("a safe key is marked read-only")
	}
}

func TestInspector(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 120, 40, "dark")
	selectConsumer(t, m, "billing-1")
	press(m, "enter")
	// Walk back to a JSON order (seq 199: payload 198 % 6 = 0).
	press(m, "up")
	cmd := press(m, "enter")
	in := m.consumers.insp
	if in == nil || in.cur().Seq != 199 {
		t.Fatalf("enter did not inspect message 199")
	}
	run(t, m, cmd) // the schema subject
	s := screen(m)
	for _, want := range []string{"Message @ offset 5066", `"order_id": 1001,`, `"items": [`, "payload · json · 70 B", "id 3 v2 · orders-value",
		"content-type=application/json", "trace-id=t-0198", "/default/orders-part-0 @ 5066"} {
		if !strings.Contains(s, want) {
			t.Errorf("the inspector lacks %q:\n%s", want, s)
		}
	}
	if !slices.Contains(f.Calls(), "SchemaSubject 3") {
		t.Errorf("calls %q", f.Calls())
	}
	press(m, "v")
	if in.pv != viewText || !strings.Contains(screen(m), `{"order_id":1001,"customer":"ada"`) {
		t.Errorf("v: view %v", in.pv)
	}
	press(m, "v")
	if in.pv != viewHex || !strings.Contains(screen(m), `00000000  7b 22 6f 72 64 65 72 5f  69 64 22 3a 31 30 30 31 |{"order_id":1001|`) {
		t.Errorf("v v: view %v:\n%s", in.pv, screen(m))
	}
	press(m, "v")
	if in.pv != viewJSON {
		t.Errorf("v v v: view %v, want json again", in.pv)
	}
	// Next and previous without leaving; binary payloads offer hex only.
	press(m, "n")
	if in.cur().Seq != 200 || !strings.Contains(screen(m), "line two") {
		t.Errorf("n: seq %d", in.cur().Seq)
	}
	press(m, "n")
	if in.cur().Seq != 200 || !strings.Contains(screen(m), "this is the newest message") {
		t.Errorf("n at the end: seq %d", in.cur().Seq)
	}
	press(m, "[", "[", "[", "[", "[")
	if in.cur().Seq != 195 || in.pv != viewHex || len(in.views) != 1 {
		t.Errorf("[×5: seq %d, view %v, views %v", in.cur().Seq, in.pv, in.views)
	}
	press(m, "]", "p")
	if in.cur().Seq != 195 {
		t.Errorf("] p: seq %d", in.cur().Seq)
	}
	press(m, "esc")
	if m.consumers.insp != nil || m.active != paneConsumers {
		t.Errorf("esc did not close the inspector")
	}
	if m.consumers.sel != 195 {
		t.Errorf("the stream selection did not follow the inspector: %d", m.consumers.sel)
	}
}

func TestInspectorScroll(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 80, 24, "dark")
	selectConsumer(t, m, "billing-1")
	press(m, "enter", "up", "up", "up", "up", "up", "up", "up", "up", "up") // seq 191: the long lorem ipsum line
	press(m, "enter")
	in := m.consumers.insp
	if in.cur().Seq != 191 || in.pv != viewText {
		t.Fatalf("inspecting seq %d in %v", in.cur().Seq, in.pv)
	}
	top := screen(m)
	press(m, "pgdown")
	if screen(m) == top || in.vp.YOffset() == 0 {
		t.Errorf("pgdown did not scroll the payload")
	}
	m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelUp, Y: 15})
	m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelUp, Y: 15})
	m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelUp, Y: 15})
	if in.vp.YOffset() != 0 {
		t.Errorf("the wheel did not scroll back: offset %d", in.vp.YOffset())
	}
}

func TestMouseSelectsRows(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 120, 40, "dark")
	press(m, "4")
	// The list's rows start on line 4 of the screen (header 2, border, column titles).
	m.Update(tea.MouseClickMsg{X: 10, Y: 4 + 2, Button: tea.MouseLeft})
	if c := m.consumers.selected(m.env()); c == nil || c.Name != "shipping-1" {
		t.Fatalf("click on the third consumer selected %+v", c)
	}
	listH, _ := consumersLayout(m.bodyHeight(), len(m.snap.Consumers))
	rowsTop := headerHeight + listH + 2
	want := streamSeqs(m)[3]
	m.Update(tea.MouseClickMsg{X: 30, Y: rowsTop + 3, Button: tea.MouseLeft})
	if !m.consumers.focus || m.consumers.sel != want || m.consumers.follow {
		t.Fatalf("click on a message: focus %v, sel %d (want %d), follow %v", m.consumers.focus, m.consumers.sel, want, m.consumers.follow)
	}
	// The wheel over the stream scrolls it, over the list moves the selection.
	m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelUp, X: 30, Y: rowsTop + 3})
	if m.consumers.off != 3 {
		t.Errorf("wheel up over the stream: off %d, want 3", m.consumers.off)
	}
	m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelUp, X: 30, Y: 5})
	if c := m.consumers.selected(m.env()); c == nil || c.Name != "billing-1" || m.consumers.focus {
		t.Errorf("wheel up over the list selected %+v (focus %v)", c, m.consumers.focus)
	}
	// Other panes: a click selects the row.
	press(m, "7")
	m.Update(tea.MouseClickMsg{X: 10, Y: 4 + 2, Button: tea.MouseLeft})
	if c := m.connectors.selected(m.env()); c == nil || c.Name != "audit-jsonl" {
		t.Errorf("click on the third connector selected %+v", c)
	}
	press(m, "2")
	m.Update(tea.MouseClickMsg{X: 10, Y: 4 + 4, Button: tea.MouseLeft})
	if i := m.topics.cur.idx; i != 4 {
		t.Errorf("click on the fifth topic selected %d", i)
	}
}

func TestPayloadViews(t *testing.T) {
	cases := []struct {
		in   string
		want []payloadView
	}{
		{`{"a":1}`, []payloadView{viewJSON, viewText, viewHex}},
		{"plain text\n", []payloadView{viewText, viewHex}},
		{"\x00\x01", []payloadView{viewHex}},
		{"\xff\xfe", []payloadView{viewHex}},
		{"", []payloadView{viewText, viewHex}},
	}
	for _, c := range cases {
		if got := payloadViews([]byte(c.in)); !slices.Equal(got, c.want) {
			t.Errorf("payloadViews(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	m := newTest(t, tuitest.Scripted(), 80, 24, "dark")
	doc := `{"a":[1,2,{"b":null,"c":"x\"y"}],"d":{},"e":[],"f":true,"g":-1.5e3}`
	got := ansi.Strip(strings.Join(m.st.jsonLines([]byte(doc), 40), "\n"))
	want := `{
  "a": [
    1,
    2,
    {
      "b": null,
      "c": "x\"y"
    }
  ],
  "d": {},
  "e": [],
  "f": true,
  "g": -1.5e3
}`
	if got != want {
		t.Errorf("jsonLines:\n%s\nwant:\n%s", got, want)
	}
	// Long strings wrap, indented like their line; nothing is wider than the width.
	long := `{"k":"` + strings.Repeat("abcdefghij", 5) + `"}`
	for _, l := range m.st.jsonLines([]byte(long), 20) {
		if w := ansi.StringWidth(l); w > 20 {
			t.Errorf("json line %q is %d wide", ansi.Strip(l), w)
		}
	}
	hex := ansi.Strip(strings.Join(m.st.hexLines([]byte("0123456789abcdefXYZ\x00"), 78), "\n"))
	wantHex := "00000000  30 31 32 33 34 35 36 37  38 39 61 62 63 64 65 66 |0123456789abcdef|\n" +
		"00000010  58 59 5a 00                                      |XYZ.|"
	if hex != wantHex {
		t.Errorf("hexLines:\n%s\nwant:\n%s", hex, wantHex)
	}
	if got := ansi.Strip(strings.Join(m.st.textLines([]byte("a\tb\r\nc\x1bd"), 10), "|")); got != `a   b|c\x1bd` {
		t.Errorf("textLines: %q", got)
	}
}

func TestPreviewHighlights(t *testing.T) {
	st := newStyles(themes.Default())
	b := []byte("say ada\nada!")
	got := previewHL(b, 40, [][2]int{{4, 7}, {8, 11}}, paint{pre: "<", post: ">"}, paint{pre: "[", post: "]"})
	if want := `<say >[ada]<\n>[ada]<!>`; got != want {
		t.Errorf("previewHL = %q, want %q", got, want)
	}
	// Cut previews keep their ellipsis.
	got = ansi.Strip(previewHL(b, 6, [][2]int{{4, 7}}, st.text, st.highlight))
	if got != "say a…" {
		t.Errorf("cut preview %q", got)
	}
}

// TestAdminUnreachable: when the admin API does not answer, the header says so next to the broker's state
// and the topics pane says why it lists nothing.
func TestAdminUnreachable(t *testing.T) {
	f := tuitest.Scripted()
	f.Update(func(s *monitor.Snapshot) {
		s.Topics, s.Namespaces = nil, nil
		s.AdminErr = "the admin API at http://127.0.0.1:50051 does not answer: connection refused"
	})
	m := newTest(t, f, 160, 40, "dark")
	s := screen(m)
	if l := lineWith(s, "Danube Console"); !strings.Contains(l, "● up admin ✗") {
		t.Errorf("header %q lacks the admin badge after the broker's state", l)
	}
	press(m, "2")
	if !strings.Contains(screen(m), "no topics (--admin-url sets the admin API's address): the admin API at http://127.0.0.1:50051") {
		t.Errorf("the topics pane does not say why it is empty:\n%s", screen(m))
	}
}

// TestProducerCommand: :producer starts a producer of test messages at a rate, shown selected on the
// producers pane; x stops it there (and only producers started from the console); :stop stops one by name;
// bad rates and read-only mode are refused.
func TestProducerCommand(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 160, 40, "dark")
	run(t, m, runLine(m, "producer /default/load 250 customer-1 --reliable"))
	if got := f.Calls(); got[len(got)-1] != "StartProducer /default/load producer-1 250 key=customer-1 reliable" {
		t.Fatalf("calls %q", got)
	}
	if m.active != paneProducers || !strings.Contains(m.status.text, "producing to /default/load as producer-1 at 250/s (reliable)") {
		t.Fatalf("pane %v, status %q", m.active, m.status.text)
	}
	if l := lineWith(screen(m), "x stops producer-1"); l == "" {
		t.Errorf("the pane does not offer to stop the selected producer:\n%s", screen(m))
	}
	run(t, m, press(m, "x"))
	if got := f.Calls(); got[len(got)-1] != "StopProducer producer-1" || m.status.text != "stopped producer-1" {
		t.Fatalf("x: calls %q, status %q", got, m.status.text)
	}
	run(t, m, press(m, "x"))
	if got := f.Calls(); got[len(got)-1] != "StopProducer producer-1" || len(got) != 2 || m.status.text != "producer-1 is stopped already" {
		t.Fatalf("x again: calls %q, status %q", got, m.status.text)
	}
	// x on a producer the console did not start.
	press(m, "home")
	for i := range m.snap.Producers {
		if !m.snap.Producers[i].AdHoc {
			break
		}
		press(m, "down")
	}
	n := len(f.Calls())
	run(t, m, press(m, "x"))
	if len(f.Calls()) != n || !strings.Contains(m.status.text, "was not started from the console") {
		t.Errorf("x on another producer: calls %q, status %q", f.Calls()[n:], m.status.text)
	}

	run(t, m, runLine(m, "producer /default/load"))
	if got := f.Calls(); got[len(got)-1] != "StartProducer /default/load producer-2 10" {
		t.Fatalf("default rate: calls %q", got)
	}
	run(t, m, runLine(m, "stop producer-2"))
	if got := f.Calls(); got[len(got)-1] != "StopProducer producer-2" {
		t.Fatalf(":stop: calls %q", got)
	}
	for _, bad := range []string{"producer /default/load 0", "producer /default/load fast", "producer nope 5"} {
		press(m, ":")
		typeText(m, bad)
		if cmd := press(m, "enter"); cmd != nil || m.cmd.err == "" {
			t.Errorf("%q: accepted (err %q)", bad, m.cmd.err)
		}
		press(m, "esc")
	}
	press(m, "ctrl+o")
	n = len(f.Calls())
	run(t, m, runLine(m, "producer /default/load 5"))
	if len(f.Calls()) != n {
		t.Errorf("read-only mode started a producer: %q", f.Calls()[n:])
	}
}

// TestConnectorDetailsScroll: the details keep their hint on the last line at every height (also when
// they fit exactly), scroll when taller than the pane, and a key after end scrolls back at once.
func TestConnectorDetailsScroll(t *testing.T) {
	for _, h := range []int{34, 35, 36} {
		m := newTest(t, tuitest.Scripted(), 100, h, "dark")
		press(m, "7", "down", "enter")
		s := screen(m)
		if !strings.Contains(s, "esc back") {
			t.Errorf("height %d: the hint is cut off:\n%s", h, s)
		}
		scrolls := strings.Contains(lineWith(s, "Connector orders-pg"), "of 29")
		if scrolls != (h < 35) {
			t.Errorf("height %d: scrolls %v:\n%s", h, scrolls, s)
		}
		if !scrolls {
			continue
		}
		press(m, "end")
		if l := lineWith(screen(m), "Connector orders-pg"); !strings.Contains(l, "2–29 of 29") {
			t.Errorf("after end: %q", l)
		}
		press(m, "up")
		if l := lineWith(screen(m), "Connector orders-pg"); !strings.Contains(l, "1–28 of 29") {
			t.Errorf("after end, up: %q", l)
		}
	}
}

// TestFocusedEmptyStream: a stream focused and paused before its first message selects the first one
// that arrives, so that ack and nack have a target.
func TestFocusedEmptyStream(t *testing.T) {
	f := tuitest.Scripted()
	f.SetStream("s-billing", nil, 0)
	m := newTest(t, f, 100, 30, "dark")
	press(m, "4", "down", "enter", "g")
	if m.consumers.sel != 0 || !strings.Contains(screen(m), "PAUSED") {
		t.Fatalf("selected %d, paused %v", m.consumers.sel, strings.Contains(screen(m), "PAUSED"))
	}
	msgs := tuitest.Messages("/default/orders", "billing", "billing-1", 2, tuitest.Epoch)
	for i := range msgs {
		msgs[i].Seq = uint64(i + 1)
	}
	f.Append("s-billing", 1000, msgs...)
	m.Update(tickMsg{})
	if m.consumers.sel != 1 {
		t.Errorf("selected %d after the first messages arrived, want 1", m.consumers.sel)
	}
}

// TestUnsubscribe: stopping a tap says its subscription keeps messages and how to delete it; :stop
// --unsubscribe stops the tap, then deletes the subscription; :unsubscribe deletes any; both ask first, saying
// whose the subscription is (No by default); read-only refuses both deletions but still stops taps.
func TestUnsubscribe(t *testing.T) {
	f := tuitest.TopicsCluster() // describes /default/orders: keep and gone do not exist, the taps create them
	m := newTest(t, f, 160, 40, "dark")
	run(t, m, runLine(m, "consume /default/orders keep"))
	run(t, m, runLine(m, "stop console-test-0a1b-tap-1"))
	if want := "stopped console-test-0a1b-tap-1; subscription keep keeps its messages (:unsubscribe /default/orders keep deletes it)"; m.status.text != want {
		t.Errorf("status %q, want %q", m.status.text, want)
	}

	run(t, m, runLine(m, "consume /default/orders gone"))
	run(t, m, runLine(m, "stop console-test-0a1b-tap-2 --unsubscribe"))
	if s := screen(m); !strings.Contains(s, "Stop console-test-0a1b-tap-2 and delete subscription gone?") ||
		!strings.Contains(s, "This console's tap created it.") {
		t.Fatalf("no question before deleting the tap's subscription:\n%s", s)
	}
	press(m, "enter") // No is the default
	if got := f.Calls(); got[len(got)-1] == "StopConsumer console-test-0a1b-tap-2" {
		t.Fatalf("enter on the question stopped the tap: %q", got)
	}
	run(t, m, runLine(m, "stop console-test-0a1b-tap-2 --unsubscribe"))
	run(t, m, press(m, "y"))
	calls := f.Calls()
	if !slices.Equal(calls[len(calls)-2:], []string{"StopConsumer console-test-0a1b-tap-2", "Unsubscribe /default/orders gone"}) ||
		m.status.text != "deleted subscription gone of /default/orders" {
		t.Fatalf("calls %q, status %q", calls, m.status.text)
	}

	// A tap on a partitioned topic has a row per partition: every partition's subscription is deleted.
	f.Update(func(s *monitor.Snapshot) {
		for _, part := range []string{"/default/p-part-0", "/default/p-part-1"} {
			s.Consumers = append(s.Consumers, monitor.ConsumerStats{Stream: monitor.StreamID(part, "ps", "tap-9"), Name: "tap-9",
				Topic: part, Subscription: "ps", Type: monitor.SubscriptionShared, State: monitor.ConsumerSubscribed, AdHoc: true})
		}
	})
	m.Update(tickMsg{})
	run(t, m, runLine(m, "stop tap-9 --unsubscribe"))
	run(t, m, press(m, "y"))
	calls = f.Calls()
	if !slices.Equal(calls[len(calls)-3:], []string{"StopConsumer tap-9", "Unsubscribe /default/p-part-0 ps", "Unsubscribe /default/p-part-1 ps"}) ||
		m.status.text != "deleted subscription ps of /default/p" {
		t.Fatalf("partitioned: calls %q, status %q", calls, m.status.text)
	}
	if baseTopic("/default/p-part-12") != "/default/p" || baseTopic("/default/p-part-x") != "/default/p-part-x" || baseTopic("/default/p") != "/default/p" {
		t.Error("baseTopic")
	}

	run(t, m, runLine(m, "unsubscribe /default/orders billing"))
	if s := screen(m); !strings.Contains(s, "Delete subscription billing of /default/orders?") ||
		!strings.Contains(s, "This console did not create it: other programs may rely on it.") {
		t.Fatalf("no question before deleting another program's subscription:\n%s", s)
	}
	run(t, m, press(m, "y"))
	if got := f.Calls(); got[len(got)-1] != "Unsubscribe /default/orders billing" {
		t.Fatalf("calls %q", got)
	}
	f.ProduceErr = errors.New("unsubscribe billing from /default/orders: subscription has consumers")
	run(t, m, runLine(m, "unsubscribe /default/orders billing"))
	run(t, m, press(m, "y"))
	if !strings.Contains(m.status.text, "subscription has consumers") || m.status.level != levelError {
		t.Errorf("failure: status %q", m.status.text)
	}
	f.ProduceErr = nil

	run(t, m, runLine(m, "producer /default/load 5"))
	press(m, ":")
	typeText(m, "stop producer-1 --unsubscribe")
	if cmd := press(m, "enter"); cmd != nil || !strings.Contains(m.cmd.err, "--unsubscribe goes with a tap") {
		t.Errorf("--unsubscribe on a producer: err %q", m.cmd.err)
	}
	press(m, "esc")

	run(t, m, runLine(m, "consume /default/orders ro"))
	press(m, "ctrl+o")
	n := len(f.Calls())
	run(t, m, runLine(m, "unsubscribe /default/orders billing"))
	press(m, "esc") // a refused command stays on the line
	run(t, m, runLine(m, "stop console-test-0a1b-tap-3 --unsubscribe"))
	press(m, "esc")
	if got := f.Calls()[n:]; len(got) != 0 {
		t.Errorf("read-only mode deleted subscriptions: %q", got)
	}
	run(t, m, runLine(m, "stop console-test-0a1b-tap-3"))
	if got := f.Calls(); got[len(got)-1] != "StopConsumer console-test-0a1b-tap-3" {
		t.Errorf("read-only mode did not stop the tap: %q (status %q, cmd open %v err %q)", got, m.status.text, m.cmd.open, m.cmd.err)
	}
}
