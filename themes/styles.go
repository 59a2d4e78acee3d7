package themes

import "charm.land/lipgloss/v2"

// Styles holds ready-made lipgloss styles for the common UI elements, built
// from a theme by Theme.Styles. Every field is usable as is; the TUI may
// derive further styles from them (lipgloss styles are values) or add
// fields here.
//
// With a Plain theme no style carries a colour; instead selection, the status
// bar and badges use reverse video, titles, headers, keys and errors are
// bold, muted text is faint, highlights are underlined, and the focused
// border is thick rather than rounded — so focus and selection stay visible.
type Styles struct {
	App           lipgloss.Style // whole-screen base: Foreground text on Background
	Text          lipgloss.Style // ordinary text (foreground colour only)
	Muted         lipgloss.Style // secondary text
	Title         lipgloss.Style // pane/dialog titles, bold
	Header        lipgloss.Style // table column headers, bold
	Accent        lipgloss.Style // generic emphasis
	Border        lipgloss.Style // rounded border of an unfocused pane
	FocusedBorder lipgloss.Style // border of the focused pane
	Selected      lipgloss.Style // the selected row
	StatusBar     lipgloss.Style // the status bar
	Badge         lipgloss.Style // small label such as "read-only", padded by one cell each side
	OK            lipgloss.Style // success / healthy
	Warning       lipgloss.Style // warnings
	Error         lipgloss.Style // errors, bold
	Info          lipgloss.Style // informational messages
	Key           lipgloss.Style // key names in help, bold
	Highlight     lipgloss.Style // filter matches, bold and underlined
	Sparkline     lipgloss.Style // sparklines and charts
	JSONKey       lipgloss.Style // JSON object keys
	JSONString    lipgloss.Style // JSON strings
	JSONNumber    lipgloss.Style // JSON numbers
	JSONBool      lipgloss.Style // JSON booleans
	JSONNull      lipgloss.Style // JSON null
	JSONPunct     lipgloss.Style // JSON punctuation
}

// Styles builds the Styles for t. It is cheap enough to call on every theme
// change, not on every frame.
func (t *Theme) Styles() Styles {
	fg := func(r Role) lipgloss.Style { return lipgloss.NewStyle().Foreground(t.Color(r)) }
	on := func(text, bg Role) lipgloss.Style {
		return lipgloss.NewStyle().Foreground(t.Color(text)).Background(t.Color(bg))
	}
	plain := t == nil || t.Plain

	s := Styles{
		App:           on(Foreground, Background),
		Text:          fg(Foreground),
		Muted:         fg(Muted),
		Title:         fg(Title).Bold(true),
		Header:        fg(Header).Bold(true),
		Accent:        fg(Accent),
		Border:        lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(t.Color(Border)),
		FocusedBorder: lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(t.Color(BorderFocused)),
		Selected:      on(SelectionText, Selection).Bold(true),
		StatusBar:     on(StatusBarText, StatusBar),
		Badge:         on(BadgeText, Badge).Bold(true).Padding(0, 1),
		OK:            fg(Success),
		Warning:       fg(Warning),
		Error:         fg(Error).Bold(true),
		Info:          fg(Info),
		Key:           fg(Key).Bold(true),
		Highlight:     fg(Highlight).Bold(true).Underline(true),
		Sparkline:     fg(Sparkline),
		JSONKey:       fg(JSONKey),
		JSONString:    fg(JSONString),
		JSONNumber:    fg(JSONNumber),
		JSONBool:      fg(JSONBool),
		JSONNull:      fg(JSONNull),
		JSONPunct:     fg(JSONPunct),
	}
	if plain {
		s.Muted = s.Muted.Faint(true)
		s.FocusedBorder = s.FocusedBorder.Border(lipgloss.ThickBorder())
		s.Selected = s.Selected.Reverse(true)
		s.StatusBar = s.StatusBar.Reverse(true)
		s.Badge = s.Badge.Reverse(true)
		s.Warning = s.Warning.Bold(true)
	}
	return s
}
