// Package tui is the danube console's terminal user interface, built on Bubble Tea v2.
//
// One root Model owns the layout, the focus and the key routing; each pane (dashboard, topics & lookup,
// producers, consumers, acks, health, connectors) lives in its own file and draws itself from the latest
// monitor.Snapshot. The model pulls that snapshot from a monitor.Backend on a tick (10 Hz by default), so
// the screen costs the same whatever the message rate: there is never one Bubble Tea message per Danube
// message. Every action (lookups, refreshes, connector start/stop) runs in a tea.Cmd, off the update loop,
// and reports back to the status bar. Colours come only from the themes package.
package tui

import (
	"context"
	"errors"
	"io"
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
	// and exports stay allowed). The snapshot's own ReadOnly flag has the same effect, and ctrl+r or
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
	numPanes = 7
)

var paneNames = [numPanes]string{"Dashboard", "Topics", "Producers", "Consumers", "Acks", "Health", "Connectors"}

var paneShort = [numPanes]string{"Dash", "Topics", "Prod", "Cons", "Acks", "Health", "Conn"}

// pane is what the root model needs from a pane. Panes never implement tea.Model: the root routes keys to
// the focused pane and asks it to draw into a rectangle.
type pane interface {
	// key handles a key press while the pane is focused.
	key(m *Model, msg tea.KeyPressMsg) tea.Cmd
	// view draws the pane in exactly w×h cells.
	view(m *Model, w, h int) string
	// tile draws the pane's condensed dashboard tile in exactly w×h cells.
	tile(m *Model, w, h int, focused bool) string
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

// Model is the console's root Bubble Tea model. Create it with New; it is used by pointer.
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

	showHelp bool
	helpOff  int // lines the help overlay is scrolled down
	status   status

	roSession        bool  // read-only turned on at runtime
	modal            modal // the open form, prompt or review, if any
	cmd              *cmdLine
	taps             int               // taps started (for their generated names)
	producersStarted int               // the highest n of the "producer-<n>" names given
	replays          int               // replays reviewed (their ids tell stale progress apart)
	replaying        *replayModal      // the running replay, if any
	schemas          map[uint64]string // schema subjects by id, as answered by the backend
	schemaReq        map[uint64]bool   // schema ids asked for
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
		b:     b,
		opts:  o,
		ctx:   context.Background(),
		keys:  DefaultKeyMap(),
		theme: th,
		st:    newStyles(th),
	}
	m.dash = &dashboardPane{}
	m.topics = newTopicsPane(m)
	m.producers = &producersPane{}
	m.consumers = &consumersPane{follow: true, marks: map[uint64]bool{}}
	m.acks = &acksPane{}
	m.health = &healthPane{}
	m.connectors = &connectorsPane{pending: map[string]string{}}
	m.panes = [numPanes]pane{m.dash, m.topics, m.producers, m.consumers, m.acks, m.health, m.connectors}
	m.schemas, m.schemaReq = map[uint64]string{}, map[uint64]bool{}
	m.consumers.init(m)
	m.cmd = newCmdLine(m)
	m.pull()
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
	_, err := tea.NewProgram(m, popts...).Run()
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
// the rest of the session (ctrl+r, :readonly).
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

// pull takes a fresh snapshot and the visible rows of the consumer stream.
func (m *Model) pull() {
	m.snap = m.b.Snapshot()
	m.consumers.selectTap(m)
	if m.active == paneConsumers {
		m.consumers.pull(m)
	}
}

// refreshCmd reloads topics from the admin API.
func (m *Model) refreshCmd(manual bool) tea.Cmd {
	b, ctx := m.b, m.ctx
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, actionTimeout)
		defer cancel()
		return refreshDoneMsg{err: b.Refresh(ctx), manual: manual}
	}
}

// setStatus puts a message in the status bar.
func (m *Model) setStatus(l level, text string) {
	m.status = status{text: text, level: l, at: m.now()}
}

// setPane focuses a pane.
func (m *Model) setPane(p paneID) {
	if p == m.active {
		return
	}
	m.active = p
	if p == paneConsumers {
		m.consumers.pull(m)
	}
}

// Update handles a message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		if m.active == paneConsumers {
			m.consumers.pull(m)
		}
		return m, nil
	case tickMsg:
		m.pull()
		return m, m.tick()
	case refreshTickMsg:
		return m, m.refreshCmd(false)
	case refreshDoneMsg:
		if msg.err != nil {
			m.setStatus(levelError, msg.err.Error()) // "refresh: ..."
		} else if msg.manual {
			m.setStatus(levelInfo, "topics refreshed")
		}
		m.pull()
		if msg.manual {
			return m, nil
		}
		return m, tea.Tick(refreshInterval, func(time.Time) tea.Msg { return refreshTickMsg{} })
	case statusMsg:
		m.setStatus(msg.level, msg.text)
		return m, nil
	case lookupDoneMsg:
		m.topics.lookupDone(m, msg)
		return m, nil
	case actionDoneMsg:
		m.connectors.actionDone(m, msg)
		return m, nil
	case tapDoneMsg:
		m.tapDone(msg)
		return m, nil
	case unsubscribeDoneMsg:
		m.unsubscribeDone(msg)
		return m, nil
	case producerDoneMsg:
		m.producerDone(msg)
		return m, nil
	case stopTapDoneMsg:
		m.stopTapDone(msg)
		return m, nil
	case settleDoneMsg:
		m.settleDone(msg)
		return m, nil
	case replayProgressMsg:
		return m, m.replayProgress(msg)
	case replayDoneMsg:
		m.replayDone(msg)
		return m, nil
	case exportDoneMsg:
		m.exportDone(msg)
		return m, nil
	case produceDoneMsg:
		m.produceDone(msg)
		return m, nil
	case schemaMsg:
		m.schemaDone(msg)
		return m, nil
	case tea.KeyPressMsg:
		return m, m.handleKey(msg)
	case tea.MouseClickMsg:
		return m, m.handleClick(msg.Mouse())
	case tea.MouseWheelMsg:
		return m, m.handleWheel(msg.Mouse())
	}
	// Anything else (e.g. the text inputs' internal messages, pastes) goes to the open text input.
	switch {
	case m.cmd.open:
		return m, m.cmd.input(msg)
	case m.modal != nil:
		return m, m.modal.input(m, msg)
	case m.topics.capturing():
		return m, m.topics.input(m, msg)
	case m.consumers.capturing():
		return m, m.consumers.input(msg)
	}
	return m, nil
}

func (m *Model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	g := m.keys.Global
	p := m.panes[m.active]
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	if m.cmd.open {
		return m.cmd.key(msg)
	}
	if m.modal != nil {
		if m.refuse(m.modal.confirming(&m.keys, msg)) {
			m.modal = nil
			return nil
		}
		return m.modal.key(m, msg)
	}
	if p.capturing() {
		return p.key(m, msg)
	}
	if m.showHelp {
		n := m.keys.Nav
		switch {
		case matches(msg, g.Quit):
			return tea.Quit
		case matches(msg, g.Help, g.Close):
			m.showHelp = false
		case matches(msg, g.Theme):
			m.cycleTheme()
		case matches(msg, n.Down):
			m.helpOff++
		case matches(msg, n.Up):
			m.helpOff--
		case matches(msg, n.PageDown):
			m.helpOff += max(1, m.bodyHeight()-3)
		case matches(msg, n.PageUp):
			m.helpOff -= max(1, m.bodyHeight()-3)
		case matches(msg, n.Top):
			m.helpOff = 0
		case matches(msg, n.Bottom):
			m.helpOff = 1 << 20
		}
		m.helpOff = max(0, m.helpOff) // the upper bound is applied when drawing
		return nil
	}
	switch {
	case matches(msg, g.Quit):
		return tea.Quit
	case matches(msg, g.Help):
		m.showHelp, m.helpOff = true, 0
		return nil
	case matches(msg, g.Command):
		return m.cmd.openLine("")
	case matches(msg, g.ReadOnly):
		m.setReadOnly()
		return nil
	case matches(msg, g.Close):
		if !p.esc() && m.active != paneDashboard {
			// Nothing to close: esc goes back to the dashboard, as in k9s.
			m.setPane(paneDashboard)
		}
		return nil
	case matches(msg, g.Theme):
		m.cycleTheme()
		return nil
	case matches(msg, g.NextPane):
		p.esc()
		m.setPane((m.active + 1) % numPanes)
		return nil
	case matches(msg, g.PrevPane):
		p.esc()
		m.setPane((m.active + numPanes - 1) % numPanes)
		return nil
	}
	for i, b := range g.Panes {
		if matches(msg, b) {
			p.esc()
			m.setPane(paneID(i))
			return nil
		}
	}
	// Read-only mode is enforced here, from the keymap: a key whose action changes state never reaches
	// the pane.
	if b, ok := refused(msg, p.bindings(&m.keys)); ok && m.refuse(b.Changes) {
		return nil
	}
	return p.key(m, msg)
}

// cycleTheme switches to the next built-in theme.
func (m *Model) cycleTheme() { m.setTheme(themes.Next(m.theme.Name)) }

// setTheme switches to a theme and restyles the text inputs.
func (m *Model) setTheme(t *themes.Theme) {
	m.theme = t
	m.st = newStyles(m.theme)
	m.topics.restyle(m)
	m.consumers.restyle(m)
	m.cmd.restyle()
	if m.modal != nil {
		m.modal.restyle(m)
	}
	m.setStatus(levelInfo, "theme: "+m.theme.Name)
}

// handleClick switches panes when a tab of the header is clicked, focuses a dashboard tile, and focuses
// and selects the row under the mouse in the other panes.
func (m *Model) handleClick(mo tea.Mouse) tea.Cmd {
	if m.tooSmall() || m.showHelp || m.modal != nil || m.cmd.open || mo.Button != tea.MouseLeft {
		return nil
	}
	if mo.Y == 1 {
		for _, t := range tabLayout(m.w) {
			if mo.X >= t.x0 && mo.X < t.x1 {
				m.panes[m.active].esc()
				m.setPane(t.id)
				return nil
			}
		}
		return nil
	}
	y := mo.Y - headerHeight
	if y < 0 || y >= m.bodyHeight() || m.panes[m.active].capturing() {
		return nil
	}
	if m.active == paneDashboard {
		m.dash.click(m, mo.X, y)
		return nil
	}
	if c, ok := m.panes[m.active].(clicker); ok {
		c.click(m, mo.X, y)
	}
	return nil
}

// clicker is a pane that selects the row under a click (x, y in the pane's area).
type clicker interface {
	click(m *Model, x, y int)
}

// wheeler is a pane that scrolls the list under the mouse (x, y in the pane's area; delta lines, negative
// up).
type wheeler interface {
	wheel(m *Model, x, y, delta int)
}

// handleWheel scrolls the help overlay, or the list under the mouse.
func (m *Model) handleWheel(mo tea.Mouse) tea.Cmd {
	var delta int
	switch mo.Button {
	case tea.MouseWheelUp:
		delta = -1
	case tea.MouseWheelDown:
		delta = 1
	default:
		return nil
	}
	if m.tooSmall() || m.modal != nil || m.cmd.open || m.panes[m.active].capturing() {
		return nil
	}
	if m.showHelp {
		m.helpOff = max(0, m.helpOff+delta)
		return nil
	}
	if w, ok := m.panes[m.active].(wheeler); ok {
		w.wheel(m, mo.X, mo.Y-headerHeight, delta)
		return nil
	}
	k := tea.KeyPressMsg{Code: tea.KeyDown}
	if delta < 0 {
		k = tea.KeyPressMsg{Code: tea.KeyUp}
	}
	return m.panes[m.active].key(m, k)
}

const (
	headerHeight = 2
	statusHeight = 1
)

func (m *Model) tooSmall() bool { return m.w < MinWidth || m.h < MinHeight }

// bodyHeight is the height of the pane area.
func (m *Model) bodyHeight() int { return max(0, m.h-headerHeight-statusHeight) }

// View draws the whole screen.
func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
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
	if m.showHelp {
		body = m.renderHelp(m.w, bh)
	} else {
		body = m.panes[m.active].view(m, m.w, bh)
		if m.modal != nil {
			body = overlay(body, m.modal.view(m, m.w, bh), m.w, bh)
		}
	}
	if m.cmd.open {
		body = m.cmd.strip(body, m.w, bh)
	}
	b.WriteString(body)
	b.WriteByte('\n')
	if m.cmd.open {
		b.WriteString(m.cmd.view(m.w))
	} else {
		b.WriteString(m.renderStatus())
	}
	return b.String()
}
