package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/jsonl"
)

// ProduceConfig is what "produce" publishes, and how.
type ProduceConfig struct {
	Conn ConnConfig
	// Topic is the -t topic; "" only with FromJSONL, whose records name their topics.
	Topic string
	// The source of the messages: Message (when HasMessage), File, FromJSONL ("-" for stdin), or else the
	// lines of stdin.
	Message    string
	HasMessage bool
	File       string
	FromJSONL  string
	// Count repeats Message or File this many times (0: once), or else stops after this many messages.
	Count int
	// Rate is at most this many messages per second (0: as fast as possible).
	Rate  float64
	Attrs map[string]string
	// Key is the routing key of every message when HasKey (it may be empty).
	Key           string
	HasKey        bool
	Reliable      bool
	Partitions    int
	SchemaSubject string
	Name          string
}

// interruptGrace is how long a send in progress may still take after an interrupt.
const interruptGrace = 2 * time.Second

// ParseProduce parses the flags of "produce" and checks them. The help goes to stderr.
func ParseProduce(args []string, stderr io.Writer) (ProduceConfig, error) {
	var cfg ProduceConfig
	var attrs []string
	fs := newFlagSet("produce", stderr,
		[]string{"Usage: danube-console produce -t TOPIC [-m TEXT | --file PATH | --from-jsonl FILE] [flags]"},
		"Publishes -m, a file, replayed JSONL messages, or else each line of stdin as a message. Flags:")
	cfg.Conn.register(fs)
	fs.StringVarP(&cfg.Topic, "topic", "t", "", "topic to publish to, /namespace/topic (required, except with --from-jsonl)")
	fs.StringVarP(&cfg.Message, "message", "m", "", "publish this text")
	fs.StringVar(&cfg.File, "file", "", "publish the content of this file as one message")
	fs.StringVar(&cfg.FromJSONL, "from-jsonl", "", "replay the messages of a file written by 'consume --jsonl' (- for stdin), with their keys, attributes and schema ids")
	fs.IntVarP(&cfg.Count, "count", "c", 0, "with -m or --file: publish it this many times (default 1); otherwise stop after this many messages")
	fs.Float64Var(&cfg.Rate, "rate", 0, "at most this many messages per second (0: as fast as possible)")
	fs.StringArrayVarP(&attrs, "attr", "a", nil, "attribute key=value added to every message (repeatable)")
	fs.StringVar(&cfg.Key, "key", "", "routing key of every message (key-shared routing and partition choice)")
	fs.BoolVar(&cfg.Reliable, "reliable", false, "publish to a reliable topic (stored, acknowledged, redelivered)")
	fs.IntVar(&cfg.Partitions, "partitions", 0, "publish to a topic with this many partitions")
	fs.StringVar(&cfg.SchemaSubject, "schema-subject", "", "bind the topic to this registered schema subject and stamp its latest version")
	fs.StringVar(&cfg.Name, "name", "", "producer name (default: generated)")
	if err := parseFlags(fs, args, &cfg.Conn); err != nil {
		return cfg, err
	}
	cfg.HasMessage, cfg.HasKey = fs.Changed("message"), fs.Changed("key")
	if fs.NArg() > 0 {
		return cfg, usagef("unexpected argument %q (quote the message and pass it with -m)", fs.Arg(0))
	}
	sources := 0
	for _, set := range []bool{cfg.HasMessage, cfg.File != "", cfg.FromJSONL != ""} {
		if set {
			sources++
		}
	}
	switch {
	case sources > 1:
		return cfg, usagef("-m, --file and --from-jsonl are alternatives; give one")
	case cfg.Topic == "" && cfg.FromJSONL == "":
		return cfg, usagef("-t TOPIC is required")
	case cfg.Count < 0 || cfg.Rate < 0 || cfg.Partitions < 0:
		return cfg, usagef("--count, --rate and --partitions must not be negative")
	}
	var err error
	cfg.Attrs, err = parseAttrs(attrs)
	return cfg, asUsage(err)
}

// RunProduce publishes the configuration's messages until they are all sent or ctx is cancelled, and then
// prints how many it sent on s.Err. Stdin (for the lines, or --from-jsonl -) is s.In.
func RunProduce(ctx context.Context, cfg ProduceConfig, s Streams) error {
	next, closeInput, err := cfg.records(ctx, s.In)
	if err != nil {
		return err
	}
	defer closeInput()
	c, err := cfg.Conn.connect(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	p := &publisher{c: c, cfg: &cfg, producers: map[string]*client.Producer{}}
	defer p.close()
	var limiter *rate.Limiter
	if cfg.Rate > 0 {
		limiter = rate.NewLimiter(rate.Limit(cfg.Rate), 1)
	}
	start := time.Now()
	sent := 0
	for {
		rec, err := next()
		if errors.Is(err, io.EOF) || ctx.Err() != nil {
			break // the end, or interrupted
		}
		if err != nil {
			return fmt.Errorf("after %d messages: %w", sent, err)
		}
		if limiter != nil && limiter.Wait(ctx) != nil {
			break // interrupted
		}
		if err := p.sendWithGrace(ctx, rec); err != nil {
			if ctx.Err() != nil {
				break // interrupted: the message may not have been sent
			}
			return fmt.Errorf("after %d messages: %w", sent, err)
		}
		sent++
	}
	d := time.Since(start)
	fmt.Fprintf(s.Err, "sent %d messages in %v (%.0f msgs/s)\n", sent, d.Round(time.Millisecond), float64(sent)/max(d.Seconds(), 1e-9))
	return nil
}

// records returns the source of the messages, and a function that releases it.
func (cfg *ProduceConfig) records(ctx context.Context, stdin io.Reader) (next func() (record, error), closeInput func(), err error) {
	noop := func() {}
	switch {
	case cfg.HasMessage:
		return repeat([]byte(cfg.Message), max(cfg.Count, 1)), noop, nil
	case cfg.File != "":
		b, err := os.ReadFile(cfg.File)
		if err != nil {
			return nil, nil, err
		}
		return repeat(b, max(cfg.Count, 1)), noop, nil
	case cfg.FromJSONL == "-":
		in := interruptible(ctx, stdin)
		return fromJSONL(jsonl.NewReader(in), cfg.FromJSONL, cfg.Count), func() { in.Close() }, nil
	case cfg.FromJSONL != "":
		file, err := os.Open(cfg.FromJSONL)
		if err != nil {
			return nil, nil, err
		}
		return fromJSONL(jsonl.NewReader(file), cfg.FromJSONL, cfg.Count), func() { file.Close() }, nil
	}
	in := interruptible(ctx, stdin)
	return lines(in, cfg.Count), func() { in.Close() }, nil
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
	cfg       *ProduceConfig
	producers map[string]*client.Producer
}

// sendWithGrace sends r; a message being sent is not abandoned at once by an interrupt: its send has
// interruptGrace more to finish, so that the count printed is what the broker took.
func (p *publisher) sendWithGrace(ctx context.Context, r record) error {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(interruptGrace, cancel) })
	defer stop()
	return p.send(sctx, r)
}

func (p *publisher) producer(ctx context.Context, topic string) (*client.Producer, error) {
	if prod := p.producers[topic]; prod != nil {
		return prod, nil
	}
	dispatch := client.NonReliable
	if p.cfg.Reliable {
		dispatch = client.Reliable
	}
	prod, err := p.c.NewProducer(ctx, client.ProducerConfig{Topic: topic, Name: p.cfg.Name, Dispatch: dispatch,
		Partitions: p.cfg.Partitions, SchemaSubject: p.cfg.SchemaSubject})
	if err != nil {
		return nil, err
	}
	p.producers[topic] = prod
	return prod, nil
}

func (p *publisher) send(ctx context.Context, r record) error {
	topic := p.cfg.Topic
	if topic == "" {
		topic = r.topic
	}
	if topic == "" {
		return errors.New("the record names no topic; give one with -t")
	}
	prod, err := p.producer(ctx, topic)
	if err != nil {
		return err
	}
	attrs := p.cfg.Attrs
	if len(r.attrs) > 0 {
		attrs = make(map[string]string, len(r.attrs)+len(p.cfg.Attrs))
		for k, v := range r.attrs {
			attrs[k] = v
		}
		for k, v := range p.cfg.Attrs {
			attrs[k] = v
		}
	}
	opts := []client.SendOption{client.WithAttributes(attrs)}
	switch {
	case p.cfg.HasKey:
		opts = append(opts, client.WithKey(p.cfg.Key))
	case r.key != nil:
		opts = append(opts, client.WithKey(*r.key))
	}
	if r.schemaID != 0 && p.cfg.SchemaSubject == "" {
		opts = append(opts, client.WithSchema(r.schemaID, r.schemaVersion))
	}
	_, err = prod.Send(ctx, r.payload, opts...)
	return err
}

func (p *publisher) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, prod := range p.producers {
		prod.Close(ctx)
	}
}
