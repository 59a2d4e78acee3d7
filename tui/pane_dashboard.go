package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
)

// dashboardPane tiles condensed versions of the other six panes in a grid (3×2 when wide, 2×3 otherwise).
// The arrow keys move between tiles and enter opens the focused one. It lays the tiles out; each pane draws
// its own (the root gives the dashboard the six tilers, in pane order).
type dashboardPane struct {
	sel   int // focused tile, 0..5 (Topics..Connectors)
	tiles [numTiles]tiler
}

// tiler draws a pane's condensed dashboard tile in exactly w×h cells. It is pure.
type tiler interface {
	tile(e *env, w, h int, focused bool) string
}

const numTiles = 6 // Topics..Connectors

func dashGrid(w int) (cols, rows int) {
	if w >= 150 {
		return 3, 2
	}
	return 2, 3
}

// cellSpan splits total cells into n parts, the remainder going to the last ones.
func cellSpan(total, n, i int) (start, size int) {
	base := total / n
	extra := total % n
	start = i*base + max(0, i-(n-extra))
	size = base
	if i >= n-extra {
		size++
	}
	return start, size
}

func (d *dashboardPane) key(e *env, msg tea.KeyPressMsg) tea.Cmd {
	cols, _ := dashGrid(e.w)
	k := e.keys
	switch {
	case matches(msg, k.Dashboard.Left):
		d.sel = (d.sel + numTiles - 1) % numTiles
	case matches(msg, k.Dashboard.Right):
		d.sel = (d.sel + 1) % numTiles
	case matches(msg, k.Nav.Up):
		if d.sel >= cols {
			d.sel -= cols
		}
	case matches(msg, k.Nav.Down):
		if d.sel+cols < numTiles {
			d.sel += cols
		}
	case matches(msg, k.Dashboard.Open):
		e.post(showPaneMsg{id: paneID(d.sel + 1)})
	}
	return nil
}

// click focuses the tile under (x, y) of the body; a click on the focused tile opens it.
func (d *dashboardPane) click(e *env, x, y int) {
	cols, rows := dashGrid(e.w)
	bh := e.bodyHeight()
	if y < 0 || y >= bh {
		return
	}
	for r := range rows {
		y0, hh := cellSpan(bh, rows, r)
		if y < y0 || y >= y0+hh {
			continue
		}
		for c := range cols {
			x0, ww := cellSpan(e.w, cols, c)
			if x >= x0 && x < x0+ww {
				i := r*cols + c
				if i == d.sel {
					e.post(showPaneMsg{id: paneID(i + 1)})
				}
				d.sel = i
				return
			}
		}
	}
}

func (d *dashboardPane) view(e *env, w, h int) string {
	cols, rows := dashGrid(w)
	var b strings.Builder
	b.Grow(w * h * 4)
	for r := range rows {
		_, th := cellSpan(h, rows, r)
		tiles := make([][]string, cols)
		for c := range cols {
			_, tw := cellSpan(w, cols, c)
			i := r*cols + c
			tiles[c] = strings.Split(d.tiles[i].tile(e, tw, th, i == d.sel), "\n")
		}
		for y := range th {
			if r > 0 || y > 0 {
				b.WriteByte('\n')
			}
			for c := range cols {
				if y < len(tiles[c]) {
					b.WriteString(tiles[c][y])
				}
			}
		}
	}
	return b.String()
}

func (d *dashboardPane) tile(e *env, w, h int, _ bool) string { return d.view(e, w, h) }
func (d *dashboardPane) sync(*env)                            {}
func (d *dashboardPane) capturing() bool                      { return false }
func (d *dashboardPane) esc() bool                            { return false }

func (d *dashboardPane) bindings(k *KeyMap) []Binding {
	return []Binding{k.Dashboard.Left, k.Dashboard.Right, k.Dashboard.Open}
}
