package tui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// fieldUnder returns the field of the line of screen holding all of row under the header title (the header
// line being the last one above that holds title), or "".
func fieldUnder(screen, title string, row ...string) string {
	lines := strings.Split(screen, "\n")
	header := ""
	for _, l := range lines {
		if strings.Contains(l, " "+title+" ") || strings.HasSuffix(strings.TrimRight(l, "│ "), title) {
			header = l
		}
		ok := header != ""
		for _, r := range row {
			ok = ok && strings.Contains(l, r)
		}
		if !ok || l == header {
			continue
		}
		end := strings.Index(header, title) + len(title) // right-aligned numbers end under their title's end
		hr, lr := []rune(header), []rune(l)
		endR := len([]rune(header[:end]))
		if endR > len(lr) || len(hr) != len(lr) {
			return ""
		}
		start := endR
		for start > 0 && lr[start-1] != ' ' {
			start--
		}
		return strings.TrimSpace(string(lr[start:endR]))
	}
	return ""
}

// TestPendingIsOneFigure: the pending count of a manual-ack tap whose messages the broker delivered again
// (30 deliveries of 10 messages, 2 acked, 1 nacked) reads the same in the stream's title, the acks pane's
// row and total and the acks tile: the monitor's figure, never received minus settled.
func TestPendingIsOneFigure(t *testing.T) {
	f := tuitest.Manual()
	f.Update(func(s *monitor.Snapshot) {
		for i := range s.Subscriptions {
			if s.Subscriptions[i].Subscription == "console-1" {
				s.Subscriptions[i].Received, s.Subscriptions[i].Acked, s.Subscriptions[i].Nacked = 30, 2, 1
				s.Subscriptions[i].Redelivered, s.Subscriptions[i].Pending = 20, 7
			}
		}
		for i := range s.Consumers {
			if s.Consumers[i].Name == "tap-1" {
				s.Consumers[i].Received, s.Consumers[i].Pending = 30, 7
			}
		}
	})
	m := newTest(t, f, 160, 48, goldenTheme)
	selectConsumer(t, m, "tap-1")
	if s := screen(m); !strings.Contains(s, "  7 pending") {
		t.Errorf("the stream's title does not say 7 pending:\n%s", s)
	}
	press(m, "5")
	s := screen(m)
	if got := fieldUnder(s, "PENDING", "/default/payments", "console-1"); got != "7" {
		t.Errorf("the acks pane's PENDING for console-1 is %q, want 7:\n%s", got, s)
	}
	if !strings.Contains(s, "pending 1149") { // 42 + 1100 + 7
		t.Errorf("the acks total is not the sum of the subscriptions' pending:\n%s", s)
	}
	var e env
	m.with(func(en *env) tea.Cmd { e = *en; return nil })
	if tile := ansi.Strip(m.acks.tile(&e, 60, 10, false)); !strings.Contains(tile, "1149 pending") {
		t.Errorf("the acks tile:\n%s", tile)
	}
}
