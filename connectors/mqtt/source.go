package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/danube-console/danube-console/connectors"
)

// Attribute names of source records.
const (
	// AttrTopic is the MQTT topic the message was published to.
	AttrTopic = "mqtt-topic"
	// AttrQoS is the QoS the message was delivered with ("0", "1" or "2").
	AttrQoS = "mqtt-qos"
	// AttrRetained is "true" for a retained message the broker sent on subscribing, else "false".
	AttrRetained = "mqtt-retained"
)

const (
	// bufferSize is how many received messages wait for Read. QoS 1 and 2 messages are also bounded by the
	// broker's in-flight window (mosquitto: max_inflight_messages, 20 by default), as none is acked before
	// Danube acked it.
	bufferSize = 1024
	// maxBatch is the most records one Read returns.
	maxBatch = 256
)

// received is a message with the client that received it (its ack goes back through that client).
type received struct {
	cl  paho.Client
	msg paho.Message
}

// Source is the "mqtt" source. Its methods follow the connectors.Source contract; Health may be called
// from any goroutine.
type Source struct {
	conn         connector
	filters      map[string]byte
	cleanSession bool
	keyFromTopic bool

	msgs chan received // filled by paho's handler goroutines, drained by Read
	done chan struct{} // closed by Close: handlers blocked on msgs give up

	mu     sync.Mutex
	sess   *session // nil when not connected
	closed bool
}

// session is one connection to the MQTT broker.
type session struct {
	cl    paho.Client
	lost  chan struct{} // closed when the connection is lost
	cause error         // why; set before lost is closed
}

// NewSource builds the source from validated settings; a bad broker URL or topic filter is a
// connectors.KindConfig error naming the key. NewSource does not connect.
func NewSource(cfg connectors.Config, res connectors.Resources) (*Source, error) {
	cs, err := parseConnSettings(cfg, res)
	if err != nil {
		return nil, err
	}
	s := &Source{
		conn:         connector{cs: cs, log: res.Logger},
		filters:      map[string]byte{},
		cleanSession: cfg.Bool(keyCleanSession),
		keyFromTopic: cfg.Bool(keyKeyFromTopic),
		msgs:         make(chan received, bufferSize),
		done:         make(chan struct{}),
	}
	if s.conn.log == nil {
		s.conn.log = slog.New(slog.DiscardHandler)
	}
	topics := cfg.Strings(keyTopics)
	if len(topics) == 0 {
		return nil, configError(keyTopics, errors.New("give at least one MQTT topic filter"))
	}
	for _, f := range topics {
		if err := checkFilter(f); err != nil {
			return nil, configError(keyTopics, err)
		}
		s.filters[f] = cs.qos
	}
	return s, nil
}

// Connect connects to the MQTT broker (unless connected) with manual acknowledgements and subscribes to
// the topic filters. With clean_session = false the broker then resends the messages of the session that
// were never acked. A refused login or subscription is a configuration error; an unreachable broker is
// Retryable.
func (s *Source) Connect(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return connectors.Fatal(ErrClosed)
	}
	if s.sess != nil {
		if s.sess.cl.IsConnectionOpen() {
			return nil
		}
		s.sess.cl.Disconnect(0)
		s.sess = nil
	}
	sess := &session{lost: make(chan struct{})}
	var once sync.Once
	opts := s.conn.cs.options().
		SetCleanSession(s.cleanSession).
		// Handlers run in their own goroutines and may block until Read takes the message; paho then acks
		// nothing by itself: the AckFunc does, after Danube acked.
		SetOrderMatters(false).
		SetAutoAckDisabled(true).
		// A durable session may deliver messages before Subscribe returns: they go to the default handler.
		SetDefaultPublishHandler(s.handle).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			once.Do(func() {
				sess.cause = err
				close(sess.lost)
			})
		})
	cl, err := s.conn.connect(ctx, opts)
	if err != nil {
		return err
	}
	// nil callback: every message goes to the default handler once, even when several filters match.
	tok := cl.SubscribeMultiple(s.filters, nil)
	if err := wait(ctx, tok); err != nil {
		cl.Disconnect(0)
		return connectors.Retryable(fmt.Errorf("mqtt: subscribe: %w", err))
	}
	for filter, granted := range tok.(*paho.SubscribeToken).Result() {
		if granted == 0x80 {
			cl.Disconnect(0)
			return configError(keyTopics, fmt.Errorf("the broker refused the subscription to %q", filter))
		}
	}
	sess.cl = cl
	s.sess = sess
	return nil
}

// handle is paho's message handler; it hands the message to Read, or drops it when the source closes (it
// is not acked, so the broker keeps it for the session).
func (s *Source) handle(cl paho.Client, m paho.Message) {
	select {
	case s.msgs <- received{cl: cl, msg: m}:
	case <-s.done:
	}
}

// Read waits for at least one MQTT message and returns those available (at most 256) as records. When the
// connection is lost, it first returns the messages already received, then a Retryable error wrapping
// ErrNotConnected (the runtime then calls Connect). The AckFunc acks the messages to the MQTT broker when called with
// nil or an InvalidData error (Danube refused some for good); with another error it leaves them unacked (the broker redelivers them to the next session when
// clean_session is false). It returns an error when the connection that received a message is gone, as
// that ack cannot be sent: the broker will redeliver it.
func (s *Source) Read(ctx context.Context) ([]connectors.Record, connectors.AckFunc, error) {
	s.mu.Lock()
	sess, closed := s.sess, s.closed
	s.mu.Unlock()
	if closed {
		return nil, nil, connectors.Fatal(ErrClosed)
	}
	if sess == nil {
		return nil, nil, connectors.Retryable(ErrNotConnected)
	}
	var first received
	select {
	case first = <-s.msgs:
	case <-sess.lost:
		select {
		case first = <-s.msgs:
		default:
			return nil, nil, connectors.Retryable(fmt.Errorf("%w: connection lost: %w", ErrNotConnected, sess.cause))
		}
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-s.done:
		return nil, nil, connectors.Fatal(ErrClosed)
	}
	batch := []received{first}
drain:
	for len(batch) < maxBatch {
		select {
		case r := <-s.msgs:
			batch = append(batch, r)
		default:
			break drain
		}
	}
	records := make([]connectors.Record, len(batch))
	for i, r := range batch {
		m := r.msg
		records[i] = connectors.Record{
			Payload: m.Payload(),
			Attributes: map[string]string{
				AttrTopic:    m.Topic(),
				AttrQoS:      strconv.Itoa(int(m.Qos())),
				AttrRetained: strconv.FormatBool(m.Retained()),
			},
		}
		if s.keyFromTopic {
			records[i].Key, records[i].HasKey = m.Topic(), true
		}
	}
	ack := func(_ context.Context, err error) error {
		// Refused for good by Danube (InvalidData, counted by the runtime): acked like the published ones, as a
		// redelivery could only be refused again.
		if err != nil && connectors.KindOf(err) != connectors.KindInvalidData {
			return nil // not acked: the broker redelivers to the next session
		}
		var gone int
		for _, r := range batch {
			if r.msg.Qos() > 0 && !r.cl.IsConnectionOpen() {
				gone++
				continue
			}
			r.msg.Ack()
		}
		if gone > 0 {
			return fmt.Errorf("mqtt: %d of %d messages cannot be acked: their connection is gone (the broker redelivers them)", gone, len(batch))
		}
		return nil
	}
	return records, ack, nil
}

// Health reports whether the connection to the MQTT broker is open.
func (s *Source) Health(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.sess == nil || !s.sess.cl.IsConnectionOpen() {
		return ErrNotConnected
	}
	return nil
}

// Close disconnects from the MQTT broker without acking what was not acked yet (the broker keeps those
// messages in the session when clean_session is false). Acks already given are written before the
// DISCONNECT packet; Close waits for that up to 5 s or ctx's deadline, and for the source's goroutines.
func (s *Source) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	sess := s.sess
	s.sess = nil
	s.mu.Unlock()
	if sess != nil {
		disconnect(ctx, sess.cl)
	}
	s.conn.wg.Wait()
	return nil
}
