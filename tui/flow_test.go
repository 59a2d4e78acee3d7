package tui

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/danube-console/danube-console/connectors"
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
	for i, title := range []string{"", "Topics (6)", "Producers (5)", "Consumers (4)", "Acks (4 subscriptions)", "Health checks (5)", "Connectors (4)"} {
		if i == 0 {
			continue
		}
		press(m, string(rune('1'+i)))
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
	if m.active != paneConnectors {
		t.Errorf("shift+tab thrice: %d, want connectors", m.active)
	}
	press(m, "esc")
	if m.active != paneDashboard {
		t.Errorf("esc: %d, want the dashboard", m.active)
	}
	// Dashboard tiles: right, down, enter opens the focused tile.
	press(m, "right", "down", "enter") // 2×3 grid at 100 columns: Producers, then Acks below it
	if m.active != paneAcks {
		t.Errorf("right, down, enter on the dashboard: %d, want acks", m.active)
	}
	// A click on a tab switches panes.
	for _, sp := range tabLayout(m.w) {
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
		s.Connectors = append([]monitor.ConnectorStats{{InstanceStatus: connectors.InstanceStatus{Name: "aaa"}}}, s.Connectors...)
	})
	m.Update(tickMsg{})
	if c := m.connectors.selected(m); c == nil || c.Name != "orders-pg" {
		t.Fatalf("selected %v after a refresh, want orders-pg", c)
	}
}

func TestHelpOverlay(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 80, 24, "dark")
	press(m, "?")
	s := screen(m)
	if !strings.Contains(s, "Help · keys") || !strings.Contains(s, "start / stop") {
		t.Fatalf("? does not show the help:\n%s", s)
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
	cmd := press(m, "s")
	if cmd == nil {
		t.Fatal("s on a running connector returned no command")
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
	f.ActionErr = errors.New("drain timed out")
	run(t, m, press(m, "r"))
	if s := screen(m); !strings.Contains(s, "restart mqtt-in: drain timed out") {
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
				press(m, string(rune('1'+p)))
				checkFrame(t, m.View().Content, w, h)
				press(m, "?")
				checkFrame(t, m.View().Content, w, h)
				press(m, "?")
			}
			press(m, "7", "enter")
			checkFrame(t, m.View().Content, w, h)
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

	// enter on the selected topic looks it up; an error goes to the status bar.
	f.LookupFunc = func(string) (monitor.LookupResult, error) {
		return monitor.LookupResult{}, errors.New("topic not found")
	}
	press(m, "down")
	run(t, m, press(m, "enter"))
	if got := f.Calls(); got[len(got)-1] != "Lookup /default/orders" {
		t.Errorf("enter looked up %q, want /default/orders", got[len(got)-1])
	}
	if s := screen(m); !strings.Contains(s, "lookup /default/orders: topic not") {
		t.Errorf("lookup error not in the status bar:\n%s", s)
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

func TestRefresh(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 100, 30, "dark")
	press(m, "2")
	run(t, m, press(m, "R"))
	if got := f.Calls(); !slices.Equal(got, []string{"Refresh"}) {
		t.Errorf("calls %q, want Refresh", got)
	}
	if s := screen(m); !strings.Contains(s, "topics refreshed") {
		t.Errorf("no refresh message:\n%s", s)
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
		rows := m.consumers.visible(m.consumers.streamRows(m))
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
	if got, want := len(m.consumers.rows), m.consumers.streamRows(m); got != want {
		t.Errorf("fetched %d rows, want the %d visible", got, want)
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

// TestProgram runs the console in a real Bubble Tea program (teatest): it stops a connector with s and
// quits with q.
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
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stop did not complete")
	}
	tm.Send(keyMsg("q"))
	final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(*Model)
	if got := f.Calls(); !slices.Contains(got, "StopConnector mqtt-in") {
		t.Fatalf("calls %q", got)
	}
	if l := lineWith(screen(final), "mqtt-in"); !strings.Contains(l, "stopped") {
		t.Errorf("final row %q, want stopped", l)
	}
	waitFor(t, 5*time.Second, "the first refresh", func() bool { return slices.Contains(f.Calls(), "Refresh") })
}

// TestRunContext checks that cancelling the context ends Run without an error.
func TestRunContext(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, tuitest.Scripted(), Options{Input: pr, Output: io.Discard}) }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestEveryTheme renders every pane in every built-in theme and in the colourless one.
func TestEveryTheme(t *testing.T) {
	names := append(themes.Names(), "plain")
	for _, n := range names {
		m := newTest(t, tuitest.Scripted(), 100, 30, n)
		for p := range numPanes {
			press(m, string(rune('1'+p)))
			checkFrame(t, m.View().Content, 100, 30)
		}
		if n == "plain" {
			if v := m.View(); v.BackgroundColor != nil {
				t.Errorf("the plain theme sets the terminal background")
			}
		}
	}
}
