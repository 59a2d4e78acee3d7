package tui

import (
	"context"
	"slices"
	"strconv"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
)

// producersPane lists every producer (per partition) with its rates, sparkline, totals, errors and publish
// latency. It owns the console's own producers: it starts them (:producer), names them "producer-<n>",
// stops them (x, :stop), and publishes single messages (:produce).
type producersPane struct {
	cur   cursor
	want  string // a producer to select as soon as the snapshot has it
	named int    // the highest n of the "producer-<n>" names given
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
		e.setStatus(levelError, "stop "+msg.name+": "+msg.err.Error())
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
		e.setStatus(levelError, "produce "+msg.topic+": "+msg.err.Error())
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

func (p *producersPane) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	if matches(msg, e.keys.Producers.Stop) {
		pr := selectedIn(&p.cur, e.snap.Producers, producerID(e))
		switch {
		case pr == nil:
		case !pr.AdHoc:
			e.setStatus(levelWarn, clean(pr.Name)+" was not started from the console: only those (:producer) stop here")
		case pr.State == monitor.ProducerClosed:
			e.setStatus(levelInfo, clean(pr.Name)+" is stopped already")
		default:
			return p.stop(e, pr.Name)
		}
		return nil
	}
	p.cur.move(e, msg, len(e.snap.Producers), e.bodyHeight()-5, producerID(e))
	return nil
}

func (p *producersPane) table(e *env, full bool) table {
	st := e.st
	ps := e.snap.Producers
	var cols []column
	if full {
		cols = []column{
			{title: "TOPIC", width: 14, flex: 3, cutL: true},
			{title: "NAME", width: 10, flex: 2, drop: 5},
			{title: "STATE", width: 9, drop: 9},
			{title: "MSG/S", width: 7, right: true},
			{title: "BYTES/S", width: 10, right: true, drop: 3},
			{title: "TREND", width: 12, flex: 1, drop: 4},
			{title: "MSGS", width: 7, right: true, drop: 7},
			{title: "BYTES", width: 8, right: true, drop: 8},
			{title: "ERR", width: 4, right: true, drop: 2},
			{title: "P50", width: 6, right: true, drop: 6},
			{title: "P99", width: 6, right: true, drop: 1},
		}
	} else {
		cols = []column{
			{title: "TOPIC", width: 10, flex: 2, cutL: true},
			{title: "NAME", width: 8, flex: 1, drop: 3},
			{title: "MSG/S", width: 7, right: true},
			{title: "TREND", width: 8, flex: 1, drop: 2},
			{title: "P99", width: 6, right: true, drop: 1},
		}
	}
	return table{
		cols:  cols,
		n:     len(ps),
		sel:   p.cur.index(len(ps), producerID(e)),
		focus: full,
		empty: "no producers",
		row: func(i int, c []cell) {
			pr := &ps[i]
			errP := st.text
			if pr.Errors > 0 {
				errP = st.err
			}
			if full {
				c[0] = txt(st.text, clean(pr.Topic))
				c[1] = txt(st.accent, clean(pr.Name))
				c[2] = txt(producerPaint(st, pr.State), pr.State.String())
				c[3] = txt(st.text, fmtSI(pr.MsgRate))
				c[4] = txt(st.text, fmtByteRate(pr.ByteRate))
				c[5] = spk(pr.Series)
				c[6] = txt(st.text, fmtCount(pr.Msgs))
				c[7] = txt(st.text, fmtBytes(float64(pr.Bytes)))
				c[8] = txt(errP, fmtCount(pr.Errors))
				c[9] = txt(st.text, fmtDur(pr.Publish.P50))
				c[10] = txt(st.text, fmtDur(pr.Publish.P99))
				return
			}
			c[0] = txt(st.text, clean(pr.Topic))
			c[1] = txt(st.accent, clean(pr.Name))
			c[2] = txt(st.text, fmtSI(pr.MsgRate))
			c[3] = spk(pr.Series)
			c[4] = txt(st.text, fmtDur(pr.Publish.P99))
		},
	}
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
	body := e.st.renderTable(p.table(e, true), w-2, h-4)
	for len(body) < h-4 {
		body = append(body, blank(w-2))
	}
	foot := newLine(w-2).space(1).add(st.muted, "total ").add(st.text, fmtRate(rate)).
		add(st.muted, " · ").add(st.text, fmtByteRate(brate)).
		add(st.muted, " · ").add(st.text, fmtCount(msgs)+" msgs").
		add(st.muted, " · ").add(pick(errs > 0, st.err, st.text), fmtCount(errs)+" errors")
	body = append(body, foot.String())
	// The selected producer's last error, if any, else what can be done.
	el := newLine(w - 2).space(1)
	pr := selectedIn(&p.cur, ps, producerID(e))
	switch {
	case pr != nil && pr.LastError != "":
		el.add(st.muted, clean(pr.Name)+": ").add(st.err, clean(pr.LastError))
	case pr != nil && pr.AdHoc && pr.State != monitor.ProducerClosed:
		el.add(st.key, "x").add(st.muted, " stops "+clean(pr.Name))
	case !e.readOnly():
		el.add(st.key, ":producer TOPIC RATE").add(st.muted, " starts a producer of test messages")
	}
	body = append(body, el.String())
	title := []seg{{"Producers", st.title}, {" (" + itoa(len(ps)) + ")", st.muted}}
	return e.st.box(title, w, h, true, body)
}

func (p *producersPane) tile(e *env, w, h int, focused bool) string {
	st := e.st
	var rate float64
	for i := range e.snap.Producers {
		rate += e.snap.Producers[i].MsgRate
	}
	title := []seg{{"Producers", st.title}, {" (" + itoa(len(e.snap.Producers)) + ") ", st.muted}, {fmtRate(rate), st.text}}
	return e.st.box(title, w, h, focused, e.st.renderTable(p.table(e, false), w-2, h-2))
}

// started reports the start of a producer the console asked for and, once up, selects it.
func (p *producersPane) started(e *env, msg producerDoneMsg) {
	s := msg.spec
	if msg.err != nil {
		e.setStatus(levelError, "producer "+s.Name+" on "+s.Topic+": "+msg.err.Error())
		return
	}
	e.setStatus(levelInfo, "producing to "+s.Topic+" as "+s.Name+" at "+fmtRate(s.Rate)+pick(s.Reliable, " (reliable)", "")+
		"; x on the producers pane stops it")
	p.want = s.Name
	e.post(showPaneMsg{id: paneProducers})
	e.post(pullMsg{})
}

// sync selects the producer the console started, once the snapshot lists it.
func (p *producersPane) sync(e *env) {
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
	clickTable(&p.cur, len(e.snap.Producers), producerID(e), e.bodyHeight()-5, 2, y)
}

func (p *producersPane) bindings(k *KeyMap) []Binding { return []Binding{k.Producers.Stop} }
