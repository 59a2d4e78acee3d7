// Package archtest checks the shape of the code base that no compiler checks: which packages may import
// which (the architecture's one-way graph), that main only dispatches, and the size limits that keep the
// console's and the commands' files readable. It reads the module with `go list` and go/parser; it has no
// code of its own.
package archtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/danube-console/danube-console"

// pkg is what go list tells about one package of the module.
type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string
}

// rel is a package's path inside the module ("." for the root).
func rel(path string) string {
	if path == module {
		return "."
	}
	return strings.TrimPrefix(path, module+"/")
}

// under reports whether p is prefix or a package below it.
func under(p, prefix string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }

func listModule(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("reading go list's output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// rule forbids the packages under pkg (except those under one of except) to import anything under one of
// forbid.
type rule struct {
	pkg    string
	except []string
	forbid []string
	why    string
}

var charm = []string{"charm.land", "github.com/charmbracelet"}

var rules = []rule{
	{pkg: "proto", forbid: []string{"*"}, why: "generated code depends on nothing of ours"},
	{pkg: "broker", except: []string{"broker/brokertest"}, forbid: append([]string{"client", "connectors", "monitor", "tui", "themes", "internal/cli"}, charm...),
		why: "proto ← store ← broker"},
	{pkg: "client", forbid: append([]string{"broker", "connectors", "monitor", "tui", "themes", "internal/cli"}, charm...),
		why: "proto ← client; client never imports broker"},
	{pkg: "connectors", except: []string{"connectors/connectortest"}, forbid: append([]string{"broker", "monitor", "tui", "themes", "internal/cli"}, charm...),
		why: "client ← connectors ← kinds"},
	{pkg: "monitor", forbid: append([]string{"broker", "tui", "themes", "internal/cli", "connectors/filetail", "connectors/generator",
		"connectors/httpsink", "connectors/jsonlsink", "connectors/mqtt", "connectors/postgres", "connectors/webhook", "connectors/all"}, charm...),
		why: "{client, connectors, filter} ← monitor, and no connector kind"},
	{pkg: "tui", forbid: []string{"client", "connectors", "broker", "internal/cli"}, why: "monitor ← tui: the console reads everything through monitor"},
	{pkg: "internal/bench", forbid: append([]string{"tui", "themes", "internal/cli"}, charm...), why: "the bench engine is headless: cli ← bench"},
	{pkg: "themes", forbid: []string{"client", "connectors", "broker", "monitor", "tui", "internal/cli"}, why: "themes are colours only"},
}

func TestImportGraph(t *testing.T) {
	pkgs := listModule(t)
	for _, p := range pkgs {
		from := rel(p.ImportPath)
		for _, imp := range p.Imports {
			to := imp
			if under(imp, module) {
				to = rel(imp)
			}
			if under(to, "internal/cli") && from != "." && !under(from, "internal/cli") {
				t.Errorf("%s imports %s: only main dispatches to the commands", from, to)
			}
			if from == "." && under(imp, module) && !under(to, "internal/cli") {
				t.Errorf("main imports %s: main only dispatches to internal/cli", to)
			}
			for _, r := range rules {
				if !under(from, r.pkg) || slices.ContainsFunc(r.except, func(e string) bool { return under(from, e) }) {
					continue
				}
				for _, f := range r.forbid {
					if (f == "*" && under(imp, module) && !under(to, r.pkg)) || (f != "*" && under(to, f)) {
						t.Errorf("%s imports %s (%s)", from, to, r.why)
					}
				}
			}
		}
	}
}

// The panes of the console are components that never import one another.
func TestPanesAreIndependent(t *testing.T) {
	var panes []string
	for _, p := range listModule(t) {
		if r := rel(p.ImportPath); strings.HasPrefix(r, "tui/pane/") && strings.Count(r, "/") == 2 {
			panes = append(panes, r)
		}
	}
	for _, p := range listModule(t) {
		from := rel(p.ImportPath)
		if !slices.Contains(panes, from) {
			continue
		}
		for _, imp := range p.Imports {
			if to := rel(imp); slices.Contains(panes, to) {
				t.Errorf("pane %s imports pane %s", from, to)
			}
		}
	}
}

// main.go only dispatches; the commands' functions and the console's files stay small enough to read.
func TestSizes(t *testing.T) {
	root := filepath.Join("..", "..")
	if n := lines(t, filepath.Join(root, "main.go")); n >= 100 {
		t.Errorf("main.go has %d lines: it should only dispatch to internal/cli (under 100)", n)
	}
	for _, p := range listModule(t) {
		r := rel(p.ImportPath)
		if !under(r, "tui") && !under(r, "monitor") && !under(r, "internal/cli") {
			continue
		}
		for _, f := range p.GoFiles {
			path := filepath.Join(p.Dir, f)
			if n := lines(t, path); n > 700 {
				t.Errorf("%s/%s has %d lines (at most 700 outside tests)", r, f, n)
			}
			if under(r, "internal/cli") {
				for _, fn := range longFuncs(t, path, 80) {
					t.Errorf("%s/%s: %s", r, f, fn)
				}
			}
		}
	}
}

func lines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "\n")
}

// longFuncs lists the functions of a file longer than max lines (from func to closing brace).
func longFuncs(t *testing.T, path string, max int) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
		if n > max {
			out = append(out, fmt.Sprintf("func %s has %d lines (at most %d)", fd.Name.Name, n, max))
		}
	}
	return out
}
