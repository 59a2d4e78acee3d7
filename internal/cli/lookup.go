package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/danube-console/danube-console/client"
)

// LookupConfig is the topic "lookup" looks up.
type LookupConfig struct {
	Conn  ConnConfig
	Topic string
}

// ParseLookup parses the flags of "lookup" and checks them. The help goes to stderr.
func ParseLookup(args []string, stderr io.Writer) (LookupConfig, error) {
	var cfg LookupConfig
	fs := newFlagSet("lookup", stderr, []string{"Usage: danube-console lookup -t TOPIC [flags]"},
		"Shows the broker that serves a topic, its partitions and the lookup latency. Flags:")
	cfg.Conn.register(fs)
	fs.StringVarP(&cfg.Topic, "topic", "t", "", "topic to look up, /namespace/topic (required)")
	if err := parseFlags(fs, args, &cfg.Conn); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, usagef("unexpected argument %q", fs.Arg(0))
	}
	if cfg.Topic == "" {
		return cfg, usagef("-t TOPIC is required")
	}
	return cfg, nil
}

// RunLookup prints on s.Out where the topic is served, its partitions and the lookup's latency.
func RunLookup(ctx context.Context, cfg LookupConfig, s Streams) error {
	topic := cfg.Topic
	c, err := cfg.Conn.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	all, err := c.Partitions(ctx, topic)
	if err != nil {
		return err
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
			if remote := remotePartitions(ctx, cfg.Conn, pres.ConnectURL, topic); len(remote) > 0 && remote[0] != topic {
				res, err, parts = pres, nil, remote
			}
		}
	}
	if err != nil {
		return err
	}
	w := s.Out
	fmt.Fprintf(w, "topic:        %s\n", topic)
	fmt.Fprintf(w, "response:     %s\n", res.Type)
	fmt.Fprintf(w, "broker url:   %s\n", res.BrokerURL)
	fmt.Fprintf(w, "connect url:  %s\n", res.ConnectURL)
	fmt.Fprintf(w, "proxy:        %v\n", res.Proxy)
	if len(parts) == 0 || parts[0] == topic {
		fmt.Fprintf(w, "partitions:   none (not partitioned)\n")
	} else {
		fmt.Fprintf(w, "partitions:   %d (%s)\n", len(parts), strings.Join(parts, ", "))
	}
	fmt.Fprintf(w, "latency:      %v\n", res.Latency)
	return nil
}

// remotePartitions asks the broker at url for the partitions of topic, with the same connection options;
// nil when it cannot tell.
func remotePartitions(ctx context.Context, conn ConnConfig, url, topic string) []string {
	conn.ServiceURL = url
	c, err := conn.connect(ctx)
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
