package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
)

// runLookup shows where a topic is served and its partitions.
func runLookup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const name = "lookup"
	var (
		conn  clientFlags
		topic string
	)
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	conn.register(fs)
	fs.StringVarP(&topic, "topic", "t", "", "topic to look up, /namespace/topic (required)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: danube-console lookup -t TOPIC [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Shows the broker that serves a topic, its partitions and the lookup latency. Flags:")
		fs.PrintDefaults()
	}
	if ok, code := parseFlags(fs, args, stderr, name); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, name, "unexpected argument %q", fs.Arg(0))
	}
	if topic == "" {
		return usageError(stderr, name, "-t TOPIC is required")
	}
	c, err := conn.connect(ctx)
	if err != nil {
		return fail(stderr, name, err)
	}
	defer c.Close()
	parts, err := c.Partitions(ctx, topic)
	if err != nil {
		return fail(stderr, name, err)
	}
	// A partitioned topic has no record of its own: look up its first partition.
	target := topic
	if len(parts) > 0 && parts[0] != topic {
		target = parts[0]
	}
	res, err := c.Lookup(ctx, target)
	if err != nil {
		return fail(stderr, name, err)
	}
	fmt.Fprintf(stdout, "topic:        %s\n", topic)
	fmt.Fprintf(stdout, "response:     %s\n", res.Type)
	fmt.Fprintf(stdout, "broker url:   %s\n", res.BrokerURL)
	fmt.Fprintf(stdout, "connect url:  %s\n", res.ConnectURL)
	fmt.Fprintf(stdout, "proxy:        %v\n", res.Proxy)
	if len(parts) == 1 && parts[0] == topic {
		fmt.Fprintf(stdout, "partitions:   none (not partitioned)\n")
	} else {
		fmt.Fprintf(stdout, "partitions:   %d (%s)\n", len(parts), strings.Join(parts, ", "))
	}
	fmt.Fprintf(stdout, "latency:      %v\n", res.Latency)
	return 0
}
