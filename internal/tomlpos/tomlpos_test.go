package tomlpos_test

import (
	"errors"
	"testing"

	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/danube-console/danube-console/internal/tomlpos"
)

const doc = `# a comment
name = "x"
site.owner = "ops"

[colors]
primary = "#fff"
"quoted.key" = 1

[[connector]]
name = "a"
tags = [
  "one",
  "two",
]

[connector.retry]
max_retries = 3

[[connector]]
name = "b"
opts = { depth = 2, inner.leaf = true }

[deep.nested.table]
k = 1
`

func TestLines(t *testing.T) {
	idx, err := tomlpos.New([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path []string
		want int
	}{
		{[]string{"name"}, 2},
		{[]string{"site"}, 3},
		{[]string{"site", "owner"}, 3},
		{[]string{"colors"}, 5},
		{[]string{"colors", "primary"}, 6},
		{[]string{"colors", "quoted.key"}, 7},
		{[]string{"connector"}, 9},
		{[]string{"connector", "0"}, 9},
		{[]string{"connector", "0", "name"}, 10},
		{[]string{"connector", "0", "tags"}, 11},
		{[]string{"connector", "0", "tags", "1"}, 13},
		{[]string{"connector", "0", "retry"}, 16},
		{[]string{"connector", "0", "retry", "max_retries"}, 17},
		{[]string{"connector", "1"}, 19},
		{[]string{"connector", "1", "name"}, 20},
		{[]string{"connector", "1", "opts", "depth"}, 21},
		{[]string{"connector", "1", "opts", "inner"}, 21},
		{[]string{"connector", "1", "opts", "inner", "leaf"}, 21},
		{[]string{"deep"}, 23},
		{[]string{"deep", "nested", "table", "k"}, 24},
		{[]string{"colors", "missing"}, 0},
		{[]string{"connector", "2"}, 0},
		{[]string{"colors", "quoted", "key"}, 0},
		{nil, 0},
	} {
		if got := idx.Line(tc.path...); got != tc.want {
			t.Errorf("Line(%q) = %d, want %d", tc.path, got, tc.want)
		}
	}
}

func TestNearest(t *testing.T) {
	idx, err := tomlpos.New([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path []string
		want int
	}{
		{[]string{"colors", "primary"}, 6},
		{[]string{"colors", "missing"}, 5},
		{[]string{"connector", "1", "retry", "max_retries"}, 19},
		{[]string{"nowhere", "at", "all"}, 0},
		{nil, 0},
	} {
		if got := idx.Nearest(tc.path...); got != tc.want {
			t.Errorf("Nearest(%q) = %d, want %d", tc.path, got, tc.want)
		}
	}
}

func TestFirstDefinitionWins(t *testing.T) {
	// go-toml rejects the duplicate; the index still points at the first one,
	// which is what a "defined twice" message should name.
	idx, err := tomlpos.New([]byte("a = 1\n\na = 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := idx.Line("a"); got != 1 {
		t.Errorf("Line(a) = %d, want 1", got)
	}
}

func TestSyntaxError(t *testing.T) {
	idx, err := tomlpos.New([]byte("ok = 1\n\n[broken\nx = 2\n"))
	var se *tomlpos.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *SyntaxError", err)
	}
	if se.Line != 3 {
		t.Errorf("Line = %d, want 3", se.Line)
	}
	var perr *unstable.ParserError
	if !errors.As(err, &perr) {
		t.Errorf("err does not unwrap to the parser's error: %#v", err)
	}
	if se.Error() != perr.Error() {
		t.Errorf("Error() = %q, want the parser's %q", se.Error(), perr.Error())
	}
	if got := idx.Line("ok"); got != 1 {
		t.Errorf("Line(ok) before the error = %d, want 1", got)
	}
}

func TestZeroIndex(t *testing.T) {
	var idx tomlpos.Index
	if idx.Line("a") != 0 || idx.Nearest("a", "b") != 0 {
		t.Error("the zero Index is not empty")
	}
}
