package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// readOnlyDemo is the demo as --read-only shows it: no connector started (the console starts none), no
// console consumer yet.
func readOnlyDemo() *tuitest.Fake { return stoppedDemo(true) }

// stoppedDemo is the demo with its connectors stopped and no console consumer, read-only (the monitor's
// ReadOnly) or not.
func stoppedDemo(ro bool) *tuitest.Fake {
	f := tuitest.Scripted()
	f.Update(func(s *monitor.Snapshot) {
		s.ReadOnly = ro
		for i := range s.Connectors {
			c := &s.Connectors[i]
			c.State, c.Throughput, c.Series, c.LastError = monitor.ConnectorStopped, 0, nil, ""
		}
		s.Consumers, s.Subscriptions = nil, nil
	})
	return f
}

// TestGoldenReadOnly renders, with --read-only, the dashboard, the connectors (list and details), the
// consumers and acks panes (empty) and the topics pane: the connectors say they were not started because
// of read-only, and no hint or empty state offers a key that read-only refuses.
func TestGoldenReadOnly(t *testing.T) {
	views := []struct {
		name string
		keys []string
	}{
		{"dashboard", nil}, {"connectors", []string{"7"}}, {"connector-details", []string{"7", "enter"}},
		{"consumers", []string{"4"}}, {"acks", []string{"5"}}, {"topics", []string{"2"}},
	}
	for _, v := range views {
		t.Run(v.name, func(t *testing.T) {
			for _, sz := range goldenSizes {
				t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
					m := newTest(t, readOnlyDemo(), sz.w, sz.h, goldenTheme, func(o *Options) { o.ReadOnly = true })
					press(m, v.keys...)
					checkFrame(t, m.View().Content, sz.w, sz.h)
					golden.RequireEqual(t, screen(m))
				})
			}
		})
	}
}

// TestReadOnlyOffersNothingItRefuses: in read-only mode no pane, detail or inspector shows a hint or an
// empty state naming a key that read-only refuses there ("c starts a tap", "s start/stop", "n create"…),
// and the stopped connectors say why; without read-only the same screens offer them.
func TestReadOnlyOffersNothingItRefuses(t *testing.T) {
	screens := []struct {
		name   string
		f      func(ro bool) *tuitest.Fake
		keys   []string
		offers []string // what the screen offers when not read-only
	}{
		{"consumers", stoppedDemo, []string{"4"}, []string{"c starts a tap"}},
		{"acks", stoppedDemo, []string{"5"}, []string{"c on the consumers pane starts a tap"}},
		{"connectors", stoppedDemo, []string{"7"}, []string{"s start/stop", "r restart"}},
		{"connector details", stoppedDemo, []string{"7", "enter"}, []string{"s start/stop", "r restart"}},
		{"topics", stoppedDemo, []string{"2"}, []string{"c tap", "n create", "D delete", "U unload"}},
		{"cluster", func(bool) *tuitest.Fake { return tuitest.ClusterTraffic() }, []string{"8"}, []string{"u unload · a activate · B rebalance"}},
		{"security", func(bool) *tuitest.Fake { return tuitest.ClusterTraffic() }, []string{"0"}, []string{"n new · d delete"}},
		{"inspector", func(bool) *tuitest.Fake { return tuitest.Manual() }, nil, []string{"a ack", "N nack"}},
	}
	for _, sc := range screens {
		t.Run(sc.name, func(t *testing.T) {
			for _, ro := range []bool{false, true} {
				m := newTest(t, sc.f(ro), 160, 48, goldenTheme, func(o *Options) { o.ReadOnly = ro })
				if sc.name == "inspector" {
					selectConsumer(t, m, "tap-1")
					press(m, "enter", "enter")
				}
				press(m, sc.keys...)
				s := screen(m)
				for _, o := range sc.offers {
					if got := strings.Contains(s, o); got == ro {
						t.Errorf("read-only %v: %q shown %v:\n%s", ro, o, got, s)
					}
				}
			}
		})
	}
	m := newTest(t, readOnlyDemo(), 160, 48, goldenTheme, func(o *Options) { o.ReadOnly = true })
	for _, keys := range [][]string{{"1"}, {"7"}, {"7", "enter"}} {
		press(m, keys...)
		s := screen(m)
		for _, l := range strings.Split(s, "\n") {
			if strings.Contains(l, "mqtt-in") && strings.Contains(l, "stopped") {
				t.Errorf("after %v the stopped connector does not say why: %q", keys, l)
			}
		}
		if !strings.Contains(s, "not started") || !strings.Contains(s, "read-only") {
			t.Errorf("after %v nothing says the connectors were not started because of read-only:\n%s", keys, s)
		}
	}
}
