package main

import (
	"context"
	"errors"
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
	"github.com/spf13/pflag"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/connectors"
	_ "github.com/danube-console/danube-console/connectors/all" // the built-in connector kinds
)

// runConnect runs the connectors of a configuration file without the console: against --service-url, or
// an in-memory embedded broker with --embedded, until interrupted or until every started connector ended.
func runConnect(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const name = "connect"
	var (
		conn           clientFlags
		configPath     string
		example, check bool
		embedded       bool
		only           []string
		statusEvery    time.Duration
		drainTimeout   time.Duration
		metricsAddr    string
		logLevel       string
	)
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	conn.register(fs)
	fs.StringVarP(&configPath, "config", "f", "", "connector configuration file (TOML, [[connector]] tables)")
	fs.BoolVar(&example, "example", false, "print a commented configuration documenting every key of every kind, and exit")
	fs.BoolVar(&check, "check", false, "check the configuration file and exit (status 0 when it is valid)")
	fs.BoolVar(&embedded, "embedded", false, "run an in-memory embedded broker on a free loopback port instead of using --service-url")
	fs.StringSliceVar(&only, "only", nil, "start these connectors (comma-separated names) instead of those with autostart")
	fs.DurationVar(&statusEvery, "status-interval", 5*time.Second, "print every connector's status this often (0: only state changes)")
	fs.DurationVar(&drainTimeout, "drain-timeout", 30*time.Second, "how long stopping waits for pending batches and acks")
	fs.StringVar(&metricsAddr, "metrics-addr", "", "serve the connectors' Prometheus metrics at http://ADDR/metrics")
	fs.StringVar(&logLevel, "log-level", "warn", "log level on stderr: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: danube-console connect --config FILE [flags]")
		fmt.Fprintln(stderr, "       danube-console connect --example > connectors.toml")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Runs the connectors of a configuration file, printing their state changes and status, until")
		fmt.Fprintln(stderr, "interrupted (they stop draining) or until every started connector completed or failed for good. Flags:")
		fs.PrintDefaults()
	}
	if ok, code := parseFlags(fs, args, stderr, name, &conn); !ok {
		return code
	}
	env := connectors.DefaultEnv()
	var level slog.Level
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, name, "unexpected argument %q", fs.Arg(0))
	case example:
		if err := connectors.WriteExample(stdout, env); err != nil {
			return fail(stderr, name, err)
		}
		return 0
	case configPath == "":
		return usageError(stderr, name, "--config FILE is required (danube-console connect --example prints one)")
	case embedded && fs.Changed("service-url"):
		return usageError(stderr, name, "--embedded and --service-url cannot be used together")
	case statusEvery < 0 || drainTimeout <= 0:
		return usageError(stderr, name, "--status-interval must not be negative and --drain-timeout must be positive")
	case level.UnmarshalText([]byte(logLevel)) != nil:
		return usageError(stderr, name, "--log-level %q: use debug, info, warn or error", logLevel)
	}
	cfgs, err := connectors.LoadConfig(configPath, env)
	if err != nil {
		var ce *connectors.ConfigErrors
		if errors.As(err, &ce) {
			fmt.Fprintf(stderr, "danube-console %s: %s has %d problem(s):\n", name, configPath, len(ce.Problems))
			for _, p := range ce.Problems {
				fmt.Fprintf(stderr, "  %s\n", p)
			}
			return 2
		}
		return fail(stderr, name, err)
	}
	names := make([]string, len(cfgs))
	for k, c := range cfgs {
		names[k] = c.Name
	}
	for _, n := range only {
		if !slices.Contains(names, n) {
			return usageError(stderr, name, "--only %s: no connector of that name in %s (it has %s)", n, configPath, strings.Join(names, ", "))
		}
	}
	if check {
		fmt.Fprintf(stdout, "%s: %d connector(s), valid: %s\n", configPath, len(cfgs), strings.Join(names, ", "))
		return 0
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	if embedded {
		srv, err := broker.New(broker.Options{Port: 0, AdminPort: -1, Logger: log})
		if err == nil {
			err = srv.Start()
		}
		if err != nil {
			return fail(stderr, name, fmt.Errorf("starting the embedded broker: %w", err))
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
		conn.serviceURL = srv.URL()
		fmt.Fprintf(stdout, "embedded broker (in memory) serving %s\n", srv.URL())
	}
	c, err := conn.connect(ctx)
	if err != nil {
		return fail(stderr, name, err)
	}
	defer c.Close()

	rt := connectors.NewRuntime(c, env, connectors.RuntimeOptions{Logger: log})
	closed := false
	closeRuntime := func() error {
		if closed {
			return nil
		}
		closed = true
		dctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
		defer cancel()
		return rt.Close(dctx)
	}
	defer closeRuntime()
	for _, cfg := range cfgs {
		if err := rt.Add(cfg); err != nil {
			return fail(stderr, name, err)
		}
	}
	if metricsAddr != "" {
		stop, err := serveMetrics(metricsAddr, rt.Collector())
		if err != nil {
			return fail(stderr, name, fmt.Errorf("--metrics-addr %s: %w", metricsAddr, err))
		}
		defer stop()
		fmt.Fprintf(stdout, "connector metrics at http://%s/metrics\n", metricsAddr)
	}

	events, unsubscribe := rt.Subscribe()
	defer unsubscribe()
	started := map[string]bool{}
	if len(only) > 0 {
		for _, n := range only {
			started[n] = true
		}
		if err := rt.StartSet(only...); err != nil {
			return fail(stderr, name, err)
		}
	} else {
		for _, cfg := range cfgs {
			started[cfg.Name] = cfg.Autostart
		}
		if err := rt.StartAutostart(); err != nil {
			return fail(stderr, name, err)
		}
	}
	if countTrue(started) == 0 {
		fmt.Fprintf(stderr, "danube-console %s: no connector has autostart; name some with --only\n", name)
		return 2
	}
	fmt.Fprintf(stdout, "running %d connector(s) from %s against %s (Ctrl-C stops them, draining)\n", countTrue(started), configPath, conn.serviceURL)

	var tick <-chan time.Time
	if statusEvery > 0 {
		t := time.NewTicker(statusEvery)
		defer t.Stop()
		tick = t.C
	}
	failedForGood := false
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(stdout, "stopping: draining the connectors")
			err := closeRuntime()
			printStatus(stdout, rt.Snapshot())
			if err != nil {
				return fail(stderr, name, err)
			}
			return 0
		case <-tick:
			printStatus(stdout, rt.Snapshot())
		case ev, ok := <-events:
			if !ok {
				return 0
			}
			if ev.Type != connectors.EventState {
				continue
			}
			line := fmt.Sprintf("%s %s (%s): %s → %s", ev.Time.Format("15:04:05.000"), ev.Name, ev.Kind, ev.Prev, ev.State)
			if ev.Err != nil {
				line += fmt.Sprintf(" [%s] %s", ev.ErrKind, oneLine(ev.Err))
			}
			fmt.Fprintln(stdout, line)
			if ev.State == connectors.StateFailed {
				if st, ok := rt.Status(ev.Name); ok && st.NextRestart.IsZero() {
					failedForGood = true
				}
			}
			if allEnded(rt, started) {
				printStatus(stdout, rt.Snapshot())
				if failedForGood {
					return 1
				}
				return 0
			}
		}
	}
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
