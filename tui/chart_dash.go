package tui

import (
	"math"
	"strings"
	"time"
)

// This file draws the dashboard's throughput chart: two series (messages in and out per second) as braille
// lines over a shared scale, with the scale's labels on the left and the time's under the plot.

// chartSeries is one line of a chart and its paint.
type chartSeries struct {
	v []float64
	p paint
}

// braille dot bits by column (0, 1) and row from the top (0..3).
var brailleBits = [2][4]rune{{0x01, 0x02, 0x04, 0x40}, {0x08, 0x10, 0x20, 0x80}}

// resample fits v into n points, so that the first and the last span the plot: the mean of each bucket
// when longer, linearly interpolated when shorter. NaN points (nothing known) stay NaN unless their bucket
// has a known one; a point between a known and an unknown one is unknown.
func resample(v []float64, n int) []float64 {
	if len(v) == n || n <= 0 || len(v) == 0 {
		return v
	}
	if len(v) < n {
		out := make([]float64, n)
		if len(v) == 1 {
			for i := range out {
				out[i] = v[0]
			}
			return out
		}
		for i := range out {
			t := float64(i) * float64(len(v)-1) / float64(n-1)
			j := min(int(t), len(v)-2)
			f := t - float64(j)
			out[i] = v[j]*(1-f) + v[j+1]*f // NaN when either is
		}
		return out
	}
	out := make([]float64, n)
	for i := range out {
		lo, hi := i*len(v)/n, (i+1)*len(v)/n
		sum, k := 0.0, 0
		for _, x := range v[lo:hi] {
			if !math.IsNaN(x) {
				sum += x
				k++
			}
		}
		out[i] = math.NaN()
		if k > 0 {
			out[i] = sum / float64(k)
		}
	}
	return out
}

// chartPeak is the largest known value of the series (0 when none is known).
func chartPeak(ss []chartSeries) float64 {
	peak := 0.0
	for _, s := range ss {
		for _, x := range s.v {
			if !math.IsNaN(x) && x > peak {
				peak = x
			}
		}
	}
	return peak
}

// lineChart draws the series in w×h cells: the scale's labels and axis on the left, the time labels
// (span before the last point, "now" at it) on the last line. Each returned line is exactly w cells.
func (st *styles) lineChart(ss []chartSeries, span time.Duration, w, h int) []string {
	peak := chartPeak(ss)
	top := peak
	if top <= 0 {
		top = 1
	}
	labels := []string{fmtSI(top), fmtSI(top / 2), "0"}
	lw := 0
	for _, l := range labels {
		lw = max(lw, textWidth(l))
	}
	pw, ph := w-lw-2, h-1
	if pw < 4 || ph < 2 {
		out := make([]string, 0, h)
		for range h {
			out = append(out, blank(w))
		}
		return out
	}
	// Plot: one bit mask per series and cell.
	masks := make([][]rune, len(ss))
	dotsY := ph * 4
	for si, s := range ss {
		m := make([]rune, pw*ph)
		v := resample(s.v, pw*2)
		off := pw*2 - len(v)
		prev := -1
		for i, x := range v {
			if math.IsNaN(x) {
				prev = -1
				continue
			}
			y := int(math.Round(max(0, x) / top * float64(dotsY-1)))
			y = min(y, dotsY-1)
			lo, hi := y, y
			if prev >= 0 {
				lo, hi = min(prev, y), max(prev, y)
			}
			dx := off + i
			for d := lo; d <= hi; d++ {
				row := ph - 1 - d/4
				m[row*pw+dx/2] |= brailleBits[dx%2][3-d%4]
			}
			prev = y
		}
		masks[si] = m
	}
	out := make([]string, 0, h)
	for row := range ph {
		l := newLine(w)
		label := ""
		switch row {
		case 0:
			label = labels[0]
		case ph / 2:
			if ph > 2 {
				label = labels[1]
			}
		case ph - 1:
			label = labels[2]
		}
		l.addFit(st.muted, label, lw, true).space(1)
		l.add(st.border, pick(label != "", "┤", "│"))
		var run strings.Builder
		runP := paint{}
		flush := func() {
			if run.Len() > 0 {
				l.add(runP, run.String())
				run.Reset()
			}
		}
		for x := range pw {
			var bits rune
			p, n := st.muted, 0
			for si := range ss {
				if b := masks[si][row*pw+x]; b != 0 {
					bits |= b
					p = ss[si].p
					n++
				}
			}
			if n > 1 {
				p = st.text
			}
			ch := ' '
			if bits != 0 {
				ch = 0x2800 + bits
			}
			if p != runP {
				flush()
				runP = p
			}
			run.WriteRune(ch)
		}
		flush()
		out = append(out, l.String())
	}
	// Time axis.
	xl := newLine(w).space(lw+1).add(st.border, "└")
	left, mid, right := "-"+spanLabel(span), "-"+spanLabel(span/2), "now"
	if span <= 0 {
		left, mid = "", ""
	}
	gap1 := max(1, pw/2-textWidth(left)-textWidth(mid)/2)
	gap2 := max(1, pw-textWidth(left)-gap1-textWidth(mid)-textWidth(right))
	if pw < textWidth(left)+textWidth(mid)+textWidth(right)+2 {
		mid, gap2 = "", max(1, pw-textWidth(left)-textWidth(right))
		gap1 = 0
	}
	xl.add(st.muted, left).space(gap1).add(st.muted, mid).space(gap2).add(st.muted, right)
	out = append(out, xl.String())
	return out
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
