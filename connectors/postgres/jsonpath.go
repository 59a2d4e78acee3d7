package postgres

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// jsonPath is a parsed key_json_path: the steps after "$".
type jsonPath struct {
	src   string
	steps []pathStep
}

// pathStep is one step: an object member (name) or an array element (index).
type pathStep struct {
	name    string
	index   int
	isIndex bool
}

// parseJSONPath parses "$" followed by ".name", "['name']", `["name"]` or "[index]" steps. A dotted name
// runs up to the next "." or "["; a bracketed name may contain anything but its quote.
func parseJSONPath(s string) (jsonPath, error) {
	p := jsonPath{src: s}
	if !strings.HasPrefix(s, "$") {
		return p, errors.New(`a JSON path starts with "$", e.g. $.order.id`)
	}
	rest := s[1:]
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			if end == 0 {
				return p, fmt.Errorf("empty member name in %q", s)
			}
			p.steps = append(p.steps, pathStep{name: rest[:end]})
			rest = rest[end:]
		case '[':
			if len(rest) > 1 && (rest[1] == '\'' || rest[1] == '"') {
				q := rest[1]
				end := strings.IndexByte(rest[2:], q)
				if end < 0 || len(rest) < end+4 || rest[end+3] != ']' {
					return p, fmt.Errorf("unterminated [%c…%c] in %q", q, q, s)
				}
				p.steps = append(p.steps, pathStep{name: rest[2 : end+2]})
				rest = rest[end+4:]
				continue
			}
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return p, fmt.Errorf("unterminated [ in %q", s)
			}
			i, err := strconv.Atoi(rest[1:end])
			if err != nil || i < 0 {
				return p, fmt.Errorf("[%s] in %q is neither an array index nor a quoted name", rest[1:end], s)
			}
			p.steps = append(p.steps, pathStep{index: i, isIndex: true})
			rest = rest[end+1:]
		default:
			return p, fmt.Errorf("unexpected %q in %q (steps are .name, ['name'] or [index])", rest[:1], s)
		}
	}
	if len(p.steps) == 0 {
		return p, errors.New(`the path "$" is the whole payload, not a key inside it`)
	}
	return p, nil
}

// String returns the path as written.
func (p jsonPath) String() string { return p.src }

// key finds the path in the JSON document doc and returns the value as key text: a string as is, a number
// as written, a boolean as true/false. A missing member, an index out of range, null, an object or an array
// is an error.
func (p jsonPath) key(doc []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("payload is not JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", errors.New("payload is not JSON: data after the top-level value")
	}
	for i, st := range p.steps {
		var ok bool
		if st.isIndex {
			arr, isArr := v.([]any)
			if ok = isArr && st.index < len(arr); ok {
				v = arr[st.index]
			}
		} else {
			obj, isObj := v.(map[string]any)
			if isObj {
				v, ok = obj[st.name]
			}
		}
		if !ok {
			return "", fmt.Errorf("key path %s: nothing at %s", p.src, p.prefix(i+1))
		}
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		return strconv.FormatBool(x), nil
	case nil:
		return "", fmt.Errorf("key path %s: the value is null", p.src)
	default:
		return "", fmt.Errorf("key path %s: the value is an object or array, not a string, number or boolean", p.src)
	}
}

// prefix renders the first n steps, for error messages.
func (p jsonPath) prefix(n int) string {
	var b strings.Builder
	b.WriteString("$")
	for _, st := range p.steps[:n] {
		switch {
		case st.isIndex:
			fmt.Fprintf(&b, "[%d]", st.index)
		case strings.ContainsAny(st.name, ".[]'"):
			fmt.Fprintf(&b, "[%q]", st.name)
		default:
			b.WriteString("." + st.name)
		}
	}
	return b.String()
}
