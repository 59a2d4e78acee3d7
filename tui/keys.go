package tui

import (
	"slices"

	"charm.land/bubbles/v2/key"
)

// KeyMap holds every key binding of the console, with the help text the help overlay (?) shows. Build it
// with DefaultKeyMap; bindings are matched with key.Matches only.
type KeyMap struct {
	Global     GlobalKeys
	Nav        NavKeys
	Dashboard  DashboardKeys
	Topics     TopicKeys
	Producers  ProducerKeys
	Consumers  ConsumerKeys
	Inspector  InspectorKeys
	Prompt     PromptKeys
	Connectors ConnectorKeys
}

// GlobalKeys work in every pane.
type GlobalKeys struct {
	Quit      key.Binding
	Help      key.Binding
	Close     key.Binding
	Theme     key.Binding
	NextPane  key.Binding
	PrevPane  key.Binding
	Panes     [7]key.Binding // the number keys 1..7, one per pane
	PaneGroup key.Binding    // help-only summary of Panes
	Command   key.Binding    // opens the command line
	ReadOnly  key.Binding    // turns read-only mode on for the rest of the session
}

// NavKeys move the selection and scroll the focused list.
type NavKeys struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Top      key.Binding
	Bottom   key.Binding
}

// DashboardKeys act on the dashboard's tiles.
type DashboardKeys struct {
	Left  key.Binding
	Right key.Binding
	Open  key.Binding
}

// TopicKeys act on the topics pane.
type TopicKeys struct {
	Lookup      key.Binding
	LookupInput key.Binding
	Refresh     key.Binding
	Tap         key.Binding // opens the tap form on the selected topic
}

// ProducerKeys act on the producers pane.
type ProducerKeys struct {
	Stop key.Binding // stops the selected producer started from the console (:producer)
}

// ConsumerKeys act on the consumers pane and its message stream.
type ConsumerKeys struct {
	Open       key.Binding // focuses the stream, then inspects the selected message
	Follow     key.Binding
	ScrollUp   key.Binding
	ScrollDown key.Binding
	Filter     key.Binding
	Mark       key.Binding
	Ack        key.Binding
	Nack       key.Binding
	Replay     key.Binding
	NewTap     key.Binding
	StopTap    key.Binding
}

// InspectorKeys act on the message inspector (the list navigation keys scroll its payload).
type InspectorKeys struct {
	View  key.Binding
	Next  key.Binding
	Prev  key.Binding
	Ack   key.Binding
	Nack  key.Binding
	Close key.Binding
}

// PromptKeys work in forms, prompts and the command line.
type PromptKeys struct {
	Submit   key.Binding
	Cancel   key.Binding
	NextItem key.Binding
	PrevItem key.Binding
	Complete key.Binding
	History  key.Binding
}

// ConnectorKeys act on the selected connector.
type ConnectorKeys struct {
	StartStop key.Binding
	Restart   key.Binding
	Details   key.Binding
}

// DefaultKeyMap returns a fresh copy of the console's default key bindings.
func DefaultKeyMap() KeyMap {
	var km KeyMap
	km.Global = GlobalKeys{
		Quit:      key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "toggle help")),
		Close:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close overlay")),
		Theme:     key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "next theme")),
		NextPane:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		PrevPane:  key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		PaneGroup: key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7"), key.WithHelp("1-7", "go to pane")),
		Command:   key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command line")),
		ReadOnly:  key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "read-only for the session")),
	}
	for i := range numPanes {
		k := string(rune('1' + i))
		km.Global.Panes[i] = key.NewBinding(key.WithKeys(k), key.WithHelp(k, paneNames[i]))
	}
	km.Nav = NavKeys{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home/g", "first")),
		Bottom:   key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end/G", "last")),
	}
	km.Dashboard = DashboardKeys{
		Left:  key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "previous tile")),
		Right: key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "next tile")),
		Open:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open tile")),
	}
	km.Topics = TopicKeys{
		Lookup:      key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "look topic up")),
		LookupInput: key.NewBinding(key.WithKeys("L"), key.WithHelp("L", "look any topic up")),
		Refresh:     key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "refresh topics")),
		Tap:         key.NewBinding(key.WithKeys("enter", "c"), key.WithHelp("enter/c", "tap topic")),
	}
	km.Producers = ProducerKeys{
		Stop: key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "stop console producer")),
	}
	km.Consumers = ConsumerKeys{
		Open:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "stream / inspect")),
		Follow:     key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "follow / pause stream")),
		ScrollUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "scroll stream back")),
		ScrollDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "scroll stream on")),
		Filter:     key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter stream")),
		Mark:       key.NewBinding(key.WithKeys("space"), key.WithHelp("space", "mark / unmark")),
		Ack:        key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "ack")),
		Nack:       key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "nack…")),
		Replay:     key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "replay…")),
		NewTap:     key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "new tap…")),
		StopTap:    key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "stop tap")),
	}
	km.Inspector = InspectorKeys{
		View:  key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "json / text / hex")),
		Next:  key.NewBinding(key.WithKeys("n", "]"), key.WithHelp("n/]", "next message")),
		Prev:  key.NewBinding(key.WithKeys("p", "["), key.WithHelp("p/[", "previous message")),
		Ack:   key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "ack")),
		Nack:  key.NewBinding(key.WithKeys("N"), key.WithHelp("N", "nack…")),
		Close: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close")),
	}
	km.Prompt = PromptKeys{
		Submit:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "submit")),
		Cancel:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		NextItem: key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab", "next field")),
		PrevItem: key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab", "previous field")),
		Complete: key.NewBinding(key.WithKeys("tab", "shift+tab"), key.WithHelp("tab", "complete")),
		History:  key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "history")),
	}
	km.Connectors = ConnectorKeys{
		StartStop: key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "start / stop")),
		Restart:   key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "restart")),
		Details:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "details")),
	}
	return km
}

// ShortHelp returns the bindings of the one-line help.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Global.Help, k.Global.PaneGroup, k.Global.NextPane, k.Global.Theme, k.Global.Quit}
}

// helpEntry is one line of the help overlay: a binding, and whether it changes state (then read-only mode
// disables it and the help shows it dimmed).
type helpEntry struct {
	b      key.Binding
	danger bool
}

// helpSection is a titled group of bindings in the help overlay.
type helpSection struct {
	title   string
	entries []helpEntry
}

// safe and danger build help entries.
func safe(bs ...key.Binding) []helpEntry {
	out := make([]helpEntry, len(bs))
	for i, b := range bs {
		out[i] = helpEntry{b: b}
	}
	return out
}

func danger(bs ...key.Binding) []helpEntry {
	out := safe(bs...)
	for i := range out {
		out[i].danger = true
	}
	return out
}

// sections returns the help overlay's groups of keys; FullHelp is derived from it.
func (k KeyMap) sections() []helpSection {
	return []helpSection{
		{"Global", safe(k.Global.PaneGroup, k.Global.NextPane, k.Global.PrevPane, k.Global.Command, k.Global.Theme,
			k.Global.ReadOnly, k.Global.Help, k.Global.Close, k.Global.Quit)},
		{"Lists", safe(k.Nav.Up, k.Nav.Down, k.Nav.PageUp, k.Nav.PageDown, k.Nav.Top, k.Nav.Bottom, k.Dashboard.Open)},
		{"Topics", append(safe(k.Topics.Lookup, k.Topics.LookupInput, k.Topics.Refresh), danger(k.Topics.Tap)...)},
		{"Producers", safe(k.Producers.Stop)},
		{"Consumers & stream", slices.Concat(
			safe(k.Consumers.Open, k.Consumers.Follow, k.Consumers.ScrollUp, k.Consumers.ScrollDown, k.Consumers.Filter, k.Consumers.Mark),
			danger(k.Consumers.Ack, k.Consumers.Nack, k.Consumers.Replay, k.Consumers.NewTap),
			safe(k.Consumers.StopTap))},
		{"Inspector", slices.Concat(safe(k.Inspector.View, k.Inspector.Next, k.Inspector.Prev),
			danger(k.Inspector.Ack, k.Inspector.Nack), safe(k.Inspector.Close))},
		{"Connectors", append(danger(k.Connectors.StartStop, k.Connectors.Restart), safe(k.Connectors.Details)...)},
	}
}

// FullHelp returns the bindings of the help overlay in columns: global keys, list navigation, the keys of
// the topics pane, of the producers pane, of the consumers pane and its stream, of the message inspector, then those of the
// connectors pane.
func (k KeyMap) FullHelp() [][]key.Binding {
	var out [][]key.Binding
	for _, s := range k.sections() {
		var col []key.Binding
		for _, e := range s.entries {
			col = append(col, e.b)
		}
		out = append(out, col)
	}
	return out
}
