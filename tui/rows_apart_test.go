package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// lookAlikes adds clients whose names differ only at their end (partitions, regions, a suffix), as a
// shared cluster has them.
func lookAlikes(f *tuitest.Fake) *tuitest.Fake {
	f.Update(func(s *monitor.Snapshot) {
		for _, r := range []string{"eu-west", "eu-north", "us-east"} {
			topic := "/default/orders-" + r
			sub := "orders-archive-" + r
			s.Consumers = append(s.Consumers, monitor.ConsumerStats{Stream: "s-" + r, Name: "archive-" + r, Topic: topic,
				Subscription: sub, State: monitor.ConsumerSubscribed, Received: 10, Rate: 1})
			s.Subscriptions = append(s.Subscriptions, monitor.SubscriptionStats{Topic: topic, Subscription: sub, Received: 10, Acked: 10})
			s.Producers = append(s.Producers, monitor.ProducerStats{Name: "order-gen-" + r, Topic: topic, State: monitor.ProducerCreated, Msgs: 10})
			s.Health = append(s.Health, monitor.HealthStats{Consumer: true, Name: "archive-" + r, Topic: topic, Status: monitor.HealthOK, At: s.Time.Add(-time.Second)},
				monitor.HealthStats{Name: "order-gen-" + r, Topic: topic, Status: monitor.HealthOK, At: s.Time.Add(-time.Second)})
		}
		// Two of this console's taps on one subscription: their names differ only in the tap's number.
		for _, n := range []string{"1", "2"} {
			name := "console-alice-smith-7f3a-tap-" + n
			s.Consumers = append(s.Consumers, monitor.ConsumerStats{Stream: "tap-" + n, Name: name, Topic: "/default/orders-eu-west",
				Subscription: "orders-archive-eu-west", AdHoc: true, State: monitor.ConsumerSubscribed, Received: 5, Rate: 1})
			s.Health = append(s.Health, monitor.HealthStats{Consumer: true, Name: name, Topic: "/default/orders-eu-west", Status: monitor.HealthOK,
				At: s.Time.Add(-time.Second)})
		}
	})
	return f
}

// TestPanesTellRowsApartAt80x24: at 80×24 (and at 160×48, where more rows show) every table of every pane
// and of the dashboard shows its key columns (the names, topics and subscriptions that tell its rows apart),
// each at least keyMin cells wide or whole, and no two of its rows look the same there.
func TestPanesTellRowsApartAt80x24(t *testing.T) {
	fixtures := []struct {
		name string
		f    func() *tuitest.Fake
	}{
		{"scripted", func() *tuitest.Fake { return lookAlikes(tuitest.Scripted()) }},
		{"cluster", func() *tuitest.Fake { return lookAlikes(tuitest.ClusterTraffic()) }},
	}
	panes := []struct {
		name string
		keys []string
	}{
		{"dashboard", []string{"1"}}, {"topics", []string{"2"}}, {"producers", []string{"3"}}, {"consumers", []string{"4"}},
		{"acks", []string{"5"}}, {"health", []string{"6"}}, {"connectors", []string{"7"}}, {"cluster", []string{"8"}},
		{"problems", []string{"9"}}, {"security", []string{"0"}}, {"topic detail", []string{"2", "down", "enter"}},
	}
	for _, sz := range [][2]int{{80, 24}, {160, 48}} {
		for _, fx := range fixtures {
			for _, p := range panes {
				t.Run(fmt.Sprintf("%dx%d/%s/%s", sz[0], sz[1], fx.name, p.name), func(t *testing.T) {
					m := newTest(t, fx.f(), sz[0], sz[1], goldenTheme)
					press(m, p.keys...)
					tables := 0
					tableRendered = func(tb table, ws []int, cells [][]cell) {
						var keys []string
						for j, c := range tb.cols {
							if !c.key {
								continue
							}
							keys = append(keys, c.title)
							for _, r := range cells {
								if ws[j] == 0 || ws[j] < min(textWidth(r[j].s), keyMin) {
									t.Errorf("%s: key column %s is %d cells wide for %q", titles(tb), c.title, ws[j], r[j].s)
								}
							}
						}
						if len(keys) == 0 {
							t.Errorf("%s: no column tells its rows apart", titles(tb))
							return
						}
						tables++
						seen := map[string]int{}
						for i, r := range cells {
							var shown []string
							for j, c := range tb.cols {
								if c.key {
									shown = append(shown, keyCell(c, r[j].s, ws[j]))
								}
							}
							k := strings.Join(shown, " | ")
							if prev, ok := seen[k]; ok {
								t.Errorf("%s: rows %d and %d both show %q in %v", titles(tb), prev, i, k, keys)
							}
							seen[k] = i
						}
					}
					t.Cleanup(func() { tableRendered = nil })
					_ = m.View()
					if tables == 0 {
						t.Fatalf("no table rendered:\n%s", screen(m))
					}
				})
			}
		}
	}
}

// titles names a table by its columns' titles.
func titles(tb table) string {
	var s []string
	for _, c := range tb.cols {
		s = append(s, c.title)
	}
	return "[" + strings.Join(s, " ") + "]"
}

// TestStreamTitleNamesTheTap: at 80 columns the stream's title keeps the end of the tap's name (its number),
// cutting the names in the middle, the tap's first, rather than cutting the title's end.
func TestStreamTitleNamesTheTap(t *testing.T) {
	for _, n := range []string{"1", "2"} {
		m := newTest(t, lookAlikes(tuitest.Scripted()), 80, 24, goldenTheme)
		selectConsumer(t, m, "console-alice-smith-7f3a-tap-"+n)
		title := lineWith(screen(m), "Stream")
		if !strings.Contains(title, "-tap-"+n+" ─") || !strings.Contains(title, "orders-archive-eu-west") {
			t.Errorf("the stream's title: %q", title)
		}
	}
}
