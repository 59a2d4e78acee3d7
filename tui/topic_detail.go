package tui

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
)

// topicDetail is the topics pane's detail view of one topic (enter on the list; esc goes back): the
// broker's description of it (DescribeTopic, in a command, with a loading state and the broker's reason
// when it fails), its traffic, publish latency and message size per broker from the metrics, charts of its
// rates and lag over a span (s switches 5m, 15m, 1h, 6h), and its subscriptions, live from the metrics,
// with each one's failure policy and dispatch window from the description. On the selected subscription:
// f sets the failure policy, w the dispatch window, u unsubscribes, c taps it; D deletes and U unloads the
// topic.
type topicDetail struct {
	name    string   // the topic; a partitioned topic's base
	members []string // the topics it stands for: its partitions, else itself
	broker  string   // the owner the list shows
	row     topicRow // the list's row, for what the description does not (yet) say

	loading bool
	err     string // why the description failed (the broker's reason)
	desc    *monitor.TopicDetail

	span   int // index in chartSpans
	hist   monitor.TopicHistory
	histAt time.Time // when hist was read (it is read again every histEvery)

	subs []subRow // built in sync
	cur  cursor
}

// chartSpans are the charts' spans, in the order the span key cycles them.
var chartSpans = []time.Duration{5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour}

// histEvery is how often the open detail reads its history again.
const histEvery = time.Second

// subRow is one subscription of the detail: its figures summed over the topic's partitions and brokers,
// and what the description says of it.
type subRow struct {
	name      string
	typ       string
	consumers int64
	lag       int64
	pending   int64
	blocked   int64
	redeliv   float64
	nacks     float64
	ackTO     float64
	dlq       float64
	outRate   float64
	metrics   bool
	policy    *monitor.FailurePolicy
	window    uint32
	err       string
}

// Messages of the detail view.
type (
	// describeDoneMsg reports the end of a DescribeTopic.
	describeDoneMsg struct {
		topic string
		d     monitor.TopicDetail
		err   error
		on    monitor.ClusterAdmin // the backend that described it
	}
)

// openDetail opens the detail view of a row and starts describing it.
func (p *topicsPane) openDetail(e *env, r *topicRow) tea.Cmd {
	d := &topicDetail{name: r.name, members: members(r), broker: r.broker, row: *r, loading: true, span: 1}
	d.row.parts = nil
	p.detail = d
	d.sync(e)
	return d.describe(e)
}

// describe describes the topic in a command: a partitioned topic by its name, else (when the broker does
// not know the base name) by its first partition.
func (d *topicDetail) describe(e *env) tea.Cmd {
	c, ctx, name, first := e.cluster, e.ctx, d.name, d.members[0]
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		td, err := c.DescribeTopic(ctx, name)
		if err != nil && first != name && !errors.Is(err, context.DeadlineExceeded) {
			if td2, err2 := c.DescribeTopic(ctx, first); err2 == nil {
				td, err = td2, nil
			}
		}
		return describeDoneMsg{topic: name, d: td, err: err, on: c}
	}
}

// refresh describes the topic again.
func (d *topicDetail) refresh(e *env) tea.Cmd {
	d.loading = true
	return d.describe(e)
}

// described takes a description in, if it is of the open topic.
func (p *topicsPane) described(e *env, msg describeDoneMsg) {
	d := p.detail
	if d == nil || d.name != msg.topic || msg.on != e.cluster { // a topic of the same name on the cluster left
		return
	}
	d.loading = false
	if msg.err != nil {
		d.err = msg.err.Error()
		e.setStatus(levelError, clean(d.err))
		return
	}
	d.err = ""
	d.desc = &msg.d
	if msg.d.Compatibility != "" {
		p.compat[d.name] = msg.d.Compatibility
	}
	d.sync(e)
}

func (d *topicDetail) capturing() bool { return false }

// selectedSub returns the selected subscription, or nil.
func (d *topicDetail) selectedSub() *subRow {
	i := d.cur.index(len(d.subs), d.subID)
	if i < 0 {
		return nil
	}
	return &d.subs[i]
}

func (d *topicDetail) subID(i int) string { return d.subs[i].name }

func (d *topicDetail) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	k := e.keys.Topics
	s := d.selectedSub()
	switch {
	case matches(msg, k.Span):
		d.span = (d.span + 1) % len(chartSpans)
		d.histAt = time.Time{}
		d.sync(e)
	case matches(msg, k.Tap):
		e.post(openTapFormMsg{topic: d.name})
	case matches(msg, k.Delete):
		e.post(openModalMsg{m: deleteConfirm(e, d.name, d.members)})
	case matches(msg, k.Unload):
		e.post(openModalMsg{m: unloadConfirm(e, d.name, d.members, d.broker)})
	case matches(msg, k.Policy, k.Window, k.Unsubscribe):
		if s == nil {
			e.setStatus(levelWarn, clean(d.name)+" has no subscription to act on")
			return nil
		}
		switch {
		case matches(msg, k.Policy):
			return openPolicyForm(e, d.name, d.members, s.name, s.policy)
		case matches(msg, k.Window):
			return openWindowPrompt(e, d.name, d.members, s.name, s.window)
		}
		e.post(openModalMsg{m: unsubscribeConfirm(e, d.name, d.members, s)})
	default:
		d.cur.move(e, msg, len(d.subs), 5, d.subID)
	}
	return nil
}

// sync reads the history again when it is due, and builds the subscriptions' rows from the description
// and the live metrics.
func (d *topicDetail) sync(e *env) {
	if e.history != nil && (d.histAt.IsZero() || e.now.Sub(d.histAt) >= histEvery || e.now.Before(d.histAt)) {
		d.hist = e.history.TopicHistory(d.name, chartSpans[d.span])
		d.histAt = e.now
	}
	d.subs = d.subs[:0]
	idx := map[string]int{}
	row := func(name string) *subRow {
		if i, ok := idx[name]; ok {
			return &d.subs[i]
		}
		idx[name] = len(d.subs)
		d.subs = append(d.subs, subRow{name: name, typ: "-"})
		return &d.subs[len(d.subs)-1]
	}
	if d.desc != nil {
		for _, s := range d.desc.Subs {
			r := row(s.Name)
			r.typ, r.policy, r.window, r.err = s.Type.String(), s.Policy, s.DispatchWindow, s.Err
		}
		for _, s := range d.desc.Subscriptions {
			row(s)
		}
	}
	subs := e.snap.Cluster.Subscriptions
	for _, m := range d.members {
		i, _ := slices.BinarySearchFunc(subs, m, func(s monitor.SubscriptionRate, t string) int { return strings.Compare(s.Topic, t) })
		for ; i < len(subs) && subs[i].Topic == m; i++ {
			s := &subs[i]
			r := row(s.Subscription)
			r.metrics = true
			r.consumers += s.Consumers
			r.lag += s.Lag
			r.pending += s.PendingRedelivery
			r.blocked += s.TerminalBlocked
			r.redeliv += s.RedeliveriesPerSec
			r.nacks += s.NacksPerSec
			r.ackTO += s.AckTimeoutsPerSec
			r.dlq += s.DLQPerSec
			r.outRate += s.MsgsOutPerSec
		}
	}
	slices.SortFunc(d.subs, func(a, b subRow) int { return strings.Compare(a.name, b.name) })
}

// rates are the topic's figures from the metrics: every member on every broker.
func (d *topicDetail) rates(e *env) []monitor.TopicRate {
	ts := e.snap.Cluster.Topics
	var out []monitor.TopicRate
	for _, m := range d.members {
		i, _ := slices.BinarySearchFunc(ts, m, func(t monitor.TopicRate, n string) int { return strings.Compare(t.Topic, n) })
		for ; i < len(ts) && ts[i].Topic == m; i++ {
			out = append(out, ts[i])
		}
	}
	return out
}

// click selects the subscription under the mouse (y in the pane's area).
func (d *topicDetail) click(e *env, y int) {
	_, _, subTop, subRows := d.layout(e.w, e.bodyHeight())
	clickTable(&d.cur, len(d.subs), d.subID, subRows, subTop+2, y)
}

// layout splits the detail's box (w×h) into its parts: the info lines, the charts' height, the line the
// subscriptions' table starts at (in the pane, its header included) and its rows.
func (d *topicDetail) layout(w, h int) (info, chartH, subTop, subRows int) {
	inner := h - 2
	info = 5
	if w >= 120 {
		info = 7
	}
	rest := inner - info - 1 // the hint line
	chartH = max(0, min(rest/2, 14))
	if h < 30 {
		chartH = max(0, min(rest-5, 6))
	}
	subTop = info + chartH
	subRows = max(0, rest-chartH-1)
	return info, chartH, subTop, subRows
}

func (d *topicDetail) view(e *env, w, h int) string {
	st := e.st
	iw := w - 2
	info, chartH, _, subRows := d.layout(w, h)
	body := make([]string, 0, h)
	body = append(body, d.infoLines(e, iw, info)...)
	body = append(body, d.chartLines(e, iw, chartH)...)
	body = append(body, st.renderTable(d.subTable(e), iw, subRows+1)...)
	for len(body) < h-3 {
		body = append(body, blank(iw))
	}
	k := &e.keys.Topics
	pairs := []string{"esc", "back", "s", "span"}
	pairs = append(pairs, e.offer(k.Policy, "f", "failure policy")...)
	pairs = append(pairs, e.offer(k.Window, "w", "window")...)
	pairs = append(pairs, e.offer(k.Unsubscribe, "u", "unsubscribe")...)
	pairs = append(pairs, e.offer(k.Tap, "c", "tap")...)
	pairs = append(pairs, e.offer(k.Delete, "D", "delete")...)
	pairs = append(pairs, e.offer(k.Unload, "U", "unload")...)
	body = append(body, st.hintLine(iw, append(pairs, "ctrl+r", "describe")...))
	title := []seg{{"Topic ", st.title}, {clean(d.name), st.accent}}
	if len(d.members) > 1 {
		title = append(title, seg{" [" + plural(len(d.members), "partition") + "]", st.muted})
	}
	switch {
	case d.loading:
		title = append(title, seg{" · describing…", st.info})
	case d.err != "":
		title = append(title, seg{" · describe failed", st.err})
	}
	return st.box(title, w, h, true, body)
}

// infoLines are the description and the traffic, in n lines of w cells: two columns when wide.
func (d *topicDetail) infoLines(e *env, w, n int) []string {
	st := e.st
	var head, left []string
	kv := func(l, v string, p paint) { left = append(left, st.kv(w, 10, l, v, p)) }
	if d.err != "" { // the broker's reason, across the whole width
		head = append(head, st.kv(w, 10, "error", clean(d.err), st.err))
		n--
	}
	owner, delivery, dp := orDash(clean(d.broker)), "-", st.muted
	schema := "-"
	if t := d.desc; t != nil {
		owner = orDash(clean(t.BrokerID))
		delivery, dp = pick(t.Reliable, "reliable", "non-reliable"), pick(t.Reliable, st.ok, st.muted)
		if t.SchemaSubject != "" {
			schema = clean(t.SchemaSubject)
			if t.SchemaID != 0 {
				schema += " · id " + strconv.FormatUint(t.SchemaID, 10) + " v" + strconv.FormatUint(uint64(t.SchemaVersion), 10)
			}
			if t.SchemaType != "" {
				schema += " · " + clean(t.SchemaType)
			}
			if t.Compatibility != "" {
				schema += " · " + clean(t.Compatibility)
			}
		}
	} else if d.row.delivery {
		delivery, dp = pick(d.row.reliable, "reliable", "non-reliable"), pick(d.row.reliable, st.ok, st.muted)
		schema = orDash(clean(d.row.schema))
	}
	kv("owner", owner+"  ·  "+delivery, dp)
	kv("schema", schema, pick(schema == "-", st.muted, st.text))
	rs := d.rates(e)
	var in, outR, bin, bout float64
	var prod, cons, lag int64
	for _, r := range rs {
		in, outR, bin, bout = in+r.MsgsInPerSec, outR+r.MsgsOutPerSec, bin+r.BytesInPerSec, bout+r.BytesOutPerSec
		prod, cons, lag = prod+r.Producers, cons+r.Consumers, lag+r.Lag
	}
	if len(rs) == 0 {
		kv("traffic", "no metrics for this topic (the brokers' metrics endpoints tell it)", st.muted)
	} else {
		kv("traffic", "in "+fmtRate(in)+" "+fmtByteRate(bin)+"  ·  out "+fmtRate(outR)+" "+fmtByteRate(bout), st.text)
		kv("clients", plural(int(prod), "producer")+" · "+plural(int(cons), "consumer")+" · "+
			plural(len(d.subs), "subscription")+" · lag "+fmtInt(lag), st.text)
	}
	right := d.quantileLines(e, rs)
	if w >= 118 {
		lw := w / 2
		out := make([]string, n)
		for i := range out {
			l, r := blank(lw), blank(w-lw)
			if i < len(left) {
				l = padANSI(left[i], lw)
			}
			if i < len(right) {
				r = padANSI(right[i], w-lw)
			}
			out[i] = l + r
		}
		return append(head, out...)
	}
	all := append(left, right[min(1, len(right)-1):]...) // no room for the quantiles' header
	out := make([]string, n)
	for i := range out {
		out[i] = blank(w)
		if i < len(all) {
			out[i] = padANSI(all[i], w)
		}
	}
	return append(head, out...)
}

// quantileLines are the publish latency and message size of the topic (p50, p95, p99; the size's average
// from its sum and count), one line per broker and partition that published: quantiles cannot be summed,
// so a topic that moved shows each broker's.
func (d *topicDetail) quantileLines(e *env, rs []monitor.TopicRate) []string {
	st := e.st
	var out []string
	n := 0
	brokers := map[string]bool{}
	for _, r := range rs {
		if r.PublishLatency.Count > 0 || r.MessageSize.Count > 0 {
			n++
			brokers[r.Broker] = true
		}
	}
	for _, r := range rs {
		if r.PublishLatency.Count == 0 && r.MessageSize.Count == 0 {
			continue
		}
		// Which broker (when there are several) and which partition each line is of.
		var who []string
		if len(brokers) > 1 {
			who = append(who, "broker "+cutMiddle(clean(r.Broker), 12))
		}
		if len(d.members) > 1 {
			who = append(who, strings.TrimPrefix(clean(r.Topic), clean(d.name)+"-")) // "part-0"
		}
		l, s := r.PublishLatency, r.MessageSize
		avg := 0.0
		if s.Count > 0 {
			avg = s.Sum / float64(s.Count)
		}
		label := strings.Join(who, " ")
		if label != "" {
			label += "  "
		}
		line := newLine(1<<10).space(1).add(st.muted, label).
			add(st.muted, "publish ").add(st.text, fmtMs(l.P50)+"/"+fmtMs(l.P95)+"/"+fmtMs(l.P99)).
			add(st.muted, "  size ").add(st.text, fmtBytes(s.P50)+"/"+fmtBytes(s.P95)+"/"+fmtBytes(s.P99)).
			add(st.muted, " avg ").add(st.text, fmtBytes(avg))
		out = append(out, strings.TrimRight(line.String(), " "))
	}
	if len(out) == 0 {
		return []string{st.textLine(60, st.muted, "publish latency and size: nothing published yet")}
	}
	head := newLine(1<<10).space(1).add(st.header, "p50/p95/p99 of the last minute")
	if len(brokers) == 1 {
		for b := range brokers {
			head.add(st.muted, " on broker "+clean(b))
		}
	}
	return append([]string{strings.TrimRight(head.String(), " ")}, out...)
}

// fmtMs formats milliseconds as a latency.
func fmtMs(ms float64) string {
	if ms <= 0 {
		return "0"
	}
	return fmtDur(time.Duration(ms * float64(time.Millisecond)))
}

// chartLines are the charts of the topic's rates (in and out) and lag, side by side, in h lines of w
// cells: a caption (what, the span and where the points come from), then the plots.
func (d *topicDetail) chartLines(e *env, w, h int) []string {
	if h < 3 {
		return blankLines(w, h)
	}
	st := e.st
	hs := d.hist
	src := "no history yet"
	switch hs.Source {
	case "console":
		src = "console samples"
	case "prometheus":
		src = "prometheus"
	}
	span := fmtSpan(chartSpans[d.span])
	lw := w * 3 / 5
	rw := w - lw
	caption := newLine(lw).space(1).add(st.header, "msgs/s ").add(st.accent, "━ in ").add(st.ok, "━ out").
		add(st.muted, "  last "+span+" · "+src).String()
	lcap := newLine(rw).space(1).add(st.header, "lag ").add(st.warn, "━ messages").String()
	plotL := lineChart(st, [][]float64{hs.In, hs.Out}, lw-2, h-1, []paint{st.accent, st.ok}, fmtSI)
	plotR := lineChart(st, [][]float64{hs.Lag}, rw-2, h-1, []paint{st.warn}, fmtSI)
	out := make([]string, 0, h)
	out = append(out, caption+lcap)
	for i := range h - 1 {
		out = append(out, " "+plotL[i]+"  "+plotR[i]+" ")
	}
	return out
}

// fmtSpan formats a chart span: "5m", "1h".
func fmtSpan(d time.Duration) string {
	if d >= time.Hour {
		return strconv.Itoa(int(d/time.Hour)) + "h"
	}
	return strconv.Itoa(int(d/time.Minute)) + "m"
}

// subTable is the subscriptions' table.
func (d *topicDetail) subTable(e *env) table {
	st := e.st
	cols := []column{
		{title: "SUBSCRIPTION", width: 14, flex: 2, key: true},
		{title: "TYPE", width: 10, drop: 6},
		{title: "CONS", width: 4, right: true},
		{title: "LAG", width: 7, right: true},
		{title: "OUT/s", width: 7, right: true, drop: 7},
		{title: "REDELIV/s", width: 9, right: true, drop: 3},
		{title: "NACK/s", width: 6, right: true, drop: 8},
		{title: "ACK-TO/s", width: 8, right: true, drop: 9},
		{title: "DLQ/s", width: 6, right: true, drop: 5},
		{title: "PENDING", width: 7, right: true, drop: 4},
		{title: "BLOCKED", width: 7, right: true, drop: 2},
		{title: "FAILURE POLICY", width: 16, flex: 2, drop: 10},
		{title: "WINDOW", width: 6, right: true, drop: 11},
	}
	return table{
		cols: cols, n: len(d.subs), sel: d.cur.index(len(d.subs), d.subID), focus: true,
		empty: pick(d.loading, "describing…", "no subscriptions"),
		row: func(i int, c []cell) {
			s := &d.subs[i]
			c[0] = txt(st.text, clean(s.name))
			c[1] = txt(st.muted, s.typ)
			if !s.metrics {
				for j := 2; j <= 10; j++ {
					c[j] = txt(st.muted, "-")
				}
			} else {
				c[2] = txt(pick(s.consumers == 0 && s.lag > 0, st.err, st.text), fmtInt(s.consumers))
				c[3] = txt(pick(s.lag > 0, st.warn, st.muted), fmtInt(s.lag))
				c[4] = txt(st.text, fmtSI(s.outRate))
				rate := func(v float64, bad paint) cell { return txt(pick(v > 0, bad, st.muted), fmtSI(v)) }
				c[5], c[6], c[7], c[8] = rate(s.redeliv, st.warn), rate(s.nacks, st.warn), rate(s.ackTO, st.warn), rate(s.dlq, st.err)
				c[9] = txt(pick(s.pending > 0, st.warn, st.muted), fmtInt(s.pending))
				c[10] = txt(pick(s.blocked > 0, st.err, st.muted), fmtInt(s.blocked))
			}
			c[11] = txt(st.muted, policySummary(s))
			c[12] = txt(st.muted, pick(s.window > 0, strconv.FormatUint(uint64(s.window), 10), "-"))
		},
	}
}

// policySummary is a failure policy in a few words: "3× ack 30s exp block".
func policySummary(s *subRow) string {
	if s.err != "" {
		return "? " + clean(s.err)
	}
	p := s.policy
	if p == nil {
		return "-"
	}
	backoff := orDash(p.Backoff)
	if backoff == "exponential" {
		backoff = "exp"
	}
	out := strconv.FormatUint(uint64(p.MaxRedeliveries), 10) + "× ack " + fmtDur(p.AckTimeout) + " " + backoff + " " + orDash(p.Poison)
	if p.Poison == "dead-letter" && p.DeadLetterTopic != "" {
		out += " → " + clean(p.DeadLetterTopic)
	}
	return out
}
