package mqtt

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"text/template"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/danube-console/danube-console/client"
	"github.com/danube-console/danube-console/connectors"
)

// TopicData is what an mqtt_topic template sees of a message.
type TopicData struct {
	// Key is the message's routing key ("" when it has none).
	Key string
	// Topic is the Danube topic the message was consumed from.
	Topic string
	// Attributes are the message's attributes; a missing one renders as "".
	Attributes map[string]string
	// Producer is the name of the producer that sent the message.
	Producer string
}

// Sink is the "mqtt-sink" sink. Its methods follow the connectors.Sink contract; Health may be called from
// any goroutine.
type Sink struct {
	conn           connector
	fixedTopic     string             // when mqtt_topic has no template action
	tmpl           *template.Template // otherwise
	retain         bool
	maxPayload     int
	publishTimeout time.Duration

	mu     sync.Mutex
	client paho.Client
	closed bool
}

// NewSink builds the sink from validated settings; a bad broker URL, a topic template that does not parse
// or render, or a fixed topic with a wildcard is a connectors.KindConfig error naming the key. NewSink does
// not connect.
func NewSink(cfg connectors.Config, res connectors.Resources) (*Sink, error) {
	cs, err := parseConnSettings(cfg, res)
	if err != nil {
		return nil, err
	}
	s := &Sink{
		conn:           connector{cs: cs, log: res.Logger},
		retain:         cfg.Bool(keyRetain),
		maxPayload:     int(cfg.Int(keyMaxPayloadBytes)),
		publishTimeout: cfg.Duration(keyPublishTimeout),
	}
	if s.conn.log == nil {
		s.conn.log = slog.New(slog.DiscardHandler)
	}
	topic := cfg.String(keyMQTTTopic)
	if !strings.Contains(topic, "{{") {
		if err := checkTopicName(topic); err != nil {
			return nil, configError(keyMQTTTopic, err)
		}
		s.fixedTopic = topic
		return s, nil
	}
	s.tmpl, err = template.New(keyMQTTTopic).Option("missingkey=zero").Parse(topic)
	if err != nil {
		return nil, configError(keyMQTTTopic, err)
	}
	var b strings.Builder
	if err := s.tmpl.Execute(&b, TopicData{Key: "k", Topic: "/default/t", Attributes: map[string]string{}}); err != nil {
		return nil, configError(keyMQTTTopic, err)
	}
	return s, nil
}

// Connect connects to the MQTT broker unless connected (a clean session: the sink keeps no state in the
// broker). A refused login is a configuration error; an unreachable broker is Retryable.
func (s *Sink) Connect(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return connectors.Fatal(ErrClosed)
	}
	if s.client != nil {
		if s.client.IsConnectionOpen() {
			return nil
		}
		s.client.Disconnect(0)
		s.client = nil
	}
	opts := s.conn.cs.options().
		SetCleanSession(true).
		SetWriteTimeout(s.publishTimeout)
	cl, err := s.conn.connect(ctx, opts)
	if err != nil {
		return err
	}
	s.client = cl
	return nil
}

// topic returns the MQTT topic of a message.
func (s *Sink) topic(m *client.Message) (string, error) {
	if s.tmpl == nil {
		return s.fixedTopic, nil
	}
	var b strings.Builder
	err := s.tmpl.Execute(&b, TopicData{Key: m.RoutingKey, Topic: m.ID.Topic, Attributes: m.Attributes, Producer: m.ProducerName})
	if err != nil {
		return "", fmt.Errorf("mqtt: rendering mqtt_topic: %w", err)
	}
	if err := checkTopicName(b.String()); err != nil {
		return "", fmt.Errorf("mqtt: rendered mqtt_topic: %w", err)
	}
	return b.String(), nil
}

// Write publishes the batch (pipelined, in order) and returns when the broker acknowledged every message
// (QoS 1: PUBACK; QoS 2: PUBCOMP; QoS 0: written to the connection), or publish_timeout or ctx ran out.
// Messages whose topic does not render to a valid topic name, or whose payload exceeds max_payload_bytes,
// fail as InvalidData in a *connectors.BatchError; publishes that failed (lost connection, timeout) are
// Retryable — for the whole batch when none was delivered, else as entries of the BatchError. Without an
// open connection the error wraps ErrNotConnected (the runtime then calls Connect).
func (s *Sink) Write(ctx context.Context, batch []*client.Message) error {
	if len(batch) == 0 {
		return nil
	}
	s.mu.Lock()
	cl, closed := s.client, s.closed
	s.mu.Unlock()
	if closed {
		return connectors.Fatal(ErrClosed)
	}
	if cl == nil || !cl.IsConnectionOpen() {
		return connectors.Retryable(ErrNotConnected)
	}
	ctx, cancel := context.WithTimeout(ctx, s.publishTimeout)
	defer cancel()

	berr := &connectors.BatchError{}
	tokens := make([]paho.Token, len(batch))
	for i, m := range batch {
		topic, err := s.topic(m)
		if err != nil {
			berr.Fail(i, connectors.InvalidData(err))
			continue
		}
		if len(m.Payload) > s.maxPayload {
			berr.Fail(i, connectors.InvalidData(fmt.Errorf("mqtt: payload of %d bytes exceeds max_payload_bytes (%d)", len(m.Payload), s.maxPayload)))
			continue
		}
		tokens[i] = cl.Publish(topic, s.conn.cs.qos, s.retain, m.Payload)
	}
	invalid := len(berr.Failed)
	var firstErr error
	for i, tok := range tokens {
		if tok == nil {
			continue
		}
		if err := wait(ctx, tok); err != nil {
			if !cl.IsConnectionOpen() {
				err = fmt.Errorf("%w: %w", ErrNotConnected, err)
			}
			err = connectors.Retryable(fmt.Errorf("mqtt: publish: %w", err))
			berr.Fail(i, err)
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	switch {
	case len(berr.Failed) == 0:
		return nil
	case invalid == 0 && len(berr.Failed) == len(batch):
		return firstErr // nothing was delivered, all for the same reason
	}
	return berr
}

// Health reports whether the connection to the MQTT broker is open.
func (s *Sink) Health(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.client == nil || !s.client.IsConnectionOpen() {
		return ErrNotConnected
	}
	return nil
}

// Close disconnects from the MQTT broker, waiting up to 5 s or ctx's deadline for the DISCONNECT packet to
// be written (Write does not return before its acknowledgements, so no publish is pending), and for the
// sink's goroutines.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	cl := s.client
	s.client = nil
	s.mu.Unlock()
	if cl != nil {
		disconnect(ctx, cl)
	}
	s.conn.wg.Wait()
	return nil
}
