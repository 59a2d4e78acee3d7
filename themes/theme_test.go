package themes

import (
	"errors"
	"fmt"
	"image/color"
	"maps"
	"slices"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
)

// contrast returns the WCAG 2 contrast ratio of two canonical colours.
func contrast(t *testing.T, a, b string) float64 {
	t.Helper()
	la, ok1 := luminance(a)
	lb, ok2 := luminance(b)
	if !ok1 || !ok2 {
		t.Fatalf("luminance of %q / %q unknown", a, b)
	}
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func TestContrastHelper(t *testing.T) {
	if got := contrast(t, "#000000", "#ffffff"); got < 20.99 || got > 21.01 {
		t.Errorf("black/white = %.3f, want 21", got)
	}
	if got := contrast(t, "#777777", "#ffffff"); got < 4.47 || got > 4.49 {
		t.Errorf("#777/white = %.3f, want 4.48", got)
	}
	if got := contrast(t, "#123456", "#123456"); got != 1 {
		t.Errorf("same colour = %v, want 1", got)
	}
	// xterm 256-colour palette: 196 is #ff0000, 244 is #808080.
	if got, want := contrast(t, "196", "#000000"), contrast(t, "#ff0000", "#000000"); got != want {
		t.Errorf("ANSI 196 = %v, want %v", got, want)
	}
	if got, want := contrast(t, "244", "#000000"), contrast(t, "#808080", "#000000"); got != want {
		t.Errorf("ANSI 244 = %v, want %v", got, want)
	}
}

func TestRoles(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Roles() {
		n := r.String()
		if n == "" || strings.ContainsAny(n, "-. ") || strings.ToLower(n) != n {
			t.Errorf("role %d has name %q, want lower snake_case", int(r), n)
		}
		if seen[n] {
			t.Errorf("duplicate role name %q", n)
		}
		seen[n] = true
		if got, ok := ParseRole(n); !ok || got != r {
			t.Errorf("ParseRole(%q) = %v, %v", n, got, ok)
		}
		if !r.Valid() {
			t.Errorf("%v not Valid", r)
		}
	}
	if len(seen) != int(numRoles) || len(Roles()) != int(numRoles) {
		t.Errorf("%d names for %d roles", len(seen), numRoles)
	}
	if _, ok := ParseRole("json-key"); ok {
		t.Error("ParseRole accepted kebab-case")
	}
	if got := Role(-1).String(); got != "role(-1)" {
		t.Errorf("Role(-1) = %q", got)
	}
	if numRoles.Valid() {
		t.Error("numRoles is Valid")
	}
}

func TestBuiltinsComplete(t *testing.T) {
	ts := Builtin()
	if len(ts) < 4 {
		t.Fatalf("%d built-ins, want at least 4", len(ts))
	}
	if ts[0].Name != DefaultName {
		t.Errorf("first built-in %q, want %q", ts[0].Name, DefaultName)
	}
	for _, want := range []string{"dark", "light", "high-contrast", "dracula", "catppuccin-mocha"} {
		if !slices.ContainsFunc(ts, func(t *Theme) bool { return t.Name == want }) {
			t.Errorf("built-in %q missing", want)
		}
	}
	var names []string
	for _, th := range ts {
		names = append(names, th.Name)
		t.Run(th.Name, func(t *testing.T) {
			if err := th.Validate(); err != nil {
				t.Fatal(err)
			}
			if th.Plain {
				t.Error("built-in is Plain")
			}
			if len(th.Colors) != int(numRoles) {
				t.Errorf("%d colours for %d roles", len(th.Colors), numRoles)
			}
			for _, r := range Roles() {
				v := th.Colors[r]
				if c, err := ParseColor(v); err != nil || c != v {
					t.Errorf("%s = %q is not canonical (%q, %v)", r, v, c, err)
				}
				if _, ok := th.Color(r).(lipgloss.NoColor); ok {
					t.Errorf("Color(%s) is NoColor", r)
				}
			}
			if dark, ok := isDarkColor(th.Colors[Background]); !ok || dark != th.Dark {
				t.Errorf("Dark = %v but background %s says %v", th.Dark, th.Colors[Background], dark)
			}
		})
	}
	if want := append(names, PlainName); !slices.Equal(Names(), want) {
		t.Errorf("Names() = %v, want %v", Names(), want)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(names)))) != len(names) {
		t.Errorf("duplicate built-in names: %v", names)
	}
}

func TestBuiltinsContrast(t *testing.T) {
	type pair struct{ text, bg Role }
	// Text on its own background: WCAG AA (4.5) for body text.
	textPairs := []pair{
		{Foreground, Background},
		{SelectionText, Selection},
		{StatusBarText, StatusBar},
		{BadgeText, Badge},
	}
	// Coloured text and UI components on the background: WCAG 1.4.11 (3).
	onBackground := []Role{
		Muted, BorderFocused, Title, Header, Accent, Success, Warning, Error, Info,
		Sparkline, Key, Highlight, JSONKey, JSONString, JSONNumber, JSONBool, JSONNull, JSONPunct,
	}
	for _, th := range Builtin() {
		t.Run(th.Name, func(t *testing.T) {
			textMin, otherMin, borderMin := 4.5, 3.0, 1.2
			if th.Name == "high-contrast" {
				textMin, otherMin, borderMin = 7, 7, 7 // WCAG AAA everywhere
			}
			for _, p := range textPairs {
				if c := contrast(t, th.Colors[p.text], th.Colors[p.bg]); c < textMin {
					t.Errorf("%s on %s: contrast %.2f < %.1f", p.text, p.bg, c, textMin)
				}
			}
			for _, r := range onBackground {
				if c := contrast(t, th.Colors[r], th.Colors[Background]); c < otherMin {
					t.Errorf("%s on background: contrast %.2f < %.1f", r, c, otherMin)
				}
			}
			if c := contrast(t, th.Colors[Border], th.Colors[Background]); c < borderMin {
				t.Errorf("border on background: contrast %.2f < %.1f", c, borderMin)
			}
			// The selected row must stand out from the others.
			if th.Colors[Selection] == th.Colors[Background] {
				t.Error("selection background equals the background")
			}
		})
	}
}

func TestBuiltinCopiesAreIndependent(t *testing.T) {
	a := Builtin()[0]
	a.Colors[Foreground] = "#000000"
	a.Name = "changed"
	if b := Builtin()[0]; b.Colors[Foreground] == "#000000" || b.Name != DefaultName {
		t.Fatal("modifying a Builtin() result changed the built-in")
	}
	c, _ := Lookup("dark")
	c.Colors[Background] = "#ffffff"
	if Default().Colors[Background] == "#ffffff" {
		t.Fatal("modifying a Lookup() result changed the built-in")
	}
}

func TestLookup(t *testing.T) {
	for _, n := range Names() {
		th, err := Lookup(n)
		if err != nil || th.Name != n {
			t.Errorf("Lookup(%q) = %v, %v", n, th, err)
		}
	}
	if th, err := Lookup("  Dracula "); err != nil || th.Name != "dracula" {
		t.Errorf("Lookup is not case/space-insensitive: %v, %v", th, err)
	}
	if th, err := Lookup("plain"); err != nil || !th.Plain {
		t.Errorf("Lookup(plain) = %+v, %v", th, err)
	}
	_, err := Lookup("solarized")
	if !errors.Is(err, ErrUnknownTheme) {
		t.Fatalf("Lookup(solarized) error %v does not match ErrUnknownTheme", err)
	}
	want := `unknown theme "solarized" (available: ` + strings.Join(Names(), ", ") + ")"
	if err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
}

func TestNextCycles(t *testing.T) {
	ts := Builtin()
	cur := DefaultName
	var visited []string
	for range ts {
		th := Next(cur)
		visited = append(visited, th.Name)
		cur = th.Name
	}
	var want []string
	for _, th := range ts[1:] {
		want = append(want, th.Name)
	}
	want = append(want, ts[0].Name)
	if !slices.Equal(visited, want) {
		t.Errorf("cycle from %s visited %v, want %v", DefaultName, visited, want)
	}
	if got := Next("my-own-theme").Name; got != DefaultName {
		t.Errorf("Next(unknown) = %q, want %q", got, DefaultName)
	}
	if got := Next("HIGH-CONTRAST").Name; got != ts[3].Name {
		t.Errorf("Next(HIGH-CONTRAST) = %q, want %q", got, ts[3].Name)
	}
	if got := Next(PlainName); !got.Plain {
		t.Errorf("Next(plain) = %q, want plain", got.Name)
	}
}

func TestParseColor(t *testing.T) {
	good := map[string]string{
		"#AbCdEf": "#abcdef",
		"#abc":    "#aabbcc",
		"#000000": "#000000",
		"0":       "0",
		"007":     "7",
		"255":     "255",
	}
	for in, want := range good {
		if got, err := ParseColor(in); err != nil || got != want {
			t.Errorf("ParseColor(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "#", "#12345", "#1234567", "#ggg", "red", "256", "-1", "1000", " 12", "#12 345", "0x12"} {
		if got, err := ParseColor(in); err == nil {
			t.Errorf("ParseColor(%q) = %q, want error", in, got)
		} else if !strings.HasPrefix(err.Error(), fmt.Sprintf("%q is not a colour", in)) {
			t.Errorf("ParseColor(%q) error %q does not quote the value", in, err)
		}
	}
}

func TestValidate(t *testing.T) {
	th := Default()
	delete(th.Colors, Accent)
	th.Colors[Error] = "#12345"
	th.Colors[Role(99)] = "#ffffff"
	err := th.Validate()
	if !errors.Is(err, ErrInvalidTheme) {
		t.Fatalf("Validate() = %v, want ErrInvalidTheme", err)
	}
	for _, want := range []string{"no colour for role accent", `role error: "#12345" is not a colour`, "undefined role(99)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() error %q lacks %q", err, want)
		}
	}
	if err := Plain().Validate(); err != nil {
		t.Errorf("Plain().Validate() = %v", err)
	}
	if err := (&Theme{Colors: maps.Clone(Default().Colors)}).Validate(); err == nil {
		t.Error("nameless theme validated")
	}
}

func TestColor(t *testing.T) {
	th := Default()
	th.Colors[Accent] = "#ff0000"
	th.Colors[Info] = "212"
	delete(th.Colors, Key)
	if got, want := th.Color(Accent), color.Color(color.RGBA{R: 0xff, A: 0xff}); !sameColor(got, want) {
		t.Errorf("Color(Accent) = %v, want %v", got, want)
	}
	if got := th.Color(Info); !sameColor(got, lipgloss.ANSIColor(212)) {
		t.Errorf("Color(Info) = %#v, want ANSI 212", got)
	}
	if _, ok := th.Color(Key).(lipgloss.NoColor); !ok {
		t.Errorf("Color of a missing role = %#v, want NoColor", th.Color(Key))
	}
	th.Plain = true
	if _, ok := th.Color(Accent).(lipgloss.NoColor); !ok {
		t.Errorf("Plain Color = %#v, want NoColor", th.Color(Accent))
	}
}

func sameColor(a, b color.Color) bool {
	r1, g1, b1, a1 := a.RGBA()
	r2, g2, b2, a2 := b.RGBA()
	return r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2
}
