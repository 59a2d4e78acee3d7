// Package e2e holds the tests of the built danube-console binary, run as a user runs it: broker processes
// killed and restarted on a data directory (the crash, restart and soak tests), the console in a real
// terminal under tmux, and the headless commands piped into each other. The binary is built once per test
// run, from the module root. The tests of the commands run in process are next to them, in internal/cli.
package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/danube-console/danube-console/internal/testenv"
)

// syncBuffer is a buffer a process writes while the test reads it.
type syncBuffer = testenv.SyncBuffer

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// buildBinary builds danube-console from the module root once per test run and returns its path.
func buildBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "danube-console-e2e"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "danube-console")
		build := exec.Command("go", "build", "-o", binPath, ".")
		build.Dir = ".." // the module root, where main.go is
		if out, err := build.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// writeFile writes b to a file in the test's directory and returns its path.
func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// pipelineTOML is a configuration of a jsonl sink named sink writing path, which creates the reliable topic
// (so it subscribes before the generator publishes and misses nothing), and a generator named gen
// publishing to it; genLines are added to the generator's table.
func pipelineTOML(topic, sink, path, gen string, genLines ...string) []byte {
	return []byte(fmt.Sprintf(`
[[connector]]
name = %q
kind = "jsonl"
topic = %q
create_topic = "reliable"
path = %q

[[connector]]
name = %q
kind = "generator"
topic = %q
reliable = true
%s
`, sink, topic, path, gen, topic, strings.Join(genLines, "\n")))
}

// countLines returns the number of lines of the file at path (0 when it cannot be read).
func countLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		n++
	}
	return n
}

// freePort returns a port nothing listens on at 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
