package themes

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"
)

// Theme maps every [Role] to a colour.
//
// A Theme is a plain value: the functions of this package return fresh
// copies, so callers may modify what they get without affecting anyone else.
// A Theme is safe for concurrent reads.
type Theme struct {
	// Name identifies the theme: a built-in name, or the name given in (or
	// derived from) a theme file.
	Name string

	// Dark reports whether the theme is meant for a dark background. UI code
	// may use it for choices colours cannot express (e.g. glyph shapes).
	Dark bool

	// Plain marks a theme without colour (NO_COLOR). Color then returns
	// lipgloss.NoColor{} for every role, whatever Colors says, and Styles
	// marks selection, focus and badges with reverse video, bold and
	// underline instead.
	Plain bool

	// Colors holds the colour of each role, in canonical form: "#rrggbb"
	// (lower case) or the decimal ANSI 256-colour index "0".."255". A
	// complete theme has an entry for every role (see Validate); the Plain
	// theme has none.
	Colors map[Role]string
}

// Color returns the colour of role r for use with lipgloss. It returns
// lipgloss.NoColor{} when the theme is Plain, and when r has no (valid)
// colour, so the result is always safe to pass to a lipgloss.Style.
func (t *Theme) Color(r Role) color.Color {
	if t == nil || t.Plain {
		return lipgloss.NoColor{}
	}
	v, ok := t.Colors[r]
	if !ok || v == "" {
		return lipgloss.NoColor{}
	}
	return lipgloss.Color(v)
}

// Clone returns a deep copy of t.
func (t *Theme) Clone() *Theme {
	if t == nil {
		return nil
	}
	c := *t
	c.Colors = make(map[Role]string, len(t.Colors))
	for r, v := range t.Colors {
		c.Colors[r] = v
	}
	return &c
}

// Validate reports whether t is usable: it needs a name and, unless it is
// Plain, a valid colour (see ParseColor) for every role and nothing for
// undefined roles. The error lists every problem and matches ErrInvalidTheme.
func (t *Theme) Validate() error {
	if t == nil {
		return fmt.Errorf("%w: nil theme", ErrInvalidTheme)
	}
	var errs []error
	if t.Name == "" {
		errs = append(errs, errors.New("empty name"))
	}
	if !t.Plain {
		for _, r := range Roles() {
			v, ok := t.Colors[r]
			if !ok {
				errs = append(errs, fmt.Errorf("no colour for role %s", r))
				continue
			}
			if _, err := ParseColor(v); err != nil {
				errs = append(errs, fmt.Errorf("role %s: %w", r, err))
			}
		}
		for r := range t.Colors {
			if !r.Valid() {
				errs = append(errs, fmt.Errorf("undefined %s", r))
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w %q: %w", ErrInvalidTheme, t.Name, errors.Join(errs...))
}

// ParseColor checks a colour as written in a theme file and returns its
// canonical form. It accepts "#rrggbb" and "#rgb" (any case; returned as
// lower-case "#rrggbb") and a decimal ANSI 256-colour index "0".."255"
// (returned without leading zeros). Anything else is an error that quotes s.
func ParseColor(s string) (string, error) {
	bad := fmt.Errorf("%q is not a colour (use \"#rrggbb\", \"#rgb\" or an ANSI index 0-255)", s)
	if strings.HasPrefix(s, "#") {
		h := s[1:]
		for _, c := range []byte(h) {
			if !isHex(c) {
				return "", bad
			}
		}
		switch len(h) {
		case 6:
			return "#" + strings.ToLower(h), nil
		case 3:
			h = strings.ToLower(h)
			return "#" + string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]}), nil
		}
		return "", bad
	}
	if s == "" || len(s) > 3 {
		return "", bad
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return "", bad
		}
	}
	n, _ := strconv.Atoi(s)
	if n > 255 {
		return "", bad
	}
	return strconv.Itoa(n), nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// rgb returns the 8-bit RGB components of a canonical colour. ANSI indexes
// 16-255 use the standard xterm palette; 0-15 depend on the terminal, so ok is
// false for them.
func rgb(canonical string) (r, g, b uint8, ok bool) {
	if strings.HasPrefix(canonical, "#") && len(canonical) == 7 {
		v, err := strconv.ParseUint(canonical[1:], 16, 32)
		if err != nil {
			return 0, 0, 0, false
		}
		return uint8(v >> 16), uint8(v >> 8), uint8(v), true
	}
	n, err := strconv.Atoi(canonical)
	if err != nil || n < 16 || n > 255 {
		return 0, 0, 0, false
	}
	if n >= 232 {
		v := uint8(8 + 10*(n-232))
		return v, v, v, true
	}
	levels := [6]uint8{0, 95, 135, 175, 215, 255}
	n -= 16
	return levels[n/36], levels[n/6%6], levels[n%6], true
}

// luminance returns the WCAG 2 relative luminance (0 black .. 1 white) of a
// canonical colour; ok is false when it is not known (ANSI 0-15).
func luminance(canonical string) (l float64, ok bool) {
	r, g, b, ok := rgb(canonical)
	if !ok {
		return 0, false
	}
	lin := func(c uint8) float64 {
		v := float64(c) / 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b), true
}

// isDarkColor reports whether text on the colour reads better in white than
// in black, i.e. whether it is a dark background.
func isDarkColor(canonical string) (dark, ok bool) {
	l, ok := luminance(canonical)
	if !ok {
		return false, false
	}
	// Contrast with white equals contrast with black at L ≈ 0.179.
	return (1+0.05)/(l+0.05) > (l+0.05)/0.05, true
}
