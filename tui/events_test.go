package tui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// testClock is a clock the tests move on by hand.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time            { return c.t }
func (c *testClock) advance(d time.Duration)   { c.t = c.t.Add(d) }
func withClock(c *testClock) func(o *Options)  { return func(o *Options) { o.Clock = c.now } }
func newClock() *testClock                     { return &testClock{t: tuitest.Epoch} }
func failLookups(f *tuitest.Fake, text string) { f.LookupFunc = lookupFails(text) }

func lookupFails(text string) func(string) (monitor.LookupResult, error) {
	return func(string) (monitor.LookupResult, error) { return monitor.LookupResult{}, errors.New(text) }
}

// The log keeps the last maxEvents, counts an event repeated in a row, and takes the backend's error and
// the status message that reports it for one event.
func TestEventLog(t *testing.T) {
	var l eventLog
	at := tuitest.Epoch
	for i := range maxEvents + 5 {
		l.add(event{at: at, level: levelInfo, text: fmt.Sprint("action ", i)})
	}
	if len(l.list) != maxEvents || l.list[0].text != "action 5" || l.list[maxEvents-1].id != maxEvents+5 {
		t.Fatalf("%d events, first %q, last id %d", len(l.list), l.list[0].text, l.list[maxEvents-1].id)
	}
	l.add(event{at: at, level: levelError, text: "refresh: the admin API does not answer"})
	l.add(event{at: at.Add(5 * time.Second), level: levelError, text: "refresh: the admin API does not answer"})
	if ev := l.list[len(l.list)-1]; ev.n != 2 || !ev.at.Equal(at.Add(5*time.Second)) || len(l.list) != maxEvents {
		t.Fatalf("a repeated event: %+v", ev)
	}
	// The backend's error, then the console's message of the same failure: one event.
	l.fromSnapshot(&monitor.Snapshot{LastError: "lookup /default/x: not found", LastErrorAt: at.Add(6 * time.Second)})
	l.add(event{at: at.Add(7 * time.Second), level: levelError, text: "lookup /default/x: not found"})
	if ev := l.list[len(l.list)-1]; ev.text != "lookup /default/x: not found" || ev.n != 1 || !ev.snap {
		t.Fatalf("the same failure twice: %+v", ev)
	}
	if l.list[len(l.list)-2].text != "refresh: the admin API does not answer" {
		t.Fatalf("the event before it: %+v", l.list[len(l.list)-2])
	}
	// The same snapshot again records nothing; a newer error does.
	l.fromSnapshot(&monitor.Snapshot{LastError: "lookup /default/x: not found", LastErrorAt: at.Add(6 * time.Second)})
	l.fromSnapshot(&monitor.Snapshot{LastError: "connector c: gone", LastErrorAt: at.Add(8 * time.Second)})
	if ev := l.list[len(l.list)-1]; ev.text != "connector c: gone" || ev.level != levelError {
		t.Fatalf("the backend's next error: %+v", ev)
	}
}

// An error is still in the events view after it faded from the status bar, with the backend's own errors
// and the user's actions, newest last; y copies the selected one and esc closes the view.
func TestEventsAfterFading(t *testing.T) {
	f := tuitest.Scripted()
	clock := newClock()
	m := newTest(t, f, 120, 40, "dark", withClock(clock))
	failLookups(f, "lookup /default/nope: topic not found")
	run(t, m, runLine(m, "theme light"))
	clock.advance(time.Second)
	run(t, m, runLine(m, "lookup /default/nope"))
	if s := screen(m); !strings.Contains(s, "✗ lookup /default/nope: topic not found") {
		t.Fatalf("the error is not in the bar:\n%s", s)
	}
	clock.advance(2 * time.Second)
	f.Update(func(s *monitor.Snapshot) {
		s.LastError, s.LastErrorAt = "connector mqtt-in: connection lost", clock.now()
	})
	m.Update(tickMsg(clock.now()))
	clock.advance(errorFadeAfter)
	m.Update(tickMsg(clock.now()))
	if bar := lastLine(screen(m)); strings.Contains(bar, "✗") {
		t.Fatalf("the errors did not fade: %q", bar)
	}

	press(m, "e")
	s := screen(m)
	theme, lookup, conn := lineWith(s, "theme: light"), lineWith(s, "✗  lookup /default/nope: topic not found"),
		lineWith(s, "✗  connector mqtt-in: connection lost")
	if theme == "" || lookup == "" || conn == "" {
		t.Fatalf("the events view does not list the action and both errors:\n%s", s)
	}
	if !strings.Contains(lookup, "15:04:06") || !strings.Contains(conn, "15:04:08") {
		t.Errorf("times: %q, %q", lookup, conn)
	}
	if i, j := strings.Index(s, "theme: light"), strings.Index(s, "connection lost"); i > j {
		t.Errorf("not newest last:\n%s", s)
	}
	// The newest is selected; ↑ (or the wheel) selects the lookup's error, and y copies it.
	m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelUp, X: 10, Y: 10})
	m.Update(tea.MouseWheelMsg{Button: tea.MouseWheelUp, X: 10, Y: 10})
	press(m, "down")
	def := copyFile
	t.Cleanup(func() { copyFile = def })
	copyFile = filepath.Join(t.TempDir(), "copy.txt")
	if got, want := clipboard(t, m, press(m, "y")), "15:04:06 lookup /default/nope: topic not found"; got != want {
		t.Errorf("y copies %q, want %q", got, want)
	}
	if b, err := os.ReadFile(copyFile); err != nil || string(b) != "15:04:06 lookup /default/nope: topic not found" {
		t.Errorf("the copy's file: %q, %v", b, err)
	}
	press(m, "esc")
	if m.modal != nil {
		t.Fatal("esc does not close the events view")
	}
	run(t, m, runLine(m, "events"))
	if _, ok := m.modal.(*eventsView); !ok {
		t.Fatalf(":events opens %T", m.modal)
	}
	press(m, "e")
	if m.modal != nil {
		t.Fatal("e does not close the events view")
	}
	if c := runLine(m, "events now"); c != nil || !strings.Contains(m.cmd.err, "usage: :events") {
		t.Errorf(":events with an argument: %q", m.cmd.err)
	}
}

// Every event goes to Options.EventLog with its time and level, from a command (off the update loop).
func TestEventsGoToTheLog(t *testing.T) {
	var buf bytes.Buffer
	f := tuitest.Scripted()
	clock := newClock()
	m := newTest(t, f, 120, 40, "dark", withClock(clock), func(o *Options) {
		o.EventLog = slog.New(slog.NewJSONHandler(&buf, nil))
	})
	failLookups(f, "lookup /default/nope: topic not found")
	_, cmd := m.Update(themeMsg{t: m.theme})
	if buf.Len() != 0 {
		t.Fatal("the log is written in Update")
	}
	drain(t, m, cmd)
	clock.advance(time.Second)
	press(m, ":")
	typeText(m, "lookup /default/nope")
	drain(t, m, press(m, "enter"))
	clock.advance(time.Second)
	drain(t, m, press(m, "ctrl+o"))
	var got []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		got = append(got, e)
	}
	want := []struct{ level, msg, time string }{
		{"INFO", "theme: dark", "2026-03-14T15:04:05Z"},
		{"ERROR", "lookup /default/nope: topic not found", "2026-03-14T15:04:06Z"},
		{"WARN", "read-only: actions that change state are disabled for the rest of the session", "2026-03-14T15:04:07Z"},
	}
	var brief []string
	for _, e := range got {
		brief = append(brief, fmt.Sprint(e["level"], " ", e["msg"], " ", e["time"]))
	}
	if len(got) != len(want) {
		t.Fatalf("logged %q", brief)
	}
	for i, w := range want {
		if got[i]["level"] != w.level || got[i]["msg"] != w.msg || got[i]["time"] != w.time || got[i]["event"] != "console" {
			t.Errorf("entry %d: %q, want %v", i, brief[i], w)
		}
	}
}

// A message longer than the bar is cut with a marker and the key that shows it whole; m shows it over
// several lines above the bar, and m or esc folds it again (esc then leaves the pane as it was).
func TestStatusExpands(t *testing.T) {
	f := tuitest.Scripted()
	m := newTest(t, f, 80, 24, "dark")
	long := "lookup /default/sensors-eu-west-1: Unable to find the requested topic: /default/sensors-eu-west-1 (NotFound)"
	failLookups(f, long)
	run(t, m, runLine(m, "lookup /default/sensors-eu-west-1"))
	s := screen(m)
	bar := lineWith(s, "✗ lookup")
	if !strings.Contains(bar, "… m ") {
		t.Fatalf("the bar does not mark the cut message: %q", bar)
	}
	press(m, "m")
	s = screen(m)
	if !strings.Contains(s, "✗ lookup /default/sensors-eu-west-1: Unable to find the requested topic:") ||
		!strings.Contains(s, "/default/sensors-eu-west-1 (NotFound)") || !strings.Contains(s, "m/esc fold") {
		t.Fatalf("m does not show the message whole:\n%s", s)
	}
	checkFrame(t, m.View().Content, 80, 24)
	active := m.active
	press(m, "esc")
	if m.statusOpen || m.active != active {
		t.Fatalf("esc: open %v, pane %d (was %d)", m.statusOpen, m.active, active)
	}
	press(m, "m", "m")
	if m.statusOpen {
		t.Fatal("m does not fold it")
	}
}

// The goldens of the whole status message and of the events view, at 80×24 and 160×48.
func TestGoldenEvents(t *testing.T) {
	setup := func(t *testing.T, w, h int) (*Model, *testClock) {
		f := tuitest.Scripted()
		clock := newClock()
		m := newTest(t, f, w, h, goldenTheme, withClock(clock))
		run(t, m, runLine(m, "theme light"))
		clock.advance(2 * time.Second)
		press(m, "ctrl+o")
		clock.advance(3 * time.Second)
		failLookups(f, "lookup /default/sensors-eu-west-1: Unable to find the requested topic: /default/sensors-eu-west-1 (NotFound)")
		run(t, m, runLine(m, "lookup /default/sensors-eu-west-1"))
		return m, clock
	}
	for _, sz := range goldenSizes {
		t.Run(fmt.Sprintf("status-expanded/%dx%d", sz.w, sz.h), func(t *testing.T) {
			m, _ := setup(t, sz.w, sz.h)
			press(m, "m")
			checkFrame(t, m.View().Content, sz.w, sz.h)
			golden.RequireEqual(t, screen(m))
		})
		t.Run(fmt.Sprintf("events/%dx%d", sz.w, sz.h), func(t *testing.T) {
			m, _ := setup(t, sz.w, sz.h)
			press(m, "e", "up")
			checkFrame(t, m.View().Content, sz.w, sz.h)
			golden.RequireEqual(t, screen(m))
		})
	}
}
