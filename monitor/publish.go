package monitor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/grpc/codes"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/internal/jsonl"
)

// The names of the producers Replay and Produce create (the broker keeps a producer per name and topic, so
// the same names are reused).
const (
	replayProducer  = "console-replay"
	produceProducer = "console-produce"
)

// publisher returns the client for an action that publishes, and a context that also ends when the
// monitor closes.
func (m *Monitor) publisher(ctx context.Context, what string) (*client.Client, *client.Admin, context.Context, func(), error) {
	if m.opts.ReadOnly {
		return nil, nil, nil, nil, fmt.Errorf("%s: %w", what, ErrReadOnly)
	}
	m.amu.Lock()
	c, admin, closed := m.c, m.admin, m.closed
	m.amu.Unlock()
	switch {
	case closed:
		return nil, nil, nil, nil, fmt.Errorf("%s: %w", what, ErrClosed)
	case c == nil:
		return nil, nil, nil, nil, fmt.Errorf("%s: %w", what, ErrNoClient)
	}
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(m.ctx, cancel)
	return c, admin, ctx, func() { stop(); cancel() }, nil
}

// openProducer creates a producer named name on topic with the topic's dispatch strategy: the admin API's
// (or the last Refresh's) answer when there is one; else Reliable, then NonReliable when the broker says
// the topic is not reliable. A topic that does not exist is created reliable. A partitioned topic's base
// name gets a producer of every partition.
func (m *Monitor) openProducer(ctx context.Context, c *client.Client, admin *client.Admin, topic, name string) (*client.Producer, error) {
	reliable, known := true, false
	if admin != nil {
		d, err := admin.DescribeTopic(ctx, topic)
		switch {
		case err == nil:
			reliable, known = d.Reliable, true
		case errors.Is(err, client.ErrTopicNotFound):
			known = true // created reliable (unless it is a partitioned topic's base name: see below)
		}
	}
	if !known {
		if r := m.reliable.Load(); r != nil {
			if v, ok := (*r)[topic]; ok {
				reliable = v
			}
		}
	}
	cfg := client.ProducerConfig{Topic: topic, Name: name, Dispatch: dispatchOf(reliable)}
	p, err := c.NewProducer(ctx, cfg)
	if errors.Is(err, client.ErrAlreadyExists) {
		// A partitioned topic's base name: publish to its partitions, as its producers do.
		if all, perr := c.Partitions(ctx, topic); perr == nil {
			if parts := partitionsOf(topic, all); len(parts) > 0 {
				cfg.Partitions = len(parts)
				if admin != nil {
					if d, derr := admin.DescribeTopic(ctx, parts[0]); derr == nil {
						cfg.Dispatch = dispatchOf(d.Reliable)
					}
				}
				p, err = c.NewProducer(ctx, cfg)
			}
		}
	}
	if errors.Is(err, client.ErrDispatchMismatch) {
		cfg.Dispatch = dispatchOf(cfg.Dispatch != client.Reliable)
		p, err = c.NewProducer(ctx, cfg)
	}
	if errors.Is(err, client.ErrAlreadyExists) && cfg.Partitions == 0 {
		// The client's error names the producer and the topic.
		err = fmt.Errorf("%w (one of that name is open already: is another replay or produce still running?)", err)
	}
	return p, err
}

func dispatchOf(reliable bool) client.DispatchStrategy {
	if reliable {
		return client.Reliable
	}
	return client.NonReliable
}

// Replay re-publishes msgs in order, each to topic (or, when topic is "", to the topic or partition it came
// from), with its payload, its key (when it had one), its schema id and version (when it had them, so an
// enforce topic of the same subject takes it) and its attributes plus AttrReplayedFrom = "<topic>@<offset>"
// of the original (see Backend.Replay). It uses a producer "console-replay" per target
// topic, with the topic's dispatch strategy (see Produce), closed at the end. progress, when not nil, is
// called after each message sent. It stops at the first failure, or when ctx ends or the monitor closes,
// and returns what it sent with the error (wrapped, also LastError). It fails with ErrReadOnly, ErrNoClient
// or ErrClosed before sending anything.
func (m *Monitor) Replay(ctx context.Context, msgs []Message, topic string, progress func(done, total int)) (ReplayResult, error) {
	res, err := m.replay(ctx, msgs, topic, progress)
	return res, m.failed(err)
}

func (m *Monitor) replay(ctx context.Context, msgs []Message, topic string, progress func(done, total int)) (ReplayResult, error) {
	what := "replay " + plural(int64(len(msgs)), "message")
	if topic != "" {
		what += " to " + topic
	}
	c, admin, ctx, done, err := m.publisher(ctx, what)
	if err != nil {
		return ReplayResult{}, err
	}
	defer done()
	var res ReplayResult
	producers := map[string]*client.Producer{}
	defer func() {
		for _, p := range producers {
			m.closeProducer(p)
		}
	}()
	for i, msg := range msgs {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("%s: stopped after %d: %w", what, res.Sent, err)
		}
		target := topic
		if target == "" {
			target = msg.Topic
		}
		p := producers[target]
		if p == nil {
			p, err = m.openProducer(ctx, c, admin, target, replayProducer)
			if err != nil {
				// The client's error names the producer and the target topic.
				return res, fmt.Errorf("replay: stopped after %d of %d: %w", res.Sent, len(msgs), err)
			}
			producers[target] = p
			res.Topics = append(res.Topics, target)
		}
		attrs := make(map[string]string, len(msg.Attributes)+1)
		maps.Copy(attrs, msg.Attributes)
		attrs[AttrReplayedFrom] = msg.Topic + "@" + strconv.FormatUint(msg.Offset, 10)
		opts := []client.SendOption{client.WithAttributes(attrs)}
		if msg.HasKey {
			opts = append(opts, client.WithKey(msg.Key))
		}
		if msg.SchemaID != 0 {
			opts = append(opts, client.WithSchema(msg.SchemaID, msg.SchemaVersion))
		}
		if _, err := p.Send(ctx, msg.Payload, opts...); err != nil {
			// The client's error names the target topic.
			return res, fmt.Errorf("replay: message %d of %d (%s offset %d): %w", i+1, len(msgs), msg.Topic, msg.Offset, err)
		}
		res.Sent++
		res.Bytes += int64(len(msg.Payload))
		if progress != nil {
			progress(i+1, len(msgs))
		}
	}
	return res, nil
}

// Produce publishes one message with payload to topic through a producer "console-produce" created for it
// and closed after, with the topic's dispatch strategy: the admin API's answer when an admin client is
// attached (a topic that does not exist is created reliable), else Reliable, then NonReliable when the
// topic is not reliable. It fails with ErrReadOnly, ErrNoClient, ErrClosed or the client's error, wrapped
// (also LastError).
func (m *Monitor) Produce(ctx context.Context, topic string, payload []byte) error {
	return m.failed(m.produce(ctx, topic, payload))
}

func (m *Monitor) produce(ctx context.Context, topic string, payload []byte) error {
	what := "produce to " + topic
	c, admin, ctx, done, err := m.publisher(ctx, what)
	if err != nil {
		return err
	}
	defer done()
	// The client's errors name the topic.
	p, err := m.openProducer(ctx, c, admin, topic, produceProducer)
	if err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	defer m.closeProducer(p)
	if _, err := p.Send(ctx, payload); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	return nil
}

// record converts a message to the JSON lines form of `consume --jsonl`, by the same rules (jsonl.FromMessage).
func record(msg Message) jsonl.Record {
	return jsonl.FromMessage(&client.Message{
		ID:            client.MessageID{ProducerID: msg.ProducerID, Topic: msg.Topic, BrokerAddr: msg.BrokerAddr, Offset: msg.Offset},
		Payload:       msg.Payload,
		PublishTime:   msg.PublishTime,
		ProducerName:  msg.ProducerName,
		Attributes:    msg.Attributes,
		RoutingKey:    msg.Key,
		HasRoutingKey: msg.HasKey,
		SchemaID:      msg.SchemaID,
		SchemaVersion: msg.SchemaVersion,
		Subscription:  msg.Subscription,
	})
}

// Export writes msgs to path as JSON lines in the format of `consume --jsonl` (see internal/jsonl), which
// `produce --from-jsonl` replays, and returns how many it wrote. It writes a temporary file in the same
// directory and renames it over path: path is never left half-written. An existing file keeps its
// permissions; a new one gets 0644 (0600 would hide it from the user's other tools; payloads are the user's
// own). Errors are wrapped (and become LastError). Export works in read-only mode: it changes nothing on the
// broker.
func (m *Monitor) Export(path string, msgs []Message) (int, error) {
	n, err := export(path, msgs)
	if err != nil {
		err = fmt.Errorf("export %d message(s) to %s: %w", len(msgs), path, err)
	}
	return n, m.failed(err)
}

func export(path string, msgs []Message) (n int, err error) {
	mode := fs.FileMode(0o644)
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSymlink != 0 { // write through the link, not over it
			if path, err = filepath.EvalSymlinks(path); err != nil {
				return 0, err
			}
			if fi, err = os.Stat(path); err != nil {
				return 0, err
			}
		}
		if !fi.Mode().IsRegular() {
			return 0, fmt.Errorf("%s is not a regular file", path)
		}
		mode = fi.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 64<<10)
	w := jsonl.NewWriter(bw)
	for _, msg := range msgs {
		if err := w.Write(record(msg)); err != nil {
			return 0, err
		}
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	if err := f.Chmod(mode); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, err
	}
	return len(msgs), nil
}

// SchemaSubject returns the subject of schema id through the schema registry of the attached client (or,
// without one, of the admin client), and caches it. Id 0 is "" (no schema); an id the registry does not
// know is "" and no error; without a client or admin client it is "" and ErrNoClient; a failed call is ""
// and its error (wrapped; not LastError: the console asks in passing). Failures are not cached.
func (m *Monitor) SchemaSubject(ctx context.Context, id uint64) (string, error) {
	if id == 0 {
		return "", nil
	}
	m.mu.Lock()
	subject, ok := m.subjects[id]
	m.mu.Unlock()
	if ok {
		return subject, nil
	}
	c, admin, _ := m.attached()
	var reg *client.SchemaRegistry
	switch {
	case c != nil:
		reg = c.Schemas()
	case admin != nil:
		reg = admin.Schemas()
	default:
		return "", fmt.Errorf("subject of schema %d: %w", id, ErrNoClient)
	}
	info, err := reg.Get(ctx, id, nil)
	if err != nil {
		if isNotFound(err) {
			return "", nil
		}
		return "", fmt.Errorf("subject of schema %d: %w", id, err)
	}
	m.mu.Lock()
	m.subjects[id] = info.Subject
	m.mu.Unlock()
	return info.Subject, nil
}

// isNotFound reports whether a registry call failed because the registry does not know the schema.
func isNotFound(err error) bool {
	var ae *client.APIError
	return errors.As(err, &ae) && ae.Code == codes.NotFound
}
