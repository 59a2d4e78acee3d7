package tui

import (
	"context"
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

// typeString names a tap's subscription type, as MarshalText writes it.
func typeString(spec monitor.ConsumerSpec) string {
	if spec.Type == monitor.SubscriptionUnknown {
		return monitor.SubscriptionShared.String()
	}
	return spec.Type.String()
}

// startTap starts a tap in a command; when it is up, the consumers pane selects its stream.
func (m *Model) startTap(spec monitor.ConsumerSpec) tea.Cmd {
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

// stopTap stops an ad-hoc consumer in a command (allowed in read-only mode: it only releases the console's
// own consumer).
func (m *Model) stopTap(name string) tea.Cmd {
	return m.with(func(e *env) tea.Cmd { return stopAdHocCmd(e, name, false) })
}

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

// stopAdHocCmd stops an ad-hoc consumer or producer in a command (allowed in read-only mode: it only
// releases what the console itself started).
func stopAdHocCmd(e *env, name string, producer bool) tea.Cmd {
	e.setStatus(levelInfo, "stopping "+name+"…")
	var topic, sub string
	if i := slices.IndexFunc(e.snap.Consumers, func(c monitor.ConsumerStats) bool { return c.AdHoc && c.Name == name }); i >= 0 && !producer {
		topic, sub = e.snap.Consumers[i].Topic, e.snap.Consumers[i].Subscription
	}
	taps, producers, ctx := e.taps, e.producers, e.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		if producer {
			return stopTapDoneMsg{name: name, err: producers.StopProducer(ctx, name)}
		}
		return stopTapDoneMsg{name: name, topic: topic, sub: sub, err: taps.StopConsumer(ctx, name)}
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
	m.setStatus(levelInfo, "starting "+spec.Name+" on "+spec.Topic+"…")
	b, ctx := m.b, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		return producerDoneMsg{spec: spec, err: b.StartProducer(ctx, spec)}
	}
}

// settleCmd acks or nacks messages of a stream in a command.
func settleCmd(e *env, verb, stream string, seqs []uint64, delay time.Duration, reason string) tea.Cmd {
	b, ctx := e.taps, e.ctx
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
	m.with(func(e *env) tea.Cmd { m.consumers.settled(e, msg); return nil })
	m.pull()
	m.consumers.resettled(m.env(), msg)
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
