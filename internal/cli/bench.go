package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/bench"
)

// BenchConfig is the run "bench" measures.
type BenchConfig struct {
	Conn ConnConfig
	// Bench is the engine's configuration; its Topic is a new /default/bench-<random> when -t is not given.
	Bench bench.Config
	// JSON prints the report as JSON instead of text.
	JSON bool
}

// ParseBench parses the flags of "bench" and checks them. The help goes to stderr.
func ParseBench(args []string, stderr io.Writer) (BenchConfig, error) {
	var cfg BenchConfig
	b := &cfg.Bench
	fs := newFlagSet("bench", stderr, []string{"Usage: danube-console bench [flags]"},
		"Measures publish and delivery throughput, the consumers' lag, and publish and end-to-end latency against a broker. Flags:")
	cfg.Conn.register(fs)
	fs.StringVarP(&b.Topic, "topic", "t", "", "topic to use (default: a new /default/bench-<random>)")
	fs.IntVar(&b.Producers, "producers", 1, "concurrent producers")
	fs.IntVar(&b.Consumers, "consumers", 1, "consumers on one shared subscription (0: publish only)")
	fs.IntVar(&b.Size, "size", 128, "payload size in bytes (at least 8)")
	fs.IntVarP(&b.Count, "count", "c", 0, "messages to publish in all (0: run for --duration)")
	fs.DurationVar(&b.Duration, "duration", 10*time.Second, "how long to publish when --count is 0")
	fs.Float64Var(&b.Rate, "rate", 0, "publish at most this many messages per second, all producers together (0: as fast as they can)")
	fs.BoolVar(&b.Reliable, "reliable", false, "use a reliable topic (stored, acknowledged)")
	fs.BoolVar(&b.Async, "async", false, "send asynchronously with up to --window messages in flight per producer")
	fs.IntVar(&b.Window, "window", 256, "in-flight messages per producer with --async")
	fs.IntVar(&b.Partitions, "partitions", 0, "use a topic with this many partitions")
	fs.DurationVar(&b.Drain, "drain", bench.DefaultDrain, "how long consumers may go on receiving after the producers stop")
	fs.IntVar(&b.AckWindow, "ack-window", client.DefaultAckWindow, "acks in flight per consumer with --reliable")
	fs.BoolVar(&cfg.JSON, "json", false, "print the report as JSON")
	if err := parseFlags(fs, args, &cfg.Conn); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, usagef("unexpected argument %q", fs.Arg(0))
	case b.Producers < 1 || b.Consumers < 0 || b.Count < 0 || b.Duration <= 0 || b.Window < 1 || b.Partitions < 0:
		return cfg, usagef("--producers and --window must be at least 1, --duration positive, the others not negative")
	case !(b.Rate >= 0) || math.IsInf(b.Rate, 0):
		return cfg, usagef("--rate must be a number of messages per second, not negative (0: publish as fast as the producers can)")
	case b.Drain <= 0:
		return cfg, usagef("--drain must be positive (the consumers need some time to receive what was published)")
	case b.AckWindow < 1 || b.AckWindow > client.MaxAckWindow:
		return cfg, usagef("--ack-window must be between 1 and %d", client.MaxAckWindow)
	case b.Size < bench.MinSize:
		return cfg, usagef("--size must be at least %d (the payload carries its send time)", bench.MinSize)
	}
	if b.Topic == "" {
		var r [4]byte
		rand.Read(r[:])
		b.Topic = "/default/bench-" + hex.EncodeToString(r[:])
	}
	return cfg, nil
}

// RunBench runs the bench and prints its report on s.Out. Failed sends make it return an error (after the
// report) that counts them and wraps the first.
func RunBench(ctx context.Context, cfg BenchConfig, s Streams) error {
	c, err := cfg.Conn.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if cfg.Bench.Consumers > 0 {
		// The consumers connect on their own, as consumers in another process would: their acks do not
		// queue behind the producers' sends on one connection.
		cc, err := cfg.Conn.connect(ctx)
		if err != nil {
			return err
		}
		defer cc.Close()
		cfg.Bench.ConsumerClient = cc
	}
	rep, err := bench.Run(ctx, c, cfg.Bench)
	if err != nil {
		return err
	}
	if cfg.JSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printBench(s.Out, cfg.Bench, rep)
	}
	if rep.Failed > 0 {
		return fmt.Errorf("%d of %d sends failed; the first: %w", rep.Failed, rep.Failed+rep.Published, rep.FirstError)
	}
	if rep.AckFailed > 0 {
		return fmt.Errorf("%d of %d acknowledgements failed (those messages stay unacknowledged); the first: %w",
			rep.AckFailed, rep.AckFailed+rep.Acked, rep.FirstAckError)
	}
	return nil
}

// printBench prints the text report.
func printBench(w io.Writer, cfg bench.Config, rep bench.Report) {
	mode := "sync"
	if cfg.Async {
		mode = fmt.Sprintf("async, window %d", cfg.Window)
	}
	if cfg.Rate > 0 {
		mode += fmt.Sprintf(", at most %.0f msgs/s in all", cfg.Rate)
	}
	fmt.Fprintf(w, "topic %s (%s), %d producer(s) (%s), %d consumer(s), %d-byte payloads\n",
		rep.Topic, map[bool]string{true: "reliable", false: "non-reliable"}[cfg.Reliable], cfg.Producers, mode, cfg.Consumers, cfg.Size)
	fmt.Fprintf(w, "published %d in %.2fs: %.0f msgs/s, %.2f MB/s (%d failed)\n", rep.Published, rep.Seconds, rep.MsgsPerSec, rep.MBPerSec, rep.Failed)
	if cfg.Consumers > 0 {
		drained := "drained"
		if !rep.Drained {
			drained = "NOT drained"
		}
		fmt.Fprintf(w, "delivered %d (%.0f%% of published): %.0f msgs/s; %d received in all (%d redelivered)\n",
			rep.Delivered, percent(rep.Delivered, rep.Published), rep.DeliveredPerSec, rep.Received, rep.Redelivered)
		fmt.Fprintf(w, "lag       %d when the producers stopped, %d after %.2fs more (%s)\n", rep.LagAtStop, rep.Lag, rep.DrainSeconds, drained)
		if behind(rep) {
			fmt.Fprintf(w, "          the consumers delivered %.0f msgs/s while the producers published %.0f: their lag grew all along;\n"+
				"          lower --rate to find the flow they keep up with (more than %.0f: slower producers leave them more CPU)\n",
				rep.DeliveredPerSecPublishing, rep.MsgsPerSec, rep.DeliveredPerSecPublishing)
		}
		if cfg.Reliable {
			fmt.Fprintf(w, "acked     %d (%d failed)\n", rep.Acked, rep.AckFailed)
		}
	}
	pr := func(label string, l bench.Latency) {
		if l.Samples > 0 {
			fmt.Fprintf(w, "%-12s p50 %s  p95 %s  p99 %s  max %s\n", label, us(l.P50), us(l.P95), us(l.P99), us(l.Max))
		}
	}
	pr("publish", rep.Publish)
	pr("end-to-end", rep.EndToEnd)
}

// behind tells whether the consumers fell behind the producers for good: at the end of the publishing more
// than a second of the publish rate (and at least 1% of what was published) was not delivered.
func behind(rep bench.Report) bool {
	return rep.LagAtStop > max(int64(rep.MsgsPerSec), rep.Published/100) && rep.DeliveredPerSecPublishing >= 1
}

// percent is part over whole in percent (0 for an empty whole).
func percent(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

// us formats microseconds as a duration rounded to the microsecond.
func us(v float64) string {
	return (time.Duration(v * 1e3)).Round(time.Microsecond).String()
}
