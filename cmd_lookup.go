package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/danube-console/danube-console/client"
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
	if ok, code := parseFlags(fs, args, stderr, name, &conn); !ok {
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
	all, err := c.Partitions(ctx, topic)
	if err != nil {
		return fail(stderr, name, err)
	}
	// The broker answers a name it does not know with every topic that starts with it: keep the topic and its
	// own partitions only, in partition order.
	parts := partitionsOf(topic, all)
	// A partitioned topic has no record of its own: look up its first partition. A topic that is neither
	// served nor partitioned is looked up as is, and the broker says it is not found.
	target := topic
	if len(parts) > 0 && parts[0] != topic {
		target = parts[0]
	}
	res, err := c.Lookup(ctx, target)
	if len(parts) == 0 && errors.Is(err, client.ErrTopicNotFound) {
		// In a cluster, a broker lists only its own topics: a partitioned topic served by another broker is
		// found through the lookup of its first partition, and listed by the broker that serves it.
		if pres, perr := c.Lookup(ctx, topic+"-part-0"); perr == nil {
			if remote := remotePartitions(ctx, &conn, pres.ConnectURL, topic); len(remote) > 0 && remote[0] != topic {
				res, err, parts = pres, nil, remote
			}
		}
	}
	if err != nil {
		return fail(stderr, name, err)
	}
	fmt.Fprintf(stdout, "topic:        %s\n", topic)
	fmt.Fprintf(stdout, "response:     %s\n", res.Type)
	fmt.Fprintf(stdout, "broker url:   %s\n", res.BrokerURL)
	fmt.Fprintf(stdout, "connect url:  %s\n", res.ConnectURL)
	fmt.Fprintf(stdout, "proxy:        %v\n", res.Proxy)
	if len(parts) == 0 || parts[0] == topic {
		fmt.Fprintf(stdout, "partitions:   none (not partitioned)\n")
	} else {
		fmt.Fprintf(stdout, "partitions:   %d (%s)\n", len(parts), strings.Join(parts, ", "))
	}
	fmt.Fprintf(stdout, "latency:      %v\n", res.Latency)
	return 0
}

// remotePartitions asks the broker at url for the partitions of topic, with the same connection options;
// nil when it cannot tell.
func remotePartitions(ctx context.Context, conn *clientFlags, url, topic string) []string {
	other := *conn
	other.serviceURL = url
	c, err := other.connect(ctx)
	if err != nil {
		return nil
	}
	defer c.Close()
	all, err := c.Partitions(ctx, topic)
	if err != nil {
		return nil
	}
	return partitionsOf(topic, all)
}

// partitionsOf returns [topic] when names holds topic, else the names that are partitions of topic
// ("<topic>-part-N") sorted by N.
func partitionsOf(topic string, names []string) []string {
	type part struct {
		name string
		n    uint64
	}
	var parts []part
	for _, name := range names {
		if name == topic {
			return []string{topic}
		}
		suffix, ok := strings.CutPrefix(name, topic+"-part-")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(suffix, 10, 64) // digits only: no sign
		if err != nil {
			continue
		}
		parts = append(parts, part{name, n})
	}
	slices.SortFunc(parts, func(a, b part) int { return cmp.Compare(a.n, b.n) })
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p.name
	}
	return out
}
