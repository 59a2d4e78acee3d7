package tui

import (
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
)

// paint is a style reduced to the escape sequences around its text. The panes draw thousands of cells a
// frame; wrapping plain text in a precomputed prefix and suffix is much cheaper than a lipgloss Render per
// cell, and the text's width stays that of the plain text.
type paint struct{ pre, post string }

// newPaint extracts the escape sequences a one-line style puts around text.
func newPaint(s lipgloss.Style) paint {
	r := s.Render("X")
	i := strings.IndexByte(r, 'X')
	if i < 0 {
		return paint{}
	}
	return paint{pre: r[:i], post: r[i+1:]}
}

// r wraps plain text in the paint.
func (p paint) r(s string) string {
	if p.pre == "" || s == "" {
		return s
	}
	return p.pre + s + p.post
}

// borderGlyphs are the characters of a box.
type borderGlyphs struct {
	h, v, tl, tr, bl, br string
}

var (
	roundGlyphs = borderGlyphs{h: "─", v: "│", tl: "╭", tr: "╮", bl: "╰", br: "╯"}
	thickGlyphs = borderGlyphs{h: "━", v: "┃", tl: "┏", tr: "┓", bl: "┗", br: "┛"}
)

// styles are the theme's colour roles as paints, built once per theme change. Every colour of the console
// comes from here.
type styles struct {
	theme *themes.Theme
	base  themes.Styles

	text, muted, title, header, accent, key, spark paint
	ok, warn, err, info                            paint
	border, borderFocused                          paint
	selected, badge                                paint
	bar, barMuted, barErr, barKey, barWarn         paint
	tabActive, tabKey                              paint
	highlight                                      paint
	jsonKey, jsonString, jsonNumber                paint
	jsonBool, jsonNull, jsonPunct                  paint

	glyphs, focusGlyphs borderGlyphs
}

// newStyles derives the console's paints from a theme.
func newStyles(t *themes.Theme) *styles {
	b := t.Styles()
	fg := func(r themes.Role) lipgloss.Style { return lipgloss.NewStyle().Foreground(t.Color(r)) }
	onBar := func(r themes.Role) lipgloss.Style {
		return lipgloss.NewStyle().Foreground(t.Color(r)).Background(t.Color(themes.StatusBar))
	}
	s := &styles{
		theme:         t,
		base:          b,
		text:          newPaint(b.Text),
		muted:         newPaint(b.Muted),
		title:         newPaint(b.Title),
		header:        newPaint(b.Header),
		accent:        newPaint(b.Accent),
		key:           newPaint(b.Key),
		spark:         newPaint(b.Sparkline),
		ok:            newPaint(b.OK),
		warn:          newPaint(b.Warning),
		err:           newPaint(b.Error),
		info:          newPaint(b.Info),
		border:        newPaint(fg(themes.Border)),
		borderFocused: newPaint(fg(themes.BorderFocused)),
		selected:      newPaint(b.Selected),
		badge:         newPaint(b.Badge.UnsetPadding()),
		bar:           newPaint(b.StatusBar),
		barMuted:      newPaint(onBar(themes.Muted)),
		barErr:        newPaint(onBar(themes.Error).Bold(true)),
		barWarn:       newPaint(onBar(themes.Warning)),
		barKey:        newPaint(onBar(themes.Key).Bold(true)),
		tabActive:     newPaint(b.Selected),
		tabKey:        newPaint(b.Key),
		highlight:     newPaint(b.Highlight),
		jsonKey:       newPaint(b.JSONKey),
		jsonString:    newPaint(b.JSONString),
		jsonNumber:    newPaint(b.JSONNumber),
		jsonBool:      newPaint(b.JSONBool),
		jsonNull:      newPaint(b.JSONNull),
		jsonPunct:     newPaint(b.JSONPunct),
		glyphs:        roundGlyphs,
		focusGlyphs:   roundGlyphs,
	}
	if t.Plain {
		s.focusGlyphs = thickGlyphs
		s.barMuted = s.bar
		s.barErr = newPaint(b.StatusBar.Bold(true))
		s.barWarn = s.barErr
		s.barKey = s.barErr
	}
	return s
}

// producerPaint colours a producer's state.
func producerPaint(st *styles, s monitor.ProducerState) paint {
	switch s {
	case monitor.ProducerCreated, monitor.ProducerRecreated:
		return st.ok
	case monitor.ProducerFailed:
		return st.err
	case monitor.ProducerClosed:
		return st.muted
	}
	return st.info
}

// consumerPaint colours a consumer's state.
func consumerPaint(st *styles, s monitor.ConsumerState) paint {
	switch s {
	case monitor.ConsumerSubscribed, monitor.ConsumerResubscribed:
		return st.ok
	case monitor.ConsumerFailed:
		return st.err
	case monitor.ConsumerClosed, monitor.ConsumerStreamEnded:
		return st.muted
	}
	return st.info
}
