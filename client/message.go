package client

import (
	"context"
	"time"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// MessageID identifies a message: the producer that sent it, the topic (partition) it is on, the broker that
// stored it and, on reliable topics, its offset (0 on non-reliable topics).
type MessageID struct {
	ProducerID uint64
	Topic      string
	BrokerAddr string
	Offset     uint64
}

// Message is a message as a consumer receives it. It is a read-only view of the wire message: the client
// shares it with observers, so do not modify it.
type Message struct {
	ID           MessageID
	Payload      []byte
	PublishTime  time.Time
	ProducerName string
	Attributes   map[string]string
	// RoutingKey is the key given by SendWithKey; HasRoutingKey tells an empty key from none.
	RoutingKey    string
	HasRoutingKey bool
	// SchemaID and SchemaVersion are the schema the producer stamped on the message (0 when none).
	SchemaID      uint64
	SchemaVersion uint32
	// RequestID is the producer's request id of the send.
	RequestID uint64
	// Subscription is the subscription the message was received on.
	Subscription string
	// ReceivedAt is when the client received the message.
	ReceivedAt time.Time

	consumer *topicConsumer
	msgID    *danubepb.MsgID
}

// Ack acknowledges the message on the subscription it was received on.
func (m *Message) Ack(ctx context.Context) error {
	if m.consumer == nil {
		return ErrClosed
	}
	return m.consumer.ack(ctx, m)
}

// Nack asks the broker to deliver the message again after at least delay (the subscription's failure
// policy may wait longer); reason is recorded with it.
func (m *Message) Nack(ctx context.Context, delay time.Duration, reason string) error {
	if m.consumer == nil {
		return ErrClosed
	}
	return m.consumer.nack(ctx, m, delay, reason)
}

// fromWire turns a delivered wire message into a Message.
func fromWire(w *danubepb.StreamMessage, sub string, tc *topicConsumer, now time.Time) *Message {
	m := &Message{
		Payload:      w.GetPayload(),
		PublishTime:  time.UnixMilli(int64(w.GetPublishTime())),
		ProducerName: w.GetProducerName(),
		Attributes:   w.GetAttributes(),
		RequestID:    w.GetRequestId(),
		Subscription: sub,
		ReceivedAt:   now,
		consumer:     tc,
		msgID:        w.GetMsgId(),
	}
	if id := w.GetMsgId(); id != nil {
		m.ID = MessageID{ProducerID: id.GetProducerId(), Topic: id.GetTopicName(), BrokerAddr: id.GetBrokerAddr(), Offset: id.GetTopicOffset()}
	}
	if w.RoutingKey != nil {
		m.RoutingKey, m.HasRoutingKey = *w.RoutingKey, true
	}
	if w.SchemaId != nil {
		m.SchemaID = *w.SchemaId
	}
	if w.SchemaVersion != nil {
		m.SchemaVersion = *w.SchemaVersion
	}
	return m
}
