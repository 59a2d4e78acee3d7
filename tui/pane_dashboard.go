package tui

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
)

// dashboardPane shows the cluster at a glance in six tiles, two a row, each sized to its content: the
// cluster's throughput chart (messages in and out per second over the last 15 minutes) and the problems
// ranked most severe first; the top topics by rate and the subscriptions by lag; the brokers and the
// connectors. h and l (and the arrows) move between tiles, enter opens the pane behind the focused one, c
// opens the tap form (on the focused tile's first topic when it lists topics). It
// draws the first four itself from the snapshot's cluster; the brokers' and the connectors' tiles are the
// health and connectors panes' own (the root gives the dashboard those two tilers).
type dashboardPane struct {
	sel     int // focused tile, 0..numTiles-1 (dashTiles' order)
	brokers tiler
	conns   tiler

	// Derived when the snapshot's cluster changes, so that a frame sorts and scans nothing.
	topics        []clusterTopic // by rate, highest first
	subs          []clusterSub   // by lag, highest first; only those with lag
	topicsFrom    from[monitor.TopicRate]
	subsFrom      from[monitor.SubscriptionRate]
	hist          monitor.TopicHistory // the cluster's throughput
	histAt        time.Time            // when hist was read
	inNow, outNow float64              // the last known points of hist
	problemCounts [3]int               // problems by severity
	problemsFrom  from[monitor.Problem]
}

// tiler draws a pane's condensed dashboard tile in exactly w×h cells, from what sync settled. It is pure.
type tiler interface {
	tile(e *env, w, h int, focused bool) string
	sync(e *env)
}

// newDashboardPane returns the dashboard over the brokers' tile (the health pane's) and the connectors'.
func newDashboardPane(brokers, conns tiler) *dashboardPane {
	return &dashboardPane{brokers: brokers, conns: conns}
}

// The dashboard's tiles, in focus order (two a row).
const (
	tileThroughput = iota
	tileProblems
	tileTopics
	tileLag
	tileBrokers
	tileConnectors
	numTiles
)

// tileTargets names the pane each tile opens, with the pane to open when the console has no pane of that
// name.
var tileTargets = [numTiles]struct {
	name     string
	fallback paneID
}{
	{"Topics", paneTopics}, {"Problems", paneHealth}, {"Topics", paneTopics},
	{"Consumers", paneConsumers}, {"Cluster", paneHealth}, {"Connectors", paneConnectors},
}

// tileTarget is the pane tile i opens.
func tileTarget(i int) paneID {
	t := tileTargets[i]
	for id, n := range paneNames {
		if n == t.name {
			return paneID(id)
		}
	}
	return t.fallback
}

// historySpan is how far back the throughput chart looks; historyEvery how often it is read again.
const (
	historySpan  = 15 * time.Minute
	historyEvery = time.Second
)

// sync derives the rankings when the cluster's figures changed, reads the throughput history at most once
// a second, and lets the brokers' and connectors' tiles settle.
func (d *dashboardPane) sync(e *env) {
	c := &e.snap.Cluster
	if d.topicsFrom.changed(c.Topics) {
		d.topics = sumTopics(c.Topics)
		slices.SortStableFunc(d.topics, func(a, b clusterTopic) int { return cmp.Compare(b.in+b.out, a.in+a.out) })
	}
	if d.subsFrom.changed(c.Subscriptions) {
		d.subs = slices.DeleteFunc(sumSubs(c.Subscriptions), func(s clusterSub) bool { return s.lag <= 0 })
		slices.SortStableFunc(d.subs, func(a, b clusterSub) int { return cmp.Compare(b.lag, a.lag) })
	}
	if d.problemsFrom.changed(c.Problems) {
		d.problemCounts = [3]int{}
		for i := range c.Problems {
			if s := int(c.Problems[i].Severity); s < len(d.problemCounts) {
				d.problemCounts[s]++
			}
		}
	}
	if e.history != nil && (d.histAt.IsZero() || e.now.Sub(d.histAt) >= historyEvery || e.now.Before(d.histAt)) {
		d.hist, d.histAt = e.history.TopicHistory("", historySpan), e.now
		d.inNow, d.outNow = lastKnown(d.hist.In), lastKnown(d.hist.Out)
	}
	d.brokers.sync(e)
	d.conns.sync(e)
}

// lastKnown is the last value of v that is not NaN (NaN when none is).
func lastKnown(v []float64) float64 {
	for i := len(v) - 1; i >= 0; i-- {
		if !math.IsNaN(v[i]) {
			return v[i]
		}
	}
	return math.NaN()
}

func (d *dashboardPane) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	k := e.keys
	switch {
	case matches(msg, k.Dashboard.Left):
		d.sel = (d.sel + numTiles - 1) % numTiles
	case matches(msg, k.Dashboard.Right):
		d.sel = (d.sel + 1) % numTiles
	case matches(msg, k.Nav.Up):
		if d.sel >= 2 {
			d.sel -= 2
		}
	case matches(msg, k.Nav.Down):
		if d.sel+2 < numTiles {
			d.sel += 2
		}
	case matches(msg, k.Dashboard.Open):
		e.post(showPaneMsg{id: tileTarget(d.sel)})
	case matches(msg, k.Dashboard.Tap):
		e.post(openTapFormMsg{topic: d.tapTopic()})
	}
	return nil
}

// tapTopic is the topic c proposes to tap: the first of the focused tile when it lists topics (the top
// topics, the subscriptions by lag), else none (the form asks for it).
func (d *dashboardPane) tapTopic() string {
	switch {
	case d.sel == tileTopics && len(d.topics) > 0:
		return d.topics[0].topic
	case d.sel == tileLag && len(d.subs) > 0:
		return d.subs[0].topic
	}
	return ""
}

// dashLayout is the dashboard's grid at w×h: the heights of its three rows and the width of each row's
// left tile. The rows are sized to their tiles' content: first each within a share of the height (the
// chart and the problems a third, the brokers and connectors 2/7, the rankings the rest), then what is
// left to those whose content is still cut; what no tile needs goes to the chart, or, with no chart to
// draw, stays blank under the tiles.
func (d *dashboardPane) dashLayout(e *env, w, h int) (rows [3]int, left [3]int) {
	c := &e.snap.Cluster
	brokers := brokerCount(c)
	if brokers == 0 {
		brokers = len(e.snap.Health) // the tile shows the console's own clients' health instead
	}
	chart := len(d.hist.In) > 0 && !(math.IsNaN(d.inNow) && math.IsNaN(d.outNow))
	want := [3]int{max(len(c.Problems), 3) + 3, max(len(d.topics), len(d.subs), 1) + 3, max(brokers, len(e.snap.Connectors)) + 3}
	rows = [3]int{4, 4, 4}
	if chart {
		want[0], rows[0] = max(want[0], h/3), 6
	}
	share := [3]int{h / 3, h, h * 2 / 7}
	room := h - rows[0] - rows[1] - rows[2]
	grow := func(r, upTo int) {
		if add := min(room, upTo-rows[r]); add > 0 {
			rows[r] += add
			room -= add
		}
	}
	for _, r := range []int{2, 0, 1} {
		grow(r, min(want[r], share[r]))
	}
	for _, r := range []int{1, 0, 2} {
		grow(r, want[r])
	}
	if chart && room > 0 {
		rows[0] += room
	}
	left = [3]int{w * 2 / 5, w / 2, w / 2} // the problems' details need the width more than the chart
	if w >= 150 {
		left[0] = w / 2
	}
	return rows, left
}

// brokerCount is about how many rows the brokers' tile has: one per broker the admin API, the metrics or
// the metrics endpoints know.
func brokerCount(c *monitor.Cluster) int {
	n := 0
	for i := range c.Sources {
		if c.Sources[i].Kind == "metrics" {
			n++
		}
	}
	return max(len(c.Admin.Brokers), len(c.Brokers), n)
}

// click focuses the tile under (x, y) of the body; a click on the focused tile opens it.
func (d *dashboardPane) click(e *env, x, y int) {
	rows, left := d.dashLayout(e, e.w, e.bodyHeight())
	y0 := 0
	for r := range rows {
		if y >= y0 && y < y0+rows[r] {
			i := r*2 + pick(x >= left[r], 1, 0)
			if i == d.sel {
				e.post(showPaneMsg{id: tileTarget(i)})
			}
			d.sel = i
			return
		}
		y0 += rows[r]
	}
}

func (d *dashboardPane) view(e *env, w, h int) string {
	rows, left := d.dashLayout(e, w, h)
	var b strings.Builder
	b.Grow(w * h * 4)
	used := 0
	for r := range rows {
		th := min(rows[r], h-used)
		if th <= 0 {
			continue
		}
		used += th
		a := strings.Split(d.drawTile(e, r*2, left[r], th), "\n")
		c := strings.Split(d.drawTile(e, r*2+1, w-left[r], th), "\n")
		for y := range th {
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			if y < len(a) {
				b.WriteString(a[y])
			}
			if y < len(c) {
				b.WriteString(c[y])
			}
		}
	}
	for ; used < h; used++ {
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(blank(w))
	}
	return b.String()
}

// drawTile draws tile i in w×h cells.
func (d *dashboardPane) drawTile(e *env, i, w, h int) string {
	f := i == d.sel
	switch i {
	case tileThroughput:
		return d.throughputTile(e, w, h, f)
	case tileProblems:
		return d.problemsTile(e, w, h, f)
	case tileTopics:
		return d.topicsTile(e, w, h, f)
	case tileLag:
		return d.lagTile(e, w, h, f)
	case tileBrokers:
		return d.brokers.tile(e, w, h, f)
	}
	return d.conns.tile(e, w, h, f)
}

func (d *dashboardPane) tile(e *env, w, h int, _ bool) string { return d.view(e, w, h) }
func (d *dashboardPane) capturing() bool                      { return false }
func (d *dashboardPane) esc() bool                            { return false }

func (d *dashboardPane) bindings(k *KeyMap) []Binding {
	return []Binding{k.Dashboard.Open, k.Dashboard.Tap, k.Dashboard.Left, k.Dashboard.Right}
}
