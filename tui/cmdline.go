package tui

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/danube-console/danube-console/themes"
)

// This file holds the command line (:), k9s style: a line at the bottom with completion (tab cycles the
// names of commands, then of their arguments: topics, subscriptions, types, taps, connectors, themes,
// flags) and a history (up/down), kept in memory and, with Options.HistoryFile, in a file. Every command
// is in the commands table (commands.go), which also feeds the help overlay.

// historyMax is how many commands the history keeps.
const historyMax = 500

// cmdLine is the command line's state.
type cmdLine struct {
	cmds []*command
	path string // the history file, if any
	open bool
	in   textinput.Model
	err  string

	hist  []string
	hi    int    // position in hist while browsing (len(hist): the line being typed)
	draft string // the line being typed, kept while browsing the history

	comp completion
}

// completion is the state of tab completion: the line up to the token being completed, its candidates
// and the one shown.
type completion struct {
	active bool
	base   string
	cands  []string
	i      int
	note   string
}

// newCmdLine returns the command line, with the history of Options.HistoryFile.
func newCmdLine(t *themes.Theme, historyFile string) *cmdLine {
	c := &cmdLine{cmds: commands(), path: historyFile}
	c.in = newInput(t, ":", "command (tab completes, ↑ history)")
	c.in.CharLimit = 4096
	if path := historyFile; path != "" {
		if f, err := os.Open(path); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if l := strings.TrimSpace(sc.Text()); l != "" {
					c.hist = append(c.hist, l)
				}
			}
			f.Close()
			if len(c.hist) > historyMax {
				c.hist = c.hist[len(c.hist)-historyMax:]
				if len(c.hist) > 0 {
					// Keep the file from growing without bound: rewrite it with what is kept.
					_ = os.WriteFile(path, []byte(strings.Join(c.hist, "\n")+"\n"), 0o600)
				}
			}
		}
	}
	c.hi = len(c.hist)
	return c
}

func (c *cmdLine) restyle(t *themes.Theme) { styleInput(&c.in, t) }

// openLine opens the command line with text in it.
func (c *cmdLine) openLine(text string) tea.Cmd {
	c.open, c.err, c.comp = true, "", completion{}
	c.hi, c.draft = len(c.hist), ""
	c.in.SetValue(text)
	c.in.CursorEnd()
	return c.in.Focus()
}

func (c *cmdLine) close() {
	c.open, c.err, c.comp = false, "", completion{}
	c.in.Blur()
	c.in.Reset()
}

func (c *cmdLine) input(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	c.in, cmd = c.in.Update(msg)
	return cmd
}

// completer returns the completion candidates of a command's positional argument i, given the arguments
// before it.
type completer func(cmd *command, i int, prev []string) []string

// key edits the line: esc closes it, tab completes (with cands), up and down browse the history. Enter is
// the root's: it runs the command (Model.execute).
func (c *cmdLine) key(k *KeyMap, msg tea.KeyPressMsg, cands completer) tea.Cmd {
	switch s := msg.String(); {
	case matches(msg, k.Prompt.Cancel):
		c.close()
		return nil
	case matches(msg, k.Prompt.Complete):
		c.complete(s == "shift+tab", cands)
		return nil
	case matches(msg, k.Prompt.History):
		c.browse(pick(s == "up", -1, 1))
		return nil
	}
	c.err, c.comp = "", completion{}
	return c.input(msg)
}

// browse moves through the history: -1 older, +1 newer (past the newest: the line being typed).
func (c *cmdLine) browse(d int) {
	if len(c.hist) == 0 {
		return
	}
	if c.hi == len(c.hist) {
		c.draft = c.in.Value()
	}
	c.hi = max(0, min(c.hi+d, len(c.hist)))
	if c.hi == len(c.hist) {
		c.in.SetValue(c.draft)
	} else {
		c.in.SetValue(c.hist[c.hi])
	}
	c.in.CursorEnd()
	c.err, c.comp = "", completion{}
}

// remember adds a command to the history (and its file).
func (c *cmdLine) remember(line string) (err error) {
	if n := len(c.hist); n == 0 || c.hist[n-1] != line {
		c.hist = append(c.hist, line)
		if len(c.hist) > historyMax {
			c.hist = c.hist[len(c.hist)-historyMax:]
		}
		if path := c.path; path != "" {
			err = os.MkdirAll(filepath.Dir(path), 0o700)
			var f *os.File
			if err == nil {
				f, err = os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
			}
			if err == nil {
				_, err = f.WriteString(line + "\n")
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
		}
	}
	c.hi = len(c.hist)
	return err
}

// token is a word of the command line and where it starts.
type token struct {
	s     string
	start int
}

func tokenize(line string) []token {
	var out []token
	start := -1
	for i, r := range line {
		if r == ' ' || r == '\t' {
			if start >= 0 {
				out = append(out, token{line[start:i], start})
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, token{line[start:], start})
	}
	return out
}

// parse parses a command line into its command and arguments.
func (c *cmdLine) parse(line string) (*command, cmdArgs, error) {
	toks := tokenize(line)
	if len(toks) == 0 {
		return nil, cmdArgs{}, nil
	}
	name := toks[0].s
	cmd := findCommand(c.cmds, name)
	if cmd == nil {
		return nil, cmdArgs{}, c.unknown(name)
	}
	a := cmdArgs{flags: map[string]bool{}}
	for _, t := range toks[1:] {
		if cmd.rest >= 0 && len(a.pos) == cmd.rest {
			a.pos = append(a.pos, strings.TrimSpace(line[t.start:]))
			break
		}
		if strings.HasPrefix(t.s, "--") {
			if !slices.Contains(cmd.flags, t.s) {
				if len(cmd.flags) == 0 {
					return nil, a, errors.New("unknown flag " + t.s + " (:" + cmd.name + " takes none)")
				}
				return nil, a, errors.New("unknown flag " + t.s + " (:" + cmd.name + " takes " + strings.Join(cmd.flags, ", ") + ")")
			}
			a.flags[t.s] = true
			continue
		}
		a.pos = append(a.pos, t.s)
	}
	return cmd, a, nil
}

// unknown is the error of an unknown command, with the closest name.
func (c *cmdLine) unknown(name string) error {
	best, bd := "", 1<<30
	for _, cmd := range c.cmds {
		for _, n := range append([]string{cmd.name}, cmd.aliases...) {
			d := editDistance(name, n)
			if strings.HasPrefix(n, name) {
				d = min(d, 1)
			}
			if d < bd {
				best, bd = cmd.name, d
			}
		}
	}
	msg := "unknown command \"" + name + "\""
	if bd <= max(2, len(name)/2) {
		return errors.New(msg + " — did you mean :" + best + "?")
	}
	return errors.New(msg + " — :help lists the commands")
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// line returns the command typed, without its colon.
func (c *cmdLine) line() string {
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(c.in.Value()), ":"))
}

// fail shows a command's error on the line, which stays open.
func (c *cmdLine) fail(err error) { c.err, c.comp = err.Error(), completion{} }

// complete replaces the word before the cursor by the next (or previous) candidate.
func (c *cmdLine) complete(back bool, source completer) {
	line := c.in.Value()
	if c.comp.active && len(c.comp.cands) > 0 && line == c.comp.base+c.comp.cands[c.comp.i] {
		n := len(c.comp.cands)
		c.comp.i = (c.comp.i + pick(back, n-1, 1)) % n
		c.in.SetValue(c.comp.base + c.comp.cands[c.comp.i])
		c.in.CursorEnd()
		return
	}
	toks := tokenize(line)
	word, base := "", line
	if len(toks) > 0 && !strings.HasSuffix(line, " ") {
		t := toks[len(toks)-1]
		word, base = t.s, line[:t.start]
		toks = toks[:len(toks)-1]
	}
	var all []string
	if len(toks) == 0 {
		for _, cmd := range c.cmds {
			all = append(all, cmd.name)
		}
	} else if cmd := findCommand(c.cmds, toks[0].s); cmd != nil {
		var prev []string
		for _, t := range toks[1:] {
			if !strings.HasPrefix(t.s, "--") {
				prev = append(prev, t.s)
			}
		}
		if strings.HasPrefix(word, "-") {
			all = cmd.flags
		} else if cmd.complete != nil && (cmd.rest < 0 || len(prev) < cmd.rest) {
			all = source(cmd, len(prev), prev)
		}
		if word == "" && len(all) == 0 {
			all = cmd.flags
		}
	}
	var cands []string
	for _, s := range all {
		if strings.HasPrefix(s, word) && !slices.Contains(cands, s) {
			cands = append(cands, s)
		}
	}
	c.comp = completion{base: base}
	switch len(cands) {
	case 0:
		c.comp.note = "no completions"
	case 1:
		c.in.SetValue(base + cands[0] + " ")
	default:
		c.comp.active, c.comp.cands = true, cands
		if back {
			c.comp.i = len(cands) - 1
		}
		c.in.SetValue(base + cands[c.comp.i])
	}
	c.in.CursorEnd()
}

// inputWidth is the width of the input on a line of w cells: the error, when there is one, takes its part.
func (c *cmdLine) inputWidth(w int) int {
	if c.err == "" {
		return w
	}
	return w - min(textWidth(c.err)+4, w/2+w/4)
}

// sync gives the input the width it is drawn at, for its scrolling.
func (c *cmdLine) sync(e *env) { setInputWidth(&c.in, c.inputWidth(e.w)) }

// view draws the command line in place of the status bar.
func (c *cmdLine) view(e *env, w int) string {
	st := e.st
	iw := c.inputWidth(w)
	if c.err == "" {
		return inputLine(c.in, iw)
	}
	return padANSI(inputLine(c.in, iw)+st.err.r(fit("  ✗ "+clean(c.err), w-iw, false)), w)
}

// strip draws, over the last line of the body, the completion candidates (the current one selected) or
// the usage of the command being typed.
func (c *cmdLine) strip(e *env, body string, w, h int) string {
	st := e.st
	l := newLine(w).space(1)
	switch {
	case c.comp.active:
		for i, s := range c.comp.cands {
			if l.room() < textWidth(s)+2 {
				l.add(st.muted, "…")
				break
			}
			if i == c.comp.i {
				l.add(st.selected, "["+clean(s)+"]")
			} else {
				l.add(st.text, " "+clean(s)+" ")
			}
		}
	case c.comp.note != "":
		l.add(st.muted, c.comp.note)
	default:
		toks := tokenize(c.in.Value())
		if len(toks) == 0 {
			l.add(st.muted, "commands: ")
			for i, cmd := range c.cmds {
				if i > 0 {
					l.add(st.muted, " ")
				}
				l.add(pick(cmd.changes != "" && e.readOnly(), st.muted, st.text), cmd.name)
			}
			break
		}
		cmd := findCommand(c.cmds, toks[0].s)
		if cmd == nil {
			l.add(st.muted, "tab completes the command names")
			break
		}
		l.add(st.key, ":"+cmd.name).add(st.text, pick(cmd.usage != "", " "+cmd.usage, "")).add(st.muted, " — "+cmd.help)
		if cmd.changes != "" && e.readOnly() {
			l.add(st.warn, " (read-only)")
		}
	}
	lines := strings.Split(body, "\n")
	if h > 0 && len(lines) >= h {
		lines[h-1] = l.String()
	}
	return strings.Join(lines, "\n")
}
