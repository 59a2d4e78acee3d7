package themes

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/danube-console/danube-console/internal/tomlpos"
)

// ErrInvalidTheme is matched (errors.Is) by every error that reports a
// problem in the content of a theme file, and by Theme.Validate errors.
var ErrInvalidTheme = errors.New("invalid theme")

// FileError is one problem in a theme file. Its message reads
// "path:line: key: problem", where line and key are left out when unknown.
// It matches ErrInvalidTheme with errors.Is.
type FileError struct {
	Path string // the file, as given to Load or Parse
	Line int    // 1-based line of the offending key; 0 if not tied to a line
	Key  string // dotted TOML key, e.g. "colors.accent"; "" if none
	Msg  string // what is wrong
}

// Error returns "path:line: key: problem".
func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns ErrInvalidTheme.
func (e *FileError) Unwrap() error { return ErrInvalidTheme }

// NoColor reports whether the NO_COLOR environment variable is set to a
// non-empty value, in which case the UI must not use colour
// (https://no-color.org).
func NoColor() bool { return os.Getenv("NO_COLOR") != "" }

// Select picks the theme for a --theme flag value: "" means the default,
// otherwise see Resolve. If getenv("NO_COLOR") is non-empty it returns Plain
// instead — after resolving nameOrPath, so a bad flag is still reported.
// A nil getenv means os.Getenv.
func Select(nameOrPath string, getenv func(string) string) (*Theme, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	t, err := Resolve(nameOrPath)
	if err != nil {
		return nil, err
	}
	if getenv("NO_COLOR") != "" {
		return Plain(), nil
	}
	return t, nil
}

// Resolve returns the theme named by nameOrPath: "" is the default; a value
// containing a path separator or ending in ".toml" is a theme file read with
// Load; anything else is a built-in name looked up with Lookup (so a file
// in the current directory needs "./name" or the ".toml" suffix).
func Resolve(nameOrPath string) (*Theme, error) {
	switch {
	case strings.TrimSpace(nameOrPath) == "":
		return Default(), nil
	case isPath(nameOrPath):
		return Load(nameOrPath)
	}
	t, err := Lookup(nameOrPath)
	if err != nil {
		return nil, fmt.Errorf("%w, or a path to a .toml theme file", err)
	}
	return t, nil
}

func isPath(s string) bool {
	return strings.ContainsRune(s, '/') || strings.ContainsRune(s, filepath.Separator) ||
		strings.EqualFold(filepath.Ext(s), ".toml")
}

// Load reads and validates the theme file at path; see the package
// documentation for the format. A file that cannot be read yields the
// os error (wrapped). A file with problems yields every problem found, each a
// *FileError, joined with errors.Join, all matching ErrInvalidTheme.
func Load(path string) (*Theme, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading theme file: %w", err)
	}
	return Parse(path, data)
}

// Parse is Load on the file content data; path is used in error messages and,
// when the file has no name key, for the theme name (its base name without
// extension).
func Parse(path string, data []byte) (*Theme, error) {
	var doc struct {
		Name   *string        `toml:"name"`
		Base   *string        `toml:"base"`
		Dark   *bool          `toml:"dark"`
		Colors map[string]any `toml:"colors"`
	}
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, tomlError(path, err)
	}

	lines, _ := tomlpos.New(data) // the decoder has accepted data
	var errs []*FileError
	// fail records a problem with the key at keyPath (a top-level key, or
	// "colors" and a role).
	fail := func(keyPath []string, format string, args ...any) {
		errs = append(errs, &FileError{Path: path, Line: lines.Nearest(keyPath...), Key: strings.Join(keyPath, "."),
			Msg: fmt.Sprintf(format, args...)})
	}

	t := &Theme{Colors: map[Role]string{}}
	switch {
	case doc.Name == nil:
		t.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	case strings.TrimSpace(*doc.Name) == "":
		fail([]string{"name"}, "must not be empty")
	default:
		t.Name = strings.TrimSpace(*doc.Name)
	}

	var base *Theme
	if doc.Base != nil {
		if base = builtinNamed(strings.ToLower(strings.TrimSpace(*doc.Base))); base == nil {
			var names []string
			for _, b := range builtins {
				names = append(names, b.Name)
			}
			fail([]string{"base"}, "unknown built-in theme %q (available: %s)", *doc.Base, strings.Join(names, ", "))
		} else {
			for r, v := range base.Colors {
				t.Colors[r] = v
			}
		}
	}

	keys := make([]string, 0, len(doc.Colors))
	for k := range doc.Colors {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(lines.Nearest("colors", a), lines.Nearest("colors", b)), cmp.Compare(a, b))
	})
	given := map[Role]bool{} // roles in [colors], valid or not
	for _, k := range keys {
		key := []string{"colors", k}
		r, ok := ParseRole(k)
		if !ok {
			fail(key, "unknown role %q%s", k, roleHint(k))
			continue
		}
		given[r] = true
		var s string
		switch v := doc.Colors[k].(type) {
		case string:
			s = v
		case int64:
			if v < 0 || v > 255 {
				fail(key, "%d is not an ANSI colour index (use 0-255)", v)
				continue
			}
			s = strconv.FormatInt(v, 10)
		default:
			fail(key, "expected a colour (\"#rrggbb\", \"#rgb\" or an ANSI index 0-255), got a TOML %s", tomlKind(v))
			continue
		}
		c, err := ParseColor(s)
		if err != nil {
			fail(key, "%v", err)
			continue
		}
		t.Colors[r] = c
	}

	if doc.Base == nil {
		var missing []string
		for _, r := range Roles() {
			if !given[r] {
				missing = append(missing, r.String())
			}
		}
		switch {
		case len(missing) == int(numRoles):
			fail([]string{"colors"}, "no colours given; set base = %q to inherit them, or define all %d roles (see example-theme.toml)", DefaultName, numRoles)
		case len(missing) > 0:
			fail([]string{"colors"}, "missing %s; without base every role needs a colour (or set base = %q)", strings.Join(missing, ", "), DefaultName)
		}
	}

	switch bg, ok := isDarkColor(t.Colors[Background]); {
	case doc.Dark != nil:
		t.Dark = *doc.Dark
	case ok:
		t.Dark = bg
	case base != nil:
		t.Dark = base.Dark
	default:
		t.Dark = true
	}

	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b *FileError) int { return cmp.Compare(a.Line, b.Line) })
		all := make([]error, len(errs))
		for i, e := range errs {
			all[i] = e
		}
		return nil, errors.Join(all...)
	}
	return t, nil
}

// roleHint suggests the right spelling of an unknown role.
func roleHint(k string) string {
	if r, ok := ParseRole(strings.ToLower(strings.ReplaceAll(k, "-", "_"))); ok {
		return fmt.Sprintf(" (did you mean %q? role names are snake_case)", r.String())
	}
	names := make([]string, numRoles)
	for i, n := range roleNames {
		names[i] = n
	}
	return " (roles: " + strings.Join(names, ", ") + ")"
}

func tomlKind(v any) string {
	switch v.(type) {
	case bool:
		return "boolean"
	case float64:
		return "float"
	case []any:
		return "array"
	case map[string]any:
		return "table"
	default:
		return "date/time"
	}
}

// tomlError turns a go-toml decoding error into FileErrors.
func tomlError(path string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		all := make([]error, 0, len(strict.Errors))
		for i := range strict.Errors {
			e := &strict.Errors[i]
			line, _ := e.Position()
			key := strings.Join(e.Key(), ".")
			all = append(all, &FileError{Path: path, Line: line, Key: key,
				Msg: "unknown key; a theme file has only name, base, dark and a [colors] table"})
		}
		return errors.Join(all...)
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		key := strings.Join(de.Key(), ".")
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if rest, ok := strings.CutPrefix(msg, "cannot decode TOML "); ok {
			got, _, _ := strings.Cut(rest, " into ")
			want := map[string]string{"name": "a string", "base": "a string", "dark": "true or false", "colors": "a table"}[key]
			if want != "" {
				msg = fmt.Sprintf("expected %s, got a TOML %s", want, got)
			}
		} else if key == "" {
			msg = "syntax error: " + msg
		}
		return &FileError{Path: path, Line: line, Key: key, Msg: msg}
	}
	return &FileError{Path: path, Msg: err.Error()}
}
