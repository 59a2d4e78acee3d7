package tui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	uv "github.com/charmbracelet/ultraviolet"

	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/themes"
	"github.com/danube-console/danube-console/tui/tuitest"
)

// frameTerm is the work Bubble Tea's renderer does for each frame of the console's view (an alternate-screen
// view of fixed size): it does what the renderer's flush does on a ticker in a running Program, without
// the ticker. The frame's content is parsed into a cell buffer (uv.StyledString.Draw), diffed against the
// screen as last drawn and encoded as terminal sequences (uv.TerminalRenderer.Render and Flush), and the
// bytes are written to the terminal (io.Discard). A view equal to the last one costs a comparison, as in
// the renderer. TestFrameTermMatchesProgram checks that it writes what a Program writes.
type frameTerm struct {
	scr   *uv.TerminalRenderer
	cells uv.ScreenBuffer
	buf   bytes.Buffer // the renderer's output, written to out after each frame
	out   io.Writer
	last  string
	drawn bool
	bytes int // written to out so far
}

// frameEnv is the terminal of the frame benchmarks: a 256-colour xterm that also takes 24-bit colour.
var frameEnv = []string{"TERM=xterm-256color", "COLORTERM=truecolor"}

// newFrameTerm returns a frameTerm of w×h cells writing to out, set up as a Program without input sets up
// its renderer (true colour, no hard tabs, no backspace moves, newlines mapped, scroll optimisation) after
// it entered the alternate screen.
func newFrameTerm(w, h int, out io.Writer) *frameTerm {
	t := &frameTerm{cells: uv.NewScreenBuffer(w, h), out: out}
	t.scr = uv.NewTerminalRenderer(&t.buf, frameEnv)
	t.scr.SetColorProfile(colorprofile.TrueColor)
	t.scr.SetTabStops(-1)
	t.scr.SetBackspace(false)
	t.scr.SetMapNewline(runtime.GOOS != "windows")
	t.scr.SetScrollOptim(runtime.GOOS != "windows")
	t.scr.Resize(w, h)
	// Entering the alternate screen: absolute cursor moves over the whole screen, erased first.
	t.scr.SaveCursor()
	t.scr.SetFullscreen(true)
	t.scr.SetRelativeCursor(false)
	t.scr.Erase()
	return t
}

// draw renders one frame of content and writes it; it returns the bytes written.
func (t *frameTerm) draw(content string) (int, error) {
	if t.drawn && content == t.last {
		return 0, nil
	}
	t.drawn, t.last = true, content
	t.cells.Clear()
	uv.NewStyledString(content).Draw(t.cells, t.cells.Bounds())
	t.scr.Render(t.cells.RenderBuffer)
	if err := t.scr.Flush(); err != nil {
		return 0, fmt.Errorf("frame: encode: %w", err)
	}
	n, err := t.out.Write(t.buf.Bytes())
	t.buf.Reset()
	t.bytes += n
	if err != nil {
		return n, fmt.Errorf("frame: write: %w", err)
	}
	return n, nil
}

// viewRecorder is a console in a Program that names each view it draws in the window title ("view N"),
// so that each frame the Program writes says which view it drew, and keeps the views' contents and the
// ticks handled before each. Its clock is the time of the last tick, so that the content changes only
// when a tick brings new data.
type viewRecorder struct {
	m     *Model
	mu    sync.Mutex
	now   time.Time
	ticks int
	views []recordedView
}

// recordedView is the content of a view and the ticks the console had handled when it drew it.
type recordedView struct {
	content string
	ticks   int
}

func (r *viewRecorder) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *viewRecorder) Init() tea.Cmd { return r.m.Init() }

func (r *viewRecorder) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if t, ok := msg.(tickMsg); ok {
		r.mu.Lock()
		r.now, r.ticks = time.Time(t), r.ticks+1
		r.mu.Unlock()
	}
	_, cmd := r.m.Update(msg)
	return r, cmd
}

func (r *viewRecorder) View() tea.View {
	v := r.m.View()
	r.mu.Lock()
	defer r.mu.Unlock()
	v.WindowTitle = viewTitle(len(r.views))
	r.views = append(r.views, recordedView{content: v.Content, ticks: r.ticks})
	return v
}

func (r *viewRecorder) view(n int) recordedView {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.views[n]
}

func viewTitle(n int) string { return "view " + strconv.Itoa(n) }

// frameWrites records the frames a Program's renderer writes (one frame per write) that name their view
// in the window title, with the view's number; it drops the title from the bytes.
type frameWrites struct {
	mu     sync.Mutex
	frames []programFrame
}

// programFrame is one frame a Program wrote: the bytes and the number of the view drawn.
type programFrame struct {
	out  []byte
	view int
}

var titleRE = regexp.MustCompile(`\x1b\]2;view (\d+)\x07`)

func (w *frameWrites) Write(p []byte) (int, error) {
	m := titleRE.FindSubmatchIndex(p)
	if m == nil {
		return len(p), nil // the Program's own sequences, or a clear before the first view
	}
	n, err := strconv.Atoi(string(p[m[2]:m[3]]))
	if err != nil {
		return 0, fmt.Errorf("frame: view number: %w", err)
	}
	f := programFrame{out: slices.Concat(p[:m[0]], p[m[1]:]), view: n}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.frames = append(w.frames, f)
	return len(p), nil
}

func (w *frameWrites) all() []programFrame {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.frames)
}

// frameProgram is a Bubble Tea Program running for a frame test or benchmark; done is closed when Run
// returned, with err.
type frameProgram struct {
	*tea.Program
	done chan struct{}
	err  error
}

// runFrameProgram runs model in a Bubble Tea Program writing to out at w×h, with no input, no signal
// handler and frameEnv's terminal in true colour, until the test or benchmark ends.
func runFrameProgram(tb testing.TB, model tea.Model, out io.Writer, w, h int) *frameProgram {
	tb.Helper()
	ctx, cancel := context.WithCancel(tb.Context())
	p := &frameProgram{done: make(chan struct{})}
	p.Program = tea.NewProgram(model, tea.WithContext(ctx), tea.WithOutput(out), tea.WithInput(nil), tea.WithoutSignalHandler(),
		tea.WithWindowSize(w, h), tea.WithEnvironment(frameEnv), tea.WithColorProfile(colorprofile.TrueColor), tea.WithFPS(120))
	go func() {
		_, p.err = p.Run()
		close(p.done)
	}()
	tb.Cleanup(func() {
		cancel()
		<-p.done
		if p.err != nil && !errors.Is(p.err, tea.ErrProgramKilled) {
			tb.Errorf("program: %v", p.err)
		}
	})
	return p
}

// TestFrameTermMatchesProgram runs the console in a real Bubble Tea Program at 200×60 while the data
// changes between frames, and checks that frameTerm, given the views the Program drew, writes the same
// bytes for each frame (but the window title, which names the view): the frame benchmarks measure the
// renderer's real work. The frameTerm starts from the Program's screen (it draws the first frame written
// after the first tick); the first frame compared after it may start with a different cursor move (the
// renderer moves from where the last frame ended), the others must be equal byte for byte.
func TestFrameTermMatchesProgram(t *testing.T) {
	for _, pane := range []string{"1", "4"} {
		t.Run("pane "+pane, func(t *testing.T) {
			const w, h, frames = 200, 60, 6
			f := tuitest.Big()
			ch, err := tuitest.NewChurn(f, 100*time.Millisecond, 10, 1000, "s00")
			if err != nil {
				t.Fatal(err)
			}
			rec := &viewRecorder{now: ch.Now()}
			rec.m = New(f, Options{Theme: themes.Default(), Clock: rec.clock, Tick: time.Hour, TapPrefix: "console-test-0a1b"})
			out := &frameWrites{}
			p := runFrameProgram(t, rec, out, w, h)
			p.Send(keyMsg(pane))
			var got []programFrame
			for n := 1; n <= frames+2; n++ {
				ch.Step()
				p.Send(tickMsg(ch.Now()))
				testenv.Eventually(t, 10*time.Second, func() bool {
					got = out.all()
					return len(got) > 0 && rec.view(got[len(got)-1].view).ticks >= n
				}, "the program draws the data of tick %d", n)
			}
			base := slices.IndexFunc(got, func(f programFrame) bool { return rec.view(f.view).ticks > 0 })
			got = got[base:]
			if len(got) < frames+1 {
				t.Fatalf("the program wrote %d frames after the first tick's, want %d", len(got)-1, frames)
			}
			term := newFrameTerm(w, h, io.Discard)
			if _, err := term.draw(rec.view(got[0].view).content); err != nil {
				t.Fatal(err)
			}
			changed := 0
			for i := 1; i < len(got); i++ {
				v, last := rec.view(got[i].view), rec.view(got[i-1].view)
				if v.content != last.content {
					changed++
				}
				var b bytes.Buffer
				term.out = &b
				if _, err := term.draw(v.content); err != nil {
					t.Fatal(err)
				}
				if i > 1 && !bytes.Equal(b.Bytes(), got[i].out) {
					t.Fatalf("frame %d (view %d): frameTerm wrote %d bytes, the program %d:\n%q\n%q", i, got[i].view, b.Len(), len(got[i].out), b.Bytes(), got[i].out)
				}
			}
			if changed < frames {
				t.Fatalf("%d frames of %d drew changed data, want %d", changed, len(got)-1, frames)
			}
		})
	}
}
