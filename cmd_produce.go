package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/time/rate"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/jsonl"
)

// produceFlags are the flags of "produce".
type produceFlags struct {
	conn          clientFlags
	topic         string
	message       string
	file          string
	fromJSONL     string
	count         int
	rate          float64
	attrs         []string
	key           string
	reliable      bool
	partitions    int
	schemaSubject string
	name          string
}

// interruptGrace is how long a send in progress may still take after an interrupt.
const interruptGrace = 2 * time.Second

// runProduce publishes messages from -m, --file, --from-jsonl or the lines of stdin.
func runProduce(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	const name = "produce"
	var f produceFlags
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	f.conn.register(fs)
	fs.StringVarP(&f.topic, "topic", "t", "", "topic to publish to, /namespace/topic (required, except with --from-jsonl)")
	fs.StringVarP(&f.message, "message", "m", "", "publish this text")
	fs.StringVar(&f.file, "file", "", "publish the content of this file as one message")
	fs.StringVar(&f.fromJSONL, "from-jsonl", "", "replay the messages of a file written by 'consume --jsonl' (- for stdin), with their keys, attributes and schema ids")
	fs.IntVarP(&f.count, "count", "c", 0, "with -m or --file: publish it this many times (default 1); otherwise stop after this many messages")
	fs.Float64Var(&f.rate, "rate", 0, "at most this many messages per second (0: as fast as possible)")
	fs.StringArrayVarP(&f.attrs, "attr", "a", nil, "attribute key=value added to every message (repeatable)")
	fs.StringVar(&f.key, "key", "", "routing key of every message (key-shared routing and partition choice)")
	fs.BoolVar(&f.reliable, "reliable", false, "publish to a reliable topic (stored, acknowledged, redelivered)")
	fs.IntVar(&f.partitions, "partitions", 0, "publish to a topic with this many partitions")
	fs.StringVar(&f.schemaSubject, "schema-subject", "", "bind the topic to this registered schema subject and stamp its latest version")
	fs.StringVar(&f.name, "name", "", "producer name (default: generated)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: danube-console produce -t TOPIC [-m TEXT | --file PATH | --from-jsonl FILE] [flags]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Publishes -m, a file, replayed JSONL messages, or else each line of stdin as a message. Flags:")
		fs.PrintDefaults()
	}
	if ok, code := parseFlags(fs, args, stderr, name, &f.conn); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(stderr, name, "unexpected argument %q (quote the message and pass it with -m)", fs.Arg(0))
	}
	sources := 0
	for _, set := range []bool{fs.Changed("message"), f.file != "", f.fromJSONL != ""} {
		if set {
			sources++
		}
	}
	switch {
	case sources > 1:
		return usageError(stderr, name, "-m, --file and --from-jsonl are alternatives; give one")
	case f.topic == "" && f.fromJSONL == "":
		return usageError(stderr, name, "-t TOPIC is required")
	case f.count < 0 || f.rate < 0 || f.partitions < 0:
		return usageError(stderr, name, "--count, --rate and --partitions must not be negative")
	}
	attrs, err := parseAttrs(f.attrs)
	if err != nil {
		return usageError(stderr, name, "%v", err)
	}

	var next func() (record, error)
	switch {
	case fs.Changed("message"):
		next = repeat([]byte(f.message), max(f.count, 1))
	case f.file != "":
		b, err := os.ReadFile(f.file)
		if err != nil {
			return fail(stderr, name, err)
		}
		next = repeat(b, max(f.count, 1))
	case f.fromJSONL != "":
		var r io.Reader
		if f.fromJSONL == "-" {
			in := interruptible(ctx, stdin)
			defer in.Close()
			r = in
		} else {
			file, err := os.Open(f.fromJSONL)
			if err != nil {
				return fail(stderr, name, err)
			}
			defer file.Close()
			r = file
		}
		next = fromJSONL(jsonl.NewReader(r), f.fromJSONL, f.count)
	default:
		in := interruptible(ctx, stdin)
		defer in.Close()
		next = lines(in, f.count)
	}

	c, err := f.conn.connect(ctx)
	if err != nil {
		return fail(stderr, name, err)
	}
	defer c.Close()
	p := &publisher{c: c, f: &f, attrs: attrs, producers: map[string]*client.Producer{}, keySet: fs.Changed("key")}
	defer p.close()
	var limiter *rate.Limiter
	if f.rate > 0 {
		limiter = rate.NewLimiter(rate.Limit(f.rate), 1)
	}
	start := time.Now()
	sent := 0
	for {
		rec, err := next()
		if errors.Is(err, io.EOF) || ctx.Err() != nil {
			break // the end, or interrupted
		}
		if err != nil {
			return fail(stderr, name, fmt.Errorf("after %d messages: %w", sent, err))
		}
		if limiter != nil {
			if err := limiter.Wait(ctx); err != nil {
				break // interrupted
			}
		}
		// A message being sent is not abandoned at once by an interrupt: its send has interruptGrace more to
		// finish, so that the count printed is what the broker took.
		sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		stop := context.AfterFunc(ctx, func() { time.AfterFunc(interruptGrace, cancel) })
		err = p.send(sctx, rec)
		stop()
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				break // interrupted: the message may not have been sent
			}
			return fail(stderr, name, fmt.Errorf("after %d messages: %w", sent, err))
		}
		sent++
	}
	d := time.Since(start)
	fmt.Fprintf(stderr, "sent %d messages in %v (%.0f msgs/s)\n", sent, d.Round(time.Millisecond), float64(sent)/max(d.Seconds(), 1e-9))
	return 0
}

// record is one message to publish.
type record struct {
	topic   string // "" for the -t topic
	payload []byte
	key     *string
	attrs   map[string]string
	// schema id and version of a replayed message (0: none), stamped unless --schema-subject is given
	schemaID      uint64
	schemaVersion uint32
}

func repeat(payload []byte, n int) func() (record, error) {
	i := 0
	return func() (record, error) {
		if i >= n {
			return record{}, io.EOF
		}
		i++
		return record{payload: payload}, nil
	}
}

// interruptible reads r in the background, so that reading stdin ends when ctx is done (an interrupt)
// even while r blocks; Close stops it.
func interruptible(ctx context.Context, r io.Reader) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(pw, r)
		pw.CloseWithError(err) // nil: EOF
	}()
	stop := context.AfterFunc(ctx, func() { pr.CloseWithError(ctx.Err()) })
	return &stopReader{PipeReader: pr, stop: stop}
}

type stopReader struct {
	*io.PipeReader
	stop func() bool
}

func (r *stopReader) Close() error {
	r.stop()
	return r.PipeReader.Close()
}

// lines yields each line of r (without its newline) as a message, at most limit (0: all).
func lines(r io.Reader, limit int) func() (record, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	n := 0
	return func() (record, error) {
		if limit > 0 && n >= limit {
			return record{}, io.EOF
		}
		line, err := br.ReadString('\n')
		if err != nil && (!errors.Is(err, io.EOF) || line == "") {
			return record{}, err
		}
		n++
		return record{payload: []byte(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"))}, nil
	}
}

// fromJSONL yields the messages of a JSONL export, at most limit (0: all).
func fromJSONL(r *jsonl.Reader, path string, limit int) func() (record, error) {
	n := 0
	return func() (record, error) {
		if limit > 0 && n >= limit {
			return record{}, io.EOF
		}
		rec, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return record{}, err
			}
			return record{}, fmt.Errorf("%s: %w", path, err)
		}
		n++
		payload, _ := rec.Bytes() // checked by Next
		return record{topic: rec.Topic, payload: payload, key: rec.Key, attrs: rec.Attributes,
			schemaID: rec.SchemaID, schemaVersion: rec.SchemaVersion}, nil
	}
}

// parseAttrs turns key=value flags into a map.
func parseAttrs(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--attr %q: use key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

// publisher keeps one producer per topic (replays may span topics).
type publisher struct {
	c         *client.Client
	f         *produceFlags
	attrs     map[string]string
	producers map[string]*client.Producer
	keySet    bool // --key was given (possibly empty)
}

func (p *publisher) send(ctx context.Context, r record) error {
	topic := p.f.topic
	if topic == "" {
		topic = r.topic
	}
	if topic == "" {
		return errors.New("the record names no topic; give one with -t")
	}
	prod := p.producers[topic]
	if prod == nil {
		dispatch := client.NonReliable
		if p.f.reliable {
			dispatch = client.Reliable
		}
		var err error
		prod, err = p.c.NewProducer(ctx, client.ProducerConfig{Topic: topic, Name: p.f.name, Dispatch: dispatch,
			Partitions: p.f.partitions, SchemaSubject: p.f.schemaSubject})
		if err != nil {
			return err
		}
		p.producers[topic] = prod
	}
	attrs := p.attrs
	if len(r.attrs) > 0 {
		attrs = make(map[string]string, len(r.attrs)+len(p.attrs))
		for k, v := range r.attrs {
			attrs[k] = v
		}
		for k, v := range p.attrs {
			attrs[k] = v
		}
	}
	opts := []client.SendOption{client.WithAttributes(attrs)}
	switch {
	case p.keySet:
		opts = append(opts, client.WithKey(p.f.key))
	case r.key != nil:
		opts = append(opts, client.WithKey(*r.key))
	}
	if r.schemaID != 0 && p.f.schemaSubject == "" {
		opts = append(opts, client.WithSchema(r.schemaID, r.schemaVersion))
	}
	_, err := prod.Send(ctx, r.payload, opts...)
	return err
}

func (p *publisher) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, prod := range p.producers {
		prod.Close(ctx)
	}
}
