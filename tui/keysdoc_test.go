package tui

import (
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
)

const readmePath = "../README.md"

// The README's generated tables sit between these markers.
const (
	keysBegin     = "<!-- keys: generated from tui/keys.go, go test ./tui -update rewrites it -->\n"
	keysEnd       = "<!-- end of keys -->\n"
	commandsBegin = "<!-- commands: generated from tui/cmdline.go, go test ./tui -update rewrites it -->\n"
	commandsEnd   = "<!-- end of commands -->\n"
)

// updating reports whether the tests run with -update (the flag the golden files' package defines).
func updating() bool {
	f := flag.Lookup("update")
	if f == nil {
		return false
	}
	g, ok := f.Value.(flag.Getter)
	return ok && g.Get() == true
}

// replaceBetween replaces what lies between begin and end in s.
func replaceBetween(t *testing.T, s, begin, end, with string) string {
	t.Helper()
	i := strings.Index(s, begin)
	j := strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README lacks the markers %q … %q", begin, end)
	}
	return s[:i+len(begin)] + with + s[j:]
}

// TestReadmeKeysAreCurrent: the README's key and command tables are what KeysMarkdown generates from the
// keymap and the command table (run go test ./tui -update after changing a binding or a command).
func TestReadmeKeysAreCurrent(t *testing.T) {
	data, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	keys, cmds := KeysMarkdown()
	want := replaceBetween(t, string(data), keysBegin, keysEnd, keys)
	want = replaceBetween(t, want, commandsBegin, commandsEnd, cmds)
	if updating() && want != string(data) {
		if err := os.WriteFile(readmePath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		data = []byte(want)
	}
	if string(data) != want {
		t.Fatalf("the README's key tables are out of date: run go test ./tui -update")
	}
	for _, k := range []string{"`N`", "`c`", "`h`", "`l`", "`ctrl+r`", "`ctrl+o`", "`ctrl+c`"} {
		if !strings.Contains(keys, k) {
			t.Errorf("the key table lacks %s", k)
		}
	}
}

// TestEveryBindingDocumented: every binding of the keymap is in a section (so in the README's table), and
// the help overlay shows every section but the dashboard's and the prompts' (their keys are in their own
// hints).
func TestEveryBindingDocumented(t *testing.T) {
	km := DefaultKeyMap()
	listed := map[string]bool{}
	for _, s := range km.sections() {
		for _, b := range s.bindings {
			listed[b.Help().Key+"\x00"+b.Help().Desc] = true
		}
	}
	v := reflect.ValueOf(km)
	for i := range v.NumField() {
		group := v.Field(i)
		for j := range group.NumField() {
			name := v.Type().Field(i).Name + "." + group.Type().Field(j).Name
			b, ok := group.Field(j).Interface().(Binding)
			if !ok {
				continue // Global.Panes: summed up by Global.PaneGroup
			}
			if !listed[b.Help().Key+"\x00"+b.Help().Desc] {
				t.Errorf("%s (%s) is in no section of the keymap", name, b.Help().Key)
			}
		}
	}
	if got, all := len(km.helpSections()), len(km.sections()); got != all-3 {
		t.Errorf("help shows %d of %d sections", got, all)
	}
}
