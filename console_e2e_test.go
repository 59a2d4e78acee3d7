package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rateOf returns the number in column col (0-based, split on blanks, box borders removed) of the first
// screen line that holds all of subs, and whether there is one.
func rateOf(screen string, col int, subs ...string) (float64, bool) {
	l := strings.Trim(line(screen, subs...), "│ ")
	f := strings.Fields(l)
	if col >= len(f) {
		return 0, false
	}
	s := strings.TrimSuffix(f[col], "/s")
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"):
		s, mult = strings.TrimSuffix(s, "k"), 1e3
	case strings.HasSuffix(s, "M"):
		s, mult = strings.TrimSuffix(s, "M"), 1e6
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return v * mult, true
}

// TestConsoleEndToEnd runs the real binary in a real terminal (tmux) on the embedded broker with the demo
// pipeline: every pane comes alive, the generator's rate is non-zero, stopping it from the keyboard brings
// its rate to zero, and starting it brings it back.
func TestConsoleEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	logFile := filepath.Join(t.TempDir(), "console.log")
	term := startTerminal(t, 160, 48, []string{"TERM=xterm-256color"},
		bin, "--ephemeral", "--port", "0", "--admin-port", "0", "--log-file", logFile)

	// The dashboard: the header, and the demo's connectors running.
	term.waitFor("the dashboard with the demo's connectors", 20*time.Second, func(s string) bool {
		return strings.Contains(s, "Danube Console") && strings.Contains(s, "embedded") &&
			strings.Contains(s, "orders-archive") && strings.Contains(s, "webhooks-in")
	})

	// Producers: the generator publishes.
	term.keys("3")
	term.waitFor("the generator's publish rate to be non-zero", 15*time.Second, func(s string) bool {
		r, ok := rateOf(s, 3, "/default/orders", "orders-generator")
		return ok && r > 0
	})
	// Consumers: the sink's consumer receives, and its stream shows the orders.
	term.keys("4")
	term.waitFor("the sink's consumer rate and its stream", 10*time.Second, func(s string) bool {
		r, ok := rateOf(s, 5, "/default/orders", "orders-archive", "subscribed")
		return ok && r > 0 && strings.Contains(s, "order_id")
	})
	// Acks, health, topics: alive.
	term.keys("5")
	term.waitFor("acks of the sink's subscription", 10*time.Second, func(s string) bool {
		v, ok := rateOf(s, 3, "/default/orders", "orders-archive") // acked
		return ok && v > 0
	})
	term.keys("6")
	term.waitFor("health checks", 10*time.Second, func(s string) bool {
		return line(s, "orders-generator", "OK") != "" && line(s, "orders-archive", "OK") != ""
	})
	term.keys("2")
	term.waitFor("the demo's topics", 10*time.Second, func(s string) bool {
		return line(s, "/default/orders", "reliable") != "" && line(s, "/default/webhooks") != ""
	})

	// Connectors: stop the generator from the keyboard, then start it again.
	term.keys("7")
	term.waitFor("the connectors pane", 5*time.Second, func(s string) bool {
		r, ok := rateOf(s, 4, "orders-generator", "running")
		return ok && r > 0
	})
	term.keys("Down", "s") // the generator is the second connector
	term.waitFor("the generator stopped with its rate at zero", 15*time.Second, func(s string) bool {
		r, ok := rateOf(s, 4, "orders-generator", "stopped")
		return ok && r == 0
	})
	term.keys("3")
	term.waitFor("the generator's publish rate at zero", 10*time.Second, func(s string) bool {
		r, ok := rateOf(s, 3, "/default/orders", "orders-generator")
		return ok && r == 0
	})
	term.keys("7", "s")
	term.waitFor("the generator running again with a non-zero rate", 15*time.Second, func(s string) bool {
		r, ok := rateOf(s, 4, "orders-generator", "running")
		return ok && r > 0
	})

	// Quit: the session ends.
	term.keys("q")
	deadline := time.Now().Add(30 * time.Second)
	for term.alive() {
		if time.Now().After(deadline) {
			t.Fatalf("the console did not quit; the screen:\n%s", term.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
