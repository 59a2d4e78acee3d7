package themes

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadWithBase(t *testing.T) {
	p := writeFile(t, "mine.toml", `
name = "mine"
base = "dracula"

[colors]
accent = "#ABC"      # short hex
info = 212           # ANSI index
"key" = "7"          # quoted ANSI index
json_key = "#010203"
`)
	th, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if th.Name != "mine" || !th.Dark || th.Plain {
		t.Errorf("got name %q dark %v plain %v", th.Name, th.Dark, th.Plain)
	}
	want := Builtin()[3].Clone() // dracula
	if want.Name != "dracula" {
		t.Fatalf("cycle order changed: %s", want.Name)
	}
	want.Colors[Accent] = "#aabbcc"
	want.Colors[Info] = "212"
	want.Colors[Key] = "7"
	want.Colors[JSONKey] = "#010203"
	for _, r := range Roles() {
		if th.Colors[r] != want.Colors[r] {
			t.Errorf("%s = %q, want %q", r, th.Colors[r], want.Colors[r])
		}
	}
	if err := th.Validate(); err != nil {
		t.Error(err)
	}
}

func TestLoadLightBaseInfersDark(t *testing.T) {
	th, err := Parse("x/pale.toml", []byte("base = \"light\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if th.Name != "pale" || th.Dark {
		t.Errorf("name %q dark %v, want pale/false", th.Name, th.Dark)
	}
	th, err = Parse("night.toml", []byte("base = \"light\"\n[colors]\nbackground = \"#101010\"\n"))
	if err != nil || !th.Dark {
		t.Errorf("dark background not detected: %+v, %v", th, err)
	}
	th, err = Parse("forced.toml", []byte("base = \"light\"\ndark = true\n"))
	if err != nil || !th.Dark {
		t.Errorf("dark = true ignored: %+v, %v", th, err)
	}
}

// The example file is a complete theme without base and documents every role.
func TestExampleTheme(t *testing.T) {
	data, err := os.ReadFile("example-theme.toml")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "\nbase =") {
		t.Fatal("example must exercise a theme without base")
	}
	th, err := Load("example-theme.toml")
	if err != nil {
		t.Fatal(err)
	}
	if err := th.Validate(); err != nil {
		t.Fatal(err)
	}
	if th.Name != "gruvbox" || !th.Dark || th.Colors[JSONPunct] != "246" || th.Colors[Background] != "#282828" {
		t.Errorf("unexpected example theme: %+v", th)
	}
	lines := strings.Split(string(data), "\n")
	for _, r := range Roles() {
		found := false
		for _, l := range lines {
			if strings.HasPrefix(l, r.String()+" ") && strings.Contains(l, "#") && strings.Contains(l, "= ") {
				found = strings.Contains(l[strings.LastIndex(l, "# ")+1:], " ")
			}
		}
		if !found {
			t.Errorf("example-theme.toml has no commented line for role %s", r)
		}
	}
	for _, k := range []string{"name =", "base =", "dark ="} {
		if !strings.Contains(string(data), k) {
			t.Errorf("example-theme.toml does not document %q", k)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	allRoles := func(skip ...string) string {
		var b strings.Builder
		b.WriteString("[colors]\n")
	roles:
		for _, r := range Roles() {
			for _, s := range skip {
				if r.String() == s {
					continue roles
				}
			}
			b.WriteString(r.String() + " = \"#808080\"\n")
		}
		return b.String()
	}
	cases := []struct {
		name, content string
		want          []string // one line per expected error, in order
	}{
		{
			name:    "bad colour",
			content: "name = \"mine\"\nbase = \"dark\"\n[colors]\naccent = \"#12345\"\n",
			want:    []string{`mytheme.toml:4: colors.accent: "#12345" is not a colour (use "#rrggbb", "#rgb" or an ANSI index 0-255)`},
		},
		{
			name:    "ANSI out of range",
			content: "base = \"dark\"\n[colors]\naccent = 256\nerror = -1\n",
			want: []string{
				"mytheme.toml:3: colors.accent: 256 is not an ANSI colour index (use 0-255)",
				"mytheme.toml:4: colors.error: -1 is not an ANSI colour index (use 0-255)",
			},
		},
		{
			name:    "wrong value type",
			content: "base = \"dark\"\n[colors]\naccent = true\ninfo = 1.5\nkey = [1]\n",
			want: []string{
				`mytheme.toml:3: colors.accent: expected a colour ("#rrggbb", "#rgb" or an ANSI index 0-255), got a TOML boolean`,
				`mytheme.toml:4: colors.info: expected a colour ("#rrggbb", "#rgb" or an ANSI index 0-255), got a TOML float`,
				`mytheme.toml:5: colors.key: expected a colour ("#rrggbb", "#rgb" or an ANSI index 0-255), got a TOML array`,
			},
		},
		{
			name:    "unknown role",
			content: "base = \"dark\"\n\n[colors]\nacent = \"#123456\"\n",
			want:    []string{`mytheme.toml:4: colors.acent: unknown role "acent" (roles: ` + strings.Join(roleNameList(), ", ") + ")"},
		},
		{
			name:    "kebab-case role",
			content: "base = \"dark\"\ncolors.json-key = \"#123456\"\n",
			want:    []string{`mytheme.toml:2: colors.json-key: unknown role "json-key" (did you mean "json_key"? role names are snake_case)`},
		},
		{
			name:    "unknown key",
			content: "name = \"mine\"\nbase = \"dark\"\ncolour = \"#123456\"\n",
			want:    []string{"mytheme.toml:3: colour: unknown key; a theme file has only name, base, dark and a [colors] table"},
		},
		{
			name:    "unknown table",
			content: "base = \"dark\"\n[colours]\naccent = \"#123456\"\n",
			want: []string{
				"mytheme.toml:2: colours: unknown key; a theme file has only name, base, dark and a [colors] table",
			},
		},
		{
			name:    "missing roles without base",
			content: "name = \"mine\"\n" + allRoles("accent", "json_null"),
			want:    []string{`mytheme.toml:2: colors: missing accent, json_null; without base every role needs a colour (or set base = "dark")`},
		},
		{
			name:    "no colours without base",
			content: "name = \"mine\"\n",
			want:    []string{`mytheme.toml: colors: no colours given; set base = "dark" to inherit them, or define all 27 roles (see example-theme.toml)`},
		},
		{
			name:    "unknown base",
			content: "name = \"mine\"\nbase = \"plain\"\n",
			want: []string{
				`mytheme.toml:2: base: unknown built-in theme "plain" (available: dark, light, high-contrast, dracula, catppuccin-mocha)`,
			},
		},
		{
			name:    "wrong type for name",
			content: "name = 3\nbase = \"dark\"\n",
			want:    []string{"mytheme.toml:1: name: expected a string, got a TOML integer"},
		},
		{
			name:    "empty name",
			content: "base = \"dark\"\nname = \" \"\n",
			want:    []string{"mytheme.toml:2: name: must not be empty"},
		},
		{
			name:    "syntax error",
			content: "name = \"mine\"\n[colors\naccent = \"#123456\"\n",
			want:    []string{"mytheme.toml:2: syntax error: expected ']' to close table name"},
		},
		{
			name:    "duplicate key",
			content: "base = \"dark\"\n[colors]\naccent = \"#123456\"\naccent = \"#654321\"\n",
			want:    []string{"mytheme.toml:4: accent: key accent is already defined"},
		},
		{
			name:    "several problems, in line order",
			content: "name = \"mine\"\n[colors]\nforeground = \"red\"\nbackground = \"#000\"\nborderr = 1\n",
			want: []string{
				`mytheme.toml:2: colors: missing muted, border, border_focused, title, header, accent, selection, selection_text, status_bar, status_bar_text, success, warning, error, info, sparkline, key, badge, badge_text, highlight, json_key, json_string, json_number, json_bool, json_null, json_punct; without base every role needs a colour (or set base = "dark")`,
				`mytheme.toml:3: colors.foreground: "red" is not a colour (use "#rrggbb", "#rgb" or an ANSI index 0-255)`,
				`mytheme.toml:5: colors.borderr: unknown role "borderr" (roles: ` + strings.Join(roleNameList(), ", ") + ")",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			th, err := Parse("mytheme.toml", []byte(tc.content))
			if err == nil {
				t.Fatalf("no error; got theme %+v", th)
			}
			if th != nil {
				t.Errorf("theme %+v returned with error", th)
			}
			if !errors.Is(err, ErrInvalidTheme) {
				t.Errorf("error %v does not match ErrInvalidTheme", err)
			}
			var fe *FileError
			if !errors.As(err, &fe) || fe.Path != "mytheme.toml" {
				t.Errorf("error %v is not a *FileError for the file", err)
			}
			if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("error:\n%s\nwant:\n%s", err, strings.Join(tc.want, "\n"))
			}
		})
	}
}

// roleNameList returns the role names, for expected messages.
func roleNameList() []string {
	var ns []string
	for _, r := range Roles() {
		ns = append(ns, r.String())
	}
	return ns
}

func TestLoadErrorNamesPath(t *testing.T) {
	p := writeFile(t, "bad.toml", "base = \"dark\"\n[colors]\naccent = \"#12345\"\n")
	_, err := Load(p)
	if want := p + `:3: colors.accent: "#12345" is not a colour`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Load error %v, want prefix %q", err, want)
	}
	_, err = Load(filepath.Join(t.TempDir(), "none.toml"))
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalidTheme) {
		t.Errorf("missing file error = %v", err)
	}
}

func TestResolve(t *testing.T) {
	th, err := Resolve("")
	if err != nil || th.Name != DefaultName {
		t.Errorf("Resolve(\"\") = %v, %v", th, err)
	}
	th, err = Resolve("catppuccin-mocha")
	if err != nil || th.Name != "catppuccin-mocha" {
		t.Errorf("Resolve(catppuccin-mocha) = %v, %v", th, err)
	}
	p := writeFile(t, "dracula.toml", "name = \"file\"\nbase = \"dracula\"\n")
	th, err = Resolve(p)
	if err != nil || th.Name != "file" {
		t.Errorf("Resolve(path) = %v, %v", th, err)
	}
	_, err = Resolve("nosuch")
	if !errors.Is(err, ErrUnknownTheme) || !strings.Contains(err.Error(), "available: dark,") || !strings.HasSuffix(err.Error(), "or a path to a .toml theme file") {
		t.Errorf("Resolve(nosuch) = %v", err)
	}
	_, err = Resolve("nosuch.toml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Resolve(nosuch.toml) = %v, want a not-exist error", err)
	}
}

func TestSelectAndNoColor(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "NO_COLOR" {
				return v
			}
			return ""
		}
	}
	th, err := Select("light", env(""))
	if err != nil || th.Name != "light" || th.Plain {
		t.Errorf("Select(light) = %+v, %v", th, err)
	}
	th, err = Select("light", env("1"))
	if err != nil || !th.Plain || th.Name != PlainName {
		t.Errorf("Select(light) with NO_COLOR = %+v, %v", th, err)
	}
	if _, err = Select("nosuch", env("1")); !errors.Is(err, ErrUnknownTheme) {
		t.Errorf("Select(nosuch) with NO_COLOR = %v, want ErrUnknownTheme", err)
	}

	t.Setenv("NO_COLOR", "")
	if NoColor() {
		t.Error("NoColor() with empty NO_COLOR")
	}
	if th, _ := Select("", nil); th.Plain {
		t.Error("Select with empty NO_COLOR is plain")
	}
	t.Setenv("NO_COLOR", "0") // any non-empty value counts
	if !NoColor() {
		t.Error("NoColor() false with NO_COLOR=0")
	}
	if th, _ := Select("", nil); !th.Plain {
		t.Error("Select(\"\", nil) ignores NO_COLOR from the environment")
	}
}
