// Package e2e holds the tests of the built danube-console binary, run as a user runs it: broker processes
// killed and restarted on a data directory (the crash, restart and soak tests), the console in a real
// terminal under tmux, and the headless commands piped into each other. The binary is built once per test
// run, from the module root. The tests of the commands run in process are next to them, in internal/cli.
package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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

// freePort returns a port nothing listens on at 127.0.0.1.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
