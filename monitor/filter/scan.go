package filter

import "bytes"

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
