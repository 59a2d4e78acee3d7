package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestConsoleStreamStateAndCopy runs the real binary in tmux with the demo: a filter typed on a tap stays
// with that tap (the sink's consumer, selected next, shows all its messages; going back shows the filter
// again), the status bar shows the pane's keys, and y copies the selected message's payload with OSC 52,
// which tmux (set-clipboard on) keeps in its paste buffer.
func TestConsoleStreamStateAndCopy(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	adminPort := freePort(t)
	term := startTerminal(t, 160, 48, []string{"TERM=xterm-256color", "XDG_CONFIG_HOME=" + dir},
		bin, "--ephemeral", "--port", "0", "--admin-port", strconv.Itoa(adminPort), "--log-file", filepath.Join(dir, "console.log"))
	// tmux takes OSC 52 from the programs it runs only with set-clipboard on: a server option, put back. It is
	// read once the session keeps the server up (a server started only to read it exits at once, under the
	// feet of another test's new session).
	if out, err := exec.Command("tmux", "show-options", "-sv", "set-clipboard").CombinedOutput(); err == nil {
		prev := strings.TrimSpace(string(out))
		t.Cleanup(func() { _ = exec.Command("tmux", "set-option", "-s", "set-clipboard", prev).Run() })
	}
	if out, err := exec.Command("tmux", "set-option", "-s", "set-clipboard", "on").CombinedOutput(); err != nil {
		t.Fatalf("tmux set-clipboard on: %v: %s", err, out)
	}
	term.waitFor("the dashboard's keys", 20*time.Second, func(s string) bool {
		return strings.Contains(s, "orders-archive") && strings.Contains(s, "<enter> open tile")
	})
	waitSubscribed(t, "http://127.0.0.1:"+strconv.Itoa(adminPort), "/default/orders", "orders-archive")

	term.keys(":")
	term.text("tap /default/orders")
	term.keys("Enter")
	term.waitFor("the tap's stream", 15*time.Second, func(s string) bool {
		return strings.Contains(line(s, "Stream"), "-tap-1") && strings.Contains(s, "<c> new tap…")
	})
	term.keys("/")
	term.text("key:customer-2")
	term.keys("Enter")
	filtered := func(s string) bool { return strings.Contains(line(s, "Stream"), "match /key:customer-2/") }
	term.waitFor("the filtered tap", 10*time.Second, func(s string) bool {
		return filtered(s) && strings.Contains(line(s, "Stream"), "-tap-1")
	})

	// The list: the console's subscription with the tap under it, then orders-archive with the sink's
	// consumer under it. Two rows down is the sink's consumer; each move changes the box under the list.
	move := func(k string) string {
		t.Helper()
		before := lowerTitle(term.screen())
		term.keys(k)
		return term.waitFor("the selection to move ("+k+")", 5*time.Second, func(s string) bool { return lowerTitle(s) != before })
	}
	move("j")
	s := move("j")
	if l := line(s, "Stream"); !strings.Contains(l, "orders-archive · orders-archive") || filtered(s) {
		t.Fatalf("the sink's consumer, unfiltered, was expected:\n%s", s)
	}
	move("k")
	s = move("k")
	if !filtered(s) || !strings.Contains(line(s, "Stream"), "-tap-1") {
		t.Fatalf("the tap's filter is not back:\n%s", s)
	}

	// y on a selected message.
	term.keys("Enter")
	term.waitFor("the stream's keys", 5*time.Second, func(s string) bool { return strings.Contains(s, "<space> mark / unmark") })
	term.keys("k", "y")
	s = term.waitFor("the copy's status", 10*time.Second, func(s string) bool { return strings.Contains(s, "copied the payload of /default/orders@") })
	out, err := exec.Command("tmux", "show-buffer").CombinedOutput()
	if err != nil {
		t.Fatalf("tmux show-buffer: %v: %s", err, out)
	}
	var order struct {
		ID string `json:"order_id"`
	}
	if err := json.Unmarshal(out, &order); err != nil || order.ID == "" {
		t.Fatalf("the paste buffer holds no order (%v): %q", err, out)
	}
	if row := line(s, order.ID); !strings.Contains(row, "customer-2") {
		t.Errorf("the copied order %s is no row of the filtered stream (row %q):\n%s", order.ID, row, s)
	}
}

// lowerTitle is the title of the box under the consumers list: the stream's (without its counts, which
// move) or the subscription's.
func lowerTitle(s string) string {
	l := line(s, "╭─ Stream")
	if l == "" {
		return line(s, "from the brokers' metrics")
	}
	if i := strings.LastIndex(l, "/default/"); i >= 0 {
		return l[i:]
	}
	return l
}
