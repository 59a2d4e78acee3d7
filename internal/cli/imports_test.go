package cli

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportDirection checks that the commands sit at the top of the import graph: only the main package
// imports internal/cli, and the bench engine imports neither the commands nor the console.
func TestImportDirection(t *testing.T) {
	const mod = "github.com/danube-console/danube-console"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, mod+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, " ")
		for _, imp := range strings.Fields(imports) {
			switch {
			case imp == mod+"/internal/cli" && pkg != mod:
				t.Errorf("%s imports internal/cli: only main may", pkg)
			case pkg == mod+"/internal/bench" && (imp == mod+"/internal/cli" || imp == mod+"/tui"):
				t.Errorf("internal/bench imports %s", imp)
			}
		}
	}
}
