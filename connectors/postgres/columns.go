package postgres

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/danube-console/danube-console/client"
)

// source is where a column's value comes from.
type source int

const (
	srcPayload     source = iota // the payload, by payload_format
	srcKey                       // key_attribute or key_json_path
	srcAttr                      // attr:NAME
	srcTopic                     // the message's topic
	srcOffset                    // the message's topic offset
	srcPublishTime               // the message's publish time
	srcRoutingKey                // the message's routing key
	srcProducer                  // the producer's name
)

// column is one column the sink writes.
type column struct {
	name string
	src  source
	attr string // for srcAttr
}

// parseSource parses a columns value.
func parseSource(s string) (source, string, error) {
	switch {
	case strings.HasPrefix(s, "attr:"):
		if name := strings.TrimPrefix(s, "attr:"); name != "" {
			return srcAttr, name, nil
		}
		return 0, "", errors.New(`"attr:" needs an attribute name, e.g. attr:source`)
	case s == "topic":
		return srcTopic, "", nil
	case s == "offset":
		return srcOffset, "", nil
	case s == "publish_time":
		return srcPublishTime, "", nil
	case s == "key":
		return srcRoutingKey, "", nil
	case s == "producer":
		return srcProducer, "", nil
	}
	return 0, "", fmt.Errorf("unknown source %q (want attr:NAME, topic, offset, publish_time, key or producer)", s)
}

var textTypes = []string{"text", "varchar", "bpchar", "citext", "name"}

// types returns the PostgreSQL types (pg_type.typname) a column of this source accepts, and the type
// create_table gives it.
func (c column) types(format string) (accepted []string, create string) {
	switch c.src {
	case srcPayload:
		switch format {
		case formatJSON:
			return []string{"jsonb", "json", "text", "varchar", "citext"}, "jsonb"
		case formatText:
			return []string{"text", "varchar", "citext"}, "text"
		default:
			return []string{"bytea"}, "bytea"
		}
	case srcOffset:
		return []string{"int8", "numeric"}, "bigint"
	case srcPublishTime:
		return []string{"timestamptz", "timestamp"}, "timestamptz"
	}
	return textTypes, "text"
}

// row is one message turned into column values.
type row struct {
	idx  int    // index in the batch
	key  string // the key, when the sink has a key column
	vals []any
}

// makeRow computes the values of msg's columns; an error means the message can never be written
// (InvalidData).
func (s *Sink) makeRow(i int, msg *client.Message) (row, error) {
	r := row{idx: i, vals: make([]any, len(s.cols))}
	for j, c := range s.cols {
		switch c.src {
		case srcPayload:
			switch s.format {
			case formatJSON:
				if !json.Valid(msg.Payload) {
					return r, errors.New("payload is not valid JSON")
				}
				r.vals[j] = string(msg.Payload)
			case formatText:
				if !utf8.Valid(msg.Payload) {
					return r, errors.New("payload is not valid UTF-8 text")
				}
				if slices.Contains(msg.Payload, 0) {
					return r, errors.New("payload contains a NUL byte, which PostgreSQL text cannot hold")
				}
				r.vals[j] = string(msg.Payload)
			default:
				r.vals[j] = msg.Payload
			}
		case srcKey:
			if s.keyPath != nil {
				k, err := s.keyPath.key(msg.Payload)
				if err != nil {
					return r, err
				}
				r.key = k
			} else {
				k, ok := msg.Attributes[s.keyAttr]
				if !ok {
					return r, fmt.Errorf("message has no attribute %q for the key", s.keyAttr)
				}
				r.key = k
			}
			if err := checkText(r.key); err != nil {
				return r, fmt.Errorf("key: %w", err)
			}
			r.vals[j] = r.key
		case srcAttr:
			if v, ok := msg.Attributes[c.attr]; ok {
				if err := checkText(v); err != nil {
					return r, fmt.Errorf("attribute %q: %w", c.attr, err)
				}
				r.vals[j] = v
			}
		case srcTopic:
			r.vals[j] = msg.ID.Topic
		case srcOffset:
			r.vals[j] = int64(msg.ID.Offset)
		case srcPublishTime:
			if !msg.PublishTime.IsZero() {
				r.vals[j] = msg.PublishTime
			}
		case srcRoutingKey:
			if msg.HasRoutingKey {
				if err := checkText(msg.RoutingKey); err != nil {
					return r, fmt.Errorf("routing key: %w", err)
				}
				r.vals[j] = msg.RoutingKey
			}
		case srcProducer:
			r.vals[j] = msg.ProducerName
		}
	}
	return r, nil
}

// checkText rejects what a PostgreSQL text value cannot hold.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return errors.New("contains a NUL byte")
	}
	return nil
}
