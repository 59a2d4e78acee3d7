// Package themes defines the colour themes of the danube console TUI.
//
// UI code never names a colour. It names a [Role] — what the colour is for
// (Foreground, Selection, Error, JSONKey, ...) — and asks the active [Theme]
// for it with [Theme.Color], or uses the ready-made lipgloss styles from
// [Theme.Styles]. Switching themes is therefore a matter of swapping the
// *Theme value and rebuilding the Styles.
//
// # Built-in themes
//
// [Builtin] returns the built-in themes in the order the "cycle theme" key
// walks through them (see [Next]); the first one, "dark", is the default.
// "plain" is a further built-in, outside the cycle, without any colour: see
// [Plain] and [NoColor].
//
// # Choosing a theme
//
// [Select] is the single entry point for a --theme flag: it accepts a
// built-in name or a path to a theme file, falls back to the default for "",
// and returns [Plain] when the NO_COLOR environment variable is set to a
// non-empty value (https://no-color.org).
//
// # Theme files
//
// A user theme is a TOML file (see example-theme.toml next to this package
// for a fully commented one):
//
//	# optional; defaults to the file name without ".toml"
//	name = "mine"
//	# optional; inherit every colour from this built-in, then override
//	base = "dark"
//	# optional; whether the background is dark. Defaults to what the
//	# background colour says (or to the base theme's value)
//	dark = true
//
//	[colors]
//	accent = "#ff79c6"    # "#rrggbb" or "#rgb"
//	border = 240          # or an ANSI 256-colour index 0-255 ("240" works too)
//	json_key = "#8be9fd"
//
// Keys in [colors] are role names in snake_case, exactly as returned by
// [Role.String] (background, foreground, border_focused, json_key, ...). No
// other top-level keys or tables are allowed. Without base every role must be
// given. [Load] reports every problem it finds, each as a [*FileError]
// reading "file:line: key: problem", all matching [ErrInvalidTheme] with
// errors.Is.
package themes
