package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/internal/testenv"
)

// TestConsoleErrorsAndEvents runs the real binary in tmux at 80×24 against its embedded broker: a lookup of
// a topic that does not exist shows one clear error (the lookup and the topic named once by the console,
// then the broker's answer), cut by the bar with the key that shows it whole; m shows it whole above the
// bar; the events view (:events) lists it with its time after it faded from the bar; and the log file
// has it.
func TestConsoleErrorsAndEvents(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	logFile := filepath.Join(dir, "console.log")
	term := startTerminal(t, 80, 24, []string{"TERM=xterm-256color", "XDG_CONFIG_HOME=" + dir},
		bin, "--ephemeral", "--no-demo", "--port", "0", "--admin-port", strconv.Itoa(freePort(t)), "--log-file", logFile)
	term.waitFor("the dashboard", 20*time.Second, func(s string) bool { return strings.Contains(s, "Danube Console") })

	term.keys(":")
	term.text("lookup /default/nope")
	term.keys("Enter")
	const whole = "lookup /default/nope: Unable to find the requested topic: /default/nope (NotFound)"
	term.waitFor("the error in the bar, cut, with the key that shows it whole", 15*time.Second, func(s string) bool {
		return strings.Contains(lastLine(s), "✗ lookup /default/") && strings.Contains(lastLine(s), "… m")
	})

	// Whole, it starts with the lookup named once, then the broker's answer.
	term.keys("m")
	s := term.waitFor("the whole message", 5*time.Second, func(s string) bool {
		return strings.Contains(s, "✗ lookup /default/nope: Unable to find the requested topic:") && strings.Contains(s, "m/esc fold")
	})
	if !strings.Contains(strings.Join(strings.Fields(s), " "), whole) {
		t.Errorf("the whole message is not shown whole:\n%s", s)
	}
	term.keys("m")
	term.waitFor("the message folded", 5*time.Second, func(s string) bool { return !strings.Contains(s, "m/esc fold") })

	// After it faded from the bar, the events view still has it, with its time.
	term.waitFor("the error faded", 30*time.Second, func(s string) bool { return !strings.Contains(lastLine(s), "✗") })
	term.keys(":")
	term.text("events")
	term.keys("Enter")
	s = term.waitFor("the events view", 5*time.Second, func(s string) bool {
		return strings.Contains(s, "Events") && line(s, "✗  lookup /default/nope: Unable") != ""
	})
	if l := line(s, "✗  lookup /default/nope"); !strings.Contains(l, ":") || strings.Count(s, "✗  lookup /default/nope") != 1 {
		t.Errorf("the error is not listed once with its time:\n%s", s)
	}
	term.keys("Escape")
	term.waitFor("the events view closed", 5*time.Second, func(s string) bool { return !strings.Contains(s, "Events ·") })

	testenv.Eventually(t, 10*time.Second, func() bool {
		b, _ := os.ReadFile(logFile)
		return strings.Contains(string(b), "level=ERROR msg=\""+whole+"\"")
	}, "the log file has no entry of the error")
	term.quit()
}

// lastLine returns the screen's last non-empty line (the status bar).
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}
