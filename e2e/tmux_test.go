package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danube-console/danube-console/internal/testenv"
)

// tmuxSeq numbers the tmux sessions of a test run.
var tmuxSeq atomic.Int64

// terminal is a real terminal: a detached tmux session running a command.
type terminal struct {
	t    testing.TB
	name string
	// console: the terminal runs the console, whose first screen the first keys wait for (typed before, they
	// reach the terminal before the console reads it); ready: it was seen.
	console, ready bool
}

// startTerminal runs argv in a new detached tmux session of w×h cells, killed when the test ends. tmux is
// required (make test installs it).
func startTerminal(t testing.TB, w, h int, env []string, argv ...string) *terminal {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is required for the console's end-to-end tests (make deps installs it): %v", err)
	}
	name := fmt.Sprintf("dc-test-%d-%d", time.Now().UnixNano()%1e6, tmuxSeq.Add(1))
	args := []string{"new-session", "-d", "-s", name, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h)}
	// The console remembers the last theme and cluster: each terminal has its own state (and config, unless
	// given), so that no test sees what another left, nor the user's own files.
	home := t.TempDir()
	for _, v := range []string{"XDG_CONFIG_HOME", "XDG_STATE_HOME"} {
		if !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, v+"=") }) {
			env = append(env, v+"="+filepath.Join(home, v))
		}
	}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	args = append(args, argv...)
	// The tmux server exits with its last session: a session asked for while another test's last one ends can
	// meet a server on its way out ("server exited unexpectedly"), and is then asked for again of a new one.
	for attempt := 1; ; attempt++ {
		out, err := exec.Command("tmux", args...).CombinedOutput()
		if err == nil {
			break
		}
		if attempt == 3 || !strings.Contains(string(out), "server exited unexpectedly") {
			t.Fatalf("tmux new-session: %v: %s", err, out)
		}
	}
	console := filepath.Base(argv[0]) == "danube-console" && (len(argv) == 1 || strings.HasPrefix(argv[1], "-"))
	term := &terminal{t: t, name: name, console: console}
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", name).Run() })
	return term
}

// waitReady waits, before the first keys typed into the console, for its first screen.
func (term *terminal) waitReady() {
	term.t.Helper()
	if !term.console || term.ready {
		return
	}
	term.waitFor("the console's first screen", 30*time.Second, func(s string) bool { return strings.Contains(s, "Danube Console") })
	term.ready = true
}

// screen returns what the terminal shows now.
func (term *terminal) screen() string {
	out, err := exec.Command("tmux", "capture-pane", "-p", "-t", term.name).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("(capture-pane failed: %v: %s)", err, out)
	}
	return string(out)
}

// keys types keys (tmux key names, e.g. "7", "Enter", "C-c"). Prefer the one-byte bindings (j, k, g, G) to
// keys sent as escape sequences (Down, Home...): on a loaded machine a sequence can reach the console in
// two reads, the first taken for a lone esc.
func (term *terminal) keys(keys ...string) {
	term.t.Helper()
	term.waitReady()
	args := append([]string{"send-keys", "-t", term.name}, keys...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		term.t.Fatalf("tmux send-keys %v: %v: %s", keys, err, out)
	}
}

// text types text literally.
func (term *terminal) text(s string) {
	term.t.Helper()
	term.waitReady()
	if out, err := exec.Command("tmux", "send-keys", "-t", term.name, "-l", s).CombinedOutput(); err != nil {
		term.t.Fatalf("tmux send-keys -l %q: %v: %s", s, err, out)
	}
}

// resize changes the terminal's size to w×h cells, as a user dragging the window would.
func (term *terminal) resize(w, h int) {
	term.t.Helper()
	if out, err := exec.Command("tmux", "resize-window", "-t", term.name, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h)).CombinedOutput(); err != nil {
		term.t.Fatalf("tmux resize-window: %v: %s", err, out)
	}
}

// quit types q and waits until the session ends.
func (term *terminal) quit() {
	term.t.Helper()
	term.keys("q")
	term.waitExit()
}

// waitExit waits until the session ends (the console quit).
func (term *terminal) waitExit() {
	term.t.Helper()
	testenv.Eventually(term.t, 30*time.Second, throttled(func() bool { return !term.alive() }),
		"the console did not quit; the screen:\n%s", screenOf{term})
}

// alive reports whether the session still runs.
func (term *terminal) alive() bool {
	return exec.Command("tmux", "has-session", "-t", term.name).Run() == nil
}

// waitFor waits until cond holds for the screen and returns that screen, failing with the last screen
// after timeout.
func (term *terminal) waitFor(what string, timeout time.Duration, cond func(screen string) bool) string {
	term.t.Helper()
	var s string
	testenv.Eventually(term.t, timeout, throttled(func() bool {
		s = term.screen()
		return cond(s)
	}), "waiting for %s; the screen:\n%s", what, lastScreen{&s})
	return s
}

// throttled calls cond at most every 50 ms, and otherwise reports false: each call runs a tmux process,
// too many for a loaded machine at testenv.Eventually's polling rate.
func throttled(cond func() bool) func() bool {
	var next time.Time
	return func() bool {
		now := time.Now()
		if now.Before(next) {
			return false
		}
		next = now.Add(50 * time.Millisecond)
		return cond()
	}
}

// screenOf prints what the terminal shows when it is printed.
type screenOf struct{ term *terminal }

func (s screenOf) String() string { return s.term.screen() }

// lastScreen prints the screen *s holds when it is printed.
type lastScreen struct{ s *string }

func (l lastScreen) String() string { return *l.s }

// line returns the first line of screen that contains all of subs ("" when none).
func line(screen string, subs ...string) string {
	for _, l := range strings.Split(screen, "\n") {
		ok := true
		for _, s := range subs {
			ok = ok && strings.Contains(l, s)
		}
		if ok {
			return l
		}
	}
	return ""
}
