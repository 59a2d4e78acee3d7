package tui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// switcher is Options.SwitchCluster over fake backends by name; it records the names asked for.
type switcher struct {
	backends map[string]monitor.Backend
	asked    []string
}

func (s *switcher) switchTo(_ context.Context, name string) (monitor.Backend, error) {
	s.asked = append(s.asked, name)
	b, ok := s.backends[name]
	if !ok {
		return nil, errors.New("connecting to " + name + ": connection refused")
	}
	return b, nil
}

func clusterModel(t *testing.T, first *tuitest.Fake, sw *switcher) *Model {
	return newTest(t, first, 120, 30, "dark", func(o *Options) {
		o.ClusterName = "embedded"
		o.Clusters = []string{"embedded", "prod", "down"}
		o.SwitchCluster = sw.switchTo
	})
}

// TestClusterSwitch: :cluster NAME swaps the backend, the header names the new cluster and the panes show its
// topics; a failed switch keeps the current cluster and says why.
func TestClusterSwitch(t *testing.T) {
	second := tuitest.New(monitor.Snapshot{ServiceURL: "http://prod:6650", Reachable: true,
		Topics: []monitor.TopicStats{{Name: "/prod/payments-eu"}}})
	sw := &switcher{backends: map[string]monitor.Backend{"prod": second}}
	m := clusterModel(t, tuitest.Scripted(), sw)
	if s := screen(m); !strings.Contains(strings.SplitN(s, "\n", 2)[0], " embedded ") {
		t.Fatalf("the header does not name the cluster:\n%s", s)
	}
	press(m, "2")

	run(t, m, runLine(m, "cluster down"))
	run(t, m, press(m, "y")) // the scripted console runs a producer of its own
	if !slices.Equal(sw.asked, []string{"down"}) {
		t.Fatalf("asked %v\n%s", sw.asked, screen(m))
	}
	if s := screen(m); !strings.Contains(m.status.text, "cluster down: connecting to down: connection refused") || m.clusterName != "embedded" ||
		!strings.Contains(s, "/default/orders") {
		t.Fatalf("a failed switch:\n%s", s)
	}

	run(t, m, runLine(m, "cluster prod"))
	run(t, m, press(m, "y"))
	s := screen(m)
	header := strings.SplitN(s, "\n", 2)[0]
	if !strings.Contains(header, " prod ") || !strings.Contains(header, "http://prod:6650") {
		t.Errorf("the header after the switch: %q", header)
	}
	if !strings.Contains(s, "/prod/payments-eu") || strings.Contains(s, "/default/orders") {
		t.Errorf("the topics pane does not show the second cluster's topics:\n%s", s)
	}
	if m.active != paneTopics {
		t.Errorf("the focus moved to pane %d", m.active)
	}
}

// TestClusterCommand: :cluster alone lists, completes the other names, refuses unknown names and the current
// one, and asks before stopping the console's own taps and producers.
func TestClusterCommand(t *testing.T) {
	sw := &switcher{backends: map[string]monitor.Backend{"prod": tuitest.New(monitor.Snapshot{})}}
	m := clusterModel(t, tuitest.Manual(), sw) // a running tap
	run(t, m, runLine(m, "cluster"))
	if s := screen(m); !strings.Contains(s, "clusters: embedded, prod, down (now on embedded)") {
		t.Errorf(":cluster alone does not list the clusters:\n%s", s)
	}
	if got := completeClusters(m.env(), 0, nil); !slices.Equal(got, []string{"prod", "down"}) {
		t.Errorf("completion: %v", got)
	}
	for line, want := range map[string]string{
		"cluster nope":     "no cluster nope (clusters: embedded, prod, down)",
		"cluster embedded": "already on cluster embedded",
		"cluster a b":      "usage: :cluster [NAME]",
	} {
		runLine(m, line)
		if s := screen(m); !strings.Contains(s, want) {
			t.Errorf(":%s: no %q on screen:\n%s", line, want, s)
		}
		press(m, "esc")
	}
	if len(sw.asked) != 0 {
		t.Fatalf("switched on a bad command: %v", sw.asked)
	}

	run(t, m, runLine(m, "cluster prod"))
	s := screen(m)
	if !strings.Contains(s, "Switch to cluster prod?") || !strings.Contains(s, "Its taps stop: tap-1") {
		t.Fatalf("no confirmation naming the tap that stops:\n%s", s)
	}
	press(m, "n")
	if len(sw.asked) != 0 || strings.Contains(screen(m), "Switch to cluster") {
		t.Fatalf("switched without a yes: %v", sw.asked)
	}
	run(t, m, runLine(m, "cluster prod"))
	run(t, m, press(m, "y"))
	if !slices.Equal(sw.asked, []string{"prod"}) || m.clusterName != "prod" {
		t.Fatalf("after yes: asked %v, on %q", sw.asked, m.clusterName)
	}
}

// TestThemeRemembered: switching theme tells Options.ThemeChanged.
func TestThemeRemembered(t *testing.T) {
	var got []string
	m := newTest(t, tuitest.Scripted(), 120, 30, "dark", func(o *Options) {
		o.ThemeChanged = func(name string) { got = append(got, name) }
	})
	run(t, m, runLine(m, "theme light"))
	run(t, m, press(m, "t"))
	if len(got) != 2 || got[0] != "light" || got[1] != m.theme.Name {
		t.Fatalf("ThemeChanged got %v (theme now %s)", got, m.theme.Name)
	}
}

// TestClusterNameFits: a long cluster name is cut, the frame keeps its size, and the URL gives way first.
func TestClusterNameFits(t *testing.T) {
	for _, sz := range [][2]int{{60, 16}, {80, 24}, {160, 48}} {
		m := newTest(t, tuitest.Scripted(), sz[0], sz[1], "dark", func(o *Options) {
			o.ClusterName = "production-eu-west-1-primary-cluster"
		})
		v := m.View().Content
		checkFrame(t, v, sz[0], sz[1])
		name := map[int]string{60: " production… ", 80: " production-eu-w… ", 160: " production-eu-west-1-pr… "}[sz[0]]
		if h := strings.SplitN(screen(m), "\n", 2)[0]; !strings.Contains(h, name) || !strings.Contains(h, "15:04:05") || !strings.Contains(h, "http://") {
			t.Errorf("%dx%d: header %q", sz[0], sz[1], h)
		}
	}
}

// TestTapCheckAfterSwitch: the check of a subscription named for a tap that answers after :cluster switched
// is the previous cluster's answer: the console starts nothing on the new cluster (where the subscription
// may be another program's, not listed yet) and marks nothing as its own.
func TestTapCheckAfterSwitch(t *testing.T) {
	second := tuitest.New(monitor.Snapshot{ServiceURL: "http://prod:6650", Reachable: true})
	sw := &switcher{backends: map[string]monitor.Backend{"prod": second}}
	m := clusterModel(t, tuitest.TopicsCluster(), sw)
	check := runLine(m, "consume /default/orders reports") // the description is under way
	run(t, m, runLine(m, "cluster prod"))
	run(t, m, press(m, "y")) // the scripted console runs a producer of its own
	if m.clusterName != "prod" {
		t.Fatalf("not switched: %q", m.status.text)
	}
	run(t, m, check)
	if calls := second.Calls(); slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, "StartConsumer") }) {
		t.Fatalf("a tap started on the new cluster from the previous one's answer: %q", calls)
	}
	if len(m.consumers.created) != 0 || m.modal != nil {
		t.Fatalf("created %v, modal %T", m.consumers.created, m.modal)
	}
	if !strings.Contains(m.status.text, "reports") || !strings.Contains(m.status.text, "cluster changed") {
		t.Errorf("the status does not say the tap was dropped: %q", m.status.text)
	}
}

// TestClusterSwitchNamesCreated: :cluster asks first when the console created subscriptions on the cluster
// it leaves, even with no tap running, naming them whole: after the switch it no longer knows them as its
// own, so the quit question would not offer them.
func TestClusterSwitchNamesCreated(t *testing.T) {
	sw := &switcher{backends: map[string]monitor.Backend{"prod": tuitest.New(monitor.Snapshot{})}}
	f := tuitest.New(monitor.Snapshot{Reachable: true, Topics: []monitor.TopicStats{{Name: "/default/orders-eu-west-1-primary"}}})
	m := newTest(t, f, 80, 24, "dark", func(o *Options) {
		o.ClusterName, o.Clusters, o.SwitchCluster = "embedded", []string{"embedded", "prod"}, sw.switchTo
	})
	run(t, m, runLine(m, "consume /default/orders-eu-west-1-primary"))
	run(t, m, runLine(m, "stop "+m.consumers.tapName(1)))
	if len(liveTaps(m.env())) != 0 || len(m.consumers.created) != 1 {
		t.Fatalf("taps %v, created %v, calls %q", liveTaps(m.env()), m.consumers.created, f.Calls())
	}
	run(t, m, runLine(m, "cluster prod"))
	s := screen(m)
	want := m.consumers.prefix
	if !strings.Contains(s, "Switch to cluster prod?") || !strings.Contains(s, "1 subscription this console created keeps messages on") ||
		!strings.Contains(s, want) || !strings.Contains(s, "no longer offers to delete it") {
		t.Fatalf("no confirmation naming the subscription created (%s):\n%s", want, s)
	}
	press(m, "n")
	if len(sw.asked) != 0 {
		t.Fatalf("switched without a yes: %v", sw.asked)
	}
}

// TestTapDoneAfterSwitch: a tap whose start ends after :cluster switched is not shown as tapping the new
// cluster.
func TestTapDoneAfterSwitch(t *testing.T) {
	second := tuitest.New(monitor.Snapshot{ServiceURL: "http://prod:6650", Reachable: true})
	sw := &switcher{backends: map[string]monitor.Backend{"prod": second}}
	m := clusterModel(t, tuitest.TopicsCluster(), sw)
	start := runLine(m, "consume /default/orders") // the console's own subscription: no check
	run(t, m, runLine(m, "cluster prod"))
	run(t, m, press(m, "y"))
	if m.clusterName != "prod" {
		t.Fatalf("not switched: %q", m.status.text)
	}
	run(t, m, start)
	if strings.Contains(m.status.text, "tapping") || !strings.Contains(m.status.text, "before the switch") || m.consumers.stream != "" {
		t.Errorf("status %q, stream %q", m.status.text, m.consumers.stream)
	}
}

// TestUnsubscribeDoneAfterSwitch: a deletion that ends after :cluster switched names the cluster it was
// on, and leaves the new cluster's subscription of that name the console's own.
func TestUnsubscribeDoneAfterSwitch(t *testing.T) {
	second := tuitest.New(monitor.Snapshot{ServiceURL: "http://prod:6650", Reachable: true})
	sw := &switcher{backends: map[string]monitor.Backend{"prod": second}}
	m := clusterModel(t, tuitest.TopicsCluster(), sw)
	run(t, m, runLine(m, "unsubscribe /default/orders billing"))
	del := press(m, "y") // the deletion is under way
	run(t, m, runLine(m, "cluster prod"))
	run(t, m, press(m, "y"))
	if m.clusterName != "prod" {
		t.Fatalf("not switched: %q", m.status.text)
	}
	m.consumers.created[subKey("/default/orders", "billing")] = true // prod's, this console's
	run(t, m, del)
	if m.status.text != "deleted subscription billing of /default/orders on cluster embedded" {
		t.Errorf("status %q", m.status.text)
	}
	if !m.consumers.created[subKey("/default/orders", "billing")] {
		t.Error("the deletion on the cluster left forgot the new cluster's subscription of that name")
	}
}

// TestSettleAndExportAfterSwitch: an ack or an export that ends after :cluster switched is said to be the
// previous cluster's, and touches neither the new cluster's marks nor what the quit question counts as saved.
func TestSettleAndExportAfterSwitch(t *testing.T) {
	second := tuitest.New(monitor.Snapshot{ServiceURL: "http://prod:6650", Reachable: true})
	sw := &switcher{backends: map[string]monitor.Backend{"prod": second}}
	first := tuitest.Manual()
	m := clusterModel(t, first, sw)
	selectConsumer(t, m, "tap-1")
	press(m, "enter", "space")
	ack := press(m, "a")
	export := runLine(m, "export --marked "+t.TempDir()+"/marked.jsonl")
	if ack == nil || export == nil {
		t.Fatalf("no ack or export command: status %q", m.status.text)
	}
	press(m, "esc")
	run(t, m, runLine(m, "cluster prod"))
	run(t, m, press(m, "y"))
	if m.clusterName != "prod" {
		t.Fatalf("not switched: %q", m.status.text)
	}
	run(t, m, ack)
	if !strings.Contains(m.status.text, "before the switch: acked 1 message") {
		t.Errorf("the ack's status after the switch: %q", m.status.text)
	}
	run(t, m, export)
	if !strings.Contains(m.status.text, "of cluster") || len(m.consumers.saved) != 0 {
		t.Errorf("the export after the switch: status %q, saved %v", m.status.text, m.consumers.saved)
	}
}
