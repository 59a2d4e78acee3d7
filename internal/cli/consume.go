package cli

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
	"sync"
	"time"
	"unicode/utf8"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/jsonl"
)

// ConsumeConfig is the subscription "consume" prints, and how.
type ConsumeConfig struct {
	Conn         ConnConfig
	Topic        string
	Subscription string
	Type         client.SubscriptionType
	// KeyFilters are the key globs of a key-shared consumer.
	KeyFilters []string
	// Count ends the command after this many messages (0: until interrupted).
	Count int
	// JSONL prints one JSON object per message instead of one line of text.
	JSONL bool
	NoAck bool
	Name  string
}

// ParseConsume parses the flags of "consume" and checks them. The help goes to stderr.
func ParseConsume(args []string, stderr io.Writer) (ConsumeConfig, error) {
	var cfg ConsumeConfig
	var typ string
	fs := newFlagSet("consume", stderr, []string{"Usage: danube-console consume -t TOPIC -s SUBSCRIPTION [flags]"},
		"Prints the messages of a subscription, acknowledging each. Flags:")
	cfg.Conn.register(fs)
	fs.StringVarP(&cfg.Topic, "topic", "t", "", "topic to consume, /namespace/topic (required)")
	fs.StringVarP(&cfg.Subscription, "subscription", "s", "", "subscription name (required)")
	fs.StringVar(&typ, "type", "shared", "subscription type: exclusive, shared, failover or key-shared")
	fs.StringArrayVar(&cfg.KeyFilters, "key-filter", nil, "key-shared: only keys matching this glob (* and ?); repeatable")
	fs.IntVarP(&cfg.Count, "count", "c", 0, "exit after this many messages (0: until interrupted)")
	fs.BoolVar(&cfg.JSONL, "jsonl", false, "print one JSON object per message (replayable with 'produce --from-jsonl')")
	fs.BoolVar(&cfg.NoAck, "no-ack", false, "do not acknowledge messages (reliable topics redeliver them)")
	fs.StringVar(&cfg.Name, "name", "", "consumer name (default: generated)")
	if err := parseFlags(fs, args, &cfg.Conn); err != nil {
		return cfg, err
	}
	var typeErr error
	cfg.Type, typeErr = client.ParseSubscriptionType(typ)
	switch {
	case fs.NArg() > 0:
		return cfg, usagef("unexpected argument %q", fs.Arg(0))
	case cfg.Topic == "" || cfg.Subscription == "":
		return cfg, usagef("-t TOPIC and -s SUBSCRIPTION are required")
	case typeErr != nil:
		return cfg, asUsage(&restatedError{fmt.Sprintf("--type %q: use exclusive, shared, failover or key-shared", typ), typeErr})
	case cfg.Count < 0:
		return cfg, usagef("--count must not be negative")
	case len(cfg.KeyFilters) > 0 && cfg.Type != client.KeyShared:
		return cfg, usagef("--key-filter needs --type key-shared")
	}
	return cfg, nil
}

// RunConsume prints the messages of the subscription on s.Out, acknowledging each unless NoAck, until Count
// messages or until ctx is cancelled (which is not an error). Acks go out in flight, as messages are
// printed; before it returns it waits (up to ackDrain) for the broker to answer those of every message
// printed, also when interrupted, and a failed ack is an error.
func RunConsume(ctx context.Context, cfg ConsumeConfig, s Streams) (err error) {
	c, err := cfg.Conn.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	cons, err := c.Subscribe(ctx, client.ConsumerConfig{Topic: cfg.Topic, Subscription: cfg.Subscription, Name: cfg.Name,
		Type: cfg.Type, KeyFilters: cfg.KeyFilters})
	if err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while subscribing
		}
		if errors.Is(err, client.ErrTopicNotFound) {
			err = fmt.Errorf("%w (consumers never create topics: publish to %s first, or check the name with 'danube-console lookup')", err, cfg.Topic)
		}
		return err
	}
	acks := &ackErrors{}
	defer func() {
		// Closing drains the acks in flight, whose failures then count.
		cctx, cancel := context.WithTimeout(context.Background(), ackDrain)
		defer cancel()
		if cerr := cons.Close(cctx); cerr != nil && err == nil {
			err = fmt.Errorf("waiting for the broker to answer the acks: %w", cerr)
		}
		if aerr := acks.first(); aerr != nil && err == nil {
			err = aerr
		}
	}()

	out := bufio.NewWriter(s.Out)
	defer out.Flush()
	w := jsonl.NewWriter(out)
	// Acks are not cut short by an interrupt: what was printed is acknowledged (Close bounds the wait).
	ackCtx := context.WithoutCancel(ctx)
	for n := 0; cfg.Count == 0 || n < cfg.Count; n++ {
		if err := acks.first(); err != nil {
			return err
		}
		m, err := cons.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil // interrupted
			}
			return err
		}
		if cfg.JSONL {
			if err := w.Write(jsonl.FromMessage(m)); err != nil {
				return err
			}
		} else {
			fmt.Fprintln(out, describe(m))
		}
		if len(cons.Messages()) == 0 {
			out.Flush() // keep a live view live
		}
		if !cfg.NoAck {
			if err := cons.AckAsync(ackCtx, m, acks.done(m.ID.Offset)); err != nil {
				return fmt.Errorf("acknowledging offset %d: %w", m.ID.Offset, err)
			}
		}
	}
	return nil
}

// ackDrain bounds how long consume waits, at the end, for the broker to answer the acks in flight.
const ackDrain = 5 * time.Second

// ackErrors keeps the first failed ack of a consume.
type ackErrors struct {
	mu  sync.Mutex
	err error
}

// done returns the callback of the ack of the message at offset.
func (a *ackErrors) done(offset uint64) func(error) {
	return func(err error) {
		if err == nil {
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.err == nil {
			a.err = fmt.Errorf("acknowledging offset %d: %w", offset, err)
		}
	}
}

func (a *ackErrors) first() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
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
