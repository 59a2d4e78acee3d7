package tui

import (
	"strings"
	"testing"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// TestRouterRefusesChangingKeys: in read-only mode the router refuses every key the keymap marks as
// changing state, on every pane and in the inspector, before the pane sees it: no command, no modal, no
// call to the backend, and the refusal in the status bar in the binding's words.
func TestRouterRefusesChangingKeys(t *testing.T) {
	km := DefaultKeyMap()
	cases := []struct {
		name  string
		setup func(t *testing.T, m *Model)
		keys  []Binding
	}{
		{"topics", func(t *testing.T, m *Model) { press(m, "2", "down") }, []Binding{km.Topics.Tap}},
		{"connectors", func(t *testing.T, m *Model) { press(m, "7") }, []Binding{km.Connectors.StartStop, km.Connectors.Restart}},
		{"stream", func(t *testing.T, m *Model) { selectConsumer(t, m, "tap-1"); press(m, "enter", "space") },
			[]Binding{km.Consumers.Ack, km.Consumers.Nack, km.Consumers.Replay, km.Consumers.NewTap}},
		{"inspector", func(t *testing.T, m *Model) { selectConsumer(t, m, "tap-1"); press(m, "enter", "enter") },
			[]Binding{km.Inspector.Ack, km.Inspector.Nack}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := tuitest.Manual()
			m := newTest(t, f, 120, 40, "dark", func(o *Options) { o.ReadOnly = true })
			c.setup(t, m)
			for _, b := range c.keys {
				for _, k := range b.Keys() {
					m.status = status{}
					if cmd := press(m, k); cmd != nil || m.modal != nil {
						t.Errorf("%s: command %v, modal %T", k, cmd != nil, m.modal)
						m.modal = nil
					}
					if want := "read-only: " + b.Changes + " is disabled"; m.status.text != want {
						t.Errorf("%s: status %q, want %q", k, m.status.text, want)
					}
				}
			}
			if len(f.Calls()) != 0 {
				t.Errorf("read-only mode called %q", f.Calls())
			}
		})
	}
}

// TestRouterLetsSafeKeysThrough: read-only mode leaves the keys that do not change state alone: stopping
// the console's own tap and opening the inspector still work.
func TestRouterLetsSafeKeysThrough(t *testing.T) {
	f := tuitest.Manual()
	m := newTest(t, f, 120, 40, "dark", func(o *Options) { o.ReadOnly = true })
	selectConsumer(t, m, "tap-1")
	press(m, "enter", "enter")
	if m.consumers.insp == nil || strings.HasPrefix(m.status.text, "read-only") {
		t.Fatalf("enter did not open the inspector: status %q", m.status.text)
	}
	press(m, "esc", "esc")
	run(t, m, press(m, "x"))
	if got := f.Calls(); len(got) != 1 || got[0] != "StopConsumer tap-1" {
		t.Errorf("calls %q", got)
	}
}

// TestRouterRefusesCommands: every command that changes state is refused in read-only mode, in one place,
// with the same words; a safe command with a changing flag is refused only with the flag.
func TestRouterRefusesCommands(t *testing.T) {
	f := tuitest.Manual()
	m := newTest(t, f, 120, 40, "dark", func(o *Options) { o.ReadOnly = true })
	for _, c := range commands() {
		if c.changes == "" {
			continue
		}
		if cmd := runLine(m, c.name+" /default/x a"); cmd != nil {
			t.Errorf(":%s returned a command", c.name)
		}
		if want := "read-only: :" + c.name + " is disabled"; m.cmd.err != want || m.status.text != want {
			t.Errorf(":%s: error %q, status %q", c.name, m.cmd.err, m.status.text)
		}
		press(m, "esc")
	}
	runLine(m, "stop tap-1 --unsubscribe")
	if want := "read-only: :stop --unsubscribe is disabled"; m.cmd.err != want {
		t.Errorf(":stop --unsubscribe: error %q", m.cmd.err)
	}
	press(m, "esc")
	if len(f.Calls()) != 0 {
		t.Errorf("read-only mode called %q", f.Calls())
	}
}

// TestRouterRefusesModalConfirm: read-only mode turned on by the backend while a modal is open refuses
// the modal's confirmation and closes it.
func TestRouterRefusesModalConfirm(t *testing.T) {
	f := tuitest.Manual()
	m := newTest(t, f, 120, 40, "dark")
	selectConsumer(t, m, "tap-1")
	press(m, "enter", "n")
	if _, ok := m.modal.(*nackPrompt); !ok {
		t.Fatalf("modal %T, want the nack prompt", m.modal)
	}
	f.Update(func(s *monitor.Snapshot) { s.ReadOnly = true })
	m.Update(tickMsg{})
	if cmd := press(m, "enter"); cmd != nil || m.modal != nil {
		t.Errorf("enter: command %v, modal %T", cmd != nil, m.modal)
	}
	if want := "read-only: nacking messages is disabled"; m.status.text != want {
		t.Errorf("status %q, want %q", m.status.text, want)
	}
	if len(f.Calls()) != 0 {
		t.Errorf("read-only mode called %q", f.Calls())
	}
}
