package cli

import (
	"cmp"
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
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/grpclog"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/store/disk"
	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
	"github.com/danube-console/danube-console/internal/config"
	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
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

// ConsoleConfig is what the console opens on, and with what.
type ConsoleConfig struct {
	Conn ConnConfig
	// Remote is true when --service-url was given: the console works on that cluster, whose admin API is at
	// AdminURL (derived from the service URL when empty). Otherwise it starts an embedded broker.
	Remote   bool
	AdminURL string
	// The embedded broker: its data directory (unless Ephemeral), ports (free ones when taken), and whether
	// it runs the demo pipeline.
	DataDir   string
	Ephemeral bool
	Port      int
	AdminPort int
	NoDemo    bool
	// ConfigPath is a connector configuration file run instead of the demo pipeline.
	ConfigPath string
	// LogFile and AuditLog default to files in the data directory, or in $TMPDIR/danube-console-UID.
	LogFile  string
	LogLevel slog.Level
	AuditLog string
	Theme    *themes.Theme
	ReadOnly bool
	// RingSize is how many messages each consumer stream keeps.
	RingSize int
	// MetricsURLs are the brokers' Prometheus endpoints the console scrapes (--metrics-url, once per broker);
	// the embedded broker's own endpoint is added to them. MetricsInterval is how often each is scraped.
	MetricsURLs     []string
	MetricsInterval time.Duration
	// PrometheusURL is a Prometheus server scraping the cluster's brokers (--prometheus-url; "" for none),
	// polled every PrometheusInterval: the charts' history before the console started, and the cluster's
	// figures when no metrics endpoint is scraped.
	PrometheusURL      string
	PrometheusInterval time.Duration
	// Cluster is the configured cluster asked for by name (--cluster); ClustersFile the console's config file
	// of named clusters (--console-config; default in $XDG_CONFIG_HOME). See resolveCluster for which cluster
	// the console opens on.
	Cluster      string
	ClustersFile string

	target   clusterTarget     // the cluster the console opens on
	clusters *config.File      // the configured clusters
	state    *config.StateFile // the remembered theme and cluster (nil when it has no place)
	warnings []string          // logged once the log is open
	newTheme string            // --theme, remembered once the console runs
}

// ParseConsole parses the flags of the console (danube-console without a command) and checks them; the
// theme is loaded here. The help goes to stderr.
func ParseConsole(args []string, stderr io.Writer) (ConsoleConfig, error) {
	var cfg ConsoleConfig
	var logLevel, theme string
	fs := newFlagSet("danube-console", stderr, []string{
		"Usage: danube-console [flags]            the console (embedded broker and demo unless --service-url or --cluster)",
		"       danube-console <command> [flags]  a headless command (danube-console help lists them)",
	}, "Flags:")
	cfg.Conn.register(fs)
	fs.StringVar(&cfg.AdminURL, "admin-url", "", "admin API URL of the --service-url cluster (default: its host, port 50051)")
	fs.StringVar(&cfg.DataDir, "data-dir", "./danube-data", "embedded broker: where reliable messages and the demo's files are stored")
	fs.BoolVar(&cfg.Ephemeral, "ephemeral", false, "embedded broker: keep messages in memory (the log and the demo's files go to $TMPDIR/danube-console-UID)")
	fs.IntVar(&cfg.Port, "port", defaultClientPort, "embedded broker: client port (a free one when it is taken)")
	fs.IntVar(&cfg.AdminPort, "admin-port", defaultAdminPort, "embedded broker: admin port (a free one when it is taken)")
	fs.StringVarP(&cfg.ConfigPath, "config", "f", "", "connector configuration file to run instead of the demo pipeline")
	fs.BoolVar(&cfg.NoDemo, "no-demo", false, "embedded broker: start no demo pipeline")
	fs.StringVar(&cfg.LogFile, "log-file", "", "write logs to this file (default: danube-console.log in --data-dir, or in $TMPDIR/danube-console-UID with --ephemeral or --service-url)")
	fs.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&theme, "theme", themes.DefaultName, "colour theme: a built-in name ("+strings.Join(themes.Names(), ", ")+") or a theme file (.toml)")
	fs.BoolVar(&cfg.ReadOnly, "read-only", false, "disable every action that changes state (connectors, taps, acks, nacks, replays, produce)")
	fs.StringVar(&cfg.AuditLog, "audit-log", "", "append every manual ack and nack to this file (default: audit.log next to the log file)")
	fs.StringArrayVar(&cfg.MetricsURLs, "metrics-url", nil, "a broker's Prometheus endpoint to scrape (host:port or URL; once per broker)")
	fs.DurationVar(&cfg.MetricsInterval, "metrics-interval", monitor.DefaultMetricsInterval, "how often each metrics endpoint is scraped (at least 100ms)")
	fs.StringVar(&cfg.PrometheusURL, "prometheus-url", "", "a Prometheus server scraping the brokers (http://host:9090): history for the charts, and the figures without --metrics-url")
	fs.DurationVar(&cfg.PrometheusInterval, "prometheus-interval", monitor.DefaultPrometheusInterval, "how often the Prometheus server is asked (at least 1s)")
	fs.IntVar(&cfg.RingSize, "ring-size", 20000, "messages kept per consumer stream for inspection, filtering and replay (100-200000)")
	registerClusterFlags(fs, &cfg)
	if err := parseFlags(fs, args, &cfg.Conn); err != nil {
		return cfg, err
	}
	if err := cfg.resolveCluster(fs, os.Getenv); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, usagef("unexpected argument %q (commands come first: danube-console help)", fs.Arg(0))
	case cfg.LogLevel.UnmarshalText([]byte(logLevel)) != nil:
		return cfg, usagef("--log-level %q: use debug, info, warn or error", logLevel)
	case cfg.Remote && (fs.Changed("data-dir") || cfg.Ephemeral || cfg.NoDemo || fs.Changed("port") || fs.Changed("admin-port")):
		return cfg, usagef("--data-dir, --ephemeral, --no-demo, --port and --admin-port are for the embedded broker; drop them, or --service-url and --cluster")
	case !cfg.Remote && fs.Changed("admin-url"):
		return cfg, usagef("--admin-url goes with --service-url")
	case cfg.MetricsInterval < 100*time.Millisecond:
		return cfg, usagef("--metrics-interval %v: use at least 100ms", cfg.MetricsInterval)
	case cfg.PrometheusURL != "" && !isHTTPURL(cfg.PrometheusURL):
		return cfg, usagef("--prometheus-url %q: use the server's http:// or https:// URL (e.g. http://prometheus:9090)", cfg.PrometheusURL)
	case cfg.PrometheusInterval < time.Second:
		return cfg, usagef("--prometheus-interval %v: use at least 1s", cfg.PrometheusInterval)
	case cfg.RingSize < 100 || cfg.RingSize > 200000:
		return cfg, usagef("--ring-size %d: use 100 to 200000", cfg.RingSize)
	}
	var err error
	if cfg.Theme, err = themes.Select(cfg.themeName(fs, theme), os.Getenv); err != nil {
		return cfg, usagef("--theme: %w", err)
	}
	if cfg.Remote && cfg.AdminURL == "" {
		cfg.AdminURL = deriveAdminURL(cfg.Conn.ServiceURL)
	}
	return cfg, nil
}

// isHTTPURL reports whether s is an http or https URL with a host.
func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// RunConsole opens the console until the user quits it or ctx is cancelled: on the cluster of
// Conn.ServiceURL when Remote, or else on an embedded broker with the demo pipeline (or ConfigPath's
// connectors). Its logs go to a file; the terminal belongs to the console.
func RunConsole(ctx context.Context, cfg ConsoleConfig, s Streams) error {
	env := connectors.DefaultEnv()
	var cfgs []connectors.InstanceConfig
	if cfg.ConfigPath != "" {
		var err error
		if cfgs, err = loadConnectors(cfg.ConfigPath, env); err != nil {
			return err
		}
	}
	files, err := openConsoleFiles(&cfg)
	if err != nil {
		return err
	}
	defer files.close()
	log := files.log
	serviceURL, adminURL := cfg.Conn.ServiceURL, cfg.AdminURL
	metricsURLs := slices.Clone(cfg.MetricsURLs)
	if !cfg.Remote {
		srv, stop, err := startEmbedded(&cfg, log)
		if err != nil {
			return err
		}
		defer stop()
		serviceURL, adminURL = srv.URL(), srv.AdminURL()
		if a := srv.MetricsAddr(); a != "" {
			metricsURLs = append(metricsURLs, a)
		}
		if cfg.ConfigPath == "" && !cfg.NoDemo {
			if cfgs, err = demoPipeline(env, files.dir, log); err != nil {
				return err
			}
		}
	}
	readOnly := cfg.ReadOnly || cfg.target.ReadOnly
	mon := monitor.New(monitorOptions(&cfg, &cfg.target, files, serviceURL, adminURL, metricsURLs,
		cmp.Or(cfg.PrometheusURL, cfg.target.PrometheusURL)))
	defer mon.Close()
	c, admin, err := connectConsole(ctx, &cfg.target, serviceURL, adminURL, mon, log)
	if err != nil {
		return err
	}
	defer c.Close()
	if admin != nil {
		defer admin.Close()
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
	for _, ic := range cfgs {
		if err := rt.Add(ic); err != nil {
			return err
		}
	}
	mon.Attach(c, admin, rt)
	if !readOnly {
		if err := rt.StartAutostart(); err != nil {
			return err
		}
	}
	log.Info("console started", "cluster", cfg.target.Name, "service_url", serviceURL, "admin_url", adminURL, "embedded", !cfg.Remote, "connectors", len(cfgs))
	err = runTUI(ctx, &cfg, files, mon, func(t *clusterTarget) monitor.Options {
		return monitorOptions(&cfg, t, files, t.Conn.ServiceURL, t.AdminURL, t.MetricsURLs, t.PrometheusURL)
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// monitorOptions are the options of the monitor of cluster t, as the console connects to it (serviceURL,
// adminURL), scraping metricsURLs and asking the Prometheus server prometheus (""), with the console's flags
// and files. A remote cluster with neither is scraped at the endpoints ListBrokers gives; with a Prometheus
// server and no metrics URL, the server's answers are the cluster's figures (the brokers are not scraped twice).
func monitorOptions(cfg *ConsoleConfig, t *clusterTarget, files *consoleFiles, serviceURL, adminURL string,
	metricsURLs []string, prometheus string) monitor.Options {
	embedded := !cfg.Remote && t == &cfg.target
	return monitor.Options{ServiceURL: serviceURL, AdminURL: adminURL, Embedded: embedded, ReadOnly: cfg.ReadOnly || t.ReadOnly,
		Logger: files.log, AuditLog: files.audit, RingSize: cfg.RingSize, MaxRingBytes: 64 << 20,
		MetricsURLs: metricsURLs, MetricsInterval: cfg.MetricsInterval, DiscoverMetrics: !embedded && len(metricsURLs) == 0 && prometheus == "",
		Identity: consoleIdentity(t.Conn), PrometheusURL: prometheus, PrometheusInterval: cfg.PrometheusInterval}
}

// consoleFiles are the files the console writes: its log and the audit log of manual acks and nacks.
type consoleFiles struct {
	dir     string // the data directory, or danube-console in the temporary directory
	logPath string
	logf    *os.File
	audit   *os.File
	log     *slog.Logger
}

// openConsoleFiles opens the log and the audit log. The data directory holds them and the demo's output;
// without one (--ephemeral, or a remote cluster) they go to danube-console-UID in the temporary directory,
// kept after the console exits so that the log and the audit trail can be read. gRPC's and the standard
// logger's messages go to the log file too.
func openConsoleFiles(cfg *ConsoleConfig) (*consoleFiles, error) {
	f := &consoleFiles{dir: cfg.DataDir}
	if cfg.Ephemeral || cfg.Remote {
		f.dir = filepath.Join(os.TempDir(), "danube-console-"+strconv.Itoa(os.Getuid()))
	}
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", f.dir, err)
	}
	f.logPath = cfg.LogFile
	if f.logPath == "" {
		f.logPath = filepath.Join(f.dir, "danube-console.log")
	}
	var err error
	if f.logf, err = os.OpenFile(f.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return nil, fmt.Errorf("--log-file: %w", err)
	}
	auditPath := cfg.AuditLog
	if auditPath == "" {
		auditPath = filepath.Join(filepath.Dir(f.logPath), "audit.log")
	}
	if f.audit, err = os.OpenFile(auditPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		f.logf.Close()
		return nil, fmt.Errorf("--audit-log: %w", err)
	}
	f.log = slog.New(slog.NewTextHandler(f.logf, &slog.HandlerOptions{Level: cfg.LogLevel}))
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, f.logf, f.logf))
	stdlog.SetOutput(f.logf)
	return f, nil
}

func (f *consoleFiles) close() {
	f.audit.Close()
	f.logf.Close()
}

// historyFile is where the console's command line keeps its history: in the user's configuration
// directory, or else next to the log.
func historyFile(logPath string) string {
	if dir, err := os.UserConfigDir(); err == nil {
		return filepath.Join(dir, "danube-console", "history")
	}
	return filepath.Join(filepath.Dir(logPath), "history")
}

// connectConsole connects the console's client to the cluster t, observed by mon, and its admin client; admin is nil when
// there is no admin URL or the admin API is not reachable (logged).
func connectConsole(ctx context.Context, t *clusterTarget, serviceURL, adminURL string, mon *monitor.Monitor,
	log *slog.Logger) (c *client.Client, admin *client.Admin, err error) {
	opts, err := t.options()
	if err != nil {
		return nil, nil, asUsage(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	c, err = client.Connect(cctx, serviceURL, append(opts, client.WithObserver(mon), client.WithLogger(log),
		client.WithHealthInterval(consoleHealthInterval))...)
	cancel()
	if err != nil {
		return nil, nil, err
	}
	if adminURL == "" {
		return c, nil, nil
	}
	actx, cancel := context.WithTimeout(ctx, 15*time.Second)
	admin, err = client.ConnectAdmin(actx, adminURL, opts...)
	cancel()
	if err != nil {
		log.Warn("the admin API is not reachable; topics and namespaces will not be listed", "url", adminURL, "err", err)
		return c, nil, nil
	}
	return c, admin, nil
}

// startEmbedded starts the embedded broker on Port and AdminPort, or on free ports when they are taken,
// with the on-disk store of DataDir unless Ephemeral. stop shuts it down and closes its store.
func startEmbedded(cfg *ConsoleConfig, log *slog.Logger) (srv *broker.Server, stop func(), err error) {
	var st *disk.Store
	// Its metrics are on, on a free loopback port: the console scrapes them like any broker's.
	opts := broker.Options{Host: broker.DefaultHost, Port: freeOr(cfg.Port), AdminPort: freeOr(cfg.AdminPort), Logger: log,
		MetricsAddr: net.JoinHostPort(broker.DefaultHost, "0")}
	if !cfg.Ephemeral {
		st, err = disk.Open(cfg.DataDir, disk.Options{Logger: log})
		if err != nil {
			return nil, nil, dataDirError(cfg.DataDir, err)
		}
		opts.Store = st
	}
	srv, err = broker.New(opts)
	if err == nil {
		err = srv.Start()
	}
	if err != nil {
		if st != nil {
			st.Close()
		}
		return nil, nil, fmt.Errorf("starting the embedded broker: %w", err)
	}
	log.Info("embedded broker started", "url", srv.URL(), "admin", srv.AdminURL(), "data_dir", cfg.DataDir, "ephemeral", cfg.Ephemeral)
	return srv, func() {
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
	}, nil
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

// consoleIdentity is the principal the console connects as, "type:name" as the brokers name it in their
// denials ("user:alice"), read from the claims of the token the connection flags give (--token, --token-file
// or $DANUBE_TOKEN); "" without a token, or with one that is not a JWT. The token is not verified: only the
// broker can, and it says so when it refuses it.
func consoleIdentity(c ConnConfig) string {
	token := c.Token
	switch {
	case token == "" && c.TokenFile != "":
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return ""
		}
		token = strings.TrimSpace(string(b))
	case token == "":
		token = os.Getenv(tokenEnv)
	}
	if token == "" {
		return ""
	}
	var claims struct {
		jwt.RegisteredClaims
		PrincipalType string `json:"principal_type"`
		PrincipalName string `json:"principal_name"`
	}
	if _, _, err := jwt.NewParser().ParseUnverified(strings.TrimPrefix(token, "Bearer "), &claims); err != nil {
		return ""
	}
	name := claims.PrincipalName
	if name == "" {
		name = claims.Subject
	}
	switch claims.PrincipalType {
	case "", broker.PrincipalUser:
		return broker.PrincipalUser + ":" + name
	case broker.PrincipalBrokerInternal:
		return broker.PrincipalBrokerInternal + ":" + name
	}
	return broker.PrincipalServiceAccount + ":" + name
}
