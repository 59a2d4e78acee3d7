package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/internal/clitest"
	"github.com/danube-console/danube-console/internal/testenv"
)

// The tests of this file run consoles in tmux against a broker of the test's own (so that what the consoles
// leave on it can be read after they quit), with other programs (the headless produce and consume) on the
// same topic, as operators sharing a cluster would.

// sharedTopic is the reliable topic the tests share between the consoles and the other programs.
const sharedTopic = "/default/orders"

// startConsoleOn runs the console on srv in a tmux terminal as user, and waits for its first screen.
func startConsoleOn(t *testing.T, bin string, srv *broker.Server, user string) *terminal {
	t.Helper()
	dir := t.TempDir()
	term := startTerminal(t, 160, 48, []string{"TERM=xterm-256color", "USER=" + user},
		bin, "--service-url", srv.URL(), "--admin-url", srv.AdminURL(), "--log-file", filepath.Join(dir, "console.log"))
	term.waitFor("the console", 20*time.Second, func(s string) bool { return strings.Contains(s, "Danube Console") })
	return term
}

// command runs a line of the console's command line.
func (term *terminal) command(line string) {
	term.t.Helper()
	term.keys(":")
	term.text(line)
	term.keys("Enter")
}

// tapStarted matches the status line of a tap started: its name and subscription.
var tapStarted = regexp.MustCompile(`tapping \S+ as (console-[a-z0-9_-]+-[0-9a-f]{4}-tap-\d+) \(([^,]+), `)

// tapOwn starts a tap on topic with the console's own subscription and returns the tap's and the
// subscription's names, read from the screen.
func tapOwn(term *terminal, topic string) (name, sub string) {
	term.t.Helper()
	term.command("consume " + topic)
	s := term.waitFor("the tap on "+topic, 15*time.Second, func(s string) bool { return tapStarted.MatchString(s) })
	m := tapStarted.FindStringSubmatch(s)
	return m[1], m[2]
}

// exportTap exports the selected tap's stream to a file and returns the payloads of the messages in it.
func exportTap(term *terminal, path string) []string {
	term.t.Helper()
	term.command("export " + path)
	term.waitFor("the export", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "exported ") || strings.Contains(s, "nothing to export")
	})
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil // nothing to export: the tap received nothing
	}
	if err != nil {
		term.t.Fatal(err)
	}
	return payloads(term.t, string(b))
}

// payloads returns the payloads of the complete lines of a consume --jsonl output (or an export).
func payloads(t testing.TB, out string) []string {
	t.Helper()
	if i := strings.LastIndexByte(out, '\n'); i >= 0 {
		out = out[:i+1]
	} else {
		out = ""
	}
	_, recs := clitest.ParseJSONL(t, out)
	ps := make([]string, 0, len(recs))
	for _, r := range recs {
		p, err := r.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, string(p))
	}
	return ps
}

// produceN publishes n messages "<prefix>-<i>" to the reliable topic with the headless produce.
func produceN(t *testing.T, bin string, srv *broker.Server, topic, prefix string, n int) []string {
	t.Helper()
	var lines []string
	for i := range n {
		lines = append(lines, fmt.Sprintf("%s-%03d", prefix, i))
	}
	ctx, cancel := context.WithTimeout(t.Context(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "produce", "--service-url", srv.URL(), "-t", topic, "--reliable")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), fmt.Sprintf("sent %d messages", n)) {
		t.Fatalf("produce: %v: %s", err, out)
	}
	return lines
}

// allAcked waits until every message of topic is acked on sub (its cursor reached the end of the topic).
func allAcked(t *testing.T, srv *broker.Server, topic, sub string) {
	t.Helper()
	var info broker.TopicInfo
	testenv.Eventually(t, 20*time.Second, func() bool {
		info, _ = srv.Topic(topic)
		for _, s := range info.Subscriptions {
			if s.Name == sub {
				return s.Cursor == info.NextOffset && s.InFlight == 0 && s.Waiting == 0
			}
		}
		return false
	}, "%s of %s did not ack every message: %+v", sub, topic, lazyInfo{&info})
}

// lazyInfo prints a topic's description when it is printed.
type lazyInfo struct{ i *broker.TopicInfo }

func (l lazyInfo) String() string { return fmt.Sprintf("%+v", *l.i) }

// subscriptionsOf returns the subscriptions the broker has on topic.
func subscriptionsOf(srv *broker.Server, topic string) []string {
	info, _ := srv.Topic(topic)
	var out []string
	for _, s := range info.Subscriptions {
		out = append(out, s.Name)
	}
	return out
}

// counts counts payloads, and lists those seen more than once.
func counts(ps []string) (map[string]int, []string) {
	c := map[string]int{}
	var twice []string
	for _, p := range ps {
		if c[p]++; c[p] == 2 {
			twice = append(twice, p)
		}
	}
	return c, twice
}

// TestTapOnExistingSubscriptionLosesNothing: a headless consume holds the shared subscription archive while
// produce publishes. Asked about a tap on archive, the console answers n: the tap never starts and the sink
// receives every message. Answered y, the tap joins archive: the tap's share and the sink's add up to every
// message, each exactly once (counted by payload).
func TestTapOnExistingSubscriptionLosesNothing(t *testing.T) {
	bin := buildBinary(t)
	srv := brokertest.Run(t, broker.Options{Host: broker.DefaultHost})
	createTopic(t, srv.URL(), sharedTopic)
	sink := startProcess(t, bin, nil, "consume", "--service-url", srv.URL(), "-t", sharedTopic, "-s", "archive", "--jsonl")
	testenv.Eventually(t, 10*time.Second, func() bool { return activeConsumers(srv, sharedTopic, "archive") == 1 }, "the sink did not subscribe")
	term := startConsoleOn(t, bin, srv, "alice")

	// n: no tap.
	term.command("consume " + sharedTopic + " archive")
	term.waitFor("the question", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "Tap existing subscription archive?") && strings.Contains(s, "take a share of its messages")
	})
	term.keys("n")
	term.waitFor("the question closed", 5*time.Second, func(s string) bool { return !strings.Contains(s, "Tap existing subscription") })
	first := produceN(t, bin, srv, sharedTopic, "first", 60)
	allAcked(t, srv, sharedTopic, "archive")
	if n := activeConsumers(srv, sharedTopic, "archive"); n != 1 {
		t.Fatalf("%d consumers on archive after n", n)
	}
	got, twice := counts(payloads(t, sink.out.String()))
	for _, p := range first {
		if got[p] != 1 {
			t.Errorf("the sink received %s %d times", p, got[p])
		}
	}
	if len(twice) > 0 || len(got) != len(first) {
		t.Fatalf("the sink received %d payloads, %v twice; want the %d sent once", len(got), twice, len(first))
	}

	// y: the tap takes a share, and nothing is lost nor delivered twice.
	term.command("consume " + sharedTopic + " archive")
	term.waitFor("the question again", 10*time.Second, func(s string) bool { return strings.Contains(s, "Tap existing subscription archive?") })
	term.keys("y")
	term.waitFor("the tap on archive", 15*time.Second, func(s string) bool { return strings.Contains(s, "(archive, shared, auto-ack)") })
	testenv.Eventually(t, 10*time.Second, func() bool { return activeConsumers(srv, sharedTopic, "archive") == 2 }, "the tap did not join archive")
	second := produceN(t, bin, srv, sharedTopic, "second", 60)
	allAcked(t, srv, sharedTopic, "archive")
	tapGot := exportTap(term, filepath.Join(t.TempDir(), "tap.jsonl"))
	var sinkGot []string
	for _, p := range payloads(t, sink.out.String()) {
		if strings.HasPrefix(p, "second-") {
			sinkGot = append(sinkGot, p)
		}
	}
	all, twice := counts(append(slices.Clone(sinkGot), tapGot...))
	for _, p := range second {
		if all[p] != 1 {
			t.Errorf("%s received %d times by the tap and the sink together", p, all[p])
		}
	}
	if len(twice) > 0 || len(all) != len(second) || len(tapGot) == 0 || len(sinkGot) == 0 {
		t.Fatalf("the tap received %d, the sink %d, %d payloads in all, %v twice; want a share each adding up to the %d sent",
			len(tapGot), len(sinkGot), len(all), twice, len(second))
	}
	term.quit() // the console created no subscription: nothing to ask
}

// TestTwoConsolesTapOneTopic: two consoles of the same user tap one topic with their own subscriptions,
// whose names (read from each screen) differ; each receives every message.
func TestTwoConsolesTapOneTopic(t *testing.T) {
	bin := buildBinary(t)
	srv := brokertest.Run(t, broker.Options{Host: broker.DefaultHost})
	createTopic(t, srv.URL(), sharedTopic)
	a := startConsoleOn(t, bin, srv, "alice")
	b := startConsoleOn(t, bin, srv, "alice")
	nameA, subA := tapOwn(a, sharedTopic)
	nameB, subB := tapOwn(b, sharedTopic)
	if subA == subB || nameA == nameB {
		t.Fatalf("the two consoles' taps share names: %s on %s, %s on %s", nameA, subA, nameB, subB)
	}
	for _, sub := range []string{subA, subB} {
		testenv.Eventually(t, 10*time.Second, func() bool { return activeConsumers(srv, sharedTopic, sub) == 1 }, "%s did not subscribe", sub)
	}
	sent := produceN(t, bin, srv, sharedTopic, "both", 50)
	for i, term := range []*terminal{a, b} {
		sub := []string{subA, subB}[i]
		allAcked(t, srv, sharedTopic, sub)
		got, twice := counts(exportTap(term, filepath.Join(t.TempDir(), "tap.jsonl")))
		for _, p := range sent {
			if got[p] != 1 {
				t.Errorf("the tap on %s received %s %d times", sub, p, got[p])
			}
		}
		if len(twice) > 0 || len(got) != len(sent) {
			t.Errorf("the tap on %s received %d payloads, %v twice; want the %d sent once", sub, len(got), twice, len(sent))
		}
	}
}

// TestQuitQuestion: a console that created a subscription asks when it quits, listing it; y deletes it on
// the broker. Another run that answers n, or esc then ctrl+c twice, leaves its subscription in place.
func TestQuitQuestion(t *testing.T) {
	bin := buildBinary(t)
	srv := brokertest.Run(t, broker.Options{Host: broker.DefaultHost})
	createTopic(t, srv.URL(), sharedTopic)
	const ask = "1 subscription created by this console keeps messages: delete it? [y/N/list]"

	term := startConsoleOn(t, bin, srv, "alice")
	_, sub := tapOwn(term, sharedTopic)
	testenv.Eventually(t, 10*time.Second, func() bool { return slices.Contains(subscriptionsOf(srv, sharedTopic), sub) }, "%s is not on the broker", sub)
	term.keys("q")
	term.waitFor("the quit question", 10*time.Second, func(s string) bool { return strings.Contains(s, ask) })
	term.keys("l")
	term.waitFor("the list", 5*time.Second, func(s string) bool { return strings.Contains(s, sharedTopic+"  "+sub) })
	term.keys("y")
	term.waitExit()
	if subs := subscriptionsOf(srv, sharedTopic); slices.Contains(subs, sub) {
		t.Fatalf("%s is still on the broker after y: %q", sub, subs)
	}

	// n quits, keeping it.
	term = startConsoleOn(t, bin, srv, "alice")
	_, kept := tapOwn(term, sharedTopic)
	term.keys("q")
	term.waitFor("the quit question", 10*time.Second, func(s string) bool { return strings.Contains(s, ask) })
	term.keys("n")
	term.waitExit()

	// esc stays; ctrl+c asks again, and a second ctrl+c quits at once.
	term = startConsoleOn(t, bin, srv, "alice")
	_, kept2 := tapOwn(term, sharedTopic)
	term.keys("q")
	term.waitFor("the quit question", 10*time.Second, func(s string) bool { return strings.Contains(s, ask) })
	term.keys("Escape")
	term.waitFor("the console again", 5*time.Second, func(s string) bool { return !strings.Contains(s, ask) })
	if !term.alive() {
		t.Fatal("esc quit")
	}
	term.keys("C-c")
	term.waitFor("the quit question after ctrl+c", 10*time.Second, func(s string) bool { return strings.Contains(s, ask) })
	term.keys("C-c")
	term.waitExit()
	subs := subscriptionsOf(srv, sharedTopic)
	if !slices.Contains(subs, kept) || !slices.Contains(subs, kept2) {
		t.Fatalf("the subscriptions kept (%s, %s) are not all on the broker: %q", kept, kept2, subs)
	}
}
