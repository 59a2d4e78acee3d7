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
// they change state), their completion sources and what they run. A command is given an env, like a
// component: it checks its arguments and posts a request to the component that owns the action (the
// consumers pane starts taps, the producers pane producers, …) or to the root (theme, help); it never sees
// the root Model. Read-only mode refuses the commands that change state in one place (Model.execute),
// from the table.

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
	complete func(e *env, i int, prev []string) []string
	// run checks the arguments and starts the command, mostly by posting requests: an error it returns,
	// or a component reports with cmdFailMsg, stays on the line.
	run func(e *env, a cmdArgs) (tea.Cmd, error)
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
		clusterCommand(),
		{name: "theme", usage: "NAME", help: "switch theme", rest: -1, complete: completeThemes, run: runTheme},
		{name: "readonly", help: "read-only for the session", rest: -1, run: runReadOnly},
		{name: "events", help: "the session's events", rest: -1, run: runEvents,
			doc: "the session's errors, warnings and actions with their times, newest last (y copies the selected one; they also go to the log file)"},
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

// ---- completion sources ----

// topicNames returns the topics the console knows, sorted.
func topicNames(e *env) []string {
	var out []string
	for _, t := range e.snap.Topics {
		out = append(out, t.Name)
	}
	for _, c := range e.snap.Consumers {
		out = append(out, c.Topic)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// argTopics completes argument i with topic names.
func argTopics(i int) func(*env, int, []string) []string {
	return func(e *env, j int, _ []string) []string {
		if j == i {
			return topicNames(e)
		}
		return nil
	}
}

func completeConsume(e *env, i int, prev []string) []string {
	switch i {
	case 0:
		return topicNames(e)
	case 1:
		var out []string
		if e.tapSub != nil {
			out = append(out, e.tapSub(e.snap, prev[0]))
		}
		for _, t := range e.snap.Topics {
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

func completeUnsubscribe(e *env, i int, prev []string) []string {
	switch i {
	case 0:
		return topicNames(e)
	case 1:
		for _, t := range e.snap.Topics {
			if t.Name == prev[0] {
				return t.Subscriptions
			}
		}
	}
	return nil
}

// liveTaps returns the names of the running taps.
func liveTaps(e *env) []string {
	var out []string
	for _, c := range e.snap.Consumers {
		if c.AdHoc && c.State != monitor.ConsumerClosed && !slices.Contains(out, c.Name) {
			out = append(out, c.Name)
		}
	}
	return out
}

// liveProducers returns the names of the running ad-hoc producers.
func liveProducers(e *env) []string {
	var out []string
	for _, p := range e.snap.Producers {
		if p.AdHoc && p.State != monitor.ProducerClosed && !slices.Contains(out, p.Name) {
			out = append(out, p.Name)
		}
	}
	return out
}

func completeTaps(e *env, i int, _ []string) []string {
	if i == 0 {
		return append(liveTaps(e), liveProducers(e)...)
	}
	return nil
}

func completeConnector(e *env, i int, _ []string) []string {
	switch i {
	case 0:
		return []string{"start", "stop", "restart"}
	case 1:
		var out []string
		for _, c := range e.snap.Connectors {
			out = append(out, c.Name)
		}
		return out
	}
	return nil
}

func completeThemes(_ *env, i int, _ []string) []string {
	if i == 0 {
		return themes.Names()
	}
	return nil
}

// ---- the commands ----

// usage is the usage error of the command called name.
func usage(name string) error { return errUsage(findCommand(commands(), name)) }

func runLookup(e *env, a cmdArgs) (tea.Cmd, error) {
	topic := a.arg(0)
	if topic == "" || len(a.pos) > 1 {
		return nil, errors.New("usage: :lookup TOPIC")
	}
	e.post(showPaneMsg{id: paneTopics})
	e.post(lookupMsg{topic: topic})
	return nil, nil
}

func runConsume(e *env, a cmdArgs) (tea.Cmd, error) {
	if len(a.pos) < 1 || len(a.pos) > 3 {
		return nil, usage("consume")
	}
	topic := a.arg(0)
	if bad := checkTopic(topic); bad != "" {
		return nil, errors.New(bad)
	}
	// The consumers pane names the tap (and its subscription when none is given).
	// No type given: shared for the console's own subscription, the existing subscription's type else.
	spec := monitor.ConsumerSpec{Topic: topic, Subscription: a.arg(1), ManualAck: a.flags["--manual"]}
	if t := a.arg(2); t != "" {
		typ, ok := parseSubType(t)
		if !ok {
			return nil, errors.New("unknown type " + t + " (" + strings.Join(subTypes, ", ") + ")")
		}
		spec.Type = typ
	}
	e.post(startTapMsg{spec: spec})
	return nil, nil
}

func runStop(e *env, a cmdArgs) (tea.Cmd, error) {
	name, unsub := a.arg(0), a.flags["--unsubscribe"]
	if name != "" && slices.Contains(liveProducers(e), name) {
		if unsub {
			return nil, errors.New("--unsubscribe goes with a tap; " + name + " is a producer")
		}
		e.post(stopProducerMsg{name: name})
		return nil, nil
	}
	running := append(liveTaps(e), liveProducers(e)...)
	e.post(stopTapMsg{name: name, unsubscribe: unsub,
		usage: errors.New("usage: :stop TAP|PRODUCER [--unsubscribe] (" + pick(len(running) > 0, "running: "+strings.Join(running, ", "), "none running") + ")")})
	return nil, nil
}

func runUnsubscribe(e *env, a cmdArgs) (tea.Cmd, error) {
	topic, sub := a.arg(0), a.arg(1)
	if topic == "" || sub == "" || len(a.pos) > 2 {
		return nil, usage("unsubscribe")
	}
	if bad := checkTopic(topic); bad != "" {
		return nil, errors.New(bad)
	}
	e.post(unsubscribeMsg{topic: topic, sub: sub})
	return nil, nil
}

// defaultProducerRate is the rate of :producer without RATE, in messages per second.
const defaultProducerRate = 10

func runProducer(e *env, a cmdArgs) (tea.Cmd, error) {
	if len(a.pos) < 1 || len(a.pos) > 3 {
		return nil, usage("producer")
	}
	topic := a.arg(0)
	if bad := checkTopic(topic); bad != "" {
		return nil, errors.New(bad)
	}
	// The producers pane names the producer.
	spec := monitor.ProducerSpec{Topic: topic, Rate: defaultProducerRate, Key: a.arg(2), Reliable: a.flags["--reliable"]}
	if r := a.arg(1); r != "" {
		v, err := strconv.ParseFloat(r, 64)
		if err != nil || !(v > 0) || math.IsInf(v, 0) {
			return nil, errors.New("RATE " + r + ": give the messages per second, a number above 0 (:produce sends one message)")
		}
		spec.Rate = v
	}
	e.post(startProducerMsg{spec: spec})
	return nil, nil
}

func runProduce(e *env, a cmdArgs) (tea.Cmd, error) {
	topic, text := a.arg(0), a.arg(1)
	if topic == "" || text == "" {
		return nil, errors.New("usage: :produce TOPIC TEXT...")
	}
	if bad := checkTopic(topic); bad != "" {
		return nil, errors.New(bad)
	}
	e.post(produceMsg{topic: topic, payload: []byte(text)})
	return nil, nil
}

func runFilter(e *env, a cmdArgs) (tea.Cmd, error) {
	e.post(filterMsg{line: a.arg(0)})
	return nil, nil
}

func runExport(e *env, a cmdArgs) (tea.Cmd, error) {
	path := a.arg(0)
	if path == "" || len(a.pos) > 1 || a.flags["--filtered"] && a.flags["--marked"] {
		return nil, errors.New("usage: :export PATH [--filtered|--marked]")
	}
	e.post(exportMsg{path: path, filtered: a.flags["--filtered"], marked: a.flags["--marked"]})
	return nil, nil
}

func runReplay(e *env, a cmdArgs) (tea.Cmd, error) {
	if len(a.pos) > 1 {
		return nil, errors.New("usage: :replay [TOPIC] [--filtered]")
	}
	topic := a.arg(0)
	if topic != "" {
		if bad := checkTopic(topic); bad != "" {
			return nil, errors.New(bad)
		}
	}
	e.post(replayMsg{topic: topic, filtered: a.flags["--filtered"]})
	return nil, nil
}

func runConnector(e *env, a cmdArgs) (tea.Cmd, error) {
	verb, name := a.arg(0), a.arg(1)
	if verb != "start" && verb != "stop" && verb != "restart" || name == "" || len(a.pos) > 2 {
		return nil, errors.New("usage: :connector start|stop|restart NAME")
	}
	if !slices.ContainsFunc(e.snap.Connectors, func(c monitor.ConnectorStats) bool { return c.Name == name }) {
		return nil, errors.New("no connector " + name)
	}
	e.post(connectorMsg{verb: verb, name: name})
	return nil, nil
}

func runTheme(e *env, a cmdArgs) (tea.Cmd, error) {
	t, err := themes.Lookup(a.arg(0))
	if err != nil || len(a.pos) != 1 {
		return nil, errors.New("themes: " + strings.Join(themes.Names(), ", "))
	}
	e.post(themeMsg{t: t})
	return nil, nil
}

func runReadOnly(e *env, _ cmdArgs) (tea.Cmd, error) {
	e.post(readOnlyMsg{})
	return nil, nil
}

func runEvents(e *env, a cmdArgs) (tea.Cmd, error) {
	if len(a.pos) > 0 {
		return nil, errors.New("usage: :events (it takes no arguments)")
	}
	e.post(eventsMsg{})
	return nil, nil
}

func runHelp(e *env, _ cmdArgs) (tea.Cmd, error) {
	e.post(helpMsg{})
	return nil, nil
}

// runQuit asks the root to quit, as q on a top-level pane does (after the question, when quitting loses
// something).
func runQuit(e *env, _ cmdArgs) (tea.Cmd, error) { e.post(quitMsg{}); return nil, nil }
