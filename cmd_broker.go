package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/danube-console/danube-console/broker"
)

// runBroker runs the embedded broker until ctx is cancelled (SIGINT or SIGTERM in the binary).
func runBroker(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("broker", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		opts     broker.Options
		logLevel string
	)
	fs.StringVar(&opts.Host, "host", broker.DefaultHost, "interface to listen on")
	fs.IntVar(&opts.Port, "port", 6650, "client port (0 picks a free one)")
	fs.StringVar(&opts.AdvertisedURL, "advertised-url", "", "URL given to clients in lookups, e.g. http://broker.example:6650 (default: http://host:port)")
	fs.IntVar(&opts.Policies.MaxMessageSize, "max-message-size", broker.DefaultMaxMessageSize, "largest payload a producer may publish, in bytes")
	fs.IntVar(&opts.MaxUnackedMessages, "dispatch-window", broker.DefaultMaxUnackedMessages, "unacknowledged messages in flight per reliable subscription (1-10000)")
	fs.DurationVar(&opts.FailurePolicy.AckTimeout, "ack-timeout", broker.DefaultAckTimeout, "redeliver a reliable message not acknowledged within this time")
	fs.StringVar(&logLevel, "log-level", "info", "log level on stderr: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: danube-console broker [flags]")
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
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		fmt.Fprintf(stderr, "danube-console broker: --log-level %q: use debug, info, warn or error\n", logLevel)
		return 2
	}
	// The ack timeout flag fills one field of the failure policy; keep the rest at the broker's defaults.
	pol := broker.DefaultFailurePolicy()
	pol.AckTimeout = opts.FailurePolicy.AckTimeout
	opts.FailurePolicy = pol
	opts.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	srv, err := broker.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "danube-console broker: %v\n", err)
		return 2
	}
	if err := srv.Start(); err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			fmt.Fprintf(stderr, "danube-console broker: port %d on %s is already in use; choose another with --port\n", opts.Port, opts.Host)
		} else {
			fmt.Fprintf(stderr, "danube-console broker: %v\n", err)
		}
		_ = srv.Shutdown(context.Background())
		return 1
	}
	fmt.Fprintf(stdout, "danube broker serving %s (Ctrl-C to stop)\n", srv.URL())

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
