package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// scrollback returns the terminal's scrollback and screen, each line without its trailing blanks, without
// the blank lines at the end.
func (term *terminal) scrollback() string {
	term.t.Helper()
	out, err := exec.Command("tmux", "capture-pane", "-p", "-S", "-", "-E", "-", "-t", term.name).CombinedOutput()
	if err != nil {
		term.t.Fatalf("tmux capture-pane: %v: %s", err, out)
	}
	lines := strings.Split(string(out), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

// hasLine reports whether screen has a line that is exactly l (trailing blanks aside).
func hasLine(screen, l string) bool {
	return regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(l) + ` *$`).MatchString(screen)
}

// TestResizeThenQuitLeavesTheTerminalAsLessDoes: in a shell in a 100×30 terminal, a few lines are printed
// and a full-screen program runs, the window shrinks to 80×24, grows to 140×40, and the program quits: the
// console leaves the terminal (screen and scrollback) exactly as less does, without a line of its frames.
func TestResizeThenQuitLeavesTheTerminalAsLessDoes(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	var file strings.Builder
	for i := 1; i <= 200; i++ {
		fmt.Fprintln(&file, i)
	}
	text := filepath.Join(dir, "numbers.txt")
	if err := os.WriteFile(text, []byte(file.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same command line, x, runs less or the console: the shell's history is the same.
	prog := func(name, cmd string) string {
		d := filepath.Join(dir, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "x"), []byte("#!/bin/sh\nexec "+cmd+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	lessDir := prog("less", "less "+text)
	consoleDir := prog("console", bin+" --ephemeral --port 0 --admin-port 0 --log-file "+filepath.Join(dir, "console.log"))

	type size struct {
		w, h  int
		ready func(string) bool // the program drew itself at this size
	}
	run := func(pdir string, sizes []size) string {
		t.Helper()
		term := startTerminal(t, 100, 30, nil, "env", "PATH="+pdir+":"+os.Getenv("PATH"), "PS1=$ ", "TERM=xterm-256color",
			"bash", "--norc", "--noprofile")
		term.waitFor("the prompt", 10*time.Second, func(s string) bool { return hasLine(s, "$") })
		term.text("for i in 1 2 3 4 5; do echo line $i; done")
		term.keys("Enter")
		term.waitFor("the lines printed", 10*time.Second, func(s string) bool { return hasLine(s, "line 5") })
		term.text("x")
		term.keys("Enter")
		for i, sz := range sizes {
			if i > 0 {
				term.resize(sz.w, sz.h)
			}
			term.waitFor(fmt.Sprintf("the program drawn at %d×%d", sz.w, sz.h), 30*time.Second, sz.ready)
		}
		term.keys("q")
		term.waitFor("the prompt after the program", 30*time.Second, func(s string) bool {
			l := strings.Split(strings.TrimRight(s, "\n "), "\n")
			return strings.TrimSpace(l[len(l)-1]) == "$" && !strings.Contains(s, "Danube") && !hasLine(s, "1")
		})
		return term.scrollback()
	}
	less := run(lessDir, []size{
		{100, 30, func(s string) bool { return hasLine(s, "29") }},
		{80, 24, func(s string) bool { return hasLine(s, "23") && !hasLine(s, "29") }},
		{140, 40, func(s string) bool { return hasLine(s, "39") }},
	})
	header := func(tabs string) func(string) bool {
		return func(s string) bool { return strings.Contains(s, "Danube Console") && strings.Contains(s, tabs) }
	}
	console := run(consoleDir, []size{
		{100, 30, header(" 1 Dash  2 Topics ")},
		{80, 24, header(" 1 Dash 2 Topics ")},
		{140, 40, header(" 1 Dashboard  2 Topics ")},
	})
	if console != less {
		t.Fatalf("after the console the terminal holds\n%s\n\nafter less\n%s", console, less)
	}
	if !strings.Contains(less, "line 5\n$ x\n$") {
		t.Fatalf("the terminal after less does not end with the command and the prompt:\n%s", less)
	}
}
