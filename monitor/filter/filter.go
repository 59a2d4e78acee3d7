// Package filter is the console's message filter: a line of terms, all of which a message must match.
//
//	text            the payload contains text (case-insensitive); "quoted text" keeps spaces
//	key:GLOB        the routing key matches the glob (* and ?)
//	attr:NAME=VALUE an attribute equals VALUE (attr:NAME alone: the attribute is present)
//	$.PATH OP VALUE a JSON payload's value at PATH compares with VALUE; OP is ==, !=, <, <=, >, >= or ~
//	                (contains); VALUE is a number, true, false, null or a (quoted) string
//	-TERM           negates a term
//
// The console highlights what matched with Highlights.
//
// Details. Terms are separated by spaces; a JSON term may have spaces around its operator ($.qty > 5). A
// double-quoted string keeps spaces; inside it, \" is a quote and \\ a backslash. Only a term's first "-"
// negates it: quote text that starts with a dash ("-1"), a dollar ("$100"), key: or attr:. Parse errors are
// *SyntaxError values: their Column says where the problem is.
//
// Text is found in the payload's bytes, with Unicode simple case folding (as strings.EqualFold).
//
// A glob matches the whole key: * matches any run of characters ('/' included), ? one character, and \*,
// \? and \\ match themselves; the comparison is case-sensitive. A message without a key matches no key:
// term (so -key:* finds the messages without one); key:"" matches an empty key.
//
// attr:NAME=VALUE compares exactly (case-sensitive); attr:NAME= matches an empty value. NAME and VALUE may
// be quoted.
//
// A PATH is $ followed by .name, ["quoted name"] or [index] steps ($.items[0].sku, $["odd key"]). A term
// matches only when the payload is JSON and has a value at PATH (a missing value matches no operator, not
// even !=; negate the term to find such messages). VALUE compares with the value found: a number with a
// number, true and false with a boolean, null with null, a string with a string; a bare word that is a
// number, true, false or null also equals a JSON string with the same text ($.id == 42 finds "id":"42").
// <, <=, > and >= compare numbers, or strings byte-wise. ~ is true when a string contains VALUE
// (case-insensitive), an array has an element equal to VALUE, or a number's or boolean's text contains it.
package filter

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// ErrSyntax is wrapped by every Parse error.
var ErrSyntax = errors.New("filter: syntax error")

// SyntaxError is the error Parse returns: where the problem is and what it is. It wraps ErrSyntax.
type SyntaxError struct {
	// Column is the position of the problem in the line, in characters from 1 (one past the last character
	// when the line ended too early); Offset is the same position in bytes from 0.
	Column int
	Offset int
	// Msg says what is wrong and how to fix it.
	Msg string
}

// Error implements error: "filter: syntax error at column N: MSG".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s at column %d: %s", ErrSyntax.Error(), e.Column, e.Msg)
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// Fields are the parts of a message a filter looks at.
type Fields struct {
	Payload    []byte
	Key        string
	HasKey     bool
	Attributes map[string]string
}

// Filter is a parsed filter. A nil *Filter matches everything. A Filter is immutable and safe for concurrent
// use.
type Filter struct {
	src   string
	terms []*term     // in evaluation order: the cheap ones first
	texts []*textTerm // the text terms that are not negated, for Highlights
}

// Parse parses a filter line; an empty line gives nil (everything matches). Errors wrap ErrSyntax and say
// where and what is wrong.
func Parse(s string) (*Filter, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	p := parser{s: s}
	f := &Filter{src: s}
	for {
		p.skipSpace()
		if p.i >= len(s) {
			break
		}
		t, err := p.term()
		if err != nil {
			return nil, err
		}
		f.terms = append(f.terms, t)
		if t.kind == kindText && !t.neg && len(t.text.needle) > 0 {
			f.texts = append(f.texts, t.text)
		}
	}
	slices.SortStableFunc(f.terms, func(a, b *term) int { return int(a.kind) - int(b.kind) })
	return f, nil
}

// String returns the filter's source text.
func (f *Filter) String() string {
	if f == nil {
		return ""
	}
	return f.src
}

// Match reports whether a message matches every term.
func (f *Filter) Match(m Fields) bool {
	if f == nil {
		return true
	}
	valid := 0 // whether the payload is JSON: 0 unknown, 1 yes, -1 no
	for _, t := range f.terms {
		var ok bool
		switch t.kind {
		case kindKey:
			ok = m.HasKey && globMatch(t.glob, m.Key)
		case kindAttr:
			v, has := m.Attributes[t.name]
			ok = has && (!t.hasValue || v == t.value)
		case kindText:
			ok, _ = t.text.find(m.Payload, 0)
		case kindJSON:
			ok = t.json.match(m.Payload)
			if ok { // the scan does not check the whole payload: make sure it is JSON
				if valid == 0 {
					valid = -1
					if validJSON(m.Payload) {
						valid = 1
					}
				}
				ok = valid == 1
			}
		}
		if ok == t.neg {
			return false
		}
	}
	return true
}

// Highlights returns the byte ranges [start, end) of payload that the filter's text terms matched, in
// order and not overlapping (none for a nil filter).
func (f *Filter) Highlights(payload []byte) [][2]int {
	if f == nil || len(f.texts) == 0 {
		return nil
	}
	var out [][2]int
	for _, t := range f.texts {
		for from := 0; from < len(payload); {
			start, end := t.index(payload, from)
			if start < 0 {
				break
			}
			out = append(out, [2]int{start, end})
			from = end
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.SortFunc(out, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	merged := out[:1]
	for _, r := range out[1:] {
		last := &merged[len(merged)-1]
		if r[0] <= last[1] {
			last[1] = max(last[1], r[1])
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// ---- terms ----

type kind uint8

// The kinds of terms, in evaluation order.
const (
	kindKey kind = iota
	kindAttr
	kindText
	kindJSON
)

type term struct {
	kind kind
	neg  bool

	text *textTerm // kindText

	glob []globTok // kindKey

	name, value string // kindAttr
	hasValue    bool

	json *jsonTerm // kindJSON
}

// ---- parsing ----

type parser struct {
	s string
	i int
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func (p *parser) skipSpace() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

func (p *parser) atEnd() bool { return p.i >= len(p.s) || isSpace(p.s[p.i]) }

// errAt returns a syntax error at byte offset off.
func (p *parser) errAt(off int, format string, args ...any) error {
	return &SyntaxError{Column: utf8.RuneCountInString(p.s[:off]) + 1, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// term parses one term at p.i (not a space).
func (p *parser) term() (*term, error) {
	neg := false
	if p.s[p.i] == '-' {
		p.i++
		if p.atEnd() {
			return nil, p.errAt(p.i, `expected a term after "-" (quote a lone dash to find it: "-")`)
		}
		neg = true
	}
	start := p.i
	var t *term
	var err error
	switch rest := p.s[p.i:]; {
	case rest[0] == '$':
		t, err = p.jsonTerm()
	case strings.HasPrefix(rest, "key:"):
		p.i += len("key:")
		t, err = p.keyTerm()
	case strings.HasPrefix(rest, "attr:"):
		p.i += len("attr:")
		t, err = p.attrTerm()
	default:
		var text string
		text, _, err = p.value()
		t = &term{kind: kindText, text: newTextTerm(text)}
	}
	if err != nil {
		return nil, err
	}
	if !p.atEnd() {
		return nil, p.errAt(p.i, "expected a space after %s", p.s[start:p.i])
	}
	t.neg = neg
	return t, nil
}

// quoted reads a double-quoted string at p.i (a '"').
func (p *parser) quoted() (string, error) {
	open := p.i
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c == '\\' && p.i+1 < len(p.s) && (p.s[p.i+1] == '"' || p.s[p.i+1] == '\\'):
			b.WriteByte(p.s[p.i+1])
			p.i += 2
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", p.errAt(open, `unterminated quoted text: add a closing "`)
}

// value reads a quoted string or a bare word (up to a space) at p.i.
func (p *parser) value() (v string, quoted bool, err error) {
	if p.i < len(p.s) && p.s[p.i] == '"' {
		v, err = p.quoted()
		return v, true, err
	}
	start := p.i
	for !p.atEnd() {
		p.i++
	}
	return p.s[start:p.i], false, nil
}

func (p *parser) keyTerm() (*term, error) {
	if p.atEnd() {
		return nil, p.errAt(p.i, `expected a glob after key: (e.g. key:order-*; key:"" matches an empty key)`)
	}
	g, _, err := p.value()
	if err != nil {
		return nil, err
	}
	return &term{kind: kindKey, glob: compileGlob(g)}, nil
}

func (p *parser) attrTerm() (*term, error) {
	t := &term{kind: kindAttr}
	nameAt := p.i
	if p.i < len(p.s) && p.s[p.i] == '"' {
		name, err := p.quoted()
		if err != nil {
			return nil, err
		}
		t.name = name
	} else {
		for !p.atEnd() && p.s[p.i] != '=' {
			p.i++
		}
		t.name = p.s[nameAt:p.i]
	}
	if t.name == "" {
		return nil, p.errAt(nameAt, "expected an attribute name after attr: (attr:NAME or attr:NAME=VALUE)")
	}
	if p.i < len(p.s) && p.s[p.i] == '=' {
		p.i++
		t.hasValue = true
		if !p.atEnd() {
			v, _, err := p.value()
			if err != nil {
				return nil, err
			}
			t.value = v
		}
	}
	return t, nil
}
