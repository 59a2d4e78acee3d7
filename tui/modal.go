package tui

import (
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
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

// modal is a dialog over the panes. Only one is open at a time (Model.modal); it closes itself by setting
// Model.modal to nil.
type modal interface {
	// key handles a key press.
	key(m *Model, msg tea.KeyPressMsg) tea.Cmd
	// input passes any other message to the modal's text inputs.
	input(m *Model, msg tea.Msg) tea.Cmd
	// view draws the dialog box, at most w×h cells (it is centred over the pane).
	view(m *Model, w, h int) string
	// restyle applies a new theme to the text inputs.
	restyle(m *Model)
}

// newInput returns a text input in the console's style.
func newInput(m *Model, prompt, placeholder string) textinput.Model {
	in := textinput.New()
	in.Prompt = prompt
	in.Placeholder = placeholder
	in.CharLimit = 1024
	styleInput(&in, m.theme)
	return in
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

// inputLine draws a text input in exactly w cells.
func inputLine(in *textinput.Model, w int) string {
	in.SetWidth(max(1, w-textWidth(in.Prompt)-1))
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
func (m *Model) dialog(title []seg, bw, w, h int, body []string) string {
	bw = max(10, min(bw, w))
	for i := range body {
		body[i] = padANSI(body[i], bw-2)
	}
	return m.box(title, bw, min(len(body)+2, h), true, body)
}

// hintLine draws "key desc  key desc" pairs, muted, with one leading blank.
func (m *Model) hintLine(w int, pairs ...string) string {
	l := newLine(w).space(1)
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			l.space(2)
		}
		l.add(m.st.key, pairs[i]).add(m.st.muted, " "+pairs[i+1])
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

// tapForm asks for a tap's topic, subscription, type and ack mode.
type tapForm struct {
	topic, sub textinput.Model
	typ        int // index in subTypes
	manual     bool
	focus      int // 0 topic, 1 subscription, 2 type, 3 manual
	name       string
	err        string
}

const tapFields = 4

// openTapForm opens the tap form on a topic (may be empty).
func (m *Model) openTapForm(topic string) tea.Cmd {
	if m.refuse("starting taps") {
		return nil
	}
	n := m.nextTap()
	f := &tapForm{typ: 1, name: "tap-" + itoa(n)}
	f.topic = newInput(m, "", "/namespace/topic")
	f.topic.SetValue(topic)
	f.topic.CursorEnd()
	f.sub = newInput(m, "", "console-"+itoa(n))
	f.sub.SetValue("console-" + itoa(n))
	f.sub.CursorEnd()
	if topic != "" {
		f.focus = 1
	}
	m.modal = f
	return f.focusField()
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

func (f *tapForm) restyle(m *Model) {
	styleInput(&f.topic, m.theme)
	styleInput(&f.sub, m.theme)
}

func (f *tapForm) input(_ *Model, msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch f.focus {
	case 0:
		f.topic, cmd = f.topic.Update(msg)
	case 1:
		f.sub, cmd = f.sub.Update(msg)
	}
	return cmd
}

func (f *tapForm) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys.Prompt
	switch {
	case key.Matches(msg, k.Cancel):
		m.modal = nil
		return nil
	case key.Matches(msg, k.Submit):
		return f.submit(m)
	case key.Matches(msg, k.NextItem):
		f.focus = (f.focus + 1) % tapFields
		return f.focusField()
	case key.Matches(msg, k.PrevItem):
		f.focus = (f.focus + tapFields - 1) % tapFields
		return f.focusField()
	}
	s := msg.String()
	switch f.focus {
	case 2:
		switch s {
		case "left", "h":
			f.typ = (f.typ + len(subTypes) - 1) % len(subTypes)
		case "right", "l", "space":
			f.typ = (f.typ + 1) % len(subTypes)
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
	return f.input(m, msg)
}

func (f *tapForm) submit(m *Model) tea.Cmd {
	topic := strings.TrimSpace(f.topic.Value())
	sub := strings.TrimSpace(f.sub.Value())
	if sub == "" {
		sub = f.sub.Placeholder
	}
	if err := checkTopic(topic); err != "" {
		f.err, f.focus = err, 0
		return f.focusField()
	}
	typ, _ := parseSubType(subTypes[f.typ])
	m.modal = nil
	return m.startTap(monitor.ConsumerSpec{Name: f.name, Topic: topic, Subscription: sub, Type: typ, ManualAck: f.manual})
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

func (f *tapForm) view(m *Model, w, h int) string {
	st := m.st
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
	body = append(body, padANSI(l.sb.String()+inputLine(&f.topic, iw-l.w), iw))
	l = label(1, "subscription")
	body = append(body, padANSI(l.sb.String()+inputLine(&f.sub, iw-l.w), iw))
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
		body = append(body, m.textLine(iw, st.err, "✗ "+f.err))
	}
	body = append(body, m.hintLine(iw, "enter", "start", "tab", "next field", "←/→", "change", "esc", "cancel"))
	return m.dialog([]seg{{"Tap a topic", st.title}, {" · ad-hoc consumer", st.muted}}, bw, w, h, body)
}

// ---- the nack prompt ----

// nackPrompt asks for the delay and reason of a nack.
type nackPrompt struct {
	stream        string
	seqs          []uint64
	delay, reason textinput.Model
	focus         int // 0 delay, 1 reason
	err           string
}

// openNack opens the nack prompt for messages of a stream.
func (m *Model) openNack(stream string, seqs []uint64) tea.Cmd {
	p := &nackPrompt{stream: stream, seqs: seqs}
	p.delay = newInput(m, "", "0s")
	p.delay.CharLimit = 16
	p.reason = newInput(m, "", "optional")
	p.reason.CharLimit = 256
	m.modal = p
	return p.focusField()
}

func (p *nackPrompt) focusField() tea.Cmd {
	p.delay.Blur()
	p.reason.Blur()
	if p.focus == 0 {
		return p.delay.Focus()
	}
	return p.reason.Focus()
}

func (p *nackPrompt) restyle(m *Model) {
	styleInput(&p.delay, m.theme)
	styleInput(&p.reason, m.theme)
}

func (p *nackPrompt) input(_ *Model, msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	if p.focus == 0 {
		p.delay, cmd = p.delay.Update(msg)
	} else {
		p.reason, cmd = p.reason.Update(msg)
	}
	return cmd
}

func (p *nackPrompt) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys.Prompt
	switch {
	case key.Matches(msg, k.Cancel):
		m.modal = nil
		return nil
	case key.Matches(msg, k.NextItem, k.PrevItem):
		p.focus = 1 - p.focus
		return p.focusField()
	case key.Matches(msg, k.Submit):
		d, err := parseDelay(p.delay.Value())
		if err != "" {
			p.err, p.focus = err, 0
			return p.focusField()
		}
		if m.refuse("nacking messages") {
			m.modal = nil
			return nil
		}
		m.modal = nil
		m.setStatus(levelInfo, "nacking "+plural(len(p.seqs), "message")+"…")
		return m.settleCmd("nack", p.stream, p.seqs, d, strings.TrimSpace(p.reason.Value()))
	}
	p.err = ""
	return p.input(m, msg)
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

func (p *nackPrompt) view(m *Model, w, h int) string {
	st := m.st
	bw := min(w-4, 64)
	iw := bw - 2
	const lw = 8
	field := func(i int, label string, in *textinput.Model, hint string) string {
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
		m.textLine(iw, st.text, "The broker delivers "+pick(len(p.seqs) == 1, "it", "them")+" again after the delay."),
		blank(iw),
		field(0, "delay", &p.delay, "e.g. 5s, 1m (empty: 0)"),
		field(1, "reason", &p.reason, "optional, audited"),
		blank(iw),
	}
	if p.err != "" {
		body = append(body, m.textLine(iw, st.err, "✗ "+p.err))
	}
	body = append(body, m.hintLine(iw, "enter", "nack", "tab", "next field", "esc", "cancel"))
	return m.dialog([]seg{{"Nack", st.title}, {" · " + plural(len(p.seqs), "message"), st.muted}}, bw, w, h, body)
}
