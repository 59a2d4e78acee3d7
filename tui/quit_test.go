package tui

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// tapOwn starts a tap on topic with the console's own subscription and waits for nothing: the Fake starts
// it at once.
func tapOwn(t *testing.T, m *Model, topic string) {
	t.Helper()
	run(t, m, runLine(m, "consume "+topic))
	if !strings.HasPrefix(m.status.text, "tapping "+topic) {
		t.Fatalf("the tap on %s did not start: %q", topic, m.status.text)
	}
}

// calls returns the Fake's calls that start with prefix.
func calls(f *tuitest.Fake, prefix string) []string {
	var out []string
	for _, c := range f.Calls() {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// quitQuestion checks that the quit question is open and shows every one of want.
func quitQuestion(t *testing.T, m *Model, want ...string) *quitDialog {
	t.Helper()
	d, ok := m.modal.(*quitDialog)
	if !ok {
		t.Fatalf("no quit question: modal %T, status %q", m.modal, m.status.text)
	}
	s := screen(m)
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("the quit question lacks %q:\n%s", w, s)
		}
	}
	return d
}

// TestQuitAsksForCreatedSubscriptions: with a subscription the console's tap created, q on a top-level
// pane, ctrl+c and :quit all ask first, naming it; l lists it with its topic; esc stays; enter (No, the
// default) and n quit without deleting anything.
func TestQuitAsksForCreatedSubscriptions(t *testing.T) {
	f := tuitest.TopicsCluster()
	m := newTest(t, f, 160, 40, "dark")
	tapOwn(t, m, "/default/orders")
	tapOwn(t, m, "/default/payments")
	const ask = "2 subscriptions created by this console keep messages: delete them? [y/N/list]"

	for _, how := range []func() tea.Cmd{
		func() tea.Cmd { press(m, "1"); return press(m, "q") },
		func() tea.Cmd { return press(m, "ctrl+c") },
		func() tea.Cmd { return runLine(m, "quit") },
		func() tea.Cmd { return runLine(m, "q") },
	} {
		if quits(how()) {
			t.Fatal("quit without the question")
		}
		d := quitQuestion(t, m, ask, "No: keep them, quit", "Yes: delete them, quit")
		if strings.Contains(screen(m), "/default/payments  console-test-0a1b") {
			t.Error("the subscriptions are listed before l")
		}
		press(m, "l")
		quitQuestion(t, m, "/default/orders  console-test-0a1b", "/default/payments  console-test-0a1b")
		if !d.list {
			t.Error("l did not list")
		}
		if quits(press(m, "esc")) || m.modal != nil {
			t.Fatalf("esc did not go back to the console: modal %T", m.modal)
		}
	}
	press(m, "ctrl+c")
	if !quits(press(m, "enter")) {
		t.Fatal("enter (No: keep them) did not quit")
	}
	press(m, "esc")
	press(m, "ctrl+c")
	if !quits(press(m, "n")) {
		t.Fatal("n did not quit")
	}
	if got := calls(f, "Unsubscribe"); len(got) > 0 {
		t.Fatalf("quitting without a yes deleted: %q", got)
	}
}

// TestQuitDeletesCreatedSubscriptions: y stops the console's taps on the subscriptions it created and
// deletes them, then quits; one a description says is gone already is not asked for; a subscription the
// console tapped but did not create is never named nor deleted.
func TestQuitDeletesCreatedSubscriptions(t *testing.T) {
	f := tuitest.TopicsCluster()
	m := newTest(t, f, 160, 40, "dark")
	tapOwn(t, m, "/default/orders")
	tapOwn(t, m, "/default/payments")
	run(t, m, runLine(m, "consume /default/orders billing"))
	run(t, m, press(m, "y")) // the tap on billing, which the console did not create
	f.Update(func(*monitor.Snapshot) {
		d := f.Details["/default/orders"]
		d.Subscriptions = append(slices.Clone(d.Subscriptions), "console-test-0a1b")
		f.Details["/default/orders"] = d
		f.Details["/default/payments"] = monitor.TopicDetail{} // lists none: the subscription is gone already
	})

	press(m, "ctrl+c")
	d := quitQuestion(t, m, "2 subscriptions created by this console keep messages")
	press(m, "l")
	if want := []subRef{{"/default/orders", "console-test-0a1b"}, {"/default/payments", "console-test-0a1b"}}; !slices.Equal(d.loss.subs, want) {
		t.Errorf("the question lists %v, want %v", d.loss.subs, want)
	}
	cmd := press(m, "y")
	if !d.deleting() || !strings.Contains(screen(m), "deleting 2 subscriptions…") {
		t.Fatalf("y did not start the deletion:\n%s", screen(m))
	}
	msgs := runChain(t, m, cmd)
	if _, ok := msgs[len(msgs)-1].(tea.QuitMsg); !ok {
		t.Fatalf("the console did not quit after the deletion: %#v, status %q", msgs, m.status.text)
	}
	if got := calls(f, "Unsubscribe"); !slices.Equal(got, []string{"Unsubscribe /default/orders console-test-0a1b"}) {
		t.Errorf("deleted %q", got)
	}
	stops := calls(f, "StopConsumer")
	slices.Sort(stops)
	if want := []string{"StopConsumer console-test-0a1b-tap-1", "StopConsumer console-test-0a1b-tap-2"}; !slices.Equal(stops, want) {
		t.Errorf("stopped %q, want %q (the tap on billing stays until the console closes)", stops, want)
	}
	if len(m.consumers.created) != 0 {
		t.Errorf("still created: %v", m.consumers.created)
	}
}

// TestQuitDeletionFails: a deletion that fails is shown in the dialog and the console stays open; the
// subscription stays the console's, so quitting again asks again; ctrl+c while the deletion runs, or on
// the question, quits at once, deleting nothing more.
func TestQuitDeletionFails(t *testing.T) {
	f := tuitest.TopicsCluster()
	m := newTest(t, f, 160, 40, "dark")
	tapOwn(t, m, "/default/orders")
	f.Update(func(*monitor.Snapshot) {
		f.ProduceErr = errors.New("unsubscribe: the broker said no")
		f.Details = nil // the descriptions fail: the console asks the broker to delete
	})

	press(m, "ctrl+c")
	msgs := runChain(t, m, press(m, "y"))
	for _, msg := range msgs {
		if _, ok := msg.(tea.QuitMsg); ok {
			t.Fatal("the console quit although the deletion failed")
		}
	}
	quitQuestion(t, m, "1 subscription could not be deleted: the console stays open",
		"/default/orders console-test-0a1b: unsubscribe: the broker said no")
	if m.status.level != levelError {
		t.Errorf("status %q", m.status.text)
	}
	press(m, "esc")
	if m.modal != nil {
		t.Fatalf("esc left the failure open: %T", m.modal)
	}
	if quits(press(m, "ctrl+c")) {
		t.Fatal("ctrl+c quit without asking again")
	}
	quitQuestion(t, m, "1 subscription created by this console keeps messages: delete it?")
	if !quits(press(m, "ctrl+c")) {
		t.Fatal("the second ctrl+c did not quit")
	}
	// ctrl+c while the deletion runs.
	press(m, "esc")
	press(m, "ctrl+c")
	press(m, "y") // the deletion's command is not run: it is still running
	if !quits(press(m, "ctrl+c")) {
		t.Fatal("ctrl+c during the deletion did not quit")
	}
}

// TestQuitWarnsOfPendingAndMarks: messages a manual tap holds unacked and marks neither acted on nor
// exported are named; with nothing to delete the question only warns, No (stay) being the default; an
// export saves the marks.
func TestQuitWarnsOfPendingAndMarks(t *testing.T) {
	f := tuitest.Manual()
	m := newTest(t, f, 160, 40, "dark")
	pending := 0
	for _, c := range m.snap.Consumers {
		if c.AdHoc && c.ManualAck {
			pending += c.Pending
		}
	}
	if pending < 2 {
		t.Fatalf("the data set has %d pending", pending)
	}
	selectConsumer(t, m, "tap-1")
	press(m, "enter", "space", "up", "space")
	if len(m.consumers.marks) != 2 {
		t.Fatalf("%d marks", len(m.consumers.marks))
	}
	// Marks belong to their stream: with another stream shown, tap-1's are still counted.
	press(m, "esc")
	selectConsumer(t, m, "billing-1")
	if l := m.consumers.quitLoss(m.env()); l.marks != 2 {
		t.Fatalf("with another stream shown, the quit question counts %d marks, want tap-1's 2", l.marks)
	}
	selectConsumer(t, m, "tap-1")
	press(m, "ctrl+c")
	quitQuestion(t, m, itoa(pending)+" messages delivered to manual taps are not acked: quitting lets the broker",
		"2 marked messages not acted on nor exported: the marks are lost", "Quit anyway? [y/N]", "No: stay")
	if strings.Contains(screen(m), "subscriptions created") {
		t.Error("the question names subscriptions although the console created none")
	}
	if quits(press(m, "enter")) || m.modal != nil {
		t.Fatal("enter (No: stay) did not stay")
	}
	press(m, "ctrl+c")
	if quits(press(m, "n")) || m.modal != nil {
		t.Fatal("n did not stay")
	}
	press(m, "ctrl+c")
	press(m, "right")
	if !quits(press(m, "enter")) {
		t.Fatal("enter on Yes did not quit")
	}
	press(m, "esc")

	// Exported, the marks are saved; acked, the messages are not pending.
	run(t, m, runLine(m, "export --marked "+t.TempDir()+"/marked.jsonl"))
	if l := m.consumers.quitLoss(m.env()); l.marks != 0 || l.pending != pending {
		t.Fatalf("after the export: %+v", l)
	}
	press(m, "esc")
	f.Update(func(s *monitor.Snapshot) {
		for i := range s.Consumers {
			s.Consumers[i].Pending = 0
		}
	})
	m.pull()
	if !quits(press(m, "ctrl+c")) {
		t.Fatalf("nothing to lose, and ctrl+c did not quit: modal %T", m.modal)
	}
}

// TestQuitReadOnly: read-only mode refuses deleting, so the question only warns of the subscriptions and
// offers quit or stay; y quits and deletes nothing.
func TestQuitReadOnly(t *testing.T) {
	f := tuitest.TopicsCluster()
	m := newTest(t, f, 160, 40, "dark")
	tapOwn(t, m, "/default/orders")
	m.roSession = true
	press(m, "ctrl+c")
	quitQuestion(t, m, "1 subscription created by this console keeps messages (read-only: not deleted)",
		"Quit anyway? [y/N]")
	if strings.Contains(screen(m), "[y/N/list]") {
		t.Error("read-only offers to delete")
	}
	if !quits(press(m, "y")) {
		t.Fatal("y did not quit")
	}
	if got := calls(f, "Unsubscribe"); len(got) > 0 {
		t.Fatalf("read-only deleted %q", got)
	}

	// Read-only turned on while the question offering the deletion is open: y is refused.
	m = newTest(t, f, 160, 40, "dark")
	tapOwn(t, m, "/default/orders")
	press(m, "ctrl+c")
	quitQuestion(t, m, "delete it? [y/N/list]")
	m.roSession = true
	if cmd := press(m, "y"); cmd != nil || m.modal != nil || m.status.text != "read-only: "+changesUnsub+" is disabled" {
		t.Fatalf("read-only y: modal %T, status %q", m.modal, m.status.text)
	}
}

// TestQuitCancelledContext: a cancelled context (SIGTERM) quits without asking.
func TestQuitCancelledContext(t *testing.T) {
	m := newTest(t, tuitest.Manual(), 160, 40, "dark")
	ctx, cancel := context.WithCancel(context.Background())
	m.ctx = ctx
	if quits(press(m, "ctrl+c")) {
		t.Fatal("quit without the question")
	}
	press(m, "esc")
	cancel()
	if !quits(press(m, "ctrl+c")) {
		t.Fatal("ctrl+c with the context cancelled asked")
	}
}

// TestNackManyAsks: a nack of more than one message asks first, naming how many, the redelivery delay
// and what the subscription's failure policy does (read from the topic's description); No is the default.
func TestNackManyAsks(t *testing.T) {
	f := tuitest.Manual()
	f.Update(func(*monitor.Snapshot) {
		f.Details = map[string]monitor.TopicDetail{"/default/payments": {Subs: []monitor.SubscriptionDetail{{Name: "console-1",
			Policy: &monitor.FailurePolicy{MaxRedeliveries: 4, Poison: "dead-letter", DeadLetterTopic: "/default/payments-dlq"}}}}}
	})
	m := newTest(t, f, 160, 40, "dark")
	selectConsumer(t, m, "tap-1")
	press(m, "enter", "space", "up", "space")
	nack := func() {
		t.Helper()
		run(t, m, press(m, "n"))
		typeText(m, "5s")
		press(m, "enter")
	}
	nack()
	if _, ok := m.modal.(*confirmDialog); !ok {
		t.Fatalf("a nack of 2 messages did not ask: %T", m.modal)
	}
	for _, want := range []string{"Nack 2 messages?", "2 messages of console-1 on /default/payments go back to the broker.",
		"It delivers them again after 5s, to any consumer of the subscription.",
		"Its failure policy: a message delivered more than 4 times", "that fails again goes to the dead-letter topic /default/payments-dlq."} {
		if !strings.Contains(screen(m), want) {
			t.Errorf("the question lacks %q:\n%s", want, screen(m))
		}
	}
	press(m, "enter") // No is the default
	if got := calls(f, "Nack"); m.modal != nil || len(got) != 0 {
		t.Fatalf("enter: modal %T, calls %q", m.modal, got)
	}
	nack()
	run(t, m, press(m, "y"))
	if got := calls(f, "Nack"); len(got) != 1 || !strings.Contains(got[0], "[39 40] 5s") {
		t.Fatalf("y: calls %q", got)
	}

	// The description failed: the question says the policy is unknown.
	f.Update(func(*monitor.Snapshot) { f.Details = nil })
	if len(m.consumers.marks) != 1 || !m.consumers.marks[39] {
		t.Fatalf("after the nack the marks are %v: 40's went (nacked), 39's stays (it was acked before)", m.consumers.marks)
	}
	press(m, "up", "space") // 38 joins 39
	nack()
	if !strings.Contains(screen(m), "Its failure policy is unknown: describe /default/payments: tuitest:") {
		t.Errorf("no unknown policy:\n%s", screen(m))
	}
}

// TestSettlePartly: an ack of marked messages of which some were settled already settles the others: the
// status says how many were acked before the error, their marks go (the quit question no longer counts
// them) and the marks of those that failed stay.
func TestSettlePartly(t *testing.T) {
	f := tuitest.Manual()
	m := newTest(t, f, 160, 40, "dark")
	selectConsumer(t, m, "tap-1")
	press(m, "enter", "space", "up", "space") // 40 (pending) and 39 (acked already)
	run(t, m, press(m, "a"))
	if got := calls(f, "Ack"); len(got) != 1 || !strings.Contains(got[0], "[39 40]") {
		t.Fatalf("calls %q", got)
	}
	if !strings.HasPrefix(m.status.text, "acked 1 of 2 messages; ") || !strings.Contains(m.status.text, "not pending") || m.status.level != levelError {
		t.Errorf("status %q", m.status.text)
	}
	if len(m.consumers.marks) != 1 || !m.consumers.marks[39] {
		t.Errorf("marks %v, want 39's only", m.consumers.marks)
	}
}

// TestQuitOneSubscription: with one subscription created, the question and its buttons speak of it, not
// of them.
func TestQuitOneSubscription(t *testing.T) {
	m := newTest(t, tuitest.TopicsCluster(), 160, 40, "dark")
	tapOwn(t, m, "/default/orders")
	press(m, "ctrl+c")
	quitQuestion(t, m, "1 subscription created by this console keeps messages: delete it? [y/N/list]",
		"No: keep it, quit", "Yes: delete it, quit")
}

// TestTooSmallActsOnNothing: while the terminal is too small to show anything, keys do nothing (a dialog's
// y would confirm what the user cannot see), except ctrl+c; the dialog is there again once the terminal
// is big enough.
func TestTooSmallActsOnNothing(t *testing.T) {
	f := tuitest.TopicsCluster()
	m := newTest(t, f, 160, 40, "dark")
	run(t, m, runLine(m, "unsubscribe /default/orders billing"))
	if _, ok := m.modal.(*confirmDialog); !ok {
		t.Fatalf("no confirmation: %T", m.modal)
	}
	m.Update(tea.WindowSizeMsg{Width: 50, Height: 10})
	run(t, m, press(m, "y"))
	if got := calls(f, "Unsubscribe"); len(got) > 0 {
		t.Fatalf("y in a terminal too small to show the question deleted: %q", got)
	}
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 40})
	if !strings.Contains(screen(m), "Delete subscription billing of /default/orders?") {
		t.Fatalf("the question is gone:\n%s", screen(m))
	}
	m.Update(tea.WindowSizeMsg{Width: 50, Height: 10})
	if !quits(press(m, "ctrl+c")) {
		t.Error("ctrl+c in a terminal too small did not quit")
	}
}

// TestQuitListFits: a list of more subscriptions than the terminal has rows keeps the question's buttons
// and keys on screen and says how many it does not show.
func TestQuitListFits(t *testing.T) {
	m := newTest(t, tuitest.TopicsCluster(), 80, 24, "dark")
	for i := range 30 {
		m.consumers.created[subKey("/default/t"+itoa(i), "console-x-"+itoa(i))] = true
	}
	press(m, "ctrl+c", "l")
	checkFrame(t, m.View().Content, 80, 24)
	quitQuestion(t, m, "30 subscriptions created by this console", "/default/t0  console-x-0", "Yes: delete them, quit", "ctrl+c quit now", "more")
	if s := screen(m); !regexp.MustCompile(`… and (\d+) more`).MatchString(s) {
		t.Errorf("no count of the subscriptions not shown:\n%s", s)
	}
}

// TestQuitFailuresFit: more failed deletions than the terminal has rows keep the dialog's keys on screen
// and count those not shown.
func TestQuitFailuresFit(t *testing.T) {
	m := newTest(t, tuitest.TopicsCluster(), 80, 24, "dark")
	var msg quitDeletedMsg
	for i := range 20 {
		msg.failed = append(msg.failed, subFailure{subRef: subRef{topic: "/default/t" + itoa(i), sub: "console-x"},
			err: errors.New("unsubscribe console-x from /default/t" + itoa(i) + ": the broker said no, for a reason long enough to wrap")})
	}
	m.Update(msg)
	checkFrame(t, m.View().Content, 80, 24)
	quitQuestion(t, m, "20 subscriptions could not be deleted", "/default/t0 console-x: unsubscribe", "esc back to the console", "ctrl+c quit now")
	if s := screen(m); !regexp.MustCompile(`… and \d+ more`).MatchString(s) {
		t.Errorf("no count of the failures not shown:\n%s", s)
	}
}
