package tui

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// TestGoldenClusterViews renders the dashboard, producers, consumers, acks and health views of a cluster
// with traffic (tuitest.ClusterTraffic) at two sizes, ANSI stripped; the consumers view also with a
// subscription of the cluster selected.
func TestGoldenClusterViews(t *testing.T) {
	views := []struct {
		name string
		keys []string
	}{
		{"dashboard", nil},
		{"producers", []string{"3", "down"}},
		{"consumers", []string{"4", "down", "down", "down", "down", "down", "down"}}, // the console's archiver-1
		{"consumers-cluster-sub", []string{"4"}},
		{"acks", []string{"5", "down"}},
		{"health", []string{"6"}},
	}
	for _, v := range views {
		t.Run(v.name, func(t *testing.T) {
			for _, sz := range goldenSizes {
				t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
					m := newTest(t, tuitest.ClusterTraffic(), sz.w, sz.h, goldenTheme)
					press(m, v.keys...)
					checkFrame(t, m.View().Content, sz.w, sz.h)
					golden.RequireEqual(t, screen(m))
				})
			}
		})
	}
}

// TestClusterViewsTellRowsApart: at 80×24 the names that differ only at their end stay apart (cut in the
// middle, keeping the namespace), and the partitioned topic is one row.
func TestClusterViewsTellRowsApart(t *testing.T) {
	m := newTest(t, tuitest.ClusterTraffic(), 80, 24, goldenTheme)
	if s := screen(m); !strings.Contains(s, "/default/…ers-eu-west") {
		t.Errorf("the dashboard at 80×24 lost the namespace or the end of /default/orders-eu-west:\n%s", s)
	}
	press(m, "3")
	s := screen(m)
	for _, want := range []string{"/default/orders-eu-west", "/default/orders-eu-north", "/default/orders-us-east"} {
		if !strings.Contains(s, want) {
			t.Errorf("the producers pane at 80×24 lost %q:\n%s", want, s)
		}
	}
	if n := strings.Count(s, "/default/orders "); n != 1 {
		t.Errorf("the partitioned /default/orders shows in %d rows of the producers' cluster rows, want 1:\n%s", n, s)
	}
	if !strings.Contains(s, "Producers · 11 topics · 5 console") {
		t.Errorf("producers title:\n%s", s)
	}
}

func TestCutMiddle(t *testing.T) {
	cases := []struct {
		in   string
		w    int
		want string
	}{
		{"/default/orders", 20, "/default/orders"},
		{"/default/orders-eu-west", 18, "/default/…-eu-west"},
		{"/default/orders-eu-west", 12, "/de…-eu-west"}, // no room for the namespace and the end: the end first,
		{"/averyverylongnamespace/orders-eu-west", 16, "/av…ders-eu-west"},
		{"plain-name-without-namespace", 10, "pla…espace"},
		{"/default/orders", 13, "/defa…/orders"},
		{"/default/orders-eu-west", 22, "/default/…ders-eu-west"},
		{"/ns/t", 3, "…/t"},
	}
	for _, c := range cases {
		if got := cutMiddle(c.in, c.w); got != c.want || textWidth(got) > c.w {
			t.Errorf("cutMiddle(%q, %d) = %q, want %q", c.in, c.w, got, c.want)
		}
	}
}

// TestClusterRowsFollowTheSnapshot: the rows derived from the cluster's metrics change when a new snapshot
// brings other figures, and only then.
func TestClusterRowsFollowTheSnapshot(t *testing.T) {
	f := tuitest.ClusterTraffic()
	m := newTest(t, f, 160, 48, goldenTheme)
	press(m, "3")
	if strings.Contains(screen(m), "/default/brand-new") {
		t.Fatal("a topic shows before the metrics have it")
	}
	f.Update(func(s *monitor.Snapshot) {
		c := s.Cluster
		c.Topics = append(slices.Clone(c.Topics), monitor.TopicRate{Broker: "1", Topic: "/default/brand-new", MsgsInPerSec: 99_000, Producers: 7})
		s.Cluster = c
	})
	m.Update(tickMsg{})
	s := screen(m)
	if !strings.Contains(s, "/default/brand-new") || !strings.Contains(s, "Producers · 12 topics · 5 console") {
		t.Errorf("the producers pane does not show the new topic of the metrics:\n%s", s)
	}
	press(m, "1")
	if s := screen(m); !strings.Contains(s, "/default/brand-new") {
		t.Errorf("the dashboard's top topics do not rank the new topic first:\n%s", s)
	}
}

// TestEnterTapsAClusterSubscription: enter on a subscription of the cluster opens the tap form on its topic
// (with a subscription of the console's own); read-only refuses it.
func TestEnterTapsAClusterSubscription(t *testing.T) {
	m := newTest(t, tuitest.ClusterTraffic(), 160, 48, goldenTheme)
	press(m, "4", "enter") // enricher on /analytics/clickstream
	tf, ok := m.modal.(*tapForm)
	if !ok {
		t.Fatalf("enter on a subscription of the cluster opened %T, want the tap form", m.modal)
	}
	if tf.topic.Value() != "/analytics/clickstream" || tf.sub.Value() == "enricher" {
		t.Errorf("tap form on %q subscription %q, want /analytics/clickstream with the console's own subscription", tf.topic.Value(), tf.sub.Value())
	}
	ro := newTest(t, tuitest.ClusterTraffic(), 160, 48, goldenTheme, func(o *Options) { o.ReadOnly = true })
	press(ro, "4", "enter")
	if ro.modal != nil || !strings.Contains(screen(ro), "read-only") {
		t.Errorf("read-only: enter on a subscription of the cluster opened %T", ro.modal)
	}
}

// TestNoMetricsSource: without a metrics source the cluster's tiles say what would fill them.
func TestNoMetricsSource(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 160, 48, goldenTheme)
	if s := screen(m); !strings.Contains(s, "no metrics source: --metrics-url or --prometheus-url") {
		t.Errorf("the dashboard without a metrics source does not say what would fill it:\n%s", s)
	}
}
