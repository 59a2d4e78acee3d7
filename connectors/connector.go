// Package connectors is the connector runtime danube-console hosts in-process: sources that bring data from
// outside into Danube topics and sinks that deliver topic messages to outside systems, each running under
// its own supervisor, with at-least-once delivery end to end.
//
// A connector implements Source or Sink and registers itself by kind in an Env (one sub-package per
// connector; connectors/all bundles them). The runtime owns everything else: the Danube producer or
// consumer, batching, rate limiting, retries with backoff, acks and nacks, restarts, and metrics.
//
// Delivery is at least once in both directions:
//   - a source's records are acknowledged upstream (AckFunc) only after Danube acknowledged every one of
//     them; a record Danube refused is retried, never dropped;
//   - a sink's messages are acknowledged to Danube only after Write succeeded for them; a failed part of a
//     batch is retried (Retryable), or nacked at once with a reason (InvalidData) so that the subscription's
//     failure policy and dead-letter topic take over.
package connectors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/danube-console/danube-console/client"
)

// Record is what a source publishes: one Danube message.
type Record struct {
	// Payload is the message body.
	Payload []byte
	// Key is the routing key when HasKey is set (key-shared routing and partition choice).
	Key    string
	HasKey bool
	// Attributes are the message's attributes.
	Attributes map[string]string
	// Topic, when set, overrides the connector's topic for this record (e.g. webhook routes).
	Topic string
}

// AckFunc settles a batch a Source returned. The runtime calls it exactly once, when every record of the
// batch is settled:
//   - nil: Danube acknowledged every record; the source commits its upstream position, answers its caller
//     or acks its broker;
//   - an error of kind KindInvalidData: Danube acknowledged every record but some that it can never take
//     (too large, refused by the topic's schema), which were counted as failed and reported; retrying them
//     cannot help, so the source commits past them too (or tells its caller the data was refused);
//   - any other error: some records were not published (the runtime is stopping); the source must offer them
//     again (it does not commit, and re-reads from its last committed position after Connect).
type AckFunc func(ctx context.Context, err error) error

// Source brings records from an outside system into Danube.
//
// The runtime calls Connect before the first Read and again after a failure; Read from one goroutine at a
// time; Close once, after the last Read returned. The ctx of Read is cancelled when the connector stops.
type Source interface {
	// Connect establishes the connection to the outside system.
	Connect(ctx context.Context) error
	// Read blocks until at least one record is available and returns a batch with the function that settles
	// it. ErrEndOfInput says the source has nothing more (e.g. a generator that reached its count): the
	// connector then stops as completed. Other errors are classified by their kind (see Retryable).
	Read(ctx context.Context) ([]Record, AckFunc, error)
	// Close releases the connection. Batches not settled by then are settled with an error first.
	Close(ctx context.Context) error
}

// Sink delivers Danube messages to an outside system.
//
// The runtime calls Connect before the first Write and again after a failure; Write from one goroutine at a
// time; Close once. The messages are read-only.
type Sink interface {
	// Connect establishes the connection to the outside system.
	Connect(ctx context.Context) error
	// Write delivers a batch. nil means every message was delivered. A *BatchError marks individual
	// messages as failed, the others delivered. Any other error applies to the whole batch; its kind
	// decides what happens (Retryable: retried with backoff, then nacked with a delay; InvalidData: nacked at
	// once with the reason; Fatal: the connector restarts).
	Write(ctx context.Context, batch []*client.Message) error
	// Close flushes and releases the connection.
	Close(ctx context.Context) error
}

// HealthChecker is implemented by connectors that can tell whether their outside system is healthy; a
// failing check makes the connector Degraded until it passes again.
type HealthChecker interface {
	Health(ctx context.Context) error
}

// ErrEndOfInput is returned by Source.Read when the source has nothing more to read.
var ErrEndOfInput = errors.New("connectors: end of input")

// Kind classifies a connector error and decides the runtime's reaction.
type Kind int

// Error kinds.
const (
	// KindRetryable: a transient failure; retried with jittered backoff (for sinks, then nacked with a delay
	// so the broker redelivers under its failure policy). Errors without a kind are retryable.
	KindRetryable Kind = iota
	// KindInvalidData: the record or message can never succeed; a sink nacks it at once with the reason (the
	// subscription's dead-letter topic takes it), a source reports and skips it.
	KindInvalidData
	// KindFatal: the connector cannot go on; its supervisor restarts it with backoff.
	KindFatal
	// KindConfig: the configuration is wrong; the connector refuses to start and says why.
	KindConfig
)

func (k Kind) String() string {
	switch k {
	case KindRetryable:
		return "retryable"
	case KindInvalidData:
		return "invalid-data"
	case KindFatal:
		return "fatal"
	case KindConfig:
		return "config"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// kindError attaches a Kind to an error.
type kindError struct {
	kind Kind
	err  error
}

func (e *kindError) Error() string { return e.err.Error() }
func (e *kindError) Unwrap() error { return e.err }

func withKind(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &kindError{kind: k, err: err}
}

// Retryable marks err as transient.
func Retryable(err error) error { return withKind(KindRetryable, err) }

// InvalidData marks err as a problem of the data itself, which no retry can fix.
func InvalidData(err error) error { return withKind(KindInvalidData, err) }

// Fatal marks err as one the connector cannot recover from without a restart.
func Fatal(err error) error { return withKind(KindFatal, err) }

// ConfigError marks err as a configuration mistake.
func ConfigError(err error) error { return withKind(KindConfig, err) }

// KindOf returns the kind of err (the outermost one set; KindConfig for a *ConfigErrors); errors without a
// kind are KindRetryable.
func KindOf(err error) Kind {
	var ke *kindError
	if errors.As(err, &ke) {
		return ke.kind
	}
	var ce *ConfigErrors
	if errors.As(err, &ce) {
		return KindConfig
	}
	return KindRetryable
}

// BatchError reports which messages of a batch failed; the others were delivered.
type BatchError struct {
	// Failed maps the index of a failed message in the batch to its error (with its kind).
	Failed map[int]error
}

// batchErrorIndices is how many indices of failed messages BatchError.Error names.
const batchErrorIndices = 5

// Error says how many messages failed, names the first few by index (in order) and quotes the error of the
// first: "3 of the batch failed (#0, #4, #7), e.g. #0: …". The same failures always give the same message.
func (e *BatchError) Error() string {
	if len(e.Failed) == 0 {
		return "batch failed"
	}
	idx := slices.Sorted(maps.Keys(e.Failed))
	first := idx[0]
	if len(idx) == 1 {
		return fmt.Sprintf("1 of the batch failed: #%d: %v", first, e.Failed[first])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d of the batch failed (", len(idx))
	for n, i := range idx[:min(len(idx), batchErrorIndices)] {
		if n > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "#%d", i)
	}
	if more := len(idx) - batchErrorIndices; more > 0 {
		fmt.Fprintf(&b, " and %d more", more)
	}
	fmt.Fprintf(&b, "), e.g. #%d: %v", first, e.Failed[first])
	return b.String()
}

// Fail records that message i of the batch failed with err.
func (e *BatchError) Fail(i int, err error) {
	if e.Failed == nil {
		e.Failed = make(map[int]error)
	}
	e.Failed[i] = err
}

// Resources are what a connector constructor gets besides its configuration.
type Resources struct {
	// Name is the connector instance's name.
	Name string
	// Logger logs for this instance (to the console's log file, never the terminal).
	Logger *slog.Logger
	// Now is the clock (time.Now unless a test replaces it).
	Now func() time.Time
}

// Snippet returns s cut to at most about n bytes on a rune boundary, ending in "…" when it was cut: for
// quoting outside data (a path, a header, a response body) in an error or a reply without letting it grow.
func Snippet(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
