package tui

import (
	"math"
	"strings"
)

// This file holds the line chart the detail views draw their history with: braille dots (2×4 per cell), one
// paint per series, a y axis labelled with the top value and zero.

// brailleBits are the dot bits of a braille cell, by column (0, 1) and row from the top (0..3).
var brailleBits = [2][4]rune{{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}}

// lineChart draws series (oldest first, NaN where nothing is known; the last value at the right edge) as
// lines in w×h cells, each line exactly w cells wide: a y axis of the top value, its middle and 0 in
// fmtY's format on the left (fmtSI, fmtBytes, …), then the plot, scaled to the largest value of all series
// (a flat chart with only 0 on its axis when there is none). Series paint with paints[i] (cycling); where
// two series share a cell the later one paints it. Each series is resampled to the plot's dot columns, so
// any length fits.
func lineChart(st *styles, series [][]float64, w, h int, paints []paint, fmtY func(float64) string) []string {
	if w <= 0 || h <= 0 {
		return nil
	}
	top, labels, lw := chartAxis(series, w, fmtY)
	pw := w - lw - min(lw, 1) // the plot's width, after the labels and one blank
	if pw <= 0 {
		return blankLines(w, h)
	}
	cols, rows := pw*2, h*4
	dots := make([]rune, pw*h)
	owner := make([]int, pw*h)
	for i := range owner {
		owner[i] = -1
	}
	set := func(x, y, si int) { // y in dots from the bottom
		y = rows - 1 - max(0, min(y, rows-1))
		c := y/4*pw + x/2
		dots[c] |= brailleBits[x%2][y%4]
		owner[c] = si
	}
	for si, s := range series {
		if len(s) == 0 {
			continue
		}
		prev := -1
		for x := range cols {
			v := resample(s, x, cols)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				prev = -1
				continue
			}
			y := 0
			if top > 0 {
				y = max(0, min(rows-1, int(math.Round(v/top*float64(rows-1))))) // within the plot, whatever v is
			}
			lo, hi := y, y
			if prev >= 0 { // join to the previous point so steep changes stay a line
				lo, hi = min(prev, y), max(prev, y)
			}
			for yy := lo; yy <= hi; yy++ {
				set(x, yy, si)
			}
			prev = y
		}
	}
	out := make([]string, h)
	for r := range h {
		l := newLine(w)
		if lw > 0 {
			lab := ""
			switch {
			case r == 0:
				lab = labels[0]
			case r == h-1:
				lab = labels[2]
			case r == (h-1)/2 && h >= 5:
				lab = labels[1]
			}
			l.addFit(st.muted, lab, lw, true).space(1)
		}
		var run strings.Builder
		runOwner := -2
		flush := func() {
			if run.Len() == 0 {
				return
			}
			p := st.muted
			if runOwner >= 0 && len(paints) > 0 {
				p = paints[runOwner%len(paints)]
			}
			l.add(p, run.String())
			run.Reset()
		}
		for c := range pw {
			i := r*pw + c
			o := owner[i]
			if o != runOwner {
				flush()
				runOwner = o
			}
			if dots[i] == 0 {
				if r == h-1 {
					run.WriteRune('⣀') // the baseline
				} else {
					run.WriteByte(' ')
				}
				continue
			}
			run.WriteRune(0x2800 + dots[i])
		}
		flush()
		out[r] = l.String()
	}
	return out
}

// chartAxis is the y axis of a chart of series w cells wide: the largest value of all series (0 when none
// is known), the labels of the top, the middle and zero in fmtY's format, and their width (0 when the labels
// would leave no room for the plot).
func chartAxis(series [][]float64, w int, fmtY func(float64) string) (top float64, labels [3]string, lw int) {
	for _, s := range series {
		for _, v := range s {
			if !math.IsNaN(v) && !math.IsInf(v, 0) && v > top {
				top = v
			}
		}
	}
	labels = [3]string{fmtY(top), fmtY(top / 2), fmtY(0)}
	if top == 0 {
		labels[0], labels[1] = "", ""
	}
	for _, l := range labels {
		lw = max(lw, textWidth(l))
	}
	if lw+2 >= w {
		lw = 0
	}
	return top, labels, lw
}

// resample returns the value of s at dot column x of cols, the series stretched or squeezed to cols: the
// last value at the right edge; when squeezed, the largest value of the samples the column covers (so
// spikes stay visible).
func resample(s []float64, x, cols int) float64 {
	n := len(s)
	if n == 1 {
		return s[0]
	}
	if n <= cols {
		return s[int(math.Round(float64(x)*float64(n-1)/float64(max(1, cols-1))))]
	}
	a := x * n / cols
	b := max(a+1, (x+1)*n/cols)
	v := math.NaN()
	for _, f := range s[a:min(b, n)] {
		if !math.IsNaN(f) && (math.IsNaN(v) || f > v) {
			v = f
		}
	}
	return v
}

// blankLines returns h blank lines of w cells.
func blankLines(w, h int) []string {
	out := make([]string, h)
	for i := range out {
		out[i] = blank(w)
	}
	return out
}
