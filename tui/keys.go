package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// Binding is one key binding of the console: the keys and help text of a key.Binding, and whether the
// action it starts changes state. The keymap is the single source of truth for the keys: the router
// matches key presses against it, refuses the state-changing ones in read-only mode, and the help overlay
// and the README's key tables are generated from it.
type Binding struct {
	key.Binding
	// Changes names the state-changing action the key starts as the read-only refusal says it ("acking
	// messages"): an action on the cluster or the connectors (start, stop, ack, nack, replay, produce,
	// unsubscribe…). Empty for a key that only reads, moves or releases what the console itself started.
	Changes string
	// Doc is the longer description of the README's key tables; empty means the help text.
	Doc string
}

// Mutates reports whether the binding's action changes state, and is therefore disabled in read-only mode.
func (b Binding) Mutates() bool { return b.Changes != "" }

// bind builds a binding from its keys, help key and help text.
func bind(keys []string, helpKey, desc string) Binding {
	return Binding{Binding: key.NewBinding(key.WithKeys(keys...), key.WithHelp(helpKey, desc))}
}

// changes returns b marked as starting the state-changing action what.
func (b Binding) changes(what string) Binding { b.Changes = what; return b }

// doc returns b with its README description.
func (b Binding) doc(d string) Binding { b.Doc = d; return b }

// matches reports whether a key press matches one of the bindings.
func matches(msg tea.KeyPressMsg, bs ...Binding) bool {
	for _, b := range bs {
		if key.Matches(msg, b.Binding) {
			return true
		}
	}
	return false
}

// KeyMap holds every key binding of the console, with the help text the help overlay (?) shows. Build it
// with DefaultKeyMap; bindings are matched with matches (key.Matches) only, and each says whether its
// action changes state.
type KeyMap struct {
	Global     GlobalKeys
	Nav        NavKeys
	Dashboard  DashboardKeys
	Topics     TopicKeys
	Producers  ProducerKeys
	Consumers  ConsumerKeys
	Inspector  InspectorKeys
	Prompt     PromptKeys
	Confirm    ConfirmKeys
	Connectors ConnectorKeys
	Cluster    ClusterKeys
	Problems   ProblemKeys
	Security   SecurityKeys
	Events     EventKeys
}

// GlobalKeys work in every pane.
type GlobalKeys struct {
	Quit      Binding // q: leaves the pane's sub-view or the overlay one level; quits from a top-level pane
	QuitNow   Binding // ctrl+c: quits from anywhere
	Help      Binding
	Close     Binding
	Theme     Binding
	NextPane  Binding
	PrevPane  Binding
	Panes     [numPanes]Binding // the number keys 1..9 and 0, one per pane
	PaneGroup Binding           // help-only summary of Panes
	Command   Binding           // opens the command line
	Refresh   Binding           // reloads the admin view now (and the open topic detail)
	ReadOnly  Binding           // turns read-only mode on for the rest of the session
	Events    Binding           // opens (and closes) the events view
	Expand    Binding           // shows the status bar's message whole, over several lines, and folds it again
}

// EventKeys act in the events view (the list navigation keys select an event).
type EventKeys struct {
	Copy Binding // copies the selected event's time and text to the clipboard (OSC 52)
}

// NavKeys move the selection and scroll the focused list.
type NavKeys struct {
	Up       Binding
	Down     Binding
	PageUp   Binding
	PageDown Binding
	Top      Binding
	Bottom   Binding
}

// DashboardKeys act on the dashboard's tiles.
type DashboardKeys struct {
	Left  Binding
	Right Binding
	Open  Binding
	Tap   Binding // opens the tap form, on the first topic of the focused tile when it lists topics
}

// TopicKeys act on the topics pane.
type TopicKeys struct {
	Lookup      Binding
	LookupInput Binding
	Tap         Binding // opens the tap form on the selected topic (in the detail: on the topic)
	Open        Binding // opens the selected topic's detail view
	Filter      Binding // filters the list by name
	Sort        Binding // cycles the sort column
	Reverse     Binding // reverses the sort
	Expand      Binding // shows a partitioned topic's partitions
	Collapse    Binding // hides them
	Create      Binding // the create-topic form
	Delete      Binding // deletes the selected topic, after a confirmation
	Unload      Binding // unloads the selected topic, after a confirmation
	Span        Binding // switches the detail's chart span
	Policy      Binding // the failure policy form of the detail's selected subscription
	Window      Binding // the dispatch window prompt of the detail's selected subscription
	Unsubscribe Binding // deletes the detail's selected subscription, after a confirmation
}

// ProducerKeys act on the producers pane.
type ProducerKeys struct {
	Stop Binding // stops the selected producer started from the console (:producer)
}

// ConsumerKeys act on the consumers pane and its message stream.
type ConsumerKeys struct {
	Open       Binding // focuses the stream, then inspects the selected message
	Follow     Binding
	ScrollUp   Binding
	ScrollDown Binding
	Filter     Binding
	Mark       Binding
	Ack        Binding
	Nack       Binding
	Replay     Binding
	NewTap     Binding
	StopTap    Binding
	Copy       Binding // copies the selected message's payload to the clipboard
	CopyOffset Binding // copies the selected message's topic and offset
}

// InspectorKeys act on the message inspector (the list navigation keys scroll its payload).
type InspectorKeys struct {
	View       Binding
	Next       Binding
	Prev       Binding
	Ack        Binding
	Nack       Binding
	Close      Binding
	Copy       Binding // copies the message as JSON (its metadata and payload)
	CopyOffset Binding // copies the message's topic and offset
}

// PromptKeys work in forms, prompts and the command line.
type PromptKeys struct {
	Submit   Binding
	Cancel   Binding
	NextItem Binding
	PrevItem Binding
	Complete Binding
	History  Binding
}

// ConfirmKeys answer a confirmation (No is the default).
type ConfirmKeys struct {
	Yes    Binding
	No     Binding
	Toggle Binding
	List   Binding // the quit question: lists the subscriptions it would delete
}

// ConnectorKeys act on the selected connector.
type ConnectorKeys struct {
	StartStop Binding
	Restart   Binding
	Details   Binding
}

// ClusterKeys act on the cluster pane's selected broker and on the whole cluster.
type ClusterKeys struct {
	Unload    Binding // unloads the selected broker (after a confirmation)
	Activate  Binding // activates the selected broker (after a confirmation)
	Rebalance Binding // a dry run, then a rebalance after a confirmation
}

// ProblemKeys act on the problems pane.
type ProblemKeys struct {
	Go Binding // goes where the selected problem points
}

// SecurityKeys act on the security pane's roles and bindings.
type SecurityKeys struct {
	Switch     Binding // moves between the roles and the bindings
	NewRole    Binding
	NewBinding Binding
	Delete     Binding // deletes the selected role or binding (after a confirmation)
}

// The state-changing actions, as read-only mode names them.
const (
	changesTaps       = "starting taps"
	changesAck        = "acking messages"
	changesNack       = "nacking messages"
	changesReplay     = "replaying messages"
	changesConnectors = "starting, stopping and restarting connectors"
	changesBrokers    = "unloading and activating brokers"
	changesRebalance  = "rebalancing the cluster"
	changesSecurity   = "changing roles and bindings"
	changesCreate     = "creating topics"
	changesDelete     = "deleting topics"
	changesUnload     = "unloading topics"
	changesPolicy     = "changing failure policies"
	changesWindow     = "changing dispatch windows"
	changesUnsub      = "deleting subscriptions"
)

// DefaultKeyMap returns a fresh copy of the console's default key bindings.
func DefaultKeyMap() KeyMap {
	var km KeyMap
	km.Global = GlobalKeys{
		Quit: bind([]string{"q"}, "q", "back / quit").
			doc("back one level (help, inspector → stream → list, topic detail → list, connector details); quits from a top-level pane"),
		QuitNow: bind([]string{"ctrl+c"}, "ctrl+c", "quit from anywhere").
			doc("quit from anywhere (asking first when quitting would lose something: a second ctrl+c quits at once)"),
		Help: bind([]string{"?"}, "?", "toggle help"),
		Close: bind([]string{"esc"}, "esc", "back / close").
			doc("close the dialog, input or overlay, or go back one level (as q); on a top-level pane, back to the dashboard"),
		Theme:    bind([]string{"t"}, "t", "next theme"),
		NextPane: bind([]string{"tab"}, "tab", "next pane"),
		PrevPane: bind([]string{"shift+tab"}, "shift+tab", "previous pane"),
		PaneGroup: bind([]string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "0"}, "1-9,0", "go to pane").
			doc("dashboard, topics & lookup, producers, consumers, acks, health, connectors, cluster, problems, security"),
		Command: bind([]string{":"}, ":", "command line").doc("the command line, with completion (tab) and history (↑↓); the commands are below"),
		Refresh: bind([]string{"ctrl+r"}, "ctrl+r", "refresh").
			doc("reload topics, subscriptions and the cluster's admin view now (they reload by themselves every few seconds); in a topic's detail, describe it again"),
		ReadOnly: bind([]string{"ctrl+o"}, "ctrl+o", "read-only for the session").
			doc("read-only for the rest of the session, as `:readonly` (`--read-only` from the start); help shows what it disables"),
		Events: bind([]string{"e"}, "e", "events").
			doc("the session's errors, warnings and actions with their times, as `:events` (newest last; y copies one)"),
		Expand: bind([]string{"m"}, "m", "whole status message").
			doc("show the status bar's message whole over several lines (the bar marks a cut one with …); again or esc folds it"),
	}
	for i := range numPanes {
		k := paneKey(paneID(i))
		km.Global.Panes[i] = bind([]string{k}, k, paneNames[i])
	}
	km.Nav = NavKeys{
		Up:       bind([]string{"up", "k"}, "↑/k", "up"),
		Down:     bind([]string{"down", "j"}, "↓/j", "down"),
		PageUp:   bind([]string{"pgup", "ctrl+b"}, "pgup", "page up"),
		PageDown: bind([]string{"pgdown", "ctrl+f"}, "pgdn", "page down"),
		Top:      bind([]string{"home", "g"}, "home/g", "first"),
		Bottom:   bind([]string{"end", "G"}, "end/G", "last"),
	}
	km.Dashboard = DashboardKeys{
		Left:  bind([]string{"left", "h"}, "←/h", "previous tile"),
		Right: bind([]string{"right", "l"}, "→/l", "next tile"),
		Open:  bind([]string{"enter"}, "enter", "open tile"),
		Tap: bind([]string{"c"}, "c", "tap a topic…").changes(changesTaps).
			doc("the tap form, on the first topic of the focused tile (top topics, subscriptions by lag)"),
	}
	km.Topics = TopicKeys{
		Lookup:      bind([]string{"l"}, "l", "look topic up").doc("look the selected topic up"),
		LookupInput: bind([]string{"L"}, "L", "look any topic up"),
		Tap: bind([]string{"c"}, "c", "tap topic").changes(changesTaps).
			doc("tap the topic (also from its detail): a form for an ad-hoc consumer"),
		Open:     bind([]string{"enter"}, "enter", "topic detail").doc("the topic's detail: description, subscriptions, charts, latency (esc: back)"),
		Filter:   bind([]string{"/"}, "/", "filter by name").doc("filter the list by name (enter keeps it, esc clears it)"),
		Sort:     bind([]string{"o"}, "o", "sort column").doc("sort by the next column (the header shows ▲/▼)"),
		Reverse:  bind([]string{"O"}, "O", "reverse sort"),
		Expand:   bind([]string{"right", "space"}, "→/space", "expand partitions").doc("show a partitioned topic's partitions (space toggles)"),
		Collapse: bind([]string{"left"}, "←", "collapse partitions"),
		Create:   bind([]string{"n"}, "n", "create topic…").changes(changesCreate).doc("create a topic: name, partitions, delivery, schema subject"),
		Delete:   bind([]string{"D"}, "D", "delete topic…").changes(changesDelete).doc("delete the selected topic (all its partitions), after a confirmation"),
		Unload:   bind([]string{"U"}, "U", "unload topic…").changes(changesUnload).doc("unload the topic from its broker: another broker takes it, its clients reconnect"),
		Span:     bind([]string{"s"}, "s", "chart span").doc("detail: the charts' span, 5m, 15m, 1h or 6h"),
		Policy:   bind([]string{"f"}, "f", "failure policy…").changes(changesPolicy).doc("detail: set the selected subscription's failure policy"),
		Window:   bind([]string{"w"}, "w", "dispatch window…").changes(changesWindow).doc("detail: set the selected subscription's dispatch window"),
		Unsubscribe: bind([]string{"u"}, "u", "unsubscribe…").changes(changesUnsub).
			doc("detail: delete the selected subscription and its kept messages, after a confirmation"),
	}
	km.Producers = ProducerKeys{
		Stop: bind([]string{"x"}, "x", "stop console producer").doc("stop the selected producer started from the console (`:producer`)"),
	}
	km.Consumers = ConsumerKeys{
		Open: bind([]string{"enter"}, "enter", "stream / inspect").doc("into the stream; again: the inspector (ids, times, producer, key, schema and subject, " +
			"attributes; payload as coloured JSON, text or hex)"),
		Follow:     bind([]string{"f"}, "f", "follow / pause stream").doc("follow or pause the live message stream"),
		ScrollUp:   bind([]string{"pgup", "ctrl+b"}, "pgup", "scroll stream back"),
		ScrollDown: bind([]string{"pgdown", "ctrl+f"}, "pgdn", "scroll stream on"),
		Filter:     bind([]string{"/"}, "/", "filter stream").doc("filter the stream: text, `key:GLOB`, `attr:NAME=VALUE`, `$.path OP value`, `-negation`"),
		Mark:       bind([]string{"space"}, "space", "mark / unmark"),
		Ack:        bind([]string{"a"}, "a", "ack").changes(changesAck).doc("ack the marked or selected messages (manual-ack taps)"),
		Nack:       bind([]string{"n"}, "n", "nack…").changes(changesNack).doc("nack them with a delay and a reason (more than one: asks first, naming what the broker does with them)"),
		Replay:     bind([]string{"P"}, "P", "replay…").changes(changesReplay).doc("replay the marked or selected messages, after a review"),
		NewTap:     bind([]string{"c"}, "c", "new tap…").changes(changesTaps).doc("start a tap: a form for an ad-hoc consumer"),
		StopTap:    bind([]string{"x"}, "x", "stop tap").doc("stop the selected tap (its subscription keeps its messages)"),
		Copy: bind([]string{"y"}, "y", "copy payload").
			doc("copy the selected message's payload to the clipboard (OSC 52; also written to a file in the temp dir, named in the status)"),
		CopyOffset: bind([]string{"Y"}, "Y", "copy offset").doc("copy the selected message's topic and offset (`/ns/topic@42`)"),
	}
	km.Inspector = InspectorKeys{
		View:  bind([]string{"v"}, "v", "json / text / hex"),
		Next:  bind([]string{"n", "]"}, "n/]", "next message"),
		Prev:  bind([]string{"p", "["}, "p/[", "previous message"),
		Ack:   bind([]string{"a"}, "a", "ack").changes(changesAck).doc("ack the message"),
		Nack:  bind([]string{"N"}, "N", "nack…").changes(changesNack).doc("nack the message with a delay and a reason"),
		Close: bind([]string{"esc"}, "esc", "close"),
		Copy: bind([]string{"y"}, "y", "copy as JSON").
			doc("copy the message as JSON: topic, offset, producer, times, key, attributes, schema and payload"),
		CopyOffset: bind([]string{"Y"}, "Y", "copy offset").doc("copy the message's topic and offset (`/ns/topic@42`)"),
	}
	km.Prompt = PromptKeys{
		Submit:   bind([]string{"enter"}, "enter", "submit"),
		Cancel:   bind([]string{"esc"}, "esc", "cancel"),
		NextItem: bind([]string{"tab", "down"}, "tab", "next field"),
		PrevItem: bind([]string{"shift+tab", "up"}, "shift+tab", "previous field"),
		Complete: bind([]string{"tab", "shift+tab"}, "tab", "complete"),
		History:  bind([]string{"up", "down"}, "↑/↓", "history"),
	}
	km.Confirm = ConfirmKeys{
		Yes:    bind([]string{"y", "Y"}, "y", "yes"),
		No:     bind([]string{"n", "N"}, "n", "no"),
		Toggle: bind([]string{"left", "right", "h", "l", "tab", "shift+tab"}, "←/→", "choose yes or no"),
		List: bind([]string{"l"}, "l", "list").
			doc("the quit question: list the subscriptions this console created, which y deletes"),
	}
	km.Connectors = ConnectorKeys{
		StartStop: bind([]string{"s"}, "s", "start / stop").changes(changesConnectors),
		Restart:   bind([]string{"r"}, "r", "restart").changes(changesConnectors),
		Details:   bind([]string{"enter"}, "enter", "details").doc("details: counters, last error, and the configuration with secrets masked"),
	}
	km.Cluster = ClusterKeys{
		Unload: bind([]string{"u"}, "u", "unload broker…").changes(changesBrokers).
			doc("unload the selected broker: its topics move to the other active brokers (asks first)"),
		Activate: bind([]string{"a"}, "a", "activate broker…").changes(changesBrokers).
			doc("activate the selected broker: it takes new topics again (asks first)"),
		Rebalance: bind([]string{"B"}, "B", "rebalance…").changes(changesRebalance).
			doc("rebalance the cluster: a dry run shows the proposed moves, then asks"),
	}
	km.Problems = ProblemKeys{
		Go: bind([]string{"enter"}, "enter", "go to it").doc("go where the selected problem points: its topic, broker or the security view"),
	}
	km.Events = EventKeys{
		Copy: bind([]string{"y"}, "y", "copy event").doc("copy the selected event's time and text to the clipboard (OSC 52)"),
	}
	km.Security = SecurityKeys{
		Switch:     bind([]string{"left", "right", "h", "l"}, "←/→", "roles / bindings"),
		NewRole:    bind([]string{"n"}, "n", "new role…").changes(changesSecurity).doc("create (or overwrite) a role: a form"),
		NewBinding: bind([]string{"b"}, "b", "new binding…").changes(changesSecurity).doc("bind roles to a principal: a form"),
		Delete:     bind([]string{"d"}, "d", "delete…").changes(changesSecurity).doc("delete the selected role or binding (asks first)"),
	}
	return km
}

// ShortHelp returns the bindings of the one-line help.
func (k KeyMap) ShortHelp() []key.Binding {
	return plain(k.Global.Help, k.Global.PaneGroup, k.Global.NextPane, k.Global.Theme, k.Global.Quit)
}

// plain returns the key.Bindings of bs.
func plain(bs ...Binding) []key.Binding {
	out := make([]key.Binding, len(bs))
	for i, b := range bs {
		out[i] = b.Binding
	}
	return out
}

// helpSection is a titled group of bindings in the help overlay and the README.
type helpSection struct {
	title    string
	bindings []Binding
	// readmeOnly keeps the section out of the help overlay, which has no room for it at 80×24: keys
	// every screen shows in its own hints.
	readmeOnly bool
}

// sections returns the help overlay's groups of keys; FullHelp and the README's key table are derived
// from it.
func (k KeyMap) sections() []helpSection {
	return []helpSection{
		{title: "Global", bindings: []Binding{k.Global.PaneGroup, k.Global.NextPane, k.Global.PrevPane, k.Global.Command, k.Global.Theme,
			k.Global.Refresh, k.Global.ReadOnly, k.Global.Events, k.Global.Expand, k.Global.Help, k.Global.Close, k.Global.Quit,
			k.Global.QuitNow}},
		{title: "Lists", bindings: []Binding{k.Nav.Up, k.Nav.Down, k.Nav.PageUp, k.Nav.PageDown, k.Nav.Top, k.Nav.Bottom, k.Dashboard.Open}},
		{title: "Dashboard", bindings: []Binding{k.Dashboard.Tap, k.Dashboard.Left, k.Dashboard.Right}, readmeOnly: true},
		{title: "Topics", bindings: []Binding{k.Topics.Open, k.Topics.Filter, k.Topics.Sort, k.Topics.Reverse, k.Topics.Expand,
			k.Topics.Collapse, k.Topics.Lookup, k.Topics.LookupInput, k.Topics.Tap, k.Topics.Create, k.Topics.Delete,
			k.Topics.Unload, k.Topics.Span, k.Topics.Policy, k.Topics.Window, k.Topics.Unsubscribe}},
		{title: "Producers", bindings: []Binding{k.Producers.Stop}},
		{title: "Consumers & stream", bindings: []Binding{k.Consumers.Open, k.Consumers.Follow, k.Consumers.ScrollUp, k.Consumers.ScrollDown,
			k.Consumers.Filter, k.Consumers.Mark, k.Consumers.Ack, k.Consumers.Nack, k.Consumers.Replay, k.Consumers.NewTap,
			k.Consumers.StopTap, k.Consumers.Copy, k.Consumers.CopyOffset}},
		{title: "Inspector", bindings: []Binding{k.Inspector.View, k.Inspector.Next, k.Inspector.Prev, k.Inspector.Ack, k.Inspector.Nack,
			k.Inspector.Copy, k.Inspector.CopyOffset, k.Inspector.Close}},
		{title: "Connectors", bindings: []Binding{k.Connectors.StartStop, k.Connectors.Restart, k.Connectors.Details}},
		{title: "Cluster", bindings: []Binding{k.Cluster.Unload, k.Cluster.Activate, k.Cluster.Rebalance}},
		{title: "Problems", bindings: []Binding{k.Problems.Go}},
		{title: "Security", bindings: []Binding{k.Security.Switch, k.Security.NewRole, k.Security.NewBinding, k.Security.Delete}},
		{title: "Events", bindings: []Binding{k.Events.Copy}},
		{title: "Forms, prompts and the command line", bindings: []Binding{k.Prompt.Submit, k.Prompt.Cancel,
			k.Prompt.NextItem, k.Prompt.PrevItem, k.Prompt.Complete, k.Prompt.History}, readmeOnly: true},
		{title: "Confirmations (No is the default)", bindings: []Binding{k.Confirm.Yes, k.Confirm.No, k.Confirm.Toggle, k.Confirm.List}, readmeOnly: true},
	}
}

// helpSections returns the sections the help overlay shows.
func (k KeyMap) helpSections() []helpSection {
	var out []helpSection
	for _, s := range k.sections() {
		if !s.readmeOnly {
			out = append(out, s)
		}
	}
	return out
}

// FullHelp returns the bindings of the help overlay in columns: global keys, list navigation, the keys of
// the dashboard, of the topics pane, of the producers pane, of the consumers pane and its stream, of the
// message inspector, of the connectors pane, then those of the cluster, problems and security panes.
func (k KeyMap) FullHelp() [][]key.Binding {
	var out [][]key.Binding
	for _, s := range k.helpSections() {
		out = append(out, plain(s.bindings...))
	}
	return out
}

// refused returns the first binding among bs that msg matches and that changes state, if any: the router
// refuses it in read-only mode.
func refused(msg tea.KeyPressMsg, bs []Binding) (Binding, bool) {
	for _, b := range bs {
		if b.Mutates() && matches(msg, b) {
			return b, true
		}
	}
	return Binding{}, false
}
