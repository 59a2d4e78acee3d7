package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func queryOne(t *testing.T, dsn string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
		return err
	}
	if n != 1 {
		t.Fatalf("SELECT 1 = %d", n)
	}
	return nil
}

func TestPostgres(t *testing.T) {
	start := time.Now()
	pg := NewPostgres(t)
	t.Logf("postgres ready in %v", time.Since(start))
	if !strings.HasPrefix(pg.ConnString(), "postgres://postgres@127.0.0.1:") || !strings.HasSuffix(pg.ConnString(), "/test?sslmode=disable") {
		t.Fatalf("conn string %q", pg.ConnString())
	}
	if err := queryOne(t, pg.ConnString()); err != nil {
		t.Fatal(err)
	}
	other := pg.NewDatabase(t)
	if other == pg.ConnString() {
		t.Fatal("NewDatabase returned the test database")
	}
	if err := queryOne(t, other); err != nil {
		t.Fatal(err)
	}

	pg.Stop(t)
	if err := queryOne(t, pg.ConnString()); err == nil {
		t.Fatal("connected to a stopped server")
	}
	pg.Start(t)
	if err := queryOne(t, pg.ConnString()); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}

func TestStartPostgresTwice(t *testing.T) {
	a, b := StartPostgres(t), StartPostgres(t)
	if a == b {
		t.Fatalf("two servers share %q", a)
	}
	for _, dsn := range []string{a, b} {
		if err := queryOne(t, dsn); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMosquitto(t *testing.T) {
	m := NewMosquitto(t, "max_packet_size 2048")
	if m.URL() != "tcp://"+m.Addr() {
		t.Fatalf("URL %q, Addr %q", m.URL(), m.Addr())
	}
	dial := func() error {
		c, err := net.DialTimeout("tcp", m.Addr(), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatal(err)
	}
	m.Stop(t)
	if err := dial(); err == nil {
		t.Fatal("dialled a stopped broker")
	}
	m.Start(t)
	if err := dial(); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if addr := StartMosquitto(t); addr == m.Addr() {
		t.Fatal("two brokers share an address")
	}
}

// fatalTB records the first Fatal message and ends the goroutine like testing.T does.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fatalTB) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }

func runFatal(t *testing.T, f func(tb testing.TB)) string {
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(tb)
	}()
	<-done
	return tb.msg
}

func TestMissingBinariesSayRunMakeDeps(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	saved := postgresDirs
	postgresDirs = []string{"/nonexistent/*/bin"}
	t.Cleanup(func() { postgresDirs = saved })
	if msg := runFatal(t, func(tb testing.TB) { NewPostgres(tb) }); !strings.Contains(msg, "run `make deps`") {
		t.Fatalf("postgres missing: %q", msg)
	}
	if _, ok := findBinary("mosquitto-does-not-exist", "/usr/sbin"); ok {
		t.Fatal("found a binary that does not exist")
	}
}

func TestFindBinaryPrefersNewestPostgres(t *testing.T) {
	paths := []string{"/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"}
	sortVersionDirsDesc(paths)
	if paths[0] != "/usr/lib/postgresql/16/bin" || paths[2] != "/usr/lib/postgresql/9.6/bin" {
		t.Fatalf("order %v", paths)
	}
}

func TestPersistentMosquittoKeepsRetainedMessages(t *testing.T) {
	m := NewPersistentMosquitto(t)
	connect := func(id string) paho.Client {
		t.Helper()
		cl := paho.NewClient(paho.NewClientOptions().AddBroker(m.URL()).SetClientID(id).SetAutoReconnect(false))
		if tok := cl.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("connect: %v", tok.Error())
		}
		return cl
	}
	pub := connect("pub")
	if tok := pub.Publish("kept", 1, true, "v"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	pub.Disconnect(50)
	m.Stop(t)
	m.Start(t)
	got := make(chan string, 1)
	sub := connect("sub")
	defer sub.Disconnect(50)
	sub.Subscribe("kept", 1, func(_ paho.Client, msg paho.Message) {
		select {
		case got <- string(msg.Payload()):
		default:
		}
	})
	select {
	case v := <-got:
		if v != "v" {
			t.Fatalf("retained %q", v)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("the retained message did not survive the restart:\n%s", m.Log())
	}
}

// TestPrometheus scrapes a small exporter and queries what it scraped.
func TestPrometheus(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "# TYPE testenv_up gauge\ntestenv_up{who=\"me\"} 42")
	})}
	go srv.Serve(lis)
	t.Cleanup(func() { srv.Close() })
	p := NewPrometheus(t, lis.Addr().String())
	var last string
	Eventually(t, 30*time.Second, func() bool {
		v, err := p.Query(context.Background(), `sum(testenv_up{who="me",job="danube"})`)
		if err != nil {
			last = err.Error()
			return false
		}
		last = v.String()
		vec, ok := v.(model.Vector)
		return ok && len(vec) == 1 && vec[0].Value == 42
	}, "query: %v", stringer(func() string { return last }))
}

type stringer func() string

func (s stringer) String() string { return s() }
