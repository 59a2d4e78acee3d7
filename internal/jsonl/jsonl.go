// Package jsonl is the JSON Lines form of Danube messages that `consume --jsonl` writes, `produce
// --from-jsonl` replays, and the console exports: one JSON object per message, with its ids, offset, publish
// time, producer, attributes, key, schema and payload (as text when it is valid UTF-8, base64 otherwise).
package jsonl

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/danube-console/danube-console/client"
)

// Record is one message. Exactly one of Payload and PayloadBase64 is set.
type Record struct {
	Topic         string            `json:"topic"`
	ProducerID    uint64            `json:"producer_id,omitempty"`
	BrokerAddr    string            `json:"broker_addr,omitempty"`
	Offset        uint64            `json:"offset"`
	PublishTime   time.Time         `json:"publish_time"`
	Producer      string            `json:"producer,omitempty"`
	RequestID     uint64            `json:"request_id,omitempty"`
	Subscription  string            `json:"subscription,omitempty"`
	Key           *string           `json:"key,omitempty"`
	Attributes    map[string]string `json:"attributes,omitempty"`
	SchemaID      uint64            `json:"schema_id,omitempty"`
	SchemaVersion uint32            `json:"schema_version,omitempty"`
	Payload       *string           `json:"payload,omitempty"`
	PayloadBase64 *string           `json:"payload_base64,omitempty"`
}

// FromMessage describes a received message.
func FromMessage(m *client.Message) Record {
	r := Record{
		Topic:         m.ID.Topic,
		ProducerID:    m.ID.ProducerID,
		BrokerAddr:    m.ID.BrokerAddr,
		Offset:        m.ID.Offset,
		PublishTime:   m.PublishTime.UTC(),
		Producer:      m.ProducerName,
		RequestID:     m.RequestID,
		Subscription:  m.Subscription,
		Attributes:    m.Attributes,
		SchemaID:      m.SchemaID,
		SchemaVersion: m.SchemaVersion,
	}
	if m.HasRoutingKey {
		k := m.RoutingKey
		r.Key = &k
	}
	r.SetPayload(m.Payload)
	return r
}

// SetPayload stores p as text when it is valid UTF-8, as base64 otherwise.
func (r *Record) SetPayload(p []byte) {
	r.Payload, r.PayloadBase64 = nil, nil
	if utf8.Valid(p) {
		s := string(p)
		r.Payload = &s
		return
	}
	s := base64.StdEncoding.EncodeToString(p)
	r.PayloadBase64 = &s
}

// Bytes returns the payload.
func (r Record) Bytes() ([]byte, error) {
	switch {
	case r.Payload != nil && r.PayloadBase64 != nil:
		return nil, errors.New("both payload and payload_base64 are set")
	case r.Payload != nil:
		return []byte(*r.Payload), nil
	case r.PayloadBase64 != nil:
		b, err := base64.StdEncoding.DecodeString(*r.PayloadBase64)
		if err != nil {
			return nil, fmt.Errorf("payload_base64: %w", err)
		}
		return b, nil
	}
	return nil, errors.New("the record has no payload (payload or payload_base64)")
}

// Writer writes records, one per line.
type Writer struct {
	enc *json.Encoder
}

// NewWriter writes to w.
func NewWriter(w io.Writer) *Writer {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return &Writer{enc: enc}
}

// Write writes one record and its newline.
func (w *Writer) Write(r Record) error { return w.enc.Encode(r) }

// Reader reads records, one per line; blank lines are skipped.
type Reader struct {
	sc   *bufio.Scanner
	line int
}

// maxLine bounds one record's line.
const maxLine = 64 << 20

// NewReader reads from r.
func NewReader(r io.Reader) *Reader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	return &Reader{sc: sc}
}

// Next returns the next record, io.EOF at the end, or an error naming the line that is not a record.
func (r *Reader) Next() (Record, error) {
	for r.sc.Scan() {
		r.line++
		b := r.sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(b, &rec); err != nil {
			return rec, fmt.Errorf("line %d: %w", r.line, err)
		}
		if _, err := rec.Bytes(); err != nil {
			return rec, fmt.Errorf("line %d: %w", r.line, err)
		}
		return rec, nil
	}
	if err := r.sc.Err(); err != nil {
		return Record{}, fmt.Errorf("line %d: %w", r.line+1, err)
	}
	return Record{}, io.EOF
}

// Line returns the number of the line Next read last.
func (r *Reader) Line() int { return r.line }
