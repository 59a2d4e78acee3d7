package tui

import (
	"strconv"

	"github.com/danube-console/danube-console/monitor"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// producersPane lists every producer (per partition) with its rates, sparkline, totals, errors and publish
// latency.
type producersPane struct {
	cur cursor
}

func producerID(m *Model) func(i int) string {
	ps := m.snap.Producers
	return func(i int) string {
		return ps[i].Topic + "\x00" + ps[i].Name + "\x00" + strconv.FormatUint(ps[i].ID, 10)
	}
}

func (p *producersPane) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	if key.Matches(msg, m.keys.Producers.Stop) {
		pr := selectedIn(&p.cur, m.snap.Producers, producerID(m))
		switch {
		case pr == nil:
		case !pr.AdHoc:
			m.setStatus(levelWarn, clean(pr.Name)+" was not started from the console: only those (:producer) stop here")
		case pr.State == monitor.ProducerClosed:
			m.setStatus(levelInfo, clean(pr.Name)+" is stopped already")
		default:
			return m.stopAdHoc(pr.Name, true)
		}
		return nil
	}
	p.cur.move(m, msg, len(m.snap.Producers), m.bodyHeight()-5, producerID(m))
	return nil
}

// producerPaint colours a producer's state.
func producerPaint(st *styles, s monitor.ProducerState) paint {
	switch s {
	case monitor.ProducerCreated, monitor.ProducerRecreated:
		return st.ok
	case monitor.ProducerFailed:
		return st.err
	case monitor.ProducerClosed:
		return st.muted
	}
	return st.info
}

// consumerPaint colours a consumer's state.
func consumerPaint(st *styles, s monitor.ConsumerState) paint {
	switch s {
	case monitor.ConsumerSubscribed, monitor.ConsumerResubscribed:
		return st.ok
	case monitor.ConsumerFailed:
		return st.err
	case monitor.ConsumerClosed, monitor.ConsumerStreamEnded:
		return st.muted
	}
	return st.info
}

func (p *producersPane) table(m *Model, full bool) table {
	st := m.st
	ps := m.snap.Producers
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
		sel:   p.cur.index(len(ps), producerID(m)),
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

func (p *producersPane) view(m *Model, w, h int) string {
	st := m.st
	ps := m.snap.Producers
	var rate, brate float64
	var msgs, errs uint64
	for i := range ps {
		rate += ps[i].MsgRate
		brate += ps[i].ByteRate
		msgs += ps[i].Msgs
		errs += ps[i].Errors
	}
	body := m.renderTable(p.table(m, true), w-2, h-4)
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
	pr := selectedIn(&p.cur, ps, producerID(m))
	switch {
	case pr != nil && pr.LastError != "":
		el.add(st.muted, clean(pr.Name)+": ").add(st.err, clean(pr.LastError))
	case pr != nil && pr.AdHoc && pr.State != monitor.ProducerClosed:
		el.add(st.key, "x").add(st.muted, " stops "+clean(pr.Name))
	case !m.readOnly():
		el.add(st.key, ":producer TOPIC RATE").add(st.muted, " starts a producer of test messages")
	}
	body = append(body, el.String())
	title := []seg{{"Producers", st.title}, {" (" + itoa(len(ps)) + ")", st.muted}}
	return m.box(title, w, h, true, body)
}

func (p *producersPane) tile(m *Model, w, h int, focused bool) string {
	st := m.st
	var rate float64
	for i := range m.snap.Producers {
		rate += m.snap.Producers[i].MsgRate
	}
	title := []seg{{"Producers", st.title}, {" (" + itoa(len(m.snap.Producers)) + ") ", st.muted}, {fmtRate(rate), st.text}}
	return m.box(title, w, h, focused, m.renderTable(p.table(m, false), w-2, h-2))
}

func (p *producersPane) capturing() bool { return false }
func (p *producersPane) esc() bool       { return false }

// click selects the producer under the mouse.
func (p *producersPane) click(m *Model, _, y int) {
	clickTable(&p.cur, len(m.snap.Producers), producerID(m), m.bodyHeight()-5, 2, y)
}
