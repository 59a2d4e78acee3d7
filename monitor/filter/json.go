package filter

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

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
