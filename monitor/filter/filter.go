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
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
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

// ---- text ----

// textTerm finds text in payloads, case-insensitively.
type textTerm struct {
	needle []rune
	first  []byte // the first bytes of the UTF-8 forms of needle[0] and the runes it folds to
}

func newTextTerm(s string) *textTerm {
	t := &textTerm{needle: []rune(s)}
	if len(t.needle) == 0 {
		return t
	}
	r0 := t.needle[0]
	var buf [utf8.UTFMax]byte
	add := func(r rune) {
		utf8.EncodeRune(buf[:], r)
		if !slices.Contains(t.first, buf[0]) {
			t.first = append(t.first, buf[0])
		}
	}
	add(r0)
	for f := unicode.SimpleFold(r0); f != r0; f = unicode.SimpleFold(f) {
		add(f)
	}
	return t
}

// find reports whether the text occurs in b at or after from.
func (t *textTerm) find(b []byte, from int) (bool, int) {
	start, _ := t.index(b, from)
	return start >= 0, start
}

// index returns the first occurrence of the text in b at or after from, as [start, end) (-1, -1: none). An
// empty text occurs at from.
func (t *textTerm) index(b []byte, from int) (int, int) {
	if len(t.needle) == 0 {
		if from <= len(b) {
			return from, from
		}
		return -1, -1
	}
	// next[k] is the next position of t.first[k] at or after the candidate position (len(b): none).
	var nextBuf [4]int
	next := nextBuf[:0]
	if len(t.first) > len(nextBuf) {
		next = make([]int, 0, len(t.first))
	}
	for range t.first {
		next = append(next, -1)
	}
	for i := from; i < len(b); {
		c := len(b)
		for k, fb := range t.first {
			if next[k] < i {
				if j := bytes.IndexByte(b[i:], fb); j >= 0 {
					next[k] = i + j
				} else {
					next[k] = len(b)
				}
			}
			c = min(c, next[k])
		}
		if c >= len(b) {
			return -1, -1
		}
		if end := t.matchAt(b, c); end >= 0 {
			return c, end
		}
		i = c + 1
	}
	return -1, -1
}

// matchAt returns the end of the text when it occurs at b[i:], or -1.
func (t *textTerm) matchAt(b []byte, i int) int {
	for _, r := range t.needle {
		if i >= len(b) {
			return -1
		}
		sr, n := rune(b[i]), 1
		if sr >= utf8.RuneSelf {
			sr, n = utf8.DecodeRune(b[i:])
		}
		if !foldEq(r, sr) {
			return -1
		}
		i += n
	}
	return i
}

// foldEq reports whether two runes are equal under simple case folding.
func foldEq(a, b rune) bool {
	if a == b {
		return true
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return a == b
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}

// ---- globs ----

type globKind uint8

const (
	globLit globKind = iota
	globStar
	globOne
)

type globTok struct {
	kind globKind
	r    rune
}

// compileGlob turns a glob into tokens: * any run, ? one character, \x the character x.
func compileGlob(g string) []globTok {
	toks := make([]globTok, 0, len(g))
	for i := 0; i < len(g); {
		r, n := utf8.DecodeRuneInString(g[i:])
		i += n
		switch {
		case r == '*':
			if len(toks) == 0 || toks[len(toks)-1].kind != globStar {
				toks = append(toks, globTok{kind: globStar})
			}
		case r == '?':
			toks = append(toks, globTok{kind: globOne})
		case r == '\\' && i < len(g):
			r, n = utf8.DecodeRuneInString(g[i:])
			i += n
			toks = append(toks, globTok{kind: globLit, r: r})
		default:
			toks = append(toks, globTok{kind: globLit, r: r})
		}
	}
	return toks
}

// globMatch reports whether the whole of s matches the glob, in time O(len(glob)·len(s)) at worst.
func globMatch(glob []globTok, s string) bool {
	px, sx := 0, 0
	starPx, starSx := -1, 0
	for px < len(glob) || sx < len(s) {
		if px < len(glob) {
			switch t := glob[px]; t.kind {
			case globStar:
				starPx, starSx = px, sx
				px++
				continue
			case globOne:
				if sx < len(s) {
					_, n := utf8.DecodeRuneInString(s[sx:])
					sx += n
					px++
					continue
				}
			case globLit:
				if sx < len(s) {
					r, n := utf8.DecodeRuneInString(s[sx:])
					if r == t.r {
						sx += n
						px++
						continue
					}
				}
			}
		}
		// Mismatch: let the last star take one more character.
		if starPx >= 0 && starSx < len(s) {
			_, n := utf8.DecodeRuneInString(s[starSx:])
			starSx += n
			px, sx = starPx+1, starSx
			continue
		}
		return false
	}
	return true
}

// ---- JSON terms ----

type op uint8

const (
	opEq op = iota
	opNe
	opLt
	opLe
	opGt
	opGe
	opContains
)

// ops are the operators, the two-character ones first.
var ops = []struct {
	s  string
	op op
}{{"==", opEq}, {"!=", opNe}, {"<=", opLe}, {">=", opGe}, {"<", opLt}, {">", opGt}, {"~", opContains}}

const opList = "==, !=, <, <=, >, >=, ~"

type litKind uint8

const (
	litString litKind = iota
	litNumber
	litBool
	litNull
)

// literal is a JSON term's VALUE.
type literal struct {
	kind   litKind
	text   string // the value's text (the string itself for a string)
	num    float64
	b      bool
	bare   bool      // a bare word: a number, true, false or null also equals a string with its text
	folded *textTerm // text, for ~
}

// seg is a step of a JSON path: a member name or an array index.
type seg struct {
	name  string
	index int // -1: a member
}

type jsonTerm struct {
	path []seg
	op   op
	lit  literal
}

// isPathEnd reports whether c ends a bare member name of a path.
func isPathEnd(c byte) bool {
	return isSpace(c) || strings.IndexByte(`.[]"=!<>~`, c) >= 0
}

func (p *parser) jsonTerm() (*term, error) {
	start := p.i
	p.i++ // $
	jt := &jsonTerm{}
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case '.':
			p.i++
			if p.i < len(p.s) && p.s[p.i] == '"' {
				name, err := p.quoted()
				if err != nil {
					return nil, err
				}
				jt.path = append(jt.path, seg{name: name, index: -1})
				continue
			}
			nameAt := p.i
			for p.i < len(p.s) && !isPathEnd(p.s[p.i]) {
				p.i++
			}
			if p.i == nameAt {
				return nil, p.errAt(nameAt, `expected a field name after "." in %s (use ["..."] for odd names)`, p.s[start:nameAt])
			}
			jt.path = append(jt.path, seg{name: p.s[nameAt:p.i], index: -1})
			continue
		case '[':
			open := p.i
			p.i++
			switch {
			case p.i < len(p.s) && p.s[p.i] == '"':
				name, err := p.quoted()
				if err != nil {
					return nil, err
				}
				jt.path = append(jt.path, seg{name: name, index: -1})
			case p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9':
				numAt := p.i
				for p.i < len(p.s) && '0' <= p.s[p.i] && p.s[p.i] <= '9' {
					p.i++
				}
				n, err := strconv.Atoi(p.s[numAt:p.i])
				if err != nil {
					return nil, p.errAt(numAt, "array index %s is too large", p.s[numAt:p.i])
				}
				jt.path = append(jt.path, seg{index: n})
			default:
				return nil, p.errAt(p.i, `expected an index or a quoted name after "[" in %s (e.g. [0] or ["name"])`, p.s[start:open+1])
			}
			if p.i >= len(p.s) || p.s[p.i] != ']' {
				return nil, p.errAt(p.i, `expected "]" to close %s`, p.s[open:p.i])
			}
			p.i++
			continue
		}
		break
	}
	path := p.s[start:p.i]
	if p.i < len(p.s) && !isSpace(p.s[p.i]) && strings.IndexByte("=!<>~", p.s[p.i]) < 0 {
		return nil, p.errAt(p.i, `unexpected %q in the JSON path %s (steps are .name, [0] or ["name"])`, p.s[p.i], path)
	}
	p.skipSpace()
	opAt := p.i
	found := false
	for _, o := range ops {
		if strings.HasPrefix(p.s[p.i:], o.s) {
			jt.op, found = o.op, true
			p.i += len(o.s)
			break
		}
	}
	if !found {
		if strings.HasPrefix(p.s[p.i:], "=") {
			return nil, p.errAt(opAt, "unknown operator \"=\" after %s: did you mean ==? (%s)", path, opList)
		}
		return nil, p.errAt(opAt, "expected an operator after %s (%s)", path, opList)
	}
	opText := p.s[opAt:p.i]
	if p.i < len(p.s) && strings.IndexByte("=!<>~", p.s[p.i]) >= 0 {
		return nil, p.errAt(opAt, "unknown operator %q after %s (%s)", opText+p.s[p.i:p.i+1], path, opList)
	}
	p.skipSpace()
	if p.i >= len(p.s) {
		return nil, p.errAt(p.i, "expected a value after %s %s (a number, true, false, null or a string)", path, opText)
	}
	valAt := p.i
	v, quoted, err := p.value()
	if err != nil {
		return nil, err
	}
	jt.lit = literal{kind: litString, text: v, bare: !quoted}
	if !quoted {
		switch v {
		case "true", "false":
			jt.lit.kind, jt.lit.b = litBool, v == "true"
		case "null":
			jt.lit.kind = litNull
		default:
			if f, ok := parseNumber(v); ok {
				jt.lit.kind, jt.lit.num = litNumber, f
			}
		}
	}
	switch jt.op {
	case opLt, opLe, opGt, opGe:
		if jt.lit.kind == litBool || jt.lit.kind == litNull {
			return nil, p.errAt(valAt, "%s compares numbers or strings, not %s", opText, v)
		}
	case opContains:
		jt.lit.folded = newTextTerm(v)
	}
	return &term{kind: kindJSON, json: jt}, nil
}

// parseNumber parses a bare word that looks like a number (not inf, nan or hexadecimal).
func parseNumber(s string) (float64, bool) {
	if s == "" || strings.IndexByte("+-.0123456789", s[0]) < 0 || strings.ContainsAny(s, "xXpP_") {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// match evaluates the term on a payload; it does not check that the payload is JSON beyond the path.
func (jt *jsonTerm) match(b []byte) bool {
	raw, ok := lookup(b, jt.path)
	if !ok {
		return false
	}
	switch jt.op {
	case opEq:
		return jt.lit.equal(raw)
	case opNe:
		return !jt.lit.equal(raw)
	case opContains:
		return jt.lit.containedIn(raw)
	}
	c, ok := jt.lit.compare(raw)
	if !ok {
		return false
	}
	switch jt.op {
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	default:
		return c >= 0
	}
}

// jsonString returns the contents of a raw JSON string (unescaped when needed).
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	if bytes.IndexByte(in, '\\') < 0 {
		return string(in), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// stringEquals reports whether a raw JSON string's contents equal s, without allocating when it has no
// escapes.
func stringEquals(raw []byte, s string) bool {
	if len(raw) < 2 || raw[0] != '"' {
		return false
	}
	if in := raw[1 : len(raw)-1]; bytes.IndexByte(in, '\\') < 0 {
		return string(in) == s
	}
	v, ok := jsonString(raw)
	return ok && v == s
}

func jsonNumber(raw []byte) (float64, bool) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	return f, err == nil
}

// equal reports whether the raw JSON value equals the literal.
func (l *literal) equal(raw []byte) bool {
	if len(raw) == 0 {
		return false
	}
	if raw[0] == '"' {
		return (l.kind == litString || l.bare) && stringEquals(raw, l.text)
	}
	switch l.kind {
	case litNumber:
		f, ok := jsonNumber(raw)
		return ok && f == l.num
	case litBool:
		return string(raw) == l.text
	case litNull:
		return string(raw) == "null"
	}
	return false
}

// compare orders the raw JSON value against the literal (numbers with numbers, strings with strings).
func (l *literal) compare(raw []byte) (int, bool) {
	switch {
	case l.kind == litNumber:
		f, ok := jsonNumber(raw)
		if !ok {
			return 0, false
		}
		switch {
		case f < l.num:
			return -1, true
		case f > l.num:
			return 1, true
		}
		return 0, true
	case l.kind == litString && len(raw) > 0 && raw[0] == '"':
		s, ok := jsonString(raw)
		return strings.Compare(s, l.text), ok
	}
	return 0, false
}

// containedIn implements ~.
func (l *literal) containedIn(raw []byte) bool {
	switch raw[0] {
	case '"':
		if bytes.IndexByte(raw, '\\') < 0 {
			ok, _ := l.folded.find(raw[1:len(raw)-1], 0)
			return ok
		}
		s, ok := jsonString(raw)
		if !ok {
			return false
		}
		found, _ := l.folded.find([]byte(s), 0)
		return found
	case '[':
		found := false
		eachElement(raw, func(e []byte) bool {
			found = l.equal(e)
			return !found
		})
		return found
	case '{':
		return false
	}
	ok, _ := l.folded.find(raw, 0)
	return ok
}

// ---- a JSON scanner: finds a value without decoding the rest ----

// nextElement skips the value at i and the comma after it, and returns where the next element of the array
// or object starts; false when there is no next element or the JSON is malformed.
func nextElement(b []byte, i int) (int, bool) {
	e := valueEnd(b, i)
	if e < 0 {
		return 0, false
	}
	i = skipWS(b, e)
	if i >= len(b) || b[i] != ',' {
		return 0, false
	}
	return skipWS(b, i+1), true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the JSON string starting at b[i] (a '"'), or -1.
func stringEnd(b []byte, i int) int {
	end, _ := scanString(b, i)
	return end
}

// scanString returns the index after the JSON string starting at b[i] (a '"'), or -1, and whether it has
// escapes.
func scanString(b []byte, i int) (int, bool) {
	escaped := false
	for j := i + 1; j < len(b); j++ {
		for j < len(b) && !strStop[b[j]] {
			j++
		}
		if j >= len(b) {
			break
		}
		if b[j] == '"' {
			return j + 1, escaped
		}
		escaped = true
		j++ // the escaped byte
	}
	return -1, escaped
}

// valueEnd returns the index after the JSON value starting at b[i], or -1 when it is malformed. Objects and
// arrays are skipped by counting brackets (outside strings), without checking what is inside.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); {
			for j < len(b) && !structural[b[j]] {
				j++
			}
			if j >= len(b) {
				break
			}
			switch b[j] {
			case '"':
				j = stringEnd(b, j)
				if j < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
			j++
		}
		return -1
	case ',', ':', '}', ']':
		return -1
	}
	j := i
scalar:
	for ; j < len(b); j++ {
		switch b[j] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			break scalar
		}
	}
	return j
}

// lookup returns the raw JSON value at path in b.
func lookup(b []byte, path []seg) ([]byte, bool) {
	i := skipWS(b, 0)
	for _, sg := range path {
		if i >= len(b) {
			return nil, false
		}
		if sg.index >= 0 {
			if b[i] != '[' {
				return nil, false
			}
			i = skipWS(b, i+1)
			if i >= len(b) || b[i] == ']' {
				return nil, false
			}
			for n := 0; n < sg.index; n++ {
				var ok bool
				if i, ok = nextElement(b, i); !ok {
					return nil, false
				}
			}
			continue
		}
		if b[i] != '{' {
			return nil, false
		}
		i = skipWS(b, i+1)
		for {
			if i >= len(b) || b[i] != '"' {
				return nil, false
			}
			ke, escaped := scanString(b, i)
			if ke < 0 {
				return nil, false
			}
			key := b[i:ke]
			i = skipWS(b, ke)
			if i >= len(b) || b[i] != ':' {
				return nil, false
			}
			i = skipWS(b, i+1)
			if escaped && stringEquals(key, sg.name) || !escaped && string(key[1:len(key)-1]) == sg.name {
				break
			}
			var ok bool
			if i, ok = nextElement(b, i); !ok {
				return nil, false
			}
		}
	}
	e := valueEnd(b, i)
	if e < 0 {
		return nil, false
	}
	return b[i:e], true
}

// eachElement calls f with each element of the raw JSON array b until f returns false.
func eachElement(b []byte, f func([]byte) bool) {
	i := skipWS(b, 1)
	if i >= len(b) || b[i] == ']' {
		return
	}
	for {
		e := valueEnd(b, i)
		if e < 0 || !f(b[i:e]) {
			return
		}
		i = skipWS(b, e)
		if i >= len(b) || b[i] != ',' {
			return
		}
		i = skipWS(b, i+1)
	}
}

// plain are the bytes that stand for themselves in a JSON string; strStop those that end a run of them
// when skipping a string (without checking it); structural those that matter when skipping a container.
var plain, strStop, structural [256]bool

func init() {
	for c := 0x20; c < 256; c++ {
		plain[c] = c != '"' && c != '\\'
	}
	strStop['"'], strStop['\\'] = true, true
	for _, c := range `"{}[]` {
		structural[c] = true
	}
}

// maxDepth bounds the nesting of a valid JSON document, as encoding/json does.
const maxDepth = 10000

// validJSON reports whether b is one JSON value (with white space around it), as json.Valid does, several
// times faster.
func validJSON(b []byte) bool {
	var buf [64]byte
	stack := buf[:0] // the open containers: '{' or '['
	i := skipWS(b, 0)
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return false
		}
		switch b[i] {
		case '{':
			i = skipWS(b, i+1)
			if i < len(b) && b[i] == '}' {
				i++
				break
			}
			if stack = append(stack, '{'); len(stack) > maxDepth {
				return false
			}
			if i = memberKey(b, i); i < 0 {
				return false
			}
			continue
		case '[':
			i = skipWS(b, i+1)
			if i < len(b) && b[i] == ']' {
				i++
				break
			}
			if stack = append(stack, '['); len(stack) > maxDepth {
				return false
			}
			continue
		case '"':
			if i = validString(b, i); i < 0 {
				return false
			}
		case 't':
			if !bytes.HasPrefix(b[i:], []byte("true")) {
				return false
			}
			i += 4
		case 'f':
			if !bytes.HasPrefix(b[i:], []byte("false")) {
				return false
			}
			i += 5
		case 'n':
			if !bytes.HasPrefix(b[i:], []byte("null")) {
				return false
			}
			i += 4
		default:
			if i = validNumber(b, i); i < 0 {
				return false
			}
		}
		// After a value: close containers until the next value, or the end.
		for {
			i = skipWS(b, i)
			if len(stack) == 0 {
				return i == len(b)
			}
			if i >= len(b) {
				return false
			}
			top, c := stack[len(stack)-1], b[i]
			if c == ',' {
				i = skipWS(b, i+1)
				if top == '{' {
					if i = memberKey(b, i); i < 0 {
						return false
					}
				}
				break
			}
			if top == '{' && c == '}' || top == '[' && c == ']' {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			return false
		}
	}
}

// memberKey checks an object member's key and colon at b[i] and returns where its value starts, or -1.
func memberKey(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = validString(b, i); i < 0 {
		return -1
	}
	i = skipWS(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return skipWS(b, i+1)
}

// validString checks the JSON string at b[i] (a '"') and returns the index after it, or -1.
func validString(b []byte, i int) int {
	for j := i + 1; j < len(b); {
		for j < len(b) && plain[b[j]] {
			j++
		}
		if j >= len(b) {
			break
		}
		switch c := b[j]; {
		case c == '"':
			return j + 1
		case c == '\\':
			if j+1 >= len(b) {
				return -1
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(b) {
					return -1
				}
				for _, h := range b[j+2 : j+6] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return -1
					}
				}
				j += 6
			default:
				return -1
			}
		case c < 0x20:
			return -1
		default:
			j++
		}
	}
	return -1
}

// validNumber checks the JSON number at b[i] and returns the index after it, or -1.
func validNumber(b []byte, i int) int {
	digits := func(j int) int { // the end of a run of digits at j (j: none)
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
		return j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(i + 1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}
