// Package tomlpos maps the keys of a TOML document to the lines where they are
// defined, so that a configuration error can name the line of the key it is
// about. The TOML decoders report positions only for the errors they find
// themselves; the checks a program makes after decoding (an unknown colour
// role, a duplicate connector name) need this index.
//
// It reads the document with go-toml's unstable parser, whose API go.mod pins.
package tomlpos

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// Index maps key paths to the 1-based line where each is first defined. A path
// is the list of keys from the root: table names, keys, and for arrays (of
// tables, or inline) the element's decimal index, so the name key of the second
// [[connector]] table is ("connector", "1", "name"). Every prefix of a dotted
// key or table header is defined where it first appears. The zero Index is
// empty.
type Index struct {
	lines map[string]int
}

// SyntaxError is a TOML syntax error, with the line it is on (0 when unknown).
type SyntaxError struct {
	Line int
	Err  error // the parser's error, an *unstable.ParserError
}

// Error returns the parser's message.
func (e *SyntaxError) Error() string { return e.Err.Error() }

// Unwrap returns the parser's error.
func (e *SyntaxError) Unwrap() error { return e.Err }

// sep joins path parts into map keys; it cannot appear in a TOML bare key and
// is unlikely in a quoted one.
const sep = "\x1f"

// New indexes the table headers, keys and array elements of data. When data is
// not valid TOML it returns the index of what precedes the error and a
// *SyntaxError.
func New(data []byte) (Index, error) {
	idx := Index{lines: map[string]int{}}
	var p unstable.Parser
	p.Reset(data)
	lineOf := func(r unstable.Range) int { return p.Shape(r).Start.Line }
	arrays := map[string]int{} // array-of-tables path → tables seen so far
	// resolve turns a header's parent keys into a path, entering the latest
	// table of each array of tables on the way ([a.b] after [[a]] is in a.N).
	resolve := func(keys []string) []string {
		var cur []string
		for _, k := range keys {
			cur = append(cur, k)
			if n := arrays[strings.Join(cur, sep)]; n > 0 {
				cur = append(cur, strconv.Itoa(n-1))
			}
		}
		return cur
	}
	var walkValue func(path []string, v *unstable.Node)
	walkValue = func(path []string, v *unstable.Node) {
		switch v.Kind {
		case unstable.InlineTable:
			it := v.Children()
			for it.Next() {
				kv := it.Node()
				keys, first := keyOf(kv)
				sub := append(slices.Clone(path), keys...)
				if first != nil {
					for n := len(path) + 1; n <= len(sub); n++ {
						idx.set(sub[:n], lineOf(first.Raw))
					}
				}
				walkValue(sub, kv.Value())
			}
		case unstable.Array:
			it := v.Children()
			for i := 0; it.Next(); i++ {
				el := it.Node()
				sub := append(slices.Clone(path), strconv.Itoa(i))
				idx.set(sub, lineOf(el.Raw))
				walkValue(sub, el)
			}
		}
	}
	var table []string
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			keys, first := keyOf(e)
			if len(keys) == 0 || first == nil {
				continue
			}
			line := lineOf(first.Raw)
			path := append(resolve(keys[:len(keys)-1]), keys[len(keys)-1])
			for n := 1; n < len(path); n++ {
				idx.set(path[:n], line)
			}
			if e.Kind == unstable.ArrayTable {
				k := strings.Join(path, sep)
				n := arrays[k]
				arrays[k] = n + 1
				idx.set(path, line)
				path = append(path, strconv.Itoa(n))
			}
			idx.set(path, line)
			table = path
		case unstable.KeyValue:
			keys, first := keyOf(e)
			path := append(slices.Clone(table), keys...)
			if first != nil {
				// Every prefix of a dotted key is defined here too (a.b = 1 defines the table a).
				for n := len(table) + 1; n <= len(path); n++ {
					idx.set(path[:n], lineOf(first.Raw))
				}
			}
			walkValue(path, e.Value())
		}
	}
	if err := p.Error(); err != nil {
		se := &SyntaxError{Err: err}
		var perr *unstable.ParserError
		if errors.As(err, &perr) {
			se.Line = highlightLine(data, perr.Highlight)
		}
		return idx, se
	}
	return idx, nil
}

// Line returns the line where path is defined, or 0.
func (x Index) Line(path ...string) int { return x.lines[strings.Join(path, sep)] }

// Nearest returns the line where path is defined or, when it is not (a key
// that was never written, say), the line of its closest defined ancestor; 0
// when none is.
func (x Index) Nearest(path ...string) int {
	for n := len(path); n > 0; n-- {
		if l := x.Line(path[:n]...); l > 0 {
			return l
		}
	}
	return 0
}

// set records the line of path unless it is already known: the first
// definition wins.
func (x Index) set(path []string, line int) {
	k := strings.Join(path, sep)
	if _, ok := x.lines[k]; !ok && line > 0 {
		x.lines[k] = line
	}
}

// keyOf returns the parts of a key-value's or table header's key and its first key node.
func keyOf(n *unstable.Node) ([]string, *unstable.Node) {
	var keys []string
	var first *unstable.Node
	it := n.Key()
	for it.Next() {
		k := it.Node()
		if first == nil {
			first = k
		}
		keys = append(keys, string(k.Data))
	}
	return keys, first
}

// highlightLine returns the line at which highlight, a sub-slice of data, starts (0 when it is not one).
func highlightLine(data, highlight []byte) int {
	if highlight == nil || cap(highlight) > cap(data) {
		return 0
	}
	off := cap(data) - cap(highlight)
	if off < 0 || off > len(data) {
		return 0
	}
	return 1 + strings.Count(string(data[:off]), "\n")
}
