package e2e

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestConsoleTapOnExistingSubscription runs the real binary in tmux with the demo, whose jsonl sink reads
// /default/orders on its shared subscription orders-archive: a tap on that subscription asks first, and
// without a yes nothing subscribes; a type that is not the subscription's is refused with the real one
// named; confirmed, the tap joins with the subscription's type, and stopping it never suggests deleting
// the sink's subscription. A tap without a subscription gets the console's own, named after the user, and
// that one is offered for deletion.
func TestConsoleTapOnExistingSubscription(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	adminPort := freePort(t)
	term := startTerminal(t, 160, 48, []string{"TERM=xterm-256color", "XDG_CONFIG_HOME=" + dir, "USER=E2E.Tester"},
		bin, "--ephemeral", "--port", "0", "--admin-port", strconv.Itoa(adminPort), "--log-file", filepath.Join(dir, "console.log"))
	term.waitFor("the dashboard", 20*time.Second, func(s string) bool {
		return strings.Contains(s, "Danube Console") && strings.Contains(s, "orders-archive")
	})
	waitSubscribed(t, "http://127.0.0.1:"+strconv.Itoa(adminPort), "/default/orders", "orders-archive")

	consume := func(line string) {
		term.keys(":")
		term.text(line)
		term.keys("Enter")
	}
	consume("consume /default/orders orders-archive")
	term.waitFor("the confirmation", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "Tap existing subscription orders-archive?") && strings.Contains(s, "type shared") &&
			strings.Contains(s, "take a share of its messages")
	})
	term.keys("Enter") // No is the default
	term.waitFor("the dialog closed", 5*time.Second, func(s string) bool { return !strings.Contains(s, "Tap existing subscription") })
	term.keys("4")
	s := term.waitFor("the consumers pane", 5*time.Second, func(s string) bool { return strings.Contains(s, "Consumers") })
	if strings.Contains(s, "-tap-") || strings.Contains(s, "tapping ") {
		t.Fatalf("a tap started without a yes:\n%s", s)
	}

	consume("consume /default/orders orders-archive exclusive")
	term.waitFor("the type refused", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "orders-archive is shared, not exclusive")
	})

	consume("consume /default/orders orders-archive")
	term.waitFor("the confirmation again", 10*time.Second, func(s string) bool { return strings.Contains(s, "Tap existing subscription orders-archive?") })
	term.keys("y")
	s = term.waitFor("the tap on the sink's subscription", 15*time.Second, func(s string) bool {
		return strings.Contains(s, "(orders-archive, shared, auto-ack)")
	})
	name := regexp.MustCompile(`tapping /default/orders as (console-e2e-tester-[0-9a-f]{4})-tap-1 `).FindStringSubmatch(s)
	if name == nil {
		t.Fatalf("the tap's name is not the console's:\n%s", s)
	}
	prefix := name[1]
	consume("stop " + prefix + "-tap-1")
	s = term.waitFor("the tap stopped", 10*time.Second, func(s string) bool { return strings.Contains(s, "stopped "+prefix+"-tap-1") })
	if !strings.Contains(s, "orders-archive was there before the tap: left as it was") || strings.Contains(s, ":unsubscribe") {
		t.Errorf("stopping the tap on the sink's subscription:\n%s", s)
	}

	// Without a subscription: the console's own, offered for deletion when the tap stops.
	consume("consume /default/orders")
	term.waitFor("the tap on the console's own subscription", 15*time.Second, func(s string) bool {
		return strings.Contains(s, "as "+prefix+"-tap-2 ("+prefix+", shared, auto-ack)")
	})
	consume("stop " + prefix + "-tap-2")
	term.waitFor("the tap's stop", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "stopped "+prefix+"-tap-2; subscription "+prefix+" keeps its messages")
	})
	// The status line is cut at the terminal's width; m shows it whole.
	term.keys("m")
	term.waitFor("the deletion offered", 10*time.Second, func(s string) bool {
		return strings.Contains(s, ":unsubscribe /default/orders "+prefix)
	})
	term.keys("m")
	// Quitting names the console's own subscription, never the sink's; n quits, keeping it.
	term.keys("q")
	term.waitFor("the quit question", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "1 subscription created by this console keeps messages: delete it? [y/N/list]")
	})
	term.keys("l")
	s = term.waitFor("the list", 5*time.Second, func(s string) bool { return strings.Contains(s, "/default/orders  "+prefix) })
	if strings.Contains(s, "/default/orders  orders-archive") {
		t.Errorf("the quit question lists the sink's subscription:\n%s", s)
	}
	term.keys("n")
	term.waitExit()
}
