package tui

import (
	"strings"
)

// The README's key tables are generated from the keymap and the command table, so that they cannot miss a
// key: KeysMarkdown writes them, and a test fails when the README differs (go test ./tui -update rewrites
// it).

// KeysMarkdown returns the Markdown tables of the console's keys (every binding of DefaultKeyMap, by
// section) and of its commands (:), as the README shows them. Keys and commands that change state are
// marked; read-only mode disables them.
func KeysMarkdown() (keys, cmds string) {
	const ro = " *(changes state: off in read-only mode)*"
	var b strings.Builder
	b.WriteString("| key | where | what it does |\n|---|---|---|\n")
	for _, s := range DefaultKeyMap().sections() {
		for _, k := range s.bindings {
			b.WriteString("| " + mdKeys(k) + " | " + strings.ToLower(s.title) + " | " + mdDoc(k) + pick(k.Mutates(), ro, "") + " |\n")
		}
	}
	keys = b.String()
	b.Reset()
	b.WriteString("| command | what it does |\n|---|---|\n")
	for _, c := range commands() {
		names := "`:" + c.name + pick(c.usage != "", " "+c.usage, "") + "`"
		for _, a := range c.aliases {
			names += ", `:" + a + "`"
		}
		b.WriteString("| " + mdEscape(names) + " | " + mdEscape(pick(c.doc != "", c.doc, c.help)))
		switch {
		case c.changes != "":
			b.WriteString(ro)
		case len(c.changingFlags) > 0:
			b.WriteString(" *(" + strings.Join(c.changingFlags, ", ") + " changes state: off in read-only mode)*")
		}
		b.WriteString(" |\n")
	}
	return keys, b.String()
}

// mdKeys formats a binding's keys: each key in backquotes, or the help's summary ("1-7") for a range.
func mdKeys(b Binding) string {
	if k := b.Help().Key; strings.Contains(k, "-") && !strings.Contains(k, "+") {
		return "`" + k + "`"
	}
	var out []string
	for _, k := range b.Keys() {
		out = append(out, "`"+k+"`")
	}
	return mdEscape(strings.Join(out, ", "))
}

// mdDoc is a binding's description for the README: its Doc, else its help text.
func mdDoc(b Binding) string {
	if b.Doc != "" {
		return mdEscape(b.Doc)
	}
	return mdEscape(b.Help().Desc)
}

// mdEscape escapes the pipes of a Markdown table cell.
func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
