package tui

import (
	"strings"
	"testing"

	"github.com/danube-console/danube-console/tui/tuitest"
)

// walkView is a pane or sub-view the keymap walk visits: how to get there, and the keys the help offers
// there (nil: the pane's bindings in effect there).
type walkView struct {
	name  string
	data  func() *tuitest.Fake
	setup []string // keys pressed (their commands run) to get there
	// tap, when set, selects the manual-ack tap tap-1 on the consumers pane before setup.
	tap  bool
	keys func(m *Model) []Binding
	// prep are keys pressed before a key that acts on what they set up (collapse after expand); the list
	// keys get navPrep unless prep names them.
	prep map[string][]string
	// noList: the view is no list (the dashboard's tiles), the list keys are not offered there.
	noList bool
	w, h   int // the terminal's size; zero: 160×48
}

// walkViews are every pane and sub-view of the console, each with a data set that gives its keys
// something to act on.
func walkViews() []walkView {
	help := func(m *Model) []Binding {
		g, n := m.keys.Global, m.keys.Nav
		return []Binding{g.Help, g.Close, g.Quit, g.Theme, n.Up, n.Down, n.PageUp, n.PageDown, n.Top, n.Bottom}
	}
	prompt := func(m *Model) []Binding {
		p := m.keys.Prompt
		return []Binding{p.Submit, p.Cancel, p.NextItem, p.PrevItem, p.Complete, p.History}
	}
	return []walkView{
		{name: "dashboard", data: tuitest.ClusterTraffic, setup: []string{"1"}, noList: true,
			prep: map[string][]string{"up": {"down"}, "k": {"down"}}},
		{name: "topics", data: tuitest.Cluster, setup: []string{"2", "down"}, // /default/orders, 3 partitions
			prep: map[string][]string{"left": {"right"}}},
		{name: "topic detail", data: tuitest.Cluster, setup: []string{"2", "down", "enter"}},
		{name: "producers", data: tuitest.Cluster, setup: []string{"3"}},
		{name: "consumers list", data: tuitest.Manual, tap: true},
		{name: "stream", data: tuitest.Manual, tap: true, setup: []string{"enter", "up"}},
		{name: "inspector", data: longPayload, tap: true, setup: []string{"enter", "enter"}},
		{name: "acks", data: tuitest.Cluster, setup: []string{"5"}},
		{name: "health", data: tuitest.Cluster, setup: []string{"6"}},
		{name: "connectors", data: tuitest.Cluster, setup: []string{"7"}},
		{name: "connector details", data: tuitest.Cluster, setup: []string{"7", "down", "enter"}, w: 80, h: 24},
		{name: "cluster", data: tuitest.Cluster, setup: []string{"8", "down"}},
		{name: "problems", data: tuitest.Cluster, setup: []string{"9"}},
		{name: "security", data: tuitest.Cluster, setup: []string{"0"}},
		{name: "help", data: tuitest.Cluster, setup: []string{"?"}, keys: help},
		// The history has a line (theme dark), the line a command to complete.
		{name: "command line", data: tuitest.Cluster, setup: []string{":", "t", "h", "e", "m", "e", " ", "d", "a", "r", "k", "enter", ":", "c"},
			keys: prompt, prep: map[string][]string{"down": {"up"}}},
	}
}

// longPayload is Manual with a newest message whose payload is longer than the inspector shows.
func longPayload() *tuitest.Fake {
	f := tuitest.Manual()
	msgs, _ := f.Messages(tuitest.ManualStream, 1)
	m := msgs[0]
	m.Seq, m.Offset = m.Seq+1, m.Offset+1
	m.Payload = []byte(strings.Repeat("a line of the payload\n", 200))
	f.Append(tuitest.ManualStream, 1000, m)
	return f
}

// navPrep are the keys pressed before a list key, so that it has somewhere to go: the end before those
// that go up, the start before those that go down.
var navPrep = map[string][]string{
	"up": {"end"}, "k": {"end"}, "pgup": {"end"}, "ctrl+b": {"end"}, "home": {"end"}, "g": {"end"},
	"down": {"home"}, "j": {"home"}, "pgdown": {"home"}, "ctrl+f": {"home"}, "end": {"home"}, "G": {"home"},
}

// TestEveryKeyDoesSomething walks the keymap: in every pane and sub-view, each key of each binding the
// help and the footer offer there is pressed on a fresh console, and must change the screen, start a
// command or say something in the status bar (a key that cannot act says why).
func TestEveryKeyDoesSomething(t *testing.T) {
	for _, v := range walkViews() {
		t.Run(v.name, func(t *testing.T) {
			open := func() *Model {
				w, h := v.w, v.h
				if w == 0 {
					w, h = 160, 48
				}
				m := newTest(t, v.data(), w, h, "dark")
				if v.tap {
					listSelect(t, m, "tap-1")
				}
				for _, k := range v.setup {
					run(t, m, press(m, k))
				}
				return m
			}
			m := open()
			// The pane's own keys, and the lists' keys the help offers everywhere.
			n := m.keys.Nav
			bs := m.panes[m.active].bindings(&m.keys)
			if !v.noList {
				bs = append(bs, n.Up, n.Down, n.PageUp, n.PageDown, n.Top, n.Bottom)
			}
			if v.keys != nil {
				bs = v.keys(m)
			}
			if len(bs) == 0 {
				t.Skip("no keys of its own offered here")
			}
			for _, b := range bs {
				for _, k := range b.Keys() {
					m := open()
					prep, ok := v.prep[k]
					if !ok {
						prep = navPrep[k]
					}
					for _, p := range prep {
						run(t, m, press(m, p))
					}
					if !pressDid(m, k) {
						t.Errorf("%s (%s) does nothing", k, b.Help().Desc)
					}
				}
			}
		})
	}
}

// TestKeyWalkCatchesDeadKeys makes sure the walk's check can fail: a key that no pane handles changes
// nothing.
func TestKeyWalkCatchesDeadKeys(t *testing.T) {
	m := newTest(t, tuitest.Cluster(), 160, 48, "dark")
	press(m, "5")
	if pressDid(m, "F") {
		t.Errorf("an unbound key did something")
	}
	if !pressDid(m, "?") {
		t.Errorf("? did nothing")
	}
}

// pressDid presses key k and reports whether it did something: changed the screen (its text or colours:
// a focus moves in colour only), returned a command or put a message in the status bar.
func pressDid(m *Model, k string) bool {
	m.status = status{}
	before := m.View().Content
	cmd := press(m, k)
	return cmd != nil || m.View().Content != before || m.status.text != ""
}
