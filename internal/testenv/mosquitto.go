package testenv

import (
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

// Mosquitto is a mosquitto MQTT broker started for a test. It is safe for use by several goroutines.
type Mosquitto struct {
	bin   string
	conf  string // path of mosquitto.conf
	extra []string
	port  int
	log   *SyncBuffer
	mu    sync.Mutex
	proc  *process
}

// StartMosquitto starts a mosquitto broker for the test and returns its address, "127.0.0.1:PORT". The
// broker is stopped when the test ends. See NewMosquitto.
func StartMosquitto(t testing.TB) (addr string) {
	t.Helper()
	return NewMosquitto(t).Addr()
}

// NewMosquitto writes a mosquitto.conf in a temporary directory (one listener on a free port of 127.0.0.1,
// allow_anonymous true, persistence false, logging to stderr, which the test shows when the broker fails),
// appends the extra configuration lines (e.g. "max_packet_size 2048"; a later line overrides an earlier
// one), starts /usr/sbin/mosquitto -c on it and waits until the port accepts connections. t.Cleanup stops
// it and removes the directory. The binary is looked up on PATH, in /usr/sbin and /usr/local/sbin; when it
// is missing the test fails with a message saying to run `make deps`.
func NewMosquitto(t testing.TB, extraConf ...string) *Mosquitto {
	t.Helper()
	return newMosquitto(t, false, extraConf)
}

// NewPersistentMosquitto is NewMosquitto with persistence on: sessions, subscriptions and queued QoS 1 and
// 2 messages are saved in the temporary directory when the broker stops and restored by Start, as a
// production broker would keep them.
func NewPersistentMosquitto(t testing.TB, extraConf ...string) *Mosquitto {
	t.Helper()
	return newMosquitto(t, true, extraConf)
}

func newMosquitto(t testing.TB, persistent bool, extraConf []string) *Mosquitto {
	t.Helper()
	bin, ok := findBinary("mosquitto", "/usr/sbin", "/usr/local/sbin")
	if !ok {
		t.Fatal("testenv: mosquitto is not installed (not on PATH nor in /usr/sbin): run `make deps`")
	}
	// A directory of our own under the temporary directory (t.TempDir's parent is private to root, and
	// mosquitto started as root drops to its own user, which must write the persistence file).
	dir, err := os.MkdirTemp("", "testenv-mosquitto-")
	if err != nil {
		t.Fatalf("testenv: mosquitto: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if persistent {
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatalf("testenv: mosquitto: %v", err)
		}
		extraConf = append([]string{"persistence true", "persistence_location " + dir + "/"}, extraConf...)
	}
	m := &Mosquitto{bin: bin, conf: filepath.Join(dir, "mosquitto.conf"), extra: extraConf, log: &SyncBuffer{}}
	_, err = onFreePort(func(port int) error {
		m.port = port
		if err := m.writeConf(); err != nil {
			return err
		}
		return m.start()
	})
	if err != nil {
		t.Fatalf("testenv: mosquitto did not start: %v\n%s", err, tail(m.log.String(), 20))
	}
	t.Cleanup(m.stop)
	return m
}

// Addr returns the broker's address, "127.0.0.1:PORT" (the same across Stop and Start).
func (m *Mosquitto) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.port)) }

// URL returns the broker's address as an MQTT client URL, "tcp://127.0.0.1:PORT".
func (m *Mosquitto) URL() string { return "tcp://" + m.Addr() }

// Log returns what the broker logged so far.
func (m *Mosquitto) Log() string { return m.log.String() }

// Stop stops the broker (SIGTERM) and waits until it exited; its sessions are lost (persistence is off).
// Stopping a stopped broker does nothing.
func (m *Mosquitto) Stop(t testing.TB) {
	t.Helper()
	m.stop()
}

// Start starts a stopped broker again on the same port and waits until it accepts connections.
func (m *Mosquitto) Start(t testing.TB) {
	t.Helper()
	if err := m.start(); err != nil {
		t.Fatalf("testenv: mosquitto did not restart: %v\n%s", err, tail(m.log.String(), 20))
	}
}

func (m *Mosquitto) writeConf() error {
	lines := []string{
		fmt.Sprintf("listener %d 127.0.0.1", m.port),
		"allow_anonymous true",
		"persistence false",
		"log_dest stderr",
		"log_type error",
		"log_type warning",
		"log_type notice",
		"log_type information",
		"connection_messages true",
	}
	lines = append(lines, m.extra...)
	return os.WriteFile(m.conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

func (m *Mosquitto) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil {
		select {
		case <-m.proc.exited:
		default:
			return nil // running
		}
	}
	cmd := exec.Command(m.bin, "-c", m.conf)
	cmd.Stdout, cmd.Stderr = m.log, m.log
	proc, err := startProcess(cmd, syscall.SIGKILL)
	if err != nil {
		return err
	}
	m.proc = proc
	if err := waitPort(m.Addr(), proc.exited, startTimeout); err != nil {
		proc.stop(syscall.SIGKILL, 0)
		return err
	}
	return nil
}

func (m *Mosquitto) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil {
		m.proc.stop(syscall.SIGTERM, 10*time.Second)
	}
}
