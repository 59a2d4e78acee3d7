package tui

import (
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"os"
	"slices"
	"strings"
	"testing"
)

// components names, for each component file, the component types it defines (a type may spread over
// several files). A component file never names the root Model nor a type another file owns (except the
// parts its types are made of): components get an env and post requests, so they stay as independent as
// if each were a package of its own. commands.go owns no component: the commands, too, only post requests.
var components = map[string][]string{
	"pane_dashboard.go":    {"dashboardPane", "tiler"},
	"dash_tiles.go":        {"dashboardPane"},
	"pane_topics.go":       {"topicsPane"},
	"pane_producers.go":    {"producersPane"},
	"pane_consumers.go":    {"consumersPane"},
	"consumers_actions.go": {"consumersPane"},
	"consumers_list.go":    {"consumersPane"},
	"consumers_stream.go":  {"msgStream"},
	"consumers_filter.go":  {"filterInput"},
	"inspector.go":         {"inspector"},
	"replay.go":            {"replayer", "replayModal"},
	"pane_acks.go":         {"acksPane"},
	"pane_health.go":       {"healthPane"},
	"pane_connectors.go":   {"connectorsPane"},
	"pane_cluster.go":      {"clusterPane"},
	"pane_problems.go":     {"problemsPane"},
	"pane_security.go":     {"securityPane"},
	"security_forms.go":    {"roleForm", "bindingForm"},
	"modal.go":             {"tapForm", "nackPrompt"},
	"quit.go":              {"quitDialog"},
	"cmdline.go":           {"cmdLine"},
	"commands.go":          nil,
	"commands_switch.go":   nil,
}

// parts are the components a composite component is made of.
var parts = map[string][]string{"consumersPane": {"msgStream", "filterInput", "inspector", "replayer"}}

// owners returns the files that own a component type.
func owners(name string) []string {
	var out []string
	for f, types := range components {
		if slices.Contains(types, name) {
			out = append(out, f)
		}
	}
	return out
}

// mayName reports whether component file f may name the component type name: one of its own, or a part
// of one of its own.
func mayName(f, name string) bool {
	for _, own := range components[f] {
		if own == name || slices.Contains(parts[own], name) {
			return true
		}
	}
	return false
}

// TestComponentsStayApart: no component file names the root Model or a type another component owns.
func TestComponentsStayApart(t *testing.T) {
	fset := gotoken.NewFileSet()
	for f := range components {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Obj == nil && x.Name != "Model" && len(owners(x.Name)) == 0 {
					return false // pkg.Name (textinput.Model): another package's name
				}
				return true
			}
			id, ok := n.(*ast.Ident)
			if !ok {
				return true
			}
			switch o := owners(id.Name); {
			case id.Name == "Model":
				t.Errorf("%s names the root Model", fset.Position(id.Pos()))
			case len(o) > 0 && !mayName(f, id.Name):
				t.Errorf("%s names %s, which %s owns", fset.Position(id.Pos()), id.Name, strings.Join(o, ", "))
			}
			return true
		})
	}
}

// rootFields are the root Model's fields, each with what it keeps: the root keeps layout, focus, routing,
// the status bar, the modal stack, the command line, the help overlay, the ticks and the snapshot (and
// backend) it hands out, and the panes it composes. A field that is not here is state a component should
// own: a counter of taps, a running action, the result of an action.
var rootFields = map[string]string{
	"b":     "the backend it pulls the snapshot from and hands out by domain",
	"opts":  "the options: tick, clock, read-only",
	"ctx":   "the context the components' actions run under",
	"keys":  "routing: the keymap",
	"theme": "the theme it hands out",
	"st":    "the styles it hands out",
	"w":     "layout", "h": "layout",
	"snap":   "the snapshot it hands out",
	"active": "focus",
	"panes":  "the panes, in tab order",
	"dash":   "the panes, by name (routing)", "topics": "the panes, by name (routing)",
	"producers": "the panes, by name (routing)", "consumers": "the panes, by name (routing)",
	"acks": "the panes, by name (routing)", "health": "the panes, by name (routing)",
	"connectors": "the panes, by name (routing)", "cluster": "the panes, by name (routing)",
	"problems": "the panes, by name (routing)", "security": "the panes, by name (routing)",
	"showHelp": "the help overlay", "helpOff": "the help overlay",
	"status":      "the status bar",
	"statusOpen":  "the status bar: its message shown whole",
	"events":      "the status bar's history: every message it showed (the events view reads it), kept across cluster switches",
	"roSession":   "routing: read-only enforcement",
	"quitting":    "layout: the last frame, blank, drawn when the program quits (see clearOnQuit)",
	"modal":       "the modal stack",
	"cmd":         "the command line",
	"clusterName": "the header: the current cluster's name, which the root changes when it swaps the backend",
}

// rootFiles are the files that define methods on the root Model: the model itself (with its ticks and
// layout), the routing, the modal stack, and the drawing of what the root owns (header, status bar, help).
var rootFiles = []string{"model.go", "router.go", "modals.go", "header.go", "help.go"}

// TestRootKeepsToItsJob: the root Model has only the fields of the allow-list, and its methods are all in
// the root's files; what else the console does lives in components.
func TestRootKeepsToItsJob(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := gotoken.NewFileSet()
	found := false
	for _, en := range entries {
		f := en.Name()
		if !strings.HasSuffix(f, ".go") || strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil && isModel(d.Recv.List[0].Type) && !slices.Contains(rootFiles, f) {
					t.Errorf("%s: method Model.%s outside the root's files %v: it belongs to a component",
						fset.Position(d.Pos()), d.Name.Name, rootFiles)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					ts, ok := s.(*ast.TypeSpec)
					if !ok || ts.Name.Name != "Model" {
						continue
					}
					found = true
					for _, fl := range ts.Type.(*ast.StructType).Fields.List {
						for _, n := range fl.Names {
							if _, ok := rootFields[n.Name]; !ok {
								t.Errorf("%s: the root Model keeps %s, which is not layout, focus, routing, the status bar or the modal stack: a component should own it (or add it to rootFields, saying why)",
									fset.Position(n.Pos()), n.Name)
							}
						}
						if len(fl.Names) == 0 {
							t.Errorf("%s: the root Model embeds a type", fset.Position(fl.Pos()))
						}
					}
				}
			}
		}
	}
	if !found {
		t.Fatal("no Model type")
	}
}

// isModel reports whether a receiver's type is Model or *Model.
func isModel(x ast.Expr) bool {
	if s, ok := x.(*ast.StarExpr); ok {
		x = s.X
	}
	id, ok := x.(*ast.Ident)
	return ok && id.Name == "Model"
}
