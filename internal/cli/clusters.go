package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/config"
	"github.com/danube-console/danube-console/monitor"
	"github.com/danube-console/danube-console/themes"
	"github.com/danube-console/danube-console/tui"
)

// The official admin tool's environment variables, honoured without --cluster and --service-url.
const (
	envAdminEndpoint = "DANUBE_ADMIN_ENDPOINT"
	envAdminToken    = "DANUBE_ADMIN_TOKEN"
	envAdminTLS      = "DANUBE_ADMIN_TLS"
	envAdminCA       = "DANUBE_ADMIN_CA"
	envAdminCert     = "DANUBE_ADMIN_CERT"
	envAdminKey      = "DANUBE_ADMIN_KEY"
	envAdminDomain   = "DANUBE_ADMIN_DOMAIN"
)

// clusterTarget is the cluster the console works on: its name (a configured cluster's, or config.Embedded,
// config.Env, config.Flags) and how to reach it.
type clusterTarget struct {
	Name          string
	Conn          ConnConfig // the service URL, token and TLS files
	AdminURL      string
	TLSDomain     string // the server name checked in the brokers' certificates
	MetricsURLs   []string
	PrometheusURL string
	ReadOnly      bool
}

// options are the client options of the target: its connection flags' and its TLS server name.
func (t *clusterTarget) options() ([]client.Option, error) {
	opts, err := t.Conn.options()
	if err != nil || t.TLSDomain == "" {
		return opts, err
	}
	domain := t.TLSDomain
	return append(opts, func(o *client.Options) error {
		if o.TLS == nil {
			o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		o.TLS.ServerName = domain
		return nil
	}), nil
}

// registerClusterFlags adds the flags that pick a cluster by name.
func registerClusterFlags(fs *pflag.FlagSet, cfg *ConsoleConfig) {
	fs.StringVar(&cfg.Cluster, "cluster", "", "open the cluster of this name from the console's config file (or \"embedded\"); other flags override its settings")
	fs.StringVar(&cfg.ClustersFile, "console-config", "", "the console's config file of named clusters (default $XDG_CONFIG_HOME/danube-console/config.toml)")
}

// resolveCluster picks the cluster the console opens on, by precedence: explicit flags (--service-url: the
// "flags" cluster; the embedded broker's flags: "embedded"), then --cluster NAME, then the DANUBE_ADMIN_*
// variables ("env"), then the cluster remembered from the last run, then the config file's default, then
// the embedded broker. Connection flags given explicitly override the picked cluster's settings.
func (cfg *ConsoleConfig) resolveCluster(fs *pflag.FlagSet, getenv func(string) string) error {
	if err := cfg.loadClusters(); err != nil {
		return err
	}
	t, err := cfg.pickCluster(fs, getenv)
	if err != nil {
		return err
	}
	if fs.Changed("service-url") && t.Name == config.Embedded {
		if cfg.Cluster != "" {
			return usagef("--service-url names a remote cluster: drop it or --cluster %s", config.Embedded)
		}
		t = clusterTarget{Name: config.Flags}
	}
	t.override(fs, cfg)
	if t.Name == config.Embedded {
		t.Conn = cfg.Conn
	}
	cfg.target = t
	cfg.Remote = t.Name != config.Embedded
	if cfg.Remote {
		cfg.Conn, cfg.AdminURL = t.Conn, t.AdminURL
	}
	if !fs.Changed("metrics-url") {
		cfg.MetricsURLs = slices.Clone(t.MetricsURLs)
	}
	return nil
}

// loadClusters reads the config file (a missing default file is no error) and the state file (a damaged
// one is a warning, logged when the log is open).
func (cfg *ConsoleConfig) loadClusters() error {
	path, explicit := cfg.ClustersFile, cfg.ClustersFile != ""
	if !explicit {
		if p, err := config.DefaultPath(); err == nil {
			path = p
		}
	}
	cfg.clusters = &config.File{}
	if path != "" {
		f, err := config.Load(path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !explicit:
		case err != nil:
			return fmt.Errorf("--console-config: %w", err)
		default:
			cfg.clusters = f
		}
	}
	if p, err := config.DefaultStatePath(); err != nil {
		cfg.warnings = append(cfg.warnings, "the last theme and cluster are not remembered: "+err.Error())
	} else if cfg.state, err = config.OpenState(p); err != nil {
		cfg.warnings = append(cfg.warnings, err.Error())
	}
	return nil
}

// pickCluster returns the cluster asked for by --cluster, the environment, the remembered state or the
// config file's default, else the embedded broker.
func (cfg *ConsoleConfig) pickCluster(fs *pflag.FlagSet, getenv func(string) string) (clusterTarget, error) {
	switch {
	case cfg.Cluster != "":
		t, err := cfg.namedTarget(cfg.Cluster)
		return t, asUsage(err)
	case fs.Changed("service-url"):
		return clusterTarget{Name: config.Embedded}, nil // replaced by the flags
	case slices.ContainsFunc([]string{"data-dir", "ephemeral", "no-demo", "port", "admin-port"}, fs.Changed):
		return clusterTarget{Name: config.Embedded}, nil // the embedded broker's flags ask for it
	case getenv(envAdminEndpoint) != "":
		return envTarget(getenv)
	}
	if cfg.state != nil {
		if name := cfg.state.State().Cluster; name != "" {
			t, err := cfg.namedTarget(name)
			if err == nil {
				return t, nil
			}
			cfg.warnings = append(cfg.warnings, "the remembered cluster is not used: "+err.Error())
		}
	}
	if d := cfg.clusters.Default; d != "" {
		return cfg.namedTarget(d)
	}
	return clusterTarget{Name: config.Embedded}, nil
}

// namedTarget returns the configured cluster called name, or the embedded broker for config.Embedded.
func (cfg *ConsoleConfig) namedTarget(name string) (clusterTarget, error) {
	if name == config.Embedded {
		return clusterTarget{Name: config.Embedded, Conn: cfg.Conn}, nil
	}
	c, ok := cfg.clusters.Cluster(name)
	if !ok {
		where := cfg.clusters.Path
		if where == "" {
			where = "no config file was found"
		}
		return clusterTarget{}, fmt.Errorf("no cluster %q (known: %s; %s)", name,
			strings.Join(append([]string{config.Embedded}, cfg.clusters.Names()...), ", "), where)
	}
	return clusterTarget{Name: c.Name, AdminURL: c.AdminURL, TLSDomain: c.TLSDomain, MetricsURLs: c.MetricsURLs,
		PrometheusURL: c.PrometheusURL, ReadOnly: c.ReadOnly,
		Conn: ConnConfig{ServiceURL: c.ServiceURL, TokenFile: c.TokenFile, TLSCA: c.TLSCA, TLSCert: c.TLSCert, TLSKey: c.TLSKey}}, nil
}

// envTarget is the cluster of the official admin tool's environment variables: DANUBE_ADMIN_ENDPOINT is the
// admin URL (https with DANUBE_ADMIN_TLS=true), the service URL its host on port 6650.
func envTarget(getenv func(string) string) (clusterTarget, error) {
	endpoint := getenv(envAdminEndpoint)
	tlsOn := false
	if v := getenv(envAdminTLS); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return clusterTarget{}, usagef("%s=%q: use true or false", envAdminTLS, v)
		}
		tlsOn = b
	}
	if tlsOn {
		if rest, ok := strings.CutPrefix(endpoint, "http://"); ok {
			endpoint = "https://" + rest
		} else if !strings.Contains(endpoint, "://") {
			endpoint = "https://" + endpoint
		}
	}
	svc, adm, err := config.Endpoints("", endpoint)
	if err != nil {
		return clusterTarget{}, usagef("%s: %w", envAdminEndpoint, err)
	}
	t := clusterTarget{Name: config.Env, AdminURL: adm, TLSDomain: getenv(envAdminDomain),
		Conn: ConnConfig{ServiceURL: svc, Token: getenv(envAdminToken), TLSCA: getenv(envAdminCA),
			TLSCert: getenv(envAdminCert), TLSKey: getenv(envAdminKey)}}
	if (t.Conn.TLSCert == "") != (t.Conn.TLSKey == "") {
		return clusterTarget{}, usagef("%s and %s go together (mutual TLS)", envAdminCert, envAdminKey)
	}
	return t, nil
}

// override applies the connection flags given explicitly over the cluster's settings.
func (t *clusterTarget) override(fs *pflag.FlagSet, cfg *ConsoleConfig) {
	c := &t.Conn
	for _, f := range []struct {
		name string
		dst  *string
		v    string
	}{{"service-url", &c.ServiceURL, cfg.Conn.ServiceURL}, {"token", &c.Token, cfg.Conn.Token},
		{"token-file", &c.TokenFile, cfg.Conn.TokenFile}, {"tls-ca", &c.TLSCA, cfg.Conn.TLSCA},
		{"tls-cert", &c.TLSCert, cfg.Conn.TLSCert}, {"tls-key", &c.TLSKey, cfg.Conn.TLSKey},
		{"admin-url", &t.AdminURL, cfg.AdminURL}} {
		if fs.Changed(f.name) {
			*f.dst = f.v
		}
	}
	switch {
	case fs.Changed("token"):
		c.TokenFile = ""
	case fs.Changed("token-file"):
		c.Token = ""
	}
	if fs.Changed("tls-skip-verify") {
		c.TLSSkipVerify = cfg.Conn.TLSSkipVerify
	}
	if t.Name != config.Embedded && t.AdminURL == "" {
		t.AdminURL = deriveAdminURL(c.ServiceURL)
	}
}

// themeName returns the theme to open with: --theme when given (remembered once the console runs), else the
// one remembered, else the default.
func (cfg *ConsoleConfig) themeName(fs *pflag.FlagSet, flag string) string {
	if fs.Changed("theme") {
		cfg.newTheme = flag
		if abs, err := filepath.Abs(flag); err == nil && (strings.ContainsRune(flag, filepath.Separator) || strings.HasSuffix(flag, ".toml")) {
			cfg.newTheme = abs // a theme file, found again from any directory
		}
		return flag
	}
	if cfg.state == nil || cfg.state.State().Theme == "" {
		return flag
	}
	name := cfg.state.State().Theme
	if _, err := themes.Resolve(name); err != nil {
		cfg.warnings = append(cfg.warnings, "the remembered theme is not used: "+err.Error())
		return flag
	}
	return name
}

// remember writes the theme or the cluster to the state file (logged when it cannot); a cluster that cannot
// be opened by name (env, flags) is forgotten, so the next run follows the usual precedence.
func (cfg *ConsoleConfig) remember(log *slog.Logger, theme, cluster string) {
	if cfg.state == nil {
		return
	}
	var err error
	switch {
	case theme != "":
		err = cfg.state.SetTheme(theme)
	case cluster == config.Env || cluster == config.Flags:
		err = cfg.state.SetCluster("")
	default:
		err = cfg.state.SetCluster(cluster)
	}
	if err != nil {
		log.Warn("the state file", "err", err)
	}
}

// session is the console's connection to one cluster: its monitor and clients. The home session, the one
// the console opened on, hosts the embedded broker and the connectors and lasts as long as the console;
// close releases any other.
type session struct {
	name  string
	mon   *monitor.Monitor
	close func() // nil for the home session
}

// switcher switches the console between clusters (tui.Options.SwitchCluster). Leaving the home session
// stops only the console's own taps and producers, and its polls of the cluster: the embedded broker and the
// connectors keep running (the connectors work on their cluster whatever the screen shows), and coming back
// finds them. Leaving any other session closes it.
type switcher struct {
	cfg  *ConsoleConfig
	opts func(t *clusterTarget) monitor.Options
	log  *slog.Logger
	home *session

	mu  sync.Mutex
	cur *session
}

func newSwitcher(cfg *ConsoleConfig, home *session, log *slog.Logger, opts func(t *clusterTarget) monitor.Options) *switcher {
	return &switcher{cfg: cfg, opts: opts, log: log, home: home, cur: home}
}

// names are the clusters one can switch to: the home one, then the configured ones.
func (s *switcher) names() []string {
	out := []string{s.home.name}
	for _, n := range s.cfg.clusters.Names() {
		if n != s.home.name {
			out = append(out, n)
		}
	}
	return out
}

// switchTo connects to the cluster called name and returns its monitor; the current session is left only
// once the other one is connected, so a failure leaves the console where it was.
func (s *switcher) switchTo(ctx context.Context, name string) (monitor.Backend, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == s.cur.name {
		return nil, fmt.Errorf("already on cluster %s", name)
	}
	next := s.home
	if name != s.home.name {
		if name == config.Embedded {
			return nil, errors.New("the embedded broker runs only when the console starts on it (danube-console --cluster embedded)")
		}
		t, err := s.cfg.namedTarget(name)
		if err != nil {
			return nil, err
		}
		if next, err = s.open(ctx, &t); err != nil {
			return nil, err
		}
	}
	s.leave(s.cur)
	next.mon.SetWatching(true) // the home session was set not to when it was left
	s.cur = next
	s.cfg.remember(s.log, "", name)
	s.log.Info("switched cluster", "cluster", name)
	return next.mon, nil
}

// open connects a session to the cluster t.
func (s *switcher) open(ctx context.Context, t *clusterTarget) (*session, error) {
	adminURL := t.AdminURL
	mon := monitor.New(s.opts(t))
	c, admin, err := connectConsole(ctx, t, t.Conn.ServiceURL, adminURL, mon, s.log)
	if err != nil {
		mon.Close()
		return nil, fmt.Errorf("connect: %w", err) // the client's error names the URL
	}
	ss := &session{name: t.Name, mon: mon, close: func() {
		mon.Close()
		c.Close()
		if admin != nil {
			admin.Close()
		}
	}}
	// The client connects lazily: a cluster that does not answer is not switched to.
	pctx, cancel := context.WithTimeout(ctx, switchPingTimeout)
	_, err = c.Ping(pctx)
	cancel()
	if err != nil {
		ss.close()
		return nil, err // "ping URL: danube: broker unavailable: …": it names the URL and says why
	}
	mon.Attach(c, admin, nil)
	return ss, nil
}

// switchPingTimeout bounds the wait for the answer of a cluster being switched to.
const switchPingTimeout = 10 * time.Second

// leave closes a session, or for the home session stops the console's own taps and producers and its polls
// of the cluster (nobody looks at them until the console comes back).
func (s *switcher) leave(ss *session) {
	if ss.close != nil {
		ss.close()
		return
	}
	ss.mon.SetWatching(false)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	snap := ss.mon.Snapshot()
	for _, c := range snap.Consumers {
		if c.AdHoc && c.State != monitor.ConsumerClosed {
			if err := ss.mon.StopConsumer(ctx, c.Name); err != nil && !errors.Is(err, monitor.ErrNotFound) {
				s.log.Warn("stopping a tap", "tap", c.Name, "err", err)
			}
		}
	}
	for _, p := range snap.Producers {
		if p.AdHoc && p.State != monitor.ProducerClosed {
			if err := ss.mon.StopProducer(ctx, p.Name); err != nil && !errors.Is(err, monitor.ErrNotFound) {
				s.log.Warn("stopping a producer", "producer", p.Name, "err", err)
			}
		}
	}
}

// Close closes the current session unless it is the home one (closed by RunConsole).
func (s *switcher) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != s.home {
		s.cur.close()
		s.cur = s.home
	}
}

// runTUI runs the console on the home session's monitor, able to switch clusters.
func runTUI(ctx context.Context, cfg *ConsoleConfig, files *consoleFiles, home *monitor.Monitor,
	opts func(t *clusterTarget) monitor.Options) error {
	sw := newSwitcher(cfg, &session{name: cfg.target.Name, mon: home}, files.log, opts)
	defer sw.Close()
	cfg.remember(files.log, "", cfg.target.Name)
	if cfg.newTheme != "" {
		cfg.remember(files.log, cfg.newTheme, "")
	}
	for _, w := range cfg.warnings {
		files.log.Warn(w)
	}
	return tui.Run(ctx, home, tui.Options{Theme: cfg.Theme, ReadOnly: cfg.ReadOnly, HistoryFile: historyFile(files.logPath),
		ClusterName: cfg.target.Name, Clusters: sw.names(), SwitchCluster: sw.switchTo,
		ThemeChanged: func(name string) { cfg.remember(files.log, name, "") },
		// The events view's errors, warnings and actions go to the log too, with their times.
		EventLog: files.log.With("source", "console events")})
}
