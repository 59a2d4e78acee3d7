package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/danube-console/danube-console/proto/danubepb"
)

// The memory store keeps each message as one record in an arena: the fields of the StreamMessage and its MsgID
// encoded compactly, followed by the payload, which runs to the end of the record. Strings that repeat from
// message to message (topic, broker address, producer and subscription names, attribute keys) are interned per
// log and stored as an index; the others are stored inline. The offset is not stored: it follows from the
// record's position in the log.
//
//	flags                         byte (rec* bits)
//	request id, publish time,     uvarints
//	producer id
//	producer name, topic name,    strings (see appendString)
//	broker address, subscription
//	schema id, schema version     uvarints, when recSchemaID / recSchemaVersion
//	routing key                   string, when recRoutingKey
//	attributes                    uvarint count, then key and value strings, when recAttributes
//	unknown fields of the message uvarint length and bytes, when recUnknown
//	unknown fields of the MsgID   uvarint length and bytes, when recIDUnknown
//	payload                       the rest of the record (absent when recNilPayload)
const (
	recSchemaID = 1 << iota
	recSchemaVersion
	recRoutingKey
	recAttributes
	recUnknown
	recIDUnknown
	recNilPayload
)

// errDamagedRecord means a record in the memory store's arena does not decode: a bug, never bad input.
var errDamagedRecord = errors.New("store: a message record in memory does not decode")

// Interning limits per log: beyond them strings are stored inline, so that a producer sending a different
// value in every message cannot grow the table without bound.
const (
	maxInterned    = 4096
	maxInternedLen = 256
)

// interner gives each distinct string of a log one index and one copy, shared by every message read back.
type interner struct {
	index map[string]uint32
	strs  []string
}

// lookup returns the index of s, adding it when there is room; ok is false when s is to be stored inline.
func (in *interner) lookup(s string) (i uint32, ok bool) {
	if i, ok := in.index[s]; ok {
		return i, true
	}
	if len(s) > maxInternedLen || len(in.strs) >= maxInterned {
		return 0, false
	}
	if in.index == nil {
		in.index = make(map[string]uint32)
	}
	s = strings.Clone(s) // keep only the string, not what it may have been cut from
	i = uint32(len(in.strs))
	in.index[s] = i
	in.strs = append(in.strs, s)
	return i, true
}

// appendString encodes s as uvarint(index<<1) when intern is set and s is interned, else as
// uvarint(len<<1 | 1) followed by its bytes.
func (in *interner) appendString(b []byte, s string, intern bool) []byte {
	if intern && s != "" {
		if i, ok := in.lookup(s); ok {
			return binary.AppendUvarint(b, uint64(i)<<1)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(s))<<1|1)
	return append(b, s...)
}

// appendHeader appends the encoding of every field of m but its payload to b.
func (in *interner) appendHeader(b []byte, m *danubepb.StreamMessage) []byte {
	var flags byte
	if m.SchemaId != nil {
		flags |= recSchemaID
	}
	if m.SchemaVersion != nil {
		flags |= recSchemaVersion
	}
	if m.RoutingKey != nil {
		flags |= recRoutingKey
	}
	if len(m.Attributes) > 0 {
		flags |= recAttributes
	}
	unknown, idUnknown := m.ProtoReflect().GetUnknown(), m.MsgId.ProtoReflect().GetUnknown()
	if len(unknown) > 0 {
		flags |= recUnknown
	}
	if len(idUnknown) > 0 {
		flags |= recIDUnknown
	}
	if m.Payload == nil {
		flags |= recNilPayload
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, m.RequestId)
	b = binary.AppendUvarint(b, m.PublishTime)
	b = binary.AppendUvarint(b, m.MsgId.ProducerId)
	b = in.appendString(b, m.ProducerName, true)
	b = in.appendString(b, m.MsgId.TopicName, true)
	b = in.appendString(b, m.MsgId.BrokerAddr, true)
	b = in.appendString(b, m.SubscriptionName, true)
	if m.SchemaId != nil {
		b = binary.AppendUvarint(b, *m.SchemaId)
	}
	if m.SchemaVersion != nil {
		b = binary.AppendUvarint(b, uint64(*m.SchemaVersion))
	}
	if m.RoutingKey != nil {
		b = in.appendString(b, *m.RoutingKey, false)
	}
	if len(m.Attributes) > 0 {
		b = binary.AppendUvarint(b, uint64(len(m.Attributes)))
		for k, v := range m.Attributes {
			b = in.appendString(b, k, true)
			b = in.appendString(b, v, false)
		}
	}
	if len(unknown) > 0 {
		b = binary.AppendUvarint(b, uint64(len(unknown)))
		b = append(b, unknown...)
	}
	if len(idUnknown) > 0 {
		b = binary.AppendUvarint(b, uint64(len(idUnknown)))
		b = append(b, idUnknown...)
	}
	return b
}

// recordReader decodes one record; the first error sticks and later reads return zero values.
type recordReader struct {
	in  *interner
	b   []byte
	err error
}

func (r *recordReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errDamagedRecord
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) bytes(n uint64) []byte {
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errDamagedRecord
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *recordReader) string() string {
	v := r.uvarint()
	if v&1 == 0 {
		if v>>1 >= uint64(len(r.in.strs)) {
			r.err = errDamagedRecord
			return ""
		}
		return r.in.strs[v>>1]
	}
	return string(r.bytes(v >> 1))
}

// decodeRecord fills m and id from rec, the record of offset off. The payload is copied to the end of *pay,
// whose capacity must hold it (so that it is not reallocated under the payloads already handed out); nothing
// in m refers to rec afterwards.
func (in *interner) decodeRecord(rec []byte, off uint64, m *danubepb.StreamMessage, id *danubepb.MsgID, pay *[]byte) error {
	if len(rec) == 0 {
		return fmt.Errorf("%w (offset %d is empty)", errDamagedRecord, off)
	}
	flags := rec[0]
	if flags >= recNilPayload<<1 {
		return fmt.Errorf("%w (offset %d: unknown flags %#x)", errDamagedRecord, off, flags)
	}
	r := recordReader{in: in, b: rec[1:]}
	m.RequestId = r.uvarint()
	m.PublishTime = r.uvarint()
	id.ProducerId = r.uvarint()
	m.ProducerName = r.string()
	id.TopicName = r.string()
	id.BrokerAddr = r.string()
	m.SubscriptionName = r.string()
	id.TopicOffset = off
	m.MsgId = id
	if flags&recSchemaID != 0 {
		v := r.uvarint()
		m.SchemaId = &v
	}
	if flags&recSchemaVersion != 0 {
		v := uint32(r.uvarint())
		m.SchemaVersion = &v
	}
	if flags&recRoutingKey != 0 {
		v := r.string()
		m.RoutingKey = &v
	}
	if flags&recAttributes != 0 {
		n := r.uvarint()
		if n > uint64(len(r.b)) { // every attribute takes at least two bytes
			return fmt.Errorf("%w (offset %d: %d attributes)", errDamagedRecord, off, n)
		}
		m.Attributes = make(map[string]string, n)
		for range n {
			k := r.string()
			m.Attributes[k] = r.string()
		}
	}
	if flags&recUnknown != 0 {
		m.ProtoReflect().SetUnknown(append([]byte(nil), r.bytes(r.uvarint())...))
	}
	if flags&recIDUnknown != 0 {
		id.ProtoReflect().SetUnknown(append([]byte(nil), r.bytes(r.uvarint())...))
	}
	if r.err != nil {
		return fmt.Errorf("%w (offset %d)", r.err, off)
	}
	if flags&recNilPayload == 0 {
		start := len(*pay)
		*pay = append(*pay, r.b...)
		m.Payload = (*pay)[start:len(*pay):len(*pay)]
	}
	return nil
}

// RecordCodec encodes messages as the memory store's compact records and decodes them back, for a store that
// keeps messages in memory in its own way (the disk store's cache of recent messages). The strings that repeat
// from message to message are kept once by the codec, which is meant for one log. Append must not run
// concurrently with anything else; Decode calls may run concurrently with each other.
type RecordCodec struct{ in interner }

// Append appends m's record to b and returns it: every field of m and its MsgID but the offset, which Decode
// is given. m must have a MsgId.
func (c *RecordCodec) Append(b []byte, m *danubepb.StreamMessage) []byte {
	return append(c.in.appendHeader(b, m), m.Payload...)
}

// Decode decodes recs, the records of offsets first, first+1, ..., into new messages (carrying their offsets)
// appended to out; nothing it returns shares memory with recs. It allocates once each for the messages, their
// ids and their payloads. A record that does not decode makes it return nil and the error.
func (c *RecordCodec) Decode(out []*danubepb.StreamMessage, recs [][]byte, first uint64) ([]*danubepb.StreamMessage, error) {
	total := 0
	for _, r := range recs {
		total += len(r)
	}
	msgs, ids := make([]danubepb.StreamMessage, len(recs)), make([]danubepb.MsgID, len(recs))
	pay := make([]byte, 0, total) // the records bound the payloads
	for i, r := range recs {
		if err := c.in.decodeRecord(r, first+uint64(i), &msgs[i], &ids[i], &pay); err != nil {
			return nil, err
		}
		out = append(out, &msgs[i])
	}
	return out, nil
}
