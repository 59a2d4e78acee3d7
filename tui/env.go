package tui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
)

// env is what the root model gives a component for one update or one draw, explicitly: the snapshot, the
// styles and theme, the clock, the terminal's size, the read-only flag, the keymap and the backend's
// domains (a component uses only the ones it names: the stream reads taps, the topics pane asks admin). It is
// read-only for the component; anything that must reach the root (a status message, showing another pane,
// opening a modal, starting an action the root tracks) is a request message posted with post, which the
// root handles as soon as the component returns. No component holds or receives the root Model.
type env struct {
	snap  *monitor.Snapshot
	st    *styles
	theme *themes.Theme
	keys  *KeyMap
	now   time.Time
	w, h  int // the terminal's size
	ro    bool
	ctx   context.Context
	// tapSub returns the subscription the consumers pane gives the next tap on a topic (the console's own,
	// see tapSub), which the command line proposes; nil proposes none.
	tapSub func(snap *monitor.Snapshot, topic string) string
	// createdSubs returns the subscriptions the console's taps created on this cluster (:cluster names
	// them: after a switch the console no longer knows them as its own); nil: none.
	createdSubs func() []subRef

	snaps     monitor.Snapshots
	taps      monitor.Taps
	producers monitor.Producers
	conns     monitor.Connectors
	admin     monitor.Admin
	cluster   monitor.ClusterAdmin
	history   monitor.History

	// clusterName is the current cluster's name; clusters the names :cluster offers.
	clusterName string
	clusters    []string

	out []tea.Msg // the requests posted for the root
}

// bodyHeight is the height of the pane area.
func (e *env) bodyHeight() int { return max(0, e.h-headerHeight-statusHeight) }

// tooSmall reports whether the terminal is below the minimum size (nothing but a message is drawn).
func (e *env) tooSmall() bool { return e.w < MinWidth || e.h < MinHeight }

// readOnly reports whether state-changing actions are disabled.
func (e *env) readOnly() bool { return e.ro }

// offer returns what a hint or an empty state says of binding b (key and description pairs, or any text):
// nothing in read-only mode when b changes state, since read-only refuses it.
func (e *env) offer(b Binding, s ...string) []string {
	if e.ro && b.Mutates() {
		return nil
	}
	return s
}

// post sends a request to the root, handled as soon as the component returns.
func (e *env) post(msg tea.Msg) { e.out = append(e.out, msg) }

// setStatus asks the root to put a message in the status bar.
func (e *env) setStatus(l level, text string) { e.post(statusMsg{text: text, level: l}) }

// Requests a component (or the command line's commands) posts to the root. The requests a component serves
// are in its own file (startTapMsg in consumers_actions.go, produceMsg in pane_producers.go, …): the root
// routes them to it.
type (
	// showPaneMsg shows a pane, closing the help and the current pane's overlay; fresh takes a new
	// snapshot as it switches (what the pane waits for is in it); stay leaves the pane's overlay open when
	// it is the focused pane already.
	showPaneMsg struct {
		id          paneID
		fresh, stay bool
	}
	// openModalMsg opens a modal over the panes (replacing the open one, if any).
	openModalMsg struct{ m modal }
	// closeModalMsg closes the open modal; with only set, only if it is that one.
	closeModalMsg struct{ only modal }
	// pullMsg asks the root for a fresh snapshot now.
	pullMsg struct{}
	// cmdFailMsg reports that the command being run failed: the command line stays open with err.
	cmdFailMsg struct{ err error }
	// themeMsg switches to a theme.
	themeMsg struct{ t *themes.Theme }
	// helpMsg shows the help overlay.
	helpMsg struct{}
	// readOnlyMsg turns read-only mode on for the rest of the session.
	readOnlyMsg struct{}
	// eventsMsg opens the events view.
	eventsMsg struct{}
)
