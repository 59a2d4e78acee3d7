package themes

import (
	"image/color"
	"reflect"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
)

// styleFields returns every lipgloss.Style field of s by name, so that fields
// added later are covered automatically.
func styleFields(t *testing.T, s Styles) map[string]lipgloss.Style {
	t.Helper()
	out := map[string]lipgloss.Style{}
	v := reflect.ValueOf(s)
	for i := range v.NumField() {
		st, ok := v.Field(i).Interface().(lipgloss.Style)
		if !ok {
			t.Fatalf("Styles.%s is not a lipgloss.Style", v.Type().Field(i).Name)
		}
		out[v.Type().Field(i).Name] = st
	}
	return out
}

func styleColors(st lipgloss.Style) map[string]color.Color {
	return map[string]color.Color{
		"foreground":    st.GetForeground(),
		"background":    st.GetBackground(),
		"underline":     st.GetUnderlineColor(),
		"border top":    st.GetBorderTopForeground(),
		"border right":  st.GetBorderRightForeground(),
		"border bottom": st.GetBorderBottomForeground(),
		"border left":   st.GetBorderLeftForeground(),
		"border top bg": st.GetBorderTopBackground(),
	}
}

// sgrColour matches the SGR parameters that set a colour: 38 (fg), 48 (bg),
// 58 (underline) in any form, and the 16-colour codes 30-37, 40-47, 90-97,
// 100-107.
func hasColourSGR(s string) bool {
	for rest := s; ; {
		i := strings.Index(rest, "\x1b[")
		if i < 0 {
			return false
		}
		rest = rest[i+2:]
		end := strings.IndexByte(rest, 'm')
		if end < 0 {
			return false
		}
		for _, p := range strings.Split(rest[:end], ";") {
			switch {
			case p == "38" || p == "48" || p == "58":
				return true
			case len(p) == 2 && (p[0] == '3' || p[0] == '4' || p[0] == '9') && p[1] >= '0' && p[1] <= '7':
				return true
			case len(p) == 3 && p[:2] == "10" && p[2] >= '0' && p[2] <= '7':
				return true
			}
		}
		rest = rest[end:]
	}
}

func TestHasColourSGR(t *testing.T) {
	colored := lipgloss.NewStyle().Foreground(lipgloss.Color("#ff0000")).Render("x")
	if !hasColourSGR(colored) {
		t.Fatalf("coloured render %q not detected", colored)
	}
	if hasColourSGR(lipgloss.NewStyle().Bold(true).Reverse(true).Render("x")) {
		t.Fatal("bold/reverse detected as colour")
	}
}

func TestStylesUseThemeColours(t *testing.T) {
	for _, th := range Builtin() {
		s := th.Styles()
		checks := []struct {
			name string
			got  color.Color
			role Role
		}{
			{"App fg", s.App.GetForeground(), Foreground},
			{"App bg", s.App.GetBackground(), Background},
			{"Text fg", s.Text.GetForeground(), Foreground},
			{"Muted fg", s.Muted.GetForeground(), Muted},
			{"Title fg", s.Title.GetForeground(), Title},
			{"Border", s.Border.GetBorderTopForeground(), Border},
			{"FocusedBorder", s.FocusedBorder.GetBorderLeftForeground(), BorderFocused},
			{"Selected fg", s.Selected.GetForeground(), SelectionText},
			{"Selected bg", s.Selected.GetBackground(), Selection},
			{"StatusBar bg", s.StatusBar.GetBackground(), StatusBar},
			{"Badge bg", s.Badge.GetBackground(), Badge},
			{"Badge fg", s.Badge.GetForeground(), BadgeText},
			{"OK", s.OK.GetForeground(), Success},
			{"Error", s.Error.GetForeground(), Error},
			{"Key", s.Key.GetForeground(), Key},
			{"Highlight", s.Highlight.GetForeground(), Highlight},
			{"JSONKey", s.JSONKey.GetForeground(), JSONKey},
			{"JSONPunct", s.JSONPunct.GetForeground(), JSONPunct},
		}
		for _, c := range checks {
			if !sameColor(c.got, th.Color(c.role)) {
				t.Errorf("%s: %s = %v, want %s %v", th.Name, c.name, c.got, c.role, th.Color(c.role))
			}
		}
		for name, st := range styleFields(t, s) {
			if _, ok := st.GetForeground().(lipgloss.NoColor); ok && name != "Border" && name != "FocusedBorder" {
				t.Errorf("%s: Styles.%s has no foreground colour", th.Name, name)
			}
		}
		if out := s.Selected.Render("row"); !hasColourSGR(out) {
			t.Errorf("%s: Selected renders without colour: %q", th.Name, out)
		}
		if !s.Title.GetBold() || !s.Highlight.GetUnderline() {
			t.Errorf("%s: Title not bold or Highlight not underlined", th.Name)
		}
	}
}

func TestPlainStylesHaveNoColour(t *testing.T) {
	for _, th := range []*Theme{Plain(), func() *Theme { d := Default(); d.Plain = true; return d }()} {
		s := th.Styles()
		for name, st := range styleFields(t, s) {
			for what, c := range styleColors(st) {
				if _, ok := c.(lipgloss.NoColor); !ok {
					t.Errorf("plain Styles.%s %s colour = %#v, want NoColor", name, what, c)
				}
			}
			if out := st.Width(12).Render("text"); hasColourSGR(out) {
				t.Errorf("plain Styles.%s renders colour: %q", name, out)
			}
		}
		// Without colour, selection, the status bar and badges must still be
		// visible, and focus must look different from no focus.
		for name, st := range map[string]lipgloss.Style{"Selected": s.Selected, "StatusBar": s.StatusBar, "Badge": s.Badge} {
			if !st.GetReverse() {
				t.Errorf("plain Styles.%s is not reverse video", name)
			}
		}
		if s.FocusedBorder.GetBorderStyle() == s.Border.GetBorderStyle() {
			t.Error("plain focused border looks like the unfocused one")
		}
		if !s.Highlight.GetUnderline() || !s.Title.GetBold() || !s.Key.GetBold() || !s.Muted.GetFaint() {
			t.Error("plain Highlight/Title/Key/Muted lost their attributes")
		}
		if out := s.Selected.Render("row"); !strings.Contains(out, "\x1b[") {
			t.Errorf("plain Selected renders without any attribute: %q", out)
		}
	}
}

func TestSelectedNotReverseInColour(t *testing.T) {
	// Reverse video on top of the selection colours would swap them.
	if Default().Styles().Selected.GetReverse() {
		t.Error("coloured Selected uses reverse video")
	}
}
