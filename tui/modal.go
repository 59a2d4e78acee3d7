package tui

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
)

// This file holds the modals (a form, a prompt or a review drawn over the focused pane that takes every
// key until it closes) and the two small ones: the tap form and the nack prompt. The replay review is in
// replay.go.

// modal is a dialog over the panes. Only one is open at a time (the root keeps it): the component it serves
// opens it by posting openModalMsg; it closes itself by posting closeModalMsg, and starts what it confirms
// with a request to that component.
type modal interface {
	// key handles a key press.
	key(e *env, msg tea.KeyPressMsg) tea.Cmd
	// input passes any other message to the modal's text inputs.
	input(msg tea.Msg) tea.Cmd
	// sync gives the text inputs the widths they are drawn at, for their scrolling.
	sync(e *env)
	// view draws the dialog box, at most w×h cells (it is centred over the pane). It is pure.
	view(e *env, w, h int) string
	// restyle applies a new theme to the text inputs.
	restyle(t *themes.Theme)
	// confirming returns the state-changing action a key press would carry out (the read-only refusal's
	// words, as Binding.Changes), or "": the router refuses it in read-only mode, which can turn on while
	// the modal is open (the backend's snapshot says so).
	confirming(k *KeyMap, msg tea.KeyPressMsg) string
}

// newInput returns a text input in the console's style.
func newInput(t *themes.Theme, prompt, placeholder string) textinput.Model {
	in := textinput.New()
	in.Prompt = prompt
	in.Placeholder = placeholder
	in.CharLimit = 1024
	styleInput(&in, t)
	return in
}

// formNav handles the keys every form and prompt shares: esc closes it, enter submits it, tab and shift+tab
// move the focus among its n fields, after which refocus gives the focused field its cursor. It reports
// whether msg was one of them.
func formNav(e *env, msg tea.KeyPressMsg, focus *int, n int, submit, refocus func() tea.Cmd) (tea.Cmd, bool) {
	k := e.keys.Prompt
	switch {
	case matches(msg, k.Cancel):
		e.post(closeModalMsg{})
		return nil, true
	case matches(msg, k.Submit):
		return submit(), true
	case matches(msg, k.NextItem):
		*focus = (*focus + 1) % n
		return refocus(), true
	case matches(msg, k.PrevItem):
		*focus = (*focus + n - 1) % n
		return refocus(), true
	}
	return nil, false
}

// styleInput applies a theme to a text input: no colour literals, no blinking cursor (that would send a
// message every half second).
func styleInput(in *textinput.Model, t *themes.Theme) {
	s := textinput.DefaultStyles(t.Dark)
	fg := func(r themes.Role) lipgloss.Style { return lipgloss.NewStyle().Foreground(t.Color(r)) }
	s.Focused = textinput.StyleState{Text: fg(themes.Foreground), Placeholder: fg(themes.Muted),
		Suggestion: fg(themes.Muted), Prompt: fg(themes.Key).Bold(true)}
	s.Blurred = textinput.StyleState{Text: fg(themes.Foreground), Placeholder: fg(themes.Muted),
		Suggestion: fg(themes.Muted), Prompt: fg(themes.Muted)}
	s.Cursor.Color = t.Color(themes.Accent)
	s.Cursor.Blink = false
	in.SetStyles(s)
}

// setInputWidth gives a text input the width it has on a line of w cells.
func setInputWidth(in *textinput.Model, w int) { in.SetWidth(max(1, w-textWidth(in.Prompt)-1)) }

// inputLine draws a text input in exactly w cells. It draws a copy: the input's own width is set by the
// owner's sync (setInputWidth), for its scrolling.
func inputLine(in textinput.Model, w int) string {
	setInputWidth(&in, w)
	return padANSI(in.View(), w)
}

// overlay draws box (lines of equal width) centred over base (h lines of w cells).
func overlay(base, box string, w, h int) string {
	bl := strings.Split(box, "\n")
	bw := 0
	for _, l := range bl {
		bw = max(bw, ansi.StringWidth(l))
	}
	bw = min(bw, w)
	lines := strings.Split(base, "\n")
	top := max(0, (h-len(bl))/2)
	left := max(0, (w-bw)/2)
	const reset = "\x1b[m"
	for i, l := range bl {
		y := top + i
		if y >= len(lines) {
			break
		}
		b := lines[y]
		lines[y] = padANSI(ansi.Truncate(b, left, ""), left) + reset + padANSI(l, bw) + reset +
			padANSI(ansi.TruncateLeft(b, left+bw, ""), w-left-bw)
	}
	return strings.Join(lines, "\n")
}

// dialog draws a modal's box: body lines fitted to the box, which is bw wide (capped to w) and as high
// as its body (capped to h).
func (st *styles) dialog(title []seg, bw, w, h int, body []string) string {
	bw = max(10, min(bw, w))
	for i := range body {
		body[i] = padANSI(body[i], bw-2)
	}
	return st.box(title, bw, min(len(body)+2, h), true, body)
}

// hintLine draws "key desc  key desc" pairs, muted, with one leading blank.
func (st *styles) hintLine(w int, pairs ...string) string {
	l := newLine(w).space(1)
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			l.space(2)
		}
		l.add(st.key, pairs[i]).add(st.muted, " "+pairs[i+1])
	}
	return l.String()
}

// ---- the tap form ----

// subTypes are the names of the subscription types a tap can use, in the form's order.
var subTypes = []string{
	monitor.SubscriptionExclusive.String(), monitor.SubscriptionShared.String(),
	monitor.SubscriptionFailover.String(), monitor.SubscriptionKeyShared.String(),
}

// parseSubType parses a subscription type name (monitor.ParseSubscriptionType); false when unknown.
func parseSubType(s string) (monitor.SubscriptionType, bool) {
	t, err := monitor.ParseSubscriptionType(s)
	return t, err == nil
}

// tapForm asks for a tap's topic, subscription, type and ack mode. The type defaults to the subscription's
// when the one typed exists (as the snapshot's consumers or a description of the topic say), until the user
// chooses one; a subscription whose type is unknown is tapped with its own type (the check before the tap
// reads it), a new one as shared.
type tapForm struct {
	topic, sub textinput.Model
	typ        int // index in subTypes
	typSet     bool
	typFrom    string // where the type shown comes from ("" the default, shared)
	manual     bool
	focus      int // 0 topic, 1 subscription, 2 type, 3 manual
	name       string
	err        string
	// described holds the subscriptions of the topics described, by topic (the form describes the topic
	// typed when the focus leaves it).
	described map[string][]monitor.SubscriptionDetail
}

// tapDescribedMsg is the description of a topic the tap form asked for, to default the type.
type tapDescribedMsg struct {
	topic string
	subs  []monitor.SubscriptionDetail
}

const tapFields = 4

// newTapForm returns the tap form on a topic (may be empty) for the tap called name, and the command that
// focuses its first field to fill. The subscription is empty: the console's own (named from prefix, see
// tapSub), unless the user names one.
func newTapForm(t *themes.Theme, topic, name, prefix string) (*tapForm, tea.Cmd) {
	f := &tapForm{typ: 1, name: name, described: map[string][]monitor.SubscriptionDetail{}}
	f.topic = newInput(t, "", "/namespace/topic")
	f.topic.SetValue(topic)
	f.topic.CursorEnd()
	f.sub = newInput(t, "", "this console's own ("+prefix+")")
	if topic != "" {
		f.focus = 1
	}
	return f, f.focusField()
}

func (f *tapForm) confirming(k *KeyMap, msg tea.KeyPressMsg) string {
	return pick(matches(msg, k.Prompt.Submit), changesTaps, "")
}

// inputWidth is the width of the form's text inputs in a dialog over a body w cells wide.
func tapInputWidth(w int) int {
	iw := min(w-4, 72) - 2
	return iw - min(17, max(0, iw)) // the labels take 17 cells
}

func (f *tapForm) sync(e *env) {
	setInputWidth(&f.topic, tapInputWidth(e.w))
	setInputWidth(&f.sub, tapInputWidth(e.w))
	f.defaultType(e.snap)
}

// defaultType shows the type of the subscription typed when it exists and the user chose none: the one the
// snapshot's consumers of it have, else the topic's description's; else shared.
func (f *tapForm) defaultType(snap *monitor.Snapshot) {
	if f.typSet {
		return
	}
	f.typ, f.typFrom = 1, ""
	topic, sub := baseTopic(strings.TrimSpace(f.topic.Value())), strings.TrimSpace(f.sub.Value())
	if sub == "" {
		return
	}
	typ := monitor.SubscriptionUnknown
	for _, c := range snap.Consumers {
		if baseTopic(c.Topic) == topic && c.Subscription == sub && c.Type != monitor.SubscriptionUnknown {
			typ = c.Type
			break
		}
	}
	if typ == monitor.SubscriptionUnknown {
		if i := slices.IndexFunc(f.described[topic], func(s monitor.SubscriptionDetail) bool { return s.Name == sub }); i >= 0 {
			typ = f.described[topic][i].Type
		}
	}
	if i := slices.Index(subTypes, typ.String()); typ != monitor.SubscriptionUnknown && i >= 0 {
		f.typ, f.typFrom = i, "the subscription's type"
	}
}

// describe describes the topic typed in a command, once per topic, to default the type.
func (f *tapForm) describe(e *env) tea.Cmd {
	topic := baseTopic(strings.TrimSpace(f.topic.Value()))
	if _, ok := f.described[topic]; ok || e.cluster == nil || checkTopic(topic) != "" {
		return nil
	}
	f.described[topic] = nil // asked
	b, ctx := e.cluster, e.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
		defer cancel()
		d, err := b.DescribeTopic(ctx, topic)
		if err != nil {
			return nil // the check before the tap describes it again, and says what failed
		}
		return tapDescribedMsg{topic: topic, subs: d.Subs}
	}
}

func (f *tapForm) focusField() tea.Cmd {
	f.topic.Blur()
	f.sub.Blur()
	switch f.focus {
	case 0:
		return f.topic.Focus()
	case 1:
		return f.sub.Focus()
	}
	return nil
}

func (f *tapForm) restyle(t *themes.Theme) {
	styleInput(&f.topic, t)
	styleInput(&f.sub, t)
}

func (f *tapForm) input(msg tea.Msg) tea.Cmd {
	if d, ok := msg.(tapDescribedMsg); ok {
		f.described[d.topic] = d.subs
		return nil
	}
	var cmd tea.Cmd
	switch f.focus {
	case 0:
		f.topic, cmd = f.topic.Update(msg)
	case 1:
		f.sub, cmd = f.sub.Update(msg)
	}
	return cmd
}

func (f *tapForm) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	from := f.focus
	if cmd, ok := formNav(e, msg, &f.focus, tapFields, func() tea.Cmd { return f.submit(e) }, f.focusField); ok {
		if from == 0 && f.focus != 0 {
			return tea.Batch(cmd, f.describe(e))
		}
		return cmd
	}
	s := msg.String()
	switch f.focus {
	case 2:
		switch s {
		case "left", "h":
			f.typ, f.typSet = (f.typ+len(subTypes)-1)%len(subTypes), true
		case "right", "l", "space":
			f.typ, f.typSet = (f.typ+1)%len(subTypes), true
		}
		return nil
	case 3:
		switch s {
		case "left", "right", "h", "l", "space":
			f.manual = !f.manual
		case "y":
			f.manual = true
		case "n":
			f.manual = false
		}
		return nil
	}
	f.err = ""
	return f.input(msg)
}

func (f *tapForm) submit(e *env) tea.Cmd {
	topic := strings.TrimSpace(f.topic.Value())
	sub := strings.TrimSpace(f.sub.Value()) // empty: the console's own
	if err := checkTopic(topic); err != "" {
		f.err, f.focus = err, 0
		return f.focusField()
	}
	typ, _ := parseSubType(subTypes[f.typ])
	if sub != "" && !f.typSet && f.typFrom == "" {
		typ = monitor.SubscriptionUnknown // the subscription's own, which the check before the tap reads
	}
	e.post(closeModalMsg{})
	e.post(startTapMsg{spec: monitor.ConsumerSpec{Name: f.name, Topic: topic, Subscription: sub, Type: typ, ManualAck: f.manual}})
	return nil
}

// checkTopic returns what is wrong with a topic name, or "".
func checkTopic(topic string) string {
	switch {
	case topic == "":
		return "a topic is needed"
	case !strings.HasPrefix(topic, "/") || strings.Count(topic, "/") != 2 || strings.HasSuffix(topic, "/"):
		return "a topic is /namespace/name"
	}
	return ""
}

func (f *tapForm) view(e *env, w, h int) string {
	st := e.st
	bw := min(w-4, 72)
	iw := bw - 2
	const lw = 14
	label := func(i int, s string) *line {
		l := newLine(iw).space(1)
		if i == f.focus {
			return l.add(st.key, "› ").addFit(st.key, s, lw, false)
		}
		return l.space(2).addFit(st.muted, s, lw, false)
	}
	var body []string
	body = append(body, blank(iw))
	l := label(0, "topic")
	body = append(body, padANSI(l.sb.String()+inputLine(f.topic, iw-l.w), iw))
	l = label(1, "subscription")
	body = append(body, padANSI(l.sb.String()+inputLine(f.sub, iw-l.w), iw))
	l = label(2, "type")
	for i, t := range subTypes {
		if i > 0 {
			l.space(1)
		}
		if i == f.typ {
			l.add(pick(f.focus == 2, st.selected, st.accent), "["+t+"]")
		} else {
			l.add(st.muted, " "+t+" ")
		}
	}
	body = append(body, l.String())
	switch {
	case f.typSet:
	case f.typFrom != "":
		body = append(body, newLine(iw).space(3+lw).add(st.muted, f.typFrom+" (it exists)").String())
	case strings.TrimSpace(f.sub.Value()) != "":
		body = append(body, newLine(iw).space(3+lw).add(st.muted, "its own if it exists, else shared").String())
	}
	l = label(3, "manual ack")
	if f.manual {
		l.add(pick(f.focus == 3, st.selected, st.accent), "[x] yes").add(st.muted, "  messages wait for a (ack) or n (nack)")
	} else {
		l.add(pick(f.focus == 3, st.selected, st.accent), "[ ] no").add(st.muted, "  every message is acked when received")
	}
	body = append(body, l.String())
	body = append(body, newLine(iw).space(3).addFit(st.muted, "name", lw, false).add(st.text, f.name).String())
	body = append(body, blank(iw))
	if f.err != "" {
		body = append(body, st.textLine(iw, st.err, "✗ "+f.err))
	}
	body = append(body, st.hintLine(iw, "enter", "start", "tab", "next field", "←/→", "change", "esc", "cancel"))
	return st.dialog([]seg{{"Tap a topic", st.title}, {" · ad-hoc consumer", st.muted}}, bw, w, h, body)
}

// ---- the nack prompt ----

// nackPrompt asks for the delay and reason of a nack. A nack of more than one message is confirmed after
// it, naming how many and what the broker does with them: it delivers them again after the delay, and
// applies the subscription's failure policy (its dead-letter topic…), which the prompt reads from a
// description of the topic as it opens.
type nackPrompt struct {
	stream        string
	topic, sub    string // the stream's subscription
	seqs          []uint64
	delay, reason textinput.Model
	focus         int // 0 delay, 1 reason
	err           string
	policy        *nackPolicyMsg // the subscription's failure policy, once described
}

// nackPolicyMsg is the failure policy of the subscription a nack prompt is for (nil: none, for a
// non-reliable topic), or why it could not be read.
type nackPolicyMsg struct {
	topic, sub string
	policy     *monitor.FailurePolicy
	err        error
}

// newNackPrompt returns the nack prompt for messages of a stream of subscription sub of topic, and the
// command that focuses it.
func newNackPrompt(t *themes.Theme, stream, topic, sub string, seqs []uint64) (*nackPrompt, tea.Cmd) {
	p := &nackPrompt{stream: stream, topic: topic, sub: sub, seqs: seqs}
	p.delay = newInput(t, "", "0s")
	p.delay.CharLimit = 16
	p.reason = newInput(t, "", "optional")
	p.reason.CharLimit = 256
	return p, p.focusField()
}

func (p *nackPrompt) confirming(k *KeyMap, msg tea.KeyPressMsg) string {
	return pick(matches(msg, k.Prompt.Submit), changesNack, "")
}

// nackHints are the hints after the prompt's fields.
var nackHints = [2]string{"e.g. 5s, 1m (empty: 0)", "optional, audited"}

// nackInputWidth is the width of field i's input in a prompt over a body w cells wide: the label takes 11
// cells, the hint what is left beyond 12.
func nackInputWidth(w, i int) int {
	iw := min(w-4, 64) - 2
	lw := min(11, max(0, iw))
	hw := min(textWidth(nackHints[i])+2, max(0, iw-lw-12))
	return iw - lw - hw
}

func (p *nackPrompt) sync(e *env) {
	setInputWidth(&p.delay, nackInputWidth(e.w, 0))
	setInputWidth(&p.reason, nackInputWidth(e.w, 1))
}

func (p *nackPrompt) focusField() tea.Cmd {
	p.delay.Blur()
	p.reason.Blur()
	if p.focus == 0 {
		return p.delay.Focus()
	}
	return p.reason.Focus()
}

func (p *nackPrompt) restyle(t *themes.Theme) {
	styleInput(&p.delay, t)
	styleInput(&p.reason, t)
}

// describe reads the subscription's failure policy in a command, for the confirmation of a nack of more
// than one message.
func (p *nackPrompt) describe(e *env) tea.Cmd {
	if len(p.seqs) < 2 || e.cluster == nil {
		return nil
	}
	b, ctx, topic, sub := e.cluster, e.ctx, p.topic, p.sub
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
		defer cancel()
		d, err := b.DescribeTopic(ctx, baseTopic(topic))
		r := nackPolicyMsg{topic: topic, sub: sub, err: err}
		if i := slices.IndexFunc(d.Subs, func(s monitor.SubscriptionDetail) bool { return s.Name == sub }); err == nil && i >= 0 {
			r.policy = d.Subs[i].Policy
			if d.Subs[i].Err != "" {
				r.err = errors.New(d.Subs[i].Err)
			}
		}
		return r
	}
}

func (p *nackPrompt) input(msg tea.Msg) tea.Cmd {
	if r, ok := msg.(nackPolicyMsg); ok {
		if r.topic == p.topic && r.sub == p.sub {
			p.policy = &r
		}
		return nil
	}
	var cmd tea.Cmd
	if p.focus == 0 {
		p.delay, cmd = p.delay.Update(msg)
	} else {
		p.reason, cmd = p.reason.Update(msg)
	}
	return cmd
}

func (p *nackPrompt) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	if cmd, ok := formNav(e, msg, &p.focus, 2, func() tea.Cmd { return p.submit(e) }, p.focusField); ok {
		return cmd
	}
	p.err = ""
	return p.input(msg)
}

// submit nacks with the delay and reason typed, or says what is wrong with the delay.
func (p *nackPrompt) submit(e *env) tea.Cmd {
	d, err := parseDelay(p.delay.Value())
	if err != "" {
		p.err, p.focus = err, 0
		return p.focusField()
	}
	e.post(closeModalMsg{})
	r := settleMsg{verb: "nack", stream: p.stream, seqs: p.seqs, delay: d, reason: strings.TrimSpace(p.reason.Value())}
	if len(p.seqs) > 1 {
		n := plural(len(p.seqs), "message")
		e.post(openModalMsg{m: newConfirm("Nack "+n+"?", p.confirmLines(d), changesNack, r)})
		return nil
	}
	e.setStatus(levelInfo, "nacking 1 message…")
	e.post(r)
	return nil
}

// confirmLines say what a nack of the prompt's messages after delay d does, one fact a line.
func (p *nackPrompt) confirmLines(d time.Duration) []string {
	lines := wrapWords(plural(len(p.seqs), "message")+" of "+clean(p.sub)+" on "+clean(baseTopic(p.topic))+" go back to the broker.", 70)
	lines = append(lines, "It delivers them again "+pick(d > 0, "after "+fmtDur(d), "at once")+", to any consumer of the subscription.")
	switch pol := p.policy; {
	case pol == nil:
		lines = append(lines, "Its failure policy is not known yet (it may dead-letter them).")
	case pol.err != nil:
		lines = append(lines, wrapWords("Its failure policy is unknown: "+clean(pol.err.Error()), 70)...)
	case pol.policy == nil:
		lines = append(lines, "It has no failure policy: nothing is dead-lettered.")
	default:
		fp := pol.policy
		then := "blocks the subscription until it is acked"
		switch fp.Poison {
		case "drop":
			then = "is dropped"
		case "dead-letter":
			then = "goes to the dead-letter topic " + clean(fp.DeadLetterTopic)
		}
		lines = append(lines, "Its failure policy: a message delivered more than "+strconv.FormatUint(uint64(fp.MaxRedeliveries), 10)+" times",
			"that fails again "+then+".")
	}
	return lines
}

// parseDelay parses a nack delay: empty is 0, a bare number is seconds, else a Go duration ("1m30s").
func parseDelay(s string) (time.Duration, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, ""
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		s = strconv.FormatFloat(n, 'f', -1, 64) + "s"
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, "the delay is a duration such as 5s, 1m or 250ms"
	}
	return d, ""
}

func (p *nackPrompt) view(e *env, w, h int) string {
	st := e.st
	bw := min(w-4, 64)
	iw := bw - 2
	const lw = 8
	field := func(i int, label string, in textinput.Model, hint string) string {
		l := newLine(iw).space(1)
		if i == p.focus {
			l.add(st.key, "› ").addFit(st.key, label, lw, false)
		} else {
			l.space(2).addFit(st.muted, label, lw, false)
		}
		hw := min(textWidth(hint)+2, max(0, iw-l.w-12))
		s := l.sb.String() + inputLine(in, iw-l.w-hw)
		if hw > 0 {
			s += st.muted.r(fit("  "+hint, hw, false))
		}
		return padANSI(s, iw)
	}
	body := []string{
		blank(iw),
		st.textLine(iw, st.text, "The broker delivers "+pick(len(p.seqs) == 1, "it", "them")+" again after the delay."),
		blank(iw),
		field(0, "delay", p.delay, nackHints[0]),
		field(1, "reason", p.reason, nackHints[1]),
		blank(iw),
	}
	if p.err != "" {
		body = append(body, st.textLine(iw, st.err, "✗ "+p.err))
	}
	body = append(body, st.hintLine(iw, "enter", "nack", "tab", "next field", "esc", "cancel"))
	return st.dialog([]seg{{"Nack", st.title}, {" · " + plural(len(p.seqs), "message"), st.muted}}, bw, w, h, body)
}
