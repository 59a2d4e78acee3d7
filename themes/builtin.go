package themes

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultName is the name of the default theme.
const DefaultName = "dark"

// PlainName is the name of the colourless theme returned by Plain.
const PlainName = "plain"

// ErrUnknownTheme is matched (errors.Is) by errors for a theme name that is
// neither a built-in nor, where paths are accepted, a theme file path.
var ErrUnknownTheme = errors.New("unknown theme")

type palette map[Role]string

// builtins lists the built-in themes in cycle order; the first is the
// default. Colours must be canonical (see ParseColor); the tests check that
// and the contrast of every theme.
var builtins = []*Theme{
	{
		// Default: a calm dark theme in the spirit of k9s — blue/cyan
		// chrome, orange keys, green/amber/red states.
		Name: "dark",
		Dark: true,
		Colors: palette{
			Background:    "#1b1d23",
			Foreground:    "#d8dee9",
			Muted:         "#7f8796",
			Border:        "#3e4451",
			BorderFocused: "#38bdf8",
			Title:         "#5fd7ff",
			Header:        "#8fb8ff",
			Accent:        "#c792ea",
			Selection:     "#2f4a6d",
			SelectionText: "#ffffff",
			StatusBar:     "#2a2f3a",
			StatusBarText: "#d8dee9",
			Success:       "#7ed491",
			Warning:       "#f5c16c",
			Error:         "#ff7b72",
			Info:          "#6cb6ff",
			Sparkline:     "#56d4bc",
			Key:           "#ffa657",
			Badge:         "#f5c16c",
			BadgeText:     "#1b1d23",
			Highlight:     "#ffd866",
			JSONKey:       "#6cb6ff",
			JSONString:    "#98c379",
			JSONNumber:    "#d19a66",
			JSONBool:      "#c792ea",
			JSONNull:      "#7f8796",
			JSONPunct:     "#abb2bf",
		},
	},
	{
		// Light: GitHub-like colours on an off-white background.
		Name: "light",
		Dark: false,
		Colors: palette{
			Background:    "#fafafa",
			Foreground:    "#24292f",
			Muted:         "#57606a",
			Border:        "#d0d7de",
			BorderFocused: "#0969da",
			Title:         "#0550ae",
			Header:        "#6639ba",
			Accent:        "#8250df",
			Selection:     "#ddf4ff",
			SelectionText: "#0a3069",
			StatusBar:     "#eaeef2",
			StatusBarText: "#24292f",
			Success:       "#1a7f37",
			Warning:       "#9a6700",
			Error:         "#cf222e",
			Info:          "#0969da",
			Sparkline:     "#1b7c83",
			Key:           "#bc4c00",
			Badge:         "#8250df",
			BadgeText:     "#ffffff",
			Highlight:     "#953800",
			JSONKey:       "#0550ae",
			JSONString:    "#116329",
			JSONNumber:    "#953800",
			JSONBool:      "#8250df",
			JSONNull:      "#6e7781",
			JSONPunct:     "#57606a",
		},
	},
	{
		// High contrast: every colour is at least 7:1 (WCAG AAA) against
		// its background.
		Name: "high-contrast",
		Dark: true,
		Colors: palette{
			Background:    "#000000",
			Foreground:    "#ffffff",
			Muted:         "#d0d0d0",
			Border:        "#ffffff",
			BorderFocused: "#ffff00",
			Title:         "#00ffff",
			Header:        "#ffffff",
			Accent:        "#ff80ff",
			Selection:     "#ffff00",
			SelectionText: "#000000",
			StatusBar:     "#ffffff",
			StatusBarText: "#000000",
			Success:       "#00ff00",
			Warning:       "#ffff00",
			Error:         "#ff7070",
			Info:          "#00ffff",
			Sparkline:     "#00ff00",
			Key:           "#ffff00",
			Badge:         "#00ffff",
			BadgeText:     "#000000",
			Highlight:     "#ffff00",
			JSONKey:       "#00ffff",
			JSONString:    "#00ff00",
			JSONNumber:    "#ffb000",
			JSONBool:      "#ff80ff",
			JSONNull:      "#d0d0d0",
			JSONPunct:     "#ffffff",
		},
	},
	{
		// Dracula, official palette: https://draculatheme.com/contribute
		Name: "dracula",
		Dark: true,
		Colors: palette{
			Background:    "#282a36", // background
			Foreground:    "#f8f8f2", // foreground
			Muted:         "#6272a4", // comment
			Border:        "#6272a4", // comment
			BorderFocused: "#bd93f9", // purple
			Title:         "#bd93f9", // purple
			Header:        "#ff79c6", // pink
			Accent:        "#ff79c6", // pink
			Selection:     "#44475a", // current line / selection
			SelectionText: "#f8f8f2", // foreground
			StatusBar:     "#44475a", // current line
			StatusBarText: "#f8f8f2", // foreground
			Success:       "#50fa7b", // green
			Warning:       "#f1fa8c", // yellow
			Error:         "#ff5555", // red
			Info:          "#8be9fd", // cyan
			Sparkline:     "#50fa7b", // green
			Key:           "#ffb86c", // orange
			Badge:         "#bd93f9", // purple
			BadgeText:     "#282a36", // background
			Highlight:     "#f1fa8c", // yellow
			JSONKey:       "#8be9fd", // cyan
			JSONString:    "#f1fa8c", // yellow
			JSONNumber:    "#bd93f9", // purple (constants)
			JSONBool:      "#bd93f9", // purple (constants)
			JSONNull:      "#bd93f9", // purple (constants)
			JSONPunct:     "#f8f8f2", // foreground
		},
	},
	{
		// Catppuccin Mocha, official palette: https://catppuccin.com/palette
		Name: "catppuccin-mocha",
		Dark: true,
		Colors: palette{
			Background:    "#1e1e2e", // base
			Foreground:    "#cdd6f4", // text
			Muted:         "#9399b2", // overlay 2
			Border:        "#6c7086", // overlay 0
			BorderFocused: "#b4befe", // lavender
			Title:         "#cba6f7", // mauve
			Header:        "#89b4fa", // blue
			Accent:        "#f5c2e7", // pink
			Selection:     "#45475a", // surface 1
			SelectionText: "#cdd6f4", // text
			StatusBar:     "#313244", // surface 0
			StatusBarText: "#cdd6f4", // text
			Success:       "#a6e3a1", // green
			Warning:       "#f9e2af", // yellow
			Error:         "#f38ba8", // red
			Info:          "#89dceb", // sky
			Sparkline:     "#94e2d5", // teal
			Key:           "#fab387", // peach
			Badge:         "#cba6f7", // mauve
			BadgeText:     "#11111b", // crust
			Highlight:     "#f9e2af", // yellow
			JSONKey:       "#89b4fa", // blue
			JSONString:    "#a6e3a1", // green
			JSONNumber:    "#fab387", // peach
			JSONBool:      "#cba6f7", // mauve
			JSONNull:      "#eba0ac", // maroon
			JSONPunct:     "#9399b2", // overlay 2
		},
	},
}

// Builtin returns fresh copies of the built-in themes in cycle order. The
// first is the default ("dark"). Plain is not included.
func Builtin() []*Theme {
	ts := make([]*Theme, len(builtins))
	for i, t := range builtins {
		ts[i] = t.Clone()
	}
	return ts
}

// Names returns the names Lookup accepts: the built-ins in cycle order, then
// "plain".
func Names() []string {
	ns := make([]string, 0, len(builtins)+1)
	for _, t := range builtins {
		ns = append(ns, t.Name)
	}
	return append(ns, PlainName)
}

// Default returns a fresh copy of the default theme, "dark".
func Default() *Theme { return builtins[0].Clone() }

// Plain returns the colourless theme, named "plain", used for NO_COLOR: Color
// returns lipgloss.NoColor{} for every role and its Styles rely on bold,
// faint, underline and reverse video only.
func Plain() *Theme {
	return &Theme{Name: PlainName, Dark: true, Plain: true, Colors: map[Role]string{}}
}

// Lookup returns a fresh copy of the built-in theme called name (matched
// case-insensitively, surrounding spaces ignored), including "plain". For any
// other name the error matches ErrUnknownTheme and lists the available names.
func Lookup(name string) (*Theme, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == PlainName {
		return Plain(), nil
	}
	if t := builtinNamed(n); t != nil {
		return t.Clone(), nil
	}
	return nil, fmt.Errorf("%w %q (available: %s)", ErrUnknownTheme, name, strings.Join(Names(), ", "))
}

// builtinNamed returns the shared (not copied) built-in called n, or nil.
func builtinNamed(n string) *Theme {
	for _, t := range builtins {
		if t.Name == n {
			return t
		}
	}
	return nil
}

// Next returns a fresh copy of the built-in theme that follows current in
// cycle order, wrapping around after the last. A current name that is not a
// cycle member (a user theme file, "") yields the first built-in. Next of
// "plain" is Plain: under NO_COLOR the cycle key changes nothing.
func Next(current string) *Theme {
	n := strings.ToLower(strings.TrimSpace(current))
	if n == PlainName {
		return Plain()
	}
	for i, t := range builtins {
		if t.Name == n {
			return builtins[(i+1)%len(builtins)].Clone()
		}
	}
	return Default()
}
