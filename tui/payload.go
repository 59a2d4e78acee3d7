package tui

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// This file renders a payload for the inspector: pretty-printed and coloured JSON (a small tokenizer, not
// encoding/json's indenter, so that every token gets its theme role), text, and a hex dump. Every view
// produces painted lines of at most the given width, wrapping what is longer.

// payloadView is a way of showing a payload.
type payloadView int

const (
	viewJSON payloadView = iota
	viewText
	viewHex
)

// String names the view as the inspector's header shows it.
func (v payloadView) String() string {
	switch v {
	case viewJSON:
		return "json"
	case viewText:
		return "text"
	}
	return "hex"
}

// maxShown is how much of a payload the inspector renders; the rest is summarised.
const maxShown = 256 << 10

// payloadViews returns the views that apply to a payload, the best first: json when it parses, text when
// it is valid UTF-8 without control characters other than tab, newline and carriage return, hex always.
func payloadViews(b []byte) []payloadView {
	var out []payloadView
	if len(b) > 0 && len(b) <= maxShown && json.Valid(b) {
		out = append(out, viewJSON)
	}
	if isText(b) {
		out = append(out, viewText)
	}
	return append(out, viewHex)
}

// isText reports whether b is valid UTF-8 text.
func isText(b []byte) bool {
	if len(b) > maxShown {
		b = b[:maxShown]
		// Do not let a rune cut at the limit make the text invalid.
		for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.Valid(b); i++ {
			b = b[:len(b)-1]
		}
	}
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return false
		}
	}
	return true
}

// wrapper builds painted lines of at most width cells, wrapping long tokens onto continuation lines
// indented like the line they continue.
type wrapper struct {
	width  int
	lines  []string
	sb     strings.Builder
	w      int // cells on the current line
	indent int // the current line's indent
}

func (w *wrapper) newline(indent int) {
	w.lines = append(w.lines, w.sb.String())
	w.sb.Reset()
	w.w = 0
	w.indent = min(indent, w.width/2)
	w.sb.WriteString(strings.Repeat(" ", w.indent))
	w.w = w.indent
}

// add appends plain text in a paint, wrapping it where the line is full.
func (w *wrapper) add(p paint, s string) {
	for s != "" {
		room := w.width - w.w
		sw := textWidth(s)
		if sw <= room {
			w.sb.WriteString(p.r(s))
			w.w += sw
			return
		}
		head := ansi.Truncate(s, room, "")
		if head == "" {
			if w.w > w.indent {
				w.newline(w.indent)
				continue
			}
			// Not even one character fits after the indent: drop the indent.
			w.indent = 0
			w.sb.Reset()
			w.w = 0
			head = ansi.Truncate(s, max(2, room), "")
		}
		w.sb.WriteString(p.r(head))
		s = s[len(head):]
		w.newline(w.indent)
	}
}

func (w *wrapper) done() []string {
	if w.w > 0 || len(w.lines) == 0 {
		w.lines = append(w.lines, w.sb.String())
	}
	return w.lines
}

// jsonTok is a token of a JSON document: one of {}[]:, or s (string), n (number), b (true/false), z (null).
type jsonTok struct {
	kind byte
	text string
}

// jsonTokens splits a valid JSON document into tokens.
func jsonTokens(b []byte) []jsonTok {
	var out []jsonTok
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.IndexByte("{}[]:,", c) >= 0:
			out = append(out, jsonTok{kind: c, text: string(c)})
			i++
		case c == '"':
			j := i + 1
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(b))
			out = append(out, jsonTok{kind: 's', text: string(b[i:j])})
			i = j
		default:
			j := i
			for j < len(b) && strings.IndexByte(" \t\n\r{}[]:,\"", b[j]) < 0 {
				j++
			}
			if j == i {
				j++
			}
			k := byte('n')
			switch string(b[i:j]) {
			case "true", "false":
				k = 'b'
			case "null":
				k = 'z'
			}
			out = append(out, jsonTok{kind: k, text: string(b[i:j])})
			i = j
		}
	}
	return out
}

// jsonLines pretty-prints a valid JSON document with two-space indents, each token in its theme role.
func (st *styles) jsonLines(b []byte, width int) []string {
	toks := jsonTokens(b)
	w := &wrapper{width: max(1, width)}
	indent := 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case '{', '[':
			closing := byte('}')
			if t.kind == '[' {
				closing = ']'
			}
			if i+1 < len(toks) && toks[i+1].kind == closing {
				w.add(st.jsonPunct, t.text+toks[i+1].text)
				i++
				continue
			}
			w.add(st.jsonPunct, t.text)
			indent += 2
			w.newline(indent)
		case '}', ']':
			indent = max(0, indent-2)
			w.newline(indent)
			w.add(st.jsonPunct, t.text)
		case ',':
			w.add(st.jsonPunct, ",")
			w.newline(indent)
		case ':':
			w.add(st.jsonPunct, ": ")
		case 's':
			p := st.jsonString
			if i+1 < len(toks) && toks[i+1].kind == ':' {
				p = st.jsonKey
			}
			w.add(p, clean(t.text))
		case 'b':
			w.add(st.jsonBool, t.text)
		case 'z':
			w.add(st.jsonNull, t.text)
		default:
			w.add(st.jsonNumber, clean(t.text))
		}
	}
	return w.done()
}

// textLines shows text: lines as they are, tabs expanded, other control characters escaped, long lines
// wrapped.
func (st *styles) textLines(b []byte, width int) []string {
	w := &wrapper{width: max(1, width)}
	for i, ln := range strings.Split(string(b), "\n") {
		if i > 0 {
			w.newline(0)
		}
		ln = strings.TrimSuffix(ln, "\r")
		ln = expandTabs(ln)
		w.add(st.text, escapeBytes([]byte(ln), 1<<30))
	}
	return w.done()
}

// expandTabs replaces tabs by spaces up to the next multiple of four cells.
func expandTabs(s string) string {
	if !strings.Contains(s, "\t") {
		return s
	}
	var sb strings.Builder
	col := 0
	for _, r := range s {
		if r == '\t' {
			n := 4 - col%4
			sb.WriteString(strings.Repeat(" ", n))
			col += n
			continue
		}
		sb.WriteRune(r)
		col += max(1, ansi.StringWidth(string(r)))
	}
	return sb.String()
}

// hexLines draws a hex dump: offset, 16 (or 8, or 4 when narrow) bytes in hex, and the same bytes as ASCII.
func (st *styles) hexLines(b []byte, width int) []string {
	per := 16
	for per > 4 && 10+per*3+per/8-1+2+per > width { // offset, hex with a gap every 8, |ascii|
		per /= 2
	}
	const hexd = "0123456789abcdef"
	out := make([]string, 0, len(b)/per+1)
	var hx, as strings.Builder
	for off := 0; off < len(b); off += per {
		row := b[off:min(off+per, len(b))]
		hx.Reset()
		as.Reset()
		for i := range per {
			if i > 0 && i%8 == 0 {
				hx.WriteByte(' ')
			}
			if i < len(row) {
				c := row[i]
				hx.WriteByte(hexd[c>>4])
				hx.WriteByte(hexd[c&15])
				hx.WriteByte(' ')
				if c >= 0x20 && c < 0x7f {
					as.WriteByte(c)
				} else {
					as.WriteByte('.')
				}
			} else {
				hx.WriteString("   ")
			}
		}
		o := []byte("00000000")
		for i, v := 7, off; i >= 0; i, v = i-1, v>>4 {
			o[i] = hexd[v&15]
		}
		l := newLine(width).add(st.muted, string(o)).space(2).add(st.text, hx.String()).
			add(st.muted, "|").add(st.accent, as.String()).add(st.muted, "|")
		out = append(out, strings.TrimRight(l.String(), " "))
	}
	if len(out) == 0 {
		out = append(out, st.muted.r("(empty payload)"))
	}
	return out
}

// payloadLines renders a payload in a view, at most maxShown bytes of it.
func (st *styles) payloadLines(b []byte, v payloadView, width int) []string {
	rest := 0
	if len(b) > maxShown && v != viewJSON {
		rest = len(b) - maxShown
		b = b[:maxShown]
	}
	var out []string
	switch v {
	case viewJSON:
		out = st.jsonLines(b, width)
	case viewText:
		out = st.textLines(b, width)
	default:
		out = st.hexLines(b, width)
	}
	if rest > 0 {
		out = append(out, st.muted.r(truncate("… "+fmtBytes(float64(rest))+" more not shown", width)))
	}
	return out
}
