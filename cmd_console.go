package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	"google.golang.org/grpc/grpclog"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/store/disk"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
	"github.com/danube-console/danube-console/tui"
)

// Demo pipeline defaults.
const (
	demoOrdersTopic   = "/default/orders"
	demoWebhookTopic  = "/default/webhooks"
	demoWebhookPort   = 8088
	defaultAdminPort  = 50051
	defaultClientPort = 6650
)

// consoleHealthInterval is how often the console's producers and consumers check their health: often
// enough that the health pane is alive as soon as the console opens.
const consoleHealthInterval = time.Second

// consoleFlags are the flags of the console (danube-console without a subcommand).
type consoleFlags struct {
	conn       clientFlags
	adminURL   string
	dataDir    string
	ephemeral  bool
	port       int
	adminPort  int
	configPath string
	noDemo     bool
	logFile    string
	logLevel   string
	theme      string
	readOnly   bool
	auditLog   string
	ringSize   int
}

func (f *consoleFlags) register(fs *pflag.FlagSet) {
	f.conn.register(fs)
	fs.StringVar(&f.adminURL, "admin-url", "", "admin API URL of the --service-url cluster (default: its host, port 50051)")
	fs.StringVar(&f.dataDir, "data-dir", "./danube-data", "embedded broker: where reliable messages and the demo's files are stored")
	fs.BoolVar(&f.ephemeral, "ephemeral", false, "embedded broker: keep messages in memory (the log and the demo's files go to $TMPDIR/danube-console-UID)")
	fs.IntVar(&f.port, "port", defaultClientPort, "embedded broker: client port (a free one when it is taken)")
	fs.IntVar(&f.adminPort, "admin-port", defaultAdminPort, "embedded broker: admin port (a free one when it is taken)")
	fs.StringVarP(&f.configPath, "config", "f", "", "connector configuration file to run instead of the demo pipeline")
	fs.BoolVar(&f.noDemo, "no-demo", false, "embedded broker: start no demo pipeline")
	fs.StringVar(&f.logFile, "log-file", "", "write logs to this file (default: danube-console.log in --data-dir, or in $TMPDIR/danube-console-UID with --ephemeral or --service-url)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&f.theme, "theme", themes.DefaultName, "colour theme: a built-in name ("+themeNames()+") or a theme file (.toml)")
	fs.BoolVar(&f.readOnly, "read-only", false, "disable every action that changes state (connectors, taps, acks, nacks, replays, produce)")
	fs.StringVar(&f.auditLog, "audit-log", "", "append every manual ack and nack to this file (default: audit.log next to the log file)")
	fs.IntVar(&f.ringSize, "ring-size", 20000, "messages kept per consumer stream for inspection, filtering and replay (100-200000)")
}

func themeNames() string {
	var s string
	for i, n := range themes.Names() {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}

// runConsole opens the console: on the --service-url cluster, or on an embedded broker with the demo
// pipeline (or --config's connectors).
func runConsole(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const name = "console"
	var f consoleFlags
	fs := pflag.NewFlagSet("danube-console", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: danube-console [flags]            the console (embedded broker and demo unless --service-url)")
		fmt.Fprintln(stderr, "       danube-console <command> [flags]  a headless command (danube-console help lists them)")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Flags:")
		fs.PrintDefaults()
	}
	if ok, code := parseFlags(fs, args, stderr, name, &f.conn); !ok {
		return code
	}
	remote := fs.Changed("service-url")
	var level slog.Level
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, name, "unexpected argument %q (commands come first: danube-console help)", fs.Arg(0))
	case level.UnmarshalText([]byte(f.logLevel)) != nil:
		return usageError(stderr, name, "--log-level %q: use debug, info, warn or error", f.logLevel)
	case remote && (fs.Changed("data-dir") || f.ephemeral || f.noDemo || fs.Changed("port") || fs.Changed("admin-port")):
		return usageError(stderr, name, "--data-dir, --ephemeral, --no-demo, --port and --admin-port are for the embedded broker; drop them or --service-url")
	case !remote && fs.Changed("admin-url"):
		return usageError(stderr, name, "--admin-url goes with --service-url")
	case f.ringSize < 100 || f.ringSize > 200000:
		return usageError(stderr, name, "--ring-size %d: use 100 to 200000", f.ringSize)
	}
	theme, err := themes.Select(f.theme, os.Getenv)
	if err != nil {
		return usageError(stderr, name, "--theme: %s", oneLine(err))
	}
	env := connectors.DefaultEnv()
	var cfgs []connectors.InstanceConfig
	if f.configPath != "" {
		if cfgs, err = connectors.LoadConfig(f.configPath, env); err != nil {
			var ce *connectors.ConfigErrors
			if errors.As(err, &ce) {
				fmt.Fprintf(stderr, "danube-console: %s has %d problem(s):\n", f.configPath, len(ce.Problems))
				for _, p := range ce.Problems {
					fmt.Fprintf(stderr, "  %s\n", p)
				}
				return 2
			}
			return fail(stderr, name, err)
		}
	}

	// Files: the data directory holds the log, the audit log and the demo's output; without one (--ephemeral,
	// or a remote cluster) they go to danube-console in the temporary directory, kept after the console
	// exits so that the log and the audit trail can be read.
	dir := f.dataDir
	if f.ephemeral || remote {
		dir = filepath.Join(os.TempDir(), "danube-console-"+strconv.Itoa(os.Getuid()))
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(stderr, name, fmt.Errorf("creating %s: %w", dir, err))
	}
	logPath := f.logFile
	if logPath == "" {
		logPath = filepath.Join(dir, "danube-console.log")
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fail(stderr, name, fmt.Errorf("--log-file: %w", err))
	}
	defer logf.Close()
	auditPath := f.auditLog
	if auditPath == "" {
		auditPath = filepath.Join(filepath.Dir(logPath), "audit.log")
	}
	audit, err := os.OpenFile(auditPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fail(stderr, name, fmt.Errorf("--audit-log: %w", err))
	}
	defer audit.Close()
	log := slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: level}))
	// The terminal belongs to the console: gRPC's and the standard logger's messages go to the log file too.
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, logf, logf))
	stdlog.SetOutput(logf)

	serviceURL, adminURL := f.conn.serviceURL, f.adminURL
	if remote && adminURL == "" {
		adminURL = deriveAdminURL(serviceURL)
	}
	if !remote {
		srv, st, err := startEmbedded(&f, log)
		if err != nil {
			return fail(stderr, name, err)
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				log.Error("broker shutdown", "err", err)
			}
			if st != nil {
				if err := st.Close(); err != nil {
					log.Error("closing the store", "err", err)
				}
			}
		}()
		serviceURL, adminURL = srv.URL(), srv.AdminURL()
		if f.configPath == "" && !f.noDemo {
			if cfgs, err = demoPipeline(env, dir, log); err != nil {
				return fail(stderr, name, err)
			}
		}
	}

	mon := monitor.New(monitor.Options{ServiceURL: serviceURL, AdminURL: adminURL, Embedded: !remote, ReadOnly: f.readOnly,
		Logger: log, AuditLog: audit, RingSize: f.ringSize, MaxRingBytes: 64 << 20})
	defer mon.Close()
	opts, err := f.conn.options()
	if err != nil {
		return usageError(stderr, name, "%s", oneLine(err))
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	c, err := client.Connect(cctx, serviceURL, append(opts, client.WithObserver(mon), client.WithLogger(log), client.WithHealthInterval(consoleHealthInterval))...)
	cancel()
	if err != nil {
		return fail(stderr, name, err)
	}
	defer c.Close()
	var admin *client.Admin
	if adminURL != "" {
		actx, cancel := context.WithTimeout(ctx, 15*time.Second)
		admin, err = client.ConnectAdmin(actx, adminURL, opts...)
		cancel()
		if err != nil {
			log.Warn("the admin API is not reachable; topics and namespaces will not be listed", "url", adminURL, "err", err)
			admin = nil
		} else {
			defer admin.Close()
		}
	}
	rt := connectors.NewRuntime(c, env, connectors.RuntimeOptions{Logger: log})
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := rt.Close(dctx); err != nil {
			log.Error("stopping the connectors", "err", err)
		}
	}()
	// The monitor's own consumers and producers (taps, replays) close before the runtime drains and before
	// the client closes (Close is idempotent; the earlier defer covers the returns above).
	defer mon.Close()
	for _, cfg := range cfgs {
		if err := rt.Add(cfg); err != nil {
			return fail(stderr, name, err)
		}
	}
	mon.Attach(c, admin, rt)
	if !f.readOnly {
		if err := rt.StartAutostart(); err != nil {
			return fail(stderr, name, err)
		}
	}
	log.Info("console started", "service_url", serviceURL, "admin_url", adminURL, "embedded", !remote, "connectors", len(cfgs))
	history := filepath.Join(filepath.Dir(logPath), "history")
	if cfg, err := os.UserConfigDir(); err == nil {
		history = filepath.Join(cfg, "danube-console", "history")
	}
	if err := tui.Run(ctx, mon, tui.Options{Theme: theme, ReadOnly: f.readOnly, HistoryFile: history}); err != nil && !errors.Is(err, context.Canceled) {
		return fail(stderr, name, err)
	}
	return 0
}

// startEmbedded starts the embedded broker on --port and --admin-port, or on free ports when they are taken,
// with the on-disk store of --data-dir unless --ephemeral.
func startEmbedded(f *consoleFlags, log *slog.Logger) (*broker.Server, *disk.Store, error) {
	var st *disk.Store
	opts := broker.Options{Host: broker.DefaultHost, Port: freeOr(f.port), AdminPort: freeOr(f.adminPort), Logger: log}
	if !f.ephemeral {
		var err error
		st, err = disk.Open(f.dataDir, disk.Options{Logger: log})
		if err != nil {
			return nil, nil, dataDirError(f.dataDir, err)
		}
		opts.Store = st
	}
	srv, err := broker.New(opts)
	if err == nil {
		err = srv.Start()
	}
	if err != nil {
		if st != nil {
			st.Close()
		}
		return nil, nil, fmt.Errorf("starting the embedded broker: %w", err)
	}
	log.Info("embedded broker started", "url", srv.URL(), "admin", srv.AdminURL(), "data_dir", f.dataDir, "ephemeral", f.ephemeral)
	return srv, st, nil
}

// freeOr returns port when it can be listened on at 127.0.0.1, else 0 (a free port is picked).
func freeOr(port int) int {
	if port <= 0 {
		return port
	}
	l, err := net.Listen("tcp", net.JoinHostPort(broker.DefaultHost, strconv.Itoa(port)))
	if err != nil {
		return 0
	}
	l.Close()
	return port
}

// freePort returns port when it is free on 127.0.0.1, else a free one.
func freePort(port int) (int, error) {
	if p := freeOr(port); p != 0 {
		return p, nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(broker.DefaultHost, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// deriveAdminURL is the admin URL of a cluster: the service URL's host on the default admin port.
func deriveAdminURL(serviceURL string) string {
	u, err := url.Parse(serviceURL)
	if err != nil || u.Host == "" {
		if host, _, err := net.SplitHostPort(serviceURL); err == nil {
			return "http://" + net.JoinHostPort(host, strconv.Itoa(defaultAdminPort))
		}
		return ""
	}
	scheme := u.Scheme
	if scheme == "" {
		scheme = "http"
	}
	return scheme + "://" + net.JoinHostPort(u.Hostname(), strconv.Itoa(defaultAdminPort))
}

// demoPipeline is the demo the console runs on its embedded broker: a keyed generator into the reliable
// /default/orders, a jsonl sink reading it into dir/orders.jsonl, and a webhook source on a loopback port
// into /default/webhooks.
func demoPipeline(env *connectors.Env, dir string, log *slog.Logger) ([]connectors.InstanceConfig, error) {
	port, err := freePort(demoWebhookPort)
	if err != nil {
		return nil, err
	}
	tables := []map[string]any{
		{"name": "orders-archive", "kind": "jsonl", "topic": demoOrdersTopic, "create_topic": "reliable",
			"path": filepath.Join(dir, "orders.jsonl"), "rotate_bytes": int64(64 << 20), "keep_files": int64(3)},
		{"name": "orders-generator", "kind": "generator", "topic": demoOrdersTopic, "reliable": true,
			"rate": 20.0, "key_cardinality": int64(8), "key_prefix": "customer-",
			"template":   `{"order_id":"{{uuid}}","seq":{{seq}},"at":"{{time}}","qty":{{random_int 1 20}},"price":{{random_float}},"status":"{{choice "new" "paid" "shipped" "cancelled"}}"}`,
			"attributes": map[string]string{"source": "demo"}},
		{"name": "webhooks-in", "kind": "webhook", "topic": demoWebhookTopic, "reliable": true,
			"listen": net.JoinHostPort(broker.DefaultHost, strconv.Itoa(port)),
			"routes": map[string]string{"/webhooks": demoWebhookTopic}},
	}
	out := make([]connectors.InstanceConfig, 0, len(tables))
	for _, t := range tables {
		cfg, err := env.ParseInstance(t, nil)
		if err != nil {
			return nil, fmt.Errorf("the demo pipeline: %w", err)
		}
		out = append(out, cfg)
	}
	log.Info("demo pipeline", "orders_file", filepath.Join(dir, "orders.jsonl"),
		"webhook", "http://"+net.JoinHostPort(broker.DefaultHost, strconv.Itoa(port))+"/webhooks")
	return out, nil
}
