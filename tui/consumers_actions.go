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

// This file holds the consumers pane's actions: taps (ad-hoc consumers) started and stopped, subscriptions
// deleted, acks and nacks, exports, and the requests of the command line that act on the stream (:consume,
// :stop, :unsubscribe, :filter, :export, :replay). Each action runs in a tea.Cmd, off the update loop, and
// reports back with a message the pane handles; the results land in the status bar. The pane names the
// taps it starts (taps_safe.go).

// Requests the consumers pane serves: other components and the command line post them, the root routes
// them here.
type (
	// openTapFormMsg opens the tap form on a topic (may be empty).
	openTapFormMsg struct{ topic string }
	// startTapMsg starts a tap. An empty Name is "<prefix>-tap-<n>" (the next number free), an empty
	// Subscription "<prefix>" or "<prefix>-<k>" (see tapSub); once up, the pane selects its stream. A
	// subscription named that the console did not create is checked first (tapCheckMsg): the tap starts
	// with checked set, absent when the subscription did not exist (the tap creates it).
	startTapMsg struct {
		spec            monitor.ConsumerSpec
		checked, absent bool
	}
	// stopTapMsg stops a tap, the selected one when name is empty (usage is the command's error when there
	// is none), and with unsubscribe deletes its subscription too.
	stopTapMsg struct {
		name        string
		unsubscribe bool
		usage       error
		confirmed   bool // the user said yes to deleting the subscription
	}
	// unsubscribeMsg deletes a subscription, once the user said yes (confirmed) to the question it asks.
	unsubscribeMsg struct {
		topic, sub string
		confirmed  bool
	}
	// settleMsg acks (verb "ack") or nacks ("nack", after delay, with reason) messages of a stream.
	settleMsg struct {
		verb   string
		stream string
		seqs   []uint64
		delay  time.Duration
		reason string
	}
	// filterMsg applies a filter line to the stream (empty: clears it).
	filterMsg struct{ line string }
	// exportMsg writes the stream's messages to path as JSON lines: those the filter matches, the marked
	// ones, or by default the marked or selected ones, else the filtered.
	exportMsg struct {
		path             string
		filtered, marked bool
	}
	// replayMsg opens the review of a replay of the stream's messages (the filtered ones, else the marked
	// or selected ones); topic pre-fills the target.
	replayMsg struct {
		topic    string
		filtered bool
	}
)

// Messages reporting the end of the pane's actions.
type (
	tapDoneMsg struct {
		spec    monitor.ConsumerSpec
		stream  string
		created bool   // the subscription did not exist before the tap
		cluster string // the cluster the tap was started on
		err     error
	}
	tapStoppedMsg struct {
		name string
		// the tap's topic and subscription (the hint on its kept messages)
		topic, sub string
		err        error
	}
	unsubscribeDoneMsg struct {
		topic, sub string
		cluster    string // the cluster it was deleted on
		err        error
	}
	settleDoneMsg struct {
		settleMsg
		pending []uint64 // the seqs that were pending when the call began
		cluster string   // the cluster the messages were settled on
		err     error
	}
	// resettleMsg re-reads the states of the held rows after an ack or nack, once the snapshot is fresh.
	resettleMsg   struct{ settleDoneMsg }
	exportDoneMsg struct {
		path    string
		n       int
		err     error
		stream  string   // the stream the messages are of
		seqs    []uint64 // the messages exported
		cluster string   // the cluster the stream was on
	}
	schemaMsg struct {
		id      uint64
		subject string
		err     error
	}
)

// update handles the requests the pane serves and the results of its actions.
func (p *consumersPane) update(e *env, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case openTapFormMsg:
		return p.openTapForm(e, msg.topic)
	case startTapMsg:
		return p.startTap(e, msg)
	case tapCheckMsg:
		return p.existingChecked(e, msg)
	case tapDoneMsg:
		p.tapStarted(e, msg)
	case stopTapMsg:
		return p.stopCommand(e, msg)
	case tapStoppedMsg:
		p.tapStopped(e, msg)
	case unsubscribeMsg:
		if !msg.confirmed {
			msg.confirmed = true
			e.post(openModalMsg{m: newConfirm("Delete subscription "+clean(msg.sub)+" of "+clean(msg.topic)+"?",
				p.unsubscribeLines(e, msg.topic, msg.sub), changesUnsub, msg)})
			return nil
		}
		return p.unsubscribe(e, msg.topic, msg.sub)
	case unsubscribeDoneMsg:
		p.unsubscribed(e, msg)
	case settleMsg:
		return p.settle(e, msg)
	case settleDoneMsg:
		p.settled(e, msg)
		e.post(pullMsg{})
		e.post(resettleMsg{msg})
	case resettleMsg:
		p.resettled(e, msg.settleDoneMsg)
	case filterMsg:
		if err := p.setFilter(e, msg.line); err != nil {
			e.post(cmdFailMsg{err: err})
			return nil
		}
		e.post(showPaneMsg{id: paneConsumers, stay: true})
	case exportMsg:
		return p.export(e, msg)
	case exportDoneMsg:
		p.exported(e, msg)
	case replayMsg:
		return p.replayCommand(e, msg)
	case replayStartedMsg, replayProgressMsg, replayDoneMsg:
		return p.replay.update(e, msg)
	case quitDeleteMsg:
		return p.deleteCreated(e, msg.subs)
	case quitDeletedMsg:
		p.quitDeleted(e, msg)
	case schemaMsg:
		p.schemaDone(e, msg)
	}
	return nil
}

// ---- taps ----

// nextTap returns the number of the next tap: "<prefix>-tap-<n>" is above those the pane started (one may
// not be in the snapshot yet) and not taken.
func (p *consumersPane) nextTap(snap *monitor.Snapshot) int {
	for n := p.lastTap + 1; ; n++ {
		name := p.tapName(n)
		if !slices.ContainsFunc(snap.Consumers, func(c monitor.ConsumerStats) bool { return c.Name == name }) {
			return n
		}
	}
}

// openTapForm opens the tap form on a topic (may be empty), with the next tap's name.
func (p *consumersPane) openTapForm(e *env, topic string) tea.Cmd {
	f, cmd := newTapForm(e.theme, topic, p.tapName(p.nextTap(e.snap)), p.prefix)
	e.post(openModalMsg{m: f})
	return tea.Batch(cmd, f.describe(e))
}

// typeString names a tap's subscription type, as MarshalText writes it.
func typeString(spec monitor.ConsumerSpec) string {
	if spec.Type == monitor.SubscriptionUnknown {
		return monitor.SubscriptionShared.String()
	}
	return spec.Type.String()
}

// startTap starts a tap in a command; when it is up, the pane selects its stream. A subscription named
// that the console did not create is checked first (whether it exists, its type), unless r.checked.
func (p *consumersPane) startTap(e *env, r startTapMsg) tea.Cmd {
	spec := r.spec
	if spec.Name == "" {
		spec.Name = p.tapName(p.nextTap(e.snap))
	}
	created := false
	switch {
	case spec.Subscription == "":
		spec.Subscription, created = p.tapSub(e.snap, spec.Topic), true
	case p.created[subKey(spec.Topic, spec.Subscription)]:
	case !r.checked:
		return p.checkExisting(e, spec)
	default:
		created = r.absent
	}
	if n, ok := strings.CutPrefix(spec.Name, p.prefix+"-tap-"); ok {
		if v := atoiOr(n, 0); v > p.lastTap {
			p.lastTap = v
		}
	}
	if created {
		p.created[subKey(spec.Topic, spec.Subscription)] = true // taken: the next tap's is another
	}
	e.setStatus(levelInfo, "starting "+spec.Name+" on "+spec.Topic+"…")
	b, ctx, cluster := e.taps, e.ctx, e.clusterName
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		err := b.StartConsumer(ctx, spec)
		return tapDoneMsg{spec: spec, stream: monitor.StreamID(spec.Topic, spec.Subscription, spec.Name), created: created, cluster: cluster, err: err}
	}
}

// tapStarted reports the start of a tap the console asked for and, once up, shows it in the stream. A tap
// asked for on the cluster the console has left since (:cluster) is not this cluster's: it is only said.
func (p *consumersPane) tapStarted(e *env, msg tapDoneMsg) {
	s := msg.spec
	if msg.cluster != e.clusterName {
		e.setStatus(levelWarn, "tap "+s.Name+" on "+s.Topic+" was asked for on cluster "+pick(msg.cluster != "", msg.cluster, "left")+
			" before the switch: it is not on "+e.clusterName)
		return
	}
	if msg.err != nil && msg.created {
		delete(p.created, subKey(s.Topic, s.Subscription)) // nothing was created
	}
	if errors.Is(msg.err, monitor.ErrTopicNotFound) {
		// Consumers never create topics (producers do): say what to do instead of the client's chain.
		e.setStatus(levelError, "tap "+s.Topic+": no such topic; publish to it first (consumers never create topics)")
		return
	}
	if msg.err != nil {
		e.setStatus(levelError, msg.err.Error()) // it names the subscription and the topic
		return
	}
	mode := pick(s.ManualAck, "manual ack", "auto-ack")
	e.setStatus(levelInfo, "tapping "+s.Topic+" as "+s.Name+" ("+s.Subscription+", "+typeString(s)+", "+mode+")")
	p.want(msg.stream, s.Name)
	e.post(showPaneMsg{id: paneConsumers, fresh: true})
}

// stopCommand serves :stop for a tap: the one named, else the selected one; with unsubscribe, each of its
// partitions' subscriptions goes too.
func (p *consumersPane) stopCommand(e *env, msg stopTapMsg) tea.Cmd {
	name := msg.name
	if name == "" {
		c := p.selected(e)
		if c == nil || !c.AdHoc {
			if msg.usage != nil {
				e.post(cmdFailMsg{err: msg.usage})
			}
			return nil
		}
		name = c.Name
	}
	if !msg.unsubscribe {
		return p.stopTap(e, name)
	}
	// A tap on a partitioned topic has a row per partition: each partition's subscription goes.
	var topics []string
	sub := ""
	for _, c := range e.snap.Consumers {
		if c.AdHoc && c.Name == name && !slices.Contains(topics, c.Topic) {
			topics, sub = append(topics, c.Topic), c.Subscription
		}
	}
	if len(topics) == 0 {
		e.post(cmdFailMsg{err: errors.New("no tap " + name)})
		return nil
	}
	if !msg.confirmed {
		msg.name, msg.confirmed = name, true
		lines := append([]string{"Tap " + clean(name) + " stops."}, p.unsubscribeLines(e, baseTopic(topics[0]), sub)...)
		e.post(openModalMsg{m: newConfirm("Stop "+clean(name)+" and delete subscription "+clean(sub)+"?", lines, changesUnsub, msg)})
		return nil
	}
	return p.stopTapAndUnsubscribe(e, name, topics, sub)
}

// unsubscribeLines say what deleting subscription sub of topic does: whose it is, who is on it, and that the
// messages the broker kept for it go.
func (p *consumersPane) unsubscribeLines(e *env, topic, sub string) []string {
	whose := "This console did not create it: other programs may rely on it."
	if p.created[subKey(topic, sub)] {
		whose = "This console's tap created it."
	}
	var consumers, lag int64
	for _, r := range e.snap.Cluster.Subscriptions {
		if r.Subscription == sub && baseTopic(r.Topic) == topic {
			consumers, lag = consumers+r.Consumers, lag+r.Lag
		}
	}
	lines := []string{whose,
		"The broker deletes it with the messages it keeps for it" + pick(lag > 0, " ("+fmtInt(lag)+" not yet acknowledged)", "") + "."}
	if consumers > 0 {
		lines = append(lines, "It has "+plural(int(consumers), "consumer")+": the broker refuses while one is connected.")
	}
	return lines
}

// stopTap stops a tap in a command (allowed in read-only mode: it only releases the console's own
// consumer).
func (p *consumersPane) stopTap(e *env, name string) tea.Cmd {
	e.setStatus(levelInfo, "stopping "+name+"…")
	var topic, sub string
	if i := slices.IndexFunc(e.snap.Consumers, func(c monitor.ConsumerStats) bool { return c.AdHoc && c.Name == name }); i >= 0 {
		topic, sub = e.snap.Consumers[i].Topic, e.snap.Consumers[i].Subscription
	}
	b, ctx := e.taps, e.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		return tapStoppedMsg{name: name, topic: topic, sub: sub, err: b.StopConsumer(ctx, name)}
	}
}

// tapStopped reports the end of a tap: its subscription outlives it.
func (p *consumersPane) tapStopped(e *env, msg tapStoppedMsg) {
	switch {
	case msg.err != nil:
		e.setStatus(levelError, msg.err.Error()) // it names the tap
	case msg.sub != "" && p.created[subKey(msg.topic, msg.sub)]:
		// A subscription outlives its consumers: the broker keeps the messages for it.
		e.setStatus(levelInfo, "stopped "+msg.name+"; subscription "+clean(msg.sub)+" keeps its messages (:unsubscribe "+
			clean(baseTopic(msg.topic))+" "+clean(msg.sub)+" deletes it)")
	case msg.sub != "":
		// Not the console's: others may rely on it, so deleting it is never suggested.
		e.setStatus(levelInfo, "stopped "+msg.name+"; subscription "+clean(msg.sub)+" was there before the tap: left as it was")
	default:
		e.setStatus(levelInfo, "stopped "+msg.name)
	}
	e.post(pullMsg{})
}

// stopTapAndUnsubscribe stops a tap, then deletes its subscription on each of topics (the broker refuses
// while the tap is connected), in a command.
func (p *consumersPane) stopTapAndUnsubscribe(e *env, name string, topics []string, sub string) tea.Cmd {
	e.setStatus(levelInfo, "stopping "+name+" and deleting "+clean(sub)+"…")
	taps, admin, ctx, cluster := e.taps, e.admin, e.ctx, e.clusterName
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		if err := taps.StopConsumer(ctx, name); err != nil {
			return tapStoppedMsg{name: name, err: err}
		}
		for _, t := range topics {
			if err := admin.Unsubscribe(ctx, t, sub); err != nil {
				return unsubscribeDoneMsg{topic: t, sub: sub, cluster: cluster, err: err}
			}
		}
		return unsubscribeDoneMsg{topic: baseTopic(topics[0]), sub: sub, cluster: cluster}
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

// unsubscribe deletes a subscription in a command.
func (p *consumersPane) unsubscribe(e *env, topic, sub string) tea.Cmd {
	e.setStatus(levelInfo, "deleting "+clean(sub)+" of "+clean(topic)+"…")
	b, ctx, cluster := e.admin, e.ctx, e.clusterName
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		return unsubscribeDoneMsg{topic: topic, sub: sub, cluster: cluster, err: b.Unsubscribe(ctx, topic, sub)}
	}
}

// unsubscribed reports a deletion and forgets the subscription as the console's own; one that ends after
// :cluster switched names the cluster it was on, whose subscriptions the pane no longer holds.
func (p *consumersPane) unsubscribed(e *env, msg unsubscribeDoneMsg) {
	switch {
	case msg.cluster != e.clusterName && msg.err != nil:
		e.setStatus(levelError, "on cluster "+msg.cluster+": "+msg.err.Error())
	case msg.cluster != e.clusterName:
		e.setStatus(levelInfo, "deleted subscription "+clean(msg.sub)+" of "+clean(msg.topic)+" on cluster "+msg.cluster)
	case msg.err != nil:
		e.setStatus(levelError, msg.err.Error())
	default:
		delete(p.created, subKey(msg.topic, msg.sub))
		e.setStatus(levelInfo, "deleted subscription "+clean(msg.sub)+" of "+clean(msg.topic))
	}
	e.post(pullMsg{})
}

// ---- acks and nacks ----

// settleTargets returns the seqs a or n applies to (the marked ones, else the selected one), or explains in
// the status bar why there are none. only, when set, is the one message to settle (from the inspector).
func (p *consumersPane) settleTargets(e *env, c *monitor.ConsumerStats, verb string, only *monitor.Message) []uint64 {
	if c == nil {
		return nil
	}
	if !c.ManualAck {
		e.setStatus(levelWarn, clean(c.Name)+" acks automatically: "+verb+" works on manual-ack taps (:consume TOPIC --manual)")
		return nil
	}
	if only != nil {
		return []uint64{only.Seq}
	}
	if len(p.marks) > 0 {
		return p.markedSeqs()
	}
	if p.sel != 0 && p.focus {
		return []uint64{p.sel}
	}
	e.setStatus(levelWarn, "nothing to "+verb+": select a message (enter focuses the stream) or mark some with space")
	return nil
}

// ack acks the marked messages, else the selected one (or only).
func (p *consumersPane) ack(e *env, c *monitor.ConsumerStats, only *monitor.Message) tea.Cmd {
	seqs := p.settleTargets(e, c, "ack", only)
	if len(seqs) == 0 {
		return nil
	}
	e.setStatus(levelInfo, "acking "+plural(len(seqs), "message")+"…")
	return p.settle(e, settleMsg{verb: "ack", stream: p.stream, seqs: seqs})
}

// nack opens the nack prompt for the marked messages, else the selected one (or only).
func (p *consumersPane) nack(e *env, c *monitor.ConsumerStats, only *monitor.Message) tea.Cmd {
	seqs := p.settleTargets(e, c, "nack", only)
	if len(seqs) == 0 {
		return nil
	}
	np, cmd := newNackPrompt(e.theme, p.stream, c.Topic, c.Subscription, seqs)
	e.post(openModalMsg{m: np})
	return tea.Batch(cmd, np.describe(e))
}

// settle acks or nacks messages of a stream in a command.
func (p *consumersPane) settle(e *env, r settleMsg) tea.Cmd {
	b, ctx, cluster := e.taps, e.ctx, e.clusterName
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		var was []uint64 // pending before the call: on an error, those settled now are the call's
		for _, s := range r.seqs {
			if m, ok := b.Message(r.stream, s); ok && m.State == monitor.StatePending {
				was = append(was, s)
			}
		}
		var err error
		if r.verb == "ack" {
			err = b.Ack(ctx, r.stream, r.seqs)
		} else {
			err = b.Nack(ctx, r.stream, r.seqs, r.delay, r.reason)
		}
		return settleDoneMsg{settleMsg: r, pending: was, cluster: cluster, err: err}
	}
}

// settled reports an ack or nack in the status bar and unmarks what it settled: on an error, the messages
// that were pending before it and are settled now (the monitor settles those it can when some are not).
// One that ends after :cluster switched is only said: the stream and its marks were the previous cluster's.
func (p *consumersPane) settled(e *env, msg settleDoneMsg) {
	if msg.cluster != e.clusterName {
		text, lv := msg.verb+"ed "+plural(len(msg.seqs), "message"), levelInfo
		if msg.err != nil {
			text, lv = msg.err.Error(), levelError
		}
		e.setStatus(lv, "on cluster "+pick(msg.cluster != "", msg.cluster, "left")+" before the switch: "+text)
		return
	}
	marks := p.marks // the marks of the stream acked, which may be kept aside by now
	if p.stream != msg.stream {
		marks = p.kept[msg.stream].marks
	}
	if msg.err != nil {
		want := pick(msg.verb == "ack", monitor.StateAcked, monitor.StateNacked)
		done := 0
		for _, s := range msg.pending {
			if m, ok := e.taps.Message(msg.stream, s); ok && m.State == want {
				done++
				delete(marks, s)
			}
		}
		text := msg.err.Error() // it names the action, the topic and the offsets
		if done > 0 {
			text = msg.verb + "ed " + itoa(done) + " of " + plural(len(msg.seqs), "message") + "; " + text
		}
		e.setStatus(levelError, text)
		return
	}
	text := msg.verb + "ed " + plural(len(msg.seqs), "message")
	if msg.verb == "nack" {
		text += " (redelivery after " + pick(msg.delay > 0, fmtDur(msg.delay), "0s") + ")"
		if msg.reason != "" {
			text += ": " + msg.reason
		}
	}
	e.setStatus(levelInfo, text)
	for _, s := range msg.seqs {
		delete(marks, s)
	}
}

// resettled re-reads the states of the held rows after an ack or nack (once the snapshot is fresh).
func (p *consumersPane) resettled(e *env, msg settleDoneMsg) {
	if !p.follow && p.stream == msg.stream {
		if c := p.selected(e); c != nil {
			p.refreshHeld(e, c, p.streamRows(e))
		}
	}
}

// ---- exports and replays of the stream ----

// streamOrFail makes sure a stream is selected (pulling it if need be), else fails the command.
func (p *consumersPane) streamOrFail(e *env) bool {
	if p.stream == "" {
		p.pull(e)
	}
	if p.stream == "" {
		e.post(cmdFailMsg{err: errors.New("no stream: select a consumer on the consumers pane (4)")})
		return false
	}
	return true
}

// export writes the stream's messages to a file in a command.
func (p *consumersPane) export(e *env, r exportMsg) tea.Cmd {
	if !p.streamOrFail(e) {
		return nil
	}
	var msgs []monitor.Message
	switch {
	case r.filtered:
		msgs = p.filtered(e)
	case r.marked:
		if len(p.marks) == 0 {
			e.post(cmdFailMsg{err: errors.New("no marked messages (space marks them in the stream)")})
			return nil
		}
		msgs, _ = p.targets(e)
	default:
		if msgs, _ = p.targets(e); len(msgs) == 0 {
			msgs = p.filtered(e)
		}
	}
	if len(msgs) == 0 {
		e.post(cmdFailMsg{err: errors.New("nothing to export")})
		return nil
	}
	e.setStatus(levelInfo, "exporting "+plural(len(msgs), "message")+" to "+r.path+"…")
	seqs := make([]uint64, len(msgs))
	for i, m := range msgs {
		seqs[i] = m.Seq
	}
	b, path, stream, cluster := e.taps, r.path, p.stream, e.clusterName
	return func() tea.Msg {
		n, err := b.Export(path, msgs)
		return exportDoneMsg{path: path, n: n, err: err, stream: stream, seqs: seqs, cluster: cluster}
	}
}

// exported reports an export; its messages' marks count as saved, unless the export ends after :cluster
// switched (the stream was the previous cluster's).
func (p *consumersPane) exported(e *env, msg exportDoneMsg) {
	if msg.err != nil {
		e.setStatus(levelError, msg.err.Error()) // it names the export and the file
		return
	}
	if msg.cluster != e.clusterName {
		e.setStatus(levelInfo, "exported "+plural(msg.n, "message")+" of cluster "+pick(msg.cluster != "", msg.cluster, "left")+" to "+msg.path)
		return
	}
	for _, s := range msg.seqs {
		p.saved[exportKey(msg.stream, s)] = true // their marks are saved: quitting does not ask for them
	}
	e.setStatus(levelInfo, "exported "+plural(msg.n, "message")+" to "+msg.path)
}

// replayCommand serves :replay: it shows the pane and opens the review.
func (p *consumersPane) replayCommand(e *env, r replayMsg) tea.Cmd {
	if !p.streamOrFail(e) {
		return nil
	}
	var msgs []monitor.Message
	what := "filtered"
	if r.filtered {
		msgs = p.filtered(e)
	} else {
		msgs, what = p.targets(e)
	}
	if len(msgs) == 0 {
		e.post(cmdFailMsg{err: errors.New("nothing to replay: select or mark messages, or use --filtered")})
		return nil
	}
	e.post(showPaneMsg{id: paneConsumers, stay: true})
	return p.replay.open(e, msgs, what, r.topic)
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
