package tui

import (
	"fmt"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/danube-console/danube-console/tui/tuitest"
)

// topicsCases are the views of the topics pane and its detail over the cluster data set: the list (grouped
// partitions, one expanded), sorted by lag, filtered, the detail of a partitioned topic with its charts and
// subscriptions, and the forms and confirmations of its actions.
var topicsCases = []struct {
	name  string
	sizes []struct{ w, h int }
	keys  []string
}{
	{"topics-list", goldenSizes, []string{"2", "down", "down", "right", "down"}},
	{"topics-sorted", goldenSizes, []string{"2", "o", "o", "o", "o", "o", "o", "o", "o"}},
	{"topics-filtered", goldenSizes, []string{"2", "/", "/or", "enter", "right"}},
	{"topics-filter-input", goldenSizes[:1], []string{"2", "/", "/sens"}},
	{"topic-detail", goldenSizes, []string{"2", "down", "down", "enter"}},
	{"topic-detail-1h", goldenSizes[:1], []string{"2", "down", "down", "enter", "s"}},
	{"topic-create-form", goldenSizes[:1], []string{"2", "n", "//default/invoices", "tab", "3", "tab", "right"}},
	{"topic-delete-confirm", goldenSizes[:1], []string{"2", "down", "down", "D"}},
	{"topic-unload-confirm", goldenSizes[:1], []string{"2", "down", "down", "enter", "U"}},
	{"topic-policy-form", goldenSizes, []string{"2", "down", "down", "enter", "f"}},
	{"topic-window-prompt", goldenSizes[:1], []string{"2", "down", "down", "enter", "down", "w"}},
	{"topic-unsubscribe-confirm", goldenSizes[:1], []string{"2", "down", "down", "enter", "u"}},
	{"topic-detail-describe-failed", goldenSizes[:1], []string{"2", "G", "up", "enter"}},
	{"topic-detail-metrics-only", goldenSizes[:1], []string{"2", "G", "enter"}},
}

// TestGoldenTopics renders the topics pane's views over tuitest.TopicsCluster, ANSI stripped. Keys that
// start with "/" and are longer than one character are typed as text (without the slash).
func TestGoldenTopics(t *testing.T) {
	for _, c := range topicsCases {
		t.Run(c.name, func(t *testing.T) {
			for _, sz := range c.sizes {
				t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
					m := newTest(t, tuitest.TopicsCluster(), sz.w, sz.h, goldenTheme)
					for _, k := range c.keys {
						if len(k) > 1 && k[0] == '/' {
							typeText(m, k[1:])
							continue
						}
						run(t, m, press(m, k))
					}
					checkFrame(t, m.View().Content, sz.w, sz.h)
					golden.RequireEqual(t, screen(m))
				})
			}
		})
	}
}
