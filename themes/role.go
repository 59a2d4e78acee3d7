package themes

import "fmt"

// Role names what a colour is used for. UI code asks a Theme for the colour of
// a role; it never hard-codes a colour.
//
// The zero value is Background. Roles are small consecutive integers from 0 to
// len(Roles())-1, so they can index arrays.
type Role int

// The colour roles. The comment on each gives its intended use; the string in
// parentheses is its key in a theme file and the value of Role.String.
const (
	Background    Role = iota // (background) screen background
	Foreground                // (foreground) ordinary text
	Muted                     // (muted) secondary, dimmed text: hints, timestamps
	Border                    // (border) border of an unfocused pane
	BorderFocused             // (border_focused) border of the focused pane
	Title                     // (title) pane and dialog titles
	Header                    // (header) table column headers
	Accent                    // (accent) emphasis that is none of the below
	Selection                 // (selection) background of the selected row
	SelectionText             // (selection_text) text of the selected row
	StatusBar                 // (status_bar) background of the status bar
	StatusBarText             // (status_bar_text) text of the status bar
	Success                   // (success) healthy / OK states
	Warning                   // (warning) degraded states, warnings
	Error                     // (error) failures, error messages
	Info                      // (info) informational messages
	Sparkline                 // (sparkline) sparklines and small charts
	Key                       // (key) key names in help and the key bar
	Badge                     // (badge) background of badges, e.g. "read-only"
	BadgeText                 // (badge_text) text of badges
	Highlight                 // (highlight) filter / search matches
	JSONKey                   // (json_key) object keys in pretty-printed JSON
	JSONString                // (json_string) JSON strings
	JSONNumber                // (json_number) JSON numbers
	JSONBool                  // (json_bool) JSON true and false
	JSONNull                  // (json_null) JSON null
	JSONPunct                 // (json_punct) JSON braces, brackets, colons, commas

	numRoles // keep last
)

var roleNames = [numRoles]string{
	Background:    "background",
	Foreground:    "foreground",
	Muted:         "muted",
	Border:        "border",
	BorderFocused: "border_focused",
	Title:         "title",
	Header:        "header",
	Accent:        "accent",
	Selection:     "selection",
	SelectionText: "selection_text",
	StatusBar:     "status_bar",
	StatusBarText: "status_bar_text",
	Success:       "success",
	Warning:       "warning",
	Error:         "error",
	Info:          "info",
	Sparkline:     "sparkline",
	Key:           "key",
	Badge:         "badge",
	BadgeText:     "badge_text",
	Highlight:     "highlight",
	JSONKey:       "json_key",
	JSONString:    "json_string",
	JSONNumber:    "json_number",
	JSONBool:      "json_bool",
	JSONNull:      "json_null",
	JSONPunct:     "json_punct",
}

var rolesByName = func() map[string]Role {
	m := make(map[string]Role, numRoles)
	for r, n := range roleNames {
		m[n] = Role(r)
	}
	return m
}()

// String returns the role's snake_case name, which is also its key in the
// [colors] table of a theme file. Out-of-range roles print as "role(N)".
func (r Role) String() string {
	if r < 0 || r >= numRoles {
		return fmt.Sprintf("role(%d)", int(r))
	}
	return roleNames[r]
}

// Valid reports whether r is one of the defined roles.
func (r Role) Valid() bool { return r >= 0 && r < numRoles }

// Roles returns every role in declaration order. The slice is freshly
// allocated on each call.
func Roles() []Role {
	rs := make([]Role, numRoles)
	for i := range rs {
		rs[i] = Role(i)
	}
	return rs
}

// ParseRole returns the role whose String is name. Matching is exact: theme
// files use snake_case names only.
func ParseRole(name string) (Role, bool) {
	r, ok := rolesByName[name]
	return r, ok
}
