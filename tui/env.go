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

	snaps     monitor.Snapshots
	taps      monitor.Taps
	producers monitor.Producers
	conns     monitor.Connectors
	admin     monitor.Admin

	out []tea.Msg // the requests posted for the root
}

// bodyHeight is the height of the pane area.
func (e *env) bodyHeight() int { return max(0, e.h-headerHeight-statusHeight) }

// tooSmall reports whether the terminal is below the minimum size (nothing but a message is drawn).
func (e *env) tooSmall() bool { return e.w < MinWidth || e.h < MinHeight }

// readOnly reports whether state-changing actions are disabled.
func (e *env) readOnly() bool { return e.ro }

// post sends a request to the root, handled as soon as the component returns.
func (e *env) post(msg tea.Msg) { e.out = append(e.out, msg) }

// setStatus asks the root to put a message in the status bar.
func (e *env) setStatus(l level, text string) { e.post(statusMsg{text: text, level: l}) }

// Requests a component posts to the root (see env.post).
type (
	// showPaneMsg shows a pane, closing the help and the current pane's overlay; fresh takes a new
	// snapshot as it switches (what the pane waits for is in it).
	showPaneMsg struct {
		id    paneID
		fresh bool
	}
	// openTapFormMsg opens the tap form on a topic (may be empty).
	openTapFormMsg struct{ topic string }
	// openNackMsg opens the nack prompt for messages of a stream.
	openNackMsg struct {
		stream string
		seqs   []uint64
	}
	// openReplayMsg opens the review of a replay.
	openReplayMsg struct {
		msgs        []monitor.Message
		what, topic string
	}
	// closeModalMsg closes the open modal.
	closeModalMsg struct{}
	// startTapMsg starts a tap (the root numbers taps and selects the new one when it is up).
	startTapMsg struct{ spec monitor.ConsumerSpec }
	// replayStartedMsg tells the root that replay r runs (the root tracks it: one at a time).
	replayStartedMsg struct{ r *replayModal }
	// pullMsg asks the root for a fresh snapshot now.
	pullMsg struct{}
)
