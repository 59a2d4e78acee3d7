package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// postgresDirs are where Debian installs the PostgreSQL server binaries (not on PATH).
var postgresDirs = []string{"/usr/lib/postgresql/*/bin", "/usr/local/pgsql/bin"}

// Postgres is a PostgreSQL server started for a test. It is safe for use by several goroutines.
type Postgres struct {
	bin     string // directory of initdb and postgres
	dir     string // the temporary directory: data/ and the unix socket
	port    int
	cred    *syscall.Credential // the user the server runs as (nil: the current user)
	log     *SyncBuffer
	mu      sync.Mutex
	proc    *process
	dbCount int
}

// StartPostgres starts a PostgreSQL server for the test and returns the connection string of an empty
// database "test" on it, as user postgres without a password, e.g.
// "postgres://postgres@127.0.0.1:54321/test?sslmode=disable". The server is stopped and its files removed
// when the test ends. See NewPostgres for the details.
func StartPostgres(t testing.TB) (connString string) {
	t.Helper()
	return NewPostgres(t).ConnString()
}

// NewPostgres initialises a cluster in a new temporary directory (initdb --no-sync, trust authentication,
// UTF8, no locale), starts postgres on a free port of 127.0.0.1 with its unix socket in that directory and
// durability off (fsync, synchronous_commit, full_page_writes), waits until it accepts connections, and
// creates the database "test". t.Cleanup stops it with a fast shutdown and removes the directory.
//
// PostgreSQL refuses to run as root: when the test runs as root the server runs as the "postgres" system
// user (created by the Debian package; when it is missing, a system user "danube-pg" is created with
// useradd). The binaries are looked up on PATH and in /usr/lib/postgresql/*/bin (newest version first); when
// they are missing the test fails with a message saying to run `make deps`.
func NewPostgres(t testing.TB) *Postgres {
	t.Helper()
	initdb, ok := findBinary("initdb", postgresDirs...)
	if !ok {
		t.Fatal("testenv: PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin): run `make deps`")
	}
	bin := filepath.Dir(initdb)
	if _, err := os.Stat(filepath.Join(bin, "postgres")); err != nil {
		t.Fatalf("testenv: PostgreSQL server binary missing next to %s: run `make deps`", initdb)
	}
	cred, err := serverCredential("postgres", "danube-pg")
	if err != nil {
		t.Fatalf("testenv: postgres: %v", err)
	}
	// A short path of our own (not t.TempDir: its parent is private to root, and the unix socket path must
	// stay under 108 bytes).
	dir, err := os.MkdirTemp("", "testenv-pg-")
	if err != nil {
		t.Fatalf("testenv: postgres: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			t.Fatalf("testenv: postgres: %v", err)
		}
	}
	p := &Postgres{bin: bin, dir: dir, cred: cred, log: &SyncBuffer{}}

	out, err := p.command(initdb, "-D", p.dataDir(), "-U", "postgres", "--auth=trust", "--no-sync",
		"-E", "UTF8", "--no-locale", "--no-instructions").CombinedOutput()
	if err != nil {
		t.Fatalf("testenv: initdb failed: %v\n%s", err, tail(string(out), 20))
	}

	if _, err := onFreePort(func(port int) error { p.port = port; return p.start() }); err != nil {
		t.Fatalf("testenv: postgres did not start: %v\n%s", err, tail(p.log.String(), 20))
	}
	t.Cleanup(p.stop)
	if err := p.exec(context.Background(), "postgres", "CREATE DATABASE test"); err != nil {
		t.Fatalf("testenv: postgres: %v", err)
	}
	return p
}

// ConnString returns the connection string of the database "test".
func (p *Postgres) ConnString() string { return p.connString("test") }

// Port returns the TCP port the server listens on (127.0.0.1; it stays the same across Stop and Start).
func (p *Postgres) Port() int { return p.port }

// NewDatabase creates a new empty database on the server and returns its connection string, so that tests
// sharing one server do not see each other's tables.
func (p *Postgres) NewDatabase(t testing.TB) (connString string) {
	t.Helper()
	p.mu.Lock()
	p.dbCount++
	name := fmt.Sprintf("test_%d", p.dbCount)
	p.mu.Unlock()
	if err := p.exec(context.Background(), "postgres", "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testenv: postgres: %v", err)
	}
	return p.connString(name)
}

// Stop shuts the server down (fast: open sessions are terminated) and waits until it exited; connections
// to it fail until Start. Stopping a stopped server does nothing.
func (p *Postgres) Stop(t testing.TB) {
	t.Helper()
	p.stop()
}

// Start starts a stopped server again on the same port and data, and waits until it accepts connections.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	if err := p.start(); err != nil {
		t.Fatalf("testenv: postgres did not restart: %v\n%s", err, tail(p.log.String(), 20))
	}
}

func (p *Postgres) dataDir() string { return filepath.Join(p.dir, "data") }

func (p *Postgres) connString(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}

// command builds a command that runs as the server's user, in the temporary directory, without PG*
// variables from the test's environment.
func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = p.dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd
}

// start runs postgres and waits until it accepts connections.
func (p *Postgres) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc != nil {
		select {
		case <-p.proc.exited:
		default:
			return nil // running
		}
	}
	cmd := p.command(filepath.Join(p.bin, "postgres"),
		"-D", p.dataDir(), "-p", strconv.Itoa(p.port), "-k", p.dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "shared_buffers=16MB", "-c", "max_connections=50", "-c", "autovacuum=off",
		"-c", "log_min_messages=warning", "-c", "log_min_error_statement=panic")
	cmd.Stdout, cmd.Stderr = p.log, p.log
	// SIGQUIT is postgres' immediate shutdown: the server does not outlive a crashed test binary.
	proc, err := startProcess(cmd, syscall.SIGQUIT)
	if err != nil {
		return err
	}
	p.proc = proc
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, p.connString("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-proc.exited:
			return fmt.Errorf("postgres exited: %v", proc.err)
		default:
		}
		if time.Now().After(deadline) {
			proc.stop(syscall.SIGQUIT, 5*time.Second)
			return fmt.Errorf("postgres does not accept connections after %v: %w", startTimeout, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// stop shuts postgres down with SIGINT, which is what `pg_ctl stop -m fast` sends, and waits for it.
func (p *Postgres) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.proc != nil {
		p.proc.stop(syscall.SIGINT, 20*time.Second)
	}
}

// exec runs one statement on database db as postgres.
func (p *Postgres) exec(ctx context.Context, db, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.connString(db))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

var userMu sync.Mutex

// serverCredential returns the credential a server that refuses root runs with: nil when the test is not
// root, else the system user name (created as fallback with useradd when name is missing).
func serverCredential(name, fallback string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	userMu.Lock()
	defer userMu.Unlock()
	u, err := user.Lookup(name)
	if err != nil {
		if u, err = user.Lookup(fallback); err != nil {
			out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", fallback).CombinedOutput()
			if err != nil {
				return nil, fmt.Errorf("no user %q to run as (the server refuses root) and useradd %s failed: %v: %s", name, fallback, err, out)
			}
			if u, err = user.Lookup(fallback); err != nil {
				return nil, err
			}
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
