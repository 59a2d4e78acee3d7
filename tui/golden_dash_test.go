package tui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

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
		{"/averyverylongnamespace/orders-eu-west", 16, "/aver…rs-eu-west"},
		{"plain-name-without-namespace", 10, "pla…espace"},
		{"/ns/t", 3, "…/t"},
	}
	for _, c := range cases {
		if got := cutMiddle(c.in, c.w); got != c.want || textWidth(got) > c.w {
			t.Errorf("cutMiddle(%q, %d) = %q, want %q", c.in, c.w, got, c.want)
		}
	}
}
