// Package tui is the danube console's terminal user interface, built on Bubble Tea v2.
//
// One root Model owns the layout, the focus, the routing of messages, the status bar and the modal stack.
// Each pane (dashboard, topics & lookup, producers, consumers, acks, health, connectors) is a component that
// owns its state, handles the keys routed to it and the messages it owns, and renders a string from the
// latest monitor.Snapshot; it never sees the root Model: every call gets an env (snapshot, styles, clock,
// size, read-only flag, keymap and the backend's domains), and what must reach the root is a request
// message. Views are pure: what drawing depends on is settled after every Update.
//
// The model pulls the snapshot from a monitor.Backend on a tick (10 Hz by default), so the screen costs the
// same whatever the message rate: there is never one Bubble Tea message per Danube message. Every action
// (lookups, taps, acks, replays, connector start/stop, …) belongs to the component that owns its domain,
// runs in a tea.Cmd, off the update loop, and reports back to that component and the status bar. The keymap is the one source of truth for keys: it marks those that change state, which the
// router refuses in read-only mode, and the help overlay and the README's key tables are generated from it.
// Colours come only from the themes package.
package tui

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
)

// Minimum terminal size; below it the console asks for a larger terminal.
const (
	MinWidth  = 60
	MinHeight = 16
)

const (
	defaultTick     = 100 * time.Millisecond
	refreshInterval = 5 * time.Second
	actionTimeout   = 15 * time.Second
	lookupTimeout   = 10 * time.Second
	errorFadeAfter  = 10 * time.Second
	errorDimAfter   = 5 * time.Second
)

// Options configure the console.
type Options struct {
	// Theme is the colour theme; nil means the default (dark) theme.
	Theme *themes.Theme
	// ReadOnly disables the actions that change state: connector start, stop and restart, starting taps,
	// acks, nacks, replays and :produce (stopping a tap, which only releases the console's own consumer,
	// and exports stay allowed). The snapshot's own ReadOnly flag has the same effect, and ctrl+o or
	// :readonly turn it on for the rest of a session; nothing turns it off.
	ReadOnly bool
	// Tick is how often the console pulls a snapshot from the backend; zero means 100ms.
	Tick time.Duration
	// Clock returns the current time, for ages and the fading of errors; nil means time.Now. Tests fix it.
	Clock func() time.Time
	// Input and Output replace the terminal's standard input and output in Run (tests); nil means the
	// defaults.
	Input  io.Reader
	Output io.Writer
	// HistoryFile, when set, keeps the command line's history across sessions: it is read when the console
	// starts and every command run is appended to it. Empty: the history lives in memory only.
	HistoryFile string
	// ClusterName names the cluster the console opens on, shown in the header: a configured cluster's name,
	// "embedded" (the embedded broker), "env" (the DANUBE_ADMIN_* variables) or "flags" (explicit flags).
	// Empty: the header names none.
	ClusterName string
	// Clusters are the names :cluster lists and completes, in order.
	Clusters []string
	// SwitchCluster, when set, connects to the cluster called name and returns its backend: :cluster NAME
	// calls it in a command, off the update loop. It owns the connections: on success the console swaps
	// to the returned backend (the previous one is the callback's to close or keep); on error the console
	// stays on the current cluster and shows the error. Nil: :cluster cannot switch.
	SwitchCluster func(ctx context.Context, name string) (monitor.Backend, error)
	// ThemeChanged, when set, is told the theme's name each time the user switches theme (in a command, off
	// the update loop), e.g. to remember it for the next run.
	ThemeChanged func(name string)
	// TapPrefix starts the names of the console's taps: subscriptions "<prefix>", "<prefix>-2"… and
	// consumers "<prefix>-tap-<n>". It should be unique to the console (others' taps on a topic must not
	// share its subscriptions). Empty: "console-<user>-<4 random hex>", fixed for the process.
	TapPrefix string
	// EventLog, when set, receives every event of the events view as it happens (in a command, off the
	// update loop), with its time: errors at slog.LevelError, warnings at Warn, actions at Info, the
	// event's text as the message and an "event" attribute saying whether the console ("console") or the
	// backend on its own ("backend") reported it. Nil: the events live in the session only.
	EventLog *slog.Logger
}

// paneID identifies a pane; its value + 1 is the pane's number key.
type paneID int

const (
	paneDashboard paneID = iota
	paneTopics
	paneProducers
	paneConsumers
	paneAcks
	paneHealth
	paneConnectors
	paneCluster
	paneProblems
	paneSecurity
	numPanes = 10
)

var paneNames = [numPanes]string{"Dashboard", "Topics", "Producers", "Consumers", "Acks", "Health", "Connectors",
	"Cluster", "Problems", "Security"}

var paneShort = [numPanes]string{"Dash", "Topics", "Prod", "Cons", "Acks", "Health", "Conn", "Clus", "Probs", "Sec"}

// paneKey is a pane's number key: 1 to 9, then 0 for the tenth.
func paneKey(p paneID) string {
	if p == 9 {
		return "0"
	}
	return string(rune('1' + p))
}

// pane is what the root model needs from a pane: a component that owns its state, handles the keys the
// root routes to it and the messages it owns, and renders a string. Panes never implement tea.Model and
// never see the root Model: every call gets an env, and what must reach the root goes through env.post.
type pane interface {
	// key handles a key press while the pane is focused.
	key(e *env, msg tea.KeyPressMsg) tea.Cmd
	// sync settles what the pane's drawing depends on (input widths, viewports, the stream's rows) after
	// every message the root handled, so that view changes nothing.
	sync(e *env)
	// view draws the pane in exactly w×h cells. It is pure: it changes no state.
	view(e *env, w, h int) string
	// tile draws the pane's condensed dashboard tile in exactly w×h cells. It is pure.
	tile(e *env, w, h int, focused bool) string
	// capturing reports that the pane has a text input open that takes every key.
	capturing() bool
	// esc closes the pane's overlay, if any, and reports whether there was one.
	esc() bool
	// bindings returns the pane's key bindings in effect (they depend on what the pane shows: the
	// consumers pane's inspector has its own); the router refuses those that change state in read-only
	// mode before the pane sees them.
	bindings(k *KeyMap) []Binding
}

// Messages of the root model.
type (
	// tickMsg asks the model to pull a new snapshot.
	tickMsg time.Time
	// refreshTickMsg asks for the periodic admin refresh.
	refreshTickMsg struct{}
	// refreshDoneMsg reports the end of a Refresh.
	refreshDoneMsg struct {
		err    error
		manual bool
	}
	// statusMsg puts a message in the status bar.
	statusMsg struct {
		text  string
		level level
	}
)

// level is the severity of a status bar message.
type level int

const (
	levelInfo level = iota
	levelWarn
	levelError
)

// status is the status bar's message slot.
type status struct {
	text  string
	level level
	at    time.Time
}

// Model is the console's root Bubble Tea model. Create it with New; it is used by pointer. It keeps the
// layout, the focus, the routing, the status bar, the modal stack, the command line and the help overlay,
// and hands out the snapshot; every other state (taps, producers, replays, the actions' results) is a
// component's.
type Model struct {
	b    monitor.Backend
	opts Options
	ctx  context.Context

	keys  KeyMap
	theme *themes.Theme
	st    *styles

	w, h   int
	snap   monitor.Snapshot
	active paneID
	panes  [numPanes]pane

	dash       *dashboardPane
	topics     *topicsPane
	producers  *producersPane
	consumers  *consumersPane
	acks       *acksPane
	health     *healthPane
	connectors *connectorsPane
	cluster    *clusterPane
	problems   *problemsPane
	security   *securityPane

	showHelp   bool
	helpOff    int // lines the help overlay is scrolled down
	status     status
	statusOpen bool      // the status bar's message is shown whole, over several lines
	events     *eventLog // the session's errors, warnings and actions (the events view)

	roSession   bool  // read-only turned on at runtime
	quitting    bool  // the user quit: the last frame is blank (see clearOnQuit)
	modal       modal // the open form, prompt or review, if any
	cmd         *cmdLine
	clusterName string // the current cluster's name (the header)
}

var _ tea.Model = (*Model)(nil)

// New returns the console's model over backend b. It takes a first snapshot at once so that the first frame
// has data.
func New(b monitor.Backend, o Options) *Model {
	if o.Tick <= 0 {
		o.Tick = defaultTick
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	th := o.Theme
	if th == nil {
		th = themes.Default()
	}
	m := &Model{
		b:           b,
		opts:        o,
		ctx:         context.Background(),
		keys:        DefaultKeyMap(),
		theme:       th,
		st:          newStyles(th),
		clusterName: o.ClusterName,
		events:      &eventLog{},
	}
	m.topics = newTopicsPane(th)
	m.producers = &producersPane{}
	if o.TapPrefix == "" {
		o.TapPrefix = newTapPrefix()
		m.opts.TapPrefix = o.TapPrefix
	}
	m.consumers = newConsumersPane(th, o.TapPrefix)
	m.acks = &acksPane{}
	m.health = &healthPane{}
	m.connectors = &connectorsPane{pending: map[string]string{}}
	m.dash = newDashboardPane(m.health, m.connectors)
	m.cluster = &clusterPane{}
	m.problems = &problemsPane{}
	m.security = &securityPane{}
	m.panes = [numPanes]pane{m.dash, m.topics, m.producers, m.consumers, m.acks, m.health, m.connectors,
		m.cluster, m.problems, m.security}
	m.cmd = newCmdLine(th, o.HistoryFile)
	m.pull()
	m.sync()
	return m
}

// Run runs the console on the terminal (or Options.Input/Output) until the user quits or ctx is cancelled,
// in which case it returns nil.
func Run(ctx context.Context, b monitor.Backend, o Options) error {
	m := New(b, o)
	m.ctx = ctx
	popts := []tea.ProgramOption{tea.WithContext(ctx)}
	if o.Input != nil {
		popts = append(popts, tea.WithInput(o.Input))
	}
	if o.Output != nil {
		popts = append(popts, tea.WithOutput(o.Output))
	}
	popts = append(popts, tea.WithFilter(clearOnQuit))
	_, err := tea.NewProgram(m, popts...).Run()
	m.events.flush(o.EventLog) // the events of the last update, whose command may not have run
	m.events.w.write(o.EventLog)
	if err != nil && errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// Init starts the snapshot tick and the first admin refresh.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.tick(), m.refreshCmd(false))
}

func (m *Model) tick() tea.Cmd {
	return tea.Tick(m.opts.Tick, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func (m *Model) now() time.Time { return m.opts.Clock() }

// readOnly reports whether state-changing actions are disabled: by Options.ReadOnly, by the backend, or for
// the rest of the session (ctrl+o, :readonly).
func (m *Model) readOnly() bool { return m.opts.ReadOnly || m.snap.ReadOnly || m.roSession }

// refuse reports whether read-only mode disables an action, saying so in the status bar; what names the
// action ("acking messages"). Only the router calls it: keys and commands that change state are refused
// in one place each, from the keymap's and the command table's flags.
func (m *Model) refuse(what string) bool {
	if what == "" || !m.readOnly() {
		return false
	}
	m.setStatus(levelWarn, "read-only: "+what+" is disabled")
	return true
}

// setReadOnly turns read-only mode on for the rest of the session; it cannot be turned off.
func (m *Model) setReadOnly() {
	if m.readOnly() {
		m.setStatus(levelInfo, "read-only already (it stays on for the session)")
		return
	}
	m.roSession = true
	m.setStatus(levelWarn, "read-only: actions that change state are disabled for the rest of the session")
}

// env returns what a component is given for one call: the root's state, read-only, and an outbox.
func (m *Model) env() *env {
	return &env{snap: &m.snap, st: m.st, theme: m.theme, keys: &m.keys, now: m.now(), w: m.w, h: m.h,
		ro: m.readOnly(), ctx: m.ctx, tapSub: m.consumers.tapSub, createdSubs: m.consumers.createdSubs,
		snaps: m.b, taps: m.b, producers: m.b, conns: m.b, admin: m.b,
		cluster: m.b, history: m.b, clusterName: m.clusterName, clusters: m.opts.Clusters}
}

// with calls f with a fresh env, then handles the requests f posted, in order; it returns f's command
// batched with theirs.
func (m *Model) with(f func(e *env) tea.Cmd) tea.Cmd {
	e := m.env()
	cmds := []tea.Cmd{f(e)}
	for len(e.out) > 0 {
		msg := e.out[0]
		e.out = e.out[1:]
		cmds = append(cmds, m.update(msg))
	}
	return tea.Batch(cmds...)
}

// pull takes a fresh snapshot and the visible rows of the consumer stream.
func (m *Model) pull() {
	m.snap = m.b.Snapshot()
	m.events.fromSnapshot(&m.snap)
	e := m.env()
	m.consumers.selectTap(e)
	if m.active == paneConsumers {
		m.consumers.pull(e)
	}
}

// sync lets the components settle what their drawing depends on, after every message: View changes
// nothing.
func (m *Model) sync() {
	if m.tooSmall() {
		return // nothing but a message is drawn
	}
	e := m.env()
	m.panes[m.active].sync(e)
	if m.modal != nil {
		m.modal.sync(e)
	}
	m.cmd.sync(e)
	if m.showHelp {
		m.helpOff = max(0, min(m.helpOff, m.helpMaxOff(m.w, m.bodyHeight())))
	}
}

// refreshCmd reloads topics from the admin API.
func (m *Model) refreshCmd(manual bool) tea.Cmd { return refreshCmd(m.ctx, m.b, manual) }

// refreshCmd reloads topics from the admin API in a command.
func refreshCmd(ctx context.Context, b monitor.Snapshots, manual bool) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		return refreshDoneMsg{err: b.Refresh(ctx), manual: manual}
	}
}

// setStatus puts a message in the status bar and records it as an event of the session.
func (m *Model) setStatus(l level, text string) {
	m.status = status{text: text, level: l, at: m.now()}
	m.events.add(event{at: m.status.at, level: l, text: clean(text)})
}

// setPane focuses a pane.
func (m *Model) setPane(p paneID) {
	if p == m.active {
		return
	}
	m.active = p
	if p == paneConsumers {
		m.consumers.pull(m.env())
	}
}

// showPane shows a pane from an action or a command: the help closes, and the focused pane's overlay.
func (m *Model) showPane(p paneID) {
	m.showHelp = false
	m.panes[m.active].esc()
	m.setPane(p)
}

// Update handles a message, then lets the components settle what their drawing depends on.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := msg.(quittingMsg); ok {
		m.quitting = true // drawn blank, then quit
		return m, tea.Quit
	}
	cmd := m.update(msg)
	m.sync()
	if lc := m.events.flush(m.opts.EventLog); lc != nil {
		cmd = tea.Batch(cmd, lc)
	}
	return m, cmd
}

// cycleTheme switches to the next built-in theme.
func (m *Model) cycleTheme() tea.Cmd { return m.setTheme(themes.Next(m.theme.Name)) }

// setTheme switches to a theme and restyles the text inputs; the command tells Options.ThemeChanged.
func (m *Model) setTheme(t *themes.Theme) tea.Cmd {
	m.theme = t
	m.st = newStyles(m.theme)
	m.topics.restyle(t)
	m.consumers.restyle(t)
	m.cmd.restyle(t)
	if m.modal != nil {
		m.modal.restyle(t)
	}
	m.setStatus(levelInfo, "theme: "+m.theme.Name)
	if f := m.opts.ThemeChanged; f != nil {
		name := t.Name
		return func() tea.Msg { f(name); return nil }
	}
	return nil
}

// switchCluster asks Options.SwitchCluster, in a command, for the backend of the cluster called name.
func (m *Model) switchCluster(name string) tea.Cmd {
	f := m.opts.SwitchCluster
	if f == nil {
		m.setStatus(levelError, "this console cannot switch clusters (it was started without the cluster list)")
		return nil
	}
	m.setStatus(levelInfo, "connecting to cluster "+name+"…")
	ctx := m.ctx
	return func() tea.Msg {
		b, err := f(ctx, name)
		return clusterSwitchedMsg{name: name, b: b, err: err}
	}
}

// clusterSwitched swaps the backend after a switch: the panes start afresh on the new backend (what they
// held was the previous cluster's); the layout, focus, command line, keymap, theme and session read-only
// mode stay. On error, the console stays where it is and says why.
func (m *Model) clusterSwitched(msg clusterSwitchedMsg) tea.Cmd {
	if msg.err != nil {
		m.setStatus(levelError, "cluster "+msg.name+": "+msg.err.Error()+" (still on "+pick(m.clusterName != "", m.clusterName, "the same cluster")+")")
		return nil
	}
	o := m.opts
	o.Theme = m.theme
	n := New(msg.b, o)
	n.ctx, n.w, n.h, n.keys, n.cmd, n.roSession, n.showHelp = m.ctx, m.w, m.h, m.keys, m.cmd, m.roSession, m.showHelp
	n.clusterName, n.events = msg.name, m.events // the session's events go on
	active := m.active
	*m = *n
	m.setPane(active)
	m.pull()
	m.setStatus(levelInfo, "on cluster "+msg.name)
	b, ctx := m.b, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		if err := b.Refresh(ctx); err != nil {
			return statusMsg{text: err.Error(), level: levelError}
		}
		return pullMsg{}
	}
}

const (
	headerHeight = 2
	statusHeight = 1
)

func (m *Model) tooSmall() bool { return m.w < MinWidth || m.h < MinHeight }

// bodyHeight is the height of the pane area.
func (m *Model) bodyHeight() int { return max(0, m.h-headerHeight-statusHeight) }

// quittingMsg is the first quit, which clearOnQuit puts in place of tea.QuitMsg: the model draws a blank
// screen, then quits.
type quittingMsg struct{}

// clearOnQuit is the program's message filter: the first tea.QuitMsg, whichever key or command sent it,
// becomes quittingMsg, so that the last frame drawn on the alternate screen is blank. A terminal that
// reflows when the alternate screen is left at another size than it was entered at (tmux, after the window
// was resized while the console ran) would otherwise push the frame's wider lines into the main screen's
// scrollback: quitting leaves the terminal exactly as it was, as less does.
func clearOnQuit(model tea.Model, msg tea.Msg) tea.Msg {
	if _, ok := msg.(tea.QuitMsg); ok {
		if m, ok := model.(*Model); ok && !m.quitting {
			return quittingMsg{}
		}
	}
	return msg
}

// View draws the whole screen (blank once quitting).
func (m *Model) View() tea.View {
	content := m.render()
	if m.quitting {
		content = ""
	}
	v := tea.NewView(content)
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.WindowTitle = "Danube Console"
	if !m.theme.Plain {
		v.BackgroundColor = m.theme.Color(themes.Background)
		v.ForegroundColor = m.theme.Color(themes.Foreground)
	}
	return v
}

// render draws the screen content.
func (m *Model) render() string {
	if m.w <= 0 || m.h <= 0 {
		return ""
	}
	if m.tooSmall() {
		need := "need at least " + itoa(MinWidth) + "×" + itoa(MinHeight) + ", have " + itoa(m.w) + "×" + itoa(m.h)
		msg := m.st.warn.r(truncate("terminal too small: "+need, m.w))
		if textWidth("terminal too small: "+need) > m.w {
			msg = m.st.warn.r(truncate("terminal too small", m.w)) + "\n" + m.st.warn.r(truncate(need, m.w))
		}
		return center(msg, m.w, m.h)
	}
	var b strings.Builder
	b.Grow(m.w * m.h * 4)
	b.WriteString(m.renderHeader())
	b.WriteByte('\n')
	bh := m.bodyHeight()
	var body string
	e := m.env()
	if m.showHelp {
		body = m.renderHelp(m.w, bh)
	} else {
		body = m.panes[m.active].view(e, m.w, bh)
		if m.modal != nil {
			body = overlay(body, m.modal.view(e, m.w, bh), m.w, bh)
		}
	}
	if m.cmd.open {
		body = m.cmd.strip(e, body, m.w, bh)
	} else if m.statusOpen {
		body = m.expandStatus(body, m.w, bh)
	}
	b.WriteString(body)
	b.WriteByte('\n')
	if m.cmd.open {
		b.WriteString(m.cmd.view(e, m.w))
	} else {
		b.WriteString(m.renderStatus())
	}
	return b.String()
}
