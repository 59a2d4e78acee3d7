package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/internal/clitest"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/testenv"
)

// rateOf returns the number in column col (0-based, split on blanks, box borders removed) of the first
// screen line that holds all of subs, and whether there is one.
func rateOf(screen string, col int, subs ...string) (float64, bool) {
	l := strings.Trim(line(screen, subs...), "│ ")
	f := strings.Fields(l)
	if col >= len(f) {
		return 0, false
	}
	return parseShown(f[col])
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
		r, ok := numberAt(s, "MSG/S", "/default/orders", "orders-generator")
		return ok && r > 0
	})
	// Consumers: the sink's consumer receives (below the subscription's row from the broker's metrics), and its
	// stream shows the orders.
	term.keys("4", "j")
	term.waitFor("the sink's consumer rate and its stream", 10*time.Second, func(s string) bool {
		r, ok := numberAt(s, "MSG/S", "/default/orders", "orders-archive", "subscribed")
		return ok && r > 0 && strings.Contains(s, "order_id")
	})
	// Acks, health, topics: alive.
	term.keys("5")
	term.waitFor("acks of the sink's subscription", 10*time.Second, func(s string) bool {
		v, ok := numberAt(s, "ACKED", "/default/orders", "orders-archive")
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
	term.keys("j", "s") // the generator is the second connector
	term.waitFor("the question before stopping a running connector", 5*time.Second, func(s string) bool {
		return strings.Contains(s, "Stop connector orders-generator?")
	})
	term.keys("y")
	term.waitFor("the generator stopped with its rate at zero", 15*time.Second, func(s string) bool {
		r, ok := rateOf(s, 4, "orders-generator", "stopped")
		return ok && r == 0
	})
	term.keys("3")
	term.waitFor("the generator's publish rate at zero", 10*time.Second, func(s string) bool {
		r, ok := numberAt(s, "MSG/S", "/default/orders", "orders-generator")
		return ok && r == 0
	})
	term.keys("7", "s")
	term.waitFor("the generator running again with a non-zero rate", 15*time.Second, func(s string) bool {
		r, ok := rateOf(s, 4, "orders-generator", "running")
		return ok && r > 0
	})

	// Quit: the session ends.
	term.quit()
}

// TestConsoleUserConfig: with --config the console runs that file's connectors on the embedded broker
// instead of the demo; its panes follow the terminal's size down to the minimum, say when the terminal is
// too small, and come back when it grows.
func TestConsoleUserConfig(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	cfg := clitest.WriteFile(t, "mine.toml", clitest.PipelineTOML("/default/mine", "mine-archive", filepath.Join(dir, "mine.jsonl"), "mine-gen",
		"rate = 50", `template = '{"n":{{seq}}}'`))
	term := startTerminal(t, 160, 48, []string{"TERM=xterm-256color"},
		bin, "--ephemeral", "--port", "0", "--admin-port", "0", "--log-file", filepath.Join(dir, "console.log"), "--config", cfg)
	term.keys("7")
	s := term.waitFor("the file's connectors running", 20*time.Second, func(s string) bool {
		g, ok1 := rateOf(s, 4, "mine-gen", "running")
		a, ok2 := rateOf(s, 4, "mine-archive", "running")
		return ok1 && ok2 && g > 0 && a > 0
	})
	if strings.Contains(s, "orders-generator") || strings.Contains(s, "webhooks-in") {
		t.Fatalf("the demo runs next to --config:\n%s", s)
	}

	// Its details show where it comes from and what it was configured with.
	term.keys("Enter")
	term.waitFor("the sink's configuration in its details", 5*time.Second, func(s string) bool {
		return line(s, "from", "mine.toml:2") != "" && line(s, "path", "mine.jsonl") != "" &&
			line(s, "subscription", "mine-archive (Shared)") != "" && line(s, "create_topic", "reliable") != ""
	})
	term.keys("Escape")
	term.waitFor("the details closed", 5*time.Second, func(s string) bool { return !strings.Contains(s, "configuration") })

	// A producer of test messages started from the command line, then stopped with x.
	term.keys(":")
	term.text("producer /default/load 100")
	term.keys("Enter")
	term.waitFor("producer-1 publishing", 10*time.Second, func(s string) bool {
		r, ok := numberAt(s, "MSG/S", "/default/load", "producer-1", "created")
		return ok && r > 0
	})
	term.keys("x") // :producer selected producer-1
	term.waitFor("producer-1 closed", 10*time.Second, func(s string) bool {
		r, ok := numberAt(s, "MSG/S", "/default/load", "producer-1", "closed")
		return ok && r == 0
	})
	// A tap stopped with its subscription deleted.
	term.keys(":")
	term.text("consume /default/mine e2e-tmp")
	term.keys("Enter")
	term.waitFor("the tap's stream", 10*time.Second, func(s string) bool { return len(streamRows(s)) > 0 && strings.Contains(s, "e2e-tmp") })
	term.keys(":")
	term.text("stop --unsubscribe") // the selected tap: the one just started
	term.keys("Enter")
	term.waitFor("the question before deleting the subscription", 5*time.Second, func(s string) bool {
		return strings.Contains(s, "and delete subscription e2e-tmp?") && strings.Contains(s, "This console's tap created it.")
	})
	term.keys("y")
	term.waitFor("the subscription deleted", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "deleted subscription e2e-tmp of /default/mine")
	})
	term.keys("7")

	term.resize(60, 16)
	term.waitFor("the connectors pane at the minimum size", 5*time.Second, func(s string) bool {
		return line(s, "mine-gen") != "" && !strings.Contains(s, "too small")
	})
	term.resize(50, 12)
	term.waitFor("the too-small message", 5*time.Second, func(s string) bool {
		return strings.Contains(s, "terminal too small") && strings.Contains(s, "have 50×12")
	})
	term.resize(120, 30)
	term.waitFor("the pane back at 120×30", 5*time.Second, func(s string) bool {
		return line(s, "mine-archive", "running") != "" && !strings.Contains(s, "too small")
	})
	term.quit()
}

// TestConsoleManualAckAndReplay runs the real binary in tmux on the embedded broker with the demo: it opens a
// manual-ack tap on the demo's topic, nacks a message and sees it come back with the same offset, acks it
// (both written to the audit log), and replays a message to another topic, whose arrival a headless
// `consume` confirms with the x-replayed-from attribute.
func TestConsoleManualAckAndReplay(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	adminPort := freePort(t)
	term := startTerminal(t, 160, 48, []string{"TERM=xterm-256color", "XDG_CONFIG_HOME=" + dir},
		bin, "--ephemeral", "--port", "0", "--admin-port", strconv.Itoa(adminPort),
		"--log-file", filepath.Join(dir, "console.log"), "--audit-log", filepath.Join(dir, "audit.log"))
	s := term.waitFor("the dashboard", 20*time.Second, func(s string) bool {
		return strings.Contains(s, "Danube Console") && strings.Contains(s, "orders-archive")
	})
	serviceURL := regexp.MustCompile(`http://127\.0\.0\.1:\d+`).FindString(s)

	// A manual-ack tap: the broker's dispatch window fills it with pending messages.
	term.keys(":")
	term.text("consume /default/orders e2e-tap shared --manual")
	term.keys("Enter")
	s = term.waitFor("pending messages in the tap", 15*time.Second, func(s string) bool {
		return strings.Contains(s, "e2e-tap") && firstRow(s, "pending") != ""
	})

	// Nack the oldest: it comes back with the same offset, pending again.
	term.keys("Enter", "g")
	offset := firstRow(s, "pending")
	term.keys("n")
	term.waitFor("the nack prompt", 5*time.Second, func(s string) bool { return strings.Contains(s, "Nack · 1 message") })
	term.keys("Tab")
	term.text("e2e nack")
	term.keys("Enter")
	term.waitFor("the nack's result", 10*time.Second, func(s string) bool { return strings.Contains(s, "nacked 1 message") })
	term.keys("G") // follow the stream again (selecting a row paused it)
	term.waitFor("the nacked message to come back with offset "+offset, 15*time.Second, func(s string) bool {
		return rowWith(s, offset, "nacked") && rowWith(s, offset, "pending")
	})
	// Ack the redelivery: the newest row.
	term.keys("G", "a")
	term.waitFor("the redelivered message acked", 10*time.Second, func(s string) bool {
		return rowWith(s, offset, "acked") && strings.Contains(s, "acked 1 message")
	})
	audit, err := os.ReadFile(filepath.Join(dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"action":"nack"`, `"reason":"e2e nack"`, `"action":"ack"`, `"offset":` + offset + `,`} {
		if !strings.Contains(string(audit), want) {
			t.Errorf("the audit log lacks %s:\n%s", want, audit)
		}
	}

	// Replay the selected message to another topic, read by a headless consume subscribed beforehand.
	if out, err := exec.Command(bin, "produce", "--service-url", serviceURL, "-t", "/default/replayed", "--reliable", "-m", "seed").CombinedOutput(); err != nil {
		t.Fatalf("creating /default/replayed: %v: %s", err, out)
	}
	consume := exec.Command(bin, "consume", "--service-url", serviceURL, "-t", "/default/replayed", "-s", "check", "-c", "1", "--jsonl")
	var got, errs syncBuffer
	consume.Stdout, consume.Stderr = &got, &errs
	if err := consume.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- consume.Wait() }()
	t.Cleanup(func() { _ = consume.Process.Kill() })
	waitSubscribed(t, "http://127.0.0.1:"+strconv.Itoa(adminPort), "/default/replayed", "check")

	term.keys("P")
	term.waitFor("the replay review", 5*time.Second, func(s string) bool { return strings.Contains(s, "Replay · review") })
	term.keys("e", "C-u")
	term.text("/default/replayed")
	term.keys("Enter")
	term.waitFor("the replay's result", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "replayed 1 message") && strings.Contains(s, "/default/replayed")
	})
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("consume: %v: %s", err, errs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("the replayed message did not reach the headless consume; the screen:\n%s", term.screen())
	}
	var rec struct {
		Topic      string            `json:"topic"`
		Attributes map[string]string `json:"attributes"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(got.String())), &rec); err != nil {
		t.Fatalf("consume printed %q: %v", got.String(), err)
	}
	if rec.Topic != "/default/replayed" || !strings.HasPrefix(rec.Attributes["x-replayed-from"], "/default/orders@") {
		t.Errorf("replayed message %+v, want x-replayed-from=/default/orders@<offset>", rec)
	}

	// Export the tap's messages and publish the file again with the headless produce --from-jsonl.
	export := filepath.Join(dir, "export.jsonl")
	term.keys(":")
	term.text("export " + export)
	term.keys("Enter")
	s = term.waitFor("the export's result", 10*time.Second, func(s string) bool { return strings.Contains(s, "exported ") })
	n := clitest.CountLines(export)
	if n == 0 || !strings.Contains(s, fmt.Sprintf("exported %d message", n)) {
		t.Fatalf("%d lines in the export; the screen:\n%s", n, s)
	}
	reimport, err := exec.Command(bin, "produce", "--service-url", serviceURL, "-t", "/default/reimported", "--from-jsonl", export).CombinedOutput()
	if err != nil || !strings.Contains(string(reimport), fmt.Sprintf("sent %d messages", n)) {
		t.Errorf("produce --from-jsonl of the export: %v: %s", err, reimport)
	}
}

// streamRowTime matches the TIME column of a message row of the consumers pane's stream.
var streamRowTime = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d\d\d$`)

// streamRows returns the columns of the screen's stream rows: lines inside a box whose first column is a
// message time (so that no other text, e.g. a tile's title "Acks (1) 0 pending", passes for one).
func streamRows(screen string) [][]string {
	var out [][]string
	for _, l := range strings.Split(screen, "\n") {
		if !strings.HasPrefix(l, "│") {
			continue
		}
		if f := strings.Fields(strings.Trim(l, "│ ")); len(f) > 4 && streamRowTime.MatchString(f[0]) {
			out = append(out, f)
		}
	}
	return out
}

// firstRow returns the offset of the first stream row in state ("" when none).
func firstRow(screen, state string) string {
	for _, f := range streamRows(screen) {
		if f[4] == state {
			return f[2]
		}
	}
	return ""
}

// rowWith reports whether a stream row of the screen has offset as its third column and state as its fifth.
func rowWith(screen, offset, state string) bool {
	for _, f := range streamRows(screen) {
		if f[2] == offset && f[4] == state {
			return true
		}
	}
	return false
}

// waitSubscribed waits until the admin API lists sub on topic.
func waitSubscribed(t *testing.T, adminURL, topic, sub string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin, err := client.ConnectAdmin(ctx, adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	testenv.Eventually(t, 15*time.Second, func() bool {
		var subs []string
		subs, err = admin.Subscriptions(ctx, topic)
		return err == nil && slices.Contains(subs, sub)
	}, "%s never subscribed to %s: %v", sub, topic, lazyErr{&err})
}

// lazyErr prints the error *e holds when it is printed.
type lazyErr struct{ e *error }

func (l lazyErr) String() string { return fmt.Sprint(*l.e) }
