package tui

import (
	"fmt"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/danube-console/danube-console/tui/tuitest"
)

// Run with -update to regenerate the golden files under testdata/.

var goldenSizes = []struct{ w, h int }{{80, 24}, {160, 48}}

var goldenThemes = []string{"dark", "light"}

// TestGoldenPanes renders every pane at two sizes in the dark and light themes, ANSI stripped.
func TestGoldenPanes(t *testing.T) {
	for i, name := range paneNames {
		t.Run(name, func(t *testing.T) {
			for _, sz := range goldenSizes {
				t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
					for _, th := range goldenThemes {
						t.Run(th, func(t *testing.T) {
							m := newTest(t, tuitest.Scripted(), sz.w, sz.h, th)
							press(m, string(rune('1'+i)))
							// Select a row below the first so the goldens show a selection that moved.
							if i != int(paneDashboard) {
								press(m, "down")
							}
							v := m.View().Content
							checkFrame(t, v, sz.w, sz.h)
							golden.RequireEqual(t, screen(m))
						})
					}
				})
			}
		})
	}
}

// TestGoldenOverlays renders the help overlay, the connector details, the lookup input and the paused
// stream, and the too-small message.
func TestGoldenOverlays(t *testing.T) {
	cases := []struct {
		name string
		w, h int
		keys []string
	}{
		{"help", 80, 24, []string{"?"}},
		{"help-wide", 160, 48, []string{"3", "?"}},
		{"connector-details", 80, 24, []string{"7", "down", "enter"}},
		{"lookup-input", 80, 24, []string{"2", "L", "/iot/sens"}},
		{"stream-paused", 80, 24, []string{"4", "down", "f", "pgup"}},
		{"too-small", 59, 15, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newTest(t, tuitest.Scripted(), c.w, c.h, "dark")
			for _, k := range c.keys {
				if len(k) > 1 && k[0] == '/' {
					typeText(m, k)
					continue
				}
				press(m, k)
			}
			checkFrame(t, m.View().Content, c.w, c.h)
			golden.RequireEqual(t, screen(m))
		})
	}
}

// TestGoldenANSI keeps one golden with the escape sequences: the dashboard in the dark theme.
func TestGoldenANSI(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 80, 24, "dark")
	golden.RequireEqual(t, m.View().Content)
}
