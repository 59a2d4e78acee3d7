package tui

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// clusterViews are the cluster, problems and security panes over the scripted cluster (tuitest.Cluster),
// with their dialogs.
var clusterViews = []struct {
	name  string
	keys  []string
	sizes []struct{ w, h int }
}{
	{"cluster", []string{"8", "down"}, goldenSizes},
	{"problems", []string{"9", "down", "down"}, goldenSizes},
	{"security", []string{"0"}, goldenSizes},
	{"security-bindings", []string{"0", "right", "down"}, goldenSizes[1:]},
	{"unload-confirm", []string{"8", "down", "u"}, goldenSizes[:1]},
	{"activate-confirm", []string{"8", "end", "a"}, goldenSizes[:1]},
	{"role-form", []string{"0", "n", "auditor", "tab", "space", "right", "right", "space"}, goldenSizes[:1]},
	{"binding-form", []string{"0", "b", "ops", "tab", "right", "tab", "grafana", "tab", "admin, nobody", "enter"}, goldenSizes[:1]},
	{"delete-role-confirm", []string{"0", "down", "d"}, goldenSizes[:1]},
	{"dashboard-header", []string{"1"}, goldenSizes},
}

// TestGoldenCluster renders the cluster views at two sizes, ANSI stripped.
func TestGoldenCluster(t *testing.T) {
	for _, c := range clusterViews {
		t.Run(c.name, func(t *testing.T) {
			for _, sz := range c.sizes {
				t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
					m := newTest(t, tuitest.Cluster(), sz.w, sz.h, goldenTheme)
					for _, k := range c.keys {
						if _, named := namedKeys[k]; named || len([]rune(k)) == 1 {
							run(t, m, press(m, k))
							continue
						}
						typeText(m, k)
					}
					checkFrame(t, m.View().Content, sz.w, sz.h)
					golden.RequireEqual(t, screen(m))
				})
			}
		})
	}
}

// act presses keys and runs the commands they return (the actions' results go back to the model).
func act(t *testing.T, m *Model, keys ...string) {
	t.Helper()
	for _, k := range keys {
		run(t, m, press(m, k))
	}
}

// wantCalls checks the cluster actions the fake recorded.
func wantCalls(t *testing.T, f *tuitest.Fake, want ...string) {
	t.Helper()
	if got := f.Calls(); !slices.Equal(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
}

// TestClusterActions: unload, activate and rebalance each ask first (No by default: enter cancels), and
// run against the backend once confirmed, reporting the result in the status bar; rebalance shows the dry
// run's answer in its confirmation.
func TestClusterActions(t *testing.T) {
	f := tuitest.Cluster()
	m := newTest(t, f, 120, 40, "dark")
	act(t, m, "8", "down", "u")
	if m.modal == nil || !strings.Contains(screen(m), "Unload broker 2?") {
		t.Fatalf("u does not ask:\n%s", screen(m))
	}
	act(t, m, "enter")
	if m.modal != nil {
		t.Fatal("enter on the confirmation as it opens does not cancel")
	}
	wantCalls(t, f)
	act(t, m, "u", "y")
	wantCalls(t, f, "unload-broker 2")
	if !strings.Contains(m.status.text, "unload broker 2: started") {
		t.Errorf("status %q", m.status.text)
	}

	act(t, m, "end", "a", "right", "enter")
	wantCalls(t, f, "unload-broker 2", "activate-broker 3")
	if !strings.Contains(m.status.text, "broker 3 activated") {
		t.Errorf("status %q", m.status.text)
	}

	act(t, m, "B")
	wantCalls(t, f, "unload-broker 2", "activate-broker 3", "rebalance dry-run=true")
	if s := screen(m); m.modal == nil || !strings.Contains(s, "Rebalance the cluster?") || !strings.Contains(s, "Dry run: Cluster is balanced") {
		t.Fatalf("the dry run does not open the confirmation with its answer:\n%s", s)
	}
	act(t, m, "y")
	wantCalls(t, f, "unload-broker 2", "activate-broker 3", "rebalance dry-run=true", "rebalance dry-run=false")
	if m.status.text != "rebalance: Cluster is balanced" {
		t.Errorf("status %q", m.status.text)
	}
}

// TestClusterActionDenied: a broker's refusal shows its reason in the status bar.
func TestClusterActionDenied(t *testing.T) {
	f := tuitest.Cluster()
	f.ClusterErr = errors.New("unload broker 2: rpc error: code = PermissionDenied desc = ManageBroker required")
	m := newTest(t, f, 120, 40, "dark")
	act(t, m, "8", "down", "u", "y")
	if m.status.level != levelError || !strings.Contains(m.status.text, "PermissionDenied desc = ManageBroker required") {
		t.Errorf("status %q (level %d)", m.status.text, m.status.level)
	}
	act(t, m, "B")
	if m.modal != nil || m.status.text != f.ClusterErr.Error() { // the backend's error names the action: shown as it is
		t.Errorf("a failed dry run: modal %T, status %q", m.modal, m.status.text)
	}
}

// TestClusterReadOnly: read-only mode refuses every action of the cluster and security panes before they
// ask, and a form opened before read-only turned on cannot submit.
func TestClusterReadOnly(t *testing.T) {
	km := DefaultKeyMap()
	for _, c := range []struct {
		pane string
		keys []Binding
	}{
		{"8", []Binding{km.Cluster.Unload, km.Cluster.Activate, km.Cluster.Rebalance}},
		{"0", []Binding{km.Security.NewRole, km.Security.NewBinding, km.Security.Delete}},
	} {
		f := tuitest.Cluster()
		m := newTest(t, f, 120, 40, "dark", func(o *Options) { o.ReadOnly = true })
		press(m, c.pane)
		for _, b := range c.keys {
			for _, k := range b.Keys() {
				m.status = status{}
				if cmd := press(m, k); cmd != nil || m.modal != nil {
					t.Errorf("%s: command %v, modal %T", k, cmd != nil, m.modal)
					m.modal = nil
				}
				if want := "read-only: " + b.Changes + " is disabled"; m.status.text != want {
					t.Errorf("%s: status %q, want %q", k, m.status.text, want)
				}
			}
		}
		wantCalls(t, f)
	}
	f := tuitest.Cluster()
	m := newTest(t, f, 120, 40, "dark")
	act(t, m, "0", "n")
	typeText(m, "auditor")
	act(t, m, "tab", "space")
	m.roSession = true
	act(t, m, "enter")
	if m.modal != nil || m.status.text != "read-only: "+changesSecurity+" is disabled" {
		t.Errorf("modal %T, status %q", m.modal, m.status.text)
	}
	wantCalls(t, f)
}

// TestSecurityActions: creating a role and a binding from their forms, and deleting both after a
// confirmation; the forms refuse what the broker would.
func TestSecurityActions(t *testing.T) {
	f := tuitest.Cluster()
	m := newTest(t, f, 120, 40, "dark")
	act(t, m, "0", "n", "enter")
	if !strings.Contains(screen(m), "a role needs a name") {
		t.Fatalf("an empty role is not refused:\n%s", screen(m))
	}
	typeText(m, "auditor")
	act(t, m, "enter")
	if !strings.Contains(screen(m), "choose at least one permission") {
		t.Fatalf("a role without permissions is not refused:\n%s", screen(m))
	}
	act(t, m, "space", "right", "right", "space", "enter")
	if s := screen(m); !strings.Contains(s, "Create role auditor?") || !strings.Contains(s, "Permissions: Lookup, Consume") {
		t.Fatalf("no confirmation of the new role:\n%s", s)
	}
	act(t, m, "enter") // No is the default
	wantCalls(t, f)
	act(t, m, "n")
	typeText(m, "auditor")
	act(t, m, "tab", "space", "right", "right", "space", "enter", "y")
	wantCalls(t, f, "create-role auditor [Lookup Consume]")

	act(t, m, "down", "d", "y") // console-reader
	wantCalls(t, f, "create-role auditor [Lookup Consume]", "delete-role console-reader")
	press(m, "up", "d") // admin is a system role
	if m.modal != nil || !strings.Contains(m.status.text, "system role") {
		t.Errorf("deleting a system role: modal %T, status %q", m.modal, m.status.text)
	}

	act(t, m, "b")
	typeText(m, "grafana-ro")
	act(t, m, "tab", "right", "tab")
	typeText(m, "grafana")
	act(t, m, "tab")
	typeText(m, "console-reader")
	act(t, m, "tab", "right", "enter")
	if !strings.Contains(screen(m), "names the bare namespace") {
		t.Fatalf("a namespace binding without a namespace is not refused:\n%s", screen(m))
	}
	typeText(m, "iot")
	act(t, m, "enter")
	if s := screen(m); !strings.Contains(s, "Create binding grafana-ro?") || !strings.Contains(s, "console-reader to service_account:grafana on namespace iot") {
		t.Fatalf("no confirmation of the new binding:\n%s", s)
	}
	act(t, m, "y")
	calls := []string{"create-role auditor [Lookup Consume]", "delete-role console-reader",
		"create-binding grafana-ro service_account:grafana [console-reader] namespace iot"}
	wantCalls(t, f, calls...)

	act(t, m, "right", "down", "d", "y")
	wantCalls(t, f, append(calls, "delete-binding namespace default billing-svc")...)
	if !strings.Contains(m.status.text, "delete binding billing-svc: done") {
		t.Errorf("status %q", m.status.text)
	}

	f.ClusterErr = errors.New("rpc error: code = PermissionDenied desc = principal alice lacks ManageCluster")
	act(t, m, "d", "y")
	if m.status.level != levelError || !strings.Contains(m.status.text, "lacks ManageCluster") {
		t.Errorf("a denied delete: status %q", m.status.text)
	}
}

// TestProblemsGo: enter on a problem goes where it points: the cluster pane on the broker, the topics pane
// for a subscription's problem, the security pane for denials.
func TestProblemsGo(t *testing.T) {
	f := tuitest.Cluster()
	m := newTest(t, f, 120, 40, "dark")
	act(t, m, "9", "enter")
	if m.active != paneCluster || m.cluster.cur.id != "3" {
		t.Errorf("broker down: pane %d, broker %q", m.active, m.cluster.cur.id)
	}
	act(t, m, "9", "down", "down", "enter")
	want := f.Snapshot().Cluster.Problems[2].Topic
	if m.active != paneTopics || m.topics.cur.id != want {
		t.Errorf("lag growing: pane %d on %q, want topics on %q (status %q)", m.active, m.topics.cur.id, want, m.status.text)
	}
	act(t, m, "9", "end", "enter")
	if m.active != paneSecurity {
		t.Errorf("authz denials: pane %d, want security", m.active)
	}
}

// TestNoProblems: an empty list says so, with the sources that were checked.
func TestNoProblems(t *testing.T) {
	f := tuitest.Cluster()
	f.Update(func(s *monitor.Snapshot) { s.Cluster.Problems = nil })
	m := newTest(t, f, 120, 40, "dark")
	press(m, "9")
	if s := screen(m); !strings.Contains(s, "no problems · checked: admin up, metrics 2/3 up, prometheus failing") {
		t.Errorf("no problems:\n%s", s)
	}
	m = newTest(t, tuitest.Scripted(), 120, 40, "dark")
	press(m, "9")
	if s := screen(m); !strings.Contains(s, "no problems known: no cluster data source is configured") {
		t.Errorf("no sources:\n%s", s)
	}
}

// TestHeaderSources: the header shows each kind of data source with its state, condensed at 80 columns
// without losing the clock or the URL.
func TestHeaderSources(t *testing.T) {
	f := tuitest.Cluster()
	for _, c := range []struct {
		w    int
		want string
	}{{160, "remote  ● up admin ● metrics 2/3 ✗ prom ✗"}, {80, "rem  ● up a● m2/3✗ p✗"}} {
		m := newTest(t, f, c.w, 24, "dark")
		top := strings.Split(screen(m), "\n")[0]
		if !strings.Contains(top, c.want) || !strings.Contains(top, "http://10.0.0.1:6650") || !strings.HasSuffix(top, "15:04:05 ") {
			t.Errorf("%d columns: header %q, want %q, the URL and the clock", c.w, top, c.want)
		}
	}
	st := newStyles(themes.Default())
	snap := monitor.Snapshot{Cluster: monitor.Cluster{Sources: []monitor.SourceState{
		{Kind: "admin", Status: monitor.SourcePending},
		{Kind: "metrics", Status: monitor.SourceFailing}, {Kind: "metrics", Status: monitor.SourceFailing},
		{Kind: "prometheus", Status: monitor.SourceOff},
	}}}
	got := sourceBadges(st, &snap, false)
	want := []seg{{"admin …", st.info}, {"metrics 0/2 ✗", st.err}, {"prom –", st.muted}}
	if !slices.Equal(got, want) {
		t.Errorf("badges %q, want %q", got, want)
	}
}

// TestClusterClick: a click on a broker's row selects it.
func TestClusterClick(t *testing.T) {
	m := newTest(t, tuitest.Cluster(), 120, 40, "dark")
	press(m, "8")
	m.Update(tea.MouseClickMsg{X: 10, Y: headerHeight + 4, Button: tea.MouseLeft}) // border, header, rows 1 and 2
	if m.cluster.cur.id != "3" {
		t.Errorf("click on the third broker selected %q", m.cluster.cur.id)
	}
}

// TestRebalanceLines: the confirmation lists the dry run's moves, at most four.
func TestRebalanceLines(t *testing.T) {
	r := monitor.RebalanceResult{Success: true, Message: "Dry run: rebalancing will continue until balanced"}
	for i := range 6 {
		r.Moves = append(r.Moves, monitor.RebalanceMove{Topic: fmt.Sprintf("/default/t%d", i), From: "1", To: "3", Reason: "LoadImbalance"})
	}
	lines := rebalanceLines(r)
	if lines[1] != "move /default/t0 from broker 1 to 3 (LoadImbalance)" || lines[5] != "… and 2 more moves" {
		t.Errorf("lines %q", lines)
	}
}

// TestTabsNarrow: ten tabs fit the narrowest terminal: only the active one keeps its name, and a click
// on a number still switches.
func TestTabsNarrow(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), MinWidth, 24, "dark")
	press(m, "5")
	tabs := strings.Split(screen(m), "\n")[1]
	if !strings.HasPrefix(tabs, " 1 2 3 4 5 Acks 6 7 8 9 0 ") {
		t.Errorf("tabs at %d columns: %q", MinWidth, tabs)
	}
	for _, sp := range tabLayout(m.w, m.active) {
		if sp.id == paneSecurity {
			m.Update(tea.MouseClickMsg{X: sp.x0 + 1, Y: 1, Button: tea.MouseLeft})
		}
	}
	if m.active != paneSecurity {
		t.Errorf("a click on 0: pane %d", m.active)
	}
}

// TestResultOfAnotherCluster: a dry run's answer from the cluster the console left (:cluster swapped the
// backend while it ran) opens no rebalance confirmation, which would act on the new cluster; the same answer
// from the current backend does.
func TestResultOfAnotherCluster(t *testing.T) {
	f := tuitest.Cluster()
	m := newTest(t, f, 120, 40, "dark")
	press(m, "8")
	dry := brokerDoneMsg{brokerActionMsg: brokerActionMsg{verb: "rebalance", dryRun: true},
		rebalance: monitor.RebalanceResult{Success: true, Message: "Dry run: rebalancing will continue until balanced"}}
	dry.on = tuitest.Cluster()
	run(t, m, func() tea.Msg { return dry })
	if m.modal != nil {
		t.Fatalf("a dry run of another cluster opened %T", m.modal)
	}
	dry.on = f
	run(t, m, func() tea.Msg { return dry })
	if _, ok := m.modal.(*confirmDialog); !ok {
		t.Fatalf("the dry run of this cluster opened %T", m.modal)
	}
}
