package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/danube-console/danube-console/broker"
	"github.com/danube-console/danube-console/broker/store/disk"
)

// BrokerConfig is what "broker" runs: the broker's options and where and how it stores data.
type BrokerConfig struct {
	// Options are the broker's options without Logger and Store, which RunBroker adds.
	Options  broker.Options
	LogLevel slog.Level
	// DataDir is where the on-disk store lives, unless Ephemeral keeps everything in memory.
	DataDir   string
	Ephemeral bool
	// Fsync is the --fsync policy as given (always, interval or never).
	Fsync          string
	RetentionBytes int64
	RetentionAge   time.Duration
}

// brokerFlags are the flags of "broker" that do not map to a BrokerConfig field one to one.
type brokerFlags struct {
	logLevel                   string
	tlsCert, tlsKey, tlsClient string
	peerCA, peerCert, peerKey  string
	jwt                        jwtSecretFlags
}

func (f *brokerFlags) register(fs *pflag.FlagSet, cfg *BrokerConfig) {
	o := &cfg.Options
	fs.StringVar(&o.Host, "host", broker.DefaultHost, "interface to listen on")
	fs.IntVar(&o.Port, "port", 6650, "client port (0 picks a free one)")
	fs.IntVar(&o.AdminPort, "admin-port", 50051, "admin port (0 picks a free one, -1 disables it)")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics, e.g. 127.0.0.1:9040")
	fs.StringVar(&o.AdvertisedURL, "advertised-url", "", "URL given to clients in lookups, e.g. http://broker.example:6650 (default: the listener's)")
	fs.StringArrayVar(&o.Peers, "peer", nil, "client URL of another broker of a test group, e.g. http://127.0.0.1:6651 (repeatable; not a replicated cluster)")
	fs.IntVar(&o.Policies.MaxMessageSize, "max-message-size", broker.DefaultMaxMessageSize, "largest payload a producer may publish, in bytes")
	fs.IntVar(&o.MaxUnackedMessages, "dispatch-window", broker.DefaultMaxUnackedMessages, "unacknowledged messages in flight per reliable subscription (1-10000)")
	fs.DurationVar(&o.FailurePolicy.AckTimeout, "ack-timeout", broker.DefaultAckTimeout, "redeliver a reliable message not acknowledged within this time")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "serve both ports over TLS with this PEM certificate (needs --tls-key)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&f.tlsClient, "tls-client-ca", "", "require client certificates signed by this PEM CA (mutual TLS)")
	fs.StringVar(&f.peerCA, "peer-tls-ca", "", "with --tls-cert: verify the certificates of --peer brokers with this PEM CA (default: the system's roots)")
	fs.StringVar(&f.peerCert, "peer-tls-cert", "", "with --tls-cert: PEM client certificate presented to --peer brokers that require one (needs --peer-tls-key)")
	fs.StringVar(&f.peerKey, "peer-tls-key", "", "PEM private key of --peer-tls-cert")
	f.jwt.register(fs, "require JWT bearer tokens signed (HS256) with this secret")
	fs.StringSliceVar(&o.SuperAdmins, "super-admin", nil, "principal name allowed everything, who creates the first roles and bindings; with a JWT secret or --tls-client-ca every other caller needs a binding (repeatable)")
	fs.BoolVar(&o.AllowInsecure, "allow-insecure", false, "allow listening beyond loopback without TLS and JWT authentication")
	fs.StringVar(&cfg.DataDir, "data-dir", "./danube-data", "where reliable messages and the broker's metadata are stored")
	fs.BoolVar(&cfg.Ephemeral, "ephemeral", false, "keep everything in memory (lost when the broker stops) instead of in --data-dir")
	fs.StringVar(&cfg.Fsync, "fsync", "interval", "when stored data is flushed to disk before a publish is answered: always, interval (group commit every few ms) or never (the OS decides)")
	fs.Int64Var(&cfg.RetentionBytes, "retention-bytes", 0, "keep at most this many bytes per topic, deleting the oldest even if unacknowledged (0: no limit)")
	fs.DurationVar(&cfg.RetentionAge, "retention-age", 0, "delete stored messages older than this even if unacknowledged, e.g. 72h (0: no limit)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level on stderr: debug, info, warn or error")
}

// brokerMain is the "broker" command, and "broker token".
func brokerMain(ctx context.Context, args []string, s Streams) int {
	if len(args) > 0 && args[0] == "token" {
		cfg, err := ParseToken(args[1:], s.Err)
		if err != nil {
			return report(s.Err, "broker token", err)
		}
		return report(s.Err, "broker token", RunToken(ctx, cfg, s))
	}
	cfg, err := ParseBroker(args, s.Err)
	if err != nil {
		return report(s.Err, "broker", err)
	}
	return report(s.Err, "broker", RunBroker(ctx, cfg, s))
}

// ParseBroker parses the flags of "broker" and checks them: the log level, the fsync policy, retention, the
// JWT secret (read from its file or the environment here) and the TLS files (loaded here). The help goes to
// stderr.
func ParseBroker(args []string, stderr io.Writer) (BrokerConfig, error) {
	var cfg BrokerConfig
	var f brokerFlags
	fs := newFlagSet("broker", stderr, []string{
		"Usage: danube-console broker [flags]",
		"       danube-console broker token --subject NAME [--type user] [--ttl 1h] [--jwt-secret-file PATH]",
	}, "Runs the embedded Danube-compatible broker until interrupted. Flags:")
	f.register(fs, &cfg)
	if err := parseFlags(fs, args, nil); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, usagef("unexpected argument %q", fs.Arg(0))
	}
	return cfg, asUsage(f.check(fs, &cfg))
}

// check validates the parsed flags and completes cfg from them.
func (f *brokerFlags) check(fs *pflag.FlagSet, cfg *BrokerConfig) error {
	if err := cfg.LogLevel.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", f.logLevel)
	}
	o := &cfg.Options
	// The ack timeout flag fills one field of the failure policy; the rest keeps the broker's defaults.
	pol := broker.DefaultFailurePolicy()
	pol.AckTimeout = o.FailurePolicy.AckTimeout
	o.FailurePolicy = pol
	if _, err := disk.ParseFsyncPolicy(cfg.Fsync); err != nil {
		return fmt.Errorf("--fsync %q: use always, interval or never", cfg.Fsync)
	}
	if cfg.RetentionBytes < 0 || cfg.RetentionAge < 0 {
		return errors.New("--retention-bytes and --retention-age must not be negative")
	}
	secret, err := f.jwt.secret(fs, os.Getenv)
	if err != nil {
		return err
	}
	if secret != "" {
		o.JWTSecret = []byte(secret)
	}
	switch {
	case f.tlsCert == "" && f.tlsKey == "" && f.tlsClient == "":
	case f.tlsCert == "" || f.tlsKey == "":
		return errors.New("--tls-cert and --tls-key go together")
	default:
		if o.TLS, err = serverTLS(f.tlsCert, f.tlsKey, f.tlsClient); err != nil {
			return err
		}
	}
	if o.PeerTLS, err = peerTLS(f.peerCA, f.peerCert, f.peerKey, o.TLS != nil); err != nil {
		return err
	}
	return nil
}

// peerTLS loads how the broker verifies its peers and the client certificate it presents to them; nil when
// no --peer-tls-* flag is given. Peers speak TLS only when the broker serves it.
func peerTLS(caFile, certFile, keyFile string, serving bool) (*tls.Config, error) {
	if caFile == "" && certFile == "" && keyFile == "" {
		return nil, nil
	}
	if !serving {
		return nil, errors.New("--peer-tls-ca, --peer-tls-cert and --peer-tls-key need --tls-cert: a group speaks TLS only when its brokers serve it")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--peer-tls-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--peer-tls-ca: %s holds no PEM certificate", caFile)
		}
	}
	if certFile != "" || keyFile != "" {
		if certFile == "" || keyFile == "" {
			return nil, errors.New("--peer-tls-cert and --peer-tls-key go together")
		}
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("--peer-tls-cert/--peer-tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// serverTLS loads a certificate and key and, with a client CA, requires client certificates it signed.
func serverTLS(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCAFile != "" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("--tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-client-ca: %s holds no PEM certificate", clientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// dataDirError explains a store that cannot be opened; a directory in use says what to do.
func dataDirError(dir string, err error) error {
	if errors.Is(err, disk.ErrLocked) {
		return fmt.Errorf("--data-dir %s is used by another danube-console or broker: stop it, or give another --data-dir (or --ephemeral): %w", dir, err)
	}
	return fmt.Errorf("--data-dir %s: %w", dir, err)
}

// openStore opens the on-disk store of DataDir, or returns nil when Ephemeral. Deletions by retention are
// logged.
func (cfg *BrokerConfig) openStore(log *slog.Logger) (*disk.Store, error) {
	if cfg.Ephemeral {
		return nil, nil
	}
	policy, _ := disk.ParseFsyncPolicy(cfg.Fsync) // checked by ParseBroker
	st, err := disk.Open(cfg.DataDir, disk.Options{
		Fsync:          policy,
		RetentionBytes: cfg.RetentionBytes,
		RetentionAge:   cfg.RetentionAge,
		Logger:         log,
		OnDelete: func(ev disk.RetentionEvent) {
			log.Info("deleted stored messages", "topic", ev.Topic, "first_offset", ev.FirstOffset,
				"last_offset", ev.LastOffset, "bytes", ev.Bytes, "reason", ev.Reason)
		},
	})
	if err != nil {
		return nil, dataDirError(cfg.DataDir, err)
	}
	return st, nil // the broker logs what the store repaired when it starts
}

// RunBroker runs the embedded broker until ctx is cancelled (SIGINT or SIGTERM in the binary). It prints
// what it serves on s.Out once it listens, and "danube broker stopped" after a clean shutdown; its log goes
// to s.Err. Options the broker refuses are usage errors.
func RunBroker(ctx context.Context, cfg BrokerConfig, s Streams) (err error) {
	opts := cfg.Options
	opts.Logger = slog.New(slog.NewTextHandler(s.Err, &slog.HandlerOptions{Level: cfg.LogLevel}))
	st, err := cfg.openStore(opts.Logger)
	if err != nil {
		return err
	}
	if st != nil {
		opts.Store = st
		defer func() {
			if err := st.Close(); err != nil {
				warn(s.Err, "broker", fmt.Errorf("closing the store: %w", err))
			}
		}()
	}
	srv, err := broker.New(opts)
	if errors.Is(err, broker.ErrInsecure) {
		return asUsage(&hintError{err, fmt.Sprintf("add --tls-cert, --tls-key and --jwt-secret-file (or $%s), or --allow-insecure", jwtSecretEnv)})
	} else if err != nil {
		return asUsage(err)
	}
	if err := srv.Start(); err != nil {
		_ = srv.Shutdown(context.Background())
		return startError(err, opts)
	}
	if (opts.JWTSecret != nil || opts.TLS != nil && opts.TLS.ClientAuth == tls.RequireAndVerifyClientCert) && len(opts.SuperAdmins) == 0 {
		fmt.Fprintln(s.Err, "note: every call is authorized against roles and bindings, and no --super-admin is given: only the bindings already stored let anyone in")
	}
	if opts.AllowInsecure && (opts.TLS == nil || opts.JWTSecret == nil) {
		fmt.Fprintf(s.Err, "WARNING: serving %s without TLS and authentication (--allow-insecure): anyone who can reach it can read and write every topic\n", srv.URL())
	}
	io.WriteString(s.Out, brokerBanner(srv, cfg, st != nil))

	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Fprintln(s.Out, "danube broker stopped")
	return nil
}

// brokerBanner says what a started broker serves, in one string: it is written at once, so that a reader
// who sees the first line sees them all.
func brokerBanner(srv *broker.Server, cfg BrokerConfig, stored bool) string {
	var banner strings.Builder
	fmt.Fprintf(&banner, "danube broker serving %s (Ctrl-C to stop)\n", srv.URL())
	if a := srv.AdminURL(); a != "" {
		fmt.Fprintf(&banner, "admin API at %s\n", a)
	}
	if m := srv.MetricsAddr(); m != "" {
		fmt.Fprintf(&banner, "metrics at http://%s/metrics\n", m)
	}
	if stored {
		fmt.Fprintf(&banner, "storing data in %s (fsync %s)\n", cfg.DataDir, cfg.Fsync)
	} else {
		fmt.Fprintln(&banner, "storing data in memory only (--ephemeral)")
	}
	return banner.String()
}

// startError turns a Start failure into an error whose text names the flag to change; it still matches the
// broker's error with errors.Is.
func startError(err error, o broker.Options) error {
	busy := errors.Is(err, syscall.EADDRINUSE)
	switch {
	case busy && errors.Is(err, broker.ErrListen):
		return &restatedError{fmt.Sprintf("port %d on %s is already in use; choose another with --port", o.Port, o.Host), err}
	case busy && errors.Is(err, broker.ErrAdminListen):
		return &restatedError{fmt.Sprintf("admin port %d on %s is already in use; choose another with --admin-port (or -1 to disable it)", o.AdminPort, o.Host), err}
	case busy && errors.Is(err, broker.ErrMetricsListen):
		return &restatedError{fmt.Sprintf("metrics address %s is already in use; choose another with --metrics-addr", o.MetricsAddr), err}
	}
	return err
}

// restatedError says what err means for the user in its own words, and unwraps to err.
type restatedError struct {
	msg string
	err error
}

func (e *restatedError) Error() string { return e.msg }
func (e *restatedError) Unwrap() error { return e.err }
