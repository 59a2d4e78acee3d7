package tui

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// This file holds the small text helpers every pane uses: human units, sparklines and the sanitising of
// data that comes from the wire (topic names, keys, payloads, errors) before it reaches the terminal.

// fmtFloat formats v with one decimal below 10 and none above, e.g. 3.5, 42, 950.
func fmtFloat(v float64) string {
	if v < 10 && v != float64(int64(v)) {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// fmtSI formats v with a k/M/G/T suffix, e.g. 950, 1.2k, 34.5M.
func fmtSI(v float64) string {
	if v < 0 {
		return "-" + fmtSI(-v)
	}
	const units = "kMGTPE"
	if v < 1000 {
		return fmtFloat(v)
	}
	u := -1
	for v >= 999.95 && u < len(units)-1 {
		v /= 1000
		u++
	}
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64) + units[u:u+1]
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + units[u:u+1]
}

// fmtRate formats a per-second rate: "0/s", "12/s", "1.2k/s".
func fmtRate(v float64) string { return fmtSI(v) + "/s" }

// fmtCount formats a counter exactly up to 99999 and with an SI suffix above: "12345", "123k", "1.2M".
func fmtCount(n uint64) string {
	if n < 100000 {
		return strconv.FormatUint(n, 10)
	}
	return fmtSI(float64(n))
}

// fmtInt is fmtCount for signed values.
func fmtInt(n int64) string {
	if n < 0 {
		return "-" + fmtCount(uint64(-n))
	}
	return fmtCount(uint64(n))
}

// fmtBytes formats a byte count with decimal units: "512 B", "3.4 kB", "12 MB".
func fmtBytes(v float64) string {
	if v < 1000 {
		return strconv.FormatFloat(v, 'f', 0, 64) + " B"
	}
	const units = "kMGTPE"
	u := -1
	for v >= 999.95 && u < len(units)-1 {
		v /= 1000
		u++
	}
	prec := 1
	if v >= 100 {
		prec = 0
	}
	return strconv.FormatFloat(v, 'f', prec, 64) + " " + units[u:u+1] + "B"
}

// fmtByteRate formats bytes per second: "3.4 MB/s".
func fmtByteRate(v float64) string { return fmtBytes(v) + "/s" }

// fmtDur formats a latency compactly: "-" for zero, "850µs", "12ms", "1.2s", "3m10s".
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		return trimFloat(float64(d)/float64(time.Microsecond)) + "µs"
	case d < time.Second:
		return trimFloat(float64(d)/float64(time.Millisecond)) + "ms"
	case d < time.Minute:
		return trimFloat(float64(d)/float64(time.Second)) + "s"
	}
	return fmtAge(d)
}

// trimFloat formats v with one decimal below 10 and none above.
func trimFloat(v float64) string {
	if v < 10 {
		s := strconv.FormatFloat(v, 'f', 1, 64)
		return strings.TrimSuffix(s, ".0")
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// fmtAge formats an elapsed time coarsely: "0s", "42s", "3m10s", "5h2m", "3d4h".
func fmtAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return strconv.FormatInt(s, 10) + "s"
	case s < 3600:
		return strconv.FormatInt(s/60, 10) + "m" + strconv.FormatInt(s%60, 10) + "s"
	case s < 86400:
		return strconv.FormatInt(s/3600, 10) + "h" + strconv.FormatInt(s/60%60, 10) + "m"
	}
	return strconv.FormatInt(s/86400, 10) + "d" + strconv.FormatInt(s/3600%24, 10) + "h"
}

// ago formats the time since t as an age ("12s"), or "-" for a zero t.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmtAge(now.Sub(t))
}

// fmtPct formats a 0..1 fraction as a whole percentage.
func fmtPct(f float64) string {
	return strconv.FormatFloat(f*100, 'f', 0, 64) + "%"
}

var sparkBlocks = [...]rune{'▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'}

// sparkline renders the last width values of series as block characters scaled to their maximum,
// right-aligned (padded with spaces on the left when there are fewer values than cells).
func sparkline(series []float64, width int) string {
	if width <= 0 {
		return ""
	}
	if len(series) > width {
		series = series[len(series)-width:]
	}
	peak := 0.0
	for _, v := range series {
		if v > peak {
			peak = v
		}
	}
	var b strings.Builder
	b.Grow(width * 3)
	for range width - len(series) {
		b.WriteByte(' ')
	}
	for _, v := range series {
		i := 0
		if peak > 0 && v > 0 {
			i = int(v / peak * float64(len(sparkBlocks)-1))
			i = max(0, min(i, len(sparkBlocks)-1))
		}
		b.WriteRune(sparkBlocks[i])
	}
	return b.String()
}

// textWidth is the display width of plain (already sanitised) text.
func textWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

// fit truncates plain text to width cells (ending in "…" when cut) and pads it with spaces, on the left
// when right is set, to exactly width cells.
func fit(s string, width int, right bool) string {
	if width <= 0 {
		return ""
	}
	w := textWidth(s)
	if w > width {
		s = ansi.Truncate(s, width, "…")
		w = textWidth(s)
	}
	if w == width {
		return s
	}
	pad := strings.Repeat(" ", width-w)
	if right {
		return pad + s
	}
	return s + pad
}

// cutLeft shortens plain text to at most width cells by cutting its start, which becomes "…".
func cutLeft(s string, width int) string {
	w := textWidth(s)
	if w <= width || width <= 0 {
		return s
	}
	return ansi.TruncateLeft(s, w-width+1, "…")
}

// truncate shortens plain text to at most width cells, ending in "…" when cut.
func truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	if textWidth(s) <= width {
		return s
	}
	return ansi.Truncate(s, width, "…")
}

// clean makes a string from the wire safe and single-line for the terminal (see escapeBytes).
func clean(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= utf8.RuneSelf {
			return escapeBytes([]byte(s), 1<<30)
		}
	}
	return s
}

// escapeBytes renders b as one printable line of at most limit cells: printable UTF-8 as is, \n \r \t as
// those two-character escapes, other control characters and invalid UTF-8 as \xNN. It stops early once
// the limit is reached, so previewing a large payload costs only what is shown; a cut preview ends in "…".
func escapeBytes(b []byte, limit int) string {
	if limit <= 0 {
		return ""
	}
	var sb strings.Builder
	sb.Grow(min(len(b), limit) + 8)
	w := 0
	const hex = "0123456789abcdef"
	for i := 0; i < len(b); {
		c := b[i]
		var piece string
		var pw, size int
		switch {
		case c >= 0x20 && c < 0x7f:
			if w+1 > limit {
				return ellipsize(&sb, w, limit)
			}
			sb.WriteByte(c)
			w++
			i++
			continue
		case c == '\n':
			piece, pw, size = `\n`, 2, 1
		case c == '\r':
			piece, pw, size = `\r`, 2, 1
		case c == '\t':
			piece, pw, size = `\t`, 2, 1
		case c < utf8.RuneSelf:
			piece, pw, size = `\x`+string([]byte{hex[c>>4], hex[c&15]}), 4, 1
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 || r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029 {
				// Invalid UTF-8, C1 controls and line separators: escaped byte by byte.
				piece, pw, size = `\x`+string([]byte{hex[c>>4], hex[c&15]}), 4, 1
			} else {
				piece, size = string(b[i:i+n]), n
				pw = ansi.StringWidth(piece)
				if pw == 0 {
					// Combining or zero-width characters: shown escaped so nothing is hidden.
					piece, pw = `\u`+strconv.FormatInt(int64(r), 16), 2+len(strconv.FormatInt(int64(r), 16))
				}
			}
		}
		if w+pw > limit {
			return ellipsize(&sb, w, limit)
		}
		sb.WriteString(piece)
		w += pw
		i += size
	}
	return sb.String()
}

// previewHL is escapeBytes(b, limit) with the byte ranges hl (in order, not overlapping) painted hi and
// the rest base. Escaping is local to each byte or rune, so the cells of a range are those of its bytes
// escaped on their own.
func previewHL(b []byte, limit int, hl [][2]int, base, hi paint) string {
	prev := escapeBytes(b, limit)
	pw := textWidth(prev)
	var sb strings.Builder
	sb.Grow(len(prev) + len(hl)*16)
	cell, pos, c := 0, 0, 0
	for _, r := range hl {
		s, e := max(r[0], pos), min(r[1], len(b))
		if s >= e {
			continue
		}
		c += textWidth(escapeBytes(b[pos:s], 1<<30))
		cs := c
		c += textWidth(escapeBytes(b[s:e], 1<<30))
		pos = e
		if cs >= pw {
			break
		}
		ce := min(c, pw)
		sb.WriteString(base.r(ansi.Cut(prev, cell, cs)))
		sb.WriteString(hi.r(ansi.Cut(prev, cs, ce)))
		cell = ce
	}
	if cell < pw {
		sb.WriteString(base.r(ansi.Cut(prev, cell, pw)))
	}
	return sb.String()
}

// ellipsize ends a preview that did not fit: it replaces the last cell with "…".
func ellipsize(sb *strings.Builder, w, limit int) string {
	s := sb.String()
	if w >= limit {
		s = ansi.Truncate(s, limit-1, "")
	}
	return s + "…"
}

// itoa formats an int.
func itoa(n int) string { return strconv.Itoa(n) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// plural formats a count of things: "1 message", "3 messages".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return itoa(n) + " " + what + "s"
}

// cutMiddle shortens plain text (a topic name) to at most width cells by cutting its middle, which becomes
// "…": a topic keeps its namespace and its distinctive end ("/default/…rders-eu-west"); when the namespace
// leaves too little room for the end, the cut keeps a third of the room for the start.
func cutMiddle(s string, width int) string {
	w := textWidth(s)
	if w <= width || width <= 0 {
		return s
	}
	if width < 4 {
		return cutLeft(s, width)
	}
	head := (width - 1) / 3
	if strings.HasPrefix(s, "/") {
		if i := strings.IndexByte(s[1:], '/'); i >= 0 && i+2 <= width-5 {
			head = i + 2 // "/namespace/"
		}
	}
	tail := width - 1 - head
	return ansi.Truncate(s, head, "") + "…" + ansi.TruncateLeft(s, w-tail, "")
}
