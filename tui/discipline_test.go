package tui

import (
	"go/ast"
	"go/parser"
	gotoken "go/token"
	"slices"
	"testing"
)

// owners names, for each component type, the file that owns it. A component file never names the root
// Model nor another component's type (except the parts it is made of): components get an env and post
// requests, so they stay as independent as if each were a package of its own.
var owners = map[string]string{
	"dashboardPane": "pane_dashboard.go", "tiler": "pane_dashboard.go",
	"topicsPane":     "pane_topics.go",
	"producersPane":  "pane_producers.go",
	"consumersPane":  "pane_consumers.go",
	"msgStream":      "consumers_stream.go",
	"filterInput":    "consumers_filter.go",
	"inspector":      "inspector.go",
	"acksPane":       "pane_acks.go",
	"healthPane":     "pane_health.go",
	"connectorsPane": "pane_connectors.go",
	"tapForm":        "modal.go", "nackPrompt": "modal.go",
	"replayModal": "replay.go",
	"cmdLine":     "cmdline.go",
}

// parts are the components a composite component is made of.
var parts = map[string][]string{"pane_consumers.go": {"msgStream", "filterInput", "inspector"}}

// isLocalType reports whether name is one of the package's component types or the root Model.
func isLocalType(name string) bool { _, ok := owners[name]; return ok || name == "Model" }

// TestComponentsStayApart: no component file names the root Model or a type another component owns.
func TestComponentsStayApart(t *testing.T) {
	files := map[string]bool{}
	for _, f := range owners {
		files[f] = true
	}
	fset := gotoken.NewFileSet()
	for f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Obj == nil && !isLocalType(x.Name) {
					return false // pkg.Name (textinput.Model): another package's name
				}
				return true
			}
			id, ok := n.(*ast.Ident)
			if !ok {
				return true
			}
			switch o, known := owners[id.Name]; {
			case id.Name == "Model":
				t.Errorf("%s names the root Model", fset.Position(id.Pos()))
			case known && o != f && !slices.Contains(parts[f], id.Name):
				t.Errorf("%s names %s, which %s owns", fset.Position(id.Pos()), id.Name, o)
			}
			return true
		})
	}
}
