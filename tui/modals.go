package tui

import (
	tea "charm.land/bubbletea/v2"
)

// This file holds the root's modal stack: one modal (a form, a prompt or a review, in modal.go and
// replay.go) open at a time over the panes. The component a modal serves opens it (openModalMsg); the
// modal closes itself (closeModalMsg) and posts what it confirms to that component. The root only keeps
// it, routes keys and input to it, and refuses in read-only mode what it would confirm.

// openModal opens a modal, replacing the open one, if any.
func (m *Model) openModal(md modal) { m.modal = md }

// closeModal closes the open modal; with only set, only if it is that one.
func (m *Model) closeModal(only modal) {
	if only == nil || m.modal == only {
		m.modal = nil
	}
}

// modalKey routes a key to the open modal; read-only mode refuses (and closes) what it would confirm.
func (m *Model) modalKey(msg tea.KeyPressMsg) tea.Cmd {
	if m.refuse(m.modal.confirming(&m.keys, msg)) {
		m.modal = nil
		return nil
	}
	md := m.modal
	return m.with(func(e *env) tea.Cmd { return md.key(e, msg) })
}
