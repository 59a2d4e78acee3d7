package tui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
)

// This file holds the console's actions on the message streams: taps (ad-hoc consumers) started and
// stopped, acks and nacks, exports, :produce, and the schema subjects the inspector shows. Each runs in a
// tea.Cmd, off the update loop, and reports back with a message; the results land in the status bar.

// Messages reporting the end of actions.
type (
	tapDoneMsg struct {
		spec   monitor.ConsumerSpec
		stream string
		err    error
	}
	stopTapDoneMsg struct {
		name string
		// the tap's topic and subscription, when it was a tap (the hint on its kept messages)
		topic, sub string
		err        error
	}
	unsubscribeDoneMsg struct {
		topic, sub string
		err        error
	}
	producerDoneMsg struct {
		spec monitor.ProducerSpec
		err  error
	}
	settleDoneMsg struct {
		verb   string // ack, nack
		stream string
		seqs   []uint64
		delay  time.Duration
		reason string
		err    error
	}
	exportDoneMsg struct {
		path string
		n    int
		err  error
	}
	produceDoneMsg struct {
		topic string
		n     int
		err   error
	}
	schemaMsg struct {
		id      uint64
		subject string
		err     error
	}
)

// nextTap returns the number of the next tap: "tap-<n>" and "console-<n>" are not taken.
func (m *Model) nextTap() int {
	n := m.taps + 1
	for ; ; n++ {
		name := "tap-" + itoa(n)
		if !slices.ContainsFunc(m.snap.Consumers, func(c monitor.ConsumerStats) bool { return c.Name == name }) {
			return n
		}
	}
}

// typeString names a tap's subscription type.
func typeString(spec monitor.ConsumerSpec) string {
	if spec.Type == monitor.SubscriptionUnknown {
		return monitor.SubscriptionShared.String()
	}
	return spec.Type.String()
}

// startTap starts a tap in a command; when it is up, the consumers pane selects its stream.
func (m *Model) startTap(spec monitor.ConsumerSpec) tea.Cmd {
	if m.refuse("starting taps") {
		return nil
	}
	if spec.Name == "" {
		spec.Name = "tap-" + itoa(m.nextTap())
	}
	if n, ok := strings.CutPrefix(spec.Name, "tap-"); ok {
		if v := atoiOr(n, 0); v > m.taps {
			m.taps = v
		}
	}
	m.setStatus(levelInfo, "starting "+spec.Name+" on "+spec.Topic+"…")
	b, ctx := m.b, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		err := b.StartConsumer(ctx, spec)
		return tapDoneMsg{spec: spec, stream: monitor.StreamID(spec.Topic, spec.Subscription, spec.Name), err: err}
	}
}

func (m *Model) tapDone(msg tapDoneMsg) {
	s := msg.spec
	if errors.Is(msg.err, monitor.ErrTopicNotFound) {
		// Consumers never create topics (producers do): say what to do instead of the client's chain.
		m.setStatus(levelError, "tap "+s.Topic+": no such topic; publish to it first (consumers never create topics)")
		return
	}
	if msg.err != nil {
		m.setStatus(levelError, "tap "+s.Topic+": "+msg.err.Error())
		return
	}
	mode := pick(s.ManualAck, "manual ack", "auto-ack")
	m.setStatus(levelInfo, "tapping "+s.Topic+" as "+s.Name+" ("+s.Subscription+", "+typeString(s)+", "+mode+")")
	p := m.consumers
	p.wantStream, p.wantName = msg.stream, s.Name
	m.showHelp = false
	m.panes[m.active].esc()
	m.active = paneConsumers
	m.pull()
}

// stopTap stops an ad-hoc consumer in a command (allowed in read-only mode: it only releases the console's
// own consumer).
func (m *Model) stopTap(name string) tea.Cmd { return m.stopAdHoc(name, false) }

// stopTapAndUnsubscribe stops a tap, then deletes its subscription (the broker refuses while the tap is
// connected), in a command.
func (m *Model) stopTapAndUnsubscribe(name string, topics []string, sub string) tea.Cmd {
	m.setStatus(levelInfo, "stopping "+name+" and deleting "+clean(sub)+"…")
	b, ctx := m.b, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		if err := b.StopConsumer(ctx, name); err != nil {
			return stopTapDoneMsg{name: name, err: err}
		}
		for _, t := range topics {
			if err := b.Unsubscribe(ctx, t, sub); err != nil {
				return unsubscribeDoneMsg{topic: t, sub: sub, err: err}
			}
		}
		return unsubscribeDoneMsg{topic: baseTopic(topics[0]), sub: sub}
	}
}

// baseTopic is the partitioned topic of a partition ("/ns/t" for "/ns/t-part-2"), else topic itself.
func baseTopic(topic string) string {
	i := strings.LastIndex(topic, "-part-")
	if i < 0 {
		return topic
	}
	if n := topic[i+len("-part-"):]; n == "" || strings.Trim(n, "0123456789") != "" {
		return topic
	}
	return topic[:i]
}

// unsubscribeCmd deletes a subscription in a command.
func (m *Model) unsubscribeCmd(topic, sub string) tea.Cmd {
	if m.refuse("deleting subscriptions") {
		return nil
	}
	m.setStatus(levelInfo, "deleting "+clean(sub)+" of "+clean(topic)+"…")
	b, ctx := m.b, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		return unsubscribeDoneMsg{topic: topic, sub: sub, err: b.Unsubscribe(ctx, topic, sub)}
	}
}

func (m *Model) unsubscribeDone(msg unsubscribeDoneMsg) {
	if msg.err != nil {
		m.setStatus(levelError, msg.err.Error())
	} else {
		m.setStatus(levelInfo, "deleted subscription "+clean(msg.sub)+" of "+clean(msg.topic))
	}
	m.pull()
}

// stopAdHoc stops an ad-hoc consumer or producer in a command (allowed in read-only mode: it only releases
// what the console itself started).
func (m *Model) stopAdHoc(name string, producer bool) tea.Cmd {
	m.setStatus(levelInfo, "stopping "+name+"…")
	var topic, sub string
	if i := slices.IndexFunc(m.snap.Consumers, func(c monitor.ConsumerStats) bool { return c.AdHoc && c.Name == name }); i >= 0 && !producer {
		topic, sub = m.snap.Consumers[i].Topic, m.snap.Consumers[i].Subscription
	}
	b, ctx := m.b, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		if producer {
			return stopTapDoneMsg{name: name, err: b.StopProducer(ctx, name)}
		}
		return stopTapDoneMsg{name: name, topic: topic, sub: sub, err: b.StopConsumer(ctx, name)}
	}
}

func (m *Model) stopTapDone(msg stopTapDoneMsg) {
	switch {
	case msg.err != nil:
		m.setStatus(levelError, "stop "+msg.name+": "+msg.err.Error())
	case msg.sub != "":
		// A subscription outlives its consumers: the broker keeps the messages for it.
		m.setStatus(levelInfo, "stopped "+msg.name+"; subscription "+clean(msg.sub)+" keeps its messages (:unsubscribe "+
			clean(baseTopic(msg.topic))+" "+clean(msg.sub)+" deletes it)")
	default:
		m.setStatus(levelInfo, "stopped "+msg.name)
	}
	m.pull()
}

// nextProducer returns the name of the next ad-hoc producer, "producer-<n>": above those this console
// started (one may not be in the snapshot yet) and not taken.
func (m *Model) nextProducer() string {
	for n := m.producersStarted + 1; ; n++ {
		name := "producer-" + itoa(n)
		if !slices.ContainsFunc(m.snap.Producers, func(p monitor.ProducerStats) bool { return p.Name == name }) {
			m.producersStarted = n
			return name
		}
	}
}

// startProducer starts an ad-hoc producer in a command; when it is up, the producers pane shows it.
func (m *Model) startProducer(spec monitor.ProducerSpec) tea.Cmd {
	if m.refuse("starting producers") {
		return nil
	}
	m.setStatus(levelInfo, "starting "+spec.Name+" on "+spec.Topic+"…")
	b, ctx := m.b, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		return producerDoneMsg{spec: spec, err: b.StartProducer(ctx, spec)}
	}
}

func (m *Model) producerDone(msg producerDoneMsg) {
	s := msg.spec
	if msg.err != nil {
		m.setStatus(levelError, "producer "+s.Name+" on "+s.Topic+": "+msg.err.Error())
		return
	}
	m.setStatus(levelInfo, "producing to "+s.Topic+" as "+s.Name+" at "+fmtRate(s.Rate)+pick(s.Reliable, " (reliable)", "")+"; x on the producers pane stops it")
	m.showHelp = false
	m.panes[m.active].esc()
	m.setPane(paneProducers)
	m.pull()
	ps := m.snap.Producers
	for i := range ps {
		if ps[i].Name == s.Name {
			m.producers.cur.id = producerID(m)(i)
		}
	}
}

// settleCmd acks or nacks messages of a stream in a command.
func (m *Model) settleCmd(verb, stream string, seqs []uint64, delay time.Duration, reason string) tea.Cmd {
	b, ctx := m.b, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		var err error
		if verb == "ack" {
			err = b.Ack(ctx, stream, seqs)
		} else {
			err = b.Nack(ctx, stream, seqs, delay, reason)
		}
		return settleDoneMsg{verb: verb, stream: stream, seqs: seqs, delay: delay, reason: reason, err: err}
	}
}

func (m *Model) settleDone(msg settleDoneMsg) {
	p := m.consumers
	if msg.err != nil {
		m.setStatus(levelError, msg.verb+": "+msg.err.Error())
	} else {
		text := msg.verb + "ed " + plural(len(msg.seqs), "message")
		if msg.verb == "nack" {
			text += " (redelivery after " + pick(msg.delay > 0, fmtDur(msg.delay), "0s") + ")"
			if msg.reason != "" {
				text += ": " + msg.reason
			}
		}
		m.setStatus(levelInfo, text)
		if p.stream == msg.stream {
			for _, s := range msg.seqs {
				delete(p.marks, s)
			}
		}
	}
	m.pull()
	if !p.follow && p.stream == msg.stream {
		if c := p.selected(m); c != nil {
			p.refreshHeld(m, c)
		}
	}
}

// exportCmd writes messages to a file in a command.
func (m *Model) exportCmd(path string, msgs []monitor.Message) tea.Cmd {
	m.setStatus(levelInfo, "exporting "+plural(len(msgs), "message")+" to "+path+"…")
	b := m.b
	return func() tea.Msg {
		n, err := b.Export(path, msgs)
		return exportDoneMsg{path: path, n: n, err: err}
	}
}

func (m *Model) exportDone(msg exportDoneMsg) {
	if msg.err != nil {
		m.setStatus(levelError, "export: "+msg.err.Error())
		return
	}
	m.setStatus(levelInfo, "exported "+plural(msg.n, "message")+" to "+msg.path)
}

// produceCmd publishes one message in a command.
func (m *Model) produceCmd(topic string, payload []byte) tea.Cmd {
	m.setStatus(levelInfo, "producing to "+topic+"…")
	b, ctx := m.b, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		return produceDoneMsg{topic: topic, n: len(payload), err: b.Produce(ctx, topic, payload)}
	}
}

func (m *Model) produceDone(msg produceDoneMsg) {
	if msg.err != nil {
		m.setStatus(levelError, "produce "+msg.topic+": "+msg.err.Error())
		return
	}
	m.setStatus(levelInfo, "produced 1 message ("+fmtBytes(float64(msg.n))+") to "+msg.topic)
}

// schemaCmd asks the backend for a schema's subject once per id (0: no schema).
func (m *Model) schemaCmd(id uint64) tea.Cmd {
	if id == 0 || m.schemaReq[id] {
		return nil
	}
	m.schemaReq[id] = true
	b, ctx := m.b, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
		defer cancel()
		s, err := b.SchemaSubject(ctx, id)
		return schemaMsg{id: id, subject: s, err: err}
	}
}

func (m *Model) schemaDone(msg schemaMsg) {
	if msg.err != nil {
		m.schemas[msg.id] = ""
		m.setStatus(levelWarn, "schema "+itoa(int(msg.id))+": "+msg.err.Error())
		return
	}
	m.schemas[msg.id] = msg.subject
}

// atoiOr parses a decimal number, or returns def.
func atoiOr(s string, def int) int {
	n := 0
	if s == "" {
		return def
	}
	for _, c := range s {
		if c < '0' || c > '9' || n > 1<<30 {
			return def
		}
		n = n*10 + int(c-'0')
	}
	return n
}
