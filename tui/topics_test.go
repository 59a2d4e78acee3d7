package tui

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// rowNamed returns the topics pane's listed row of that name, failing the test when it is not listed.
func rowNamed(t *testing.T, m *Model, name string) *topicRow {
	t.Helper()
	for _, r := range m.topics.list {
		if r.name == name {
			return r
		}
	}
	t.Fatalf("%s is not listed", name)
	return nil
}

// listed returns the names the topics pane lists, in order.
func listed(m *Model) []string {
	var out []string
	for _, r := range m.topics.list {
		out = append(out, r.name)
	}
	return out
}

// TestTopicsJoinAdminAndMetrics: the list joins the admin API's topics with the brokers' metrics summed
// over brokers, groups the partitions under their base topic with the sums, and lists the topics only the
// metrics know.
func TestTopicsJoinAdminAndMetrics(t *testing.T) {
	m := newTest(t, tuitest.TopicsCluster(), 160, 48, "dark")
	press(m, "2")
	want := []string{"/analytics/clickstream-events-eu-west-1", "/default/audit", "/default/orders", "/default/payments",
		"/iot/alerts", "/iot/sensors", "/legacy/metrics-only"}
	if got := listed(m); !slices.Equal(got, want) {
		t.Fatalf("listed %q, want %q", got, want)
	}
	o := rowNamed(t, m, "/default/orders")
	// part-1 moved from broker 2 to broker 3: both brokers' figures count.
	if !o.group || len(o.parts) != 3 || o.msgsIn != 3650 || o.msgsOut != 3485 || o.lag != 12400 || o.producers != 3 ||
		o.consumers != 6 || o.subs != 2 || o.broker != "1,3,2" || o.schema != "orders-value" || !o.reliable {
		t.Errorf("orders group %+v", *o)
	}
	if r := rowNamed(t, m, "/legacy/metrics-only"); r.known || r.delivery || r.msgsIn != 12 || r.broker != "2" {
		t.Errorf("metrics-only row %+v", *r)
	}
	if r := rowNamed(t, m, "/iot/alerts"); r.metrics || !r.known {
		t.Errorf("admin-only row %+v", *r)
	}
	s := screen(m)
	for _, want := range []string{"▸ /default/orders [3]", "12400", "metrics only", "1,3,2", "694 kB/s"} {
		if !strings.Contains(s, want) {
			t.Errorf("the list does not show %q:\n%s", want, s)
		}
	}
}

// TestTopicsSortFilterExpand: o cycles the sort column and O reverses it (the header says which), / filters
// by name and esc clears it, →/space/← expand and collapse a partitioned topic.
func TestTopicsSortFilterExpand(t *testing.T) {
	m := newTest(t, tuitest.TopicsCluster(), 160, 48, "dark")
	press(m, "2", "o") // by msgs/s in, descending
	if got := listed(m); got[0] != "/iot/sensors" || got[len(got)-1] != "/iot/alerts" {
		t.Errorf("sorted by in: %q", got)
	}
	if !strings.Contains(screen(m), "IN/s ▼") {
		t.Errorf("the header does not show the sort")
	}
	press(m, "O")
	if got := listed(m); got[0] != "/default/payments" || got[1] != "/iot/alerts" || !strings.Contains(screen(m), "IN/s ▲") {
		t.Errorf("reversed: %q", got)
	}
	for range numSortCols - 1 {
		press(m, "o")
	}
	if got := listed(m); got[0] != "/analytics/clickstream-events-eu-west-1" || !strings.Contains(screen(m), "TOPIC ▲") {
		t.Errorf("back to the name: %q", got)
	}

	press(m, "/")
	typeText(m, "ORD")
	if got := listed(m); !slices.Equal(got, []string{"/default/orders"}) {
		t.Errorf("filtered %q", got)
	}
	press(m, "enter", "right")
	if got := listed(m); !slices.Equal(got, []string{"/default/orders", "/default/orders-part-0", "/default/orders-part-1", "/default/orders-part-2"}) {
		t.Errorf("expanded %q", got)
	}
	press(m, "down", "down", "left") // from a partition: collapses its group and selects it
	if got := listed(m); len(got) != 1 || m.topics.selected().name != "/default/orders" {
		t.Errorf("collapsed %q, selected %q", got, m.topics.selected().name)
	}
	press(m, "space")
	if len(listed(m)) != 4 {
		t.Errorf("space did not expand")
	}
	press(m, "space")
	if len(listed(m)) != 1 {
		t.Errorf("space did not collapse")
	}
	press(m, "enter", "esc") // the detail closes first, then the filter clears
	if m.topics.detail != nil || len(listed(m)) != 1 {
		t.Errorf("esc in the detail: detail %v, listed %q", m.topics.detail != nil, listed(m))
	}
	press(m, "esc")
	if len(listed(m)) != 7 || m.active != paneTopics {
		t.Errorf("esc did not clear the filter: %q, pane %d", listed(m), m.active)
	}
	press(m, "/")
	typeText(m, "nothing-like-it")
	if s := screen(m); !strings.Contains(s, "no topic matches nothing-like-it (esc clears the filter)") {
		t.Errorf("no empty-filter message:\n%s", s)
	}
	press(m, "esc")
	if len(listed(m)) != 7 {
		t.Errorf("esc in the input did not clear the filter")
	}
}

// TestTopicsSelectTopic: selectTopic selects a partition (expanding its group), clearing a filter that hides
// it, and closes the detail view.
func TestTopicsSelectTopic(t *testing.T) {
	m := newTest(t, tuitest.TopicsCluster(), 120, 40, "dark")
	press(m, "2", "/")
	typeText(m, "audit")
	press(m, "enter", "enter")
	if m.topics.detail == nil {
		t.Fatal("enter did not open the detail")
	}
	m.with(func(e *env) tea.Cmd { m.topics.selectTopic(e, "/default/orders-part-2"); return nil })
	m.sync()
	if m.topics.detail != nil || m.topics.filterText() != "" || m.topics.selected().name != "/default/orders-part-2" {
		t.Errorf("detail %v, filter %q, selected %q", m.topics.detail != nil, m.topics.filterText(), m.topics.selected().name)
	}
	m.with(func(e *env) tea.Cmd { m.topics.selectTopic(e, "/nope/gone"); return nil })
	if !strings.Contains(m.status.text, "/nope/gone is not in the list") {
		t.Errorf("status %q", m.status.text)
	}
}

// TestTopicDetail: enter describes the topic in a command (the view says so meanwhile), then shows the
// description, each subscription's live figures and policy, the latency per broker and the charts with
// their source; s switches the span; a failed describe shows the broker's reason; esc goes back.
func TestTopicDetail(t *testing.T) {
	f := tuitest.TopicsCluster()
	m := newTest(t, f, 160, 48, "dark")
	cmd := press(m, "2", "down", "down", "enter")
	if s := screen(m); !strings.Contains(s, "describing…") {
		t.Errorf("no loading state:\n%s", s)
	}
	run(t, m, cmd)
	if got := f.Calls(); !slices.Equal(got, []string{"describe /default/orders"}) {
		t.Fatalf("calls %q", got)
	}
	s := screen(m)
	for _, want := range []string{"orders-value · id 3 v2 · json_schema · backward", "5× ack 30s exp dead-letter",
		"key-shared", "console samples", "last 15m", "broker 3 part-1  publish 1.4ms/7.9ms/21ms", "avg 205 B"} {
		if !strings.Contains(s, want) {
			t.Errorf("the detail does not show %q:\n%s", want, s)
		}
	}
	if l := lineWith(s, "billing "); !strings.Contains(l, "12400") || !strings.Contains(l, "shared") {
		t.Errorf("billing line %q", l)
	}
	press(m, "s")
	if !strings.Contains(screen(m), "last 1h") {
		t.Errorf("s did not switch the span")
	}

	// A live change of the metrics shows without describing again.
	f.Update(func(s *monitor.Snapshot) {
		subs := slices.Clone(s.Cluster.Subscriptions)
		for i := range subs {
			if subs[i].Subscription == "billing" {
				subs[i].Lag += 1000
			}
		}
		s.Cluster.Subscriptions = subs
	})
	m.Update(tickMsg(time.Now()))
	if l := lineWith(screen(m), "billing "); !strings.Contains(l, "15400") {
		t.Errorf("billing line after a scrape %q", l)
	}

	press(m, "esc")
	if m.topics.detail != nil || !strings.Contains(screen(m), "Topics (7)") {
		t.Errorf("esc did not go back to the list")
	}
	if l := lineWith(screen(m), "/default/orders [3]"); !strings.Contains(l, "orders-value (back") {
		t.Errorf("the list does not show the compatibility the describe told: %q", l)
	}

	f.Update(func(*monitor.Snapshot) {})
	f.ClusterErr = errors.New("describe /default/payments: rpc error: code = PermissionDenied desc = not allowed")
	run(t, m, press(m, "down", "enter"))
	if !strings.Contains(m.status.text, "PermissionDenied desc = not allowed") {
		t.Errorf("status %q", m.status.text)
	}
	if s := screen(m); !strings.Contains(s, "describe failed") || !strings.Contains(s, "not allowed") {
		t.Errorf("the detail does not show the failure:\n%s", s)
	}
}

// TestTopicActions: every action that changes the cluster opens a confirmation naming what happens, No by
// default; yes runs it on every partition, and its result (with the broker's reason when it fails) goes
// to the status bar.
func TestTopicActions(t *testing.T) {
	f := tuitest.TopicsCluster()
	m := newTest(t, f, 120, 40, "dark")
	press(m, "2", "down", "down", "D")
	c, ok := m.modal.(*confirmDialog)
	if !ok || !strings.Contains(strings.Join(c.lines, " "), "Delete the 3 partitions of /default/orders") {
		t.Fatalf("D opened %T", m.modal)
	}
	if cmd := press(m, "enter"); cmd != nil || m.modal != nil || len(f.Calls()) != 0 {
		t.Fatalf("enter on the confirmation did not answer No: calls %q", f.Calls())
	}
	run(t, m, press(m, "D", "y"))
	// Every partition, then the list refreshes.
	want := []string{"delete-topic /default/orders-part-0", "delete-topic /default/orders-part-1", "delete-topic /default/orders-part-2", "Refresh"}
	if got := f.Calls(); !slices.Equal(got, want) || m.status.text != "deleted /default/orders" {
		t.Fatalf("calls %q, status %q", got, m.status.text)
	}

	f = tuitest.TopicsCluster()
	f.ClusterErr = errors.New("unload topic /default/audit: rpc error: code = FailedPrecondition desc = topic has active producers")
	m = newTest(t, f, 120, 40, "dark")
	run(t, m, press(m, "2", "down", "U", "left", "enter")) // /default/audit; ← selects Yes
	if got := f.Calls(); !slices.Equal(got, []string{"unload-topic /default/audit"}) {
		t.Fatalf("calls %q", got)
	}
	if want := f.ClusterErr.Error(); m.status.text != want { // the backend's error names the action: shown as it is
		t.Errorf("status %q, want %q", m.status.text, want)
	}

	// Create: the form checks its fields, then a confirmation.
	f = tuitest.TopicsCluster()
	m = newTest(t, f, 120, 40, "dark")
	press(m, "2", "n")
	typeText(m, "invoices")
	press(m, "enter")
	if form, ok := m.modal.(*topicForm); !ok || form.err != "a topic is /namespace/name" {
		t.Fatalf("a bad name: modal %T", m.modal)
	}
	m.modal.(*topicForm).fields[0].in.SetValue("/default/invoices")
	press(m, "tab")
	typeText(m, "x")
	press(m, "enter")
	if form := m.modal.(*topicForm); form.err != "partitions is a whole number from 0 to 1024" || form.focus != 1 {
		t.Fatalf("bad partitions: %q", form.err)
	}
	m.modal.(*topicForm).fields[1].in.SetValue("4")
	press(m, "tab", "right", "tab")
	typeText(m, "invoice-v1")
	press(m, "enter")
	c, ok = m.modal.(*confirmDialog)
	if !ok || !strings.Contains(strings.Join(c.lines, " "), "Create /default/invoices with 4 partitions") {
		t.Fatalf("the form did not open the confirmation: %T", m.modal)
	}
	run(t, m, press(m, "y"))
	if got := f.Calls(); !slices.Equal(got, []string{"create-topic /default/invoices partitions=4 reliable=false schema=invoice-v1", "Refresh"}) {
		t.Fatalf("calls %q", got)
	}
}

// TestTopicSubscriptionActions: in the detail, f, w and u act on the selected subscription (of every
// partition), after a form prefilled with what the broker said and a confirmation; c opens the tap form on
// the topic.
func TestTopicSubscriptionActions(t *testing.T) {
	f := tuitest.TopicsCluster()
	m := newTest(t, f, 120, 40, "dark")
	run(t, m, press(m, "2", "down", "down", "enter")) // /default/orders, billing selected
	press(m, "f")
	form, ok := m.modal.(*topicForm)
	if !ok || form.value(1) != "30s" || form.value(5) != "dead-letter" || form.value(6) != "/default/orders-dlq" {
		t.Fatalf("the policy form is not prefilled: %T", m.modal)
	}
	form.fields[0].in.SetValue("7")
	press(m, "tab", "tab", "tab", "tab", "right") // backoff → fixed
	run(t, m, press(m, "enter", "y"))
	var want []string
	for i := range 3 {
		want = append(want, fmt.Sprintf("failure-policy /default/orders-part-%d billing {MaxRedeliveries:7 AckTimeout:30s BaseRedeliveryDelay:1s "+
			"MaxRedeliveryDelay:1m0s Backoff:fixed Poison:dead-letter DeadLetterTopic:/default/orders-dlq}", i))
	}
	calls := f.Calls()[1:] // after the describe
	if !slices.Equal(calls[:3], want) {
		t.Fatalf("calls %q\nwant %q", calls, want)
	}

	f = tuitest.TopicsCluster()
	m = newTest(t, f, 120, 40, "dark")
	run(t, m, press(m, "2", "down", "down", "enter"))
	press(m, "down", "w") // shipping
	if form := m.modal.(*topicForm); form.value(0) != "50" {
		t.Fatalf("the window prompt is not prefilled: %q", form.value(0))
	}
	m.modal.(*topicForm).fields[0].in.SetValue("0")
	press(m, "enter")
	if form := m.modal.(*topicForm); !strings.Contains(form.err, "at least 1") {
		t.Fatalf("a zero window: %q", form.err)
	}
	m.modal.(*topicForm).fields[0].in.SetValue("200")
	run(t, m, press(m, "enter", "y"))
	if got := f.Calls(); !slices.Contains(got, "dispatch-window /default/orders-part-1 shipping 200") {
		t.Fatalf("calls %q", got)
	}

	f = tuitest.TopicsCluster()
	m = newTest(t, f, 120, 40, "dark")
	run(t, m, press(m, "2", "down", "down", "enter"))
	press(m, "u")
	c, ok := m.modal.(*confirmDialog)
	if !ok {
		t.Fatalf("u opened %T", m.modal)
	}
	// Whose it is, what goes with it, and that the broker refuses while a consumer is connected (it does
	// not disconnect them).
	for _, want := range []string{"This console did not create it: other programs may rely on it.",
		"Its 12400 kept (unacknowledged) messages are deleted with it.", "It has 3 consumers: the broker refuses while one is connected."} {
		if !slices.Contains(c.lines, want) {
			t.Errorf("the question lacks %q: %q", want, c.lines)
		}
	}
	press(m, "n")
	m.consumers.created[subKey("/default/orders", "billing")] = true // as if a tap of this console created it
	press(m, "u")
	if c := m.modal.(*confirmDialog); !slices.Contains(c.lines, "This console's tap created it.") {
		t.Errorf("the question does not say the console created it: %q", c.lines)
	}
	run(t, m, press(m, "y"))
	if got := f.Calls()[1:]; !slices.Equal(got, []string{"Unsubscribe /default/orders-part-0 billing",
		"Unsubscribe /default/orders-part-1 billing", "Unsubscribe /default/orders-part-2 billing", "Refresh"}) {
		t.Fatalf("calls %q", got)
	}
	if len(m.consumers.created) != 0 {
		t.Errorf("deleted, it is still the console's own (the quit question would offer it): %v", m.consumers.created)
	}

	press(m, "c")
	if tf, ok := m.modal.(*tapForm); !ok || tf.topic.Value() != "/default/orders" {
		t.Fatalf("c opened %T", m.modal)
	}
}

// TestTopicsReadOnly: read-only mode refuses every key of the topics pane and its detail that changes the
// cluster, before a form or a confirmation opens; describing still works.
func TestTopicsReadOnly(t *testing.T) {
	f := tuitest.TopicsCluster()
	m := newTest(t, f, 120, 40, "dark", func(o *Options) { o.ReadOnly = true })
	km := DefaultKeyMap().Topics
	press(m, "2", "down", "down")
	refuse := func(where string, bs ...Binding) {
		for _, b := range bs {
			for _, k := range b.Keys() {
				m.status = status{}
				if cmd := press(m, k); cmd != nil || m.modal != nil {
					t.Errorf("%s %s: command %v, modal %T", where, k, cmd != nil, m.modal)
					m.modal = nil
				}
				if want := "read-only: " + b.Changes + " is disabled"; m.status.text != want {
					t.Errorf("%s %s: status %q, want %q", where, k, m.status.text, want)
				}
			}
		}
	}
	refuse("list", km.Create, km.Delete, km.Unload, km.Tap)
	run(t, m, press(m, "enter"))
	refuse("detail", km.Policy, km.Window, km.Unsubscribe, km.Delete, km.Unload, km.Tap)
	if got := f.Calls(); !slices.Equal(got, []string{"describe /default/orders"}) {
		t.Errorf("read-only mode called %q", got)
	}

	// Read-only turned on (by the backend) while a confirmation is open: its yes is refused.
	f = tuitest.TopicsCluster()
	m = newTest(t, f, 120, 40, "dark")
	press(m, "2", "down", "down", "D")
	f.Update(func(s *monitor.Snapshot) { s.ReadOnly = true })
	m.Update(tickMsg(time.Now()))
	if cmd := press(m, "y"); cmd != nil || len(f.Calls()) != 0 || m.status.text != "read-only: deleting topics is disabled" {
		t.Errorf("yes in read-only mode: calls %q, status %q", f.Calls(), m.status.text)
	}
}

// TestTopicsRowsBuiltOnChange: the rows are built when the snapshot's data changes, not on every tick nor
// in the view.
func TestTopicsRowsBuiltOnChange(t *testing.T) {
	f := tuitest.TopicsCluster()
	m := newTest(t, f, 120, 40, "dark")
	press(m, "2")
	rows := m.topics.rows
	m.Update(tickMsg(time.Now()))
	_ = m.View()
	if &m.topics.rows[0] != &rows[0] {
		t.Errorf("the rows were rebuilt for an unchanged snapshot")
	}
	// A copy of the same figures (the monitor may copy its slices into every snapshot): no rebuild.
	f.Update(func(s *monitor.Snapshot) { s.Cluster.Topics = slices.Clone(s.Cluster.Topics) })
	m.Update(tickMsg(time.Now()))
	if &m.topics.rows[0] != &rows[0] {
		t.Errorf("the rows were rebuilt for a copy of the same figures")
	}
	f.Update(func(s *monitor.Snapshot) {
		s.Cluster.Topics = slices.Clone(s.Cluster.Topics)
		s.Cluster.Topics[0].MsgsInPerSec = 99999
	})
	m.Update(tickMsg(time.Now()))
	if &m.topics.rows[0] == &rows[0] || rowNamed(t, m, "/analytics/clickstream-events-eu-west-1").msgsIn != 99999 {
		t.Errorf("the rows were not rebuilt for a new scrape")
	}
}

// bigTopics returns TopicsCluster with n more topics on three brokers, each with five subscriptions.
func bigTopics(n int) *tuitest.Fake {
	f := tuitest.TopicsCluster()
	f.Update(func(s *monitor.Snapshot) {
		s.Topics, s.Cluster.Topics, s.Cluster.Subscriptions = nil, nil, nil
		for i := range n {
			name := fmt.Sprintf("/bench/topic-%05d", i)
			b := fmt.Sprint(i % 3)
			s.Topics = append(s.Topics, monitor.TopicStats{Name: name, Namespace: "bench", Reliable: i%2 == 0, BrokerID: b,
				Subscriptions: []string{"a", "b", "c", "d", "e"}})
			s.Cluster.Topics = append(s.Cluster.Topics, monitor.TopicRate{Broker: b, Topic: name, MsgsInPerSec: float64(i), Lag: int64(i * 3)})
			for _, sub := range []string{"a", "b", "c", "d", "e"} {
				s.Cluster.Subscriptions = append(s.Cluster.Subscriptions, monitor.SubscriptionRate{Broker: b, Topic: name, Subscription: sub, Lag: int64(i)})
			}
		}
	})
	return f
}

// BenchmarkTopicsFrame measures a frame of the topics pane over 2,000 topics and 10,000 subscriptions
// (sorted by lag): a tick that changes nothing, and the view.
func BenchmarkTopicsFrame(b *testing.B) {
	m := newTest(b, bigTopics(2000), 200, 60, "dark")
	press(m, "2", "o", "o", "o", "o", "o", "o", "o", "o")
	b.ReportAllocs()
	for b.Loop() {
		m.Update(tickMsg(time.Now()))
		_ = m.View()
	}
}

// BenchmarkTopicsBuild measures building, sorting and listing the rows of 2,000 topics.
func BenchmarkTopicsBuild(b *testing.B) {
	s := bigTopics(2000).Snapshot()
	b.ReportAllocs()
	for b.Loop() {
		rows := buildTopicRows(&s)
		_ = listRows(rows, sortLag, false, "", nil)
	}
}

// TestLineChart: the chart fills exactly w×h cells, labels its axis with the top value and zero, draws the
// top value on the first line and the zeros on the last, and leaves a gap where the series is NaN.
func TestLineChart(t *testing.T) {
	st := newStyles(themes.Default())
	nan := math.NaN()
	// Values no gauge should give (a NaN stored as an integer, ±Inf) draw within the plot, and at once.
	for _, v := range [][]float64{{100, -9.2e18, 100}, {1, math.Inf(1), 2}, {math.Inf(-1), 3}} {
		if got := lineChart(st, [][]float64{v}, 20, 4, []paint{st.accent}, fmtSI); len(got) != 4 || textWidth(got[0]) != 20 {
			t.Errorf("%v: %q", v, got)
		}
	}
	lines := lineChart(st, [][]float64{{0, 0, 10, 10, nan, nan, nan, nan, 5, 0}}, 24, 4, []paint{st.accent}, fmtSI)
	if len(lines) != 4 {
		t.Fatalf("%d lines", len(lines))
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != 24 {
			t.Errorf("line %d is %d cells: %q", i, w, ansi.Strip(l))
		}
	}
	top, bottom := ansi.Strip(lines[0]), ansi.Strip(lines[3])
	if !strings.HasPrefix(top, "10 ") || !strings.HasPrefix(bottom, " 0 ") {
		t.Errorf("axis: %q … %q", top, bottom)
	}
	if strings.TrimSpace(top[3:]) == "" {
		t.Errorf("the top value is not drawn on the first line: %q", top)
	}
	// The gap: the NaN columns draw nothing above the baseline.
	for _, l := range lines[:3] {
		plot := []rune(ansi.Strip(l))[3:]
		if gap := string(plot[9:11]); strings.TrimSpace(gap) != "" {
			t.Errorf("the gap is drawn: %q in %q", gap, string(plot))
		}
	}
	if flat := lineChart(st, nil, 10, 3, nil, fmtSI); ansi.Strip(flat[0]) != blank(10) || !strings.HasPrefix(ansi.Strip(flat[2]), "0 ⣀") {
		t.Errorf("an empty chart: %q", flat)
	}
}

// TestTopicsClicks: a click selects the topic under the mouse in the list, and the subscription under it
// in the detail.
func TestTopicsClicks(t *testing.T) {
	m := newTest(t, tuitest.TopicsCluster(), 120, 40, "dark")
	press(m, "2")
	// The header is 2 lines, the box's border 1, the table's header 1: the third topic is on line 6.
	y := headerHeight + 2 + 2
	if l := strings.Split(screen(m), "\n")[y]; !strings.Contains(l, "/default/orders [3]") {
		t.Fatalf("line %d is %q", y, l)
	}
	m.Update(tea.MouseClickMsg{X: 10, Y: y, Button: tea.MouseLeft})
	if got := m.topics.selected().name; got != "/default/orders" {
		t.Fatalf("the click selected %q", got)
	}
	run(t, m, press(m, "enter"))
	_, _, subTop, _ := m.topics.detail.layout(m.w, m.bodyHeight())
	y = headerHeight + subTop + 2 + 1
	if l := strings.Split(screen(m), "\n")[y]; !strings.Contains(l, "shipping") {
		t.Fatalf("line %d is %q", y, l)
	}
	m.Update(tea.MouseClickMsg{X: 10, Y: y, Button: tea.MouseLeft})
	if s := m.topics.detail.selectedSub(); s == nil || s.name != "shipping" {
		t.Fatalf("the click in the detail selected %+v", s)
	}
}

// TestTopicsFramesFit: the list, the detail and the forms fill exactly the terminal at every size from the
// minimum up, without a panic.
func TestTopicsFramesFit(t *testing.T) {
	for _, sz := range []struct{ w, h int }{{MinWidth, MinHeight}, {70, 20}, {100, 30}, {119, 35}, {200, 60}} {
		for _, keys := range [][]string{{"2"}, {"2", "down", "down", "right", "L"}, {"2", "down", "down", "enter"},
			{"2", "down", "down", "enter", "f"}, {"2", "n"}, {"2", "down", "D"}} {
			m := newTest(t, tuitest.TopicsCluster(), sz.w, sz.h, "dark")
			for _, k := range keys {
				run(t, m, press(m, k))
			}
			checkFrame(t, m.View().Content, sz.w, sz.h)
		}
	}
}
