package tui

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
)

// This file holds the topics pane's actions on the cluster: the confirmations of delete, unload and
// unsubscribe, the forms of create topic, failure policy and dispatch window (each of which ends in a
// confirmation naming what will change), and the request that runs a confirmed action in a command,
// reporting to the status bar with the broker's reason when it fails.

// Requests the topics pane serves.
type (
	// topicActMsg runs a confirmed action on the cluster in a command: what names it for the status bar
	// while it runs ("deleting /default/orders"), done once it succeeded; gone is the topic the action
	// removed ("" if none), whose detail then closes.
	topicActMsg struct {
		what, done, gone string
		then             tea.Msg // posted when the action succeeded (nil: nothing)
		run              func(ctx context.Context) error
	}
	// topicActDoneMsg reports the end of an action.
	topicActDoneMsg struct {
		what, done, gone string
		then             tea.Msg
		err              error
	}
)

// act runs a confirmed action in a command.
func (p *topicsPane) act(e *env, msg topicActMsg) tea.Cmd {
	e.setStatus(levelInfo, msg.what+"…")
	ctx, snaps := e.ctx, e.snaps
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		err := msg.run(ctx)
		if err == nil {
			// The list shows the change at once; a failure here is the periodic refresh's to report.
			_ = snaps.Refresh(ctx)
		}
		return topicActDoneMsg{what: msg.what, done: msg.done, gone: msg.gone, then: msg.then, err: err}
	}
}

// acted reports an action's end, takes a fresh snapshot and describes the open topic again.
func (p *topicsPane) acted(e *env, msg topicActDoneMsg) tea.Cmd {
	if msg.err != nil {
		e.setStatus(levelError, clean(msg.err.Error())) // it names the action and the topic
	} else {
		e.setStatus(levelInfo, msg.done)
		if msg.then != nil {
			e.post(msg.then)
		}
	}
	if d := p.detail; d != nil && msg.gone != "" && d.name == msg.gone && msg.err == nil {
		p.detail = nil
	}
	e.post(pullMsg{})
	if p.detail != nil {
		p.detail.loading = true
		return p.detail.describe(e)
	}
	return nil
}

// update handles the requests and results the topics pane owns.
func (p *topicsPane) update(e *env, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case topicActMsg:
		return p.act(e, msg)
	case topicActDoneMsg:
		return p.acted(e, msg)
	case describeDoneMsg:
		p.described(e, msg)
	case focusTopicMsg:
		p.selectTopic(e, msg.topic)
	}
	return nil
}

// each runs f on every member topic in turn, stopping at the first failure (named when there are several).
func each(ctx context.Context, topics []string, f func(ctx context.Context, topic string) error) error {
	for _, t := range topics {
		if err := f(ctx, t); err != nil {
			if len(topics) > 1 {
				return fmt.Errorf("%s: %w", t, err)
			}
			return err
		}
	}
	return nil
}

// partsOf says which topics an action touches: "the 3 partitions of /default/orders" or the topic.
func partsOf(name string, topics []string) string {
	if len(topics) > 1 || topics[0] != name {
		return "the " + plural(len(topics), "partition") + " of " + clean(name)
	}
	return clean(name)
}

// deleteConfirm asks before deleting a topic (every partition of a partitioned one).
func deleteConfirm(e *env, name string, topics []string) *confirmDialog {
	c := e.cluster
	return newConfirm("Delete topic "+clean(name)+"?", []string{
		"Delete " + partsOf(name, topics) + " from the cluster.",
		"Its stored messages and every subscription are deleted,",
		"its producers and consumers disconnected. This cannot be undone.",
	}, changesDelete, topicActMsg{what: "deleting " + clean(name), done: "deleted " + clean(name), gone: name,
		run: func(ctx context.Context) error { return each(ctx, topics, c.DeleteTopic) }})
}

// unloadConfirm asks before unloading a topic from its broker.
func unloadConfirm(e *env, name string, topics []string, broker string) *confirmDialog {
	c := e.cluster
	from := ""
	if broker != "" {
		from = " from broker " + clean(broker)
	}
	return newConfirm("Unload topic "+clean(name)+"?", []string{
		"Unload " + partsOf(name, topics) + from + ":",
		"its producers and consumers reconnect to the broker that takes it.",
	}, changesUnload, topicActMsg{what: "unloading " + clean(name), done: "unloaded " + clean(name),
		run: func(ctx context.Context) error { return each(ctx, topics, c.UnloadTopic) }})
}

// unsubscribeConfirm asks before deleting subscription s of topic name (its partitions topics): whose it is
// (only one this console's tap created is its own), the messages deleted with it, and that the broker
// refuses while a consumer is connected. Once deleted, the consumers pane forgets it as the console's own.
func unsubscribeConfirm(e *env, name string, topics []string, s *subRow) *confirmDialog {
	a, sub := e.admin, s.name
	whose := "This console did not create it: other programs may rely on it."
	if e.createdSubs != nil && slices.Contains(e.createdSubs(), subRef{topic: baseTopic(name), sub: sub}) {
		whose = "This console's tap created it."
	}
	kept := "Its kept messages are deleted with it."
	if s.lag > 0 {
		kept = "Its " + fmtInt(s.lag) + " kept (unacknowledged) messages are deleted with it."
	}
	lines := []string{"Delete subscription " + clean(sub) + " of " + partsOf(name, topics) + ".", whose, kept}
	if s.consumers > 0 {
		lines = append(lines, "It has "+plural(int(s.consumers), "consumer")+": the broker refuses while one is connected.")
	}
	return newConfirm("Unsubscribe "+clean(sub)+"?", append(lines, "This cannot be undone."), changesUnsub,
		topicActMsg{what: "deleting subscription " + clean(sub) + " of " + clean(name),
			done: "deleted subscription " + clean(sub) + " of " + clean(name),
			then: unsubscribeDoneMsg{topic: baseTopic(name), sub: sub, cluster: e.clusterName},
			run: func(ctx context.Context) error {
				return each(ctx, topics, func(ctx context.Context, t string) error { return a.Unsubscribe(ctx, t, sub) })
			}})
}

// ---- forms ----

// formField is a field of a topic form: a text input, or a choice among options (←/→ change it).
type formField struct {
	label, hint string
	in          textinput.Model
	choices     []string
	choice      int
}

// topicForm is a small form over the topics pane; submit checks the fields and returns the
// confirmation to open, or what is wrong (and the field to fix).
type topicForm struct {
	title  string
	fields []formField
	focus  int
	err    string
	submit func(f *topicForm) (*confirmDialog, string, int)
}

func (f *topicForm) value(i int) string {
	if len(f.fields[i].choices) > 0 {
		return f.fields[i].choices[f.fields[i].choice]
	}
	return strings.TrimSpace(f.fields[i].in.Value())
}

func (f *topicForm) focusField() tea.Cmd {
	var cmd tea.Cmd
	for i := range f.fields {
		if i == f.focus && len(f.fields[i].choices) == 0 {
			cmd = f.fields[i].in.Focus()
		} else {
			f.fields[i].in.Blur()
		}
	}
	return cmd
}

// confirming is empty: the form only opens a confirmation, whose yes the router refuses in read-only mode.
func (f *topicForm) confirming(*KeyMap, tea.KeyPressMsg) string { return "" }

func (f *topicForm) sync(e *env) {
	for i := range f.fields {
		setInputWidth(&f.fields[i].in, f.inputWidth(e.w, i))
	}
}

// inputWidth is field i's input width in a form over a body w cells wide.
func (f *topicForm) inputWidth(w, i int) int {
	iw := formWidth(w) - 2
	hw := min(textWidth(f.fields[i].hint)+2, max(0, iw-formLabelWidth-3-12))
	return max(1, iw-formLabelWidth-3-hw)
}

func (f *topicForm) restyle(t *themes.Theme) {
	for i := range f.fields {
		styleInput(&f.fields[i].in, t)
	}
}

func (f *topicForm) input(msg tea.Msg) tea.Cmd {
	fl := &f.fields[f.focus]
	if len(fl.choices) > 0 {
		return nil
	}
	var cmd tea.Cmd
	fl.in, cmd = fl.in.Update(msg)
	return cmd
}

func (f *topicForm) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	submit := func() tea.Cmd {
		c, err, at := f.submit(f)
		if err != "" {
			f.err, f.focus = err, at
			return f.focusField()
		}
		e.post(openModalMsg{m: c})
		return nil
	}
	if cmd, ok := formNav(e, msg, &f.focus, len(f.fields), submit, f.focusField); ok {
		return cmd
	}
	if fl := &f.fields[f.focus]; len(fl.choices) > 0 {
		switch msg.String() {
		case "left", "h":
			fl.choice = (fl.choice + len(fl.choices) - 1) % len(fl.choices)
		case "right", "l", "space":
			fl.choice = (fl.choice + 1) % len(fl.choices)
		}
		return nil
	}
	f.err = ""
	return f.input(msg)
}

func (f *topicForm) view(e *env, w, h int) string {
	st := e.st
	bw := formWidth(w)
	iw := bw - 2
	body := []string{blank(iw)}
	for i := range f.fields {
		fl := &f.fields[i]
		l := formLabel(st, iw, i == f.focus, fl.label)
		if len(fl.choices) > 0 {
			for j, c := range fl.choices {
				if j == fl.choice {
					l.add(pick(i == f.focus, st.selected, st.accent), "["+c+"]")
				} else {
					l.add(st.muted, " "+c+" ")
				}
				l.space(1)
			}
			l.add(st.muted, " "+fl.hint)
			body = append(body, l.String())
			continue
		}
		hw := min(textWidth(fl.hint)+2, max(0, iw-l.w-12))
		s := l.sb.String() + inputLine(fl.in, iw-l.w-hw)
		if hw > 0 {
			s += st.muted.r(fit("  "+fl.hint, hw, false))
		}
		body = append(body, padANSI(s, iw))
	}
	body = append(body, blank(iw))
	if f.err != "" {
		body = append(body, st.textLine(iw, st.err, "✗ "+f.err))
	}
	body = append(body, st.hintLine(iw, "enter", "review", "tab", "next field", "←/→", "change", "esc", "cancel"))
	return st.dialog([]seg{{f.title, st.title}}, bw, w, h, body)
}

// textField returns a text field with a value.
func textField(t *themes.Theme, label, value, placeholder, hint string) formField {
	in := newInput(t, "", placeholder)
	in.SetValue(value)
	in.CursorEnd()
	return formField{label: label, hint: hint, in: in}
}

// openCreateForm opens the create-topic form.
func openCreateForm(e *env) tea.Cmd {
	t := e.theme
	f := &topicForm{title: "Create a topic", fields: []formField{
		textField(t, "name", "", "/namespace/topic", "the namespace must exist"),
		textField(t, "partitions", "", "0", "0 or empty: not partitioned"),
		{label: "delivery", choices: []string{"reliable", "non-reliable"}, hint: "reliable stores and redelivers"},
		textField(t, "schema subject", "", "none", "a registered subject, optional"),
	}}
	c := e.cluster
	f.submit = func(f *topicForm) (*confirmDialog, string, int) {
		name := f.value(0)
		if err := checkTopic(name); err != "" {
			return nil, err, 0
		}
		n, err := strconv.Atoi(f.value(1))
		if f.value(1) == "" {
			n, err = 0, nil
		}
		if err != nil || n < 0 || n > 1024 {
			return nil, "partitions is a whole number from 0 to 1024", 1
		}
		o := monitor.TopicOptions{Partitions: n, Reliable: f.value(2) == "reliable", SchemaSubject: f.value(3)}
		what := clean(name)
		if n > 0 {
			what += " with " + plural(n, "partition") + " (" + clean(name) + "-part-0 …)"
		}
		lines := []string{"Create " + what + ",", f.value(2) + pick(o.SchemaSubject != "", ", bound to schema subject "+clean(o.SchemaSubject), ", without a schema") + "."}
		return newConfirm("Create topic "+clean(name)+"?", lines, changesCreate,
			topicActMsg{what: "creating " + clean(name), done: "created " + clean(name),
				run: func(ctx context.Context) error { return c.CreateTopic(ctx, name, o) }}), "", 0
	}
	e.post(openModalMsg{m: f})
	return f.focusField()
}

// Poison policies and backoffs, in the forms' order.
var (
	poisonChoices  = []string{"block", "drop", "dead-letter"}
	backoffChoices = []string{"exponential", "fixed"}
)

// openPolicyForm opens the failure policy form of a subscription, prefilled with its policy.
func openPolicyForm(e *env, name string, topics []string, sub string, p *monitor.FailurePolicy) tea.Cmd {
	cur := monitor.FailurePolicy{MaxRedeliveries: 5, AckTimeout: 30 * time.Second, BaseRedeliveryDelay: time.Second,
		MaxRedeliveryDelay: time.Minute}
	if p != nil {
		cur = *p
	}
	t := e.theme
	f := &topicForm{title: "Failure policy of " + clean(sub), fields: []formField{
		textField(t, "max redeliveries", strconv.FormatUint(uint64(cur.MaxRedeliveries), 10), "5", "then the poison policy"),
		textField(t, "ack timeout", durText(cur.AckTimeout), "30s", "redelivered when not acked"),
		textField(t, "base delay", durText(cur.BaseRedeliveryDelay), "1s", "first redelivery wait"),
		textField(t, "max delay", durText(cur.MaxRedeliveryDelay), "1m", "longest redelivery wait"),
		{label: "backoff", choices: backoffChoices, choice: max(0, indexOf(backoffChoices, cur.Backoff)), hint: ""},
		{label: "poison", choices: poisonChoices, choice: max(0, indexOf(poisonChoices, cur.Poison)), hint: ""},
		textField(t, "dead-letter topic", cur.DeadLetterTopic, "/namespace/topic", "with dead-letter"),
	}}
	c := e.cluster
	f.submit = func(f *topicForm) (*confirmDialog, string, int) {
		var np monitor.FailurePolicy
		n, err := strconv.ParseUint(f.value(0), 10, 32)
		if err != nil {
			return nil, "max redeliveries is a whole number", 0
		}
		np.MaxRedeliveries = uint32(n)
		for i, d := range []*time.Duration{&np.AckTimeout, &np.BaseRedeliveryDelay, &np.MaxRedeliveryDelay} {
			v, msg := parseDelay(f.value(1 + i))
			if msg != "" {
				return nil, f.fields[1+i].label + ": " + msg, 1 + i
			}
			*d = v
		}
		if np.MaxRedeliveryDelay < np.BaseRedeliveryDelay {
			return nil, "the max delay is at least the base delay", 3
		}
		np.Backoff, np.Poison, np.DeadLetterTopic = f.value(4), f.value(5), f.value(6)
		if np.Poison == "dead-letter" {
			if err := checkTopic(np.DeadLetterTopic); err != "" {
				return nil, "dead-letter topic: " + err, 6
			}
		} else {
			np.DeadLetterTopic = ""
		}
		lines := []string{"Set the failure policy of " + clean(sub) + " on " + partsOf(name, topics) + ":",
			"redeliver up to " + plural(int(np.MaxRedeliveries), "time") + ", ack timeout " + durText(np.AckTimeout) + ", " +
				np.Backoff + " backoff " + durText(np.BaseRedeliveryDelay) + "–" + durText(np.MaxRedeliveryDelay) + ",",
			"then " + pick(np.Poison == "dead-letter", "dead-letter to "+clean(np.DeadLetterTopic), np.Poison) + ". It applies to what is delivered next."}
		return newConfirm("Change the failure policy of "+clean(sub)+"?", lines, changesPolicy,
			topicActMsg{what: "setting the failure policy of " + clean(sub), done: "failure policy of " + clean(sub) + " set",
				run: func(ctx context.Context) error {
					return each(ctx, topics, func(ctx context.Context, t string) error { return c.SetFailurePolicy(ctx, t, sub, np) })
				}}), "", 0
	}
	e.post(openModalMsg{m: f})
	return f.focusField()
}

// openWindowPrompt opens the dispatch window prompt of a subscription, prefilled with its window.
func openWindowPrompt(e *env, name string, topics []string, sub string, cur uint32) tea.Cmd {
	v := ""
	if cur > 0 {
		v = strconv.FormatUint(uint64(cur), 10)
	}
	f := &topicForm{title: "Dispatch window of " + clean(sub), fields: []formField{
		textField(e.theme, "window", v, "e.g. 100", "unacked messages in flight per consumer"),
	}}
	c := e.cluster
	f.submit = func(f *topicForm) (*confirmDialog, string, int) {
		n, err := strconv.ParseUint(f.value(0), 10, 32)
		if err != nil || n == 0 {
			return nil, "the window is a whole number of messages, at least 1", 0
		}
		lines := []string{"Set the dispatch window of " + clean(sub) + " on " + partsOf(name, topics) + " to " + plural(int(n), "message") + ":",
			"the broker keeps at most that many unacknowledged messages in flight to each consumer."}
		return newConfirm("Change the dispatch window of "+clean(sub)+"?", lines, changesWindow,
			topicActMsg{what: "setting the dispatch window of " + clean(sub), done: "dispatch window of " + clean(sub) + " set to " + itoa(int(n)),
				run: func(ctx context.Context) error {
					return each(ctx, topics, func(ctx context.Context, t string) error { return c.SetDispatchWindow(ctx, t, sub, uint32(n)) })
				}}), "", 0
	}
	e.post(openModalMsg{m: f})
	return f.focusField()
}

// durText formats a duration for a form ("30s", "1m30s", "250ms"; "0s" for zero).
func durText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
