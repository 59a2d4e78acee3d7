package tui

import "charm.land/bubbles/v2/key"

// KeyMap holds every key binding of the console, with the help text the help overlay (?) shows. Build it
// with DefaultKeyMap; bindings are matched with key.Matches only.
type KeyMap struct {
	Global     GlobalKeys
	Nav        NavKeys
	Dashboard  DashboardKeys
	Topics     TopicKeys
	Consumers  ConsumerKeys
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
}

// ConsumerKeys act on the consumers pane and its message stream.
type ConsumerKeys struct {
	Follow     key.Binding
	ScrollUp   key.Binding
	ScrollDown key.Binding
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
		Lookup:      key.NewBinding(key.WithKeys("enter", "l"), key.WithHelp("enter/l", "look topic up")),
		LookupInput: key.NewBinding(key.WithKeys("L"), key.WithHelp("L", "look any topic up")),
		Refresh:     key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "refresh topics")),
	}
	km.Consumers = ConsumerKeys{
		Follow:     key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "follow / pause stream")),
		ScrollUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "scroll stream back")),
		ScrollDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "scroll stream on")),
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

// helpSection is a titled group of bindings in the help overlay.
type helpSection struct {
	title    string
	bindings []key.Binding
}

// sections returns the help overlay's groups; FullHelp is derived from it.
func (k KeyMap) sections() []helpSection {
	return []helpSection{
		{"Global", []key.Binding{k.Global.PaneGroup, k.Global.NextPane, k.Global.PrevPane, k.Global.Theme, k.Global.Help, k.Global.Close, k.Global.Quit}},
		{"Lists", []key.Binding{k.Nav.Up, k.Nav.Down, k.Nav.PageUp, k.Nav.PageDown, k.Nav.Top, k.Nav.Bottom, k.Dashboard.Open}},
		{"Topics & consumers", []key.Binding{k.Topics.Lookup, k.Topics.LookupInput, k.Topics.Refresh, k.Consumers.Follow, k.Consumers.ScrollUp, k.Consumers.ScrollDown}},
		{"Connectors", []key.Binding{k.Connectors.StartStop, k.Connectors.Restart, k.Connectors.Details}},
	}
}

// FullHelp returns the bindings of the help overlay in columns: global keys, list navigation, the keys of
// the topics and consumers panes, then those of the connectors pane.
func (k KeyMap) FullHelp() [][]key.Binding {
	var out [][]key.Binding
	for _, s := range k.sections() {
		out = append(out, s.bindings)
	}
	return out
}
