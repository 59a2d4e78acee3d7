package tui

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// TestTapPrefix: the console's tap names carry its user, in the topic-name alphabet, and a random suffix.
func TestTapPrefix(t *testing.T) {
	t.Setenv("USER", `CORP\Alice Smith`)
	p := newTapPrefix()
	if !regexp.MustCompile(`^console-corp-alice-smith-[0-9a-f]{4}$`).MatchString(p) {
		t.Fatalf("prefix %q", p)
	}
	for in, want := range map[string]string{"bob": "bob", "-é-": "", "a.b_c": "a-b_c", strings.Repeat("x", 40): strings.Repeat("x", 24)} {
		if got := nameAlphabet(in); got != want {
			t.Errorf("nameAlphabet(%q) = %q, want %q", in, got, want)
		}
	}
	m := New(tuitest.Scripted(), Options{Clock: tuitest.Clock})
	if m.consumers.prefix == "" || !strings.HasPrefix(m.consumers.prefix, "console-corp-alice-smith-") {
		t.Errorf("the model's prefix %q", m.consumers.prefix)
	}
}

// TestTapExistingSubscription: a tap on a subscription the topic has already asks first, naming who is on
// it and that the tap takes a share of its messages; No is the default; a type that is not the
// subscription's is refused with the real one named; read-only refuses the confirmation; stopping such a
// tap never suggests deleting the subscription.
func TestTapExistingSubscription(t *testing.T) {
	f := tuitest.TopicsCluster()
	m := newTest(t, f, 160, 40, "dark")
	run(t, m, runLine(m, "consume /default/orders billing"))
	if _, ok := m.modal.(*confirmDialog); !ok {
		t.Fatalf("no confirmation: modal %T, status %q, calls %q", m.modal, m.status.text, f.Calls())
	}
	s := screen(m)
	for _, want := range []string{"Tap existing subscription billing?", "type shared · 3 consumers (billing-1) · lag 12400",
		"take a share of its messages"} {
		if !strings.Contains(s, want) {
			t.Errorf("the dialog lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(m.status.text, "checking") {
		t.Errorf("the status still says the subscription is being checked: %q", m.status.text)
	}
	press(m, "enter") // No is the default
	if m.modal != nil || slices.ContainsFunc(f.Calls(), func(c string) bool { return strings.HasPrefix(c, "StartConsumer") }) {
		t.Fatalf("enter on the dialog: modal %T, calls %q", m.modal, f.Calls())
	}

	// Read-only refuses the confirmation.
	run(t, m, runLine(m, "consume /default/orders billing"))
	if m.modal == nil {
		t.Fatal("no confirmation the second time")
	}
	m.roSession = true
	press(m, "y")
	if slices.ContainsFunc(f.Calls(), func(c string) bool { return strings.HasPrefix(c, "StartConsumer") }) ||
		m.status.text != "read-only: "+changesTaps+" is disabled" {
		t.Fatalf("read-only: calls %q, status %q", f.Calls(), m.status.text)
	}
	press(m, "esc")
	m.roSession = false

	// A type that is not the subscription's.
	run(t, m, runLine(m, "consume /default/orders shipping exclusive"))
	if m.modal != nil || !strings.Contains(m.status.text, "shipping is key-shared, not exclusive") || m.status.level != levelError {
		t.Fatalf("a different type: modal %T, status %q", m.modal, m.status.text)
	}

	// y starts the tap with the subscription's type (none was asked for).
	run(t, m, runLine(m, "consume /default/orders shipping"))
	if _, ok := m.modal.(*confirmDialog); !ok {
		t.Fatalf("no confirmation for shipping: modal %T", m.modal)
	}
	// What the tap takes is said for the subscription's type: a key-shared one gives it some keys' messages.
	if s := screen(m); !strings.Contains(s, "The tap would take the messages of some keys") || strings.Contains(s, "a share of its messages") {
		t.Errorf("the question on a key-shared subscription:\n%s", s)
	}
	run(t, m, press(m, "y"))
	if got := f.Calls(); got[len(got)-1] != "StartConsumer /default/orders shipping key-shared console-test-0a1b-tap-1" {
		t.Fatalf("calls %q", got)
	}
	run(t, m, runLine(m, "stop console-test-0a1b-tap-1"))
	if strings.Contains(m.status.text, "unsubscribe") || !strings.Contains(m.status.text, "shipping was there before the tap") {
		t.Errorf("stopping a tap on a subscription not the console's: status %q", m.status.text)
	}

	// The console's own subscription is offered for deletion, and is not confirmed when tapped again.
	run(t, m, runLine(m, "consume /default/orders"))
	run(t, m, runLine(m, "stop console-test-0a1b-tap-2"))
	if want := "stopped console-test-0a1b-tap-2; subscription console-test-0a1b keeps its messages (:unsubscribe /default/orders console-test-0a1b deletes it)"; m.status.text != want {
		t.Errorf("status %q, want %q", m.status.text, want)
	}
	run(t, m, runLine(m, "consume /default/orders console-test-0a1b"))
	if got := f.Calls(); m.modal != nil || got[len(got)-1] != "StartConsumer /default/orders console-test-0a1b shared console-test-0a1b-tap-3" {
		t.Errorf("the console's own subscription: modal %T, calls %q", m.modal, got)
	}
}

// TestTapTakes: what a tap on an existing subscription takes is said for each type.
func TestTapTakes(t *testing.T) {
	for typ, want := range map[monitor.SubscriptionType]string{
		monitor.SubscriptionShared: "a share of its messages", monitor.SubscriptionUnknown: "a share of its messages",
		monitor.SubscriptionKeyShared: "the messages of some keys", monitor.SubscriptionFailover: "The tap would stand by",
		monitor.SubscriptionExclusive: "The broker refuses it while the holder is connected",
	} {
		if got := strings.Join(takes(typ), " "); !strings.Contains(got, want) {
			t.Errorf("%v: %q, want %q", typ, got, want)
		}
	}
}

// TestTapCheckSources: a subscription the snapshot does not list yet but the topic's description does is
// confirmed too, and one the snapshot lists is confirmed even when the description fails (its type then
// unknown); stopping such a tap does not offer the subscription for deletion.
func TestTapCheckSources(t *testing.T) {
	f := tuitest.TopicsCluster()
	d := f.Details["/default/orders"]
	d.Subs = append(slices.Clone(d.Subs), monitor.SubscriptionDetail{Name: "fresh", Type: monitor.SubscriptionFailover})
	f.Details["/default/orders"] = d
	m := newTest(t, f, 160, 40, "dark")
	run(t, m, runLine(m, "consume /default/orders fresh"))
	if _, ok := m.modal.(*confirmDialog); !ok || !strings.Contains(screen(m), "type failover") {
		t.Fatalf("a subscription only the description knows: modal %T\n%s", m.modal, screen(m))
	}
	run(t, m, press(m, "y"))
	if got := f.Calls(); got[len(got)-1] != "StartConsumer /default/orders fresh failover console-test-0a1b-tap-1" {
		t.Fatalf("calls %q", got)
	}
	run(t, m, runLine(m, "stop console-test-0a1b-tap-1"))
	if strings.Contains(m.status.text, "unsubscribe") {
		t.Errorf("stopping: status %q", m.status.text)
	}

	f = tuitest.Scripted() // no descriptions: DescribeTopic fails
	m = newTest(t, f, 160, 40, "dark")
	run(t, m, runLine(m, "consume /default/payments ledger"))
	if _, ok := m.modal.(*confirmDialog); !ok || !strings.Contains(screen(m), "type unknown (describing the topic failed)") {
		t.Fatalf("a subscription the snapshot lists, undescribed: modal %T\n%s", m.modal, screen(m))
	}
	press(m, "esc")
	if got := f.Calls(); slices.ContainsFunc(got, func(c string) bool { return strings.HasPrefix(c, "StartConsumer") }) {
		t.Errorf("esc started the tap: %q", got)
	}

	// Undescribed and unlisted: the tap starts, but the subscription, maybe there unseen, is not offered
	// for deletion.
	run(t, m, runLine(m, "consume /default/payments unseen"))
	if got := f.Calls(); got[len(got)-1] != "StartConsumer /default/payments unseen shared console-test-0a1b-tap-1" {
		t.Fatalf("calls %q", got)
	}
	run(t, m, runLine(m, "stop console-test-0a1b-tap-1"))
	if strings.Contains(m.status.text, "unsubscribe") || !strings.Contains(m.status.text, "stopped console-test-0a1b-tap-1") {
		t.Errorf("stopping: status %q", m.status.text)
	}
}

// tapFormOn opens the tap form on topic and runs its commands (the description of the topic).
func tapFormOn(t *testing.T, m *Model, topic string) *tapForm {
	t.Helper()
	_, cmd := m.Update(openTapFormMsg{topic: topic})
	run(t, m, cmd)
	f, ok := m.modal.(*tapForm)
	if !ok {
		t.Fatalf("no tap form: %T", m.modal)
	}
	return f
}

// TestTapFormTypeDefault: the tap form's type is the subscription's when the one typed exists (from the
// snapshot's consumers, else from the topic's description), shared for a new one, and the user's once
// chosen; a subscription the form knows nothing of is tapped with its own type, which the check reads.
func TestTapFormTypeDefault(t *testing.T) {
	f := tuitest.TopicsCluster()
	m := newTest(t, f, 160, 40, "dark")

	fm := tapFormOn(t, m, "/default/orders")
	if subTypes[fm.typ] != "shared" || strings.Contains(screen(m), "the subscription's type") {
		t.Fatalf("an empty subscription: type %s", subTypes[fm.typ])
	}
	typeText(m, "shipping") // key-shared, as its consumer shipping-1 says
	if subTypes[fm.typ] != "key-shared" || !strings.Contains(lineWith(screen(m), "type"), "[key-shared]") ||
		!strings.Contains(screen(m), "the subscription's type (it exists)") {
		t.Fatalf("shipping: type %s:\n%s", subTypes[fm.typ], screen(m))
	}
	run(t, m, press(m, "enter"))
	run(t, m, press(m, "y")) // the tap on an existing subscription asks first
	if got := calls(f, "StartConsumer"); !slices.Equal(got, []string{"StartConsumer /default/orders shipping key-shared console-test-0a1b-tap-1"}) {
		t.Fatalf("calls %q", got)
	}

	// Known from the description only: ledger of /default/payments is exclusive.
	fm = tapFormOn(t, m, "/default/payments")
	typeText(m, "ledger")
	if subTypes[fm.typ] != "exclusive" || fm.typFrom == "" {
		t.Fatalf("ledger: type %s from %q", subTypes[fm.typ], fm.typFrom)
	}
	// Chosen by the user: it stays whatever the subscription.
	press(m, "tab", "right")
	press(m, "shift+tab", "ctrl+u")
	typeText(m, "shipping")
	if subTypes[fm.typ] != "shared" || !fm.typSet {
		t.Fatalf("chosen: type %s", subTypes[fm.typ])
	}
	press(m, "esc")

	// Unknown to the form (the description failed): the tap asks for the subscription's own type.
	f.Update(func(*monitor.Snapshot) { f.Details = nil })
	fm = tapFormOn(t, m, "/default/audit")
	typeText(m, "someone")
	if !strings.Contains(screen(m), "its own if it exists, else shared") {
		t.Errorf("an unknown subscription's type line:\n%s", screen(m))
	}
	run(t, m, press(m, "enter"))
	if got := calls(f, "StartConsumer"); got[len(got)-1] != "StartConsumer /default/audit someone shared console-test-0a1b-tap-2" {
		t.Fatalf("calls %q", got)
	}
	if i := slices.IndexFunc(m.snap.Consumers, func(c monitor.ConsumerStats) bool { return c.Name == "console-test-0a1b-tap-2" }); i < 0 {
		t.Fatal("the tap is not in the snapshot")
	}
}
