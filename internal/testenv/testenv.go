// Package testenv starts real outside services for tests: a PostgreSQL server (StartPostgres, NewPostgres)
// and a mosquitto MQTT broker (StartMosquitto, NewMosquitto). Each runs as a child process of the test
// binary, listens only on 127.0.0.1 on a free port, keeps all its files in a temporary directory, and is
// stopped and removed by t.Cleanup.
//
// The binaries come from the Debian packages that `make deps` installs (postgresql, mosquitto). When one
// is missing the test fails, never skips, with a message that says to run `make deps`.
//
//	func TestSomething(t *testing.T) {
//		dsn := testenv.StartPostgres(t)  // postgres://postgres@127.0.0.1:PORT/test?sslmode=disable
//		addr := testenv.StartMosquitto(t) // 127.0.0.1:PORT
//		...
//	}
package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long a service may take to accept connections.
const startTimeout = 30 * time.Second

// findBinary returns the path of an executable named name: from PATH, then from each of dirs (globs,
// tried in order; among a glob's matches the highest PostgreSQL-style version comes first).
func findBinary(name string, dirs ...string) (string, bool) {
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	for _, pattern := range dirs {
		matches, _ := filepath.Glob(pattern)
		sortVersionDirsDesc(matches)
		for _, dir := range matches {
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p, true
			}
		}
	}
	return "", false
}

// sortVersionDirsDesc orders paths such as /usr/lib/postgresql/15/bin by the first all-digit path element,
// highest first (so 16 comes before 9.6 and 15).
func sortVersionDirsDesc(paths []string) {
	version := func(p string) float64 {
		for _, el := range strings.Split(p, string(filepath.Separator)) {
			if v, err := strconv.ParseFloat(el, 64); err == nil {
				return v
			}
		}
		return -1
	}
	for i := 1; i < len(paths); i++ {
		for j := i; j > 0 && version(paths[j]) > version(paths[j-1]); j-- {
			paths[j], paths[j-1] = paths[j-1], paths[j]
		}
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago; it fails the test when there is none.
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatalf("testenv: finding a free port: %v", err)
	}
	return port
}

// onFreePort calls start with a free port until it succeeds, at most three times (another process may take
// the port in between), and returns the port it started on, or the last error.
func onFreePort(start func(port int) error) (int, error) {
	var err error
	for range 3 {
		var port int
		if port, err = freePort(); err != nil {
			continue
		}
		if err = start(port); err == nil {
			return port, nil
		}
	}
	return 0, err
}

// waitPort waits until something accepts TCP connections on addr, the process exits (exited is closed),
// or the timeout passes.
func waitPort(addr string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("the process exited before listening on %s", addr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %v: %w", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SyncBuffer is a bytes.Buffer that one goroutine (a process's output, a logger) may write while another
// reads it. The zero value is empty and ready to use.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a started child process with a channel closed when it exited.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // set before exited is closed
}

// startProcess starts cmd and watches for its exit. The child gets a parent-death signal so that it does
// not outlive a test binary that crashed.
func startProcess(cmd *exec.Cmd, deathSig syscall.Signal) (*process, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = deathSig
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// stop sends sig and waits up to grace for the process to exit, then kills it.
func (p *process) stop(sig syscall.Signal, grace time.Duration) {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// tail returns the last n lines of s, for error messages.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
