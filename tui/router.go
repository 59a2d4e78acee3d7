package tui

import (
	"errors"
	"time"

	tea "charm.land/bubbletea/v2"
)

// This file holds the root's routing: of messages, to the root itself (its ticks, the requests components
// post) or to the component that owns them (a tap's result to the consumers pane, a lookup's to the
// topics pane); of input: keys go to the command line, the open modal, a pane's open text input, the help
// overlay, the global keys, then the focused pane, in that order; read-only mode is enforced here, from
// the keymap and the command table, before any component sees a key or a command that changes state.
// ctrl+c quits from anywhere; q and esc go back one level (the help overlay, a pane's sub-view: the
// inspector, the stream, a topic's detail), q quits only from a top-level pane, and esc there goes back
// to the dashboard. Quitting (q, ctrl+c, :quit) asks first when it would lose something (quit.go); ctrl+c
// on that question quits at once. Modals and text inputs take q and esc themselves (a form closes on esc).
// Clicks and the wheel go to the header's tabs or to the pane under the mouse.

// update routes a message: the root's own, the requests components post, data messages to the component
// that owns them, keys and the mouse to the focus.
func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		if m.active == paneConsumers {
			m.consumers.pull(m.env())
		}
		return nil
	case tickMsg:
		m.pull()
		return m.tick()
	case refreshTickMsg:
		return m.refreshCmd(false)
	case refreshDoneMsg:
		if msg.err != nil {
			m.setStatus(levelError, msg.err.Error()) // "refresh: ..."
		} else if msg.manual {
			m.setStatus(levelInfo, "refreshed")
		}
		m.pull()
		if msg.manual {
			return nil
		}
		return tea.Tick(refreshInterval, func(time.Time) tea.Msg { return refreshTickMsg{} })

	// The requests to the root.
	case statusMsg:
		m.setStatus(msg.level, msg.text)
		return nil
	case showPaneMsg:
		m.showPaneFor(msg)
		return nil
	case openModalMsg:
		m.openModal(msg.m)
		return nil
	case closeModalMsg:
		m.closeModal(msg.only)
		return nil
	case pullMsg:
		m.pull()
		return nil
	case cmdFailMsg:
		if msg.err != nil {
			m.cmd.fail(msg.err)
		}
		return nil
	case themeMsg:
		return m.setTheme(msg.t)
	case switchClusterMsg:
		return m.switchCluster(msg.name)
	case clusterSwitchedMsg:
		return m.clusterSwitched(msg)
	case helpMsg:
		m.showHelp, m.helpOff = true, 0
		return nil
	case readOnlyMsg:
		m.setReadOnly()
		return nil
	case quitMsg:
		return m.quit()
	case quitNowMsg:
		return tea.Quit
	case quitDeletedMsg:
		return m.quitDeleted(msg)
	case eventsMsg:
		m.showHelp = false
		m.openModal(&eventsView{log: m.events})
		return nil

	// The messages a component owns: requests it serves and the results of its actions.
	case lookupMsg:
		return m.with(func(e *env) tea.Cmd { return m.topics.lookup(e, msg.topic) })
	case lookupDoneMsg:
		return m.with(func(e *env) tea.Cmd { m.topics.lookupDone(e, msg); return nil })
	case topicActMsg, topicActDoneMsg, describeDoneMsg, focusTopicMsg:
		return m.with(func(e *env) tea.Cmd { return m.topics.update(e, msg) })
	case connectorMsg:
		return m.with(func(e *env) tea.Cmd { return m.connectors.command(e, msg) })
	case actionDoneMsg:
		return m.with(func(e *env) tea.Cmd { m.connectors.actionDone(e, msg); return nil })
	case openTapFormMsg, startTapMsg, tapCheckMsg, tapDoneMsg, stopTapMsg, tapStoppedMsg, unsubscribeMsg, unsubscribeDoneMsg,
		settleMsg, settleDoneMsg, resettleMsg, filterMsg, exportMsg, exportDoneMsg, schemaMsg,
		replayMsg, replayStartedMsg, replayProgressMsg, replayDoneMsg, quitDeleteMsg:
		return m.with(func(e *env) tea.Cmd { return m.consumers.update(e, msg) })
	case startProducerMsg, producerDoneMsg, stopProducerMsg, producerStoppedMsg, produceMsg, produceDoneMsg:
		return m.with(func(e *env) tea.Cmd { return m.producers.update(e, msg) })
	case focusBrokerMsg, brokerActionMsg, brokerDoneMsg:
		return m.with(func(e *env) tea.Cmd { return m.cluster.update(e, msg) })
	case securityActionMsg, securityDoneMsg:
		return m.with(func(e *env) tea.Cmd { return m.security.update(e, msg) })

	case tea.KeyPressMsg:
		return m.handleKey(msg)
	case tea.MouseClickMsg:
		return m.handleClick(msg.Mouse())
	case tea.MouseWheelMsg:
		return m.handleWheel(msg.Mouse())
	}
	// Anything else (e.g. the text inputs' internal messages, pastes) goes to the open text input.
	switch {
	case m.cmd.open:
		return m.cmd.input(msg)
	case m.modal != nil:
		return m.modal.input(msg)
	case m.topics.capturing():
		return m.topics.input(msg)
	case m.consumers.capturing():
		return m.consumers.input(msg)
	}
	return nil
}

// showPaneFor shows the pane a component asked for.
func (m *Model) showPaneFor(msg showPaneMsg) {
	switch {
	case msg.stay && msg.id == m.active:
		m.showHelp = false
	case msg.fresh:
		m.showHelp = false
		m.panes[m.active].esc()
		m.active = msg.id
		m.pull()
	default:
		m.showPane(msg.id)
	}
}

// cmdKey handles a key while the command line is open: the line edits itself (completing from the
// commands' sources); enter runs the command.
func (m *Model) cmdKey(msg tea.KeyPressMsg) tea.Cmd {
	if !matches(msg, m.keys.Prompt.Submit) {
		e := m.env()
		return m.cmd.key(&m.keys, msg, func(cmd *command, i int, prev []string) []string {
			if cmd.complete == nil {
				return nil
			}
			return cmd.complete(e, i, prev)
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
	if err != nil {
		c.fail(err)
		return nil
	}
	c.err = ""
	tc := m.with(func(e *env) tea.Cmd {
		tc, err := cmd.run(e, args)
		if err != nil {
			e.post(cmdFailMsg{err: err})
		}
		return tc
	})
	if c.err != "" {
		return nil // the command failed, or the component it went to refused it (cmdFailMsg)
	}
	if err := c.remember(line); err != nil {
		m.setStatus(levelWarn, "history: "+err.Error())
	}
	c.close()
	return tc
}

func (m *Model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	g := m.keys.Global
	p := m.panes[m.active]
	if matches(msg, g.QuitNow) {
		if _, asked := m.modal.(*quitDialog); asked {
			return tea.Quit // the second ctrl+c: out at once, deleting nothing
		}
		return m.quit()
	}
	if m.tooSmall() {
		return nil // nothing shows: no key acts on what the user cannot see (a dialog's y), ctrl+c aside
	}
	if m.cmd.open {
		return m.cmdKey(msg)
	}
	if m.modal != nil {
		return m.modalKey(msg)
	}
	if p.capturing() {
		return m.with(func(e *env) tea.Cmd { return p.key(e, msg) })
	}
	if m.showHelp {
		n := m.keys.Nav
		switch {
		case matches(msg, g.Help, g.Close, g.Quit):
			m.showHelp = false
		case matches(msg, g.Theme):
			return m.cycleTheme()
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
		m.helpOff = max(0, m.helpOff) // sync applies the upper bound
		return nil
	}
	if m.statusOpen && matches(msg, g.Close, g.Expand) {
		m.statusOpen = false // esc folds the whole status message before it closes anything else
		return nil
	}
	switch {
	case matches(msg, g.Quit):
		back := p.esc
		if b, ok := p.(backer); ok {
			back = b.back
		}
		if back() {
			return nil // q leaves the pane's sub-view one level, as esc does
		}
		return m.quit()
	case matches(msg, g.Refresh):
		return m.refresh()
	case matches(msg, g.Help):
		m.showHelp, m.helpOff = true, 0
		return nil
	case matches(msg, g.Command):
		return m.cmd.openLine("")
	case matches(msg, g.ReadOnly):
		m.setReadOnly()
		return nil
	case matches(msg, g.Events):
		m.openModal(&eventsView{log: m.events})
		return nil
	case matches(msg, g.Expand):
		m.statusOpen = true
		return nil
	case matches(msg, g.Close):
		if !p.esc() && m.active != paneDashboard {
			// Nothing to close: esc goes back to the dashboard, as in k9s.
			m.setPane(paneDashboard)
		}
		return nil
	case matches(msg, g.Theme):
		return m.cycleTheme()
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
	return m.with(func(e *env) tea.Cmd { return p.key(e, msg) })
}

// quit quits the console: at once when the context is cancelled (SIGTERM) or when quitting loses nothing,
// else after the question (quit.go) that names what would be lost: the subscriptions this console created,
// the messages its manual taps hold unacked, the marks not acted on.
func (m *Model) quit() tea.Cmd {
	if m.ctx.Err() != nil {
		return tea.Quit
	}
	loss := m.consumers.quitLoss(m.env())
	if loss.empty() {
		return tea.Quit
	}
	m.cmd.close()
	m.showHelp = false
	m.modal = newQuitDialog(loss, m.readOnly())
	return nil
}

// quitDeleted ends the deletion the quit question asked for: the consumers pane forgets the subscriptions
// deleted; without failures the console quits, else the question shows them and the console stays open.
func (m *Model) quitDeleted(msg quitDeletedMsg) tea.Cmd {
	cmd := m.with(func(e *env) tea.Cmd { return m.consumers.update(e, msg) })
	if len(msg.failed) == 0 {
		return tea.Quit
	}
	m.setStatus(levelError, "quit: "+plural(len(msg.failed), "subscription")+" could not be deleted (the console stays open)")
	d, ok := m.modal.(*quitDialog)
	if !ok {
		d = newQuitDialog(quitLoss{}, m.readOnly())
		m.modal = d
	}
	d.deleted(msg)
	return cmd
}

// backer is a pane whose esc also clears what is no sub-view (the topics list's filter): q calls back,
// which leaves only a sub-view, one level, and reports whether there was one.
type backer interface {
	back() bool
}

// refresher is a pane that reloads what it shows of its own on a refresh (ctrl+r): the topic detail
// describes its topic again.
type refresher interface {
	refresh(e *env) tea.Cmd
}

// refresh reloads the admin view now (ctrl+r), and the focused pane's own data if it has any.
func (m *Model) refresh() tea.Cmd {
	m.setStatus(levelInfo, "refreshing…")
	cmd := m.refreshCmd(true)
	if r, ok := m.panes[m.active].(refresher); ok {
		return tea.Batch(cmd, m.with(r.refresh))
	}
	return cmd
}

// handleClick switches panes when a tab of the header is clicked, focuses a dashboard tile, and focuses
// and selects the row under the mouse in the other panes.
func (m *Model) handleClick(mo tea.Mouse) tea.Cmd {
	if m.tooSmall() || m.showHelp || m.modal != nil || m.cmd.open || mo.Button != tea.MouseLeft {
		return nil
	}
	if mo.Y == 1 {
		for _, t := range tabLayout(m.w, m.active) {
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
	if c, ok := m.panes[m.active].(clicker); ok {
		return m.with(func(e *env) tea.Cmd { c.click(e, mo.X, y); return nil })
	}
	return nil
}

// clicker is a pane that selects the row under a click (x, y in the pane's area).
type clicker interface {
	click(e *env, x, y int)
}

// wheeler is a pane that scrolls the list under the mouse (x, y in the pane's area; delta lines, negative
// up).
type wheeler interface {
	wheel(e *env, x, y, delta int)
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
	if w, ok := m.modal.(wheeler); ok && !m.tooSmall() && !m.cmd.open {
		return m.with(func(e *env) tea.Cmd { w.wheel(e, mo.X, mo.Y-headerHeight, delta); return nil }) // the events view
	}
	if m.tooSmall() || m.modal != nil || m.cmd.open || m.panes[m.active].capturing() {
		return nil
	}
	if m.showHelp {
		m.helpOff = max(0, m.helpOff+delta)
		return nil
	}
	if w, ok := m.panes[m.active].(wheeler); ok {
		return m.with(func(e *env) tea.Cmd { w.wheel(e, mo.X, mo.Y-headerHeight, delta); return nil })
	}
	k := tea.KeyPressMsg{Code: tea.KeyDown}
	if delta < 0 {
		k = tea.KeyPressMsg{Code: tea.KeyUp}
	}
	p := m.panes[m.active]
	return m.with(func(e *env) tea.Cmd { return p.key(e, k) })
}
