package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/connectors"
	_ "github.com/danube-console/danube-console/connectors/all" // the built-in connector kinds
)

// ConnectConfig is what "connect" runs: the connectors of a configuration file, against a broker.
type ConnectConfig struct {
	Conn ConnConfig
	// ConfigPath is the connector configuration file (required unless Example).
	ConfigPath string
	// Example prints a commented configuration of every kind instead of running anything; Check only checks
	// the file.
	Example, Check bool
	// Embedded runs an in-memory broker on a free loopback port instead of using Conn.ServiceURL.
	Embedded bool
	// Only names the connectors to start; empty starts those with autostart.
	Only []string
	// StatusInterval is how often every connector's status is printed (0: only state changes).
	StatusInterval time.Duration
	DrainTimeout   time.Duration
	// MetricsAddr serves the connectors' Prometheus metrics at http://MetricsAddr/metrics when set.
	MetricsAddr string
	LogLevel    slog.Level
}

// ParseConnect parses the flags of "connect" and checks them. The help goes to stderr.
func ParseConnect(args []string, stderr io.Writer) (ConnectConfig, error) {
	var cfg ConnectConfig
	var logLevel string
	fs := newFlagSet("connect", stderr, []string{
		"Usage: danube-console connect --config FILE [flags]",
		"       danube-console connect --example > connectors.toml",
	}, "Runs the connectors of a configuration file, printing their state changes and status, until",
		"interrupted (they stop draining) or until every started connector completed or failed for good. Flags:")
	cfg.Conn.register(fs)
	fs.StringVarP(&cfg.ConfigPath, "config", "f", "", "connector configuration file (TOML, [[connector]] tables)")
	fs.BoolVar(&cfg.Example, "example", false, "print a commented configuration documenting every key of every kind, and exit")
	fs.BoolVar(&cfg.Check, "check", false, "check the configuration file and exit (status 0 when it is valid)")
	fs.BoolVar(&cfg.Embedded, "embedded", false, "run an in-memory embedded broker on a free loopback port instead of using --service-url")
	fs.StringSliceVar(&cfg.Only, "only", nil, "start these connectors (comma-separated names) instead of those with autostart")
	fs.DurationVar(&cfg.StatusInterval, "status-interval", 5*time.Second, "print every connector's status this often (0: only state changes)")
	fs.DurationVar(&cfg.DrainTimeout, "drain-timeout", 30*time.Second, "how long stopping waits for pending batches and acks")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "serve the connectors' Prometheus metrics at http://ADDR/metrics")
	fs.StringVar(&logLevel, "log-level", "warn", "log level on stderr: debug, info, warn or error")
	if err := parseFlags(fs, args, &cfg.Conn); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, usagef("unexpected argument %q", fs.Arg(0))
	case cfg.Example:
		return cfg, nil
	case cfg.ConfigPath == "":
		return cfg, usagef("--config FILE is required (danube-console connect --example prints one)")
	case cfg.Embedded && fs.Changed("service-url"):
		return cfg, usagef("--embedded and --service-url cannot be used together")
	case cfg.StatusInterval < 0 || cfg.DrainTimeout <= 0:
		return cfg, usagef("--status-interval must not be negative and --drain-timeout must be positive")
	case cfg.LogLevel.UnmarshalText([]byte(logLevel)) != nil:
		return cfg, usagef("--log-level %q: use debug, info, warn or error", logLevel)
	}
	return cfg, nil
}

// RunConnect runs the connectors of the configuration file until ctx is cancelled (they stop, draining)
// or until every started connector completed or failed for good, printing their state changes and status
// on s.Out and logging on s.Err. A file with problems, or Only naming an unknown connector, is a usage
// error; a connector that failed for good makes it return errReported.
func RunConnect(ctx context.Context, cfg ConnectConfig, s Streams) error {
	env := connectors.DefaultEnv()
	if cfg.Example {
		return connectors.WriteExample(s.Out, env)
	}
	cfgs, err := loadConnectors(cfg.ConfigPath, env)
	if err != nil {
		return err
	}
	names := make([]string, len(cfgs))
	for k, c := range cfgs {
		names[k] = c.Name
	}
	for _, n := range cfg.Only {
		if !slices.Contains(names, n) {
			return usagef("--only %s: no connector of that name in %s (it has %s)", n, cfg.ConfigPath, strings.Join(names, ", "))
		}
	}
	if cfg.Check {
		fmt.Fprintf(s.Out, "%s: %d connector(s), valid: %s\n", cfg.ConfigPath, len(cfgs), strings.Join(names, ", "))
		return nil
	}
	log := slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if cfg.Embedded {
		stop, url, err := startMemoryBroker(log)
		if err != nil {
			return err
		}
		defer stop()
		cfg.Conn.ServiceURL = url
		fmt.Fprintf(s.Out, "embedded broker (in memory) serving %s\n", url)
	}
	c, err := cfg.Conn.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	rt := connectors.NewRuntime(c, env, connectors.RuntimeOptions{Logger: log})
	r := &connectRun{cfg: &cfg, rt: rt, out: s.Out}
	defer r.closeRuntime()
	return r.run(ctx, cfgs)
}

// startMemoryBroker starts an in-memory broker on a free loopback port, without admin port, and returns
// the function that stops it and its URL.
func startMemoryBroker(log *slog.Logger) (stop func(), url string, err error) {
	srv, err := broker.New(broker.Options{Port: 0, AdminPort: -1, Logger: log})
	if err == nil {
		err = srv.Start()
	}
	if err != nil {
		return nil, "", fmt.Errorf("starting the embedded broker: %w", err)
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}, srv.URL(), nil
}

// connectRun is a "connect" run: the runtime of its connectors, and which of them it started.
type connectRun struct {
	cfg     *ConnectConfig
	rt      *connectors.Runtime
	out     io.Writer
	started map[string]bool
	closed  bool
}

// closeRuntime stops the connectors, draining for at most DrainTimeout; later calls do nothing.
func (r *connectRun) closeRuntime() error {
	if r.closed {
		return nil
	}
	r.closed = true
	dctx, cancel := context.WithTimeout(context.Background(), r.cfg.DrainTimeout)
	defer cancel()
	return r.rt.Close(dctx)
}

// run adds and starts the connectors, serves their metrics, and follows them until the end.
func (r *connectRun) run(ctx context.Context, cfgs []connectors.InstanceConfig) error {
	for _, cfg := range cfgs {
		if err := r.rt.Add(cfg); err != nil {
			return err
		}
	}
	if addr := r.cfg.MetricsAddr; addr != "" {
		stop, err := serveMetrics(addr, r.rt.Collector())
		if err != nil {
			return fmt.Errorf("--metrics-addr %s: %w", addr, err)
		}
		defer stop()
		fmt.Fprintf(r.out, "connector metrics at http://%s/metrics\n", addr)
	}
	events, unsubscribe := r.rt.Subscribe()
	defer unsubscribe()
	if err := r.start(cfgs); err != nil {
		return err
	}
	fmt.Fprintf(r.out, "running %d connector(s) from %s against %s (Ctrl-C stops them, draining)\n",
		countTrue(r.started), r.cfg.ConfigPath, r.cfg.Conn.ServiceURL)
	return r.follow(ctx, events)
}

// start starts the connectors Only names, or else those with autostart.
func (r *connectRun) start(cfgs []connectors.InstanceConfig) error {
	r.started = map[string]bool{}
	if len(r.cfg.Only) > 0 {
		for _, n := range r.cfg.Only {
			r.started[n] = true
		}
		if err := r.rt.StartSet(r.cfg.Only...); err != nil {
			return err
		}
	} else {
		for _, cfg := range cfgs {
			r.started[cfg.Name] = cfg.Autostart
		}
		if err := r.rt.StartAutostart(); err != nil {
			return err
		}
	}
	if countTrue(r.started) == 0 {
		return usagef("no connector has autostart; name some with --only")
	}
	return nil
}

// follow prints the connectors' state changes and, every StatusInterval, their status, until ctx is
// cancelled (the connectors are then stopped, draining) or every started connector ended.
func (r *connectRun) follow(ctx context.Context, events <-chan connectors.Event) error {
	var tick <-chan time.Time
	if r.cfg.StatusInterval > 0 {
		t := time.NewTicker(r.cfg.StatusInterval)
		defer t.Stop()
		tick = t.C
	}
	failedForGood := false
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(r.out, "stopping: draining the connectors")
			err := r.closeRuntime()
			printStatus(r.out, r.rt.Snapshot())
			return err
		case <-tick:
			printStatus(r.out, r.rt.Snapshot())
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if ev.Type != connectors.EventState {
				continue
			}
			r.printEvent(ev)
			if ev.State == connectors.StateFailed {
				if st, ok := r.rt.Status(ev.Name); ok && st.NextRestart.IsZero() {
					failedForGood = true
				}
			}
			if allEnded(r.rt, r.started) {
				printStatus(r.out, r.rt.Snapshot())
				if failedForGood {
					return errReported
				}
				return nil
			}
		}
	}
}

// printEvent prints a state change on one line.
func (r *connectRun) printEvent(ev connectors.Event) {
	line := fmt.Sprintf("%s %s (%s): %s → %s", ev.Time.Format("15:04:05.000"), ev.Name, ev.Kind, ev.Prev, ev.State)
	if ev.Err != nil {
		line += fmt.Sprintf(" [%s] %s", ev.ErrKind, oneLine(ev.Err))
	}
	fmt.Fprintln(r.out, line)
}

// allEnded reports whether every started instance completed or failed without a restart coming.
func allEnded(rt *connectors.Runtime, started map[string]bool) bool {
	for n, ok := range started {
		if !ok {
			continue
		}
		st, _ := rt.Status(n)
		switch {
		case st.State == connectors.StateCompleted:
		case st.State == connectors.StateFailed && st.NextRestart.IsZero():
		default:
			return false
		}
	}
	return true
}

func countTrue(m map[string]bool) int {
	n := 0
	for _, ok := range m {
		if ok {
			n++
		}
	}
	return n
}

// printStatus prints one line per instance: state, counters, in flight and the last error.
func printStatus(w io.Writer, sts []connectors.InstanceStatus) {
	var b strings.Builder
	for _, st := range sts {
		var failed uint64
		for _, n := range st.Failed {
			failed += n
		}
		fmt.Fprintf(&b, "  %-20s %-9s %-10s received %d, processed %d, failed %d, retried %d, in flight %d, %.0f/s",
			st.Name, st.Kind, st.State, st.Received, st.Processed, failed, st.Retried, st.InFlight, st.Throughput)
		if st.LastError != "" {
			fmt.Fprintf(&b, ", last error %s ago: %s", time.Since(st.LastErrorAt).Round(time.Second), st.LastError)
		}
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}

// serveMetrics serves the collector at http://addr/metrics until the returned function is called.
func serveMetrics(addr string, c prometheus.Collector) (func(), error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, nil
}
