package schema

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hamba/avro/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
)

// avroConfig decodes payloads for Validate. The limits bound what a hostile length prefix can make the
// decoder allocate: strings/bytes up to 16 MiB, arrays and maps up to 1Mi elements per block.
var avroConfig = avro.Config{MaxByteSliceSize: 16 << 20, MaxSliceAllocSize: 1 << 20}.Freeze()

// Validate checks a message payload published with schema id schemaID and version version against subject,
// for the broker's "enforce" topic policy. It returns nil when the payload is acceptable. Every refusal wraps
// ErrInvalidPayload; in addition an unknown subject wraps ErrSubjectNotFound, a schemaID that is not the
// subject's id ErrSchemaNotFound, and a version the subject does not have ErrVersionNotFound.
//
// What "matches" means depends on the version's type: json_schema — the payload is one JSON value valid
// against the schema; avro — the payload decodes completely (no trailing bytes) as Avro binary of the schema;
// protobuf — the payload decodes as the first message declared in the file; string — valid UTF-8; number —
// decimal text accepted by strconv.ParseFloat, or exactly 8 bytes; bytes — anything. Parsed schemas are
// cached per (subject, version).
func (r *Registry) Validate(subject string, schemaID uint64, version uint32, payload []byte) error {
	r.mu.RLock()
	s, ok := r.subjects[subject]
	if !ok {
		r.mu.RUnlock()
		return errorf2(ErrInvalidPayload, ErrSubjectNotFound, "invalid payload: subject %q not found", subject)
	}
	if s.SchemaID != schemaID {
		r.mu.RUnlock()
		return errorf2(ErrInvalidPayload, ErrSchemaNotFound,
			"invalid payload: schema id %d is not the id of subject %q (%d)", schemaID, subject, s.SchemaID)
	}
	i, ok := s.find(version)
	if !ok {
		r.mu.RUnlock()
		return errorf2(ErrInvalidPayload, ErrVersionNotFound,
			"invalid payload: version %d of subject %q not found", version, subject)
	}
	v := s.Versions[i] // records are immutable once published, so v stays valid after unlocking
	r.mu.RUnlock()

	switch v.Type {
	case TypeBytes:
		return nil
	case TypeString:
		if !utf8.Valid(payload) {
			return errorf(ErrInvalidPayload, "invalid payload for subject %q version %d: not valid UTF-8", subject, version)
		}
		return nil
	case TypeNumber:
		if len(payload) == 8 {
			return nil
		}
		if _, err := strconv.ParseFloat(string(payload), 64); err != nil {
			return errorf(ErrInvalidPayload,
				"invalid payload for subject %q version %d: not a decimal number or an 8-byte value", subject, version)
		}
		return nil
	}

	p, err := r.parsedVersion(subject, v)
	if err != nil {
		return err
	}
	switch v.Type {
	case TypeJSONSchema:
		doc, err := decodeJSON(payload)
		if err != nil {
			return errorf(ErrInvalidPayload, "invalid payload for subject %q version %d: not JSON: %v", subject, version, err)
		}
		if err := p.jsonSchema.Validate(doc); err != nil {
			return errorf(ErrInvalidPayload, "invalid payload for subject %q version %d: %s", subject, version, oneLine(err.Error()))
		}
	case TypeAvro:
		rd := avro.NewReader(nil, 0, avro.WithReaderConfig(avroConfig)).Reset(payload)
		var out any
		rd.ReadVal(p.avro, &out)
		if rd.Error != nil {
			return errorf(ErrInvalidPayload, "invalid payload for subject %q version %d: avro: %v", subject, version, rd.Error)
		}
		if rd.Peek(); rd.Error == nil {
			return errorf(ErrInvalidPayload, "invalid payload for subject %q version %d: trailing bytes after the avro value",
				subject, version)
		}
	case TypeProtobuf:
		msg := dynamicpb.NewMessage(p.protoMsg)
		if err := proto.Unmarshal(payload, msg); err != nil {
			return errorf(ErrInvalidPayload, "invalid payload for subject %q version %d: protobuf %s: %v",
				subject, version, p.protoMsg.FullName(), err)
		}
	}
	return nil
}

// oneLine joins a multi-line error text (the JSON Schema validator's, for one) into a single line.
func oneLine(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "; ")
}
