package tui

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
)

// producersPane lists the cluster's producers per topic, from the brokers' metrics (producers, rates in,
// publish latency), and the console's own producers (per partition, marked "console") with their rates,
// sparkline, totals, errors and publish latency. It owns the console's own producers: it starts them
// (:producer), names them "producer-<n>", stops them (x, :stop), and publishes single messages (:produce).
type producersPane struct {
	cur             cursor
	rows            []prodRow      // what the table shows, derived when the snapshot changes
	topics          []clusterTopic // the cluster's topics with producers or traffic in
	topicsFrom      from[monitor.TopicRate]
	prodFrom        fromIdent[monitor.ProducerStats]
	inRate, inBytes float64 // the cluster's topics' rates in, summed
	want            string  // a producer to select as soon as the snapshot has it
	named           int     // the highest n of the "producer-<n>" names given
}

// Requests the producers pane serves: the command line posts them, the root routes them here.
type (
	// startProducerMsg starts an ad-hoc producer, named "producer-<n>" when Name is empty; once up, the
	// pane shows it.
	startProducerMsg struct{ spec monitor.ProducerSpec }
	// stopProducerMsg stops an ad-hoc producer.
	stopProducerMsg struct{ name string }
	// produceMsg publishes one message.
	produceMsg struct {
		topic   string
		payload []byte
	}
)

// Messages reporting the end of the pane's actions.
type (
	producerDoneMsg struct {
		spec monitor.ProducerSpec
		err  error
	}
	producerStoppedMsg struct {
		name string
		err  error
	}
	produceDoneMsg struct {
		topic string
		n     int
		err   error
	}
)

// update handles the requests the pane serves and the results of its actions.
func (p *producersPane) update(e *env, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case startProducerMsg:
		return p.start(e, msg.spec)
	case producerDoneMsg:
		p.started(e, msg)
	case stopProducerMsg:
		return p.stop(e, msg.name)
	case producerStoppedMsg:
		p.stopped(e, msg)
	case produceMsg:
		return p.produce(e, msg.topic, msg.payload)
	case produceDoneMsg:
		p.produced(e, msg)
	}
	return nil
}

// nextName returns the name of the next ad-hoc producer, "producer-<n>": above those the pane started
// (one may not be in the snapshot yet) and not taken.
func (p *producersPane) nextName(e *env) string {
	for n := p.named + 1; ; n++ {
		name := "producer-" + itoa(n)
		if !slices.ContainsFunc(e.snap.Producers, func(pr monitor.ProducerStats) bool { return pr.Name == name }) {
			p.named = n
			return name
		}
	}
}

// start starts an ad-hoc producer in a command; when it is up, the pane shows it.
func (p *producersPane) start(e *env, spec monitor.ProducerSpec) tea.Cmd {
	if spec.Name == "" {
		spec.Name = p.nextName(e)
	}
	e.setStatus(levelInfo, "starting "+spec.Name+" on "+spec.Topic+"…")
	b, ctx := e.producers, e.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		return producerDoneMsg{spec: spec, err: b.StartProducer(ctx, spec)}
	}
}

// stop stops an ad-hoc producer in a command (allowed in read-only mode: it only releases what the
// console itself started).
func (p *producersPane) stop(e *env, name string) tea.Cmd {
	e.setStatus(levelInfo, "stopping "+name+"…")
	b, ctx := e.producers, e.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		return producerStoppedMsg{name: name, err: b.StopProducer(ctx, name)}
	}
}

func (p *producersPane) stopped(e *env, msg producerStoppedMsg) {
	if msg.err != nil {
		e.setStatus(levelError, msg.err.Error()) // it names the producer
	} else {
		e.setStatus(levelInfo, "stopped "+msg.name)
	}
	e.post(pullMsg{})
}

// produce publishes one message in a command.
func (p *producersPane) produce(e *env, topic string, payload []byte) tea.Cmd {
	e.setStatus(levelInfo, "producing to "+topic+"…")
	b, ctx := e.producers, e.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		return produceDoneMsg{topic: topic, n: len(payload), err: b.Produce(ctx, topic, payload)}
	}
}

func (p *producersPane) produced(e *env, msg produceDoneMsg) {
	if msg.err != nil {
		e.setStatus(levelError, msg.err.Error()) // it names the topic
		return
	}
	e.setStatus(levelInfo, "produced 1 message ("+fmtBytes(float64(msg.n))+") to "+msg.topic)
}

func producerID(e *env) func(i int) string {
	ps := e.snap.Producers
	return func(i int) string {
		return ps[i].Topic + "\x00" + ps[i].Name + "\x00" + strconv.FormatUint(ps[i].ID, 10)
	}
}

// prodRow is a row of the producers pane: a topic of the cluster with producers (ct ≥ 0), or one of the
// console's own producers (pr ≥ 0).
type prodRow struct{ ct, pr int }

// derive settles the pane's rows when the snapshot's topics or producers changed: the cluster's topics with
// producers or traffic in, each followed by the console's own producers on it (or its partitions), the
// console's producers on topics the metrics do not show at the end.
func (p *producersPane) derive(e *env) {
	c := &e.snap.Cluster
	topicsChanged := p.topicsFrom.changed(c.Topics)
	if !p.prodFrom.changed(e.snap.Producers) && !topicsChanged {
		return
	}
	if topicsChanged {
		p.topics, p.inRate, p.inBytes = p.topics[:0], 0, 0
		for _, t := range sumTopics(c.Topics) {
			if t.producers > 0 || t.in > 0 {
				p.topics = append(p.topics, t)
				p.inRate += t.in
				p.inBytes += t.inBytes
			}
		}
	}
	ps := e.snap.Producers
	p.rows = make([]prodRow, 0, len(p.topics)+len(ps))
	used := make([]bool, len(ps))
	at := make(map[string]int, len(p.topics))
	for i := range p.topics {
		at[p.topics[i].topic] = i
	}
	own := make([][]int, len(p.topics))
	for j := range ps {
		if i, ok := at[baseTopic(ps[j].Topic)]; ok {
			own[i] = append(own[i], j)
			used[j] = true
		}
	}
	for i := range p.topics {
		p.rows = append(p.rows, prodRow{ct: i, pr: -1})
		for _, j := range own[i] {
			p.rows = append(p.rows, prodRow{ct: -1, pr: j})
		}
	}
	for j := range ps {
		if !used[j] {
			p.rows = append(p.rows, prodRow{ct: -1, pr: j})
		}
	}
}

// rowID names row i for the cursor: a console producer as before, a cluster topic by its name.
func (p *producersPane) rowID(e *env) func(i int) string {
	own := producerID(e)
	return func(i int) string {
		if r := p.rows[i]; r.pr >= 0 {
			return own(r.pr)
		}
		return "cluster\x00" + p.topics[p.rows[i].ct].topic
	}
}

// selected returns the selected row, if any.
func (p *producersPane) selected(e *env) (prodRow, bool) {
	i := p.cur.index(len(p.rows), p.rowID(e))
	if i < 0 {
		return prodRow{}, false
	}
	return p.rows[i], true
}

func (p *producersPane) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	p.derive(e)
	if matches(msg, e.keys.Producers.Stop) {
		r, ok := p.selected(e)
		var pr *monitor.ProducerStats
		if ok && r.pr >= 0 {
			pr = &e.snap.Producers[r.pr]
		}
		switch {
		case !ok:
		case pr == nil:
			e.setStatus(levelWarn, "a producer of the cluster, not the console's: only those started here (:producer) stop here")
		case !pr.AdHoc:
			e.setStatus(levelWarn, clean(pr.Name)+" was not started from the console: only those (:producer) stop here")
		case pr.State == monitor.ProducerClosed:
			e.setStatus(levelInfo, clean(pr.Name)+" is stopped already")
		default:
			return p.stop(e, pr.Name)
		}
		return nil
	}
	p.cur.move(e, msg, len(p.rows), e.bodyHeight()-5, p.rowID(e))
	return nil
}

// msDur turns milliseconds of a broker summary into a duration.
func msDur(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// sourceCell says where a row's figures come from: the console's own client, or the brokers serving it.
func sourceCell(st *styles, brokers string, own bool) cell {
	switch {
	case own:
		return txt(st.accent, "console")
	case strings.Contains(brokers, ","):
		return txt(st.muted, "brokers "+brokers)
	}
	return txt(st.muted, "broker "+brokers)
}

func (p *producersPane) table(e *env, full bool) table {
	st := e.st
	ps := e.snap.Producers
	var cols []column
	if full {
		cols = []column{
			{title: "TOPIC", width: 22, flex: 3, cutM: true, key: true},
			{title: "SOURCE", width: 9, flex: 1},
			{title: "PRODUCERS", width: 9, flex: 3, key: true},
			{title: "STATE", width: 9, drop: 9},
			{title: "MSG/S", width: 7, right: true},
			{title: "BYTES/S", width: 10, right: true, drop: 3},
			{title: "TREND", width: 10, flex: 1, drop: 4},
			{title: "MSGS", width: 7, right: true, drop: 7},
			{title: "ERR", width: 4, right: true, drop: 2},
			{title: "P50", width: 6, right: true, drop: 6},
			{title: "P99", width: 6, right: true, drop: 1},
		}
	} else {
		cols = []column{
			{title: "TOPIC", width: 10, flex: 2, cutM: true, key: true},
			{title: "SOURCE", width: 8, drop: 3},
			{title: "MSG/S", width: 7, right: true},
			{title: "P99", width: 6, right: true, drop: 1},
		}
	}
	empty := noMetrics(&e.snap.Cluster)
	if empty == "" {
		empty = "no producers"
	}
	return table{
		cols:  cols,
		n:     len(p.rows),
		sel:   p.cur.index(len(p.rows), p.rowID(e)),
		focus: full,
		empty: empty,
		row: func(i int, c []cell) {
			r := p.rows[i]
			if r.ct >= 0 {
				t := &p.topics[r.ct]
				c[0] = txt(st.text, clean(t.topic))
				c[1] = sourceCell(st, clean(t.brokers), false)
				if full {
					c[2] = txt(st.text, fmtInt(t.producers))
					c[3] = txt(st.muted, pick(t.partitions > 0, plural(t.partitions, "part"), ""))
					c[4] = txt(st.text, fmtSI(t.in))
					c[5] = txt(st.text, fmtByteRate(t.inBytes))
					c[8] = txt(st.muted, "-")
					c[9] = txt(st.text, fmtDur(msDur(t.p50)))
					c[10] = txt(st.text, fmtDur(msDur(t.p99)))
					return
				}
				c[2] = txt(st.text, fmtSI(t.in))
				c[3] = txt(st.text, fmtDur(msDur(t.p99)))
				return
			}
			pr := &ps[r.pr]
			c[0] = txt(st.text, clean(pr.Topic))
			c[1] = sourceCell(st, "", true)
			if full {
				errP := pick(pr.Errors > 0, st.err, st.text)
				c[2] = txt(st.accent, clean(pr.Name))
				c[3] = txt(producerPaint(st, pr.State), pr.State.String())
				c[4] = txt(st.text, fmtSI(pr.MsgRate))
				c[5] = txt(st.text, fmtByteRate(pr.ByteRate))
				c[6] = spk(pr.Series)
				c[7] = txt(st.text, fmtCount(pr.Msgs))
				c[8] = txt(errP, fmtCount(pr.Errors))
				c[9] = txt(st.text, fmtDur(pr.Publish.P50))
				c[10] = txt(st.text, fmtDur(pr.Publish.P99))
				return
			}
			c[2] = txt(st.text, fmtSI(pr.MsgRate))
			c[3] = txt(st.text, fmtDur(pr.Publish.P99))
		},
	}
}

// producersTitle is "Producers · 14 topics · 3 console".
func (p *producersPane) title(e *env) []seg {
	st := e.st
	return []seg{{"Producers", st.title}, {" · " + plural(len(p.topics), "topic") + " · " + itoa(len(e.snap.Producers)) + " console", st.muted}}
}

func (p *producersPane) view(e *env, w, h int) string {
	st := e.st
	ps := e.snap.Producers
	var rate, brate float64
	var msgs, errs uint64
	for i := range ps {
		rate += ps[i].MsgRate
		brate += ps[i].ByteRate
		msgs += ps[i].Msgs
		errs += ps[i].Errors
	}
	cin, cinB := p.inRate, p.inBytes
	body := e.st.renderTable(p.table(e, true), w-2, h-4)
	for len(body) < h-4 {
		body = append(body, blank(w-2))
	}
	foot := newLine(w-2).space(1).add(st.muted, "cluster in ").add(st.text, fmtRate(cin)).
		add(st.muted, " · ").add(st.text, fmtByteRate(cinB)).
		add(st.muted, " · console ").add(st.text, fmtRate(rate)).
		add(st.muted, " · ").add(st.text, fmtByteRate(brate)).
		add(st.muted, " · ").add(st.text, fmtCount(msgs)+" msgs").
		add(st.muted, " · ").add(pick(errs > 0, st.err, st.text), fmtCount(errs)+" errors")
	body = append(body, foot.String())
	body = append(body, p.hint(e, w-2))
	return e.st.box(p.title(e), w, h, true, body)
}

// hint is the line under the totals: the selected row's detail (a cluster topic's brokers, partitions and
// latencies; a console producer's last error), else what can be done.
func (p *producersPane) hint(e *env, w int) string {
	st := e.st
	el := newLine(w).space(1)
	r, ok := p.selected(e)
	var pr *monitor.ProducerStats
	if ok && r.pr >= 0 {
		pr = &e.snap.Producers[r.pr]
	}
	switch {
	case ok && r.ct >= 0:
		t := &p.topics[r.ct]
		el.add(st.text, clean(t.topic)).add(st.muted, ": "+plural(int(t.producers), "producer")+" on "+sourceCell(st, clean(t.brokers), false).s)
		if t.partitions > 0 {
			el.add(st.muted, " · "+plural(t.partitions, "partition")+" (latency: the worst partition's)")
		}
		if !t.window {
			el.add(st.muted, " · rates after the second scrape")
		}
	case pr != nil && pr.LastError != "":
		el.add(st.muted, clean(pr.Name)+": ").add(st.err, clean(pr.LastError))
	case pr != nil && pr.AdHoc && pr.State != monitor.ProducerClosed:
		el.add(st.key, "x").add(st.muted, " stops "+clean(pr.Name))
	case len(p.rows) > 0 && noMetrics(&e.snap.Cluster) != "":
		el.add(st.muted, "the cluster's producers: "+noMetrics(&e.snap.Cluster))
	case !e.readOnly():
		el.add(st.key, ":producer TOPIC RATE").add(st.muted, " starts a producer of test messages")
	}
	return el.String()
}

func (p *producersPane) tile(e *env, w, h int, focused bool) string {
	return e.st.box(p.title(e), w, h, focused, e.st.renderTable(p.table(e, false), w-2, h-2))
}

// started reports the start of a producer the console asked for and, once up, selects it.
func (p *producersPane) started(e *env, msg producerDoneMsg) {
	s := msg.spec
	if msg.err != nil {
		e.setStatus(levelError, msg.err.Error()) // it names the producer and the topic
		return
	}
	e.setStatus(levelInfo, "producing to "+s.Topic+" as "+s.Name+" at "+fmtRate(s.Rate)+pick(s.Reliable, " (reliable)", "")+
		"; x on the producers pane stops it")
	p.want = s.Name
	e.post(showPaneMsg{id: paneProducers})
	e.post(pullMsg{})
}

// sync derives the rows and selects the producer the console started, once the snapshot lists it.
func (p *producersPane) sync(e *env) {
	p.derive(e)
	if p.want == "" {
		return
	}
	ps := e.snap.Producers
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i].Name == p.want {
			p.cur.id, p.want = producerID(e)(i), ""
			return
		}
	}
}
func (p *producersPane) capturing() bool { return false }
func (p *producersPane) esc() bool       { return false }

// click selects the producer under the mouse.
func (p *producersPane) click(e *env, _, y int) {
	p.derive(e)
	clickTable(&p.cur, len(p.rows), p.rowID(e), e.bodyHeight()-5, 2, y)
}

func (p *producersPane) bindings(k *KeyMap) []Binding { return []Binding{k.Producers.Stop} }
