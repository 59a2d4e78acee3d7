package main

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

// brokerFlags are the flags of "broker" that build broker.Options.
type brokerFlags struct {
	opts                       broker.Options
	logLevel                   string
	tlsCert, tlsKey, tlsClient string
	jwt                        jwtSecretFlags
	dataDir                    string
	ephemeral                  bool
	fsync                      string
	retentionBytes             int64
	retentionAge               time.Duration
}

func (f *brokerFlags) register(fs *pflag.FlagSet) {
	o := &f.opts
	fs.StringVar(&o.Host, "host", broker.DefaultHost, "interface to listen on")
	fs.IntVar(&o.Port, "port", 6650, "client port (0 picks a free one)")
	fs.IntVar(&o.AdminPort, "admin-port", 50051, "admin port (0 picks a free one, -1 disables it)")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics, e.g. 127.0.0.1:9040")
	fs.StringVar(&o.AdvertisedURL, "advertised-url", "", "URL given to clients in lookups, e.g. http://broker.example:6650 (default: the listener's)")
	fs.IntVar(&o.Policies.MaxMessageSize, "max-message-size", broker.DefaultMaxMessageSize, "largest payload a producer may publish, in bytes")
	fs.IntVar(&o.MaxUnackedMessages, "dispatch-window", broker.DefaultMaxUnackedMessages, "unacknowledged messages in flight per reliable subscription (1-10000)")
	fs.DurationVar(&o.FailurePolicy.AckTimeout, "ack-timeout", broker.DefaultAckTimeout, "redeliver a reliable message not acknowledged within this time")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "serve both ports over TLS with this PEM certificate (needs --tls-key)")
	fs.StringVar(&f.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&f.tlsClient, "tls-client-ca", "", "require client certificates signed by this PEM CA (mutual TLS)")
	f.jwt.register(fs, "require JWT bearer tokens signed (HS256) with this secret")
	fs.BoolVar(&o.AllowInsecure, "allow-insecure", false, "allow listening beyond loopback without TLS and JWT authentication")
	fs.StringVar(&f.dataDir, "data-dir", "./danube-data", "where reliable messages and the broker's metadata are stored")
	fs.BoolVar(&f.ephemeral, "ephemeral", false, "keep everything in memory (lost when the broker stops) instead of in --data-dir")
	fs.StringVar(&f.fsync, "fsync", "interval", "when stored data is flushed to disk before a publish is answered: always, interval (group commit every few ms) or never (the OS decides)")
	fs.Int64Var(&f.retentionBytes, "retention-bytes", 0, "keep at most this many bytes per topic, deleting the oldest even if unacknowledged (0: no limit)")
	fs.DurationVar(&f.retentionAge, "retention-age", 0, "delete stored messages older than this even if unacknowledged, e.g. 72h (0: no limit)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level on stderr: debug, info, warn or error")
}

// dataDirError explains a store that cannot be opened; a directory in use says what to do.
func dataDirError(dir string, err error) error {
	if errors.Is(err, disk.ErrLocked) {
		return fmt.Errorf("--data-dir %s is used by another danube-console or broker: stop it, or give another --data-dir (or --ephemeral): %w", dir, err)
	}
	return fmt.Errorf("--data-dir %s: %w", dir, err)
}

// openStore opens the on-disk store of --data-dir, or returns nil with --ephemeral. Deletions by retention
// are logged.
func (f *brokerFlags) openStore(log *slog.Logger) (*disk.Store, error) {
	if f.ephemeral {
		return nil, nil
	}
	policy, _ := disk.ParseFsyncPolicy(f.fsync) // checked by options
	st, err := disk.Open(f.dataDir, disk.Options{
		Fsync:          policy,
		RetentionBytes: f.retentionBytes,
		RetentionAge:   f.retentionAge,
		Logger:         log,
		OnDelete: func(ev disk.RetentionEvent) {
			log.Info("deleted stored messages", "topic", ev.Topic, "first_offset", ev.FirstOffset,
				"last_offset", ev.LastOffset, "bytes", ev.Bytes, "reason", ev.Reason)
		},
	})
	if err != nil {
		return nil, dataDirError(f.dataDir, err)
	}
	return st, nil // the broker logs what the store repaired when it starts
}

// options turns the flags parsed from fs into broker options; log lines go to stderr.
func (f *brokerFlags) options(fs *pflag.FlagSet, stderr io.Writer) (broker.Options, error) {
	o := f.opts
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return o, fmt.Errorf("--log-level %q: use debug, info, warn or error", f.logLevel)
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// The ack timeout flag fills one field of the failure policy; the rest keeps the broker's defaults.
	pol := broker.DefaultFailurePolicy()
	pol.AckTimeout = o.FailurePolicy.AckTimeout
	o.FailurePolicy = pol

	if _, err := disk.ParseFsyncPolicy(f.fsync); err != nil {
		return o, fmt.Errorf("--fsync %q: use always, interval or never", f.fsync)
	}
	if f.retentionBytes < 0 || f.retentionAge < 0 {
		return o, errors.New("--retention-bytes and --retention-age must not be negative")
	}
	secret, err := f.jwt.secret(fs, os.Getenv)
	if err != nil {
		return o, err
	}
	if secret != "" {
		o.JWTSecret = []byte(secret)
	}
	switch {
	case f.tlsCert == "" && f.tlsKey == "" && f.tlsClient == "":
	case f.tlsCert == "" || f.tlsKey == "":
		return o, errors.New("--tls-cert and --tls-key go together")
	default:
		cfg, err := serverTLS(f.tlsCert, f.tlsKey, f.tlsClient)
		if err != nil {
			return o, err
		}
		o.TLS = cfg
	}
	return o, nil
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

// runBroker runs the embedded broker until ctx is cancelled (SIGINT or SIGTERM in the binary), or mints a
// token with "broker token".
func runBroker(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "token" {
		return runToken(args[1:], stdout, stderr)
	}
	fs := pflag.NewFlagSet("broker", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var f brokerFlags
	f.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: danube-console broker [flags]")
		fmt.Fprintln(stderr, "       danube-console broker token --subject NAME [--ttl 1h] [--jwt-secret-file PATH]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Runs the embedded Danube-compatible broker until interrupted. Flags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "danube-console broker: %v\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "danube-console broker: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	opts, err := f.options(fs, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "danube-console broker: %v\n", err)
		return 2
	}
	st, err := f.openStore(opts.Logger)
	if err != nil {
		fmt.Fprintf(stderr, "danube-console broker: %v\n", err)
		return 1
	}
	if st != nil {
		opts.Store = st
		defer func() {
			if err := st.Close(); err != nil {
				fmt.Fprintf(stderr, "danube-console broker: closing the store: %v\n", err)
			}
		}()
	}
	srv, err := broker.New(opts)
	if err != nil {
		if errors.Is(err, broker.ErrInsecure) {
			fmt.Fprintf(stderr, "danube-console broker: %v\n(add --tls-cert, --tls-key and --jwt-secret-file (or $%s), or --allow-insecure)\n", err, jwtSecretEnv)
		} else {
			fmt.Fprintf(stderr, "danube-console broker: %v\n", err)
		}
		return 2
	}
	if err := srv.Start(); err != nil {
		fmt.Fprintf(stderr, "danube-console broker: %s\n", startError(err, opts))
		_ = srv.Shutdown(context.Background())
		return 1
	}
	if opts.AllowInsecure && (opts.TLS == nil || opts.JWTSecret == nil) {
		fmt.Fprintf(stderr, "WARNING: serving %s without TLS and authentication (--allow-insecure): anyone who can reach it can read and write every topic\n", srv.URL())
	}
	// One write, so that a reader who sees the first line sees them all.
	var banner strings.Builder
	fmt.Fprintf(&banner, "danube broker serving %s (Ctrl-C to stop)\n", srv.URL())
	if a := srv.AdminURL(); a != "" {
		fmt.Fprintf(&banner, "admin API at %s\n", a)
	}
	if m := srv.MetricsAddr(); m != "" {
		fmt.Fprintf(&banner, "metrics at http://%s/metrics\n", m)
	}
	if st != nil {
		fmt.Fprintf(&banner, "storing data in %s (fsync %s)\n", f.dataDir, f.fsync)
	} else {
		fmt.Fprintln(&banner, "storing data in memory only (--ephemeral)")
	}
	io.WriteString(stdout, banner.String())

	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintf(stderr, "danube-console broker: shutdown: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "danube broker stopped")
	return 0
}

// startError turns a Start failure into one line that names the flag to change.
func startError(err error, o broker.Options) string {
	busy := errors.Is(err, syscall.EADDRINUSE)
	switch {
	case busy && errors.Is(err, broker.ErrListen):
		return fmt.Sprintf("port %d on %s is already in use; choose another with --port", o.Port, o.Host)
	case busy && errors.Is(err, broker.ErrAdminListen):
		return fmt.Sprintf("admin port %d on %s is already in use; choose another with --admin-port (or -1 to disable it)", o.AdminPort, o.Host)
	case busy && errors.Is(err, broker.ErrMetricsListen):
		return fmt.Sprintf("metrics address %s is already in use; choose another with --metrics-addr", o.MetricsAddr)
	}
	return err.Error()
}

// runToken mints a JWT for the broker's secret.
func runToken(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("broker token", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	subject := fs.String("subject", "", "who the token is for (required)")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	var jwtFlags jwtSecretFlags
	jwtFlags.register(fs, "the broker's JWT secret")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: danube-console broker token --subject NAME [--ttl 1h] [--jwt-secret-file PATH]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Prints a bearer token that a broker started with the same JWT secret accepts. The secret is read")
		fmt.Fprintf(stderr, "from --jwt-secret-file, --jwt-secret or $%s. Flags:\n", jwtSecretEnv)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "danube-console broker token: %v\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "danube-console broker token: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	secret, err := jwtFlags.secret(fs, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "danube-console broker token: %v\n", err)
		return 2
	}
	if *subject == "" || secret == "" {
		fmt.Fprintf(stderr, "danube-console broker token: --subject and a secret (--jwt-secret-file, $%s or --jwt-secret) are required\n", jwtSecretEnv)
		return 2
	}
	tok, err := broker.NewToken([]byte(secret), *subject, *ttl)
	if err != nil {
		fmt.Fprintf(stderr, "danube-console broker token: %v\n", err)
		return 2
	}
	fmt.Fprintln(stdout, tok)
	return 0
}
