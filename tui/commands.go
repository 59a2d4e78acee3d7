package tui

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
)

// This file holds the commands of the command line (:): the table (names, usage, help, flags, whether
// they change state), their completion sources and what they run. They are the root's: a command routes
// to the panes and actions like a key does, and read-only mode refuses those that change state in one
// place (Model.execute).

// command is a command of the command line.
type command struct {
	name    string
	aliases []string
	usage   string // the arguments, e.g. "TOPIC [SUB] [TYPE] [--manual]"
	help    string
	doc     string // the longer description of the README's command table; empty means help
	// changes names the state-changing action the command starts, as read-only mode refuses it; empty for
	// a command that only reads (or only with changingFlags).
	changes string
	// changingFlags are the flags that make the command change state ("--unsubscribe" deletes a
	// subscription): read-only mode refuses the command with one of them.
	changingFlags []string
	flags         []string // the flags it takes
	rest          int      // from this positional argument on, the rest of the line is one raw argument (-1: none)
	// complete returns the candidates for positional argument i, given the arguments before it.
	complete func(m *Model, i int, prev []string) []string
	run      func(m *Model, a cmdArgs) (tea.Cmd, error)
}

// cmdArgs are a command's parsed arguments.
type cmdArgs struct {
	pos   []string
	flags map[string]bool
}

func (a cmdArgs) arg(i int) string {
	if i < len(a.pos) {
		return a.pos[i]
	}
	return ""
}

// errUsage is a command's usage error.
func errUsage(c *command) error { return errors.New("usage: :" + c.name + " " + c.usage) }

// commands returns the command table, in the help overlay's order.
func commands() []*command {
	return []*command{
		{name: "lookup", usage: "TOPIC", help: "look a topic up", rest: -1,
			complete: argTopics(0), run: runLookup},
		{name: "consume", aliases: []string{"tap"}, usage: "TOPIC [SUB] [TYPE] [--manual]", help: "start a tap", changes: changesTaps,
			flags: []string{"--manual"}, rest: -1, complete: completeConsume, run: runConsume},
		{name: "stop", usage: "[TAP|PRODUCER] [--unsubscribe]", help: "stop a tap or a console producer", rest: -1,
			doc:   "stop a tap or a console producer; `--unsubscribe` also deletes the tap's subscription",
			flags: []string{"--unsubscribe"}, changingFlags: []string{"--unsubscribe"}, complete: completeTaps, run: runStop},
		{name: "unsubscribe", usage: "TOPIC SUB", help: "delete a subscription and its kept messages", changes: "deleting subscriptions", rest: -1,
			doc:      "delete a subscription and its kept messages (a tap's subscription outlives the tap and keeps its messages)",
			complete: completeUnsubscribe, run: runUnsubscribe},
		{name: "producer", usage: "TOPIC [RATE] [KEY] [--reliable]", help: "start a producer of test messages", changes: "starting producers",
			doc:   "start a producer of test messages, until `x` on the producers pane or `:stop`",
			flags: []string{"--reliable"}, rest: -1, complete: argTopics(0), run: runProducer},
		{name: "produce", usage: "TOPIC TEXT...", help: "publish one message", changes: "producing messages", rest: 1,
			complete: argTopics(0), run: runProduce},
		{name: "filter", usage: "[EXPR]", help: "filter the stream (empty: clear)", rest: 0, run: runFilter},
		{name: "export", usage: "PATH [--filtered|--marked]", help: "write messages as JSON lines",
			flags: []string{"--filtered", "--marked"}, rest: -1, run: runExport},
		{name: "replay", usage: "[TOPIC] [--filtered]", help: "re-publish messages (review first)", changes: changesReplay,
			flags: []string{"--filtered"}, rest: -1, complete: argTopics(0), run: runReplay},
		{name: "connector", usage: "start|stop|restart NAME", help: "act on a connector", changes: changesConnectors, rest: -1,
			complete: completeConnector, run: runConnector},
		{name: "theme", usage: "NAME", help: "switch theme", rest: -1, complete: completeThemes, run: runTheme},
		{name: "readonly", help: "read-only for the session", rest: -1, run: runReadOnly},
		{name: "help", help: "show the keys", rest: -1, run: runHelp},
		{name: "quit", aliases: []string{"q"}, help: "quit", rest: -1, run: runQuit},
	}
}

// binding is the command as a key binding, for the help overlay and the README: ":name" and its help.
func (c *command) binding() Binding {
	b := bind([]string{":" + c.name}, ":"+c.name, c.help)
	b.Changes = c.changes
	return b
}

// refusal returns why read-only mode refuses the command with these arguments, or "".
func (c *command) refusal(a cmdArgs) string {
	if c.changes != "" {
		return "read-only: :" + c.name + " is disabled"
	}
	for _, f := range c.changingFlags {
		if a.flags[f] {
			return "read-only: :" + c.name + " " + f + " is disabled"
		}
	}
	return ""
}

// findCommand returns the command called name (or one of its aliases).
func findCommand(cmds []*command, name string) *command {
	for _, c := range cmds {
		if c.name == name || slices.Contains(c.aliases, name) {
			return c
		}
	}
	return nil
}

// cmdKey handles a key while the command line is open: the line edits itself (completing from the
// commands' sources); enter runs the command.
func (m *Model) cmdKey(msg tea.KeyPressMsg) tea.Cmd {
	if !matches(msg, m.keys.Prompt.Submit) {
		return m.cmd.key(&m.keys, msg, func(cmd *command, i int, prev []string) []string {
			if cmd.complete == nil {
				return nil
			}
			return cmd.complete(m, i, prev)
		})
	}
	return m.execute()
}

// execute runs the command line: errors stay on the line, which then stays open. Read-only mode refuses
// the commands that change state here, and only here, from the command table.
func (m *Model) execute() tea.Cmd {
	c := m.cmd
	line := c.line()
	if line == "" {
		c.close()
		return nil
	}
	cmd, args, err := c.parse(line)
	if err == nil && m.readOnly() {
		if r := cmd.refusal(args); r != "" {
			err = errors.New(r)
			m.setStatus(levelWarn, r)
		}
	}
	var tc tea.Cmd
	if err == nil {
		tc, err = cmd.run(m, args)
	}
	if err != nil {
		c.fail(err)
		return nil
	}
	if err := c.remember(line); err != nil {
		m.setStatus(levelWarn, "history: "+err.Error())
	}
	c.close()
	return tc
}

// ---- completion sources ----

// topicNames returns the topics the console knows, sorted.
func topicNames(m *Model) []string {
	var out []string
	for _, t := range m.snap.Topics {
		out = append(out, t.Name)
	}
	for _, c := range m.snap.Consumers {
		out = append(out, c.Topic)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// argTopics completes argument i with topic names.
func argTopics(i int) func(*Model, int, []string) []string {
	return func(m *Model, j int, _ []string) []string {
		if j == i {
			return topicNames(m)
		}
		return nil
	}
}

func completeConsume(m *Model, i int, prev []string) []string {
	switch i {
	case 0:
		return topicNames(m)
	case 1:
		out := []string{"console-" + itoa(m.nextTap())}
		for _, t := range m.snap.Topics {
			if t.Name == prev[0] {
				out = append(out, t.Subscriptions...)
			}
		}
		return out
	case 2:
		return subTypes
	}
	return []string{"--manual"}
}

func completeUnsubscribe(m *Model, i int, prev []string) []string {
	switch i {
	case 0:
		return topicNames(m)
	case 1:
		for _, t := range m.snap.Topics {
			if t.Name == prev[0] {
				return t.Subscriptions
			}
		}
	}
	return nil
}

// liveTaps returns the names of the running taps.
func liveTaps(m *Model) []string {
	var out []string
	for _, c := range m.snap.Consumers {
		if c.AdHoc && c.State != monitor.ConsumerClosed && !slices.Contains(out, c.Name) {
			out = append(out, c.Name)
		}
	}
	return out
}

// liveProducers returns the names of the running ad-hoc producers.
func liveProducers(m *Model) []string {
	var out []string
	for _, p := range m.snap.Producers {
		if p.AdHoc && p.State != monitor.ProducerClosed && !slices.Contains(out, p.Name) {
			out = append(out, p.Name)
		}
	}
	return out
}

func completeTaps(m *Model, i int, _ []string) []string {
	if i == 0 {
		return append(liveTaps(m), liveProducers(m)...)
	}
	return nil
}

func completeConnector(m *Model, i int, _ []string) []string {
	switch i {
	case 0:
		return []string{"start", "stop", "restart"}
	case 1:
		var out []string
		for _, c := range m.snap.Connectors {
			out = append(out, c.Name)
		}
		return out
	}
	return nil
}

func completeThemes(_ *Model, i int, _ []string) []string {
	if i == 0 {
		return themes.Names()
	}
	return nil
}

// ---- the commands ----

func runLookup(m *Model, a cmdArgs) (tea.Cmd, error) {
	topic := a.arg(0)
	if topic == "" || len(a.pos) > 1 {
		return nil, errors.New("usage: :lookup TOPIC")
	}
	m.showPane(paneTopics)
	return m.with(func(e *env) tea.Cmd { return m.topics.lookup(e, topic) }), nil
}

func runConsume(m *Model, a cmdArgs) (tea.Cmd, error) {
	c := findCommand(m.cmd.cmds, "consume")
	if len(a.pos) < 1 || len(a.pos) > 3 {
		return nil, errUsage(c)
	}
	topic := a.arg(0)
	if e := checkTopic(topic); e != "" {
		return nil, errors.New(e)
	}
	n := m.nextTap()
	spec := monitor.ConsumerSpec{Name: "tap-" + itoa(n), Topic: topic, Subscription: a.arg(1), ManualAck: a.flags["--manual"]}
	if spec.Subscription == "" {
		spec.Subscription = "console-" + itoa(n)
	}
	spec.Type, _ = parseSubType("shared")
	if t := a.arg(2); t != "" {
		typ, ok := parseSubType(t)
		if !ok {
			return nil, errors.New("unknown type " + t + " (" + strings.Join(subTypes, ", ") + ")")
		}
		spec.Type = typ
	}
	return m.startTap(spec), nil
}

func runStop(m *Model, a cmdArgs) (tea.Cmd, error) {
	name := a.arg(0)
	if name == "" {
		c := m.consumers.selected(m.env())
		if c == nil || !c.AdHoc {
			running := append(liveTaps(m), liveProducers(m)...)
			return nil, errors.New("usage: :stop TAP|PRODUCER [--unsubscribe] (" + pick(len(running) > 0, "running: "+strings.Join(running, ", "), "none running") + ")")
		}
		name = c.Name
	}
	unsub := a.flags["--unsubscribe"]
	if slices.Contains(liveProducers(m), name) {
		if unsub {
			return nil, errors.New("--unsubscribe goes with a tap; " + name + " is a producer")
		}
		return m.with(func(e *env) tea.Cmd { return stopAdHocCmd(e, name, true) }), nil
	}
	if unsub {
		// A tap on a partitioned topic has a row per partition: each partition's subscription goes.
		var topics []string
		sub := ""
		for _, c := range m.snap.Consumers {
			if c.AdHoc && c.Name == name && !slices.Contains(topics, c.Topic) {
				topics, sub = append(topics, c.Topic), c.Subscription
			}
		}
		if len(topics) == 0 {
			return nil, errors.New("no tap " + name)
		}
		return m.stopTapAndUnsubscribe(name, topics, sub), nil
	}
	return m.stopTap(name), nil
}

func runUnsubscribe(m *Model, a cmdArgs) (tea.Cmd, error) {
	topic, sub := a.arg(0), a.arg(1)
	if topic == "" || sub == "" || len(a.pos) > 2 {
		return nil, errUsage(findCommand(m.cmd.cmds, "unsubscribe"))
	}
	if e := checkTopic(topic); e != "" {
		return nil, errors.New(e)
	}
	return m.unsubscribeCmd(topic, sub), nil
}

// defaultProducerRate is the rate of :producer without RATE, in messages per second.
const defaultProducerRate = 10

func runProducer(m *Model, a cmdArgs) (tea.Cmd, error) {
	if len(a.pos) < 1 || len(a.pos) > 3 {
		return nil, errUsage(findCommand(m.cmd.cmds, "producer"))
	}
	topic := a.arg(0)
	if e := checkTopic(topic); e != "" {
		return nil, errors.New(e)
	}
	spec := monitor.ProducerSpec{Name: m.nextProducer(), Topic: topic, Rate: defaultProducerRate, Key: a.arg(2),
		Reliable: a.flags["--reliable"]}
	if r := a.arg(1); r != "" {
		v, err := strconv.ParseFloat(r, 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return nil, errors.New("RATE " + r + ": give the messages per second, a number above 0 (:produce sends one message)")
		}
		spec.Rate = v
	}
	return m.startProducer(spec), nil
}

func runProduce(m *Model, a cmdArgs) (tea.Cmd, error) {
	topic, text := a.arg(0), a.arg(1)
	if topic == "" || text == "" {
		return nil, errors.New("usage: :produce TOPIC TEXT...")
	}
	if e := checkTopic(topic); e != "" {
		return nil, errors.New(e)
	}
	return m.produceCmd(topic, []byte(text)), nil
}

func runFilter(m *Model, a cmdArgs) (tea.Cmd, error) {
	var err error
	cmd := m.with(func(e *env) tea.Cmd { err = m.consumers.setFilter(e, a.arg(0)); return nil })
	if err != nil {
		return nil, err
	}
	m.showHelp = false
	if m.active != paneConsumers {
		m.showPane(paneConsumers)
	}
	return cmd, nil
}

func runExport(m *Model, a cmdArgs) (tea.Cmd, error) {
	path := a.arg(0)
	if path == "" || len(a.pos) > 1 || a.flags["--filtered"] && a.flags["--marked"] {
		return nil, errors.New("usage: :export PATH [--filtered|--marked]")
	}
	p, e := m.consumers, m.env()
	if p.stream == "" {
		p.pull(e)
	}
	if p.stream == "" {
		return nil, errors.New("no stream: select a consumer on the consumers pane (4)")
	}
	var msgs []monitor.Message
	switch {
	case a.flags["--filtered"]:
		msgs = p.filtered(e)
	case a.flags["--marked"]:
		if len(p.marks) == 0 {
			return nil, errors.New("no marked messages (space marks them in the stream)")
		}
		msgs, _ = p.targets(e)
	default:
		if msgs, _ = p.targets(e); len(msgs) == 0 {
			msgs = p.filtered(e)
		}
	}
	if len(msgs) == 0 {
		return nil, errors.New("nothing to export")
	}
	return m.exportCmd(path, msgs), nil
}

func runReplay(m *Model, a cmdArgs) (tea.Cmd, error) {
	if len(a.pos) > 1 {
		return nil, errors.New("usage: :replay [TOPIC] [--filtered]")
	}
	topic := a.arg(0)
	if topic != "" {
		if e := checkTopic(topic); e != "" {
			return nil, errors.New(e)
		}
	}
	p, e := m.consumers, m.env()
	if p.stream == "" {
		p.pull(e)
	}
	if p.stream == "" {
		return nil, errors.New("no stream: select a consumer on the consumers pane (4)")
	}
	var msgs []monitor.Message
	what := "filtered"
	if a.flags["--filtered"] {
		msgs = p.filtered(e)
	} else {
		msgs, what = p.targets(e)
	}
	if len(msgs) == 0 {
		return nil, errors.New("nothing to replay: select or mark messages, or use --filtered")
	}
	if m.active != paneConsumers {
		m.showPane(paneConsumers)
	}
	return m.openReplay(msgs, what, topic), nil
}

func runConnector(m *Model, a cmdArgs) (tea.Cmd, error) {
	verb, name := a.arg(0), a.arg(1)
	if verb != "start" && verb != "stop" && verb != "restart" || name == "" || len(a.pos) > 2 {
		return nil, errors.New("usage: :connector start|stop|restart NAME")
	}
	if !slices.ContainsFunc(m.snap.Connectors, func(c monitor.ConnectorStats) bool { return c.Name == name }) {
		return nil, errors.New("no connector " + name)
	}
	if v, busy := m.connectors.pending[name]; busy {
		return nil, errors.New(name + ": already " + v)
	}
	return m.with(func(e *env) tea.Cmd { return m.connectors.act(e, name, verb) }), nil
}

func runTheme(m *Model, a cmdArgs) (tea.Cmd, error) {
	t, err := themes.Lookup(a.arg(0))
	if err != nil || len(a.pos) != 1 {
		return nil, errors.New("themes: " + strings.Join(themes.Names(), ", "))
	}
	m.setTheme(t)
	return nil, nil
}

func runReadOnly(m *Model, _ cmdArgs) (tea.Cmd, error) {
	m.setReadOnly()
	return nil, nil
}

func runHelp(m *Model, _ cmdArgs) (tea.Cmd, error) {
	m.showHelp, m.helpOff = true, 0
	return nil, nil
}

func runQuit(*Model, cmdArgs) (tea.Cmd, error) { return tea.Quit, nil }
