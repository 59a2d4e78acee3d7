package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// Run with -update to regenerate the golden files under testdata/.
//
// The goldens come in two kinds, as crush keeps them: the layout matrix (every pane and view at two sizes)
// in the default theme with the escape sequences stripped, and one golden per theme with them kept
// (TestGoldenThemes), so that a change of a palette or of a colour role shows up in a diff.

var goldenSizes = []struct{ w, h int }{{80, 24}, {160, 48}}

// goldenTheme is the theme of the layout goldens (their escape sequences are stripped).
const goldenTheme = "dark"

// TestGoldenPanes renders every pane at two sizes, ANSI stripped.
func TestGoldenPanes(t *testing.T) {
	for i, name := range paneNames {
		t.Run(name, func(t *testing.T) {
			for _, sz := range goldenSizes {
				t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
					m := newTest(t, tuitest.Scripted(), sz.w, sz.h, goldenTheme)
					press(m, paneKey(paneID(i)))
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
}

// themeViews are the views every theme's golden shows: the dashboard, a consumer's stream with a
// selection, and a JSON message in the inspector, which between them use every colour role.
var themeViews = []struct {
	name  string
	setup func(t *testing.T, m *Model)
}{
	{"dashboard", func(*testing.T, *Model) {}},
	{"stream", func(t *testing.T, m *Model) {
		selectConsumer(t, m, "billing-1")
		press(m, "enter", "up")
	}},
	{"inspector", func(t *testing.T, m *Model) {
		selectConsumer(t, m, "billing-1")
		run(t, m, press(m, "enter", "up", "enter"))
	}},
}

// TestGoldenThemes renders the same views in every theme with the escape sequences kept, at one size. The
// colour output is made in the true-colour profile whatever the terminal the test runs in: NO_COLOR and
// TERM are set here to values that would strip or reduce colours if anything read them.
func TestGoldenThemes(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	t.Setenv("TERM", "dumb")
	t.Setenv("COLORTERM", "")
	for _, th := range themes.Names() {
		t.Run(th, func(t *testing.T) {
			for _, v := range themeViews {
				t.Run(v.name, func(t *testing.T) {
					m := newTest(t, tuitest.Scripted(), 120, 30, th)
					v.setup(t, m)
					content := m.View().Content
					checkFrame(t, content, 120, 30)
					golden.RequireEqual(t, trueColor(t, content))
				})
			}
		})
	}
}

// trueColor returns the view as a true-colour terminal receives it (a view holds colours as the theme
// defines them; the program's renderer reduces them to the terminal's profile, which here is forced).
func trueColor(t *testing.T, view string) string {
	t.Helper()
	var b strings.Builder
	w := &colorprofile.Writer{Forward: &b, Profile: colorprofile.TrueColor}
	if _, err := w.WriteString(view); err != nil {
		t.Fatal(err)
	}
	return b.String()
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
		{"connector-details-scrolled", 80, 24, []string{"7", "down", "enter", "end"}},
		{"connector-details-wide", 160, 48, []string{"7", "down", "enter"}},
		{"lookup-input", 80, 24, []string{"2", "L", "/iot/sens"}},
		{"stream-paused", 80, 24, []string{"4", "down", "f", "pgup"}},
		{"too-small", 59, 15, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newTest(t, tuitest.Scripted(), c.w, c.h, goldenTheme)
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

// messageCases are the views of issue 7: the inspector, manual acks, the nack prompt, the replay review
// and progress, filters, the command line, the tap form and the help in read-only mode. Each sets up a
// model (sized and themed by the caller).
var messageCases = []struct {
	name  string
	sizes []struct{ w, h int }
	fake  func() *tuitest.Fake
	opts  func(*Options)
	setup func(t *testing.T, m *Model, f *tuitest.Fake)
}{
	{name: "inspector-json", sizes: goldenSizes, fake: tuitest.Scripted,
		setup: func(t *testing.T, m *Model, _ *tuitest.Fake) {
			selectConsumer(t, m, "billing-1")
			run(t, m, press(m, "enter", "up", "enter")) // seq 199, an order, with its schema subject
		}},
	{name: "inspector-text", sizes: goldenSizes, fake: tuitest.Scripted,
		setup: func(t *testing.T, m *Model, _ *tuitest.Fake) {
			selectConsumer(t, m, "billing-1")
			press(m, "enter", "enter") // seq 200: two lines with a tab
		}},
	{name: "inspector-hex", sizes: goldenSizes, fake: tuitest.Scripted,
		setup: func(t *testing.T, m *Model, _ *tuitest.Fake) {
			selectConsumer(t, m, "billing-1")
			press(m, "enter", "up", "up", "up", "up", "up", "enter") // seq 195: binary
		}},
	{name: "inspector-manual", sizes: goldenSizes[:1], fake: tuitest.Manual,
		setup: func(t *testing.T, m *Model, _ *tuitest.Fake) {
			selectConsumer(t, m, "tap-1")
			run(t, m, press(m, "enter", "up", "up", "up", "up", "enter")) // seq 36, pending, JSON
		}},
	{name: "manual-stream", sizes: goldenSizes, fake: tuitest.Manual,
		setup: func(t *testing.T, m *Model, _ *tuitest.Fake) {
			selectConsumer(t, m, "tap-1")
			// The oldest messages (close to their deadline), two of them marked.
			press(m, "enter", "g", "space", "down", "down", "space", "down")
		}},
	{name: "nack-prompt", sizes: goldenSizes[:1], fake: tuitest.Manual,
		setup: func(t *testing.T, m *Model, _ *tuitest.Fake) {
			selectConsumer(t, m, "tap-1")
			press(m, "enter", "space", "up", "up", "space", "n")
			typeText(m, "30s")
			press(m, "tab")
			typeText(m, "downstream is down")
		}},
	{name: "replay-review", sizes: goldenSizes, fake: tuitest.Scripted,
		setup: func(t *testing.T, m *Model, _ *tuitest.Fake) {
			selectConsumer(t, m, "billing-1")
			press(m, "enter", "space", "up", "space", "up", "up", "up", "space", "P")
		}},
	{name: "replay-progress", sizes: goldenSizes[:1], fake: tuitest.Scripted,
		setup: func(t *testing.T, m *Model, f *tuitest.Fake) {
			f.ReplayGate = make(chan struct{})
			selectConsumer(t, m, "billing-1")
			run(t, m, runLine(m, "filter ada"))
			cmd := runLine(m, "replay /default/orders-replay --filtered")
			if cmd != nil {
				t.Fatal("the review started the replay")
			}
			cmd = press(m, "y")
			go func() {
				for range 12 {
					f.ReplayGate <- struct{}{}
				}
			}()
			for {
				msg := cmd()
				_, cmd = m.Update(msg)
				if p, ok := msg.(replayProgressMsg); ok && p.done == 12 {
					break
				}
			}
			t.Cleanup(func() { m.consumers.replay.running.cancel() })
		}},
	{name: "filter-error", sizes: goldenSizes[:1], fake: tuitest.Scripted,
		setup: func(t *testing.T, m *Model, _ *tuitest.Fake) {
			selectConsumer(t, m, "billing-1")
			press(m, "/")
			typeText(m, `$.total >= "x`)
			press(m, "enter")
		}},
	{name: "filtered", sizes: goldenSizes, fake: tuitest.Scripted,
		setup: func(t *testing.T, m *Model, _ *tuitest.Fake) {
			selectConsumer(t, m, "billing-1")
			run(t, m, runLine(m, "filter ada -key:key-1*"))
		}},
	{name: "cmdline-completion", sizes: goldenSizes[:1], fake: tuitest.Scripted,
		setup: func(t *testing.T, m *Model, _ *tuitest.Fake) {
			press(m, "4", ":")
			typeText(m, "consume /default/")
			press(m, "tab", "tab")
		}},
	{name: "cmdline-error", sizes: goldenSizes[:1], fake: tuitest.Scripted,
		setup: func(t *testing.T, m *Model, _ *tuitest.Fake) {
			press(m, ":")
			typeText(m, "replya --filtered")
			press(m, "enter")
		}},
	{name: "tap-form", sizes: goldenSizes[:1], fake: tuitest.Scripted,
		setup: func(t *testing.T, m *Model, _ *tuitest.Fake) {
			press(m, "2", "down", "c", "tab", "right", "right")
		}},
	{name: "help-readonly", sizes: goldenSizes, fake: tuitest.Scripted,
		opts: func(o *Options) { o.ReadOnly = true },
		setup: func(t *testing.T, m *Model, _ *tuitest.Fake) {
			press(m, "?", "pgdown")
		}},
}

// TestGoldenMessages renders the views of message inspection, manual acks, replay, filters and the command
// line, ANSI stripped.
func TestGoldenMessages(t *testing.T) {
	for _, c := range messageCases {
		t.Run(c.name, func(t *testing.T) {
			for _, sz := range c.sizes {
				t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
					f := c.fake()
					var mods []func(*Options)
					if c.opts != nil {
						mods = append(mods, c.opts)
					}
					m := newTest(t, f, sz.w, sz.h, goldenTheme, mods...)
					c.setup(t, m, f)
					checkFrame(t, m.View().Content, sz.w, sz.h)
					golden.RequireEqual(t, screen(m))
				})
			}
		})
	}
}

// TestGoldenANSIHighlights keeps the filtered stream with its escape sequences: the matches of the filter
// are highlighted in the payload previews.
func TestGoldenANSIHighlights(t *testing.T) {
	m := newTest(t, tuitest.Scripted(), 120, 30, goldenTheme)
	selectConsumer(t, m, "billing-1")
	run(t, m, runLine(m, "filter ada"))
	v := m.View().Content
	if !strings.Contains(v, m.st.highlight.r("ada")) {
		t.Errorf("no highlighted match in the view")
	}
	golden.RequireEqual(t, v)
}

// TestGoldenStoreRecovery renders the Health pane and the dashboard of a broker that repaired its data
// directory when it started: the repairs get a box of their own, and the dashboard's Health tile counts them.
func TestGoldenStoreRecovery(t *testing.T) {
	for _, sz := range goldenSizes {
		t.Run(fmt.Sprintf("%dx%d", sz.w, sz.h), func(t *testing.T) {
			f := tuitest.Scripted()
			f.Update(func(s *monitor.Snapshot) {
				s.StoreRecovery = &client.StoreRecovery{BrokerID: "4711", StartedAt: s.Time.Add(-90 * time.Second),
					Reports: []client.RecoveryReport{
						{Topic: "/default/orders", File: "topics/t-2f64/00000000000000000000.seg", Action: "skipped",
							Records: 1, FirstOffset: 500, LastOffset: 500, Bytes: 310, Reason: "record at offset 500: checksum mismatch"},
						{Topic: "/iot/sensors", File: "topics/t-2f69/00000000000000004096.seg", Action: "moved",
							MovedTo: "topics/t-2f69/00000000000000004096.seg.corrupt", Bytes: 7 << 20, Reason: "unreadable segment header"},
						{Topic: "/default/payments", Action: "adopted", Records: 1200, FirstOffset: 0, LastOffset: 1199,
							Reason: "the metadata does not know this topic log; restored it as a reliable topic"},
					}}
			})
			for _, pane := range []string{"1", "6"} {
				m := newTest(t, f, sz.w, sz.h, goldenTheme)
				press(m, pane)
				checkFrame(t, m.View().Content, sz.w, sz.h)
				t.Run(paneNames[pane[0]-'1'], func(t *testing.T) { golden.RequireEqual(t, screen(m)) })
			}
		})
	}
}
