package tui

import (
	"strings"
	"time"
)

// timeChart draws the series (as lineChart, one paint each) in w×h cells with a time axis on the last line,
// under the plot: span before the last point, its half, and "now". Each returned line is exactly w cells.
func timeChart(st *styles, series [][]float64, paints []paint, span time.Duration, w, h int) []string {
	if h < 3 {
		return lineChart(st, series, w, h, paints, fmtSI)
	}
	out := lineChart(st, series, w, h-1, paints, fmtSI)
	_, _, lw := chartAxis(series, w, fmtSI)
	off := lw + min(lw, 1)
	pw := w - off
	left, mid, right := "-"+spanLabel(span), "-"+spanLabel(span/2), "now"
	if span <= 0 {
		left, mid = "", ""
	}
	gap1 := max(1, pw/2-textWidth(left)-textWidth(mid)/2)
	gap2 := max(1, pw-textWidth(left)-gap1-textWidth(mid)-textWidth(right))
	if pw < textWidth(left)+textWidth(mid)+textWidth(right)+2 {
		mid, gap1 = "", 0
		gap2 = max(1, pw-textWidth(left)-textWidth(right))
	}
	xl := newLine(w).space(off).add(st.muted, left).space(gap1).add(st.muted, mid).space(gap2).add(st.muted, right)
	return append(out, xl.String())
}

// spanLabel formats a time span for an axis: "15m", "7m30s", "2h", "45s".
func spanLabel(d time.Duration) string {
	s := fmtAge(d)
	for _, zero := range []string{"m0s", "h0m"} {
		if strings.HasSuffix(s, zero) {
			return strings.TrimSuffix(s, zero[1:])
		}
	}
	return s
}
