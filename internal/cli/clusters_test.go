package cli

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/brokertest"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/config"
	"github.com/danube-console/danube-console/internal/testenv"
	"github.com/danube-console/danube-console/monitor"
)

// TestMain keeps the package's tests off the user's own config and state files.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "danube-cli-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	os.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	for _, v := range []string{envAdminEndpoint, envAdminToken, envAdminTLS, envAdminCA, envAdminCert, envAdminKey, envAdminDomain} {
		os.Unsetenv(v)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const clustersFile = `default = "prod"

[[cluster]]
name = "prod"
service_url = "http://prod.example:6650"
metrics_urls = ["prod-1:9040"]
token_file = "prod.token"
read_only = true

[[cluster]]
name = "staging"
admin_url = "https://staging.example:50051"
tls_domain = "staging.internal"
`

// clusterEnv gives a test its own config and state directories, with the config file holding doc ("" for
// none); it returns the state file's path.
func clusterEnv(t *testing.T, doc string) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	if doc != "" {
		p := filepath.Join(dir, "config", "danube-console", "config.toml")
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config", "danube-console", "prod.token"), []byte("tok\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "state", "danube-console", "state.toml")
}

// TestClusterPrecedence: flags > --cluster > env > remembered > config default > embedded broker.
func TestClusterPrecedence(t *testing.T) {
	parse := func(t *testing.T, args ...string) ConsoleConfig {
		t.Helper()
		cfg, err := ParseConsole(args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	t.Run("nothing: embedded", func(t *testing.T) {
		clusterEnv(t, "")
		if cfg := parse(t); cfg.target.Name != config.Embedded || cfg.Remote {
			t.Errorf("got %q, remote %v", cfg.target.Name, cfg.Remote)
		}
	})
	t.Run("config default", func(t *testing.T) {
		clusterEnv(t, clustersFile)
		cfg := parse(t)
		if cfg.target.Name != "prod" || !cfg.Remote || cfg.Conn.ServiceURL != "http://prod.example:6650" ||
			cfg.AdminURL != "http://prod.example:50051" || !strings.HasSuffix(cfg.Conn.TokenFile, "danube-console/prod.token") ||
			!cfg.target.ReadOnly || !slices.Equal(cfg.MetricsURLs, []string{"prod-1:9040"}) {
			t.Errorf("got %+v", cfg.target)
		}
	})
	t.Run("env over default", func(t *testing.T) {
		clusterEnv(t, clustersFile)
		t.Setenv(envAdminEndpoint, "admin.example:50051")
		t.Setenv(envAdminTLS, "true")
		t.Setenv(envAdminToken, "s3cret")
		t.Setenv(envAdminCA, "/ca.pem")
		t.Setenv(envAdminDomain, "danube.internal")
		cfg := parse(t)
		want := clusterTarget{Name: config.Env, AdminURL: "https://admin.example:50051", TLSDomain: "danube.internal",
			Conn: ConnConfig{ServiceURL: "https://admin.example:6650", Token: "s3cret", TLSCA: "/ca.pem"}}
		if !equalTargets(cfg.target, want) || cfg.Conn != want.Conn {
			t.Errorf("got %+v\nwant %+v", cfg.target, want)
		}
		t.Setenv(envAdminTLS, "maybe")
		if _, err := ParseConsole(nil, io.Discard); err == nil || !strings.Contains(err.Error(), `DANUBE_ADMIN_TLS="maybe": use true or false`) {
			t.Errorf("a bad DANUBE_ADMIN_TLS: %v", err)
		}
	})
	t.Run("--cluster over env", func(t *testing.T) {
		clusterEnv(t, clustersFile)
		t.Setenv(envAdminEndpoint, "http://admin.example:50051")
		cfg := parse(t, "--cluster", "staging")
		if cfg.target.Name != "staging" || cfg.Conn.ServiceURL != "https://staging.example:6650" || cfg.target.TLSDomain != "staging.internal" {
			t.Errorf("got %+v", cfg.target)
		}
		_, err := ParseConsole([]string{"--cluster", "nope"}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), `no cluster "nope" (known: embedded, prod, staging;`) {
			t.Errorf("an unknown cluster: %v", err)
		}
	})
	t.Run("flags over --cluster", func(t *testing.T) {
		clusterEnv(t, clustersFile)
		cfg := parse(t, "--cluster", "prod", "--service-url", "http://other:7000", "--token", "t0k", "--metrics-url", "m:1")
		if cfg.target.Name != "prod" || cfg.Conn.ServiceURL != "http://other:7000" || cfg.Conn.Token != "t0k" || cfg.Conn.TokenFile != "" ||
			cfg.AdminURL != "http://prod.example:50051" || !slices.Equal(cfg.MetricsURLs, []string{"m:1"}) {
			t.Errorf("got %+v, metrics %v", cfg.target, cfg.MetricsURLs)
		}
		t.Setenv(envAdminEndpoint, "http://admin.example:50051")
		cfg = parse(t, "--service-url", "http://flagged:6650")
		if cfg.target.Name != config.Flags || cfg.AdminURL != "http://flagged:50051" {
			t.Errorf("--service-url: got %+v", cfg.target)
		}
		if cfg = parse(t, "--ephemeral"); cfg.target.Name != config.Embedded || cfg.Remote {
			t.Errorf("--ephemeral: got %+v", cfg.target)
		}
	})
	t.Run("remembered over default", func(t *testing.T) {
		state := clusterEnv(t, clustersFile)
		writeFile(t, state, "cluster = \"staging\"\ntheme = \"light\"\n")
		cfg := parse(t)
		if cfg.target.Name != "staging" || cfg.Theme.Name != "light" {
			t.Errorf("got %q, theme %s", cfg.target.Name, cfg.Theme.Name)
		}
		if cfg = parse(t, "--theme", "dracula", "--cluster", "prod"); cfg.target.Name != "prod" || cfg.Theme.Name != "dracula" {
			t.Errorf("the flags do not win: %q, theme %s", cfg.target.Name, cfg.Theme.Name)
		}
		writeFile(t, state, "cluster = \"gone\"\n")
		if cfg = parse(t); cfg.target.Name != "prod" || len(cfg.warnings) != 1 || !strings.Contains(cfg.warnings[0], `no cluster "gone"`) {
			t.Errorf("a remembered cluster that is gone: %q, warnings %q", cfg.target.Name, cfg.warnings)
		}
		writeFile(t, state, "cluster = [\n")
		if cfg = parse(t); cfg.target.Name != "prod" || len(cfg.warnings) != 1 || !strings.Contains(cfg.warnings[0], "damaged") {
			t.Errorf("a damaged state file: %q, warnings %q", cfg.target.Name, cfg.warnings)
		}
	})
	t.Run("bad config file", func(t *testing.T) {
		clusterEnv(t, "[[cluster]]\nname = \"a\"\nservice_url = \"a:6650\"\nmystery = 1\n")
		_, err := ParseConsole(nil, io.Discard)
		if err == nil || !errors.Is(err, config.ErrInvalid) || !strings.Contains(err.Error(), "config.toml:4: cluster.mystery: unknown key") {
			t.Errorf("got %v", err)
		}
		_, err = ParseConsole([]string{"--console-config", filepath.Join(t.TempDir(), "none.toml")}, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--console-config") {
			t.Errorf("a missing --console-config: %v", err)
		}
	})
}

func equalTargets(a, b clusterTarget) bool {
	return a.Name == b.Name && a.Conn == b.Conn && a.AdminURL == b.AdminURL && a.TLSDomain == b.TLSDomain &&
		slices.Equal(a.MetricsURLs, b.MetricsURLs) && a.PrometheusURL == b.PrometheusURL && a.ReadOnly == b.ReadOnly
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSwitchBetweenBrokers: the console opened on one broker switches to another by name and sees its
// topics; its own taps on the first stop; a cluster that does not answer leaves it where it was; switching
// back finds the first one; the cluster is remembered.
func TestSwitchBetweenBrokers(t *testing.T) {
	a := brokertest.Run(t, broker.Options{Host: broker.DefaultHost})
	b := brokertest.Run(t, broker.Options{Host: broker.DefaultHost})
	ctx := t.Context()
	for _, x := range []struct {
		srv   *broker.Server
		topic string
	}{{a, "/default/only-on-a"}, {b, "/default/only-on-b"}} {
		adm, err := client.ConnectAdmin(ctx, x.srv.AdminURL())
		if err != nil {
			t.Fatal(err)
		}
		if err := adm.CreateTopic(ctx, x.topic, client.TopicOptions{}); err != nil {
			t.Fatal(err)
		}
		adm.Close()
	}
	state := clusterEnv(t, "[[cluster]]\nname = \"a\"\nservice_url = \""+a.URL()+"\"\nadmin_url = \""+a.AdminURL()+"\"\n\n"+
		"[[cluster]]\nname = \"b\"\nservice_url = \""+b.URL()+"\"\nadmin_url = \""+b.AdminURL()+"\"\n\n"+
		"[[cluster]]\nname = \"down\"\nservice_url = \"http://127.0.0.1:1\"\n")
	cfg, err := ParseConsole([]string{"--cluster", "a"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	opts := func(t *clusterTarget) monitor.Options {
		return monitor.Options{ServiceURL: t.Conn.ServiceURL, AdminURL: t.AdminURL, Logger: log}
	}
	home := monitor.New(opts(&cfg.target))
	defer home.Close()
	c, admin, err := connectConsole(ctx, &cfg.target, cfg.Conn.ServiceURL, cfg.AdminURL, home, log)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer admin.Close()
	home.Attach(c, admin, nil)
	sw := newSwitcher(&cfg, &session{name: "a", mon: home}, log, opts)
	defer sw.Close()
	if got := sw.names(); !slices.Equal(got, []string{"a", "b", "down"}) {
		t.Fatalf("names %v", got)
	}
	if err := home.StartConsumer(ctx, monitor.ConsumerSpec{Name: "tap-1", Topic: "/default/only-on-a", Subscription: "console-1"}); err != nil {
		t.Fatal(err)
	}
	topics := func(be monitor.Backend) []string {
		if err := be.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, tp := range be.Snapshot().Topics {
			out = append(out, tp.Name)
		}
		return out
	}
	if got := topics(home); !slices.Contains(got, "/default/only-on-a") || slices.Contains(got, "/default/only-on-b") {
		t.Fatalf("on a: %v", got)
	}

	onB, err := sw.switchTo(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if home.Watching() || !onB.(*monitor.Monitor).Watching() {
		t.Errorf("after the switch to b: a watched %v, b watched %v; want only b", home.Watching(), onB.(*monitor.Monitor).Watching())
	}
	if got := topics(onB); !slices.Contains(got, "/default/only-on-b") || slices.Contains(got, "/default/only-on-a") {
		t.Fatalf("on b: %v", got)
	}
	if snap := onB.Snapshot(); snap.ServiceURL != b.URL() {
		t.Errorf("the backend of b is on %s", snap.ServiceURL)
	}
	testenv.Eventually(t, 10*time.Second, func() bool {
		for _, cs := range home.Snapshot().Consumers {
			if cs.Name == "tap-1" && cs.State != monitor.ConsumerClosed {
				return false
			}
		}
		return true
	}, "the tap on a did not stop when the console left a")
	if st, err := config.OpenState(state); err != nil || st.State().Cluster != "b" {
		t.Errorf("remembered %+v, %v", st.State(), err)
	}

	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	_, err = sw.switchTo(sctx, "down")
	cancel()
	if err == nil || sw.cur.name != "b" {
		t.Fatalf("a switch to a dead cluster: err %v, now on %s", err, sw.cur.name)
	}
	// It says once what failed (the URL named once) and why, and still matches the client's sentinel.
	if n := strings.Count(err.Error(), "http://127.0.0.1:1"); n != 1 || !errors.Is(err, client.ErrUnavailable) {
		t.Errorf("a switch to a dead cluster: %v (the URL named %d times)", err, n)
	}
	if _, err := sw.switchTo(ctx, "b"); err == nil || !strings.Contains(err.Error(), "already on cluster b") {
		t.Errorf("a switch to the current cluster: %v", err)
	}
	back, err := sw.switchTo(ctx, "a")
	if err != nil || back != monitor.Backend(home) {
		t.Fatalf("back to a: %v", err)
	}
	if !home.Watching() {
		t.Error("back on a, its monitor does not watch it")
	}
	if got := topics(back); !slices.Contains(got, "/default/only-on-a") {
		t.Fatalf("back on a: %v", got)
	}
}

// TestRememberThemeAndCluster: --theme and the cluster are written to the state file the next run reads;
// the env and flags clusters, which cannot be opened by name, are forgotten.
func TestRememberThemeAndCluster(t *testing.T) {
	state := clusterEnv(t, clustersFile)
	log := slog.New(slog.DiscardHandler)
	cfg, err := ParseConsole([]string{"--theme", "dracula", "--cluster", "staging"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.remember(log, cfg.newTheme, "")
	cfg.remember(log, "", cfg.target.Name)
	next, err := ParseConsole(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if next.Theme.Name != "dracula" || next.target.Name != "staging" {
		t.Fatalf("the next run: theme %s, cluster %s", next.Theme.Name, next.target.Name)
	}
	next.remember(log, "", config.Env)
	if st, err := config.OpenState(state); err != nil || st.State() != (config.State{Theme: "dracula"}) {
		t.Fatalf("after env: %+v, %v", st.State(), err)
	}
	if cfg, err := ParseConsole(nil, io.Discard); err != nil || cfg.target.Name != "prod" {
		t.Fatalf("without a remembered cluster: %q, %v", cfg.target.Name, err)
	}
}
