package tui

import (
	"bufio"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
)

// This file holds the command line (:), k9s style: a line at the bottom with completion (tab cycles the
// names of commands, then of their arguments: topics, subscriptions, types, taps, connectors, themes,
// flags) and a history (up/down), kept in memory and, with Options.HistoryFile, in a file. Every command
// is in the commands table, which also feeds the help overlay.

// historyMax is how many commands the history keeps.
const historyMax = 500

// command is a command of the command line.
type command struct {
	name    string
	aliases []string
	usage   string // the arguments, e.g. "TOPIC [SUB] [TYPE] [--manual]"
	help    string
	danger  bool     // changes state: disabled in read-only mode
	flags   []string // the flags it takes
	rest    int      // from this positional argument on, the rest of the line is one raw argument (-1: none)
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
		{name: "consume", aliases: []string{"tap"}, usage: "TOPIC [SUB] [TYPE] [--manual]", help: "start a tap", danger: true,
			flags: []string{"--manual"}, rest: -1, complete: completeConsume, run: runConsume},
		{name: "stop", usage: "[TAP|PRODUCER] [--unsubscribe]", help: "stop a tap or a console producer", rest: -1,
			flags: []string{"--unsubscribe"}, complete: completeTaps, run: runStop},
		{name: "unsubscribe", usage: "TOPIC SUB", help: "delete a subscription and its kept messages", danger: true, rest: -1,
			complete: completeUnsubscribe, run: runUnsubscribe},
		{name: "producer", usage: "TOPIC [RATE] [KEY] [--reliable]", help: "start a producer of test messages", danger: true,
			flags: []string{"--reliable"}, rest: -1, complete: argTopics(0), run: runProducer},
		{name: "produce", usage: "TOPIC TEXT...", help: "publish one message", danger: true, rest: 1,
			complete: argTopics(0), run: runProduce},
		{name: "filter", usage: "[EXPR]", help: "filter the stream (empty: clear)", rest: 0, run: runFilter},
		{name: "export", usage: "PATH [--filtered|--marked]", help: "write messages as JSON lines",
			flags: []string{"--filtered", "--marked"}, rest: -1, run: runExport},
		{name: "replay", usage: "[TOPIC] [--filtered]", help: "re-publish messages (review first)", danger: true,
			flags: []string{"--filtered"}, rest: -1, complete: argTopics(0), run: runReplay},
		{name: "connector", usage: "start|stop|restart NAME", help: "act on a connector", danger: true, rest: -1,
			complete: completeConnector, run: runConnector},
		{name: "theme", usage: "NAME", help: "switch theme", rest: -1, complete: completeThemes, run: runTheme},
		{name: "readonly", help: "read-only for the session", rest: -1, run: runReadOnly},
		{name: "help", help: "show the keys", rest: -1, run: runHelp},
		{name: "quit", aliases: []string{"q"}, help: "quit", rest: -1, run: runQuit},
	}
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

// cmdLine is the command line's state.
type cmdLine struct {
	m    *Model
	cmds []*command
	open bool
	in   textinput.Model
	err  string

	hist  []string
	hi    int    // position in hist while browsing (len(hist): the line being typed)
	draft string // the line being typed, kept while browsing the history

	comp completion
}

// completion is the state of tab completion: the line up to the token being completed, its candidates
// and the one shown.
type completion struct {
	active bool
	base   string
	cands  []string
	i      int
	note   string
}

// newCmdLine returns the command line, with the history of Options.HistoryFile.
func newCmdLine(m *Model) *cmdLine {
	c := &cmdLine{m: m, cmds: commands()}
	c.in = newInput(m, ":", "command (tab completes, ↑ history)")
	c.in.CharLimit = 4096
	if path := m.opts.HistoryFile; path != "" {
		if f, err := os.Open(path); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if l := strings.TrimSpace(sc.Text()); l != "" {
					c.hist = append(c.hist, l)
				}
			}
			f.Close()
			if len(c.hist) > historyMax {
				c.hist = c.hist[len(c.hist)-historyMax:]
				if len(c.hist) > 0 {
					// Keep the file from growing without bound: rewrite it with what is kept.
					_ = os.WriteFile(path, []byte(strings.Join(c.hist, "\n")+"\n"), 0o600)
				}
			}
		}
	}
	c.hi = len(c.hist)
	return c
}

func (c *cmdLine) restyle() { styleInput(&c.in, c.m.theme) }

// openLine opens the command line with text in it.
func (c *cmdLine) openLine(text string) tea.Cmd {
	c.open, c.err, c.comp = true, "", completion{}
	c.hi, c.draft = len(c.hist), ""
	c.in.SetValue(text)
	c.in.CursorEnd()
	return c.in.Focus()
}

func (c *cmdLine) close() {
	c.open, c.err, c.comp = false, "", completion{}
	c.in.Blur()
	c.in.Reset()
}

func (c *cmdLine) input(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	c.in, cmd = c.in.Update(msg)
	return cmd
}

func (c *cmdLine) key(msg tea.KeyPressMsg) tea.Cmd {
	m := c.m
	k := m.keys.Prompt
	switch s := msg.String(); {
	case key.Matches(msg, k.Cancel):
		c.close()
		return nil
	case key.Matches(msg, k.Submit):
		return c.execute()
	case key.Matches(msg, k.Complete):
		c.complete(s == "shift+tab")
		return nil
	case key.Matches(msg, k.History):
		c.browse(pick(s == "up", -1, 1))
		return nil
	}
	c.err, c.comp = "", completion{}
	return c.input(msg)
}

// browse moves through the history: -1 older, +1 newer (past the newest: the line being typed).
func (c *cmdLine) browse(d int) {
	if len(c.hist) == 0 {
		return
	}
	if c.hi == len(c.hist) {
		c.draft = c.in.Value()
	}
	c.hi = max(0, min(c.hi+d, len(c.hist)))
	if c.hi == len(c.hist) {
		c.in.SetValue(c.draft)
	} else {
		c.in.SetValue(c.hist[c.hi])
	}
	c.in.CursorEnd()
	c.err, c.comp = "", completion{}
}

// remember adds a command to the history (and its file).
func (c *cmdLine) remember(line string) {
	if n := len(c.hist); n == 0 || c.hist[n-1] != line {
		c.hist = append(c.hist, line)
		if len(c.hist) > historyMax {
			c.hist = c.hist[len(c.hist)-historyMax:]
		}
		if path := c.m.opts.HistoryFile; path != "" {
			err := os.MkdirAll(filepath.Dir(path), 0o700)
			var f *os.File
			if err == nil {
				f, err = os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
			}
			if err == nil {
				_, err = f.WriteString(line + "\n")
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				c.m.setStatus(levelWarn, "history: "+err.Error())
			}
		}
	}
	c.hi = len(c.hist)
}

// token is a word of the command line and where it starts.
type token struct {
	s     string
	start int
}

func tokenize(line string) []token {
	var out []token
	start := -1
	for i, r := range line {
		if r == ' ' || r == '\t' {
			if start >= 0 {
				out = append(out, token{line[start:i], start})
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, token{line[start:], start})
	}
	return out
}

// parse parses a command line into its command and arguments.
func (c *cmdLine) parse(line string) (*command, cmdArgs, error) {
	toks := tokenize(line)
	if len(toks) == 0 {
		return nil, cmdArgs{}, nil
	}
	name := toks[0].s
	cmd := findCommand(c.cmds, name)
	if cmd == nil {
		return nil, cmdArgs{}, c.unknown(name)
	}
	a := cmdArgs{flags: map[string]bool{}}
	for _, t := range toks[1:] {
		if cmd.rest >= 0 && len(a.pos) == cmd.rest {
			a.pos = append(a.pos, strings.TrimSpace(line[t.start:]))
			break
		}
		if strings.HasPrefix(t.s, "--") {
			if !slices.Contains(cmd.flags, t.s) {
				if len(cmd.flags) == 0 {
					return nil, a, errors.New("unknown flag " + t.s + " (:" + cmd.name + " takes none)")
				}
				return nil, a, errors.New("unknown flag " + t.s + " (:" + cmd.name + " takes " + strings.Join(cmd.flags, ", ") + ")")
			}
			a.flags[t.s] = true
			continue
		}
		a.pos = append(a.pos, t.s)
	}
	return cmd, a, nil
}

// unknown is the error of an unknown command, with the closest name.
func (c *cmdLine) unknown(name string) error {
	best, bd := "", 1<<30
	for _, cmd := range c.cmds {
		for _, n := range append([]string{cmd.name}, cmd.aliases...) {
			d := editDistance(name, n)
			if strings.HasPrefix(n, name) {
				d = min(d, 1)
			}
			if d < bd {
				best, bd = cmd.name, d
			}
		}
	}
	msg := "unknown command \"" + name + "\""
	if bd <= max(2, len(name)/2) {
		return errors.New(msg + " — did you mean :" + best + "?")
	}
	return errors.New(msg + " — :help lists the commands")
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// execute runs the line: errors stay in the command line, which then stays open.
func (c *cmdLine) execute() tea.Cmd {
	line := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(c.in.Value()), ":"))
	if line == "" {
		c.close()
		return nil
	}
	cmd, args, err := c.parse(line)
	if err == nil && cmd.danger && c.m.readOnly() {
		err = errors.New("read-only: :" + cmd.name + " is disabled")
		c.m.setStatus(levelWarn, err.Error())
	}
	var tc tea.Cmd
	if err == nil {
		tc, err = cmd.run(c.m, args)
	}
	if err != nil {
		c.err, c.comp = err.Error(), completion{}
		return nil
	}
	c.remember(line)
	c.close()
	return tc
}

// complete replaces the word before the cursor by the next (or previous) candidate.
func (c *cmdLine) complete(back bool) {
	line := c.in.Value()
	if c.comp.active && len(c.comp.cands) > 0 && line == c.comp.base+c.comp.cands[c.comp.i] {
		n := len(c.comp.cands)
		c.comp.i = (c.comp.i + pick(back, n-1, 1)) % n
		c.in.SetValue(c.comp.base + c.comp.cands[c.comp.i])
		c.in.CursorEnd()
		return
	}
	toks := tokenize(line)
	word, base := "", line
	if len(toks) > 0 && !strings.HasSuffix(line, " ") {
		t := toks[len(toks)-1]
		word, base = t.s, line[:t.start]
		toks = toks[:len(toks)-1]
	}
	var all []string
	if len(toks) == 0 {
		for _, cmd := range c.cmds {
			all = append(all, cmd.name)
		}
	} else if cmd := findCommand(c.cmds, toks[0].s); cmd != nil {
		var prev []string
		for _, t := range toks[1:] {
			if !strings.HasPrefix(t.s, "--") {
				prev = append(prev, t.s)
			}
		}
		if strings.HasPrefix(word, "-") {
			all = cmd.flags
		} else if cmd.complete != nil && (cmd.rest < 0 || len(prev) < cmd.rest) {
			all = cmd.complete(c.m, len(prev), prev)
		}
		if word == "" && len(all) == 0 {
			all = cmd.flags
		}
	}
	var cands []string
	for _, s := range all {
		if strings.HasPrefix(s, word) && !slices.Contains(cands, s) {
			cands = append(cands, s)
		}
	}
	c.comp = completion{base: base}
	switch len(cands) {
	case 0:
		c.comp.note = "no completions"
	case 1:
		c.in.SetValue(base + cands[0] + " ")
	default:
		c.comp.active, c.comp.cands = true, cands
		if back {
			c.comp.i = len(cands) - 1
		}
		c.in.SetValue(base + cands[c.comp.i])
	}
	c.in.CursorEnd()
}

// view draws the command line in place of the status bar.
func (c *cmdLine) view(w int) string {
	st := c.m.st
	if c.err == "" {
		return inputLine(&c.in, w)
	}
	ew := min(textWidth(c.err)+4, w/2+w/4)
	return padANSI(inputLine(&c.in, w-ew)+st.err.r(fit("  ✗ "+clean(c.err), ew, false)), w)
}

// strip draws, over the last line of the body, the completion candidates (the current one selected) or
// the usage of the command being typed.
func (c *cmdLine) strip(body string, w, h int) string {
	st := c.m.st
	l := newLine(w).space(1)
	switch {
	case c.comp.active:
		for i, s := range c.comp.cands {
			if l.room() < textWidth(s)+2 {
				l.add(st.muted, "…")
				break
			}
			if i == c.comp.i {
				l.add(st.selected, "["+clean(s)+"]")
			} else {
				l.add(st.text, " "+clean(s)+" ")
			}
		}
	case c.comp.note != "":
		l.add(st.muted, c.comp.note)
	default:
		toks := tokenize(c.in.Value())
		if len(toks) == 0 {
			l.add(st.muted, "commands: ")
			for i, cmd := range c.cmds {
				if i > 0 {
					l.add(st.muted, " ")
				}
				l.add(pick(cmd.danger && c.m.readOnly(), st.muted, st.text), cmd.name)
			}
			break
		}
		cmd := findCommand(c.cmds, toks[0].s)
		if cmd == nil {
			l.add(st.muted, "tab completes the command names")
			break
		}
		l.add(st.key, ":"+cmd.name).add(st.text, pick(cmd.usage != "", " "+cmd.usage, "")).add(st.muted, " — "+cmd.help)
		if cmd.danger && c.m.readOnly() {
			l.add(st.warn, " (read-only)")
		}
	}
	lines := strings.Split(body, "\n")
	if h > 0 && len(lines) >= h {
		lines[h-1] = l.String()
	}
	return strings.Join(lines, "\n")
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
	m.showHelp = false
	m.panes[m.active].esc()
	m.setPane(paneTopics)
	return m.topics.lookup(m, topic), nil
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
		c := m.consumers.selected(m)
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
		return m.stopAdHoc(name, true), nil
	}
	if unsub {
		if m.refuse("deleting subscriptions") {
			return nil, nil
		}
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
	if err := m.consumers.setFilter(m, a.arg(0)); err != nil {
		return nil, err
	}
	m.showHelp = false
	if m.active != paneConsumers {
		m.panes[m.active].esc()
		m.setPane(paneConsumers)
	}
	return nil, nil
}

func runExport(m *Model, a cmdArgs) (tea.Cmd, error) {
	path := a.arg(0)
	if path == "" || len(a.pos) > 1 || a.flags["--filtered"] && a.flags["--marked"] {
		return nil, errors.New("usage: :export PATH [--filtered|--marked]")
	}
	p := m.consumers
	if p.stream == "" {
		p.pull(m)
	}
	if p.stream == "" {
		return nil, errors.New("no stream: select a consumer on the consumers pane (4)")
	}
	var msgs []monitor.Message
	switch {
	case a.flags["--filtered"]:
		msgs = p.filtered(m)
	case a.flags["--marked"]:
		if len(p.marks) == 0 {
			return nil, errors.New("no marked messages (space marks them in the stream)")
		}
		msgs, _ = p.targets(m)
	default:
		if msgs, _ = p.targets(m); len(msgs) == 0 {
			msgs = p.filtered(m)
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
	p := m.consumers
	if p.stream == "" {
		p.pull(m)
	}
	if p.stream == "" {
		return nil, errors.New("no stream: select a consumer on the consumers pane (4)")
	}
	var msgs []monitor.Message
	what := "filtered"
	if a.flags["--filtered"] {
		msgs = p.filtered(m)
	} else {
		msgs, what = p.targets(m)
	}
	if len(msgs) == 0 {
		return nil, errors.New("nothing to replay: select or mark messages, or use --filtered")
	}
	if m.active != paneConsumers {
		m.showHelp = false
		m.panes[m.active].esc()
		m.setPane(paneConsumers)
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
	p := m.connectors
	if v, busy := p.pending[name]; busy {
		return nil, errors.New(name + ": already " + v)
	}
	p.pending[name] = pick(verb == "stop", "stopping", verb+"ing")
	m.setStatus(levelInfo, p.pending[name]+" "+name+"…")
	return connectorAction(m.ctx, m.b, name, verb), nil
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
