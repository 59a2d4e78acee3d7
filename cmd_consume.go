package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/jsonl"
)

// subscriptionTypes maps --type values to subscription types.
var subscriptionTypes = map[string]client.SubscriptionType{
	"exclusive":  client.Exclusive,
	"shared":     client.Shared,
	"failover":   client.Failover,
	"key-shared": client.KeyShared,
}

// runConsume prints the messages of a subscription until --count messages or an interrupt.
func runConsume(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const name = "consume"
	var (
		conn       clientFlags
		topic, sub string
		typ        string
		filters    []string
		count      int
		asJSONL    bool
		noAck      bool
		consumer   string
	)
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	conn.register(fs)
	fs.StringVarP(&topic, "topic", "t", "", "topic to consume, /namespace/topic (required)")
	fs.StringVarP(&sub, "subscription", "s", "", "subscription name (required)")
	fs.StringVar(&typ, "type", "shared", "subscription type: exclusive, shared, failover or key-shared")
	fs.StringArrayVar(&filters, "key-filter", nil, "key-shared: only keys matching this glob (* and ?); repeatable")
	fs.IntVarP(&count, "count", "c", 0, "exit after this many messages (0: until interrupted)")
	fs.BoolVar(&asJSONL, "jsonl", false, "print one JSON object per message (replayable with 'produce --from-jsonl')")
	fs.BoolVar(&noAck, "no-ack", false, "do not acknowledge messages (reliable topics redeliver them)")
	fs.StringVar(&consumer, "name", "", "consumer name (default: generated)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: danube-console consume -t TOPIC -s SUBSCRIPTION [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Prints the messages of a subscription, acknowledging each. Flags:")
		fs.PrintDefaults()
	}
	if ok, code := parseFlags(fs, args, stderr, name, &conn); !ok {
		return code
	}
	st, known := subscriptionTypes[typ]
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, name, "unexpected argument %q", fs.Arg(0))
	case topic == "" || sub == "":
		return usageError(stderr, name, "-t TOPIC and -s SUBSCRIPTION are required")
	case !known:
		return usageError(stderr, name, "--type %q: use exclusive, shared, failover or key-shared", typ)
	case count < 0:
		return usageError(stderr, name, "--count must not be negative")
	case len(filters) > 0 && st != client.KeyShared:
		return usageError(stderr, name, "--key-filter needs --type key-shared")
	}

	c, err := conn.connect(ctx)
	if err != nil {
		return fail(stderr, name, err)
	}
	defer c.Close()
	cons, err := c.Subscribe(ctx, client.ConsumerConfig{Topic: topic, Subscription: sub, Name: consumer, Type: st, KeyFilters: filters})
	if err != nil {
		if ctx.Err() != nil {
			return 0 // interrupted while subscribing
		}
		if errors.Is(err, client.ErrTopicNotFound) {
			err = fmt.Errorf("%w (consumers never create topics: publish to %s first, or check the name with 'danube-console lookup')", err, topic)
		}
		return fail(stderr, name, err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cons.Close(cctx)
	}()

	out := bufio.NewWriter(stdout)
	defer out.Flush()
	w := jsonl.NewWriter(out)
	for n := 0; count == 0 || n < count; n++ {
		m, err := cons.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return 0 // interrupted
			}
			return fail(stderr, name, err)
		}
		if asJSONL {
			if err := w.Write(jsonl.FromMessage(m)); err != nil {
				return fail(stderr, name, err)
			}
		} else {
			fmt.Fprintln(out, describe(m))
		}
		if len(cons.Messages()) == 0 {
			out.Flush() // keep a live view live
		}
		if !noAck {
			if err := m.Ack(ctx); err != nil && ctx.Err() == nil {
				return fail(stderr, name, fmt.Errorf("acknowledging offset %d: %w", m.ID.Offset, err))
			}
		}
	}
	return 0
}

// lineBreaks escapes the line breaks of a text payload, so that each message stays on one line.
var lineBreaks = strings.NewReplacer("\n", `\n`, "\r", `\r`)

// describe renders a message on one line: topic@offset, key, attributes (sorted by key) and the payload
// (text with newlines escaped, or base64 when it is not UTF-8).
func describe(m *client.Message) string {
	var b strings.Builder
	b.WriteString(m.ID.Topic)
	b.WriteByte('@')
	b.WriteString(strconv.FormatUint(m.ID.Offset, 10))
	if m.HasRoutingKey {
		b.WriteString(" key=")
		b.WriteString(strconv.Quote(m.RoutingKey))
	}
	// Attributes in key order, so that the same message always prints the same line.
	for _, k := range slices.Sorted(maps.Keys(m.Attributes)) {
		b.WriteString(" ")
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(m.Attributes[k]))
	}
	b.WriteString(" ")
	if utf8.Valid(m.Payload) {
		b.WriteString(lineBreaks.Replace(string(m.Payload)))
	} else {
		b.WriteString("base64:")
		b.WriteString(base64.StdEncoding.EncodeToString(m.Payload))
	}
	return b.String()
}
