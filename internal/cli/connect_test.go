package cli

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/internal/clitest"

	"github.com/danube-console/danube-console/internal/testenv"
)

func TestConnectExampleAndCheck(t *testing.T) {
	dir := t.TempDir()
	var out, errb syncBuffer
	if code := run(context.Background(), []string{"connect", "--example"}, &out, &errb); code != 0 {
		t.Fatalf("--example: exit %d: %s", code, errb.String())
	}
	example := clitest.WriteFile(t, "example.toml", []byte(out.String()))
	t.Setenv("POSTGRES_DSN", "postgres://u:p@127.0.0.1/db")

	out, errb = syncBuffer{}, syncBuffer{}
	if code := run(context.Background(), []string{"connect", "--check", "--config", example}, &out, &errb); code != 0 {
		t.Fatalf("--check of the example: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "8 connector(s), valid: example-file-tail") {
		t.Errorf("--check said %q", out.String())
	}

	bad := clitest.WriteFile(t, "bad.toml", []byte("[[connector]]\nname = \"gen\"\nkind = \"generator\"\ntopic = \"/default/x\"\nrate = -5\nfrobnicate = true\n"))
	out, errb = syncBuffer{}, syncBuffer{}
	if code := run(context.Background(), []string{"connect", "--check", "--config", bad}, &out, &errb); code != 2 {
		t.Fatalf("--check of a bad file: exit %d, want 2", code)
	}
	for _, want := range []string{bad + " has 2 problem(s)", bad + `:5: connector "gen": rate: `, bad + `:6: connector "gen": frobnicate: unknown key for kind generator`} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr %q lacks %q", errb.String(), want)
		}
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"connect"}, "--config FILE is required"},
		{[]string{"connect", "--config", filepath.Join(dir, "none.toml")}, "no such file"},
		{[]string{"connect", "--config", example, "--only", "nope"}, "--only nope: no connector of that name"},
		{[]string{"connect", "--config", example, "--embedded", "--service-url", "http://x:1"}, "cannot be used together"},
		{[]string{"connect", "--config", example, "--log-level", "loud"}, `--log-level "loud"`},
		{[]string{"connect", "--bogus"}, "unknown flag: --bogus"},
	} {
		out, errb = syncBuffer{}, syncBuffer{}
		if code := run(context.Background(), c.args, &out, &errb); code == 0 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error with %q", c.args, code, errb.String(), c.want)
		}
	}
}

// TestConnectRunsAPipeline: a generator into a reliable topic and a jsonl sink reading it, run from a
// configuration file on the embedded broker; every generated record reaches the file, and an interrupt
// stops both, draining.
func TestConnectRunsAPipeline(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.jsonl")
	cfg := clitest.WriteFile(t, "pipeline.toml", clitest.PipelineTOML("/default/orders", "sink", out, "gen",
		"count = 300", "rate = 1000", `template = '{"seq":{{seq}}}'`, "key_cardinality = 4"))
	s := runConnectUntilLines(t, out, 300, "connect", "--embedded", "--config", cfg, "--status-interval", "200ms")
	for _, want := range []string{"embedded broker (in memory) serving http://127.0.0.1:", "running 2 connector(s)",
		"gen (generator): starting → running", "gen (generator): running → completed", "stopping: draining the connectors", "jsonl     stopped",
		"received 300, processed 300"} {
		if !strings.Contains(s, want) {
			t.Errorf("stdout lacks %q:\n%s", want, s)
		}
	}
	if n := clitest.CountLines(out); n != 300 {
		t.Errorf("%d lines written, want 300 (each record once)", n)
	}
}

// TestConnectOnly: --only starts the named connectors, autostart or not, sinks before sources whatever
// the order of the names, and leaves the others stopped.
func TestConnectOnly(t *testing.T) {
	out := filepath.Join(t.TempDir(), "only.jsonl")
	cfg := clitest.WriteFile(t, "only.toml", append(clitest.PipelineTOML("/default/only", "sink", out, "gen",
		"count = 200", "rate = 2000", "autostart = false"), `
[[connector]]
name = "other"
kind = "generator"
topic = "/default/only"
reliable = true
rate = 100
`...))
	s := runConnectUntilLines(t, out, 200, "connect", "--embedded", "--config", cfg, "--only", "gen,sink", "--status-interval", "0")
	for _, want := range []string{"running 2 connector(s)", "gen (generator): running → completed", "received 200, processed 200"} {
		if !strings.Contains(s, want) {
			t.Errorf("stdout lacks %q:\n%s", want, s)
		}
	}
	if !regexp.MustCompile(`(?m)^  other +generator +stopped +received 0,`).MatchString(s) {
		t.Errorf("the connector not named ran:\n%s", s)
	}
	if n := clitest.CountLines(out); n != 200 {
		t.Errorf("%d lines written, want 200: the sink started after the generator and missed some", n)
	}
}

// runConnectUntilLines runs the command until the file at path has n lines, interrupts it, checks that it
// exits 0, and returns its standard output.
func runConnectUntilLines(t *testing.T, path string, n int, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, &stdout, &stderr) }()
	stopped := false
	t.Cleanup(func() { // the command ends with the test, even when it fails
		cancel()
		if !stopped {
			<-done
		}
	})
	testenv.Eventually(t, 30*time.Second, func() bool { return clitest.CountLines(path) >= n },
		"%d lines in %s, want %d\nstdout:\n%s\nstderr:\n%s", lineCount(path), path, n, &stdout, &stderr)
	cancel()
	select {
	case code := <-done:
		stopped = true
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("connect did not stop after the interrupt")
	}
	return stdout.String()
}

// lineCount is the number of lines of the file at path when it is printed.
type lineCount string

func (p lineCount) String() string { return strconv.Itoa(clitest.CountLines(string(p))) }

// TestConsoleFlagErrors: the console refuses bad flags with one line that says what to change, before it
// starts anything.
func TestConsoleFlagErrors(t *testing.T) {
	bad := clitest.WriteFile(t, "bad.toml", []byte("[[connector]]\nname = \"g\"\nkind = \"generator\"\ntopic = \"/default/x\"\nrate = \"fast\"\n"))
	theme := clitest.WriteFile(t, "theme.toml", []byte("name = \"mine\"\nbase = \"dark\"\n[colors]\naccent = \"#12345\"\n"))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--theme", "neon"}, `--theme: `},
		{[]string{"--theme", theme}, `theme.toml:4: colors.accent: "#12345" is not a colour`},
		{[]string{"--ring-size", "5"}, "--ring-size 5: use 100 to 200000"},
		{[]string{"--metrics-interval", "10ms"}, "--metrics-interval 10ms: use at least 100ms"},
		{[]string{"--admin-url", "http://x:1"}, "--admin-url goes with --service-url"},
		{[]string{"--service-url", "http://127.0.0.1:1", "--ephemeral"}, "are for the embedded broker"},
		{[]string{"--log-level", "loud"}, `--log-level "loud"`},
		{[]string{"--config", bad, "--ephemeral"}, bad + `:5: connector "g": rate: `},
		{[]string{"extra"}, `unknown command "extra"`},
	} {
		var out, errb syncBuffer
		code := run(context.Background(), c.args, &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
}

// TestConnectServesMetrics: --metrics-addr serves the connectors' Prometheus series while they run.
func TestConnectServesMetrics(t *testing.T) {
	port, err := freePort(0)
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cfg := clitest.WriteFile(t, "m.toml", clitest.PipelineTOML("/default/m", "sink", filepath.Join(t.TempDir(), "m.jsonl"), "gen", "count = 50"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"connect", "--embedded", "--config", cfg, "--metrics-addr", addr, "--status-interval", "0"}, &stdout, &stderr)
	}()
	want := `danube_connector_messages_processed_total{connector="sink",kind="jsonl",topic="/default/m"} 50`
	var body string
	testenv.Eventually(t, 20*time.Second, func() bool {
		if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
		}
		return strings.Contains(body, want)
	}, "no %q in the metrics; stderr: %s", want, &stderr)
	if !strings.Contains(body, `danube_connector_state{connector="gen",kind="generator",state="completed",topic="/default/m"} 1`) {
		t.Errorf("the generator's state is not completed in the metrics:\n%s", body)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}
