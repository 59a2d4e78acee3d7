package tui

import (
	tea "charm.land/bubbletea/v2"
)

// This file holds the root's routing of input: keys go to the command line, the open modal, a pane's open
// text input, the help overlay, the global keys, then the focused pane, in that order; read-only mode is
// enforced here, from the keymap, before any pane sees a key that changes state. Clicks and the wheel go
// to the header's tabs or to the pane under the mouse.

func (m *Model) handleKey(msg tea.KeyPressMsg) tea.Cmd {
	g := m.keys.Global
	p := m.panes[m.active]
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	if m.cmd.open {
		return m.cmdKey(msg)
	}
	if m.modal != nil {
		if m.refuse(m.modal.confirming(&m.keys, msg)) {
			m.modal = nil
			return nil
		}
		return m.with(func(e *env) tea.Cmd { return m.modal.key(e, msg) })
	}
	if p.capturing() {
		return m.with(func(e *env) tea.Cmd { return p.key(e, msg) })
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
		m.helpOff = max(0, m.helpOff) // sync applies the upper bound
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
	return m.with(func(e *env) tea.Cmd { return p.key(e, msg) })
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
